"""The self-contained HTML report: every figure embedded, aggregates only."""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from dataclasses import replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from ..analysis import StudyResults

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; max-width: 70rem;
       margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; margin-top: 2rem; }
.meta { color: #555; font-size: 0.9rem; }
nav a { margin-right: 1rem; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #e2e2e2; padding: 0.25rem 0.6rem; text-align: left; }
table.num td, table.num th { text-align: right; }
table.num td { white-space: nowrap; }
table { display: block; max-width: 100%; overflow-x: auto; }
table.num td:first-child, table.num th:first-child { text-align: left; }
thead th { background: #f3f3f3; }
td.flag { background: #fde2d0; }
.warning { background: #fff4e5; border-left: 4px solid #e69f00; padding: 0.4rem 0.8rem;
           margin: 0.4rem 0; }
.ok { background: #eaf6ef; border-left: 4px solid #009e73; padding: 0.4rem 0.8rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #444; }
pre { background: #f7f7f7; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
.note { font-size: 0.85rem; color: #444; }
"""

SECTIONS = [
    ("study", "Study"),
    ("sample", "Sample"),
    ("warnings", "Warnings"),
    ("overlap", "Overlap"),
    ("balance", "Balance"),
    ("effects", "Effects"),
    ("sensitivity", "Sensitivity"),
    ("provenance", "Provenance"),
]


def _e(value: Any) -> str:
    return html.escape(str(value))


def _number(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _e(value)


def _table(
    header: Iterable[str], rows: Iterable[Iterable[str]], flags: set | None = None, numeric: bool = True
) -> str:
    """An HTML table from pre-escaped cells; ``flags`` holds (row, column) cells to highlight;
    ``numeric`` right-aligns every column but the first."""
    flags = flags or set()
    head = "".join(f"<th>{h}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(
            f'<td class="flag">{c}</td>' if (i, j) in flags else f"<td>{c}</td>"
            for j, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    css = ' class="num"' if numeric else ""
    return f"<table{css}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(png: bytes | None, name: str, caption: str) -> str:
    if png is None:
        return f'<p class="note">{_e(caption)}</p>'
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure id="fig-{name}"><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _study_section(results: StudyResults) -> str:
    study = results.study
    spec = study.treatment
    rule = (
        f"{spec.column} in {spec.treated}" if spec.column else f"any of {spec.any_of} in {spec.treated}"
    )
    if spec.control is not None:
        rule += f"; controls: value in {spec.control}"
    rows = [
        ("Title", study.display_title),
        ("Treatment", f"{spec.label} ({rule})"),
        ("Estimand", study.estimand),
        ("Outcomes", ", ".join(study.outcomes)),
        ("Covariates", ", ".join(study.covariates)),
        ("Population", "; ".join(f"{k}: {v}" for k, v in study.population.items()) or "everyone"),
        ("Exact matching on", ", ".join(study.exact) or "none"),
        ("Missing values", study.missing),
        (
            "Propensity score",
            f"{study.propensity.kind}; where inverted, bounded at {study.propensity.clip:g} on the "
            f"side the {study.estimand} needs",
        ),
        ("Methods", ", ".join(study.methods.names)),
        ("Data", results.sample.source.description),
    ]
    table = _table(["Field", "Value"], [(_e(k), _e(v)) for k, v in rows], numeric=False)
    import yaml

    dump = yaml.safe_dump(study.model_dump(mode="json"), sort_keys=False)
    return f"{table}<details><summary>Full study definition</summary><pre>{_e(dump)}</pre></details>"


def _sample_section(published: dict) -> str:
    flow, design = published["sample"], published["design"]
    rows = [("Rows read", flow["rows_read"])]
    rows += [(f"Removed by the population filter on {k}", v) for k, v in flow["filtered_out"].items()]
    rows.append(
        (
            "Excluded by the treatment rule (neither treated nor control)",
            flow["excluded_by_treatment_rule"],
        )
    )
    rows += [
        (
            f"Dropped for a missing value in {k}"
            if k != "total"
            else "Dropped for missing values (total)",
            v,
        )
        for k, v in flow["dropped_missing"].items()
    ]
    rows += [
        (
            f"Dropped for an infinite or absurd value in {k}"
            if k != "total"
            else "Dropped for infinite or absurd values (total)",
            v,
        )
        for k, v in flow["dropped_invalid"].items()
    ]
    rows += [(f"Imputed values in {k}", v) for k, v in flow["imputed"].items()]
    rows += [
        (f"Without {k} (left out of the analyses of {k} only)", v)
        for k, v in flow["missing_outcome"].items()
    ]
    rows += [("Analysed", flow["analysed"]), ("Treated", flow["treated"]), ("Control", flow["control"])]
    if design["n_trimmed"]:
        rows.append(
            (f"Trimmed (score outside [{design['trim']}, {1 - design['trim']}])", design["n_trimmed"])
        )
    matching = design.get("matching") or {}
    if matching:
        rows += [
            ("Matched treated units", matching["matched_treated"]),
            ("Matched control units", matching["matched_control"]),
            ("Focal units dropped by the caliper", matching["dropped_by_caliper"]),
        ]
    clip = design["clip"]
    rows += [
        (f"Propensity scores raised to {clip:g} for weighting", design["n_bounded_below"]),
        (f"Propensity scores lowered to {1 - clip:g} for weighting", design["n_bounded_above"]),
    ]
    return _table(["Step", "Returnees"], [(_e(k), _e(v)) for k, v in rows])


def _warnings_section(published: dict) -> str:
    if not published["warnings"]:
        return '<p class="ok">No warnings: overlap, balance and the sample flow raised no concern.</p>'
    return "".join(f'<p class="warning">{_e(w)}</p>' for w in published["warnings"])


def _balance_section(results: StudyResults, published: dict, figures: dict[str, bytes | None]) -> str:
    balance = results.balance
    frame = balance.to_frame()
    samples = [s for s in ("unadjusted", "matched", "weighted") if s in set(frame["sample"])]
    header = (
        ["Covariate"]
        + [f"SMD {s}" for s in samples]
        + [f"Var. ratio {s}" for s in samples]
        + [f"KS {s}" for s in samples]
    )
    rows, flags = [], set()
    for i, (name, block) in enumerate(frame.groupby("covariate", sort=False)):
        block = block.set_index("sample")
        if block["suppressed"].iloc[0]:
            rows.append([_e(name)] + ["suppressed"] * (3 * len(samples)))
            continue
        row = [_e(name)]
        for j, s in enumerate(samples):
            row.append(_number(block.loc[s, "smd"], 3))
            if block.loc[s, "smd_flag"]:
                flags.add((i, 1 + j))
        for j, s in enumerate(samples):
            row.append(_number(block.loc[s, "variance_ratio"], 2))
            if block.loc[s, "variance_flag"]:
                flags.add((i, 1 + len(samples) + j))
        row += [_number(block.loc[s, "ecdf_max"], 3) for s in samples]
        rows.append(row)
    ess = _table(
        ["Sample", "Effective n, treated", "Effective n, control"],
        [
            (
                _e(s),
                _e(v["treated"]),
                _e(v["control"]),
            )
            for s, v in published["balance"]["effective_n"].items()
        ],
    )
    scale = {"ATT": "treated group", "ATC": "control group"}.get(balance.estimand, "pooled groups")
    return (
        f'<p class="note">Standardised mean differences use the standard deviation of the {scale} in '
        "the unadjusted sample (cobalt's rule for this estimand). Highlighted: |SMD| &ge; 0.1 or a "
        "variance ratio outside [0.5, 2]. KS: maximum distance between the groups' empirical "
        "distribution functions.</p>"
        + _table(header, rows, flags)
        + ess
        + _figure(
            figures.get("love"),
            "love",
            "Love plot: standardised mean differences before and after adjustment.",
        )
        + _figure(
            figures.get("ecdf"),
            "ecdf",
            "Empirical distribution functions of the least balanced continuous covariates.",
        )
    )


def _effects_section(results: StudyResults, published: dict, figures: dict[str, bytes | None]) -> str:
    truth = results.truth_by_outcome()
    header = [
        "Outcome",
        "Method",
        "Estimand",
        "Estimate",
        "Std. error",
        "95% CI",
        "p-value",
        "Treated",
        "Control",
    ] + (["True effect"] if truth else [])
    records = published["effects"]
    rows = []
    for record in records:
        ci = f"[{_number(record['ci_lower'])}, {_number(record['ci_upper'])}]"
        row = [
            _e(record["outcome"]),
            _e(record["method"]),
            _e(record["estimand"]),
            _number(record["estimate"]),
            _number(record["std_error"]),
            ci,
            _number(record["p_value"], 4),
            _e(record["n_treated"]),
            _e(record["n_control"]),
        ]
        if truth:
            row.append(_number(truth.get(record["outcome"])))
        rows.append(row)
    notes = sorted({n for r in records for n in r["notes"]})
    note_html = "".join(f"<li>{_e(n)}</li>" for n in notes)
    simulated = (
        '<p class="note">The data are simulated: the true effect is known and shown for comparison.</p>'
        if truth
        else ""
    )
    return (
        _table(header, rows)
        + simulated
        + (f'<ul class="note">{note_html}</ul>' if note_html else "")
        + _figure(figures.get("forest"), "forest", "Effects with 95% confidence intervals.")
    )


def _provenance_section(results: StudyResults) -> str:
    info = results.provenance()
    rows = [(_e(k), _e(v)) for k, v in info.items() if k != "versions"]
    rows += [(_e(f"version of {k}"), _e(v)) for k, v in info["versions"].items()]
    return _table(["Item", "Value"], rows, numeric=False)


def render(
    results: StudyResults, published: dict, figures: dict[str, bytes | None], sensitivity_html: str
) -> str:
    """The whole report as one HTML string; counts and group statistics from ``published``."""
    title = _e(results.study.display_title)
    nav = "".join(f'<a href="#{key}">{label}</a>' for key, label in SECTIONS)
    parts = {
        "study": _study_section(results),
        "sample": _sample_section(published),
        "warnings": _warnings_section(published),
        "overlap": _figure(
            figures.get("overlap"),
            "overlap",
            "Propensity scores by group before adjustment and under each adjustment.",
        ),
        "balance": _balance_section(results, published, figures),
        "effects": _effects_section(results, published, figures),
        "sensitivity": sensitivity_html,
        "provenance": _provenance_section(results),
    }
    body = "".join(
        f'<section id="{key}"><h2>{label}</h2>{parts[key]}</section>' for key, label in SECTIONS
    )
    created = _e(results.created)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
        f'<p class="meta">reimpact report, {created}. Aggregates only; cells describing fewer than '
        f"{results.min_cell_size} returnees are suppressed.</p><nav>{nav}</nav>{body}</body></html>"
    )


def sensitivity_section(results: StudyResults, published: dict, figures: dict[str, bytes | None]) -> str:
    """E-values, Rosenbaum bounds, omitted-variable bounds, refutations and subgroup effects, as
    far as ``published`` (the payload that passed the disclosure gate) shows them."""
    shown = published["sensitivity"]
    kept = {(r["outcome"], r["method"]) for key in ("evalues", "refutations") for r in shown[key]}
    sens = replace(
        results.sensitivity,
        evalues=[v for v in results.sensitivity.evalues if (v.outcome, v.method) in kept],
        refutations=[r for r in results.sensitivity.refutations if (r.outcome, r.method) in kept],
        omitted_variable=[
            o for o in results.sensitivity.omitted_variable
            if o.outcome in {b["outcome"] for b in shown["omitted_variable"]}
        ],
    )  # fmt: skip
    size = results.min_cell_size
    parts = []
    if sens.evalues:
        rows = [
            (
                _e(v.outcome),
                _e(v.method),
                _number(v.risk_ratio, 3),
                _number(v.evalue_estimate, 2),
                _number(v.evalue_ci, 2),
            )
            for v in sens.evalues
        ]
        parts.append(
            '<h3>E-values</h3><p class="note">The minimum risk-ratio association an unmeasured '
            "confounder would need with both the treatment and the outcome, beyond the covariates, "
            "to explain away the estimate (or to move the confidence limit closer to the null to "
            "the null; 1 when the interval already contains it). VanderWeele &amp; Ding (2017); "
            f"continuous outcomes via the standardised effect ({_e(sens.evalues[0].scale)}).</p>"
            + _table(["Outcome", "Method", "Risk ratio", "E-value", "E-value (CI)"], rows)
        )
    if shown["rosenbaum"]:
        rows = []
        for b in shown["rosenbaum"]:
            if b["available"]:
                rows.append(
                    (
                        _e(b["outcome"]),
                        _e(b["n_pairs"]),
                        _number(b["p_upper"][0], 4),
                        _number(b["gamma_critical"], 2)
                        if b["gamma_critical"]
                        else "not significant at Gamma = 1",
                    )
                )
            else:
                rows.append((_e(b["outcome"]), "&ndash;", "&ndash;", _e(b["reason"])))
        parts.append(
            '<h3>Rosenbaum bounds</h3><p class="note">How far the odds of treatment of two matched '
            "returnees may differ because of a hidden confounder before the signed-rank test of the "
            "matched pairs loses significance at alpha = "
            f"{shown['rosenbaum'][0]['alpha']:g}: Gamma*.</p>"
            + _table(["Outcome", "Pairs", "p-value at Gamma = 1", "Gamma*"], rows)
            + _figure(figures.get("gamma"), "gamma", "Upper bound on the p-value against Gamma.")
        )
    if sens.omitted_variable:
        rows = [
            (
                _e(o.outcome),
                _number(o.estimate),
                _number(o.std_error),
                _number(100 * o.partial_r2, 2),
                _number(100 * o.rv_q, 2),
                _number(100 * o.rv_q_alpha, 2),
            )
            for o in sens.omitted_variable
        ]
        first = sens.omitted_variable[0]
        parts.append(
            '<h3>Omitted-variable bounds</h3><p class="note">Cinelli &amp; Hazlett (2020), on the '
            "regression-adjusted estimate (OLS of the outcome on the treatment and the covariates). "
            "RV: the share of the residual variance of both treatment and outcome (partial R&sup2;, "
            "in %) a confounder must explain to bring the estimate to zero (RV<sub>q</sub>) or to "
            f"non-significance (RV<sub>q,alpha</sub>, alpha = {first.alpha:g}).</p>"
            + _table(
                [
                    "Outcome",
                    "OLS estimate",
                    "Std. error",
                    "Partial R\u00b2 of treatment (%)",
                    "RV (%)",
                    "RV alpha (%)",
                ],
                rows,
            )
        )
        bounds = pd.concat([o.bounds.assign(outcome=o.outcome) for o in sens.omitted_variable])
        if len(bounds):
            rows = [
                (
                    _e(r.outcome),
                    _e(f"{r.kd:g}x {r.benchmark}"),
                    _number(100 * r.r2_dz, 2),
                    _number(100 * r.r2_yz, 2),
                    _number(r.adjusted_estimate),
                    f"[{_number(r.adjusted_ci_lower)}, {_number(r.adjusted_ci_upper)}]",
                )
                for r in bounds.itertuples()
            ]
            parts.append(
                '<p class="note">Bounds on a confounder as strong as k times a benchmark covariate:</p>'
                + _table(
                    [
                        "Outcome",
                        "Confounder",
                        "R\u00b2 with treatment (%)",
                        "R\u00b2 with outcome (%)",
                        "Adjusted estimate",
                        "Adjusted 95% CI",
                    ],
                    rows,
                )
            )
        parts.append(
            _figure(
                figures.get("contour"),
                "contour",
                f"Contours of the adjusted estimate for {first.outcome}.",
            )
        )
    if sens.refutations:
        rows = [
            (
                _e(r.refuter.replace("_", " ")),
                _e(r.method),
                _e(r.outcome),
                _number(r.original),
                _number(r.refuted),
                f"[{_number(r.refuted_ci_lower)}, {_number(r.refuted_ci_upper)}]",
                _e(r.rule),
                "pass" if r.passed else "<strong>fail</strong>",
            )
            for r in sens.refutations
        ]
        parts.append(
            '<h3>Refutations (DoWhy)</h3><p class="note">DoWhy\'s refuters perturb the data and refit '
            "reimpact's estimators, propensity score included; the interval is that of the mean over "
            f"{sens.refutations[0].simulations} simulations.</p>"
            + _table(
                ["Refuter", "Method", "Outcome", "Original", "Refuted", "95% CI", "Rule", "Result"], rows
            )
        )
    if shown["subgroups"] is not None:
        rows = []
        for r in (SimpleNamespace(**row) for row in shown["subgroups"]):
            counts = (_e(r.n_treated), _e(r.n_control))
            if r.status != "estimated":
                rows.append(
                    (
                        _e(r.by),
                        _e(r.level),
                        _e(r.outcome),
                        "&ndash;",
                        "&ndash;",
                        "&ndash;",
                        "&ndash;",
                        *(("&ndash;", "&ndash;") if r.status == "suppressed" else counts),
                        _e(r.status),
                    )
                )
                continue
            rows.append(
                (
                    _e(r.by),
                    _e(r.level),
                    _e(r.outcome),
                    _number(r.estimate),
                    f"[{_number(r.ci_lower)}, {_number(r.ci_upper)}]",
                    _number(r.p_value),
                    _number(r.p_holm),
                    *counts,
                    "estimated",
                )
            )
        parts.append(
            '<h3>Subgroup effects</h3><p class="note">Cross-fitted AIPW within each subgroup; '
            "Holm-adjusted p-values across all outcomes and subgroups. Subgroups with fewer than "
            f"{size} treated or control returnees are suppressed.</p>"
            + _table(
                [
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
                ],
                rows,
            )
            + _figure(figures.get("subgroups"), "subgroups", "Effects by subgroup.")
        )
    if shown["cate"] is not None:
        rows = [
            (
                _e(r.by),
                _e(r.level),
                _e(r.outcome),
                _number(r.cate) if r.status == "estimated" else "&ndash;",
                f"[{_number(r.ci_lower)}, {_number(r.ci_upper)}]"
                if r.status == "estimated"
                else "&ndash;",
                _e(r.status),
            )
            for r in (SimpleNamespace(**row) for row in shown["cate"])
        ]
        parts.append(
            '<p class="note">Conditional average effects by level from EconML\'s LinearDRLearner '
            "(subgroup columns as effect modifiers, the other covariates as controls):</p>"
            + _table(["By", "Level", "Outcome", "Mean CATE", "95% CI", "Status"], rows)
        )
    return "".join(parts)
