"""Moved (issue 13): file reading and writing to :mod:`reimpact.io`, the analysis sample to
:mod:`reimpact.sample`. The old names still resolve here, with a ``DeprecationWarning``, until 0.3."""

from ._deprecation import moved

_IO = ("read_table", "write_table")
_SAMPLE = (
    "DEFAULT_SIMULATED_N",
    "INVALID_LIMIT",
    "MISSING_LEVEL",
    "AnalysisSample",
    "DataSource",
    "SampleFlow",
    "prepare_frame",
    "prepare_sample",
    "read_data",
    "treatment_indicator",
)

__getattr__ = moved(
    "reimpact.data",
    {**{name: "reimpact.io" for name in _IO}, **{name: "reimpact.sample" for name in _SAMPLE}},
)
