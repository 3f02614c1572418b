"""simlib.lessons.dead_letters: lesson 05's numbers read off a run, and its figures."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

import simlib
from simlib.lessons import dead_letters, kpis

matplotlib.use("Agg")

BASE = simlib.Scenario.from_dict({
    "workload": {"pattern": "burst", "rate_per_s": 4, "duration_s": 180, "burst_start_s": 30,
                 "burst_duration_s": 30, "burst_rate_per_s": 15},
    "queue": {"max_receive_count": 3, "retention_s": 900},
    "mapping": {"report_batch_item_failures": True},
})


@pytest.fixture(scope="module")
def poisoned():
    return simlib.simulate(BASE.with_changes({"workload.poison_fraction": 0.05}), seed=1)


@pytest.fixture(scope="module")
def over_pull():
    return simlib.simulate(BASE.with_changes({"function.reserved_concurrency": 2}), seed=1)


def test_without_throttles_the_dlq_holds_the_poison_and_only_it(poisoned):
    split = dead_letters.dlq_split(poisoned)
    poison = int(poisoned.messages["poison"].sum())
    assert poison > 0
    assert split == {"poison_in_dlq": poison, "valid_in_dlq": 0, "valid_in_dlq_never_ran": 0}
    assert split["poison_in_dlq"] + split["valid_in_dlq"] == poisoned.summary["messages_dlq"]


def test_the_over_pull_sends_valid_messages_that_never_ran(over_pull):
    split = dead_letters.dlq_split(over_pull)
    assert split["poison_in_dlq"] == 0
    assert split["valid_in_dlq"] == dead_letters.valid_in_dlq(over_pull) > 0
    assert split["valid_in_dlq_never_ran"] == split["valid_in_dlq"] == kpis.dlq_never_executed(over_pull)


def test_capping_the_pollers_at_the_reservation_keeps_valid_messages(over_pull):
    fixed = simlib.simulate(BASE.with_changes({"function.reserved_concurrency": 2,
                                               "mapping.max_concurrency": 2}), seed=1)
    assert dead_letters.valid_in_dlq(fixed) == 0 < dead_letters.valid_in_dlq(over_pull)
    assert fixed.summary["throttles"] == 0 < over_pull.summary["throttles"]


def test_failed_executions_over_time_count_every_failure(poisoned):
    failed = dead_letters.failed_executions_over_time(poisoned, 30)
    assert failed.sum() == kpis.failed_executions(poisoned) > 0
    assert failed.index[0] == 0 and np.allclose(np.diff(failed.index), 30)
    with pytest.raises(ValueError, match="positive"):
        dead_letters.failed_executions_over_time(poisoned, 0)


def test_without_a_dlq_poison_fails_once_per_visibility_timeout():
    no_dlq = simlib.simulate(BASE.with_changes({"workload.poison_fraction": 0.05,
                                                "queue.max_receive_count": None}), seed=1)
    poison = int(no_dlq.messages["poison"].sum())
    per_minute = poison * 60 / BASE.queue.visibility_timeout_s
    steady = dead_letters.failed_executions_over_time(no_dlq, 60).loc[300:780]
    assert (steady - per_minute).abs().max() <= 0.05 * per_minute


def test_pipeline_levels_count_the_dlq_as_it_fills(over_pull, poisoned):
    for run in (over_pull, poisoned):
        levels = dead_letters.pipeline_levels(run)
        assert len(levels) == len(run.timeseries)
        assert levels["valid_dlq"].is_monotonic_increasing and levels["poison_dlq"].is_monotonic_increasing
        last = levels.iloc[-1]
        assert last["valid_dlq"] + last["poison_dlq"] == run.summary["messages_dlq"]
        assert (levels["valid_dlq"] + levels["poison_dlq"] == run.timeseries["dlq_depth"]).all()
    levels = dead_letters.pipeline_levels(over_pull)
    assert levels["pollers"].max() > 2 * levels["concurrency"].max()  # the over-pull itself


def _legend_outside(ax) -> bool:
    legend = ax.get_legend()
    if legend is None:
        return False
    box, frame = legend.get_window_extent(), ax.get_window_extent()
    return box.x0 >= frame.x1 - 1 or box.y1 <= frame.y0 + 1


def test_figures_have_units_titles_and_legends_outside(poisoned, over_pull):
    sweep = pd.DataFrame({"mrc": [1, 2, 1, 2], "lost": [100.0, 20.0, 0.0, 0.0],
                          "config": ["reserved 2", "reserved 2", "fixed", "fixed"]})
    part1 = dead_letters.plot_poison({"with": poisoned}, bin_s=60, title="a finding",
                                     hlines={"arithmetic": 90})
    pull = dead_letters.plot_over_pull(over_pull, title="a finding")
    curve = dead_letters.plot_receive_sweep(sweep, x="mrc", y="lost", series="config",
                                            fix_series="fixed", xlabel="maxReceiveCount",
                                            ylabel="valid messages (messages)",
                                            series_label="configuration", title="a finding")
    panel = dead_letters.plot_panel(over_pull, sweep, x="mrc", y="lost", series="config",
                                    point=(2, 15), point_series="reserved 2", fix_series="fixed",
                                    xlabel="maxReceiveCount", ylabel="valid messages (messages)",
                                    series_label="sweep", title="a finding")
    for fig in (part1, pull, curve, panel):
        fig.canvas.draw()
    sweep_ax = next(ax for ax in panel.axes if ax.get_title() == "Your point on the lesson's sweep")
    assert [ax.get_ylabel() for ax in part1.axes] == ["executions per 60 s", "messages"]
    assert [ax.get_ylabel() for ax in pull.axes] == ["messages", "concurrency", "messages"]
    assert all(fig.get_suptitle() == "a finding" for fig in (part1, pull, panel))
    assert _legend_outside(part1.axes[0]) and _legend_outside(curve.axes[0])
    assert all(_legend_outside(ax) for ax in pull.axes)
    assert "your point" in [t.get_text() for t in sweep_ax.get_legend().get_texts()]
    fixed_line = next(line for line in curve.axes[0].get_lines() if line.get_label() == "fixed")
    assert fixed_line.get_linestyle() == "--"


def test_panel_names_a_missing_column(over_pull):
    with pytest.raises(KeyError, match="nope"):
        dead_letters.plot_panel(over_pull, pd.DataFrame({"x": [1]}), x="x", y="nope", series="x",
                                point=(1, 1), xlabel="", ylabel="", series_label="", title="")
