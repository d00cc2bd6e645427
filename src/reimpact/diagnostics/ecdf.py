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


@numba.njit(cache=True, error_model="numpy", nogil=True)  # run in threads, one per covariate
def _ecdf_gaps(order, values, treated, w, total1, total0):
    """Mean and maximum |F_1(v) - F_0(v)| for every column of ``w`` (n x samples, row order),
    with the groups' total weights ``total1``, ``total0`` and ``treated`` in sorted order.

    One pass along the sorted units reads each unit's weights in every sample at once (one
    memory access per unit, not one per sample), keeps the running weight of each group and, at
    the last unit holding a value held by a unit with positive weight, adds the gap to a
    compensated (Neumaier) sum."""
    n, samples = w.shape
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
            if treated[i]:
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
    return (added + compensation) / count, peak


@dataclass(frozen=True)
class SortedCovariate:
    """One covariate sorted once: the sorting ``order``, the sorted ``values``, which sorted
    units are ``treated``, and which units are treated in row order (``rows_treated``)."""

    order: np.ndarray
    values: np.ndarray
    treated: np.ndarray
    rows_treated: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, t: np.ndarray) -> SortedCovariate:
        order = np.argsort(x)
        treated = np.asarray(t) == 1
        return cls(order, np.ascontiguousarray(x[order], dtype=float), treated[order], treated)

    def ecdf_differences(self, w: np.ndarray) -> tuple[float, float]:
        """Mean and maximum |F_1(v) - F_0(v)| under the weights ``w`` (in the covariate's row
        order; see the module docstring)."""
        return self.ecdf_differences_all(np.asarray(w, dtype=float)[:, None])[0]

    def ecdf_differences_all(self, w: np.ndarray) -> list[tuple[float, float]]:
        """:meth:`ecdf_differences` for every column of ``w`` (units x samples) in one pass."""
        w = np.ascontiguousarray(w, dtype=float)
        # column by column, so that a sample's totals do not depend on the other samples
        total1 = np.array([w[self.rows_treated, k].sum() for k in range(w.shape[1])])
        total0 = np.array([w[~self.rows_treated, k].sum() for k in range(w.shape[1])])
        mean, peak = _ecdf_gaps(self.order, self.values, self.treated, w, total1, total0)
        empty = (total1 <= 0) | (total0 <= 0)  # a group without weight has no eCDF
        mean[empty] = np.nan
        peak[empty] = np.nan
        return [(float(m), float(p)) for m, p in zip(mean, peak, strict=True)]


def ecdf_differences(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Mean and maximum absolute difference between the groups' weighted empirical CDFs, over the
    distinct values of x among the units with positive weight (see the module docstring)."""
    return SortedCovariate.of(x, t).ecdf_differences(w)
