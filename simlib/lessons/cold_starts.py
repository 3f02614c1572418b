"""Measures, sweeps and figures for the cold-start lessons (01 and 15).

Lesson 01 asks *who waits* for a cold start: which messages (requests) were served by an
invocation that started a new environment, how often that happens once a run has warmed
up, and whether those messages are the slow tail (the p99). Lesson 15 asks what
provisioned concurrency and SnapStart buy: the share of requests that spill over to
on-demand environments (next to Erlang B, the loss formula a pool of provisioned
environments follows), and the p99 and the cost against the number provisioned.

There is no model logic here: every function reads a :class:`~simlib.Result` (or a
frame of measures) or builds a :class:`~simlib.Scenario` for :func:`simlib.simulate`.
The figures follow :mod:`simlib.lessons.plotting`'s style (one unit per axis, legends
outside the data, titles that state the finding) and are returned, not shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from simlib.aws.handler import Z99, memory_factor
from simlib.engine import simulate
from simlib.lessons import plotting
from simlib.lessons.theory import erlang_b

__all__ = [
    "BURST_DURATION_S",
    "MIN_MESSAGES",
    "WARMUP_S",
    "WINDOW_S",
    "cold_start_wait_s",
    "erlang_b_spillover",
    "handler_p99_s",
    "init_share_of_tail",
    "mean_handler_s",
    "plot_cold_share",
    "plot_cold_start_panel",
    "plot_latency_split",
    "plot_provisioned_panel",
    "plot_provisioned_tradeoff",
    "spillover_share",
    "steady_duration_s",
    "steady_scenario",
    "steady_state",
    "steady_state_sweep",
    "steady_table",
    "waited_for_cold_start",
]

# -- steady state -------------------------------------------------------------------------
# A run starts with no environment, so its first requests are cold whatever the traffic:
# a short run counts that warm-up, not the steady state. The lessons discard the first
# WARMUP_S seconds (two of the model's idle lifetimes of about 640 s, by when the pool of
# environments has reached the size the traffic keeps warm) and count the messages sent
# after it, over at least WINDOW_S seconds (one maximum lifetime, so that environments
# replaced every two hours are counted too) and at least MIN_MESSAGES messages (so that
# sparse traffic gives a share with a usable confidence interval).
WARMUP_S = 1_300.0
WINDOW_S = 7_200.0
MIN_MESSAGES = 400
BURST_DURATION_S = 30.0  # a burst added to a steady run lasts this long, mid-window

# Curves of the two sources, told apart by more than colour (they often coincide).
SOURCE_STYLES = ({"marker": "o", "linestyle": "-", "linewidth": 2.6},
                 {"marker": "s", "linestyle": "--", "linewidth": 1.8, "markersize": 6})
COLD_COLOUR = "#D55E00"  # vermillion: the requests that waited for a cold start
WARM_COLOUR = "0.6"


def cold_start_wait_s(result) -> np.ndarray:
    """Per message (in ``result.messages`` order): the INIT (or SnapStart restore) its first
    invocation waited for, in seconds; 0 when that invocation found a warm environment.

    A message is matched to the invocation that started when it was first received: for
    the ``api`` source the request's invoke, for ``sqs`` the batch its poller handed to
    the function at once (no batching window). A batching window delays the invoke past
    the receive, so that case raises ValueError rather than miscount. Invocations on
    provisioned environments are never cold.
    """
    scenario = result.scenario
    if scenario.source == "sqs" and scenario.mapping.batching_window_s > 0:
        raise ValueError("cold_start_wait_s needs mapping.batching_window_s = 0: with a "
                         "window the invoke starts after the receive")
    inv = result.invocations
    cold = inv[inv["cold"] & (inv["status"] != "throttled")]
    init_by_start = dict(zip(cold["start_s"].to_numpy(), cold["init_s"].to_numpy()))
    received = result.messages["first_received_s"].to_numpy()
    return np.array([init_by_start.get(t, 0.0) for t in received], dtype=float)


def waited_for_cold_start(result) -> np.ndarray:
    """Per message (in ``result.messages`` order): whether its first invocation was a cold
    start, i.e. it waited for a new environment's INIT (see :func:`cold_start_wait_s`)."""
    return cold_start_wait_s(result) > 0


def init_share_of_tail(result, quantile: float = 99.0, since_s: float = 0.0) -> float:
    """How much of the slowest messages' latency was cold starts (fraction): over the
    processed messages sent at or after ``since_s`` whose latency is at or above its
    ``quantile`` percentile (the p99 by default), the INIT they waited for over their
    whole latency. Near 1: the p99 *is* cold starts; near 0: something else."""
    m = result.messages
    keep = ((m["outcome"] == "deleted") & (m["sent_s"] >= since_s)).to_numpy()
    latency = (m["finished_s"] - m["sent_s"]).to_numpy()[keep]
    if not len(latency):
        return math.nan
    tail = latency >= np.percentile(latency, quantile)
    return float(cold_start_wait_s(result)[keep][tail].sum() / latency[tail].sum())


def steady_duration_s(rate_per_s: float, *, warmup_s: float = WARMUP_S,
                      window_s: float = WINDOW_S, min_messages: int = MIN_MESSAGES) -> float:
    """How long a steady run at ``rate_per_s`` lasts (s): the warm-up, then a counted
    window of at least ``window_s`` seconds and ``min_messages`` messages on average."""
    if not rate_per_s > 0:
        raise ValueError(f"rate_per_s = {rate_per_s!r} is not allowed: a rate > 0")
    return warmup_s + max(window_s, min_messages / rate_per_s)


def steady_scenario(scenario, rate_per_s: float, *, burst_rate_per_s: float | None = None,
                    warmup_s: float = WARMUP_S, window_s: float = WINDOW_S,
                    min_messages: int = MIN_MESSAGES):
    """``scenario`` with Poisson traffic at ``rate_per_s`` lasting
    :func:`steady_duration_s`; with ``burst_rate_per_s`` (above the rate) a burst of
    :data:`BURST_DURATION_S` seconds in the middle of the counted window."""
    duration = steady_duration_s(rate_per_s, warmup_s=warmup_s, window_s=window_s,
                                 min_messages=min_messages)
    changes = {"workload.pattern": "poisson", "workload.rate_per_s": rate_per_s,
               "workload.duration_s": duration}
    if burst_rate_per_s is not None and burst_rate_per_s > rate_per_s:
        changes.update({"workload.pattern": "burst",
                        "workload.burst_rate_per_s": burst_rate_per_s,
                        "workload.burst_start_s": (warmup_s + duration) / 2,
                        "workload.burst_duration_s": BURST_DURATION_S})
    return scenario.with_changes(changes)


def steady_state(result, warmup_s: float = WARMUP_S) -> dict:
    """What a run looks like after its warm-up: measures over the messages sent at or after
    ``warmup_s`` that were processed (``deleted``).

    ``messages`` (counted), ``cold_share`` (the share of them that waited for a cold start,
    :func:`waited_for_cold_start`), ``latency_p99_s`` (their p99 latency, send to
    finish) and ``tail_cold_share`` (of the messages at or above that p99, the share that
    waited for a cold start: how much of the p99 *is* cold starts).
    """
    m = result.messages
    counted = ((m["sent_s"] >= warmup_s) & (m["outcome"] == "deleted")).to_numpy()
    if not counted.any():
        raise ValueError(f"no processed message was sent after warmup_s = {warmup_s:g} s")
    waited = waited_for_cold_start(result)[counted]
    latency = (m["finished_s"] - m["sent_s"]).to_numpy()[counted]
    p99 = float(np.percentile(latency, 99))
    tail = latency >= p99
    return {"messages": int(counted.sum()), "cold_share": float(waited.mean()),
            "latency_p99_s": p99, "tail_cold_share": float(waited[tail].mean())}


def steady_table(result, warmup_s: float = WARMUP_S) -> pd.DataFrame:
    """The lesson 01 panel's table: :func:`steady_state` of the run, with its cold starts
    and cost, as formatted text (one column ``value``)."""
    m = steady_state(result, warmup_s)
    s = result.summary
    return pd.DataFrame({"value": {
        "Messages counted (sent after the warm-up)": f"{m['messages']:,}",
        "  of those, waited for a cold start": f"{m['cold_share']:.2%}",
        "Latency of those messages, p99 (s)": plotting.format_value(m["latency_p99_s"],
                                                                   "seconds"),
        "Cold starts in the whole run (environments)": f"{s['cold_starts']:,}",
        "Cost per million processed messages": plotting.format_value(
            s["cost_per_million_usd"], "usd"),
    }})


def steady_state_sweep(scenario, rates: Iterable[float], sources: Iterable[str],
                       seeds: Iterable[int], *, warmup_s: float = WARMUP_S,
                       window_s: float = WINDOW_S,
                       min_messages: int = MIN_MESSAGES) -> pd.DataFrame:
    """One row per (source, rate, seed): ``source``, ``rate_per_s``, ``seed`` and the
    :func:`steady_state` measures of a :func:`steady_scenario` run."""
    rows = []
    for source in sources:
        for rate in rates:
            run = steady_scenario(scenario.with_changes({"source": source}), rate,
                                  warmup_s=warmup_s, window_s=window_s,
                                  min_messages=min_messages)
            for seed in seeds:
                measures = steady_state(simulate(run, seed=seed), warmup_s)
                rows.append({"source": source, "rate_per_s": rate, "seed": seed, **measures})
    return pd.DataFrame(rows)


# -- provisioned concurrency ----------------------------------------------------------------


def spillover_share(result) -> float:
    """Share of the invocations that ran on on-demand environments (fraction): with
    provisioned concurrency, the requests that found every provisioned environment busy.
    NaN when nothing ran."""
    inv = result.invocations
    ran = inv[inv["status"] != "throttled"]
    return float((~ran["provisioned"]).mean()) if len(ran) else math.nan


def mean_handler_s(scenario) -> float:
    """Mean handler duration of one record at the scenario's memory (s), warm: the mean of
    the handler's distribution at 1,769 MB times the memory factor. With ``arrival rate x
    this``, the offered load in Erlangs that Erlang B needs."""
    h = scenario.handler
    if h.duration_distribution == "lognormal":
        sigma = math.log(h.duration_p99_s / h.duration_median_s) / Z99
        mean = h.duration_median_s * math.exp(sigma**2 / 2)
    elif h.duration_distribution == "exponential":
        mean = h.duration_median_s / math.log(2.0)
    else:
        mean = h.duration_median_s
    return mean * memory_factor(h, scenario.function.memory_mb)


def handler_p99_s(scenario) -> float:
    """The handler's own p99 duration at the scenario's memory (s): the p99 of a request
    that finds a warm environment, with no queue in front of it."""
    h = scenario.handler
    if h.duration_distribution == "lognormal":
        p99 = h.duration_p99_s
    elif h.duration_distribution == "exponential":
        p99 = h.duration_median_s / math.log(2.0) * math.log(100.0)
    else:
        p99 = h.duration_median_s
    return p99 * memory_factor(h, scenario.function.memory_mb)


def erlang_b_spillover(scenario, provisioned: int) -> float:
    """Share of requests that find all ``provisioned`` environments busy, from Erlang B.

    Requests take an idle provisioned environment first, so the provisioned pool is a
    loss system: a request that finds all of them busy spills over to an on-demand
    environment. For Poisson arrivals at rate λ that share is B(N, λ x mean handler time),
    whatever the distribution of the handler's time. For the ``burst`` pattern the two
    phases (base rate, burst rate) are weighted by their expected requests (each phase
    taken as in its steady state). ``poisson`` and ``burst`` only.
    """
    w = scenario.workload
    mean_s = mean_handler_s(scenario)
    if w.pattern == "poisson":
        return erlang_b(provisioned, w.rate_per_s * mean_s)
    if w.pattern == "burst":
        burst_s = max(0.0, min(w.burst_duration_s, w.duration_s - w.burst_start_s))
        phases = [(w.rate_per_s, w.duration_s - burst_s), (w.burst_rate_per_s, burst_s)]
        requests = sum(rate * span for rate, span in phases)
        return sum(rate * span * erlang_b(provisioned, rate * mean_s)
                   for rate, span in phases) / requests
    raise ValueError(f"erlang_b_spillover: workload.pattern = {w.pattern!r} is not "
                     "supported: poisson or burst")


# -- figures ----------------------------------------------------------------------------------


def _draw_latency(ax, result, *, since_s: float, until_s: float | None, marker_s: float = 14):
    """Latency of each processed message against its send time, cold ones highlighted,
    with the p99 of the drawn messages. Returns that p99."""
    m = result.messages
    waited = waited_for_cold_start(result)
    keep = (m["outcome"] == "deleted").to_numpy() & (m["sent_s"] >= since_s).to_numpy()
    if until_s is not None:
        keep &= (m["sent_s"] <= until_s).to_numpy()
    sent = m["sent_s"].to_numpy()[keep]
    latency = (m["finished_s"] - m["sent_s"]).to_numpy()[keep]
    cold = waited[keep]
    scale, xlabel = plotting.time_axis(sent, "sent at")
    ax.scatter(sent[~cold] / scale, latency[~cold], s=marker_s * 0.5, color=WARM_COLOUR,
               alpha=0.5, linewidths=0, label="warm: an idle environment was reused",
               rasterized=True)
    ax.scatter(sent[cold] / scale, latency[cold], s=marker_s * 2.2, color=COLD_COLOUR,
               marker="D", linewidths=0, label="waited for a cold start", rasterized=True,
               zorder=3)
    p99 = float(np.percentile(latency, 99)) if len(latency) else math.nan
    if len(latency):
        ax.axhline(p99, label="p99 latency", **plotting.REFERENCE_STYLES[2])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("latency, sent to finished (s)")
    return p99


def plot_latency_split(results: Mapping[str, object], *, since_s: float = 0.0,
                       until_s: float | None = None, title: str | None = None):
    """One panel per labelled run, side by side with a shared y axis: each processed
    message's latency against when it was sent, the ones that waited for a cold start
    highlighted, and the p99 of the drawn messages (dash-dot). ``since_s``/``until_s``
    limit the messages drawn to those sent in that window. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not isinstance(results, Mapping) or not results:
        raise TypeError("plot_latency_split expects a non-empty dict of label -> Result")
    n = len(results)
    with plotting.style():
        fig, axes = plt.subplots(1, n, sharey=True, layout="constrained",
                                 figsize=(min(6.0 * n, 14.0), plotting.FIGSIZE[1] + 0.6),
                                 squeeze=False)
        for ax, (label, run) in zip(axes[0], results.items()):
            p99 = _draw_latency(ax, run, since_s=since_s, until_s=until_s)
            ax.set_title(f"{label}: p99 {p99:.2f} s", fontsize=plotting.STYLE["axes.labelsize"])
        axes[0][0].set_ylim(bottom=0)  # shared: after every panel has drawn
        for ax in axes[0][1:]:
            ax.set_ylabel("")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=3, markerscale=1.5)
        if title:
            fig.suptitle(title, fontsize=plotting.STYLE["axes.titlesize"],
                         fontweight=plotting.STYLE["axes.titleweight"])
    return plotting._detach(fig, True)


def _ci_band(ax, x, mean, half, colour):
    low = np.clip(mean - half, 0, None)
    ax.fill_between(x, low, mean + half, color=colour, alpha=0.18, linewidth=0)


SHARE_FLOOR = 1e-5  # a mean of zero is drawn here on the log axis (never reached in the lessons)


def _draw_cold_share(ax, stats: pd.DataFrame, *, theory_idle_s: float | None,
                     point: tuple[float, float] | None, point_source: str | None):
    """The left panel of :func:`plot_cold_share` (log-log), shared with the lesson panel."""
    for i, (source, part) in enumerate(stats.sort_values("rate_per_s").groupby("source",
                                                                               sort=True)):
        colour = plotting.PALETTE[i % len(plotting.PALETTE)]
        x = part["rate_per_s"].to_numpy()
        mean = np.maximum(part["cold_share_mean"].to_numpy(), SHARE_FLOOR)
        mine = point_source is None or source == point_source
        ax.plot(x, mean, color=colour, label=f"{source}", alpha=1.0 if mine else 0.6,
                **SOURCE_STYLES[i % len(SOURCE_STYLES)])
        if "cold_share_ci95" in part:
            half = part["cold_share_ci95"].fillna(0).to_numpy()
            low = np.maximum(mean - half, SHARE_FLOOR)
            ax.fill_between(x, low, mean + half, color=colour, alpha=0.15, linewidth=0)
    if theory_idle_s is not None:
        lo, hi = float(stats["rate_per_s"].min()), float(stats["rate_per_s"].max())
        xs = np.geomspace(lo, hi, 200)
        ys = np.exp(-xs * theory_idle_s)
        shown = ys >= SHARE_FLOOR
        ax.plot(xs[shown], ys[shown], **plotting.THEORY_STYLE,
                label=f"one environment: exp(−rate × {theory_idle_s:.0f} s)")
    ax.axhline(0.01, label="1 %: above it, the p99 is a cold start",
               **plotting.REFERENCE_STYLES[1])
    if point is not None:
        plotting.mark_point(ax, point[0], max(point[1], SHARE_FLOOR), label="your run")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.minorticks_off()  # decades only: readable, and far quicker for a panel to lay out
    ax.set_xlabel("steady traffic (messages or requests per second, log scale)")
    ax.set_ylabel("messages that waited for a cold start\n(fraction, log scale)")


def plot_cold_share(stats: pd.DataFrame, *, theory_idle_s: float | None = None,
                    p99_lines: Mapping[str, float] | None = None, title: str | None = None):
    """The steady-state sweep of lesson 01, two panels against the traffic (log x):
    left, the share of messages that waited for a cold start (log y, with the
    one-environment formula exp(−rate × idle lifetime) dashed and the 1 % line); right,
    the p99 latency of the messages, with ``p99_lines`` (label -> seconds) drawn as
    reference levels (e.g. the handler's own p99). One curve per source, shaded by the
    95 % interval. ``stats`` is :func:`simlib.sweep.summarize` of
    :func:`steady_state_sweep` by ``source`` and ``rate_per_s``. Returns the Figure."""
    import matplotlib.pyplot as plt

    needed = ["source", "rate_per_s", "cold_share_mean", "latency_p99_s_mean"]
    missing = [c for c in needed if c not in stats.columns]
    if missing:
        raise KeyError(f"plot_cold_share: no column {', '.join(map(repr, missing))}")
    with plotting.style():
        fig, (left, right) = plt.subplots(1, 2, figsize=plotting.WIDE_FIGSIZE,
                                          layout="constrained")
        _draw_cold_share(left, stats, theory_idle_s=theory_idle_s, point=None,
                         point_source=None)
        left.set_title("How often a message waits for a cold start",
                       fontsize=plotting.STYLE["axes.labelsize"])
        for i, (source, part) in enumerate(stats.sort_values("rate_per_s").groupby("source",
                                                                                   sort=True)):
            colour = plotting.PALETTE[i % len(plotting.PALETTE)]
            x = part["rate_per_s"].to_numpy()
            mean = part["latency_p99_s_mean"].to_numpy()
            right.plot(x, mean, color=colour, label=source, **SOURCE_STYLES[i % len(SOURCE_STYLES)])
            if "latency_p99_s_ci95" in part:
                _ci_band(right, x, mean, part["latency_p99_s_ci95"].fillna(0).to_numpy(), colour)
        for j, (label, level) in enumerate((p99_lines or {}).items()):
            right.axhline(level, label=label, **plotting.REFERENCE_STYLES[(j + 2) % 3])
        right.set_xscale("log")
        right.minorticks_off()
        right.set_ylim(bottom=0)
        right.set_xlabel(left.get_xlabel())
        right.set_ylabel("latency of messages, p99 (s)")
        right.set_title("What the slowest 1 % wait", fontsize=plotting.STYLE["axes.labelsize"])
        plotting.figure_legend(fig, (left, right), ncols=3)
        if title:
            fig.suptitle(title, fontsize=plotting.STYLE["axes.titlesize"],
                         fontweight=plotting.STYLE["axes.titleweight"])
    return plotting._detach(fig, True)


def plot_cold_start_panel(result, stats: pd.DataFrame, *, warmup_s: float = WARMUP_S,
                          theory_idle_s: float | None = None, title: str | None = None):
    """Lesson 01's panel: left, the run's messages after the warm-up (latency against
    send time, cold ones highlighted, the p99 dash-dotted); right, the lesson's steady-state
    sweep (:func:`plot_cold_share`'s left panel) with this run as "your run" at (its
    rate, its share of messages that waited for a cold start). Returns the Figure."""
    import matplotlib.pyplot as plt

    measures = steady_state(result, warmup_s)
    scenario = result.scenario
    with plotting.style():
        fig, (left, right) = plt.subplots(1, 2, figsize=plotting.WIDE_FIGSIZE,
                                          layout="constrained", width_ratios=[1.0, 1.1])
        _draw_latency(left, result, since_s=warmup_s, until_s=None)
        left.set_ylim(bottom=0)
        left.set_title(f"This run after its warm-up: {measures['cold_share']:.2%} waited",
                       fontsize=plotting.STYLE["axes.labelsize"])
        _draw_cold_share(right, stats, theory_idle_s=theory_idle_s,
                         point=(scenario.workload.rate_per_s, measures["cold_share"]),
                         point_source=scenario.source)
        right.set_title("Your run on the lesson's sweep", fontsize=plotting.STYLE["axes.labelsize"])
        plotting.figure_legend(fig, (left, right), ncols=4)
        fig.suptitle(title or "Your run", fontsize=plotting.STYLE["axes.titlesize"],
                     fontweight=plotting.STYLE["axes.titleweight"])
    return plotting._detach(fig, True)


# The three KPIs of lesson 15's trade-off, with their axis labels.
TRADEOFF_PANELS = (
    ("latency_p99_s", "latency of requests, p99 (s)"),
    ("cost_per_million_usd", "cost per million requests (USD)"),
    ("spillover_share", "requests served on on-demand\nenvironments (fraction)"),
)


def _sweep_line(ax, stats, column, colour, label):
    x = stats["provisioned_concurrency"].to_numpy()
    mean = stats[f"{column}_mean"].to_numpy()
    ax.plot(x, mean, marker="o", color=colour, label=label)
    if f"{column}_ci95" in stats:
        _ci_band(ax, x, mean, stats[f"{column}_ci95"].fillna(0).to_numpy(), colour)


def plot_provisioned_tradeoff(stats: pd.DataFrame, *, snapstart: Mapping[str, float] | None = None,
                              theory: Sequence[float] | None = None, title: str | None = None):
    """Lesson 15's trade-off against the provisioned concurrency (environments), three
    panels: the p99 latency, the cost per million requests and the share of requests
    that spilled over to on-demand environments (with Erlang B dashed, ``theory`` = one
    value per row of ``stats``). ``snapstart`` (KPI -> value) draws SnapStart without
    provisioned concurrency as a dashed reference line on the p99 and cost panels.
    ``stats`` holds ``provisioned_concurrency`` and ``<kpi>_mean`` / ``<kpi>_ci95``
    columns. Returns the Figure."""
    import matplotlib.pyplot as plt

    stats = stats.sort_values("provisioned_concurrency")
    with plotting.style():
        fig, axes = plt.subplots(1, 3, figsize=(17.0, plotting.FIGSIZE[1] + 0.8),
                                 layout="constrained")
        for ax, (column, ylabel) in zip(axes, TRADEOFF_PANELS):
            _sweep_line(ax, stats, column, plotting.PALETTE[0], "provisioned concurrency")
            if snapstart and column in snapstart:
                ax.axhline(snapstart[column], label="SnapStart, none provisioned",
                           **plotting.REFERENCE_STYLES[0])
            if theory is not None and column == "spillover_share":
                ax.plot(stats["provisioned_concurrency"], list(theory),
                        label="Erlang B: B(N, rate × mean handler time)", **plotting.THEORY_STYLE)
            ax.set_xlabel("provisioned concurrency N (environments)")
            ax.set_ylabel(ylabel)
            ax.set_ylim(bottom=0)
        plotting.figure_legend(fig, axes, ncols=3)
        if title:
            fig.suptitle(title, fontsize=plotting.STYLE["axes.titlesize"],
                         fontweight=plotting.STYLE["axes.titleweight"])
    return plotting._detach(fig, True)


def plot_provisioned_panel(result, stats: pd.DataFrame, *,
                           snapstart: Mapping[str, float] | None = None,
                           since_s: float = 0.0, until_s: float | None = None,
                           title: str | None = None):
    """Lesson 15's panel: left, the run's requests sent between ``since_s`` and
    ``until_s`` (latency against send time, cold ones highlighted, the p99 dash-dotted);
    right, the lesson's sweep of the p99 (top) and the cost per million requests
    (bottom) against the provisioned concurrency, SnapStart as a dashed reference line,
    with this run as "your run". Returns the Figure."""
    import matplotlib.pyplot as plt

    s = result.summary
    point_x = result.scenario.function.provisioned_concurrency
    with plotting.style():
        fig, axd = plt.subplot_mosaic([["run", "p99"], ["run", "cost"]],
                                      figsize=plotting.WIDE_FIGSIZE, layout="constrained",
                                      width_ratios=[1.0, 1.0])
        _draw_latency(axd["run"], result, since_s=since_s, until_s=until_s)
        axd["run"].set_ylim(bottom=0)
        axd["run"].set_title(f"This run: {s['cold_starts']} cold starts",
                             fontsize=plotting.STYLE["axes.labelsize"])
        for key, (column, ylabel) in (("p99", TRADEOFF_PANELS[0]), ("cost", TRADEOFF_PANELS[1])):
            ax = axd[key]
            _sweep_line(ax, stats.sort_values("provisioned_concurrency"), column,
                        plotting.PALETTE[0], "the lesson's sweep")
            if snapstart and column in snapstart:
                ax.axhline(snapstart[column], label="SnapStart, none provisioned",
                           **plotting.REFERENCE_STYLES[0])
            plotting.mark_point(ax, point_x, s[column], label="your run")
            ax.set_ylabel(ylabel.replace("latency of requests, ", "").replace(
                "cost per million requests", "USD per\nmillion requests"))
            ax.set_ylim(bottom=0)
        axd["p99"].tick_params(labelbottom=False)
        axd["cost"].set_xlabel("provisioned concurrency N (environments)")
        axd["p99"].set_title("Your run on the lesson's sweep: p99 (s) and cost",
                             fontsize=plotting.STYLE["axes.labelsize"])
        plotting.figure_legend(fig, (axd["run"], axd["p99"]), ncols=3)
        fig.suptitle(title or "Your run", fontsize=plotting.STYLE["axes.titlesize"],
                     fontweight=plotting.STYLE["axes.titleweight"])
    return plotting._detach(fig, True)
