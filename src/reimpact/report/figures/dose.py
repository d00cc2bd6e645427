"""The dose-response figure of a dose (``treatment.kind: dose``): one panel per outcome, the mean
potential outcome at every dose by each method with its pointwise 95% interval (for a continuous
dose, a line and a shaded band on the grid of doses), and the true curve when the data are
simulated. Points suppressed by the disclosure gate (a dose with fewer
than ``min_cell_size`` units) are not drawn."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...config.sections import MAX_DOSE_LEVELS
from .style import finish_grid, method_colour, method_label, method_marker, outcome_grid, true_line

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def dose_plot(curves: pd.DataFrame, truth: pd.DataFrame | None, treatment: str) -> Figure:
    """Draw the published curves (columns ``outcome, method, dose, estimate, ci_lower, ci_upper,
    n``; a suppressed point has no estimate) and the true means (``outcome, dose, mean``)."""
    outcomes = list(dict.fromkeys(curves["outcome"]))
    methods = list(dict.fromkeys(curves["method"]))
    fig, axes = outcome_grid(len(outcomes))
    shown = curves.dropna(subset=["estimate"])
    doses = np.unique(curves["dose"].astype(float))
    step = 0.06 * (np.diff(doses).min() if doses.size > 1 else 1.0)
    smooth = doses.size > MAX_DOSE_LEVELS  # a continuous dose: lines and bands, not error bars
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        for k, method in enumerate(methods):
            part = shown[(shown.outcome == outcome) & (shown.method == method)]
            x = part["dose"].astype(float).to_numpy()
            y = part["estimate"].to_numpy(dtype=float)
            low, high = part["ci_lower"].to_numpy(dtype=float), part["ci_upper"].to_numpy(dtype=float)
            colour = method_colour(method)
            if smooth:
                ax.plot(x, y, color=colour, linewidth=1.4, label=method_label(method))
                ax.fill_between(x, low, high, color=colour, alpha=0.15, linewidth=0)
                continue
            x = x + (k - (len(methods) - 1) / 2) * step
            ax.errorbar(
                x, y, yerr=[y - low, high - y], color=colour, marker=method_marker(method),
                markersize=4, linewidth=1.2, capsize=2, label=method_label(method),
            )  # fmt: skip
        if truth is not None:
            true = truth[truth.outcome == outcome]
            true_line(ax, true["dose"].astype(float), true["mean"], "True mean (simulated)")
        ax.set_title(outcome)
        if not smooth:
            ax.set_xticks(doses)
            ax.set_xticklabels([f"{d:g}" for d in doses])
        ax.set_xlabel(treatment)
        ax.set_ylabel("Mean potential outcome")
    finish_grid(fig, axes, len(outcomes))
    counts = pd.to_numeric(shown["n"], errors="coerce").dropna()
    fig.min_units = int(counts.min()) if len(counts) else 0
    return fig
