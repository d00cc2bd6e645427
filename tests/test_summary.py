"""The report opens with the answer (issue 14): the primary outcome's effect with its interval, as
a share of the control mean and in SD units, whether the methods agree, one sentence per
sensitivity analysis, and a caution when the result is fragile; and it ends with limitations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reimpact.config import Study, load_study
from reimpact.exceptions import StudyError
from reimpact.pipeline import run_study
from reimpact.report.sections.summary import summary_sentences

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def orion(tmp_path_factory):
    out = tmp_path_factory.mktemp("orion")
    run_study(load_study(ROOT / "studies" / "orion_mentoring.yaml"), out_dir=out)
    return json.loads((out / "results.json").read_text()), (out / "report.html").read_text()


@pytest.mark.slow
def test_the_first_screen_states_the_primary_effect_as_results_json_does(orion) -> None:
    payload, html = orion
    top = payload["headline"]
    assert top["outcome"] == "composite_score" and top["method"] == "aipw"
    first = re.search(r"<section id=\"(\w+)\">", html).group(1)
    assert first == "summary"
    headline = re.search(r'<p class="headline">(.*?)</p>', html).group(1)
    assert f"{top['estimate']:+.3g}" in headline
    assert f"{top['ci_lower']:.3g} to {top['ci_upper']:.3g}" in headline
    assert f"{top['percent_of_control_mean']:+.1f}% of the control group" in headline
    assert f"{top['sd_units']:+.2f} standard deviations" in headline
    effect = next(
        e for e in payload["effects"] if (e["outcome"], e["method"]) == ("composite_score", "aipw")
    )
    assert top["estimate"] == effect["estimate"] and top["ci_upper"] == effect["ci_upper"]
    assert top["percent_of_control_mean"] == pytest.approx(100 * top["estimate"] / top["control_mean"])
    ovb = next(
        o for o in payload["sensitivity"]["omitted_variable"] if o["outcome"] == "composite_score"
    )
    summary = html[html.index('<section id="summary">') : html.index('<section id="study">')]
    assert f"explain {ovb['rv_q']:.0%} of the residual variance" in summary
    assert "Caution" not in summary  # every method agrees and excludes zero here
    assert '<section id="limitations">' in html and "returnees" in html


def _fragile_study(tmp_path: Path) -> Study:
    """Null effect, a quadratic confounder and 300 units: the adjusted methods disagree in sign
    for this seed (found by search; matching -0.047, IPW +0.015, AIPW -0.084)."""
    rng = np.random.default_rng(1)
    n = 300
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * x1 - 0.5 * x2)))).astype(int)
    y = x1 + 0.8 * x1**2 + 0.5 * x2 + rng.normal(size=n)
    path = tmp_path / "fragile.csv"
    pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y}).to_csv(path, index=False)
    methods = {"psm": {}, "ipw": {}, "aipw": {}}
    raw = {"name": "fragile", "data": {"path": str(path)}, "treatment": {"column": "t"},
           "outcomes": ["y"], "covariates": ["x1", "x2"], "methods": methods}  # fmt: skip
    return Study.from_dict(raw)


def test_a_fragile_result_is_cautioned_in_the_summary(tmp_path) -> None:
    study = _fragile_study(tmp_path)
    results = run_study(study, out_dir=tmp_path / "out")
    estimates = [e.estimate for e in results.effects if e.method != "naive"]
    assert min(estimates) < 0 < max(estimates)
    sentences = summary_sentences(results, results.to_dict())
    assert "disagree in sign" in sentences[1]
    assert sentences[-1].startswith("Caution, this result is fragile: the methods disagree in sign")
    html = (tmp_path / "out" / "report.html").read_text()
    assert '<p class="caution">Caution, this result is fragile' in html
    assert "for the treated units (ATT)" in sentences[0]  # the default unit label


def test_primary_outcome_and_unit_label_are_checked(study_dict) -> None:
    study = Study.from_dict(study_dict)
    assert study.primary == study.outcomes[0]
    chosen = Study.from_dict({**study_dict, "primary_outcome": study.outcomes[-1]})
    assert chosen.primary == study.outcomes[-1]
    with pytest.raises(StudyError, match="primary_outcome: 'nothing' is not one of the outcomes"):
        Study.from_dict({**study_dict, "primary_outcome": "nothing"})
    with pytest.raises(StudyError, match="unit_label"):
        Study.from_dict({**study_dict, "unit_label": "two\nlines"})
