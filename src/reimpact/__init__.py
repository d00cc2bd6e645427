"""reimpact: causal impact evaluation of reintegration assistance for returning migrants.

Heavy dependencies (scikit-learn, numba kernels, dowhy, econml) load only when the parts that use
them are first used, so ``import reimpact`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # study files and data
    "Study": "config",
    "load_study": "config",
    "prepare_sample": "sample",
    "read_table": "io",
    "write_table": "io",
    "simulate_returnees": "datasets",
    "score": "scoring",
    "load_scheme": "scoring",
    "derive_weights": "scoring",
    # running a study
    "run_study": "pipeline",
    "StudyResults": "results",
    "write_outputs": "report.outputs",
    "run_many": "batch",
    "parallel_backend": "parallel",
    # estimators (one contract, one registry)
    "EffectEstimator": "estimators",
    "NaiveEstimator": "estimators",
    "MatchingEstimator": "estimators",
    "IPWEstimator": "estimators",
    "AIPWEstimator": "estimators",
    "EntropyBalancingEstimator": "estimators",
    "PropensityModel": "design.propensity",
    "METHODS": "registry",
    "register": "registry",
    "Effect": "results",
    "EffectTable": "results",
    # errors
    "ReimpactError": "exceptions",
    "StudyError": "exceptions",
    "DataError": "exceptions",
    "DesignError": "exceptions",
    "SchemeError": "exceptions",
    "DisclosureError": "exceptions",
    "NotFittedError": "exceptions",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'reimpact' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
