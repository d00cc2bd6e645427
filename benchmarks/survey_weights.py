"""Coverage of the population ATT with and without sampling weights on the simulated survey.

Each replication simulates a population of returnees (``simulate_returnees(n, seed)``), draws the
documented survey from it (``draw_survey_sample``: vulnerable returnees selected with probability
0.9, the others with 0.15; mentoring helps the vulnerable more) and runs the shipped study
``studies/mentoring_survey.yaml`` on the composite score twice, with ``weights: sampling_weight``
and without. The target is the population's exact ATT of mentoring on the composite score.
Printed per method: coverage of the 95% interval, bias, mean standard error, the standard
deviation of the estimates and that of their errors (each population has its own ATT, so the
errors, not the estimates, are what the standard error should match).

    python benchmarks/survey_weights.py --reps 200 --n 60000 --seed 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from reimpact.config.study import Study
from reimpact.datasets import simulate_returnees
from reimpact.pipeline import run_study

# the shipped survey-weighted study on the composite score; each replication sets its data
SHIPPED = Path(__file__).parents[1] / "studies" / "mentoring_survey.yaml"
STUDY = {
    **{k: v for k, v in yaml.safe_load(SHIPPED.read_text()).items() if k not in ("weights", "data")},
    "outcomes": ["composite_score"],
    "primary_outcome": "composite_score",
    "sensitivity": None,
}


def replicate(n: int, seed: int) -> list[dict]:
    """Both runs of one survey draw: one row per (weighted, method)."""
    truth = (
        simulate_returnees(n=n, seed=seed)
        .truth.query("treatment == 'mentored' and outcome == 'composite_score' and estimand == 'ATT'")
        .effect.item()
    )
    rows = []
    data = {"builtin": "simulated-returnees-survey", "n": n, "seed": seed}
    for weights in (None, "sampling_weight"):
        study = Study.from_dict({**STUDY, "data": data, "weights": weights})
        for effect in run_study(study).effects:
            rows.append(
                {
                    "weighted": weights is not None,
                    "method": effect.method,
                    "estimate": effect.estimate,
                    "se": effect.std_error,
                    "covers": effect.covers(truth),
                    "error": effect.estimate - truth,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--n", type=int, default=60000, help="population size")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    seeds = np.random.SeedSequence(args.seed).generate_state(args.reps)
    rows = [row for seed in seeds for row in replicate(args.n, int(seed))]
    frame = pd.DataFrame(rows)
    table = frame.groupby(["weighted", "method"], sort=False).agg(
        coverage=("covers", "mean"),
        bias=("error", "mean"),
        mean_se=("se", "mean"),
        sd=("estimate", "std"),
        sd_error=("error", "std"),
    )
    print(f"{args.reps} replications, population n = {args.n:,}, seed {args.seed}")
    print(table.round(4).to_string())
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
