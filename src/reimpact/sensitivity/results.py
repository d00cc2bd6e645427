"""The records of the sensitivity checks (one per outcome and check) and
:class:`SensitivityResults`, everything for one study run, as written to ``results.json``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class EValue:
    """E-values of one estimate: for the point estimate and for the confidence limit closer to
    the null (1 when the interval contains the null). ``scale`` says how the risk ratio was got."""

    outcome: str
    method: str
    risk_ratio: float
    evalue_estimate: float
    evalue_ci: float
    scale: str

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass(frozen=True)
class RosenbaumBounds:
    """Upper-bound p-values over a grid of Gamma and the Gamma where they cross ``alpha``
    (``available`` False with a ``reason`` when the design has no 1:1 matched pairs)."""

    outcome: str
    available: bool
    reason: str = ""
    n_pairs: int = 0
    alpha: float = 0.05
    gammas: list[float] = field(default_factory=list)
    p_upper: list[float] = field(default_factory=list)
    gamma_critical: float | None = None

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass(frozen=True)
class OmittedVariableBounds:
    """Sensitivity of the regression-adjusted estimate (OLS of the outcome on the treatment and the
    covariates): its partial R^2, robustness values and benchmark bounds (``bounds``: one row per
    benchmark covariate and multiple kd of its strength)."""

    outcome: str
    estimate: float
    std_error: float
    df: int
    partial_r2: float
    rv_q: float
    rv_q_alpha: float
    q: float
    alpha: float
    bounds: pd.DataFrame

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "bounds"}
        out["bounds"] = self.bounds.to_dict("records")
        return out

    def adjusted_estimate(self, r2_dz: np.ndarray, r2_yz: np.ndarray) -> np.ndarray:
        """The estimate after removing the bias of a confounder with these partial R^2 values
        (towards zero), vectorised for contour plots."""
        bias = self.std_error * np.sqrt(self.df * r2_yz * r2_dz / (1.0 - r2_dz))
        return np.sign(self.estimate) * (abs(self.estimate) - bias)


@dataclass(frozen=True)
class DMLBounds:
    """Omitted-variable bounds on one AIPW estimate (Chernozhukov et al. 2022): the bias bound
    |rho| sqrt(cf_y cf_d / (1 - cf_d)) sqrt(sigma2 nu2) for the scenario (cf_y, cf_d, rho), the
    bounds of the estimate and of its one-sided ``level`` confidence bounds, the robustness values
    (RV: the cf_y = cf_d that brings the bound to 0; RVa: that brings its confidence bound to 0;
    None when not reached below 1) and ``benchmarks`` (one row per benchmark covariate: the
    strengths implied by leaving it out and the bounds at those strengths)."""

    outcome: str
    method: str
    estimand: str
    estimate: float
    std_error: float
    cf_y: float
    cf_d: float
    rho: float
    level: float
    sigma2: float
    nu2: float
    bias_bound: float
    theta_lower: float
    theta_upper: float
    se_lower: float
    se_upper: float
    ci_lower: float
    ci_upper: float
    rv: float | None
    rva: float | None
    benchmarks: pd.DataFrame

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "benchmarks"}
        out["benchmarks"] = [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
            for row in self.benchmarks.to_dict("records")
        ]
        return out

    def bound(self, cf_y: np.ndarray, cf_d: np.ndarray) -> np.ndarray:
        """The bound of the estimate closer to zero for confounders of strengths (cf_y, cf_d)
        and this ``rho``, vectorised for contour plots."""
        bias = abs(self.rho) * np.sqrt(cf_y * cf_d / (1.0 - cf_d) * self.sigma2 * self.nu2)
        return self.estimate - np.sign(self.estimate) * bias


@dataclass(frozen=True)
class SensitivityResults:
    """The sensitivity checks of a study run (each list empty when that check is off)."""

    evalues: list[EValue] = field(default_factory=list)
    rosenbaum: list[RosenbaumBounds] = field(default_factory=list)
    omitted_variable: list[OmittedVariableBounds] = field(default_factory=list)
    refutations: list = field(default_factory=list)
    subgroups: pd.DataFrame | None = None
    cate: pd.DataFrame | None = None
    # checks that could not run: {"check", "outcome", "method", "reason"}
    not_run: list[dict[str, str]] = field(default_factory=list)
    dml: list[DMLBounds] = field(default_factory=list)

    @classmethod
    def combine(cls, parts: list[SensitivityResults]) -> SensitivityResults:
        """One result from the checks run on groups of outcomes (lists joined, tables stacked)."""

        def stack(tables: list[pd.DataFrame | None]) -> pd.DataFrame | None:
            present = [table for table in tables if table is not None]
            return pd.concat(present, ignore_index=True) if present else None

        return cls(
            [e for p in parts for e in p.evalues],
            [r for p in parts for r in p.rosenbaum],
            [o for p in parts for o in p.omitted_variable],
            [r for p in parts for r in p.refutations],
            stack([p.subgroups for p in parts]),
            stack([p.cate for p in parts]),
            [n for p in parts for n in p.not_run],
            dml=[d for p in parts for d in p.dml],
        )

    def to_dict(self) -> dict:
        """For ``results.json``, before the disclosure gate (true counts)."""

        def groups(table: pd.DataFrame | None) -> list[dict] | None:
            if table is None:
                return None
            return [
                {k: (int(v) if str(k).startswith("n_") and v == v else v) for k, v in row.items()}
                for row in table.to_dict("records")
            ]

        return {
            "evalues": [e.to_dict() for e in self.evalues],
            "rosenbaum": [r.to_dict() for r in self.rosenbaum],
            "omitted_variable": [o.to_dict() for o in self.omitted_variable],
            "refutations": [r.to_dict() for r in self.refutations],
            "subgroups": groups(self.subgroups),
            "cate": groups(self.cate),
            "not_run": list(self.not_run),
            "dml": [d.to_dict() for d in self.dml],
        }
