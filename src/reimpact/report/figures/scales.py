"""Outcomes grouped by scale, so a forest plot never puts a 1-5 rating beside 0-1 scores on one
axis (where the scores' intervals would shrink to dots).

An outcome's scale is the median standard error of its estimates. Every outcome of a study is
estimated on the same units, so standard errors differ between outcomes in proportion to the
outcomes' spread (their standard deviations): the standard error measures the scale without
reading the data, and so without drawing on any individual's value. Outcomes whose scales are
within ``RATIO`` of the smallest in a group share a panel; the axis label of a panel says its
scale.
"""

from __future__ import annotations

from statistics import median

import pandas as pd

RATIO = 3.0  # outcomes whose standard errors differ by less than this share an axis


def outcome_scales(estimates: pd.DataFrame) -> dict[str, float]:
    """The median standard error of each outcome's drawn estimates (rows with an estimate; a
    withheld one is None), in the order the outcomes first appear."""
    numbers = estimates[["estimate", "std_error"]].apply(pd.to_numeric, errors="coerce")
    drawn = estimates.assign(std_error=numbers["std_error"])[numbers.notna().all(axis=1)]
    medians = drawn.groupby("outcome", sort=False)["std_error"].median()
    return {str(outcome): float(se) for outcome, se in medians.items()}


def group_by_scale(scales: dict[str, float], ratio: float = RATIO) -> list[list[str]]:
    """The outcomes in groups of comparable scale: sorted by scale, a new group starts where an
    outcome's scale exceeds ``ratio`` times the smallest of the current group. Groups are
    ordered by their first outcome, and outcomes keep their order inside a group."""
    position = {outcome: i for i, outcome in enumerate(scales)}
    groups: list[list[str]] = []
    smallest = 0.0
    for outcome in sorted(scales, key=lambda o: (scales[o], position[o])):
        if not groups or scales[outcome] > ratio * smallest:
            groups.append([])
            smallest = scales[outcome]
        groups[-1].append(outcome)
    for group in groups:
        group.sort(key=position.__getitem__)
    return sorted(groups, key=lambda group: position[group[0]])


def scale_label(quantity: str, scales: list[float], panels: int) -> str:
    """The x-axis label of a panel: what is drawn, in the outcomes' own units, and (when there
    are several panels) the panel's scale, the median of its outcomes' ``scales``."""
    if panels == 1:
        return f"{quantity}, in the outcomes' units"
    return f"{quantity}, outcome units (panel scale: standard errors about {median(scales):.2g})"
