"""An application: named resources wired by name (docs/design.md, "Applications").

A scenario of today (:class:`~simlib.scenario.Scenario`, "the short form") is one
pipeline; an application is a graph of resources: sources feeding queues or functions,
event source mappings from queues to functions, functions with asynchronous
destinations and dead-letter queues, queues with dead-letter queues that have consumers
of their own, databases shared by several functions. Each resource reuses the short
form's section for what it shares, with its fields written flat
(``{"kind": "function", "memory_mb": 512, "duration_median_s": 0.2}``), so every range
and rule of the short form holds, and an error names the resource's dotted path
(``resources.Worker.memory_mb``).

This module only describes and validates; :mod:`simlib.engine` builds and runs it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, fields
from typing import Any

from simlib.core import limits
from simlib.core.errors import ScenarioError
from simlib.core.event_patterns import compile_pattern
from simlib.core.scenario import (
    Account,
    AsyncInvoke,
    Caller,
    Database,
    Function,
    Handler,
    Mapping,
    Queue,
    Run,
    Scenario,
    Sending,
    SubscriptionPolicy,
    TargetPolicy,
    Workload,
    _error,
    _unknown,
)

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,79}\Z")
KINDS = ("source", "queue", "mapping", "function", "database", "topic", "bus")
INVOKE_TYPES = ("api", "event")
# The short form's resource names. Their draws come from the unscoped random streams, so
# the short form is one case of the application, bit for bit (Streams.scoped).
SHORT_FORM_NAMES = frozenset(("source", "queue", "mapping", "function", "database"))


def _names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class SourceSpec:
    """Traffic (the workload fields) sent to ``target``: a queue, or a function invoked
    synchronously (``invoke: api``, with the caller's retry fields) or asynchronously
    (``invoke: event``)."""

    name: str
    target: str
    invoke: str | None = None
    workload: Workload = dataclasses.field(default_factory=Workload)
    caller: Caller = dataclasses.field(default_factory=Caller)
    # name -> values each event draws one of, uniformly (simlib.attributes)
    attributes: dict = dataclasses.field(default_factory=dict)
    sending: Sending = dataclasses.field(default_factory=Sending)
    kind: str = "source"


@dataclass(frozen=True)
class QueueSpec:
    """An SQS standard queue; ``dlq`` names a queue resource that receives what
    ``max_receive_count`` redrives (else the dead-letter queue is implicit and has no
    consumer)."""

    name: str
    queue: Queue = dataclasses.field(default_factory=Queue)
    dlq: str | None = None
    fifo: bool = False
    content_based_deduplication: bool = False
    kind: str = "queue"


@dataclass(frozen=True)
class MappingSpec:
    """An event source mapping from ``queue`` to ``function``."""

    name: str
    queue: str
    function: str
    mapping: Mapping = dataclasses.field(default_factory=Mapping)
    # FilterCriteria as one event pattern (None: every message); a message that does not
    # match is deleted without an invoke
    filter: dict | None = None
    kind: str = "mapping"


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function: its configuration, its handler, its asynchronous invocation
    settings and the database (a resource name) it uses."""

    name: str
    function: Function = dataclasses.field(default_factory=Function)
    handler: Handler = dataclasses.field(default_factory=Handler)
    async_invoke: AsyncInvoke = dataclasses.field(default_factory=AsyncInvoke)
    database: str | None = None
    # what the handler itself sends per record it processes: ((target, per_record), ...)
    emits: tuple[tuple[str, float], ...] = ()
    kind: str = "function"


@dataclass(frozen=True)
class DatabaseSpec:
    name: str
    database: Database = dataclasses.field(default_factory=Database)
    kind: str = "database"


@dataclass(frozen=True)
class SubscriptionSpec:
    """One SNS subscription: a queue, or a function invoked asynchronously."""

    target: str
    filter: dict | None = None
    policy: SubscriptionPolicy = dataclasses.field(default_factory=SubscriptionPolicy)
    dlq: str | None = None


@dataclass(frozen=True)
class TopicSpec:
    """An SNS standard topic and its subscriptions."""

    name: str
    subscriptions: tuple[SubscriptionSpec, ...] = ()
    kind: str = "topic"


@dataclass(frozen=True)
class TargetSpec:
    """One target of an EventBridge rule, with its retry policy and DLQ."""

    target: str
    policy: TargetPolicy = dataclasses.field(default_factory=TargetPolicy)
    dlq: str | None = None


@dataclass(frozen=True)
class RuleSpec:
    """An EventBridge rule: its event pattern (None: every event) and targets."""

    pattern: dict | None
    targets: tuple[TargetSpec, ...]


@dataclass(frozen=True)
class BusSpec:
    """An EventBridge event bus and its rules."""

    name: str
    rules: tuple[RuleSpec, ...] = ()
    kind: str = "bus"


Spec = (SourceSpec | QueueSpec | MappingSpec | FunctionSpec | DatabaseSpec | TopicSpec
        | BusSpec)

# kind -> (sections whose fields are written flat, reference fields)
_FLAT = {
    "source": ((("workload", Workload), ("caller", Caller), ("sending", Sending)),
               ("target", "invoke", "attributes")),
    "queue": ((("queue", Queue),), ("dlq", "fifo", "content_based_deduplication")),
    "mapping": ((("mapping", Mapping),), ("queue", "function", "filter")),
    "function": ((("function", Function), ("handler", Handler)), ("database", "async", "emits")),
    "database": ((("database", Database),), ()),
}
_SPECS = {"source": SourceSpec, "queue": QueueSpec, "mapping": MappingSpec,
          "function": FunctionSpec, "database": DatabaseSpec}


def _scalar(v) -> bool:
    return isinstance(v, (str, bool, int, float)) and not (
        isinstance(v, float) and not math.isfinite(v))


def _parse_attributes(path: str, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _error(path, value, "a mapping of attribute names to lists of values")
    out = {}
    for name, values in value.items():
        if not isinstance(name, str) or not name:
            raise ScenarioError(f"{path}", name, "attribute names that are non-empty strings")
        if not isinstance(values, list) or not values or not all(_scalar(v) for v in values):
            raise ScenarioError(f"{path}.{name}", values, "a non-empty list of values (strings, "
                                                          "numbers or booleans), one drawn per "
                                                          "event")
        out[name] = list(values)
    return out


def _parse_emits(path: str, value) -> tuple[tuple[str, float], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _error(path, value, "a list of {target, per_record}")
    out = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise _error(where, item, "a mapping with target and per_record")
        _refs_only(where, item, ("target", "per_record"))
        target = item.get("target")
        if not isinstance(target, str):
            raise ScenarioError(f"{where}.target", target, "the name of a queue, topic, bus or "
                                                           "function")
        n = item.get("per_record", 1.0)
        if isinstance(n, bool) or not isinstance(n, (int, float)) or not 0 <= n <= 1_000 \
                or not math.isfinite(n):
            raise ScenarioError(f"{where}.per_record", n,
                                "a number in 0..1,000 (messages sent per record processed; "
                                "a fraction is a probability)")
        out.append((target, float(n)))
    return tuple(out)


def _refs_only(path: str, data: dict, allowed: tuple[str, ...]) -> None:
    for key, value in data.items():
        if key not in allowed:
            raise _unknown(f"{path}.{key}", value, "field", list(allowed))


def _parse_topic(name: str, data: dict) -> TopicSpec:
    path = f"resources.{name}"
    _refs_only(path, data, ("kind", "subscriptions", "fifo"))
    if data.get("fifo"):
        raise ScenarioError(f"{path}.fifo", data["fifo"], "False (FIFO topics are not modelled; "
                                                          "a standard topic is)")
    subs = data.get("subscriptions", [])
    if not isinstance(subs, list):
        raise _error(f"{path}.subscriptions", subs, "a list of subscriptions")
    out = []
    for i, sub in enumerate(subs):
        where = f"{path}.subscriptions[{i}]"
        if not isinstance(sub, dict):
            raise _error(where, sub, "a mapping with a target")
        _refs_only(where, sub, ("target", "filter", "filter_scope", "delivery_failure_rate",
                                "dlq"))
        target = sub.get("target")
        if not isinstance(target, str):
            raise ScenarioError(f"{where}.target", target, "the name of a queue or function")
        flt = sub.get("filter")
        if flt is not None:
            compile_pattern(flt, f"{where}.filter", sns=True)
        policy = SubscriptionPolicy.from_dict(
            {k: sub[k] for k in ("delivery_failure_rate", "filter_scope") if k in sub}, where)
        dlq = sub.get("dlq")
        if dlq is not None and not isinstance(dlq, str):
            raise ScenarioError(f"{where}.dlq", dlq, "the name of a queue")
        out.append(SubscriptionSpec(target, flt, policy, dlq))
    return TopicSpec(name, tuple(out))


def _parse_bus(name: str, data: dict) -> BusSpec:
    path = f"resources.{name}"
    _refs_only(path, data, ("kind", "rules"))
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise _error(f"{path}.rules", rules, "a list of rules")
    out = []
    for i, rule in enumerate(rules):
        where = f"{path}.rules[{i}]"
        if not isinstance(rule, dict):
            raise _error(where, rule, "a mapping with a pattern and targets")
        _refs_only(where, rule, ("pattern", "targets"))
        pattern = rule.get("pattern")
        if pattern is not None:
            compile_pattern(pattern, f"{where}.pattern")
        targets = rule.get("targets")
        most = limits.EVENTBRIDGE_TARGETS_PER_RULE
        if not isinstance(targets, list) or not 1 <= len(targets) <= most:
            raise ScenarioError(f"{where}.targets", targets,
                                f"a list of 1 to {most} targets (EventBridge's limit per rule)")
        parsed = []
        for j, tgt in enumerate(targets):
            at = f"{where}.targets[{j}]"
            if not isinstance(tgt, dict):
                raise _error(at, tgt, "a mapping with a target")
            _refs_only(at, tgt, ("target", "maximum_retry_attempts", "maximum_event_age_s",
                                 "delivery_failure_rate", "dlq"))
            target = tgt.get("target")
            if not isinstance(target, str):
                raise ScenarioError(f"{at}.target", target, "the name of a queue or function")
            policy = TargetPolicy.from_dict(
                {k: v for k, v in tgt.items() if k not in ("target", "dlq")}, at)
            dlq = tgt.get("dlq")
            if dlq is not None and not isinstance(dlq, str):
                raise ScenarioError(f"{at}.dlq", dlq, "the name of a queue")
            parsed.append(TargetSpec(target, policy, dlq))
        out.append(RuleSpec(pattern, tuple(parsed)))
    return BusSpec(name, tuple(out))


def _parse_resource(name: str, data) -> Spec:
    path = f"resources.{name}"
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ScenarioError(path, name, "a name of letters, digits, '-' and '_' starting with a "
                                        "letter (at most 80 characters)")
    if not isinstance(data, dict):
        raise _error(path, data, "a mapping with a 'kind' and the resource's fields")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ScenarioError(f"{path}.kind", kind, "one of " + ", ".join(map(repr, KINDS)))
    if kind == "topic":
        return _parse_topic(name, data)
    if kind == "bus":
        return _parse_bus(name, data)
    sections, refs = _FLAT[kind]
    owner = {}
    for section, cls in sections:
        for f in _names(cls):
            owner[f] = section
    split: dict[str, dict] = {section: {} for section, _ in sections}
    values: dict[str, Any] = {"name": name}
    for key, value in data.items():
        if key == "kind":
            continue
        if key in owner:
            split[owner[key]][key] = value
        elif key in refs:
            if key == "async":
                values["async_invoke"] = AsyncInvoke.from_dict(value, f"{path}.async")
            elif key == "attributes":
                values["attributes"] = _parse_attributes(f"{path}.attributes", value)
            elif key == "emits":
                values["emits"] = _parse_emits(f"{path}.emits", value)
            elif key in ("fifo", "content_based_deduplication"):
                if not isinstance(value, bool):
                    raise ScenarioError(f"{path}.{key}", value, "True or False")
                values[key] = value
            elif key == "filter":
                if value is not None:
                    compile_pattern(value, f"{path}.filter")
                values["filter"] = value
            elif key == "invoke":
                if value is not None and value not in INVOKE_TYPES:
                    raise ScenarioError(f"{path}.invoke", value,
                                        "one of 'api', 'event' (a function target), or None")
                values[key] = value
            else:
                if value is not None and not isinstance(value, str):
                    raise ScenarioError(f"{path}.{key}", value, "a resource name")
                values[key] = value
        else:
            raise _unknown(f"{path}.{key}", value, "field", [*refs, *owner])
    for section, cls in sections:
        values[section] = cls.from_dict(split[section], path)
    if kind == "source" and values.get("target") is None:
        raise ScenarioError(f"{path}.target", None, "the name of a queue or function")
    if kind == "mapping":
        for key in ("queue", "function"):
            if values.get(key) is None:
                raise ScenarioError(f"{path}.{key}", None, f"the name of a {key} resource")
    return _SPECS[kind](**values)


def _flat_dict(spec: Spec) -> dict[str, Any]:
    """The resource as written: kind, references and flat fields."""
    out: dict[str, Any] = {"kind": spec.kind}
    if spec.kind == "topic":
        out["subscriptions"] = [
            {"target": s.target, "filter": s.filter, "dlq": s.dlq,
             **dataclasses.asdict(s.policy)} for s in spec.subscriptions]
        return out
    if spec.kind == "bus":
        out["rules"] = [
            {"pattern": r.pattern,
             "targets": [{"target": t.target, "dlq": t.dlq, **dataclasses.asdict(t.policy)}
                         for t in r.targets]} for r in spec.rules]
        return out
    sections, refs = _FLAT[spec.kind]
    for ref in refs:
        attr = "async_invoke" if ref == "async" else ref
        value = getattr(spec, attr)
        out[ref] = dataclasses.asdict(value) if ref == "async" else value
        if ref == "attributes" and not value:
            del out[ref]
        if ref == "emits":
            if value:
                out[ref] = [{"target": t, "per_record": n} for t, n in value]
            else:
                del out[ref]
    for section, _ in sections:
        out.update(dataclasses.asdict(getattr(spec, section)))
    return out


# short-form paths in a ConflictError's text -> the resource that owns them
_SECTION_PATH = re.compile(r"\b(workload|queue|mapping|function|handler|database|caller)\.([a-z_0-9]+)\b")


def _reword(exc: ScenarioError, owners: dict[str, str]) -> ScenarioError:
    """A short-form rule broken inside an application, reworded with resource paths."""

    def repl(match: re.Match) -> str:
        section, fld = match.group(1), match.group(2)
        owner = owners.get(section)
        return f"resources.{owner}.{fld}" if owner else match.group(0)

    fld = _SECTION_PATH.sub(repl, exc.field)
    allowed = _SECTION_PATH.sub(repl, exc.allowed)
    return ScenarioError(fld, exc.value, allowed)


@dataclass(frozen=True)
class Application:
    """A validated application. Build it with :meth:`from_dict` or :meth:`from_scenario`.

    ``resources`` keeps the order they were written in. Raises :class:`ScenarioError`
    naming ``resources.<name>.<field>`` for a bad value, an unknown name, a reference to
    a resource of the wrong kind, or a short-form rule broken by the resources a
    pipeline is made of (a function timeout above its queue's visibility timeout).
    """

    resources: dict[str, Spec]
    account: Account = dataclasses.field(default_factory=Account)
    run: Run = dataclasses.field(default_factory=Run)

    def __post_init__(self):
        _check_application(self)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Application:
        if not isinstance(data, dict):
            raise _error("application", data, "a mapping with 'resources'")
        for key, value in data.items():
            if key not in ("resources", "account", "run"):
                raise _unknown(key, value, "section", ["resources", "account", "run"])
        res = data.get("resources")
        if not isinstance(res, dict) or not res:
            raise _error("resources", res, "a mapping of resource names to resources (at least "
                                           "a source and what it feeds)")
        resources = {name: _parse_resource(name, spec) for name, spec in res.items()}
        return cls(resources, Account.from_dict(data.get("account"), "account"),
                   Run.from_dict(data.get("run"), "run"))

    @classmethod
    def from_scenario(cls, s: Scenario) -> Application:
        """The short form as an application with the resources ``source``, ``queue``,
        ``mapping``, ``function`` and ``database`` (``source`` invokes ``function``
        synchronously when ``s.source`` is ``api``)."""
        res: dict[str, Spec] = {}
        if s.source == "sqs":
            res["source"] = SourceSpec("source", "queue", None, s.workload, s.caller)
            res["queue"] = QueueSpec("queue", s.queue)
            res["mapping"] = MappingSpec("mapping", "queue", "function", s.mapping)
        else:
            res["source"] = SourceSpec("source", "function", "api", s.workload, s.caller)
        res["function"] = FunctionSpec("function", s.function, s.handler, AsyncInvoke(),
                                       "database" if s.database is not None else None)
        if s.database is not None:
            res["database"] = DatabaseSpec("database", s.database)
        return cls(res, s.account, s.run)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict; ``Application.from_dict(a.to_dict()) == a``."""
        return {"resources": {n: _flat_dict(r) for n, r in self.resources.items()},
                "account": dataclasses.asdict(self.account), "run": dataclasses.asdict(self.run)}

    def with_changes(self, changes: dict[str, Any]) -> Application:
        """A validated copy with dotted-path changes:
        ``{"resources.Worker.memory_mb": 1024, "account.concurrency_limit": 500}``."""
        data = self.to_dict()
        for path, value in changes.items():
            parts = path.split(".")
            if parts[0] == "resources" and len(parts) == 3:
                if parts[1] not in data["resources"]:
                    raise _unknown(path, value, "resource", list(data["resources"]))
                data["resources"][parts[1]][parts[2]] = value
            elif parts[0] == "resources" and len(parts) == 4 and parts[2] == "async":
                if parts[1] not in data["resources"]:
                    raise _unknown(path, value, "resource", list(data["resources"]))
                data["resources"][parts[1]].setdefault("async", {})[parts[3]] = value
            elif parts[0] in ("account", "run") and len(parts) == 2:
                data[parts[0]][parts[1]] = value
            else:
                raise ScenarioError(path, value, "a path resources.<name>.<field>, "
                                                 "resources.<name>.async.<field>, "
                                                 "account.<field> or run.<field>")
        return Application.from_dict(data)

    def get(self, path: str):
        """The value at a dotted path (``"resources.Worker.memory_mb"``)."""
        data = self.to_dict()
        obj: Any = data
        for part in path.split("."):
            if not isinstance(obj, dict) or part not in obj:
                raise ScenarioError(path, None, "a known resources.<name>.<field> path")
            obj = obj[part]
        return obj

    def runtime_warnings(self, today=None) -> list[str]:
        """Each function's runtime notice (deprecated by AWS, or soon), as of ``today``."""
        from simlib.core.runtimes import deprecation_notice

        out = []
        for f in self.of_kind("function"):
            notice = deprecation_notice(f.function.runtime, today)
            if notice:
                out.append(f"resources.{f.name}.runtime: {notice}")
        return out

    @property
    def warnings(self) -> list[str]:
        """:meth:`runtime_warnings` as of today's date."""
        return self.runtime_warnings()

    # -- the graph -----------------------------------------------------------------------
    def of_kind(self, kind: str) -> list[Spec]:
        return [r for r in self.resources.values() if r.kind == kind]

    def mappings_of(self, queue: str) -> list[MappingSpec]:
        return [m for m in self.of_kind("mapping") if m.queue == queue]

    def inbound(self, name: str) -> list[tuple[str, str]]:
        """(from, edge kind) of every edge into resource ``name``."""
        out = []
        for r in self.resources.values():
            if r.kind == "source" and r.target == name:
                out.append((r.name, "source"))
            elif r.kind == "queue" and r.dlq == name:
                out.append((r.name, "dlq"))
            elif r.kind == "function":
                a = r.async_invoke
                for kind, target in (("on_success", a.on_success), ("on_failure", a.on_failure),
                                     ("dlq", a.dlq)):
                    if target == name:
                        out.append((r.name, kind))
                for target, _ in r.emits:
                    if target == name:
                        out.append((r.name, "emit"))
            elif r.kind == "topic":
                for sub in r.subscriptions:
                    if sub.target == name:
                        out.append((r.name, "subscription"))
                    if sub.dlq == name:
                        out.append((r.name, "dlq"))
            elif r.kind == "bus":
                for rule in r.rules:
                    for t in rule.targets:
                        if t.target == name:
                            out.append((r.name, "target"))
                        if t.dlq == name:
                            out.append((r.name, "dlq"))
        return out

    def payload_kb(self, name: str, _seen=None) -> float:
        """The payload size of the events reaching ``name``: that of the first source
        upstream (the default workload's when none is found)."""
        # one path upstream, followed in a loop (not recursion: a chain of a thousand
        # dead-letter queues must not exhaust Python's stack)
        seen = _seen or set()
        while True:
            seen.add(name)
            step = None
            for origin, kind in self.inbound(name):
                r = self.resources[origin]
                if kind == "source":
                    return r.workload.payload_kb
                if origin in seen:
                    continue
                step = r.name
                if r.kind == "function":  # what reaches a function comes via its inputs
                    step = next((m.queue for m in self.of_kind("mapping")
                                 if m.function == r.name and m.queue not in seen), r.name)
                break
            if step is None:
                return Workload().payload_kb
            name = step

    def unit_scenario(self, function: str, queue: str | None = None,
                      mapping: str | None = None, source: str | None = None) -> Scenario:
        """The short-form scenario of one pipeline of the application: what the modules
        of one function (and its queue and mapping, or its caller) are built from."""
        fn = self.resources[function]
        db = self.resources[fn.database].database if fn.database else None
        owners = {"function": function, "handler": function, "database": fn.database}
        kw: dict[str, Any] = {"function": fn.function, "handler": fn.handler, "database": db,
                              "account": self.account, "run": self.run}
        if queue is not None:
            owners.update(queue=queue, mapping=mapping)
            kw.update(source="sqs", queue=self.resources[queue].queue,
                      mapping=self.resources[mapping].mapping,
                      workload=Workload(payload_kb=self.payload_kb(queue)))
        elif source is not None:
            src = self.resources[source]
            owners.update(workload=source, caller=source)
            kw.update(source="api", workload=src.workload, caller=src.caller)
        else:
            kw.update(source="api", workload=Workload(payload_kb=self.payload_kb(function)))
        try:
            return Scenario(**kw)
        except ScenarioError as exc:
            raise _reword(exc, owners) from None

    @property
    def duration_s(self) -> float:
        """When the last source stops sending (a producer's duplicate sends included)."""
        return max(s.workload.duration_s + (s.sending.duplicate_send_delay_s
                                            if s.sending.duplicate_send_rate > 0 else 0.0)
                   for s in self.of_kind("source"))


def _check_no_loop_without_a_queue(app: Application) -> None:
    """An event loop with no SQS queue in it (functions, topics and buses handing events to
    each other in a circle) has no buffer to hold what it generates: refused, naming the
    first resource of the loop and the field that closes it."""
    res = app.resources
    out: dict[str, list[tuple[str, str]]] = {n: [] for n in res}
    for r in res.values():
        if r.kind == "function":
            a = r.async_invoke
            for fld, target in (("async.on_success", a.on_success),
                                ("async.on_failure", a.on_failure), ("async.dlq", a.dlq)):
                if target is not None:
                    out[r.name].append((target, fld))
            for i, (target, _) in enumerate(r.emits):
                out[r.name].append((target, f"emits[{i}].target"))
        elif r.kind == "topic":
            for i, sub in enumerate(r.subscriptions):
                out[r.name].append((sub.target, f"subscriptions[{i}].target"))
        elif r.kind == "bus":
            for i, rule in enumerate(r.rules):
                for j, t in enumerate(rule.targets):
                    out[r.name].append((t.target, f"rules[{i}].targets[{j}].target"))
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[tuple[str, str]]) -> None:
        state[name] = 1
        for target, fld in out.get(name, ()):
            if target not in res or res[target].kind == "queue":
                continue  # a queue buffers: a loop through it is allowed
            if state.get(target) == 1:
                loop = [n for n, _ in path[[n for n, _ in path].index(target):]] + [name, target]
                raise ScenarioError(
                    f"resources.{name}.{fld}", target,
                    "a resource that does not close a loop without a queue in it ("
                    + " -> ".join(loop) + "): put an SQS queue in the loop")
            if state.get(target) is None:
                visit(target, [*path, (name, fld)])
        state[name] = 2

    for name in res:
        if state.get(name) is None and res[name].kind in ("function", "topic", "bus"):
            visit(name, [])


def _check_application(app: Application) -> None:
    res = app.resources
    if not isinstance(res, dict):
        raise _error("resources", res, "a mapping of resource names to resources")
    for name, r in res.items():
        if not isinstance(r, Spec) or r.name != name:
            raise ScenarioError(f"resources.{name}", r, "a resource built by Application.from_dict")

    def ref(owner: str, fld: str, target, kinds: tuple[str, ...]):
        path = f"resources.{owner}.{fld}"
        want = " or ".join(kinds)
        if target not in res:
            raise ScenarioError(path, target, f"the name of a {want} resource of the application "
                                              f"(known: {', '.join(res)})")
        if res[target].kind not in kinds:
            raise ScenarioError(path, target, f"a {want} resource ({target!r} is a "
                                              f"{res[target].kind})")

    if not app.of_kind("source"):
        raise ScenarioError("resources", sorted(res), "at least one resource of kind 'source'")
    for r in res.values():
        if r.kind == "source":
            ref(r.name, "target", r.target, ("queue", "function", "topic", "bus"))
            if res[r.target].kind == "function" and r.invoke is None:
                raise ScenarioError(f"resources.{r.name}.invoke", None,
                                    "'api' (synchronous) or 'event' (asynchronous) when the "
                                    "target is a function")
            if res[r.target].kind != "function" and r.invoke is not None:
                raise ScenarioError(f"resources.{r.name}.invoke", r.invoke,
                                    f"None when the target is a {res[r.target].kind}")
        elif r.kind == "queue" and r.dlq is not None:
            ref(r.name, "dlq", r.dlq, ("queue",))
            if r.dlq == r.name:
                raise ScenarioError(f"resources.{r.name}.dlq", r.dlq, "another queue")
            if res[r.dlq].fifo != r.fifo:
                # "The dead-letter queue of a FIFO queue must also be a FIFO queue. Similarly,
                # the dead-letter queue of a standard queue must also be a standard queue."
                # (sqs-dead-letter-queues.html)
                want = "a FIFO queue" if r.fifo else "a standard queue"
                raise ScenarioError(f"resources.{r.name}.dlq", r.dlq,
                                    f"{want}: a {'FIFO' if r.fifo else 'standard'} queue's "
                                    "dead-letter queue must be of the same type")
            if r.queue.max_receive_count is None:
                raise ScenarioError(f"resources.{r.name}.max_receive_count", None,
                                    f"an integer in {limits.MAX_RECEIVE_COUNT[0]}.."
                                    f"{limits.MAX_RECEIVE_COUNT[1]} when dlq is set "
                                    "(the redrive policy's maxReceiveCount)")
        elif r.kind == "mapping":
            ref(r.name, "queue", r.queue, ("queue",))
            ref(r.name, "function", r.function, ("function",))
            if res[r.queue].fifo:
                # "For FIFO queues, the maximum is 10"; "Batching window is not supported
                # for FIFO queues" (services-sqs-parameters.html)
                if r.mapping.batch_size > 10:
                    raise ScenarioError(f"resources.{r.name}.batch_size", r.mapping.batch_size,
                                        f"1..10 (queue {r.queue} is a FIFO queue)")
                if r.mapping.batching_window_s > 0:
                    raise ScenarioError(f"resources.{r.name}.batching_window_s",
                                        r.mapping.batching_window_s,
                                        f"0 (queue {r.queue} is a FIFO queue: AWS supports "
                                        "no batching window)")
        elif r.kind == "function":
            if r.database is not None:
                ref(r.name, "database", r.database, ("database",))
            a = r.async_invoke
            # Destinations: SQS, SNS, EventBridge and Lambda (S3 on failure); a DLQ: SQS or
            # SNS (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
            # S3 is not modelled.
            for fld in ("on_success", "on_failure"):
                target = getattr(a, fld)
                if target is not None:
                    ref(r.name, f"async.{fld}", target, ("queue", "function", "topic", "bus"))
                    if target == r.name:
                        raise ScenarioError(f"resources.{r.name}.async.{fld}", target,
                                            "another resource (a function cannot be its own "
                                            "destination)")
            if a.dlq is not None:
                ref(r.name, "async.dlq", a.dlq, ("queue", "topic"))
            for i, (target, _) in enumerate(r.emits):
                ref(r.name, f"emits[{i}].target", target, ("queue", "function", "topic", "bus"))
                if target == r.name:
                    raise ScenarioError(f"resources.{r.name}.emits[{i}].target", target,
                                        "another resource (a function invoking itself has no "
                                        "queue in the loop)")
        elif r.kind == "topic":
            # SNS delivers to SQS and Lambda (other protocols are not modelled); a
            # subscription's DLQ is an SQS queue (sns-dead-letter-queues.html)
            for i, sub in enumerate(r.subscriptions):
                ref(r.name, f"subscriptions[{i}].target", sub.target, ("queue", "function"))
                if sub.dlq is not None:
                    ref(r.name, f"subscriptions[{i}].dlq", sub.dlq, ("queue",))
        elif r.kind == "bus":
            for i, rule in enumerate(r.rules):
                for j, t in enumerate(rule.targets):
                    ref(r.name, f"rules[{i}].targets[{j}].target", t.target,
                        ("queue", "function"))
                    if t.dlq is not None:
                        ref(r.name, f"rules[{i}].targets[{j}].dlq", t.dlq, ("queue",))
    for q in app.of_kind("queue"):
        if not q.fifo:
            continue
        for origin, kind in app.inbound(q.name):
            if kind == "source" or (kind == "dlq" and res[origin].kind == "queue"):
                continue
            what = {"subscription": "an SNS standard topic cannot deliver to a FIFO queue",
                    "target": "EventBridge targets on a FIFO queue are not modelled",
                    "emit": "a handler's sends to a FIFO queue are not modelled",
                    }.get(kind, "a FIFO queue cannot be an asynchronous destination or DLQ")
            raise ScenarioError(f"resources.{origin}", q.name,
                                f"a standard queue here ({what})")
    _check_no_loop_without_a_queue(app)
    reservations = [f.function.reserved_concurrency for f in app.of_kind("function")
                    if f.function.reserved_concurrency is not None]
    reserved = sum(reservations)
    limit = app.account.concurrency_limit
    if reservations and reserved > limit - limits.UNRESERVED_MIN:
        raise ScenarioError("account.concurrency_limit", limit,
                            f"at least {reserved + limits.UNRESERVED_MIN} (the functions' "
                            f"reserved concurrency {reserved} plus {limits.UNRESERVED_MIN} "
                            "that must stay unreserved)")
    # every pipeline's short-form rules (timeout vs visibility, batch vs window, ...)
    for m in app.of_kind("mapping"):
        app.unit_scenario(m.function, queue=m.queue, mapping=m.name)
    for f in app.of_kind("function"):
        app.unit_scenario(f.name)
    for s in app.of_kind("source"):
        if s.invoke == "api":
            app.unit_scenario(s.target, source=s.name)
        elif s.workload.pattern == "trace":
            try:
                Scenario(workload=s.workload)
            except ScenarioError as exc:
                raise _reword(exc, {"workload": s.name}) from None


__all__ = ["Application", "DatabaseSpec", "FunctionSpec", "MappingSpec", "QueueSpec",
           "SourceSpec"]
