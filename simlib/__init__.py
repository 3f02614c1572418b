"""Serverless Lab: a discrete-event model of AWS Lambda in production.

The public surface is small on purpose: describe a pipeline as a :class:`Scenario`,
run it with :func:`simulate`, read the tidy frames and the summary of the
:class:`Result`. Everything else is an implementation detail of the model.
"""

from simlib.engine import simulate
from simlib.errors import ScenarioError
from simlib.results import Result
from simlib.scenario import Scenario

__all__ = ["Result", "Scenario", "ScenarioError", "simulate"]
__version__ = "0.1.0"
