"""The numbers the report's summary leads with: the effect on the primary outcome by the headline
method, on the outcome's scale, as a percentage of the control group's mean and in standard
deviations (pooled within-group SD, as the E-value uses), for ``results.json``'s ``headline``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .study import StudyResults

# the method the summary leads with: doubly robust first, then matching, then weighting, then any
# added method; the naive difference never
PREFERENCE = ("aipw", "psm", "ipw")


def headline_method(methods: list[str]) -> str | None:
    """The method the summary leads with among ``methods`` (None when only the naive ran)."""
    added = [m for m in methods if m not in PREFERENCE and m != "naive"]
    ranked = [m for m in PREFERENCE if m in methods] + added
    return ranked[0] if ranked else None


def headline(results: StudyResults) -> dict[str, Any] | None:
    """The primary outcome's effect by the headline method, with the control group's mean and the
    pooled within-group SD of the outcome in the analysed rows where it is observed; None when no
    adjusted method ran, the treatment is multi-valued (no one contrast leads) or the data are a
    panel (an effect per round: the path leads). Percentages and
    SD units are None where the mean or the SD is 0."""
    outcome = results.study.primary
    methods = [e.method for e in results.effects if e.outcome == outcome]
    method = headline_method(methods)
    if method is None or results.study.treatment.multivalued or results.study.panel is not None:
        return None
    effect = results.effects.get(outcome, method)
    y = results.frame[outcome].to_numpy(dtype=float)
    t = results.treated
    observed = ~np.isnan(y)
    y1, y0 = y[observed & (t == 1)], y[observed & (t == 0)]
    pooled = math.sqrt(
        ((y1.size - 1) * y1.var(ddof=1) + (y0.size - 1) * y0.var(ddof=1)) / (y1.size + y0.size - 2)
    )
    control_mean = float(y0.mean())
    return {
        "outcome": outcome,
        "method": method,
        "estimand": effect.estimand,
        "estimate": effect.estimate,
        "ci_lower": effect.ci_lower,
        "ci_upper": effect.ci_upper,
        "control_mean": control_mean,
        "outcome_sd": pooled,
        "percent_of_control_mean": 100 * effect.estimate / control_mean if control_mean else None,
        "sd_units": effect.estimate / pooled if pooled > 0 else None,
    }
