"""Lesson 03 (SQS batches and partial failures): closed forms, sweep columns and figures.

What a failing record costs depends on how the event source mapping treats a failed
invocation. The model's handler (``simlib/aws/invocation.py``) runs a batch's records in
turn. Without ReportBatchItemFailures it raises at the first failing record: the records
before it ran, the ones after it did not, and the whole batch returns to the queue. With
it every record runs and only the failed ones return. Each execution of a record fails
independently with probability ``p`` (``handler.failure_rate``), so for batches of
exactly ``n`` records:

- whole-batch failure: a batch attempt succeeds with probability ``q = (1 - p)^n``, runs
  ``(1 - q) / p`` records on average (the records up to the first failure), and deletes
  ``n`` records when it succeeds: ``(1 - q) / (n p q)`` executions per processed message;
- partial batch responses: ``1 / (1 - p)`` executions per processed message.

A message is received at most ``maxReceiveCount`` (``M``) times; each receive is a fresh
chance to fail, so the share of messages moved to the DLQ is ``(1 - q)^M`` (whole batch)
or ``p^M`` (partial). The executions per processed message do not depend on ``M``: a
message that reaches the DLQ cost its executions but is not processed, and the two
effects cancel exactly (expected receives ``(1 - (1 - q)^M) / q`` over the processed
share ``1 - (1 - q)^M``).

Nothing here changes a result: the closed forms are plain arithmetic, the sweep columns
read a sweep's rows, and the figures read a summarized sweep or one Result.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd

from simlib.lessons import plotting

__all__ = [
    "FAILURE_HANDLING",
    "PANEL_KPIS",
    "SWEEP_KPIS",
    "add_sweep_columns",
    "batch_succeeds",
    "closed_form_check",
    "curve",
    "dlq_share",
    "executions_per_processed",
    "handler_runs_every_record",
    "panel_table",
    "plot_batch_size_sweep",
    "plot_panel",
    "plot_retry_storm",
    "t99",
]

# mapping.report_batch_item_failures -> how a lesson's figures and tables name it
FAILURE_HANDLING = {False: "whole batch returns (AWS default)", True: "ReportBatchItemFailures"}

# Columns add_sweep_columns derives from a sweep's rows, for summarize().
SWEEP_KPIS = ("cost_per_million_usd", "latency_p50_s", "executions_per_processed",
              "duplicates_per_thousand", "dlq_per_thousand", "dlq_share",
              "invocations_per_processed")

# The panel's table: what one run of the lesson's pipeline shows.
PANEL_KPIS = ("messages_sent", "messages_deleted", "messages_dlq", "invocations",
              "executions", "duplicate_executions", "latency_p50_s", "latency_p99_s",
              "cost_per_million_usd")

_AXIS = {
    "cost_per_million_usd": "cost per million\nprocessed messages (USD)",
    "latency_p50_s": "latency of processed\nmessages, p50 (s)",
    "duplicates_per_thousand": "good messages run again\n(per 1,000 sent)",
    "dlq_per_thousand": "moved to the DLQ\n(per 1,000 sent)",
    "executions_per_processed": "record executions per\nprocessed message",
    "dlq_share": "moved to the DLQ\n(fraction of sent)",
}


# -- closed forms -------------------------------------------------------------------------


def _rate(p) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr >= 1):
        raise ValueError(f"failure rate p = {p!r} is not allowed: 0 <= p < 1")
    return arr


def _count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} = {value!r} is not allowed: an integer >= {minimum}")
    return int(value)


def batch_succeeds(p, n: int):
    """Probability that a batch of ``n`` records has no failing record: ``(1 - p)^n``.

    Raises ValueError for ``p`` outside [0, 1) or ``n`` not an integer >= 1.
    """
    return (1.0 - _rate(p)) ** _count("batch size n", n)


def executions_per_processed(p, n: int, partial: bool):
    """Expected record executions per processed (deleted) message, for batches of exactly
    ``n`` records whose executions fail independently with probability ``p``.

    ``partial`` (ReportBatchItemFailures): ``1 / (1 - p)``. Otherwise the handler stops at
    the first failing record and the whole batch returns: ``(1 - q) / (n p q)`` with
    ``q = (1 - p)^n`` (``1`` at ``p = 0``). Independent of maxReceiveCount (see the module
    docstring). Raises ValueError as :func:`batch_succeeds`.
    """
    p = _rate(p)
    n = _count("batch size n", n)
    if partial:
        return 1.0 / (1.0 - p)
    q = (1.0 - p) ** n
    # records run per batch attempt: sum over k < n of (1 - p)^k, which is n at p = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        per_attempt = np.where(p > 0, (1.0 - q) / np.where(p > 0, p, 1.0), float(n))
    out = per_attempt / (n * q)
    return float(out) if out.ndim == 0 else out


def handler_runs_every_record(p, n: int):
    """Executions per processed message if a failing handler still ran every record of
    the batch before failing it: ``1 / (1 - p)^n``, an upper bound on
    :func:`executions_per_processed` with whole-batch failure (same arguments)."""
    return 1.0 / batch_succeeds(p, n)


def dlq_share(p, n: int, max_receive_count: int, partial: bool):
    """Expected share of sent messages moved to the DLQ after ``max_receive_count``
    failed receives: ``p^M`` with partial batch responses, ``(1 - (1 - p)^n)^M`` without
    (batches of exactly ``n``). Raises ValueError as :func:`batch_succeeds`, or for
    ``max_receive_count`` not an integer >= 1."""
    m = _count("max_receive_count", max_receive_count)
    fails = _rate(p) if partial else 1.0 - batch_succeeds(p, n)
    return fails ** m


# -- a sweep's rows -----------------------------------------------------------------------


def add_sweep_columns(runs: pd.DataFrame) -> pd.DataFrame:
    """A copy of a sweep's rows (:func:`simlib.sweep.sweep`) with the lesson's ratios:
    ``failure_handling`` (from ``mapping.report_batch_item_failures``),
    ``executions_per_processed`` and ``invocations_per_processed`` (per message deleted),
    ``duplicates_per_thousand`` and ``dlq_per_thousand`` (per 1,000 messages sent) and
    ``dlq_share`` (fraction of sent). Raises KeyError if the sweep did not vary
    ``mapping.report_batch_item_failures``."""
    flag = "mapping.report_batch_item_failures"
    if flag not in runs.columns:
        raise KeyError(f"add_sweep_columns: the sweep must vary {flag!r}")
    out = runs.copy()
    out["failure_handling"] = out[flag].map(FAILURE_HANDLING)
    deleted = out["messages_deleted"].where(out["messages_deleted"] > 0)
    out["executions_per_processed"] = out["executions"] / deleted
    out["invocations_per_processed"] = out["invocations"] / deleted
    out["duplicates_per_thousand"] = 1000.0 * out["duplicate_executions"] / out["messages_sent"]
    out["dlq_per_thousand"] = 1000.0 * out["messages_dlq"] / out["messages_sent"]
    out["dlq_share"] = out["messages_dlq"] / out["messages_sent"]
    return out


def curve(stats: pd.DataFrame, x: str, kpi: str, handling: str) -> pd.Series:
    """One failure handling's mean ``kpi`` against ``x`` from a summarized sweep, sorted
    by ``x`` (a Series indexed by ``x``). Raises KeyError for an unknown column or
    handling."""
    _check_columns(stats, [x, "failure_handling", f"{kpi}_mean"], "curve")
    part = stats[stats["failure_handling"] == handling]
    if part.empty:
        raise KeyError(f"curve: no failure handling {handling!r}; known: "
                       f"{', '.join(map(repr, stats['failure_handling'].unique()))}")
    return part.set_index(x)[f"{kpi}_mean"].sort_index()


# two-sided 99 % Student-t quantiles by degrees of freedom (1..30); normal beyond
_T99 = (
    63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169,
    3.106, 3.055, 3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845,
    2.831, 2.819, 2.807, 2.797, 2.787, 2.779, 2.771, 2.763, 2.756, 2.750,
)


def t99(dof: int) -> float:
    """Two-sided 99 % Student-t quantile for ``dof`` >= 1 degrees of freedom."""
    dof = _count("degrees of freedom", dof)
    return _T99[dof - 1] if dof <= len(_T99) else 2.576


def closed_form_check(runs: pd.DataFrame, *, batch_size: int, max_receive_count: int,
                      x: str = "handler.failure_rate") -> pd.DataFrame:
    """The simulated executions per processed message and DLQ share of a failure-rate
    sweep (rows of :func:`add_sweep_columns`, several seeds per point) against their
    closed forms.

    One row per (failure rate, failure handling, KPI): ``simulated`` (mean over the
    seeds), ``half_99`` (half-width of its 99 % Student-t interval), ``closed_form``,
    ``tolerance`` and ``agrees`` (``|simulated - closed_form| <= half_99 + tolerance``).
    The tolerance is one message in the smallest run for the DLQ share (a share expected
    at 0.0002 can only be observed as 0 or as one message in 2,400), else 0. Raises
    KeyError without the columns, ValueError with fewer than two seeds per point.
    """
    kpis = {"executions_per_processed": lambda p, partial: executions_per_processed(
                p, batch_size, partial),
            "dlq_share": lambda p, partial: dlq_share(p, batch_size, max_receive_count, partial)}
    _check_columns(runs, [x, "failure_handling", "messages_sent", *kpis], "closed_form_check")
    rows = []
    for (p, handling), group in runs.groupby([x, "failure_handling"], sort=True):
        n = len(group)
        if n < 2:
            raise ValueError(f"closed_form_check: {n} seed at {x} = {p}: an interval needs >= 2")
        partial = handling == FAILURE_HANDLING[True]
        for kpi, closed in kpis.items():
            values = group[kpi].to_numpy(float)
            half = t99(n - 1) * values.std(ddof=1) / math.sqrt(n)
            tolerance = 1.0 / group["messages_sent"].min() if kpi == "dlq_share" else 0.0
            expected = float(closed(float(p), partial))
            rows.append({x: p, "failure_handling": handling, "kpi": kpi,
                         "simulated": values.mean(), "half_99": half,
                         "closed_form": expected, "tolerance": tolerance,
                         "agrees": abs(values.mean() - expected) <= half + tolerance + 1e-12})
    return pd.DataFrame(rows)


# -- figures ------------------------------------------------------------------------------


def _colour(handling: str) -> str:
    return plotting.PALETTE[list(FAILURE_HANDLING.values()).index(handling)]


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], who: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{who}: no column {', '.join(map(repr, missing))} in the frame "
                       "(summarize the sweep's rows after add_sweep_columns)")


def _draw_series(ax, part: pd.DataFrame, x: str, kpi: str, colour: str, label: str,
                 points: bool = False) -> None:
    """Means with their 95 % band, or (``points``) markers with 95 % error bars, so a
    dashed closed form stays visible between them."""
    mean, half = part[f"{kpi}_mean"].to_numpy(float), part[f"{kpi}_ci95"].to_numpy(float)
    if points:
        ax.errorbar(part[x], mean, yerr=np.nan_to_num(half), marker="o", linestyle="none",
                    color=colour, label=label, capsize=4, zorder=3)
        return
    ax.plot(part[x], mean, marker="o", color=colour, label=label, zorder=3)
    if np.isfinite(half).any():
        half = np.nan_to_num(half)
        ax.fill_between(part[x], np.maximum(mean - half, 0), mean + half, color=colour,
                        alpha=0.2, linewidth=0)


def _seeds_text(stats: pd.DataFrame) -> str:
    """"mean of 10 seeds" from a summarized sweep's ``n`` column (if it has one)."""
    if "n" not in stats.columns:
        return "mean over the seeds"
    n = int(stats["n"].max())
    return f"mean of {n} seed{'s' if n != 1 else ''}"


def _legend_below(fig, axes, extra=(), title: str | None = None) -> None:
    plotting.figure_legend(fig, axes, ncols=2, extra=extra, title=title, title_fontsize=12)


def _finish(fig):
    import matplotlib.pyplot as plt

    plt.close(fig)  # shown once, when it is a cell's value or passed to display
    return fig


def plot_batch_size_sweep(stats: pd.DataFrame, *, x: str = "mapping.batch_size",
                          kpis: Sequence[str] = ("cost_per_million_usd", "latency_p50_s",
                                                 "duplicates_per_thousand",
                                                 "dlq_per_thousand"),
                          title: str | None = None):
    """Stacked panels sharing the batch-size axis (log scale), one KPI and one unit per
    panel, one curve per failure handling with its 95 % band.

    ``stats`` is :func:`simlib.sweep.summarize` of :func:`add_sweep_columns` rows by
    ``[x, "failure_handling"]``. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    kpis = list(kpis)
    _check_columns(stats, [x, "failure_handling", *(f"{k}_mean" for k in kpis),
                           *(f"{k}_ci95" for k in kpis)], "plot_batch_size_sweep")
    sizes = sorted(stats[x].unique())
    with plotting.style():
        fig, axes = plt.subplots(len(kpis), 1, sharex=True, layout="constrained",
                                 figsize=(10.0, 2.45 * len(kpis) + 1.3))
        axes = np.atleast_1d(axes)
        for handling, part in stats.sort_values(x).groupby("failure_handling", sort=False):
            for ax, kpi in zip(axes, kpis):
                _draw_series(ax, part, x, kpi, _colour(handling), handling)
        for ax, kpi in zip(axes, kpis):
            ax.set_ylabel(_AXIS.get(kpi, plotting.label_for(kpi)), fontsize=12)
            ax.set_ylim(bottom=0)
        last = axes[-1]
        last.set_xscale("log")
        last.set_xticks(sizes, [f"{s:g}" for s in sizes])
        last.minorticks_off()
        last.set_xlabel(plotting.label_for(x))
        _legend_below(fig, axes, title=f"{_seeds_text(stats)}; band: 95 % interval")
        fig.suptitle(title or "Bigger batches cost less per message, until a failure sends\n"
                     "the whole batch back; then cost, re-runs and the DLQ grow",
                     fontsize=plotting.STYLE["axes.titlesize"],
                     fontweight=plotting.STYLE["axes.titleweight"])
    return _finish(fig)


FAILURE_RATE_LABEL = "failure rate p (fraction of record executions that fail)"


def plot_retry_storm(stats: pd.DataFrame, *, batch_size: int, max_receive_count: int,
                     x: str = "handler.failure_rate", title: str | None = None):
    """The retry storm in three stacked panels against the failure rate, one curve per
    failure handling (simulated means with their 95 % bands) and dashed closed forms:
    record executions per processed message (:func:`executions_per_processed`), the share
    moved to the DLQ (:func:`dlq_share`), and the cost per million processed messages,
    whose dashed line is the 0 % cost times the executions' closed form (an
    approximation: compute, paid per execution, is most of the bill).

    ``stats`` is :func:`simlib.sweep.summarize` of :func:`add_sweep_columns` rows by
    ``[x, "failure_handling"]`` and must hold ``x = 0``. Returns the Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    kpis = ["executions_per_processed", "dlq_share", "cost_per_million_usd"]
    _check_columns(stats, [x, "failure_handling", *(f"{k}_mean" for k in kpis),
                           *(f"{k}_ci95" for k in kpis)], "plot_retry_storm")
    if not (stats[x] == 0).any():
        raise ValueError("plot_retry_storm: the sweep needs the failure rate 0 (the cost "
                         "line starts from it)")
    ps = np.linspace(0.0, float(stats[x].max()), 200)
    with plotting.style():
        fig, axes = plt.subplots(3, 1, sharex=True, layout="constrained", figsize=(10.0, 9.8))
        for handling, part in stats.sort_values(x).groupby("failure_handling", sort=False):
            colour = _colour(handling)
            partial = handling == FAILURE_HANDLING[True]
            for ax, kpi in zip(axes, kpis):
                _draw_series(ax, part, x, kpi, colour, handling, points=True)
            executions = executions_per_processed(ps, batch_size, partial)
            cost_at_zero = float(part.loc[part[x] == 0, "cost_per_million_usd_mean"].iloc[0])
            theory = (executions, dlq_share(ps, batch_size, max_receive_count, partial),
                      cost_at_zero * executions)
            for ax, ys in zip(axes, theory):
                ax.plot(ps, ys, color=colour, linestyle="--", linewidth=1.6, zorder=2)
        for ax, kpi in zip(axes, kpis):
            ax.set_ylabel(_AXIS[kpi], fontsize=12)
            ax.set_ylim(bottom=0)
        notes = (f"dashed: (1 − q) / (n p q), q = (1 − p)ⁿ, n = {batch_size}; or 1 / (1 − p)",
                 f"dashed: (1 − q)ᴹ and pᴹ, maxReceiveCount M = {max_receive_count}",
                 "dashed: the cost at p = 0 × the executions' closed form (an approximation)")
        for ax, note in zip(axes, notes):
            ax.set_title(note, loc="left", fontsize=12, fontweight="normal")
        axes[-1].set_xlabel(FAILURE_RATE_LABEL)
        theory_key = Line2D([], [], color="0.2", linestyle="--", linewidth=1.6)
        _legend_below(fig, axes, extra=[(theory_key, "closed form")],
                      title=f"simulated: {_seeds_text(stats)}, bars: 95 % interval")
        fig.suptitle(title or "Retry storm: whole-batch failure multiplies the executions,\n"
                     "the DLQ and the cost per processed message",
                     fontsize=plotting.STYLE["axes.titlesize"],
                     fontweight=plotting.STYLE["axes.titleweight"])
    return _finish(fig)


def plot_panel(result, stats: pd.DataFrame, *, batch_size: int, failure_rate: float,
               partial: bool, max_receive_count: int, sweep_batch_size: int,
               x: str = "handler.failure_rate"):
    """The lesson panel's figure. Left: the run's messages in flight, visible and in the
    DLQ over time. Right: the closed forms for this batch size and maxReceiveCount
    (executions per processed message above, share moved to the DLQ below) for both
    failure handlings, the lesson's simulated sweep (at ``sweep_batch_size``) as faint
    points, and this run as a black star ("your point"). Returns the Figure."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    _check_columns(stats, [x, "failure_handling", "executions_per_processed_mean",
                           "dlq_share_mean"], "plot_panel")
    summary = result.summary
    deleted = summary["messages_deleted"]
    executions = summary["executions"] / deleted if deleted else math.nan
    dlq = summary["messages_dlq"] / summary["messages_sent"]
    top = max(float(stats[x].max()), failure_rate)
    ps = np.linspace(0.0, top, 200)
    frame = result.timeseries
    t = frame["t_s"].to_numpy(float)
    with plotting.style():
        fig, axd = plt.subplot_mosaic([["levels", "executions"], ["levels", "dlq"]],
                                      figsize=(15.0, 7.2), layout="constrained",
                                      width_ratios=[1.0, 1.0])
        ax = axd["levels"]
        for i, col in enumerate(("in_flight", "queue_visible", "dlq_depth")):
            ax.plot(t, frame[col].to_numpy(), drawstyle="steps-post",
                    color=plotting.PALETTE[(2, 4, 5)[i]], label=plotting.SERIES_LABELS[col][0])
        ax.axvline(result.scenario.workload.duration_s, color="0.35", linestyle=":",
                   linewidth=1.6, label="arrivals stop")
        ax.set_xlim(0, float(t.max()) if len(t) else 1.0)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("time since start (s)")
        ax.set_ylabel("messages")
        ax.set_title("This run's queue", fontsize=plotting.STYLE["axes.labelsize"])
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2)
        panels = (("executions", "executions_per_processed", executions,
                   lambda ps, partial: executions_per_processed(ps, batch_size, partial)),
                  ("dlq", "dlq_share", dlq,
                   lambda ps, partial: dlq_share(ps, batch_size, max_receive_count, partial)))
        for name, kpi, y, closed in panels:
            ax = axd[name]
            for handling, part in stats.sort_values(x).groupby("failure_handling", sort=False):
                colour = _colour(handling)
                flag = handling == FAILURE_HANDLING[True]
                ax.plot(ps, closed(ps, flag), color=colour, linestyle="--",
                        linewidth=3.0 if flag == bool(partial) else 1.4)
                ax.plot(part[x], part[f"{kpi}_mean"], marker="o", linestyle="none",
                        color=colour, alpha=0.45)
            if math.isfinite(y):
                plotting.mark_point(ax, failure_rate, y, label=None)
            else:
                ax.text(0.03, 0.9, "your point: no message processed", transform=ax.transAxes,
                        fontsize=12)
            ax.set_ylim(bottom=0)
            ax.set_ylabel(_AXIS[kpi], fontsize=12)
            ax.xaxis.set_major_locator(MaxNLocator(6))
        axd["executions"].tick_params(labelbottom=False)
        axd["dlq"].sharex(axd["executions"])
        axd["dlq"].set_xlabel(FAILURE_RATE_LABEL, fontsize=12)
        keys = [Line2D([], [], color=_colour(h), linewidth=3) for h in FAILURE_HANDLING.values()]
        keys += [Line2D([], [], color="0.2", linestyle="--", linewidth=1.6),
                 Line2D([], [], color="0.5", marker="o", linestyle="none", alpha=0.6),
                 Line2D([], [], color="black", marker="*", markersize=16, linestyle="none")]
        labels = [*FAILURE_HANDLING.values(), f"closed form, batch {batch_size} (full batches)",
                  f"simulated, batch {sweep_batch_size} (Part 2)", "your point (this run)"]
        axd["dlq"].legend(keys, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                          ncols=2, fontsize=11)
        found = (f"{executions:.2f} executions per processed message"
                 if math.isfinite(executions) else "nothing processed")
        fig.suptitle(f"Batch {batch_size}, p = {failure_rate:.0%}, "
                     f"{'ReportBatchItemFailures' if partial else 'whole batch returns'}, "
                     f"maxReceiveCount {max_receive_count}: {found}, {dlq:.1%} to the DLQ",
                     fontsize=plotting.STYLE["axes.titlesize"] - 1,
                     fontweight=plotting.STYLE["axes.titleweight"])
    return _finish(fig)


def panel_table(result, keys: Sequence[str] = PANEL_KPIS) -> pd.DataFrame:
    """The panel's KPI table (:func:`simlib.plotting.kpi_table`) for one run."""
    return plotting.kpi_table(result, list(keys))
