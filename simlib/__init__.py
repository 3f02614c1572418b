"""Serverless Lab: a discrete-event model of AWS Lambda in production.

The public surface is small on purpose: describe a pipeline as a :class:`Scenario` (or
a graph of resources as an :class:`Application`), run it with :func:`simulate`, read the
tidy frames and the summary of the :class:`Result` (an :class:`ApplicationResult`).
Everything else is an implementation detail of the model.
"""

from simlib.application import Application
from simlib.application_result import ApplicationResult
from simlib.engine import simulate
from simlib.errors import ScenarioError
from simlib.results import Result
from simlib.scenario import Scenario

__all__ = ["Application", "ApplicationResult", "Result", "Scenario", "ScenarioError", "simulate"]
__version__ = "0.1.0"
