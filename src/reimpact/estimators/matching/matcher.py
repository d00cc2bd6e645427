"""The matching design behind :class:`~reimpact.estimators.MatchingEstimator`: who is matched to
whom (:func:`reimpact.design.matching.match`), the matching weights, the (adjusted) estimate and its
standard error (formulas in the class docstring; variance pieces in :mod:`.variance`)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from ...design.matching import (
    CaliperScale,
    MatchResult,
    Order,
    Ties,
    caliper_width,
    match,
    same_group_neighbours,
)
from ...design.optimal import full_match, optimal_match
from ...exceptions import DesignError
from ...results import Effect
from ...stats.abadie_imbens import abadie_imbens_se, matching_conditional_variance
from ...stats.regression import matched_regression
from ...stats.sandwich import sandwich_se, two_way_se
from .._base import SAMPLING_NOTE
from .estimator import matching_option_problem
from .variance import (
    bootstrap_se,
    caliper_notes,
    fitted_in_group,
    method_notes,
    replacement_estimate,
    score_term,
    variance_outcome,
)

if TYPE_CHECKING:
    import pandas as pd


class PropensityMatcher:
    """Propensity-score matching estimates of the ATT, ATC or ATE, with valid standard errors.

    The ATT matches treated units to controls, the ATC the reverse; the ATE matches in both
    directions and needs ``replace=True``. What is estimated after matching (``adjust``):

    * without replacement, ``adjust=True`` (default): g-computation in the matched sample, a WLS
      regression of the outcome on (1, covariates) in each arm with the matching weights, averaged
      over the matched focal units (:func:`~reimpact.inference.matched_regression`; Ho, Imai, King &
      Stuart 2007). It removes the imbalance greedy matching leaves when many units are treated;
    * with replacement, ``adjust=True``: the Abadie & Imbens (2011) bias correction, each match's
      outcome shifted by mu(X_f) - mu(X_j), mu an OLS fit in the matched-from group;
    * ``adjust=False``: the plain difference in matched means.

    Standard errors (``se``):

    * ``matched-sets`` (``auto`` without replacement): cluster-robust by matched set from the
      influence terms of the estimate, weights held fixed (Abadie & Spiess 2022); the score is
      treated as known. The Abadie-Imbens (2016) estimated-score term is derived for matching with
      replacement and is not added here;
    * ``abadie-imbens`` (``auto`` with replacement): :func:`~reimpact.inference.abadie_imbens_se`
      plus the Abadie-Imbens (2016) term when the score is the package's logistic fit;
    * ``bootstrap`` (without replacement): resampling units and refitting the score when its design
      is given, else resampling matched sets (Austin & Small 2014);
    * with ``clusters`` given to :meth:`estimate`: without replacement, two-way cluster-robust by
      cluster and matched set (Cameron, Gelbach & Miller 2011), so that neither source of
      dependence is ignored; with replacement, cluster-robust by cluster with the matches and the
      bias-correction regression held fixed.

    With sampling weights (``sample_weight`` given to :meth:`fit`) the matched units keep their own
    sampling weights in the outcome analysis (each unit's weight is its matching weight times its
    sampling weight, as in MatchIt; Austin, Jembere & Chiu 2018 found these "natural retained"
    weights balance better than weights inherited from the focal unit): without replacement the
    regression above uses those weights (standard error cluster-robust by matched set); with
    replacement the estimate is the weighted difference of the (corrected) outcomes and its
    standard error the linearisation sandwich with the matches held fixed. The Abadie-Imbens
    variance and the bootstrap are not defined for this case.
    """

    # (resampled rows, refitted matcher) pairs; set by the first bootstrap with a refitted score
    replicates_: list[tuple[np.ndarray, PropensityMatcher]]

    def __init__(
        self,
        estimand: str = "ATT",
        method: str = "nearest",
        ratio: int = 1,
        replace: bool = True,
        caliper: float | None = None,
        caliper_scale: CaliperScale = "pooled",
        order: Order = "largest",
        distance: Literal["logit", "propensity"] = "logit",
        ties: Ties = "all",
        se: str = "auto",
        adjust: bool = True,
        n_bootstrap: int = 499,
        n_neighbours: int = 2,
        random_state: int = 0,
        verbose: bool = False,
    ) -> None:
        self.estimand = estimand
        self.method = method
        self.ratio = ratio
        self.replace = replace
        self.caliper = caliper
        self.caliper_scale = caliper_scale
        self.order = order
        self.distance = distance
        self.ties = ties
        self.se = se
        self.adjust = adjust
        self.n_bootstrap = n_bootstrap
        self.n_neighbours = n_neighbours
        self.random_state = random_state
        self.verbose = verbose

    def _validate(self) -> None:
        if self.estimand not in ("ATT", "ATC", "ATE"):
            raise DesignError("estimand", f"must be ATT, ATC or ATE, got '{self.estimand}'")
        problem = matching_option_problem(self.estimand, self.replace, self.se, self.method, self.ratio)
        if problem is not None:
            raise DesignError(f"methods.psm.{problem[0]}", problem[1])

    def fit(
        self,
        propensity: np.ndarray,
        treated: np.ndarray,
        strata: np.ndarray | None = None,
        covariates: np.ndarray | None = None,
        score_design: np.ndarray | None = None,
        feature_names: Sequence[str] | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> PropensityMatcher:
        """Match on the propensity score (logit by default). ``covariates`` (a design matrix,
        ``feature_names`` its column names) are what ``adjust`` adjusts for; without them the
        estimate is the plain matched difference. ``score_design`` is the design matrix (with
        intercept) of a logistic score estimated by maximum likelihood: given, matching with
        replacement adds the Abadie-Imbens (2016) term and the bootstrap refits the score.
        ``sample_weight``: the units' sampling weights, kept by the matched units in the
        estimate (see the class docstring)."""
        self._validate()
        if sample_weight is not None and self.se == "bootstrap":
            raise DesignError(
                "methods.psm.se",
                "the bootstrap does not carry sampling weights; with 'weights' use 'auto'",
            )
        e = np.asarray(propensity, dtype=float)
        t = np.asarray(treated).astype(np.int8)
        with np.errstate(divide="ignore"):
            dist = np.log(e / (1.0 - e)) if self.distance == "logit" else e
        if not np.all(np.isfinite(dist)):
            raise DesignError(
                "propensity",
                "scores of exactly 0 or 1 cannot be matched on the logit; use "
                "'distance: propensity' or revise the propensity model",
            )
        width = caliper_width(dist, t, self.caliper, self.caliper_scale)
        directions = {"ATT": (1,), "ATC": (0,), "ATE": (1, 0)}[self.estimand]
        results: list[MatchResult] = []
        self.exact_ = True  # optimal matching certified over every pair within the caliper
        if self.method == "full":
            results.append(full_match(dist, t == 1, self.estimand, width, strata))
        for group in directions if self.method != "full" else ():
            oriented, focal = (dist if group == 1 else -dist), t == group
            if self.method == "optimal":
                result, exact = optimal_match(oriented, focal, self.ratio, width, strata)
                self.exact_ = self.exact_ and exact
            else:
                result = match(
                    oriented, focal, self.ratio, self.replace, width, self.order, strata,
                    self.random_state, self.ties,
                )  # fmt: skip
            results.append(result)
        if all(r.n_focal_matched == 0 for r in results):
            raise DesignError(
                "methods.psm.caliper",
                f"every {'treated' if directions[0] == 1 else 'control'} unit was dropped by the "
                f"caliper ({self.caliper} SD); widen it or set 'caliper: null'",
            )
        self.results_ = results
        self.treated_ = t
        self.score_ = e
        self.score_design_ = score_design
        self.distance_ = dist
        self.caliper_width_ = width
        matrix = None if covariates is None else np.asarray(covariates, dtype=float)
        self.covariates_ = matrix
        if feature_names is not None:
            self.feature_names_: list[str] | None = list(feature_names)
        elif matrix is None:
            self.feature_names_ = None
        else:
            self.feature_names_ = [f"x{j}" for j in range(matrix.shape[1])]
        self.strata_ = strata
        self.sample_weight_ = sample_weight
        return self

    @property
    def sampling_weights_(self) -> np.ndarray:
        """The units' sampling weights (ones when none were given)."""
        if self.sample_weight_ is None:
            return np.ones(self.treated_.size)
        return np.asarray(self.sample_weight_, dtype=float)

    @property
    def weights_(self) -> np.ndarray:
        """Matching weights of every unit (summed over directions for the ATE)."""
        n = self.treated_.size
        return sum((r.unit_weights(n) for r in self.results_), np.zeros(n))

    @property
    def adjusts_(self) -> bool:
        """Whether the estimate is adjusted (``adjust`` and covariates given)."""
        return self.adjust and self.covariates_ is not None and self.covariates_.shape[1] > 0

    def matched_pairs(self, index: Sequence | np.ndarray | None = None) -> pd.DataFrame:
        """Who is matched to whom, as a DataFrame (``focal``, ``matched``, ``weight`` = 1/k_f), with
        the rows labelled by ``index`` (e.g. the data frame's index) when given."""
        import pandas as pd

        focal = np.concatenate([r.focal for r in self.results_])
        matched = np.concatenate([r.matched for r in self.results_])
        labels = np.asarray(index) if index is not None else np.arange(self.treated_.size)
        return pd.DataFrame(
            {
                "focal": labels[focal],
                "matched": labels[matched],
                "weight": np.concatenate([r.weight for r in self.results_]),
            }
        )

    def summary(self) -> dict[str, int | float | None]:
        """Focal units, matched focal units, units dropped by the caliper, the caliper's width and
        the matched units of each group (``results.json``'s ``design.matching``)."""
        t, used = self.treated_, self.weights_ > 0
        return {
            "focal_units": int(sum(r.n_focal for r in self.results_)),
            "matched_focal_units": int(sum(r.n_focal_matched for r in self.results_)),
            "dropped_by_caliper": self.dropped_by_caliper_,
            "caliper_width": self.caliper_width_,
            "matched_treated": int(np.sum(used & (t == 1))),
            "matched_control": int(np.sum(used & (t == 0))),
        }

    @property
    def dropped_by_caliper_(self) -> int:
        return sum(r.dropped_by_caliper for r in self.results_)

    def corrected(self, y: np.ndarray, result: MatchResult) -> np.ndarray:
        """The outcome net of the Abadie-Imbens (2011) regression fitted in the group that
        ``result`` matches from (the outcome itself when not adjusting): matching on it is the
        bias-corrected matching estimator."""
        if not (self.replace and self.adjusts_) or result.matched.size == 0:
            return y
        assert self.covariates_ is not None  # adjusts_ holds only when covariates were given
        return y - fitted_in_group(
            self.covariates_, y, self.treated_ == self.treated_[result.matched[0]]
        )

    def differences(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """d_f = +/-(Y_f - mean of f's matches' Y) for every matched focal unit (bias-corrected
        with replacement when adjusting; plain pair differences without replacement) and the
        focal unit indices."""
        y = np.asarray(y, dtype=float)
        t = self.treated_
        ds, units = [], []
        for result in self.results_:
            shifted = self.corrected(y, result)
            focal_units = result.matched_focal
            imputed = np.bincount(
                result.focal, weights=result.weight * shifted[result.matched], minlength=t.size
            )[focal_units]
            sign = np.where(t[focal_units] == 1, 1.0, -1.0)
            ds.append(sign * (shifted[focal_units] - imputed))
            units.append(focal_units)
        return np.concatenate(ds), np.concatenate(units)

    def regression(self, y: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray]:
        """The estimate without replacement and its influence terms (see the class docstring)."""
        x = self.covariates_ if self.adjusts_ else None
        return matched_regression(y, self.treated_, weights, self.estimand, x)

    def point_estimate(self, y: np.ndarray) -> float:
        """The effect estimate alone (no standard error)."""
        y = np.asarray(y, dtype=float)
        if self.replace:
            return replacement_estimate(self, y)[0]
        return self.regression(y, self.weights_ * self.sampling_weights_)[0]

    def estimate(
        self,
        y: np.ndarray,
        outcome: str = "outcome",
        clusters: np.ndarray | None = None,
        cluster_name: str = "cluster",
    ) -> Effect:
        """The matching estimate of the effect on ``y`` with its standard error."""
        y = np.asarray(y, dtype=float)
        notes: list[str] = []
        known = "the propensity score is treated as known"
        sampled = self.sample_weight_ is not None
        if not self.replace:
            tau, psi = self.regression(y, self.weights_ * self.sampling_weights_)
            subclass = self.results_[0].subclass(y.size)  # ATT or ATC: one direction
            used = subclass >= 0
            sets = subclass[used]
            if sets.size == 0 or sets.min() == sets.max():  # fewer than two distinct sets
                raise DesignError("methods.psm", "fewer than 2 matched sets; widen the caliper")
            if self.se == "bootstrap":
                if clusters is not None:
                    raise DesignError(
                        "methods.psm.se", "the bootstrap resamples units, not clusters; use 'auto'"
                    )
                se, se_type = bootstrap_se(self, y, subclass, notes)
            elif clusters is not None:
                se = two_way_se(psi[used], clusters[used], subclass[used])
                se_type = f"two-way cluster-robust by {cluster_name} and matched set"
                notes.append(f"variance: two-way cluster-robust sandwich ({known})")
            else:
                se = sandwich_se(psi[used], subclass[used])
                se_type = "cluster-robust by matched set"
                notes.append(
                    f"variance: matched-set cluster-robust sandwich, weights held fixed ({known})"
                )
        else:
            tau, psi = replacement_estimate(self, y)
            if clusters is not None:
                se = sandwich_se(psi, clusters)
                se_type = f"cluster-robust by {cluster_name}"
                notes.append(f"variance: cluster-robust, matches held fixed ({known})")
            elif sampled:
                se = sandwich_se(psi)
                se_type = "linearisation (sampling weights), matches held fixed"
                notes.append(f"variance: linearisation sandwich, matches held fixed ({known})")
            else:
                d, focal_units = self.differences(y)
                neighbours = same_group_neighbours(self.distance_, self.treated_, self.n_neighbours)
                sigma2 = matching_conditional_variance(variance_outcome(self, y), neighbours)
                rows_m = np.concatenate([r.matched for r in self.results_])
                rows_w = np.concatenate([r.weight for r in self.results_])
                se = abadie_imbens_se(d, focal_units, rows_m, rows_w, sigma2)
                se, se_type = score_term(self, se, y, tau, notes)
        if self.adjusts_:
            # adjusts_ holds only when covariates were given, and fit names their columns
            assert self.feature_names_ is not None
            what = (
                "bias-corrected (Abadie-Imbens 2011) by a regression on"
                if self.replace
                else "regression-adjusted in the matched sample (g-computation for the "
                f"{self.estimand}) for"
            )
            notes.append(f"{what} {len(self.feature_names_)} covariate columns")
        elif self.adjust:
            notes.append("no covariates were given: the plain difference in matched means")
        else:
            notes.append("unadjusted difference in matched means (adjust: false)")
        notes += method_notes(self) + caliper_notes(self)
        if sampled:
            notes.append(SAMPLING_NOTE)
        used = self.weights_ > 0
        return Effect(
            outcome=outcome,
            method="psm",
            estimand=self.estimand,
            estimate=tau,
            std_error=se,
            n_treated=int(np.sum(used & (self.treated_ == 1))),
            n_control=int(np.sum(used & (self.treated_ == 0))),
            se_type=se_type,
            notes=tuple(notes),
        )

    def get_params(self) -> dict:
        """The constructor's settings (scikit-learn convention)."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}
