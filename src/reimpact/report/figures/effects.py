"""Forest plots of the estimates: every outcome x method with its 95% interval, and the AIPW
effects by subgroup.

Outcomes on different scales get separate panels (:mod:`.scales`), each with its own axis that
names its scale, so a 1-5 rating never flattens the intervals of 0-1 scores. Inside a panel each
outcome is a block under its name in bold; methods differ by marker shape as well as colour, in
registry order, and the legend sits below the panels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ...registry import METHODS
from .scales import group_by_scale, outcome_scales, scale_label
from .style import PALETTE, WIDTH, legend_below, method_colour, method_label, method_marker, plt

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ROW = 0.19  # inches per row of a panel
PANEL = 0.62  # inches per panel for its axis, tick labels and axis label
GAP = 0.5  # rows of space between two outcomes' blocks
MAX_HEIGHT = 9.5  # inches: an A4 page's text height
TRUTH = "True effect (simulated)"


@dataclass(frozen=True)
class Row:
    """One interval to draw: its estimate and bounds, its tick label and how it looks."""

    estimate: float
    lower: float
    upper: float
    label: str
    colour: str
    marker: str
    legend: str | None = None


def _draw_blocks(
    ax: Axes, blocks: list[tuple[str, list[Row]]], row_labels: bool = True
) -> dict[str, tuple[float, float]]:
    """Draw each (header, rows) block top-down, the header as a bold tick label above its rows
    (the rows' own labels too unless ``row_labels`` is False); return the vertical extent of each
    block's rows."""
    y, ticks, labels, headers, extents = 0.0, [], [], [], {}
    for header, rows in blocks:
        ticks.append(y)
        labels.append(header)
        headers.append(len(labels) - 1)
        y -= 1
        for row in rows:
            ax.errorbar(
                row.estimate,
                y,
                xerr=[[row.estimate - row.lower], [row.upper - row.estimate]],
                fmt=row.marker,
                color=row.colour,
                capsize=2,
                markersize=4.5,
                label=row.legend,
            )
            ticks.append(y)
            labels.append(row.label if row_labels else "")
            y -= 1
        extents[header] = (y + 1 - 0.4, y + len(rows) + 0.4)
        y -= GAP
    ax.set_yticks(ticks, labels)
    for i in headers:
        ax.get_yticklabels()[i].set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    if blocks:
        ax.set_ylim(y + GAP + 0.4, 0.6)
    ax.axvline(0, color="#444444", linewidth=0.6, linestyle=":")
    ax.grid(axis="x", color="#eeeeee", linewidth=0.5)
    return extents


def _span(blocks: list[tuple[str, list[Row]]]) -> float:
    """The height of a panel's blocks in rows: a header and its rows per block, the gaps between
    blocks and the margins of :func:`_draw_blocks`."""
    if not blocks:
        return 1.0
    return sum(1 + len(rows) for _, rows in blocks) + GAP * (len(blocks) - 1) + 0.2


def _height(spans: list[float]) -> float:
    """The height in inches that panels of these spans need for legible rows."""
    return 0.9 + PANEL * len(spans) + ROW * sum(spans)


def _panels(spans: list[float], title: str) -> tuple[Figure, list[Axes]]:
    """A figure of panels stacked vertically, each as tall as its rows, within an A4 page."""
    height = _height(spans)
    fig, axes = plt.subplots(
        len(spans),
        1,
        figsize=(WIDTH, min(height, MAX_HEIGHT)),
        height_ratios=spans,
        layout="constrained",
        squeeze=False,
    )
    fig.suptitle(title)
    return fig, list(axes[:, 0])


def _row(record: Any, label: str, method: str, legend: str | None = None) -> Row:
    """The ``Row`` of one estimate (a record with estimate, ci_lower and ci_upper), in the style
    of ``method``."""
    bounds = (float(record.estimate), float(record.ci_lower), float(record.ci_upper))
    return Row(*bounds, label, method_colour(method), method_marker(method), legend)


def _method_rows(effects: pd.DataFrame, outcome: str, methods: list[str]) -> list[Row]:
    """The drawn estimates of one outcome, one row per method in ``methods`` order."""
    rows = []
    for method in methods:
        found = effects[(effects.outcome == outcome) & (effects.method == method)]
        if not found.empty and pd.notna(found.estimate.iloc[0]):
            label = method_label(method)
            rows.append(_row(found.iloc[0], label, method, legend=label))
    return rows


def forest_plot(effects: pd.DataFrame, truth: dict[str, float] | None = None) -> Figure:
    """Every outcome x method with its 95% interval, one panel per scale of outcome; the naive
    difference for reference and, for simulated data, the true effect. When the rows would not fit
    an A4 page at a legible height (many contrasts of a multi-valued treatment), only the outcome
    headers are written and the legend tells the methods apart by marker and colour."""
    present = list(dict.fromkeys(effects["method"]))
    methods = [m for m in METHODS if m in present] + [m for m in present if m not in METHODS]
    scales = outcome_scales(effects)
    groups = group_by_scale(scales) or [[]]
    blocks = [[(o, _method_rows(effects, o, methods)) for o in group] for group in groups]
    spans = [_span(b) for b in blocks]
    fig, axes = _panels(spans, "Effects by outcome and method")
    row_labels = _height(spans) <= MAX_HEIGHT
    handles: dict[str, object] = {}
    for ax, group_blocks in zip(axes, blocks, strict=True):
        extents = _draw_blocks(ax, group_blocks, row_labels)
        for outcome, (low, high) in extents.items():
            if truth and outcome in truth:
                ax.vlines(truth[outcome], low, high, color=PALETTE["truth"], label=TRUTH)
        group = [scales[o] for o, _ in group_blocks]
        ax.set_xlabel(scale_label("Effect (95% CI)", group, len(axes)))
        handles.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    if not scales:  # every estimate was withheld: nothing to draw, nothing to name
        axes[0].text(0.5, 0.5, "Every estimate was withheld.", ha="center", transform=axes[0].transAxes)
        axes[0].set_xticks([])
    order = [method_label(m) for m in methods] + [TRUTH]
    named = [label for label in order if label in handles]
    if named:
        legend_below(fig, [handles[label] for label in named], named)
    return fig


def subgroup_plot(table: pd.DataFrame) -> Figure | None:
    """AIPW effects by subgroup with 95% intervals (suppressed subgroups left out), one panel
    per scale of outcome."""
    shown = table[table.status == "estimated"]
    if shown.empty:
        return None
    scales = outcome_scales(shown)
    blocks = [
        [
            (o, [_row(r, f"{r.by} = {r.level}", "aipw") for r in shown[shown.outcome == o].itertuples()])
            for o in group
        ]
        for group in group_by_scale(scales)
    ]
    fig, axes = _panels([_span(b) for b in blocks], "Effects by subgroup")
    for ax, group_blocks in zip(axes, blocks, strict=True):
        _draw_blocks(ax, group_blocks)
        group = [scales[o] for o, _ in group_blocks]
        ax.set_xlabel(scale_label("AIPW effect (95% CI)", group, len(axes)))
    return fig


def task_forest_plot(effects: pd.DataFrame) -> Figure:
    """The estimates of many tasks (``reimpact run-many``) with their 95% intervals: one block per
    outcome (and contrast), one row per task and method labelled with the task's ``label``,
    methods told apart by marker and colour as in :func:`forest_plot`, one panel per scale of
    outcome. ``effects`` has the columns of ``summary.csv`` plus ``label``; withheld estimates
    and failed tasks are left out. When every method's row would not fit an A4 page legibly, each
    task keeps the row of its headline method only (AIPW, else matching, else weighting: the
    report's rule), and the title says so; when even those do not fit, the rows lose their
    labels."""
    from ...results.headline import headline_method

    drawn = effects[pd.to_numeric(effects["estimate"], errors="coerce").notna()].copy()
    for column in ("estimate", "std_error", "ci_lower", "ci_upper"):
        drawn[column] = pd.to_numeric(drawn[column])
    if "contrast" in drawn:
        drawn["outcome"] = [
            o if pd.isna(c) else f"{o} ({c})" for o, c in zip(drawn.outcome, drawn.contrast, strict=True)
        ]
    present = list(dict.fromkeys(drawn["method"]))
    methods = [m for m in METHODS if m in present] + [m for m in present if m not in METHODS]
    order = {m: j for j, m in enumerate(methods)}
    tasks = {t: j for j, t in enumerate(dict.fromkeys(drawn["task"]))}
    drawn = drawn.sort_values(
        ["task", "method"], key=lambda s: s.map(tasks if s.name == "task" else order), kind="stable"
    )
    title = "Effects across tasks"
    blocks, spans, scales = _task_blocks(drawn)
    if _height(spans) > MAX_HEIGHT:
        lead = {t: headline_method(list(g.method)) for t, g in drawn.groupby("task", sort=False)}
        drawn = drawn[[lead[t] in (m, None) for t, m in zip(drawn.task, drawn.method, strict=True)]]
        blocks, spans, scales = _task_blocks(drawn)
        title += " (each task's headline method; every method in summary.csv)"
    fig, axes = _panels(spans, title)
    row_labels = _height(spans) <= MAX_HEIGHT
    handles: dict[str, object] = {}
    for ax, group_blocks in zip(axes, blocks, strict=True):
        _draw_blocks(ax, group_blocks, row_labels)
        group = [scales[o] for o, _ in group_blocks]
        ax.set_xlabel(scale_label("Effect (95% CI)", group, len(axes)))
        handles.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    named = [method_label(m) for m in methods if method_label(m) in handles]
    legend_below(fig, [handles[label] for label in named], named)
    return fig


def _task_blocks(
    drawn: pd.DataFrame,
) -> tuple[list[list[tuple[str, list[Row]]]], list[float], dict[str, float]]:
    """The panels of :func:`task_forest_plot`: per scale of outcome, a block per outcome with a
    row per task and method; with each panel's span and the outcomes' scales."""
    scales = outcome_scales(drawn)
    blocks = [
        [
            (o, [_row(r, str(r.label), str(r.method), method_label(str(r.method)))
                 for r in drawn[drawn.outcome == o].itertuples()])
            for o in group
        ]
        for group in group_by_scale(scales)
    ]  # fmt: skip
    return blocks, [_span(b) for b in blocks], scales
