"""Every table of the report as a DataFrame, built from the published payload only.

``published`` is the dict that passed the disclosure gate (:func:`reimpact.disclosure.publish`),
which ``results.json`` holds; no table reads the run's raw counts, so a table holds no number that
``results.json`` does not. Counts the gate hid stay the strings it published (``"<10"``,
``"suppressed"``); a statistic the gate withheld (an effect, a balance row, a subgroup or a
Rosenbaum bound of a suppressed group) reads ``"suppressed"``; a statistic that does not exist (the
variance ratio of a 0/1 covariate) is missing. Numbers are as published, unrounded: rounding is the
business of whoever shows them (:mod:`.formatting`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from ..diagnostics.balance import sample_order
from ..results.effects import effect_key
from .sensitivity_tables import (
    SUPPRESSED,
    cate_table,
    dml_benchmarks_table,
    dml_table,
    evalues_table,
    omitted_variable_bounds_table,
    omitted_variable_table,
    refutations_table,
    rosenbaum_table,
    subgroups_table,
    withheld,
)


def _unit_header(published: dict) -> str:
    """The study's unit label with a capital, as a column header ("Returnees")."""
    label = str((published.get("study") or {}).get("unit_label") or "units")
    return label[:1].upper() + label[1:]


def sample_flow_table(published: dict) -> pd.DataFrame:
    """The sample flow: the steps from the rows read to the treated and control units analysed,
    then what the design did to them (trimming, matching, bounded scores), with their counts."""
    flow, design = published["sample"], published["design"]
    rows: list[tuple[str, Any]] = [("Rows read", flow["rows_read"])]
    rows += [(f"Removed by the population filter on {k}", v) for k, v in flow["filtered_out"].items()]
    rows.append(
        (
            "Excluded by the treatment rule (neither treated nor control)",
            flow["excluded_by_treatment_rule"],
        )
    )
    for key, each, total in (
        ("dropped_missing", "a missing value", "missing values"),
        ("dropped_invalid", "an infinite or absurd value", "infinite or absurd values"),
    ):
        rows += [
            (f"Dropped for {each} in {k}" if k != "total" else f"Dropped for {total} (total)", v)
            for k, v in (flow.get(key) or {}).items()
        ]
    rows += [(f"Imputed values in {k}", v) for k, v in (flow.get("imputed") or {}).items()]
    rows += [
        (f"Without {k} (left out of the analyses of {k} only)", v)
        for k, v in (flow.get("missing_outcome") or {}).items()
    ]
    reference = ((published.get("study") or {}).get("treatment") or {}).get("reference")
    treated, control = ("Treated", "Control") if reference is None else (
        "At a level other than the reference", f"At the reference level ({reference})")  # fmt: skip
    rows += [("Analysed", flow["analysed"]), (treated, flow["treated"]), (control, flow["control"])]
    if design.get("n_trimmed"):
        trim = design["trim"]
        rows.append((f"Trimmed (score outside [{trim:g}, {1 - trim:g}])", design["n_trimmed"]))
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
    return pd.DataFrame(rows, columns=["Step", _unit_header(published)], dtype=object)


EFFECT_STATISTICS = {
    "estimate": "Estimate",
    "std_error": "Std. error",
    "ci_lower": "95% CI lower",
    "ci_upper": "95% CI upper",
    "p_value": "p-value",
}


def _iswithheld(effect: dict[str, Any]) -> bool:
    """Whether the gate withheld this effect's statistics (too few units in a group)."""
    return effect.get("estimate") is None and any(
        str(n).startswith(SUPPRESSED) for n in effect.get("notes") or []
    )


def effects_table(published: dict) -> pd.DataFrame:
    """The effects as the report shows them: outcome, method, estimand, estimate, standard error,
    95% interval, p-value and the units that carry weight, with the true effect when the data are
    simulated."""
    truth = {effect_key(t): t["effect"] for t in published.get("truth") or []}
    rows = []
    for e in published["effects"]:
        row = {"Outcome": effect_key(e), "Method": e["method"], "Estimand": e["estimand"]}
        row |= {header: e.get(key) for key, header in EFFECT_STATISTICS.items()}
        if _iswithheld(e):
            row = withheld(row, tuple(EFFECT_STATISTICS.values()))
        row |= {"Treated": e["n_treated"], "Control": e["n_control"]}
        if truth:
            row["True effect"] = truth.get(effect_key(e))
        rows.append(row)
    columns = ["Outcome", "Method", "Estimand", *EFFECT_STATISTICS.values(), "Treated", "Control"]
    return pd.DataFrame(rows, columns=columns + (["True effect"] if truth else []), dtype=object)


def _balance_rows(published: dict) -> tuple[list[dict[str, Any]], list[str]]:
    """The published balance rows and the samples they cover, in the report's order."""
    rows = (published.get("balance") or {}).get("rows") or []
    return rows, sample_order(r["sample"] for r in rows)


def _by_covariate(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """covariate -> sample -> row, covariates in the order published."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["covariate"], {})[r["sample"]] = r
    return out


BALANCE_STATISTICS = {"smd": "SMD", "variance_ratio": "Var. ratio", "ecdf_max": "KS"}


def balance_table(published: dict) -> pd.DataFrame:
    """One row per covariate (per level of a categorical one): the standardised mean difference,
    the variance ratio and the Kolmogorov-Smirnov distance in every sample."""
    rows, samples = _balance_rows(published)
    columns = [f"{label} {s}" for label in BALANCE_STATISTICS.values() for s in samples]
    out = []
    for covariate, by_sample in _by_covariate(rows).items():
        row: dict[str, Any] = {"Covariate": covariate}
        for key, label in BALANCE_STATISTICS.items():
            for s in samples:
                r = by_sample.get(s) or {}
                row[f"{label} {s}"] = SUPPRESSED if r.get("suppressed") else r.get(key)
        out.append(row)
    return pd.DataFrame(out, columns=["Covariate", *columns], dtype=object)


PAIR_SAMPLES = {"unadjusted": "unadjusted", "weighted": "IPW"}


def balance_pairs_table(published: dict) -> pd.DataFrame:
    """A multi-valued treatment's balance between the pairs of levels other than the reference
    pairs: one row per covariate, for every pair (a column block) the SMD in the unadjusted sample
    and under the pair's IPW weights. No rows for a binary treatment."""
    rows = ((published.get("balance") or {}).get("pairs") or {}).get("rows") or []
    contrasts = list(dict.fromkeys(r["contrast"] for r in rows))
    columns = [f"SMD {c}, {label}" for c in contrasts for label in PAIR_SAMPLES.values()]
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        row = out.setdefault(r["covariate"], {"Covariate": r["covariate"]})
        value = SUPPRESSED if r.get("suppressed") else r.get("smd")
        row[f"SMD {r['contrast']}, {PAIR_SAMPLES[r['sample']]}"] = value
    return pd.DataFrame(list(out.values()), columns=["Covariate", *columns], dtype=object)


def dose_response_table(published: dict) -> pd.DataFrame:
    """A dose's dose-response curves as published (one row per outcome, method and dose: the
    mean potential outcome, its standard error and pointwise 95% interval, the units at the
    dose). No rows for any other treatment."""
    rows = published.get("dose_response") or []
    columns = {
        "outcome": "Outcome", "method": "Method", "dose": "Dose", "estimate": "Mean",
        "std_error": "Std. error", "ci_lower": "CI lower", "ci_upper": "CI upper", "n": "Units",
    }  # fmt: skip
    return pd.DataFrame(rows, columns=list(columns)).rename(columns=columns)


def effective_n_table(published: dict) -> pd.DataFrame:
    """Kish's effective sample size of each group in each sample, as published."""
    effective = (published.get("balance") or {}).get("effective_n") or {}
    rows = [(s, v.get("treated"), v.get("control")) for s, v in effective.items()]
    return pd.DataFrame(
        rows, columns=["Sample", "Effective n, treated", "Effective n, control"], dtype=object
    )


def table_one_columns(samples: list[str]) -> list[str]:
    """The group columns of Table 1: treated, control and SMD for each sample."""
    return [f"{what} ({s})" for s in samples for what in ("Treated", "Control", "SMD")]


def table_one(published: dict) -> pd.DataFrame:
    """Table 1: the baseline characteristics of the treated and the control group, before and after
    adjustment.

    One row per covariate, or per level of a categorical one: the mean of a numeric covariate or
    the proportion (0 to 1) of a 0/1 level (``Statistic``) in the treated and the control group
    of every sample (unadjusted, matched, weighted and those of added methods; the matched and
    weighted means are the weighted group means), with the SMD. The first row gives the effective
    sample size of each group (Kish). A level whose share would disclose a small count reads
    "suppressed".
    """
    rows, samples = _balance_rows(published)
    effective = (published.get("balance") or {}).get("effective_n") or {}
    first: dict[str, Any] = {
        "Covariate": "Effective sample size (Kish)",
        "Level": "",
        "Statistic": "count",
    }
    for s in samples:
        groups = effective.get(s) or {}
        first |= {f"Treated ({s})": groups.get("treated"), f"Control ({s})": groups.get("control")}
        first[f"SMD ({s})"] = None
    out = [first]
    for covariate, by_sample in _by_covariate(rows).items():
        any_row = next(iter(by_sample.values()))
        source = any_row.get("source") or covariate
        level = covariate[len(source) + 1 :] if covariate.startswith(f"{source}=") else ""
        statistic = "proportion" if any_row.get("type") == "binary" else "mean"
        row: dict[str, Any] = {"Covariate": source, "Level": level, "Statistic": statistic}
        for s in samples:
            r = by_sample.get(s) or {}
            for key, what in (("mean_treated", "Treated"), ("mean_control", "Control"), ("smd", "SMD")):
                row[f"{what} ({s})"] = SUPPRESSED if r.get("suppressed") else r.get(key)
        out.append(row)
    columns = ["Covariate", "Level", "Statistic", *table_one_columns(samples)]
    return pd.DataFrame(out, columns=columns, dtype=object)


# table name (file name of its exports) -> builder; the others than ALWAYS only when they hold rows
TABLES: dict[str, Callable[[dict], pd.DataFrame]] = {
    "sample_flow": sample_flow_table,
    "effects": effects_table,
    "table_one": table_one,
    "balance": balance_table,
    "balance_pairs": balance_pairs_table,
    "dose_response": dose_response_table,
    "effective_n": effective_n_table,
    "evalues": evalues_table,
    "rosenbaum": rosenbaum_table,
    "omitted_variable": omitted_variable_table,
    "omitted_variable_bounds": omitted_variable_bounds_table,
    "dml": dml_table,
    "dml_benchmarks": dml_benchmarks_table,
    "refutations": refutations_table,
    "subgroups": subgroups_table,
    "cate": cate_table,
}
ALWAYS = ("sample_flow", "effects", "table_one", "balance", "effective_n")


def report_tables(published: dict) -> dict[str, pd.DataFrame]:
    """Every table of the report, by name (see ``TABLES``), from the published payload; a
    sensitivity table is left out when its check did not run or the gate left it no row."""
    out = {}
    for name, build in TABLES.items():
        frame = build(published)
        if name in ALWAYS or len(frame):
            out[name] = frame
    return out
