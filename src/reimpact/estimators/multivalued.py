"""Effects of a multi-valued treatment (levels 0 .. K-1): the mean potential outcome of every level,
mu_a = E[Y(a)], by inverse probability weighting or AIPW on the generalised propensity score
e_a(x) = P(T = a | x), then every contrast mu_a - mu_b with its standard error from the influence
functions (Cattaneo 2010; Lopez & Gutman 2017). The target is the ATE of level a against level
b over the whole population.

Arrays in, effects out: ``y`` (n,), ``codes`` (n,) indices into the levels, ``scores`` (n, K).
Sampling weights s_i weight every sum; without them s_i = 1. Where a score is inverted it is
bounded below by ``clip`` (the study's ``propensity.clip``).

Standard errors. Each estimator is an M-estimator of (mu_0, ..., mu_{K-1}) with influence
function phi_a,i; the variance of mu_a - mu_b is sum_i s_i^2 (phi_a,i - phi_b,i)^2 / (sum_i s_i)^2
(clustered: the s_i (phi_a,i - phi_b,i) summed within each cluster first, times G / (G - 1)).
The generalised score is treated as known: for AIPW its estimation adds nothing to first order
(the estimating equation is Neyman-orthogonal in the score); for IPW, estimating the score would
reduce the variance of an ATE contrast (Hirano, Imbens & Ridder 2003; Cattaneo 2010, Theorem 2),
so the IPW standard errors are conservative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..results import Effect
from ..stats.sandwich import influence_sum_squares

SE_TYPE = "influence function"


@dataclass(frozen=True)
class LevelMeans:
    """Estimated mean potential outcomes of every level and their influence functions.

    Parameters
    ----------
    means : numpy.ndarray
        (K,) estimated mu_a.
    influence : numpy.ndarray
        (n, K) influence function values phi_a,i (each column has weighted mean 0).
    """

    means: np.ndarray
    influence: np.ndarray


def _weights(n: int, sample_weight: np.ndarray | None) -> np.ndarray:
    return np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)


def ipw_means(
    y: np.ndarray,
    codes: np.ndarray,
    scores: np.ndarray,
    clip: float = 0.0,
    sample_weight: np.ndarray | None = None,
) -> LevelMeans:
    """Normalised (Hajek) IPW means of every level.

    mu_a = sum_i s_i 1[T_i = a] Y_i / e_a(x_i) / sum_i s_i 1[T_i = a] / e_a(x_i), with influence
    function phi_a,i = (1[T_i = a] / e_a(x_i)) (Y_i - mu_a) / W_a, where
    W_a = sum_i s_i 1[T_i = a] / e_a(x_i) / sum_i s_i (the score treated as known). With
    e_a(x) = the share of level a this is the difference in means.

    Parameters
    ----------
    y : numpy.ndarray
        (n,) outcome.
    codes : numpy.ndarray
        (n,) level of every unit, 0 .. K-1.
    scores : numpy.ndarray
        (n, K) generalised propensity scores.
    clip : float
        Lower bound of an inverted score.
    sample_weight : numpy.ndarray or None
        Sampling weights.

    Returns
    -------
    LevelMeans
    """
    s = _weights(y.size, sample_weight)
    k = scores.shape[1]
    means = np.empty(k)
    influence = np.empty((y.size, k))
    for a in range(k):
        inverse = (codes == a) / np.maximum(scores[:, a], clip)
        mass = float(np.sum(s * inverse))
        means[a] = float(np.sum(s * inverse * y)) / mass
        influence[:, a] = inverse * (y - means[a]) / (mass / s.sum())
    return LevelMeans(means, influence)


def _level_folds(codes: np.ndarray, folds: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty(codes.size, dtype=np.int64)
    for level in np.unique(codes):
        members = rng.permutation(np.flatnonzero(codes == level))
        out[members] = np.arange(members.size) % folds
    return out


def _ols_predict(x: np.ndarray, y: np.ndarray, w: np.ndarray, new: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(x.shape[0]), x])
    root = np.sqrt(w)
    coef = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
    return np.column_stack([np.ones(new.shape[0]), new]) @ coef


def outcome_predictions(
    x: np.ndarray,
    y: np.ndarray,
    codes: np.ndarray,
    k: int,
    folds: int = 5,
    sample_weight: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Cross-fitted outcome regressions m_a(x) = E[Y | T = a, x]: (n, K), every unit's m_a
    predicted by a (weighted) least-squares fit of Y on (1, x) among the level-a units of the
    other folds (folds dealt within each level)."""
    s = _weights(y.size, sample_weight)
    fold = _level_folds(codes, folds, seed)
    m = np.empty((y.size, k))
    for f in range(folds):
        test = fold == f
        for a in range(k):
            train = (~test) & (codes == a)
            m[test, a] = _ols_predict(x[train], y[train], s[train], x[test])
    return m


def aipw_means(
    y: np.ndarray,
    codes: np.ndarray,
    scores: np.ndarray,
    predictions: np.ndarray,
    clip: float = 0.0,
    sample_weight: np.ndarray | None = None,
) -> LevelMeans:
    """Augmented IPW means of every level (Cattaneo 2010's efficient influence function).

    psi_a,i = m_a(x_i) + 1[T_i = a] (Y_i - m_a(x_i)) / e_a(x_i); mu_a = sum_i s_i psi_a,i /
    sum_i s_i, with influence function phi_a,i = psi_a,i - mu_a. Consistent when either the score
    or the outcome regressions are right.

    Parameters
    ----------
    y : numpy.ndarray
        (n,) outcome.
    codes : numpy.ndarray
        (n,) level of every unit, 0 .. K-1.
    scores : numpy.ndarray
        (n, K) generalised propensity scores.
    predictions : numpy.ndarray
        (n, K) outcome regressions m_a(x_i), cross-fitted (:func:`outcome_predictions`).
    clip : float
        Lower bound of an inverted score.
    sample_weight : numpy.ndarray or None
        Sampling weights.

    Returns
    -------
    LevelMeans
    """
    s = _weights(y.size, sample_weight)
    received = codes[:, None] == np.arange(scores.shape[1])[None, :]
    psi = predictions + received * (y[:, None] - predictions) / np.maximum(scores, clip)
    means = (s[:, None] * psi).sum(axis=0) / s.sum()
    return LevelMeans(means, psi - means[None, :])


def contrast_se(
    phi: np.ndarray, sample_weight: np.ndarray | None = None, cluster: np.ndarray | None = None
) -> float:
    """Standard error of a contrast from its influence function phi (n,): the square root of
    sum_i s_i^2 phi_i^2 / (sum_i s_i)^2, or with clusters sum_g (sum_{i in g} s_i phi_i)^2 G / (G - 1)
    over (sum_i s_i)^2."""
    s = _weights(phi.size, sample_weight)
    return float(np.sqrt(influence_sum_squares(s * phi, cluster)) / s.sum())


def contrast_pairs(levels: tuple[str, ...]) -> list[tuple[int, int]]:
    """Every level against the reference (``levels[0]``), then every other pair in level order."""
    k = len(levels)
    pairs = [(a, 0) for a in range(1, k)]
    return pairs + [(a, b) for b in range(1, k) for a in range(b + 1, k)]


def level_effects(
    fitted: LevelMeans,
    levels: tuple[str, ...],
    codes: np.ndarray,
    outcome: str,
    method: str,
    sample_weight: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
    notes: tuple[str, ...] = (),
    pairs: list[tuple[int, int]] | None = None,
) -> list[Effect]:
    """One ATE :class:`~reimpact.results.Effect` per contrast of ``pairs`` (default
    :func:`contrast_pairs`), its ``contrast`` reading ``"a vs b"``; ``n_treated`` counts the
    units at level a and ``n_control`` those at level b."""
    counts = np.bincount(codes, minlength=len(levels))
    se_type = SE_TYPE if cluster is None else f"{SE_TYPE}, cluster-robust"
    effects = []
    for a, b in contrast_pairs(levels) if pairs is None else pairs:
        phi = fitted.influence[:, a] - fitted.influence[:, b]
        effects.append(
            Effect(
                outcome=outcome,
                method=method,
                estimand="ATE",
                estimate=float(fitted.means[a] - fitted.means[b]),
                std_error=contrast_se(phi, sample_weight, cluster),
                n_treated=int(counts[a]),
                n_control=int(counts[b]),
                se_type=se_type,
                notes=notes,
                contrast=f"{levels[a]} vs {levels[b]}",
            )
        )
    return effects
