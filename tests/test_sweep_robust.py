"""A sweep survives a worker that dies, and keeps its finished rows when it is stopped.

Workers are killed on purpose by :func:`kill_one_point`, a ``run=`` function that
SIGKILLs its own process at one point of the grid, and only in a child process, never
in pytest's own. It is a top-level function of this module, so it reaches forkserver
children and Dask workers by import (pytest puts ``tests/`` on ``sys.path``, which
child processes inherit); the command-line tests patch ``simlib.sweep.run_point`` in a
small script run with its own Python, because the command line has no ``run=``.
"""

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import dask
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import simlib.runs_file
import simlib.sweep
from simlib.cli import main
from simlib.runs_file import RunsFile
from simlib.sweep import SweepError, run_point, sweep
# the same small sweep as test_sweep_parallel (SCENARIO below is BASE as a file)
from test_sweep_parallel import BASE, GRID, REPLICATIONS

SCENARIO = ("workload: {rate_per_s: 5, duration_s: 20}\nfunction: {timeout_s: 5}\n"
            "handler: {failure_rate: 0.1}\ndatabase: null\n")
KILLED = {"queue.visibility_timeout_s": 30, "mapping.batch_size": 10}
KILLED_SEED = 3  # the first replication (seed=3) of the last point
SWEEP_ARGS = ["--set", "queue.visibility_timeout_s=5,30", "--set", "mapping.batch_size=1,10",
              "--replications", "2", "--seed", "3", "--kpis", "executions"]


def kill_one_point(base, changes, seed):
    """run_point, except that the KILLED point's worker process dies by SIGKILL."""
    if (changes == KILLED and seed == KILLED_SEED
            and multiprocessing.parent_process() is not None):
        os.kill(os.getpid(), signal.SIGKILL)
    return run_point(base, changes, seed)


@pytest.fixture(scope="module")
def reference():
    return sweep(BASE, GRID, REPLICATIONS, seed=3, workers=1)


def _without_killed(frame):
    killed = ((frame["queue.visibility_timeout_s"] == 30) & (frame["mapping.batch_size"] == 10)
              & (frame["seed"] == KILLED_SEED))
    assert killed.sum() == 1
    return frame[~killed].reset_index(drop=True)


def _assert_names_the_killed_run(failures):
    assert len(failures) == 1
    failure = failures[0]
    assert (failure.changes, failure.seed) == (KILLED, KILLED_SEED)
    assert str(failure).startswith("queue.visibility_timeout_s=30, mapping.batch_size=10, "
                                   "seed=3: ")


# -- a worker killed ----------------------------------------------------------------------


def test_local_processes_report_the_killed_run_and_finish_the_others(reference):
    progress = []
    with pytest.raises(SweepError) as caught:
        sweep(BASE, GRID, REPLICATIONS, seed=3, workers=2, chunksize=3, run=kill_one_point,
              progress=lambda done, total: progress.append((done, total)))
    err = caught.value
    _assert_names_the_killed_run(err.failures)
    assert "died twice" in err.failures[0].reason and "SIGKILL" in err.failures[0].reason
    assert "1 of 8 runs failed" in str(err)
    pd.testing.assert_frame_equal(err.frame(), _without_killed(reference), check_exact=True)
    assert progress[-1] == (8, 8)


@pytest.fixture(scope="module")
def cluster():
    # Dask's default (3 retries) would kill 8 workers for one bad run; 0 keeps it to 2:
    # the batch holding it, then the run alone
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as local:
        yield local


def test_dask_reports_the_killed_run_not_a_killed_worker_traceback(reference, cluster):
    with Client(cluster) as client, pytest.raises(SweepError) as caught:
        sweep(BASE, GRID, REPLICATIONS, seed=3, client=client, chunksize=4,
              run=kill_one_point)
    err = caught.value
    _assert_names_the_killed_run(err.failures)
    assert "then 1 time(s) running it alone" in err.failures[0].reason
    pd.testing.assert_frame_equal(err.frame(), _without_killed(reference), check_exact=True)


def test_command_line_names_the_killed_run_exits_1_and_resume_fills_it(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(SCENARIO)
    expected = tmp_path / "expected.csv"
    assert main(["sweep", str(scenario), *SWEEP_ARGS, "--workers", "1",
                 "--out", str(expected)]) == 0
    script = tmp_path / "killing.py"  # kill_one_point's twin, without this module's imports
    script.write_text(textwrap.dedent(f"""\
        import multiprocessing, os, signal, sys
        import simlib.sweep
        from simlib.sweep import run_point

        def kill_one_point(base, changes, seed):
            if (changes == {KILLED!r} and seed == {KILLED_SEED}
                    and multiprocessing.parent_process() is not None):
                os.kill(os.getpid(), signal.SIGKILL)
            return run_point(base, changes, seed)

        simlib.sweep.run_point = kill_one_point  # what execute() runs without run=
        if __name__ == "__main__":  # forkserver children import this file again
            from simlib.cli import main
            sys.exit(main(sys.argv[1:]))
        """))
    out = tmp_path / "runs.csv"
    done = subprocess.run([sys.executable, str(script), "sweep", str(scenario), *SWEEP_ARGS,
                           "--workers", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert ("simlib: run failed: queue.visibility_timeout_s=30, mapping.batch_size=10, seed=3: "
            "its worker process died twice") in done.stderr
    assert "1 of 8 runs failed" in done.stderr and "--resume" in done.stderr
    pd.testing.assert_frame_equal(pd.read_csv(out), _without_killed(pd.read_csv(expected)),
                                  check_exact=True)
    capsys.readouterr()
    assert main(["sweep", str(scenario), *SWEEP_ARGS, "--workers", "1", "--out", str(out),
                 "--resume"]) == 0
    assert "7 rows already there, 1 runs to go" in capsys.readouterr().err
    assert out.read_bytes() == expected.read_bytes()


# -- --out row by row, and --resume -------------------------------------------------------


def _interrupt_after(monkeypatch, k):
    """run_point raises KeyboardInterrupt (Ctrl-C) when asked for run k + 1."""
    calls = []

    def interrupted(base, changes, seed):
        calls.append(seed)
        if len(calls) > k:
            raise KeyboardInterrupt
        return run_point(base, changes, seed)

    monkeypatch.setattr(simlib.sweep, "run_point", interrupted)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_interrupted_sweep_keeps_its_rows_and_resume_completes_it(tmp_path, capsys,
                                                                      monkeypatch, suffix):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(SCENARIO)
    expected, out = tmp_path / f"expected{suffix}", tmp_path / f"runs{suffix}"
    command = ["sweep", str(scenario), *SWEEP_ARGS, "--workers", "1"]
    assert main([*command, "--out", str(expected)]) == 0

    _interrupt_after(monkeypatch, 3)
    assert main([*command, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    journal = RunsFile(out, ["seed"], []).journal  # the side file, for Parquet
    assert f"3 finished runs are in {journal}" in err and "--resume" in err
    kept = pd.read_csv(journal, **simlib.runs_file._EXACT_FLOATS)
    full = (pd.read_parquet if suffix == ".parquet" else pd.read_csv)(expected)
    pd.testing.assert_frame_equal(kept, full.head(3), check_exact=True)
    with open(journal, "a") as f:  # a row cut short by a kill mid-write
        f.write("30,10,3,11")

    monkeypatch.setattr(simlib.sweep, "run_point", run_point)
    assert main([*command, "--out", str(out), "--resume"]) == 0
    assert "3 rows already there, 5 runs to go" in capsys.readouterr().err
    assert out.read_bytes() == expected.read_bytes()
    assert not (tmp_path / "runs.parquet.partial.csv").exists()


def test_resume_refuses_a_file_of_another_sweep(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "runs.csv"
    assert main(["sweep", str(scenario), "--set", "mapping.batch_size=1", "--replications",
                 "2", "--workers", "1", "--out", str(out)]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    code = main(["sweep", str(scenario), "--set", "queue.visibility_timeout_s=30",
                 "--replications", "2", "--out", str(out), "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"simlib: error: --resume {out}: its columns are not this sweep's "
                          f"(missing queue.visibility_timeout_s; not in this sweep: "
                          f"mapping.batch_size)")
    assert out.read_bytes() == before
    code = main(["sweep", str(scenario), "--set", "mapping.batch_size=1", "--replications",
                 "2", "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and err == "simlib: error: --resume needs --out FILE, the file of the " \
                                "sweep to continue\n"
