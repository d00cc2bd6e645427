"""The Abadie-Imbens variance of matching estimators: the conditional variance from same-group
neighbours, the variance with replacement (Abadie & Imbens 2006) and the estimated-score term
(Abadie & Imbens 2016)."""

from __future__ import annotations

import numba
import numpy as np


def matching_conditional_variance(y: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Abadie & Imbens (2006, eq. 14) estimate of sigma^2(X_i, W_i) from the J nearest units of the
    same group: sigma_i^2 = J / (J + 1) * (Y_i - mean of the J neighbours' Y)^2."""
    valid = neighbours >= 0
    j = valid.sum(axis=1)
    sums = np.where(valid, y[np.where(valid, neighbours, 0)], 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = j / (j + 1.0) * (y - sums / j) ** 2
    # A unit alone in its group has no neighbour: use the group's variance.
    if np.any(j == 0):
        sigma2[j == 0] = np.nanmean(sigma2[j > 0]) if np.any(j > 0) else 0.0
    return sigma2


def abadie_imbens_se(
    d: np.ndarray,
    focal_units: np.ndarray,
    matched: np.ndarray,
    weight: np.ndarray,
    sigma2: np.ndarray,
) -> float:
    """Abadie & Imbens (2006) standard error of a matching estimator with replacement.

    The estimate is the mean over the N_f matched focal units of d_f = +/-(Y_f - imputed Y_f). With
    u_j = sum_{f uses j} 1/k_f, s_j = sum_{f uses j} 1/k_f^2 and o_j = 1 when j is itself a matched
    focal unit (ATE matches in both directions),

        V = 1/N_f^2 [ sum_f (d_f - tau)^2 + sum_j ((o_j + u_j)^2 - o_j - s_j) sigma_j^2 ],

    which with k_f = M reduces to the paper's K_M(i)(K_M(i) - 1)/M^2 (ATT) and
    (K_M(i)/M)^2 + (2M - 1)/M * K_M(i)/M (ATE) terms. The propensity score is treated as known
    (the Abadie-Imbens 2016 correction for its estimation is not applied).
    """
    n = sigma2.size
    u = np.bincount(matched, weights=weight, minlength=n)
    s = np.bincount(matched, weights=weight**2, minlength=n)
    o = np.zeros(n)
    o[focal_units] = 1.0
    tau = d.mean()
    n_f = d.size
    variance = (np.sum((d - tau) ** 2) + np.sum(((o + u) ** 2 - o - s) * sigma2)) / n_f**2
    return float(np.sqrt(max(variance, 0.0)))


@numba.njit(cache=True, parallel=True)
def _weighted_local_covariance(x, y, neighbours, weights):
    """sum_i weights_i cov(X, Y | neighbours of i): the local covariance over each unit's
    neighbours (n x k indices, an estimate of cov(X, mu(w, X) | score)), weighted and summed."""
    n, k = neighbours.shape
    p = x.shape[1]
    chunks = 64
    partial = np.zeros((chunks, p))
    for c in numba.prange(chunks):
        x_mean = np.empty(p)
        for i in range(c * n // chunks, (c + 1) * n // chunks):
            if weights[i] == 0.0:
                continue
            y_mean = 0.0
            x_mean[:] = 0.0
            for a in range(k):
                m = neighbours[i, a]
                y_mean += y[m]
                x_mean += x[m]
            y_mean /= k
            x_mean /= k
            scale = weights[i] / (k - 1)
            for a in range(k):
                m = neighbours[i, a]
                dy = (y[m] - y_mean) * scale
                for j in range(p):
                    partial[c, j] += (x[m, j] - x_mean[j]) * dy
    return partial.sum(axis=0)


def estimated_score_adjustment(
    estimand: str,
    x: np.ndarray,
    e: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    unit_effects: np.ndarray,
    tau: float,
    neighbours: tuple[np.ndarray, np.ndarray],
) -> float:
    """Abadie & Imbens (2016) adjustment to the variance of a matching estimator for a logistic
    score estimated by maximum likelihood (to be added to the variance that treats it as known).

    With F the score, f = F(1 - F) its derivative, I = mean f X X' the information matrix, and
    cov_w(X) = cov(X, mu(w, X) | F) estimated over each unit's nearest units of group w
    (``neighbours`` = (indices in group 0, indices in group 1), n x k each):

        ATE: -c' I^-1 c / N,   c = mean f [cov_1 / F + cov_0 / (1 - F)]
        ATT: (-c_t' I^-1 c_t + d_t' I^-1 d_t) / N,
             c_t = sum f [cov_1 + F / (1 - F) cov_0] / N_1,  d_t = sum X f (tau_i - tau) / N_1

    where tau_i are unit-level imputed effects. The ATC mirrors the ATT with the groups swapped.
    The ATE term is never positive; the ATT term can go either way.
    """
    n = t.size
    f = e * (1.0 - e)
    info_inv = np.linalg.pinv((x * f[:, None]).T @ x / n)
    x, y = np.ascontiguousarray(x, dtype=float), np.ascontiguousarray(y, dtype=float)

    def local(group: int, weights: np.ndarray) -> np.ndarray:
        return _weighted_local_covariance(x, y, neighbours[group], weights)

    if estimand == "ATE":
        c = (local(1, f / e) + local(0, f / (1.0 - e))) / n
        return float(-c @ info_inv @ c / n)
    if estimand == "ATT":
        n_focal = t.sum()
        c = (local(1, f) + local(0, f * e / (1.0 - e))) / n_focal
    else:
        n_focal = (1 - t).sum()
        c = (local(0, f) + local(1, f * (1.0 - e) / e)) / n_focal
    d = x.T @ (f * (unit_effects - tau)) / n_focal
    return float((-c @ info_inv @ c + d @ info_inv @ d) / n)
