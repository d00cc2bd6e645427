"""Diagnostic figures: love plot, propensity overlap, eCDFs of the worst-balanced covariates, and
an effects forest plot. Sized for an A4 page (16 cm wide), Okabe-Ito colour-blind-safe palette,
labelled axes and legends. No figure draws an individual: every histogram bin and every step of a
distribution curve holds at least ``min_cell_size`` units of each group (or is not drawn), and
axis limits come from those bins and steps, never from a minimum or maximum. The distribution
figures record the fewest units behind any element they draw as ``fig.min_units``, which
``results.json`` lists under ``figures`` for the disclosure audit.

:mod:`.style` holds the shared look and ``save``, :mod:`.cells` the disclosure-safe cells,
:mod:`.scales` the grouping of outcomes by scale, :mod:`.balance` the design figures,
:mod:`.effects` the forest plots, :mod:`.dose` the dose-response curves, :mod:`.panel` the
effect path by survey round and :mod:`.sensitivity`
the figures of the sensitivity checks; every figure is importable from here.
"""

from __future__ import annotations

from .balance import MAX_LOVE_ROWS, ecdf_plot, level_overlap_plot, love_plot, overlap_plot
from .cells import masked_histogram, safe_grid
from .dose import dose_plot
from .effects import forest_plot, subgroup_plot
from .panel import path_plot
from .scales import group_by_scale, outcome_scales
from .sensitivity import contour_plot, dml_contour_plot, gamma_plot
from .style import (
    MARKERS,
    METHOD_MARKERS,
    PALETTE,
    SAMPLE_LABELS,
    SERIES,
    WIDTH,
    CountedFigure,
    method_colour,
    method_label,
    method_marker,
    plt,
    sample_style,
    save,
)

__all__ = [
    "MARKERS",
    "MAX_LOVE_ROWS",
    "METHOD_MARKERS",
    "method_colour",
    "method_label",
    "method_marker",
    "sample_style",
    "PALETTE",
    "SAMPLE_LABELS",
    "SERIES",
    "WIDTH",
    "CountedFigure",
    "contour_plot",
    "dml_contour_plot",
    "dose_plot",
    "ecdf_plot",
    "forest_plot",
    "gamma_plot",
    "level_overlap_plot",
    "group_by_scale",
    "love_plot",
    "masked_histogram",
    "outcome_scales",
    "overlap_plot",
    "path_plot",
    "plt",
    "safe_grid",
    "save",
    "subgroup_plot",
]
