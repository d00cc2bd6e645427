"""Weighted empirical CDF differences between two groups, each covariate sorted once.

For weights w (zero = not in the sample), the eCDF of group g at v is
F_g(v) = sum_{i in g, x_i <= v} w_i / sum_{i in g} w_i. The balance statistics are the mean and
the maximum of |F_1(v) - F_0(v)| over the distinct values v held by a unit with positive weight
(the maximum is the Kolmogorov-Smirnov distance; cobalt's ``ks.max`` and ``ecdf.mean``).

All of them are read off one pass along x in ascending order: the running weight of group g at
the last unit holding v is the numerator of F_g(v), and units with zero weight add nothing. A
covariate is therefore sorted once (:class:`SortedCovariate`) and the pass repeated for every set
of weights (unadjusted, matched, weighted), rather than sorting once per group and statistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy")
def _ecdf_gaps(order, values, treated, w):
    """Mean and maximum |F_1(v) - F_0(v)| for every column of ``w`` (n x samples, row order).

    The group totals come first (one pass in row order); then one pass along the sorted units
    reads each unit's weights in every sample at once (one memory access per unit, not one per
    sample), keeps the running weight of each group and, at the last unit holding a value held by
    a unit with positive weight, adds the gap to a compensated (Neumaier) sum."""
    n, samples = w.shape
    total1 = np.zeros(samples)
    total0 = np.zeros(samples)
    for j in range(n):
        for s in range(samples):
            if treated[j]:
                total1[s] += w[j, s]
            else:
                total0[s] += w[j, s]
    run1 = np.zeros(samples)
    run0 = np.zeros(samples)
    held = np.zeros(samples, dtype=np.bool_)
    added = np.zeros(samples)
    compensation = np.zeros(samples)
    peak = np.zeros(samples)
    count = np.zeros(samples)
    for i in range(n):
        j = order[i]
        last = i == n - 1 or values[i + 1] != values[i]
        for s in range(samples):
            weight = w[j, s]
            if treated[j]:
                run1[s] += weight
            else:
                run0[s] += weight
            held[s] = held[s] or weight > 0
            if last and held[s]:
                gap = abs(run1[s] / total1[s] - run0[s] / total0[s])
                both = added[s] + gap
                if abs(added[s]) >= gap:
                    compensation[s] += (added[s] - both) + gap
                else:
                    compensation[s] += (gap - both) + added[s]
                added[s] = both
                peak[s] = max(peak[s], gap)
                count[s] += 1
                held[s] = False
    mean = (added + compensation) / count
    for s in range(samples):  # a group without weight has no eCDF
        if total1[s] <= 0 or total0[s] <= 0:
            mean[s] = np.nan
            peak[s] = np.nan
    return mean, peak


@dataclass(frozen=True)
class SortedCovariate:
    """One covariate sorted once: the sorting ``order``, the sorted ``values`` and which units
    are ``treated`` (row order)."""

    order: np.ndarray
    values: np.ndarray
    treated: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, t: np.ndarray) -> SortedCovariate:
        order = np.argsort(x)
        return cls(order, np.ascontiguousarray(x[order], dtype=float), np.asarray(t) == 1)

    def ecdf_differences(self, w: np.ndarray) -> tuple[float, float]:
        """Mean and maximum |F_1(v) - F_0(v)| under the weights ``w`` (in the covariate's row
        order; see the module docstring)."""
        return self.ecdf_differences_all(np.asarray(w, dtype=float)[:, None])[0]

    def ecdf_differences_all(self, w: np.ndarray) -> list[tuple[float, float]]:
        """:meth:`ecdf_differences` for every column of ``w`` (units x samples) in one pass."""
        mean, peak = _ecdf_gaps(
            self.order, self.values, self.treated, np.ascontiguousarray(w, dtype=float)
        )
        return [(float(m), float(p)) for m, p in zip(mean, peak, strict=True)]


def ecdf_differences(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Mean and maximum absolute difference between the groups' weighted empirical CDFs, over the
    distinct values of x among the units with positive weight (see the module docstring)."""
    return SortedCovariate.of(x, t).ecdf_differences(w)
