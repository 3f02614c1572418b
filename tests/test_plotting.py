"""The lessons' shared visuals (simlib.plotting) and interactive panels (simlib.explore)."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from simlib.plotting import compare, format_value, kpi_table, plot_sweep, plot_timeseries

import simlib
from simlib import kpis, plotting

SMALL = {"workload": {"rate_per_s": 20, "duration_s": 30}}


@pytest.fixture(scope="module")
def result():
    return simlib.simulate(simlib.Scenario.from_dict(SMALL), seed=1)


@pytest.fixture(scope="module")
def busier():
    scenario = simlib.Scenario.from_dict(SMALL).with_changes({"workload.rate_per_s": 40})
    return simlib.simulate(scenario, seed=1)


# -- figures ----------------------------------------------------------------------------


def test_timeseries_figure_has_title_labels_with_units_and_legend(result):
    # One unit per axis (the lesson standard): environments and messages on stacked panels
    # sharing the time axis, so the smaller series is not a flat line under the larger.
    fig = plot_timeseries(result)
    top, bottom = fig.axes
    assert fig.get_suptitle() == "SQS queue → Lambda: poisson arrivals, 20 messages/s for 30 s (seed 1)"
    assert bottom.get_xlabel() == "time since start (s)"
    assert top.get_ylabel() == "environments" and bottom.get_ylabel() == "messages"
    assert top.get_shared_x_axes().joined(top, bottom)
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert labels == ["busy environments (concurrency)", "arrivals stop"]
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == [
        "visible messages in the queue", "in-flight messages"]
    # legends sit outside the data, right of the panels
    assert top.get_legend().get_bbox_to_anchor().x0 >= top.get_window_extent().x1 - 1
    assert fig._suptitle.get_fontsize() >= 14 and bottom.xaxis.label.get_fontsize() >= 13


def test_timeseries_refuses_two_units_on_one_given_axes(result):
    fig, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match="2 units .*one axes holds one unit"):
            plot_timeseries(result, columns=("concurrency", "queue_visible"), ax=ax)
    finally:
        plt.close(fig)


def test_timeseries_figure_is_detached_from_pyplot_and_leaves_rcparams_alone(result):
    before = dict(matplotlib.rcParams)
    open_before = plt.get_fignums()
    fig = plot_timeseries(result, columns="cold_starts", title="Cold starts")
    assert plt.get_fignums() == open_before
    assert dict(matplotlib.rcParams) == before
    assert fig.axes[0].get_title() == "Cold starts"
    assert fig.axes[0].get_ylabel() == "environments"


def test_timeseries_draws_into_a_given_axes(result):
    fig, ax = plt.subplots()
    try:
        assert plot_timeseries(result, columns=("environments",), ax=ax) is fig
        assert len(ax.get_lines()) == 2  # the series and the "arrivals stop" marker
    finally:
        plt.close(fig)


def test_timeseries_rejects_unknown_columns(result):
    with pytest.raises(KeyError, match="'queue_depth'.*known: concurrency"):
        plot_timeseries(result, columns=("queue_depth",))


def test_timeseries_renders_to_png(result, tmp_path):
    path = tmp_path / "ts.png"
    plot_timeseries(result).savefig(path)
    assert path.stat().st_size > 10_000


def test_sweep_labels_series_and_theory_line():
    frame = pd.DataFrame({
        "workload.rate_per_s": [10, 20, 40, 10, 20, 40],
        "mean_concurrency": [1.0, 2.1, 3.9, 0.8, 1.6, 3.3],
        "function.architecture": ["x86_64"] * 3 + ["arm64"] * 3,
    })
    fig = plot_sweep(frame, "workload.rate_per_s", "mean_concurrency",
                     series="function.architecture", theory=lambda x: x / 10,
                     theory_label="Little's law")
    (ax,) = fig.axes
    assert ax.get_xlabel() == "arrival rate (messages/s)"
    assert ax.get_ylabel() == "mean concurrency (busy environments)"
    assert ax.get_title() == "Mean concurrency vs arrival rate"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["x86_64", "arm64", "Little's law"]
    theory = ax.get_lines()[-1]
    assert theory.get_linestyle() == "--"
    assert theory.get_ydata()[-1] == pytest.approx(4.0)


def test_sweep_several_columns_band_and_theory_column():
    frame = pd.DataFrame({"function.memory_mb": [512, 128, 1024], "cost_usd": [2.0, 3.0, 2.5],
                          "lo": [1.8, 2.7, 2.3], "hi": [2.2, 3.3, 2.7], "fit": [2, 3, 2.5],
                          "latency_p50_s": [0.3, 1.0, 0.2]})
    fig = plot_sweep(frame, "function.memory_mb", ["cost_usd", "latency_p50_s"], ci=("lo", "hi"),
                     theory="fit", logx=True, title="Power tuning")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "Power tuning"
    assert list(ax.get_lines()[0].get_xdata()) == [128, 512, 1024]  # sorted by x
    assert len(ax.collections) == 2  # one band per curve
    with pytest.raises(KeyError, match="'nope'"):
        plot_sweep(frame, "function.memory_mb", "nope")


def _labelled_lines(ax):
    """Lines with a legend label (matplotlib names unlabelled artists ``_child...``)."""
    return {line.get_label(): line for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def test_timeseries_reference_level_is_labelled_dashed_and_always_in_view(result):
    peak = float(result.timeseries["concurrency"].max())
    fig = plot_timeseries(result, "concurrency", hlines={"account limit": 3 * peak},
                          legend_loc="center right")
    (ax,) = fig.axes
    line = _labelled_lines(ax)["account limit"]
    assert list(line.get_ydata()) == [3 * peak] * 2 and line.get_linestyle() == "--"
    assert ax.get_ylim()[1] >= 3 * peak  # a limit far above the run still shows
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["busy environments (concurrency)", "arrivals stop", "account limit"]
    with pytest.raises(TypeError, match="dict of label -> value"):
        plot_timeseries(result, "concurrency", hlines=[20])
    with pytest.raises(TypeError, match="'limit' -> 'high' is not a number"):
        plot_timeseries(result, "concurrency", hlines={"limit": "high"})


def test_timeseries_zoom_fits_the_y_axis_to_the_window(result):
    ts = result.timeseries
    whole = plot_timeseries(result, "queue_visible").axes[0]
    zoomed = plot_timeseries(result, "queue_visible", xlim=(20, 28)).axes[0]
    assert zoomed.get_xlim() == (20, 28)
    # the window's own peak sets the top (steps-post: the sample at t <= 20 shows too)
    shown = ts.loc[(ts["t_s"] >= 19) & (ts["t_s"] <= 28), "queue_visible"].max()
    assert zoomed.get_ylim()[1] == pytest.approx(1.06 * max(shown, 1.0))
    assert zoomed.get_ylim()[1] <= whole.get_ylim()[1]
    # arrivals stop at 30 s, outside the window: no marker, no legend entry for it
    assert "arrivals stop" not in _labelled_lines(zoomed)
    with pytest.raises(ValueError, match="xlim"):
        plot_timeseries(result, "queue_visible", xlim=(28, 20))


def test_sweep_reference_lines_in_order_with_their_styles_and_a_fixed_y_range():
    frame = pd.DataFrame({"queue.visibility_timeout_s": [30, 60, 120, 200],
                          "duplicate_executions": [900.0, 40.0, 0.0, 0.0]})
    fig = plot_sweep(frame, "queue.visibility_timeout_s", "duplicate_executions",
                     vlines={"AWS rule: 200 s": 200, "slowest batch: 48 s": 48},
                     hlines={"budget": 100}, ylim=(0, None), legend_loc="upper right")
    (ax,) = fig.axes
    lines = _labelled_lines(ax)
    assert list(lines) == ["duplicate executions", "budget", "AWS rule: 200 s",
                           "slowest batch: 48 s"]
    assert [lines[k].get_linestyle() for k in list(lines)[1:]] == ["--", ":", "-."]
    assert list(lines["AWS rule: 200 s"].get_xdata()) == [200, 200]
    assert list(lines["budget"].get_ydata()) == [100, 100]
    assert ax.get_ylim()[0] == 0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(lines)


def test_power_tuning_two_panels_with_units_and_the_one_vcpu_marker():
    memories = [128, 512, 1769, 3008]
    frame = pd.DataFrame({
        "function.memory_mb": memories * 2,
        "billed_duration_ms": [1500, 390, 135, 135, 1510, 395, 136, 136],
        "cost_per_million_usd": [4.8, 5.0, 5.7, 8.4, 4.2, 4.4, 4.9, 7.2],
        "architecture": ["x86_64"] * 4 + ["arm64"] * 4,
    })
    open_before = plt.get_fignums()
    fig = plotting.plot_power_tuning(frame, titles=("Duration", "Cost"))
    assert plt.get_fignums() == open_before
    left, right = fig.axes
    assert (left.get_title(), right.get_title()) == ("Duration", "Cost")
    assert left.get_xlabel() == right.get_xlabel() == "memory (MB)"
    assert left.get_ylabel() == "billed duration per invocation (ms)"
    assert right.get_ylabel() == "cost per million processed messages (USD)"
    for ax, column in ((left, "billed_duration_ms"), (right, "cost_per_million_usd")):
        lines = _labelled_lines(ax)
        assert list(lines) == ["x86_64", "arm64", "1 vCPU (1,769 MB)"]
        assert list(lines["1 vCPU (1,769 MB)"].get_xdata()) == [1769, 1769]
        assert list(lines["arm64"].get_ydata()) == list(frame[column][4:])
    assert right.get_ylim()[0] == 0  # cost from zero: a creep is not drawn as a cliff
    assert tuple(fig.get_size_inches()) == plotting.WIDE_FIGSIZE


def test_bars_one_per_entry_first_on_top_with_values():
    values = pd.Series([16.1, 98.1, 249.1], index=pd.Index(["rust", "python3.13", "java21"],
                                                           name="runtime"),
                       name="median INIT (ms)")
    fig = plotting.plot_bars(values, title="INIT by runtime")
    (ax,) = fig.axes
    assert ax.get_title() == "INIT by runtime"
    assert ax.get_xlabel() == "median INIT (ms)" and ax.get_ylabel() == "runtime"
    bars = sorted(_bars(ax), key=lambda b: -b.get_y())  # top to bottom
    assert [b.get_width() for b in bars] == [16.1, 98.1, 249.1]
    ticks = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text() for t in ticks] == ["rust", "python3.13", "java21"]
    assert [t.get_text() for t in ax.texts] == ["16", "98", "249"]
    assert tuple(fig.get_size_inches()) == plotting.FIGSIZE  # three bars: the usual size


def test_bars_grow_taller_with_many_entries_and_check_their_input():
    many = pd.Series(range(1, 21), index=[f"r{i}" for i in range(20)], name="init_ms")
    fig = plotting.plot_bars(many, value_format=None)
    assert fig.get_size_inches()[1] == pytest.approx(20 * plotting.BAR_HEIGHT_IN)
    (ax,) = fig.axes
    assert len(ax.texts) == 0 and ax.get_xlabel() == "init (ms)" and ax.get_title() == "Init"
    with pytest.raises(TypeError, match="non-empty pandas Series"):
        plotting.plot_bars(pd.Series([], dtype=float))
    with pytest.raises(TypeError, match="non-empty pandas Series"):
        plotting.plot_bars([1, 2, 3])


@pytest.mark.parametrize("name, label", [
    ("workload.rate_per_s", "arrival rate (messages/s)"),
    ("mapping.batching_window_s", "batching window (s)"),
    ("queue.retention_s", "retention (s)"),
    ("function.memory_mb", "memory (MB)"),
    ("latency_p99_s", "latency of processed messages, p99 (s)"),
    ("cost_per_million_usd", "cost per million processed messages (USD)"),
    ("cold_start_rate", "cold-start rate (fraction)"),
    ("queue_visible", "visible messages in the queue"),
    ("db_connections", "database connections"),
])
def test_labels_carry_units(name, label):
    assert plotting.label_for(name) == label


def _bars(ax):
    from matplotlib.patches import Rectangle

    return [p for p in ax.patches if isinstance(p, Rectangle)]


@pytest.fixture(scope="module")
def failing():
    """Whole-batch retries with 5 % failures: messages that ran and had side effects twice."""
    scenario = simlib.Scenario.from_dict({
        "workload": {"rate_per_s": 10, "duration_s": 60}, "database": None,
        "mapping": {"batch_size": 10, "batching_window_s": 2},
        "handler": {"failure_rate": 0.05}})
    return simlib.simulate(scenario, seed=1)


def test_bill_figure_one_bar_per_nonzero_line_and_run(result, busier):
    fig = plotting.plot_bill({"20/s": result, "40/s": busier}, title="Two bills")
    (ax,) = fig.axes
    assert ax.get_title() == "Two bills"
    assert ax.get_xlabel() == "cost per million processed messages (USD)"
    nonzero = [f"{s} · {i}" for s, i, usd in
               zip(result.cost["service"], result.cost["item"], result.cost["cost_usd"]) if usd > 0]
    assert "nat · hours" not in nonzero and "lambda · compute_gb_s" in nonzero
    # the bill's first line at the top: tick labels read bottom-up in reverse
    ticks = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text() for t in ticks] == nonzero
    bars = _bars(ax)
    assert len(bars) == 2 * len(nonzero)
    widths = sorted(b.get_width() for b in bars)
    assert sum(widths) == pytest.approx(result.summary["cost_per_million_usd"]
                                        + busier.summary["cost_per_million_usd"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["20/s", "40/s"]


def test_bill_figure_is_detached_and_rejects_a_bare_result(result):
    open_before = plt.get_fignums()
    plotting.plot_bill({"run": result})
    assert plt.get_fignums() == open_before
    with pytest.raises(TypeError, match="dict of label -> Result"):
        plotting.plot_bill(result)


def test_per_message_figure_two_panels_five_groups(result, failing):
    fig = plotting.plot_per_message({"no failures": result, "5% failures": failing},
                                    title="Retries")
    left, right = fig.axes
    assert fig.get_suptitle() == "Retries"
    assert (left.get_title(), right.get_title()) == ("Executions", "Side effects")
    assert left.get_xlabel() == "executions per message (times)"
    assert right.get_xlabel() == "side effects per message (times)"
    assert left.get_ylabel() == "messages"
    assert [t.get_text() for t in left.get_xticklabels()] == ["0", "1", "2", "3", "4+"]
    for ax, column in ((left, "executions"), (right, "side_effects")):
        bars = _bars(ax)
        assert len(bars) == 2 * 5
        heights = [b.get_height() for b in bars]
        assert heights[:5] == list(kpis.per_message_counts(result, column))
        assert heights[5:] == list(kpis.per_message_counts(failing, column))
    assert heights[5:] != heights[:5]  # the failing run re-ran messages
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["no failures", "5% failures"]


def test_repeat_executions_figure_one_line_per_run(result, failing):
    fig = plotting.plot_repeat_executions({"healthy": result, "failing": failing}, bin_s=5,
                                          legend_title="runs")
    (ax,) = fig.axes
    assert ax.get_title() == "Executions beyond the first, over time"
    assert ax.get_xlabel() == "first receive, time since start (s)"
    assert ax.get_ylabel() == "executions beyond the first (per 5 s)"
    lines = ax.get_lines()
    assert len(lines) == 2
    assert sum(lines[0].get_ydata()) == 0  # no failures, no visibility trouble: none
    assert sum(lines[1].get_ydata()) == kpis.repeat_executions_over_time(failing, 5).sum() > 0
    assert ax.get_legend().get_title().get_text() == "runs"


def test_bill_table_is_readable_text(result):
    table = plotting.bill_table(result)
    assert table.index.name == "line item"
    assert list(table.columns) == ["quantity", "unit", "unit price", "cost", "share"]
    assert list(table.index) == list(result.cost["service"] + " · " + result.cost["item"])
    assert table.map(lambda v: isinstance(v, str)).all().all()
    row = table.loc["lambda · requests"]
    requests = result.summary["invocations"]
    assert row["quantity"] == f"{requests:,}.0000"
    assert row["unit price"] == "$0.0000002"
    assert row["cost"] == format_value(requests * 0.0000002, "usd")
    shares = [float(s.rstrip("%")) for s in table["share"]]
    assert sum(shares) == pytest.approx(100, abs=0.5)
    assert table.loc["nat · hours", "cost"] == "$0.00"


# -- tables -----------------------------------------------------------------------------


@pytest.mark.parametrize("value, kind, text", [
    (19931, "count", "19,931"),
    (0.0015237, "percent", "0.15%"),
    (0.25, "percent", "25.0%"),
    (0.23518, "seconds", "0.235"),
    (2.8159, "seconds", "2.82"),
    (1234.5, "seconds", "1,234"),
    (0.025307, "usd", "$0.0253"),
    (0.0000123456, "usd", "$0.0000123"),
    (4.2447, "usd", "$4.24"),
    (12345.6, "usd", "$12,346"),
    (0.0, "usd", "$0.00"),
    (13.97, "number", "13.97"),
    (7, "number", "7"),
    (math.nan, "seconds", "n/a"),
    (None, "count", "n/a"),
])
def test_format_value(value, kind, text):
    assert format_value(value, kind) == text


def test_kpi_table_for_one_run_is_formatted_strings(result):
    table = kpi_table(result)
    s = result.summary
    assert list(table.columns) == ["value"]
    assert table.index.name == "KPI"
    assert len(table) == len(plotting.DEFAULT_KPIS)
    assert table.map(lambda v: isinstance(v, str)).all().all()
    assert table.loc["Messages sent", "value"] == f"{s['messages_sent']:,}"
    assert table.loc["Cost of the run", "value"].startswith("$")
    assert table.loc["Cold-start rate", "value"].endswith("%")
    assert table.loc["Latency of processed messages, p99 (s)", "value"] == format_value(s["latency_p99_s"], "seconds")


def test_kpi_table_keys_order_and_unknown_key(result):
    table = kpi_table(result, ["max_concurrency", "messages_sent"])
    assert list(table.index) == ["Peak concurrency (environments)", "Messages sent"]
    with pytest.raises(KeyError, match="no KPI named 'bogus'"):
        kpi_table(result, ["bogus"])


def test_kpi_table_accepts_a_summary_with_lesson_numbers(result):
    table = kpi_table({**result.summary, "mean_concurrency": 3.456, "wait_s": 12.5},
                      ["mean_concurrency", "wait_s"])
    assert list(table.index) == ["Mean concurrency (busy environments)", "Wait (s)"]
    assert list(table["value"]) == ["3.46", "12.50"]


def test_compare_and_lists_put_runs_in_columns(result, busier):
    table = compare({"20/s": result, "40/s": busier}, ["messages_sent", "cost_usd"])
    assert list(table.columns) == ["20/s", "40/s"]
    assert table.loc["Messages sent", "40/s"] == f"{busier.summary['messages_sent']:,}"
    listed = kpi_table([result, busier], ["messages_sent"])
    assert list(listed.columns) == ["run 1", "run 2"]
    assert list(listed.iloc[0]) == list(table.iloc[0])
    with pytest.raises(TypeError):
        compare([result], ["messages_sent"])


def test_tables_are_stable_across_identical_runs(result):
    again = simlib.simulate(simlib.Scenario.from_dict(SMALL), seed=1)
    assert kpi_table(again).equals(kpi_table(result))


# -- interactive panels -----------------------------------------------------------------


@pytest.fixture
def ipywidgets():
    return pytest.importorskip("ipywidgets")


def _recording_run_fn(calls):
    def run(rate_per_s, batch_size, label="a"):
        calls.append({"rate_per_s": rate_per_s, "batch_size": batch_size, "label": label})
        if batch_size > 10:
            raise simlib.ScenarioError("mapping.batching_window_s", 0, ">= 1 when batch_size > 10")
        return None, pd.DataFrame({"rate": [rate_per_s]})
    return run


def test_panel_runs_defaults_when_built_then_once_per_change(ipywidgets):
    from simlib.explore import interactive

    calls = []
    panel = interactive(_recording_run_fn(calls), rate_per_s=(10, 100, 10, 50),
                        batch_size=(1, 100, 1, 10), label=["a", "b"])
    assert calls == [{"rate_per_s": 50, "batch_size": 10, "label": "a"}]
    assert isinstance(panel.controls["rate_per_s"], ipywidgets.IntSlider)
    assert isinstance(panel.controls["label"], ipywidgets.Dropdown)
    assert panel.controls["rate_per_s"].continuous_update is False
    assert panel.status.value.startswith("re-simulated in ") and " s" in panel.status.value

    panel.controls["rate_per_s"].value = 80
    assert len(calls) == 2 and calls[-1]["rate_per_s"] == 80
    panel.controls["label"].value = "b"
    assert len(calls) == 3 and calls[-1] == {"rate_per_s": 80, "batch_size": 10, "label": "b"}
    panel.controls["label"].value = "b"  # no change, no run
    assert len(calls) == 3 and panel.calls == 3 and len(panel.timings) == 3


def test_panel_observe_callback_reruns_with_current_values(ipywidgets):
    from simlib.explore import interactive

    calls = []
    panel = interactive(_recording_run_fn(calls), rate_per_s=(10, 100, 10, 50),
                        batch_size=ipywidgets.IntSlider(value=5, min=1, max=100))
    assert panel.controls["batch_size"].description == "batch size (messages)"
    assert panel.controls["rate_per_s"].description == "arrival rate (messages/s)"
    panel._on_change({"name": "value", "old": 50, "new": 50})
    assert calls == [{"rate_per_s": 50, "batch_size": 5, "label": "a"}] * 2


def test_panel_shows_a_rejected_configuration_instead_of_raising(ipywidgets):
    from simlib.explore import interactive

    calls = []
    panel = interactive(_recording_run_fn(calls), rate_per_s=(10, 100, 10, 50),
                        batch_size=(1, 100, 1, 10))
    panel.controls["batch_size"].value = 50
    assert len(calls) == 2
    assert "Not run" in panel.status.value and "mapping.batching_window_s" in panel.status.value
    assert isinstance(panel.error, simlib.ScenarioError)
    panel.controls["batch_size"].value = 5
    assert panel.error is None and panel.status.value.startswith("re-simulated in")


def test_panel_raises_when_the_defaults_fail(ipywidgets):
    from simlib.explore import interactive

    with pytest.raises(simlib.ScenarioError):
        interactive(_recording_run_fn([]), rate_per_s=(10, 100, 10, 50),
                    batch_size=(1, 100, 1, 20))


def test_panel_controls_from_shorthands(ipywidgets):
    from simlib.explore import interactive

    seen = []
    panel = interactive(lambda window_s, rbf: seen.append((window_s, rbf)),
                        window_s=(0.0, 5.0, 0.5), rbf=True)
    assert isinstance(panel.controls["window_s"], ipywidgets.FloatSlider)
    assert isinstance(panel.controls["rbf"], ipywidgets.Checkbox)
    assert seen == [(0.0, True)]
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()
    with pytest.raises(TypeError, match="rate"):
        interactive(lambda rate: None, rate="fast")
    with pytest.raises(ValueError, match="outside"):
        interactive(lambda rate: None, rate=(1, 10, 1, 20))


def test_panel_with_a_real_simulation(ipywidgets):
    from simlib.explore import interactive

    base = simlib.Scenario.from_dict(SMALL)

    def run(rate_per_s):
        r = simlib.simulate(base.with_changes({"workload.rate_per_s": rate_per_s}), seed=1)
        return plot_timeseries(r), kpi_table(r)

    panel = interactive(run, rate_per_s=(10, 40, 10, 20))
    panel.controls["rate_per_s"].value = 30
    assert panel.calls == 2 and all(t > 0 for t in panel.timings)


def test_simlib_works_without_importing_ipywidgets():
    import subprocess
    import sys

    code = ("import sys, simlib, simlib.plotting, simlib.explore; "
            "assert 'ipywidgets' not in sys.modules, 'ipywidgets imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_median_seconds_times_each_call_and_takes_the_median():
    import time as _time

    from simlib.explore import median_seconds

    delays = iter([0.0, 0.03, 0.01])
    calls = []

    def fn():
        calls.append(1)
        _time.sleep(next(delays))

    assert 0.009 <= median_seconds(fn, repeats=3) < 0.03
    assert len(calls) == 3
    with pytest.raises(ValueError, match=r"repeats = 0 is not allowed"):
        median_seconds(fn, repeats=0)


# -- asynchronous invocation (lesson 11's helpers) ---------------------------------------

ASYNC_FN = "Fn"


def _async_app(on_failure: bool, *, duplicate_rate: float = 0.0, reserved: int = 1):
    """30 s of 3 events/s on a function with room for 1 s of work a second, 30 % failing,
    a 60 s maximum event age: it throttles, retries, gives up on events unrun and after
    running, and (with ``on_failure``) keeps them in a queue."""
    function = {"kind": "function", "reserved_concurrency": reserved,
                "duration_distribution": "constant", "duration_median_s": 1.0,
                "cpu_fraction": 0.0, "db_queries_per_message": 0, "failure_rate": 0.3,
                "async": {"maximum_event_age_s": 60, "duplicate_rate": duplicate_rate}}
    resources = {"src": {"kind": "source", "target": ASYNC_FN, "invoke": "event",
                         "rate_per_s": 3, "duration_s": 30},
                 ASYNC_FN: function}
    if on_failure:
        function["async"]["on_failure"] = "Failed"
        resources["Failed"] = {"kind": "queue"}
    return simlib.Application.from_dict({"resources": resources})


@pytest.fixture(scope="module")
def async_kept():
    return simlib.simulate(_async_app(on_failure=True), seed=1)


@pytest.fixture(scope="module")
def async_dropped():
    return simlib.simulate(_async_app(on_failure=False), seed=1)


def _async_counts_agree(result):
    s = plotting.async_summary(result, ASYNC_FN)
    events = result.messages[result.messages["resource"] == ASYNC_FN]
    outcome = events["outcome"].astype(str)
    inv = result.invocations
    status = inv.loc[inv["function"] == ASYNC_FN, "status"]
    assert s["events_sent"] == len(events)
    assert s["events_processed"] == int((outcome == "deleted").sum())
    given_up = s["events_failed_never_ran"] + s["events_failed_after_running"]
    assert s["events_processed"] + given_up + s["events_unfinished"] == s["events_sent"]
    assert s["events_kept"] + s["events_lost"] == given_up
    assert s["events_kept"] == int(outcome.isin(["destination", "dlq"]).sum())
    assert s["events_lost"] == int((outcome == "dropped").sum())
    never_ran = outcome.isin(["destination", "dlq", "dropped"]) & (events["executions"] == 0)
    assert s["events_failed_never_ran"] == int(never_ran.sum())
    assert s["invocations"] == int((status != "throttled").sum())
    assert s["throttles"] == int((status == "throttled").sum())
    assert s["invocations_per_processed_event"] == pytest.approx(
        s["invocations"] / s["events_processed"])
    processed = events[outcome == "deleted"]
    assert s["latency_p99_s"] == pytest.approx(
        float((processed["finished_s"] - processed["sent_s"]).quantile(0.99)))
    return s


def test_async_summary_counts_agree_with_the_frames(async_kept, async_dropped):
    kept = _async_counts_agree(async_kept)
    dropped = _async_counts_agree(async_dropped)
    # the scenario reaches every branch: processed, given up unrun and after running, throttled
    for s in (kept, dropped):
        assert min(s["events_processed"], s["events_failed_never_ran"],
                   s["events_failed_after_running"], s["throttles"]) > 0
        assert s["invocations"] > s["events_processed"]  # failed attempts ran too
        assert s["cost_per_million_processed_usd"] > 0
    assert kept["events_lost"] == 0 and kept["events_kept"] > 0
    assert dropped["events_kept"] == 0 and dropped["events_lost"] > 0
    # the on-failure queue received what the summary counts as kept
    assert int((async_kept.messages["resource"] == "Failed").sum()) == kept["events_kept"]


def test_async_summary_counts_duplicates_and_rejects_an_unknown_function():
    result = simlib.simulate(_async_app(False, duplicate_rate=0.2, reserved=10), seed=1)
    s = plotting.async_summary(result, ASYNC_FN)
    assert s["duplicate_executions"] == result.summary["duplicate_executions"] > 0
    with pytest.raises(KeyError, match="no resource named 'Nope'"):
        plotting.async_summary(result, "Nope")


def test_async_kpi_table_formats_and_rejects_unknown_keys(async_kept, async_dropped):
    s = plotting.async_summary(async_kept, ASYNC_FN)
    table = plotting.async_kpi_table(async_kept, ASYNC_FN)
    labels = plotting.ASYNC_KPI_LABELS
    assert list(table.columns) == ["value"] and table.index.name == "KPI"
    assert list(table.index) == [label for label, _ in labels.values()]
    assert table.map(lambda v: isinstance(v, str)).all().all()
    for key, (label, kind) in labels.items():
        assert table.loc[label, "value"] == format_value(s[key], kind)
    assert table.loc["Events sent", "value"] == f"{s['events_sent']:,}"
    assert table.loc["Function cost per million processed events", "value"].startswith("$")
    # a summary stands in for its run; keys pick rows in order
    assert plotting.async_kpi_table(s, ASYNC_FN).equals(table)
    picked = plotting.async_kpi_table(s, ASYNC_FN, ["throttles", "events_sent"])
    assert list(picked.index) == ["Throttles (invoke attempts refused)", "Events sent"]
    # several runs side by side, in the dict's order
    both = plotting.async_kpi_table({"kept": async_kept, "dropped": async_dropped}, ASYNC_FN,
                                    ["events_kept", "events_lost"])
    assert list(both.columns) == ["kept", "dropped"]
    assert both.loc["  of those, dropped (nowhere to go)", "kept"] == "0"
    with pytest.raises(KeyError, match="no async KPI named 'bogus'"):
        plotting.async_kpi_table(async_kept, ASYNC_FN, ["events_sent", "bogus"])
    with pytest.raises(ValueError, match="at least one result"):
        plotting.async_kpi_table({}, ASYNC_FN)


def test_async_queue_figure_one_unit_per_panel(async_kept, async_dropped):
    open_before = plt.get_fignums()
    fig = plotting.plot_async_queue({"kept": async_kept, "dropped": async_dropped}, ASYNC_FN,
                                    maximum_event_age_s=60, reserved_concurrency=1,
                                    title="A queue")
    assert plt.get_fignums() == open_before
    assert fig.get_suptitle() == "A queue"
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["events", "s", "environments", "events"]
    assert axes[-1].get_xlabel() == "time since start (s)"
    assert all(ax.get_xlabel() == "" for ax in axes[:-1])  # one shared time axis
    assert [len(ax.get_lines()) for ax in axes] == [2, 3, 3, 2]  # runs, plus age / cap lines
    (legend,) = fig.legends  # one legend, outside the panels
    assert [t.get_text() for t in legend.get_texts()] == [
        "kept", "dropped", "maximum event age (60 s)", "reserved concurrency (1)"]
    # a reference far above the data is named in the panel's title, not drawn
    far = plotting.plot_async_queue(async_kept, ASYNC_FN, maximum_event_age_s=21_600,
                                    panels=["async_oldest_age_s"])
    (ax,) = far.axes
    assert ax.get_ylabel() == "s" and "above the plot" in ax.get_title(loc="left")
    with pytest.raises(ValueError, match="panels"):
        plotting.plot_async_queue(async_kept, ASYNC_FN, panels=["bogus"])


def _sweep_frame():
    rows = [{"age_s": age, "rc": rc, "dropped": max(0.0, 0.5 - rc * age / 600),
             "cost": 2.0 + rc, "low": 0.0, "high": 0.6}
            for rc in (1, 2) for age in (60, 120, 300)]
    return pd.DataFrame(rows)


def test_sweep_panels_one_unit_per_axis():
    frame = _sweep_frame()
    ylabels = ["events dropped (fraction of sent)", "cost per million processed events (USD)"]
    fig = plotting.plot_sweep_panels(
        frame, "age_s", ["dropped", "cost"], series="rc", ci={"dropped": ("low", "high")},
        theory={"dropped": lambda xs, rc: 0.5 - rc * xs / 600}, ylabels=ylabels,
        xlabel="maximum event age", logx=True, xticks={60: "1 min", 120: "2 min", 300: "5 min"},
        series_label="reserved concurrency", suptitle="Sweep")
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ylabels
    assert all(ax.get_xlabel() == "maximum event age" and ax.get_xscale() == "log" for ax in axes)
    assert all(ax.get_ylim()[0] == 0 for ax in axes)
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["1 min", "2 min", "5 min"]
    assert len(axes[0].get_lines()) == 4 and len(axes[1].get_lines()) == 2  # 2 curves + 2 theory
    (legend,) = fig.legends
    assert legend.get_title().get_text() == "reserved concurrency"
    assert [t.get_text() for t in legend.get_texts()] == ["1", "2", "theory"]
    with pytest.raises(KeyError, match="no column 'nope'"):
        plotting.plot_sweep_panels(frame, "age_s", ["nope"], series="rc")


def test_async_panel_one_unit_per_axis_and_your_point(async_kept):
    frame = _sweep_frame()
    fig = plotting.plot_async_panel(
        async_kept, ASYNC_FN, frame, x="age_s", y="dropped", series="rc", point=(60, 0.2),
        point_series=1, maximum_event_age_s=60, xlabel="maximum event age",
        ylabel="events dropped (fraction of sent)", title="Panel")
    sweep = next(ax for ax in fig.axes if ax.get_legend() is not None)
    backlog, age = sorted((ax for ax in fig.axes if ax is not sweep),
                          key=lambda ax: -ax.get_position().y0)  # top panel first
    assert (backlog.get_ylabel(), age.get_ylabel()) == ("events", "s")
    assert age.get_xlabel() == "time since start (s)"
    assert sweep.get_ylabel() == "events dropped (fraction of sent)"
    assert sweep.get_xlabel() == "maximum event age"
    assert "maximum 1 min" in age.get_title(loc="left")
    labels = [t.get_text() for t in sweep.get_legend().get_texts()]
    assert labels == ["1", "2", "your point"]
    (star,) = [line for line in sweep.get_lines() if line.get_label() == "your point"]
    assert list(star.get_xdata()) == [60] and list(star.get_ydata()) == [0.2]
    widths = {line.get_label(): line.get_linewidth() for line in sweep.get_lines()}
    assert widths["1"] > widths["2"]  # the run's own curve stands out
    with pytest.raises(KeyError, match="no column 'nope'"):
        plotting.plot_async_panel(async_kept, ASYNC_FN, frame, x="nope", y="dropped",
                                  series="rc", point=(60, 0.2))


# -- fan-out (lesson 12's helpers) ------------------------------------------------------

_FAST = {"duration_median_s": 0.05, "duration_p99_s": 0.1, "db_queries_per_message": 0,
         "timeout_s": 5}


def _fanout_app(router: dict) -> simlib.Application:
    """20 s of 10 events/s, amounts 10 or 500, to ``T``: a queue branch ``Q`` (mapping ``M``,
    function ``F``), an asynchronous function ``A`` that can run 1 event a second with a
    60 s maximum age (it throttles and drops), and a queue ``Big`` (function ``FB``) whose
    route keeps out amounts under 100."""
    return simlib.Application.from_dict({"resources": {
        "src": {"kind": "source", "target": "T", "rate_per_s": 10, "duration_s": 20,
                "attributes": {"amount": [10, 500]}},
        "T": router,
        "Q": {"kind": "queue"}, "M": {"kind": "mapping", "queue": "Q", "function": "F"},
        "F": {"kind": "function", **_FAST},
        "A": {"kind": "function", "duration_distribution": "constant", "duration_median_s": 1.0,
              "cpu_fraction": 0.0, "db_queries_per_message": 0, "reserved_concurrency": 1,
              "timeout_s": 5, "async": {"maximum_event_age_s": 60, "duplicate_rate": 0.0}},
        "Big": {"kind": "queue"}, "MB": {"kind": "mapping", "queue": "Big", "function": "FB"},
        "FB": {"kind": "function", **_FAST},
    }})


_BIG = {"amount": [{"numeric": [">=", 100]}]}


@pytest.fixture(scope="module")
def fanout_run():
    return simlib.simulate(_fanout_app({"kind": "topic", "subscriptions": [
        {"target": "Q"}, {"target": "A"}, {"target": "Big", "filter": _BIG}]}), 1)


def test_fanout_branches_counts_agree_with_the_frames(fanout_run):
    r = fanout_run
    b = plotting.fanout_branches(r, "T")
    assert list(b.index) == ["Q", "A", "Big"] and b.index.name == "branch"
    assert list(b.columns) == list(plotting.FANOUT_LABELS)
    assert list(b["consumer"]) == ["F", "A", "FB"]
    m = r.messages
    published = m[m["resource"] == "T"].set_index("message_id")
    n, big = len(published), int((published["attribute.amount"] >= 100).sum())
    assert 0 < big < n
    assert b.loc["Q", "delivered"] == b.loc["A", "delivered"] == n
    assert (b.loc["Big", "delivered"], b.loc["Big", "filtered"]) == (big, n - big)
    for branch, row in b.iterrows():
        assert row["processed"] + row["given_up"] + row["unfinished"] == row["delivered"], branch
    a = m[m["resource"] == "A"]
    assert b.loc["A", "lost"] == int((a["outcome"] == "dropped").sum()) > 0
    assert b.loc["A", "throttles"] > 0 and b.loc["Q", "lost"] == 0
    inv = r.invocations
    assert b.loc["A", "invocations"] == int(((inv["function"] == "A") & (inv["status"] != "throttled")).sum())
    ok = a[a["outcome"] == "deleted"]
    latency = ok["finished_s"].to_numpy() - published.loc[ok["parent"], "sent_s"].to_numpy()
    assert b.loc["A", "latency_p99_s"] == pytest.approx(float(pd.Series(latency).quantile(0.99)))
    cost = r.cost
    assert b.loc["Q", "cost_usd"] == pytest.approx(
        float(cost.loc[cost["resource"].isin(["Q", "M", "F"]), "cost_usd"].sum()))
    with pytest.raises(KeyError, match="no topic or bus named 'Q'"):
        plotting.fanout_branches(r, "Q")


def test_fanout_branches_of_a_bus_sum_routes_to_one_target_and_count_mapping_filters():
    r = simlib.simulate(_fanout_app({"kind": "bus", "rules": [
        {"pattern": None, "targets": [{"target": "Q"}, {"target": "A"}, {"target": "Big"}]},
        {"pattern": _BIG, "targets": [{"target": "Q"}]}]}).with_changes(
        {"resources.MB.filter": _BIG}), 1)
    b = plotting.fanout_branches(r, "T")
    published = r.messages[r.messages["resource"] == "T"]
    n, big = len(published), int((published["attribute.amount"] >= 100).sum())
    assert list(b.index) == ["Q", "A", "Big"]
    assert (b.loc["Q", "delivered"], b.loc["Q", "filtered"]) == (n + big, n - big)
    # the mapping's filter deletes the small amounts without an invoke: counted as filtered
    assert (b.loc["Big", "delivered"], b.loc["Big", "filtered"]) == (n, n - big)
    assert b.loc["Big", "processed"] == big
    assert 0 < b.loc["Big", "invocations"] <= big  # a batch may hold several wanted messages


def test_fanout_table_formats_and_rejects_unknown_keys(fanout_run):
    b = plotting.fanout_branches(fanout_run, "T")
    table = plotting.fanout_table(fanout_run, "T")
    assert list(table.columns) == ["Q", "A", "Big"] and table.index.name == "KPI"
    assert list(table.index) == [label for label, _ in plotting.FANOUT_LABELS.values()]
    assert table.map(lambda v: isinstance(v, str)).all().all()
    assert table.loc["Copies delivered", "Q"] == f"{b.loc['Q', 'delivered']:,}"
    assert table.loc["Consumer (function)", "Big"] == "FB"
    both = plotting.fanout_table({"one": fanout_run, "two": fanout_run}, "T", ["lost"])
    assert list(both.columns) == [f"{x} · {run}" for run in ("one", "two") for x in ("Q", "A", "Big")]
    with pytest.raises(KeyError, match="no fan-out KPI named 'bogus'"):
        plotting.fanout_table(fanout_run, "T", ["lost", "bogus"])
    with pytest.raises(ValueError, match="at least one result"):
        plotting.fanout_table({}, "T")


def test_fanout_branches_figure_one_unit_per_panel(fanout_run):
    open_before = plt.get_fignums()
    fig = plotting.plot_fanout_branches({"one": fanout_run, "two": fanout_run}, "T", title="Fan")
    assert plt.get_fignums() == open_before
    assert fig.get_suptitle() == "Fan"
    latency, throttles = fig.axes
    assert latency.get_ylabel() == "latency from publish, p99 (s)" and latency.get_yscale() == "log"
    assert throttles.get_ylabel() == "throttles (invoke attempts refused)"
    assert throttles.get_yscale() == "linear" and throttles.get_ylim()[0] == 0
    assert [t.get_text() for t in latency.get_xticklabels()] == ["Q\n→ F", "A", "Big\n→ FB"]
    assert len(latency.patches) == 6  # 3 branches x 2 runs
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["one", "two"]
    with pytest.raises(KeyError, match="no numeric fan-out KPI named 'consumer'"):
        plotting.plot_fanout_branches(fanout_run, "T", kpis=["consumer"])


def test_burst_levels_follow_the_events(fanout_run):
    a = plotting.burst_levels(fanout_run, "A")
    q = plotting.burst_levels(fanout_run, "Q")
    assert list(a.columns) == ["t_s", "waiting", "oldest_age_s", "concurrency", "lost"]
    events = fanout_run.messages[fanout_run.messages["resource"] == "A"]
    assert a["lost"].iloc[-1] == int((events["outcome"] == "dropped").sum())
    assert a["lost"].is_monotonic_increasing and a["waiting"].max() > 50
    assert a["oldest_age_s"].max() <= 60 + 1e-9  # given up at its maximum age
    assert a["concurrency"].max() <= 1 + 1e-9 and (a["oldest_age_s"] >= 0).all()
    assert q["lost"].max() == 0 and q["waiting"].max() < a["waiting"].max()
    with pytest.raises(KeyError, match="no resource named 'Nope'"):
        plotting.burst_levels(fanout_run, "Nope")


def test_burst_paths_figure_one_unit_per_panel(fanout_run):
    t = [0.0, 10.0, 20.0]
    fig = plotting.plot_burst_paths({"queue": (fanout_run, "Q"), "async": (fanout_run, "A")},
                                    maximum_event_age_s=60, capacity=1, theory=(t, [0, 90, 180]),
                                    burst=(5.0, 15.0), title="Burst")
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["events", "s", "environments", "events"]
    assert axes[-1].get_xlabel() == "time since start (s)"
    assert all(ax.get_xlabel() == "" for ax in axes[:-1])
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "queue", "async", "theory", "the burst", "maximum event age (60 s)",
        "reserved concurrency (1)"]
    with pytest.raises(TypeError, match="label -> \\(result, resource\\)"):
        plotting.plot_burst_paths({})


def test_fanout_panel_branches_beside_the_baseline_and_your_point(fanout_run):
    sweep = pd.DataFrame({"work_s": [1, 2, 1, 2], "p99": [1.0, 1.0, 1.0, 5.0],
                          "who": ["reserved", "reserved", "none", "none"]})
    fig = plotting.plot_fanout_panel(
        fanout_run, fanout_run, "T", sweep, x="work_s", y="p99", series="who", point=(2, 4.0),
        point_series="none", vline=("full", 1.5), ylabel="worst p99 (s)", title="Panel")
    left, right = fig.axes
    assert left.get_ylabel() == "latency from publish, p99 (s)" and left.get_yscale() == "log"
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["all healthy", "this run"]
    assert right.get_ylabel() == "worst p99 (s)"
    assert [t.get_text() for t in right.get_legend().get_texts()] == [
        "reserved", "none", "full", "your point"]
    (star,) = [line for line in right.get_lines() if line.get_label() == "your point"]
    assert list(star.get_xdata()) == [2] and list(star.get_ydata()) == [4.0]
    widths = {line.get_label(): line.get_linewidth() for line in right.get_lines()}
    assert widths["none"] > widths["reserved"]
    with pytest.raises(KeyError, match="no column 'nope'"):
        plotting.plot_fanout_panel(fanout_run, fanout_run, "T", sweep, x="nope", y="p99",
                                   series="who", point=(1, 1.0))


# -- FIFO queues (lesson 13's helpers) ---------------------------------------------------

FIFO_Q = "Q"


def _fifo_app(*, fifo: bool = True, dlq: bool = True, groups: int = 3, poison: float = 0.03,
              resend: float = 0.0) -> simlib.Application:
    """40 s of 10 orders/s in ``groups`` message groups, 0.25 s each (so 3 groups are busy most
    of the time and batches hold several orders), a share of them poison, a 10 s visibility
    timeout and 2 receives before the DLQ ``D`` (or no redrive policy, and a 2-minute drain)."""
    queue = {"kind": "queue", "fifo": fifo, "visibility_timeout_s": 10}
    resources = {
        "src": {"kind": "source", "target": FIFO_Q, "rate_per_s": 10, "duration_s": 40,
                "message_groups": groups, "poison_fraction": poison,
                "duplicate_send_rate": resend},
        FIFO_Q: queue,
        "M": {"kind": "mapping", "queue": FIFO_Q, "function": "F"},
        "F": {"kind": "function", "duration_distribution": "constant", "duration_median_s": 0.25,
              "cpu_fraction": 0.0, "db_queries_per_message": 0, "timeout_s": 5},
    }
    if dlq:
        queue.update(max_receive_count=2, dlq="D")
        resources["D"] = {"kind": "queue", "fifo": fifo}
    else:
        queue["max_receive_count"] = None
    return simlib.Application.from_dict({"resources": resources, "run": {"drain_s": 120}})


@pytest.fixture(scope="module")
def fifo_dlq():
    return simlib.simulate(_fifo_app(), seed=1)


@pytest.fixture(scope="module")
def fifo_stuck():
    return simlib.simulate(_fifo_app(dlq=False), seed=1)


def _queue_rows(result):
    return result.messages[result.messages["resource"] == FIFO_Q]


def test_fifo_summary_counts_agree_with_the_frames(fifo_dlq, fifo_stuck):
    for result in (fifo_dlq, fifo_stuck):
        s = plotting.fifo_summary(result, FIFO_Q)
        q = _queue_rows(result)
        outcome = q["outcome"].astype(str)
        assert s["messages_sent"] == len(q) == result.summary["messages_sent"]
        assert s["messages_deduplicated"] == 0
        assert (s["messages_processed"] + s["messages_dlq"] + s["messages_unfinished"]
                == s["messages_sent"])
        assert s["good_messages_dlq"] == int(((outcome == "dlq") & ~q["poison"]).sum())
        assert s["duplicate_side_effects"] == result.summary["duplicate_side_effects"]
        assert s["duplicate_executions"] == result.summary["duplicate_executions"]
        assert s["max_concurrency"] == result.summary["max_concurrency"] <= 3
        processed = q[outcome == "deleted"]
        latency = processed["finished_s"] - processed["sent_s"]
        assert s["latency_p99_s"] == pytest.approx(float(latency.quantile(0.99)))
        assert s["longest_in_queue_s"] >= float(latency.max())
        assert s["cost_per_million_processed_usd"] == pytest.approx(
            result.summary["cost_usd"] / s["messages_processed"] * 1e6)
    kept, stuck = (plotting.fifo_summary(r, FIFO_Q) for r in (fifo_dlq, fifo_stuck))
    # the DLQ run reaches every branch: poison and good messages dead-lettered, re-runs
    assert kept["messages_dlq"] > kept["good_messages_dlq"] > 0
    assert kept["duplicate_side_effects"] > 0 and kept["messages_unfinished"] == 0
    # without a redrive policy, messages are stuck: their stay counts up to the end of the run
    q = _queue_rows(fifo_stuck)
    waiting = q[q["outcome"].astype(str).isin(["in_queue", "in_flight"])]
    assert stuck["messages_unfinished"] == len(waiting) > 0 and stuck["messages_dlq"] == 0
    assert stuck["longest_in_queue_s"] == pytest.approx(
        fifo_stuck.end_s - float(waiting["sent_s"].min()))


def test_fifo_summary_counts_deduplicated_sends_and_rejects_an_unknown_queue():
    fifo = simlib.simulate(_fifo_app(poison=0.0, resend=0.2), seed=1)
    standard = simlib.simulate(_fifo_app(fifo=False, poison=0.0, resend=0.2), seed=1)
    s, std = (plotting.fifo_summary(r, FIFO_Q) for r in (fifo, standard))
    q = _queue_rows(fifo)
    assert s["messages_deduplicated"] == int((q["drop_reason"] == "deduplicated").sum()) > 0
    assert s["messages_processed"] == s["messages_sent"] - s["messages_deduplicated"]
    assert std["messages_deduplicated"] == 0 and std["messages_sent"] == s["messages_sent"]
    with pytest.raises(KeyError, match="no queue named 'F'"):
        plotting.fifo_summary(fifo, "F")  # a function, not a queue


def test_fifo_kpi_table_formats_and_rejects_unknown_keys(fifo_dlq, fifo_stuck):
    s = plotting.fifo_summary(fifo_dlq, FIFO_Q)
    table = plotting.fifo_kpi_table(fifo_dlq, FIFO_Q)
    labels = plotting.FIFO_KPI_LABELS
    assert list(table.columns) == ["value"] and table.index.name == "KPI"
    assert list(table.index) == [label for label, _ in labels.values()]
    assert table.map(lambda v: isinstance(v, str)).all().all()
    for key, (label, kind) in labels.items():
        assert table.loc[label, "value"] == format_value(s[key], kind)
    assert plotting.fifo_kpi_table(s, FIFO_Q).equals(table)  # a summary stands in for its run
    both = plotting.fifo_kpi_table({"DLQ": fifo_dlq, "none": fifo_stuck}, FIFO_Q,
                                   ["messages_unfinished", "messages_dlq"])
    assert list(both.columns) == ["DLQ", "none"]
    assert list(both.index) == ["Still in the queue when the run ended", "Messages moved to the DLQ"]
    assert both.loc["Messages moved to the DLQ", "none"] == "0"
    with pytest.raises(KeyError, match="no FIFO KPI named 'bogus'"):
        plotting.fifo_kpi_table(fifo_dlq, FIFO_Q, ["messages_sent", "bogus"])
    with pytest.raises(ValueError, match="at least one result"):
        plotting.fifo_kpi_table({}, FIFO_Q)


def test_active_groups_counts_groups_with_work_and_bounds_concurrency(fifo_dlq):
    fn = fifo_dlq.timeseries[fifo_dlq.timeseries["resource"] == "F"]
    active = plotting.active_groups(fifo_dlq, FIFO_Q, fn["t_s"])
    assert len(active) == len(fn) and active.max() == 3 and active[0] == 0  # nothing sent at t=0
    assert (fn["concurrency"].to_numpy() <= active).all()  # one batch per group with work
    q = _queue_rows(fifo_dlq)
    for t in (5.0, 17.5, 33.0):  # counted by hand from the frame
        ends = q["finished_s"].fillna(math.inf)
        mine = q[(q["sent_s"] <= t) & (ends > t)]
        assert plotting.active_groups(fifo_dlq, FIFO_Q, [t])[0] == mine[
            "attribute.message_group"].nunique()
    one_group = simlib.simulate(_fifo_app(fifo=False, groups=1, poison=0.0), seed=1)
    with pytest.raises(KeyError, match="no message group"):
        plotting.active_groups(one_group, FIFO_Q, [1.0])


def test_fifo_queue_figure_one_unit_per_panel(fifo_dlq, fifo_stuck):
    open_before = plt.get_fignums()
    fig = plotting.plot_fifo_queue({"DLQ": fifo_dlq, "none": fifo_stuck}, FIFO_Q, groups=3,
                                   title="A FIFO queue")
    assert plt.get_fignums() == open_before
    assert fig.get_suptitle() == "A FIFO queue"
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["messages", "environments", "messages"]
    assert axes[-1].get_xlabel().startswith("time since start")
    assert all(ax.get_xlabel() == "" for ax in axes[:-1])  # one shared time axis
    assert [len(ax.get_lines()) for ax in axes] == [2, 3, 2]  # runs, plus the groups' line
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["DLQ", "none", "message groups (3)"]
    # a line far above the data is named in the panel's title, not drawn
    far = plotting.plot_fifo_queue(fifo_dlq, FIFO_Q, groups=100, panels=["concurrency"])
    (ax,) = far.axes
    assert len(ax.get_lines()) == 1 and "message groups (100) above" in ax.get_title(loc="left")
    with pytest.raises(ValueError, match="panels"):
        plotting.plot_fifo_queue(fifo_dlq, FIFO_Q, panels=["bogus"])


def test_group_latency_figure_marks_poison_blocks_and_stuck_messages(fifo_dlq, fifo_stuck):
    fig = plotting.plot_group_latency({"DLQ": fifo_dlq, "none": fifo_stuck}, FIFO_Q,
                                      blocked_s={"DLQ": 20})
    top, bottom = fig.axes
    assert top.get_ylabel() == bottom.get_ylabel() == "time in the queue (s)"
    assert [top.get_title(loc="left"), bottom.get_title(loc="left")] == ["DLQ", "none"]
    q = _queue_rows(fifo_dlq)
    received_poison = int((q["poison"] & q["first_received_s"].notna()).sum())
    assert len(top.get_lines()) == received_poison > 0 and len(bottom.get_lines()) == 0
    kinds = {c.get_label() for c in top.collections}
    assert {"processed", "processed, sent behind a poison message of its group",
            "poison message (time until moved to the DLQ, or so far)"} <= kinds
    assert "still in the queue when the run ended (time so far)" in {
        c.get_label() for c in bottom.collections}
    # each dashed line falls from the poison's first receive + blocked_s to zero
    line = top.get_lines()[0]
    xs, ys = line.get_xdata(), line.get_ydata()
    assert ys[-1] == pytest.approx(0.0) and ys[0] - ys[-1] == pytest.approx(xs[-1] - xs[0])
    with pytest.raises(KeyError, match="no message group"):
        plotting.plot_group_latency(simlib.simulate(_fifo_app(fifo=False, groups=1, poison=0.0),
                                                    seed=1), FIFO_Q)


def test_sweep_panels_logy_puts_only_the_chosen_panels_on_a_log_scale():
    frame = _sweep_frame()
    fig = plotting.plot_sweep_panels_logy(frame, "age_s", ["dropped", "cost"], series="rc",
                                          logy=["cost"])
    lin, log = fig.axes
    assert lin.get_yscale() == "linear" and log.get_yscale() == "log"
    low, high = log.get_ylim()
    assert 0 < low < frame["cost"].min() and high > frame["cost"].max()
    with pytest.raises(KeyError, match="logy"):
        plotting.plot_sweep_panels_logy(frame, "age_s", ["dropped"], series="rc", logy=["cost"])


def test_fifo_panel_one_unit_per_axis_and_your_point(fifo_dlq):
    frame = _sweep_frame()
    fig = plotting.plot_fifo_panel(fifo_dlq, FIFO_Q, frame, x="age_s", y="cost", series="rc",
                                   point=(120, 3.5), point_series=2, groups=3,
                                   xlabel="message groups", ylabel="p99 (s)", title="Panel")
    sweep = next(ax for ax in fig.axes if ax.get_legend() is not None and ax.get_xscale() == "log")
    left = sorted((ax for ax in fig.axes if ax is not sweep), key=lambda ax: -ax.get_position().y0)
    assert [ax.get_ylabel() for ax in left] == ["messages", "environments", "messages"]
    assert left[-1].get_xlabel().startswith("time since start")
    assert any(line.get_label() == "3 groups" for line in left[1].get_lines())
    assert sweep.get_yscale() == "log" and sweep.get_ylabel() == "p99 (s)"
    assert [t.get_text() for t in sweep.get_legend().get_texts()] == ["1", "2", "your point"]
    (star,) = [line for line in sweep.get_lines() if line.get_label() == "your point"]
    assert list(star.get_xdata()) == [120] and list(star.get_ydata()) == [3.5]
    widths = {line.get_label(): line.get_linewidth() for line in sweep.get_lines()}
    assert widths["2"] > widths["1"]  # the run's own curve stands out
    with pytest.raises(KeyError, match="no column 'nope'"):
        plotting.plot_fifo_panel(fifo_dlq, FIFO_Q, frame, x="nope", y="cost", series="rc",
                                 point=(60, 1.0))


# -- whole application (lesson 14's helpers) --------------------------------------------

APP_BRANCHES = {"queue": "Work", "async": "Mailer"}


def _whole_app() -> simlib.Application:
    """A topic fanning out to a queue (redrive to a DLQ, a mapping to a function capped by
    reserved concurrency) and to a function invoked asynchronously with room for 1 s of
    work a second and a 60 s maximum age: a burst makes the queue wait and the function
    give events up to its on-failure queue."""
    handler = {"duration_distribution": "constant", "duration_median_s": 0.5,
               "cpu_fraction": 0.0, "db_queries_per_message": 0}
    return simlib.Application.from_dict({"resources": {
        "src": {"kind": "source", "target": "Topic", "pattern": "burst", "rate_per_s": 1,
                "duration_s": 40, "burst_start_s": 5, "burst_duration_s": 15,
                "burst_rate_per_s": 8, "attributes": {"kind": ["a", "b"]}},
        "Topic": {"kind": "topic", "subscriptions": [
            {"target": "Work", "filter": {"kind": ["a"]}}, {"target": "Mailer"}]},
        "Work": {"kind": "queue", "visibility_timeout_s": 60, "max_receive_count": 5,
                 "dlq": "WorkDLQ"},
        "WorkDLQ": {"kind": "queue"},
        "WorkMapping": {"kind": "mapping", "queue": "Work", "function": "Worker",
                        "batch_size": 5},
        "Worker": {"kind": "function", "reserved_concurrency": 1, "timeout_s": 10, **handler},
        "Mailer": {"kind": "function", "reserved_concurrency": 1, **handler,
                   "async": {"maximum_event_age_s": 60, "on_failure": "Failed"}},
        "Failed": {"kind": "queue"},
    }})


@pytest.fixture(scope="module")
def whole_run():
    return simlib.simulate(_whole_app(), seed=1)


def test_application_edges_lists_every_edge_with_its_settings():
    app = _whole_app()
    edges = plotting.application_edges(app)
    assert list(edges.columns) == ["from", "to", "kind", "edge", "receiver"]
    pairs = set(zip(edges["from"], edges["to"], edges["kind"]))
    assert pairs == {("src", "Topic", "source"), ("Topic", "Work", "subscription"),
                     ("Topic", "Mailer", "subscription"), ("Work", "WorkDLQ", "dlq"),
                     ("Work", "Worker", "mapping"), ("Mailer", "Failed", "on_failure")}
    row = edges.set_index(["from", "to"])
    assert row.loc[("Topic", "Work"), "edge"] == "filter policy {'kind': ['a']}"
    assert row.loc[("Topic", "Mailer"), "edge"] == "every message; asynchronous invoke"
    assert "MaximumConcurrency not set" in row.loc[("Work", "Worker"), "edge"]
    assert row.loc[("Work", "WorkDLQ"), "edge"] == "after 5 receives (maxReceiveCount)"
    assert row.loc[("Mailer", "Failed"), "edge"] == "after 2 retries or 60 s (maximum event age)"
    assert row.loc[("src", "Topic"), "edge"].startswith("burst: 1/s for 40 s, 8/s from 5 s")
    assert row.loc[("Topic", "Mailer"), "receiver"].startswith("reserved concurrency 1, 512 MB")
    assert row.loc[("Topic", "Work"), "receiver"] == "visibility 60 s, to WorkDLQ after 5 receives"
    with pytest.raises(TypeError, match="Application"):
        plotting.application_edges({"resources": {}})


def test_resources_table_is_the_resources_frame_as_a_grid(whole_run):
    table = plotting.resources_table(whole_run, ["Work", "Worker", "Mailer"],
                                     ["received", "invocations", "destination"])
    assert list(table.index) == ["Work", "Worker", "Mailer"]
    assert list(table.columns) == ["received", "invocations", "to an on-failure destination"]
    assert table.map(lambda v: isinstance(v, str)).all().all()
    frame = whole_run.resources.set_index(["resource", "kpi"])["value"]
    assert table.loc["Work", "received"] == f"{frame[('Work', 'received')]:,.0f}"
    assert table.loc["Mailer", "to an on-failure destination"] == \
        f"{frame[('Mailer', 'destination')]:,.0f}"
    assert table.loc["Work", "invocations"] == "-"   # a queue has no invocations
    assert table.loc["Worker", "received"] == "-"
    everything = plotting.resources_table(whole_run)   # default: KPIs that are not all zero
    assert "expired" not in everything.columns and "received" in everything.columns
    with pytest.raises(KeyError, match="no resource named 'Nope'"):
        plotting.resources_table(whole_run, ["Nope"])
    with pytest.raises(KeyError, match="no resource KPI named 'bogus'"):
        plotting.resources_table(whole_run, kpis=["bogus"])


def test_application_levels_follow_the_frames(whole_run):
    ts = whole_run.timeseries
    ev = whole_run.messages
    queue = plotting.application_levels(whole_run, "Work")
    own = ts[ts["resource"] == "Work"]
    assert list(queue["waiting"]) == list(own["queue_visible"] + own["in_flight"])
    mail = plotting.application_levels(whole_run, "Mailer")
    assert list(mail["waiting"]) == list(ts.loc[ts["resource"] == "Mailer", "async_backlog"])
    given_up = ev[(ev["resource"] == "Mailer") & ev["outcome"].isin(["destination", "dropped"])]
    assert len(given_up) > 0 and mail["given_up"].iloc[-1] == len(given_up)
    assert mail["given_up"].is_monotonic_increasing
    assert queue["given_up"].iloc[-1] == 0 and queue["waiting"].max() > 0
    assert mail["throttles"].max() > 0 and mail["concurrency"].max() <= 1  # reserved 1
    with pytest.raises(KeyError, match="a queue or a function"):
        plotting.application_levels(whole_run, "Topic")
    with pytest.raises(KeyError, match="no resource named 'Nope'"):
        plotting.application_levels(whole_run, "Nope")


def test_application_levels_figure_one_unit_per_panel(whole_run):
    open_before = plt.get_fignums()
    fig = plotting.plot_application_levels(whole_run, APP_BRANCHES, burst=(5, 20), title="App")
    assert plt.get_fignums() == open_before
    assert fig.get_suptitle() == "App"
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["events", "environments", "attempts per second",
                                                "events"]
    assert axes[-1].get_xlabel() == "time since start (s)"
    assert all(ax.get_xlabel() == "" for ax in axes[:-1])   # one shared time axis
    assert all(len(ax.get_lines()) == 2 for ax in axes)    # one line per branch
    (legend,) = fig.legends                                # below the panels
    assert [t.get_text() for t in legend.get_texts()] == ["queue", "async", "the spike"]
    two = plotting.plot_application_levels(whole_run, APP_BRANCHES, panels=["waiting", "given_up"])
    assert len(two.axes) == 2
    with pytest.raises(ValueError, match="panels"):
        plotting.plot_application_levels(whole_run, APP_BRANCHES, panels=["bogus"])
    with pytest.raises(TypeError, match="branches"):
        plotting.plot_application_levels(whole_run, {})


def test_bill_by_resource_groups_lines_and_keeps_the_total(whole_run):
    cost = whole_run.cost
    by_resource = plotting.bill_by_resource(whole_run)
    assert by_resource["total"].sum() == pytest.approx(cost["cost_usd"].sum())
    assert list(by_resource["total"]) == sorted(by_resource["total"], reverse=True)
    assert "lambda" in by_resource.columns and "sns" in by_resource.columns
    assert not by_resource.isna().any().any()
    groups = {"queue branch": ["Work", "WorkMapping", "Worker", "WorkDLQ"],
              "async branch": ["Mailer", "Failed"]}
    grouped = plotting.bill_by_resource(whole_run, groups)
    assert grouped.index.name == "group" and "Topic" in grouped.index   # ungrouped keeps its row
    mine = cost[cost["resource"].isin(groups["async branch"])]
    assert grouped.loc["async branch", "total"] == pytest.approx(mine["cost_usd"].sum())
    assert grouped["total"].sum() == pytest.approx(cost["cost_usd"].sum())
    with pytest.raises(KeyError, match="no resource named 'Nope'"):
        plotting.bill_by_resource(whole_run, {"g": ["Nope"]})
    with pytest.raises(ValueError, match="in two groups"):
        plotting.bill_by_resource(whole_run, {"g": ["Worker"], "h": ["Worker"]})


def test_bill_by_resource_figure_scales_per_million(whole_run):
    groups = {"queue branch": ["Work", "WorkMapping", "Worker", "WorkDLQ"]}
    orders = whole_run.summary["messages_sent"]
    fig = plotting.plot_bill_by_resource(whole_run, groups, per=orders, title="Bill")
    (ax,) = fig.axes
    assert ax.get_xlabel() == "USD per million orders" and ax.get_title() == "Bill"
    table = plotting.bill_by_resource(whole_run, groups)
    table = table[table["total"] > 0]
    ends = [p.get_x() + p.get_width() for p in ax.containers[-1].patches]
    assert ends == pytest.approx(list(table["total"] * 1e6 / orders))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(table.index)  # dearest on top
    assert ax.get_yticks()[0] > ax.get_yticks()[-1]
    assert ax.get_legend().get_title().get_text() == "service"
    plain = plotting.plot_bill_by_resource(whole_run)
    assert plain.axes[0].get_xlabel() == "USD (the run)"


def test_whatif_sweep_one_unit_per_panel_with_reference_lines():
    frame = pd.DataFrame({"rc": [1, 2, 4, 8], "lost": [0.5, 0.3, 0.0, 0.0],
                          "p99": [100.0, 60.0, 20.0, 2.0], "lo": [0.4, 0.2, 0.0, 0.0],
                          "hi": [0.6, 0.4, 0.1, 0.0]})
    fig = plotting.plot_whatif_sweep(
        frame, "rc", ["lost", "p99"], ci={"lost": ("lo", "hi")}, vlines={"theory": 3.5},
        hlines={"p99": {"target": 10}}, logy=["p99"], ylabels=["lost (fraction)", "p99 (s)"],
        xlabel="reserved concurrency", suptitle="Sweep")
    lost, p99 = fig.axes
    assert (lost.get_ylabel(), p99.get_ylabel()) == ("lost (fraction)", "p99 (s)")
    assert lost.get_yscale() == "linear" and lost.get_ylim()[0] == 0
    assert p99.get_yscale() == "log"
    assert all(ax.get_xlabel() == "reserved concurrency" for ax in fig.axes)
    assert [line.get_label() for line in lost.get_lines()] == ["simulated (mean)", "theory"]
    assert [line.get_label() for line in p99.get_lines()] == ["simulated (mean)", "theory",
                                                               "target"]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["simulated (mean)", "95 % interval",
                                                          "theory", "target"]
    with pytest.raises(KeyError, match="no column 'nope'"):
        plotting.plot_whatif_sweep(frame, "rc", ["nope"])


def test_application_panel_branches_and_your_point(whole_run):
    frame = pd.DataFrame({"rc": [1, 2, 4], "lost": [0.5, 0.2, 0.0]})
    fig = plotting.plot_application_panel(
        whole_run, APP_BRANCHES, frame, x="rc", y="lost", point=(1, 0.4), vlines={"theory": 3},
        burst=(5, 20), xlabel="reserved concurrency", ylabel="lost (fraction)", title="Panel")
    assert fig.get_suptitle() == "Panel"
    sweep = next(ax for ax in fig.axes if ax.get_legend() is not None)
    left = sorted((ax for ax in fig.axes if ax is not sweep), key=lambda ax: -ax.get_position().y0)
    assert [ax.get_ylabel() for ax in left] == ["events", "events"]
    assert left[-1].get_xlabel() == "time since start (s)"
    assert (sweep.get_xlabel(), sweep.get_ylabel()) == ("reserved concurrency", "lost (fraction)")
    labels = [t.get_text() for t in sweep.get_legend().get_texts()]
    assert labels == ["the lesson's sweep", "theory", "your point"]
    (star,) = [line for line in sweep.get_lines() if line.get_label() == "your point"]
    assert list(star.get_xdata()) == [1] and list(star.get_ydata()) == [0.4]
    (legend,) = fig.legends   # the branches, below the panels
    assert [t.get_text() for t in legend.get_texts()] == ["queue", "async", "the spike"]
    with pytest.raises(KeyError, match="no column 'nope'"):
        plotting.plot_application_panel(whole_run, APP_BRANCHES, frame, x="nope", y="lost",
                                        point=(1, 0.4))


def test_timeseries_lines_keep_the_colour_blind_safe_palette(result):
    """A colour named "C0" would be resolved when the figure is drawn, outside the lessons'
    style, and come out in matplotlib's default colours: the palette's colours are given."""
    from matplotlib.colors import to_hex

    from simlib.lessons.plotting import PALETTE

    fig = plot_timeseries(result, ("concurrency", "queue_visible", "in_flight"))
    lines = [line for ax in fig.axes for line in ax.get_lines()
             if not line.get_label().startswith(("_", "arrivals"))]
    assert [to_hex(line.get_color()) for line in lines] == [to_hex(c) for c in PALETTE[:3]]
