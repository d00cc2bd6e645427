"""The design a study's methods share: which units can be compared, the covariates and the score
(:mod:`.comparison`), and the nearest-neighbour matching kernels (:mod:`.matching`, imported on
first use: it compiles numba kernels).

The names of :mod:`.comparison` load on first use, so that importing a module of this package
(``design.covariates`` from the estimators) does not import the study-file models, which import
the estimators (an import cycle)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .comparison import Comparison, FittedDesign, comparison, fit_design

__all__ = ["Comparison", "FittedDesign", "comparison", "fit_design"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        module = import_module(".comparison", __name__)
        # importing the submodule binds its name here: the function of the same name replaces it
        globals().update({n: getattr(module, n) for n in __all__})
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
