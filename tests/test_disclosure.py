"""Disclosure control attacked: subtraction across published tables and side channels must give
back no count under ``report.min_cell_size``; the audit finds such leaks where they exist."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from reimpact.cli import main
from reimpact.config.study import Study
from reimpact.disclosure import SECONDARY, Gate, audit, publish
from reimpact.io import write_table
from reimpact.pipeline import run_study
from reimpact.report.figures import safe_grid

K = 10


def _flow(**changes) -> dict:
    sample = {
        "rows_read": 1000,
        "filtered_out": {"country": 300},
        "excluded_by_treatment_rule": 4,
        "dropped_missing": {"age": 1, "education": 1, "income": 200, "total": 202},
        "dropped_invalid": {},
        "imputed": {},
        "analysed": 494,
        "treated": 200,
        "control": 294,
        "missing_outcome": {},
    }
    sample.update(changes)
    return {"study": {"estimand": "ATT", "report": {"min_cell_size": K}}, "sample": sample}


def test_secondary_suppression_of_the_sample_flow():
    """The 4 excluded rows can no longer be had from rows_read minus the other steps, and the two
    suppressed missing-value cells (1 and 1) cannot be had from the total: more cells are
    suppressed until the suppressed cells of every identity sum to at least k."""
    raw = _flow()
    assert audit(publish(raw, Gate(1)), K)  # unprotected: leaks
    published = publish(raw, Gate(K))
    sample = published["sample"]
    assert sample["excluded_by_treatment_rule"] == "<10"
    assert sample["dropped_missing"]["age"] == sample["dropped_missing"]["education"] == "<10"
    assert sample["dropped_missing"]["income"] == SECONDARY  # 1 + 1 < k: one more hidden
    assert audit(published, K) == []
    assert raw["sample"]["excluded_by_treatment_rule"] == 4  # the input is not modified


def test_rounding_and_the_audit_with_rounding():
    published = publish(_flow(), Gate(K, rounding=5))
    assert published["sample"]["analysed"] == 495 and published["sample"]["rows_read"] == 1000
    assert audit(published, K, rounding=5) == []


def test_audit_names_the_subtraction():
    leaky = publish(_flow(), Gate(1))
    findings = audit(leaky, K)
    assert "sample.excluded_by_treatment_rule = 4: a count under 10" in findings
    assert "sample.dropped_missing.age = 1: a count under 10" in findings


@pytest.mark.parametrize("seed", range(5))
def test_figure_grid_never_draws_fewer_than_k(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.gamma(2.0, 10.0, 700))
    t = rng.random(700) < 0.2
    masks = [t, ~t, t & (rng.random(700) < 0.7)]
    grid, fewest = safe_grid(x, masks, K)
    assert grid.size > 3 and fewest >= K
    for mask in masks:  # the ECDF at g counts the units <= g: cells (g_i-1, g_i]
        below = np.searchsorted(np.sort(x[mask]), grid, side="right")
        cells = np.diff(np.r_[0, below, mask.sum()])
        assert cells.min() >= K
    assert grid[0] > x.min() and grid[-1] < x.max()  # no individual's extreme value


@pytest.fixture(scope="module")
def five_returnee_country(tmp_path_factory, cohort):
    """A country with 5 returnees (3 treated), a subgroup analysis by country and every method:
    once published with the default gate and once with suppression switched off (k = 1)."""
    import copy

    from conftest import BASE_STUDY

    tmp = tmp_path_factory.mktemp("five")
    data = cohort.data[cohort.data.country.isin(["GIN", "SEN", "MAR"])].head(3000).copy()
    small = data.index[:5]
    data.loc[small, "country"] = "ZZZ"
    data.loc[small, "mentored"] = [1, 1, 1, 0, 0]
    path = write_table(data, tmp / "export.csv")
    study = copy.deepcopy(BASE_STUDY)
    study["data"] = {"path": str(path)}
    study["population"] = {"country": ["GIN", "SEN", "MAR", "ZZZ"]}
    study["methods"] = {"psm": {"replace": False, "caliper": 0.05}, "ipw": {}, "aipw": {}}
    study["sensitivity"] = {"heterogeneity": {"by": ["country", "vulnerable"]}}
    outs = {}
    for k in (K, 1):
        study["report"] = {"min_cell_size": k}
        outs[k] = tmp / f"k{k}"
        run_study(Study.from_dict(study), out_dir=outs[k])
    return outs


def _known(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _attacks(payload: dict) -> list[str]:
    """Subtraction and side-channel attacks written independently of the package's identities:
    each returns what it recovers exactly, as 'route: value'."""
    found = []
    s = payload["sample"]
    drops = [s[key].get("total", 0) for key in ("dropped_missing", "dropped_invalid")]
    steps = [*s["filtered_out"].values(), s["excluded_by_treatment_rule"], *drops, s["analysed"]]
    unknown = [v for v in steps if not _known(v)]
    if len(unknown) == 1 and _known(s["rows_read"]):
        found.append(f"flow: {s['rows_read'] - sum(v for v in steps if _known(v))}")
    m = payload["design"].get("matching") or {}
    trio = [m.get("focal_units"), m.get("matched_focal_units"), m.get("dropped_by_caliper")]
    if m and sum(not _known(v) for v in trio) == 1:
        found.append("matching: one of focal, matched, dropped")
    for key in ("dropped_missing", "dropped_invalid"):
        block = s[key]
        if "total" in block and _known(block["total"]):
            hidden = [v for k, v in block.items() if k != "total" and not _known(v)]
            rest = block["total"] - sum(v for k, v in block.items() if k != "total" and _known(v))
            if hidden and (len(hidden) == 1 or 0 < rest < K):
                found.append(f"{key}: suppressed cells sum to {rest}")
    for by in {r["by"] for r in payload["sensitivity"]["subgroups"]}:
        rows = [r for r in payload["sensitivity"]["subgroups"] if r["by"] == by
                and r["outcome"] == payload["study"]["outcomes"][0]]  # fmt: skip
        for count, total in (("n_treated", s["treated"]), ("n_control", s["control"])):
            hidden = [r for r in rows if not _known(r.get(count))]
            rest = total - sum(r[count] for r in rows if _known(r.get(count)))
            if hidden and (len(hidden) == 1 or 0 < rest < K):
                found.append(f"subgroups {by} {count}: {rest}")
    for row in payload["balance"]["rows"]:
        if row["sample"] == "unadjusted" and row["type"] == "binary" and not row["suppressed"]:
            for group, n in (("treated", s["treated"]), ("control", s["control"])):
                ones = round(row[f"mean_{group}"] * n)
                for count in (ones, n - ones):
                    if 0 < count < K:
                        found.append(f"balance {row['covariate']} {group}: {count}")
    for effect in payload["effects"]:
        if effect["method"] != "psm" and _known(effect["n_treated"]) and _known(s["treated"]):
            gap = s["treated"] - effect["n_treated"]
            if 0 < gap < K:
                found.append(f"effect counts {effect['outcome']}: {gap}")
    text = json.dumps({k: v for k, v in payload.items() if k != "study"})
    if "ZZZ" in text:
        for key in ("evalues", "refutations", "omitted_variable"):
            assert "ZZZ" not in json.dumps(payload["sensitivity"][key])
    return found


def test_nothing_recoverable_from_the_published_outputs(five_returnee_country, capsys):
    payload = json.loads((five_returnee_country[K] / "results.json").read_text())
    assert _attacks(payload) == []
    zzz = [r for r in payload["sensitivity"]["subgroups"] if r["level"] == "ZZZ"]
    assert zzz and all(r["status"] == "suppressed" and "estimate" not in r for r in zzz)
    assert all(r["n_treated"] in ("<10", SECONDARY) for r in zzz)
    assert main(["audit", str(five_returnee_country[K])]) == 0
    assert "nothing recoverable by subtraction" in capsys.readouterr().out


def test_the_audit_finds_the_leaks_of_unsuppressed_outputs(five_returnee_country, capsys):
    payload = json.loads((five_returnee_country[1] / "results.json").read_text())
    assert _attacks(payload), "the attacks work on unprotected outputs"
    assert main(["audit", str(five_returnee_country[1]), "--min-cell-size", str(K)]) == 1
    out = capsys.readouterr().out
    assert "a count under 10" in out


def test_units_left_out_by_the_separation_rule_are_not_recoverable(tmp_path, capsys):
    """3 treated units in a level without controls leave the comparison: the treated count minus
    the effects' treated count would give them back, so one more cell is suppressed."""
    import pandas as pd

    rng = np.random.default_rng(2)
    n = 800
    frame = {"x": rng.normal(size=n), "country": rng.choice(["A", "B"], n)}
    t = (rng.random(n) < 0.4).astype(int)
    frame["country"][:3] = "G"
    t[:3] = 1
    data = pd.DataFrame(frame).assign(t=t, y=lambda d: d.x + d.t + rng.normal(size=n))
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    study = {
        "name": "sep",
        "data": {"path": str(path)},
        "treatment": {"column": "t"},
        "outcomes": ["y"],
        "covariates": ["x", "country"],
        "methods": {"psm": {}, "ipw": {}},
    }
    run_study(Study.from_dict(study), out_dir=tmp_path / "out")
    payload = json.loads((tmp_path / "out" / "results.json").read_text())
    assert payload["design"]["separated_levels"][0]["units"] == "<10"
    treated = payload["sample"]["treated"]
    shown = [e["n_treated"] for e in payload["effects"] if e["method"] != "psm"]
    assert not (_known(treated) and any(_known(v) and 0 < treated - v < K for v in shown))
    assert main(["audit", str(tmp_path / "out")]) == 0


def test_effective_sample_sizes_that_are_counts_do_not_give_dropped_units_away() -> None:
    """Matching without replacement weighs every matched unit 1, so the matched effective n is the
    matched count: 1,951 focal units and an effective n of 1,947 would give away the 4 the caliper
    dropped (found in the ORION report)."""
    payload = {
        "study": {"estimand": "ATT", "methods": {"psm": {"ratio": 1, "replace": False}}},
        "sample": {"analysed": 5690, "treated": 1951, "control": 3739},
        "design": {"matching": {"focal_units": 1951, "matched_focal_units": 1947,
                                "dropped_by_caliper": 4, "matched_treated": 1947,
                                "matched_control": 1947}},
        "balance": {"effective_n": {"unadjusted": {"treated": 1951, "control": 3739},
                                    "matched": {"treated": 1947, "control": 1947}}},
        "effects": [],
    }  # fmt: skip
    published = publish(payload, Gate(10))
    assert published["balance"]["effective_n"]["matched"]["treated"] == SECONDARY
    assert published["balance"]["effective_n"]["matched"]["control"] == SECONDARY
    assert audit(published, 10) == []
    leaky = copy.deepcopy(published)  # the counts hidden, the effective n published as before
    leaky["balance"]["effective_n"]["matched"] = {"treated": 1947, "control": 1947}
    assert any("by subtraction" in finding for finding in audit(leaky, 10))
