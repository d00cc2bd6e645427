"""Loading the data a study names and preparing the analysis sample.

The steps, in order, each counted in a :class:`SampleFlow`: read the file (csv, parquet, xlsx,
SPSS, Stata, a KoBo export) or simulate the built-in cohort (:mod:`.source`); score raw survey
answers when the study asks; check that every column the study names exists; apply the
population filters; apply the treatment rule (:mod:`.rules`); apply ``invalid_values`` to
infinite or absurdly large values
(|x| > 1e12) in a numeric outcome or covariate (``error``: refuse; ``drop``: delete the rows,
counted in ``dropped_invalid``); apply the missing-data policy (:mod:`.missing`; ``drop``: rows
missing the treatment or a covariate are deleted; ``impute``: covariates only, numeric by the mean
plus a missing indicator, categorical as a level ``"(missing)"``). Outcomes are never imputed and
never delete a row for being missing: a row without an outcome is left out of that outcome's
analyses only, and counted in ``missing_outcome``. Input files are only read. :mod:`.prepare` runs
the steps.
"""

from __future__ import annotations

from .missing import INVALID_LIMIT, MISSING_LEVEL
from .prepare import AnalysisSample, SampleFlow, prepare_frame, prepare_sample
from .rules import treatment_indicator
from .source import DEFAULT_SIMULATED_N, DataSource, read_data

__all__ = [
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
]
