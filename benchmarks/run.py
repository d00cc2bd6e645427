"""Speed and memory of reimpact's matching and AIPW against DoWhy and EconML on the same data.

Data: 10 standard-normal covariates, a logistic treatment with about 20% treated, a linear outcome
with a unit effect. Every measurement runs in a fresh process, so its peak resident memory is its
own; times include fitting the propensity score.

    python benchmarks/run.py            # the targets: 1M rows (as ``make bench``)
    python benchmarks/run.py --quick    # smaller sizes, for a smoke run

Targets: 1:1 matching without replacement with a 0.2 SD caliper at 1M rows (score included) under
3 s with a peak under 1.5 GB; AIPW with 5 folds and linear nuisances at 1M rows under 15 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    index = -1.6 + x[:, :5] @ np.array([0.5, -0.4, 0.3, 0.2, -0.3])
    t = (rng.random(n) < 1.0 / (1.0 + np.exp(-index))).astype(np.int8)
    y = x @ np.linspace(0.1, 1.0, 10) + t + rng.normal(size=n)
    return x, t, y


def _design(x):
    from reimpact.design.covariates import CovariateDesign

    names = [f"x{i}" for i in range(x.shape[1])]
    return CovariateDesign(x, names, names)


def task_reimpact_psm(n: int) -> float:
    from reimpact.design.propensity import estimate_propensity
    from reimpact.estimators.matching.matcher import PropensityMatcher

    x, t, y = make_data(2000, 1)  # compile (or load) the numba kernels before timing
    scores = estimate_propensity(_design(x), t, "logistic", 0.01)
    PropensityMatcher().fit(scores.scores, t, score_design=scores.design).estimate(y)
    x, t, y = make_data(n)
    start = time.perf_counter()
    scores = estimate_propensity(_design(x), t, "logistic", 0.01)
    PropensityMatcher(ratio=1, replace=False, caliper=0.2).fit(
        scores.scores, t, score_design=scores.design
    ).estimate(y)
    return time.perf_counter() - start


def task_reimpact_aipw(n: int) -> float:
    from reimpact.estimators.aipw import CrossFittedAIPW

    x, t, y = make_data(n)
    start = time.perf_counter()
    CrossFittedAIPW("ATE", folds=5, outcome_learner="linear").fit(x, t, y).estimate()
    return time.perf_counter() - start


def task_dowhy_psm(n: int) -> float:
    import logging

    import pandas as pd
    from dowhy import CausalModel

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    x, t, y = make_data(n)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)]).assign(t=t, y=y)
    start = time.perf_counter()
    model = CausalModel(data=frame, treatment="t", outcome="y", common_causes=list(frame.columns[:10]))
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    model.estimate_effect(estimand, method_name="backdoor.propensity_score_matching", target_units="att")
    return time.perf_counter() - start


def task_econml_dr(n: int) -> float:
    from econml.dr import LinearDRLearner

    x, t, y = make_data(n)
    start = time.perf_counter()
    LinearDRLearner().fit(y, t, X=None, W=x).ate()
    return time.perf_counter() - start


TASKS = {
    "reimpact_psm": task_reimpact_psm,
    "reimpact_aipw": task_reimpact_aipw,
    "dowhy_psm": task_dowhy_psm,
    "econml_dr": task_econml_dr,
}


def measure(task: str, n: int) -> dict:
    """Run one task in a fresh interpreter: seconds and peak resident memory (MB)."""
    out = subprocess.run(
        [sys.executable, __file__, "--task", task, "--n", str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS))
    parser.add_argument("--n", type=int)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = parser.parse_args()
    if args.task:
        warnings.simplefilter("ignore")
        seconds = TASKS[args.task](args.n)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"seconds": seconds, "peak_mb": peak}))
        return

    big = 100_000 if args.quick else 1_000_000
    mid = 20_000 if args.quick else 100_000
    small = 2_000 if args.quick else 10_000
    plan = [
        ("reimpact_psm", mid),
        ("dowhy_psm", mid),
        ("reimpact_psm", big),
        ("dowhy_psm", big),
        ("reimpact_aipw", small),
        ("econml_dr", small),
        ("reimpact_aipw", big),
    ]
    results = {}
    print(f"{'task':<16}{'rows':>10}{'seconds':>10}{'peak MB':>10}")
    for task, n in plan:
        results[(task, n)] = measure(task, n)
        r = results[(task, n)]
        print(f"{task:<16}{n:>10,}{r['seconds']:>10.2f}{r['peak_mb']:>10.0f}")

    print("\nratios (peer time / reimpact time, same rows, same run):")
    for n in (mid, big):
        ratio = results[("dowhy_psm", n)]["seconds"] / results[("reimpact_psm", n)]["seconds"]
        print(f"  DoWhy backdoor.propensity_score_matching vs reimpact PSM at {n:,} rows: {ratio:.1f}x")
    ratio = results[("econml_dr", small)]["seconds"] / results[("reimpact_aipw", small)]["seconds"]
    print(f"  EconML LinearDRLearner (defaults) vs reimpact AIPW at {small:,} rows: {ratio:.1f}x")

    if not args.quick:
        psm, aipw = results[("reimpact_psm", big)], results[("reimpact_aipw", big)]
        checks = [
            ("PSM 1:1, no replacement, caliper 0.2, 1M rows < 3 s", psm["seconds"] < 3.0),
            ("PSM peak memory at 1M rows < 1.5 GB", psm["peak_mb"] < 1536),
            ("AIPW 5 folds, linear, 1M rows < 15 s", aipw["seconds"] < 15.0),
        ]
        print()
        for label, ok in checks:
            print(f"  [{'met' if ok else 'MISSED'}] {label}")


if __name__ == "__main__":
    main()
