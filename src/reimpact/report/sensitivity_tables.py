"""The sensitivity tables of the report (E-values, Rosenbaum bounds, omitted-variable bounds of
OLS and AIPW, refutations, subgroups, CATE), built from the published payload only, as
:mod:`.tables` builds the others: a statistic the gate withheld reads "suppressed"."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..disclosure import SECONDARY

SUPPRESSED = SECONDARY  # what a withheld statistic reads


def withheld(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``row`` with every key of ``keys`` reading "suppressed"."""
    return row | dict.fromkeys(keys, SUPPRESSED)


def _sensitivity(published: dict, key: str) -> list[dict[str, Any]]:
    return list(((published.get("sensitivity") or {}).get(key)) or [])


def evalues_table(published: dict) -> pd.DataFrame:
    """E-values of each published estimate and of its confidence limit closer to the null."""
    rows = [
        (v["outcome"], v["method"], v.get("risk_ratio"), v.get("evalue_estimate"), v.get("evalue_ci"))
        for v in _sensitivity(published, "evalues")
    ]
    columns = ["Outcome", "Method", "Risk ratio", "E-value", "E-value (CI)"]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def rosenbaum_table(published: dict) -> pd.DataFrame:
    """Rosenbaum bounds per outcome: matched pairs, the p-value at Gamma = 1 and Gamma*, the
    Gamma at which the signed-rank test loses significance (or why there is none)."""
    rows = []
    for b in _sensitivity(published, "rosenbaum"):
        row: dict[str, Any] = {
            "Outcome": b["outcome"],
            "Pairs": b.get("n_pairs"),
            "Alpha": b.get("alpha"),
        }
        if b.get("available"):
            gamma = b.get("gamma_critical")
            row |= {"p-value at Gamma = 1": (b.get("p_upper") or [None])[0], "Gamma*": gamma or None}
            row["Note"] = "" if gamma else "not significant at Gamma = 1"
        else:
            reason = str(b.get("reason") or "")
            hidden = SUPPRESSED if reason.startswith(SUPPRESSED) else None
            row |= {"p-value at Gamma = 1": hidden, "Gamma*": hidden, "Note": reason}
        rows.append(row)
    columns = ["Outcome", "Pairs", "Alpha", "p-value at Gamma = 1", "Gamma*", "Note"]
    return pd.DataFrame(rows, columns=columns, dtype=object)


OMITTED_VARIABLE = {
    "outcome": "Outcome",
    "estimate": "OLS estimate",
    "std_error": "Std. error",
    "partial_r2": "Partial R2 of treatment",
    "rv_q": "RV",
    "rv_q_alpha": "RV alpha",
    "q": "q",
    "alpha": "Alpha",
}


def omitted_variable_table(published: dict) -> pd.DataFrame:
    """Cinelli & Hazlett's robustness values per outcome (shares, 0 to 1, of the residual variance
    a confounder must explain), on the regression-adjusted estimate."""
    rows = [
        {h: o.get(k) for k, h in OMITTED_VARIABLE.items()}
        for o in _sensitivity(published, "omitted_variable")
    ]
    return pd.DataFrame(rows, columns=list(OMITTED_VARIABLE.values()), dtype=object)


OMITTED_VARIABLE_BOUNDS = {
    "benchmark": "Benchmark",
    "kd": "k (treatment)",
    "ky": "k (outcome)",
    "r2_dz": "R2 with treatment",
    "r2_yz": "R2 with outcome",
    "adjusted_estimate": "Adjusted estimate",
    "adjusted_se": "Adjusted std. error",
    "adjusted_ci_lower": "Adjusted 95% CI lower",
    "adjusted_ci_upper": "Adjusted 95% CI upper",
}


def omitted_variable_bounds_table(published: dict) -> pd.DataFrame:
    """The bounds on a confounder k times as strong as each benchmark covariate."""
    rows = [
        {"Outcome": o["outcome"]} | {h: b.get(k) for k, h in OMITTED_VARIABLE_BOUNDS.items()}
        for o in _sensitivity(published, "omitted_variable")
        for b in o.get("bounds") or []
    ]
    return pd.DataFrame(rows, columns=["Outcome", *OMITTED_VARIABLE_BOUNDS.values()], dtype=object)


DML = {"outcome": "Outcome", "estimand": "Estimand", "estimate": "AIPW estimate", "cf_y": "cf_y",
       "cf_d": "cf_d", "rho": "rho", "bias_bound": "Bias bound", "theta_lower": "Lower bound",
       "theta_upper": "Upper bound", "ci_lower": "Lower confidence bound",
       "ci_upper": "Upper confidence bound", "level": "Level", "rv": "RV", "rva": "RVa"}  # fmt: skip
DML_BENCHMARKS = {"benchmark": "Benchmark", "cf_y": "cf_y", "cf_d": "cf_d", "rho": "rho",
                  "delta_theta": "Change in estimate", "theta_lower": "Lower bound",
                  "theta_upper": "Upper bound"}  # fmt: skip


def dml_table(published: dict) -> pd.DataFrame:
    """The AIPW omitted-variable bounds per outcome (Chernozhukov et al. 2022)."""
    rows = [{h: b.get(k) for k, h in DML.items()} for b in _sensitivity(published, "dml")]
    return pd.DataFrame(rows, columns=list(DML.values()), dtype=object)


def dml_benchmarks_table(published: dict) -> pd.DataFrame:
    """The strengths implied by each benchmark covariate of the AIPW bounds."""
    rows = [
        {"Outcome": b["outcome"]} | {h: r.get(k) for k, h in DML_BENCHMARKS.items()}
        for b in _sensitivity(published, "dml")
        for r in b.get("benchmarks") or []
    ]
    return pd.DataFrame(rows, columns=["Outcome", *DML_BENCHMARKS.values()], dtype=object)


REFUTATIONS = {
    "refuter": "Refuter",
    "method": "Method",
    "outcome": "Outcome",
    "original": "Original",
    "refuted": "Refuted",
    "refuted_ci_lower": "95% CI lower",
    "refuted_ci_upper": "95% CI upper",
    "simulations": "Simulations",
    "rule": "Rule",
}


def refutations_table(published: dict) -> pd.DataFrame:
    """Each DoWhy refuter's refitted estimate against the original, its rule and the result."""
    rows = [
        {h: r.get(k) for k, h in REFUTATIONS.items()} | {"Result": "pass" if r.get("passed") else "fail"}
        for r in _sensitivity(published, "refutations")
    ]
    return pd.DataFrame(rows, columns=[*REFUTATIONS.values(), "Result"], dtype=object)


SUBGROUP_STATISTICS = {
    "estimate": "Estimate",
    "std_error": "Std. error",
    "ci_lower": "95% CI lower",
    "ci_upper": "95% CI upper",
    "p_value": "p-value",
    "p_holm": "Holm p",
}


def subgroups_table(published: dict) -> pd.DataFrame:
    """AIPW effects by subgroup with Holm-adjusted p-values, the group sizes and the status."""
    rows = []
    for r in _sensitivity(published, "subgroups"):
        row = {"By": r["by"], "Level": r["level"], "Outcome": r["outcome"]}
        row |= {h: r.get(k) for k, h in SUBGROUP_STATISTICS.items()}
        if r.get("status") == SUPPRESSED:
            row = withheld(row, tuple(SUBGROUP_STATISTICS.values()))
        rows.append(
            row
            | {"Treated": r.get("n_treated"), "Control": r.get("n_control"), "Status": r.get("status")}
        )
    columns = ["By", "Level", "Outcome", *SUBGROUP_STATISTICS.values(), "Treated", "Control", "Status"]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def cate_table(published: dict) -> pd.DataFrame:
    """EconML's mean conditional average effect by subgroup level, with its interval."""
    rows = []
    for r in _sensitivity(published, "cate"):
        row = {"By": r["by"], "Level": r["level"], "Outcome": r["outcome"]}
        row |= {
            "Mean CATE": r.get("cate"),
            "95% CI lower": r.get("ci_lower"),
            "95% CI upper": r.get("ci_upper"),
        }
        if r.get("status") == SUPPRESSED:
            row = withheld(row, ("Mean CATE", "95% CI lower", "95% CI upper"))
        rows.append(row | {"Status": r.get("status")})
    columns = ["By", "Level", "Outcome", "Mean CATE", "95% CI lower", "95% CI upper", "Status"]
    return pd.DataFrame(rows, columns=columns, dtype=object)
