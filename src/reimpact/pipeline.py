"""Runs a study as a sequence of small named steps, one way: study -> sample -> design ->
methods (from the registry) -> balance and sensitivity -> :class:`~reimpact.results.StudyResults`.
Writing the outputs is the report's job (:func:`reimpact.report.outputs.write_outputs`, also
``reimpact.write_outputs``).

    sample = prepare_sample(study)            # population, treatment rule, missing values
    comparison = comparison(study, sample)    # the separation rule
    design = fit_design(...)                  # covariates, score, trimming
    effects, fitted = fit_methods(...)        # every registered method the study names
    balance = balance_table(...)              # before and after each method's weights
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .design import Comparison, FittedDesign, comparison, fit_design
from .design.covariates import exact_strata
from .design.propensity import PropensityScores
from .design.weights import effective_sample_size
from .diagnostics.balance import BalanceTable, balance_table
from .exceptions import DesignError
from .messages import multivalued_warnings, study_warnings
from .registry import METHODS, build_estimator
from .results import DesignSummary, Effect, EffectTable, StudyResults
from .results.pooled import average_balance, average_rows, average_scores, pool_design, pool_effects
from .sample import AnalysisSample, prepare_sample
from .sensitivity import SensitivityResults
from .sensitivity.runner import run_pooled_sensitivity, run_sensitivity

if TYPE_CHECKING:
    from .config.study import Study
    from .estimators import EffectEstimator


def fit_methods(
    study: Study,
    design: FittedDesign,
    outcomes: list[str],
    quiet: bool,
    balance_only: bool = False,
) -> tuple[list[Effect], dict[str, EffectEstimator]]:
    """Every method of the study (registry order) on ``outcomes`` with ``design``: the effects
    and the fitted estimators. Estimators that match or weight on the study's score get the one
    fitted for the design; a given score goes to every method. ``balance_only``: only the methods
    that imply balance weights, on a constant stand-in outcome (their weights do not depend on it),
    when no outcome is observed on every row of the design."""
    frame, t = design.frame, design.t
    x = pd.DataFrame(
        design.covariates.matrix, columns=design.covariates.names, index=frame.index, copy=False
    )  # a view: the estimators read it, never write it (a copy is 80 MB at 1M rows)
    y = frame[outcomes].astype(float)
    if balance_only:
        y = pd.DataFrame({"outcome": np.zeros(len(frame))}, index=frame.index)
    cluster = frame[study.cluster] if study.cluster else None
    strata = None
    if study.exact:
        strata = exact_strata(frame, study.exact)
    effects: list[Effect] = []
    fitted: dict[str, EffectEstimator] = {}
    for method in METHODS.values():
        if not (method.always or method.name in study.methods.names):
            continue
        if balance_only and not method.estimator.balance_label:
            continue
        estimator = build_estimator(study, method.name, verbose=not quiet)
        inputs: dict[str, Any] = {"cluster": cluster}
        if design.sample_weight is not None:
            if "sample_weight" not in method.estimator.supports:
                raise DesignError(
                    f"methods.{method.name}",
                    "this method does not take sampling weights; remove it or remove 'weights'",
                )
            inputs["sample_weight"] = design.sample_weight
        if method.estimator.uses_design_score or design.scores.kind == "column":
            inputs["propensity"] = design.scores
        if strata is not None and "strata" in method.estimator.supports:
            inputs["strata"] = strata
        fitted[method.name] = estimator.fit(x, t, y, **inputs)
        effects += estimator.effects_
    constant = {name for name in y.columns if np.ptp(y[name].to_numpy()) == 0}
    note = "the outcome is constant in the analysed rows: every method estimates no effect (0)"
    effects = [replace(e, notes=(*e.notes, note)) if e.outcome in constant else e for e in effects]
    return effects, fitted


def outcome_groups(study: Study, frame: pd.DataFrame) -> list[tuple[np.ndarray, list[str]]]:
    """The outcomes grouped by the rows where they are observed (the fully observed first)."""
    groups: dict[bytes, tuple[np.ndarray, list[str]]] = {}
    for name in study.outcomes:
        mask = frame[name].notna().to_numpy()
        groups.setdefault(mask.tobytes(), (mask, []))[1].append(name)
    return sorted(groups.values(), key=lambda group: not group[0].all())


@dataclass
class _Fits:
    """What the outcome groups produced, gathered for the results."""

    effects: list[Effect]
    sensitivity: list[SensitivityResults]
    truths: list[pd.DataFrame]
    main: dict[str, EffectEstimator]


def analyse_outcomes(
    study: Study, sample: AnalysisSample, compared: Comparison, main: FittedDesign, quiet: bool
) -> _Fits:
    """Every method on every outcome, group by group of observed outcomes: the fully observed ones
    with the main design, the others with a design refitted on their rows (said in their notes)."""
    fits = _Fits([], [], [], {})
    for mask, names in outcome_groups(study, compared.frame):
        design = main
        if not mask.all():
            t = compared.t[mask]
            if min(t.sum(), (1 - t).sum()) < 2:
                raise DesignError(
                    f"outcomes: '{names[0]}'",
                    "is observed for fewer than 2 treated or control units; remove it or check the data",
                )
            design = fit_design(study, compared, compared.frame.loc[mask], t)
        found, fitted = fit_methods(study, design, names, quiet)
        if mask.all():
            fits.main = fitted
        else:
            note = (
                f"{int((~mask).sum())} {study.unit_label} without this outcome were left out of its "
                f"analyses; the score and the design were refitted on the {int(mask.sum())} others"
            )
            found = [replace(e, notes=(*e.notes, note)) for e in found]
        fits.effects += found
        if study.sensitivity is not None:
            table = EffectTable(tuple(found))
            fits.sensitivity.append(run_sensitivity(study, design, fitted, names, table, quiet))
        truth = true_effects(study, sample, design.frame, names)
        if truth is not None:
            fits.truths.append(truth)
    if not fits.main:  # no outcome is observed on every row
        fits.main = fit_methods(study, main, [], quiet, balance_only=True)[1]
    return fits


def summarise_design(
    study: Study, compared: Comparison, main: FittedDesign, fitted: dict[str, EffectEstimator]
) -> DesignSummary:
    """What the design did: score model, bounds by estimand, trimming, matching, separation."""
    bounds = main.scores.bounded(main.t, study.estimand)
    matcher = fitted.get("psm")
    return DesignSummary(
        propensity_model=main.scores.kind,
        clip=main.scores.clip,
        n_bounded_below=bounds.n_below,
        n_bounded_above=bounds.n_above,
        trim=study.propensity.trim,
        n_trimmed=main.n_trimmed,
        matching=matcher.matching_summary_ if matcher is not None else {},
        separated_levels=compared.levels,
        sampling_weights=sampling_summary(study, main),
        collinear=list(main.covariates.collinear),
    )


def sampling_summary(study: Study, design: FittedDesign) -> dict[str, Any]:
    """The sampling weights' column and Kish's design effect of unequal weighting, n / n_eff with
    n_eff = (sum s)^2 / sum s^2 (the variance inflation the weights alone cause); empty without."""
    if design.sample_weight is None:
        return {}
    n_eff = effective_sample_size(design.sample_weight)
    return {"column": study.weights, "design_effect": float(design.sample_weight.size / n_eff)}


def run_study(
    study: Study,
    data_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    quiet: bool = True,
) -> StudyResults:
    """Run every method of the study on every outcome.

    With ``out_dir``, write ``results.json``, the figures and ``report.html`` there. ``quiet=False``
    shows progress bars for long steps. The steps are: prepare the sample
    (:func:`~reimpact.prepare_sample`), apply the separation rule, fit the design (covariates,
    score, trimming), fit the naive difference and every method the study switches on (registry
    order), then balance, the design summary, the sensitivity checks the study asks for and the
    warnings.

    Rows without an outcome are left out of that outcome's analyses only: the design (score,
    trimming, matching, weights) is fitted once on the analysis sample, and once more on the rows
    of every other pattern of observed outcomes, each such effect noting how many were left out.
    Balance, the design summary and the figures describe the design on the analysis sample.
    Under ``missing: {method: multiple}`` all of this runs in each imputed data set and the
    results are pooled (:func:`analyse_imputations`).

    Parameters
    ----------
    study : Study
        The validated study (see :func:`~reimpact.load_study`).
    data_path : str or Path or None
        A data file read instead of the study's ``data`` section; None reads the study's own.
    out_dir : str or Path or None
        A folder for the outputs, written by :func:`~reimpact.write_outputs` (which first removes
        what an earlier run wrote there); None writes nothing.
    quiet : bool
        False shows progress bars for the long steps (bootstrap, cross-fitting, refutations).

    Returns
    -------
    StudyResults
        The sample, the design, the weights, balance, the effects (methods in registry order,
        then outcomes in the study's order), the sensitivity checks, the warnings and, for
        simulated data, the true effects.

    Raises
    ------
    DataError
        When the data cannot be read or do not fit the study (see
        :func:`~reimpact.prepare_sample`).
    SchemeError
        When the study scores raw answers and the scheme does not fit the data.
    DesignError
        When the design or a method cannot be estimated (no overlap, separation, trimming or a
        caliper leaving too few units, an outcome observed for fewer than 2 units of a group).
    DisclosureError
        With ``out_dir``, when the audit of the outputs finds a leak (nothing but the figures is
        written, and they are removed again).

    Examples
    --------
    >>> from reimpact import load_study, run_study
    >>> study = load_study("studies/orion_mentoring.yaml")
    >>> results = run_study(study, out_dir="results/orion-mentoring")
    >>> effect = results.effects.get("composite_score", "aipw")
    >>> low, high = effect.conf_int()
    >>> print(results.summary())  # doctest: +SKIP
    >>> results.effects.to_frame()  # doctest: +SKIP

    The same study on another export of the data:

    >>> results = run_study(study, data_path="exports/rss_2021.csv")  # doctest: +SKIP
    """
    sample = prepare_sample(study, data_path)
    level_scores = pairs = dose = None
    if study.treatment.multivalued:  # its own path (a dose too): reimpact.pipeline_multi
        from .pipeline_multi import analyse_multivalued

        analysis, level_scores, pairs, dose = analyse_multivalued(study, sample)
        run = _Analysis(*analysis)
    elif study.panel is not None:  # long data, by round and by DiD: reimpact.pipeline_panel
        from .pipeline_panel import analyse_panel

        analysis, sample = analyse_panel(study, sample, quiet)
        run = _Analysis(*analysis)
    elif sample.imputations:
        run = analyse_imputations(study, sample, quiet)
    else:
        run = analyse(study, sample, quiet)
    table = EffectTable(tuple(run.effects))
    warnings = study_warnings(
        study, run.design, sample, run.balance, run.scores, run.t, table, run.sensitivity
    )
    if level_scores is not None and pairs is not None:
        warnings += multivalued_warnings(study, level_scores, pairs)
    if run.design.dose.get("kind") == "continuous":
        from .pipeline_dose import COVERAGE_WARNING

        warnings.append(COVERAGE_WARNING)
    results = StudyResults(
        study=study,
        sample=sample,
        frame=run.frame,
        treated=run.t,
        propensity=run.scores,
        design=run.design,
        weights=run.weights,
        balance=run.balance,
        effects=table,
        truth=pd.concat(run.truths, ignore_index=True) if run.truths else None,
        warnings=tuple(warnings),
        sensitivity=run.sensitivity,
        level_scores=level_scores,
        dose_response=dose,
        pair_balance=pairs,
    )
    if out_dir is not None:
        from .report.outputs import write_outputs

        write_outputs(results, out_dir)
    return results


@dataclass
class _Analysis:
    """One analysis of the sample (or the pooled analyses of its imputations), for the results."""

    frame: pd.DataFrame
    t: np.ndarray
    scores: PropensityScores
    design: DesignSummary
    weights: dict[str, np.ndarray]
    balance: BalanceTable
    effects: list[Effect]
    sensitivity: SensitivityResults | None
    truths: list[pd.DataFrame]


def analyse(study: Study, sample: AnalysisSample, quiet: bool) -> _Analysis:
    """Separation rule, design, every method on every outcome, balance and the design summary."""
    compared = comparison(study, sample)
    main = fit_design(study, compared, compared.frame, compared.t)
    fits = analyse_outcomes(study, sample, compared, main, quiet)
    order = {name: j for j, name in enumerate(study.outcomes)}
    methods = list(METHODS)
    fits.effects.sort(key=lambda e: (methods.index(e.method), order[e.outcome]))
    weights: dict[str, np.ndarray] = {}
    for estimator in fits.main.values():
        label = type(estimator).balance_label
        if label:
            weights[label] = estimator.weights_
    balance = balance_table(
        main.frame, compared.covariates, compared.categorical, main.t, weights, study.estimand,
        study.report.min_cell_size, main.sample_weight, compared.balance_terms(study, main.frame),
    )  # fmt: skip
    summary = summarise_design(study, compared, main, fits.main)
    sensitivity = SensitivityResults.combine(fits.sensitivity) if study.sensitivity else None
    return _Analysis(
        main.frame,
        main.t,
        main.scores,
        summary,
        weights,
        balance,
        fits.effects,
        sensitivity,
        fits.truths,
    )


def analyse_imputations(study: Study, sample: AnalysisSample, quiet: bool) -> _Analysis:
    """The within approach to multiple imputation (Leyrat et al. 2019): the whole analysis
    (separation rule, score, trimming, matching or weights, every estimate) in each imputed data
    set, then effects pooled by Rubin's rules and balance and design counts averaged
    (:mod:`reimpact.results.pooled`). The sensitivity checks run on the pooled effects where that
    is valid (:func:`~reimpact.sensitivity.runner.run_pooled_sensitivity`). The figures and the
    overlap warning use each unit's score and weights averaged over the imputations, on the units
    every imputation analysed, with the covariates of the first imputed data set."""
    inner = study.model_copy(update={"sensitivity": None})
    runs = [
        analyse(inner, replace(sample, frame=frame, imputations=()), quiet)
        for frame in sample.imputations
    ]
    keep = runs[0].frame.index
    for run in runs[1:]:
        keep = keep.intersection(run.frame.index, sort=False)
    rows = [run.frame.index for run in runs]
    effects = pool_effects([run.effects for run in runs])
    weights = {
        label: average_rows([run.weights[label] for run in runs], rows, keep)
        for label in runs[0].weights
    }
    sensitivity = None
    if study.sensitivity is not None:
        sensitivity = run_pooled_sensitivity(study, sample, EffectTable(tuple(effects)))
    return _Analysis(
        frame=runs[0].frame.loc[keep],
        t=pd.Series(runs[0].t, index=rows[0]).loc[keep].to_numpy(),
        scores=average_scores([run.scores for run in runs], rows, keep),
        design=pool_design([run.design for run in runs]),
        weights=weights,
        balance=average_balance([run.balance for run in runs]),
        effects=effects,
        sensitivity=sensitivity,
        truths=runs[0].truths,
    )


def true_effects(
    study: Study, sample: AnalysisSample, frame: pd.DataFrame, outcomes: list[str]
) -> pd.DataFrame | None:
    """For simulated data, the true effects of ``outcomes`` over the analysed rows ``frame`` for
    the study's estimand (weighted by the sampling weights when the study has them)."""
    cohort = sample.source.cohort
    if cohort is None:
        return None
    # individual_effects has one column per (treatment, outcome)
    if study.treatment.label not in set(cohort.individual_effects.columns.get_level_values(0)):
        return None
    weights = None if study.weights is None else frame[study.weights].to_numpy(dtype=float)
    table = cohort.truth_for(frame.index, weights)
    return table[
        (table.treatment == study.treatment.label)
        & (table.outcome.isin(outcomes))
        & (table.estimand == study.estimand)
    ].reset_index(drop=True)
