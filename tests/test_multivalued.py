"""Multi-valued treatments: the generalised score, IPW and AIPW level means and their contrasts."""

from __future__ import annotations

import numpy as np
import pytest

from reimpact.design.gps import fit_gps
from reimpact.estimators.multivalued import (
    aipw_means,
    contrast_pairs,
    contrast_se,
    ipw_means,
    level_effects,
    outcome_predictions,
)

LEVELS = ("none", "economic", "social")


def _simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confounded three-level treatment; true ATEs economic-none = 2, social-none = 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    logits = np.column_stack([np.zeros(n), 0.8 * x[:, 0], -0.6 * x[:, 0] + 0.5 * x[:, 1]])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    codes = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    y = 1.5 * x[:, 0] + x[:, 1] + np.array([0.0, 2.0, 1.0])[codes] + rng.normal(size=n)
    return x, codes, y


def test_gps_rows_sum_to_one_for_both_models():
    x, codes, _ = _simulate(300, 1)
    for model in ("logistic", "gradient_boosting"):
        gps = fit_gps(x, codes, LEVELS, model=model)
        assert gps.scores.shape == (300, 3)
        np.testing.assert_allclose(gps.scores.sum(axis=1), 1.0)
        assert set(gps.min_by_level()) == set(LEVELS)


def test_ipw_and_aipw_equal_hand_computation():
    y = np.array([1.0, 3.0, 2.0, 6.0, 4.0, 5.0])
    codes = np.array([0, 0, 1, 1, 2, 2])
    scores = np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]] * 3)
    ipw = ipw_means(y, codes, scores)
    # level 0: units 0 (e=.5) and 1 (e=.25): (1/.5 + 3/.25) / (1/.5 + 1/.25) = 14 / 6
    assert ipw.means[0] == pytest.approx(14 / 6)
    # level 1: units 2 (e=.25), 3 (e=.5): (2/.25 + 6/.5) / (4 + 2) = 20 / 6
    assert ipw.means[1] == pytest.approx(20 / 6)
    m = np.tile([1.0, 2.0, 3.0], (6, 1))
    aipw = aipw_means(y, codes, scores, m)
    psi0 = 1.0 + np.array([(1 - 1) / 0.5, (3 - 1) / 0.25, 0, 0, 0, 0])
    assert aipw.means[0] == pytest.approx(psi0.mean())
    np.testing.assert_allclose(aipw.influence[:, 0], psi0 - psi0.mean())
    effect = level_effects(aipw, LEVELS, codes, "y", "aipw")[0]
    phi = aipw.influence[:, 1] - aipw.influence[:, 0]
    assert effect.contrast == "economic vs none"
    assert effect.std_error == pytest.approx(np.sqrt(np.sum(phi**2)) / 6)
    assert (effect.n_treated, effect.n_control) == (2, 2)


def test_ipw_with_level_shares_is_the_difference_in_means():
    x, codes, y = _simulate(200, 2)
    shares = np.bincount(codes) / codes.size
    fitted = ipw_means(y, codes, np.tile(shares, (codes.size, 1)))
    expected = [y[codes == a].mean() for a in range(3)]
    np.testing.assert_allclose(fitted.means, expected)


def test_contrasts_cover_reference_then_pairs():
    assert contrast_pairs(("none", "a", "b", "c")) == [(1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (3, 2)]


def test_cluster_se_sums_within_clusters():
    phi = np.array([1.0, -1.0, 2.0, -2.0])
    assert contrast_se(phi, cluster=np.array([0, 0, 1, 1])) == 0.0
    assert contrast_se(phi) == pytest.approx(np.sqrt(10) / 4)


def test_known_truth_is_recovered():
    """Confounded simulation (naive differences are biased): the 95% intervals of IPW and AIPW
    hold the true ATEs (2 and 1 against none, 1 between them) and the naive one misses."""
    x, codes, y = _simulate(3000, 3)
    gps = fit_gps(x, codes, LEVELS)
    truth = {"economic vs none": 2.0, "social vs none": 1.0, "social vs economic": -1.0}
    m = outcome_predictions(x, y, codes, 3)
    for fitted, method in ((ipw_means(y, codes, gps.scores, 0.01), "ipw"),
                           (aipw_means(y, codes, gps.scores, m, 0.01), "aipw")):  # fmt: skip
        for effect in level_effects(fitted, LEVELS, codes, "y", method):
            assert effect.covers(truth[effect.contrast]), (method, effect.contrast)
    shares = np.tile(np.bincount(codes) / codes.size, (codes.size, 1))
    naive = level_effects(ipw_means(y, codes, shares), LEVELS, codes, "y", "naive")
    assert not naive[0].covers(truth["economic vs none"])
