"""Where parallel work runs: one joblib configuration for every backend reimpact offers.

reimpact schedules nothing itself. Every parallel part calls ``joblib.Parallel`` without naming a
backend, so it runs wherever the enclosing :func:`joblib.parallel_config` says, as scikit-learn's
estimators do: the tasks of ``reimpact run-many`` (:mod:`reimpact.batch`), and the refutation
simulations (:func:`reimpact.sensitivity.refutation.refute`, ``refutations.n_jobs`` of them at a
time), so that ``with parallel_backend("dask"): run_study(study)`` sends the simulations to a
Dask cluster. The backends:

* ``sequential``: everything in the calling process, one after another;
* ``loky``: worker processes on this machine (joblib's default), each limited to one thread for
  BLAS and OpenMP (``inner_max_num_threads=1``), so that n workers use n cores;
* ``dask``: the workers of a ``distributed.Client``: a ``LocalCluster`` of single-threaded worker
  processes started for the run, or an existing cluster at ``scheduler``
  (``tcp://host:8786``); needs the ``dask`` extra (``pip install 'reimpact[dask]'``);
* ``ray``: Ray's joblib backend (``ray.util.joblib.register_ray``) on a local Ray instance
  started for the run, or the cluster at ``scheduler``; needs the ``ray`` extra.

The tasks of ``run-many`` run their inner work single-threaded (:func:`single_threaded`), on
every backend: n tasks on n cores, not n tasks each starting n threads, and sums in one order, so
that the backend changes no digit of the results (a multi-threaded BLAS splits a sum differently
with another number of threads).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Literal, get_args

from .exceptions import ReimpactError

Backend = Literal["sequential", "loky", "dask", "ray"]
BACKENDS: tuple[str, ...] = get_args(Backend)


def check_backend(backend: str, n_jobs: int | None = None, scheduler: str | None = None) -> None:
    """Refuse, with one line naming the option, an unknown backend, a number of jobs under 1, or
    a scheduler address for a backend that has none."""
    if backend not in BACKENDS:
        raise ReimpactError("--backend", f"expecting one of {', '.join(BACKENDS)}; got '{backend}'")
    if n_jobs is not None and n_jobs < 1:
        raise ReimpactError("--n-jobs", f"must be at least 1, got {n_jobs}")
    if scheduler is not None and backend not in ("dask", "ray"):
        raise ReimpactError("--scheduler", "only --backend dask or ray connect to a scheduler")


@contextmanager
def parallel_backend(
    backend: Backend, n_jobs: int | None = None, scheduler: str | None = None
) -> Iterator[None]:
    """Run the ``joblib.Parallel`` calls inside on ``backend``.

    Parameters
    ----------
    backend : {"sequential", "loky", "dask", "ray"}
        Where the work runs (see the module's docstring).
    n_jobs : int or None
        Workers to use: for ``loky`` the processes (default: every core), for a local Dask
        cluster its worker processes (default: every core), for a local Ray instance its CPUs
        (default: every core). An existing cluster (``scheduler``) uses all its workers.
    scheduler : str or None
        The address of an existing Dask scheduler (``tcp://host:8786``) or Ray cluster
        (``ray://host:10001``); None starts a local one for the duration of the block and stops
        it afterwards.

    Raises
    ------
    ReimpactError
        When the backend is unknown, its extra is not installed, or the scheduler cannot be
        reached; the message names the option and the fix.
    """
    check_backend(backend, n_jobs, scheduler)
    from joblib import parallel_config

    with ExitStack() as stack:
        if backend == "sequential":
            stack.enter_context(parallel_config(backend="sequential"))
        elif backend == "loky":
            stack.enter_context(
                parallel_config(backend="loky", n_jobs=n_jobs or -1, inner_max_num_threads=1)
            )
        elif backend == "dask":
            stack.enter_context(_dask_client(n_jobs, scheduler))
            stack.enter_context(parallel_config(backend="dask", n_jobs=-1))
        else:
            stack.enter_context(_ray_instance(n_jobs, scheduler))
            stack.enter_context(parallel_config(backend="ray", n_jobs=-1))
        yield


@contextmanager
def _dask_client(n_workers: int | None, scheduler: str | None) -> Iterator[None]:
    """A ``distributed.Client`` for the block: on ``scheduler``, or on a local cluster of
    single-threaded worker processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ReimpactError(
            "--backend dask", "needs the dask extra: pip install 'reimpact[dask]'"
        ) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError) as exc:
            raise ReimpactError("--scheduler", f"cannot connect to {scheduler}: {exc}") from None
        with client:
            yield
        return
    try:
        cluster = LocalCluster(
            n_workers=n_workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    except (OSError, RuntimeError, TimeoutError) as exc:
        raise ReimpactError(
            "--backend dask",
            f"could not start a local Dask cluster ({exc}); a Python script must "
            "start it under 'if __name__ == \"__main__\":'",
        ) from None
    with cluster, Client(cluster):
        yield


@contextmanager
def _ray_instance(n_cpus: int | None, address: str | None) -> Iterator[None]:
    """Ray's joblib backend registered and a Ray instance for the block: the cluster at
    ``address``, or a local one (stopped afterwards; one already running is left alone)."""
    try:
        import ray
        from ray.util.joblib import register_ray
    except ImportError:
        raise ReimpactError(
            "--backend ray", "needs the ray extra: pip install 'reimpact[ray]'"
        ) from None
    register_ray()
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(
                address=address,
                num_cpus=None if address else n_cpus,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ReimpactError("--scheduler", f"cannot connect to Ray at {address}: {exc}") from None
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def inner_workers() -> int:
    """How many cores a run's own inner work (balance statistics by covariate, the report's
    figures) may use: the cores this process may run on, or 1 when the run is one of many parallel
    tasks (inside :func:`single_threaded`, or any block whose joblib backend is sequential)."""
    from joblib import effective_n_jobs

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, effective_n_jobs(-1)))


THREADED_ROWS = 50_000  # below, threads over a run's inner work cost more than they save


def inner_threads(n: int) -> int:
    """Threads for inner work on ``n`` units (the balance statistics by covariate, the slow
    sensitivity checks side by side): :func:`inner_workers` from ``THREADED_ROWS`` units, else 1."""
    return inner_workers() if n >= THREADED_ROWS else 1


@contextmanager
def single_threaded() -> Iterator[None]:
    """Inner work on one thread: BLAS and OpenMP pools limited to one thread (threadpoolctl), the
    numba kernels of matching too, and any ``joblib.Parallel`` inside (refutation simulations)
    run sequentially, whatever its ``n_jobs``. For work that is already one of many parallel
    tasks (loky sets the same limits in its workers' environment; Dask and Ray workers do not)."""
    import numba
    from joblib import parallel_config
    from threadpoolctl import threadpool_limits

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1), parallel_config(backend="sequential"):
            yield
    finally:
        numba.set_num_threads(threads)
