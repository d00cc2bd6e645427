"""Simulated data with known causal effects: the returnee cohort (:mod:`.cohort`, the package's
embedded default data), a survey drawn from it with unequal selection probabilities
(:mod:`.survey`) and a panel of returnees surveyed in several rounds (:mod:`.panel`)."""

from .cohort import COUNTRIES, PILOT_COUNTRIES, SimulatedCohort, simulate_returnees
from .panel import simulate_returnee_panel
from .potential import OUTCOMES, TREATMENTS, TRUTHS
from .survey import SURVEY_INCLUSION, draw_survey_sample

__all__ = [
    "COUNTRIES",
    "OUTCOMES",
    "PILOT_COUNTRIES",
    "SURVEY_INCLUSION",
    "TREATMENTS",
    "TRUTHS",
    "SimulatedCohort",
    "draw_survey_sample",
    "simulate_returnee_panel",
    "simulate_returnees",
]
