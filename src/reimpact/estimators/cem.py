"""Coarsened exact matching (Iacus, King & Porro 2012; R's ``cem`` and MatchIt's ``method = "cem"``).

Every covariate column is coarsened into bins, units are grouped into strata by their bins on all
columns at once, and strata without both treated and control units are dropped (their units are
counted in the effect's notes: the estimand becomes the effect on the units kept). In a kept
stratum s with n_ts treated and n_cs controls, and m_T, m_C the treated and control units kept
overall, the weights are MatchIt's:

* ATT: treated 1, controls (n_ts / n_cs) * (m_C / m_T);
* ATC: controls 1, treated (n_cs / n_ts) * (m_T / m_C);
* ATE: treated (n_s / n_ts) * (m_T / m) and controls (n_s / n_cs) * (m_C / m), n_s = n_ts + n_cs,
  m = m_T + m_C (each group's weights sum to its kept count).

The effect is the g-computation of :func:`~reimpact.stats.regression.matched_regression` with
these weights (times the sampling weights, when given), regression-adjusted for the covariates
(``adjust``) or the weighted difference in means, and its standard error the cluster-robust
sandwich by stratum (two-way with the study's clusters), the weights held fixed.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from ..exceptions import DesignError
from ..results import Effect
from ..stats.regression import matched_regression
from ..stats.sandwich import sandwich_se, two_way_se
from ._base import SAMPLING_NOTE, EffectEstimator, Estimand, EstimationData


def sturges_bins(n: int) -> int:
    """Sturges' rule, ceil(log2 n) + 1 bins (``cem``'s default)."""
    return int(np.ceil(np.log2(max(n, 2)))) + 1


def coarsen(
    x: np.ndarray,
    names: list[str],
    cutpoints: dict[str, list[float]] | None = None,
    n_bins: int | None = None,
) -> np.ndarray:
    """The bin of every unit on every column (n x p integer codes). A column named in
    ``cutpoints`` is cut at those values (a value equal to a cutpoint goes to the bin above it);
    a column with at most two distinct values (a 0/1 dummy of a categorical covariate) is kept as
    is; any other column is cut into ``n_bins`` equal-width bins over its range (Sturges' number
    when None)."""
    cutpoints = cutpoints or {}
    unknown = sorted(set(cutpoints) - set(names))
    if unknown:
        raise DesignError(
            "methods.cem.cutpoints",
            f"no covariate column named {unknown}; the columns are {names}",
        )
    bins = n_bins or sturges_bins(x.shape[0])
    codes = np.empty(x.shape, dtype=np.int64)
    for j, name in enumerate(names):
        column = x[:, j]
        values = np.unique(column)
        if name in cutpoints:
            codes[:, j] = np.digitize(column, np.sort(np.asarray(cutpoints[name], dtype=float)))
        elif values.size <= 2:
            codes[:, j] = np.searchsorted(values, column)
        else:
            edges = np.linspace(values[0], values[-1], bins + 1)[1:-1]
            codes[:, j] = np.digitize(column, edges)
    return codes


def cem_weights(stratum: np.ndarray, t: np.ndarray, estimand: str) -> np.ndarray:
    """MatchIt's CEM weights (module docstring); 0 in strata without both groups."""
    ids, code = np.unique(stratum, return_inverse=True)
    treated = t == 1
    n_t = np.bincount(code, weights=treated, minlength=ids.size)
    n_c = np.bincount(code, weights=~treated, minlength=ids.size)
    kept = (n_t > 0) & (n_c > 0)
    keep_unit = kept[code]
    if not keep_unit.any():  # no stratum holds both groups: nothing to weight
        return np.zeros(t.size)
    m_t, m_c = float(np.sum(keep_unit & treated)), float(np.sum(keep_unit & ~treated))
    with np.errstate(divide="ignore", invalid="ignore"):
        if estimand == "ATT":
            w_t, w_c = np.ones(ids.size), (n_t / n_c) * (m_c / m_t)
        elif estimand == "ATC":
            w_t, w_c = (n_c / n_t) * (m_t / m_c), np.ones(ids.size)
        else:
            m = m_t + m_c
            w_t, w_c = (n_t + n_c) / n_t * (m_t / m), (n_t + n_c) / n_c * (m_c / m)
    weights = np.where(treated, w_t[code], w_c[code])
    return np.where(keep_unit, weights, 0.0)


class CEMEstimator(EffectEstimator):
    """Coarsened exact matching for the ATT, ATC or ATE (see the module docstring).

    Cutpoints address the columns of ``X`` by name: in a study, the columns of the design matrix
    (a numeric covariate keeps its name; a categorical one becomes 0/1 dummy columns, kept as
    is). The number of strata grows with every column and bin: with many covariates, fewer bins
    (or cutpoints on the important ones) keep more units.

    Parameters
    ----------
    estimand : {"ATT", "ATC", "ATE"}
        Which weights (module docstring) and which units the effect averages over.
    cutpoints : dict of str to list of float or None
        Cutpoints per column of ``X`` (e.g. ``{"age": [18, 30, 45]}``); other columns get
        ``n_bins`` equal-width bins.
    n_bins : int or None
        Equal-width bins of the columns without cutpoints; None for Sturges' rule.
    adjust : bool
        Regression-adjust for the covariates within the weighted sample (g-computation); False
        for the weighted difference in means.
    random_state : int
        Unused (CEM is deterministic); accepted as every estimator accepts the study's seed.

    Attributes
    ----------
    effects_ : tuple of Effect
    weights_ : ndarray
        CEM weights of every unit (0 for dropped units).
    strata_ : ndarray
        The stratum of every unit.
    cem_summary_ : dict
        Strata, strata kept, units kept and dropped per group.
    """

    name = "cem"
    label = "Coarsened exact matching"
    supports = frozenset({"strata", "sample_weight"})
    balance_label = "cem"

    def __init__(
        self,
        *,
        estimand: Estimand = "ATT",
        cutpoints: dict[str, list[float]] | None = None,
        n_bins: Annotated[int | None, Field(ge=2, le=100)] = None,
        adjust: bool = True,
        random_state: int = 0,
    ) -> None:
        self.estimand = estimand
        self.cutpoints = cutpoints
        self.n_bins = n_bins
        self.adjust = adjust
        self.random_state = random_state

    def _estimate(self, data: EstimationData) -> list[Effect]:
        codes = coarsen(data.x, data.feature_names, self.cutpoints, self.n_bins)
        if data.strata is not None:
            codes = np.column_stack([codes, np.unique(data.strata, return_inverse=True)[1]])
        stratum = np.unique(codes, axis=0, return_inverse=True)[1].ravel()
        t = data.t
        weights = cem_weights(stratum, t, self.estimand)
        used = weights > 0
        if np.unique(stratum[used]).size < 2:
            raise DesignError(
                "methods.cem",
                "fewer than 2 strata hold both treated and control units; give fewer bins "
                "('n_bins') or wider 'cutpoints'",
            )
        self.weights_, self.strata_ = weights, stratum
        dropped_t, dropped_c = int(np.sum(~used & (t == 1))), int(np.sum(~used & (t == 0)))
        self.cem_summary_ = {
            "strata": int(np.unique(stratum).size),
            "strata_kept": int(np.unique(stratum[used]).size),
            "kept_treated": int(np.sum(used & (t == 1))),
            "kept_control": int(np.sum(used & (t == 0))),
            "dropped_treated": dropped_t,
            "dropped_control": dropped_c,
        }
        sampling = np.ones(t.size) if data.sample_weight is None else data.sample_weight
        x = data.x if self.adjust else None
        notes = [
            f"coarsened exact matching: {self.cem_summary_['strata_kept']} of "
            f"{self.cem_summary_['strata']} strata hold both groups; MatchIt's "
            f"{self.estimand} weights",
            "regression-adjusted (g-computation) for the covariate columns"
            if self.adjust
            else "weighted difference in means (adjust: false)",
        ]
        dropped = {"ATT": dropped_t, "ATC": dropped_c, "ATE": dropped_t + dropped_c}[self.estimand]
        if dropped:
            notes.append(
                f"{dropped_t} treated and {dropped_c} control units in strata without both groups "
                f"were dropped: the estimate is the {self.estimand} of the units kept"
            )
        if data.sample_weight is not None:
            notes.append(SAMPLING_NOTE)
        effects = []
        for j, outcome in enumerate(data.outcomes):
            tau, psi = matched_regression(data.y[:, j], t, weights * sampling, self.estimand, x)
            if data.cluster is not None:
                se = two_way_se(psi[used], data.cluster[used], stratum[used])
                se_type = f"two-way cluster-robust by {data.cluster_name} and stratum"
            else:
                se, se_type = sandwich_se(psi[used], stratum[used]), "cluster-robust by stratum"
            effects.append(
                Effect(
                    outcome=outcome,
                    method=self.name,
                    estimand=self.estimand,
                    estimate=tau,
                    std_error=se,
                    n_treated=int(np.sum(used & (t == 1))),
                    n_control=int(np.sum(used & (t == 0))),
                    se_type=se_type,
                    notes=(*notes, "variance: cluster-robust sandwich by stratum, weights held fixed"),
                )
            )
        return effects
