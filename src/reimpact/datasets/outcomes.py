"""The outcome model of the simulated cohort: every returnee's scores, satisfaction and
re-migration intention under any assignment of the treatments, with common random numbers.

A returnee's latent (economic, social, psychosocial) levels are a baseline plus the effects of
the activities, referral and mentoring received; each survey item's answer is its dimension's
level plus the item's offset and the returnee's item noise, cut into the answer scale; the
scores are the shipped scheme applied to the answers. Satisfaction and re-migration intention
follow from the treatments and the levels.

The cohort is evaluated under one assignment at a time: the latent levels and the answers in
blocks of rows (small arrays that stay in the processor's cache), the scores' weighted means on
whole columns through :func:`~reimpact.scoring.score_arrays`, with the answers laid out as
:func:`~reimpact.scoring.score` sees the exported ones, so that the simulated scores are exactly
(to the last bit) the scored answers of the data. Elementwise arithmetic gives the same bits
whatever the block; a matrix product need not: BLAS splits the rows between threads and adds the
last few rows of each part in another order, so the products see whole columns, as ``score``
does (``tests/test_datasets.py`` checks the bits).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..scoring import DIMENSIONS, SCORE_COLUMNS, Dimension, Scheme, score_arrays

# The rows of an evaluation: the scores (in the order of SCORE_COLUMNS), satisfaction, intention.
RESULT_COLUMNS = (*SCORE_COLUMNS.values(), "satisfaction", "remigration_intention")
# Effects on the latent level of each dimension (economic, social, psychosocial).
_EFFECT_ECONOMIC = np.array([0.070, 0.030, 0.035])
_EFFECT_REFERRAL = np.array([-0.050, -0.040, 0.000])
_EFFECT_MENTORING = np.array([0.030, 0.012, 0.035])
_EFFECT_SOCIAL_ACTIVITY = np.array([0.000, 0.030, 0.000])
_EFFECT_PSYCHOSOCIAL_ACTIVITY = np.array([0.000, 0.000, 0.030])
# All three activities at once: less time for work (more activities do not always raise scores).
_EFFECT_ALL_THREE = np.array([-0.045, 0.000, 0.000])
# An answer is given, left blank (3% of the answers) or "don't know" (1%).
ANSWERED, BLANK, DONT_KNOW = 0, 1, 2
_BLOCK = 8192  # rows per block of the elementwise steps


def logistic(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Assignment:
    """Who receives what (boolean arrays, one value per returnee)."""

    economic: np.ndarray
    referral: np.ndarray
    mentored: np.ndarray
    psychosocial: np.ndarray
    social: np.ndarray


@dataclass(frozen=True)
class ItemDraws:
    """The survey items' random parts: each item's offset, every answer's noise (items x n) and
    whether it is missing (items x n codes ``ANSWERED``, ``BLANK``, ``DONT_KNOW``)."""

    offsets: np.ndarray
    noise: np.ndarray
    missing: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, items: int) -> ItemDraws:
        """Draw the offsets, the noise N(0, 0.17^2) of every answer and the missing answers (a
        uniform draw u per answer: blank when u < 0.04, "don't know" when u < 0.01), in this
        order. The n x items draws are taken block by block (the same numbers as at once) and
        kept transposed (items x n), the missing answers as codes."""
        offsets = rng.uniform(-0.08, 0.08, items)
        noise = np.empty((items, n))
        for start in range(0, n, _BLOCK):
            noise[:, start : start + _BLOCK] = rng.normal(0.0, 0.17, (min(n - start, _BLOCK), items)).T
        missing = np.empty((items, n), dtype=np.int8)
        for start in range(0, n, _BLOCK):
            u = rng.random((min(n - start, _BLOCK), items)).T
            missing[:, start : start + _BLOCK] = np.where(
                u < 0.01, DONT_KNOW, np.where(u < 0.04, BLANK, ANSWERED)
            )
        return cls(offsets, noise, missing)


@dataclass(frozen=True)
class OutcomeModel:
    """Everything the outcomes depend on besides the assignment, one value per returnee.

    ``base`` holds the latent levels without any assistance (3 x n); ``economic_gain`` and
    ``mentoring_gain`` scale the effects of economic support and mentoring; ``sat_noise`` and
    ``remig_draw`` are the satisfaction noise and the uniform draw of the re-migration intention.
    """

    scheme: Scheme
    base: np.ndarray
    economic_gain: np.ndarray
    mentoring_gain: np.ndarray
    vulnerable: np.ndarray
    forced: np.ndarray
    sat_noise: np.ndarray
    remig_draw: np.ndarray
    items: ItemDraws

    @cached_property
    def _layout(self) -> dict[Dimension, tuple[Any, np.ndarray, np.ndarray, np.ndarray, int]]:
        """Per dimension: its items (positions in the scheme: a slice when they follow each
        other), which of them are yes/no items, which answers are missing (items x n), the
        answered share a_i of every returnee (the same under any assignment) and the first row
        of its coded answers in ``_coded``."""
        layout = {}
        first = 0
        for dim in DIMENSIONS:
            positions = [j for j, ind in enumerate(self.scheme.indicators) if ind.dimension == dim]
            rows: Any = positions
            if positions == list(range(positions[0], positions[-1] + 1)):
                rows = slice(positions[0], positions[-1] + 1)
            codings = [self.scheme.indicators[j].coding for j in positions]
            yes_no = np.flatnonzero([c in ("yes_good", "yes_bad") for c in codings])
            unanswered = self.items.missing[rows] != ANSWERED
            share = (~unanswered).T @ self.scheme.weights(dim)  # as the transposed coded answers
            layout[dim] = (rows, yes_no, unanswered, share, first)
            first += len(positions)
        return layout

    def evaluate(self, assigned: Assignment, answers: np.ndarray | None = None) -> np.ndarray:
        """Every returnee's outcomes under ``assigned``: the rows of a 6 x n array in the order
        of ``RESULT_COLUMNS``. With ``answers`` (items x n integers, the scheme's indicator
        order), every answer's point on its item's scale is written there too: 0-4 on a 5-point
        item (its value cut into fifths of [0, 1]), 1 for a yes/no item whose value exceeds 0.5,
        otherwise 0 (whatever the answer, where it is missing)."""
        n = self.base.shape[1]
        out = np.empty((len(RESULT_COLUMNS), n))
        coded = self._coded
        for start in range(0, n, _BLOCK):
            block = slice(start, min(n, start + _BLOCK))
            level = self._latent(block, assigned)
            self._other_outcomes(block, assigned, level, out)
            for d, dim in enumerate(DIMENSIONS):
                rows, yes_no, unanswered, _, first = self._layout[dim]
                value = level[d] + self.items.offsets[rows, None]
                value += self.items.noise[rows, block]
                # a 5-point item: its value cut into fifths of [0, 1]
                part = coded[first : first + len(unanswered), block]
                np.clip(value, 0.0, 0.9999, out=part)
                part *= 5
                np.floor(part, out=part)
                part /= 4.0
                part[yes_no] = value[yes_no] > 0.5  # a yes/no item: 1 above 0.5
                np.copyto(part, 0.0, where=unanswered[:, block])
        values, shares = {}, {}
        for dim in DIMENSIONS:
            rows, yes_no, unanswered, shares[dim], first = self._layout[dim]
            # each dimension's coded answers as the block of a frame, whose to_numpy() is its .T
            values[dim] = coded[first : first + len(unanswered)].T
            if answers is not None:
                scale = np.full((len(unanswered), 1), 4.0)
                scale[yes_no] = 1.0
                answers[rows] = values[dim].T * scale
        out[: len(SCORE_COLUMNS)] = score_arrays(values, shares, self.scheme, self.scheme.min_answered)
        return out

    @cached_property
    def _coded(self) -> np.ndarray:
        """A buffer for the coded answers (items x n, by dimension), used by every evaluation."""
        return np.empty((len(self.scheme.indicators), self.base.shape[1]))

    def _latent(self, block: slice, a: Assignment) -> np.ndarray:
        """The latent levels of the rows ``block`` (3 x rows)."""
        econ, ref, mentor = a.economic[block], a.referral[block], a.mentored[block]
        psycho, social = a.psychosocial[block], a.social[block]
        econ_effect = _EFFECT_ECONOMIC[:, None] * self.economic_gain[block]
        mentor_effect = _EFFECT_MENTORING[:, None] * self.mentoring_gain[block]
        return (
            self.base[:, block]
            + econ * econ_effect
            + ref * _EFFECT_REFERRAL[:, None]
            + mentor * mentor_effect
            + social * _EFFECT_SOCIAL_ACTIVITY[:, None]
            + psycho * _EFFECT_PSYCHOSOCIAL_ACTIVITY[:, None]
            + (econ & social & psycho) * _EFFECT_ALL_THREE[:, None]
        )

    def _other_outcomes(self, block: slice, a: Assignment, level: np.ndarray, out: np.ndarray) -> None:
        """Satisfaction (1-5) and re-migration intention (0/1) of the rows ``block``."""
        econ, ref, mentor = a.economic[block], a.referral[block], a.mentored[block]
        n_act = econ.astype(int) + a.social[block] + a.psychosocial[block]
        sat_latent = (
            3.3
            + 0.35 * econ
            + 0.25 * mentor
            - 0.55 * ref
            + 0.1 * n_act
            - 0.3 * self.vulnerable[block]
            + self.sat_noise[block]
        )
        remig_p = logistic(-0.2 - 8.0 * (level.mean(axis=0) - 0.5) + 0.4 * self.forced[block])
        out[len(SCORE_COLUMNS), block] = np.clip(np.round(sat_latent), 1, 5)
        out[len(SCORE_COLUMNS) + 1, block] = self.remig_draw[block] < remig_p
