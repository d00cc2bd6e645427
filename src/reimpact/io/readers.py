"""Reading a data file into a frame: one reader per file type, chosen by the file's suffix in
:data:`READERS`, each refusing a damaged, truncated, mislabelled or non-UTF-8 file with one line
that says what to do, rather than guessing (a wrong guess silently garbles the analysis). SPSS and
Stata value labels follow :mod:`reimpact.io.labelled`; a KoBoToolbox/ODK export is reshaped by
:mod:`reimpact.io.kobo` when the caller says it is one."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import pandas as pd

from ..exceptions import DataError
from .kobo import KoboLayout, kobo_frame, read_kobo_csv
from .labelled import STATISTICS_ERRORS, read_spss, read_stata

# what the readers raise on a damaged, truncated or mislabelled file (read from memory, so an
# OSError here is the reader's, not the disk's); DataError is a ValueError and is re-raised first
_UNREADABLE: tuple[type[BaseException], ...] = (
    ValueError, OSError, KeyError, EOFError, struct.error, zipfile.BadZipFile, zlib.error, ParseError,
    *STATISTICS_ERRORS,
)  # fmt: skip


def read_table(
    path: str | Path, sheet: str | int | None = None, kobo: KoboLayout | None = None
) -> pd.DataFrame:
    """Read a csv, parquet, xlsx, SPSS (.sav, .zsav) or Stata (.dta) file into a frame.

    The reader is chosen by the file's suffix (in any case). SPSS and Stata value labels become
    categories where the file says the codes name categories (SPSS nominal: unordered, ordinal:
    ordered in code order; Stata: in code order, unordered, when every value is labelled; see
    :mod:`reimpact.io.labelled`); their codes stay available through
    :func:`~reimpact.io.value_labels`. User-missing values are missing. A csv must be UTF-8
    (with or without a byte-order mark): any other encoding is refused rather than guessed,
    because a wrong guess silently garbles text values (country names, answers) and with them
    the filters and the categories. A damaged, truncated or empty file, or a header that repeats
    a column name (which pandas would silently rename to ``name.1``), is a :class:`DataError`.

    Parameters
    ----------
    path : str or Path
        The file: ``.csv``, ``.parquet``, ``.xlsx``, ``.sav``, ``.zsav`` or ``.dta``.
    sheet : str or int or None
        The sheet of an xlsx file, by name or 0-based position; None reads the first. Other file
        types ignore it.
    kobo : KoboLayout or None
        The file is a KoBoToolbox/ODK export (csv or xlsx): a csv may be separated by ``;`` or
        ``,``, and the columns are reshaped by :func:`~reimpact.io.kobo.kobo_frame` (group
        paths, select_multiple questions, metadata). None reads the file as it is.

    Returns
    -------
    pandas.DataFrame
        The table; it holds at least one row.

    Raises
    ------
    DataError
        When the suffix is not one of those six, the file cannot be opened, is empty, damaged or
        truncated, a csv is not UTF-8 (or reads as one column separated by ';'), the header
        repeats a column name, the sheet does not exist, two codes of a variable share a value
        label, a KoBo export cannot be reshaped, or the table holds no rows.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise DataError(str(path), f"unsupported file type; use {', '.join(READERS)}")
    if kobo is not None and suffix not in KOBO_SUFFIXES:
        raise DataError(str(path), "a KoBoToolbox/ODK export is read from .csv or .xlsx")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(
            str(path), f"could not be opened ({exc.strerror}); check the path and its permissions"
        ) from None
    if not data:
        raise DataError(str(path), "the file is empty (0 bytes); export the data again")
    try:
        if kobo is not None and suffix == ".csv":
            frame = read_kobo_csv(path, _utf8_text(path, data))
            _check_header(path, frame.columns)
        else:
            frame = READERS[suffix](path, data, sheet)
    except DataError:
        raise
    except _UNREADABLE as exc:
        raise DataError(
            str(path),
            f"could not be read as {suffix[1:]}: the file is damaged or truncated; export the data "
            f"again (reader: {_detail(exc)})",
        ) from None
    if frame.empty:
        raise DataError(str(path), "holds no rows of data; check that the export is complete")
    if kobo is not None:
        frame = kobo_frame(frame, kobo, str(path))
    return frame


def _read_csv(path: Path, data: bytes, sheet: str | int | None) -> pd.DataFrame:
    text = _utf8_text(path, data)
    header = pd.read_csv(io.StringIO(text), header=None, nrows=1, dtype=str).iloc[0]
    _check_header(path, header)
    if len(header) == 1 and ";" in str(header.iloc[0]):
        raise DataError(
            str(path),
            "reads as one column separated by ';'; save it comma-separated, or, for a "
            "KoBoToolbox/ODK export, add 'kobo: {}' under 'data'",
        )
    return pd.read_csv(io.StringIO(text))


def _utf8_text(path: Path, data: bytes) -> str:
    """The text of a csv file, which must be UTF-8 (see :func:`read_table`)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            str(path),
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}, as in a Latin-1 or "
            "Windows-1252 export); save it again as UTF-8 (in Excel: 'CSV UTF-8')",
        ) from None


def _read_parquet(path: Path, data: bytes, sheet: str | int | None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    _check_header(path, pq.read_schema(io.BytesIO(data)).names)
    return pd.read_parquet(io.BytesIO(data))


def _read_xlsx(path: Path, data: bytes, sheet: str | int | None) -> pd.DataFrame:
    with pd.ExcelFile(io.BytesIO(data), engine="openpyxl") as book:
        name = _sheet_name(path, [str(name) for name in book.sheet_names], sheet)
        header = pd.read_excel(book, sheet_name=name, header=None, nrows=1)
        _check_header(path, header.iloc[0] if len(header) else [])
        return pd.read_excel(book, sheet_name=name)


def _sheet_name(path: Path, names: list[str], sheet: str | int | None) -> str:
    """The sheet to read: ``sheet`` by name or 0-based position, by default the first."""
    position = sheet if sheet is not None else 0
    if isinstance(position, int) and 0 <= position < len(names):
        return names[position]
    if position in names:
        return str(position)
    raise DataError(
        str(path),
        f"has no sheet {position!r} (sheets: {', '.join(names) or 'none'}); check 'data.sheet'",
    )


# the one table of the file types read: suffix (lower case) -> reader(path, bytes, sheet)
READERS: dict[str, Callable[[Path, bytes, str | int | None], pd.DataFrame]] = {
    ".csv": _read_csv,
    ".parquet": _read_parquet,
    ".xlsx": _read_xlsx,
    ".sav": read_spss,
    ".zsav": read_spss,
    ".dta": read_stata,
}

# the file types a KoBoToolbox/ODK export may come in
KOBO_SUFFIXES = (".csv", ".xlsx")


def _check_header(path: Path, names: Iterable[Any]) -> None:
    """Refuse a header that repeats a column name (blank names are pandas' ``Unnamed: n``)."""
    counts = Counter(str(name) for name in names if not pd.isna(name) and str(name) != "")
    for name, count in counts.items():
        if count > 1:
            raise DataError(
                str(path), f"column '{name}' appears {count} times in the header; rename or remove one"
            )


def _detail(exc: BaseException, limit: int = 160) -> str:
    """The first sentence of a library's error message, on one line and at most ``limit`` long."""
    text = " ".join(str(exc).split()).split(". ")[0].rstrip(".")
    return text if len(text) <= limit else text[: limit - 3] + "..."
