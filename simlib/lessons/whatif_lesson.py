"""Lesson 10 (what-if from a template): its numbers per run, sweep rows, figures and panel.

Like :mod:`simlib.lessons.plotting`, this module only reads results and sweep frames; the
model is :func:`simlib.simulate`. It holds what lesson 10 needs beyond the shared
functions:

- the lesson's KPIs per run: extra charges as a share of the orders sent
  (:func:`extra_charges_pct`), and what the dead-letter queue holds (:func:`dlq_breakdown`:
  poison orders, valid orders already charged, valid orders never charged);
- :func:`sweep_row`, a ``run=`` function for :func:`simlib.sweep.sweep` that adds those
  KPIs to each row (top level, so it travels to worker processes);
- :func:`plot_curves`, a sweep figure with its legend outside the data, and
  :func:`plot_panel`, the panel's figure: the run's queue and environments over time
  beside the lesson's sweep, with the run marked as "your point";
- :func:`panel_table`, the panel's KPI table.

The linter's verdict on a run's settings comes from :mod:`simlib.whatif.lint` in the
notebook itself: this layer does not import ``simlib.whatif``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from simlib.engine import simulate
from simlib.lessons import plotting

__all__ = [
    "MESSAGE_COLUMNS",
    "dlq_breakdown",
    "extra_charges_pct",
    "panel_table",
    "plot_curves",
    "plot_panel",
    "sweep_row",
    "valid_dlq_pct",
    "with_band",
]

# The timeseries the lesson draws: messages on one panel, environments on the other.
MESSAGE_COLUMNS = ("queue_visible", "in_flight", "dlq_depth")
ENVIRONMENT_COLUMNS = ("concurrency",)

# The panel's KPI table: the summary's rows, then the lesson's own.
PANEL_KPIS = ("messages_sent", "messages_deleted", "messages_unfinished", "messages_dlq",
              "duplicate_executions", "duplicate_side_effects", "throttles", "timeouts",
              "max_concurrency", "latency_p50_s", "latency_p99_s", "cost_per_million_usd")


def extra_charges_pct(result) -> float:
    """Charges beyond each order's first (duplicate side effects), in % of the orders sent."""
    s = result.summary
    return 100.0 * s["duplicate_side_effects"] / s["messages_sent"] if s["messages_sent"] else 0.0


def dlq_breakdown(result) -> dict[str, int]:
    """What the dead-letter queue holds at the end of a run.

    ``poison``: orders that fail on every attempt (they belong there);
    ``valid_charged``: valid orders whose side effect had already happened (a customer
    paid, and the order is parked as failed); ``valid_not_charged``: valid orders that
    never succeeded (throttled or dragged along by a failing batch mate).
    """
    m = result.messages
    dlq = m[m["outcome"] == "dlq"]
    poison = dlq["poison"].to_numpy(dtype=bool)
    charged = dlq["side_effects"].to_numpy() > 0
    return {"poison": int(poison.sum()),
            "valid_charged": int((~poison & charged).sum()),
            "valid_not_charged": int((~poison & ~charged).sum())}


def valid_dlq_pct(result) -> float:
    """Valid (not poison) orders moved to the DLQ, in % of the orders sent."""
    d = dlq_breakdown(result)
    sent = result.summary["messages_sent"]
    return 100.0 * (d["valid_charged"] + d["valid_not_charged"]) / sent if sent else 0.0


def sweep_row(base, changes: dict, seed: int) -> dict:
    """One sweep run as a row, for ``simlib.sweep.sweep(..., run=sweep_row)``: the swept
    values, the seed, the summary, and the lesson's KPIs (``extra_charges_pct``,
    ``valid_dlq``, ``valid_dlq_pct``)."""
    result = simulate(base.with_changes(changes), seed=seed)
    d = dlq_breakdown(result)
    return {**changes, "seed": seed, **result.summary,
            "extra_charges_pct": extra_charges_pct(result),
            "valid_dlq": d["valid_charged"] + d["valid_not_charged"],
            "valid_dlq_pct": valid_dlq_pct(result)}


def with_band(stats: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """``stats`` (from :func:`simlib.sweep.summarize`) with ``low`` and ``high``: the mean
    of ``kpi`` minus and plus its 95 % half-width, never below zero."""
    out = stats.copy()
    half = out[f"{kpi}_ci95"].fillna(0.0)
    out["low"] = (out[f"{kpi}_mean"] - half).clip(lower=0.0)
    out["high"] = out[f"{kpi}_mean"] + half
    return out


def _outside_legend(ax, title: str | None) -> None:
    """The axes' legend to the right of the data (call inside ``plotting.style()``)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, title=title)


def _sweep_on(ax, stats: pd.DataFrame, x: str, y: str, *, series: str,
              vlines: Mapping[str, float] | None, xlabel: str, ylabel: str, title: str,
              series_label: str | None, band: bool, logx: bool) -> None:
    plotting.plot_sweep(stats, x, y, series=series, ci=("low", "high") if band else None,
                        ax=ax, vlines=vlines, xlabel=xlabel, ylabel=ylabel, title=title,
                        ylim=(0, None), logx=logx)
    _outside_legend(ax, series_label)


def plot_curves(stats: pd.DataFrame, x: str, y: str, *, series: str, xlabel: str,
                ylabel: str, title: str, series_label: str | None = None,
                vlines: Mapping[str, float] | None = None, band: bool = True,
                logx: bool = False, xticks: Sequence[float] | None = None):
    """A sweep's KPI ``y`` against ``x``, one curve per value of ``series`` with its 95 %
    band (columns ``low`` / ``high``, see :func:`with_band`) and labelled reference lines
    at x values (``vlines``); the legend sits right of the data, titled ``series_label``.
    The y axis starts at zero. Returns the Figure."""
    import matplotlib.pyplot as plt

    with plotting.style():
        fig, ax = plt.subplots(figsize=(plotting.FIGSIZE[0] + 2.5, plotting.FIGSIZE[1]),
                               layout="constrained")
        _sweep_on(ax, stats, x, y, series=series, vlines=vlines, xlabel=xlabel,
                  ylabel=ylabel, title=title, series_label=series_label, band=band,
                  logx=logx)
        if xticks is not None:
            ax.set_xticks(list(xticks), [f"{v:g}" for v in xticks])
            ax.minorticks_off()
    plt.close(fig)
    return fig


def plot_panel(result, stats: pd.DataFrame, *, x: str, y: str, series: str,
               point: tuple[float, float], xlabel: str, ylabel: str, title: str,
               sweep_title: str, series_label: str | None = None,
               vlines: Mapping[str, float] | None = None):
    """The panel's figure: on the left the run's messages (visible, in flight, in the
    DLQ) above its busy environments, sharing the time axis; on the right the lesson's
    sweep (``y`` against ``x``, one curve per ``series``, 95 % bands) with the run marked
    as "your point" at ``point = (x, y)`` and reference lines at x values (``vlines``,
    e.g. the run's capacity). Returns the Figure."""
    import matplotlib.pyplot as plt

    with plotting.style():
        fig, axd = plt.subplot_mosaic([["messages", "sweep"], ["environments", "sweep"]],
                                      figsize=(15.5, 6.6), layout="constrained",
                                      width_ratios=[1.0, 1.0])
    plotting.plot_timeseries(result, MESSAGE_COLUMNS, ax=axd["messages"], title="")
    plotting.plot_timeseries(result, ENVIRONMENT_COLUMNS, ax=axd["environments"], title="")
    with plotting.style():
        # The lessons' palette, in column order across both panels (the colours the shared
        # figure means), and one "arrivals stop" entry, on the top panel.
        order = 0
        for ax in (axd["messages"], axd["environments"]):
            for line in ax.get_lines():
                if line.get_label() == "arrivals stop":
                    if ax is axd["environments"]:
                        line.set_label("_arrivals stop")
                    continue
                line.set_color(plotting.PALETTE[order % len(plotting.PALETTE)])
                order += 1
            _outside_legend(ax, None)
        lower = axd["environments"]
        lower.sharex(axd["messages"])
        axd["messages"].set_xlabel("")
        axd["messages"].tick_params(labelbottom=False)
        ax = axd["sweep"]
        _sweep_on(ax, stats, x, y, series=series, vlines=vlines, xlabel=xlabel,
                  ylabel=ylabel, title=sweep_title, series_label=series_label, band=True,
                  logx=False)
        ax.set_title(sweep_title, fontsize=plotting.STYLE["axes.labelsize"])
        ax.plot([point[0]], [point[1]], marker="*", markersize=22, color="black",
                linestyle="none", label="your point", zorder=5)
        top = max(float(np.nanmax(stats["high"].to_numpy(), initial=0.0)), float(point[1]))
        ax.set_ylim(-0.03 * max(top, 0.1), 1.08 * max(top, 0.1))
        # the sweep, your point and your reference lines all in view
        xs = [float(stats[x].min()), float(stats[x].max()), float(point[0]),
              *(float(v) for v in (vlines or {}).values())]
        span = max(xs) - min(xs) or 1.0
        ax.set_xlim(min(xs) - 0.05 * span, max(xs) + 0.05 * span)
        _outside_legend(ax, series_label)
        fig.suptitle(title, fontsize=plotting.STYLE["axes.titlesize"],
                     fontweight=plotting.STYLE["axes.titleweight"])
    plt.close(fig)
    return fig


def panel_table(result) -> pd.DataFrame:
    """The panel's KPI table: the summary's rows, then the lesson's own (extra charges in
    % of the orders sent, and what the DLQ holds)."""
    table = plotting.kpi_table(result, PANEL_KPIS)
    d = dlq_breakdown(result)
    extra = pd.DataFrame(
        {"value": [f"{extra_charges_pct(result):.2f} %", f"{d['poison']:,}",
                   f"{d['valid_charged']:,}", f"{d['valid_not_charged']:,}"]},
        index=pd.Index(["Extra charges (% of orders sent)", "  DLQ: poison orders",
                        "  DLQ: valid orders, already charged",
                        "  DLQ: valid orders, never charged"], name="KPI"))
    return pd.concat([table, extra])

