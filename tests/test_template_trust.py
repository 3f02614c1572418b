"""What-if on a user's own template: every assumption said, nothing dropped silently, what
AWS refuses refused, the command line doing what it says (issue 12).

The fixtures in tests/data/broken/ are written here in the shapes real templates use (SAM
with Globals and parameters, CDK output with its Fn::Join names, plain CloudFormation
JSON); each test names the AWS behaviour it relies on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from simlib.whatif import template
from simlib.whatif.cli import main
from simlib.whatif.inputs import load
from simlib.whatif.lint import lint_path

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "tests" / "data" / "broken"
OVERLAY = {"workload": {"duration_s": 20, "rate_per_s": 2}}


def read(name: str, **kw) -> template.Reading:
    path = BROKEN / name
    return template.read(template.load_document(path), path, **kw)


def cli(capsys, *argv) -> tuple[int, str, list[str]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


@pytest.fixture
def overlay(tmp_path) -> str:
    path = tmp_path / "overlay.yaml"
    path.write_text("workload: {duration_s: 20, rate_per_s: 2}\n")
    return str(path)


# -- assumptions are visible ------------------------------------------------------------

def test_an_undecidable_if_is_linted_on_both_branches_and_run_says_which_it_took(capsys):
    """Timeout: !If [IsProd, 30, 20] with Stage lacking a Default: CloudFormation decides
    the condition at deployment, so the linter checks both branches (6 x 30 s and 6 x 20 s
    both exceed the 30 s visibility timeout) instead of taking the 3 s AWS default."""
    reading = read("if-timeout.yaml")
    assert "IsProd" in reading.undecided
    assert sorted(p.timeout_s for _, (p,) in reading.variants) == [20, 30]
    found = [f for f in lint_path(BROKEN / "if-timeout.yaml")
             if f.rule == "visibility-below-6x-timeout"]
    assert sorted(f.message.rsplit("(", 1)[1] for f in found) == [
        "when IsProd is false)", "when IsProd is true)"]
    assert any("6 x function timeout 30 s" in f.message for f in found)
    notes: list[str] = []
    lint_path(BROKEN / "if-timeout.yaml", notes=notes)
    assert any("condition IsProd cannot be decided (parameter Stage has no Default" in n
               for n in notes)
    # a parameter decides it: one branch, no "when"
    found = lint_path(BROKEN / "if-timeout.yaml", parameters={"Stage": "dev"})
    (f,) = [f for f in found if f.rule == "visibility-below-6x-timeout"]
    assert "6 x function timeout 20 s" in f.message and "when" not in f.message


def test_run_takes_the_true_branch_or_the_parameter_and_prints_it(capsys, overlay):
    code, _, err = cli(capsys, "run", str(BROKEN / "if-timeout.yaml"), "--overlay", overlay)
    assert code == 0
    assert any("Timeout = 30 s from condition IsProd undecided" in line for line in err)
    code, _, err = cli(capsys, "run", str(BROKEN / "if-timeout.yaml"), "--overlay", overlay,
                       "--parameter", "Stage=dev")
    assert code == 0
    assert any("Timeout = 20 s from condition IsProd is false" in line for line in err)
    code, _, err = cli(capsys, "run", str(BROKEN / "if-timeout.yaml"), "--parameter",
                       "Stag=dev")
    assert code == 2 and len(err) == 1
    assert "has no parameter 'Stag' (its parameters: Stage)" in err[0]


def test_a_queue_of_another_stack_is_unknown_not_stated_as_having_no_dlq():
    """A queue imported with !ImportValue: its redrive policy lives in the other stack, so
    "no dead-letter queue" would be a guess stated as fact."""
    (p,) = read("imported-queue.yaml").pipelines
    assert p.queue_id is None and p.queue_name == "!ImportValue shared-jobs-queue-arn"
    assert {"visibility_timeout_s", "max_receive_count", "retention_s"} <= p.unknown
    notes: list[str] = []
    rules = {f.rule for f in lint_path(BROKEN / "imported-queue.yaml", notes=notes)}
    assert "no-dead-letter-queue" not in rules and "visibility-below-6x-timeout" not in rules
    assert any("not checked:" in n and "no-dead-letter-queue" in n for n in notes)
    assert any("is not defined in this template" in n for n in notes)
    # batch 50 without a window is refused whatever the queue is (with-sqs.html: a batch
    # above 10 needs a window on a standard queue; a FIFO queue takes at most 10)
    assert "batch-over-10-without-window" in rules


def test_parameter_defaults_conditions_runtimes_and_features_not_simulated_are_said():
    reading = read("unmodelled.yaml")
    said = "\n".join(reading.notes)
    for feature in ("Resources.StreamReader is an event source mapping from a Kinesis stream",
                    "DurableConfig", "Events.Table (DynamoDB events)",
                    "MethodSettings throttling"):
        assert feature in said
    loaded = load(BROKEN / "unmodelled.yaml", overlay=OVERLAY)
    assert list(loaded.runs) == ["Worker"]  # the SQS pipeline still runs
    assert any("handler durations are stated at 1,769 MB" in n for n in loaded.notes)


# -- nothing dropped silently -----------------------------------------------------------

def test_cdk_names_built_with_join_select_split_and_alias_provisioned_concurrency():
    """CDK names a mapping's function with Fn::Join of Fn::Select of Fn::Split of the
    function's ARN plus the alias; provisioned concurrency serves only the alias or
    version it is set on (Lambda Developer Guide, "Configuring provisioned concurrency"),
    so a mapping on the unqualified function gets none."""
    got = {p.mapping_id: p for p in read("cdk-alias.json").pipelines}
    assert set(got) == {"WorkerLiveAliasSqsEventSourceJobs5F6A7B8C",
                        "UnversionedMapping9D0E1F2A", "AliasMapping1F2E3D4C"}
    assert got["WorkerLiveAliasSqsEventSourceJobs5F6A7B8C"].provisioned_concurrency == 5
    assert got["AliasMapping1F2E3D4C"].provisioned_concurrency == 5
    plain = got["UnversionedMapping9D0E1F2A"]
    assert plain.provisioned_concurrency == 0
    assert any("invokes the unqualified function: its provisioned environments are not "
               "used" in n for n in plain.notes)
    # a redrive policy built with Fn::Join is read
    assert got["AliasMapping1F2E3D4C"].dlq_id == "JobsDLQ1B2C3D4E"


def test_a_redrive_policy_written_with_sub_is_read():
    (p,) = read("sub-redrive.yaml").pipelines
    assert (p.max_receive_count, p.dlq_id) == (5, "JobsDLQ")
    assert "no-dead-letter-queue" not in {f.rule for f in lint_path(BROKEN / "sub-redrive.yaml")}


def test_a_mapping_whose_queue_cannot_be_told_is_still_linted(tmp_path):
    text = (BROKEN / "imported-queue.yaml").read_text().replace(
        "!ImportValue shared-jobs-queue-arn", "!Select [0, !Ref Queues]")
    path = tmp_path / "t.yaml"
    path.write_text(text)
    notes: list[str] = []
    found = lint_path(path, notes=notes)
    assert any("cannot tell which queue; the function and mapping are still checked" in n
               for n in notes)
    assert "no-report-batch-item-failures" in {f.rule for f in found}


# -- refuse what AWS refuses ------------------------------------------------------------

def test_refs_to_missing_parameters_and_resources_are_errors(capsys):
    """CloudFormation rejects unresolved references ("Template format error: Unresolved
    resource dependencies")."""
    code, out, _ = cli(capsys, "lint", str(BROKEN / "missing-refs.yaml"))
    assert code == 1 and "2 errors" in out
    found = [f for f in lint_path(BROKEN / "missing-refs.yaml")
             if f.rule == "unresolved-reference"]
    assert [(f.severity, f.location) for f in found] == [
        ("error", "Resources.Worker.Properties.Timeout"),
        ("error", "Resources.Jobs.Properties.RedrivePolicy.deadLetterTargetArn")]
    assert "!Ref WorkerTimeout names no parameter or resource" in found[0].message
    assert "!GetAtt JobsDeadLetters... names no resource" in found[1].message


def test_sam_generated_names_are_not_missing_references():
    doc = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {
            "AutoPublishAlias": "live", "Events": {"Q": {"Type": "SQS"}}}},
        "Out": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": {"Fn::Sub": [
            "${FnRole.Arn} ${Fn.Alias} ${ServerlessRestApi} ${FnQ} ${x} ${AWS::Region}",
            {"x": 1}]}}}}}
    assert template.reference_errors(doc) == []
    doc["Resources"]["Out"]["Properties"]["Value"] = {"Ref": "FnTimeout"}
    assert [m for _, _, m in template.reference_errors(doc)] == [
        "Resources.Out.Properties.Value: !Ref FnTimeout names no parameter or resource of "
        "this template"]


@pytest.mark.parametrize("name, says", [
    ("empty.yaml", "the file is empty: expected a SAM / CloudFormation template"),
    ("neither.yaml", "neither a template nor a scenario"),
    ("ref-list.yaml", "Ref takes a parameter or resource name"),
    ("duplicate-keys.yaml", "Timeout is given twice (lines 9 and 10)"),
    ("deep.json", "nested too deeply"),
    ("deep.yaml", "more than 100 levels"),
])
def test_malformed_input_is_one_line_and_exit_2(capsys, name, says):
    for command in ("lint", "run"):
        code, out, err = cli(capsys, command, str(BROKEN / name))
        assert code == 2 and out == "" and len(err) == 1, (command, err)
        assert err[0].startswith("simlib: error:") and says in err[0]


def test_an_if_naming_a_missing_condition_is_refused(tmp_path, capsys):
    path = tmp_path / "t.yaml"
    path.write_text((BROKEN / "if-timeout.yaml").read_text().replace("[IsProd,", "[IsProduction,"))
    code, _, err = cli(capsys, "run", str(path))
    assert code == 2 and "condition 'IsProduction' is not in the template's Conditions" in err[0]


# -- the command line does what it says -------------------------------------------------

def test_pipeline_is_chosen_before_conversion_and_a_sibling_is_skipped(capsys, overlay):
    path = str(BROKEN / "sibling-image.yaml")
    code, out, err = cli(capsys, "run", path, "--overlay", overlay)
    assert code == 0 and "Good" in out and "Image" not in out
    assert any(line.startswith("simlib: note: skipped pipeline Image:") for line in err)
    code, out, err = cli(capsys, "run", path, "--pipeline", "Good", "--overlay", overlay)
    assert code == 0 and not any("Image" in line for line in err)
    code, _, err = cli(capsys, "run", path, "--pipeline", "Image", "--overlay", overlay)
    assert code == 2 and "container image" in err[-1]


def test_set_changes_a_template_value_before_validation(capsys, overlay):
    """Batch 50 without a batching window: AWS rejects it (with-sqs.html: a batch size
    above 10 needs MaximumBatchingWindowInSeconds >= 1); --set fixes it before the
    template is validated, by short path or by resource path."""
    path = str(BROKEN / "batch50.yaml")
    code, _, err = cli(capsys, "run", path, "--overlay", overlay)
    assert code == 2 and "batching_window_s" in err[-1]
    for change in ("mapping.batching_window_s=2", "mappings.Orders.batching_window_s=2",
                   "mappings.OrderWorker.Events.Orders.batching_window_s=2"):
        code, _, err = cli(capsys, "run", path, "--overlay", overlay, "--set", change)
        assert code == 0, (change, err)
    code, out, _ = cli(capsys, "run", path, "--overlay", overlay, "--json", "--set",
                       "mapping.batching_window_s=2", "--set", "functions.OrderWorker.memory_mb=1024")
    assert code == 0
    loaded = load(path, overlay=OVERLAY, changes={"functions.OrderWorker.memory_mb": 1024,
                                                  "mapping.batching_window_s": 2})
    assert loaded.runs["OrderWorker"].function.memory_mb == 1024
    code, _, err = cli(capsys, "run", path, "--set", "functions.Nope.memory_mb=1024")
    assert code == 2 and "no function 'Nope'" in err[0] and "OrderWorker" in err[0]


def test_scenario_file_and_template_readers_do_not_import_each_other():
    """The cycle is gone: scenario_file reads scenario files, template reads templates,
    inputs tells them apart."""
    for module, other in (("scenario_file", "template"), ("template", "inputs"),
                          ("scenario_file", "inputs")):
        tree = ast.parse((ROOT / "simlib" / "whatif" / f"{module}.py").read_text())
        names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {f"{n.module}.{a.name}" for n in ast.walk(tree)
                  if isinstance(n, ast.ImportFrom) and n.module for a in n.names}
        assert not any(name.endswith(f"whatif.{other}") for name in names), (module, other)


def test_a_json_key_given_twice_is_refused_with_both_lines(tmp_path, capsys):
    path = tmp_path / "t.json"
    path.write_text('{"Resources": {"Q": {"Type": "AWS::SQS::Queue",\n'
                    '  "Properties": {"VisibilityTimeout": 30,\n'
                    '   "VisibilityTimeout": 60}}}}\n')
    code, _, err = cli(capsys, "lint", str(path))
    assert code == 2 and len(err) == 1
    assert "Resources.Q.Properties.VisibilityTimeout is given twice (lines 2 and 3)" in err[0]


def test_set_reaches_a_template_read_as_one_application_before_validation(capsys, overlay):
    """--application: the template's resource paths name the application's resources, and
    --set is laid on them before the application is validated."""
    path = str(BROKEN / "batch50.yaml")
    code, _, err = cli(capsys, "run", path, "--application", "--overlay", overlay)
    assert code == 2 and "batching_window_s" in err[-1]
    code, out, err = cli(capsys, "run", path, "--application", "--overlay", overlay, "--set",
                         "mappings.OrderWorker.Events.Orders.batching_window_s=2", "--set",
                         "functions.OrderWorker.memory_mb=1024", "--json", "--kpis",
                         "messages_sent")
    assert code == 0, err


def test_a_mapping_to_a_function_of_another_stack_is_linted_not_run(tmp_path, capsys, overlay):
    """The function lives elsewhere (an ARN): its facts are unknown, so function rules are
    not checked, the mapping's are, and run skips it with the reason."""
    text = (BROKEN / "sub-redrive.yaml").read_text().replace(
        "FunctionName: !Ref Worker",
        "FunctionName: arn:aws:lambda:us-east-1:123456789012:function:billing")
    text = text.replace("FunctionResponseTypes: [ReportBatchItemFailures]",
                        "BatchSize: 50")
    path = tmp_path / "t.yaml"
    path.write_text(text)
    notes: list[str] = []
    found = {f.rule for f in lint_path(path, notes=notes)}
    assert "batch-over-10-without-window" in found
    assert any("function billing is not defined in this template" in n for n in notes)
    assert any("not checked:" in n and "timeout-above-visibility" in n for n in notes)
    code, _, err = cli(capsys, "run", str(path), "--overlay", overlay)
    assert code == 2 and "is not defined in this template" in err[-1]


def test_a_template_without_an_sqs_pipeline_is_linted_for_its_application(capsys):
    """Found on real templates: lint used to stop with exit 2 ("no SQS -> Lambda pipeline")
    and so never checked the subscription and the asynchronous function."""
    code, out, err = cli(capsys, "lint", str(BROKEN / "topic-only.yaml"))
    assert code == 0
    assert "[sns-subscription-without-dlq]" in out and "[async-without-on-failure]" in out
    assert any("no SQS -> Lambda pipeline in this template" in line for line in err)
    # run (one scenario per pipeline) has nothing to run, and says where to look
    code, _, err = cli(capsys, "run", str(BROKEN / "topic-only.yaml"))
    assert code == 2 and "no SQS -> Lambda pipeline found" in err[-1]
    assert "add --application" in err[-1]


def test_dotnet_core_is_simulated_as_the_oldest_measured_dotnet():
    runtime, note = template.simulated_runtime("dotnetcore3.1")
    assert runtime.startswith("dotnet") and runtime in template.known_runtimes()
    assert "no measured cold start" in note


def test_a_filter_the_model_cannot_evaluate_is_left_out_with_a_note(tmp_path, capsys):
    """Found on real templates: an ESM filter with a cidr operator and an EventBridge
    pattern with !Sub '${AWS::AccountId}' are valid AWS filters the model does not
    evaluate; they are left out with a note instead of refusing the whole template (and
    silently dropping lint's application rules)."""
    path = tmp_path / "t.yaml"
    path.write_text("""\
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::SNS::Topic
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: app.handler
      Timeout: 10
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"ip": [{"cidr": "10.0.0.0/24"}]}}'
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
  Sub:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Orders
      Protocol: sqs
      Endpoint: !GetAtt Jobs.Arn
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        account: [!Sub '${AWS::AccountId}']
      Targets:
        - Arn: !GetAtt Jobs.Arn
          Id: jobs
""")
    code, out, err = cli(capsys, "lint", str(path))
    assert code == 0
    assert "[sns-subscription-without-dlq]" in out and "[eventbridge-target-without-dlq]" in out
    code, _, err = cli(capsys, "run", str(path), "--application", "--overlay", overlay_path(tmp_path))
    assert code == 0, err
    said = "\n".join(err)
    assert "FilterCriteria.Filters[0].Pattern uses what the model does not evaluate" in said
    assert "EventPattern uses what the model does not evaluate" in said


def overlay_path(tmp_path) -> str:
    path = tmp_path / "overlay.yaml"
    path.write_text("workload: {duration_s: 20, rate_per_s: 2}\n")
    return str(path)
