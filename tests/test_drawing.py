"""The report's figures drawn in two processes (report/drawing.py): the same files, PNG bytes,
units and failures, in the same order, as when one process draws them all; a figure that fails in
the child is reported, not lost; a child that dies leaves its figures to the parent; and a run
that is one of many parallel tasks draws in one process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from reimpact import Study, run_study
from reimpact.report import FIGURES, drawing

STUDIES = Path(__file__).resolve().parent.parent / "studies"
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2, reason="needs Linux, two cores"
)


@pytest.fixture(scope="module")
def results():
    raw = yaml.safe_load((STUDIES / "orion_mentoring.yaml").read_text(encoding="utf-8"))
    raw["data"]["n"] = 3000
    del raw["sensitivity"]["refutations"]  # no figure of its own
    return run_study(Study.from_dict(raw))


def _draw(results, out: Path, parallel: bool, monkeypatch) -> tuple:
    monkeypatch.setattr(drawing, "_two_processes", lambda: parallel)
    return drawing.draw_figures(results, out)


def test_two_processes_draw_what_one_draws(results, tmp_path, monkeypatch):
    one = _draw(results, tmp_path / "one", False, monkeypatch)
    two = _draw(results, tmp_path / "two", True, monkeypatch)
    assert list(one[0]) == list(two[0]) == list(FIGURES)
    assert one[1:] == two[1:] and one[0] == two[0]  # the same PNG bytes
    drawn = [name for name, png in one[0].items() if png is not None]
    assert len(drawn) >= 6  # love, overlap, ecdf, forest and the sensitivity figures
    mine, theirs = drawing._share(list(FIGURES))
    assert "ecdf" in theirs and set(mine).isdisjoint(theirs)
    for name in drawn:
        assert len(two[0][name]) > 1000, name
        for suffix in (".png", ".svg"):
            assert (tmp_path / "two" / "figures" / f"{FIGURES[name]}{suffix}").stat().st_size > 0


def test_a_figure_failing_in_the_child_is_reported(results, tmp_path, monkeypatch):
    from reimpact import report

    real = report.figure

    def broken(res, name):
        if name == "ecdf":  # drawn by the child (its share starts with the costliest)
            raise ValueError("no grid")
        return real(res, name)

    monkeypatch.setattr(report, "figure", broken)
    drawn, failed, _ = _draw(results, tmp_path, True, monkeypatch)
    assert drawn["ecdf"] is None and drawn["love"] is not None
    assert [f["check"] for f in failed] == ["figure ecdf"]
    assert "no grid" in failed[0]["reason"]


def test_a_child_that_dies_leaves_its_figures_to_the_parent(results, tmp_path, monkeypatch):
    def die(*_):
        os._exit(1)

    monkeypatch.setattr(drawing, "_child_main", die)
    drawn, failed, units = _draw(results, tmp_path, True, monkeypatch)
    assert drawn["ecdf"] is not None and not failed
    assert dict(units)["ecdf"] >= 10


def test_one_process_inside_parallel_tasks():
    from joblib import parallel_config

    with parallel_config(backend="sequential"):
        assert not drawing._two_processes()
