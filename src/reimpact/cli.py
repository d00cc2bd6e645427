"""The ``reimpact`` command: a thin adapter over the library that does no statistics itself.

Bad input exits with code 2 and one line on standard error that names the field and the fix.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .exceptions import ReimpactError
from .parallel import BACKENDS


def _validate(args: argparse.Namespace) -> None:
    from .config.study import load_study
    from .sample import prepare_sample

    study = load_study(args.study)
    sample = prepare_sample(study, args.data)
    flow = sample.flow
    groups = f"{flow.treated} treated, {flow.control} control"
    if study.treatment.dose:
        groups = f"{flow.control} at or below the reference dose, {flow.treated} above it"
    elif study.treatment.multivalued:
        reference = study.treatment.reference
        groups = f"{flow.control} at the reference {reference}, {flow.treated} at another level"
    analysed = f"{flow.analysed} {study.unit_label} analysed"
    if study.panel is not None:  # long data: rows, and the units behind them
        units = sample.frame[study.panel.id].nunique()
        analysed = f"{flow.analysed} rows of {units} {study.unit_label} analysed"
        groups = groups.replace("treated,", "treated rows,").replace("control", "control rows")
    print(f"{args.study}: valid ({study.name}; {analysed}, {groups})")


def _run(args: argparse.Namespace) -> None:
    from .config.study import load_study
    from .pipeline import run_study

    study = load_study(args.study)
    out = Path(args.out) if args.out else Path("results") / study.name
    results = run_study(study, data_path=args.data, out_dir=out, quiet=args.quiet)
    if not args.quiet:
        print(results.summary())
        print(f"\nresults written to {out}/")
    not_run = json.loads((out / "results.json").read_text(encoding="utf-8"))["not_run"]
    if args.strict and not_run:
        first = not_run[0]
        raise ReimpactError(
            "--strict",
            f"{len(not_run)} check(s) could not run, first {first['check']}: {first['reason']} "
            f"(results written to {out}/)",
        )


def _run_many(args: argparse.Namespace) -> int:
    from .batch import run_many

    result = run_many(
        args.studies, args.out, grid=args.grid, backend=args.backend, n_jobs=args.n_jobs,
        scheduler=args.scheduler, resume=args.resume, quiet=args.quiet,
    )  # fmt: skip
    for record in result.failures:
        task = record.task
        print(f"reimpact: task failed: {task.name} ({task.source}): {record.error}", file=sys.stderr)
    if not args.quiet:
        counts = result.counts()
        print(
            f"{len(result.records)} task(s): {counts['done']} run, {counts['resumed']} complete "
            f"already (skipped), {counts['failed']} failed; summary in {result.out_dir}/summary.csv"
        )
    return 2 if result.failures else 0


def _simulate(args: argparse.Namespace) -> None:
    from .datasets import simulate_returnees
    from .io import write_table

    if args.n < 50:
        raise ReimpactError("--n", "simulate at least 50 returnees")
    cohort = simulate_returnees(n=args.n, seed=args.seed)
    path = write_table(cohort.data, args.out)
    message = f"{len(cohort.data)} simulated returnees written to {path}"
    if args.truth:
        truth = write_table(cohort.truth, args.truth)
        message += f"; true effects written to {truth}"
    print(message)


def _score(args: argparse.Namespace) -> None:
    from .io import read_table, write_table
    from .scoring import load_scheme, score

    if args.min_answered is not None and not 0 < args.min_answered <= 1:
        raise ReimpactError(
            "--min-answered", f"must be a share in (0, 1], e.g. 0.5; got {args.min_answered}"
        )
    raw_path, out_path = Path(args.raw), Path(args.out)
    if not raw_path.is_file():
        raise ReimpactError(str(raw_path), "file not found; check the path")
    if out_path.resolve() == raw_path.resolve():
        raise ReimpactError("--out", "must differ from the input file (input files are never modified)")
    scheme = load_scheme(args.scheme)
    scored = score(read_table(raw_path), scheme, args.min_answered)
    write_table(scored, out_path)
    print(f"{len(scored)} rows scored with scheme '{scheme.name}' written to {out_path}")


def _audit(args: argparse.Namespace) -> int:
    from .disclosure import audit

    path = Path(args.results) / "results.json"
    if not path.is_file():
        raise ReimpactError(str(path), "not found; name the folder a 'reimpact run' wrote")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        report = payload["study"]["report"]
    except (ValueError, KeyError, TypeError):
        raise ReimpactError(str(path), "is not a results.json written by reimpact") from None
    k = args.min_cell_size or report["min_cell_size"]
    findings = audit(payload, k, report.get("rounding"))
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} disclosure problem(s) in {args.results} (k = {k})", file=sys.stderr)
        return 1
    print(f"{args.results}: no count under {k} and nothing recoverable by subtraction")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reimpact",
        description="Causal impact evaluation of reintegration assistance for returning migrants.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a study file and its data")
    validate.add_argument("study", help="study file (YAML)")
    validate.add_argument("--data", help="data file that replaces the study's data source")
    validate.set_defaults(handler=_validate)

    run = commands.add_parser("run", help="run a study and write results.json and the report")
    run.add_argument("study", help="study file (YAML)")
    run.add_argument("--data", help="data file that replaces the study's data source")
    run.add_argument("--out", help="output folder (default: results/<study name>)")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.add_argument(
        "--strict",
        action="store_true",
        help="exit 2 when a sensitivity check, refutation, subgroup analysis or figure could not run "
        "(by default it is recorded under 'not_run' and the run succeeds)",
    )
    run.set_defaults(handler=_run)

    many = commands.add_parser(
        "run-many", help="run many studies, or a grid of variations of one, as parallel tasks"
    )
    many.add_argument("studies", nargs="+", metavar="STUDY", help="study files (YAML)")
    many.add_argument("--grid", help="grid file: study fields to vary, every combination a task")
    many.add_argument("--out", required=True, help="output folder: one folder per task, summary.csv")
    many.add_argument(
        "--backend",
        default="loky",
        metavar="{" + ",".join(BACKENDS) + "}",
        help="where the tasks run: sequential, loky (default: processes on this machine), dask, ray",
    )
    many.add_argument(
        "--scheduler", help="address of an existing Dask scheduler (tcp://host:8786) or Ray cluster"
    )
    many.add_argument("--n-jobs", type=int, help="parallel workers (default: every core)")
    many.add_argument("--resume", action="store_true", help="skip tasks whose outputs are complete")
    many.add_argument("--quiet", action="store_true", help="print nothing but errors and failures")
    many.set_defaults(handler=_run_many)

    check = commands.add_parser(
        "audit", help="check a run's outputs for counts under the minimum cell size"
    )
    check.add_argument("results", help="the folder a 'reimpact run' wrote")
    check.add_argument(
        "--min-cell-size", type=int, help="threshold to check against (default: the study's)"
    )
    check.set_defaults(handler=_audit)

    simulate = commands.add_parser("simulate", help="write a simulated returnee cohort")
    simulate.add_argument("--n", type=int, default=20000, help="number of returnees (default 20000)")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    simulate.add_argument("--out", required=True, help="output file (.csv, .parquet, .xlsx, .dta)")
    simulate.add_argument("--truth", help="also write the true effects to this file")
    simulate.set_defaults(handler=_simulate)

    score = commands.add_parser("score", help="add reintegration scores to a raw survey export")
    score.add_argument("raw", help="raw export (.csv, .parquet, .xlsx, .dta)")
    score.add_argument(
        "--scheme",
        default="illustrative",
        help="scheme file (default: the shipped illustrative equal-weight scheme)",
    )
    score.add_argument(
        "--min-answered",
        type=float,
        default=None,
        help="share of a dimension's weight that must be answered (default: scheme's)",
    )
    score.add_argument("--out", required=True, help="output file (.csv, .parquet, .xlsx, .dta)")
    score.set_defaults(handler=_score)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            # what a user must know reaches results.json and the report; libraries' warnings
            # (a file's fallback encoding, a convergence note) would break the one-line contract
            warnings.simplefilter("ignore")
            status = args.handler(args)
    except ReimpactError as exc:
        print(f"reimpact: error: {exc}", file=sys.stderr)
        return 2
    return status or 0


def finish(status: int) -> NoReturn:
    """End the process as the ``reimpact`` command does: flush the output, run the exit handlers
    (joblib's clean-up of its memory-mapped files, logging), then exit without the interpreter's
    teardown of every module and object, which with numba's LLVM, pandas and matplotlib loaded
    takes about half a second of every command (0.6 s after a whole run). While another thread
    lives (joblib's pool of worker processes after the refutations) Python exits as usual: such
    pools are wound down by the interpreter's own shutdown sequence, which must run first."""
    import atexit
    import os
    import threading

    if threading.active_count() > 1:
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be written there
            pass
    atexit._run_exitfuncs()
    os._exit(status)


def console() -> NoReturn:
    """The ``reimpact`` command: one ``malloc`` arena for the whole process
    (:func:`~reimpact.memory.one_malloc_arena`), :func:`main`, then :func:`finish` (an
    unexpected error still ends with Python's usual traceback and teardown)."""
    from .memory import one_malloc_arena

    one_malloc_arena()
    finish(main())


if __name__ == "__main__":
    console()
