"""Whether the adjusted groups are comparable: the overlap of the propensity scores and the
covariate balance (SMD, variance ratio, KS) before and after adjustment, with effective sizes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ...diagnostics.balance import SMD_THRESHOLD, sample_order
from ..markup import embedded_figure, escape, number, table
from ..tables import balance_pairs_table

if TYPE_CHECKING:
    from ...results import StudyResults


def overlap_section(figures: dict[str, bytes | None]) -> str:
    """The overlap figure: propensity scores by group, before and under each adjustment."""
    return embedded_figure(
        figures.get("overlap"),
        "overlap",
        "Propensity scores by group before adjustment and under each adjustment.",
    ) + embedded_figure(
        figures.get("levels"),
        "overlap by level",
        "Generalised propensity score of each level: units at that level (up) and the others (down).",
    )


def _balance_table(frame: pd.DataFrame) -> str:
    """One row per covariate: SMD, variance ratio and KS distance per sample, the SMDs and
    variance ratios beyond their thresholds highlighted; suppressed covariates say so."""
    samples = sample_order(frame["sample"])
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
            rows.append([escape(name)] + ["suppressed"] * (3 * len(samples)))
            continue
        row = [escape(name)]
        for j, s in enumerate(samples):
            row.append(number(block.loc[s, "smd"], 3))
            if block.loc[s, "smd_flag"]:
                flags.add((i, 1 + j))
        for j, s in enumerate(samples):
            row.append(number(block.loc[s, "variance_ratio"], 2))
            if block.loc[s, "variance_flag"]:
                flags.add((i, 1 + len(samples) + j))
        row += [number(block.loc[s, "ecdf_max"], 3) for s in samples]
        rows.append(row)
    return table(header, rows, flags)


def _pairs_section(published: dict) -> str:
    """A multi-valued treatment's other pairs of levels: a column block of SMDs per pair
    (unadjusted, under the pair's IPW weights), |SMD| >= 0.1 highlighted; empty when there are
    none."""
    frame = balance_pairs_table(published)
    if frame.empty:
        return ""
    rows, flags = [], set()
    for i, values in enumerate(frame.itertuples(index=False)):
        row = [escape(values[0])]
        for j, value in enumerate(values[1:], 1):
            if isinstance(value, (int, float)) and pd.notna(value):
                row.append(number(value, 3))
                if abs(value) >= SMD_THRESHOLD:
                    flags.add((i, j))
            else:
                row.append(escape(value if isinstance(value, str) else ""))
        rows.append(row)
    return (
        '<p class="note">Balance between the other pairs of levels (the first level of a pair '
        "against the second, the units at other levels left out): standardised mean differences "
        "unadjusted and under the pair's IPW weights, scaled by the pooled standard deviation of "
        "the two levels in the unadjusted sample. Highlighted: |SMD| &ge; 0.1.</p>"
        + table([escape(c) for c in frame.columns], rows, flags)
    )


def _effective_n_table(published: dict) -> str:
    """The effective sample size of each group in each sample (as published)."""
    rows = [
        (escape(s), escape(v["treated"]), escape(v["control"]))
        for s, v in published["balance"]["effective_n"].items()
    ]
    return table(["Sample", "Effective n, treated", "Effective n, control"], rows)


def balance_section(results: StudyResults, published: dict, figures: dict[str, bytes | None]) -> str:
    """The balance table (for a multi-valued treatment then the other pairs of levels), the
    effective sample sizes, the love plot and the eCDF figure, after a note on how the SMD is
    scaled for the study's estimand."""
    balance = results.balance
    scale = {"ATT": "treated group", "ATC": "control group"}.get(balance.estimand, "pooled groups")
    return (
        f'<p class="note">Standardised mean differences use the standard deviation of the {scale} in '
        "the unadjusted sample (cobalt's rule for this estimand). Highlighted: |SMD| &ge; 0.1 or a "
        "variance ratio outside [0.5, 2]. KS: maximum distance between the groups' empirical "
        "distribution functions.</p>"
        + _balance_table(balance.to_frame())
        + _pairs_section(published)
        + _effective_n_table(published)
        + embedded_figure(
            figures.get("love"),
            "love",
            "Love plot: standardised mean differences before and after adjustment.",
        )
        + embedded_figure(
            figures.get("ecdf"),
            "ecdf",
            "Empirical distribution functions of the least balanced continuous covariates.",
        )
    )
