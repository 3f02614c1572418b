"""A template read as one application (simlib.template_app, `simlib run --application`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simlib import cli, simulate
from simlib.template_app import application_from_template

TEMPLATE = Path(__file__).parent / "data" / "app-fanout.yaml"
TRAFFIC = {"workload": {"rate_per_s": 5, "duration_s": 60,
                        "attributes": {"type": ["order", "refund"], "source": ["orders"],
                                       "detail.amount": [20, 200]}}}


@pytest.fixture(scope="module")
def built():
    return application_from_template(TEMPLATE, TRAFFIC)


def test_every_connection_of_the_template_is_one_resource_graph(built):
    app, _ = built
    res = app.resources
    topic = res["OrderTopic"]
    subs = {s.target: s for s in topic.subscriptions}
    # inline subscription, AWS::SNS::Subscription with a filter and DLQ, SAM SNS event with
    # an SQS subscription (SAM's queue and mapping made explicit)
    assert set(subs) == {"ShippingQueue", "Refunder", "Analytics-FromTopic-queue"}
    assert subs["Refunder"].filter == {"type": ["refund"]} and subs["Refunder"].dlq == "DeliveryDLQ"
    assert res["Analytics-FromTopic-mapping"].function == "Analytics"
    # FilterCriteria on the SQS event; redrive to a queue resource
    assert res["Shipper-Events-Shipping"].filter == {"type": ["order"]}
    assert res["ShippingQueue"].dlq == "ShippingDLQ"
    # asynchronous settings: SAM EventInvokeConfig, AWS::Lambda::EventInvokeConfig,
    # SAM DeadLetterQueue
    assert res["Refunder"].async_invoke.maximum_retry_attempts == 1
    assert res["Refunder"].async_invoke.on_failure == "RefundFailures"
    assert res["Auditor"].async_invoke.maximum_retry_attempts == 0
    assert res["Analytics"].async_invoke.dlq == "AnalyticsDLQ"
    # EventBridge: a CloudFormation rule (JSON string pattern) and a SAM EventBridgeRule,
    # both on the default bus, with their retry policies and DLQ
    rules = res["default-bus"].rules
    assert [r.targets[0].target for r in rules] == ["Auditor", "Analytics"]
    assert rules[0].pattern == {"source": ["orders"]}
    assert rules[0].targets[0].policy.maximum_retry_attempts == 10
    assert rules[0].targets[0].dlq == "AuditDLQ"
    assert res["LedgerQueue"].fifo and res["LedgerQueue"].content_based_deduplication
    assert res["Ledger-Api"].invoke == "api"


def test_what_is_assumed_or_left_out_is_said(built):
    _, notes = built
    text = "\n".join(notes)
    assert "ImageFunction" in text and "left out" in text
    assert "StreamMapping reads a stream" in text
    assert "SqsSubscription" in text
    assert "OrderTopic gets traffic from a generated source" in text
    assert "Auditor: AWS defaults" in text and "MemorySize 128 MB" in text


def test_the_template_runs_as_one_application(built):
    app, _ = built
    r = simulate(app, 1)
    e = r.edges.set_index(["from", "to"])
    published = e.loc[("OrderTopic-traffic", "OrderTopic"), "delivered"]
    assert e.loc[("OrderTopic", "ShippingQueue"), "delivered"] == published
    refunds = e.loc[("OrderTopic", "Refunder")]
    assert refunds["delivered"] + refunds["filtered"] == published > 0
    shipping = r.messages[r.messages["resource"] == "ShippingQueue"]
    assert set(shipping.loc[shipping["outcome"] == "filtered", "attribute.type"]) == {"refund"}
    big = e.loc[("default-bus", "Analytics")]
    assert 0 < big["delivered"] < big["delivered"] + big["filtered"]


def test_the_command_line_reads_a_template_as_one_application(capsys, tmp_path):
    overlay = tmp_path / "traffic.yaml"
    overlay.write_text("workload: {rate_per_s: 2, duration_s: 30}\n")
    code = cli.main(["run", str(TEMPLATE), "--application", "--overlay", str(overlay),
                     "--json", "--kpis", "messages_sent,events_delivered"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert '"app-fanout"' in out
    assert "simlib: note: function ImageFunction" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("queue: {visibility_timeout_s: 60}\n")
    code = cli.main(["run", str(TEMPLATE), "--application", "--overlay", str(bad)])
    _, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "overlay section 'queue'" in err


def test_set_reaches_a_generated_resource_whose_name_has_a_dash(capsys):
    """Generated names (``OrderTopic-traffic``) hold a '-': --set paths accept it."""
    code = cli.main(["run", str(TEMPLATE), "--application", "--json", "--kpis",
                     "messages_sent", "--set", "resources.OrderTopic-traffic.duration_s=10",
                     "--set", "resources.LedgerQueue-traffic.duration_s=10",
                     "--set", "resources.default-bus-traffic.duration_s=10",
                     "--set", "resources.Ledger-Api.duration_s=10"])
    out, err = capsys.readouterr()
    assert code == 0, err
    sent = json.loads(out)["app-fanout"]["messages_sent"]
    assert 0 < sent < 4 * 50 * 10 * 1.5  # four sources at the default 50/s for 10 s
