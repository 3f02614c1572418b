"""Lesson 06 (downstream database limits): the cap sweep and its figures.

A burst of SQS messages meets a database with few connections. :func:`cap_sweep` runs the
lesson's scenario once per concurrency cap (the event source mapping's maximum
concurrency, or the function's reserved concurrency) and seed; the lesson summarises the
rows with :func:`simlib.sweep.summarize` and draws them with :func:`plot_cap_tradeoff`
(connection errors and the p99 latency of processed messages against the cap) and, in
its panel, :func:`plot_database_panel` (one run's connections and environments beside the
sweep, with the run marked as "your point"). Nothing here changes a result: the
functions run the engine and read its frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from simlib.core.scenario import Scenario
from simlib.engine import simulate
from simlib.lessons.plotting import (
    PALETTE,
    REFERENCE_STYLES,
    STYLE,
    WIDE_FIGSIZE,
    _detach,
    mark_point,
    style,
    time_axis,
)

__all__ = ["CAP_KINDS", "cap_sweep", "cap_x", "plot_cap_tradeoff", "plot_database_panel"]

# The two caps an SQS-triggered function has: scenario path -> how a figure names it.
CAP_KINDS = {
    "mapping.max_concurrency": "mapping maximum concurrency",
    "function.reserved_concurrency": "reserved concurrency",
}

# The sweep's panels: (column of the summarised sweep, y label, panel title).
_TRADEOFF_PANELS = (
    ("db_connection_errors", "connection errors (per run)", "Connection errors"),
    ("latency_p99_s", "latency of processed messages, p99 (s)", "Latency of processed messages, p99"),
)


def cap_sweep(base: Scenario, caps: Sequence[int], seeds: Sequence[int],
              kinds: Sequence[str] = tuple(CAP_KINDS)) -> pd.DataFrame:
    """One row per (cap kind, cap, seed): the run's summary with ``cap_kind`` (the label
    of :data:`CAP_KINDS`), ``cap`` and ``seed``.

    Every cap kind is run at every cap with every seed (common random numbers: the same
    seed gives the same arrivals and durations at every cap). Raises ScenarioError for a
    cap the scenario refuses (a maximum concurrency below 2, a reserved concurrency above
    the account's limit less 100) and KeyError for an unknown kind.
    """
    unknown = [k for k in kinds if k not in CAP_KINDS]
    if unknown:
        raise KeyError(f"not a cap: {', '.join(map(repr, unknown))}; known: {', '.join(CAP_KINDS)}")
    rows = []
    for kind in kinds:
        for cap in caps:
            scenario = base.with_changes({kind: cap})
            for seed in seeds:
                summary = simulate(scenario, seed=seed).summary
                rows.append({"cap_kind": CAP_KINDS[kind], "cap": cap, "seed": seed, **summary})
    return pd.DataFrame(rows)


def cap_x(cap, caps: Sequence[int]) -> float:
    """Where a cap sits on the figures' x axis: itself, or right of the sweep for no cap
    (``None``), where the axis reads "none"."""
    return float(cap) if cap is not None else _no_cap_x(caps)


def _no_cap_x(caps: Sequence[int]) -> float:
    top = max(caps)
    return float(top + max(5, round(0.2 * top)))


def _cap_axis(ax, caps: Sequence[int], none_tick: bool) -> None:
    """Ticks at the round caps, and "none" right of them when a run without a cap is shown."""
    ticks = [float(c) for c in caps if c % 10 == 0 or c == min(caps)]
    labels = [f"{t:g}" for t in ticks]
    if none_tick:
        ticks.append(_no_cap_x(caps))
        labels.append("none")
    ax.set_xticks(ticks, labels)
    ax.set_xlim(0, (_no_cap_x(caps) if none_tick else max(caps)) + 2)
    ax.set_xlabel("concurrency cap (environments)")


def _draw_sweep(ax, stats: pd.DataFrame, column: str, caps: Sequence[int], *,
                thin: bool = False, none_tick: bool = False) -> None:
    for i, (kind, part) in enumerate(stats.sort_values("cap").groupby("cap_kind", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        x, mean = part["cap"].to_numpy(dtype=float), part[f"{column}_mean"].to_numpy(dtype=float)
        ax.plot(x, mean, marker="o", color=colour, label=kind,
                linewidth=1.6 if thin else STYLE["lines.linewidth"], alpha=0.75 if thin else 1.0)
        half = part.get(f"{column}_ci95")
        if half is not None and not thin:
            half = np.nan_to_num(half.to_numpy(dtype=float))
            ax.fill_between(x, np.maximum(mean - half, 0), mean + half, color=colour, alpha=0.18,
                            linewidth=0)
    _cap_axis(ax, caps, none_tick)
    ax.set_ylim(bottom=0)


def plot_cap_tradeoff(stats: pd.DataFrame, *, max_connections: int,
                      proxy: Mapping[str, float] | None = None, proxy_label: str = "RDS Proxy, no cap",
                      title: str | None = None):
    """Connection errors (left) and the p99 latency of processed messages (right)
    against the concurrency cap, one curve per cap kind with its 95 % band.

    ``stats`` is :func:`simlib.sweep.summarize` of :func:`cap_sweep`'s rows by
    ``["cap_kind", "cap"]`` over ``db_connection_errors`` and ``latency_p99_s``. A dashed
    line marks ``max_connections`` on both panels; ``proxy`` (``{"db_connection_errors":
    ..., "latency_p99_s": ...}``) draws a dotted level for a proxy without any cap. One
    legend below the panels, outside the data. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    caps = sorted(int(c) for c in stats["cap"].unique())
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDE_FIGSIZE[0], WIDE_FIGSIZE[1] + 0.6),
                                 layout="constrained")
        for ax, (column, ylabel, panel_title) in zip(axes, _TRADEOFF_PANELS):
            _draw_sweep(ax, stats, column, caps)
            ax.axvline(max_connections, label=f"max_connections ({max_connections})", zorder=1.8,
                       **REFERENCE_STYLES[0])
            if proxy is not None:
                ax.axhline(proxy[column], label=proxy_label, zorder=1.8, **REFERENCE_STYLES[1])
            ax.set_ylabel(ylabel)
            ax.set_title(panel_title, fontsize=STYLE["axes.labelsize"])
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
        fig.suptitle(title if title is not None else "Errors and latency against the concurrency cap",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def plot_database_panel(result, stats: pd.DataFrame, *, cap, max_connections: int,
                        sweep_max_connections: int, title: str | None = None):
    """A panel's figure: this run's database connections (top left) and environments
    (bottom left) over time, and the lesson's sweep (right: connection errors above, p99
    latency below, against the cap) with this run marked as "your point" at ``cap``
    (``None`` for no cap). The run's ``max_connections`` is dashed on the connections
    panel, the sweep's (``sweep_max_connections``) on the sweep. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    frame = result.timeseries
    t = frame["t_s"].to_numpy(dtype=float)
    scale, time_label = time_axis(t)
    caps = sorted(int(c) for c in stats["cap"].unique())
    s = result.summary
    with style():
        fig, axd = plt.subplot_mosaic([["conn", "errors"], ["envs", "p99"]],
                                      figsize=(WIDE_FIGSIZE[0], WIDE_FIGSIZE[1] + 1.6),
                                      layout="constrained", width_ratios=[1.0, 1.0])
        conn, envs = axd["conn"], axd["envs"]
        conn.plot(t / scale, frame["db_connections"], drawstyle="steps-post", color=PALETTE[0],
                  label="open connections")
        conn.axhline(max_connections, label=f"max_connections ({max_connections})", zorder=1.8,
                     **REFERENCE_STYLES[0])
        top = max(float(frame["db_connections"].max()), max_connections, 1.0)
        conn.set_ylim(-0.02 * top, 1.1 * top)
        conn.set_ylabel("connections")
        conn.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        for i, (col, label) in enumerate((("environments", "live (busy + idle)"),
                                          ("concurrency", "busy"))):
            envs.plot(t / scale, frame[col], drawstyle="steps-post", color=PALETTE[i + 1],
                      label=label)
        envs.set_ylabel("environments")
        envs.set_ylim(bottom=0)
        envs.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        envs.sharex(conn)
        conn.tick_params(labelbottom=False)
        envs.set_xlabel(time_label)
        envs.set_xlim(0, t[-1] / scale if len(t) else 1.0)
        x = cap_x(cap, caps)
        for key, (column, ylabel, panel_title) in zip(("errors", "p99"), _TRADEOFF_PANELS):
            ax = axd[key]
            _draw_sweep(ax, stats, column, caps, thin=True, none_tick=True)
            ax.axvline(sweep_max_connections, zorder=1.8,
                       label=f"sweep's max_connections ({sweep_max_connections})",
                       **REFERENCE_STYLES[0])
            mark_point(ax, x, s[column])
            ax.set_ylim(-0.03 * max(ax.get_ylim()[1], s[column] * 1.1),
                        max(ax.get_ylim()[1], s[column] * 1.1))
            ax.set_ylabel(ylabel.replace("latency of processed messages, ", "latency, "))
            ax.set_title(panel_title, fontsize=STYLE["axes.labelsize"] - 1, loc="left")
        axd["errors"].tick_params(labelbottom=False)
        axd["errors"].set_xlabel("")
        axd["errors"].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                             fontsize=STYLE["legend.fontsize"] - 1)
        fig.suptitle(title if title is not None else "This run, and the lesson's sweep",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)
