"""Goals a run must meet: an SLO on latency, a budget, "nothing in the DLQ".

A goal compares one summary KPI with a target, the way an alarm on a dashboard does;
:func:`check` turns a list of goals into the table a workshop reads ("met: yes / NO"),
and :func:`goals_met` counts them for asserts and loops over seeds. The capstone
lesson's goals are :func:`capstone_goals`. There is no model logic here: goals only read
``result.summary``, so a goal on a KPI the summary does not have is an error when it is
built, not a silent "met".
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from simlib.core.results import SUMMARY_KEYS

__all__ = ["COMPARISONS", "Goal", "capstone_goals", "check", "goals_met"]

# comparison -> (test, symbol shown in the table)
COMPARISONS = {
    "<=": (operator.le, "≤"),
    "<": (operator.lt, "<"),
    "==": (operator.eq, "="),
    ">=": (operator.ge, "≥"),
    ">": (operator.gt, ">"),
}


def _kind(kpi: str) -> str:
    if kpi.endswith("_usd"):
        return "usd"
    if kpi.endswith("_s"):
        return "seconds"
    if kpi.endswith("_rate"):
        return "percent"
    return "count"


def _format(x: float, kind: str, target: bool) -> str:
    """Targets read as set (``10 s``, ``$5.00``), values as measured (``82.1 s``)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if kind == "usd":
        return f"${x:,.2f}"
    if kind == "seconds":
        return f"{x:g} s" if target else f"{x:.1f} s"
    if kind == "percent":
        return f"{100 * x:.1f}%"
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


@dataclass(frozen=True)
class Goal:
    """One goal: ``summary[kpi] <comparison> target``, shown under ``name``.

    ``kpi`` is a summary key (``latency_p99_s``, ``messages_dlq``, ...); ``comparison``
    one of ``<=``, ``<``, ``==``, ``>=``, ``>``. Raises ValueError for an unknown KPI or
    comparison, or a target that is not a finite number.
    """

    name: str
    kpi: str
    comparison: str
    target: float

    def __post_init__(self):
        if self.kpi not in SUMMARY_KEYS:
            raise ValueError(f"goal {self.name!r}: kpi = {self.kpi!r} is not a summary key; "
                             f"known: {', '.join(SUMMARY_KEYS)}")
        if self.comparison not in COMPARISONS:
            raise ValueError(f"goal {self.name!r}: comparison = {self.comparison!r} is not "
                             f"allowed: one of {', '.join(COMPARISONS)}")
        if (isinstance(self.target, bool) or not isinstance(self.target, (int, float))
                or not math.isfinite(self.target)):
            raise ValueError(f"goal {self.name!r}: target = {self.target!r} is not allowed: "
                             f"a finite number")

    def value(self, result) -> float:
        """The KPI's value in ``result`` (a Result or its summary dict)."""
        summary = getattr(result, "summary", result)
        return summary[self.kpi]

    def met(self, result) -> bool:
        """Whether ``result`` meets the goal; a missing value (NaN) never does."""
        value = self.value(result)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return bool(COMPARISONS[self.comparison][0](value, self.target))

    @property
    def target_text(self) -> str:
        """The target as the table shows it, e.g. ``≤ 10 s`` or ``= 0``."""
        symbol = COMPARISONS[self.comparison][1]
        return f"{symbol} {_format(self.target, _kind(self.kpi), target=True)}"


def _goals(goals: Iterable[Goal]) -> tuple[Goal, ...]:
    goals = tuple(goals)
    if not goals:
        raise ValueError("no goals to check")
    bad = [g for g in goals if not isinstance(g, Goal)]
    if bad:
        raise TypeError(f"expected Goal objects, got {type(bad[0]).__name__}")
    return goals


def check(result, goals: Iterable[Goal]) -> pd.DataFrame:
    """One row per goal: ``target``, ``value`` and ``met`` (``yes`` or ``NO``), as text.

    Indexed by the goals' names (index name ``goal``), in the order given. ``result`` is
    a Result or a summary dict. The cells are formatted strings, like the KPI tables in
    :mod:`simlib.plotting`, so that a lesson's stored output stays readable and stable;
    use :func:`goals_met` or :meth:`Goal.met` for a number or a bool.
    """
    goals = _goals(goals)
    rows = [(g.name, g.target_text, _format(g.value(result), _kind(g.kpi), target=False),
             "yes" if g.met(result) else "NO") for g in goals]
    return pd.DataFrame(rows, columns=["goal", "target", "value", "met"]).set_index("goal")


def goals_met(result, goals: Iterable[Goal]) -> int:
    """How many of ``goals`` the run meets."""
    return sum(g.met(result) for g in _goals(goals))


def capstone_goals(p99_s: float = 10.0, max_dlq: int = 0, max_duplicate_side_effects: int = 0,
                   budget_per_million_usd: float = 5.00) -> tuple[Goal, ...]:
    """The workshop capstone's goals (lesson 09): an order pipeline's SLO and budget.

    - p99 latency (sent -> deleted) at most ``p99_s`` seconds;
    - at most ``max_dlq`` orders in the dead-letter queue (none by default);
    - at most ``max_duplicate_side_effects`` customers charged twice (none by default);
    - cost per million processed (deleted) messages at most ``budget_per_million_usd``.

    A limit of zero reads as "= 0" in the table.
    """
    def at_most(limit):
        return "==" if limit == 0 else "<="

    return (
        Goal("latency of processed messages (p99)", "latency_p99_s", "<=", p99_s),
        Goal("messages in the DLQ", "messages_dlq", at_most(max_dlq), max_dlq),
        Goal("duplicate side effects", "duplicate_side_effects",
             at_most(max_duplicate_side_effects), max_duplicate_side_effects),
        Goal("cost per million processed messages", "cost_per_million_usd", "<=", budget_per_million_usd),
    )
