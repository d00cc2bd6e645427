"""Coverage of the continuous dose-response curve's pointwise 95% intervals
(:mod:`reimpact.estimators.continuous_dose`: Kennedy et al. 2017's pseudo-outcomes, local quadratic
fit at the leave-one-out bandwidth of the local linear one).

Two designs, both with a normal linear dose model (right) and an outcome model that the cubic
basis only approximates:

* ``hump``: X ~ N(0, I_3), D = 1 + 0.8 X1 - 0.5 X2 + N(0, 1), Y = sin(D) + 0.3 D + 1.2 X1 + 0.6 X2
  + 0.3 X3 + N(0, 1); the curve rises, flattens and falls;
* ``threshold``: the same X and D, Y = 0.5 / (1 + exp(-3 (D - 1))) + X1 + 0.5 X1 X2 + N(0, 1): a
  smooth step, and an interaction the outcome model lacks.

The truth is E[Y(d)] at 7 doses from the 10th to the 90th percentile of D. For each method the
script prints the coverage at every dose and overall, the mean bias, the SD of the estimates and
the mean standard error.

    python benchmarks/continuous_dose_coverage.py --reps 100 --n 2000 --seed 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from reimpact.estimators.continuous_dose import continuous_curve

POINTS = np.linspace(-0.5, 2.5, 7)  # about the 10th to the 90th percentile of D (mean 1, SD 1.37)


def _hump(d: np.ndarray) -> np.ndarray:
    return np.sin(d) + 0.3 * d


def _step(d: np.ndarray) -> np.ndarray:
    return 0.5 / (1.0 + np.exp(-3.0 * (d - 1.0)))


def draw(design: str, n: int, rng: np.random.Generator):
    """Covariates, dose, outcome and the true curve at ``POINTS``."""
    x = rng.normal(size=(n, 3))
    d = 1.0 + 0.8 * x[:, 0] - 0.5 * x[:, 1] + rng.normal(size=n)
    if design == "hump":
        y = _hump(d) + 1.2 * x[:, 0] + 0.6 * x[:, 1] + 0.3 * x[:, 2] + rng.normal(size=n)
        return x, d, y, _hump(POINTS)
    y = _step(d) + x[:, 0] + 0.5 * x[:, 0] * x[:, 1] + rng.normal(size=n)
    return x, d, y, _step(POINTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    for design in ("hump", "threshold"):
        rng = np.random.default_rng([args.seed, len(design)])
        errors: dict[str, list] = {"naive": [], "ipw": [], "aipw": []}
        ses: dict[str, list] = {k: [] for k in errors}
        for _ in range(args.reps):
            x, d, y, truth = draw(design, args.n, rng)
            for method in errors:
                fit = continuous_curve(x, d, y, method, POINTS, seed=int(rng.integers(1 << 30)))
                errors[method].append(fit.estimate - truth)
                ses[method].append(fit.std_error())
        print(f"\n{design}: n = {args.n}, {args.reps} replications, doses {np.round(POINTS, 2)}")
        for method in errors:
            e, s = np.array(errors[method]), np.array(ses[method])
            covered = np.abs(e) <= 1.959964 * s
            print(
                f"  {method:6s} coverage {covered.mean():.3f} by dose {covered.mean(axis=0).round(2)}"
                f" | mean |bias| {np.abs(e.mean(axis=0)).mean():.3f}, SD {e.std(axis=0).mean():.3f},"
                f" mean SE {s.mean():.3f}"
            )
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
