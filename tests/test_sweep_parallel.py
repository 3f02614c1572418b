"""Where a sweep runs changes nothing: in process, local processes and Dask give one frame.

Each run's seed comes from the plan, so the executor only decides who computes a row,
never what is in it or where it goes. Dask is imported directly (not importorskip): it
is in the ``test`` extra, and a missing install should fail here, not skip quietly.
"""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from distributed import Client, LocalCluster

import simlib.sweep
from simlib import Scenario, ScenarioError
from simlib.sweep import cpu_count, sweep

BASE = Scenario.from_dict({
    "workload": {"rate_per_s": 5, "duration_s": 20},
    "handler": {"failure_rate": 0.1},
    "function": {"timeout_s": 5},
    "database": None,
})
GRID = {"queue.visibility_timeout_s": [5, 30], "mapping.batch_size": [1, 10]}
REPLICATIONS = 2
TOTAL = 2 * 2 * REPLICATIONS


@pytest.fixture(scope="module")
def reference():
    return sweep(BASE, GRID, REPLICATIONS, seed=3, workers=1)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local:
        yield local


def _recorder():
    calls = []
    return calls, lambda done, total: calls.append((done, total))


def _assert_progress(calls):
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == TOTAL
    assert {n for _, n in calls} == {TOTAL}


def test_reference_rows_are_in_plan_order(reference):
    assert len(reference) == TOTAL
    assert list(reference["queue.visibility_timeout_s"]) == [5] * 4 + [30] * 4
    assert list(reference["mapping.batch_size"]) == [1, 1, 10, 10] * 2
    assert list(reference["seed"]) == [3, 4] * 4


def test_local_processes_give_the_same_frame(reference):
    calls, progress = _recorder()
    got = sweep(BASE, GRID, REPLICATIONS, seed=3, progress=progress, workers=2, chunksize=3)
    pd.testing.assert_frame_equal(got, reference, check_exact=True)
    _assert_progress(calls)


def test_auto_keeps_a_small_sweep_in_this_process(reference, monkeypatch):
    def no_pool(*args, **kwargs):
        raise AssertionError("a sweep of a few short runs must not start a pool")

    monkeypatch.setattr(simlib.sweep, "_on_processes", no_pool)
    monkeypatch.setattr(simlib.sweep, "cpu_count", lambda: 2)
    calls, progress = _recorder()
    got = sweep(BASE, GRID, REPLICATIONS, seed=3, progress=progress)  # workers="auto"
    pd.testing.assert_frame_equal(got, reference, check_exact=True)
    _assert_progress(calls)


def test_auto_sends_a_long_sweep_to_processes(reference, monkeypatch):
    sent = []
    real = simlib.sweep._on_processes

    def spy(base, runs, progress, n, chunksize):
        sent.append((len(runs), n))
        return real(base, runs, progress, n, chunksize)

    monkeypatch.setattr(simlib.sweep, "_on_processes", spy)
    monkeypatch.setattr(simlib.sweep, "cpu_count", lambda: 2)
    monkeypatch.setattr(simlib.sweep, "AUTO_POOL_AFTER_S", 0.0)  # any work left is "long"
    calls, progress = _recorder()
    got = sweep(BASE, GRID, REPLICATIONS, seed=3, progress=progress)
    pd.testing.assert_frame_equal(got, reference, check_exact=True)
    assert sent == [(TOTAL - 1, 2)]  # the first run was timed here, the rest went out
    _assert_progress(calls)


def test_any_executor_gives_the_same_frame(reference):
    with ThreadPoolExecutor(2) as pool:
        got = sweep(BASE, GRID, REPLICATIONS, seed=3, executor=pool)
    pd.testing.assert_frame_equal(got, reference, check_exact=True)


def test_dask_client_gives_the_same_frame(reference, cluster):
    calls, progress = _recorder()
    with Client(cluster) as client:
        got = sweep(BASE, GRID, REPLICATIONS, seed=3, progress=progress, client=client)
    pd.testing.assert_frame_equal(got, reference, check_exact=True)
    _assert_progress(calls)


def test_dask_scheduler_address_gives_the_same_frame(reference, cluster):
    got = sweep(BASE, GRID, REPLICATIONS, seed=3, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(got, reference, check_exact=True)


def test_bad_executor_arguments():
    with pytest.raises(ScenarioError, match=r"workers = 0 is not allowed"):
        sweep(BASE, GRID, workers=0)
    with pytest.raises(ScenarioError, match=r"chunksize = 0 is not allowed"):
        sweep(BASE, GRID, workers=2, chunksize=0)
    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match=r"at most one"):
        sweep(BASE, GRID, executor=pool, scheduler="tcp://127.0.0.1:8786")
    assert cpu_count() >= 1


def test_command_line_sweep_on_the_dask_cluster(cluster, tmp_path, capsys):
    from simlib.cli import main

    scenario = tmp_path / "tiny.yaml"
    scenario.write_text("workload: {rate_per_s: 5, duration_s: 20}\nfunction: {timeout_s: 5}\n"
                        "handler: {failure_rate: 0.1}\ndatabase: null\n")
    out = tmp_path / "runs.csv"
    code = main(["sweep", str(scenario), "--set", "queue.visibility_timeout_s=5,30",
                 "--set", "mapping.batch_size=1,10", "--replications", "2", "--seed", "3",
                 "--scheduler", cluster.scheduler_address, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"on Dask scheduler {cluster.scheduler_address}" in err
    written = pd.read_csv(out)
    expected = sweep(BASE, GRID, REPLICATIONS, seed=3)
    assert written["executions"].tolist() == expected["executions"].tolist()
    assert written["seed"].tolist() == expected["seed"].tolist()


def test_a_plain_script_needs_no_main_guard(tmp_path, reference):
    """A script that calls sweep() at its top level gets a pool without re-running itself
    in every worker (fork where it is safe); it writes the same rows as the reference."""
    script = tmp_path / "study.py"
    out = tmp_path / "rows.csv"
    script.write_text(
        "from simlib import Scenario\n"
        "from simlib.sweep import sweep\n"
        f"base = Scenario.from_dict({BASE.to_dict()!r})\n"
        f"rows = sweep(base, {GRID!r}, {REPLICATIONS}, seed=3, workers=2)\n"
        f"rows.to_csv({str(out)!r}, index=False)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(out)
    pd.testing.assert_frame_equal(got, reference.reset_index(drop=True), check_dtype=False)
