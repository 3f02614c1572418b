"""Lesson 14's SAM template and overlay, read as one application (simlib.template_app) and
run from the command line (`simlib run TEMPLATE --application --overlay OVERLAY`).

The runs are shortened (one minute of traffic with a ten-second spike) so the file takes
about a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simlib import cli, simulate
from simlib.lint import lint_application
from simlib.template import load_document
from simlib.template_app import application_from_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "data" / "templates" / "orders-app-sam.yaml"
TRAFFIC = ROOT / "data" / "templates" / "orders-app-traffic.yaml"
SOURCE = "OrderTopic-traffic"
SHORT = {f"resources.{SOURCE}.duration_s": 60, f"resources.{SOURCE}.burst_start_s": 20,
         f"resources.{SOURCE}.burst_duration_s": 10}


@pytest.fixture(scope="module")
def built():
    return application_from_template(TEMPLATE, load_document(TRAFFIC))


def test_the_template_and_overlay_load_as_one_application(built):
    app, notes = built
    res = app.resources
    kinds = {name: spec.kind for name, spec in res.items()}
    assert sorted(n for n, k in kinds.items() if k == "function") == [
        "AuditFunction", "FraudCheckFunction", "FulfilmentDLQFunction", "FulfilmentFunction",
        "NotifyCustomerFunction"]
    # the fan-out: two SQS subscriptions (one with a filter policy) and a Lambda one
    subs = {s.target: s for s in res["OrderTopic"].subscriptions}
    assert set(subs) == {"FulfilmentQueue", "FraudCheckQueue", "NotifyCustomerFunction"}
    assert subs["FraudCheckQueue"].filter == {"payment": ["card"]}
    assert subs["FulfilmentQueue"].filter is None
    # a DLQ with its own consumer
    assert res["FulfilmentQueue"].dlq == "FulfilmentDLQ"
    assert [m.function for m in app.mappings_of("FulfilmentDLQ")] == ["FulfilmentDLQFunction"]
    # the asynchronous function: EventInvokeConfig with an on-failure destination queue
    notify = res["NotifyCustomerFunction"]
    assert notify.async_invoke.on_failure == "NotifyFailuresQueue"
    assert notify.async_invoke.maximum_event_age_s == 120
    assert notify.async_invoke.maximum_retry_attempts == 2
    # reserved concurrency on some functions, none on others
    assert res["FulfilmentFunction"].function.reserved_concurrency == 5
    assert notify.function.reserved_concurrency == 2
    assert res["FraudCheckFunction"].function.reserved_concurrency is None
    # the overlay: a burst with the attribute the filter reads, handlers per resource
    source = res[SOURCE]
    assert source.target == "OrderTopic" and source.workload.pattern == "burst"
    assert source.attributes == {"payment": ["card", "paypal", "invoice"]}
    assert res["FraudCheckFunction"].handler.cpu_fraction == 0.6
    assert res["NotifyCustomerFunction"].handler.duration_median_s == 0.25
    assert res["FulfilmentDLQFunction"].handler.db_queries_per_message == 0  # overlay handler
    # what the reader assumed or left out is said
    text = "\n".join(notes)
    assert "event type DynamoDB is not modelled" in text
    assert "OrderTopic gets traffic from a generated source OrderTopic-traffic" in text
    assert "FulfilmentDLQFunction: AWS defaults" in text and "Timeout 3 s" in text


def test_the_linter_finds_the_templates_traps(built):
    app, _ = built
    found = {(f.resource, f.rule) for f in lint_application(app)}
    assert ("FulfilmentFunction", "reserved-below-max-concurrency") in found
    assert ("FulfilmentQueue", "max-receive-count-below-5") in found
    assert ("OrderTopic", "sns-subscription-without-dlq") in found
    assert not any(resource == "NotifyCustomerFunction" for resource, _ in found)


def test_a_short_run_reaches_every_branch(built):
    app, _ = built
    r = simulate(app.with_changes(SHORT), seed=1)
    edges = r.edges.set_index(["from", "to"])
    published = edges.loc[(SOURCE, "OrderTopic"), "delivered"]
    assert published > 0
    assert edges.loc[("OrderTopic", "FulfilmentQueue"), "delivered"] == published
    assert edges.loc[("OrderTopic", "NotifyCustomerFunction"), "delivered"] == published
    fraud = edges.loc[("OrderTopic", "FraudCheckQueue")]
    assert fraud["delivered"] + fraud["filtered"] == published and 0 < fraud["delivered"] < published
    ran = set(r.invocations.loc[r.invocations["status"] != "throttled", "function"])
    assert {"FulfilmentFunction", "FraudCheckFunction", "NotifyCustomerFunction"} <= ran


def test_simlib_run_reads_the_template_as_one_application(capsys, tmp_path):
    # shortened through the overlay (JSON is YAML): --set cannot name the generated source,
    # whose name has a '-'
    overlay = load_document(TRAFFIC)
    overlay["workload"].update(duration_s=60, burst_start_s=20, burst_duration_s=10)
    short = tmp_path / "short-traffic.yaml"
    short.write_text(json.dumps(overlay))
    code = cli.main(["run", str(TEMPLATE), "--application", "--overlay", str(short),
                     "--seed", "1", "--set", "resources.NotifyCustomerFunction.reserved_concurrency=3",
                     "--json", "--kpis", "messages_sent,events_delivered,events_filtered"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)["orders-app-sam"]
    assert 0 < summary["messages_sent"] < 1_000          # the short overlay's traffic
    assert summary["events_filtered"] > 0                # the fraud check's filter policy
    assert summary["events_delivered"] > 3 * summary["messages_sent"]
    assert "simlib: note: OrderTopic gets traffic from a generated source" in err
