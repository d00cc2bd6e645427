"""The analysis of a multi-valued treatment (``treatment: {column: ..., reference: ...}``).

The sample, the separation rule and the covariate design are the binary ones, with "treated"
meaning any level but the reference. On the design's rows the generalised propensity score is
fitted (:func:`~reimpact.design.gps.fit_gps`); the naive differences, ``ipw`` and ``aipw`` then
estimate the mean potential outcome of every level and every contrast, each level against the
reference and every other pair (:mod:`reimpact.estimators.multivalued`), each
:class:`~reimpact.results.Effect` carrying its ``contrast``. Balance is shown for every level
against the reference, under that contrast's IPW weights 1 / e_T(x) (the ATE weights of the two
levels' units, zero elsewhere). The propensity score of the results (and of the overlap figure) is
1 - e_reference(x), the probability of a level other than the reference; the generalised score
itself goes to the results for the per-level overlap figure, and the smallest score of every level
is in the effects' notes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .design import comparison, fit_design
from .design.gps import GeneralisedScores, fit_gps
from .diagnostics.balance import balance_table
from .diagnostics.pairs import PairBalance, pair_balance
from .estimators.dose import dose_curve, dose_pairs
from .estimators.multivalued import (
    aipw_means,
    contrast_pairs,
    ipw_means,
    level_effects,
    outcome_predictions,
)
from .exceptions import DesignError
from .results import DesignSummary, Effect
from .results.dose import DoseResponse
from .sample.rules import continuous_dose, dose_values, treatment_levels

if TYPE_CHECKING:
    from .config.study import Study
    from .design.propensity import PropensityScores
    from .diagnostics.balance import BalanceTable
    from .sample import AnalysisSample

# what pipeline.run_study needs of an analysis: frame, treated (any level but the reference), score,
# design summary, weights, balance, effects, sensitivity (none) and the true effects
MultiAnalysis = tuple[
    pd.DataFrame, np.ndarray, "PropensityScores", DesignSummary, dict[str, np.ndarray],
    "BalanceTable", list[Effect], None, list[pd.DataFrame],
]  # fmt: skip


def level_pairs(study: Study, levels: tuple[str, ...]) -> list[tuple[int, int]]:
    """The contrasts of the levels, those against the reference first: every pair
    (:func:`~reimpact.estimators.multivalued.contrast_pairs`), or for a dose the steps between
    neighbouring doses (:func:`~reimpact.estimators.dose.dose_pairs`)."""
    return dose_pairs(levels) if study.treatment.dose else contrast_pairs(levels)


def multivalued_effects(
    study: Study,
    x: np.ndarray,
    gps: GeneralisedScores,
    frame: pd.DataFrame,
    s: np.ndarray | None,
    curves: list[pd.DataFrame] | None = None,
) -> list[Effect]:
    """The naive, IPW and AIPW effects of every contrast on every outcome (rows without an
    outcome left out of its analyses, with the score fitted on all rows); for a dose, the
    contrasts of :func:`~reimpact.estimators.dose.dose_pairs`, and the IPW and AIPW curves
    appended to ``curves``."""
    clip = study.propensity.clip
    cluster = frame[study.cluster].to_numpy() if study.cluster else None
    lowest = ", ".join(f"{k} {v:.3f}" for k, v in gps.min_by_level().items())
    notes = (f"smallest generalised propensity score by level: {lowest}",)
    effects: list[Effect] = []
    for outcome in study.outcomes:
        rows = frame[outcome].notna().to_numpy()
        y, codes, e = frame[outcome].to_numpy(dtype=float)[rows], gps.codes[rows], gps.scores[rows]
        if np.bincount(codes, minlength=len(gps.levels)).min() < 2:
            raise DesignError(f"outcomes: '{outcome}'", "is observed for fewer than 2 units of a level")
        w = None if s is None else s[rows]
        g = None if cluster is None else cluster[rows]
        shares = np.bincount(codes, weights=w, minlength=len(gps.levels))
        fits = {"naive": ipw_means(y, codes, np.tile(shares / shares.sum(), (y.size, 1)), 0.0, w)}
        if "ipw" in study.methods.names:
            fits["ipw"] = ipw_means(y, codes, e, clip, w)
        if "aipw" in study.methods.names:
            folds = study.methods.aipw.folds
            m = outcome_predictions(x[rows], y, codes, len(gps.levels), folds, w, study.seed)
            fits["aipw"] = aipw_means(y, codes, e, m, clip, w)
        pairs = level_pairs(study, gps.levels)
        for method, fitted in fits.items():
            effects += level_effects(fitted, gps.levels, codes, outcome, method, w, g, notes, pairs)
            if curves is not None and method != "naive":
                curves.append(dose_curve(fitted, gps.levels, codes, outcome, method, w, g))
    return effects


def analyse_multivalued(
    study: Study, sample: AnalysisSample
) -> tuple[MultiAnalysis, GeneralisedScores | None, PairBalance | None, DoseResponse | None]:
    """Design, generalised score, the effects of every contrast, balance against the reference
    and the design summary of a multi-valued treatment, in the order of ``pipeline._Analysis``;
    the generalised score (for the per-level overlap figure and warnings), the balance of every
    other pair of levels and, for a dose, its curves."""
    compared = comparison(study, sample)
    main = fit_design(study, compared, compared.frame, compared.t)
    if study.treatment.dose and continuous_dose(dose_values(study, main.frame)):
        from .pipeline_dose import analyse_continuous_dose

        return analyse_continuous_dose(study, sample, compared, main)
    codes, levels, _ = treatment_levels(study, main.frame)
    x = main.covariates.matrix
    gps = fit_gps(x, codes, levels, study.propensity.kind, main.sample_weight, study.seed)  # type: ignore[arg-type]
    curves: list[pd.DataFrame] | None = [] if study.treatment.dose else None
    effects = multivalued_effects(study, x, gps, main.frame, main.sample_weight, curves)
    inverse = 1.0 / np.maximum(gps.own(), study.propensity.clip)
    weights = {
        f"IPW {level} vs {levels[0]}": np.where(np.isin(codes, (0, j)), inverse, 0.0)
        for j, level in enumerate(levels[1:], 1)
    }
    terms = compared.balance_terms(study, main.frame)
    balance = balance_table(
        main.frame, compared.covariates, compared.categorical, main.t, weights, "ATE",
        study.report.min_cell_size, main.sample_weight, terms,
    )  # fmt: skip
    pairs = pair_balance(
        main.frame, compared.covariates, compared.categorical, codes, levels,
        level_pairs(study, levels)[len(levels) - 1 :], inverse, study.report.min_cell_size,
        main.sample_weight, terms,
    )  # fmt: skip
    bounded = int((gps.own() < study.propensity.clip).sum())
    summary = DesignSummary(
        propensity_model=f"multinomial {gps.model}",
        clip=study.propensity.clip,
        n_bounded_below=bounded,
        n_bounded_above=0,
        trim=None,
        n_trimmed=0,
        separated_levels=compared.levels,
        collinear=list(main.covariates.collinear),
        dose={"kind": "levels", "reference": levels[0]} if study.treatment.dose else {},
    )
    truths, dose = simulated_truth(study, sample, main.frame.index, main.sample_weight, levels, curves)
    truths = [t[t.contrast.isin({e.contrast for e in effects})].reset_index(drop=True) for t in truths]
    scores = type(main.scores)(
        1.0 - gps.scores[:, 0], summary.propensity_model, study.propensity.clip, None
    )
    return (
        (main.frame, main.t, scores, summary, weights, balance, effects, None, truths),
        gps,
        pairs,
        dose,
    )


def simulated_truth(
    study: Study,
    sample: AnalysisSample,
    index: pd.Index,
    s: np.ndarray | None,
    levels: tuple[str, ...],
    curves: list[pd.DataFrame] | None,
) -> tuple[list[pd.DataFrame], DoseResponse | None]:
    """The true contrasts on the simulated cohort (of ``assistance_type`` or ``n_activities``,
    over the analysed rows) and, for a dose, the :class:`~reimpact.results.dose.DoseResponse`
    with the true curve when it is known."""
    cohort = sample.source.cohort
    truths, curve_truth = [], None
    if cohort is not None and study.treatment.column == "assistance_type":
        truths.append(cohort.contrast_truth(index, s, levels))
    if cohort is not None and study.treatment.column == "n_activities" and study.treatment.dose:
        contrasts, curve_truth = cohort.dose_truth(index, s, levels)
        truths.append(contrasts)
        curve_truth = curve_truth[curve_truth.outcome.isin(study.outcomes)][["outcome", "dose", "mean"]]
    truths = [t[t.outcome.isin(study.outcomes)] for t in truths]
    if curves is None:
        return truths, None
    return truths, DoseResponse(study.treatment.label, pd.concat(curves, ignore_index=True), curve_truth)
