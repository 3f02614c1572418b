"""The template reader (simlib.template): SAM / CloudFormation -> pipelines -> scenarios.

Each template in tests/data exercises a shape real templates have: SAM with Globals,
plain CloudFormation in YAML and JSON, short and long intrinsic forms, an event source
mapping as its own resource, queues found by GetAtt, Sub, name or an outside ARN, a DLQ
via RedrivePolicy, parameter-valued fields, and several pipelines in one template. The
reader keeps the facts as the template states them (even what AWS rejects); turning them
into a Scenario is where the model's rules apply.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import simlib
from simlib import Scenario, ScenarioError
from simlib.runtimes import known_runtimes
from simlib.scenario_file import ScenarioFileError, load_overlay
from simlib.whatif.inputs import load_any
from simlib.template import (
    AWS_DEFAULT_BATCHING_WINDOW_S,
    AWS_DEFAULT_RETENTION_S,
    AWS_DEFAULT_SQS_BATCH_SIZE,
    AWS_DEFAULT_VISIBILITY_TIMEOUT_S,
    Pipeline,
    load_document,
    read_template,
)

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def one(name: str) -> Pipeline:
    (p,) = read_template(DATA / name)
    return p


def by_name(name: str) -> dict[str, Pipeline]:
    return {p.name: p for p in read_template(DATA / name)}


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- loading ------------------------------------------------------------------------------

def test_short_tags_become_their_long_forms_unevaluated(tmp_path):
    text = """
Resources:
  A:
    Properties:
      Ref: !Ref Param
      Att: !GetAtt Queue.Arn
      AttList: !GetAtt [Queue, QueueName]
      Sub: !Sub "arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:q"
      If: !If [IsProd, 10, !Ref AWS::NoValue]
      Join: !Join ["", [a, !Ref B]]
      Cond: !Condition IsProd
      Map: !FindInMap [M, !Ref AWS::Region, size]
"""
    props = load_document(write(tmp_path, text))["Resources"]["A"]["Properties"]
    assert props == {
        "Ref": {"Ref": "Param"},
        "Att": {"Fn::GetAtt": ["Queue", "Arn"]},
        "AttList": {"Fn::GetAtt": ["Queue", "QueueName"]},
        "Sub": {"Fn::Sub": "arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:q"},
        "If": {"Fn::If": ["IsProd", 10, {"Ref": "AWS::NoValue"}]},
        "Join": {"Fn::Join": ["", ["a", {"Ref": "B"}]]},
        "Cond": {"Condition": "IsProd"},
        "Map": {"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "size"]},
    }


def test_json_and_yaml_syntax_errors_name_file_and_line(tmp_path):
    with pytest.raises(ScenarioFileError, match=r"t\.json line 3: not valid JSON"):
        read_template(write(tmp_path, '{\n  "Resources": {\n  "A": }\n}\n', "t.json"))
    with pytest.raises(ScenarioFileError, match=r"t\.yaml line \d+: not valid YAML"):
        read_template(write(tmp_path, "Resources:\n  A: [1,\n"))


def test_a_scenario_file_is_not_a_template(tmp_path):
    with pytest.raises(ScenarioFileError, match="not a SAM / CloudFormation template"):
        read_template(write(tmp_path, "queue:\n  visibility_timeout_s: 60\n"))


def test_a_template_without_a_pipeline_says_what_it_looked_for():
    with pytest.raises(ScenarioFileError, match=r"no-pipeline\.yaml: no SQS -> Lambda pipeline "
                                                r"found: expected an AWS::Serverless::Function "
                                                r"with an Events entry of Type SQS"):
        read_template(DATA / "no-pipeline.yaml")


# -- SAM ----------------------------------------------------------------------------------

def test_sam_globals_are_inherited_and_overridden_by_the_function():
    p = one("sam-good.yaml")
    # From Globals.Function ...
    assert (p.runtime, p.memory_mb, p.architecture) == ("python3.12", 256, "arm64")
    assert p.source_of("runtime") == "Globals.Function.Runtime"
    assert p.source_of("architecture") == "Globals.Function.Architectures"
    # ... except the Timeout, which the function sets itself (Globals say 20).
    assert p.timeout_s == 10
    assert p.source_of("timeout_s") == "Resources.OrdersFunction.Properties.Timeout"


def test_sam_event_and_queue_facts():
    p = one("sam-good.yaml")
    assert (p.function_id, p.queue_id, p.mapping_id) == (
        "OrdersFunction", "OrdersQueue", "OrdersFunction.Events.Orders")
    assert (p.batch_size, p.batching_window_s) == (10, 0)
    assert p.report_batch_item_failures and p.max_concurrency == 20
    assert p.reserved_concurrency == 50 and p.provisioned_concurrency == 0
    assert (p.visibility_timeout_s, p.retention_s) == (60, 86_400)
    assert (p.max_receive_count, p.dlq_id, p.fifo) == (5, "OrdersDLQ", False)
    assert p.source_of("batching_window_s") == "AWS default"
    assert any("MaximumBatchingWindowInSeconds 0 s" in n for n in p.notes)


def test_two_pipelines_long_form_getatt_sub_and_a_json_string_redrive_policy():
    got = by_name("sam-two-pipelines.yaml")
    assert list(got) == ["InvoicesFunction", "EmailFunction"]
    inv, email = got["InvoicesFunction"], got["EmailFunction"]
    # InvoicesFunction takes everything from Globals; its queue via Fn::GetAtt: [Q, Arn].
    assert (inv.runtime, inv.timeout_s, inv.memory_mb) == ("nodejs22.x", 15, 1024)
    assert inv.source_of("timeout_s") == "Globals.Function.Timeout"
    assert (inv.queue_id, inv.max_receive_count, inv.dlq_id) == ("InvoiceQueue", 10,
                                                                  "InvoiceDLQ")
    # EmailFunction overrides; its queue via !Sub "${EmailQueue.Arn}"; its redrive
    # policy is a JSON string with a literal DLQ ARN and a string maxReceiveCount.
    assert (email.timeout_s, email.memory_mb, email.architecture) == (5, 512, "arm64")
    assert email.queue_id == "EmailQueue"
    assert (email.batch_size, email.batching_window_s) == (100, 2)
    assert (email.max_receive_count, email.dlq_id) == (5, "email-dlq")


def test_provided_runtime_defaults_to_go_with_a_note_and_the_overlay_can_say_rust():
    email = by_name("sam-two-pipelines.yaml")["EmailFunction"]
    assert email.runtime == "provided.al2023"
    assert any("can be Go or Rust" in n for n in email.notes)
    assert email.to_scenario().function.runtime == "go"
    assert email.to_scenario({"function": {"runtime": "rust"}}).function.runtime == "rust"


# -- plain CloudFormation -----------------------------------------------------------------

def test_plain_cloudformation_json_with_a_separate_event_source_mapping():
    p = one("cfn-plain.json")  # the Kinesis mapping beside it is not an SQS pipeline
    assert (p.function_id, p.queue_id, p.mapping_id) == ("Worker", "WorkQueue",
                                                         "WorkerMapping")
    assert (p.runtime, p.memory_mb, p.snapstart) == ("java21", 2048, True)
    assert p.batch_size == 5  # written as the string "5"
    assert p.report_batch_item_failures and p.max_concurrency == 10
    assert (p.max_receive_count, p.dlq_id) == (5, "WorkDLQ")
    # Not in the template: the AWS defaults, said in a note.
    assert (p.timeout_s, p.visibility_timeout_s) == (3, 30)
    assert p.source_of("timeout_s") == "AWS default"
    assert any("Timeout 3 s" in n and "VisibilityTimeout 30 s" in n for n in p.notes)
    s = p.to_scenario()
    assert s.function.snapstart and s.function.runtime == "java21"
    assert (s.function.timeout_s, s.function.memory_mb) == (3, 2048)


def test_plain_cloudformation_yaml_queue_by_name_alias_and_outside_queue():
    got = by_name("cfn-plain.yaml")
    # One function, two mappings: names carry the queue to tell them apart.
    assert list(got) == ["Billing-BillingQueue", "Billing-audit-queue"]
    billing, audit = got["Billing-BillingQueue"], got["Billing-audit-queue"]
    # Found by QueueName inside a !Sub'd ARN; the mapping names the function by an alias
    # that carries provisioned concurrency.
    assert billing.queue_id == "BillingQueue" and billing.visibility_timeout_s == 200
    assert billing.provisioned_concurrency == 3
    assert billing.source_of("provisioned_concurrency").startswith("Resources.Live.")
    assert (billing.memory_mb, billing.timeout_s) == (128, 30)
    # A literal ARN of a queue this template does not define; the function by its name.
    assert (audit.queue_id, audit.queue_name, audit.function_id) == (None, "audit-queue",
                                                                     "Billing")
    assert audit.max_receive_count is None and audit.visibility_timeout_s == 30
    assert any("audit-queue is not defined in this template" in n for n in audit.notes)


def test_parameter_defaults_and_conditions_are_used_and_unknowns_said():
    p = one("params.yaml")
    assert p.timeout_s == 60  # !Ref TimeoutParam, Default "60"
    assert p.source_of("timeout_s") == ("Resources.ReportFunction.Properties.Timeout -> "
                                        "Parameters.TimeoutParam.Default")
    assert any("Timeout = 60 s from Parameters.TimeoutParam.Default" in n for n in p.notes)
    assert p.memory_mb == 128  # Ref: MemoryParam, no Default: unknown, AWS default run
    assert "memory_mb" in p.unknown
    assert any("MemorySize is !Ref MemoryParam (parameter MemoryParam has no Default" in n
               for n in p.notes)
    assert p.batch_size == 10  # !If [IsProd, 10, 1]: Stage defaults to prod
    assert any("BatchSize = 10 from condition IsProd is true" in n for n in p.notes)
    assert p.queue_id == "ReportQueue"  # Fn::GetAtt: ReportQueue.Arn (string long form)


def test_no_value_means_absent(tmp_path):
    text = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 9
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Timeout: !Ref AWS::NoValue
      MemorySize: !Ref AWS::NoValue
      Events:
        E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
  Q:
    Type: AWS::SQS::Queue
"""
    (p,) = read_template(write(tmp_path, text))
    assert p.memory_mb == 128 and not any("NoValue" in n for n in p.notes)
    # An explicit AWS::NoValue on the function removes the property; SAM's Globals then
    # do not apply either, since the function set the key.
    assert p.timeout_s == 3


# -- to_scenario --------------------------------------------------------------------------

def test_to_scenario_maps_every_fact():
    s = one("sam-good.yaml").to_scenario()
    assert isinstance(s, Scenario) and s.source == "sqs"
    assert (s.function.runtime, s.function.architecture, s.function.memory_mb,
            s.function.timeout_s, s.function.reserved_concurrency) == (
        "python3.12", "arm64", 256, 10, 50)
    assert (s.queue.visibility_timeout_s, s.queue.max_receive_count,
            s.queue.retention_s) == (60, 5, 86_400)
    assert (s.mapping.batch_size, s.mapping.batching_window_s, s.mapping.max_concurrency,
            s.mapping.report_batch_item_failures) == (10, 0, 20, True)


def test_the_overlay_adds_traffic_and_wins_over_the_template():
    p = one("sam-good.yaml")
    s = p.to_scenario({"workload": {"rate_per_s": 7, "duration_s": 30},
                       "function": {"memory_mb": 1024}, "database": None})
    assert s.workload.rate_per_s == 7 and s.database is None
    assert s.function.memory_mb == 1024 and s.function.timeout_s == 10


def test_what_aws_rejects_is_kept_as_a_fact_and_refused_as_a_scenario():
    slow = by_name("bad-traps.yaml")["SlowFunction"]
    assert (slow.timeout_s, slow.visibility_timeout_s) == (60, 30)
    with pytest.raises(ScenarioFileError, match=r"bad-traps\.yaml: function\.timeout_s \(from "
                                                r"Resources\.SlowFunction\.Properties\.Timeout, "
                                                r"pipeline SlowFunction\) = 60\.0 is not "
                                                r"allowed: at most queue\.visibility_timeout_s"):
        slow.to_scenario()
    with pytest.raises(ScenarioFileError, match=r"function\.timeout_s \(from overlay"):
        one("sam-good.yaml").to_scenario({"function": {"timeout_s": 61}})


def test_an_overlay_that_breaks_a_rule_names_the_overlay_s_field():
    # sam-good: Timeout 10 s, VisibilityTimeout 60 s; the overlay lowers the visibility.
    with pytest.raises(ScenarioFileError, match=r"sam-good\.yaml: queue\.visibility_timeout_s "
                                                r"\(from overlay, pipeline \w+\) = 5 is not "
                                                r"allowed: at least function\.timeout_s \(10\)"):
        one("sam-good.yaml").to_scenario({"queue": {"visibility_timeout_s": 5}})
    # raising the timeout instead names the timeout, also from the overlay
    with pytest.raises(ScenarioFileError, match=r"function\.timeout_s \(from overlay, pipeline "
                                                r"\w+\) = 61\.0 is not allowed: at most "
                                                r"queue\.visibility_timeout_s \(60\)"):
        one("sam-good.yaml").to_scenario({"function": {"timeout_s": 61}})


def test_a_template_anchor_and_merge_key_still_work(tmp_path):
    text = """\
Globals:
  Function:
    Timeout: 20
    Runtime: python3.12
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: &queue_props
      VisibilityTimeout: 120
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Sqs:
          Type: SQS
          Properties: &event
            Queue: !GetAtt Queue.Arn
            BatchSize: 5
  Other:
    Type: AWS::SQS::Queue
    Properties:
      <<: *queue_props
      MessageRetentionPeriod: 600
"""
    (p,) = read_template(write(tmp_path, text))
    assert (p.timeout_s, p.visibility_timeout_s, p.batch_size) == (20, 120, 5)
    assert load_document(tmp_path / "t.yaml")["Resources"]["Other"]["Properties"] == {
        "VisibilityTimeout": 120, "MessageRetentionPeriod": 600}


def test_a_fifo_pipeline_is_read_but_not_run_on_its_own():
    """A pipeline on its own is the short form (a standard queue); the template read as
    one application simulates its FIFO queue."""
    p = one("fifo.yaml")
    assert p.fifo and p.queue_name == "sequence.fifo"
    with pytest.raises(ScenarioFileError, match=r"fifo\.yaml: pipeline SequenceFunction reads "
                                                r"FIFO queue SequenceQueue; a pipeline on its "
                                                r"own is a standard queue: run the template "
                                                r"with --application"):
        p.to_scenario()
    from simlib.template_app import application_from_template

    app, _ = application_from_template(DATA / "fifo.yaml")
    assert app.resources["SequenceQueue"].fifo
    assert by_name("bad-traps.yaml")["FifoFunction"].fifo  # FifoQueue: true


def _single(tmp_path, runtime_line: str, extra: str = "") -> Pipeline:
    text = f"""
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      {runtime_line}
      {extra}
      Events:
        E: {{Type: SQS, Properties: {{Queue: !GetAtt Q.Arn}}}}
  Q:
    Type: AWS::SQS::Queue
"""
    (p,) = read_template(write(tmp_path, text))
    return p


def test_an_unknown_runtime_names_the_resource_and_the_known_list(tmp_path):
    p = _single(tmp_path, "Runtime: cobol1")
    with pytest.raises(ScenarioFileError, match=r"Resources\.Fn\.Properties\.Runtime of Fn = "
                                                r"'cobol1' is not allowed: one of "
                                                r"dotnet10, .*python3\.13.*provided\.al2023"):
        p.to_scenario()
    assert p.to_scenario({"function": {"runtime": "python3.9"}}).function.runtime == "python3.9"
    # a runtime of a known language without cold-start data: the oldest measured one of
    # that language, said in a note
    p = _single(tmp_path, "Runtime: python2.7")
    assert p.to_scenario().function.runtime.startswith("python3")
    assert any("runtime python2.7 has no measured cold start: simulated as python3" in n
               for n in p.notes)


def test_a_function_without_a_runtime_needs_the_overlay(tmp_path):
    p = _single(tmp_path, "PackageType: Image")
    assert p.runtime is None
    with pytest.raises(ScenarioFileError, match=r"a Lambda runtime; the function has none"):
        p.to_scenario()
    assert p.to_scenario({"function": {"runtime": "nodejs22.x"}}).function.runtime == "nodejs22.x"


def test_every_known_runtime_passes_through(tmp_path):
    for runtime in known_runtimes():
        if runtime in ("go", "rust"):
            continue  # not AWS identifiers: those are provided.al2023
        assert _single(tmp_path, f"Runtime: {runtime}").to_scenario().function.runtime == runtime


def test_out_of_range_values_name_the_template_key(tmp_path):
    p = _single(tmp_path, "Runtime: python3.13", "MemorySize: 64")
    assert p.memory_mb == 64
    with pytest.raises(ScenarioFileError, match=r"function\.memory_mb \(from Resources\.Fn\."
                                                r"Properties\.MemorySize, pipeline Fn\) = 64 "
                                                r"is not allowed: an integer in 128\.\.10,240"):
        p.to_scenario()


def test_a_value_of_the_wrong_kind_is_an_error_naming_the_key(tmp_path):
    with pytest.raises(ScenarioFileError, match=r"t\.yaml: Resources\.Fn\.Properties\.Timeout "
                                                r"= 'soon' is not allowed: a number"):
        _single(tmp_path, "Runtime: python3.13", "Timeout: soon")


def test_snapstart_on_java_only(tmp_path):
    p = _single(tmp_path, "Runtime: java17", "SnapStart: {ApplyOn: PublishedVersions}")
    assert p.snapstart and p.to_scenario().function.snapstart
    p = _single(tmp_path, "Runtime: python3.13", "SnapStart: {ApplyOn: None}")
    assert not p.snapstart


def test_a_pipeline_is_frozen_data():
    p = one("sam-good.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.timeout_s = 1
    assert dataclasses.replace(p, timeout_s=11).to_scenario().function.timeout_s == 11


def test_aws_queue_and_mapping_defaults_agree_with_the_scenario_defaults():
    # The model's defaults for the queue and mapping are AWS's; this pins that they agree
    # (the function's are the model's own: 512 MB and 30 s, not AWS's 128 MB and 3 s).
    s = Scenario()
    assert s.queue.visibility_timeout_s == AWS_DEFAULT_VISIBILITY_TIMEOUT_S
    assert s.queue.retention_s == AWS_DEFAULT_RETENTION_S
    assert s.mapping.batch_size == AWS_DEFAULT_SQS_BATCH_SIZE
    assert s.mapping.batching_window_s == AWS_DEFAULT_BATCHING_WINDOW_S


def test_template_errors_are_scenario_errors():
    with pytest.raises(ScenarioError):
        read_template(DATA / "no-pipeline.yaml")


# -- the example in data/templates ------------------------------------------------------

def test_the_example_template_with_its_overlay_loads_and_simulates():
    overlay = load_overlay(ROOT / "data" / "templates" / "orders-traffic.yaml")
    got = load_any(ROOT / "data" / "templates" / "orders-sam.yaml", overlay=overlay)
    (name, s), = got.items()
    assert name == "ProcessOrderFunction"
    assert s.function.timeout_s == 30  # !Ref FunctionTimeout in Globals -> Default 30
    assert s.workload.pattern == "burst" and s.handler.failure_rate == 0.01
    result = simlib.simulate(s.with_changes({"workload.duration_s": 20}), seed=1)
    assert result.summary["messages_sent"] > 0


@pytest.mark.parametrize("name", ["sam-good.yaml", "sam-two-pipelines.yaml",
                                  "cfn-plain.json", "cfn-plain.yaml", "params.yaml"])
def test_every_runnable_test_template_simulates(name):
    for s in load_any(DATA / name, overlay={"workload": {"duration_s": 5}}).values():
        assert simlib.simulate(s, seed=0).summary["messages_sent"] > 0


def test_an_if_part_way_down_a_key_takes_its_branch_and_a_missing_condition_is_refused(
        tmp_path):
    """Fn::If may stand for a whole block (ScalingConfig: !If [...]); its condition must
    be one of the template's Conditions (CloudFormation rejects the template otherwise)."""
    with pytest.raises(ScenarioFileError, match="condition 'IsProd' is not in the "
                                                "template's Conditions"):
        _single(tmp_path, "Runtime: python3.13",
                "ReservedConcurrentExecutions: !If [IsProd, 100, !Ref AWS::NoValue]")
    text = (DATA / "sam-good.yaml").read_text().replace(
        "ScalingConfig:\n              MaximumConcurrency: 20",
        "ScalingConfig: !If [Big, {MaximumConcurrency: 50}, {MaximumConcurrency: 20}]")
    text = text.replace("Resources:\n", "Parameters:\n  Size: {Type: String, Default: small}\n"
                        "Conditions:\n  Big: !Equals [!Ref Size, big]\nResources:\n", 1)
    (p,) = read_template(write(tmp_path, text))
    assert p.max_concurrency == 20  # Size defaults to small: Big is false
    assert any("MaximumConcurrency = 20 from condition Big is false" in n for n in p.notes)


def test_a_managed_instances_function_is_read_but_not_run(tmp_path):
    """Lambda Managed Instances: CapacityProviderConfig on the function (CloudFormation
    "AWS::Lambda::Function CapacityProviderConfig", https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-capacityproviderconfig.html).
    One environment serves many invocations and scaling follows CPU
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-core-concepts.html),
    which the model does not simulate: to_scenario refuses it in one message."""
    p = one("managed-instances.yaml")
    assert p.managed_instances == "Resources.OrdersFunction.Properties.CapacityProviderConfig"
    with pytest.raises(ScenarioFileError) as info:
        p.to_scenario()
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{DATA / 'managed-instances.yaml'}: ")
    assert "function OrdersFunction runs on Lambda Managed Instances" in text
    assert "not modelled" in text and "would be wrong" in text
    with pytest.raises(ScenarioFileError, match="Lambda Managed Instances"):
        load_any(DATA / "managed-instances.yaml")
    # SAM Globals count too; AWS::NoValue does not
    assert by_name("bad-traps.yaml")["ManagedFunction"].managed_instances
    assert one("sam-good.yaml").managed_instances is None
    text = (DATA / "managed-instances.yaml").read_text().replace(
        "      CapacityProviderConfig:\n        LambdaManagedInstancesCapacityProviderConfig:\n"
        "          CapacityProviderArn: !GetAtt OrdersCapacity.Arn\n"
        "          PerExecutionEnvironmentMaxConcurrency: 64\n",
        "      CapacityProviderConfig: !Ref AWS::NoValue\n")
    p = read_template(write(tmp_path, text))[0]
    assert p.managed_instances is None and p.to_scenario().function.runtime == "python3.13"


def test_provisioned_poller_config_turns_on_provisioned_mode(tmp_path):
    """SAM's SQS event passes ProvisionedPollerConfig to the mapping
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-sqs.html);
    a key left out takes the SQS default, 2 minimum and 200 maximum event pollers
    (https://docs.aws.amazon.com/lambda/latest/api/API_ProvisionedPollerConfig.html)."""
    text = (DATA / "sam-good.yaml").read_text()
    assert "ProvisionedPollerConfig" not in text
    plain = one("sam-good.yaml")
    assert (plain.provisioned_min_pollers, plain.provisioned_max_pollers) == (None, None)
    assert not plain.to_scenario().mapping.provisioned
    both = by_name("bad-traps.yaml")["BothScalingFunction"]
    assert (both.provisioned_min_pollers, both.provisioned_max_pollers) == (3, 200)
    assert both.source_of("provisioned_min_pollers").endswith(
        "Events.Both.Properties.ProvisionedPollerConfig.MinimumPollers")
    # AWS rejects MaximumConcurrency with provisioned mode: kept as facts, refused as a run
    with pytest.raises(ScenarioFileError, match=r"mapping\.max_concurrency \(from "
                                                r"Resources\.BothScalingFunction.*ScalingConfig"
                                                r"\.MaximumConcurrency.* = 10 is not allowed: "
                                                r"None while mapping\.provisioned_min_pollers"):
        both.to_scenario()
    s = dataclasses.replace(both, max_concurrency=None).to_scenario()
    assert s.mapping.event_pollers == (3, 200)
