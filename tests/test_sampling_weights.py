"""Sampling weights (``weights: COLUMN``) through every step (issue 15).

Checked: weighted IPW and the weighted naive difference equal hand computations on a small case
(to 1e-8); the survey-weighted logistic score equals statsmodels' weighted GLM; the weighted
balance statistics use the sampling weights; and on a simulated survey that oversamples vulnerable
returnees (whose mentoring effect is larger), the weighted AIPW, IPW and matching intervals cover
the population ATT while the unweighted AIPW and IPW intervals do not (one seeded draw of a
150,000-returnee population; the misses are 4 standard errors or more, the weighted estimates are
within 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from reimpact.config.study import Study
from reimpact.datasets import SURVEY_INCLUSION, draw_survey_sample, simulate_returnees
from reimpact.design.propensity import fit_logistic
from reimpact.diagnostics.balance import balance_table
from reimpact.disclosure import audit
from reimpact.estimators import AIPWEstimator, IPWEstimator, MatchingEstimator, NaiveEstimator
from reimpact.exceptions import DataError, StudyError
from reimpact.pipeline import run_study

# a small case: outcome, treatment, a given score, sampling weights
Y = np.array([3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0, 5.5, 3.5])
T = np.array([1, 0, 1, 0, 1, 1, 0, 0, 0, 1])
E = np.array([0.6, 0.3, 0.7, 0.2, 0.5, 0.8, 0.4, 0.35, 0.55, 0.45])
S = np.array([1.0, 2.5, 0.5, 3.0, 1.5, 2.0, 1.0, 4.0, 0.8, 1.2])
X = pd.DataFrame({"x": np.arange(10.0)})


def _hand_ipw_att() -> tuple[float, float]:
    """Weighted Hajek ATT with the score as known, and its linearisation standard error."""
    w = np.where(T == 1, S, S * E / (1 - E))
    mu1 = np.sum((w * Y)[T == 1]) / np.sum(w[T == 1])
    mu0 = np.sum((w * Y)[T == 0]) / np.sum(w[T == 0])
    psi = np.where(T == 1, w * (Y - mu1) / np.sum(w[T == 1]), -w * (Y - mu0) / np.sum(w[T == 0]))
    n = Y.size
    return mu1 - mu0, float(np.sqrt(n / (n - 1) * np.sum(psi**2)))


def test_weighted_ipw_equals_a_hand_computation() -> None:
    effect = IPWEstimator(clip=0.0).fit(X, T, Y, sample_weight=S, propensity=E).effect_
    estimate, se = _hand_ipw_att()
    assert effect.estimate == pytest.approx(estimate, abs=1e-8)
    assert effect.std_error == pytest.approx(se, abs=1e-8)
    # by hand: mu1 = 34.7 / 6.2, mu0 = 21.830617 / 5.619720 (odds weights s e / (1 - e))
    assert effect.estimate == pytest.approx(34.7 / 6.2 - 3.8846457, abs=1e-6)


def test_weighted_naive_difference_equals_a_hand_computation() -> None:
    effect = NaiveEstimator().fit(X, T, Y, sample_weight=S).effect_
    mu1 = np.average(Y[T == 1], weights=S[T == 1])
    mu0 = np.average(Y[T == 0], weights=S[T == 0])
    psi = np.where(T == 1, S * (Y - mu1) / S[T == 1].sum(), -S * (Y - mu0) / S[T == 0].sum())
    assert effect.estimate == pytest.approx(mu1 - mu0, abs=1e-10)
    assert effect.std_error == pytest.approx(np.sqrt(10 / 9 * np.sum(psi**2)), abs=1e-10)
    assert effect.se_type == "linearisation (sampling weights)"


def test_weighted_logistic_score_equals_statsmodels() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    x = np.column_stack([np.ones(400), rng.normal(size=(400, 2))])
    t = (rng.random(400) < 1 / (1 + np.exp(-x @ [0.2, 1.0, -0.5]))).astype(int)
    s = rng.uniform(0.5, 3.0, 400)
    ours = fit_logistic(x, t, sample_weight=s)
    glm = sm.GLM(t, x, family=sm.families.Binomial(), var_weights=s).fit()
    np.testing.assert_allclose(ours, glm.params, atol=1e-7)


def test_weighted_estimators_use_the_weights_in_their_scores() -> None:
    """With an estimated score, the IPW score term uses the weighted score equations: the
    estimate equals the hand formula with the weighted logistic fit."""
    rng = np.random.default_rng(5)
    x = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    t = (rng.random(600) < 1 / (1 + np.exp(-x["a"]))).astype(int)
    y = x["a"] + t + rng.normal(size=600)
    s = np.exp(x["b"].to_numpy())
    design = np.column_stack([np.ones(600), x.to_numpy()])
    e = 1 / (1 + np.exp(-design @ fit_logistic(design, t, sample_weight=s)))
    w = np.where(t == 1, s, s * e / (1 - e))
    hand = np.average(y[t == 1], weights=w[t == 1]) - np.average(y[t == 0], weights=w[t == 0])
    assert IPWEstimator().fit(x, t, y, sample_weight=s).effect_.estimate == pytest.approx(hand, abs=1e-8)
    for estimator in (AIPWEstimator(), MatchingEstimator(replace=False)):
        assert estimator.fit(x, t, y, sample_weight=s).effect_.covers(1.0)


def test_balance_is_weighted_by_the_sampling_weights() -> None:
    frame = pd.DataFrame({"x": Y})
    table = balance_table(frame, ["x"], [], T, {}, "ATT", 1, S)
    row = table.frame.iloc[0]
    assert row["mean_treated"] == pytest.approx(np.average(Y[T == 1], weights=S[T == 1]))
    assert row["mean_control"] == pytest.approx(np.average(Y[T == 0], weights=S[T == 0]))
    n_eff = S[T == 1].sum() ** 2 / np.sum(S[T == 1] ** 2)
    assert table.effective_n["unadjusted"]["treated"] == pytest.approx(n_eff)


# the shipped survey-weighted study, on its first outcome, without weights (the weighted runs add
# them back) and with the checks that are not defined under sampling weights asked for
SHIPPED = yaml.safe_load((Path(__file__).parents[1] / "studies" / "mentoring_survey.yaml").read_text())
SURVEY = {
    **{k: v for k, v in SHIPPED.items() if k != "weights"},
    "outcomes": ["composite_score"],
    "primary_outcome": "composite_score",
    "methods": {"psm": {}, "ipw": {}, "aipw": {}},
    "sensitivity": {"evalue": True, "rosenbaum": {}, "omitted_variable": {}},
}


def test_the_survey_design_is_the_documented_one() -> None:
    cohort = simulate_returnees(n=5000, seed=2)
    survey = draw_survey_sample(cohort, seed=2)
    vulnerable = survey.data["vulnerable"] == 1
    assert set(survey.data.loc[vulnerable, "sampling_weight"]) == {1 / SURVEY_INCLUSION[1]}
    assert set(survey.data.loc[~vulnerable, "sampling_weight"]) == {1 / SURVEY_INCLUSION[0]}
    # the weights add up to about the population size (Horvitz-Thompson)
    assert survey.data["sampling_weight"].sum() == pytest.approx(5000, rel=0.05)


def test_weighted_estimates_recover_the_population_att_that_unweighted_ones_miss() -> None:
    population = simulate_returnees(n=150000, seed=1).truth
    truth = population.query(
        "treatment == 'mentored' and outcome == 'composite_score' and estimand == 'ATT'"
    ).effect.item()
    weighted = run_study(Study.from_dict({**SURVEY, "weights": "sampling_weight"}))
    unweighted = run_study(Study.from_dict(SURVEY))
    for method in ("psm", "ipw", "aipw"):
        assert weighted.effects.get("composite_score", method).covers(truth), method
    for method in ("ipw", "aipw"):
        assert not unweighted.effects.get("composite_score", method).covers(truth), method
    # the reported truth is the weighted mean of the analysed rows' individual effects
    assert weighted.truth.effect.item() == pytest.approx(truth, abs=0.002)
    assert weighted.design.sampling_weights["column"] == "sampling_weight"
    assert weighted.design.sampling_weights["design_effect"] > 1.2
    # E-values run; checks not defined with sampling weights say so
    assert weighted.sensitivity is not None and weighted.sensitivity.evalues
    skipped = {record["check"]: record["reason"] for record in weighted.sensitivity.not_run}
    assert "not defined with sampling weights" in skipped["rosenbaum"]
    assert "unweighted least squares" in skipped["omitted_variable"]


def test_the_report_says_the_estimates_are_weighted(tmp_path) -> None:
    small = {**SURVEY, "data": {"builtin": "simulated-returnees-survey", "n": 20000, "seed": 3}}
    run_study(Study.from_dict({**small, "weights": "sampling_weight"}), out_dir=tmp_path)
    report = (tmp_path / "report.html").read_text()
    assert "Sampling weights" in report and "population the weights represent" in report
    payload = json.loads((tmp_path / "results.json").read_text())
    assert audit(payload, 10) == []
    # weighted effective sample sizes are not counts: published, not withheld as if they were
    effective = payload["balance"]["effective_n"]["unadjusted"]
    assert effective["treated"] < payload["sample"]["treated"]
    assert effective["control"] < payload["sample"]["control"]
    assert payload["design"]["sampling_weights"]["column"] == "sampling_weight"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"weights": "composite_score"}, "weights: 'composite_score' is also an outcome"),
        ({"weights": "w", "propensity": {"separation": "penalise"}}, "propensity.separation"),
        ({"weights": "w", "methods": {"psm": {"replace": False, "se": "bootstrap"}}}, "methods.psm.se"),
    ],
)
def test_weights_that_cannot_work_are_refused_in_the_study(study_dict, change, where) -> None:
    with pytest.raises(StudyError, match=where):
        Study.from_dict({**study_dict, **change})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (lambda n: np.zeros(n), "zero, negative or infinite weights"),
        (lambda n: np.full(n, np.inf), "zero, negative or infinite weights"),
        (lambda n: np.array(["heavy"] * n, dtype=object), "must be numeric for sampling weights"),
    ],
)
def test_bad_weight_columns_are_refused_in_one_line(tmp_path, study_dict, values, message) -> None:
    data = simulate_returnees(n=600, seed=1).data
    data["w"] = values(len(data))
    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    study = Study.from_dict({**study_dict, "data": {"path": str(path)}, "weights": "w"})
    with pytest.raises(DataError, match=message):
        run_study(study)


def test_rows_without_a_weight_are_dropped_and_counted(tmp_path, study_dict) -> None:
    data = simulate_returnees(n=1500, seed=1).data
    data["w"] = 1.0 + data["age"] / 100
    data.loc[data.index[:7], "w"] = np.nan
    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    results = run_study(Study.from_dict({**study_dict, "data": {"path": str(path)}, "weights": "w"}))
    assert results.sample.flow.dropped_missing.get("w", 0) >= 1
