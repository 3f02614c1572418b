"""Known production traps of SQS -> Lambda pipelines, found before they page someone.

Why a linter beside a simulator: the simulator shows what a trap costs, the linter says
which trap a given template or scenario has, why it matters and how to fix it. Each rule
is written once, on a small record of facts (:class:`Facts`), that both a template's
:class:`~simlib.template.Pipeline` and a :class:`~simlib.scenario.Scenario` convert to,
so a template and its scenario can never be judged differently.

Severity is ``"error"`` for what AWS rejects (the stack would fail to deploy) and
``"warning"`` for what deploys and then misbehaves.

Sources for the rules (AWS documentation pages):
- Lambda Developer Guide, "Using Lambda with Amazon SQS" (with-sqs.html): set the
  queue's visibility timeout to at least six times the function timeout plus the
  batching window; the function timeout must not exceed the visibility timeout;
  ReportBatchItemFailures (partial batch responses); a batching window of at least 1 s
  when the batch size is over 10; FIFO batch size at most 10; set the source queue's
  maxReceiveCount to at least 5 so that throttled batches are retried before they move
  to the dead-letter queue.
- SQS Developer Guide, "Using dead-letter queues in Amazon SQS": a redrive policy moves a
  message that keeps failing out of the way; a maxReceiveCount high enough lets
  transient failures retry (too low, e.g. 1, sends messages to the DLQ on a single
  failed receive).
- Lambda Developer Guide, "Configuring scaling behavior for SQS event source mappings"
  (services-sqs-scaling.html): maximum concurrency 2-1,000; if reserved concurrency is
  below the mapping's maximum concurrency, Lambda throttles and messages return to the
  queue, and AWS recommends maximum concurrency at or below the reserved concurrency;
  maximum concurrency and provisioned mode (ProvisionedPollerConfig) "are mutually
  exclusive options" ("You cannot use the maximum concurrency setting and provisioned
  mode at the same time"), and in provisioned mode each event poller handles up to 10
  concurrent invokes.
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
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path

import pandas as pd

from simlib.core.limits import INVOKES_PER_EVENT_POLLER, POLLERS_CEILING
from simlib.core.runtimes import deprecation_notice
from simlib.core.scenario import Scenario
from simlib.whatif.scenario_file import is_application, load_application_file, load_scenario_file
from simlib.whatif.template import (
    Pipeline,
    is_template,
    load_document,
    managed_instances_refusal,
    pipelines,
)

# Lambda Developer Guide, "Using Lambda with Amazon SQS".
VISIBILITY_FACTOR = 6  # visibility timeout >= 6 x function timeout + batching window
WINDOW_REQUIRED_ABOVE_BATCH = 10  # batch size > 10 needs MaximumBatchingWindowInSeconds >= 1
FIFO_BATCH_MAX = 10  # FIFO queues: batch size at most 10
# SQS "Using dead-letter queues" and Lambda "Using Lambda with Amazon SQS".
MIN_RECEIVE_COUNT = 5

SEVERITIES = ("error", "warning")


@dataclass(frozen=True)
class Finding:
    """One trap in one resource: what was found (with the numbers), why, and the fix."""

    resource: str
    rule: str
    severity: str
    message: str
    why: str
    fix: str


@dataclass(frozen=True)
class Facts:
    """What the rules look at, whether it came from a template or a scenario.

    ``function``, ``queue`` and ``mapping`` name the resource a finding is about.
    ``runtime`` is the runtime identifier as written (None for a container image),
    ``managed_instances`` the template key of a Lambda Managed Instances configuration
    (None without one), ``today`` the date runtime deprecations are judged on (None:
    ``date.today()``).
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

    @classmethod
    def of_pipeline(cls, p: Pipeline, today: date | None = None) -> Facts:
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
        )

    @classmethod
    def of_scenario(cls, s: Scenario, resource: str, today: date | None = None,
                    names: tuple[str, str, str] | None = None, fifo: bool = False,
                    dlq_fifo: bool | None = None) -> Facts:
        """``names``: (function, queue, mapping) resource names, when they differ (an
        application's pipeline); else all three are ``resource``."""
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
        )


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,g}"


# -- the rules: each takes Facts and returns a Finding or None ------------------------------

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
    )


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
    )


def _six_times_fix(f: Facts) -> str:
    wanted = VISIBILITY_FACTOR * f.timeout_s + f.batching_window_s
    return (f"Set the queue's VisibilityTimeout to at least {_n(wanted)} s "
            f"({VISIBILITY_FACTOR} x Timeout + MaximumBatchingWindowInSeconds), or lower "
            "the function timeout.")


def _no_dlq(f: Facts) -> Finding | None:
    if f.max_receive_count is not None:
        return None
    return Finding(
        f.queue, "no-dead-letter-queue", "warning",
        f"queue {f.queue} has no redrive policy (no dead-letter queue)",
        "A message that always fails (a poison message) is received, fails and returns "
        "again and again until its retention period ends, using concurrency and money "
        "each time, and is then deleted without a trace.",
        f"Add a RedrivePolicy with a deadLetterTargetArn and maxReceiveCount >= "
        f"{MIN_RECEIVE_COUNT}, and alarm on the DLQ's depth.",
    )


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
    )


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
    )


def _reserved_below_max_concurrency(f: Facts) -> Finding | None:
    if f.reserved_concurrency is None:
        return None
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
    )


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
    )


def _batch_without_window(f: Facts) -> Finding | None:
    # (a FIFO queue allows neither: fifo-batch-over-10 says so, without advising a window)
    if f.fifo or f.batch_size <= WINDOW_REQUIRED_ABOVE_BATCH or f.batching_window_s >= 1:
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
    )


def _fifo_batch(f: Facts) -> Finding | None:
    if not f.fifo or f.batch_size <= FIFO_BATCH_MAX:
        return None
    return Finding(
        f.mapping, "fifo-batch-over-10", "error",
        f"FIFO queue {f.queue} with batch size {f.batch_size}",
        f"For FIFO queues the batch size is at most {FIFO_BATCH_MAX}; AWS rejects a larger "
        "one.",
        f"Set BatchSize to {FIFO_BATCH_MAX} or less.",
    )


def _fifo_batching_window(f: Facts) -> Finding | None:
    if not f.fifo or f.batching_window_s <= 0:
        return None
    return Finding(
        f.mapping, "fifo-batching-window", "error",
        f"FIFO queue {f.queue} with a batching window of {_n(f.batching_window_s)} s",
        "\"Batching window is not supported for FIFO queues\" (https://docs.aws.amazon.com/"
        "lambda/latest/dg/services-sqs-parameters.html): AWS rejects the mapping.",
        "Remove MaximumBatchingWindowInSeconds from the mapping.",
    )


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
    )


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
    )


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
    )


RULES: dict[str, Callable[[Facts], Finding | None]] = {
    "timeout-above-visibility": _timeout_above_visibility,
    "visibility-below-6x-timeout": _visibility_below_6x,
    "no-dead-letter-queue": _no_dlq,
    "max-receive-count-below-5": _receive_count_below_5,
    "no-report-batch-item-failures": _no_partial_batch_response,
    "reserved-below-max-concurrency": _reserved_below_max_concurrency,
    "max-concurrency-with-provisioned-mode": _max_concurrency_with_provisioned_mode,
    "batch-over-10-without-window": _batch_without_window,
    "fifo-batch-over-10": _fifo_batch,
    "fifo-batching-window": _fifo_batching_window,
    "dlq-type-mismatch": _dlq_type_mismatch,
    "deprecated-runtime": _deprecated_runtime,
    "managed-instances-not-modelled": _managed_instances,
}


# -- applying them ------------------------------------------------------------------------

def lint_facts(facts: Facts) -> list[Finding]:
    """Every rule applied to one fact record; errors first."""
    found = [finding for rule in RULES.values() if (finding := rule(facts)) is not None]
    return sorted(found, key=lambda f: SEVERITIES.index(f.severity))


def lint_pipeline(p: Pipeline, today: date | None = None) -> list[Finding]:
    """Traps in one template pipeline (raw facts: also what AWS would reject)."""
    return lint_facts(Facts.of_pipeline(p, today))


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
        dlq_fifo = app.resources[q.dlq].fifo if q.dlq is not None else None
        found += lint_facts(Facts.of_scenario(scen, m.name, today,
                                              names=(m.function, m.queue, m.name),
                                              fifo=q.fifo, dlq_fifo=dlq_fifo))
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


def _template_application_findings(path: Path) -> list[Finding]:
    """The application-level traps of a template (topics, rules, asynchronous
    functions), when the template reads as an application; a template the model cannot
    read as one (what AWS would refuse is already an error of its pipelines) adds none."""
    from simlib.core.errors import ScenarioError
    from simlib.whatif.template_app import application_from_template

    try:
        app, _ = application_from_template(path)
    except ScenarioError:
        return []
    return lint_application(app, pipelines_too=False)


def lint_path(path, today: date | None = None) -> list[Finding]:
    """Traps in a template (every pipeline) or a scenario file.

    A template is read as raw facts, so what AWS would reject becomes an ``error``
    finding rather than an exception; a scenario file must first be a valid scenario
    (else :class:`~simlib.scenario_file.ScenarioFileError`). ``today`` dates the runtime
    deprecation check (default ``date.today()``).
    """
    path = Path(path)
    document = load_document(path)
    if is_template(document):
        found = [f for p in pipelines(document, path) for f in lint_pipeline(p, today)]
        return found + _template_application_findings(path)
    if is_application(document):
        return lint_application(load_application_file(path), today)
    return lint_scenario(load_scenario_file(path), resource=path.stem, today=today)


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """One row per finding, columns as the :class:`Finding` fields."""
    columns = [f.name for f in fields(Finding)]
    return pd.DataFrame([asdict(f) for f in findings], columns=columns)
