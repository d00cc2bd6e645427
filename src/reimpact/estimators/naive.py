"""The unadjusted difference in means: the reference point every adjusted estimate is read against.

Standard error: Welch's (unequal variances); with clusters, the cluster-robust (Liang-Zeger)
sandwich of the least-squares regression of Y on (1, T). With sampling weights s, the weighted
(Hajek) means sum_a s Y / sum_a s and the linearisation (sandwich) variance of their difference,
psi_i = s_i (Y_i - mu_a) / sum_a s for unit i of group a (signed), as R's ``survey::svyglm``
computes it for a with-replacement design.
"""

from __future__ import annotations

from ..results import Effect
from ..stats.regression import matched_regression
from ..stats.sandwich import sandwich_se, welch_se
from ._base import SAMPLING_NOTE, EffectEstimator, Estimand, EstimationData, weights_or_ones


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
    supports = frozenset({"sample_weight"})

    def __init__(self, *, estimand: Estimand = "ATT") -> None:
        self.estimand = estimand

    def _estimate(self, data: EstimationData) -> list[Effect]:
        t = data.t
        weighted = data.sample_weight is not None
        notes = ("unadjusted difference in means",) + ((SAMPLING_NOTE,) if weighted else ())
        effects = []
        for j, outcome in enumerate(data.outcomes):
            y = data.y[:, j]
            estimate, psi = matched_regression(y, t, weights_or_ones(data), "ATE")
            if data.cluster is not None:
                se, se_type = sandwich_se(psi, data.cluster), f"cluster-robust by {data.cluster_name}"
            elif weighted:
                se, se_type = sandwich_se(psi), "linearisation (sampling weights)"
            else:
                se, se_type = welch_se(y, t), "Welch"
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
                    notes=notes,
                )
            )
        return effects
