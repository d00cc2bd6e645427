"""Doubly robust difference-in-differences (Sant'Anna & Zhao 2020), as pure functions on arrays.

A difference-in-differences compares the change of the outcome from a pre-assistance round to a
later round between treated units (D = 1) and controls. Under parallel trends *conditional on the
covariates X*, the ATT is identified, and Sant'Anna & Zhao (2020, "Doubly robust
difference-in-differences estimators", J. Econometrics 219(1), 101-122) give estimators that are
consistent when either the propensity score p(X) = P(D = 1 | X) or the outcome regression is right:

* panel data (every unit seen in both rounds), their eq. (3.1), on the change dY = Y_1 - Y_0:

      ATT = E[(w_1(D) - w_0(D, X)) (dY - m(X))],
      w_1 = D / E[D],  w_0 = (p(X) (1 - D) / (1 - p(X))) / E[p(X) (1 - D) / (1 - p(X))],

  with m(X) = E[dY | X, D = 0] the controls' expected change;
* repeated cross-sections (different units in the two rounds, post = 1 in the later one), the
  locally efficient eq. (3.4), which adds to their eq. (3.3) the treated units' own outcome
  regressions m_{1,t}(X), so that it reaches the semiparametric efficiency bound when both models
  are right.

``method="improved"`` (the default, their Section 3.1 and DRDID's ``drdid_imp_panel`` and
``drdid_imp_rc``) fits p(X) by inverse probability tilting (Graham, Pinto & Egel 2012): the
logistic coefficients solve E[(D - (1 - D) exp(X'g)) X] = 0, so the controls' odds weights
reproduce the treated units' covariate sums exactly, and the control outcome regressions by least
squares weighted by those odds. Both first steps then leave no trace in the influence function,
which is the plug-in one, and the estimator is doubly robust for inference as well.
``method="traditional"`` (panel only) fits p(X) by maximum likelihood and m(X) by ordinary least
squares; its influence function carries the two estimation effects (their Theorem 3.1 proof).

Every function returns the influence terms psi_i (scaled so that ATT_hat - ATT ~ sum_i psi_i) and
the standard error :func:`~reimpact.stats.sandwich.sandwich_se` of them:
SE^2 = G / (G - 1) sum_g (sum_{i in g} psi_i)^2, with each row its own cluster (G = n) unless
``cluster`` is given; rows of one unit (a unit surveyed twice) must share a cluster. Without
clusters this is sd(IF) / sqrt(n), the standard error DRDID's published examples print.

Controls whose score is at or above ``trim`` (0.995, as DRDID) get no weight: their odds would
explode; :attr:`DiDFit.n_trimmed` counts them. Sampling weights s are normalised to mean 1 and
multiply every mean, regression and score equation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..design.propensity import expit, fit_logistic
from ..exceptions import DesignError
from ..stats.sandwich import sandwich_se

DiDMethod = Literal["improved", "traditional"]
_MAX_SCORE = 1.0 - 1e-6  # scores are capped here, so that the odds p / (1 - p) stay finite


@dataclass(frozen=True)
class DiDFit:
    """A DR-DiD estimate of the ATT with its influence terms.

    Parameters
    ----------
    att : float
        The estimated average effect on the treated.
    std_error : float
        The (cluster-robust) standard error from the influence terms.
    influence : numpy.ndarray
        psi_i per row, scaled so that att - ATT ~ sum_i psi_i.
    propensity : numpy.ndarray
        The fitted p(X) per row.
    n_treated : int
        Treated rows.
    n_control : int
        Control rows that carry weight (after ``trim``).
    n_trimmed : int
        Controls given no weight because their score reached ``trim``.
    n_clusters : int
        Clusters of the standard error (rows when none were given).
    """

    att: float
    std_error: float
    influence: np.ndarray
    propensity: np.ndarray
    n_treated: int
    n_control: int
    n_trimmed: int
    n_clusters: int


def fit_tilting(x: np.ndarray, d: np.ndarray, s: np.ndarray, max_iter: int = 200) -> np.ndarray:
    """Inverse probability tilting (Graham, Pinto & Egel 2012) for the ATT: logistic coefficients g
    (``x`` with its intercept column) that minimise the convex loss
    mean(s ((1 - D) exp(X'g) - D X'g)), whose first-order condition
    sum_i s_i (D_i - (1 - D_i) exp(X_i'g)) X_i = 0 makes the controls' odds weights reproduce the
    treated units' covariate sums. Newton steps from the maximum-likelihood fit, halved while the
    Newton decrement exceeds 1e-8 and the loss would rise, until the decrement is below 1e-24;
    :class:`DesignError` when no minimum exists (the treated covariate means lie outside the
    controls' convex hull)."""
    gamma = fit_logistic(x, d, sample_weight=s)
    n = d.size

    def loss(g: np.ndarray) -> float:
        eta = x @ g
        return float(np.sum(s * ((1 - d) * np.exp(np.minimum(eta, 700.0)) - d * eta)) / n)

    for _ in range(max_iter):
        odds = (1 - d) * np.exp(x @ gamma)
        gradient = x.T @ (s * (odds - d)) / n
        hessian = (x * (s * odds)[:, None]).T @ x / n
        if not np.all(np.isfinite(hessian)):
            break  # the odds overflow: the coefficients run off to infinity
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        if gradient @ step < 1e-24:  # Newton decrement: the loss is within 1e-24 of its minimum
            return gamma
        current, size = loss(gamma), 1.0
        # near the minimum the full Newton step converges quadratically, while the loss no longer
        # changes beyond rounding (comparing it would stall the search): halve only far from it
        while gradient @ step > 1e-8 and loss(gamma - size * step) > current and size > 1e-12:
            size /= 2.0
        gamma = gamma - size * step
    raise DesignError(
        "design",
        "the inverse-probability-tilting score does not converge (the treated units' covariates lie "
        "outside the controls' range); remove or coarsen a covariate, or set "
        "panel.did_method: traditional",
    )


def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Weighted least squares of y on x over ``rows``: the fitted values on every row."""
    if rows.sum() < x.shape[1]:
        raise DesignError("design", f"{int(rows.sum())} rows are too few for the outcome regression")
    root = np.sqrt(w[rows])
    coef = np.linalg.lstsq(x[rows] * root[:, None], y[rows] * root, rcond=None)[0]
    return x @ coef


def _prepare(d: np.ndarray, x: np.ndarray | None, weights: np.ndarray | None):
    """The design with an intercept, the treatment as 0/1 floats and weights of mean 1."""
    d = np.asarray(d, dtype=float)
    if not np.isin(d, (0.0, 1.0)).all() or d.min() == d.max():
        raise DesignError("treatment", "must be 0/1 with both treated and control units")
    ones = np.ones((d.size, 1))
    design = ones if x is None or np.size(x) == 0 else np.column_stack([ones, np.asarray(x, float)])
    s = np.ones(d.size) if weights is None else np.asarray(weights, dtype=float)
    return d, design, s / s.mean()


def _score(
    design: np.ndarray, d: np.ndarray, s: np.ndarray, method: DiDMethod, trim: float
) -> tuple[np.ndarray, np.ndarray]:
    """The capped propensity score and the rows that keep their weight (treated, or a control
    below ``trim``)."""
    if method == "improved":
        gamma = fit_tilting(design, d, s)
    else:
        gamma = fit_logistic(design, d, sample_weight=s)
    p = np.minimum(expit(design @ gamma), _MAX_SCORE)
    return p, (d == 1) | (p < trim)


def _result(att: float, inf: np.ndarray, p: np.ndarray, d: np.ndarray, keep: np.ndarray, cluster):
    """The :class:`DiDFit` of an influence function inf (psi = inf / n)."""
    psi = inf / inf.size
    groups = inf.size if cluster is None else np.unique(cluster).size
    return DiDFit(
        att=float(att),
        std_error=sandwich_se(psi, cluster),
        influence=psi,
        propensity=p,
        n_treated=int(d.sum()),
        n_control=int(((d == 0) & keep).sum()),
        n_trimmed=int((~keep).sum()),
        n_clusters=int(groups),
    )


def drdid_panel(
    delta_y: np.ndarray,
    d: np.ndarray,
    x: np.ndarray | None = None,
    *,
    sample_weight: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
    method: DiDMethod = "improved",
    trim: float = 0.995,
) -> DiDFit:
    """Locally efficient doubly robust DiD for panel data (Sant'Anna & Zhao 2020, eq. 3.1).

    With odds weights r = keep p (1 - D) / (1 - p) (keep: treated, or p < ``trim``) and the
    controls' outcome-change regression m(X):

        ATT = mean(s D (dY - m)) / mean(s D) - mean(s r (dY - m)) / mean(s r).

    ``improved``: p by inverse probability tilting (:func:`fit_tilting`), m by least squares on
    the controls weighted by s p / (1 - p); then mean(s D) = mean(s r) and the influence function
    is IF_i = s_i keep_i (D_i - r_i) (dY_i - m_i - D_i ATT) / mean(s D), nuisance estimation
    leaving no trace. ``traditional``: p by maximum likelihood, m by ordinary least squares on the
    controls; IF_i adds the estimation effects of both, with the OLS and logit asymptotic linear
    representations (as DRDID's ``drdid_panel``).

    Parameters
    ----------
    delta_y : numpy.ndarray
        The outcome change Y_post - Y_pre of every unit.
    d : numpy.ndarray
        1 for treated units, 0 for controls.
    x : numpy.ndarray or None
        Pre-treatment covariates (without an intercept, which is added); None: the unconditional DiD.
    sample_weight : numpy.ndarray or None
        Sampling weights (normalised to mean 1).
    cluster : numpy.ndarray or None
        Cluster labels of the standard error; None: every unit its own cluster.
    method : {"improved", "traditional"}
        The nuisance estimators (see above).
    trim : float
        Controls with a score at or above it get no weight.

    Returns
    -------
    DiDFit
        The ATT, its standard error and influence terms.
    """
    d, design, s = _prepare(d, x, sample_weight)
    dy = np.asarray(delta_y, dtype=float)
    p, keep = _score(design, d, s, method, trim)
    control = d == 0
    if method == "improved":
        m = _wls(dy, design, s * p / (1 - p), control)
        summand = keep * (1 - (1 - d) / (1 - p)) * (dy - m)
        att = np.mean(s * summand) / np.mean(s * d)
        return _result(att, s * keep * (summand - d * att) / np.mean(s * d), p, d, keep, cluster)
    m = _wls(dy, design, s, control)
    w_t, w_c = keep * s * d, keep * s * p * (1 - d) / (1 - p)
    eta_t, eta_c = np.mean(w_t * (dy - m)) / w_t.mean(), np.mean(w_c * (dy - m)) / w_c.mean()
    n = d.size
    ols = ((s * control * (dy - m))[:, None] * design) @ np.linalg.pinv(
        (design * (s * control)[:, None]).T @ design / n
    )
    logit = ((s * (d - p))[:, None] * design) @ np.linalg.pinv(
        (design * (s * p * (1 - p))[:, None]).T @ design / n
    )
    inf_t = w_t * (dy - m - eta_t) - ols @ np.mean(w_t[:, None] * design, axis=0)
    inf_c = (
        w_c * (dy - m - eta_c)
        + logit @ np.mean((w_c * (dy - m - eta_c))[:, None] * design, axis=0)
        - ols @ np.mean(w_c[:, None] * design, axis=0)
    )
    return _result(eta_t - eta_c, inf_t / w_t.mean() - inf_c / w_c.mean(), p, d, keep, cluster)


def _ratio(w: np.ndarray, r: np.ndarray) -> tuple[float, np.ndarray]:
    """A weighted mean A = mean(w r) / mean(w) and its influence function w (r - A) / mean(w)."""
    value = float(np.mean(w * r) / np.mean(w))
    return value, w * (r - value) / np.mean(w)


def drdid_rc(
    y: np.ndarray,
    post: np.ndarray,
    d: np.ndarray,
    x: np.ndarray | None = None,
    *,
    sample_weight: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
    trim: float = 0.995,
) -> DiDFit:
    """Improved locally efficient doubly robust DiD for repeated cross-sections (Sant'Anna & Zhao
    2020, eq. 3.4 with the nuisance estimators of their Section 3.2).

    p by inverse probability tilting (:func:`fit_tilting`); the controls' outcome regressions
    m_{0,t}(X) in each round t by least squares weighted by s p / (1 - p), the treated units' own
    m_{1,t}(X) by least squares weighted by s; mu_0 = post m_{0,1} + (1 - post) m_{0,0}. With
    A(w, r) = mean(w r) / mean(w) and r = keep p (1 - D) / (1 - p):

        ATT = [A(sDT, Y - mu_0) - A(sD(1-T), Y - mu_0)] - [A(srT, Y - mu_0) - A(sr(1-T), Y - mu_0)]
              + [A(sD, m_{1,1} - m_{0,1}) - A(sDT, m_{1,1} - m_{0,1})]
              - [A(sD, m_{1,0} - m_{0,0}) - A(sD(1-T), m_{1,0} - m_{0,0})],

    T = post. The influence function is the same combination of the terms' influence functions
    w (r - A) / mean(w) (the first steps leave no trace, as for :func:`drdid_panel`).

    Parameters
    ----------
    y : numpy.ndarray
        The outcome of every row.
    post : numpy.ndarray
        1 for rows of the post-assistance round, 0 for the pre-assistance round.
    d : numpy.ndarray
        1 for treated units, 0 for controls.
    x : numpy.ndarray or None
        Pre-treatment covariates (without an intercept, which is added); None: the unconditional DiD.
    sample_weight : numpy.ndarray or None
        Sampling weights (normalised to mean 1).
    cluster : numpy.ndarray or None
        Cluster labels of the standard error (the unit id when a unit appears in both rounds).
    trim : float
        Controls with a score at or above it get no weight.

    Returns
    -------
    DiDFit
        The ATT, its standard error and influence terms.
    """
    d, design, s = _prepare(d, x, sample_weight)
    y, t = np.asarray(y, dtype=float), np.asarray(post, dtype=float)
    p, keep = _score(design, d, s, "improved", trim)
    odds = s * p / (1 - p)
    m = {
        (arm, period): _wls(y, design, odds if arm == 0 else s, (d == arm) & (t == period))
        for arm in (0, 1)
        for period in (0, 1)
    }
    mu0 = t * m[0, 1] + (1 - t) * m[0, 0]
    r = keep * odds * (1 - d)
    gap1, gap0 = m[1, 1] - m[0, 1], m[1, 0] - m[0, 0]
    terms = [
        (+1, s * d * t, y - mu0), (-1, s * d * (1 - t), y - mu0),
        (-1, r * t, y - mu0), (+1, r * (1 - t), y - mu0),
        (+1, s * d, gap1), (-1, s * d * t, gap1),
        (-1, s * d, gap0), (+1, s * d * (1 - t), gap0),
    ]  # fmt: skip
    att, inf = 0.0, np.zeros(d.size)
    for sign, w, resid in terms:
        value, influence = _ratio(w, resid)
        att, inf = att + sign * value, inf + sign * influence
    return _result(att, inf, p, d, keep, cluster)
