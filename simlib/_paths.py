"""The import paths of before the layout (``simlib.scenario``, ``simlib.plotting``, ...),
kept working: lessons, users' scripts and notebooks import them.

Each old path is an alias of the module at its new place (the same module object, so
``simlib.scenario.Scenario is simlib.core.scenario.Scenario`` and monkeypatching either
patches both); the module is imported only when the old path is, so ``import simlib``
does not pull in pandas or matplotlib.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

# old module name -> its place in the layout (docs/design.md, "Layout")
MOVED = {
    "errors": "core.errors", "scenario": "core.scenario", "streams": "core.streams",
    "workload": "core.workload", "records": "core.records", "messages": "core.messages",
    "results": "core.results", "attributes": "core.attributes",
    "event_patterns": "core.event_patterns", "application": "core.application",
    "application_result": "core.application_result", "limits": "core.limits",
    "pricing": "core.pricing", "runtimes": "core.runtimes",
    "queue": "aws.sqs", "sqs_fifo": "aws.sqs_fifo", "pollers": "aws.event_source_mapping",
    "lambda_service": "aws.lambda_service", "invocation": "aws.invocation",
    "handler": "aws.handler", "async_invoke": "aws.async_invoke", "sns": "aws.sns",
    "eventbridge": "aws.eventbridge", "delivery": "aws.delivery", "database": "aws.database",
    "idempotency": "aws.idempotency", "api": "aws.api",
    "scenario_file": "whatif.scenario_file", "template": "whatif.template",
    "template_app": "whatif.template_app", "lint": "whatif.lint", "sweep": "whatif.sweep",
    "runs_file": "whatif.runs_file", "cli": "whatif.cli",
    "plotting": "lessons.plotting", "explore": "lessons.explore", "goals": "lessons.goals",
    "kpis": "lessons.kpis", "theory": "lessons.theory",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:
        pass  # the real module ran when it was imported at its own place


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``simlib.<old>`` and hands back ``simlib.<layer>.<new>``."""

    def find_spec(self, fullname, path, target=None):
        prefix, _, name = fullname.partition(".")
        if prefix != "simlib" or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(f"simlib.{MOVED[name]}"))


def install() -> None:
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())


def module(name: str):
    """``simlib.<name>`` for ``from simlib import <name>`` (the package's __getattr__)."""
    if name not in MOVED:
        raise AttributeError(f"module 'simlib' has no attribute {name!r}")
    return importlib.import_module(f"simlib.{name}")
