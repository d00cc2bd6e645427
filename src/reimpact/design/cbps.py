"""Covariate-balancing propensity score (CBPS, just identified; Imai & Ratkovic 2014).

The score is logistic, e(x) = expit(x'beta) with ``x`` holding an intercept, but beta solves the
covariate-balancing conditions of the estimand instead of the logistic score equations. With
sampling weights s_i (one when none are given), the conditions are sum_i s_i a(T_i, eta_i) x_i = 0
with eta = x'beta and

    ATE: a = T/e - (1-T)/(1-e)      (each group weighted by the inverse score balances the other)
    ATT: a = T - (1-T) e/(1-e)      (the controls weighted by the odds balance the treated)
    ATC: a = T (1-e)/e - (1-T)      (the treated weighted by the inverse odds balance the controls)

so that the Hajek weights of the fitted score (:mod:`reimpact.design.weights`) balance the
covariate means exactly. Each a is the derivative in eta of a concave function (for the ATE,
T (eta - exp(-eta)) - (1-T) (eta + exp(eta)); for the ATT, T eta - (1-T) exp(eta); for the ATC,
-T exp(-eta) - (1-T) eta), so the conditions are the gradient of a concave objective with a unique
maximiser when one exists; it is found by Newton's method with step halving, from the logistic
maximum-likelihood estimate. When the weighted groups cannot be balanced (a covariate pattern held
by one group only) the objective has no maximum and a :class:`DesignError` names
``propensity.model``.

For the standard errors of estimators that weight on the score, :func:`cbps_influence` gives the
coefficients' influence terms from the same equations (M-estimation: beta_hat - beta ~
-G^-1 sum_i g_i, G the Jacobian of the conditions), so that the estimated-score term of the IPW
sandwich uses CBPS's own estimating equations.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import DesignError

_NO_BALANCE = (
    "the covariate-balancing score (cbps) does not converge: no logistic score balances the "
    "weighted groups (some covariate pattern is held by one group only); use 'model: logistic' "
    "with 'separation: penalise', trim ('propensity.trim') or revise the covariates"
)


def _parts(eta: np.ndarray, t: np.ndarray, estimand: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit: the concave objective's term, its derivative a in eta and its second derivative."""
    eta = np.clip(eta, -30.0, 30.0)
    up, down = np.exp(eta), np.exp(-eta)
    if estimand == "ATT":
        value = t * eta - (1 - t) * up
        first = t - (1 - t) * up
        second = -(1 - t) * up
    elif estimand == "ATC":
        value = -t * down - (1 - t) * eta
        first = t * down - (1 - t)
        second = -t * down
    else:
        value = t * (eta - down) - (1 - t) * (eta + up)
        first = t * (1 + down) - (1 - t) * (1 + up)
        second = -t * down - (1 - t) * up
    return value, first, second


def fit_cbps(
    x: np.ndarray,
    t: np.ndarray,
    estimand: str = "ATE",
    sample_weight: np.ndarray | None = None,
    start: np.ndarray | None = None,
    max_iter: int = 200,
    tol: float = 1e-10,
) -> np.ndarray:
    """The just-identified CBPS coefficients (``x`` includes the intercept).

    Newton's method on the concave objective (module docstring) with step halving, from
    ``start`` (the logistic estimate, or zeros). It stops when the largest balance condition,
    divided by the total sampling weight, is below ``tol``.

    Raises :class:`DesignError` (``propensity.model``) when the conditions have no solution.
    """
    t = np.asarray(t, dtype=float)
    s = np.ones(t.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    total = s.sum()
    beta = np.zeros(x.shape[1]) if start is None else np.asarray(start, dtype=float).copy()

    def objective(b: np.ndarray) -> float:
        return float(np.sum(s * _parts(x @ b, t, estimand)[0]))

    current = objective(beta)
    for _ in range(max_iter):
        eta = x @ beta
        _, first, second = _parts(eta, t, estimand)
        gradient = x.T @ (s * first)
        if np.max(np.abs(gradient)) / total < tol:
            return beta
        hessian = x.T @ (x * (s * second)[:, None])
        step = -np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        for _ in range(60):  # halve until the objective does not fall
            trial = objective(beta + step)
            if np.isfinite(trial) and trial >= current - 1e-12 * abs(current):
                break
            step = step / 2.0
        beta, current = beta + step, objective(beta + step)
        if np.max(np.abs(x @ beta)) > 30.0:
            break
    raise DesignError("propensity.model", _NO_BALANCE)


def cbps_influence(
    x: np.ndarray,
    t: np.ndarray,
    beta: np.ndarray,
    estimand: str = "ATE",
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Each unit's influence on the CBPS coefficients, shape (n, p): row i is -G^-1 g_i with
    g_i = s_i a(T_i, eta_i) x_i the unit's balance condition and G = sum_i s_i a'(eta_i) x_i x_i'
    the conditions' Jacobian (Imai & Ratkovic 2014, just-identified GMM = M-estimation)."""
    t = np.asarray(t, dtype=float)
    s = np.ones(t.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    _, first, second = _parts(x @ beta, t, estimand)
    jacobian = x.T @ (x * (s * second)[:, None])
    conditions = x * (s * first)[:, None]
    return -(np.linalg.pinv(jacobian) @ conditions.T).T
