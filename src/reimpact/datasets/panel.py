"""A simulated returnee panel with a known effect path: repeated survey rounds of the same returnees.

Round 0 is a baseline survey at return, before any assistance; rounds 1, 2, 3 follow about 6, 12
and 18 months after return. Economic support starts after the baseline and its effect grows, then
partly fades (:data:`EFFECT_PATH`, larger for returnees without work before return). Selection into
support depends on the observed covariates *and on an unobserved, time-invariant trait* (drive,
networks) that also raises every score in every round: a cross-sectional comparison of a follow-up
round, however well it adjusts for the observed covariates, attributes part of that trait to the
support, while the change since the baseline removes it. The scores' trends over rounds depend on
observed covariates only (employment before return, vulnerability), so parallel trends hold
conditional on the covariates: the setting of doubly robust difference-in-differences.

Every returnee-round's potential scores with and without support share their noise, so the exact
effect of every row is known (``individual_effects``; zero in the baseline round) and the true ATT
of any round is the mean over its treated rows. About 8% of returnees miss each follow-up round,
at random. The data are simulated; the separate builtin ``simulated-returnees-panel`` leaves the
cross-sectional cohort and its numbers unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .truth import SimulatedCohort, truth_table

ROUNDS = (0, 1, 2, 3)
PANEL_OUTCOMES = ("composite_score", "economic_score", "social_score", "psychosocial_score")
# effect of economic support on the latent (economic, social, psychosocial) levels, by round
EFFECT_PATH = np.array([
    [0.000, 0.000, 0.000],
    [0.040, 0.015, 0.020],
    [0.070, 0.030, 0.030],
    [0.055, 0.030, 0.025],
])  # fmt: skip
_TRAIT_LEVEL = np.array([0.040, 0.020, 0.030])  # the unobserved trait's effect on every round's level
_PANEL_COUNTRIES = ("GIN", "SEN", "MAR", "MLI", "CIV", "NGA")


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_returnee_panel(n: int = 3000, seed: int = 0) -> SimulatedCohort:
    """Simulate a panel of returnees surveyed at baseline and in three follow-up rounds.

    One row per returnee and round (``returnee_id``, ``survey_round`` 0-3, ``months_since_return``),
    with the covariates of :func:`~reimpact.datasets.simulate_returnees` that matter here (age,
    sex, education, household size, country, return type, vulnerability, employment before
    return), the treatment ``economic_support`` (the same in every round of a returnee; received
    after the baseline) and the four reintegration scores. See :mod:`reimpact.datasets.panel`
    for the data-generating process.

    Parameters
    ----------
    n : int
        Number of returnees (at least 50); the panel has about 3.8 rows per returnee.
    seed : int
        Seed of the random generator.

    Returns
    -------
    SimulatedCohort
        ``data`` (long: one row per returnee and round surveyed), ``individual_effects`` (the exact
        effect of economic support on every score of every row), ``truth`` (over all rows) and
        the ``seed``.

    Raises
    ------
    ValueError
        When ``n`` is below 50.
    """
    if n < 50:
        raise ValueError("n must be at least 50")
    rng = np.random.default_rng(seed)
    female = rng.random(n) < 0.2
    age = np.clip(np.round(18 + rng.gamma(3.0, 3.6, n)), 18, 70)
    education = rng.choice(4, size=n, p=[0.25, 0.35, 0.30, 0.10])
    forced = rng.random(n) < 0.3
    vulnerable = rng.random(n) < _logistic(-1.5 + 0.6 * female + 0.5 * forced)
    employed = rng.random(n) < _logistic(-0.4 + 0.35 * education - 0.6 * vulnerable)
    country = rng.choice(len(_PANEL_COUNTRIES), size=n)
    household = 1 + rng.poisson(4.0, n)
    trait = rng.normal(size=n)  # unobserved, time-invariant
    support = rng.random(n) < _logistic(
        -0.6 + 0.25 * education + 0.4 * employed - 0.4 * vulnerable - 0.3 * forced + 0.9 * trait
    )
    level = (
        0.42
        + np.outer(0.02 * education + 0.05 * employed - 0.05 * vulnerable, [1.0, 0.4, 0.5])
        + np.outer(0.03 * (country - 2.5) / 2.5, [1.0, 1.0, 0.5])
        + np.outer(trait, _TRAIT_LEVEL)
    )
    # trends by round that depend on observed covariates only: conditional parallel trends
    trend = np.outer(0.012 + 0.010 * employed - 0.008 * vulnerable + 0.002 * education, [1.0, 0.8, 1.0])
    gain = 1.0 + 0.5 * (1 - employed)  # support matters more to those without work before return
    rows, effects = [], []
    for r in ROUNDS:
        seen = np.ones(n, bool) if r == 0 else rng.random(n) > 0.08
        noise = rng.normal(scale=0.06, size=(n, 3))
        untreated = level + r * trend + noise
        treated = untreated + np.outer(gain, EFFECT_PATH[r])
        y0 = np.clip(untreated, 0.0, 1.0)
        y1 = np.clip(treated, 0.0, 1.0)
        observed = np.where(support[:, None], y1, y0)
        months = np.clip(6 * r + rng.integers(-2, 3, n), 1, None) if r else rng.integers(0, 2, n)
        frame = pd.DataFrame(
            {
                "returnee_id": np.arange(1, n + 1),
                "survey_round": r,
                "months_since_return": months,
                "age": age + np.floor(months / 12),
                "sex": np.where(female, "female", "male"),
                "education": np.asarray(["none", "primary", "secondary", "tertiary"])[education],
                "household_size": household + (rng.random(n) < 0.1 * r),
                "country": np.asarray(_PANEL_COUNTRIES)[country],
                "return_type": np.where(forced, "forced", "voluntary"),
                "vulnerable": vulnerable.astype(int),
                "employed_before_return": employed.astype(int),
                "economic_support": support.astype(int),
                "economic_score": observed[:, 0],
                "social_score": observed[:, 1],
                "psychosocial_score": observed[:, 2],
                "composite_score": observed.mean(axis=1),
            }
        )
        effect = y1 - y0
        effects.append(np.column_stack([effect.mean(axis=1), effect])[seen])
        rows.append(frame.loc[seen])
    data = pd.concat(rows, ignore_index=True)
    data = data.sort_values(["returnee_id", "survey_round"], kind="stable")
    order = data.index.to_numpy()
    data = data.reset_index(drop=True)
    columns = pd.MultiIndex.from_tuples(
        [("economic_support", outcome) for outcome in PANEL_OUTCOMES], names=["treatment", "outcome"]
    )
    individual = pd.DataFrame(np.vstack(effects)[order], columns=columns)
    return SimulatedCohort(
        data=data, truth=truth_table(data, individual, None), individual_effects=individual, seed=seed
    )
