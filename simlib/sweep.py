"""Sweeps and replications: how a KPI moves as a parameter moves, with its uncertainty.

A sweep runs a base scenario at every point of a grid of dotted-path values, several
times each. Replication ``r`` uses the same seed at every point, so the points share
their random numbers (arrivals, durations, failures) and differences between points are
the parameter's doing, not the dice's: paired comparisons. Runs are independent, so
they are listed first (:func:`plan`) and then executed by one of three executors:

- local worker processes when they pay (the default, ``workers="auto"``: the first run
  is timed here, and the rest go to every CPU only if they would take more than a few
  seconds, so a notebook's small sweep pays no start-up), or always (``workers=N``);
- in this process, one run after another (``workers=1``);
- a Dask cluster (``client=`` a ``distributed.Client``, or ``scheduler="tcp://..."``).

Whatever the executor, a sweep returns the same rows in the same (plan) order, because
each run's seed comes from the plan, not from who runs it or when.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures import as_completed as futures_as_completed

import numpy as np
import pandas as pd

from simlib.engine import simulate
from simlib.errors import ScenarioError
from simlib.scenario import Scenario

# two-sided 95 % Student-t quantiles by degrees of freedom (1..30); normal beyond
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)


def t95(dof: int) -> float:
    """Two-sided 95 % Student-t quantile for ``dof`` degrees of freedom."""
    if dof < 1:
        return math.nan
    return _T95[dof - 1] if dof <= len(_T95) else 1.96


def plan(base: Scenario, grid: Mapping[str, Sequence], replications: int = 1,
         seed: int = 0) -> list[tuple[dict, int]]:
    """Every (changes, seed) pair of a sweep, point by point, replication by replication.

    Raises :class:`ScenarioError` for an unknown path or a value out of range, before
    anything runs.
    """
    if not isinstance(replications, int) or isinstance(replications, bool) or replications < 1:
        raise ScenarioError("replications", replications, "an integer >= 1")
    paths = list(grid)
    for path in paths:
        values = grid[path]
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ScenarioError(path, values, "a list of values to sweep")
    runs = []
    for combo in itertools.product(*(list(grid[p]) for p in paths)):
        changes = dict(zip(paths, combo))
        base.with_changes(changes)  # validate every point up front
        runs.extend((changes, seed + r) for r in range(replications))
    return runs


def run_point(base: Scenario, changes: dict, seed: int) -> dict:
    """One run of a sweep as a flat row: the swept values, the seed and the summary."""
    result = simulate(base.with_changes(changes), seed=seed)
    return {**changes, "seed": seed, **result.summary}


Progress = Callable[[int, int], None]


def cpu_count() -> int:
    """CPUs this process may use (its affinity mask where the OS has one), at least 1."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def sweep(base: Scenario, grid: Mapping[str, Sequence], replications: int = 1, seed: int = 0,
          progress: Progress | None = None, *, workers: int | str | None = "auto",
          executor: Executor | None = None, client=None, scheduler: str | None = None,
          chunksize: int | None = None) -> pd.DataFrame:
    """Run ``base`` over ``grid`` (dotted path -> values) with ``replications`` seeds each.

    Returns one tidy row per run, in plan order whatever the executor: a column per
    swept path, ``seed``, and every summary KPI. ``progress(done, total)`` is called
    as runs complete (after each run in process, after each batch of runs elsewhere).

    Where the runs go:

    - ``workers="auto"`` (the default): local processes when they pay. The first run
      is timed in this process; if the rest would take more than
      ``AUTO_POOL_AFTER_S`` seconds here, they go to a pool of every CPU, else they run
      here too. A notebook's sweep of a few dozen short runs is done before a pool
      would have started; an architect's sweep of hundreds of long runs uses the cores.
    - ``workers=1``: one after another in this process (a traceback points into the
      model, not into a worker).
    - ``workers=N`` (``None``: every CPU this process may use): a local pool of
      processes, started with ``fork`` only where that is safe (Linux, a single-threaded
      process such as a plain script), else ``forkserver`` or ``spawn``.
      The runs are sent in contiguous batches, about four per worker, so the cost of
      shipping a task stays small next to the simulation.
    - ``executor=``: any ``concurrent.futures.Executor`` you own, e.g. one pool kept
      open across several sweeps in a notebook to pay its start-up once.
    - ``client=`` a ``dask.distributed.Client``, or ``scheduler="tcp://host:8786"``
      (a client is opened and closed for this sweep): the batches run on the Dask
      cluster, whose workers need ``simlib`` installed and, for ``workload.trace_path``,
      the trace file at the same path.

    At most one of ``executor``, ``client`` and ``scheduler`` may be given; with one of
    them ``workers`` is ignored (``ValueError`` for more than one). Raises
    :class:`ScenarioError` for a bad grid (before anything runs) or a bad ``workers`` or
    ``chunksize``.
    """
    runs = plan(base, grid, replications, seed)
    return pd.DataFrame(execute(base, runs, progress, workers=workers, executor=executor,
                                client=client, scheduler=scheduler, chunksize=chunksize))


def execute(base: Scenario, runs: Sequence[tuple[dict, int]], progress: Progress | None = None,
            *, workers: int | str | None = "auto", executor: Executor | None = None,
            client=None, scheduler: str | None = None,
            chunksize: int | None = None) -> list[dict]:
    """The rows of ``runs`` (from :func:`plan`), in their order; see :func:`sweep`."""
    given = [name for name, v in (("executor", executor), ("client", client),
                                  ("scheduler", scheduler)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one of executor=, client=, scheduler= (got "
                         f"{', '.join(given)})")
    if chunksize is not None and (not isinstance(chunksize, int) or isinstance(chunksize, bool)
                                  or chunksize < 1):
        raise ScenarioError("chunksize", chunksize, "an integer >= 1, or None")
    runs = list(runs)
    total = len(runs)
    if client is not None or scheduler is not None:
        return _on_dask(base, runs, progress, client, scheduler, chunksize)
    if executor is not None:
        parallel = getattr(executor, "_max_workers", None) or cpu_count()
        return _gather(executor.submit, futures_as_completed,
                       _batches(base, runs, parallel, chunksize), progress, total)
    if workers == "auto":
        return _auto(base, runs, progress, chunksize)
    n = _resolve_workers(workers)
    if n == 1 or total <= 1:
        return _in_process(base, runs, progress)
    return _on_processes(base, runs, progress, n, chunksize)


def _on_processes(base: Scenario, runs: list, progress: Progress | None, n: int,
                  chunksize: int | None) -> list[dict]:
    batches = _batches(base, runs, n, chunksize)
    with ProcessPoolExecutor(max_workers=min(n, len(batches)),
                             mp_context=_process_context()) as pool:
        return _gather(pool.submit, futures_as_completed, batches, progress, len(runs))


# Work left (estimated from the first run) above which a pool of processes pays for its
# start: a forkserver pool's first start costs one to three seconds on a small machine.
AUTO_POOL_AFTER_S = 3.0


def _auto(base: Scenario, runs: list, progress: Progress | None,
          chunksize: int | None) -> list[dict]:
    """Time the first run here; send the rest to every CPU only if they would take long."""
    n, total = cpu_count(), len(runs)
    if n == 1 or total <= 1:
        return _in_process(base, runs, progress)
    started = time.perf_counter()
    first = run_point(base, *runs[0])
    elapsed = time.perf_counter() - started
    if progress is not None:
        progress(1, total)
    rest = runs[1:]
    shifted = None if progress is None else (lambda done, _: progress(done + 1, total))
    if elapsed * len(rest) <= AUTO_POOL_AFTER_S:
        return [first, *_in_process(base, rest, shifted)]
    return [first, *_on_processes(base, rest, shifted, n, chunksize)]


def _resolve_workers(workers) -> int:
    if workers is None:
        return cpu_count()
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ScenarioError("workers", workers,
                            "an integer >= 1, None for every CPU, or 'auto'")
    return workers


def _process_context():
    """How to start worker processes: fork when it is safe, else forkserver or spawn.

    Plain fork copies the parent mid-flight, locks held by its other threads included:
    a Jupyter kernel (ZeroMQ threads) or a test run with a Dask cluster can leave a
    forked child waiting forever. So fork is used only on Linux and only while this
    process runs a single Python thread (a plain script): then it is safe, and, unlike
    the other methods, it does not re-run the script in each worker, so a script that
    calls :func:`sweep` needs no ``if __name__ == "__main__":`` guard.

    Otherwise a forkserver (forks from a clean, single-threaded server) where the
    platform has one, else spawn (Windows). The forkserver is asked to preload
    ``simlib.sweep`` (next to ``__main__``, its default), so a pool's workers start with
    the model imported: the first pool in a process costs as much as spawn, later ones
    (a notebook's next sweep) almost nothing. This replaces a preload list set elsewhere,
    and has no effect once the server runs. The server lives as long as this process:
    after editing simlib's own code in a running notebook, restart the kernel.
    """
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "simlib.sweep"])
    return context


class _Batch:
    """A contiguous slice of a plan, run wherever it lands (a process or a Dask worker).

    A callable object rather than a function and its arguments, because Dask looks
    inside a task's arguments for nested tasks (a tuple that starts with a callable,
    a dataclass, ...); an object it does not know travels as it is.
    """

    def __init__(self, base: Scenario, runs: list[tuple[dict, int]]):
        self.base = base
        self.runs = runs

    def __call__(self) -> list[dict]:
        return [run_point(self.base, changes, s) for changes, s in self.runs]


def _batches(base: Scenario, runs: list, parallel: int, chunksize: int | None) -> list[_Batch]:
    """About four batches per worker: few enough to keep shipping cheap, enough to balance."""
    size = chunksize or max(1, math.ceil(len(runs) / (4 * max(parallel, 1))))
    return [_Batch(base, runs[i:i + size]) for i in range(0, len(runs), size)]


def _in_process(base: Scenario, runs: list, progress: Progress | None) -> list[dict]:
    rows = []
    for i, (changes, s) in enumerate(runs, 1):
        rows.append(run_point(base, changes, s))
        if progress is not None:
            progress(i, len(runs))
    return rows


def _gather(submit, as_completed, batches: list[_Batch], progress: Progress | None,
            total: int) -> list[dict]:
    """Submit every batch, report progress as they finish, return rows in plan order."""
    futures = {submit(batch): i for i, batch in enumerate(batches)}
    parts: list[list[dict] | None] = [None] * len(batches)
    done = 0
    try:
        for future in as_completed(list(futures)):
            i = futures[future]
            parts[i] = future.result()
            done += len(batches[i].runs)
            if progress is not None:
                progress(done, total)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return [row for part in parts for row in part]


def _on_dask(base: Scenario, runs: list, progress: Progress | None, client, scheduler,
             chunksize: int | None) -> list[dict]:
    """Run the batches on a Dask cluster; Dask is imported only here (an optional extra)."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "sweeping on Dask needs dask.distributed: pip install 'serverless-lab[dask]'"
        ) from exc
    own = client is None
    if own:
        client = distributed.Client(scheduler)
    try:
        parallel = sum(client.nthreads().values()) or 1
        batches = _batches(base, runs, parallel, chunksize)
        return _gather(lambda batch: client.submit(batch, pure=False), distributed.as_completed,
                       batches, progress, len(runs))
    finally:
        if own:
            client.close()


def summarize(runs: pd.DataFrame, by: Sequence[str] | str,
              kpis: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean and 95 % confidence interval half-width of each KPI per sweep point.

    Columns: the ``by`` columns, ``n`` (replications), then ``<kpi>_mean`` and
    ``<kpi>_ci95`` for each KPI (half-width, Student-t; NaN with one replication).
    """
    by = [by] if isinstance(by, str) else list(by)
    if kpis is None:
        kpis = [c for c in runs.columns if c not in by and c != "seed"
                and pd.api.types.is_numeric_dtype(runs[c])]
    missing = [c for c in [*by, *kpis] if c not in runs.columns]
    if missing:
        raise KeyError(f"columns not in the sweep's runs: {missing}")
    groups = runs.groupby(by, sort=False, dropna=False)
    out = groups.size().rename("n").to_frame()
    for k in kpis:
        mean = groups[k].mean()
        std = groups[k].std(ddof=1)
        half = std / np.sqrt(out["n"]) * out["n"].map(lambda n: t95(int(n) - 1))
        out[f"{k}_mean"] = mean
        out[f"{k}_ci95"] = half
    return out.reset_index()
