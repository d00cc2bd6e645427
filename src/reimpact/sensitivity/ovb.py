"""Omitted-variable bounds (Cinelli & Hazlett 2020) on the regression-adjusted estimate: its
partial R^2, robustness values, and bounds from benchmark covariates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..exceptions import DesignError
from .results import OmittedVariableBounds


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """OLS coefficients, classical standard errors and residual degrees of freedom, from the
    normal equations: (X'X)^+ X'y and sigma^2 (X'X)^+ (one pass over the rows for X'X, which the
    standard errors need anyway; the design's collinear columns were dropped before)."""
    inverse = np.linalg.pinv(x.T @ x)
    coef = inverse @ (x.T @ y)
    resid = y - x @ coef
    df = x.shape[0] - x.shape[1]
    sigma2 = resid @ resid / df
    return coef, np.sqrt(np.diag(sigma2 * inverse)), df


def partial_r2(t_value: float, df: int) -> float:
    """Partial R^2 from a t statistic: t^2 / (t^2 + df)."""
    return t_value**2 / (t_value**2 + df)


def robustness_value(t_value: float, df: int, q: float = 1.0, alpha: float | None = None) -> float:
    """RV_q (and RV_q,alpha with ``alpha``): the partial R^2 that a confounder would need with
    both treatment and outcome to reduce the estimate by 100 q% (or to make it not significant):
    RV = (sqrt(f^4 + 4 f^2) - f^2) / 2 with f = q |t| / sqrt(df) (Cinelli & Hazlett 2020).

    For RV_q,alpha, f_crit = t*_(alpha, df-1) / sqrt(df - 1) and f = f_q - f_crit: RV_q,alpha is 0
    when f_q <= f_crit (the estimate, reduced by 100 q%, is already not significant), and
    (f_q^2 - f_crit^2) / (1 + f_q^2) when f_q > 1 / f_crit (the constraint R^2_yz <= 1 does not
    bind)."""
    f = q * abs(t_value) / math.sqrt(df)
    if alpha is not None:
        from scipy import stats  # imported by the runs that ask for these bounds only

        f_crit = stats.t.ppf(1 - alpha / 2, df - 1) / math.sqrt(df - 1)
        if f <= f_crit:
            return 0.0  # not significant (at this q) already: no confounding is needed
        if f > 1.0 / f_crit:
            # the bound on R^2_yz is not binding (Cinelli & Hazlett 2020, as in sensemakr)
            return (f**2 - f_crit**2) / (1.0 + f**2)
        f -= f_crit
    return 0.5 * (math.sqrt(f**4 + 4 * f**2) - f**2)


def bias_bound(se: float, df: int, r2_dz: float, r2_yz: float) -> float:
    """|bias| = se * sqrt(df * R2_yz R2_dz / (1 - R2_dz)) for a confounder with those partial R^2."""
    return se * math.sqrt(df * r2_yz * r2_dz / (1.0 - r2_dz))


def omitted_variable_bounds(
    y: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    names: list[str],
    outcome: str,
    benchmarks: list[str] | None = None,
    kd: tuple[float, ...] = (1.0, 2.0, 3.0),
    ky: float | None = None,
    q: float = 1.0,
    alpha: float = 0.05,
) -> OmittedVariableBounds:
    """Cinelli & Hazlett (2020) sensitivity of the OLS estimate of the effect of ``t`` on ``y``
    adjusting for ``x`` (columns ``names``, no intercept). A benchmark covariate j bounds a
    confounder ``kd`` times as strong with the treatment (and ``ky``, default kd, with the outcome):

        R2_dz = kd R2_dj / (1 - R2_dj),
        R2_yz = ((sqrt(ky) + sqrt(eta)) / sqrt(1 - eta))^2 R2_yj / (1 - R2_yj),
        eta = kd R2_dj^2 / ((1 - kd R2_dj)(1 - R2_dj)),

    with R2_dj and R2_yj the partial R^2 of covariate j with the treatment (given the other
    covariates) and with the outcome (given the treatment and the other covariates).
    """
    n = y.size
    design = np.column_stack([np.ones(n), t, x])
    coef, se, df = _ols(y, design)
    estimate, std_error = float(coef[1]), float(se[1])
    t_value = estimate / std_error
    rows = []
    for name in benchmarks or []:
        if name not in names:
            raise DesignError(
                "sensitivity.omitted_variable.benchmarks",
                f"'{name}' is not a numeric covariate of the model; pick one of {', '.join(names)}",
            )
        j = names.index(name)
        d_coef, d_se, d_df = _ols(t.astype(float), np.column_stack([np.ones(n), x]))
        r2_dj = partial_r2(d_coef[1 + j] / d_se[1 + j], d_df)
        r2_yj = partial_r2(coef[2 + j] / se[2 + j], df)
        for k in kd:
            k_y = k if ky is None else ky
            r2_dz = k * r2_dj / (1 - r2_dj)
            eta = k * r2_dj**2 / ((1 - k * r2_dj) * (1 - r2_dj))
            if r2_dz >= 1 or eta >= 1:
                continue
            r2_yz = min(
                1.0, ((math.sqrt(k_y) + math.sqrt(eta)) / math.sqrt(1 - eta)) ** 2 * r2_yj / (1 - r2_yj)
            )
            bias = bias_bound(std_error, df, r2_dz, r2_yz) if r2_yz < 1 else float("inf")
            adjusted = math.copysign(abs(estimate) - bias, estimate)
            adjusted_se = std_error * math.sqrt((1 - r2_yz) / (1 - r2_dz) * df / (df - 1))
            from scipy import stats  # imported by the runs that ask for these bounds only

            t_crit = stats.t.ppf(1 - alpha / 2, df - 1)
            rows.append(
                {
                    "benchmark": name,
                    "kd": k,
                    "ky": k_y,
                    "r2_dz": r2_dz,
                    "r2_yz": r2_yz,
                    "adjusted_estimate": adjusted,
                    "adjusted_se": adjusted_se,
                    "adjusted_ci_lower": adjusted - t_crit * adjusted_se,
                    "adjusted_ci_upper": adjusted + t_crit * adjusted_se,
                }
            )
    return OmittedVariableBounds(
        outcome=outcome,
        estimate=estimate,
        std_error=std_error,
        df=df,
        partial_r2=partial_r2(t_value, df),
        rv_q=robustness_value(t_value, df, q),
        rv_q_alpha=robustness_value(t_value, df, q, alpha),
        q=q,
        alpha=alpha,
        bounds=pd.DataFrame(
            rows,
            columns=[
                "benchmark",
                "kd",
                "ky",
                "r2_dz",
                "r2_yz",
                "adjusted_estimate",
                "adjusted_se",
                "adjusted_ci_lower",
                "adjusted_ci_upper",
            ],
        ),
    )
