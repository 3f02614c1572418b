"""simlib.lessons.cold_starts: the measures, sweeps and figures of lessons 01 and 15.

The measures are checked against what the run itself records (invocation rows, batch
sizes), against closed forms (Erlang B, the lognormal's mean and p99) and against each other
across sources; the figures only for their shape and their refusals.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

import simlib
from simlib.lessons import cold_starts
from simlib.lessons.theory import erlang_b

matplotlib.use("Agg")

API = simlib.Scenario.from_dict({
    "source": "api",
    "workload": {"pattern": "burst", "rate_per_s": 2, "duration_s": 300, "burst_start_s": 120,
                 "burst_duration_s": 30, "burst_rate_per_s": 50},
    "function": {"runtime": "python3.13", "memory_mb": 512, "init_s": 0.5},
    "handler": {"duration_median_s": 0.1, "duration_p99_s": 0.3},
    "database": None,
})


@pytest.fixture(scope="module")
def burst_runs():
    return {source: simlib.simulate(API.with_changes({"source": source}), seed=1)
            for source in ("api", "sqs")}


# -- who waited for a cold start ------------------------------------------------------------


def test_each_cold_api_invocation_is_one_request_that_waited_its_init(burst_runs):
    run = burst_runs["api"]
    inv = run.invocations
    cold = inv[inv["cold"]]
    wait = cold_starts.cold_start_wait_s(run)
    assert (wait > 0).sum() == len(cold) == run.summary["cold_starts"]
    assert sorted(wait[wait > 0]) == pytest.approx(sorted(cold["init_s"]))
    # a warm request waited for nothing: its latency is its invocation's duration
    m = run.messages
    latency = (m["finished_s"] - m["sent_s"]).to_numpy()
    assert latency[wait > 0].min() > cold["init_s"].min()


def test_every_message_of_a_cold_sqs_batch_waited(burst_runs):
    run = burst_runs["sqs"]
    inv = run.invocations
    waited = cold_starts.waited_for_cold_start(run)
    assert waited.sum() == inv.loc[inv["cold"], "batch_size"].sum()
    assert waited.sum() > run.summary["cold_starts"]  # some cold batches held several messages


def test_a_batching_window_is_refused():
    run = simlib.simulate(API.with_changes({"source": "sqs", "mapping.batching_window_s": 1,
                                            "workload.duration_s": 30}), seed=1)
    with pytest.raises(ValueError, match="batching_window_s"):
        cold_starts.cold_start_wait_s(run)


def test_enough_provisioned_concurrency_leaves_nobody_waiting():
    run = simlib.simulate(API.with_changes({"function.provisioned_concurrency": 40}), seed=1)
    assert not cold_starts.waited_for_cold_start(run).any()
    assert cold_starts.spillover_share(run) == 0.0
    assert cold_starts.init_share_of_tail(run) == 0.0


def test_init_is_a_larger_part_of_the_apis_slowest_requests_than_of_the_queues(burst_runs):
    api, sqs = (cold_starts.init_share_of_tail(burst_runs[s]) for s in ("api", "sqs"))
    assert 0 < sqs < api < 1
    assert api > 2 * sqs


# -- steady state --------------------------------------------------------------------------


def test_steady_duration_and_scenario():
    assert cold_starts.steady_duration_s(10, warmup_s=100, window_s=1000, min_messages=50) == 1100
    assert cold_starts.steady_duration_s(0.01, warmup_s=100, window_s=1000,
                                         min_messages=50) == 5100
    with pytest.raises(ValueError, match="rate"):
        cold_starts.steady_duration_s(0)
    plain = cold_starts.steady_scenario(API, 1, warmup_s=100, window_s=1000, min_messages=50)
    assert plain.workload.pattern == "poisson" and plain.workload.duration_s == 1100
    burst = cold_starts.steady_scenario(API, 1, burst_rate_per_s=30, warmup_s=100,
                                        window_s=1000, min_messages=50)
    w = burst.workload
    assert w.pattern == "burst" and w.burst_rate_per_s == 30
    assert w.burst_start_s == pytest.approx(600) and w.burst_duration_s == 30
    # a "burst" no faster than the steady rate is no burst
    assert cold_starts.steady_scenario(API, 1, burst_rate_per_s=1).workload.pattern == "poisson"


def test_steady_state_counts_after_the_warm_up_only():
    run = simlib.simulate(cold_starts.steady_scenario(API, 0.5, warmup_s=200, window_s=600,
                                                      min_messages=10), seed=2)
    m = cold_starts.steady_state(run, warmup_s=200)
    assert m["messages"] == int((run.messages["sent_s"] >= 200).sum())
    everything = cold_starts.steady_state(run, warmup_s=0)
    assert everything["messages"] == len(run.messages)
    # the first request of a run is always cold: counting the warm-up raises the share
    assert everything["cold_share"] > m["cold_share"]
    with pytest.raises(ValueError, match="warmup_s"):
        cold_starts.steady_state(run, warmup_s=1e9)


def test_sparse_traffic_follows_the_one_environment_formula_and_busy_traffic_is_warm():
    runs = cold_starts.steady_state_sweep(API, [0.002, 1.0], ["api"], [1, 2],
                                          window_s=3_600, min_messages=300)
    assert list(runs.columns[:3]) == ["source", "rate_per_s", "seed"]
    sparse = runs.loc[runs["rate_per_s"] == 0.002, "cold_share"]
    lifetime = API.function.idle_lifetime_s + API.function.idle_reclaim_lag_s
    expected = math.exp(-0.002 * lifetime)
    n = runs.loc[runs["rate_per_s"] == 0.002, "messages"].sum()
    assert abs(sparse.mean() - expected) < 3 * math.sqrt(expected * (1 - expected) / n) + 0.02
    busy = runs.loc[runs["rate_per_s"] == 1.0]
    assert (busy["cold_share"] < 0.01).all()
    # the busy p99 is the handler's own
    assert busy["latency_p99_s"].mean() == pytest.approx(cold_starts.handler_p99_s(API), rel=0.1)


def test_steady_table_reads_the_run():
    run = simlib.simulate(cold_starts.steady_scenario(API, 0.5, warmup_s=200, window_s=600,
                                                      min_messages=10), seed=1)
    table = cold_starts.steady_table(run, warmup_s=200)
    assert list(table.columns) == ["value"] and len(table) == 5
    assert table.iloc[0, 0] == f"{cold_starts.steady_state(run, 200)['messages']:,}"


# -- the handler's closed forms and Erlang B -------------------------------------------------


def test_mean_and_p99_of_the_handler_match_warm_invocations():
    steady = API.with_changes({"workload.pattern": "poisson", "workload.rate_per_s": 20,
                               "workload.duration_s": 300,
                               "function.provisioned_concurrency": 30})
    inv = simlib.simulate(steady, seed=3).invocations
    duration = (inv["end_s"] - inv["start_s"]).to_numpy()  # all warm: provisioned
    se = duration.std() / math.sqrt(len(duration))
    assert abs(duration.mean() - cold_starts.mean_handler_s(steady)) < 4 * se
    assert np.percentile(duration, 99) == pytest.approx(cold_starts.handler_p99_s(steady),
                                                        rel=0.1)
    constant = steady.with_changes({"handler.duration_distribution": "constant"})
    assert cold_starts.mean_handler_s(constant) == cold_starts.handler_p99_s(constant)


def test_spillover_follows_erlang_b_for_steady_poisson_traffic():
    steady = API.with_changes({"workload.pattern": "poisson", "workload.rate_per_s": 40,
                               "workload.duration_s": 300})
    load = 40 * cold_starts.mean_handler_s(steady)
    for n in (5, 10, 14):
        theory = cold_starts.erlang_b_spillover(steady, n)
        assert theory == pytest.approx(erlang_b(n, load))
        spills = [cold_starts.spillover_share(simlib.simulate(
            steady.with_changes({"function.provisioned_concurrency": n}), seed=s))
            for s in (1, 2, 3)]
        assert abs(np.mean(spills) - theory) < 0.02, (n, spills, theory)


def test_erlang_b_spillover_weights_the_burst_phases():
    assert cold_starts.erlang_b_spillover(API, 0) == 1.0
    mean_s = cold_starts.mean_handler_s(API)
    base, burst = 2 * 270, 50 * 30
    expected = (base * erlang_b(12, 2 * mean_s) + burst * erlang_b(12, 50 * mean_s)) / (base + burst)
    assert cold_starts.erlang_b_spillover(API, 12) == pytest.approx(expected)
    with pytest.raises(ValueError, match="diurnal"):
        cold_starts.erlang_b_spillover(API.with_changes({"workload.pattern": "diurnal"}), 3)


# -- figures -----------------------------------------------------------------------------------


def _stats():
    return pd.DataFrame({"source": ["api", "api", "sqs", "sqs"],
                         "rate_per_s": [0.01, 1.0, 0.01, 1.0],
                         "cold_share_mean": [0.2, 0.001, 0.2, 0.001],
                         "cold_share_ci95": [0.05, 0.0005, 0.05, 0.0005],
                         "latency_p99_s_mean": [1.2, 0.7, 1.2, 0.7],
                         "latency_p99_s_ci95": [0.1, 0.05, 0.1, 0.05]})


def test_figures_have_their_panels(burst_runs):
    fig = cold_starts.plot_cold_share(_stats(), theory_idle_s=640,
                                      p99_lines={"handler p99": 0.67}, title="t")
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log"
    fig = cold_starts.plot_latency_split(burst_runs, since_s=100, until_s=200)
    assert len(fig.axes) == 2
    run = simlib.simulate(cold_starts.steady_scenario(API, 1.0, warmup_s=200, window_s=600,
                                                      min_messages=10), seed=1)
    fig = cold_starts.plot_cold_start_panel(run, _stats(), warmup_s=200, theory_idle_s=640)
    assert len(fig.axes) == 2
    sized = pd.DataFrame({"provisioned_concurrency": [0, 10],
                          "latency_p99_s_mean": [0.9, 0.7], "latency_p99_s_ci95": [0.1, 0.1],
                          "cost_per_million_usd_mean": [3.0, 6.0],
                          "cost_per_million_usd_ci95": [0.2, 0.2],
                          "spillover_share_mean": [1.0, 0.2], "spillover_share_ci95": [0, 0.05]})
    fig = cold_starts.plot_provisioned_tradeoff(sized, snapstart={"latency_p99_s": 0.8},
                                                theory=[1.0, 0.21])
    assert len(fig.axes) == 3
    fig = cold_starts.plot_provisioned_panel(burst_runs["api"], sized, since_s=100, until_s=170)
    assert len(fig.axes) == 3


def test_figures_refuse_what_they_cannot_draw():
    with pytest.raises(KeyError, match="latency_p99_s_mean"):
        cold_starts.plot_cold_share(_stats().drop(columns="latency_p99_s_mean"))
    with pytest.raises(TypeError, match="dict"):
        cold_starts.plot_latency_split([])
