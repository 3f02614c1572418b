"""Lesson 06's helpers (simlib.lessons.database): the cap sweep and its figures."""

import matplotlib

matplotlib.use("Agg")

import pytest
from simlib.sweep import summarize

import simlib
from simlib.lessons import database as lesson

MAX_CONNECTIONS = 10


@pytest.fixture(scope="module")
def reused():
    """A burst against a small database, one connection per environment."""
    return simlib.Scenario.from_dict({
        "workload": {"pattern": "burst", "rate_per_s": 4, "duration_s": 60, "burst_start_s": 10,
                     "burst_duration_s": 10, "burst_rate_per_s": 80},
        "database": {"max_connections": MAX_CONNECTIONS, "connection_per": "environment"},
    })


@pytest.fixture(scope="module")
def runs(reused):
    return lesson.cap_sweep(reused, [5, MAX_CONNECTIONS, 20], [1, 2])


@pytest.fixture(scope="module")
def stats(runs):
    return summarize(runs, ["cap_kind", "cap"], ["db_connection_errors", "latency_p99_s"])


def test_a_cap_at_the_connection_limit_removes_the_errors_and_one_above_it_does_not(reused, runs):
    # without a cap the burst needs more environments than there are connections
    assert simlib.simulate(reused, seed=1).summary["db_connection_errors"] > 0
    assert set(runs["cap_kind"]) == set(lesson.CAP_KINDS.values())
    assert len(runs) == 2 * 3 * 2
    within = runs["cap"] <= MAX_CONNECTIONS
    assert (runs.loc[within, "db_connection_errors"] == 0).all()
    assert (runs.loc[~within, "db_connection_errors"] > 0).all()
    # the caps hold: never more busy environments than the cap
    assert (runs["max_concurrency"] <= runs["cap"]).all()


def test_the_same_seed_gives_the_same_row(reused, runs):
    again = lesson.cap_sweep(reused, [5], [1], kinds=["mapping.max_concurrency"])
    first = runs[(runs["cap"] == 5) & (runs["seed"] == 1)
                 & (runs["cap_kind"] == "mapping maximum concurrency")]
    assert again.iloc[0]["db_connection_errors"] == first.iloc[0]["db_connection_errors"]
    assert again.iloc[0]["latency_p99_s"] == first.iloc[0]["latency_p99_s"]


def test_unknown_cap_kinds_and_refused_caps_are_errors(reused):
    with pytest.raises(KeyError, match="not a cap: 'function.memory_mb'"):
        lesson.cap_sweep(reused, [5], [1], kinds=["function.memory_mb"])
    with pytest.raises(simlib.ScenarioError):
        lesson.cap_sweep(reused, [1], [1], kinds=["mapping.max_concurrency"])  # AWS: at least 2


def test_no_cap_sits_right_of_the_sweep():
    assert lesson.cap_x(20, [2, 20, 60]) == 20.0
    assert lesson.cap_x(None, [2, 20, 60]) > 60


def test_tradeoff_figure_marks_the_limit_and_keeps_its_legend_outside(stats):
    fig = lesson.plot_cap_tradeoff(stats, max_connections=MAX_CONNECTIONS,
                                   proxy={"db_connection_errors": 0.0, "latency_p99_s": 3.0},
                                   title="t")
    errors, p99 = fig.axes
    assert errors.get_ylabel() == "connection errors (per run)"
    assert p99.get_ylabel() == "latency of processed messages, p99 (s)"
    assert errors.get_xlabel() == "concurrency cap (environments)"
    for ax in (errors, p99):
        xs = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert MAX_CONNECTIONS in xs
    legend = fig.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["mapping maximum concurrency", "reserved concurrency",
                      f"max_connections ({MAX_CONNECTIONS})", "RDS Proxy, no cap"]
    fig.canvas.draw()
    below = legend.get_window_extent().y1
    assert below <= min(ax.get_window_extent().y0 for ax in fig.axes)


def test_panel_figure_marks_your_point(reused, stats):
    result = simlib.simulate(reused, seed=1)
    fig = lesson.plot_database_panel(result, stats, cap=None, max_connections=MAX_CONNECTIONS,
                                     sweep_max_connections=MAX_CONNECTIONS)
    assert len(fig.axes) == 4
    stars = [line for ax in fig.axes for line in ax.get_lines() if line.get_marker() == "*"]
    assert len(stars) == 2
    caps = sorted(int(c) for c in stats["cap"].unique())
    assert all(star.get_xdata()[0] == lesson.cap_x(None, caps) for star in stars)
    assert stars[0].get_ydata()[0] == result.summary["db_connection_errors"]
