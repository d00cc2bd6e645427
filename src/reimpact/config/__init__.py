"""Study files: the sections (:mod:`.sections`, :mod:`.sensitivity`), the methods section derived
from the registry of estimators (:mod:`reimpact.registry`) and the validated :class:`Study` with
:func:`load_study` (:mod:`.study`)."""

from .sections import (
    DataSpec,
    PopulationFilter,
    PropensitySpec,
    RangeFilter,
    ReportSpec,
    ScoringSpec,
    TreatmentSpec,
)
from .sensitivity import (
    HeterogeneitySpec,
    OmittedVariableSpec,
    RefutationSpec,
    RosenbaumSpec,
    SensitivitySpec,
)
from .study import Study, load_study

__all__ = [
    "DataSpec",
    "HeterogeneitySpec",
    "OmittedVariableSpec",
    "PopulationFilter",
    "PropensitySpec",
    "RangeFilter",
    "RefutationSpec",
    "ReportSpec",
    "RosenbaumSpec",
    "ScoringSpec",
    "SensitivitySpec",
    "Study",
    "TreatmentSpec",
    "load_study",
]
