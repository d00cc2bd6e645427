"""The combined outputs of ``reimpact run-many``: ``summary.csv`` and the forest plot across tasks.

``summary.csv`` has one row per task and effect (per task, with empty effect columns, when the
task failed): the task, its study file, the label of each varied field, its seed, ``status``
(``done``, ``resumed`` or ``failed``) and ``error``, then the effect as ``results.json`` publishes
it (after the disclosure gate: a withheld estimate is empty, a small count reads ``"<10"``) and,
for simulated data, the true effect. ``forest.png`` (and ``.svg``) draws every published
estimate with its 95% interval, one block per outcome, one row per task and method.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .runner import TaskRecord

EFFECT_COLUMNS = (
    "outcome", "contrast", "method", "estimand", "estimate", "std_error", "ci_lower", "ci_upper",
    "p_value", "n_treated", "n_control",
)  # fmt: skip


def summary_frame(records: list[TaskRecord]) -> pd.DataFrame:
    """One row per task and effect (one row per failed task), in task order.

    Columns: ``task``, ``study``, the varied fields (in the grid's order), ``seed``, ``status``,
    ``error``, the effect's columns (``contrast`` only for a multi-valued treatment) and
    ``true_effect`` when some task's data are simulated.
    """
    fields = list(dict.fromkeys(f for r in records for f in r.task.fields))
    rows: list[dict[str, Any]] = []
    for record in records:
        task = record.task
        head: dict[str, Any] = {
            "task": task.name,
            "study": task.source,
            **{f: task.fields.get(f) for f in fields},
        }
        head |= {"seed": task.seed, "status": record.status, "error": record.error}
        payload = record.payload or {}
        effects = payload.get("effects") or [{}]
        truth = {
            (t.get("outcome"), t.get("contrast")): t.get("effect") for t in payload.get("truth") or []
        }
        for effect in effects:
            row = head | {c: effect.get(c) for c in EFFECT_COLUMNS}
            row["true_effect"] = truth.get((effect.get("outcome"), effect.get("contrast")))
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    if frame["contrast"].isna().all():
        frame = frame.drop(columns="contrast")
    if frame["true_effect"].isna().all():
        frame = frame.drop(columns="true_effect")
    return frame


def write_summary(records: list[TaskRecord], out: Path) -> pd.DataFrame:
    """Write ``summary.csv`` and, when some estimate was published, ``forest.png`` and
    ``forest.svg`` into ``out``; return the summary."""
    out.mkdir(parents=True, exist_ok=True)
    frame = summary_frame(records)
    frame.to_csv(out / "summary.csv", index=False)
    for suffix in (".png", ".svg"):
        (out / f"forest{suffix}").unlink(missing_ok=True)  # an earlier run's
    if "estimate" in frame and pd.to_numeric(frame["estimate"], errors="coerce").notna().any():
        from ..report.figures import save
        from ..report.figures.effects import task_forest_plot

        save(task_forest_plot(frame.assign(label=row_labels(records, frame))), out, "forest")
    return frame


def row_labels(records: list[TaskRecord], frame: pd.DataFrame) -> list[str]:
    """How the forest plot names each summary row's task: with one study file, the labels of its
    varied fields, leaving out the ``outcomes`` field (the plot's blocks are the outcomes) unless
    two tasks would then share a label within an outcome's block; with several study files, the
    task's name."""
    if len({r.task.source for r in records}) > 1:
        return [str(task) for task in frame["task"]]
    fields = {r.task.name: r.task.fields for r in records}

    def label(task: str, outcome: Any, dropped: tuple[str, ...]) -> str:
        values = [v for f, v in fields[task].items() if f not in dropped and v != outcome]
        return " · ".join(values) or task

    contrast = frame["contrast"] if "contrast" in frame else pd.Series(None, index=frame.index)
    keys = list(
        zip(frame["task"], frame["outcome"], zip(frame["method"], contrast, strict=True), strict=True)
    )
    short = [label(task, outcome, ("outcomes",)) for task, outcome, _ in keys]
    blocks = [(outcome, method, name) for (_, outcome, method), name in zip(keys, short, strict=True)]
    if len(set(blocks)) == len(blocks):
        return short
    return [label(task, outcome, ()) for task, outcome, _ in keys]
