"""The effect path of long data (``panel``): one panel per outcome, every method's effect in each
survey round with its 95% interval, and the true effect of each round when the data are simulated.
Effects the disclosure gate suppressed are not drawn."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .style import finish_grid, method_colour, method_label, method_marker, outcome_grid, true_line

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LABELS = {"drdid": "DR-DiD"}  # methods outside the registry


def round_number(contrast: object) -> float:
    """The round of an effect's contrast ``"round 2"`` as a number (NaN for any other contrast)."""
    text = str(contrast)
    return float(text.removeprefix("round ")) if text.startswith("round ") else float("nan")


def path_plot(effects: pd.DataFrame, truth: pd.DataFrame | None, round_name: str) -> Figure:
    """Draw the published effects by round (columns ``outcome, method, contrast, estimate,
    ci_lower, ci_upper``; a suppressed effect has no estimate) and the true effects (``outcome,
    contrast, effect``); methods side by side within a round."""
    shown = effects.assign(round=effects["contrast"].map(round_number)).dropna(subset=["round"])
    outcomes = list(dict.fromkeys(shown["outcome"]))
    methods = [m for m in dict.fromkeys(shown["method"]) if m != "naive"]
    fig, axes = outcome_grid(len(outcomes))
    rounds = np.unique(shown["round"])
    shown = shown[pd.to_numeric(shown["estimate"], errors="coerce").notna()]
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        ax.axhline(0.0, color="grey", linewidth=0.6)
        for k, method in enumerate(methods):
            part = shown[(shown.outcome == outcome) & (shown.method == method)].sort_values("round")
            x = part["round"].to_numpy(dtype=float) + (k - (len(methods) - 1) / 2) * 0.08
            y = part["estimate"].to_numpy(dtype=float)
            errors = [
                y - part["ci_lower"].to_numpy(dtype=float),
                part["ci_upper"].to_numpy(dtype=float) - y,
            ]
            ax.errorbar(
                x, y, yerr=errors, color=method_colour(method), marker=method_marker(method),
                markersize=4, linewidth=1.2, capsize=2, label=LABELS.get(method, method_label(method)),
            )  # fmt: skip
        if truth is not None and "contrast" in truth:
            true = truth[truth.outcome == outcome].assign(
                round=lambda t: t["contrast"].map(round_number)
            )
            true = true.dropna(subset=["round"]).sort_values("round")
            true_line(ax, true["round"], true["effect"], "True effect (simulated)")
        ax.set_title(outcome)
        ax.set_xticks(rounds)
        ax.set_xticklabels([f"{r:g}" for r in rounds])
        ax.set_xlabel(round_name)
        ax.set_ylabel("Effect (ATT)")
    finish_grid(fig, axes, len(outcomes))
    return fig
