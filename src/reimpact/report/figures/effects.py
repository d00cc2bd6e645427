"""Forest plots of the estimates: every outcome x method with its 95% interval, and the AIPW
effects by subgroup."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ...registry import METHODS
from .style import PALETTE, SERIES, WIDTH, method_colour, method_label, plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def forest_plot(effects: pd.DataFrame, truth: dict[str, float] | None = None) -> Figure:
    """Every outcome x method with its 95% interval; the naive difference for reference and, for
    simulated data, the true effect."""
    outcomes = list(dict.fromkeys(effects["outcome"]))
    present = list(dict.fromkeys(effects["method"]))
    methods = [m for m in METHODS if m in present] + [m for m in present if m not in METHODS]
    height = 1.0 + 0.22 * len(outcomes) * (len(methods) + 0.6)
    fig, ax = plt.subplots(figsize=(WIDTH, min(height, 9.5)))
    labels, positions = [], []
    y = 0.0
    for outcome in outcomes:
        block = []
        for method in methods:
            row = effects[(effects.outcome == outcome) & (effects.method == method)]
            if row.empty or pd.isna(row.estimate.iloc[0]):
                continue
            r = row.iloc[0]
            ax.errorbar(
                r.estimate,
                y,
                xerr=[[r.estimate - r.ci_lower], [r.ci_upper - r.estimate]],
                fmt="o",
                color=method_colour(method),
                capsize=2,
                markersize=4,
                label=method_label(method) if outcome == outcomes[0] else None,
            )
            labels.append(f"{outcome}: {method_label(method)}")
            positions.append(y)
            block.append(y)
            y -= 1
        if truth and outcome in truth and block:
            ax.vlines(
                truth[outcome],
                min(block) - 0.4,
                max(block) + 0.4,
                color=PALETTE["truth"],
                linewidth=1.2,
                label="True effect (simulated)" if outcome == outcomes[0] else "",  # "": no legend entry
            )
        y -= 0.6
    ax.axvline(0, color="#444444", linewidth=0.6, linestyle=":")
    ax.set_yticks(positions, labels)
    ax.set_xlabel("Estimated effect with 95% confidence interval")
    ax.set_title("Effects by outcome and method")
    ax.grid(axis="x", color="#eeeeee", linewidth=0.5)
    if ax.get_legend_handles_labels()[0]:  # nothing to name when every estimate was withheld
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06 - 0.4 / height), ncol=5, frameon=False)
    fig.tight_layout()
    return fig


def subgroup_plot(table: pd.DataFrame) -> Figure | None:
    """AIPW effects by subgroup with 95% intervals (suppressed subgroups left out)."""
    shown = table[table.status == "estimated"]
    if shown.empty:
        return None
    outcomes = list(dict.fromkeys(shown["outcome"]))
    height = 1.0 + 0.2 * (len(shown) + 0.8 * len(outcomes))
    fig, ax = plt.subplots(figsize=(WIDTH, min(height, 9.5)))
    y, ticks, labels = 0.0, [], []
    for i, outcome in enumerate(outcomes):
        for k, row in enumerate(shown[shown.outcome == outcome].itertuples()):
            ax.errorbar(
                row.estimate,
                y,
                xerr=[[row.estimate - row.ci_lower], [row.ci_upper - row.estimate]],
                fmt="o",
                color=SERIES[i % len(SERIES)],
                capsize=2,
                markersize=3.5,
                label=outcome if k == 0 else None,
            )
            ticks.append(y)
            labels.append(f"{row.by} = {row.level}")
            y -= 1
        y -= 0.8
    ax.axvline(0, color="#444444", linewidth=0.6, linestyle=":")
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("AIPW effect with 95% confidence interval")
    ax.set_title("Effects by subgroup")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06 - 0.4 / height), ncol=4, frameon=False)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.5)
    fig.tight_layout()
    return fig
