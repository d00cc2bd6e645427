"""The unadjusted difference in means: the reference point every adjusted estimate is read against.

Standard error: Welch's (unequal variances); with clusters, the cluster-robust (Liang-Zeger)
sandwich of the least-squares regression of Y on (1, T).
"""

from __future__ import annotations

import numpy as np

from ..results import Effect
from ..stats.regression import matched_regression
from ..stats.sandwich import sandwich_se, welch_se
from ._base import EffectEstimator, Estimand, EstimationData


class NaiveEstimator(EffectEstimator):
    """Difference in means between treated and control units, no adjustment.

    Parameters
    ----------
    estimand : {"ATT", "ATC", "ATE"}
        Recorded with the effect (the unadjusted difference estimates none of them without
        randomisation; it is reported as the reference point for the study's estimand).
    """

    name = "naive"
    label = "Naive difference"

    def __init__(self, *, estimand: Estimand = "ATT") -> None:
        self.estimand = estimand

    def _estimate(self, data: EstimationData) -> list[Effect]:
        t = data.t
        effects = []
        for j, outcome in enumerate(data.outcomes):
            y = data.y[:, j]
            estimate, psi = matched_regression(y, t, np.ones(y.size), "ATE")
            if data.cluster is None:
                se, se_type = welch_se(y, t), "Welch"
            else:
                se, se_type = sandwich_se(psi, data.cluster), f"cluster-robust by {data.cluster_name}"
            effects.append(
                Effect(
                    outcome=outcome,
                    method=self.name,
                    estimand=self.estimand,
                    estimate=estimate,
                    std_error=se,
                    n_treated=int(t.sum()),
                    n_control=int((1 - t).sum()),
                    se_type=se_type,
                    notes=("unadjusted difference in means",),
                )
            )
        return effects
