"""Behaviour tests: what AWS documents, reproduced by small simulated scenarios.

Each test runs a few thousand messages at most and cites the behaviour it checks
(AWS documentation, as summarised in docs/design.md, "The world being modelled"). Most runs
leave the database out (``"database": None``) and use constant or CPU-free handler
durations so that the effect under test is the only thing that moves.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

import simlib
from simlib import Scenario


def sim(data: dict, seed: int = 1):
    return simlib.simulate(Scenario.from_dict(data), seed=seed)


def merged(base: dict, **sections) -> dict:
    """A deep copy of ``base`` with some sections' fields replaced."""
    out = copy.deepcopy(base)
    for name, fields in sections.items():
        if isinstance(fields, dict) and isinstance(out.get(name), dict):
            out[name].update(fields)
        else:
            out[name] = fields
    return out


def conserved(r) -> bool:
    s = r.summary
    return s["messages_sent"] == (s["messages_deleted"] + s["messages_failed"] + s["messages_dlq"]
                                  + s["messages_expired"] + s["messages_unfinished"])


# -- visibility timeout and the batching window -------------------------------------------

# A constant 20 msg/s into batches of up to 30 gathered over a 5 s window; each record
# takes 0.3 s (no CPU share, so memory does not stretch it). A full batch runs 9 s,
# inside the 10 s function timeout, and however the 5 pollers share the arrivals (one
# fills 30 in 1.5 s, or each gathers ~20 over the whole window) window + processing
# (10.5-11 s) outlasts a 10 s visibility timeout.
SLOW_BATCHES = {
    "database": None,
    "workload": {"pattern": "constant", "rate_per_s": 20, "duration_s": 60},
    "queue": {"visibility_timeout_s": 10},
    "function": {"timeout_s": 10},
    "mapping": {"batch_size": 30, "batching_window_s": 5},
    "handler": {"duration_distribution": "constant", "duration_median_s": 0.3,
                "cpu_fraction": 0.0},
}


def test_batching_window_plus_slow_batch_beyond_visibility_gives_duplicates():
    # AWS (Lambda with SQS): the visibility clock starts when the poller receives a
    # message, batching window included; a message not deleted by then becomes visible
    # again and is delivered to another consumer while the first still works on it.
    r = sim(SLOW_BATCHES)
    s = r.summary
    assert s["errors"] == 0 and s["timeouts"] == 0  # no failures: only the clock
    assert s["duplicate_executions"] > 0
    assert (r.messages["executions"] > 1).sum() > 0
    assert s["messages_deleted"] == s["messages_sent"]
    assert conserved(r)


def test_visibility_of_six_function_timeouts_plus_window_removes_those_duplicates():
    # AWS recommends a queue visibility timeout of at least 6 x the function timeout
    # (+ the batching window) for an SQS event source.
    vis = 6 * SLOW_BATCHES["function"]["timeout_s"] + SLOW_BATCHES["mapping"]["batching_window_s"]
    r = sim(merged(SLOW_BATCHES, queue={"visibility_timeout_s": vis}))
    s = r.summary
    assert s["duplicate_executions"] == 0
    assert s["duplicate_side_effects"] == 0
    assert (r.messages["executions"] == 1).all()
    assert s["messages_deleted"] == s["messages_sent"]


# -- throttling by reserved concurrency ----------------------------------------------------

THROTTLED = {
    "database": None,
    "workload": {"rate_per_s": 10, "duration_s": 120, "poison_fraction": 0.0},
    "queue": {"visibility_timeout_s": 5, "max_receive_count": 1},
    "function": {"timeout_s": 5, "reserved_concurrency": 2},
    "mapping": {"batch_size": 10},
    "handler": {"duration_distribution": "constant", "duration_median_s": 0.05,
                "failure_rate": 0.0},
}


def test_reserved_concurrency_below_pollers_sends_valid_messages_to_the_dlq():
    # AWS (Lambda with SQS, "Configuring maximum concurrency"): with reserved concurrency
    # below the pollers' concurrency (which starts at 5), invokes are throttled; the
    # poller retries until the visibility timeout expires and the message returns with
    # its receive count raised, so valid messages can reach the DLQ without running.
    r = sim(THROTTLED)
    s = r.summary
    m = r.messages
    assert s["throttles"] > 0
    assert s["errors"] == 0 and s["timeouts"] == 0
    assert s["messages_dlq"] > 0
    never_ran = (m["outcome"] == "dlq") & (m["executions"] == 0)
    assert never_ran.sum() > 0
    assert s["max_concurrency"] <= 2


def test_mapping_max_concurrency_at_reserved_removes_throttling_dlq():
    # AWS: set the mapping's maximum concurrency no higher than the function's reserved
    # concurrency; at the cap the pollers stop reading instead of being throttled.
    r = sim(merged(THROTTLED, mapping={"max_concurrency": 2}))
    s = r.summary
    assert s["throttles"] == 0
    assert s["messages_dlq"] == 0
    assert s["messages_deleted"] == s["messages_sent"]


# -- ReportBatchItemFailures ---------------------------------------------------------------

PARTIAL = {
    "database": None,
    "workload": {"rate_per_s": 50, "duration_s": 60},
    "queue": {"visibility_timeout_s": 5, "max_receive_count": 5},
    "function": {"timeout_s": 5},
    "mapping": {"batch_size": 10, "batching_window_s": 2},
    "handler": {"duration_distribution": "lognormal", "duration_median_s": 0.02,
                "duration_p99_s": 0.1},
}
FAILURES = [
    pytest.param({"failure_rate": 0.1}, {"poison_fraction": 0.0}, id="failure_rate"),
    pytest.param({"failure_rate": 0.0}, {"poison_fraction": 0.05}, id="poison"),
]


def full_batch_share(r) -> float:
    inv = r.invocations
    inv = inv[inv["status"] != "throttled"]
    return float(inv.loc[inv["batch_size"] == 10, "batch_size"].sum() / inv["batch_size"].sum())


@pytest.mark.parametrize("handler, workload", FAILURES)
def test_report_batch_item_failures_does_not_reprocess_good_messages(handler, workload):
    # AWS (Lambda with SQS, "Implementing partial batch responses"): with
    # ReportBatchItemFailures the function returns the ids that failed; only those
    # return to the queue, the rest are deleted.
    r = sim(merged(PARTIAL, handler=handler, workload=workload,
                   mapping={"report_batch_item_failures": True}))
    m = r.messages
    s = r.summary
    assert full_batch_share(r) > 0.5  # the window fills batches
    assert (r.invocations["status"] == "partial").any()
    assert (m["successful_executions"] <= 1).all()
    assert s["duplicate_executions"] == 0
    assert s["duplicate_side_effects"] == 0
    if handler["failure_rate"] == 0:  # only poison fails: good messages run exactly once
        good = m["successful_executions"] == 1
        assert (m.loc[good, "executions"] == 1).all()
        assert (m.loc[good, "outcome"] == "deleted").all()
    assert conserved(r)


@pytest.mark.parametrize("handler, workload", FAILURES)
def test_whole_batch_failure_reprocesses_good_messages(handler, workload):
    # AWS: without partial batch responses a function error returns the whole batch,
    # so records that already succeeded are processed again.
    r = sim(merged(PARTIAL, handler=handler, workload=workload,
                   mapping={"report_batch_item_failures": False}))
    m = r.messages
    s = r.summary
    assert full_batch_share(r) > 0.5
    assert not (r.invocations["status"] == "partial").any()
    assert s["duplicate_executions"] > 0
    assert (m["successful_executions"] > 1).sum() > 0


def test_malformed_partial_response_fails_the_whole_batch():
    # AWS: a batchItemFailures response that is malformed (or names an unknown id)
    # counts as a complete batch failure.
    data = merged(PARTIAL, handler={"failure_rate": 0.1, "malformed_response_rate": 1.0},
                  mapping={"report_batch_item_failures": True})
    r = sim(data)
    s = r.summary
    status = r.invocations["status"]
    assert not (status == "partial").any()
    assert (status == "error").sum() > 0
    assert s["duplicate_executions"] > 0
    assert (r.messages["successful_executions"] > 1).sum() > 0
    whole = sim(merged(data, handler={"malformed_response_rate": 0.0},
                       mapping={"report_batch_item_failures": False}))
    assert s["duplicate_executions"] >= 0.5 * whole.summary["duplicate_executions"]


def test_a_malformed_response_fails_the_batch_even_when_every_record_succeeded():
    """https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html: Lambda
    treats a batch as a complete failure when the function returns invalid JSON, an
    itemIdentifier that is null, empty or unknown, whether or not any record failed; an
    empty batchItemFailures list means every record succeeded."""
    data = merged(PARTIAL, handler={"failure_rate": 0.0, "malformed_response_rate": 0.3},
                  mapping={"report_batch_item_failures": True})
    r = sim(data)
    status = r.invocations["status"]
    ran = status[status != "throttled"]
    assert not (ran == "partial").any()  # no record fails
    share = (ran == "error").mean()
    assert 0.2 < share < 0.4, share  # about the malformed share, though nothing failed
    assert r.summary["duplicate_executions"] > 0  # their good records run again
    # an empty list (no malformed responses) is success: every batch ok, nothing repeated
    clean = sim(merged(data, handler={"malformed_response_rate": 0.0}))
    assert (clean.invocations["status"] == "ok").all()
    assert clean.summary["duplicate_executions"] == 0
    # without ReportBatchItemFailures there is no batchItemFailures response to malform
    plain = sim(merged(data, mapping={"report_batch_item_failures": False}))
    assert (plain.invocations["status"] == "ok").all()


# -- database connections ------------------------------------------------------------------

def db_scenario(connection_per, proxy=False, batch_size=10, source="sqs", max_connections=5):
    data = {
        "source": source,
        "workload": {"rate_per_s": 200, "duration_s": 20},
        "database": {"max_connections": max_connections, "workers": 4,
                     "connection_per": connection_per, "proxy": proxy},
        "handler": {"duration_distribution": "constant", "duration_median_s": 0.1,
                    "cpu_fraction": 0.0},
    }
    if source == "sqs":
        data["mapping"] = {"batch_size": batch_size}
    return data


def test_connection_per_invocation_over_the_limit_fails_to_connect():
    # docs/design.md / RDS: each open connection counts against max_connections; a connect
    # beyond it fails ("too many connections"), and the record fails and is retried.
    r = sim(db_scenario("invocation"))
    s = r.summary
    assert s["max_concurrency"] > 5
    assert s["db_connection_errors"] > 0
    assert s["db_max_connections_used"] <= 5


@pytest.mark.parametrize("source", ["sqs", "api"])
def test_connection_per_invocation_single_record_invocations_hit_the_limit(source):
    # A connection opened per invocation is held for the whole invocation, so with ~50
    # invocations running at once and max_connections 5, connects must fail.
    r = sim(db_scenario("invocation", batch_size=1, source=source))
    s = r.summary
    assert s["max_concurrency"] > 5
    assert s["db_connection_errors"] > 0
    # and with room for all, the connections in use track the busy environments
    roomy = sim(db_scenario("invocation", batch_size=1, source=source, max_connections=1000))
    assert roomy.summary["db_max_connections_used"] >= roomy.summary["max_concurrency"] // 2


@pytest.mark.parametrize("batch_size", [1, 10])
def test_proxy_multiplexes_connections_without_errors(batch_size):
    # RDS Proxy: clients connect to the proxy, which multiplexes them onto a bounded pool
    # and queues borrowers (up to the borrow timeout) instead of refusing them.
    r = sim(db_scenario("invocation", proxy=True, batch_size=batch_size))
    s = r.summary
    assert s["max_concurrency"] > 5
    assert s["db_connection_errors"] == 0
    assert s["db_max_connections_used"] <= 5
    assert s["messages_deleted"] == s["messages_sent"]


def test_connection_per_environment_holds_at_most_max_connections():
    # Each environment that holds a connection uses one; never more than max_connections.
    r = sim(db_scenario("environment"))
    s = r.summary
    assert s["max_concurrency"] > 5
    assert s["db_connection_errors"] > 0  # environments beyond the limit cannot connect
    assert s["db_max_connections_used"] <= 5
    assert r.timeseries["db_connections"].max() <= 5


def test_a_connection_refused_in_init_fails_init_and_discards_the_environment():
    """A client created outside the handler connects during INIT; an exception there fails
    INIT: the invoke returns an error and Lambda discards the environment, so the next
    request pays a new cold start
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html, "Init
    phase" and "Init errors"). Regression: the environment used to survive without a
    connection, failing record after record."""
    r = sim(db_scenario("environment"))
    inv = r.invocations
    ran = inv[inv["status"] != "throttled"]
    init_failures = ran[(ran["status"] == "error") & ran["cold"].astype(bool)]
    assert len(init_failures) > 0 and r.summary["db_connection_errors"] > 0
    # no record ran in them, and each such environment never served another invoke
    counts = ran.groupby("environment_id").size()
    assert (counts[init_failures["environment_id"]] == 1).all()
    # every environment that stayed alive holds a connection: idle ones within the limit
    assert r.timeseries["idle_environments"].max() <= 5
    # INIT includes the connection set-up (20 ms by default) on a cold start that connects
    ok_cold = ran[(ran["status"] == "ok") & ran["cold"].astype(bool)]
    assert (ok_cold["init_s"] >= 0.02).all()
    # a client created in the handler instead fails the record, not INIT
    lazy = sim(merged(db_scenario("environment"), function={"init_in_handler": True}))
    lazy_inv = lazy.invocations
    assert not ((lazy_inv["status"] == "error") & lazy_inv["cold"].astype(bool)
                & (lazy_inv["init_s"] > 0) & (lazy_inv["end_s"] - lazy_inv["start_s"]
                                               <= lazy_inv["init_s"] + 1e-9)).any()


@pytest.mark.parametrize("per, proxy, batch_size", [
    ("environment", False, 1), ("environment", True, 10),
    ("invocation", False, 1), ("invocation", False, 10), ("invocation", True, 1),
])
def test_db_max_connections_used_never_exceeds_max_connections(per, proxy, batch_size):
    r = sim(db_scenario(per, proxy=proxy, batch_size=batch_size))
    assert r.summary["db_max_connections_used"] <= 5
    assert r.timeseries["db_connections"].max() <= 5


def test_query_latency_grows_with_database_load():
    # docs/design.md: the database has finite workers, so under load a queue forms and
    # query latency grows (100 queries/s of 8 ms on 1 worker: utilisation 0.8).
    def warm_mean(workers):
        r = sim({"source": "api",
                 "workload": {"rate_per_s": 100, "duration_s": 30},
                 "database": {"workers": workers, "query_s": 0.008, "max_connections": 1000},
                 "handler": {"duration_distribution": "constant", "duration_median_s": 0.05,
                             "cpu_fraction": 0.0, "db_queries_per_message": 1}})
        inv = r.invocations
        warm = inv[~inv["cold"]]
        return float((warm["end_s"] - warm["start_s"]).mean())

    roomy = warm_mean(100)
    assert roomy == pytest.approx(0.05 + 0.008, abs=0.001)  # no queue: handler + query
    assert warm_mean(1) > roomy + 0.005


# -- idempotency ---------------------------------------------------------------------------

@pytest.mark.parametrize("idempotency", [True, False])
def test_idempotency_store_suppresses_duplicate_side_effects(idempotency):
    # Powertools idempotency: a duplicate execution finds the COMPLETE record and returns
    # the stored result without a second side effect (an INPROGRESS record makes it fail).
    r = sim(merged(SLOW_BATCHES, handler={"idempotency": idempotency}))
    s = r.summary
    assert s["duplicate_executions"] > 0
    if idempotency:
        assert s["duplicate_side_effects"] == 0
        assert (r.messages["side_effects"] <= 1).all()
    else:
        assert s["duplicate_side_effects"] > 0
        assert (r.messages["side_effects"] > 1).any()
    assert (r.messages.loc[r.messages["outcome"] == "deleted", "side_effects"] >= 1).all()


# One message every 10 s, one record per batch taking 9.5 s, 1 s of the function's own
# init: a cold invocation (INIT ~1.1 s + 9.5 s) outlasts the 10 s visibility timeout, so
# an idle poller receives the message again while the first execution is still running.
INIT_OVERLAP = {
    "database": None,
    "workload": {"pattern": "constant", "rate_per_s": 0.1, "duration_s": 1200},
    "queue": {"visibility_timeout_s": 10},
    "function": {"timeout_s": 10, "init_s": 1.0},
    "mapping": {"batch_size": 1},
    "handler": {"duration_distribution": "constant", "duration_median_s": 9.5,
                "cpu_fraction": 0.0},
}


def test_idempotency_in_progress_record_fails_the_overlapping_duplicate():
    # docs/design.md, "INIT": duplicates also come from INIT eating into the visibility timeout.
    # Powertools idempotency: a duplicate that finds an INPROGRESS record fails (and is
    # retried); one that finds COMPLETE makes no second side effect.
    plain = sim(INIT_OVERLAP)
    assert plain.summary["duplicate_executions"] > 0
    assert plain.summary["duplicate_side_effects"] > 0
    assert plain.summary["errors"] == 0
    r = sim(merged(INIT_OVERLAP, handler={"idempotency": True}))
    s = r.summary
    m = r.messages
    assert s["duplicate_executions"] > 0
    assert s["duplicate_side_effects"] == 0
    assert s["errors"] > 0  # no failures configured: these are INPROGRESS rejections
    assert (m["side_effects"] == 1).all()
    assert (m["outcome"] == "deleted").all()


# -- poison messages, the DLQ and retention ------------------------------------------------

POISON = {
    "database": None,
    "workload": {"rate_per_s": 10, "duration_s": 60, "poison_fraction": 0.1},
    "queue": {"visibility_timeout_s": 2, "max_receive_count": 3, "retention_s": 90},
    "function": {"timeout_s": 2},
    "mapping": {"report_batch_item_failures": True},
    "handler": {"duration_distribution": "constant", "duration_median_s": 0.01},
    "run": {"drain_s": 300},
}


def test_poison_messages_move_to_the_dlq_after_max_receive_count():
    # SQS redrive policy: when the receive count exceeds maxReceiveCount the message is
    # moved to the dead-letter queue.
    r = sim(POISON)
    m = r.messages
    poison = m["successful_executions"] == 0
    assert poison.sum() > 10
    assert (m.loc[poison, "outcome"] == "dlq").all()
    assert (m.loc[poison, "receive_count"] == 3).all()
    assert (m.loc[poison, "executions"] == 3).all()
    # it reappears at each receive + the visibility timeout (2 s): moved on the 4th receive
    held = m.loc[poison, "finished_s"] - m.loc[poison, "first_received_s"]
    assert (held >= 3 * 2 - 1e-9).all() and (held < 3 * 2 + 1).all()
    assert (m.loc[~poison, "outcome"] == "deleted").all()
    assert r.summary["messages_dlq"] == poison.sum()
    assert r.timeseries["dlq_depth"].iloc[-1] == poison.sum()


def test_poison_messages_without_a_dlq_expire_at_retention():
    # SQS: without a redrive policy a message is received again and again until its
    # retention period (counted from the send) runs out; then it is gone.
    r = sim(merged(POISON, queue={"max_receive_count": None}))
    m = r.messages
    poison = m["successful_executions"] == 0
    assert poison.sum() > 10
    assert (m.loc[poison, "outcome"] == "expired").all()
    assert (m.loc[poison, "receive_count"] > 3).all()
    late = m.loc[poison, "finished_s"] - m.loc[poison, "sent_s"]
    assert np.allclose(late, 90)
    assert r.summary["messages_expired"] == poison.sum()
    assert r.summary["messages_dlq"] == 0
    assert conserved(r)


# -- timeouts and environment reset --------------------------------------------------------

def test_timeout_resets_the_environment_and_an_error_does_not():
    # Lambda: a timed-out invocation's environment is reset, so the next request pays a
    # cold start; an ordinary function error keeps the environment.
    # One request every 2 s, handler ~0.4 s with a long tail past the 1 s timeout: a
    # single environment at a time, so the next invocation is the one that follows.
    r = sim({
        "source": "api", "database": None,
        "workload": {"pattern": "constant", "rate_per_s": 0.5, "duration_s": 300},
        "function": {"timeout_s": 1},
        "handler": {"duration_distribution": "lognormal", "duration_median_s": 0.4,
                    "duration_p99_s": 4, "cpu_fraction": 0.0, "failure_rate": 0.2},
    })
    inv = r.invocations.sort_values("start_s").reset_index(drop=True)
    assert r.summary["max_concurrency"] == 1
    timeouts = inv["status"] == "timeout"
    errors = inv["status"] == "error"
    assert timeouts.sum() > 3 and errors.sum() > 3
    assert r.summary["timeouts"] == timeouts.sum()
    assert np.allclose(inv.loc[timeouts, "end_s"] - inv.loc[timeouts, "start_s"]
                       - inv.loc[timeouts, "init_s"], 1.0)
    nxt = inv["cold"].shift(-1)
    assert nxt[timeouts].dropna().astype(bool).all()
    assert not nxt[errors].dropna().astype(bool).any()
    assert not nxt[inv["status"] == "ok"].dropna().astype(bool).any()
    # a reset environment is never used again
    for i in inv.index[timeouts]:
        later = inv.loc[i + 1:, "environment_id"]
        assert inv.loc[i, "environment_id"] not in set(later)


# -- cold starts ---------------------------------------------------------------------------

API = {
    "source": "api", "database": None,
    "workload": {"rate_per_s": 50, "duration_s": 60},
    "handler": {"duration_distribution": "constant", "duration_median_s": 0.1,
                "cpu_fraction": 0.0},
}


def test_provisioned_concurrency_above_peak_means_no_cold_starts():
    # Lambda provisioned concurrency: pre-initialised environments; requests within it
    # never see a cold start. On-demand only, the first requests do.
    on_demand = sim(API)
    assert on_demand.summary["cold_starts"] > 0
    provisioned = sim(merged(API, function={"provisioned_concurrency": 30}))
    s = provisioned.summary
    assert s["max_concurrency"] <= 30  # provisioned >= peak
    assert s["cold_starts"] == 0
    assert provisioned.invocations["provisioned"].all()
    assert s["messages_deleted"] == s["messages_sent"]


def test_provisioned_concurrency_spills_over_to_on_demand():
    # Traffic above the provisioned concurrency is served by on-demand environments.
    r = sim(merged(API, function={"provisioned_concurrency": 2}))
    inv = r.invocations
    assert inv["provisioned"].any() and not inv["provisioned"].all()
    assert r.summary["cold_starts"] > 0
    assert not inv.loc[inv["provisioned"], "cold"].any()


def test_short_idle_lifetime_means_more_cold_starts_for_sparse_traffic():
    # Idle environments are reclaimed after an idle lifetime; sparse traffic then meets
    # cold environments more often.
    sparse = {"source": "api", "database": None,
              "workload": {"rate_per_s": 0.1, "duration_s": 1200},
              "handler": {"duration_distribution": "constant", "duration_median_s": 0.1}}
    # (reclaim lag and spread zeroed: the lifetimes are exactly 5 s and 600 s)
    exact = {"idle_reclaim_lag_s": 0, "idle_lifetime_spread_s": 0}
    short = sim(merged(sparse, function={"idle_lifetime_s": 5, **exact}))
    long = sim(merged(sparse, function={"idle_lifetime_s": 600, **exact}))
    assert short.summary["cold_starts"] > 5 * long.summary["cold_starts"]
    assert long.summary["cold_starts"] >= 1


def test_requests_go_to_the_newest_idle_environment_and_old_ones_age_out():
    # docs/design.md (observed on AWS, SimFaaS): a request goes to the most recently created
    # idle environment, so after a burst the older ones sit idle until the idle lifetime
    # reclaims them.
    r = sim({"source": "api", "database": None,
             "workload": {"pattern": "burst", "rate_per_s": 1, "duration_s": 200,
                          "burst_start_s": 20, "burst_duration_s": 10,
                          "burst_rate_per_s": 200},
             "function": {"idle_lifetime_s": 60, "idle_reclaim_lag_s": 0,
                          "idle_lifetime_spread_s": 0},
             "handler": {"duration_distribution": "constant", "duration_median_s": 0.1,
                         "cpu_fraction": 0.0}})
    inv = r.invocations
    newest = inv["environment_id"].max()
    tail = inv[inv["start_s"] > 35]
    assert (tail["environment_id"] >= newest - 5).all()
    ts = r.timeseries.set_index("t_s")
    peak = ts.loc[31:80, "environments"]
    assert (peak == ts.loc[31, "environments"]).all() and peak.iloc[0] > 50  # kept for 60 s
    assert ts.loc[100:, "environments"].max() <= 5  # then reclaimed


def test_environments_are_recycled_after_their_maximum_lifetime():
    # docs/design.md, "Environment reuse and reclaim": idle environments are reclaimed after
    # the idle lifetime and past function.max_lifetime_s: steady traffic still sees a cold start.
    r = sim({"source": "api", "database": None,
             "workload": {"pattern": "constant", "rate_per_s": 0.1, "duration_s": 3 * 3600},
             "function": {"max_lifetime_s": 7200}})
    cold = r.invocations.loc[r.invocations["cold"], "start_s"].to_numpy()
    assert len(cold) == 2
    assert cold[0] == 0 and 7200 <= cold[1] <= 7200 + 10


def test_snapstart_restores_instead_of_running_the_function_init():
    # Lambda SnapStart (Java): a cold start restores a snapshot taken after INIT, so the
    # function's own init work (here 2 s) is not repeated; the restore time is measured.
    def cold_init(snapstart):
        r = sim(merged(API, workload={"rate_per_s": 20, "duration_s": 30}, function={
            "runtime": "java21", "snapstart": snapstart, "init_s": 2.0}))
        inv = r.invocations
        return inv.loc[inv["cold"], "init_s"]

    plain, snap = cold_init(False), cold_init(True)
    assert len(plain) > 0 and len(snap) > 0
    assert (plain > 2.0).all()
    assert snap.median() < plain.median() - 1.0


def test_init_in_handler_is_paid_on_every_invocation():
    # Work that belongs outside the handler (clients, connections) is paid on every
    # invocation when it is done inside it, not once per environment.
    base = merged(API, workload={"rate_per_s": 20}, function={"init_s": 0.3})
    outside = sim(merged(base, function={"init_in_handler": False}))
    inside = sim(merged(base, function={"init_in_handler": True}))

    def mean_duration(r, warm_only=False):
        inv = r.invocations
        if warm_only:
            inv = inv[~inv["cold"]]
        return float((inv["end_s"] - inv["start_s"]).mean())

    assert mean_duration(inside) > mean_duration(outside) + 0.2
    extra = mean_duration(inside, True) - mean_duration(outside, True)
    assert extra == pytest.approx(0.3, abs=0.01)
    a, b = outside.summary["cold_starts"], inside.summary["cold_starts"]
    assert a > 0 and b > 0
    assert 0.5 <= b / a <= 2.0


# -- memory and CPU ------------------------------------------------------------------------

def warm_mean_duration(memory_mb: int, cpu_fraction: float = 1.0) -> float:
    r = sim({"source": "api", "database": None,
             "workload": {"rate_per_s": 10, "duration_s": 60},
             "function": {"memory_mb": memory_mb},
             "handler": {"duration_distribution": "lognormal", "duration_median_s": 0.1,
                         "duration_p99_s": 0.3, "cpu_fraction": cpu_fraction}})
    inv = r.invocations
    warm = inv[~inv["cold"] & (inv["status"] == "ok")]
    return float((warm["end_s"] - warm["start_s"]).mean())


def test_halving_memory_doubles_cpu_bound_duration_below_one_vcpu():
    # Lambda allocates CPU in proportion to memory (1 vCPU at 1,769 MB).
    assert warm_mean_duration(256) / warm_mean_duration(512) == pytest.approx(2.0, rel=0.05)
    assert warm_mean_duration(512) / warm_mean_duration(1024) == pytest.approx(2.0, rel=0.05)
    # only the CPU-bound share stretches
    ratio = warm_mean_duration(256, 0.5) / warm_mean_duration(512, 0.5)
    assert 1.3 < ratio < 1.9


def test_memory_above_one_vcpu_does_not_speed_up_single_threaded_code():
    assert warm_mean_duration(4096) / warm_mean_duration(2048) == pytest.approx(1.0, rel=0.01)


# -- the synchronous (api) source ----------------------------------------------------------

API_THROTTLED = merged(API, workload={"rate_per_s": 20, "duration_s": 60},
                       function={"reserved_concurrency": 3},
                       handler={"duration_median_s": 0.05})


def test_api_throttle_without_retries_fails_the_request():
    # Synchronous invoke over the concurrency limit: 429 TooManyRequests to the caller;
    # a caller that does not retry sees a failed request.
    r = sim(merged(API_THROTTLED, caller={"max_retries": 0}))
    s = r.summary
    assert s["throttles"] > 0
    assert s["messages_failed"] == s["throttles"]  # each throttled request failed
    failed = r.messages["outcome"] == "failed"
    assert (r.messages.loc[failed, "executions"] == 0).all()
    assert conserved(r)


def test_api_caller_retries_reduce_failures():
    # The caller retries 429s with exponential backoff and jitter.
    none = sim(merged(API_THROTTLED, caller={"max_retries": 0})).summary
    some = sim(merged(API_THROTTLED, caller={"max_retries": 5})).summary
    assert some["messages_failed"] < none["messages_failed"] / 2
    assert some["messages_deleted"] > none["messages_deleted"]
    assert some["throttles"] > 0


def test_api_caller_does_not_retry_function_errors():
    # docs/design.md, "api source": the caller retries 429s only, not function errors.
    r = sim(merged(API, caller={"max_retries": 3}, handler={"failure_rate": 0.2}))
    m = r.messages
    s = r.summary
    assert s["throttles"] == 0
    assert s["messages_failed"] == s["errors"] > 0
    assert (m["executions"] == 1).all()
    assert (m["receive_count"] == 1).all()


def test_an_environment_serves_one_invocation_at_a_time():
    # Lambda: an execution environment handles one request at a time.
    for data in (API, merged(PARTIAL, handler={"failure_rate": 0.1})):
        inv = sim(data).invocations
        inv = inv[inv["status"] != "throttled"].sort_values(["environment_id", "start_s"])
        previous_end = inv.groupby("environment_id")["end_s"].shift(1)
        assert not (inv["start_s"] < previous_end - 1e-9).any()


def test_init_over_ten_seconds_is_retried_inside_the_first_invocation():
    # Lambda execution environment lifecycle: INIT is limited to 10 s; when it runs
    # over, Lambda retries it at the first invocation (billed: the 10 s and the retry).
    r = sim({"source": "api", "database": None,
             "workload": {"pattern": "constant", "rate_per_s": 0.2, "duration_s": 60},
             "function": {"init_s": 11, "timeout_s": 30},
             "handler": {"duration_distribution": "constant", "duration_median_s": 0.1,
                         "cpu_fraction": 0.0}})
    inv = r.invocations
    cold = inv[inv["cold"]]
    assert len(cold) > 0
    assert (cold["init_s"] == 10).all()
    assert ((cold["end_s"] - cold["start_s"]) > 10 + 11).all()
    assert (inv["status"] == "ok").all()


# -- scaling of the event source mapping ---------------------------------------------------

def test_pollers_scale_by_at_most_five_batches_a_second():
    # AWS (Lambda with SQS scaling): the mapping starts at 5 concurrent batches and adds
    # up to 300 per minute (5 a second) while messages wait.
    start = 10.0
    r = sim({
        "database": None,
        "workload": {"pattern": "burst", "rate_per_s": 2, "duration_s": 60,
                     "burst_start_s": start, "burst_duration_s": 20, "burst_rate_per_s": 500},
        "handler": {"duration_distribution": "constant", "duration_median_s": 0.1,
                    "cpu_fraction": 0.0},
    })
    ts = r.timeseries
    assert (ts["t_s"].diff().dropna() <= 1.0 + 1e-9).all()  # 1 s steps for a 1-minute run
    t, c = ts["t_s"].to_numpy(), ts["concurrency"].to_numpy()
    assert (c <= 5 + 5 * np.ceil(t)).all()
    assert (c[t < start] <= 5).all()  # low traffic before the burst: no scale-up
    burst = t >= start
    assert (c[burst] <= 5 + 5 * (np.floor(t[burst] - start) + 1)).all()
    assert r.summary["max_concurrency"] > 50  # it did scale, so the bound was binding
    assert r.summary["max_concurrency"] <= 5 + 5 * (ts["t_s"].max() - start + 1)


def test_function_scaling_rate_is_1000_environments_per_10_seconds():
    # Lambda scaling behaviour: each function can add up to 1,000 execution environments
    # every 10 s (a bucket of 1,000 refilled continuously); requests beyond it get 429s.
    r = sim({"source": "api", "database": None,
             "workload": {"pattern": "constant", "rate_per_s": 3000, "duration_s": 3},
             "account": {"concurrency_limit": 10_000},
             "caller": {"max_retries": 10, "backoff_base_s": 0.5},
             "handler": {"duration_distribution": "constant", "duration_median_s": 2.0,
                         "cpu_fraction": 0.0}})
    ts = r.timeseries
    assert (ts["environments"] <= 1000 + 100 * ts["t_s"] + 1).all()
    assert ts["environments"].max() > 1100  # past the initial burst, refilled
    assert r.summary["throttles"] > 0
    assert r.summary["messages_deleted"] > 0.9 * r.summary["messages_sent"]


# -- cost ----------------------------------------------------------------------------------

COST_ITEMS = {
    ("lambda", "requests"), ("lambda", "compute_gb_s"), ("lambda", "provisioned_gb_s"),
    ("lambda", "provisioned_compute_gb_s"), ("sqs", "requests"), ("logs", "ingestion_gb"),
    ("nat", "processed_gb"), ("nat", "hours"), ("database", "instance_hours"),
    ("lambda", "snapstart_cache_gb_s"), ("lambda", "snapstart_restore_gb"),
    ("database", "proxy_vcpu_hours"), ("lambda", "event_poller_unit_hours"),
    ("lambda", "provisioned_init_gb_s"),
}
COST_RUN = {"workload": {"rate_per_s": 20, "duration_s": 60},
            "handler": {"failure_rate": 0.05}}


def qty(cost: pd.DataFrame, service: str, item: str) -> float:
    row = cost[(cost["service"] == service) & (cost["item"] == item)]
    assert len(row) == 1
    return float(row["quantity"].iloc[0])


def test_cost_frame_has_the_design_items_and_adds_up():
    r = sim(COST_RUN)
    c = r.cost
    assert list(c.columns) == ["service", "item", "quantity", "unit", "unit_price_usd", "cost_usd"]
    assert set(zip(c["service"], c["item"])) == COST_ITEMS
    assert np.allclose(c["cost_usd"], c["quantity"] * c["unit_price_usd"])
    assert r.summary["cost_usd"] == pytest.approx(c["cost_usd"].sum())
    assert qty(c, "lambda", "requests") == r.summary["invocations"]
    assert r.summary["cost_per_million_usd"] == pytest.approx(
        r.summary["cost_usd"] / r.summary["messages_deleted"] * 1e6)


def test_lambda_compute_gb_s_is_billed_ms_times_memory_init_included():
    # Lambda bills duration per 1 ms x memory; INIT is billed for on-demand functions.
    r = sim(merged(COST_RUN, function={"memory_mb": 1024}))
    inv = r.invocations
    on_demand = (inv["status"] != "throttled") & ~inv["provisioned"].astype(bool)
    expected = inv.loc[on_demand, "billed_ms"].sum() / 1000 * 1024 / 1024
    assert qty(r.cost, "lambda", "compute_gb_s") == pytest.approx(expected, rel=1e-9)
    cold = inv[inv["cold"]]
    assert len(cold) > 0
    assert (cold["billed_ms"] >= cold["init_s"] * 1000).all()
    ran = inv[inv["status"] != "throttled"]
    assert (ran["billed_ms"] >= np.floor((ran["end_s"] - ran["start_s"]) * 1000)).all()


def test_sqs_requests_include_empty_receives():
    # SQS bills every ReceiveMessage call, empty ones included (long polls of up to 20 s).
    idle_tail = {"database": None,
                 "workload": {"pattern": "burst", "rate_per_s": 0.001, "duration_s": 1800,
                              "burst_start_s": 0, "burst_duration_s": 20,
                              "burst_rate_per_s": 10}}
    r = sim(idle_tail)
    m = r.messages
    # an upper bound on calls that carried messages: one send per message, at most one
    # receive per receive of a message and one delete call per deleted message
    busy_calls = len(m) + m["receive_count"].sum() + (m["outcome"] == "deleted").sum()
    sqs = qty(r.cost, "sqs", "requests")
    assert sqs > busy_calls
    short = sim(merged(idle_tail, workload={"duration_s": 30}))
    assert sqs > qty(short.cost, "sqs", "requests") + 200  # ~5 pollers x 89 long polls


def test_a_window_that_ends_on_a_partial_batch_bills_the_call_that_found_nothing(tmp_path):
    # Two pollers (maximum concurrency 2) gather under a 2 s window. The first takes the
    # message of 1.0 s and, at its window's end (3.0 s), the two sent at 1.2 and 1.3 s;
    # the second takes 1.1 s and finds nothing more at 3.1 s. Each poller keeps calling
    # until the queue answers empty, so each window ends with one billed empty receive.
    trace = tmp_path / "arrivals.csv"
    trace.write_text("sent_s\n1.0\n1.1\n1.2\n1.3\n")
    r = sim({"database": None,
             "workload": {"pattern": "trace", "trace_path": str(trace), "duration_s": 10},
             "mapping": {"batch_size": 10, "batching_window_s": 2, "max_concurrency": 2}})
    inv = r.invocations.sort_values("start_s")
    assert inv["start_s"].tolist() == [3.0, 3.1] and inv["batch_size"].tolist() == [3, 1]
    assert r.sqs_requests == {"sends": 4, "receives": 3, "empty_receives": 2,
                              "receive_payload_units": 0, "deletes": 2}


def test_sqs_bills_each_64_kb_of_payload_as_a_request():
    small = sim({"database": None, "workload": {"rate_per_s": 20, "duration_s": 30,
                                                "payload_kb": 2}})
    large = sim({"database": None, "workload": {"rate_per_s": 20, "duration_s": 30,
                                                "payload_kb": 100}})
    n = small.summary["messages_sent"]
    assert large.summary["messages_sent"] == n
    # each send of 100 KB is 2 requests; receives of up to 10 such messages more
    assert qty(large.cost, "sqs", "requests") >= qty(small.cost, "sqs", "requests") + n


def test_batch_payload_is_limited_to_6_mb():
    # Lambda: the invocation payload (the batch) is at most 6 MB.
    r = sim({"database": None,
             "workload": {"rate_per_s": 20, "duration_s": 30, "payload_kb": 1024},
             "mapping": {"batch_size": 10, "batching_window_s": 1}})
    inv = r.invocations
    assert inv["batch_size"].max() == 6
    assert r.summary["messages_deleted"] == r.summary["messages_sent"]


def test_provisioned_concurrency_is_billed_while_enabled():
    # Provisioned concurrency: a price per GB-s while enabled, plus its execution price.
    r = sim(merged(API, workload={"rate_per_s": 20}, function={
        "provisioned_concurrency": 10, "memory_mb": 1024}))
    c, inv = r.cost, r.invocations
    assert qty(c, "lambda", "provisioned_gb_s") == pytest.approx(10 * 1.0 * r.end_s)
    prov = inv["provisioned"].astype(bool) & (inv["status"] != "throttled")
    assert qty(c, "lambda", "provisioned_compute_gb_s") == pytest.approx(
        inv.loc[prov, "billed_ms"].sum() / 1000 * 1.0)
    assert qty(c, "lambda", "compute_gb_s") == pytest.approx(
        inv.loc[~prov & (inv["status"] != "throttled"), "billed_ms"].sum() / 1000 * 1.0)


def test_arm64_is_cheaper_than_x86_64():
    x86 = sim(merged(COST_RUN, function={"architecture": "x86_64"}))
    arm = sim(merged(COST_RUN, function={"architecture": "arm64"}))
    assert arm.summary["cost_usd"] < x86.summary["cost_usd"]
    x86_price = x86.cost.loc[x86.cost["item"] == "compute_gb_s", "unit_price_usd"].iloc[0]
    arm_price = arm.cost.loc[arm.cost["item"] == "compute_gb_s", "unit_price_usd"].iloc[0]
    assert arm_price < x86_price


def test_a_window_longer_than_the_visibility_timeout_keeps_each_receipt_with_its_batch():
    """Visibility clock starts at each receive, batching window included
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html: set the
    visibility timeout to at least six times the function timeout plus the batching
    window); only the most recent receipt handle deletes a message
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html).

    With a 40 s window against a 30 s visibility timeout, a message received early in a
    window becomes visible again before the batch is invoked and is received again, by
    this poller or another: it runs more than once, and it is deleted once, by the
    receipt of its latest receive. Regression: the batch used to read every receipt when
    it invoked, so a message received twice into one batch was deleted twice — the
    in-flight count went negative (-39) and the run, never seeing every message settled,
    went on to its 3,900 s limit.
    """
    data = {
        "workload": {"rate_per_s": 10, "duration_s": 300},
        "queue": {"visibility_timeout_s": 30},
        "mapping": {"batch_size": 50, "batching_window_s": 40},
        "function": {"timeout_s": 30},
        "handler": {"duration_median_s": 0.5, "duration_p99_s": 0.8, "cpu_fraction": 0.0},
        "database": None,
    }
    r = sim(data, seed=1)
    s, ts = r.summary, r.timeseries
    assert conserved(r)
    assert s["messages_unfinished"] == 0
    assert (ts["in_flight"] >= 0).all() and (ts["queue_visible"] >= 0).all()
    # every message is settled within a few visibility timeouts of the last arrival,
    # and the run stops then (450 s on seed 1), far from its 300 + 3,600 s limit
    assert r.end_s < 300 + 10 * 30, r.end_s
    assert s["duplicate_executions"] > 0.2 * s["messages_sent"]
    # no message is settled twice: deleted at most once, and never both deleted and moved
    m = r.messages
    assert m["message_id"].is_unique
    assert (m.loc[m["outcome"] == "deleted", "successful_executions"] >= 1).all()
    # at 6 x timeout + window, the same traffic runs every message once
    safe = sim(merged(data, queue={"visibility_timeout_s": 6 * 30 + 40}), seed=1)
    assert safe.summary["duplicate_executions"] == 0
    assert safe.summary["messages_deleted"] == safe.summary["messages_sent"]


# -- SnapStart and RDS Proxy charges (issue 10) ---------------------------------------

SNAP_RUN = merged(API, workload={"rate_per_s": 20, "duration_s": 30})


def test_snapstart_python_pays_cache_and_restores_java_does_not():
    """SnapStart for Python and .NET is charged for caching (memory GB x active time, at
    least 3 hours) and per GB restored; "SnapStart pricing does not apply to supported
    Java managed runtimes" (https://aws.amazon.com/lambda/pricing/,
    https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html)."""
    gb = 1024 / 1024
    py = sim(merged(SNAP_RUN, function={"runtime": "python3.13", "snapstart": True,
                                        "memory_mb": 1024}))
    assert py.summary["cold_starts"] > 0
    assert qty(py.cost, "lambda", "snapstart_restore_gb") == py.summary["cold_starts"] * gb
    assert qty(py.cost, "lambda", "snapstart_cache_gb_s") == pytest.approx(3 * 3600 * gb)
    for data in (merged(SNAP_RUN, function={"runtime": "java21", "snapstart": True}),
                 merged(SNAP_RUN, function={"runtime": "python3.13"})):
        r = sim(data)
        assert qty(r.cost, "lambda", "snapstart_restore_gb") == 0
        assert qty(r.cost, "lambda", "snapstart_cache_gb_s") == 0


def test_snapstart_cold_start_bills_the_billed_restore_only():
    """A SnapStart cold start takes Restore Duration but bills only the Billed Restore
    Duration (runtime load and afterRestore hooks; the snapshot restore is free):
    https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html."""
    from simlib.pricing import SNAPSTART_BILLED_RESTORE_FRACTION as share

    r = sim(merged(SNAP_RUN, function={"runtime": "java21", "snapstart": True}))
    inv = r.invocations
    cold = inv[inv["cold"]]
    assert len(cold) > 0
    wall_ms = np.ceil((cold["end_s"] - cold["start_s"]) * 1000 - 1e-9)
    handler_ms = np.maximum(np.ceil((cold["end_s"] - cold["start_s"] - cold["init_s"]) * 1000
                                    - 1e-9), 1)
    expected = handler_ms + np.ceil(cold["init_s"] * share * 1000 - 1e-9)
    np.testing.assert_array_equal(cold["billed_ms"], expected)
    assert (cold["billed_ms"] < wall_ms - 100).all()  # restores of ~0.7 s, ~27% billed
    warm = inv[~inv["cold"]]
    np.testing.assert_array_equal(
        warm["billed_ms"], np.maximum(np.ceil((warm["end_s"] - warm["start_s"]) * 1000 - 1e-9), 1))
    on_demand = inv.loc[inv["status"] != "throttled", "billed_ms"].sum() / 1000 * 512 / 1024
    assert qty(r.cost, "lambda", "compute_gb_s") == pytest.approx(on_demand)


def test_rds_proxy_is_billed_per_database_vcpu_hour_over_the_run():
    """RDS Proxy is billed per vCPU-hour of the database instance, at least 2 vCPUs
    (https://aws.amazon.com/rds/proxy/pricing/); the bill covers the run's horizon like the
    instance hours."""
    base = {"workload": {"rate_per_s": 20, "duration_s": 60}}
    for vcpus, billed in ((2, 2), (1, 2), (16, 16)):
        r = sim(merged(base, database={"proxy": True, "vcpus": vcpus}))
        assert qty(r.cost, "database", "proxy_vcpu_hours") == pytest.approx(billed * r.end_s / 3600)
        assert qty(r.cost, "database", "instance_hours") == pytest.approx(r.end_s / 3600)
    r = sim(base)
    assert qty(r.cost, "database", "proxy_vcpu_hours") == 0


# -- the event source mapping's scaling and back-off ------------------------------------

SCALING = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html"
ERRORS = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html"

BUSY_QUEUE = {
    "workload": {"rate_per_s": 200, "duration_s": 120},
    "database": None,
    "mapping": {"batch_size": 1},
    "handler": {"duration_distribution": "constant", "duration_median_s": 0.5,
                "cpu_fraction": 0.0},
}


def test_pollers_back_off_on_function_errors_in_proportion_to_their_share():
    f"""{ERRORS}: when the function's code fails, Lambda "gradually backs off, reducing the
    amount of concurrency allocated to your Amazon SQS event source mapping". A healthy
    function scales out to the traffic; one that fails every invoke is held near the
    low-traffic floor instead of growing."""
    healthy = sim(BUSY_QUEUE)
    failing = sim(merged(BUSY_QUEUE, handler={"failure_rate": 1.0}))
    assert healthy.summary["max_concurrency"] >= 90
    assert failing.summary["max_concurrency"] <= 10
    assert failing.timeseries["pollers"].iloc[-20:].max() <= 5
    # the back-off weighs errors by their share: 1 % of invokes failing barely slows it
    # (an assumption: AWS gives no rate; "when the errors are resolved, Lambda continues
    # to scale", https://repost.aws/knowledge-center/lambda-sqs-scaling)
    rare = sim(merged(BUSY_QUEUE, handler={"failure_rate": 0.01}))
    assert rare.summary["max_concurrency"] >= 0.8 * healthy.summary["max_concurrency"]
    assert failing.summary["max_concurrency"] < 0.2 * rare.summary["max_concurrency"]


def test_reported_item_failures_do_not_scale_polling_down():
    f"""{ERRORS}: "When ReportBatchItemFailures is activated, Lambda doesn't scale down
    message polling when function invocations fail." Every invoke here fails as a whole
    (a malformed batchItemFailures response), yet the mapping scales as a healthy one."""
    data = merged(BUSY_QUEUE, mapping={"report_batch_item_failures": True},
                  handler={"malformed_response_rate": 1.0})
    failing = sim(data)
    assert (failing.invocations["status"].isin(["error", "throttled"])).all()
    healthy = sim(BUSY_QUEUE)
    assert failing.summary["max_concurrency"] >= 0.8 * healthy.summary["max_concurrency"]
    # the same failures without ReportBatchItemFailures back off
    plain = sim(merged(BUSY_QUEUE, handler={"failure_rate": 1.0}))
    assert plain.summary["max_concurrency"] < 0.2 * failing.summary["max_concurrency"]


def test_throttles_back_the_mapping_off_towards_reserved_concurrency():
    f"""{ERRORS}: on throttling Lambda also backs off by reducing the mapping's concurrency.
    The mapping does not account for reserved concurrency (it reads more than the function
    can take: https://repost.aws/knowledge-center/lambda-sqs-scaling), so it overshoots
    and then settles near the function's limit instead of growing with the backlog."""
    r = sim(merged(BUSY_QUEUE, function={"reserved_concurrency": 10}))
    pollers = r.timeseries["pollers"]
    assert r.summary["throttles"] > 0
    assert r.summary["max_concurrency"] <= 10
    steady = pollers[r.timeseries["t_s"].between(30, 120)]
    assert steady.mean() < 2.5 * 10, steady.describe()
    assert steady.max() < 40


def test_the_mapping_scales_to_1250_concurrent_invokes():
    f"""{SCALING}: "The maximum number of invokes that an event source mapping can process
    simultaneously is 1,250" (the account's limit raised to 3,000 so it does not bind),
    reached at up to 300 more per minute."""
    r = sim({"workload": {"rate_per_s": 500, "duration_s": 300, "pattern": "constant"},
             "database": None, "account": {"concurrency_limit": 3000},
             "function": {"timeout_s": 60}, "queue": {"visibility_timeout_s": 400},
             "handler": {"duration_distribution": "constant", "duration_median_s": 3,
                         "cpu_fraction": 0.0},
             "mapping": {"batch_size": 10}, "run": {"drain_s": 0}})
    assert r.summary["max_concurrency"] == 1250
    assert r.timeseries["pollers"].max() == 1250
    # 5 at the start, then at most 300 more per minute
    ts = r.timeseries.set_index("t_s")["pollers"]
    assert ts.loc[60.0] <= 5 + 300 + 5


@pytest.mark.parametrize("max_concurrency, floor", [(None, 2), (20, 5)])
def test_an_idle_mapping_scales_down_to_two_pollers_unless_capped(max_concurrency, floor):
    f"""{SCALING}: "When traffic is low, Lambda scales back the processing to five
    concurrent invokes, and can optimize to as few as 2 concurrent invokes to reduce the
    Amazon SQS calls and corresponding costs. However, this optimization is not available
    when you enable the maximum concurrency setting." Fewer pollers long-poll an empty
    queue, so fewer empty receives are billed."""
    r = sim({"workload": {"rate_per_s": 0.02, "duration_s": 1200}, "database": None,
             "mapping": {"max_concurrency": max_concurrency}})
    late = r.timeseries[r.timeseries["t_s"] > 300]
    assert late["pollers"].min() == floor
    assert late["pollers"].max() <= 5
    polls = r.summary["messages_sent"] + 1200 / 20 * floor  # about floor long polls per 20 s
    assert kpis_empty(r) < 1.5 * polls


def kpis_empty(r) -> int:
    from simlib import kpis
    return int(kpis.sqs_request_breakdown(r)["empty_receives"])


def test_invocation_rate_is_capped_at_ten_times_the_concurrency_limit():
    """https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: a function's
    invocation requests per second are limited to 10 x its concurrency (the account's, or
    its reserved concurrency); above it Lambda answers 429 (TooManyRequestsException,
    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). 20,000 requests/s of
    10 ms each need only 200 concurrent environments, but exceed 10,000 invokes/s."""
    data = {"source": "api", "database": None, "caller": {"max_retries": 0},
            "workload": {"pattern": "constant", "rate_per_s": 20_000, "duration_s": 5},
            "handler": {"duration_distribution": "constant", "duration_median_s": 0.01,
                        "cpu_fraction": 0.0}}
    r = sim(data)
    inv = r.invocations
    ran = inv[inv["status"] != "throttled"]
    # once the first second's cold starts are over, far below the concurrency limit: the
    # rate, not concurrency, is what throttles
    assert r.timeseries.loc[r.timeseries["t_s"] >= 2, "concurrency"].max() < 500
    assert r.summary["throttles"] > 0
    per_second = ran.groupby(np.floor(ran["start_s"])).size()
    # at most 10,000 start in any second; once warm, every second uses all of them
    assert per_second.max() <= 10_000, per_second.to_dict()
    assert per_second.iloc[1:].min() == 10_000
    # with reserved concurrency 20 the rate is 200 per second
    small = sim(merged(data, function={"reserved_concurrency": 20},
                       workload={"rate_per_s": 1_000}))
    sran = small.invocations[small.invocations["status"] != "throttled"]
    assert sran.groupby(np.floor(sran["start_s"])).size().max() <= 200


def test_callers_retry_429s_as_an_sdk_does_by_default():
    """AWS SDKs' standard retry mode makes three attempts (two retries) with exponential
    backoff and jitter (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html);
    the caller does the same unless told otherwise (caller.max_retries: 0)."""
    data = {"source": "api", "database": None,
            "workload": {"rate_per_s": 25, "duration_s": 60},
            "function": {"reserved_concurrency": 5},
            "handler": {"duration_distribution": "exponential", "duration_median_s": 0.07,
                        "cpu_fraction": 0.0}}  # mean 0.1 s: 2.5 of 5 environments busy
    default = sim(data)
    assert default.scenario.caller.max_retries == 2
    none = sim(merged(data, caller={"max_retries": 0}))
    assert none.summary["messages_failed"] > 0
    assert default.summary["messages_failed"] < 0.5 * none.summary["messages_failed"]
    assert default.summary["throttles"] > none.summary["throttles"]  # retries are attempts too


# -- provisioned mode of the SQS mapping ---------------------------------------------------
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html: "each event
# poller can handle up to 1 MB/sec of throughput, up to 10 concurrent invokes ... Lambda
# scales the number of event pollers between your configured minimum and maximum, quickly
# adding up to 1,000 concurrency per minute"; pricing (https://aws.amazon.com/lambda/pricing/):
# "An EPU supports one event poller"; "Pricing is based on the provisioned minimum event
# pollers, and the event pollers consumed during autoscaling", "per second".

PM_BURST = {"database": None,
            "workload": {"pattern": "burst", "rate_per_s": 5, "duration_s": 200,
                         "burst_start_s": 60, "burst_duration_s": 60, "burst_rate_per_s": 3000},
            "handler": {"duration_distribution": "constant", "duration_median_s": 1.0,
                        "cpu_fraction": 0.0},
            "run": {"drain_s": 0}}


def test_provisioned_mode_keeps_its_minimum_pollers_while_idle():
    """Provisioned event pollers "remain ready" (services-sqs-scaling.html): at a trickle
    the mapping holds 10 concurrent invokes per minimum event poller all run long, where
    standard mode drops to its low-traffic floor of 2."""
    data = {"database": None, "workload": {"rate_per_s": 0.05, "duration_s": 300}}
    prov = sim(merged(data, mapping={"provisioned_min_pollers": 3}))
    assert (prov.timeseries["pollers"] == 30).all()
    std = sim(data)
    assert std.timeseries["pollers"].iloc[-1] == 2


def test_provisioned_mode_scales_up_to_1000_invokes_a_minute():
    """"quickly adding up to 1,000 concurrency per minute" (provisioned) against "up to
    300 more concurrent invokes per minute" (standard), services-sqs-scaling.html."""
    prov = sim(merged(PM_BURST, mapping={"provisioned_min_pollers": 2,
                                         "provisioned_max_pollers": 100}))
    std = sim(PM_BURST)
    p = prov.timeseries.set_index("t_s")["pollers"]
    s = std.timeseries.set_index("t_s")["pollers"]
    grown = p.loc[90] - p.loc[60]  # 30 s into the burst
    assert 1000 / 2 - 20 <= grown <= 1000 / 2 + 1
    assert s.loc[90] - s.loc[60] <= 300 / 2 + 1
    assert (p.diff().dropna() <= 1000 / 60 + 1).all()  # never faster than 1,000 a minute
    assert prov.summary["latency_p99_s"] < std.summary["latency_p99_s"]


def test_provisioned_mode_tops_out_at_10_invokes_per_maximum_event_poller():
    """Each SQS event poller handles "up to 10 concurrent invokes" and Lambda scales
    between the configured minimum and maximum (services-sqs-scaling.html); the standard
    mode's 1,250 ceiling does not apply."""
    prov = sim(merged(PM_BURST, mapping={"provisioned_max_pollers": 30},
                      account={"concurrency_limit": 2000}))
    assert prov.timeseries["pollers"].max() == 300
    assert prov.summary["max_concurrency"] == 300
    big = sim(merged(PM_BURST, mapping={"provisioned_min_pollers": 130,
                                        "provisioned_max_pollers": 140},
                     account={"concurrency_limit": 3000}))
    assert big.timeseries["pollers"].max() == 1400  # above standard mode's 1,250


def test_provisioned_mode_bills_event_poller_unit_hours():
    """One EPU per event poller, billed per second on the provisioned minimum and on
    those consumed while scaled up, at $0.00925 per EPU-hour (https://aws.amazon.com/lambda/pricing/,
    Provisioned Mode for ESM and its SQS pricing example); nothing in standard mode."""
    idle = sim({"database": None, "workload": {"rate_per_s": 0.05, "duration_s": 300},
                "mapping": {"provisioned_min_pollers": 4}})
    row = idle.cost[idle.cost["item"] == "event_poller_unit_hours"].iloc[0]
    assert row["service"] == "lambda" and row["unit"] == "EPU-hour"
    assert row["quantity"] == pytest.approx(4 * idle.end_s / 3600)
    assert row["unit_price_usd"] == 0.00925
    assert row["cost_usd"] == pytest.approx(row["quantity"] * 0.00925)
    busy = sim(merged(PM_BURST, mapping={"provisioned_min_pollers": 2,
                                         "provisioned_max_pollers": 100}))
    epu = qty(busy.cost, "lambda", "event_poller_unit_hours")
    ts = busy.timeseries
    floor = 2 * busy.end_s / 3600
    assert epu > 5 * floor  # scaled up to 100 event pollers for much of the run
    step = ts["t_s"].diff().dropna()
    approx = (np.maximum(2, np.ceil(ts["pollers"].iloc[:-1].to_numpy() / 10)) * step).sum()
    assert epu == pytest.approx(approx / 3600, rel=0.05)
    assert qty(sim(PM_BURST).cost, "lambda", "event_poller_unit_hours") == 0


def test_provisioned_mode_backs_off_but_not_below_its_minimum():
    """Throttles make the mapping back off (services-sqs-errorhandling.html, as in
    standard mode; AWS gives provisioned mode no other rule), but the provisioned minimum
    stays: with reserved concurrency 5 below 20 provisioned invokes, the pollers stay at
    20 and the extra invokes are throttled."""
    data = merged(PM_BURST, mapping={"provisioned_min_pollers": 2},
                  function={"reserved_concurrency": 5})
    r = sim(data)
    assert r.timeseries["pollers"].min() == 20
    assert r.summary["throttles"] > 0


# -- provisioned environments: INIT at allocation, recycling -------------------------------
# AWS: "Your function's initialization code runs during allocation and every few hours, as
# running instances of your function are recycled ... initialization is billed even if the
# instance never processes a request. Provisioned concurrency runs continually and is
# billed separately from initialization and invocation costs"
# (https://github.com/awsdocs/aws-lambda-developer-guide/blob/main/doc_source/configuration-concurrency.md);
# Lambda "always ensures that the number of pre-initialized environments is equal to the
# value of your function's provisioned concurrency setting"
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html). The recycle
# period is the model's max_lifetime_s (AWS: "every few hours"), the INIT rate the
# provisioned duration rate (AWS names none): docs/design.md, "Assumptions".

PROVISIONED_ONLY = merged(API, workload={"rate_per_s": 10, "duration_s": 60}, function={
    "provisioned_concurrency": 4, "reserved_concurrency": 4, "init_s": 1.0, "memory_mb": 2048})


def test_provisioned_environments_run_init_at_allocation_and_it_is_billed():
    r = sim(PROVISIONED_ONLY)
    ran = r.invocations[r.invocations["status"] != "throttled"]
    assert len(ran) > 500 and ran["provisioned"].all()
    # no invocation waits for INIT, nor is any a cold start ...
    assert not ran["cold"].any() and (ran["init_s"] == 0).all()
    assert r.summary["cold_starts"] == 0
    # ... but each of the 4 environments ran it once, at allocation (none recycled yet)
    from simlib import kpis
    assert r.provisioned_inits == kpis.provisioned_inits(r) == 4
    init_ms = r.usage.provisioned_init_billed_ms
    assert 4 * 1000 < init_ms < 4 * 3000  # the function's own 1 s + the runtime's INIT
    gb = 2048 / 1024
    assert qty(r.cost, "lambda", "provisioned_init_gb_s") == pytest.approx(init_ms / 1000 * gb)
    row = r.cost[r.cost["item"] == "provisioned_init_gb_s"].iloc[0]
    assert row["unit_price_usd"] == pytest.approx(0.0000097222)  # provisioned duration rate
    assert r.summary["cost_usd"] == pytest.approx(r.cost["cost_usd"].sum())
    # billed on top of what the invocations and the enabled concurrency cost
    assert qty(r.cost, "lambda", "provisioned_compute_gb_s") == pytest.approx(
        ran["billed_ms"].sum() / 1000 * gb)
    plain = sim(merged(PROVISIONED_ONLY, function={"provisioned_concurrency": 0}))
    assert plain.provisioned_inits == 0
    assert qty(plain.cost, "lambda", "provisioned_init_gb_s") == 0


RECYCLED = merged(API, workload={"rate_per_s": 10, "duration_s": 900}, function={
    "provisioned_concurrency": 3, "reserved_concurrency": 3, "max_lifetime_s": 120,
    "init_s": 0.5})


def test_provisioned_environments_are_recycled_with_init_billed_and_no_cold_start():
    r = sim(RECYCLED)
    inv = r.invocations
    ran = inv[inv["status"] != "throttled"]
    # recycled every 120 s, the first time after a random share of that: 7 or 8 recycles
    # per environment in 900 s, each running (and billing) INIT again
    assert 3 + 3 * 7 <= r.provisioned_inits <= 3 + 3 * 8
    assert r.usage.provisioned_init_billed_ms > r.provisioned_inits * 500
    assert qty(r.cost, "lambda", "provisioned_init_gb_s") == pytest.approx(
        r.usage.provisioned_init_billed_ms / 1000 * 512 / 1024)
    # the replacement was initialised before it took over: no invocation is cold
    assert r.summary["cold_starts"] == 0 and not ran["cold"].any()
    assert ran["provisioned"].all() and (ran["init_s"] == 0).all()
    assert r.timeseries["cold_starts"].sum() == 0
    # no environment serves beyond its recycle time (plus the invocation it was running)
    span = ran.groupby("environment_id").agg(first=("start_s", "min"), last=("end_s", "max"))
    assert len(span) > 3 * 7
    assert ((span["last"] - span["first"]) <= 120 + 0.2).all()
    # the count of environments never changes: 3 live at every sample, busy + idle
    ts = r.timeseries
    assert (ts["environments"] == 3).all()
    assert (ts["concurrency"] + ts["idle_environments"] == ts["environments"]).all()
    # the same run with no recycle in sight runs INIT only at allocation
    assert sim(merged(RECYCLED, function={"max_lifetime_s": 1e9})).provisioned_inits == 3
