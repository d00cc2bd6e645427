"""Overlap of the propensity scores: none at all (an error) and poor overlap for the estimand (a
warning in the report)."""

from __future__ import annotations

import numpy as np

from ..exceptions import DesignError


def check_overlap(scores: np.ndarray, treated: np.ndarray) -> None:
    """No overlap at all: the score ranges of the two groups do not intersect."""
    e1, e0 = scores[treated == 1], scores[treated == 0]
    if e1.min() > e0.max() or e0.min() > e1.max():
        raise DesignError(
            "propensity",
            "no overlap: the propensity scores of treated and control units do not intersect, so "
            "no comparison is possible; restrict the population or revise the covariates",
        )


def poor_overlap(e: np.ndarray, t: np.ndarray, estimand: str = "ATE") -> tuple[int, int] | None:
    """(units outside the other group's score range, units with extreme scores) when overlap is
    poor for ``estimand`` (more than 1% of the units outside or more than 5% extreme), else None.

    What counts depends on the estimand: for the ATT, treated units above the controls' highest
    score and scores above 0.95 (units hardly ever seen as controls); for the ATC, control units
    below the treated units' lowest score and scores below 0.05; for the ATE (and ATO), both.
    Controls with scores near 0 do not threaten the ATT: they simply get little weight.
    """
    e1, e0 = e[t == 1], e[t == 0]
    high = estimand != "ATC"
    low = estimand != "ATT"
    outside = 0
    extreme = 0
    if high:
        outside += int(np.sum(e1 > e0.max()) + np.sum(e0 > e1.max()) * (estimand != "ATT"))
        extreme += int(np.sum(e > 0.95))
    if low:
        outside += int(np.sum(e0 < e1.min()) + np.sum(e1 < e0.min()) * (estimand != "ATC"))
        extreme += int(np.sum(e < 0.05))
    if outside > 0.01 * e.size or extreme > 0.05 * e.size:
        return outside, extreme
    return None
