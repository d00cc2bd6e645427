"""Hostile study files, degenerate data and failing checks: each ends as a correct run or as one
clear line with exit code 2, never a traceback, a hang or a number the run cannot stand behind."""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from reimpact import exceptions
from reimpact.cli import main
from reimpact.config.study import Study
from reimpact.pipeline import run_study


def _write(tmp_path: Path, study: dict, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(study))
    return path


def _one_line_error(capsys, argv: list[str], words: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("reimpact: error: "), err
    assert words in err, err


@pytest.mark.parametrize(
    "cls", [exceptions.ReimpactError, exceptions.StudyError, exceptions.DataError,
            exceptions.SchemeError, exceptions.DesignError],
)  # fmt: skip
def test_every_error_class_pickles(cls):
    """Errors raised in worker processes must reach the parent (an unpicklable error broke the
    refutations' process pool)."""
    error = cls("methods.psm.caliper", "widen it")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is cls and str(again) == str(error) and again.field == error.field


def test_alias_bomb_and_deep_nesting_are_refused_fast(tmp_path, capsys):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, "
        bomb += f"*{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    path = tmp_path / "bomb.yaml"
    path.write_text("name: bomb\n" + bomb)
    start = time.perf_counter()
    _one_line_error(capsys, ["validate", str(path)], "expands to more than 100,000 values")
    assert time.perf_counter() - start < 5
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")
    _one_line_error(capsys, ["validate", str(deep)], "nested")
    big = tmp_path / "big.yaml"
    big.write_text("name: x\n" + "#" * 1_100_000)
    _one_line_error(capsys, ["validate", str(big)], "a study file holds at most 1 MB")


def test_not_utf8_study_file(tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: r\u00e9int\u00e9gration\n".encode("latin-1"))
    _one_line_error(capsys, ["validate", str(path)], "is not UTF-8 text (byte 0xe9 at position 7)")


@pytest.mark.parametrize(
    "change,words",
    [
        ({"seed": 2**32}, "seed: input should be less than or equal to 4294967295"),
        ({"name": "x" * 300}, "name: use at most 100 letters"),
        ({"sensitivity": {"rosenbaum": {"step": 1e-9}}}, "at most 1,000: raise 'step'"),
        ({"data": {"builtin": "simulated-returnees", "n": 10**9}}, "data.n"),
        ({"report": {"min_cell_size": 10**9}}, "report.min_cell_size"),
    ],
)
def test_limits_are_checked_before_work_starts(tmp_path, capsys, study_dict, change, words):
    study_dict.update(change)
    _one_line_error(capsys, ["validate", str(_write(tmp_path, study_dict))], words)


def test_out_naming_a_file_and_score_min_answered(tmp_path, capsys, study_dict):
    taken = tmp_path / "taken"
    taken.write_text("mine")
    argv = ["run", str(_write(tmp_path, study_dict)), "--out", str(taken), "--quiet"]
    _one_line_error(capsys, argv, "--out: ")
    assert taken.read_text() == "mine"
    raw = tmp_path / "raw.csv"
    raw.write_text("a\n1\n")
    argv = ["score", str(raw), "--out", str(tmp_path / "s.csv"), "--min-answered", "1.5"]
    _one_line_error(capsys, argv, "--min-answered: must be a share in (0, 1]")


def test_a_failing_check_is_recorded_and_strict_turns_it_into_exit_2(
    tmp_path, capsys, study_dict, monkeypatch
):
    """A sensitivity check that raises is recorded as "not run" with its reason, the run writes
    everything else and exits 0; ``--strict`` exits 2 (after writing)."""
    import reimpact.sensitivity.runner

    def broken(*args, **kwargs):
        raise RuntimeError("the check broke\nsecond line")

    monkeypatch.setattr(reimpact.sensitivity.runner, "omitted_variable_bounds", broken)
    study_dict["sensitivity"] = {"rosenbaum": False}
    path = _write(tmp_path, study_dict)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    payload = json.loads((out / "results.json").read_text())
    assert payload["not_run"] == [
        {"check": "omitted_variable", "outcome": "composite_score", "method": "ols",
         "reason": "RuntimeError: the check broke"}
    ]  # fmt: skip
    assert payload["sensitivity"]["evalues"], "the other checks still ran"
    assert (
        "Not run: the omitted_variable check of ols on composite_score could not run "
        "(RuntimeError: the check broke)." in payload["warnings"]
    )
    assert (out / "report.html").is_file()
    _one_line_error(
        capsys, ["run", str(path), "--out", str(out), "--quiet", "--strict"], "--strict: 1 check(s)"
    )
    assert (out / "results.json").is_file()


def test_a_figure_that_fails_is_recorded(tmp_path, study_dict, monkeypatch):
    import reimpact.report.figures as figures

    def broken(*args, **kwargs):
        raise ValueError("cannot draw")

    monkeypatch.setattr(figures, "ecdf_plot", broken)
    results = run_study(Study.from_dict(study_dict), out_dir=tmp_path / "out")
    payload = json.loads((tmp_path / "out" / "results.json").read_text())
    assert payload["not_run"] == [
        {"check": "figure ecdf", "outcome": "", "method": "", "reason": "ValueError: cannot draw"}
    ]
    assert not (tmp_path / "out" / "figures" / "ecdf.png").exists()
    assert (tmp_path / "out" / "figures" / "love_plot.png").exists()
    assert results.not_run == []  # the figures are drawn when writing


def test_refutations_repeat_with_the_same_seed():
    from reimpact.sensitivity.refutation import refute

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    t = (rng.random(300) < 0.4).astype(np.int8)
    y = x[:, 0] + t + rng.normal(size=300)
    options = {"estimand": "ATT", "folds": 2}
    runs = [refute(x, t, y, "y", "aipw", options, 1.0, 0.1, 3, 1, 2**32 - 1) for _ in range(2)]
    assert runs[0] == runs[1]


def test_output_folder_is_cleaned_of_an_earlier_run_only(tmp_path, study_dict):
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    stale = out / "figures" / "rosenbaum_gamma.png"
    stale.write_text("from an earlier run with sensitivity checks")
    mine = out / "notes.txt"
    mine.write_text("mine")
    (out / "figures" / "my_plot.png").write_text("mine too")
    run_study(Study.from_dict(study_dict), out_dir=out)
    assert not stale.exists()
    assert mine.read_text() == "mine" and (out / "figures" / "my_plot.png").exists()
    assert (out / "study.resolved.yaml").is_file()


def test_results_json_runs_again_to_identical_effects(tmp_path, capsys, study_dict):
    """``reimpact run results.json`` (and the written ``study.resolved.yaml``) reproduce the
    effects; switched-off checks stay off (a null would turn them back on)."""
    study_dict["sensitivity"] = {"rosenbaum": False, "omitted_variable": False}
    study_dict["methods"] = {"psm": {}, "aipw": {}}
    first = tmp_path / "first"
    assert main(["run", str(_write(tmp_path, study_dict)), "--out", str(first), "--quiet"]) == 0
    for source in ("results.json", "study.resolved.yaml"):
        again = tmp_path / f"again-{source}"
        assert main(["run", str(first / source), "--out", str(again), "--quiet"]) == 0
        before = json.loads((first / "results.json").read_text())
        after = json.loads((again / "results.json").read_text())
        assert after["effects"] == before["effects"]
        assert after["study"] == before["study"]
        assert after["sensitivity"]["rosenbaum"] == [] and after["study"]["methods"]["ipw"] is False


def test_constant_outcome_gives_zero_with_a_note(tmp_path, study_dict, cohort):
    data = cohort.data.copy()
    data["flat"] = 0.5
    path = tmp_path / "flat.csv"
    data.to_csv(path, index=False)
    study_dict["data"] = {"path": str(path)}
    study_dict["outcomes"] = ["flat", "composite_score"]
    study_dict["methods"] = {"psm": {}, "ipw": {}, "aipw": {}}
    study_dict["sensitivity"] = {}
    results = run_study(Study.from_dict(study_dict), out_dir=tmp_path / "out")
    for effect in results.effects:
        if effect.outcome == "flat":
            assert effect.estimate == pytest.approx(0.0, abs=1e-12)
            assert "the outcome is constant in the analysed rows" in " ".join(effect.notes)
    assert json.loads((tmp_path / "out" / "results.json").read_text())["effects"]


def test_subgroups_by_a_numeric_covariate_and_dollar_column_names(tmp_path, study_dict, cohort):
    data = cohort.data.copy()
    data["$x$ score"] = data["age"] / 10
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    study_dict["data"] = {"path": str(path)}
    study_dict["covariates"] = [*study_dict["covariates"], "$x$ score", "employed_before_return"]
    study_dict["sensitivity"] = {"heterogeneity": {"by": ["employed_before_return"], "cate": False}}
    results = run_study(Study.from_dict(study_dict), out_dir=tmp_path / "out")
    subgroups = results.sensitivity.subgroups
    assert set(subgroups.status) == {"estimated"}, subgroups
    # "$x$ score" is age / 10: left out of the models, said once, whatever the BLAS threading
    assert results.design.collinear == ["$x$ score"]
    assert any("$x$ score" in w and "linear combinations" in w for w in results.warnings)
    assert json.loads((tmp_path / "out" / "results.json").read_text())["not_run"] == []
    assert (tmp_path / "out" / "figures" / "love_plot.png").exists()


def test_a_huge_min_cell_size_runs_and_every_figure_is_drawn_or_skipped(tmp_path, study_dict):
    study_dict["report"] = {"min_cell_size": 5000}
    run_study(Study.from_dict(study_dict), out_dir=tmp_path / "out")
    assert json.loads((tmp_path / "out" / "results.json").read_text())["not_run"] == []


def test_scores_never_reach_0_or_1_and_matching_refuses_them_clearly():
    from reimpact.design.propensity import expit
    from reimpact.estimators.matching.matcher import PropensityMatcher
    from reimpact.exceptions import DesignError

    assert 0 < expit(np.array([-800.0]))[0] and expit(np.array([800.0]))[0] < 1
    with pytest.raises(DesignError, match="scores of exactly 0 or 1 cannot be matched on the logit"):
        PropensityMatcher().fit(np.array([0.2, 1.0, 0.5, 0.3]), np.array([1, 1, 0, 0]))


def test_fuzz_findings_end_in_one_line_or_a_run(tmp_path, capsys, study_dict, cohort):
    """Cases the fuzz campaign found: a line break inside a column name, string cluster labels
    with two-way clustering, and a covariate that duplicates another (a singular model)."""
    study_dict["covariates"] = "age\nsex"
    _one_line_error(capsys, ["validate", str(_write(tmp_path, study_dict))], "column 'age\\nsex'")
    data = cohort.data.copy()
    data["site"] = np.where(data["age"] > 30, "north", "south")
    data["age_copy"] = data["age"]
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    study_dict["data"] = {"path": str(path)}
    study_dict["covariates"] = ["age", "age_copy", "sex", "education", "vulnerable", "country"]
    study_dict["cluster"] = "site"
    study_dict["methods"] = {"psm": {"replace": False}, "ipw": {}, "aipw": {}}
    results = run_study(Study.from_dict(study_dict))
    psm = results.effects.get("composite_score", "psm")
    assert psm.se_type == "two-way cluster-robust by site and matched set"
    assert all(np.isfinite(e.std_error) for e in results.effects)


def test_a_bootstrap_too_large_for_memory_is_refused_before_it_starts():
    from reimpact.estimators.matching.matcher import PropensityMatcher
    from reimpact.exceptions import DesignError

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 3))
    e = 1 / (1 + np.exp(-x[:, 0]))
    t = (rng.random(2000) < e).astype(np.int8)
    design = np.column_stack([np.ones(2000), x])
    psm = PropensityMatcher(replace=False, se="bootstrap", n_bootstrap=100_000)
    psm.fit(e, t, covariates=x, score_design=design)
    start = time.perf_counter()
    with pytest.raises(DesignError, match="methods.psm.n_bootstrap: 100000 replicates of 2,000 rows"):
        psm.estimate(x[:, 0] + t)
    assert time.perf_counter() - start < 5


def test_a_huge_integer_in_the_study_file(tmp_path, capsys, study_dict):
    """Found by the fuzz campaign: YAML reads 1 followed by 400 zeros as an int too large for a
    float; comparing it with the data must not overflow."""
    study_dict["treatment"]["treated"] = [10**400]
    _one_line_error(
        capsys, ["validate", str(_write(tmp_path, study_dict))], "no row has a treated value"
    )


def test_design_columns_that_others_determine_are_left_out_in_order():
    """A covariate on another scale (a linear function of an earlier one) and a difference of two
    earlier ones are dropped; the earlier columns stay; a full-rank design is returned as is."""
    from reimpact.design.covariates import CovariateDesign

    x = np.random.default_rng(0).normal(size=(500, 3))
    full = CovariateDesign(x, ["a", "b", "c"], ["a", "b", "c"])
    assert full.independent() is full
    extended = np.column_stack([x, x[:, 0] / 10 + 3, x[:, 1] - x[:, 2]])
    design = CovariateDesign(extended, list("abcde"), list("abcde")).independent()
    assert design.collinear == ("d", "e") and design.names == ["a", "b", "c"]
    np.testing.assert_array_equal(design.matrix, x)
