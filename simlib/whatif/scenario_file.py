"""Scenario files: a :class:`~simlib.scenario.Scenario` written as YAML, and overlays.

Why a file format at all: an architect keeps a pipeline's description next to the code
it models and runs it from the command line. The file has exactly the sections and field
names of :meth:`Scenario.from_dict` (docs/design.md, "Scenario (stable names)"), so there is
no second vocabulary to learn or to drift. Loading is safe (no Python objects from YAML),
and every mistake is one :class:`ScenarioFileError` that names the file, the line where
it can be found, the dotted key path, the value and the allowed range.

:func:`simlib.whatif.inputs.load` is the single entry point for "a file a user pointed
at": it tells a template, an application file and a scenario file apart (this module does
not read templates).
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from simlib.core.errors import ScenarioError
from simlib.core.scenario import ConflictError, Scenario, _brief


class ScenarioFileError(ScenarioError):
    """A scenario file, overlay or template is missing, unreadable or holds a bad value.

    A :class:`~simlib.errors.ScenarioError` (so a ``ValueError``), whose message starts
    with the file and, when known, the line: ``orders.yaml line 7: queue.retention_s =
    10 is not allowed: a number in 60..1,209,600``. ``path``, ``line``, ``field``,
    ``value`` and ``allowed`` are kept as attributes for programs.

    The message is one line whatever the file holds: a value whose ``repr`` would be
    long or deep (a mapping nested 900 levels, an integer of 5,000 digits) is shown in a
    few words, and a line break in a key or a name is shown escaped (``\\n``).
    """

    def __init__(self, path, field: str, value, allowed: str, *, line: int | None = None,
                 message: str | None = None):
        shown = brief(value)
        super().__init__(field, shown, allowed)
        self.value = value
        self.path = str(path)
        self.line = line
        where = f"{self.path} line {line}" if line is not None else self.path
        text = message or f"{field} = {shown!r} is not allowed: {allowed}"
        self.args = (_one_line(f"{where}: {text}"),)


class _BigInt(int):
    """An integer too long to print (Python refuses to above 4,300 digits), shown by
    its size."""

    def __repr__(self):
        return f"an integer of {math.floor(math.log10(abs(self))) + 1:,} digits"


def brief(value):
    """``value`` as a message shows it: a short value as it is, a long or deep one in a
    few words (``a mapping with 3 keys``, ``'abc...' (300 characters)``, ``an integer
    of 5,000 digits``; see :func:`~simlib.core.scenario._brief`). Its ``repr`` is short
    and never recurses deeply, whatever a file held."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return _BigInt(value)
    # (a value core already made brief, a _BriefMapping say, is a subclass: kept brief)
    if type(value) in (dict, list, tuple) and nesting_depth(value) <= 4:
        items = _brief_items(value)
        if len(repr(items)) <= 200:
            return items
    return _brief(value)


def _brief_items(value):
    """A container with its long items (big integers, long strings) made short, to
    measure its repr safely."""
    if isinstance(value, dict):
        return {_brief_items(k): _brief_items(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_brief_items(v) for v in value]
    return brief(value)


_LINE_BREAKS = {ord(c): c.encode("unicode_escape").decode()
                for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def _one_line(text: str) -> str:
    """``text`` with every character Python splits lines at shown escaped."""
    return text.translate(_LINE_BREAKS)


def nesting_depth(value: Any) -> int:
    """How many levels of mappings and lists ``value`` nests (a scalar: 0), counted
    without recursion, so that a value nested too deeply is measured, not crashed on."""
    depth, level = 0, [value]
    while True:
        containers = [c for c in level if isinstance(c, (dict, list, tuple))]
        if not containers:
            return depth
        depth += 1
        level = [v for c in containers for v in (c.values() if isinstance(c, dict) else c)]


# -- reading YAML -------------------------------------------------------------------------

# A file a user points at may come from anyone, so reading it is bounded in size, in what
# YAML aliases may expand to, and in nesting: whatever the file holds, loading ends
# within a second in one error line instead of hanging or filling the memory.
#
# Size: CloudFormation takes a template body of at most 1 MB from S3, and 51,200 bytes
# sent inline in the request (AWS CloudFormation User Guide, "AWS CloudFormation
# quotas"); a scenario file or overlay is a few hundred bytes. A file larger than the
# largest template AWS accepts (comments count there too) is refused before a byte is
# read. At the limit, PyYAML's Python loader (needed to count aliases and to report
# lines) takes a few seconds: slow, but bounded.
MAX_FILE_BYTES = 1024 * 1024
# Aliases: each use of ``*name`` stands for the whole anchored value. Nine anchors of nine
# aliases each ("billion laughs") are 300 bytes that stand for 9 ** 9 values, which any
# walk over the data (a check, an error message) would never finish. Templates and
# scenario files use anchors rarely and for small blocks (shared environment variables,
# one repeated number); 100,000 values from aliases is far above that and still a
# fraction of a second to walk.
MAX_ALIAS_VALUES = 100_000
# Nesting: real templates nest about a dozen levels; PyYAML composes recursively, so a
# file of 5,000 opening brackets would otherwise end in a RecursionError traceback.
MAX_DEPTH = 100


class _Refused(yaml.composer.ComposerError):
    """A file refused by a loading bound or a duplicate key: reported as it is, not as
    "not valid YAML"."""


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses alias bombs, recursive aliases, very deep nesting and
    duplicate keys, and reports a value it cannot construct as a YAML error.

    PyYAML composes an alias as a reference to the anchored node, so the bomb costs
    nothing until someone walks it; counting, at each alias, how many values the anchored
    node expands to (memoised per node, so linear in the file) catches it while the
    file is still being read. An alias to a collection that is still open (``&a [*a]``)
    would be an endless value and is refused as well. Normal anchors and ``<<`` merge
    keys keep working (a key given beside a ``<<`` merge overrides the merged one, as
    YAML says).

    A key given twice in one mapping would silently keep the last value (PyYAML's
    default), the kind of quiet surprise the scenario contract forbids; it is refused
    naming the key path and both lines: ``Resources.Worker.Properties.Timeout is given
    twice (lines 9 and 10)``. Keys are compared as the values they stand for, so ``1``
    and ``0x1`` (or ``true`` and ``True``) are the same key, as they would be in the
    loaded mapping.

    An integer beyond the largest float (about 1.8e308) is refused naming its key path:
    every number of a template or scenario is used as a float, and Python cannot even
    print one of more than 4,300 digits. A scalar that matches a type but cannot become
    one (``2024-13-45``, ``!!float abc``) raises a ``ValueError`` deep inside PyYAML; it
    is turned into a :class:`yaml.constructor.ConstructorError` at the value's line.
    """

    def compose_document(self):
        self._alias_values, self._expanded, self._depth = 0, {}, 0
        self._path: list[str] = []
        return super().compose_document()

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            self._count_alias(self.peek_event())
            return super().compose_node(parent, index)
        self._depth += 1
        self._path.append(_step(parent, index))
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(None, None, f"YAML nesting = more than {MAX_DEPTH} levels is "
                               f"not allowed: at most {MAX_DEPTH} levels",
                               self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._path.pop()

    def compose_scalar_node(self, anchor):
        node = super().compose_scalar_node(anchor)
        if node.tag == "tag:yaml.org,2002:int":
            try:
                value = self.construct_yaml_int(node)
            except ValueError:  # Python reads at most 4,300 decimal digits
                value = None
            if value is None or abs(value) > sys.float_info.max:
                shown = (repr(_BigInt(value)) if value is not None else
                         f"an integer of {sum(c.isdigit() for c in node.value):,} digits")
                where = _dotted(self._path[1:]) or "the value"
                raise _Refused(None, None, f"{where} = {shown} is not allowed: at most "
                               f"{sys.float_info.max:.3g}, the largest number a float holds",
                               node.start_mark)
        return node

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self._key(key_node)
            if key is None:
                continue
            first = seen.setdefault(key, key_node)
            if first is not key_node:
                where = _dotted([*self._path[1:], str(key_node.value)])
                raise _Refused(None, None, f"{where} is given twice (lines "
                               f"{first.start_mark.line + 1} and "
                               f"{key_node.start_mark.line + 1})", key_node.start_mark)
        return node

    def _key(self, node: yaml.Node):
        """What a key node stands for, to compare keys; None when it cannot be compared
        here (a merge key, a collection, a tagged key: construction judges those)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:merge":
            return None
        if not node.tag.startswith("tag:yaml.org,2002:"):
            return None
        try:
            key = self.construct_object(node)
            hash(key)
        except (yaml.YAMLError, TypeError):
            return ("unreadable", node.tag, node.value)
        return key

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            text = node.value if isinstance(node, yaml.ScalarNode) else node.tag
            shown = repr(text[:40]) + ("..." if len(text) > 40 else "")
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {shown} as {node.tag.rsplit(':', 1)[-1]}: {exc}",
                node.start_mark) from None

    def _count_alias(self, event) -> None:
        node = self.anchors.get(event.anchor)
        if node is None:
            return  # PyYAML reports the undefined alias itself
        if node.end_mark is None:
            raise _Refused(None, None, f"alias *{event.anchor} is not allowed: an alias "
                           "inside its own anchor would make an endless value",
                           event.start_mark)
        self._alias_values += self._size(node)
        if self._alias_values > MAX_ALIAS_VALUES:
            raise _Refused(None, None, f"YAML aliases = {self._alias_values:,} values by "
                           f"this line is not allowed: at most {MAX_ALIAS_VALUES:,} values "
                           "may come from aliases (an alias bomb?)", event.start_mark)

    def _size(self, node) -> int:
        """How many values ``node`` stands for once every alias in it is expanded."""
        size = self._expanded.get(id(node))
        if size is None:
            if isinstance(node, yaml.MappingNode):
                size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                size = 1 + sum(self._size(item) for item in node.value)
            else:
                size = 1
            self._expanded[id(node)] = size
        return size


def _step(parent, index) -> str:
    """The key path step of the node being composed: the key of a mapping value, the
    position of a list item; ``?`` for a key itself (keys are not paths)."""
    if isinstance(index, yaml.ScalarNode):
        return str(index.value)
    if isinstance(index, int):
        return f"[{index}]"
    return "?" if parent is not None else ""


def _dotted(steps: list[str]) -> str:
    """["Resources", "Topic", "[0]", "Protocol"] -> "Resources.Topic[0].Protocol"."""
    out = ""
    for step in steps:
        out += step if step.startswith("[") or not out else f".{step}"
    return out


class _ScenarioLoader(BoundedLoader):
    """BoundedLoader that reads ``1e5`` as a number.

    PyYAML follows YAML 1.1, where ``1e5`` (no dot) is a string; a user writing
    ``rate_per_s: 1e5`` means the number, as YAML 1.2 and JSON do.
    """


_ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _too_big(path: Path, size: str) -> ScenarioFileError:
    return ScenarioFileError(
        path, "file size", size, f"at most {MAX_FILE_BYTES:,} bytes",
        message=f"file size = {size} bytes is not allowed: at most {MAX_FILE_BYTES:,} bytes "
                "(a CloudFormation template may have at most 1 MB)",
    )


def read_text(path: Path) -> str:
    """The file's text, or a :class:`ScenarioFileError` saying why it cannot be read.

    A file over :data:`MAX_FILE_BYTES` is refused from its size alone, and at most that
    much is ever read (a file that grows meanwhile is refused too).
    """
    if not path.exists():
        raise ScenarioFileError(path, "file", str(path), "", message="no such file")
    if not path.is_file():
        raise ScenarioFileError(path, "file", str(path), "", message="not a file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_big(path, f"{size:,}")
        with path.open(encoding="utf-8") as f:
            text = f.read(MAX_FILE_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError(path, "file", str(path), "",
                                message=f"cannot be read: {exc}") from None
    if len(text) > MAX_FILE_BYTES:
        raise _too_big(path, f"more than {MAX_FILE_BYTES:,}")
    return text


def yaml_error(path: Path, exc: yaml.YAMLError) -> ScenarioFileError:
    """Turn a PyYAML error into a ScenarioFileError that points at the line."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    if isinstance(exc, _Refused):  # a loading bound, which names its own limit
        text = problem
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


# the top-level keys of a scenario file
SCENARIO_SECTIONS = ("source", *(f.name for f in dataclasses.fields(Scenario)
                                 if f.default_factory is not dataclasses.MISSING))


def _sections() -> dict[str, Any]:
    """Scenario section name -> section class, read off the Scenario dataclass itself."""
    return {f.name: f.default_factory for f in dataclasses.fields(Scenario)
            if f.default_factory is not dataclasses.MISSING}


def _anchor_paths(data: dict, path: Path, node: yaml.Node | None = None) -> dict:
    """Resolve a relative ``workload.trace_path`` against the file's own folder."""
    workload = data.get("workload")
    if isinstance(workload, dict) and isinstance(workload.get("trace_path"), str):
        trace = _anchored(workload["trace_path"], path, "workload.trace_path", node)
        data = {**data, "workload": {**workload, "trace_path": trace}}
    return data


def _anchored(text: str, path: Path, field: str, node: yaml.Node | None) -> str:
    """A trace path as an absolute path: ``~`` expanded, a relative one taken relative
    to the folder of the file at ``path``; a path no file can have is an error."""
    try:
        trace = Path(text).expanduser()
        return str(trace if trace.is_absolute() else (path.parent / trace).resolve())
    except (RuntimeError, ValueError, OSError) as exc:  # ~nobody, a NUL byte, a link loop
        raise ScenarioFileError(path, field, text, f"a path to a CSV file ({exc})",
                                line=_line_of(node, field)) from None


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
    if is_application(data):
        raise ScenarioFileError(path, "resources", None, "", line=_line_of(node, "resources"),
                                message="an application file (it has resources); "
                                        "read it with load_application_file")
    try:
        return Scenario.from_dict(_anchor_paths(data, path, node))
    except ScenarioError as exc:
        raise _wrap(path, node, exc) from None


def is_application(document) -> bool:
    """A file describing an application: a mapping with ``resources`` (lowercase; a
    template's is ``Resources``)."""
    return isinstance(document, dict) and "resources" in document


def load_application_file(path):
    """Read a YAML application file (``resources``, ``account``, ``run``) into a validated
    :class:`~simlib.application.Application`; errors name the file, the line and
    ``resources.<name>.<field>``. A relative ``trace_path`` of a source is taken relative
    to the file."""
    from simlib.core.application import Application

    path = Path(path)
    data, node = _mapping(path)
    resources = data.get("resources")
    if isinstance(resources, dict):
        anchored = {}
        for name, spec in resources.items():
            if isinstance(spec, dict) and isinstance(spec.get("trace_path"), str):
                spec = {**spec, "trace_path": _anchored(
                    spec["trace_path"], path, f"resources.{name}.trace_path", node)}
            anchored[name] = spec
        data = {**data, "resources": anchored}
    try:
        return Application.from_dict(data)
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
    data = _anchor_paths(data, path, node)
    sections = _sections()
    try:
        for key, value in data.items():
            if key == "source":
                Scenario.from_dict({"source": value})
            elif key == "database" and value is None:
                continue
            elif key in sections:
                sections[key].from_dict(value, key)
            else:  # Scenario's own error: the name, the closest section, not the content
                Scenario.from_dict({key: value})
    except ScenarioError as exc:
        raise _wrap(path, node, exc) from None
    return data


def overlay_changes(overlay: dict | None) -> dict:
    """An overlay as dotted-path changes: ``{"queue": {"x": 1}}`` -> ``{"queue.x": 1}``.

    Why: when a scenario breaks a rule between two fields only once the overlay is laid
    over it, the error must name the field the overlay set
    (:meth:`~simlib.scenario.ConflictError.blamed_on` takes these changes).
    """
    changes = {}
    for key, value in (overlay or {}).items():
        if isinstance(value, dict):
            changes.update({f"{key}.{name}": v for name, v in value.items()})
        else:
            changes[key] = value
    return changes


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


def scenario_from_file_with_overlay(path, overlay: dict) -> Scenario:
    """The scenario file at ``path`` with ``overlay`` (``Scenario.from_dict`` shape, e.g.
    from :func:`load_overlay`) laid over it; an error names the overlay's field or the
    file's line."""
    path = Path(path)
    data, node = _mapping(path)
    try:
        return Scenario.from_dict(apply_overlay(_anchor_paths(data, path, node), overlay))
    except ScenarioError as exc:
        changes = overlay_changes(overlay)
        if isinstance(exc, ConflictError):
            exc = exc.blamed_on(changes)
        if exc.field in changes:  # the overlay's value: no line of this file to point at
            err = ScenarioFileError(path, exc.field, exc.value, exc.allowed)
            err.args = (err.args[0] + " (set by the overlay)",)
        else:
            err = _wrap(path, node, exc)
            err.args = (err.args[0] + " (with the overlay applied)",)
        raise err from None
