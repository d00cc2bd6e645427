"""``reimpact run-many``: tasks from a grid, the same effects on every backend, failures reported
while the other tasks finish, ``--resume``, and one-line errors for a bad grid file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from reimpact import load_study, run_study
from reimpact.batch import load_grid, plan_tasks, run_many
from reimpact.cli import main
from reimpact.exceptions import StudyError

TINY = {
    "name": "tiny",
    "data": {"builtin": "simulated-returnees", "n": 1500, "seed": 1},
    "treatment": {"column": "mentored", "treated": [1]},
    "outcomes": ["composite_score"],
    "covariates": ["age", "sex", "education", "return_type", "vulnerable"],
    "methods": {"psm": {}, "ipw": {}},
    "seed": 3,
}
GRID = {  # 3 x 2
    "vary": {
        "population.return_type": [["voluntary"], ["forced"], ["voluntary", "forced"]],
        "outcomes": [["composite_score"], ["economic_score"]],
    }
}


def write(path: Path, content: dict) -> Path:
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    return write(tmp_path / "study.yaml", TINY), write(tmp_path / "grid.yaml", GRID)


def effects_by_task(out: Path) -> dict[str, list]:
    return {
        folder.name: json.loads((folder / "results.json").read_text())["effects"]
        for folder in sorted(out.iterdir())
        if folder.is_dir()
    }


def test_a_grid_is_every_combination_named_by_its_values_with_seeds_from_one_sequence(files):
    study, grid_path = files
    grid = load_grid(grid_path)
    tasks = plan_tasks([study], grid)
    assert [t.name for t in tasks] == [
        "tiny.voluntary.composite_score", "tiny.voluntary.economic_score",
        "tiny.forced.composite_score", "tiny.forced.economic_score",
        "tiny.voluntary_forced.composite_score", "tiny.voluntary_forced.economic_score",
    ]  # fmt: skip
    assert tasks[2].fields == {"population.return_type": "forced", "outcomes": "composite_score"}
    assert tasks[2].study.outcomes == ["composite_score"]
    assert tasks[2].study.population["return_type"] == ["forced"]
    # a cell's outcomes without the study's primary outcome: its first outcome leads
    primary = write(study.parent / "primary.yaml", {**TINY, "primary_outcome": "composite_score"})
    assert [t.study.primary for t in plan_tasks([primary], grid)[:2]] == [
        "composite_score",
        "economic_score",
    ]
    children = np.random.SeedSequence(3).spawn(6)
    assert [t.seed for t in tasks] == [int(c.generate_state(1)[0]) for c in children]
    same = grid.model_copy(update={"seeds": "study"})
    assert {t.seed for t in plan_tasks([study], same)} == {3}
    labelled = load_grid(
        write(
            study.parent / "labelled.yaml",
            {
                "vary": {"seed": [5, 6], "treatment": [{"column": "mentored"}]},
                "labels": {"seed": ["a", "b"]},
            },
        )
    )
    calipers = load_grid(write(study.parent / "c.yaml", {"vary": {"methods.psm.caliper": [None, 0.2]}}))
    assert [t.name for t in plan_tasks([study], calipers)] == ["tiny.null", "tiny.0.2"]
    assert plan_tasks([study], calipers)[1].study.methods.psm.caliper == 0.2
    assert [(t.name, t.seed) for t in plan_tasks([study], labelled)] == [
        ("tiny.a.mentored", 5),
        ("tiny.b.mentored", 6),
    ]


def test_sequential_results_equal_the_tasks_resolved_studies_run_alone(tmp_path, files):
    study, _ = files
    grid = write(tmp_path / "two.yaml", {"vary": {"outcomes": [["composite_score"], ["social_score"]]}})
    result = run_many([study], tmp_path / "out", grid=grid, backend="sequential")
    assert result.counts() == {"done": 2, "resumed": 0, "failed": 0}
    folder = tmp_path / "out" / "tiny.social_score"
    alone = run_study(load_study(folder / "study.resolved.yaml"), out_dir=tmp_path / "alone")
    assert alone.effects.get("social_score", "psm").estimate == pytest.approx(
        result.summary.query("task == 'tiny.social_score' and method == 'psm'").estimate.item(), abs=0
    )
    assert (
        json.loads((tmp_path / "alone" / "results.json").read_text())["effects"]
        == json.loads((folder / "results.json").read_text())["effects"]
    )
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert list(summary.columns[:7]) == [
        "task",
        "study",
        "outcomes",
        "seed",
        "status",
        "error",
        "outcome",
    ]
    assert len(summary) == 2 * 3 and set(summary.method) == {"naive", "psm", "ipw"}
    assert summary.true_effect.notna().all()
    assert (tmp_path / "out" / "forest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_a_3_by_2_grid_gives_identical_effects_sequentially_with_loky_and_on_dask(tmp_path, files):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    study, grid = files
    reference = run_many([study], tmp_path / "sequential", grid=grid, backend="sequential")
    assert reference.counts()["done"] == 6
    expected = effects_by_task(tmp_path / "sequential")
    run_many([study], tmp_path / "loky", grid=grid, backend="loky", n_jobs=2)
    assert effects_by_task(tmp_path / "loky") == expected
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = run_many(
            [study], tmp_path / "dask", grid=grid, backend="dask", scheduler=cluster.scheduler_address
        )
    assert on_dask.counts()["done"] == 6
    assert effects_by_task(tmp_path / "dask") == expected
    columns = ["task", "method", "estimate", "std_error"]
    pd.testing.assert_frame_equal(on_dask.summary[columns], reference.summary[columns])


@pytest.mark.slow
def test_ray_gives_the_same_effects(tmp_path, files):
    pytest.importorskip("ray", reason="ray cannot be imported (install the ray extra)")
    study, _ = files
    grid = write(tmp_path / "two.yaml", {"vary": {"outcomes": [["composite_score"], ["social_score"]]}})
    run_many([study], tmp_path / "sequential", grid=grid, backend="sequential")
    on_ray = run_many([study], tmp_path / "ray", grid=grid, backend="ray", n_jobs=2)
    assert on_ray.counts()["done"] == 2
    assert effects_by_task(tmp_path / "ray") == effects_by_task(tmp_path / "sequential")


def test_a_failed_task_is_reported_while_the_others_finish(tmp_path, capsys):
    good = write(tmp_path / "good.yaml", TINY)
    bad = write(tmp_path / "bad.yaml", {**TINY, "name": "bad", "covariates": ["agee"]})
    missing = tmp_path / "missing.yaml"
    out = tmp_path / "out"
    code = main(
        ["run-many", str(good), str(bad), str(missing), "--out", str(out), "--backend", "sequential"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "reimpact: task failed: bad (" in err and "column 'agee': is not in the data" in err
    assert "reimpact: task failed: missing (" in err and "study file not found" in err
    assert "Traceback" not in err
    summary = pd.read_csv(out / "summary.csv")
    status = summary.groupby("task").status.first()
    assert status.to_dict() == {"bad": "failed", "missing": "failed", "tiny": "done"}
    assert summary.loc[summary.task == "bad", "error"].item().endswith("did you mean 'age'?")
    assert (out / "tiny" / "results.json").is_file() and not (out / "bad").exists()
    # a task that fails again leaves no outputs of an earlier run in its folder
    (out / "bad").mkdir()
    (out / "bad" / "results.json").write_text("{}")
    (out / "bad" / "notes.txt").write_text("mine")
    assert main(["run-many", str(bad), "--out", str(out), "--backend", "sequential", "--quiet"]) == 2
    assert [p.name for p in (out / "bad").iterdir()] == ["notes.txt"]


def test_a_grid_cell_with_an_invalid_study_fails_alone(tmp_path, files):
    study, _ = files
    grid = write(tmp_path / "grid.yaml", {"vary": {"estimand": ["ATT", "ATX"]}})
    result = run_many([study], tmp_path / "out", grid=grid, backend="sequential")
    assert [(r.task.name, r.status) for r in result.records] == [
        ("tiny.ATT", "done"),
        ("tiny.ATX", "failed"),
    ]
    assert "estimand: input should be 'ATT', 'ATE' or 'ATC'" in result.failures[0].error


def test_resume_skips_the_tasks_whose_outputs_are_complete(tmp_path, files):
    study, _ = files
    grid = write(tmp_path / "grid.yaml", {"vary": {"outcomes": [["composite_score"], ["social_score"]]}})
    out = tmp_path / "out"
    run_many([study], out, grid=grid, backend="sequential")
    kept = out / "tiny.composite_score" / "results.json"
    stamp = kept.stat().st_mtime_ns
    (out / "tiny.social_score" / "results.json").unlink()  # as if interrupted before the last write
    resumed = run_many([study], out, grid=grid, backend="sequential", resume=True)
    assert [r.status for r in resumed.records] == ["resumed", "done"]
    assert kept.stat().st_mtime_ns == stamp
    assert (out / "tiny.social_score" / "results.json").is_file()
    assert len(resumed.summary) == 6  # the resumed task's effects come from its results.json
    # a changed study (another seed for every cell) makes no folder complete
    write(study, {**TINY, "seed": 4})
    again = run_many([study], out, grid=grid, backend="sequential", resume=True)
    assert [r.status for r in again.records] == ["done", "done"]


@pytest.mark.parametrize(
    "content,words",
    [
        (
            {"vary": {"outcome": [["composite_score"]]}},
            "vary: outcome: 'outcome' is not a study-file key",
        ),
        ({"vary": {"outcomes": []}}, "vary: outcomes: list at least one value"),
        ({"vary": {"outcomes": "composite_score"}}, "vary.outcomes: input should be a valid list"),
        ({"vary": {"name": ["a", "b"]}}, "it cannot be varied"),
        ({"vary": {"seed": [1, 2]}, "labels": {"seed": ["a"]}}, "labels.seed: give one label per value"),
        ({"vary": {"seed": [1, 2]}, "seeds": "fresh"}, "seeds: input should be 'spawn' or 'study'"),
        ({"varry": {}}, "unknown key 'varry' (did you mean 'vary'?)"),
        ({"vary": {"outcomes": [["a-b"], ["a b"]]}}, "two values are both labelled 'a-b'"),
        ([1, 2], "a grid file is a mapping with the key 'vary'"),
        (None, "grid file not found"),
    ],
)
def test_a_bad_grid_file_exits_2_with_one_line(tmp_path, files, capsys, content, words):
    study, _ = files
    grid = tmp_path / "bad-grid.yaml"
    if content is not None:
        write(grid, content)
    code = main(["run-many", str(study), "--grid", str(grid), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"reimpact: error: {grid}"), err
    assert words in err
    assert not (tmp_path / "out").exists()


def test_bad_options_exit_2_with_one_line(tmp_path, files, capsys):
    study, _ = files
    for extra, words in [
        (["--scheduler", "tcp://localhost:8786"], "--scheduler: only --backend dask or ray"),
        (["--n-jobs", "0"], "--n-jobs: must be at least 1"),
        (["--backend", "spark"], "--backend: expecting one of sequential, loky, dask, ray; got 'spark'"),
    ]:
        code = main(["run-many", str(study), "--out", str(tmp_path / "out"), *extra])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and words in err, err


def test_load_grid_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("vary: [a\n", encoding="utf-8")
    with pytest.raises(StudyError, match="x.yaml: not a valid YAML grid file at line 2"):
        load_grid(path)


def test_inner_work_of_a_parallel_task_is_single_threaded():
    import os

    import numba
    from joblib import Parallel, delayed
    from threadpoolctl import threadpool_info

    from reimpact.parallel import single_threaded

    with single_threaded():
        # refute() calls Parallel(n_jobs=refutations.n_jobs): here it stays in this process
        assert set(Parallel(n_jobs=4)(delayed(os.getpid)() for _ in range(4))) == {os.getpid()}
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
        assert numba.get_num_threads() == 1


def test_a_relative_data_path_is_made_absolute_for_workers_elsewhere(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cohort.csv").write_text("mentored,age,composite_score\n1,30,0.5\n")
    study = write(tmp_path / "study.yaml", {**TINY, "data": {"path": "data/cohort.csv"}})
    task = plan_tasks([study])[0]
    assert task.study.data.path == str((tmp_path / "data" / "cohort.csv").resolve())


def test_the_forest_across_tasks_draws_contrasts_and_leaves_out_withheld_estimates():
    from reimpact.report.figures.effects import task_forest_plot

    rows = [
        ("a", "A", "economic vs none", "ipw", 0.10), ("a", "A", "economic vs none", "aipw", 0.12),
        ("b", "B", "economic vs none", "aipw", None), ("b", "B", "social vs none", "aipw", 0.02),
    ]  # fmt: skip
    frame = pd.DataFrame(
        [
            {"task": t, "label": lab, "outcome": "composite_score", "contrast": c, "method": m,
             "estimate": e, "std_error": 0.01, "ci_lower": (e or 0) - 0.02, "ci_upper": (e or 0) + 0.02}
            for t, lab, c, m, e in rows
        ]
    )  # fmt: skip
    fig = task_forest_plot(frame)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == [
        "composite_score (economic vs none)", "A", "A", "composite_score (social vs none)", "B",
    ]  # fmt: skip
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["IPW", "AIPW"]


def test_the_forest_keeps_each_tasks_headline_method_when_every_method_would_not_fit():
    from reimpact.report.figures.effects import task_forest_plot

    frame = pd.DataFrame(
        [
            {"task": f"t{j}", "label": f"T{j}", "outcome": "composite_score", "method": m,
             "estimate": 0.1, "std_error": 0.01, "ci_lower": 0.08, "ci_upper": 0.12}
            for j in range(20)
            for m in ("naive", "psm", "ipw", "aipw")
        ]
    )  # fmt: skip
    fig = task_forest_plot(frame)
    assert "each task's headline method" in fig._suptitle.get_text()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["AIPW"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][1:4] == ["T0", "T1", "T2"]


def test_without_a_scheduler_dask_starts_a_local_cluster_of_single_threaded_workers():
    import os

    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from joblib import Parallel, delayed

    from reimpact.parallel import parallel_backend

    with parallel_backend("dask", n_jobs=2):
        from distributed import get_client

        workers = get_client().scheduler_info()["workers"].values()
        assert [w["nthreads"] for w in workers] == [1, 1]
        pids = set(Parallel()(delayed(os.getpid)() for _ in range(4)))
    assert os.getpid() not in pids
