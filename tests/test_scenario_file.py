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
from simlib import Application, Scenario, ScenarioError
from simlib.whatif.inputs import load_any
from simlib.scenario_file import (
    ScenarioFileError,
    apply_overlay,
    load_application_file,
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
    if isinstance(scenario, Application):
        assert scenario == load_application_file(path)
        sources = [r.name for r in scenario.of_kind("source")]
        short = scenario.with_changes({f"resources.{n}.duration_s": 20 for n in sources})
        result = simlib.simulate(short, seed=1)
        m = result.messages
        # every event a source sent is one row whose origin is that source
        assert result.summary["messages_sent"] == int(((m["parent"] == -1)
                                                       & m["origin"].isin(sources)).sum()) > 0
        assert result.summary["events_delivered"] == len(m)
        return
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
     (r"s\.yaml line 2: queue\.visibility_timeout = 30 is not allowed: unknown field \(did "
     r"you mean visibility_timeout_s\?\); known: visibility_timeout_s")),
    ("function:\n  memory_mb: big\n",
     r"s\.yaml line 2: function\.memory_mb = 'big' is not allowed: an integer in 128\.\.10,240"),
    ("workload: {}\nqueue:\n  max_receive_count: 5\n  retention_s: 10\n",
     r"s\.yaml line 4: queue\.retention_s = 10\.0 is not allowed: a number in 60\.\.1,209,600"),
    ("mapping:\n  report_batch_item_failures: yes please\n",
     r"line 2: mapping\.report_batch_item_failures = 'yes please' is not allowed: True or False"),
    ("lambda:\n  memory_mb: 512\n",
     (r"s\.yaml line 1: lambda = a mapping with 1 key is not allowed: unknown section; "
     r"known: source, workload")),
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
    with pytest.raises(ScenarioFileError, match=r"s\.yaml line 3: queue is given twice "
                                                r"\(lines 1 and 3\)$"):
        load_scenario_file(write(tmp_path, text))


@pytest.mark.parametrize("text, where, lines", [
    # a field of a section, in a flow mapping
    ("queue: {visibility_timeout_s: 30, visibility_timeout_s: 90}\n",
     "queue.visibility_timeout_s", (1, 1)),
    # keys compare as the values they stand for, as in the loaded mapping
    ("mapping:\n  batch_size: 1\nmapping:\n  batch_size: 2\n", "mapping", (1, 3)),
    ("x-notes:\n  1: a\n  0x1: b\n", "x-notes.0x1", (2, 3)),
    # inside a list, the position is part of the path
    ("x-list:\n  - a: 1\n    a: 2\n", "x-list[0].a", (2, 3)),
])
def test_a_duplicate_key_names_its_path_and_both_lines(tmp_path, text, where, lines):
    with pytest.raises(ScenarioFileError) as info:
        load_scenario_file(write(tmp_path, text))
    first, second = lines
    assert str(info.value) == (f"{tmp_path / 's.yaml'} line {second}: {where} is given "
                               f"twice (lines {first} and {second})")
    assert info.value.line == second


def test_a_duplicate_key_in_an_overlay_is_refused(tmp_path):
    text = "workload:\n  rate_per_s: 5\n  duration_s: 60\n  rate_per_s: 50\n"
    with pytest.raises(ScenarioFileError, match=r"o\.yaml line 4: workload\.rate_per_s is "
                                                r"given twice \(lines 2 and 4\)$"):
        load_overlay(write(tmp_path, text, "o.yaml"))


def test_a_duplicate_key_in_a_template_names_both_lines():
    from simlib.whatif.template import load_document

    path = TEST_DATA / "broken" / "duplicate-keys.yaml"
    with pytest.raises(ScenarioFileError) as info:
        load_document(path)
    assert str(info.value) == (f"{path} line 10: Resources.Worker.Properties.Timeout is "
                               "given twice (lines 9 and 10)")


def test_a_key_beside_a_merge_key_is_not_a_duplicate(tmp_path):
    """``<<`` merges a mapping's keys; a key given beside it overrides the merged one (YAML
    merge keys), which is not a key given twice."""
    from simlib.scenario_file import BoundedLoader

    text = ("base: &base {visibility_timeout_s: 30, retention_s: 3600}\n"
            "queue:\n  <<: *base\n  visibility_timeout_s: 90\n")
    assert yaml.load(text, Loader=BoundedLoader)["queue"] == {"visibility_timeout_s": 90,
                                                              "retention_s": 3600}


@pytest.mark.parametrize("command", ["lint", "run"])
def test_the_command_line_refuses_a_duplicate_key_in_one_line(capsys, command):
    from simlib.whatif.cli import main

    path = TEST_DATA / "broken" / "duplicate-keys.yaml"
    assert main([command, str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"simlib: error: {path} line 10: Resources.Worker.Properties.Timeout is "
                   "given twice (lines 9 and 10)\n")


@pytest.mark.parametrize("text, needle", [
    # Python refuses to read more than 4,300 decimal digits; no float holds 1e400
    ("queue:\n  visibility_timeout_s: 1" + "0" * 5000 + "\n",
     "line 2: queue.visibility_timeout_s = an integer of 5,001 digits is not allowed"),
    ("queue:\n  visibility_timeout_s: 1" + "0" * 400 + "\n",
     "line 2: queue.visibility_timeout_s = an integer of 401 digits is not allowed"),
    ("queue:\n  visibility_timeout_s: 0x" + "f" * 300 + "\n",
     "line 2: queue.visibility_timeout_s = an integer of 362 digits is not allowed"),
    # a scalar that looks like a type but cannot be one
    ("x-when: 2024-13-45\n", "line 1: not valid YAML: cannot read '2024-13-45' as timestamp"),
    ("queue:\n  visibility_timeout_s: !!float abc\n",
     "line 2: not valid YAML: cannot read 'abc' as float"),
])
def test_a_value_python_cannot_hold_is_one_clear_error(tmp_path, text, needle):
    with pytest.raises(ScenarioFileError) as info:
        load_scenario_file(write(tmp_path, text))
    assert needle in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("trace, needle", [
    ("~nobody-here/t.csv", "Could not determine home directory"),
    ("t\\0.csv", "embedded null byte"),
])
def test_a_trace_path_no_file_can_have_is_one_clear_error(tmp_path, trace, needle):
    text = f'workload:\n  pattern: trace\n  trace_path: "{trace}"\n'
    with pytest.raises(ScenarioFileError, match=r"s\.yaml line 3: workload\.trace_path = .* "
                                                r"is not allowed: a path to a CSV file") as info:
        load_scenario_file(write(tmp_path, text))
    assert needle in str(info.value)
    app = f'resources:\n  q: {{kind: queue}}\n  s:\n    kind: source\n    target: q\n' \
          f'    trace_path: "{trace}"\n'
    with pytest.raises(ScenarioFileError, match=r"a\.yaml line 6: resources\.s\.trace_path"):
        load_application_file(write(tmp_path, app, "a.yaml"))


def test_an_error_message_is_one_line_whatever_the_value(tmp_path):
    from simlib.scenario_file import ScenarioFileError as Error

    deep: list = [1]
    for _ in range(5000):  # deeper than Python's repr can go
        deep = [deep]
    assert str(Error("t.json", "Resources.W.Properties.Timeout", deep, "a number")) == \
        "t.json: Resources.W.Properties.Timeout = a list of 1 item is not allowed: a number"
    assert str(Error("t.json", "Timeout", 10 ** 5000, "a number")) == \
        "t.json: Timeout = an integer of 5,001 digits is not allowed: a number"
    assert str(Error("t.yaml", "Resources.Line\nBreak", "x\u2028y", "a number")) == \
        r"t.yaml: Resources.Line\nBreak = 'x\u2028y' is not allowed: a number"


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
                                                r"\(set by the overlay\)"):
        load_any(path, overlay={"function": {"timeout_s": 60}})
    # a rule the file itself breaks, the overlay aside, names the file's field and line
    path = write(tmp_path, "function:\n  timeout_s: 60\nqueue:\n  visibility_timeout_s: 30\n")
    with pytest.raises(ScenarioFileError, match=r"s\.yaml line 2: function\.timeout_s = 60\.0 "
                                                r".*\(with the overlay applied\)"):
        load_any(path, overlay={"workload": {"rate_per_s": 5}})


def test_an_overlay_that_breaks_a_rule_names_its_own_field(tmp_path):
    # The file is fine (timeout 30 = visibility 30); the overlay lowers the visibility.
    path = write(tmp_path, "queue:\n  visibility_timeout_s: 30\nfunction:\n  timeout_s: 30\n")
    with pytest.raises(ScenarioFileError) as info:
        load_any(path, overlay={"queue": {"visibility_timeout_s": 10}})
    assert str(info.value) == (
        f"{path}: queue.visibility_timeout_s = 10 is not allowed: at least function.timeout_s "
        "(30); AWS rejects an event source mapping whose function timeout exceeds the "
        "queue's visibility timeout (set by the overlay)")
    assert info.value.field == "queue.visibility_timeout_s" and info.value.line is None


def test_a_misspelt_section_is_named_with_a_suggestion_and_not_echoed(tmp_path):
    text = "workloads:\n  rate_per_s: 5\n  duration_s: 30\n  pattern: poisson\n"
    for load in (load_scenario_file, load_overlay):
        with pytest.raises(ScenarioFileError) as info:
            load(write(tmp_path, text))
        message = str(info.value)
        assert message.startswith(f"{tmp_path / 's.yaml'} line 1: workloads = a mapping with 3 "
                                  "keys is not allowed: unknown section (did you mean "
                                  "workload?); known: source, workload, queue"), message
        assert "rate_per_s" not in message and "poisson" not in message


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


# -- hostile files: alias bombs, huge files, deep nesting ---------------------------------
#
# A scenario file or template may come from anyone (a pull request, a download). Whatever
# it holds, loading it must end within a second in one line naming the file and the
# limit, never hang or eat the machine's memory. Each case runs in a child process, which
# measures the load alone (not Python's start-up or simlib's imports) with the child's own
# peak RSS, and which a timeout can stop if the loader does hang.

MEASURE = r"""
import contextlib, io, json, resource, sys, time
from simlib import cli
from simlib.scenario_file import load_overlay, load_scenario_file
from simlib.whatif.inputs import load_any
from simlib.template import read_template

what, path = sys.argv[1], sys.argv[2]
apis = {"scenario": load_scenario_file, "overlay": load_overlay, "template": read_template,
        "any": load_any}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
# CPU seconds of this process: the work the refusal took, which other jobs on a busy
# machine do not stretch (wall time would make the bound a matter of luck)
start = time.process_time()
if what in apis:
    try:
        apis[what](path)
        outcome, message = "loaded", ""
    except ValueError as exc:
        outcome, message = type(exc).__name__, str(exc)
else:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        outcome = cli.main([what, path])
    message = err.getvalue()
seconds = time.process_time() - start
grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({"outcome": outcome, "message": message, "seconds": seconds,
                  "grown_mb": grown_mb}))
"""


def measure(what: str, path: Path) -> dict:
    """Load ``path`` with ``what`` (an API name, or ``run`` / ``lint``) in a child process."""
    import json
    import resource
    import subprocess
    import sys

    def cap_memory():  # a hanging loader must not take the machine down with it
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    try:
        done = subprocess.run([sys.executable, "-c", MEASURE, what, str(path)],
                              capture_output=True, text=True, timeout=20,
                              preexec_fn=cap_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} {path.name}: still loading after 20 s")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def alias_bomb(levels: int = 9, width: int = 9) -> list[str]:
    """YAML lines of anchors a0..a{levels-1}: each a list of ``width`` copies of the last.

    The last anchor stands for width ** levels scalars (9 ** 9 = 387 million): a few
    hundred bytes that a naive reader expands without end ("billion laughs").
    """
    lines = ["  - &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return lines


def scenario_bomb(tmp_path: Path) -> Path:
    return write(tmp_path, "\n".join(["x-lol:", *alias_bomb(), "workload: *a8", ""]),
                 "bomb.yaml")


def template_bomb(tmp_path: Path) -> Path:
    return write(tmp_path, "\n".join(['AWSTemplateFormatVersion: "2010-09-09"', "Metadata:",
                                      *alias_bomb(), "Resources: *a8", ""]), "bomb-t.yaml")


def huge_file(tmp_path: Path) -> Path:
    """100 MB of valid YAML (comment lines), written in one go."""
    path = tmp_path / "huge.yaml"
    line = "# " + "x" * 97 + "\n"
    with path.open("w") as f:
        f.write(line * 1_000_000)
    assert path.stat().st_size == 100_000_000
    return path


def assert_refused_quickly(got: dict, *needles: str) -> None:
    lines = got["message"].strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in got["message"], got["message"][:2000]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert got["seconds"] < 1.0, got
    assert got["grown_mb"] < 50, got


@pytest.mark.parametrize("what", ["scenario", "overlay", "any"])
def test_an_alias_bomb_in_a_scenario_file_or_overlay_is_refused_at_once(tmp_path, what):
    got = measure(what, scenario_bomb(tmp_path))
    assert got["outcome"] == "ScenarioFileError"
    assert_refused_quickly(got, "bomb.yaml line ", "aliases", "100,000")


@pytest.mark.parametrize("what", ["template", "any"])
def test_an_alias_bomb_in_a_template_is_refused_at_once(tmp_path, what):
    got = measure(what, template_bomb(tmp_path))
    assert got["outcome"] == "ScenarioFileError"
    assert_refused_quickly(got, "bomb-t.yaml line ", "aliases", "100,000")


@pytest.mark.parametrize("what", ["scenario", "overlay", "template", "any"])
def test_a_100_mb_file_is_refused_before_it_is_read(tmp_path, what):
    got = measure(what, huge_file(tmp_path))
    assert got["outcome"] == "ScenarioFileError"
    assert_refused_quickly(got, "huge.yaml", "100,000,000 bytes", "at most 1,048,576 bytes")


@pytest.mark.parametrize("command", ["run", "lint"])
@pytest.mark.parametrize("make", [scenario_bomb, template_bomb, huge_file],
                         ids=["scenario-bomb", "template-bomb", "100MB"])
def test_the_command_line_refuses_hostile_files_in_one_line_and_exit_2(tmp_path, command,
                                                                        make):
    path = make(tmp_path)
    got = measure(command, path)
    assert got["outcome"] == 2
    limit = "1,048,576 bytes" if make is huge_file else "100,000"
    assert_refused_quickly(got, "simlib: error: ", path.name, limit)


def test_anchors_and_merge_keys_of_a_normal_size_still_work(tmp_path):
    text = ("queue:\n  visibility_timeout_s: &timeout 60\n"
            "function:\n  timeout_s: *timeout\n"
            "handler: &handler {duration_median_s: 0.2, duration_p99_s: 0.9}\n")
    s = load_scenario_file(write(tmp_path, text))
    assert s.function.timeout_s == s.queue.visibility_timeout_s == 60
    assert s.handler.duration_p99_s == 0.9


def test_a_file_just_under_the_size_limit_loads(tmp_path):
    from simlib.scenario_file import MAX_FILE_BYTES

    head = "queue:\n  visibility_timeout_s: 60\n"
    path = write(tmp_path, head + "#" * (MAX_FILE_BYTES - len(head) - 1) + "\n")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert load_scenario_file(path).queue.visibility_timeout_s == 60


@pytest.mark.parametrize("text, needle", [
    ("queue: &q\n  visibility_timeout_s: *q\n", "an alias inside its own anchor"),
    ("workload: " + "[" * 5000 + "]" * 5000 + "\n", "at most 100 levels"),
])
def test_a_recursive_alias_or_deep_nesting_is_one_clear_error(tmp_path, text, needle):
    with pytest.raises(ScenarioFileError, match=r"s\.yaml line \d+: ") as info:
        load_scenario_file(write(tmp_path, text))
    assert needle in str(info.value) and "\n" not in str(info.value)
