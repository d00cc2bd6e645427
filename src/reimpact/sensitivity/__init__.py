"""How strong would unobserved confounding have to be to change the conclusion?

* **E-values** (VanderWeele & Ding 2017, :mod:`.evalues`): the minimum strength of association, on
  the risk-ratio scale, that an unmeasured confounder would need with both treatment and outcome to
  explain the estimate (and the confidence limit closer to the null) away.
* **Rosenbaum bounds** for 1:1 matched pairs (Rosenbaum 2002, ch. 4, :mod:`.rosenbaum`): the upper
  bound on the one-sided p-value of Wilcoxon's signed-rank test when the odds of treatment of two
  matched units may differ by a factor Gamma, and the Gamma at which it crosses alpha.
* **Omitted-variable bounds** (Cinelli & Hazlett 2020, :mod:`.ovb`) on the regression-adjusted
  estimate: partial R^2 of the treatment with the outcome, robustness values, and bounds from
  benchmark covariates.
* **Subgroup effects** (:mod:`.heterogeneity`): AIPW within subgroups with Holm-adjusted p-values
  (:mod:`.multiplicity`), and CATE summaries.
* **Refutations** through DoWhy (:mod:`.refutation`).

The records of each check and :class:`SensitivityResults` are in :mod:`.results`. The refutation
and heterogeneity modules are not imported here: they pull in the estimators (and DoWhy, EconML).
"""

from __future__ import annotations

from .evalues import evalue, evalue_from_rr, pooled_sd
from .multiplicity import holm
from .ovb import bias_bound, omitted_variable_bounds, partial_r2, robustness_value
from .results import EValue, OmittedVariableBounds, RosenbaumBounds, SensitivityResults
from .rosenbaum import rosenbaum_bounds, signed_rank_upper_p

__all__ = [
    "EValue",
    "OmittedVariableBounds",
    "RosenbaumBounds",
    "SensitivityResults",
    "bias_bound",
    "evalue",
    "evalue_from_rr",
    "holm",
    "omitted_variable_bounds",
    "partial_r2",
    "pooled_sd",
    "robustness_value",
    "rosenbaum_bounds",
    "signed_rank_upper_p",
]
