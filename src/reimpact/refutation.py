"""Moved to :mod:`reimpact.sensitivity.refutation` (issue 13); this path warns and is removed in 0.3."""

from ._deprecation import moved

__getattr__ = moved(
    "reimpact.refutation",
    {name: "reimpact.sensitivity.refutation" for name in ("REFUTERS", "RULES", "Refutation", "refute")},
)
