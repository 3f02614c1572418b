"""Scenario: the whole description of a pipeline, as plain validated data.

A scenario is a tree of frozen dataclasses whose field names end in their unit. The same
names are used by the Python API, scenario files and sweeps (dotted paths such as
``queue.visibility_timeout_s``). Each field declares its allowed range next to its
default, so validation, error messages and documentation cannot drift apart. Variants
are made by copying (:meth:`Scenario.with_changes`), never by mutation.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from simlib.core import limits
from simlib.core.errors import ScenarioError

_INF = math.inf


# -- errors -----------------------------------------------------------------------------

class _BriefMapping(dict):
    """A mapping as the user gave it, shown by its size in error messages.

    Why: a misspelt section (``workloads:``) would otherwise be echoed whole into the one
    error line, burying the point (the name) under its content. The value itself is kept
    (it is still a dict, equal to the original) for programs that read ``error.value``.
    """

    def __repr__(self):
        n = len(self)
        return f"a mapping with {n:,} key{'s' * (n != 1)}" if n else "an empty mapping"


class _BriefList(list):
    """A list as the user gave it, shown by its length in error messages (as above)."""

    def __repr__(self):
        n = len(self)
        return f"a list of {n:,} item{'s' * (n != 1)}" if n else "an empty list"


class _BriefStr(str):
    """A long string, shown by its start and length in error messages (as above)."""

    def __repr__(self):
        return f"{str.__repr__(self[:40])[:-1]}...' ({len(self):,} characters)"


def _brief(value):
    """``value``, wrapped so that an error message shows it in a few words."""
    if isinstance(value, dict):
        return _BriefMapping(value)
    if isinstance(value, (list, tuple)):
        return _BriefList(value)
    if isinstance(value, str) and len(value) > 60:
        return _BriefStr(value)
    return value


def _error(path: str, value, allowed: str) -> ScenarioError:
    """A ScenarioError for a user-given value, which its message shows briefly."""
    return ScenarioError(path, _brief(value), allowed)


def _unknown(path: str, value, what: str, known) -> ScenarioError:
    """An unknown section or field: named, with the closest known name, not echoed."""
    text = str(path)  # a YAML key may be a number or null
    name = text.rsplit(".", 1)[-1] if what == "field" else text.partition(".")[0]
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return _error(path, value, f"unknown {what}{hint}; known: " + ", ".join(known))


class ConflictError(ScenarioError):
    """Fields each in range that together break a rule (AWS rejects the combination).

    ``field`` is the field the rule is stated for (``function.timeout_s`` for "the
    function timeout must not exceed the visibility timeout"). ``sides`` states the same
    rule from each other field's side: ``{path: (value, allowed)}``. Why: when a change
    (``--set``, an overlay, a sweep's value) breaks the rule, the person changed one of
    the other fields, and the message must be about the field they touched
    (:meth:`blamed_on`), not one they never mentioned.
    """

    def __init__(self, field: str, value, allowed: str, sides: dict[str, tuple[Any, str]]):
        super().__init__(field, value, allowed)
        self.sides = sides

    def blamed_on(self, changes: MappingABC[str, Any]) -> ScenarioError:
        """The rule as seen from the field that ``changes`` (dotted path -> value) set.

        The rule's own field when it was changed (or nothing in the rule was), else the
        first other field that was, shown with the value as the user wrote it. A change
        of a whole section (``{"database": {...}}``) changes each of its fields.
        """

        def changed(path: str) -> bool:
            return path in changes or path.partition(".")[0] in changes

        if changed(self.field):
            return self
        for path, (value, allowed) in self.sides.items():
            if changed(path):
                others = {p: side for p, side in self.sides.items() if p != path}
                return ConflictError(path, changes.get(path, value), allowed,
                                     {self.field: (self.value, self.allowed), **others})
        return self


def _spec(default, lo=None, hi=None, *, choices=None, optional=False, kind=None, note=""):
    """A dataclass field with its allowed range attached as metadata."""
    meta = {"lo": lo, "hi": hi, "choices": choices, "optional": optional, "note": note}
    meta["kind"] = kind or (type(default) if default is not None else float)
    return field(default=default, metadata=meta)


def _num(v: float) -> str:
    """1209600 -> '1,209,600'; 0.5 -> '0.5'."""
    return f"{int(v):,}" if float(v).is_integer() else f"{v:g}"


def _allowed_text(meta) -> str:
    parts = []
    if meta["choices"] is not None:
        parts.append("one of " + ", ".join(repr(c) for c in meta["choices"]))
    elif meta["kind"] is bool:
        parts.append("True or False")
    elif meta["kind"] is str:
        parts.append("a string")
    else:
        kind = "an integer" if meta["kind"] is int else "a number"
        lo, hi = meta["lo"], meta["hi"]
        if hi is None or hi == _INF:
            parts.append(f"{kind} >= {_num(lo)}")
        else:
            parts.append(f"{kind} in {_num(lo)}..{_num(hi)}")
    if meta["optional"]:
        parts.append("or None")
    text = " ".join(parts)
    return f"{text} ({meta['note']})" if meta["note"] else text


def _check_value(path: str, value, meta):
    """Validate and normalise one value; raise ScenarioError naming path and range."""
    if value is None:
        if meta["optional"]:
            return None
        raise _error(path, value, _allowed_text(meta))
    kind = meta["kind"]
    if meta["choices"] is not None:
        if value not in meta["choices"]:
            raise _error(path, value, _allowed_text(meta))
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise _error(path, value, _allowed_text(meta))
        return value
    if kind is str:
        if not isinstance(value, str):
            raise _error(path, value, "a string")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error(path, value, _allowed_text(meta))
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise _error(path, value, _allowed_text(meta))
        value = int(value)
    else:
        try:
            value = float(value)
        except OverflowError:  # an integer too large for a float: out of any range
            raise _error(path, "a number too large to hold", _allowed_text(meta)) from None
    if isinstance(value, float) and not math.isfinite(value):  # (an int is finite)
        raise _error(path, value, _allowed_text(meta))
    lo, hi = meta["lo"], meta["hi"]
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise _error(path, value, _allowed_text(meta))
    return value


def check_field(path: str, value):
    """``value`` checked as :meth:`Scenario.from_dict` checks the field at ``path``
    (``"queue.visibility_timeout_s"``): returned normalised, or a :class:`ScenarioError`
    raised whose ``allowed`` states the field's range alone (for a value that is there:
    no "or None", no model note). Why public: the linter judges a template's raw values
    by the same ranges the model enforces, not by a copy of them.
    """
    section, _, name = path.partition(".")
    known = {f.name: f for f in fields(_SECTIONS[section])} if section in _SECTIONS else {}
    if name not in known:
        raise ScenarioError(path, value, "a known section.field path")
    meta = known[name].metadata
    if value is not None:
        meta = {**meta, "optional": False, "note": ""}
    return _check_value(path, value, meta)


class _Section:
    """Shared construction and validation for the scenario's sections."""

    @classmethod
    def from_dict(cls, data: dict | None, prefix: str):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise _error(prefix, data, "a mapping of field names to values")
        known = {f.name: f for f in fields(cls)}
        values = {}
        for key, value in data.items():
            if key not in known:
                raise _unknown(f"{prefix}.{key}", value, "field", known)
            values[key] = _check_value(f"{prefix}.{key}", value, known[key].metadata)
        return cls(**values)


@dataclass(frozen=True)
class Workload(_Section):
    """What arrives: the arrival pattern, its rate and length, and the messages' nature."""

    pattern: str = _spec(
        "poisson", choices=("poisson", "constant", "burst", "diurnal", "trace")
    )
    rate_per_s: float = _spec(50.0, 0.001, 100_000.0)
    duration_s: float = _spec(400.0, 1.0, 30 * 86_400.0)
    poison_fraction: float = _spec(0.0, 0.0, 1.0, note="share of messages that always fail")
    payload_kb: float = _spec(2.0, *limits.MESSAGE_KB, note="SQS message size limit 1 MiB")
    burst_start_s: float = _spec(100.0, 0.0, _INF)
    burst_duration_s: float = _spec(60.0, 0.0, _INF)
    burst_rate_per_s: float = _spec(500.0, 0.0, 100_000.0)
    diurnal_period_s: float = _spec(86_400.0, 1.0, _INF)
    diurnal_amplitude: float = _spec(0.5, 0.0, 1.0)
    trace_path: str | None = _spec(None, optional=True, kind=str)


@dataclass(frozen=True)
class Queue(_Section):
    """The SQS standard queue and its redrive policy (max_receive_count None = no DLQ)."""

    visibility_timeout_s: float = _spec(30.0, *limits.VISIBILITY_TIMEOUT_S)
    max_receive_count: int | None = _spec(5, *limits.MAX_RECEIVE_COUNT, optional=True, kind=int)
    retention_s: float = _spec(345_600.0, *limits.RETENTION_S)


@dataclass(frozen=True)
class Mapping(_Section):
    """The event source mapping: Lambda's pollers between the queue and the function."""

    batch_size: int = _spec(10, *limits.BATCH_SIZE)
    batching_window_s: float = _spec(0.0, *limits.BATCHING_WINDOW_S)
    max_concurrency: int | None = _spec(
        None, *limits.MAPPING_MAX_CONCURRENCY, optional=True, kind=int
    )
    report_batch_item_failures: bool = _spec(False)
    # Provisioned mode (ProvisionedPollerConfig): both None = standard mode; either set
    # turns it on, the other taking AWS's default (2 and 200 event pollers).
    provisioned_min_pollers: int | None = _spec(
        None, *limits.PROVISIONED_MIN_POLLERS, optional=True, kind=int,
        note="ProvisionedPollerConfig.MinimumPollers; None with provisioned_max_pollers "
             "None = standard mode",
    )
    provisioned_max_pollers: int | None = _spec(
        None, *limits.PROVISIONED_MAX_POLLERS, optional=True, kind=int,
        note="ProvisionedPollerConfig.MaximumPollers, 10 concurrent invokes each",
    )

    @property
    def provisioned(self) -> bool:
        """Provisioned mode: the mapping has a ProvisionedPollerConfig."""
        return self.provisioned_min_pollers is not None or self.provisioned_max_pollers is not None

    @property
    def event_pollers(self) -> tuple[int, int] | None:
        """(minimum, maximum) event pollers in provisioned mode, AWS defaults filled in;
        None in standard mode."""
        if not self.provisioned:
            return None
        lo = self.provisioned_min_pollers
        hi = self.provisioned_max_pollers
        return (limits.PROVISIONED_MIN_POLLERS_DEFAULT if lo is None else lo,
                limits.PROVISIONED_MAX_POLLERS_DEFAULT if hi is None else hi)


@dataclass(frozen=True)
class Function(_Section):
    """The Lambda function's configuration and its own initialisation work."""

    runtime: str = _spec("python3.13", kind=str)
    architecture: str = _spec("x86_64", choices=("x86_64", "arm64"))
    memory_mb: int = _spec(512, *limits.MEMORY_MB)
    timeout_s: float = _spec(30.0, *limits.TIMEOUT_S)
    reserved_concurrency: int | None = _spec(None, 0, _INF, optional=True, kind=int)
    provisioned_concurrency: int = _spec(0, 0, _INF)
    idle_lifetime_s: float = _spec(600.0, 1.0, _INF, note="no official figure; 10 min measured")
    idle_reclaim_lag_s: float = _spec(
        40.0, 0.0, 3_600.0, note="reclaimed 636-645 s after the last request in 2020 (10 min nominal)"
    )
    idle_lifetime_spread_s: float = _spec(
        10.0, 0.0, _INF, note="uniform width per environment; measured reclaim window <= 10 s"
    )
    max_lifetime_s: float = _spec(7_200.0, 60.0, _INF, note="environments recycled regardless")
    routing: str = _spec(
        "newest", choices=("newest", "recent", "oldest", "random"),
        note="which idle on-demand environment serves a request: newest created, most or "
             "least recently released, or uniformly at random",
    )
    init_s: float = _spec(0.3, 0.0, 900.0, note="the function's own init work")
    init_in_handler: bool = _spec(False)
    snapstart: bool = _spec(False)
    log_kb_per_invocation: float = _spec(1.0, 0.0, _INF)
    nat_kb_per_message: float = _spec(0.0, 0.0, _INF)


@dataclass(frozen=True)
class Handler(_Section):
    """What one record costs the handler: duration at 1,769 MB, failures, database use."""

    duration_distribution: str = _spec(
        "lognormal", choices=("lognormal", "exponential", "constant")
    )
    duration_median_s: float = _spec(0.1, 0.0001, 900.0)
    duration_p99_s: float = _spec(0.5, 0.0001, 9_000.0)
    cpu_fraction: float = _spec(0.5, 0.0, 1.0)
    failure_rate: float = _spec(0.0, 0.0, 1.0)
    db_queries_per_message: int = _spec(1, 0, 1_000)
    idempotency: bool = _spec(False)
    idempotency_expiry_s: float = _spec(3_600.0, 1.0, _INF)
    # share of batchItemFailures responses (ReportBatchItemFailures on) that are malformed:
    # each fails its whole batch, whether or not any record failed
    malformed_response_rate: float = _spec(0.0, 0.0, 1.0)


@dataclass(frozen=True)
class Database(_Section):
    """A relational database behind the function, optionally behind a proxy."""

    max_connections: int = _spec(420, 1, 100_000, note="e.g. Aurora PostgreSQL t3.medium ~420")
    workers: int = _spec(8, 1, 10_000)
    query_s: float = _spec(0.005, 0.0, 60.0)
    connect_s: float = _spec(0.02, 0.0, 60.0)
    connection_per: str = _spec("environment", choices=("environment", "invocation"))
    proxy: bool = _spec(False)
    proxy_max_connections: int | None = _spec(None, 1, 100_000, optional=True, kind=int)
    proxy_borrow_timeout_s: float = _spec(120.0, 0.0, 3_600.0)
    instance_usd_per_hour: float = _spec(0.0, 0.0, _INF)
    # vCPUs of the instance, which an RDS Proxy is billed by (at least 2;
    # https://aws.amazon.com/rds/proxy/pricing/). 2 = db.t3.medium, the instance of the
    # max_connections note (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.DBInstanceClass.Summary.html).
    vcpus: int = _spec(2, 1, 1_000, note="the instance's vCPUs (db.t3.medium: 2)")


@dataclass(frozen=True)
class Account(_Section):
    """Account-wide Lambda limits shared by every function."""

    concurrency_limit: int = _spec(limits.ACCOUNT_CONCURRENCY_DEFAULT, 1, 1_000_000)


@dataclass(frozen=True)
class Caller(_Section):
    """A synchronous caller's retry policy for 429s (used when source is 'api').

    The defaults are an AWS SDK's standard retry mode: three attempts in all (two
    retries; https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html),
    each retry after a delay drawn uniformly up to min(20 s, 1 s x 2^attempt) (exponential
    backoff with full jitter, base 1 s, at most 20 s; the SDKs' RetryConfig documents the
    1 s initial backoff, e.g. https://docs.rs/aws-smithy-types/latest/aws_smithy_types/retry/struct.RetryConfig.html).
    ``max_retries: 0`` models a caller that does not retry.
    """

    max_retries: int = _spec(2, 0, 50)
    backoff_base_s: float = _spec(1.0, 0.0, 3_600.0)
    backoff_max_s: float = _spec(20.0, 0.0, 3_600.0)


@dataclass(frozen=True)
class AsyncInvoke(_Section):
    """A function's asynchronous invocation settings (``EventInvokeConfig``), used when it
    is invoked with ``InvocationType=Event`` (an application's ``invoke: event`` source, an
    asynchronous destination).

    ``on_success``, ``on_failure`` and ``dlq`` name resources of the application. AWS
    documents that an event can be delivered more than once even without an error and
    gives no rate: ``duplicate_rate`` is an assumption (docs/design.md, "Applications").
    """

    maximum_retry_attempts: int = _spec(2, *limits.ASYNC_RETRY_ATTEMPTS)
    maximum_event_age_s: float = _spec(21_600.0, *limits.ASYNC_EVENT_AGE_S)
    on_success: str | None = _spec(None, optional=True, kind=str)
    on_failure: str | None = _spec(None, optional=True, kind=str)
    dlq: str | None = _spec(None, optional=True, kind=str)
    duplicate_rate: float = _spec(
        0.001, 0.0, 1.0, note="share of events run twice without any error; AWS gives no rate")


@dataclass(frozen=True)
class Sending(_Section):
    """How an application's source sends: message groups (for a FIFO queue) and a
    producer's duplicate sends (a retry after a lost acknowledgement)."""

    message_groups: int = _spec(1, 1, 1_000_000, note="MessageGroupId values, one drawn per event")
    duplicate_send_rate: float = _spec(
        0.0, 0.0, 1.0, note="share of events the producer sends twice")
    duplicate_send_delay_s: float = _spec(
        1.0, 0.0, 3_600.0, note="how long after the first send the second comes")


@dataclass(frozen=True)
class SubscriptionPolicy(_Section):
    """An SNS subscription's numbers (its target, filter and DLQ are references)."""

    delivery_failure_rate: float = _spec(
        0.0, 0.0, 1.0, note="share of delivery attempts that fail (the endpoint unreachable)")
    filter_scope: str = _spec("attributes", choices=("attributes", "body"))


@dataclass(frozen=True)
class TargetPolicy(_Section):
    """An EventBridge rule target's retry policy and failure rate."""

    maximum_retry_attempts: int = _spec(185, *limits.EVENTBRIDGE_RETRY_ATTEMPTS)
    maximum_event_age_s: float = _spec(86_400.0, *limits.EVENTBRIDGE_EVENT_AGE_S)
    delivery_failure_rate: float = _spec(
        0.0, 0.0, 1.0, note="share of delivery attempts that fail (the target unreachable)")


@dataclass(frozen=True)
class Run(_Section):
    """How long the run may go on after arrivals stop."""

    drain_s: float = _spec(3_600.0, 0.0, 14 * 86_400.0)


_SECTIONS = {
    "workload": Workload,
    "queue": Queue,
    "mapping": Mapping,
    "function": Function,
    "handler": Handler,
    "database": Database,
    "account": Account,
    "caller": Caller,
    "run": Run,
}
_SOURCES = ("sqs", "api")


@dataclass(frozen=True)
class Scenario:
    """A complete, validated pipeline description. Build it with :meth:`from_dict`.

    Raises :class:`ScenarioError` for an unknown section or field, a wrong type, a value
    outside the AWS range, or a combination AWS rejects (for example a function timeout
    above the queue's visibility timeout).
    """

    source: str = "sqs"
    workload: Workload = field(default_factory=Workload)
    queue: Queue = field(default_factory=Queue)
    mapping: Mapping = field(default_factory=Mapping)
    function: Function = field(default_factory=Function)
    handler: Handler = field(default_factory=Handler)
    database: Database | None = field(default_factory=Database)
    account: Account = field(default_factory=Account)
    caller: Caller = field(default_factory=Caller)
    run: Run = field(default_factory=Run)

    def __post_init__(self):
        _check_consistency(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None = None) -> Scenario:
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise _error("scenario", data, "a mapping of section names to mappings")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "source":
                if value not in _SOURCES:
                    raise _error("source", value, "one of 'sqs', 'api'")
                values[key] = value
            elif key in _SECTIONS:
                if key == "database" and value is None:
                    values[key] = None
                else:
                    values[key] = _SECTIONS[key].from_dict(value, key)
            else:
                raise _unknown(key, value, "section", ["source", *_SECTIONS])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict; ``Scenario.from_dict(s.to_dict()) == s``."""
        return dataclasses.asdict(self)

    def with_changes(self, changes: dict[str, Any]) -> Scenario:
        """A validated copy with dotted-path changes, e.g. ``{"queue.visibility_timeout_s": 10}``.

        ``{"database": None}`` removes the database; setting a database field on a
        scenario without one starts from the database defaults. When the changes break a
        rule between fields, the error names the changed field (see
        :meth:`ConflictError.blamed_on`).
        """
        data = self.to_dict()
        for path, value in changes.items():
            head, _, rest = path.partition(".")
            if not rest:
                if head != "source" and head not in _SECTIONS:
                    raise _unknown(path, value, "section", ["source", *_SECTIONS])
                data[head] = value
                continue
            if head not in _SECTIONS:
                raise _unknown(path, value, "section", list(_SECTIONS))
            if "." in rest:
                raise _error(path, value, "a path of the form section.field")
            if data.get(head) is None:
                data[head] = {}
            data[head][rest] = value
        try:
            return Scenario.from_dict(data)
        except ConflictError as exc:
            raise exc.blamed_on(changes) from None

    def get(self, path: str):
        """The value at a dotted path (``"queue.visibility_timeout_s"``)."""
        obj: Any = self
        for part in path.split("."):
            if obj is None or not hasattr(obj, part):
                raise ScenarioError(path, None, "a known section.field path")
            obj = getattr(obj, part)
        return obj

    def runtime_warnings(self, today=None) -> list[str]:
        """Notices that do not stop a run, as of ``today`` (a ``datetime.date``).

        Today one kind: ``function.runtime`` is deprecated by AWS, or scheduled to be
        soon (``simlib.runtimes.deprecation_notice``). A list, not ``warnings.warn``, so
        notebooks show it only when asked, ``simlib run`` prints it on stderr and tests
        pin ``today``.
        """
        from simlib.core.runtimes import deprecation_notice

        notice = deprecation_notice(self.function.runtime, today)
        return [f"function.runtime: {notice}"] if notice else []

    @property
    def warnings(self) -> list[str]:
        """:meth:`runtime_warnings` as of today's date."""
        return self.runtime_warnings()


def _check_consistency(s: Scenario) -> None:
    """Rules that involve more than one field (AWS rejects these combinations)."""
    fn, q, m, h = s.function, s.queue, s.mapping, s.handler
    if s.source not in _SOURCES:
        raise ScenarioError("source", s.source, "one of 'sqs', 'api'")
    from simlib.core.runtimes import known_runtimes, snapstart_supported_runtimes

    if fn.runtime not in known_runtimes():
        raise ScenarioError("function.runtime", fn.runtime, "one of " + ", ".join(known_runtimes()))
    if fn.snapstart and fn.runtime not in snapstart_supported_runtimes():
        # https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html: Java 11+, Python
        # 3.12+, .NET 8+ (those without measured restores borrow one, data/README.md).
        with_data = ", ".join(snapstart_supported_runtimes())
        raise ConflictError(
            "function.snapstart", True,
            "True only for runtimes that support SnapStart: " + with_data,
            {"function.runtime": (fn.runtime, f"a runtime that supports SnapStart ({with_data}) "
                                              "while function.snapstart is True")},
        )
    if fn.snapstart and fn.provisioned_concurrency > 0:
        # "SnapStart does not support provisioned concurrency"
        # (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html).
        pc = fn.provisioned_concurrency
        raise ConflictError(
            "function.snapstart", True,
            f"False while function.provisioned_concurrency is {pc}; SnapStart does not "
            "support provisioned concurrency",
            {"function.provisioned_concurrency": (
                pc, "0 while function.snapstart is True; SnapStart does not support "
                    "provisioned concurrency")},
        )
    limit = s.account.concurrency_limit
    if fn.reserved_concurrency is not None:
        top = limit - limits.UNRESERVED_MIN
        if fn.reserved_concurrency > top:
            raise ConflictError(
                "function.reserved_concurrency", fn.reserved_concurrency,
                f"0..{max(top, 0)} (account.concurrency_limit {limit} minus "
                f"{limits.UNRESERVED_MIN} that must stay unreserved)",
                {"account.concurrency_limit": (
                    limit, f"at least {fn.reserved_concurrency + limits.UNRESERVED_MIN} "
                           f"(function.reserved_concurrency {fn.reserved_concurrency} plus "
                           f"{limits.UNRESERVED_MIN} that must stay unreserved)")},
            )
    cap = fn.reserved_concurrency if fn.reserved_concurrency is not None else limit
    if fn.reserved_concurrency is None:
        cap = limit - limits.UNRESERVED_MIN if limit > limits.UNRESERVED_MIN else limit
    if fn.provisioned_concurrency > cap:
        pc = fn.provisioned_concurrency
        if fn.reserved_concurrency is not None:
            side = {"function.reserved_concurrency": (
                fn.reserved_concurrency, f"at least function.provisioned_concurrency ({pc})")}
        else:
            side = {"account.concurrency_limit": (
                limit, f"at least {pc + limits.UNRESERVED_MIN} (function.provisioned_concurrency "
                       f"{pc} plus {limits.UNRESERVED_MIN} that must stay unreserved)")}
        raise ConflictError(
            "function.provisioned_concurrency", pc,
            f"0..{cap} (at most the reserved concurrency, and leaving "
            f"{limits.UNRESERVED_MIN} unreserved in the account)", side,
        )
    if h.duration_distribution == "lognormal" and h.duration_p99_s <= h.duration_median_s:
        p99, median = h.duration_p99_s, h.duration_median_s
        raise ConflictError(
            "handler.duration_p99_s", p99,
            f"greater than handler.duration_median_s ({median:g}) for a lognormal",
            {"handler.duration_median_s": (
                median, f"less than handler.duration_p99_s ({p99:g}) for a lognormal"),
             "handler.duration_distribution": (
                "lognormal", f"'exponential' or 'constant' while handler.duration_p99_s "
                             f"({p99:g}) is not above handler.duration_median_s ({median:g})")},
        )
    if s.source == "sqs":
        if fn.timeout_s > q.visibility_timeout_s:
            why = ("AWS rejects an event source mapping whose function timeout exceeds "
                   "the queue's visibility timeout")
            raise ConflictError(
                "function.timeout_s", fn.timeout_s,
                f"at most queue.visibility_timeout_s ({q.visibility_timeout_s:g}); {why}",
                {"queue.visibility_timeout_s": (
                    q.visibility_timeout_s, f"at least function.timeout_s ({fn.timeout_s:g}); "
                                            f"{why}"),
                 "source": ("sqs", f"'api' while function.timeout_s ({fn.timeout_s:g}) is "
                                   f"above queue.visibility_timeout_s "
                                   f"({q.visibility_timeout_s:g}); {why}")},
            )
        if m.batch_size > 10 and m.batching_window_s < 1:
            raise ConflictError(
                "mapping.batching_window_s", m.batching_window_s,
                ">= 1 when mapping.batch_size is above 10 (AWS requires a batching window)",
                {"mapping.batch_size": (
                    m.batch_size, f"at most 10 while mapping.batching_window_s is below 1 "
                                  f"({m.batching_window_s:g}); AWS requires a batching "
                                  "window of at least 1 s for batches above 10")},
            )
        if m.provisioned and m.max_concurrency is not None:
            # "You cannot use the maximum concurrency setting and provisioned mode at the
            # same time" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
            which = ("mapping.provisioned_min_pollers" if m.provisioned_min_pollers is not None
                     else "mapping.provisioned_max_pollers")
            why = "AWS rejects maximum concurrency together with provisioned mode"
            raise ConflictError(
                "mapping.max_concurrency", m.max_concurrency,
                f"None while {which} is {getattr(m, which.split('.')[1])} (provisioned "
                f"mode); {why}",
                {which: (getattr(m, which.split(".")[1]),
                         f"None while mapping.max_concurrency is {m.max_concurrency}; {why}")},
            )
        lo_hi = m.event_pollers
        if lo_hi is not None and lo_hi[0] > lo_hi[1]:
            lo, hi = lo_hi
            raise ConflictError(
                "mapping.provisioned_min_pollers", lo,
                f"at most mapping.provisioned_max_pollers ({hi}); the minimum number of "
                "event pollers cannot exceed the maximum",
                {"mapping.provisioned_max_pollers": (
                    hi, f"at least mapping.provisioned_min_pollers ({lo}); the maximum number "
                        "of event pollers cannot be below the minimum")},
            )
    w = s.workload
    if w.pattern == "trace" and not w.trace_path:
        raise ConflictError(
            "workload.trace_path", w.trace_path, "a CSV path when pattern is 'trace'",
            {"workload.pattern": ("trace", "'trace' only with workload.trace_path set to a "
                                           "CSV file")})
    if w.pattern == "trace" and not Path(w.trace_path).is_file():
        raise ConflictError(
            "workload.trace_path", w.trace_path, "an existing CSV file",
            {"workload.pattern": ("trace", "'trace' only with workload.trace_path naming an "
                                           f"existing CSV file (it is {w.trace_path!r})")})
    db = s.database
    pool = db.proxy_max_connections if db is not None else None
    if pool is not None and pool > db.max_connections:
        raise ConflictError(
            "database.proxy_max_connections", pool,
            f"1..{db.max_connections} (database.max_connections)",
            {"database.max_connections": (
                db.max_connections, f"at least database.proxy_max_connections ({pool})")},
        )
