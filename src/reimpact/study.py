"""The study file: what to estimate, on which data, with which methods.

A study file is YAML read with ``yaml.safe_load`` and validated into a frozen :class:`Study`. Every
section is a strict model: an unknown key, a wrong type or an invalid choice raises a
:class:`~reimpact.exceptions.StudyError` whose one-line message names the field and the valid choices.
Checks that need the data (do the columns exist? is the treatment binary?) happen in
:mod:`reimpact.sample` when the data are loaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from ._validation import Section, default_or_off, first_message, location, show
from .exceptions import StudyError
from .registry import METHODS, methods_model

Estimand = Literal["ATT", "ATE", "ATC"]
Scalar = str | int | float | bool

DATA_SUFFIXES = (".csv", ".parquet", ".xlsx", ".dta")


def _scalars(values: Any, what: str) -> list[Scalar]:
    """Accept one scalar or a list of scalars (YAML ``treated: 1`` or ``treated: [1, yes]``)."""
    if not isinstance(values, list):
        values = [values]
    if not values:
        raise ValueError(f"{what} must list at least one value")
    for value in values:
        if not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"{what} must be plain values (text or numbers), got {show(value)}")
    return values


class DataSpec(Section):
    """Where the data come from: a built-in simulated cohort or a file (csv, parquet, xlsx, dta).

    A relative ``path`` is looked up from the working directory, then from the study file's folder.
    """

    builtin: Literal["simulated-returnees"] | None = None
    path: str | None = None
    n: int | None = Field(default=None, ge=50, le=5_000_000)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    sheet: str | int | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if (self.builtin is None) == (self.path is None):
            raise ValueError("give exactly one of 'builtin: simulated-returnees' or 'path: <file>'")
        if self.path is not None:
            if self.n is not None or self.seed is not None:
                raise ValueError("'n' and 'seed' apply only to 'builtin' data; remove them")
            if Path(self.path).suffix.lower() not in DATA_SUFFIXES:
                raise ValueError(
                    f"path must end in one of {', '.join(DATA_SUFFIXES)}, got '{self.path}'"
                )
        if self.sheet is not None and (self.path is None or not self.path.endswith(".xlsx")):
            raise ValueError("'sheet' applies only to an .xlsx path; remove it")
        return self


class RangeFilter(Section):
    """Keep rows whose value lies in ``[min, max]`` (either bound may be left out)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> RangeFilter:
        if self.min is None and self.max is None:
            raise ValueError("a range filter needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        return self


PopulationFilter = RangeFilter | list[Scalar]


class TreatmentSpec(Section):
    """The binary treatment, read from one column or derived from assistance records.

    * ``column`` + ``treated``: a unit is treated when the column takes one of the ``treated`` values.
    * ``any_of`` + ``treated``: a unit is treated when *any* of the listed columns takes one of the
      ``treated`` values, e.g. "at least one activity delivered by referral" is
      ``any_of: [economic_delivery, social_delivery, psychosocial_delivery]``, ``treated: [referral]``.

    Without ``control`` every other unit is a control. With ``control``, a unit is a control only when
    it is not treated and (one of) its column(s) takes a ``control`` value; the remaining units are
    excluded and counted ("direct assistance only" is ``control: [direct]``). ``name`` is the name the
    derived treatment gets in outputs (default: the column name, or ``treatment``).
    """

    column: str | None = None
    any_of: list[str] | None = None
    treated: list[Scalar] = Field(default_factory=lambda: [1])
    control: list[Scalar] | None = None
    name: str | None = None

    @field_validator("treated", mode="before")
    @classmethod
    def _treated_values(cls, value: Any) -> list[Scalar]:
        return _scalars(value, "treated")

    @field_validator("control", mode="before")
    @classmethod
    def _control_values(cls, value: Any) -> list[Scalar] | None:
        return None if value is None else _scalars(value, "control")

    @model_validator(mode="after")
    def _one_rule(self) -> TreatmentSpec:
        if (self.column is None) == (self.any_of is None):
            raise ValueError("give exactly one of 'column' or 'any_of'")
        if self.any_of is not None and not self.any_of:
            raise ValueError("'any_of' must list at least one column")
        if self.control is not None and set(map(str, self.control)) & set(map(str, self.treated)):
            raise ValueError("a value cannot be both in 'treated' and in 'control'")
        return self

    @property
    def label(self) -> str:
        """The treatment's name in outputs."""
        return self.name or self.column or "treatment"

    @property
    def columns(self) -> list[str]:
        """The data columns the rule reads."""
        return [self.column] if self.column is not None else list(self.any_of or [])


class PropensitySpec(Section):
    """The propensity score: a fitted model or a column that holds a given score.

    ``clip`` bounds the score wherever it is inverted (weights, AIPW), on the side the estimand
    needs: for the ATT the controls' scores above ``1 - clip``, for the ATC the treated units'
    below ``clip``, for the ATE both, for overlap weights never. ``trim`` drops units whose score
    lies outside ``[trim, 1 - trim]`` before estimation (Crump et al. 2009). Both are counted and
    reported.

    ``separation`` decides what happens to a categorical level held by treated units only or by
    controls only (no comparison is possible there, and the logistic fit diverges): ``exclude``
    (default) leaves its units out of the comparison and says what that does to the estimand;
    ``merge`` first pools the levels held by fewer than ``merge_below`` units into "(other)";
    ``penalise`` fits Firth's penalised logistic model instead; ``error`` refuses.
    """

    model: Literal["logistic", "gradient_boosting"] | None = None
    column: str | None = None
    clip: float = Field(default=0.01, ge=0.0, lt=0.5)
    trim: float | None = Field(default=None, gt=0.0, lt=0.5)
    separation: Literal["exclude", "merge", "penalise", "error"] = "exclude"
    merge_below: int = Field(default=10, ge=2, le=1_000_000)

    @model_validator(mode="after")
    def _one_source(self) -> PropensitySpec:
        if self.model is not None and self.column is not None:
            raise ValueError("give either 'model' or 'column', not both")
        return self

    @property
    def kind(self) -> str:
        """``'column'`` for a given score, otherwise the model name (default logistic)."""
        return "column" if self.column is not None else (self.model or "logistic")


class RosenbaumSpec(Section):
    """Rosenbaum bounds for 1:1 matched pairs over Gamma = 1, 1 + step, ..., gamma_max."""

    gamma_max: float = Field(default=3.0, gt=1.0, le=100.0)
    step: float = Field(default=0.1, gt=0.0, le=10.0)
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)

    @model_validator(mode="after")
    def _grid(self) -> RosenbaumSpec:
        steps = (self.gamma_max - 1.0) / self.step
        if steps > 1000:
            raise ValueError(
                f"gamma_max and step give {steps:,.0f} values of Gamma; at most 1,000: raise 'step'"
            )
        return self


class OmittedVariableSpec(Section):
    """Cinelli-Hazlett bounds: ``benchmarks`` are numeric covariates whose strength (times each
    ``kd``) bounds a hidden confounder; ``q`` the share of the estimate to explain away."""

    benchmarks: list[str] = Field(default_factory=list)
    kd: list[float] = Field(default_factory=lambda: [1.0, 2.0, 3.0])
    q: float = Field(default=1.0, gt=0.0, le=1.0)
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)

    @field_validator("kd")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if not value or any(k <= 0 for k in value):
            raise ValueError("list positive multiples, e.g. [1, 2, 3]")
        return value


class RefutationSpec(Section):
    """DoWhy refuters (placebo treatment, random common cause, data subset, unobserved common cause)
    run on reimpact's own estimators, ``simulations`` times each, ``n_jobs`` in parallel."""

    methods: list[Literal["psm", "aipw"]] = Field(default_factory=lambda: ["psm", "aipw"])
    outcomes: list[str] | None = None
    simulations: int = Field(default=20, ge=2, le=1000)
    n_jobs: int = Field(default=1, ge=1, le=64)
    subset_fraction: float = Field(default=0.8, gt=0.0, lt=1.0)
    treatment_strength: float = Field(default=0.02, gt=0.0, lt=0.5)
    outcome_strength: float = Field(default=0.1, gt=0.0, le=10.0)


class HeterogeneitySpec(Section):
    """Subgroup effects (AIPW within each level of the ``by`` columns) and EconML CATE summaries."""

    by: list[str] = Field(min_length=1)
    cate: bool = True


class SensitivitySpec(Section):
    """Sensitivity checks. E-values, Rosenbaum bounds and omitted-variable bounds run by default;
    refutations and subgroups run when their section is given; ``false`` turns a check off."""

    evalue: bool = True
    rosenbaum: RosenbaumSpec | None = Field(default_factory=RosenbaumSpec)
    omitted_variable: OmittedVariableSpec | None = Field(default_factory=OmittedVariableSpec)
    refutations: RefutationSpec | None = None
    heterogeneity: HeterogeneitySpec | None = None

    @field_validator("rosenbaum", "omitted_variable", "refutations", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        return default_or_off(value)


class ReportSpec(Section):
    """Report settings: ``min_cell_size`` suppresses any count of fewer returnees (and whatever
    would recover it by subtraction); ``rounding`` rounds every published count to a multiple of
    that base (e.g. 5). See :mod:`reimpact.disclosure`."""

    min_cell_size: int = Field(default=10, ge=1, le=10_000)
    rounding: int | None = Field(default=None, ge=2, le=1000)


class ScoringSpec(Section):
    """Score raw survey answers before the analysis with a scheme file (or the shipped one)."""

    scheme: str = "illustrative"
    min_answered: float | None = Field(default=None, gt=0.0, le=1.0)


class Study(Section):
    """A validated study file. Build it with :func:`load_study` or :meth:`Study.from_dict`."""

    name: str
    title: str | None = None
    data: DataSpec
    population: dict[str, PopulationFilter] = Field(default_factory=dict)
    treatment: TreatmentSpec
    outcomes: list[str] = Field(min_length=1)
    covariates: list[str] = Field(min_length=1)
    categorical: list[str] = Field(default_factory=list)
    exact: list[str] = Field(default_factory=list)
    cluster: str | None = None
    estimand: Estimand = "ATT"
    missing: Literal["drop", "impute"] = "drop"
    # infinite or absurdly large values in an outcome or covariate: refuse (default) or drop the rows
    invalid_values: Literal["error", "drop"] = "error"
    propensity: PropensitySpec = Field(default_factory=PropensitySpec)
    # validated against the registry of methods (reimpact.registry.METHODS): default psm
    methods: Any = Field(default=None, validate_default=True)
    scoring: ScoringSpec | None = None
    sensitivity: SensitivitySpec | None = None
    report: ReportSpec = Field(default_factory=ReportSpec)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)

    _source: Path | None = PrivateAttr(default=None)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", value):
            raise ValueError(
                "use at most 100 letters, digits, '-', '_' or '.' (it names output files), "
                f"got {show(value)}"
            )
        return value

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        model = methods_model()
        if isinstance(value, model):
            return value
        return model.model_validate({"psm": {}} if value is None else value)

    @field_validator("population", mode="before")
    @classmethod
    def _population(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("must map columns to allowed values or to {min:, max:}")
        parsed: dict[str, PopulationFilter] = {}
        for column, rule in value.items():
            if isinstance(rule, dict):
                try:
                    parsed[column] = RangeFilter.model_validate(rule)
                except ValidationError as exc:
                    raise ValueError(f"{column}: {first_message(exc)}") from None
            else:
                try:
                    parsed[column] = _scalars(rule, f"{column}")
                except ValueError as exc:
                    raise ValueError(f"{exc}; give a list of allowed values or {{min:, max:}}") from None
        return parsed

    @field_validator("outcomes", "covariates", "categorical", "exact", mode="before")
    @classmethod
    def _column_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            seen: set[str] = set()
            for item in value:
                if not isinstance(item, str):
                    raise ValueError(f"must list column names, got {show(item)}")
                if item in seen:
                    raise ValueError(f"column '{item}' is listed twice")
                seen.add(item)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Study:
        treatment_columns = set(self.treatment.columns)
        for column in self.outcomes:
            if column in treatment_columns:
                raise ValueError(f"outcomes: '{column}' is also the treatment; remove it")
            if column in self.covariates:
                raise ValueError(
                    f"outcomes: '{column}' is also a covariate; an outcome cannot adjust for itself"
                )
        for column in self.covariates:
            if column in treatment_columns:
                raise ValueError(f"covariates: '{column}' is the treatment; remove it")
        for column in self.categorical:
            if column not in self.covariates:
                raise ValueError(f"categorical: '{column}' is not in covariates; add it there first")
        self._check_sensitivity()
        for name in self.methods.names:
            estimator = METHODS[name].estimator
            spec = getattr(self.methods, name)
            problem = estimator.option_problem(spec.model_dump(), self.estimand, self.cluster)
            if problem is not None:
                raise ValueError(f"methods.{name}.{problem[0]}: {problem[1]}")
        return self

    def _check_sensitivity(self) -> None:
        spec = self.sensitivity
        if spec is None:
            return
        if spec.omitted_variable is not None:
            for name in spec.omitted_variable.benchmarks:
                if name not in self.covariates or name in self.categorical:
                    raise ValueError(
                        f"sensitivity.omitted_variable.benchmarks: '{name}' must be a numeric "
                        "covariate of the study"
                    )
        if spec.refutations is not None:
            for method in spec.refutations.methods:
                if getattr(self.methods, method) is None:
                    raise ValueError(
                        f"sensitivity.refutations.methods: '{method}' is not among the study's "
                        f"methods ({', '.join(self.methods.names)})"
                    )
            for outcome in spec.refutations.outcomes or []:
                if outcome not in self.outcomes:
                    raise ValueError(
                        f"sensitivity.refutations.outcomes: '{outcome}' is not an outcome of the study"
                    )

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: Any, source: str | Path | None = None) -> Study:
        """Validate a parsed study file; errors become one-line :class:`StudyError`."""
        label = str(source) if source is not None else "study"
        if not isinstance(raw, dict):
            raise StudyError(label, "the study file must be a YAML mapping (key: value lines)")
        try:
            study = cls.model_validate(raw)
        except ValidationError as exc:
            raise StudyError(f"{label}: {location(exc)}", first_message(exc)) from None
        study._source = Path(source) if source is not None else None
        return study

    @property
    def source(self) -> Path | None:
        """The study file this study was read from, if any."""
        return self._source

    @property
    def display_title(self) -> str:
        return self.title or self.name


MAX_STUDY_BYTES = 1_000_000
MAX_VALUES = 100_000  # values in a study file once YAML aliases are expanded
MAX_DEPTH = 20


def load_study(path: str | Path) -> Study:
    """Read and validate a study file (YAML), or the ``study`` section of a ``results.json``
    (which holds the study with every default filled in, so that a run can be repeated).

    Limits are checked before anything else, so that a hostile file fails fast with one line:
    at most 1 MB, UTF-8 text, nesting at most 20 levels deep and at most 100,000 values once
    YAML aliases are expanded (an "alias bomb" of a few hundred bytes can stand for millions).
    """
    path = Path(path)
    if not path.is_file():
        raise StudyError(str(path), "study file not found; check the path")
    size = path.stat().st_size
    if size > MAX_STUDY_BYTES:
        raise StudyError(str(path), f"is {size:,} bytes; a study file holds at most 1 MB")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StudyError(
            str(path),
            f"is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position "
            f"{exc.start}); save it as UTF-8",
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise StudyError(str(path), f"not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise StudyError(str(path), f"is nested too deeply; at most {MAX_DEPTH} levels") from None
    _check_size(raw, str(path))
    if isinstance(raw, dict) and "reimpact_version" in raw and isinstance(raw.get("study"), dict):
        raw = raw["study"]  # a results.json: run its resolved study again
    return Study.from_dict(raw, source=path)


def _check_size(raw: Any, label: str) -> None:
    """Refuse a parsed file nested more than ``MAX_DEPTH`` levels or holding more than
    ``MAX_VALUES`` values with aliases expanded (counted once per shared node, so it is fast)."""
    sizes: dict[int, int] = {}

    def count(value: Any, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise StudyError(label, f"is nested more than {MAX_DEPTH} levels deep; flatten it")
        if not isinstance(value, (dict, list)):
            return 1
        if id(value) in sizes:
            return sizes[id(value)]
        children = value.values() if isinstance(value, dict) else value
        total = 1
        for child in children:
            total += count(child, depth + 1)
            if total > MAX_VALUES:
                raise StudyError(
                    label,
                    f"expands to more than {MAX_VALUES:,} values (YAML aliases repeat their "
                    "anchors); write the values out",
                )
        sizes[id(value)] = total
        return total

    count(raw, 0)
