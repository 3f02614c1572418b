"""What a user points the command line at: a template, an application file or a scenario file.

Why a module of its own: :mod:`~simlib.whatif.scenario_file` reads scenario and
application files, :mod:`~simlib.whatif.template` reads templates, and neither needs the
other's reader; telling the three apart, choosing part of a template before anything is
converted, applying ``--set`` to a template's own values and gathering what was assumed
is this module's job (it imports both, they import neither).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simlib.core.scenario import Scenario
from simlib.whatif import template
from simlib.whatif.scenario_file import (
    SCENARIO_SECTIONS,
    ScenarioFileError,
    is_application,
    load_application_file,
    load_scenario_file,
    scenario_from_file_with_overlay,
)

# --set paths that name a template resource: kind -> the scenario section of its fields
RESOURCE_KINDS = {"functions": "function", "queues": "queue", "mappings": "mapping"}


class SelectionError(ValueError):
    """A ``--pipeline`` or ``--set`` path that names nothing in the file (a usage error)."""


def load_document_of_kind(path) -> tuple[Any, str]:
    """(the parsed file, its kind: ``template``, ``application`` or ``scenario``).

    An empty file, or YAML that is none of the three, is refused in one line saying what
    was expected.
    """
    path = Path(path)
    document = template.load_document(path)
    expected = ("expected a SAM / CloudFormation template (with Resources), an application "
                "file (with resources) or a scenario file (sections such as "
                + ", ".join(SCENARIO_SECTIONS[:4]) + ")")
    if document is None or document == {}:
        raise ScenarioFileError(path, "file", None, "", message=f"the file is empty: {expected}")
    if template.is_template(document):
        return document, "template"
    if is_application(document):
        return document, "application"
    close = isinstance(document, dict) and any(
        difflib.get_close_matches(str(k), SCENARIO_SECTIONS, n=1, cutoff=0.8) for k in document)
    if not isinstance(document, dict) or not (close or any(k in SCENARIO_SECTIONS
                                                           for k in document)):
        what = type(document).__name__ if not isinstance(document, dict) else \
            "a mapping with none of those keys (" + ", ".join(map(str, list(document)[:3])) + ")"
        raise ScenarioFileError(path, "file", None, "",
                                message=f"neither a template nor a scenario: {expected}; "
                                        f"found {what}")
    return document, "scenario"


@dataclass
class Loaded:
    """Scenarios (or one application) to run, by name, and what reading them assumed.

    ``notes`` are one line each, meant for stderr (``simlib: note: ...``): every
    assumption a template reading made, features the model does not simulate, and the
    pipelines ``skipped`` (name -> why: the model cannot simulate them).
    """

    runs: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    # the --set changes left for Scenario.with_changes (a template's own values are
    # already in the runs)
    rest: dict = field(default_factory=dict)


def split_template_changes(changes: dict, pipelines: list[template.Pipeline]
                           ) -> tuple[dict[str, dict], dict]:
    """(per pipeline name: changes to its template values, the other changes).

    ``functions.<Id>.<field>``, ``queues.<Id>.<field>`` and ``mappings.<Id>.<field>``
    change the named resource in every pipeline it is part of; a short-form path of a
    template value (``mapping.batching_window_s``) changes every pipeline. What is not a
    template value (``workload.rate_per_s``, ``handler.*``) is returned for the scenario.
    """
    per: dict[str, dict] = {p.name: {} for p in pipelines}
    rest = {}
    for path, value in changes.items():
        parts = path.split(".")
        if parts[0] in RESOURCE_KINDS:
            section = RESOURCE_KINDS[parts[0]]
            if len(parts) < 3:
                raise SelectionError(f"--set {path}: a resource path is {parts[0]}.<logical "
                                     f"id>.<field>, e.g. {parts[0]}.Worker.{_example(section)}")
            # a SAM event's mapping is named Function.Events.Event (dots and all), or by
            # its event name alone
            lid, name = ".".join(parts[1:-1]), parts[-1]
            attr = {"function": "function_id", "queue": "queue_id", "mapping": "mapping_id"}
            hits = [p for p in pipelines if getattr(p, attr[section]) == lid or (
                section == "mapping" and p.mapping_id.endswith(".Events." + lid))]
            if not hits:
                ids = sorted({str(getattr(p, attr[section])) for p in pipelines})
                raise SelectionError(f"--set {path}: no {section} {lid!r} in the template's "
                                     f"pipelines; its {parts[0]}: {', '.join(ids)}")
            short = f"{section}.{name}"
            if not template.is_template_value(short):
                raise SelectionError(f"--set {path}: {name} is not a template value of a "
                                     f"{section}; those are: "
                                     + ", ".join(template.template_values(section)))
            for p in hits:
                per[p.name][short] = value
        elif template.is_template_value(path):
            for p in pipelines:
                per[p.name][path] = value
        else:
            rest[path] = value
    return per, rest


def _example(section: str) -> str:
    return template.template_values(section)[0]


def load(path, overlay: dict | None = None, parameters: dict | None = None,
         pipeline: str | None = None, changes: dict | None = None) -> Loaded:
    """Read the file at ``path`` for ``run`` / ``sweep``.

    A template gives one scenario per SQS -> Lambda pipeline, named after the function's
    logical id (plus the queue's when one function reads several queues). ``pipeline``
    chooses one *before* anything is converted, so a sibling the model cannot simulate
    does not stand in the way; without it, such siblings are skipped with a note.
    ``changes`` (``--set``) that name template values are applied before validation, the
    others are returned in place for :meth:`Scenario.with_changes`; ``parameters``
    override the template's parameter defaults. An application or scenario file gives
    one run named after the file.
    """
    path = Path(path)
    document, kind = load_document_of_kind(path)
    if kind != "template":
        if parameters:
            raise SelectionError("--parameter sets a SAM / CloudFormation template's "
                                 f"parameters; {path} is not a template")
        if pipeline is not None and pipeline != path.stem:
            raise SelectionError(f"--pipeline {pipeline!r} is not in {path}; its pipelines: "
                                 f"{path.stem} (a template has one per SQS mapping)")
    if kind == "application":
        if overlay:
            raise ScenarioFileError(
                path, "overlay", None, "", message="an overlay applies to a template "
                "or a one-pipeline scenario; an application file holds its own traffic and "
                "handlers (change them with --set resources.<name>.<field>=VALUE)")
        return Loaded({path.stem: load_application_file(path)}, rest=dict(changes or {}))
    if kind == "scenario":
        scenario = (scenario_from_file_with_overlay(path, overlay) if overlay
                    else load_scenario_file(path))
        return Loaded({path.stem: scenario}, rest=dict(changes or {}))
    reading = template.read(document, path, parameters)
    pipelines = reading.pipelines
    if pipeline is not None:
        chosen = [p for p in pipelines if p.name == pipeline]
        if not chosen:
            raise SelectionError(f"--pipeline {pipeline!r} is not in {path}; its pipelines: "
                                 f"{', '.join(p.name for p in pipelines)}")
        pipelines = chosen
    per, rest = split_template_changes(changes or {}, pipelines)
    loaded = Loaded({}, notes=list(reading.notes), rest=rest)
    for ref in template.reference_errors(document):
        loaded.notes.append(f"template error (AWS would reject it; lint reports it): "
                            f"{ref[2]}")
    for p in pipelines:
        if per[p.name]:
            p = p.with_changes(per[p.name])
        try:
            loaded.runs[p.name] = p.to_scenario(overlay)
        except template.Unsupported as exc:
            if pipeline is not None or len(pipelines) == 1:
                raise
            loaded.skipped[p.name] = str(exc).split(": ", 1)[-1]
            continue
        loaded.notes += [f"{p.name}: {n}" for n in p.notes]
        loaded.notes += [f"{p.name}: {n}" for n in _handler_notes(loaded.runs[p.name])]
    loaded.notes += [f"skipped pipeline {name}: {why}" for name, why in loaded.skipped.items()]
    if not loaded.runs:
        raise ScenarioFileError(path, "Resources", None, "", message=(
            "no pipeline of this template can be simulated: "
            + "; ".join(f"{n}: {w}" for n, w in loaded.skipped.items())))
    return loaded


def _handler_notes(scenario: Scenario) -> list[str]:
    """The assumption behind the handler's duration at this memory size."""
    from simlib.aws.handler import memory_factor
    from simlib.core.limits import ONE_VCPU_MB

    memory, h = scenario.function.memory_mb, scenario.handler
    factor = memory_factor(h, memory)
    if factor == 1:
        return []
    return [f"handler durations are stated at {ONE_VCPU_MB:,} MB (one vCPU); at "
            f"{memory:,g} MB they are simulated {factor:.2f}x as long: the CPU-bound share "
            f"(handler.cpu_fraction {h.cpu_fraction:g}) slows with the smaller CPU share, "
            "the rest (waiting on I/O) does not (a model assumption)"]


def load_any(path, overlay: dict | None = None) -> dict[str, Scenario]:
    """Scenarios from a file a user pointed at, by name (see :func:`load`)."""
    return load(path, overlay).runs


__all__ = ["Loaded", "SelectionError", "load", "load_any", "load_document_of_kind",
           "split_template_changes"]
