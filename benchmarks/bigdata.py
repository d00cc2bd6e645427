"""Data and study files for the whole-run benchmarks at 1M and 10M rows (never committed).

``benchmark_data(n)`` writes 10 standard-normal covariates ``x0`` .. ``x9``, a logistic treatment
``t`` (about 20% treated) and a linear outcome ``y`` with a unit effect (the data of
``benchmarks/run.py``) to a parquet file in a cache folder; ``psm_study`` / ``aipw_study`` write
a study file that runs one method on it, ``example_study`` the shipped ORION example study
(sensitivity, refutations, subgroups) with the simulated cohort enlarged to ``n`` rows.

    python benchmarks/bigdata.py 1000000      # writes the files and prints their paths
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import yaml

CACHE = Path(os.environ.get("REIMPACT_BENCH_CACHE", "/tmp/reimpact-bench"))
ROOT = Path(__file__).resolve().parent.parent
COVARIATES = [f"x{i}" for i in range(10)]


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10 covariates, a logistic treatment (about 20% treated), an outcome with a unit effect."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    index = -1.6 + x[:, :5] @ np.array([0.5, -0.4, 0.3, 0.2, -0.3])
    t = (rng.random(n) < 1.0 / (1.0 + np.exp(-index))).astype(np.int8)
    y = x @ np.linspace(0.1, 1.0, 10) + t + rng.normal(size=n)
    return x, t, y


def benchmark_data(n: int) -> Path:
    """The parquet file of ``make_data(n)`` (written once, then reused)."""
    import pandas as pd

    path = CACHE / f"bench-{n}.parquet"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        x, t, y = make_data(n)
        frame = pd.DataFrame(x, columns=COVARIATES).assign(t=t, y=y)
        frame.to_parquet(path.with_suffix(".tmp"), index=False)
        path.with_suffix(".tmp").rename(path)
    return path


def _write_study(name: str, study: dict) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    return path


def _method_study(n: int, method: str, settings: dict, estimand: str) -> Path:
    return _write_study(
        f"{method}-{n}",
        {
            "name": f"bench-{method}-{n}",
            "data": {"path": str(benchmark_data(n))},
            "treatment": {"column": "t", "treated": [1]},
            "outcomes": ["y"],
            "covariates": COVARIATES,
            "estimand": estimand,
            "propensity": {"model": "logistic"},
            "methods": {method: settings},
            "seed": 1,
        },
    )


def psm_study(n: int) -> Path:
    """A whole run of 1:1 PSM without replacement, caliper 0.2 SD (the ATT), on ``n`` rows."""
    return _method_study(n, "psm", {"ratio": 1, "replace": False, "caliper": 0.2}, "ATT")


def aipw_study(n: int) -> Path:
    """A whole run of cross-fitted AIPW (5 folds, logistic score, linear outcome; the ATE)."""
    return _method_study(n, "aipw", {"folds": 5, "outcome_learner": "linear"}, "ATE")


def example_study(n: int) -> Path:
    """The shipped ORION example study with its simulated cohort at ``n`` rows."""
    study = yaml.safe_load((ROOT / "studies" / "orion_mentoring.yaml").read_text(encoding="utf-8"))
    study["data"]["n"] = n
    study["name"] = f"bench-example-{n}"
    return _write_study(f"example-{n}", study)


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for path in (psm_study(rows), aipw_study(rows), example_study(rows)):
        print(path)
