"""SQS FIFO queues behind Lambda: order within a message group, one batch per group in
flight, a failing message blocks its group, deduplication, prices.

Sources: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues.html
(and its pages on message groups, deduplication, dead-letter queues),
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from simlib import Application, ScenarioError, simulate

WORK = {"duration_distribution": "constant", "duration_median_s": 0.5, "cpu_fraction": 0.0,
        "db_queries_per_message": 0, "timeout_s": 10}


def fifo_app(groups=5, rate=20, duration=120, batch=10, rbif=False, poison=0.0, failure=0.0,
             dup=0.0, dup_delay=1.0, fifo=True, visibility=30, receives=3, seed_fn=None):
    return Application.from_dict({"resources": {
        "s": {"kind": "source", "target": "Q", "rate_per_s": rate, "duration_s": duration,
              "message_groups": groups, "poison_fraction": poison,
              "duplicate_send_rate": dup, "duplicate_send_delay_s": dup_delay},
        "Q": {"kind": "queue", "fifo": fifo, "visibility_timeout_s": visibility,
              "max_receive_count": receives, "dlq": "DLQ"},
        "DLQ": {"kind": "queue", "fifo": fifo},
        "M": {"kind": "mapping", "queue": "Q", "function": "F", "batch_size": batch,
              "report_batch_item_failures": rbif},
        "F": {"kind": "function", **WORK, "failure_rate": failure, **(seed_fn or {})},
    }})


def _executions(r) -> pd.DataFrame:
    m, start, end, ok, _ = r.pipelines["M"]._records.execution_columns()
    return pd.DataFrame({"m": m, "start": start, "end": end, "ok": ok})


@pytest.mark.parametrize("case", [
    {"groups": 3},
    {"groups": 3, "failure": 0.2},
    {"groups": 3, "failure": 0.2, "rbif": True},
    {"groups": 8, "poison": 0.05, "rbif": True},
    {"groups": 8, "poison": 0.05, "batch": 1},
    {"groups": 1, "failure": 0.1, "visibility": 12},
])
def test_order_within_a_group_is_never_violated(case):
    """"Messages that belong to the same message group are always processed one by one,
    in a strict order relative to the message group" (FIFO-queues.html): a group's next
    message never runs before the one before it has run successfully (or, if that one
    never did, before it was moved to the DLQ), failures, retries and partial batch
    responses included. (A batch that fails whole runs its earlier, successful records
    again when it returns: duplicates, in order.)"""
    r = simulate(fifo_app(**case), 2)
    q = r.messages[r.messages["resource"] == "Q"].set_index("message_id")
    delivered = q[q["drop_reason"] != "deduplicated"]
    ex = _executions(r)
    first_start = ex.groupby("m")["start"].min()
    first_ok_end = ex[ex["ok"]].groupby("m")["end"].min()
    checked = 0
    for _, group in delivered.groupby("attribute.message_group"):
        ids = [m for m in group.index.to_numpy() if m in first_start.index]
        for a, b in itertools.pairwise(ids):
            done = first_ok_end.get(a, q.loc[a, "finished_s"])  # else: its move to the DLQ
            assert first_start[b] >= done - 1e-9, (a, b)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("groups", [1, 2, 5])
def test_concurrency_is_bounded_by_the_number_of_message_groups(groups):
    """Lambda processes one batch per message group at a time: with work arriving faster
    than the groups can take it, concurrency rises to the number of groups and no
    further (services-sqs-scaling.html: FIFO scales to the number of active groups)."""
    r = simulate(fifo_app(groups=groups, rate=40, duration=60), 1)
    ts = r.timeseries
    busy = ts[ts["resource"] == "F"]["concurrency"]
    assert busy.max() == groups
    assert r.summary["max_concurrency"] == groups


def test_a_poison_message_blocks_its_group_until_it_is_redriven():
    """With batches of one, the message after a poison message in its group is received
    only once the poison message has been received max_receive_count times and moved
    to the DLQ: at least that many visibility timeouts later."""
    visibility, receives = 20, 3
    r = simulate(fifo_app(groups=20, rate=4, duration=120, batch=1, poison=0.02,
                          visibility=visibility, receives=receives), 3)
    q = r.messages[r.messages["resource"] == "Q"].set_index("message_id")
    poison = q[q["poison"]]
    assert len(poison) >= 3
    assert (poison["outcome"] == "dlq").all() and (poison["receive_count"] == receives).all()
    blocked = 0
    for g, group in q.groupby("attribute.message_group"):
        ids = group.index.to_numpy()
        for a, b in itertools.pairwise(ids):
            if q.loc[a, "poison"] and not q.loc[b, "poison"]:
                assert q.loc[b, "first_received_s"] >= (
                    q.loc[a, "first_received_s"] + receives * visibility - 1e-6)
                blocked += 1
    assert blocked >= 3
    # groups without a poison message go on meanwhile: their messages hardly wait
    clean = ~q.groupby("attribute.message_group")["poison"].transform("any")
    wait = q["first_received_s"] - q["sent_s"]
    assert clean.sum() > 100
    first_poison = q[q["poison"]].reset_index().groupby("attribute.message_group")[
        "message_id"].min()
    behind = q.index.to_numpy() > q["attribute.message_group"].map(first_poison).fillna(
        np.inf).to_numpy()
    assert wait[clean].max() < 5.0 < wait[behind & ~q["poison"]].median()


def test_with_partial_batch_responses_processing_stops_at_the_first_failure():
    """"If you're using this feature with a FIFO queue, your function should stop
    processing messages after the first failure" (services-sqs-errorhandling.html): a
    partial batch ran its successes and the one failed record, nothing after it; the
    failed record and the rest are reported and return."""
    r = simulate(fifo_app(groups=2, rate=20, duration=60, rbif=True, failure=0.3), 4)
    inv = r.invocations[r.invocations["status"] != "throttled"]
    assert set(inv["status"]) <= {"ok", "partial"}
    partial = inv["status"] == "partial"
    assert partial.sum() > 10
    ran = np.where(partial, inv["batch_size"] - inv["failed_items"] + 1, inv["batch_size"])
    assert r.summary["executions"] == ran.sum() < inv["batch_size"].sum()


def test_duplicate_sends_within_five_minutes_are_delivered_once():
    """"If a message with a particular message deduplication ID is sent successfully, any
    messages sent with the same message deduplication ID are accepted successfully but
    aren't delivered during the 5-minute deduplication interval"; a standard queue
    delivers both."""
    fifo = simulate(fifo_app(groups=20, rate=10, duration=60, dup=0.2), 1)
    std = simulate(fifo_app(groups=20, rate=10, duration=60, dup=0.2, fifo=False), 1)
    late = simulate(fifo_app(groups=20, rate=10, duration=60, dup=0.2, dup_delay=400), 1)
    q = fifo.messages[fifo.messages["resource"] == "Q"]
    deduplicated = (q["drop_reason"] == "deduplicated").sum()
    assert 0.15 * len(q) < deduplicated < 0.2 * len(q)
    assert (q[q["drop_reason"] == "deduplicated"]["executions"] == 0).all()
    s = std.messages[std.messages["resource"] == "Q"]
    assert len(s) == len(q) and (s["outcome"] == "deleted").all()  # both copies processed
    assert fifo.summary["messages_deleted"] == len(q) - deduplicated
    lq = late.messages[late.messages["resource"] == "Q"]
    assert (lq["drop_reason"] != "deduplicated").all()


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"M": {"batch_size": 11, "batching_window_s": 1}}, "resources.M.batch_size", "1..10"),
    ({"M": {"batching_window_s": 2}}, "resources.M.batching_window_s", "no batching window"),
    ({"DLQ": {"fifo": False}}, "resources.Q.dlq", "same type"),
])
def test_what_aws_refuses_for_fifo_queues(changes, field, words):
    data = fifo_app().to_dict()
    for name, fields in changes.items():
        data["resources"][name].update(fields)
    with pytest.raises(ScenarioError) as err:
        Application.from_dict(data)
    assert err.value.field == field
    assert words in str(err.value)


def test_an_sns_standard_topic_cannot_feed_a_fifo_queue():
    with pytest.raises(ScenarioError) as err:
        Application.from_dict({"resources": {
            "s": {"kind": "source", "target": "T"},
            "T": {"kind": "topic", "subscriptions": [{"target": "Q"}]},
            "Q": {"kind": "queue", "fifo": True}}})
    assert err.value.field == "resources.T" and "SNS standard topic" in str(err.value)


def test_fifo_requests_are_billed_at_the_fifo_price():
    r = simulate(fifo_app(groups=5, rate=5, duration=30), 1)
    line = r.cost[(r.cost["resource"] == "Q") & (r.cost["service"] == "sqs")].iloc[0]
    assert line["unit_price_usd"] == pytest.approx(0.50 / 1e6)
