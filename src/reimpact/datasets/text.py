"""Text columns of the simulated data built from integer codes, without a Python string per row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def text_column(codes: np.ndarray, labels: tuple[str, ...]) -> Any:
    """The column whose row i is ``labels[codes[i]]``, missing where ``codes[i]`` is -1, in the
    type a frame gives such strings: pandas' default string type (Arrow-backed, pandas 3),
    built from an Arrow dictionary array; otherwise (pandas 2) an object array, as before."""
    dtype = pd.Series(np.array(["x"], dtype=object)).dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        indices = pa.array(codes.astype(np.int32), mask=codes < 0)
        strings = pa.DictionaryArray.from_arrays(indices, pa.array(labels, type=pa.large_string()))
        return pd.array(strings.cast(pa.large_string()), dtype=dtype)
    values = np.asarray((*labels, None), dtype=object)
    return values[np.where(codes < 0, len(labels), codes)]
