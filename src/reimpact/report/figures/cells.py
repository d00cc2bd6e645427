"""Cells a distribution figure may draw: histogram bins and steps of a curve that each hold at
least ``min_cell_size`` units of every group, so no figure shows an individual (the disclosure
rule of :mod:`reimpact.disclosure`). Axis limits come from these cells, never from a minimum or
maximum of the data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_QUANTILE_SAMPLE = 200_000  # units whose quantiles propose the grid points


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


@dataclass(frozen=True)
class GridCells:
    """A disclosure-safe grid (:func:`grid_cells`): its sorted points, the fewest units in any
    cell, and each unit's ``interval`` on it (the number of grid points below its value, as
    ``np.searchsorted(grid, x)`` gives: x <= grid[k] iff interval <= k)."""

    grid: np.ndarray
    min_units: int
    interval: np.ndarray


def safe_grid(
    x: np.ndarray, masks: list[np.ndarray], min_cell_size: int, points: int = 60
) -> tuple[np.ndarray, int]:
    """Grid points for a step curve that draws no individual, and the fewest units in a cell
    (see :func:`grid_cells`)."""
    cells = grid_cells(x, masks, min_cell_size, points)
    return cells.grid, cells.min_units


def grid_cells(
    x: np.ndarray, masks: list[np.ndarray], min_cell_size: int, points: int = 60
) -> GridCells:
    """Grid points for a step curve that draws no individual: below the first point, between
    two points and above the last, every group (``masks``) holds at least ``min_cell_size``
    units, so each step shows a cell of at least that size. Points are taken near ``points``
    pooled quantiles, skipping those that would make a cell too small. Returns the grid (empty
    when none is possible), the fewest units in any cell and each unit's interval on the grid.

    The units are counted per interval between candidate points (one search of each unit among
    at most ``points`` candidates, then a count per group), so a million units are never sorted.
    Beyond ``_QUANTILE_SAMPLE`` units the candidates are quantiles of an evenly spaced
    systematic sample of them (every k-th unit): still values of the data, and the cells are
    then counted among all units, so the guarantee does not rest on the sample.
    """
    step = max(1, x.size // _QUANTILE_SAMPLE)
    candidates = np.unique(np.quantile(x[::step], np.linspace(0, 1, points + 2)[1:-1]))
    interval = np.searchsorted(candidates, x, side="left")  # x <= candidates[j] iff interval <= j
    cumulative = [
        np.cumsum(np.bincount(interval[mask], minlength=candidates.size + 1)) for mask in masks
    ]
    totals = [int(c[-1]) for c in cumulative]
    kept = np.zeros(candidates.size, dtype=bool)
    last = [0] * len(masks)
    fewest: int | None = None  # set with the first grid point
    for j in range(candidates.size):
        below = [int(c[j]) for c in cumulative]
        cells = [b - a for a, b in zip(last, below, strict=True)]
        rest = [t - b for t, b in zip(totals, below, strict=True)]
        if min(cells) >= min_cell_size and min(rest) >= min_cell_size:
            kept[j] = True
            fewest = min(cells + ([fewest] if fewest is not None else []))
            last = below
    if fewest is not None:  # the cell above the last grid point
        fewest = min(fewest, *(t - a for t, a in zip(totals, last, strict=True)))
    # grid points below a unit: the kept candidates among the candidates below it
    below_unit = np.concatenate([[0], np.cumsum(kept)]).astype(np.int32)
    return GridCells(candidates[kept], int(fewest or 0), below_unit[interval])
