"""The sensitivity section: E-values, Rosenbaum bounds, omitted-variable bounds (OLS, AIPW),
refutations, subgroup effects and CATE summaries, one part each, as far as the disclosure gate lets
them through. A part whose check did not run (or was withheld) is left out."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..markup import MISSING, embedded_figure, escape, interval, number, table

if TYPE_CHECKING:
    from ...results import StudyResults
    from ...sensitivity import EValue, OmittedVariableBounds, SensitivityResults


def _published_checks(results: StudyResults, shown: dict[str, Any]) -> SensitivityResults:
    """The run's sensitivity results cut down to the E-values, refutations and omitted-variable
    bounds that ``shown`` (the published sensitivity payload) kept."""
    sens = results.sensitivity
    if sens is None:
        raise ValueError("the study ran no sensitivity analysis: there is no section to write")
    kept = {(r["outcome"], r["method"]) for key in ("evalues", "refutations") for r in shown[key]}
    bounded = {b["outcome"] for b in shown["omitted_variable"]}
    return replace(
        sens,
        evalues=[v for v in sens.evalues if (v.outcome, v.method) in kept],
        refutations=[r for r in sens.refutations if (r.outcome, r.method) in kept],
        omitted_variable=[o for o in sens.omitted_variable if o.outcome in bounded],
    )


def _evalue_part(evalues: list[EValue]) -> str:
    """E-values of each estimate and of its confidence limit closer to the null."""
    if not evalues:
        return ""
    rows = [
        (
            escape(v.outcome),
            escape(v.method),
            number(v.risk_ratio, 3),
            number(v.evalue_estimate, 2),
            number(v.evalue_ci, 2),
        )
        for v in evalues
    ]
    return (
        '<h3>E-values</h3><p class="note">The minimum risk-ratio association an unmeasured '
        "confounder would need with both the treatment and the outcome, beyond the covariates, "
        "to explain away the estimate (or to move the confidence limit closer to the null to "
        "the null; 1 when the interval already contains it). VanderWeele &amp; Ding (2017); "
        f"continuous outcomes via the standardised effect ({escape(evalues[0].scale)}).</p>"
        + table(["Outcome", "Method", "Risk ratio", "E-value", "E-value (CI)"], rows)
    )


def _rosenbaum_part(bounds: list[dict[str, Any]], figures: dict[str, bytes | None]) -> str:
    """Rosenbaum's Gamma* per outcome (or why the bounds are not available), with the figure."""
    if not bounds:
        return ""
    rows = []
    for b in bounds:
        if b["available"]:
            gamma = (
                number(b["gamma_critical"], 2) if b["gamma_critical"] else "not significant at Gamma = 1"
            )
            rows.append((escape(b["outcome"]), escape(b["n_pairs"]), number(b["p_upper"][0], 4), gamma))
        else:
            rows.append((escape(b["outcome"]), MISSING, MISSING, escape(b["reason"])))
    return (
        '<h3>Rosenbaum bounds</h3><p class="note">How far the odds of treatment of two matched '
        "units may differ because of a hidden confounder before the signed-rank test of the "
        "matched pairs loses significance at alpha = "
        f"{bounds[0]['alpha']:g}: Gamma*.</p>"
        + table(["Outcome", "Pairs", "p-value at Gamma = 1", "Gamma*"], rows)
        + embedded_figure(figures.get("gamma"), "gamma", "Upper bound on the p-value against Gamma.")
    )


def _benchmark_bounds(omitted: list[OmittedVariableBounds]) -> str:
    """The bounds on a confounder k times as strong as each benchmark covariate, if any."""
    bounds = pd.concat([o.bounds.assign(outcome=o.outcome) for o in omitted])
    if not len(bounds):
        return ""
    rows = [
        (
            escape(r["outcome"]),
            escape(f"{r['kd']:g}x {r['benchmark']}"),
            number(100 * r["r2_dz"], 2),
            number(100 * r["r2_yz"], 2),
            number(r["adjusted_estimate"]),
            interval(r["adjusted_ci_lower"], r["adjusted_ci_upper"]),
        )
        for r in bounds.to_dict("records")
    ]
    header = [
        "Outcome",
        "Confounder",
        "R\u00b2 with treatment (%)",
        "R\u00b2 with outcome (%)",
        "Adjusted estimate",
        "Adjusted 95% CI",
    ]
    return (
        '<p class="note">Bounds on a confounder as strong as k times a benchmark covariate:</p>'
        + table(header, rows)
    )


def _omitted_variable_part(
    omitted: list[OmittedVariableBounds], figures: dict[str, bytes | None]
) -> str:
    """Robustness values per outcome, the benchmark bounds and the contour figure of the first."""
    if not omitted:
        return ""
    rows = [
        (
            escape(o.outcome),
            number(o.estimate),
            number(o.std_error),
            number(100 * o.partial_r2, 2),
            number(100 * o.rv_q, 2),
            number(100 * o.rv_q_alpha, 2),
        )
        for o in omitted
    ]
    header = [
        "Outcome",
        "OLS estimate",
        "Std. error",
        "Partial R\u00b2 of treatment (%)",
        "RV (%)",
        "RV alpha (%)",
    ]
    first = omitted[0]
    return (
        '<h3>Omitted-variable bounds</h3><p class="note">Cinelli &amp; Hazlett (2020), on the '
        "regression-adjusted estimate (OLS of the outcome on the treatment and the covariates). "
        "RV: the share of the residual variance of both treatment and outcome (partial R&sup2;, "
        "in %) a confounder must explain to bring the estimate to zero (RV<sub>q</sub>) or to "
        f"non-significance (RV<sub>q,alpha</sub>, alpha = {first.alpha:g}).</p>"
        + table(header, rows)
        + _benchmark_bounds(omitted)
        + embedded_figure(
            figures.get("contour"), "contour", f"Contours of the adjusted estimate for {first.outcome}."
        )
    )


def _dml_part(bounds: list[dict[str, Any]], figures: dict[str, bytes | None], primary: str) -> str:
    """The AIPW bounds per outcome (scenario, bounds of the estimate and of its confidence bounds,
    robustness values), the benchmark covariates' strengths and the contour figure (of the
    primary outcome when it has bounds, else of the first)."""
    if not bounds:
        return ""

    def percent(value: float | None) -> str:
        return MISSING if value is None else number(100 * value, 2)

    rows = [
        (
            escape(b["outcome"]),
            escape(b["estimand"]),
            number(b["estimate"]),
            number(b["bias_bound"]),
            interval(b["theta_lower"], b["theta_upper"]),
            interval(b["ci_lower"], b["ci_upper"]),
            percent(b["rv"]),
            percent(b["rva"]),
        )
        for b in bounds
    ]
    header = ["Outcome", "Estimand", "AIPW estimate", "Bias bound", "Bounds", "Confidence bounds",
              "RV (%)", "RVa (%)"]  # fmt: skip
    first = sorted(bounds, key=lambda b: b["outcome"] != primary)[0]
    benchmarks = [
        (
            escape(b["outcome"]),
            escape(r["benchmark"]),
            number(100 * r["cf_y"], 2),
            number(100 * r["cf_d"], 2),
            number(r["rho"], 2),
            number(r["delta_theta"]),
            interval(r["theta_lower"], r["theta_upper"]),
        )
        for b in bounds
        for r in b["benchmarks"]
    ]
    benchmark_table = (
        '<p class="note">Strengths implied by each benchmark covariate (the nuisances refitted '
        "without it) and the bounds at those strengths:</p>"
        + table(
            ["Outcome", "Benchmark", "cf_y (%)", "cf_d (%)", "rho", "Change in estimate", "Bounds"],
            benchmarks,
        )  # fmt: skip
        if benchmarks
        else ""
    )
    return (
        '<h3>Omitted-variable bounds on the AIPW estimates</h3><p class="note">Chernozhukov, '
        "Cinelli, Newey, Sharma &amp; Syrgkanis (2022), from the cross-fitted nuisances: a hidden "
        f"confounder explaining cf_y = {first['cf_y']:g} of the outcome's residual variation and "
        f"cf_d = {first['cf_d']:g} of the Riesz representer's (rho = {first['rho']:g}) moves the "
        "estimate by at most the bias bound. Confidence bounds: one-sided at level "
        f"{first['level']:g} each. RV: the strength cf_y = cf_d (in %) that brings the bound to "
        "zero; RVa: that brings its confidence bound to zero.</p>"
        + table(header, rows)
        + benchmark_table
        + embedded_figure(
            figures.get("dml_contour"),
            "dml_contour",
            f"Contours of the AIPW bound closer to zero for {first['outcome']}.",
        )  # fmt: skip
    )


def _refutation_part(refutations: list) -> str:
    """Each DoWhy refuter's refitted estimate against the original, and whether it passed."""
    if not refutations:
        return ""
    rows = [
        (
            escape(r.refuter.replace("_", " ")),
            escape(r.method),
            escape(r.outcome),
            number(r.original),
            number(r.refuted),
            interval(r.refuted_ci_lower, r.refuted_ci_upper),
            escape(r.rule),
            "pass" if r.passed else "<strong>fail</strong>",
        )
        for r in refutations
    ]
    header = ["Refuter", "Method", "Outcome", "Original", "Refuted", "95% CI", "Rule", "Result"]
    return (
        '<h3>Refutations (DoWhy)</h3><p class="note">DoWhy\'s refuters perturb the data and refit '
        "reimpact's estimators, propensity score included; the interval is that of the mean over "
        f"{refutations[0].simulations} simulations.</p>" + table(header, rows)
    )


def _subgroup_row(r: SimpleNamespace) -> tuple[str, ...]:
    """One published subgroup as table cells: dashes where it was not estimated, and for the
    group sizes too where it was suppressed."""
    counts = (escape(r.n_treated), escape(r.n_control))
    if r.status != "estimated":
        sizes = (MISSING, MISSING) if r.status == "suppressed" else counts
        return (
            escape(r.by),
            escape(r.level),
            escape(r.outcome),
            *[MISSING] * 4,
            *sizes,
            escape(r.status),
        )
    return (
        escape(r.by),
        escape(r.level),
        escape(r.outcome),
        number(r.estimate),
        interval(r.ci_lower, r.ci_upper),
        number(r.p_value),
        number(r.p_holm),
        *counts,
        "estimated",
    )


def _subgroup_part(
    subgroups: list[dict] | None, min_cell_size: int, figures: dict[str, bytes | None], units: str
) -> str:
    """AIPW effects by subgroup with Holm-adjusted p-values, and their forest plot."""
    if subgroups is None:
        return ""
    rows = [_subgroup_row(SimpleNamespace(**row)) for row in subgroups]
    header = [
        "By",
        "Level",
        "Outcome",
        "Estimate",
        "95% CI",
        "p-value",
        "Holm p",
        "Treated",
        "Control",
        "Status",
    ]
    return (
        '<h3>Subgroup effects</h3><p class="note">Cross-fitted AIPW within each subgroup; '
        "Holm-adjusted p-values across all outcomes and subgroups. Subgroups with fewer than "
        f"{min_cell_size} treated or control {escape(units)} are suppressed.</p>"
        + table(header, rows)
        + embedded_figure(figures.get("subgroups"), "subgroups", "Effects by subgroup.")
    )


def _cate_part(cate: list[dict] | None) -> str:
    """EconML's mean conditional effects by subgroup level."""
    if cate is None:
        return ""
    rows = []
    for r in (SimpleNamespace(**row) for row in cate):
        estimated = r.status == "estimated"
        rows.append(
            (
                escape(r.by),
                escape(r.level),
                escape(r.outcome),
                number(r.cate) if estimated else MISSING,
                interval(r.ci_lower, r.ci_upper) if estimated else MISSING,
                escape(r.status),
            )
        )
    return (
        '<p class="note">Conditional average effects by level from EconML\'s LinearDRLearner '
        "(subgroup columns as effect modifiers, the other covariates as controls):</p>"
        + table(["By", "Level", "Outcome", "Mean CATE", "95% CI", "Status"], rows)
    )


def sensitivity_section(results: StudyResults, published: dict, figures: dict[str, bytes | None]) -> str:
    """E-values, Rosenbaum bounds, omitted-variable bounds, refutations and subgroup effects, as
    far as ``published`` (the payload that passed the disclosure gate) shows them."""
    shown = published["sensitivity"]
    sens = _published_checks(results, shown)
    return "".join(
        [
            _evalue_part(sens.evalues),
            _rosenbaum_part(shown["rosenbaum"], figures),
            _omitted_variable_part(sens.omitted_variable, figures),
            _dml_part(shown.get("dml") or [], figures, results.study.primary),
            _refutation_part(sens.refutations),
            _subgroup_part(shown["subgroups"], results.min_cell_size, figures, results.study.unit_label),
            _cate_part(shown["cate"]),
        ]
    )
