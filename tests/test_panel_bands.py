"""Long data with ``panel.bands``: the cross-sectional effect path along bands of time since return
instead of rounds; a unit surveyed twice in one band is one cluster; the disclosure gate withholds
what a band's count less its whole rounds' counts would give away."""

from __future__ import annotations

import json

import pytest
from test_panel import COVARIATES, panel_study

from reimpact.cli import main
from reimpact.config.study import Study
from reimpact.exceptions import StudyError
from reimpact.pipeline import run_study

PANEL = {"id": "returnee_id", "round": "survey_round", "time": "months_since_return", "baseline": 0}


def test_the_effect_path_runs_along_bands_with_units_clustered(tmp_path):
    """Rounds 1, 2, 3 are surveyed 4-8, 10-14 and 16-20 months after return: the band 4-12 holds
    round 1 and part of round 2, so some returnees have two rows in it."""
    raw = panel_study(panel=PANEL | {"bands": [4, 12, 21]}, design="cross-section")
    results = run_study(Study.from_dict(raw), out_dir=tmp_path)
    effects = results.effects.to_frame()
    assert set(effects.contrast) == {"months_since_return 4 to 12", "months_since_return 12 to 21"}
    assert all(t.endswith("cluster-robust by returnee_id") for t in effects.se_type)
    # the truth of each band is known (simulated), and AIPW misses it there as in every round: the
    # unobserved time-invariant trait confounds every cross-section
    assert set(results.truth.contrast) == set(effects.contrast)
    design = json.loads((tmp_path / "results.json").read_text())["design"]
    assert design["bands"]["months_since_return 4 to 12"] == {"whole": ["1"], "part": ["2"]}
    assert main(["audit", str(tmp_path)]) == 0


def test_a_small_part_of_a_round_in_a_band_is_withheld(tmp_path):
    """Band 4-10.5 holds round 1 and the round-2 rows surveyed at 10 months: with a threshold
    above their number, the band's count less round 1's would give them away, so the gate hides
    one side and the audit passes."""
    raw = panel_study(panel=PANEL | {"bands": [4, 10.5]}, design="cross-section")
    raw["report"] = {"min_cell_size": 400}
    results = run_study(Study.from_dict(raw), out_dir=tmp_path)
    payload = json.loads((tmp_path / "results.json").read_text())
    effect = next(e for e in payload["effects"] if e["method"] == "aipw")
    part = results.effects.get("composite_score", "aipw", "months_since_return 4 to 10.5")
    rounds = payload["sample"]["rounds"]["1"]
    assert 0 < part.n_treated - results.sample.flow.rounds["1"]["treated"] < 400
    assert isinstance(effect["n_treated"], str) or isinstance(rounds["treated"], str)
    assert main(["audit", str(tmp_path)]) == 0


@pytest.mark.parametrize(
    ("bands", "words"),
    [([4], "at least two increasing edges"), ([12, 4], "at least two increasing edges")],
)
def test_bad_bands_name_the_field(bands, words):
    with pytest.raises(StudyError, match=words):
        Study.from_dict(panel_study(panel=PANEL | {"bands": bands}))


def test_bands_need_the_time_column():
    panel = {"id": "returnee_id", "round": "survey_round", "baseline": 0, "bands": [4, 12]}
    with pytest.raises(StudyError, match="panel.bands: bands of time since return need 'time'"):
        Study.from_dict(panel_study(panel=panel))


def test_covariates_from_each_keeps_every_rows_own():
    """Household size changes over the simulated rounds: with ``covariates_from: each`` the
    analysed rows keep their own values (by default they carry round 0's)."""
    from reimpact.datasets.panel import simulate_returnee_panel

    raw = panel_study(panel=PANEL | {"covariates_from": "each"}, design="cross-section")
    frame = run_study(Study.from_dict(raw)).frame  # the first round after the baseline
    data = simulate_returnee_panel(1500, 6).data
    assert (data.loc[frame.index, "household_size"] == frame.household_size).all()


def test_later_rounds_without_covariates_keep_their_rows(tmp_path):
    """Follow-up rounds often ask the covariates only once: blanked in rounds 1-3, every row
    still takes its unit's round-0 values before the missing-data policy (``missing: drop``
    would otherwise delete every follow-up row), and the effects are those of the full data."""
    from reimpact.datasets.panel import simulate_returnee_panel

    data = simulate_returnee_panel(1500, 6).data
    blank = data.copy()
    blank.loc[blank.survey_round > 0, COVARIATES] = None
    path = tmp_path / "blank.csv"
    blank.to_csv(path, index=False)
    full_path = tmp_path / "full.csv"
    data.to_csv(full_path, index=False)
    raw = panel_study(design="cross-section", missing="drop")
    raw["data"] = {"path": str(path)}
    blanked = run_study(Study.from_dict(raw))
    raw["data"] = {"path": str(full_path)}
    full = run_study(Study.from_dict(raw))
    assert blanked.sample.flow.dropped_missing.get("total", 0) == 0
    assert blanked.sample.flow.rounds == full.sample.flow.rounds
    for a, b in zip(blanked.effects, full.effects, strict=True):
        assert a.estimate == pytest.approx(b.estimate, rel=1e-12)
