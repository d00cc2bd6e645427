"""Propensity-score models, their bounds by estimand and the fitted scores.

The default model is an unpenalised logistic regression fitted by Newton-Raphson (iteratively
reweighted least squares, :mod:`reimpact.design.logistic`) on the covariates, categorical ones
one-hot coded against their most frequent level. It is unpenalised on purpose: a default L2
penalty (as in scikit-learn's ``LogisticRegression``) silently shrinks the score towards 0.5 and
biases matching and weighting. Perfect separation, which makes the unpenalised fit diverge, is
detected and reported.

Gradient boosting overfits the units it was fitted on (in-sample scores pile up near 0 and 1), so
its scores are cross-fitted, every unit's score predicted by a model that did not see it, and
Platt-calibrated (a logistic fit of the treatment on the boosted logit, from inner folds).

Where a score is inverted, :func:`bound_scores` bounds it by estimand: only the side whose weights
can explode is bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..diagnostics.overlap import check_overlap
from ..exceptions import DesignError
from .cbps import cbps_influence, fit_cbps
from .covariates import CovariateDesign
from .logistic import expit, fit_logistic

# "firth": the logistic model by Firth's penalised likelihood (``propensity.separation: penalise``);
# "cbps": the covariate-balancing logistic score (:mod:`reimpact.design.cbps`)
PropensityKind = Literal["logistic", "firth", "gradient_boosting", "cbps"]


class PropensityModel:
    """Propensity-score model with scikit-learn conventions.

    Settings in ``__init__``, ``fit`` learns ``coef_`` (logistic) or ``estimator_`` (gradient
    boosting), ``predict`` returns P(T=1|X). The logistic model is unpenalised, fitted by
    Newton-Raphson; ``firth`` fits it by Firth's penalised likelihood, whose estimates stay finite
    under separation.

    ``x`` is a design matrix without intercept (see :func:`covariate_design`). Gradient boosting
    is Platt-calibrated: scikit-learn's ``CalibratedClassifierCV(method="sigmoid", ensemble=False)``
    fits the calibration on 3 inner out-of-fold predictions, then predicts with the boosted model
    refitted on all of ``x``. Its scores for the units it was fitted on overfit: the package
    cross-fits them, each unit's score predicted by a model fitted without it.

    Parameters
    ----------
    kind : {"logistic", "firth", "gradient_boosting", "cbps"}
        The model: unpenalised logistic regression, Firth's penalised logistic regression,
        scikit-learn's ``HistGradientBoostingClassifier`` (Platt-calibrated), or the
        covariate-balancing logistic score (ATE conditions, :func:`~reimpact.design.cbps.fit_cbps`).
    random_state : int
        Seed of the gradient-boosting model (the logistic fits are deterministic).
    warm_start : bool
        Start a logistic fit (``logistic``, ``firth``) from the coefficients of the previous call
        to ``fit``, as scikit-learn's ``warm_start`` (e.g. on the next cross-fitting fold): the
        same optimum in fewer Newton steps.

    Attributes
    ----------
    coef_ : numpy.ndarray
        The logistic model's coefficients, intercept first (``logistic``, ``firth``, ``cbps``).
    estimator_ : sklearn.calibration.CalibratedClassifierCV
        The calibrated boosted model (``gradient_boosting``).
    """

    def __init__(
        self, kind: PropensityKind = "logistic", random_state: int = 0, warm_start: bool = False
    ) -> None:
        self.kind = kind
        self.random_state = random_state
        self.warm_start = warm_start

    def fit(
        self, x: np.ndarray, t: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> PropensityModel:
        """Fit the model of ``t`` on ``x``.

        Parameters
        ----------
        x : numpy.ndarray, shape (n, p)
            The design matrix, without intercept.
        t : numpy.ndarray, shape (n,)
            The treatment, 1 treated and 0 control.
        sample_weight : numpy.ndarray or None, shape (n,)
            Sampling weights: the weighted (pseudo-)likelihood is maximised.

        Returns
        -------
        PropensityModel
            ``self``, fitted.

        Raises
        ------
        DesignError
            When the logistic fit does not converge (perfect or quasi-perfect separation).
        """
        if self.kind == "cbps":
            self.coef_ = fit_cbps(_add_intercept(x), t, "ATE", sample_weight)
        elif self.kind in ("logistic", "firth"):
            start = getattr(self, "coef_", None) if self.warm_start else None
            self.coef_ = fit_logistic(
                x, t, firth=self.kind == "firth", sample_weight=sample_weight,
                start=start if start is not None and start.size == x.shape[1] + 1 else None,
                intercept=True,
            )  # fmt: skip
        else:
            from sklearn.calibration import CalibratedClassifierCV
            from sklearn.ensemble import HistGradientBoostingClassifier

            boosted = HistGradientBoostingClassifier(random_state=self.random_state)
            self.estimator_ = CalibratedClassifierCV(boosted, method="sigmoid", cv=3, ensemble=False)
            self.estimator_.fit(x, t, sample_weight=sample_weight)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The propensity scores P(T=1|X) of the rows of ``x``.

        Parameters
        ----------
        x : numpy.ndarray, shape (m, p)
            A design matrix with the columns ``fit`` saw, without intercept.

        Returns
        -------
        numpy.ndarray, shape (m,)
            The scores, strictly inside (0, 1) for the logistic models.
        """
        if self.kind in ("logistic", "firth", "cbps"):
            return expit(x @ self.coef_[1:] + self.coef_[0])
        return self.estimator_.predict_proba(x)[:, 1]


def _add_intercept(x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(x.shape[0]), x])


def stratified_folds(t: np.ndarray, k: int, random_state: int = 0) -> np.ndarray:
    """Fold number of every unit: each group is shuffled and dealt round-robin into k folds."""
    rng = np.random.default_rng(random_state)
    folds = np.empty(t.size, dtype=np.int64)
    for group in (0, 1):
        members = rng.permutation(np.flatnonzero(t == group))
        folds[members] = np.arange(members.size) % k
    return folds


def cross_fitted_scores(
    x: np.ndarray,
    t: np.ndarray,
    kind: PropensityKind,
    folds: int = 5,
    random_state: int = 0,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold propensity scores: each fold's scores come from a model fitted on the others
    (with their sampling weights, when given)."""
    fold = stratified_folds(t, folds, random_state)
    scores = np.empty(t.size)
    for k in range(folds):
        test = fold == k
        weights = None if sample_weight is None else sample_weight[~test]
        model = PropensityModel(kind, random_state).fit(x[~test], t[~test], weights)
        scores[test] = model.predict(x[test])
    return scores


@dataclass(frozen=True)
class ScoreBounds:
    """Scores after estimand-aware bounding and how many were moved on each side."""

    scores: np.ndarray
    moved: np.ndarray
    clip: float
    n_below: int
    n_above: int

    @property
    def n_bounded(self) -> int:
        return self.n_below + self.n_above

    def note(self) -> str | None:
        """The note an estimator adds to its result (None when nothing was bounded)."""
        if not self.n_bounded:
            return None
        sides = []
        if self.n_below:
            sides.append(f"{self.n_below} raised to {self.clip:g}")
        if self.n_above:
            sides.append(f"{self.n_above} lowered to {1 - self.clip:g}")
        return "propensity scores bounded where their weights explode: " + ", ".join(sides)


def bound_scores(e: np.ndarray, t: np.ndarray, estimand: str, clip: float) -> ScoreBounds:
    """Bound the scores where they are inverted, by estimand (cf. WeightIt's treatment of weights):

    * ATT: the controls' odds e/(1-e) explode as e -> 1, so control scores are bounded above at
      1 - clip; treated units have weight 1 and are left alone;
    * ATC: the treated units' odds (1-e)/e explode as e -> 0, so treated scores are bounded below
      at ``clip``;
    * ATE: every score is bounded to [clip, 1 - clip];
    * ATO (overlap weights e(1-e)): bounded by construction, never bounded.

    Bounding scores near 0 for the ATT (as symmetric clipping does) gives every control that
    looks nothing like the treated a weight of clip/(1-clip) and can reverse an estimate.
    """
    e = np.asarray(e, dtype=float)
    treated = np.asarray(t) == 1
    low = {"ATT": np.zeros_like(treated), "ATC": treated, "ATE": np.ones_like(treated)}
    high = {"ATT": ~treated, "ATC": np.zeros_like(treated), "ATE": np.ones_like(treated)}
    below = low.get(estimand, np.zeros_like(treated)) & (e < clip)
    above = high.get(estimand, np.zeros_like(treated)) & (e > 1.0 - clip)
    bounded = np.where(below, clip, np.where(above, 1.0 - clip, e))
    return ScoreBounds(bounded, below | above, clip, int(below.sum()), int(above.sum()))


def bounding_warning(estimate: float, unbounded: float, std_error: float) -> str | None:
    """A warning when bounding the scores moved an estimate by more than a tenth of its standard
    error (the estimate then rests on a few units with extreme scores)."""
    shift = estimate - unbounded
    if math.isfinite(shift) and abs(shift) <= 0.1 * std_error:
        return None
    if not math.isfinite(shift):
        return (
            "without bounding the propensity scores this estimate is not defined (a score of 0 or "
            "1 where it is inverted): it rests on units with extreme scores; consider "
            "'propensity.trim' or restricting the population"
        )
    return (
        f"bounding the propensity scores moved this estimate by {shift:+.4g} "
        f"({abs(shift) / std_error:.1f} standard errors; unbounded: {unbounded:.4g}): it rests on a "
        "few units with extreme scores; consider 'propensity.trim' or restricting the population"
    )


@dataclass(frozen=True)
class PropensityScores:
    """Fitted (or given) propensity scores.

    ``design`` is the logistic model's design matrix with intercept, kept so that weighting
    estimators can correct their standard errors for the estimated score; None otherwise.
    ``clip`` is the bound :func:`bound_scores` applies where a score is inverted.
    ``sample_weight`` holds the sampling weights the model was fitted with (None: unweighted);
    the estimated-score term of a standard error uses the same weights. ``influence`` (n x p, for
    ``cbps``) holds each unit's influence on the coefficients from the model's own estimating
    equations; None means the logistic score equations (with ``design``).
    """

    scores: np.ndarray
    kind: str
    clip: float
    design: np.ndarray | None
    sample_weight: np.ndarray | None = None
    influence: np.ndarray | None = None

    def bounded(self, t: np.ndarray, estimand: str) -> ScoreBounds:
        """The scores bounded for ``estimand`` (see :func:`bound_scores`)."""
        return bound_scores(self.scores, t, estimand, self.clip)


def estimate_propensity(
    design: CovariateDesign,
    treated: np.ndarray,
    kind: PropensityKind | Literal["column"],
    clip: float,
    given: np.ndarray | None = None,
    random_state: int = 0,
    firth: bool = False,
    sample_weight: np.ndarray | None = None,
    estimand: str = "ATE",
) -> PropensityScores:
    """Fit the propensity model (or check a given score) and check for overlap. Logistic scores
    are fitted on all units (a parametric model with few parameters), by Firth's penalised
    likelihood with ``firth`` (then the standard errors treat the score as known); gradient-
    boosting scores are cross-fitted and calibrated (:func:`cross_fitted_scores`); ``cbps``
    scores solve the ``estimand``'s covariate-balancing conditions (:mod:`reimpact.design.cbps`).
    With ``sample_weight`` the model is fitted by weighted (pseudo-)likelihood (or weighted
    balance conditions)."""
    x_full, influence = None, None
    if kind == "column":
        scores = np.asarray(given, dtype=float)
        if np.any((scores <= 0) | (scores >= 1)) or not np.all(np.isfinite(scores)):
            raise DesignError(
                "propensity.column", "a given propensity score must lie strictly between 0 and 1"
            )
    elif kind == "logistic":
        x_full = design.with_intercept()
        coef = fit_logistic(x_full, treated, firth=firth, sample_weight=sample_weight)
        scores = expit(x_full @ coef)
        if firth:
            x_full = None
    elif kind == "cbps":
        x_full = design.with_intercept()
        try:  # Newton from the logistic estimate; from zeros when that diverges
            start = fit_logistic(x_full, treated, sample_weight=sample_weight)
        except DesignError:
            start = None
        coef = fit_cbps(x_full, treated, estimand, sample_weight, start)
        scores = expit(x_full @ coef)
        influence = cbps_influence(x_full, treated, coef, estimand, sample_weight)
    else:
        scores = cross_fitted_scores(
            design.matrix, treated, kind, random_state=random_state, sample_weight=sample_weight
        )
    check_overlap(scores, treated)
    weights = None if kind == "column" else sample_weight
    return PropensityScores(scores, kind, clip, x_full, weights, influence)
