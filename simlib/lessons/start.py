"""Lesson 00 (start here): Little's law for the SQS → Lambda pipeline, and the lesson's panel.

Little's law, L = λ·W: the mean number of busy environments (L, the mean concurrency)
equals the arrival rate (λ, messages/s) times the time each message holds an environment
(W, s). AWS states the same rule for sizing a function ("concurrency = average requests
per second × average request duration"). This module works W out from a scenario's own
fields, before any run (:func:`seconds_per_message`), so that the lesson can set the law
beside what the simulation measures; gives a sweep the extra columns it needs
(:func:`concurrency_row`); and draws and tabulates the lesson panel's view
(:func:`plot_start_panel`, :func:`panel_table`).

There is no model logic here: the handler's duration at a memory size is
:func:`simlib.aws.handler.memory_factor`'s, and runs come from :func:`simlib.simulate`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simlib.aws.handler import Z99, memory_factor
from simlib.core.scenario import Scenario
from simlib.engine import simulate
from simlib.lessons import kpis
from simlib.lessons.plotting import (
    PALETTE,
    STYLE,
    THEORY_STYLE,
    WIDE_FIGSIZE,
    _detach,
    figure_legend,
    format_value,
    kpi_table,
    label_for,
    mark_point,
    plot_timeseries,
    style,
)

__all__ = [
    "PANEL_KPIS",
    "concurrency_row",
    "handler_mean_s",
    "littles_law",
    "panel_table",
    "plot_concurrency_sweep",
    "plot_start_panel",
    "seconds_per_message",
    "with_handler_median",
]


RATE = "workload.rate_per_s"
MEAN = "mean_concurrency_mean"
CI = "mean_concurrency_ci95"

# The summary KPIs the panel's table shows, after the two Little's-law rows.
PANEL_KPIS = ("invocations", "max_concurrency", "duplicate_executions", "latency_p50_s",
              "latency_p99_s", "cost_per_million_usd")


def handler_mean_s(handler) -> float:
    """Mean of the handler's duration distribution at 1,769 MB (s): ``median × exp(σ²/2)``
    for a lognormal (σ from the median and the p99), ``median / ln 2`` for an exponential,
    the median for a constant."""
    median = handler.duration_median_s
    if handler.duration_distribution == "constant":
        return float(median)
    if handler.duration_distribution == "exponential":
        return float(median / math.log(2.0))
    sigma = math.log(handler.duration_p99_s / median) / Z99
    return float(median * math.exp(sigma ** 2 / 2))


def seconds_per_message(scenario: Scenario) -> float:
    """W: the time one message holds an environment (s), from the scenario's fields alone.

    The handler's mean duration stretched to the function's memory
    (:func:`simlib.aws.handler.memory_factor`), plus its database queries at their
    unloaded time (``db_queries_per_message × query_s``). It leaves out what a run adds
    on top, all small for a busy function: the INIT of each cold start shared over the
    messages, a first connect per environment, waiting for a busy database, and
    re-executions of failed or duplicated messages.
    """
    h = scenario.handler
    queries_s = 0.0
    if scenario.database is not None:
        queries_s = h.db_queries_per_message * scenario.database.query_s
    return handler_mean_s(h) * memory_factor(h, scenario.function.memory_mb) + queries_s


def littles_law(scenario: Scenario, rate_per_s: float | None = None) -> float:
    """Mean concurrency by Little's law (environments): arrival rate × :func:`seconds_per_message`.

    ``rate_per_s`` defaults to the scenario's ``workload.rate_per_s``.
    """
    rate = scenario.workload.rate_per_s if rate_per_s is None else rate_per_s
    return float(rate * seconds_per_message(scenario))


def with_handler_median(scenario: Scenario, median_s: float) -> Scenario:
    """The scenario with the handler's median duration set to ``median_s`` and its p99
    moved with it (the same p99 / median ratio), so the distribution keeps its shape."""
    h = scenario.handler
    ratio = h.duration_p99_s / h.duration_median_s
    return scenario.with_changes({"handler.duration_median_s": median_s,
                                  "handler.duration_p99_s": median_s * ratio})


def concurrency_row(base: Scenario, changes: dict, seed: int) -> dict:
    """One run of a sweep as a row (``simlib.sweep.sweep(..., run=concurrency_row)``): the
    swept values, the seed, the summary, the measured ``mean_concurrency`` and
    ``busy_s_per_message``, and ``littles_law`` for the point's scenario."""
    scenario = base.with_changes(changes)
    result = simulate(scenario, seed=seed)
    return {**changes, "seed": seed, **result.summary,
            "mean_concurrency": kpis.mean_concurrency(result),
            "busy_s_per_message": kpis.busy_s_per_message(result),
            "littles_law": littles_law(scenario)}


def plot_concurrency_sweep(stats: pd.DataFrame, w_s: float, *,
                           point: tuple[float, float] | None = None,
                           your_w_s: float | None = None, ax=None,
                           title: str | None = None,
                           legend_loc: str = "outside"):
    """Mean concurrency against arrival rate: the simulated means with their 95 %
    intervals (``stats`` from ``simlib.sweep.summarize(runs, "workload.rate_per_s",
    ["mean_concurrency"])``) beside Little's law, rate × ``w_s``, drawn dashed.

    ``point = (rate, mean concurrency)`` marks a run as "your point"; ``your_w_s``, when it
    differs from ``w_s``, adds Little's law at that W (dotted), the line your point should
    sit on. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    missing = [c for c in (RATE, MEAN, CI) if c not in stats.columns]
    if missing:
        raise KeyError(f"plot_concurrency_sweep: no column {', '.join(map(repr, missing))}; "
                       "pass simlib.sweep.summarize(runs, 'workload.rate_per_s', "
                       "['mean_concurrency'])")
    stats = stats.sort_values(RATE)
    rates = stats[RATE].to_numpy(dtype=float)
    hi = max(float(rates.max()), point[0] if point else 0.0)
    xs = np.linspace(0.0, hi * 1.04, 100)
    with style():
        owned = ax is None
        if owned:
            fig, ax = plt.subplots(figsize=(11.0, 4.8), layout="constrained")
        fig = ax.figure
        ax.plot(xs, xs * w_s, label=f"Little's law, rate × {w_s:.3f} s", zorder=2,
                **THEORY_STYLE)
        ax.errorbar(rates, stats[MEAN], yerr=stats[CI].fillna(0.0), marker="o",
                    linestyle="none", color=PALETTE[0], capsize=5, zorder=3,
                    label=f"simulated: mean of {int(stats['n'].min())} seeds, 95 % interval")
        if your_w_s is not None and not math.isclose(your_w_s, w_s, rel_tol=1e-6):
            ax.plot(xs, xs * your_w_s, color=PALETTE[5], linestyle=":", linewidth=2.2,
                    label=f"Little's law at your settings, rate × {your_w_s:.3f} s", zorder=2)
        if point is not None:
            mark_point(ax, point[0], point[1])
        tops = [float(stats[MEAN].max() + stats[CI].fillna(0.0).max()), hi * w_s]
        if point is not None:
            tops.append(point[1])
        ax.set_ylim(0, 1.08 * max(tops + [1.0]))
        ax.set_xlim(0, hi * 1.04)
        ax.set_xlabel(label_for(RATE))
        ax.set_ylabel("mean concurrency (busy environments)")
        ax.set_title(title if title is not None else
                     "Busy environments grow in proportion to traffic")
        if legend_loc == "outside":
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        else:
            ax.legend(loc=legend_loc)
    return _detach(fig, owned)


def plot_start_panel(result, stats: pd.DataFrame, w_s: float, *, title: str | None = None):
    """The lesson panel's figure. Left, the run's levels on panels that share the time
    axis (busy environments above, messages below, :func:`plot_timeseries`); right, the
    lesson's sweep (:func:`plot_concurrency_sweep`, Little's law at ``w_s``) with this
    run as "your point" and Little's law at the run's own W. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    scenario = result.scenario
    rate = scenario.workload.rate_per_s
    point = (rate, kpis.mean_concurrency(result))
    with style():
        fig, axd = plt.subplot_mosaic([["environments", "sweep"], ["messages", "sweep"]],
                                      figsize=(WIDE_FIGSIZE[0], WIDE_FIGSIZE[1] + 1.2),
                                      layout="constrained", width_ratios=[1.15, 1.0])
        env, msg, ax = axd["environments"], axd["messages"], axd["sweep"]
        plot_timeseries(result, ["concurrency"], ax=env, title="")
        plot_timeseries(result, ["queue_visible", "in_flight"], ax=msg, title="")
        # Two calls each start at the palette's first colour: give the three series the
        # colours they have in the one-run figure (plot_timeseries with all three columns).
        for line, colour in zip([*env.get_lines()[:1], *msg.get_lines()[:2]], PALETTE):
            line.set_color(colour)
        msg.sharex(env)
        env.set_xlabel("")
        env.tick_params(labelbottom=False)
        env.set_title("This run", fontsize=STYLE["axes.labelsize"], loc="left")
        plot_concurrency_sweep(stats, w_s, point=point, your_w_s=seconds_per_message(scenario),
                               ax=ax, title="Your point on the lesson's sweep")
        ax.title.set_fontsize(STYLE["axes.labelsize"])
        figure_legend(fig, (env, msg, ax), ncols=3, fontsize=STYLE["legend.fontsize"] - 1)
        fig.suptitle(title if title is not None else
                     f"{rate:g} messages/s: {point[1]:.1f} busy environments on average "
                     f"(Little's law: {littles_law(scenario):.1f})",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def panel_table(result, keys=PANEL_KPIS) -> pd.DataFrame:
    """The panel's KPI table: the run's mean concurrency and Little's law's, then the
    summary ``keys`` (:func:`simlib.plotting.kpi_table`), as formatted text."""
    scenario = result.scenario
    head = pd.DataFrame(
        {"value": [format_value(kpis.mean_concurrency(result)),
                   format_value(littles_law(scenario)),
                   format_value(seconds_per_message(scenario), "seconds")]},
        index=pd.Index(["Mean concurrency (busy environments)",
                        "Little's law: rate × W (environments)",
                        "W: time per message, from the settings (s)"], name="KPI"))
    return pd.concat([head, kpi_table(result, list(keys))])
