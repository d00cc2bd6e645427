"""Writing a frame as csv, parquet, xlsx or Stata .dta, chosen by the file's suffix in
:data:`WRITERS` (the simulated cohort, exports of the analysis sample, test fixtures)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..exceptions import DataError


def _write_dta(frame: pd.DataFrame, path: Path) -> None:
    """Stata wants text or numbers: non-numeric columns are written as text, missing as ""."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype(object).where(out[column].notna(), "").astype(str)
    out.to_stata(path, write_index=False, version=118)


# suffix (lower case) -> writer(frame, path)
WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    ".csv": lambda frame, path: frame.to_csv(path, index=False),
    ".parquet": lambda frame, path: frame.to_parquet(path, index=False),
    ".xlsx": lambda frame, path: frame.to_excel(path, index=False),
    ".dta": _write_dta,
}


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a frame as csv, parquet, xlsx or Stata .dta (by the file's suffix).

    The index is not written, and missing parent folders are created. For Stata, non-numeric
    columns are written as text, with missing values as empty strings.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to write.
    path : str or Path
        The file to write, replaced if it exists; its suffix (``.csv``, ``.parquet``, ``.xlsx``
        or ``.dta``, in any case) chooses the format.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    DataError
        When the suffix is not one of those four.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITERS:
        raise DataError(str(path), "unsupported output type; use .csv, .parquet, .xlsx or .dta")
    path.parent.mkdir(parents=True, exist_ok=True)
    WRITERS[suffix](frame, path)
    return path
