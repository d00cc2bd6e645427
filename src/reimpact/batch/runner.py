"""Running the tasks of ``reimpact run-many`` on a joblib backend and collecting their outputs.

Each task runs :func:`~reimpact.run_study` on its study in a worker (:func:`run_task`), writing
the normal outputs of ``reimpact run`` into a temporary folder there and sending them back as
bytes, so that a remote Dask or Ray worker needs to read the data but not to share a disk with the
parent. The parent writes them into ``<out>/<task name>/`` as each task finishes, ``results.json``
last and by an atomic rename. A task's folder is therefore **complete** when its ``results.json``
exists, parses, was written by reimpact and holds the task's study (:func:`is_complete`);
``resume`` skips such tasks.

A task that fails (its study could not be built, the data do not fit it, the design cannot be
estimated, or anything else goes wrong in it) is recorded with its one-line reason, and what an
earlier run wrote in its folder is removed; the other tasks still run.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._progress import progress
from ..config.study import Study
from ..exceptions import ReimpactError, failure_reason
from ..parallel import Backend, check_backend, parallel_backend, single_threaded
from .grid import load_grid
from .tasks import Task, plan_tasks

Status = Literal["done", "resumed", "failed"]


@dataclass(frozen=True)
class TaskOutput:
    """What a worker sends back: the task's output files (relative path -> bytes) or why it
    failed, and how long it ran."""

    name: str
    files: dict[str, bytes]
    error: str | None
    seconds: float


@dataclass
class TaskRecord:
    """What became of one task: its status, the reason it failed and its ``results.json``."""

    task: Task
    status: Status
    error: str | None = None
    payload: dict[str, Any] | None = None
    seconds: float = 0.0


@dataclass
class ManyResults:
    """The outcome of :func:`run_many`: a record per task (in task order) and the summary.

    Parameters
    ----------
    records : list of TaskRecord
        Per task: its status (``done``, ``resumed`` or ``failed``), its error and the content of
        its ``results.json``.
    out_dir : Path
        The folder the task folders, ``summary.csv`` and ``forest.png`` were written to.
    summary : pandas.DataFrame
        The content of ``summary.csv`` (:func:`~reimpact.batch.summary.summary_frame`).
    """

    records: list[TaskRecord]
    out_dir: Path
    summary: Any = field(repr=False, default=None)

    @property
    def failures(self) -> list[TaskRecord]:
        """The tasks that failed."""
        return [r for r in self.records if r.status == "failed"]

    def counts(self) -> dict[str, int]:
        """How many tasks are done, resumed and failed."""
        return {s: sum(r.status == s for r in self.records) for s in ("done", "resumed", "failed")}


def run_task(task: Task) -> TaskOutput:
    """Run one task's study and return its output files, or the one-line reason it failed.

    The outputs are those of ``reimpact run``, written to a temporary folder and read back.
    The inner work is single-threaded (:func:`~reimpact.parallel.single_threaded`: BLAS, OpenMP
    and numba on one thread, any inner ``joblib.Parallel`` such as the refutation simulations run
    sequentially): a task that is one of many running in parallel starts no threads of its own,
    and the order of every floating-point sum, hence every digit of the results, is the same on
    every backend. Libraries' warnings are silenced as the command
    line does: what a user must know is in ``results.json``.
    """
    import tempfile

    from ..pipeline import run_study

    start = time.perf_counter()
    if task.study is None:
        return TaskOutput(task.name, {}, task.error or "the study could not be built", 0.0)
    try:
        with ExitStack() as stack:
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
            stack.enter_context(single_threaded())
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reimpact-task-")))
            run_study(task.study, out_dir=folder, quiet=True)
            files = {
                path.relative_to(folder).as_posix(): path.read_bytes()
                for path in sorted(folder.rglob("*"))
                if path.is_file()
            }
    except Exception as exc:  # a task's failure is recorded; the other tasks go on
        return TaskOutput(task.name, {}, failure_reason(exc), time.perf_counter() - start)
    return TaskOutput(task.name, files, None, time.perf_counter() - start)


def write_task(folder: Path, files: dict[str, bytes]) -> None:
    """Write a task's files into ``folder`` (first removing what an earlier run wrote there),
    ``results.json`` last and atomically, so that its presence means the rest is written."""
    from ..report import prepare_output

    prepare_output(folder)
    for name, content in files.items():
        if name != "results.json":
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    partial = folder / "results.json.partial"
    partial.write_bytes(files["results.json"])
    os.replace(partial, folder / "results.json")


def is_complete(folder: Path, study: Study) -> dict[str, Any] | None:
    """The ``results.json`` of a complete task folder, or None.

    Complete means: ``results.json`` (written last) exists, parses as JSON, was written by
    reimpact (``reimpact_version`` and a list of ``effects``), and its ``study`` is the task's
    study, every option and the seed alike (a data file may be named by another spelling of its
    path, as the resolved study names it by its absolute path).
    """
    try:
        payload = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        ran = Study.from_dict(payload["study"]) if isinstance(payload, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if ran is None or "reimpact_version" not in payload or not isinstance(payload.get("effects"), list):
        return None
    return payload if _comparable(ran) == _comparable(study) else None


def _comparable(study: Study) -> dict[str, Any]:
    """A study's settings with its data file reduced to the file's name."""
    raw = study.model_dump(mode="json")
    if raw["data"]["path"] is not None:
        raw["data"]["path"] = Path(raw["data"]["path"]).name
    return raw


def run_many(
    studies: Sequence[str | Path],
    out_dir: str | Path,
    grid: str | Path | None = None,
    backend: Backend = "loky",
    n_jobs: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    quiet: bool = True,
) -> ManyResults:
    """Run many studies, or a grid of variations of a study, as independent tasks.

    Each task (:func:`~reimpact.batch.tasks.plan_tasks`) runs its study as ``reimpact run``
    would, on ``backend``, and its outputs go to ``<out_dir>/<task name>/``; then
    ``summary.csv`` (one row per task and effect) and ``forest.png``/``.svg`` (every estimate of
    every task) are written to ``out_dir`` (:mod:`reimpact.batch.summary`). A failed task is
    recorded with its reason and the others still run.

    Parameters
    ----------
    studies : sequence of str or Path
        Study files (or ``results.json`` / ``study.resolved.yaml`` of earlier runs).
    out_dir : str or Path
        The output folder, created if needed.
    grid : str or Path or None
        A grid file of variations of each study (:mod:`reimpact.batch.grid`).
    backend : {"sequential", "loky", "dask", "ray"}
        Where the tasks run (:func:`~reimpact.parallel.parallel_backend`). On every backend
        each task's inner work runs single-threaded, so that the backend changes no digit.
    n_jobs : int or None
        Parallel workers (loky processes, local Dask workers, local Ray CPUs); default every core.
    scheduler : str or None
        The address of an existing Dask scheduler or Ray cluster; None starts a local one.
    resume : bool
        Skip the tasks whose folder is complete (:func:`is_complete`).
    quiet : bool
        False shows one progress bar over the tasks on standard error.

    Returns
    -------
    ManyResults
        The record of every task and the summary.

    Raises
    ------
    ReimpactError
        When the grid file is invalid, the backend cannot start, two tasks share a name or
        ``out_dir`` is a file (before any task runs).

    Notes
    -----
    The ``loky``, ``dask`` and ``ray`` backends start worker processes that import the calling
    script again: a script that calls ``run_many`` with them does so under
    ``if __name__ == "__main__":``.
    """
    check_backend(backend, n_jobs, scheduler)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReimpactError("--out", f"'{out}' is a file, not a folder; name a folder for the results")
    tasks = plan_tasks(studies, load_grid(grid) if grid is not None else None)
    records = {task.name: TaskRecord(task, "failed", task.error) for task in tasks}
    pending = []
    for task in tasks:
        payload = is_complete(out / task.name, task.study) if resume and task.study else None
        if payload is not None:
            records[task.name] = TaskRecord(task, "resumed", payload=payload)
        elif task.study is not None:
            pending.append(task)
    bar = f"run-many ({backend})"
    for output in progress(_outputs(pending, backend, n_jobs, scheduler), bar, len(pending), not quiet):
        record = records[output.name]
        record.seconds = output.seconds
        if output.error is not None:
            record.error = output.error
            if (out / output.name).is_dir():  # no earlier outputs beside a failure
                from ..report import prepare_output

                prepare_output(out / output.name)
            continue
        write_task(out / output.name, output.files)
        record.status, record.error = "done", None
        record.payload = json.loads(output.files["results.json"])
    from .summary import write_summary

    result = ManyResults([records[task.name] for task in tasks], out)
    result.summary = write_summary(result.records, out)
    return result


def _outputs(
    tasks: list[Task], backend: Backend, n_jobs: int | None, scheduler: str | None
) -> Iterator[TaskOutput]:
    """The tasks' outputs as they finish: in this process, one after another (``sequential``),
    or in joblib's workers; single-threaded inside either way."""
    if not tasks:
        return
    if backend == "sequential":
        yield from (run_task(task) for task in tasks)
        return
    from joblib import Parallel, delayed, effective_n_jobs

    with parallel_backend(backend, n_jobs, scheduler):
        try:
            parallel = Parallel(return_as="generator_unordered")
        except ValueError:  # Ray's backend returns lists only: batches of twice its workers
            parallel = None
        if parallel is not None:
            yield from parallel(delayed(run_task)(task) for task in tasks)
            return
        size = 2 * effective_n_jobs()
        for start in range(0, len(tasks), size):
            batch = tasks[start : start + size]
            yield from Parallel()(delayed(run_task)(task) for task in batch)
