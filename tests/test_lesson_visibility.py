"""Lesson 04's helpers (simlib.lessons.visibility): the throttled consumer's sweep, the
count of valid messages lost, and the panel's figure.

The behaviour tests pin what the lesson teaches, on the lesson's scenario: AWS asks for a
visibility timeout of at least six times the function timeout because "the extra time
allows Lambda to retry if your function is throttled while processing a previous batch"
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html), and throttled
batches are retried "until the message's timestamp exceeds your queue's visibility timeout"
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import simlib
from simlib.lessons import visibility
from simlib.whatif.sweep import summarize

TIMEOUT_S = 30
THROTTLED = {  # lesson 04, Part 2: a one-minute burst into reserved concurrency 5
    "workload": {"rate_per_s": 30, "duration_s": 60},
    "queue": {"visibility_timeout_s": 2 * TIMEOUT_S},
    "mapping": {"batch_size": 10},
    "function": {"timeout_s": TIMEOUT_S, "reserved_concurrency": 5},
    "handler": {"duration_median_s": 2.0, "duration_p99_s": 3.0, "cpu_fraction": 0.0},
    "database": None,
}


@pytest.fixture(scope="module")
def base():
    return simlib.Scenario.from_dict(THROTTLED)


@pytest.fixture(scope="module")
def swept(base):
    runs = visibility.ratio_sweep(base, [1, 2, 6], [3, 5], replications=2, seed=1)
    points = summarize(runs, ["ratio", "reserved_concurrency"],
                       [*visibility.LOST_COLUMNS, "duplicate_executions"])
    return runs, points


def test_lost_messages_counts_valid_dlq_messages_and_those_that_never_ran():
    poisoned = simlib.Scenario.from_dict({
        "workload": {"rate_per_s": 20, "duration_s": 30, "poison_fraction": 0.05},
        "queue": {"max_receive_count": 2, "visibility_timeout_s": 5},
        "function": {"timeout_s": 5},
        "database": None,
    })
    r = simlib.simulate(poisoned, seed=3)
    lost = visibility.lost_messages(r)
    m = r.messages
    assert r.summary["messages_dlq"] > 0
    # poison messages in the DLQ are not counted as lost valid messages
    assert lost["dlq_valid"] == int(((m["outcome"] == "dlq") & ~m["poison"]).sum())
    assert lost["dlq_valid"] < r.summary["messages_dlq"]
    assert 0 <= lost["dlq_never_ran"] <= lost["dlq_valid"]
    assert lost["dlq_valid_share"] == pytest.approx(lost["dlq_valid"] / len(m))


def test_sweep_rows_carry_the_ratio_the_reserved_concurrency_and_the_losses(swept, base):
    runs, points = swept
    assert len(runs) == 3 * 2 * 2
    assert set(runs["ratio"]) == {1.0, 2.0, 6.0}
    assert set(runs["reserved_concurrency"]) == {3, 5}
    assert sorted(set(runs["seed"])) == [1, 2]  # the same seeds at every point
    assert (runs["queue.visibility_timeout_s"] == runs["ratio"] * TIMEOUT_S).all()
    for col in visibility.LOST_COLUMNS:
        assert col in runs.columns and f"{col}_mean" in points.columns
    assert (points["n"] == 2).all()
    # a row is the run of its point: the same scenario and seed give the same numbers
    row = runs[(runs["ratio"] == 2) & (runs["reserved_concurrency"] == 5) & (runs["seed"] == 1)]
    again = simlib.simulate(base.with_changes({"function.reserved_concurrency": 5}), seed=1)
    assert row["dlq_valid"].item() == visibility.lost_messages(again)["dlq_valid"]


def test_throttled_consumer_loses_valid_messages_at_2x_and_none_at_6x(swept):
    runs, points = swept
    assert (runs["throttles"] > 0).all()
    assert (runs["errors"] == 0).all() and (runs["timeouts"] == 0).all()
    at_2x = runs[runs["ratio"] == 2]
    assert (at_2x["dlq_valid"] > 0).all()
    assert (at_2x["dlq_never_ran"] == at_2x["dlq_valid"]).all()  # lost without running
    at_6x = runs[runs["ratio"] == 6]
    assert (at_6x["dlq_valid"] == 0).all() and (at_6x["duplicate_executions"] == 0).all()
    # more margin never loses more, and harder throttling loses more
    lost = points.pivot(index="ratio", columns="reserved_concurrency", values="dlq_valid_mean")
    assert (lost.diff().iloc[1:] <= 0).all().all()
    assert (lost.loc[[1.0, 2.0], 3] > lost.loc[[1.0, 2.0], 5]).all()


def test_maximum_concurrency_at_the_reserved_concurrency_stops_throttles_and_losses(base):
    for ratio in (1, 2):
        capped = base.with_changes({"queue.visibility_timeout_s": ratio * TIMEOUT_S,
                                    "mapping.max_concurrency": 5})
        r = simlib.simulate(capped, seed=1)
        assert r.summary["throttles"] == 0
        assert visibility.lost_messages(r)["dlq_valid"] == 0
        assert r.summary["messages_deleted"] == r.summary["messages_sent"]


def test_ratio_below_the_function_timeout_is_refused(base):
    with pytest.raises(simlib.ScenarioError):
        visibility.ratio_sweep(base, [0.5], [5], replications=1)


def test_throttles_are_binned_without_losing_any(base):
    r = simlib.simulate(base, seed=1)
    starts, counts = visibility._throttles_binned(r.timeseries)
    assert counts.sum() == r.timeseries["throttles"].sum() > 0
    assert np.all(np.diff(starts) > 0) and np.allclose(starts % visibility.THROTTLE_BIN_S, 0)


def test_panel_figure_has_one_unit_per_axis_your_point_and_outside_legends(swept, base):
    _, points = swept
    r = simlib.simulate(base, seed=1)
    lost = visibility.lost_messages(r)
    open_before = plt.get_fignums()
    fig = visibility.plot_throttle_panel(r, points, point=(2, lost["dlq_valid_share"]),
                                         point_series=5, reserved_concurrency=5, title="T")
    assert plt.get_fignums() == open_before  # detached from pyplot
    axes = {ax.get_ylabel(): ax for ax in fig.axes}
    assert {"messages", "environments", "invoke attempts",
            "valid messages moved to the DLQ (fraction of sent)"} <= set(axes)
    left = [axes["messages"], axes["environments"], axes["invoke attempts"]]
    assert all(left[0].get_shared_x_axes().joined(left[0], ax) for ax in left[1:])
    assert left[-1].get_xlabel() == "time since start (s)"
    sweep_ax = axes["valid messages moved to the DLQ (fraction of sent)"]
    star = [line for line in sweep_ax.get_lines() if line.get_label() == "your point"]
    assert len(star) == 1 and star[0].get_xdata()[0] == 2
    labels = [t.get_text() for t in sweep_ax.get_legend().get_texts()]
    assert labels[:2] == ["3", "5"] and "your point" in labels
    assert any("6 × function timeout" in lab for lab in labels)
    # the sweep's legend sits right of its axes, the run's legend below the figure
    assert sweep_ax.get_legend().get_bbox_to_anchor().x0 >= sweep_ax.get_window_extent().x1 - 1
    assert len(fig.legends) == 1
    assert "reserved concurrency (5)" in [t.get_text() for t in fig.legends[0].get_texts()]
    assert fig.get_suptitle() == "T"


def test_panel_figure_names_a_missing_column(swept, base):
    _, points = swept
    r = simlib.simulate(base, seed=1)
    with pytest.raises(KeyError, match="no column 'nope'"):
        visibility.plot_throttle_panel(r, points, point=(1, 0), y="nope")
