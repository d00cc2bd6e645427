"""The sections of a study file other than the methods and the sensitivity analyses: the data,
the population filters, the treatment rule, the propensity model, the report and scoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from .._validation import Section, default_or_off, first_message, location, show, value_key
from ..io import KOBO_SUFFIXES, READERS, KoboLayout

Scalar = str | int | float | bool

DATA_SUFFIXES = tuple(READERS)


def scalars(values: Any, what: str) -> list[Scalar]:
    """Accept one scalar or a list of scalars (YAML ``treated: 1`` or ``treated: [1, yes]``)."""
    if not isinstance(values, list):
        values = [values]
    if not values:
        raise ValueError(f"{what} must list at least one value")
    for value in values:
        if not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"{what} must be plain values (text or numbers), got {show(value)}")
    return values


class KoboSpec(Section):
    """How to read a KoBoToolbox/ODK export (``data.kobo``): see :class:`~reimpact.io.KoboLayout`.

    ``groups``: ``strip`` (default) names each question by its own name (``group_hh/age`` becomes
    ``age``; two questions of the same name in different groups are an error that asks for
    ``keep``), ``keep`` keeps the paths. ``group_separator``: ``/`` (KoBoToolbox, default) or
    ``-`` (ODK Central). ``select_multiple``: questions to expand that the export gives only as
    space-separated codes (or only as per-choice columns); each ends as one 0/1 column per choice,
    ``question/choice`` as KoBo names them, and a question given in both forms (KoBo's default)
    is recognised without being listed. ``metadata``: ``drop`` (default) or ``keep`` the
    platforms' columns (``_id``, ``_uuid``, ``_submission_time``, ``start``, ``end``,
    ``meta/instanceID``...).
    """

    groups: Literal["strip", "keep"] = "strip"
    group_separator: str = Field(default="/", min_length=1, max_length=3)
    select_multiple: list[str] = Field(default_factory=list)
    metadata: Literal["drop", "keep"] = "drop"

    def layout(self) -> KoboLayout:
        """The reader's settings."""
        return KoboLayout(self.groups, self.group_separator, tuple(self.select_multiple), self.metadata)


class DataSpec(Section):
    """Where the data come from: a built-in simulated cohort or a file (csv, parquet, xlsx,
    SPSS .sav/.zsav, Stata .dta).

    A relative ``path`` is looked up from the working directory, then from the study file's folder.
    ``sheet`` picks an xlsx sheet. SPSS/Stata value labels become categories (see
    :mod:`reimpact.io.labelled`). ``kobo`` (a mapping, ``{}`` for the defaults) says that a csv or
    xlsx file is a KoBoToolbox/ODK export: a csv may then be separated by ``;`` (KoBo's default)
    or ``,``, and group paths, select_multiple questions and metadata columns are handled as
    :class:`KoboSpec` says.
    """

    # simulated-returnees-survey: a survey of the cohort with unequal selection probabilities
    # (reimpact.datasets.draw_survey_sample), with its sampling_weight column;
    # simulated-returnees-panel: survey rounds of the same returnees (reimpact.datasets.panel)
    builtin: (
        Literal["simulated-returnees", "simulated-returnees-survey", "simulated-returnees-panel"] | None
    ) = None
    path: str | None = None
    n: int | None = Field(default=None, ge=50, le=5_000_000)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    sheet: str | int | None = None
    kobo: KoboSpec | None = None

    @field_validator("kobo", mode="before")
    @classmethod
    def _kobo_defaults(cls, value: Any) -> Any:
        return default_or_off(value)

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
        if self.kobo is not None and (
            self.path is None or Path(self.path).suffix.lower() not in KOBO_SUFFIXES
        ):
            raise ValueError("'kobo' applies only to a .csv or .xlsx path (a KoBo export); remove it")
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


# a dose with more distinct values than this is continuous: a smoothed curve, not one mean per dose
MAX_DOSE_LEVELS = 10


def _treated_one() -> list[Scalar]:
    """The default ``treatment.treated``: a unit is treated where the column is 1."""
    return [1]


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

    * ``column`` + ``reference``: a multi-valued treatment (three or more levels, e.g.
      ``{column: assistance_type, reference: none}``); every level is compared with ``reference``
      and with every other level. ``levels`` lists the levels to compare (reference included;
      units at other levels are excluded and counted); without it every value of the column is one.
    * ``column`` + ``kind: dose``: a dose, a number such as ``n_activities``; with three to
      ``MAX_DOSE_LEVELS`` distinct values the mean outcome at every dose (the dose-response curve)
      and every dose against ``reference`` (default: the lowest) and against the dose below it;
      with more, a smoothed curve and its quartile doses against ``reference`` (default: the
      median).
    """

    column: str | None = None
    any_of: list[str] | None = None
    treated: list[Scalar] = Field(default_factory=_treated_one)
    control: list[Scalar] | None = None
    name: str | None = None
    reference: Scalar | None = None
    levels: list[Scalar] | None = None
    kind: Literal["dose"] | None = None

    @field_validator("treated", mode="before")
    @classmethod
    def _treated_values(cls, value: Any) -> list[Scalar]:
        return scalars(value, "treated")

    @field_validator("control", mode="before")
    @classmethod
    def _control_values(cls, value: Any) -> list[Scalar] | None:
        return None if value is None else scalars(value, "control")

    @field_validator("levels", mode="before")
    @classmethod
    def _level_values(cls, value: Any) -> list[Scalar] | None:
        return None if value is None else scalars(value, "levels")

    @model_validator(mode="after")
    def _one_rule(self) -> TreatmentSpec:
        if (self.column is None) == (self.any_of is None):
            raise ValueError("give exactly one of 'column' or 'any_of'")
        if self.any_of is not None and not self.any_of:
            raise ValueError("'any_of' must list at least one column")
        if self.control is not None and set(map(str, self.control)) & set(map(str, self.treated)):
            raise ValueError("a value cannot be both in 'treated' and in 'control'")
        if self.kind == "dose":
            if self.column is None or self.control is not None or self.treated != _treated_one():
                raise ValueError(
                    "a dose is 'column' + 'kind: dose' (+ 'reference'), without 'any_of', "
                    "'treated' or 'control'"
                )
            if self.levels is not None:
                raise ValueError("a dose takes every value of its column: remove 'levels'")
            if self.reference is not None and (
                isinstance(self.reference, bool) or not isinstance(self.reference, int | float)
            ):
                raise ValueError(f"a dose's 'reference' is a number (got '{self.reference}')")
            return self
        if self.reference is None:
            if self.levels is not None:
                raise ValueError("'levels' needs 'reference', the level the others are compared with")
            return self
        # (a resolved study file repeats the default 'treated: [1]')
        if self.column is None or self.control is not None or self.treated != _treated_one():
            raise ValueError(
                "a multi-valued treatment is 'column' + 'reference' (+ 'levels'), without "
                "'any_of', 'treated' or 'control'"
            )
        if self.levels is not None:
            keys = [value_key(v) for v in self.levels]
            if len(set(keys)) != len(keys) or value_key(self.reference) not in keys:
                raise ValueError("'levels' must list distinct values, the reference among them")
            if len(keys) < 3:
                raise ValueError(
                    "a two-level treatment is binary: write 'treated: [...]' instead of "
                    "'reference' and 'levels'"
                )
        return self

    @property
    def multivalued(self) -> bool:
        """Whether the treatment has levels compared with a reference (``reference`` given, or a
        dose)."""
        return self.reference is not None or self.dose

    @property
    def dose(self) -> bool:
        """Whether the treatment is a dose (``kind: dose``): ordered numeric levels."""
        return self.kind == "dose"

    @property
    def label(self) -> str:
        """The treatment's name in outputs."""
        return self.name or self.column or "treatment"

    @property
    def frame_column(self) -> str:
        """The analysis frame's treatment column: a multi-valued treatment's levels stay in its
        ``column``; a binary treatment's 0/1 indicator is written under ``label``."""
        return str(self.column) if self.multivalued else self.label

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

    model: Literal["logistic", "gradient_boosting", "cbps"] | None = None
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
    def kind(self) -> Literal["column", "logistic", "gradient_boosting", "cbps"]:
        """``'column'`` for a given score, otherwise the model name (default logistic)."""
        return "column" if self.column is not None else (self.model or "logistic")


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


class MultipleImputationSpec(Section):
    """``missing: {method: multiple, m: 20}``: multiple imputation by chained equations.

    Attributes
    ----------
    method : {"multiple"}
        Multiple imputation (the only mapping form of ``missing``).
    m : int
        Imputed data sets, 2 to 100 (default 20; White, Royston & Wood 2011 suggest at least
        the percentage of incomplete rows).
    max_iter : int
        Rounds of the chain per imputed data set, 1 to 100 (default 10, as scikit-learn's
        ``IterativeImputer``).
    """

    method: Literal["multiple"]
    m: int = Field(default=20, ge=2, le=100)
    max_iter: int = Field(default=10, ge=1, le=100)


def missing_policy(value: Any) -> Any:
    """The ``missing`` key: ``drop``, ``impute`` or a :class:`MultipleImputationSpec` mapping."""
    if isinstance(value, dict):
        try:
            return MultipleImputationSpec.model_validate(value)
        except ValidationError as exc:
            where = location(exc)
            prefix = "" if where == "(top level)" else f"{where}: "
            raise ValueError(f"{prefix}{first_message(exc)}") from None
    if value not in ("drop", "impute") and not isinstance(value, MultipleImputationSpec):
        raise ValueError(
            f"input should be 'drop' or 'impute', or {{method: multiple, m: 20}} (got {show(value)})"
        )
    return value
