"""simlib.lessons.whatif_lesson: lesson 10's per-run numbers, sweep rows and figures."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

import simlib
from simlib.lessons import whatif_lesson as wl
from simlib.whatif.sweep import summarize, sweep

matplotlib.use("Agg")

# A small order pipeline: batches of 10 without partial batch responses, 3 % failing
# payments and 2 % poison orders, so that batches come back whole and the DLQ fills.
BASE = {
    "workload": {"rate_per_s": 20, "duration_s": 60, "poison_fraction": 0.02},
    "queue": {"visibility_timeout_s": 30, "max_receive_count": 3},
    "mapping": {"batch_size": 10, "batching_window_s": 1},
    "function": {"timeout_s": 10},
    "handler": {"duration_median_s": 0.05, "duration_p99_s": 0.2, "failure_rate": 0.03,
                "cpu_fraction": 0.0},
    "database": None,
}


@pytest.fixture(scope="module")
def scenario():
    return simlib.Scenario.from_dict(BASE)


@pytest.fixture(scope="module")
def whole_batches(scenario):
    return simlib.simulate(scenario, seed=3)


@pytest.fixture(scope="module")
def partial(scenario):
    return simlib.simulate(
        scenario.with_changes({"mapping.report_batch_item_failures": True}), seed=3)


def test_extra_charges_are_duplicate_side_effects_per_order_sent(whole_batches):
    s = whole_batches.summary
    assert s["duplicate_side_effects"] > 0
    assert wl.extra_charges_pct(whole_batches) == pytest.approx(
        100 * s["duplicate_side_effects"] / s["messages_sent"])


def test_partial_batch_responses_cut_the_extra_charges(whole_batches, partial):
    assert wl.extra_charges_pct(partial) < 0.5 * wl.extra_charges_pct(whole_batches)


def test_the_dlq_breakdown_adds_up_and_names_the_poison(whole_batches, partial):
    for run in (whole_batches, partial):
        d = wl.dlq_breakdown(run)
        assert sum(d.values()) == run.summary["messages_dlq"]
        m = run.messages
        assert d["poison"] == int(((m["outcome"] == "dlq") & m["poison"]).sum())
    # whole batches drag valid orders to the DLQ, some after they were charged...
    d = wl.dlq_breakdown(whole_batches)
    assert d["valid_charged"] > 0 and d["poison"] > 0
    # ...partial batch responses send only the poison there
    d = wl.dlq_breakdown(partial)
    assert d["valid_charged"] == d["valid_not_charged"] == 0 and d["poison"] > 0
    assert wl.valid_dlq_pct(partial) == 0.0
    sent = whole_batches.summary["messages_sent"]
    valid = wl.dlq_breakdown(whole_batches)
    assert wl.valid_dlq_pct(whole_batches) == pytest.approx(
        100 * (valid["valid_charged"] + valid["valid_not_charged"]) / sent)


def test_a_sweep_row_is_the_run_with_the_lessons_kpis(scenario):
    changes = {"mapping.report_batch_item_failures": False}
    row = wl.sweep_row(scenario, changes, 3)
    run = simlib.simulate(scenario.with_changes(changes), seed=3)
    assert row["seed"] == 3 and row["mapping.report_batch_item_failures"] is False
    assert {k: row[k] for k in run.summary} == run.summary
    assert row["extra_charges_pct"] == pytest.approx(wl.extra_charges_pct(run))
    assert row["valid_dlq_pct"] == pytest.approx(wl.valid_dlq_pct(run))


def test_sweep_rows_follow_the_visibility_timeout_under_throttling():
    # Reserved concurrency 2 below the five batches the pollers start with: throttled
    # batches outlive a short visibility timeout and valid orders reach the DLQ; a long
    # one keeps more of them (the claim of lesson 10's Part 4).
    base = simlib.Scenario.from_dict({
        "workload": {"pattern": "burst", "rate_per_s": 5, "duration_s": 120,
                     "burst_start_s": 30, "burst_duration_s": 30, "burst_rate_per_s": 50,
                     "poison_fraction": 0.0},
        "mapping": {"batch_size": 10, "report_batch_item_failures": True,
                    "max_concurrency": 50},
        "function": {"timeout_s": 30, "reserved_concurrency": 2},
        "handler": {"duration_median_s": 0.4, "duration_p99_s": 8.0, "cpu_fraction": 0.0},
        "database": None,
    })
    rows = sweep(base, {"queue.visibility_timeout_s": [60, 180]}, replications=2, seed=1,
                 workers=1, run=wl.sweep_row)
    assert {"extra_charges_pct", "valid_dlq", "valid_dlq_pct"} <= set(rows.columns)
    assert (rows["throttles"] > 0).all()
    lost = rows.groupby("queue.visibility_timeout_s")["valid_dlq"].mean()
    assert lost[60] > 0 and lost[180] < lost[60]


def test_with_band_is_the_interval_clipped_at_zero():
    stats = pd.DataFrame({"x": [1, 2, 3], "k_mean": [0.5, 2.0, 4.0],
                          "k_ci95": [1.0, 0.5, math.nan]})
    out = wl.with_band(stats, "k")
    assert out["low"].tolist() == [0.0, 1.5, 4.0]
    assert out["high"].tolist() == [1.5, 2.5, 4.0]
    assert "low" not in stats.columns  # the input is left alone


def _sweep_stats():
    runs = pd.DataFrame({
        "rate": [10, 10, 20, 20, 10, 10, 20, 20],
        "pipeline": ["a"] * 4 + ["b"] * 4,
        "y": [1.0, 1.2, 3.0, 3.4, 0.1, 0.2, 0.3, 0.2],
    })
    return wl.with_band(summarize(runs, ["pipeline", "rate"], ["y"]), "y")


def _outside(ax) -> bool:
    fig = ax.figure
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    return legend.x0 >= ax.get_window_extent().x1


def test_plot_curves_puts_the_legend_outside_and_starts_at_zero():
    fig = wl.plot_curves(_sweep_stats(), "rate", "y_mean", series="pipeline", xlabel="rate (/s)",
                         ylabel="y (%)", title="A finding", series_label="pipeline",
                         vlines={"capacity": 15.0})
    (ax,) = fig.axes
    assert ax.get_title() == "A finding" and ax.get_ylim()[0] == 0
    assert _outside(ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a", "b", "capacity"]
    assert ax.get_legend().get_title().get_text() == "pipeline"


def test_plot_panel_marks_your_point_beside_the_runs_levels(whole_batches):
    fig = wl.plot_panel(whole_batches, _sweep_stats(), x="rate", y="y_mean", series="pipeline",
                        point=(25.0, 5.0), xlabel="rate (/s)", ylabel="y (%)",
                        title="settings", sweep_title="your point", vlines={"yours": 12.0})
    assert len(fig.axes) == 3
    by_label = {ax.get_ylabel(): ax for ax in fig.axes}
    assert set(by_label) == {"messages", "environments", "y (%)"}
    curves = by_label["y (%)"]
    star = [line for line in curves.get_lines() if line.get_label() == "your point"]
    assert len(star) == 1 and tuple(star[0].get_xydata()[0]) == (25.0, 5.0)
    lo, hi = curves.get_xlim()
    assert lo < 10 and hi > 25            # the point is inside the axes, beyond the sweep
    far = wl.plot_panel(whole_batches, _sweep_stats(), x="rate", y="y_mean", series="pipeline",
                        point=(15.0, 1.0), xlabel="rate (/s)", ylabel="y (%)", title="t",
                        sweep_title="s", vlines={"yours": 2.0})
    sweep_axes = next(ax for ax in far.axes if ax.get_ylabel() == "y (%)")
    assert sweep_axes.get_xlim()[0] < 2.0   # a reference line left of the sweep stays in view
    assert curves.get_ylim()[1] > 5.0
    texts = [t.get_text() for ax in fig.axes if ax.get_legend()
             for t in ax.get_legend().get_texts()]
    assert texts.count("arrivals stop") == 1 and "your point" in texts
    assert all(_outside(ax) for ax in fig.axes)
    assert fig.get_suptitle() == "settings"


def test_panel_table_adds_the_lessons_rows(whole_batches):
    table = wl.panel_table(whole_batches)
    d = wl.dlq_breakdown(whole_batches)
    assert table.loc["Extra charges (% of orders sent)", "value"] == (
        f"{wl.extra_charges_pct(whole_batches):.2f} %")
    assert table.loc["  DLQ: poison orders", "value"] == f"{d['poison']:,}"
    assert table.loc["  DLQ: valid orders, already charged", "value"] == f"{d['valid_charged']:,}"
    assert "Cost per million processed messages" in table.index
    assert np.all(table["value"].map(lambda v: isinstance(v, str)))
