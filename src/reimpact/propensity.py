"""Covariate design matrices and propensity-score models.

The default model is an unpenalised logistic regression fitted by Newton-Raphson (iteratively
reweighted least squares) on the covariates, categorical ones one-hot coded against their most
frequent level. It is unpenalised on purpose: a default L2 penalty (as in scikit-learn's
``LogisticRegression``) silently shrinks the score towards 0.5 and biases matching and weighting.
Perfect separation, which makes the unpenalised fit diverge, is detected and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .exceptions import DesignError

PropensityKind = Literal["logistic", "gradient_boosting"]
_SEPARATION_LOGIT = 25.0  # |logit| beyond which a fitted probability is 0 or 1 to 1e-11


@dataclass(frozen=True)
class CovariateDesign:
    """The numeric design matrix of the covariates (no intercept), with column names and the
    covariate each column comes from."""

    matrix: np.ndarray
    names: list[str]
    sources: list[str]

    def with_intercept(self) -> np.ndarray:
        return np.column_stack([np.ones(self.matrix.shape[0]), self.matrix])


def covariate_design(
    frame: pd.DataFrame, covariates: list[str], categorical: list[str], standardise: bool = True
) -> CovariateDesign:
    """One-hot code categorical covariates (reference: most frequent level) and, when
    ``standardise``, centre and scale numeric ones. A constant covariate is an error."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    sources: list[str] = []
    for column in covariates:
        series = frame[column]
        if column in categorical:
            levels = series.astype(str).value_counts()
            if len(levels) < 2:
                _constant(column)
            for level in sorted(levels.index[1:]):
                blocks.append((series.astype(str) == level).to_numpy(dtype=float))
                names.append(f"{column}={level}")
                sources.append(column)
        else:
            values = pd.to_numeric(series).to_numpy(dtype=float)
            sd = values.std()
            if not np.isfinite(sd) or sd == 0:
                _constant(column)
            blocks.append((values - values.mean()) / sd if standardise else values)
            names.append(column)
            sources.append(column)
    matrix = np.column_stack(blocks) if blocks else np.empty((len(frame), 0))
    return CovariateDesign(matrix, names, sources)


def _constant(column: str) -> None:
    raise DesignError(
        f"covariates: '{column}'",
        "is constant in the analysis sample, so it cannot adjust for anything; remove it",
    )


def check_separation_by_level(design: CovariateDesign, treated: np.ndarray) -> None:
    """A categorical level held only by treated or only by control units separates the groups."""
    for j, name in enumerate(design.names):
        if "=" not in name:
            continue
        has = design.matrix[:, j] == 1
        share = treated[has].mean()
        if share in (0.0, 1.0):
            group = "treated" if share == 1.0 else "control"
            raise DesignError(
                f"covariates: '{design.sources[j]}'",
                f"perfect separation in the propensity model: every unit with {name} is {group}; "
                "restrict the population to levels with both groups or merge that level",
            )


def fit_logistic(x: np.ndarray, t: np.ndarray, max_iter: int = 100, tol: float = 1e-6) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton-Raphson; ``x`` includes the intercept.

    Newton's method converges quadratically: once a step is below ``tol`` the remaining error is
    of order ``tol**2``, so the loop stops there.

    Raises :class:`DesignError` when the fit diverges (perfect or quasi-perfect separation).
    """
    t = t.astype(float)
    beta = np.zeros(x.shape[1])
    eta = np.zeros(x.shape[0])
    for _ in range(max_iter):
        p = expit(eta)
        w = p * (1.0 - p)
        gradient = x.T @ (t - p)
        hessian = x.T @ (x * w[:, None])
        hessian[np.diag_indices_from(hessian)] += 1e-10
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        beta = beta + step
        eta = x @ beta
        if np.max(np.abs(eta)) > 2 * _SEPARATION_LOGIT:
            break
        if np.max(np.abs(step)) < tol:
            return beta
    raise DesignError(
        "propensity",
        "the logistic model does not converge (perfect or quasi-perfect separation: some "
        "covariate pattern predicts the treatment exactly); remove or coarsen that covariate, "
        "or restrict the population",
    )


def expit(eta: np.ndarray) -> np.ndarray:
    """The logistic function, safe for large |eta|."""
    return 1.0 / (1.0 + np.exp(-np.clip(eta, -500, 500)))


class PropensityModel:
    """Propensity-score model with scikit-learn conventions: settings in ``__init__``, ``fit``
    learns ``coef_`` (logistic) or ``estimator_`` (gradient boosting), ``predict`` returns P(T=1|X).

    ``x`` is a design matrix without intercept (see :func:`covariate_design`).
    """

    def __init__(self, kind: PropensityKind = "logistic", random_state: int = 0) -> None:
        self.kind = kind
        self.random_state = random_state

    def fit(self, x: np.ndarray, t: np.ndarray) -> PropensityModel:
        if self.kind == "logistic":
            self.coef_ = fit_logistic(_add_intercept(x), t)
        else:
            from sklearn.ensemble import HistGradientBoostingClassifier

            self.estimator_ = HistGradientBoostingClassifier(random_state=self.random_state)
            self.estimator_.fit(x, t)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "logistic":
            return expit(_add_intercept(x) @ self.coef_)
        return self.estimator_.predict_proba(x)[:, 1]


def _add_intercept(x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(x.shape[0]), x])


@dataclass(frozen=True)
class PropensityScores:
    """Fitted (or given) propensity scores and what was done to them.

    ``design`` is the logistic model's design matrix with intercept, kept so that weighting
    estimators can correct their standard errors for the estimated score; None otherwise.
    """

    scores: np.ndarray
    kind: str
    clip: float
    n_clipped: int
    design: np.ndarray | None

    def clipped(self) -> np.ndarray:
        """Scores bounded to ``[clip, 1 - clip]``."""
        return np.clip(self.scores, self.clip, 1.0 - self.clip)


def estimate_propensity(
    design: CovariateDesign,
    treated: np.ndarray,
    kind: str,
    clip: float,
    given: np.ndarray | None = None,
    random_state: int = 0,
) -> PropensityScores:
    """Fit the propensity model (or check a given score) and check for overlap."""
    x_full = None
    if kind == "column":
        scores = np.asarray(given, dtype=float)
        if np.any((scores <= 0) | (scores >= 1)) or not np.all(np.isfinite(scores)):
            raise DesignError(
                "propensity.column", "a given propensity score must lie strictly between 0 and 1"
            )
    elif kind == "logistic":
        check_separation_by_level(design, treated)
        x_full = design.with_intercept()
        scores = expit(x_full @ fit_logistic(x_full, treated))
    else:
        check_separation_by_level(design, treated)
        scores = PropensityModel(kind, random_state).fit(design.matrix, treated).predict(design.matrix)
    check_overlap(scores, treated)
    n_clipped = int(np.sum((scores < clip) | (scores > 1.0 - clip)))
    return PropensityScores(scores, kind, clip, n_clipped, x_full)


def check_overlap(scores: np.ndarray, treated: np.ndarray) -> None:
    """No overlap at all: the score ranges of the two groups do not intersect."""
    e1, e0 = scores[treated == 1], scores[treated == 0]
    if e1.min() > e0.max() or e0.min() > e1.max():
        raise DesignError(
            "propensity",
            "no overlap: the propensity scores of treated and control units do not intersect, so "
            "no comparison is possible; restrict the population or revise the covariates",
        )


def clipping_note(n_clipped: int, clip: float) -> str:
    """The note every estimator that clips scores adds to its result."""
    return f"{n_clipped} propensity scores outside [{clip:g}, {1 - clip:g}] were clipped to those bounds"
