"""The design a study's methods share: which units can be compared, the covariates and the score
(:mod:`.comparison`), and the nearest-neighbour matching kernels (:mod:`.matching`, imported on
first use: it compiles numba kernels)."""

from .comparison import Comparison, FittedDesign, comparison, fit_design

__all__ = ["Comparison", "FittedDesign", "comparison", "fit_design"]
