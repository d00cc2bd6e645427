"""The tasks of ``reimpact run-many``: each listed study file, or each cell of a grid of
variations of it (:mod:`.grid`), as one validated study with its own name and seed.

A task is a pure function of its study: the study holds the data source, every option and the
seed, so the task's results equal those of ``reimpact run`` on the task's ``study.resolved.yaml``
(to every digit when that run is single-threaded too, as the tasks are), wherever and in whatever
order the tasks run. Without a grid each study keeps its own seed (the
task is exactly ``reimpact run STUDY``); with a grid the seeds come from one
``numpy.random.SeedSequence`` of the study's seed (see :mod:`.grid`).

A study that cannot be read, or a grid cell whose study is invalid (an outcome the data lack
would only show later, when the task runs), becomes a task that failed before it started; the
other tasks still run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..config.study import Study, load_study
from ..exceptions import ReimpactError
from .grid import Grid

MAX_NAME = 100  # a study name's limit (config.study): task names are study names


@dataclass(frozen=True)
class Task:
    """One study to run and where its outputs go (``<out>/<name>/``).

    Parameters
    ----------
    name : str
        The task's name: the study's name, with the grid labels of its values appended.
    source : str
        The study file the task comes from, as given.
    study : Study or None
        The task's validated study (its name and seed set); None when it could not be built.
    error : str or None
        Why the study could not be built (one line), else None.
    fields : dict of str to str
        The label of each varied field's value in this task (empty without a grid).
    """

    name: str
    source: str
    study: Study | None
    error: str | None = None
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        """The seed the task runs with (None when its study could not be built)."""
        return None if self.study is None else self.study.seed


def plan_tasks(studies: Sequence[str | Path], grid: Grid | None = None) -> list[Task]:
    """The tasks of a run: every study file, or every cell of ``grid`` for every study file.

    Parameters
    ----------
    studies : sequence of str or Path
        Study files (or ``results.json`` / ``study.resolved.yaml`` files of earlier runs).
    grid : Grid or None
        Variations of each study (:func:`~reimpact.batch.grid.load_grid`); None runs each study
        as it is.

    Returns
    -------
    list of Task
        In the order of the files, then of the grid's cells. A study file that cannot be read
        gives one failed task named after the file.

    Raises
    ------
    ReimpactError
        When two tasks would get the same name (their folders would clash) or a task's name is
        longer than 100 characters.
    """
    tasks: list[Task] = []
    for path in studies:
        try:
            base = load_study(path)
        except ReimpactError as exc:
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(path).stem).strip("-.") or "study"
            tasks.append(Task(stem, str(path), None, str(exc)))
            continue
        if grid is None:
            tasks.append(Task(base.name, str(path), _absolute_data(base)))
        else:
            tasks += _grid_tasks(base, _raw_study(Path(path)), str(path), grid)
    seen: dict[str, str] = {}
    for task in tasks:
        if len(task.name) > MAX_NAME:
            raise ReimpactError(
                "--grid" if grid else "STUDY",
                f"task name '{task.name[:60]}...' is longer than {MAX_NAME} characters; "
                "give shorter labels under the grid's 'labels'",
            )
        if task.name in seen:
            raise ReimpactError(
                "STUDY",
                f"{seen[task.name]} and {task.source} both give a task named '{task.name}' (one "
                "folder each); rename one study",
            )
        seen[task.name] = task.source
    return tasks


def _grid_tasks(base: Study, raw: dict[str, Any], source: str, grid: Grid) -> list[Task]:
    """The tasks of one study's grid: each cell's values set, its name and (``seeds: spawn``,
    unless the grid varies ``seed``) the cell's child seed."""
    cells = grid.cells()
    spawn = grid.seeds == "spawn" and "seed" not in grid.vary
    children = np.random.SeedSequence(base.seed).spawn(len(cells))
    tasks = []
    for cell, child in zip(cells, children, strict=True):
        name = ".".join([base.name, *cell.labels.values()])
        study_raw = cell.apply(raw)
        study_raw["name"] = name
        _keep_primary_outcome(study_raw, cell.values)
        if spawn:
            study_raw["seed"] = int(child.generate_state(1)[0])
        try:
            study = Study.from_dict(study_raw, source=source)
        except ReimpactError as exc:
            tasks.append(Task(name, source, None, str(exc), cell.labels))
            continue
        tasks.append(Task(name, source, _absolute_data(study), None, cell.labels))
    return tasks


def _absolute_data(study: Study) -> Study:
    """The study with a relative ``data.path`` made absolute where it is found (the working
    directory first, then the study file's folder, as a run looks it up), so that a worker with
    another working directory reads the same file; unchanged when it is not found (the task then
    fails with the run's own message)."""
    named = study.data.path
    if named is None or Path(named).is_absolute():
        return study
    folder = study.source.parent if study.source is not None else Path()
    for candidate in (Path(named), folder / named):
        if candidate.is_file():
            data = study.data.model_copy(update={"path": str(candidate.resolve())})
            return study.model_copy(update={"data": data})
    return study


def _keep_primary_outcome(raw: dict[str, Any], values: dict[str, Any]) -> None:
    """A cell that sets ``outcomes`` without the study's ``primary_outcome`` drops it (the first
    of the cell's outcomes leads), unless the grid varies ``primary_outcome`` too."""
    if "outcomes" not in values or "primary_outcome" in values:
        return
    outcomes = values["outcomes"] if isinstance(values["outcomes"], list) else [values["outcomes"]]
    if raw.get("primary_outcome") not in outcomes:
        raw.pop("primary_outcome", None)


def _raw_study(path: Path) -> dict[str, Any]:
    """The parsed study file (already validated by ``load_study``), or the ``study`` section
    of a ``results.json``."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "reimpact_version" in raw and isinstance(raw.get("study"), dict):
        raw = raw["study"]
    return raw
