"""Rosenbaum bounds for 1:1 matched pairs (Rosenbaum 2002, ch. 4): how large a hidden bias Gamma
in the odds of treatment the signed-rank test of the pair differences survives."""

from __future__ import annotations

import math

import numpy as np

from .results import RosenbaumBounds


def signed_rank_upper_p(differences: np.ndarray, gamma: float, exact: bool | None = None) -> float:
    """Upper bound on the one-sided p-value of Wilcoxon's signed-rank statistic (sum of the ranks
    of |d| over positive d) for matched pairs when hidden bias is at most ``gamma``.

    Under the bound each pair's difference is positive with probability p = gamma / (1 + gamma)
    independently, so T+ is a sum of ranks r_i each included with probability p. ``exact`` computes
    that distribution by convolution (default for up to 500 pairs); otherwise the normal
    approximation with mean p sum r_i and variance p (1 - p) sum r_i^2 is used. Zero differences
    are dropped; tied |d| get average ranks.
    """
    return _SignedRanks(differences).upper_p(gamma, exact)


class _SignedRanks:
    """The pairs' signed ranks, computed once for every Gamma: the ranks of the nonzero |d| and
    the observed statistic T+ (the sum of the ranks of the positive differences)."""

    def __init__(self, differences: np.ndarray) -> None:
        from scipy import stats  # imported by the runs that ask for Rosenbaum bounds only

        d = np.asarray(differences, dtype=float)
        d = d[d != 0]
        self.ranks = stats.rankdata(np.abs(d))
        self.observed = self.ranks[d > 0].sum()

    def upper_p(self, gamma: float, exact: bool | None = None) -> float:
        """:func:`signed_rank_upper_p` at ``gamma``."""
        from scipy import stats

        ranks, observed = self.ranks, self.observed
        n = ranks.size
        if n == 0:
            return 1.0
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


def rosenbaum_bounds(
    differences: np.ndarray, outcome: str, gamma_max: float = 3.0, step: float = 0.1, alpha: float = 0.05
) -> RosenbaumBounds:
    """Rosenbaum bounds for the pair differences (treated minus control), tested in the
    direction of the observed effect."""
    d = np.asarray(differences, dtype=float)
    if np.median(d) < 0 or (np.median(d) == 0 and d.mean() < 0):
        d = -d
    gammas = [round(g, 10) for g in np.arange(1.0, gamma_max + step / 2, step)]
    signed = _SignedRanks(d)  # ranked once for every Gamma
    p_upper = [signed.upper_p(g) for g in gammas]
    critical = None
    if p_upper[0] < alpha:
        low, high = 1.0, 1.0
        while signed.upper_p(high) < alpha and high < 1000:
            low, high = high, high * 2
        for _ in range(40):
            mid = (low + high) / 2
            if signed.upper_p(mid) < alpha:
                low = mid
            else:
                high = mid
        critical = round(high, 3)
    return RosenbaumBounds(outcome, True, "", int(np.count_nonzero(d)), alpha, gammas, p_upper, critical)
