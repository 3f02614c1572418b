"""simlib.lessons.start: Little's law from a scenario's settings, and lesson 00's panel.

The law is checked against the model itself (what the lesson's claim rests on), the
helpers against their definitions, and the panel's figure for what it must show.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import simlib
from simlib.aws.handler import duration_sampler
from simlib.lessons import kpis, start

BASE = simlib.Scenario.from_dict({"workload": {"rate_per_s": 50, "duration_s": 60}})


def _stats(rates=(10, 50, 100)) -> pd.DataFrame:
    """A small summarized sweep, the shape simlib.sweep.summarize gives the lesson."""
    w = start.seconds_per_message(BASE)
    return pd.DataFrame({"workload.rate_per_s": list(rates), "n": 3,
                         "mean_concurrency_mean": [r * w for r in rates],
                         "mean_concurrency_ci95": [0.05 * r * w for r in rates]})


@pytest.mark.parametrize("distribution", ["lognormal", "exponential", "constant"])
def test_handler_mean_is_the_mean_of_the_models_draws(distribution):
    scenario = BASE.with_changes({"handler.duration_distribution": distribution})
    draws = duration_sampler(scenario.handler)(np.random.default_rng(7), 400_000)
    assert start.handler_mean_s(scenario.handler) == pytest.approx(draws.mean(), rel=0.01)


def test_handler_mean_of_the_default_is_above_its_median():
    h = BASE.handler  # lognormal, median 0.1 s, p99 0.5 s: the right tail pulls the mean up
    assert h.duration_median_s < start.handler_mean_s(h) < h.duration_p99_s


def test_seconds_per_message_stretches_below_one_vcpu_only():
    at = {mb: start.seconds_per_message(BASE.with_changes({"function.memory_mb": mb}))
          for mb in (512, 1769, 3538)}
    query_s = BASE.handler.db_queries_per_message * BASE.database.query_s
    assert at[1769] == pytest.approx(start.handler_mean_s(BASE.handler) + query_s)
    assert at[3538] == pytest.approx(at[1769])  # single-threaded: no gain above one vCPU
    assert at[512] > 2 * at[1769]
    no_db = BASE.with_changes({"handler.db_queries_per_message": 0})
    assert start.seconds_per_message(no_db) == pytest.approx(at[512] - query_s)


@pytest.mark.parametrize("changes", [
    {},
    {"workload.rate_per_s": 120},
    {"mapping.batching_window_s": 2},
    {"handler.duration_median_s": 0.3, "handler.duration_p99_s": 1.5},
])
def test_littles_law_from_the_settings_matches_the_model(changes):
    """W worked out before the run agrees with the environment-seconds the run spends per
    message, and rate x W with the mean concurrency it measures."""
    scenario = BASE.with_changes(changes)
    measured_w, measured_l = [], []
    for seed in (1, 2, 3):
        result = simlib.simulate(scenario, seed=seed)
        measured_w.append(kpis.busy_s_per_message(result))
        measured_l.append(kpis.mean_concurrency(result))
    assert np.mean(measured_w) == pytest.approx(start.seconds_per_message(scenario), rel=0.03)
    assert np.mean(measured_l) == pytest.approx(start.littles_law(scenario), rel=0.08)


def test_littles_law_scales_with_the_rate():
    assert start.littles_law(BASE, 100) == pytest.approx(2 * start.littles_law(BASE))
    assert start.littles_law(BASE) == pytest.approx(50 * start.seconds_per_message(BASE))


def test_with_handler_median_keeps_the_shape_and_the_rest():
    slower = start.with_handler_median(BASE, 0.3)
    assert slower.handler.duration_median_s == 0.3
    assert slower.handler.duration_p99_s == pytest.approx(1.5)  # p99 / median stays 5
    assert slower.workload == BASE.workload and slower.function == BASE.function
    assert BASE.handler.duration_median_s == 0.1  # the base is not changed


def test_with_handler_median_rejects_what_the_scenario_rejects():
    with pytest.raises(simlib.ScenarioError):
        start.with_handler_median(BASE, -0.1)


def test_concurrency_row_measures_its_point():
    row = start.concurrency_row(BASE, {"workload.rate_per_s": 20}, 2)
    assert row["workload.rate_per_s"] == 20 and row["seed"] == 2
    result = simlib.simulate(BASE.with_changes({"workload.rate_per_s": 20}), seed=2)
    assert row["mean_concurrency"] == kpis.mean_concurrency(result)
    assert row["messages_sent"] == result.summary["messages_sent"]
    assert row["littles_law"] == pytest.approx(20 * start.seconds_per_message(BASE))


def _line(ax, label):
    return next(line for line in ax.get_lines() if line.get_label() == label)


def test_sweep_figure_draws_the_law_the_points_and_your_point():
    stats = _stats()
    w = start.seconds_per_message(BASE)
    fig = start.plot_concurrency_sweep(stats, w, point=(70, 20.0), your_w_s=2 * w)
    ax = fig.axes[0]
    law = _line(ax, f"Little's law, rate × {w:.3f} s")
    xs, ys = law.get_data()
    assert np.allclose(np.asarray(ys), np.asarray(xs) * w)
    yours = _line(ax, f"Little's law at your settings, rate × {2 * w:.3f} s")
    assert np.allclose(np.asarray(yours.get_ydata()), np.asarray(yours.get_xdata()) * 2 * w)
    star = _line(ax, "your point")
    assert list(star.get_xdata()) == [70] and list(star.get_ydata()) == [20.0]
    assert ax.get_ylim()[1] > 20.0 and ax.get_xlabel() == "arrival rate (messages/s)"
    # at the lesson's own W there is nothing extra to draw
    same = start.plot_concurrency_sweep(stats, w, point=(50, 14.0), your_w_s=w).axes[0]
    assert not any("your settings" in line.get_label() for line in same.get_lines())


def test_sweep_figure_names_a_missing_column():
    with pytest.raises(KeyError, match="mean_concurrency_ci95"):
        start.plot_concurrency_sweep(_stats().drop(columns="mean_concurrency_ci95"), 0.3)


def test_panel_figure_marks_the_run_and_shows_its_levels():
    scenario = start.with_handler_median(BASE.with_changes({"workload.rate_per_s": 30}), 0.2)
    result = simlib.simulate(scenario, seed=1)
    fig = start.plot_start_panel(result, _stats(), start.seconds_per_message(BASE))
    assert len(fig.axes) == 3
    by_unit = {ax.get_ylabel(): ax for ax in fig.axes}
    assert {"environments", "messages"} <= set(by_unit)  # one unit per panel
    sweep_ax = by_unit["mean concurrency (busy environments)"]
    star = _line(sweep_ax, "your point")
    assert list(star.get_xdata()) == [30]
    assert star.get_ydata()[0] == pytest.approx(kpis.mean_concurrency(result))
    # the handler is slower than the lesson's, so the law at the run's own W is drawn
    assert any("your settings" in line.get_label() for line in sweep_ax.get_lines())
    assert "30 messages/s" in fig._suptitle.get_text()
    assert len(fig.legends) == 1  # one legend, below the panels, outside the data
    assert all(ax.get_legend() is None for ax in fig.axes)


def test_panel_table_leads_with_the_law_and_keeps_the_kpis():
    result = simlib.simulate(BASE, seed=1)
    table = start.panel_table(result)
    assert list(table.index[:2]) == ["Mean concurrency (busy environments)",
                                     "Little's law: rate × W (environments)"]
    assert table.loc["Invocations", "value"] == f"{result.summary['invocations']:,}"
    mean = float(table.iloc[0, 0])
    law = float(table.iloc[1, 0])
    assert mean == pytest.approx(kpis.mean_concurrency(result), abs=0.01)
    assert math.isclose(law, start.littles_law(BASE), abs_tol=0.01)


def test_panel_colours_each_series_as_the_one_run_figure_does():
    from matplotlib.colors import to_hex

    from simlib.lessons.plotting import plot_timeseries

    result = simlib.simulate(BASE, seed=1)

    def colours(fig):
        return {line.get_label(): to_hex(line.get_color())
                for ax in fig.axes for line in ax.get_lines()
                if not line.get_label().startswith("_")}

    one_run = colours(plot_timeseries(result))
    panel = colours(start.plot_start_panel(result, _stats(), start.seconds_per_message(BASE)))
    for label in ("busy environments (concurrency)", "visible messages in the queue",
                  "in-flight messages"):
        assert panel[label] == one_run[label], label
    assert len({panel[label] for label in one_run if label != "arrivals stop"}) == 3
