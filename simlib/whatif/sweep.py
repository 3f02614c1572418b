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

A long sweep must survive one bad run. When a worker process dies (a signal, the
kernel's out-of-memory killer), the runs it may have been running are retried, each
alone, and a run that kills its worker again is reported as a :class:`RunFailure`
naming its point and seed; every other run still gives its row, and the sweep ends
with a :class:`SweepError` carrying both (see :func:`sweep`). :class:`RunsFile` writes
rows to disk as they finish, so an interrupted sweep keeps them and can be resumed.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from concurrent.futures import as_completed as futures_as_completed
from typing import NamedTuple

import numpy as np
import pandas as pd

from simlib.core.errors import ScenarioError
from simlib.core.scenario import Scenario
from simlib.engine import simulate

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
RunFn = Callable[[Scenario, dict, int], dict]
OnRow = Callable[[int, dict], None]


def describe_point(changes: Mapping, seed: int) -> str:
    """``mapping.batch_size=10, seed=4``: how a report names one run of a sweep."""
    return ", ".join([*(f"{path}={value!r}" for path, value in changes.items()),
                      f"seed={seed}"])


class RunFailure(NamedTuple):
    """One run that gave no row, with its place in the plan and why, for the report."""

    index: int
    changes: dict
    seed: int
    reason: str

    def __str__(self) -> str:
        return f"{describe_point(self.changes, self.seed)}: {self.reason}"


class SweepError(RuntimeError):
    """Some runs of a sweep gave no row; the others did, and are kept here.

    Raised only after every other run has finished, so a notebook loses nothing:
    ``err.rows`` holds the finished rows in plan order (``err.frame()`` as a
    DataFrame, like :func:`sweep`'s result minus the failed rows) and
    ``err.failures`` one :class:`RunFailure` per missing run.
    """

    def __init__(self, rows: list[dict], failures: list[RunFailure], total: int):
        self.rows = rows
        self.failures = failures
        self.total = total
        shown = "; ".join(str(f) for f in failures[:3])
        more = f"; and {len(failures) - 3} more" if len(failures) > 3 else ""
        super().__init__(f"{len(failures)} of {total} runs failed ({shown}{more}); the "
                         f"other {len(rows)} rows are in this error's .rows")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)


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
          chunksize: int | None = None, run: RunFn | None = None,
          on_row: OnRow | None = None) -> pd.DataFrame:
    """Run ``base`` over ``grid`` (dotted path -> values) with ``replications`` seeds each.

    Returns one tidy row per run, in plan order whatever the executor: a column per
    swept path, ``seed``, and every summary KPI. ``progress(done, total)`` is called
    as runs complete (after each run in process, after each batch of runs elsewhere).
    ``on_row(index, row)`` is called in this process as each row arrives (``index`` in
    :func:`plan`'s list; arrival order, not plan order), so a caller can save rows as
    they come (:class:`RunsFile`). ``run(base, changes, seed) -> row`` replaces
    :func:`run_point` (extra columns computed where the run happens; a test that kills
    a worker); it must be a top-level function, because it travels to the workers.

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

    When a worker dies mid-run (killed by a signal or for lack of memory):

    - local processes: the pool is replaced and the unfinished runs go on. The runs
      that were in flight when it died are retried first, each alone in its own
      process, so the one to blame is known: a run whose lone process dies too (its
      second death) is a :class:`RunFailure` ("killed by SIGKILL", ...) and is not
      tried again; the others give their rows.
    - Dask: the scheduler already retries a task whose worker died, up to its
      ``distributed.scheduler.allowed-failures`` (default 3); a batch it gives up on
      is split and each of its runs is sent alone, and a run Dask gives up on alone is
      a :class:`RunFailure`, not a ``KilledWorker`` traceback.
    - ``executor=``: a sweep cannot rebuild a pool it does not own, so once it breaks
      every run not yet finished is a :class:`RunFailure` saying so.

    If any run failed, :class:`SweepError` is raised after all the others finished,
    with their rows (``err.frame()``) and the failures. An exception raised by the
    model itself is not a worker death: it stops the sweep as before, with a note
    naming the run.

    At most one of ``executor``, ``client`` and ``scheduler`` may be given; with one of
    them ``workers`` is ignored (``ValueError`` for more than one). Raises
    :class:`ScenarioError` for a bad grid (before anything runs) or a bad ``workers`` or
    ``chunksize``.
    """
    runs = plan(base, grid, replications, seed)
    try:
        rows = execute(base, runs, progress, workers=workers, executor=executor,
                       client=client, scheduler=scheduler, chunksize=chunksize, run=run,
                       on_row=on_row)
    except SweepError as exc:
        raise SweepError(exc.rows, exc.failures, exc.total) from None
    return pd.DataFrame(rows)


def execute(base: Scenario, runs: Sequence[tuple[dict, int]], progress: Progress | None = None,
            *, workers: int | str | None = "auto", executor: Executor | None = None,
            client=None, scheduler: str | None = None, chunksize: int | None = None,
            run: RunFn | None = None, on_row: OnRow | None = None) -> list[dict]:
    """The rows of ``runs`` (from :func:`plan`), in their order; see :func:`sweep`."""
    given = [name for name, v in (("executor", executor), ("client", client),
                                  ("scheduler", scheduler)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one of executor=, client=, scheduler= (got "
                         f"{', '.join(given)})")
    if chunksize is not None and (not isinstance(chunksize, int) or isinstance(chunksize, bool)
                                  or chunksize < 1):
        raise ScenarioError("chunksize", chunksize, "an integer >= 1, or None")
    todo = [_Run(i, changes, s) for i, (changes, s) in enumerate(runs)]
    # run_point is looked up now, not bound as a default, so a test may replace it
    tracker = _Tracker(run if run is not None else run_point, len(todo), progress, on_row)
    if client is not None or scheduler is not None:
        _on_dask(base, todo, tracker, client, scheduler, chunksize)
    elif executor is not None:
        parallel = getattr(executor, "_max_workers", None) or cpu_count()
        _on_executor(executor, _batches(base, todo, parallel, chunksize, tracker.run), tracker)
    elif workers == "auto":
        _auto(base, todo, tracker, chunksize)
    else:
        n = _resolve_workers(workers)
        if n == 1 or len(todo) <= 1:
            _in_process(base, todo, tracker)
        else:
            _on_processes(base, todo, tracker, n, chunksize)
    return tracker.result()


class _Run(NamedTuple):
    """One run of the plan with its place in it, so a row or a failure finds its slot."""

    index: int
    changes: dict
    seed: int


class _Tracker:
    """What a sweep has so far, whichever executor runs it: rows and failures by plan
    index, and the caller's callbacks. One object, so an executor that is restarted
    (a broken pool) or split (``auto``) keeps counting from where it was."""

    def __init__(self, run: RunFn, total: int, progress: Progress | None,
                 on_row: OnRow | None):
        self.run = run
        self.total = total
        self.progress = progress
        self.on_row = on_row
        self.rows: dict[int, dict] = {}
        self.failures: dict[int, RunFailure] = {}

    def settled(self, index: int) -> bool:
        return index in self.rows or index in self.failures

    def deliver(self, pairs: Sequence[tuple[int, dict]]) -> None:
        for index, row in pairs:
            self.rows[index] = row
            if self.on_row is not None:
                self.on_row(index, row)
        self._report()

    def fail(self, run: _Run, reason: str) -> None:
        self.failures[run.index] = RunFailure(run.index, run.changes, run.seed, reason)
        self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(len(self.rows) + len(self.failures), self.total)

    def result(self) -> list[dict]:
        rows = [self.rows[i] for i in sorted(self.rows)]
        if self.failures:
            raise SweepError(rows, [self.failures[i] for i in sorted(self.failures)],
                             self.total)
        return rows


def _on_processes(base: Scenario, runs: list[_Run], tracker: _Tracker, n: int,
                  chunksize: int | None) -> None:
    """A local pool, replaced whenever a worker dies, until every run is settled.

    concurrent.futures gives up on a whole pool when one worker dies, and does not say
    which task was running there. So each run leaves a marker file (its plan index) in
    a folder of this pool while it runs: after a death, the markers left are the runs
    that were in flight (the culprit, and the neighbours the pool then terminated).
    Those are settled first, each alone in its own process (:func:`_alone`), where a
    death has one suspect; the rest go to a fresh pool. A pool that dies twice in a row
    with no marker left and no row gained (a worker killed between runs, over and
    over) would loop forever: its runs are then failed instead.
    """
    context = _process_context()
    fruitless = 0
    while True:
        todo = [r for r in runs if not tracker.settled(r.index)]
        if not todo:
            return
        settled_before = len(tracker.rows) + len(tracker.failures)
        with tempfile.TemporaryDirectory(prefix="simlib-sweep-") as marks:
            batches = _batches(base, todo, n, chunksize, tracker.run, marks)
            pool = ProcessPoolExecutor(max_workers=min(n, len(batches)), mp_context=context,
                                       initializer=_watch_parent)
            try:
                broken = _collect(pool.submit, futures_as_completed, batches, tracker)
            except BaseException:
                _abandon(pool)
                raise
            pool.shutdown()
            if not broken:
                return
            in_flight = {int(name) for name in os.listdir(marks) if name.isdigit()}
        suspects = [r for r in todo if r.index in in_flight and not tracker.settled(r.index)]
        _alone(base, suspects, tracker, context)
        if suspects or len(tracker.rows) + len(tracker.failures) > settled_before:
            fruitless = 0
            continue
        fruitless += 1
        if fruitless >= 2:
            for r in todo:
                tracker.fail(r, "not run: the pool's worker processes kept dying between "
                             "runs")
            return


def _watch_parent() -> None:
    """In a pool's worker: exit when the process running the sweep is gone.

    A worker waits for work on a queue whose writing end its siblings hold too, so it
    never sees that the sweep's process was killed (SIGKILL, SIGTERM, a CI timeout):
    it would idle forever, holding its memory. A thread that waits on the parent ends it.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=wait, name="simlib-sweep-watch-parent", daemon=True).start()


def _abandon(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now (Ctrl-C, an error): its batches in flight would be thrown away, so
    waiting for them, as leaving a ``with`` block does, only delays the exit. The
    workers are terminated through the pool's private process table, as
    concurrent.futures itself does when a pool breaks; without it, they finish first."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


def _collect(submit, as_completed, batches: list[_Batch], tracker: _Tracker) -> bool:
    """Submit every batch and deliver the rows of those that finish; True if the pool
    broke (a worker died), in which case the rest are left unsettled for the caller."""
    futures = {}
    broken = False
    try:
        for batch in batches:
            try:
                futures[submit(batch)] = batch
            except BrokenExecutor:
                broken = True
                break
        for future in as_completed(list(futures)):
            try:
                pairs = future.result()
            except BrokenExecutor:
                broken = True
                continue
            tracker.deliver(pairs)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return broken


def _on_executor(executor: Executor, batches: list[_Batch], tracker: _Tracker) -> None:
    """Any executor: rows as they come; a broken one fails what is left (it is not ours)."""
    if _collect(executor.submit, futures_as_completed, batches, tracker):
        for batch in batches:
            for r in batch.runs:
                if not tracker.settled(r.index):
                    tracker.fail(r, "not run: the executor broke (one of its worker "
                                 "processes died) and a sweep cannot restart an executor "
                                 "it does not own; use workers= to have it restarted")


def _alone(base: Scenario, runs: list[_Run], tracker: _Tracker, context) -> None:
    """Run each suspect in a process of its own, all at once; a death is its own doing.

    A plain ``multiprocessing.Process`` rather than a one-worker pool, because its exit
    code says how it died (killed by which signal), which the report passes on.
    """
    started = []
    try:
        for r in runs:
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_run_alone, args=(sender, base, tracker.run, r),
                                      name=f"simlib-sweep-run-{r.index}", daemon=True)
            process.start()
            sender.close()  # only the child holds the sending end: its death ends the pipe
            started.append((r, process, receiver))
        for r, process, receiver in started:
            try:
                kind, value = receiver.recv()
            except EOFError:  # died before sending its row
                process.join()
                tracker.fail(r, f"its worker process died twice (once in the pool, then "
                             f"running it alone: {_death(process.exitcode)})")
                continue
            process.join()
            if kind == "error":
                raise value
            tracker.deliver([(r.index, value)])
    finally:
        for _, process, receiver in started:
            if process.is_alive():
                process.terminate()
                process.join()
            receiver.close()


def _run_alone(sender, base: Scenario, run: RunFn, r: _Run) -> None:
    """The child's side of :func:`_alone`: send back the row, or the model's exception."""
    try:
        message = ("row", _one(base, run, r))
    except Exception as exc:
        message = ("error", exc)
    try:
        sender.send(message)
    except Exception as exc:  # an exception that does not pickle
        sender.send(("error", RuntimeError(f"{type(message[1]).__name__}: {message[1]} "
                                           f"(could not be sent back: {exc})")))
    sender.close()


def _death(exitcode: int | None) -> str:
    """How a process ended, in words: its signal's name, or its exit status."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        oom = " (the kernel's out-of-memory killer sends this)" if name == "SIGKILL" else ""
        return f"killed by {name}{oom}"
    return f"exited with status {exitcode} without a result"


# Work left (estimated from the first run) above which a pool of processes pays for its
# start: a forkserver pool's first start costs one to three seconds on a small machine.
AUTO_POOL_AFTER_S = 3.0


def _auto(base: Scenario, runs: list[_Run], tracker: _Tracker,
          chunksize: int | None) -> None:
    """Time the first run here; send the rest to every CPU only if they would take long."""
    n, total = cpu_count(), len(runs)
    if n == 1 or total <= 1:
        _in_process(base, runs, tracker)
        return
    started = time.perf_counter()
    _in_process(base, runs[:1], tracker)
    elapsed = time.perf_counter() - started
    rest = runs[1:]
    if elapsed * len(rest) <= AUTO_POOL_AFTER_S:
        _in_process(base, rest, tracker)
    else:
        _on_processes(base, rest, tracker, n, chunksize)


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


def _one(base: Scenario, run: RunFn, r: _Run) -> dict:
    """One run; an exception from the model gets a note naming the run (it may surface
    far from here, out of a worker)."""
    try:
        return run(base, r.changes, r.seed)
    except Exception as exc:
        exc.add_note(f"in the sweep's run {describe_point(r.changes, r.seed)}")
        raise


class _Batch:
    """A contiguous slice of a plan, run wherever it lands (a process or a Dask worker).

    A callable object rather than a function and its arguments, because Dask looks
    inside a task's arguments for nested tasks (a tuple that starts with a callable,
    a dataclass, ...); an object it does not know travels as it is.

    Returns ``(plan index, row)`` pairs. With ``marks`` (a folder on this machine,
    local pools only), each run keeps an empty file named by its plan index there while
    it runs, which is how a pool whose worker died learns what was in flight.
    """

    def __init__(self, base: Scenario, runs: list[_Run], run: RunFn = run_point,
                 marks: str | None = None):
        self.base = base
        self.runs = runs
        self.run = run
        self.marks = marks

    def __call__(self) -> list[tuple[int, dict]]:
        pairs = []
        for r in self.runs:
            mark = None if self.marks is None else os.path.join(self.marks, str(r.index))
            if mark is not None:
                with open(mark, "wb"):
                    pass
            pairs.append((r.index, _one(self.base, self.run, r)))
            if mark is not None:
                os.remove(mark)
        return pairs


def _batches(base: Scenario, runs: list[_Run], parallel: int, chunksize: int | None,
             run: RunFn = run_point, marks: str | None = None) -> list[_Batch]:
    """About four batches per worker: few enough to keep shipping cheap, enough to balance."""
    size = chunksize or max(1, math.ceil(len(runs) / (4 * max(parallel, 1))))
    return [_Batch(base, runs[i:i + size], run, marks) for i in range(0, len(runs), size)]


def _in_process(base: Scenario, runs: list[_Run], tracker: _Tracker) -> None:
    for r in runs:
        tracker.deliver([(r.index, _one(base, tracker.run, r))])


def _on_dask(base: Scenario, runs: list[_Run], tracker: _Tracker, client, scheduler,
             chunksize: int | None) -> None:
    """Run the batches on a Dask cluster; Dask is imported only here (an optional extra).

    Dask retries a task whose worker died, and after ``allowed-failures`` deaths raises
    ``KilledWorker`` for it, and also for tasks that merely waited on that worker, not
    only the culprit. So the runs of a batch given up on are run again at the end, one
    at a time: alone on the cluster, a run given up on is the culprit, and is reported
    as failed; the others give their rows. (One at a time costs the parallelism of a
    batch or two; worker restarts, which each retry costs, are the dearer part.)
    """
    try:
        import distributed
        from distributed.scheduler import KilledWorker
    except ImportError as exc:
        raise ImportError(
            "sweeping on Dask needs dask.distributed: pip install 'serverless-lab[dask]'"
        ) from exc
    own = client is None
    if own:
        client = distributed.Client(scheduler)
    futures = {}
    try:
        parallel = sum(client.nthreads().values()) or 1
        for batch in _batches(base, runs, parallel, chunksize, tracker.run):
            futures[client.submit(batch, pure=False)] = batch
        suspects = []
        for future in distributed.as_completed(list(futures)):
            batch = futures.pop(future)
            try:
                pairs = future.result()
            except KilledWorker:
                suspects.extend(batch.runs)
                continue
            tracker.deliver(pairs)
        for r in suspects:
            alone = _Batch(base, [r], tracker.run)
            future = client.submit(alone, pure=False)
            futures[future] = alone
            try:
                pairs = future.result()
            except KilledWorker as exc:
                tracker.fail(r, f"its Dask workers died {exc.allowed_failures + 1} time(s) "
                             f"with it in a batch, then {exc.allowed_failures + 1} time(s) "
                             f"running it alone (the scheduler's allowed-failures is "
                             f"{exc.allowed_failures}; the last worker was "
                             f"{exc.last_worker.address})")
            else:
                tracker.deliver(pairs)
            del futures[future]
    except BaseException:
        for future in futures:
            future.cancel()
        raise
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
