"""The linter (simlib.lint): every rule fires on a trap and stays silent without one.

tests/data/bad-traps.yaml holds one pipeline per trap (its header lists which); the
clean templates must give no finding. The same rules apply to a Scenario, so a template
pipeline and the scenario made from it are judged alike.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from simlib import Scenario
from simlib.lint import (
    RULES,
    Facts,
    Finding,
    findings_table,
    lint_facts,
    lint_path,
    lint_pipeline,
    lint_scenario,
    not_checked,
    skipped_rules,
)
from simlib.scenario_file import ScenarioFileError
from simlib.template import read_template

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent

BAD_TRAPS = {
    ("SlowQueue", "timeout-above-visibility", "error"),
    ("ReportQueue", "visibility-below-6x-timeout", "warning"),
    ("ReportQueue", "no-dead-letter-queue", "warning"),
    ("ReportFunction.Events.Reports", "no-report-batch-item-failures", "warning"),
    ("ThrottledFunction", "reserved-below-max-concurrency", "warning"),
    ("ThrottledQueue", "max-receive-count-below-5", "warning"),
    ("ThrottledFunction.Events.Throttled", "batch-over-10-without-window", "error"),
    ("FifoFunction.Events.Ordered", "fifo-batch-over-10", "error"),
    # the same FIFO mapping has a batching window (needed above 10 on a standard queue,
    # refused on a FIFO one) and its queue shares the standard SharedDLQ
    ("FifoFunction.Events.Ordered", "fifo-batching-window", "error"),
    ("OrderedQueue", "dlq-type-mismatch", "error"),
    ("OldRuntimeFunction", "deprecated-runtime", "warning"),
    ("ManagedFunction", "managed-instances-not-modelled", "warning"),
    ("BothScalingFunction.Events.Both", "max-concurrency-with-provisioned-mode", "error"),
}


def triples(findings: list[Finding]) -> set[tuple[str, str, str]]:
    return {(f.resource, f.rule, f.severity) for f in findings}


def clean_scenario(**changes) -> Scenario:
    """A scenario no rule objects to; ``changes`` (dotted paths) then add one trap."""
    base = Scenario.from_dict({
        "queue": {"visibility_timeout_s": 180, "max_receive_count": 5},
        "mapping": {"report_batch_item_failures": True},
    })
    return base.with_changes({k.replace("__", "."): v for k, v in changes.items()})


# -- templates ----------------------------------------------------------------------------

def test_every_rule_fires_on_the_bad_template_where_expected():
    # the rules added since have their own fixtures (tests/data/lint/, test_lint_rules.py,
    # which also checks that every rule in RULES fires on some fixture)
    findings = lint_path(DATA / "bad-traps.yaml")
    assert triples(findings) == BAD_TRAPS
    assert {rule for _, rule, _ in BAD_TRAPS} < set(RULES)


@pytest.mark.parametrize("name, infos", [
    ("sam-good.yaml", set()), ("sam-two-pipelines.yaml", set()), ("params.yaml", set()),
    # these leave Timeout / MemorySize to AWS's defaults: said, but not a trap
    ("cfn-plain.json", {("Worker", "aws-default-timeout", "info")}),
    ("fifo.yaml", {("SequenceFunction", "aws-default-timeout", "info"),
                   ("SequenceFunction", "aws-default-memory", "info")}),
])
def test_clean_templates_give_no_errors_or_warnings(name, infos):
    # pinned date: nodejs22.x and ruby3.3 come within the deprecation notice window in 2027
    assert triples(lint_path(DATA / name, today=date(2026, 1, 1))) == infos


def test_an_outside_queue_is_not_judged_on_aws_defaults():
    # cfn-plain.yaml's audit-queue lives outside the template: its visibility timeout and
    # redrive policy are unknown (Pipeline.unknown), so the rules that need them are not
    # applied (AWS's 30 s default would have given a visibility warning, and "no
    # redrive policy" a DLQ warning, neither of them known to be true).
    assert triples(lint_path(DATA / "cfn-plain.yaml")) == {
        ("Billing", "aws-default-memory", "info"),  # the function itself is in the template
    }
    audit = next(p for p in read_template(DATA / "cfn-plain.yaml") if p.queue_id is None)
    skipped = dict(skipped_rules(Facts.of_pipeline(audit)))
    assert skipped["visibility-below-6x-timeout"] == ("visibility_timeout_s",)
    assert skipped["no-dead-letter-queue"] == ("max_receive_count", "queue_is_dlq")
    assert "no-report-batch-item-failures" not in skipped  # the mapping is known
    assert ("no-dead-letter-queue (the queue's redrive policy and whether the queue is "
            "another queue's dead-letter queue are unknown)") in not_checked(
                Facts.of_pipeline(audit))


def test_the_example_template_has_exactly_its_two_deliberate_traps():
    assert triples(lint_path(ROOT / "data" / "templates" / "orders-sam.yaml")) == {
        ("OrdersQueue", "visibility-below-6x-timeout", "warning"),
        ("ProcessOrderFunction.Events.Orders", "no-report-batch-item-failures", "warning"),
    }


def test_findings_carry_the_numbers_the_reason_and_the_fix():
    by_rule = {f.rule: f for f in lint_path(DATA / "bad-traps.yaml")}
    f = by_rule["visibility-below-6x-timeout"]
    assert f.message == ("visibility timeout 60 s is below 6 x function timeout 30 s + "
                         "batching window 0 s = 180 s")
    assert "at least 180 s" in f.fix and "duplicates" in f.why
    f = by_rule["timeout-above-visibility"]
    assert "timeout 60 s is above the queue's visibility timeout 30 s" in f.message
    assert "AWS rejects" in f.why and "at least 360 s" in f.fix
    f = by_rule["reserved-below-max-concurrency"]
    assert "reserved concurrency 5" in f.message and "MaximumConcurrency 20" in f.message
    assert "at most the reserved concurrency (5)" in f.fix
    assert "maxReceiveCount is 2, below 5" in by_rule["max-receive-count-below-5"].message
    assert "batch size 100" in by_rule["batch-over-10-without-window"].message
    assert "batch size 20" in by_rule["fifo-batch-over-10"].message
    for finding in by_rule.values():
        assert finding.why and finding.fix and finding.severity in ("error", "warning")
    # each finding points at the template key of the fact it is mainly about
    assert by_rule["timeout-above-visibility"].location == \
        "Resources.SlowQueue.Properties.VisibilityTimeout"
    assert by_rule["max-receive-count-below-5"].location == \
        "Resources.ThrottledQueue.Properties.RedrivePolicy.maxReceiveCount"
    assert by_rule["reserved-below-max-concurrency"].location == \
        "Resources.ThrottledFunction.Properties.ReservedConcurrentExecutions"
    assert by_rule["managed-instances-not-modelled"].location == \
        "Resources.ManagedFunction.Properties.CapacityProviderConfig"
    assert by_rule["no-dead-letter-queue"].location == ""  # no key states an absence


def test_errors_come_first_within_a_pipeline():
    throttled = next(p for p in read_template(DATA / "bad-traps.yaml")
                     if p.name == "ThrottledFunction")
    severities = [f.severity for f in lint_pipeline(throttled)]
    assert severities == sorted(severities, key=("error", "warning", "info").index)
    assert severities[0] == "error"


def test_the_window_counts_toward_the_six_times_advice():
    # sam-two-pipelines' EmailQueue: 32 s = 6 x 5 s + 2 s window exactly; one second less
    # is a finding.
    email = next(p for p in read_template(DATA / "sam-two-pipelines.yaml")
                 if p.name == "EmailFunction")
    assert lint_pipeline(email) == []
    short = dataclasses.replace(email, visibility_timeout_s=31)
    assert [f.rule for f in lint_pipeline(short)] == ["visibility-below-6x-timeout"]


# -- scenarios ----------------------------------------------------------------------------

def test_a_clean_scenario_gives_no_findings():
    assert lint_scenario(clean_scenario()) == []


def test_the_default_scenario_shows_two_traps():
    assert triples(lint_scenario(Scenario(), resource="default")) == {
        ("default", "visibility-below-6x-timeout", "warning"),
        ("default", "no-report-batch-item-failures", "warning"),
    }


@pytest.mark.parametrize("changes, rule", [
    ({"queue__visibility_timeout_s": 100}, "visibility-below-6x-timeout"),
    ({"queue__max_receive_count": None}, "no-dead-letter-queue"),
    ({"queue__max_receive_count": 1}, "max-receive-count-below-5"),
    ({"mapping__report_batch_item_failures": False}, "no-report-batch-item-failures"),
    ({"function__reserved_concurrency": 10, "mapping__max_concurrency": 50},
     "reserved-below-max-concurrency"),
    ({"function__reserved_concurrency": 10}, "reserved-below-max-concurrency"),
])
def test_each_rule_a_scenario_can_express_fires_on_it(changes, rule):
    assert [f.rule for f in lint_scenario(clean_scenario(**changes))] == [rule]


def test_reserved_concurrency_without_a_cap_is_compared_with_the_pollers_ceiling():
    (f,) = lint_scenario(clean_scenario(function__reserved_concurrency=100))
    assert "pollers' ceiling of 1,250 (no ScalingConfig.MaximumConcurrency)" in f.message
    assert lint_scenario(clean_scenario(function__reserved_concurrency=100,
                                        mapping__max_concurrency=100)) == []


def test_rules_that_scenarios_refuse_still_work_on_facts():
    # Scenario raises for these (AWS rejects them); the rules see them on raw facts.
    facts = Facts.of_scenario(clean_scenario(), "f")
    too_long = dataclasses.replace(facts, timeout_s=200)
    assert [f.rule for f in lint_facts(too_long)] == ["timeout-above-visibility"]
    big = dataclasses.replace(facts, batch_size=50, batching_window_s=0.5, timeout_s=10)
    assert [f.rule for f in lint_facts(big)] == ["batch-over-10-without-window"]
    fifo = dataclasses.replace(facts, fifo=True, batch_size=11, batching_window_s=0,
                               timeout_s=10)
    assert [f.rule for f in lint_facts(fifo)] == ["fifo-batch-over-10"]
    windowed = dataclasses.replace(fifo, batch_size=10, batching_window_s=2)
    assert [f.rule for f in lint_facts(windowed)] == ["fifo-batching-window"]
    both = dataclasses.replace(fifo, batch_size=11, batching_window_s=1)
    assert [f.rule for f in lint_facts(both)] == ["fifo-batch-over-10", "fifo-batching-window"]
    mixed = dataclasses.replace(facts, timeout_s=10, dlq_fifo=True)
    assert [f.rule for f in lint_facts(mixed)] == ["dlq-type-mismatch"]
    assert lint_facts(dataclasses.replace(mixed, fifo=True, batching_window_s=0)) == []


def test_an_api_scenario_has_no_queue_to_lint():
    assert lint_scenario(Scenario.from_dict({"source": "api"})) == []


@pytest.mark.parametrize("path", [DATA / "sam-good.yaml", DATA / "sam-two-pipelines.yaml",
                                  DATA / "cfn-plain.yaml",
                                  ROOT / "data" / "templates" / "orders-sam.yaml"],
                         ids=lambda p: p.name)
def test_a_pipeline_and_its_scenario_are_judged_alike(path):
    # Messages name resources, which a scenario does not have; the rest must agree. A
    # scenario cannot tell an AWS default from a value written down (it holds numbers
    # only), so the two rules about defaults left in place are the template's own.
    template_only = {"aws-default-timeout", "aws-default-memory"}
    for p in read_template(path):
        if p.unknown:
            continue  # a scenario simulates AWS defaults where the template says nothing
        from_template = [(f.rule, f.severity, f.why, f.fix) for f in lint_pipeline(p)
                         if f.rule not in template_only]
        from_scenario = [(f.rule, f.severity, f.why, f.fix)
                         for f in lint_scenario(p.to_scenario(), resource=p.name)]
        assert from_template == from_scenario


def test_lint_path_reads_scenario_files_too(tmp_path):
    path = tmp_path / "orders.yaml"
    path.write_text("queue:\n  max_receive_count: 2\n  visibility_timeout_s: 180\n"
                    "mapping:\n  report_batch_item_failures: true\n")
    assert triples(lint_path(path)) == {("orders", "max-receive-count-below-5", "warning")}
    path.write_text("queue:\n  visibility_timeout_s: 10\n")
    with pytest.raises(ScenarioFileError, match=r"orders\.yaml: function\.timeout_s"):
        lint_path(path)


@pytest.mark.parametrize("path", sorted((ROOT / "data" / "scenarios").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_example_scenario_can_be_linted(path):
    for f in lint_path(path):
        assert f.resource == path.stem and f.rule in RULES


# -- the table ----------------------------------------------------------------------------

def test_findings_table_has_one_row_per_finding_and_the_finding_fields():
    findings = lint_path(DATA / "bad-traps.yaml")
    table = findings_table(findings)
    assert list(table.columns) == ["resource", "rule", "severity", "message", "why", "fix",
                                   "location"]
    assert len(table) == len(findings) == len(BAD_TRAPS)
    assert set(table["rule"]) == {rule for _, rule, _ in BAD_TRAPS}
    empty = findings_table([])
    assert empty.empty and list(empty.columns) == list(table.columns)


def test_a_finding_is_frozen():
    (f,) = lint_scenario(clean_scenario(queue__max_receive_count=None))
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.rule = "x"


# -- runtime deprecation and Lambda Managed Instances -----------------------------------

def test_deprecated_runtime_names_the_function_and_the_dates():
    """Dates: AWS "Lambda runtimes", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
    (python3.9 deprecated 2025-12-15; create blocked 2027-02-01, update 2027-03-03)."""
    old = next(p for p in read_template(DATA / "bad-traps.yaml")
               if p.name == "OldRuntimeFunction")
    (f,) = [f for f in lint_pipeline(old, today=date(2026, 11, 29))
            if f.rule == "deprecated-runtime"]
    assert f.resource == "OldRuntimeFunction" and f.severity == "warning"
    assert "python3.9 is deprecated since 2025-12-15" in f.message
    assert "scheduled to be blocked from 2027-02-01" in f.message
    assert "2027-03-03" in f.message and "security patches" in f.why and "supported" in f.fix
    (f,) = [f for f in lint_pipeline(old, today=date(2027, 6, 1))
            if f.rule == "deprecated-runtime"]
    assert "blocked since 2027-02-01" in f.message and "blocked since 2027-03-03" in f.message


def test_deprecated_runtime_follows_the_injected_date_for_a_scenario():
    s = clean_scenario(function__runtime="nodejs20.x")
    assert [f.rule for f in lint_scenario(s, today=date(2025, 1, 1))] == []
    (f,) = lint_scenario(s, today=date(2026, 3, 1))
    assert f.rule == "deprecated-runtime" and "scheduled for deprecation on 2026-04-30" in f.message
    (f,) = lint_scenario(s, today=date(2026, 11, 29))
    assert "deprecated since 2026-04-30" in f.message
    # go is the model's name for a provided.al2023 build
    (f,) = lint_scenario(clean_scenario(function__runtime="go"), today=date(2029, 7, 1))
    assert "provided.al2023" in f.message
    # an api scenario has no queue traps, but its runtime still counts
    api = Scenario.from_dict({"source": "api", "function": {"runtime": "python3.9"}})
    assert [f.rule for f in lint_scenario(api, today=date(2026, 11, 29))] == ["deprecated-runtime"]


def test_managed_instances_are_reported_not_simulated():
    (f,) = lint_path(DATA / "managed-instances.yaml")
    assert (f.resource, f.rule) == ("OrdersFunction", "managed-instances-not-modelled")
    assert "not modelled" in f.message and "CapacityProviderConfig" in f.message
    assert "many invocations at once" in f.why and f.fix


def test_max_concurrency_with_provisioned_mode_is_an_error():
    """"You cannot use the maximum concurrency setting and provisioned mode at the same
    time" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html)."""
    by_rule = {f.rule: f for f in lint_path(DATA / "bad-traps.yaml")}
    f = by_rule["max-concurrency-with-provisioned-mode"]
    assert f.severity == "error"
    assert "MaximumConcurrency 10" in f.message and "ProvisionedPollerConfig" in f.message
    assert "mutually exclusive" in f.why and "MaximumPollers" in f.fix
    both = next(p for p in read_template(DATA / "bad-traps.yaml")
                if p.name == "BothScalingFunction")
    assert lint_pipeline(dataclasses.replace(both, max_concurrency=None)) == []
    assert lint_pipeline(dataclasses.replace(both, provisioned_min_pollers=None,
                                             provisioned_max_pollers=None)) == []


def test_reserved_concurrency_is_weighed_against_the_maximum_event_pollers():
    """In provisioned mode concurrency is controlled "through the maximum event pollers
    setting", 10 concurrent invokes each (invocation-eventsourcemapping.html,
    services-sqs-scaling.html): 20 pollers may run 200 invokes."""
    few = lint_scenario(clean_scenario(function__reserved_concurrency=150,
                                       mapping__provisioned_max_pollers=20))
    assert [f.rule for f in few] == ["reserved-below-max-concurrency"]
    assert "200 concurrent invokes of ProvisionedPollerConfig.MaximumPollers 20" in few[0].message
    assert "MaximumPollers to about 15" in few[0].fix
    assert lint_scenario(clean_scenario(function__reserved_concurrency=200,
                                        mapping__provisioned_max_pollers=20)) == []
