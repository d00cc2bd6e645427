"""Old import path (before 0.2) of names now in reimpact.stats.sandwich, reimpact.stats.regression,
reimpact.stats.abadie_imbens: they resolve with a ``DeprecationWarning``."""

from ._deprecation import moved

__getattr__ = moved(
    "reimpact.inference",
    {
        "abadie_imbens_se": "reimpact.stats.abadie_imbens",
        "estimated_score_adjustment": "reimpact.stats.abadie_imbens",
        "matched_regression": "reimpact.stats.regression",
        "matching_conditional_variance": "reimpact.stats.abadie_imbens",
        "sandwich_se": "reimpact.stats.sandwich",
        "two_way_se": "reimpact.stats.sandwich",
        "welch_se": "reimpact.stats.sandwich",
    },
)
