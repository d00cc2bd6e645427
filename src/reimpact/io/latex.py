"""LaTeX tables from frames, written here rather than by ``DataFrame.to_latex`` (which needs
jinja2, not a dependency of the package): a booktabs ``tabular`` whose cells are escaped, so that
any text (a covariate level with ``_``, ``%`` or ``&``) compiles as written."""

from __future__ import annotations

import math
import numbers
from typing import Any

import pandas as pd

MISSING_TEXT = "\u2013"  # a cell with nothing to show: an en dash
_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "\u2013": "--",
    "\n": " ",
    "\r": " ",
}


def latex_escape(text: str) -> str:
    """``text`` as LaTeX that prints it as written (special characters escaped)."""
    return "".join(_SPECIAL.get(c, c) for c in text)


def is_number(value: Any) -> bool:
    """A real number (not a bool, not text)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def cell_text(value: Any, digits: int = 4) -> str:
    """A table cell as text: a float with ``digits`` decimals (a tiny non-zero one in scientific
    notation, so that it does not read as zero), an integer as it is, a missing value as an en
    dash, anything else as its text."""
    if value is None or (is_number(value) and math.isnan(float(value))):
        return MISSING_TEXT
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if is_number(value):
        v = float(value)
        if v != 0 and abs(v) < 0.5 * 10.0**-digits:
            return f"{v:.2e}"
        return f"{v:.{digits}f}"
    return str(value)


def column_align(frame: pd.DataFrame) -> str:
    """A ``tabular`` column specification: ``r`` for a column holding a number, else ``l``."""
    return "".join("r" if any(is_number(v) for v in frame[c]) else "l" for c in frame.columns)


def latex_table(frame: pd.DataFrame, align: str | None = None, digits: int = 4) -> str:
    """``frame`` as a booktabs ``tabular`` (needs ``\\usepackage{booktabs}``): its columns as the
    header, numbers with ``digits`` decimals (see :func:`cell_text`), every cell escaped.

    ``align`` is the column specification; by default numeric columns are right-aligned."""
    spec = align or column_align(frame)
    header = " & ".join(latex_escape(str(c)) for c in frame.columns)
    body = [
        " & ".join(latex_escape(cell_text(v, digits)) for v in row) + r" \\"
        for row in frame.itertuples(index=False, name=None)
    ]
    lines = [
        "% requires \\usepackage{booktabs}",
        f"\\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        header + r" \\",
        r"\midrule",
        *body,
        r"\bottomrule",
        r"\end{tabular}",
    ]
    return "\n".join(lines) + "\n"
