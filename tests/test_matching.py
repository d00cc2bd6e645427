"""Matching: equal to a brute-force reference for every option combination, equal to DoWhy's PSM on
the same scores, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reimpact.design.matching import caliper_width, match, nearest_in_group
from reimpact.estimators.matching.matcher import PropensityMatcher
from reimpact.exceptions import DesignError


def brute_force(distance, focal, ratio, replace, caliper, order, strata, seed):
    """Reference implementation: distances to every candidate, one focal unit at a time.

    Nearest = smallest |distance|, ties to the smaller candidate value, then the earlier row.
    """
    n = distance.size
    strata = np.zeros(n, dtype=int) if strata is None else strata
    focal_idx = np.flatnonzero(focal)
    values = distance[focal_idx]
    if order == "largest":
        ordered = focal_idx[np.argsort(-values, kind="stable")]
    elif order == "smallest":
        ordered = focal_idx[np.argsort(values, kind="stable")]
    elif order == "random":
        ordered = focal_idx[np.random.default_rng(seed).permutation(focal_idx.size)]
    else:
        ordered = focal_idx
    used = set()
    matches = {int(f): [] for f in focal_idx}

    def candidates(f):
        pool = [
            c
            for c in np.flatnonzero(~focal)
            if strata[c] == strata[f] and c not in matches[f] and (replace or c not in used)
        ]
        return sorted(pool, key=lambda c: (abs(distance[c] - distance[f]), distance[c], c))

    for r in range(ratio):
        for f in ordered:
            f = int(f)
            if len(matches[f]) < r:
                continue  # found nothing within the caliper in an earlier round
            pool = candidates(f)
            if not pool:
                continue
            best = pool[0]
            if caliper is not None and abs(distance[best] - distance[f]) > caliper:
                continue
            matches[f].append(best)
            used.add(best)
    pairs = {(f, c) for f, cs in matches.items() for c in cs}
    dropped = sum(1 for cs in matches.values() if not cs)
    return pairs, dropped


@st.composite
def problems(draw):
    n = draw(st.integers(2, 40))
    # unique values on a coarse grid: equidistant ties between left and right candidates happen
    raw = draw(st.lists(st.integers(0, 400), min_size=n, max_size=n, unique=True))
    focal = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    focal[0], focal[1] = True, False
    strata = draw(st.none() | st.lists(st.integers(0, 2), min_size=n, max_size=n).map(np.array))
    return (
        np.array(raw, dtype=float) / 40.0,
        np.array(focal),
        draw(st.integers(1, 3)),
        draw(st.booleans()),
        draw(st.none() | st.floats(0.05, 3.0)),
        draw(st.sampled_from(["largest", "smallest", "random", "data"])),
        strata,
        draw(st.integers(0, 1000)),
    )


@settings(max_examples=400, deadline=None)
@given(problems())
def test_matching_equals_brute_force(problem):
    distance, focal, ratio, replace, caliper, order, strata, seed = problem
    result = match(distance, focal, ratio, replace, caliper, order, strata, seed)
    pairs, dropped = brute_force(distance, focal, ratio, replace, caliper, order, strata, seed)
    assert set(zip(result.focal.tolist(), result.matched.tolist(), strict=True)) == pairs
    assert result.dropped_by_caliper == dropped
    # weights: 1/k_f per match row, summing to one per matched focal unit
    sums = np.bincount(result.focal, weights=result.weight, minlength=distance.size)
    np.testing.assert_allclose(sums[result.matched_focal], 1.0)
    if not replace:
        assert len(set(result.matched.tolist())) == result.matched.size


def test_matched_sets_and_weights():
    distance = np.array([0.0, 0.1, 1.0, 1.2, 5.0, 0.05])
    focal = np.array([True, False, True, False, False, False])
    result = match(distance, focal, ratio=2, replace=False, caliper=None, order="data")
    assert sorted(zip(result.focal.tolist(), result.matched.tolist(), strict=True)) == [
        (0, 1),
        (0, 5),
        (2, 3),
        (2, 4),
    ]
    np.testing.assert_allclose(result.unit_weights(6), [1, 0.5, 1, 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(result.subclass(6), [0, 0, 2, 2, 2, 0])


def test_matched_pairs_frame():
    e = np.array([0.30, 0.31, 0.60, 0.62, 0.90, 0.20])
    t = np.array([1, 0, 1, 0, 0, 0])
    psm = PropensityMatcher(caliper=None, distance="propensity").fit(e, t)
    pairs = psm.matched_pairs(index=list("abcdef"))
    assert pairs.to_dict("list") == {"focal": ["a", "c"], "matched": ["b", "d"], "weight": [1.0, 1.0]}
    np.testing.assert_allclose(psm.weights_, [1, 1, 1, 1, 0, 0])


def test_caliper_is_in_pooled_standard_deviations():
    rng = np.random.default_rng(0)
    d = rng.normal(size=200)
    t = (np.arange(200) < 60).astype(int)
    pooled = np.sqrt((d[t == 1].var(ddof=1) + d[t == 0].var(ddof=1)) / 2)
    assert caliper_width(d, t, 0.2) == pytest.approx(0.2 * pooled)
    assert caliper_width(d, t, None) is None


def test_nearest_in_group_excludes_itself():
    d = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    g = np.array([1, 1, 1, 0, 1])
    nb = nearest_in_group(d, g, 1, 2)
    assert nb[0].tolist() == [1, 2]
    assert nb[3].tolist() == [2, 1]  # a control's nearest treated units
    assert sorted(nb[4].tolist()) == [1, 2]


def test_every_treated_unit_dropped_by_the_caliper():
    e = np.r_[np.full(5, 0.9), np.linspace(0.01, 0.05, 50)]
    t = np.r_[np.ones(5), np.zeros(50)].astype(int)
    with pytest.raises(DesignError, match="every treated unit was dropped by the caliper"):
        PropensityMatcher(caliper=0.01).fit(e, t)


def test_one_matched_set_has_no_standard_error():
    """One treated unit within the caliper: a cluster-robust variance needs two matched sets."""
    e = np.r_[0.5, np.full(4, 0.95), np.linspace(0.3, 0.6, 40)]
    t = np.r_[np.ones(5), np.zeros(40)].astype(int)
    psm = PropensityMatcher(caliper=0.05, replace=False).fit(e, t)
    with pytest.raises(DesignError, match="fewer than 2 matched sets"):
        psm.estimate(np.arange(45, dtype=float))


def test_option_rules_apply_to_the_estimator_too():
    with pytest.raises(DesignError, match="methods.psm.replace: the ATE by matching needs"):
        PropensityMatcher(estimand="ATE", replace=False).fit(np.array([0.2, 0.6]), np.array([0, 1]))


def test_same_att_as_dowhy_propensity_score_matching():
    """With replacement, k = 1, no caliper, on the same scores: DoWhy's ATT and ours agree."""
    import logging

    from dowhy import CausalModel

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    rng = np.random.default_rng(11)
    n = 3000
    x = rng.normal(size=(n, 3))
    e = 1 / (1 + np.exp(-(-1 + x @ np.array([0.8, -0.5, 0.3]))))
    t = (rng.random(n) < e).astype(int)
    y = x @ np.array([1.0, 0.5, -0.2]) + 2.0 * t + rng.normal(size=n)
    frame = pd.DataFrame(x, columns=["x1", "x2", "x3"]).assign(t=t, y=y, propensity_score=e)
    model = CausalModel(data=frame, treatment="t", outcome="y", common_causes=["x1", "x2", "x3"])
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    for target, estimand_name in (("att", "ATT"), ("atc", "ATC"), ("ate", "ATE")):
        theirs = model.estimate_effect(
            estimand, method_name="backdoor.propensity_score_matching", target_units=target
        ).value
        mine = (
            PropensityMatcher(estimand=estimand_name, replace=True, caliper=None, distance="propensity")
            .fit(e, t)
            .estimate(y)
            .estimate
        )
        assert mine == pytest.approx(theirs, rel=1e-12, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(problems())
def test_ties_all_uses_every_control_tied_at_the_kth_distance(problem):
    """With replacement and ``ties='all'`` a focal unit's matched set is every candidate at a
    distance no larger than its k-th nearest (Abadie & Imbens 2006), weights shared equally."""
    distance, focal, ratio, _, caliper, _, strata, _ = problem
    result = match(distance, focal, ratio, True, caliper, strata=strata, ties="all")
    strata = np.zeros(distance.size, int) if strata is None else strata
    expected = set()
    for f in np.flatnonzero(focal):
        pool = [c for c in np.flatnonzero(~focal) if strata[c] == strata[f]]
        gaps = sorted(abs(distance[c] - distance[f]) for c in pool)
        gaps = [g for g in gaps if caliper is None or g <= caliper]
        if gaps:
            kth = gaps[min(ratio, len(gaps)) - 1]
            expected |= {(int(f), int(c)) for c in pool if abs(distance[c] - distance[f]) <= kth}
    assert set(zip(result.focal.tolist(), result.matched.tolist(), strict=True)) == expected
    sums = np.bincount(result.focal, weights=result.weight, minlength=distance.size)
    np.testing.assert_allclose(sums[result.matched_focal], 1.0)


def test_ties_first_keeps_one_of_two_equidistant_controls():
    distance = np.array([0.0, -1.0, 1.0, 5.0])
    focal = np.array([True, False, False, False])
    every = match(distance, focal, 1, True, ties="all")
    first = match(distance, focal, 1, True, ties="first")
    assert every.matched.tolist() == [1, 2] and every.weight.tolist() == [0.5, 0.5]
    assert first.matched.tolist() == [1]


def test_caliper_scale_all_uses_the_sd_over_all_units():
    rng = np.random.default_rng(0)
    d = rng.normal(size=200) + (np.arange(200) < 60)
    t = (np.arange(200) < 60).astype(int)
    assert caliper_width(d, t, 0.2, "all") == pytest.approx(0.2 * d.std(ddof=1))
    assert caliper_width(d, t, 0.2, "all") != pytest.approx(caliper_width(d, t, 0.2, "pooled"))


def _half_treated(n, seed):
    """Half the units treated, selection on x1, a constant effect of 1: greedy matching without
    replacement runs out of good controls, so the plain matched difference is biased."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    e = 1 / (1 + np.exp(-(1.2 * x[:, 0] - 0.5 * x[:, 1])))
    t = (rng.random(n) < e).astype(np.int8)
    y = 2 * x[:, 0] + x[:, 1] + 0.5 * x[:, 2] + t + rng.normal(size=n)
    return x, t, y, e


def test_adjusted_matching_removes_the_bias_greedy_matching_leaves():
    """On one large draw (n = 20,000, half treated, true effect 1): the plain difference in
    matched means without replacement is off by more than 5 standard errors; the default
    adjustment (g-computation in the matched sample) is within 3."""
    x, t, y, e = _half_treated(20_000, 1)
    plain = PropensityMatcher(replace=False, adjust=False).fit(e, t, covariates=x).estimate(y)
    adjusted = PropensityMatcher(replace=False).fit(e, t, covariates=x).estimate(y)
    assert abs(plain.estimate - 1.0) > 5 * plain.std_error
    assert abs(adjusted.estimate - 1.0) < 3 * adjusted.std_error
    assert "regression-adjusted in the matched sample (g-computation for the ATT) for 3 covariate" in (
        " ".join(adjusted.notes)
    )
    assert "unadjusted difference in matched means (adjust: false)" in plain.notes


def test_adjusted_estimate_is_the_interacted_weighted_regression():
    """The adjusted estimate equals g-computation from the WLS of Y on (1, T, X, T x X) with the
    matching weights, averaged over the matched treated units (MatchIt's recommended analysis)."""
    x, t, y, e = _half_treated(1500, 2)
    psm = PropensityMatcher(replace=False).fit(e, t, covariates=x)
    w = psm.weights_
    rows = w > 0
    design = np.column_stack([np.ones(t.size), t, x, t[:, None] * x])
    root = np.sqrt(w[rows])
    coef = np.linalg.lstsq(design[rows] * root[:, None], y[rows] * root, rcond=None)[0]
    treated = rows & (t == 1)
    slope = coef[1] + x[treated] @ coef[5:]
    hand = np.sum(w[treated] * slope) / w[treated].sum()
    assert psm.point_estimate(y) == pytest.approx(hand, rel=1e-9)
    assert psm.estimate(y).estimate == pytest.approx(hand, rel=1e-9)


def test_variance_terms_follow_the_design():
    """Without replacement: matched-set cluster-robust, no Abadie-Imbens (2016) term even for an
    estimated logistic score; with replacement: Abadie-Imbens with that term."""
    from reimpact.design.covariates import CovariateDesign
    from reimpact.design.propensity import estimate_propensity

    x, t, y, _ = _half_treated(1500, 3)
    scores = estimate_propensity(
        CovariateDesign(x, ["a", "b", "c"], ["a", "b", "c"]), t, "logistic", 0.01
    )
    without = PropensityMatcher(replace=False).fit(scores.scores, t, None, x, scores.design).estimate(y)
    with_ = PropensityMatcher().fit(scores.scores, t, None, x, scores.design).estimate(y)
    assert without.se_type == "cluster-robust by matched set"
    assert not any("2016" in note for note in without.notes)
    assert with_.se_type == "Abadie-Imbens, estimated score"
    assert "variance: Abadie-Imbens (2006) plus the estimated-score term (Abadie-Imbens 2016)" in (
        with_.notes
    )
    clusters = np.arange(t.size) // 10
    two_way = (
        PropensityMatcher(replace=False).fit(scores.scores, t, None, x).estimate(y, clusters=clusters)
    )
    assert two_way.se_type == "two-way cluster-robust by cluster and matched set"
    assert two_way.std_error >= without.std_error * 0.999
    replaced = PropensityMatcher().fit(scores.scores, t, None, x).estimate(y, clusters=clusters)
    assert replaced.se_type == "cluster-robust by cluster"
    assert replaced.estimate == pytest.approx(with_.estimate)


def test_dropped_focal_units_are_described():
    x, t, y, e = _half_treated(2000, 4)
    effect = (
        PropensityMatcher(replace=False, caliper=0.05)
        .fit(e, t, covariates=x, feature_names=["age", "income", "size"])
        .estimate(y)
    )
    note = next(n for n in effect.notes if "had no match within the caliper" in n)
    assert "the estimate is the ATT of the matched treated units" in note
    assert "they differ most from the matched ones in age (SMD +" in note
