"""The contract every effect estimator follows (scikit-learn conventions).

* Settings are keyword-only ``__init__`` arguments stored unchanged; no work in the constructor.
  ``get_params``/``set_params`` read them from the signature, so ``sklearn.base.clone`` works.
* ``fit(X, t, y, *, sample_weight=None, cluster=None, strata=None, propensity=None)`` validates the
  inputs in one place (:func:`check_inputs`), estimates the effect on every outcome column of ``y``
  and returns ``self``.
* Learned results end in ``_``: ``effects_`` (one :class:`~reimpact.results.Effect` per outcome),
  ``effect_`` (the only one), ``n_features_in_``, ``feature_names_in_``. Reading them before
  ``fit`` raises :class:`~reimpact.exceptions.NotFittedError`.
* The estimand is checked against :data:`Estimand` before anything is computed.

A study file sets an estimator's parameters by name (``methods: {psm: {ratio: 2}}``); the
parameters the study supplies itself (:data:`CONTEXT`: estimand, seed, the propensity model and its
bound, progress bars) are not keys of the method's section. See :mod:`reimpact.registry`.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ..design.covariates import CovariateDesign
from ..design.propensity import PropensityKind, PropensityScores, estimate_propensity
from ..exceptions import DataError, DesignError, NotFittedError
from ..results import Effect, EffectTable

Estimand = Literal["ATT", "ATE", "ATC"]
ESTIMANDS: tuple[str, ...] = get_args(Estimand)
# parameters the study (not the method's own section) supplies, by name
CONTEXT = frozenset({"estimand", "random_state", "verbose", "clip", "propensity_model"})


@dataclass(frozen=True)
class EstimationData:
    """The validated inputs of one ``fit``: arrays, with the names taken from pandas inputs."""

    x: np.ndarray
    feature_names: list[str]
    t: np.ndarray
    y: np.ndarray
    outcomes: list[str]
    sample_weight: np.ndarray | None
    cluster: np.ndarray | None
    cluster_name: str
    strata: np.ndarray | None
    propensity: PropensityScores | None


def _aligned(values: Any, index: pd.Index | None, name: str) -> None:
    """Pandas inputs must carry the rows of ``X`` in the same order (arrays are taken as given)."""
    if index is not None and isinstance(values, (pd.Series, pd.DataFrame)):
        if not values.index.equals(index):
            raise DataError(name, "its index differs from X's: pass the rows in X's order")


def _matrix(values: Any, name: str) -> np.ndarray:
    """``values`` as a 2-D float array (a 1-D input becomes one column), finite."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise DataError(name, "must be numeric (dummy-code categorical columns first)") from None
    array = array[:, None] if array.ndim == 1 else array
    if array.ndim != 2 or array.shape[1] == 0:
        raise DataError(name, f"must be a 2-D array with at least one column, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise DataError(name, "holds missing or infinite values; drop or impute them first")
    return array


def _column(values: Any, n: int, name: str) -> np.ndarray | None:
    """A row-aligned input (weights, clusters, strata, scores) as a 1-D array without missing
    values, or None."""
    if values is None:
        return None
    array = np.asarray(values)
    if array.ndim != 1 or array.size != n:
        raise DataError(name, f"must have one value per row ({n}), got shape {array.shape}")
    if pd.isna(array).any():
        raise DataError(name, "holds missing values; drop those rows or fill them first")
    return array


def _names(values: Any, prefix: str, k: int) -> list[str]:
    """Column names from a DataFrame or a named Series, else ``prefix`` numbered."""
    if isinstance(values, pd.DataFrame):
        return [str(c) for c in values.columns]
    if isinstance(values, pd.Series) and values.name is not None:
        return [str(values.name)]
    return [prefix] if k == 1 and prefix == "outcome" else [f"{prefix}{j}" for j in range(k)]


def check_inputs(
    X: Any,
    t: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    cluster: Any = None,
    strata: Any = None,
    propensity: PropensityScores | Any = None,
    clip: float = 0.01,
) -> EstimationData:
    """Check and convert the inputs of ``fit``: ``X`` (n x p covariates, numeric), ``t`` (0/1),
    ``y`` (n outcomes, or n x k for k outcomes at once), optional row-aligned ``sample_weight``,
    ``cluster`` ids, exact-matching ``strata`` and precomputed ``propensity`` scores (a
    :class:`~reimpact.design.propensity.PropensityScores` or an array strictly inside (0, 1)).
    Pandas inputs must share X's index (their rows are matched by position)."""
    x = _matrix(X, "X")
    names = _names(X, "x", x.shape[1])
    index = X.index if isinstance(X, pd.DataFrame) else None
    for values, name in ((t, "t"), (y, "y"), (sample_weight, "sample_weight"), (cluster, "cluster"),
                         (strata, "strata")):  # fmt: skip
        _aligned(values, index, name)
    tt = _column(t, x.shape[0], "t")
    if tt is None or not np.isin(tt, (0, 1)).all():
        raise DataError("t", "must be binary (0 = control, 1 = treated)")
    tt = tt.astype(np.int8)
    if min(tt.sum(), tt.size - tt.sum()) < 2:
        raise DesignError("t", "needs at least 2 treated and 2 control units")
    yy = _matrix(y, "y")
    if yy.shape[0] != tt.size:
        raise DataError("y", f"must hold one outcome value per row of X ({tt.size})")
    weights = _column(sample_weight, tt.size, "sample_weight")
    if weights is not None:
        weights = weights.astype(float)
        if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
            raise DataError(
                "sample_weight", "must be finite and positive (leave out units outside the population)"
            )
    cluster_name = str(cluster.name) if isinstance(cluster, pd.Series) and cluster.name else "cluster"
    scores = propensity
    if propensity is not None and not isinstance(propensity, PropensityScores):
        given = _column(propensity, tt.size, "propensity")
        assert given is not None  # _column returns None only for None, and propensity is not None
        design = CovariateDesign(x, names, names)
        scores = estimate_propensity(design, tt, "column", clip, given.astype(float))
    elif propensity is not None and propensity.scores.size != tt.size:
        raise DataError("propensity", f"must hold one score per row of X ({tt.size})")
    return EstimationData(
        x=x,
        feature_names=names,
        t=tt,
        y=yy,
        outcomes=_names(y, "outcome", yy.shape[1]),
        sample_weight=weights,
        cluster=_column(cluster, tt.size, "cluster"),
        cluster_name=cluster_name,
        strata=_column(strata, tt.size, "strata"),
        propensity=scores,
    )


class EffectEstimator:
    """Base class of the effect estimators: parameters, validation, the fitted results.

    Estimators follow scikit-learn's conventions: settings are keyword-only ``__init__``
    arguments stored unchanged (``get_params``/``set_params`` read them from the signature, so
    ``sklearn.base.clone`` works); :meth:`fit` validates the inputs in one place and estimates the
    effect on every outcome column; learned results end in ``_`` and raise
    :class:`~reimpact.exceptions.NotFittedError` when read before ``fit``.

    Subclasses set ``name`` (the key of the study file's ``methods`` section and of the results),
    ``label`` (how the report names the method) and implement :meth:`_estimate`, which returns one
    :class:`~reimpact.results.Effect` per outcome column. ``uses_design_score`` says whether the
    estimator matches or weights on the study's propensity score (the pipeline then passes the
    score it fitted once as ``propensity``); ``supports`` lists the optional inputs it uses.
    :func:`~reimpact.register` makes a subclass a method of study files.

    Attributes
    ----------
    name : str
        The method's key in the registry, the study file and the results (class attribute).
    label : str
        How the report names the method (class attribute).
    uses_design_score : bool
        Whether the estimator matches or weights on the study's propensity score (class
        attribute).
    supports : frozenset of str
        The optional ``fit`` inputs it uses: ``"sample_weight"``, ``"strata"`` (class attribute).
    balance_label : str or None
        The label of the unit weights (``weights_``) it implies, under which balance is checked;
        None for estimators without unit weights (class attribute).
    effects_ : tuple of Effect
        One effect per outcome column of ``y``, after ``fit``.
    n_features_in_ : int
        Number of covariates seen by ``fit``.
    feature_names_in_ : numpy.ndarray of str
        Their names (``x0``, ``x1``... when ``X`` was not a DataFrame).

    Examples
    --------
    Every estimator is used the same way (here on simulated data with an effect of 1):

    >>> import numpy as np
    >>> import pandas as pd
    >>> from reimpact import AIPWEstimator
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.normal(35, 8, 500), "skills": rng.normal(size=500)})
    >>> t = (rng.random(500) < 1 / (1 + np.exp(-X["skills"]))).astype(int)
    >>> y = pd.Series(0.5 * X["skills"] + t + rng.normal(size=500), name="score")
    >>> aipw = AIPWEstimator(estimand="ATE").fit(X, t, y)
    >>> effect = aipw.effect_
    >>> effect.outcome, effect.method, effect.estimand
    ('score', 'aipw', 'ATE')
    >>> effect.covers(1.0)
    True
    >>> print(aipw.summary())  # doctest: +SKIP
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    uses_design_score: ClassVar[bool] = False
    supports: ClassVar[frozenset[str]] = frozenset()
    # estimators that imply unit weights set ``weights_``; balance is then checked under this label
    balance_label: ClassVar[str | None] = None
    # study-file keys of earlier versions: old key -> what to write instead
    renamed_params: ClassVar[dict[str, str]] = {}

    # -- parameters (scikit-learn's protocol) --------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's settings, by name."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> EffectEstimator:
        """Change settings (by name) and return ``self``."""
        valid = self.param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter '{key}'; valid: {valid}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k) != v]
        return f"{type(self).__name__}({', '.join(changed)})"

    @classmethod
    def option_problem(
        cls, params: dict[str, Any], estimand: str, cluster: str | None
    ) -> tuple[str, str] | None:
        """(key, message) when the study-file ``params`` of this method do not go together with
        each other or with the study's estimand and cluster; None when they do."""
        return None

    # -- fitting --------------------------------------------------------------------------------
    def _check_params(self) -> None:
        """Check every setting against its annotation (types, ``Literal`` choices, ``Annotated``
        constraints: the same rules a study file meets) before fitting; subclasses add rules
        between settings."""
        try:
            params_model(type(self)).model_validate(self.get_params())
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "parameters"
            message = error["msg"].removeprefix("Value error, ")
            raise DesignError(where, f"{message} (got {error.get('input')!r})") from None

    def fit(
        self,
        X: Any,
        t: Any,
        y: Any,
        *,
        sample_weight: Any = None,
        cluster: Any = None,
        strata: Any = None,
        propensity: Any = None,
    ) -> EffectEstimator:
        """Estimate the effect of ``t`` on each column of ``y`` adjusting for ``X``.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n, p)
            Covariates (numeric; categorical ones dummy-coded). DataFrame columns name them.
        t : array-like, shape (n,)
            Treatment indicator, 1 treated and 0 control.
        y : array-like, Series or DataFrame, shape (n,) or (n, k)
            One or several outcomes (a Series' name or the DataFrame's columns name them).
        sample_weight : array-like, shape (n,), optional
            Sampling weights (only estimators that list ``"sample_weight"`` in ``supports``).
        cluster : array-like or Series, shape (n,), optional
            Cluster ids: standard errors become cluster-robust (a Series' name names them).
        strata : array-like, shape (n,), optional
            Exact-matching strata (matching only).
        propensity : PropensityScores or array-like, shape (n,), optional
            Propensity scores for these rows; estimators that need one fit their own otherwise.

        Returns
        -------
        self
        """
        for learned in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, learned)  # a failed refit must not leave the previous fit's results
        self._check_params()
        for key, value in (("sample_weight", sample_weight), ("strata", strata)):
            if value is not None and key not in self.supports:
                raise DesignError(key, f"the {self.name} estimator does not use {key}; leave it out")
        data = check_inputs(
            X, t, y, sample_weight=sample_weight, cluster=cluster, strata=strata,
            propensity=propensity, clip=getattr(self, "clip", 0.01),
        )  # fmt: skip
        # every effect carries the estimator's registered name, whatever the design object wrote
        self.effects_ = tuple(replace(e, method=self.name) for e in self._estimate(data))
        self.n_features_in_ = data.x.shape[1]
        self.feature_names_in_ = np.asarray(data.feature_names, dtype=object)
        return self

    def _estimate(self, data: EstimationData) -> list[Effect]:
        raise NotImplementedError

    # -- results --------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup fails: a learned attribute read before fit
        if name.endswith("_") and not name.startswith("__"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(X, t, y) before reading {name}"
            )
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def effect_(self) -> Effect:
        """The estimated effect (when ``y`` had one outcome)."""
        effects = self.effects_
        if len(effects) != 1:
            raise ValueError(f"{len(effects)} outcomes were estimated: read effects_")
        return effects[0]

    def summary(self) -> str:
        """The fitted effects as a text table."""
        return EffectTable(self.effects_).summary()

    def to_frame(self) -> pd.DataFrame:
        """The fitted effects as a tidy DataFrame, one row per outcome."""
        return EffectTable(self.effects_).to_frame()


def signature_fields(estimator: type[EffectEstimator]) -> dict[str, tuple[Any, Any]]:
    """Each setting of ``estimator`` (a keyword-only ``__init__`` argument) -> (its annotation,
    with ``Annotated`` constraints kept, and its default)."""
    hints = typing.get_type_hints(estimator.__init__, include_extras=True)
    return {
        p.name: (hints.get(p.name, Any), p.default)
        for p in inspect.signature(estimator.__init__).parameters.values()
        if p.kind is p.KEYWORD_ONLY
    }


_PARAMS_MODELS: dict[type, type[BaseModel]] = {}


def params_model(estimator: type[EffectEstimator]) -> type[BaseModel]:
    """A pydantic model of ``estimator``'s settings (:func:`signature_fields`): the types,
    ``Literal`` choices and ``Annotated`` constraints a study file meets, checked on every fit.
    :mod:`reimpact.registry` derives the study-file section from the same fields."""
    if estimator not in _PARAMS_MODELS:
        config = ConfigDict(arbitrary_types_allowed=True)
        _PARAMS_MODELS[estimator] = create_model(  # type: ignore[call-overload]
            f"{estimator.__name__}Params", __config__=config, **signature_fields(estimator)
        )
    return _PARAMS_MODELS[estimator]


def fit_scores(
    data: EstimationData, kind: PropensityKind, clip: float, random_state: int, estimand: str = "ATE"
) -> PropensityScores:
    """The rows' propensity scores: the given ones, or the model ``kind`` fitted on ``data.x``
    (``firth``: Firth's; ``cbps``: balancing for ``estimand``), with any sampling weights."""
    if data.propensity is not None:
        return data.propensity
    design = CovariateDesign(data.x, data.feature_names, data.feature_names)
    model = "logistic" if kind == "firth" else kind
    return estimate_propensity(
        design, data.t, model, clip, None, random_state, kind == "firth", data.sample_weight, estimand
    )


def weights_or_ones(data: EstimationData) -> np.ndarray:
    """The sampling weights of the rows (ones when none were given)."""
    return np.ones(data.t.size) if data.sample_weight is None else data.sample_weight


SAMPLING_NOTE = (
    "weighted by the sampling weights: the effect describes the population they represent "
    "(linearisation variance, weights treated as known)"
)
