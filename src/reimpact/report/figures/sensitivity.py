"""Figures of the sensitivity checks: Rosenbaum's bound on the p-value against Gamma, and the
contours of the omitted-variable adjusted estimate (Cinelli & Hazlett)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .style import PALETTE, SERIES, WIDTH, plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...sensitivity import OmittedVariableBounds, RosenbaumBounds


def gamma_plot(bounds: list[RosenbaumBounds]) -> Figure | None:
    """Upper bound on the signed-rank p-value against Gamma, one line per outcome, with alpha."""
    shown = [b for b in bounds if b.available]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(WIDTH, 3.0))
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
        fontsize=7,
    )
    ax.set_xlabel("Gamma (odds of treatment within a matched pair may differ by this factor)")
    ax.set_ylabel("Upper bound on the p-value")
    ax.set_ylim(0, 1)
    ax.set_title("Rosenbaum bounds (Wilcoxon signed-rank test, 1:1 matched pairs)")
    ax.legend(loc="center right")
    fig.tight_layout()
    return fig


def contour_plot(ovb: OmittedVariableBounds) -> Figure:
    """Adjusted estimate over the partial R^2 of a hidden confounder with the treatment (x) and the
    outcome (y); the zero line dashed; benchmark bounds as labelled points (Cinelli & Hazlett)."""
    bounds = ovb.bounds
    top = max(0.3, 1.3 * float(bounds[["r2_dz", "r2_yz"]].to_numpy().max()) if len(bounds) else 0.3)
    top = min(top, 0.99)
    r2d, r2y = np.meshgrid(np.linspace(0, top, 120), np.linspace(0, top, 120))
    adjusted = ovb.adjusted_estimate(r2d, r2y)
    fig, ax = plt.subplots(figsize=(WIDTH * 0.75, WIDTH * 0.62))
    lines = ax.contour(r2d, r2y, adjusted, levels=10, colors="#555555", linewidths=0.6)
    ax.clabel(lines, fontsize=6, fmt="%.3g")
    if adjusted.min() < 0 < adjusted.max():
        ax.contour(
            r2d, r2y, adjusted, levels=[0], colors=PALETTE["unadjusted"], linestyles="--", linewidths=1.4
        )
    for i, (name, rows) in enumerate(bounds.groupby("benchmark", sort=False)):
        colour = SERIES[i % len(SERIES)]
        ax.scatter(rows.r2_dz, rows.r2_yz, marker="D", color=colour, zorder=3, s=16, label=f"k x {name}")
        for row in rows.itertuples():
            ax.annotate(
                f"{row.kd:g}x: {row.adjusted_estimate:.3g}",
                (row.r2_dz, row.r2_yz),
                textcoords="offset points",
                xytext=(5, 2 + 7 * (i % 2)),
                fontsize=6,
                color=colour,
            )
    ax.text(
        0.98,
        0.98,
        f"Unadjusted estimate {ovb.estimate:.3g}; dashed: adjusted estimate 0",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=7,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8},
    )
    if len(bounds):
        ax.legend(loc="center right", title="Benchmarks (adjusted estimate)", title_fontsize=7)
    ax.set_xlabel("Partial R\u00b2 of the confounder with the treatment")
    ax.set_ylabel("Partial R\u00b2 of the confounder with the outcome")
    ax.set_title(f"Sensitivity contours of the adjusted estimate: {ovb.outcome}")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    fig.tight_layout()
    return fig
