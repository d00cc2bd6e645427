"""The look every figure shares: a non-interactive backend, an A4 text width, the Okabe-Ito
colour-blind-safe palette, the labels of samples and methods, font sizes, and how a figure is
saved (PNG to embed in the report, SVG to print)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # notebooks keep their inline backend
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

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
SAMPLE_LABELS = {"unadjusted": "Unadjusted", "matched": "Matched", "weighted": "Weighted (IPW)"}

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


plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7})


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
