"""Doubly robust difference-in-differences (:mod:`reimpact.estimators.did`) against the published
examples of the DRDID R package (Sant'Anna & Zhao) and against hand computations.

The reference numbers are those the DRDID manual prints for its examples (pkgdown site of the
package's GitHub repository, ``docs/reference/drdid_imp_panel.html``, ``drdid_panel.html`` and
``drdid_imp_rc.html``):

* panel: the LaLonde (Smith & Todd 2005) NSW experimental controls against the CPS comparison
  units, ``subset(nsw, treated == 0 | sample == 2)``, 5,000 rows drawn by ``set.seed(123);
  sample(1:nrow(.), 5000)``, change re78 - re75, covariates age, educ, black, married, nodegree,
  hisp, re74: improved DR-DiD -615.2344 (SE 683.2211), traditional -507.6113 (SE 692.9738);
* repeated cross-sections: the package's simulated ``sim_rc`` (1,000 rows, covariates x1-x4):
  improved DR-DiD -0.2089 (SE 0.2003).

``tests/data/drdid_lalonde_cps.csv.gz`` holds the 16,417 rows of that subset in their order (from
the public ``nsw.dta`` that DRDID's ``data-raw`` ships, downloaded from the Harvard Dataverse);
``drdid_sim_rc.csv.gz`` the 1,000 rows of ``sim_rc``. R's draw is reproduced by :class:`RSample`
(R's Mersenne-Twister seeding and its rejection sampling of indices since R 3.6.0).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reimpact.estimators.did import drdid_panel, drdid_rc, fit_tilting
from reimpact.exceptions import DesignError
from reimpact.stats.sandwich import sandwich_se

DATA = Path(__file__).parent / "data"
COVARIATES = ["age", "educ", "black", "married", "nodegree", "hisp", "re74"]


class RSample:
    """R's ``set.seed(seed)`` then ``sample(n, k)`` (Mersenne-Twister, sample.kind "Rejection")."""

    def __init__(self, seed: int) -> None:
        state = seed
        for _ in range(50):  # R's initial scrambling of the seed
            state = (69069 * state + 1) & 0xFFFFFFFF
        words = []
        for _ in range(625):
            state = (69069 * state + 1) & 0xFFFFFFFF
            words.append(state)
        self.mt, self.mti = words[1:], 624  # the first word is the position, reset to 624

    def _word(self) -> int:
        mt = self.mt
        if self.mti >= 624:
            for k in range(624):
                y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7FFFFFFF)
                mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self.mti = 0
        y = mt[self.mti]
        self.mti += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        return y ^ (y >> 18)

    def unif(self) -> float:
        value = self._word() * 2.3283064365386963e-10
        return min(max(value, 1.1641532185403985e-10), 1.0 - 1.1641532185403985e-10)

    def _index(self, n: int) -> int:
        bits = math.ceil(math.log2(n))
        while True:
            v = 0
            for _ in range(0, bits + 1, 16):
                v = 65536 * v + math.floor(self.unif() * 65536)
            v &= (1 << bits) - 1
            if v < n:
                return v

    def sample(self, n: int, k: int) -> np.ndarray:
        pool, out = list(range(n)), []
        for _ in range(k):
            j = self._index(n)
            out.append(pool[j])
            n -= 1
            pool[j] = pool[n]
        return np.array(out)


def test_r_sample_reproduces_r():
    # R: set.seed(123); runif(3) and set.seed(42); sample(10)
    draws = RSample(123)
    assert [round(draws.unif(), 7) for _ in range(3)] == [0.2875775, 0.7883051, 0.4089769]
    assert list(RSample(42).sample(10, 10) + 1) == [1, 5, 10, 8, 2, 4, 6, 9, 7, 3]


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "drdid_lalonde_cps.csv.gz")
    assert len(frame) == 16417
    return frame.iloc[RSample(123).sample(len(frame), 5000)]


@pytest.mark.parametrize(
    ("method", "att", "se"),
    [("improved", -615.2344, 683.2211), ("traditional", -507.6113, 692.9738)],
)
def test_panel_matches_drdid_published_example(lalonde, method, att, se):
    fit = drdid_panel(
        lalonde.re78 - lalonde.re75, lalonde.experimental, lalonde[COVARIATES].to_numpy(), method=method
    )
    # the manual prints 4 decimals: every printed digit agrees (relative error below 1e-6)
    assert fit.att == pytest.approx(att, rel=1e-6, abs=5e-5)
    assert fit.std_error == pytest.approx(se, rel=1e-6)
    assert (fit.n_treated, fit.n_control, fit.n_trimmed) == (128, 4872, 0)


def test_rc_matches_drdid_published_example():
    sim = pd.read_csv(DATA / "drdid_sim_rc.csv.gz")
    fit = drdid_rc(sim.y, sim.post, sim.d, sim[["x1", "x2", "x3", "x4"]].to_numpy())
    assert round(fit.att, 4) == -0.2089
    assert round(fit.std_error, 4) == 0.2003


def _small_panel() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 2))
    d = (rng.uniform(size=60) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    dy = 1.0 + x @ [0.5, -0.3] + 2.0 * d + rng.normal(size=60)
    return dy, d, x


def test_panel_without_covariates_is_the_difference_of_mean_changes():
    dy, d, _ = _small_panel()
    by_hand = dy[d == 1].mean() - dy[d == 0].mean()
    for method in ("improved", "traditional"):
        fit = drdid_panel(dy, d, None, method=method)
        assert fit.att == pytest.approx(by_hand, abs=1e-10)
        # the influence function of a difference in means: (D - (1 - D) n1 / n0)(dY - mean) / n1
        n1, n0 = d.sum(), (1 - d).sum()
        centred = np.where(d == 1, dy - dy[d == 1].mean(), dy - dy[d == 0].mean())
        psi = (d - (1 - d) * n1 / n0) * centred / n1
        assert fit.std_error == pytest.approx(sandwich_se(psi), rel=1e-9)


def test_rc_without_covariates_is_the_two_by_two_difference_in_differences():
    rng = np.random.default_rng(4)
    d, post = rng.integers(0, 2, 80).astype(float), rng.integers(0, 2, 80).astype(float)
    y = 1.0 + 0.5 * d + 0.7 * post + 1.5 * d * post + rng.normal(size=80)

    def cell(a, b):
        return y[(d == a) & (post == b)].mean()

    by_hand = (cell(1, 1) - cell(1, 0)) - (cell(0, 1) - cell(0, 0))
    assert drdid_rc(y, post, d).att == pytest.approx(by_hand, abs=1e-10)


def test_tilting_balances_the_treated_covariate_sums():
    _, d, x = _small_panel()
    design = np.column_stack([np.ones(d.size), x])
    gamma = fit_tilting(design, d, np.ones(d.size))
    odds = np.exp(design @ gamma)
    assert np.allclose(design[d == 0].T @ odds[d == 0], design[d == 1].sum(axis=0), atol=1e-8)


def test_integer_weights_equal_repeated_rows():
    dy, d, x = _small_panel()
    w = np.arange(60) % 3 + 1
    weighted = drdid_panel(dy, d, x, sample_weight=w)
    repeated = drdid_panel(np.repeat(dy, w), np.repeat(d, w), np.repeat(x, w, axis=0))
    assert weighted.att == pytest.approx(repeated.att, abs=1e-9)


def test_rows_of_a_unit_share_a_cluster():
    # repeated cross-sections where unit 0 is surveyed in both rounds: its two rows are one cluster
    rng = np.random.default_rng(5)
    d, post = rng.integers(0, 2, 50).astype(float), np.tile([0.0, 1.0], 25)
    d[1] = d[0]
    y = d * post + rng.normal(size=50)
    unit = np.arange(50)
    unit[1] = 0
    rows = drdid_rc(y, post, d)
    units = drdid_rc(y, post, d, cluster=unit)
    assert units.n_clusters == 49 and rows.n_clusters == 50
    assert units.att == rows.att
    sums = np.bincount(np.unique(unit, return_inverse=True)[1], weights=rows.influence)
    assert units.std_error == pytest.approx(math.sqrt(49 / 48 * np.sum(sums**2)), rel=1e-12)
    assert units.std_error != pytest.approx(rows.std_error, rel=1e-6)


def test_controls_at_the_trim_bound_get_no_weight():
    dy, d, x = _small_panel()
    fit = drdid_panel(dy, d, x, trim=0.6)
    assert fit.n_trimmed == int(((d == 0) & (fit.propensity >= 0.6)).sum()) > 0
    assert fit.n_control == int((d == 0).sum()) - fit.n_trimmed


def test_a_constant_treatment_is_refused():
    with pytest.raises(DesignError, match="treatment: must be 0/1 with both treated and control"):
        drdid_panel(np.zeros(5), np.ones(5))


def test_treated_units_outside_the_controls_range_are_refused():
    # no odds weights on the controls can reproduce a treated mean above every control's value
    x = np.r_[np.linspace(0, 1, 20), np.linspace(2, 3, 10)][:, None]
    d = np.r_[np.zeros(20), np.ones(10)]
    with pytest.raises(DesignError, match="does not converge"):
        drdid_panel(np.zeros(30), d, x)
