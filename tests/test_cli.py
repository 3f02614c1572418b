"""The command line: what it prints, what it writes, and how it refuses bad input.

Commands run in-process through ``simlib.cli.main`` (which returns the exit code), with
pytest's capsys; one test runs ``python -m simlib`` for real to cover the entry point.
Scenarios are tiny (a few hundred messages) so the whole file takes seconds.
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simlib import Scenario, cli, simulate
from simlib.lint import Finding
from simlib.plotting import format_value
from simlib.results import SUMMARY_KEYS
from simlib.sweep import summarize, sweep

DATA = Path(__file__).resolve().parent / "data"
SCENARIO = """\
workload: {rate_per_s: 5, duration_s: 30}
function: {timeout_s: 5}
handler: {failure_rate: 0.1}
database: null
"""
SCENARIO_DICT = {
    "workload": {"rate_per_s": 5, "duration_s": 30},
    "function": {"timeout_s": 5},
    "handler": {"failure_rate": 0.1},
    "database": None,
}


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    return path


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_clear_error(code, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simlib: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, value", [
    ("10", 10), ("0.5", 0.5), ("1e3", 1000.0), ("-2.5E-1", -0.25), ("true", True),
    ("false", False), ("null", None), ("None", None), ("~", None),
    ("python3.12", "python3.12"), ("arm64", "arm64"),
])
def test_set_values_are_yaml_scalars(text, value):
    got = cli.parse_scalar("a.b", text)
    assert got == value and type(got) is type(value)


def test_set_syntax_for_run_and_sweep():
    assert cli.parse_changes(["queue.visibility_timeout_s=60", "mapping.max_concurrency=null",
                              "queue.visibility_timeout_s=90"]) == {
        "queue.visibility_timeout_s": 90, "mapping.max_concurrency": None}
    assert cli.parse_grid(["queue.visibility_timeout_s=10,30, 60",
                           "mapping.batch_size=[1, 10]"]) == {
        "queue.visibility_timeout_s": [10, 30, 60], "mapping.batch_size": [1, 10]}
    for bad in ("queue.visibility_timeout_s", "=5", "queue visibility=5",
                "mapping.batch_size={a: 1}", "mapping.batch_size=1,,2"):
        with pytest.raises(cli.UsageError, match="--set"):
            cli.parse_grid([bad])
    with pytest.raises(cli.UsageError, match="given twice"):
        cli.parse_grid(["mapping.batch_size=1", "mapping.batch_size=2"])


# -- run ----------------------------------------------------------------------------------


def test_run_prints_the_kpi_table(capsys, scenario_file):
    code, out, err = run_cli(capsys, "run", scenario_file, "--seed", 4)
    assert code == 0, err
    summary = simulate(Scenario.from_dict(SCENARIO_DICT), seed=4).summary
    assert "tiny" in out.splitlines()[0]  # one column, named after the file
    assert "Messages sent" in out and f"{summary['messages_sent']:,}" in out
    assert "Cost per million processed messages" in out


def test_run_json_and_set_match_the_library(capsys, scenario_file):
    code, out, _ = run_cli(capsys, "run", scenario_file, "--seed", 2, "--json", "--kpis", "all",
                           "--set", "mapping.batch_size=1", "--set", "workload.rate_per_s=3")
    assert code == 0
    changed = Scenario.from_dict(SCENARIO_DICT).with_changes(
        {"mapping.batch_size": 1, "workload.rate_per_s": 3})
    expected = simulate(changed, seed=2).summary
    got = json.loads(out)["tiny"]
    assert got["messages_sent"] == expected["messages_sent"]
    assert got["invocations"] == expected["invocations"]
    assert set(got) == set(expected)


def test_run_template_has_one_column_per_pipeline(capsys):
    template = DATA / "sam-two-pipelines.yaml"
    code, out, err = run_cli(capsys, "run", template, "--kpis", "messages_sent,invocations")
    assert code == 0, err
    header = out.splitlines()[0].split()
    assert header == ["InvoicesFunction", "EmailFunction"]
    code, out, _ = run_cli(capsys, "run", template, "--pipeline", "EmailFunction", "--json")
    assert code == 0 and list(json.loads(out)) == ["EmailFunction"]
    assert len(json.loads(out)["EmailFunction"]) == len(SUMMARY_KEYS)  # JSON: every KPI


def test_a_set_that_breaks_one_pipeline_names_it(capsys):
    # InvoicesFunction's timeout is 15 s, EmailFunction's 5 s: a 10 s visibility breaks one
    code, _, err = run_cli(capsys, "run", DATA / "sam-two-pipelines.yaml", "--set",
                           "queue.visibility_timeout_s=10")
    # (a template's own value is changed before validation: the error names --set)
    assert_one_clear_error(code, err, "queue.visibility_timeout_s (from --set, pipeline "
                                      "InvoicesFunction) = 10 is not allowed: at least "
                                      "function.timeout_s (15)")


def test_run_with_an_overlay(capsys, tmp_path):
    overlay = tmp_path / "traffic.yaml"
    overlay.write_text("workload: {rate_per_s: 2, duration_s: 20}\ndatabase: null\n")
    template = DATA / "sam-two-pipelines.yaml"
    code, out, err = run_cli(capsys, "run", template, "--overlay", overlay, "--json",
                             "--pipeline", "InvoicesFunction", "--kpis", "messages_sent")
    assert code == 0, err
    assert json.loads(out)["InvoicesFunction"]["messages_sent"] < 100  # ~40 at 2/s for 20 s


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_run_out_writes_every_frame(capsys, scenario_file, tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    out_dir = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", scenario_file, "--out", out_dir, "--format", fmt)
    assert code == 0
    folder = out_dir / "tiny"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f"{n}.{fmt}" for n in
                           ("messages", "invocations", "timeseries", "cost", "summary"))
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    result = simulate(Scenario.from_dict(SCENARIO_DICT), seed=0)
    assert len(read(folder / f"messages.{fmt}")) == len(result.messages)
    assert list(read(folder / f"cost.{fmt}").columns) == list(result.cost.columns)
    summary = read(folder / f"summary.{fmt}")
    assert summary["messages_sent"].item() == result.summary["messages_sent"]
    assert f"to {folder}" in err


def test_parquet_without_pyarrow_says_how_to_get_it(capsys, scenario_file, tmp_path,
                                                     monkeypatch):
    monkeypatch.setattr(cli, "installed", lambda module: False)
    code, _, err = run_cli(capsys, "run", scenario_file, "--out", tmp_path, "--format",
                           "parquet")
    assert_one_clear_error(code, err, "pip install pyarrow")
    code, _, err = run_cli(capsys, "sweep", scenario_file, "--set", "mapping.batch_size=1,2",
                           "--out", tmp_path / "runs.parquet")
    assert_one_clear_error(code, err, "pip install pyarrow")
    code, _, err = run_cli(capsys, "sweep", scenario_file, "--set", "mapping.batch_size=1,2",
                           "--scheduler", "tcp://127.0.0.1:8786")
    assert_one_clear_error(code, err, "serverless-lab[dask]")


@pytest.mark.parametrize("argv, needles", [
    (["run", "{missing}"], ["FILE", "missing.yaml", "does not exist"]),
    (["run", "{file}", "--overlay", "{missing}"], ["--overlay", "missing.yaml"]),
    (["run", "{file}", "--set", "queue.nope=3"], ["queue.nope = 3", "unknown field",
                                                  "visibility_timeout_s"]),
    (["run", "{file}", "--set", "queue.visibility_timeout_s=50000"],
     ["queue.visibility_timeout_s = 50000", "0..43,200"]),
    # a --set that breaks a rule between two fields names the field it set, both ways
    (["run", "{file}", "--set", "queue.visibility_timeout_s=2"],
     ["error: queue.visibility_timeout_s = 2 is not allowed: at least function.timeout_s (5)"]),
    (["run", "{file}", "--set", "function.timeout_s=60"],
     ["error: function.timeout_s = 60.0 is not allowed: at most queue.visibility_timeout_s "
      "(30)"]),
    (["sweep", "{file}", "--set", "queue.visibility_timeout_s=60,2"],
     ["error: queue.visibility_timeout_s = 2 is not allowed: at least function.timeout_s (5)"]),
    # a misspelt name is named, with the closest known one, and not echoed
    (["run", "{file}", "--set", "workloads.rate_per_s=5"],
     ["workloads.rate_per_s = 5 is not allowed: unknown section (did you mean workload?)"]),
    (["run", "{file}", "--set", "queue.visibility_timeout=5"],
     ["unknown field (did you mean visibility_timeout_s?)"]),
    (["run", "{misspelt}"], ["misspelt.yaml line 1: workloads = a mapping with 2 keys is not "
                             "allowed: unknown section (did you mean workload?)"]),
    # a sweep of one point and one replication compares nothing
    (["sweep", "{file}", "--set", "mapping.max_concurrency=10"],
     ["sweep needs two or more values for some --set", "mapping.max_concurrency=10",
      "or --replications >= 2"]),
    (["sweep", "{file}", "--set", "mapping.max_concurrency=10", "--replications", "1"],
     ["sweep needs two or more values for some --set"]),
    (["run", "{file}", "--set", "mapping.batch_size"], ["--set", "expected PATH=VALUE"]),
    (["run", "{file}", "--set", "function.architecture=arm"],
     ["function.architecture = 'arm'", "'x86_64', 'arm64'"]),
    (["run", "{file}", "--kpis", "latency,cost_usd"], ["unknown KPI latency", "known:"]),
    (["run", "{file}", "--pipeline", "Nope"], ["--pipeline 'Nope'", "tiny"]),
    (["sweep", "{file}"], ["needs at least one --set"]),
    (["sweep", "{file}", "--set", "mapping.batch_size=1,0"],
     ["mapping.batch_size = 0", "1..10,000"]),
    (["sweep", "{file}", "--set", "mapping.batch_size=1,2", "--out", "{dir}/runs.txt"],
     ["--out", ".csv or .parquet"]),
    (["sweep", str(DATA / "sam-two-pipelines.yaml"), "--set", "mapping.batch_size=1,2"],
     ["2 pipelines", "--pipeline", "InvoicesFunction, EmailFunction"]),
    (["lint", "{missing}"], ["FILE", "does not exist"]),
])
def test_bad_input_is_one_clear_line_and_exit_2(capsys, scenario_file, tmp_path, argv,
                                                 needles):
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text("workloads:\n  rate_per_s: 5\n  duration_s: 30\n")
    paths = {"file": scenario_file, "missing": tmp_path / "missing.yaml", "dir": tmp_path,
             "misspelt": misspelt}
    code, out, err = run_cli(capsys, *(a.format(**paths) for a in argv))
    assert_one_clear_error(code, err, *needles)
    assert out == ""


def test_a_bad_scenario_file_names_the_file_and_field(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("queue:\n  visibility_timeout_s: -1\n")
    code, _, err = run_cli(capsys, "run", bad)
    assert_one_clear_error(code, err, "bad.yaml", "queue.visibility_timeout_s = -1")


def test_argparse_errors_and_help_return_codes(capsys):
    assert cli.main(["run"]) == 2  # FILE missing: argparse's usage message
    assert cli.main(["sweep", "x.yaml", "--replications", "0"]) == 2
    assert cli.main(["frobnicate"]) == 2
    assert cli.main(["--help"]) == 0
    assert "run" in capsys.readouterr().out


# -- lint ---------------------------------------------------------------------------------


def _findings(*severities):
    return [Finding(resource=f"Queue{i}", rule="some-rule", severity=s, message="what",
                    why="because", fix="do this") for i, s in enumerate(severities)]


@pytest.mark.parametrize("severities, strict, code", [
    ((), False, 0), ((), True, 0),
    (("warning",), False, 0), (("warning",), True, 1),
    (("error", "warning"), False, 1), (("error",), True, 1),
])
def test_lint_exit_codes(capsys, monkeypatch, scenario_file, severities, strict, code):
    import simlib.lint

    monkeypatch.setattr(simlib.lint, "lint_path", lambda path, **kw: _findings(*severities))
    argv = ["lint", scenario_file] + (["--strict"] if strict else [])
    got, out, _ = run_cli(capsys, *argv)
    assert got == code
    errors = severities.count("error")
    warnings = severities.count("warning")
    assert out.strip().endswith(f"{errors} error{'s' * (errors != 1)}, "
                                f"{warnings} warning{'s' * (warnings != 1)}")
    for i, severity in enumerate(severities):
        assert f"{severity.upper():7} Queue{i}  [some-rule]" in out
    if severities:
        assert "why: because" in out and "fix: do this" in out


def test_lint_a_real_template(capsys):
    code, out, _ = run_cli(capsys, "lint", DATA / "bad-traps.yaml", "--json")
    assert code == 1
    findings = json.loads(out)
    assert {f["rule"] for f in findings} >= {"timeout-above-visibility",
                                            "visibility-below-6x-timeout"}
    assert set(findings[0]) == {"resource", "rule", "severity", "message", "why", "fix",
                                "location"}
    code, out, _ = run_cli(capsys, "lint", DATA / "sam-good.yaml")
    assert code == 0 and "0 errors, 0 warnings" in out


# -- sweep --------------------------------------------------------------------------------


def test_sweep_prints_mean_and_interval_and_writes_tidy_runs(capsys, scenario_file, tmp_path):
    out_file = tmp_path / "runs.csv"
    code, out, err = run_cli(capsys, "sweep", scenario_file, "--set", "mapping.batch_size=1,10",
                             "--replications", 3, "--seed", 5, "--workers", 1,
                             "--kpis", "invocations,latency_p99_s", "--out", out_file)
    assert code == 0, err
    base = Scenario.from_dict(SCENARIO_DICT)
    expected = sweep(base, {"mapping.batch_size": [1, 10]}, 3, seed=5)
    written = pd.read_csv(out_file)
    assert list(written.columns) == list(expected.columns)
    assert written["invocations"].tolist() == expected["invocations"].tolist()
    assert written["seed"].tolist() == [5, 6, 7, 5, 6, 7]
    lines = out.splitlines()
    assert "95 % confidence interval" in lines[0] and "seeds 5..7" in lines[0]
    assert lines[1].split() == ["mapping.batch_size", "n", "invocations", "latency_p99_s"]
    points = summarize(expected, "mapping.batch_size", ["invocations"])
    mean, half = points["invocations_mean"].iloc[0], points["invocations_ci95"].iloc[0]
    cell = f"{format_value(mean)} ± {format_value(half)}"
    assert lines[2].split()[:2] == ["1", "3"] and cell in lines[2]
    assert "6 runs" in err and "1 process" in err


def test_a_sweep_of_one_point_needs_replications_asked_for(capsys, scenario_file):
    code, out, err = run_cli(capsys, "sweep", scenario_file, "--set", "mapping.batch_size=5",
                             "--replications", 2, "--workers", 1, "--json",
                             "--kpis", "executions")
    assert code == 0, err
    (point,) = json.loads(out)
    assert point["mapping.batch_size"] == 5 and point["n"] == 2


def test_sweep_grid_on_two_workers_and_json(capsys, scenario_file):
    code, out, err = run_cli(capsys, "sweep", scenario_file, "--set", "mapping.batch_size=1,10",
                             "--set", "handler.failure_rate=0,0.2", "--replications", 2,
                             "--workers", 2, "--json", "--kpis", "executions")
    assert code == 0, err
    points = json.loads(out)
    assert [(p["mapping.batch_size"], p["handler.failure_rate"]) for p in points] == [
        (1, 0), (1, 0.2), (10, 0), (10, 0.2)]
    assert all(p["n"] == 2 and "executions_ci95" in p for p in points)
    assert "2 worker processes" in err


# -- progress and the entry point ---------------------------------------------------------


def test_progress_bar_is_off_unless_asked_when_stderr_is_not_a_terminal(capsys):
    with cli.progress_bar(None, 2, "sweep", delay=0) as bar:
        bar.update(2)
    assert "run/s" not in capsys.readouterr().err
    with cli.progress_bar(True, 2, "sweep", delay=0) as bar:
        bar.update(2)
    assert "2/2" in capsys.readouterr().err


def test_python_dash_m_simlib_runs(scenario_file):
    command = [sys.executable, "-m", "simlib", "run", str(scenario_file)]
    done = subprocess.run([*command, "--json"], check=False, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tiny"]["messages_sent"] > 0
    bad = subprocess.run([*command, "--set", "queue.nope=1"], check=False, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("simlib: error: queue.nope = 1")


# -- runtime deprecation and Lambda Managed Instances -----------------------------------


def test_run_refuses_lambda_managed_instances_in_one_line(capsys):
    """https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-core-concepts.html"""
    code, out, err = run_cli(capsys, "run", DATA / "managed-instances.yaml")
    assert_one_clear_error(code, err, "managed-instances.yaml", "OrdersFunction",
                           "Lambda Managed Instances", "not modelled", "would be wrong")
    assert out == ""
    code, out, _ = run_cli(capsys, "lint", DATA / "managed-instances.yaml")
    assert code == 0 and "[managed-instances-not-modelled]" in out


def test_run_warns_once_on_stderr_for_a_deprecated_runtime(capsys, tmp_path):
    """python3.9: deprecated 2025-12-15 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html)."""
    path = tmp_path / "old.yaml"
    path.write_text(SCENARIO.replace("function: {timeout_s: 5}",
                                     "function: {timeout_s: 5, runtime: python3.9}"))
    code, out, err = run_cli(capsys, "run", path, "--kpis", "messages_sent")
    assert code == 0 and "Messages sent" in out
    lines = [line for line in err.splitlines() if line.startswith("simlib: warning: ")]
    assert len(lines) == 1
    assert "old: function.runtime: runtime python3.9 is deprecated since 2025-12-15" in lines[0]
    code, _, err = run_cli(capsys, "run", DATA.parent.parent / "data" / "scenarios" /
                           "default.yaml", "--kpis", "messages_sent", "--set",
                           "workload.duration_s=5")
    assert code == 0 and "simlib: warning" not in err  # python3.13: nothing to say
