"""Loading the data a study names and preparing the analysis sample.

The steps, in order, each counted in a :class:`SampleFlow`: read the file (csv, parquet, xlsx, Stata
.dta) or simulate the built-in cohort; score raw survey answers when the study asks; check that every
column the study names exists; apply the population filters; apply the treatment rule; apply
``invalid_values`` to infinite or absurdly large values (|x| > 1e12) in a numeric outcome or covariate
(``error``: refuse; ``drop``: delete the rows, counted in ``dropped_invalid``); apply the
missing-data policy (``drop``: rows missing the treatment or a covariate are deleted; ``impute``:
covariates only, numeric by the mean plus a missing indicator, categorical as a level
``"(missing)"``). Outcomes are never imputed and never delete a row for being missing: a row without
an outcome is left out of that outcome's analyses only, and counted in ``missing_outcome``. Input
files are only read.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import numpy as np
import pandas as pd

from ._validation import value_key
from .datasets import SimulatedCohort, simulate_returnees
from .exceptions import DataError
from .scoring import score
from .study import Study

MISSING_LEVEL = "(missing)"
DEFAULT_SIMULATED_N = 20000
# beyond this a value is a data-entry or export error (or overflows the estimators), not a measurement
INVALID_LIMIT = 1e12
# what the readers raise on a damaged, truncated or mislabelled file (read from memory, so an
# OSError here is the reader's, not the disk's); DataError is a ValueError and is re-raised first
_UNREADABLE = (
    ValueError, OSError, KeyError, EOFError, struct.error, zipfile.BadZipFile, zlib.error, ParseError
)  # fmt: skip


@dataclass(frozen=True)
class DataSource:
    """What was read: a description, the file's SHA-256 (None for simulated data), and, for the
    simulated cohort, the cohort itself (it knows the true effects)."""

    description: str
    sha256: str | None
    cohort: SimulatedCohort | None = None


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AnalysisSample:
    """The analysis sample: the rows kept (original index), the 0/1 treatment and the flow."""

    frame: pd.DataFrame
    treatment: np.ndarray
    flow: SampleFlow
    source: DataSource
    covariate_columns: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)


def read_data(study: Study, data_path: str | Path | None = None) -> tuple[pd.DataFrame, DataSource]:
    """Read the study's data (or ``data_path``, which replaces the study's data source)."""
    if data_path is None and study.data.builtin is not None:
        n = study.data.n or DEFAULT_SIMULATED_N
        seed = study.data.seed if study.data.seed is not None else 0
        cohort = simulate_returnees(n=n, seed=seed)
        return cohort.data, DataSource(f"simulated-returnees (n={n}, seed={seed})", None, cohort)
    path = _resolve(Path(data_path) if data_path is not None else Path(study.data.path), study)
    frame = read_table(path, sheet=study.data.sheet if data_path is None else None)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return frame, DataSource(str(path), digest)


def _resolve(path: Path, study: Study) -> Path:
    candidates = [path]
    if not path.is_absolute() and study.source is not None:
        candidates.append(study.source.parent / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = " or ".join(str(c) for c in candidates)
    raise DataError("data.path", f"file not found (looked for {tried}); check the path")


def read_table(path: str | Path, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a csv, parquet, xlsx or Stata .dta file (value labels become categories' text).

    A csv must be UTF-8 (with or without a byte-order mark): any other encoding is refused rather
    than guessed, because a wrong guess silently garbles text values (country names, answers) and
    with them the filters and the categories. A damaged, truncated or empty file, or a header that
    repeats a column name (which pandas would silently rename to ``name.1``), is a :class:`DataError`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise DataError(str(path), "unsupported file type; use .csv, .parquet, .xlsx or .dta")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(
            str(path), f"could not be opened ({exc.strerror}); check the path and its permissions"
        ) from None
    if not data:
        raise DataError(str(path), "the file is empty (0 bytes); export the data again")
    try:
        frame = _READERS[suffix](path, data, sheet)
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
    return frame


def _read_csv(path: Path, data: bytes, sheet: str | int | None) -> pd.DataFrame:
    text = _utf8_text(path, data)
    _check_header(path, pd.read_csv(io.StringIO(text), header=None, nrows=1, dtype=str).iloc[0])
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
        name = _sheet_name(path, book.sheet_names, sheet)
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


def _read_dta(path: Path, data: bytes, sheet: str | int | None) -> pd.DataFrame:
    try:
        frame = pd.read_stata(io.BytesIO(data))
    except ValueError as exc:
        # Read without the labels: a damaged file fails again (and is reported as damaged); a sound
        # one failed on its value labels, e.g. two codes of a variable sharing one label.
        pd.read_stata(io.BytesIO(data), convert_categoricals=False)
        raise DataError(
            str(path),
            f"its value labels cannot become text ({_detail(exc)}); give each code of a variable "
            "its own label in Stata",
        ) from None
    _check_header(path, frame.columns)
    # Stata value labels arrive as categoricals: plain text keeps comparisons simple.
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


_READERS = {".csv": _read_csv, ".parquet": _read_parquet, ".xlsx": _read_xlsx, ".dta": _read_dta}


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


def prepare_sample(study: Study, data_path: str | Path | None = None) -> AnalysisSample:
    """Read, score, check, filter and apply the treatment rule and the missing-data policy."""
    raw, source = read_data(study, data_path)
    return prepare_frame(study, raw, source)


def prepare_frame(study: Study, raw: pd.DataFrame, source: DataSource) -> AnalysisSample:
    """The preparation steps of :func:`prepare_sample` on a frame already read."""
    _check_roles(study)
    frame = raw
    if study.scoring is not None:
        frame = score(frame, study.scoring.scheme, study.scoring.min_answered)
    _check_columns(study, frame)
    rows_read = len(frame)

    filtered_out: dict[str, int] = {}
    for column, rule in study.population.items():
        keep = _population_mask(frame[column], rule, column)
        filtered_out[column] = int((~keep).sum())
        frame = frame.loc[keep]

    treated, in_design = treatment_indicator(study, frame)
    excluded = int((~in_design).sum())
    frame, treated = frame.loc[in_design], treated[in_design]

    for column in study.outcomes:
        _check_numeric(frame[column], f"outcomes: column '{column}'", "an outcome")
    frame, treated, dropped_invalid = _invalid_values(study, frame, treated)

    frame, treated, dropped, imputed, covariate_columns, categorical, missing_outcome = _missing_policy(
        study, frame, treated
    )
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
    return AnalysisSample(frame, treated.astype(np.int8), flow, source, covariate_columns, categorical)


def _roles(study: Study) -> list[tuple[str, str]]:
    """Every (data column, field naming it) pair of the study, a column once per field."""
    roles = [(column, "population") for column in study.population]
    roles += [(column, "treatment") for column in study.treatment.columns]
    for key in ("outcomes", "covariates", "exact"):
        roles += [(column, key) for column in getattr(study, key)]
    if study.cluster is not None:
        roles.append((study.cluster, "cluster"))
    if study.propensity.column is not None:
        roles.append((study.propensity.column, "propensity.column"))
    roles += [(column, "sensitivity.heterogeneity.by") for column in _subgroup_columns(study)]
    return roles


def _referenced_columns(study: Study) -> dict[str, str]:
    """Every data column the study names, with the first field that names it."""
    named: dict[str, str] = {}
    for column, where in _roles(study):
        named.setdefault(column, where)
    return named


def _check_roles(study: Study) -> None:
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


def _subgroup_columns(study: Study) -> list[str]:
    spec = study.sensitivity
    if spec is None or spec.heterogeneity is None:
        return []
    return list(spec.heterogeneity.by)


def _check_columns(study: Study, frame: pd.DataFrame) -> None:
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


def _population_mask(series: pd.Series, rule: Any, column: str) -> pd.Series:
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
    _check_numeric(series, f"population.{column}", "a {min:, max:} filter")
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


def _check_numeric(series: pd.Series, field_name: str, role: str) -> None:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return
    converted = pd.to_numeric(series, errors="coerce")
    bad = series[converted.isna() & series.notna()]
    if len(bad):
        raise DataError(
            field_name,
            f"must be numeric for {role}, but holds text such as '{bad.iloc[0]}'; code it as numbers",
        )


def _is_categorical(series: pd.Series, column: str, study: Study) -> bool:
    return column in study.categorical or not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    )


def _invalid_values(
    study: Study, frame: pd.DataFrame, treated: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """Apply ``invalid_values: error | drop`` to the numeric outcomes and covariates: an infinite or
    absurdly large value (|x| > INVALID_LIMIT) would turn the estimates into NaN or overflow. A
    missing value (NaN) is not invalid: the missing-data policy handles it."""
    limit = f"{INVALID_LIMIT:.0e}".replace("e+", "e")
    columns = [("outcomes", c) for c in study.outcomes] + [
        ("covariates", c) for c in study.covariates if not _is_categorical(frame[c], c, study)
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


def _missing_policy(study: Study, frame: pd.DataFrame, treated: np.ndarray):
    """Apply ``missing: drop | impute``; return the frame, treatment, counts and covariate names."""
    never_imputed = [study.treatment.label]
    frame = frame.copy()
    frame[study.treatment.label] = treated
    for column in study.outcomes:
        frame[column] = pd.to_numeric(frame[column])
    covariates = list(study.covariates)
    extra = [
        c for c in (*study.exact, study.cluster, study.propensity.column, *_subgroup_columns(study)) if c
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
    treated = frame[study.treatment.label].to_numpy().astype(int)
    missing_outcome = {c: int(frame[c].isna().sum()) for c in study.outcomes if frame[c].isna().any()}
    return frame, treated, dropped, imputed, covariates, categorical, missing_outcome


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a frame as csv, parquet, xlsx or Stata .dta (by the file's suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".xlsx", ".dta"):
        raise DataError(str(path), "unsupported output type; use .csv, .parquet, .xlsx or .dta")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        out = frame.copy()
        for column in out.columns:
            if not pd.api.types.is_numeric_dtype(out[column]):
                out[column] = out[column].astype(object).where(out[column].notna(), "").astype(str)
        out.to_stata(path, write_index=False, version=118)
    return path
