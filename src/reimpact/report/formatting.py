"""The report's tables as text, for the places that show them rather than store them (the Word
report, the LaTeX files, Table 1 in the HTML): numbers rounded as the HTML report rounds them, the
shares of 0/1 covariates in Table 1 as percentages, withheld cells as published ("suppressed",
"<10"). The CSV and XLSX exports keep the unrounded numbers of :mod:`.tables`."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ..io.latex import cell_text, is_number

# decimals by the start of a column's header (the rest: 4), as in the HTML report; None: as
# written (the multiples k and q of the sensitivity settings)
DIGITS: dict[str, int | None] = {
    "SMD": 3,
    "KS": 3,
    "Var. ratio": 2,
    "E-value": 2,
    "Risk ratio": 3,
    "Gamma*": 2,
    "Alpha": 2,
    "k (": None,
    "q": None,
}

# characters XML (so Word and XLSX files) cannot hold: the C0 controls but tab, newline, return
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xml_safe(value: Any) -> Any:
    """Text without the control characters an XML file cannot hold (a category read from a
    damaged export, say); anything that is not text as it is."""
    return _NOT_XML.sub("\ufffd", value) if isinstance(value, str) else value


def column_digits(column: str) -> int | None:
    """Decimals shown in a column, by its header (see ``DIGITS``)."""
    for start, digits in DIGITS.items():
        if (
            column == start
            or column.startswith(f"{start} ")
            or (start.endswith("(") and column.startswith(start))
        ):
            return digits
    return 4


def _number(value: Any, digits: int | None) -> str:
    """A number with ``digits`` decimals, or as written (``1``, ``0.5``) when ``digits`` is None."""
    if digits is None:
        return f"{float(value):g}" if is_number(value) else cell_text(value)
    return cell_text(value, digits)


def formatted(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every cell as text: numbers rounded by their column (see ``DIGITS``),
    missing values as an en dash, text as it is."""
    return pd.DataFrame(
        {c: [_number(v, column_digits(str(c))) for v in frame[c]] for c in frame.columns},
        columns=frame.columns,
    )


def _group_value(value: Any, statistic: str) -> str:
    """A Table 1 group cell: a count whole, a proportion as a percentage with one decimal, a mean
    with two decimals (three under 1 in size); text (suppressed) as it is."""
    if not is_number(value):
        return cell_text(value)
    if statistic == "count":
        return str(int(value)) if float(value).is_integer() else cell_text(value, 1)
    if statistic == "proportion":
        return f"{100 * float(value):.1f}%"
    return cell_text(value, 2 if abs(float(value)) >= 1 else 3)


def table_one_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Table 1 (:func:`.tables.table_one`) as text: means, percentages for 0/1 levels, SMDs with
    three decimals; the ``Statistic`` column is dropped, since the cells now say what they are."""
    out = {}
    for column in frame.columns:
        if column == "Statistic":
            continue
        if str(column).startswith(("Treated (", "Control (")):
            out[column] = [
                _group_value(v, s) for v, s in zip(frame[column], frame["Statistic"], strict=True)
            ]
        elif str(column).startswith("SMD ("):
            out[column] = [cell_text(v, 3) if v is not None else "" for v in frame[column]]
        else:
            out[column] = [cell_text(v) for v in frame[column]]
    return pd.DataFrame(out, columns=[c for c in frame.columns if c != "Statistic"])


def display_table(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A table of :data:`.tables.TABLES` as text, by its name (Table 1 in percentages)."""
    return table_one_text(frame) if name == "table_one" else formatted(frame)
