"""AIPW omitted-variable bounds (reimpact.sensitivity.dml): agreement with DoubleML's
``sensitivity_analysis`` and ``sensitivity_benchmark`` on the same cross-fitted nuisances, known
cases, and the ``sensitivity.dml`` check of a study run (results.json, report, weights)."""

from __future__ import annotations

import copy
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from reimpact.config.study import Study
from reimpact.estimators.aipw import CrossFittedAIPW
from reimpact.exceptions import StudyError
from reimpact.pipeline import run_study
from reimpact.sensitivity.dml import bounds, dml_bounds, sensitivity_elements

N = 800


@pytest.fixture(scope="module")
def simulated():
    """Three covariates, a logistic score and a constant effect of 1."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(N, 3))
    t = (rng.random(N) < 1 / (1 + np.exp(-(0.5 * x[:, 0] - 0.4 * x[:, 1])))).astype(int)
    y = 1.0 * t + x @ np.array([1.0, 0.5, -0.3]) + rng.normal(size=N)
    return x, t, y


def _doubleml(x, t, y, fit, score, weights=None):
    """DoubleML's IRM fed reimpact's cross-fitted predictions (no clipping of its own)."""
    dml = pytest.importorskip("doubleml")
    from doubleml.utils import PSProcessorConfig
    from sklearn.linear_model import LinearRegression, LogisticRegression

    columns = ["y", "d", *[f"x{k}" for k in range(x.shape[1])]]
    data = dml.DoubleMLData(pd.DataFrame(np.column_stack([y, t, x]), columns=columns), "y", "d")
    model = dml.DoubleMLIRM(
        data, LinearRegression(), LogisticRegression(), score=score, weights=weights,
        ps_processor_config=PSProcessorConfig(clipping_threshold=1e-12),
    )  # fmt: skip
    predictions = {"ml_g0": fit.mu0_, "ml_g1": fit.mu1_, "ml_m": fit.e_[:, None]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(external_predictions={"d": predictions})
        model.sensitivity_analysis(cf_y=0.04, cf_d=0.05, rho=0.8, level=0.9)
    return model


@pytest.mark.parametrize("estimand", ["ATE", "ATT", "ATC"])
def test_bounds_agree_with_doubleml(simulated, estimand):
    """Same nuisances: theta, sigma2, nu2, the bias bound and the bounds of theta agree to 1e-8
    and the robustness value RV to DoubleML's optimiser tolerance. DoubleML's standard errors of
    the lower and upper bound are those of our upper and lower bound (its scaled score is minus
    the influence function), without the n / (n - 1) factor of reimpact's sandwich."""
    x, t, y = simulated
    fit = CrossFittedAIPW(estimand, folds=5).fit(x, t, y)
    weights = None
    if estimand == "ATC":  # DoubleML's IRM with the ATC's weights omega and omega_bar
        q = 1 - t.mean()
        weights = {"weights": (1 - t) / q, "weights_bar": ((1 - fit.e_) / q)[:, None]}
    score = "ATTE" if estimand == "ATT" else "ATE"
    model = _doubleml(x, t, y, fit, score, weights)
    ours = dml_bounds(fit, 0, "y", cf_y=0.04, cf_d=0.05, rho=0.8, level=0.9)
    theirs = model.sensitivity_params
    elements = model.framework.sensitivity_elements
    assert ours.estimate == pytest.approx(model.coef[0], abs=1e-10)
    assert ours.sigma2 == pytest.approx(elements["sigma2"].item(), rel=1e-10)
    assert ours.nu2 == pytest.approx(elements["nu2"].item(), rel=1e-10)
    assert ours.bias_bound == pytest.approx(
        0.8 * math.sqrt(0.04 * 0.05 / 0.95) * elements["max_bias"].item(), rel=1e-10
    )
    assert ours.theta_lower == pytest.approx(theirs["theta"]["lower"][0], abs=1e-8)
    assert ours.theta_upper == pytest.approx(theirs["theta"]["upper"][0], abs=1e-8)
    small = math.sqrt((N - 1) / N)
    assert ours.se_upper * small == pytest.approx(theirs["se"]["lower"][0], rel=1e-8)
    assert ours.se_lower * small == pytest.approx(theirs["se"]["upper"][0], rel=1e-8)
    z = 1.2815515655446004  # Phi^-1(0.9): one-sided bounds, as DoubleML
    assert ours.ci_lower == pytest.approx(ours.theta_lower - z * ours.se_lower, abs=1e-12)
    assert ours.theta_lower - z * ours.se_upper * small == pytest.approx(
        theirs["ci"]["lower"][0], abs=1e-8
    )
    assert ours.rv == pytest.approx(theirs["rv"][0], abs=1e-4)


def test_benchmark_agrees_with_doubleml_gain_statistics(simulated):
    """Leaving out a covariate: cf_y, cf_d, rho and the change in theta as DoubleML's
    gain_statistics computes them from the long and the short model."""
    pytest.importorskip("doubleml")
    from doubleml.utils import gain_statistics

    x, t, y = simulated
    long = CrossFittedAIPW("ATE", folds=5).fit(x, t, y)
    short = CrossFittedAIPW("ATE", folds=5).fit(x[:, 1:], t, y)
    ours = dml_bounds(long, 0, "y", short_fits={"x0": short}).benchmarks.iloc[0]
    theirs = gain_statistics(_doubleml(x, t, y, long, "ATE"), _doubleml(x, t, y, short, "ATE"))
    for key in ("cf_y", "cf_d", "rho", "delta_theta"):
        assert ours[key] == pytest.approx(theirs[key][0], abs=1e-10), key
    assert ours["cf_y"] > 0.1  # x0 explains much of the outcome: a strong benchmark
    assert ours["theta_lower"] < long.influence(0)[0] < ours["theta_upper"]


def test_no_confounding_gives_the_estimate_and_bounds_widen_with_strength(simulated):
    x, t, y = simulated
    fit = CrossFittedAIPW("ATT", folds=4).fit(x, t, y)
    el = sensitivity_elements(fit)
    none = bounds(el, 0.0, 0.0, 1.0, 0.95)
    se = fit.estimate(0).std_error
    assert none["theta_lower"] == none["theta_upper"] == pytest.approx(el.theta, abs=1e-14)
    assert none["ci_lower"] == pytest.approx(el.theta - 1.6448536269514722 * se, abs=1e-12)
    grid = [bounds(el, cf, cf, 1.0, 0.95) for cf in np.linspace(0.0, 0.5, 11)]
    assert np.all(np.diff([b["theta_lower"] for b in grid]) < 0)
    assert np.all(np.diff([b["theta_upper"] for b in grid]) > 0)
    assert np.all(np.diff([b["ci_lower"] for b in grid]) < 0)
    assert np.all(np.diff([b["bias_bound"] for b in grid]) > 0)


def test_robustness_values_bring_the_bounds_to_zero(simulated):
    x, t, y = simulated
    fit = CrossFittedAIPW("ATE", folds=5).fit(x, t, y)
    result = dml_bounds(fit, 0, "y", rho=0.7)
    el = sensitivity_elements(fit)
    assert 0 < result.rva < result.rv < 1
    assert bounds(el, result.rv, result.rv, 0.7, 0.95)["theta_lower"] == pytest.approx(0, abs=1e-10)
    assert bounds(el, result.rva, result.rva, 0.7, 0.95)["ci_lower"] == pytest.approx(0, abs=1e-8)
    # no effect at all: no confounding is needed to reach zero
    null = dml_bounds(CrossFittedAIPW("ATE").fit(x, t, y - t), 0, "y")
    assert null.rva == 0.0 and null.rv < 0.05


STUDY = {
    "name": "dml-study",
    "data": {"builtin": "simulated-returnees", "n": 1500, "seed": 1},
    "treatment": {"column": "mentored", "treated": [1]},
    "population": {"country": ["GIN", "SEN", "MAR"]},
    "outcomes": ["composite_score", "economic_score"],
    "covariates": ["age", "sex", "education", "return_type", "vulnerable", "country"],
    "methods": {"aipw": {"folds": 3}},
    "sensitivity": {
        "rosenbaum": False,
        "omitted_variable": False,
        "dml": {"cf_y": 0.05, "benchmarks": ["age", "country"]},
    },
}


def test_study_run_writes_the_bounds_to_results_and_report(tmp_path):
    study = copy.deepcopy(STUDY) | {"primary_outcome": "economic_score"}
    results = run_study(Study.from_dict(study), out_dir=tmp_path)
    payload = json.loads((tmp_path / "results.json").read_text())
    dml = payload["sensitivity"]["dml"]
    assert [d["outcome"] for d in dml] == ["composite_score", "economic_score"]
    first = dml[0]
    aipw = results.effects.get("composite_score", "aipw")
    assert first["estimate"] == pytest.approx(aipw.estimate, abs=1e-12)
    assert first["cf_y"] == 0.05 and first["cf_d"] == 0.03 and first["estimand"] == "ATT"
    assert first["theta_lower"] < first["estimate"] < first["theta_upper"]
    # country (categorical: all its indicator columns) and age left out in turn
    assert [b["benchmark"] for b in first["benchmarks"]] == ["age", "country"]
    html = (tmp_path / "report.html").read_text()
    assert "Omitted-variable bounds on the AIPW estimates" in html
    assert "RVa" in html
    assert "Contours of the AIPW bound closer to zero for economic_score." in html  # the primary
    assert (tmp_path / "figures" / "dml_contour.png").exists()


def test_with_sampling_weights_the_check_is_recorded_as_not_run():
    study = Study.from_dict(copy.deepcopy(STUDY))
    from reimpact.sensitivity.runner import UNWEIGHTED_ONLY

    assert "dml" in UNWEIGHTED_ONLY
    survey = copy.deepcopy(STUDY) | {"weights": "sampling_weight"}
    survey["data"] = {"builtin": "simulated-returnees-survey", "n": 20000, "seed": 1}
    results = run_study(Study.from_dict(survey))
    assert results.sensitivity is not None and results.sensitivity.dml == []
    record = [r for r in results.not_run if r["check"] == "dml"]
    assert record and record[0]["reason"] == UNWEIGHTED_ONLY["dml"]
    assert study.sensitivity is not None and study.sensitivity.dml is not None


@pytest.mark.parametrize(
    "change,words",
    [
        ({"methods": {"psm": {}}}, "add 'aipw' to methods"),
        ({"sensitivity": {"dml": {"benchmarks": ["income"]}}}, "'income' is not a covariate"),
        ({"sensitivity": {"dml": {"rho": 0}}}, "rho = 0 means no bias"),
        ({"sensitivity": {"dml": {"cf_d": 1}}}, "sensitivity.dml.cf_d"),
    ],
)
def test_bad_dml_settings_name_the_field(change, words):
    study = copy.deepcopy(STUDY) | change
    with pytest.raises(StudyError, match=words) as info:
        Study.from_dict(study, source="bad.yaml")
    assert "\n" not in str(info.value)


def test_bounds_of_a_suppressed_effect_are_not_published():
    """The disclosure gate drops the AIPW bounds of an effect resting on fewer than k units."""
    from reimpact.disclosure import Gate, publish

    def effect(outcome: str, n_treated: int) -> dict:
        return {"outcome": outcome, "method": "aipw", "estimand": "ATT", "estimate": 1.0,
                "std_error": 0.1, "ci_lower": 0.8, "ci_upper": 1.2, "p_value": 0.01,
                "n_treated": n_treated, "n_control": 50, "notes": [], "warnings": []}  # fmt: skip

    bounds = [{"outcome": name, "method": "aipw", "theta_lower": 0.9} for name in ("a", "b")]
    payload = {"effects": [effect("a", 4), effect("b", 40)], "sensitivity": {"dml": bounds}}
    published = publish(payload, Gate(min_cell_size=10))
    assert [b["outcome"] for b in published["sensitivity"]["dml"]] == ["b"]


def test_no_outcome_variation_gives_no_bias_and_finite_bounds():
    """sigma2 = 0 (an outcome the regressions fit exactly): S = 0, the bounds are the estimate."""
    from reimpact.sensitivity.dml import SensitivityElements

    psi = np.array([0.1, -0.1, 0.05, -0.05])
    el = SensitivityElements(0.5, psi, 0.0, 3.0, np.zeros(4), np.array([1.0, -1.0, 0.5, -0.5]))
    found = bounds(el, 0.1, 0.1, 1.0, 0.95)
    assert found["bias_bound"] == 0 and found["theta_lower"] == found["theta_upper"] == 0.5
    assert found["se_lower"] == found["se_upper"] == pytest.approx(math.sqrt(4 / 3 * psi @ psi))
