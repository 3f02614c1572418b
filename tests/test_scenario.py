"""Tests for the scenario contract (simlib.scenario) and the random inputs of a run
(simlib.workload, simlib.handler, simlib.streams).

They pin what docs/design.md promises notebooks, scenario files and sweeps: every field has a
default and ``Scenario.from_dict({})`` is a valid small pipeline; the stable names round
trip; variants are validated copies; bad input raises :class:`simlib.ScenarioError`
whose message names the field path, the value and the allowed range (mirroring the AWS
limit); arrival patterns, handler durations and keyed random streams behave as stated.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

import simlib
from simlib import Scenario, ScenarioError
from simlib.handler import RecordDraws, duration_sampler, memory_factor
from simlib.streams import ChunkedStream, KeyedColumns, Streams
from simlib.workload import arrival_times, rate_at, read_trace

# The example in docs/design.md, section "Scenario (stable names)": every section shown.
DESIGN_EXAMPLE = {
    "source": "sqs",
    "workload": {"pattern": "poisson", "rate_per_s": 200, "duration_s": 600,
                 "poison_fraction": 0.0, "payload_kb": 2},
    "queue": {"visibility_timeout_s": 30, "max_receive_count": 5, "retention_s": 345600},
    "mapping": {"batch_size": 10, "batching_window_s": 0, "max_concurrency": None,
                "report_batch_item_failures": False},
    "function": {"runtime": "python3.13", "architecture": "x86_64", "memory_mb": 512,
                 "timeout_s": 30, "reserved_concurrency": None,
                 "provisioned_concurrency": 0, "idle_lifetime_s": 600,
                 "init_s": 0.3, "init_in_handler": False},
    "handler": {"duration_distribution": "lognormal", "duration_median_s": 0.1,
                "duration_p99_s": 0.5, "cpu_fraction": 0.5, "failure_rate": 0.0,
                "db_queries_per_message": 1, "idempotency": False},
    "database": {"max_connections": 100, "workers": 8, "query_s": 0.005,
                 "connect_s": 0.02, "connection_per": "environment", "proxy": False},
    "account": {"concurrency_limit": 1000},
    "caller": {"max_retries": 0, "backoff_base_s": 0.1},
}


# -- defaults and the stable names ---------------------------------------------------------

def test_empty_dict_is_a_valid_small_pipeline():
    s = Scenario.from_dict({})
    assert s == Scenario.from_dict(None) == Scenario()
    assert s.source == "sqs"
    expected = s.workload.rate_per_s * s.workload.duration_s
    assert 15_000 <= expected <= 25_000  # "about 20,000 messages"
    assert s.database is not None


def test_default_run_sends_about_rate_times_duration_and_conserves_messages():
    s = Scenario.from_dict({})
    r = simlib.simulate(s, seed=1)
    sm = r.summary
    expected = s.workload.rate_per_s * s.workload.duration_s
    assert abs(sm["messages_sent"] - expected) <= 4 * math.sqrt(expected)
    assert sm["messages_sent"] == (sm["messages_deleted"] + sm["messages_failed"]
                                   + sm["messages_dlq"] + sm["messages_expired"]
                                   + sm["messages_unfinished"])


def test_documented_defaults():
    s = Scenario.from_dict({})
    # SQS defaults: visibility 30 s, retention 4 days.
    assert s.queue.visibility_timeout_s == 30
    assert s.queue.retention_s == 4 * 86_400
    assert s.function.idle_lifetime_s == 600  # fixed value, 10 min measured in 2019
    assert s.account.concurrency_limit == 1000
    assert s.workload.diurnal_period_s == 86_400
    assert s.function.nat_kb_per_message == 0
    assert s.database.proxy_borrow_timeout_s == 120
    assert s.database.instance_usd_per_hour == 0
    assert s.run.drain_s == 3_600
    assert s.mapping.max_concurrency is None
    assert s.mapping.report_batch_item_failures is False


def test_design_example_and_named_fields_exist():
    s = Scenario.from_dict(DESIGN_EXAMPLE)
    assert s.workload.rate_per_s == 200
    assert s.database.max_connections == 100
    named = [
        "workload.burst_start_s", "workload.burst_duration_s", "workload.burst_rate_per_s",
        "workload.diurnal_period_s", "workload.diurnal_amplitude", "workload.trace_path",
        "function.snapstart", "function.log_kb_per_invocation", "function.nat_kb_per_message",
        "handler.malformed_response_rate", "database.proxy_max_connections",
        "database.proxy_borrow_timeout_s", "database.instance_usd_per_hour", "run.drain_s",
    ]
    for path in named:
        s.get(path)  # raises for an unknown path


def test_to_dict_round_trip():
    for s in (Scenario.from_dict({}), Scenario.from_dict(DESIGN_EXAMPLE),
              Scenario.from_dict({"database": None, "source": "api"})):
        d = s.to_dict()
        assert isinstance(d, dict) and isinstance(d["queue"], dict)
        json.dumps(d)  # plain data
        assert Scenario.from_dict(d) == s
        assert Scenario.from_dict(json.loads(json.dumps(d))) == s


def test_database_none_means_no_database():
    s = Scenario.from_dict({"database": None})
    assert s.database is None
    assert s.to_dict()["database"] is None
    r = simlib.simulate(Scenario.from_dict({"database": None,
                                            "workload": {"duration_s": 10}}), seed=0)
    assert r.summary["db_max_connections_used"] == 0


def test_with_changes_returns_new_validated_copy():
    s = Scenario.from_dict({})
    before = s.to_dict()
    t = s.with_changes({"queue.visibility_timeout_s": 10, "function.timeout_s": 5,
                        "mapping.batch_size": 5})
    assert t is not s
    assert (t.queue.visibility_timeout_s, t.function.timeout_s, t.mapping.batch_size) == (10, 5, 5)
    assert s.to_dict() == before  # the original is untouched
    assert s.queue.visibility_timeout_s == 30
    # consistency is checked on the whole set of changes, not one at a time
    u = s.with_changes({"function.timeout_s": 60, "queue.visibility_timeout_s": 60})
    assert u.function.timeout_s == 60
    with pytest.raises(ScenarioError, match=r"queue\.visibility_timeout_s = 50000"):
        s.with_changes({"queue.visibility_timeout_s": 50000})
    with pytest.raises(ScenarioError, match=r"function\.timeout_s = 60"):
        s.with_changes({"function.timeout_s": 60})
    with pytest.raises(ScenarioError, match=r"queue\.bogus"):
        s.with_changes({"queue.bogus": 1})
    with pytest.raises(ScenarioError, match=r"bogus\.field = 1 .*unknown section; known: workload"):
        s.with_changes({"bogus.field": 1})
    with pytest.raises(ScenarioError, match=r"queue\.a\.b = 1 .*a path of the form section\.field"):
        s.with_changes({"queue.a.b": 1})
    assert s.to_dict() == before


def test_with_changes_database_none_and_back():
    s = Scenario.from_dict({})
    t = s.with_changes({"database": None})
    assert t.database is None and s.database is not None
    u = t.with_changes({"database.max_connections": 90})
    assert u.database.max_connections == 90
    assert u.database.workers == Scenario().database.workers  # rest from the defaults
    assert s.with_changes({"source": "api"}).source == "api"


def test_scenario_is_frozen():
    s = Scenario.from_dict({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.source = "api"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.queue.visibility_timeout_s = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.function.memory_mb = 1024
    assert s.queue.visibility_timeout_s == 30


def test_int_fields_normalise_whole_floats():
    s = Scenario.from_dict({"mapping": {"batch_size": 10.0}, "function": {"memory_mb": 1024.0}})
    assert s.mapping.batch_size == 10 and type(s.mapping.batch_size) is int
    assert type(s.function.memory_mb) is int
    assert type(Scenario.from_dict({"queue": {"visibility_timeout_s": 30}}).queue
                .visibility_timeout_s) is float


# -- errors: field path, value and allowed range -------------------------------------------

V = r"(\.0)?"  # a number may be shown normalised to float

ERRORS = [
    # (scenario dict, regex pinned on the message: path = value ... allowed range)
    ({"queue": {"visibility_timeout_s": 50000}},
     rf"queue\.visibility_timeout_s = 50000{V} is not allowed: .*0\.\.43,200"),
    ({"function": {"memory_mb": 64}},
     r"function\.memory_mb = 64 is not allowed: an integer in 128\.\.10,240"),
    ({"function": {"timeout_s": 901}},
     rf"function\.timeout_s = 901{V} is not allowed: .*1\.\.900"),
    ({"mapping": {"batch_size": 10001}},
     r"mapping\.batch_size = 10001 is not allowed: an integer in 1\.\.10,000"),
    ({"mapping": {"batching_window_s": 301}},
     rf"mapping\.batching_window_s = 301{V} is not allowed: .*0\.\.300"),
    ({"mapping": {"max_concurrency": 1}},
     r"mapping\.max_concurrency = 1 is not allowed: an integer in 2\.\.1,000 or None"),
    ({"queue": {"retention_s": 30}},
     rf"queue\.retention_s = 30{V} is not allowed: .*60\.\.(1209600|1,209,600|1\.2096e\+06)"),
    ({"function": {"runtime": "python2.7"}},
     r"function\.runtime = 'python2\.7' is not allowed: one of .*python3\.13"),
    ({"function": {"runtime": "nodejs22.x", "snapstart": True}},
     r"function\.snapstart = True is not allowed: .*support SnapStart.*java25.*python3\.13"),
    ({"function": {"reserved_concurrency": 901}},
     r"function\.reserved_concurrency = 901 is not allowed: 0\.\.900 .*100"),
    ({"account": {"concurrency_limit": 150}, "function": {"reserved_concurrency": 51}},
     r"function\.reserved_concurrency = 51 is not allowed: 0\.\.50 "),
    ({"function": {"reserved_concurrency": 10, "provisioned_concurrency": 11}},
     r"function\.provisioned_concurrency = 11 is not allowed: 0\.\.10 "),
    ({"function": {"timeout_s": 60}},
     rf"function\.timeout_s = 60{V} is not allowed: at most queue\.visibility_timeout_s \(30\)"),
    ({"mapping": {"batch_size": 11}},
     rf"mapping\.batching_window_s = 0{V} is not allowed: >= 1 when mapping\.batch_size"),
    ({"mapping": {"batch_size": 100, "batching_window_s": 0.5}},
     r"mapping\.batching_window_s = 0\.5 is not allowed: >= 1 when mapping\.batch_size"),
    ({"handler": {"duration_median_s": 0.2, "duration_p99_s": 0.1}},
     (r"handler\.duration_p99_s = 0\.1 is not allowed: greater than "
     r"handler\.duration_median_s \(0\.2\)")),
    ({"handler": {"duration_median_s": 0.2, "duration_p99_s": 0.2}},
     r"handler\.duration_p99_s = 0\.2 is not allowed: greater than handler\.duration_median_s"),
    ({"workload": {"pattern": "trace"}},
     r"workload\.trace_path = None is not allowed: a CSV path"),
    ({"source": "kafka"}, r"source = 'kafka' is not allowed: one of 'sqs', 'api'"),
    # unknown section / field
    ({"bogus": {}}, r"bogus = an empty mapping is not allowed: unknown section; known: source, "
                    r"workload"),
    ({"queue": {"bogus": 1}},
     r"queue\.bogus = 1 is not allowed: unknown field; known: visibility_timeout_s"),
    # wrong types
    ({"queue": {"visibility_timeout_s": "30"}},
     r"queue\.visibility_timeout_s = '30' is not allowed: a number in 0\.\.43,200"),
    ({"mapping": {"batch_size": 2.5}},
     r"mapping\.batch_size = 2\.5 is not allowed: an integer in 1\.\.10,000"),
    ({"mapping": {"batch_size": True}},
     r"mapping\.batch_size = True is not allowed: an integer in 1\.\.10,000"),
    ({"queue": {"visibility_timeout_s": True}},
     r"queue\.visibility_timeout_s = True is not allowed: a number in 0\.\.43,200"),
    ({"workload": {"rate_per_s": float("nan")}}, r"workload\.rate_per_s = nan is not allowed"),
    ({"mapping": {"report_batch_item_failures": 1}},
     r"mapping\.report_batch_item_failures = 1 is not allowed: True or False"),
    ({"function": {"architecture": "sparc"}},
     r"function\.architecture = 'sparc' is not allowed: one of 'x86_64', 'arm64'"),
    ({"queue": "fast"}, r"queue = 'fast' is not allowed: a mapping"),
    ({"workload": {"duration_s": None}}, r"workload\.duration_s = None is not allowed"),
]


@pytest.mark.parametrize("data, message", ERRORS, ids=[m.split(" ")[0].replace("\\", "")
                                                       for _, m in ERRORS])
def test_bad_input_raises_scenario_error_naming_field_value_and_range(data, message):
    with pytest.raises(ScenarioError, match=message) as err:
        Scenario.from_dict(data)
    assert isinstance(err.value, ValueError)
    assert err.value.field in str(err.value) and err.value.allowed


# -- errors: a misspelt name is named, with the closest known one, and not echoed ---------

def test_a_misspelt_section_names_the_key_suggests_the_section_and_hides_its_content():
    section = {"rate_per_s": 5, "duration_s": 30, "pattern": "poisson"}
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict({"workloads": section})
    assert str(err.value) == ("workloads = a mapping with 3 keys is not allowed: unknown "
                              "section (did you mean workload?); known: source, workload, "
                              "queue, mapping, function, handler, database, account, caller, "
                              "run")
    assert err.value.field == "workloads" and err.value.value == section  # kept for programs
    with pytest.raises(ScenarioError, match=r"^workloads\.rate_per_s = 5 is not allowed: .*"
                                            r"\(did you mean workload\?\)"):
        Scenario().with_changes({"workloads.rate_per_s": 5})
    with pytest.raises(ScenarioError, match=r"^workloads = None is not allowed: unknown "
                                            r"section \(did you mean workload\?\)"):
        Scenario().with_changes({"workloads": None})


@pytest.mark.parametrize("data, message", [
    ({"queue": {"visibility_timeout": 30}},
     "queue.visibility_timeout = 30 is not allowed: unknown field (did you mean "
     "visibility_timeout_s?); known: visibility_timeout_s, max_receive_count, retention_s"),
    ({"queue": {"visibility_timeout": {"s": 30, "m": 0.5}}},
     "queue.visibility_timeout = a mapping with 2 keys is not allowed: unknown field (did "
     "you mean visibility_timeout_s?)"),
    ({"handler": {"failure": [0.1, 0.2, 0.3]}},
     "handler.failure = a list of 3 items is not allowed: unknown field (did you mean "
     "failure_rate?)"),
    ({"lambda": {"memory_mb": 512}},
     "lambda = a mapping with 1 key is not allowed: unknown section; known: source"),
    ({"workloads": "x" * 500}, "workloads = 'xxxxxxxxxxxxxxx"),
    ({"queue": list(range(1000))}, "queue = a list of 1,000 items is not allowed: a mapping"),
    ({"function": {"memory_mb": [512, 1024]}},
     "function.memory_mb = a list of 2 items is not allowed: an integer in 128..10,240"),
])
def test_unknown_or_misshapen_values_are_named_briefly(data, message):
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data)
    assert str(err.value).startswith(message)
    assert len(str(err.value)) < 300  # one short line, whatever the value held


# -- errors: a change that breaks a rule between two fields names the changed field ------

# (base scenario, the change, the message that names the changed field)
CONFLICTS = [
    ({}, {"queue.visibility_timeout_s": 10},
     "queue.visibility_timeout_s = 10 is not allowed: at least function.timeout_s (30)"),
    ({}, {"function.timeout_s": 60},
     "function.timeout_s = 60.0 is not allowed: at most queue.visibility_timeout_s (30)"),
    ({"source": "api", "function": {"timeout_s": 60}}, {"source": "sqs"},
     "source = 'sqs' is not allowed: 'api' while function.timeout_s (60) is above "
     "queue.visibility_timeout_s (30)"),
    ({"function": {"reserved_concurrency": 500}}, {"account.concurrency_limit": 400},
     "account.concurrency_limit = 400 is not allowed: at least 600 "
     "(function.reserved_concurrency 500 plus 100 that must stay unreserved)"),
    ({"function": {"reserved_concurrency": 20, "provisioned_concurrency": 10}},
     {"function.reserved_concurrency": 5},
     "function.reserved_concurrency = 5 is not allowed: at least "
     "function.provisioned_concurrency (10)"),
    ({"function": {"provisioned_concurrency": 500}}, {"account.concurrency_limit": 550},
     "account.concurrency_limit = 550 is not allowed: at least 600 "
     "(function.provisioned_concurrency 500 plus 100 that must stay unreserved)"),
    ({"handler": {"duration_median_s": 0.1, "duration_p99_s": 0.5}},
     {"handler.duration_median_s": 0.5},
     "handler.duration_median_s = 0.5 is not allowed: less than handler.duration_p99_s (0.5) "
     "for a lognormal"),
    ({"handler": {"duration_distribution": "constant", "duration_median_s": 0.5,
                  "duration_p99_s": 0.1}}, {"handler.duration_distribution": "lognormal"},
     "handler.duration_distribution = 'lognormal' is not allowed: 'exponential' or "
     "'constant' while handler.duration_p99_s (0.1) is not above handler.duration_median_s "
     "(0.5)"),
    ({}, {"mapping.batch_size": 100},
     "mapping.batch_size = 100 is not allowed: at most 10 while mapping.batching_window_s is "
     "below 1 (0)"),
    ({}, {"workload.pattern": "trace"},
     "workload.pattern = 'trace' is not allowed: 'trace' only with workload.trace_path set"),
    ({"database": {"proxy": True, "proxy_max_connections": 100}},
     {"database.max_connections": 50},
     "database.max_connections = 50 is not allowed: at least "
     "database.proxy_max_connections (100)"),
    ({"function": {"runtime": "java21", "snapstart": True}},
     {"function.runtime": "nodejs22.x"},
     "function.runtime = 'nodejs22.x' is not allowed: a runtime that supports SnapStart "),
]


@pytest.mark.parametrize("base, changes, message", CONFLICTS,
                         ids=[next(iter(c)) for _, c, _ in CONFLICTS])
def test_a_change_that_breaks_a_cross_field_rule_names_the_changed_field(base, changes,
                                                                         message):
    scenario = Scenario.from_dict(base)
    with pytest.raises(ScenarioError) as err:
        scenario.with_changes(changes)
    assert str(err.value).startswith(message), str(err.value)
    assert err.value.field == next(iter(changes))


def test_changing_both_sides_of_a_rule_names_the_rule_s_own_field():
    with pytest.raises(ScenarioError, match=r"^function\.timeout_s = 90\.0 is not allowed: "
                                            r"at most queue\.visibility_timeout_s \(60\)"):
        Scenario().with_changes({"queue.visibility_timeout_s": 60, "function.timeout_s": 90})


def test_timeout_above_visibility_is_allowed_for_api_source():
    s = Scenario.from_dict({"source": "api", "function": {"timeout_s": 60}})
    assert s.function.timeout_s == 60
    s = Scenario.from_dict({"source": "api", "function": {"timeout_s": 900}})
    assert s.function.timeout_s == 900


def test_boundaries_inside_the_range_are_accepted():
    s = Scenario.from_dict({
        "queue": {"visibility_timeout_s": 43_200, "retention_s": 60, "max_receive_count": None},
        "function": {"memory_mb": 128, "timeout_s": 900, "reserved_concurrency": 900,
                     "provisioned_concurrency": 900},
        "mapping": {"batch_size": 10_000, "batching_window_s": 300, "max_concurrency": 2},
        "handler": {"duration_distribution": "exponential", "duration_p99_s": 0.05},
    })
    assert s.mapping.batch_size == 10_000
    java = Scenario.from_dict({"function": {"runtime": "java21", "snapstart": True}})
    assert java.function.snapstart
    off = Scenario.from_dict({"function": {"reserved_concurrency": 0}})
    assert off.function.reserved_concurrency == 0


def test_missing_trace_file_is_a_scenario_error(tmp_path):
    missing = tmp_path / "missing.csv"
    data = {"workload": {"pattern": "trace", "trace_path": str(missing)}, "database": None}
    # Either when the scenario is built or when it is run, but a ScenarioError naming the
    # field and the path, never a traceback from deep inside the engine.
    with pytest.raises(ScenarioError, match=r"workload\.trace_path = '.*missing\.csv' is not "
                                            r"allowed: an existing CSV file"):
        simlib.simulate(Scenario.from_dict(data), seed=0)


def test_simulate_rejects_non_scenarios_and_bad_seeds():
    with pytest.raises(ScenarioError):
        simlib.simulate({"source": "sqs"}, seed=0)
    s = Scenario.from_dict({"database": None, "workload": {"duration_s": 5}})
    for seed in (-1, 1.5, True, "1"):
        with pytest.raises(ValueError):
            simlib.simulate(s, seed=seed)


def test_same_scenario_and_seed_give_identical_results():
    s = Scenario.from_dict({"workload": {"duration_s": 60}, "handler": {"failure_rate": 0.05}})
    a, b = simlib.simulate(s, seed=3), simlib.simulate(s, seed=3)
    assert a.summary == b.summary
    assert a.messages.equals(b.messages)
    assert a.invocations.equals(b.invocations)
    c = simlib.simulate(s, seed=4)
    assert not np.array_equal(a.messages["sent_s"], c.messages["sent_s"])


def test_common_random_numbers_across_configurations():
    """Changing batch size or memory leaves arrivals (and poison flags) alone."""
    base = {"database": None, "workload": {"duration_s": 60, "poison_fraction": 0.1},
            "queue": {"max_receive_count": 2}, "mapping": {"report_batch_item_failures": True}}
    a = simlib.simulate(Scenario.from_dict(base), seed=5)
    b = simlib.simulate(Scenario.from_dict(base).with_changes(
        {"mapping.batch_size": 1, "function.memory_mb": 2048}), seed=5)
    assert np.array_equal(a.messages["sent_s"], b.messages["sent_s"])
    # with partial batch responses only the poison messages never succeed
    poison_a = a.messages["successful_executions"] == 0
    poison_b = b.messages["successful_executions"] == 0
    assert 0 < poison_a.sum() < len(poison_a)
    assert poison_a.equals(poison_b)


# -- workload ------------------------------------------------------------------------------

def _workload(**fields):
    return Scenario.from_dict({"workload": fields}).workload


def test_poisson_count_is_rate_times_duration_within_4_sigma():
    w = _workload(rate_per_s=50, duration_s=400)
    mean = 50 * 400
    for seed in range(5):
        t = arrival_times(w, Streams(seed))
        assert abs(len(t) - mean) <= 4 * math.sqrt(mean)
        assert np.all(np.diff(t) >= 0) and t[0] >= 0 and t[-1] < 400
    # spread evenly: first and second half within 4 sigma of each other's expectation
    t = arrival_times(w, Streams(1))
    first = np.sum(t < 200)
    assert abs(first - mean / 2) <= 4 * math.sqrt(mean / 2)


def test_constant_pattern_is_evenly_spaced():
    w = _workload(pattern="constant", rate_per_s=4, duration_s=100)
    t = arrival_times(w, Streams(0))
    assert len(t) == 400
    assert np.allclose(np.diff(t), 0.25)
    assert t[0] == 0 and t[-1] < 100
    assert np.array_equal(t, arrival_times(w, Streams(99)))  # no randomness


def test_burst_rate_inside_and_outside_the_window():
    w = _workload(pattern="burst", rate_per_s=10, duration_s=200, burst_start_s=50,
                  burst_duration_s=20, burst_rate_per_s=100)
    assert list(rate_at(w, np.array([0, 49.9, 50, 69.9, 70, 150]))) == [10, 10, 100, 100, 10, 10]
    t = arrival_times(w, Streams(2))
    inside = np.sum((t >= 50) & (t < 70))
    outside = len(t) - inside
    assert abs(inside - 2000) <= 4 * math.sqrt(2000)
    assert abs(outside - 1800) <= 4 * math.sqrt(1800)


def test_diurnal_pattern_follows_the_sine():
    w = _workload(pattern="diurnal", rate_per_s=20, duration_s=1000, diurnal_period_s=1000,
                  diurnal_amplitude=0.8)
    assert rate_at(w, np.array([0.0]))[0] == pytest.approx(20)
    assert rate_at(w, np.array([250.0]))[0] == pytest.approx(36)
    assert rate_at(w, np.array([750.0]))[0] == pytest.approx(4)
    t = arrival_times(w, Streams(3))
    # expected count in the first half: 20*500 + 20*0.8*P/pi
    first_exp = 20 * 500 + 16 * 1000 / math.pi
    second_exp = 20 * 500 - 16 * 1000 / math.pi
    first = np.sum(t < 500)
    second = len(t) - first
    assert abs(first - first_exp) <= 4 * math.sqrt(first_exp)
    assert abs(second - second_exp) <= 4 * math.sqrt(second_exp)
    # amplitude 0 is a flat Poisson process
    flat = _workload(pattern="diurnal", rate_per_s=20, duration_s=1000, diurnal_period_s=1000,
                     diurnal_amplitude=0.0)
    assert np.all(rate_at(flat, np.linspace(0, 1000, 11)) == 20)


def test_trace_pattern_reads_a_csv_with_header(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("timestamp_s,note\n5,a\n1.5,b\n3,c\n\n250,d\n")
    w = _workload(pattern="trace", trace_path=str(path), duration_s=100)
    assert list(arrival_times(w, Streams(0))) == [1.5, 3.0, 5.0]
    assert list(read_trace(str(path), 1000)) == [1.5, 3.0, 5.0, 250.0]
    r = simlib.simulate(Scenario.from_dict({"database": None, "workload": {
        "pattern": "trace", "trace_path": str(path), "duration_s": 100}}), seed=0)
    assert list(r.messages["sent_s"]) == [1.5, 3.0, 5.0]
    assert r.summary["messages_deleted"] == 3


def test_trace_with_bad_content_is_a_scenario_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("t\n1\nlater\n")
    with pytest.raises(ScenarioError, match=r"workload\.trace_path = .*bad\.csv.*line 3"):
        read_trace(str(bad), 100)
    negative = tmp_path / "negative.csv"
    negative.write_text("-1\n2\n")
    with pytest.raises(ScenarioError, match=r"workload\.trace_path .*>= 0"):
        read_trace(str(negative), 100)


# -- handler -------------------------------------------------------------------------------

def _handler(**fields):
    return Scenario.from_dict({"handler": fields}).handler


def test_memory_factor():
    full_cpu = _handler(cpu_fraction=1.0)
    assert memory_factor(full_cpu, 1769) == pytest.approx(1.0)
    assert memory_factor(full_cpu, 884.5) == pytest.approx(2.0)
    assert memory_factor(full_cpu, 128) == pytest.approx(1769 / 128)
    for mem in (1770, 3008, 10_240):  # single-threaded code gains nothing above 1 vCPU
        assert memory_factor(full_cpu, mem) == pytest.approx(1.0)
    half = _handler(cpu_fraction=0.5)
    assert memory_factor(half, 884.5) == pytest.approx(1.5)  # only the CPU share stretches
    io_bound = _handler(cpu_fraction=0.0)
    assert memory_factor(io_bound, 128) == pytest.approx(1.0)


def test_lognormal_median_and_p99():
    h = _handler(duration_distribution="lognormal", duration_median_s=0.1, duration_p99_s=0.5)
    x = duration_sampler(h)(np.random.default_rng(0), 200_000)
    assert np.median(x) == pytest.approx(0.1, rel=0.03)
    assert np.percentile(x, 99) == pytest.approx(0.5, rel=0.03)


def test_exponential_mean_is_median_over_ln2():
    h = _handler(duration_distribution="exponential", duration_median_s=0.2)
    x = duration_sampler(h)(np.random.default_rng(1), 200_000)
    assert x.mean() == pytest.approx(0.2 / math.log(2), rel=0.03)
    assert np.median(x) == pytest.approx(0.2, rel=0.03)


def test_constant_is_the_median():
    h = _handler(duration_distribution="constant", duration_median_s=0.25)
    x = duration_sampler(h)(np.random.default_rng(2), 1000)
    assert np.all(x == 0.25)


def test_record_draws_apply_the_memory_factor_to_the_same_draws():
    s = Scenario.from_dict({"handler": {"cpu_fraction": 1.0}, "function": {"memory_mb": 1769}})
    half = s.with_changes({"function.memory_mb": 885})
    a = RecordDraws(s.handler, s.function, 50, Streams(4))
    b = RecordDraws(half.handler, half.function, 50, Streams(4))
    for m, k in ((0, 0), (7, 0), (7, 3), (49, 1)):
        assert b.duration(m, k) == pytest.approx(a.duration(m, k) * 1769 / 885)


# -- streams -------------------------------------------------------------------------------

def test_same_seed_and_keys_give_the_same_draws():
    a = Streams(7).generator("duration", 3).random(10)
    b = Streams(7).generator("duration", 3).random(10)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, Streams(8).generator("duration", 3).random(10))
    assert not np.array_equal(a, Streams(7).generator("duration", 4).random(10))
    assert not np.array_equal(a, Streams(7).generator("failure", 3).random(10))


def _uniform(rng, size):
    return rng.random(size)


def test_keyed_columns_do_not_depend_on_the_order_of_requests():
    first = KeyedColumns(Streams(1), "duration", 100, _uniform)
    second = KeyedColumns(Streams(1), "duration", 100, _uniform)
    c3 = first.column(3)
    c0 = first.column(0)
    assert np.array_equal(second.column(0), c0)
    assert np.array_equal(second.column(3), c3)
    assert not np.array_equal(c0, c3)


def test_chunked_stream_does_not_depend_on_the_order_of_requests():
    a = ChunkedStream(Streams(2), "init", _uniform, chunk=16)
    b = ChunkedStream(Streams(2), "init", _uniform, chunk=16)
    late = a[40]
    early = a[3]
    assert b[3] == early and b[40] == late
    assert len({a[i] for i in range(64)}) == 64


def test_record_draws_do_not_depend_on_the_order_of_requests():
    h = _handler(failure_rate=0.3)
    fn = Scenario.from_dict({}).function
    a = RecordDraws(h, fn, 20, Streams(9))
    b = RecordDraws(h, fn, 20, Streams(9))
    order = [(5, 2), (0, 0), (19, 1), (5, 0)]
    got_a = [(a.duration(m, k), a.fails(m, k)) for m, k in order]
    got_b = [(b.duration(m, k), b.fails(m, k)) for m, k in reversed(order)][::-1]
    assert got_a == got_b


# -- SnapStart rules and database.vcpus (issue 10) ------------------------------------


def test_snapstart_with_provisioned_concurrency_is_one_error_naming_both_fields():
    """"SnapStart does not support provisioned concurrency"
    (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html)."""
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict({"function": {"runtime": "java21", "snapstart": True,
                                         "provisioned_concurrency": 2}})
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("function.snapstart = True is not allowed: ")
    assert "function.provisioned_concurrency is 2" in text
    snap = Scenario.from_dict({"function": {"runtime": "java21", "snapstart": True}})
    with pytest.raises(ScenarioError, match=r"^function\.provisioned_concurrency = 3 is not "
                                            r"allowed: 0 while function\.snapstart is True"):
        snap.with_changes({"function.provisioned_concurrency": 3})


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13", "dotnet8", "java25"])
def test_snapstart_is_accepted_where_aws_offers_it(runtime):
    """SnapStart: "Java 11 and later", "Python 3.12 and later", ".NET 8 and later"
    (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html)."""
    assert Scenario.from_dict({"function": {"runtime": runtime, "snapstart": True}}).function.snapstart


def test_database_vcpus_defaults_to_the_db_t3_medium_and_is_range_checked():
    """db.t3.medium has 2 vCPUs (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.DBInstanceClass.Summary.html);
    RDS Proxy bills by them (https://aws.amazon.com/rds/proxy/pricing/)."""
    assert Scenario().database.vcpus == 2
    with pytest.raises(ScenarioError, match=r"^database\.vcpus = 0 is not allowed: an integer "
                                            r"in 1\.\.1,000"):
        Scenario.from_dict({"database": {"vcpus": 0}})


def test_a_deprecated_runtime_is_a_scenario_warning_not_an_error():
    """python3.9 deprecated 2025-12-15 (AWS "Lambda runtimes",
    https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html): the scenario is
    valid and runs; Scenario.runtime_warnings says so, dated by the ``today`` given."""
    from datetime import date

    old = Scenario.from_dict({"function": {"runtime": "python3.9"}})
    (text,) = old.runtime_warnings(today=date(2026, 11, 29))
    assert text.startswith("function.runtime: runtime python3.9 is deprecated since 2025-12-15")
    assert old.runtime_warnings(today=date(2024, 1, 1)) == []
    assert old.warnings == old.runtime_warnings(date.today())
    assert Scenario.from_dict({}).runtime_warnings(today=date(2026, 11, 29)) == []
    assert "warnings" not in old.to_dict()  # not a field: to_dict / from_dict unchanged


def test_provisioned_mode_with_max_concurrency_is_one_error_naming_both_fields():
    """"You cannot use the maximum concurrency setting and provisioned mode at the same
    time" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html)."""
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict({"mapping": {"max_concurrency": 10, "provisioned_min_pollers": 3}})
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("mapping.max_concurrency = 10 is not allowed: ")
    assert "mapping.provisioned_min_pollers is 3" in text
    prov = Scenario.from_dict({"mapping": {"provisioned_max_pollers": 50}})
    with pytest.raises(ScenarioError, match=r"^mapping\.max_concurrency = 20 is not allowed: "
                                            r"None while mapping\.provisioned_max_pollers is 50"):
        prov.with_changes({"mapping.max_concurrency": 20})
    capped = Scenario.from_dict({"mapping": {"max_concurrency": 20}})
    with pytest.raises(ScenarioError, match=r"^mapping\.provisioned_max_pollers = 50 is not "
                                            r"allowed: None while mapping\.max_concurrency"):
        capped.with_changes({"mapping.provisioned_max_pollers": 50})


def test_provisioned_pollers_take_aws_s_ranges_and_defaults():
    """SQS MinimumPollers: "default is 2, and minimum 2 required", at most 200;
    MaximumPollers: "between 2 and 10,000, with a default of 200"
    (https://docs.aws.amazon.com/lambda/latest/api/API_ProvisionedPollerConfig.html)."""
    assert Scenario().mapping.event_pollers is None and not Scenario().mapping.provisioned
    lo = Scenario.from_dict({"mapping": {"provisioned_min_pollers": 2}}).mapping
    assert lo.provisioned and lo.event_pollers == (2, 200)
    hi = Scenario.from_dict({"mapping": {"provisioned_max_pollers": 10_000}}).mapping
    assert hi.event_pollers == (2, 10_000)
    assert Scenario.from_dict({"mapping": {"provisioned_min_pollers": 200}}).mapping.event_pollers == (200, 200)
    for field, bad in (("provisioned_min_pollers", 1), ("provisioned_min_pollers", 201),
                       ("provisioned_max_pollers", 1), ("provisioned_max_pollers", 10_001)):
        with pytest.raises(ScenarioError, match=rf"^mapping\.{field} = {bad} is not allowed"):
            Scenario.from_dict({"mapping": {field: bad}})
    with pytest.raises(ScenarioError, match=r"^mapping\.provisioned_min_pollers = 20 is not "
                                            r"allowed: at most mapping\.provisioned_max_pollers \(10\)"):
        Scenario.from_dict({"mapping": {"provisioned_min_pollers": 20,
                                        "provisioned_max_pollers": 10}})
