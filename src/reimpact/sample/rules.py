"""The study against the data: every column it names must exist and play one role; then the
population filters and the treatment rule, which decide the rows of the design."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._validation import value_key
from ..config.sections import MAX_DOSE_LEVELS
from ..config.study import Study
from ..exceptions import DataError
from ..io import ValueLabels


def _roles(study: Study) -> list[tuple[str, str]]:
    """Every (data column, field naming it) pair of the study, a column once per field; the
    columns a covariate term uses are named by ``covariates`` (with the term)."""
    roles = [(column, "population") for column in study.population]
    roles += [(column, "treatment") for column in study.treatment.columns]
    roles += [(column, "outcomes") for column in study.outcomes]
    terms = study.covariate_terms
    roles += [(column, f"covariates{terms.where(column)}") for column in terms.columns]
    roles += [(column, "exact") for column in study.exact]
    if study.cluster is not None:
        roles.append((study.cluster, "cluster"))
    if study.weights is not None:
        roles.append((study.weights, "weights"))
    if study.propensity.column is not None:
        roles.append((study.propensity.column, "propensity.column"))
    roles += [(column, "sensitivity.heterogeneity.by") for column in subgroup_columns(study)]
    return roles


def _referenced_columns(study: Study) -> dict[str, str]:
    """Every data column the study names, with the first field that names it."""
    named: dict[str, str] = {}
    for column, where in _roles(study):
        named.setdefault(column, where)
    return named


def check_roles(study: Study) -> None:
    """Refuse a column that is the treatment (a rule column or its name, under which the analysis
    frame holds the 0/1 indicator) or an outcome and also plays another role: exact matching,
    clustering, a given score, subgroups or adjustment on it would compare nothing or the wrong
    thing. Other shared roles (a covariate that is also a cluster or a subgroup) are fine."""
    defining = {column: "treatment" for column in study.treatment.columns}
    defining.setdefault(study.treatment.label, "treatment.name")
    defining.update({column: "outcomes" for column in study.outcomes if column not in defining})
    for column, where in _roles(study):
        other = defining.get(column)
        if where != "population" and other is not None and other != where:
            raise DataError(
                f"{where}: column '{column}'",
                f"is also named by '{other}'; one column cannot play both roles: change '{where}' "
                f"or '{other}'",
            )


def subgroup_columns(study: Study) -> list[str]:
    spec = study.sensitivity
    if spec is None or spec.heterogeneity is None:
        return []
    return list(spec.heterogeneity.by)


def study_columns(study: Study, frame: pd.DataFrame) -> list:
    """The columns of ``frame`` the study names (in the frame's order), with a panel's unit,
    round and time columns: all an analysis reads. Keeping only these keeps every later copy of
    the rows (filters, outcome groups) to the columns that matter: a survey export holds many
    more (every raw answer of a scored study)."""
    named = set(_referenced_columns(study))
    if study.panel is not None:
        named.update(study.panel.columns)
    return [column for column in frame.columns if column in named]


def check_columns(study: Study, frame: pd.DataFrame) -> None:
    available = [str(c) for c in frame.columns]
    for column, where in _referenced_columns(study).items():
        if column not in frame.columns:
            close = difflib.get_close_matches(column, available, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "check the spelling"
            raise DataError(
                f"{where}: column '{column}'",
                f"is not in the data ({len(available)} columns); {hint}",
            )


def _keys(series: pd.Series) -> pd.Series:
    """Normalised text keys of a column (missing stays missing)."""
    uniques = pd.unique(series.dropna())
    return series.map({u: value_key(u) for u in uniques})


def rule_keys(
    values: Iterable[Any], labels: ValueLabels | None, field_name: str, column: str
) -> set[str]:
    """The keys of a rule's values (filter, treated or control values) as they appear in the
    column. In a column read with value labels a value may name a label or its code (``treated:
    [1]`` or ``treated: ["Yes"]``); both become the label's key."""
    keys = {value_key(value) for value in values}
    if labels is None:
        return keys
    by_label = {value_key(label): value_key(label) for label in labels.labels}
    by_code = {
        value_key(code): value_key(label)
        for code, label in zip(labels.codes, labels.labels, strict=True)
    }
    found = set()
    for key in keys:
        as_label, as_code = by_label.get(key), by_code.get(key)
        if as_label is not None and as_code is not None and as_label != as_code:
            raise DataError(
                field_name,
                f"'{key}' is a value label of column '{column}' and also the code of label "
                f"'{as_code}'; give the codes labels that are not other codes",
            )
        found.add(as_label or as_code or key)
    return found


def population_mask(
    series: pd.Series, rule: Any, column: str, labels: ValueLabels | None = None
) -> pd.Series:
    """The rows a population filter keeps: a list of values (labels or codes of a labelled
    column) or a ``{min, max}`` range (on the codes of a labelled column)."""
    if isinstance(rule, list):
        keys = _keys(series)
        wanted = rule_keys(rule, labels, f"population.{column}", column)
        absent = sorted(wanted - set(keys.dropna().unique()))
        if absent:
            raise DataError(
                f"population.{column}",
                f"value '{absent[0]}' does not occur in column '{column}'; check the spelling",
            )
        return keys.isin(wanted).fillna(False).astype(bool)
    if labels is not None:
        series = labels.to_codes(series)
    check_numeric(series, f"population.{column}", "a {min:, max:} filter")
    values = pd.to_numeric(series)
    keep = values.notna()
    if rule.min is not None:
        keep &= values >= rule.min
    if rule.max is not None:
        keep &= values <= rule.max
    return keep


def treatment_indicator(
    study: Study, frame: pd.DataFrame, labels: Mapping[str, ValueLabels] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the treatment rule: (treated 0/1, in_design) where ``in_design`` is False for rows
    that are neither treated nor control under ``control:``. A missing single-column treatment is
    kept (as NaN in ``treated``) for the missing-data policy to count and drop. In a column with
    value labels (``labels``) the rule's values may be labels or codes."""
    spec = study.treatment
    labels = labels or {}
    if spec.multivalued:  # treated: any level but the reference; the levels are read again later
        codes, _, in_design = treatment_levels(study, frame, labels)
        return np.where(codes < 0, np.nan, (codes > 0).astype(float)), in_design
    treated_keys = {
        c: rule_keys(spec.treated, labels.get(c), "treatment.treated", c) for c in spec.columns
    }
    control_keys = None
    if spec.control is not None:
        control_keys = {
            c: rule_keys(spec.control, labels.get(c), "treatment.control", c) for c in spec.columns
        }
        for column, keys_ in control_keys.items():
            both = sorted(keys_ & treated_keys[column])
            if both:
                raise DataError(
                    "treatment.control",
                    f"a control value means '{both[0]}' in column '{column}', as a treated value "
                    "does; a value cannot be both",
                )
    keys = {column: _keys(frame[column]) for column in spec.columns}
    seen = {column: set(k.dropna().unique()) for column, k in keys.items()}
    if not any(treated_keys[c] & seen[c] for c in spec.columns):
        absent = sorted({value_key(v) for v in spec.treated})
        raise DataError(
            "treatment.treated",
            f"no row has a treated value ({', '.join(absent)}) in {', '.join(spec.columns)}; "
            f"values found: {_preview(set().union(*seen.values()))}",
        )
    if spec.column is not None:
        key = keys[spec.column]
        distinct = seen[spec.column]
        if control_keys is None and len(distinct) > 2:
            raise DataError(
                "treatment.column",
                f"'{spec.column}' has {len(distinct)} distinct values ({_preview(distinct)}), so "
                "the treatment is not binary; list the comparison values under 'treatment.control'",
            )
        is_treated = key.isin(treated_keys[spec.column]).to_numpy()
        missing = key.isna().to_numpy()
        if control_keys is None:
            in_design = np.ones(len(frame), dtype=bool)
        else:
            in_design = is_treated | key.isin(control_keys[spec.column]).to_numpy() | missing
        treated = np.where(missing, np.nan, is_treated.astype(float))
        return treated, in_design
    is_treated = np.logical_or.reduce([k.isin(treated_keys[c]).to_numpy() for c, k in keys.items()])
    if control_keys is None:
        in_design = np.ones(len(frame), dtype=bool)
    else:
        is_control = np.logical_or.reduce([k.isin(control_keys[c]).to_numpy() for c, k in keys.items()])
        in_design = is_treated | is_control
    return is_treated.astype(float), in_design


def treatment_levels(
    study: Study, frame: pd.DataFrame, labels: Mapping[str, ValueLabels] | None = None
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """The levels of a multi-valued treatment (``treatment.reference``): every row's level as an
    index into the levels (the reference is 0; -1 where the treatment is missing), the level
    keys (the study's ``levels`` order, otherwise sorted after the reference) and ``in_design``
    (False for rows at a level not listed under ``levels``)."""
    spec = study.treatment
    column = str(spec.column)
    if spec.dose:
        return dose_levels(study, frame, labels)
    key = _keys(frame[column])
    found = set(key.dropna().unique())
    column_labels = (labels or {}).get(column)
    reference = next(iter(rule_keys([spec.reference], column_labels, "treatment.reference", column)))
    if spec.levels is not None:
        wanted = [
            next(iter(rule_keys([v], column_labels, "treatment.levels", column))) for v in spec.levels
        ]
        levels = (reference, *[k for k in wanted if k != reference])
    else:
        levels = (reference, *sorted(found - {reference}))
    absent = [level for level in levels if level not in found]
    if absent:
        field = "treatment.reference" if absent[0] == reference else "treatment.levels"
        raise DataError(
            field, f"no row has the level '{absent[0]}' in '{column}'; levels found: {_preview(found)}"
        )
    if len(levels) < 3:
        raise DataError(
            "treatment.reference",
            f"'{column}' has {len(levels)} levels ({', '.join(levels)}); a two-level treatment is "
            "binary: write 'treated: [...]' instead of 'reference'",
        )
    index = {level: j for j, level in enumerate(levels)}
    codes = key.map(index).to_numpy(dtype=float)
    in_design = ~np.isnan(codes) | key.isna().to_numpy()
    return np.nan_to_num(codes, nan=-1.0).astype(np.int64), levels, in_design


def dose_values(
    study: Study, frame: pd.DataFrame, labels: Mapping[str, ValueLabels] | None = None
) -> pd.Series:
    """The dose column as numbers (labelled codes where the column has value labels); a dose
    must be numeric with at least 3 distinct values."""
    column = str(study.treatment.column)
    series = frame[column]
    if labels and column in labels:
        series = labels[column].to_codes(series)
    check_numeric(series, "treatment.column", "a dose")
    values = pd.to_numeric(series).astype(float)
    distinct = values.dropna().nunique()
    if distinct < 3:
        raise DataError(
            "treatment.kind",
            f"'{column}' has {distinct} distinct values; a dose takes 3 or more (two: a binary "
            "treatment with 'treated: [...]')",
        )
    return values


def continuous_dose(values: pd.Series) -> bool:
    """Whether a dose has more than ``MAX_DOSE_LEVELS`` distinct values: then a smoothed curve
    (:mod:`reimpact.estimators.continuous_dose`), otherwise one mean per dose."""
    return bool(values.dropna().nunique() > MAX_DOSE_LEVELS)


def dose_reference(study: Study, values: pd.Series) -> float:
    """The dose the others are compared with: ``treatment.reference``, else the lowest dose (a
    dose with few values) or the median (a continuous dose)."""
    if study.treatment.reference is not None:
        return float(study.treatment.reference)  # type: ignore[arg-type]
    return float(values.median() if continuous_dose(values) else values.min())


def dose_levels(
    study: Study, frame: pd.DataFrame, labels: Mapping[str, ValueLabels] | None = None
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """The levels of a dose with few values (``treatment.kind: dose``), as
    :func:`treatment_levels` gives them: the distinct values in increasing order, the reference
    first. A continuous dose has two: at most the reference dose (0) and above it (1)."""
    column = str(study.treatment.column)
    values = dose_values(study, frame, labels)
    reference = dose_reference(study, values)
    if continuous_dose(values):
        if not values.min() <= reference <= values.max():
            raise DataError(
                "treatment.reference",
                f"the reference dose {reference:g} lies outside the doses in '{column}' "
                f"({values.min():g} to {values.max():g}); name a dose within them",
            )
        split = np.where(values.isna(), -1, (values > reference).astype(np.int64))
        return split, (f"<= {reference:g}", f"> {reference:g}"), np.ones(len(frame), dtype=bool)
    doses = np.unique(values.dropna().to_numpy())
    if reference not in doses:
        keys = ", ".join(value_key(d) for d in doses)
        raise DataError(
            "treatment.reference",
            f"no row has the dose {value_key(reference)} in '{column}'; doses: {keys}",
        )
    order = [reference, *[d for d in doses if d != reference]]
    levels = tuple(value_key(d) for d in order)
    position = values.map({d: j for j, d in enumerate(order)})
    return position.fillna(-1).to_numpy(dtype=np.int64), levels, np.ones(len(frame), dtype=bool)


def _preview(values: set[str]) -> str:
    ordered = sorted(values)
    text = ", ".join(ordered[:6])
    return text + (", ..." if len(ordered) > 6 else "")


def check_numeric(series: pd.Series, field_name: str, role: str) -> None:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return
    converted = pd.to_numeric(series, errors="coerce")
    bad = series[converted.isna() & series.notna()]
    if len(bad):
        raise DataError(
            field_name,
            f"must be numeric for {role}, but holds text such as '{bad.iloc[0]}'; code it as numbers",
        )
