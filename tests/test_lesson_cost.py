"""Lesson 08's helpers (simlib.lessons.cost): the closed forms agree with the price table
and with the simulation, and the sweeps and figures show what the lesson says."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import simlib
from simlib import kpis, plotting
from simlib.core.limits import ONE_VCPU_MB
from simlib.core.pricing import price
from simlib.lessons import cost

BASE = {"workload": {"rate_per_s": 20, "duration_s": 60},
        "handler": {"cpu_fraction": 0.5, "db_queries_per_message": 0}}
MEMORIES = [128, 256, 512, 1024, ONE_VCPU_MB, 2 * ONE_VCPU_MB]


@pytest.fixture(scope="module")
def scenario():
    return simlib.Scenario.from_dict(BASE)


@pytest.fixture(scope="module")
def tuning(scenario):
    return cost.power_tuning(scenario, MEMORIES, [0.0, 1.0], seed=1)


@pytest.fixture(scope="module")
def pc_sweep(scenario):
    return cost.provisioned_sweep(scenario.with_changes({"workload.duration_s": 200}),
                                  [4, 12, 20, 28], 10, seed=1)


# -- closed forms ---------------------------------------------------------------------


def test_duration_factor_stretches_cpu_work_below_one_vcpu_only():
    assert cost.duration_factor(ONE_VCPU_MB, 0.7) == pytest.approx(1.0)
    assert cost.duration_factor(ONE_VCPU_MB / 2, 1.0) == pytest.approx(2.0)
    assert cost.duration_factor(ONE_VCPU_MB / 4, 0.5) == pytest.approx(0.5 * 4 + 0.5)
    assert cost.duration_factor(2 * ONE_VCPU_MB, 1.0) == pytest.approx(1.0)  # single-threaded
    assert np.allclose(cost.duration_factor([128, 10_240], 0.0), 1.0)          # pure I/O
    with pytest.raises(ValueError, match="cpu_share"):
        cost.duration_factor(512, 1.5)


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_break_even_is_where_provisioned_and_on_demand_cost_the_same(architecture):
    u = cost.break_even_utilisation(architecture)
    assert 0 < u < 1
    enabled = price("lambda", "provisioned_gb_s", architecture)
    executing = price("lambda", "provisioned_compute_gb_s", architecture)
    on_demand = price("lambda", "compute_gb_s", architecture)
    # per GB-second enabled: enabled all the time + executing while busy = on demand while busy
    assert enabled + u * executing == pytest.approx(u * on_demand)
    assert enabled + (u + 0.1) * executing < (u + 0.1) * on_demand


def test_nat_break_even_kb_is_where_the_nat_line_meets_compute(scenario):
    result = simlib.simulate(scenario, seed=1)
    kb = cost.nat_break_even_kb(result)
    at = simlib.simulate(scenario.with_changes({"function.nat_kb_per_message": kb}), seed=1)
    nat = kpis.cost_line_usd(at, "nat", "processed_gb")
    compute = kpis.cost_line_usd(at, "lambda", "compute_gb_s")
    assert nat == pytest.approx(compute, rel=1e-6)  # the NAT volume does not change compute


# -- what a run cost ------------------------------------------------------------------


def test_billed_ms_and_lambda_cost_per_processed_message(scenario):
    result = simlib.simulate(scenario, seed=1)
    n = result.summary["messages_deleted"]
    assert cost.billed_ms_per_message(result) == pytest.approx(
        result.invocations["billed_ms"].sum() / n)
    whole = cost.lambda_usd_per_million(result)
    parts = sum(cost.lambda_usd_per_million(result, [item])
                for item in ("requests", *cost.DURATION_LINES))
    assert whole == pytest.approx(parts)
    assert whole == pytest.approx(kpis.service_cost_per_million_usd(result, "lambda"))


# -- power tuning ---------------------------------------------------------------------


def test_power_tuning_sweep_shows_the_cpu_share_deciding_the_cheapest_memory(tuning):
    table = tuning.pivot(index="memory_mb", columns="cpu_share")
    per_million = table["cost_per_million_usd"]
    ms = table["billed_ms_per_message"]
    # pure I/O: no faster with memory, so cost rises from the first step
    assert (abs(ms[0.0] / ms.loc[ONE_VCPU_MB, 0.0] - 1) < 0.01).all()
    assert per_million[0.0].is_monotonic_increasing
    # pure CPU: each doubling below one vCPU halves the duration, cost stays within 3 %
    for m in (128, 256, 512):
        assert ms.loc[2 * m, 1.0] / ms.loc[m, 1.0] == pytest.approx(0.5, abs=0.02)
        assert per_million.loc[2 * m, 1.0] / per_million.loc[m, 1.0] == pytest.approx(1, abs=0.03)
    premium = per_million.loc[ONE_VCPU_MB] / per_million.min() - 1
    assert premium[0.0] > 1 and premium[1.0] < 0.05


def test_power_tuning_closed_form_matches_the_sweep(tuning):
    for share in (0.0, 1.0):
        part = tuning[tuning["cpu_share"] == share].set_index("memory_mb").loc[MEMORIES]
        theory = cost.power_tuning_theory(tuning, MEMORIES, share)
        # the compute line within 3 %; the whole bill within 5 %, since a slower function
        # gets bigger batches (fewer per-invocation charges) than the closed form assumes
        for col, rtol in (("billed_ms_per_message", 0.03), ("compute_usd_per_million", 0.03),
                          ("cost_per_million_usd", 0.05)):
            assert np.allclose(part[col].to_numpy(), theory[col], rtol=rtol), (share, col)


def test_power_tuning_theory_needs_a_run_at_one_vcpu(tuning):
    with pytest.raises(ValueError, match="1769 MB"):
        cost.power_tuning_theory(tuning[tuning["memory_mb"] != ONE_VCPU_MB], [512], 0.5)


# -- provisioned concurrency ----------------------------------------------------------


def test_provisioned_sweep_crosses_at_the_price_lists_break_even(pc_sweep):
    assert pc_sweep["utilisation"].is_monotonic_increasing
    ratio = pc_sweep["provisioned_usd_per_million"] / pc_sweep["on_demand_usd_per_million"]
    assert ratio.is_monotonic_decreasing and ratio.iloc[0] > 2 and ratio.iloc[-1] < 1
    assert cost.crossing_utilisation(pc_sweep) == pytest.approx(
        cost.break_even_utilisation(), abs=0.05)
    calm = pc_sweep[pc_sweep["spillover"] < 0.01]
    assert len(calm) >= 2
    _, closed = cost.provisioned_theory(pc_sweep, calm["utilisation"])
    assert np.allclose(calm["provisioned_usd_per_million"], closed, rtol=0.03)


def test_crossing_is_nan_when_the_costs_do_not_cross(pc_sweep):
    assert math.isnan(cost.crossing_utilisation(pc_sweep.iloc[:1]))
    with pytest.raises(ValueError, match="at least one"):
        cost.provisioned_sweep(None, [1], 0)


# -- figures --------------------------------------------------------------------------


def test_power_tuning_figure_has_two_panels_log_memory_and_a_legend_below(tuning):
    fig = cost.plot_power_tuning_curves(tuning, title="finding")
    left, right = fig.axes
    assert left.get_xscale() == right.get_xscale() == "log"
    assert left.get_yscale() == "log" and "ms" in left.get_ylabel()
    assert "processed messages (USD)" in right.get_ylabel()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["0%", "100%", f"1 vCPU ({ONE_VCPU_MB:,} MB)", "closed form"]
    assert fig.get_suptitle() == "finding"


def test_break_even_figure_draws_the_price_lists_line_and_keeps_the_legend_outside(pc_sweep):
    fig = cost.plot_break_even(pc_sweep, 10)
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"break-even from the prices: {cost.break_even_utilisation():.0%}" in texts
    assert ax.get_legend().get_bbox_to_anchor().x0 >= ax.get_window_extent().x1 - 1
    assert "utilisation" in ax.get_xlabel() and "%" in ax.get_xlabel()


def test_panel_figure_marks_your_run_on_the_sweep(scenario, tuning):
    out = simlib.simulate(scenario.with_changes({"function.nat_kb_per_message": 64}), seed=1)
    fig = cost.plot_cost_panel(out, tuning, memory_mb=512, cpu_share=0.5, title="t")
    left, right = fig.axes[:2]
    star = next(line for line in left.get_lines() if line.get_label() == "your run")
    assert star.get_xdata()[0] == 512
    assert star.get_ydata()[0] == pytest.approx(out.summary["cost_per_million_usd"])
    # the dashed closed form passes through your run (the rest of the bill lifts it)
    dashed = next(line for line in left.get_lines()
                  if line.get_label() == "closed form, your settings")
    y = np.interp(np.log(512), np.log(dashed.get_xdata()), dashed.get_ydata())
    assert y == pytest.approx(star.get_ydata()[0], rel=0.03)
    assert "nat · processed_gb" in [t.get_text() for t in right.get_yticklabels()]


def test_bills_figure_puts_the_legend_outside(scenario):
    result = simlib.simulate(scenario, seed=1)
    fig = plotting.plot_bill({"a": result, "b": result}, title="t")
    (ax,) = fig.axes
    assert ax.get_legend().get_bbox_to_anchor().x0 >= ax.get_window_extent().x1 - 1
