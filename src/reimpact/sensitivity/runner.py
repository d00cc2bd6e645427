"""Runs the sensitivity checks a study asks for on one set of outcomes; a check that cannot run
is recorded in ``not_run`` with the reason, never fatal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..exceptions import failure_reason
from ..registry import build_estimator
from .evalues import evalue
from .ovb import omitted_variable_bounds
from .results import RosenbaumBounds, SensitivityResults
from .rosenbaum import rosenbaum_bounds

if TYPE_CHECKING:
    from ..config.study import Study
    from ..design import FittedDesign
    from ..estimators import EffectEstimator
    from ..results import EffectTable


class Attempts:
    """Runs optional checks so that one that cannot run is recorded, never fatal: a sensitivity
    analysis, refutation, subgroup analysis or figure that fails leaves a "not run" record (check,
    outcome, method, reason) in the results, and the rest of the run goes on."""

    def __init__(self) -> None:
        self.not_run: list[dict[str, str]] = []

    def run(self, check: str, outcome: str, method: str, function, *args):
        try:
            return function(*args)
        except Exception as exc:  # noqa: BLE001 - the boundary of an optional check
            self.not_run.append(
                {"check": check, "outcome": outcome, "method": method, "reason": failure_reason(exc)}
            )
            return None


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
    frame, t = design.frame, design.t
    psm = fitted["psm"].matcher_ if "psm" in fitted else None
    x = design.covariates
    column = {name: frame[name].to_numpy(dtype=float) for name in outcomes}
    attempts = Attempts()
    evalues = []
    if spec.evalue:
        for e in effects:
            if e.method != "naive":
                args = (e.estimate, e.conf_int(), column[e.outcome], t, e.outcome, e.method, e.estimand)
                evalues.append(attempts.run("evalue", e.outcome, e.method, evalue, *args))
    rosenbaum = []
    if spec.rosenbaum is not None:
        r = spec.rosenbaum
        pairs = psm is not None and psm.ratio == 1 and not psm.replace
        for name in outcomes:
            if pairs:
                differences = psm.differences(column[name])[0]
                args = (differences, name, r.gamma_max, r.step, r.alpha)
                rosenbaum.append(attempts.run("rosenbaum", name, "psm", rosenbaum_bounds, *args))
            else:
                rosenbaum.append(
                    RosenbaumBounds(
                        name,
                        False,
                        "Rosenbaum bounds need 1:1 matched pairs: set methods.psm to "
                        "ratio: 1, replace: false (k:1 and matching with replacement are not covered)",
                    )
                )
    ovb = []
    if spec.omitted_variable is not None:
        o = spec.omitted_variable
        for name in outcomes:
            args = (column[name], t.astype(float), x.matrix, x.names, name, o.benchmarks, tuple(o.kd))
            ovb.append(
                attempts.run(
                    "omitted_variable", name, "ols", omitted_variable_bounds, *args, None, o.q, o.alpha
                )
            )
    refutations = []
    if spec.refutations is not None:
        from .refutation import refute

        r = spec.refutations
        for method in r.methods:
            options = build_estimator(study, method).get_params()
            for name in [o for o in r.outcomes or list(study.outcomes)[:1] if o in outcomes]:
                effect = effects.get(name, method)
                strengths = (r.treatment_strength, r.outcome_strength)
                args = (x.matrix, t, column[name], name, method, options, effect.estimate,
                        effect.std_error, r.simulations, r.n_jobs, study.seed, strengths,
                        r.subset_fraction, not quiet)  # fmt: skip
                refutations += attempts.run("refutations", name, method, refute, *args) or []
    subgroups = cate = None
    if spec.heterogeneity is not None:
        from .heterogeneity import cate_by_level, subgroup_effects

        h = spec.heterogeneity
        aipw = build_estimator(study, "aipw").get_params()
        y_all = frame[outcomes].to_numpy(dtype=float)
        args = (frame, x.matrix, t, y_all, outcomes, h.by, aipw, study.report.min_cell_size)
        subgroups = attempts.run("subgroups", ", ".join(outcomes), "aipw", subgroup_effects, *args)
        if h.cate:
            tables = [
                attempts.run(
                    "cate", name, "econml", cate_by_level, frame, x.matrix, t, column[name], name,
                    h.by, aipw["folds"], study.seed, study.report.min_cell_size,
                )
                for name in outcomes
            ]  # fmt: skip
            found = [table for table in tables if table is not None]
            cate = pd.concat(found, ignore_index=True) if found else None
    return SensitivityResults(
        [e for e in evalues if e is not None],
        [r for r in rosenbaum if r is not None],
        [o for o in ovb if o is not None],
        refutations,
        subgroups,
        cate,
        attempts.not_run,
    )
