"""The fast paths of a whole run give what the direct computations give: the eCDF statistics of
balance (one sort per covariate, running sums) against a naive sum per distinct value and
scipy's KS statistic; the eCDF figure's grid and curves (counts per grid interval) against
sorting; equal-width histograms against numpy's edge search; exact-matching strata against a
row-by-row join. Small data with ties, zero weights and unequal weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from reimpact.design.covariates import exact_strata
from reimpact.diagnostics.balance import balance_statistics
from reimpact.diagnostics.ecdf import SortedCovariate, ecdf_differences
from reimpact.report.figures.balance import _ecdf_on_grid
from reimpact.report.figures.cells import grid_cells, masked_histogram, safe_grid


def _data(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 12, n).astype(float)  # many ties
    x[: n // 3] += rng.normal(size=n // 3).round(2)
    t = (rng.random(n) < 0.4).astype(np.int8)
    w = rng.exponential(size=n) * (rng.random(n) < 0.7)  # about 30% zero weights
    return x, t, w


def _naive_ecdf(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    keep = w > 0
    x, t, w = x[keep], t[keep], w[keep]
    gaps = []
    for v in np.unique(x):
        f1 = w[(t == 1) & (x <= v)].sum() / w[t == 1].sum()
        f0 = w[(t == 0) & (x <= v)].sum() / w[t == 0].sum()
        gaps.append(abs(f1 - f0))
    return float(np.mean(gaps)), float(np.max(gaps))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ecdf_statistics_equal_a_naive_sum_per_distinct_value(seed):
    x, t, w = _data(seed)
    assert ecdf_differences(x, t, w) == pytest.approx(_naive_ecdf(x, t, w), rel=1e-12, abs=1e-15)
    # one sort reused for other weights gives the same as sorting again
    sorted_x = SortedCovariate.of(x, t)
    for weights in (np.ones(x.size), w, w[::-1].copy()):
        assert sorted_x.ecdf_differences(weights) == ecdf_differences(x, t, weights)
        direct = balance_statistics(x, t, weights, 1.0, False)
        assert balance_statistics(x, t, weights, 1.0, False, sorted_x) == direct


def test_unweighted_ecdf_maximum_is_scipys_ks_statistic():
    x, t, _ = _data(3)
    ks = stats.ks_2samp(x[t == 1], x[t == 0]).statistic
    assert ecdf_differences(x, t, np.ones(x.size))[1] == pytest.approx(ks, rel=1e-12)


def _sorted_safe_grid(x, masks, min_cell_size, points=60):
    """The grid by sorting the units (the computation the interval counts replace)."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    cumulative = [np.cumsum(mask[order]) for mask in masks]
    totals = [c[-1] for c in cumulative]
    grid, last, fewest = [], [0] * len(masks), None
    for value in np.unique(np.quantile(xs, np.linspace(0, 1, points + 2)[1:-1])):
        below = [int(c[np.searchsorted(xs, value, side="right") - 1]) for c in cumulative]
        cells = [b - a for a, b in zip(last, below, strict=True)]
        rest = [t - b for t, b in zip(totals, below, strict=True)]
        if min(cells) >= min_cell_size and min(rest) >= min_cell_size:
            grid.append(value)
            fewest = min(cells + ([fewest] if fewest is not None else []))
            last = below
    if fewest is not None:
        fewest = min(fewest, *(t - a for t, a in zip(totals, last, strict=True)))
    return np.asarray(grid), int(fewest or 0)


@pytest.mark.parametrize(("seed", "k"), [(0, 5), (1, 10), (2, 40)])
def test_safe_grid_counts_per_interval_as_sorting_does(seed, k):
    x, t, w = _data(seed, 2000)
    masks = [t == 0, t == 1, (t == 0) & (w > 0), (t == 1) & (w > 0)]
    grid, fewest = safe_grid(x, masks, k)
    expected_grid, expected_fewest = _sorted_safe_grid(x, masks, k)
    np.testing.assert_array_equal(grid, expected_grid)
    assert fewest == expected_fewest


def test_grid_cells_give_each_units_interval_and_safe_cells_from_a_sample(monkeypatch):
    """Each unit's interval is its search among the grid points; when the candidates come from a
    systematic sample of the units (large data), every cell still holds k units of every group,
    counted among all of them."""
    import reimpact.report.figures.cells as cells

    x, t, w = _data(5, 3000)
    masks = [t == 0, t == 1, (t == 0) & (w > 0), (t == 1) & (w > 0)]
    found = grid_cells(x, masks, 10)
    np.testing.assert_array_equal(found.interval, np.searchsorted(found.grid, x, side="left"))
    monkeypatch.setattr(cells, "_QUANTILE_SAMPLE", 300)  # every 10th unit proposes the points
    sampled = grid_cells(x, masks, 10)
    assert sampled.grid.size >= 10 and sampled.min_units >= 10
    np.testing.assert_array_equal(sampled.interval, np.searchsorted(sampled.grid, x, side="left"))
    for mask in masks:
        counts = np.bincount(sampled.interval[mask], minlength=sampled.grid.size + 1)
        assert counts.min() >= sampled.min_units >= 10


def test_ecdf_curve_on_the_grid_equals_the_sorted_ecdf():
    x, _, w = _data(4)
    grid = np.array([-0.5, 1.0, 3.0, 3.5, 7.0, 11.0])
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    position = np.searchsorted(x[order], grid, side="right")
    expected = np.where(position > 0, cum[np.maximum(position - 1, 0)], 0.0)
    curve = _ecdf_on_grid(np.searchsorted(grid, x, side="left"), w, grid.size)
    np.testing.assert_allclose(curve, expected, rtol=1e-12, atol=1e-15)


def test_equal_width_histogram_equals_numpys_edge_search():
    rng = np.random.default_rng(5)
    bins = np.linspace(0, 1, 31)
    values = np.concatenate([rng.random(3000), bins, bins[10:12]])  # values on the edges too
    weights = rng.exponential(size=values.size)
    density, drawn = masked_histogram(values, weights, bins, 10)
    heights, _ = np.histogram(values, bins=bins, weights=weights)
    units, _ = np.histogram(values, bins=bins)
    heights[(units > 0) & (units < 10)] = 0.0
    np.testing.assert_allclose(density, heights / (heights.sum() * np.diff(bins)), rtol=1e-12)
    assert drawn == units[heights > 0].min()
    uneven = np.array([0.0, 0.1, 0.5, 0.55, 1.0])  # other bins keep numpy's edge search
    assert masked_histogram(values, weights, uneven, 10)[1] == np.histogram(values, uneven)[0].min()


def test_exact_strata_number_the_labels_of_a_row_by_row_join_in_order():
    frame = pd.DataFrame(
        {
            "country": ["GIN", "SEN", "MAR", "GIN"],
            "round": [1, 2, 2, 1],
            "share": [0.5, 1.0, 2.25, 3.0],
            "kind": pd.Categorical(["a", "b", "a", "c"]),
        }
    )
    for columns in (["country"], ["country", "round"], ["share", "kind", "round"]):
        labels = frame[columns].astype(str).agg("|".join, axis=1).to_numpy()
        expected = np.unique(labels, return_inverse=True)[1]  # the order of the labels
        np.testing.assert_array_equal(exact_strata(frame, columns), expected)


def test_one_pass_over_every_sample_equals_one_pass_per_sample():
    x, t, w = _data(6)
    samples = np.column_stack([np.ones(x.size), w, np.where(t == 1, 0.0, w)])  # no treated left
    sorted_x = SortedCovariate.of(x, t)
    together = sorted_x.ecdf_differences_all(samples)
    assert together[:2] == [sorted_x.ecdf_differences(samples[:, k]) for k in (0, 1)]
    assert np.isnan(together[2]).all()  # a group without weight has no eCDF


def test_balance_in_threads_equals_balance_in_one_thread(monkeypatch):
    """Large data take the covariates in parallel threads: the same table, row for row."""
    import reimpact.diagnostics.balance as balance

    x, t, w = _data(3, 2000)
    frame = pd.DataFrame({"a": x, "b": x[::-1] * 2.0, "c": (x > 5).astype(float), "d": w})
    args = (frame, list(frame.columns), [], t, {"matched": w > 0.5, "weighted": w}, "ATT")
    one = balance.balance_table(*args).frame
    monkeypatch.setattr("reimpact.parallel.THREADED_ROWS", 0)
    monkeypatch.setattr("reimpact.parallel.inner_workers", lambda: 2)
    two = balance.balance_table(*args).frame
    pd.testing.assert_frame_equal(one, two, check_exact=True)
