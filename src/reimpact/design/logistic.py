"""Logistic regression by Newton-Raphson: maximum likelihood, weighted (pseudo-)likelihood and
Firth's penalised likelihood, the propensity model's fit (:mod:`reimpact.design.propensity`).

At a million rows the fit is bound by passes over the data, so each Newton iteration makes one:
the rows are taken a block at a time, small enough for a block's temporaries to stay in the CPU
cache, and the information X'WX accumulates as symmetric rank-k updates of the rows scaled by
sqrt(w); no n x p array is formed, not even the column of ones (``intercept``). A fit can start
from given coefficients (``start``; e.g. a neighbouring cross-fitting fold's), which reaches the
same optimum of the concave log-likelihood in fewer iterations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..exceptions import DesignError

_SEPARATION_LOGIT = 25.0  # |logit| beyond which a fitted probability is 0 or 1 to 1e-11
_BLOCK = 16384  # rows per block of the information sums: a block's temporaries stay in cache


def fit_logistic(
    x: np.ndarray,
    t: np.ndarray,
    max_iter: int = 100,
    tol: float = 1e-6,
    firth: bool = False,
    sample_weight: np.ndarray | None = None,
    start: np.ndarray | None = None,
    intercept: bool = False,
) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton-Raphson; ``x`` includes the intercept,
    or with ``intercept`` it is added as the first coefficient (without copying ``x``).

    With ``sample_weight`` s it maximises the weighted (pseudo-)likelihood sum_i s_i l_i(beta),
    the survey-weighted logistic regression (score X'S(t - p), information X'S W X), so that the
    score describes the population the weights represent (DuGoff, Schuler & Stuart 2014).

    Newton's method converges quadratically: once a step is below ``tol`` the remaining error is
    of order ``tol**2``, so the loop stops there. With ``firth``, the score is Firth's (1993)
    penalised one, X'(t - p + h (1/2 - p)) with h the diagonal of the weighted hat matrix, whose
    estimates stay finite under separation (Heinze & Schemper 2002).

    ``start`` (coefficients, e.g. of a fit on overlapping data) is where Newton starts instead of
    zero: the optimum is the same (the log-likelihood is concave), reached in fewer iterations.
    Should Newton diverge from ``start``, the fit is repeated from zero.

    Raises :class:`DesignError` when the fit diverges (perfect or quasi-perfect separation).
    """
    t = t.astype(float)
    if firth and sample_weight is not None:
        raise DesignError(
            "propensity.separation",
            "Firth's penalised model ('penalise') does not take sampling weights; use 'exclude' or "
            "'merge', or leave out 'weights'",
        )
    s = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    size = x.shape[1] + intercept
    if start is not None:
        start = np.asarray(start, dtype=float)
        if start.shape != (size,):
            raise ValueError(f"start must hold {size} coefficients, got shape {start.shape}")
        beta = _newton(x, intercept, t, s, start, max_iter, tol, firth)
        if beta is not None:
            return beta
    beta = _newton(x, intercept, t, s, np.zeros(size), max_iter, tol, firth)
    if beta is not None:
        return beta
    raise DesignError(
        "propensity",
        "the logistic model does not converge (perfect or quasi-perfect separation: some "
        "covariate pattern predicts the treatment exactly); set 'propensity.separation: "
        "penalise', remove or coarsen that covariate, or restrict the population",
    )


def _newton(
    x: np.ndarray,
    intercept: bool,
    t: np.ndarray,
    s: np.ndarray | None,
    beta: np.ndarray,
    max_iter: int,
    tol: float,
    firth: bool,
) -> np.ndarray | None:
    """Newton-Raphson from ``beta``: the optimum, or None when the logits diverge.

    Each point is visited once (:func:`_point`); for Firth's model the point a step halving
    accepts carries the information (the next Hessian) and the penalised log-likelihood (the
    base of the next halving)."""
    point = _point(x, intercept, t, s, beta, firth)
    for _ in range(max_iter):
        hessian = point.gram.copy()
        hessian[np.diag_indices_from(hessian)] += 1e-10
        gradient = _firth_score(x, intercept, point, hessian) if firth else point.score
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        if firth:  # step halving: the quadratic model of the penalised likelihood can overshoot
            while True:
                candidate = _point(x, intercept, t, s, beta + step, firth)
                if not (candidate.penalised < point.penalised and np.max(np.abs(step)) > tol):
                    break
                step = step / 2.0
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            eta = _linear_predictor(x, beta, intercept) if not firth else None
            largest = candidate.largest if eta is None else float(np.max(np.abs(eta)))
            return beta if largest <= 2 * _SEPARATION_LOGIT else None
        point = candidate if firth else _point(x, intercept, t, s, beta, firth)
        if point.largest > 2 * _SEPARATION_LOGIT:
            return None
    return None


@dataclass(frozen=True)
class _Point:
    """The logistic model at some coefficients: the information X'WX (``gram``, W = S p (1 - p)),
    the score X'S(t - p), the largest |logit| and, for Firth's model only (which its penalised
    score needs), the probabilities p, the weights w = p (1 - p) and the penalised
    log-likelihood l + log det(X'WX) / 2."""

    p: np.ndarray | None
    w: np.ndarray | None
    gram: np.ndarray
    score: np.ndarray
    largest: float
    penalised: float


def _point(
    x: np.ndarray, intercept: bool, t: np.ndarray, s: np.ndarray | None, beta: np.ndarray, firth: bool
) -> _Point:
    """The model at ``beta`` in one pass over blocks of rows, the information as a sum of
    symmetric rank-k updates of rows scaled by sqrt(w): a block's temporaries stay in the CPU
    cache, no n x p array is formed (about three times faster than X'(X * w) at a million rows)."""
    p = np.empty(x.shape[0]) if firth else None  # kept for Firth's penalised score only
    gram, score = np.zeros((beta.size, beta.size)), np.zeros(beta.size)
    largest, loglik = 0.0, 0.0
    for rows, block in _blocks(x, intercept):
        eta = block @ beta
        largest = max(largest, float(np.max(np.abs(eta))))
        q = expit(eta)
        w = q * (1.0 - q) if s is None else s[rows] * q * (1.0 - q)
        scaled = block * np.sqrt(w)[:, None]
        gram += scaled.T @ scaled
        score += (t[rows] - q if s is None else s[rows] * (t[rows] - q)) @ block
        if p is not None:
            p[rows] = q
            loglik += float(np.sum(t[rows] * np.log(q) + (1.0 - t[rows]) * np.log1p(-q)))
    if p is None:
        return _Point(None, None, gram, score, largest, 0.0)
    penalised = loglik + 0.5 * float(np.linalg.slogdet(gram)[1])
    return _Point(p, p * (1.0 - p), gram, score, largest, penalised)  # Firth: no sampling weights


def _firth_score(x: np.ndarray, intercept: bool, point: _Point, hessian: np.ndarray) -> np.ndarray:
    """Firth's penalised score X'(t - p + h (1/2 - p)), with h_i = w_i x_i' H^-1 x_i =
    w_i |L^-1 x_i|^2 the diagonal of the weighted hat matrix (H = LL', Cholesky; H^-1 itself
    when H is not numerically positive definite), a block of rows at a time."""
    try:
        inverse, factored = np.linalg.inv(np.linalg.cholesky(hessian)).T, True
    except np.linalg.LinAlgError:
        inverse, factored = np.linalg.inv(hessian), False
    assert point.p is not None and point.w is not None  # a point of Firth's model
    score = point.score.copy()
    for rows, block in _blocks(x, intercept):
        product = block @ inverse  # rows of X L^-T, or of X H^-1
        quadratic = np.einsum("ij,ij->i", product, product if factored else block)
        score += (point.w[rows] * quadratic * (0.5 - point.p[rows])) @ block
    return score


def _blocks(x: np.ndarray, intercept: bool) -> Iterator[tuple[slice, np.ndarray]]:
    """Consecutive blocks of rows of the design (``x``, after a column of ones with
    ``intercept``), each with its slice of rows."""
    for a in range(0, x.shape[0], _BLOCK):
        rows = slice(a, a + _BLOCK)
        if not intercept:
            yield rows, x[rows]
            continue
        block = np.empty((min(_BLOCK, x.shape[0] - a), x.shape[1] + 1))
        block[:, 0] = 1.0
        block[:, 1:] = x[rows]
        yield rows, block


def _linear_predictor(x: np.ndarray, coef: np.ndarray, intercept: bool) -> np.ndarray:
    """x'beta, plus the intercept ``coef[0]`` (``x`` without its column of ones) with ``intercept``."""
    return x @ coef[1:] + coef[0] if intercept else x @ coef


def expit(eta: np.ndarray) -> np.ndarray:
    """The logistic function with |eta| capped at 30: probabilities stay within 1e-13 of 0 and 1
    but never reach them, so that their logits (the matching distance) and odds stay finite."""
    return 1.0 / (1.0 + np.exp(-np.clip(eta, -30.0, 30.0)))
