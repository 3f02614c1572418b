"""Lesson 04's sweep and panel figure: the visibility timeout against throttling.

AWS asks for an SQS visibility timeout of at least six times the function timeout
because a throttled batch waits on its poller, which retries the invoke while the
messages' visibility clock runs (https://docs.aws.amazon.com/lambda/latest/dg/
services-sqs-configure.html, services-sqs-errorhandling.html). This module runs the
lesson's sweep of that ratio (:func:`ratio_sweep`), counts the valid messages a run
moved to the dead-letter queue (:func:`lost_messages`), and draws the lesson's panel
(:func:`plot_throttle_panel`): the run over time, one panel per unit, beside the sweep
with the run marked as "your point". There is no model logic here: everything is read
from a :class:`~simlib.core.results.Result`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from simlib.core.scenario import Scenario
from simlib.engine import simulate
from simlib.lessons.plotting import (
    PALETTE,
    REFERENCE_STYLES,
    SERIES_LABELS,
    STYLE,
    WIDE_FIGSIZE,
    label_for,
    style,
    time_axis,
)

__all__ = ["LOST_COLUMNS", "lost_messages", "plot_throttle_panel", "ratio_sweep"]

# The lesson's measures of a run, beyond the summary.
LOST_COLUMNS = ("dlq_valid", "dlq_never_ran", "dlq_valid_share")


def lost_messages(result) -> dict:
    """Valid (not poison) messages a run moved to the DLQ, how many of them never ran,
    and their share of the messages sent: ``dlq_valid``, ``dlq_never_ran``,
    ``dlq_valid_share``."""
    m = result.messages
    valid = (m["outcome"] == "dlq") & ~m["poison"].astype(bool)
    never_ran = valid & (m["executions"] == 0)
    sent = len(m)
    return {"dlq_valid": int(valid.sum()), "dlq_never_ran": int(never_ran.sum()),
            "dlq_valid_share": float(valid.sum()) / sent if sent else 0.0}


def ratio_sweep(base: Scenario, ratios: Sequence[float], reserved: Sequence[int], *,
                replications: int = 3, seed: int = 1) -> pd.DataFrame:
    """Run ``base`` with the visibility timeout at each of ``ratios`` x its function
    timeout, for each reserved concurrency in ``reserved``, with seeds ``seed`` ...
    ``seed + replications - 1`` (the same seeds at every point: paired comparisons).

    Returns one row per run: ``ratio``, ``reserved_concurrency``,
    ``queue.visibility_timeout_s``, ``seed``, the summary and :data:`LOST_COLUMNS`
    (``simlib.sweep.summarize`` turns it into means and confidence intervals per point).
    Every point is checked before anything runs: ScenarioError for a ratio whose
    visibility timeout is below the function timeout (AWS rejects that) or out of range.
    """
    timeout_s = base.function.timeout_s
    points = [(float(r), int(rc), base.with_changes({
        "queue.visibility_timeout_s": float(r) * timeout_s,
        "function.reserved_concurrency": int(rc)})) for r in ratios for rc in reserved]
    rows = []
    for ratio, rc, scenario in points:
        for s in range(seed, seed + replications):
            result = simulate(scenario, seed=s)
            rows.append({"ratio": ratio, "reserved_concurrency": rc,
                         "queue.visibility_timeout_s": scenario.queue.visibility_timeout_s,
                         "seed": s, **result.summary, **lost_messages(result)})
    return pd.DataFrame(rows)


# -- the panel's figure -------------------------------------------------------------------

_LEFT = (  # (columns, unit): one panel per unit, top to bottom
    (("queue_visible", "in_flight", "dlq_depth"), "messages"),
    (("concurrency",), "environments"),
    (("throttles",), "invoke attempts"),
)
THROTTLE_BIN_S = 10.0  # throttled attempts are summed over bins this long (s), to be readable


def _throttles_binned(ts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(bin starts, throttled attempts per bin): the per-step counts summed in
    THROTTLE_BIN_S bins (or per step, if the step is longer)."""
    t = ts["t_s"].to_numpy(dtype=float)
    counts = ts["throttles"].to_numpy(dtype=float)
    step = float(np.median(np.diff(t))) if len(t) > 1 else THROTTLE_BIN_S
    width = max(THROTTLE_BIN_S, step)
    # a count covers the step ending at its t_s: it belongs to the bin holding t_s - step
    bins = np.floor(np.maximum(t - step, 0.0) / width)
    summed = pd.Series(counts).groupby(bins).sum()
    return summed.index.to_numpy(dtype=float) * width, summed.to_numpy(dtype=float)


def plot_throttle_panel(result, points: pd.DataFrame, *, point: tuple[float, float],
                        point_series=None, x: str = "ratio", y: str = "dlq_valid_share_mean",
                        series: str = "reserved_concurrency", rule_ratio: float | None = 6.0,
                        reserved_concurrency: float | None = None,
                        xlabel: str = "visibility timeout ÷ function timeout (×)",
                        ylabel: str = "valid messages moved to the DLQ (fraction of sent)",
                        sweep_title: str = "Your point on the lesson's sweep",
                        title: str | None = None):
    """The lesson's panel figure: the run over time on the left, one panel per unit
    sharing the time axis (messages: visible, in flight, in the DLQ; busy environments,
    with ``reserved_concurrency`` dashed; throttled invoke attempts per THROTTLE_BIN_S),
    and on the right the sweep ``points`` (``y`` against ``x``, one curve per ``series``
    value, the curve of ``point_series`` drawn thicker) with the run marked as "your
    point" at ``point = (x, y)`` and AWS's rule at ``rule_ratio`` (None: no line).
    Legends sit outside the data: the run's below the figure, the sweep's right of it.
    Returns the Figure. Raises KeyError for a column missing from ``points``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    missing = [c for c in (x, y, series) if c not in points.columns]
    if missing:
        raise KeyError(f"plot_throttle_panel: no column {', '.join(map(repr, missing))} "
                       "in points")
    ts = result.timeseries
    t = ts["t_s"].to_numpy(dtype=float)
    scale, time_label = time_axis(t)
    with style():
        fig, axd = plt.subplot_mosaic([["messages", "sweep"], ["environments", "sweep"],
                                       ["invoke attempts", "sweep"]],
                                      figsize=(WIDE_FIGSIZE[0], 7.6), layout="constrained",
                                      width_ratios=[1.15, 1.0], height_ratios=[1.3, 1.0, 0.8])
        left = [axd[unit] for _, unit in _LEFT]
        order = 0
        for ax, (columns, unit) in zip(left, _LEFT):
            top = 1.0
            for col in columns:
                if col == "throttles":
                    x_s, values = _throttles_binned(ts)
                    label = f"throttled invoke attempts (per {THROTTLE_BIN_S:g} s)"
                else:
                    x_s, values = t, ts[col].to_numpy(dtype=float)
                    label = SERIES_LABELS[col][0]
                ax.plot(x_s / scale, values, drawstyle="steps-post", color=PALETTE[order],
                        label=label, zorder=2.5 - 0.1 * order)
                top = max(top, float(np.nanmax(values, initial=0)))
                order += 1
            if unit == "environments" and reserved_concurrency is not None:
                ax.axhline(reserved_concurrency, label=f"reserved concurrency "
                           f"({reserved_concurrency:g})", zorder=1.8, **REFERENCE_STYLES[0])
                top = max(top, float(reserved_concurrency))
            ax.set_ylim(-0.03 * top, 1.1 * top)  # a line at zero stays visible
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: whole ticks
            ax.set_ylabel(unit)
            if ax is not left[0]:
                ax.sharex(left[0])
            if ax is not left[-1]:
                ax.tick_params(labelbottom=False)
        left[-1].set_xlabel(time_label)
        left[0].set_xlim(0, (float(t.max()) if len(t) else 1.0) / scale)
        left[0].set_title("This run", loc="left", fontsize=STYLE["axes.labelsize"])

        ax = axd["sweep"]
        for i, (key, part) in enumerate(points.sort_values(x).groupby(series, sort=True)):
            mine = point_series is not None and key == point_series
            ax.plot(part[x], part[y], marker="o", color=PALETTE[i % len(PALETTE)],
                    linewidth=3.2 if mine else 1.4, alpha=1.0 if mine else 0.6,
                    label=f"{key:g}" if isinstance(key, float) else f"{key}")
        if rule_ratio is not None:
            ax.axvline(rule_ratio, label=f"AWS: {rule_ratio:g} × function timeout",
                       zorder=1.8, **REFERENCE_STYLES[1])
        ax.plot([point[0]], [point[1]], marker="*", markersize=20, color="black",
                linestyle="none", label="your point", zorder=5)
        top = max(1.05 * float(np.nanmax(points[y].to_numpy(dtype=float), initial=0)),
                  1.1 * float(point[1]), 0.05)
        ax.set_ylim(-0.03 * top, top)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(sweep_title, fontsize=STYLE["axes.labelsize"])
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title=label_for(series)
                  if series != "reserved_concurrency" else "reserved concurrency")
        handles, labels = [], []
        for a in left:
            for h, lab in zip(*a.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3))
        fig.suptitle(title if title is not None else "This run and the lesson's sweep",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    plt.close(fig)
    return fig
