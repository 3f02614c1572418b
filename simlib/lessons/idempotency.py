"""Lesson 07 (idempotency): its sweeps and figures.

An idempotency store turns a duplicate execution into no duplicate side effect only while
it still remembers the first one. :func:`expiry_sweep` runs the lesson's scenario without
a store and with a store at each record expiry and seed; the lesson summarises the rows
with :func:`simlib.sweep.summarize` and draws them with :func:`plot_expiry_sweep`
(duplicate executions and duplicate side effects per 1,000 messages against the expiry,
with the visibility timeout and maxReceiveCount × visibility timeout marked) and, in its
panel, :func:`plot_idempotency_panel` (one run's messages by executions and side effects
beside the sweep, the run marked as "your point"). :func:`batch_failure_sweep` and
:func:`plot_batch_failures` set the share of failed invocations against the closed form
1 - (1 - p)^n, and :func:`plot_per_message` compares runs message by message. Nothing here
changes a result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from simlib.core.scenario import Scenario
from simlib.engine import simulate
from simlib.lessons import kpis
from simlib.lessons.plotting import (
    FIGSIZE,
    PALETTE,
    REFERENCE_STYLES,
    STYLE,
    THEORY_STYLE,
    WIDE_FIGSIZE,
    _detach,
    _new_axes,
    duration_text,
    mark_point,
    style,
)

__all__ = ["PER_THOUSAND", "batch_failure_sweep", "expiry_sweep", "per_thousand",
           "plot_batch_failures", "plot_expiry_sweep", "plot_idempotency_panel",
           "plot_per_message"]

# summary key -> (column per 1,000 messages sent, how a figure names it)
PER_THOUSAND = {
    "duplicate_executions": ("duplicate_executions_per_1000", "duplicate executions"),
    "duplicate_side_effects": ("duplicate_side_effects_per_1000", "duplicate side effects"),
}
_YLABEL = "per 1,000 messages sent"


def per_thousand(summary: Mapping) -> dict[str, float]:
    """Duplicate executions and duplicate side effects per 1,000 messages sent."""
    sent = summary["messages_sent"]
    return {column: (1000.0 * summary[key] / sent if sent else float("nan"))
            for key, (column, _) in PER_THOUSAND.items()}


def expiry_sweep(scenario: Scenario, expiries_s: Sequence[float],
                 seeds: Sequence[int]) -> pd.DataFrame:
    """One row per (store setting, seed): the run's summary, ``store`` (bool),
    ``expiry_s`` (NaN without a store), ``seed`` and the columns of :func:`per_thousand`.

    The scenario runs once without an idempotency store and once with a store at each
    record expiry (``handler.idempotency_expiry_s``), with every seed; the same seed gives
    the same arrivals, durations and failure draws in every run (common random numbers).
    Raises ScenarioError for an expiry the scenario refuses (below 1 s).
    """
    settings = [(False, float("nan"))] + [(True, float(e)) for e in expiries_s]
    rows = []
    for store, expiry in settings:
        changes = {"handler.idempotency": store}
        if store:
            changes["handler.idempotency_expiry_s"] = expiry
        changed = scenario.with_changes(changes)
        for seed in seeds:
            summary = simulate(changed, seed=seed).summary
            rows.append({"store": store, "expiry_s": expiry, "seed": seed, **summary,
                         **per_thousand(summary)})
    return pd.DataFrame(rows)


def plot_expiry_sweep(stats: pd.DataFrame, *, visibility_timeout_s: float, max_receive_count: int,
                      no_store: float | None = None, point: tuple[float, float] | None = None,
                      point_label: str = "your point", title: str | None = None, ax=None):
    """Duplicate executions and duplicate side effects per 1,000 messages sent against
    the idempotency record's expiry (log scale), each with its 95 % band.

    ``stats`` is :func:`simlib.sweep.summarize` of the store rows of
    :func:`expiry_sweep` by ``expiry_s`` over the two ``*_per_1000`` columns. Dashed: the
    visibility timeout (no redelivery comes sooner); dotted: maxReceiveCount × the
    visibility timeout (about the longest a message keeps coming back). ``no_store`` draws
    the duplicate side effects without a store (dash-dot); ``point = (expiry, value)``
    marks a run with a star. The legend sits right of the axes. Returns the Figure.
    """
    frame = stats.sort_values("expiry_s")
    x = frame["expiry_s"].to_numpy(dtype=float)
    with style():
        fig, ax, owned = _new_axes(ax, (FIGSIZE[0] + 2.5, FIGSIZE[1]))
        for i, (column, label) in enumerate(PER_THOUSAND.values()):
            mean = frame[f"{column}_mean"].to_numpy(dtype=float)
            ax.plot(x, mean, marker="o", color=PALETTE[i], label=label)
            half = frame.get(f"{column}_ci95")
            if half is not None:
                half = np.nan_to_num(half.to_numpy(dtype=float))
                ax.fill_between(x, np.maximum(mean - half, 0), mean + half, color=PALETTE[i],
                                alpha=0.18, linewidth=0)
        window = max_receive_count * visibility_timeout_s
        ax.axvline(visibility_timeout_s, label=f"visibility timeout ({duration_text(visibility_timeout_s)})",
                   zorder=1.8, **REFERENCE_STYLES[0])
        ax.axvline(window, zorder=1.8, **REFERENCE_STYLES[1],
                   label=f"maxReceiveCount × visibility timeout ({duration_text(window)})")
        if no_store is not None:
            ax.axhline(no_store, label="duplicate side effects without a store", zorder=1.8,
                       **REFERENCE_STYLES[2])
        if point is not None:
            mark_point(ax, point[0], point[1], label=point_label)
        ax.set_xscale("log")
        ticks = [t for t in (10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
                 if x.min() <= t <= x.max()]
        ax.set_xticks(ticks, [duration_text(t) for t in ticks])
        ax.minorticks_off()
        ax.set_ylim(bottom=0)
        ax.set_xlabel("idempotency record expiry (log scale)")
        ax.set_ylabel(_YLABEL)
        ax.set_title(title if title is not None else "Duplicate side effects against the expiry")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _detach(fig, owned)


def plot_idempotency_panel(result, stats: pd.DataFrame, *, expiry_s: float, store: bool,
                           visibility_timeout_s: float, max_receive_count: int,
                           no_store: float | None = None, title: str | None = None):
    """A panel's figure: this run's messages by how many times they ran and how many side
    effects they had (left, 1, 2, 3, 4+), and the lesson's expiry sweep (right) with the
    run's duplicate side effects per 1,000 messages as "your point" at ``expiry_s`` (the
    star is hollow when the run has no store). Returns the Figure.
    """
    import matplotlib.pyplot as plt

    with style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(WIDE_FIGSIZE[0] + 2, WIDE_FIGSIZE[1]),
                                          layout="constrained", width_ratios=[0.7, 1.3])
        width = 0.38
        for i, (column, label) in enumerate((("executions", "times it ran"),
                                             ("side_effects", "times its side effect happened"))):
            counts = kpis.per_message_counts(result, column, cap=4).iloc[1:]
            xs = np.arange(len(counts))
            left.bar(xs + (i - 0.5) * width, counts.to_numpy(), width, color=PALETTE[i], label=label)
        left.set_xticks(xs, counts.index)
        left.grid(axis="x", visible=False)
        left.set_xlabel("times (per message)")
        left.set_ylabel("messages")
        left.set_title("This run's messages", fontsize=STYLE["axes.labelsize"])
        left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), borderaxespad=0.0)
        value = per_thousand(result.summary)[PER_THOUSAND["duplicate_side_effects"][0]]
        plot_expiry_sweep(stats, visibility_timeout_s=visibility_timeout_s,
                          max_receive_count=max_receive_count, no_store=no_store,
                          point=(expiry_s, value) if store else None, ax=right,
                          title="Your point on the lesson's sweep")
        if not store:  # no store: the run's duplicate side effects, at its expiry, hollow
            mark_point(right, expiry_s, value, label="your point (no store)",
                       markerfacecolor="white", markeredgecolor="black")
            right.set_ylim(0, max(right.get_ylim()[1], 1.1 * value))
            right.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        right.title.set_fontsize(STYLE["axes.labelsize"])
        fig.suptitle(title if title is not None else "This run, and the lesson's sweep",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def batch_failure_sweep(scenario: Scenario, batch_sizes: Sequence[int], seed: int) -> pd.DataFrame:
    """One row per batch size: the invocations that ran, how many failed (status
    ``error``), their share with a 95 % interval (``low``, ``high``, normal approximation
    of a binomial share), and ``theory``, the mean over those invocations of
    1 - (1 - p)^n, p the handler's failure rate and n each invocation's batch size: the
    probability that a batch holds at least one failing record.
    """
    p = scenario.handler.failure_rate
    rows = []
    for size in batch_sizes:
        inv = simulate(scenario.with_changes({"mapping.batch_size": size}), seed=seed).invocations
        ran = inv[inv["status"] != "throttled"]
        n = len(ran)
        failed = int((ran["status"] == "error").sum())
        share = failed / n if n else float("nan")
        half = 1.96 * np.sqrt(share * (1 - share) / n) if n else float("nan")
        rows.append({"batch_size": size, "invocations": n, "failed": failed, "failed_share": share,
                     "low": max(share - half, 0.0), "high": min(share + half, 1.0),
                     "theory": float((1 - (1 - p) ** ran["batch_size"]).mean()) if n else float("nan")})
    return pd.DataFrame(rows)


def plot_batch_failures(frame: pd.DataFrame, failure_rate: float, *, title: str | None = None):
    """The share of invocations that failed against the batch size (points with their
    95 % interval) beside the closed form 1 - (1 - p)^n (dashed). ``frame`` is
    :func:`batch_failure_sweep`'s. The legend sits right of the axes. Returns the Figure.
    """
    frame = frame.sort_values("batch_size")
    x = frame["batch_size"].to_numpy(dtype=float)
    with style():
        fig, ax, owned = _new_axes(None, (FIGSIZE[0] + 1.5, FIGSIZE[1]))
        xs = np.linspace(1.0, x.max(), 200)
        ax.plot(xs, 1 - (1 - failure_rate) ** xs, label=f"1 − (1 − p)ⁿ, p = {failure_rate:g}",
                **THEORY_STYLE)
        share = frame["failed_share"].to_numpy(dtype=float)
        ax.errorbar(x, share, yerr=[share - frame["low"].to_numpy(dtype=float),
                                    frame["high"].to_numpy(dtype=float) - share],
                    fmt="o", color=PALETTE[0], capsize=4, label="simulated (95 % interval)")
        ax.set_ylim(0, 1)
        ax.set_xlim(0, x.max() + 1)
        ax.set_xlabel("batch size (messages)")
        ax.set_ylabel("invocations that failed (fraction)")
        ax.set_title(title if title is not None else "A batch fails if any of its records fails")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _detach(fig, owned)


def plot_per_message(results: Mapping[str, object], title: str | None = None, cap: int = 4):
    """Messages by how many times they ran (left) and how many side effects they had
    (right), ``0`` ... ``cap+``, one bar per labelled run; the legend below the panels,
    outside the data. Returns the Figure (two axes).
    """
    import matplotlib.pyplot as plt

    runs = dict(results)
    width = 0.8 / len(runs)
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(FIGSIZE[0], FIGSIZE[1] + 0.5), layout="constrained",
                                 sharey=True)
        for ax, (column, what) in zip(axes, (("executions", "Executions"),
                                            ("side_effects", "Side effects"))):
            for i, (label, run) in enumerate(runs.items()):
                counts = kpis.per_message_counts(run, column, cap)
                xs = np.arange(len(counts))
                ax.bar(xs + (i - (len(runs) - 1) / 2) * width, counts.to_numpy(), width,
                       color=PALETTE[i % len(PALETTE)], label=label)
            ax.set_xticks(xs, counts.index)
            ax.grid(axis="x", visible=False)
            ax.set_xlabel(f"{what.lower()} per message (times)")
            ax.set_title(what, fontsize=STYLE["axes.labelsize"])
        axes[0].set_ylabel("messages")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
        fig.suptitle(title if title is not None else "Executions and side effects per message",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)
