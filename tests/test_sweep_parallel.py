"""Where a sweep runs changes nothing: in process, local processes and Dask give one frame.

Each run's seed comes from the plan, so the executor only decides who computes a row,
never what is in it or where it goes. Dask is imported directly (not importorskip): it
is in the ``test`` extra, and a missing install should fail here, not skip quietly.
"""

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from distributed import Client, LocalCluster

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
    return sweep(BASE, GRID, REPLICATIONS, seed=3)


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
