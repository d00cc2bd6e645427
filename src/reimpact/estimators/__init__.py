"""Effect estimators sharing one contract (:mod:`reimpact.estimators._base`): the naive
difference, propensity-score matching, coarsened exact matching, inverse-probability weighting and
cross-fitted AIPW."""

from ._base import (
    CONTEXT,
    ESTIMANDS,
    EffectEstimator,
    Estimand,
    EstimationData,
    check_inputs,
    params_model,
    signature_fields,
)
from .aipw import AIPWEstimator
from .cem import CEMEstimator
from .matching import MatchingEstimator, matching_option_problem
from .naive import NaiveEstimator
from .weighting import IPWEstimator

__all__ = [
    "CONTEXT",
    "ESTIMANDS",
    "AIPWEstimator",
    "CEMEstimator",
    "EffectEstimator",
    "Estimand",
    "EstimationData",
    "IPWEstimator",
    "MatchingEstimator",
    "NaiveEstimator",
    "check_inputs",
    "matching_option_problem",
    "params_model",
    "signature_fields",
]
