"""Inverse-probability weighting with normalised (Hajek) weights, and overlap weights.

For each group a, mu_a = sum_{i in a} w_a(e_i) Y_i / sum_{i in a} w_a(e_i) and the effect is
mu_1 - mu_0, with (treated weight, control weight):

    ATE: (1/e, 1/(1-e));  ATT: (1, e/(1-e));  ATC: ((1-e)/e, 1);  ATO (overlap): (1-e, e)

(Hirano, Imbens & Ridder 2003; Li, Morgan & Zaslavsky 2018 for overlap weights, which target the
average effect in the overlap population, ATO).

Standard error: M-estimation sandwich. When the score comes from the package's logistic model, the
influence terms include the estimated score's contribution (stacking the logistic score equations,
Lunceford & Davidian 2004): for group a,

    psi_i = [1_a w_a (Y_i - mu_a) + A_a' H^-1 X_i (T_i - e_i)] / sum_{i in a} w_a,
    A_a = sum_{i in a} (Y_i - mu_a) dw_a/de e(1-e) X_i,   H = sum_i e(1-e) X_i X_i'.

Scores are bounded by estimand (:func:`~reimpact.propensity.bound_scores`: for the ATT only the
controls' scores from above, never for overlap weights); bounded scores have zero derivative. For a
score from gradient boosting or a given column the score is treated as known: conservative for the
ATE (Hirano et al. 2003), not guaranteed for the ATT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._deprecation import moved
from .inference import sandwich_se
from .propensity import PropensityScores, bounding_warning
from .results import Effect

WeightFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class WeightScheme:
    """A group's weight as a function of the score, and its derivative in the score."""

    weight: WeightFunction
    derivative: WeightFunction


_ONE = WeightScheme(np.ones_like, np.zeros_like)
_INV = WeightScheme(lambda e: 1.0 / e, lambda e: -1.0 / e**2)
_INV_C = WeightScheme(lambda e: 1.0 / (1.0 - e), lambda e: 1.0 / (1.0 - e) ** 2)
_ODDS = WeightScheme(lambda e: e / (1.0 - e), lambda e: 1.0 / (1.0 - e) ** 2)
_INV_ODDS = WeightScheme(lambda e: (1.0 - e) / e, lambda e: -1.0 / e**2)
_COMPLEMENT = WeightScheme(lambda e: 1.0 - e, lambda e: -np.ones_like(e))
_SELF = WeightScheme(lambda e: e, np.ones_like)

SCHEMES: dict[str, tuple[WeightScheme, WeightScheme]] = {
    "ATE": (_INV, _INV_C),
    "ATT": (_ONE, _ODDS),
    "ATC": (_INV_ODDS, _ONE),
    "ATO": (_COMPLEMENT, _SELF),
}


def balancing_weights(e: np.ndarray, t: np.ndarray, estimand: str) -> np.ndarray:
    """Each unit's weight for the estimand (ATE, ATT, ATC or ATO)."""
    treated_scheme, control_scheme = SCHEMES[estimand]
    return np.where(t == 1, treated_scheme.weight(e), control_scheme.weight(e))


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 (0 when every weight is 0)."""
    if not np.any(w):
        return 0.0
    return float(w.sum() ** 2 / np.sum(w**2))


class PropensityWeighting:
    """Hajek IPW (``weights='hajek'``: the study's estimand) or overlap weights (ATO)."""

    def __init__(self, estimand: str = "ATT", weights: str = "hajek") -> None:
        self.estimand = estimand
        self.weights = weights

    def fit(self, propensity: PropensityScores, treated: np.ndarray) -> PropensityWeighting:
        self.target_ = "ATO" if self.weights == "overlap" else self.estimand
        self.t_ = np.asarray(treated).astype(np.int8)
        self.bounds_ = propensity.bounded(self.t_, self.target_)
        self.raw_ = propensity.scores
        self.e_ = self.bounds_.scores
        self.x_ = propensity.design
        self.weights_ = balancing_weights(self.e_, self.t_, self.target_)
        if self.x_ is not None:
            e = self.e_
            info = (self.x_ * (e * (1.0 - e))[:, None]).T @ self.x_
            # pseudo-inverse: collinear covariates make the information matrix singular
            self.score_terms_ = (np.linalg.pinv(info) @ (self.x_ * (self.t_ - e)[:, None]).T).T
        return self

    def _hajek(self, y: np.ndarray, e: np.ndarray) -> list[tuple[float, np.ndarray, float]]:
        """For (treated, control): the weighted mean, the weights and their total."""
        out = []
        for group, scheme in zip((1, 0), SCHEMES[self.target_], strict=True):
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.where(self.t_ == group, scheme.weight(e), 0.0)
            total = w.sum()
            out.append((float((w * y).sum() / total), w, total))
        return out

    def estimate(
        self,
        y: np.ndarray,
        outcome: str = "outcome",
        clusters: np.ndarray | None = None,
        cluster_name: str = "cluster",
    ) -> Effect:
        y = np.asarray(y, dtype=float)
        e, t = self.e_, self.t_
        psi = np.zeros_like(y)
        parts = self._hajek(y, e)
        for (group, scheme), (mu, w, total) in zip(
            zip((1, 0), SCHEMES[self.target_], strict=True), parts, strict=True
        ):
            term = w * (y - mu)
            if self.x_ is not None:
                slope = np.where(
                    (t == group) & ~self.bounds_.moved,
                    (y - mu) * scheme.derivative(e) * e * (1 - e),
                    0.0,
                )
                term = term + self.score_terms_ @ (self.x_.T @ slope)
            psi += (1.0 if group == 1 else -1.0) * term / total
        estimate = parts[0][0] - parts[1][0]
        se = sandwich_se(psi, clusters)
        se_type = "sandwich (estimated score)" if self.x_ is not None else "sandwich (score as known)"
        if clusters is not None:
            se_type += f", cluster-robust by {cluster_name}"
        notes = [n for n in (self.bounds_.note(),) if n]
        if self.target_ == "ATO":
            notes.append("overlap weights target the average effect in the overlap population (ATO)")
        if self.x_ is None:
            notes.append("standard error treats the propensity score as known")
        warnings = ()
        if self.bounds_.n_bounded:
            raw = self._hajek(y, self.raw_)
            warning = bounding_warning(estimate, raw[0][0] - raw[1][0], se)
            warnings = (warning,) if warning else ()
        return Effect(
            outcome=outcome,
            method="ipw",
            estimand=self.target_,
            estimate=estimate,
            std_error=se,
            n_treated=int(t.sum()),
            n_control=int((1 - t).sum()),
            se_type=se_type,
            notes=tuple(notes),
            warnings=warnings,
        )


# the old name of the design object (the estimator with the shared contract is reimpact.IPWEstimator)
__getattr__ = moved("reimpact.weighting", {"IPWEstimator": "reimpact.weighting:PropensityWeighting"})
