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

from .._validation import Section, first_message, location, show
from ..estimators import Estimand
from ..exceptions import StudyError
from ..formula import BalanceSpec, CovariateTerms, parse_covariates
from ..registry import METHODS, methods_model
from .consistency import check_sections, multivalued_defaults
from .panel import PanelSpec
from .sections import (
    DataSpec,
    MultipleImputationSpec,
    PopulationFilter,
    PropensitySpec,
    RangeFilter,
    ReportSpec,
    ScoringSpec,
    TreatmentSpec,
    missing_policy,
    scalars,
)
from .sensitivity import SensitivitySpec


class Study(Section):
    """A validated study file: what to estimate, on which data, with which methods.

    Build it with :func:`load_study` or :meth:`Study.from_dict`. Every section is a strict, frozen
    model: an unknown key (with a "did you mean" for a near miss), a wrong type or an invalid
    choice is refused with a one-line :class:`~reimpact.exceptions.StudyError` that names the
    field, as is a column given two roles the study file alone shows to clash (an outcome that is
    also a covariate, say). Checks that need the data happen in :func:`~reimpact.prepare_sample`.
    ``Study.model_validate`` validates too, but raises pydantic's ``ValidationError`` instead.

    Attributes
    ----------
    name : str
        The study's name: at most 100 letters, digits, ``-``, ``_`` or ``.`` (it names output
        files).
    title : str or None
        The title of the report (default: ``name``).
    data : DataSpec
        Where the data come from: ``builtin: simulated-returnees`` (with ``n`` and ``seed``) or a
        ``path`` to a csv, parquet, xlsx, SPSS sav/zsav or Stata dta file (with ``sheet`` for
        xlsx, ``kobo`` for a KoBoToolbox/ODK export).
    population : dict of str to RangeFilter or list
        Row filters applied first: per column, the allowed values or a ``{min:, max:}`` range.
    treatment : TreatmentSpec
        The binary treatment: a ``column`` (or ``any_of`` several) with its ``treated`` values
        (default ``[1]``), optionally the ``control`` values, and the ``name`` used in outputs.
    outcomes : list of str
        The outcome columns (at least one); none may also be the treatment or a covariate.
    primary_outcome : str or None
        The outcome the report's summary leads with (default: the first outcome).
    unit_label : str
        What the units are called in the report and warnings (default ``units``; the shipped
        studies say ``returnees``).
    covariates : list of str
        The covariates (at least one): columns (text ones are categorical) or terms such as
        ``I(age**2)``, ``age:sex`` or ``C(country)`` (:mod:`reimpact.formula`).
    categorical : list of str
        Numeric columns of the covariates to treat as categories.
    exact : list of str
        Columns to match on exactly (matching happens within their strata).
    cluster : str or None
        A column of cluster ids for cluster-robust standard errors.
    weights : str or None
        A column of sampling (survey) weights: every step is weighted so that the effect describes
        the population the weights represent (DuGoff, Schuler & Stuart 2014; see the README).
        Weights must be positive; rows without one are dropped and counted.
    estimand : {"ATT", "ATE", "ATC"}
        The effect to estimate (default ``"ATT"``; for a multi-valued treatment, ``treatment.reference``,
        the ATE, the only one it takes, and the methods default to ``ipw`` and ``aipw``).
    missing : {"drop", "impute"} or MultipleImputationSpec
        Rows missing the treatment or a covariate are dropped (default), or covariates are
        imputed (numeric ones with the mean plus a ``<column>_missing`` indicator, categorical
        ones with a ``(missing)`` level), or imputed ``m`` times by chained equations
        (``{method: multiple, m: 20}``) with every analysis repeated in each imputed data set and
        pooled by Rubin's rules. Outcomes and the treatment are never imputed.
    invalid_values : {"error", "drop"}
        Infinite or absurdly large values (above 1e12 in absolute value) in an outcome or a
        numeric covariate are refused (default) or their rows dropped.
    propensity : PropensitySpec
        The score model or a column holding a given score, and ``clip``, ``trim`` and the
        ``separation`` rule.
    methods : MethodsSection
        The estimators to run, one key per method of the registry with its options (default
        ``{psm: {}}``); the naive difference always runs.
    scoring : ScoringSpec or None
        Score raw survey answers with a scheme before the analysis.
    sensitivity : SensitivitySpec or None
        The sensitivity checks (E-values, Rosenbaum bounds, omitted-variable bounds, refutations,
        subgroups).
    balance : BalanceSpec
        ``terms: true`` adds the covariate terms' design columns to the balance table.
    panel, design : PanelSpec or None, {"cross-section", "did"}
        Long data by survey round (see the README's *Follow-up rounds*); ``did``: DR-DiD by round.
    report : ReportSpec
        Disclosure control of the outputs: ``min_cell_size`` (default 10) and ``rounding``.
    seed : int
        Seed of every random choice, from 0 to 2**32 - 1 (default 0).
    """

    name: str
    title: str | None = None
    data: DataSpec
    population: dict[str, PopulationFilter] = Field(default_factory=dict)
    treatment: TreatmentSpec
    outcomes: list[str] = Field(min_length=1)
    primary_outcome: str | None = None
    unit_label: str = Field(default="units", min_length=1, max_length=40, pattern=r"^[^\n\r]+$")
    covariates: list[str] = Field(min_length=1)
    categorical: list[str] = Field(default_factory=list)
    exact: list[str] = Field(default_factory=list)
    cluster: str | None = None
    weights: str | None = None
    estimand: Estimand = "ATT"
    missing: Literal["drop", "impute"] | MultipleImputationSpec = "drop"
    # infinite or absurdly large values in an outcome or covariate: refuse (default) or drop the rows
    invalid_values: Literal["error", "drop"] = "error"
    propensity: PropensitySpec = Field(default_factory=PropensitySpec)
    # validated against the registry of methods (reimpact.registry.METHODS): default psm
    methods: Any = Field(default=None, validate_default=True)
    scoring: ScoringSpec | None = None
    sensitivity: SensitivitySpec | None = None
    balance: BalanceSpec = Field(default_factory=BalanceSpec)
    panel: PanelSpec | None = None
    design: Literal["cross-section", "did"] = "cross-section"
    report: ReportSpec = Field(default_factory=ReportSpec)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)

    _source: Path | None = PrivateAttr(default=None)
    _terms: CovariateTerms | None = PrivateAttr(default=None)

    _multivalued = model_validator(mode="before")(multivalued_defaults)

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

    @field_validator("missing", mode="before")
    @classmethod
    def _missing(cls, value: Any) -> Any:
        return missing_policy(value)

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
                    parsed[column] = scalars(rule, f"{column}")
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
        if self.primary_outcome is not None and self.primary_outcome not in self.outcomes:
            raise ValueError(
                f"primary_outcome: '{self.primary_outcome}' is not one of the outcomes "
                f"({', '.join(self.outcomes)}); name one of them or leave it out"
            )
        self._terms = parse_covariates(self.covariates)
        treatment_columns, used = set(self.treatment.columns), self._terms.columns
        for column in self.outcomes:
            if column in treatment_columns:
                raise ValueError(f"outcomes: '{column}' is also the treatment; remove it")
            if column in used:
                raise ValueError(
                    f"outcomes: '{column}' is also a covariate{self._terms.where(column)}; an "
                    "outcome cannot adjust for itself"
                )
        for column in used:
            if column in treatment_columns:
                raise ValueError(
                    f"covariates: '{column}'{self._terms.where(column)} is the treatment; remove it"
                )
        for column in self.categorical:
            if column not in used:
                raise ValueError(f"categorical: '{column}' is not in covariates; add it there first")
        check_sections(self)
        for name in self.methods.names:
            estimator = METHODS[name].estimator
            spec = getattr(self.methods, name)
            problem = estimator.option_problem(spec.model_dump(), self.estimand, self.cluster)
            if problem is not None:
                raise ValueError(f"methods.{name}.{problem[0]}: {problem[1]}")
        return self

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: Any, source: str | Path | None = None) -> Study:
        """Validate a parsed study file; errors become one-line :class:`StudyError`.

        Parameters
        ----------
        raw : Any
            The parsed file: a mapping of the study's keys to values (as ``yaml.safe_load``
            returns it).
        source : str or Path or None
            The file it was read from: it prefixes the errors' field and becomes the study's
            ``source``.

        Returns
        -------
        Study

        Raises
        ------
        StudyError
            When ``raw`` is not a mapping or the study is invalid; the message names the field.
        """
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
    def covariate_terms(self) -> CovariateTerms:
        """The covariates parsed into terms, with the data columns they use."""
        return self._terms or parse_covariates(self.covariates)

    @property
    def display_title(self) -> str:
        return self.title or self.name

    @property
    def primary(self) -> str:
        """The outcome the summary leads with: ``primary_outcome``, else the first outcome."""
        return self.primary_outcome or self.outcomes[0]


MAX_STUDY_BYTES = 1_000_000
MAX_VALUES = 100_000  # values in a study file once YAML aliases are expanded
MAX_DEPTH = 20


def load_study(path: str | Path) -> Study:
    """Read and validate a study file.

    ``path`` is a study file (YAML), or a ``results.json`` whose ``study`` section is read (it
    holds the study with every default filled in, so that a run can be repeated); a
    ``study.resolved.yaml`` written next to it is a study file too.

    Limits are checked before anything else, so that a hostile file fails fast with one line:
    at most 1 MB, UTF-8 text, nesting at most 20 levels deep and at most 100,000 values once
    YAML aliases are expanded (an "alias bomb" of a few hundred bytes can stand for millions).

    Parameters
    ----------
    path : str or Path
        The study file, or a ``results.json`` written by a run.

    Returns
    -------
    Study
        The validated study; its ``source`` is ``path``, from whose folder a relative
        ``data.path`` is also looked up.

    Raises
    ------
    StudyError
        When the file is missing, too large, not UTF-8, not valid YAML, nested too deeply or
        holding too many values, or when the study in it is invalid (an unknown key, a wrong type,
        an invalid choice, columns in conflicting roles); the message names the field.

    Examples
    --------
    >>> from reimpact import load_study
    >>> study = load_study("studies/orion_mentoring.yaml")
    >>> study.estimand, study.methods.names
    ('ATT', ['psm', 'ipw', 'aipw'])
    >>> load_study("studies/missing.yaml")
    Traceback (most recent call last):
    ...
    reimpact.exceptions.StudyError: studies/missing.yaml: study file not found; check the path
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
