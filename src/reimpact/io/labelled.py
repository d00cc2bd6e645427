"""SPSS (.sav, .zsav) and Stata (.dta) files through pyreadstat, with their value labels kept as
categories where the file says the codes name categories, and the codes kept beside them
(:class:`ValueLabels`, in ``frame.attrs["value_labels"]``) so that a study can still name a value
by its code, filter on a range of codes, or analyse a labelled outcome on its codes.

The rules, decided once here:

* SPSS records what each variable's numbers mean (its *measure level*): a labelled ``nominal``
  variable becomes unordered categories, a labelled ``ordinal`` one ordered categories in code
  order, a ``scale`` variable keeps its numbers (its labels only name special values).
* Stata records no measure level: a labelled variable becomes categories in code order, not
  ranked (Stata does not say that the codes rank), when every value it holds has a label; when
  the labels cover only some of its values (99 "refused" on ages) it keeps its numbers. SPSS
  variables of unknown measure (files older than SPSS 8) follow the Stata rule.
* A code of a categorical variable without a label becomes a category named by the code ("3").
* User-missing values (SPSS missing values and ranges, Stata's extended missing ``.a`` to ``.z``)
  are missing.
"""

from __future__ import annotations

import io
import re
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat

from ..exceptions import DataError

Code = float | str

# what pyreadstat raises on a damaged, truncated or mislabelled file
STATISTICS_ERRORS: tuple[type[Exception], ...] = (pyreadstat.ReadstatError, pyreadstat.PyreadstatError)

# pyreadstat's warning when it renames a repeated variable name
_DUPLICATED = re.compile(r"column '(.+)' is duplicated, renamed to")

# where read_table leaves the labels of the columns it made categorical (plain values)
LABELS_ATTR = "value_labels"


@dataclass(frozen=True)
class ValueLabels:
    """The value labels of one column read as categories: its codes in code order, the label of
    each (the categories, in the same order) and whether the codes rank (SPSS ``ordinal``)."""

    codes: tuple[Code, ...]
    labels: tuple[str, ...]
    ordered: bool

    def to_codes(self, series: pd.Series) -> pd.Series:
        """The codes of a column of labels (missing stays missing); numeric codes as floats."""
        mapping = dict(zip(self.labels, self.codes, strict=True))
        codes = series.astype(object).map(mapping)
        numeric = all(isinstance(code, float) for code in self.codes)
        return pd.to_numeric(codes) if numeric else codes


def value_labels(frame: pd.DataFrame) -> dict[str, ValueLabels]:
    """The value labels :func:`~reimpact.io.read_table` kept for the columns it read as categories
    (also after a round trip through parquet, which stores them); empty for a frame from
    elsewhere. A column whose categories no longer are its labels has none."""
    found: dict[str, ValueLabels] = {}
    stored = frame.attrs.get(LABELS_ATTR)
    for name, spec in (stored if isinstance(stored, dict) else {}).items():
        try:
            labels = ValueLabels(tuple(spec["codes"]), tuple(spec["labels"]), bool(spec["ordered"]))
            dtype = frame[name].dtype
        except (KeyError, TypeError, AttributeError):
            continue
        if (
            isinstance(dtype, pd.CategoricalDtype)
            and len(labels.codes) == len(labels.labels)
            and list(dtype.categories) == list(labels.labels)
        ):
            found[str(name)] = labels
    return found


def read_spss(path: Path, data: bytes, sheet: str | int | None) -> pd.DataFrame:
    """An SPSS .sav or .zsav file, its labelled nominal/ordinal variables as categories."""
    frame, meta = _parse(path, pyreadstat.read_sav, data)
    return _with_labels(path, frame, meta.variable_value_labels, meta.variable_measure)


def read_stata(path: Path, data: bytes, sheet: str | int | None) -> pd.DataFrame:
    """A Stata .dta file, its fully labelled variables as categories in code order."""
    frame, meta = _parse(path, pyreadstat.read_dta, data)
    return _with_labels(path, frame, meta.variable_value_labels, {})


def _parse(path: Path, reader: Callable[..., Any], data: bytes) -> Any:
    """pyreadstat's (frame, metadata); a repeated variable name, which pyreadstat renames with a
    warning (``age_duplicated1``), is refused as the other readers refuse it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = reader(io.BytesIO(data), dates_as_pandas_datetime=True)
    repeated = Counter(
        match.group(1) for w in caught if (match := _DUPLICATED.match(str(w.message))) is not None
    )
    if repeated:
        name, extra = next(iter(repeated.items()))
        raise DataError(
            str(path), f"column '{name}' appears {extra + 1} times in the header; rename or remove one"
        )
    return parsed


def _with_labels(
    path: Path,
    frame: pd.DataFrame,
    labels: Mapping[str, Mapping[Any, str]],
    measures: Mapping[str, str],
) -> pd.DataFrame:
    """Turn the labelled columns into categories by the rules of the module docstring."""
    for column in frame.columns:  # numbers with extended missing values arrive as objects
        values = frame[column]
        if values.dtype == object and all(_is_number(v) for v in pd.unique(values.dropna())):
            frame[column] = pd.to_numeric(values)
    kept: dict[str, dict[str, Any]] = {}
    for column, mapping in labels.items():
        if column not in frame.columns or not mapping:
            continue
        measure = measures.get(column, "unknown")
        if measure == "scale":
            continue
        observed = pd.unique(frame[column].dropna())
        if measure == "unknown" and any(code not in mapping for code in observed):
            continue
        categories, spec = _categories(path, column, frame[column], mapping, measure == "ordinal")
        frame[column] = categories
        # as plain values: pandas writes attrs into a parquet file as JSON
        kept[column] = {"codes": list(spec.codes), "labels": list(spec.labels), "ordered": spec.ordered}
    frame.attrs[LABELS_ATTR] = kept
    return frame


def _categories(
    path: Path, column: str, values: pd.Series, mapping: Mapping[Any, str], ordered: bool
) -> tuple[pd.Categorical[str], ValueLabels]:
    """The column as categories of its labels, in code order, and the labels it was read with."""
    # numeric codes may arrive in an object column (Stata's extended missing values)
    numeric = all(_is_number(code) for code in [*mapping, *pd.unique(values.dropna())])
    normal: Callable[[Any], Code] = float if numeric else str
    named = {normal(code): str(label) for code, label in mapping.items()}
    codes = sorted(set(named) | {normal(code) for code in pd.unique(values.dropna())})
    texts = [named.get(code, _code_text(code)) for code in codes]
    _unique_labels(path, column, codes, texts)
    present = values.astype(object).where(values.notna(), None).map(normal, na_action="ignore")
    indices = pd.Index(codes, dtype=object).get_indexer(pd.Index(present))  # missing: -1
    categories = pd.Categorical.from_codes(indices, categories=pd.Index(texts), ordered=ordered)
    return categories, ValueLabels(tuple(codes), tuple(texts), ordered)


def _is_number(code: Any) -> bool:
    return isinstance(code, (int, float, np.number)) and not isinstance(code, (bool, np.bool_))


def _code_text(code: Code) -> str:
    """The category name of a code without a label: 3.0 reads "3"."""
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code)


def _unique_labels(path: Path, column: str, codes: list[Code], texts: list[str]) -> None:
    seen: dict[str, Code] = {}
    for code, text in zip(codes, texts, strict=True):
        if text in seen:
            first, second = _code_text(seen[text]), _code_text(code)
            raise DataError(
                str(path),
                f"column '{column}': codes {first} and {second} share the label '{text}'; give "
                "each code its own label (or merge the codes) and export again",
            )
        seen[text] = code
