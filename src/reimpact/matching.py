"""Old home of matching (before 0.2): its names resolve with a ``DeprecationWarning``. The kernels
are in :mod:`reimpact.design.matching`, the matching design in
:mod:`reimpact.estimators.matching.matcher`, the estimator is :class:`reimpact.MatchingEstimator`."""

from ._deprecation import moved

_KERNELS = (
    "CaliperScale",
    "MatchResult",
    "Order",
    "Ties",
    "caliper_width",
    "match",
    "nearest_in_group",
    "same_group_neighbours",
)
__getattr__ = moved(
    "reimpact.matching",
    {
        **{name: "reimpact.design.matching" for name in _KERNELS},
        "PropensityMatcher": "reimpact.estimators.matching.matcher",
        "MatchingEstimator": "reimpact.estimators.matching.matcher:PropensityMatcher",
    },
)
