"""Coverage of the 95% intervals of every estimator and standard error over repeated simulations.

Data-generating process (known truth): three standard-normal covariates; treatment with
P(T=1|X) = expit(-1.3 + 0.6 x1 - 0.4 x2 + 0.3 x3) (about 25% treated);
Y(0) = x1 + 0.5 x2 - 0.3 x3 + N(0,1), Y(1) = Y(0) + 1 + 0.5 x1. The target is the population ATT
E[1 + 0.5 x1 | T=1], computed once on four million draws. The estimators use the correct logistic
score and linear outcome models.

    python benchmarks/coverage_study.py --reps 2000 --n 1000 --seed 1     # the long run
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from reimpact.doubly_robust import AIPWEstimator
from reimpact.matching import MatchingEstimator
from reimpact.propensity import CovariateDesign, estimate_propensity
from reimpact.weighting import IPWEstimator

PSM = {
    "psm abadie-imbens (replace, 1:1)": dict(replace=True, caliper=None),
    "psm abadie-imbens bias-corrected (replace, 2:1)": dict(
        replace=True, caliper=None, ratio=2, bias_correction=True
    ),
    "psm matched-sets (no replace, caliper 0.2)": dict(replace=False, caliper=0.2),
    "psm bootstrap (no replace, caliper 0.2)": dict(replace=False, caliper=0.2, se="bootstrap"),
}
CLUSTERED = "psm cluster-robust by a cluster column"
IPW = "ipw (Hajek, estimated-score sandwich)"
AIPW = "aipw (5-fold cross-fitting)"


def draw(n: int, rng: np.random.Generator):
    x = rng.normal(size=(n, 3))
    e = 1.0 / (1.0 + np.exp(-(-1.3 + 0.6 * x[:, 0] - 0.4 * x[:, 1] + 0.3 * x[:, 2])))
    t = (rng.random(n) < e).astype(np.int8)
    y0 = x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 2] + rng.normal(size=n)
    y = y0 + t * (1.0 + 0.5 * x[:, 0])
    return x, t, y


def true_att(seed: int = 12345) -> float:
    x, t, _ = draw(4_000_000, np.random.default_rng(seed))
    return float(np.mean(1.0 + 0.5 * x[t == 1, 0]))


def coverage_study(reps: int, n: int, seed: int = 0, n_bootstrap: int = 200) -> pd.DataFrame:
    """One row per estimator: replications, mean estimate, bias, mean SE, SD of estimates, coverage."""
    truth = true_att()
    rng = np.random.default_rng(seed)
    rows = []
    for rep in range(reps):
        x, t, y = draw(n, rng)
        design = CovariateDesign(x, ["x1", "x2", "x3"], ["x1", "x2", "x3"])
        scores = estimate_propensity(design, t, "logistic", clip=0.001)
        clusters = rng.integers(0, n // 5, n)  # independent units in arbitrary groups of about 5
        for name, options in PSM.items():
            psm = MatchingEstimator(random_state=rep, n_bootstrap=n_bootstrap, **options).fit(
                scores.scores, t, covariates=x, score_design=scores.design
            )
            rows.append((name, psm.estimate(y)))
        psm = MatchingEstimator(replace=False, caliper=0.2).fit(
            scores.scores, t, score_design=scores.design
        )
        rows.append((CLUSTERED, psm.estimate(y, clusters=clusters)))
        rows.append((IPW, IPWEstimator("ATT").fit(scores, t).estimate(y)))
        aipw = AIPWEstimator("ATT", folds=5, learner="linear", clip=0.001, random_state=rep)
        rows.append((AIPW, aipw.fit(x, t, y).estimate()))
    frame = pd.DataFrame(
        [(name, e.estimate, e.std_error, e.covers(truth)) for name, e in rows],
        columns=["estimator", "estimate", "std_error", "covers"],
    )
    return frame.groupby("estimator", sort=False).agg(
        reps=("estimate", "size"),
        mean_estimate=("estimate", "mean"),
        bias=("estimate", lambda v: v.mean() - truth),
        mean_se=("std_error", "mean"),
        sd_estimate=("estimate", "std"),
        coverage=("covers", "mean"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates")
    args = parser.parse_args()
    start = time.perf_counter()
    table = coverage_study(args.reps, args.n, args.seed, args.bootstrap)
    print(f"true ATT {true_att():.4f}; {args.reps} replications of n = {args.n}")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
