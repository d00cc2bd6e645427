"""The look every figure shares: a non-interactive backend, an A4 text width, the Okabe-Ito
colour-blind-safe palette, the labels, colours and marker shapes of samples and methods, font
sizes legible at A4 width (nothing under 7 pt), the legend below the axes, and how a figure is
saved (PNG to embed in the report, SVG to print)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # notebooks keep their inline backend
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.transforms import offset_copy  # noqa: E402

from ...registry import METHODS  # noqa: E402

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
ADDED = ["#E69F00", "#D55E00", "#56B4E9", "#000000"]  # Okabe-Ito, unused by the built-in methods
SERIES = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]  # Okabe-Ito, in order
MARKERS = {"unadjusted": "o", "matched": "s", "weighted": "^"}
METHOD_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "*"]  # one per method, registry order
SAMPLE_LABELS = {"unadjusted": "Unadjusted", "matched": "Matched", "weighted": "Weighted (IPW)"}
SMALL = 7  # pt: the smallest text of any figure (notes, contour labels)


def sample_style(sample: str) -> tuple[str, str, str]:
    """(label, colour, marker) of a balance sample: the built-in ones (unadjusted, matched,
    weighted) keep theirs; the sample of an added method is named by its method's label."""
    if sample in SAMPLE_LABELS:
        return SAMPLE_LABELS[sample], PALETTE[sample], MARKERS[sample]
    owner = next((m for m in METHODS.values() if m.estimator.balance_label == sample), None)
    label = f"{sample.capitalize()} ({owner.label})" if owner else sample.capitalize()
    return label, method_colour(owner.name if owner else sample), "D"


def method_label(name: str) -> str:
    """How figures and tables name a method: its registered label (:mod:`reimpact.registry`)."""
    return METHODS[name].label if name in METHODS else name


def method_colour(name: str) -> str:
    """A method's colour: the built-in methods keep theirs; added methods take, in registry
    order, the Okabe-Ito colours no built-in method uses."""
    if name in PALETTE:
        return PALETTE[name]
    added = [m for m in METHODS if m not in PALETTE]
    return ADDED[added.index(name) % len(ADDED)] if name in added else ADDED[0]


def method_marker(name: str) -> str:
    """A method's marker shape, so methods differ by shape as well as colour: the registry's
    methods take ``METHOD_MARKERS`` in registry order; a name outside the registry the last one."""
    order = list(METHODS)
    position = order.index(name) if name in order else len(METHOD_MARKERS) - 1
    return METHOD_MARKERS[position % len(METHOD_MARKERS)]


def legend_below(fig: Figure, handles: list, labels: list[str], title: str | None = None) -> None:
    """A legend under the axes, outside them (the figure must use the constrained layout, which
    makes room for it), in as many columns as fit the figure's width."""
    width = fig.get_window_extent().width
    for ncol in range(len(handles), 0, -1):
        legend = fig.legend(
            handles, labels, loc="outside lower center", ncol=ncol, frameon=False, title=title
        )
        if ncol == 1 or legend.get_window_extent().width <= 0.96 * width:
            return
        legend.remove()


def note_below(fig: Figure, text: str) -> None:
    """A note under everything else in the figure, below its legend (``save`` crops the figure
    to include it). The layout is fixed first and the legend pinned where it was laid out: a
    figure cropped to include the note would otherwise move the legend onto it."""
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    bottom = 0.0
    for legend in fig.legends:
        box = legend.get_window_extent().transformed(fig.transFigure.inverted())
        legend.set_bbox_to_anchor(box, transform=fig.transFigure)
        legend.borderaxespad = 0.0
        bottom = min(bottom, box.y0)
    below = offset_copy(fig.transFigure, fig=fig, y=-3, units="points")
    fig.text(0.01, bottom, text, fontsize=SMALL, va="top", transform=below)


plt.rcParams.update(
    {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": SMALL + 0.5}
)


class CountedFigure(Figure):
    """A figure of distributions that records the fewest units behind any element it draws, so
    ``results.json`` can list it for the disclosure audit. Create it with
    ``plt.subplots(..., FigureClass=CountedFigure)``."""

    min_units: int


def save(fig: Figure, folder: Path, name: str) -> bytes:
    """Write ``name.png`` and ``name.svg`` to ``folder``; return the PNG bytes (for embedding)."""
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    (folder / f"{name}.png").write_bytes(buffer.getvalue())
    fig.savefig(folder / f"{name}.svg", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def outcome_grid(count: int, columns: int = 2) -> tuple[CountedFigure, np.ndarray]:
    """A figure of ``count`` small panels, one per outcome, ``columns`` to a row (A4 width)."""
    rows = -(-count // columns)
    fig, axes = plt.subplots(
        rows, min(count, columns), figsize=(WIDTH, 2.4 * rows + 0.8), squeeze=False,
        layout="constrained", FigureClass=CountedFigure,
    )  # fmt: skip
    assert isinstance(fig, CountedFigure)
    return fig, axes


def true_line(ax: Axes, x, y, label: str) -> None:
    """The true values of simulated data: a dashed black line with crosses."""
    ax.plot(x, y, color="black", linestyle="--", marker="x", markersize=5, linewidth=0.9, label=label)


def finish_grid(fig: Figure, axes: np.ndarray, count: int) -> None:
    """Hide the panels beyond ``count`` and put the first panel's legend below the figure."""
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    legend_below(fig, *axes[0][0].get_legend_handles_labels())
