"""Balancing weights as functions of the propensity score, by estimand (treated weight, control
weight): ATE (1/e, 1/(1-e)); ATT (1, e/(1-e)); ATC ((1-e)/e, 1); ATO, overlap weights (1-e, e)
(Hirano, Imbens & Ridder 2003; Li, Morgan & Zaslavsky 2018), with their derivatives in the score
(for the estimated-score term of the IPW sandwich), and Kish's effective sample size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

WeightFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class WeightScheme:
    """A group's weight as a function of the score, and its derivative in the score."""

    weight: WeightFunction
    derivative: WeightFunction


_ONE = WeightScheme(np.ones_like, np.zeros_like)
_INV = WeightScheme(lambda e: 1.0 / e, lambda e: -1.0 / e**2)
_INV_C = WeightScheme(lambda e: 1.0 / (1.0 - e), lambda e: 1.0 / (1.0 - e) ** 2)
_ODDS = WeightScheme(lambda e: e / (1.0 - e), lambda e: 1.0 / (1.0 - e) ** 2)
_INV_ODDS = WeightScheme(lambda e: (1.0 - e) / e, lambda e: -1.0 / e**2)
_COMPLEMENT = WeightScheme(lambda e: 1.0 - e, lambda e: -np.ones_like(e))
_SELF = WeightScheme(lambda e: e, np.ones_like)

SCHEMES: dict[str, tuple[WeightScheme, WeightScheme]] = {
    "ATE": (_INV, _INV_C),
    "ATT": (_ONE, _ODDS),
    "ATC": (_INV_ODDS, _ONE),
    "ATO": (_COMPLEMENT, _SELF),
}


def balancing_weights(e: np.ndarray, t: np.ndarray, estimand: str) -> np.ndarray:
    """Each unit's weight for the estimand (ATE, ATT, ATC or ATO)."""
    treated_scheme, control_scheme = SCHEMES[estimand]
    return np.where(t == 1, treated_scheme.weight(e), control_scheme.weight(e))


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 (0 when every weight is 0)."""
    if not np.any(w):
        return 0.0
    return float(w.sum() ** 2 / np.sum(w**2))
