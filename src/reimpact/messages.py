"""The run's warnings in plain words: what a reader must know before trusting the numbers.
Every count of units in them passes the disclosure gate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .design.propensity import PropensityScores
from .diagnostics.overlap import poor_overlap
from .disclosure import Gate

if TYPE_CHECKING:
    from .config.study import Study
    from .design.gps import GeneralisedScores
    from .diagnostics.balance import BalanceTable
    from .diagnostics.pairs import PairBalance
    from .results import DesignSummary, EffectTable
    from .sample import AnalysisSample
    from .sensitivity import SensitivityResults


def study_warnings(
    study: Study,
    design: DesignSummary,
    sample: AnalysisSample,
    balance: BalanceTable,
    scores: PropensityScores,
    t: np.ndarray,
    effects: EffectTable,
    sensitivity: SensitivityResults | None = None,
) -> list[str]:
    """Plain-words warnings; every count of units (named by ``study.unit_label``) passes through
    small-cell suppression."""
    units = study.unit_label
    gate = Gate.of(study.report)

    def n(value: int) -> str:
        return str(gate.count(int(value)))

    out = []
    flow = sample.flow
    dropped = flow.dropped_missing.get("total", 0)
    if dropped > 0.1 * (flow.analysed + dropped):
        out.append(
            f"{n(dropped)} rows (over 10%) were dropped for missing values; the analysed sample "
            "may differ from the population. Consider 'missing: impute'."
        )
    invalid = flow.dropped_invalid.get("total", 0)
    if invalid:
        out.append(
            f"{n(invalid)} rows were dropped for infinite or absurdly large values "
            "('invalid_values: drop'); check how the data were exported."
        )
    poor = poor_overlap(scores.scores, t, study.estimand)
    if poor is not None:
        outside, extreme = poor
        side = {"ATT": "above 0.95", "ATC": "below 0.05"}.get(study.estimand, "below 0.05 or above 0.95")
        out.append(
            f"Poor overlap for the {study.estimand}: {n(outside)} {units} have propensity scores "
            f"outside the other group's range and {n(extreme)} have scores {side}. Estimates there "
            "rest on extrapolation or on a few heavily weighted units; consider 'propensity.trim' "
            "or restricting the population."
        )
    out += [level_warning(level, study.estimand, n, units) for level in design.separated_levels]
    if design.collinear:
        out.append(
            "Left out of every model as exact linear combinations of other covariates (they add "
            f"nothing the others do not): {', '.join(design.collinear)}. Remove them from "
            "'covariates' or check how they were coded."
        )
    out += [not_run_warning(record) for record in (sensitivity.not_run if sensitivity else [])]
    for effect in effects:
        out += [f"{effect.method} on {effect.outcome}: {w}" for w in effect.warnings]
    matching = design.matching
    if matching and matching["dropped_by_caliper"] > 0.1 * matching["focal_units"]:
        out.append(
            f"{n(matching['dropped_by_caliper'])} of {n(matching['focal_units'])} focal units (over "
            "10%) found no match within the caliper: the matching estimate describes the matched "
            "units only."
        )
    if balance.imbalanced:
        out.append(
            "Remaining imbalance after adjustment (|SMD| >= 0.1): "
            + ", ".join(balance.imbalanced)
            + ". Consider adding interactions or squares of these covariates to the model."
        )
    if design.n_trimmed:
        out.append(f"{n(design.n_trimmed)} {units} were trimmed for extreme propensity scores.")
    for r in sensitivity.refutations if sensitivity else []:
        if not r.passed:
            out.append(
                f"The {r.refuter.replace('_', ' ')} refutation of {r.method} on {r.outcome} failed "
                f"(rule: {r.rule}): original {r.original:.4g}, refuted {r.refuted:.4g}."
            )
    return out


def multivalued_warnings(study: Study, gps: GeneralisedScores, pairs: PairBalance) -> list[str]:
    """A multi-valued treatment's own warnings: poor overlap of a level (the binary rule of
    :func:`~reimpact.diagnostics.overlap.poor_overlap` for the ATE, applied to the level's
    generalised score e_a(x), the units at a against the others) and imbalance left between a
    pair of levels other than the reference. Counts pass through small-cell suppression."""
    units = study.unit_label
    gate = Gate.of(study.report)
    remedy = (
        f"restricting the population to the doses with overlap (population: {{{study.treatment.column}: "
        "{min: ..., max: ...}})"
        if study.treatment.dose
        else "restricting the population or leaving the level out ('treatment.levels')"
    )
    out = []
    for j, level in enumerate(gps.levels):
        poor = poor_overlap(gps.scores[:, j], gps.codes == j, "ATE")
        if poor is not None:
            outside, extreme = poor
            out.append(
                f"Poor overlap for level {level}: {gate.count(outside)} {units} have a score "
                f"P({level} | x) outside the other group's range ({units} at {level} against those "
                f"at another level) and {gate.count(extreme)} have scores below 0.05 or above 0.95. "
                f"Its contrasts rest on extrapolation or on a few heavily weighted units; consider "
                f"{remedy}."
            )
    out += [
        f"Remaining imbalance between {contrast} after IPW weighting (|SMD| >= 0.1): "
        + ", ".join(names)
        + ". Consider adding interactions or squares of these covariates to the model."
        for contrast, names in pairs.imbalanced.items()
    ]
    return out


def level_warning(level: dict[str, Any], estimand: str, n, units: str = "units") -> str:
    """What the separation rule did to one level, and what that does to the estimand."""
    column = level["column"]
    if level["action"] == "merged":
        return f"Rare levels of {column} ({level['level']}) were merged into '(other)'."
    if level["action"] != "excluded":
        return f"{column} has one level left among the comparable units and was left out of the model."
    group, other = ("treated", "control") if level["group"] == "treated" else ("control", "treated")
    focal = {"ATT": "treated", "ATC": "control"}.get(estimand)
    if focal is not None and group != focal:
        effect = f"no {focal} {units} have it, so the {estimand} is unchanged"
    else:
        who = {"ATT": f"treated {units}", "ATC": f"control {units}"}.get(estimand, units)
        effect = f"the estimate is now the {estimand} of the {who} outside this level"
    return (
        f"{column}={level['level']} is held by {group} {units} only: its {n(level['units'])} "
        f"{group} {units} were left out (no {other} {units} to compare them with); {effect}."
    )


def not_run_warning(record: dict[str, str]) -> str:
    """The warning for a check or figure that could not run."""
    where = record["method"]
    if record["outcome"]:
        where = f"{where} on {record['outcome']}".strip()
    what = f"the {record['check']} check" + (f" of {where}" if where else "")
    return f"Not run: {what} could not run ({record['reason']})."
