"""Omitted-variable bounds on cross-fitted AIPW estimates from the Riesz-representer formulation
(Chernozhukov, Cinelli, Newey, Sharma & Syrgkanis 2022, "Long story short"), with robustness
values and benchmarking by observed covariates, the quantities of DoubleML's
``sensitivity_analysis`` and ``sensitivity_benchmark``.

A latent confounder A changes the long target theta (given X and A) from the short one (given X)
by at most

    |bias| <= |rho| sqrt(cf_y cf_d / (1 - cf_d)) S,  S^2 = sigma2 nu2,

where sigma2 = E[(Y - g(D, X))^2] is the residual variance of the outcome regression,
nu2 = E[alpha(W)^2] the second moment of the Riesz representer alpha of the estimand, cf_y the
share of the outcome's residual variance A explains, cf_d the relative gain in the Riesz
representer's variance (R^2 form: cf_d / (1 - cf_d)), and rho the correlation of the two gaps.
nu2 is estimated by its debiased form E[2 m(W, alpha) - alpha^2] (m(W, alpha): the estimand's
functional applied to alpha, which for the AIPW estimands is omega omega_bar / (e (1 - e)) below).

Riesz representers, with e the (bounded) score, p = P(D = 1), q = 1 - p:
ATE alpha = D/e - (1-D)/(1-e), m = 1/(e(1-e));
ATT alpha = (D - (1-D) e/(1-e)) / p, m = D / (p^2 (1-e));
ATC alpha = (D (1-e)/e - (1-D)) / q, m = (1-D) / (q^2 e).

The bounds theta -/+ bias have influence terms psi_theta -/+ |rho| sqrt(cf_y cf_d/(1-cf_d))
psi_S with psi_S = (sigma2 psi_nu2 + nu2 psi_sigma2) / (2 S) (the paper's Theorem 5), and the
confidence bounds are theta_lower - z se_lower and theta_upper + z se_upper with
z = Phi^-1(level) (one-sided each, as DoubleML).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..exceptions import DesignError
from ..stats.sandwich import sandwich_se
from .results import DMLBounds

if TYPE_CHECKING:
    from ..estimators.aipw import CrossFittedAIPW


@dataclass(frozen=True)
class SensitivityElements:
    """The pieces of the bounds of one AIPW estimate: ``theta`` and its influence terms ``psi``
    (sum convention, see :mod:`reimpact.stats.sandwich`), sigma2 and nu2 with their centred
    per-unit terms ``psi_sigma2`` and ``psi_nu2``."""

    theta: float
    psi: np.ndarray
    sigma2: float
    nu2: float
    psi_sigma2: np.ndarray
    psi_nu2: np.ndarray

    @property
    def max_bias(self) -> float:
        """S = sqrt(sigma2 nu2): the bias bound per unit of confounding strength."""
        return math.sqrt(self.sigma2 * self.nu2)

    def psi_max_bias(self) -> np.ndarray:
        """Influence terms of S (sum convention): (sigma2 psi_nu2 + nu2 psi_sigma2) / (2 S n);
        zero when S = 0 (a constant outcome: no bias is possible)."""
        n = self.psi_sigma2.size
        if self.max_bias == 0:
            return np.zeros(n)
        return (self.sigma2 * self.psi_nu2 + self.nu2 * self.psi_sigma2) / (2.0 * self.max_bias * n)


def riesz_representer(t: np.ndarray, e: np.ndarray, estimand: str) -> tuple[np.ndarray, np.ndarray]:
    """The Riesz representer alpha(W) of the ATE, ATT or ATC and m(W, alpha), per unit (formulas
    in the module docstring)."""
    d = np.asarray(t, dtype=float)
    if estimand == "ATE":
        return d / e - (1 - d) / (1 - e), 1.0 / (e * (1 - e))
    if estimand == "ATT":
        p = d.mean()
        return (d - (1 - d) * e / (1 - e)) / p, d / (p**2 * (1 - e))
    if estimand == "ATC":
        q = 1.0 - d.mean()
        return (d * (1 - e) / e - (1 - d)) / q, (1 - d) / (q**2 * e)
    raise DesignError("estimand", f"must be ATE, ATT or ATC for the AIPW bounds; got '{estimand}'")


def sensitivity_elements(fit: CrossFittedAIPW, j: int = 0) -> SensitivityElements:
    """theta, sigma2 and nu2 of outcome column ``j`` from the cross-fitted nuisances of ``fit``:
    sigma2 = mean (Y - D mu1 - (1-D) mu0)^2, nu2 = mean (2 m - alpha^2). When the debiased nu2 is
    not positive (poor overlap), nu2 = mean alpha^2 is used instead, as DoubleML does (its
    influence terms centred here, where DoubleML leaves them uncentred)."""
    t, y = fit.t_, fit.y_[:, j]
    theta, psi = fit.influence(j)
    residual = y - np.where(t == 1, fit.mu1_[:, j], fit.mu0_[:, j])
    sigma2_terms = residual**2
    alpha, m_alpha = riesz_representer(t, fit.e_, fit.estimand)
    nu2_terms = 2.0 * m_alpha - alpha**2
    if nu2_terms.mean() <= 0:
        nu2_terms = alpha**2
    sigma2, nu2 = float(sigma2_terms.mean()), float(nu2_terms.mean())
    return SensitivityElements(theta, psi, sigma2, nu2, sigma2_terms - sigma2, nu2_terms - nu2)


def confounding_strength(cf_y: float, cf_d: float, rho: float) -> float:
    """|rho| sqrt(cf_y cf_d / (1 - cf_d)): the bias bound in units of S."""
    return abs(rho) * math.sqrt(cf_y * cf_d / (1.0 - cf_d))


def bounds(
    el: SensitivityElements,
    cf_y: float,
    cf_d: float,
    rho: float,
    level: float,
    clusters: np.ndarray | None = None,
) -> dict[str, float]:
    """The bias bound, the bounds theta -/+ bias, their standard errors (sandwich of their
    influence terms, cluster-robust with ``clusters``) and confidence bounds."""
    from scipy import stats  # imported by the runs that ask for these bounds only

    strength = confounding_strength(cf_y, cf_d, rho)
    bias = strength * el.max_bias
    psi_bias = strength * el.psi_max_bias()
    se_lower = sandwich_se(el.psi - psi_bias, clusters)
    se_upper = sandwich_se(el.psi + psi_bias, clusters)
    z = float(stats.norm.ppf(level))
    lower, upper = el.theta - bias, el.theta + bias
    return {
        "bias_bound": bias,
        "theta_lower": lower,
        "theta_upper": upper,
        "se_lower": se_lower,
        "se_upper": se_upper,
        "ci_lower": lower - z * se_lower,
        "ci_upper": upper + z * se_upper,
    }


def robustness_values(
    el: SensitivityElements,
    rho: float,
    level: float,
    clusters: np.ndarray | None = None,
    null: float = 0.0,
) -> tuple[float | None, float | None]:
    """RV and RVa: the common strength cf_y = cf_d = v at which the bound of theta closer to
    ``null`` reaches it (RV, closed form: v^2 / (1 - v) = a^2 with a = |theta - null| / (|rho| S),
    v = (sqrt(a^4 + 4 a^2) - a^2) / 2) and at which its confidence bound does (RVa: the first root
    on (0, 1), 0 when the confidence bound is already beyond ``null``); None when not reached."""
    ci_side = "ci_lower" if el.theta > null else "ci_upper"
    sign = 1.0 if el.theta > null else -1.0
    a = abs(el.theta - null) / (abs(rho) * el.max_bias) if el.max_bias > 0 else math.inf
    rv = None if not math.isfinite(a) else 0.5 * (math.sqrt(a**4 + 4 * a**2) - a**2)

    def gap(v: float) -> float:
        # > 0 while the confidence bound is still on the estimate's side of the null
        return sign * (bounds(el, v, v, rho, level, clusters)[ci_side] - null)

    if gap(0.0) <= 0:
        return rv, 0.0
    grid = np.linspace(0.0, 0.9999, 201)
    gaps = np.array([gap(v) for v in grid])
    crossed = np.flatnonzero(gaps <= 0)
    if not crossed.size:
        return rv, None
    k = int(crossed[0])
    from scipy import optimize

    rva = float(optimize.brentq(gap, grid[k - 1], grid[k], xtol=1e-10))
    return rv, rva


def gain_statistics(
    long: SensitivityElements, short: SensitivityElements, var_y: float
) -> dict[str, float]:
    """The confounding strengths implied by a benchmark covariate (DoubleML's
    ``sensitivity_benchmark``; Chernozhukov et al. 2022): ``short`` is fitted without it,
    R2_y = 1 - sigma2 / var(Y), cf_y = (R2_y,long - R2_y,short) / (1 - R2_y,long),
    cf_d = (1 - nu2_short / nu2_long) / (nu2_short / nu2_long), both clipped to [0, 1];
    rho = sign(delta) min(1, |delta| / sqrt((sigma2_short - sigma2_long)(nu2_long - nu2_short)))
    with delta = theta_short - theta_long (|rho| = 1 when a variance gap is not positive)."""
    r2_long = 1.0 - long.sigma2 / var_y
    r2_short = 1.0 - short.sigma2 / var_y
    r2_riesz = short.nu2 / long.nu2
    cf_y = float(np.clip((r2_long - r2_short) / (1.0 - r2_long), 0.0, 1.0))
    cf_d = float(np.clip((1.0 - r2_riesz) / r2_riesz, 0.0, 1.0))
    delta = short.theta - long.theta
    var_g, var_riesz = short.sigma2 - long.sigma2, long.nu2 - short.nu2
    scale = math.sqrt(var_g * var_riesz) if var_g > 0 and var_riesz > 0 else 0.0
    rho = 1.0 if scale == 0 else min(1.0, abs(delta) / scale)
    return {"cf_y": cf_y, "cf_d": cf_d, "rho": math.copysign(rho, delta), "delta_theta": delta}


_BENCHMARK_COLUMNS = ["benchmark", "cf_y", "cf_d", "rho", "delta_theta", "theta_lower", "theta_upper"]


def dml_bounds(
    fit: CrossFittedAIPW,
    j: int,
    outcome: str,
    cf_y: float = 0.03,
    cf_d: float = 0.03,
    rho: float = 1.0,
    level: float = 0.95,
    clusters: np.ndarray | None = None,
    short_fits: dict[str, CrossFittedAIPW] | None = None,
) -> DMLBounds:
    """The bounds of the AIPW estimate of outcome column ``j`` of ``fit`` for the scenario
    (cf_y, cf_d, rho), its robustness values, and a benchmark row for each fit in ``short_fits``
    (benchmark covariate -> the same nuisances refitted without it), with the bounds of theta at
    the strengths it implies (infinite when its cf_d is 1)."""
    el = sensitivity_elements(fit, j)
    found = bounds(el, cf_y, cf_d, rho, level, clusters)
    rv, rva = robustness_values(el, rho, level, clusters)
    rows = []
    for name, short in (short_fits or {}).items():
        gains = gain_statistics(el, sensitivity_elements(short, j), float(np.var(fit.y_[:, j])))
        bias = math.inf
        if gains["cf_d"] < 1:
            bias = confounding_strength(gains["cf_y"], gains["cf_d"], gains["rho"]) * el.max_bias
        rows.append({"benchmark": name, **gains, "theta_lower": el.theta - bias,
                     "theta_upper": el.theta + bias})  # fmt: skip
    return DMLBounds(
        outcome=outcome,
        method="aipw",
        estimand=fit.estimand,
        estimate=el.theta,
        std_error=sandwich_se(el.psi, clusters),
        cf_y=cf_y,
        cf_d=cf_d,
        rho=rho,
        level=level,
        sigma2=el.sigma2,
        nu2=el.nu2,
        rv=rv,
        rva=rva,
        benchmarks=pd.DataFrame(rows, columns=_BENCHMARK_COLUMNS),
        **found,
    )
