"""The sections of ``report.html``, one module per part of the page; :mod:`..html` puts them in
order. Each takes the run's results for what only they hold and ``published`` (the payload that
passed the disclosure gate) for every count and group statistic."""

from __future__ import annotations

from .balance import balance_section, overlap_section
from .effects import effects_section
from .limitations import limitations_section
from .sample import sample_section, warnings_section
from .sensitivity import sensitivity_section
from .study import provenance_section, study_section
from .summary import summary_section
from .table_one import table_one_section

__all__ = [
    "balance_section",
    "effects_section",
    "limitations_section",
    "overlap_section",
    "provenance_section",
    "sample_section",
    "sensitivity_section",
    "study_section",
    "summary_section",
    "table_one_section",
    "warnings_section",
]
