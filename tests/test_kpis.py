"""simlib.kpis: numbers derived from a Result, checked against hand computations.

Each expected value is worked out here from the frames (or from the scenario), not by
calling the function under test another way, so a KPI that drifts from its definition
fails.
"""

import math

import numpy as np
import pandas as pd
import pytest

import simlib
from simlib import kpis

# A queue with a 1 s batching window and 2 % failing records (whole-batch retries).
WINDOWED = {"workload": {"rate_per_s": 20, "duration_s": 60},
            "mapping": {"batch_size": 10, "batching_window_s": 1.0},
            "handler": {"failure_rate": 0.02}}
# Reserved concurrency 2 under 5 pollers: throttled invoke attempts in the frame.
THROTTLED = {"workload": {"rate_per_s": 15, "duration_s": 40},
             "function": {"reserved_concurrency": 2}}
# One record per invocation of exactly 0.2 s, no database: duration = 0.2 s + INIT.
CONSTANT = {"database": None,
            "workload": {"rate_per_s": 5, "duration_s": 60},
            "mapping": {"batch_size": 1},
            "handler": {"duration_distribution": "constant", "duration_median_s": 0.2,
                        "cpu_fraction": 0.0}}
# Sparse traffic with a short idle lifetime: mostly cold invocations, mostly empty polls.
SPARSE = {"workload": {"rate_per_s": 0.05, "duration_s": 600},
          "function": {"idle_lifetime_s": 30, "idle_reclaim_lag_s": 0}}  # exactly 30 s


def sim(data, seed=1):
    return simlib.simulate(simlib.Scenario.from_dict(data), seed=seed)


@pytest.fixture(scope="module")
def windowed():
    return sim(WINDOWED)


@pytest.fixture(scope="module")
def throttled():
    r = sim(THROTTLED)
    assert (r.invocations["status"] == "throttled").any(), "the fixture must throttle"
    return r


@pytest.fixture(scope="module")
def constant():
    return sim(CONSTANT)


@pytest.fixture(scope="module")
def sparse():
    return sim(SPARSE)


# -- invocations --------------------------------------------------------------------------


def test_mean_batch_size_is_the_mean_over_invocations_that_ran(windowed, throttled):
    for r in (windowed, throttled):
        inv = r.invocations
        ran = inv[inv["status"] != "throttled"]
        assert kpis.mean_batch_size(r) == pytest.approx(ran["batch_size"].sum() / len(ran))
        # the summary's invocation count is the denominator
        assert len(ran) == r.summary["invocations"]
    # with throttled attempts in the frame, a plain mean over all rows is a different number
    assert kpis.mean_batch_size(throttled) != pytest.approx(
        throttled.invocations["batch_size"].mean(), rel=1e-9)


def test_mean_batch_size_of_batches_of_one_is_one(constant):
    assert kpis.mean_batch_size(constant) == 1.0


def test_mean_batch_size_with_a_window_is_between_one_and_the_batch_size(windowed):
    assert 1.5 < kpis.mean_batch_size(windowed) <= WINDOWED["mapping"]["batch_size"]


def test_mean_duration_is_handler_time_plus_init_per_invocation(constant):
    inv = constant.invocations
    assert (inv["status"] == "ok").all()
    expected = 0.2 + inv["init_s"].sum() / len(inv)
    assert kpis.mean_duration_s(constant) == pytest.approx(expected, abs=1e-6)


def test_mean_duration_leaves_throttled_attempts_out(throttled):
    inv = throttled.invocations
    ran = inv[inv["status"] != "throttled"]
    expected = float(np.mean(ran["end_s"].to_numpy() - ran["start_s"].to_numpy()))
    assert kpis.mean_duration_s(throttled) == pytest.approx(expected)


def test_mean_billed_ms_rounds_each_duration_up_to_the_millisecond(constant):
    inv = constant.invocations
    durations_ms = (inv["end_s"] - inv["start_s"]).to_numpy() * 1000
    expected = np.maximum(np.ceil(durations_ms - 1e-6), 1).mean()
    assert kpis.mean_billed_ms(constant) == pytest.approx(expected)
    # 0.2 s of handler time is 200 billed ms when warm, more when cold
    assert kpis.mean_billed_ms(constant) >= 200


def test_init_share_from_the_invocations_frame(sparse, windowed):
    for r in (sparse, windowed):
        inv = r.invocations
        cold = inv[inv["cold"]]
        expected = cold["init_s"].sum() * 1000 / inv["billed_ms"].sum()
        assert kpis.init_share(r) == pytest.approx(expected)
    assert kpis.init_share(sparse) > 0.2 > 10 * kpis.init_share(windowed)


def test_provisioned_utilisation():
    assert math.isnan(kpis.provisioned_utilisation(sim(CONSTANT)))
    r = sim({**CONSTANT, "function": {"provisioned_concurrency": 4}})
    inv = r.invocations
    on_provisioned = inv[inv["provisioned"]]
    assert len(on_provisioned) > 0
    busy_s = float((on_provisioned["end_s"] - on_provisioned["start_s"]).sum())
    expected = busy_s / (4 * r.end_s)
    assert kpis.provisioned_utilisation(r) == pytest.approx(expected)
    # 5 messages/s x about 0.2 s each = 1 busy environment of 4 while messages arrive
    assert 0.05 < kpis.provisioned_utilisation(r) < 0.4


# -- timeseries ---------------------------------------------------------------------------


def test_mean_concurrency_averages_the_samples_while_messages_arrive(windowed):
    ts = windowed.timeseries
    arriving = ts[ts["t_s"] <= WINDOWED["workload"]["duration_s"]]
    assert kpis.mean_concurrency(windowed) == pytest.approx(
        arriving["concurrency"].sum() / len(arriving))
    everything = ts["concurrency"].mean()
    assert kpis.mean_concurrency(windowed, until_s=ts["t_s"].max()) == pytest.approx(everything)


def test_mean_concurrency_follows_littles_law(constant):
    # 5 messages/s, each holding an environment about 0.2 s: about one busy environment
    assert kpis.mean_concurrency(constant) == pytest.approx(5 * 0.2, rel=0.25)


# -- messages -----------------------------------------------------------------------------


def test_receives_of_unfinished_poison_messages_in_the_dlq():
    r = sim({"workload": {"rate_per_s": 10, "duration_s": 60, "poison_fraction": 0.05},
             "queue": {"max_receive_count": 3},
             "mapping": {"report_batch_item_failures": True}})
    table = kpis.receives_of_unfinished(r)
    assert list(table.columns) == ["count", "min", "max"]
    assert list(table.index) == ["dlq"]
    assert table.loc["dlq", "count"] == r.summary["messages_dlq"] > 0
    assert table.loc["dlq", "min"] == table.loc["dlq", "max"] == 3


def test_repeat_executions_over_time_counts_executions_beyond_the_first(windowed):
    series = kpis.repeat_executions_over_time(windowed, bin_s=5)
    m = windowed.messages
    received = m[m["first_received_s"].notna()]
    assert series.sum() == (received["executions"] - 1).sum()
    assert (series.index.to_numpy() % 5 == 0).all()
    assert series.index.is_monotonic_increasing
    first = received[received["first_received_s"] < 5]
    assert series.loc[0.0] == (first["executions"] - 1).sum()
    with pytest.raises(ValueError, match="bin_s"):
        kpis.repeat_executions_over_time(windowed, bin_s=0)


def test_repeat_executions_are_the_duplicates_when_nothing_fails():
    # batches outlast the visibility timeout (window + processing): duplicates, no failures
    r = sim({"database": None,
             "workload": {"pattern": "constant", "rate_per_s": 20, "duration_s": 60},
             "queue": {"visibility_timeout_s": 10}, "function": {"timeout_s": 10},
             "mapping": {"batch_size": 30, "batching_window_s": 5},
             "handler": {"duration_distribution": "constant", "duration_median_s": 0.3,
                         "cpu_fraction": 0.0}})
    assert r.summary["errors"] == r.summary["timeouts"] == 0
    assert r.summary["duplicate_executions"] > 0
    assert kpis.repeat_executions_over_time(r).sum() == r.summary["duplicate_executions"]


def test_per_message_counts(windowed):
    counts = kpis.per_message_counts(windowed, "executions")
    assert list(counts.index) == ["0", "1", "2", "3", "4+"]
    ex = windowed.messages["executions"]
    assert counts.sum() == len(ex)
    assert counts["1"] == (ex == 1).sum() and counts["4+"] == (ex >= 4).sum()
    assert list(kpis.per_message_counts(windowed, "side_effects", cap=2).index) == ["0", "1", "2+"]
    with pytest.raises(KeyError, match="'bogus'"):
        kpis.per_message_counts(windowed, "bogus")


# -- the bill -----------------------------------------------------------------------------


def test_cost_line_is_quantity_times_unit_price(windowed):
    c = windowed.cost.set_index(["service", "item"])
    row = c.loc[("lambda", "compute_gb_s")]
    assert kpis.cost_line_usd(windowed, "lambda", "compute_gb_s") == pytest.approx(
        row["quantity"] * row["unit_price_usd"])
    assert kpis.cost_line_usd(windowed, "nat", "processed_gb") == 0.0
    with pytest.raises(KeyError, match="no cost line lambda/nope"):
        kpis.cost_line_usd(windowed, "lambda", "nope")


def test_service_costs_per_million_add_up_to_the_summary(windowed):
    services = windowed.cost["service"].unique()
    total = sum(kpis.service_cost_per_million_usd(windowed, s) for s in services)
    assert total == pytest.approx(windowed.summary["cost_per_million_usd"])
    lam = windowed.cost[windowed.cost["service"] == "lambda"]["cost_usd"].sum()
    assert kpis.service_cost_per_million_usd(windowed, "lambda") == pytest.approx(
        lam / windowed.summary["messages_deleted"] * 1e6)
    with pytest.raises(KeyError, match="no service 'ec2'"):
        kpis.service_cost_per_million_usd(windowed, "ec2")


def test_cost_per_million_by_line(windowed):
    lines = kpis.cost_per_million_by_line(windowed)
    assert list(lines.index) == list(windowed.cost["service"] + " · " + windowed.cost["item"])
    assert lines.sum() == pytest.approx(windowed.summary["cost_per_million_usd"])
    assert lines["sqs · requests"] == pytest.approx(
        kpis.service_cost_per_million_usd(windowed, "sqs"))


def test_sqs_breakdown_sums_to_the_requests_line(windowed, sparse):
    for r in (windowed, sparse):
        parts = kpis.sqs_request_breakdown(r)
        assert list(parts.index) == ["sends", "receives", "empty_receives",
                                     "receive_payload_units", "deletes"]
        line = r.cost[(r.cost["service"] == "sqs") & (r.cost["item"] == "requests")]
        assert parts.sum() == int(line["quantity"].iloc[0])
        assert parts["sends"] == r.summary["messages_sent"]  # 2 KB payloads: one request each
        # each invocation's batch came from at least one non-empty receive, and it deleted
        # its messages in at most one DeleteMessageBatch (batch size 10)
        assert parts["receives"] >= r.summary["invocations"]
        assert parts["deletes"] <= r.summary["invocations"]
    # an idle queue's pollers keep long-polling (two of them once the mapping has scaled
    # down): on sparse traffic the empty receives are the largest kind of request
    sparse_parts = kpis.sqs_request_breakdown(sparse)
    assert sparse_parts.idxmax() == "empty_receives", sparse_parts.to_dict()


def test_sqs_breakdown_counts_big_payloads_and_is_zero_for_api():
    r = sim({"workload": {"rate_per_s": 5, "duration_s": 20, "payload_kb": 100}})
    assert kpis.sqs_request_breakdown(r)["sends"] == 2 * r.summary["messages_sent"]
    api = sim({"source": "api", "workload": {"rate_per_s": 5, "duration_s": 10}})
    assert (kpis.sqs_request_breakdown(api) == 0).all()


def test_kpis_are_plain_floats_and_leave_the_result_alone(windowed):
    before = windowed.invocations.copy()
    values = [kpis.mean_batch_size(windowed), kpis.mean_duration_s(windowed),
              kpis.mean_billed_ms(windowed), kpis.init_share(windowed),
              kpis.mean_concurrency(windowed)]
    assert all(type(v) is float for v in values)
    pd.testing.assert_frame_equal(windowed.invocations, before)


# -- cold starts, busy time and failures (lessons 00, 01, 05, 07) ---------------------------


def test_mean_cold_start_is_the_init_of_cold_invocations(sparse, constant):
    for r in (sparse, constant):
        cold_init = [row.init_s for row in r.invocations.itertuples() if row.cold]
        assert len(cold_init) > 0
        assert kpis.mean_cold_start_s(r) == pytest.approx(sum(cold_init) / len(cold_init))


def test_mean_cold_start_counts_init_work_and_snapstart_replaces_it():
    java = {"workload": {"rate_per_s": 2, "duration_s": 60}, "database": None,
            "function": {"runtime": "java21", "init_s": 2.0}}
    plain = kpis.mean_cold_start_s(sim(java))
    restored = kpis.mean_cold_start_s(sim({**java, "function": {**java["function"],
                                                                "snapstart": True}}))
    assert plain > 2.0  # the runtime's INIT plus 2 s of the function's own init work
    assert restored < 1.5  # the restore replaces both


def test_busy_seconds_per_message_from_the_invocations(constant, throttled):
    inv = constant.invocations
    # one record of exactly 0.2 s per invocation, plus INIT on cold ones
    expected = (0.2 * len(inv) + inv["init_s"].sum()) / len(constant.messages)
    assert kpis.busy_s_per_message(constant) == pytest.approx(expected, abs=1e-6)
    inv = throttled.invocations
    ran = inv[inv["status"] != "throttled"]
    busy = sum(row.end_s - row.start_s for row in ran.itertuples())
    assert kpis.busy_s_per_message(throttled) == pytest.approx(busy / len(throttled.messages))


def test_busy_seconds_per_message_gives_littles_law():
    # busy enough (about 10 environments) that 1 s samples average out
    r = sim({**CONSTANT, "workload": {"rate_per_s": 50, "duration_s": 120}})
    rate = r.summary["messages_sent"] / 120
    assert kpis.mean_concurrency(r) == pytest.approx(rate * kpis.busy_s_per_message(r), rel=0.1)


def test_on_demand_utilisation_over_environments_started(windowed):
    inv = windowed.invocations
    ran = inv[inv["status"] != "throttled"]
    busy = float((ran["end_s"] - ran["start_s"]).sum())
    started = windowed.summary["cold_starts"]
    assert started == int(inv["cold"].sum()) > 0
    assert kpis.on_demand_utilisation(windowed) == pytest.approx(
        busy / (started * windowed.end_s))
    assert 0 < kpis.on_demand_utilisation(windowed) < 1


def test_on_demand_utilisation_leaves_provisioned_environments_out():
    r = sim({**CONSTANT, "workload": {"rate_per_s": 20, "duration_s": 60},
             "function": {"provisioned_concurrency": 2}})
    inv = r.invocations
    assert inv["provisioned"].any() and inv["cold"].any(), "the fixture spills to on-demand"
    on_demand = inv[~inv["provisioned"] & (inv["status"] != "throttled")]
    busy = float((on_demand["end_s"] - on_demand["start_s"]).sum())
    assert kpis.on_demand_utilisation(r) == pytest.approx(
        busy / (r.summary["cold_starts"] * r.end_s))
    idle = sim({**CONSTANT, "function": {"provisioned_concurrency": 10}})
    assert idle.summary["cold_starts"] == 0
    assert math.isnan(kpis.on_demand_utilisation(idle))
    assert math.isnan(kpis.mean_cold_start_s(idle))


# A burst against reserved concurrency 2 under the mapping's pollers: throttled receives
# send valid messages to the DLQ without running them (lesson 05's over-pull).
OVER_PULL = {"workload": {"pattern": "burst", "rate_per_s": 4, "duration_s": 60,
                          "burst_start_s": 10, "burst_duration_s": 20, "burst_rate_per_s": 15},
             "queue": {"max_receive_count": 2},
             "function": {"reserved_concurrency": 2}}


def test_dlq_messages_split_by_whether_they_ever_ran():
    over_pull = sim(OVER_PULL)
    poisoned = sim({"workload": {"rate_per_s": 10, "duration_s": 60, "poison_fraction": 0.05},
                    "queue": {"max_receive_count": 3},
                    "mapping": {"report_batch_item_failures": True}})
    for r in (over_pull, poisoned):
        in_dlq = [row.executions for row in r.messages.itertuples() if row.outcome == "dlq"]
        assert kpis.dlq_never_executed(r) == sum(1 for n in in_dlq if n == 0)
        assert kpis.dlq_executed(r) == sum(1 for n in in_dlq if n > 0)
        assert kpis.dlq_never_executed(r) + kpis.dlq_executed(r) == r.summary["messages_dlq"]
    assert kpis.dlq_never_executed(over_pull) > 0  # valid messages lost to throttling
    assert kpis.dlq_never_executed(poisoned) == 0  # poison reaches the DLQ by failing
    assert kpis.dlq_executed(poisoned) == poisoned.summary["messages_dlq"] > 0


def test_failed_executions_are_executions_minus_successes(windowed, constant):
    m = windowed.messages
    expected = int(m["executions"].sum()) - int(m["successful_executions"].sum())
    assert kpis.failed_executions(windowed) == expected > 0  # 2 % failing records
    assert kpis.failed_executions(constant) == 0
    assert type(kpis.failed_executions(windowed)) is int


def test_failed_executions_with_a_store_are_the_inprogress_rejections():
    # jobs of about 27 s against a 30 s visibility timeout: some come back while running
    slow = {"workload": {"rate_per_s": 1, "duration_s": 150},
            "queue": {"visibility_timeout_s": 30},
            "mapping": {"batch_size": 1, "batching_window_s": 0},
            "function": {"timeout_s": 30, "init_s": 2.0},
            "handler": {"duration_median_s": 27, "duration_p99_s": 29.5, "cpu_fraction": 0.0},
            "database": None}
    no_store = sim(slow)
    stored = sim({**slow, "handler": {**slow["handler"], "idempotency": True}})
    assert no_store.summary["timeouts"] == stored.summary["timeouts"] == 0
    assert kpis.failed_executions(no_store) == 0  # the overlapping duplicates just ran
    assert kpis.failed_executions(stored) == stored.summary["errors"] > 0
