"""Runs the sensitivity checks a study asks for on one set of outcomes; a check that cannot run
is recorded in ``not_run`` with the reason, never fatal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from ..exceptions import failure_reason
from ..registry import build_estimator
from .evalues import evalue
from .ovb import omitted_variable_bounds
from .results import DMLBounds, EValue, OmittedVariableBounds, RosenbaumBounds, SensitivityResults
from .rosenbaum import rosenbaum_bounds

if TYPE_CHECKING:
    from ..config.sensitivity import (
        DMLSpec,
        HeterogeneitySpec,
        OmittedVariableSpec,
        RefutationSpec,
        RosenbaumSpec,
        SensitivitySpec,
    )
    from ..config.study import Study
    from ..design import FittedDesign
    from ..estimators import EffectEstimator
    from ..estimators.matching.matcher import PropensityMatcher
    from ..results import EffectTable
    from ..sample import AnalysisSample
    from .refutation import Refutation

T = TypeVar("T")

# the checks that are not defined with sampling weights (``weights: COLUMN``), and why
UNWEIGHTED_ONLY = {
    "rosenbaum": "Rosenbaum bounds are a permutation test on unweighted matched pairs: not defined "
    "with sampling weights",
    "omitted_variable": "the omitted-variable bounds (Cinelli & Hazlett 2020) are derived for "
    "unweighted least squares: not computed with sampling weights",
    "dml": "the AIPW omitted-variable bounds (Chernozhukov et al. 2022) are not yet derived for "
    "sampling-weighted nuisances and averages: not computed with sampling weights",
    "refutations": "the DoWhy refuters refit the estimators without the sampling weights: not run "
    "with sampling weights",
    "subgroups": "subgroup effects are not yet weighted by the sampling weights: not run with them",
}

_NO_PAIRS = (
    "Rosenbaum bounds need 1:1 matched pairs: set methods.psm to "
    "ratio: 1, replace: false (k:1, full matching and matching with replacement are not covered)"
)


class Attempts:
    """Runs optional checks so that one that cannot run is recorded, never fatal: a sensitivity
    analysis, refutation, subgroup analysis or figure that fails leaves a "not run" record (check,
    outcome, method, reason) in the results, and the rest of the run goes on."""

    def __init__(self) -> None:
        self.not_run: list[dict[str, str]] = []

    def run(
        self, check: str, outcome: str, method: str, function: Callable[..., T], *args: Any
    ) -> T | None:
        try:
            return function(*args)
        except Exception as exc:  # noqa: BLE001 - the boundary of an optional check
            self.not_run.append(
                {"check": check, "outcome": outcome, "method": method, "reason": failure_reason(exc)}
            )
            return None


@dataclass(frozen=True)
class _Checks:
    """What every check reads (the study, the design, the outcomes and their columns) and where a
    check that cannot run is recorded (``attempts``)."""

    study: Study
    design: FittedDesign
    outcomes: list[str]
    column: dict[str, np.ndarray]
    attempts: Attempts
    quiet: bool


def run_sensitivity(
    study: Study,
    design: FittedDesign,
    fitted: dict[str, EffectEstimator],
    outcomes: list[str],
    effects: EffectTable,
    quiet: bool,
) -> SensitivityResults:
    """Run the sensitivity checks the study asks for on ``outcomes`` with ``design``; a check that
    fails is recorded in ``not_run`` (see :class:`Attempts`)."""
    spec = study.sensitivity
    if spec is None:
        raise ValueError("the study has no sensitivity section: there are no checks to run")
    psm: PropensityMatcher | None = fitted["psm"].matcher_ if "psm" in fitted else None
    column = {name: design.frame[name].to_numpy(dtype=float) for name in outcomes}
    checks = _Checks(study, design, outcomes, column, Attempts(), quiet)
    if study.weights is not None:
        return _weighted(checks, spec, effects)
    # in this order, the order of the not_run records
    evalues = _evalues(checks, effects) if spec.evalue else []
    rosenbaum = [] if spec.rosenbaum is None else _rosenbaum(checks, spec.rosenbaum, psm)
    ovb = [] if spec.omitted_variable is None else _omitted_variable(checks, spec.omitted_variable)
    tasks: list[Callable[[_Checks], Any]] = [
        lambda c: [] if spec.dml is None or "aipw" not in fitted else _dml(c, spec.dml, fitted["aipw"]),
        lambda c: [] if spec.refutations is None else _refutations(c, spec.refutations, effects),
        lambda c: (None, None) if spec.heterogeneity is None else _heterogeneity(c, spec.heterogeneity),
    ]
    dml, refutations, (subgroups, cate) = _side_by_side(checks, tasks, joblib_task=1)
    return SensitivityResults(
        evalues, rosenbaum, ovb, refutations, subgroups, cate, checks.attempts.not_run, dml
    )


def _side_by_side(checks: _Checks, tasks: list[Callable[[_Checks], Any]], joblib_task: int) -> list:
    """The slow checks (AIPW bounds, refutations, subgroups), each with its own "not run"
    records, added to ``checks.attempts`` in the tasks' order.

    With large data and two cores for the run's inner work
    (:func:`reimpact.parallel.inner_threads`) the others run in threads while the calling thread
    runs ``tasks[joblib_task]`` (the refutations, which keep the caller's joblib configuration:
    joblib's is per thread): the threads refit models with numpy, whose large operations release
    the GIL, while the refutations mostly wait for joblib's worker processes. Every check reads
    the same arrays and writes none, so the results do not depend on how they ran."""
    from ..parallel import inner_threads

    own = [replace(checks, attempts=Attempts()) for _ in tasks]
    found: list[Any] = [None] * len(tasks)
    others = [k for k in range(len(tasks)) if k != joblib_task]
    if inner_threads(checks.design.t.size) >= 2:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(others)) as pool:
            futures = {k: pool.submit(tasks[k], own[k]) for k in others}
            found[joblib_task] = tasks[joblib_task](own[joblib_task])
            for k, future in futures.items():
                found[k] = future.result()
    else:
        found = [task(c) for task, c in zip(tasks, own, strict=True)]
    for c in own:
        checks.attempts.not_run.extend(c.attempts.not_run)
    return found


def not_run_records(spec: SensitivitySpec, reason: Callable[[str], str], outcome: str) -> list[dict]:
    """A "not run" record, with ``reason(check)``, for each single-data-set check the study asks
    for (Rosenbaum bounds, omitted-variable bounds of OLS and of AIPW, refutations, subgroups): the
    record of a run where they are not defined (sampling weights) or not valid (multiple
    imputation)."""
    wanted = [
        ("rosenbaum", spec.rosenbaum, "psm"),
        ("omitted_variable", spec.omitted_variable, "ols"),
        ("dml", spec.dml, "aipw"),
        ("refutations", spec.refutations, "psm, aipw"),
        ("subgroups", spec.heterogeneity, "aipw"),
    ]
    return [
        {"check": check, "outcome": outcome, "method": method, "reason": reason(check)}
        for check, section, method in wanted
        if section is not None
    ]


def _weighted(checks: _Checks, spec: SensitivitySpec, effects: EffectTable) -> SensitivityResults:
    """With sampling weights: the E-values (functions of the weighted estimates and intervals) and
    a "not run" record, with the reason, for each requested check that is not defined there."""
    evalues = _evalues(checks, effects) if spec.evalue else []
    skipped = not_run_records(spec, UNWEIGHTED_ONLY.__getitem__, ", ".join(checks.outcomes))
    return SensitivityResults(evalues=evalues, not_run=[*checks.attempts.not_run, *skipped])


NEEDS_ONE_DATA_SET = (
    "it needs one data set and is not pooled over multiple imputations; running it on one "
    "imputed data set would ignore the imputation uncertainty"
)


def run_pooled_sensitivity(
    study: Study, sample: AnalysisSample, effects: EffectTable
) -> SensitivityResults:
    """The sensitivity checks after multiple imputation. E-values need only an estimate, its
    interval and the outcome's spread, so they are computed from the pooled effects (with the
    outcome, which is never imputed, on the rows that have it). Rosenbaum bounds, omitted-variable
    bounds, refutations and subgroup analyses need one data set: each is recorded as not run with
    that reason, never run on a single imputation as if it were the answer."""
    spec = study.sensitivity
    if spec is None:
        raise ValueError("the study has no sensitivity section: there are no checks to run")
    attempts = Attempts()
    evalues = []
    if spec.evalue:
        t = sample.treatment
        for e in effects:
            if e.method != "naive":
                y = sample.frame[e.outcome].to_numpy(dtype=float)
                seen = ~np.isnan(y)
                args = (e.estimate, e.conf_int(), y[seen], t[seen], e.outcome, e.method, e.estimand)
                evalues.append(attempts.run("evalue", e.outcome, e.method, evalue, *args))
    not_run = not_run_records(spec, lambda _: NEEDS_ONE_DATA_SET, "")
    found = [e for e in evalues if e is not None]
    return SensitivityResults(found, [], [], [], None, None, [*attempts.not_run, *not_run])


def _evalues(checks: _Checks, effects: EffectTable) -> list[EValue]:
    """E-values of every estimate but the naive difference."""
    t, found = checks.design.t, []
    for e in effects:
        if e.method != "naive":
            y = checks.column[e.outcome]
            args = (e.estimate, e.conf_int(), y, t, e.outcome, e.method, e.estimand)
            found.append(checks.attempts.run("evalue", e.outcome, e.method, evalue, *args))
    return [e for e in found if e is not None]


def _rosenbaum(
    checks: _Checks, spec: RosenbaumSpec, psm: PropensityMatcher | None
) -> list[RosenbaumBounds]:
    """Rosenbaum bounds on the matched-pair differences of every outcome (1:1 matching without
    replacement only; otherwise a record saying why they are not available)."""
    if psm is None or psm.ratio != 1 or psm.replace or psm.method == "full":
        return [RosenbaumBounds(name, False, _NO_PAIRS) for name in checks.outcomes]
    found = []
    for name in checks.outcomes:
        differences = psm.differences(checks.column[name])[0]
        args = (differences, name, spec.gamma_max, spec.step, spec.alpha)
        found.append(checks.attempts.run("rosenbaum", name, "psm", rosenbaum_bounds, *args))
    return [r for r in found if r is not None]


def _omitted_variable(checks: _Checks, spec: OmittedVariableSpec) -> list[OmittedVariableBounds]:
    """Omitted-variable bounds of the OLS estimate of every outcome."""
    t, x = checks.design.t, checks.design.covariates
    found = []
    for name in checks.outcomes:
        # ky None: a confounder as strong with the outcome as kd times the benchmark
        args = (checks.column[name], t.astype(float), x.matrix, x.names, name, spec.benchmarks,
                tuple(spec.kd), None, spec.q, spec.alpha)  # fmt: skip
        bounds = checks.attempts.run("omitted_variable", name, "ols", omitted_variable_bounds, *args)
        found.append(bounds)
    return [o for o in found if o is not None]


def _dml(checks: _Checks, spec: DMLSpec, aipw: EffectEstimator) -> list[DMLBounds]:
    """AIPW omitted-variable bounds of every outcome from the estimator's cross-fitted nuisances,
    each benchmark covariate's strengths from the nuisances refitted without its columns."""
    from .dml import dml_bounds

    study, design = checks.study, checks.design
    long = aipw.nuisances_
    clusters = design.frame[study.cluster].to_numpy() if study.cluster else None
    given = design.scores.scores if design.scores.kind == "column" else None
    short = {}
    for name in spec.benchmarks:
        keep = [source != name for source in design.covariates.sources]
        x_short = design.covariates.matrix[:, keep]
        found = checks.attempts.run(
            "dml", ", ".join(checks.outcomes), "aipw", aipw.nuisances, x_short, design.t, long.y_, given
        )
        if found is not None:
            short[name] = found
    bounds = [
        checks.attempts.run(
            "dml", name, "aipw", dml_bounds, long, j, name, spec.cf_y, spec.cf_d, spec.rho,
            spec.level, clusters, short,
        )
        for j, name in enumerate(checks.outcomes)
    ]  # fmt: skip
    return [b for b in bounds if b is not None]


def _refutations(checks: _Checks, spec: RefutationSpec, effects: EffectTable) -> list[Refutation]:
    """The DoWhy refuters on each listed method and outcome (default: the study's first outcome)."""
    from .refutation import refute

    study, x, t = checks.study, checks.design.covariates, checks.design.t
    strengths = (spec.treatment_strength, spec.outcome_strength)
    found: list[Refutation] = []
    for method in spec.methods:
        options = build_estimator(study, method).get_params()
        for name in [o for o in spec.outcomes or list(study.outcomes)[:1] if o in checks.outcomes]:
            effect = effects.get(name, method)
            args = (x.matrix, t, checks.column[name], name, method, options, effect.estimate,
                    effect.std_error, spec.simulations, spec.n_jobs, study.seed, strengths,
                    spec.subset_fraction, not checks.quiet)  # fmt: skip
            found += checks.attempts.run("refutations", name, method, refute, *args) or []
    return found


def _heterogeneity(
    checks: _Checks, spec: HeterogeneitySpec
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """AIPW effects within subgroups of all the outcomes at once, and the EconML CATE summaries of
    each outcome when ``spec.cate``."""
    from .heterogeneity import cate_by_level, subgroup_effects

    study, outcomes, frame = checks.study, checks.outcomes, checks.design.frame
    x, t, cells = checks.design.covariates, checks.design.t, study.report.min_cell_size
    aipw = build_estimator(study, "aipw").get_params()
    y_all = frame[outcomes].to_numpy(dtype=float)
    args = (frame, x.matrix, t, y_all, outcomes, spec.by, aipw, cells)
    subgroups = checks.attempts.run("subgroups", ", ".join(outcomes), "aipw", subgroup_effects, *args)
    if not spec.cate:
        return subgroups, None
    tables = [
        checks.attempts.run(
            "cate", name, "econml", cate_by_level, frame, x.matrix, t, checks.column[name], name,
            spec.by, aipw["folds"], study.seed, cells,
        )
        for name in outcomes
    ]  # fmt: skip
    found = [table for table in tables if table is not None]
    return subgroups, pd.concat(found, ignore_index=True) if found else None
