"""The assistance type of the simulated cohort, a multi-valued treatment with known effects.

Every simulated returnee receives at least one activity; social support is the basic package that
everyone without another activity gets. The assistance type is read from the two activities that
are targeted (and confounded): ``economic`` (economic support, no psychosocial support),
``psychosocial`` (psychosocial support, no economic support), ``combined`` (both) and the
reference ``social_only`` (neither, hence social support). A returnee's potential outcome under a
type sets the economic and psychosocial activities accordingly, the social activity following the
programme rule, all else (referral, mentoring, every random draw) as observed; the true effect of
``a vs b`` is the mean over returnees of Y_i(a) - Y_i(b), an ATE.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

ASSISTANCE_TYPES = ("social_only", "economic", "psychosocial", "combined")
# (economic activity, psychosocial activity) of every type
TYPE_ACTIVITIES = {
    "social_only": (False, False),
    "economic": (True, False),
    "psychosocial": (False, True),
    "combined": (True, True),
}


def assistance_type(economic: np.ndarray, psychosocial: np.ndarray) -> np.ndarray:
    """Every returnee's assistance type from the economic and psychosocial activities."""
    codes = economic.astype(int) + 2 * psychosocial.astype(int)
    return np.asarray(("social_only", "economic", "psychosocial", "combined"), dtype=object)[codes]


def contrast_truth(
    potential: Mapping[str, Mapping[str, np.ndarray]],
    outcomes: tuple[str, ...],
    index: pd.Index | None = None,
    weights: np.ndarray | None = None,
    types: tuple[str, ...] = ASSISTANCE_TYPES,
) -> pd.DataFrame:
    """The true ATE of every contrast of assistance types on every outcome.

    Parameters
    ----------
    potential : mapping
        ``potential[type][outcome]``: every returnee's potential outcome under the type.
    outcomes : tuple of str
        The outcomes.
    index : pandas.Index or None
        Positions (the cohort's default index) of the returnees to average over; None: all.
    weights : numpy.ndarray or None
        Sampling weights of those returnees.
    types : tuple of str
        The types in the order of the contrasts, the reference first (a subset is allowed).

    Returns
    -------
    pandas.DataFrame
        Columns ``treatment`` (``assistance_type``), ``contrast`` (``"a vs b"``: every type against
        the first of ``types``, then every other pair), ``outcome``, ``estimand`` (``ATE``), ``effect``.
    """
    rows = []
    pairs = [(a, types[0]) for a in types[1:]]
    pairs += [(a, b) for j, b in enumerate(types[1:], 1) for a in types[j + 1 :]]
    for a, b in pairs:
        for outcome in outcomes:
            difference = potential[a][outcome] - potential[b][outcome]
            if index is not None:
                difference = difference[np.asarray(index)]
            w = np.ones(difference.size) if weights is None else np.asarray(weights, dtype=float)
            kept = ~np.isnan(difference)
            effect = float(np.average(difference[kept], weights=w[kept])) if kept.any() else np.nan
            rows.append(("assistance_type", f"{a} vs {b}", outcome, "ATE", effect))
    return pd.DataFrame(rows, columns=["treatment", "contrast", "outcome", "estimand", "effect"])
