"""Cross-fitted augmented inverse-probability weighting (doubly robust): the nuisance fits and
influence functions (:class:`CrossFittedAIPW`; Robins, Rotnitzky & Zhao 1994; Chernozhukov et al.
2018) and the estimator (:class:`AIPWEstimator`).

With sampling weights s the nuisances are fitted by weighted likelihood / least squares and the
efficient-influence-function averages become weighted ones (Zeng, Li & Tong 2025): for the ATE
tau = sum s phi / sum s with psi_i = s_i (phi_i - tau) / sum s; for the ATT
tau = sum s core / sum s T with psi_i = s_i (core_i - T_i tau) / sum s T (the ATC likewise).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .._progress import progress
from ..design.propensity import (
    PropensityKind,
    PropensityModel,
    bound_scores,
    bounding_warning,
    stratified_folds,
)
from ..results import Effect
from ..stats.sandwich import sandwich_se
from ._base import SAMPLING_NOTE, EffectEstimator, Estimand, EstimationData

_BLOCK = 16384  # rows per block of the Gram sums: a block's temporaries stay in the CPU cache
_CONDITION = 1e-6  # smallest/largest eigenvalue of a scaled training Gram solved directly


def _ols_blocks(
    x: np.ndarray, rows: np.ndarray, centre: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The design (1, x - centre) of ``rows``, a block at a time, with each block's row numbers."""
    for a in range(0, rows.size, _BLOCK):
        chosen = rows[a : a + _BLOCK]
        design = np.empty((chosen.size, x.shape[1] + 1))
        design[:, 0] = 1.0
        np.subtract(x[chosen], centre, out=design[:, 1:])
        yield chosen, design


def _lstsq_coef(
    x: np.ndarray, y: np.ndarray, s: np.ndarray, rows: np.ndarray, centre: np.ndarray
) -> np.ndarray:
    """The minimum-norm weighted least squares fit on (1, x) of ``rows`` (SVD), its intercept
    moved to the centred covariates: same predictions as the fit itself."""
    root = np.sqrt(s[rows])[:, None]
    design = np.column_stack([np.ones(rows.size), x[rows]])
    coef = np.linalg.lstsq(design * root, y[rows] * root, rcond=None)[0]
    coef[0] += centre @ coef[1:]
    return coef


def cross_fitted_ols(
    x: np.ndarray, t: np.ndarray, y: np.ndarray, s: np.ndarray, fold: np.ndarray, folds: int
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold predictions of the treated and control arms' (weighted) least-squares fits of
    the outcomes on (1, X): each fold's from the fits on the other folds' rows of the arm.

    One pass over the data gives every fold's and arm's Gram matrix G_kg = Z'SZ and
    cross-products c_kg = Z'SY over the rows of fold k in arm g (Z = (1, X - mean X), centred for
    conditioning); the fit without fold k solves the normal equations of the arm's totals minus
    the fold's, beta_(-k)g = (sum_j G_jg - G_kg)^-1 (sum_j c_jg - c_kg), with no n x p copy of
    the data. Where the training Gram, scaled to a unit
    diagonal, is near-singular (smallest eigenvalue below 1e-6 of the largest), the fit is the
    minimum-norm SVD least-squares solution on the rows, as ``numpy.linalg.lstsq`` gives.
    """
    centre = x.mean(axis=0)
    size = x.shape[1] + 1
    gram = np.zeros((folds, 2, size, size))
    cross = np.zeros((folds, 2, size, y.shape[1]))
    for k in range(folds):
        for group in (0, 1):
            rows = np.flatnonzero((fold == k) & (t == group))
            for chosen, design in _ols_blocks(x, rows, centre):
                root = np.sqrt(s[chosen])
                design *= root[:, None]
                gram[k, group] += design.T @ design
                cross[k, group] += design.T @ (y[chosen] * root[:, None])
    fitted = (np.empty_like(y), np.empty_like(y))  # (control, treated)
    for k in range(folds):
        coef = []
        for group in (0, 1):
            train = gram[:, group].sum(axis=0) - gram[k, group]
            target = cross[:, group].sum(axis=0) - cross[k, group]
            scale = np.sqrt(np.diag(train))
            with np.errstate(divide="ignore", invalid="ignore"):
                scaled = train / np.outer(scale, scale)
            values = np.linalg.eigvalsh(scaled) if np.all(np.isfinite(scaled)) else np.zeros(1)
            if values[0] > _CONDITION * values[-1]:
                coef.append(np.linalg.solve(scaled, target / scale[:, None]) / scale[:, None])
            else:
                coef.append(_lstsq_coef(x, y, s, np.flatnonzero((fold != k) & (t == group)), centre))
        both = np.hstack(coef)
        for chosen, design in _ols_blocks(x, np.flatnonzero(fold == k), centre):
            predicted = design @ both
            fitted[0][chosen] = predicted[:, : y.shape[1]]
            fitted[1][chosen] = predicted[:, y.shape[1] :]
    return fitted[1], fitted[0]


class _Boosting:
    """Histogram gradient boosting, one model per outcome column."""

    def __init__(self, random_state: int) -> None:
        self.random_state = random_state

    def fit(self, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> _Boosting:
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.models_ = [
            HistGradientBoostingRegressor(random_state=self.random_state).fit(x, y[:, j], w)
            for j in range(y.shape[1])
        ]
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([m.predict(x) for m in self.models_])


class CrossFittedAIPW:
    """Cross-fitted AIPW for the ATE, ATT or ATC of several outcomes at once.

    ``outcome_learner`` fits the outcome regressions (``linear``: OLS; ``gradient_boosting``:
    histogram gradient boosting); ``propensity_learner`` fits the score (``logistic`` or
    calibrated ``gradient_boosting``, see :class:`~reimpact.design.propensity.PropensityModel`). A given
    score (``propensity`` passed to :meth:`fit`) replaces the score model.
    """

    def __init__(
        self,
        estimand: str = "ATT",
        folds: int = 5,
        outcome_learner: str = "linear",
        propensity_learner: PropensityKind = "logistic",
        clip: float = 0.01,
        random_state: int = 0,
        verbose: bool = False,
    ) -> None:
        self.estimand = estimand
        self.folds = folds
        self.outcome_learner = outcome_learner
        self.propensity_learner = propensity_learner
        self.clip = clip
        self.random_state = random_state
        self.verbose = verbose

    def fit(
        self,
        x: np.ndarray,
        t: np.ndarray,
        y: np.ndarray,
        propensity: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        propensity_start: np.ndarray | None = None,
    ) -> CrossFittedAIPW:
        """Cross-fit the nuisances; ``y`` is n x (number of outcomes); ``sample_weight``: the
        units' sampling weights (nuisances and averages weighted); ``propensity_start``: logistic
        coefficients (intercept first, e.g. of a fit on all the rows) where the first fold's
        Newton iterations start (each later fold starts from the previous fold's)."""
        y = np.asarray(y, dtype=float).reshape(t.size, -1)
        t = np.asarray(t).astype(np.int8)
        s = np.ones(t.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        folds = stratified_folds(t, self.folds, self.random_state)
        e = np.empty(t.size) if propensity is None else np.asarray(propensity, dtype=float)
        linear = self.outcome_learner == "linear"
        if linear:
            mu1, mu0 = cross_fitted_ols(x, t, y, s, folds, self.folds)
        else:
            mu1, mu0 = np.empty_like(y), np.empty_like(y)
        # each fold's logistic fit starts from the previous fold's coefficients
        model = PropensityModel(self.propensity_learner, self.random_state, warm_start=True)
        if propensity_start is not None:
            model.coef_ = np.asarray(propensity_start, dtype=float)
        for k in progress(range(self.folds), "cross-fitting", self.folds, self.verbose):
            test = folds == k
            train = ~test
            if propensity is None:  # rows taken by number: faster than by a boolean mask
                rows, tests = np.flatnonzero(train), np.flatnonzero(test)
                weights = None if sample_weight is None else s[rows]
                model.fit(x.take(rows, axis=0), t[rows], weights)
                e[tests] = model.predict(x.take(tests, axis=0))
            if not linear:
                for group, target in ((1, mu1), (0, mu0)):
                    rows = train & (t == group)
                    boosted = _Boosting(self.random_state).fit(x[rows], y[rows], s[rows])
                    target[test] = boosted.predict(x[test])
        self.bounds_ = bound_scores(e, t, self.estimand, self.clip)
        self.raw_e_ = e
        self.e_ = self.bounds_.scores
        self.t_, self.y_, self.mu1_, self.mu0_, self.s_ = t, y, mu1, mu0, s
        self.sampled_ = sample_weight is not None
        return self

    def influence(self, j: int = 0, e: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """The estimate for outcome column ``j`` and its influence terms (sum convention), with
        the bounded scores (or the scores ``e``)."""
        t, s = self.t_, self.s_
        e = self.e_ if e is None else e
        y, m1, m0 = self.y_[:, j], self.mu1_[:, j], self.mu0_[:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.estimand == "ATE":
                core = m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)
                target = np.ones(t.size)
            elif self.estimand == "ATT":
                core = t * (y - m0) - np.where(t == 0, e / (1 - e) * (y - m0), 0.0)
                target = t.astype(float)
            else:
                core = (1 - t) * (m1 - y) + np.where(t == 1, (1 - e) / e * (y - m1), 0.0)
                target = 1.0 - t
        total = float(s @ target)
        tau = float(s @ core / total)
        return tau, s * (core - target * tau) / total

    def estimate(
        self,
        j: int = 0,
        outcome: str = "outcome",
        clusters: np.ndarray | None = None,
        cluster_name: str = "cluster",
    ) -> Effect:
        tau, psi = self.influence(j)
        se = sandwich_se(psi, clusters)
        se_type = "influence function"
        if clusters is not None:
            se_type += f", cluster-robust by {cluster_name}"
        notes = [
            f"cross-fitted with {self.folds} folds: {self.propensity_learner} propensity score, "
            f"{self.outcome_learner} outcome models"
        ]
        if self.sampled_:
            notes.append(SAMPLING_NOTE)
        warnings: tuple[str, ...] = ()
        bounded = self.bounds_.note()  # None exactly when no score was bounded
        if bounded is not None:
            notes.append(bounded)
            warning = bounding_warning(tau, self.influence(j, self.raw_e_)[0], se)
            warnings = (warning,) if warning else ()
        return Effect(
            outcome=outcome,
            method="aipw",
            estimand=self.estimand,
            estimate=tau,
            std_error=se,
            n_treated=int(self.t_.sum()),
            n_control=int((1 - self.t_).sum()),
            se_type=se_type,
            notes=tuple(notes),
            warnings=warnings,
        )


class AIPWEstimator(EffectEstimator):
    """Cross-fitted AIPW for the ATT, ATC or ATE.

    Parameters
    ----------
    estimand : {"ATT", "ATC", "ATE"}
    folds : int
        Cross-fitting folds (2-20).
    outcome_learner : {"linear", "gradient_boosting"}
        Outcome regressions, fitted in each arm.
    propensity_learner : {"logistic", "gradient_boosting"} or None
        The score model; None uses ``propensity_model`` (the study's ``propensity.model``).
    propensity_model : {"logistic", "gradient_boosting", "firth", "cbps"}
        The study's score model (``cbps``: cross-fitted covariate-balancing scores, ATE conditions).
    clip : float
        Bound applied where a score is inverted, by estimand.
    random_state : int
        Seed of the folds and of gradient boosting.
    verbose : bool
        Show a progress bar while cross-fitting.

    A ``propensity`` given to ``fit`` replaces the score model (no cross-fitting of the score).
    """

    name = "aipw"
    label = "AIPW"
    supports = frozenset({"sample_weight"})
    renamed_params = {
        "learner": "use 'outcome_learner' (linear or gradient_boosting) and 'propensity_learner' "
        "(logistic or gradient_boosting; default: propensity.model)"
    }

    def __init__(
        self,
        *,
        estimand: Estimand = "ATT",
        folds: Annotated[int, Field(ge=2, le=20)] = 5,
        outcome_learner: Literal["linear", "gradient_boosting"] = "linear",
        propensity_learner: Literal["logistic", "gradient_boosting"] | None = None,
        propensity_model: PropensityKind = "logistic",
        clip: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.01,
        random_state: int = 0,
        verbose: bool = False,
    ) -> None:
        self.estimand = estimand
        self.folds = folds
        self.outcome_learner = outcome_learner
        self.propensity_learner = propensity_learner
        self.propensity_model = propensity_model
        self.clip = clip
        self.random_state = random_state
        self.verbose = verbose

    @property
    def score_learner(self) -> PropensityKind:
        """The score model used: ``propensity_learner``, else ``propensity_model`` (Firth's
        logistic regression when the study penalises a logistic model)."""
        learner = self.propensity_learner or self.propensity_model
        if learner == "logistic" and self.propensity_model == "firth":
            return "firth"
        return learner

    def nuisances(
        self, x, t, y, propensity=None, sample_weight=None, propensity_start=None
    ) -> CrossFittedAIPW:
        """The cross-fitted nuisance fits on arrays (shared with the subgroup analyses and the
        refutations; ``propensity_start``: see :meth:`CrossFittedAIPW.fit`)."""
        model = CrossFittedAIPW(
            self.estimand, self.folds, self.outcome_learner, self.score_learner, self.clip,
            self.random_state, self.verbose,
        )  # fmt: skip
        return model.fit(x, t, y, propensity, sample_weight, propensity_start)

    def _estimate(self, data: EstimationData) -> list[Effect]:
        given = None if data.propensity is None else data.propensity.scores
        fitted = self.nuisances(data.x, data.t, data.y, given, data.sample_weight)
        self.nuisances_ = fitted
        return [
            fitted.estimate(j, name, data.cluster, data.cluster_name)
            for j, name in enumerate(data.outcomes)
        ]
