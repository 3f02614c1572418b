"""Read the SQS -> Lambda pipelines out of a SAM or CloudFormation template.

Why: an architect already has the template; asking them to copy its numbers into a
scenario invites mistakes. This module reads the template's facts, per pipeline, as the
template states them (a :class:`Pipeline`), without judging them: a function timeout
above the queue's visibility timeout is kept as found, because the linter must be able
to report it, while :meth:`Pipeline.to_scenario` (the model) refuses it as AWS would.

Intrinsic functions are tolerated, not evaluated. The YAML short forms are turned into
the long JSON forms the way cfn-flip does (``!Ref X`` -> ``{"Ref": "X"}``, ``!GetAtt
Q.Arn`` -> ``{"Fn::GetAtt": ["Q", "Arn"]}``, ``!Sub s`` -> ``{"Fn::Sub": s}``). A value
that is a plain ``Ref`` to a parameter takes the parameter's ``Default``; any other
intrinsic value falls back to the AWS default with a note saying so.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simlib.core import limits
from simlib.core.errors import ScenarioError
from simlib.core.runtimes import known_runtimes
from simlib.core.scenario import ConflictError, Scenario
from simlib.whatif.scenario_file import (
    BoundedLoader,
    ScenarioFileError,
    apply_overlay,
    overlay_changes,
    read_text,
    yaml_error,
)

# AWS defaults for what a template leaves out. Sources: CloudFormation User Guide,
# "AWS::Lambda::Function" (MemorySize 128 MB, Timeout 3 s; also "Configure Lambda function
# memory" and "Configure Lambda function timeout" in the Lambda Developer Guide);
# "AWS::SQS::Queue" (VisibilityTimeout 30 s, MessageRetentionPeriod 345,600 s = 4 days);
# "AWS::Lambda::EventSourceMapping" (BatchSize 10 for Amazon SQS,
# MaximumBatchingWindowInSeconds 0). Architecture x86_64 (Lambda Developer Guide,
# "Selecting and configuring an instruction set architecture"). The ranges these values
# must fall in live in simlib.limits and are checked by Scenario.
AWS_DEFAULT_TIMEOUT_S = 3
AWS_DEFAULT_MEMORY_MB = 128
AWS_DEFAULT_ARCHITECTURE = "x86_64"
AWS_DEFAULT_VISIBILITY_TIMEOUT_S = 30
AWS_DEFAULT_RETENTION_S = 345_600
AWS_DEFAULT_SQS_BATCH_SIZE = 10
AWS_DEFAULT_BATCHING_WINDOW_S = 0

# Custom runtimes: the binary could be Go or Rust, which the model tells apart.
PROVIDED_RUNTIMES = ("provided.al2023", "provided.al2")
PROVIDED_DEFAULT = "go"

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
QUEUE_TYPE = "AWS::SQS::Queue"
MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
_TEMPLATE_KEYS = ("Resources", "AWSTemplateFormatVersion", "Transform")


# -- loading ------------------------------------------------------------------------------

class _TemplateLoader(BoundedLoader):
    """SafeLoader that reads CloudFormation short-form tags as their long forms.

    A :class:`~simlib.scenario_file.BoundedLoader`: a template is a file a user points
    at, so it gets the same bounds on aliases and nesting as a scenario file.
    """


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _construct_intrinsic)


class _DuplicateKey(ValueError):
    """A JSON object with a key given twice (json keeps the last one silently)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def load_document(path) -> Any:
    """Parse a template (or any YAML / JSON file) with short tags tolerated.

    JSON when the text starts with ``{``, YAML otherwise; errors name the file and line.
    The file's size, YAML aliases and nesting are bounded (see
    :data:`~simlib.scenario_file.MAX_FILE_BYTES`).
    """
    path = Path(path)
    text = read_text(path)
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text, object_pairs_hook=_unique_keys)
        except _DuplicateKey as exc:
            # JSON is YAML to the bounded loader, which names the key path and both lines
            try:
                yaml.load(text.expandtabs(), Loader=_TemplateLoader)
            except yaml.YAMLError as yexc:
                raise yaml_error(path, yexc) from None
            raise ScenarioFileError(path, str(exc), None, "",
                                    message=f"key {exc} is given twice in one object") from None
        except json.JSONDecodeError as exc:
            raise ScenarioFileError(path, "json", None, exc.msg, line=exc.lineno,
                                    message=f"not valid JSON: {exc.msg}") from None
        except ValueError as exc:  # an integer of more digits than Python converts
            raise ScenarioFileError(path, "json", None, "",
                                    message=f"not valid JSON for a template: {exc}".split(
                                        "; use sys.")[0]) from None
        except RecursionError:  # Python's JSON reader recurses once per nesting level
            raise ScenarioFileError(path, "json", None, "",
                                    message="not valid JSON: nested too deeply for Python's "
                                            "JSON reader (a template nests about a dozen "
                                            "levels)") from None
    try:
        return yaml.load(text, Loader=_TemplateLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None


def is_template(document: Any) -> bool:
    """True for a SAM / CloudFormation template, False for a scenario file."""
    return isinstance(document, dict) and any(key in document for key in _TEMPLATE_KEYS)


# -- the facts ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Pipeline:
    """The raw facts of one SQS -> Lambda pipeline, as the template states them.

    Values are not range-checked here (that is :class:`Scenario`'s job, and the linter's
    to explain). ``max_receive_count`` is None when the queue has no redrive policy.
    ``queue_id`` is None for a queue defined outside the template (then ``queue_name``
    comes from its ARN and the queue's facts are AWS defaults); likewise ``dlq_id`` is
    the dead-letter queue's logical id, or its name when only its ARN is given.
    ``managed_instances`` is the template key of the function's ``CapacityProviderConfig``
    (Lambda Managed Instances) when it has one, else None. ``sources`` says which
    template key each fact came from (``"AWS default"`` when none); ``notes`` explain
    defaults and values that could not be resolved.
    """

    template: str
    name: str
    function_id: str
    queue_id: str | None
    queue_name: str | None
    mapping_id: str
    runtime: str | None
    memory_mb: float
    timeout_s: float
    architecture: str
    reserved_concurrency: int | None
    provisioned_concurrency: int
    snapstart: bool
    batch_size: int
    batching_window_s: float
    report_batch_item_failures: bool
    max_concurrency: int | None
    visibility_timeout_s: float
    retention_s: float
    max_receive_count: int | None
    dlq_id: str | None
    fifo: bool
    managed_instances: str | None = None
    # ProvisionedPollerConfig (provisioned mode), AWS defaults filled in; None: standard
    provisioned_min_pollers: int | None = None
    provisioned_max_pollers: int | None = None
    # whether the dead-letter queue is FIFO (None: no DLQ, or one outside the template)
    dlq_fifo: bool | None = None
    # the dead-letter queue's retention (None: no DLQ, or one outside the template)
    dlq_retention_s: float | None = None
    # whether this pipeline's queue is itself another queue's dead-letter queue
    queue_is_dlq: bool = False
    # a function of another stack (function_id is then its name): not simulated
    function_outside: bool = False
    # facts the template does not let us know (a queue of another stack, a parameter
    # without a default): rules that need them are not checked
    unknown: frozenset[str] = frozenset()
    # the branches taken for conditions that could not be decided, (condition, branch)
    assumed: tuple[tuple[str, bool], ...] = ()
    notes: tuple[str, ...] = ()
    sources: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def queue_label(self) -> str:
        """The queue's logical id, or its name when it lives outside the template."""
        return self.queue_id or self.queue_name or "(unknown queue)"

    def source_of(self, fact: str) -> str:
        """The template key a fact came from, e.g. ``Globals.Function.Timeout``."""
        return dict(self.sources).get(fact, "AWS default")

    def to_scenario(self, overlay: dict | None = None) -> Scenario:
        """A validated :class:`Scenario` for this pipeline, ``overlay`` laid on top.

        Raises :class:`ScenarioFileError` naming the template key when the model cannot
        run the pipeline: a FIFO queue (not simulated), an unknown runtime, or a value AWS
        would reject (for example a function timeout above the visibility timeout).
        """
        overlay = overlay or {}
        if self.function_outside and not (overlay.get("function") or {}).get("runtime"):
            raise Unsupported(
                self.template, f"Resources.{self.mapping_id}", "outside function", "",
                message=f"pipeline {self.name}: function {self.function_id} is not defined "
                        "in this template, so its configuration is unknown: not simulated "
                        "(lint still checks the mapping)")
        if self.managed_instances:
            raise Unsupported(
                self.template, self.managed_instances, "Lambda Managed Instances", "",
                message=managed_instances_refusal(self.function_id, self.managed_instances),
            )
        if self.fifo:
            raise Unsupported(
                self.template, f"Resources.{self.queue_label}", "FIFO queue", "",
                message=f"pipeline {self.name} reads FIFO queue {self.queue_label}; a "
                        "pipeline on its own is a standard queue: run the template with "
                        "--application to simulate FIFO queues (message groups, ordering, "
                        "deduplication). Lint still checks it.",
            )
        overlay_fn = overlay.get("function") or {}
        base = {
            "source": "sqs",
            "queue": {"visibility_timeout_s": self.visibility_timeout_s,
                      "max_receive_count": self.max_receive_count,
                      "retention_s": self.retention_s},
            "mapping": {"batch_size": self.batch_size,
                        "batching_window_s": self.batching_window_s,
                        "max_concurrency": self.max_concurrency,
                        "report_batch_item_failures": self.report_batch_item_failures,
                        "provisioned_min_pollers": self.provisioned_min_pollers,
                        "provisioned_max_pollers": self.provisioned_max_pollers},
            "function": {"runtime": self._runtime(overlay_fn.get("runtime")),
                         "architecture": self.architecture,
                         "memory_mb": self.memory_mb,
                         "timeout_s": self.timeout_s,
                         "reserved_concurrency": self.reserved_concurrency,
                         "provisioned_concurrency": self.provisioned_concurrency,
                         "snapstart": self.snapstart},
        }
        try:
            return Scenario.from_dict(apply_overlay(base, overlay))
        except ScenarioError as exc:
            changes = overlay_changes(overlay)
            set_here = {path: getattr(self, fact) for path, fact in _SCENARIO_TO_FACT.items()
                        if self.source_of(fact) == "--set"}
            if isinstance(exc, ConflictError):  # name the field the user set, if one
                exc = exc.blamed_on({**set_here, **changes})
            fact = _SCENARIO_TO_FACT.get(exc.field)
            key = self.source_of(fact) if fact and exc.field not in changes else "overlay"
            raise ScenarioFileError(
                self.template, f"{exc.field} (from {key}, pipeline {self.name})",
                exc.value, exc.allowed,
            ) from None

    def _runtime(self, override: str | None) -> str:
        if override is not None:
            return override
        key = f"{self.source_of('runtime')} of {self.function_id}"
        if self.runtime is None:
            raise Unsupported(
                self.template, key, None,
                "a Lambda runtime; the function has none (a container image?): set "
                "function.runtime in the overlay",
            )
        runtime, _ = simulated_runtime(self.runtime)
        if runtime is None:
            raise Unsupported(
                self.template, key, self.runtime,
                "one of " + ", ".join(known_runtimes()) + ", " + ", ".join(PROVIDED_RUNTIMES)
                + " (or set function.runtime in the overlay)",
            )
        return runtime

    def with_changes(self, changes: dict) -> Pipeline:
        """This pipeline with template values changed (``--set``), before validation.

        ``changes`` maps a scenario path (``mapping.batching_window_s``) to its new value;
        the value is checked when the pipeline becomes a scenario, and errors name
        ``--set``.
        """
        values, sources = {}, dict(self.sources)
        for path, value in changes.items():
            fact = _SCENARIO_TO_FACT.get(path) or ("runtime" if path == "function.runtime"
                                                   else None)
            if fact is None:
                raise ValueError(f"{path} is not a template value")
            values[fact] = value
            sources[fact] = "--set"
        return dataclasses.replace(self, **values, sources=tuple(sorted(sources.items())),
                                   unknown=self.unknown - set(values))


def simulated_runtime(runtime: str) -> tuple[str | None, str | None]:
    """(the runtime the model simulates for ``runtime``, a note when it is another one).

    ``provided.*`` (a custom runtime: Go or Rust) is simulated as Go; a runtime the cold-
    start data does not have is simulated as the oldest measured one of its language;
    (None, None) when the model knows no runtime of that language.
    """
    if runtime in PROVIDED_RUNTIMES:
        return PROVIDED_DEFAULT, (f"runs on {runtime}, which can be Go or Rust: simulated as "
                                  f"{PROVIDED_DEFAULT} (set function.runtime in the overlay "
                                  "to choose)")
    if runtime in known_runtimes():
        return runtime, None
    family = re.match(r"[a-z]+", runtime)
    # .NET Core (dotnetcore3.1) is the same language as .NET (dotnet8)
    family = {"dotnetcore": "dotnet"}.get(family.group(), family.group()) if family else None
    same = sorted((k for k in known_runtimes() if family and k.startswith(family)),
                  key=lambda k: [int(x) for x in re.findall(r"\d+", k)])
    if not same:
        return None, None
    return same[0], (f"runtime {runtime} has no measured cold start: simulated as {same[0]}, "
                     "the oldest measured one of its language")


def managed_instances_refusal(function_id: str, key: str) -> str:
    """The one-line reason the model cannot run a function on Lambda Managed Instances.

    AWS Lambda Developer Guide, "Lambda Managed Instances: core concepts"
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-core-concepts.html):
    multi-concurrent execution environments on EC2 capacity, scaled asynchronously on CPU
    utilisation rather than per invocation.
    """
    return (f"function {function_id} runs on Lambda Managed Instances ({key}): not "
            "modelled. There one execution environment serves many invocations at once and "
            "capacity scales asynchronously on CPU use, while the model gives each "
            "invocation its own environment (cold starts, one-at-a-time concurrency) and "
            "bills on-demand GB-seconds, so its concurrency, cold-start, throttle and cost "
            "figures would be wrong. Lint still checks the queue and mapping.")


# Scenario field -> Pipeline fact, to name the template key in an error.
_SCENARIO_TO_FACT = {
    "queue.visibility_timeout_s": "visibility_timeout_s",
    "queue.max_receive_count": "max_receive_count",
    "queue.retention_s": "retention_s",
    "mapping.batch_size": "batch_size",
    "mapping.batching_window_s": "batching_window_s",
    "mapping.max_concurrency": "max_concurrency",
    "mapping.provisioned_min_pollers": "provisioned_min_pollers",
    "mapping.provisioned_max_pollers": "provisioned_max_pollers",
    "function.architecture": "architecture",
    "function.memory_mb": "memory_mb",
    "function.timeout_s": "timeout_s",
    "function.reserved_concurrency": "reserved_concurrency",
    "function.provisioned_concurrency": "provisioned_concurrency",
    "function.snapstart": "snapstart",
}


def template_values(section: str) -> list[str]:
    """The fields of a scenario section a template states (``--set`` may change them
    before validation), e.g. ``mapping`` -> batch_size, batching_window_s, ..."""
    paths = list(_SCENARIO_TO_FACT) + ["function.runtime"]
    return [p.split(".", 1)[1] for p in paths if p.startswith(section + ".")]


def is_template_value(path: str) -> bool:
    """Whether a scenario path (``mapping.batch_size``) is a value a template states."""
    return path in _SCENARIO_TO_FACT or path == "function.runtime"


# -- reading ------------------------------------------------------------------------------

_UNSET = object()  # a key the template does not have (or AWS::NoValue)
_SUB_ATTR = re.compile(r"^\$\{([A-Za-z0-9]+)(?:\.([A-Za-z]+))?\}$")


@dataclass
class _Facts:
    """Facts gathered for one pipeline, with where they came from and notes."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)


class Unsupported(ScenarioFileError):
    """A pipeline the model cannot simulate (a container image, Lambda Managed Instances,
    a FIFO queue on its own, a function of another stack); lint still checks it."""


class TemplateError(ScenarioFileError):
    """A template AWS would reject (a malformed intrinsic, a condition that cannot hold)."""


class _Bad(Exception):
    """A malformed intrinsic met while resolving a value; the caller names the key."""


# CloudFormation pseudo parameters (User Guide, "Pseudo parameters reference"). None of
# them has a value before deployment; --parameter may give one (e.g. AWS::Region).
PSEUDO_PARAMETERS = ("AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue",
                     "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName",
                     "AWS::URLSuffix")
# at most this many undecidable conditions are linted branch by branch (2**4 variants);
# the others take their true branch, with a note
MAX_BRANCHED_CONDITIONS = 4


def _arity(arg: Any, n: int) -> bool:
    return isinstance(arg, list) and len(arg) == n


# The argument each intrinsic function takes (CloudFormation User Guide, "Intrinsic
# function reference"): a check that says what is wrong, or None when it is well formed.
_INTRINSIC_ARGS = {
    "Ref": lambda a: None if isinstance(a, str) else "takes a parameter or resource name",
    "Fn::GetAtt": lambda a: None if (isinstance(a, str) and "." in a) or (
        _arity(a, 2) and isinstance(a[0], str)) else "takes [logical id, attribute] or "
                                                     "'LogicalId.Attribute'",
    "Fn::Sub": lambda a: None if isinstance(a, str) or (
        _arity(a, 2) and isinstance(a[0], str) and isinstance(a[1], dict)) else
        "takes a string, or [string, {variable: value}]",
    "Fn::Join": lambda a: None if _arity(a, 2) and isinstance(a[0], str) else
        "takes [delimiter, list of values]",
    "Fn::Select": lambda a: None if _arity(a, 2) else "takes [index, list of values]",
    "Fn::Split": lambda a: None if _arity(a, 2) and isinstance(a[0], str) else
        "takes [delimiter, string]",
    "Fn::If": lambda a: None if _arity(a, 3) and isinstance(a[0], str) else
        "takes [condition name, value if true, value if false]",
    "Fn::ImportValue": lambda a: None if isinstance(a, (str, dict)) else
        "takes an export name",
    "Fn::FindInMap": lambda a: None if isinstance(a, list) and len(a) in (3, 4) else
        "takes [map name, top-level key, second-level key]",
    "Fn::Base64": lambda a: None if not isinstance(a, list) else "takes a string",
    "Fn::GetAZs": lambda a: None if isinstance(a, (str, dict)) else "takes a region",
}


def malformed_intrinsics(document: dict) -> str | None:
    """The first intrinsic function with arguments CloudFormation rejects, as
    ``key path: !Fn takes ...``, or None. Depth is bounded by the loader."""
    stack: list[tuple[Any, str]] = [(document.get("Resources"), "Resources"),
                                    (document.get("Outputs"), "Outputs"),
                                    (document.get("Globals"), "Globals")]
    while stack:
        node, key = stack.pop()
        if isinstance(node, list):
            stack += [(v, f"{key}[{i}]") for i, v in enumerate(node)]
        elif isinstance(node, dict):
            if len(node) == 1:
                (fn, arg), = node.items()
                check = _INTRINSIC_ARGS.get(fn) if isinstance(fn, str) else None
                problem = check(arg) if check else None
                if problem:
                    short = fn.removeprefix("Fn::")
                    return f"{key}: !{short} {problem}, not {arg!r:.60}"
            stack += [(v, f"{key}.{k}") for k, v in node.items()]
    return None


class _Reader:
    """Walks one template document; knows its resources, parameters, conditions and
    Globals.

    ``parameters`` (from ``--parameter Name=Value``) override the template's parameter
    defaults, as ``sam deploy --parameter-overrides`` does. Conditions are decided from
    parameter values where they can be (``Fn::Equals``, ``Fn::Not``, ``Fn::And``,
    ``Fn::Or``, ``Condition``); one that cannot (a parameter without a default, a pseudo
    parameter) is recorded in ``undecided`` and takes the branch ``assume`` gives it
    (true when unset), so that a linter can read the template once per branch.
    """

    def __init__(self, document: dict, path: Path, parameters: dict | None = None,
                 assume: dict | None = None):
        self.path = path
        resources = document.get("Resources")
        if not isinstance(resources, dict) or not resources:
            raise ScenarioFileError(path, "Resources", resources,
                                    "a mapping of logical ids to resources")
        problem = malformed_intrinsics(document)
        if problem:
            raise TemplateError(path, problem.split(":", 1)[0], None, "", message=problem)
        params = document.get("Parameters")
        self.parameters = params if isinstance(params, dict) else {}
        self.overrides = dict(parameters or {})
        for name in self.overrides:
            if name not in self.parameters and name not in PSEUDO_PARAMETERS:
                known = ", ".join(self.parameters) or "none"
                raise ScenarioFileError(
                    path, f"--parameter {name}", self.overrides[name], "",
                    message=f"--parameter {name}: {path} has no parameter {name!r} (its "
                            f"parameters: {known})")
        conditions = document.get("Conditions")
        self.conditions = conditions if isinstance(conditions, dict) else {}
        self.assume = dict(assume or {})
        self.undecided: dict[str, str] = {}  # condition -> why it could not be decided
        self.trail: list[str] = []  # how the last resolved value was arrived at
        glob = document.get("Globals")
        glob_fn = glob.get("Function") if isinstance(glob, dict) else None
        self.globals = glob_fn if isinstance(glob_fn, dict) else {}
        self.resources = {}
        self.excluded: list[str] = []
        for lid, res in resources.items():
            # "The logical ID must be alphanumeric (A-Za-z0-9) and unique within the
            # template" (CloudFormation User Guide, "Resources" section syntax)
            if not isinstance(lid, str) or not re.fullmatch(r"[A-Za-z0-9]+", lid):
                raise TemplateError(path, f"Resources.{lid}", lid,
                                    "a logical id of letters and digits (A-Za-z0-9)")
            if not isinstance(res, dict):
                continue
            if not isinstance(res.get("Type"), str):
                raise TemplateError(path, f"Resources.{lid}.Type", res.get("Type"),
                                    "a resource type name such as AWS::SQS::Queue")
            cond = res.get("Condition")
            if isinstance(cond, str) and self.condition(cond) is False:
                self.excluded.append(f"{lid} (its Condition {cond} is false)")
                continue
            self.resources[lid] = res

    # resources ----------------------------------------------------------------------
    def of_type(self, *types: str) -> list[str]:
        return [lid for lid, res in self.resources.items() if res.get("Type") in types]

    def type_of(self, lid: str | None) -> str | None:
        if not isinstance(lid, str):
            return None
        return self.resources.get(lid, {}).get("Type")

    def props(self, lid: str) -> dict:
        props = self.resources[lid].get("Properties")
        return props if isinstance(props, dict) else {}

    # parameters and conditions ------------------------------------------------------
    def parameter(self, name: str) -> tuple[Any, str | None]:
        """(value, where it came from), or (_UNSET, why not) for a parameter."""
        if name in self.overrides:
            return self.overrides[name], f"--parameter {name}"
        param = self.parameters.get(name)
        if isinstance(param, dict) and "Default" in param:
            return param["Default"], f"Parameters.{name}.Default"
        if isinstance(param, dict):
            return _UNSET, (f"parameter {name} has no Default (give one with --parameter "
                            f"{name}=VALUE)")
        if name in PSEUDO_PARAMETERS:
            return _UNSET, (f"{name} is known only at deployment (give it with --parameter "
                            f"{name}=VALUE)")
        return _UNSET, f"{name} is not a parameter of this template"

    def condition(self, name: Any, seen: tuple = ()) -> bool | None:
        """True / False when the condition can be decided, else None (recorded)."""
        if not isinstance(name, str) or name not in self.conditions:
            raise _Bad(f"condition {name!r} is not in the template's Conditions")
        if name in seen:
            raise _Bad(f"condition {name} refers to itself")
        if name in self.assume:
            return self.assume[name]
        why: list[str] = []
        value = self._truth(self.conditions[name], seen + (name,), why)
        if value is None:
            self.undecided.setdefault(name, why[0] if why else "it cannot be evaluated")
        return value

    def _truth(self, expr: Any, seen: tuple, why: list[str]) -> bool | None:
        if not isinstance(expr, dict) or len(expr) != 1:
            raise _Bad(f"a condition is one of Fn::Equals, Fn::Not, Fn::And, Fn::Or or "
                       f"Condition, not {expr!r}")
        (key, arg), = expr.items()
        if key == "Condition":
            value = self.condition(arg, seen)
            if value is None:
                why.append(self.undecided.get(arg, f"condition {arg} is undecided"))
            return value
        if key == "Fn::Equals":
            if not isinstance(arg, list) or len(arg) != 2:
                raise _Bad("Fn::Equals takes a list of two values")
            a, b = (self._comparable(x, why) for x in arg)
            return None if a is None or b is None else a == b
        if key == "Fn::Not":
            if not isinstance(arg, list) or len(arg) != 1:
                raise _Bad("Fn::Not takes a list of one condition")
            value = self._truth(arg[0], seen, why)
            return None if value is None else not value
        if key in ("Fn::And", "Fn::Or"):
            if not isinstance(arg, list) or not 2 <= len(arg) <= 10:
                raise _Bad(f"{key} takes a list of 2 to 10 conditions")
            values = [self._truth(x, seen, why) for x in arg]
            stop = key == "Fn::Or"  # Or: any True decides; And: any False decides
            if stop in values:
                return stop
            return None if None in values else not stop
        raise _Bad(f"{key} is not a condition function")

    def _comparable(self, value: Any, why: list[str]) -> str | None:
        """A Fn::Equals operand as the string CloudFormation compares, or None."""
        if isinstance(value, dict) and len(value) == 1 and "Ref" in value:
            if not isinstance(value["Ref"], str):
                raise _Bad("Ref takes a parameter or resource name")
            value, how = self.parameter(value["Ref"])
            if value is _UNSET:
                why.append(how)
                return None
        if isinstance(value, dict) and len(value) == 1 and "Condition" in value:
            raise _Bad("Fn::Equals compares values, not conditions")
        if isinstance(value, (dict, list)):
            why.append("it compares values built by intrinsic functions, which are not "
                       "evaluated")
            return None
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return "" if value is None else str(value)

    # values -------------------------------------------------------------------------
    def resolve(self, raw: Any) -> tuple[Any, str | None]:
        """(value, reason-if-unresolved).

        A ``Ref`` to a parameter takes its value (``--parameter``, else its ``Default``);
        ``Fn::If`` takes the branch its condition decides (an undecidable condition the
        branch ``assume`` gives it, true when unset). ``self.trail`` says how. Raises
        :class:`_Bad` for a malformed intrinsic.
        """
        self.trail = []
        return self._resolve(raw)

    def value(self, raw: Any, where: str) -> tuple[Any, str | None]:
        """:meth:`resolve`, a malformed intrinsic reported as a :class:`TemplateError`
        naming ``where``."""
        try:
            return self.resolve(raw)
        except _Bad as exc:
            raise TemplateError(self.path, where, None, "",
                                message=f"{where}: {exc}") from None

    def _resolve(self, raw: Any) -> tuple[Any, str | None]:
        if isinstance(raw, dict) and len(raw) == 1:
            (key, arg), = raw.items()
            if key == "Ref":
                if not isinstance(arg, str):
                    raise _Bad(f"Ref takes a parameter or resource name, not {arg!r}")
                if arg == "AWS::NoValue":
                    return _UNSET, None
                if arg in self.resources:
                    return _UNSET, f"!Ref {arg} (a resource, not a value)"
                value, how = self.parameter(arg)
                if value is _UNSET:
                    return _UNSET, f"!Ref {arg} ({how})"
                self.trail.append(how)
                return value, None
            if key == "Fn::If":
                if not isinstance(arg, list) or len(arg) != 3:
                    raise _Bad("Fn::If takes [condition, value if true, value if false]")
                decided = self.condition(arg[0])
                if decided is None:
                    decided = True
                    self.trail.append(f"condition {arg[0]} undecided "
                                      f"({self.undecided[arg[0]]}): its true branch")
                else:
                    self.trail.append(f"condition {arg[0]} is {str(decided).lower()}")
                return self._resolve(arg[1] if decided else arg[2])
            if key.startswith("Fn::") or key == "Condition":
                return _UNSET, f"{key} (this intrinsic function is not evaluated)"
        return raw, None

    def fact(self, facts: _Facts, name: str, layers: list[tuple[str, dict]], key: str,
             kind, default, unit: str = "", announce: bool = True) -> None:
        """Record fact ``name`` from the first layer that has ``key`` (dotted), else default.

        ``layers`` are (key prefix for messages, mapping) in priority order, e.g. the
        function's Properties before Globals.Function. ``announce`` lists a default in
        the pipeline's notes (not worth it for "absent means off" facts). A value that
        cannot be resolved makes the fact *unknown* (rules that need it are not checked;
        a simulation takes the AWS default, with a note).
        """
        for prefix, mapping in layers:
            where = f"{prefix}.{key}"
            try:
                raw, trail = self.dig(mapping, key)
                if raw is _UNSET:
                    continue
                value, reason = self.resolve(raw)
                self.trail[:0] = trail
            except _Bad as exc:
                raise TemplateError(self.path, where, None, "", message=f"{where}: {exc}") from None
            if value is _UNSET:
                if reason:
                    facts.notes.append(
                        f"{where} is {reason}; unknown: the AWS default "
                        f"{_show(default, unit)} is simulated and rules that need it are "
                        "not checked")
                    facts.unknown.add(name)
                break
            facts.values[name] = self.convert(value, kind, where)
            # the key, and the parameter it refers to (lint's locations keep the key only)
            facts.sources[name] = " -> ".join(
                [where] + [t for t in self.trail if t.startswith(("Parameters.", "--parameter"))])
            if self.trail:
                facts.notes.append(f"{where} = {_show(facts.values[name], unit)} from "
                                   + ", then ".join(self.trail))
            return
        else:
            if announce and default is not None:
                facts.defaults.append(f"{key.split('.')[-1]} {_show(default, unit)}")
        if kind in (int, float) and default is not None:
            default = kind(default)
        facts.values[name] = default

    def dig(self, mapping: Any, dotted: str) -> tuple[Any, list[str]]:
        """(mapping["A"]["B"] for "A.B", how): an ``Fn::If`` met on the way
        (``ScalingConfig: !If [Big, {...}, {...}]``) takes its branch, as :meth:`resolve`
        does; another intrinsic is returned as it is, for the caller to note."""
        trail: list[str] = []
        for part in dotted.split("."):
            while isinstance(mapping, dict) and len(mapping) == 1 and "Fn::If" in mapping:
                mapping, _ = self.resolve(mapping)
                trail += self.trail
                if mapping is _UNSET:
                    return _UNSET, trail
            if _is_function(mapping):
                return mapping, trail
            if not isinstance(mapping, dict) or part not in mapping:
                return _UNSET, trail
            mapping = mapping[part]
        return mapping, trail

    def convert(self, value: Any, kind, where: str):
        """Template scalars may be strings ("30", "true"); anything else is an error."""
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
        elif kind is str:
            if isinstance(value, str):
                return value
        elif kind is list:
            if isinstance(value, list):
                return value
        elif not isinstance(value, bool):
            try:
                number = float(value)
            except (TypeError, ValueError, OverflowError):
                number = None
            if number is not None and math.isfinite(number):
                return int(number) if kind is int and number.is_integer() else number
        wanted = {bool: "true or false", str: "a string", int: "an integer",
                  list: "a list"}.get(kind, "a number")
        raise TemplateError(self.path, where, value, wanted)

    # references ---------------------------------------------------------------------
    def text(self, raw: Any, depth: int = 0) -> str | None:
        """The string an expression stands for, references kept symbolic.

        A reference to a resource becomes ``${Lid}`` (its Ref) or ``${Lid.Attr}`` (a
        GetAtt), as in ``Fn::Sub``; a parameter becomes its value. ``Fn::Sub``,
        ``Fn::Join``, ``Fn::Select`` and ``Fn::Split`` are evaluated on that text, so the
        names CDK builds (``Fn::Join`` of ``Fn::Select`` of ``Fn::Split`` of a function's
        ARN) and redrive policies written as JSON strings can be read. None when the
        expression cannot be turned into text.
        """
        if depth > 20:
            return None
        if isinstance(raw, str):
            return raw
        if isinstance(raw, bool) or raw is None:
            return None
        if isinstance(raw, (int, float)):
            return str(int(raw)) if float(raw).is_integer() else str(raw)
        if not isinstance(raw, dict) or len(raw) != 1:
            return None
        (key, arg), = raw.items()
        if key == "Ref" and isinstance(arg, str):
            if arg in self.resources:
                return "${" + arg + "}"
            value, _ = self.parameter(arg)
            return None if value is _UNSET else self.text(value, depth + 1)
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and len(parts) == 2 and all(
                    isinstance(x, str) for x in parts):
                return "${" + ".".join(parts) + "}"
            return None
        if key == "Fn::Sub":
            template, variables = (arg + [{}])[:2] if isinstance(arg, list) else (arg, {})
            if not isinstance(template, str) or not isinstance(variables, dict):
                return None

            def one(match: re.Match) -> str:
                name = match.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                if name in variables:
                    return self.text(variables[name], depth + 1) or match.group(0)
                if "." not in name and name in self.parameters:
                    value, _ = self.parameter(name)
                    return match.group(0) if value is _UNSET else str(value)
                return match.group(0)

            return re.sub(r"\$\{([^}]*)\}", one, template)
        if key == "Fn::Join":
            if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)
                    and isinstance(arg[1], list)):
                return None
            parts = [self.text(x, depth + 1) for x in arg[1]]
            return None if None in parts else arg[0].join(parts)
        if key == "Fn::Select":
            if not (isinstance(arg, list) and len(arg) == 2):
                return None
            items = self._list(arg[1], depth + 1)
            index = self.text(arg[0], depth + 1)
            if items is None or index is None or not index.isdigit() or \
                    int(index) >= len(items):
                return None
            return self.text(items[int(index)], depth + 1)
        return None

    def _list(self, raw: Any, depth: int) -> list | None:
        """A list an expression stands for (a literal, or ``Fn::Split`` of a text)."""
        if isinstance(raw, list):
            return raw
        if isinstance(raw, dict) and len(raw) == 1 and "Fn::Split" in raw:
            arg = raw["Fn::Split"]
            if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)
                    and arg[0]):
                return None
            source = arg[1]
            text = self._arn(source) or self.text(source, depth + 1)
            return None if text is None else text.split(arg[0])
        return None

    def _arn(self, raw: Any) -> str | None:
        """The ARN of a Lambda function or SQS queue of this template, symbolically
        (``arn:partition:lambda:region:account:function:${Fn}``),
        so that ``Fn::Split`` and ``Fn::Select`` can take it apart as CDK does."""
        if not (isinstance(raw, dict) and len(raw) == 1 and "Fn::GetAtt" in raw):
            return None
        text = self.text(raw)
        match = _SUB_ATTR.match(text or "")
        if not match or match.group(2) != "Arn":
            return None
        lid = match.group(1)
        head = "arn:partition:{}:region:account:"  # the parts CDK selects are the last
        if self.type_of(lid) in FUNCTION_TYPES:
            return head.format("lambda") + "function:${" + lid + "}"
        if self.type_of(lid) == QUEUE_TYPE:
            return head.format("sqs") + "${" + lid + ".QueueName}"
        return None

    def target(self, raw: Any) -> tuple[str | None, str | None]:
        """(logical id, name) a Ref / GetAtt / Sub / Join / ARN string points at.

        The logical id when the expression names a resource of this template, else the
        resource name parsed from a literal ARN (or a bare name), for matching
        ``QueueName`` / ``FunctionName`` or for describing an outside resource.
        """
        lid, name, _ = self.target_qualified(raw)
        return lid, name

    def target_qualified(self, raw: Any) -> tuple[str | None, str | None, str | None]:
        """(logical id, name, qualifier): the qualifier is the alias or version a
        function reference names (``${Fn}:live``, an ARN ending ``:live``), else None."""
        if isinstance(raw, dict) and len(raw) == 1:
            (key, arg), = raw.items()
            if key == "Ref" and isinstance(arg, str) and arg.endswith(".Alias"):
                return arg.removesuffix(".Alias"), None, "alias"  # SAM's FunctionName.Alias
        text = self.text(raw)
        if text is None:
            return None, None, None
        match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.([A-Za-z.]+))?\}(?::([A-Za-z0-9$_-]+))?",
                             text)
        if match and match.group(1) in self.resources:
            lid, attr, qualifier = match.groups()
            if attr in (None, "Arn", "AliasArn", "QueueName", "QueueUrl", "TopicArn",
                        "TopicName", "Name", "Version"):
                return lid, None, qualifier
        name = _arn_name(text)
        qualifier = None
        parts = text.split(":")
        if text.startswith("arn:") and len(parts) >= 8 and parts[2] == "lambda":
            qualifier = parts[7]
        elif not text.startswith("arn:") and len(parts) == 2:
            name, qualifier = parts
        if name is None or "${" in name or (qualifier and "${" in qualifier):
            return None, None, None  # e.g. an ARN whose name is a resource's attribute
        return None, name, qualifier

    def by_name(self, name: str | None, types: tuple[str, ...], key: str) -> str | None:
        """The logical id of the resource of ``types`` whose ``key`` property is ``name``."""
        if not name:
            return None
        for lid in self.of_type(*types):
            try:
                value, _ = self.resolve(self.props(lid).get(key, _UNSET))
            except _Bad:
                continue
            if value == name:
                return lid
        return None

    def queue_of(self, raw: Any) -> tuple[str | None, str | None]:
        """(queue logical id, queue name) for an SQS event's Queue / EventSourceArn.

        A queue outside the template gives (None, its name) — its ARN's last part, or a
        description such as ``!ImportValue shared-jobs`` — and (None, None) means the
        expression names something that is not a queue.
        """
        lid, name = self.target(raw)
        if lid is not None:
            return (lid, None) if self.type_of(lid) == QUEUE_TYPE else (None, None)
        lid = self.by_name(name, (QUEUE_TYPE,), "QueueName")
        if lid is not None:
            return lid, None
        text = self.text(raw) or ""
        if name and "${" not in name and ":sqs:" in text:
            return None, name  # a queue that lives outside this template
        return None, _outside(raw)

    def function_of(self, raw: Any) -> str | None:
        """The function a mapping's FunctionName points at (Ref, GetAtt, alias, name)."""
        return self.function_and_qualifier(raw)[0]

    def function_and_qualifier(self, raw: Any, seen: tuple = ()
                               ) -> tuple[str | None, str | None]:
        """(function logical id, the alias or version invoked: its logical id, ``alias``
        for SAM's AutoPublishAlias, or a name; None for the unqualified function)."""
        lid, name, qualifier = self.target_qualified(raw)
        if lid is not None and self.type_of(lid) in ("AWS::Lambda::Alias",
                                                     "AWS::Lambda::Version"):
            if lid in seen:  # an alias of itself (CloudFormation rejects the cycle)
                raise TemplateError(self.path, f"Resources.{lid}.Properties.FunctionName",
                                    None, "", message=f"Resources.{lid}.Properties."
                                    "FunctionName: the alias or version refers to itself "
                                    "(a circular dependency CloudFormation rejects)")
            fid, _ = self.function_and_qualifier(self.props(lid).get("FunctionName"),
                                                 seen + (lid,))
            return fid, lid
        if lid is not None:
            return (lid, qualifier) if self.type_of(lid) in FUNCTION_TYPES else (None, None)
        return self.by_name(name, FUNCTION_TYPES, "FunctionName"), qualifier


def _outside(raw: Any) -> str | None:
    """How an expression naming a resource of another stack reads (``!ImportValue X``,
    ``!Ref Param``), or None when it is not such an expression."""
    if isinstance(raw, dict) and len(raw) == 1:
        (key, arg), = raw.items()
        if key == "Fn::ImportValue":
            return f"!ImportValue {arg}" if isinstance(arg, str) else "!ImportValue (built)"
        if key == "Ref" and isinstance(arg, str):
            return f"!Ref {arg}"
    return None


def _dig(mapping: Any, dotted: str) -> Any:
    """mapping["A"]["B"] for "A.B", or _UNSET.

    An intrinsic function met on the way (``ScalingConfig: !If [...]``) is returned
    as it is, so that the caller notes it instead of silently taking the default.
    """
    for part in dotted.split("."):
        if _is_function(mapping):
            return mapping
        if not isinstance(mapping, dict) or part not in mapping:
            return _UNSET
        mapping = mapping[part]
    return mapping


def _is_function(value: Any) -> bool:
    return (isinstance(value, dict) and len(value) == 1
            and next(iter(value)).startswith("Fn::"))


def _arn_name(text: str) -> str | None:
    """'arn:aws:sqs:us-east-1:123:orders' -> 'orders'; a function ARN -> the function name."""
    if not text.startswith("arn:"):
        return text or None
    parts = text.split(":")
    if len(parts) >= 7 and parts[2] == "lambda":
        return parts[6]  # arn:aws:lambda:region:account:function:NAME[:alias]
    return parts[-1] or None


def _show(value, unit: str) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = f"{value:,}"
    return f"{value} {unit}".strip() if value is not None else "(none)"


@dataclass(frozen=True)
class _Link:
    """One SQS -> function connection found in the template.

    ``function_id`` is the function's logical id, or, for a function of another stack,
    its name (``function_outside`` True); ``qualifier`` the alias or version the mapping
    invokes (None: the unqualified function).
    """

    function_id: str
    queue_id: str | None
    queue_name: str | None
    mapping_id: str
    prefix: str  # key path of the mapping's properties, for sources and messages
    properties: dict
    qualifier: str | None = None
    function_outside: bool = False


# A mapping with one of these reads a stream or broker, not SQS (CloudFormation User Guide,
# "AWS::Lambda::EventSourceMapping": StartingPosition is for Kinesis, DynamoDB and Kafka;
# Topics for Kafka; Queues for Amazon MQ; SelfManagedEventSource for self-managed Kafka).
_NOT_SQS_KEYS = ("StartingPosition", "Topics", "Queues", "SelfManagedEventSource",
                 "AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig",
                 "DocumentDBEventSourceConfig")
_STREAM_TYPES = {"AWS::Kinesis::Stream": "a Kinesis stream",
                 "AWS::DynamoDB::Table": "a DynamoDB stream",
                 "AWS::MSK::Cluster": "an Amazon MSK topic",
                 "AWS::AmazonMQ::Broker": "an Amazon MQ broker",
                 "AWS::DocDB::DBCluster": "a DocumentDB change stream",
                 "AWS::Kinesis::StreamConsumer": "a Kinesis stream consumer"}


def _links(reader: _Reader) -> tuple[list[_Link], list[str]]:
    """Every SQS event and event source mapping, and why any were skipped.

    A queue or function of another stack (an ``!ImportValue``, a parameter, an ARN) is
    linked with its facts unknown; only a mapping that reads a stream or broker, or
    whose function or queue cannot be told at all, is skipped, with the reason.
    """
    links, skipped = [], []
    for fid in reader.of_type("AWS::Serverless::Function"):
        events = reader.props(fid).get("Events")
        for event, spec in (events.items() if isinstance(events, dict) else ()):
            if not isinstance(spec, dict) or spec.get("Type") != "SQS":
                continue
            props = spec.get("Properties") if isinstance(spec.get("Properties"), dict) else {}
            qid, qname = reader.queue_of(props.get("Queue"))
            prefix = f"Resources.{fid}.Properties.Events.{event}.Properties"
            if qid is None and qname is None:
                qname = "(a queue this template cannot tell)"
                skipped.append(f"{prefix}.Queue: cannot tell which queue; the function and "
                               "mapping are still checked")
            # SAM binds event sources to the alias when the function has AutoPublishAlias
            # (SAM "AutoPublishAlias": "event sources ... point to the alias")
            alias = reader.props(fid).get("AutoPublishAlias")
            links.append(_Link(fid, qid, qname, f"{fid}.Events.{event}", prefix, props,
                               qualifier="alias" if alias else None))
    for mid in reader.of_type(MAPPING_TYPE):
        props = reader.props(mid)
        prefix = f"Resources.{mid}.Properties"
        source = props.get("EventSourceArn")
        qid, qname = reader.queue_of(source)
        if qid is None:
            lid, _ = reader.target(source)
            kind = _STREAM_TYPES.get(reader.type_of(lid) or "")
            not_sqs = [k for k in _NOT_SQS_KEYS if k in props]
            if kind or not_sqs or (qname is None and source is not None):
                continue  # a stream or broker: named by unmodelled_features
            if qname is None:
                qname = "(a queue this template cannot tell)"
                skipped.append(f"{prefix}.EventSourceArn: cannot tell which queue; the "
                               "function and mapping are still checked")
        fid, qualifier = reader.function_and_qualifier(props.get("FunctionName"))
        outside = False
        if fid is None:
            _, name, qualifier = reader.target_qualified(props.get("FunctionName"))
            fid = name or _outside(props.get("FunctionName"))
            outside = True
            if fid is None:
                skipped.append(f"Resources.{mid}: cannot tell which function its "
                               "FunctionName names; not checked")
                continue
        links.append(_Link(fid, qid, qname, mid, prefix, props, qualifier=qualifier,
                           function_outside=outside))
    return links, skipped


_ANY_QUALIFIER = object()  # _function_facts: any alias's provisioned concurrency counts
# the facts of a function of another stack: not known from this template
FUNCTION_FACTS = ("runtime", "memory_mb", "timeout_s", "architecture", "reserved_concurrency",
                  "provisioned_concurrency", "snapstart", "managed_instances")
QUEUE_FACTS = ("visibility_timeout_s", "retention_s", "max_receive_count", "fifo",
               "dlq_fifo", "dlq_retention_s", "queue_is_dlq")


def _outside_function_facts(link: _Link, facts: _Facts) -> None:
    """A function of another stack: every function fact unknown, AWS defaults simulated."""
    facts.values.update(runtime=None, memory_mb=AWS_DEFAULT_MEMORY_MB,
                        timeout_s=float(AWS_DEFAULT_TIMEOUT_S),
                        architecture=AWS_DEFAULT_ARCHITECTURE, reserved_concurrency=None,
                        provisioned_concurrency=0, snapstart=False, managed_instances=None)
    facts.unknown.update(FUNCTION_FACTS)
    facts.notes.append(f"function {link.function_id} is not defined in this template: its "
                       "timeout, memory, runtime and concurrency are unknown, and the rules "
                       "that need them are not checked; it cannot be simulated")


def _function_facts(reader: _Reader, fid: str, facts: _Facts,
                    qualifier: Any = _ANY_QUALIFIER) -> None:
    """The function's facts. ``qualifier`` is what the mapping invokes (see
    :meth:`_Reader.function_and_qualifier`): provisioned concurrency counts only when the
    mapping invokes the alias or version that has it (Lambda Developer Guide, "Configuring
    provisioned concurrency": it is set on an alias or version, and invocations of
    ``$LATEST`` or another alias do not use it)."""
    props = reader.props(fid)
    layers = [(f"Resources.{fid}.Properties", props)]
    if reader.type_of(fid) == "AWS::Serverless::Function":
        layers.append(("Globals.Function", reader.globals))
    reader.fact(facts, "runtime", layers, "Runtime", str, None)
    reader.fact(facts, "memory_mb", layers, "MemorySize", int, AWS_DEFAULT_MEMORY_MB, "MB")
    reader.fact(facts, "timeout_s", layers, "Timeout", float, AWS_DEFAULT_TIMEOUT_S, "s")
    reader.fact(facts, "architectures", layers, "Architectures", list,
                [AWS_DEFAULT_ARCHITECTURE], announce=False)
    archs = facts.values.pop("architectures")
    where = facts.sources.pop("architectures", "Architectures")
    try:
        arch, reason = reader.resolve(archs[0] if archs else AWS_DEFAULT_ARCHITECTURE)
    except _Bad as exc:
        raise TemplateError(reader.path, f"{where}[0]", None, "",
                            message=f"{where}[0]: {exc}") from None
    if where != "Architectures":
        facts.sources["architecture"] = where
    if reason:
        facts.notes.append(f"{where}[0] is {reason}; {AWS_DEFAULT_ARCHITECTURE} is assumed")
    facts.values["architecture"] = reader.convert(
        AWS_DEFAULT_ARCHITECTURE if reason else arch, str, f"{where}[0]")
    reader.fact(facts, "reserved_concurrency", layers, "ReservedConcurrentExecutions", int,
                None)
    _provisioned_concurrency(reader, fid, facts, layers, qualifier)
    reader.fact(facts, "snapstart_apply_on", layers, "SnapStart.ApplyOn", str, None,
                announce=False)
    facts.values["snapstart"] = facts.values.pop("snapstart_apply_on") == "PublishedVersions"
    if "snapstart_apply_on" in facts.sources:
        facts.sources["snapstart"] = facts.sources.pop("snapstart_apply_on")
    # Lambda Managed Instances: the function names a capacity provider (EC2 capacity) in
    # CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig. CloudFormation
    # User Guide, "AWS::Lambda::Function CapacityProviderConfig",
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-capacityproviderconfig.html
    facts.values["managed_instances"] = None
    for prefix, mapping in layers:
        raw = _dig(mapping, "CapacityProviderConfig")
        if raw is not _UNSET and raw != {"Ref": "AWS::NoValue"}:
            facts.values["managed_instances"] = f"{prefix}.CapacityProviderConfig"
            break
    runtime = facts.values["runtime"]
    if isinstance(runtime, str):
        _, note = simulated_runtime(runtime)
        if note:
            facts.notes.append(f"{fid} {note}")


def _provisioned_concurrency(reader: _Reader, fid: str, facts: _Facts, layers,
                             qualifier: Any) -> None:
    """SAM sets provisioned concurrency on the function (for its AutoPublishAlias); plain
    CloudFormation on an ``AWS::Lambda::Alias`` or ``AWS::Lambda::Version``."""
    pc_key = "ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions"
    any_alias = qualifier is _ANY_QUALIFIER
    facts.values["provisioned_concurrency"] = 0
    found: list[tuple[str, str, dict]] = []  # (label, key prefix, properties)
    if _dig(layers[0][1], pc_key) is not _UNSET or (
            len(layers) > 1 and _dig(layers[1][1], pc_key) is not _UNSET):
        alias, _ = reader.resolve(reader.props(fid).get("AutoPublishAlias"))
        found.append((f"alias {alias}" if isinstance(alias, str) else "its alias",
                      "alias", {}))
        if any_alias or qualifier in ("alias", alias):
            reader.fact(facts, "provisioned_concurrency", layers, pc_key, int, 0,
                        announce=False)
            return
    for lid in reader.of_type("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        props = reader.props(lid)
        if "ProvisionedConcurrencyConfig" not in props or \
                reader.function_of(props.get("FunctionName")) != fid:
            continue
        name, _ = reader.resolve(props.get("Name"))
        found.append((f"{lid}", lid, props))
        if any_alias or qualifier in (lid, name):
            reader.fact(facts, "provisioned_concurrency",
                        [(f"Resources.{lid}.Properties", props)], pc_key, int, 0)
            return
    if found:
        what = qualifier if isinstance(qualifier, str) else "the unqualified function"
        facts.notes.append(
            f"{fid} has provisioned concurrency on {', '.join(f[0] for f in found)}, but "
            f"this mapping invokes {what}: its provisioned environments are not used "
            "(provisioned concurrency serves only the alias or version it is set on)")


def _mapping_facts(reader: _Reader, link: _Link, facts: _Facts) -> None:
    layers = [(link.prefix, link.properties)]
    reader.fact(facts, "batch_size", layers, "BatchSize", int, AWS_DEFAULT_SQS_BATCH_SIZE)
    reader.fact(facts, "batching_window_s", layers, "MaximumBatchingWindowInSeconds", float,
                AWS_DEFAULT_BATCHING_WINDOW_S, "s")
    reader.fact(facts, "max_concurrency", layers, "ScalingConfig.MaximumConcurrency", int,
                None)
    # ProvisionedPollerConfig turns provisioned mode on; a key it leaves out takes AWS's
    # SQS default, 2 minimum and 200 maximum event pollers
    # (https://docs.aws.amazon.com/lambda/latest/api/API_ProvisionedPollerConfig.html).
    where = f"{link.prefix}.ProvisionedPollerConfig"
    config, reason = reader.value(link.properties.get("ProvisionedPollerConfig", _UNSET), where)
    if reason:
        facts.notes.append(f"{where} is {reason}; standard mode is assumed")
    if isinstance(config, dict):
        reader.fact(facts, "provisioned_min_pollers", layers,
                    "ProvisionedPollerConfig.MinimumPollers", int,
                    limits.PROVISIONED_MIN_POLLERS_DEFAULT, announce=False)
        reader.fact(facts, "provisioned_max_pollers", layers,
                    "ProvisionedPollerConfig.MaximumPollers", int,
                    limits.PROVISIONED_MAX_POLLERS_DEFAULT, announce=False)
    else:
        facts.values["provisioned_min_pollers"] = None
        facts.values["provisioned_max_pollers"] = None
    where = f"{link.prefix}.FunctionResponseTypes"
    types, reason = reader.value(link.properties.get("FunctionResponseTypes", []), where)
    if reason:
        facts.notes.append(f"{where} is {reason}; ReportBatchItemFailures is assumed off")
        facts.unknown.add("report_batch_item_failures")
    rbif = isinstance(types, list) and "ReportBatchItemFailures" in types
    facts.values["report_batch_item_failures"] = rbif
    if rbif:
        facts.sources["report_batch_item_failures"] = where
    if link.properties.get("FilterCriteria") not in (None, _UNSET):
        facts.notes.append(f"{link.prefix}.FilterCriteria is not simulated for a pipeline on "
                           "its own (every message reaches the function); read the template "
                           "with --application to simulate the filter")
    enabled, _ = reader.value(link.properties.get("Enabled", True), f"{link.prefix}.Enabled")
    if enabled is False or (isinstance(enabled, str) and enabled.lower() == "false"):
        facts.notes.append(f"{link.prefix}.Enabled is false: the mapping is disabled in "
                           "the template; the model runs it as if enabled")


def _queue_facts(reader: _Reader, link: _Link, facts: _Facts) -> None:
    facts.values["dlq_fifo"] = None
    facts.values["dlq_retention_s"] = None
    facts.values["queue_is_dlq"] = False
    if link.queue_id is None:
        facts.notes.append(
            f"queue {link.queue_name} is not defined in this template: its visibility "
            "timeout, retention and redrive policy are unknown, and the rules that need "
            "them are not checked; a simulation assumes AWS defaults (30 s visibility, "
            "4 days retention, no dead-letter queue)"
        )
        facts.unknown.update(QUEUE_FACTS)
        props, prefix = {}, "(outside queue)"
    else:
        props, prefix = reader.props(link.queue_id), f"Resources.{link.queue_id}.Properties"
        facts.values["queue_is_dlq"] = any(
            _dlq_of(reader, qid)[0][0] == link.queue_id for qid in reader.of_type(QUEUE_TYPE))
    layers = [(prefix, props)]
    announce = link.queue_id is not None  # an outside queue's defaults are said above
    reader.fact(facts, "visibility_timeout_s", layers, "VisibilityTimeout", float,
                AWS_DEFAULT_VISIBILITY_TIMEOUT_S, "s", announce=announce)
    reader.fact(facts, "retention_s", layers, "MessageRetentionPeriod", float,
                AWS_DEFAULT_RETENTION_S, "s", announce=announce)
    reader.fact(facts, "fifo", layers, "FifoQueue", bool, False, announce=False)
    name = link.queue_name
    if link.queue_id is not None:
        name_value, _ = reader.value(props.get("QueueName"), f"{prefix}.QueueName")
        name = name_value if isinstance(name_value, str) else None
    # A FIFO queue's name must end in .fifo, so either sign is enough (SQS Developer Guide,
    # "Amazon SQS FIFO queues").
    facts.values["fifo"] = facts.values["fifo"] or bool(name and name.endswith(".fifo"))
    facts.values["queue_name"] = name
    facts.values["max_receive_count"] = None
    facts.values["dlq_id"] = None
    if link.queue_id is None:
        return
    (dlq, dlq_name), policy, policy_key = _dlq_of(reader, link.queue_id, facts)
    if policy is None:
        return
    reader.fact(facts, "max_receive_count", [(policy_key, policy)], "maxReceiveCount", int,
                None)
    facts.values["dlq_id"] = dlq or dlq_name
    if dlq is not None and reader.type_of(dlq) == QUEUE_TYPE:
        dprops = reader.props(dlq)
        flag, _ = reader.value(dprops.get("FifoQueue", False), f"Resources.{dlq}.Properties")
        dname, _ = reader.value(dprops.get("QueueName"), f"Resources.{dlq}.Properties")
        facts.values["dlq_fifo"] = (flag is True or str(flag).lower() == "true"
                                    or (isinstance(dname, str) and dname.endswith(".fifo")))
        dfacts = _Facts()
        reader.fact(dfacts, "retention_s", [(f"Resources.{dlq}.Properties", dprops)],
                    "MessageRetentionPeriod", float, AWS_DEFAULT_RETENTION_S, "s")
        facts.values["dlq_retention_s"] = dfacts.values["retention_s"]
        if "retention_s" in dfacts.sources:
            facts.sources["dlq_retention_s"] = dfacts.sources["retention_s"]
        facts.unknown.update("dlq_retention_s" for _ in dfacts.unknown)
    else:
        facts.unknown.update(("dlq_fifo", "dlq_retention_s"))


def _dlq_of(reader: _Reader, qid: str, facts: _Facts | None = None
            ) -> tuple[tuple[str | None, str | None], dict | None, str]:
    """((DLQ logical id, DLQ name), the redrive policy as a mapping, its key) of queue
    ``qid``; ((None, None), None, key) when it has none.

    The policy may be a mapping, a JSON string, or a JSON string built with ``Fn::Sub`` or
    ``Fn::Join`` (CloudFormation accepts each), e.g.
    ``!Sub '{"deadLetterTargetArn": "${DLQ.Arn}", "maxReceiveCount": 5}'``.
    """
    key = f"Resources.{qid}.Properties.RedrivePolicy"
    raw = reader.props(qid).get("RedrivePolicy", _UNSET)
    none = ((None, None), None, key)
    if raw is _UNSET:
        return none
    if isinstance(raw, dict) and len(raw) == 1 and next(iter(raw)) in ("Fn::Sub", "Fn::Join"):
        policy: Any = reader.text(raw)
        if policy is None:
            if facts is not None:
                facts.notes.append(f"{key} is built in a way that is not evaluated; its "
                                   "dead-letter queue is unknown")
                facts.unknown.update(("max_receive_count", "dlq_fifo", "dlq_retention_s"))
            return none
    else:
        policy, reason = reader.value(raw, key)
        if reason:
            if facts is not None:
                facts.notes.append(f"{key} is {reason}; its dead-letter queue is unknown")
                facts.unknown.update(("max_receive_count", "dlq_fifo", "dlq_retention_s"))
            return none
    if isinstance(policy, str):  # CloudFormation also takes the policy as a JSON string
        try:
            policy = json.loads(policy)
        except (json.JSONDecodeError, RecursionError):
            raise TemplateError(reader.path, key, policy,
                                "a mapping or a JSON object string") from None
    if not isinstance(policy, dict):
        raise TemplateError(reader.path, key, policy, "a mapping or a JSON object string")
    arn = policy.get("deadLetterTargetArn")
    if isinstance(arn, str) and "${" in arn:
        arn = {"Fn::Sub": arn}
    return reader.target(arn), policy, key


def _read_pipelines(reader: _Reader, skipped: list[str] | None = None,
                    require: bool = True) -> list[Pipeline]:
    links, why_skipped = _links(reader)
    if skipped is not None:
        skipped += why_skipped
    if not links and not require:
        return []
    if not links:
        why = ("; skipped: " + "; ".join(why_skipped)) if why_skipped else ""
        raise ScenarioFileError(
            reader.path, "Resources", None, "",
            message="no SQS -> Lambda pipeline found: expected an AWS::Serverless::Function "
                    "with an Events entry of Type SQS, or an AWS::Lambda::EventSourceMapping "
                    "from an SQS queue to a function" + why + " (to simulate its topics, "
                    "EventBridge rules and asynchronous invocations, add --application)",
        )
    per_function: dict[str, int] = {}
    per_pair: dict[tuple, int] = {}
    for link in links:
        per_function[link.function_id] = per_function.get(link.function_id, 0) + 1
        pair = (link.function_id, link.queue_id or link.queue_name)
        per_pair[pair] = per_pair.get(pair, 0) + 1
    found = []
    for link in links:
        facts = _Facts()
        if link.function_outside:
            _outside_function_facts(link, facts)
        else:
            _function_facts(reader, link.function_id, facts, link.qualifier)
        _mapping_facts(reader, link, facts)
        _queue_facts(reader, link, facts)
        if facts.defaults:
            facts.notes.insert(0, "AWS defaults for what the template leaves out: "
                                  + ", ".join(facts.defaults))
        name = link.function_id
        queue = link.queue_id or link.queue_name or ""
        if per_pair[(link.function_id, queue)] > 1 or not re.fullmatch(r"[\w.-]+", queue):
            name += "-" + _name_part(link.mapping_id)
        elif per_function[link.function_id] > 1:
            name += "-" + queue
        found.append(Pipeline(
            template=str(reader.path), name=name, function_id=link.function_id,
            queue_id=link.queue_id, mapping_id=link.mapping_id,
            function_outside=link.function_outside,
            notes=tuple(facts.notes), sources=tuple(sorted(facts.sources.items())),
            unknown=frozenset(facts.unknown),
            assumed=tuple(sorted(reader.assume.items())),
            **facts.values,
        ))
    return found


def _name_part(text: str) -> str:
    """A mapping id as part of a pipeline name (SAM's ``Fn.Events.E`` -> ``E``)."""
    return text.rsplit(".", 1)[-1]


def pipelines(document: dict, path, parameters: dict | None = None,
              assume: dict | None = None) -> list[Pipeline]:
    """The pipelines of an already parsed template (see :func:`read_template`).

    ``parameters`` override parameter defaults (``--parameter``); a condition that cannot
    be decided takes the branch ``assume`` gives it, its true branch when unset.
    """
    return _read_pipelines(_Reader(document, Path(path), parameters, assume))


@dataclass(frozen=True)
class Reading:
    """A template read for lint and run: its pipelines and what the reading assumed.

    ``pipelines`` take each undecidable condition's true branch; ``variants`` are the
    template read once per combination of undecidable conditions (one variant, the same
    as ``pipelines``, when every condition could be decided). ``notes`` are the
    template's own: resources left out by a false condition, conditions that could not
    be decided, mappings skipped and features the model does not simulate.
    """

    pipelines: list[Pipeline]
    variants: list[tuple[tuple[tuple[str, bool], ...], list[Pipeline]]]
    notes: list[str]
    undecided: dict[str, str]


def read(document: dict, path, parameters: dict | None = None,
         require: bool = True) -> Reading:
    """Read a parsed template: every pipeline, per branch of undecidable conditions.

    ``require``: a template without an SQS -> Lambda pipeline is an error (``run``); when
    False (``lint``, which still checks topics, rules and asynchronous functions) it
    reads as no pipelines, with a note.
    """
    path = Path(path)
    reader = _Reader(document, path, parameters)
    skipped: list[str] = []
    found = _read_pipelines(reader, skipped, require)
    undecided = dict(reader.undecided)
    notes = [f"left out: {x}" for x in reader.excluded]
    branched = sorted(undecided)[:MAX_BRANCHED_CONDITIONS]
    for name in sorted(undecided):
        fate = ("lint checks both of its branches" if name in branched else
                f"more than {MAX_BRANCHED_CONDITIONS} such conditions: only its true "
                "branch is checked")
        notes.append(f"condition {name} cannot be decided ({undecided[name]}): {fate}; "
                     "run simulates its true branch")
    notes += [f"skipped: {x}" for x in skipped]
    if not found:
        notes.append("no SQS -> Lambda pipeline in this template: the pipeline rules have "
                     "nothing to check")
    notes += unmodelled_features(reader)
    variants: list = [((), found)]
    if branched:
        variants = []
        for values in itertools.product((True, False), repeat=len(branched)):
            assume = dict(zip(branched, values))
            variants.append((tuple(sorted(assume.items())), _read_pipelines(
                _Reader(document, path, parameters, assume), require=require)))
    return Reading(found, variants, notes, undecided)


# SAM event types the model simulates, per pipeline (SQS) or with --application
_SAM_EVENTS_PIPELINE = ("SQS",)
_SAM_EVENTS_APPLICATION = ("SNS", "EventBridgeRule", "CloudWatchEvent", "Api", "HttpApi")
_NOT_MODELLED_TYPES = {
    "AWS::StepFunctions::StateMachine": "a Step Functions state machine",
    "AWS::Serverless::StateMachine": "a Step Functions state machine",
    "AWS::Pipes::Pipe": "an EventBridge pipe",
    "AWS::Scheduler::Schedule": "an EventBridge Scheduler schedule",
    "AWS::Kinesis::Stream": "a Kinesis stream",
    "AWS::DynamoDB::Table": "a DynamoDB table (its streams and capacity)",
    "AWS::ApiGateway::UsagePlan": "an API Gateway usage plan (its throttle and quota)",
}


def unmodelled_features(reader: _Reader) -> list[str]:
    """One note per feature of the template the model does not simulate, by key path."""
    notes = []
    for lid in reader.of_type(MAPPING_TYPE):
        props = reader.props(lid)
        source, _ = reader.target(props.get("EventSourceArn"))
        kind = _STREAM_TYPES.get(reader.type_of(source) or "")
        if kind is None and any(k in props for k in _NOT_SQS_KEYS):
            kind = "a stream or broker"
        if kind:
            notes.append(f"not simulated: Resources.{lid} is an event source mapping from "
                         f"{kind}; the model simulates SQS mappings only")
    for fid in reader.of_type(*FUNCTION_TYPES):
        props = reader.props(fid)
        prefix = f"Resources.{fid}.Properties"
        if "DurableConfig" in props:
            notes.append(f"not simulated: {prefix}.DurableConfig (Lambda durable functions: "
                         "checkpointed, resumable executions); the model runs each "
                         "invocation once from the start")
        events = props.get("Events")
        for event, spec in (events.items() if isinstance(events, dict) else ()):
            kind = spec.get("Type") if isinstance(spec, dict) else None
            if kind in _SAM_EVENTS_PIPELINE:
                continue
            if kind in _SAM_EVENTS_APPLICATION:
                notes.append(f"{prefix}.Events.{event} ({kind}) is simulated only when the "
                             "template is read as one application (--application)")
            else:
                notes.append(f"not simulated: {prefix}.Events.{event} ({kind} events)")
    for lid, res in reader.resources.items():
        kind = _NOT_MODELLED_TYPES.get(res.get("Type"))
        if kind:
            notes.append(f"not simulated: Resources.{lid} ({kind})")
        props = reader.props(lid)
        if res.get("Type") in ("AWS::Serverless::Api", "AWS::ApiGateway::Stage"):
            settings = props.get("MethodSettings")
            if any(isinstance(m, dict) and any(k.startswith("Throttling") for k in m)
                   for m in (settings if isinstance(settings, list) else [])):
                notes.append(f"not simulated: Resources.{lid}.Properties.MethodSettings "
                             "throttling (API Gateway's own rate and burst limits)")
        if res.get("Type") == "AWS::Serverless::HttpApi" and isinstance(
                props.get("DefaultRouteSettings"), dict):
            notes.append(f"not simulated: Resources.{lid}.Properties.DefaultRouteSettings "
                         "throttling (API Gateway's own rate and burst limits)")
    return notes


# Names SAM generates from a resource of the template, which other resources may Ref
# (SAM Developer Guide, "Generated CloudFormation resources"): a function's Role,
# Version, Alias<name>, Url and per-event resources are "<logical id><suffix>", an API's
# stage "<logical id><stage>Stage", and the implicit APIs have fixed names.
_SAM_IMPLICIT = ("ServerlessRestApi", "ServerlessHttpApi", "ServerlessDeploymentApplication",
                 "CodeDeployServiceRole")
_SAM_SUFFIXES = ("Role", "Alias", "Version", "Url", "EventInvokeConfig", "Deployment",
                 "DeploymentGroup", "ApiKey", "UsagePlan", "DomainName", "BasePathMapping",
                 "RecordSetGroup", "Policy", "Permission", "Stage")
_SAM_TYPES_PREFIX = "AWS::Serverless::"


def reference_errors(document: dict) -> list[tuple[str, str, str]]:
    """(resource, key path, message) for each ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``
    variable or condition name that names nothing in the template.

    CloudFormation rejects such a template ("Unresolved resource dependencies", "Template
    format error: Unresolved dependencies"), as cfn-lint's E1012 / E1010 / E1019 rules
    report. Known names: parameters, resources, pseudo parameters, a ``Fn::Sub``'s own
    variables, and for a SAM template the resources SAM generates from its own (by
    logical-id prefix). With the ``AWS::LanguageExtensions`` transform (``Fn::ForEach``
    makes names at deployment) only names without a loop placeholder are checked.
    """
    resources = document.get("Resources")
    if not isinstance(resources, dict):
        return []
    params = document.get("Parameters")
    params = params if isinstance(params, dict) else {}
    conditions = document.get("Conditions")
    conditions = conditions if isinstance(conditions, dict) else {}
    transform = document.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    sam = any(isinstance(t, str) and t.startswith("AWS::Serverless") for t in transforms)
    extensions = "AWS::LanguageExtensions" in transforms
    generated: list[str] = list(_SAM_IMPLICIT)  # prefixes of what SAM generates
    for lid, r in resources.items():
        if isinstance(r, dict) and str(r.get("Type", "")).startswith(_SAM_TYPES_PREFIX):
            generated += [f"{lid}{x}" for x in _SAM_SUFFIXES]
            props = r.get("Properties")
            events = props.get("Events") if isinstance(props, dict) else None
            generated += [f"{lid}{e}" for e in (events if isinstance(events, dict) else ())]

    def known(name: str, attribute: bool) -> bool:
        if name in resources or (not attribute and (name in params
                                                    or name in PSEUDO_PARAMETERS)):
            return True
        if extensions and ("${" in name or "&{" in name):
            return True
        if sam:
            if name.endswith((".Alias", ".Version", ".DestinationTopic", ".DestinationQueue")):
                return name.rsplit(".", 1)[0] in resources
            return name.startswith(tuple(generated)) or (
                name.endswith("Stage") and name.startswith(tuple(
                    g for g in generated if g.endswith("Deployment")) or ()))
        return False

    found: list[tuple[str, str, str]] = []

    def walk(node: Any, key: str, resource: str, local: frozenset = frozenset()) -> None:
        if len(found) >= 50:
            return
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{key}[{i}]", resource, local)
            return
        if not isinstance(node, dict):
            return
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref" and isinstance(arg, str) and not known(arg, False) and \
                    arg not in local:
                found.append((resource, key, f"{key}: !Ref {arg} names no parameter or "
                                             "resource of this template"))
                return
            if fn == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                if isinstance(parts, list) and parts and isinstance(parts[0], str) and \
                        not known(parts[0], True):
                    found.append((resource, key, f"{key}: !GetAtt {parts[0]}... names no "
                                                 "resource of this template"))
                return
            if fn == "Fn::Sub":
                text, variables = (arg + [{}])[:2] if isinstance(arg, list) else (arg, {})
                variables = variables if isinstance(variables, dict) else {}
                for name in re.findall(r"\$\{([^}!][^}]*)\}", text if isinstance(text, str)
                                       else ""):
                    base = name.split(".", 1)[0]
                    if name in variables or base in local:
                        continue
                    if not known(name if "." not in name else base, "." in name):
                        found.append((resource, key, f"{key}: !Sub ${{{name}}} names no "
                                                     "parameter or resource of this template"))
                walk(variables, f"{key}.Fn::Sub[1]", resource, local)
                return
            if fn in ("Fn::If", "Condition") and not extensions:
                name = arg[0] if fn == "Fn::If" and isinstance(arg, list) and arg else arg
                if isinstance(name, str) and name not in conditions:
                    found.append((resource, key, f"{key}: condition {name} is not in the "
                                                 "template's Conditions"))
        for k, v in node.items():
            walk(v, f"{key}.{k}", resource, local)

    for lid, res in resources.items():
        if not isinstance(res, dict):
            continue
        for part in ("Properties", "DependsOn", "Condition"):
            if part in res:
                if part == "DependsOn":
                    deps = res[part] if isinstance(res[part], list) else [res[part]]
                    for d in deps:
                        if isinstance(d, str) and not known(d, True):
                            found.append((lid, f"Resources.{lid}.DependsOn",
                                          f"Resources.{lid}.DependsOn: {d} is not a resource "
                                          "of this template"))
                elif part == "Condition":
                    if isinstance(res[part], str) and res[part] not in conditions:
                        found.append((lid, f"Resources.{lid}.Condition",
                                      f"Resources.{lid}.Condition: {res[part]} is not in "
                                      "the template's Conditions"))
                else:
                    walk(res[part], f"Resources.{lid}.{part}", lid)
    for section in ("Outputs", "Conditions"):
        block = document.get(section)
        if isinstance(block, dict):
            for name, value in block.items():
                walk(value, f"{section}.{name}", name)
    glob = document.get("Globals")
    if isinstance(glob, dict):
        walk(glob, "Globals", "Globals")
    return found


def read_template(path) -> list[Pipeline]:
    """Every SQS -> Lambda pipeline of a SAM or CloudFormation template (YAML or JSON).

    Raises :class:`ScenarioFileError` for a file that cannot be parsed, is not a
    template, or has no SQS -> Lambda pipeline.
    """
    path = Path(path)
    document = load_document(path)
    if not is_template(document):
        raise ScenarioFileError(
            path, "template", None, "",
            message="not a SAM / CloudFormation template (no Resources, "
                    "AWSTemplateFormatVersion or Transform at the top level)",
        )
    return pipelines(document, path)
