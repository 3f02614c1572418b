"""The linter's findings as a SARIF 2.1.0 log, for code-scanning tools in CI.

Why SARIF: it is the format that code-scanning services (GitHub code scanning, for one)
and SARIF viewers in editors read, so a trap found in a template shows up on the
line of the template it is about, next to the pull request that added it.

The log has one run whose tool is ``simlib`` (with its version) and one rule per rule id
found (its ``why`` as the description, its ``fix`` as the help), and one result per
finding: ``ruleId``, a ``level`` (``error``, ``warning``; ``info`` becomes SARIF's
``note``), the message with the fix for this resource, the file (relative to the current
directory when it lies below it, as code scanning wants) and the line of the template key
the finding is about. Files that could not be linted are named as notifications of a run
that did not succeed. The SARIF format is specified by OASIS ("Static Analysis Results
Interchange Format (SARIF) Version 2.1.0"); this module writes the few objects of it
that a linter needs, as plain dicts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote

import yaml

from simlib.whatif.lint import Finding
from simlib.whatif.scenario_file import _line_of, read_text
from simlib.whatif.template import _TemplateLoader

SARIF_VERSION = "2.1.0"
# Where the schema is published (named in the log; not read, not copied here).
SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")
# A finding's severity -> SARIF result level. A severity not listed (a newer one) is
# reported as a warning rather than dropped.
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
# The base that relative artifact URIs are resolved against: the directory lint ran in
# (the checkout root, in CI). %SRCROOT% is the name code-scanning tools expect.
SRCROOT = "%SRCROOT%"


def level_of(severity: str) -> str:
    """The SARIF level of a finding's severity."""
    return LEVELS.get(severity, "warning")


# -- lines ----------------------------------------------------------------------------------

def compose(path) -> yaml.Node | None:
    """The node tree of a YAML or JSON template (short tags such as ``!GetAtt`` kept
    as they are), for line numbers; None when the file cannot be read or parsed.

    JSON is composed as YAML, which it almost is: only a tab, legal between JSON tokens
    and never raw inside a JSON string, is not YAML indentation, so a JSON file's tabs
    become spaces first (lines are unchanged).
    """
    path = Path(path)
    try:
        text = read_text(path)
    except ValueError:  # ScenarioFileError: missing, unreadable, too big
        return None
    if text.lstrip().startswith("{"):
        text = text.replace("\t", " ")
    try:
        return yaml.compose(text, Loader=_TemplateLoader)  # bounded SafeLoader: safe
    except yaml.YAMLError:
        return None


def line_of(node: yaml.Node | None, dotted: str) -> int | None:
    """The 1-based line of a dotted key path (``Resources.Jobs.Properties.Timeout``) in a
    composed file; when the file lacks the last keys (a value left to its AWS default),
    the line of the deepest key of the path that it has; None when it has not even the
    first."""
    return _line_of(node, dotted) if dotted else None


def finding_line(node: yaml.Node | None, finding: Finding) -> int:
    """The line a finding points at: its ``location`` key, else its resource's key (in a
    template's ``Resources`` or an application file's ``resources``), else line 1.

    A key path counts when the file has at least its first two keys (a section and a
    name in it): a resource the file lacks does not land on the ``Resources:`` line. A
    resource named ``Function.Events.Name`` (a SAM event) is looked for under the
    function's ``Properties``; a file without that key gives the function's line.
    """
    head, _, rest = finding.resource.partition(".")
    in_template = f"Resources.{head}" + (f".Properties.{rest}" if rest else "")
    for dotted in (finding.location, in_template, f"resources.{head}"):
        line = line_of(node, dotted)
        parts = dotted.split(".")
        if line is not None and len(parts) > 1:
            named = line_of(node, ".".join(parts[:2]))
            line = line if named != line_of(node, parts[0]) else None
        if line is not None:
            return line
    return 1


# -- the log --------------------------------------------------------------------------------

def artifact_uri(path, base: Path | None = None) -> tuple[str, str | None]:
    """``(uri, uriBaseId)`` of a file: relative to ``base`` (default: the current
    directory) when the file lies below it, else an absolute ``file:`` URI."""
    base = (base or Path.cwd()).resolve()
    full = Path(path).resolve()
    try:
        relative = full.relative_to(base)
    except ValueError:
        return full.as_uri(), None
    return quote(relative.as_posix()), SRCROOT


def _title(rule: str) -> str:
    """``timeout-above-visibility`` -> ``Timeout above visibility``."""
    words = re.sub(r"[-_]+", " ", rule).strip()
    return words[:1].upper() + words[1:]


def _rule(finding: Finding) -> dict:
    return {
        "id": finding.rule,
        "name": "".join(part.capitalize() for part in re.split(r"[-_]+", finding.rule)),
        "shortDescription": {"text": _title(finding.rule)},
        "fullDescription": {"text": finding.why},
        "help": {"text": f"Why: {finding.why}\nFix: {finding.fix}",
                 "markdown": f"**Why:** {finding.why}\n\n**Fix:** {finding.fix}"},
        "defaultConfiguration": {"level": level_of(finding.severity)},
    }


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def sarif_log(reports: Mapping[str | Path, Iterable[Finding]],
              errors: Mapping[str | Path, str] | None = None,
              base: Path | None = None) -> dict:
    """A SARIF 2.1.0 log (a JSON-ready dict) of the findings of each linted file.

    ``reports`` maps each file to its findings, in the order to report; ``errors`` maps a
    file that could not be linted to why (the run is then marked unsuccessful and each
    is a notification); ``base`` is the directory relative URIs start from (default the
    current one). Each rule is described once, from its first finding.
    """
    from simlib import __version__

    rules: dict[str, int] = {}
    descriptors: list[dict] = []
    results: list[dict] = []
    for path, findings in reports.items():
        uri, base_id = artifact_uri(path, base)
        artifact = {"uri": uri} | ({"uriBaseId": base_id} if base_id else {})
        node = None
        seen: dict[str, int] = {}
        for i, finding in enumerate(findings):
            if i == 0:
                node = compose(path)  # only a file with findings needs its lines
            if finding.rule not in rules:
                rules[finding.rule] = len(descriptors)
                descriptors.append(_rule(finding))
            # stable across runs and edits elsewhere in the file: which trap, where
            identity = _fingerprint(finding.rule, finding.resource, finding.location, uri)
            seen[identity] = seen.get(identity, 0) + 1
            if seen[identity] > 1:  # the same trap twice in one resource (two subscriptions)
                identity = _fingerprint(identity, str(seen[identity]))
            results.append({
                "ruleId": finding.rule,
                "ruleIndex": rules[finding.rule],
                "level": level_of(finding.severity),
                "message": {"text": f"{finding.resource}: {finding.message}. "
                                    f"Fix: {finding.fix}"},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": {"startLine": finding_line(node, finding)},
                    },
                    "logicalLocations": [{"name": finding.resource, "kind": "resource"}],
                }],
                "partialFingerprints": {"simlibFinding/v1": identity},
                "properties": {"resource": finding.resource, "severity": finding.severity}
                | ({"templateKey": finding.location} if finding.location else {}),
            })
    run: dict = {
        "tool": {"driver": {
            "name": "simlib",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": descriptors,
        }},
        "invocations": [_invocation(errors or {}, base)],
        "originalUriBaseIds": {SRCROOT: {"uri": (base or Path.cwd()).resolve().as_uri() + "/"}},
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _invocation(errors: Mapping[str | Path, str], base: Path | None) -> dict:
    invocation: dict = {"executionSuccessful": not errors}
    if errors:
        notes = []
        for path, text in errors.items():
            uri, base_id = artifact_uri(path, base)
            artifact = {"uri": uri} | ({"uriBaseId": base_id} if base_id else {})
            notes.append({"level": "error", "message": {"text": text},
                          "locations": [{"physicalLocation": {"artifactLocation": artifact}}]})
        invocation["toolExecutionNotifications"] = notes
    return invocation
