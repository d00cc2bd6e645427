"""What the analysis rests on: the sample flow from the rows read to the units analysed, matched
and weighted, and the warnings the run raised."""

from __future__ import annotations

from typing import Any

from ..markup import escape, table


def _flow_rows(flow: dict[str, Any]) -> list[tuple[str, Any]]:
    """The steps from the rows read to the treated and control units analysed."""
    rows: list[tuple[str, Any]] = [("Rows read", flow["rows_read"])]
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
    return rows


def _design_rows(design: dict[str, Any]) -> list[tuple[str, Any]]:
    """What the design did to the analysed units: trimming, matching, bounding the scores."""
    rows: list[tuple[str, Any]] = []
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
    return rows


def sample_section(published: dict) -> str:
    """The sample flow as one table of steps and counts (counts as published)."""
    rows = _flow_rows(published["sample"]) + _design_rows(published["design"])
    return table(["Step", "Returnees"], [(escape(k), escape(v)) for k, v in rows])


def warnings_section(published: dict) -> str:
    """Each published warning, or a note that there is none."""
    if not published["warnings"]:
        return '<p class="ok">No warnings: overlap, balance and the sample flow raised no concern.</p>'
    return "".join(f'<p class="warning">{escape(w)}</p>' for w in published["warnings"])
