"""Diagnostics of the design: covariate balance before and after adjustment (:mod:`.balance`, a
table first, plots second) and overlap of the propensity scores (:mod:`.overlap`)."""
