"""Lesson 08 (cost): the power-tuning sweep, provisioned concurrency's break-even, and
the figures and panel that draw them, each beside its closed form.

Nothing here changes a result or holds model logic: the sweeps call
:func:`simlib.engine.simulate` and read the bill (``result.cost``); the closed forms are
plain arithmetic on the price table and on how Lambda gives a function CPU (in
proportion to memory, one vCPU at 1,769 MB; ``limits.ONE_VCPU_MB``).

Units: memory in MB, durations in ms, costs in USD per million *processed* (deleted)
messages, utilisation as a fraction (0-1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from simlib.core.limits import ONE_VCPU_MB
from simlib.core.pricing import price
from simlib.engine import simulate
from simlib.lessons import kpis, plotting

__all__ = [
    "DURATION_LINES",
    "billed_ms_per_message",
    "break_even_utilisation",
    "crossing_utilisation",
    "duration_factor",
    "lambda_usd_per_million",
    "nat_break_even_kb",
    "plot_break_even",
    "plot_cost_panel",
    "plot_power_tuning_curves",
    "power_tuning",
    "power_tuning_theory",
    "provisioned_sweep",
    "provisioned_theory",
]

# The Lambda lines of the bill that pay for execution time (on-demand and provisioned).
DURATION_LINES = ("compute_gb_s", "provisioned_gb_s", "provisioned_compute_gb_s",
                  "provisioned_init_gb_s")


# -- closed forms ---------------------------------------------------------------------


def duration_factor(memory_mb, cpu_share):
    """How much longer a handler runs at ``memory_mb`` than at 1,769 MB (one vCPU).

    Its CPU share stretches by 1,769 / memory below one vCPU and gains nothing above it
    (single-threaded code); the rest (waiting on I/O) does not change:
    ``cpu_share x max(1, 1769 / memory) + (1 - cpu_share)``. Vectorised over memory.
    """
    m = np.asarray(memory_mb, dtype=float)
    if np.any(m <= 0) or not 0.0 <= float(cpu_share) <= 1.0:
        raise ValueError(f"memory_mb > 0 and cpu_share in 0..1, got {memory_mb!r}, {cpu_share!r}")
    out = cpu_share * np.maximum(1.0, ONE_VCPU_MB / m) + (1.0 - cpu_share)
    return float(out) if out.ndim == 0 else out


def break_even_utilisation(architecture: str = "x86_64") -> float:
    """Share of the time provisioned environments must be busy to cost what on-demand
    would (fraction): enabled price / (on-demand duration price - provisioned duration
    price), from the price table alone.

    Per GB-second an environment is enabled, provisioned concurrency bills the enabled
    price all the time plus the lower duration price while busy (a share u of the time);
    on demand, the same work bills u x the on-demand price. They are equal at this u.
    """
    enabled = price("lambda", "provisioned_gb_s", architecture)
    on_demand = price("lambda", "compute_gb_s", architecture)
    executing = price("lambda", "provisioned_compute_gb_s", architecture)
    return enabled / (on_demand - executing)


def nat_break_even_kb(result) -> float:
    """KB per message through a NAT gateway at which NAT data processing costs as much as
    the run's Lambda compute (KB): compute per processed message / NAT price per KB."""
    n = result.summary["messages_deleted"]
    if not n:
        return math.nan
    compute_per_message = kpis.cost_line_usd(result, "lambda", "compute_gb_s") / n
    return compute_per_message / (price("nat", "processed_gb") / 1024**2)


# -- what a run cost ------------------------------------------------------------------


def billed_ms_per_message(result) -> float:
    """Billed milliseconds per processed message (ms): every invocation's billed time
    (INIT included, on-demand and provisioned) over the messages deleted.

    Per message rather than per invocation, because how many messages share an
    invocation (the batch) changes with the function's speed. NaN when none was deleted.
    """
    n = result.summary["messages_deleted"]
    return float(result.invocations["billed_ms"].sum() / n) if n else math.nan


def lambda_usd_per_million(result, lines: Iterable[str] | None = None) -> float:
    """Lambda's part of the bill per million processed messages (USD): requests and the
    duration lines, or only the ``lines`` named (items of the ``lambda`` service)."""
    c = result.cost
    rows = c["service"] == "lambda"
    if lines is not None:
        rows &= c["item"].isin(list(lines))
    n = result.summary["messages_deleted"]
    return float(c.loc[rows, "cost_usd"].sum() * 1e6 / n) if n else math.nan


# -- power tuning ---------------------------------------------------------------------


def power_tuning(scenario, memories_mb: Sequence[int], cpu_shares: Sequence[float],
                 seed: int = 1) -> pd.DataFrame:
    """Run ``scenario`` at every memory size for every CPU share of the handler.

    One row per run: ``cpu_share``, ``memory_mb``, ``billed_ms_per_message``,
    ``compute_usd_per_million`` (the on-demand GB-second line), ``cost_per_million_usd``
    (the whole bill), ``latency_p50_s`` and ``latency_p99_s``; all per processed message.
    """
    rows = []
    for share in cpu_shares:
        for memory_mb in memories_mb:
            run = simulate(scenario.with_changes({"function.memory_mb": int(memory_mb),
                                                  "handler.cpu_fraction": float(share)}),
                           seed=seed)
            s = run.summary
            rows.append({
                "cpu_share": float(share), "memory_mb": int(memory_mb),
                "billed_ms_per_message": billed_ms_per_message(run),
                "compute_usd_per_million": lambda_usd_per_million(run, ["compute_gb_s"]),
                "cost_per_million_usd": s["cost_per_million_usd"],
                "latency_p50_s": s["latency_p50_s"], "latency_p99_s": s["latency_p99_s"],
            })
    return pd.DataFrame(rows)


def _anchor(frame: pd.DataFrame) -> pd.Series:
    """The runs at one vCPU, where every CPU share runs alike: the closed form's anchor."""
    at = frame[frame["memory_mb"] == ONE_VCPU_MB]
    if at.empty:
        raise ValueError(f"the sweep needs a run at {ONE_VCPU_MB} MB (one vCPU) to anchor "
                         "the closed form")
    return at[["billed_ms_per_message", "compute_usd_per_million",
               "cost_per_million_usd"]].mean()


def power_tuning_theory(frame: pd.DataFrame, memory_mb, cpu_share) -> dict[str, np.ndarray]:
    """The closed form of the power-tuning curves, from the runs at 1,769 MB.

    ``billed_ms_per_message`` = its value at one vCPU x :func:`duration_factor`;
    ``compute_usd_per_million`` = its value at one vCPU x memory / 1,769 x the factor
    (GB-seconds = seconds x GB); ``cost_per_million_usd`` = that plus the rest of the
    bill (requests, SQS, logs), taken as at one vCPU. Vectorised over ``memory_mb``.
    """
    a = _anchor(frame)
    m = np.asarray(memory_mb, dtype=float)
    factor = duration_factor(m, cpu_share)
    compute = a["compute_usd_per_million"] * m / ONE_VCPU_MB * factor
    rest = a["cost_per_million_usd"] - a["compute_usd_per_million"]
    return {"billed_ms_per_message": a["billed_ms_per_message"] * factor,
            "compute_usd_per_million": compute, "cost_per_million_usd": rest + compute}


def _vcpu_line(ax) -> None:
    ax.axvline(ONE_VCPU_MB, label=f"1 vCPU ({ONE_VCPU_MB:,} MB)", zorder=1.8,
               **plotting.REFERENCE_STYLES[1])


def plot_power_tuning_curves(frame: pd.DataFrame, *, title: str | None = None):
    """Billed duration (left, log scale) and cost (right) per processed message against
    memory, one colour per CPU share, the closed form dashed in the same colour, one vCPU
    dotted; one legend below both panels.

    Memory is on a log scale, so each doubling is one step, and so is duration: a
    duration that halves with each doubling is a straight line. Returns the Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    memories = sorted(int(m) for m in frame["memory_mb"].unique())
    xs = np.geomspace(min(memories), max(memories), 200)
    with plotting.style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(plotting.WIDE_FIGSIZE[0] + 1, 6.0),
                                          layout="constrained")
        for i, (share, part) in enumerate(frame.sort_values("memory_mb").groupby("cpu_share")):
            colour = plotting.PALETTE[i % len(plotting.PALETTE)]
            curve = power_tuning_theory(frame, xs, share)
            for ax, col in ((left, "billed_ms_per_message"), (right, "cost_per_million_usd")):
                ax.plot(part["memory_mb"], part[col], marker="o", color=colour,
                        label=f"{share:.0%}")
                ax.plot(xs, curve[col], color=colour, linestyle="--", linewidth=1.6,
                        zorder=1.5)
        for ax in (left, right):
            _vcpu_line(ax)
            ax.set_xscale("log")
            ax.set_xticks(memories, [f"{m:,}" for m in memories])
            ax.minorticks_off()
            ax.set_xlabel("memory (MB, log scale)")
        left.set_yscale("log")
        low, high = left.get_ylim()
        ticks = [t for t in (50, 100, 200, 500, 1000, 2000, 5000, 10000) if low <= t <= high]
        left.set_yticks(ticks, [f"{t:,}" for t in ticks])
        left.minorticks_off()
        left.set_ylabel("billed duration per\nprocessed message (ms, log scale)")
        left.set_title("Duration", fontsize=plotting.STYLE["axes.labelsize"])
        right.set_ylim(0, 1.08 * float(frame["cost_per_million_usd"].max()))
        right.set_ylabel("cost per million\nprocessed messages (USD)")
        right.set_title("Cost", fontsize=plotting.STYLE["axes.labelsize"])
        handles, labels = left.get_legend_handles_labels()
        handles.append(Line2D([], [], color="0.2", linestyle="--", linewidth=1.6))
        labels.append("closed form")
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels),
                   title="CPU share of the handler's time (at 1 vCPU)")
        if title:
            fig.suptitle(title, fontsize=plotting.STYLE["axes.titlesize"],
                         fontweight=plotting.STYLE["axes.titleweight"])
    plt.close(fig)
    return fig


# -- provisioned concurrency ----------------------------------------------------------


def provisioned_sweep(scenario, rates_per_s: Sequence[float], provisioned: int,
                      seed: int = 1) -> pd.DataFrame:
    """The same traffic on demand and with ``provisioned`` environments, at each rate.

    One row per rate: ``rate_per_s``, ``utilisation`` (busy share of the provisioned
    environments, :func:`simlib.kpis.provisioned_utilisation`), ``on_demand_usd_per_million``
    and ``provisioned_usd_per_million`` (Lambda's part of each bill per million processed
    messages), ``requests_usd_per_million`` and ``gb_s_per_message`` of the on-demand run
    (for the closed form), and ``spillover`` (share of the provisioned run's invocations
    served on demand because every provisioned environment was busy).
    """
    if provisioned < 1:
        raise ValueError(f"provisioned = {provisioned!r}: at least one environment")
    rows = []
    for rate in rates_per_s:
        at = scenario.with_changes({"workload.rate_per_s": rate})
        od = simulate(at, seed=seed)
        pc = simulate(at.with_changes({"function.provisioned_concurrency": provisioned}),
                      seed=seed)
        inv = pc.invocations[pc.invocations["status"] != "throttled"]
        gb = od.scenario.function.memory_mb / 1024
        ran = od.invocations[od.invocations["status"] != "throttled"]
        rows.append({
            "rate_per_s": rate,
            "utilisation": kpis.provisioned_utilisation(pc),
            "on_demand_usd_per_million": lambda_usd_per_million(od),
            "provisioned_usd_per_million": lambda_usd_per_million(pc),
            "requests_usd_per_million": lambda_usd_per_million(od, ["requests"]),
            "gb_s_per_message": float(ran["billed_ms"].sum() / 1000 * gb
                                      / od.summary["messages_deleted"]),
            "spillover": float((~inv["provisioned"].astype(bool)).mean()),
        })
    return pd.DataFrame(rows)


def provisioned_theory(frame: pd.DataFrame, utilisation, architecture: str = "x86_64"):
    """Closed-form Lambda cost per million processed messages with provisioned
    concurrency, at ``utilisation`` u, with no spillover: requests + GB-seconds per
    message x (provisioned duration price + enabled price / u). GB-seconds and requests
    per message are the sweep's on-demand means. Returns (on_demand, provisioned)."""
    u = np.asarray(utilisation, dtype=float)
    g = 1e6 * float(frame["gb_s_per_message"].mean())
    r = float(frame["requests_usd_per_million"].mean())
    enabled = price("lambda", "provisioned_gb_s", architecture)
    on_demand = price("lambda", "compute_gb_s", architecture)
    executing = price("lambda", "provisioned_compute_gb_s", architecture)
    return r + g * on_demand + 0 * u, r + g * (executing + enabled / u)


def crossing_utilisation(frame: pd.DataFrame) -> float:
    """Utilisation at which the simulated provisioned and on-demand costs cross (linear
    interpolation between the two sweep points around the first sign change); NaN if
    they do not cross."""
    f = frame.sort_values("utilisation")
    diff = (f["provisioned_usd_per_million"] - f["on_demand_usd_per_million"]).to_numpy()
    u = f["utilisation"].to_numpy()
    for i in range(len(diff) - 1):
        if diff[i] > 0 >= diff[i + 1]:
            return float(u[i] + (u[i + 1] - u[i]) * diff[i] / (diff[i] - diff[i + 1]))
    return math.nan


def plot_break_even(frame: pd.DataFrame, provisioned: int, *, architecture: str = "x86_64",
                    title: str | None = None):
    """Lambda cost per million processed messages against the utilisation of the
    provisioned environments: the simulated points on demand and with ``provisioned``
    environments, the closed forms dashed, and the price list's break-even utilisation.
    Legend outside the data, right. Returns the Figure."""
    import matplotlib.pyplot as plt

    f = frame.sort_values("utilisation")
    u_star = break_even_utilisation(architecture)
    us = np.linspace(max(0.05, 0.8 * f["utilisation"].min()), 1.0, 200)
    theory_od, theory_pc = provisioned_theory(f, us, architecture)
    with plotting.style():
        fig, ax = plt.subplots(figsize=(plotting.FIGSIZE[0] + 2, plotting.FIGSIZE[1]),
                               layout="constrained")
        blue, orange = plotting.PALETTE[0], plotting.PALETTE[1]
        ax.plot(100 * f["utilisation"], f["on_demand_usd_per_million"], "o", color=blue,
                label="on demand (simulated)")
        ax.plot(100 * f["utilisation"], f["provisioned_usd_per_million"], "s", color=orange,
                label=f"{provisioned} provisioned (simulated)")
        ax.plot(100 * us, theory_od, color=blue, linestyle="--", linewidth=1.6,
                label="on demand (closed form)")
        ax.plot(100 * us, theory_pc, color=orange, linestyle="--", linewidth=1.6,
                label="provisioned (closed form)")
        ax.axvline(100 * u_star, label=f"break-even from the prices: {u_star:.0%}",
                   zorder=1.8, **plotting.REFERENCE_STYLES[1])
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 1.05 * float(max(f["provisioned_usd_per_million"].max(),
                                        f["on_demand_usd_per_million"].max())))
        ax.set_xlabel("utilisation of the provisioned environments (% of the time busy)")
        ax.set_ylabel("Lambda cost per million\nprocessed messages (USD)")
        ax.set_title(title or f"Provisioned concurrency pays only above {u_star:.0%} utilisation")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    plt.close(fig)
    return fig


# -- the panel ------------------------------------------------------------------------


def plot_cost_panel(result, sweep: pd.DataFrame, *, memory_mb: int, cpu_share: float,
                    title: str | None = None):
    """The lesson's panel: your run on the power-tuning sweep (left: the sweep's cost
    curves; dashed, the closed form through your run: your CPU share's compute line,
    which scales with memory, plus the rest of your bill, which does not; your run a
    star) and your run's bill line by line (right). Returns the Figure."""
    import matplotlib.pyplot as plt

    memories = sorted(sweep["memory_mb"].unique())
    xs = np.geomspace(min(memories), max(memories), 200)
    point = result.summary["cost_per_million_usd"]
    with plotting.style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(plotting.WIDE_FIGSIZE[0] + 2, 5.6),
                                          layout="constrained", width_ratios=[1.0, 1.15])
        for i, (share, part) in enumerate(sweep.sort_values("memory_mb").groupby("cpu_share")):
            left.plot(part["memory_mb"], part["cost_per_million_usd"], marker="o",
                      color=plotting.PALETTE[i % len(plotting.PALETTE)], linewidth=1.4,
                      alpha=0.7, label=f"CPU share {share:.0%}")
        # the closed form through your run: its compute line scales with memory, the rest
        # of its bill (requests, SQS, logs, NAT) does not
        compute = power_tuning_theory(sweep, xs, cpu_share)["compute_usd_per_million"]
        rest = point - lambda_usd_per_million(result, ["compute_gb_s"])
        left.plot(xs, rest + compute, color="black", linestyle="--", linewidth=1.8,
                  label="closed form, your settings")
        plotting.mark_point(left, memory_mb, point, label="your run")
        _vcpu_line(left)
        left.set_xscale("log")
        left.set_xticks(memories, [f"{m:,}" for m in memories])
        left.minorticks_off()
        left.set_ylim(0, 1.08 * max(point, float(sweep["cost_per_million_usd"].max()),
                                    float(np.max(rest + compute))))
        left.set_xlabel("memory (MB, log scale)")
        left.set_ylabel("cost per million processed messages (USD)")
        left.set_title("Your run on the sweep (curves: no NAT, 1 KB logs)",
                       fontsize=plotting.STYLE["axes.labelsize"])
        left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2,
                    fontsize=plotting.STYLE["legend.fontsize"] - 1)
        plotting.plot_bill({"your run": result}, ax=right,
                           title="Your run's bill, line by line")
        right.get_legend().remove()
        right.title.set_fontsize(plotting.STYLE["axes.labelsize"])
        if title:
            fig.suptitle(title, fontsize=plotting.STYLE["axes.titlesize"],
                         fontweight=plotting.STYLE["axes.titleweight"])
    plt.close(fig)
    return fig
