"""What was run: the study definition (a summary table and the full YAML) and its provenance
(versions, data, time)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..markup import escape, table

if TYPE_CHECKING:
    from ...results import StudyResults


def _treatment_rule(results: StudyResults) -> str:
    """Who counts as treated and, when the study names them, who as control."""
    spec = results.study.treatment
    if spec.multivalued:
        levels = ", ".join(map(str, spec.levels)) if spec.levels else "every value"
        return f"levels of {spec.column} ({levels}) against the reference {spec.reference}"
    rule = (
        f"{spec.column} in {spec.treated}" if spec.column else f"any of {spec.any_of} in {spec.treated}"
    )
    if spec.control is not None:
        rule += f"; controls: value in {spec.control}"
    return rule


def _sampling(results: StudyResults) -> str:
    """The sampling weights and what they do to the estimates, or "none"."""
    weights = results.design.sampling_weights
    if not weights:
        return "none: the estimates describe the analysed sample"
    return (
        f"{weights['column']} (design effect of unequal weighting {weights['design_effect']:.2f}): "
        "every step is weighted, so the estimates describe the population the weights represent"
    )


def missing_policy(missing: Any) -> str:
    """The ``missing`` setting in words (a mapping for multiple imputation)."""
    if isinstance(missing, str):
        return missing
    return (
        f"multiple imputation by chained equations (m = {missing.m}, {missing.max_iter} rounds), "
        "analyses pooled by Rubin's rules"
    )


def study_section(results: StudyResults) -> str:
    """The study's settings as a table, with the full study definition folded away below it."""
    import yaml

    study = results.study
    rows = [
        ("Title", study.display_title),
        ("Treatment", f"{study.treatment.label} ({_treatment_rule(results)})"),
        ("Estimand", study.estimand),
        ("Outcomes", ", ".join(study.outcomes)),
        ("Covariates", ", ".join(study.covariates)),
        ("Population", "; ".join(f"{k}: {v}" for k, v in study.population.items()) or "everyone"),
        ("Exact matching on", ", ".join(study.exact) or "none"),
        ("Missing values", missing_policy(study.missing)),
        (
            "Propensity score",
            f"{study.propensity.kind}; where inverted, bounded at {study.propensity.clip:g} on the "
            f"side the {study.estimand} needs",
        ),
        ("Sampling weights", _sampling(results)),
        ("Methods", ", ".join(study.methods.names)),
        ("Data", results.sample.source.description),
    ]
    summary = table(["Field", "Value"], [(escape(k), escape(v)) for k, v in rows], numeric=False)
    dump = yaml.safe_dump(study.model_dump(mode="json"), sort_keys=False)
    return (
        f"{summary}<details><summary>Full study definition</summary><pre>{escape(dump)}</pre></details>"
    )


def provenance_section(results: StudyResults) -> str:
    """Where the numbers come from: the provenance record, one row per item and package version."""
    info = results.provenance()
    rows = [(escape(k), escape(v)) for k, v in info.items() if k != "versions"]
    rows += [(escape(f"version of {k}"), escape(v)) for k, v in info["versions"].items()]
    return table(["Item", "Value"], rows, numeric=False)
