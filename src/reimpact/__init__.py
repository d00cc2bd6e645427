"""reimpact: causal impact evaluation of reintegration assistance for returning migrants.

Heavy dependencies (scikit-learn, numba kernels, dowhy, econml) load only when the parts that use
them are first used, so ``import reimpact`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Study": "study",
    "load_study": "study",
    "ReimpactError": "exceptions",
    "StudyError": "exceptions",
    "DataError": "exceptions",
    "DesignError": "exceptions",
    "SchemeError": "exceptions",
    "Effect": "results",
    "EffectTable": "results",
    "simulate_returnees": "datasets",
    "score": "scoring",
    "load_scheme": "scoring",
    "derive_weights": "scoring",
    "prepare_sample": "data",
    "read_table": "data",
    "run_study": "analysis",
    "MatchingEstimator": "matching",
    "IPWEstimator": "weighting",
    "AIPWEstimator": "doubly_robust",
    "PropensityModel": "propensity",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'reimpact' has no attribute '{name}'")
