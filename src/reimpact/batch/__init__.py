"""Many studies as independent tasks (``reimpact run-many``): a list of study files or a grid of
variations of one (:mod:`.grid`), planned as tasks (:mod:`.tasks`), run on a joblib backend
(:mod:`.runner`, :mod:`reimpact.parallel`) and summarised across tasks (:mod:`.summary`)."""

from __future__ import annotations

from .grid import Grid, load_grid
from .runner import ManyResults, TaskRecord, is_complete, run_many, run_task
from .tasks import Task, plan_tasks

__all__ = [
    "Grid",
    "ManyResults",
    "Task",
    "TaskRecord",
    "is_complete",
    "load_grid",
    "plan_tasks",
    "run_many",
    "run_task",
]
