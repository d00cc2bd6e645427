"""Speed and memory of reimpact's matching and AIPW against DoWhy and EconML on the same data,
for the bare estimators and for whole ``reimpact run`` commands.

Data: 10 standard-normal covariates, a logistic treatment with about 20% treated, a linear outcome
with a unit effect (``benchmarks/bigdata.py``, which also writes the parquet file and the study
files of the whole runs to a cache folder). Every measurement runs in a fresh process, so its peak
resident memory is its own; times include fitting the propensity score. A whole run is timed as
its whole process (interpreter start, imports, reading the parquet file, the analysis, the report
and every output, and the end of the process), set up and ended as the ``reimpact`` command does
(one ``malloc`` arena, ``reimpact.memory.one_malloc_arena``; ``reimpact.cli.finish``); so is
the peer it is compared with (importing DoWhy or EconML, reading the same parquet file, fitting,
the interpreter's usual exit): "process s" in the table. "peak MB"
is the measured process's own peak; "child MB" the largest of its child processes (the fork that
draws half the figures, joblib's workers for the refutations), shown apart because its resident
pages include those it shares with the run.

    python benchmarks/run.py            # the targets at 1M rows (as ``make bench``)
    python benchmarks/run.py --10m      # the whole PSM run at 10M rows (as ``make bench-10m``)
    python benchmarks/run.py --quick    # smaller sizes, for a smoke run

Targets: 1:1 matching without replacement with a 0.2 SD caliper at 1M rows (score included) under
3 s with a peak under 1.5 GB; AIPW with 5 folds and linear nuisances at 1M rows under 15 s; a whole
PSM run at 1M rows in no more time than DoWhy's bare PSM; a whole AIPW run in at most half the time
of EconML's ``LinearDRLearner`` with the same nuisances (logistic and linear, 5 folds); the example
study (sensitivity, refutations, subgroups) at 1M rows under 60 s; peak memory under 1.5 GB; the
whole PSM run at 10M rows under 60 s and 8 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

from bigdata import COVARIATES, aipw_study, benchmark_data, example_study, make_data, psm_study

OUT = Path("/tmp/reimpact-bench/out")


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


def _whole_run(study: Path) -> float:
    from reimpact.cli import main
    from reimpact.memory import one_malloc_arena

    one_malloc_arena()  # the process set up as the `reimpact` command sets up its own
    start = time.perf_counter()
    main(["run", str(study), "--out", str(OUT / study.stem), "--quiet"])
    return time.perf_counter() - start


def task_run_psm(n: int) -> float:
    return _whole_run(psm_study(n))


def task_run_aipw(n: int) -> float:
    return _whole_run(aipw_study(n))


def task_run_example(n: int) -> float:
    return _whole_run(example_study(n))


def _read(n: int):
    import pandas as pd

    return pd.read_parquet(benchmark_data(n))


def task_dowhy_psm_file(n: int) -> float:
    """DoWhy's bare PSM on the rows of the parquet file (read in the timed process)."""
    import logging

    from dowhy import CausalModel

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    frame = _read(n)
    start = time.perf_counter()
    model = CausalModel(data=frame, treatment="t", outcome="y", common_causes=COVARIATES)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    model.estimate_effect(estimand, method_name="backdoor.propensity_score_matching", target_units="att")
    return time.perf_counter() - start


def task_econml_dr_same(n: int) -> float:
    """EconML's LinearDRLearner with reimpact's nuisances: a logistic score and a linear outcome
    model, 5 cross-fitting folds, on the rows of the parquet file."""
    from econml.dr import LinearDRLearner
    from sklearn.linear_model import LinearRegression, LogisticRegression

    frame = _read(n)
    y, t, w = frame["y"].to_numpy(), frame["t"].to_numpy(), frame[COVARIATES].to_numpy()
    start = time.perf_counter()
    learner = LinearDRLearner(
        model_propensity=LogisticRegression(), model_regression=LinearRegression(), cv=5
    )
    learner.fit(y, t, X=None, W=w).ate()
    return time.perf_counter() - start


TASKS = {
    "reimpact_psm": task_reimpact_psm,
    "reimpact_aipw": task_reimpact_aipw,
    "dowhy_psm": task_dowhy_psm,
    "econml_dr": task_econml_dr,
    "run_psm": task_run_psm,
    "run_aipw": task_run_aipw,
    "run_example": task_run_example,
    "dowhy_psm_file": task_dowhy_psm_file,
    "econml_dr_same": task_econml_dr_same,
}


def measure(task: str, n: int) -> dict:
    """Run one task in a fresh interpreter: its own seconds, the whole process's seconds and its
    peak resident memory (MB). The data files are written before the clock starts."""
    if task.startswith("run_") or task.endswith(("_file", "_same")):
        benchmark_data(n)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--task", task, "--n", str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    process = time.perf_counter() - start
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "process_seconds": process}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS))
    parser.add_argument("--n", type=int)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--10m", dest="ten_million", action="store_true", help="the 10M-row whole run")
    args = parser.parse_args()
    if args.task:
        warnings.simplefilter("ignore")
        seconds = TASKS[args.task](args.n)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # the largest child process (a figure-drawing fork, a joblib worker): its resident memory
        # includes the pages it shares with the run, so it is shown apart, not added
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(json.dumps({"seconds": seconds, "peak_mb": peak, "child_peak_mb": child}), flush=True)
        if args.task.startswith("run_"):  # a whole run ends as the `reimpact` command does
            from reimpact.cli import finish

            finish(0)
        return

    if args.ten_million:
        _ten_million()
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
        ("run_psm", big),
        ("dowhy_psm_file", big),
        ("run_aipw", big),
        ("econml_dr_same", big),
        ("run_example", big),
    ]
    results = _table(plan)

    print("\nratios (peer time / reimpact time, same rows, same run):")
    for n in (mid, big):
        ratio = results[("dowhy_psm", n)]["seconds"] / results[("reimpact_psm", n)]["seconds"]
        print(f"  DoWhy backdoor.propensity_score_matching vs reimpact PSM at {n:,} rows: {ratio:.1f}x")
    ratio = results[("econml_dr", small)]["seconds"] / results[("reimpact_aipw", small)]["seconds"]
    print(f"  EconML LinearDRLearner (defaults) vs reimpact AIPW at {small:,} rows: {ratio:.1f}x")
    whole_psm = _ratio(results, ("run_psm", big), ("dowhy_psm_file", big))
    whole_aipw = _ratio(results, ("run_aipw", big), ("econml_dr_same", big))
    print("\nwhole runs (reimpact process time / peer process time, same parquet file):")
    print(f"  reimpact run (PSM) vs DoWhy bare PSM at {big:,} rows: {whole_psm:.2f}")
    print(
        f"  reimpact run (AIPW) vs EconML LinearDRLearner (same nuisances) at {big:,}: {whole_aipw:.2f}"
    )

    if not args.quick:
        psm, aipw = results[("reimpact_psm", big)], results[("reimpact_aipw", big)]
        example = results[("run_example", big)]
        peak = max(results[(task, big)]["peak_mb"] for task in ("run_psm", "run_aipw", "run_example"))
        checks = [
            ("PSM 1:1, no replacement, caliper 0.2, 1M rows < 3 s", psm["seconds"] < 3.0),
            ("PSM peak memory at 1M rows < 1.5 GB", psm["peak_mb"] < 1536),
            ("AIPW 5 folds, linear, 1M rows < 15 s", aipw["seconds"] < 15.0),
            ("whole PSM run at 1M rows / DoWhy bare PSM <= 1.0", whole_psm <= 1.0),
            ("whole AIPW run at 1M rows / EconML LinearDRLearner <= 0.5", whole_aipw <= 0.5),
            ("example study at 1M rows < 60 s", example["process_seconds"] < 60.0),
            ("peak memory of the whole runs at 1M rows < 1.5 GB", peak < 1536),
        ]
        _report(checks)


def _table(plan: list[tuple[str, int]]) -> dict:
    results = {}
    print(f"{'task':<16}{'rows':>12}{'seconds':>10}{'process s':>11}{'peak MB':>10}{'child MB':>10}")
    for task, n in plan:
        results[(task, n)] = r = measure(task, n)
        print(
            f"{task:<16}{n:>12,}{r['seconds']:>10.2f}{r['process_seconds']:>11.2f}"
            f"{r['peak_mb']:>10.0f}{r['child_peak_mb']:>10.0f}"
        )
    return results


def _ratio(results: dict, ours: tuple[str, int], peer: tuple[str, int]) -> float:
    return results[ours]["process_seconds"] / results[peer]["process_seconds"]


def _report(checks: list[tuple[str, bool]]) -> None:
    print()
    for label, ok in checks:
        print(f"  [{'met' if ok else 'MISSED'}] {label}")


def _ten_million() -> None:
    n = 10_000_000
    run = _table([("run_psm", n)])[("run_psm", n)]
    _report(
        [
            ("whole PSM run at 10M rows (parquet) < 60 s", run["process_seconds"] < 60.0),
            ("its peak memory < 8 GB", run["peak_mb"] < 8192),
        ]
    )


if __name__ == "__main__":
    main()
