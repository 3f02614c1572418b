"""SNS topics, EventBridge buses and their filters: fan-out, delivery retries, who retries
what, and the bill.

Sources: https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html,
subscription-filter-policy-constraints.html, sns-message-delivery-retries.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html,
eb-rule-retry-policy.html.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from simlib import Application, ScenarioError, eventbridge, simulate, sns
from simlib.event_patterns import compile_pattern, matches

FAST = {"duration_median_s": 0.05, "duration_p99_s": 0.1, "db_queries_per_message": 0}


def app(resources: dict, **top) -> Application:
    return Application.from_dict({"resources": resources, **top})


def shop(target: str, rate: float = 20, duration: float = 60, **extra) -> dict:
    return {"kind": "source", "target": target, "rate_per_s": rate, "duration_s": duration,
            "attributes": {"type": ["order", "order", "refund"], "amount": [5, 50, 500],
                           "region": ["eu-west-1", "us-east-1"]}, **extra}


# -- the matcher ------------------------------------------------------------------------------
@pytest.mark.parametrize(("pattern", "event", "expected"), [
    ({"type": ["order"]}, {"type": "order"}, True),
    ({"type": ["order"]}, {"type": "Order"}, False),  # case-sensitive
    ({"type": ["order", "refund"]}, {"type": "refund"}, True),  # OR within a key
    ({"type": ["order"], "amount": [50]}, {"type": "order", "amount": 5}, False),  # AND across
    ({"amount": [50]}, {"amount": 50.0}, True),
    ({"region": [{"prefix": "eu-"}]}, {"region": "eu-west-1"}, True),
    ({"region": [{"prefix": "eu-"}]}, {"region": "us-east-1"}, False),
    ({"type": [{"anything-but": ["refund"]}]}, {"type": "order"}, True),
    ({"type": [{"anything-but": "refund"}]}, {"type": "refund"}, False),
    ({"type": [{"anything-but": ["refund"]}]}, {}, False),  # absent: not matched
    ({"region": [{"anything-but": {"prefix": "eu-"}}]}, {"region": "us-east-1"}, True),
    ({"amount": [{"numeric": [">=", 100]}]}, {"amount": 500}, True),
    ({"amount": [{"numeric": [">", 0, "<=", 50]}]}, {"amount": 50}, True),
    ({"amount": [{"numeric": [">", 0, "<=", 50]}]}, {"amount": 500}, False),
    ({"amount": [{"numeric": [">", 0]}]}, {"amount": "500"}, False),  # a string is no number
    ({"coupon": [{"exists": True}]}, {"coupon": "X"}, True),
    ({"coupon": [{"exists": False}]}, {}, True),
    ({"coupon": [{"exists": False}]}, {"coupon": "X"}, False),
    ({"detail": {"type": ["order"]}}, {"detail.type": "order"}, True),  # nested: dotted
])
def test_filter_operators(pattern, event, expected):
    assert matches(compile_pattern(pattern, "p"), event) is expected


@pytest.mark.parametrize(("pattern", "sns", "field", "words"), [
    ({"type": [{"suffix": "x"}]}, False, "p.type[0].suffix", "one of the operators"),
    ({"amount": [{"numeric": ["~", 1]}]}, False, "p.amount[0].numeric", "comparisons"),
    ({"type": []}, False, "p.type", "non-empty list"),
    ({"a": [1], "b": [1], "c": [1], "d": [1], "e": [1], "f": [1]}, True, "p",
     "at most 5 keys"),
    ({"a": list(range(10)), "b": list(range(16))}, True, "p", "at most 150 combinations"),
])
def test_bad_filters_name_the_path_and_the_rule(pattern, sns, field, words):
    """SNS: "A filter policy can have a maximum of five keys"; "The total combination of
    values in a filter policy must not exceed 150" (subscription-filter-policy-constraints.html)."""
    with pytest.raises(ScenarioError) as err:
        compile_pattern(pattern, "p", sns=sns)
    assert err.value.field == field
    assert words in str(err.value)


def test_a_topic_or_bus_with_a_wrong_target_names_the_field():
    with pytest.raises(ScenarioError) as err:
        app({"s": shop("T"), "T": {"kind": "topic", "subscriptions": [{"target": "B"}]},
             "B": {"kind": "bus", "rules": []}})
    assert err.value.field == "resources.T.subscriptions[0].target"
    with pytest.raises(ScenarioError) as err:
        app({"s": shop("B"), "Q": {"kind": "queue"},
             "B": {"kind": "bus", "rules": [{"targets": [{"target": "Q"}] * 6}]}})
    assert err.value.field == "resources.B.rules[0].targets" and "1 to 5" in str(err.value)
    with pytest.raises(ScenarioError) as err:
        app({"s": shop("T"), "T": {"kind": "topic", "fifo": True}})
    assert err.value.field == "resources.T.fifo"


# -- SNS ----------------------------------------------------------------------------------------
def test_the_sns_retry_schedule_is_the_documented_one():
    """AWS managed endpoints: 3 immediate attempts, 2 one second apart, 10 with backoff from
    1 s to 20 s, then 100,000 twenty seconds apart: 100,015 attempts over 23 days."""
    assert [sns.elapsed(j) for j in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]
    backoff = [sns.elapsed(j + 1) - sns.elapsed(j) for j in range(4, 14)]
    assert backoff[0] == pytest.approx(1.0) and backoff[-1] == pytest.approx(20.0)
    assert all(b2 > b1 for b1, b2 in itertools.pairwise(backoff))
    assert sns.elapsed(15) - sns.elapsed(14) == 20.0
    assert sns.POLICY.attempts == 100_015
    assert 23.0 < sns.elapsed(100_014) / 86_400 < 23.2


def test_a_topic_copies_each_event_to_every_matching_subscription():
    r = simulate(app({
        "s": shop("Orders"),
        "Orders": {"kind": "topic", "subscriptions": [
            {"target": "All"},
            {"target": "Refunds", "filter": {"type": ["refund"]}},
            {"target": "Big", "filter": {"amount": [{"numeric": [">=", 100]}],
                                         "region": [{"prefix": "eu-"}]}}]},
        "All": {"kind": "queue"}, "Refunds": {"kind": "queue"}, "Big": {"kind": "queue"},
    }), 1)
    m, e = r.messages, r.edges.set_index("to")
    published = m[m["resource"] == "Orders"]
    n = len(published)
    assert n == r.summary["messages_sent"] > 500
    refunds = int((published["attribute.type"] == "refund").sum())
    big = int(((published["attribute.amount"] >= 100)
               & published["attribute.region"].str.startswith("eu-")).sum())
    assert e.loc["All", "delivered"] == n and e.loc["All", "filtered"] == 0
    assert e.loc["Refunds", "delivered"] == refunds and e.loc["Refunds", "filtered"] == n - refunds
    assert e.loc["Big", "delivered"] == big and e.loc["Big", "filtered"] == n - big
    # each copy is a row of its queue, pointing at its published event, with its attributes
    refund_rows = m[m["resource"] == "Refunds"]
    parents = published.set_index("message_id").loc[refund_rows["parent"]]
    assert (parents["attribute.type"] == "refund").all()
    assert (refund_rows["attribute.amount"].to_numpy() == parents["attribute.amount"].to_numpy()).all()
    assert (refund_rows["sent_s"].to_numpy() == parents["sent_s"].to_numpy()).all()
    assert r.summary["events_filtered"] == (n - refunds) + (n - big)
    assert r.summary["events_delivered"] == n + n + refunds + big


def test_a_failing_subscription_is_retried_on_the_sns_schedule_and_the_others_are_not_delayed():
    """Each delivery retries on its own; a copy arrives at one of the schedule's attempt
    times after its publish, and the healthy subscription gets every copy at once."""
    r = simulate(app({
        "s": shop("Orders"),
        "Orders": {"kind": "topic", "subscriptions": [
            {"target": "Healthy"}, {"target": "Flaky", "delivery_failure_rate": 0.6}]},
        "Healthy": {"kind": "queue"}, "Flaky": {"kind": "queue"},
    }), 2)
    m = r.messages
    pub = m[m["resource"] == "Orders"].set_index("message_id")
    for name in ("Healthy", "Flaky"):
        rows = m[m["resource"] == name]
        delay = rows["sent_s"].to_numpy() - pub.loc[rows["parent"], "sent_s"].to_numpy()
        if name == "Healthy":
            assert (delay == 0).all()
        else:
            attempts = {round(sns.elapsed(j), 6) for j in range(60)}
            assert set(np.round(delay, 6)) <= attempts
            # a copy is late only when the 3 immediate attempts all fail: 0.6^3 = 21.6 %
            # (binomial standard error at 1,200 copies: 1.2 points)
            assert abs((delay > 0).mean() - 0.6**3) < 0.05
    assert r.edges.set_index("to").loc["Flaky", "failed"] == 0  # 100,015 attempts: none fail


def test_a_subscription_whose_endpoint_is_down_keeps_its_copies_in_flight():
    """At a failure rate of 1 SNS keeps trying for 23 days: within the run nothing is
    delivered, nothing is lost, and the published events stay in flight (unfinished)."""
    r = simulate(app({
        "s": shop("Orders", duration=30),
        "Orders": {"kind": "topic", "subscriptions": [
            {"target": "Down", "delivery_failure_rate": 1.0, "dlq": "SubDLQ"}]},
        "Down": {"kind": "queue"}, "SubDLQ": {"kind": "queue"},
    }, run={"drain_s": 600}), 1)
    e = r.edges.set_index(["to", "kind"])
    assert e.loc[("Down", "subscription"), "delivered"] == 0
    assert e.loc[("Down", "subscription"), "failed"] == 0
    pub = r.messages[r.messages["resource"] == "Orders"]
    assert (pub["outcome"] == "in_flight").all()
    assert r.summary["messages_unfinished"] == len(pub)


def test_sns_does_not_retry_a_functions_errors_lambda_does():
    """A subscribed function receives an asynchronous invoke; SNS's delivery succeeds
    (Lambda accepted it) and Lambda's asynchronous retries handle its errors: two
    retries, then the function's on-failure destination."""
    r = simulate(app({
        "s": shop("Orders", duration=20),
        "Orders": {"kind": "topic", "subscriptions": [{"target": "Broken"}]},
        "Broken": {"kind": "function", **FAST, "failure_rate": 1.0,
                   "async": {"on_failure": "Failed", "duplicate_rate": 0}},
        "Failed": {"kind": "queue"},
    }), 1)
    e = r.edges.set_index("to")
    n = r.summary["messages_sent"]
    assert e.loc["Broken", "delivered"] == n and e.loc["Broken", "failed"] == 0
    broken = r.messages[r.messages["resource"] == "Broken"]
    assert (broken["executions"] == 3).all()
    assert (broken["outcome"] == "destination").all()
    assert e.loc["Failed", "delivered"] == n


def test_a_slow_branch_does_not_slow_the_others():
    """Fan-out isolates consumers: adding a slow, throttled subscriber (with its own
    reserved concurrency) leaves the fast branch's invocations exactly as they were."""
    base = {
        "s": shop("Orders"),
        "Orders": {"kind": "topic", "subscriptions": [{"target": "Fast"}]},
        "Fast": {"kind": "function", **FAST, "reserved_concurrency": 50},
    }
    slow = {**base,
            "Orders": {"kind": "topic", "subscriptions": [{"target": "Fast"},
                                                          {"target": "Slow"}]},
            "Slow": {"kind": "function", "duration_distribution": "constant",
                     "duration_median_s": 5.0, "cpu_fraction": 0.0,
                     "db_queries_per_message": 0, "reserved_concurrency": 2}}
    a, b = simulate(app(base), 3), simulate(app(slow), 3)
    fa = a.invocations[a.invocations["function"] == "Fast"].reset_index(drop=True)
    fb = b.invocations[b.invocations["function"] == "Fast"].reset_index(drop=True)
    pd.testing.assert_frame_equal(fa, fb)
    slow_inv = b.invocations[b.invocations["function"] == "Slow"]
    assert (slow_inv["status"] == "throttled").sum() > 0


# -- EventBridge ----------------------------------------------------------------------------------
def test_eventbridge_back_off_spans_about_a_day_over_185_retries():
    """"EventBridge retries sending the event for 24 hours and up to 185 times"
    (eb-rule-retry-policy.html); the model's 1 s doubling to 480 s is an assumption."""
    assert [eventbridge.elapsed(j) for j in range(4)] == [0.0, 1.0, 3.0, 7.0]
    assert 23 * 3600 < eventbridge.elapsed(185) < 25 * 3600


def test_each_target_fails_and_retries_on_its_own_then_goes_to_its_dlq():
    r = simulate(app({
        "s": shop("Bus"),
        "Bus": {"kind": "bus", "rules": [
            {"pattern": {"type": ["refund"]}, "targets": [
                {"target": "Good"},
                {"target": "Bad", "delivery_failure_rate": 1.0, "maximum_retry_attempts": 3,
                 "dlq": "BadDLQ"}]},
            {"pattern": {"type": [{"anything-but": "refund"}]}, "targets": [
                {"target": "Aged", "delivery_failure_rate": 1.0, "maximum_event_age_s": 60,
                 "dlq": "BadDLQ"}]}]},
        "Good": {"kind": "queue"}, "Bad": {"kind": "queue"}, "Aged": {"kind": "queue"},
        "BadDLQ": {"kind": "queue"},
    }), 4)
    m = r.messages
    put = m[m["resource"] == "Bus"].set_index("message_id")
    refunds = int((put["attribute.type"] == "refund").sum())
    e = r.edges
    good = e[e["to"] == "Good"].iloc[0]
    bad = e[e["to"] == "Bad"].iloc[0]
    aged = e[e["to"] == "Aged"].iloc[0]
    assert good["delivered"] == refunds and bad["failed"] == refunds
    assert aged["failed"] == len(put) - refunds
    dlq = m[m["resource"] == "BadDLQ"]
    assert len(dlq) == len(put)  # every copy that failed for good is in the DLQ, once
    delay = dlq["sent_s"].to_numpy() - put.loc[dlq["parent"], "sent_s"].to_numpy()
    kind = put.loc[dlq["parent"], "attribute.type"].to_numpy()
    # retries exhausted: given up after attempt 4, at 1 + 2 + 4 s; maximum age 60 s: after
    # the last attempt that started before 60 s (31 s; the next would be at 63 s)
    assert set(np.round(delay[kind == "refund"], 9)) == {eventbridge.elapsed(3)} == {7.0}
    assert set(np.round(delay[kind != "refund"], 9)) == {eventbridge.elapsed(5)} == {31.0}


def test_the_bill_has_a_publish_line_per_topic_and_a_put_events_line_per_bus():
    """SNS bills each 64 KB chunk of a publish as a request; EventBridge each 64 KB chunk
    of an event; deliveries to SQS and Lambda are not charged."""
    r = simulate(app({
        "s": {**shop("Orders"), "payload_kb": 100},
        "t": {**shop("Bus"), "payload_kb": 10},
        "Orders": {"kind": "topic", "subscriptions": [{"target": "Q"}]},
        "Bus": {"kind": "bus", "rules": [{"targets": [{"target": "Q"}]}]},
        "Q": {"kind": "queue"},
    }), 1)
    cost = r.cost.set_index(["resource", "service", "item"])
    m = r.messages
    published = int((m["resource"] == "Orders").sum())
    put = int((m["resource"] == "Bus").sum())
    assert cost.loc[("Orders", "sns", "publish_requests"), "quantity"] == 2 * published
    assert cost.loc[("Bus", "events", "put_events"), "quantity"] == put
    assert cost.loc[("Orders", "sns", "publish_requests"), "cost_usd"] == pytest.approx(
        2 * published * 0.50 / 1e6)
    assert cost.loc[("Bus", "events", "put_events"), "cost_usd"] == pytest.approx(put * 1.0 / 1e6)


def test_every_route_accounts_for_every_event_and_no_row_settles_twice():
    r = simulate(app({
        "s": shop("Orders", rate=30),
        "Orders": {"kind": "topic", "subscriptions": [
            {"target": "A", "filter": {"type": ["order"]}, "delivery_failure_rate": 0.3},
            {"target": "F", "delivery_failure_rate": 0.1}]},
        "A": {"kind": "queue"},
        "F": {"kind": "function", **FAST},
    }, run={"drain_s": 30}), 5)
    w = r._w
    for name, t in w.tables.items():
        assert t.settled == int(np.isin(t.state, (2, 3, 4, 5, 6, 7, 8)).sum()), name
    published = int((r.messages["resource"] == "Orders").sum())
    for route in w.push["Orders"].routes:
        in_flight = published - route.delivered - route.failed - route.filtered
        assert in_flight >= 0
    assert r.summary["messages_unfinished"] == int(
        r.messages["outcome"].isin(["in_queue", "in_flight"]).sum()
        - (r.messages["resource"] == "A").sum())


def test_lint_warns_about_subscriptions_and_targets_without_a_dlq(tmp_path):
    from simlib.lint import lint_path

    f = tmp_path / "app.yaml"
    f.write_text(
        "resources:\n"
        "  s: {kind: source, target: T}\n"
        "  T: {kind: topic, subscriptions: [{target: Q}, {target: Q, dlq: D}]}\n"
        "  b: {kind: source, target: B}\n"
        "  B: {kind: bus, rules: [{targets: [{target: Q}, {target: Q, dlq: D}]}]}\n"
        "  Q: {kind: queue}\n"
        "  D: {kind: queue}\n")
    rules = [(x.resource, x.rule) for x in lint_path(f)]
    assert rules == [("T", "sns-subscription-without-dlq"),
                     ("B", "eventbridge-target-without-dlq")]


# -- event source mapping filters -----------------------------------------------------------------
def test_a_mapping_filter_deletes_what_does_not_match_without_invoking():
    """For SQS, "Lambda deletes messages that don't match" the filter criteria
    (invocation-eventfiltering.html): they are never invoked and never redriven."""
    r = simulate(app({
        "s": shop("Jobs"),
        "Jobs": {"kind": "queue"},
        "M": {"kind": "mapping", "queue": "Jobs", "function": "F",
              "filter": {"type": ["refund"]}},
        "F": {"kind": "function", **FAST},
    }), 1)
    jobs = r.messages[r.messages["resource"] == "Jobs"]
    refund = jobs["attribute.type"] == "refund"
    assert (jobs.loc[refund, "outcome"] == "deleted").all()
    assert (jobs.loc[~refund, "outcome"] == "filtered").all()
    assert (jobs.loc[~refund, "executions"] == 0).all()
    assert r.invocations.query("status != 'throttled'")["batch_size"].sum() == refund.sum()
    assert r.summary["events_filtered"] == int((~refund).sum())


def test_two_filtered_mappings_on_one_queue_lose_each_others_messages(tmp_path):
    """Each mapping deletes what it does not match, so with two consumers of one queue
    a refund received by the orders mapping is gone for the refunds mapping."""
    res = {
        "s": shop("Jobs"),
        "Jobs": {"kind": "queue"},
        "Orders": {"kind": "mapping", "queue": "Jobs", "function": "F",
                   "filter": {"type": ["order"]}},
        "Refunds": {"kind": "mapping", "queue": "Jobs", "function": "G",
                    "filter": {"type": ["refund"]}},
        "F": {"kind": "function", **FAST}, "G": {"kind": "function", **FAST},
    }
    r = simulate(app(res), 1)
    jobs = r.messages[r.messages["resource"] == "Jobs"]
    lost = jobs[jobs["outcome"] == "filtered"]
    assert len(lost) > 0.2 * len(jobs)
    assert set(lost["attribute.type"]) == {"order", "refund"}
    assert (jobs["outcome"].isin(["deleted", "filtered"])).all()
    import yaml

    from simlib.lint import lint_path
    f = tmp_path / "app.yaml"
    f.write_text(yaml.safe_dump({"resources": res}))
    assert "filtered-mappings-share-a-queue" in [x.rule for x in lint_path(f)]


@pytest.mark.parametrize("mapping", [{}, {"batch_size": 50, "batching_window_s": 2}])
def test_a_queue_behind_a_topic_is_consumed_like_one_fed_directly(mapping):
    """A queue fed at run time (by a topic) cannot foresee its arrivals; its pollers must
    still scale and fill batches as for the same traffic sent straight to the queue (a
    regression: waiters armed for a far visibility deadline ignored new arrivals, and the
    backlog grew to minutes)."""
    handler = {"duration_median_s": 0.2, "duration_p99_s": 1.0, "db_queries_per_message": 0,
               "timeout_s": 120}

    def run(via_topic: bool):
        res = {"Q": {"kind": "queue", "visibility_timeout_s": 720},
               "M": {"kind": "mapping", "queue": "Q", "function": "F", **mapping},
               "F": {"kind": "function", **handler},
               "s": {"kind": "source", "target": "T" if via_topic else "Q", "rate_per_s": 20,
                     "duration_s": 120}}
        if via_topic:
            res["T"] = {"kind": "topic", "subscriptions": [{"target": "Q"}]}
        r = simulate(app(res), 1)
        q = r.messages[r.messages["resource"] == "Q"]
        wait = (q["first_received_s"] - q["sent_s"]).quantile(0.99)
        inv = r.invocations[r.invocations["status"] != "throttled"]
        return wait, inv["batch_size"].mean(), r.summary["max_concurrency"]

    (w1, b1, c1), (w2, b2, c2) = run(False), run(True)
    assert w2 < max(2 * w1, 3.0)
    assert abs(b2 - b1) < 0.35 * b1
    assert c2 >= 0.7 * c1
