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

import json
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
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioFileError(path, "json", None, exc.msg, line=exc.lineno,
                                    message=f"not valid JSON: {exc.msg}") from None
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
        if self.managed_instances:
            raise ScenarioFileError(
                self.template, self.managed_instances, "Lambda Managed Instances", "",
                message=managed_instances_refusal(self.function_id, self.managed_instances),
            )
        if self.fifo:
            raise ScenarioFileError(
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
            if isinstance(exc, ConflictError):  # name the overlay's field, if it set one
                exc = exc.blamed_on(changes)
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
            raise ScenarioFileError(
                self.template, key, None,
                "a Lambda runtime; the function has none (a container image?): set "
                "function.runtime in the overlay",
            )
        if self.runtime in PROVIDED_RUNTIMES:
            return PROVIDED_DEFAULT
        if self.runtime not in known_runtimes():
            raise ScenarioFileError(
                self.template, key, self.runtime,
                "one of " + ", ".join(known_runtimes()) + ", " + ", ".join(PROVIDED_RUNTIMES)
                + " (or set function.runtime in the overlay)",
            )
        return self.runtime


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


class _Reader:
    """Walks one template document; knows its resources, parameters and Globals."""

    def __init__(self, document: dict, path: Path):
        self.path = path
        resources = document.get("Resources")
        if not isinstance(resources, dict):
            raise ScenarioFileError(path, "Resources", resources,
                                    "a mapping of logical ids to resources")
        self.resources = {k: v for k, v in resources.items() if isinstance(v, dict)}
        params = document.get("Parameters")
        self.parameters = params if isinstance(params, dict) else {}
        glob = document.get("Globals")
        glob_fn = glob.get("Function") if isinstance(glob, dict) else None
        self.globals = glob_fn if isinstance(glob_fn, dict) else {}

    # resources ----------------------------------------------------------------------
    def of_type(self, *types: str) -> list[str]:
        return [lid for lid, res in self.resources.items() if res.get("Type") in types]

    def type_of(self, lid: str | None) -> str | None:
        return self.resources.get(lid, {}).get("Type") if lid else None

    def props(self, lid: str) -> dict:
        props = self.resources[lid].get("Properties")
        return props if isinstance(props, dict) else {}

    # values -------------------------------------------------------------------------
    def resolve(self, raw: Any) -> tuple[Any, str | None]:
        """(value, reason-if-unresolved); a plain Ref to a parameter takes its Default."""
        if isinstance(raw, dict) and len(raw) == 1:
            (key, arg), = raw.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return _UNSET, None
                param = self.parameters.get(arg)
                if isinstance(param, dict) and "Default" in param:
                    return param["Default"], None
                if isinstance(param, dict):
                    return _UNSET, f"!Ref {arg} (a parameter with no Default)"
                return _UNSET, f"!Ref {arg} (not a parameter of this template)"
            if key.startswith("Fn::") or key == "Condition":
                return _UNSET, f"{key} (intrinsic functions are not evaluated)"
        return raw, None

    def fact(self, facts: _Facts, name: str, layers: list[tuple[str, dict]], key: str,
             kind, default, unit: str = "", announce: bool = True) -> None:
        """Record fact ``name`` from the first layer that has ``key`` (dotted), else default.

        ``layers`` are (key prefix for messages, mapping) in priority order, e.g. the
        function's Properties before Globals.Function. ``announce`` lists a default in
        the pipeline's notes (not worth it for "absent means off" facts).
        """
        for prefix, mapping in layers:
            raw, where = _dig(mapping, key), f"{prefix}.{key}"
            if raw is _UNSET:
                continue
            value, reason = self.resolve(raw)
            if reason is None and isinstance(raw, dict) and "Ref" in raw:
                where += f" -> Parameters.{raw['Ref']}.Default"
            if value is _UNSET:
                if reason:
                    facts.notes.append(
                        f"{where} is {reason}; the AWS default {_show(default, unit)} is assumed"
                    )
                break
            facts.values[name] = self.convert(value, kind, where)
            facts.sources[name] = where
            return
        else:
            if announce and default is not None:
                facts.defaults.append(f"{key.split('.')[-1]} {_show(default, unit)}")
        if kind in (int, float) and default is not None:
            default = kind(default)
        facts.values[name] = default

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
            except (TypeError, ValueError):
                number = None
            if number is not None:
                return int(number) if kind is int and number.is_integer() else number
        wanted = {bool: "true or false", str: "a string", int: "an integer",
                  list: "a list"}.get(kind, "a number")
        raise ScenarioFileError(self.path, where, value, wanted)

    # references ---------------------------------------------------------------------
    def target(self, raw: Any) -> tuple[str | None, str | None]:
        """(logical id, name) a Ref / GetAtt / Sub / ARN string points at.

        The logical id when the expression names a resource of this template, else the
        resource name parsed from a literal ARN (or a bare name), for matching
        ``QueueName`` / ``FunctionName`` or for describing an outside resource.
        """
        if isinstance(raw, dict) and len(raw) == 1:
            (key, arg), = raw.items()
            if key == "Ref" and arg in self.resources:
                return arg, None
            if key == "Ref" and isinstance(arg, str) and arg.endswith(".Alias"):
                return arg.removesuffix(".Alias"), None  # SAM's FunctionName.Alias reference
            if key == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                if isinstance(parts, list) and parts and parts[0] in self.resources:
                    return parts[0], None
            if key == "Fn::Sub":
                match = _SUB_ATTR.match(self.text_of(raw) or "")
                if match and match.group(1) in self.resources:
                    return match.group(1), None
        text = self.text_of(raw)
        return None, (_arn_name(text) if text else None)

    def text_of(self, raw: Any) -> str | None:
        """The string an expression stands for: a literal, a Sub's template, a parameter."""
        if isinstance(raw, dict) and "Fn::Sub" in raw:
            raw = raw["Fn::Sub"][0] if isinstance(raw["Fn::Sub"], list) else raw["Fn::Sub"]
        else:
            raw = self.resolve(raw)[0]
        return raw if isinstance(raw, str) else None

    def by_name(self, name: str | None, types: tuple[str, ...], key: str) -> str | None:
        """The logical id of the resource of ``types`` whose ``key`` property is ``name``."""
        if not name:
            return None
        for lid in self.of_type(*types):
            value, _ = self.resolve(self.props(lid).get(key, _UNSET))
            if value == name:
                return lid
        return None

    def queue_of(self, raw: Any) -> tuple[str | None, str | None]:
        """(queue logical id, queue name) for an SQS event's Queue / EventSourceArn."""
        lid, name = self.target(raw)
        if lid is not None:
            return (lid, None) if self.type_of(lid) == QUEUE_TYPE else (None, None)
        lid = self.by_name(name, (QUEUE_TYPE,), "QueueName")
        if lid is not None:
            return lid, None
        if name and "${" not in name and ":sqs:" in (self.text_of(raw) or ""):
            return None, name  # a queue that lives outside this template
        return None, None

    def function_of(self, raw: Any) -> str | None:
        """The function a mapping's FunctionName points at (Ref, GetAtt, alias, name)."""
        lid, name = self.target(raw)
        if lid is not None and self.type_of(lid) in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
            lid, name = self.target(self.props(lid).get("FunctionName"))
        if lid is not None:
            return lid if self.type_of(lid) in FUNCTION_TYPES else None
        return self.by_name(name, FUNCTION_TYPES, "FunctionName")


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
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = f"{value:,}"
    return f"{value} {unit}".strip() if value is not None else "(none)"


@dataclass(frozen=True)
class _Link:
    """One SQS -> function connection found in the template."""

    function_id: str
    queue_id: str | None
    queue_name: str | None
    mapping_id: str
    prefix: str  # key path of the mapping's properties, for sources and messages
    properties: dict


def _links(reader: _Reader) -> tuple[list[_Link], list[str]]:
    """Every SQS event and event source mapping, and why any were skipped."""
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
                skipped.append(f"{prefix}.Queue: cannot tell which queue")
                continue
            links.append(_Link(fid, qid, qname, f"{fid}.Events.{event}", prefix, props))
    for mid in reader.of_type(MAPPING_TYPE):
        props = reader.props(mid)
        qid, qname = reader.queue_of(props.get("EventSourceArn"))
        if qid is None and qname is None:
            continue  # Kinesis, DynamoDB, Kafka, ...: not an SQS pipeline
        fid = reader.function_of(props.get("FunctionName"))
        if fid is None:
            skipped.append(f"Resources.{mid}: its FunctionName is not a function of this "
                           "template")
            continue
        links.append(_Link(fid, qid, qname, mid, f"Resources.{mid}.Properties", props))
    return links, skipped


def _function_facts(reader: _Reader, fid: str, facts: _Facts) -> None:
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
    arch, reason = reader.resolve(archs[0] if archs else AWS_DEFAULT_ARCHITECTURE)
    if "architectures" in facts.sources:
        facts.sources["architecture"] = facts.sources.pop("architectures")
    if reason:
        facts.notes.append(f"{facts.sources['architecture']}[0] is {reason}; "
                           f"{AWS_DEFAULT_ARCHITECTURE} is assumed")
    facts.values["architecture"] = reader.convert(
        AWS_DEFAULT_ARCHITECTURE if reason else arch, str, "Architectures[0]")
    reader.fact(facts, "reserved_concurrency", layers, "ReservedConcurrentExecutions", int,
                None)
    # SAM sets provisioned concurrency on the function (for its AutoPublishAlias); plain
    # CloudFormation sets it on an AWS::Lambda::Alias or AWS::Lambda::Version.
    pc_key = "ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions"
    reader.fact(facts, "provisioned_concurrency", layers, pc_key, int, 0, announce=False)
    for lid in reader.of_type("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        alias = reader.props(lid)
        if "ProvisionedConcurrencyConfig" in alias and \
                reader.function_of(alias.get("FunctionName")) == fid:
            reader.fact(facts, "provisioned_concurrency",
                        [(f"Resources.{lid}.Properties", alias)], pc_key, int, 0)
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
    if runtime in PROVIDED_RUNTIMES:
        facts.notes.append(
            f"{fid} runs on {runtime}, which can be Go or Rust: the model assumes "
            f"{PROVIDED_DEFAULT} unless the overlay sets function.runtime"
        )


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
    config, reason = reader.resolve(link.properties.get("ProvisionedPollerConfig", _UNSET))
    if reason:
        facts.notes.append(f"{link.prefix}.ProvisionedPollerConfig is {reason}; standard "
                           "mode is assumed")
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
    types, reason = reader.resolve(link.properties.get("FunctionResponseTypes", []))
    if reason:
        facts.notes.append(f"{link.prefix}.FunctionResponseTypes is {reason}; "
                           "ReportBatchItemFailures is assumed off")
    rbif = isinstance(types, list) and "ReportBatchItemFailures" in types
    facts.values["report_batch_item_failures"] = rbif
    if rbif:
        facts.sources["report_batch_item_failures"] = f"{link.prefix}.FunctionResponseTypes"
    enabled, _ = reader.resolve(link.properties.get("Enabled", True))
    if enabled is False or (isinstance(enabled, str) and enabled.lower() == "false"):
        facts.notes.append(f"{link.prefix}.Enabled is false: the mapping is disabled in "
                           "the template; the model runs it as if enabled")


def _queue_facts(reader: _Reader, link: _Link, facts: _Facts) -> None:
    if link.queue_id is None:
        facts.notes.append(
            f"queue {link.queue_name} is not defined in this template: its visibility "
            "timeout, retention and redrive policy are unknown, AWS defaults assumed "
            "(no dead-letter queue)"
        )
        props, prefix = {}, "(outside queue)"
    else:
        props, prefix = reader.props(link.queue_id), f"Resources.{link.queue_id}.Properties"
    layers = [(prefix, props)]
    reader.fact(facts, "visibility_timeout_s", layers, "VisibilityTimeout", float,
                AWS_DEFAULT_VISIBILITY_TIMEOUT_S, "s")
    reader.fact(facts, "retention_s", layers, "MessageRetentionPeriod", float,
                AWS_DEFAULT_RETENTION_S, "s")
    reader.fact(facts, "fifo", layers, "FifoQueue", bool, False, announce=False)
    name = link.queue_name
    if link.queue_id is not None:
        name_value, _ = reader.resolve(props.get("QueueName"))
        name = name_value if isinstance(name_value, str) else None
    # A FIFO queue's name must end in .fifo, so either sign is enough (SQS Developer Guide,
    # "Amazon SQS FIFO queues").
    facts.values["fifo"] = facts.values["fifo"] or bool(name and name.endswith(".fifo"))
    facts.values["queue_name"] = name
    policy, reason = reader.resolve(props.get("RedrivePolicy", _UNSET))
    if isinstance(policy, str):  # CloudFormation also takes the policy as a JSON string
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            raise ScenarioFileError(reader.path, f"{prefix}.RedrivePolicy", policy,
                                    "a mapping or a JSON object string") from None
    facts.values["max_receive_count"] = None
    facts.values["dlq_id"] = None
    if reason:
        facts.notes.append(f"{prefix}.RedrivePolicy is {reason}; treated as no redrive")
    if isinstance(policy, dict):
        reader.fact(facts, "max_receive_count", [(f"{prefix}.RedrivePolicy", policy)],
                    "maxReceiveCount", int, None)
        dlq, dlq_name = reader.target(policy.get("deadLetterTargetArn"))
        facts.values["dlq_id"] = dlq or dlq_name
        if dlq is not None and reader.type_of(dlq) == QUEUE_TYPE:
            dprops = reader.props(dlq)
            flag, _ = reader.resolve(dprops.get("FifoQueue", False))
            dname, _ = reader.resolve(dprops.get("QueueName"))
            facts.values["dlq_fifo"] = (flag is True or str(flag).lower() == "true"
                                        or (isinstance(dname, str) and dname.endswith(".fifo")))


def pipelines(document: dict, path) -> list[Pipeline]:
    """The pipelines of an already parsed template (see :func:`read_template`)."""
    path = Path(path)
    reader = _Reader(document, path)
    links, skipped = _links(reader)
    if not links:
        why = ("; skipped: " + "; ".join(skipped)) if skipped else ""
        raise ScenarioFileError(
            path, "Resources", None, "",
            message="no SQS -> Lambda pipeline found: expected an AWS::Serverless::Function "
                    "with an Events entry of Type SQS, or an AWS::Lambda::EventSourceMapping "
                    "from an AWS::SQS::Queue to a function of this template" + why,
        )
    per_function: dict[str, int] = {}
    for link in links:
        per_function[link.function_id] = per_function.get(link.function_id, 0) + 1
    found = []
    for link in links:
        facts = _Facts()
        _function_facts(reader, link.function_id, facts)
        _mapping_facts(reader, link, facts)
        _queue_facts(reader, link, facts)
        if facts.defaults:
            facts.notes.insert(0, "AWS defaults for what the template leaves out: "
                                  + ", ".join(facts.defaults))
        name = link.function_id
        if per_function[link.function_id] > 1:
            name += "-" + (link.queue_id or link.queue_name or link.mapping_id)
        found.append(Pipeline(
            template=str(path), name=name, function_id=link.function_id,
            queue_id=link.queue_id, mapping_id=link.mapping_id,
            notes=tuple(facts.notes), sources=tuple(sorted(facts.sources.items())),
            **facts.values,
        ))
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
