"""Diagnostic figures: love plot, propensity overlap, eCDFs of the worst-balanced covariates, and
an effects forest plot. Sized for an A4 page (16 cm wide), Okabe-Ito colour-blind-safe palette,
labelled axes and legends. No figure draws an individual: every histogram bin and every step of a
distribution curve holds at least ``min_cell_size`` returnees of each group (or is not drawn), and
axis limits come from those bins and steps, never from a minimum or maximum. The distribution
figures record the fewest units behind any element they draw as ``fig.min_units``, which
``results.json`` lists under ``figures`` for the disclosure audit.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # notebooks keep their inline backend
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..balance import SMD_THRESHOLD, BalanceTable  # noqa: E402

WIDTH = 6.3  # inches: an A4 text width
PALETTE = {
    "unadjusted": "#D55E00",  # vermillion
    "matched": "#0072B2",  # blue
    "weighted": "#009E73",  # bluish green
    "treated": "#E69F00",  # orange
    "control": "#56B4E9",  # sky blue
    "naive": "#999999",
    "psm": "#0072B2",
    "ipw": "#009E73",
    "aipw": "#CC79A7",  # reddish purple
    "truth": "#000000",
}
SERIES = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]  # Okabe-Ito, in order
MARKERS = {"unadjusted": "o", "matched": "s", "weighted": "^"}
SAMPLE_LABELS = {"unadjusted": "Unadjusted", "matched": "Matched", "weighted": "Weighted (IPW)"}
METHOD_LABELS = {"naive": "Naive difference", "psm": "Matching", "ipw": "IPW", "aipw": "AIPW"}
MAX_LOVE_ROWS = 40

plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7})


def save(fig: Figure, folder: Path, name: str) -> bytes:
    """Write ``name.png`` and ``name.svg`` to ``folder``; return the PNG bytes (for embedding)."""
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    (folder / f"{name}.png").write_bytes(buffer.getvalue())
    fig.savefig(folder / f"{name}.svg", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def love_plot(balance: BalanceTable) -> Figure:
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
    fig, ax = plt.subplots(figsize=(WIDTH, min(height, 9.5)))
    y = np.arange(len(table))
    for sample in table.columns:
        ax.scatter(
            table[sample],
            y,
            marker=MARKERS[sample],
            s=22,
            color=PALETTE[sample],
            label=SAMPLE_LABELS[sample],
            zorder=3,
        )
    for x in (-SMD_THRESHOLD, SMD_THRESHOLD):
        ax.axvline(x, color="#444444", linestyle="--", linewidth=0.8)
    ax.axvline(0, color="#444444", linewidth=0.6)
    ax.set_yticks(y, table.index)
    ax.set_xlabel(f"Standardised mean difference (thresholds at \u00b1{SMD_THRESHOLD})")
    ax.set_title(f"Covariate balance{note}")
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    ax.legend(loc="lower right", frameon=True)
    if balance.suppressed:
        fig.text(
            0.01,
            0.0,
            f"{len(balance.suppressed)} small categories suppressed "
            f"(fewer than {balance.min_cell_size} returnees in a group).",
            fontsize=6,
        )
    fig.tight_layout()
    return fig


def _masked_histogram(
    values: np.ndarray, weights: np.ndarray, bins: np.ndarray, min_cell_size: int
) -> np.ndarray:
    """Weighted density per bin, bins holding 1 to min_cell_size - 1 units set to zero, and the
    fewest units in a drawn bin."""
    heights, _ = np.histogram(values, bins=bins, weights=weights)
    units, _ = np.histogram(values, bins=bins)
    heights[(units > 0) & (units < min_cell_size)] = 0.0
    total = heights.sum()
    drawn = units[heights > 0]
    density = heights / (total * np.diff(bins)) if total > 0 else heights
    return density, int(drawn.min()) if drawn.size else min_cell_size


def overlap_plot(
    scores: np.ndarray, treated: np.ndarray, weights: dict[str, np.ndarray], min_cell_size: int
) -> Figure:
    """Mirrored histograms of the propensity score by group (treated up, control down), before
    adjustment and under each set of weights."""
    samples = {"unadjusted": np.ones(scores.size), **weights}
    fig, axes = plt.subplots(1, len(samples), figsize=(WIDTH, 2.6), sharey=True, squeeze=False)
    bins = np.linspace(0, 1, 31)
    centres = (bins[:-1] + bins[1:]) / 2
    fewest: list[int] = []
    for ax, (sample, w) in zip(axes[0], samples.items(), strict=True):
        for group, sign in (("treated", 1), ("control", -1)):
            rows = (treated == (1 if group == "treated" else 0)) & (w > 0)
            density, units = _masked_histogram(scores[rows], w[rows], bins, min_cell_size)
            fewest.append(units)
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
        ax.set_title(SAMPLE_LABELS[sample])
        ax.set_xlabel("Propensity score")
        ax.set_xlim(0, 1)
    axes[0][0].set_ylabel("Density (treated up, control down)")
    axes[0][0].legend(loc="upper left")
    fig.text(0.01, -0.02, f"Bins with fewer than {min_cell_size} returnees are not drawn.", fontsize=6)
    fig.tight_layout()
    fig.min_units = min(fewest)
    return fig


def safe_grid(
    x: np.ndarray, masks: list[np.ndarray], min_cell_size: int, points: int = 60
) -> tuple[np.ndarray, int]:
    """Grid points for a step curve that draws no individual: below the first point, between
    two points and above the last, every group (``masks``) holds at least ``min_cell_size``
    units, so each step shows a cell of at least that size. Points are taken near ``points``
    pooled quantiles, skipping those that would make a cell too small. Returns the grid (empty
    when none is possible) and the fewest units in any cell."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    cumulative = [np.cumsum(mask[order]) for mask in masks]
    totals = [c[-1] if c.size else 0 for c in cumulative]
    grid, last, fewest = [], [0] * len(masks), None
    for value in np.unique(np.quantile(xs, np.linspace(0, 1, points + 2)[1:-1])):
        position = int(np.searchsorted(xs, value, side="right")) - 1
        below = [int(c[position]) for c in cumulative]
        cells = [b - a for a, b in zip(last, below, strict=True)]
        rest = [t - b for t, b in zip(totals, below, strict=True)]
        if min(cells) >= min_cell_size and min(rest) >= min_cell_size:
            grid.append(value)
            fewest = min(cells + ([fewest] if fewest is not None else []))
            last = below
    if grid:
        fewest = min(fewest, *(t - a for t, a in zip(totals, last, strict=True)))
    return np.asarray(grid), int(fewest or 0)


def _ecdf_on_grid(x: np.ndarray, w: np.ndarray, grid: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(w[order]) / w.sum()
    position = np.searchsorted(xs, grid, side="right")
    return np.where(position > 0, cum[np.maximum(position - 1, 0)], 0.0)


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
    drawn on pooled quantiles that leave at least ``min_cell_size`` returnees beyond each end."""
    frame = balance.to_frame()
    candidates = frame[
        (frame["sample"] == "unadjusted") & (frame["type"] == "continuous") & ~frame.suppressed
    ]
    worst = candidates.sort_values("ecdf_max", ascending=False)["covariate"].head(count).tolist()
    adjusted = next(iter(weights), None)
    masks_of = {
        name: [treated == g for g in (0, 1)]
        + ([(treated == g) & (weights[adjusted] > 0) for g in (0, 1)] if adjusted else [])
        for name in worst
    }
    worst = [name for name in worst if safe_grid(columns[name], masks_of[name], min_cell_size)[0].size]
    if not worst:
        return None
    cols = 2 if len(worst) > 1 else 1
    rows = int(np.ceil(len(worst) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, 2.3 * rows), squeeze=False)
    fewest = []
    for ax, name in zip(axes.flat, worst, strict=False):
        x = columns[name]
        grid, units = safe_grid(x, masks_of[name], min_cell_size)
        fewest.append(units)
        for group, colour in (("treated", PALETTE["treated"]), ("control", PALETTE["control"])):
            rows_g = treated == (1 if group == "treated" else 0)
            ax.step(
                grid,
                _ecdf_on_grid(x[rows_g], np.ones(rows_g.sum()), grid),
                where="post",
                color=colour,
                linestyle="--",
                linewidth=1,
                label=f"{group.capitalize()}, unadjusted",
            )
            if adjusted is not None:
                w = weights[adjusted][rows_g]
                keep = w > 0
                ax.step(
                    grid,
                    _ecdf_on_grid(x[rows_g][keep], w[keep], grid),
                    where="post",
                    color=colour,
                    linewidth=1.4,
                    label=f"{group.capitalize()}, {SAMPLE_LABELS[adjusted].lower()}",
                )
        ax.set_title(name)
        ax.set_xlabel(name)
        ax.set_ylabel("Cumulative share")
        ax.set_ylim(0, 1)
        ax.set_xlim(grid[0], grid[-1])  # limits from the grid, never an individual's value
    for ax in list(axes.flat)[len(worst) :]:
        ax.axis("off")
    axes.flat[0].legend(loc="lower right")
    fig.suptitle("Empirical distribution functions of the least balanced covariates")
    fig.tight_layout()
    fig.min_units = min(fewest)
    return fig


def forest_plot(effects: pd.DataFrame, truth: dict[str, float] | None = None) -> Figure:
    """Every outcome x method with its 95% interval; the naive difference for reference and, for
    simulated data, the true effect."""
    outcomes = list(dict.fromkeys(effects["outcome"]))
    methods = [m for m in METHOD_LABELS if m in set(effects["method"])]
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
                color=PALETTE[method],
                capsize=2,
                markersize=4,
                label=METHOD_LABELS[method] if outcome == outcomes[0] else None,
            )
            labels.append(f"{outcome}: {METHOD_LABELS[method]}")
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
                label="True effect (simulated)" if outcome == outcomes[0] else None,
            )
        y -= 0.6
    ax.axvline(0, color="#444444", linewidth=0.6, linestyle=":")
    ax.set_yticks(positions, labels)
    ax.set_xlabel("Estimated effect with 95% confidence interval")
    ax.set_title("Effects by outcome and method")
    ax.grid(axis="x", color="#eeeeee", linewidth=0.5)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06 - 0.4 / height), ncol=5, frameon=False)
    fig.tight_layout()
    return fig


def gamma_plot(bounds: list) -> Figure | None:
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


def contour_plot(ovb) -> Figure:
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
