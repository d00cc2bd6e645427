"""Table 1: the baseline characteristics of the treated and the control group, before and after
adjustment, the table a reader of an evaluation looks for first. Built from the published balance
rows (the weighted group means of every covariate level in every sample) and effective sizes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...diagnostics.balance import SMD_THRESHOLD
from ..formatting import table_one_text
from ..markup import escape, table
from ..tables import table_one

if TYPE_CHECKING:
    from ...results import StudyResults

SMD_SCALE = {"ATT": "treated group", "ATC": "control group"}  # the rest: the pooled groups


def smd_rule(estimand: str) -> str:
    """How the SMD is scaled for ``estimand``, in words (cobalt's rule)."""
    return (
        f"the standard deviation of the {SMD_SCALE.get(estimand, 'pooled groups')} in the "
        f"unadjusted sample (cobalt's rule for the {estimand})"
    )


def table_one_note(estimand: str, min_cell_size: int, units: str, sampled: bool = False) -> str:
    """What Table 1 shows, as plain text (the HTML and the Word report say the same); ``sampled``:
    the study has sampling weights, which weight every sample."""
    weighted = (
        " Every sample is also weighted by the sampling weights: the means describe the population "
        "they represent."
        if sampled
        else ""
    )
    return (
        "Means of numeric covariates and percentages of 0/1 covariates and of each level of a "
        "categorical one, in the treated and the control group of each sample: unadjusted (every "
        "analysed unit), matched and weighted (the means under the matching and the weighting "
        "weights). SMD: the difference of the means over "
        f"{smd_rule(estimand)}; |SMD| >= {SMD_THRESHOLD} is highlighted. First row: Kish's "
        "effective sample size of each group. A level held by fewer than "
        f"{min_cell_size} {units} (or by all but fewer than {min_cell_size}) in a group of some "
        "sample is suppressed: its shares would give the count away." + weighted
    )


def table_one_section(results: StudyResults, published: dict) -> str:
    """Table 1 from ``published`` (the payload that passed the disclosure gate), after a short
    note: means, percentages for 0/1 levels, SMDs by the estimand's rule, suppressed cells said.
    One table per sample (covariate, level, treated, control, SMD), so that each fits an A4 page."""
    frame = table_one(published)
    text = table_one_text(frame)
    estimand = (published.get("balance") or {}).get("estimand") or results.study.estimand
    sampled = results.study.weights is not None
    note = table_one_note(estimand, results.min_cell_size, results.study.unit_label, sampled)
    labels = list(text.columns[:2])
    samples = [str(c)[len("SMD (") : -1] for c in text.columns if str(c).startswith("SMD (")]
    parts = [f'<p class="note">{escape(note)}</p>']
    for sample in samples:
        columns = [*labels, f"Treated ({sample})", f"Control ({sample})", f"SMD ({sample})"]
        flags = {
            (i, 4)
            for i, value in enumerate(frame[f"SMD ({sample})"])
            if isinstance(value, float) and abs(value) >= SMD_THRESHOLD
        }
        rows = [[escape(v) for v in row] for row in text[columns].itertuples(index=False, name=None)]
        header = [escape(c) for c in [*labels, "Treated", "Control", "SMD"]]
        parts.append(f"<h3>{escape(sample.capitalize())}</h3>" + table(header, rows, flags))
    return "".join(parts)
