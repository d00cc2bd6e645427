"""Figures of the sensitivity checks: Rosenbaum's bound on the p-value against Gamma, and the
contours of the omitted-variable adjusted estimate (Cinelli & Hazlett) and of the bound of the
AIPW estimate (Chernozhukov et al. 2022)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D

from .style import METHOD_MARKERS, SERIES, SMALL, WIDTH, legend_below, plt

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ...sensitivity import OmittedVariableBounds, RosenbaumBounds
    from ...sensitivity.results import DMLBounds


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


def _contours(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, zero_label: str
) -> tuple[Figure, Axes, list[Artist], list[str]]:
    """A square figure with grey labelled contours of ``z`` over the grid (x, y) and, when ``z``
    changes sign, its zero line dashed; the zero line's legend entry (``zero_label``) is returned
    for the caller to extend."""
    fig, ax = plt.subplots(figsize=(WIDTH * 0.8, WIDTH * 0.75), layout="constrained")
    lines = ax.contour(x, y, z, levels=10, colors="#777777", linewidths=0.6, negative_linestyles="solid")
    ax.clabel(lines, fontsize=SMALL, fmt="%.3g")
    handles: list[Artist] = []
    labels: list[str] = []
    if z.min() < 0 < z.max():
        ax.contour(x, y, z, levels=[0], colors="#000000", linestyles="--", linewidths=1.4)
        handles.append(Line2D([], [], color="#000000", linestyle="--", linewidth=1.4))
        labels.append(zero_label)
    return fig, ax, handles, labels


def contour_plot(ovb: OmittedVariableBounds) -> Figure:
    """Adjusted estimate over the partial R^2 of a hidden confounder with the treatment (x) and the
    outcome (y); the zero line dashed; each benchmark's bounds as points of one shape, its adjusted
    estimates in the legend below (Cinelli & Hazlett)."""
    bounds = ovb.bounds
    top = max(0.3, 1.3 * float(bounds[["r2_dz", "r2_yz"]].to_numpy().max()) if len(bounds) else 0.3)
    top = min(top, 0.99)
    r2d, r2y = np.meshgrid(np.linspace(0, top, 120), np.linspace(0, top, 120))
    adjusted = ovb.adjusted_estimate(r2d, r2y)
    fig, ax, handles, labels = _contours(r2d, r2y, adjusted, "Adjusted estimate 0")
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


def dml_contour_plot(dml: DMLBounds) -> Figure:
    """The bound of the AIPW estimate closer to zero over the strengths of a hidden confounder,
    cf_d (x: gain in the Riesz representer's variation) and cf_y (y: share of the outcome's
    residual variation), at the study's rho; the zero line dashed, the study's scenario and each
    benchmark covariate's implied strengths as points (as DoubleML's ``sensitivity_plot``)."""
    rows = dml.benchmarks
    strengths = [dml.cf_y, dml.cf_d, *rows.cf_y, *rows.cf_d]
    top = min(0.99, max(0.15, 1.3 * max(strengths)))
    cf_d, cf_y = np.meshgrid(np.linspace(0, top, 120), np.linspace(0, top, 120))
    bound = dml.bound(cf_y, cf_d)
    fig, ax, handles, labels = _contours(cf_d, cf_y, bound, "Bound 0")
    handles.append(ax.scatter([dml.cf_d], [dml.cf_y], marker="o", color=SERIES[0], s=22, zorder=3))
    side = "lower" if dml.estimate >= 0 else "upper"
    value = dml.theta_lower if side == "lower" else dml.theta_upper
    labels.append(f"Scenario cf_y = {dml.cf_y:g}, cf_d = {dml.cf_d:g}: {side} bound {value:.3g}")
    for i, row in enumerate(rows.to_dict("records")):
        marker = METHOD_MARKERS[(i + 1) % len(METHOD_MARKERS)]
        color = SERIES[(i + 1) % len(SERIES)]
        point = ([float(row["cf_d"])], [float(row["cf_y"])])
        handles.append(ax.scatter(*point, marker=marker, color=color, s=22, zorder=3))
        labels.append(
            f"{row['benchmark']} (rho = {row['rho']:.2f}): cf_y = {row['cf_y']:.3f}, "
            f"cf_d = {row['cf_d']:.3f}"
        )
    ax.set_xlabel("cf_d: confounder's gain in the Riesz representer's variation")
    ax.set_ylabel("cf_y: share of the outcome's residual variation")
    ax.set_title(f"Bounds on the AIPW estimate: {dml.outcome}")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    title = f"AIPW estimate {dml.estimate:.3g}; rho = {dml.rho:g}; points: strengths of benchmarks"
    legend_below(fig, handles, labels, title=title)
    return fig
