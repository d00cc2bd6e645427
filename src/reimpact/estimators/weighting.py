"""Inverse-probability weighting with normalised (Hajek) weights, and overlap weights: the
weighting design (:class:`PropensityWeighting`) and the estimator (:class:`IPWEstimator`).

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

With sampling weights s (DuGoff, Schuler & Stuart 2014; Zeng, Li & Tong 2025) every unit's weight
is s_i w_a(e_i), the score is the survey-weighted logistic fit (score equations
sum_i s_i X_i (T_i - e_i) = 0) and the terms above carry s_i: 1_a s_i w_a (Y_i - mu_a), A_a with
s_i in the sum, H = sum_i s_i e(1-e) X_i X_i' and H^-1 X_i s_i (T_i - e_i); the effect then
describes the population the sampling weights represent.

For the covariate-balancing score (CBPS) the same terms hold with H^-1 X_i (T_i - e_i) replaced by
the coefficients' influence from CBPS's own balance conditions
(:func:`~reimpact.design.cbps.cbps_influence`). For the ATT (and likewise the ATC) these terms
take a regression form: the odds weights w_i = exp(X_i'beta) of the controls balance the treated
units' means of X exactly, so a control's term is w_i (Y_i - mu_0 - X_i'gamma), with gamma the
w-weighted least-squares fit of Y on X among the controls, and the weights are those of entropy
balancing on the means (Zhao & Percival 2017). As for entropy balancing
(:mod:`reimpact.estimators.balancing`), each unit's term in its own group's mean is then divided
by sqrt(1 - h_i) (HC2 type, MacKinnon & White 1985): h_i = w~_i X_i' (sum_j w~_j X_j X_j')^-1 X_i
in the reweighted group (w~ the group's normalised weights s_i w(e_i)) and h_i = w~_i in the
group weighted by one. Without it the interval covered 92.9% (Kang & Schafer) and 92.8% (Austin)
where the odds weights concentrate on a few controls, with it 93.8% and 93.6%
(``benchmarks/balancing_coverage.py``, 1,000 replications). The ATE weights
1/e and 1/(1-e) have no such within-group form (gamma mixes both groups), so they are left as
they are.

Scores are bounded by estimand (:func:`~reimpact.propensity.bound_scores`: for the ATT only the
controls' scores from above, never for overlap weights); bounded scores have zero derivative. For a
score from gradient boosting or a given column the score is treated as known: conservative for the
ATE (Hirano et al. 2003), not guaranteed for the ATT.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..design.propensity import PropensityKind, PropensityScores, bounding_warning
from ..design.weights import SCHEMES, balancing_weights
from ..diagnostics.overlap import poor_overlap
from ..results import Effect
from ..stats.sandwich import sandwich_se
from ._base import SAMPLING_NOTE, EffectEstimator, Estimand, EstimationData, fit_scores

# In the coverage study (benchmarks/coverage_study.py, 1,000 replications per design) the sandwich
# interval of Hajek weighting covered 68-94% in the runs given this warning and 95-98% in the others.
POOR_OVERLAP = (
    "poor overlap: the weighting estimate rests on a few heavily weighted units and its interval "
    "can be too narrow (68-94% coverage instead of 95% in the package's simulations when this "
    "warning was given); prefer AIPW or matching, or trim ('propensity.trim')"
)


def group_leverage(x: np.ndarray | None, w: np.ndarray) -> np.ndarray:
    """Each unit's leverage in its group's weighted mean: with ``x``, the diagonal of the weighted
    hat matrix, h_i = w~_i x_i' (sum_j w~_j x_j x_j')^+ x_i (``x`` holds an intercept, so h_i is
    the leverage of the weighted least-squares fit the mean's influence terms are residuals of);
    without, h_i = w~_i. w~ = ``w`` / sum ``w`` (zero outside the group)."""
    share = w / w.sum()
    if x is None:
        return share
    inverse = np.linalg.pinv((x * share[:, None]).T @ x)
    return share * np.einsum("ij,jk,ik->i", x, inverse, x)


class PropensityWeighting:
    """Hajek IPW (``weights='hajek'``: the study's estimand) or overlap weights (ATO)."""

    def __init__(self, estimand: str = "ATT", weights: str = "hajek") -> None:
        self.estimand = estimand
        self.weights = weights

    def fit(
        self,
        propensity: PropensityScores,
        treated: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> PropensityWeighting:
        self.target_ = "ATO" if self.weights == "overlap" else self.estimand
        self.t_ = np.asarray(treated).astype(np.int8)
        ones = np.ones(self.t_.size)
        self.sampled_ = sample_weight is not None
        self.s_ = ones if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.bounds_ = propensity.bounded(self.t_, self.target_)
        self.raw_ = propensity.scores
        self.e_ = self.bounds_.scores
        self.x_ = propensity.design
        self.weights_ = balancing_weights(self.e_, self.t_, self.target_)
        # HC2 leverages of the units in their own group's mean (CBPS for the ATT or ATC only)
        self.leverage_: np.ndarray | None = None
        if self.x_ is not None and propensity.influence is not None:
            self.score_terms_ = propensity.influence  # the model's own estimating equations (CBPS)
            if self.target_ in ("ATT", "ATC"):
                w = self.s_ * self.weights_
                reweighted = self.t_ == (0 if self.target_ == "ATT" else 1)
                self.leverage_ = np.where(
                    reweighted,
                    group_leverage(self.x_, np.where(reweighted, w, 0.0)),
                    group_leverage(None, np.where(reweighted, 0.0, w)),
                )
        elif self.x_ is not None:
            e = self.e_
            # the score model's own weights (the sampling weights it was fitted with, or none)
            fitted = ones if propensity.sample_weight is None else propensity.sample_weight
            info = (self.x_ * (fitted * e * (1.0 - e))[:, None]).T @ self.x_
            # pseudo-inverse: collinear covariates make the information matrix singular
            gradient = self.x_ * (fitted * (self.t_ - e))[:, None]
            self.score_terms_ = (np.linalg.pinv(info) @ gradient.T).T
        return self

    def _hajek(self, y: np.ndarray, e: np.ndarray) -> list[tuple[float, np.ndarray, float]]:
        """For (treated, control): the weighted mean, the weights and their total."""
        out = []
        for group, scheme in zip((1, 0), SCHEMES[self.target_], strict=True):
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.where(self.t_ == group, self.s_ * scheme.weight(e), 0.0)
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
                    self.s_ * (y - mu) * scheme.derivative(e) * e * (1 - e),
                    0.0,
                )
                term = term + self.score_terms_ @ (self.x_.T @ slope)
            if self.leverage_ is not None:
                own = t == group
                term[own] /= np.sqrt(np.clip(1.0 - self.leverage_[own], 1e-3, None))
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
        if self.sampled_:
            notes.append(SAMPLING_NOTE)
        found: list[str | None] = []
        if self.bounds_.n_bounded:
            raw = self._hajek(y, self.raw_)
            found.append(bounding_warning(estimate, raw[0][0] - raw[1][0], se))
        if self.target_ != "ATO":  # overlap weights are bounded: poor overlap does not inflate them
            found.append(POOR_OVERLAP if poor_overlap(self.raw_, t, self.target_) else None)
        warnings = tuple(w for w in found if w)
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


class IPWEstimator(EffectEstimator):
    """Inverse-probability weighting with normalised (Hajek) weights, or overlap weights.

    Parameters
    ----------
    estimand : {"ATT", "ATC", "ATE"}
        The effect to estimate (``weights="overlap"`` targets the ATO instead).
    weights : {"hajek", "overlap"}
        Hajek weights for the estimand (Hirano, Imbens & Ridder 2003) or overlap weights (Li,
        Morgan & Zaslavsky 2018).
    propensity_model : {"logistic", "gradient_boosting", "firth", "cbps"}
        The score model fitted when ``fit`` is given no ``propensity`` (``cbps``: balancing for
        the estimand).
    clip : float
        Bound applied where a score is inverted, by estimand (see
        :func:`reimpact.propensity.bound_scores`).
    random_state : int
        Seed of the gradient-boosting score's cross-fitting.

    Attributes
    ----------
    effects_ : tuple of Effect
    weights_ : ndarray
        Every unit's weight for the estimand (the sampling weight not included: the effect uses
        their product).
    propensity_ : PropensityScores
    """

    name = "ipw"
    label = "IPW"
    uses_design_score = True
    supports = frozenset({"sample_weight"})
    balance_label = "weighted"

    def __init__(
        self,
        *,
        estimand: Estimand = "ATT",
        weights: Literal["hajek", "overlap"] = "hajek",
        propensity_model: PropensityKind = "logistic",
        clip: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.01,
        random_state: int = 0,
    ) -> None:
        self.estimand = estimand
        self.weights = weights
        self.propensity_model = propensity_model
        self.clip = clip
        self.random_state = random_state

    def _estimate(self, data: EstimationData) -> list[Effect]:
        # the estimator's own bound, also on scores given to fit
        scores = replace(
            fit_scores(data, self.propensity_model, self.clip, self.random_state, self.estimand),
            clip=self.clip,
        )
        design = PropensityWeighting(self.estimand, self.weights).fit(scores, data.t, data.sample_weight)
        self.propensity_ = scores
        self.weights_ = design.weights_
        return [
            design.estimate(data.y[:, j], name, data.cluster, data.cluster_name)
            for j, name in enumerate(data.outcomes)
        ]
