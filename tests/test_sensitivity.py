"""Sensitivity checks against published worked examples and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from reimpact.design.covariates import covariate_design
from reimpact.sensitivity import (
    evalue,
    evalue_from_rr,
    holm,
    omitted_variable_bounds,
    rosenbaum_bounds,
    signed_rank_upper_p,
)


def test_evalue_of_vanderweele_ding_example():
    """VanderWeele & Ding (2017): an observed risk ratio of 3.9 has an E-value of 7.26."""
    assert evalue_from_rr(3.9) == pytest.approx(7.26, abs=0.005)
    assert evalue_from_rr(1 / 3.9) == pytest.approx(7.26, abs=0.005)
    assert evalue_from_rr(1.0) == pytest.approx(1.0)


def test_evalue_for_continuous_and_binary_outcomes():
    rng = np.random.default_rng(0)
    t = np.r_[np.ones(200), np.zeros(200)]
    y = rng.normal(0, 2.0, 400) + 3.0 * t  # a large effect: the total SD is not the within SD
    # the pooled within-group SD (stated in the result), not the SD over both groups
    sd = math.sqrt((199 * y[t == 1].var(ddof=1) + 199 * y[t == 0].var(ddof=1)) / 398)
    assert sd < 0.9 * y.std(ddof=1)
    result = evalue(1.0, (0.5, 1.5), y, t, "y", "aipw")
    assert f"pooled within-group SD of the outcome ({sd:.4g})" in result.scale
    rr = math.exp(0.91 * 1.0 / sd)
    assert result.risk_ratio == pytest.approx(rr)
    assert result.evalue_estimate == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
    rr_low = math.exp(0.91 * 0.5 / sd)
    assert result.evalue_ci == pytest.approx(rr_low + math.sqrt(rr_low * (rr_low - 1)))
    assert evalue(1.0, (-0.1, 2.1), y, t, "y", "aipw").evalue_ci == 1.0
    # a 0/1 outcome with the ATT: treated risk 0.4, effect -0.2 -> RR 0.4 / 0.6
    yb = np.r_[np.repeat([1.0, 0.0], [80, 120]), np.repeat([1.0, 0.0], [100, 100])]
    binary = evalue(-0.2, (-0.3, -0.1), yb, t, "y", "psm", "ATT")
    assert binary.risk_ratio == pytest.approx(0.4 / 0.6)
    assert binary.evalue_estimate == pytest.approx(evalue_from_rr(0.6 / 0.4))


def test_signed_rank_bound_equals_brute_force():
    """The exact bound equals enumeration of all 2^12 sign patterns, each pair positive with
    probability Gamma / (1 + Gamma), for data with tied absolute differences."""
    d = np.array([1.5, -0.5, 2.0, 2.0, -1.0, 3.0, 0.5, 4.0, -2.0, 1.0, 2.5, 0.7])
    ranks = np.argsort(np.argsort(np.abs(d))) + 1.0
    for value in np.unique(np.abs(d)):  # average ranks for ties
        ranks[np.abs(d) == value] = ranks[np.abs(d) == value].mean()
    observed = ranks[d > 0].sum()
    for gamma in (1.0, 1.5, 2.0, 3.0):
        p = gamma / (1 + gamma)
        total = 0.0
        for signs in itertools.product((0, 1), repeat=d.size):
            signs = np.array(signs)
            if ranks[signs == 1].sum() >= observed - 1e-9:
                total += p ** signs.sum() * (1 - p) ** (d.size - signs.sum())
        assert signed_rank_upper_p(d, gamma, exact=True) == pytest.approx(total, abs=1e-12)


def test_normal_approximation_is_close_to_exact():
    rng = np.random.default_rng(1)
    d = rng.normal(0.3, 1.0, 300)
    for gamma in (1.0, 1.5, 2.0):
        exact = signed_rank_upper_p(d, gamma, exact=True)
        approx = signed_rank_upper_p(d, gamma, exact=False)
        assert abs(exact - approx) < 0.01


def test_gamma_critical_is_where_the_bound_crosses_alpha():
    rng = np.random.default_rng(2)
    d = rng.normal(0.4, 1.0, 200)
    bounds = rosenbaum_bounds(d, "y", gamma_max=3.0, step=0.1, alpha=0.05)
    assert bounds.available and bounds.p_upper[0] < 0.05
    assert signed_rank_upper_p(d, bounds.gamma_critical - 0.01) < 0.05
    assert signed_rank_upper_p(d, bounds.gamma_critical + 0.01) > 0.05
    assert np.all(np.diff(bounds.p_upper) >= -1e-12)  # the bound grows with Gamma
    # a negative effect is tested in its own direction
    assert rosenbaum_bounds(-d, "y").gamma_critical == bounds.gamma_critical


def test_darfur_numbers_of_cinelli_hazlett():
    """Cinelli & Hazlett (2020): directly harmed -> peacefactor, with village fixed effects."""
    import sensemakr

    data = sensemakr.load_darfur()
    covariates = ["age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur", "female", "village"]
    design = covariate_design(data, covariates, ["village"])
    result = omitted_variable_bounds(
        data["peacefactor"].to_numpy(),
        data["directlyharmed"].to_numpy(dtype=float),
        design.matrix,
        design.names,
        "peacefactor",
        benchmarks=["female"],
        kd=(1, 2, 3),
    )
    assert result.estimate == pytest.approx(0.097, abs=0.0005)
    assert result.std_error == pytest.approx(0.023, abs=0.0005)
    assert result.df == 783
    assert result.partial_r2 == pytest.approx(0.022, abs=0.0005)
    assert result.rv_q == pytest.approx(0.139, abs=0.0005)
    assert result.rv_q_alpha == pytest.approx(0.076, abs=0.0005)
    # bounds from 1x, 2x, 3x female (the paper's Table 3 / sensemakr's output)
    bounds = result.bounds.set_index("kd")
    assert bounds.loc[1, "r2_dz"] == pytest.approx(0.009, abs=0.0005)
    assert bounds.loc[1, "r2_yz"] == pytest.approx(0.125, abs=0.0005)
    assert bounds.loc[1, "adjusted_estimate"] == pytest.approx(0.075, abs=0.0005)
    assert bounds.loc[2, "adjusted_estimate"] == pytest.approx(0.053, abs=0.0005)
    assert bounds.loc[3, "adjusted_estimate"] == pytest.approx(0.030, abs=0.0005)


def test_holm_adjustment():
    adjusted = holm(np.array([0.01, 0.04, 0.03, np.nan, 0.5]))
    # sorted 0.01, 0.03, 0.04, 0.5 with m = 4: 0.04, 0.09, 0.09 (monotone), 0.5
    np.testing.assert_allclose(adjusted, [0.04, 0.09, 0.09, np.nan, 0.5])


@pytest.mark.parametrize("t_value", [0.5, 1.9, 2.5, 4.18445, 12.0, 60.0])
@pytest.mark.parametrize("q", [1.0, 0.5])
def test_robustness_values_equal_sensemakr(t_value, q):
    """RV_q and RV_q,alpha against PySensemakr over t statistics that are not significant (RV_q,alpha
    must be 0), significant, and so large that the R^2_yz <= 1 constraint does not bind."""
    import pandas as pd
    from sensemakr import robustness_value as theirs

    from reimpact.sensitivity import robustness_value

    for dof in (30, 783):
        expected = float(theirs(t_statistic=pd.Series([t_value]), dof=dof, q=q, alpha=0.05).iloc[0])
        assert robustness_value(t_value, dof, q, 0.05) == pytest.approx(expected, abs=1e-12)
        expected_q = float(theirs(t_statistic=pd.Series([t_value]), dof=dof, q=q, alpha=1.0).iloc[0])
        assert robustness_value(t_value, dof, q) == pytest.approx(expected_q, rel=1e-9)
    assert robustness_value(1.9, 783, 1.0, 0.05) == 0.0


def test_slow_checks_side_by_side_give_what_one_after_another_gives(monkeypatch):
    """Large data run the AIPW bounds and subgroups in threads beside the refutations: the same
    results and "not run" records, in the same order, as one check after another."""
    import threading

    import yaml

    import reimpact.sensitivity.runner as runner
    from reimpact import Study, run_study

    raw = yaml.safe_load(open("studies/orion_mentoring.yaml", encoding="utf-8"))
    raw["data"]["n"] = 3000
    raw["sensitivity"]["refutations"] = {"methods": ["psm"], "simulations": 2, "n_jobs": 1}
    raw["sensitivity"]["heterogeneity"]["by"] = ["country", "sex", "vulnerable"]  # a tiny subgroup
    raw["report"]["min_cell_size"] = 40
    study = Study.from_dict(raw)
    one = run_study(study).sensitivity.to_dict()
    monkeypatch.setattr("reimpact.parallel.THREADED_ROWS", 0)
    monkeypatch.setattr("reimpact.parallel.inner_workers", lambda: 2)
    threads = []
    real = runner._heterogeneity

    def heterogeneity(*args):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args)

    monkeypatch.setattr(runner, "_heterogeneity", heterogeneity)
    two = run_study(study).sensitivity.to_dict()
    assert threads == [False]  # the subgroups ran in a thread of their own
    assert one == two and one["subgroups"] and one["refutations"]
