"""The design a study's methods share: which units can be compared (the separation rule), the
covariate design matrix and the propensity score, after trimming."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..exceptions import DesignError
from .covariates import (
    CovariateDesign,
    covariate_design,
    merge_rare_levels,
    separated_levels,
    separation_error,
)
from .propensity import PropensityScores, estimate_propensity
from .terms import FittedTerms, fit_terms, term_balance_columns, term_design

if TYPE_CHECKING:
    from ..config.study import Study
    from ..sample import AnalysisSample


@dataclass(frozen=True)
class FittedDesign:
    """The design fitted on one set of rows: covariates and score (after trimming). A study has one
    on its analysis sample, and one more for each pattern of missing outcomes (an outcome is
    analysed on the rows where it is observed)."""

    frame: pd.DataFrame
    t: np.ndarray
    covariates: CovariateDesign
    scores: PropensityScores
    n_trimmed: int
    sample_weight: np.ndarray | None = None


@dataclass(frozen=True)
class Comparison:
    """The units that can be compared and the covariates to compare them on, after the
    ``propensity.separation`` rule; ``levels`` are the separated levels and what was done;
    ``terms`` the covariate terms fitted on ``frame`` (None when every covariate is a column)."""

    frame: pd.DataFrame
    t: np.ndarray
    covariates: list[str]
    categorical: list[str]
    levels: list[dict[str, Any]]
    terms: FittedTerms | None = None

    def design(self, frame: pd.DataFrame, standardise: bool = True) -> CovariateDesign:
        """The covariate design matrix on ``frame`` (rows of this comparison), without columns
        that others determine exactly (:meth:`CovariateDesign.independent`)."""
        if self.terms is None:
            design = covariate_design(frame, self.covariates, self.categorical, standardise)
        else:
            design = term_design(frame, self.covariates, self.categorical, self.terms, standardise)
        return design.independent()

    def balance_terms(
        self, study: Study, frame: pd.DataFrame
    ) -> dict[str, tuple[str, np.ndarray]] | None:
        """The terms' design columns on ``frame`` for the balance table, when ``balance.terms``
        asks for them (None otherwise, or when every covariate is a column)."""
        if not study.balance.terms or self.terms is None:
            return None
        return term_balance_columns(frame, self.covariates, self.categorical, self.terms)


def comparison(study: Study, sample: AnalysisSample) -> Comparison:
    """Apply ``propensity.separation`` to the analysis sample.

    A categorical level held by one group only offers no comparison. ``exclude`` leaves its units
    out (repeated until no such level remains, since leaving units out can separate another
    level): for the ATT a level without treated units only sheds controls that resemble no
    treated unit, so the ATT is unchanged, while a level without controls sheds treated units and
    restricts the ATT to the treated outside it (mirrored for the ATC; both restrict the ATE).
    ``merge`` first pools rare levels into "(other)"; ``penalise`` keeps every unit for Firth's
    model; ``error`` refuses. A categorical covariate left with one level is dropped (said)."""
    spec = study.propensity
    frame, t = sample.frame, sample.treatment.astype(np.int8)
    categorical = list(sample.categorical)
    covariates = list(sample.covariate_columns)
    levels: list[dict[str, Any]] = []
    if spec.kind == "column" or spec.separation == "penalise":
        terms = fit_terms(study.covariate_terms, frame)
        return Comparison(frame, t, covariates, categorical, levels, terms)
    if spec.separation == "merge":
        frame = frame.copy()
        for column, merged in merge_rare_levels(frame, categorical, spec.merge_below).items():
            levels.append({"column": column, "level": ", ".join(merged), "action": "merged"})
    for _ in range(20):
        found = separated_levels(frame, categorical, t)
        if not found:
            break
        if spec.separation == "error":
            raise separation_error(found[0])
        drop = np.zeros(len(frame), bool)
        for level in found:
            drop |= (frame[level.column].astype(str) == level.level).to_numpy()
            levels.append({**asdict(level), "action": "excluded"})
        frame, t = frame.loc[~drop], t[~drop]
        if min(t.sum(), (1 - t).sum()) < 2:
            raise DesignError(
                "propensity.separation",
                "leaving out the levels held by one group leaves fewer than 2 treated or control "
                "units; merge levels ('separation: merge') or revise the covariates",
            )
    for column in [c for c in categorical if frame[c].astype(str).nunique() < 2]:
        categorical.remove(column)
        covariates.remove(column)
        levels.append({"column": column, "level": "", "action": "dropped: one level left"})
    terms = fit_terms(study.covariate_terms, frame)
    return Comparison(frame, t, covariates, categorical, levels, terms)


def design_weights(study: Study, frame: pd.DataFrame) -> np.ndarray | None:
    """The sampling weights of ``frame``'s rows (``weights: COLUMN``), None without."""
    return None if study.weights is None else frame[study.weights].to_numpy(dtype=float)


def fit_design(study: Study, comparison: Comparison, frame: pd.DataFrame, t: np.ndarray) -> FittedDesign:
    """Covariates, score and trimming (Crump et al. 2009; the score is refitted on the rows kept)
    on ``frame``: what every method of the study shares."""
    covariates = comparison.design(frame)
    given = frame[study.propensity.column].to_numpy(dtype=float) if study.propensity.column else None
    p = study.propensity
    firth = p.separation == "penalise"
    weights = design_weights(study, frame)
    scores = estimate_propensity(
        covariates, t, p.kind, p.clip, given, study.seed, firth, weights, study.estimand
    )
    n_trimmed = 0
    if p.trim is not None:
        keep = (scores.scores >= p.trim) & (scores.scores <= 1 - p.trim)
        n_trimmed = int((~keep).sum())
        if n_trimmed:
            frame, t = frame.loc[keep], t[keep]
            given = None if given is None else given[keep]
            if min(t.sum(), (1 - t).sum()) < 2:
                raise DesignError(
                    "propensity.trim", "trimming leaves fewer than 2 units in a group; lower it"
                )
            covariates = comparison.design(frame)
            weights = design_weights(study, frame)
            scores = estimate_propensity(
                covariates, t, p.kind, p.clip, given, study.seed, firth, weights, study.estimand
            )
    return FittedDesign(frame, t, covariates, scores, n_trimmed, weights)
