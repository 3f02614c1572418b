"""Sweeps: the grid, common random numbers across points, and the confidence intervals."""

import numpy as np
import pandas as pd
import pytest

from simlib import Scenario, ScenarioError
from simlib.sweep import plan, summarize, sweep, t95

BASE = Scenario.from_dict({
    "workload": {"rate_per_s": 5, "duration_s": 40},
    "handler": {"failure_rate": 0.05},
    "database": None,
})


def test_plan_is_the_grid_times_replications_with_shared_seeds():
    runs = plan(BASE, {"mapping.batch_size": [1, 10], "handler.failure_rate": [0.0, 0.1]},
                replications=3, seed=7)
    assert len(runs) == 2 * 2 * 3
    seeds_per_point = {}
    for changes, seed in runs:
        seeds_per_point.setdefault(tuple(changes.items()), []).append(seed)
    assert all(s == [7, 8, 9] for s in seeds_per_point.values())


def test_bad_grids_fail_before_anything_runs():
    with pytest.raises(ScenarioError, match=r"mapping\.batch_size = 0 is not allowed"):
        plan(BASE, {"mapping.batch_size": [1, 0]})
    with pytest.raises(ScenarioError, match=r"queue\.nope"):
        plan(BASE, {"queue.nope": [1]})
    with pytest.raises(ScenarioError, match=r"replications = 0"):
        plan(BASE, {"mapping.batch_size": [1]}, replications=0)
    with pytest.raises(ScenarioError, match=r"a list of values"):
        plan(BASE, {"mapping.batch_size": 5})


def test_sweep_rows_and_common_random_numbers():
    done = []
    runs = sweep(BASE, {"mapping.batch_size": [1, 5]}, replications=2,
                 progress=lambda i, n: done.append((i, n)))
    assert done[-1] == (4, 4)
    assert list(runs["mapping.batch_size"]) == [1, 1, 5, 5]
    assert list(runs["seed"]) == [0, 1, 0, 1]
    # the same seed sends the same messages at every point of the sweep
    a = runs[(runs["mapping.batch_size"] == 1) & (runs["seed"] == 0)]["messages_sent"].item()
    b = runs[(runs["mapping.batch_size"] == 5) & (runs["seed"] == 0)]["messages_sent"].item()
    assert a == b
    # conservation in every run
    total = runs[["messages_deleted", "messages_failed", "messages_dlq", "messages_expired",
                  "messages_unfinished"]].sum(axis=1)
    assert (total == runs["messages_sent"]).all()


def test_summarize_mean_and_student_t_interval():
    runs = pd.DataFrame({"x": [1, 1, 1, 2, 2, 2], "seed": [0, 1, 2] * 2,
                         "k": [1.0, 2.0, 3.0, 5.0, 5.0, 5.0]})
    out = summarize(runs, "x", ["k"])
    assert list(out["n"]) == [3, 3]
    assert out["k_mean"].tolist() == [2.0, 5.0]
    assert out["k_ci95"].iloc[0] == pytest.approx(1.0 / np.sqrt(3) * 4.303)
    assert out["k_ci95"].iloc[1] == 0.0
    assert t95(1) == pytest.approx(12.706) and t95(1000) == 1.96


def test_interval_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    hits = 0
    trials = 2000
    for _ in range(trials):
        x = rng.normal(10.0, 2.0, 5)
        half = x.std(ddof=1) / np.sqrt(5) * t95(4)
        hits += abs(x.mean() - 10.0) <= half
    assert 0.93 <= hits / trials <= 0.97
