"""How strong would unobserved confounding have to be to change the conclusion?

* **E-values** (VanderWeele & Ding 2017): the minimum strength of association, on the risk-ratio
  scale, that an unmeasured confounder would need with both treatment and outcome to explain the
  estimate (and the confidence limit closer to the null) away.
* **Rosenbaum bounds** for 1:1 matched pairs (Rosenbaum 2002, ch. 4): the upper bound on the
  one-sided p-value of Wilcoxon's signed-rank test when the odds of treatment of two matched units
  may differ by a factor Gamma, and the Gamma at which it crosses alpha.
* **Omitted-variable bounds** (Cinelli & Hazlett 2020) on the regression-adjusted estimate: partial
  R^2 of the treatment with the outcome, robustness values, and bounds from benchmark covariates.
* **Subgroup effects**: AIPW within subgroups with Holm-adjusted p-values.

Refutations through DoWhy are in :mod:`reimpact.refutation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .exceptions import DesignError

# -- E-values ----------------------------------------------------------------------------------


def evalue_from_rr(rr: float) -> float:
    """E-value of a risk ratio: RR + sqrt(RR (RR - 1)) for RR >= 1, applied to 1/RR below 1."""
    if not math.isfinite(rr) or rr <= 0:
        return float("nan")
    rr = max(rr, 1.0 / rr)
    return rr + math.sqrt(rr * (rr - 1.0))


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


def pooled_sd(y: np.ndarray, t: np.ndarray) -> float:
    """The pooled within-group standard deviation of the outcome,
    sqrt(((n1 - 1) s1^2 + (n0 - 1) s0^2) / (n1 + n0 - 2)): Cohen's d denominator, the spread of the
    outcome within a treatment group, which excludes the treatment's own contribution."""
    y1, y0 = y[t == 1], y[t == 0]
    n1, n0 = y1.size, y0.size
    return math.sqrt(((n1 - 1) * y1.var(ddof=1) + (n0 - 1) * y0.var(ddof=1)) / (n1 + n0 - 2))


def evalue(
    estimate: float,
    ci: tuple[float, float],
    y: np.ndarray,
    t: np.ndarray,
    outcome: str,
    method: str,
    estimand: str = "ATT",
) -> EValue:
    """E-values for an effect on a continuous outcome or on a 0/1 outcome (the risk ratio p1 / p0
    with the estimand's baseline risk).

    Continuous outcome: VanderWeele & Ding (2017) convert the standardised effect d = estimate /
    SD(Y) to an approximate risk ratio exp(0.91 d) (Chinn 2000), which assumes a common SD within
    the groups; the SD used here is therefore the outcome's pooled within-group SD
    (:func:`pooled_sd`), named with its value in ``scale``."""
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    if binary:
        if estimand == "ATT":
            p1 = float(y[t == 1].mean())

            def to_rr(effect: float) -> float:
                return p1 / (p1 - effect) if p1 - effect > 0 else float("inf")
        else:
            p0 = float(y[t == 0].mean())

            def to_rr(effect: float) -> float:
                return (p0 + effect) / p0 if p0 > 0 and p0 + effect > 0 else float("nan")

        scale = "risk ratio (0/1 outcome)"
    else:
        sd = pooled_sd(y, t)

        def to_rr(effect: float) -> float:
            return math.exp(0.91 * effect / sd) if sd > 0 else float("nan")

        scale = (
            "approximate risk ratio exp(0.91 d), d = effect / pooled within-group SD of the outcome "
            f"({sd:.4g})"
        )
    rr = to_rr(estimate)
    low, high = ci
    if low <= 0 <= high:
        ci_evalue = 1.0
    else:
        ci_evalue = evalue_from_rr(to_rr(low if estimate > 0 else high))
    return EValue(outcome, method, rr, evalue_from_rr(rr), ci_evalue, scale)


# -- Rosenbaum bounds --------------------------------------------------------------------------


def signed_rank_upper_p(differences: np.ndarray, gamma: float, exact: bool | None = None) -> float:
    """Upper bound on the one-sided p-value of Wilcoxon's signed-rank statistic (sum of the ranks
    of |d| over positive d) for matched pairs when hidden bias is at most ``gamma``.

    Under the bound each pair's difference is positive with probability p = gamma / (1 + gamma)
    independently, so T+ is a sum of ranks r_i each included with probability p. ``exact`` computes
    that distribution by convolution (default for up to 500 pairs); otherwise the normal
    approximation with mean p sum r_i and variance p (1 - p) sum r_i^2 is used. Zero differences
    are dropped; tied |d| get average ranks.
    """
    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    n = d.size
    if n == 0:
        return 1.0
    ranks = stats.rankdata(np.abs(d))
    observed = ranks[d > 0].sum()
    p = gamma / (1.0 + gamma)
    if exact is None:
        exact = n <= 500
    if exact:
        doubled = np.rint(2 * ranks).astype(int)  # average ranks are multiples of 1/2
        dist = np.zeros(int(doubled.sum()) + 1)
        dist[0] = 1.0
        top = 0
        for r in doubled:
            new = dist * (1 - p)
            new[r : top + r + 1] += dist[: top + 1] * p
            dist, top = new, top + r
        return float(min(1.0, dist[int(round(2 * observed)) :].sum()))
    mean = p * ranks.sum()
    sd = math.sqrt(p * (1 - p) * np.sum(ranks**2))
    return float(stats.norm.sf((observed - mean) / sd))


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


def rosenbaum_bounds(
    differences: np.ndarray, outcome: str, gamma_max: float = 3.0, step: float = 0.1, alpha: float = 0.05
) -> RosenbaumBounds:
    """Rosenbaum bounds for the pair differences (treated minus control), tested in the
    direction of the observed effect."""
    d = np.asarray(differences, dtype=float)
    if np.median(d) < 0 or (np.median(d) == 0 and d.mean() < 0):
        d = -d
    gammas = [round(g, 10) for g in np.arange(1.0, gamma_max + step / 2, step)]
    p_upper = [signed_rank_upper_p(d, g) for g in gammas]
    critical = None
    if p_upper[0] < alpha:
        low, high = 1.0, 1.0
        while signed_rank_upper_p(d, high) < alpha and high < 1000:
            low, high = high, high * 2
        for _ in range(40):
            mid = (low + high) / 2
            if signed_rank_upper_p(d, mid) < alpha:
                low = mid
            else:
                high = mid
        critical = round(high, 3)
    return RosenbaumBounds(outcome, True, "", int(np.count_nonzero(d)), alpha, gammas, p_upper, critical)


# -- Omitted-variable bounds (Cinelli & Hazlett 2020) ------------------------------------------


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """OLS coefficients, classical standard errors and residual degrees of freedom."""
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    df = x.shape[0] - x.shape[1]
    sigma2 = resid @ resid / df
    cov = sigma2 * np.linalg.pinv(x.T @ x)
    return coef, np.sqrt(np.diag(cov)), df


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


# -- Multiple testing --------------------------------------------------------------------------


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (missing values stay missing)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = order.size
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


# -- Everything for one study ------------------------------------------------------------------


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
        )

    def to_dict(self) -> dict:
        """For ``results.json``, before the disclosure gate (true counts)."""

        def groups(table: pd.DataFrame | None) -> list[dict] | None:
            if table is None:
                return None
            return [
                {k: (int(v) if k.startswith("n_") and v == v else v) for k, v in row.items()}
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
        }
