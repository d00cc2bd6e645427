"""The simulated cohort: reproducible, complete truth, confounded as in the field."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reimpact.datasets import COUNTRIES, OUTCOMES, PILOT_COUNTRIES, TREATMENTS, simulate_returnees
from reimpact.scoring import score
from reimpact.stats.sandwich import welch_se


def test_same_seed_same_data():
    a = simulate_returnees(n=2000, seed=5)
    b = simulate_returnees(n=2000, seed=5)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    c = simulate_returnees(n=2000, seed=6)
    assert not a.data["composite_score"].equals(c.data["composite_score"])


def test_truth_has_every_treatment_outcome_estimand(cohort):
    truth = cohort.truth
    assert list(truth.columns) == ["treatment", "outcome", "estimand", "effect"]
    combos = set(zip(truth.treatment, truth.outcome, truth.estimand, strict=True))
    expected = {(t, o, e) for t in TREATMENTS for o in OUTCOMES for e in ("ATT", "ATE", "ATC")}
    assert combos == expected
    assert truth.effect.notna().all()


def test_truth_directions_follow_published_findings(cohort):
    att = cohort.truth[cohort.truth.estimand == "ATT"].set_index(["treatment", "outcome"]).effect
    assert 0.02 <= att["mentored", "composite_score"] <= 0.04
    for dim in ("economic_score", "social_score", "psychosocial_score"):
        assert att["economic_support", dim] > 0.01
    for outcome in ("economic_score", "social_score", "satisfaction"):
        assert att["any_referral", outcome] < -0.02


def test_cohort_shape(cohort):
    data = cohort.data
    assert data["country"].nunique() == len(COUNTRIES) == 17
    assert set(data.loc[data.mentored == 1, "country"]) == set(PILOT_COUNTRIES)
    for column in ("composite_score", "economic_score", "social_score", "psychosocial_score"):
        values = data[column].dropna()
        assert values.between(0, 1).all()
    assert set(data["satisfaction"].unique()) <= {1, 2, 3, 4, 5}
    # the referral flag and the delivery records agree
    delivery = data[["economic_delivery", "social_delivery", "psychosocial_delivery"]]
    assert ((delivery == "referral").any(axis=1).astype(int) == data["any_referral"]).all()
    # everyone assisted has at least one activity
    assert (data["n_activities"] >= 1).all()


def test_scores_are_the_shipped_scheme_applied_to_the_raw_answers(cohort):
    rescored = score(cohort.data.drop(columns=["composite_score"]))
    np.testing.assert_allclose(rescored["composite_score"], cohort.data["composite_score"])


def test_scores_are_exactly_the_scored_raw_answers():
    # the simulation scores its answers itself; the scores must be those score() gives them,
    # to the last bit (same matrix products on the same layout), at a size where BLAS threads
    data = simulate_returnees(n=30001, seed=11).data
    columns = ["economic_score", "social_score", "psychosocial_score", "composite_score"]
    rescored = score(data.drop(columns=columns))
    for column in columns:
        assert np.array_equal(rescored[column], data[column], equal_nan=True), column


def test_potential_outcomes_agree_with_the_observed_data(cohort):
    # a returnee's outcome under the assistance type received is the observed one
    data = cohort.data
    for kind, column in (("economic", "economic_score"), ("combined", "composite_score")):
        received = (data["assistance_type"] == kind).to_numpy()
        observed = data[column].to_numpy()[received]
        assert np.array_equal(cohort.potential_types[kind][column][received], observed, equal_nan=True)


def test_naive_referral_difference_is_visibly_biased(cohort):
    data = cohort.data.dropna(subset=["economic_score"])
    y, t = data["economic_score"].to_numpy(), data["any_referral"].to_numpy()
    naive = y[t == 1].mean() - y[t == 0].mean()
    truth = cohort.truth.query(
        "treatment == 'any_referral' and outcome == 'economic_score' and estimand == 'ATT'"
    ).effect.item()
    assert abs(naive - truth) > 3 * welch_se(y, t)
    assert naive < truth < 0  # the vulnerable are referred more and score lower


def test_truth_for_a_subset(cohort):
    pilot = cohort.data.index[cohort.data.pilot_country == 1]
    sub = cohort.truth_for(pilot)
    full = cohort.truth
    # every mentored returnee is in the pilot countries, so the mentoring ATT is unchanged
    key = "treatment == 'mentored' and estimand == 'ATT'"
    np.testing.assert_allclose(sub.query(key).effect, full.query(key).effect)
