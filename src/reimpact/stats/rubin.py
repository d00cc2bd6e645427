"""Rubin's rules: one estimate and its variance from the analyses of ``m`` imputed data sets.

With estimates q_1..q_m and their squared standard errors u_1..u_m (Rubin 1987; van Buuren
2018):

* pooled estimate Q = mean(q_i);
* within-imputation variance W = mean(u_i);
* between-imputation variance B = sum (q_i - Q)^2 / (m - 1);
* total variance T = W + (1 + 1/m) B, the pooled standard error sqrt(T);
* relative increase in variance r = (1 + 1/m) B / W, and lambda = (1 + 1/m) B / T;
* degrees of freedom: Rubin's (1987) nu_old = (m - 1) / lambda^2, combined with the complete-data
  degrees of freedom nu_com by Barnard & Rubin (1999): nu_obs = (nu_com + 1) / (nu_com + 3) *
  nu_com * (1 - lambda) and nu = nu_old nu_obs / (nu_old + nu_obs). With nu_com infinite (the
  complete-data inference is a large-sample normal one, as every estimator of this package) nu
  is Rubin's nu_old;
* fraction of missing information gamma = (r + 2 / (nu + 3)) / (1 + r) (Rubin 1987, as R's mice
  reports it);
* the interval Q +/- t_(nu, 1 - alpha/2) sqrt(T).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PooledEstimate:
    """One estimate pooled over ``m`` imputations by Rubin's rules (see the module).

    Attributes
    ----------
    estimate : float
        Q, the mean of the estimates.
    std_error : float
        sqrt(T), the square root of the total variance.
    within : float
        W, the mean of the squared standard errors.
    between : float
        B, the variance of the estimates across imputations.
    df : float
        The degrees of freedom of the t reference distribution (infinite when B is 0).
    fmi : float
        The fraction of missing information about the estimate, gamma.
    m : int
        The number of imputations pooled.
    """

    estimate: float
    std_error: float
    within: float
    between: float
    df: float
    fmi: float
    m: int


def pool(
    estimates: np.ndarray | list[float],
    std_errors: np.ndarray | list[float],
    df_complete: float = math.inf,
) -> PooledEstimate:
    """Pool the estimates and standard errors of ``m`` imputed data sets by Rubin's rules.

    Parameters
    ----------
    estimates : array-like of float
        q_1..q_m, the estimate of each imputed data set (at least 2).
    std_errors : array-like of float
        Their standard errors sqrt(u_i).
    df_complete : float
        nu_com, the degrees of freedom of the complete-data analysis (Barnard & Rubin 1999);
        infinite (the default) for large-sample normal inference, which gives Rubin's (1987)
        degrees of freedom.

    Returns
    -------
    PooledEstimate
        Q, sqrt(T), W, B, the degrees of freedom, the fraction of missing information and m.

    Raises
    ------
    ValueError
        With fewer than 2 estimates or lengths that differ.
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(std_errors, dtype=float) ** 2
    m = q.size
    if m < 2 or u.size != m:
        raise ValueError(f"Rubin's rules need at least 2 estimates with a standard error each, got {m}")
    within = float(u.mean())
    # estimates equal up to rounding (an analysis the imputed covariates do not enter, such as the
    # naive difference) have no between-imputation variance, not a rounding error's worth of it
    tied = np.ptp(q) <= 1e-12 * max(1.0, float(np.abs(q).max()))
    between = 0.0 if tied else float(q.var(ddof=1))
    total = within + (1.0 + 1.0 / m) * between
    increase = (1.0 + 1.0 / m) * between
    lam = increase / total if total > 0 else 0.0
    df_old = (m - 1) / lam**2 if lam > 0 else math.inf
    if math.isinf(df_complete):
        df = df_old
    else:
        df_obs = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - lam)
        df = df_obs if math.isinf(df_old) else df_old * df_obs / (df_old + df_obs)
    if increase == 0:
        fmi = 0.0
    elif within == 0:
        fmi = 1.0  # all the variance is between imputations
    else:
        r = increase / within
        fmi = (r + 2.0 / (df + 3.0)) / (1.0 + r)
    return PooledEstimate(float(q.mean()), math.sqrt(total), within, between, df, fmi, m)
