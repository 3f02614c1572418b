"""Serverless Lab: a discrete-event model of AWS Lambda in production.

The public surface is small on purpose: describe a pipeline as a :class:`Scenario` (or
a graph of resources as an :class:`Application`), run it with :func:`simulate`, read the
tidy frames and the summary of the :class:`Result` (an :class:`ApplicationResult`).
Everything else is an implementation detail of the model.

The package's layout is its architecture (docs/design.md, "Layout"): ``simlib.core``
(scenarios, applications, limits, prices, streams, event tables, results), ``simlib.aws``
(one module per modelled service), ``simlib.engine`` (wires an application and runs it),
``simlib.whatif`` (files, templates, lint, sweeps, the command line) and
``simlib.lessons`` (figures, panels, goals, theory). Imports run one way: whatif and
lessons use the engine, the engine uses aws, aws uses core. The module paths of before
the layout (``simlib.scenario``, ``simlib.plotting``, ...) still import (``simlib._paths``).
"""

from simlib import _paths

_paths.install()

from simlib.core.application import Application
from simlib.core.application_result import ApplicationResult
from simlib.core.errors import ScenarioError
from simlib.core.results import Result
from simlib.core.scenario import Scenario
from simlib.engine import simulate

__all__ = ["Application", "ApplicationResult", "Result", "Scenario", "ScenarioError", "simulate"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``from simlib import plotting`` and the other modules of before the layout."""
    return _paths.module(name)
