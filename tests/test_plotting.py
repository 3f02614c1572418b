"""The lessons' shared visuals (simlib.plotting) and interactive panels (simlib.explore)."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import simlib
from simlib import kpis, plotting
from simlib.plotting import compare, format_value, kpi_table, plot_sweep, plot_timeseries

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
    fig = plot_timeseries(result)
    (ax,) = fig.axes
    assert ax.get_title() == "SQS queue → Lambda: poisson arrivals, 20 messages/s for 30 s (seed 1)"
    assert ax.get_xlabel() == "time since start (s)"
    assert "environments" in ax.get_ylabel() and "messages" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == [
        "busy environments (concurrency)", "visible messages in the queue", "in-flight messages",
    ]
    assert "arrivals stop" in labels
    assert ax.title.get_fontsize() >= 14 and ax.xaxis.label.get_fontsize() >= 13


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
    assert right.get_ylabel() == "cost per million messages (USD)"
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
    ("latency_p99_s", "latency p99 (s)"),
    ("cost_per_million_usd", "cost per million messages (USD)"),
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
    assert ax.get_xlabel() == "cost per million messages (USD)"
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
    assert table.loc["Latency p99 (s)", "value"] == format_value(s["latency_p99_s"], "seconds")


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
