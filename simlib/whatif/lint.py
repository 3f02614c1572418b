"""Known production traps of SQS -> Lambda pipelines, found before they page someone.

Why a linter beside a simulator: the simulator shows what a trap costs, the linter says
which trap a given template or scenario has, why it matters and how to fix it. Each rule
is written once, on a small record of facts (:class:`Facts`), that both a template's
:class:`~simlib.template.Pipeline` and a :class:`~simlib.scenario.Scenario` convert to,
so a template and its scenario can never be judged differently.

Severity is ``"error"`` for what AWS rejects (the stack would fail to deploy),
``"warning"`` for what deploys and then misbehaves, and ``"info"`` for what is worth a
look but may well be meant (an AWS default left in place, a timeout at its maximum).

Each rule declares the facts it reads. A fact the template does not let us know (a
queue defined in another stack: its visibility timeout, retention and redrive policy)
is in ``Facts.unknown``, and a rule that reads one is not applied rather than judged on
AWS defaults (:func:`skipped_rules` lists them). A value outside AWS's range is one
``value-out-of-range`` error, judged by the ranges the model enforces
(:func:`simlib.scenario.check_field`); rules that read that value are not applied until
it is fixed.

Sources for the rules (AWS documentation pages):
- Lambda Developer Guide, "Using Lambda with Amazon SQS" (with-sqs.html): set the
  queue's visibility timeout to at least six times the function timeout plus the
  batching window; the function timeout must not exceed the visibility timeout;
  ReportBatchItemFailures (partial batch responses); a batching window of at least 1 s
  when the batch size is over 10; FIFO batch size at most 10; "Set the maxReceiveCount on
  the queue's redrive policy to at least 5 to avoid sending messages to the dead letter
  queue due to throttling"; "If you configure reserved concurrency on your function, set
  a minimum of 5 concurrent executions to reduce the chance of throttling errors when
  Lambda invokes your function".
- SQS Developer Guide, "Using dead-letter queues in Amazon SQS": a redrive policy moves a
  message that keeps failing out of the way; a maxReceiveCount high enough lets
  transient failures retry (too low, e.g. 1, sends messages to the DLQ on a single
  failed receive). "Setting-up dead-letter queue retention in Amazon SQS"
  (setting-up-dead-letter-queue-retention.html): a standard queue's message keeps its
  original enqueue timestamp in the DLQ, so the DLQ's retention should be longer than the
  source queue's (a FIFO queue's timestamp resets).
- Lambda Developer Guide, "Configuring scaling behavior for SQS event source mappings"
  (services-sqs-scaling.html): maximum concurrency 2-1,000; if reserved concurrency is
  below the mapping's maximum concurrency, Lambda throttles and messages return to the
  queue, and AWS recommends maximum concurrency at or below the reserved concurrency;
  maximum concurrency and provisioned mode (ProvisionedPollerConfig) "are mutually
  exclusive options" ("You cannot use the maximum concurrency setting and provisioned
  mode at the same time"), and in provisioned mode each event poller handles up to 10
  concurrent invokes; the pollers start with five concurrent batches.
- Lambda Developer Guide, "How Lambda processes records from stream and queue-based event
  sources" (invocation-eventsourcemapping.html): event source mappings process each event
  at least once; Powertools for AWS Lambda, "Idempotency"
  (https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/): a record
  suppresses duplicates only until it expires (one hour by default).
- Lambda Developer Guide, "Configuring reserved concurrency for a function"
  (configuration-concurrency.html): reserved concurrency limits concurrency "to prevent
  overwhelming downstream resources, like database connections"; "Using Lambda with
  Amazon RDS" (services-rds.html): a proxy's shared pool lets a function "reach high
  concurrency levels without exhausting database connections".
- Lambda Developer Guide, "Configure Lambda function timeout" (configuration-timeout.html):
  default 3 s, maximum 900 s; "Configure Lambda function memory"
  (configuration-memory.html): the default 128 MB is the lowest setting, meant for
  simple functions, and CPU is allocated in proportion to memory.
- Lambda quotas (gettingstarted-limits.html), SQS quotas (quotas-messages.html) and the
  event source mapping pages above: the ranges of every value (kept in simlib.limits and
  enforced by Scenario).
- Lambda Developer Guide, "Lambda runtimes" (lambda-runtimes.html): deprecation, block
  function create and block function update dates per runtime (kept in
  simlib/data/runtime_deprecation.csv, see simlib.runtimes); "Runtime deprecation"
  (runtime-support-policy.html): a deprecated runtime gets no security patches and no
  technical support, and invocations are not blocked.
- Lambda Developer Guide, "Lambda Managed Instances: core concepts"
  (lambda-managed-instances-core-concepts.html): one execution environment serves
  several invocations at once and capacity scales asynchronously on CPU use; the model
  does not simulate that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from pathlib import Path

import pandas as pd

from simlib.core.errors import ScenarioError
from simlib.core.limits import INVOKES_PER_EVENT_POLLER, POLLERS_CEILING, TIMEOUT_S
from simlib.core.runtimes import deprecation_notice
from simlib.core.scenario import Database, Handler, Scenario, check_field
from simlib.whatif.scenario_file import load_application_file, load_scenario_file
from simlib.whatif.template import Pipeline, managed_instances_refusal

# Lambda Developer Guide, "Using Lambda with Amazon SQS".
VISIBILITY_FACTOR = 6  # visibility timeout >= 6 x function timeout + batching window
WINDOW_REQUIRED_ABOVE_BATCH = 10  # batch size > 10 needs MaximumBatchingWindowInSeconds >= 1
FIFO_BATCH_MAX = 10  # FIFO queues: batch size at most 10
# SQS "Using dead-letter queues" and Lambda "Using Lambda with Amazon SQS": below this a
# maxReceiveCount is "small", throttled receives alone can send a message to the DLQ.
MIN_RECEIVE_COUNT = 5
# Lambda "Using Lambda with Amazon SQS": "set a minimum of 5 concurrent executions".
MIN_RESERVED_CONCURRENCY = 5

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One trap in one resource: what was found (with the numbers), why, and the fix."""

    resource: str
    rule: str
    severity: str
    message: str
    why: str
    fix: str
    # the template key (dotted, e.g. Resources.Jobs.Properties.VisibilityTimeout) the
    # finding is about, when known: for line numbers in SARIF and editors
    location: str = ""


@dataclass(frozen=True)
class Facts:
    """What the rules look at, whether it came from a template or a scenario.

    ``function``, ``queue`` and ``mapping`` name the resource a finding is about.
    ``runtime`` is the runtime identifier as written (None for a container image),
    ``managed_instances`` the template key of a Lambda Managed Instances configuration
    (None without one), ``today`` the date runtime deprecations are judged on (None:
    ``date.today()``). ``unknown`` names the facts the template does not let us know
    (their values here are placeholders, and rules reading them are skipped);
    ``aws_defaults`` those it leaves to AWS's default; ``sources`` says which template
    key each fact was read from (``(fact, key)`` pairs, empty for a scenario).
    """

    function: str
    queue: str
    mapping: str
    timeout_s: float
    visibility_timeout_s: float
    batching_window_s: float
    batch_size: int
    max_receive_count: int | None
    report_batch_item_failures: bool
    reserved_concurrency: int | None
    max_concurrency: int | None
    fifo: bool
    runtime: str | None = None
    managed_instances: str | None = None
    today: date | None = None
    # ProvisionedPollerConfig (AWS defaults filled in); None: standard mode
    provisioned_min_pollers: int | None = None
    provisioned_max_pollers: int | None = None
    # whether the queue's dead-letter queue is FIFO (None: none, or not known)
    dlq_fifo: bool | None = None
    # the rest of the pipeline's numbers (None: not known)
    memory_mb: float | None = None
    retention_s: float | None = None
    provisioned_concurrency: int | None = None
    # the dead-letter queue's retention period (None: no DLQ, or not known)
    dlq_retention_s: float | None = None
    # the queue is itself a dead-letter queue (of a queue, a subscription, a target)
    queue_is_dlq: bool = False
    # how long the handler's idempotency records last (None: it keeps none, or unsaid)
    idempotency_expiry_s: float | None = None
    # the database the handler connects to (None: none, or unsaid)
    database: Database | None = None
    aws_defaults: frozenset[str] = frozenset()
    unknown: frozenset[str] = frozenset()
    sources: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of_pipeline(cls, p: Pipeline, today: date | None = None,
                    overlay: dict | None = None) -> Facts:
        """The facts of a template pipeline, as written (nothing range-checked).

        ``overlay`` (the nested dict of an ``--overlay`` file) adds what a template cannot
        say, each only when it declares it: the handler's idempotency records
        (``handler.idempotency``, ``handler.idempotency_expiry_s``) and the database
        (``database``). Raises :class:`ScenarioError` for an overlay value out of range.
        """
        expiry, database = _overlay_facts(overlay)
        return cls(
            function=p.function_id, queue=p.queue_label, mapping=p.mapping_id,
            timeout_s=p.timeout_s, visibility_timeout_s=p.visibility_timeout_s,
            batching_window_s=p.batching_window_s, batch_size=p.batch_size,
            max_receive_count=p.max_receive_count,
            report_batch_item_failures=p.report_batch_item_failures,
            reserved_concurrency=p.reserved_concurrency, max_concurrency=p.max_concurrency,
            fifo=p.fifo, runtime=p.runtime, managed_instances=p.managed_instances, today=today,
            provisioned_min_pollers=p.provisioned_min_pollers,
            provisioned_max_pollers=p.provisioned_max_pollers,
            dlq_fifo=p.dlq_fifo,
            memory_mb=p.memory_mb, retention_s=p.retention_s,
            provisioned_concurrency=p.provisioned_concurrency,
            # fields the template reader adds; until then: not known / not a DLQ
            dlq_retention_s=getattr(p, "dlq_retention_s", None),
            queue_is_dlq=bool(getattr(p, "queue_is_dlq", False)),
            idempotency_expiry_s=expiry, database=database,
            aws_defaults=frozenset(name for name in _DEFAULTED
                                   if p.source_of(name) == "AWS default"),
            unknown=frozenset(getattr(p, "unknown", None) or ()),
            sources=tuple(p.sources),
        )

    @classmethod
    def of_scenario(cls, s: Scenario, resource: str, today: date | None = None,
                    names: tuple[str, str, str] | None = None, fifo: bool = False,
                    dlq_fifo: bool | None = None, dlq_retention_s: float | None = None,
                    queue_is_dlq: bool = False) -> Facts:
        """``names``: (function, queue, mapping) resource names, when they differ (an
        application's pipeline); else all three are ``resource``. ``dlq_retention_s``
        and ``queue_is_dlq`` come from an application's other queues."""
        function, queue, mapping = names or (resource, resource, resource)
        return cls(
            function=function, queue=queue, mapping=mapping,
            timeout_s=s.function.timeout_s, visibility_timeout_s=s.queue.visibility_timeout_s,
            batching_window_s=s.mapping.batching_window_s, batch_size=s.mapping.batch_size,
            max_receive_count=s.queue.max_receive_count,
            report_batch_item_failures=s.mapping.report_batch_item_failures,
            reserved_concurrency=s.function.reserved_concurrency,
            max_concurrency=s.mapping.max_concurrency, fifo=fifo, dlq_fifo=dlq_fifo,
            runtime=s.function.runtime, today=today,
            provisioned_min_pollers=(s.mapping.event_pollers or (None, None))[0],
            provisioned_max_pollers=(s.mapping.event_pollers or (None, None))[1],
            memory_mb=s.function.memory_mb, retention_s=s.queue.retention_s,
            provisioned_concurrency=s.function.provisioned_concurrency,
            dlq_retention_s=dlq_retention_s, queue_is_dlq=queue_is_dlq,
            idempotency_expiry_s=(s.handler.idempotency_expiry_s if s.handler.idempotency
                                  else None),
            database=s.database,
        )


# facts a template may leave to AWS's default (Pipeline.source_of says "AWS default")
_DEFAULTED = ("timeout_s", "memory_mb", "batch_size", "batching_window_s",
              "visibility_timeout_s", "retention_s")


def _overlay_facts(overlay: dict | None) -> tuple[float | None, Database | None]:
    """(idempotency record expiry, database) an overlay declares, validated as ``run``
    validates them; (None, None) for what it leaves out."""
    overlay = overlay or {}
    expiry = None
    if "handler" in overlay:
        handler = Handler.from_dict(overlay["handler"], "handler")
        expiry = handler.idempotency_expiry_s if handler.idempotency else None
    database = None
    if overlay.get("database") is not None:
        database = Database.from_dict(overlay["database"], "database")
    return expiry, database


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,g}"


def _where(f: Facts, *names: str) -> str:
    """The template key of the first of ``names`` the facts were read from ("" when
    none was): the key that states the property, without the parameter it refers to."""
    sources = dict(f.sources)
    for name in names:
        if name in sources:
            return sources[name].split(" -> ")[0]
    return ""


# -- the rules: each takes Facts and returns a Finding (or a list of them) or None ---------

@dataclass(frozen=True)
class Rule:
    """A rule: its name, the :class:`Facts` fields it reads, and its check."""

    name: str
    uses: tuple[str, ...]
    check: Callable[[Facts], Finding | list[Finding] | None]


_REGISTRY: dict[str, Rule] = {}
_FACT_NAMES = frozenset(f.name for f in fields(Facts))


def _rule(name: str, *uses: str):
    """Register the decorated check as rule ``name``, reading the facts ``uses``."""
    typos = [u for u in uses if u not in _FACT_NAMES]
    if typos:
        raise ValueError(f"rule {name}: {', '.join(typos)} are not Facts fields")

    def register(check):
        _REGISTRY[name] = Rule(name, uses, check)
        return check
    return register


# Facts field -> the scenario field whose range it must fall in (simlib.scenario)
_RANGED = {
    "timeout_s": "function.timeout_s",
    "memory_mb": "function.memory_mb",
    "reserved_concurrency": "function.reserved_concurrency",
    "provisioned_concurrency": "function.provisioned_concurrency",
    "batch_size": "mapping.batch_size",
    "batching_window_s": "mapping.batching_window_s",
    "max_concurrency": "mapping.max_concurrency",
    "provisioned_min_pollers": "mapping.provisioned_min_pollers",
    "provisioned_max_pollers": "mapping.provisioned_max_pollers",
    "visibility_timeout_s": "queue.visibility_timeout_s",
    "retention_s": "queue.retention_s",
    "max_receive_count": "queue.max_receive_count",
}
_RANGE_SOURCES = {
    "function": "Lambda quotas, https://docs.aws.amazon.com/lambda/latest/dg/"
                "gettingstarted-limits.html, and https://docs.aws.amazon.com/lambda/latest/"
                "dg/configuration-concurrency.html",
    "mapping": ("https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, "
                "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html and "
                "https://docs.aws.amazon.com/lambda/latest/api/API_ProvisionedPollerConfig.html"),
    "queue": "SQS quotas, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/"
             "SQSDeveloperGuide/quotas-messages.html, and https://docs.aws.amazon.com/"
             "AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html",
}


def _out_of_range(f: Facts) -> dict[str, ScenarioError]:
    """fact -> the error the model raises for its value, for each known value AWS refuses."""
    bad = {}
    for fact, path in _RANGED.items():
        value = getattr(f, fact)
        if value is None or fact in f.unknown:
            continue
        try:
            check_field(path, value)
        except ScenarioError as exc:
            bad[fact] = exc
    return bad


def _shown(value, fact: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return repr(value)
    unit = " s" if fact.endswith("_s") else " MB" if fact.endswith("_mb") else ""
    return _n(value) + unit


@_rule("value-out-of-range")  # reads every ranged fact it knows (skips unknown ones)
def _value_out_of_range(f: Facts) -> list[Finding]:
    found = []
    sources = dict(f.sources)
    for fact, exc in _out_of_range(f).items():
        section = _RANGED[fact].split(".")[0]
        key = sources.get(fact, _RANGED[fact])
        resource = {"function": f.function, "mapping": f.mapping, "queue": f.queue}[section]
        found.append(Finding(
            resource, "value-out-of-range", "error",
            f"{key} is {_shown(getattr(f, fact), fact)}, outside AWS's range: {exc.allowed}",
            f"AWS rejects the value, so the stack fails to deploy ({_RANGE_SOURCES[section]}); "
            f"simlib run refuses it for the same reason ({_RANGED[fact]}).",
            f"Set {key.split(' -> ')[-1]} to {exc.allowed}.",
            location=_where(f, fact),
        ))
    return found


@_rule("timeout-above-visibility", "timeout_s", "visibility_timeout_s")
def _timeout_above_visibility(f: Facts) -> Finding | None:
    if f.timeout_s <= f.visibility_timeout_s:
        return None
    return Finding(
        f.queue, "timeout-above-visibility", "error",
        f"function {f.function} timeout {_n(f.timeout_s)} s is above the queue's "
        f"visibility timeout {_n(f.visibility_timeout_s)} s",
        "AWS rejects an SQS event source mapping whose function timeout exceeds the queue's "
        "visibility timeout: a message could reappear and run twice while the first "
        "invocation is still working.",
        _six_times_fix(f),
        location=_where(f, "visibility_timeout_s", "timeout_s"),
    )


@_rule("visibility-below-6x-timeout", "timeout_s", "visibility_timeout_s", "batching_window_s")
def _visibility_below_6x(f: Facts) -> Finding | None:
    wanted = VISIBILITY_FACTOR * f.timeout_s + f.batching_window_s
    if f.visibility_timeout_s >= wanted or f.timeout_s > f.visibility_timeout_s:
        return None  # the second case is the error above, with the same fix
    return Finding(
        f.queue, "visibility-below-6x-timeout", "warning",
        f"visibility timeout {_n(f.visibility_timeout_s)} s is below "
        f"{VISIBILITY_FACTOR} x function timeout {_n(f.timeout_s)} s + batching window "
        f"{_n(f.batching_window_s)} s = {_n(wanted)} s",
        "The visibility clock starts when the poller receives a message, batching window, "
        "cold start and throttle retries included; a slow or retried batch outlives it, "
        "the messages reappear and run again (duplicates) and their receive count rises "
        "toward the DLQ. AWS recommends at least six times the function timeout.",
        _six_times_fix(f),
        location=_where(f, "visibility_timeout_s", "timeout_s"),
    )


def _six_times_fix(f: Facts) -> str:
    wanted = VISIBILITY_FACTOR * f.timeout_s + f.batching_window_s
    return (f"Set the queue's VisibilityTimeout to at least {_n(wanted)} s "
            f"({VISIBILITY_FACTOR} x Timeout + MaximumBatchingWindowInSeconds), or lower "
            "the function timeout.")


@_rule("no-dead-letter-queue", "max_receive_count", "queue_is_dlq")
def _no_dlq(f: Facts) -> Finding | None:
    # a dead-letter queue's own failures have nowhere better to go: its messages are
    # already the ones set aside for inspection and redrive
    if f.max_receive_count is not None or f.queue_is_dlq:
        return None
    return Finding(
        f.queue, "no-dead-letter-queue", "warning",
        f"queue {f.queue} has no redrive policy (no dead-letter queue)",
        "A message that always fails (a poison message) is received, fails and returns "
        "again and again until its retention period ends, using concurrency and money "
        "each time, and is then deleted without a trace.",
        f"Add a RedrivePolicy with a deadLetterTargetArn and maxReceiveCount >= "
        f"{MIN_RECEIVE_COUNT}, and alarm on the DLQ's depth.",
        location=_where(f, "max_receive_count"),
    )


@_rule("max-receive-count-below-5", "max_receive_count")
def _receive_count_below_5(f: Facts) -> Finding | None:
    if f.max_receive_count is None or f.max_receive_count >= MIN_RECEIVE_COUNT:
        return None
    return Finding(
        f.queue, "max-receive-count-below-5", "warning",
        f"maxReceiveCount is {f.max_receive_count}, below {MIN_RECEIVE_COUNT}",
        "Every receive counts, including batches that were throttled, timed out or failed "
        "because of a batch-mate, so good messages reach the DLQ after a transient "
        "problem without a fair number of attempts.",
        f"Set RedrivePolicy.maxReceiveCount to at least {MIN_RECEIVE_COUNT}.",
        location=_where(f, "max_receive_count"),
    )


@_rule("no-report-batch-item-failures", "report_batch_item_failures", "batch_size")
def _no_partial_batch_response(f: Facts) -> Finding | None:
    if f.report_batch_item_failures or f.batch_size <= 1:
        return None
    return Finding(
        f.mapping, "no-report-batch-item-failures", "warning",
        f"batch size {f.batch_size} without FunctionResponseTypes: [ReportBatchItemFailures]",
        "When one record fails the whole batch returns to the queue: the records that "
        "succeeded run again (duplicate side effects) and a poison message drags its "
        "batch-mates toward the DLQ.",
        "Add FunctionResponseTypes: [ReportBatchItemFailures] to the event source mapping "
        "and return batchItemFailures with the failed message ids from the handler.",
        location=_where(f, "batch_size"),
    )


@_rule("reserved-below-max-concurrency", "reserved_concurrency", "max_concurrency",
       "provisioned_max_pollers")
def _reserved_below_max_concurrency(f: Facts) -> Finding | None:
    if f.reserved_concurrency is None:
        return None
    where = _where(f, "reserved_concurrency")
    if f.provisioned_max_pollers is not None and f.max_concurrency is None:
        # provisioned mode: concurrency is controlled through MaximumPollers
        pollers = f.provisioned_max_pollers * INVOKES_PER_EVENT_POLLER
        if f.reserved_concurrency >= pollers:
            return None
        fit = max(f.reserved_concurrency // INVOKES_PER_EVENT_POLLER, 2)
        return Finding(
            f.function, "reserved-below-max-concurrency", "warning",
            f"reserved concurrency {f.reserved_concurrency} of {f.function} is below the "
            f"{_n(pollers)} concurrent invokes of ProvisionedPollerConfig.MaximumPollers "
            f"{f.provisioned_max_pollers} ({INVOKES_PER_EVENT_POLLER} per event poller)",
            "The pollers invoke more batches than the function may run: the extra invokes "
            "are throttled, the messages wait invisible, return with a higher receive count "
            "and can reach the DLQ without ever running.",
            f"Set ProvisionedPollerConfig.MaximumPollers to about {fit} (10 invokes each), "
            "or raise ReservedConcurrentExecutions.",
            location=where,
        )
    pollers = f.max_concurrency if f.max_concurrency is not None else POLLERS_CEILING
    if f.reserved_concurrency >= pollers:
        return None
    said = (f"the mapping's ScalingConfig.MaximumConcurrency {pollers}"
            if f.max_concurrency is not None
            else f"the pollers' ceiling of {_n(pollers)} (no ScalingConfig.MaximumConcurrency)")
    return Finding(
        f.function, "reserved-below-max-concurrency", "warning",
        f"reserved concurrency {f.reserved_concurrency} of {f.function} is below {said}",
        "The pollers invoke more batches than the function may run: the extra invokes are "
        "throttled, the messages wait invisible, return with a higher receive count and can "
        "reach the DLQ without ever running.",
        f"Set ScalingConfig.MaximumConcurrency (2-1,000) to at most the reserved "
        f"concurrency ({f.reserved_concurrency}), or raise ReservedConcurrentExecutions.",
        location=where,
    )


@_rule("max-concurrency-with-provisioned-mode", "max_concurrency", "provisioned_max_pollers")
def _max_concurrency_with_provisioned_mode(f: Facts) -> Finding | None:
    if f.max_concurrency is None or f.provisioned_max_pollers is None:
        return None
    return Finding(
        f.mapping, "max-concurrency-with-provisioned-mode", "error",
        f"ScalingConfig.MaximumConcurrency {f.max_concurrency} together with "
        f"ProvisionedPollerConfig (event pollers {f.provisioned_min_pollers}-"
        f"{_n(f.provisioned_max_pollers)})",
        "AWS rejects the mapping: maximum concurrency and provisioned mode are mutually "
        "exclusive ways to control an SQS mapping's scaling.",
        "Keep one: remove ScalingConfig and cap concurrency with "
        "ProvisionedPollerConfig.MaximumPollers (10 concurrent invokes per event poller), "
        "or remove ProvisionedPollerConfig to use standard mode with MaximumConcurrency.",
        location=_where(f, "max_concurrency"),
    )


@_rule("batch-over-10-without-window", "batch_size", "batching_window_s")
def _batch_without_window(f: Facts) -> Finding | None:
    # (a FIFO queue allows neither: fifo-batch-over-10 says so, without advising a window;
    # a queue of another stack, FIFO or not, is refused either way, so this still fires)
    fifo = f.fifo and "fifo" not in f.unknown
    if fifo or f.batch_size <= WINDOW_REQUIRED_ABOVE_BATCH or f.batching_window_s >= 1:
        return None
    return Finding(
        f.mapping, "batch-over-10-without-window", "error",
        f"batch size {f.batch_size} with a batching window of "
        f"{_n(f.batching_window_s)} s",
        f"AWS rejects a batch size above {WINDOW_REQUIRED_ABOVE_BATCH} for SQS unless "
        "MaximumBatchingWindowInSeconds is at least 1 s (one receive returns at most 10 "
        "messages; the window is how a larger batch fills up).",
        "Set MaximumBatchingWindowInSeconds to 1 s or more, and add it to the visibility "
        "timeout budget, or lower BatchSize to 10.",
        location=_where(f, "batch_size"),
    )


@_rule("fifo-batch-over-10", "fifo", "batch_size")
def _fifo_batch(f: Facts) -> Finding | None:
    if not f.fifo or f.batch_size <= FIFO_BATCH_MAX:
        return None
    return Finding(
        f.mapping, "fifo-batch-over-10", "error",
        f"FIFO queue {f.queue} with batch size {f.batch_size}",
        f"For FIFO queues the batch size is at most {FIFO_BATCH_MAX}; AWS rejects a larger "
        "one.",
        f"Set BatchSize to {FIFO_BATCH_MAX} or less.",
        location=_where(f, "batch_size"),
    )


@_rule("fifo-batching-window", "fifo", "batching_window_s")
def _fifo_batching_window(f: Facts) -> Finding | None:
    if not f.fifo or f.batching_window_s <= 0:
        return None
    return Finding(
        f.mapping, "fifo-batching-window", "error",
        f"FIFO queue {f.queue} with a batching window of {_n(f.batching_window_s)} s",
        "\"Batching window is not supported for FIFO queues\" (https://docs.aws.amazon.com/"
        "lambda/latest/dg/services-sqs-parameters.html): AWS rejects the mapping.",
        "Remove MaximumBatchingWindowInSeconds from the mapping.",
        location=_where(f, "batching_window_s"),
    )


@_rule("dlq-type-mismatch", "fifo", "dlq_fifo")
def _dlq_type_mismatch(f: Facts) -> Finding | None:
    if f.dlq_fifo is None or f.dlq_fifo == f.fifo:
        return None
    kind, other = ("FIFO", "standard") if f.fifo else ("standard", "FIFO")
    return Finding(
        f.queue, "dlq-type-mismatch", "error",
        f"{kind} queue {f.queue} has a {other} dead-letter queue",
        "\"The dead-letter queue of a FIFO queue must also be a FIFO queue. Similarly, the "
        "dead-letter queue of a standard queue must also be a standard queue.\" "
        "(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
        "sqs-dead-letter-queues.html)",
        f"Point the RedrivePolicy at a {kind} queue.",
        location=_where(f, "max_receive_count"),
    )


@_rule("deprecated-runtime", "runtime")
def _deprecated_runtime(f: Facts) -> Finding | None:
    notice = deprecation_notice(f.runtime, f.today)
    if notice is None:
        return None
    return Finding(
        f.function, "deprecated-runtime", "warning",
        f"function {f.function}: {notice.split('; the model')[0]}",
        "A deprecated runtime gets no security patches and no technical support; from the "
        "block dates on, a deployment that creates or updates the function fails, so a fix "
        "cannot ship without first changing the runtime. Invocations are not blocked.",
        "Move the function to a supported runtime of the same language (for example "
        "python3.13, nodejs24.x, java21) and test it before the block-create date.",
        location=_where(f, "runtime"),
    )


@_rule("managed-instances-not-modelled", "managed_instances")
def _managed_instances(f: Facts) -> Finding | None:
    if not f.managed_instances:
        return None
    return Finding(
        f.function, "managed-instances-not-modelled", "warning",
        managed_instances_refusal(f.function, f.managed_instances),
        "Lambda Managed Instances run on EC2 capacity: each execution environment serves "
        "many invocations at once and scaling follows CPU use asynchronously (no "
        "per-request cold starts). The simulator assumes one invocation per environment "
        "and on-demand billing, so simlib run refuses this pipeline rather than print "
        "wrong figures.",
        "Judge this function with load tests on its capacity provider; use simlib run only "
        "for pipelines on the default (on-demand) Lambda compute.",
        location=f.managed_instances,
    )


@_rule("reserved-concurrency-below-5", "reserved_concurrency")
def _reserved_below_5(f: Facts) -> Finding | None:
    reserved = f.reserved_concurrency
    if reserved is None or reserved >= MIN_RESERVED_CONCURRENCY:
        return None
    what = ("0: every invoke is throttled and nothing is processed" if reserved == 0
            else f"{reserved}, below {MIN_RESERVED_CONCURRENCY}")
    return Finding(
        f.function, "reserved-concurrency-below-5", "warning",
        f"reserved concurrency of queue consumer {f.function} is {what}",
        "\"If you configure reserved concurrency on your function, set a minimum of 5 "
        "concurrent executions to reduce the chance of throttling errors when Lambda "
        "invokes your function\" (https://docs.aws.amazon.com/lambda/latest/dg/"
        "with-sqs.html). The pollers start with five concurrent batches "
        "(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): the "
        "batches beyond the reserved concurrency are throttled from the first message on, "
        "wait invisible for the visibility timeout and return with a higher receive count.",
        f"Set ReservedConcurrentExecutions to at least {MIN_RESERVED_CONCURRENCY}, and cap "
        "the mapping with ScalingConfig.MaximumConcurrency (2-1,000) at or below it; to "
        "pause processing, disable the mapping (Enabled: false) rather than reserve 0.",
        location=_where(f, "reserved_concurrency"),
    )


@_rule("over-pull-to-dead-letter-queue", "max_receive_count", "reserved_concurrency",
       "max_concurrency", "provisioned_max_pollers")
def _over_pull(f: Facts) -> Finding | None:
    # "small": below the 5 receives AWS asks for "to avoid sending messages to the dead
    # letter queue due to throttling" (with-sqs.html)
    if (f.reserved_concurrency is None or f.max_concurrency is not None
            or f.provisioned_max_pollers is not None or f.max_receive_count is None
            or f.max_receive_count >= MIN_RECEIVE_COUNT
            or f.reserved_concurrency >= POLLERS_CEILING):
        return None
    return Finding(
        f.queue, "over-pull-to-dead-letter-queue", "warning",
        f"maxReceiveCount {f.max_receive_count} on queue {f.queue}, whose consumer "
        f"{f.function} has reserved concurrency {f.reserved_concurrency} and its mapping no "
        "ScalingConfig.MaximumConcurrency",
        "Without maximum concurrency the pollers keep receiving batches beyond the reserved "
        "concurrency (up to the mapping's ceiling, "
        "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html); each "
        "throttled batch counts as a receive, so after "
        f"{f.max_receive_count} throttled receive{'s' * (f.max_receive_count != 1)} a "
        "message goes to the dead-letter queue without ever running. AWS asks for a "
        f"maxReceiveCount of at least {MIN_RECEIVE_COUNT} \"to avoid sending messages to the "
        "dead letter queue due to throttling\" (https://docs.aws.amazon.com/lambda/latest/"
        "dg/with-sqs.html).",
        f"Set ScalingConfig.MaximumConcurrency to at most {max(f.reserved_concurrency, 2)} "
        "so the pollers stop receiving what the function cannot run, and raise "
        f"maxReceiveCount to at least {MIN_RECEIVE_COUNT}.",
        location=_where(f, "max_receive_count"),
    )


@_rule("idempotency-expires-before-redelivery", "idempotency_expiry_s", "max_receive_count",
       "visibility_timeout_s", "retention_s")
def _idempotency_expiry(f: Facts) -> Finding | None:
    if f.idempotency_expiry_s is None:
        return None
    if f.max_receive_count is not None:
        window = f.max_receive_count * f.visibility_timeout_s
        said = (f"maxReceiveCount {f.max_receive_count} x visibility timeout "
                f"{_n(f.visibility_timeout_s)} s = {_n(window)} s")
        if f.retention_s is not None and f.retention_s < window:
            window = f.retention_s
            said = f"the queue's retention period {_n(window)} s"
    elif f.retention_s is not None:
        window = f.retention_s
        said = f"the queue's retention period {_n(window)} s (no redrive policy)"
    else:
        return None
    if f.idempotency_expiry_s >= window:
        return None
    return Finding(
        f.function, "idempotency-expires-before-redelivery", "warning",
        f"idempotency records of {f.function} expire after "
        f"{_n(f.idempotency_expiry_s)} s, while queue {f.queue} can still redeliver a "
        f"message for {said}",
        "\"Lambda event source mappings process each event at least once, and duplicate "
        "processing of records can occur\" (https://docs.aws.amazon.com/lambda/latest/dg/"
        "invocation-eventsourcemapping.html): SQS delivers a message that was not deleted "
        "again each time its visibility timeout ends, until maxReceiveCount receives or the "
        "retention period. An idempotency record suppresses the duplicate only until it "
        "expires (Powertools for AWS Lambda keeps it one hour by default, "
        "https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/), so a "
        "redelivery after that runs the side effect again.",
        f"Keep idempotency records at least {_n(window)} s (expires_after_seconds, "
        "handler.idempotency_expiry_s in the model), or shorten the redelivery window "
        "(a lower visibility timeout or maxReceiveCount, within the advice above).",
    )


@_rule("database-connections-below-concurrency", "database", "max_concurrency",
       "reserved_concurrency", "provisioned_max_pollers")
def _database_connections(f: Facts) -> Finding | None:
    db = f.database
    if db is None or db.proxy or db.connection_per != "environment":
        return None  # a proxy pools connections; per invocation they are not held
    caps = []  # (concurrency, what sets it, the fact) the mapping can reach
    if f.max_concurrency is not None:
        caps.append((f.max_concurrency, "the mapping's ScalingConfig.MaximumConcurrency",
                     "max_concurrency"))
    elif f.provisioned_max_pollers is not None:
        said = ("the concurrent invokes of ProvisionedPollerConfig.MaximumPollers "
                f"{f.provisioned_max_pollers}")
        caps.append((f.provisioned_max_pollers * INVOKES_PER_EVENT_POLLER, said,
                     "provisioned_max_pollers"))
    if f.reserved_concurrency is not None:
        caps.append((f.reserved_concurrency, "the function's reserved concurrency",
                     "reserved_concurrency"))
    if not caps:
        return None  # uncapped: the account's quota decides, which a template does not say
    cap, said, fact = min(caps, key=lambda c: c[0])  # a tie names the mapping's cap
    if db.max_connections >= cap:
        return None
    return Finding(
        f.function, "database-connections-below-concurrency", "warning",
        f"database max_connections {db.max_connections} is below {said} ({cap}), and "
        f"{f.function} opens one connection per execution environment",
        "Each execution environment opens its own connection and keeps it while it lives, "
        "so at full concurrency the function needs as many connections as environments; "
        "past max_connections new connections are refused, those invocations fail and "
        "their messages return to the queue. Reserved concurrency can be used \"to prevent "
        "overwhelming downstream resources, like database connections\" "
        "(https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), and "
        "a proxy's shared pool lets a function \"reach high concurrency levels without "
        "exhausting database connections\" (https://docs.aws.amazon.com/lambda/latest/dg/"
        "services-rds.html).",
        f"Cap ScalingConfig.MaximumConcurrency at most at {db.max_connections} less the "
        "connections other clients need, or put an RDS Proxy in front of the database, "
        "or use an instance with more connections.",
        location=_where(f, fact),
    )


@_rule("dlq-retention-shorter-than-queue", "fifo", "retention_s", "dlq_retention_s")
def _dlq_retention(f: Facts) -> Finding | None:
    # a FIFO queue's message gets a new enqueue timestamp in its DLQ: no trap there
    if (f.fifo or f.dlq_retention_s is None or f.retention_s is None
            or f.dlq_retention_s >= f.retention_s):
        return None
    return Finding(
        f.queue, "dlq-retention-shorter-than-queue", "warning",
        f"the dead-letter queue of {f.queue} keeps messages {_n(f.dlq_retention_s)} s, "
        f"less than the queue's own {_n(f.retention_s)} s",
        "\"For standard queues, the expiration of a message is always based on its original "
        "enqueue timestamp\": a message moved to the dead-letter queue keeps the time it "
        "already spent in the source queue, so one that spent longer than the DLQ's "
        "retention there is deleted as soon as it arrives, and the others soon after. AWS: "
        "\"always set the retention period of a dead-letter queue to be longer than the "
        "retention period of the original queue\" (https://docs.aws.amazon.com/"
        "AWSSimpleQueueService/latest/SQSDeveloperGuide/"
        "setting-up-dead-letter-queue-retention.html).",
        "Set the dead-letter queue's MessageRetentionPeriod above the source queue's, "
        "for example 1,209,600 s (14 days, the maximum).",
        location=_where(f, "dlq_retention_s", "retention_s"),
    )


@_rule("timeout-at-maximum", "timeout_s")
def _timeout_at_maximum(f: Facts) -> Finding | None:
    # info, not warning: long jobs set it on purpose and it deploys and works; what it
    # costs (no headroom, slow retries) is worth a look, not a failed build
    if f.timeout_s != TIMEOUT_S[1]:
        return None
    return Finding(
        f.function, "timeout-at-maximum", "info",
        f"function {f.function} timeout is {_n(f.timeout_s)} s, Lambda's maximum",
        "Timeout can be set \"up to a maximum value of 900 seconds (15 minutes)\" "
        "(https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html): a batch "
        "whose work grows has no headroom left, a stuck invocation holds its batch 15 "
        f"minutes before it is retried, and the queue needs a visibility timeout of at "
        f"least {_n(VISIBILITY_FACTOR * TIMEOUT_S[1])} s.",
        "Set Timeout a margin above the handler's measured p99 for a full batch; work that "
        "needs the whole 15 minutes is better split into smaller batches or steps.",
        location=_where(f, "timeout_s"),
    )


@_rule("aws-default-timeout", "timeout_s", "aws_defaults")
def _default_timeout(f: Facts) -> Finding | None:
    if "timeout_s" not in f.aws_defaults:
        return None
    return Finding(
        f.function, "aws-default-timeout", "info",
        f"queue consumer {f.function} sets no Timeout: AWS's default "
        f"{_n(f.timeout_s)} s applies",
        "\"The default value for this setting is 3 seconds\" (https://docs.aws.amazon.com/"
        "lambda/latest/dg/configuration-timeout.html): a whole batch, cold start included, "
        "must finish in it, or the invocation is stopped and the batch returns to the "
        "queue. Often an oversight rather than a choice.",
        "Set Timeout on the function (or in Globals.Function) from the handler's measured "
        "duration for a full batch, and the queue's VisibilityTimeout to six times it.",
        location=f"Resources.{f.function}.Properties",
    )


@_rule("aws-default-memory", "memory_mb", "aws_defaults")
def _default_memory(f: Facts) -> Finding | None:
    if "memory_mb" not in f.aws_defaults:
        return None
    return Finding(
        f.function, "aws-default-memory", "info",
        f"queue consumer {f.function} sets no MemorySize: AWS's default "
        f"{_n(f.memory_mb or 0)} MB applies",
        "\"The default setting, 128 MB, is the lowest possible setting\" and is recommended "
        "only for simple functions that transform and route events; CPU is allocated in "
        "proportion to memory (https://docs.aws.amazon.com/lambda/latest/dg/"
        "configuration-memory.html), so a consumer doing real work per batch runs slower "
        "and may time out.",
        "Set MemorySize on the function (or in Globals.Function); measure a few sizes "
        "(for example with AWS Lambda Power Tuning) and keep the cheapest that meets the "
        "latency you need.",
        location=f"Resources.{f.function}.Properties",
    )


RULES: dict[str, Callable[[Facts], Finding | list[Finding] | None]] = {
    name: rule.check for name, rule in _REGISTRY.items()
}
"""Every rule's check by name (a check returns a Finding, a list of them, or None)."""

# what an unknown fact is, in words, for "not checked" lines
FACT_LABELS = {
    "visibility_timeout_s": "the queue's visibility timeout",
    "retention_s": "the queue's retention period",
    "max_receive_count": "the queue's redrive policy",
    "fifo": "the queue's type",
    "dlq_fifo": "the dead-letter queue's type",
    "dlq_retention_s": "the dead-letter queue's retention period",
    "queue_is_dlq": "whether the queue is another queue's dead-letter queue",
    "timeout_s": "the function timeout",
    "memory_mb": "the function memory",
    "runtime": "the function runtime",
    "reserved_concurrency": "the function's reserved concurrency",
    "batch_size": "the batch size",
    "batching_window_s": "the batching window",
    "max_concurrency": "the mapping's maximum concurrency",
    "provisioned_max_pollers": "the mapping's provisioned pollers",
    "report_batch_item_failures": "the mapping's response types",
}


def rule_uses(name: str) -> tuple[str, ...]:
    """The :class:`Facts` fields rule ``name`` reads."""
    return _REGISTRY[name].uses


def skipped_rules(facts: Facts) -> list[tuple[str, tuple[str, ...]]]:
    """(rule, the unknown facts it needed) for each rule not applied to ``facts``."""
    return [(rule.name, tuple(u for u in rule.uses if u in facts.unknown))
            for rule in _REGISTRY.values() if facts.unknown.intersection(rule.uses)]


def not_checked(facts: Facts) -> list[str]:
    """One line per skipped rule, e.g. ``no-dead-letter-queue (the queue's redrive
    policy is unknown)``, for the command line to print after "not checked:"."""
    lines = []
    for name, needed in skipped_rules(facts):
        said = [FACT_LABELS.get(n, n.replace("_", " ")) for n in needed]
        text = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
        lines.append(f"{name} ({text} {'is' if len(said) == 1 else 'are'} unknown)")
    return lines


# -- applying them ------------------------------------------------------------------------

def lint_facts(facts: Facts) -> list[Finding]:
    """Every rule applied to one fact record; errors first.

    A rule reading an unknown fact is skipped (see :func:`skipped_rules`); so is one
    reading a value out of AWS's range, which ``value-out-of-range`` reports instead.
    """
    bad = set(_out_of_range(facts))
    found: list[Finding] = []
    for rule in _REGISTRY.values():
        if facts.unknown.intersection(rule.uses) or bad.intersection(rule.uses):
            continue
        result = rule.check(facts)
        if isinstance(result, Finding):
            found.append(result)
        elif result:
            found.extend(result)
    return sorted(found, key=lambda f: SEVERITIES.index(f.severity))


def lint_pipeline(p: Pipeline, today: date | None = None,
                  overlay: dict | None = None) -> list[Finding]:
    """Traps in one template pipeline (raw facts: also what AWS would reject);
    ``overlay`` as in :meth:`Facts.of_pipeline`."""
    return lint_facts(Facts.of_pipeline(p, today, overlay))


def lint_scenario(s: Scenario, resource: str = "scenario",
                  today: date | None = None) -> list[Finding]:
    """Traps in a scenario; for ``source: api`` (no queue or mapping) only the runtime's."""
    facts = Facts.of_scenario(s, resource, today)
    if s.source != "sqs":
        finding = _deprecated_runtime(facts)
        return [finding] if finding else []
    return lint_facts(facts)


def _async_without_failure_capture(app, name: str) -> Finding | None:
    """An asynchronously invoked function that keeps no record of what failed."""
    cfg = app.resources[name].async_invoke
    if cfg.on_failure is not None or cfg.dlq is not None:
        return None
    return Finding(
        name, "async-without-on-failure", "warning",
        f"function {name} is invoked asynchronously with neither an on-failure destination "
        "nor a dead-letter queue",
        "An event whose retries run out, or that waits in Lambda's event queue longer than "
        "the maximum event age (for example while the function is throttled), is discarded "
        "without a trace (https://docs.aws.amazon.com/lambda/latest/dg/"
        "invocation-async-retain-records.html).",
        "Add DestinationConfig.OnFailure (an SQS queue, SNS topic, EventBridge bus or "
        "function: the record keeps the error) or a DeadLetterConfig, and alarm on it.",
    )


def lint_application(app, today: date | None = None, pipelines_too: bool = True
                     ) -> list[Finding]:
    """Traps in an application: every pipeline's (a mapping from a queue to a function,
    named after its resources), every function's runtime, and the application's own
    (an asynchronously invoked function that keeps no record of failures, an SNS
    subscription or EventBridge target without a DLQ, filtered mappings sharing a
    queue). ``pipelines_too=False`` gives the application's own only (a template's
    pipelines are linted from its raw facts)."""
    from simlib.engine import async_targets

    found: list[Finding] = []
    if not pipelines_too:
        return _application_findings(app, async_targets)
    found += _pipeline_findings(app, today)
    found += _application_findings(app, async_targets)
    return sorted(found, key=lambda f: SEVERITIES.index(f.severity))


def _pipeline_findings(app, today) -> list[Finding]:
    found: list[Finding] = []
    for m in app.of_kind("mapping"):
        scen = app.unit_scenario(m.function, queue=m.queue, mapping=m.name)
        q = app.resources[m.queue]
        dlq = app.resources[q.dlq] if q.dlq is not None else None
        # a queue some queue, subscription, target or async config sends its failures to
        is_dlq = any(kind == "dlq" for _, kind in app.inbound(q.name))
        found += lint_facts(Facts.of_scenario(
            scen, m.name, today, names=(m.function, m.queue, m.name), fifo=q.fifo,
            dlq_fifo=dlq.fifo if dlq is not None else None,
            dlq_retention_s=dlq.queue.retention_s if dlq is not None else None,
            queue_is_dlq=is_dlq))
    linted = {m.function for m in app.of_kind("mapping")}
    for f in app.of_kind("function"):
        if f.name not in linted:
            finding = _deprecated_runtime(Facts.of_scenario(app.unit_scenario(f.name), f.name,
                                                            today))
            found += [finding] if finding else []
    return found


def _application_findings(app, async_targets) -> list[Finding]:
    found: list[Finding] = []
    for name in async_targets(app):
        finding = _async_without_failure_capture(app, name)
        found += [finding] if finding else []
    for q in app.of_kind("queue"):
        consumers = app.mappings_of(q.name)
        if len(consumers) > 1 and any(m.filter is not None for m in consumers):
            names = ", ".join(m.name for m in consumers)
            found.append(Finding(
                q.name, "filtered-mappings-share-a-queue", "warning",
                f"queue {q.name} is read by {len(consumers)} mappings ({names}), some with "
                "filter criteria",
                "A mapping deletes every SQS message that does not match its filter, so a "
                "message meant for one consumer is lost whenever the other receives it "
                "first (https://docs.aws.amazon.com/lambda/latest/dg/"
                "invocation-eventfiltering.html).",
                "Give each consumer its own queue (an SNS topic or EventBridge rule in front "
                "filters per subscriber) or one mapping that routes in code.",
            ))
    for topic in app.of_kind("topic"):
        for i, sub in enumerate(topic.subscriptions):
            if sub.dlq is None:
                found.append(Finding(
                    topic.name, "sns-subscription-without-dlq", "warning",
                    f"subscription {i} of topic {topic.name} (to {sub.target}) has no "
                    "dead-letter queue",
                    "When SNS cannot deliver a message (the endpoint unavailable, a queue "
                    "refusing it) and its delivery policy is exhausted, it \"discards the "
                    "message—unless a dead-letter queue is attached to the subscription\" "
                    "(https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html).",
                    "Set the subscription's RedrivePolicy to an SQS queue and alarm on its depth.",
                ))
    for bus in app.of_kind("bus"):
        for i, rule in enumerate(bus.rules):
            for j, t in enumerate(rule.targets):
                if t.dlq is None:
                    found.append(Finding(
                        bus.name, "eventbridge-target-without-dlq", "warning",
                        f"target {j} of rule {i} on bus {bus.name} (to {t.target}) has no "
                        "dead-letter queue",
                        "An event EventBridge could not deliver within the target's retry "
                        "policy (185 retries or 24 hours by default) is dropped without a "
                        "trace (https://docs.aws.amazon.com/eventbridge/latest/userguide/"
                        "eb-rule-dlq.html).",
                        "Give the target a DeadLetterConfig (an SQS queue) and alarm on it.",
                    ))
    return found


def _template_application_findings(path: Path, parameters: dict | None = None,
                                   notes: list[str] | None = None) -> list[Finding]:
    """The application-level traps of a template (topics, rules, asynchronous
    functions), when the template reads as an application. One the model cannot read as
    one adds none, and ``notes`` says why those rules were not checked."""
    from simlib.whatif.template_app import application_from_template

    try:
        app, _ = application_from_template(path, parameters=parameters)
    except ScenarioError as exc:
        if notes is not None:
            reason = str(exc).split(": ", 1)[-1]
            notes.append("not checked: the application rules (async-without-on-failure, "
                         "sns-subscription-without-dlq, eventbridge-target-without-dlq, "
                         f"filtered-mappings-share-a-queue): {reason}")
        return []
    return lint_application(app, pipelines_too=False)


def _when(assumed: tuple[tuple[str, bool], ...]) -> str:
    return " and ".join(f"{c} is {str(v).lower()}" for c, v in assumed)


def _template_findings(document: dict, path: Path, today, parameters, overlay,
                       notes: list[str]) -> list[Finding]:
    """Every pipeline linted once per branch of the conditions the template leaves
    undecided: a finding of every branch is reported once, one of some branches says
    which ("... (when IsProd is true)")."""
    from simlib.whatif import template

    reading = template.read(document, path, parameters, require=False)
    notes += reading.notes
    seen: dict[Finding, list] = {}
    for assumed, found in reading.variants:
        for p in found:
            for f in lint_pipeline(p, today, overlay):
                seen.setdefault(f, []).append(assumed)
    for p in reading.pipelines:
        notes += [f"{p.name}: {n}" for n in p.notes]
        skipped = not_checked(Facts.of_pipeline(p, today, overlay))
        if skipped:
            notes.append(f"{p.name}: not checked: " + "; ".join(skipped))
    out = []
    for f, branches in seen.items():
        if len(branches) < len(reading.variants):
            f = replace(f, message=f"{f.message} (when "
                                   + " or ".join(_when(b) for b in branches) + ")")
        out.append(f)
    for resource, key, message in template.reference_errors(document):
        out.append(Finding(
            resource, "unresolved-reference", "error", message,
            "CloudFormation rejects a template whose Ref, GetAtt, Sub or condition names "
            "something the template does not define (\"Template format error: Unresolved "
            "resource dependencies\"): the stack is not created or updated.",
            "Define the parameter, resource or condition, or correct the name (they are "
            "case-sensitive).", location=key))
    return sorted(out, key=lambda f: SEVERITIES.index(f.severity))


def lint_path(path, today: date | None = None, parameters: dict | None = None,
              overlay: dict | None = None, notes: list[str] | None = None) -> list[Finding]:
    """Traps in a template (every pipeline) or a scenario or application file.

    A template is read as raw facts, so what AWS would reject becomes an ``error``
    finding rather than an exception; a scenario file must first be a valid scenario
    (else :class:`~simlib.scenario_file.ScenarioFileError`). ``today`` dates the runtime
    deprecation check (default ``date.today()``); ``parameters`` override a template's
    parameter defaults (``--parameter``); ``overlay`` (an overlay file's dict) declares
    what a template cannot (an idempotency store, a database). ``notes``, when given,
    receives what the reading assumed, one line each (AWS defaults, parameter values,
    undecided conditions, unknown facts and the rules not checked for them, features
    not simulated).
    """
    from simlib.whatif.inputs import load_document_of_kind

    path = Path(path)
    notes = [] if notes is None else notes
    document, kind = load_document_of_kind(path)
    if kind != "template" and parameters:
        raise ScenarioError("--parameter", parameters, "only for a SAM / CloudFormation "
                            "template")
    if kind == "template":
        found = _template_findings(document, path, today, parameters, overlay, notes)
        return found + _template_application_findings(path, parameters, notes)
    if kind == "application":
        return lint_application(load_application_file(path), today)
    return lint_scenario(load_scenario_file(path), resource=path.stem, today=today)


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """One row per finding, columns as the :class:`Finding` fields."""
    columns = [f.name for f in fields(Finding)]
    return pd.DataFrame([asdict(f) for f in findings], columns=columns)
