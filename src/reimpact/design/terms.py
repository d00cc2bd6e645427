"""The design matrix of covariates written as terms (``I(age**2)``, ``age:sex``, ``bs(age, df=4)``).

A plain column (``C(x)`` included) is coded exactly as
:func:`~reimpact.design.covariates.covariate_design` codes it. A term is the product of its
factors' columns: a numeric column as it is, a categorical one (a text column, one listed under
``categorical`` or written ``C(x)``) as 0/1 indicators of every level but its most frequent one,
in every term it appears in (write ``age*sex`` for ``age``, ``sex`` and a slope per level), and an
expression as formulaic evaluates it (several columns for a spline basis). The product's columns
are named by their factors' columns joined with ``:`` (``age:sex=M``, ``I(age ** 2)``) and
standardised like numeric columns, unless every factor is categorical. Expressions are fitted
once, on the analysis sample (the rows the separation rule keeps): a spline's knots or a
``center()``'s mean do not move when trimming or a missing outcome leaves rows out. Only
expressions that :mod:`reimpact.formula` let through reach formulaic, which sees only the
columns they use.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DesignError
from ..formula import CovariateTerms, Factor, Term
from .covariates import CovariateDesign, column_block, level_indicators


@dataclass(frozen=True)
class FittedTerms:
    """The covariate terms with formulaic's model spec of each expression, fitted on the analysis
    sample (it holds the spline knots and other data-dependent state)."""

    terms: CovariateTerms
    specs: dict[str, Any]


def fit_terms(terms: CovariateTerms, frame: pd.DataFrame) -> FittedTerms | None:
    """Fit the expressions of ``terms`` on ``frame``; None when every term is a plain column."""
    if not terms.has_terms:
        return None
    specs = {}
    factors = {f.expr: f for term in terms.terms for f in term.factors}
    for expr in terms.expressions:
        specs[expr] = _evaluate(factors[expr], frame, None)[0]
    return FittedTerms(terms, specs)


def _evaluate(factor: Factor, frame: pd.DataFrame, spec: Any) -> tuple[Any, pd.DataFrame]:
    """formulaic's model matrix of one expression (no intercept) on the columns it uses only,
    with no other names in scope; a problem becomes a DesignError naming the expression."""
    data = frame[list(factor.columns)]
    try:
        with np.errstate(all="ignore"):  # a log of 0 is refused below, with the rows counted
            matrix = _model_matrix(factor.expr, data, spec)
    except Exception as exc:  # formulaic wraps evaluation errors in several types
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DesignError(
            f"covariates: '{factor.expr}'", f"cannot be evaluated ({problem}); check the columns"
        ) from None
    if matrix.model_spec.factor_contrasts:
        raise DesignError(
            f"covariates: '{factor.expr}'",
            "gives categories, not numbers; write C(column) for a categorical covariate",
        )
    values = matrix.to_numpy(dtype=float)
    bad = int((~np.isfinite(values)).any(axis=1).sum())
    if bad:
        raise DesignError(
            f"covariates: '{factor.expr}'",
            f"is infinite or undefined in {bad} rows (a log of 0 or of a negative number, say); "
            "transform the column differently",
        )
    return matrix.model_spec, pd.DataFrame(values, columns=list(matrix.columns), index=frame.index)


def _model_matrix(expr: str, data: pd.DataFrame, spec: Any) -> Any:
    """Fit (``spec`` None) or apply formulaic's model spec of ``0 + expr``; rows are never dropped,
    and no name but formulaic's own functions and the columns is in scope (``context={}``)."""
    from formulaic import model_matrix

    if spec is None:
        return model_matrix(f"0 + {expr}", data, na_action="ignore", context={})
    return spec.get_model_matrix(data, na_action="ignore")


def _factor_columns(
    factor: Factor, frame: pd.DataFrame, categorical: list[str], fitted: FittedTerms
) -> list[tuple[str, np.ndarray]]:
    if factor.kind == "expression":
        values = _evaluate(factor, frame, fitted.specs[factor.expr])[1]
        return [(str(name), values[name].to_numpy()) for name in values.columns]
    column = factor.columns[0]
    if factor.kind == "categorical" or column in categorical:
        return [(f"{column}={level}", x) for level, x in level_indicators(frame[column])]
    return [(column, pd.to_numeric(frame[column]).to_numpy(dtype=float))]


def _term_columns(
    term: Term, frame: pd.DataFrame, categorical: list[str], fitted: FittedTerms, standardise: bool
) -> list[tuple[str, np.ndarray]]:
    """The columns of a term that is more than a column: the products of its factors' columns. A
    constant product of indicators only (a combination of levels no unit has) is left out; any
    other constant column is an error."""
    parts = [_factor_columns(f, frame, categorical, fitted) for f in term.factors]
    dummies = all(f.kind == "categorical" or f.columns[0] in categorical for f in term.factors)
    out = []
    for combination in product(*parts):
        name = ":".join(label for label, _ in combination)
        values = np.prod([x for _, x in combination], axis=0)
        sd = values.std()
        if dummies and sd == 0:
            continue
        if not np.isfinite(sd) or sd == 0:
            raise DesignError(
                f"covariates: '{term.entry}'",
                f"its column '{name}' is constant in the analysis sample, so it cannot adjust for "
                "anything; remove the term",
            )
        out.append((name, (values - values.mean()) / sd if standardise and not dummies else values))
    return out


def term_design(
    frame: pd.DataFrame,
    covariates: list[str],
    categorical: list[str],
    fitted: FittedTerms,
    standardise: bool = True,
) -> CovariateDesign:
    """The design matrix of the terms in the study's order (a term's ``source`` is its label),
    then the covariate columns no term uses (the ``<column>_missing`` indicators of ``missing:
    impute``). A plain column the separation rule dropped (one level left) is left out, as is a
    term whose categorical factor has one level left."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    sources: list[str] = []
    used = set(fitted.terms.columns)
    for term in fitted.terms.terms:
        if term.plain:
            column = term.columns[0]
            found = [] if column not in covariates else column_block(
                frame, column, column in categorical, standardise
            )  # fmt: skip
            source = column
        else:
            found, source = _term_columns(term, frame, categorical, fitted, standardise), term.label
        for name, values in found:
            blocks.append(values)
            names.append(name)
            sources.append(source)
    for column in [c for c in covariates if c not in used]:
        for name, values in column_block(frame, column, column in categorical, standardise):
            blocks.append(values)
            names.append(name)
            sources.append(column)
    matrix = np.column_stack(blocks) if blocks else np.empty((len(frame), 0))
    design = CovariateDesign(matrix, names, sources)
    _check_rank(design)
    return design


def _check_rank(design: CovariateDesign) -> None:
    """Refuse terms whose columns repeat others (with the intercept every method adds), such as
    ``bs(age, df=4)`` beside ``age``: the score model would have no unique fit."""
    x = design.with_intercept()
    if np.linalg.matrix_rank(x) == x.shape[1]:
        return
    for j in range(2, x.shape[1] + 1):
        if np.linalg.matrix_rank(x[:, :j]) < j:
            name, source = design.names[j - 2], design.sources[j - 2]
            raise DesignError(
                f"covariates: '{source}'",
                f"its column '{name}' is a combination of the columns before it and the "
                "intercept (terms that repeat each other, a spline beside its column, or cr(), "
                "cs() or cc() without constraints='center'); remove or change one of them",
            )


def term_balance_columns(
    frame: pd.DataFrame, covariates: list[str], categorical: list[str], fitted: FittedTerms
) -> dict[str, tuple[str, np.ndarray]]:
    """The unstandardised design columns of the terms that are more than a column, for the balance
    table: name -> (term label, values)."""
    design = term_design(frame, covariates, categorical, fitted, standardise=False)
    labels = {term.label for term in fitted.terms.terms if not term.plain}
    return {
        name: (source, design.matrix[:, j])
        for j, (name, source) in enumerate(zip(design.names, design.sources, strict=True))
        if source in labels
    }
