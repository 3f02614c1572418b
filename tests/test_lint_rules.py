"""The linter's newer rules, its range checks and its unknown facts.

Each rule fires on the trap in its fixture (tests/data/lint/, whose headers say which
trap and which AWS page backs it) and stays silent on the fixed version, written to
``tmp_path`` by changing one line. Tests marked "waits on template.py" need a Pipeline
field the template reader does not fill in correctly yet; they assert the intended
behaviour and fail until it does.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest
import yaml

from simlib import Scenario
from simlib.core.errors import ScenarioError
from simlib.lint import (
    RULES,
    SEVERITIES,
    Facts,
    Finding,
    lint_facts,
    lint_path,
    lint_pipeline,
    lint_scenario,
    not_checked,
    rule_uses,
    skipped_rules,
)
from simlib.template import read_template
from simlib.whatif import cli
from simlib.whatif.lint import _rule

DATA = Path(__file__).resolve().parent / "data"
LINT = DATA / "lint"
TODAY = date(2026, 1, 1)  # no runtime of the fixtures is near deprecation then


def triples(findings: list[Finding]) -> set[tuple[str, str, str]]:
    return {(f.resource, f.rule, f.severity) for f in findings}


def variant(tmp_path: Path, name: str, *changes: tuple[str, str]) -> Path:
    """A copy of fixture ``name`` with each (old, new) text replaced once."""
    text = (LINT / name).read_text()
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def overlay(name: str = "ledger-overlay.yaml", **sections) -> dict:
    """The ledger overlay, with ``sections`` (section -> fields) laid over it."""
    data = yaml.safe_load((LINT / name).read_text())
    for section, values in sections.items():
        data[section] = None if values is None else {**(data.get(section) or {}), **values}
    return data


def ledger(over: dict | None) -> list[Finding]:
    (p,) = read_template(LINT / "ledger.yaml")
    return lint_pipeline(p, TODAY, overlay=over)


def clean_scenario(**changes) -> Scenario:
    """A scenario no rule objects to; ``changes`` (dotted paths, ``__`` for ``.``)."""
    base = Scenario.from_dict({
        "queue": {"visibility_timeout_s": 180, "max_receive_count": 5},
        "mapping": {"report_batch_item_failures": True},
    })
    return base.with_changes({k.replace("__", "."): v for k, v in changes.items()})


# -- every rule has a fixture ---------------------------------------------------------------

# (fixture, expected findings) for lint_path; the ledger's are in test_ledger_traps
EXPECTED = {
    "out-of-range.yaml": {
        ("JobWorker", "value-out-of-range", "error"),
        ("JobWorker.Events.Jobs", "value-out-of-range", "error"),
        ("Jobs", "value-out-of-range", "error"),
    },
    "window-parameter.yaml": {("InvoiceQueue", "visibility-below-6x-timeout", "warning")},
    "reserved-below-5.yaml": {
        ("ThumbnailFunction", "reserved-concurrency-below-5", "warning")},
    "over-pull.yaml": {
        ("PaymentsQueue", "over-pull-to-dead-letter-queue", "warning"),
        ("PaymentsQueue", "max-receive-count-below-5", "warning"),
        ("PaymentsFunction", "reserved-below-max-concurrency", "warning"),
    },
    "dlq-retention.yaml": {("ExportQueue", "dlq-retention-shorter-than-queue", "warning")},
    "long-timeout.yaml": {("ReportBuilder", "timeout-at-maximum", "info")},
    "aws-defaults.yaml": {("AuditFunction", "aws-default-timeout", "info"),
                          ("AuditFunction", "aws-default-memory", "info")},
    "ledger-scenario.yaml": {
        ("ledger-scenario", "idempotency-expires-before-redelivery", "warning"),
        ("ledger-scenario", "database-connections-below-concurrency", "warning"),
    },
    "app-dlq.yaml": {("Orders", "dlq-retention-shorter-than-queue", "warning")},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_has_exactly_its_traps(name):
    assert triples(lint_path(LINT / name, today=TODAY)) == EXPECTED[name]


def test_every_rule_fires_on_some_fixture():
    fired = {rule for found in EXPECTED.values() for _, rule, _ in found}
    fired |= {f.rule for f in lint_path(DATA / "bad-traps.yaml", today=TODAY)}
    fired |= {f.rule for f in ledger(overlay())}
    assert fired == set(RULES)


def test_every_finding_has_a_known_severity_a_reason_and_a_fix():
    for name in EXPECTED:
        for f in lint_path(LINT / name, today=TODAY):
            assert f.severity in SEVERITIES and f.why and f.fix and f.message


# -- ranges ---------------------------------------------------------------------------------

def test_the_issue_s_six_values_are_six_errors_naming_key_value_and_range():
    """Ranges: Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html),
    SQS quotas (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html),
    the mapping's (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html)."""
    found = lint_path(LINT / "out-of-range.yaml", today=TODAY)
    assert [f.severity for f in found] == ["error"] * 6
    by_location = {f.location: f.message for f in found}
    jobs = "Resources.Jobs.Properties"
    mapping = "Resources.JobWorker.Properties.Events.Jobs.Properties"
    assert by_location == {
        "Globals.Function.Timeout":
            "Globals.Function.Timeout -> Parameters.JobTimeout.Default is 2,000 s, outside "
            "AWS's range: a number in 1..900",  # (the value comes from the parameter)
        f"{mapping}.BatchSize":
            f"{mapping}.BatchSize is 0, outside AWS's range: an integer in 1..10,000",
        f"{mapping}.ScalingConfig.MaximumConcurrency":
            f"{mapping}.ScalingConfig.MaximumConcurrency is 1, outside AWS's range: an "
            "integer in 2..1,000",
        f"{jobs}.VisibilityTimeout":
            f"{jobs}.VisibilityTimeout is 50,000 s, outside AWS's range: a number in 0..43,200",
        f"{jobs}.MessageRetentionPeriod":
            f"{jobs}.MessageRetentionPeriod is 10 s, outside AWS's range: a number in "
            "60..1,209,600",
        f"{jobs}.RedrivePolicy.maxReceiveCount":
            f"{jobs}.RedrivePolicy.maxReceiveCount is 0, outside AWS's range: an integer in "
            "1..1,000",
    }
    assert all(f.rule == "value-out-of-range" and "AWS rejects" in f.why for f in found)


def test_simlib_lint_exits_1_on_values_out_of_range(capsys):
    assert cli.main(["lint", str(LINT / "out-of-range.yaml")]) == 1
    assert "6 errors" in capsys.readouterr().out


def test_the_other_numbers_of_a_pipeline_are_range_checked_too():
    # memory, reserved and provisioned concurrency, batching window, both poller counts
    found = lint_path(LINT / "out-of-range-cfn.json", today=TODAY)
    assert [f.rule for f in found] == ["value-out-of-range"] * 6
    keys = {f.location.rsplit(".", 1)[-1] for f in found}
    assert keys == {"MemorySize", "ReservedConcurrentExecutions",
                    "ProvisionedConcurrentExecutions", "MaximumBatchingWindowInSeconds",
                    "MinimumPollers", "MaximumPollers"}


@pytest.mark.parametrize("fact, path, bad", [
    ("timeout_s", "function.timeout_s", 2000), ("memory_mb", "function.memory_mb", 64),
    ("reserved_concurrency", "function.reserved_concurrency", -1),
    ("provisioned_concurrency", "function.provisioned_concurrency", -1),
    ("batch_size", "mapping.batch_size", 0),
    ("batching_window_s", "mapping.batching_window_s", 301),
    ("max_concurrency", "mapping.max_concurrency", 1),
    ("provisioned_min_pollers", "mapping.provisioned_min_pollers", 1),
    ("provisioned_max_pollers", "mapping.provisioned_max_pollers", 10_001),
    ("visibility_timeout_s", "queue.visibility_timeout_s", 50_000),
    ("retention_s", "queue.retention_s", 10), ("max_receive_count", "queue.max_receive_count", 0),
])
def test_lint_and_run_refuse_the_same_values_with_the_same_range(fact, path, bad):
    # The range comes from the model's field spec (simlib.scenario), not a copy of it.
    facts = dataclasses.replace(Facts.of_scenario(clean_scenario(), "p"), **{fact: bad})
    (f,) = [f for f in lint_facts(facts) if f.rule == "value-out-of-range"]
    section, name = path.split(".")
    with pytest.raises(ScenarioError) as refused:
        Scenario.from_dict({section: {name: bad}})
    allowed = f.message.split("outside AWS's range: ")[1]
    assert refused.value.allowed.startswith(allowed)  # the model adds "or None", notes
    assert f.message.startswith(f"{path} is ")  # a scenario names its own field


def test_an_in_range_value_is_not_reported_and_the_edges_are_in_range():
    facts = dataclasses.replace(Facts.of_scenario(clean_scenario(), "p"), timeout_s=900,
                                visibility_timeout_s=43_200, batch_size=10_000,
                                batching_window_s=300, retention_s=60, max_receive_count=1000)
    assert "value-out-of-range" not in {f.rule for f in lint_facts(facts)}


def test_rules_do_not_judge_or_crash_on_a_value_out_of_range():
    # maxReceiveCount 0 is an error; "below 5" and the DLQ rules about it wait for the fix
    (p,) = read_template(LINT / "out-of-range.yaml")
    rules = {f.rule for f in lint_pipeline(p)}
    assert rules == {"value-out-of-range"}
    facts = Facts.of_pipeline(p)
    for check in RULES.values():  # called directly, every check copes with the values
        check(facts)
    fixed = dataclasses.replace(facts, max_receive_count=2, timeout_s=30, batch_size=10,
                                visibility_timeout_s=100, retention_s=86_400,
                                max_concurrency=None)
    assert {f.rule for f in lint_facts(fixed)} == {"max-receive-count-below-5",
                                                   "visibility-below-6x-timeout"}


# -- visibility with a batching window from a parameter ----------------------------------------

def test_a_batching_window_from_a_parameter_default_counts_toward_six_times(tmp_path):
    """with-sqs.html: visibility >= 6 x timeout + batching window. The template reader gives
    `!Ref InvoiceWindow` its Default (20 s): 6 x 10 + 20 = 80 s > 70 s."""
    (f,) = lint_path(LINT / "window-parameter.yaml", today=TODAY)
    assert f.rule == "visibility-below-6x-timeout"
    assert "batching window 20 s = 80 s" in f.message and "at least 80 s" in f.fix
    longer = variant(tmp_path, "window-parameter.yaml",
                     ("VisibilityTimeout: 70", "VisibilityTimeout: 80"))
    assert lint_path(longer, today=TODAY) == []
    shorter = variant(tmp_path, "window-parameter.yaml", ("    Default: 20\n", "    Default: 10\n"))
    assert lint_path(shorter, today=TODAY) == []


# -- reserved concurrency ----------------------------------------------------------------------

def test_reserved_concurrency_below_5_on_a_queue_consumer(tmp_path):
    """"If you configure reserved concurrency on your function, set a minimum of 5 concurrent
    executions" (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html)."""
    (f,) = lint_path(LINT / "reserved-below-5.yaml", today=TODAY)
    assert (f.rule, f.severity) == ("reserved-concurrency-below-5", "warning")
    assert "is 2, below 5" in f.message and "with-sqs.html" in f.why
    assert f.location == "Resources.ThumbnailFunction.Properties.ReservedConcurrentExecutions"
    five = variant(tmp_path, "reserved-below-5.yaml",
                   ("ReservedConcurrentExecutions: 2", "ReservedConcurrentExecutions: 5"))
    assert lint_path(five, today=TODAY) == []
    (zero,) = [f for f in lint_scenario(clean_scenario(function__reserved_concurrency=0,
                                                       mapping__max_concurrency=2))
               if f.rule == "reserved-concurrency-below-5"]
    assert "every invoke is throttled" in zero.message


def test_max_concurrency_above_reserved_is_one_finding_of_the_existing_rule():
    """services-sqs-scaling.html: keep maximum concurrency at or below reserved concurrency.
    reserved-below-max-concurrency covers it; no second rule says it again."""
    found = lint_scenario(clean_scenario(function__reserved_concurrency=10,
                                         mapping__max_concurrency=50))
    assert [f.rule for f in found] == ["reserved-below-max-concurrency"]
    assert lint_scenario(clean_scenario(function__reserved_concurrency=50,
                                        mapping__max_concurrency=50)) == []


def test_a_small_receive_count_with_reserved_concurrency_and_no_cap_over_pulls(tmp_path):
    """Small = below 5, AWS's "at least 5 to avoid sending messages to the dead letter queue
    due to throttling" (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html); the cap
    is maximum concurrency (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html)."""
    by_rule = {f.rule: f for f in lint_path(LINT / "over-pull.yaml", today=TODAY)}
    f = by_rule["over-pull-to-dead-letter-queue"]
    assert "maxReceiveCount 2" in f.message and "reserved concurrency 20" in f.message
    assert "without ever running" in f.why and "MaximumConcurrency to at most 20" in f.fix
    rbif = "            FunctionResponseTypes: [ReportBatchItemFailures]\n"
    scaling = "            ScalingConfig:\n              MaximumConcurrency: 20\n"
    capped = variant(tmp_path, "over-pull.yaml", (rbif, rbif + scaling))
    assert [f.rule for f in lint_path(capped, today=TODAY)] == ["max-receive-count-below-5"]
    five = variant(tmp_path, "over-pull.yaml", ("maxReceiveCount: 2", "maxReceiveCount: 5"))
    assert [f.rule for f in lint_path(five, today=TODAY)] == ["reserved-below-max-concurrency"]
    # provisioned mode caps through MaximumPollers instead
    pollers = lint_scenario(clean_scenario(function__reserved_concurrency=20,
                                           queue__max_receive_count=2,
                                           mapping__provisioned_max_pollers=2))
    assert "over-pull-to-dead-letter-queue" not in {f.rule for f in pollers}


# -- idempotency records and the database (from the overlay, or a scenario file) ------------

def test_ledger_traps_come_from_the_overlay():
    assert triples(ledger(overlay())) == {
        ("LedgerFunction", "idempotency-expires-before-redelivery", "warning"),
        ("LedgerFunction", "database-connections-below-concurrency", "warning"),
    }
    assert ledger(None) == []  # the template alone says nothing of either
    # lint_path passes its overlay on (as simlib lint would with an --overlay file)
    assert triples(lint_path(LINT / "ledger.yaml", today=TODAY, overlay=overlay())) == \
        triples(ledger(overlay()))


def test_idempotency_records_must_outlast_redelivery():
    """At-least-once delivery (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html);
    records last expires_after_seconds (Powertools for AWS Lambda, one hour by default,
    https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/)."""
    (f,) = [f for f in ledger(overlay()) if f.rule.startswith("idempotency")]
    assert "expire after 600 s" in f.message
    assert "maxReceiveCount 5 x visibility timeout 180 s = 900 s" in f.message
    assert "invocation-eventsourcemapping.html" in f.why and "at least 900 s" in f.fix
    rules = {f.rule for f in ledger(overlay(handler={"idempotency_expiry_s": 900}))}
    assert "idempotency-expires-before-redelivery" not in rules
    rules = {f.rule for f in ledger(overlay(handler={"idempotency": False}))}
    assert "idempotency-expires-before-redelivery" not in rules
    # the model's default expiry (3,600 s) against a queue without a DLQ: its retention
    s = clean_scenario(handler__idempotency=True, queue__max_receive_count=None)
    (f,) = [f for f in lint_scenario(s) if f.rule.startswith("idempotency")]
    assert "retention period 345,600 s (no redrive policy)" in f.message
    # a retention shorter than maxReceiveCount x visibility bounds the window
    s = clean_scenario(handler__idempotency=True, handler__idempotency_expiry_s=100,
                       queue__retention_s=90)
    assert "idempotency-expires-before-redelivery" not in {f.rule for f in lint_scenario(s)}


def test_database_connections_below_the_mapping_s_concurrency():
    """Reserved concurrency "to prevent overwhelming downstream resources, like database
    connections" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html);
    a proxy instead (https://docs.aws.amazon.com/lambda/latest/dg/services-rds.html)."""
    (f,) = [f for f in ledger(overlay()) if f.rule.startswith("database")]
    assert "max_connections 40 is below the mapping's ScalingConfig.MaximumConcurrency (100)" \
        in f.message
    assert f.location.endswith("Events.Entries.Properties.ScalingConfig.MaximumConcurrency")
    for fixed in ({"proxy": True}, {"connection_per": "invocation"}, {"max_connections": 100}):
        rules = {f.rule for f in ledger(overlay(database=fixed))}
        assert "database-connections-below-concurrency" not in rules, fixed
    rules = {f.rule for f in ledger(overlay(database=None))}
    assert "database-connections-below-concurrency" not in rules
    # the reserved concurrency caps it too, when lower; uncapped is not judged
    s = clean_scenario(database__max_connections=30, function__reserved_concurrency=50,
                       mapping__max_concurrency=50)
    (f,) = [f for f in lint_scenario(s) if f.rule.startswith("database")]
    assert "the mapping's ScalingConfig.MaximumConcurrency (50)" in f.message
    assert lint_scenario(clean_scenario(database__max_connections=30)) == []


def test_an_overlay_out_of_range_is_refused_as_run_refuses_it():
    with pytest.raises(ScenarioError, match="database.max_connections"):
        ledger(overlay(database={"max_connections": 0}))


# -- dead-letter queues ---------------------------------------------------------------------

def test_a_dead_letter_queue_keeping_messages_shorter_than_its_source(tmp_path):
    """"always set the retention period of a dead-letter queue to be longer than the
    retention period of the original queue" (https://docs.aws.amazon.com/AWSSimpleQueueService/
    latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html)."""
    (f,) = lint_path(LINT / "dlq-retention.yaml", today=TODAY)
    assert "keeps messages 86,400 s, less than the queue's own 1,209,600 s" in f.message
    assert "original enqueue timestamp" in f.why
    assert f.location == "Resources.ExportDLQ.Properties.MessageRetentionPeriod"
    longer = variant(tmp_path, "dlq-retention.yaml", ("Default: 86400", "Default: 1209600"))
    assert lint_path(longer, today=TODAY) == []
    # a FIFO queue's message gets a new timestamp in its DLQ
    facts = dataclasses.replace(Facts.of_scenario(clean_scenario(), "q"),
                                retention_s=1_209_600, dlq_retention_s=86_400)
    assert [f.rule for f in lint_facts(facts)] == ["dlq-retention-shorter-than-queue"]
    assert lint_facts(dataclasses.replace(facts, fifo=True, dlq_fifo=True)) == []


def test_an_application_s_dlq_retention_and_its_dlq_consumer():
    found = lint_path(LINT / "app-dlq.yaml", today=TODAY)
    # OrdersDLQ has no redrive policy of its own, and is not asked for one
    assert ("OrdersDLQ", "no-dead-letter-queue", "warning") not in triples(found)
    assert triples(found) == {("Orders", "dlq-retention-shorter-than-queue", "warning")}


def test_a_dead_letter_queue_needs_no_dead_letter_queue_of_its_own():
    facts = Facts.of_scenario(clean_scenario(queue__max_receive_count=None), "dlq")
    assert [f.rule for f in lint_facts(facts)] == ["no-dead-letter-queue"]
    assert lint_facts(dataclasses.replace(facts, queue_is_dlq=True)) == []


def test_a_template_dlq_with_a_consumer_is_not_asked_for_a_dlq():
    # Waits on template.py: Pipeline.queue_is_dlq is always False today (_queue_facts
    # compares _dlq_of(...)[0], a (logical id, name) pair, with the queue's logical id).
    assert triples(lint_path(LINT / "dlq-consumer.yaml", today=TODAY)) == {
        ("RawEventsQueue", "no-dead-letter-queue", "warning")}


# -- informational --------------------------------------------------------------------------

def test_a_timeout_at_lambda_s_maximum_is_info(tmp_path):
    """Maximum 900 s (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
    Info: it deploys and long jobs set it on purpose."""
    (f,) = lint_path(LINT / "long-timeout.yaml", today=TODAY)
    assert (f.rule, f.severity) == ("timeout-at-maximum", "info")
    assert "900 s, Lambda's maximum" in f.message and "5,400 s" in f.why
    below = variant(tmp_path, "long-timeout.yaml", ("Timeout: 900", "Timeout: 899"))
    assert lint_path(below, today=TODAY) == []
    above = variant(tmp_path, "long-timeout.yaml", ("Timeout: 900", "Timeout: 901"))
    assert [f.rule for f in lint_path(above, today=TODAY)] == ["value-out-of-range"]


def test_aws_default_timeout_and_memory_left_in_place_are_info(tmp_path):
    """Defaults 3 s and 128 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html,
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html)."""
    by_rule = {f.rule: f for f in lint_path(LINT / "aws-defaults.yaml", today=TODAY)}
    assert "AWS's default 3 s applies" in by_rule["aws-default-timeout"].message
    assert "AWS's default 128 MB applies" in by_rule["aws-default-memory"].message
    assert by_rule["aws-default-memory"].location == "Resources.AuditFunction.Properties"
    set_in_globals = variant(tmp_path, "aws-defaults.yaml", (
        "    Tracing: Active\n", "    Tracing: Active\n    Timeout: 5\n    MemorySize: 512\n"))
    assert lint_path(set_in_globals, today=TODAY) == []
    # a scenario's numbers are always written down: never "left to AWS"
    assert lint_scenario(clean_scenario(function__timeout_s=3, function__memory_mb=128)) == []


def test_a_parameter_without_a_default_is_unknown_not_a_default(tmp_path):
    unsaid = variant(tmp_path, "aws-defaults.yaml", (
        "    Tracing: Active\n", "    Tracing: Active\n    MemorySize: !Ref Memory\n"),
        ("Globals:\n", "Parameters:\n  Memory:\n    Type: Number\n\nGlobals:\n"))
    assert [f.rule for f in lint_path(unsaid, today=TODAY)] == ["aws-default-timeout"]
    (p,) = read_template(unsaid)
    assert ("aws-default-memory", ("memory_mb",)) in skipped_rules(Facts.of_pipeline(p))


def test_errors_then_warnings_then_info():
    # batch-over-10-without-window is registered after max-receive-count-below-5: the
    # order comes from the sort, not from the registry
    facts = dataclasses.replace(Facts.of_scenario(clean_scenario(), "p"), timeout_s=900,
                                visibility_timeout_s=5_400, aws_defaults=frozenset({"memory_mb"}),
                                max_receive_count=2, batch_size=500, batching_window_s=0)
    found = lint_facts(facts)
    assert [(f.severity, f.rule) for f in found] == [
        ("error", "batch-over-10-without-window"), ("warning", "max-receive-count-below-5"),
        ("info", "timeout-at-maximum"), ("info", "aws-default-memory")]


def test_simlib_lint_does_not_fail_on_info_findings_even_when_strict(capsys):
    # info findings are said, and never change the exit code
    assert cli.main(["lint", str(LINT / "aws-defaults.yaml")]) == 0
    assert cli.main(["lint", str(LINT / "aws-defaults.yaml"), "--strict"]) == 0
    assert "0 errors, 0 warnings, 2 info" in capsys.readouterr().out


# -- unknown facts and the rule registry ----------------------------------------------------

def test_rules_reading_an_unknown_fact_are_skipped_and_listed():
    facts = dataclasses.replace(Facts.of_scenario(clean_scenario(), "q"),
                                max_receive_count=None, visibility_timeout_s=30,
                                unknown=frozenset({"max_receive_count", "visibility_timeout_s"}))
    assert lint_facts(facts) == []  # no-DLQ and 6x warnings would be judged on placeholders
    skipped = dict(skipped_rules(facts))
    assert skipped["no-dead-letter-queue"] == ("max_receive_count",)
    assert skipped["visibility-below-6x-timeout"] == ("visibility_timeout_s",)
    assert "deprecated-runtime" not in skipped
    assert "no-dead-letter-queue (the queue's redrive policy is unknown)" in not_checked(facts)
    assert lint_facts(dataclasses.replace(facts, unknown=frozenset())) != []


def test_each_rule_declares_facts_that_exist_and_a_typo_is_refused():
    names = {f.name for f in dataclasses.fields(Facts)}
    for rule in RULES:
        assert set(rule_uses(rule)) <= names
    assert "queue_is_dlq" in rule_uses("no-dead-letter-queue")
    with pytest.raises(ValueError, match="visibility_timeout are not Facts fields"):
        _rule("some-rule", "visibility_timeout")
