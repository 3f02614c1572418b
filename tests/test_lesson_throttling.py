"""simlib.lessons.throttling: lesson 02's set-up, the numbers it reads off a run, its figures."""

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

import simlib
from simlib.core.errors import ScenarioError
from simlib.lessons import throttling
from simlib.lessons.theory import erlang_b

matplotlib.use("Agg")

MEAN_S = 0.1


def _scenario(rate_per_s=80, duration_s=60, servers=10, retries=0):
    return simlib.Scenario.from_dict({
        "source": "api",
        "workload": {"pattern": "poisson", "rate_per_s": rate_per_s, "duration_s": duration_s},
        "function": {"reserved_concurrency": servers, "provisioned_concurrency": servers},
        "handler": {"duration_distribution": "exponential",
                    "duration_median_s": MEAN_S * math.log(2), "cpu_fraction": 0.0},
        "database": None,
        "caller": {"max_retries": retries},
    })


@pytest.fixture(scope="module")
def run():
    return simlib.simulate(_scenario(), seed=1)


def test_erlang_setup_caps_and_preinitialises_every_allowed_environment():
    s = throttling.erlang_setup(_scenario(), 15, 1_000)
    assert throttling.concurrency_cap(s) == 15 and s.function.provisioned_concurrency == 15
    # no reservation: the account limit is the cap, provisioned up to the 100 kept unreserved
    small = throttling.erlang_setup(_scenario(), None, 10)
    assert throttling.concurrency_cap(small) == 10 and small.function.provisioned_concurrency == 10
    big = throttling.erlang_setup(_scenario(), None, 300)
    assert throttling.concurrency_cap(big) == 300 and big.function.provisioned_concurrency == 200


def test_erlang_setup_refuses_a_reservation_that_leaves_under_100_unreserved():
    with pytest.raises(ScenarioError, match="reserved_concurrency"):
        throttling.erlang_setup(_scenario(), 10, 50)


def test_no_cold_starts_and_the_cap_holds(run):
    assert run.summary["cold_starts"] == 0
    levels = throttling.busy_levels(run)
    assert levels["busy"].max() == run.summary["max_concurrency"] <= 10
    assert levels["busy"].iloc[-1] == 0 and (levels["busy"] >= 0).all()
    assert levels["t_s"].is_monotonic_increasing


def test_busy_levels_integrate_to_the_busy_time_of_the_invocations(run):
    levels = throttling.busy_levels(run)
    held = np.diff(levels["t_s"].to_numpy()) * levels["busy"].to_numpy()[:-1]
    inv = run.invocations
    ran = inv[inv["status"] != "throttled"]
    assert held.sum() == pytest.approx((ran["end_s"] - ran["start_s"]).sum(), rel=1e-9)


def test_without_retries_every_throttle_is_a_failed_request(run):
    s = run.summary
    assert s["throttles"] == s["messages_failed"] > 0
    assert throttling.failed_share(run) == pytest.approx(s["throttles"] / s["messages_sent"])
    assert throttling.attempts_per_request(run) == pytest.approx(1.0)


def test_random_arrivals_meet_the_cap_as_often_as_it_is_there():
    """PASTA: the share of time at the cap and the share refused agree, and both agree with
    Erlang B, over a long run."""
    r = simlib.simulate(_scenario(duration_s=600), seed=3)
    at_cap, refused = throttling.time_at_cap(r), throttling.failed_share(r)
    assert abs(at_cap - refused) < 0.015
    assert abs(refused - erlang_b(10, 8.0)) < 0.015


def test_retries_cut_failures_and_add_attempts():
    none = simlib.simulate(_scenario(retries=0), seed=1)
    three = simlib.simulate(_scenario(retries=3), seed=1)
    assert throttling.failed_share(three) < 0.3 * throttling.failed_share(none)
    assert throttling.attempts_per_request(three) > 1.1


def test_smooth_traffic_meets_the_cap_only_above_it():
    share = throttling.smooth_traffic_share(10, [5.0, 10.0, 12.5, 20.0])
    assert share.tolist() == pytest.approx([0.0, 0.0, 0.2, 0.5])
    assert (throttling.smooth_traffic_share(10, np.linspace(0, 30, 31))
            <= [erlang_b(10, a) for a in np.linspace(0, 30, 31)]).all()


def test_time_at_cap_rejects_an_empty_window(run):
    with pytest.raises(ValueError, match="positive"):
        throttling.time_at_cap(run, 0)


def _legend_outside(ax) -> bool:
    legend = ax.get_legend()
    if legend is None:
        return False
    box = legend.get_window_extent()
    frame = ax.get_window_extent()
    return box.x0 >= frame.x1 - 1 or box.y1 <= frame.y0 + 1


def test_figures_have_units_titles_and_legends_outside(run):
    sweep = pd.DataFrame({"rate": [40, 80, 120], "share": [0.01, 0.12, 0.30],
                          "low": [0.0, 0.1, 0.28], "high": [0.02, 0.14, 0.32]})
    window = throttling.plot_cap_window(run, 20, 24, title="a finding")
    curve = throttling.plot_throttle_sweep(sweep, x="rate", y="share", ci=("low", "high"),
                                           mean_s=MEAN_S, servers=10, xlabel="rate (requests/s)",
                                           ylabel="refused (fraction)", title="a finding")
    panel = throttling.plot_panel(run, sweep, x="rate", y="share", ci=("low", "high"),
                                  mean_s=MEAN_S, sweep_servers=12, point=(80, 0.11),
                                  xlabel="rate (requests/s)", ylabel="failed (fraction)",
                                  title="a finding")
    for fig in (window, curve, panel):
        fig.canvas.draw()
    sweep_ax = next(ax for ax in panel.axes if ax.get_title() == "Your point on the lesson's sweep")
    assert [ax.get_ylabel() for ax in window.axes] == ["environments", "invoke attempts"]
    assert window.get_suptitle() == "a finding" and curve.axes[0].get_title() == "a finding"
    assert all(_legend_outside(ax) for ax in window.axes + curve.axes)
    labels = [t.get_text() for t in sweep_ax.get_legend().get_texts()]
    assert "your point" in labels and "Erlang B, your cap 10" in labels  # the run's cap is 10
    assert _legend_outside(sweep_ax)


def test_plots_name_a_missing_column(run):
    with pytest.raises(KeyError, match="nope"):
        throttling.plot_throttle_sweep(pd.DataFrame({"x": [1]}), x="x", y="nope", ci=None,
                                       mean_s=MEAN_S, servers=10, xlabel="", ylabel="", title="")
