"""Fuzz campaign for the ``reimpact`` command line: mutated study files and corrupted data files.

The contract under test: ``reimpact validate|run`` on bad input exits with code 2 and prints ONE line
on standard error that starts with ``reimpact: error:``; on good input it exits with 0. Anything else
is a finding:

* ``uncaught``: an exception escaped ``reimpact.cli.main``;
* ``bad_message``: exit code 2 (or another non-zero code) but standard error is empty, has more
  than one line or does not start with ``reimpact: error:``;
* ``hang``: the case ran longer than ``--timeout`` seconds (20 by default);
* ``crash``: the worker process died (segmentation fault, out of memory...).

A case is a base study (one of ``studies/*.yaml`` or a compact study that runs on 300 rows) made
cheap (``data.n`` 200-400, refutations and subgroups mostly removed, few bootstrap replicates),
then a list of mutations, each a small JSON-like record so that a case can be replayed, shrunk and
written out: edits of the parsed study (wrong types, huge/negative/NaN numbers, long and unicode
strings, lists for scalars, 2**32 seeds, alias bombs, renamed/deleted/duplicated keys, other valid
options, other columns), edits of the YAML text (truncation, non-UTF-8 bytes, deep nesting,
duplicate keys, other encodings) and, for about 40% of the cases, a simulated cohort written as csv,
parquet, xlsx, dta or sav with corrupted values (inf, NaN, huge numbers, text in numeric columns,
constant, 3-valued or nearly all-control treatments, rare levels, dropped or duplicated columns)
and corrupted bytes, passed with ``--data`` or named in the study's ``data.path``.

Half the cases are ``validate``, half ``run`` (``--only`` for one); ``run`` cases get fewer and
mostly valid mutations (other options, other columns) so that they reach the estimators.

Cases run in-process through ``main([...])`` in a worker process (one core, niced by the caller),
each guarded by ``signal.setitimer``; the parent kills and restarts a worker that stops answering.
By default only a fifth of the ``run`` cases draw the report's figures for real (``--full-report``
for all): the others replace ``Figure.savefig`` by a stub, as drawing dominates a run's time;
every reproducer is checked again in a fresh process with the real command.

    nice -n 10 .venv/bin/python benchmarks/fuzz.py --minutes 15 --seed 1
    .venv/bin/python benchmarks/fuzz.py --cases 200 --only validate

Findings go to ``fuzz-findings/`` (ignored by git through its own ``.gitignore``): one folder per
distinct signature with a shrunk reproducer (``study.yaml``, the data file, ``repro.sh``,
``traceback.txt``, ``case.json``), plus ``summary.md``, ``summary.json`` and ``failures.jsonl``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import datetime as dt
import io
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import types
import typing
import warnings
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "reimpact"
STUDIES = REPO / "studies"
FINDINGS = REPO / "fuzz-findings"
TIMEOUT = 20.0
COHORT_N = 300
OUTCOMES = ("ok", "refused", "bad_message", "uncaught", "hang", "crash", "skipped")
FAILURES = ("uncaught", "bad_message", "hang", "crash")
FORMATS = ("csv", "parquet", "dta", "xlsx", "sav")

Rnd = random.Random  # hypothesis's ``st.randoms()`` instances work too


# -- base studies ------------------------------------------------------------------------------

COMPACT = {
    "name": "fuzz-compact",
    "title": "Compact study that runs on a few hundred rows",
    "data": {"builtin": "simulated-returnees", "n": 300, "seed": 0},
    "treatment": {"column": "mentored", "treated": [1]},
    "outcomes": ["composite_score", "economic_score"],
    "covariates": [
        "age",
        "sex",
        "education",
        "household_size",
        "months_abroad",
        "vulnerable",
        "employed_before_return",
    ],
    "estimand": "ATT",
    "missing": "drop",
    "propensity": {"model": "logistic"},
    "methods": {"psm": {"ratio": 1, "replace": True}, "ipw": {}, "aipw": {"folds": 3}},
    "sensitivity": {"evalue": True, "omitted_variable": {"benchmarks": ["age"], "kd": [1, 2]}},
    "report": {"min_cell_size": 5},
    "seed": 3,
}


@cache
def base_studies() -> dict[str, dict]:
    """The shipped studies (parsed) and the compact one, by name."""
    bases = {
        path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in STUDIES.glob("*.yaml")
    }
    bases["compact"] = COMPACT
    bases["compact-referral"] = {
        **COMPACT,
        "name": "fuzz-compact-referral",
        "treatment": {
            "name": "any_referral",
            "any_of": ["economic_delivery", "social_delivery", "psychosocial_delivery"],
            "treated": ["referral"],
            "control": ["direct"],
        },
        "outcomes": ["economic_score", "satisfaction"],
    }
    return dict(sorted(bases.items()))


def cheapen(doc: dict, rnd: Rnd, command: str) -> dict:
    """A small, fast version of a base study (few rows, few replicates, heavy checks mostly off)."""
    doc = copy.deepcopy(doc)
    if isinstance(doc.get("data"), dict) and "builtin" in doc["data"]:
        doc["data"]["n"] = rnd.randint(200, 400)
        doc["data"]["seed"] = rnd.randrange(5)
    sens = doc.get("sensitivity")
    if isinstance(sens, dict):
        heavy = command == "validate" or rnd.random() < 0.12
        if "refutations" in sens:
            if heavy:
                sens["refutations"] = {
                    "methods": list(sens["refutations"].get("methods", ["psm"]))[:1],
                    "simulations": 2,
                    "n_jobs": 1,
                }
            else:
                del sens["refutations"]
        if "heterogeneity" in sens:
            if heavy:
                sens["heterogeneity"]["cate"] = rnd.random() < 0.3
            else:
                del sens["heterogeneity"]
        if rnd.random() < 0.3:
            del doc["sensitivity"]
    methods = doc.get("methods")
    if isinstance(methods, dict) and isinstance(methods.get("psm"), dict):
        methods["psm"]["n_bootstrap"] = 50
    return doc


# -- the simulated cohort and its columns ------------------------------------------------------


@cache
def cohort(seed: int = 0, n: int = COHORT_N):
    from reimpact.datasets import simulate_returnees

    return simulate_returnees(n=n, seed=seed).data


@cache
def column_kinds() -> dict[str, list[str]]:
    frame = cohort(0)
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "biuf"]
    binary = [c for c in numeric if set(frame[c].dropna().unique()) <= {0, 1}]
    text = [c for c in frame.columns if c not in numeric]
    return {"all": list(frame.columns), "numeric": numeric, "binary": binary, "text": text}


def some_column(rnd: Rnd) -> str:
    kinds = column_kinds()
    if rnd.random() < 0.1:
        return rnd.choice(["", "nonexistent", "Age", "age ", " age", "AGE", "ägé", "age\nsex", "1"])
    return rnd.choice(kinds[rnd.choice(["all", "numeric", "binary", "text"])])


# -- nasty values --------------------------------------------------------------------------------

BIG_INTS = [2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**63 - 1, 2**63, 2**64, 10**30, 10**400]
NASTY_NUMBERS = [
    0,
    -0.0,
    -1,
    1,
    -(2**63),
    1e308,
    -1e308,
    math.inf,
    -math.inf,
    math.nan,
    5e-324,
    1e-300,
    0.5,
    1.5,
    -0.5,
    0.9999999999,
    *BIG_INTS,
]
UNICODE = [
    "Éducation",
    "名前",
    "ضبط",
    "\u202eevil",
    "emoji 🚀",
    "Z\u0351\u0363a\u0364\u0300lgo",
    "\ufeffbom",
]
NASTY_STRINGS = [
    "",
    " ",
    "0",
    "1",
    "yes",
    "no",
    "null",
    "NaN",
    "inf",
    "-1",
    "a\nb",
    "tab\there",
    "\x00",
    "x" * 300,
    "x" * 20_000,
    "../../etc/passwd",
    "name with spaces",
    "-",
    ".",
    "ATT ",
    "att",
    *UNICODE,
]


def nasty_value(rnd: Rnd, depth: int = 0) -> Any:
    """A value of a random wrong-or-edge type (JSON-able except for the special kinds)."""
    kind = rnd.choice(
        ["number", "number", "string", "string", "none", "bool", "list", "dict", "special", "column"]
    )
    if kind == "number":
        return rnd.choice(NASTY_NUMBERS)
    if kind == "string":
        return rnd.choice(NASTY_STRINGS)
    if kind == "none":
        return None
    if kind == "bool":
        return rnd.choice([True, False])
    if kind == "column":
        return some_column(rnd)
    if kind == "list":
        if depth > 1:
            return []
        return [nasty_value(rnd, depth + 1) for _ in range(rnd.choice([0, 1, 2, 3]))]
    if kind == "dict":
        if depth > 1:
            return {}
        return {
            rnd.choice(["a", "min", "max", "column", 1, None, True]): nasty_value(rnd, depth + 1)
            for _ in range(rnd.choice([0, 1, 2]))
        }
    return {"$special": rnd.choice(["date", "datetime", "binary", "set", "int_key_map"])}


def decode_value(value: Any) -> Any:
    """Turn the ``{"$special": ...}`` records of a mutation into the YAML-representable object."""
    if isinstance(value, dict) and "$special" in value:
        kind = value["$special"]
        if kind == "date":
            return dt.date(2020, 2, 29)
        if kind == "datetime":
            return dt.datetime(2020, 1, 1, 12, 30)
        if kind == "binary":
            return b"\x00\xff\xfe binary"
        if kind == "set":
            return {"a", "b"}
        if kind == "int_key_map":
            return {1: "one", None: "none", 2.5: [1]}
        if kind == "alias_bomb":
            leaf: Any = ["lol"]
            for _ in range(value["levels"]):
                leaf = [leaf] * value["width"]
            return leaf
        if kind == "alias_map":
            node: Any = {"k": "v"}
            for _ in range(value["levels"]):
                node = {f"k{i}": node for i in range(value["width"])}
            return node
        if kind == "nest":
            inner = decode_value(value["value"])
            for _ in range(value["depth"]):
                inner = [inner] if value["style"] == "list" else {"a": inner}
            return inner
        if kind == "repeat":
            return [decode_value(value["value"])] * value["count"]
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: decode_value(v) for k, v in value.items()}
    return value


# -- the study schema (read from reimpact.study, so that new keys are fuzzed too) --------------

COLUMN_FIELDS = {"column", "cluster", "any_of", "covariates", "outcomes", "categorical", "exact"}
COLUMN_FIELDS |= {"benchmarks", "by"}
COST_FIELDS = {"n", "simulations", "n_bootstrap", "n_jobs"}


@cache
def schema_fields() -> list[tuple[tuple, dict]]:
    """(path, description) of every field of the study model: choices, bounds, type."""
    from pydantic import BaseModel

    from reimpact.config.study import Study
    from reimpact.registry import methods_model

    found: list[tuple[tuple, dict]] = []

    def members(annotation: Any) -> list[Any]:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            return [m for a in typing.get_args(annotation) for m in members(a)]
        return [annotation]

    def walk(model: type, prefix: tuple, depth: int) -> None:
        for name, info in model.model_fields.items():
            path = (*prefix, name)
            desc: dict[str, Any] = {"choices": [], "bounds": {}, "types": set()}
            if path == ("methods",):  # validated against the registry: walk its current model
                desc["types"].add("section")
                walk(methods_model(), path, depth + 1)
                found.append((path, desc))
                continue
            for meta in info.metadata:
                for bound in ("ge", "gt", "le", "lt"):
                    if getattr(meta, bound, None) is not None:
                        desc["bounds"][bound] = getattr(meta, bound)
            for member in members(info.annotation):
                origin = typing.get_origin(member)
                if origin is typing.Literal:
                    desc["choices"] += list(typing.get_args(member))
                elif isinstance(member, type) and issubclass(member, BaseModel):
                    desc["types"].add("section")
                    if depth < 4:
                        walk(member, path, depth + 1)
                elif origin is list:
                    (item,) = typing.get_args(member) or (Any,)
                    if typing.get_origin(item) is typing.Literal:
                        desc["list_choices"] = list(typing.get_args(item))
                    desc["types"].add("list")
                elif origin is dict:
                    desc["types"].add("dict")
                elif member is type(None):
                    desc["types"].add("none")
                elif isinstance(member, type):
                    desc["types"].add(member.__name__)
            found.append((path, desc))

    walk(Study, (), 0)
    return found


def valid_value(rnd: Rnd, path: tuple, desc: dict) -> Any:
    """A value the field's type admits (choices, bounds and one step beyond, other columns)."""
    name = path[-1]
    if name in COLUMN_FIELDS:
        if name in {"column", "cluster"}:
            return some_column(rnd)
        count = rnd.choice([0, 1, 1, 2, 3])
        return [some_column(rnd) for _ in range(count)]
    if name == "population":
        column = some_column(rnd)
        if rnd.random() < 0.5:
            return {column: {"min": rnd.choice([0, 18, 40, -1e9]), "max": rnd.choice([30, 1e9, 10, 0])}}
        return {column: rnd.choice([["GIN"], ["SEN", "MAR"], [1], [0, 1], ["female"], ["zzz"]])}
    if name == "treated" or name == "control":
        return rnd.choice([[1], [0], ["1"], [True], ["referral"], ["direct"], [1, 2], ["yes"], [1.0]])
    if desc.get("list_choices"):
        return rnd.sample(desc["list_choices"], rnd.randint(0, len(desc["list_choices"])))
    if desc["choices"] and rnd.random() < 0.85:
        return rnd.choice(desc["choices"])
    if name == "seed":
        return rnd.choice([0, 1, 2**31, 2**32 - 1, 2**32, 2**32 + 7, 2**63, 2**64 + 1, 10**30])
    bounds = desc["bounds"]
    if "int" in desc["types"] or "float" in desc["types"]:
        is_int = "int" in desc["types"] and "float" not in desc["types"]
        step = 1 if is_int else 1e-9
        edges = []
        for bound, value in bounds.items():
            if bound in ("ge", "le"):
                edges += [value, value - step if bound == "ge" else value + step]
            else:
                edges += [value + step if bound == "gt" else value - step, value]
        low = bounds.get("ge", bounds.get("gt", 0))
        high = bounds.get("le", bounds.get("lt", 10))
        if name in COST_FIELDS:  # no valid large values: they are slow by design
            high = min(high, {"n": 400, "simulations": 3, "n_bootstrap": 60, "n_jobs": 2}[name])
            edges = [e for e in edges if e <= high or e > bounds.get("le", math.inf)]
        if is_int:
            middle = rnd.randint(int(low), int(min(high, low + 50)))
        else:
            middle = rnd.uniform(float(low), float(min(high, low + 5)))
        return rnd.choice([*edges, middle, 0, -1] if edges else [middle, 0, -1])
    if "bool" in desc["types"]:
        return rnd.choice([True, False])
    if "section" in desc["types"]:
        return rnd.choice([{}, None, False, True, []])
    if "str" in desc["types"]:
        return rnd.choice(["illustrative", "fuzz", "scheme.yaml", "Sheet1", *NASTY_STRINGS[:8]])
    return nasty_value(rnd)


# -- study mutations -----------------------------------------------------------------------------


def paths_of(doc: Any, limit: int = 500) -> list[tuple]:
    """Paths to the keys and list items of the document, breadth first (at most ``limit``: an
    alias bomb has millions)."""
    found: list[tuple] = []
    queue: list[tuple[tuple, Any]] = [((), doc)]
    while queue and len(found) < limit:
        prefix, node = queue.pop(0)
        if len(prefix) > 12:
            continue
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node[:20])
            if isinstance(node, list)
            else ()
        )
        for key, value in items:
            found.append((*prefix, key))
            queue.append(((*prefix, key), value))
    return found[:limit]


def get_path(doc: Any, path: tuple) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _parent(doc: Any, path: tuple, create: bool) -> Any:
    node = doc
    for part in path[:-1]:
        if isinstance(node, dict):
            if part not in node or not isinstance(node[part], (dict, list)):
                if not create:
                    return None
                node[part] = {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def study_op(rnd: Rnd, doc: dict, deep: bool = False) -> dict:
    """One mutation of the parsed study, as a replayable record. ``deep`` favours valid options
    and other columns (for ``run``: what passes validation reaches the estimators)."""
    paths = paths_of(doc) or [("name",)]
    weights = [55, 15, 6, 3, 1, 1, 2, 2, 1, 1, 1, 4] if deep else [30, 12, 20, 8, 5, 5, 5, 3, 3, 3, 3, 3]
    kind = rnd.choices(
        ["schema", "column", "nasty", "delete", "rename", "add_key", "wrap", "unwrap", "nest"]
        + ["dup_item", "bomb", "big_seed"],
        weights=weights,
    )[0]
    if kind == "schema":
        path, desc = rnd.choice(schema_fields())
        return {"op": "set", "path": list(path), "value": valid_value(rnd, path, desc)}
    if kind == "column":
        candidates = [p for p in paths if str(p[-1]) in COLUMN_FIELDS or isinstance(p[-1], int)]
        path = rnd.choice(candidates or paths)
        return {"op": "set", "path": list(path), "value": some_column(rnd)}
    if kind == "nasty":
        return {"op": "set", "path": list(rnd.choice(paths)), "value": nasty_value(rnd)}
    if kind == "delete":
        return {"op": "delete", "path": list(rnd.choice(paths))}
    if kind == "rename":
        path = rnd.choice([p for p in paths if not isinstance(p[-1], int)] or paths)
        name = str(path[-1])
        new = rnd.choice(
            [name.upper(), name + "s", name[:-1], name.replace("_", "-"), " " + name, "", *UNICODE[:3]]
        )
        return {"op": "rename", "path": list(path), "to": new}
    if kind == "add_key":
        dicts = [()] + [p for p in paths if isinstance(get_path(doc, p), dict)]
        parent = rnd.choice(dicts)
        key = rnd.choice(["extra", "learner", "bias_correction", 1, None, True, "", "ÿ", "n"])
        return {"op": "set", "path": [*parent, key], "value": nasty_value(rnd)}
    if kind == "wrap":
        return {"op": "wrap", "path": list(rnd.choice(paths)), "times": rnd.choice([1, 1, 2, 3])}
    if kind == "unwrap":
        return {"op": "unwrap", "path": list(rnd.choice(paths))}
    if kind == "nest":
        value = {
            "$special": "nest",
            "depth": rnd.choice([5, 30, 120]),
            "style": rnd.choice(["list", "dict"]),
        }
        value["value"] = rnd.choice(["age", 1, None])
        return {"op": "set", "path": list(rnd.choice(paths)), "value": value}
    if kind == "dup_item":
        lists = [p for p in paths if isinstance(get_path(doc, p), list)]
        if lists:
            return {"op": "dup_item", "path": list(rnd.choice(lists))}
        return {"op": "delete", "path": list(rnd.choice(paths))}
    if kind == "bomb":
        levels, width = rnd.choice([(3, 10), (4, 8), (5, 9), (6, 9), (7, 7)])
        special = rnd.choice(["alias_bomb", "alias_bomb", "alias_map"])
        target = rnd.choice([("outcomes",), ("covariates",), ("treatment", "treated"), ("population",)])
        target = rnd.choice([target, rnd.choice(paths)])
        return {
            "op": "set",
            "path": list(target),
            "value": {"$special": special, "levels": levels, "width": width},
        }
    path = rnd.choice([("seed",), ("data", "seed")])
    return {"op": "set", "path": list(path), "value": rnd.choice(BIG_INTS + [-1, -(2**32), 1.5, "7"])}


def apply_study_op(doc: Any, op: dict) -> Any:
    """Apply one mutation; a path that no longer exists (after shrinking) makes it a no-op."""
    path = tuple(op["path"])
    if not path:
        return doc
    if op["op"] == "set":
        parent = _parent(doc, path, create=True)
        if isinstance(parent, dict):
            parent[path[-1]] = decode_value(op["value"])
        elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
            parent[path[-1]] = decode_value(op["value"])
        return doc
    parent = _parent(doc, path, create=False)
    if parent is None:
        return doc
    key = path[-1]
    present = (isinstance(parent, dict) and key in parent) or (
        isinstance(parent, list) and isinstance(key, int) and key < len(parent)
    )
    if not present:
        return doc
    if op["op"] == "delete":
        del parent[key]
    elif op["op"] == "rename" and isinstance(parent, dict):
        items = list(parent.items())
        parent.clear()
        for k, v in items:
            parent[op["to"] if k == key else k] = v
    elif op["op"] == "wrap":
        for _ in range(op["times"]):
            parent[key] = [parent[key]]
    elif op["op"] == "unwrap":
        value = parent[key]
        if isinstance(value, list):
            parent[key] = value[0] if value else None
        elif isinstance(value, dict):
            parent[key] = next(iter(value.values()), None)
    elif op["op"] == "dup_item" and isinstance(parent[key], list) and parent[key]:
        parent[key] = parent[key] + parent[key][:1]
    return doc


# -- YAML text mutations ------------------------------------------------------------------------

TINY_DOCUMENTS = [
    b"",
    b"   \n\n",
    b"# only a comment\n",
    b"---\n---\n",
    b"~\n",
    b"[1, 2, 3]\n",
    b"42\n",
    b"'just a string'\n",
    b"name: x\n",
    b"!!python/object/apply:os.system ['echo hi']\n",
    b"a: !!python/name:os.system\n",
    b"{",
    b"key: [unclosed\n",
    b"\xff\xfe\x00\x00",
    b"--- !!set\n? a\n",
    b"name: &a [*a]\n",
]


def text_op(rnd: Rnd) -> dict:
    kind = rnd.choices(
        ["truncate", "flip", "insert", "replace", "dup_line", "deep", "encode", "tabs", "long", "crlf"],
        weights=[15, 10, 10, 8, 10, 10, 10, 5, 5, 3],
    )[0]
    op: dict[str, Any] = {"op": kind, "seed": rnd.randrange(2**32)}
    if kind == "truncate":
        op["fraction"] = rnd.random()
    elif kind == "flip":
        op["count"] = rnd.choice([1, 2, 5, 20])
    elif kind == "insert":
        op["bytes"] = rnd.choice(["ff", "c328", "00", "e28228", "fffe", "ed a0 80", "80", "efbbbf"])
    elif kind == "replace":
        op["index"] = rnd.randrange(len(TINY_DOCUMENTS))
    elif kind == "deep":
        op["depth"] = rnd.choice([50, 500, 1000, 5000, 50_000])
        op["style"] = rnd.choice(["[", "{a: ", "- "])
        op["key"] = rnd.choice(["covariates", "outcomes", "title", "extra", "treatment"])
    elif kind == "encode":
        op["encoding"] = rnd.choice(["utf-16", "utf-16-le", "latin-1", "utf-8-sig", "cp1252", "utf-32"])
    elif kind == "long":
        op["length"] = rnd.choice([10_000, 1_000_000, 5_000_000])
    return op


def _cut_or_flip(data: bytes, op: dict, rnd: random.Random) -> bytes:
    """Truncate the bytes at ``op["fraction"]`` of their length, or flip ``op["count"]`` bits."""
    if op["op"] == "truncate":
        return data[: int(len(data) * op["fraction"])]
    buffer = bytearray(data)
    for _ in range(op["count"]):
        if buffer:
            buffer[rnd.randrange(len(buffer))] ^= 1 << rnd.randrange(8)
    return bytes(buffer)


def apply_text_op(text: bytes, op: dict) -> bytes:
    rnd = random.Random(op.get("seed", 0))
    kind = op["op"]
    if kind in ("truncate", "flip"):
        return _cut_or_flip(text, op, rnd)
    if kind == "insert":
        where = rnd.randrange(len(text) + 1)
        return text[:where] + bytes.fromhex(op["bytes"].replace(" ", "")) + text[where:]
    if kind == "replace":
        return TINY_DOCUMENTS[op["index"] % len(TINY_DOCUMENTS)]
    if kind == "dup_line":
        lines = text.splitlines(keepends=True)
        if not lines:
            return text
        i = rnd.randrange(len(lines))
        return b"".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    if kind == "deep":
        depth, style = op["depth"], op["style"]
        if style == "[":
            value = "[" * depth + "age" + "]" * depth
        elif style == "{a: ":
            value = "{a: " * depth + "1" + "}" * depth
        else:
            value = "\n  " + "- " * depth + "x"
        return text.rstrip(b"\n") + f"\n{op['key']}: {value}\n".encode()
    if kind == "encode":
        try:
            return text.decode("utf-8").encode(op["encoding"], errors="replace")
        except UnicodeDecodeError:
            return text
    if kind == "tabs":
        return re.sub(rb"(?m)^  ", b"\t", text)
    if kind == "long":
        return text.rstrip(b"\n") + b"\ntitle: " + b"x" * op["length"] + b"\n"
    if kind == "crlf":
        return text.replace(b"\n", b"\r\n").replace(b": ", b":\r ")
    return text


def dump_study(doc: Any, unicode: bool = True) -> bytes:
    """The document as YAML; what safe_dump cannot represent is written with repr()."""
    try:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=unicode, width=100).encode("utf-8")
    except (yaml.YAMLError, RecursionError, UnicodeEncodeError):
        return yaml.safe_dump(json.loads(json.dumps(doc, default=repr)), sort_keys=False).encode("utf-8")


# -- data mutations ------------------------------------------------------------------------------


def treatment_rule(doc: Any) -> tuple[list[str], list[Any], list[Any] | None]:
    """(columns, treated values, control values) of the study's treatment, as far as readable."""
    spec = doc.get("treatment") if isinstance(doc, dict) else None
    if not isinstance(spec, dict):
        spec = {}
    columns = spec.get("any_of") if isinstance(spec.get("any_of"), list) else [spec.get("column")]
    columns = [c for c in columns if isinstance(c, str) and c in column_kinds()["all"]] or ["mentored"]
    treated = spec.get("treated", [1])
    treated = treated if isinstance(treated, list) else [treated]
    control = spec.get("control")
    control = control if isinstance(control, list) or control is None else [control]
    return columns, treated, control


def study_columns(doc: Any) -> dict[str, list[str]]:
    """The data columns a study names, by role (only those of the cohort)."""
    everything = set(column_kinds()["all"])
    roles: dict[str, list[str]] = {}
    for role in ("outcomes", "covariates", "exact"):
        value = doc.get(role) if isinstance(doc, dict) else None
        roles[role] = (
            [c for c in value if isinstance(c, str) and c in everything]
            if isinstance(value, list)
            else []
        )
    roles["treatment"] = treatment_rule(doc)[0]
    roles["used"] = sorted({c for cols in roles.values() for c in cols})
    return roles


DATA_VALUES = [
    math.inf,
    -math.inf,
    math.nan,
    1e308,
    -1e308,
    1e20,
    2.0**63,
    -1e-320,
    0,
    "abc",
    "",
    " ",
    "NaN",
    "1,5",
    "inf",
    True,
    "名前",
    "x" * 5000,
]


def frame_op(rnd: Rnd, doc: Any) -> dict:
    roles = study_columns(doc)
    used = roles["used"] or ["age"]
    kind = rnd.choices(
        ["inject", "constant_treatment", "three_valued", "few_treated", "rare_level", "drop_column"]
        + ["dup_header", "all_nan", "head", "bool_column", "unique_levels", "scale", "rename_header"]
        + ["dup_rows", "text_numbers", "constant_column", "collinear", "predictor", "missing_treatment"],
        weights=[20, 5, 5, 8, 8, 4, 4, 4, 4, 3, 3, 4, 3, 2, 3, 5, 3, 3, 3],
    )[0]
    op: dict[str, Any] = {"op": kind, "seed": rnd.randrange(2**32)}
    pick = rnd.choice(used)
    if kind == "inject":
        op.update(column=pick, value=rnd.choice(DATA_VALUES), count=rnd.choice([1, 2, 10, 100, 10**6]))
    elif kind == "constant_treatment":
        op["treated"] = rnd.choice([True, False])
    elif kind == "three_valued":
        op["value"] = rnd.choice([2, "other", -1, 0.5])
        op["count"] = rnd.choice([1, 5, 50])
    elif kind == "few_treated":
        op["count"] = rnd.randint(0, 5)
    elif kind == "rare_level":
        text = [c for c in used if c in column_kinds()["text"]] or ["sex"]
        op.update(
            column=rnd.choice(text), count=rnd.choice([1, 2]), level=rnd.choice(["zzz-rare", "名前", ""])
        )
    elif kind in (
        "drop_column",
        "dup_header",
        "all_nan",
        "bool_column",
        "unique_levels",
        "text_numbers",
    ):
        op["column"] = pick
    elif kind == "constant_column":
        op["column"] = pick
    elif kind == "head":
        op["rows"] = rnd.choice([0, 1, 2, 3, 5, 10, 30])
    elif kind == "scale":
        op.update(column=pick, factor=rnd.choice([1e200, 1e-200, -1.0, 1e15, 0.0]))
    elif kind == "rename_header":
        op.update(
            column=pick, to=rnd.choice(["", " ", "age\nsex", "123", "名前", pick.upper(), pick + " "])
        )
    elif kind == "dup_rows":
        op["times"] = rnd.choice([2, 3])
    elif kind == "collinear":
        numeric = [c for c in used if c in column_kinds()["numeric"]] or ["age"]
        op.update(column=rnd.choice(numeric), source=rnd.choice(numeric))
    elif kind == "predictor":
        op["column"] = rnd.choice(roles["covariates"] or used)
    elif kind == "missing_treatment":
        op["count"] = rnd.choice([1, 10, 299, 300])
    return op


def _as_object(frame, column):
    frame[column] = frame[column].astype(object)


def _rows(rnd: random.Random, frame, count: int) -> list:
    count = min(count, len(frame))
    return list(frame.index[sorted(rnd.sample(range(len(frame)), count))]) if count else []


def apply_frame_op(frame, op: dict, doc: Any):
    """Apply one corruption to the cohort frame (a copy is returned)."""
    import numpy as np
    import pandas as pd

    rnd = random.Random(op.get("seed", 0))
    frame = frame.copy()
    kind = op["op"]
    column = op.get("column")
    if column is not None and column not in frame.columns and kind not in ("dup_header",):
        return frame
    columns, treated, control = treatment_rule(doc)
    columns = [c for c in columns if c in frame.columns]
    t_value = treated[0] if treated else 1
    c_value = (control or [None])[0]
    if c_value is None:
        c_value = "direct" if isinstance(t_value, str) else 0
    if kind == "inject":
        value = op["value"]
        rows = _rows(rnd, frame, op["count"])
        if isinstance(value, float) and frame[column].dtype.kind in "biuf":
            frame[column] = frame[column].astype(float)
        else:
            _as_object(frame, column)
        frame.loc[rows, column] = value
    elif kind == "constant_treatment":
        for c in columns:
            _as_object(frame, c)
            frame[c] = t_value if op["treated"] else c_value
    elif kind == "three_valued":
        for c in columns[:1]:
            _as_object(frame, c)
            frame.loc[_rows(rnd, frame, op["count"]), c] = op["value"]
    elif kind == "few_treated":
        for c in columns:
            _as_object(frame, c)
            frame[c] = c_value
        if columns:
            frame.loc[_rows(rnd, frame, op["count"]), columns[0]] = t_value
    elif kind == "rare_level":
        _as_object(frame, column)
        frame.loc[_rows(rnd, frame, op["count"]), column] = op["level"]
    elif kind == "drop_column":
        frame = frame.drop(columns=[column])
    elif kind == "dup_header":
        if column in frame.columns:
            extra = frame[[column]].copy()
            if rnd.random() < 0.5:
                extra[column] = extra[column].astype(object).iloc[::-1].to_numpy()
            frame = pd.concat([frame, extra], axis=1)
    elif kind == "all_nan":
        frame[column] = np.nan
    elif kind == "head":
        frame = frame.head(op["rows"])
    elif kind == "bool_column":
        frame[column] = [bool(rnd.getrandbits(1)) for _ in range(len(frame))]
    elif kind == "unique_levels":
        frame[column] = [f"level-{i}" for i in range(len(frame))]
    elif kind == "scale":
        if frame[column].dtype.kind in "biuf":
            frame[column] = frame[column].astype(float) * op["factor"]
    elif kind == "rename_header":
        frame = frame.rename(columns={column: op["to"]})
    elif kind == "dup_rows":
        frame = pd.concat([frame] * op["times"], ignore_index=True)
    elif kind == "text_numbers":
        frame[column] = [f" {v} " if rnd.random() < 0.5 else str(v) for v in frame[column]]
    elif kind == "constant_column":
        first = frame[column].dropna()
        frame[column] = first.iloc[0] if len(first) else 1
    elif kind == "collinear":
        if op["source"] in frame.columns:
            frame[column] = frame[op["source"]]
    elif kind == "predictor":
        if columns:
            treated_keys = {str(v).strip().lower() for v in treated}
            is_t = frame[columns[0]].astype(str).str.strip().str.lower().isin(treated_keys)
            if frame[column].dtype.kind in "biuf":
                frame[column] = is_t.astype(int).to_numpy()
            else:
                frame[column] = np.where(is_t, "yes-t", "no-t")
    elif kind == "missing_treatment":
        for c in columns[:1]:
            _as_object(frame, c)
            frame.loc[_rows(rnd, frame, op["count"]), c] = None
    return frame


def byte_op(rnd: Rnd, fmt: str) -> dict:
    kinds = ["truncate", "flip", "insert", "empty", "header", "append"]
    if fmt == "csv":
        kinds += ["latin1", "semicolon", "nul", "bom", "ragged"]
    op: dict[str, Any] = {"op": rnd.choice(kinds), "seed": rnd.randrange(2**32)}
    op["fraction"] = rnd.random()
    op["count"] = rnd.choice([1, 3, 20, 200])
    return op


def apply_byte_op(data: bytes, op: dict) -> bytes:
    rnd = random.Random(op.get("seed", 0))
    kind = op["op"]
    if kind in ("truncate", "flip"):
        return _cut_or_flip(data, op, rnd)
    if kind == "insert":
        where = int(len(data) * op["fraction"])
        return data[:where] + bytes(rnd.randrange(256) for _ in range(op["count"])) + data[where:]
    if kind == "empty":
        return b""
    if kind == "header":
        return bytes(rnd.randrange(256) for _ in range(min(op["count"], 64))) + data[64:]
    if kind == "append":
        return data + bytes(rnd.randrange(256) for _ in range(op["count"]))
    if kind == "latin1":
        return data.replace(b"female", "fémale".encode("latin-1")).replace(
            b"\n", "\n\xe9".encode("latin-1"), 3
        )
    if kind == "semicolon":
        return data.replace(b",", b";")
    if kind == "nul":
        where = int(len(data) * op["fraction"])
        return data[:where] + b"\x00" * op["count"] + data[where:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "ragged":
        lines = data.split(b"\n")
        for _ in range(min(op["count"], 20)):
            i = rnd.randrange(1, max(2, len(lines)))
            if i < len(lines):
                lines[i] = (
                    lines[i] + b",extra,fields" if rnd.random() < 0.5 else lines[i][: len(lines[i]) // 2]
                )
        return b"\n".join(lines)
    return data


def _write_frame(frame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        if frame.columns.duplicated().any():
            import pyarrow as pa
            import pyarrow.parquet as pq

            arrays = [pa.array(frame.iloc[:, i].astype(str).tolist()) for i in range(frame.shape[1])]
            pq.write_table(pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns]), path)
        else:
            frame.to_parquet(path, index=False)
    elif fmt == "xlsx":
        frame.to_excel(path, index=False)
    elif fmt == "sav":
        import pyreadstat

        out = frame.copy()
        out.columns = [str(c) for c in out.columns]
        pyreadstat.write_sav(out, str(path))
    else:
        out = frame.copy()
        out.columns = [str(c) for c in out.columns]
        for i in range(out.shape[1]):
            col = out.iloc[:, i]
            if col.dtype.kind not in "biuf":
                out.isetitem(i, col.astype(object).where(col.notna(), "").astype(str))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.to_stata(path, write_index=False, version=118)


def write_data(frame, path: Path, fmt: str) -> None:
    """Write the (corrupted) frame; values a format cannot hold are made writable, step by step."""
    import numpy as np

    def text(f):
        f = f.copy()
        for i in range(f.shape[1]):
            if f.iloc[:, i].dtype.kind not in "biufcb":
                f.isetitem(i, f.iloc[:, i].astype(str))
        return f

    def finite(f):
        f = text(f)
        for i in range(f.shape[1]):
            col = f.iloc[:, i]
            if col.dtype.kind == "f":
                f.isetitem(i, col.where(np.isfinite(col) | col.isna(), np.nan))
        return f

    attempts = [lambda f: f, text]
    attempts.append(finite)
    for attempt in attempts:
        try:
            _write_frame(attempt(frame), path, fmt)
            return
        except Exception:  # noqa: BLE001 - the next attempt simplifies the frame
            continue
    raise RuntimeError(f"could not write the corrupted frame as {fmt}")


# -- cases ----------------------------------------------------------------------------------------


def generate_case(rnd: Rnd, command: str | None = None, data_share: float = 0.45) -> dict:
    """A random case: command, base study, mutations of the study, its text and (maybe) the data."""
    command = command or rnd.choices(["validate", "run"], weights=[50, 50])[0]
    bases = base_studies()
    weights = {"compact": 4, "compact-referral": 2, "orion_mentoring": 2}
    names = list(bases)
    base = rnd.choices(names, weights=[weights.get(n, 1) for n in names])[0]
    doc = cheapen(bases[base], rnd, command)
    case: dict[str, Any] = {"command": command, "base": base, "base_doc": doc, "data": None}
    corrupt_data = rnd.random() < (data_share if command == "validate" else data_share * 0.7)
    if corrupt_data:
        fmt = rnd.choices(FORMATS, weights=[45, 25, 18, 12, 10])[0]
        data = {"format": fmt, "via": rnd.choice(["cli", "study"]), "seed": rnd.randrange(3)}
        data["frame_ops"] = [frame_op(rnd, doc) for _ in range(rnd.choice([0, 1, 1, 1, 2, 3]))]
        data["byte_ops"] = [byte_op(rnd, fmt)] if rnd.random() < 0.22 else []
        case["data"] = data
        if data["via"] == "study":
            doc = copy.deepcopy(doc)
            doc["data"] = {"path": f"data.{fmt}"}
    counts = [0, 1, 1, 2, 2, 3, 4, 6] if not corrupt_data else [0, 0, 0, 1, 2]
    if command == "run":
        counts = [0, 1, 1, 1, 2, 3] if not corrupt_data else [0, 0, 0, 1]
    ops = []
    working = copy.deepcopy(doc)
    for _ in range(rnd.choice(counts)):
        op = study_op(rnd, working, deep=command == "run")
        ops.append(op)
        working = apply_study_op(working, op)
    case["study_ops"] = ops
    case["text_ops"] = [text_op(rnd)] if rnd.random() < (0.15 if command == "validate" else 0.05) else []
    case["unicode"] = rnd.random() < 0.7
    case["full_report"] = rnd.random() < 0.2
    return case


def study_document(case: dict) -> Any:
    doc = copy.deepcopy(case["base_doc"])
    if case["data"] and case["data"]["via"] == "study":
        doc["data"] = {"path": f"data.{case['data']['format']}"}
    for op in case["study_ops"]:
        doc = apply_study_op(doc, op)
    return doc


def materialize(case: dict, folder: Path) -> list[str]:
    """Write the case's files into ``folder`` and return the command line (relative paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = study_document(case)
    text = dump_study(doc, case.get("unicode", True))
    for op in case["text_ops"]:
        text = apply_text_op(text, op)
    (folder / "study.yaml").write_bytes(text)
    argv = [case["command"], "study.yaml"]
    data = case["data"]
    if data:
        frame = cohort(data["seed"])
        for op in data["frame_ops"]:
            with contextlib.suppress(Exception):  # an op that no longer applies (after shrinking)
                frame = apply_frame_op(frame, op, doc)
        if data["format"] in ("xlsx", "dta", "sav"):  # slow writers: the columns that matter, a few more
            keep = study_columns(doc)["used"] + list(frame.columns[:4])
            frame = frame.loc[
                :, [c for c in frame.columns if c in keep or c not in column_kinds()["all"]]
            ]
        path = folder / f"data.{data['format']}"
        write_data(frame, path, data["format"])
        if data["byte_ops"]:
            raw = path.read_bytes()
            for op in data["byte_ops"]:
                raw = apply_byte_op(raw, op)
            path.write_bytes(raw)
        if data["via"] == "cli":
            argv += ["--data", path.name]
    if case["command"] == "run":
        argv += ["--out", "out", "--quiet"]
    return argv


def describe(case: dict) -> str:
    """One line per mutation, for logs and hypothesis notes."""
    lines = [f"{case['command']} on base '{case['base']}'"]
    lines += [f"  study: {json.dumps(op, default=repr)[:300]}" for op in case["study_ops"]]
    lines += [f"  text: {json.dumps(op)[:200]}" for op in case["text_ops"]]
    if case["data"]:
        d = case["data"]
        lines.append(f"  data: {d['format']} via {d['via']} (cohort seed {d['seed']})")
        lines += [f"    frame: {json.dumps(op, default=repr)[:200]}" for op in d["frame_ops"]]
        lines += [f"    bytes: {json.dumps(op)}" for op in d["byte_ops"]]
    return "\n".join(lines)


# -- running one case -----------------------------------------------------------------------------


class CaseTimeout(BaseException):
    """Raised by the alarm inside a case that runs too long (a BaseException: nothing catches it)."""


_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def _stub_savefig(self, fname, *args, **kwargs):
    """A stand-in for ``Figure.savefig`` that writes a 1x1 PNG (or an empty SVG) without drawing."""
    svg = kwargs.get("format") == "svg" or str(getattr(fname, "name", fname)).endswith(".svg")
    data = b'<svg xmlns="http://www.w3.org/2000/svg"/>' if svg else _PNG
    if hasattr(fname, "write"):
        fname.write(data)
    else:
        Path(fname).write_bytes(data)


@contextlib.contextmanager
def _stubbed_figures(active: bool):
    if not active:
        yield
        return
    from matplotlib.figure import Figure

    original = Figure.savefig
    Figure.savefig = _stub_savefig
    try:
        yield
    finally:
        Figure.savefig = original


def _frames(tb) -> list[dict]:
    frames = []
    for frame in traceback.extract_tb(tb):
        frames.append({"file": frame.filename, "line": frame.lineno, "function": frame.name})
    return frames


def _short(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(SRC.parent))
    except ValueError:
        parts = Path(path).parts
        return "/".join(parts[parts.index("site-packages") + 1 :]) if "site-packages" in parts else path


def _in_reimpact(path: str) -> bool:
    try:
        Path(path).resolve().relative_to(SRC)
        return True
    except ValueError:
        return False


def classify(exit_code: int | None, stderr: str, error: BaseException | None) -> str:
    if isinstance(error, CaseTimeout):
        return "hang"
    if error is not None:
        return "uncaught"
    if exit_code == 0:
        return "ok"
    lines = stderr.splitlines()
    if exit_code == 2 and len(lines) == 1 and lines[0].startswith("reimpact: error: "):
        return "refused"
    return "bad_message"


WARNING_LINE = re.compile(r"^(\S+\.py):\d+: (\w+Warning): ")


def signature(result: dict) -> str | None:
    """What makes two failures the same bug: the exception type and the innermost reimpact frame."""
    outcome = result["outcome"]
    if outcome in ("ok", "refused", "skipped"):
        return None
    if outcome == "crash":
        return f"crash: {result.get('detail', 'worker died')}"
    if outcome == "bad_message":
        lines = result["stderr"].splitlines()
        warned = [m for m in map(WARNING_LINE.match, lines) if m]
        errors = [line for line in lines if line.startswith("reimpact: error: ")]
        if warned:
            file, name = warned[0].group(1), warned[0].group(2)
            return f"bad_message ({name} printed before the error) @ {_short(file)}"
        if len(errors) == 1 and len(lines) > 1 and lines[0] == errors[0]:
            return "bad_message (newline inside the error message: user text echoed as is)"
        if not lines:
            why = "empty stderr"
        elif len(lines) > 1:
            why = "multi-line stderr"
        else:
            why = "no 'reimpact: error:' prefix"
        first = next(
            (line for line in lines if line.startswith("reimpact: error: ")), lines[0] if lines else ""
        )
        parts = first.removeprefix("reimpact: error: ").split(": ")
        if parts[0].endswith("study.yaml") and len(parts) > 1:
            parts = parts[1:]
        field = re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'…'", parts[0]))[:60]
        return f"bad_message ({why}, exit {result['exit_code']}) @ {field}"
    frames = result.get("frames", [])
    inner = [f for f in frames if _in_reimpact(f["file"])]
    where = inner[-1] if inner else (frames[-1] if frames else None)
    place = f"{_short(where['file'])}:{where['function']}" if where else "?"
    if outcome == "hang":
        return f"hang @ {place}"
    return f"{result['exc_type']} @ {place}"


def execute(argv: list[str], cwd: Path, timeout: float = TIMEOUT, stub_figures: bool = False) -> dict:
    """Run ``main(argv)`` in-process in ``cwd``; capture the streams, the exit code or the exception."""
    from reimpact.cli import main

    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    # like a real terminal: stdout strict utf-8, stderr with backslash escapes
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
    exit_code: int | None = None
    error: BaseException | None = None
    frames: list[dict] = []

    def alarm(signum, frame):
        raise CaseTimeout(f"no answer after {timeout:g} s")

    previous_dir = os.getcwd()
    previous = signal.signal(signal.SIGALRM, alarm)
    start = time.perf_counter()
    try:
        os.chdir(cwd)
        with contextlib.ExitStack() as stack:
            stack.enter_context(warnings.catch_warnings())
            # a no-op filter: changing the filters forgets which warnings were shown already, so
            # every case shows its warnings as a fresh process would
            warnings.filterwarnings("default", message="reimpact-fuzz: never matches", append=True)
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(err))
            stack.enter_context(_stubbed_figures(stub_figures))
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                exit_code = main(argv)
            except SystemExit as exc:  # argparse
                exit_code = exc.code if isinstance(exc.code, int) else 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except BaseException as exc:  # noqa: BLE001 - every escape is a finding
        if isinstance(exc, KeyboardInterrupt):
            raise
        error = exc
        frames = _frames(exc.__traceback__)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(previous_dir)
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
    seconds = time.perf_counter() - start
    with contextlib.suppress(ValueError):
        out.flush()
        err.flush()
    stderr = err_bytes.getvalue().decode("utf-8", errors="replace")
    result = {
        "outcome": classify(exit_code, stderr, error),
        "exit_code": exit_code,
        "stdout": out_bytes.getvalue().decode("utf-8", errors="replace")[-2000:],
        "stderr": stderr[-4000:],
        "seconds": round(seconds, 3),
        "argv": argv,
    }
    if error is not None:
        kind = type(error)
        result["exc_type"] = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else (f"{kind.__module__}.{kind.__qualname__}")
        )
        result["exc_message"] = str(error)[:1000]
        result["frames"] = frames
        result["traceback"] = "".join(
            traceback.format_exception(type(error), error, error.__traceback__)
        )[-6000:]
    result["signature"] = signature(result)
    return result


def run_case(case: dict, timeout: float = TIMEOUT, full_report: bool | None = None) -> dict:
    """Materialize a case in a temporary folder, run it, clean up."""
    full = case.get("full_report", False) if full_report is None else full_report
    with tempfile.TemporaryDirectory(prefix="reimpact-fuzz-") as tmp:
        folder = Path(tmp)
        try:
            argv = materialize(case, folder)
        except Exception as exc:  # noqa: BLE001 - a harness problem, not a finding
            return {"outcome": "skipped", "signature": None, "detail": f"{type(exc).__name__}: {exc}"}
        return execute(argv, folder, timeout, stub_figures=case["command"] == "run" and not full)


# -- the worker process and the campaign ----------------------------------------------------------


def _worker(connection, timeout: float, full_report: bool | None) -> None:
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, 8 * 2**30))
    warm = {"command": "run", "base": "compact", "base_doc": cheapen(COMPACT, random.Random(0), "run")}
    warm.update(data=None, study_ops=[], text_ops=[])
    run_case(warm, timeout=300)  # numba compiles on first use
    connection.send("ready")
    while True:
        message = connection.recv()
        if message is None:
            return
        connection.send(run_case(message, timeout, full_report))


class Worker:
    """A worker process that runs cases; restarted when it dies or stops answering."""

    def __init__(self, timeout: float, full_report: bool | None) -> None:
        self.timeout, self.full_report = timeout, full_report
        self.process = None
        self.start()

    def start(self) -> None:
        import multiprocessing as mp

        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
            os.environ[name] = "1"
        os.environ["MPLBACKEND"] = "Agg"
        context = mp.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, self.timeout, self.full_report))
        self.process.start()
        if not self.connection.poll(600) or self.connection.recv() != "ready":
            raise RuntimeError("the fuzz worker did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            with contextlib.suppress(OSError, BrokenPipeError):
                self.connection.send(None)
            self.process.join(5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()

    def run(self, case: dict) -> dict:
        grace = self.timeout + 60
        try:
            self.connection.send(case)
            if self.connection.poll(grace):
                return self.connection.recv()
            detail, outcome = f"no answer after {grace:g} s (killed)", "hang"
        except (EOFError, OSError, BrokenPipeError):
            detail, outcome = "worker died", "crash"
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        if outcome == "crash":
            detail = f"worker died (exit code {self.process.exitcode})"
        self.start()
        result = {"outcome": outcome, "exit_code": None, "stderr": "", "detail": detail, "frames": []}
        result["signature"] = signature(result) if outcome == "crash" else "hang (hard) @ ?"
        return result


def case_rng(seed: int, index: int) -> random.Random:
    return random.Random(f"reimpact-fuzz:{seed}:{index}")


def shrink(case: dict, target: str, runner, budget: float) -> dict:
    """Greedy: drop mutations, then optional parts of the study, while the signature stays."""
    deadline = time.monotonic() + budget

    def same(candidate: dict) -> bool:
        return time.monotonic() < deadline and runner(candidate).get("signature") == target

    best = copy.deepcopy(case)
    if best["command"] == "run":  # a validate reproducer is faster to check
        trial = {**copy.deepcopy(best), "command": "validate"}
        if same(trial):
            best = trial
    for key, where in (
        ("study_ops", None),
        ("text_ops", None),
        ("frame_ops", "data"),
        ("byte_ops", "data"),
    ):
        holder = best[where] if where else best
        if not holder:
            continue
        i = 0
        while i < len(holder[key]):
            trial = copy.deepcopy(best)
            trial_holder = trial[where] if where else trial
            del trial_holder[key][i]
            if same(trial):
                best, holder = trial, trial_holder
            else:
                i += 1
    if best["data"] and not best["data"]["frame_ops"] and not best["data"]["byte_ops"]:
        trial = copy.deepcopy(best)
        trial["data"] = None
        if same(trial):
            best = trial
    # drop optional parts of the base study
    doc = best["base_doc"]
    for path in (
        [("sensitivity",), ("population",), ("title",), ("report",), ("exact",), ("cluster",)]
        + [("methods", m) for m in ("aipw", "ipw", "psm")]
        + [("propensity",), ("missing",), ("categorical",)]
    ):
        if _parent(doc, path, create=False) is None or path[-1] not in _parent(doc, path, create=False):
            continue
        trial = copy.deepcopy(best)
        apply_study_op(trial["base_doc"], {"op": "delete", "path": list(path)})
        if same(trial):
            best = trial
    for role in ("covariates", "outcomes"):
        values = best["base_doc"].get(role)
        if not isinstance(values, list):
            continue
        i = 0
        while i < len(best["base_doc"][role]) and len(best["base_doc"][role]) > 1:
            trial = copy.deepcopy(best)
            del trial["base_doc"][role][i]
            if same(trial):
                best = trial
            else:
                i += 1
    return best


def verify(folder: Path, argv: list[str], timeout: float = 300) -> dict:
    """Run the reproducer with the real command in a fresh process."""
    code = "import sys; from reimpact.cli import main; sys.exit(main(sys.argv[1:]))"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *argv], cwd=folder, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"exit_code": None, "stderr_tail": f"timed out after {timeout} s"}
    stderr = done.stderr.decode("utf-8", errors="replace")
    return {"exit_code": done.returncode, "stderr_tail": stderr[-3000:]}


def reproduces(result: dict, checked: dict) -> bool:
    """Does the fresh process show the same kind of failure as the in-process run?"""
    lines = checked["stderr_tail"].splitlines()
    if result["outcome"] == "uncaught":
        return (
            checked["exit_code"] not in (0, 2)
            and result["exc_type"].split(".")[-1] in checked["stderr_tail"]
        )
    if result["outcome"] == "bad_message":
        return checked["exit_code"] == result.get("exit_code") and len(lines) != 1
    if result["outcome"] == "hang":
        return checked["exit_code"] is None
    return checked["exit_code"] not in (0, 2)


def write_reproducer(number: int, sig: str, case: dict, result: dict, count: int) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", sig).strip("-")[:70]
    folder = FINDINGS / f"{number:02d}-{slug}"
    shutil.rmtree(folder, ignore_errors=True)
    real = materialize(case, folder)
    (folder / "case.json").write_text(json.dumps(case, indent=1, default=repr), encoding="utf-8")
    (folder / "description.txt").write_text(describe(case) + "\n", encoding="utf-8")
    quoted = " ".join(a if re.fullmatch(r"[\w./-]+", a) else repr(a) for a in real)
    python = Path(sys.executable)
    script = (
        "#!/bin/sh\n# " + sig + "\n"
        'cd "$(dirname "$0")" && rm -rf out && ' + f"{python.parent / 'reimpact'} {quoted}\n"
    )
    (folder / "repro.sh").write_text(script, encoding="utf-8")
    (folder / "repro.sh").chmod(0o755)
    checked = verify(folder, real)
    shutil.rmtree(folder / "out", ignore_errors=True)
    text = [
        f"signature: {sig}",
        f"cases: {count}",
        f"command: reimpact {quoted}",
        f"in-process outcome: {result['outcome']}, exit code {result.get('exit_code')}",
        f"exception: {result.get('exc_type')}: {result.get('exc_message', '')[:500]}",
        "",
        result.get("traceback") or result.get("stderr") or result.get("detail", ""),
        "",
        f"fresh-process check: exit code {checked['exit_code']}; "
        f"{'reproduces' if reproduces(result, checked) else 'DOES NOT reproduce'}",
        checked["stderr_tail"],
    ]
    (folder / "traceback.txt").write_text("\n".join(map(str, text)), encoding="utf-8")
    result["verified_exit_code"] = checked["exit_code"]
    result["reproduced"] = reproduces(result, checked)
    result["verified_stderr_tail"] = checked["stderr_tail"][-400:]
    return folder


def campaign(args: argparse.Namespace) -> int:
    FINDINGS.mkdir(exist_ok=True)
    (FINDINGS / ".gitignore").write_text("*\n", encoding="utf-8")
    for old in FINDINGS.glob("[0-9][0-9]-*"):  # the reproducers of an earlier campaign
        shutil.rmtree(old)
    counts: Counter[str] = Counter()
    by_command: Counter[tuple[str, str]] = Counter()
    failures: dict[str, dict] = {}  # signature -> first (smallest) case, its result, count
    log = (FINDINGS / "failures.jsonl").open("w", encoding="utf-8")
    worker = Worker(args.timeout, True if args.full_report else None)
    start = time.monotonic()
    last_status = start
    done = 0
    seconds: Counter[str] = Counter()
    try:
        for index in range(args.cases):
            if args.minutes and time.monotonic() - start > args.minutes * 60:
                break
            case = generate_case(case_rng(args.seed, index), args.only)
            result = worker.run(case)
            done += 1
            outcome = result["outcome"]
            counts[outcome] += 1
            by_command[(case["command"], outcome)] += 1
            seconds[case["command"]] += result.get("seconds", 0) or 0
            sig = result.get("signature")
            if sig:
                record = {"index": index, "signature": sig, "outcome": outcome}
                record["exc_message"] = result.get("exc_message", result.get("stderr", ""))[:300]
                log.write(json.dumps(record) + "\n")
                log.flush()
                size = len(json.dumps(case, default=repr))
                entry = failures.setdefault(
                    sig, {"count": 0, "case": case, "result": result, "size": size}
                )
                entry["count"] += 1
                entry.setdefault("indices", []).append(index)
                if size < entry["size"]:
                    entry.update(case=case, result=result, size=size)
            if time.monotonic() - last_status > 30:
                last_status = time.monotonic()
                elapsed = last_status - start
                print(
                    f"[{elapsed / 60:5.1f} min] {done} cases: "
                    + ", ".join(f"{k} {counts[k]}" for k in OUTCOMES if counts[k])
                    + f"; {len(failures)} signatures",
                    flush=True,
                )
        elapsed = time.monotonic() - start
        print(f"\n{done} cases in {elapsed / 60:.1f} min (seed {args.seed})")
        for outcome in OUTCOMES:
            if counts[outcome]:
                split = ", ".join(
                    f"{c} {by_command[(c, outcome)]}"
                    for c in ("validate", "run")
                    if by_command[(c, outcome)]
                )
                print(f"  {outcome:<12} {counts[outcome]:>6}  ({split})")
        ranked = sorted(failures.items(), key=lambda item: -item[1]["count"])
        budget = args.shrink_seconds / max(1, len(ranked))
        summary = []
        print(f"\n{len(ranked)} distinct failure signatures (shrinking and writing reproducers)")
        for number, (sig, entry) in enumerate(ranked, 1):
            case = entry["case"]
            if args.shrink_seconds > 0 and not sig.startswith(("hang", "crash")):
                case = shrink(case, sig, worker.run, budget)
            result = worker.run(case) if case is not entry["case"] else entry["result"]
            if result.get("signature") != sig:  # shrinking ran out of time mid-way: keep the original
                case, result = entry["case"], entry["result"]
            folder = write_reproducer(number, sig, case, result, entry["count"])
            message = result.get("exc_message") or result.get("stderr") or result.get("detail") or ""
            message = " ".join(message.split())[:160]
            fresh = "reproduces" if result.get("reproduced") else "does NOT reproduce"
            print(f"{entry['count']:>6}  {sig}\n        {message}")
            print(f"        -> {folder.relative_to(REPO)} ({fresh} in a fresh process)")
            summary.append(
                {
                    "signature": sig,
                    "count": entry["count"],
                    "first_case": entry["indices"][0],
                    "message": message,
                    "reproducer": str(folder.relative_to(REPO)),
                    "verified_exit_code": result.get("verified_exit_code"),
                    "reproduced": result.get("reproduced"),
                }
            )
        report = {
            "seed": args.seed,
            "cases": done,
            "minutes": round(elapsed / 60, 2),
            "outcomes": dict(counts),
            "by_command": {f"{c}/{o}": n for (c, o), n in by_command.items()},
            "failures": summary,
        }
        (FINDINGS / "summary.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        lines = [
            f"# reimpact fuzz campaign (seed {args.seed}, {done} cases, {elapsed / 60:.1f} min)",
            "",
        ]
        lines += [f"- {o}: {counts[o]}" for o in OUTCOMES if counts[o]]
        lines += [
            "",
            "| count | signature | message | reproducer | fresh process |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {s['count']} | `{s['signature']}` | {s['message'].replace('|', '/')} | "
            f"{s['reproducer']} | {'reproduces' if s['reproduced'] else 'does not reproduce'} |"
            for s in summary
        ]
        (FINDINGS / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"\nsummary: {(FINDINGS / 'summary.md').relative_to(REPO)}")
    finally:
        log.close()
        worker.stop()
    return 1 if any(counts[o] for o in FAILURES) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="number of cases (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="campaign seed (default 0)")
    parser.add_argument("--minutes", type=float, default=None, help="stop generating cases after this")
    parser.add_argument("--only", choices=["validate", "run"], help="fuzz one command only")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds before a case is a hang")
    parser.add_argument(
        "--shrink-seconds", type=float, default=240, help="total time to shrink reproducers (0: off)"
    )
    parser.add_argument("--full-report", action="store_true", help="draw every run's figures for real")
    parser.add_argument("--show", type=int, metavar="INDEX", help="print case INDEX of --seed and exit")
    args = parser.parse_args(argv)
    if args.show is not None:
        case = generate_case(case_rng(args.seed, args.show), args.only)
        print(describe(case))
        return 0
    return campaign(args)


if __name__ == "__main__":
    sys.exit(main())
