"""Lesson 02 (concurrency and throttling): its set-up, the numbers it reads off a run, and
its panel's figure.

The lesson compares the share of synchronous requests refused with a 429 against the
Erlang-B blocking probability, so its function must behave like an Erlang loss system:
every environment the cap allows is pre-initialised (no cold starts stretch a request),
and a request that finds the cap reached is refused at once. :func:`erlang_setup` makes a
scenario so; the other functions only read a Result.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simlib.core.limits import UNRESERVED_MIN
from simlib.lessons import plotting
from simlib.lessons.theory import throttle_fraction_curve

__all__ = [
    "attempts_per_request",
    "busy_levels",
    "concurrency_cap",
    "erlang_setup",
    "failed_share",
    "plot_cap_window",
    "plot_panel",
    "plot_throttle_sweep",
    "smooth_traffic_share",
    "time_at_cap",
]


def concurrency_cap(scenario) -> int:
    """The most environments the function may run at once (environments): its reserved
    concurrency if set, else the account's concurrency limit (the model's only function
    uses the unreserved pool alone)."""
    reserved = scenario.function.reserved_concurrency
    return int(reserved if reserved is not None else scenario.account.concurrency_limit)


def erlang_setup(scenario, reserved_concurrency: int | None, account_limit: int):
    """``scenario`` with the given cap, every environment of it pre-initialised.

    ``reserved_concurrency`` None leaves the function on the account's unreserved pool,
    capped by ``account_limit``. Provisioned concurrency is set to the cap (AWS allows at
    most the reserved concurrency, or the account limit minus the 100 that must stay
    unreserved), so no request waits for a cold start. Raises the scenario's
    ConflictError for a reservation that leaves fewer than 100 unreserved.
    """
    if reserved_concurrency is None:
        provisioned = account_limit - UNRESERVED_MIN if account_limit > UNRESERVED_MIN \
            else account_limit
    else:
        provisioned = reserved_concurrency
    return scenario.with_changes({
        "account.concurrency_limit": account_limit,
        "function.reserved_concurrency": reserved_concurrency,
        "function.provisioned_concurrency": max(0, provisioned),
    })


def failed_share(result) -> float:
    """Requests that failed (fraction of requests sent): for a synchronous caller whose
    handler never fails, the requests still refused with a 429 after all their retries.
    Without retries it is the share of requests throttled."""
    sent = result.summary["messages_sent"]
    return result.summary["messages_failed"] / sent if sent else math.nan


def attempts_per_request(result) -> float:
    """Invoke attempts per request sent (attempts): 1 when none is refused; each retry of
    a 429 adds one, whether it is refused again or served."""
    s = result.summary
    return (s["invocations"] + s["throttles"]) / s["messages_sent"] if s["messages_sent"] else math.nan


def smooth_traffic_share(cap: int, offered_load) -> np.ndarray:
    """The share of requests a cap would refuse if requests arrived evenly spaced and took
    exactly their mean time (fraction): ``max(0, 1 - cap / load)``, load = rate x mean
    duration (environments). The intuition "20 % spare capacity, so no 429s" is this
    line; Erlang B adds the clumps of random arrivals."""
    load = np.asarray(offered_load, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(load > cap, 1.0 - cap / np.where(load > 0, load, 1.0), 0.0)


def busy_levels(result) -> pd.DataFrame:
    """Busy environments at every instant one starts or ends an invocation (environments),
    worked out exactly from ``result.invocations`` (the timeseries samples only once per
    step, between which the level moves many times). Columns ``t_s`` and ``busy``; the
    level holds until the next row."""
    inv = result.invocations
    ran = inv[inv["status"] != "throttled"]
    times = np.concatenate([ran["start_s"].to_numpy(float), ran["end_s"].to_numpy(float)])
    steps = np.concatenate([np.ones(len(ran)), -np.ones(len(ran))])
    order = np.lexsort((steps, times))  # at a tie the end (-1) comes first
    t, busy = times[order], np.cumsum(steps[order])
    last = np.r_[t[1:] != t[:-1], True] if len(t) else np.array([], dtype=bool)
    return pd.DataFrame({"t_s": np.r_[0.0, t[last]], "busy": np.r_[0.0, busy[last]]})


def time_at_cap(result, until_s: float | None = None) -> float:
    """The share of time every environment the cap allows was busy (fraction), from 0 to
    ``until_s`` (default: when arrivals stop). Poisson arrivals see the function as it is
    on average over time, so this is also the share of them that meet the cap."""
    cap = concurrency_cap(result.scenario)
    end = float(result.scenario.workload.duration_s if until_s is None else until_s)
    if not end > 0:
        raise ValueError(f"until_s = {until_s!r}: a positive number of seconds")
    levels = busy_levels(result)
    t = np.clip(np.r_[levels["t_s"].to_numpy(float), end], 0.0, end)
    return float(np.sum(np.diff(t) * (levels["busy"].to_numpy() >= cap)) / end)


def _refused_times(result) -> np.ndarray:
    inv = result.invocations
    return np.sort(inv.loc[inv["status"] == "throttled", "start_s"].to_numpy(float))


def _draw_cap(busy_ax, refused_ax, result, start_s: float, end_s: float, bin_s: float) -> None:
    """Busy environments (exact) against the cap, and the attempts refused per bin."""
    cap = concurrency_cap(result.scenario)
    levels = busy_levels(result)
    shown = levels[(levels["t_s"] >= start_s) & (levels["t_s"] <= end_s)]
    before = levels[levels["t_s"] < start_s].tail(1).assign(t_s=start_s)
    shown = pd.concat([before, shown])
    busy_ax.plot(shown["t_s"], shown["busy"], drawstyle="steps-post", color=plotting.PALETTE[0],
                 linewidth=1.6 if end_s - start_s <= 10 else 0.9, label="busy environments")
    busy_ax.axhline(cap, label=f"cap ({cap:,})", zorder=1.8, **plotting.REFERENCE_STYLES[0])
    busy_ax.set_ylim(-0.03 * cap, 1.12 * max(cap, float(shown["busy"].max()) if len(shown) else 0.0))
    busy_ax.set_ylabel("environments")
    busy_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    edges = np.arange(start_s, end_s + bin_s / 2, bin_s)
    counts, _ = np.histogram(_refused_times(result), bins=edges)
    refused_ax.stairs(counts, edges, color=plotting.PALETTE[5], linewidth=1.8,
                      label=f"attempts refused (429) per {bin_s:g} s")
    refused_ax.set_ylim(-0.03 * max(counts.max(initial=0), 1), 1.1 * max(counts.max(initial=0), 1))
    refused_ax.set_ylabel("invoke attempts")
    refused_ax.set_xlabel("time since start (s)")
    refused_ax.set_xlim(start_s, end_s)
    refused_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def plot_cap_window(result, start_s: float, end_s: float, *, bin_s: float = 0.1,
                    title: str | None = None):
    """A stretch of a synchronous run seen exactly: busy environments against the cap
    (top) and the invoke attempts refused with a 429 in each ``bin_s`` (bottom), sharing
    the time axis. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not start_s < end_s:
        raise ValueError(f"start_s = {start_s!r}, end_s = {end_s!r}: start before end")
    with plotting.style():
        fig, (top, bottom) = plt.subplots(2, 1, sharex=True, layout="constrained",
                                          figsize=(plotting.FIGSIZE[0], plotting.FIGSIZE[1] + 1.2))
        _draw_cap(top, bottom, result, start_s, end_s, bin_s)
        fig.suptitle(title or "Busy environments and refused attempts",
                     fontsize=plotting.STYLE["axes.titlesize"],
                     fontweight=plotting.STYLE["axes.titleweight"])
    plt.close(fig)
    return fig


def _draw_sweep(ax, sweep: pd.DataFrame, *, x: str, y: str, ci, mean_s: float, servers: int,
                label: str, xmin: float, xmax: float, smooth: bool) -> None:
    part = sweep.sort_values(x)
    (line,) = ax.plot(part[x], part[y], marker="o", color=plotting.PALETTE[0], label=label)
    if ci:
        ax.fill_between(part[x], part[ci[0]], part[ci[1]], color=line.get_color(), alpha=0.18,
                        linewidth=0)
    xs = np.linspace(xmin, xmax, 200)
    ax.plot(xs, throttle_fraction_curve(servers, xs * mean_s), label=f"Erlang B, cap {servers}",
            **plotting.THEORY_STYLE)
    if smooth:
        ax.plot(xs, smooth_traffic_share(servers, xs * mean_s),
                label=f"evenly spaced requests, cap {servers}", **plotting.REFERENCE_STYLES[1])


def plot_throttle_sweep(sweep: pd.DataFrame, *, x: str, y: str, ci: tuple[str, str] | None,
                        mean_s: float, servers: int, xlabel: str, ylabel: str, title: str,
                        label: str = "simulated (mean, 95 % band)"):
    """The lesson's sweep: the share of requests refused against the request rate, the
    simulation's mean with its 95 % band beside the Erlang-B curve of ``servers`` and the
    share evenly spaced requests would meet (:func:`smooth_traffic_share`). The legend
    sits right of the data. Returns the Figure."""
    import matplotlib.pyplot as plt

    missing = [c for c in (x, y, *(ci or ())) if c not in sweep.columns]
    if missing:
        raise KeyError(f"plot_throttle_sweep: no column {', '.join(map(repr, missing))}")
    with plotting.style():
        fig, ax = plt.subplots(figsize=plotting.FIGSIZE, layout="constrained")
        _draw_sweep(ax, sweep, x=x, y=y, ci=ci, mean_s=mean_s, servers=servers, label=label,
                    xmin=float(sweep[x].min()), xmax=float(sweep[x].max()), smooth=True)
        ax.set_ylim(bottom=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    plt.close(fig)
    return fig


def plot_panel(result, sweep: pd.DataFrame, *, x: str, y: str, ci: tuple[str, str] | None,
               mean_s: float, sweep_servers: int, point: tuple[float, float],
               xlabel: str, ylabel: str, title: str, bin_s: float = 1.0):
    """The lesson's panel: this run (left: busy environments against its cap, exactly,
    and the invoke attempts refused per ``bin_s``) and the lesson's sweep (right: ``y``
    against ``x`` with its 95 % band and the Erlang-B curve of the sweep's cap, plus the
    Erlang-B curve of the run's cap when it differs) with the run marked as "your
    point". Returns the Figure."""
    import matplotlib.pyplot as plt

    missing = [c for c in (x, y, *(ci or ())) if c not in sweep.columns]
    if missing:
        raise KeyError(f"plot_panel: no column {', '.join(map(repr, missing))} in sweep")
    cap = concurrency_cap(result.scenario)
    end_s = float(result.scenario.workload.duration_s)
    with plotting.style():
        fig, axd = plt.subplot_mosaic([["busy", "sweep"], ["refused", "sweep"]],
                                      figsize=(plotting.WIDE_FIGSIZE[0] + 1.5,
                                               plotting.WIDE_FIGSIZE[1] + 0.6),
                                      layout="constrained", width_ratios=[1.0, 0.85])
        axd["busy"].sharex(axd["refused"])
        _draw_cap(axd["busy"], axd["refused"], result, 0.0, end_s, bin_s)
        axd["busy"].tick_params(labelbottom=False)
        axd["busy"].set_title("This run", loc="left", fontsize=plotting.STYLE["axes.labelsize"])
        ax = axd["sweep"]
        xmin = min(float(sweep[x].min()), point[0])
        xmax = max(float(sweep[x].max()), point[0])
        _draw_sweep(ax, sweep, x=x, y=y, ci=ci, mean_s=mean_s, servers=sweep_servers,
                    label=f"lesson's sweep (cap {sweep_servers}, no retries)", xmin=xmin,
                    xmax=xmax, smooth=False)
        if cap != sweep_servers:
            xs = np.linspace(xmin, xmax, 200)
            ax.plot(xs, throttle_fraction_curve(cap, xs * mean_s),
                    label=f"Erlang B, your cap {cap:,}", **plotting.REFERENCE_STYLES[1])
        ax.plot([point[0]], [point[1]], marker="*", markersize=20, color="black",
                linestyle="none", label="your point", zorder=5)
        top = max(1.05 * float(np.nanmax(sweep[ci[1] if ci else y].to_numpy(), initial=0)),
                  1.1 * point[1], 0.05)
        ax.set_ylim(-0.03 * top, top)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title("Your point on the lesson's sweep", fontsize=plotting.STYLE["axes.labelsize"])
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), borderaxespad=0.0, ncols=2,
                  fontsize="small")
        fig.suptitle(title, fontsize=plotting.STYLE["axes.titlesize"],
                     fontweight=plotting.STYLE["axes.titleweight"])
    plt.close(fig)
    return fig
