"""Figures of the sensitivity checks: Rosenbaum's bound on the p-value against Gamma, and the
contours of the omitted-variable adjusted estimate (Cinelli & Hazlett)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D

from .style import METHOD_MARKERS, SERIES, SMALL, WIDTH, legend_below, plt

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

    from ...sensitivity import OmittedVariableBounds, RosenbaumBounds


def gamma_plot(bounds: list[RosenbaumBounds]) -> Figure | None:
    """Upper bound on the signed-rank p-value against Gamma, one line per outcome, with alpha."""
    shown = [b for b in bounds if b.available]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(WIDTH, 3.3), layout="constrained")
    for i, b in enumerate(shown):
        label = b.outcome + (f" (Gamma* = {b.gamma_critical:.2f})" if b.gamma_critical else "")
        ax.plot(b.gammas, b.p_upper, color=SERIES[i % len(SERIES)], linewidth=1.4, label=label)
    ax.axhline(shown[0].alpha, color="#444444", linestyle="--", linewidth=0.8)
    ax.text(
        shown[0].gammas[-1],
        shown[0].alpha,
        f" alpha = {shown[0].alpha:g}",
        va="bottom",
        ha="right",
        fontsize=SMALL,
    )
    ax.set_xlabel("Gamma (odds of treatment within a matched pair may differ by this factor)")
    ax.set_ylabel("Upper bound on the p-value")
    ax.set_ylim(0, 1)
    ax.set_title("Rosenbaum bounds (Wilcoxon signed-rank test, 1:1 matched pairs)")
    legend_below(fig, *ax.get_legend_handles_labels())
    return fig


def _benchmark_label(name: str, rows: pd.DataFrame) -> str:
    """A benchmark's legend entry: its name and the adjusted estimate at each multiple k."""
    ks = ", ".join(f"{k:g}" for k in rows.kd)
    estimates = ", ".join(f"{e:.3g}" for e in rows.adjusted_estimate)
    return f"{name}, k = {ks}: {estimates}"


def contour_plot(ovb: OmittedVariableBounds) -> Figure:
    """Adjusted estimate over the partial R^2 of a hidden confounder with the treatment (x) and the
    outcome (y); the zero line dashed; each benchmark's bounds as points of one shape, its adjusted
    estimates in the legend below (Cinelli & Hazlett)."""
    bounds = ovb.bounds
    top = max(0.3, 1.3 * float(bounds[["r2_dz", "r2_yz"]].to_numpy().max()) if len(bounds) else 0.3)
    top = min(top, 0.99)
    r2d, r2y = np.meshgrid(np.linspace(0, top, 120), np.linspace(0, top, 120))
    adjusted = ovb.adjusted_estimate(r2d, r2y)
    fig, ax = plt.subplots(figsize=(WIDTH * 0.8, WIDTH * 0.75), layout="constrained")
    lines = ax.contour(
        r2d, r2y, adjusted, levels=10, colors="#777777", linewidths=0.6, negative_linestyles="solid"
    )
    ax.clabel(lines, fontsize=SMALL, fmt="%.3g")
    handles: list[Artist] = []
    labels: list[str] = []
    if adjusted.min() < 0 < adjusted.max():
        ax.contour(r2d, r2y, adjusted, levels=[0], colors="#000000", linestyles="--", linewidths=1.4)
        handles.append(Line2D([], [], color="#000000", linestyle="--", linewidth=1.4))
        labels.append("Adjusted estimate 0")
    for i, (name, rows) in enumerate(bounds.groupby("benchmark", sort=False)):
        marker = METHOD_MARKERS[(i + 1) % len(METHOD_MARKERS)]
        handles.append(
            ax.scatter(
                rows.r2_dz, rows.r2_yz, marker=marker, color=SERIES[i % len(SERIES)], s=22, zorder=3
            )
        )
        labels.append(_benchmark_label(str(name), rows))
    ax.set_xlabel("Partial R\u00b2 of the confounder with the treatment")
    ax.set_ylabel("Partial R\u00b2 of the confounder with the outcome")
    ax.set_title(f"Sensitivity contours of the adjusted estimate: {ovb.outcome}")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    title = f"Unadjusted estimate {ovb.estimate:.3g}; benchmarks: k x a covariate's strength"
    legend_below(fig, handles, labels, title=title)
    return fig
