"""Lesson 05 (dead-letter queues and poison messages): the numbers it reads off a run and
its figures.

A message reaches the DLQ for one of two reasons the lesson tells apart: it is poison
(``messages.poison``: the handler fails on it every time) and used up its receives
failing, or it is valid and its receives were used up without it ever running, by a
poller whose invokes were throttled (the *over-pull*). Every function here only reads a
Result (its ``messages``, ``invocations`` and ``timeseries``); none changes it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from simlib.lessons import plotting

__all__ = [
    "dlq_split",
    "failed_executions_over_time",
    "pipeline_levels",
    "plot_over_pull",
    "plot_panel",
    "plot_poison",
    "plot_receive_sweep",
    "valid_in_dlq",
]


def dlq_split(result) -> dict[str, int]:
    """The DLQ split by what its messages are (messages): ``poison_in_dlq`` (poison, moved
    after failing), ``valid_in_dlq`` (valid messages), and of those
    ``valid_in_dlq_never_ran`` (moved without the handler ever running them)."""
    m = result.messages
    dlq = m[m["outcome"] == "dlq"]
    valid = dlq[~dlq["poison"].astype(bool)]
    return {"poison_in_dlq": int(dlq["poison"].astype(bool).sum()),
            "valid_in_dlq": len(valid),
            "valid_in_dlq_never_ran": int((valid["executions"] == 0).sum())}


def valid_in_dlq(result) -> int:
    """Valid (not poison) messages moved to the DLQ (messages)."""
    return dlq_split(result)["valid_in_dlq"]


def failed_executions_over_time(result, bin_s: float = 60.0) -> pd.Series:
    """Record executions that failed, per ``bin_s`` of the clock (executions), counted when
    their invocation ended: with a poison message and partial batch responses, one per
    receive of it. Indexed by each bin's start (s), from 0 to the run's last invocation."""
    if not bin_s > 0:
        raise ValueError(f"bin_s = {bin_s!r}: a positive number of seconds")
    inv = result.invocations
    ran = inv[inv["status"] != "throttled"]
    end = max(float(ran["end_s"].max()) if len(ran) else 0.0, bin_s)
    edges = np.arange(0.0, end + bin_s, bin_s)
    counts, _ = np.histogram(ran["end_s"].to_numpy(float), bins=edges,
                             weights=ran["failed_items"].to_numpy(float))
    return pd.Series(counts, index=pd.Index(edges[:-1], name="t_s"), name="failed_executions")


def plot_poison(results: Mapping[str, object], *, bin_s: float = 60.0, title: str,
                hlines: Mapping[str, float] | None = None):
    """Part 1's figure, one line per labelled run, two panels sharing the time axis (in
    minutes): failed executions per ``bin_s`` (top) and messages in the DLQ (bottom). A
    dotted line marks when arrivals stop; ``hlines`` (label -> executions per bin) draws
    reference levels on the top panel, e.g. what arithmetic predicts. The legend sits
    right of the panels. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not isinstance(results, Mapping) or not results:
        raise TypeError("plot_poison expects a dict of label -> Result")
    with plotting.style():
        fig, (top, bottom) = plt.subplots(2, 1, sharex=True, layout="constrained",
                                          figsize=(plotting.FIGSIZE[0], plotting.FIGSIZE[1] + 1.2))
        runs = {label: (failed_executions_over_time(run, bin_s), run.timeseries)
                for label, run in results.items()}
        end = max(max(float(f.index[-1]) + bin_s, float(ts["t_s"].max()))
                  for f, ts in runs.values()) / 60.0
        for i, (label, (failed, ts)) in enumerate(runs.items()):
            colour = plotting.PALETTE[i % len(plotting.PALETTE)]
            t = np.r_[failed.index.to_numpy(float), failed.index[-1] + bin_s] / 60.0
            top.stairs(failed.to_numpy(), t, color=colour, linewidth=2.2, label=label)
            # a run that settled early holds its last level to the end of the longest one
            bottom.plot(np.r_[ts["t_s"].to_numpy(float) / 60.0, end],
                        np.r_[ts["dlq_depth"].to_numpy(float), ts["dlq_depth"].iloc[-1]],
                        drawstyle="steps-post", color=colour, label=label)
        for k, (label, value) in enumerate(dict(hlines or {}).items()):
            top.axhline(value, label=label, zorder=1.8,
                        **plotting.REFERENCE_STYLES[k % len(plotting.REFERENCE_STYLES)])
        stop = next(iter(results.values())).scenario.workload.duration_s / 60.0
        for ax in (top, bottom):
            ax.axvline(stop, color="0.35", linestyle=":", linewidth=1.6,
                       label="arrivals stop" if ax is top else None)
            ax.set_ylim(bottom=-0.5)
        top.set_ylabel(f"executions per {bin_s:g} s")
        top.set_title("Failed executions (poison messages, received again)", loc="left",
                      fontsize=plotting.STYLE["axes.labelsize"])
        bottom.set_ylabel("messages")
        bottom.set_title("Messages in the DLQ", loc="left", fontsize=plotting.STYLE["axes.labelsize"])
        bottom.set_xlabel("time since start (min)")
        bottom.set_xlim(0, end)
        top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        fig.suptitle(title, fontsize=plotting.STYLE["axes.titlesize"],
                     fontweight=plotting.STYLE["axes.titleweight"])
    plt.close(fig)
    return fig


def pipeline_levels(result) -> pd.DataFrame:
    """The pipeline over time, one row per timeseries sample: ``queue_visible`` and
    ``in_flight`` (messages), ``pollers`` (the mapping's pollers, each holding at most one
    batch) and ``concurrency`` (busy environments), and the messages moved to the DLQ so
    far, ``valid_dlq`` and ``poison_dlq`` (counted from ``messages.finished_s``)."""
    ts = result.timeseries
    m = result.messages
    dlq = m[m["outcome"] == "dlq"]
    poison = dlq["poison"].astype(bool)
    t = ts["t_s"].to_numpy(float)

    def so_far(rows):
        return np.searchsorted(np.sort(rows["finished_s"].to_numpy(float)), t, side="right")

    return pd.DataFrame({
        "t_s": t,
        "queue_visible": ts["queue_visible"].to_numpy(float),
        "in_flight": ts["in_flight"].to_numpy(float),
        "pollers": ts["pollers"].to_numpy(float),
        "concurrency": ts["concurrency"].to_numpy(float),
        "valid_dlq": so_far(dlq[~poison]).astype(float),
        "poison_dlq": so_far(dlq[poison]).astype(float),
    })


# (column, legend label, colour index) per panel; the panels' y labels and titles
_PANELS = (
    ("messages", "Messages waiting", (("queue_visible", "visible in the queue", 0),
                                      ("in_flight", "in flight (received, not deleted)", 1))),
    ("concurrency", "Pollers and environments", (("pollers", "the mapping's pollers", 2),
                                                 ("concurrency", "busy environments", 0))),
    ("messages", "Moved to the DLQ so far", (("valid_dlq", "valid messages", 5),
                                             ("poison_dlq", "poison messages", 3))),
)


def _draw_levels(axes, result, legend: bool) -> None:
    levels = pipeline_levels(result)
    reserved = result.scenario.function.reserved_concurrency
    maximum = result.scenario.mapping.max_concurrency
    t = levels["t_s"].to_numpy()
    for ax, (unit, what, columns) in zip(axes, _PANELS):
        tops = []
        for col, label, colour in columns:
            if col == "poison_dlq" and not levels[col].any():
                continue
            ax.plot(t, levels[col], drawstyle="steps-post", label=label,
                    color=plotting.PALETTE[colour])
            tops.append(float(levels[col].max()))
        if unit == "concurrency":
            lines = {}
            if reserved is not None:
                lines[f"reserved concurrency ({reserved})"] = reserved
            if maximum is not None:
                lines[f"maximum concurrency ({maximum})"] = maximum
            for k, (label, value) in enumerate(lines.items()):
                ax.axhline(value, label=label, zorder=1.8,
                           **plotting.REFERENCE_STYLES[k % len(plotting.REFERENCE_STYLES)])
                tops.append(float(value))
        top = max(tops + [1.0])
        ax.set_ylim(-0.03 * top, 1.1 * top)
        ax.set_ylabel(unit)
        ax.set_title(what, loc="left", fontsize=plotting.STYLE["axes.labelsize"])
        if legend:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                      fontsize="small")
    axes[-1].set_xlabel("time since start (s)")
    axes[-1].set_xlim(0, float(t[-1]))


def plot_over_pull(result, *, title: str):
    """A queue → Lambda run in three panels sharing the time axis: messages waiting
    (visible, in flight), the mapping's pollers against the busy environments and the
    function's reserved (and the mapping's maximum) concurrency, and the messages moved
    to the DLQ so far, valid and poison apart. Returns the Figure."""
    import matplotlib.pyplot as plt

    with plotting.style():
        fig, axes = plt.subplots(3, 1, sharex=True, layout="constrained",
                                 figsize=(plotting.FIGSIZE[0] + 1.0, plotting.FIGSIZE[1] + 3.0))
        _draw_levels(axes, result, legend=True)
        fig.suptitle(title, fontsize=plotting.STYLE["axes.titlesize"],
                     fontweight=plotting.STYLE["axes.titleweight"])
    plt.close(fig)
    return fig


def _draw_sweep(ax, sweep: pd.DataFrame, *, x: str, y: str, series: str, ci, fix_series,
                highlight) -> None:
    """One curve per ``series`` value in sorted order, coloured by that order (the
    palette's blue is left to the runs' own lines); ``fix_series`` black and dashed."""
    keys = [k for k in sorted(sweep[series].unique(), key=str) if k != fix_series]
    keys += [fix_series] if fix_series in set(sweep[series]) else []
    for i, key in enumerate(keys):
        part = sweep[sweep[series] == key].sort_values(x)
        style = ({"color": "black", "linestyle": "--", "marker": "s"} if key == fix_series else
                 {"color": _SWEEP_COLOURS[i % len(_SWEEP_COLOURS)], "marker": "o"})
        thin = highlight is not None and key != highlight
        ax.plot(part[x], part[y], linewidth=1.4 if thin else 2.6, alpha=0.6 if thin else 1.0,
                label=f"{key}", **style)
        if ci:
            ax.fill_between(part[x], part[ci[0]], part[ci[1]], color=style["color"], alpha=0.15,
                            linewidth=0)


# the sweep's curves: vermillion, orange, green, pink, sky blue (Okabe-Ito, as the palette)
_SWEEP_COLOURS = ("#D55E00", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")


def plot_receive_sweep(sweep: pd.DataFrame, *, x: str, y: str, series: str,
                       ci: tuple[str, str] | None = None, fix_series=None, xlabel: str,
                       ylabel: str, series_label: str, title: str):
    """The lesson's sweep: ``y`` against ``x`` (maxReceiveCount), one curve per ``series``
    value with its ``ci`` band, ``fix_series`` drawn black and dashed. The legend sits
    right of the data. Returns the Figure."""
    import matplotlib.pyplot as plt

    missing = [c for c in (x, y, series, *(ci or ())) if c not in sweep.columns]
    if missing:
        raise KeyError(f"plot_receive_sweep: no column {', '.join(map(repr, missing))}")
    with plotting.style():
        fig, ax = plt.subplots(figsize=plotting.FIGSIZE, layout="constrained")
        _draw_sweep(ax, sweep, x=x, y=y, series=series, ci=ci, fix_series=fix_series,
                    highlight=None)
        ax.set_ylim(bottom=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  title=series_label)
    plt.close(fig)
    return fig


def plot_panel(result, sweep: pd.DataFrame, *, x: str, y: str, series: str,
               point: tuple[float, float], point_series=None, fix_series=None,
               xlabel: str, ylabel: str, series_label: str, title: str):
    """The lesson's panel: this run (left, as :func:`plot_over_pull`) and the lesson's
    sweep (right: ``y`` against ``x``, one curve per ``series`` value as in
    :func:`plot_receive_sweep`, the curve of ``point_series`` drawn thicker) with the run
    marked as "your point". Returns the Figure."""
    import matplotlib.pyplot as plt

    missing = [c for c in (x, y, series) if c not in sweep.columns]
    if missing:
        raise KeyError(f"plot_panel: no column {', '.join(map(repr, missing))} in sweep")
    with plotting.style():
        fig, axd = plt.subplot_mosaic([["messages", "sweep"], ["concurrency", "sweep"],
                                       ["dlq", "sweep"]],
                                      figsize=(plotting.WIDE_FIGSIZE[0] + 2.0,
                                               plotting.WIDE_FIGSIZE[1] + 2.2),
                                      layout="constrained", width_ratios=[1.0, 0.9])
        left = [axd["messages"], axd["concurrency"], axd["dlq"]]
        for ax in left[1:]:
            ax.sharex(left[0])
        _draw_levels(left, result, legend=True)
        for ax in left[:-1]:
            ax.tick_params(labelbottom=False)
        ax = axd["sweep"]
        _draw_sweep(ax, sweep, x=x, y=y, series=series, ci=None, fix_series=fix_series,
                    highlight=point_series)
        plotting.mark_point(ax, point[0], point[1])
        top = max(1.05 * float(np.nanmax(sweep[y].to_numpy(float), initial=0)), 1.1 * point[1], 1.0)
        ax.set_ylim(-0.03 * top, top)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title("Your point on the lesson's sweep", fontsize=plotting.STYLE["axes.labelsize"])
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), borderaxespad=0.0, ncols=2,
                  fontsize="small", title=series_label)
        fig.suptitle(title, fontsize=plotting.STYLE["axes.titlesize"],
                     fontweight=plotting.STYLE["axes.titleweight"])
    plt.close(fig)
    return fig
