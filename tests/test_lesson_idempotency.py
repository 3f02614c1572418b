"""Lesson 07's helpers (simlib.lessons.idempotency): the expiry and batch sweeps, figures."""

import math

import matplotlib

matplotlib.use("Agg")

import pytest
from simlib.sweep import summarize

import simlib
from simlib.lessons import idempotency as lesson

VISIBILITY_TIMEOUT_S = 30
MAX_RECEIVE_COUNT = 5


@pytest.fixture(scope="module")
def scenario():
    """Whole-batch retries with transient failures, no database."""
    return simlib.Scenario.from_dict({
        "workload": {"rate_per_s": 10, "duration_s": 90},
        "queue": {"visibility_timeout_s": VISIBILITY_TIMEOUT_S,
                  "max_receive_count": MAX_RECEIVE_COUNT},
        "mapping": {"batch_size": 20, "batching_window_s": 10, "report_batch_item_failures": False},
        "function": {"timeout_s": 30},
        "handler": {"duration_median_s": 0.5, "duration_p99_s": 0.8, "cpu_fraction": 0.0,
                    "failure_rate": 0.05},
        "database": None,
    })


@pytest.fixture(scope="module")
def runs(scenario):
    return lesson.expiry_sweep(scenario, [5, 60, MAX_RECEIVE_COUNT * VISIBILITY_TIMEOUT_S, 3600], [1, 2])


def test_per_thousand_counts_per_message_sent():
    out = lesson.per_thousand({"messages_sent": 2000, "duplicate_executions": 30,
                               "duplicate_side_effects": 4})
    assert out == {"duplicate_executions_per_1000": 15.0, "duplicate_side_effects_per_1000": 2.0}
    assert math.isnan(lesson.per_thousand({"messages_sent": 0, "duplicate_executions": 0,
                                           "duplicate_side_effects": 0})
                      ["duplicate_side_effects_per_1000"])


def test_the_store_protects_only_while_it_remembers(runs):
    none = runs[~runs["store"]].set_index("seed")
    store = runs[runs["store"]].pivot(index="seed", columns="expiry_s",
                                      values="duplicate_side_effects")
    assert runs.loc[~runs["store"], "expiry_s"].isna().all()
    assert (none["duplicate_side_effects"] > 0).all()
    # an expiry far below the visibility timeout catches (almost) nothing...
    assert (store[5] >= 0.95 * none["duplicate_side_effects"]).all()
    # ...one covering maxReceiveCount x the visibility timeout catches every duplicate charge,
    assert (store[MAX_RECEIVE_COUNT * VISIBILITY_TIMEOUT_S] == 0).all()
    assert (store[3600] == 0).all()
    # while the duplicate executions stay
    execs = runs[runs["store"]].pivot(index="seed", columns="expiry_s", values="duplicate_executions")
    assert (execs[3600] > 0).all()


def test_batch_failures_follow_the_closed_form(scenario):
    frame = lesson.batch_failure_sweep(scenario, [1, 10, 20], seed=1)
    assert list(frame["batch_size"]) == [1, 10, 20]
    assert frame.loc[0, "theory"] == pytest.approx(0.05)
    sd = (frame["theory"] * (1 - frame["theory"]) / frame["invocations"]) ** 0.5
    assert ((frame["failed_share"] - frame["theory"]).abs() <= 3 * sd).all()
    assert (frame["low"] <= frame["failed_share"]).all() and (frame["failed_share"] <= frame["high"]).all()


def test_figures_keep_their_legends_outside_the_data(scenario, runs):
    stats = summarize(runs[runs["store"]], ["expiry_s"],
                      ["duplicate_executions_per_1000", "duplicate_side_effects_per_1000"])
    fig = lesson.plot_expiry_sweep(stats, visibility_timeout_s=VISIBILITY_TIMEOUT_S,
                                   max_receive_count=MAX_RECEIVE_COUNT, no_store=100.0, point=(60, 5.0))
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:4] == ["duplicate executions", "duplicate side effects",
                          "visibility timeout (30 s)", "maxReceiveCount × visibility timeout (150 s)"]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "per 1,000 messages sent"
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1 - 1

    result = simlib.simulate(scenario, seed=1)
    panel = lesson.plot_idempotency_panel(result, stats, expiry_s=60, store=False,
                                          visibility_timeout_s=VISIBILITY_TIMEOUT_S,
                                          max_receive_count=MAX_RECEIVE_COUNT, no_store=100.0)
    left, right = panel.axes
    stars = [line for line in right.get_lines() if line.get_marker() == "*"]
    assert len(stars) == 1 and stars[0].get_markerfacecolor() == "white"
    value = lesson.per_thousand(result.summary)["duplicate_side_effects_per_1000"]
    assert stars[0].get_ydata()[0] == pytest.approx(value)
    panel.canvas.draw()
    assert left.get_legend().get_window_extent().y1 <= left.get_window_extent().y0

    per_message = lesson.plot_per_message({"no store": result})
    per_message.canvas.draw()
    legend = per_message.legends[0]
    assert legend.get_window_extent().y1 <= min(a.get_window_extent().y0 for a in per_message.axes)

    batches = lesson.batch_failure_sweep(scenario, [1, 20], seed=1)
    failures = lesson.plot_batch_failures(batches, 0.05)
    (fax,) = failures.axes
    assert fax.get_xlabel() == "batch size (messages)"
    assert fax.get_ylabel() == "invocations that failed (fraction)"
