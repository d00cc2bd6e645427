"""Entropy balancing (Hainmueller 2012): weights that balance the covariates' moments exactly.

For the ATT the controls are reweighted so that their weighted moments (means; with ``moments=2``
also second moments, i.e. variances; with 3 third moments) equal the treated units'; for the ATC the
treated units are reweighted to the controls' moments; for the ATE each group is reweighted to the
whole sample's. Among all such weights, entropy balancing takes those closest to the base weights
b_i (the sampling weights, or ones) in Kullback-Leibler divergence. Their solution has the form

    w_i = b_i exp(c_i' lambda) / sum_{j in g} b_j exp(c_j' lambda),   i in the reweighted group g,

with c_i the moment columns and lambda the minimiser of the convex dual

    L(lambda) = log sum_{i in g} b_i exp((c_i - m)' lambda),

m the target moments (the weighted mean of c over the target units, with weights r_i: s_i T_i for
the ATT, s_i (1 - T_i) for the ATC, s_i for the ATE). The gradient of L is the weighted mean of
c - m (zero at balance) and its Hessian their weighted covariance; L is minimised by Newton's
method with step halving. The moment columns are the covariates standardised, their powers (for
columns with more than two values) and then an orthonormal basis of their span (collinear columns,
such as a dummy's square, are balanced once). When m lies outside the convex hull of the group's
moments no weights exist, L has no minimum and :class:`DesignError` names ``methods.entropy``.

The effect is the difference of the weighted means of the outcome (no regression adjustment).

Standard error (M-estimation; Zhao & Percival 2017, who show that entropy balancing is doubly
robust: consistent for the ATT when either the outcome's control mean is linear in c or the score
is logistic-linear in c). Stacking the target equations sum_i r_i (c_i - m) = 0, the balance
equations sum_{i in g} b_i exp(c_i' lambda) (c_i - m) = 0 and the weighted means gives the
influence terms of a reweighted group's mean

    psi_i = w_i (Y_i - mu_g - gamma_g' (c_i - m)) + r_i gamma_g' (c_i - m) / R,

with gamma_g the w-weighted least-squares slope of Y on c in group g and R = sum_i r_i; a group
that is the target itself (the treated for the ATT) has psi_i = r_i (Y_i - mu_g) / R. The effect's
terms are psi(treated) - psi(control) and the variance is :func:`~reimpact.stats.sandwich.sandwich_se`
(cluster-robust with clusters). With sampling weights s_i every equation carries s_i (weights
treated as known).

Small-sample correction (HC2 type, MacKinnon & White 1985): each residual is divided by
sqrt(1 - h_i), h_i = w_i (1 + (c_i - m)' M^-1 (c_i - m)) its leverage in the weighted regression
(M = sum_{i in g} w_i (c_i - m)(c_i - m)'), and in a target group's own mean h_i = w_i. Without
it the interval covered 92.5-93.1% instead of 95% where the weights concentrate on a few controls
(Kang & Schafer's and Austin's designs, 1,000 replications, ``benchmarks/balancing_coverage.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..design.weights import effective_sample_size
from ..exceptions import DesignError
from ..results import Effect
from ..stats.sandwich import sandwich_se
from ._base import SAMPLING_NOTE, EffectEstimator, Estimand, EstimationData, weights_or_ones

_MOMENT_NAMES = {1: "means", 2: "means and variances", 3: "means, variances and skewness"}


def moment_columns(x: np.ndarray, moments: int, sample_weight: np.ndarray) -> np.ndarray:
    """The columns whose weighted means are balanced: the covariates standardised (weighted mean
    and standard deviation of all rows), their powers 2..``moments`` (columns with more than two
    distinct values only: a binary column's square is itself), reduced to an orthonormal basis of
    their centred span (the principal axes of their weighted covariance; axes with a variance
    below 1e-12 of the largest dropped) and scaled to unit variance. Balancing the basis
    balances every column, which it spans."""
    s = sample_weight / sample_weight.sum()
    centred = x - s @ x
    sd = np.sqrt(s @ centred**2)
    z = centred[:, sd > 0] / sd[sd > 0]
    columns = [z]
    several = np.array([np.unique(col).size > 2 for col in z.T], dtype=bool)
    for power in range(2, moments + 1):
        columns.append(z[:, several] ** power)
    c = np.column_stack(columns)
    c = c - s @ c
    variances, axes = np.linalg.eigh((c * s[:, None]).T @ c)
    keep = variances > 1e-12 * variances.max()
    return c @ axes[:, keep] / np.sqrt(variances[keep])


def entropy_weights(
    c: np.ndarray, base: np.ndarray, target: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, int]:
    """Normalised entropy-balancing weights of a group (summing to 1) whose weighted mean of the
    rows of ``c`` equals ``target``, and the number of Newton steps taken.

    Minimises the dual L(lambda) = log sum_i base_i exp((c_i - target)' lambda) (module
    docstring) until the largest moment difference is below ``tol``.

    Raises :class:`DesignError` (``methods.entropy``) when no weights reach the target.
    """
    d = c - target
    lam = np.zeros(c.shape[1])
    log_base = np.log(base)

    def dual(values: np.ndarray) -> tuple[float, np.ndarray]:
        eta = d @ values + log_base
        top = eta.max()
        w = np.exp(eta - top)
        return float(top + np.log(w.sum())), w / w.sum()

    current, w = dual(lam)
    for step_count in range(max_iter):
        gradient = w @ d
        if np.max(np.abs(gradient)) < tol:
            return w, step_count
        spread = d - gradient
        hessian = (spread * w[:, None]).T @ spread
        step = -np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        for _ in range(50):  # halve until the dual does not rise
            trial, trial_w = dual(lam + step)
            if trial <= current + 1e-12 * max(1.0, abs(current)):
                break
            step = step / 2.0
        lam, current, w = lam + step, trial, trial_w
    raise DesignError(
        "methods.entropy",
        "no weights balance the chosen moments (the target group's moments lie outside the "
        "reweighted group's range for some covariate): use fewer moments ('moments: 1'), trim "
        "('propensity.trim') or restrict the population",
    )


def _group_terms(
    y: np.ndarray, c: np.ndarray, w: np.ndarray, r: np.ndarray, target: np.ndarray
) -> tuple[float, np.ndarray]:
    """A reweighted group's weighted mean of ``y`` and its influence terms, residuals scaled by
    their leverage (module docstring): ``w`` the group's normalised weights (zero outside it),
    ``r`` the target units' weights."""
    mu = float(w @ y)
    d = c - target
    inverse = np.linalg.pinv((d * w[:, None]).T @ d)
    gamma = inverse @ (d.T @ (w * (y - mu)))
    fitted = d @ gamma
    leverage = w * (1.0 + np.einsum("ij,jk,ik->i", d, inverse, d))
    residual = (y - mu - fitted) / np.sqrt(np.clip(1.0 - leverage, 1e-3, None))
    psi = w * residual + r * fitted / r.sum()
    return mu, psi


class EntropyBalancingEstimator(EffectEstimator):
    """Entropy balancing (Hainmueller 2012): exact balance on the covariates' moments.

    For the ATT the controls are reweighted to the treated units' moments (treated weight 1), for
    the ATC the treated units to the controls', for the ATE each group to the whole sample's;
    the weights stay as close as possible to the sampling weights (or equal weights) in
    Kullback-Leibler divergence. The effect is the difference in weighted means; its standard
    error is the M-estimation sandwich stacking the balancing equations (Zhao & Percival 2017;
    formula in :mod:`reimpact.estimators.balancing`). Entropy balancing is doubly robust for the
    ATT: consistent when the control outcome is linear in the balanced moments or the propensity
    score is logistic in them.

    Parameters
    ----------
    estimand : {"ATT", "ATC", "ATE"}
        The effect to estimate.
    moments : {1, 2, 3}
        The moments balanced: 1 means, 2 (default) means and variances, 3 also skewness (third
        moments; powers of binary columns are not added).
    max_iter : int
        Newton steps allowed on the dual before reporting that no weights exist.
    tol : float
        Largest moment difference accepted, in standard deviations of the moment columns.

    Attributes
    ----------
    effects_ : tuple of Effect
    weights_ : ndarray
        Every unit's weight, the sampling weight not included (the effect uses their product):
        1 for the target group (ATT: the treated), and in a reweighted group scaled so that the
        sampling-weighted total equals the target's (ATT: the number of treated units).
    n_iter_ : dict
        Newton steps taken for each reweighted group (``"treated"``, ``"control"``).
    """

    name = "entropy"
    label = "Entropy balancing"
    supports = frozenset({"sample_weight"})
    balance_label = "entropy"

    def __init__(
        self,
        *,
        estimand: Estimand = "ATT",
        moments: Literal[1, 2, 3] = 2,
        max_iter: Annotated[int, Field(ge=10, le=10_000)] = 200,
        tol: Annotated[float, Field(gt=0.0, le=1e-3)] = 1e-8,
    ) -> None:
        self.estimand = estimand
        self.moments = moments
        self.max_iter = max_iter
        self.tol = tol

    def _estimate(self, data: EstimationData) -> list[Effect]:
        t, s = data.t, weights_or_ones(data)
        c = moment_columns(data.x, self.moments, s)
        r = {"ATT": s * t, "ATC": s * (1 - t), "ATE": s}[self.estimand]
        target = r @ c / r.sum()
        reweighted = {"ATT": (0,), "ATC": (1,), "ATE": (0, 1)}[self.estimand]
        normalised, units, steps = {}, np.ones(t.size), {}
        for group in (1, 0):
            member = t == group
            if group in reweighted:
                w, steps[group] = entropy_weights(c[member], s[member], target, self.max_iter, self.tol)
            else:
                w = s[member] / s[member].sum()
            full = np.zeros(t.size)
            full[member] = w
            normalised[group] = full
            units[member] = w * r.sum() / s[member]
        self.weights_ = units
        self.n_iter_ = {("treated" if g == 1 else "control"): n for g, n in steps.items()}
        notes = [
            f"entropy balancing on the covariates' {_MOMENT_NAMES[self.moments]}; difference in "
            "weighted means, no regression adjustment",
            *(
                f"effective sample size of the reweighted {'treated' if g else 'control'} units: "
                f"{effective_sample_size(normalised[g]):.0f} of {int((t == g).sum())}"
                for g in reweighted
            ),
        ]
        if data.sample_weight is not None:
            notes.append(SAMPLING_NOTE)
        se_type = "sandwich (M-estimation, balancing equations stacked)"
        if data.cluster is not None:
            se_type += f", cluster-robust by {data.cluster_name}"
        effects = []
        for j, outcome in enumerate(data.outcomes):
            y = data.y[:, j]
            means, psi = [], np.zeros(t.size)
            for group, sign in ((1, 1.0), (0, -1.0)):
                if group in reweighted:
                    mu, terms = _group_terms(y, c, normalised[group], r, target)
                else:
                    mu = float(normalised[group] @ y)
                    own = normalised[group]
                    terms = own * (y - mu) / np.sqrt(np.clip(1.0 - own, 1e-3, None))
                means.append(mu)
                psi += sign * terms
            effects.append(
                Effect(
                    outcome=outcome,
                    method=self.name,
                    estimand=self.estimand,
                    estimate=means[0] - means[1],
                    std_error=sandwich_se(psi, data.cluster),
                    n_treated=int(t.sum()),
                    n_control=int((1 - t).sum()),
                    se_type=se_type,
                    notes=tuple(notes),
                )
            )
        return effects
