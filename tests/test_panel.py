"""Long data (``panel``) and ``design: did``: the study file, the per-round sample, the DR-DiD path
on the simulated panel against its truth, and clustering of a unit's rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reimpact.config.study import Study
from reimpact.datasets.panel import EFFECT_PATH, simulate_returnee_panel
from reimpact.estimators.did import drdid_rc
from reimpact.exceptions import DataError, StudyError
from reimpact.pipeline import run_study

COVARIATES = ["age", "sex", "education", "household_size", "country", "return_type", "vulnerable",
              "employed_before_return"]  # fmt: skip


def panel_study(**changes) -> dict:
    study = {
        "name": "panel",
        "data": {"builtin": "simulated-returnees-panel", "n": 1500, "seed": 6},
        "panel": {
            "id": "returnee_id",
            "round": "survey_round",
            "time": "months_since_return",
            "baseline": 0,
        },  # fmt: skip
        "design": "did",
        "treatment": {"column": "economic_support"},
        "outcomes": ["composite_score"],
        "covariates": COVARIATES,
        "methods": {"aipw": {"folds": 2}},
    }
    study.update(changes)
    return study


@pytest.fixture(scope="module")
def did_results():
    return run_study(Study.from_dict(panel_study()))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"panel": None}, "design: 'did' needs a 'panel' section"),
        (
            {"panel": {"id": "returnee_id", "round": "survey_round"}},
            "panel.baseline: design 'did' needs",
        ),
        (
            {
                "panel": {
                    "id": "returnee_id",
                    "round": "survey_round",
                    "baseline": 0,
                    "sampling": "repeated",
                    "did_method": "traditional",
                }
            },
            "is for panel sampling",
        ),  # fmt: skip
        (
            {"panel": {"id": "age", "round": "survey_round", "baseline": 0}},
            "column 'age' also plays another role",
        ),
        ({"panel": {"id": "returnee_id", "rounds": "survey_round"}}, "did you mean 'round'"),
    ],
)
def test_bad_panel_sections_name_the_field(changes, words):
    with pytest.raises(StudyError, match=words):
        Study.from_dict(panel_study(**changes))


def test_the_flow_counts_units_and_rows_per_round(did_results):
    rounds = did_results.sample.flow.rounds
    data = simulate_returnee_panel(1500, 6).data
    assert sorted(rounds) == ["0", "1", "2", "3"]
    for r, counts in rounds.items():
        rows = data[data.survey_round == int(r)]
        assert counts == {
            "rows": len(rows), "units": rows.returnee_id.nunique(),
            "treated": int(rows.economic_support.sum()),
            "control": int((1 - rows.economic_support).sum()),
        }  # fmt: skip


def test_covariates_come_from_the_first_round(did_results):
    # household size changes over rounds in the simulated panel: every round analysed carries round 0's
    data = simulate_returnee_panel(1500, 6).data
    first = data[data.survey_round == 0].set_index("returnee_id").household_size
    frame = did_results.frame  # the first round after the baseline
    assert (frame.household_size.to_numpy() == first.loc[frame.returnee_id].to_numpy()).all()
    assert (data.loc[frame.index, "household_size"] != frame.household_size).any()


def test_drdid_covers_the_true_path_and_cross_sectional_aipw_does_not(did_results):
    effects = did_results.effects
    truth = did_results.truth.set_index("contrast").effect
    for r in (1, 2, 3):
        true = truth.loc[f"round {r}"]
        did = effects.get("composite_score", "drdid", f"round {r}")
        aipw = effects.get("composite_score", "aipw", f"round {r}")
        low, high = did.conf_int()
        assert low <= true <= high, (r, did.estimate, true)
        low, high = aipw.conf_int()
        assert true < low  # the unobserved trait raises the treated units' scores: AIPW overstates
    # the path the simulation draws: up from round 1 to 2, then down a little
    assert EFFECT_PATH[2, 0] > EFFECT_PATH[1, 0] and EFFECT_PATH[3, 0] < EFFECT_PATH[2, 0]
    assert all(e.contrast in {"round 1", "round 2", "round 3"} for e in effects)
    assert (
        "round 2: months_since_return 12.0 on average"
        in effects.get("composite_score", "aipw", "round 2").notes
    )
    note = effects.get("composite_score", "drdid", "round 1").notes[-1]
    assert note.startswith("equal effect in every round after the baseline: Wald chi2(2) = ")
    assert float(note.rsplit("p = ", 1)[1]) < 0.01


def test_a_pre_round_gives_a_pre_trend_estimate():
    # with round 1 as the baseline, round 0 is a pre-trend estimate: the DR-DiD of round 0 against
    # round 1 is minus that of round 1 against round 0 (same units, same covariates)
    later = run_study(Study.from_dict(panel_study(methods={"ipw": {}})))
    panel = {"id": "returnee_id", "round": "survey_round", "baseline": 1}
    earlier = run_study(Study.from_dict(panel_study(panel=panel, methods={"ipw": {}})))
    placebo = earlier.effects.get("composite_score", "drdid", "round 0")
    assert "a pre-trend (placebo) estimate" in " ".join(placebo.notes)
    assert placebo.estimate == pytest.approx(
        -later.effects.get("composite_score", "drdid", "round 1").estimate
    )


def _long_frame(tmp_path):
    data = simulate_returnee_panel(400, 9).data
    data = data[data.survey_round <= 1]
    # a fresh sample each round but returnee 1, surveyed twice
    keep = (data.survey_round == 0) & (data.returnee_id % 2 == 0)
    keep |= (data.survey_round == 1) & (data.returnee_id % 2 == 1)
    keep |= data.returnee_id == 2
    path = tmp_path / "rounds.csv"
    data[keep].to_csv(path, index=False)
    return data[keep], path


def test_rows_of_a_unit_surveyed_twice_share_a_cluster(tmp_path):
    data, path = _long_frame(tmp_path)
    assert (data.returnee_id == 2).sum() == 2
    panel = {"id": "returnee_id", "round": "survey_round", "baseline": 0, "sampling": "repeated"}
    study = panel_study(data={"path": str(path)}, panel=panel, covariates=["age", "vulnerable"],
                        methods={"ipw": {}})  # fmt: skip
    effect = run_study(Study.from_dict(study)).effects.get("composite_score", "drdid", "round 1")
    assert effect.se_type == "influence function, cluster-robust by returnee_id"
    x = data[["age", "vulnerable"]].to_numpy(float)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    args = (data.composite_score, data.survey_round, data.economic_support, x)
    by_unit = drdid_rc(*args, cluster=data.returnee_id.to_numpy())
    by_row = drdid_rc(*args)
    assert by_unit.n_clusters == len(data) - 1
    assert effect.estimate == pytest.approx(by_unit.att, rel=1e-9)
    assert effect.std_error == pytest.approx(by_unit.std_error, rel=1e-9)
    assert not math.isclose(by_unit.std_error, by_row.std_error, rel_tol=1e-9)


def test_two_rows_of_a_unit_in_one_round_are_refused(tmp_path):
    data, path = _long_frame(tmp_path)
    pd.concat([data, data.iloc[:1]]).to_csv(path, index=False)
    study = panel_study(data={"path": str(path)}, covariates=["age"], methods={"ipw": {}})
    with pytest.raises(DataError, match="a unit has two rows in one round"):
        run_study(Study.from_dict(study))


def test_a_treatment_changing_within_a_unit_is_refused(tmp_path):
    data, path = _long_frame(tmp_path)
    rows = np.flatnonzero(data.returnee_id.to_numpy() == 2)
    changed = data.copy()
    changed.iloc[rows[0], changed.columns.get_loc("economic_support")] = (
        1 - changed.economic_support.iloc[rows[0]]
    )
    changed.to_csv(path, index=False)
    study = panel_study(data={"path": str(path)}, covariates=["age"], methods={"ipw": {}})
    with pytest.raises(DataError, match="changes between the rounds of a unit"):
        run_study(Study.from_dict(study))


def test_without_did_every_round_is_a_cross_section():
    panel = {"id": "returnee_id", "round": "survey_round"}
    results = run_study(
        Study.from_dict(panel_study(panel=panel, design="cross-section", methods={"ipw": {}}))
    )
    assert {e.contrast for e in results.effects} == {"round 0", "round 1", "round 2", "round 3"}
    assert {e.method for e in results.effects} == {"naive", "ipw"}
    # round 0 is before any support: its true effect is 0, and the cross-section still finds one
    # (the unobserved trait), which is what a baseline and design: did remove
    assert results.truth.set_index("contrast").effect.loc["round 0"] == 0.0
    assert results.effects.get("composite_score", "ipw", "round 0").conf_int()[0] > 0


def test_the_effect_path_figure_is_legible(did_results):
    from test_report import _check_legible

    from reimpact.report import figure

    _check_legible(figure(did_results, "path"), "path")
