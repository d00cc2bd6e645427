"""The grid file of ``reimpact run-many --grid``: variations of a study, run as separate tasks.

A grid names study-file fields (dotted for nested keys) and the values each takes; the tasks are
every combination (the cartesian product, the first field varying slowest)::

    vary:
      population.country: [[GIN], [SEN], [MAR]]
      treatment:
        - {column: mentored, treated: [1]}
        - {name: economic_support, column: economic_activity, treated: [1]}
      outcomes: [[composite_score], [economic_score, social_score]]
    labels:                      # optional: how a field's values are named (tasks, summary.csv)
      treatment: [mentoring, economic]
    seeds: spawn                 # spawn (default) or study

A value replaces the field's value in the study file (a whole section for ``treatment``; one
filter for ``population.country``). A value's label is given under ``labels`` or made from the
value: a scalar as written (``null``, ``true``), a list of scalars joined by ``_``, a mapping by
its ``name`` or else its ``column``, every character other than letters, digits, ``_``, ``.``
and ``-`` replaced by ``-``. Each task is named ``<study name>.<label>.<label>...`` (a valid
study name, so at most 100 characters) and runs the study with its fields replaced and that
name. A task whose ``outcomes`` leave out the study's ``primary_outcome`` leads with its first
outcome instead.

``seeds: spawn`` gives task j (0-based, in the order above) the seed
``SeedSequence(study seed).spawn(J)[j].generate_state(1)[0]`` (J tasks), so that the tasks'
random choices (folds, matching order, bootstrap) are independent streams from one seed; ``seeds:
study`` keeps the study's seed in every task. A grid that varies ``seed`` itself uses its values
as given. The data are not reseeded: vary ``data.seed`` to draw a new simulated cohort per task.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from .._validation import Section, first_message, location, show
from ..config.study import Study
from ..exceptions import StudyError

_LABEL = re.compile(r"[^A-Za-z0-9_.-]+")


class Grid(Section):
    """A validated grid file: study-file fields and the values each takes in the tasks.

    Attributes
    ----------
    vary : dict of str to list
        Each study-file field (dotted for a nested key, e.g. ``population.country``) with the
        values it takes; the tasks are every combination, the first field varying slowest.
    labels : dict of str to list of str
        Names of the values of some of the fields (as many as values), used in task names and
        ``summary.csv``; the other fields' values are named after themselves.
    seeds : {"spawn", "study"}
        ``spawn``: task j runs with the j-th child seed of ``SeedSequence(study seed)``;
        ``study``: every task keeps the study's seed.
    """

    vary: dict[str, list[Any]] = Field(min_length=1)
    labels: dict[str, list[str]] = Field(default_factory=dict)
    seeds: Literal["spawn", "study"] = "spawn"

    @field_validator("vary")
    @classmethod
    def _fields(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        valid = list(Study.model_fields)
        for field, values in value.items():
            top = field.split(".")[0]
            if top not in valid:
                raise ValueError(
                    f"{field}: '{top}' is not a study-file key; valid keys: {', '.join(valid)}"
                )
            if top == "name":
                raise ValueError("name: the tasks are named after their values; it cannot be varied")
            if not values:
                raise ValueError(f"{field}: list at least one value")
        return value

    @model_validator(mode="after")
    def _labels_fit(self) -> Grid:
        for field, names in self.labels.items():
            if field not in self.vary:
                raise ValueError(f"labels.{field}: is not a field under 'vary'")
            if len(names) != len(self.vary[field]):
                raise ValueError(
                    f"labels.{field}: give one label per value ({len(self.vary[field])}), "
                    f"got {len(names)}"
                )
        for field in self.vary:
            names = self.value_labels(field)
            if len(set(names)) < len(names):
                twice = next(n for n in names if names.count(n) > 1)
                raise ValueError(
                    f"vary.{field}: two values are both labelled '{twice}'; "
                    f"name them under labels.{field}"
                )
        return self

    def value_labels(self, field: str) -> list[str]:
        """The labels of ``field``'s values: the given ones, else made from the values."""
        given = self.labels.get(field)
        names = given or [_label(value) for value in self.vary[field]]
        return [_LABEL.sub("-", str(name)).strip("-.") or f"v{j}" for j, name in enumerate(names)]

    def cells(self) -> list[Cell]:
        """Every combination of the values, the first field varying slowest."""
        fields = list(self.vary)
        choices = [list(zip(self.value_labels(f), self.vary[f], strict=True)) for f in fields]
        return [
            Cell({f: v for f, (_, v) in zip(fields, combo, strict=True)},
                 {f: label for f, (label, _) in zip(fields, combo, strict=True)})
            for combo in itertools.product(*choices)
        ]  # fmt: skip


@dataclass(frozen=True)
class Cell:
    """One combination of a grid: the value and the label of each varied field."""

    values: dict[str, Any]
    labels: dict[str, str]

    def apply(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A copy of the parsed study file ``raw`` with this cell's values set (dotted fields
        set nested keys, creating the sections they need)."""
        import copy

        out = copy.deepcopy(raw)
        for field, value in self.values.items():
            *parents, key = field.split(".")
            node = out
            for part in parents:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
            node[key] = copy.deepcopy(value)
        return out


def _label(value: Any) -> str:
    """A value's name: a scalar as written, a list joined by '_', a mapping by its name or column."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, list):
        return "_".join(_label(item) for item in value)
    if isinstance(value, dict):
        for key in ("name", "column"):
            if isinstance(value.get(key), (str, int, float)):
                return str(value[key])
        return "-".join(f"{k}{_label(v)}" for k, v in value.items())
    return str(value)


def load_grid(path: str | Path) -> Grid:
    """Read and validate a grid file.

    Parameters
    ----------
    path : str or Path
        The grid file (YAML; see the module's docstring for its keys).

    Returns
    -------
    Grid

    Raises
    ------
    StudyError
        When the file is missing, not YAML, or holds an unknown key, a field that is not a
        study-file key, an empty list of values, labels that do not fit, or two values with the
        same label; the one line names the file and the key.
    """
    path = Path(path)
    if not path.is_file():
        raise StudyError(str(path), "grid file not found; check the path")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise StudyError(str(path), f"not a valid YAML grid file{where}") from None
    if not isinstance(raw, dict):
        raise StudyError(str(path), f"a grid file is a mapping with the key 'vary', got {show(raw)}")
    try:
        return Grid.model_validate(raw)
    except ValidationError as exc:
        raise StudyError(f"{path}: {location(exc)}", first_message(exc)) from None
