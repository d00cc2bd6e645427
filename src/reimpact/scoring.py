"""Reintegration sustainability scores from raw survey answers, with the scoring scheme as data.

A scheme lists indicators (one survey column each), the dimension each belongs to (economic, social,
psychosocial), how its raw answers are coded to [0, 1], and its weight within the dimension; and the
dimension weights of the composite score. The official weights are the programme's own and are not
shipped: the package ships an illustrative equal-weight scheme (``load_scheme("illustrative")``) and
can derive data-driven weights (:func:`derive_weights`).

For returnee i and dimension d with indicators j, coded answers v_ij in [0, 1] and weights w_j
(summing to 1), the answered share is a_i = sum_j w_j 1[v_ij observed] and

    score_id = sum_j w_j v_ij / a_i   if a_i >= min_answered, else missing;

the composite is sum_d W_d score_id (missing when any dimension score is missing).
"""

from __future__ import annotations

import math
import warnings
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from ._validation import Section, first_message, location, value_key
from .exceptions import ReimpactWarning, SchemeError

Dimension = Literal["economic", "social", "psychosocial"]
DIMENSIONS: tuple[Dimension, ...] = ("economic", "social", "psychosocial")
SCORE_COLUMNS = {d: f"{d}_score" for d in DIMENSIONS} | {"composite": "composite_score"}
_TOLERANCE = 1e-4


class Indicator(Section):
    """One survey indicator: its column, dimension, answer coding and weight within the dimension."""

    id: str
    column: str | None = None
    label: str | None = None
    dimension: Dimension
    coding: str | dict[str | int | float | bool, float]
    weight: float | None = Field(default=None, ge=0.0)

    @property
    def source(self) -> str:
        return self.column or self.id


class Scheme(Section):
    """A validated scoring scheme (see the module docstring for the formula)."""

    name: str
    description: str | None = None
    min_answered: float = Field(default=0.5, gt=0.0, le=1.0)
    dimensions: dict[Dimension, float] = Field(
        default_factory=lambda: {d: 1.0 / 3.0 for d in DIMENSIONS}
    )
    codings: dict[str, dict[str | int | float | bool, float]] = Field(default_factory=dict)
    missing_codes: list[str | int | float] = Field(default_factory=list)
    indicators: list[Indicator] = Field(min_length=3)

    @field_validator("codings")
    @classmethod
    def _coded_in_unit_interval(cls, codings: dict[str, dict[Any, float]]) -> dict:
        for name, coding in codings.items():
            _check_coding(coding, f"coding '{name}'")
        return codings

    @model_validator(mode="after")
    def _consistent(self) -> Scheme:
        ids = [ind.id for ind in self.indicators]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"indicators: id '{duplicated[0]}' is listed twice")
        for ind in self.indicators:
            if isinstance(ind.coding, str):
                if ind.coding not in self.codings:
                    valid = ", ".join(self.codings) or "(none defined)"
                    raise ValueError(
                        f"indicator '{ind.id}': unknown coding '{ind.coding}'; "
                        f"define it under 'codings' (defined: {valid})"
                    )
            else:
                _check_coding(ind.coding, f"indicator '{ind.id}' coding")
        if set(self.dimensions) != set(DIMENSIONS):
            raise ValueError("dimensions: give a weight for each of economic, social, psychosocial")
        _check_sum(self.dimensions.values(), "dimensions: the dimension weights")
        for dim in DIMENSIONS:
            items = self.items(dim)
            if not items:
                raise ValueError(f"indicators: dimension '{dim}' has no indicator")
            given = [ind.weight is not None for ind in items]
            if any(given) and not all(given):
                raise ValueError(
                    f"indicators: give a weight to every '{dim}' indicator or to none "
                    "(none means equal weights)"
                )
            if all(given):
                _check_sum([ind.weight for ind in items], f"indicators: the '{dim}' weights")
        return self

    def items(self, dimension: Dimension) -> list[Indicator]:
        return [ind for ind in self.indicators if ind.dimension == dimension]

    def weights(self, dimension: Dimension) -> np.ndarray:
        """Indicator weights within a dimension, normalised to sum exactly to 1."""
        items = self.items(dimension)
        if items[0].weight is None:
            return np.full(len(items), 1.0 / len(items))
        raw = np.array([ind.weight for ind in items], dtype=float)
        return raw / raw.sum()

    def coding_of(self, indicator: Indicator) -> dict[str, float]:
        coding = (
            indicator.coding if isinstance(indicator.coding, dict) else self.codings[indicator.coding]
        )
        return {value_key(k): float(v) for k, v in coding.items()}

    def to_yaml(self, path: str | Path) -> None:
        """Write the scheme as a YAML scheme file."""
        Path(path).write_text(
            yaml.safe_dump(self.model_dump(exclude_none=True), sort_keys=False), encoding="utf-8"
        )


def _check_coding(coding: dict[Any, float], what: str) -> None:
    if not coding:
        raise ValueError(f"{what} is empty; map each raw answer to a value in [0, 1]")
    for raw, value in coding.items():
        if not (0.0 <= float(value) <= 1.0) or math.isnan(float(value)):
            raise ValueError(f"{what}: answer {raw!r} is coded {value}; coded values must be in [0, 1]")


def _check_sum(weights: Any, what: str) -> None:
    weights = [float(w) for w in weights]
    if any(w < 0 for w in weights):
        raise ValueError(f"{what} must be non-negative")
    if abs(sum(weights) - 1.0) > _TOLERANCE:
        raise ValueError(f"{what} sum to {sum(weights):.6g}; they must sum to 1")


def load_scheme(scheme: str | Path = "illustrative") -> Scheme:
    """Load a scheme file, or the shipped illustrative equal-weight scheme (``"illustrative"``).

    A scheme lists the indicators (one survey column each) with their dimension, answer coding
    and weight within the dimension, and the dimension weights of the composite score. The
    programme's official weights are not shipped: put them in a scheme file of your own.

    Parameters
    ----------
    scheme : str or Path
        ``"illustrative"`` for the shipped scheme, or the path of a YAML scheme file.

    Returns
    -------
    Scheme
        The validated scheme.

    Raises
    ------
    SchemeError
        When the file does not exist, is not valid YAML or does not describe a valid scheme
        (e.g. weights that do not sum to 1, a coded value outside [0, 1]).
    """
    if str(scheme) == "illustrative":
        text = resources.files("reimpact").joinpath("schemes/illustrative.yaml").read_text("utf-8")
        label = "illustrative scheme"
    else:
        path = Path(scheme)
        if not path.is_file():
            raise SchemeError(str(path), "scheme file not found; check the path")
        text, label = path.read_text(encoding="utf-8"), str(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SchemeError(label, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return scheme_from_dict(raw, label)


def scheme_from_dict(raw: Any, label: str = "scheme") -> Scheme:
    """Validate a parsed scheme; errors become one-line :class:`SchemeError`."""
    if not isinstance(raw, dict):
        raise SchemeError(label, "a scheme file must be a YAML mapping")
    try:
        return Scheme.model_validate(raw)
    except ValidationError as exc:
        raise SchemeError(f"{label}: {location(exc)}", first_message(exc)) from None


def code_answers(df: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Code every indicator's raw answers to [0, 1] (missing and 'missing codes' become NaN).

    An answer that is neither in the indicator's coding nor a missing code is an error, never a
    silent NaN.
    """
    missing = {value_key(m) for m in scheme.missing_codes}
    coded: dict[str, pd.Series] = {}
    for ind in scheme.indicators:
        if ind.source not in df.columns:
            raise SchemeError(
                f"indicator '{ind.id}'",
                f"column '{ind.source}' is not in the data; set 'column:' to the survey column",
            )
        series = df[ind.source]
        coding = scheme.coding_of(ind)
        # every distinct answer is coded once; -1 (a missing answer) picks the NaN at the end
        codes, answers = pd.factorize(series)
        lookup = np.full(len(answers) + 1, np.nan)
        for j, raw in enumerate(answers):
            key = value_key(raw)
            if key in coding:
                lookup[j] = coding[key]
            elif key not in missing:
                valid = ", ".join(sorted(coding))
                raise SchemeError(
                    f"indicator '{ind.id}'",
                    f"answer '{raw}' in column '{ind.source}' has no coding (coded answers: "
                    f"{valid}); add it to the coding or to 'missing_codes'",
                )
        coded[ind.id] = pd.Series(lookup[codes], index=df.index)
    return pd.DataFrame(coded, index=df.index)


def dimension_scores(coded: pd.DataFrame, scheme: Scheme, min_answered: float) -> pd.DataFrame:
    """Each dimension's score from coded answers: the weighted mean of its answered items, missing
    where the answered items carry less than ``min_answered`` of its weight; and the composite."""
    values, shares = {}, {}
    for dim in DIMENSIONS:
        coded_values = coded[[ind.id for ind in scheme.items(dim)]].to_numpy()
        answered = ~np.isnan(coded_values)
        shares[dim] = answered @ scheme.weights(dim)
        values[dim] = np.where(answered, coded_values, 0.0)
    scores = score_arrays(values, shares, scheme, min_answered)
    return pd.DataFrame(dict(zip(SCORE_COLUMNS.values(), scores, strict=True)), index=coded.index)


def score_arrays(
    values: dict[Dimension, np.ndarray],
    shares: dict[Dimension, np.ndarray],
    scheme: Scheme,
    min_answered: float,
) -> np.ndarray:
    """The dimension scores and the composite (the rows of a 4 x n array, in the order of
    ``SCORE_COLUMNS``) from each dimension's coded answers, 0 where unanswered (``values[dim]``,
    n x items in the order of ``scheme.items(dim)``), and its answered share a_i (``shares[dim]``).

    The score is sum_j w_j v_ij / a_i, missing where a_i < ``min_answered``; the composite is
    sum_d W_d score_id. The simulated cohort computes its scores here too, so that they are
    exactly those :func:`score` gives its exported answers: give the arrays the same memory layout
    (the transposed rows of a frame's block, as ``DataFrame.to_numpy`` returns them), since the
    rounding of a matrix product may depend on it.
    """
    n = len(next(iter(shares.values())))
    scores = np.empty((len(SCORE_COLUMNS), n))
    for row, dim in enumerate(DIMENSIONS):
        total = values[dim] @ scheme.weights(dim)
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(total, shares[dim], out=scores[row])
        # the tolerance keeps "exactly the minimum share" answered when weights do not add exactly
        scores[row][shares[dim] < min_answered - 1e-9] = np.nan
    dim_weights = np.array([scheme.dimensions[d] for d in DIMENSIONS])
    dim_weights = dim_weights / dim_weights.sum()
    scores[len(DIMENSIONS)] = scores[: len(DIMENSIONS)].T @ dim_weights
    return scores


def score(
    df: pd.DataFrame,
    scheme: Scheme | str | Path = "illustrative",
    min_answered: float | None = None,
) -> pd.DataFrame:
    """Score raw survey answers: the three dimension scores and the composite.

    Return a copy of ``df`` with ``economic_score``, ``social_score``, ``psychosocial_score``
    and ``composite_score`` (all in [0, 1]) added or replaced. Each dimension's score is the
    weighted mean of its answered items (the formula is in :mod:`reimpact.scoring`); it is missing
    where too little of the dimension was answered, and the composite is missing where any
    dimension score is.

    Parameters
    ----------
    df : pandas.DataFrame
        The raw answers, one column per indicator of the scheme (other columns are kept as they
        are).
    scheme : Scheme or str or Path
        A loaded scheme, ``"illustrative"`` for the shipped one, or the path of a scheme file.
    min_answered : float or None
        The share of a dimension's weight that must be answered for its score to be computed;
        None takes the scheme's.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with the four score columns.

    Raises
    ------
    SchemeError
        When the scheme cannot be loaded, an indicator's column is not in ``df``, or an answer is
        neither in its indicator's coding nor a missing code.
    """
    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    threshold = scheme.min_answered if min_answered is None else min_answered
    scores = dimension_scores(code_answers(df, scheme), scheme, threshold)
    # a new frame that shares the other columns' data (never changed in place: copy on write)
    return df.assign(**{str(column): scores[column] for column in scores.columns})


def derive_weights(df: pd.DataFrame, scheme: Scheme, method: Literal["pca"] = "pca") -> Scheme:
    """Return a copy of ``scheme`` whose indicator weights come from the data.

    ``pca``: within each dimension, the loadings of the first principal component of the covariance
    matrix of the coded answers (complete cases), normalised to sum to 1. Under a one-factor model
    with equal unique variances, x_j = lambda_j f + e_j, the first eigenvector of the covariance is
    proportional to lambda, so the weights recover lambda / sum(lambda). A negative loading (an item
    coded in the opposite direction) gets weight 0 with a warning. Dimension weights are kept.

    Parameters
    ----------
    df : pandas.DataFrame
        Raw answers, one column per indicator of ``scheme``.
    scheme : Scheme
        The scheme whose codings, dimensions and dimension weights are used.
    method : {"pca"}
        How the weights are derived (only ``"pca"``).

    Returns
    -------
    Scheme
        A copy of ``scheme`` with the new indicator weights, named ``"<name>-pca-weights"``.

    Raises
    ------
    SchemeError
        When ``method`` is unknown, an indicator's column is missing or an answer has no coding,
        or fewer than max(10, 2 x items) returnees answered every item of a dimension.

    Warns
    -----
    ReimpactWarning
        When indicators load negatively on the first principal component (they get weight 0).
    """
    if method != "pca":
        raise SchemeError("method", f"unknown method '{method}'; valid: pca")
    coded = code_answers(df, scheme)
    new_weights: dict[str, float] = {}
    for dim in DIMENSIONS:
        items = scheme.items(dim)
        values = coded[[ind.id for ind in items]].dropna().to_numpy()
        if values.shape[0] < max(10, 2 * len(items)):
            raise SchemeError(
                f"dimension '{dim}'",
                f"only {values.shape[0]} returnees answered every item; PCA weights need at least "
                f"{max(10, 2 * len(items))}",
            )
        if len(items) == 1:
            new_weights[items[0].id] = 1.0
            continue
        eigenvalues, eigenvectors = np.linalg.eigh(np.cov(values, rowvar=False))
        loading = eigenvectors[:, -1]
        if loading.sum() < 0:
            loading = -loading
        negative = [ind.id for ind, w in zip(items, loading, strict=True) if w < 0]
        if negative:
            warnings.warn(
                f"dimension '{dim}': indicators {', '.join(negative)} load negatively on the first "
                "principal component and get weight 0; check their coding direction",
                ReimpactWarning,
                stacklevel=2,
            )
        loading = np.clip(loading, 0.0, None)
        for ind, w in zip(items, loading / loading.sum(), strict=True):
            new_weights[ind.id] = float(w)
    indicators = [ind.model_copy(update={"weight": new_weights[ind.id]}) for ind in scheme.indicators]
    return scheme.model_copy(update={"indicators": indicators, "name": f"{scheme.name}-pca-weights"})
