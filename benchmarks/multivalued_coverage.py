"""Coverage of the 95% intervals of the multi-valued treatment's contrasts on the simulated cohort.

Each replicate simulates a cohort (``n`` returnees, a new seed), runs ``studies/assistance_types.yaml``
on it (naive, IPW and AIPW, every contrast of the four assistance types on four outcomes) and
checks every interval against the exact ATE of its contrast over the analysed returnees
(:meth:`reimpact.datasets.SimulatedCohort.contrast_truth`). Prints, per method, the coverage, the
mean over contrasts and outcomes of |bias| / SD of the estimates, and the median ratio of the mean
standard error to the SD of the estimates.

    python benchmarks/multivalued_coverage.py --reps 200 --n 4000 --seed 1   # the README's figures
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import yaml

from reimpact.config.study import Study
from reimpact.pipeline import run_study

STUDY = Path(__file__).resolve().parents[1] / "studies" / "assistance_types.yaml"


def replicate(raw: dict, n: int, seed: int) -> pd.DataFrame:
    """One cohort: every effect with its truth and whether its interval covers it."""
    raw = {**raw, "data": {**raw["data"], "n": n, "seed": seed}}
    results = run_study(Study.from_dict(raw))
    truth = results.truth.set_index(["contrast", "outcome"]).effect
    rows = []
    for e in results.effects:
        value = truth[(e.contrast, e.outcome)]
        rows.append((e.method, e.contrast, e.outcome, e.estimate, e.std_error, value, e.covers(value)))
    return pd.DataFrame(
        rows, columns=["method", "contrast", "outcome", "estimate", "se", "truth", "covers"]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=100)
    args = parser.parse_args()
    raw = yaml.safe_load(STUDY.read_text())
    start = time.perf_counter()
    runs = pd.concat(
        [replicate(raw, args.n, args.seed + r).assign(rep=r) for r in range(args.reps)],
        ignore_index=True,
    )
    runs["error"] = runs.estimate - runs.truth
    cells = runs.groupby(["method", "contrast", "outcome"])
    se_ratio = (cells.se.mean() / cells.estimate.std()).groupby("method").median()
    summary = runs.groupby("method").agg(coverage=("covers", "mean"))
    summary["mean |bias| / SD"] = (
        (cells.error.mean().abs() / cells.estimate.std()).groupby("method").mean()
    )
    summary["median SE / SD"] = se_ratio
    print(f"{args.reps} cohorts of {args.n}, {time.perf_counter() - start:.0f} s")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
