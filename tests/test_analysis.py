"""End to end: the three studies recover the simulated truth; results.json; study options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reimpact.cli import main
from reimpact.config.study import Study, load_study
from reimpact.exceptions import DesignError
from reimpact.pipeline import run_study
from reimpact.results import EFFECT_COLUMNS

STUDIES = Path(__file__).parents[1] / "studies"


@pytest.fixture(scope="module", params=["orion_mentoring", "referrals", "economic_support"])
def study_run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    return run_study(load_study(STUDIES / f"{request.param}.yaml"), out_dir=out), out


@pytest.mark.slow
def test_every_interval_covers_the_true_effect(study_run):
    results, _ = study_run
    truth = dict(zip(results.truth.outcome, results.truth.effect, strict=True))
    assert set(truth) == set(results.study.outcomes)
    for effect in results.effects:
        if effect.method == "naive":
            continue
        assert effect.covers(truth[effect.outcome]), (effect.summary(), truth[effect.outcome])
    methods = {e.method for e in results.effects}
    assert methods == {"naive", "psm", "ipw", "aipw"}


@pytest.mark.slow
def test_the_audit_finds_nothing_in_a_shipped_study(study_run, capsys):
    _, out = study_run
    assert main(["audit", str(out)]) == 0
    assert "no count under 10 and nothing recoverable by subtraction" in capsys.readouterr().out


@pytest.mark.slow
def test_results_json_schema(study_run):
    results, out = study_run
    payload = json.loads((out / "results.json").read_text())
    assert set(payload) >= {"study", "data", "sample", "design", "effects", "truth", "warnings"}
    assert len(payload["effects"]) == 4 * len(results.study.outcomes)
    for entry in payload["effects"]:
        assert set(EFFECT_COLUMNS) | {"se_type", "notes", "warnings"} == set(entry)
        assert entry["ci_lower"] < entry["estimate"] < entry["ci_upper"]
    flow = results.raw_dict()["sample"]  # true counts; published ones may be suppressed
    assert flow["treated"] + flow["control"] == flow["analysed"]
    published = payload["sample"]
    if isinstance(published["treated"], int) and isinstance(published["control"], int):
        assert published["treated"] + published["control"] == published["analysed"]


@pytest.mark.slow
def test_published_directions(study_run):
    """Mentoring small positive; economic support positive on all dimensions; referral negative on
    economic and social scores and satisfaction."""
    results, _ = study_run
    aipw = {e.outcome: e for e in results.effects if e.method == "aipw"}
    name = results.study.name
    if name == "orion-mentoring":
        assert 0 < aipw["composite_score"].estimate < 0.06 and aipw["composite_score"].p_value < 0.05
    elif name == "economic-support":
        for dim in ("economic_score", "social_score", "psychosocial_score"):
            assert aipw[dim].ci_lower > 0
    else:
        for outcome in ("economic_score", "social_score", "satisfaction"):
            assert aipw[outcome].ci_upper < 0


@pytest.mark.slow
def test_naive_is_further_from_the_truth_than_adjusted(study_run):
    results, _ = study_run
    truth = dict(zip(results.truth.outcome, results.truth.effect, strict=True))
    for outcome in results.study.outcomes:
        naive = results.effects.get(outcome, "naive").estimate
        aipw = results.effects.get(outcome, "aipw").estimate
        assert abs(naive - truth[outcome]) > abs(aipw - truth[outcome])


def _study(study_dict, **changes) -> Study:
    study_dict.update(changes)
    return Study.from_dict(study_dict)


def test_same_seed_same_numbers(study_dict):
    study_dict["methods"] = {"psm": {"order": "random"}, "aipw": {}}
    first = run_study(_study(study_dict)).effects.to_frame()
    second = run_study(_study(study_dict)).effects.to_frame()
    assert first.equals(second)


def test_cluster_option_changes_the_standard_error(study_dict):
    study_dict["methods"] = {"psm": {}, "ipw": {}, "aipw": {}}
    plain = run_study(_study(study_dict))
    clustered = run_study(_study(study_dict, cluster="survey_round"))
    for method in ("psm", "ipw", "aipw"):
        effect = clustered.effects.get("composite_score", method)
        assert "cluster-robust by survey_round" in effect.se_type
        assert effect.estimate == pytest.approx(plain.effects.get("composite_score", method).estimate)


def test_trimming_is_counted(study_dict):
    results = run_study(_study(study_dict, propensity={"trim": 0.2}))
    assert results.design.n_trimmed > 0
    psm = results.effects.get("composite_score", "psm")
    assert psm.n_treated + psm.n_control <= results.sample.flow.analysed - results.design.n_trimmed + 1


@pytest.mark.slow
def test_gradient_boosting_scores_reach_every_method(study_dict):
    """``propensity.model: gradient_boosting`` gives cross-fitted scores to matching and is what
    AIPW's score nuisance uses unless ``propensity_learner`` says otherwise."""
    boosted = run_study(
        _study(
            study_dict,
            propensity={"model": "gradient_boosting"},
            methods={"psm": {}, "aipw": {"outcome_learner": "gradient_boosting", "folds": 3}},
        )
    )
    note = " ".join(boosted.effects.get("composite_score", "psm").notes)
    assert "the propensity score is treated as known" in note
    aipw = boosted.effects.get("composite_score", "aipw")
    assert np.isfinite(aipw.std_error)
    assert "gradient_boosting propensity score, gradient_boosting outcome models" in aipw.notes[0]
    logistic = run_study(
        _study(study_dict, methods={"aipw": {"propensity_learner": "logistic", "folds": 3}})
    )
    assert (
        "logistic propensity score, linear outcome models"
        in (logistic.effects.get("composite_score", "aipw").notes[0])
    )


def test_naive_difference_is_cluster_robust_with_a_cluster(study_dict):
    """The naive difference's cluster-robust SE is the Liang-Zeger variance of the regression of Y
    on (1, T), computed here by hand."""
    results = run_study(_study(study_dict, cluster="survey_round"))
    naive = results.effects.get("composite_score", "naive")
    assert naive.se_type == "cluster-robust by survey_round"
    y = results.frame["composite_score"].to_numpy()
    t = results.treated
    g = results.frame["survey_round"].to_numpy()
    x = np.column_stack([np.ones(t.size), t])
    bread = np.linalg.inv(x.T @ x)
    resid = y - x @ (bread @ x.T @ y)
    groups = np.unique(g)
    meat = sum(np.outer(x[g == c].T @ resid[g == c], x[g == c].T @ resid[g == c]) for c in groups)
    g_count = groups.size
    hand = np.sqrt(g_count / (g_count - 1) * (bread @ meat @ bread)[1, 1])
    assert naive.std_error == pytest.approx(hand, rel=1e-9)


def test_rows_without_an_outcome_leave_only_that_outcome(study_dict, tmp_path):
    """A row missing one outcome stays in the analyses of the others (``missing: drop`` used to
    delete it from all); the effect on the incomplete outcome notes the rows it left out."""
    from reimpact.datasets import simulate_returnees

    data = simulate_returnees(n=3000, seed=1).data
    data = data[data.country.isin(["GIN", "SEN", "MAR"])].copy()
    gone = data.sample(frac=0.2, random_state=0).index
    data.loc[gone, "satisfaction"] = np.nan
    path = tmp_path / "export.csv"
    data.to_csv(path, index=False)
    study_dict["data"] = {"path": str(path)}
    study_dict["outcomes"] = ["composite_score", "satisfaction"]
    study_dict["methods"] = {"psm": {}, "aipw": {}}
    results = run_study(_study(study_dict))
    flow = results.sample.flow
    complete = data.composite_score.notna() & data[study_dict["covariates"]].notna().all(axis=1)
    assert flow.analysed == int(complete.sum())
    assert flow.missing_outcome == {"satisfaction": int((complete & data.satisfaction.isna()).sum())}
    full = results.effects.get("composite_score", "aipw")
    part = results.effects.get("satisfaction", "aipw")
    assert full.n_treated + full.n_control == flow.analysed
    assert part.n_treated + part.n_control == flow.analysed - flow.missing_outcome["satisfaction"]
    assert any("without this outcome were left out of its analyses" in n for n in part.notes)
    assert not any("left out" in n for n in full.notes)


def test_mean_imputation_of_a_covariate_leaves_aipw_unbiased():
    """A strong prognostic covariate missing more often among the treated (10% of controls, 40%
    of treated), mean-imputed with a missing indicator (``missing: impute``): AIPW's ATT stays
    within 3 standard errors of the true effect 2 (n = 20,000). Imputing with the mean must not
    import a difference between the groups. (Single imputation cannot recover confounding carried
    by the missing values themselves; the README says so.)"""
    from reimpact.design.covariates import covariate_design
    from reimpact.estimators.aipw import CrossFittedAIPW
    from reimpact.sample import DataSource, prepare_frame

    rng = np.random.default_rng(8)
    n = 20_000
    x1, x2 = rng.normal(size=(2, n))
    t = (rng.random(n) < 1 / (1 + np.exp(-0.8 * x1))).astype(int)
    y = x1 + 3.0 * x2 + 2.0 * t + rng.normal(size=n)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y})
    frame.loc[rng.random(n) < np.where(t == 1, 0.4, 0.1), "x2"] = np.nan
    study = Study.from_dict(
        {
            "name": "imputation",
            "data": {"path": "x.csv"},
            "treatment": {"column": "t"},
            "outcomes": ["y"],
            "covariates": ["x1", "x2"],
            "missing": "impute",
            "methods": {"aipw": {}},
        }
    )
    sample = prepare_frame(study, frame, DataSource("generated", None))
    assert sample.flow.imputed == {"x2": int(frame.x2.isna().sum())}
    assert sample.covariate_columns == ["x1", "x2", "x2_missing"]
    design = covariate_design(sample.frame, sample.covariate_columns, sample.categorical)
    y_obs = sample.frame["y"].to_numpy()
    effect = CrossFittedAIPW("ATT").fit(design.matrix, sample.treatment, y_obs).estimate()
    assert abs(effect.estimate - 2.0) < 3 * effect.std_error


def test_design_errors_exit_2(tmp_path, capsys, study_dict):
    import yaml

    path = tmp_path / "s.yaml"
    study_dict["covariates"] = ["age", "pilot_country"]  # constant within the pilot countries
    path.write_text(yaml.safe_dump(study_dict))
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "covariates: 'pilot_country': is constant" in err


@pytest.mark.slow
def test_sensitivity_checks_run_for_every_study(study_run):
    """The mean placebo effect is within 3 standard errors of 0 and the random common cause
    leaves the estimate within one standard error (DoWhy's refuters on reimpact's PSM and AIPW)."""
    results, out = study_run
    sensitivity = results.sensitivity
    assert sensitivity is not None
    refutations = sensitivity.refutations
    assert {r.method for r in refutations} == {"psm", "aipw"}
    for r in refutations:
        if r.refuter == "placebo_treatment":
            # the 95% interval misses 0 in 5% of checks by construction; this test allows the
            # mean placebo effect 3 of its standard errors (the interval's half-width is 1.96)
            half = (r.refuted_ci_upper - r.refuted_ci_lower) / 2
            assert abs(r.refuted) <= 3 / 1.96 * half, r
        if r.refuter == "random_common_cause":
            assert abs(r.refuted - r.original) <= r.original_se, r
    assert len(sensitivity.evalues) == 3 * len(results.study.outcomes)
    assert sensitivity.subgroups is not None and (sensitivity.subgroups.status == "estimated").any()
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["sensitivity"]) == {
        "evalues",
        "rosenbaum",
        "omitted_variable",
        "refutations",
        "dml",
        "subgroups",
        "cate",
        "not_run",
    }
    assert payload["sensitivity"]["not_run"] == [] and payload["not_run"] == []
    assert (out / "figures" / "subgroup_forest.png").exists()
    html = (out / "report.html").read_text()
    assert "Subgroup effects" in html and "Refutations (DoWhy)" in html and "E-values" in html


@pytest.mark.slow
def test_rosenbaum_needs_pairs(study_run):
    results, _ = study_run
    psm = results.study.methods.psm
    for bound in results.sensitivity.rosenbaum:
        if psm.ratio == 1 and not psm.replace:
            assert bound.available and bound.gamma_critical > 1
        else:
            assert not bound.available and "1:1 matched pairs" in bound.reason


def test_matching_options_reach_the_estimator(study_dict):
    """Every ``methods.psm`` key is a MatchingEstimator parameter of the same name."""
    from reimpact.registry import build_estimator

    psm = {"caliper": 0.1, "caliper_scale": "all", "ties": "first", "adjust": False, "replace": False}
    params = build_estimator(_study(study_dict, methods={"psm": psm}), "psm").get_params()
    assert {k: params[k] for k in psm} == psm
    assert params["estimand"] == "ATT" and params["random_state"] == 0


def _rare_level_file(tmp_path, treated_only: bool = False) -> Path:
    """An ACIC-2016-like export: a country held by 2 units, both controls (or, with
    ``treated_only``, a second country held by 12 treated units only)."""
    rng = np.random.default_rng(5)
    n = 1200
    frame = pd.DataFrame(
        {
            "age": rng.normal(35, 9, n).round(),
            "country": rng.choice(["A", "B", "C"], n),
            "x": rng.normal(size=n),
        }
    )
    frame.loc[:1, "country"] = "F"
    p = 1 / (1 + np.exp(-(-0.5 + 0.5 * frame.x)))
    t = (rng.random(n) < p).astype(int)
    t[:2] = 0
    if treated_only:
        frame.loc[2:13, "country"] = "G"
        t[2:14] = 1
    frame["t"] = t
    frame["y"] = frame.x + 1.0 * t + rng.normal(size=n)
    path = tmp_path / "acic_like.csv"
    frame.to_csv(path, index=False)
    return path


def _rare_study(path, **changes) -> Study:
    raw = {
        "name": "rare",
        "data": {"path": str(path)},
        "treatment": {"column": "t"},
        "outcomes": ["y"],
        "covariates": ["age", "country", "x"],
        "methods": {"psm": {}, "ipw": {}, "aipw": {}},
        **changes,
    }
    return Study.from_dict(raw)


def test_a_level_held_by_two_controls_leaves_them_out_and_keeps_the_att(tmp_path):
    """The default ``separation: exclude``: the run finishes, the 2 controls of country F leave the
    comparison, and the warning says the ATT is unchanged; the estimates recover the effect 1."""
    results = run_study(_rare_study(_rare_level_file(tmp_path)))
    assert results.sample.flow.analysed == 1200 and len(results.frame) == 1198
    assert results.design.separated_levels == [
        {"column": "country", "level": "F", "units": 2, "group": "control", "action": "excluded"}
    ]
    assert any(
        w.startswith("country=F is held by control units only: its <10 control units were")
        and w.endswith("no treated units have it, so the ATT is unchanged.")
        for w in results.warnings
    )
    for method in ("psm", "ipw", "aipw"):
        effect = results.effects.get("y", method)
        assert abs(effect.estimate - 1.0) < 4 * effect.std_error, effect.summary()


def test_a_level_without_controls_restricts_the_att_and_other_rules(tmp_path):
    path = _rare_level_file(tmp_path, treated_only=True)
    results = run_study(_rare_study(path))
    assert {(lv["level"], lv["group"]) for lv in results.design.separated_levels} == {
        ("F", "control"),
        ("G", "treated"),
    }
    assert any("the estimate is now the ATT of the treated units outside this level" in w
               for w in results.warnings)  # fmt: skip
    with pytest.raises(DesignError, match="every unit with country=F is control"):
        run_study(_rare_study(path, propensity={"separation": "error"}))
    merged = run_study(_rare_study(path, propensity={"separation": "merge", "merge_below": 20}))
    assert merged.design.separated_levels[0] == {
        "column": "country", "level": "F, G", "action": "merged"
    }  # fmt: skip
    assert len(merged.frame) == 1200  # F and G pooled: "(other)" holds both groups
    penalised = run_study(_rare_study(path, propensity={"separation": "penalise"}))
    assert len(penalised.frame) == 1200 and penalised.design.separated_levels == []
    assert "treats the propensity score as known" in " ".join(penalised.effects.get("y", "ipw").notes)
