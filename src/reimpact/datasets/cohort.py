"""A simulated returnee cohort with known causal effects: the package's embedded default data.

The real Reintegration Sustainability Survey microdata are not public, so the examples, notebooks
and tests run on a cohort simulated from a structural model that encodes the published findings in
direction (see ``domain.md``) and realistic, confounded selection into assistance:

* economic support goes more often to the better-off (educated, employed before return, voluntary
  returns), who score higher anyway, so the naive difference overstates its (positive) effect;
* referral goes more often to the vulnerable (trafficking victims, health conditions, forced returns),
  who score lower anyway, so the naive difference overstates its (negative) effect;
* mentoring exists only in the pilot countries (GIN, SEN, MAR) and goes more often to the motivated.

Every returnee's survey answers are simulated under each value of each treatment with common random
numbers, scored with the shipped scheme, and the individual effects Y_i(1) - Y_i(0) give the exact
sample ATT, ATE and ATC. The effect of a treatment is its total effect with the other treatments held
at their observed values (a returnee left without economic support gets the social activity that the
programme gives everyone with no other activity, as in the observed data).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..scoring import DIMENSIONS, SCORE_COLUMNS, load_scheme
from .answers import raw_answers
from .assistance import (
    ASSISTANCE_TYPES,
    DELIVERY_MODES,
    TYPE_ACTIVITIES,
    activity_delivery,
    assistance_type,
)
from .outcomes import RESULT_COLUMNS, Assignment, ItemDraws, OutcomeModel, logistic
from .potential import OUTCOMES, TRUTHS, potential_outcomes
from .text import text_column
from .truth import SimulatedCohort, truth_table

COUNTRIES = (
    "GIN", "SEN", "MAR", "MLI", "CIV", "NGA", "GMB", "GHA", "CMR",
    "NER", "BFA", "ETH", "SOM", "SDN", "IRQ", "AFG", "BGD",
)  # fmt: skip
PILOT_COUNTRIES = ("GIN", "SEN", "MAR")
_COUNTRY_SHARE = np.array([12, 10, 7, 9, 8, 8, 5, 5, 4, 5, 4, 5, 3, 3, 4, 4, 2], dtype=float)
_COUNTRY_LEVEL = np.array([
    -0.02, 0.02, 0.04, -0.03, 0.0, 0.01, 0.0, 0.03, 0.0,
    -0.05, -0.04, -0.01, -0.06, -0.05, 0.02, -0.04, 0.01,
])  # fmt: skip
_HOST_REGIONS = ("North Africa", "West and Central Africa", "Europe", "Middle East", "Other")
_EDUCATION = ("none", "primary", "secondary", "tertiary")


def simulate_returnees(
    n: int = 20000, seed: int = 0, truths: Iterable[str] | None = None
) -> SimulatedCohort:
    """Simulate a cohort of assisted returnees whose true effects are known.

    Simulate ``n`` assisted returnees with covariates, assistance records, raw survey answers,
    scores, satisfaction and re-migration intention, and the exact effects of ``mentored``,
    ``any_referral`` and ``economic_support`` on every outcome. Same seed, same cohort. Selection
    into each treatment is confounded as described in :mod:`reimpact.datasets`, and a few
    covariate values (``education``, ``months_abroad``) are missing, as in real exports.

    Parameters
    ----------
    n : int
        Number of returnees (at least 50).
    seed : int
        Seed of the random generator.
    truths : iterable of str or None
        The treatments whose exact effects to compute, any of ``mentored``, ``any_referral``,
        ``economic_support``, ``assistance_type`` (``potential_types``) and ``n_activities``
        (``potential_doses``); None: all. The data are the same whichever are asked for; each
        left out saves evaluations of the outcome model over the cohort and its arrays (at a
        million returnees, all of them hold about 0.5 GB).

    Returns
    -------
    SimulatedCohort
        ``data`` (one row per returnee, as an export would hold it), ``truth`` (the exact ATT,
        ATE and ATC of every treatment on every outcome; columns ``treatment, outcome, estimand,
        effect``), ``individual_effects`` (Y_i(1) - Y_i(0), columns ``(treatment, outcome)``) and
        the ``seed``; ``truth_for(index)`` gives the truth of a sub-population.

    Raises
    ------
    ValueError
        When ``n`` is below 50 or ``truths`` names something else.
    """
    if n < 50:
        raise ValueError("n must be at least 50")
    wanted = TRUTHS if truths is None else tuple(truths)
    unknown = sorted(set(wanted) - set(TRUTHS))
    if unknown:
        raise ValueError(f"truths: unknown {unknown}; choose among {', '.join(TRUTHS)}")
    rng = np.random.default_rng(seed)
    scheme = load_scheme("illustrative")

    # -- covariates ------------------------------------------------------------------------------
    country_idx = rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_SHARE / _COUNTRY_SHARE.sum())
    pilot = np.isin(country_idx, [COUNTRIES.index(c) for c in PILOT_COUNTRIES])
    sex_female = rng.random(n) < 0.18
    age = np.clip(np.round(18 + rng.gamma(3.0, 3.6, n)), 18, 70).astype(int)
    edu_level = np.clip(
        rng.choice(4, size=n, p=[0.25, 0.35, 0.30, 0.10]) + (country_idx == 2) * (rng.random(n) < 0.3),
        0,
        3,
    ).astype(int)
    household_size = 1 + rng.poisson(4.0, n)
    months_abroad = np.clip(np.round(rng.lognormal(2.7, 0.8, n)), 1, 240)
    forced = rng.random(n) < logistic(-1.8 + 0.015 * months_abroad)
    trafficking = rng.random(n) < logistic(-2.6 + 0.8 * sex_female + 0.3 * forced)
    health = rng.random(n) < logistic(-2.4 + 0.03 * (age - 30))
    minor = (rng.random(n) < 0.06) & (age < 22)
    vulnerable = trafficking | health | minor
    employed_before = rng.random(n) < logistic(-0.4 + 0.35 * edu_level - 0.6 * vulnerable)
    months_since_return = rng.integers(3, 19, n)
    survey_round = rng.choice([1, 2, 3], size=n, p=[0.3, 0.4, 0.3])
    host_region = np.where(
        np.isin(country_idx, [COUNTRIES.index(c) for c in ("IRQ", "AFG", "BGD", "ETH", "SOM", "SDN")]),
        rng.choice(len(_HOST_REGIONS), size=n, p=[0.1, 0.02, 0.35, 0.45, 0.08]),
        rng.choice(len(_HOST_REGIONS), size=n, p=[0.5, 0.25, 0.2, 0.02, 0.03]),
    )

    # -- assistance ------------------------------------------------------------------------------
    level = _COUNTRY_LEVEL[country_idx]
    activity_p = {  # P(activity | x): economic, social (before the programme rule), psychosocial
        "economic": logistic(
            -0.3
            + 0.35 * edu_level
            + 0.6 * employed_before
            - 0.5 * vulnerable
            - 0.5 * forced
            + 4.0 * level
        ),
        "social": logistic(-0.9 + 0.9 * vulnerable + 0.3 * (household_size > 5)),
        "psychosocial": logistic(-1.2 + 1.2 * trafficking + 0.6 * health + 0.3 * forced),
    }
    economic = rng.random(n) < activity_p["economic"]
    social_draw = rng.random(n) < activity_p["social"]
    psychosocial_draw = rng.random(n) < activity_p["psychosocial"]
    referral = rng.random(n) < logistic(
        -1.1
        + 1.0 * trafficking
        + 0.9 * health
        + 0.5 * forced
        + 0.5 * minor
        - 0.15 * edu_level
        - 4.0 * level
    )
    mentored = pilot & (
        rng.random(n)
        < logistic(-1.6 + 0.25 * edu_level + 0.5 * ~forced + 0.3 * employed_before - 0.02 * (age - 30))
    )
    individual_level = rng.random(n) < logistic(0.8 + 0.3 * edu_level)
    unmet_need = 1.0 - employed_before  # economic support matters more to those without work
    # Everyone assisted gets at least one activity: social support when nothing else.
    social = social_draw | (~economic & ~psychosocial_draw)

    # -- outcomes under any treatment assignment, with common random numbers ---------------------
    dims = len(DIMENSIONS)
    base = (
        0.47
        + level[:, None]
        + np.outer(0.025 * edu_level, [1.0, 0.6, 0.3])
        + np.outer(0.07 * employed_before, [1.0, 0.3, 0.4])
        - np.outer(0.07 * vulnerable, [1.0, 0.8, 1.2])
        - np.outer(0.04 * forced, [1.0, 0.5, 1.0])
        + np.outer(0.003 * (months_since_return - 10), [1.0, 1.0, 1.0])
        - np.outer(0.008 * (household_size - 5), [0.6, 0.4, 0.0])
        + rng.multivariate_normal(np.zeros(dims), 0.004 * (0.5 + 0.5 * np.eye(dims)), n)
    )
    items = ItemDraws.draw(rng, n, len(scheme.indicators))
    model = OutcomeModel(
        scheme=scheme,
        base=np.ascontiguousarray(base.T),
        economic_gain=0.6 + 0.7 * unmet_need + 0.2 * individual_level,
        mentoring_gain=0.8 + 0.6 * vulnerable,
        vulnerable=vulnerable,
        forced=forced,
        sat_noise=rng.normal(0.0, 0.8, n),
        remig_draw=rng.random(n),
        items=items,
    )
    observed = Assignment(economic, referral, mentored, psychosocial_draw, social)
    potential = potential_outcomes(model, observed, social_draw, pilot, activity_p, wanted)
    del model, base

    # -- the observed data, as an export would hold it -------------------------------------------
    delivery = activity_delivery(
        rng, referral, {"economic": economic, "social": social, "psychosocial": psychosocial_draw}
    )
    # a few covariates are missing, as in real exports
    education = np.where(rng.random(n) < 0.02, -1, edu_level)
    columns = {
        "returnee_id": np.arange(1, n + 1),
        "country": text_column(country_idx, COUNTRIES),
        "pilot_country": pilot.astype(int),
        "host_region": text_column(host_region, _HOST_REGIONS),
        "sex": text_column(sex_female.astype(int), ("male", "female")),
        "age": age,
        "education": text_column(education, _EDUCATION),
        "household_size": household_size,
        "months_abroad": np.where(rng.random(n) < 0.015, np.nan, months_abroad),
        "return_type": text_column(forced.astype(int), ("voluntary", "forced")),
        "victim_of_trafficking": trafficking.astype(int),
        "health_condition": health.astype(int),
        "unaccompanied_minor": minor.astype(int),
        "vulnerable": vulnerable.astype(int),
        "employed_before_return": employed_before.astype(int),
        "months_since_return": months_since_return,
        "survey_round": survey_round,
        "economic_activity": economic.astype(int),
        "economic_level": text_column(
            np.where(economic, individual_level.astype(int), -1), ("community", "individual")
        ),
        "social_activity": social.astype(int),
        "psychosocial_activity": psychosocial_draw.astype(int),
        **{f"{kind}_delivery": text_column(codes, DELIVERY_MODES) for kind, codes in delivery.items()},
        "assistance_type": text_column(assistance_type(economic, psychosocial_draw), ASSISTANCE_TYPES),
        "n_activities": economic.astype(int) + social.astype(int) + psychosocial_draw.astype(int),
        "mentored": mentored.astype(int),
        "any_referral": referral.astype(int),
        "economic_support": economic.astype(int),
    }
    columns |= raw_answers(potential.answers, scheme.indicators, items.missing)
    del items
    # the scores are exactly those score() gives the raw answers (tests/test_datasets.py)
    observed_outcomes = dict(zip(RESULT_COLUMNS, potential.observed, strict=True))
    columns |= {column: observed_outcomes[column] for column in SCORE_COLUMNS.values()}
    for column in ("satisfaction", "remigration_intention"):
        columns[column] = observed_outcomes[column].astype(int)
    data = pd.DataFrame(columns, copy=False)  # one block per column: not copied into blocks by dtype
    del columns, observed_outcomes

    names = pd.MultiIndex.from_tuples(
        [(t, o) for t in potential.treatments for o in OUTCOMES], names=["treatment", "outcome"]
    )
    individual = pd.DataFrame(potential.effects.T, columns=names, copy=False)
    return SimulatedCohort(
        data=data,
        truth=truth_table(data, individual, None),
        individual_effects=individual,
        seed=seed,
        potential_types=_by_outcome(TYPE_ACTIVITIES, potential.types),
        potential_doses=_by_outcome(("1", "2", "3"), potential.doses),
    )


def _by_outcome(levels: Iterable[str], potential: np.ndarray | None) -> dict[str, dict[str, np.ndarray]]:
    """``potential[level][outcome]`` from each level's outcomes (rows in the order of
    ``RESULT_COLUMNS``); empty when they were not computed."""
    if potential is None:
        return {}
    return {
        level: dict(zip(RESULT_COLUMNS, rows, strict=True))
        for level, rows in zip(levels, potential, strict=True)
    }
