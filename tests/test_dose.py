"""A dose (``treatment: {column: ..., kind: dose}``): the dose-response curve, its contrasts, the
simulated cohort's true curve, the study file, the report and the disclosure gate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from reimpact.cli import main
from reimpact.config.study import Study, load_study
from reimpact.datasets import simulate_returnees
from reimpact.design.gps import fit_gps
from reimpact.estimators.dose import dose_curve, dose_order, dose_pairs
from reimpact.estimators.multivalued import aipw_means, ipw_means, outcome_predictions
from reimpact.exceptions import DataError, StudyError
from reimpact.pipeline import run_study

ROOT = Path(__file__).resolve().parents[1]
DOSES = ("0", "1", "2", "3")
CURVE = np.array([0.0, 1.0, 1.5, 0.8])  # rises, then falls: more is not always better


def _simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A confounded dose 0-3 (units with high x0 get more) and an outcome that also rises with x0,
    so the naive curve is too steep; E[Y(d)] = CURVE[d]."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    logits = np.column_stack([np.zeros(n), 0.6 * x[:, 0], 1.0 * x[:, 0], 1.2 * x[:, 0] + 0.4 * x[:, 1]])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    codes = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    y = CURVE[codes] + 1.5 * x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=n)
    return x, codes, y


def _curves(n: int, seed: int) -> dict[str, pd.DataFrame]:
    x, codes, y = _simulate(n, seed)
    gps = fit_gps(x, codes, DOSES)
    m = outcome_predictions(x, y, codes, len(DOSES), 5, None, seed)
    fits = {"ipw": ipw_means(y, codes, gps.scores), "aipw": aipw_means(y, codes, gps.scores, m)}
    naive = pd.Series(y).groupby(codes).mean().to_numpy()
    out = {name: dose_curve(fit, DOSES, codes, "y", name) for name, fit in fits.items()}
    out["naive"] = pd.DataFrame({"estimate": naive})
    return out


def test_dose_order_and_pairs():
    levels = ("2", "0", "1", "3")  # reference 2 first, as a study with 'reference: 2' gives them
    assert dose_order(levels) == [1, 2, 0, 3]
    # every dose against the reference, then the steps not involving it: 1 vs 0 (3 vs 2 uses it)
    assert dose_pairs(levels) == [(1, 0), (2, 0), (3, 0), (2, 1)]
    assert dose_pairs(("1", "2", "3")) == [(1, 0), (2, 0), (2, 1)]


def test_curve_recovers_a_non_monotone_truth_where_naive_means_do_not():
    curves = _curves(4000, 3)
    for method in ("ipw", "aipw"):
        curve = curves[method]
        assert curve["dose"].tolist() == list(DOSES)
        assert ((curve.ci_lower <= CURVE) & (CURVE <= curve.ci_upper)).all(), method
    assert np.abs(curves["naive"]["estimate"].to_numpy() - CURVE).max() > 0.5


def test_pointwise_intervals_cover_at_the_nominal_rate():
    """Coverage check: 60 draws of n = 1,500, 4 doses, AIPW and IPW: the share of the 240 pointwise
    95% intervals per method that cover E[Y(d)] must be at least 0.90 (binomial SD 1.4 points)."""
    hits = {"ipw": [], "aipw": []}
    for seed in range(60):
        curves = _curves(1500, 100 + seed)
        for method in hits:
            c = curves[method]
            hits[method] += list((c.ci_lower <= CURVE) & (CURVE <= c.ci_upper))
    for method, covered in hits.items():
        assert np.mean(covered) >= 0.90, (method, np.mean(covered))


def test_cohort_dose_truth_is_the_version_mixture():
    cohort = simulate_returnees(n=800, seed=2)
    contrasts, curve = cohort.dose_truth()
    means = curve[curve.outcome == "economic_score"].set_index("dose")["mean"]
    # the DGP: all three activities at once cost economic score (Knowledge Bite 1's "more is not
    # always better"): the curve falls from 2 to 3 activities
    assert means["3"] < means["2"]
    step = contrasts[(contrasts.contrast == "3 vs 2") & (contrasts.outcome == "economic_score")]
    assert step["effect"].iloc[0] == pytest.approx(means["3"] - means["2"])
    # each returnee's dose potential outcome lies between those of the versions it mixes
    one = cohort.potential_doses["1"]["composite_score"]
    assert np.nanmin(one) >= 0.0 and np.nanmax(one) <= 1.0


def test_dose_study_runs_end_to_end_and_recovers_the_truth(tmp_path):
    study = load_study(ROOT / "studies" / "activities_dose.yaml")
    results = run_study(study, out_dir=tmp_path)
    effects = results.effects.to_frame()
    assert set(effects.contrast) == {"2 vs 1", "3 vs 1", "3 vs 2"}
    truth = results.truth.set_index(["contrast", "outcome"])["effect"]
    aipw = effects[effects.method == "aipw"]
    for row in aipw.itertuples():
        assert row.ci_lower <= truth[(row.contrast, row.outcome)] <= row.ci_upper, row
    curves = results.dose_response.to_frame()
    assert {"truth", "ci_lower", "ci_upper", "n"} <= set(curves.columns)
    aipw_curve = curves[curves.method == "aipw"]
    assert ((aipw_curve.ci_lower <= aipw_curve.truth) & (aipw_curve.truth <= aipw_curve.ci_upper)).all()
    published = json.loads((tmp_path / "results.json").read_text())
    assert len(published["dose_response"]) == 2 * 4 * 3  # methods x outcomes x doses
    assert (tmp_path / "figures" / "dose_response.png").stat().st_size > 10_000
    html = (tmp_path / "report.html").read_text()
    assert "Dose-response" in html and "True mean" in html
    assert "dose-response of n_activities" in results.summary()
    import docx

    headings = [p.text for p in docx.Document(str(tmp_path / "report.docx")).paragraphs]
    assert "Dose-response" in headings and "Balance between the other pairs of levels" in headings
    # the rare dose 3 overlaps poorly; the remedy named is a population range (no 'levels' for a dose)
    assert any("population: {n_activities: {min" in w for w in results.warnings)
    assert main(["audit", str(tmp_path)]) == 0


def test_a_dose_under_the_minimum_cell_size_is_suppressed_with_its_complement(tmp_path):
    raw = yaml.safe_load((ROOT / "studies" / "activities_dose.yaml").read_text())
    raw["population"] = {"country": ["GMB", "CMR"]}
    raw["covariates"] = ["age", "sex", "household_size", "vulnerable", "employed_before_return"]
    raw["report"] = {"min_cell_size": 40}
    results = run_study(Study.from_dict(raw), out_dir=tmp_path)
    true_n = results.dose_response.curves.groupby("dose")["n"].first()
    assert true_n["3"] < 40  # the design of the check: few returnees with all three activities
    published = json.loads((tmp_path / "results.json").read_text())
    rows = {(r["outcome"], r["method"], r["dose"]): r for r in published["dose_response"]}
    point = rows[("composite_score", "aipw", "3")]
    assert point["n"] == "<40" and point["estimate"] is None
    # treated = n(2) + n(3) is published, so n(2) must go too (secondary suppression)
    assert rows[("composite_score", "aipw", "2")]["n"] == "suppressed"
    assert all(e["n_treated"] in ("<40", "suppressed") for e in published["effects"])
    assert main(["audit", str(tmp_path)]) == 0


@pytest.mark.parametrize(
    ("treatment", "message"),
    [
        (
            {"column": "n_activities", "kind": "dose", "treated": [2]},
            "a dose is 'column' + 'kind: dose'",
        ),
        ({"column": "n_activities", "kind": "dose", "levels": [1, 2, 3]}, "remove 'levels'"),
        ({"any_of": ["n_activities"], "kind": "dose"}, "a dose is 'column'"),
        ({"column": "n_activities", "kind": "level"}, "kind"),
        (
            {"column": "n_activities", "kind": "dose", "reference": "low"},
            "a dose's 'reference' is a number",
        ),
    ],
)
def test_bad_dose_specifications_are_one_line_errors(treatment, message):
    raw = yaml.safe_load((ROOT / "studies" / "activities_dose.yaml").read_text())
    raw["treatment"] = treatment
    with pytest.raises(StudyError, match=re.escape(message)) as error:
        Study.from_dict(raw)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("column", "reference", "message"),
    [
        ("country", None, "treatment.column: must be numeric for a dose"),
        ("mentored", None, "treatment.kind: 'mentored' has 2 distinct values; a dose takes 3 or more"),
        ("n_activities", 5, "treatment.reference: no row has the dose 5"),
        ("age", 200, "treatment.reference: the reference dose 200 lies outside the doses in 'age'"),
    ],
)
def test_doses_the_data_do_not_allow_exit_2(tmp_path, capsys, column, reference, message):
    raw = yaml.safe_load((ROOT / "studies" / "activities_dose.yaml").read_text())
    raw["treatment"] = {"column": column, "kind": "dose"} | (
        {"reference": reference} if reference else {}
    )
    raw["covariates"] = [c for c in raw["covariates"] if c != column]
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    with pytest.raises(DataError, match=message):
        run_study(load_study(path))


def test_a_reference_dose_other_than_the_lowest():
    raw = yaml.safe_load((ROOT / "studies" / "activities_dose.yaml").read_text())
    raw["treatment"]["reference"] = 2
    raw["outcomes"] = ["economic_score"]
    results = run_study(Study.from_dict(raw))
    assert set(results.effects.to_frame().contrast) == {"1 vs 2", "3 vs 2"}
    # the curve stays in increasing order of dose
    assert results.dose_response.curves["dose"].tolist()[:3] == ["1", "2", "3"]


def _hump(d):
    return np.sin(d) + 0.3 * d


def test_a_continuous_dose_gives_a_smoothed_curve_that_covers_the_truth(tmp_path):
    """A dose with more than 10 values: the AIPW curve (local quadratic on Kennedy et al.'s
    pseudo-outcomes) covers E[Y(d)] at most of its 25 doses where the unadjusted curve, confounded
    by x1, does not; the effects at the quartile doses against the median cover the true
    differences. Fixed seed: deterministic."""
    rng = np.random.default_rng(11)
    n = 2000
    x = rng.normal(size=(n, 3))
    dose = 1.0 + 0.8 * x[:, 0] - 0.5 * x[:, 1] + rng.normal(size=n)
    y = _hump(dose) + 1.2 * x[:, 0] + 0.6 * x[:, 1] + 0.3 * x[:, 2] + rng.normal(size=n)
    frame = pd.DataFrame({"dose": dose, "y": y, "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2]})
    frame.to_csv(tmp_path / "doses.csv", index=False)
    raw = {
        "name": "continuous-dose",
        "data": {"path": str(tmp_path / "doses.csv")},
        "treatment": {"column": "dose", "kind": "dose"},
        "outcomes": ["y"],
        "covariates": ["x1", "x2", "x3"],
        "seed": 3,
    }
    out = tmp_path / "out"
    results = run_study(Study.from_dict(raw), out_dir=out)
    curves = results.dose_response.curves
    covered = {}
    for method, curve in curves.groupby("method"):
        truth = _hump(curve["dose"].astype(float).to_numpy())
        covered[method] = np.mean((curve.ci_lower <= truth) & (truth <= curve.ci_upper))
    assert covered["aipw"] >= 0.8 and covered["naive"] <= 0.5, covered
    # the reference: the largest dose at or below the median (the above/below split's boundary)
    reference = results.design.dose["reference"]
    assert reference == dose[dose <= np.median(dose)].max()
    for effect in results.effects.to_frame().query("method == 'aipw'").itertuples():
        mark = float(effect.contrast.split(" vs ")[0])
        true = _hump(mark) - _hump(reference)
        assert effect.ci_lower <= true <= effect.ci_upper, (effect.contrast, true)
    # the intervals are approximate: every effect's notes say so, and one study warning
    assert all(any("approximate" in note for note in e.notes) for e in results.effects)
    assert sum("approximate" in w for w in results.warnings) == 1
    published = json.loads((out / "results.json").read_text())
    assert published["design"]["dose"]["kind"] == "continuous"
    assert "approximate" in (out / "report.html").read_text()
    assert all(row["n"] is None for row in published["dose_response"])
    assert len(published["dose_response"]) == 3 * 25  # naive, ipw, aipw x 25 doses
    assert (out / "figures" / "dose_response.png").stat().st_size > 10_000
    assert main(["audit", str(out)]) == 0
