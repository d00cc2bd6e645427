"""Figures of the design: the love plot of standardised mean differences, the overlap of the
propensity scores, and the eCDFs of the least balanced covariates, each before and after
adjustment. The two distribution figures draw only cells of :mod:`.cells` and record the fewest
units behind them as ``fig.min_units``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...diagnostics.balance import SMD_THRESHOLD, BalanceTable
from .cells import GridCells, grid_cells, masked_histogram
from .style import PALETTE, WIDTH, CountedFigure, legend_below, note_below, plt, sample_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_LOVE_ROWS = 40


def love_plot(balance: BalanceTable, units: str = "units") -> Figure:
    """Standardised mean differences per covariate, before and after adjustment, with the +/-0.1
    threshold lines."""
    table = balance.wide("smd")
    note = ""
    if len(table) > MAX_LOVE_ROWS:
        table = table.reindex(table["unadjusted"].abs().sort_values(ascending=False).index)
        table = table.iloc[:MAX_LOVE_ROWS]
        note = f" (the {MAX_LOVE_ROWS} most imbalanced before adjustment)"
    table = table.iloc[::-1]
    height = 1.2 + 0.2 * len(table)
    fig, ax = plt.subplots(figsize=(WIDTH, min(height, 9.5)), layout="constrained")
    y = np.arange(len(table))
    for sample in table.columns:
        label, colour, marker = sample_style(sample)
        ax.scatter(table[sample], y, marker=marker, s=22, color=colour, label=label, zorder=3)
    for x in (-SMD_THRESHOLD, SMD_THRESHOLD):
        ax.axvline(x, color="#444444", linestyle="--", linewidth=0.8)
    ax.axvline(0, color="#444444", linewidth=0.6)
    ax.set_yticks(y, table.index)
    ax.set_xlabel(f"Standardised mean difference (thresholds at \u00b1{SMD_THRESHOLD})")
    ax.set_title(f"Covariate balance{note}")
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    legend_below(fig, *ax.get_legend_handles_labels())
    if balance.suppressed:
        note_below(
            fig,
            f"{len(balance.suppressed)} small categories suppressed "
            f"(fewer than {balance.min_cell_size} {units} in a group).",
        )
    return fig


def overlap_plot(
    scores: np.ndarray,
    treated: np.ndarray,
    weights: dict[str, np.ndarray],
    min_cell_size: int,
    units: str = "units",
) -> Figure:
    """Mirrored histograms of the propensity score by group (treated up, control down), before
    adjustment and under each set of weights."""
    samples = {"unadjusted": np.ones(scores.size), **weights}
    fig, axes = plt.subplots(
        1,
        len(samples),
        figsize=(WIDTH, 2.6),
        sharey=True,
        squeeze=False,
        layout="constrained",
        FigureClass=CountedFigure,
    )
    assert isinstance(fig, CountedFigure)
    bins = np.linspace(0, 1, 31)
    centres = (bins[:-1] + bins[1:]) / 2
    fewest: list[int] = []
    for ax, (sample, w) in zip(axes[0], samples.items(), strict=True):
        for group, sign in (("treated", 1), ("control", -1)):
            rows = (treated == (1 if group == "treated" else 0)) & (w > 0)
            density, drawn = masked_histogram(scores[rows], w[rows], bins, min_cell_size)
            fewest.append(drawn)
            ax.bar(
                centres,
                sign * density,
                width=np.diff(bins),
                color=PALETTE[group],
                edgecolor="white",
                linewidth=0.3,
                label=group.capitalize(),
            )
        ax.axhline(0, color="#444444", linewidth=0.6)
        ax.set_title(sample_style(sample)[0])
        ax.set_xlabel("Propensity score")
        ax.set_xlim(0, 1)
    axes[0][0].set_ylabel("Density (treated up, control down)")
    legend_below(fig, *axes[0][0].get_legend_handles_labels())
    note_below(fig, f"Bins with fewer than {min_cell_size} {units} are not drawn.")
    fig.min_units = min(fewest)
    return fig


def level_overlap_plot(
    scores: np.ndarray,
    codes: np.ndarray,
    levels: tuple[str, ...],
    min_cell_size: int,
    units: str = "units",
) -> Figure:
    """Mirrored histograms of a multi-valued treatment's generalised propensity score, one panel
    per level a: e_a(x) of the units at level a (up) and of the others (down). Overlap for level a
    fails where the others have scores near 0 that the units at a lack."""
    fig, axes = plt.subplots(
        1, len(levels), figsize=(WIDTH, 2.6), sharey=True, squeeze=False, layout="constrained",
        FigureClass=CountedFigure,
    )  # fmt: skip
    assert isinstance(fig, CountedFigure)
    bins = np.linspace(0, 1, 31)
    centres = (bins[:-1] + bins[1:]) / 2
    fewest: list[int] = []
    for j, (ax, level) in enumerate(zip(axes[0], levels, strict=True)):
        for group, sign, rows in (("treated", 1, codes == j), ("control", -1, codes != j)):
            density, drawn = masked_histogram(
                scores[rows, j], np.ones(int(rows.sum())), bins, min_cell_size
            )
            fewest.append(drawn)
            label = "At the level" if group == "treated" else "At another level"
            ax.bar(centres, sign * density, width=np.diff(bins), color=PALETTE[group],
                   edgecolor="white", linewidth=0.3, label=label)  # fmt: skip
        ax.axhline(0, color="#444444", linewidth=0.6)
        ax.set_title(level)
        ax.set_xlabel(f"P({level} | x)")
        ax.set_xlim(0, 1)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0", "", "0.5", "", "1"])  # "1.0" ran into "0.0"
    axes[0][0].set_ylabel("Density")
    legend_below(fig, *axes[0][0].get_legend_handles_labels())
    note_below(fig, f"Bins with fewer than {min_cell_size} {units} are not drawn.")
    fig.min_units = min(fewest)
    return fig


def _ecdf_on_grid(interval: np.ndarray, w: np.ndarray, size: int) -> np.ndarray:
    """The weighted empirical CDF at the ``size`` points of a sorted grid, from each unit's
    ``interval`` (the number of grid points below its value, ``np.searchsorted(grid, x)``): the
    curve is the running weight over the intervals, so it is drawn from ``size`` sums, not from
    the units."""
    return np.cumsum(np.bincount(interval, weights=w, minlength=size + 1))[:size] / w.sum()


def _least_balanced(balance: BalanceTable, count: int) -> list[str]:
    """The ``count`` continuous covariates (not suppressed) with the largest unadjusted KS distance."""
    frame = balance.to_frame()
    candidates = frame[
        (frame["sample"] == "unadjusted") & (frame["type"] == "continuous") & ~frame.suppressed
    ]
    return candidates.sort_values("ecdf_max", ascending=False)["covariate"].head(count).tolist()


def _ecdf_panel(
    ax: Axes,
    name: str,
    cells: GridCells,
    treated: np.ndarray,
    adjusted: tuple[str, np.ndarray] | None,
) -> None:
    """One covariate's eCDFs by group: unadjusted dashed, under the ``adjusted`` (sample, weights)
    solid, drawn on the points of its grid ``cells`` only."""
    grid, interval = cells.grid, cells.interval
    for group, colour in (("treated", PALETTE["treated"]), ("control", PALETTE["control"])):
        rows_g = treated == (1 if group == "treated" else 0)
        ax.step(
            grid,
            _ecdf_on_grid(interval[rows_g], np.ones(rows_g.sum()), grid.size),
            where="post",
            color=colour,
            linestyle="--",
            linewidth=1,
            label=f"{group.capitalize()}, unadjusted",
        )
        if adjusted is not None:
            sample, weights = adjusted
            w = weights[rows_g]
            keep = w > 0
            ax.step(
                grid,
                _ecdf_on_grid(interval[rows_g][keep], w[keep], grid.size),
                where="post",
                color=colour,
                linewidth=1.4,
                label=f"{group.capitalize()}, {sample_style(sample)[0].lower()}",
            )
    ax.set_title(name)
    ax.set_xlabel(name)
    ax.set_ylabel("Cumulative share")
    ax.set_ylim(0, 1)
    if grid[-1] > grid[0]:  # limits from the grid, never an individual's value
        ax.set_xlim(grid[0], grid[-1])


def ecdf_plot(
    columns: dict[str, np.ndarray],
    treated: np.ndarray,
    weights: dict[str, np.ndarray],
    balance: BalanceTable,
    min_cell_size: int,
    count: int = 4,
) -> Figure | None:
    """Empirical CDFs by group of the continuous covariates with the largest unadjusted
    Kolmogorov-Smirnov distance, before (dashed) and after (solid) adjustment. The curves are
    drawn on pooled quantiles that leave at least ``min_cell_size`` units beyond each end."""
    sample = next(iter(weights), None)
    adjusted = (sample, weights[sample]) if sample is not None else None
    masks = [treated == g for g in (0, 1)]
    if adjusted is not None:  # the cells must hold enough units under the weights too
        masks += [(treated == g) & (adjusted[1] > 0) for g in (0, 1)]
    grids = {
        name: grid_cells(columns[name], masks, min_cell_size) for name in _least_balanced(balance, count)
    }
    worst = [name for name, cells in grids.items() if cells.grid.size]
    if not worst:
        return None
    cols = 2 if len(worst) > 1 else 1
    rows = int(np.ceil(len(worst) / cols))
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(WIDTH, 0.5 + 2.3 * rows),
        squeeze=False,
        layout="constrained",
        FigureClass=CountedFigure,
    )
    assert isinstance(fig, CountedFigure)
    fewest = []
    for ax, name in zip(axes.flat, worst, strict=False):
        fewest.append(grids[name].min_units)
        _ecdf_panel(ax, name, grids[name], treated, adjusted)
    for ax in list(axes.flat)[len(worst) :]:
        ax.axis("off")
    legend_below(fig, *axes.flat[0].get_legend_handles_labels())
    fig.suptitle("Empirical distribution functions of the least balanced covariates")
    fig.min_units = min(fewest)
    return fig
