"""Cross-fitted augmented inverse-probability weighting (doubly robust): the nuisance fits and
influence functions (:class:`CrossFittedAIPW`; Robins, Rotnitzky & Zhao 1994; Chernozhukov et al.
2018) and the estimator (:class:`AIPWEstimator`).

With sampling weights s the nuisances are fitted by weighted likelihood / least squares and the
efficient-influence-function averages become weighted ones (Zeng, Li & Tong 2025): for the ATE
tau = sum s phi / sum s with psi_i = s_i (phi_i - tau) / sum s; for the ATT
tau = sum s core / sum s T with psi_i = s_i (core_i - T_i tau) / sum s T (the ATC likewise).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .._progress import progress
from ..design.propensity import (
    PropensityKind,
    PropensityModel,
    bound_scores,
    bounding_warning,
    stratified_folds,
)
from ..results import Effect
from ..stats.sandwich import sandwich_se
from ._base import SAMPLING_NOTE, EffectEstimator, Estimand, EstimationData


class _Linear:
    """OLS (WLS with sampling weights) of the outcome(s) on (1, X)."""

    def fit(self, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> _Linear:
        root = np.sqrt(w)[:, None]
        design = np.column_stack([np.ones(x.shape[0]), x])
        self.coef_ = np.linalg.lstsq(design * root, y * root, rcond=None)[0]
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(x.shape[0]), x]) @ self.coef_


class _Boosting:
    """Histogram gradient boosting, one model per outcome column."""

    def __init__(self, random_state: int) -> None:
        self.random_state = random_state

    def fit(self, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> _Boosting:
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.models_ = [
            HistGradientBoostingRegressor(random_state=self.random_state).fit(x, y[:, j], w)
            for j in range(y.shape[1])
        ]
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([m.predict(x) for m in self.models_])


class CrossFittedAIPW:
    """Cross-fitted AIPW for the ATE, ATT or ATC of several outcomes at once.

    ``outcome_learner`` fits the outcome regressions (``linear``: OLS; ``gradient_boosting``:
    histogram gradient boosting); ``propensity_learner`` fits the score (``logistic`` or
    calibrated ``gradient_boosting``, see :class:`~reimpact.design.propensity.PropensityModel`). A given
    score (``propensity`` passed to :meth:`fit`) replaces the score model.
    """

    def __init__(
        self,
        estimand: str = "ATT",
        folds: int = 5,
        outcome_learner: str = "linear",
        propensity_learner: PropensityKind = "logistic",
        clip: float = 0.01,
        random_state: int = 0,
        verbose: bool = False,
    ) -> None:
        self.estimand = estimand
        self.folds = folds
        self.outcome_learner = outcome_learner
        self.propensity_learner = propensity_learner
        self.clip = clip
        self.random_state = random_state
        self.verbose = verbose

    def _outcome_model(self):
        return _Linear() if self.outcome_learner == "linear" else _Boosting(self.random_state)

    def fit(
        self,
        x: np.ndarray,
        t: np.ndarray,
        y: np.ndarray,
        propensity: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> CrossFittedAIPW:
        """Cross-fit the nuisances; ``y`` is n x (number of outcomes); ``sample_weight``: the
        units' sampling weights (nuisances and averages weighted)."""
        y = np.asarray(y, dtype=float).reshape(t.size, -1)
        t = np.asarray(t).astype(np.int8)
        s = np.ones(t.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        folds = stratified_folds(t, self.folds, self.random_state)
        e = np.empty(t.size) if propensity is None else np.asarray(propensity, dtype=float)
        mu1 = np.empty_like(y)
        mu0 = np.empty_like(y)
        for k in progress(range(self.folds), "cross-fitting", self.folds, self.verbose):
            test = folds == k
            train = ~test
            if propensity is None:
                model = PropensityModel(self.propensity_learner, self.random_state)
                weights = None if sample_weight is None else s[train]
                e[test] = model.fit(x[train], t[train], weights).predict(x[test])
            for group, target in ((1, mu1), (0, mu0)):
                rows = train & (t == group)
                target[test] = self._outcome_model().fit(x[rows], y[rows], s[rows]).predict(x[test])
        self.bounds_ = bound_scores(e, t, self.estimand, self.clip)
        self.raw_e_ = e
        self.e_ = self.bounds_.scores
        self.t_, self.y_, self.mu1_, self.mu0_, self.s_ = t, y, mu1, mu0, s
        self.sampled_ = sample_weight is not None
        return self

    def influence(self, j: int = 0, e: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """The estimate for outcome column ``j`` and its influence terms (sum convention), with
        the bounded scores (or the scores ``e``)."""
        t, s = self.t_, self.s_
        e = self.e_ if e is None else e
        y, m1, m0 = self.y_[:, j], self.mu1_[:, j], self.mu0_[:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.estimand == "ATE":
                core = m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)
                target = np.ones(t.size)
            elif self.estimand == "ATT":
                core = t * (y - m0) - np.where(t == 0, e / (1 - e) * (y - m0), 0.0)
                target = t.astype(float)
            else:
                core = (1 - t) * (m1 - y) + np.where(t == 1, (1 - e) / e * (y - m1), 0.0)
                target = 1.0 - t
        total = float(s @ target)
        tau = float(s @ core / total)
        return tau, s * (core - target * tau) / total

    def estimate(
        self,
        j: int = 0,
        outcome: str = "outcome",
        clusters: np.ndarray | None = None,
        cluster_name: str = "cluster",
    ) -> Effect:
        tau, psi = self.influence(j)
        se = sandwich_se(psi, clusters)
        se_type = "influence function"
        if clusters is not None:
            se_type += f", cluster-robust by {cluster_name}"
        notes = [
            f"cross-fitted with {self.folds} folds: {self.propensity_learner} propensity score, "
            f"{self.outcome_learner} outcome models"
        ]
        if self.sampled_:
            notes.append(SAMPLING_NOTE)
        warnings: tuple[str, ...] = ()
        bounded = self.bounds_.note()  # None exactly when no score was bounded
        if bounded is not None:
            notes.append(bounded)
            warning = bounding_warning(tau, self.influence(j, self.raw_e_)[0], se)
            warnings = (warning,) if warning else ()
        return Effect(
            outcome=outcome,
            method="aipw",
            estimand=self.estimand,
            estimate=tau,
            std_error=se,
            n_treated=int(self.t_.sum()),
            n_control=int((1 - self.t_).sum()),
            se_type=se_type,
            notes=tuple(notes),
            warnings=warnings,
        )


class AIPWEstimator(EffectEstimator):
    """Cross-fitted AIPW for the ATT, ATC or ATE.

    Parameters
    ----------
    estimand : {"ATT", "ATC", "ATE"}
    folds : int
        Cross-fitting folds (2-20).
    outcome_learner : {"linear", "gradient_boosting"}
        Outcome regressions, fitted in each arm.
    propensity_learner : {"logistic", "gradient_boosting"} or None
        The score model; None uses ``propensity_model`` (the study's ``propensity.model``).
    propensity_model : {"logistic", "gradient_boosting", "firth", "cbps"}
        The study's score model (``cbps``: cross-fitted covariate-balancing scores, ATE conditions).
    clip : float
        Bound applied where a score is inverted, by estimand.
    random_state : int
        Seed of the folds and of gradient boosting.
    verbose : bool
        Show a progress bar while cross-fitting.

    A ``propensity`` given to ``fit`` replaces the score model (no cross-fitting of the score).
    """

    name = "aipw"
    label = "AIPW"
    supports = frozenset({"sample_weight"})
    renamed_params = {
        "learner": "use 'outcome_learner' (linear or gradient_boosting) and 'propensity_learner' "
        "(logistic or gradient_boosting; default: propensity.model)"
    }

    def __init__(
        self,
        *,
        estimand: Estimand = "ATT",
        folds: Annotated[int, Field(ge=2, le=20)] = 5,
        outcome_learner: Literal["linear", "gradient_boosting"] = "linear",
        propensity_learner: Literal["logistic", "gradient_boosting"] | None = None,
        propensity_model: PropensityKind = "logistic",
        clip: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.01,
        random_state: int = 0,
        verbose: bool = False,
    ) -> None:
        self.estimand = estimand
        self.folds = folds
        self.outcome_learner = outcome_learner
        self.propensity_learner = propensity_learner
        self.propensity_model = propensity_model
        self.clip = clip
        self.random_state = random_state
        self.verbose = verbose

    @property
    def score_learner(self) -> PropensityKind:
        """The score model used: ``propensity_learner``, else ``propensity_model`` (Firth's
        logistic regression when the study penalises a logistic model)."""
        learner = self.propensity_learner or self.propensity_model
        if learner == "logistic" and self.propensity_model == "firth":
            return "firth"
        return learner

    def nuisances(self, x, t, y, propensity=None, sample_weight=None) -> CrossFittedAIPW:
        """The cross-fitted nuisance fits on arrays (shared with the subgroup analyses)."""
        model = CrossFittedAIPW(
            self.estimand, self.folds, self.outcome_learner, self.score_learner, self.clip,
            self.random_state, self.verbose,
        )  # fmt: skip
        return model.fit(x, t, y, propensity, sample_weight)

    def _estimate(self, data: EstimationData) -> list[Effect]:
        given = None if data.propensity is None else data.propensity.scores
        fitted = self.nuisances(data.x, data.t, data.y, given, data.sample_weight)
        self.nuisances_ = fitted
        return [
            fitted.estimate(j, name, data.cluster, data.cluster_name)
            for j, name in enumerate(data.outcomes)
        ]
