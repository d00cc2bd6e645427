"""Moved to :mod:`reimpact.sensitivity.heterogeneity` (issue 13); this path warns and is removed in
0.3."""

from ._deprecation import moved

__getattr__ = moved(
    "reimpact.heterogeneity",
    {
        name: "reimpact.sensitivity.heterogeneity"
        for name in ("COLUMNS", "cate_by_level", "subgroup_effects")
    },
)
