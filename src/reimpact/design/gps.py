"""The generalised propensity score of a multi-valued treatment (Imbens 2000): for every unit and
every treatment level a, e_a(x) = P(T = a | X = x), the K scores of a unit summing to 1.

The default model is a multinomial logistic regression, P(T = a | x) = exp(x'b_a) / sum_k
exp(x'b_k) with the reference level's coefficients fixed at 0, fitted by maximum likelihood on the
standardised covariates with a negligible L2 penalty (scikit-learn's ``LogisticRegression`` with
C = 1e6, which only keeps the fit finite under quasi-separation; the binary score is unpenalised
for the same reason). ``gradient_boosting`` cross-fits a histogram gradient-boosting classifier
(every unit's scores predicted by a model that did not see it, as for the binary score).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..exceptions import DesignError

GPSModel = Literal["logistic", "gradient_boosting"]
_FOLDS = 5


@dataclass(frozen=True)
class GeneralisedScores:
    """Fitted generalised propensity scores.

    Parameters
    ----------
    levels : tuple of str
        The treatment levels, the reference first.
    codes : numpy.ndarray
        Every unit's level as an index into ``levels``.
    scores : numpy.ndarray
        (n, K) matrix, ``scores[i, a]`` = e_a(x_i); rows sum to 1.
    model : str
        ``"logistic"`` (multinomial) or ``"gradient_boosting"``.
    """

    levels: tuple[str, ...]
    codes: np.ndarray
    scores: np.ndarray
    model: str

    def own(self) -> np.ndarray:
        """Every unit's score for the level it received, e_{T_i}(x_i)."""
        return self.scores[np.arange(self.codes.size), self.codes]

    def min_by_level(self) -> dict[str, float]:
        """The smallest score for each level over all units: overlap fails for level a where
        e_a(x) is near 0 for some units (they could not have received a)."""
        return {level: float(self.scores[:, j].min()) for j, level in enumerate(self.levels)}


def fit_gps(
    x: np.ndarray,
    codes: np.ndarray,
    levels: tuple[str, ...],
    model: GPSModel = "logistic",
    sample_weight: np.ndarray | None = None,
    random_state: int = 0,
) -> GeneralisedScores:
    """Fit the generalised propensity score of ``codes`` (indices into ``levels``) on ``x``.

    Parameters
    ----------
    x : numpy.ndarray
        (n, p) covariate matrix (categorical covariates already coded).
    codes : numpy.ndarray
        Every unit's level, 0 .. K-1; every level must occur.
    levels : tuple of str
        The level names, K >= 3.
    model : {"logistic", "gradient_boosting"}
        Multinomial logit (maximum likelihood, negligible penalty) or cross-fitted boosting.
    sample_weight : numpy.ndarray or None
        Sampling weights of the likelihood.
    random_state : int
        Seed of the boosting folds.

    Returns
    -------
    GeneralisedScores

    Raises
    ------
    DesignError
        When a level has fewer than 2 units.
    """
    k = len(levels)
    counts = np.bincount(codes, minlength=k)
    if counts.min() < 2:
        level = levels[int(counts.argmin())]
        raise DesignError(
            "treatment.levels",
            f"level '{level}' has {int(counts.min())} units; remove it from 'levels' or merge it",
        )
    scale = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    if model == "logistic":
        from sklearn.linear_model import LogisticRegression

        fitted = LogisticRegression(C=1e6, max_iter=2000).fit(z, codes, sample_weight=sample_weight)
        scores = fitted.predict_proba(z)
    else:
        scores = _boosted(z, codes, k, sample_weight, random_state)
    return GeneralisedScores(tuple(levels), codes, scores, model)


def _boosted(
    z: np.ndarray, codes: np.ndarray, k: int, sample_weight: np.ndarray | None, seed: int
) -> np.ndarray:
    """Cross-fitted boosting probabilities, folds dealt within each level."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(seed)
    folds = np.empty(codes.size, dtype=np.int64)
    for level in range(k):
        members = rng.permutation(np.flatnonzero(codes == level))
        folds[members] = np.arange(members.size) % _FOLDS
    scores = np.empty((codes.size, k))
    for fold in range(_FOLDS):
        train = folds != fold
        weight = None if sample_weight is None else sample_weight[train]
        clf = HistGradientBoostingClassifier(random_state=seed)
        clf.fit(z[train], codes[train], sample_weight=weight)
        scores[~train] = clf.predict_proba(z[~train])
    return scores
