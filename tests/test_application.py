"""Applications: the schema, the short form as one case, asynchronous invocation.

AWS behaviour asserted here is cited where it is asserted; the rules are those of
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html and
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simlib import Application, Scenario, ScenarioError, cli, simulate

FAST = {"duration_median_s": 0.05, "duration_p99_s": 0.1, "db_queries_per_message": 0}


def app(resources: dict, **top) -> Application:
    return Application.from_dict({"resources": resources, **top})


def async_app(fn: dict | None = None, source: dict | None = None, extra: dict | None = None,
              async_cfg: dict | None = None) -> Application:
    res = {
        "orders": {"kind": "source", "target": "Worker", "invoke": "event", "rate_per_s": 5,
                   "duration_s": 60, **(source or {})},
        "Worker": {"kind": "function", **FAST, **(fn or {}), "async": async_cfg or {}},
    }
    res.update(extra or {})
    return app(res)


# -- the schema ---------------------------------------------------------------------------
@pytest.mark.parametrize(("resources", "field", "words"), [
    ({"s": {"kind": "source", "target": "nowhere"}}, "resources.s.target", "known: s"),
    ({"s": {"kind": "source", "target": "t"}, "t": {"kind": "stream"}}, "resources.t.kind",
     "one of 'source', 'queue'"),
    ({"s": {"kind": "source", "target": "f"}, "f": {"kind": "function"}}, "resources.s.invoke",
     "'api' (synchronous) or 'event'"),
    ({"s": {"kind": "source", "target": "q", "invoke": "event"}, "q": {"kind": "queue"}},
     "resources.s.invoke", "None when the target is a queue"),
    ({"s": {"kind": "source", "target": "q"}, "q": {"kind": "queue", "dlq": "f"},
      "f": {"kind": "function"}}, "resources.q.dlq", "'f' is a function"),
    ({"s": {"kind": "source", "target": "f", "invoke": "event"},
      "f": {"kind": "function", "memory_mb": 64}}, "resources.f.memory_mb", "128..10,240"),
    ({"s": {"kind": "source", "target": "f", "invoke": "event"},
      "f": {"kind": "function", "async": {"maximum_retry_attempts": 3}}},
     "resources.f.async.maximum_retry_attempts", "0..2"),
    ({"s": {"kind": "source", "target": "f", "invoke": "event"},
      "f": {"kind": "function", "async": {"maximum_event_age_s": 30}}},
     "resources.f.async.maximum_event_age_s", "60..21,600"),
    ({"s": {"kind": "source", "target": "f", "invoke": "event"},
      "f": {"kind": "function", "async": {"on_failure": "f"}}},
     "resources.f.async.on_failure", "cannot be its own destination"),
    ({"s": {"kind": "source", "target": "f", "invoke": "event"},
      "f": {"kind": "function", "colour": "red"}}, "resources.f.colour", "unknown field"),
    ({"bad name": {"kind": "source"}}, "resources.bad name", "letters, digits"),
])
def test_a_bad_application_names_the_resource_field_and_what_is_allowed(resources, field, words):
    with pytest.raises(ScenarioError) as err:
        app(resources)
    assert err.value.field == field
    assert words in str(err.value)


def test_a_short_form_rule_broken_inside_an_application_names_the_resources_fields():
    """AWS rejects a mapping whose function timeout exceeds the queue's visibility
    timeout; inside an application the error names both resources' fields."""
    with pytest.raises(ScenarioError) as err:
        app({"s": {"kind": "source", "target": "Jobs"},
             "Jobs": {"kind": "queue", "visibility_timeout_s": 10},
             "M": {"kind": "mapping", "queue": "Jobs", "function": "Worker"},
             "Worker": {"kind": "function", "timeout_s": 20}})
    assert err.value.field == "resources.Worker.timeout_s"
    assert "resources.Jobs.visibility_timeout_s" in str(err.value)


def test_reserved_concurrency_of_all_functions_must_leave_100_unreserved():
    """https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html: 100
    units of the account's concurrency always stay unreserved."""
    res = {"s": {"kind": "source", "target": "a", "invoke": "event"},
           "a": {"kind": "function", "reserved_concurrency": 500},
           "b": {"kind": "function", "reserved_concurrency": 450}}
    with pytest.raises(ScenarioError) as err:
        app(res)
    assert err.value.field == "account.concurrency_limit"
    assert "at least 1,050" in str(err.value) or "at least 1050" in str(err.value)


def test_an_application_round_trips_and_takes_dotted_changes():
    a = async_app(async_cfg={"maximum_retry_attempts": 1})
    assert Application.from_dict(a.to_dict()) == a
    b = a.with_changes({"resources.Worker.memory_mb": 1024,
                        "resources.Worker.async.maximum_event_age_s": 120})
    assert b.get("resources.Worker.memory_mb") == 1024
    assert b.resources["Worker"].async_invoke.maximum_event_age_s == 120
    assert b.resources["Worker"].async_invoke.maximum_retry_attempts == 1
    with pytest.raises(ScenarioError) as err:
        a.with_changes({"resources.Nobody.memory_mb": 1024})
    assert err.value.field == "resources.Nobody.memory_mb"


# -- the short form is one application ------------------------------------------------------
def _frames(r):
    return r.messages, r.invocations


@pytest.mark.parametrize("short", [
    {"workload": {"rate_per_s": 20, "duration_s": 60, "poison_fraction": 0.05},
     "handler": {"failure_rate": 0.05}, "function": {"reserved_concurrency": 4}},
    {"source": "api", "workload": {"rate_per_s": 20, "duration_s": 60},
     "function": {"reserved_concurrency": 2}},
])
def test_the_short_form_written_as_an_application_gives_the_same_events(short):
    """The same resources under the short form's names draw the same random numbers:
    the application's events, invocations and per-consumer results equal the short
    form's (docs/design.md, "One model, many resources")."""
    s = Scenario.from_dict(short)
    r = simulate(s, 3)
    a = simulate(Application.from_scenario(s), 3)
    pipeline = next(iter(a.pipelines.values()))
    for x, y in zip(_frames(r), _frames(pipeline)):
        pd.testing.assert_frame_equal(x, y)
    for key in ("messages_sent", "messages_deleted", "messages_dlq", "executions",
                "duplicate_executions", "invocations", "cold_starts", "throttles"):
        assert a.summary[key] == r.summary[key], key
    assert a.summary["cost_usd"] == pytest.approx(r.summary["cost_usd"], rel=1e-12)
    # the levels: one series per resource, the short form's values
    ts = a.timeseries
    fn = ts[ts["resource"] == "function"].reset_index(drop=True)
    for col in ("t_s", "concurrency", "environments", "throttles", "cold_starts"):
        assert (fn[col].to_numpy() == r.timeseries[col].to_numpy()).all(), col
    if s.source == "sqs":
        q = ts[ts["resource"] == "queue"].reset_index(drop=True)
        for col in ("queue_visible", "in_flight", "dlq_depth", "pollers"):
            assert (q[col].to_numpy() == r.timeseries[col].to_numpy()).all(), col
    events = a.messages[a.messages["resource"] == ("queue" if s.source == "sqs" else "source")]
    assert (events["outcome"].astype(str).to_numpy() ==
            r.messages["outcome"].astype(str).to_numpy()).all()


def test_adding_a_resource_leaves_the_others_draws_alone():
    """Streams are keyed by resource name: a new, independent branch changes nothing
    of an existing one (common random numbers across what-ifs)."""
    one = async_app(fn={"reserved_concurrency": 50})
    two = app({**one.to_dict()["resources"],
               "audit": {"kind": "source", "target": "Auditor", "invoke": "event",
                         "rate_per_s": 3, "duration_s": 60},
               "Auditor": {"kind": "function", **FAST, "reserved_concurrency": 50}})
    a, b = simulate(one, 5), simulate(two, 5)
    wa = a.invocations[a.invocations["function"] == "Worker"].reset_index(drop=True)
    wb = b.invocations[b.invocations["function"] == "Worker"].reset_index(drop=True)
    pd.testing.assert_frame_equal(wa, wb)
    assert (b.invocations["function"] == "Auditor").sum() > 0


# -- asynchronous invocation -------------------------------------------------------------
def _executions_by_event(r, resource="Worker"):
    """Start and end times of each event's executions, from the pipeline's records."""
    pipe = r.pipelines[f"{resource}/async"]
    m, start, end, ok, _ = pipe._records.execution_columns()
    return pd.DataFrame({"m": m, "start": start, "end": end, "ok": ok}).sort_values(["m", "start"])


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_a_failing_event_runs_once_plus_its_retries_one_then_two_minutes_apart(retries):
    """"If the function returns an error, by default Lambda attempts to run it two more
    times, with a one-minute wait between the first two attempts, and two minutes
    between the second and third attempts" (invocation-async-error-handling.html);
    MaximumRetryAttempts 0-2."""
    r = simulate(async_app(fn={"failure_rate": 1.0}, source={"duration_s": 20},
                           async_cfg={"maximum_retry_attempts": retries, "duplicate_rate": 0}),
                 1)
    ex = _executions_by_event(r)
    per_event = ex.groupby("m").size()
    assert (per_event == retries + 1).all()
    gaps = (ex.groupby("m")["start"].shift(-1) - ex["end"]).dropna()
    waits = ex.assign(gap=gaps).dropna().groupby("m")["gap"].apply(list)
    for w in waits:
        assert w == pytest.approx([60.0, 120.0][:retries], abs=1e-6)
    msgs = r.messages[r.messages["resource"] == "Worker"]
    assert (msgs["outcome"] == "dropped").all()
    assert (msgs["drop_reason"] == "retries_exhausted").all()


def test_failed_events_go_to_the_on_failure_destination_else_the_dlq_else_nowhere():
    """An event that fails all its attempts goes to the on-failure destination or the
    dead-letter queue; without either Lambda discards it (invocation-async-retain-records.html)."""
    base = {"failure_rate": 0.3}
    cfg = {"maximum_retry_attempts": 0, "duplicate_rate": 0}
    sink = {"Failed": {"kind": "queue"}}
    with_dest = simulate(async_app(fn=base, extra=sink, async_cfg={**cfg, "on_failure": "Failed"}), 2)
    with_dlq = simulate(async_app(fn=base, extra=sink, async_cfg={**cfg, "dlq": "Failed"}), 2)
    with_none = simulate(async_app(fn=base, async_cfg=cfg), 2)
    for r, outcome, kind in ((with_dest, "destination", "on_failure"), (with_dlq, "dlq", "dlq")):
        m = r.messages
        failed = m[(m["resource"] == "Worker") & (m["outcome"] == outcome)]
        children = m[m["resource"] == "Failed"]
        assert len(failed) > 10
        # each failed event has exactly one child in the queue, pointing back at it
        assert sorted(children["parent"]) == sorted(failed["message_id"])
        assert (children["origin"] == "Worker").all()
        edge = r.edges[(r.edges["to"] == "Failed")]
        assert edge["kind"].tolist() == [kind] and edge["delivered"].item() == len(failed)
        # a queue nobody reads keeps them: at rest, not counted as unfinished work
        assert (children["outcome"] == "in_queue").all()
        assert r.summary["messages_unfinished"] == 0
    m = with_none.messages
    dropped = m[m["outcome"] == "dropped"]
    assert len(dropped) == len(with_dest.messages.query("outcome == 'destination'"))
    assert (dropped["drop_reason"] == "retries_exhausted").all()
    assert with_none.summary["events_dropped"] == len(dropped)


def test_events_that_wait_past_their_maximum_age_are_dropped_unattempted():
    """"When the queue is very long, new events might age out before Lambda has a chance
    to send them to your function" (invocation-async-error-handling.html): with one
    environment and work arriving ten times faster than it can be done, events older
    than MaximumEventAgeInSeconds are discarded without running."""
    r = simulate(async_app(fn={"reserved_concurrency": 1, "duration_distribution": "constant",
                               "duration_median_s": 1.0, "cpu_fraction": 0.0},
                           source={"rate_per_s": 10, "duration_s": 120},
                           async_cfg={"maximum_event_age_s": 60, "duplicate_rate": 0}), 1)
    m = r.messages
    dropped = m[m["outcome"] == "dropped"]
    assert len(dropped) > 0.5 * len(m)
    assert set(dropped["drop_reason"]) == {"unattempted"}
    assert (dropped["executions"] == 0).all()
    # given up when it reaches its maximum age, not at its next retry
    assert (dropped["finished_s"] - dropped["sent_s"]).between(60.0 - 1e-9, 60.0 + 1e-6).all()
    done = m[m["outcome"] == "deleted"]
    # what ran started within the maximum age
    assert ((done["first_received_s"] - done["sent_s"]) < 60.0).all()
    assert r.summary["throttles"] > 0


def test_a_function_with_concurrency_to_spare_loses_no_event_to_its_age():
    """Capacity above the traffic (5 environments for 4 one-second events a second):
    events wait at most a little, so even a 2-minute maximum age drops none. (A model
    that tried every new event while the function was at its cap sent each into back-off
    and left environments idle: it dropped events here.)"""
    r = simulate(async_app(fn={"reserved_concurrency": 5, "duration_distribution": "constant",
                               "duration_median_s": 1.0, "cpu_fraction": 0.0},
                           source={"rate_per_s": 4, "duration_s": 300},
                           async_cfg={"maximum_event_age_s": 120, "duplicate_rate": 0}), 1)
    assert r.summary["events_dropped"] == 0
    assert r.summary["messages_deleted"] == r.summary["messages_sent"]
    m = r.messages
    assert (m["first_received_s"] - m["sent_s"]).max() < 60.0


def test_throttled_events_are_retried_until_they_run():
    """Throttles are retried (with a back-off from 1 s to 5 minutes) for up to the
    maximum event age, so a short spike over the concurrency cap loses nothing."""
    r = simulate(async_app(fn={"reserved_concurrency": 2},
                           source={"pattern": "burst", "rate_per_s": 1, "burst_start_s": 10,
                                   "burst_duration_s": 5, "burst_rate_per_s": 200,
                                   "duration_s": 60},
                           async_cfg={"duplicate_rate": 0}), 4)
    assert r.summary["throttles"] > 100
    assert (r.messages["outcome"] == "deleted").all()
    assert r.summary["messages_deleted"] == r.summary["messages_sent"]


def test_an_event_can_run_twice_without_any_error():
    """"Even if your function doesn't return an error, it's possible for it to receive
    the same event from Lambda multiple times" (invocation-async-error-handling.html):
    with ``duplicate_rate`` 1 every event runs twice, with 0 once."""
    twice = simulate(async_app(async_cfg={"duplicate_rate": 1.0}), 1)
    once = simulate(async_app(async_cfg={"duplicate_rate": 0.0}), 1)
    assert (twice.messages["executions"] == 2).all()
    assert (once.messages["executions"] == 1).all()
    assert twice.summary["duplicate_side_effects"] == twice.summary["messages_sent"]
    assert once.summary["duplicate_side_effects"] == 0


def test_a_dead_letter_queue_with_its_own_consumer_receives_only_the_failures():
    """A queue's redrive target is a resource: its consumer gets what was redriven, not
    the whole traffic (the what-if tool's old mistake with DLQ consumers)."""
    r = simulate(app({
        "s": {"kind": "source", "target": "Jobs", "rate_per_s": 10, "duration_s": 60,
              "poison_fraction": 0.1},
        "Jobs": {"kind": "queue", "visibility_timeout_s": 5, "max_receive_count": 2,
                 "dlq": "JobsDLQ"},
        "JobsDLQ": {"kind": "queue"},
        "M": {"kind": "mapping", "queue": "Jobs", "function": "Worker", "batch_size": 1},
        "Worker": {"kind": "function", **FAST, "timeout_s": 5},
        "MD": {"kind": "mapping", "queue": "JobsDLQ", "function": "Janitor"},
        "Janitor": {"kind": "function", **FAST},
    }), 1)
    m = r.messages
    jobs, dlq = m[m["resource"] == "Jobs"], m[m["resource"] == "JobsDLQ"]
    assert len(dlq) == (jobs["outcome"] == "dlq").sum() > 0
    assert set(jobs.loc[jobs["poison"], "outcome"]) == {"dlq"}
    assert sorted(dlq["parent"]) == sorted(jobs.loc[jobs["outcome"] == "dlq", "message_id"])
    # the janitor's handler has no fault: it processes every redriven message once
    assert (dlq["outcome"] == "deleted").all()
    assert (r.invocations.query("function == 'Janitor'")["batch_size"].sum() == len(dlq))


def test_functions_without_reservations_share_the_accounts_unreserved_concurrency():
    """Reserved concurrency "isn't available to other functions"
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html): two busy
    functions without reservations never hold more than the account limit minus the
    reservations between them."""
    slow = {"duration_distribution": "constant", "duration_median_s": 2.0, "cpu_fraction": 0.0,
            "db_queries_per_message": 0}
    r = simulate(app({
        "a": {"kind": "source", "target": "A", "invoke": "event", "rate_per_s": 100,
              "duration_s": 30},
        "b": {"kind": "source", "target": "B", "invoke": "event", "rate_per_s": 100,
              "duration_s": 30},
        "A": {"kind": "function", **slow, "async": {"duplicate_rate": 0}},
        "B": {"kind": "function", **slow, "async": {"duplicate_rate": 0}},
        "C": {"kind": "function", **slow, "reserved_concurrency": 20},
    }, account={"concurrency_limit": 200}), 1)
    ts = r.timeseries
    busy = ts[ts["resource"].isin(["A", "B"])].groupby("t_s")["concurrency"].sum()
    assert busy.max() <= 180
    assert r.summary["max_concurrency"] <= 180
    assert busy.max() >= 170  # the pool is used, not just under it
    assert r.summary["throttles"] > 0


def test_an_application_run_is_deterministic():
    a = async_app(fn={"failure_rate": 0.2, "reserved_concurrency": 2},
                  extra={"Failed": {"kind": "queue"}},
                  async_cfg={"on_failure": "Failed", "maximum_event_age_s": 60})
    r1, r2 = simulate(a, 9), simulate(a, 9)
    for x, y in zip((r1.messages, r1.invocations, r1.timeseries, r1.cost, r1.edges),
                    (r2.messages, r2.invocations, r2.timeseries, r2.cost, r2.edges)):
        pd.testing.assert_frame_equal(x, y)


def test_the_bill_has_a_line_per_resource_and_async_invokes_are_requests():
    r = simulate(async_app(extra={"Done": {"kind": "queue"}},
                           async_cfg={"on_success": "Done", "duplicate_rate": 0}), 1)
    cost = r.cost
    lam = cost[(cost["resource"] == "Worker") & (cost["item"] == "requests")]
    assert lam["quantity"].item() == r.summary["invocations"] == r.summary["messages_sent"]
    sqs = cost[(cost["resource"] == "Done") & (cost["service"] == "sqs")]
    # one SendMessage per on-success record delivered to the queue, nothing received
    assert sqs["quantity"].item() == r.summary["messages_sent"]
    assert r.summary["cost_usd"] == pytest.approx(cost["cost_usd"].sum())
    assert math.isclose(r.summary["cost_per_million_usd"],
                        r.summary["cost_usd"] / r.summary["messages_deleted"] * 1e6)
    assert not np.isnan(r.summary["latency_p99_s"])


# -- application files and the command line ------------------------------------------------
EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "async-orders.yaml"


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_example_application_runs_from_the_command_line(capsys, tmp_path):
    code, out, err = run_cli(capsys, "run", EXAMPLE, "--json", "--out", tmp_path,
                             "--kpis", "messages_sent,events_delivered,messages_dlq")
    assert code == 0, err
    summary = json.loads(out)["async-orders"]
    folder = tmp_path / "async-orders"
    e = pd.read_csv(folder / "edges.csv").set_index(["from", "to"])["delivered"]
    # every order event reaches billing, and the orders among them shipping too
    assert e[("OrderEvents", "Billing")] == e[("checkout", "OrderEvents")]
    assert 0.6 < e[("OrderEvents", "Shipments")] / e[("checkout", "OrderEvents")] < 0.9
    assert summary["messages_sent"] == e[[k for k in e.index if k[0] in (
        "checkout", "refunds", "ledger-entries")]].sum()
    assert summary["events_delivered"] > summary["messages_sent"]
    for frame in ("messages", "invocations", "timeseries", "cost", "edges", "resources",
                  "summary"):
        assert (folder / f"{frame}.csv").is_file(), frame
    edges = pd.read_csv(folder / "edges.csv")
    assert set(edges["kind"]) >= {"source", "subscription", "target", "on_failure"}
    assert "edges, resources" in err


def test_the_example_application_follows_its_own_lint_rules(capsys):
    code, out, _ = run_cli(capsys, "lint", EXAMPLE)
    assert code == 0
    assert out.strip().endswith("0 errors, 0 warnings")


def test_an_async_function_without_failure_capture_is_a_lint_warning(capsys, tmp_path):
    """Without an on-failure destination or DLQ, Lambda discards an event whose retries
    run out or that ages out (invocation-async-retain-records.html)."""
    f = tmp_path / "app.yaml"
    f.write_text("resources:\n  s: {kind: source, target: F, invoke: event}\n"
                 "  F: {kind: function}\n")
    code, out, _ = run_cli(capsys, "lint", f)
    assert code == 0
    assert "[async-without-on-failure]" in out and out.strip().endswith("1 warning")


def test_a_bad_application_file_is_one_line_with_the_line_number(capsys, tmp_path):
    f = tmp_path / "app.yaml"
    f.write_text("resources:\n  s:\n    kind: source\n    target: F\n    invoke: event\n"
                 "  F:\n    kind: function\n    memory_mb: 64\n")
    for command in ("run", "lint"):
        code, _, err = run_cli(capsys, command, f)
        assert code == 2
        assert err.strip().splitlines() == [
            (f"simlib: error: {f} line 8: resources.F.memory_mb = 64 is not allowed: an "
             "integer in 128..10,240")]


def test_an_overlay_on_an_application_file_is_refused_in_one_line(capsys, tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("handler: {failure_rate: 0.1}\n")
    code, _, err = run_cli(capsys, "run", EXAMPLE, "--overlay", overlay)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "--set resources.<name>.<field>" in err


def test_a_sweep_over_a_resource_field_of_an_application(capsys):
    code, out, err = run_cli(capsys, "sweep", EXAMPLE, "--set",
                             "resources.Billing.reserved_concurrency=3,20", "--replications",
                             "1", "--workers", "1", "--json", "--kpis", "throttles")
    assert code == 0, err
    rows = json.loads(out)
    by_cap = {r["resources.Billing.reserved_concurrency"]: r["throttles_mean"] for r in rows}
    # the same orders against a seventh of the concurrency: many more refused invokes
    assert by_cap[3] > 2 * by_cap[20]


def test_with_reserved_concurrency_zero_events_age_out_on_time():
    """A function that can never run (reserved concurrency 0) still gives its events up
    at their maximum age (a regression found by the application properties: they waited
    forever, as no invocation ended to wake the queue)."""
    r = simulate(async_app(fn={"reserved_concurrency": 0}, source={"duration_s": 20},
                           extra={"Failed": {"kind": "queue"}},
                           async_cfg={"maximum_event_age_s": 60, "on_failure": "Failed",
                                      "duplicate_rate": 0}), 1)
    m = r.messages[r.messages["resource"] == "Worker"]
    assert (m["outcome"] == "destination").all() and (m["executions"] == 0).all()
    assert (m["finished_s"] - m["sent_s"]).between(60 - 1e-9, 60 + 1e-6).all()
    assert (r.messages["resource"] == "Failed").sum() == len(m)
