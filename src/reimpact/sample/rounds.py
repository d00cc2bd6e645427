"""Long data (``panel``): every row's covariates from its unit's first round surveyed.

In follow-up surveys the covariates are often asked at the first round only, and a covariate
measured after the assistance could be changed by it; either way the analysis adjusts for the
first round's values. They are copied to every row of the unit *before* the missing-data policy,
so a later round that left the covariates blank keeps its rows (``missing: drop``) and is not
imputed from other units (``missing: impute``); a value missing in the first round itself is
missing for every round of the unit.
"""

from __future__ import annotations

import pandas as pd


def first_round_covariates(
    frame: pd.DataFrame, unit: str, round_: str, columns: list[str]
) -> pd.DataFrame:
    """``frame`` with ``columns`` of every row replaced by those of its unit's first round (the
    lowest value of ``round_``); unchanged when the unit or round column is absent (the panel's
    own checks name it)."""
    if unit not in frame.columns or round_ not in frame.columns or not columns:
        return frame
    first = frame.sort_values(round_, kind="stable").drop_duplicates(unit).set_index(unit)[columns]
    values = first.loc[frame[unit]].set_axis(frame.index)
    return frame.assign(**{c: values[c] for c in columns})
