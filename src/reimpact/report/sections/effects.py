"""The effects: every outcome x method with its estimate, standard error, interval, p-value and
group sizes, the true effect for simulated data, the estimators' notes and the forest plot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...results.effects import effect_key
from ..figures.style import method_label
from ..markup import embedded_figure, escape, interval, number, table

if TYPE_CHECKING:
    from ...results import StudyResults

HEADER = [
    "Outcome",
    "Method",
    "Estimand",
    "Estimate",
    "Std. error",
    "95% CI",
    "p-value",
    "Treated",
    "Control",
]


def _effect_row(record: dict[str, Any], truth: dict[str, float]) -> list[str]:
    """One published effect as table cells; the true effect last when the data are simulated."""
    row = [
        escape(effect_key(record)),
        escape(record["method"]),
        escape(record["estimand"]),
        number(record["estimate"]),
        number(record["std_error"]),
        interval(record["ci_lower"], record["ci_upper"]),
        number(record["p_value"], 4),
        escape(record["n_treated"]),
        escape(record["n_control"]),
    ]
    if "m" in record:  # pooled over imputations
        row += [number(record["df"], 1), number(record["fmi"], 3)]
    if truth:
        row.append(number(truth.get(effect_key(record))))
    return row


def effects_section(results: StudyResults, published: dict, figures: dict[str, bytes | None]) -> str:
    """The table of published effects, a note when the data are simulated, the estimators'
    notes and the forest plot."""
    truth = results.truth_by_outcome()
    records = published["effects"]
    pooled = [record["m"] for record in records if "m" in record]
    header = HEADER + (["df", "FMI"] if pooled else []) + (["True effect"] if truth else [])
    rows = [_effect_row(record, truth) for record in records]
    notes = sorted({n for r in records for n in r["notes"]})
    note_html = "".join(f"<li>{escape(n)}</li>" for n in notes)
    methods = dict.fromkeys(record["method"] for record in records)
    legend = "; ".join(f"{escape(m)}: {escape(method_label(m))}" for m in methods)
    contrasts = (
        '<p class="note">Each row is one contrast of the treatment\'s levels, "a vs b": '
        "Treated counts the units at level a, Control those at level b.</p>"
        if any("contrast" in record for record in records) and results.study.panel is None
        else ""
    )
    simulated = (
        '<p class="note">The data are simulated: the true effect is known and shown for comparison.</p>'
        if truth
        else ""
    )
    imputed = (
        f'<p class="note">Pooled over m = {pooled[0]} imputations by Rubin\'s rules: intervals '
        "and p-values from t with the degrees of freedom shown (df); FMI is the fraction of "
        "missing information.</p>"
        if pooled
        else ""
    )
    return (
        table(header, rows)
        + f'<p class="note">Methods: {legend}.</p>'
        + imputed
        + contrasts
        + simulated
        + (f'<ul class="note">{note_html}</ul>' if note_html else "")
        + embedded_figure(figures.get("forest"), "forest", "Effects with 95% confidence intervals.")
        + dose_section(results, published, figures)
        + path_section(results, figures)
    )


def path_section(results: StudyResults, figures: dict[str, bytes | None]) -> str:
    """Long data: what the rows of each survey round mean and the effect path figure; empty
    otherwise."""
    panel = results.study.panel
    if panel is None:
        return ""
    did = (
        f"drdid: doubly robust difference-in-differences (Sant'Anna & Zhao 2020) of each round "
        f"against the pre-assistance round {panel.baseline:g}, on the change of each unit's outcome; "
        "time-invariant differences between the groups, observed or not, cancel in the change. "
        if results.study.design == "did"
        else ""
    )
    caption = f"Effects by {panel.round} with 95% intervals (one interval per round, not a band)."
    return (
        "<h3>Effects by survey round</h3>"
        + f'<p class="note">Every row labelled "round r" is an effect in that round of '
        f"{escape(panel.round)}: the other methods compare the treated and control units surveyed "
        f"in the round, with the covariates of their first round. {escape(did)}"
        f"The rows of one unit share a cluster wherever several rounds enter one estimate.</p>"
        + embedded_figure(figures.get("path"), "effect_path", caption)
    )


def dose_section(results: StudyResults, published: dict, figures: dict[str, bytes | None]) -> str:
    """A dose's dose-response curves: the table of the mean potential outcome at every dose with
    its pointwise interval (and the true mean for simulated data) and the figure; empty for any
    other treatment."""
    dose = results.dose_response
    if dose is None:
        return ""
    if results.design.dose.get("kind") == "continuous":  # 25 doses a curve: the figure, the CSV
        caption = (
            f"Mean potential outcome along {dose.treatment} (5th to 95th percentile) with pointwise "
            "95% intervals; the values are in tables/dose_response.csv."
        )
        return (
            "<h3>Dose-response</h3>"
            + '<p class="note">E[Y(d)] smoothed by a local quadratic fit of Kennedy et al.\'s '
            "pseudo-outcomes; the effects above are the curve at the 10th, 25th, 75th and 90th "
            "percentiles against the reference dose. The intervals are approximate (see the "
            "warnings).</p>" + embedded_figure(figures.get("dose"), "dose_response", caption)
        )
    truth = {} if dose.truth is None else {(r.outcome, r.dose): r.mean for r in dose.truth.itertuples()}
    header = ["Outcome", "Method", "Dose", "Mean potential outcome", "Std. error", "95% CI", "Units"]
    rows = [
        [escape(r["outcome"]), escape(r["method"]), escape(r["dose"]), number(r["estimate"]),
         number(r["std_error"]), interval(r["ci_lower"], r["ci_upper"]), escape(r["n"])]
        + ([number(truth.get((r["outcome"], r["dose"])))] if truth else [])
        for r in published["dose_response"]
    ]  # fmt: skip
    caption = (
        f"Mean potential outcome at every value of {dose.treatment} with pointwise 95% intervals "
        "(not a band for the whole curve)."
    )
    return (
        "<h3>Dose-response</h3>"
        + table(header + (["True mean"] if truth else []), rows)
        + '<p class="note">E[Y(d)]: the mean outcome had every unit received dose d, estimated by '
        "IPW and AIPW on the generalised propensity score P(D = d | x); where a dose comes in several "
        "kinds (two activities of different types), the kinds that units like them at that dose "
        "receive. A dose with fewer units than the minimum cell size is not shown.</p>"
        + embedded_figure(figures.get("dose"), "dose_response", caption)
    )
