"""Optimal pair matching and optimal full matching: equal to brute-force references (every
assignment, every partition) on small cases; MatchIt's full-matching weights by hand; the options
that do not go together refused; the estimator covers a known effect."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from reimpact.design.optimal import full_match, optimal_match
from reimpact.estimators import MatchingEstimator, matching_option_problem
from reimpact.exceptions import DesignError


def _draw(seed: int, n_f: int, n_c: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    distance = np.round(np.concatenate([rng.normal(0.5, 1, n_f), rng.normal(0, 1, n_c)]), 3)
    return distance, np.arange(n_f + n_c) < n_f


def brute_optimal(distance, focal, ratio, caliper, strata=None):
    """Every way of giving each control to one focal unit or to none, each focal unit at most
    ``ratio`` controls, same stratum, within the caliper: the most controls used, then the least
    total distance. Returns (number of matches, total distance)."""
    f_idx, c_idx = np.flatnonzero(focal), np.flatnonzero(~focal)
    strata = np.zeros(distance.size) if strata is None else strata
    best = (0, 0.0)
    for choice in itertools.product(range(-1, f_idx.size), repeat=c_idx.size):
        counts = np.bincount([q for q in choice if q >= 0], minlength=f_idx.size)
        if counts.max(initial=0) > ratio:
            continue
        total, ok = 0.0, True
        for c, q in zip(c_idx, choice, strict=True):
            if q < 0:
                continue
            f = f_idx[q]
            d = abs(distance[f] - distance[c])
            if strata[f] != strata[c] or (caliper is not None and d > caliper):
                ok = False
                break
            total += d
        n = int(counts.sum())
        if ok and (n > best[0] or (n == best[0] and total < best[1] - 1e-12)):
            best = (n, total)
    return best


def _total(distance, result):
    return float(np.sum(np.abs(distance[result.focal] - distance[result.matched])))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("ratio", "caliper"), [(1, None), (1, 0.3), (2, None), (2, 0.5)])
def test_optimal_pair_matching_equals_brute_force(seed: int, ratio: int, caliper) -> None:
    n_f = 5 if ratio == 1 else 3
    distance, focal = _draw(seed, n_f, 7)
    result, exact = optimal_match(distance, focal, ratio, caliper)
    n, total = brute_optimal(distance, focal, ratio, caliper)
    assert exact and result.focal.size == n
    assert _total(distance, result) == pytest.approx(total, abs=1e-9)
    assert np.unique(result.matched).size == result.matched.size  # without replacement
    assert np.all(focal[result.focal]) and not np.any(focal[result.matched])
    assert result.dropped_by_caliper == n_f - np.unique(result.focal).size
    if caliper is not None:
        assert np.all(np.abs(distance[result.focal] - distance[result.matched]) <= caliper)


def test_optimal_matching_within_strata_and_fewer_controls_than_treated() -> None:
    distance, focal = _draw(11, 6, 5)
    strata = np.array([0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1])
    result, _ = optimal_match(distance, focal, 1, None, strata)
    n, total = brute_optimal(distance, focal, 1, None, strata)
    assert result.focal.size == n == 5 and result.dropped_by_caliper == 1
    assert _total(distance, result) == pytest.approx(total)
    assert np.all(strata[result.focal] == strata[result.matched])


@pytest.mark.parametrize(("ratio", "caliper"), [(1, 0.2), (2, 0.5), (1, None)])
def test_the_sparse_start_reaches_the_exact_optimum_and_beats_greedy(ratio: int, caliper) -> None:
    """Started from each unit's 2 nearest only, the dual certificate adds pairs until the result
    equals the one solved on every pair within the caliper (number matched and total distance)."""
    from reimpact.design.matching import match

    distance, focal = _draw(5, 300, 700)
    exact, whole = optimal_match(distance, focal, ratio, caliper)
    sparse, certified = optimal_match(
        distance, focal, ratio, caliper, n_candidates=1, max_edges=0, max_rounds=50
    )
    assert whole and certified
    greedy = match(distance, focal, ratio, False, caliper)
    assert sparse.focal.size == exact.focal.size >= greedy.focal.size
    assert _total(distance, sparse) == pytest.approx(_total(distance, exact), rel=1e-9)
    if greedy.focal.size == exact.focal.size:
        assert _total(distance, exact) < _total(distance, greedy)


def _partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1 :]]
        yield [[first], *part]


def brute_full(distance, treated, caliper):
    """The least total distance over every partition of the units with a partner within the
    caliper into subclasses of one treated and >= 1 controls or one control and >= 1 treated, the
    cost of a subclass being the distances from its single unit to the others."""
    d = np.abs(distance[:, None] - distance[None, :])
    other = treated[:, None] != treated[None, :]
    ok_pair = other & ((d <= caliper) if caliper is not None else True)
    units = [i for i in range(distance.size) if ok_pair[i].any()]
    best = np.inf
    for part in _partitions(units):
        total = 0.0
        for block in part:
            n_t = int(treated[block].sum())
            if len(block) < 2 or min(n_t, len(block) - n_t) != 1:
                total = np.inf
                break
            alone = n_t == 1
            centre = next(i for i in block if treated[i] == alone)
            if len(block) == 2:
                centre = block[0]
            others = [i for i in block if i != centre]
            if not all(ok_pair[centre, i] for i in others):
                total = np.inf
                break
            total += float(d[centre, others].sum())
        best = min(best, total)
    return best, len(units)


def _full_total(distance, treated, result):
    subclass = result.subclass_of
    total = 0.0
    for s in np.unique(subclass[subclass >= 0]):
        members = np.flatnonzero(subclass == s)
        n_t = int(treated[members].sum())
        assert min(n_t, members.size - n_t) == 1  # a star: one unit alone in its group
        centre = members[treated[members] == (n_t == 1)][0]
        total += float(np.abs(distance[members] - distance[centre]).sum())
    return total


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("caliper", [None, 0.4])
def test_full_matching_equals_brute_force_over_partitions(seed: int, caliper) -> None:
    distance, treated = _draw(seed, 4, 5)
    result = full_match(distance, treated, "ATT", caliper)
    best, n_kept = brute_full(distance, treated, caliper)
    assert _full_total(distance, treated, result) == pytest.approx(best, abs=1e-9)
    assert int(np.sum(result.subclass_of >= 0)) == n_kept
    assert result.dropped_by_caliper == 4 - int(np.sum((result.subclass_of >= 0) & treated))


def test_full_matching_weights_as_matchit_defines_them() -> None:
    # treated 0.0 and 1.0; controls 0.1, 0.2 (nearest 0.0) and 0.95 (nearest 1.0); treated 1.1
    # shares control 0.95 with treated 1.0: subclasses {t0, c0.1, c0.2} and {t1.0, t1.1, c0.95}
    distance = np.array([0.0, 1.0, 1.1, 0.1, 0.2, 0.95])
    treated = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    att = full_match(distance, treated, "ATT")
    s = att.subclass_of
    assert s[0] == s[3] == s[4] and s[1] == s[2] == s[5] and s[0] != s[1]
    np.testing.assert_allclose(att.unit_weights(6), [1, 1, 1, 0.5, 0.5, 2])
    atc = full_match(distance, treated, "ATC")
    np.testing.assert_allclose(atc.unit_weights(6), [2, 0.5, 0.5, 1, 1, 1])
    ate = full_match(distance, treated, "ATE")
    np.testing.assert_allclose(ate.unit_weights(6), [3, 1.5, 1.5, 1.5, 1.5, 3])
    assert att.n_focal == 3 and atc.n_focal == 3 and ate.n_focal == 6


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"method": "optimal", "replace": True}, "replace"),
        ({"method": "full", "replace": True}, "replace"),
        ({"method": "full", "replace": False, "ratio": 2}, "ratio"),
        ({"method": "optimal", "replace": False, "estimand": "ATE"}, "replace"),
        ({"method": "full", "replace": False, "se": "bootstrap"}, "se"),
    ],
)
def test_options_that_do_not_go_together_are_refused(settings: dict, field: str) -> None:
    params = {"estimand": "ATT", "replace": False, "se": "auto", "ratio": 1, **settings}
    problem = matching_option_problem(
        params["estimand"], params["replace"], params["se"], params["method"], params["ratio"]
    )
    assert problem is not None and problem[0] == field and "\n" not in problem[1]
    with pytest.raises(DesignError, match=f"methods.psm.{field}"):
        MatchingEstimator(**settings).fit(*_cohort(200)[:3])


def test_full_matching_ate_is_allowed() -> None:
    assert matching_option_problem("ATE", False, "auto", "full", 1) is None


def _cohort(n: int, seed: int = 2):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(n, 2)), columns=["age", "skills"])
    t = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * x["age"] - 0.5)))).astype(int)
    y = x["age"] + 0.5 * x["skills"] + 2.0 * t + rng.normal(size=n)
    return x, t, y


@pytest.mark.parametrize(
    "settings",
    [
        {"method": "optimal", "replace": False},
        {"method": "optimal", "replace": False, "ratio": 2, "caliper": 0.2, "estimand": "ATC"},
        {"method": "full", "replace": False},
        {"method": "full", "replace": False, "estimand": "ATE", "caliper": 0.2},
        {"method": "full", "replace": False, "estimand": "ATC", "adjust": False},
    ],
)
def test_estimator_covers_a_known_effect(settings: dict) -> None:
    x, t, y = _cohort(1500)
    estimator = MatchingEstimator(**settings).fit(x, t, y)
    effect = estimator.effect_
    assert effect.covers(2.0), effect
    assert any(("optimal" in note) for note in effect.notes)
    summary = estimator.matching_summary_
    assert summary["matched_treated"] > 0 and summary["matched_control"] > 0
    assert estimator.weights_.shape == (1500,)


def test_cem_coarsens_and_weights_as_matchit_does_by_hand() -> None:
    from reimpact.estimators.cem import cem_weights, coarsen

    # age cut at 30 and 45; 'woman' a 0/1 dummy kept as is
    x = np.array([[25, 1], [28, 1], [26, 1], [35, 0], [40, 0], [50, 1], [33, 0], [60, 1]], dtype=float)
    t = np.array([1, 0, 0, 1, 0, 1, 0, 0])
    codes = coarsen(x, ["age", "woman"], {"age": [30, 45]})
    np.testing.assert_array_equal(codes[:, 0], [0, 0, 0, 1, 1, 2, 1, 2])
    np.testing.assert_array_equal(codes[:, 1], [1, 1, 1, 0, 0, 1, 0, 1])
    stratum = np.unique(codes, axis=0, return_inverse=True)[1].ravel()
    # strata: {0,1,2} (1 t, 2 c), {3,4,6} (1 t, 2 c), {5,7} (1 t, 1 c); m_T = 3, m_C = 5
    att = cem_weights(stratum, t, "ATT")
    np.testing.assert_allclose(att, [1, 0.5 * 5 / 3, 0.5 * 5 / 3, 1, 5 / 6, 1, 5 / 6, 5 / 3])
    atc = cem_weights(stratum, t, "ATC")
    np.testing.assert_allclose(atc, [2 * 3 / 5, 1, 1, 2 * 3 / 5, 1, 3 / 5, 1, 1])
    ate = cem_weights(stratum, t, "ATE")
    np.testing.assert_allclose(
        ate, [3 * 3 / 8, 1.5 * 5 / 8, 1.5 * 5 / 8, 9 / 8, 15 / 16, 6 / 8, 15 / 16, 10 / 8]
    )
    assert ate[t == 1].sum() == pytest.approx(3) and ate[t == 0].sum() == pytest.approx(5)
    lonely = cem_weights(np.array([0, 0, 1, 1, 2]), np.array([1, 0, 1, 0, 1]), "ATT")
    assert lonely[4] == 0.0  # a stratum with treated units only is dropped
    for estimand in ("ATT", "ATC", "ATE"):  # no stratum with both groups: all weights 0
        none = cem_weights(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]), estimand)
        np.testing.assert_array_equal(none, np.zeros(4))


def test_cem_estimator_covers_a_known_effect_and_names_bad_cutpoints() -> None:
    from reimpact.estimators import CEMEstimator

    x, t, y = _cohort(3000)
    for estimand in ("ATT", "ATE"):
        estimator = CEMEstimator(estimand=estimand, n_bins=6).fit(x, t, y)
        assert estimator.effect_.covers(2.0), estimator.effect_
        assert estimator.effect_.se_type == "cluster-robust by stratum"
        summary = estimator.cem_summary_
        assert summary["kept_treated"] + summary["dropped_treated"] == int(t.sum())
    cut = CEMEstimator(cutpoints={"age": [-1, 0, 1]}).fit(x, t, y)
    assert cut.effect_.covers(2.0), cut.effect_
    # coarse age bins leave confounding within them: unadjusted, the estimate is biased upwards
    plain = CEMEstimator(cutpoints={"age": [-1, 0, 1]}, adjust=False).fit(x, t, y)
    assert plain.effect_.estimate > cut.effect_.estimate
    assert "weighted difference" in " ".join(plain.effect_.notes)
    with pytest.raises(DesignError, match="methods.cem.cutpoints.*'income'"):
        CEMEstimator(cutpoints={"income": [0]}).fit(x, t, y)
    apart = pd.DataFrame({"age": t + 0.01 * x["age"], "skills": x["skills"]})  # a group per bin
    with pytest.raises(DesignError, match="fewer than 2 strata hold both"):
        CEMEstimator(n_bins=2).fit(apart, t, y)


def _heterogeneous(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    e = 1 / (1 + np.exp(-(-0.4 + 0.7 * x[:, 0] - 0.5 * x[:, 1])))
    t = (rng.random(n) < e).astype(int)
    tau = 1.0 + 0.8 * x[:, 0]
    y = x[:, 0] + 0.5 * x[:, 1] + 0.3 * x[:, 2] + t * tau + rng.normal(size=n)
    return pd.DataFrame(x, columns=["a", "b", "c"]), t, y, tau


@pytest.mark.parametrize(
    "settings",
    [
        {"method": "optimal", "replace": False, "caliper": 0.2},
        {"method": "full", "replace": False},
        {"method": "full", "replace": False, "estimand": "ATC"},
        {"method": "full", "replace": False, "estimand": "ATE", "caliper": 0.1},
        {"name": "cem", "n_bins": 5},
        {"name": "cem", "n_bins": 5, "estimand": "ATE"},
    ],
)
def test_truth_with_heterogeneous_effects(settings: dict) -> None:
    """Sample truth: each estimate within 4 standard errors of the mean individual effect over its
    target units, weighted by the method's weights of the target group (matched treated units for
    the ATT, matched controls for the ATC, all kept units with their weights for the ATE)."""
    from reimpact.estimators import CEMEstimator

    x, t, y, tau = _heterogeneous(8000, 4)
    settings = dict(settings)
    cls = CEMEstimator if settings.pop("name", "psm") == "cem" else MatchingEstimator
    estimator = cls(**settings).fit(x, t, y)
    w = estimator.weights_
    estimand = settings.get("estimand", "ATT")
    v = w * {"ATT": t == 1, "ATC": t == 0, "ATE": np.ones(t.size, bool)}[estimand]
    truth = float(v @ tau / v.sum())
    effect = estimator.effect_
    assert abs(effect.estimate - truth) < 4 * effect.std_error, (truth, effect)
    assert 0 < effect.std_error < 0.15


def test_a_study_runs_each_method_end_to_end(study_dict, tmp_path) -> None:
    import json

    from reimpact.config.study import Study
    from reimpact.pipeline import run_study

    methods = {
        "psm": {"method": "full", "replace": False, "caliper": 0.2},
        "cem": {"cutpoints": {"age": [25, 35, 45]}, "n_bins": 3},
    }
    for psm in (methods["psm"], {"method": "optimal", "replace": False, "caliper": 0.2}):
        study = Study.from_dict({**study_dict, "methods": {**methods, "psm": psm}})
        out = tmp_path / psm["method"]
        run_study(study, out_dir=out)
        payload = json.loads((out / "results.json").read_text())
        found = {e["method"] for e in payload["effects"]}
        assert {"psm", "cem"} <= found, payload["not_run"]
        assert payload["design"]["matching"]["caliper_width"] > 0  # counts may be suppressed
        samples = {row["sample"] for row in payload["balance"]["rows"]}
        assert {"matched", "cem"} <= samples
        assert "Coarsened exact matching" in (out / "report.html").read_text()
    with pytest.raises(Exception, match="methods.psm.replace"):
        Study.from_dict({**study_dict, "methods": {"psm": {"method": "optimal"}}})
