"""Data files in and out: :func:`read_table` and :func:`write_table` for csv, parquet, xlsx and
Stata .dta, by the file's suffix (:data:`READERS`, :data:`WRITERS`). This layer knows nothing of
studies or samples; :mod:`reimpact.sample` builds on it."""

from __future__ import annotations

from .readers import READERS, read_table
from .writers import WRITERS, write_table

__all__ = ["READERS", "WRITERS", "read_table", "write_table"]
