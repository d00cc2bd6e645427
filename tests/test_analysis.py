"""End to end: the three studies recover the simulated truth; results.json; study options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reimpact.analysis import run_study
from reimpact.cli import main
from reimpact.results import EFFECT_COLUMNS
from reimpact.study import Study, load_study

STUDIES = Path(__file__).parents[1] / "studies"


@pytest.fixture(scope="module", params=["orion_mentoring", "referrals", "economic_support"])
def study_run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    return run_study(load_study(STUDIES / f"{request.param}.yaml"), out_dir=out), out


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


def test_results_json_schema(study_run):
    results, out = study_run
    payload = json.loads((out / "results.json").read_text())
    assert set(payload) >= {"study", "data", "sample", "design", "effects", "truth", "warnings"}
    assert len(payload["effects"]) == 4 * len(results.study.outcomes)
    for entry in payload["effects"]:
        assert set(EFFECT_COLUMNS) | {"se_type", "notes"} == set(entry)
        assert entry["ci_lower"] < entry["estimate"] < entry["ci_upper"]
    assert payload["sample"]["treated"] + payload["sample"]["control"] == payload["sample"]["analysed"]


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


def test_gradient_boosting_and_given_scores(study_dict):
    boosted = run_study(
        _study(
            study_dict,
            propensity={"model": "gradient_boosting"},
            methods={"psm": {}, "aipw": {"learner": "gradient_boosting", "folds": 3}},
        )
    )
    note = " ".join(boosted.effects.get("composite_score", "psm").notes)
    assert "treats the propensity score as known" in note
    assert np.isfinite(boosted.effects.get("composite_score", "aipw").std_error)


def test_design_errors_exit_2(tmp_path, capsys, study_dict):
    import yaml

    path = tmp_path / "s.yaml"
    study_dict["covariates"] = ["age", "pilot_country"]  # constant within the pilot countries
    path.write_text(yaml.safe_dump(study_dict))
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "covariates: 'pilot_country': is constant" in err


def test_sensitivity_checks_run_for_every_study(study_run):
    """The placebo refuter's interval covers 0 and the random common cause leaves the estimate
    within one standard error (DoWhy's refuters on reimpact's PSM and AIPW)."""
    results, out = study_run
    sensitivity = results.sensitivity
    assert sensitivity is not None
    refutations = sensitivity.refutations
    assert {r.method for r in refutations} == {"psm", "aipw"}
    for r in refutations:
        if r.refuter == "placebo_treatment":
            assert r.refuted_ci_lower <= 0 <= r.refuted_ci_upper, r
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
        "subgroups",
        "cate",
    }
    assert (out / "figures" / "subgroup_forest.png").exists()
    html = (out / "report.html").read_text()
    assert "Subgroup effects" in html and "Refutations (DoWhy)" in html and "E-values" in html


def test_rosenbaum_needs_pairs(study_run):
    results, _ = study_run
    psm = results.study.methods.psm
    for bound in results.sensitivity.rosenbaum:
        if psm.ratio == 1 and not psm.replace:
            assert bound.available and bound.gamma_critical > 1
        else:
            assert not bound.available and "1:1 matched pairs" in bound.reason
