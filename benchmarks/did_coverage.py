"""Coverage of the 95% intervals of DR-DiD and of cross-sectional AIPW on the simulated panel.

Each replicate simulates a panel (``n`` returnees, a new seed), runs ``studies/panel_did.yaml`` on it
(every round after the baseline: naive, IPW and AIPW on the round's cross-section, and DR-DiD
against the baseline round) and checks every interval against the exact ATT of its round over the
analysed returnees. The panel's unobserved, time-invariant trait drives both support and every
score: the change since the baseline removes it, a cross-sectional adjustment cannot. Prints, per
method and round, the coverage, the mean bias, the SD of the estimates and the mean standard error.

    python benchmarks/did_coverage.py --reps 200 --n 3000 --seed 1   # the README's figures
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import yaml

from reimpact.config.study import Study
from reimpact.pipeline import run_study

STUDY = Path(__file__).resolve().parents[1] / "studies" / "panel_did.yaml"


def replicate(raw: dict, n: int, seed: int) -> pd.DataFrame:
    """One panel: every effect with its truth and whether its interval covers it."""
    raw = {**raw, "data": {**raw["data"], "n": n, "seed": seed}}
    results = run_study(Study.from_dict(raw))
    truth = results.truth.set_index(["outcome", "contrast"]).effect
    rows = []
    for e in results.effects:
        if e.method == "naive":
            continue
        true = truth.loc[(e.outcome, e.contrast)]
        low, high = e.conf_int()
        rows.append(
            (e.method, e.outcome, e.contrast, e.estimate - true, e.std_error, low <= true <= high)
        )
    return pd.DataFrame(rows, columns=["method", "outcome", "round", "error", "se", "covered"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    raw = yaml.safe_load(STUDY.read_text())
    start = time.perf_counter()
    frames = [replicate(raw, args.n, args.seed + rep) for rep in range(args.reps)]
    table = (
        pd.concat(frames)
        .groupby(["outcome", "method", "round"], sort=False)
        .agg(
            coverage=("covered", "mean"),
            bias=("error", "mean"),
            sd=("error", "std"),
            mean_se=("se", "mean"),
        )
    )
    print(f"{args.reps} panels of {args.n} returnees ({time.perf_counter() - start:.0f} s)")
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()
