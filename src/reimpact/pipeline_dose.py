"""The analysis of a continuous dose (``treatment: {column: ..., kind: dose}`` with more than
``MAX_DOSE_LEVELS`` distinct values).

The sample, the separation rule and the covariate design are the binary ones, with "treated"
meaning a dose above the reference (default: the median dose of the rows read, then the largest
analysed dose at or below it, which splits the analysed units the same way); that split also
gives the overlap figure (P(dose above the reference | x)) and Table 1. The curve
mu(d) = E[Y(d)] is estimated on ``POINTS`` doses evenly spaced between the 5th and 95th
percentiles of the dose (the tails, where few units carry the fit, are left out, as in Kennedy et
al. 2017) by smoothing the naive, IPW and AIPW pseudo-outcomes
(:mod:`reimpact.estimators.continuous_dose`). The effects are the curve at the 10th, 25th, 75th
and 90th percentiles against the reference, each an ATE with the standard error of the
difference of the two points' influences. Balance compares the units above and at or below the
reference, unadjusted and under the stabilised dose weights P(D) / pi(D | X), which make the dose
independent of the covariates when the dose model is right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .diagnostics.balance import balance_table
from .estimators.continuous_dose import continuous_curve, dose_density
from .exceptions import DesignError
from .results import DesignSummary, Effect
from .results.dose import DoseResponse, curve_frame
from .sample.rules import dose_values

if TYPE_CHECKING:
    from .config.study import Study
    from .design.comparison import Comparison, FittedDesign
    from .pipeline_multi import MultiAnalysis
    from .sample import AnalysisSample

POINTS = 25
QUANTILES = (0.10, 0.25, 0.75, 0.90)
SE_TYPE = "influence function, local quadratic (bias-corrected)"
COVERAGE_NOTE = "a smoothed curve: the pointwise interval is approximate (see the warnings)"
COVERAGE_WARNING = (
    "The dose is continuous, so its curve is smoothed and the intervals of the curve and of its "
    "effects are approximate: in the package's checks they covered 85-93% rather than 95%, least "
    "at the ends of the dose range, where few units carry large weights."
)


def _weighted_quantiles(values: np.ndarray, s: np.ndarray, q: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    cum = (np.cumsum(s[order]) - 0.5 * s[order]) / s.sum()
    return np.interp(q, cum, values[order])


def continuous_effects(
    study: Study,
    x: np.ndarray,
    dose: np.ndarray,
    frame: pd.DataFrame,
    s: np.ndarray | None,
    reference: float,
) -> tuple[list[Effect], pd.DataFrame, dict[str, float]]:
    """Every outcome's curves (naive and the methods of the study), the effects at the quartile
    doses against the reference and the bandwidth of every curve."""
    weights = np.ones(dose.size) if s is None else s
    low, high = _weighted_quantiles(dose, weights, np.array([0.05, 0.95]))
    grid = np.linspace(low, high, POINTS)
    marks = _weighted_quantiles(dose, weights, np.array(QUANTILES))
    points = np.concatenate([grid, marks, [reference]])
    cluster = frame[study.cluster].to_numpy() if study.cluster else None
    aipw = getattr(study.methods, "aipw", None)
    folds = aipw.folds if aipw is not None else 5
    effects, curves, bandwidths = [], [], {}
    for outcome in study.outcomes:
        rows = frame[outcome].notna().to_numpy()
        y = frame[outcome].to_numpy(dtype=float)[rows]
        above = dose[rows] > reference
        if min(above.sum(), (~above).sum()) < 2:
            raise DesignError(
                f"outcomes: '{outcome}'",
                "is observed for fewer than 2 units on a side of the reference dose",
            )
        w = None if s is None else s[rows]
        g = None if cluster is None else cluster[rows]
        density = dose_density(x[rows], dose[rows], weights[rows], folds, study.seed)
        for method in ("naive", *study.methods.names):
            fit = continuous_curve(x[rows], dose[rows], y, method, points, w, folds, study.seed, density)
            bandwidths[f"{outcome}, {method}"] = fit.bandwidth
            se = fit.std_error(g)
            doses = [f"{d:.4g}" for d in grid]
            curves.append(curve_frame(outcome, method, doses, fit.estimate[:POINTS], se[:POINTS]))
            base = points.size - 1
            for j, mark in enumerate(marks, POINTS):
                effects.append(
                    Effect(
                        outcome=outcome,
                        method=method,
                        estimand="ATE",
                        estimate=float(fit.estimate[j] - fit.estimate[base]),
                        std_error=fit.contrast_se(j, base, g),
                        n_treated=int(above.sum()),
                        n_control=int((~above).sum()),
                        se_type=SE_TYPE if g is None else f"{SE_TYPE}, cluster-robust",
                        notes=(f"bandwidth {fit.bandwidth:.4g} (leave-one-value-out)", COVERAGE_NOTE),
                        contrast=f"{mark:.4g} vs {reference:.4g}",
                    )
                )
    return effects, pd.concat(curves, ignore_index=True), bandwidths


def analyse_continuous_dose(
    study: Study, sample: AnalysisSample, compared: Comparison, main: FittedDesign
) -> tuple[MultiAnalysis, None, None, DoseResponse]:
    """Curves, effects, balance and the design summary of a continuous dose, in the order of
    :func:`~reimpact.pipeline_multi.analyse_multivalued` (no generalised score, no pairs)."""
    x = main.covariates.matrix
    dose = dose_values(study, main.frame).to_numpy()
    # without a reference the split is at the median of the rows read: the largest dose at or
    # below it among the analysed units splits them the same way, and is a dose they have
    given = study.treatment.reference
    reference = float(dose[main.t == 0].max()) if given is None else float(given)  # type: ignore[arg-type]
    effects, curves, bandwidths = continuous_effects(
        study, x, dose, main.frame, main.sample_weight, reference
    )
    s = np.ones(dose.size) if main.sample_weight is None else main.sample_weight
    density, marginal, _ = dose_density(x, dose, s, 5, study.seed)
    weights = {"stabilised dose weights": marginal / density}
    balance = balance_table(
        main.frame, compared.covariates, compared.categorical, main.t, weights, "ATE",
        study.report.min_cell_size, main.sample_weight, compared.balance_terms(study, main.frame),
    )  # fmt: skip
    summary = DesignSummary(
        propensity_model="normal linear dose model (continuous dose)",
        clip=study.propensity.clip,
        n_bounded_below=0,
        n_bounded_above=0,
        trim=None,
        n_trimmed=0,
        separated_levels=compared.levels,
        collinear=list(main.covariates.collinear),
        dose={
            "kind": "continuous",
            "reference": reference,
            "bandwidths": bandwidths,
        },  # fmt: skip
    )
    analysis: MultiAnalysis = (
        main.frame, main.t, main.scores, summary, weights, balance, effects, None, [],
    )  # fmt: skip
    return analysis, None, None, DoseResponse(study.treatment.label, curves, None)
