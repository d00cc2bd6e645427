"""The limitations of the run, generated from what happened: overlap, units left out and what that
does to the estimand, remaining imbalance, missing data, and what the sensitivity analyses cannot
rule out. Counts come from the published payload (through the disclosure gate)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..markup import escape

if TYPE_CHECKING:
    from ...results import StudyResults


def overlap_limitation(warnings: list[str]) -> str:
    """Poor overlap as the run found it, or that overlap held."""
    poor = [w for w in warnings if w.startswith("Poor overlap")]
    if poor:
        return poor[0]
    return (
        "The propensity scores of the two groups overlap: the comparison rests on units that "
        "resemble each other, not on extrapolation."
    )


def dropped_limitations(published: dict, units: str, estimand: str) -> list[str]:
    """Units left out by the caliper, the separation rule, trimming or a missing outcome, and how
    the estimand changed."""
    design = published.get("design") or {}
    out = []
    matching = design.get("matching") or {}
    if matching.get("dropped_by_caliper"):
        out.append(
            f"Matching dropped {matching['dropped_by_caliper']} of {matching['focal_units']} focal "
            f"{units} without a match within the caliper: its estimate is the {estimand} of the "
            "matched ones only."
        )
    for level in design.get("separated_levels") or []:
        if level.get("action") == "excluded":
            out.append(
                f"{level['column']}={level['level']} is held by {level['group']} {units} only; "
                f"its {level['units']} {units} were left out of the comparison."
            )
    if design.get("n_trimmed"):
        out.append(
            f"{design['n_trimmed']} {units} with extreme propensity scores were trimmed: the "
            "estimate describes the others."
        )
    for outcome, n in ((published.get("sample") or {}).get("missing_outcome") or {}).items():
        out.append(f"{n} {units} without {outcome} were left out of its analyses.")
    return out


def missing_limitation(study_missing: Any, sample: dict[str, Any], units: str) -> str:
    """How missing covariates were handled and how many rows that touched."""
    dropped = (sample.get("dropped_missing") or {}).get("total", 0)
    imputed = sample.get("imputed") or {}
    if not isinstance(study_missing, str) and imputed:
        columns = ", ".join(f"{c} ({n})" for c, n in imputed.items())
        return (
            f"Missing covariates were imputed {study_missing.m} times by chained equations with "
            f"the treatment and the outcomes as predictors: {columns}. Every analysis was repeated "
            "in each imputed data set and pooled by Rubin's rules, so the intervals carry the "
            "imputation uncertainty; this is valid when the values are missing at random given "
            "the variables of the imputation model. Balance is averaged over the imputations; the "
            "figures draw each unit's score and weights averaged over them, with the covariate "
            "values of the first imputed data set."
        )
    if study_missing == "impute" and imputed:
        columns = ", ".join(f"{c} ({n})" for c, n in imputed.items())
        return (
            f"Missing covariates were imputed (mean or a '(missing)' level, with an indicator): "
            f"{columns}. Single imputation understates the uncertainty a little."
        )
    if dropped:
        return (
            f"{dropped} {units} with a missing treatment or covariate were dropped: the results "
            "describe the others, which is unbiased only if values are missing at random given the "
            "covariates."
        )
    return "No treatment or covariate value was missing in the analysed rows."


def limitation_items(results: StudyResults, published: dict) -> list[str]:
    """Every limitation that applies, as plain sentences."""
    study, units = results.study, results.study.unit_label
    warnings = published.get("warnings") or []
    items = [overlap_limitation(warnings)]
    items += dropped_limitations(published, units, study.estimand)
    imbalance = [w for w in warnings if w.startswith("Remaining imbalance")]
    items += imbalance
    items.append(missing_limitation(study.missing, published.get("sample") or {}, units))
    items.append(
        "Like every adjustment for observed covariates, these estimates assume no unobserved "
        "confounding; the sensitivity analyses say how strong such a confounder would have to "
        "be, not that none exists."
        if published.get("sensitivity")
        else "These estimates assume no unobserved confounding, and no sensitivity analysis was "
        "run to say how strong a confounder would have to be to change them: add a "
        "'sensitivity' section to the study."
    )
    return items


def limitations_section(results: StudyResults, published: dict) -> str:
    """The limitations as a list."""
    items = limitation_items(results, published)
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"
