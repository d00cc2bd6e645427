"""Multi-valued treatments: the generalised score, IPW and AIPW level means and their contrasts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from reimpact.cli import main
from reimpact.config.study import Study
from reimpact.datasets import OUTCOMES, simulate_returnees
from reimpact.design.gps import fit_gps
from reimpact.estimators.multivalued import (
    aipw_means,
    contrast_pairs,
    contrast_se,
    ipw_means,
    level_effects,
    outcome_predictions,
)
from reimpact.exceptions import DataError, StudyError
from reimpact.pipeline import run_study

LEVELS = ("none", "economic", "social")


def _simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confounded three-level treatment; true ATEs economic-none = 2, social-none = 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    logits = np.column_stack([np.zeros(n), 0.8 * x[:, 0], -0.6 * x[:, 0] + 0.5 * x[:, 1]])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    codes = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    y = 1.5 * x[:, 0] + x[:, 1] + np.array([0.0, 2.0, 1.0])[codes] + rng.normal(size=n)
    return x, codes, y


def test_gps_rows_sum_to_one_for_both_models():
    x, codes, _ = _simulate(150, 1)
    for model in ("logistic", "gradient_boosting"):
        gps = fit_gps(x, codes, LEVELS, model=model)
        assert gps.scores.shape == (150, 3)
        np.testing.assert_allclose(gps.scores.sum(axis=1), 1.0)
        assert set(gps.min_by_level()) == set(LEVELS)


def test_ipw_and_aipw_equal_hand_computation():
    y = np.array([1.0, 3.0, 2.0, 6.0, 4.0, 5.0])
    codes = np.array([0, 0, 1, 1, 2, 2])
    scores = np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]] * 3)
    ipw = ipw_means(y, codes, scores)
    # level 0: units 0 (e=.5) and 1 (e=.25): (1/.5 + 3/.25) / (1/.5 + 1/.25) = 14 / 6
    assert ipw.means[0] == pytest.approx(14 / 6)
    # level 1: units 2 (e=.25), 3 (e=.5): (2/.25 + 6/.5) / (4 + 2) = 20 / 6
    assert ipw.means[1] == pytest.approx(20 / 6)
    m = np.tile([1.0, 2.0, 3.0], (6, 1))
    aipw = aipw_means(y, codes, scores, m)
    psi0 = 1.0 + np.array([(1 - 1) / 0.5, (3 - 1) / 0.25, 0, 0, 0, 0])
    assert aipw.means[0] == pytest.approx(psi0.mean())
    np.testing.assert_allclose(aipw.influence[:, 0], psi0 - psi0.mean())
    effect = level_effects(aipw, LEVELS, codes, "y", "aipw")[0]
    phi = aipw.influence[:, 1] - aipw.influence[:, 0]
    assert effect.contrast == "economic vs none"
    assert effect.std_error == pytest.approx(np.sqrt(np.sum(phi**2)) / 6)
    assert (effect.n_treated, effect.n_control) == (2, 2)


def test_ipw_with_level_shares_is_the_difference_in_means():
    x, codes, y = _simulate(200, 2)
    shares = np.bincount(codes) / codes.size
    fitted = ipw_means(y, codes, np.tile(shares, (codes.size, 1)))
    expected = [y[codes == a].mean() for a in range(3)]
    np.testing.assert_allclose(fitted.means, expected)


def test_sampling_weights_weight_every_sum():
    """Integer sampling weights give the point estimates of the data with rows repeated."""
    x, codes, y = _simulate(120, 4)
    s = np.arange(120) % 3 + 1.0
    rows = np.repeat(np.arange(120), s.astype(int))
    scores = fit_gps(x, codes, LEVELS).scores
    m = np.column_stack([x[:, 0], x[:, 1], x.sum(axis=1)])
    weighted = [ipw_means(y, codes, scores, 0.01, s), aipw_means(y, codes, scores, m, 0.01, s)]
    repeated = [
        ipw_means(y[rows], codes[rows], scores[rows], 0.01),
        aipw_means(y[rows], codes[rows], scores[rows], m[rows], 0.01),
    ]
    for w, r in zip(weighted, repeated, strict=True):
        np.testing.assert_allclose(w.means, r.means)


def test_contrasts_cover_reference_then_pairs():
    assert contrast_pairs(("none", "a", "b", "c")) == [(1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (3, 2)]


def test_cluster_se_sums_within_clusters():
    phi = np.array([1.0, -1.0, 2.0, -2.0])
    assert contrast_se(phi, cluster=np.array([0, 0, 1, 1])) == 0.0
    assert contrast_se(phi) == pytest.approx(np.sqrt(10) / 4)


def test_known_truth_is_recovered():
    """Confounded simulation (naive differences are biased): the 95% intervals of IPW and AIPW
    hold the true ATEs (2 and 1 against none, 1 between them) and the naive one misses."""
    x, codes, y = _simulate(3000, 3)
    gps = fit_gps(x, codes, LEVELS)
    truth = {"economic vs none": 2.0, "social vs none": 1.0, "social vs economic": -1.0}
    m = outcome_predictions(x, y, codes, 3)
    for fitted, method in ((ipw_means(y, codes, gps.scores, 0.01), "ipw"),
                           (aipw_means(y, codes, gps.scores, m, 0.01), "aipw")):  # fmt: skip
        for effect in level_effects(fitted, LEVELS, codes, "y", method):
            assert effect.covers(truth[effect.contrast]), (method, effect.contrast)
    shares = np.tile(np.bincount(codes) / codes.size, (codes.size, 1))
    naive = level_effects(ipw_means(y, codes, shares), LEVELS, codes, "y", "naive")
    assert not naive[0].covers(truth["economic vs none"])


# -- the study file, end to end ------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _study(**changes) -> dict:
    raw = yaml.safe_load((ROOT / "studies" / "assistance_types.yaml").read_text())
    raw["data"]["n"] = 2500
    raw["outcomes"] = ["composite_score", "economic_score"]
    for dotted, value in changes.items():
        section, _, key = dotted.partition("__")
        if key:
            raw[section][key] = value
        else:
            raw[section] = value
    return raw


def test_cohort_observed_outcomes_are_the_potential_ones_of_the_observed_type():
    cohort = simulate_returnees(n=400, seed=2)
    kinds = cohort.data["assistance_type"].to_numpy()
    for kind, outcomes in cohort.potential_types.items():
        mine = kinds == kind
        for outcome in ("composite_score", "satisfaction"):
            np.testing.assert_allclose(
                outcomes[outcome][mine], cohort.data[outcome].to_numpy()[mine], equal_nan=True
            )
    truth = cohort.contrast_truth()
    assert len(truth) == 6 * len(OUTCOMES) and set(truth.estimand) == {"ATE"}


def test_study_runs_end_to_end_with_contrasts_report_and_audit(tmp_path):
    """The shipped study on a smaller cohort: every contrast of the four types by naive, IPW and
    AIPW, true effects per contrast, the report, and the disclosure audit of the outputs."""
    study = Study.from_dict(_study())
    assert study.estimand == "ATE" and study.treatment.multivalued
    results = run_study(study, out_dir=tmp_path)
    assert len(results.effects) == 3 * 6 * 2
    published = json.loads((tmp_path / "results.json").read_text())
    contrasts = {e["contrast"] for e in published["effects"]}
    assert "economic vs social_only" in contrasts and "combined vs psychosocial" in contrasts
    assert {t["contrast"] for t in published["truth"]} == contrasts
    assert published["headline"] is None
    assert "composite_score (economic vs social_only)" in (tmp_path / "report.html").read_text()
    assert main(["audit", str(tmp_path)]) == 0
    assert (tmp_path / "figures" / "overlap_by_level.png").exists()
    assert "overlap_by_level" in published["figures"]
    pairs = published["balance"]["pairs"]
    others = ["psychosocial vs economic", "combined vs economic", "combined vs psychosocial"]
    assert list(pairs["effective_n"]) == others
    assert {r["contrast"] for r in pairs["rows"]} == set(others)
    assert "SMD combined vs economic, IPW" in (tmp_path / "tables" / "balance_pairs.csv").read_text()
    assert "Balance between the other pairs of levels" in (tmp_path / "report.html").read_text()
    truth = results.truth.set_index(["contrast", "outcome"]).effect
    aipw = [e for e in results.effects if e.method == "aipw"]
    covered = [e.covers(truth[(e.contrast, e.outcome)]) for e in aipw]
    assert sum(covered) >= len(covered) - 1  # 95% intervals: at most one miss in 12


def test_a_named_multivalued_treatment_runs_as_the_unnamed_one():
    """``treatment.name`` renames a multi-valued treatment in the outputs; its levels stay in
    its column (a KeyError on the name once stopped the run)."""
    plain = run_study(Study.from_dict(_study()))
    named = run_study(Study.from_dict(_study(treatment__name="Type of assistance")))
    assert [e.estimate for e in named.effects] == [e.estimate for e in plain.effects]
    assert "Type of assistance" in named.summary()
    pd.testing.assert_frame_equal(named.truth, plain.truth)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"treatment__levels": ["social_only", "economic"]}, "binary"),
        ({"methods": {"psm": {}}}, "methods.psm: not available for a multi-valued treatment"),
        ({"estimand": "ATT"}, "estimand: a multi-valued treatment is analysed for the ATE"),
        ({"propensity": {"model": "cbps"}}, "propensity: a multi-valued treatment"),
        ({"treatment__treated": ["economic"]}, "without 'any_of', 'treated' or 'control'"),
    ],
)
def test_bad_study_files_give_one_line_errors(changes, field):
    with pytest.raises(StudyError) as error:
        Study.from_dict(_study(**changes))
    assert field in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        (
            {"treatment": {"column": "assistance_type", "reference": "nothing"}},
            "treatment.reference: no row has the level 'nothing'",
        ),
        ({"treatment__levels": ["social_only", "economic", "nothing"]}, "treatment.levels"),
        ({"treatment": {"column": "economic_activity", "reference": 0}}, "two-level treatment"),
    ],
)
def test_bad_levels_in_the_data_give_one_line_errors(changes, text):
    with pytest.raises(DataError) as error:
        run_study(Study.from_dict(_study(**changes)))
    assert text in str(error.value) and "\n" not in str(error.value)
