"""A survey of the simulated cohort with unequal selection probabilities and its sampling weights:
the data on which weighted estimates (``weights: COLUMN``) recover the population's effects and
unweighted ones do not."""

from __future__ import annotations

import numpy as np

from .cohort import SimulatedCohort

# the sampling design of :func:`draw_survey_sample`: inclusion probability by vulnerability
SURVEY_INCLUSION = {1: 0.9, 0: 0.15}


def draw_survey_sample(cohort: SimulatedCohort, seed: int = 0) -> SimulatedCohort:
    """A survey of a simulated cohort with unequal selection probabilities.

    Design: stratified Bernoulli sampling by vulnerability, as surveys of returnees oversample the
    vulnerable to report on them: a vulnerable returnee is selected with probability 0.9, any
    other with probability 0.15 (:data:`SURVEY_INCLUSION`), independently. The sample carries
    ``sampling_weight`` = 1 / (selection probability) and ``sampling_stratum``. Mentoring helps
    vulnerable returnees more, so the unweighted sample over-represents the larger effects: its
    ATT exceeds the cohort's (the population's), which the weighted estimates recover.

    Parameters
    ----------
    cohort : SimulatedCohort
        The population (see :func:`simulate_returnees`).
    seed : int
        Seed of the selection draws.

    Returns
    -------
    SimulatedCohort
        The selected rows (the cohort's index kept), their individual effects, and as ``truth``
        the population's exact effects (``cohort.truth``).
    """
    rng = np.random.default_rng([seed, 1])
    vulnerable = cohort.data["vulnerable"].to_numpy()
    probability = np.where(vulnerable == 1, SURVEY_INCLUSION[1], SURVEY_INCLUSION[0])
    chosen = rng.random(probability.size) < probability
    data = cohort.data.loc[chosen].copy()
    data["sampling_weight"] = 1.0 / probability[chosen]
    data["sampling_stratum"] = np.where(vulnerable[chosen] == 1, "vulnerable", "other")
    effects = cohort.individual_effects.loc[chosen]
    return SimulatedCohort(data=data, truth=cohort.truth, individual_effects=effects, seed=seed)
