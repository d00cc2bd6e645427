"""The command line: exit codes, one-line errors, outputs on disk, fast import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from reimpact.cli import main

ROOT = Path(__file__).parents[1]


def write_study(tmp_path: Path, study: dict) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def test_validate_accepts_the_shipped_studies(capsys):
    for name in ("orion_mentoring", "referrals", "economic_support"):
        assert main(["validate", str(ROOT / "studies" / f"{name}.yaml")]) == 0
        assert "valid" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change,words",
    [
        ({"estimand": "ATX"}, "estimand: input should be 'ATT', 'ATE' or 'ATC'"),
        ({"covariates": ["agee"]}, "covariates: column 'agee': is not in the data"),
        ({"methods": {"psm": {"caliper": -1}}}, "methods.psm.caliper"),
        ({"treatment": {"column": "household_size"}}, "treatment.column: 'household_size' has"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, study_dict, change, words):
    study_dict.update(change)
    code = main(["run", str(write_study(tmp_path, study_dict)), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("reimpact: error: ")
    assert words in captured.err
    assert "Traceback" not in captured.err


def test_run_writes_results_json(tmp_path, capsys, study_dict):
    study_dict["methods"] = {"psm": {}, "ipw": {}}
    study_path = write_study(tmp_path, study_dict)
    before = study_path.read_bytes()
    assert main(["run", str(study_path), "--out", str(tmp_path / "out")]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    sample = results["sample"]
    assert sample["rows_read"] == 3000
    assert sample["treated"] + sample["control"] == sample["analysed"]
    assert {e["method"] for e in results["effects"]} == {"naive", "psm", "ipw"}
    assert study_path.read_bytes() == before, "the study file must not change"
    assert "results written to" in capsys.readouterr().out


def test_simulate_and_score_round_trip(tmp_path, capsys):
    raw = tmp_path / "cohort.csv"
    assert (
        main(
            [
                "simulate",
                "--n",
                "300",
                "--seed",
                "4",
                "--out",
                str(raw),
                "--truth",
                str(tmp_path / "truth.csv"),
            ]
        )
        == 0
    )
    truth = pd.read_csv(tmp_path / "truth.csv")
    assert list(truth.columns) == ["treatment", "outcome", "estimand", "effect"]
    frame = pd.read_csv(raw)
    unscored = frame.drop(columns=["composite_score", "economic_score"])
    unscored.to_csv(tmp_path / "raw.csv", index=False)
    before = (tmp_path / "raw.csv").read_bytes()
    out = tmp_path / "scored.parquet"
    assert main(["score", str(tmp_path / "raw.csv"), "--out", str(out)]) == 0
    scored = pd.read_parquet(out)
    pd.testing.assert_series_equal(scored["composite_score"], frame["composite_score"], rtol=1e-9)
    assert (tmp_path / "raw.csv").read_bytes() == before


def test_score_refuses_to_overwrite_its_input(tmp_path, capsys):
    raw = tmp_path / "raw.csv"
    main(["simulate", "--n", "100", "--out", str(raw)])
    assert main(["score", str(raw), "--out", str(raw)]) == 2
    assert "input files are never modified" in capsys.readouterr().err


def test_score_with_a_bad_scheme(tmp_path, capsys):
    raw = tmp_path / "raw.csv"
    main(["simulate", "--n", "100", "--out", str(raw)])
    scheme = tmp_path / "scheme.yaml"
    scheme.write_text("name: x\nindicators: []\n")
    assert main(["score", str(raw), "--scheme", str(scheme), "--out", str(tmp_path / "s.csv")]) == 2
    assert "indicators" in capsys.readouterr().err


def test_console_command_runs_a_study_and_flushes_what_it_prints(tmp_path):
    """The installed command ends without the interpreter's teardown (cli.finish): everything it
    printed reaches the pipe, its outputs are on disk, and the exit code is main()'s."""
    study = yaml.safe_load((ROOT / "studies" / "orion_mentoring.yaml").read_text(encoding="utf-8"))
    study["data"]["n"] = 600
    study["sensitivity"] = {"evalue": True}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    exe = Path(sys.executable).parent / "reimpact"
    out = tmp_path / "out"
    command = [str(exe), "run", str(path), "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith(f"results written to {out}/")
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["effects"]


def test_finish_exits_at_once_even_after_joblib_workers():
    """With joblib's worker pool alive (the refutations start one) the quick exit would wait for
    ever on the pool's manager thread; finish() leaves such a process to Python's usual exit."""
    code = (
        "from joblib import Parallel, delayed\n"
        "Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(4))\n"
        "from reimpact.cli import finish\n"
        "print('done')\n"
        "finish(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (3, "done\n")


def test_console_sets_one_malloc_arena_before_the_run(monkeypatch):
    """The command (not the library) keeps its threads' temporaries in one malloc arena."""
    import reimpact.cli as cli

    calls: list = []
    monkeypatch.setattr("reimpact.memory.one_malloc_arena", lambda: calls.append("arena") or True)
    monkeypatch.setattr(cli, "main", lambda: calls.append("main") or 0)
    monkeypatch.setattr(cli, "finish", lambda status: calls.append(("finish", status)))
    cli.console()
    assert calls == ["arena", "main", ("finish", 0)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_one_malloc_arena_is_set_on_glibc():
    code = "import reimpact.memory as m; m.release_unused_memory(); print(m.one_malloc_arena())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True", result.stderr


def test_console_script_exit_code(tmp_path):
    """The installed command (not only main()) exits 2 on bad input."""
    exe = Path(sys.executable).parent / "reimpact"
    result = subprocess.run(
        [str(exe), "validate", str(tmp_path / "missing.yaml")], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith("study file not found; check the path")


def test_import_is_fast_and_lazy():
    code = (
        "import time, sys; t = time.perf_counter(); import reimpact; "
        "print(time.perf_counter() - t); "
        "print(any(m in sys.modules for m in ('dowhy', 'econml', 'sklearn', 'numba')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, heavy = out.stdout.split()
    assert heavy == "False"
    assert float(seconds) < 2.0
