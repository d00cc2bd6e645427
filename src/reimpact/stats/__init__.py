"""Variance estimators, each a small function with its formula and reference: sandwich variances
(:mod:`.sandwich`), regression in the matched sample (:mod:`.regression`) and the Abadie-Imbens
variance of matching (:mod:`.abadie_imbens`, which loads numba kernels on import)."""
