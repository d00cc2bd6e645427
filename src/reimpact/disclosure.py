"""Disclosure control: the one gate every published number passes.

Returnee records are sensitive, so outputs hold aggregates only and no count under
``report.min_cell_size`` (k, default 10) may be shown *or recovered*. The rules follow the output
checking used in trusted research environments (the SACRO project's statistical disclosure control
guidance and its ``acro`` tool; Griffiths et al. 2019, "Handbook on Statistical Disclosure Control
for Outputs"):

* **threshold** (primary suppression): a count of 1 to k - 1 units is published as ``"<k"``; zero
  describes nobody and is shown;
* **differencing** (secondary suppression): published counts are tied by identities (the sample
  flow adds up; matched plus dropped focal units make the focal units; subgroup counts add up to
  the group). In every identity that holds a suppressed cell, at least two cells are suppressed and
  the suppressed cells sum to at least k, so that subtraction recovers neither a cell nor a sum
  under k; the smallest published cell is suppressed in addition (published as ``"suppressed"``)
  until that holds, and the total when nothing else is left;
* **derived statistics**: a statistic about a suppressed group (an effect, its E-value, refutations,
  omitted-variable bounds (OLS and AIPW), Rosenbaum bounds and matched-pair counts) is suppressed
  with it, and a share of a 0/1 covariate whose count or complement in a group is under k is
  suppressed (share times n would give the count);
* **rounding** (optional, ``report.rounding``): every published count is rounded to a multiple of
  the base after suppression.

Not applied: the p-ratio and nk-dominance rules, which protect *magnitude* tables (totals of
earnings, say) from a dominant contributor. reimpact publishes no totals of magnitudes; its means
(balance, effects) rest on at least k units per group, and its figures draw no individual value
(every bin or step holds at least k units of each group, see :mod:`reimpact.report.figures`).

:func:`publish` applies all this to the results payload; :func:`audit` re-reads a published payload
and lists every count under k and every suppressed cell recoverable by subtraction.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .disclosure_identities import Identity, Path_, get_cell, identities

SECONDARY = "suppressed"  # a count hidden so that subtraction recovers no small one
_LEADING_COUNT = re.compile(r"^(\d+)(?= )")


@dataclass(frozen=True)
class Gate:
    """The disclosure settings: the threshold k and an optional rounding base."""

    min_cell_size: int = 10
    rounding: int | None = None

    @classmethod
    def of(cls, report: Any) -> Gate:
        """The gate a study's ``report`` section sets."""
        return cls(report.min_cell_size, report.rounding)

    def small(self, n: float) -> bool:
        """A count that describes 1 to k - 1 units."""
        return 0 < n < self.min_cell_size

    def mask(self) -> str:
        return f"<{self.min_cell_size}"

    def count(self, n: int) -> int | str:
        """A count as published: ``"<k"`` when small, else rounded when asked."""
        if self.small(n):
            return self.mask()
        if self.rounding and n:
            return int(self.rounding * round(n / self.rounding))
        return n

    def note(self, text: str) -> str:
        """A note or warning whose leading number counts units, as published."""
        match = _LEADING_COUNT.match(text)
        if match:
            return f"{self.count(int(match.group(1)))}{text[match.end() :]}"
        return text


# -- the identities between published counts ------------------------------------------------------


def _set(payload: dict, path: Path_, value: Any) -> None:
    node: Any = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _count_paths(payload: dict) -> Iterator[Path_]:
    """Every count cell of the payload."""
    sample = payload.get("sample") or {}
    for key, value in sample.items():
        if isinstance(value, dict):
            for k, inner in value.items():  # per round of long data: a dict of counts
                yield from (
                    (("sample", key, k, c) for c in inner)
                    if isinstance(inner, dict)
                    else [("sample", key, k)]
                )
        else:
            yield ("sample", key)
    design = payload.get("design") or {}
    for key in ("n_bounded_below", "n_bounded_above", "n_trimmed"):
        if key in design:
            yield ("design", key)
    for key in ("focal_units", "matched_focal_units", "dropped_by_caliper", "matched_treated",
                "matched_control"):  # fmt: skip
        if key in (design.get("matching") or {}):
            yield ("design", "matching", key)
    for i, _ in enumerate(design.get("separated_levels") or []):
        yield ("design", "separated_levels", i, "units")
    for i, _ in enumerate(payload.get("effects") or []):
        yield ("effects", i, "n_treated")
        yield ("effects", i, "n_control")
    for i, _ in enumerate(payload.get("dose_response") or []):
        yield ("dose_response", i, "n")
    balance = payload.get("balance") or {}
    for sample_name, groups in (balance.get("effective_n") or {}).items():
        for group in groups:
            yield ("balance", "effective_n", sample_name, group)
    for contrast, samples in ((balance.get("pairs") or {}).get("effective_n") or {}).items():
        for sample_name, groups in samples.items():
            yield from (("balance", "pairs", "effective_n", contrast, sample_name, g) for g in groups)
    sensitivity = payload.get("sensitivity") or {}
    for i, _ in enumerate(sensitivity.get("rosenbaum") or []):
        yield ("sensitivity", "rosenbaum", i, "n_pairs")
    for key in ("subgroups", "cate"):
        for i, _ in enumerate(sensitivity.get(key) or []):
            yield ("sensitivity", key, i, "n_treated")
            yield ("sensitivity", key, i, "n_control")


def _is_count(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def publish(payload: dict, gate: Gate) -> dict:
    """The payload as it may be published: primary and secondary suppression of counts, derived
    statistics of suppressed groups removed, counts rounded when asked. ``payload`` holds the
    true counts; the result is a new dict."""
    out = copy.deepcopy(payload)
    cells = {p: v for p in _count_paths(out) if _is_count(v := get_cell(out, p))}
    hidden = {p for p, v in cells.items() if gate.small(v)}
    rules = identities(out)
    for identity in rules:
        # an identity that does not hold leaves a group out (say, units a method dropped): its size,
        # the gap, is recoverable by subtraction, so when it is small every part is withheld
        members = (identity.total, *identity.parts)
        if all(p in cells for p in members) and gate.small(abs(_gap(identity, cells))):
            hidden.update(identity.parts)
    changed = True
    while changed:
        changed = False
        for identity in rules:
            extra = _complement(identity, cells, hidden, gate.min_cell_size)
            if extra is not None:
                hidden.add(extra)
                changed = True
    for path, value in cells.items():
        if path in hidden:
            _set(out, path, gate.mask() if gate.small(value) else SECONDARY)
        else:
            _set(out, path, gate.count(round(value)))
    _suppress_derived(out, payload, gate)
    return out


def _gap(identity: Identity, cells: dict) -> float:
    """total - sum of parts: 0 where the identity holds."""
    return cells[identity.total] - sum(cells[p] for p in identity.parts)


def _complement(identity: Identity, cells: dict, hidden: set, k: int) -> Path_ | None:
    """The cell to suppress in addition so that subtraction along ``identity`` recovers neither a
    suppressed cell nor a sum of suppressed cells under ``k``; None when none is needed."""
    members = (identity.total, *identity.parts)
    if any(p not in cells for p in members) or not any(p in hidden for p in members):
        return None
    secret_parts = [p for p in identity.parts if p in hidden]
    if identity.total in hidden:
        if secret_parts:
            return None  # the total is unknown, so the parts' sum is too
    elif len(secret_parts) >= 2 and sum(cells[p] for p in secret_parts) >= k:
        return None
    open_parts = sorted((p for p in identity.parts if p not in hidden), key=lambda p: cells[p])
    if open_parts:
        return open_parts[0]
    return None if identity.total in hidden else identity.total


_EFFECT_STATISTICS = ("estimate", "std_error", "ci_lower", "ci_upper", "p_value")
_LABELS = ("by", "level", "outcome", "status", "n_treated", "n_control")


def _suppress_derived(out: dict, raw: dict, gate: Gate) -> None:
    """Remove what is derived from a suppressed group: an effect resting on fewer than k treated
    or control units (and its E-values, refutations, omitted-variable (OLS, AIPW) and Rosenbaum
    bounds and warnings), the statistics of suppressed subgroups, and counts at the start of notes."""
    suppressed = set()
    for effect, true in zip(out.get("effects") or [], raw.get("effects") or [], strict=True):
        effect["notes"] = [gate.note(n) for n in effect.get("notes", [])]
        if gate.small(true["n_treated"]) or gate.small(true["n_control"]):
            suppressed.add((effect["outcome"], effect["method"]))
            for key in _EFFECT_STATISTICS:
                effect[key] = None
            for key in ("df", "fmi"):  # of an effect pooled over imputations
                if key in effect:
                    effect[key] = None
            effect["notes"].append("suppressed: fewer than the minimum cell size")
            effect["warnings"] = []
    for row, true in zip(out.get("dose_response") or [], raw.get("dose_response") or [], strict=True):
        if true["n"] is not None and gate.small(true["n"]):  # a dose with fewer than k units
            for key in ("estimate", "std_error", "ci_lower", "ci_upper"):
                row[key] = None
    small_outcomes = {outcome for outcome, _ in suppressed}
    top = out.get("headline")
    if top and {(top["outcome"], top["method"]), (top["outcome"], "naive")} & suppressed:
        # the headline's effect, or the control group its mean and SD describe, is too small
        out["headline"] = {k: top[k] for k in ("outcome", "method", "estimand")} | {"suppressed": True}
    sensitivity = out.get("sensitivity") or {}
    if sensitivity:
        for key in ("evalues", "refutations", "dml"):
            sensitivity[key] = [
                r for r in sensitivity.get(key) or [] if (r["outcome"], r["method"]) not in suppressed
            ]
        sensitivity["omitted_variable"] = [
            o for o in sensitivity.get("omitted_variable") or [] if o["outcome"] not in small_outcomes
        ]
        true_bounds = (raw.get("sensitivity") or {}).get("rosenbaum") or []
        for bounds, true in zip(sensitivity.get("rosenbaum") or [], true_bounds, strict=True):
            if bounds.get("available") and (
                gate.small(true["n_pairs"]) or (bounds["outcome"], "psm") in suppressed
            ):
                for key in ("gammas", "p_upper", "gamma_critical"):
                    bounds.pop(key, None)
                bounds["available"] = False
                bounds["reason"] = "suppressed: fewer matched pairs than the minimum cell size"
        for key in ("subgroups", "cate"):
            rows = sensitivity.get(key) or []
            for i, row in enumerate(rows):
                if row.get("status") == "suppressed":
                    rows[i] = {k: row[k] for k in _LABELS if k in row}
    out["warnings"] = [
        gate.note(w)
        for w in out.get("warnings") or []
        if not any(f"{method} on {outcome}" in w for outcome, method in suppressed)
    ]


# -- auditing ---------------------------------------------------------------------------------


def audit(payload: dict, min_cell_size: int, rounding: int | None = None) -> list[str]:
    """What a published payload gives away: counts of 1 to k - 1 units, suppressed cells (or sums
    of them under k) that subtraction along an identity recovers, and figures with an element of
    fewer than k units. With ``rounding``, a subtraction is only as exact as the rounding of the
    cells it uses allows. Empty when nothing is found."""
    gate = Gate(min_cell_size)
    findings = []
    for path in _count_paths(payload):
        value = get_cell(payload, path)
        if _is_count(value) and gate.small(value):
            findings.append(f"{_name(path)} = {value}: a count under {min_cell_size}")
    for identity in identities(payload):
        values = {p: get_cell(payload, p) for p in (identity.total, *identity.parts)}
        if any(v is None for v in values.values()):
            continue
        unknown = [p for p, v in values.items() if isinstance(v, str)]
        if not unknown:
            gap = _gap(identity, values)
            if abs(gap) > (rounding or 0) / 2 * len(values) and gate.small(abs(gap)):
                findings.append(
                    f"{_name(identity.total)} - {_names(identity.parts)} = {gap}: a group under "
                    f"{min_cell_size} left out of the identity, recovered by subtraction"
                )
            continue
        if identity.total in unknown and len(unknown) > 1:
            continue
        slack = (rounding or 0) / 2 * (len(values) - len(unknown))  # rounding error of the rest
        if identity.total in unknown:
            derived = sum(values[p] for p in identity.parts)
            if 2 * slack < min_cell_size:
                findings.append(
                    f"{_name(identity.total)} = {derived} by adding {_names(identity.parts)}"
                )
            continue
        rest = values[identity.total] - sum(values[p] for p in identity.parts if p not in unknown)
        if len(unknown) == 1 and 2 * slack < min_cell_size:
            findings.append(f"{_name(unknown[0])} = {rest} by subtraction from {_name(identity.total)}")
        elif len(unknown) > 1 and 0 < rest + slack < min_cell_size:
            findings.append(
                f"{_names(unknown)} sum to {rest} by subtraction from {_name(identity.total)}"
            )
    for name, figure in (payload.get("figures") or {}).items():
        units = figure.get("min_units")
        if _is_count(units) and gate.small(units):
            findings.append(f"figure {name} draws an element of {units} units")
    return findings


def _name(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def _names(paths) -> str:
    return ", ".join(_name(p) for p in paths)
