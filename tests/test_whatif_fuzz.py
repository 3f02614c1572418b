"""Never crash (issue 12): whatever template a user points ``simlib`` at, it answers.

The contract of the command line (simlib.whatif.cli): exit 0 (fine), 1 (``lint`` found
an error) or 2 (bad input, told in exactly one ``simlib: error: ...`` line on stderr),
never a traceback. These tests take the template fixtures of ``tests/data`` (and the
broken ones of ``tests/data/broken``), break them the way people and generators do (a
key dropped, a value of the wrong type, an intrinsic function with the wrong arguments,
a renamed or duplicated resource, deep nesting, numbers no float holds), write each
mutant as JSON and as YAML (long and short intrinsic forms) and run ``lint``, ``run``
and ``run --application`` on it in this process. The scenario files of
``data/scenarios`` and the overlays of ``data/templates`` are mutated the same way. An
exception escaping ``main`` is a crash: Hypothesis shrinks the mutation to the smallest
one that still crashes, and the smallest input of each crash found so far is kept below
as an explicit case (``CRASHES``), with the four inputs of the issue.

The overlay keeps ``run`` short (5 s of traffic at 1 message per second, 60 s of
drain), so an example costs a few hundredths of a second.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import math
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from simlib.core.scenario import Scenario
from simlib.whatif.cli import main
from simlib.whatif.scenario_file import ScenarioFileError
from simlib.whatif.template import load_document

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
BROKEN = DATA / "broken"
OVERLAY = "workload:\n  rate_per_s: 1\n  duration_s: 5\nrun:\n  drain_s: 60\n"
COMMANDS = (["lint"], ["run", "--overlay", "{overlay}"],
            ["run", "--application", "--overlay", "{overlay}"])


def _fixtures(*paths: Path) -> dict[str, dict]:
    """Every file of ``paths`` that parses to a mapping, by folder and file name (the
    deep and duplicate-key fixtures do not parse: they have tests of their own below)."""
    docs = {}
    for path in sorted(paths):
        try:
            doc = load_document(path)
        except ScenarioFileError:
            continue
        if isinstance(doc, dict):
            docs[f"{path.parent.name}/{path.name}"] = doc
    return docs


FIXTURES = _fixtures(*DATA.glob("*.yaml"), *DATA.glob("*.json"), *BROKEN.glob("*"))
SCENARIOS = _fixtures(*(ROOT / "data" / "scenarios").glob("*.yaml"))
OVERLAYS = {"tiny": yaml.safe_load(OVERLAY),
            **_fixtures(*(ROOT / "data" / "templates").glob("*-traffic.yaml"))}


# -- running the command line ----------------------------------------------------------

def simlib(*argv: str) -> tuple[int, str, str]:
    """``main(argv)`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_answers(path: Path, overlay: Path) -> None:
    """Every command on ``path`` exits 0, 1 or 2; 2 with exactly one error line."""
    for command in COMMANDS:
        argv = [command[0], str(path),
                *(str(overlay) if a == "{overlay}" else a for a in command[1:])]
        assert_exit_code(argv, *simlib(*argv))


def assert_exit_code(argv: list[str], code: int, out: str, err: str) -> None:
    shown = f"simlib {' '.join(argv)} -> {code}\n{err[-3000:]}"
    assert code in (0, 1, 2), shown
    assert "Traceback" not in out + err, shown
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("simlib: error: "), shown


# -- writing a document ----------------------------------------------------------------

class Nest:
    """A value nested ``depth`` levels deep (lists or mappings), written as text.

    Why text: Python's JSON and YAML writers recurse once per level, so a document
    1,000 levels deep cannot be written by them; a reader must still refuse it."""

    def __init__(self, depth: int, kind: str):
        self.depth, self.kind = depth, kind

    def text(self) -> str:
        if self.kind == "list":
            return "[" * self.depth + "1" + "]" * self.depth
        return '{"a": ' * self.depth + "1" + "}" * self.depth

    def __repr__(self):
        return f"Nest({self.depth}, {self.kind!r})"


def _placeholders(doc, nests: list[Nest]):
    """``doc`` with each Nest replaced by a placeholder string (listed in ``nests``)."""
    if isinstance(doc, Nest):
        nests.append(doc)
        return f"__nest_{len(nests) - 1}__"
    if isinstance(doc, dict):
        return {k: _placeholders(v, nests) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_placeholders(v, nests) for v in doc]
    return doc


def to_json(doc) -> str:
    nests: list[Nest] = []
    text = json.dumps(_placeholders(doc, nests), indent=1, default=str)
    for i, nest in enumerate(nests):
        text = text.replace(f'"__nest_{i}__"', nest.text())
    return text


INTRINSICS = ("Ref", "Condition", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Join",
              "Fn::Select", "Fn::Split", "Fn::ImportValue", "Fn::Equals", "Fn::FindInMap",
              "Fn::Base64", "Fn::GetAZs", "Fn::Not")


class _ShortFormDumper(yaml.SafeDumper):
    """Writes ``{"Ref": x}`` as ``!Ref x`` (and ``Fn::GetAtt`` as ``!GetAtt``...), the
    way a person writes a template."""


def _represent_dict(dumper, data):
    if len(data) == 1:
        (key, arg), = data.items()
        if key in INTRINSICS:
            node = dumper.represent_data(arg)
            node.tag = "!" + key.removeprefix("Fn::")
            return node
    return dumper.represent_dict(data)


_ShortFormDumper.add_representer(dict, _represent_dict)


def to_yaml(doc, short: bool) -> str:
    nests: list[Nest] = []
    text = yaml.dump(_placeholders(doc, nests), Dumper=_ShortFormDumper if short
                     else yaml.SafeDumper, sort_keys=False, default_flow_style=False)
    for i, nest in enumerate(nests):  # a flow collection is valid where a scalar was
        text = text.replace(f"__nest_{i}__", nest.text())
    return text


def check_document(doc, short_yaml: bool = False) -> None:
    """Write ``doc`` as JSON and as YAML and run every command on each."""
    with tempfile.TemporaryDirectory(prefix="simlib-fuzz-") as tmp:
        folder = Path(tmp)
        overlay = folder / "overlay.yaml"
        overlay.write_text(OVERLAY)
        as_json = folder / "template.json"
        as_json.write_text(to_json(doc))
        as_yaml = folder / "template.yaml"
        as_yaml.write_text(to_yaml(doc, short_yaml))
        for path in (as_json, as_yaml):
            assert_answers(path, overlay)


# -- strategies ------------------------------------------------------------------------

# Words a template is made of: a mutant built from them reaches deep into the readers
# (a queue typed as a function, an SNS event on a mapping, a runtime on a queue).
TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function", "AWS::SQS::Queue",
         "AWS::Lambda::EventSourceMapping", "AWS::Lambda::Alias", "AWS::Lambda::Version",
         "AWS::SNS::Topic", "AWS::SNS::Subscription", "AWS::Events::Rule",
         "AWS::Lambda::EventInvokeConfig", "AWS::IAM::Role", "AWS::Kinesis::Stream")
KEYS = ("Type", "Properties", "Events", "Queue", "Topic", "Timeout", "MemorySize",
        "Runtime", "Architectures", "ReservedConcurrentExecutions", "BatchSize",
        "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "ScalingConfig",
        "MaximumConcurrency", "ProvisionedPollerConfig", "MinimumPollers",
        "MaximumPollers", "ProvisionedConcurrencyConfig", "ProvisionedConcurrentExecutions",
        "SnapStart", "ApplyOn", "CapacityProviderConfig", "VisibilityTimeout",
        "MessageRetentionPeriod", "RedrivePolicy", "deadLetterTargetArn",
        "maxReceiveCount", "FifoQueue", "QueueName", "FunctionName", "EventSourceArn",
        "Enabled", "FilterCriteria", "Filters", "Pattern", "FilterPolicy",
        "FilterPolicyScope", "SqsSubscription", "Subscription", "Protocol", "Endpoint",
        "TopicArn", "Targets", "Arn", "RetryPolicy", "MaximumRetryAttempts",
        "MaximumEventAgeInSeconds", "DeadLetterConfig", "DeadLetterQueue", "TargetArn",
        "EventInvokeConfig", "DestinationConfig", "OnSuccess", "OnFailure", "Destination",
        "EventBusName", "EventPattern", "ContentBasedDeduplication", "FifoTopic",
        "Parameters", "Default", "Globals", "Function", "Resources", "Conditions",
        "AWSTemplateFormatVersion", "Transform", "resources", "kind", "target")
# ... and the sections and fields of a scenario file, read off the Scenario itself
KEYS += tuple(dict.fromkeys(
    [f.name for f in dataclasses.fields(Scenario)] +
    [g.name for f in dataclasses.fields(Scenario) if f.default_factory is not dataclasses.MISSING
     for g in dataclasses.fields(f.default_factory)]))
WORDS = ("SQS", "SNS", "Api", "HttpApi", "EventBridgeRule", "CloudWatchEvent", "DynamoDB",
         "ReportBatchItemFailures", "PublishedVersions", "python3.13", "python3.9",
         "nodejs22.x", "provided.al2", "provided.al2023", "java21", "ruby3.3", "cobol1",
         "x86_64", "arm64", "sqs", "lambda", "email", "MessageBody", "MessageAttributes",
         "true", "false", "True", "yes", "no", "null", "~", "", " ", "nan", "NaN", "inf",
         "-inf", "1e309", "-1e309", "1e-400", "-1", "0", "10", "30", "0x10", "1_000",
         "1:30", "2024-13-45", "AWS::NoValue", "AWS::Region", "q.fifo", "default",
         "arn:aws:sqs:us-east-1:123456789012:orders",
         "arn:aws:sqs:us-east-1:123456789012:orders.fifo",
         "arn:aws:lambda:us-east-1:123456789012:function:worker:live",
         "arn:aws:sns:us-east-1:123456789012:topic", "arn:", "arn:aws:lambda",
         "${Jobs.Arn}", "${Missing.Arn}", "${", '{"a": [1]}', '{"type": ["order"]}',
         "[1, 2]", "{}", '{"deadLetterTargetArn": 5, "maxReceiveCount": "x"}',
         "line one\nline two", "ünïcödé", "a" * 300, "sqs", "api", "poisson", "constant",
         "burst", "diurnal", "trace", "queue", "function", "source", "topic", "bus",
         "mapping", "lognormal", "exponential", "environment", "invocation",
         "~nobody-here/trace.csv", "trace\x00.csv", "/etc", "../../x.csv")
NUMBERS = (0, -1, 1, 2, 10, 11, 1001, 10**6, 2**31, 2**63, 10**30, 10**400, -(10**400),
           0.5, -0.0, 1e-320, 1e308, -1e308, math.inf, -math.inf, math.nan)


def scalars(ids: list[str]) -> st.SearchStrategy:
    """One scalar value: numbers at and beyond every limit, words of templates, the
    logical ids of the document being mutated, and anything else."""
    return st.one_of(
        st.sampled_from(NUMBERS),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(WORDS + TYPES + KEYS),
        st.sampled_from(ids) if ids else st.just("Missing"),
        st.text(max_size=12),
        st.booleans(),
        st.none(),
    )


def values(ids: list[str]) -> st.SearchStrategy:
    """A value of any shape: scalars, small lists and mappings, intrinsics, deep nests."""
    leaf = scalars(ids)
    nested = st.recursive(leaf, lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS + tuple(ids)), inner, max_size=3),
        intrinsics(inner, ids),
    ), max_leaves=6)
    deep = st.builds(Nest, st.sampled_from([2, 99, 100, 101, 500, 1000, 5000]),
                     st.sampled_from(["list", "dict"]))
    return st.integers(0, 8).flatmap(lambda i: deep if i == 0 else leaf if i < 5 else nested)


def intrinsics(args: st.SearchStrategy, ids: list[str]) -> st.SearchStrategy:
    """An intrinsic function with arguments of any shape (mostly wrong ones), e.g.
    ``{"Ref": ["A", "B"]}``, ``{"Fn::GetAtt": 5}``, ``{"Fn::If": [1]}``."""
    ident = st.sampled_from(ids) if ids else st.just("Missing")
    right_ish = st.one_of(
        st.builds(lambda i: {"Ref": i}, ident),
        st.builds(lambda i, a: {"Fn::GetAtt": [i, a]}, ident,
                  st.sampled_from(["Arn", "QueueName", "Version", 5])),
        st.builds(lambda i: {"Fn::GetAtt": f"{i}.Arn"}, ident),
        st.builds(lambda i: {"Fn::Sub": f"${{{i}.Arn}}"}, ident),
        st.builds(lambda i: {"Fn::Sub": [f"${{{i}.Arn}}", {"x": 1}]}, ident),
    )
    return st.one_of(
        st.builds(lambda k, a: {k: a}, st.sampled_from(INTRINSICS), args),
        right_ish,
        st.builds(lambda k, a, b: {k: a, "Ref": b}, st.sampled_from(INTRINSICS), args, args),
    )


def _paths(doc, prefix=()) -> list[tuple]:
    """Every position in ``doc`` (the root is ``()``), containers before their items."""
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += _paths(value, (*prefix, i))
    return found


def _get(doc, path):
    for step in path:
        doc = doc[step]
    return doc


def _set(doc, path, value):
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _ids(doc) -> list[str]:
    resources = doc.get("Resources") if isinstance(doc, dict) else None
    return [k for k in resources if isinstance(k, str)] if isinstance(resources, dict) else []


def _resource_ids(doc) -> list:
    resources = doc.get("Resources") if isinstance(doc, dict) else None
    return list(resources) if isinstance(resources, dict) else []


MUTATIONS = ("drop", "replace", "replace", "wrap", "insert", "rename", "duplicate",
             "properties-list", "retype", "parameter")


@st.composite
def mutate(draw, doc):
    """One random change to ``doc`` (changed in place where possible; returns the doc)."""
    kind = draw(st.sampled_from(MUTATIONS))
    ids = _ids(doc)
    resources = _resource_ids(doc)
    if kind in ("rename", "duplicate", "properties-list", "retype") and resources:
        lid = draw(st.sampled_from(resources))
        table = doc["Resources"]
        if kind == "rename":
            new = draw(st.one_of(st.sampled_from(ids + ["", "a.b", "${x}", "1", "Ünï",
                                                        "x" * 200, "line\nbreak"]),
                                 st.integers(-3, 3), st.none(), st.text(max_size=8)))
            table[new] = table.pop(lid)
        elif kind == "duplicate":
            table[f"{lid}Copy" if isinstance(lid, str) else f"{lid!r}-copy"] = \
                copy.deepcopy(table[lid])
        elif kind == "properties-list" and isinstance(table[lid], dict):
            props = table[lid].get("Properties")
            table[lid]["Properties"] = draw(st.sampled_from(
                [[props], list(props) if isinstance(props, dict) else [], "Properties"]))
        elif kind == "retype" and isinstance(table[lid], dict):
            table[lid]["Type"] = draw(st.sampled_from(TYPES))
        return doc
    if kind == "parameter" and isinstance(doc, dict):
        params = doc.get("Parameters")
        if not isinstance(params, dict):
            params = doc["Parameters"] = {}
        name = draw(st.sampled_from(["P", "TimeoutParam", "Stage"] + ids))
        params[name] = draw(st.one_of(
            st.builds(lambda d: {"Type": "String", "Default": d}, values(ids)),
            values(ids)))
        paths = [p for p in _paths(doc) if p and p[0] != "Parameters"]
        if paths:
            doc = _set(doc, draw(st.sampled_from(paths)), {"Ref": name})
        return doc
    paths = _paths(doc)
    path = draw(st.sampled_from(paths))
    if kind == "drop":
        if path:
            parent = _get(doc, path[:-1])
            del parent[path[-1]]
        return doc
    if kind == "insert":
        target = _get(doc, path)
        if isinstance(target, dict):
            target[draw(st.sampled_from(KEYS))] = draw(values(ids))
        elif isinstance(target, list):
            target.insert(draw(st.integers(0, len(target))), draw(values(ids)))
        return doc
    if kind == "wrap":
        return _set(doc, path, draw(intrinsics(st.one_of(st.just(_get(doc, path)),
                                                         values(ids)), ids)))
    return _set(doc, path, draw(values(ids)))  # replace


@st.composite
def mutants(draw, max_changes: int = 4, fixtures: dict | None = None):
    """A fixture (a template unless ``fixtures`` says otherwise) with one to
    ``max_changes`` random changes."""
    fixtures = FIXTURES if fixtures is None else fixtures
    name = draw(st.sampled_from(sorted(fixtures)))
    doc = copy.deepcopy(fixtures[name])
    for _ in range(draw(st.integers(1, max_changes))):
        doc = draw(mutate(doc))
    return doc


@st.composite
def wrong_intrinsics(draw):
    """A fixture with one value (a leaf or a whole section) in an intrinsic function."""
    name = draw(st.sampled_from(sorted(FIXTURES)))
    doc = copy.deepcopy(FIXTURES[name])
    ids = _ids(doc)
    path = draw(st.sampled_from([p for p in _paths(doc) if p]))
    arg = draw(st.one_of(st.just(_get(doc, path)), values(ids)))
    return _set(doc, path, draw(intrinsics(st.just(arg), ids)))


# How many examples: the profile's (tests/conftest.py: ci 25, derandomized; explore 150;
# deep 10,000). A run's time varies with what the mutant asks for: no deadline.
FUZZ = settings(deadline=None)


# -- the properties --------------------------------------------------------------------

def test_the_fixtures_are_read():
    assert len(FIXTURES) >= 20
    assert {"data/sam-good.yaml", "data/cfn-plain.json", "data/app-fanout.yaml",
            "broken/ref-list.yaml", "broken/cdk-alias.json"} <= set(FIXTURES)
    assert {"scenarios/default.yaml", "scenarios/async-orders.yaml"} <= set(SCENARIOS)
    assert {"tiny", "templates/orders-traffic.yaml"} <= set(OVERLAYS)


@FUZZ
@given(doc=mutants(), short=st.booleans())
def test_a_mutated_template_never_crashes(doc, short):
    check_document(doc, short)


@FUZZ
@given(doc=wrong_intrinsics(), short=st.booleans())
def test_an_intrinsic_with_wrong_arguments_never_crashes(doc, short):
    check_document(doc, short)


@FUZZ
@given(doc=mutants(max_changes=1), short=st.booleans())
def test_one_change_to_a_template_never_crashes(doc, short):
    check_document(doc, short)


# Scenario and overlay fields that set how much is simulated: a mutant keeps a value in
# range (or breaks it) but never asks for hours of traffic, so each run stays short.
_SHORT = {"workload": {"rate_per_s": 1, "burst_rate_per_s": 1, "duration_s": 5,
                       "burst_duration_s": 5},
          "run": {"drain_s": 60}, "account": {"concurrency_limit": 1000}}


def keep_short(overlay):
    """``overlay`` with in-range traffic, drain and concurrency numbers made small (also
    those of an application's resources, e.g. a source's rate)."""
    if not isinstance(overlay, dict):
        return overlay
    resources = overlay.get("resources")
    sections = [(overlay.get(name), limits) for name, limits in _SHORT.items()]
    sections += [(spec, _SHORT["workload"]) for spec in
                 (resources.values() if isinstance(resources, dict) else ())]
    for fields, limits in sections:
        if not isinstance(fields, dict):
            continue
        for name, most in limits.items():
            value = fields.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                    (isinstance(value, int) or math.isfinite(value)) and value > most:
                fields[name] = most
    return overlay


@FUZZ
@given(doc=mutants(max_changes=3, fixtures=SCENARIOS).map(keep_short))
def test_a_mutated_scenario_file_never_crashes(doc):
    check_document(doc)


@FUZZ
@given(overlay=mutants(max_changes=3, fixtures=OVERLAYS).map(keep_short),
       template=st.sampled_from(["sam-good.yaml", "app-fanout.yaml", "params.yaml"]))
def test_a_mutated_overlay_never_crashes(overlay, template):
    with tempfile.TemporaryDirectory(prefix="simlib-fuzz-") as tmp:
        path = Path(tmp) / "overlay.yaml"
        path.write_text(to_yaml(overlay, short=False))
        for application in ([], ["--application"]):
            argv = ["run", str(DATA / template), "--overlay", str(path), *application]
            assert_exit_code(argv, *simlib(*argv))


# -- the issue's inputs, and every crash the fuzzing found ------------------------------

def deep_json(depth: int) -> str:
    return '{"Resources": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


def deep_yaml(depth: int) -> str:
    return "Resources:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(depth)) + \
        "  " * (depth + 1) + "v: 1\n"


SAM = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: app.handler
      Timeout: {timeout}
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: {queue}
  Jobs:
    Type: AWS::SQS::Queue
"""

ISSUE = {
    "timeout-ref-list": SAM.format(timeout="!Ref [A, B]", queue="!GetAtt Jobs.Arn"),
    "queue-ref-mapping": SAM.format(timeout="10", queue="!Ref {a: b}"),
    "json-1000-deep": deep_json(1000),
    "yaml-500-deep": deep_yaml(500),
}


@pytest.mark.parametrize("command", COMMANDS[:2], ids=["lint", "run"])
@pytest.mark.parametrize("name", ISSUE)
def test_the_issue_inputs_are_one_line_and_exit_2(tmp_path, name, command):
    path = tmp_path / (name + (".json" if name.startswith("json") else ".yaml"))
    path.write_text(ISSUE[name])
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(OVERLAY)
    argv = [command[0], str(path), *(str(overlay) if a == "{overlay}" else a
                                     for a in command[1:])]
    code, out, err = simlib(*argv)
    assert_exit_code(argv, code, out, err)
    assert code == 2, err[-3000:]


@pytest.mark.parametrize("name", ["ref-list.yaml", "deep.json", "deep.yaml",
                                  "duplicate-keys.yaml"])
@pytest.mark.parametrize("command", ["lint", "run"])
def test_the_broken_fixtures_of_the_issue_are_one_line_and_exit_2(name, command):
    argv = [command, str(BROKEN / name)]
    code, out, err = simlib(*argv)
    assert_exit_code(argv, code, out, err)
    assert code == 2, err[-3000:]


def dlq_chain(queues: int) -> str:
    """A function reading the first of ``queues`` queues, each the dead-letter queue of
    the one before (JSON: a template generator's output)."""
    resources = {"Worker": {"Type": "AWS::Serverless::Function", "Properties": {
        "Runtime": "python3.13", "Events": {"Jobs": {"Type": "SQS", "Properties": {
            "Queue": {"Fn::GetAtt": ["Q0", "Arn"]}}}}}}}
    for i in range(queues):
        props: dict = {"VisibilityTimeout": 60}
        if i + 1 < queues:
            props["RedrivePolicy"] = {"deadLetterTargetArn": {"Fn::GetAtt": [f"Q{i + 1}", "Arn"]},
                                      "maxReceiveCount": 5}
        resources[f"Q{i}"] = {"Type": "AWS::SQS::Queue", "Properties": props}
    return json.dumps({"Resources": resources})


TOPIC = """\
Resources:
  Orders:
    Type: AWS::SNS::Topic
  Sub:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Orders
      Protocol: {protocol}
      Endpoint: !GetAtt Jobs.Arn
      FilterPolicy: {policy}
  Jobs:
    Type: AWS::SQS::Queue
"""

# The smallest input found for each crash, by where it crashed (file:line at the time,
# the exception). Each must now end in exit 0, 1 or 2 with one error line.
CRASHES = {
    # template.py: a logical id that is not a string (YAML `3:` or `null:`)
    "id-int-sam-function.yaml": (  # TypeError: int + str (generated logical ids)
        "Resources:\n  3:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Runtime: python3.13\n      Events:\n        E:\n          Type: SQS\n"
        "          Properties: {Queue: !GetAtt Q.Arn}\n  Q:\n    Type: AWS::SQS::Queue\n"),
    "id-null-two-queues.yaml": (  # TypeError: None += str (the pipeline's name)
        "Resources:\n  null:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Runtime: python3.13\n      Events:\n"
        "        A: {Type: SQS, Properties: {Queue: !GetAtt Q1.Arn}}\n"
        "        B: {Type: SQS, Properties: {Queue: !GetAtt Q2.Arn}}\n"
        "  Q1: {Type: AWS::SQS::Queue}\n  Q2: {Type: AWS::SQS::Queue}\n"),
    "mapping-id-int-same-queue.yaml": (  # AttributeError: int has no rsplit (_name_part)
        "Resources:\n  F: {Type: AWS::Lambda::Function, Properties: {Runtime: python3.13}}\n"
        "  Q: {Type: AWS::SQS::Queue}\n  0:\n    Type: AWS::Lambda::EventSourceMapping\n"
        "    Properties: {EventSourceArn: !GetAtt Q.Arn, FunctionName: !Ref F}\n  M:\n"
        "    Type: AWS::Lambda::EventSourceMapping\n"
        "    Properties: {EventSourceArn: !GetAtt Q.Arn, FunctionName: !Ref F}\n"),
    "queue-id-int.yaml": (  # TypeError: re.fullmatch on an int (the pipeline's name)
        "Resources:\n  F: {Type: AWS::Lambda::Function, Properties: {Runtime: python3.13}}\n"
        "  3: {Type: AWS::SQS::Queue, Properties: {QueueName: q}}\n  M:\n"
        "    Type: AWS::Lambda::EventSourceMapping\n"
        "    Properties: {EventSourceArn: 'arn:aws:sqs:us-east-1:1:q', FunctionName: !Ref F}\n"),
    "queue-id-zero.yaml": (  # KeyError: ('F', '') (a falsy queue id read as no queue)
        "Resources:\n  F: {Type: AWS::Lambda::Function, Properties: {Runtime: python3.13}}\n"
        "  0: {Type: AWS::SQS::Queue, Properties: {QueueName: q}}\n  M:\n"
        "    Type: AWS::Lambda::EventSourceMapping\n"
        "    Properties: {EventSourceArn: 'arn:aws:sqs:us-east-1:1:q', FunctionName: !Ref F}\n"),
    # template.py: an alias of itself (RecursionError in function_and_qualifier)
    "alias-of-itself.yaml": (
        "Resources:\n  A:\n    Type: AWS::Lambda::Alias\n    Properties: {FunctionName: !Ref A}\n"
        "  Q: {Type: AWS::SQS::Queue}\n  M:\n    Type: AWS::Lambda::EventSourceMapping\n"
        "    Properties: {EventSourceArn: !GetAtt Q.Arn, FunctionName: !Ref A}\n"),
    # template_app.py: a stream mapping with an int logical id beside a skipped SQS event
    # (TypeError: 'in <string>' requires string as left operand, not int)
    "mapping-id-int-beside-skipped.yaml": (
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Runtime: python3.13\n      Events:\n        E: {Type: SQS, Properties: {Queue: 5}}\n"
        "  0:\n    Type: AWS::Lambda::EventSourceMapping\n"
        "    Properties: {EventSourceArn: 'arn:aws:kinesis:us-east-1:1:stream/s', "
        "FunctionName: !Ref F, StartingPosition: LATEST}\n"),
    # template.py: a resource Type that is a mapping (TypeError: unhashable type: 'dict')
    "type-ref.yaml": "Resources:\n  Q:\n    Type: !Ref T\n",
    "type-ref-of-mapped-queue.yaml": (
        "Resources:\n  Q:\n    Type: !Ref T\n  F:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {Runtime: python3.13}\n  M:\n"
        "    Type: AWS::Lambda::EventSourceMapping\n"
        "    Properties: {EventSourceArn: !GetAtt Q.Arn, FunctionName: !Ref F}\n"),
    # template.py (load_document): ValueError from json.loads, Python reads at most
    # 4,300 digits of an integer
    "integer-of-4301-digits.json": ('{"Resources": {"Q": {"Type": "AWS::SQS::Queue", '
                                    '"Properties": {"VisibilityTimeout": ' + "1" * 4301
                                    + "}}}}"),
    # template_app.py: a mapping whose logical id is null (TypeError in _name)
    "mapping-id-null.yaml": (
        "Resources:\n  F: {Type: AWS::Lambda::Function, Properties: {Runtime: python3.13}}\n"
        "  Q: {Type: AWS::SQS::Queue}\n  null:\n    Type: AWS::Lambda::EventSourceMapping\n"
        "    Properties: {EventSourceArn: !GetAtt Q.Arn, FunctionName: !Ref F}\n"),
    # template_app.py: a filter policy string nested deeper than Python's JSON reader
    # recurses (RecursionError), or with an integer Python will not read (ValueError)
    "filter-json-3000-deep.yaml": TOPIC.format(protocol="sqs",
                                               policy="'" + "[" * 3000 + "]" * 3000 + "'"),
    "filter-json-huge-integer.yaml": TOPIC.format(
        protocol="sqs", policy="'{\"a\": [" + "1" * 4301 + "]}'"),
    # template_app.py: a protocol or a filter that is not what it should be
    "protocol-mapping.yaml": TOPIC.format(protocol="{a: [1, 2]}", policy="{}"),
    "filter-list.yaml": TOPIC.format(protocol="sqs", policy="[1, 2]"),
    # scenario_file.py (the YAML loader): ValueError from PyYAML on a date that is none,
    # an integer beyond 4,300 digits or a float no float holds
    "bad-date.yaml": SAM.format(timeout="10", queue="!GetAtt Jobs.Arn") + "Metadata: 2024-13-45\n",
    "integer-of-5000-digits.yaml": SAM.format(timeout="1" * 5000, queue="!GetAtt Jobs.Arn"),
    "hex-integer.yaml": SAM.format(timeout="0x" + "f" * 400, queue="!GetAtt Jobs.Arn"),
    # core/scenario.py (_allowed_text -> _num(None)): a text field given null in a
    # scenario file (TypeError: float() argument must be ... not 'NoneType')
    "scenario-runtime-null.yaml": "function:\n  runtime: null\n",
}


@pytest.mark.parametrize("name", CRASHES)
def test_every_crash_found_is_now_an_answer(tmp_path, name):
    path = tmp_path / name
    path.write_text(CRASHES[name])
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(OVERLAY)
    assert_answers(path, overlay)


def test_a_long_chain_of_dead_letter_queues_is_read_without_recursion(tmp_path):
    """template_app read each queue's dead-letter queue recursively: a chain of 1,000
    queues was a RecursionError (in ``lint`` too, which reads the template as an
    application). ``run --application`` is not run here: simulating the chain takes
    minutes, and core/application.py's ``payload_kb`` still recurses along it."""
    path = tmp_path / "chain.json"
    path.write_text(dlq_chain(1000))
    code, out, err = simlib("lint", str(path))
    assert_exit_code(["lint", str(path)], code, out, err)


@pytest.mark.parametrize("overlay", [
    "workload: [1, 2]\n", "function: 5\n", "handler: text\n", "resources: [a]\n",
    "resources:\n  OrdersQueue-traffic: 5\n", "database: [1]\n",
    "workload:\n  rate_per_s: 1" + "0" * 400 + "\n",
    "function:\n  runtime: null\n",  # core/scenario.py: TypeError in _num(None)
])
def test_an_overlay_of_the_wrong_shape_is_one_line(tmp_path, overlay):
    path = tmp_path / "overlay.yaml"
    path.write_text(overlay)
    for application in ([], ["--application"]):
        argv = ["run", str(DATA / "sam-good.yaml"), "--overlay", str(path), *application]
        code, out, err = simlib(*argv)
        assert_exit_code(argv, code, out, err)
        assert code == 2, err


@pytest.mark.parametrize("value", ["1" + "0" * 400, "1" + "0" * 5000, "2024-13-45",
                                   "!!float abc"])
def test_a_set_value_python_cannot_hold_is_one_line(tmp_path, value):
    """``--set`` reads its value as YAML too: a number no float holds, more digits than
    Python reads, a date that is none."""
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(OVERLAY)
    argv = ["run", str(DATA / "sam-good.yaml"), "--overlay", str(overlay),
            "--set", f"function.memory_mb={value}"]
    code, out, err = simlib(*argv)
    assert_exit_code(argv, code, out, err)
    assert code == 2, err
