"""Old import path (before 0.2) of the study-file models, now in :mod:`reimpact.config`: its
names resolve with a ``DeprecationWarning``."""

from ._deprecation import moved

__getattr__ = moved(
    "reimpact.study",
    {
        "DATA_SUFFIXES": "reimpact.config.sections",
        "DataSpec": "reimpact.config.sections",
        "Estimand": "reimpact.estimators",
        "HeterogeneitySpec": "reimpact.config.sensitivity",
        "MAX_DEPTH": "reimpact.config.study",
        "MAX_STUDY_BYTES": "reimpact.config.study",
        "MAX_VALUES": "reimpact.config.study",
        "OmittedVariableSpec": "reimpact.config.sensitivity",
        "PopulationFilter": "reimpact.config.sections",
        "PropensitySpec": "reimpact.config.sections",
        "RangeFilter": "reimpact.config.sections",
        "RefutationSpec": "reimpact.config.sensitivity",
        "ReportSpec": "reimpact.config.sections",
        "RosenbaumSpec": "reimpact.config.sensitivity",
        "Scalar": "reimpact.config.sections",
        "ScoringSpec": "reimpact.config.sections",
        "SensitivitySpec": "reimpact.config.sensitivity",
        "Study": "reimpact.config.study",
        "TreatmentSpec": "reimpact.config.sections",
        "load_study": "reimpact.config.study",
        "matching_option_problem": "reimpact.estimators.matching",
    },
)
