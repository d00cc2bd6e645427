"""Old import path (before 0.2) of names now in reimpact.estimators.aipw: they resolve with a
``DeprecationWarning``."""

from ._deprecation import moved

__getattr__ = moved(
    "reimpact.doubly_robust",
    {
        "AIPWEstimator": "reimpact.estimators.aipw:CrossFittedAIPW",
        "CrossFittedAIPW": "reimpact.estimators.aipw",
    },
)
