"""Inverse-probability weighting (Hajek) and overlap weights as an effect estimator.

The weights, the estimate and its M-estimation sandwich (with the estimated score's contribution)
are those of :mod:`reimpact.weighting`; see there for the formulas and references.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..results import Effect
from ..weighting import PropensityWeighting
from ._base import EffectEstimator, Estimand, EstimationData, PropensityKind, fit_scores


class IPWEstimator(EffectEstimator):
    """Inverse-probability weighting with normalised (Hajek) weights, or overlap weights.

    Parameters
    ----------
    estimand : {"ATT", "ATC", "ATE"}
        The effect to estimate (``weights="overlap"`` targets the ATO instead).
    weights : {"hajek", "overlap"}
        Hajek weights for the estimand (Hirano, Imbens & Ridder 2003) or overlap weights (Li,
        Morgan & Zaslavsky 2018).
    propensity_model : {"logistic", "gradient_boosting", "firth"}
        The score model fitted when ``fit`` is given no ``propensity``.
    clip : float
        Bound applied where a score is inverted, by estimand (see
        :func:`reimpact.propensity.bound_scores`).
    random_state : int
        Seed of the gradient-boosting score's cross-fitting.

    Attributes
    ----------
    effects_ : tuple of Effect
    weights_ : ndarray
        Every unit's weight.
    propensity_ : PropensityScores
    """

    name = "ipw"
    label = "Inverse-probability weighting"
    uses_design_score = True
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
        scores = fit_scores(data, self.propensity_model, self.clip, self.random_state)
        design = PropensityWeighting(self.estimand, self.weights).fit(scores, data.t)
        self.propensity_ = scores
        self.weights_ = design.weights_
        return [
            design.estimate(data.y[:, j], name, data.cluster, data.cluster_name)
            for j, name in enumerate(data.outcomes)
        ]
