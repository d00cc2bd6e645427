"""Coverage of the balancing-weight methods' 95% intervals: entropy balancing
(``methods: {entropy: {moments: 2}}``) and inverse-probability weighting on the covariate-balancing
propensity score (``propensity: {model: cbps}``, ``methods: {ipw: {}}``).

The designs, their population truths and the standardisation of the covariates are those of
``benchmarks/coverage_study.py`` (Kang & Schafer 2007, Austin 2011 and the package's own); the
estimators are built from a study file through :func:`reimpact.registry.build_estimator`, so the
study defaults are what is checked. Entropy balancing is also run with ``moments: 1``. The poor-
overlap design is left out (no method is expected to cover there; see the main study).

    python benchmarks/balancing_coverage.py --reps 500 --seed 1     # the README's figures
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from coverage_study import DESIGNS, population_truth

from reimpact.config.study import Study
from reimpact.registry import build_estimator

RUNS = {  # label -> (method, its section, propensity section)
    "entropy, moments 2": ("entropy", {"moments": 2}, {}),
    "entropy, moments 1": ("entropy", {"moments": 1}, {}),
    "ipw, cbps score": ("ipw", {}, {"model": "cbps"}),
}
SHOWN = ("kang_schafer", "half_treated", "nonlinear_outcome", "heterogeneous", "clustered", "austin")


def study_for(
    estimand: str, p: int, cluster: bool, method: str, section: dict, propensity: dict
) -> Study:
    """The study file a user would write for one run."""
    raw = {
        "name": "balancing-coverage",
        "data": {"path": "draw.csv"},
        "treatment": {"column": "t"},
        "outcomes": ["y"],
        "covariates": [f"x{j}" for j in range(p)],
        "estimand": estimand,
        "methods": {method: section},
        "propensity": propensity,
        **({"cluster": "site"} if cluster else {}),
    }
    return Study.from_dict(raw)


def balancing_coverage(reps: int, seed: int = 0, designs: tuple[str, ...] = SHOWN) -> pd.DataFrame:
    """One row per design x estimand x run: replications, truth, bias, mean SE, SD of the
    estimates and coverage of the 95% interval."""
    rows = []
    for name in designs:
        make, n, estimands = DESIGNS[name]
        for estimand in estimands:
            truth = population_truth(name, estimand)
            rng = np.random.default_rng([seed, len(rows)])
            for _ in range(reps):
                draw = make(n, rng)
                x = (draw.x - draw.x.mean(axis=0)) / draw.x.std(axis=0)
                sites = None if draw.clusters is None else pd.Series(draw.clusters, name="site")
                for label, (method, section, propensity) in RUNS.items():
                    study = study_for(
                        estimand, x.shape[1], sites is not None, method, section, propensity
                    )
                    fitted = build_estimator(study, method).fit(x, draw.t, draw.y, cluster=sites)
                    effect = fitted.effect_
                    rows.append((name, estimand, label, truth, effect.estimate, effect.std_error,
                                 effect.covers(truth)))  # fmt: skip
    frame = pd.DataFrame(
        rows, columns=["design", "estimand", "run", "truth", "estimate", "std_error", "covers"]
    )
    frame["error"] = frame["estimate"] - frame["truth"]
    return frame.groupby(["design", "estimand", "run"], sort=False).agg(
        reps=("estimate", "size"),
        truth=("truth", "first"),
        bias=("error", "mean"),
        mean_se=("std_error", "mean"),
        sd_estimate=("estimate", "std"),
        coverage=("covers", "mean"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--designs", nargs="*", choices=list(DESIGNS), default=list(SHOWN))
    args = parser.parse_args()
    start = time.perf_counter()
    table = balancing_coverage(args.reps, args.seed, tuple(args.designs))
    print(f"{args.reps} replications per design and estimand, seed {args.seed}")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
