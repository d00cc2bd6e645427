"""The HTML pieces every section of the report is built from: escaped text, formatted numbers,
intervals, tables and embedded figures. Cells reach ``table`` already escaped, so a section
decides what is markup and what is text."""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from typing import Any

import pandas as pd

MISSING = "&ndash;"  # a cell with nothing to show


def escape(value: Any) -> str:
    """``value`` as text that HTML shows as written."""
    return html.escape(str(value))


def number(value: Any, digits: int = 4) -> str:
    """A float with ``digits`` decimals, a missing value as a dash, anything else escaped."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return MISSING
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(value)


def interval(lower: Any, upper: Any) -> str:
    """A confidence interval, ``[lower, upper]``, with four decimals."""
    return f"[{number(lower)},&nbsp;{number(upper)}]"  # never broken over two lines


def table(
    header: Iterable[str],
    rows: Iterable[Iterable[str]],
    flags: set[tuple[int, int]] | None = None,
    numeric: bool = True,
) -> str:
    """An HTML table from pre-escaped cells; ``flags`` holds (row, column) cells to highlight;
    ``numeric`` right-aligns every column but the first."""
    flags = flags or set()
    head = "".join(f"<th>{h}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(
            f'<td class="flag">{c}</td>' if (i, j) in flags else f"<td>{c}</td>"
            for j, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    css = ' class="num"' if numeric else ""
    return f"<table{css}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def embedded_figure(png: bytes | None, name: str, caption: str) -> str:
    """The PNG embedded as a data URI with its caption; the caption alone when there is no PNG."""
    if png is None:
        return f'<p class="note">{escape(caption)}</p>'
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure id="fig-{name}"><img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )
