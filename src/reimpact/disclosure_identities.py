"""The identities between published counts, what a reader could subtract along: the sample flow,
matching, effect counts, effective sample sizes and subgroups (:mod:`reimpact.disclosure` uses them
for secondary suppression and for its audit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Path_ = tuple[Any, ...]  # a location in the payload, e.g. ("sample", "filtered_out", "country")


@dataclass(frozen=True)
class Identity:
    """total = sum of parts, between cells of the payload (paths)."""

    total: Path_
    parts: tuple[Path_, ...]


def get_cell(payload: dict, path: Path_) -> Any:
    node: Any = payload
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def identities(payload: dict) -> list[Identity]:
    """Every identity an attacker could subtract along, read off the payload itself (so that the
    audit finds the same ones in a published file)."""
    out: list[Identity] = []
    sample = payload.get("sample") or {}
    if sample:
        removed: list[Path_] = [("sample", "filtered_out", k) for k in sample.get("filtered_out", {})]
        removed.append(("sample", "excluded_by_treatment_rule"))
        for key in ("dropped_missing", "dropped_invalid"):
            block = sample.get(key) or {}
            if "total" in block:
                removed.append(("sample", key, "total"))
                parts: tuple[Path_, ...] = tuple(("sample", key, k) for k in block if k != "total")
                out.append(Identity(("sample", key, "total"), parts))
        out.append(Identity(("sample", "rows_read"), (*removed, ("sample", "analysed"))))
        out.append(Identity(("sample", "analysed"), (("sample", "treated"), ("sample", "control"))))
    matching = (payload.get("design") or {}).get("matching") or {}
    if matching:
        base = ("design", "matching")
        out.append(
            Identity(
                (*base, "focal_units"), ((*base, "matched_focal_units"), (*base, "dropped_by_caliper"))
            )
        )
    out += _effect_identities(payload)
    sensitivity = payload.get("sensitivity") or {}
    for key in ("subgroups", "cate"):
        rows = sensitivity.get(key) or []
        groups: dict[tuple, list[int]] = {}
        for i, row in enumerate(rows):
            groups.setdefault((row.get("by"), row.get("outcome")), []).append(i)
        for members in groups.values():
            for count, total in (
                ("n_treated", ("sample", "treated")),
                ("n_control", ("sample", "control")),
            ):
                parts = tuple(("sensitivity", key, i, count) for i in members)
                out.append(Identity(total, parts))
    return out


def _effect_identities(payload: dict) -> list[Identity]:
    """What the effects' unit counts are, by definition: a naive, IPW or AIPW effect counts the
    compared units that have its outcome (the sample less the units of levels left out by the
    separation rule, and less the rows without that outcome); a matching effect on a fully
    observed outcome counts the matched units, which for the ATT (ATC) are the matched treated
    (control) focal units; the focal units are the compared treated (control) units."""
    sample = payload.get("sample") or {}
    missing = sample.get("missing_outcome") or {}
    matching = (payload.get("design") or {}).get("matching") or {}
    estimand = (payload.get("study") or {}).get("estimand")
    out = []
    base = ("design", "matching")
    psm = ((payload.get("study") or {}).get("methods") or {}).get("psm") or {}
    sampled = bool((payload.get("design") or {}).get("sampling_weights"))
    # units of levels held by one group, left out of the comparison (propensity.separation)
    excluded: dict[str, list[Path_]] = {"treated": [], "control": []}
    for i, level in enumerate((payload.get("design") or {}).get("separated_levels") or []):
        if level.get("action") == "excluded":
            excluded[level["group"]].append(("design", "separated_levels", i, "units"))
    if matching and estimand in ("ATT", "ATC"):
        group, other = ("treated", "control") if estimand == "ATT" else ("control", "treated")
        out.append(Identity(("sample", group), ((*base, "focal_units"), *excluded[group])))
        out.append(Identity((*base, f"matched_{group}"), ((*base, "matched_focal_units"),)))
        # every matched focal unit has weight 1, so the focal group's effective n is their count
        ess = ("balance", "effective_n", "matched", group)
        if not sampled:
            out.append(Identity(ess, ((*base, f"matched_{group}"),)))
        pairs = psm.get("replace") is False and psm.get("method", "nearest") != "full"
        if psm.get("ratio") == 1 and pairs:  # 1:1 pairs: one match each
            out.append(Identity((*base, f"matched_{other}"), ((*base, "matched_focal_units"),)))
        if pairs and not sampled:  # equal weights: effective n is a count
            out.append(
                Identity(("balance", "effective_n", "matched", other), ((*base, f"matched_{other}"),))
            )
    if not sampled:  # sampling weights make no effective sample size a count
        out += _effective_n_identities(payload, missing, estimand)
    if sample.get("rounds"):
        return out + _round_identities(payload)
    levels = ((payload.get("design") or {}).get("dose") or {}).get("kind") != "continuous"
    if levels and any(effect.get("contrast") for effect in payload.get("effects") or []):
        return out + _level_identities(payload, missing, [*excluded["treated"], *excluded["control"]])
    for i, effect in enumerate(payload.get("effects") or []):
        n_t, n_c = ("effects", i, "n_treated"), ("effects", i, "n_control")
        outcome = effect.get("outcome")
        if effect.get("method") == "psm":
            if outcome not in missing and matching:
                out += [Identity(n_t, ((*base, "matched_treated"),)),
                        Identity(n_c, ((*base, "matched_control"),))]  # fmt: skip
            elif outcome in missing:
                # matched on the rows with the outcome: the group less these counts is the units
                # without it plus those the caliper dropped, a gap withheld when small
                out += [
                    Identity(("sample", "treated"), (n_t, *excluded["treated"])),
                    Identity(("sample", "control"), (n_c, *excluded["control"])),
                ]
        elif outcome in missing:
            parts = (n_t, n_c, ("sample", "missing_outcome", outcome), *excluded["treated"],
                     *excluded["control"])  # fmt: skip
            out.append(Identity(("sample", "analysed"), parts))
        else:
            out += [
                Identity(("sample", "treated"), (n_t, *excluded["treated"])),
                Identity(("sample", "control"), (n_c, *excluded["control"])),
            ]
    return out


def _round_identities(payload: dict) -> list[Identity]:
    """Long data (``panel``): a round's rows are its treated and control rows, and an effect of
    round r counts at most the round's treated and control units (fewer when some lack the outcome
    or, for DR-DiD, the baseline round): a small gap withholds the effect's counts. With
    ``panel.bands`` a band's counts are its whole rounds' plus the rows of rounds it holds in part:
    a small gap withholds those."""
    out = []
    rounds = (payload.get("sample") or {}).get("rounds") or {}
    for r in rounds:
        base = ("sample", "rounds", r)
        out.append(Identity((*base, "rows"), ((*base, "treated"), (*base, "control"))))
        out.append(Identity((*base, "units"), ((*base, "rows"),)))  # one row per unit and round
    bands = (payload.get("design") or {}).get("bands") or {}
    for i, effect in enumerate(payload.get("effects") or []):
        band = bands.get(effect.get("contrast"))
        if band and band["whole"]:  # a band's rows: its whole rounds' and some of the others'
            for group in ("treated", "control"):
                parts = tuple(("sample", "rounds", w, group) for w in band["whole"])
                out.append(Identity(("effects", i, f"n_{group}"), parts))
        r = str(effect.get("contrast") or "").removeprefix("round ")
        if r in rounds:
            out += [
                Identity(("sample", "rounds", r, "treated"), (("effects", i, "n_treated"),)),
                Identity(("sample", "rounds", r, "control"), (("effects", i, "n_control"),)),
            ]
    return out


def _level_identities(payload: dict, missing: dict, excluded: list[Path_]) -> list[Identity]:
    """A multi-valued treatment or a dose: the contrast "a vs b" counts the units at level a
    (``n_treated``) and at level b (``n_control``) that have its outcome. A level's count repeats
    over contrasts, methods and the dose-response curve (each copy equals the first, so hiding one
    hides all), and the levels' counts of an outcome add up to the analysed units less those
    without the outcome and those of levels the separation rule left out."""
    copies: dict[tuple[str, str], list[Path_]] = {}
    for i, effect in enumerate(payload.get("effects") or []):
        high, low = str(effect.get("contrast")).split(" vs ", 1)
        copies.setdefault((effect["outcome"], high), []).append(("effects", i, "n_treated"))
        copies.setdefault((effect["outcome"], low), []).append(("effects", i, "n_control"))
    for i, row in enumerate(payload.get("dose_response") or []):
        copies.setdefault((row["outcome"], str(row["dose"])), []).append(("dose_response", i, "n"))
    out = [Identity(paths[0], (path,)) for paths in copies.values() for path in paths[1:]]
    levels: dict[str, list[Path_]] = {}
    for (outcome, _), paths in copies.items():
        levels.setdefault(outcome, []).append(paths[0])
    for outcome, firsts in levels.items():
        gone = [("sample", "missing_outcome", outcome)] if outcome in missing else []
        out.append(Identity(("sample", "analysed"), (*firsts, *gone, *excluded)))
    return out


def _effective_n_identities(payload: dict, missing: dict, estimand: str | None) -> list[Identity]:
    """Effective sample sizes that are counts: with unit weights (the unadjusted sample) the
    effective n of a group is its number of compared units, the naive effect's count on a fully
    observed outcome; IPW for the ATT (ATC) weighs every treated (control) unit 1."""
    ess = ("balance", "effective_n")
    out = []
    for i, effect in enumerate(payload.get("effects") or []):
        if effect.get("method") == "naive" and effect.get("outcome") not in missing:
            for group in ("treated", "control"):
                out.append(Identity((*ess, "unadjusted", group), (("effects", i, f"n_{group}"),)))
            break
    weights = (((payload.get("study") or {}).get("methods") or {}).get("ipw") or {}).get("weights")
    focal = {"ATT": "treated", "ATC": "control"}.get(estimand or "")
    if focal and weights == "hajek":
        out.append(Identity((*ess, "weighted", focal), ((*ess, "unadjusted", focal),)))
    return out


# -- publishing -------------------------------------------------------------------------------
