"""Estimators against known truths, peers and real data; design errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reimpact.design.covariates import (
    SeparatedLevel,
    covariate_design,
    separated_levels,
    separation_error,
)
from reimpact.design.propensity import (
    PropensityModel,
    PropensityScores,
    bound_scores,
    cross_fitted_scores,
    estimate_propensity,
)
from reimpact.design.weights import balancing_weights, effective_sample_size
from reimpact.estimators.aipw import CrossFittedAIPW
from reimpact.estimators.matching.matcher import PropensityMatcher
from reimpact.estimators.weighting import PropensityWeighting
from reimpact.exceptions import DesignError


def simulate(n, seed):
    """Heterogeneous effects with known ATE, ATT and ATC (population values by large draws)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    e = 1 / (1 + np.exp(-(-0.4 + 0.7 * x[:, 0] - 0.5 * x[:, 1])))
    t = (rng.random(n) < e).astype(np.int8)
    tau = 1.0 + 0.8 * x[:, 0]
    y = x[:, 0] + 0.5 * x[:, 1] + 0.3 * x[:, 2] + t * tau + rng.normal(size=n)
    return x, t, y, tau


@pytest.fixture(scope="module")
def data():
    x, t, y, tau = simulate(20_000, 1)
    design = covariate_design(pd.DataFrame(x, columns=["a", "b", "c"]), ["a", "b", "c"], [])
    scores = estimate_propensity(design, t, "logistic", clip=0.001)
    return design, scores, t, y, tau


@pytest.mark.parametrize("estimand", ["ATT", "ATC", "ATE"])
def test_every_estimator_recovers_known_effects(data, estimand):
    """Sample-truth check at n = 20,000: each estimate within 4 standard errors of the mean of the
    individual effects over its target units (all, treated or control; the matched ones for
    matching without replacement, whose caliper changes the estimand)."""
    design, scores, t, y, tau = data
    target = {"ATE": np.ones(t.size, bool), "ATT": t == 1, "ATC": t == 0}[estimand]
    checks = [
        (effect, tau[target].mean())
        for effect in [
            PropensityMatcher(estimand=estimand, replace=True, caliper=None)
            .fit(scores.scores, t, score_design=scores.design)
            .estimate(y),
            PropensityWeighting(estimand).fit(scores, t).estimate(y),
            CrossFittedAIPW(estimand).fit(design.matrix, t, y).estimate(),
        ]
    ]
    if estimand == "ATT":  # without replacement needs a larger pool than focal units (not so for ATC)
        psm = PropensityMatcher(estimand=estimand, replace=False, caliper=0.2)
        psm.fit(scores.scores, t, score_design=scores.design)
        checks.append((psm.estimate(y), tau[psm.results_[0].matched_focal].mean()))
    for effect, truth in checks:
        assert abs(effect.estimate - truth) < 4 * effect.std_error, effect.summary()
        assert 0 < effect.std_error < 0.1


def test_overlap_weights_target_the_overlap_population(data):
    design, scores, t, y, tau = data
    effect = PropensityWeighting("ATT", weights="overlap").fit(scores, t).estimate(y)
    e = scores.scores
    ato = np.sum(e * (1 - e) * tau) / np.sum(e * (1 - e))  # E[e(1-e) tau(X)] / E[e(1-e)]
    assert effect.estimand == "ATO"
    assert abs(effect.estimate - ato) < 4 * effect.std_error


def test_weights_and_effective_sample_size():
    e = np.array([0.2, 0.5, 0.8, 0.5])
    t = np.array([1, 1, 0, 0])
    np.testing.assert_allclose(balancing_weights(e, t, "ATE"), [5, 2, 5, 2])
    np.testing.assert_allclose(balancing_weights(e, t, "ATT"), [1, 1, 4, 1])
    np.testing.assert_allclose(balancing_weights(e, t, "ATC"), [4, 1, 1, 1])
    np.testing.assert_allclose(balancing_weights(e, t, "ATO"), [0.8, 0.5, 0.8, 0.5])
    assert effective_sample_size(np.ones(10)) == pytest.approx(10)
    assert effective_sample_size(np.array([1.0, 0.0])) == pytest.approx(1)


@pytest.mark.slow
def test_aipw_agrees_with_econml(cohort):
    """Our cross-fitted AIPW ATE and EconML's LinearDRLearner ATE agree within one standard error."""
    from econml.dr import LinearDRLearner
    from sklearn.linear_model import LinearRegression, LogisticRegression

    data = cohort.data.dropna(subset=["composite_score", "education", "months_abroad"])
    covariates = [
        "age",
        "sex",
        "education",
        "household_size",
        "months_abroad",
        "return_type",
        "vulnerable",
        "employed_before_return",
        "months_since_return",
        "country",
    ]
    design = covariate_design(data, covariates, ["sex", "education", "return_type", "country"])
    t = data["economic_support"].to_numpy()
    y = data["composite_score"].to_numpy()
    ours = CrossFittedAIPW("ATE", folds=5, random_state=0).fit(design.matrix, t, y).estimate()
    learner = LinearDRLearner(
        model_propensity=LogisticRegression(C=1e6, max_iter=2000),
        model_regression=LinearRegression(),
        cv=5,
        random_state=0,
    )
    learner.fit(y, t, X=None, W=design.matrix)
    theirs = float(np.ravel(learner.ate())[0])
    assert abs(ours.estimate - theirs) < ours.std_error, (ours.estimate, theirs, ours.std_error)


def lalonde() -> tuple[pd.DataFrame, list[str]]:
    """NSW treated units with CPS controls and the Dehejia-Wahba (1999) covariates."""
    import causaldata

    nsw = causaldata.nsw_mixtape.load_pandas().data
    cps = causaldata.cps_mixtape.load_pandas().data
    frame = pd.concat([nsw[nsw.treat == 1], cps], ignore_index=True).drop(columns="data_id")
    frame = frame.astype(float)
    for column in ("age", "educ", "re74", "re75"):
        frame[f"{column}2"] = frame[column] ** 2
    frame["u74"] = (frame.re74 == 0).astype(float)
    frame["u75"] = (frame.re75 == 0).astype(float)
    frame["educ_re74"] = frame.educ * frame.re74
    covariates = [
        "age",
        "age2",
        "educ",
        "educ2",
        "marr",
        "nodegree",
        "black",
        "hisp",
        "re74",
        "re75",
        "re742",
        "re752",
        "u74",
        "u75",
        "educ_re74",
    ]
    return frame, covariates


def test_lalonde_intervals_cover_the_experimental_benchmark():
    """Default PSM and AIPW ATT intervals cover 1,794 dollars (NSW treated vs CPS controls)."""
    frame, covariates = lalonde()
    design = covariate_design(frame, covariates, [])
    t = frame.treat.to_numpy().astype(np.int8)
    y = frame.re78.to_numpy()
    scores = estimate_propensity(design, t, "logistic", clip=0.001)
    naive = y[t == 1].mean() - y[t == 0].mean()
    psm = PropensityMatcher().fit(scores.scores, t, covariates=design.matrix, score_design=scores.design)
    aipw = CrossFittedAIPW("ATT", folds=5).fit(design.matrix, t, y)
    for effect in (psm.estimate(y, "re78"), aipw.estimate(0, "re78")):
        assert effect.covers(1794.0), effect.summary()
    assert naive < -8000  # the raw comparison with CPS controls is badly biased


def test_no_overlap_is_an_error():
    t = np.r_[np.ones(20), np.zeros(20)].astype(np.int8)
    given_scores = np.r_[np.full(20, 0.9), np.full(20, 0.1)]
    design = covariate_design(pd.DataFrame({"x": np.arange(40.0)}), ["x"], [])
    with pytest.raises(DesignError, match="no overlap"):
        estimate_propensity(design, t, "column", 0.01, given_scores)


def test_perfect_separation_is_an_error():
    x = np.arange(40.0)
    t = (x >= 20).astype(np.int8)
    design = covariate_design(pd.DataFrame({"x": x, "z": np.sin(x)}), ["x", "z"], [])
    with pytest.raises(DesignError, match="perfect or quasi-perfect separation"):
        estimate_propensity(design, t, "logistic", 0.01)


def test_separation_by_a_category_names_the_level():
    frame = pd.DataFrame({"country": ["A"] * 10 + ["B"] * 30, "age": np.arange(40.0) % 7})
    t = np.r_[np.zeros(10), np.tile([0, 1], 15)].astype(np.int8)
    levels = separated_levels(frame, ["country"], t)
    assert levels == [SeparatedLevel("country", "A", 10, "control")]
    with pytest.raises(DesignError, match="every unit with country=A is control"):
        raise separation_error(levels[0])


def test_firth_penalised_fit_stays_finite_under_separation():
    """Firth's penalty keeps the coefficients finite where maximum likelihood diverges; on data
    without separation it is close to maximum likelihood."""
    from reimpact.design.propensity import fit_logistic

    x = np.column_stack([np.ones(40), np.r_[np.ones(5), np.zeros(35)], np.arange(40) % 7])
    t = np.r_[np.zeros(5), np.tile([0, 1], 17), [1]]
    with pytest.raises(DesignError, match="does not converge"):
        fit_logistic(x, t)
    beta = fit_logistic(x, t, firth=True)
    assert np.all(np.isfinite(beta)) and beta[1] < -1
    rng = np.random.default_rng(0)
    z = np.column_stack([np.ones(2000), rng.normal(size=2000)])
    tz = (rng.random(2000) < 1 / (1 + np.exp(-(0.3 + z[:, 1])))).astype(float)
    np.testing.assert_allclose(fit_logistic(z, tz, firth=True), fit_logistic(z, tz), atol=0.01)


def test_constant_covariate_is_an_error():
    frame = pd.DataFrame({"age": np.arange(10.0), "sex": ["m"] * 10})
    with pytest.raises(DesignError, match="covariates: 'sex': is constant"):
        covariate_design(frame, ["age", "sex"], ["sex"])


def test_bounds_by_estimand():
    """ATT bounds the controls' scores above only, ATC the treated units' below only, ATE both
    sides, overlap weights never; the counts are per side."""
    e = np.array([0.001, 0.5, 0.999, 0.001, 0.5, 0.999])
    t = np.array([1, 1, 1, 0, 0, 0])
    att = bound_scores(e, t, "ATT", 0.01)
    np.testing.assert_allclose(att.scores, [0.001, 0.5, 0.999, 0.001, 0.5, 0.99])
    assert (att.n_below, att.n_above) == (0, 1)
    atc = bound_scores(e, t, "ATC", 0.01)
    np.testing.assert_allclose(atc.scores, [0.01, 0.5, 0.999, 0.001, 0.5, 0.999])
    assert (atc.n_below, atc.n_above) == (1, 0)
    ate = bound_scores(e, t, "ATE", 0.01)
    np.testing.assert_allclose(ate.scores, [0.01, 0.5, 0.99, 0.01, 0.5, 0.99])
    assert (ate.n_below, ate.n_above) == (2, 2)
    ato = bound_scores(e, t, "ATO", 0.01)
    np.testing.assert_array_equal(ato.scores, e)
    assert ato.n_bounded == 0 and ato.note() is None
    assert att.note() == "propensity scores bounded where their weights explode: 1 lowered to 0.99"


def test_lalonde_ipw_and_overlap_weights_equal_hand_computed_hajek():
    """On LaLonde (NSW treated, CPS controls) the default IPW ATT and the overlap-weight estimate
    equal the Hajek estimates computed by hand from the same logistic score (within 2%; symmetric
    clipping at 0.01/0.99 used to turn the ATT negative)."""
    frame, covariates = lalonde()
    design = covariate_design(frame, covariates, [])
    t = frame.treat.to_numpy().astype(np.int8)
    y = frame.re78.to_numpy()
    scores = estimate_propensity(design, t, "logistic", clip=0.01)
    e = scores.scores
    odds = e[t == 0] / (1 - e[t == 0])
    hand_att = y[t == 1].mean() - np.sum(odds * y[t == 0]) / odds.sum()
    w1, w0 = 1 - e[t == 1], e[t == 0]
    hand_ato = np.sum(w1 * y[t == 1]) / w1.sum() - np.sum(w0 * y[t == 0]) / w0.sum()
    att = PropensityWeighting("ATT").fit(scores, t).estimate(y)
    ato = PropensityWeighting("ATT", weights="overlap").fit(scores, t).estimate(y)
    assert att.estimate == pytest.approx(hand_att, rel=0.02)
    assert ato.estimate == pytest.approx(hand_ato, rel=0.02)
    assert 1000 < hand_att < 2500 and hand_ato > 0


def test_bounding_that_moves_an_estimate_is_warned():
    """A control with a score of 0.999 has odds 999 for the ATT: bounding it at 0.99 moves the
    estimate by far more than a tenth of a standard error, and the effect says so."""
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    t = (rng.random(n) < 0.3).astype(np.int8)
    e = np.clip(0.3 + 0.0 * x, 0, 1)
    e[np.flatnonzero(t == 0)[0]] = 0.999
    y = x + rng.normal(size=n)
    y[np.flatnonzero(t == 0)[0]] = 50.0
    effect = PropensityWeighting("ATT").fit(PropensityScores(e, "column", 0.01, None), t).estimate(y)
    assert len(effect.warnings) == 1 and "bounding the propensity scores moved" in effect.warnings[0]
    assert "1 lowered to 0.99" in " ".join(effect.notes)


@pytest.mark.slow
def test_gradient_boosting_scores_are_cross_fitted_and_calibrated():
    """With a treatment independent of the covariates, in-sample boosted scores spread out (the
    model memorises noise) while cross-fitted, calibrated scores stay near the treated share."""
    rng = np.random.default_rng(2)
    n = 2000
    x = rng.normal(size=(n, 5))
    t = (rng.random(n) < 0.3).astype(np.int8)
    from sklearn.ensemble import HistGradientBoostingClassifier

    raw = HistGradientBoostingClassifier(random_state=0).fit(x, t).predict_proba(x)[:, 1]
    crossed = cross_fitted_scores(x, t, "gradient_boosting", random_state=0)
    calibrated = PropensityModel("gradient_boosting").fit(x, t).predict(x)
    assert raw.std() > 0.1 and calibrated.std() < raw.std()
    assert crossed.std() < 0.05
    assert abs(crossed.mean() - t.mean()) < 0.02
    design = covariate_design(pd.DataFrame(x, columns=list("abcde")), list("abcde"), [])
    scores = estimate_propensity(design, t, "gradient_boosting", 0.01)
    np.testing.assert_allclose(scores.scores, cross_fitted_scores(design.matrix, t, "gradient_boosting"))


def test_aipw_uses_the_chosen_propensity_learner():
    x, t, y, _ = simulate(1500, 4)
    logistic = CrossFittedAIPW("ATT", folds=3).fit(x, t, y)
    boosted = CrossFittedAIPW("ATT", folds=3, propensity_learner="gradient_boosting").fit(x, t, y)
    assert not np.allclose(logistic.raw_e_, boosted.raw_e_)
    assert "gradient_boosting propensity score, linear outcome models" in boosted.estimate().notes[0]
