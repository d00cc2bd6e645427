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


@numba.njit(cache=True)
def _running_weights(order, values, treated, w):
    """One pass along the sorted units: for each distinct value held by a unit with positive
    weight, the running weight of the treated and of the controls at its last unit."""
    n = order.shape[0]
    at1 = np.empty(n)
    at0 = np.empty(n)
    run1 = 0.0
    run0 = 0.0
    held = False
    count = 0
    for i in range(n):
        wi = w[order[i]]
        if treated[i]:
            run1 += wi
        else:
            run0 += wi
        held = held or wi > 0
        if held and (i == n - 1 or values[i + 1] != values[i]):
            at1[count] = run1
            at0[count] = run0
            count += 1
            held = False
    return at1[:count], at0[:count], run1, run0


@dataclass(frozen=True)
class SortedCovariate:
    """One covariate sorted once: the sorting ``order``, the sorted ``values`` and which sorted
    units are ``treated``."""

    order: np.ndarray
    values: np.ndarray
    treated: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, t: np.ndarray) -> SortedCovariate:
        order = np.argsort(x)
        return cls(order, np.ascontiguousarray(x[order], dtype=float), t[order] == 1)

    def ecdf_differences(self, w: np.ndarray) -> tuple[float, float]:
        """Mean and maximum |F_1(v) - F_0(v)| under the weights ``w`` (in the covariate's row
        order; see the module docstring)."""
        at1, at0, total1, total0 = _running_weights(
            self.order, self.values, self.treated, np.ascontiguousarray(w, dtype=float)
        )
        gap = np.abs(at1 / total1 - at0 / total0)
        return float(gap.mean()), float(gap.max())


def ecdf_differences(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Mean and maximum absolute difference between the groups' weighted empirical CDFs, over the
    distinct values of x among the units with positive weight (see the module docstring)."""
    return SortedCovariate.of(x, t).ecdf_differences(w)
