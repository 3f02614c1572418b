"""Scenario files: a :class:`~simlib.scenario.Scenario` written as YAML, and overlays.

Why a file format at all: an architect keeps a pipeline's description next to the code
it models and runs it from the command line. The file has exactly the sections and field
names of :meth:`Scenario.from_dict` (design.md, "Scenario (stable names)"), so there is
no second vocabulary to learn or to drift. Loading is safe (no Python objects from YAML),
and every mistake is one :class:`ScenarioFileError` that names the file, the line where
it can be found, the dotted key path, the value and the allowed range.

:func:`load_any` is the single entry point for "a file a user pointed at": it tells a
SAM / CloudFormation template from a scenario file and returns one scenario per pipeline.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from simlib.errors import ScenarioError
from simlib.scenario import Scenario


class ScenarioFileError(ScenarioError):
    """A scenario file, overlay or template is missing, unreadable or holds a bad value.

    A :class:`~simlib.errors.ScenarioError` (so a ``ValueError``), whose message starts
    with the file and, when known, the line: ``orders.yaml line 7: queue.retention_s =
    10 is not allowed: a number in 60..1,209,600``. ``path``, ``line``, ``field``,
    ``value`` and ``allowed`` are kept as attributes for programs.
    """

    def __init__(self, path, field: str, value, allowed: str, *, line: int | None = None,
                 message: str | None = None):
        super().__init__(field, value, allowed)
        self.path = str(path)
        self.line = line
        where = f"{self.path} line {line}" if line is not None else self.path
        text = message or f"{field} = {value!r} is not allowed: {allowed}"
        self.args = (f"{where}: {text}",)


# -- reading YAML -------------------------------------------------------------------------

class _ScenarioLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and reads ``1e5`` as a number.

    PyYAML follows YAML 1.1, where ``1e5`` (no dot) is a string; a user writing
    ``rate_per_s: 1e5`` means the number, as YAML 1.2 and JSON do. A duplicate key would
    otherwise silently keep the last value, the kind of quiet surprise the scenario
    contract forbids.
    """

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"found duplicate key {key!r}", key_node.start_mark,
                )
            seen[key] = True
        return super().construct_mapping(node, deep=deep)


_ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_text(path: Path) -> str:
    """The file's text, or a :class:`ScenarioFileError` saying why it cannot be read."""
    if not path.exists():
        raise ScenarioFileError(path, "file", str(path), "", message="no such file")
    if not path.is_file():
        raise ScenarioFileError(path, "file", str(path), "", message="not a file")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError(path, "file", str(path), "",
                                message=f"cannot be read: {exc}") from None


def yaml_error(path: Path, exc: yaml.YAMLError) -> ScenarioFileError:
    """Turn a PyYAML error into a ScenarioFileError that points at the line."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    return ScenarioFileError(path, "yaml", None, problem, line=line, message=text)


def _parse(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse a scenario or overlay file: its data and its node tree (for line numbers)."""
    loader = _ScenarioLoader(read_text(path))
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None
    finally:
        loader.dispose()
    return data, node


def _line_of(node: yaml.Node | None, dotted: str) -> int | None:
    """The 1-based line of the deepest key of ``dotted`` that the file has."""
    line = None
    for part in dotted.split("."):
        if not isinstance(node, yaml.MappingNode):
            break
        for key_node, value_node in node.value:
            if str(key_node.value) == part:
                line, node = key_node.start_mark.line + 1, value_node
                break
        else:
            break
    return line


def _mapping(path: Path) -> tuple[dict, yaml.Node | None]:
    """The file's top level as a dict (empty file: no changes), else an error."""
    data, node = _parse(path)
    if data is None:
        return {}, node
    if not isinstance(data, dict):
        raise ScenarioFileError(
            path, "scenario", data, "", line=1,
            message=f"the top level is a {type(data).__name__}; a scenario file is a "
                    "mapping of section names (source, " + ", ".join(_sections()) + ")",
        )
    return data, node


def _sections() -> dict[str, Any]:
    """Scenario section name -> section class, read off the Scenario dataclass itself."""
    return {f.name: f.default_factory for f in dataclasses.fields(Scenario)
            if f.default_factory is not dataclasses.MISSING}


def _anchor_paths(data: dict, path: Path) -> dict:
    """Resolve a relative ``workload.trace_path`` against the file's own folder."""
    workload = data.get("workload")
    if isinstance(workload, dict) and isinstance(workload.get("trace_path"), str):
        trace = Path(workload["trace_path"]).expanduser()
        if not trace.is_absolute():
            trace = (path.parent / trace).resolve()
            data = {**data, "workload": {**workload, "trace_path": str(trace)}}
    return data


def _wrap(path: Path, node, exc: ScenarioError) -> ScenarioFileError:
    return ScenarioFileError(path, exc.field, exc.value, exc.allowed,
                             line=_line_of(node, exc.field))


# -- public API ---------------------------------------------------------------------------

def load_scenario_file(path) -> Scenario:
    """Read a YAML scenario file into a validated :class:`Scenario`.

    An empty file is the default scenario. A relative ``workload.trace_path`` is taken
    relative to the file. Raises :class:`ScenarioFileError` for a missing file, YAML
    syntax, a top level that is not a mapping, or any value ``Scenario.from_dict``
    rejects.
    """
    path = Path(path)
    data, node = _mapping(path)
    try:
        return Scenario.from_dict(_anchor_paths(data, path))
    except ScenarioError as exc:
        raise _wrap(path, node, exc) from None


def load_overlay(path) -> dict:
    """Read an overlay: a scenario file holding only the sections it changes.

    Each section and field is checked against the Scenario's own (names, types, ranges)
    but not against the rest of a scenario, which only exists once the overlay is
    applied (see :func:`apply_overlay`). Returns the plain nested dict.
    """
    path = Path(path)
    data, node = _mapping(path)
    data = _anchor_paths(data, path)
    sections = _sections()
    try:
        for key, value in data.items():
            if key == "source":
                Scenario.from_dict({"source": value})
            elif key == "database" and value is None:
                continue
            elif key in sections:
                sections[key].from_dict(value, key)
            else:
                raise ScenarioError(key, value,
                                    "unknown section; known: source, " + ", ".join(sections))
    except ScenarioError as exc:
        raise _wrap(path, node, exc) from None
    return data


def apply_overlay(base: dict, overlay: dict | None) -> dict:
    """``base`` (Scenario.from_dict shape) with ``overlay``'s fields laid over it.

    Sections merge field by field; ``source`` and a ``database: None`` replace.
    """
    merged = {key: dict(value) if isinstance(value, dict) else value
              for key, value in base.items()}
    for key, value in (overlay or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = dict(value) if isinstance(value, dict) else value
    return merged


def load_any(path, overlay: dict | None = None) -> dict[str, Scenario]:
    """Scenarios from a file a user pointed at, by name.

    A SAM / CloudFormation template (it has ``Resources``, ``AWSTemplateFormatVersion``
    or ``Transform``) gives one scenario per SQS -> Lambda pipeline, named after the
    function's logical id (plus the queue's when one function reads several queues). A
    scenario file gives one scenario named after the file's stem. ``overlay`` (a nested
    dict in ``Scenario.from_dict`` shape, e.g. from :func:`load_overlay`) is laid over
    what the file says: the traffic and handler a template cannot describe.
    """
    # Imported here: simlib.template raises this module's ScenarioFileError.
    from simlib import template

    path = Path(path)
    document = template.load_document(path)
    if template.is_template(document):
        return {p.name: p.to_scenario(overlay) for p in template.pipelines(document, path)}
    if not overlay:
        return {path.stem: load_scenario_file(path)}
    data, node = _mapping(path)
    try:
        scenario = Scenario.from_dict(apply_overlay(_anchor_paths(data, path), overlay))
    except ScenarioError as exc:
        err = _wrap(path, node, exc)
        err.args = (err.args[0] + " (with the overlay applied)",)
        raise err from None
    return {path.stem: scenario}
