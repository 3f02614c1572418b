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

from simlib import kpis
from simlib.limits import ONE_VCPU_MB

__all__ = [
    "DEFAULT_KPIS",
    "FIGSIZE",
    "bill_table",
    "compare",
    "format_value",
    "kpi_table",
    "label_for",
    "plot_bars",
    "plot_bill",
    "plot_per_message",
    "plot_power_tuning",
    "plot_repeat_executions",
    "plot_sweep",
    "plot_timeseries",
    "style",
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
    "latency_p50_s": ("Latency p50 (s)", "seconds"),
    "latency_p99_s": ("Latency p99 (s)", "seconds"),
    "db_connection_errors": ("Database connection errors", "count"),
    "db_max_connections_used": ("Database connections, peak", "count"),
    "cost_usd": ("Cost of the run", "usd"),
    "cost_per_million_usd": ("Cost per million messages", "usd"),
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
    'latency p99 (s)'
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


def _time_axis(t_s: np.ndarray) -> tuple[float, str]:
    """Divisor and label so a long run reads in minutes or hours, not 86,400 s."""
    end = float(np.nanmax(t_s)) if len(t_s) else 0.0
    if end > 2 * 3600:
        return 3600.0, "time since start (h)"
    if end > 30 * 60:
        return 60.0, "time since start (min)"
    return 1.0, "time since start (s)"


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
                    xlim: tuple[float, float] | None = None, legend_loc: str = "best"):
    """Levels over time from ``result.timeseries``: one line per column, one y axis.

    A dotted vertical line marks when arrivals stop (``workload.duration_s``). Count
    columns (``throttles``, ``cold_starts``) are per sampling step.

    ``hlines`` draws labelled reference levels in the series' unit, e.g.
    ``{"max_connections": 20}``: the y axis always reaches them, so a limit the run
    never touches still shows how far away it is. ``xlim = (start_s, end_s)`` zooms on
    a stretch of the run, given in seconds whatever unit the time axis reads in; the
    y axis then fits what is visible. Returns the Figure.
    """
    if isinstance(columns, str):
        columns = (columns,)
    frame = result.timeseries
    unknown = [c for c in columns if c not in frame.columns or c == "t_s"]
    if unknown:
        raise KeyError(f"not a timeseries column: {', '.join(map(repr, unknown))}; known: "
                       f"{', '.join(c for c in frame.columns if c != 't_s')}")
    levels = _references("plot_timeseries hlines", hlines)
    t = frame["t_s"].to_numpy(dtype=float)
    scale, xlabel = _time_axis(t)
    visible = np.ones(len(t), dtype=bool)
    if xlim is not None:
        lo, hi = xlim
        if not lo < hi:
            raise ValueError(f"xlim = {xlim!r} is not allowed: (start_s, end_s) with start < end")
        # Steps are drawn "post": the sample before the window still shows inside it.
        first = max(int(np.searchsorted(t, lo, side="right")) - 1, 0)
        visible = (np.arange(len(t)) >= first) & (t <= hi)
    with style():
        fig, ax, owned = _new_axes(ax)
        units = []
        for i, col in enumerate(columns):
            label, unit = SERIES_LABELS.get(col, (col.replace("_", " "), "count"))
            units.append(unit)
            # The first column is the headline: drawn on top where lines overlap.
            ax.plot(t / scale, frame[col].to_numpy(), label=label, drawstyle="steps-post",
                    zorder=2 + 0.1 * (len(columns) - i))
        scenario = getattr(result, "scenario", None)
        if scenario is not None and len(t):
            stop = scenario.workload.duration_s
            if stop < t[-1] and (xlim is None or xlim[0] <= stop <= xlim[1]):
                ax.axvline(stop / scale, color="0.35", linestyle=":", linewidth=1.6,
                           label="arrivals stop")
        _draw_references(ax, levels, {})
        distinct = list(dict.fromkeys(units))
        ax.set_ylabel(distinct[0] if len(distinct) == 1 else f"count ({', '.join(distinct)})")
        ax.set_xlabel(xlabel)
        if xlim is None:
            ax.set_xlim(left=0)
        else:
            ax.set_xlim(xlim[0] / scale, xlim[1] / scale)
        shown = frame.loc[visible, list(columns)].to_numpy(dtype=float)
        top = max(float(np.nanmax(shown, initial=0)), *levels.values(), 1.0)
        ax.set_ylim(-0.02 * top, 1.06 * top)  # a line at zero stays visible above the axis
        ax.set_title(title if title is not None else _default_title(result))
        ax.legend(loc=legend_loc)
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
               ylabel="cost per million messages (USD)", title=titles[1])
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
    scale, xlabel = _time_axis(t)
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
    to bottom, so that figures of different runs read alike. Returns the Figure.
    """
    runs = _labelled_runs(results, "plot_bill")
    frame = pd.DataFrame({label: kpis.cost_per_million_by_line(run) for label, run in runs.items()})
    frame = frame[(frame > 0).any(axis=1)].fillna(0.0)
    height = 0.8 / len(runs)
    y = np.arange(len(frame))[::-1]  # the bill's first line at the top
    with style():
        fig, ax, owned = _new_axes(ax)
        for i, label in enumerate(frame.columns):
            ax.barh(y + ((len(runs) - 1) / 2 - i) * height, frame[label].to_numpy(), height,
                    label=label)
        ax.set_yticks(y, frame.index)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("cost per million messages (USD)")
        ax.set_title(title)
        ax.legend(loc="best")
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


def async_kpi_table(results, function: str, keys: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`async_summary` of one run (column ``value``) or of a dict ``label -> run``
    side by side, as formatted text; ``keys`` defaults to every key of
    :data:`ASYNC_KPI_LABELS`. A summary (the dict :func:`async_summary` returns) may
    stand in for a run."""
    if isinstance(results, Mapping) and not _looks_like_summary(results):
        runs = dict(results)
    else:  # one run, or one summary of async_summary
        runs = {"value": results}
    if not runs:
        raise ValueError("async_kpi_table needs at least one result")
    keys = tuple(ASYNC_KPI_LABELS if keys is None else keys)
    unknown = [k for k in keys if k not in ASYNC_KPI_LABELS]
    if unknown:
        raise KeyError(f"no async KPI named {', '.join(map(repr, unknown))}; known: "
                       f"{', '.join(ASYNC_KPI_LABELS)}")
    summaries = {label: run if isinstance(run, Mapping) else async_summary(run, function)
                 for label, run in runs.items()}
    rows = [[format_value(summaries[label][k], ASYNC_KPI_LABELS[k][1]) for label in summaries]
            for k in keys]
    table = pd.DataFrame(rows, index=pd.Index([ASYNC_KPI_LABELS[k][0] for k in keys], name="KPI"),
                         columns=list(summaries))
    table.columns.name = None
    return table


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
    scale, xlabel = _time_axis(np.array([end]))
    with style():
        fig, axes = plt.subplots(len(chosen), 1, sharex=True, layout="constrained",
                                 figsize=(FIGSIZE[0] + 2.5, 2.3 * len(chosen) + 1.0))
        axes = np.atleast_1d(axes)
        _draw_async_levels(axes, levels, scale, chosen, age_lines, cap_lines)
        axes[-1].set_xlabel(xlabel)
        axes[-1].set_xlim(0, end / scale)
        handles, labels = [], []
        for ax in axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 2))
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
        handles, labels = [], []
        for ax in axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        if theory:  # one entry for every curve's theory, after the curves
            from matplotlib.lines import Line2D

            handles.append(Line2D([], [], color="0.2", linestyle="--", linewidth=1.6))
            labels.append(theory_label)
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5),
                   title=series_label)
        if suptitle:
            fig.suptitle(suptitle, fontsize=STYLE["axes.titlesize"],
                         fontweight=STYLE["axes.titleweight"])
    return _detach(fig, True)


def _duration_text(seconds: float) -> str:
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
    scale, time_label = _time_axis(np.array([end]))
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
                f"Oldest event's age (maximum {_duration_text(maximum_event_age_s)}: {where})",
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
        ax.plot([point[0]], [point[1]], marker="*", markersize=20, color="black",
                linestyle="none", label="your point", zorder=5)
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
    "plot_async_panel",
    "plot_async_queue",
    "plot_sweep_panels",
]
