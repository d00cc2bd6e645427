"""The sampling-weight column (``weights: COLUMN``): numeric, finite and positive on every row of
the analysis sample, checked once before anything is estimated."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config.study import Study
from ..exceptions import DataError
from .rules import check_numeric


def sampling_weights(study: Study, frame: pd.DataFrame) -> np.ndarray | None:
    """The analysis sample's sampling weights (None when the study has none).

    Raises :class:`DataError` for text, infinite, zero or negative weights: a zero weight says the
    unit is outside the population (filter it out with ``population``), a negative one is an
    export error; either would silently change the population the effect describes.
    """
    if study.weights is None:
        return None
    where = f"weights: column '{study.weights}'"
    check_numeric(frame[study.weights], where, "sampling weights")
    values = pd.to_numeric(frame[study.weights]).to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise DataError(
            where,
            f"{int(bad.sum())} rows hold zero, negative or infinite weights; sampling weights must "
            "be positive (leave out units outside the population with a 'population' filter)",
        )
    return values
