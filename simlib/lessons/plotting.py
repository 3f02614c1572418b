"""Lesson visuals: the one place where a Result is drawn or tabulated.

Every lesson calls these functions instead of carrying its own plotting code, so all
lessons look alike and read well on a workshop projector: large type, thick lines,
titles, and axis labels that carry their units. There is no model logic here; the
functions only read a :class:`~simlib.results.Result` (or a sweep's DataFrame).

The style is applied through :func:`style`, a context manager around
``matplotlib.rc_context``: nothing changes matplotlib's global settings.

Figures are returned, not shown: they are detached from pyplot (``plt.close``) so that a
notebook cell shows a figure exactly once (when it is the cell's value or passed to
``display``), an interactive panel can redraw many times without piling up open
figures, and the functions work with the non-interactive Agg backend.

Tables from :func:`kpi_table`, :func:`compare` and :func:`bill_table` hold *formatted strings*
(``"19,931"``, ``"0.15%"``, ``"$0.0253"``), so a notebook's stored outputs stay
readable and stable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from simlib.core.limits import ONE_VCPU_MB
from simlib.lessons import kpis

__all__ = [
    "DEFAULT_KPIS",
    "FIGSIZE",
    "bill_table",
    "compare",
    "duration_text",
    "figure_legend",
    "format_value",
    "kpi_table",
    "label_for",
    "mark_point",
    "plot_bars",
    "plot_bill",
    "plot_per_message",
    "plot_power_tuning",
    "plot_repeat_executions",
    "plot_sweep",
    "plot_timeseries",
    "style",
    "time_axis",
]

# -- style ------------------------------------------------------------------------------

FIGSIZE = (10.0, 4.8)
WIDE_FIGSIZE = (14.0, 5.2)  # two panels side by side
BAR_HEIGHT_IN = 0.3  # figure height per bar of plot_bars, so 20 names stay legible
# Colour-blind-safe (Okabe-Ito), distinct in greyscale print too.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "font.size": 14,
    "axes.titlesize": 16,
    "axes.titleweight": "bold",
    "axes.labelsize": 14,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "legend.framealpha": 0.9,
    "lines.linewidth": 2.2,
    "lines.markersize": 7,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE)),
}
THEORY_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.8}
# Reference lines (a limit, a rule, a threshold), in the order a figure is given them:
# the first dashed vermillion, the second dotted near-black, so a lesson's text can say
# "the dashed limit" or "the dotted line". Data lines are solid, so neither is mistaken
# for one.
REFERENCE_STYLES = (
    {"color": "#D55E00", "linestyle": "--", "linewidth": 1.8},
    {"color": "0.15", "linestyle": ":", "linewidth": 2.0},
    {"color": "#CC79A7", "linestyle": "-.", "linewidth": 1.8},
)


@contextmanager
def style():
    """The lessons' one style, applied only inside the ``with`` block."""
    with matplotlib.rc_context(STYLE):
        yield


def _new_axes(ax, figsize: tuple[float, float] = FIGSIZE):
    """(figure, axes, owned): a fresh projector-sized figure unless ``ax`` is given."""
    if ax is not None:
        return ax.figure, ax, False
    import matplotlib.pyplot as plt  # pyplot only to get the notebook's display hooks

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax, True


def _references(name: str, lines) -> dict[str, float]:
    """``label -> value`` of reference lines, checked: a typo should not draw nothing."""
    if lines is None:
        return {}
    if not isinstance(lines, Mapping):
        raise TypeError(f"{name} expects a dict of label -> value, e.g. "
                        f"{{'max_connections': 20}}; got {type(lines).__name__}")
    out = {}
    for label, value in lines.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{name}: {label!r} -> {value!r} is not a number")
        out[str(label)] = float(value)
    return out


def _draw_references(ax, hlines: Mapping[str, float], vlines: Mapping[str, float]) -> None:
    """Labelled reference lines across the whole axes, horizontal ones first, styled in
    order from REFERENCE_STYLES."""
    drawn = [(ax.axhline, y, label) for label, y in hlines.items()]
    drawn += [(ax.axvline, x, label) for label, x in vlines.items()]
    for i, (draw, value, label) in enumerate(drawn):
        draw(value, label=label, zorder=1.8, **REFERENCE_STYLES[i % len(REFERENCE_STYLES)])


def _detach(fig, owned: bool):
    """Detach a figure we made from pyplot: shown once, never piled up in a panel."""
    if owned:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return fig


def mark_point(ax, x: float, y: float, label: str | None = "your point", **style):
    """The reader's setting on a lesson's sweep: a black star above the curves (``style``
    overrides, e.g. a white face for a second kind of point). Returns the Line2D."""
    kwargs = {"marker": "*", "markersize": 20, "color": "black", "linestyle": "none",
              "zorder": 5, **style}
    if label is not None:
        kwargs["label"] = label
    return ax.plot([x], [y], **kwargs)[0]


def figure_legend(fig, axes, *, ncols: int = 3, extra=(), **legend_kwargs):
    """One legend for a figure of several panels, below them, outside the data: each label
    once, in the order the panels drew them, then ``extra`` (handle, label) pairs. A
    panel's own legend is removed. Returns the Legend."""
    handles, labels = [], []
    for ax in axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    for h, lab in extra:
        handles.append(h)
        labels.append(lab)
    return fig.legend(handles, labels, loc="outside lower center",
                      ncols=max(1, min(len(labels), ncols)), **legend_kwargs)


# -- names and units --------------------------------------------------------------------

# Timeseries columns: (readable name, unit of the count).
SERIES_LABELS = {
    "concurrency": ("busy environments (concurrency)", "environments"),
    "environments": ("live environments (busy + idle)", "environments"),
    "idle_environments": ("idle environments", "environments"),
    "queue_visible": ("visible messages in the queue", "messages"),
    "in_flight": ("in-flight messages", "messages"),
    "dlq_depth": ("messages in the DLQ", "messages"),
    "throttles": ("throttles per step", "invoke attempts"),
    "cold_starts": ("cold starts per step", "environments"),
    "db_connections": ("database connections", "connections"),
}

# Summary keys: (readable name, kind). Kinds drive formatting (see format_value).
KPI_LABELS = {
    "messages_sent": ("Messages sent", "count"),
    "messages_deleted": ("Messages processed (deleted)", "count"),
    "messages_failed": ("Requests failed (api)", "count"),
    "messages_dlq": ("Messages moved to the DLQ", "count"),
    "messages_expired": ("Messages expired", "count"),
    "messages_unfinished": ("Messages unfinished at the end", "count"),
    "executions": ("Record executions", "count"),
    "duplicate_executions": ("Duplicate executions", "count"),
    "duplicate_side_effects": ("Duplicate side effects", "count"),
    "invocations": ("Invocations", "count"),
    "cold_starts": ("Cold starts", "count"),
    "cold_start_rate": ("Cold-start rate", "percent"),
    "throttles": ("Throttles (invoke attempts)", "count"),
    "errors": ("Invocation errors", "count"),
    "timeouts": ("Invocation timeouts", "count"),
    "max_concurrency": ("Peak concurrency (environments)", "count"),
    "latency_p50_s": ("Latency of processed messages, p50 (s)", "seconds"),
    "latency_p99_s": ("Latency of processed messages, p99 (s)", "seconds"),
    "db_connection_errors": ("Database connection errors", "count"),
    "db_max_connections_used": ("Database connections, peak", "count"),
    "cost_usd": ("Cost of the run", "usd"),
    "cost_per_million_usd": ("Cost per million processed messages", "usd"),
}

# The small table every lesson prints unless it asks for other keys.
DEFAULT_KPIS = (
    "messages_sent", "messages_deleted", "messages_dlq", "duplicate_executions",
    "invocations", "cold_start_rate", "throttles", "max_concurrency",
    "latency_p50_s", "latency_p99_s", "cost_usd", "cost_per_million_usd",
)

# Scenario fields often swept (dotted paths): readable axis labels with units.
PARAM_LABELS = {
    "workload.rate_per_s": "arrival rate (messages/s)",
    "workload.duration_s": "arrivals last (s)",
    "workload.poison_fraction": "poison messages (fraction)",
    "workload.burst_rate_per_s": "burst rate (messages/s)",
    "queue.visibility_timeout_s": "visibility timeout (s)",
    "queue.max_receive_count": "maxReceiveCount (receives)",
    "mapping.batch_size": "batch size (messages)",
    "mapping.batching_window_s": "batching window (s)",
    "mapping.max_concurrency": "mapping maximum concurrency (environments)",
    "function.memory_mb": "memory (MB)",
    "function.timeout_s": "function timeout (s)",
    "function.reserved_concurrency": "reserved concurrency (environments)",
    "function.provisioned_concurrency": "provisioned concurrency (environments)",
    "function.idle_lifetime_s": "idle lifetime (s)",
    "function.init_s": "function init work (s)",
    "handler.failure_rate": "handler failure rate (fraction)",
    "handler.duration_median_s": "handler duration, median (s)",
    "database.max_connections": "database max_connections (connections)",
    "account.concurrency_limit": "account concurrency limit (environments)",
}

# Quantities lessons commonly derive from a run (not in the summary's contract).
DERIVED_LABELS = {
    "mean_concurrency": "mean concurrency (busy environments)",
    "throttle_fraction": "throttled share of invoke attempts (fraction)",
    "duplicate_fraction": "duplicate share of executions (fraction)",
}

# Unit suffixes of field and column names (longest first).
_SUFFIX_UNITS = (
    ("_per_s", "/s"), ("_usd", "USD"), ("_ms", "ms"), ("_mb", "MB"), ("_kb", "KB"),
    ("_gb", "GB"), ("_s", "s"),
)


def label_for(name: str) -> str:
    """A readable axis label with its unit for a column, summary key or dotted path.

    >>> label_for("workload.rate_per_s")
    'arrival rate (messages/s)'
    >>> label_for("latency_p99_s")
    'latency of processed messages, p99 (s)'
    >>> label_for("queue.retention_s")
    'retention (s)'
    """
    if name in PARAM_LABELS:
        return PARAM_LABELS[name]
    if name in DERIVED_LABELS:
        return DERIVED_LABELS[name]
    if name in SERIES_LABELS:
        label, unit = SERIES_LABELS[name]
        return f"{label} ({unit})" if unit not in label else label
    if name in KPI_LABELS:
        label, kind = KPI_LABELS[name]
        label = label[0].lower() + label[1:]
        extra = {"percent": " (fraction)", "usd": " (USD)"}.get(kind, "")
        return label + extra
    field = name.rsplit(".", 1)[-1]
    for suffix, unit in _SUFFIX_UNITS:
        if field.endswith(suffix) and len(field) > len(suffix):
            return f"{field[: -len(suffix)].replace('_', ' ')} ({unit})"
    return field.replace("_", " ")


def _kind_of(key: str) -> str:
    """Formatting kind of a key not in KPI_LABELS, from its name."""
    if key.endswith("_usd"):
        return "usd"
    if key.endswith("_s"):
        return "seconds"
    if key.endswith(("_rate", "_fraction", "_share")):
        return "percent"
    return "number"


def format_value(value, kind: str = "number") -> str:
    """One KPI value as stable, readable text.

    Kinds: ``count`` (``19,931``), ``percent`` (a fraction, ``0.15%``), ``seconds``
    (``0.235`` / ``2.82`` / ``1,204``), ``usd`` (``$0.0253``, ``$4.24``, ``$1,234``) and
    ``number`` (``13.97``; whole numbers and values of 100 or more as counts). Missing values
    (``None``, NaN) print as ``n/a``.

    >>> format_value(19931, "count"), format_value(0.0015237, "percent")
    ('19,931', '0.15%')
    >>> format_value(0.0253070837, "usd"), format_value(4.2447, "usd")
    ('$0.0253', '$4.24')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    x = float(value)
    if kind == "count":
        return f"{x:,.0f}"
    if kind == "percent":
        return f"{100 * x:.2f}%" if abs(x) < 0.1 else f"{100 * x:.1f}%"
    if kind == "seconds":
        ax = abs(x)
        if ax < 1:
            return f"{x:.3f}"
        return f"{x:.2f}" if ax < 100 else f"{x:,.0f}"
    if kind == "usd":
        ax = abs(x)
        if ax == 0:
            return "$0.00"
        if ax >= 1000:
            return f"${x:,.0f}"
        if ax >= 1:
            return f"${x:,.2f}"
        digits = min(8, max(4, 2 - math.floor(math.log10(ax))))  # three significant figures
        return f"${x:.{digits}f}"
    if x.is_integer() or abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if abs(x) >= 1 else f"{x:.3g}"


def kpi_kind(key: str) -> str:
    """How a KPI's values are formatted (a kind of :func:`format_value`): from
    ``KPI_LABELS``, else guessed from the key's name."""
    return KPI_LABELS[key][1] if key in KPI_LABELS else _kind_of(key)


def _kpi_row(key: str) -> tuple[str, str]:
    if key in KPI_LABELS:
        return KPI_LABELS[key]
    label = label_for(key)
    return label[0].upper() + label[1:], kpi_kind(key)


# -- tables -----------------------------------------------------------------------------


def _summary_of(run, key_hint: str) -> Mapping:
    if isinstance(run, Mapping):
        return run
    summary = getattr(run, "summary", None)
    if not isinstance(summary, Mapping):
        raise TypeError(f"{key_hint}: expected a simlib Result or a summary dict, got "
                        f"{type(run).__name__}")
    return summary


def kpi_table(result_or_results, keys: Iterable[str] | None = None) -> pd.DataFrame:
    """KPIs as a table of formatted strings: rows = KPIs (readable, with units), columns = runs.

    ``result_or_results`` is one Result (a single column ``value``), a list of Results
    (columns ``run 1``, ``run 2``, ...) or a dict ``label -> Result`` (see :func:`compare`).
    A summary dict may stand in for a Result, so a lesson can add its own numbers
    (``{**r.summary, "mean_concurrency": 13.9}``); keys not in the summary's contract
    are labelled and formatted from their names (``_s`` seconds, ``_usd`` dollars,
    ``_rate`` / ``_fraction`` percent). ``keys`` defaults to :data:`DEFAULT_KPIS`.
    """
    if isinstance(result_or_results, Mapping) and not _looks_like_summary(result_or_results):
        runs = dict(result_or_results)
    elif isinstance(result_or_results, Sequence) and not isinstance(result_or_results, str):
        runs = {f"run {i}": r for i, r in enumerate(result_or_results, start=1)}
    else:
        runs = {"value": result_or_results}
    if not runs:
        raise ValueError("kpi_table needs at least one result")
    keys = tuple(DEFAULT_KPIS if keys is None else keys)
    summaries = {label: _summary_of(run, str(label)) for label, run in runs.items()}
    for label, summary in summaries.items():
        missing = [k for k in keys if k not in summary]
        if missing:
            raise KeyError(f"{label}: no KPI named {', '.join(map(repr, missing))}; "
                           f"known: {', '.join(summary)}")
    index, rows = [], []
    for key in keys:
        name, kind = _kpi_row(key)
        index.append(name)
        rows.append([format_value(summaries[label][key], kind) for label in summaries])
    table = pd.DataFrame(rows, index=pd.Index(index, name="KPI"), columns=list(summaries))
    table.columns.name = None
    return table


def _looks_like_summary(mapping: Mapping) -> bool:
    """A summary dict maps KPI names to numbers; a dict of runs maps labels to results."""
    return bool(mapping) and all(
        v is None or isinstance(v, (int, float, np.number)) for v in mapping.values()
    )


def compare(results: Mapping[str, object], keys: Iterable[str] | None = None) -> pd.DataFrame:
    """The KPI table for several labelled runs side by side (columns in the dict's order)."""
    if not isinstance(results, Mapping):
        raise TypeError("compare expects a dict of label -> Result")
    return kpi_table(dict(results), keys)


def bill_table(result) -> pd.DataFrame:
    """``result.cost`` as readable text: one row per line item (``service · item``).

    Columns: ``quantity`` (in ``unit``), ``unit price`` (as precise as the price table,
    no trailing zeros), ``cost`` and ``share`` of the run's total. Every line is shown,
    zero ones included, so that bills of different runs line up row by row.
    """
    c = result.cost
    total = float(c["cost_usd"].sum())
    return pd.DataFrame({
        "line item": c["service"] + " · " + c["item"],
        "quantity": [f"{q:,.4f}" for q in c["quantity"]],
        "unit": c["unit"],
        "unit price": ["$" + f"{p:.10f}".rstrip("0").rstrip(".") for p in c["unit_price_usd"]],
        "cost": [format_value(usd, "usd") for usd in c["cost_usd"]],
        "share": [f"{usd / total:.1%}" if total else "n/a" for usd in c["cost_usd"]],
    }).set_index("line item")


# -- figures ----------------------------------------------------------------------------


def time_axis(t_s, what: str = "time since start") -> tuple[float, str]:
    """Divisor and label so a long run reads in minutes or hours, not 86,400 s: ``t_s`` is
    the times (or the last time) in seconds, ``what`` the axis's name."""
    t = np.atleast_1d(np.asarray(t_s, dtype=float))
    end = float(np.nanmax(t)) if len(t) else 0.0
    if end > 2 * 3600:
        return 3600.0, f"{what} (h)"
    if end > 30 * 60:
        return 60.0, f"{what} (min)"
    return 1.0, f"{what} (s)"


def _default_title(result) -> str:
    s = getattr(result, "scenario", None)
    if s is None:
        return "Simulated run"
    w = s.workload
    source = "SQS queue → Lambda" if s.source == "sqs" else "API callers → Lambda"
    return (f"{source}: {w.pattern} arrivals, {w.rate_per_s:g} messages/s "
            f"for {w.duration_s:g} s (seed {result.seed})")


def plot_timeseries(result, columns: Sequence[str] = ("concurrency", "queue_visible", "in_flight"),
                    title: str | None = None, ax=None, *,
                    hlines: Mapping[str, float] | None = None,
                    xlim: tuple[float, float] | None = None, legend_loc: str = "outside"):
    """Levels over time from ``result.timeseries``: one panel per unit, sharing the time axis.

    Columns counted in the same unit (messages, environments, connections, invoke attempts)
    share a panel; columns in different units get stacked panels, so a series of tens of
    environments is not flattened under one of thousands of messages. A dotted vertical
    line marks when arrivals stop (``workload.duration_s``). Count columns
    (``throttles``, ``cold_starts``) are per sampling step.

    ``hlines`` draws labelled reference levels in the first column's unit, on its panel,
    e.g. ``{"max_connections": 20}``: the y axis always reaches them, so a limit the run
    never touches still shows how far away it is. ``xlim = (start_s, end_s)`` zooms on
    a stretch of the run, given in seconds whatever unit the time axis reads in; the
    y axes then fit what is visible. ``ax`` draws into a given axes, which holds one
    unit only. Legends sit right of the panels, outside the data, unless ``legend_loc``
    names a matplotlib location. Returns the Figure.
    """
    if isinstance(columns, str):
        columns = (columns,)
    frame = result.timeseries
    unknown = [c for c in columns if c not in frame.columns or c == "t_s"]
    if unknown:
        raise KeyError(f"not a timeseries column: {', '.join(map(repr, unknown))}; known: "
                       f"{', '.join(c for c in frame.columns if c != 't_s')}")
    groups: dict[str, list[str]] = {}
    for col in columns:
        groups.setdefault(SERIES_LABELS.get(col, (col, "count"))[1], []).append(col)
    if ax is not None and len(groups) > 1:
        raise ValueError(f"columns {list(columns)} are counted in {len(groups)} units "
                         f"({', '.join(groups)}); one axes holds one unit: leave ax out to "
                         "get one panel per unit")
    levels = _references("plot_timeseries hlines", hlines)
    t = frame["t_s"].to_numpy(dtype=float)
    scale, xlabel = time_axis(t)
    visible = np.ones(len(t), dtype=bool)
    if xlim is not None:
        lo, hi = xlim
        if not lo < hi:
            raise ValueError(f"xlim = {xlim!r} is not allowed: (start_s, end_s) with start < end")
        # Steps are drawn "post": the sample before the window still shows inside it.
        first = max(int(np.searchsorted(t, lo, side="right")) - 1, 0)
        visible = (np.arange(len(t)) >= first) & (t <= hi)
    scenario = getattr(result, "scenario", None)
    stop = scenario.workload.duration_s if scenario is not None and len(t) else None
    show_stop = stop is not None and stop < t[-1] and (xlim is None or xlim[0] <= stop <= xlim[1])
    with style():
        if ax is not None or len(groups) == 1:
            fig, first_ax, owned = _new_axes(ax)
            axes = [first_ax]
        else:
            import matplotlib.pyplot as plt

            height = FIGSIZE[1] * (0.55 + 0.45 * len(groups))
            fig, axes = plt.subplots(len(groups), 1, sharex=True, layout="constrained",
                                     figsize=(FIGSIZE[0], min(height, 2.4 * FIGSIZE[1])))
            axes, owned = list(axes), True
        order = 0
        for i, (panel, (unit, cols)) in enumerate(zip(axes, groups.items())):
            for col in cols:
                label = SERIES_LABELS.get(col, (col.replace("_", " "), "count"))[0]
                # The first column is the headline: drawn on top where lines overlap.
                panel.plot(t / scale, frame[col].to_numpy(), label=label, drawstyle="steps-post",
                           zorder=2 + 0.1 * (len(columns) - order),
                           color=PALETTE[order % len(PALETTE)])
                order += 1
            if show_stop:
                panel.axvline(stop / scale, color="0.35", linestyle=":", linewidth=1.6,
                              label="arrivals stop" if i == 0 else None)
            here = levels if i == 0 else {}
            _draw_references(panel, here, {})
            panel.set_ylabel(unit)
            panel.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 17.5 environments
            shown = frame.loc[visible, cols].to_numpy(dtype=float)
            top = max(float(np.nanmax(shown, initial=0)), *here.values(), 1.0)
            panel.set_ylim(-0.02 * top, 1.06 * top)  # a line at zero stays visible above the axis
            if legend_loc == "outside":  # outside the data, right of each panel
                panel.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
            else:
                panel.legend(loc=legend_loc)
        last = axes[-1]
        last.set_xlabel(xlabel)
        if xlim is None:
            last.set_xlim(left=0)
        else:
            last.set_xlim(xlim[0] / scale, xlim[1] / scale)
        heading = title if title is not None else _default_title(result)
        if len(axes) == 1:
            axes[0].set_title(heading)
        else:  # over the figure, legends included, so a long title is not cut
            fig.suptitle(heading, fontsize=matplotlib.rcParams["axes.titlesize"],
                         fontweight=matplotlib.rcParams["axes.titleweight"])
    return _detach(fig, owned)


def plot_sweep(frame: pd.DataFrame, x: str, y, *, series: str | None = None,
               theory=None, theory_label: str = "theory", ci: tuple[str, str] | None = None,
               title: str | None = None, xlabel: str | None = None, ylabel: str | None = None,
               logx: bool = False, logy: bool = False, ax=None,
               hlines: Mapping[str, float] | None = None,
               vlines: Mapping[str, float] | None = None,
               ylim: tuple[float | None, float | None] | None = None,
               legend_loc: str = "best"):
    """A parameter against a KPI: one curve per series, optionally a theory line.

    ``frame`` holds one row per run (or per averaged point). ``y`` is a column or a list
    of columns (one curve each); ``series`` names a column whose values split the rows
    into curves (e.g. ``"architecture"``). ``ci = (low, high)`` shades a band between
    two columns. ``theory`` is a column of ``frame``, a function of x, or a pair
    ``(xs, ys)``; it is drawn as a dashed black line labelled ``theory_label``.

    ``hlines`` / ``vlines`` draw labelled reference lines at y / x values (``{"AWS rule:
    200 s": 6.67}``): a rule or a threshold to read the curve against, not a model.
    ``ylim = (bottom, top)`` fixes the y range (``None`` keeps a side automatic), e.g.
    ``(0, None)`` so that a small rise is not drawn as a steep one. Axis labels default
    to :func:`label_for` of the column names. Returns the Figure.
    """
    ys = [y] if isinstance(y, str) else list(y)
    levels = _references("plot_sweep hlines", hlines)
    positions = _references("plot_sweep vlines", vlines)
    needed = [x, *ys] + ([series] if series else []) + (list(ci) if ci else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise KeyError(f"plot_sweep: no column {', '.join(map(repr, missing))} in the frame")
    frame = frame.sort_values(x)
    with style():
        fig, ax, owned = _new_axes(ax)
        groups = frame.groupby(series, sort=False) if series else [(None, frame)]
        for key, part in groups:
            for col in ys:
                parts = [str(key)] if series else []
                if len(ys) > 1 or not series:
                    parts.append(label_for(col).split(" (")[0])
                (line,) = ax.plot(part[x], part[col], marker="o", label=", ".join(parts))
                if ci:
                    ax.fill_between(part[x], part[ci[0]], part[ci[1]], color=line.get_color(),
                                    alpha=0.18, linewidth=0)
        if theory is not None:
            tx, ty = _theory_points(frame, x, theory)
            ax.plot(tx, ty, label=theory_label, **THEORY_STYLE)
        _draw_references(ax, levels, positions)
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_xlabel(xlabel or label_for(x))
        ax.set_ylabel(ylabel or (label_for(ys[0]) if len(ys) == 1 else "value"))
        if title is None:
            what = label_for(ys[0]).split(" (")[0]
            title = f"{what[0].upper()}{what[1:]} vs {label_for(x).split(' (')[0]}"
        ax.set_title(title)
        if len(ax.get_lines()) > 1:
            ax.legend(loc=legend_loc)
    return _detach(fig, owned)


def plot_power_tuning(frame: pd.DataFrame, memory: str = "function.memory_mb",
                      duration: str = "billed_duration_ms", cost: str = "cost_per_million_usd",
                      *, series: str | None = "architecture",
                      titles: tuple[str, str] = ("Billed duration vs memory", "Cost vs memory")):
    """Memory power tuning side by side: billed duration (left) and cost (right) vs memory.

    ``frame`` holds one row per run: the memory (MB), the mean billed duration per
    invocation (ms, :func:`simlib.kpis.mean_billed_ms`) and the cost per million
    messages (USD), one curve per ``series`` value (e.g. x86_64 and arm64). Both panels
    mark 1,769 MB, where a function gets one full vCPU: single-threaded code gets no
    faster above it. The cost axis starts at zero, so a cost that "creeps up" is not
    drawn as a cliff. Returns the Figure (two axes).
    """
    import matplotlib.pyplot as plt

    marker = {f"1 vCPU ({ONE_VCPU_MB:,} MB)": ONE_VCPU_MB}
    with style():
        fig, (left, right) = plt.subplots(1, 2, figsize=WIDE_FIGSIZE, layout="constrained")
    plot_sweep(frame, memory, duration, series=series, ax=left, vlines=marker,
               ylabel="billed duration per invocation (ms)", title=titles[0])
    plot_sweep(frame, memory, cost, series=series, ax=right, vlines=marker, ylim=(0, None),
               ylabel="cost per million processed messages (USD)", title=titles[1])
    return _detach(fig, True)


def plot_bars(values: pd.Series, *, xlabel: str | None = None, title: str | None = None,
              value_format: str | None = "{:,.0f}", ax=None):
    """One horizontal bar per entry of ``values``, the first at the top, each labelled
    with its value (``value_format``; ``None`` for no labels).

    For a ranking or a lookup table (measured INIT by runtime): category names on the
    y axis stay readable however long they are, and the printed values spare the
    audience reading numbers off a grid at the back of the room. The y axis is labelled
    with the index's name, the x axis with ``xlabel`` (default: :func:`label_for` of the
    series' name). Returns the Figure, taller when there are many bars.
    """
    if not isinstance(values, pd.Series) or values.empty:
        raise TypeError("plot_bars expects a non-empty pandas Series: index = bar labels")
    xlabel = xlabel or label_for(str(values.name))
    y = np.arange(len(values))[::-1]  # the first entry at the top
    height = max(FIGSIZE[1], BAR_HEIGHT_IN * len(values))
    with style():
        fig, ax, owned = _new_axes(ax, (FIGSIZE[0], height))
        bars = ax.barh(y, values.to_numpy(dtype=float), 0.7, color=PALETTE[0])
        if value_format is not None:
            ax.bar_label(bars, labels=[value_format.format(v) for v in values], padding=4,
                         fontsize=STYLE["ytick.labelsize"])
            ax.margins(x=0.1)  # room for the label of the longest bar
        ax.set_yticks(y, [str(i) for i in values.index])
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(values.index.name or "")
        if title is None:
            what = xlabel.split(" (")[0]
            title = f"{what[0].upper()}{what[1:]}" + (
                f" by {values.index.name}" if values.index.name else "")
        ax.set_title(title)
    return _detach(fig, owned)


def _theory_points(frame: pd.DataFrame, x: str, theory) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(theory, str):
        return frame[x].to_numpy(), frame[theory].to_numpy()
    if callable(theory):
        lo, hi = float(frame[x].min()), float(frame[x].max())
        xs = np.linspace(lo, hi, 200)
        return xs, np.asarray(theory(xs), dtype=float) * np.ones_like(xs)
    if isinstance(theory, tuple) and len(theory) == 2:
        return np.asarray(theory[0], dtype=float), np.asarray(theory[1], dtype=float)
    raise TypeError("theory must be a column name, a function of x, or a pair (xs, ys)")


def _labelled_runs(results, name: str) -> dict:
    if not isinstance(results, Mapping) or not results:
        raise TypeError(f"{name} expects a non-empty dict of label -> Result")
    return {str(label): run for label, run in results.items()}


def plot_repeat_executions(results: Mapping[str, object], bin_s: float = 10.0, *,
                           title: str | None = None, legend_title: str | None = None, ax=None):
    """Executions beyond each message's first, over time: one step line per labelled run.

    Counted by when the message was first received, in ``bin_s`` bins (see
    :func:`simlib.kpis.repeat_executions_over_time`: with no failed executions these
    are the duplicate executions). Shows whether re-executions are a start-up effect or
    go on for as long as messages arrive. Returns the Figure.
    """
    runs = _labelled_runs(results, "plot_repeat_executions")
    frame = pd.DataFrame(
        {label: kpis.repeat_executions_over_time(run, bin_s) for label, run in runs.items()}
    ).sort_index().fillna(0)
    t = frame.index.to_numpy(dtype=float)
    scale, xlabel = time_axis(t)
    with style():
        fig, ax, owned = _new_axes(ax)
        for label in frame.columns:
            ax.plot(t / scale, frame[label].to_numpy(), drawstyle="steps-post", label=label)
        ax.set_xlabel(f"first receive, {xlabel}")
        ax.set_ylabel(f"executions beyond the first (per {bin_s:g} s)")
        top = max(float(frame.to_numpy(dtype=float).max(initial=0)), 1.0)
        ax.set_ylim(-0.02 * top, 1.06 * top)  # a run with none stays visible at zero
        ax.set_title(title if title is not None else "Executions beyond the first, over time")
        ax.legend(title=legend_title, loc="best")
    return _detach(fig, owned)


_PER_MESSAGE_PANELS = (
    ("executions", "Executions", "executions per message (times)"),
    ("side_effects", "Side effects", "side effects per message (times)"),
)


def plot_per_message(results: Mapping[str, object], title: str | None = None, cap: int = 4):
    """Messages by how often they ran (left) and by how many side effects they had (right).

    One group of bars per count (``0`` ... ``cap+``), one bar per labelled run. With an
    idempotency store the right panel has nothing beyond 1 while the left one barely
    moves: duplicates still run, but harmlessly. Returns the Figure (two axes).
    """
    import matplotlib.pyplot as plt

    runs = _labelled_runs(results, "plot_per_message")
    width = 0.8 / len(runs)
    with style():
        fig, axes = plt.subplots(1, 2, figsize=FIGSIZE, layout="constrained", sharey=True)
        for ax, (column, what, xlabel) in zip(axes, _PER_MESSAGE_PANELS):
            for i, (label, run) in enumerate(runs.items()):
                counts = kpis.per_message_counts(run, column, cap)
                x = np.arange(len(counts))
                ax.bar(x + (i - (len(runs) - 1) / 2) * width, counts.to_numpy(), width,
                       label=label)
            ax.set_xticks(x, counts.index)
            ax.grid(axis="x", visible=False)
            ax.set_xlabel(xlabel)
            ax.set_title(what)
        axes[0].set_ylabel("messages")
        axes[1].legend(loc="best")
        fig.suptitle(title if title is not None else "Executions and side effects per message",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def plot_bill(results: Mapping[str, object], title: str = "The bill, line by line", ax=None):
    """The bill line by line, per million messages deleted: one bar per line item and run.

    Lines that are zero in every run are left out; the rest keep the bill's order, top
    to bottom, so that figures of different runs read alike. The legend sits right of
    the bars, outside the data (a figure made here is wider to leave it room). Returns
    the Figure.
    """
    runs = _labelled_runs(results, "plot_bill")
    frame = pd.DataFrame({label: kpis.cost_per_million_by_line(run) for label, run in runs.items()})
    frame = frame[(frame > 0).any(axis=1)].fillna(0.0)
    height = 0.8 / len(runs)
    y = np.arange(len(frame))[::-1]  # the bill's first line at the top
    with style():
        fig, ax, owned = _new_axes(ax, figsize=(FIGSIZE[0] + 3, FIGSIZE[1]))
        for i, label in enumerate(frame.columns):
            ax.barh(y + ((len(runs) - 1) / 2 - i) * height, frame[label].to_numpy(), height,
                    label=label)
        ax.set_yticks(y, frame.index)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("cost per million processed messages (USD)")
        ax.set_title(title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _detach(fig, owned)


# -- asynchronous invocation (lesson 11) ------------------------------------------------
# These read an ApplicationResult (simlib.simulate of an Application): the events of a
# function invoked with InvocationType=Event are the rows of ``messages`` whose
# ``resource`` is the function, its levels the ``timeseries`` rows of that resource.

# KPIs of one function's asynchronous events: (readable name, kind of format_value).
ASYNC_KPI_LABELS = {
    "events_sent": ("Events sent", "count"),
    "events_processed": ("Events processed successfully", "count"),
    "events_failed_never_ran": ("Given up on, never run", "count"),
    "events_failed_after_running": ("Given up on after running", "count"),
    "events_kept": ("  of those, kept in a destination or DLQ", "count"),
    "events_lost": ("  of those, dropped (nowhere to go)", "count"),
    "events_unfinished": ("Still waiting when the run ended", "count"),
    "throttles": ("Throttles (invoke attempts refused)", "count"),
    "invocations": ("Invocations (attempts that ran)", "count"),
    "invocations_per_processed_event": ("Invocations per processed event", "number"),
    "duplicate_executions": ("Duplicate executions", "count"),
    "latency_p99_s": ("Latency of processed events, p99 (s)", "seconds"),
    "cost_per_million_processed_usd": ("Function cost per million processed events", "usd"),
}


def _async_events(result, function: str) -> pd.DataFrame:
    events = result.messages
    events = events[events["resource"] == function]
    if events.empty and function not in getattr(result.application, "resources", {}):
        raise KeyError(f"no resource named {function!r} in the application")
    return events


def async_summary(result, function: str) -> dict:
    """What became of the events invoked asynchronously on ``function``, as a dict of
    the keys of :data:`ASYNC_KPI_LABELS` (numbers, for :func:`async_kpi_table`).

    "Given up on" is an event Lambda stopped trying: its retries were exhausted or it
    outlived the maximum event age; it is "kept" when it went to an on-failure
    destination or a dead-letter queue, else dropped. The cost is the function's own
    lines of the bill (requests, compute, logs) per processed event.
    """
    ev = _async_events(result, function)
    outcome = ev["outcome"].astype(str).to_numpy()
    ran = ev["executions"].to_numpy() > 0
    kept = np.isin(outcome, ("destination", "dlq"))
    given_up = kept | (outcome == "dropped")
    processed = outcome == "deleted"
    inv = result.invocations
    status = inv.loc[(inv["function"] == function) & (inv["resource"] == function), "status"]
    invocations = int((status != "throttled").sum())
    n_processed = int(processed.sum())
    cost = result.cost
    usd = float(cost.loc[cost["resource"] == function, "cost_usd"].sum())
    latency = (ev["finished_s"] - ev["sent_s"]).to_numpy()[processed]
    pipeline = result.pipelines.get(f"{function}/async")
    duplicates = int(pipeline.duplicates.sum()) if pipeline is not None else 0
    return {
        "events_sent": len(ev),
        "events_processed": n_processed,
        "events_failed_never_ran": int((given_up & ~ran).sum()),
        "events_failed_after_running": int((given_up & ran).sum()),
        "events_kept": int(kept.sum()),
        "events_lost": int((outcome == "dropped").sum()),
        "events_unfinished": int(np.isin(outcome, ("in_queue", "in_flight")).sum()),
        "throttles": int((status == "throttled").sum()),
        "invocations": invocations,
        "invocations_per_processed_event": invocations / n_processed if n_processed else math.nan,
        "duplicate_executions": duplicates,
        "latency_p99_s": float(np.percentile(latency, 99)) if len(latency) else math.nan,
        "cost_per_million_processed_usd": usd / n_processed * 1e6 if n_processed else math.nan,
    }


def labelled_kpi_table(results, labels: Mapping[str, tuple[str, str]], summarize,
                       what: str, keys: Iterable[str] | None = None) -> pd.DataFrame:
    """A table of formatted KPIs, rows labelled by ``labels`` (key -> (readable name,
    kind of :func:`format_value`)), one column per run: ``results`` is one run (column
    ``value``) or a dict ``label -> run``; a summary dict (what ``summarize(run)``
    returns) may stand in for a run. ``what`` names the KPIs in errors."""
    if isinstance(results, Mapping) and not _looks_like_summary(results):
        runs = dict(results)
    else:  # one run, or one summary
        runs = {"value": results}
    if not runs:
        raise ValueError(f"a {what} table needs at least one result")
    keys = tuple(labels if keys is None else keys)
    unknown = [k for k in keys if k not in labels]
    if unknown:
        raise KeyError(f"no {what} KPI named {', '.join(map(repr, unknown))}; known: "
                       f"{', '.join(labels)}")
    summaries = {label: run if isinstance(run, Mapping) else summarize(run)
                 for label, run in runs.items()}
    rows = [[format_value(summaries[label][k], labels[k][1]) for label in summaries]
            for k in keys]
    table = pd.DataFrame(rows, index=pd.Index([labels[k][0] for k in keys], name="KPI"),
                         columns=list(summaries))
    table.columns.name = None
    return table


def async_kpi_table(results, function: str, keys: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`async_summary` of one run (column ``value``) or of a dict ``label -> run``
    side by side, as formatted text; ``keys`` defaults to every key of
    :data:`ASYNC_KPI_LABELS`. A summary (the dict :func:`async_summary` returns) may
    stand in for a run."""
    return labelled_kpi_table(results, ASYNC_KPI_LABELS,
                              lambda run: async_summary(run, function), "async", keys)


# The stacked panels of plot_async_queue: (timeseries column or "given_up", label, unit).
_ASYNC_PANELS = (
    ("async_backlog", "Events waiting in Lambda's queue", "events"),
    ("async_oldest_age_s", "Age of the oldest waiting event", "s"),
    ("concurrency", "Busy environments (mean over 10 s)", "environments"),
    ("given_up", "Events given up on, so far", "events"),
)


def _async_levels(result, function: str) -> pd.DataFrame:
    ts = result.timeseries
    ts = ts[ts["resource"] == function]
    if ts.empty or ts["async_backlog"].isna().all():
        raise KeyError(f"{function!r} has no asynchronous event queue in this run")
    ev = _async_events(result, function)
    outcome = ev["outcome"].astype(str)
    ends = np.sort(ev.loc[outcome.isin(["destination", "dlq", "dropped"]), "finished_s"]
                   .to_numpy(dtype=float))
    t = ts["t_s"].to_numpy(dtype=float)
    step = float(t[1] - t[0]) if len(t) > 1 else 1.0
    window = max(1, round(10.0 / step))
    return pd.DataFrame({
        "t_s": t,
        "async_backlog": ts["async_backlog"].to_numpy(dtype=float),
        "async_oldest_age_s": ts["async_oldest_age_s"].to_numpy(dtype=float),
        # the level flips between busy and idle each second: a 10 s mean reads better
        "concurrency": ts["concurrency"].rolling(window, min_periods=1).mean()
        .to_numpy(dtype=float),
        "given_up": np.searchsorted(ends, t, side="right").astype(float),
    })


def _draw_async_levels(axes, levels: Mapping[str, pd.DataFrame], scale: float,
                       panels, age_lines: Mapping[str, float], cap_lines: Mapping[str, float]):
    for i, (label, frame) in enumerate(levels.items()):
        for ax, (col, _, _) in zip(axes, panels):
            ax.plot(frame["t_s"] / scale, frame[col], drawstyle="steps-post", label=label,
                    color=PALETTE[i % len(PALETTE)], zorder=2 + 0.1 * (len(levels) - i))
    for ax, (col, what, unit) in zip(axes, panels):
        extra = {}
        if col == "async_oldest_age_s":
            extra, first = age_lines, 0
        elif col == "concurrency":
            extra, first = cap_lines, len(age_lines)
        data_top = max([float(np.nanmax(f[col].to_numpy(), initial=0)) for f in levels.values()]
                       + [1.0])
        # a reference far above the data (a 6-hour maximum age over minutes of waiting)
        # would flatten it: it is named in the panel's title instead of drawn
        above = []
        for k, (label, value) in enumerate(extra.items()):
            if value > 2.0 * data_top:
                above.append(label)
                continue
            ax.axhline(value, label=label, zorder=1.8,
                       **REFERENCE_STYLES[(first + k) % len(REFERENCE_STYLES)])
        top = max([data_top] + [v for v in extra.values() if v <= 2.0 * data_top])
        ax.set_ylim(-0.02 * top, 1.08 * top)
        ax.set_ylabel(f"{unit}")
        title = what + (f" ({'; '.join(above)}: above the plot)" if above else "")
        ax.set_title(title, loc="left", fontsize=STYLE["axes.labelsize"])


def plot_async_queue(results, function: str, *, maximum_event_age_s=None,
                     reserved_concurrency: float | None = None, title: str | None = None,
                     panels: Sequence[str] | None = None):
    """A function's asynchronous event queue over time, one panel per unit, one line per
    labelled run (``results``: a dict ``label -> ApplicationResult``, or one run).

    Panels, top to bottom, sharing the time axis: events waiting in Lambda's queue
    (ready or waiting for a retry), the age of the oldest of them (s), busy
    environments (a 10 s mean), and the events given up on so far (dropped, or sent to
    an on-failure destination or DLQ). ``maximum_event_age_s`` (a number or
    ``label -> seconds``) draws the maximum age on the age panel; ``reserved_concurrency``
    the cap on the environments panel; a line far above the data is named in the
    panel's title instead. ``panels`` picks some of ``async_backlog``,
    ``async_oldest_age_s``, ``concurrency``, ``given_up``. The legend sits below the
    panels, outside the data. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    runs = results if isinstance(results, Mapping) else {"run": results}
    runs = _labelled_runs(runs, "plot_async_queue")
    chosen = [p for p in _ASYNC_PANELS if panels is None or p[0] in panels]
    if not chosen:
        raise ValueError(f"panels: choose from {', '.join(p[0] for p in _ASYNC_PANELS)}")
    if maximum_event_age_s is None:
        age_lines = {}
    elif isinstance(maximum_event_age_s, Mapping):
        age_lines = _references("plot_async_queue maximum_event_age_s", maximum_event_age_s)
    else:
        age_lines = {f"maximum event age ({float(maximum_event_age_s):g} s)":
                     float(maximum_event_age_s)}
    cap_lines = {} if reserved_concurrency is None else {
        f"reserved concurrency ({reserved_concurrency:g})": float(reserved_concurrency)}
    levels = {label: _async_levels(run, function) for label, run in runs.items()}
    end = max(float(f["t_s"].max()) for f in levels.values())
    scale, xlabel = time_axis(np.array([end]))
    with style():
        fig, axes = plt.subplots(len(chosen), 1, sharex=True, layout="constrained",
                                 figsize=(FIGSIZE[0] + 2.5, 2.3 * len(chosen) + 1.0))
        axes = np.atleast_1d(axes)
        _draw_async_levels(axes, levels, scale, chosen, age_lines, cap_lines)
        axes[-1].set_xlabel(xlabel)
        axes[-1].set_xlim(0, end / scale)
        figure_legend(fig, axes, ncols=2)
        fig.suptitle(title if title is not None else f"{function}: its asynchronous event queue",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def plot_sweep_panels(frame: pd.DataFrame, x: str, ys: Sequence[str], *, series: str,
                      ci: Mapping[str, tuple[str, str]] | None = None,
                      theory: Mapping[str, object] | None = None,
                      ylabels: Sequence[str] | None = None, titles: Sequence[str] | None = None,
                      xlabel: str | None = None, suptitle: str | None = None,
                      series_label: str | None = None, theory_label: str = "theory",
                      logx: bool = False, xticks: Mapping[float, str] | None = None):
    """Several KPIs against one parameter, side by side (one unit per panel), one curve
    per value of ``series`` in every panel.

    ``ci`` maps a y column to its (low, high) columns for a shaded band; ``theory`` maps
    a y column to a function ``f(xs, series_value) -> ys``, drawn dashed in each curve's
    colour (one legend entry for all). One legend for the figure, below the panels (outside the
    data), titled ``series_label``. All y axes start at zero. ``logx`` puts x on a log scale;
    ``xticks`` (value -> label) names the ticks, e.g. ``{60: "1 min"}``. Returns the
    Figure.
    """
    import matplotlib.pyplot as plt

    ys = list(ys)
    missing = [c for c in [x, series, *ys] if c not in frame.columns]
    if missing:
        raise KeyError(f"plot_sweep_panels: no column {', '.join(map(repr, missing))}")
    ci, theory = dict(ci or {}), dict(theory or {})
    frame = frame.sort_values(x)
    width = FIGSIZE[0] if len(ys) == 1 else min(5.5 * len(ys), WIDE_FIGSIZE[0] + 3)
    with style():
        fig, axes = plt.subplots(1, len(ys), figsize=(width, FIGSIZE[1] + 0.8),
                                 layout="constrained", squeeze=False)
        axes = axes[0]
        for i, (key, part) in enumerate(frame.groupby(series, sort=True)):
            colour = PALETTE[i % len(PALETTE)]
            for ax, col in zip(axes, ys):
                ax.plot(part[x], part[col], marker="o", color=colour, label=f"{key}")
                if col in ci:
                    lo, hi = ci[col]
                    ax.fill_between(part[x], part[lo], part[hi], color=colour, alpha=0.18,
                                    linewidth=0)
                if col in theory:
                    lo, hi = float(frame[x].min()), float(frame[x].max())
                    xs = np.geomspace(lo, hi, 200) if logx else np.linspace(lo, hi, 200)
                    ax.plot(xs, np.asarray(theory[col](xs, key), dtype=float) * np.ones_like(xs),
                            color=colour, linestyle="--", linewidth=1.6, zorder=1.5)
        for j, (ax, col) in enumerate(zip(axes, ys)):
            ax.set_xlabel(xlabel or label_for(x))
            ax.set_ylabel(ylabels[j] if ylabels else label_for(col))
            ax.set_ylim(bottom=0)
            if logx:
                ax.set_xscale("log")
            if xticks:
                ax.set_xticks(list(xticks), list(xticks.values()))
                ax.minorticks_off()
            if titles:
                ax.set_title(titles[j], fontsize=STYLE["axes.labelsize"])
        extra = []
        if theory:  # one entry for every curve's theory, after the curves
            from matplotlib.lines import Line2D

            extra.append((Line2D([], [], color="0.2", linestyle="--", linewidth=1.6),
                          theory_label))
        figure_legend(fig, axes, ncols=5, extra=extra, title=series_label)
        if suptitle:
            fig.suptitle(suptitle, fontsize=STYLE["axes.titlesize"],
                         fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def duration_text(seconds: float) -> str:
    """``120`` -> ``2 min``, ``21600`` -> ``6 h``, ``90`` -> ``90 s``."""
    x = float(seconds)
    if x >= 3600 and x % 3600 == 0:
        return f"{x / 3600:g} h"
    if x >= 60 and x % 60 == 0:
        return f"{x / 60:g} min"
    return f"{x:g} s"


def plot_async_panel(result, function: str, sweep: pd.DataFrame, *, x: str, y: str,
                     series: str, point: tuple[float, float], point_series=None,
                     maximum_event_age_s: float | None = None, logx: bool = True,
                     xticks: Mapping[float, str] | None = None,
                     sweep_title: str = "Your point on the lesson's sweep",
                     xlabel: str | None = None, ylabel: str | None = None,
                     title: str | None = None):
    """A lesson panel's figure: the run's queue (left: waiting events above, the oldest
    event's age below) and the lesson's sweep (right: ``y`` against ``x``, one curve per
    ``series`` value) with the run marked as "your point" at ``point = (x, y)``. The
    curve of ``point_series`` (the series the run belongs to, if swept) is drawn
    thicker; ``maximum_event_age_s`` is drawn dashed on the age panel; ``xticks``
    (value -> label) names the sweep's x ticks. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    missing = [c for c in (x, y, series) if c not in sweep.columns]
    if missing:
        raise KeyError(f"plot_async_panel: no column {', '.join(map(repr, missing))} in sweep")
    levels = {"this run": _async_levels(result, function)}
    end = float(levels["this run"]["t_s"].max())
    scale, time_label = time_axis(np.array([end]))
    chosen = _ASYNC_PANELS[:2]
    age_lines = {} if maximum_event_age_s is None else {
        f"maximum age {maximum_event_age_s:g} s": float(maximum_event_age_s)}
    with style():
        fig, axd = plt.subplot_mosaic([["backlog", "sweep"], ["age", "sweep"]],
                                      figsize=WIDE_FIGSIZE, layout="constrained",
                                      width_ratios=[1.1, 1.0])
        left = [axd["backlog"], axd["age"]]
        _draw_async_levels(left, levels, scale, chosen, age_lines, {})
        if age_lines:  # the panel is narrow: a short title naming the maximum age
            oldest = float(np.nanmax(levels["this run"]["async_oldest_age_s"].to_numpy(), initial=0))
            where = "dashed" if float(maximum_event_age_s) <= 2.0 * max(oldest, 1.0) else \
                "off the scale"
            axd["age"].set_title(
                f"Oldest event's age (maximum {duration_text(maximum_event_age_s)}: {where})",
                loc="left", fontsize=STYLE["axes.labelsize"] - 1)
        axd["age"].sharex(axd["backlog"])
        axd["backlog"].tick_params(labelbottom=False)
        axd["age"].set_xlabel(time_label)
        axd["age"].set_xlim(0, end / scale)
        ax = axd["sweep"]
        for i, (key, part) in enumerate(sweep.sort_values(x).groupby(series, sort=True)):
            mine = point_series is not None and key == point_series
            ax.plot(part[x], part[y], marker="o", color=PALETTE[i % len(PALETTE)],
                    linewidth=3.2 if mine else 1.4, alpha=1.0 if mine else 0.6,
                    label=f"{key}")
        mark_point(ax, point[0], point[1])
        if logx:
            ax.set_xscale("log")
        if xticks:
            ax.set_xticks(list(xticks), list(xticks.values()))
            ax.minorticks_off()
        top = max(1.05 * float(np.nanmax(sweep[y].to_numpy(), initial=0)), 1.1 * point[1], 0.05)
        ax.set_ylim(-0.03 * top, top)  # a point at zero stays visible above the axis
        ax.set_xlabel(xlabel or label_for(x))
        ax.set_ylabel(ylabel or label_for(y))
        ax.set_title(sweep_title, fontsize=STYLE["axes.labelsize"])
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title=label_for(series))
        fig.suptitle(title if title is not None else f"{function}: this run",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


__all__ += [
    "ASYNC_KPI_LABELS",
    "async_kpi_table",
    "async_summary",
    "labelled_kpi_table",
    "plot_async_panel",
    "plot_async_queue",
    "plot_sweep_panels",
]


# -- FIFO queues (lesson 13) ------------------------------------------------------------
# These read an ApplicationResult whose queue may be an SQS FIFO queue (``fifo: true``):
# the queue's messages are the rows of ``messages`` whose ``resource`` is the queue (their
# MessageGroupId in ``attribute.message_group``), its levels and its consumer's the
# ``timeseries`` rows of the queue and of the function.

# KPIs of one queue and its consumer: (readable name, kind of format_value).
FIFO_KPI_LABELS = {
    "messages_sent": ("Messages sent to the queue (re-sends included)", "count"),
    "messages_deduplicated": ("  of those, dropped as duplicates", "count"),
    "messages_processed": ("Messages processed and deleted", "count"),
    "messages_dlq": ("Messages moved to the DLQ", "count"),
    "good_messages_dlq": ("  of those, not poison", "count"),
    "messages_unfinished": ("Still in the queue when the run ended", "count"),
    "duplicate_executions": ("Records run again after they had succeeded", "count"),
    "duplicate_side_effects": ("Side effects beyond the first per message", "count"),
    "max_concurrency": ("Busy environments, most at once", "count"),
    "latency_p50_s": ("Latency of processed messages, p50 (s)", "seconds"),
    "latency_p99_s": ("Latency of processed messages, p99 (s)", "seconds"),
    "longest_in_queue_s": ("Longest a message stayed in the queue (s)", "seconds"),
    "cost_per_million_processed_usd": ("Cost per million processed messages", "usd"),
}


def _queue_messages(result, queue: str) -> pd.DataFrame:
    resources = getattr(result.application, "resources", {})
    if queue not in resources or resources[queue].kind != "queue":
        raise KeyError(f"no queue named {queue!r} in the application")
    events = result.messages
    return events[events["resource"] == queue]


def _consumers(result, queue: str) -> list:
    """The event source mappings that read ``queue``."""
    return result.application.mappings_of(queue)


def fifo_summary(result, queue: str) -> dict:
    """What became of the messages of ``queue`` (a FIFO or a standard queue) and of its
    consumer, as a dict of the keys of :data:`FIFO_KPI_LABELS` (numbers, for
    :func:`fifo_kpi_table`).

    ``messages_sent`` counts every send that reached the queue, a producer's re-sends
    included; ``messages_deduplicated`` the sends a FIFO queue accepted but did not
    deliver. ``good_messages_dlq`` counts messages moved to the dead-letter queue that
    are not poison (they failed at random, or came along with a failing one).
    ``duplicate_executions`` and ``duplicate_side_effects`` are the summary's
    definitions, for this queue's consumer. ``longest_in_queue_s`` is the longest time a
    message stayed in the queue, from its send until it was deleted, moved to the DLQ or
    expired, or until the end of the run if it is still there (the peak of
    ApproximateAgeOfOldestMessage, blocked groups' messages included).
    ``max_concurrency`` is the most busy environments of the consuming function at once;
    the cost is the whole application's bill per processed message of this queue.
    """
    q = _queue_messages(result, queue)
    outcome = q["outcome"].astype(str).to_numpy()
    dedup = (q["drop_reason"] == "deduplicated").to_numpy()
    processed = outcome == "deleted"
    dlq = outcome == "dlq"
    poison = q["poison"].to_numpy(dtype=bool)
    sent = q["sent_s"].to_numpy(dtype=float)
    latency = (q["finished_s"].to_numpy(dtype=float) - sent)[processed]
    finished = q["finished_s"].to_numpy(dtype=float)
    unfinished = np.isin(outcome, ("in_queue", "in_flight"))
    stayed = (np.where(unfinished | np.isnan(finished), float(result.end_s), finished) - sent)[~dedup]
    mappings = _consumers(result, queue)
    duplicates = sum(int(result.pipelines[m.name].duplicates.sum()) for m in mappings
                     if m.name in result.pipelines)
    functions = {m.function for m in mappings}
    res = result.resources
    busy = res[(res["kind"] == "function") & res["resource"].isin(functions)
               & (res["kpi"] == "max_concurrency")]["value"]
    n_processed = int(processed.sum())
    usd = float(result.summary["cost_usd"])
    return {
        "messages_sent": len(q),
        "messages_deduplicated": int(dedup.sum()),
        "messages_processed": n_processed,
        "messages_dlq": int(dlq.sum()),
        "good_messages_dlq": int((dlq & ~poison).sum()),
        "messages_unfinished": int(unfinished.sum()),
        "duplicate_executions": duplicates,
        "duplicate_side_effects": int(np.maximum(q["side_effects"].to_numpy() - 1, 0).sum()),
        "max_concurrency": int(busy.max()) if len(busy) else 0,
        "latency_p50_s": float(np.percentile(latency, 50)) if len(latency) else math.nan,
        "latency_p99_s": float(np.percentile(latency, 99)) if len(latency) else math.nan,
        "longest_in_queue_s": float(stayed.max()) if len(stayed) else math.nan,
        "cost_per_million_processed_usd": usd / n_processed * 1e6 if n_processed else math.nan,
    }


def fifo_kpi_table(results, queue: str, keys: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`fifo_summary` of one run (column ``value``) or of a dict ``label -> run``
    side by side, as formatted text; ``keys`` defaults to every key of
    :data:`FIFO_KPI_LABELS`. A summary (the dict :func:`fifo_summary` returns) may stand
    in for a run."""
    return labelled_kpi_table(results, FIFO_KPI_LABELS, lambda run: fifo_summary(run, queue),
                              "FIFO", keys)


def active_groups(result, queue: str, t_s) -> np.ndarray:
    """How many message groups of ``queue`` have a message waiting or in flight at each
    time of ``t_s``: sent at or before t and not yet deleted, moved to the DLQ or
    expired (deduplicated sends never count). Raises KeyError when the queue's messages
    have no ``message_group`` attribute."""
    q = _queue_messages(result, queue)
    if "attribute.message_group" not in q.columns:
        raise KeyError(f"the messages of {queue!r} have no message group")
    q = q[q["drop_reason"] != "deduplicated"]
    t = np.asarray(t_s, dtype=float)
    out = np.zeros(len(t), dtype=np.int64)
    ends = q["finished_s"].to_numpy(dtype=float)
    ends = np.where(np.isnan(ends), np.inf, ends)
    sent = q["sent_s"].to_numpy(dtype=float)
    for rows in q.groupby("attribute.message_group", sort=True).indices.values():
        s, e = np.sort(sent[rows]), np.sort(ends[rows])
        here = np.searchsorted(s, t, side="right") - np.searchsorted(e, t, side="right")
        out += here > 0
    return out


# The stacked panels of plot_fifo_queue: (column, label, unit).
_FIFO_PANELS = (
    ("queue_visible", "Messages waiting in the queue", "messages"),
    ("concurrency", "Busy environments (mean over 10 s)", "environments"),
    ("dlq_moved", "Messages moved to the DLQ, so far", "messages"),
)
# ...and the same, titled for the narrow left side of plot_fifo_panel
_FIFO_PANELS_SHORT = (
    ("queue_visible", "Waiting in the queue", "messages"),
    ("concurrency", "Busy environments (10 s mean)", "environments"),
    ("dlq_moved", "Moved to the DLQ, so far", "messages"),
)


def _fifo_levels(result, queue: str) -> pd.DataFrame:
    ts = result.timeseries
    qts = ts[ts["resource"] == queue]
    if qts.empty:
        raise KeyError(f"no queue named {queue!r} in this run")
    functions = {m.function for m in _consumers(result, queue)}
    if not functions:
        raise KeyError(f"queue {queue!r} has no event source mapping")
    fts = ts[ts["resource"].isin(functions)].groupby("t_s", sort=True)["concurrency"].sum()
    t = qts["t_s"].to_numpy(dtype=float)
    step = float(t[1] - t[0]) if len(t) > 1 else 1.0
    window = max(1, round(10.0 / step))
    busy = fts.reindex(t).fillna(0.0)
    return pd.DataFrame({
        "t_s": t,
        "queue_visible": qts["queue_visible"].to_numpy(dtype=float),
        # the level flips between busy and idle each second: a 10 s mean reads better
        "concurrency": busy.rolling(window, min_periods=1).mean().to_numpy(dtype=float),
        "dlq_moved": qts["dlq_depth"].to_numpy(dtype=float),
    })


def _draw_fifo_levels(axes, levels: Mapping[str, pd.DataFrame], scale: float, panels,
                      groups: Mapping[str, float]) -> None:
    from matplotlib.ticker import MaxNLocator

    for i, (label, frame) in enumerate(levels.items()):
        for ax, (col, _, _) in zip(axes, panels):
            ax.plot(frame["t_s"] / scale, frame[col], drawstyle="steps-post", label=label,
                    color=PALETTE[i % len(PALETTE)], zorder=2 + 0.1 * (len(levels) - i))
    for ax, (col, what, unit) in zip(axes, panels):
        extra = groups if col == "concurrency" else {}
        data_top = max([float(np.nanmax(f[col].to_numpy(), initial=0)) for f in levels.values()]
                       + [1.0])
        above = []
        for k, (label, value) in enumerate(extra.items()):
            if value > 2.0 * data_top:  # far above the data: named, not drawn
                above.append(label)
                continue
            ax.axhline(value, label=label, zorder=1.8,
                       **REFERENCE_STYLES[k % len(REFERENCE_STYLES)])
        top = max([data_top] + [v for v in extra.values() if v <= 2.0 * data_top])
        ax.set_ylim(-0.02 * top, 1.08 * top)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.set_ylabel(unit)
        title = what + (f"; {', '.join(above)} above" if above else "")
        ax.set_title(title, loc="left", fontsize=STYLE["axes.labelsize"])


def _group_lines(name: str, groups, short: bool = False) -> dict[str, float]:
    if groups is None:
        return {}
    if isinstance(groups, Mapping):
        return _references(f"{name} groups", groups)
    label = f"{float(groups):g} groups" if short else f"message groups ({float(groups):g})"
    return {label: float(groups)}


def plot_fifo_queue(results, queue: str, *, groups=None, title: str | None = None,
                    panels: Sequence[str] | None = None):
    """A queue and its consumer over time, one panel per unit, one line per labelled run
    (``results``: a dict ``label -> ApplicationResult``, or one run).

    Panels, top to bottom, sharing the time axis: messages waiting in the queue (visible,
    blocked groups' messages included), busy environments of the consuming function (a
    10 s mean) and the messages moved to the dead-letter queue so far. ``groups`` (a
    number or ``label -> number``) draws the number of message groups on the
    environments panel. ``panels`` picks some of ``queue_visible``, ``concurrency``,
    ``dlq_moved``. The legend sits below the panels, outside the data. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    runs = results if isinstance(results, Mapping) else {"run": results}
    runs = _labelled_runs(runs, "plot_fifo_queue")
    chosen = [p for p in _FIFO_PANELS if panels is None or p[0] in panels]
    if not chosen:
        raise ValueError(f"panels: choose from {', '.join(p[0] for p in _FIFO_PANELS)}")
    levels = {label: _fifo_levels(run, queue) for label, run in runs.items()}
    end = max(float(f["t_s"].max()) for f in levels.values())
    scale, xlabel = time_axis(np.array([end]))
    with style():
        fig, axes = plt.subplots(len(chosen), 1, sharex=True, layout="constrained",
                                 figsize=(FIGSIZE[0] + 2.5, 2.3 * len(chosen) + 1.0))
        axes = np.atleast_1d(axes)
        _draw_fifo_levels(axes, levels, scale, chosen, _group_lines("plot_fifo_queue", groups))
        axes[-1].set_xlabel(xlabel)
        axes[-1].set_xlim(0, end / scale)
        figure_legend(fig, axes)
        fig.suptitle(title if title is not None else f"{queue}: its messages and consumer",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def _behind_poison(q: pd.DataFrame) -> np.ndarray:
    """Messages sent after a poison message of their group and before it left the queue
    (moved to the DLQ or expired; never, if it is still there)."""
    behind = np.zeros(len(q), dtype=bool)
    groups = q["attribute.message_group"].to_numpy()
    sent = q["sent_s"].to_numpy(dtype=float)
    poison = q["poison"].to_numpy(dtype=bool)
    left = q["finished_s"].to_numpy(dtype=float)
    left = np.where(np.isnan(left), np.inf, left)
    for i in np.flatnonzero(poison):
        behind |= (groups == groups[i]) & (sent > sent[i]) & (sent < left[i]) & ~poison
    return behind


def plot_group_latency(results, queue: str, *,
                       blocked_s: float | Mapping[str, float] | None = None,
                       title: str | None = None):
    """Each message's latency (send to delete) against its send time, one panel per
    labelled run (``results``: a dict ``label -> ApplicationResult``, or one run).

    Messages sent behind a poison message of their group (after it, while it was still in
    the queue) are drawn apart from the rest. A message that was not processed is drawn
    hollow at the time it spent in the queue: until it was moved to the DLQ (a poison
    message as a cross), or until the run ended if it is still there. ``blocked_s``
    (seconds, or ``label -> seconds`` per run), e.g. maxReceiveCount × visibility
    timeout, draws for each poison message the earliest a message behind it can be
    processed: a dashed line falling from the poison's first receive plus ``blocked_s``.
    Each panel has its own y axis (seconds). Returns the Figure.
    """
    import matplotlib.pyplot as plt

    runs = results if isinstance(results, Mapping) else {"run": results}
    runs = _labelled_runs(runs, "plot_group_latency")
    frames = {}
    for label, run in runs.items():
        q = _queue_messages(run, queue)
        if "attribute.message_group" not in q.columns:
            raise KeyError(f"the messages of {queue!r} have no message group")
        frames[label] = (q[q["drop_reason"] != "deduplicated"], float(run.end_s))
    end = max(float(q["sent_s"].max()) for q, _ in frames.values())
    scale, xlabel = time_axis(np.array([end]))
    xlabel = xlabel.replace("time since start", "sent at, time since start")
    with style():
        fig, axes = plt.subplots(len(frames), 1, sharex=True, layout="constrained",
                                 figsize=(FIGSIZE[0] + 2.5, 2.8 * len(frames) + 1.2))
        axes = np.atleast_1d(axes)
        for ax, (label, (q, end_s)) in zip(axes, frames.items()):
            sent = q["sent_s"].to_numpy(dtype=float)
            finished = q["finished_s"].to_numpy(dtype=float)
            outcome = q["outcome"].astype(str).to_numpy()
            in_queue = np.isin(outcome, ("in_queue", "in_flight"))
            spent = np.where(in_queue | np.isnan(finished), end_s, finished) - sent
            processed = outcome == "deleted"
            poison = q["poison"].to_numpy(dtype=bool)
            behind = _behind_poison(q)
            for mask, style_kw, name in (
                (processed & ~behind, {"color": PALETTE[0], "s": 10, "alpha": 0.5},
                 "processed"),
                (processed & behind, {"color": PALETTE[1], "s": 14},
                 "processed, sent behind a poison message of its group"),
                (~poison & (outcome == "dlq"),
                 {"facecolors": "none", "edgecolors": PALETTE[3], "s": 30, "linewidths": 1.5},
                 "not poison, moved to the DLQ (time until moved)"),
                (~poison & in_queue, {"facecolors": "none", "edgecolors": PALETTE[5], "s": 18},
                 "still in the queue when the run ended (time so far)"),
                (poison, {"color": "black", "marker": "x", "s": 60, "linewidths": 2},
                 "poison message (time until moved to the DLQ, or so far)"),
            ):
                if mask.any():
                    ax.scatter(sent[mask] / scale, spent[mask], label=name, zorder=3, **style_kw)
            block = blocked_s.get(label) if isinstance(blocked_s, Mapping) else blocked_s
            if block is not None:
                first = q["first_received_s"].to_numpy(dtype=float)
                drawn = False
                for i in np.flatnonzero(poison & ~np.isnan(first)):
                    free_at = first[i] + float(block)
                    xs = np.array([sent[i], free_at])
                    ax.plot(xs / scale, free_at - xs, **THEORY_STYLE, zorder=2,
                            label=None if drawn else
                            f"earliest processing behind a poison message "
                            f"(its first receive + {float(block):g} s)")
                    drawn = True
            ax.set_ylabel("time in the queue (s)")
            ax.set_ylim(bottom=0)
            ax.set_title(label, loc="left", fontsize=STYLE["axes.labelsize"])
        axes[-1].set_xlabel(xlabel)
        axes[-1].set_xlim(0, end / scale)
        figure_legend(fig, axes, ncols=2)
        fig.suptitle(title if title is not None else f"{queue}: time in the queue, by message",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def plot_sweep_panels_logy(frame: pd.DataFrame, x: str, ys: Sequence[str], *,
                           logy: Iterable[str], **kwargs):
    """:func:`plot_sweep_panels` with the panels of the columns in ``logy`` on a log y
    scale (for a latency that spans seconds to many minutes); their limits are set from
    the positive values drawn. Returns the Figure."""
    logy = set(logy)
    unknown = logy - set(ys)
    if unknown:
        raise KeyError(f"logy: {', '.join(map(repr, sorted(unknown)))} not among the panels")
    fig = plot_sweep_panels(frame, x, ys, **kwargs)
    for ax, col in zip(fig.axes, ys):
        if col not in logy:
            continue
        values = np.concatenate([np.asarray(line.get_ydata(), dtype=float)
                                 for line in ax.get_lines()] + [frame[col].to_numpy(dtype=float)])
        values = values[np.isfinite(values) & (values > 0)]
        ax.set_yscale("log")
        if len(values):
            ax.set_ylim(values.min() / 1.6, values.max() * 1.6)
    return fig


def plot_fifo_panel(result, queue: str, sweep: pd.DataFrame, *, x: str, y: str, series: str,
                    point: tuple[float, float], point_series=None, groups=None,
                    logx: bool = True, logy: bool = True,
                    xticks: Mapping[float, str] | None = None,
                    sweep_title: str = "Your point on the lesson's sweep",
                    xlabel: str | None = None, ylabel: str | None = None,
                    series_label: str | None = None, title: str | None = None):
    """A lesson panel's figure: the run's queue and consumer (left, top to bottom:
    messages waiting, busy environments with ``groups`` drawn, messages moved to the
    DLQ) and the lesson's sweep (right: ``y`` against ``x``, one curve per ``series``
    value) with the run marked as "your point" at ``point = (x, y)``. The curve of
    ``point_series`` is drawn thicker. Returns the Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    missing = [c for c in (x, y, series) if c not in sweep.columns]
    if missing:
        raise KeyError(f"plot_fifo_panel: no column {', '.join(map(repr, missing))} in sweep")
    levels = {"this run": _fifo_levels(result, queue)}
    end = float(levels["this run"]["t_s"].max())
    scale, time_label = time_axis(np.array([end]))
    with style():
        fig, axd = plt.subplot_mosaic([["waiting", "sweep"], ["busy", "sweep"], ["dlq", "sweep"]],
                                      figsize=(WIDE_FIGSIZE[0], WIDE_FIGSIZE[1] + 1.4),
                                      layout="constrained", width_ratios=[1.1, 1.0])
        left = [axd["waiting"], axd["busy"], axd["dlq"]]
        _draw_fifo_levels(left, levels, scale, _FIFO_PANELS_SHORT,
                          _group_lines("plot_fifo_panel", groups, short=True))
        for ax in left[1:]:
            ax.sharex(left[0])
        for ax in left[:-1]:
            ax.tick_params(labelbottom=False)
        left[-1].set_xlabel(time_label)
        left[-1].set_xlim(0, end / scale)
        handles, labels = left[1].get_legend_handles_labels()
        if len(labels) > 1:  # the groups' line, named where it is drawn
            left[1].legend(handles[1:], labels[1:], loc="upper right", fontsize="small")
        ax = axd["sweep"]
        for i, (key, part) in enumerate(sweep.sort_values(x).groupby(series, sort=True)):
            mine = point_series is not None and key == point_series
            ax.plot(part[x], part[y], marker="o", color=PALETTE[i % len(PALETTE)],
                    linewidth=3.2 if mine else 1.4, alpha=1.0 if mine else 0.6,
                    label=f"{key}")
        mark_point(ax, point[0], point[1])
        if logx:
            ax.set_xscale("log")
        if xticks:
            ax.set_xticks(list(xticks), list(xticks.values()))
            ax.minorticks_off()
        values = np.append(sweep[y].to_numpy(dtype=float), float(point[1]))
        values = values[np.isfinite(values)]
        if logy:
            ax.set_yscale("log")
            ax.yaxis.set_minor_locator(NullLocator())  # decades only: fewer ticks, quicker
            positive = values[values > 0]
            if len(positive):
                ax.set_ylim(positive.min() / 1.6, positive.max() * 1.6)
        else:
            top = max(1.05 * float(values.max(initial=0)), 0.05)
            ax.set_ylim(-0.03 * top, top)
        ax.set_xlabel(xlabel or label_for(x))
        ax.set_ylabel(ylabel or label_for(y))
        ax.set_title(sweep_title, fontsize=STYLE["axes.labelsize"])
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  title=series_label or label_for(series))
        fig.suptitle(title if title is not None else f"{queue}: this run",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


__all__ += [
    "FIFO_KPI_LABELS",
    "active_groups",
    "fifo_kpi_table",
    "fifo_summary",
    "plot_fifo_panel",
    "plot_fifo_queue",
    "plot_group_latency",
    "plot_sweep_panels_logy",
]


# -- fan-out (lesson 12) ----------------------------------------------------------------
# These read an ApplicationResult with an SNS topic or an EventBridge bus: each route (a
# subscription, a rule's target) starts a *branch*, its target (a queue and the function
# its mapping invokes, or a function invoked asynchronously) and what that consumer did
# with the copies it received. Latency is counted from the publish (the topic's or bus's
# row), so a delivery retried by SNS or EventBridge counts against its branch.

# Columns of fanout_branches: (readable name, kind of format_value).
FANOUT_LABELS = {
    "consumer": ("Consumer (function)", "text"),
    "delivered": ("Copies delivered", "count"),
    "filtered": ("Kept out by a filter", "count"),
    "delivery_failed": ("Deliveries given up (to the route's DLQ)", "count"),
    "processed": ("Processed successfully", "count"),
    "given_up": ("Given up on by the consumer", "count"),
    "lost": ("  of those, lost (nowhere kept)", "count"),
    "unfinished": ("Still waiting when the run ended", "count"),
    "invocations": ("Invocations (attempts that ran)", "count"),
    "throttles": ("Throttles (invoke attempts refused)", "count"),
    "latency_p50_s": ("Latency from publish, p50 (s)", "seconds"),
    "latency_p99_s": ("Latency from publish, p99 (s)", "seconds"),
    "cost_usd": ("Branch cost (USD)", "usd"),
}


def _routes_of(result, name: str) -> pd.DataFrame:
    app = getattr(result, "application", None)
    resources = getattr(app, "resources", {})
    if name not in resources or resources[name].kind not in ("topic", "bus"):
        raise KeyError(f"no topic or bus named {name!r} in the application")
    edges = result.edges
    return edges[(edges["from"] == name) & edges["kind"].isin(["subscription", "target"])]


def fanout_branches(result, name: str) -> pd.DataFrame:
    """One row per branch of the topic or bus ``name`` (index ``branch``: the route's
    target, in route order; routes to the same target are summed), columns the keys of
    :data:`FANOUT_LABELS`, as numbers.

    ``delivered`` and ``delivery_failed`` are the route's edge counts; ``filtered`` counts
    the copies its filter policy or pattern kept out plus the messages a mapping's filter
    deleted without an invoke.
    What the consumer did counts the target's events that came from ``name``: a queue's
    messages (``processed`` = deleted; given up = moved to a DLQ or expired) or a
    function's asynchronous events (``processed`` = succeeded; given up = dropped, or
    sent to an on-failure destination or DLQ); ``lost`` = given up and kept nowhere.
    Latency runs from the publish to the end of successful processing. ``cost_usd`` is
    the bill of the branch's own resources: the queue, its mappings and the consumer
    function (all its lines; the topic's or bus's own line is not in any branch).
    """
    app = result.application
    routes = _routes_of(result, name)
    counts = routes.groupby("to", sort=False)[["delivered", "failed", "filtered"]].sum()
    m = result.messages
    published = m[m["resource"] == name].set_index("message_id")["sent_s"]
    inv, cost = result.invocations, result.cost
    rows = []
    for target, edge in counts.iterrows():
        spec = app.resources[target]
        if spec.kind == "queue":
            mappings = app.mappings_of(target)
            consumers = [mp.function for mp in mappings]
            owned = [target, *(mp.name for mp in mappings), *consumers]
            gave_up = ("dlq", "expired")
        else:
            consumers = [target]
            owned = [target]
            gave_up = ("dropped", "dlq", "destination")
        ev = m[(m["resource"] == target) & (m["origin"] == name)]
        outcome = ev["outcome"].astype(str)
        ok = (outcome == "deleted").to_numpy()
        start = published.reindex(ev["parent"]).to_numpy(dtype=float)
        latency = (ev["finished_s"].to_numpy(dtype=float) - start)[ok]
        status = inv.loc[inv["function"].isin(consumers) & (inv["resource"] == target), "status"]
        rows.append({
            "branch": target,
            "consumer": ", ".join(consumers) if consumers else "(none)",
            "delivered": int(edge["delivered"]),
            "filtered": int(edge["filtered"]) + int((outcome == "filtered").sum()),
            "delivery_failed": int(edge["failed"]),
            "processed": int(ok.sum()),
            "given_up": int(outcome.isin(gave_up).sum()),
            "lost": int(outcome.isin(["dropped", "expired"]).sum()),
            "unfinished": int(outcome.isin(["in_queue", "in_flight"]).sum()),
            "invocations": int((status != "throttled").sum()),
            "throttles": int((status == "throttled").sum()),
            "latency_p50_s": float(np.percentile(latency, 50)) if len(latency) else math.nan,
            "latency_p99_s": float(np.percentile(latency, 99)) if len(latency) else math.nan,
            "cost_usd": float(cost.loc[cost["resource"].isin(owned), "cost_usd"].sum()),
        })
    return pd.DataFrame(rows).set_index("branch")


def fanout_table(results, name: str, keys: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`fanout_branches` as formatted text, branches in columns and KPIs in rows.
    ``results`` is one run, or a dict ``label -> run`` (columns ``branch · label``);
    ``keys`` defaults to every key of :data:`FANOUT_LABELS`."""
    runs = dict(results) if isinstance(results, Mapping) else {None: results}
    if not runs:
        raise ValueError("fanout_table needs at least one result")
    keys = tuple(FANOUT_LABELS if keys is None else keys)
    unknown = [k for k in keys if k not in FANOUT_LABELS]
    if unknown:
        raise KeyError(f"no fan-out KPI named {', '.join(map(repr, unknown))}; known: "
                       f"{', '.join(FANOUT_LABELS)}")
    columns = {}
    for label, run in runs.items():
        frame = fanout_branches(run, name)
        for branch, row in frame.iterrows():
            head = branch if label is None else f"{branch} · {label}"
            columns[head] = [row[k] if FANOUT_LABELS[k][1] == "text"
                             else format_value(row[k], FANOUT_LABELS[k][1]) for k in keys]
    table = pd.DataFrame(columns, index=pd.Index([FANOUT_LABELS[k][0] for k in keys],
                                                 name="KPI"))
    table.columns.name = None
    return table


def _fanout_ylabel(key: str) -> tuple[str, str]:
    """(panel title, y label with unit) of a numeric KPI of FANOUT_LABELS."""
    label, kind = FANOUT_LABELS[key]
    what, _, unit = label.rpartition(" (")
    if what:
        return what, f"{what.lower()} ({unit.rstrip(')')})"
    return label, f"{label.lower()} ({'events' if kind == 'count' else kind})"


def _draw_branch_bars(ax, frames: Mapping[str, pd.DataFrame], key: str, ticks: list[str],
                      log: bool) -> None:
    branches = list(next(iter(frames.values())).index)
    x = np.arange(len(branches))
    width = 0.8 / len(frames)
    for i, (run_label, frame) in enumerate(frames.items()):
        values = frame.reindex(branches)[key].to_numpy(dtype=float)
        ax.bar(x + (i - (len(frames) - 1) / 2) * width, values, width, label=run_label,
               color=PALETTE[i % len(PALETTE)])
    ax.set_xticks(x, ticks)
    ax.grid(axis="x", visible=False)
    title, ylabel = _fanout_ylabel(key)
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=STYLE["axes.labelsize"])


def _numeric_fanout_keys(keys: Sequence[str], who: str) -> list[str]:
    keys = list(keys)
    bad = [k for k in keys if k not in FANOUT_LABELS or FANOUT_LABELS[k][1] == "text"]
    if bad or not keys:
        raise KeyError(f"{who}: no numeric fan-out KPI named "
                       f"{', '.join(map(repr, bad)) or '(none given)'}; known: "
                       f"{', '.join(k for k, v in FANOUT_LABELS.items() if v[1] != 'text')}")
    return keys


def plot_fanout_branches(results, name: str, *,
                         kpis: Sequence[str] = ("latency_p99_s", "throttles"),
                         log: Sequence[str] = ("latency_p50_s", "latency_p99_s"),
                         title: str | None = None):
    """One panel per KPI of :func:`fanout_branches` (one unit per panel), one group of
    bars per branch and one bar per labelled run (``results``: a dict ``label -> run``,
    or one run). KPIs named in ``log`` get a log scale (a slow branch's minutes beside
    the others' tenths of a second). The legend sits below the panels. Returns the
    Figure.
    """
    import matplotlib.pyplot as plt

    runs = results if isinstance(results, Mapping) else {"run": results}
    runs = _labelled_runs(runs, "plot_fanout_branches")
    kpis = _numeric_fanout_keys(kpis, "plot_fanout_branches")
    frames = {label: fanout_branches(run, name) for label, run in runs.items()}
    first = next(iter(runs.values()))
    ticks = _branch_ticks(first, list(next(iter(frames.values())).index))
    with style():
        fig, axes = plt.subplots(1, len(kpis), figsize=(min(6.8 * len(kpis), 17.0),
                                                         FIGSIZE[1] + 1.2),
                                 layout="constrained", squeeze=False)
        for ax, key in zip(axes[0], kpis):
            _draw_branch_bars(ax, frames, key, ticks, key in log)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3))
        fig.suptitle(title if title is not None else f"{name}: its branches",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def _branch_ticks(result, branches: Sequence[str]) -> list[str]:
    """Tick labels: a queue branch as ``queue → function``, a function as its name."""
    app = result.application
    out = []
    for b in branches:
        spec = app.resources[b]
        if spec.kind == "queue":
            consumers = [mp.function for mp in app.mappings_of(b)]
            out.append(f"{b}\n→ {', '.join(consumers)}" if consumers else b)
        else:
            out.append(b)
    return out


# The stacked panels of plot_burst_paths: (level, panel title, unit).
_BURST_PANELS = (
    ("waiting", "Events waiting to start", "events"),
    ("oldest_age_s", "Age of the oldest waiting event", "s"),
    ("concurrency", "Busy environments (mean over 10 s)", "environments"),
    ("lost", "Events lost so far", "events"),
)


def burst_levels(result, resource: str) -> pd.DataFrame:
    """The events of ``resource`` (a queue, or a function's asynchronous event queue)
    over time, at the run's sampling times (``t_s``): ``waiting`` (sent and not yet
    started: not received from the queue, or not yet run by the function, retries in
    back-off included), ``oldest_age_s`` (the oldest waiting event's age, 0 when none
    waits), ``concurrency`` (the consumer function's busy environments, a 10 s mean) and
    ``lost`` (events dropped or expired so far, kept nowhere).
    """
    app = result.application
    if resource not in app.resources:
        raise KeyError(f"no resource named {resource!r} in the application")
    spec = app.resources[resource]
    consumers = [mp.function for mp in app.mappings_of(resource)] if spec.kind == "queue" \
        else [resource]
    ev = result.messages
    ev = ev[ev["resource"] == resource]
    sent = ev["sent_s"].to_numpy(dtype=float)
    start = ev["first_received_s"].to_numpy(dtype=float)
    finished = ev["finished_s"].to_numpy(dtype=float)
    # an event that never started waited until it was given up (or to the end of the run)
    start = np.where(np.isnan(start), np.where(np.isnan(finished), np.inf, finished), start)
    lost_at = np.sort(finished[ev["outcome"].astype(str).isin(["dropped", "expired"])
                               .to_numpy()])
    ts = result.timeseries
    fn = ts[ts["resource"] == consumers[0]] if consumers else ts[ts["resource"] == resource]
    t = fn["t_s"].to_numpy(dtype=float)
    waiting_mask = (sent[None, :] <= t[:, None]) & (start[None, :] > t[:, None])
    waiting = waiting_mask.sum(axis=1)
    first_sent = np.where(waiting_mask, sent[None, :], np.inf).min(axis=1) if len(sent) else \
        np.full(len(t), np.inf)
    step = float(t[1] - t[0]) if len(t) > 1 else 1.0
    busy = (fn["concurrency"].rolling(max(1, round(10.0 / step)), min_periods=1).mean()
            .to_numpy(dtype=float) if consumers else np.zeros(len(t)))
    return pd.DataFrame({
        "t_s": t,
        "waiting": waiting.astype(float),
        "oldest_age_s": np.where(np.isfinite(first_sent), t - first_sent, 0.0),
        "concurrency": busy,
        "lost": np.searchsorted(lost_at, t, side="right").astype(float),
    })


def plot_burst_paths(paths: Mapping[str, tuple], *, maximum_event_age_s: float | None = None,
                     capacity: float | None = None, theory=None, theory_label: str = "theory",
                     burst: tuple[float, float] | None = None, title: str | None = None):
    """Paths for the same traffic side by side over time, one panel per unit, sharing the
    time axis: events waiting to start, the oldest waiting event's age (s), the
    consumer's busy environments and the events lost so far (see :func:`burst_levels`).

    ``paths`` maps a label to ``(result, resource)`` (a queue, or a function invoked
    asynchronously). ``maximum_event_age_s`` is drawn on the age panel, ``capacity``
    (environments) on the environments panel, ``theory = (t_s, waiting)`` dashed on the
    waiting panel, and ``burst = (start_s, end_s)`` shaded on every panel. One legend,
    below the panels. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    if not isinstance(paths, Mapping) or not paths:
        raise TypeError("plot_burst_paths expects a dict label -> (result, resource)")
    levels = {label: burst_levels(run, resource) for label, (run, resource) in paths.items()}
    end = max(float(f["t_s"].max()) for f in levels.values())
    scale, xlabel = time_axis(np.array([end]))
    with style():
        fig, axes = plt.subplots(len(_BURST_PANELS), 1, sharex=True, layout="constrained",
                                 figsize=(FIGSIZE[0] + 2.5, 2.3 * len(_BURST_PANELS) + 1.2))
        for i, (label, frame) in enumerate(levels.items()):
            for ax, (col, _, _) in zip(axes, _BURST_PANELS):
                ax.plot(frame["t_s"] / scale, frame[col], drawstyle="steps-post", label=label,
                        color=PALETTE[i % len(PALETTE)],
                        linewidth=STYLE["lines.linewidth"] + 1.2 * (len(levels) - 1 - i),
                        zorder=2 + 0.1 * i)
        refs = {"oldest_age_s": ({} if maximum_event_age_s is None else {
                    f"maximum event age ({float(maximum_event_age_s):g} s)":
                    float(maximum_event_age_s)}, 0),
                "concurrency": ({} if capacity is None else {
                    f"reserved concurrency ({float(capacity):g})": float(capacity)}, 1)}
        for ax, (col, what, unit) in zip(axes, _BURST_PANELS):
            lines, first = refs.get(col, ({}, 0))
            for k, (label, value) in enumerate(lines.items()):
                ax.axhline(value, label=label, zorder=1.8,
                           **REFERENCE_STYLES[(first + k) % len(REFERENCE_STYLES)])
            if col == "waiting" and theory is not None:
                t_th, w_th = theory
                ax.plot(np.asarray(t_th, dtype=float) / scale, w_th, label=theory_label,
                        zorder=3, **THEORY_STYLE)
            if burst is not None:
                ax.axvspan(burst[0] / scale, burst[1] / scale, color="0.85", zorder=0,
                           label="the burst")
            ax.set_ylim(bottom=0)
            ax.set_ylabel(unit)
            ax.set_title(what, loc="left", fontsize=STYLE["axes.labelsize"])
        axes[-1].set_xlabel(xlabel)
        axes[-1].set_xlim(0, end / scale)
        figure_legend(fig, axes, ncols=3)
        fig.suptitle(title if title is not None else "The same burst, path by path",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def plot_fanout_panel(result, baseline, name: str, sweep: pd.DataFrame, *, x: str, y: str,
                      series: str, point: tuple[float, float], point_series=None,
                      vline: tuple[str, float] | None = None, key: str = "latency_p99_s",
                      labels: tuple[str, str] = ("this run", "all healthy"),
                      xlabel: str | None = None, ylabel: str | None = None,
                      sweep_title: str = "Your point on the lesson's sweep",
                      series_label: str | None = None, title: str | None = None):
    """A lesson panel's figure: the run's branches (left: ``key`` of each branch of
    ``name``, this run beside ``baseline``, log scale for latencies) and the lesson's
    sweep (right: ``y`` against ``x``, one curve per ``series`` value, the curve of
    ``point_series`` thicker) with the run marked as "your point" at ``point``.
    ``vline = (label, x)`` draws a dotted reference on the sweep. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    missing = [c for c in (x, y, series) if c not in sweep.columns]
    if missing:
        raise KeyError(f"plot_fanout_panel: no column {', '.join(map(repr, missing))} in sweep")
    (key,) = _numeric_fanout_keys([key], "plot_fanout_panel")
    # the baseline first, in the first colour, as in plot_fanout_branches's healthy run
    frames = {labels[1]: fanout_branches(baseline, name), labels[0]: fanout_branches(result, name)}
    ticks = _branch_ticks(result, list(frames[labels[0]].index))
    with style():
        fig, (left, ax) = plt.subplots(1, 2, figsize=WIDE_FIGSIZE, layout="constrained",
                                       width_ratios=[1.1, 1.0])
        _draw_branch_bars(left, frames, key, ticks, key.startswith("latency"))
        left.tick_params(axis="x", labelsize=STYLE["xtick.labelsize"] - 1)
        left.legend(loc="upper left", fontsize=STYLE["legend.fontsize"] - 1)
        for i, (value, part) in enumerate(sweep.sort_values(x).groupby(series, sort=False)):
            mine = point_series is not None and value == point_series
            ax.plot(part[x], part[y], marker="o", color=PALETTE[(i + 2) % len(PALETTE)],
                    linewidth=3.2 if mine else 1.4, alpha=1.0 if mine else 0.6,
                    label=f"{value}")
        if vline is not None:
            ax.axvline(vline[1], label=vline[0], zorder=1.8, **REFERENCE_STYLES[1])
        mark_point(ax, point[0], point[1])
        top = max(1.05 * float(np.nanmax(sweep[y].to_numpy(), initial=0)), 1.1 * point[1], 0.05)
        ax.set_ylim(-0.03 * top, top)
        ax.set_xlabel(xlabel or label_for(x))
        ax.set_ylabel(ylabel or label_for(y))
        ax.set_title(sweep_title, fontsize=STYLE["axes.labelsize"])
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  title=series_label or label_for(series))
        fig.suptitle(title if title is not None else f"{name}: this run",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


__all__ += [
    "FANOUT_LABELS",
    "burst_levels",
    "fanout_branches",
    "fanout_table",
    "plot_burst_paths",
    "plot_fanout_branches",
    "plot_fanout_panel",
]


# -- whole application (lesson 14) ------------------------------------------------------
# These read an Application (its wiring, before any run) or an ApplicationResult as a
# whole: the graph as a table of edges, the resources frame as a table, the levels of
# several branches of one run side by side, the bill per resource and service, and a
# what-if sweep with its reference lines. A *branch* is named by the resource that holds
# its events: a queue (its consumer is the function its mapping invokes) or a function
# invoked asynchronously (its events wait in Lambda's own queue).

def _setting(value, unit: str = "") -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}{unit}" if isinstance(value, (int, float)) else f"{value}{unit}"


def _workload_text(w) -> str:
    text = f"{w.pattern}: {w.rate_per_s:g}/s for {w.duration_s:g} s"
    if w.pattern == "burst":
        text += (f", {w.burst_rate_per_s:g}/s from {w.burst_start_s:g} s for "
                 f"{w.burst_duration_s:g} s")
    return text


def _receiver_text(app, name: str) -> str:
    """What matters about the receiving end of an edge: a function's concurrency and
    timeout, a queue's visibility timeout and redrive."""
    spec = app.resources[name]
    if spec.kind == "function":
        f = spec.function
        return (f"reserved concurrency {_setting(f.reserved_concurrency)}, "
                f"{f.memory_mb:,} MB, timeout {f.timeout_s:g} s")
    if spec.kind == "queue":
        q = spec.queue
        text = f"visibility {q.visibility_timeout_s:g} s"
        if spec.dlq is not None:
            text += f", to {spec.dlq} after {q.max_receive_count} receives"
        return text + (", FIFO" if spec.fifo else "")
    return spec.kind


def application_edges(app) -> pd.DataFrame:
    """Every delivery edge of an :class:`~simlib.application.Application` as written,
    before anything is simulated: one row per edge, columns ``from``, ``to``, ``kind``
    (``source``, ``subscription``, ``mapping``, ``dlq``, ``on_success``, ``on_failure``,
    ``emit``, ``target``), ``edge`` (the edge's own settings: a source's traffic, a
    filter, a mapping's batch and maximum concurrency, a redrive's receive count, a
    destination's retry limits) and ``receiver`` (what matters about ``to``: a
    function's reserved concurrency, memory and timeout; a queue's visibility timeout
    and redrive). Rows follow the resources' order, each resource's inbound edges
    together.
    """
    resources = getattr(app, "resources", None)
    if not isinstance(resources, Mapping):
        raise TypeError(f"application_edges expects a simlib Application, got "
                        f"{type(app).__name__}")
    rows = []
    for name, spec in resources.items():
        for origin, kind in app.inbound(name):
            o = resources[origin]
            if kind == "source":
                edge = _workload_text(o.workload)
                if o.invoke:
                    edge += f"; invoke {o.invoke}"
                if o.attributes:
                    edge += "; attributes " + ", ".join(
                        f"{k}: {'/'.join(map(str, v))}" for k, v in o.attributes.items())
            elif kind == "subscription" and o.kind == "topic":
                subs = [s for s in o.subscriptions if s.target == name]
                flt = subs[0].filter if subs else None
                edge = "every message" if flt is None else f"filter policy {flt}"
                if any(s.target == name for s in o.subscriptions) and spec.kind == "function":
                    edge += "; asynchronous invoke"
            elif kind == "dlq" and o.kind == "queue":
                edge = f"after {o.queue.max_receive_count} receives (maxReceiveCount)"
            elif kind in ("on_success", "on_failure", "dlq") and o.kind == "function":
                a = o.async_invoke
                edge = (f"after {a.maximum_retry_attempts} retries or "
                        f"{a.maximum_event_age_s:g} s (maximum event age)"
                        if kind != "on_success" else "each event that succeeded")
            elif kind == "dlq":
                edge = "deliveries given up"
            else:
                edge = ""
            rows.append((origin, name, kind, edge, _receiver_text(app, name)))
        for m in app.mappings_of(name) if spec.kind == "queue" else ():
            mp = m.mapping
            edge = (f"batch {mp.batch_size}, window {mp.batching_window_s:g} s, "
                    f"MaximumConcurrency {_setting(mp.max_concurrency)}, "
                    f"ReportBatchItemFailures {_setting(mp.report_batch_item_failures)}")
            if m.filter is not None:
                edge += f", filter {m.filter}"
            rows.append((name, m.function, "mapping", edge, _receiver_text(app, m.function)))
    return pd.DataFrame(rows, columns=["from", "to", "kind", "edge", "receiver"])


# Rows of resources_table: kpi of the resources frame -> (readable name, kind).
RESOURCE_KPI_LABELS = {
    "received": ("received", "count"),
    "processed": ("processed", "count"),
    "dlq": ("to a DLQ", "count"),
    "destination": ("to an on-failure destination", "count"),
    "dropped": ("dropped", "count"),
    "expired": ("expired", "count"),
    "filtered": ("filtered out", "count"),
    "unfinished": ("still waiting at the end", "count"),
    "invocations": ("invocations", "count"),
    "throttles": ("throttles", "count"),
    "max_concurrency": ("peak busy environments", "count"),
    "cold_starts": ("cold starts", "count"),
    "errors": ("errors", "count"),
    "sent": ("sent", "count"),
}


def resources_table(result, resources: Sequence[str] | None = None,
                    kpis: Sequence[str] | None = None) -> pd.DataFrame:
    """``result.resources`` (one row per resource and KPI) as a readable grid: one row per
    resource (``resources``, in that order; default every resource), one column per KPI
    (``kpis``, keys of :data:`RESOURCE_KPI_LABELS`; default those that are not zero for
    every resource shown). A KPI that does not apply to a resource (a queue's
    invocations) reads ``-``. Cells are formatted text."""
    frame = result.resources
    grid = frame.pivot_table(index="resource", columns="kpi", values="value", aggfunc="first",
                             sort=False)
    names = list(dict.fromkeys(frame["resource"])) if resources is None else list(resources)
    missing = [n for n in names if n not in grid.index]
    if missing:
        raise KeyError(f"no resource named {', '.join(map(repr, missing))} in the run")
    grid = grid.loc[names]
    if kpis is None:
        keys = [k for k in RESOURCE_KPI_LABELS
                if k in grid.columns and (grid[k].fillna(0) != 0).any()]
    else:
        keys = list(kpis)
        unknown = [k for k in keys if k not in RESOURCE_KPI_LABELS]
        if unknown:
            raise KeyError(f"no resource KPI named {', '.join(map(repr, unknown))}; known: "
                           f"{', '.join(RESOURCE_KPI_LABELS)}")
    cells = {RESOURCE_KPI_LABELS[k][0]: [
        "-" if k not in grid.columns or pd.isna(v) else format_value(v, RESOURCE_KPI_LABELS[k][1])
        for v in (grid[k] if k in grid.columns else [math.nan] * len(grid))] for k in keys}
    table = pd.DataFrame(cells, index=pd.Index(names, name="resource"))
    table.columns.name = None
    return table


_GIVEN_UP = ("dlq", "destination", "dropped", "expired")

# The stacked panels of plot_application_levels: (level, panel title, unit).
APPLICATION_PANELS = (
    ("waiting", "Events waiting (queue: visible + in flight; asynchronous: Lambda's queue)",
     "events"),
    ("concurrency", "Busy environments of the branch's function (mean over 10 s)",
     "environments"),
    ("throttles", "Throttled invoke attempts (mean over 10 s)", "attempts per second"),
    ("given_up", "Events given up on so far (to a DLQ, a destination, dropped, expired)",
     "events"),
)


def _consumer_of(app, resource: str) -> str | None:
    spec = app.resources[resource]
    if spec.kind == "function":
        return resource
    if spec.kind == "queue":
        mappings = app.mappings_of(resource)
        return mappings[0].function if mappings else None
    raise KeyError(f"{resource!r} is a {spec.kind}: a branch is a queue or a function "
                   "invoked asynchronously")


def application_levels(result, resource: str) -> pd.DataFrame:
    """One branch of a run over time, at the run's sampling times (``t_s``): ``waiting``
    (a queue's visible and in-flight messages, or the events in a function's
    asynchronous queue, retries in back-off included), the consumer function's
    ``concurrency`` (busy environments) and ``throttles`` (refused invoke attempts in
    the step ending at ``t_s``), and ``given_up``: the resource's events that went to a
    DLQ or an on-failure destination, or were dropped or expired, so far.

    ``concurrency`` and ``throttles`` are means over the 10 s up to ``t_s`` (the levels
    flip every second), ``throttles`` per second."""
    app = result.application
    if resource not in app.resources:
        raise KeyError(f"no resource named {resource!r} in the application")
    function = _consumer_of(app, resource)
    ts = result.timeseries
    own = ts[ts["resource"] == resource]
    t = own["t_s"].to_numpy(dtype=float)
    if app.resources[resource].kind == "queue":
        waiting = (own["queue_visible"] + own["in_flight"]).to_numpy(dtype=float)
    else:
        waiting = own["async_backlog"].fillna(0).to_numpy(dtype=float)
    step = float(t[1] - t[0]) if len(t) > 1 else 1.0
    window = max(1, round(10.0 / step))
    if function is not None:
        fn = ts[ts["resource"] == function]
        busy = fn["concurrency"].rolling(window, min_periods=1).mean().to_numpy(dtype=float)
        throttles = (fn["throttles"] / step).rolling(window, min_periods=1).mean() \
            .to_numpy(dtype=float)
    else:
        busy = throttles = np.zeros(len(t))
    ev = result.messages
    ev = ev[ev["resource"] == resource]
    ends = np.sort(ev.loc[ev["outcome"].astype(str).isin(_GIVEN_UP), "finished_s"]
                   .to_numpy(dtype=float))
    return pd.DataFrame({"t_s": t, "waiting": waiting, "concurrency": busy,
                         "throttles": throttles,
                         "given_up": np.searchsorted(ends, t, side="right").astype(float)})


def _branches(branches) -> dict[str, str]:
    if not isinstance(branches, Mapping) or not branches:
        raise TypeError("branches: a non-empty dict label -> resource (a queue, or a function "
                        "invoked asynchronously)")
    return {str(k): v for k, v in branches.items()}


def _draw_levels(axes, levels: Mapping[str, pd.DataFrame], panels, scale: float,
                 burst: tuple[float, float] | None) -> None:
    for i, (label, frame) in enumerate(levels.items()):
        for ax, (col, _, _) in zip(axes, panels):
            ax.plot(frame["t_s"] / scale, frame[col], drawstyle="steps-post", label=label,
                    color=PALETTE[i % len(PALETTE)], zorder=2 + 0.1 * (len(levels) - i))
    for ax, (col, what, unit) in zip(axes, panels):
        if burst is not None:
            ax.axvspan(burst[0] / scale, burst[1] / scale, color="0.88", zorder=0,
                       label="the spike")
        top = max([float(np.nanmax(f[col].to_numpy(), initial=0)) for f in levels.values()]
                  + [1.0])
        ax.set_ylim(-0.02 * top, 1.08 * top)
        ax.set_ylabel(unit)
        ax.set_title(what, loc="left", fontsize=STYLE["axes.labelsize"] - 1)


def plot_application_levels(result, branches: Mapping[str, str], *,
                            panels: Sequence[str] | None = None,
                            burst: tuple[float, float] | None = None,
                            title: str | None = None):
    """Several branches of one run over time, one panel per unit sharing the time axis
    (see :func:`application_levels`): events waiting, busy environments and throttled
    invoke attempts per second (10 s means), events given up on so far. ``branches`` maps a
    label to the resource holding the branch's events (a queue, or a function invoked
    asynchronously); one colour per branch. ``panels`` picks some of ``waiting``,
    ``concurrency``, ``throttles``, ``given_up``; ``burst = (start_s, end_s)`` is
    shaded on every panel. One legend, below the panels. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    branches = _branches(branches)
    chosen = [p for p in APPLICATION_PANELS if panels is None or p[0] in panels]
    if not chosen:
        raise ValueError(f"panels: choose from {', '.join(p[0] for p in APPLICATION_PANELS)}")
    levels = {label: application_levels(result, res) for label, res in branches.items()}
    end = max(float(f["t_s"].max()) for f in levels.values())
    scale, xlabel = time_axis(np.array([end]))
    with style():
        fig, axes = plt.subplots(len(chosen), 1, sharex=True, layout="constrained",
                                 figsize=(FIGSIZE[0] + 2.5, 2.2 * len(chosen) + 1.2))
        axes = np.atleast_1d(axes)
        _draw_levels(axes, levels, chosen, scale, burst)
        axes[-1].set_xlabel(xlabel)
        axes[-1].set_xlim(0, end / scale)
        figure_legend(fig, axes, ncols=4)
        fig.suptitle(title if title is not None else "The application's branches over time",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def bill_by_resource(result, groups: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """The bill (``result.cost``) in USD, one row per resource, or per group of resources
    (``groups``: label -> resource names; a resource in no group keeps its own row), one
    column per service that costs anything, and ``total``; rows from the most to the
    least expensive. Numbers, not text: for asserts and :func:`plot_bill_by_resource`."""
    cost = result.cost
    owner = {}
    for label, names in (groups or {}).items():
        for n in names:
            if n not in set(cost["resource"]):
                raise KeyError(f"group {label!r}: no resource named {n!r} in the bill")
            if n in owner:
                raise ValueError(f"resource {n!r} is in two groups ({owner[n]!r}, {label!r})")
            owner[n] = str(label)
    rows = cost["resource"].map(lambda n: owner.get(n, n))
    table = cost.assign(row=rows).pivot_table(index="row", columns="service",
                                              values="cost_usd", aggfunc="sum", sort=False)
    table = table.fillna(0.0)
    table = table.loc[:, table.sum(axis=0) > 0]
    table["total"] = table.sum(axis=1)
    table = table.sort_values("total", ascending=False, kind="stable")
    table.index.name = "resource" if not groups else "group"
    table.columns.name = None
    return table


def plot_bill_by_resource(result, groups: Mapping[str, Sequence[str]] | None = None, *,
                          per: float | None = None, per_label: str = "per million orders",
                          title: str | None = None, ax=None):
    """:func:`bill_by_resource` as horizontal bars stacked by service, the most expensive
    row at the top; rows that cost nothing are left out. ``per`` scales the bill to a
    million of something (the number of orders the run sent, say): the x axis then
    reads "USD ``per_label``". Legend outside the bars, on the right. Returns the Figure.
    """
    table = bill_by_resource(result, groups)
    table = table[table["total"] > 0]
    services = [c for c in table.columns if c != "total"]
    scale = 1e6 / per if per else 1.0
    y = np.arange(len(table))[::-1]
    with style():
        fig, ax, owned = _new_axes(ax, (FIGSIZE[0] + 2.0, max(FIGSIZE[1], 0.55 * len(table) + 1.6)))
        left = np.zeros(len(table))
        for i, service in enumerate(services):
            values = table[service].to_numpy(dtype=float) * scale
            ax.barh(y, values, 0.7, left=left, label=service, color=PALETTE[i % len(PALETTE)])
            left += values
        ax.bar_label(ax.containers[-1],
                     labels=[f"${v:,.2f}" if per else format_value(v, "usd") for v in left],
                     padding=4, fontsize=STYLE["ytick.labelsize"])
        ax.set_xlim(0, 1.16 * float(left.max(initial=0)) or 1.0)
        ax.set_yticks(y, list(table.index))
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"USD {per_label}" if per else "USD (the run)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="service")
        ax.set_title(title if title is not None else "The bill by resource and service")
    return _detach(fig, owned)


def plot_whatif_sweep(frame: pd.DataFrame, x: str, ys: Sequence[str], *,
                      ci: Mapping[str, tuple[str, str]] | None = None,
                      vlines: Mapping[str, float] | None = None,
                      hlines: Mapping[str, Mapping[str, float]] | None = None,
                      ylabels: Sequence[str] | None = None, logy: Sequence[str] = (),
                      xlabel: str | None = None, titles: Sequence[str] | None = None,
                      suptitle: str | None = None):
    """A what-if sweep: several KPIs against one setting, side by side (one unit per
    panel), points joined, ``ci`` (y -> (low, high) columns) shaded. ``vlines``
    (label -> x) are drawn on every panel (a theory's threshold, the template's value),
    ``hlines`` (y -> {label: value}) on one panel (a target). Panels named in ``logy``
    get a log scale, the others start at zero. One legend for the figure, below the
    panels. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    ys = list(ys)
    ci = dict(ci or {})
    missing = [c for c in [x, *ys, *(c for pair in ci.values() for c in pair)]
               if c not in frame.columns]
    if missing:
        raise KeyError(f"plot_whatif_sweep: no column {', '.join(map(repr, missing))}")
    positions = _references("plot_whatif_sweep vlines", vlines)
    frame = frame.sort_values(x)
    width = FIGSIZE[0] if len(ys) == 1 else min(5.6 * len(ys), WIDE_FIGSIZE[0] + 3)
    with style():
        fig, axes = plt.subplots(1, len(ys), figsize=(width, FIGSIZE[1] + 0.6),
                                 layout="constrained", squeeze=False)
        axes = axes[0]
        for j, (ax, col) in enumerate(zip(axes, ys)):
            ax.plot(frame[x], frame[col], marker="o", color=PALETTE[0], label="simulated (mean)")
            if col in ci:
                lo, hi = ci[col]
                low = frame[lo].to_numpy(dtype=float)
                if col in logy:  # a band down to zero has no place on a log axis
                    low = np.where(low > 0, low, np.nan)
                ax.fill_between(frame[x], low, frame[hi], color=PALETTE[0], alpha=0.18,
                                linewidth=0, label="95 % interval")
            levels = _references("plot_whatif_sweep hlines", (hlines or {}).get(col))
            _draw_references(ax, {}, positions)
            for k, (label, value) in enumerate(levels.items()):
                ax.axhline(value, label=label, zorder=1.8,
                           **REFERENCE_STYLES[(len(positions) + k) % len(REFERENCE_STYLES)])
            if col in logy:
                ax.set_yscale("log")
            else:
                ax.set_ylim(bottom=0)
            ax.set_xlabel(xlabel or label_for(x))
            ax.set_ylabel(ylabels[j] if ylabels else label_for(col))
            if titles:
                ax.set_title(titles[j], fontsize=STYLE["axes.labelsize"])
        figure_legend(fig, axes, ncols=5)
        if suptitle:
            fig.suptitle(suptitle, fontsize=STYLE["axes.titlesize"],
                         fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def plot_application_panel(result, branches: Mapping[str, str], sweep: pd.DataFrame, *,
                           x: str, y: str, point: tuple[float, float],
                           vlines: Mapping[str, float] | None = None,
                           burst: tuple[float, float] | None = None,
                           xlabel: str | None = None, ylabel: str | None = None,
                           sweep_title: str = "Your point on the lesson's sweep",
                           title: str | None = None):
    """A lesson panel's figure: the run's branches over time (left: events waiting above,
    events given up on below, one colour per branch) and the lesson's sweep (right:
    ``y`` against ``x``, with ``vlines``) with the run marked as "your point" at
    ``point = (x, y)``. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    missing = [c for c in (x, y) if c not in sweep.columns]
    if missing:
        raise KeyError(f"plot_application_panel: no column {', '.join(map(repr, missing))} "
                       "in sweep")
    branches = _branches(branches)
    levels = {label: application_levels(result, res) for label, res in branches.items()}
    end = max(float(f["t_s"].max()) for f in levels.values())
    scale, time_label = time_axis(np.array([end]))
    chosen = [p for p in APPLICATION_PANELS if p[0] in ("waiting", "given_up")]
    chosen = [(col, what.split(" (")[0], unit) for col, what, unit in chosen]
    with style():
        fig, axd = plt.subplot_mosaic([["waiting", "sweep"], ["given_up", "sweep"]],
                                      figsize=WIDE_FIGSIZE, layout="constrained",
                                      width_ratios=[1.1, 1.0])
        left = [axd["waiting"], axd["given_up"]]
        _draw_levels(left, levels, chosen, scale, burst)
        axd["given_up"].sharex(axd["waiting"])
        axd["waiting"].tick_params(labelbottom=False)
        axd["given_up"].set_xlabel(time_label)
        axd["given_up"].set_xlim(0, end / scale)
        figure_legend(fig, left, ncols=4)
        ax = axd["sweep"]
        part = sweep.sort_values(x)
        ax.plot(part[x], part[y], marker="o", color=PALETTE[0], label="the lesson's sweep")
        _draw_references(ax, {}, _references("plot_application_panel vlines", vlines))
        mark_point(ax, point[0], point[1])
        top = max(1.05 * float(np.nanmax(part[y].to_numpy(), initial=0)), 1.1 * point[1], 0.05)
        ax.set_ylim(-0.03 * top, top)
        ax.set_xlabel(xlabel or label_for(x))
        ax.set_ylabel(ylabel or label_for(y))
        ax.set_title(sweep_title, fontsize=STYLE["axes.labelsize"])
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.suptitle(title if title is not None else "This run",
                     fontsize=STYLE["axes.titlesize"], fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


__all__ += [
    "APPLICATION_PANELS",
    "RESOURCE_KPI_LABELS",
    "application_edges",
    "application_levels",
    "bill_by_resource",
    "plot_application_levels",
    "plot_application_panel",
    "plot_bill_by_resource",
    "plot_whatif_sweep",
    "resources_table",
]
