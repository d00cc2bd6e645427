"""Multiple imputation of covariates by chained equations (``missing: {method: multiple}``).

Each of the ``m`` imputed data sets is drawn by its own chain (van Buuren & Groothuis-Oudshoorn
2011, the MICE algorithm): every incomplete variable is in turn regressed on all the others, on
the rows where it is observed, and its missing values are replaced by draws from that model's
predictive distribution, for ``max_iter`` rounds. The models, one per kind of variable:

* a continuous covariate: Bayesian ridge regression (scikit-learn's ``BayesianRidge``), with a
  draw from the normal predictive distribution, whose variance 1/alpha + x' Sigma x holds the
  residual and the coefficients' posterior variance. This is the step of scikit-learn's
  ``IterativeImputer(sample_posterior=True)``, which has no model for categories, so the chain is
  written out here;
* a categorical covariate, and a numeric one with two observed values (a 0/1 flag): a multinomial
  (binary) logistic regression fitted on a bootstrap resample of the observed rows, with a draw
  from its predicted probabilities. The bootstrap carries the coefficients' uncertainty into the
  draws (mice's ``logreg.boot``; van Buuren 2018, on categorical data), which makes the
  imputation proper. Two-valued columns keep their two values instead of getting fractions.

The treatment and the outcomes are predictors in every model, as the imputation model must hold
every variable of the analysis model (Moons et al. 2006; White, Royston & Wood 2011): leaving the
outcome out biases the covariates' effects towards zero. The treatment is never
missing in the sample. An outcome's own missing values are imputed inside the chain only, to
serve as a predictor, and are missing again in the data sets returned (von Hippel 2007's
"multiple imputation, then deletion"): outcomes are never imputed for the analysis. The chain
starts from random draws of the observed values (mice's default). Predictors are standardised
(continuous) or one-hot coded (categories); the logistic models have scikit-learn's default
ridge penalty (C = 1) on those scales, which keeps them finite under separation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..exceptions import DataError


@dataclass(frozen=True)
class _Variable:
    """One variable of the chain: its column, whether it is modelled by categories, its missing
    rows and whether the data sets returned keep its draws (covariates) or not (outcomes)."""

    name: str
    categories: bool
    missing: np.ndarray
    keep_draws: bool


def impute_chained(
    frame: pd.DataFrame,
    covariates: list[str],
    categorical: list[str],
    predictors: list[str],
    m: int,
    max_iter: int,
    seed: int,
) -> tuple[pd.DataFrame, ...]:
    """``m`` imputed copies of ``frame`` with the missing covariates drawn by chained equations.

    Parameters
    ----------
    frame : pandas.DataFrame
        The analysis sample, with missing covariates (and perhaps outcomes).
    covariates : list of str
        The covariate columns; their missing values are imputed.
    categorical : list of str
        The covariates modelled by categories (multinomial logistic draws).
    predictors : list of str
        Further columns in every imputation model and never imputed: the treatment and the
        outcomes (an outcome's missing values are drawn inside the chain only).
    m : int
        Imputed data sets.
    max_iter : int
        Rounds of the chain per data set.
    seed : int
        The study's seed: one ``numpy.random.SeedSequence`` spawns one seed per data set, so the
        imputations are reproducible and independent.

    Returns
    -------
    tuple of pandas.DataFrame
        The ``m`` imputed data sets (same index and columns as ``frame``; outcomes untouched).

    Raises
    ------
    DataError
        When a covariate has no observed value to impute from.
    """
    chain = []
    for name in [*covariates, *predictors]:
        missing = frame[name].isna().to_numpy()
        if missing.all():
            raise DataError(
                f"covariates: column '{name}'",
                "has no observed value to impute from; remove it from the study",
            )
        values = frame[name].dropna()
        categories = name in categorical or values.nunique() <= 2
        chain.append(_Variable(name, categories, missing, name in covariates))
    streams = np.random.SeedSequence(seed).spawn(m)
    # the chain fits many small models, for which a threaded BLAS costs far more than it saves
    # (twenty times slower on two shared cores)
    with threadpool_limits(limits=1):
        return tuple(_one_chain(frame, chain, max_iter, np.random.default_rng(s)) for s in streams)


def _one_chain(
    frame: pd.DataFrame, chain: list[_Variable], max_iter: int, rng: np.random.Generator
) -> pd.DataFrame:
    """One imputed data set: start from random observed values, then ``max_iter`` rounds."""
    current = {v.name: _start(frame[v.name], v, rng) for v in chain}
    incomplete = [v for v in chain if v.missing.any()]
    for _ in range(max_iter):
        for variable in incomplete:
            x = _predictor_matrix(current, chain, variable.name)
            draws = _draw(x, current[variable.name], variable, rng)
            current[variable.name][variable.missing] = draws
    out = frame.copy()
    for variable in incomplete:
        if variable.keep_draws:
            column = pd.Series(current[variable.name], index=frame.index)
            numeric = pd.api.types.is_numeric_dtype(frame[variable.name])
            out[variable.name] = column.astype(float) if numeric else column
    return out


def _start(series: pd.Series, variable: _Variable, rng: np.random.Generator) -> np.ndarray:
    """The column as an array (object for categories, float otherwise), its missing values drawn
    from its observed ones."""
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan, copy=True)
        values = values.astype(object) if variable.categories else values
    else:
        values = series.to_numpy(dtype=object, na_value=np.nan, copy=True)
    observed = values[~variable.missing]
    values[variable.missing] = rng.choice(observed, size=int(variable.missing.sum()))
    return values


def _predictor_matrix(current: dict[str, np.ndarray], chain: list[_Variable], target: str) -> np.ndarray:
    """Every variable but ``target``: continuous ones standardised, categories one-hot."""
    blocks = []
    for variable in chain:
        if variable.name == target:
            continue
        values = current[variable.name]
        if variable.categories:
            levels = pd.unique(values)
            blocks.append((values[:, None] == levels[None, 1:]).astype(float))
        else:
            sd = values.std()
            blocks.append(((values - values.mean()) / (sd if sd > 0 else 1.0))[:, None])
    return np.hstack(blocks) if blocks else np.zeros((len(next(iter(current.values()))), 0))


def _draw(x: np.ndarray, y: np.ndarray, variable: _Variable, rng: np.random.Generator) -> np.ndarray:
    """Draws for the missing rows of one variable from its model fitted on the observed rows."""
    from sklearn.exceptions import ConvergenceWarning  # only runs that impute pay for sklearn
    from sklearn.linear_model import BayesianRidge, LogisticRegression

    observed, missing = ~variable.missing, variable.missing
    if not variable.categories:
        model = BayesianRidge().fit(x[observed], y[observed].astype(float))
        mean, sd = model.predict(x[missing], return_std=True)
        return rng.normal(mean, sd)
    rows = np.flatnonzero(observed)
    boot = rng.choice(rows, size=rows.size)
    levels = pd.unique(y[boot])
    if levels.size == 1:
        return np.full(int(missing.sum()), levels[0], dtype=object)
    codes = pd.Categorical(y[boot], categories=levels).codes
    with warnings.catch_warnings():
        # a draw needs plausible probabilities, not the optimum to the last digit
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(max_iter=300).fit(x[boot], codes)
    probabilities = model.predict_proba(x[missing])
    cumulative = probabilities.cumsum(axis=1)
    picks = (rng.random((len(cumulative), 1)) > cumulative).sum(axis=1)
    return levels[model.classes_[np.minimum(picks, len(model.classes_) - 1)]]
