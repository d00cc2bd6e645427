"""Every potential outcome the simulated cohort's truth needs, from the fewest evaluations of the
outcome model.

A returnee's outcomes depend on the assignment only through the five things received (economic,
social and psychosocial activity, referral, mentoring), so each potential outcome is one of ten
evaluations of the whole cohort: the observed assignment, the observed one with referral or with
mentoring switched, and the seven combinations of activities (the versions of
:data:`~reimpact.datasets.assistance.VERSIONS`) with referral and mentoring as observed. The
potential outcome of a treatment arm or an assistance type is, row by row, one of these:

* ``economic_support`` = 1: economic support, social support as drawn, psychosocial as observed;
  = 0: no economic support, social support as drawn or, without psychosocial support either, as
  the programme gives it to everyone with no other activity;
* ``any_referral`` or ``mentored`` = the observed value: the observed outcome, otherwise the
  evaluation with it switched;
* an assistance type (economic and psychosocial activity): the version with social support as
  drawn, or given when the type has neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .assistance import TYPE_ACTIVITIES, VERSIONS, DoseMeans
from .outcomes import RESULT_COLUMNS, Assignment, OutcomeModel

TREATMENTS = ("mentored", "any_referral", "economic_support")
OUTCOMES = (
    "composite_score", "economic_score", "social_score", "psychosocial_score",
    "satisfaction", "remigration_intention",
)  # fmt: skip
_ROWS = [RESULT_COLUMNS.index(outcome) for outcome in OUTCOMES]


@dataclass(frozen=True)
class PotentialOutcomes:
    """The cohort's observed outcomes and coded answers, and its potential outcomes.

    ``observed``: 6 x n (rows in the order of ``RESULT_COLUMNS``); ``answers``: the observed
    answers as :meth:`~reimpact.datasets.outcomes.OutcomeModel.evaluate` gives them;
    ``effects``: Y_i(1) - Y_i(0) of every treatment on every outcome (rows ``(treatment,
    outcome)`` in the order of ``TREATMENTS`` x ``OUTCOMES``; the mentoring effect is missing
    outside the pilot countries); ``types``: the outcomes under each assistance type (types x 6
    x n); ``doses``: under each number of activities 1, 2, 3 (3 x 6 x n).
    """

    observed: np.ndarray
    answers: np.ndarray
    effects: np.ndarray
    types: np.ndarray
    doses: np.ndarray


def potential_outcomes(
    model: OutcomeModel,
    observed: Assignment,
    social_draw: np.ndarray,
    pilot: np.ndarray,
    probability: dict[str, np.ndarray],
) -> PotentialOutcomes:
    """The observed and potential outcomes of the cohort (see the module docstring).

    ``social_draw`` is the social activity as drawn, before the programme rule; ``pilot`` marks
    the countries with mentoring; ``probability`` the activities' assignment probabilities (for
    the doses, :class:`~reimpact.datasets.assistance.DoseMeans`).
    """
    n = len(pilot)
    answers = np.empty((len(model.scheme.indicators), n), dtype=np.int8)
    seen = model.evaluate(observed, answers)
    effects = np.empty((len(TREATMENTS), len(OUTCOMES), n))
    for t, switched in enumerate(("mentored", "referral")):
        flag = getattr(observed, switched)
        other = model.evaluate(_replace(observed, switched, ~flag))
        for row, result_row in zip(effects[t], _ROWS, strict=True):  # Y_i(1) - Y_i(0)
            np.subtract(seen[result_row], other[result_row], out=row, where=flag)
            np.subtract(other[result_row], seen[result_row], out=row, where=~flag)
        if switched == "mentored":  # no mentoring outside the pilot countries
            np.copyto(effects[t], np.nan, where=~pilot)
    del other

    psycho = observed.psychosocial
    with_support = effects[2]  # economic support, social as drawn; the effect once Y(0) is known
    without = np.empty_like(seen)  # none, social as drawn or given
    types = np.empty((len(TYPE_ACTIVITIES), *seen.shape))
    doses = DoseMeans(probability, seen.shape)
    for version in VERSIONS:
        e, s, p = version
        constant = np.ones(n, dtype=bool)
        values = model.evaluate(
            Assignment(constant & e, observed.referral, observed.mentored, constant & p, constant & s)
        )
        doses.add(version, values)
        social_as_drawn = social_draw == s
        for k, (type_e, type_p) in enumerate(TYPE_ACTIVITIES.values()):
            if (type_e, type_p) == (e, p):
                rows = social_as_drawn if (e or p) else constant & s
                np.copyto(types[k], values, where=rows)
        if e:
            chosen = social_as_drawn & (psycho == p)
            for row, result_row in zip(with_support, _ROWS, strict=True):
                np.copyto(row, values[result_row], where=chosen)
        else:
            np.copyto(without, values, where=((social_draw | ~psycho) == s) & (psycho == p))
    with_support -= without[_ROWS]
    return PotentialOutcomes(seen, answers, effects.reshape(-1, n), types, doses.means())


def _replace(assigned: Assignment, name: str, value: np.ndarray) -> Assignment:
    fields = {f: getattr(assigned, f) for f in Assignment.__dataclass_fields__}
    return Assignment(**(fields | {name: value}))
