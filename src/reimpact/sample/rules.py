"""The study against the data: every column it names must exist and play one role; then the
population filters and the treatment rule, which decide the rows of the design."""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd

from .._validation import value_key
from ..config.study import Study
from ..exceptions import DataError


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


def population_mask(series: pd.Series, rule: Any, column: str) -> pd.Series:
    if isinstance(rule, list):
        keys = _keys(series)
        wanted = {value_key(v) for v in rule}
        absent = sorted(wanted - set(keys.dropna().unique()))
        if absent:
            raise DataError(
                f"population.{column}",
                f"value '{absent[0]}' does not occur in column '{column}'; check the spelling",
            )
        return keys.isin(wanted).fillna(False).astype(bool)
    check_numeric(series, f"population.{column}", "a {min:, max:} filter")
    values = pd.to_numeric(series)
    keep = values.notna()
    if rule.min is not None:
        keep &= values >= rule.min
    if rule.max is not None:
        keep &= values <= rule.max
    return keep


def treatment_indicator(study: Study, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Apply the treatment rule: (treated 0/1, in_design) where ``in_design`` is False for rows
    that are neither treated nor control under ``control:``. A missing single-column treatment is
    kept (as NaN in ``treated``) for the missing-data policy to count and drop."""
    spec = study.treatment
    treated_keys = {value_key(v) for v in spec.treated}
    control_keys = None if spec.control is None else {value_key(v) for v in spec.control}
    keys = {column: _keys(frame[column]) for column in spec.columns}
    seen = set().union(*(set(k.dropna().unique()) for k in keys.values()))
    absent = sorted(treated_keys - seen)
    if absent and len(absent) == len(treated_keys):
        raise DataError(
            "treatment.treated",
            f"no row has a treated value ({', '.join(absent)}) in {', '.join(spec.columns)}; "
            f"values found: {_preview(seen)}",
        )
    if spec.column is not None:
        key = keys[spec.column]
        distinct = set(key.dropna().unique())
        if control_keys is None and len(distinct) > 2:
            raise DataError(
                "treatment.column",
                f"'{spec.column}' has {len(distinct)} distinct values ({_preview(distinct)}), so "
                "the treatment is not binary; list the comparison values under 'treatment.control'",
            )
        is_treated = key.isin(treated_keys).to_numpy()
        missing = key.isna().to_numpy()
        if control_keys is None:
            in_design = np.ones(len(frame), dtype=bool)
        else:
            in_design = is_treated | key.isin(control_keys).to_numpy() | missing
        treated = np.where(missing, np.nan, is_treated.astype(float))
        return treated, in_design
    stacked = [k for k in keys.values()]
    is_treated = np.logical_or.reduce([k.isin(treated_keys).to_numpy() for k in stacked])
    if control_keys is None:
        in_design = np.ones(len(frame), dtype=bool)
    else:
        is_control = np.logical_or.reduce([k.isin(control_keys).to_numpy() for k in stacked])
        in_design = is_treated | is_control
    return is_treated.astype(float), in_design


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
