"""Coverage of the default 95% intervals on simulation designs from the literature and outside it.

Every design draws covariates, a treatment and potential outcomes with known individual effects;
the target is the *population* ATT, ATE or ATC, computed once on two million draws. The estimators
are built from a study file's defaults (``methods: {psm: {}, ipw: {}, aipw: {}}``, the study's
estimand and ``propensity.clip``) through :func:`reimpact.registry.build_estimator`, so the study
defaults are what is checked. The propensity and outcome models are the package's defaults
(logistic score, linear outcome models) on the covariates as observed.

Designs:

* ``kang_schafer``: Kang & Schafer (2007): Z ~ N(0, I_4), P(T=1|Z) = expit(-Z1 + 0.5 Z2 - 0.25 Z3 -
  0.1 Z4) (about half treated), Y(0) = 210 + 27.4 Z1 + 13.7 (Z2 + Z3 + Z4) + N(0, 1), a constant
  effect of 10; n = 1,000; the models see Z (correctly specified).
* ``half_treated``: five N(0, 1) covariates, about 50% treated, Y(0) linear, effect 1 + 0.5 X1;
  n = 2,000.
* ``nonlinear_outcome``: about 40% treated, Y(0) = X1 + X1^2 + sin(2 X2) + exp(X3 / 2) + N(0, 1),
  effect 1 + 0.5 X1^2; n = 2,000 (the linear outcome model is misspecified; the score is right).
* ``poor_overlap``: P(T=1|X) = expit(-0.5 + 2.5 X1 + 1.5 X2), many scores near 0 and 1; n = 1,000.
* ``heterogeneous``: effect 2 + 2 X1 with selection on X1, so the ATT, ATE and ATC differ
  (about 2.7, 2.0 and 1.3); run for each estimand (the ATE by matching with replacement);
  n = 2,000.
* ``clustered``: 100 sites of 20 units; a site effect enters the treatment (site-level
  assignment propensity) and the outcome (random intercept, SD 1); the study names the site as
  ``cluster``, so every estimator is cluster-robust; n = 2,000.
* ``austin``: Austin (2011, caliper study): nine N(0, 1) covariates, treatment log-odds
  -1.2 + log(1.25) x1..x3 + log(1.5) x4..x6 + log(1.75) x7..x9 (about 30% treated... with the
  intercept chosen here), outcome linear with the same strengths; n = 1,000.

    python benchmarks/coverage_study.py --reps 500 --seed 1     # the long run (README table)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reimpact.config.study import Study
from reimpact.design.covariates import CovariateDesign
from reimpact.design.propensity import estimate_propensity
from reimpact.diagnostics.overlap import poor_overlap
from reimpact.registry import METHODS, build_estimator


def _expit(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


@dataclass(frozen=True)
class Draw:
    x: np.ndarray
    t: np.ndarray
    y: np.ndarray
    tau: np.ndarray
    clusters: np.ndarray | None = None


def kang_schafer(n: int, rng: np.random.Generator) -> Draw:
    z = rng.normal(size=(n, 4))
    t = (rng.random(n) < _expit(-z[:, 0] + 0.5 * z[:, 1] - 0.25 * z[:, 2] - 0.1 * z[:, 3])).astype(
        np.int8
    )
    y0 = 210 + 27.4 * z[:, 0] + 13.7 * (z[:, 1] + z[:, 2] + z[:, 3]) + rng.normal(size=n)
    tau = np.full(n, 10.0)
    return Draw(z, t, y0 + t * tau, tau)


def half_treated(n: int, rng: np.random.Generator) -> Draw:
    x = rng.normal(size=(n, 5))
    t = (rng.random(n) < _expit(0.8 * x[:, 0] - 0.6 * x[:, 1] + 0.4 * x[:, 2])).astype(np.int8)
    y0 = x[:, 0] + x[:, 1] + 0.5 * x[:, 2] + 0.5 * x[:, 3] + rng.normal(size=n)
    tau = 1.0 + 0.5 * x[:, 0]
    return Draw(x, t, y0 + t * tau, tau)


def nonlinear_outcome(n: int, rng: np.random.Generator) -> Draw:
    x = rng.normal(size=(n, 4))
    t = (rng.random(n) < _expit(-0.4 + 0.7 * x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 2])).astype(np.int8)
    y0 = x[:, 0] + x[:, 0] ** 2 + np.sin(2 * x[:, 1]) + np.exp(x[:, 2] / 2) + rng.normal(size=n)
    tau = 1.0 + 0.5 * x[:, 0] ** 2
    return Draw(x, t, y0 + t * tau, tau)


def poor_overlap_design(n: int, rng: np.random.Generator) -> Draw:
    x = rng.normal(size=(n, 3))
    t = (rng.random(n) < _expit(-0.5 + 2.5 * x[:, 0] + 1.5 * x[:, 1])).astype(np.int8)
    y0 = 2 * x[:, 0] + x[:, 1] + x[:, 2] + rng.normal(size=n)
    tau = 1.0 + 0.5 * x[:, 0]
    return Draw(x, t, y0 + t * tau, tau)


def heterogeneous(n: int, rng: np.random.Generator) -> Draw:
    x = rng.normal(size=(n, 3))
    t = (rng.random(n) < _expit(1.0 * x[:, 0] - 0.5 * x[:, 1])).astype(np.int8)
    y0 = x[:, 0] + 0.5 * x[:, 1] + 0.5 * x[:, 2] + rng.normal(size=n)
    tau = 2.0 + 2.0 * x[:, 0]
    return Draw(x, t, y0 + t * tau, tau)


def clustered(n: int, rng: np.random.Generator, size: int = 20) -> Draw:
    sites = np.arange(n) // size
    site_effect = rng.normal(size=sites.max() + 1)
    x = rng.normal(size=(n, 3))
    x[:, 2] = site_effect[sites] + 0.5 * rng.normal(size=n)  # an observed site-level covariate
    logit = -0.3 + 0.6 * x[:, 0] - 0.4 * x[:, 1] + 0.5 * x[:, 2]
    t = (rng.random(n) < _expit(logit)).astype(np.int8)
    y0 = x[:, 0] + 0.5 * x[:, 1] + x[:, 2] + site_effect[sites] + rng.normal(size=n)
    tau = 1.0 + 0.5 * x[:, 0] + 0.5 * rng.normal(size=sites.max() + 1)[sites]
    return Draw(x, t, y0 + t * tau, tau, sites)


def austin(n: int, rng: np.random.Generator) -> Draw:
    x = rng.normal(size=(n, 9))
    strength = np.repeat(np.log([1.25, 1.5, 1.75]), 3)
    t = (rng.random(n) < _expit(-1.2 + x @ strength)).astype(np.int8)
    y0 = x @ strength * 2 + rng.normal(size=n)
    tau = 1.0 + 0.3 * x[:, 3]
    return Draw(x, t, y0 + t * tau, tau)


DESIGNS: dict[str, tuple[Callable[[int, np.random.Generator], Draw], int, tuple[str, ...]]] = {
    "kang_schafer": (kang_schafer, 1000, ("ATT",)),
    "half_treated": (half_treated, 2000, ("ATT",)),
    "nonlinear_outcome": (nonlinear_outcome, 2000, ("ATT",)),
    "poor_overlap": (poor_overlap_design, 1000, ("ATT",)),
    "heterogeneous": (heterogeneous, 2000, ("ATT", "ATE", "ATC")),
    "clustered": (clustered, 2000, ("ATT",)),
    "austin": (austin, 1000, ("ATT",)),
}
DEFAULTS = ("psm", "ipw", "aipw")


def population_truth(design: str, estimand: str, n: int = 2_000_000, seed: int = 987) -> float:
    """The population ATT, ATE or ATC of a design, from ``n`` draws."""
    draw = DESIGNS[design][0](n, np.random.default_rng(seed))
    target = {"ATT": draw.t == 1, "ATC": draw.t == 0, "ATE": np.ones(n, bool)}[estimand]
    return float(draw.tau[target].mean())


def default_study(estimand: str, p: int, cluster: bool) -> Study:
    """The study file a user would write: every method with its defaults (the ATE by matching
    needs ``replace: true``)."""
    psm = {"replace": True} if estimand == "ATE" else {}
    raw = {
        "name": "coverage",
        "data": {"path": "draw.csv"},
        "treatment": {"column": "t"},
        "outcomes": ["y"],
        "covariates": [f"x{j}" for j in range(p)],
        "estimand": estimand,
        "methods": {"psm": psm, "ipw": {}, "aipw": {}},
        **({"cluster": "site"} if cluster else {}),
    }
    return Study.from_dict(raw)


def estimate_once(draw: Draw, study: Study) -> tuple[dict[str, object], bool]:
    """Every default estimate on one draw, and whether the run would warn of poor overlap."""
    names = [f"x{j}" for j in range(draw.x.shape[1])]
    x = (draw.x - draw.x.mean(axis=0)) / draw.x.std(axis=0)
    design = CovariateDesign(x, names, names)
    scores = estimate_propensity(design, draw.t, "logistic", study.propensity.clip)
    cluster = None if draw.clusters is None else pd.Series(draw.clusters, name="site")
    effects = {}
    for method in DEFAULTS:
        given = {"propensity": scores} if METHODS[method].estimator.uses_design_score else {}
        fitted = build_estimator(study, method).fit(x, draw.t, draw.y, cluster=cluster, **given)
        effects[method] = fitted.effect_
    return effects, poor_overlap(scores.scores, draw.t, study.estimand) is not None


def coverage_study(reps: int, seed: int = 0, designs: list[str] | None = None) -> pd.DataFrame:
    """One row per design x estimand x estimator: replications, truth, bias, mean SE, SD of the
    estimates, coverage of the 95% interval, the share of runs whose report warns of poor overlap,
    the coverage in the runs without that warning (where overlap holds by the package's own
    diagnostic) and the share in which this estimate carries a warning of its own."""
    rows = []
    for name in designs or list(DESIGNS):
        make, n, estimands = DESIGNS[name]
        for estimand in estimands:
            truth = population_truth(name, estimand)
            rng = np.random.default_rng([seed, len(rows)])
            for _ in range(reps):
                draw = make(n, rng)
                study = default_study(estimand, draw.x.shape[1], draw.clusters is not None)
                effects, warned = estimate_once(draw, study)
                for method, effect in effects.items():
                    rows.append(
                        (name, estimand, method, truth, effect.estimate, effect.std_error,
                         effect.covers(truth), warned, bool(effect.warnings))
                    )  # fmt: skip
    frame = pd.DataFrame(
        rows,
        columns=[
            "design",
            "estimand",
            "method",
            "truth",
            "estimate",
            "std_error",
            "covers",
            "overlap_warning",
            "estimate_warning",
        ],  # fmt: skip
    )
    return frame.groupby(["design", "estimand", "method"], sort=False).agg(
        reps=("estimate", "size"),
        truth=("truth", "first"),
        bias=("estimate", lambda v: v.mean() - frame.loc[v.index, "truth"].iloc[0]),
        mean_se=("std_error", "mean"),
        sd_estimate=("estimate", "std"),
        coverage=("covers", "mean"),
        overlap_warning=("overlap_warning", "mean"),
        coverage_no_warning=("covers", lambda v: _mean_where(v, ~frame.loc[v.index, "overlap_warning"])),
        estimate_warning=("estimate_warning", "mean"),
    )


def _mean_where(values: pd.Series, keep: pd.Series) -> float:
    """The mean of ``values`` over the rows ``keep`` selects (NaN when none)."""
    kept = values[keep.to_numpy(dtype=bool)]
    return float(kept.mean()) if len(kept) else float("nan")


OPTIONS: dict[str, dict] = {
    "without replacement, matched-set SE": {"replace": False},
    "without replacement, bootstrap SE": {"replace": False, "se": "bootstrap", "n_bootstrap": 100},
    "without replacement, 2:1": {"replace": False, "ratio": 2},
    "with replacement, 3:1": {"ratio": 3},
    "with replacement, caliper 0.2 SD of all units": {"caliper": 0.2, "caliper_scale": "all"},
}


def options_coverage(reps: int, seed: int = 0, design: str = "austin") -> pd.DataFrame:
    """Coverage of the population ATT by non-default matching settings (each a study-file
    ``methods.psm``), on Austin's design (about 28% treated, so that matching without replacement
    rarely runs out of controls); ``dropped`` counts the treated units left unmatched over all
    replications (each changes the estimand a little)."""
    make, n, _ = DESIGNS[design]
    truth = population_truth(design, "ATT")
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(reps):
        draw = make(n, rng)
        names = [f"x{j}" for j in range(draw.x.shape[1])]
        x = (draw.x - draw.x.mean(axis=0)) / draw.x.std(axis=0)
        scores = estimate_propensity(CovariateDesign(x, names, names), draw.t, "logistic", 0.01)
        for label, psm in OPTIONS.items():
            raw = default_study("ATT", x.shape[1], False).model_dump(mode="json")
            raw["methods"]["psm"] = psm
            psm = build_estimator(Study.from_dict(raw), "psm")
            effect = psm.fit(x, draw.t, draw.y, propensity=scores).effect_
            dropped = psm.matching_summary_["dropped_by_caliper"]
            rows.append((label, dropped, effect.estimate - truth, effect.std_error,
                         effect.covers(truth)))  # fmt: skip
    frame = pd.DataFrame(rows, columns=["setting", "dropped", "error", "std_error", "covers"])
    return frame.groupby("setting", sort=False).agg(
        reps=("error", "size"),
        dropped=("dropped", "sum"),
        bias=("error", "mean"),
        mean_se=("std_error", "mean"),
        sd_estimate=("error", "std"),
        coverage=("covers", "mean"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--designs", nargs="*", choices=list(DESIGNS))
    args = parser.parse_args()
    start = time.perf_counter()
    table = coverage_study(args.reps, args.seed, args.designs)
    print(f"{args.reps} replications per design and estimand, seed {args.seed}")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print("\nnon-default matching settings (ATT, Austin design):")
    print(options_coverage(args.reps, args.seed).to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
