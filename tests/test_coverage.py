"""Fast coverage study of the default estimators on designs from the literature.

The long run (1,000 replications per design, the README's table) is ``benchmarks/coverage_study.py``;
here 150 replications per design and estimand with a fixed seed. Checked property: every default
estimator's 95% interval covers the population effect in at least 90% of replications (the binomial
99% band around 95% for 150 replications reaches down to about 90.4%), unless overlap is poor, in
which case the run must warn of it in at least 90% of the replications. Bias must stay below half a
standard deviation of the estimates wherever overlap holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from coverage_study import (  # noqa: E402
    DEFAULTS,
    DESIGNS,
    OPTIONS,
    coverage_study,
    options_coverage,
    population_truth,
)


@pytest.fixture(scope="module")
def table():
    return coverage_study(reps=150, seed=3)


@pytest.mark.slow
def test_every_default_estimator_covers_or_warns(table):
    assert set(table.index.get_level_values("design")) == set(DESIGNS)
    assert set(table.index.get_level_values("method")) == set(DEFAULTS)
    for key, row in table.iterrows():
        warned = row["overlap_warning"] >= 0.9
        assert row["coverage"] >= 0.90 or warned, (key, row.to_dict())
        if not warned:
            assert abs(row["bias"]) < 0.5 * row["sd_estimate"], (key, row.to_dict())


@pytest.mark.slow
def test_ipw_covers_where_the_run_does_not_warn_and_warns_where_it_may_not(table):
    """IPW's interval is too narrow under poor overlap (README's coverage study), so its estimate
    warns in every run that warns of poor overlap; in the runs without that warning (at least 30
    of them) it covers at least 90%."""
    ipw = table.xs("ipw", level="method")
    assert (ipw["estimate_warning"] >= ipw["overlap_warning"]).all()
    for key, row in ipw.iterrows():
        if (1 - row["overlap_warning"]) * row["reps"] >= 30:
            assert row["coverage_no_warning"] >= 0.90, (key, row.to_dict())


@pytest.mark.slow
def test_poor_overlap_is_warned_and_good_overlap_mostly_not(table):
    assert table.loc[("poor_overlap", "ATT"), "overlap_warning"].min() == 1.0
    assert table.loc[("nonlinear_outcome", "ATT"), "overlap_warning"].max() < 0.2


def test_population_truths_differ_by_estimand():
    """The heterogeneous design separates the estimands: ATT > ATE > ATC by construction."""
    att, ate, atc = (population_truth("heterogeneous", e, n=400_000) for e in ("ATT", "ATE", "ATC"))
    assert att > ate + 0.5 and ate > atc + 0.5
    assert population_truth("kang_schafer", "ATT", n=10_000) == pytest.approx(10.0)
    assert np.isfinite(population_truth("clustered", "ATT", n=10_000))


@pytest.mark.slow
def test_non_default_matching_settings_cover():
    """Matching without replacement (matched-set and bootstrap SEs, 2:1), with replacement 3:1
    and with a caliper: 100 replications of Austin's design, each at least 90% (the ATT truth
    ignores the few treated units a caliper drops, so this also checks that they are few)."""
    table = options_coverage(reps=100, seed=4)
    assert list(table.index) == list(OPTIONS)
    for setting, row in table.iterrows():
        assert row["coverage"] >= 0.90, (setting, row.to_dict())
