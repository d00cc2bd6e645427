"""Propensity-score matching: the estimator (:mod:`.estimator`), the matching design it fits
(:mod:`.matcher`, imported on first use: it loads the numba kernels) and the variance pieces
(:mod:`.variance`)."""

from .estimator import MatchingEstimator, matching_option_problem

__all__ = ["MatchingEstimator", "matching_option_problem"]
