"""Data files in and out: :func:`read_table` and :func:`write_table` for csv, parquet, xlsx, SPSS
.sav/.zsav (read only) and Stata .dta, by the file's suffix (:data:`READERS`, :data:`WRITERS`);
SPSS/Stata value labels as categories (:func:`value_labels` keeps their codes) and
KoBoToolbox/ODK exports reshaped (:class:`KoboLayout`). This layer knows nothing of studies or
samples; :mod:`reimpact.sample` builds on it."""

from __future__ import annotations

from .kobo import KoboLayout
from .labelled import ValueLabels, value_labels
from .readers import KOBO_SUFFIXES, READERS, read_table
from .writers import WRITERS, write_table

__all__ = [
    "KOBO_SUFFIXES",
    "READERS",
    "WRITERS",
    "KoboLayout",
    "ValueLabels",
    "read_table",
    "value_labels",
    "write_table",
]
