"""The dose-response curve of a dose with a few values (``treatment: {column: n_activities, kind:
dose}``): the mean potential outcome at every dose d, mu(d) = E[Y(d)], and the contrasts of doses.

A dose with a few distinct values is a multi-valued treatment whose levels are ordered, so mu(d)
is estimated as the mean of each level is (:mod:`reimpact.estimators.multivalued`): by IPW or AIPW
on the generalised propensity score P(D = d | x) (Imbens 2000; Cattaneo 2010). The AIPW curve is
the doubly robust dose-response estimator of Kennedy, Ma, McHugh & Small (2017) at the points of
a discrete dose: their pseudo-outcome xi = (Y - m(X, D)) / pi(D | X) * P(D) + mean_x m(x, D),
averaged among the units at dose d, is the AIPW mean of level d. Pointwise 95% bands are
mu(d) +/- 1.96 se(d) with se(d) from the influence function of mu(d) (no band for the whole curve).

The contrasts are every dose against the reference dose and every dose against the next lower
one (the steps of the curve), each an ATE with the standard error of the difference of the two
influence functions. Where a dose has several versions (two activities may be economic and social
support, or psychosocial and social support), mu(d) is the mean outcome had everyone received d
activities of the kinds that people like them with d activities receive (VanderWeele & Hernan
2013): what the data identify without a model of the versions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..results.dose import curve_frame
from .multivalued import LevelMeans, contrast_se


def dose_order(levels: tuple[str, ...]) -> list[int]:
    """The positions of ``levels`` (numbers written as text, the reference first) in increasing
    order of dose."""
    return sorted(range(len(levels)), key=lambda j: float(levels[j]))


def dose_pairs(levels: tuple[str, ...]) -> list[tuple[int, int]]:
    """The contrasts of a dose: every dose against the reference (``levels[0]``), then every dose
    against the next lower one where that is not the reference."""
    pairs = [(a, 0) for a in range(1, len(levels))]
    order = dose_order(levels)
    steps = [(high, low) for low, high in zip(order, order[1:], strict=False)]
    return pairs + [(a, b) for a, b in steps if b != 0 and a != 0]


def dose_curve(
    fitted: LevelMeans,
    levels: tuple[str, ...],
    codes: np.ndarray,
    outcome: str,
    method: str,
    sample_weight: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
) -> pd.DataFrame:
    """The curve mu(d) of one outcome and method, doses in increasing order: estimate, the
    influence-function standard error (clustered when ``cluster`` is given), the pointwise 95%
    interval and ``n``, the units at the dose (columns ``CURVE_COLUMNS``)."""
    counts = np.bincount(codes, minlength=len(levels))
    order = dose_order(levels)
    se = [contrast_se(fitted.influence[:, j], sample_weight, cluster) for j in order]
    return curve_frame(
        outcome, method, [levels[j] for j in order], fitted.means[order], np.array(se),
        [int(counts[j]) for j in order],
    )  # fmt: skip
