"""Effect estimators sharing one contract (:mod:`reimpact.estimators._base`): the naive
difference, propensity-score matching, coarsened exact matching, inverse-probability weighting,
cross-fitted AIPW and entropy balancing."""

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
from .balancing import EntropyBalancingEstimator
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
    "EntropyBalancingEstimator",
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
