"""Values the estimators cannot use: ``invalid_values`` (infinite or absurdly large numbers) and the
missing-data policy (``missing: drop | impute | {method: multiple}``; outcomes are never imputed;
the multiple imputations themselves are drawn by :mod:`.imputation`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config.study import Study
from ..exceptions import DataError
from .rules import subgroup_columns

MISSING_LEVEL = "(missing)"

# beyond this a value is a data-entry or export error (or overflows the estimators), not a measurement
INVALID_LIMIT = 1e12


def _is_categorical(series: pd.Series, column: str, study: Study) -> bool:
    """Listed under ``categorical``, written as ``C(column)`` in a term, or not numeric."""
    as_categories = column in study.categorical or column in study.covariate_terms.categorical
    return as_categories or not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    )


def apply_invalid_values(
    study: Study, frame: pd.DataFrame, treated: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """Apply ``invalid_values: error | drop`` to the numeric outcomes and covariates: an infinite or
    absurdly large value (|x| > INVALID_LIMIT) would turn the estimates into NaN or overflow. A
    missing value (NaN) is not invalid: the missing-data policy handles it."""
    limit = f"{INVALID_LIMIT:.0e}".replace("e+", "e")
    columns = [("outcomes", c) for c in study.outcomes] + [
        ("covariates", c)
        for c in study.covariate_terms.columns
        if not _is_categorical(frame[c], c, study)
    ]
    invalid: dict[str, np.ndarray] = {}
    for where, column in columns:
        values = pd.to_numeric(frame[column]).to_numpy(dtype=float, na_value=np.nan)
        bad = np.abs(values) > INVALID_LIMIT  # True for +-inf, False for NaN
        count = int(bad.sum())
        if count and study.invalid_values == "error":
            rows = "1 row holds" if count == 1 else f"{count} rows hold"
            raise DataError(
                f"{where}: column '{column}'",
                f"{rows} infinite or absurdly large values (|x| > {limit}); fix them or set "
                "'invalid_values: drop'",
            )
        if count:
            invalid[column] = bad
    if not invalid:
        return frame, treated, {}
    drop = np.logical_or.reduce(list(invalid.values()))
    dropped = {column: int(bad.sum()) for column, bad in invalid.items()}
    dropped["total"] = int(drop.sum())
    return frame.loc[~drop], treated[~drop], dropped


def apply_missing_policy(study: Study, frame: pd.DataFrame, treated: np.ndarray):
    """Apply ``missing: drop | impute``; return the frame, treatment, counts and covariate names.

    The covariates here are the data columns the covariate entries use, each once (``age`` for
    ``I(age**2)``): a row missing any of them is dropped, or each is imputed.

    Under multiple imputation the rows are dropped as under ``impute`` (a missing treatment or
    stratum, cluster, score or subgroup column) and the missing covariates are counted in
    ``imputed`` but left missing, for :func:`~reimpact.sample.imputation.impute_chained`."""
    never_imputed = [study.treatment.frame_column]
    frame = frame.copy(deep=False)  # columns are replaced, never changed in place
    indicator = pd.Series(treated, index=frame.index)
    if not study.treatment.multivalued:  # a multi-valued treatment keeps its levels
        frame[study.treatment.label] = treated
    for column in study.outcomes:
        frame[column] = pd.to_numeric(frame[column])
    covariates = study.covariate_terms.columns
    extra = [
        c
        for c in (
            *study.exact,
            study.cluster,
            study.weights,
            study.propensity.column,
            *subgroup_columns(study),
        )
        if c
    ]
    extra = list(dict.fromkeys(extra))
    categorical = [c for c in covariates if _is_categorical(frame[c], c, study)]
    dropped: dict[str, int] = {}
    imputed: dict[str, int] = {}
    if study.missing == "drop":
        check = never_imputed + covariates + [c for c in extra if c not in covariates]
    else:
        check = never_imputed + [c for c in extra if c not in covariates]
        for column in covariates:
            missing = frame[column].isna()
            count = int(missing.sum())
            if not count:
                continue
            imputed[column] = count
            if study.missing != "impute":  # multiple imputation: drawn later (impute_chained)
                continue
            if column in categorical:
                frame[column] = frame[column].astype(object).where(~missing, MISSING_LEVEL)
            else:
                frame[f"{column}_missing"] = missing.astype(int)
                numeric = pd.to_numeric(frame[column])
                frame[column] = numeric.fillna(numeric.mean())
                covariates.append(f"{column}_missing")
    isna = frame[check].isna()
    for column in check:
        count = int(isna[column].sum())
        if count:
            dropped[column] = count
    keep = ~isna.any(axis=1)
    if not keep.all():
        dropped["total"] = int((~keep).sum())
    frame = frame.loc[keep]
    treated = indicator.loc[frame.index].to_numpy().astype(int)
    missing_outcome = {c: int(frame[c].isna().sum()) for c in study.outcomes if frame[c].isna().any()}
    return frame, treated, dropped, imputed, covariates, categorical, missing_outcome
