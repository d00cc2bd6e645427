"""Raw survey answers of the simulated cohort, coded as a KoBo/ODK export holds them."""

from __future__ import annotations

import numpy as np
import pandas as pd


def raw_answers(values: np.ndarray, indicators: list, missing_draw: np.ndarray) -> pd.DataFrame:
    """Raw survey answers as a KoBo/ODK export holds them: 1-5 scales, 'yes'/'no', missing, and
    'don't know' codes (98 on scales, 'dont_know' on yes/no questions)."""
    raw = {}
    for j, ind in enumerate(indicators):
        v = values[:, j]
        missing = missing_draw[:, j] < 0.04
        dont_know = missing_draw[:, j] < 0.01
        if ind.coding in ("yes_good", "yes_bad"):
            good = v > 0.5
            yes = good if ind.coding == "yes_good" else ~good
            answers = np.where(yes, "yes", "no").astype(object)
            answers[missing] = None
            answers[dont_know] = "dont_know"
        else:
            level = np.floor(np.clip(v, 0.0, 0.9999) * 5).astype(int) + 1
            if ind.coding == "agree5_reversed":
                level = 6 - level
            answers = level.astype(float)
            answers[missing] = np.nan
            answers[dont_know] = 98
        raw[ind.source] = answers
    return pd.DataFrame(raw)
