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

import numpy as np
import pandas as pd

from ..scoring import DIMENSIONS, SCORE_COLUMNS, dimension_scores, load_scheme, score
from .answers import raw_answers
from .assistance import (
    TYPE_ACTIVITIES,
    VERSIONS,
    activity_delivery,
    assistance_type,
    dose_potential,
)
from .truth import SimulatedCohort, truth_table

# np.where(condition, values, _NONE): the values, or None where the condition fails (an object
# array, as np.where(..., None) gives, spelled so that numpy's type stubs accept it)
_NONE = np.array(None, dtype=object)

COUNTRIES = (
    "GIN", "SEN", "MAR", "MLI", "CIV", "NGA", "GMB", "GHA", "CMR",
    "NER", "BFA", "ETH", "SOM", "SDN", "IRQ", "AFG", "BGD",
)  # fmt: skip
PILOT_COUNTRIES = ("GIN", "SEN", "MAR")
TREATMENTS = ("mentored", "any_referral", "economic_support")
OUTCOMES = (
    "composite_score", "economic_score", "social_score", "psychosocial_score",
    "satisfaction", "remigration_intention",
)  # fmt: skip
_COUNTRY_SHARE = np.array([12, 10, 7, 9, 8, 8, 5, 5, 4, 5, 4, 5, 3, 3, 4, 4, 2], dtype=float)
_COUNTRY_LEVEL = np.array([
    -0.02, 0.02, 0.04, -0.03, 0.0, 0.01, 0.0, 0.03, 0.0,
    -0.05, -0.04, -0.01, -0.06, -0.05, 0.02, -0.04, 0.01,
])  # fmt: skip
_HOST_REGIONS = ("North Africa", "West and Central Africa", "Europe", "Middle East", "Other")
_EDUCATION = ("none", "primary", "secondary", "tertiary")

# Effects on the latent level of each dimension (economic, social, psychosocial).
_EFFECT_ECONOMIC = np.array([0.070, 0.030, 0.035])
_EFFECT_REFERRAL = np.array([-0.050, -0.040, 0.000])
_EFFECT_MENTORING = np.array([0.030, 0.012, 0.035])
_EFFECT_SOCIAL_ACTIVITY = np.array([0.000, 0.030, 0.000])
_EFFECT_PSYCHOSOCIAL_ACTIVITY = np.array([0.000, 0.000, 0.030])
# All three activities at once: less time for work (more activities do not always raise scores).
_EFFECT_ALL_THREE = np.array([-0.045, 0.000, 0.000])


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_returnees(n: int = 20000, seed: int = 0) -> SimulatedCohort:
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
        When ``n`` is below 50.
    """
    if n < 50:
        raise ValueError("n must be at least 50")
    rng = np.random.default_rng(seed)
    scheme = load_scheme("illustrative")

    # -- covariates ------------------------------------------------------------------------------
    country_idx = rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_SHARE / _COUNTRY_SHARE.sum())
    country = np.asarray(COUNTRIES)[country_idx]
    pilot = np.isin(country, PILOT_COUNTRIES)
    sex_female = rng.random(n) < 0.18
    age = np.clip(np.round(18 + rng.gamma(3.0, 3.6, n)), 18, 70).astype(int)
    edu_level = np.clip(
        rng.choice(4, size=n, p=[0.25, 0.35, 0.30, 0.10]) + (country_idx == 2) * (rng.random(n) < 0.3),
        0,
        3,
    ).astype(int)
    household_size = 1 + rng.poisson(4.0, n)
    months_abroad = np.clip(np.round(rng.lognormal(2.7, 0.8, n)), 1, 240)
    forced = rng.random(n) < _logistic(-1.8 + 0.015 * months_abroad)
    trafficking = rng.random(n) < _logistic(-2.6 + 0.8 * sex_female + 0.3 * forced)
    health = rng.random(n) < _logistic(-2.4 + 0.03 * (age - 30))
    minor = (rng.random(n) < 0.06) & (age < 22)
    vulnerable = trafficking | health | minor
    employed_before = rng.random(n) < _logistic(-0.4 + 0.35 * edu_level - 0.6 * vulnerable)
    months_since_return = rng.integers(3, 19, n)
    survey_round = rng.choice([1, 2, 3], size=n, p=[0.3, 0.4, 0.3])
    host_region = np.where(
        np.isin(country, ("IRQ", "AFG", "BGD", "ETH", "SOM", "SDN")),
        rng.choice(_HOST_REGIONS, size=n, p=[0.1, 0.02, 0.35, 0.45, 0.08]),
        rng.choice(_HOST_REGIONS, size=n, p=[0.5, 0.25, 0.2, 0.02, 0.03]),
    )

    # -- assistance ------------------------------------------------------------------------------
    level = _COUNTRY_LEVEL[country_idx]
    activity_p = {  # P(activity | x): economic, social (before the programme rule), psychosocial
        "economic": _logistic(
            -0.3
            + 0.35 * edu_level
            + 0.6 * employed_before
            - 0.5 * vulnerable
            - 0.5 * forced
            + 4.0 * level
        ),
        "social": _logistic(-0.9 + 0.9 * vulnerable + 0.3 * (household_size > 5)),
        "psychosocial": _logistic(-1.2 + 1.2 * trafficking + 0.6 * health + 0.3 * forced),
    }
    economic = rng.random(n) < activity_p["economic"]
    social_draw = rng.random(n) < activity_p["social"]
    psychosocial_draw = rng.random(n) < activity_p["psychosocial"]
    referral = rng.random(n) < _logistic(
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
        < _logistic(-1.6 + 0.25 * edu_level + 0.5 * ~forced + 0.3 * employed_before - 0.02 * (age - 30))
    )
    individual_level = rng.random(n) < _logistic(0.8 + 0.3 * edu_level)
    unmet_need = 1.0 - employed_before  # economic support matters more to those without work

    def social_given(econ: np.ndarray, psycho: np.ndarray = psychosocial_draw) -> np.ndarray:
        # Everyone assisted gets at least one activity: social support when nothing else.
        return social_draw | (~econ & ~psycho)

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
    indicators = scheme.indicators
    offsets = rng.uniform(-0.08, 0.08, len(indicators))
    item_noise = rng.normal(0.0, 0.17, (n, len(indicators)))
    missing_draw = rng.random((n, len(indicators)))
    sat_noise = rng.normal(0.0, 0.8, n)
    remig_draw = rng.random(n)

    def latent(
        econ: np.ndarray, ref: np.ndarray, mentor: np.ndarray, psycho: np.ndarray, social: np.ndarray
    ) -> np.ndarray:
        econ_effect = _EFFECT_ECONOMIC * (0.6 + 0.7 * unmet_need + 0.2 * individual_level)[:, None]
        mentor_effect = _EFFECT_MENTORING * (0.8 + 0.6 * vulnerable)[:, None]
        return (
            base
            + econ[:, None] * econ_effect
            + ref[:, None] * _EFFECT_REFERRAL
            + mentor[:, None] * mentor_effect
            + social[:, None] * _EFFECT_SOCIAL_ACTIVITY
            + psycho[:, None] * _EFFECT_PSYCHOSOCIAL_ACTIVITY
            + (econ & social & psycho)[:, None] * _EFFECT_ALL_THREE
        )

    def item_values(lat: np.ndarray) -> np.ndarray:
        """Continuous item levels; answers are these values cut into the answer scale."""
        dim_of = np.array([DIMENSIONS.index(ind.dimension) for ind in indicators])
        return lat[:, dim_of] + offsets + item_noise

    def coded_answers(values: np.ndarray) -> pd.DataFrame:
        coded = {}
        for j, ind in enumerate(indicators):
            v = values[:, j]
            if ind.coding in ("yes_good", "yes_bad"):
                c = (v > 0.5).astype(float)
            else:
                c = np.floor(np.clip(v, 0.0, 0.9999) * 5) / 4.0
            c[missing_draw[:, j] < 0.04] = np.nan
            coded[ind.id] = c
        return pd.DataFrame(coded)

    def outcomes(
        econ: np.ndarray,
        ref: np.ndarray,
        mentor: np.ndarray,
        psycho: np.ndarray = psychosocial_draw,
        social: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        social = social_given(econ, psycho) if social is None else social
        lat = latent(econ, ref, mentor, psycho, social)
        scores = dimension_scores(coded_answers(item_values(lat)), scheme, scheme.min_answered)
        n_act = econ.astype(int) + social + psycho
        sat_latent = (
            3.3 + 0.35 * econ + 0.25 * mentor - 0.55 * ref + 0.1 * n_act - 0.3 * vulnerable + sat_noise
        )
        mean_level = lat.mean(axis=1)
        remig_p = _logistic(-0.2 - 8.0 * (mean_level - 0.5) + 0.4 * forced)
        result = {col: scores[col].to_numpy() for col in scores.columns}
        result["satisfaction"] = np.clip(np.round(sat_latent), 1, 5)
        result["remigration_intention"] = (remig_draw < remig_p).astype(float)
        return result

    observed = {"economic_support": economic, "any_referral": referral, "mentored": mentored}
    effects = {}
    for treatment in TREATMENTS:
        arms = []
        for value in (True, False):
            assignment = dict(observed)
            assignment[treatment] = np.full(n, value)
            arms.append(
                outcomes(
                    assignment["economic_support"],
                    assignment["any_referral"],
                    assignment["mentored"],
                )
            )
        for outcome in OUTCOMES:
            effect = arms[0][outcome] - arms[1][outcome]
            if treatment == "mentored":
                effect = np.where(pilot, effect, np.nan)  # no mentoring outside the pilot countries
            effects[(treatment, outcome)] = effect
    observed_outcomes = outcomes(economic, referral, mentored)
    potential_types = {
        kind: outcomes(np.full(n, econ), referral, mentored, np.full(n, psycho))
        for kind, (econ, psycho) in TYPE_ACTIVITIES.items()
    }
    versions = {  # (economic, social, psychosocial) activities received
        (e, s, p): outcomes(np.full(n, e), referral, mentored, np.full(n, p), np.full(n, s))
        for e, s, p in VERSIONS
    }
    potential_doses = dose_potential(versions, activity_p)

    # -- the observed data, as an export would hold it -------------------------------------------
    social = social_given(economic)
    data = pd.DataFrame(
        {
            "returnee_id": np.arange(1, n + 1),
            "country": country,
            "pilot_country": pilot.astype(int),
            "host_region": host_region,
            "sex": np.where(sex_female, "female", "male"),
            "age": age,
            "education": np.asarray(_EDUCATION, dtype=object)[edu_level],
            "household_size": household_size,
            "months_abroad": months_abroad,
            "return_type": np.where(forced, "forced", "voluntary"),
            "victim_of_trafficking": trafficking.astype(int),
            "health_condition": health.astype(int),
            "unaccompanied_minor": minor.astype(int),
            "vulnerable": vulnerable.astype(int),
            "employed_before_return": employed_before.astype(int),
            "months_since_return": months_since_return,
            "survey_round": survey_round,
        }
    )
    delivery = activity_delivery(
        rng, referral, {"economic": economic, "social": social, "psychosocial": psychosocial_draw}
    )
    data["economic_activity"] = economic.astype(int)
    data["economic_level"] = np.where(
        economic, np.where(individual_level, "individual", "community"), _NONE
    )
    data["social_activity"] = social.astype(int)
    data["psychosocial_activity"] = psychosocial_draw.astype(int)
    for kind, column in delivery.items():
        data[f"{kind}_delivery"] = column
    data["assistance_type"] = assistance_type(economic, psychosocial_draw)
    data["n_activities"] = data[["economic_activity", "social_activity", "psychosocial_activity"]].sum(
        axis=1
    )
    data["mentored"] = mentored.astype(int)
    data["any_referral"] = referral.astype(int)
    data["economic_support"] = economic.astype(int)

    lat = latent(economic, referral, mentored, psychosocial_draw, social)
    raw = raw_answers(item_values(lat), indicators, missing_draw)
    data = pd.concat([data, raw], axis=1)
    data = score(data, scheme)
    data["satisfaction"] = observed_outcomes["satisfaction"].astype(int)
    data["remigration_intention"] = observed_outcomes["remigration_intention"].astype(int)
    # A few covariates are missing, as in real exports.
    data.loc[rng.random(n) < 0.02, "education"] = None
    data["months_abroad"] = data["months_abroad"].mask(rng.random(n) < 0.015)

    columns = pd.MultiIndex.from_tuples(list(effects), names=["treatment", "outcome"])
    individual = pd.DataFrame(np.column_stack(list(effects.values())), columns=columns)
    for dim_col in SCORE_COLUMNS.values():
        assert np.allclose(data[dim_col], observed_outcomes[dim_col], equal_nan=True)
    return SimulatedCohort(
        data=data,
        truth=truth_table(data, individual, None),
        individual_effects=individual,
        seed=seed,
        potential_types=potential_types,
        potential_doses=potential_doses,
    )
