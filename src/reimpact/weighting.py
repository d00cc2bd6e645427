"""Old import path (before 0.2) of names now in reimpact.design.weights, reimpact.estimators.weighting:
they resolve with a ``DeprecationWarning``."""

from ._deprecation import moved

__getattr__ = moved(
    "reimpact.weighting",
    {
        "IPWEstimator": "reimpact.estimators.weighting:PropensityWeighting",
        "PropensityWeighting": "reimpact.estimators.weighting",
        "SCHEMES": "reimpact.design.weights",
        "WeightFunction": "reimpact.design.weights",
        "WeightScheme": "reimpact.design.weights",
        "balancing_weights": "reimpact.design.weights",
        "effective_sample_size": "reimpact.design.weights",
    },
)
