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
DELIVERY_MODES = ("direct", "referral")
# (economic activity, psychosocial activity) of every type
TYPE_ACTIVITIES = {
    "social_only": (False, False),
    "economic": (True, False),
    "psychosocial": (False, True),
    "combined": (True, True),
}


def assistance_type(economic: np.ndarray, psychosocial: np.ndarray) -> np.ndarray:
    """Every returnee's assistance type from the economic and psychosocial activities (positions
    in ``ASSISTANCE_TYPES``)."""
    return economic.astype(int) + 2 * psychosocial.astype(int)


def contrast_truth(
    potential: Mapping[str, Mapping[str, np.ndarray]],
    outcomes: tuple[str, ...],
    index: pd.Index | None = None,
    weights: np.ndarray | None = None,
    types: tuple[str, ...] = ASSISTANCE_TYPES,
    treatment: str = "assistance_type",
) -> pd.DataFrame:
    """The true ATE of every contrast of assistance types (or of numbers of activities) on every
    outcome.

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
    treatment : str
        The treatment column the rows name.

    Returns
    -------
    pandas.DataFrame
        Columns ``treatment``, ``contrast`` (``"a vs b"``: every type against
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
            rows.append((treatment, f"{a} vs {b}", outcome, "ATE", _mean(difference, weights)))
    return pd.DataFrame(rows, columns=["treatment", "contrast", "outcome", "estimand", "effect"])


# Every combination of activities a returnee can receive (economic, social, psychosocial): at
# least one, since social support is given to everyone with no other activity.
VERSIONS = tuple(
    (e, s, p) for e in (False, True) for s in (False, True) for p in (False, True) if e or s or p
)


class DoseMeans:
    """Every returnee's potential outcome under each number of activities d (1, 2, 3), from the
    outcomes under each version of the treatment, given one version at a time (:meth:`add`, in
    the order of :data:`VERSIONS`), so that they need not all be held at once.

    The number of activities is a treatment with several versions (VanderWeele & Hernan 2013):
    two activities may be economic and social support, or psychosocial and social support. The
    dose-response E[Y(d)] that adjustment for the covariates identifies is the mean over returnees
    of Y_i(d) = sum_v q_i(v | d) Y_i(v), the outcomes under the versions v with d activities
    weighted by the probability that a returnee with these characteristics who receives d
    activities receives version v: q_i(v | d) = P_i(v) / sum_{v': |v'| = d} P_i(v'), with P_i(v)
    the product of the activities' assignment probabilities (independent given the covariates; the
    social activity that the programme rule adds when nothing else is given has probability 1).

    Parameters
    ----------
    probability : mapping
        ``probability[activity]``: every returnee's probability of the ``economic``, ``social``
        (before the programme rule) and ``psychosocial`` activity.
    shape : tuple of int
        The shape of the outcomes of one version (outcomes x returnees).
    """

    def __init__(self, probability: Mapping[str, np.ndarray], shape: tuple[int, ...]) -> None:
        self.probability = probability
        self.numerator = np.zeros((3, *shape))
        self.total = np.zeros((3, shape[-1]))

    def add(self, version: tuple[bool, bool, bool], outcomes: np.ndarray) -> None:
        """Add the outcomes under ``version`` (economic, social, psychosocial activity)."""
        e, s, p = version
        pe, ps, pp = (self.probability[k] for k in ("economic", "social", "psychosocial"))
        social = (ps if s else 1.0 - ps) if (e or p) else np.ones_like(ps)
        weight = (pe if e else 1.0 - pe) * (pp if p else 1.0 - pp) * social
        self.total[sum(version) - 1] += weight
        self.numerator[sum(version) - 1] += weight * outcomes

    def means(self) -> np.ndarray:
        """Y_i(d) for d = 1, 2, 3 (the first axis), once every version was added."""
        return np.divide(self.numerator, self.total[:, None, :], out=self.numerator)


def _mean(values: np.ndarray, weights: np.ndarray | None) -> float:
    """The (weighted) mean of the non-missing values, NaN when there are none."""
    w = np.ones(values.size) if weights is None else np.asarray(weights, dtype=float)
    kept = ~np.isnan(values)
    return float(np.average(values[kept], weights=w[kept])) if kept.any() else np.nan


def level_means(
    potential: Mapping[str, Mapping[str, np.ndarray]],
    outcomes: tuple[str, ...],
    index: pd.Index | None = None,
    weights: np.ndarray | None = None,
    treatment: str = "n_activities",
) -> pd.DataFrame:
    """The true mean potential outcome E[Y(d)] of every level d on every outcome (columns
    ``treatment, dose, outcome, mean``), over the positions ``index`` (None: all)."""
    rows = []
    for level, values in potential.items():
        for outcome in outcomes:
            y = values[outcome] if index is None else values[outcome][np.asarray(index)]
            rows.append((treatment, level, outcome, _mean(y, weights)))
    return pd.DataFrame(rows, columns=["treatment", "dose", "outcome", "mean"])


def activity_delivery(
    rng: np.random.Generator, referral: np.ndarray, received: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Delivery mode of each received activity (positions in ``DELIVERY_MODES``, -1 where the
    activity is not received): a referred returnee has at least one activity delivered through a
    referral (one picked at random, each other one with probability 0.4)."""
    kinds = list(received)
    has = np.column_stack([received[k] for k in kinds])
    n = has.shape[0]
    # pick one received activity uniformly at random for referred returnees
    keys = np.where(has, rng.random(has.shape), -1.0)
    picked = np.zeros_like(has)
    picked[np.arange(n), keys.argmax(axis=1)] = True
    by_referral = referral[:, None] & has & (picked | (rng.random(has.shape) < 0.4))
    return {kind: np.where(has[:, j], by_referral[:, j].astype(int), -1) for j, kind in enumerate(kinds)}
