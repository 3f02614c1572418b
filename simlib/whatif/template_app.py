"""A SAM / CloudFormation template read as one application (docs/design.md, "Applications").

:mod:`simlib.template` reads each SQS -> Lambda pipeline of a template on its own; this
module reads the whole graph into one :class:`~simlib.application.Application`: every
function (its configuration, its asynchronous invocation settings: ``EventInvokeConfig``
with ``MaximumRetryAttempts``, ``MaximumEventAgeInSeconds`` and ``DestinationConfig``,
``DeadLetterConfig`` / SAM ``DeadLetterQueue``), every queue (FIFO, redrive policy), every
SQS mapping (with ``FilterCriteria``), SNS topics and their subscriptions
(``AWS::SNS::Subscription``, a topic's inline ``Subscription``, SAM ``SNS`` events with
``FilterPolicy`` and ``SqsSubscription``), EventBridge rules (``AWS::Events::Rule`` and SAM
``EventBridgeRule`` / ``CloudWatchEvent`` events, with their ``RetryPolicy`` and
``DeadLetterConfig``) grouped by bus, and SAM ``Api`` / ``HttpApi`` events (synchronous
callers). The template has no traffic and no handler behaviour: an *overlay* gives them
(``workload`` and ``handler`` sections applied to every generated source and function,
and ``resources`` to add or change resources by name), and every value the template did
not state, or stated in a way that is not evaluated, is listed in ``notes``.

What it cannot link (a target outside the template, a resource kind the model does not
simulate) is left out with a note, never silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from simlib.core.application import Application
from simlib.core.errors import ScenarioError
from simlib.core.event_patterns import compile_pattern
from simlib.core.runtimes import known_runtimes
from simlib.whatif.scenario_file import MAX_DEPTH, ScenarioFileError, brief, nesting_depth
from simlib.whatif.template import (
    FUNCTION_TYPES,
    QUEUE_TYPE,
    _Facts,
    _function_facts,
    _links,
    _mapping_facts,
    _queue_facts,
    _Reader,
    simulated_runtime,
)

TOPIC_TYPE = "AWS::SNS::Topic"
SUBSCRIPTION_TYPE = "AWS::SNS::Subscription"
RULE_TYPE = "AWS::Events::Rule"
INVOKE_CONFIG_TYPE = "AWS::Lambda::EventInvokeConfig"
DEFAULT_BUS = "default"
# what an overlay may hold for a template read as one application
OVERLAY_SECTIONS = ("workload", "function", "handler", "database", "resources", "account",
                    "run")


def _name(text: Any) -> str:
    """A resource name the application accepts (logical ids already are; SAM event paths
    such as ``Fn.Events.Queue`` are not; a YAML key may also be a number or null)."""
    out = re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")
    return out if out and out[0].isalpha() else f"r-{out}"


resource_name = _name  # public: the command line maps template paths to these names


def _pattern(reader: _Reader, raw: Any, where: str, notes: list[str]) -> dict | None:
    """An event pattern / filter policy: a mapping, or a JSON string of one."""
    value, reason = reader.resolve(raw)
    if reason:
        notes.append(f"{where} is {reason}: the filter is left out (everything passes)")
        return None
    if isinstance(value, str):
        value = _json(value)
        if value is None:
            notes.append(f"{where} is not valid JSON: the filter is left out")
            return None
    if isinstance(value, dict) and nesting_depth(value) > MAX_DEPTH:
        notes.append(f"{where} nests more than {MAX_DEPTH} levels: the filter is left out")
        return None
    if not (isinstance(value, dict) and value):
        return None
    try:
        compile_pattern(value, where)
    except ScenarioError as exc:
        # AWS filters have more operators (suffix, cidr, wildcard, equals-ignore-case,
        # $or) and values built with intrinsic functions, which the model does not
        # evaluate: the filter is left out, never the whole template
        notes.append(f"{where} uses what the model does not evaluate ({exc.field} = "
                     f"{_said(exc.value)}): the filter is left out (everything passes)")
        return None
    return value


def _true(value: Any) -> bool:
    """A template's boolean: true, or the string "true" in any case."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _lower(value: Any) -> Any:
    """A string in lower case; anything else as it is (a protocol may be a mapping)."""
    return value.lower() if isinstance(value, str) else value


def _said(value: Any) -> str:
    """A template value as a note says it: a string as it is, anything else briefly."""
    return value if isinstance(value, str) else repr(brief(value))


def _json(text: str) -> Any:
    """``text`` parsed as JSON, or None when it is not JSON Python can read (a syntax
    error, nesting deeper than Python's JSON reader recurses, an integer of more than
    4,300 digits)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return None


class _Builder:
    def __init__(self, document: dict, path: Path, parameters: dict | None = None):
        self.reader = _Reader(document, path, parameters)
        self.path = path
        self.resources: dict[str, dict] = {}
        self.notes: list[str] = []

    # -- resources ------------------------------------------------------------------------
    def function(self, fid: str) -> bool:
        """Add function ``fid`` (once); False when the model cannot run it (noted)."""
        if fid in self.resources:
            return True
        facts = _Facts()
        _function_facts(self.reader, fid, facts)
        v = facts.values
        runtime = v["runtime"]
        if v["managed_instances"]:
            self.notes.append(f"function {fid} runs on Lambda Managed Instances, which the "
                              "model does not simulate: left out")
            return False
        if isinstance(runtime, str):
            simulated, note = simulated_runtime(runtime)
            if note:
                self.notes.append(f"function {fid} {note}")
            runtime = simulated or runtime
        if runtime is None or runtime not in known_runtimes():
            self.notes.append(f"function {fid} has runtime {brief(runtime)!r}, which the model does "
                              "not know (a container image?): left out; give it a runtime "
                              "in the overlay's resources to include it")
            return False
        self.notes += [f"{fid}: {n}" for n in facts.notes]
        if facts.defaults:
            self.notes.append(f"{fid}: AWS defaults for what the template leaves out: "
                              + ", ".join(facts.defaults))
        self.resources[fid] = {
            "kind": "function", "runtime": runtime, "architecture": v["architecture"],
            "memory_mb": v["memory_mb"], "timeout_s": v["timeout_s"],
            "reserved_concurrency": v["reserved_concurrency"],
            "provisioned_concurrency": v["provisioned_concurrency"],
            "snapstart": v["snapstart"],
        }
        return True

    def queue(self, first: str) -> None:
        """Add queue ``first`` (once), and its dead-letter queue, and that one's...

        A worklist rather than recursion: a template may chain thousands of queues, each
        the dead-letter queue of the one before."""
        todo = [first]
        while todo:
            qid = todo.pop()
            if qid in self.resources:
                continue
            props = self.reader.props(qid)
            facts = _Facts()

            class _L:  # the queue part of a link, for simlib.template's reader
                queue_id, queue_name = qid, None

            _queue_facts(self.reader, _L, facts)
            v = facts.values
            spec: dict[str, Any] = {"kind": "queue",
                                    "visibility_timeout_s": v["visibility_timeout_s"],
                                    "retention_s": v["retention_s"], "fifo": v["fifo"]}
            if v["fifo"]:
                cbd, _ = self.reader.resolve(props.get("ContentBasedDeduplication", False))
                spec["content_based_deduplication"] = _true(cbd)
            spec["max_receive_count"] = v["max_receive_count"]
            self.resources[qid] = spec
            dlq = v["dlq_id"]
            if dlq is not None and v["max_receive_count"] is not None:
                if self.reader.type_of(dlq) == QUEUE_TYPE:
                    todo.append(dlq)
                    spec["dlq"] = dlq
                else:
                    self.notes.append(f"queue {qid}'s dead-letter queue {dlq} is not in this "
                                      "template: it is modelled as one nobody reads")
            self.notes += [f"{qid}: {n}" for n in facts.notes]

    def target(self, raw: Any, where: str, kinds=("queue", "function")) -> str | None:
        """The resource a Ref / GetAtt / ARN points at, added if needed; else None (noted)."""
        lid, name = self.reader.target(raw)
        if lid is None and name:
            lid = self.reader.by_name(name, (QUEUE_TYPE,), "QueueName") or \
                self.reader.by_name(name, FUNCTION_TYPES, "FunctionName") or \
                self.reader.by_name(name, (TOPIC_TYPE,), "TopicName")
        t = self.reader.type_of(lid)
        if t == QUEUE_TYPE and "queue" in kinds:
            self.queue(lid)
            return lid
        if t in FUNCTION_TYPES and "function" in kinds:
            return lid if self.function(lid) else None
        if t in ("AWS::Lambda::Alias", "AWS::Lambda::Version") and "function" in kinds:
            fid = self.reader.function_of(raw)
            return fid if fid and self.function(fid) else None
        if t == TOPIC_TYPE and "topic" in kinds:
            self.topic(lid)
            return lid
        self.notes.append(f"{where} ({lid or name or brief(raw)!r}) is not a "
                          f"{' or '.join(kinds)} of this template: left out")
        return None

    def topic(self, tid: str) -> dict:
        spec = self.resources.get(tid)
        if spec is None:
            spec = self.resources[tid] = {"kind": "topic", "subscriptions": []}
            fifo, _ = self.reader.resolve(self.reader.props(tid).get("FifoTopic", False))
            if _true(fifo):
                self.notes.append(f"topic {tid} is a FIFO topic, which the model does not "
                                  "simulate: it is run as a standard topic")
        return spec

    def subscribe(self, tid: str, endpoint: Any, protocol: str, extra: dict, where: str):
        if protocol not in ("sqs", "lambda"):
            self.notes.append(f"{where}: protocol {brief(protocol)!r} is not modelled (SQS and Lambda "
                              "subscriptions are): left out")
            return
        kinds = ("queue",) if protocol == "sqs" else ("function",)
        target = self.target(endpoint, f"{where}.Endpoint", kinds)
        if target is None:
            return
        sub: dict[str, Any] = {"target": target}
        flt = _pattern(self.reader, extra.get("FilterPolicy"), f"{where}.FilterPolicy",
                       self.notes) if "FilterPolicy" in extra else None
        if flt is not None:
            sub["filter"] = flt
        scope, _ = self.reader.resolve(extra.get("FilterPolicyScope", "MessageAttributes"))
        sub["filter_scope"] = "body" if scope == "MessageBody" else "attributes"
        redrive = extra.get("RedrivePolicy")
        if isinstance(redrive, str):
            redrive = _json(redrive)
        if isinstance(redrive, dict) and "deadLetterTargetArn" in redrive:
            dlq = self.target(redrive["deadLetterTargetArn"], f"{where}.RedrivePolicy",
                              ("queue",))
            if dlq is not None:
                sub["dlq"] = dlq
        self.topic(tid)["subscriptions"].append(sub)

    def bus(self, name: str) -> dict:
        bid = _name(f"bus-{name}") if name != DEFAULT_BUS else "default-bus"
        spec = self.resources.get(bid)
        if spec is None:
            spec = self.resources[bid] = {"kind": "bus", "rules": []}
        return spec

    def rule(self, bus_raw: Any, pattern_raw: Any, targets: list[tuple[Any, dict]],
             where: str) -> None:
        bus_value, _ = self.reader.resolve(bus_raw) if bus_raw is not None else (None, None)
        lid, name = self.reader.target(bus_raw) if bus_raw is not None else (None, None)
        bus_name = lid or (bus_value if isinstance(bus_value, str) else name) or DEFAULT_BUS
        pattern = _pattern(self.reader, pattern_raw, f"{where}.EventPattern", self.notes)
        out = []
        for arn, extra in targets:
            t = self.target(arn, f"{where}.Targets", ("queue", "function"))
            if t is None:
                continue
            tgt: dict[str, Any] = {"target": t}
            retry = extra.get("RetryPolicy")
            if isinstance(retry, dict):
                for key, field in (("MaximumRetryAttempts", "maximum_retry_attempts"),
                                   ("MaximumEventAgeInSeconds", "maximum_event_age_s")):
                    value, _ = self.reader.resolve(retry.get(key))
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        tgt[field] = value
            dlc = extra.get("DeadLetterConfig")
            if isinstance(dlc, dict) and "Arn" in dlc:
                dlq = self.target(dlc["Arn"], f"{where}.DeadLetterConfig", ("queue",))
                if dlq is not None:
                    tgt["dlq"] = dlq
            out.append(tgt)
        if out:
            self.bus(str(bus_name))["rules"].append({"pattern": pattern, "targets": out[:5]})

    # -- the template ---------------------------------------------------------------------
    def build(self) -> None:
        r = self.reader
        for fid in r.of_type(*FUNCTION_TYPES):
            self.function(fid)
        for qid in r.of_type(QUEUE_TYPE):
            self.queue(qid)
        links, skipped = _links(r)
        self.notes += [f"skipped: {s}" for s in skipped]
        linked = {link.mapping_id for link in links}
        for mid in r.of_type("AWS::Lambda::EventSourceMapping"):
            if mid not in linked and not any(str(mid) in s for s in skipped):
                self.notes.append(f"mapping {mid} reads a stream or broker (Kinesis, DynamoDB, "
                                  "Kafka, MQ), which the model does not simulate: left out")
        for link in links:
            if link.queue_id is None or link.function_id not in self.resources:
                self.notes.append(f"mapping {link.mapping_id}: its queue or function is not "
                                  "in this template (or not modelled): left out")
                continue
            facts = _Facts()
            _mapping_facts(r, link, facts)
            v = facts.values
            spec: dict[str, Any] = {
                "kind": "mapping", "queue": link.queue_id, "function": link.function_id,
                "batch_size": v["batch_size"], "batching_window_s": v["batching_window_s"],
                "max_concurrency": v["max_concurrency"],
                "report_batch_item_failures": v["report_batch_item_failures"],
            }
            if v["provisioned_min_pollers"] is not None:
                spec["provisioned_min_pollers"] = v["provisioned_min_pollers"]
                spec["provisioned_max_pollers"] = v["provisioned_max_pollers"]
            filters = link.properties.get("FilterCriteria")
            flist = filters.get("Filters") if isinstance(filters, dict) else None
            if isinstance(flist, list) and flist:
                first = flist[0].get("Pattern") if isinstance(flist[0], dict) else None
                flt = _pattern(r, first, f"{link.prefix}.FilterCriteria.Filters[0].Pattern",
                               self.notes)
                if flt is not None:
                    spec["filter"] = flt
                if len(flist) > 1:
                    self.notes.append(f"{link.prefix}.FilterCriteria has {len(flist)} "
                                      "filters; the model applies the first only")
            self.resources[_name(link.mapping_id)] = spec
            self.notes += [f"{link.mapping_id}: {n}" for n in facts.notes]
        for tid in r.of_type(TOPIC_TYPE):
            self.topic(tid)
            inline = r.props(tid).get("Subscription")
            for i, sub in enumerate(inline if isinstance(inline, list) else []):
                if isinstance(sub, dict):
                    proto, _ = r.resolve(sub.get("Protocol"))
                    self.subscribe(tid, sub.get("Endpoint"), _lower(proto), {},
                                   f"Resources.{tid}.Properties.Subscription[{i}]")
        for sid in r.of_type(SUBSCRIPTION_TYPE):
            props = r.props(sid)
            tid, _ = r.target(props.get("TopicArn"))
            if r.type_of(tid) != TOPIC_TYPE:
                self.notes.append(f"subscription {sid}: its topic is not in this template: "
                                  "left out")
                continue
            proto, _ = r.resolve(props.get("Protocol"))
            self.subscribe(tid, props.get("Endpoint"), _lower(proto), props,
                           f"Resources.{sid}.Properties")
        for rid in r.of_type(RULE_TYPE):
            props = r.props(rid)
            targets = props.get("Targets")
            pairs = [(t.get("Arn"), t) for t in (targets if isinstance(targets, list) else [])
                     if isinstance(t, dict)]
            self.rule(props.get("EventBusName"), props.get("EventPattern"), pairs,
                      f"Resources.{rid}.Properties")
        for fid in r.of_type("AWS::Serverless::Function"):
            if fid not in self.resources:
                continue
            self._sam_events(fid)
        self._async_config()

    def _sam_events(self, fid: str) -> None:
        r = self.reader
        events = r.props(fid).get("Events")
        for event, spec in (events.items() if isinstance(events, dict) else ()):
            if not isinstance(spec, dict):
                continue
            kind = spec.get("Type")
            props = spec.get("Properties") if isinstance(spec.get("Properties"), dict) else {}
            where = f"Resources.{fid}.Properties.Events.{event}.Properties"
            if kind == "SNS":
                tid, _ = r.target(props.get("Topic"))
                if r.type_of(tid) != TOPIC_TYPE:
                    self.notes.append(f"{where}.Topic is not a topic of this template: left out")
                    continue
                if props.get("SqsSubscription"):
                    # SAM puts a queue and a mapping between the topic and the function
                    qid = _name(f"{fid}-{event}-queue")
                    self.resources[qid] = {"kind": "queue"}
                    self.resources[_name(f"{fid}-{event}-mapping")] = {
                        "kind": "mapping", "queue": qid, "function": fid}
                    self.notes.append(f"{where}.SqsSubscription: SAM's queue between the "
                                      f"topic and {fid} is modelled as {qid} with AWS defaults")
                    self.topic(tid)["subscriptions"].append(self._sns_sub(qid, props, where))
                else:
                    self.topic(tid)["subscriptions"].append(self._sns_sub(fid, props, where))
            elif kind in ("EventBridgeRule", "CloudWatchEvent"):
                extra = {k: props[k] for k in ("RetryPolicy",) if k in props}
                dlc = props.get("DeadLetterConfig")
                if isinstance(dlc, dict) and "Arn" in dlc:
                    extra["DeadLetterConfig"] = {"Arn": dlc["Arn"]}
                elif isinstance(dlc, dict):
                    self.notes.append(f"{where}.DeadLetterConfig: SAM's generated queue is "
                                      "not modelled: the target has no DLQ")
                self.rule(props.get("EventBusName"), props.get("Pattern"),
                          [({"Ref": fid}, extra)], where)
            elif kind in ("Api", "HttpApi"):
                self.resources[_name(f"{fid}-{event}")] = {
                    "kind": "source", "target": fid, "invoke": "api"}
            elif kind not in ("SQS", None):
                self.notes.append(f"{where}: event type {_said(kind)} is not modelled: left out")

    def _sns_sub(self, target: str, props: dict, where: str) -> dict:
        sub: dict[str, Any] = {"target": target}
        if "FilterPolicy" in props:
            flt = _pattern(self.reader, props["FilterPolicy"], f"{where}.FilterPolicy",
                           self.notes)
            if flt is not None:
                sub["filter"] = flt
        scope, _ = self.reader.resolve(props.get("FilterPolicyScope", "MessageAttributes"))
        sub["filter_scope"] = "body" if scope == "MessageBody" else "attributes"
        return sub

    def _async_config(self) -> None:
        r = self.reader
        configs: list[tuple[str, dict, str]] = []
        for cid in r.of_type(INVOKE_CONFIG_TYPE):
            props = r.props(cid)
            fid = r.function_of(props.get("FunctionName"))
            if fid in self.resources:
                configs.append((fid, props, f"Resources.{cid}.Properties"))
        for fid in r.of_type("AWS::Serverless::Function"):
            cfg = r.props(fid).get("EventInvokeConfig")
            if fid in self.resources and isinstance(cfg, dict):
                configs.append((fid, cfg, f"Resources.{fid}.Properties.EventInvokeConfig"))
        for fid, props, where in configs:
            out = self.resources[fid].setdefault("async", {})
            for key, field in (("MaximumRetryAttempts", "maximum_retry_attempts"),
                               ("MaximumEventAgeInSeconds", "maximum_event_age_s")):
                value, _ = r.resolve(props.get(key))
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out[field] = value
            dest = props.get("DestinationConfig")
            for key, field in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
                d = dest.get(key) if isinstance(dest, dict) else None
                if isinstance(d, dict) and "Destination" in d:
                    t = self.target(d["Destination"], f"{where}.DestinationConfig.{key}",
                                    ("queue", "function", "topic"))
                    if t is not None:
                        out[field] = t
        for fid in r.of_type(*FUNCTION_TYPES):
            if fid not in self.resources:
                continue
            props = r.props(fid)
            dlc = props.get("DeadLetterConfig") or props.get("DeadLetterQueue")
            if isinstance(dlc, dict):
                arn = dlc.get("TargetArn")
                t = self.target(arn, f"Resources.{fid}.Properties.DeadLetterConfig",
                                ("queue", "topic"))
                if t is not None:
                    self.resources[fid].setdefault("async", {})["dlq"] = t

    # -- traffic and behaviour ------------------------------------------------------------
    def sources(self, overlay: dict) -> None:
        """A source for each resource nothing in the template feeds (a topic, a bus, a
        queue that a mapping reads), carrying the overlay's workload."""
        fed = set()
        for spec in self.resources.values():
            if spec["kind"] == "source":
                fed.add(spec["target"])
            for sub in spec.get("subscriptions", []):
                fed.add(sub["target"])
                fed.add(sub.get("dlq"))
            for rule in spec.get("rules", []):
                for t in rule["targets"]:
                    fed.add(t["target"])
                    fed.add(t.get("dlq"))
            fed.add(spec.get("dlq"))
            for key in ("on_success", "on_failure", "dlq"):
                fed.add(spec.get("async", {}).get(key))
        consumed = {s["queue"] for s in self.resources.values() if s["kind"] == "mapping"}
        workload = dict(overlay.get("workload") or {})
        for name, spec in list(self.resources.items()):
            if spec["kind"] == "source":
                spec.update(workload)
                continue
            entry = (spec["kind"] in ("topic", "bus") or
                     (spec["kind"] == "queue" and name in consumed))
            if entry and name not in fed:
                self.resources[_name(f"{name}-traffic")] = {
                    "kind": "source", "target": name, **workload}
                self.notes.append(f"{name} gets traffic from a generated source "
                                  f"{_name(f'{name}-traffic')} (the overlay's workload, else "
                                  "the default workload)")


def application_from_template(path, overlay: dict | None = None,
                              parameters: dict | None = None) -> tuple[Application, list[str]]:
    """The template at ``path`` as one application, and the notes on what was assumed or
    left out. ``overlay``: ``workload`` (every generated source), ``function`` and
    ``handler`` (every function), ``resources`` (by name: fields to change, or whole new
    resources such as sources with their own traffic). ``parameters`` override the
    template's parameter defaults (``--parameter``)."""
    from simlib.whatif.template import load_document

    path = Path(path)
    overlay = overlay or {}
    unknown = [k for k in overlay if k not in OVERLAY_SECTIONS]
    if unknown:
        raise ScenarioFileError(path, f"overlay.{unknown[0]}", overlay[unknown[0]], "", message=(
            f"overlay section {unknown[0]!r} does not apply to a template read as one "
            f"application; its sections: {', '.join(OVERLAY_SECTIONS)}"))
    for key in ("workload", "function", "handler", "database", "resources"):
        if overlay.get(key) is not None and not isinstance(overlay[key], dict):
            raise ScenarioFileError(path, f"overlay.{key}", overlay[key],
                                    "a mapping of field names to values")
    b = _Builder(load_document(path), path, parameters)
    b.build()
    b.sources(overlay)
    common = {**(overlay.get("function") or {}), **(overlay.get("handler") or {})}
    db = overlay.get("database")
    if isinstance(db, dict):
        b.resources["database"] = {"kind": "database", **db}
        b.notes.append("the overlay's database is shared by every function of the template")
    for spec in b.resources.values():
        if spec["kind"] == "function":
            spec.update(common)
            if isinstance(db, dict):
                spec.setdefault("database", "database")
    for name, fields in (overlay.get("resources") or {}).items():
        if name in b.resources and isinstance(fields, dict):
            b.resources[name].update(fields)
        else:
            b.resources[name] = fields
    if not any(isinstance(s, dict) and s.get("kind") == "source"
               for s in b.resources.values()):
        raise ScenarioFileError(path, "Resources", None, "", message=(
            "nothing in this template receives traffic the model can simulate (no "
            "topic, bus, consumed queue or API event): add a source in the overlay's "
            "resources"))
    data = {"resources": b.resources}
    for key in ("account", "run"):
        if key in overlay:
            data[key] = overlay[key]
    try:
        return Application.from_dict(data), b.notes
    except ScenarioError as exc:
        raise ScenarioFileError(path, exc.field, exc.value, exc.allowed) from None


__all__ = ["application_from_template"]
