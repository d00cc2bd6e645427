"""Sandwich (influence-function) variances: one-way and two-way cluster-robust, and Welch's.

Convention: an estimator's *influence terms* psi_i are scaled so that estimate - truth ~ sum_i psi_i;
the variance is then the sum of squares of psi (or of its cluster sums).
"""

from __future__ import annotations

import numpy as np

from ..exceptions import DesignError


def sandwich_se(psi: np.ndarray, clusters: np.ndarray | None = None) -> float:
    """Standard error from influence terms, optionally cluster-robust.

    V = G / (G - 1) * sum_g (sum_{i in g} psi_i)^2, with every unit its own cluster when
    ``clusters`` is None (G = n), i.e. the heteroskedasticity-robust (HC1-type) sandwich for a mean;
    with clusters, the Liang-Zeger (1986) cluster-robust variance with the usual G/(G-1) correction.
    """
    psi = np.asarray(psi, dtype=float)
    if clusters is None:
        sums, g = psi, psi.size
    else:
        _, codes = np.unique(clusters, return_inverse=True)
        sums = np.bincount(codes, weights=psi)
        g = sums.size
    if g < 2:
        raise DesignError("cluster", "at least 2 clusters are needed for a cluster-robust variance")
    return float(np.sqrt(g / (g - 1.0) * np.sum(sums**2)))


def influence_sum_squares(psi: np.ndarray, clusters: np.ndarray | None = None) -> np.ndarray:
    """Column by column, the sum of squared influence terms of ``psi`` (n,) or (n, k): sum_i psi_i^2
    without clusters (no small-sample factor: the estimators that use it, the level means of a
    multi-valued treatment and the dose-response curves, report the plain sandwich), or
    G / (G - 1) sum_g (sum_{i in g} psi_i)^2 with them. The square root is a standard error."""
    psi = np.asarray(psi, dtype=float)
    if clusters is None:
        return (psi**2).sum(axis=0)
    _, codes = np.unique(clusters, return_inverse=True)
    sums = np.zeros((int(codes.max()) + 1, *psi.shape[1:]))
    np.add.at(sums, codes, psi)
    g = sums.shape[0]
    return (sums**2).sum(axis=0) * g / max(g - 1, 1)


def two_way_se(psi: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    """Two-way cluster-robust standard error (Cameron, Gelbach & Miller 2011):
    V = V_first + V_second - V_(first x second), each term a :func:`sandwich_se` variance. When
    the difference is not positive (small samples), the larger one-way variance is used."""
    a = np.unique(first, return_inverse=True)[1].ravel()
    b = np.unique(second, return_inverse=True)[1].ravel()
    both = a * (b.max() + 1) + b  # one code per (first, second) pair, for any label type
    v_first, v_second = sandwich_se(psi, a) ** 2, sandwich_se(psi, b) ** 2
    variance = v_first + v_second - sandwich_se(psi, both) ** 2
    return float(np.sqrt(max(variance, v_first, v_second)))


def welch_se(y: np.ndarray, t: np.ndarray) -> float:
    """Unequal-variance standard error of a difference in means: sqrt(s1^2/n1 + s0^2/n0)."""
    y1, y0 = y[t == 1], y[t == 0]
    return float(np.sqrt(y1.var(ddof=1) / y1.size + y0.var(ddof=1) / y0.size))
