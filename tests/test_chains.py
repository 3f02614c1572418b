"""Chains: a handler's own sends (fan-out and fan-in of work), and databases shared by
several functions."""

from __future__ import annotations

import pytest

from simlib import Application, ScenarioError, simulate

FAST = {"duration_median_s": 0.05, "duration_p99_s": 0.1, "db_queries_per_message": 0}


def test_a_handler_sends_per_record_it_processes_and_only_then():
    """Each record the splitter processes successfully sends 2.5 items on average (two,
    and a third with probability 0.5) and one notification; a failed record sends
    nothing (its retry will)."""
    r = simulate(Application.from_dict({"resources": {
        "s": {"kind": "source", "target": "In", "rate_per_s": 10, "duration_s": 60,
              "attributes": {"kind": ["a", "b"]}},
        "In": {"kind": "queue"},
        "M": {"kind": "mapping", "queue": "In", "function": "Splitter",
              "report_batch_item_failures": True},
        "Splitter": {"kind": "function", **FAST, "failure_rate": 0.2,
                     "emits": [{"target": "Items", "per_record": 2.5},
                               {"target": "Notify", "per_record": 1}]},
        "Items": {"kind": "queue"},
        "M2": {"kind": "mapping", "queue": "Items", "function": "Worker"},
        "Worker": {"kind": "function", **FAST},
        "Notify": {"kind": "topic", "subscriptions": [{"target": "Mailer"}]},
        "Mailer": {"kind": "function", **FAST},
    }}), 1)
    m = r.messages
    src = m[m["resource"] == "In"].set_index("message_id")
    successes = int(src["successful_executions"].sum())
    items = m[m["resource"] == "Items"]
    per = items.groupby("parent").size()
    assert set(per.unique()) <= {2, 3}
    # every success sends 2 or 3 items: per parent, items = (2 or 3) x its successes
    assert (per >= 2 * src.loc[per.index, "successful_executions"]).all()
    assert abs(len(items) / successes - 2.5) < 0.1
    notes = m[m["resource"] == "Notify"]
    assert len(notes) == successes
    assert (items["origin"] == "In").all()  # the parent row lives in the queue's table
    # children keep their record's attributes
    assert (items["attribute.kind"].to_numpy()
            == src.loc[items["parent"], "attribute.kind"].to_numpy()).all()
    e = r.edges.set_index(["from", "to"])
    assert e.loc[("Splitter", "Items"), "delivered"] == len(items)


def test_a_function_cannot_emit_to_itself():
    with pytest.raises(ScenarioError) as err:
        Application.from_dict({"resources": {
            "s": {"kind": "source", "target": "F", "invoke": "event"},
            "F": {"kind": "function", "emits": [{"target": "F"}]}}})
    assert err.value.field == "resources.F.emits[0].target"


def test_functions_sharing_a_database_add_up_their_connections():
    """Two functions with a connection per environment share one database: its
    connections are the sum of both functions' environments, so a limit that each alone
    stays under is exceeded together (connection errors appear only when shared)."""
    def app(shared: bool) -> Application:
        slow = {"duration_distribution": "constant", "duration_median_s": 1.0,
                "cpu_fraction": 0.0, "db_queries_per_message": 1, "reserved_concurrency": 8}
        res = {
            "a": {"kind": "source", "target": "A", "invoke": "event", "rate_per_s": 12,
                  "duration_s": 60},
            "b": {"kind": "source", "target": "B", "invoke": "event", "rate_per_s": 12,
                  "duration_s": 60},
            "A": {"kind": "function", **slow, "database": "DB"},
            "B": {"kind": "function", **slow, "database": "DB" if shared else "DB2"},
            "DB": {"kind": "database", "max_connections": 10},
            "DB2": {"kind": "database", "max_connections": 10},
        }
        return Application.from_dict({"resources": res})

    apart, shared = simulate(app(False), 1), simulate(app(True), 1)
    assert apart.summary["db_connection_errors"] == 0
    assert apart.summary["db_max_connections_used"] == 8
    assert shared.summary["db_connection_errors"] > 0
    used = shared.resources.set_index(["resource", "kpi"])["value"]
    assert used[("DB", "max_connections_used")] == 10
    ts = shared.timeseries
    assert ts[ts["resource"] == "DB"]["db_connections"].max() == 10
