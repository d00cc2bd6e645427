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


TRUTHS = (*TREATMENTS, "assistance_type", "n_activities")


@dataclass(frozen=True)
class PotentialOutcomes:
    """The cohort's observed outcomes and coded answers, and its potential outcomes.

    ``observed``: 6 x n (rows in the order of ``RESULT_COLUMNS``); ``answers``: the observed
    answers as :meth:`~reimpact.datasets.outcomes.OutcomeModel.evaluate` gives them;
    ``treatments``: the treatments of ``effects``, Y_i(1) - Y_i(0) of each on every outcome
    (rows ``(treatment, outcome)`` in the order of ``treatments`` x ``OUTCOMES``; the mentoring
    effect is missing outside the pilot countries); ``types``: the outcomes under each assistance
    type (types x 6 x n; None when not asked for); ``doses``: under each number of activities 1,
    2, 3 (3 x 6 x n; None when not asked for).
    """

    observed: np.ndarray
    answers: np.ndarray
    treatments: tuple[str, ...]
    effects: np.ndarray
    types: np.ndarray | None
    doses: np.ndarray | None


def potential_outcomes(
    model: OutcomeModel,
    observed: Assignment,
    social_draw: np.ndarray,
    pilot: np.ndarray,
    probability: dict[str, np.ndarray],
    truths: tuple[str, ...] = TRUTHS,
) -> PotentialOutcomes:
    """The observed and potential outcomes of the cohort (see the module docstring), those of
    ``truths`` only (any of :data:`TRUTHS`): each potential outcome left out is an evaluation of
    the whole cohort and an n x 6 array saved, and the others do not depend on it.

    ``social_draw`` is the social activity as drawn, before the programme rule; ``pilot`` marks
    the countries with mentoring; ``probability`` the activities' assignment probabilities (for
    the doses, :class:`~reimpact.datasets.assistance.DoseMeans`).
    """
    n = len(pilot)
    answers = np.empty((len(model.scheme.indicators), n), dtype=np.int8)
    seen = model.evaluate(observed, answers)
    treatments = tuple(t for t in TREATMENTS if t in truths)
    effects = np.empty((len(treatments), len(OUTCOMES), n))
    for treatment, switched in (("mentored", "mentored"), ("any_referral", "referral")):
        if treatment not in treatments:
            continue
        flag = getattr(observed, switched)
        other = model.evaluate(_replace(observed, switched, ~flag))
        rows = effects[treatments.index(treatment)]
        for row, result_row in zip(rows, _ROWS, strict=True):  # Y_i(1) - Y_i(0)
            np.subtract(seen[result_row], other[result_row], out=row, where=flag)
            np.subtract(other[result_row], seen[result_row], out=row, where=~flag)
        if switched == "mentored":  # no mentoring outside the pilot countries
            np.copyto(rows, np.nan, where=~pilot)
        del other

    support = "economic_support" in treatments
    types = np.empty((len(TYPE_ACTIVITIES), *seen.shape)) if "assistance_type" in truths else None
    doses = DoseMeans(probability, seen.shape) if "n_activities" in truths else None
    if support or types is not None or doses is not None:
        _versions(model, observed, social_draw, effects[-1] if support else None, types, doses)
    means = None if doses is None else doses.means()
    return PotentialOutcomes(seen, answers, treatments, effects.reshape(-1, n), types, means)


def _versions(
    model: OutcomeModel,
    observed: Assignment,
    social_draw: np.ndarray,
    with_support: np.ndarray | None,
    types: np.ndarray | None,
    doses: DoseMeans | None,
) -> None:
    """Evaluate the seven versions of the activities (referral and mentoring as observed) and
    fill what is asked for: ``with_support``, the effect of economic support (6 x n); ``types``,
    the outcomes under each assistance type; ``doses``, the means under each number of
    activities."""
    n, psycho = social_draw.size, observed.psychosocial
    without = None if with_support is None else np.empty((len(RESULT_COLUMNS), n))
    for version in VERSIONS:
        e, s, p = version
        constant = np.ones(n, dtype=bool)
        values = model.evaluate(
            Assignment(constant & e, observed.referral, observed.mentored, constant & p, constant & s)
        )
        if doses is not None:
            doses.add(version, values)
        social_as_drawn = social_draw == s
        for k, (type_e, type_p) in enumerate(TYPE_ACTIVITIES.values()):
            if types is not None and (type_e, type_p) == (e, p):
                rows = social_as_drawn if (e or p) else constant & s
                np.copyto(types[k], values, where=rows)
        if with_support is None or without is None:
            continue
        if e:  # economic support, social as drawn; the effect once Y(0) is known
            chosen = social_as_drawn & (psycho == p)
            for row, result_row in zip(with_support, _ROWS, strict=True):
                np.copyto(row, values[result_row], where=chosen)
        else:  # none, social as drawn or given
            np.copyto(without, values, where=((social_draw | ~psycho) == s) & (psycho == p))
    if with_support is not None and without is not None:
        with_support -= without[_ROWS]


def _replace(assigned: Assignment, name: str, value: np.ndarray) -> Assignment:
    fields = {f: getattr(assigned, f) for f in Assignment.__dataclass_fields__}
    return Assignment(**(fields | {name: value}))
