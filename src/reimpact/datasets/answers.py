"""Raw survey answers of the simulated cohort, coded as a KoBo/ODK export holds them."""

from __future__ import annotations

from typing import Any

import numpy as np

from .outcomes import BLANK, DONT_KNOW
from .text import text_column

_YES_NO = ("no", "yes", "dont_know")


def raw_answers(points: np.ndarray, indicators: list, missing: np.ndarray) -> dict[str, Any]:
    """Raw survey answers as a KoBo/ODK export holds them: 1-5 scales, 'yes'/'no', missing, and
    'don't know' codes (98 on scales, 'dont_know' on yes/no questions); one column per item.

    ``points`` holds every answer's point on its item's scale (items x n: 0-4 on a 5-point item,
    1 for a good answer to a yes/no item), ``missing`` the missing-answer codes (items x n).
    """
    raw = {}
    for j, ind in enumerate(indicators):
        if ind.coding in ("yes_good", "yes_bad"):
            yes = points[j] if ind.coding == "yes_good" else 1 - points[j]
            codes = np.where(missing[j] == DONT_KNOW, 2, np.where(missing[j] == BLANK, -1, yes))
            answers = text_column(codes, _YES_NO)
        else:
            level = points[j].astype(int) + 1
            if ind.coding == "agree5_reversed":
                level = 6 - level
            answers = level.astype(float)
            answers[missing[j] == BLANK] = np.nan
            answers[missing[j] == DONT_KNOW] = 98
        raw[ind.source] = answers
    return raw
