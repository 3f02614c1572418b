"""Scenario files (simlib.scenario_file): YAML in, a validated Scenario out.

They pin the user-facing promises: a file has exactly Scenario.from_dict's sections and
names; every mistake is one ScenarioFileError naming the file, line, key path, value and
allowed range; loading is safe; a scenario survives a round trip through YAML; overlays
are checked on their own; load_any tells templates from scenario files; every example in
data/scenarios loads and simulates.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import simlib
from simlib import Scenario, ScenarioError
from simlib.scenario_file import (
    ScenarioFileError,
    apply_overlay,
    load_any,
    load_overlay,
    load_scenario_file,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "data" / "scenarios").glob("*.yaml"))
TEST_DATA = Path(__file__).resolve().parent / "data"


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- examples -----------------------------------------------------------------------------

def test_there_are_example_scenarios():
    assert {p.name for p in EXAMPLES} >= {"default.yaml", "orders-spike.yaml",
                                          "api-provisioned.yaml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_scenario_loads_and_simulates(path):
    (name, scenario), = load_any(path).items()
    assert name == path.stem
    assert scenario == load_scenario_file(path)
    result = simlib.simulate(scenario.with_changes({"workload.duration_s": 20}), seed=1)
    s = result.summary
    assert s["messages_sent"] > 0
    assert s["messages_sent"] == (s["messages_deleted"] + s["messages_failed"]
                                  + s["messages_dlq"] + s["messages_expired"]
                                  + s["messages_unfinished"])


def test_default_example_spells_out_the_default_scenario():
    assert load_scenario_file(ROOT / "data" / "scenarios" / "default.yaml") == Scenario()


def test_examples_say_what_they_claim():
    spike = load_scenario_file(ROOT / "data" / "scenarios" / "orders-spike.yaml")
    assert spike.workload.pattern == "burst" and spike.database is not None
    assert spike.queue.visibility_timeout_s >= 6 * spike.function.timeout_s
    api = load_scenario_file(ROOT / "data" / "scenarios" / "api-provisioned.yaml")
    assert api.source == "api" and api.function.provisioned_concurrency > 0
    assert api.database is None


# -- round trip ---------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", [
    Scenario(),
    Scenario.from_dict({"source": "api", "database": None,
                        "function": {"runtime": "java21", "snapstart": True,
                                     "provisioned_concurrency": 0}}),
    Scenario.from_dict({"queue": {"max_receive_count": None, "visibility_timeout_s": 180},
                        "mapping": {"batch_size": 100, "batching_window_s": 2.5,
                                    "max_concurrency": 20},
                        "workload": {"rate_per_s": 1e5, "payload_kb": 0.001}}),
], ids=["default", "api-java", "big-batches"])
def test_a_scenario_round_trips_through_yaml(tmp_path, scenario):
    path = write(tmp_path, yaml.safe_dump(scenario.to_dict()))
    assert load_scenario_file(path) == scenario


def test_an_empty_file_is_the_default_scenario(tmp_path):
    assert load_scenario_file(write(tmp_path, "# nothing to change\n")) == Scenario()


def test_exponent_numbers_read_as_numbers(tmp_path):
    # PyYAML (YAML 1.1) would read 1e3 as a string; a user means the number.
    path = write(tmp_path, "workload:\n  rate_per_s: 1e3\n  duration_s: 2E2\n")
    s = load_scenario_file(path)
    assert s.workload.rate_per_s == 1000.0 and s.workload.duration_s == 200.0


def test_a_relative_trace_path_is_relative_to_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "trace.csv").write_text("t_s\n0.5\n1.5\n2.5\n")
    path = write(folder, "workload:\n  pattern: trace\n  trace_path: trace.csv\n"
                         "  duration_s: 10\n")
    monkeypatch.chdir(tmp_path)
    s = load_scenario_file(path)
    assert Path(s.workload.trace_path) == (folder / "trace.csv").resolve()
    assert simlib.simulate(s, seed=0).summary["messages_sent"] == 3


# -- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, pattern", [
    ("queue:\n  visibility_timeout: 30\n",
     (r"s\.yaml line 2: queue\.visibility_timeout = 30 is not allowed: unknown field; "
     r"known: visibility_timeout_s")),
    ("function:\n  memory_mb: big\n",
     r"s\.yaml line 2: function\.memory_mb = 'big' is not allowed: an integer in 128\.\.10,240"),
    ("workload: {}\nqueue:\n  max_receive_count: 5\n  retention_s: 10\n",
     r"s\.yaml line 4: queue\.retention_s = 10\.0 is not allowed: a number in 60\.\.1,209,600"),
    ("mapping:\n  report_batch_item_failures: yes please\n",
     r"line 2: mapping\.report_batch_item_failures = 'yes please' is not allowed: True or False"),
    ("lambda:\n  memory_mb: 512\n",
     (r"s\.yaml line 1: lambda = \{'memory_mb': 512\} is not allowed: unknown section; known: "
     r"source, workload")),
    ("source: sns\n", r"line 1: source = 'sns' is not allowed: one of 'sqs', 'api'"),
    ("queue: 30\n", r"line 1: queue = 30 is not allowed: a mapping of field names"),
    ("function:\n  timeout_s: 60\n",
     (r"s\.yaml line 2: function\.timeout_s = 60\.0 is not allowed: at most "
     r"queue\.visibility_timeout_s \(30\)")),
])
def test_bad_values_name_file_line_key_value_and_range(tmp_path, text, pattern):
    with pytest.raises(ScenarioFileError, match=pattern) as info:
        load_scenario_file(write(tmp_path, text))
    assert isinstance(info.value, ScenarioError) and isinstance(info.value, ValueError)
    assert info.value.path.endswith("s.yaml")


def test_the_error_keeps_its_parts_for_programs(tmp_path):
    with pytest.raises(ScenarioFileError) as info:
        load_scenario_file(write(tmp_path, "\n\nhandler:\n  failure_rate: 2\n"))
    err = info.value
    assert (err.line, err.field, err.value) == (4, "handler.failure_rate", 2)
    assert "0..1" in err.allowed


def test_yaml_syntax_errors_give_the_line(tmp_path):
    with pytest.raises(ScenarioFileError, match=r"s\.yaml line 3: not valid YAML"):
        load_scenario_file(write(tmp_path, "queue:\n  visibility_timeout_s: 30\n   bad: [1,\n"))


def test_a_list_at_the_top_level_is_refused(tmp_path):
    with pytest.raises(ScenarioFileError, match=r"the top level is a list; a scenario file is "
                                                r"a mapping of section names"):
        load_scenario_file(write(tmp_path, "- queue\n- mapping\n"))


def test_a_missing_file_is_a_scenario_file_error(tmp_path):
    with pytest.raises(ScenarioFileError, match=r"nope\.yaml: no such file"):
        load_scenario_file(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioFileError, match="not a file"):
        load_scenario_file(tmp_path)


def test_duplicate_keys_are_refused(tmp_path):
    text = "queue:\n  visibility_timeout_s: 30\nqueue:\n  visibility_timeout_s: 90\n"
    with pytest.raises(ScenarioFileError, match=r"line 3: not valid YAML: found duplicate "
                                                r"key 'queue'"):
        load_scenario_file(write(tmp_path, text))


def test_loading_is_safe(tmp_path):
    marker = tmp_path / "pwned"
    text = f"workload: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ScenarioFileError, match="not valid YAML"):
        load_scenario_file(write(tmp_path, text))
    assert not marker.exists()


def test_cloudformation_tags_are_not_accepted_in_a_scenario_file(tmp_path):
    with pytest.raises(ScenarioFileError, match=r"not valid YAML: could not determine a "
                                                r"constructor for the tag '!Ref'"):
        load_scenario_file(write(tmp_path, "queue:\n  visibility_timeout_s: !Ref Vis\n"))


# -- overlays -----------------------------------------------------------------------------

def test_an_overlay_is_checked_field_by_field_but_not_as_a_whole(tmp_path):
    # timeout 60 > the default visibility 30: wrong as a scenario, fine as an overlay,
    # because the template it is laid on decides the visibility timeout.
    text = "function:\n  timeout_s: 60\nworkload:\n  rate_per_s: 5\ndatabase: null\n"
    overlay = load_overlay(write(tmp_path, text))
    assert overlay == {"function": {"timeout_s": 60}, "workload": {"rate_per_s": 5},
                       "database": None}


@pytest.mark.parametrize("text, pattern", [
    ("handler:\n  failure_rate: 1.5\n",
     r"o\.yaml line 2: handler\.failure_rate = 1\.5 is not allowed: a number in 0\.\.1"),
    ("traffic:\n  rate_per_s: 5\n",
     r"o\.yaml line 1: traffic = .* unknown section; known: source, workload"),
    ("workload:\n  rate: 5\n", r"line 2: workload\.rate = 5 is not allowed: unknown field"),
    ("source: lambda\n", r"line 1: source = 'lambda'"),
])
def test_bad_overlays_are_refused(tmp_path, text, pattern):
    with pytest.raises(ScenarioFileError, match=pattern):
        load_overlay(write(tmp_path, text, "o.yaml"))


def test_apply_overlay_merges_sections_field_by_field():
    base = {"function": {"runtime": "python3.13", "timeout_s": 10}, "database": {"proxy": True}}
    merged = apply_overlay(base, {"function": {"timeout_s": 20}, "database": None,
                                  "workload": {"rate_per_s": 3}})
    assert merged == {"function": {"runtime": "python3.13", "timeout_s": 20},
                      "database": None, "workload": {"rate_per_s": 3}}
    assert base["function"]["timeout_s"] == 10  # the base is not mutated


# -- load_any -----------------------------------------------------------------------------

def test_load_any_applies_an_overlay_to_a_scenario_file(tmp_path):
    path = write(tmp_path, "queue:\n  visibility_timeout_s: 120\n", "orders.yaml")
    got = load_any(path, overlay={"function": {"timeout_s": 20}})
    assert list(got) == ["orders"]
    assert got["orders"].function.timeout_s == 20
    assert got["orders"].queue.visibility_timeout_s == 120


def test_load_any_names_the_file_when_the_overlay_breaks_the_scenario(tmp_path):
    path = write(tmp_path, "queue:\n  visibility_timeout_s: 30\n")
    with pytest.raises(ScenarioFileError, match=r"s\.yaml: function\.timeout_s = 60\.0 .*"
                                                r"\(with the overlay applied\)"):
        load_any(path, overlay={"function": {"timeout_s": 60}})


def test_load_any_reads_a_template_as_one_scenario_per_pipeline():
    got = load_any(TEST_DATA / "sam-two-pipelines.yaml")
    assert list(got) == ["InvoicesFunction", "EmailFunction"]
    assert all(isinstance(s, Scenario) for s in got.values())


def test_load_any_tells_templates_apart_by_their_top_level_keys(tmp_path):
    # Only Transform (no Resources): still a template, so the template reader answers.
    path = write(tmp_path, "Transform: AWS::Serverless-2016-10-31\n")
    with pytest.raises(ScenarioFileError, match="Resources = None is not allowed: a mapping of "
                                                "logical ids"):
        load_any(path)
