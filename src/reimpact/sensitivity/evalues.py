"""E-values (VanderWeele & Ding 2017): how strongly an unmeasured confounder would have to be
associated, on the risk-ratio scale, with both treatment and outcome to explain an estimate away."""

from __future__ import annotations

import math

import numpy as np

from .results import EValue


def evalue_from_rr(rr: float) -> float:
    """E-value of a risk ratio: RR + sqrt(RR (RR - 1)) for RR >= 1, applied to 1/RR below 1."""
    if not math.isfinite(rr) or rr <= 0:
        return float("nan")
    rr = max(rr, 1.0 / rr)
    return rr + math.sqrt(rr * (rr - 1.0))


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
