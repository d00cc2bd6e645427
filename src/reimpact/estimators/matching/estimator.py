"""Propensity-score matching as an effect estimator.

Matching, the adjusted estimates and their variances are those of :mod:`reimpact.matching` (Abadie
& Imbens 2006, 2011, 2016; Ho, Imai, King & Stuart 2007; Abadie & Spiess 2022); see there for the
formulas. Options are named as MatchIt names them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from ...design.propensity import PropensityKind
from ...exceptions import DesignError
from ...results import Effect
from .._base import EffectEstimator, Estimand, EstimationData, fit_scores

if TYPE_CHECKING:
    from .matcher import PropensityMatcher


def matching_option_problem(
    estimand: str, replace: bool, se: str, method: str = "nearest", ratio: int = 1
) -> tuple[str, str] | None:
    """The one place that says which matching options go together: (option, message) or None."""
    if method != "nearest" and replace:
        return "replace", f"'method: {method}' matches without replacement; set 'replace: false'"
    if method == "full" and ratio != 1:
        return "ratio", "full matching sets each subclass's size itself; remove 'ratio'"
    if method == "full" and se == "bootstrap":
        return "se", "the bootstrap is not available for full matching; use 'auto' (by subclass)"
    if estimand == "ATE" and not replace and method != "full":
        return "replace", (
            "the ATE by matching needs 'replace: true' or 'method: full' (pair matching without "
            "replacement targets the ATT or the ATC)"
        )
    if se == "abadie-imbens" and not replace:
        return "se", (
            "the Abadie-Imbens variance is for matching with replacement; use 'matched-sets' or "
            "set 'replace: true'"
        )
    if se == "matched-sets" and replace:
        return "se", (
            "matched sets overlap when matching with replacement; use 'abadie-imbens' (or 'auto') "
            "or set 'replace: false'"
        )
    if se == "bootstrap" and replace:
        return "se", (
            "the bootstrap is invalid for matching with replacement (Abadie & Imbens 2008); use "
            "'abadie-imbens'"
        )
    return None


class MatchingEstimator(EffectEstimator):
    """Nearest-neighbour propensity-score matching for the ATT, ATC or ATE.

    The defaults are the Abadie-Imbens matching estimator (as Stata's ``teffects psmatch``): one
    match with replacement, no caliper, bias-corrected, Abadie-Imbens standard errors with the
    estimated-score term. Greedy matching without replacement (``replace=False``) runs out of good
    controls when many units are treated; a caliper then drops focal units and changes the
    estimand (said in the effect's notes).

    Parameters
    ----------
    estimand : {"ATT", "ATC", "ATE"}
        The ATE needs ``replace=True`` (or ``method="full"``).
    method : {"nearest", "optimal", "full"}
        ``nearest``: greedy (without replacement) or nearest-neighbour (with) matching. ``optimal``:
        1:``ratio`` matching without replacement with the least total distance (Rosenbaum 1989;
        MatchIt's ``method = "optimal"``), for the ATT or ATC. ``full``: optimal full matching
        (Rosenbaum 1991; Hansen 2004; MatchIt's ``method = "full"``), every unit in a subclass with
        one treated and >= 1 controls or the reverse, weighted for the ATT, ATC or ATE as MatchIt
        weights it; see :mod:`reimpact.design.optimal`. Both need ``replace=False``.
    ratio : int
        Matches per focal unit (1-20).
    replace : bool
        Match with replacement.
    caliper : float or None
        Maximum distance, in standard deviations of the distance (``caliper_scale``).
    caliper_scale : {"pooled", "all"}
        Pooled SD of the two groups (Austin 2011) or SD over all units (MatchIt).
    order : {"largest", "smallest", "random", "data"}
        Order in which focal units are matched without replacement (MatchIt's ``m.order``).
    distance : {"logit", "propensity"}
        Match on the logit of the score or on the score.
    ties : {"all", "first"}
        With replacement, use every control tied at the k-th distance or only the first.
    se : {"auto", "abadie-imbens", "matched-sets", "bootstrap"}
        Variance estimator; ``auto`` is Abadie-Imbens with replacement, matched sets without.
    adjust : bool
        Regression adjustment: the Abadie-Imbens bias correction with replacement, g-computation
        in the matched sample without.
    n_bootstrap : int
        Bootstrap replicates (``se="bootstrap"``).
    propensity_model : {"logistic", "gradient_boosting", "firth", "cbps"}
        The score model fitted when ``fit`` is given no ``propensity``.
    random_state : int
        Seed of random order, bootstrap and gradient-boosting scores.
    verbose : bool
        Progress bars for the bootstrap.

    Attributes
    ----------
    effects_ : tuple of Effect
    weights_ : ndarray
        Matching weights of every unit.
    matcher_ : PropensityMatcher
        The matches (``matched_pairs()``, ``differences(y)``).
    matching_summary_ : dict
        Focal units, matched units and units dropped by the caliper.
    """

    name = "psm"
    label = "Matching"
    uses_design_score = True
    supports = frozenset({"strata", "sample_weight"})
    balance_label = "matched"
    renamed_params: ClassVar[dict[str, str]] = {
        "bias_correction": "use 'adjust' (default true: the Abadie-Imbens bias correction with "
        "replacement, a regression in the matched sample without)"
    }

    def __init__(
        self,
        *,
        estimand: Estimand = "ATT",
        method: Literal["nearest", "optimal", "full"] = "nearest",
        ratio: Annotated[int, Field(ge=1, le=20)] = 1,
        replace: bool = True,
        caliper: Annotated[float | None, Field(gt=0.0)] = None,
        caliper_scale: Literal["pooled", "all"] = "pooled",
        order: Literal["largest", "smallest", "random", "data"] = "largest",
        distance: Literal["logit", "propensity"] = "logit",
        ties: Literal["all", "first"] = "all",
        se: Literal["auto", "abadie-imbens", "matched-sets", "bootstrap"] = "auto",
        adjust: bool = True,
        n_bootstrap: Annotated[int, Field(ge=50, le=100_000)] = 499,
        propensity_model: PropensityKind = "logistic",
        random_state: int = 0,
        verbose: bool = False,
    ) -> None:
        self.estimand = estimand
        self.method = method
        self.ratio = ratio
        self.replace = replace
        self.caliper = caliper
        self.caliper_scale = caliper_scale
        self.order = order
        self.distance = distance
        self.ties = ties
        self.se = se
        self.adjust = adjust
        self.n_bootstrap = n_bootstrap
        self.propensity_model = propensity_model
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def option_problem(
        cls, params: dict[str, Any], estimand: str, cluster: str | None
    ) -> tuple[str, str] | None:
        """Which options go together (:func:`matching_option_problem`); the bootstrap resamples
        units, so it cannot be combined with ``cluster``."""
        problem = matching_option_problem(
            estimand, params["replace"], params["se"], params["method"], params["ratio"]
        )
        if problem is None and params["se"] == "bootstrap" and cluster is not None:
            problem = (
                "se",
                (
                    "the bootstrap resamples units, not clusters; with 'cluster' use 'auto' (two-way "
                    "cluster-robust by cluster and matched set)"
                ),
            )
        return problem

    def _check_params(self) -> None:
        super()._check_params()
        problem = matching_option_problem(self.estimand, self.replace, self.se, self.method, self.ratio)
        if problem is not None:
            raise DesignError(f"methods.psm.{problem[0]}", problem[1])

    def matcher(self) -> PropensityMatcher:
        """The (unfitted) matching design with these settings: ``fit(scores, t, ...)`` matches,
        ``estimate(y)`` and ``point_estimate(y)`` estimate (see :mod:`.matcher`). Only the
        settings the matcher takes are passed (a subclass may add its own)."""
        import inspect

        from .matcher import PropensityMatcher

        takes = inspect.signature(PropensityMatcher.__init__).parameters
        return PropensityMatcher(**{k: v for k, v in self.get_params().items() if k in takes})

    def _estimate(self, data: EstimationData) -> list[Effect]:
        scores = fit_scores(data, self.propensity_model, 0.01, self.random_state, self.estimand)
        # the estimated-score term of Abadie & Imbens (2016) is for the logistic MLE: a CBPS score
        # (its own influence terms) is treated as known, and the result says so
        design = scores.design if scores.influence is None else None
        matcher = self.matcher().fit(
            scores.scores, data.t, data.strata, data.x, design, data.feature_names,
            data.sample_weight,
        )  # fmt: skip
        self.matcher_ = matcher
        self.propensity_ = scores
        self.weights_ = matcher.weights_
        self.matching_summary_ = matcher.summary()
        return [
            matcher.estimate(data.y[:, j], name, data.cluster, data.cluster_name)
            for j, name in enumerate(data.outcomes)
        ]
