"""Covariate design matrices (categorical covariates one-hot coded against their most frequent
level, numeric ones standardised) and the categorical levels held by one group only, which
separate the groups and leave nothing to compare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..exceptions import DesignError

OTHER_LEVEL = "(other)"


@dataclass(frozen=True)
class CovariateDesign:
    """The numeric design matrix of the covariates (no intercept), with column names and the
    covariate each column comes from."""

    matrix: np.ndarray
    names: list[str]
    sources: list[str]
    # design columns left out because the intercept and earlier columns determine them exactly
    collinear: tuple[str, ...] = ()

    def with_intercept(self) -> np.ndarray:
        return np.column_stack([np.ones(self.matrix.shape[0]), self.matrix])

    def independent(self) -> CovariateDesign:
        """The design without the columns that are exact linear combinations of the intercept
        and the columns before them (a covariate entered twice on two scales, dummies that add
        up to another covariate), named in ``collinear``. Such a column adds nothing to any model
        and makes the score's information matrix singular, so that whether a fit converges would
        depend on rounding. Checked on the correlation matrix of the columns (cheap: p x p); a
        column is dependent when its residual variance given the earlier ones is below 1e-9 of
        its own."""
        x = self.matrix
        if x.shape[1] == 0:
            return self
        mean = x.mean(axis=0)
        cross = x.T @ x - x.shape[0] * np.outer(mean, mean)  # centred cross-products, no copy of x
        scale = np.sqrt(np.clip(np.diag(cross), 0.0, None))
        if (scale <= 1e-12 * max(float(scale.max()), 1.0)).any():
            return self  # a constant column is refused elsewhere, with its name
        gram = cross / np.outer(scale, scale)
        if np.linalg.eigvalsh(gram).min() > 1e-9:
            return self
        keep: list[int] = []
        for j in range(x.shape[1]):
            if not keep:
                keep.append(j)
                continue
            g = gram[np.ix_(keep, keep)]
            b = gram[keep, j]
            residual = 1.0 - b @ np.linalg.lstsq(g, b, rcond=None)[0]
            if residual > 1e-9:
                keep.append(j)
        dropped = tuple(self.names[j] for j in range(x.shape[1]) if j not in keep)
        return CovariateDesign(
            x[:, keep], [self.names[j] for j in keep], [self.sources[j] for j in keep], dropped
        )


def covariate_design(
    frame: pd.DataFrame, covariates: list[str], categorical: list[str], standardise: bool = True
) -> CovariateDesign:
    """One-hot code categorical covariates (reference: most frequent level) and, when
    ``standardise``, centre and scale numeric ones. A constant covariate is an error."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    sources: list[str] = []
    for column in covariates:
        for name, values in column_block(frame, column, column in categorical, standardise):
            blocks.append(values)
            names.append(name)
            sources.append(column)
    matrix = np.column_stack(blocks) if blocks else np.empty((len(frame), 0))
    return CovariateDesign(matrix, names, sources)


def column_block(
    frame: pd.DataFrame, column: str, categorical: bool, standardise: bool
) -> list[tuple[str, np.ndarray]]:
    """The design columns of one covariate column: a 0/1 indicator per level but the most
    frequent one (named ``column=level``), or the numeric values, standardised if asked."""
    if categorical:
        levels = level_indicators(frame[column])
        if not levels:
            _constant(column)
        return [(f"{column}={level}", values) for level, values in levels]
    values = pd.to_numeric(frame[column]).to_numpy(dtype=float)
    sd = values.std()
    if not np.isfinite(sd) or sd == 0:
        _constant(column)
    if not standardise:
        return [(column, values)]
    centred = values - values.mean()
    centred /= sd  # in place: one n-row temporary, not two (10M rows: 80 MB each)
    return [(column, centred)]


def level_indicators(series: pd.Series) -> list[tuple[str, np.ndarray]]:
    """A 0/1 indicator of every level but the reference, the most frequent one, in sorted order
    (none for a column with one level)."""
    text = series.astype(str)
    levels = text.value_counts()
    return [(level, (text == level).to_numpy(dtype=float)) for level in sorted(levels.index[1:])]


def _constant(column: str) -> None:
    raise DesignError(
        f"covariates: '{column}'",
        "is constant in the analysis sample, so it cannot adjust for anything; remove it",
    )


@dataclass(frozen=True)
class SeparatedLevel:
    """A categorical level held by units of one group only: no comparison is possible there."""

    column: str
    level: str
    units: int
    group: Literal["treated", "control"]


def separated_levels(
    frame: pd.DataFrame, categorical: list[str], treated: np.ndarray
) -> list[SeparatedLevel]:
    """Every level of the categorical covariates whose units are all treated or all controls
    (such a level separates the groups: the logistic fit diverges and there is no overlap)."""
    out = []
    t = np.asarray(treated)
    for column in categorical:
        values = frame[column].astype(str).to_numpy()
        levels, codes = np.unique(values, return_inverse=True)
        n = np.bincount(codes, minlength=levels.size)
        n1 = np.bincount(codes, weights=t, minlength=levels.size)
        for j in np.flatnonzero((n1 == 0) | (n1 == n)):
            group: Literal["treated", "control"] = "treated" if n1[j] == n[j] else "control"
            out.append(SeparatedLevel(column, str(levels[j]), int(n[j]), group))
    return out


def separation_error(level: SeparatedLevel) -> DesignError:
    """The refusal for ``propensity.separation: error``."""
    return DesignError(
        f"covariates: '{level.column}'",
        f"perfect separation in the propensity model: every unit with {level.column}={level.level} "
        f"is {level.group}; set 'propensity.separation: exclude' (the default), 'merge' or "
        "'penalise', or restrict the population",
    )


def merge_rare_levels(frame: pd.DataFrame, categorical: list[str], below: int) -> dict[str, list[str]]:
    """Replace, in place, the levels of each categorical covariate held by fewer than ``below``
    units by ``"(other)"``; returns the merged levels per column."""
    merged = {}
    for column in categorical:
        values = frame[column].astype(str)
        counts = values.value_counts()
        rare = sorted(counts.index[counts < below])
        if len(rare) > 0:
            frame[column] = values.where(~values.isin(rare), OTHER_LEVEL)
            merged[column] = rare
    return merged


def exact_strata(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Each row's exact-matching stratum as a number: rows with equal values of ``columns``
    share one (equal values written differently, 1 and 1.0 or 0.0 and -0.0, are one stratum),
    numbered in the order of their labels (the values as text joined by "|"; values with the same
    text are one stratum too). A label is built once per stratum, not per row (a row's text
    would take 60 bytes a row, for nothing)."""
    codes = [pd.factorize(frame[column], use_na_sentinel=False) for column in columns]
    combined = np.zeros(len(frame), dtype=np.int64)
    for code, uniques in codes:
        combined = pd.factorize(combined * len(uniques) + code)[0]
    first = np.unique(combined, return_index=True)[1]  # a row of each stratum, by stratum
    labels = ["|".join(str(uniques[code[row]]) for code, uniques in codes) for row in first]
    return np.unique(np.array(labels, dtype=object), return_inverse=True)[1][combined]
