"""Weighted least squares in the matched (or weighted) sample and the influence terms of the
g-computation estimate it gives."""

from __future__ import annotations

import numpy as np


def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray, rows: np.ndarray):
    """WLS of y on x (with intercept column) over ``rows``: coefficients and the pseudo-inverse of
    M = sum w x x' (pseudo-inverse, so that a dummy constant in the matched sample is harmless)."""
    xr, wr = x[rows], w[rows]
    weighted = xr * wr[:, None]
    m_inv = np.linalg.pinv(weighted.T @ xr)
    return m_inv @ (weighted.T @ y[rows]), m_inv


def matched_regression(
    y: np.ndarray, t: np.ndarray, w: np.ndarray, estimand: str, x: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Effect in a weighted (e.g. matched) sample by g-computation, and its influence terms.

    Separate WLS fits of Y on (1, X) with weights w in each arm (the same as one regression of
    Y on T * X) give m_1 and m_0; the effect averages m_1(X) - m_0(X) over the target units with
    weights v = w T (ATT), w (1 - T) (ATC) or w (ATE):

        tau = sum_i v_i (m_1(X_i) - m_0(X_i)) / V,   V = sum_i v_i,
        psi_i = v_i (m_1(X_i) - m_0(X_i) - tau) / V
                + xbar_v' M_1^+ X_i w_i T_i r_i - xbar_v' M_0^+ X_i w_i (1 - T_i) r_i,

    with xbar_v = sum v X / V, M_a = sum over arm a of w X X' and r_i the residual in its arm;
    the weights are held fixed (Ho, Imai, King & Stuart 2007; MatchIt's "Estimating effects after
    matching"). Without ``x`` this is the weighted difference in means (the WLS of Y on (1, T)).
    With matched sets as clusters, :func:`sandwich_se` of psi is the cluster-robust variance that
    Abadie & Spiess (2022) justify after matching without replacement.
    """
    # only units with weight enter any sum: the rest (unmatched units) get psi = 0
    used = np.flatnonzero(w > 0)
    yu, wu, treated = y[used], w[used], t[used] == 1
    ones = np.ones((used.size, 1))
    design = ones if x is None else np.column_stack([ones, x[used]])
    v = wu * {"ATT": treated, "ATC": ~treated, "ATE": np.ones(used.size, bool)}[estimand]
    big_v = v.sum()
    xbar = design.T @ v / big_v
    predicted, psi = [], np.zeros(used.size)
    for sign, rows in ((1.0, treated), (-1.0, ~treated)):
        coef, m_inv = _wls(yu, design, wu, rows)
        fitted = design @ coef
        predicted.append(fitted)
        resid = np.where(rows, yu - fitted, 0.0)
        psi += sign * (design @ (m_inv @ xbar)) * wu * resid
    contrast = predicted[0] - predicted[1]
    tau = float(v @ contrast / big_v)
    psi += v * (contrast - tau) / big_v
    full = np.zeros(y.size)
    full[used] = psi
    return tau, full
