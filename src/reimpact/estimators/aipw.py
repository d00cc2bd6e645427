"""Cross-fitted augmented inverse-probability weighting (doubly robust) as an effect estimator.

The estimating equations, cross-fitting and influence-function standard errors are those of
:mod:`reimpact.doubly_robust` (Robins, Rotnitzky & Zhao 1994; Chernozhukov et al. 2018).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..doubly_robust import CrossFittedAIPW
from ..results import Effect
from ._base import EffectEstimator, Estimand, EstimationData, PropensityKind


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
    propensity_model : {"logistic", "gradient_boosting", "firth"}
    clip : float
        Bound applied where a score is inverted, by estimand.
    random_state : int
        Seed of the folds and of gradient boosting.
    verbose : bool
        Show a progress bar while cross-fitting.

    A ``propensity`` given to ``fit`` replaces the score model (no cross-fitting of the score).
    """

    name = "aipw"
    label = "Doubly robust (AIPW)"
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
    def score_learner(self) -> str:
        """The score model used: ``propensity_learner``, else ``propensity_model`` (Firth's
        logistic regression when the study penalises a logistic model)."""
        learner = self.propensity_learner or self.propensity_model
        if learner == "logistic" and self.propensity_model == "firth":
            return "firth"
        return learner

    def nuisances(self, x, t, y, propensity=None) -> CrossFittedAIPW:
        """The cross-fitted nuisance fits on arrays (shared with the subgroup analyses)."""
        model = CrossFittedAIPW(
            self.estimand, self.folds, self.outcome_learner, self.score_learner, self.clip,
            self.random_state, self.verbose,
        )  # fmt: skip
        return model.fit(x, t, y, propensity)

    def _estimate(self, data: EstimationData) -> list[Effect]:
        given = None if data.propensity is None else data.propensity.scores
        fitted = self.nuisances(data.x, data.t, data.y, given)
        self.nuisances_ = fitted
        return [
            fitted.estimate(j, name, data.cluster, data.cluster_name)
            for j, name in enumerate(data.outcomes)
        ]
