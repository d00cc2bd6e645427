"""The ``sensitivity`` section of a study file: E-values, Rosenbaum bounds, omitted-variable
bounds (OLS and AIPW), DoWhy refutations and subgroup effects, each switched on by its key."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .._validation import Section, default_or_off


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


RefutedMethod = Literal["psm", "aipw"]


def _both_refuted() -> list[RefutedMethod]:
    """The default ``refutations.methods``: matching and AIPW."""
    return ["psm", "aipw"]


class RefutationSpec(Section):
    """DoWhy refuters (placebo treatment, random common cause, data subset, unobserved common cause)
    run on reimpact's own estimators, ``simulations`` times each, ``n_jobs`` in parallel."""

    methods: list[RefutedMethod] = Field(default_factory=_both_refuted)
    outcomes: list[str] | None = None
    simulations: int = Field(default=20, ge=2, le=1000)
    n_jobs: int = Field(default=1, ge=1, le=64)
    subset_fraction: float = Field(default=0.8, gt=0.0, lt=1.0)
    treatment_strength: float = Field(default=0.02, gt=0.0, lt=0.5)
    outcome_strength: float = Field(default=0.1, gt=0.0, le=10.0)


class DMLSpec(Section):
    """Omitted-variable bounds on the AIPW estimates (Chernozhukov, Cinelli, Newey, Sharma &
    Syrgkanis 2022): a confounder explaining ``cf_y`` of the outcome's residual variance and
    ``cf_d`` of the Riesz representer's, with correlation ``rho`` between the two gaps (defaults
    as DoubleML's ``sensitivity_analysis``); ``benchmarks`` are covariates left out in turn to
    gauge such strengths; ``level`` the one-sided confidence level of the bounds."""

    cf_y: float = Field(default=0.03, ge=0.0, lt=1.0)
    cf_d: float = Field(default=0.03, ge=0.0, lt=1.0)
    rho: float = Field(default=1.0, ge=-1.0, le=1.0)
    level: float = Field(default=0.95, gt=0.5, lt=1.0)
    benchmarks: list[str] = Field(default_factory=list)

    @field_validator("rho")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("rho = 0 means no bias at all: give a correlation in [-1, 0) or (0, 1]")
        return value


class HeterogeneitySpec(Section):
    """Subgroup effects (AIPW within each level of the ``by`` columns) and EconML CATE summaries."""

    by: list[str] = Field(min_length=1)
    cate: bool = True


class SensitivitySpec(Section):
    """Sensitivity checks. E-values, Rosenbaum bounds and omitted-variable bounds run by default;
    AIPW bounds (``dml``), refutations and subgroups run when their section is given; ``false``
    turns a check off."""

    evalue: bool = True
    rosenbaum: RosenbaumSpec | None = Field(default_factory=RosenbaumSpec)
    omitted_variable: OmittedVariableSpec | None = Field(default_factory=OmittedVariableSpec)
    refutations: RefutationSpec | None = None
    dml: DMLSpec | None = None
    heterogeneity: HeterogeneitySpec | None = None

    @field_validator("rosenbaum", "omitted_variable", "refutations", "dml", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        return default_or_off(value)
