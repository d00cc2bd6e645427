"""The analysis sample: :func:`prepare_sample` runs the steps in order (read, score, check, filter,
treatment rule, invalid values, missing data) and counts what each kept in a :class:`SampleFlow`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.study import Study
from ..exceptions import DataError
from ..io import value_labels
from ..memory import release_unused_memory
from ..scoring import score
from .imputation import impute_chained
from .missing import apply_invalid_values, apply_missing_policy
from .rounds import first_round_covariates
from .rules import (
    check_columns,
    check_numeric,
    check_roles,
    population_mask,
    study_columns,
    treatment_indicator,
)
from .source import DataSource, read_data
from .weights import sampling_weights


@dataclass(frozen=True)
class SampleFlow:
    """How many rows each step kept (the sample flow of the report)."""

    rows_read: int
    filtered_out: dict[str, int]
    excluded_by_treatment_rule: int
    dropped_missing: dict[str, int]
    imputed: dict[str, int]
    analysed: int
    treated: int
    control: int
    missing_outcome: dict[str, int] = field(default_factory=dict)
    dropped_invalid: dict[str, int] = field(default_factory=dict)
    # long data (panel): per round, its rows, units, treated and control rows
    rounds: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AnalysisSample:
    """The analysis sample: the rows kept (original index) with the columns the study names
    (:func:`~reimpact.sample.rules.study_columns`), the 0/1 treatment and the flow.

    Under ``missing: {method: multiple}``, ``frame`` keeps the missing covariates and
    ``imputations`` holds the ``m`` imputed copies of it (empty otherwise)."""

    frame: pd.DataFrame
    treatment: np.ndarray
    flow: SampleFlow
    source: DataSource
    covariate_columns: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    imputations: tuple[pd.DataFrame, ...] = ()


def prepare_sample(study: Study, data_path: str | Path | None = None) -> AnalysisSample:
    """Read, score, check, filter and apply the treatment rule and the missing-data policy.

    The steps run in this order: read the data (the study's source, or ``data_path``); score raw
    survey answers when the study has a ``scoring`` section; check that every column the study
    names exists and plays one role; apply the ``population`` filters, then the treatment rule
    (with ``treatment.control``, rows that are neither treated nor control are excluded); apply
    ``invalid_values`` and the ``missing`` policy (under ``{method: multiple}``, missing
    covariates are then imputed ``m`` times, :func:`~reimpact.sample.imputation.impute_chained`).
    What each step kept is counted in the sample's ``flow``.

    Parameters
    ----------
    study : Study
        The validated study.
    data_path : str or Path or None
        A data file (csv, parquet, xlsx, sav, zsav or dta) read instead of the study's ``data`` section,
        e.g. the same study on another export; its first sheet for an xlsx. None reads the
        study's own source.

    Returns
    -------
    AnalysisSample
        The rows kept (``frame``, with the original index and the columns the study names),
        the 0/1 ``treatment`` of each, the sample ``flow``, the data ``source`` (description and
        SHA-256 of the file), and the covariate columns and categorical ones after the
        missing-data policy.

    Raises
    ------
    DataError
        When the file cannot be found or read, a column the study names is missing or plays two
        roles, a filter value does not occur, the treatment is not binary, an outcome is not
        numeric or holds invalid values (``invalid_values: error``), or fewer than 2 treated or 2
        control units remain.
    SchemeError
        When the study scores raw answers and the scheme does not fit the data.
    """
    raw, source = read_data(study, data_path)
    sample = prepare_frame(study, raw, source)
    if source.cohort is not None:  # the truth of the rows kept (1/3 of a million returnees)
        kept = replace(source, cohort=source.cohort.restricted(sample.frame.index))
        sample = replace(sample, source=kept)
    del raw, source  # the rows, columns and truths not kept, before handing their memory back
    release_unused_memory()
    return sample


def prepare_frame(study: Study, raw: pd.DataFrame, source: DataSource) -> AnalysisSample:
    """The preparation steps of :func:`prepare_sample` on a frame already read.

    Columns read with value labels (:func:`~reimpact.io.value_labels`) are categories: filters
    and the treatment rule accept their labels or codes, and an outcome is analysed on its codes.
    """
    check_roles(study)
    labels = value_labels(raw)
    frame = raw
    if study.scoring is not None:
        frame = score(frame, study.scoring.scheme, study.scoring.min_answered)
    check_columns(study, frame)
    rows_read = len(frame)
    frame = frame[study_columns(study, frame)]  # without copying the rows (copy on write)

    filtered_out: dict[str, int] = {}
    for column, rule in study.population.items():
        keep = population_mask(frame[column], rule, column, labels.get(column))
        filtered_out[column] = int((~keep).sum())
        frame = frame.loc[keep]

    treated, in_design = treatment_indicator(study, frame, labels)
    excluded = int((~in_design).sum())
    frame, treated = frame.loc[in_design], treated[in_design]

    for column in study.outcomes:
        if column in labels:  # a labelled scale (1 = "very dissatisfied" ...) on its codes
            frame[column] = labels[column].to_codes(frame[column])
        check_numeric(frame[column], f"outcomes: column '{column}'", "an outcome")
    panel = study.panel
    if panel is not None and panel.covariates_from == "first":
        columns = study.covariate_terms.columns
        frame = first_round_covariates(frame, panel.id, panel.round, list(columns))
    frame, treated, dropped_invalid = apply_invalid_values(study, frame, treated)

    frame, treated, dropped, imputed, covariate_columns, categorical, missing_outcome = (
        apply_missing_policy(study, frame, treated)
    )
    weights = sampling_weights(study, frame)
    if weights is not None and study.weights is not None:
        frame = frame.assign(**{str(study.weights): weights})
    n_treated = int(treated.sum())
    n_control = int(len(treated) - n_treated)
    for label, count in (("treated", n_treated), ("control", n_control)):
        if count < 2:
            raise DataError(
                "treatment",
                f"only {count} {label} unit(s) remain after filtering and missing values; "
                "at least 2 per group are needed: widen the population filter or check the "
                "treatment rule",
            )
    flow = SampleFlow(
        rows_read=rows_read,
        filtered_out=filtered_out,
        excluded_by_treatment_rule=excluded,
        dropped_missing=dropped,
        imputed=imputed,
        analysed=len(frame),
        treated=n_treated,
        control=n_control,
        missing_outcome=missing_outcome,
        dropped_invalid=dropped_invalid,
    )
    imputations: tuple[pd.DataFrame, ...] = ()
    if not isinstance(study.missing, str) and imputed:  # nothing missing: one analysis
        spec = study.missing
        predictors = [study.treatment.frame_column, *study.outcomes]
        imputations = impute_chained(
            frame, covariate_columns, categorical, predictors, spec.m, spec.max_iter, study.seed
        )
    return AnalysisSample(
        frame, treated.astype(np.int8), flow, source, covariate_columns, categorical, imputations
    )
