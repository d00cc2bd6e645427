"""Refutations through DoWhy, run on reimpact's own matching and AIPW estimators.

A DoWhy ``CausalModel`` is built from the analysis sample (the covariates' design columns as common
causes) and reimpact's estimators are wrapped as a DoWhy ``CausalEstimator``. DoWhy's refuters
perturb the data (a permuted placebo treatment, an added random common cause, a random subset, a
simulated unobserved common cause) and refit the wrapped estimator, which fits its propensity score
again on every perturbed data set, so no stale score is reused.

Each refuter runs ``simulations`` times with its own seed (one DoWhy simulation each, in parallel
with joblib), which gives the spread of the refuted estimates. DoWhy is handed the original
estimate (its value is known) rather than a refit of it, so only the simulations refit. A
logistic score refitted on perturbed data that keeps the treatment (every refuter but the placebo)
starts Newton from the original data's coefficients (a new random common cause from 0): the
optimum is the same, reached in fewer steps. The seeds come from one
``numpy.random.SeedSequence`` of the study's seed (one child stream per refuter), so that a seed
gives identical refutations however the simulations are split between workers. The rules:

* placebo treatment: passes when the 95% interval of the mean placebo effect contains 0;
* random common cause: passes when the mean refuted estimate is within one standard error of the
  original estimate;
* data subset (80%): passes when the mean refuted estimate is within one standard error;
* unobserved common cause (a confounder that flips ``treatment_strength`` of the treatments and
  shifts the outcome by ``outcome_strength`` standard deviations per unit): passes when the
  refuted estimate keeps the sign of the original.
"""

from __future__ import annotations

import logging
import math
import random
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._progress import progress

REFUTERS = ("placebo_treatment", "random_common_cause", "data_subset", "unobserved_common_cause")
RULES = {
    "placebo_treatment": "the 95% interval of the mean placebo effect contains 0",
    "random_common_cause": "the mean refuted estimate is within one standard error of the original",
    "data_subset": "the mean refuted estimate on 80% subsets is within one standard error",
    "unobserved_common_cause": "the refuted estimate keeps the sign of the original",
}


def _estimate(
    method: str,
    options: dict,
    data: pd.DataFrame,
    treatment: str,
    outcome: str,
    covariates: list[str],
    start: dict[str, float] | None = None,
) -> float:
    """Fit the score and the estimator on ``data`` and return the estimate (``options``: the
    estimator's parameters, :meth:`~reimpact.estimators.EffectEstimator.get_params`; ``start``:
    logistic coefficients by column, ``""`` the intercept, where Newton starts, 0 for others)."""
    from ..design.propensity import PropensityModel
    from ..estimators import AIPWEstimator, MatchingEstimator

    x = data[covariates].to_numpy(dtype=float)
    t = data[treatment].to_numpy().astype(np.int8)
    y = data[outcome].to_numpy(dtype=float)
    begin = None if start is None else np.array([start.get(c, 0.0) for c in ["", *covariates]])
    if method == "aipw":
        return AIPWEstimator(**options).nuisances(x, t, y, propensity_start=begin).influence(0)[0]
    firth = options.get("propensity_model") == "firth"
    model = PropensityModel("firth" if firth else "logistic", warm_start=True)
    if begin is not None:
        model.coef_ = begin  # where the warm-started fit begins
    score = model.fit(x, t).predict(x)
    return MatchingEstimator(**options).matcher().fit(score, t, covariates=x).point_estimate(y)


def _original_coefficients(
    method: str, options: dict, x: np.ndarray, t: np.ndarray, covariates: list[str]
) -> dict[str, float] | None:
    """The logistic score's coefficients on the original data by column (``""``: the intercept),
    where the refits start; None when the score is not a logistic model or does not converge."""
    from ..design.propensity import PropensityModel
    from ..estimators import AIPWEstimator
    from ..exceptions import DesignError

    learner = AIPWEstimator(**options).score_learner if method == "aipw" else "logistic"
    firth = options.get("propensity_model") == "firth"
    if learner not in ("logistic", "firth"):
        return None
    try:
        coef = PropensityModel("firth" if firth or learner == "firth" else "logistic").fit(x, t).coef_
    except DesignError:
        return None
    return dict(zip(["", *covariates], coef.tolist(), strict=True))


def _wrapper_class():
    """The DoWhy estimator class (built on first use, so that dowhy is imported lazily)."""
    from dowhy.causal_estimator import CausalEstimate, CausalEstimator

    class ReimpactEstimator(CausalEstimator):
        """reimpact's PSM or AIPW as a DoWhy estimator (refits everything on every call)."""

        def __init__(
            self,
            identified_estimand,
            method: str = "aipw",
            options: dict | None = None,
            start: dict[str, float] | None = None,
            **kwargs,
        ):
            super().__init__(identified_estimand=identified_estimand, **kwargs)
            self.method = method
            self.options = options or {}
            self.start = start

        def fit(self, data: pd.DataFrame, effect_modifier_names=None):
            self._set_effect_modifiers(data, effect_modifier_names)
            return self

        def estimate_effect(
            self, data: pd.DataFrame, treatment_value=1, control_value=0, target_units=None, **_
        ):
            self._target_units = target_units
            estimand = self._target_estimand
            value = _estimate(
                self.method,
                self.options,
                data,
                estimand.treatment_variable[0],
                estimand.outcome_variable[0],
                # in the data's column order: a set's order changes with the hash seed, and with it
                # the last digits of every refuted estimate
                [c for c in data.columns if c in set(estimand.get_adjustment_set())],
                self.start,
            )
            return self.known_estimate(data, value, treatment_value, control_value)

        def known_estimate(self, data: pd.DataFrame, value: float, treatment_value=1, control_value=0):
            """``value`` as this estimator's DoWhy estimate on ``data``."""
            estimand = self._target_estimand
            estimate = CausalEstimate(
                data=data,
                treatment_name=estimand.treatment_variable,
                outcome_name=estimand.outcome_variable,
                estimate=value,
                target_estimand=estimand,
                realized_estimand_expr=f"reimpact {self.method}",
                control_value=control_value,
                treatment_value=treatment_value,
            )
            estimate.add_estimator(self)
            return estimate

        def construct_symbolic_estimator(self, estimand):
            return f"reimpact {self.method}"

    return ReimpactEstimator


@dataclass(frozen=True)
class Refutation:
    """One refuter's outcome for one method and outcome."""

    refuter: str
    method: str
    outcome: str
    original: float
    original_se: float
    refuted: float
    refuted_ci_lower: float
    refuted_ci_upper: float
    simulations: int
    rule: str
    passed: bool

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def _run_batch(
    refuter: str,
    seeds: list[int],
    frame: pd.DataFrame,
    method: str,
    options: dict,
    covariates: list[str],
    strengths: tuple[float, float],
    subset: float,
    original: float,
    start: dict[str, float] | None,
) -> list[float]:
    """One DoWhy simulation of ``refuter`` per seed (in a worker process when run in parallel);
    DoWhy gets the ``original`` estimate as it is (its refuters use only its value and
    estimator), the refits start from ``start`` (a placebo's from the intercept-only fit)."""
    import dowhy.causal_refuters as refuters
    from dowhy import CausalModel
    from dowhy.causal_refuters.placebo_treatment_refuter import PlaceboType

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    model = CausalModel(data=frame, treatment="treatment", outcome="outcome", common_causes=covariates)
    estimand = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
    estimand.set_identifier_method("backdoor")
    if refuter == "placebo_treatment" and start is not None:
        # a permuted treatment is independent of the covariates and keeps its share: its score
        # model's optimum is near the intercept-only fit, logit of the treated share
        share = float(frame["treatment"].mean())
        start = {"": math.log(share / (1.0 - share))}
    wrapper = _wrapper_class()(estimand, method=method, options=options, start=start).fit(frame)
    wrapper._target_units = options.get("estimand", "ATT").lower()
    estimate = wrapper.known_estimate(frame, original)
    common = {"data": frame, "target_estimand": estimand, "estimate": estimate}
    values = []
    for seed in seeds:
        # DoWhy's refuters also draw from numpy's and Python's global states
        np.random.seed(seed)  # noqa: NPY002
        random.seed(seed)
        if refuter == "placebo_treatment":
            result = refuters.refute_placebo_treatment(
                treatment_names=["treatment"],
                num_simulations=1,
                placebo_type=PlaceboType.PERMUTE,
                random_state=seed,
                **common,
            )
        elif refuter == "random_common_cause":
            result = refuters.refute_random_common_cause(num_simulations=1, random_state=seed, **common)
        elif refuter == "data_subset":
            result = refuters.refute_data_subset(
                subset_fraction=subset, num_simulations=1, random_state=seed, **common
            )
        else:
            result = refuters.sensitivity_simulation(
                treatment_name=["treatment"],
                outcome_name=["outcome"],
                kappa_t=strengths[0],
                kappa_y=strengths[1] * float(frame["outcome"].std()),
                confounders_effect_on_treatment="binary_flip",
                confounders_effect_on_outcome="linear",
                **common,
            )
        values.append(float(result.new_effect))
    return values


def refute(
    design: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    outcome: str,
    method: str,
    options: dict,
    original: float,
    original_se: float,
    simulations: int = 20,
    n_jobs: int = 1,
    seed: int = 0,
    strengths: tuple[float, float] = (0.02, 0.1),
    subset: float = 0.8,
    verbose: bool = False,
) -> list[Refutation]:
    """Run the four DoWhy refuters on one method and outcome (``design``: covariate columns)."""
    from joblib import Parallel, delayed

    covariates = [f"w{j}" for j in range(design.shape[1])]
    frame = pd.DataFrame(design, columns=covariates).assign(treatment=t.astype(int), outcome=y)
    batches = []
    streams = np.random.SeedSequence(seed).spawn(len(REFUTERS))
    for refuter, stream in zip(REFUTERS, streams, strict=True):
        count = 1 if refuter == "unobserved_common_cause" else simulations
        seeds = [int(s) for s in stream.generate_state(count)]
        size = math.ceil(count / max(n_jobs, 1))
        batches += [(refuter, seeds[a : a + size]) for a in range(0, count, size)]
    start = _original_coefficients(method, options, design, t, covariates)
    results = Parallel(n_jobs=n_jobs)(
        delayed(_run_batch)(r, s, frame, method, options, covariates, strengths, subset, original, start)
        for r, s in progress(batches, f"refuting {method} on {outcome}", len(batches), verbose)
    )
    draws_by: dict[str, list[float]] = {r: [] for r in REFUTERS}
    for (refuter, _), values in zip(batches, results, strict=True):
        draws_by[refuter] += values
    out = []
    for refuter in REFUTERS:
        draws = np.array(draws_by[refuter])
        mean = float(draws.mean())
        half = 1.96 * float(draws.std(ddof=1)) / math.sqrt(draws.size) if draws.size > 1 else 0.0
        if refuter == "placebo_treatment":
            passed = mean - half <= 0 <= mean + half
        elif refuter == "unobserved_common_cause":
            passed = math.copysign(1, mean) == math.copysign(1, original)
        else:
            passed = abs(mean - original) <= original_se
        out.append(
            Refutation(
                refuter,
                method,
                outcome,
                original,
                original_se,
                mean,
                mean - half,
                mean + half,
                int(draws.size),
                RULES[refuter],
                bool(passed),
            )
        )
    return out
