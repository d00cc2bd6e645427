"""A multi-valued treatment's diagnostics: balance between every other pair of levels
(:mod:`reimpact.diagnostics.pairs`), its disclosure, and the per-level overlap warning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reimpact.config.study import Study
from reimpact.design.gps import GeneralisedScores, fit_gps
from reimpact.diagnostics.pairs import pair_balance
from reimpact.disclosure import Gate, audit, publish
from reimpact.estimators.multivalued import contrast_pairs
from reimpact.messages import multivalued_warnings
from reimpact.report.tables import balance_pairs_table

LEVELS = ("none", "economic", "social")


def _simulate(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two covariates and a flag; economic goes with high x0, social with low x0 and high x1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    logits = np.column_stack([np.zeros(n), 0.8 * x[:, 0], -0.8 * x[:, 0] + 0.6 * x[:, 1]])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    codes = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "flag": (rng.random(n) < 0.5).astype(float)})
    return frame, codes


def _pairs(frame, codes, min_cell_size=10):
    gps = fit_gps(frame.to_numpy(), codes, LEVELS)
    weights = 1.0 / gps.own()
    pairs = contrast_pairs(LEVELS)[len(LEVELS) - 1 :]
    covariates = ["x0", "x1", "flag"]
    return pair_balance(frame, covariates, [], codes, LEVELS, pairs, weights, min_cell_size), weights


def test_pairs_are_the_non_reference_contrasts_with_hand_computed_smd():
    frame, codes = _simulate(2000, 1)
    result, weights = _pairs(frame, codes)
    assert list(result.tables) == ["social vs economic"]
    rows = result.to_frame().set_index(["covariate", "sample"])
    x, a, b = frame["x0"].to_numpy(), codes == 2, codes == 1
    scale = np.sqrt((x[a].var(ddof=1) + x[b].var(ddof=1)) / 2)
    assert rows.loc[("x0", "unadjusted"), "smd"] == pytest.approx((x[a].mean() - x[b].mean()) / scale)
    weighted = np.average(x[a], weights=weights[a]) - np.average(x[b], weights=weights[b])
    assert rows.loc[("x0", "weighted"), "smd"] == pytest.approx(weighted / scale)
    # confounded by x0 before weighting, balanced under the pair's IPW weights
    assert abs(rows.loc[("x0", "unadjusted"), "smd"]) > 0.5
    assert abs(rows.loc[("x0", "weighted"), "smd"]) < 0.1 and result.imbalanced == {}
    assert list(result.smd().columns) == [
        "social vs economic, unadjusted",
        "social vs economic, weighted",
    ]
    assert result.summary().splitlines()[0].startswith("Balance between the other pairs of levels")
    assert "|SMD| >= 0.1" not in result.summary()


def test_small_shares_within_a_pair_are_suppressed_and_withheld():
    frame, codes = _simulate(600, 2)
    members = np.flatnonzero(codes == 2)
    frame["flag"] = 0.0
    frame.loc[members[:3], "flag"] = 1.0  # 3 social returnees flagged: a count under 10
    result, _ = _pairs(frame, codes)
    record = next(r for r in result.to_dict()["rows"] if r["covariate"] == "flag")
    assert record == {"contrast": "social vs economic", "covariate": "flag", "source": "flag",
                      "type": "binary", "sample": "unadjusted", "suppressed": True}  # fmt: skip
    table = balance_pairs_table({"balance": {"pairs": result.to_dict()}})
    assert table.set_index("Covariate").loc["flag"].eq("suppressed").all()
    assert list(table.columns) == ["Covariate", "SMD social vs economic, unadjusted",
                                   "SMD social vs economic, IPW"]  # fmt: skip


def test_pair_effective_sizes_pass_the_gate():
    payload = {"balance": {"pairs": {"effective_n": {"social vs economic": {
        "weighted": {"treated": 7.4, "control": 250.2}}}}}}  # fmt: skip
    assert audit(payload, 10) == ["balance.pairs.effective_n.social vs economic.weighted.treated "
                                  "= 7.4: a count under 10"]  # fmt: skip
    published = publish(payload, Gate(10))
    cell = published["balance"]["pairs"]["effective_n"]["social vs economic"]["weighted"]
    assert cell == {"treated": "<10", "control": 250}
    assert audit(published, 10) == []


def _study() -> Study:
    return Study.from_dict({
        "name": "levels", "data": {"path": "x.csv"}, "outcomes": ["y"], "covariates": ["x0"],
        "treatment": {"column": "kind", "reference": "none"}, "unit_label": "returnees",
    })  # fmt: skip


def _scores(n: int, counts: list[int], shifted: np.ndarray) -> GeneralisedScores:
    """Equal scores but for the ``shifted`` units (of the first two levels, so that only the
    third level's overlap changes), whose score of the third level is 0.02."""
    codes = np.repeat([0, 1, 2], counts)
    scores = np.tile([0.4, 0.4, 0.2], (n, 1))
    scores[shifted] = [0.49, 0.49, 0.02]
    return GeneralisedScores(LEVELS, codes, scores, "logistic")


def test_poor_overlap_of_a_level_is_warned_in_plain_words():
    frame, sim = _simulate(2000, 1)  # balanced under the weights (first test)
    pairs, _ = _pairs(frame, sim)
    # 100 returnees (50 at none, 50 at economic) could hardly have been social
    gps = _scores(1000, [400, 400, 200], np.r_[0:50, 400:450])
    assert multivalued_warnings(_study(), gps, pairs) == [
        "Poor overlap for level social: 100 returnees have a score P(social | x) outside the "
        "other group's range (returnees at social against those at another level) and 100 have "
        "scores below 0.05 or above 0.95. Its contrasts rest on extrapolation or on a few heavily "
        "weighted units; consider restricting the population or leaving the level out "
        "('treatment.levels')."
    ]
    # 8 units: under 1% outside and 5% extreme, no warning
    assert (
        multivalued_warnings(_study(), _scores(1000, [400, 400, 200], np.r_[0:4, 400:404]), pairs) == []
    )
    # in 500 units, 8 is over 1%: warned, the counts under 10 masked
    small = multivalued_warnings(_study(), _scores(500, [200, 200, 100], np.r_[0:4, 200:204]), pairs)
    assert small[0].startswith("Poor overlap for level social: <10 returnees have a score")
    assert "and <10 have scores below 0.05" in small[0]


def test_imbalance_left_in_a_pair_is_warned():
    frame, codes = _simulate(800, 4)
    pairs = contrast_pairs(LEVELS)[2:]
    unweighted = pair_balance(frame, ["x0", "x1"], [], codes, LEVELS, pairs, np.ones(codes.size))
    gps = GeneralisedScores(LEVELS, codes, np.tile([0.4, 0.4, 0.2], (codes.size, 1)), "logistic")
    assert multivalued_warnings(_study(), gps, unweighted) == [
        "Remaining imbalance between social vs economic after IPW weighting (|SMD| >= 0.1): x0, "
        "x1. Consider adding interactions or squares of these covariates to the model."
    ]
