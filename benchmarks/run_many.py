"""Wall time of ``reimpact run-many`` on the test suite's 3 x 2 grid, per backend.

The grid varies the population (voluntary, forced, both return types) and the outcome (composite,
economic) of a small study on the simulated cohort (``--n`` returnees, matching and weighting).
Each backend runs the 6 tasks from a cold start (worker processes, imports, a local Dask
cluster); the script prints the wall time, the mean time of a task inside its worker, the
ratio to the sequential run and the machine's load average before the run (other processes
compete for the same cores), and checks that every backend gives the sequential effects.

    python benchmarks/run_many.py                       # sequential, loky and dask, n = 1500
    python benchmarks/run_many.py --n 20000 --backends sequential,loky --n-jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import yaml

from reimpact.batch import run_many

STUDY = {
    "name": "tiny",
    "data": {"builtin": "simulated-returnees", "n": 1500, "seed": 1},
    "treatment": {"column": "mentored", "treated": [1]},
    "outcomes": ["composite_score"],
    "covariates": ["age", "sex", "education", "return_type", "vulnerable"],
    "methods": {"psm": {}, "ipw": {}},
    "seed": 3,
}
GRID = {
    "vary": {
        "population.return_type": [["voluntary"], ["forced"], ["voluntary", "forced"]],
        "outcomes": [["composite_score"], ["economic_score"]],
    }
}


def effects(out: Path) -> dict[str, list]:
    return {
        d.name: json.loads((d / "results.json").read_text())["effects"]
        for d in out.iterdir()
        if d.is_dir()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1500, help="returnees in the simulated cohort")
    parser.add_argument("--backends", default="sequential,loky,dask", help="comma-separated")
    parser.add_argument("--n-jobs", type=int, default=2, help="workers of the parallel backends")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        study, grid = root / "study.yaml", root / "grid.yaml"
        study.write_text(yaml.safe_dump({**STUDY, "data": {**STUDY["data"], "n": args.n}}))
        grid.write_text(yaml.safe_dump(GRID))
        reference: dict[str, list] | None = None
        first = None
        for backend in args.backends.split(","):
            load = os.getloadavg()[0]
            start = time.perf_counter()
            result = run_many([study], root / backend, grid=grid, backend=backend, n_jobs=args.n_jobs)  # type: ignore[arg-type]
            wall = time.perf_counter() - start
            first = first or wall
            task = sum(r.seconds for r in result.records) / len(result.records)
            found = effects(root / backend)
            reference = reference or found
            print(
                f"{backend:>10}: {wall:5.1f} s wall for {len(result.records)} tasks "
                f"(mean {task:.1f} s per task in its worker), {wall / first:.2f} x the first backend, "
                f"load average before {load:.1f}, effects identical: {found == reference}"
            )


if __name__ == "__main__":
    main()
