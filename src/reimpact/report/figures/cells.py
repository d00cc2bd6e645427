"""Cells a distribution figure may draw: histogram bins and steps of a curve that each hold at
least ``min_cell_size`` units of every group, so no figure shows an individual (the disclosure
rule of :mod:`reimpact.disclosure`). Axis limits come from these cells, never from a minimum or
maximum of the data."""

from __future__ import annotations

import numpy as np


def masked_histogram(
    values: np.ndarray, weights: np.ndarray, bins: np.ndarray, min_cell_size: int
) -> tuple[np.ndarray, int]:
    """Weighted density per bin, bins holding 1 to min_cell_size - 1 units set to zero, and the
    fewest units in a drawn bin.

    Equal-width ``bins`` are counted by numpy's arithmetic binning (the same bins, without
    sorting the values); other bins by a search among the edges.
    """
    binning: dict = {"bins": bins}
    if np.array_equal(bins, np.linspace(bins[0], bins[-1], bins.size)):
        binning = {"bins": bins.size - 1, "range": (bins[0], bins[-1])}
    heights, _ = np.histogram(values, weights=weights, **binning)
    units, _ = np.histogram(values, **binning)
    heights[(units > 0) & (units < min_cell_size)] = 0.0
    total = heights.sum()
    drawn = units[heights > 0]
    density = heights / (total * np.diff(bins)) if total > 0 else heights
    return density, int(drawn.min()) if drawn.size else min_cell_size


def safe_grid(
    x: np.ndarray, masks: list[np.ndarray], min_cell_size: int, points: int = 60
) -> tuple[np.ndarray, int]:
    """Grid points for a step curve that draws no individual: below the first point, between
    two points and above the last, every group (``masks``) holds at least ``min_cell_size``
    units, so each step shows a cell of at least that size. Points are taken near ``points``
    pooled quantiles, skipping those that would make a cell too small. Returns the grid (empty
    when none is possible) and the fewest units in any cell.

    The units are counted per interval between candidate points (one search of each unit among
    at most ``points`` candidates, then a count per group), so a million units are never sorted.
    """
    candidates = np.unique(np.quantile(x, np.linspace(0, 1, points + 2)[1:-1]))
    interval = np.searchsorted(candidates, x, side="left")  # x <= candidates[j] iff interval <= j
    cumulative = [
        np.cumsum(np.bincount(interval[mask], minlength=candidates.size + 1)) for mask in masks
    ]
    totals = [int(c[-1]) for c in cumulative]
    grid: list[float] = []
    last = [0] * len(masks)
    fewest: int | None = None  # set with the first grid point
    for j, value in enumerate(candidates):
        below = [int(c[j]) for c in cumulative]
        cells = [b - a for a, b in zip(last, below, strict=True)]
        rest = [t - b for t, b in zip(totals, below, strict=True)]
        if min(cells) >= min_cell_size and min(rest) >= min_cell_size:
            grid.append(value)
            fewest = min(cells + ([fewest] if fewest is not None else []))
            last = below
    if fewest is not None:  # the cell above the last grid point
        fewest = min(fewest, *(t - a for t, a in zip(totals, last, strict=True)))
    return np.asarray(grid), int(fewest or 0)
