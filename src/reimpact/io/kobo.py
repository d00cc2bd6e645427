"""KoBoToolbox and ODK exports (csv or xlsx, XML or label headers) as plain analysis columns:
group paths stripped or kept, select_multiple answers as one 0/1 column per choice, the
platform's metadata columns dropped (:func:`kobo_frame`, settings in :class:`KoboLayout`).

A KoBo export names a question by its group path (``group_hh/age``) and gives a select_multiple
question as a column of space-separated choice codes (``assistance`` = ``"economic social"``),
one 0/1 column per choice (``assistance/economic``), or both (KoBo's default). Here every
select_multiple question ends as the per-choice 0/1 columns only, named as KoBo names them, so a
study reads the same columns whichever form the export holds.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..exceptions import DataError

# columns the platforms add to every submission (KoBoToolbox, ODK Collect's metadata questions,
# ODK Central's export); every column starting with "_" and every column of the ``meta`` or
# ``formhub`` groups is metadata too
METADATA = frozenset(
    {
        "start", "end", "today", "deviceid", "subscriberid", "simserial", "simid", "imei",
        "phonenumber", "username", "email", "audit", "background-audio", "instanceID",
        "instanceName", "SubmissionDate", "KEY", "SubmitterID", "SubmitterName",
        "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits",
        "FormVersion",
    }
)  # fmt: skip
METADATA_GROUPS = frozenset({"meta", "formhub"})

# what a per-choice column may hold (KoBo writes 1/0; some exports True/False)
_CHOSEN = {"1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0, "1.0": 1.0, "0.0": 0.0}


@dataclass(frozen=True)
class KoboLayout:
    """How to read a KoBoToolbox/ODK export (the study file's ``data.kobo``).

    Attributes
    ----------
    groups : {'strip', 'keep'}
        ``strip`` names each question by its own name (``group_hh/age`` becomes ``age``; a
        per-choice column keeps its question: ``assistance/economic``); ``keep`` keeps the paths.
    group_separator : str
        What joins the groups in the header: ``/`` for KoBoToolbox, ``-`` for ODK Central.
    select_multiple : tuple of str
        select_multiple questions (by name or path) to expand when the export gives them only as
        space-separated codes, or only as per-choice columns; when it gives both forms (KoBo's
        default) they are recognised without being listed.
    metadata : {'drop', 'keep'}
        Drop the platforms' metadata columns (:data:`METADATA`, ``_*``, ``meta/*``) or keep them.
    """

    groups: Literal["strip", "keep"] = "strip"
    group_separator: str = "/"
    select_multiple: tuple[str, ...] = ()
    metadata: Literal["drop", "keep"] = "drop"


def read_kobo_csv(path: Path, text: str) -> pd.DataFrame:
    """A KoBo csv export's text as a frame: separated by ``;`` (KoBo's default) when the header
    holds one, otherwise by ``,``. A header that reads as one column is refused."""
    header = text.split("\n", 1)[0]
    separator = ";" if ";" in header else ","
    frame = pd.read_csv(io.StringIO(text), sep=separator)
    if frame.shape[1] == 1 and any(mark in header for mark in ("\t", "|")):
        raise DataError(
            str(path),
            f"its header reads as one column ('{header[:40]}'); a KoBoToolbox/ODK export is "
            "separated by ';' or ','; export it again as csv",
        )
    return frame


def kobo_frame(frame: pd.DataFrame, layout: KoboLayout, where: str) -> pd.DataFrame:
    """The export as analysis columns (see the module docstring); ``where`` names the file in
    messages."""
    sep = layout.group_separator
    names = [str(name) for name in frame.columns]
    frame = frame.set_axis(names, axis=1)
    if layout.metadata == "drop":
        frame = frame[[name for name in names if not _is_metadata(name, sep)]]
    questions = _questions(list(frame.columns), layout)
    frame = _select_multiple(frame, questions, layout, where)
    if layout.groups == "keep":
        return frame
    renamed = {
        name: _stripped(name, sep, any(_is_choice(name, q, sep) for q in questions))
        for name in frame.columns
    }
    counts = Counter(renamed.values())
    for name, new in renamed.items():
        if counts[new] > 1:
            other = next(n for n, m in renamed.items() if m == new and n != name)
            raise DataError(
                where,
                f"columns '{name}' and '{other}' both become '{new}' when group paths are "
                "stripped; set 'data.kobo.groups: keep'",
            )
    return frame.rename(columns=renamed)


def _is_metadata(name: str, sep: str) -> bool:
    return name.startswith("_") or name in METADATA or name.split(sep)[0] in METADATA_GROUPS


def _is_choice(name: str, question: str, sep: str) -> bool:
    """Whether ``name`` is a per-choice column of the question at path ``question``."""
    rest = name[len(question) + len(sep) :]
    return name.startswith(question + sep) and bool(rest) and sep not in rest


def _stripped(name: str, sep: str, choice: bool) -> str:
    parts = name.split(sep)
    return sep.join(parts[-2:]) if choice else parts[-1]


def _questions(names: list[str], layout: KoboLayout) -> list[str]:
    """The paths of the select_multiple questions: a column with per-choice columns beside it,
    and the listed questions (as a column, or as the parent path of per-choice columns)."""
    sep = layout.group_separator
    present = set(names)
    parents = {name.rsplit(sep, 1)[0] for name in names if sep in name}
    found = {name for name in names if name in parents}
    for wanted in layout.select_multiple:
        found |= {p for p in present | parents if p == wanted or p.split(sep)[-1] == wanted}
    return sorted(found)


def _select_multiple(
    frame: pd.DataFrame, questions: list[str], layout: KoboLayout, where: str
) -> pd.DataFrame:
    """Each select_multiple question (by path) as its per-choice 0/1 columns only."""
    sep = layout.group_separator
    for wanted in layout.select_multiple:
        if not any(q == wanted or q.split(sep)[-1] == wanted for q in questions):
            raise DataError(
                "data.kobo.select_multiple",
                f"question '{wanted}' is not in {where} (neither a column nor the path of per-choice "
                "columns); check the name",
            )
    for question in questions:
        choices = [name for name in frame.columns if _is_choice(name, question, sep)]
        if choices:
            for name in choices:
                frame[name] = _zero_one(frame[name], name, where)
            if question in frame.columns:
                frame = frame.drop(columns=question)
        else:
            frame = _expand(frame, question, sep)
    return frame


def _zero_one(series: pd.Series, name: str, where: str) -> pd.Series:
    keys = series.map(lambda v: v if pd.isna(v) else str(v).strip().lower())
    bad = keys[keys.notna() & ~keys.isin(list(_CHOSEN))]
    if len(bad):
        raise DataError(
            where,
            f"column '{name}' is a select_multiple choice but holds '{series[bad.index[0]]}'; "
            "a choice column holds 1 (chosen) or 0",
        )
    return keys.map(_CHOSEN).astype(float)


def _expand(frame: pd.DataFrame, question: str, sep: str) -> pd.DataFrame:
    """Replace a column of space-separated choice codes by one 0/1 column per code (missing
    where the question was not answered), in the codes' sorted order, where the column was."""
    answers = frame[question].astype(object)
    chosen = answers.map(lambda v: None if pd.isna(v) else set(str(v).split()))
    codes = sorted(set().union(*chosen.dropna()))
    columns = {
        f"{question}{sep}{code}": chosen.map(
            lambda s, code=code: np.nan if s is None else float(code in s)
        ).astype(float)
        for code in codes
    }
    at = list(frame.columns).index(question)
    before, after = frame.iloc[:, :at], frame.iloc[:, at + 1 :]
    return pd.concat([before, pd.DataFrame(columns, index=frame.index), after], axis=1)
