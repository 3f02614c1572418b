"""simlib.goals: goals on summary KPIs and the capstone's checker table."""

import math

import pytest

import simlib
from simlib.goals import COMPARISONS, Goal, capstone_goals, check, goals_met

# A summary with the capstone's four KPIs, two goals met and two missed.
SUMMARY = {"latency_p99_s": 82.114, "messages_dlq": 1250, "duplicate_side_effects": 0,
           "cost_per_million_usd": 4.6649}


def test_check_formats_targets_and_values_and_says_yes_or_no():
    table = check(SUMMARY, capstone_goals())
    assert table.index.name == "goal"
    assert list(table.columns) == ["target", "value", "met"]
    assert table.to_dict("index") == {
        "latency of processed messages (p99)": {"target": "≤ 10 s", "value": "82.1 s", "met": "NO"},
        "messages in the DLQ": {"target": "= 0", "value": "1,250", "met": "NO"},
        "duplicate side effects": {"target": "= 0", "value": "0", "met": "yes"},
        "cost per million processed messages": {"target": "≤ $5.00", "value": "$4.66", "met": "yes"},
    }
    assert goals_met(SUMMARY, capstone_goals()) == 2


def test_capstone_goal_parameters():
    goals = capstone_goals(p99_s=2.5, max_dlq=3, max_duplicate_side_effects=0,
                           budget_per_million_usd=30)
    assert [g.kpi for g in goals] == ["latency_p99_s", "messages_dlq", "duplicate_side_effects",
                                      "cost_per_million_usd"]
    table = check(SUMMARY, goals)
    assert list(table["target"]) == ["≤ 2.5 s", "≤ 3", "= 0", "≤ $30.00"]
    assert list(table["met"]) == ["NO", "NO", "yes", "yes"]


@pytest.mark.parametrize("comparison, target, met", [
    ("<=", 10, True), ("<=", 9, False), ("<", 10, False), ("<", 11, True),
    ("==", 10, True), ("==", 0, False), ("==", 11, False), (">=", 10, True), (">=", 11, False),
    (">", 9, True), (">", 10, False),
])
def test_comparisons(comparison, target, met):
    goal = Goal("dlq", "messages_dlq", comparison, target)
    assert goal.met({"messages_dlq": 10}) is met
    assert goal.target_text.startswith(COMPARISONS[comparison][1] + " ")


def test_a_missing_value_is_never_met():
    goal = Goal("p99", "latency_p99_s", "<=", 10)
    assert goal.met({"latency_p99_s": math.nan}) is False
    table = check({"latency_p99_s": math.nan}, [goal])
    assert table.loc["p99", "value"] == "n/a" and table.loc["p99", "met"] == "NO"


def test_goals_are_checked_when_built():
    with pytest.raises(ValueError, match="kpi = 'p99_latency' is not a summary key"):
        Goal("p99", "p99_latency", "<=", 10)
    with pytest.raises(ValueError, match="comparison = '=<' is not allowed"):
        Goal("p99", "latency_p99_s", "=<", 10)
    for bad in (math.nan, math.inf, True, "10"):
        with pytest.raises(ValueError, match="target"):
            Goal("p99", "latency_p99_s", "<=", bad)
    with pytest.raises(ValueError, match="no goals"):
        check(SUMMARY, [])
    with pytest.raises(TypeError, match="Goal"):
        check(SUMMARY, [("p99", "latency_p99_s", "<=", 10)])


def test_goals_are_frozen():
    goal = Goal("p99", "latency_p99_s", "<=", 10)
    with pytest.raises(AttributeError):
        goal.target = 20


def test_check_a_real_run_agrees_with_its_summary():
    r = simlib.simulate(simlib.Scenario.from_dict(
        {"workload": {"rate_per_s": 20, "duration_s": 30}}), seed=1)
    s = r.summary
    goals = capstone_goals(p99_s=s["latency_p99_s"] - 0.01,
                           budget_per_million_usd=s["cost_per_million_usd"] + 0.01)
    table = check(r, goals)
    assert list(table["met"]) == ["NO", "yes", "yes", "yes"]
    assert table.loc["latency of processed messages (p99)", "value"] == f"{s['latency_p99_s']:.1f} s"
    assert goals_met(r, goals) == 3
    assert check(r, goals).equals(check(s, goals))  # a Result or its summary
