"""Speed of optimal pair matching, optimal full matching and greedy matching at 100,000 rows.

Simulates ``--n`` units with five covariates (about 30% treated), fits the logistic propensity
score once, then times the matching alone (``reimpact.design``) and the whole estimator (score,
matching, g-computation and standard error) for each method, with a caliper of 0.2 pooled SD of
the logit. Printed per method: seconds, matched focal units and total |logit distance| of the
matches (optimal matching matches the most treated units possible, at least as many as greedy
matching, and a smaller total distance) and whether its dual certificate was met.

    python benchmarks/matching_speed.py --n 100000 --seed 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from reimpact.design.matching import caliper_width, match
from reimpact.design.optimal import full_match, optimal_match
from reimpact.design.propensity import estimate_propensity
from reimpact.estimators import CEMEstimator, MatchingEstimator


def simulate(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    e = 1 / (1 + np.exp(-(-1.0 + x @ np.array([0.6, -0.4, 0.3, 0.2, 0.0]))))
    t = (rng.random(n) < e).astype(int)
    y = x @ np.array([1.0, 0.5, 0.3, 0.0, 0.2]) + 2.0 * t + rng.normal(size=n)
    return pd.DataFrame(x, columns=[f"x{j}" for j in range(5)]), t, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--caliper", type=float, default=0.2)
    args = parser.parse_args()
    x, t, y = simulate(args.n, args.seed)
    from reimpact.design.covariates import covariate_design

    design = covariate_design(x, list(x.columns), [])
    scores = estimate_propensity(design, t, "logistic", clip=0.001).scores
    logit = np.log(scores / (1 - scores))
    width = caliper_width(logit, t, args.caliper)
    print(f"n = {args.n:,}, treated = {t.sum():,}, caliper = {args.caliper} SD = {width:.4f} logit")
    focal = t == 1

    def report(name: str, seconds: float, result) -> None:
        total = float(np.abs(logit[result.focal] - logit[result.matched]).sum())
        print(
            f"  {name:<22} {seconds:7.2f} s   matched focal {result.n_focal_matched:>7,}   "
            f"total distance {total:12.3f}"
        )

    print("matching alone (ATT):")
    start = time.perf_counter()
    greedy = match(logit, focal, 1, False, width)
    report("greedy 1:1", time.perf_counter() - start, greedy)
    start = time.perf_counter()
    optimal, exact = optimal_match(logit, focal, 1, width)
    report("optimal 1:1", time.perf_counter() - start, optimal)
    print(f"    certified optimal over every pair within the caliper: {exact}")
    start = time.perf_counter()
    full = full_match(logit, focal, "ATT", width)
    report("full", time.perf_counter() - start, full)
    print("whole estimator (score, matching, estimate, SE):")
    settings = {
        "psm nearest (greedy)": {"replace": False, "caliper": args.caliper},
        "psm optimal": {"method": "optimal", "replace": False, "caliper": args.caliper},
        "psm full": {"method": "full", "replace": False, "caliper": args.caliper},
    }
    for name, params in settings.items():
        start = time.perf_counter()
        effect = MatchingEstimator(**params).fit(x, t, y).effect_
        seconds = time.perf_counter() - start
        print(f"  {name:<22} {seconds:7.2f} s   ATT {effect.estimate:.4f} (SE {effect.std_error:.4f})")
    start = time.perf_counter()
    effect = CEMEstimator(n_bins=5).fit(x, t, y).effect_
    seconds = time.perf_counter() - start
    print(
        f"  {'cem (5 bins)':<22} {seconds:7.2f} s   "
        f"ATT {effect.estimate:.4f} (SE {effect.std_error:.4f})"
    )


if __name__ == "__main__":
    main()
