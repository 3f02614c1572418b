"""Numbers derived from a Result beyond its summary: the lessons' second-order KPIs.

The summary's keys are a contract (docs/design.md, "Outcomes") that every stored lesson
output rests on, so it stays as it is. Lessons still need other numbers: the mean batch
size, the mean concurrency Little's law predicts, the share of the bill that is INIT,
one line of the bill. Each is defined here once, with its unit, so that two lessons
cannot compute "the mean batch size" two different ways, and a test can pin it.

Every function takes a :class:`~simlib.results.Result` and only reads its frames
(``invocations``, ``messages``, ``timeseries``, ``cost``) and counters; none changes it.
Invocation rows with status ``throttled`` are attempts that never ran: like the
summary's ``invocations``, the means here leave them out.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "busy_s_per_message",
    "cost_line_usd",
    "cost_per_million_by_line",
    "dlq_executed",
    "dlq_never_executed",
    "failed_executions",
    "init_share",
    "mean_batch_size",
    "mean_billed_ms",
    "mean_cold_start_s",
    "mean_concurrency",
    "mean_duration_s",
    "on_demand_utilisation",
    "per_message_counts",
    "provisioned_inits",
    "provisioned_utilisation",
    "receives_of_unfinished",
    "repeat_executions_over_time",
    "service_cost_per_million_usd",
    "sqs_request_breakdown",
]


def _ran(result) -> pd.DataFrame:
    """Invocation rows that ran (not throttled attempts)."""
    inv = result.invocations
    return inv[inv["status"] != "throttled"]


def _per_million_deleted(usd: float, result) -> float:
    """USD per million messages that finished ``deleted`` (the summary's convention)."""
    deleted = result.summary["messages_deleted"]
    return usd * 1e6 / deleted if deleted else math.nan


# -- invocations --------------------------------------------------------------------------


def mean_batch_size(result) -> float:
    """Mean messages per invocation (messages): how full the batches were.

    A batch size of 10 is a maximum, not a target; with no batching window the pollers
    hand over what is there, often one message. NaN when nothing ran.
    """
    return float(_ran(result)["batch_size"].mean())


def mean_duration_s(result) -> float:
    """Mean invocation duration (s), start to end, INIT included for cold starts.

    What each invocation held its environment for: init work moved into the handler
    shows up here on every invocation, not only on cold ones. NaN when nothing ran.
    """
    inv = _ran(result)
    return float((inv["end_s"] - inv["start_s"]).mean())


def mean_billed_ms(result) -> float:
    """Mean billed duration per invocation (ms): rounded up to 1 ms, INIT included.

    The number that memory power tuning trades against the price per GB-second.
    NaN when nothing ran.
    """
    return float(_ran(result)["billed_ms"].mean())


def mean_cold_start_s(result) -> float:
    """Mean time a cold start adds before the handler runs (s), over cold invocations.

    The ``init_s`` of each cold invocation: the runtime's INIT plus the function's own
    init work, or with SnapStart the restore that replaces both. What one unlucky
    request waits for, whatever the traffic. NaN when nothing was cold.
    """
    inv = result.invocations
    return float(inv.loc[inv["cold"], "init_s"].mean())


def busy_s_per_message(result) -> float:
    """Busy environment-seconds per message sent (s): invocation time, start to end,
    INIT included, shared out over every message of the run.

    The time each message holds an environment on average, so Little's law gives the
    mean concurrency as arrival rate x this. Batching lowers it (one INIT and one
    invocation serve several messages). NaN when no message was sent.
    """
    n = len(result.messages)
    return float(_busy_s(_ran(result)) / n) if n else math.nan


def on_demand_utilisation(result) -> float:
    """Busy share of the on-demand environments started, over the whole run (fraction).

    Busy seconds of invocations on on-demand environments over environments started
    (``summary["cold_starts"]``) x the run's length: as if every environment started
    had lived for the whole run, how much of it the average one spent working. Low
    values mean a burst started environments that then mostly waited. NaN when none
    started.
    """
    started = result.summary["cold_starts"]
    if not started:
        return math.nan
    inv = _ran(result)
    return float(_busy_s(inv[~inv["provisioned"]]) / (started * result.end_s))


def _busy_s(inv: pd.DataFrame) -> float:
    """Environment-seconds the invocations held their environments (s)."""
    return float((inv["end_s"] - inv["start_s"]).sum())


def init_share(result) -> float:
    """Share of the billed invocation time that was INIT (fraction, 0-1).

    INIT seconds of cold starts over all billed seconds: noise for a busy function whose
    environments stay warm, a large part of the bill for sparse traffic (AWS bills INIT
    of on-demand functions since 2025-08-01). NaN when nothing was billed.
    """
    inv = result.invocations  # throttled rows carry no INIT and no billed time
    billed_s = inv["billed_ms"].sum() / 1000
    return float(inv["init_s"].sum() / billed_s) if billed_s else math.nan


def provisioned_inits(result) -> int:
    """INIT runs of provisioned environments (count): one per environment at allocation
    plus one per recycle, about every ``function.max_lifetime_s``. None of them is a cold
    start (no invocation waits for it), but each is billed (``provisioned_init_gb_s``).
    0 when none is provisioned.
    """
    return int(result.provisioned_inits)


def provisioned_utilisation(result) -> float:
    """Share of the provisioned environments' enabled time spent executing (fraction).

    Busy seconds of invocations on provisioned environments over provisioned
    concurrency x the run's horizon. Compare it with the prices' break-even utilisation
    to see whether provisioned concurrency pays. NaN when none is provisioned.
    """
    provisioned = result.scenario.function.provisioned_concurrency
    if not provisioned:
        return math.nan
    inv = result.invocations
    busy_s = (inv["end_s"] - inv["start_s"])[inv["provisioned"]].sum()
    return float(busy_s / (provisioned * result.end_s))


# -- timeseries ---------------------------------------------------------------------------


def mean_concurrency(result, until_s: float | None = None) -> float:
    """Mean busy environments (environments) over the samples at ``t_s <= until_s``.

    ``until_s`` defaults to ``workload.duration_s``: the mean while messages arrive, the
    quantity Little's law predicts (arrival rate x time each message holds an
    environment); the drain after the arrivals stop would pull it down.
    """
    if until_s is None:
        until_s = result.scenario.workload.duration_s
    ts = result.timeseries
    return float(ts.loc[ts["t_s"] <= until_s, "concurrency"].mean())


# -- messages -----------------------------------------------------------------------------


def receives_of_unfinished(result) -> pd.DataFrame:
    """Receive counts of the messages that did not end ``deleted``, by outcome.

    One row per outcome that occurred (``dlq``, ``expired``, ...), columns ``count``
    (messages), ``min`` and ``max`` (receives per message). A poison message sent to
    the DLQ shows exactly ``max_receive_count`` receives; without a DLQ it cycles until
    retention ends.
    """
    m = result.messages
    unfinished = m[m["outcome"] != "deleted"]
    return (unfinished.groupby("outcome", observed=True)["receive_count"]
            .agg(["count", "min", "max"]))


def _dlq(result) -> pd.DataFrame:
    m = result.messages
    return m[m["outcome"] == "dlq"]


def dlq_never_executed(result) -> int:
    """Messages moved to the DLQ without ever reaching the handler (messages).

    Every receive of theirs ended before the record ran: the invoke was throttled
    (lesson 05's over-pull), or an earlier record failed the whole batch first. Valid
    messages lost without the handler ever seeing them, not poison it rejected.
    """
    return int((_dlq(result)["executions"] == 0).sum())


def dlq_executed(result) -> int:
    """Messages moved to the DLQ after running at least once (messages).

    Their executions never led to a delete before the receives ran out: a poison
    message failing every time, or a valid one whose batches kept failing or timing out.
    """
    return int((_dlq(result)["executions"] > 0).sum())


def failed_executions(result) -> int:
    """Executions that did not succeed (executions), summed over the messages.

    Handler failures, records cut off by a timeout or a database error, and, with an
    idempotency store, duplicates rejected because an earlier execution of the same
    message is still INPROGRESS. With no handler failures, timeouts or database errors,
    every one is such a rejection (lesson 07).
    """
    m = result.messages
    return int((m["executions"] - m["successful_executions"]).sum())


def repeat_executions_over_time(result, bin_s: float = 10.0) -> pd.Series:
    """Executions beyond each message's first (executions), by when it was first received.

    Indexed by the start of each ``bin_s`` bin of first-receive times (s since the
    start); messages never received are left out. With no failed executions (no
    handler failures, no timeouts) every execution after the first is a duplicate, so
    the series sums to ``summary["duplicate_executions"]``; otherwise retries of failed
    executions, which are not duplicates (docs/design.md, "Definitions"), are counted too.
    """
    if not bin_s > 0:
        raise ValueError(f"bin_s = {bin_s!r} is not allowed: seconds > 0")
    m = result.messages.dropna(subset=["first_received_s"])
    bins = m["first_received_s"] // bin_s * bin_s
    out = (m["executions"] - 1).groupby(bins).sum()
    out.index.name = "first_received_s"
    return out.rename("repeat_executions")


def per_message_counts(result, column: str = "executions", cap: int = 4) -> pd.Series:
    """How many messages had 0, 1, ..., ``cap`` or more ``column`` (messages per count).

    ``column`` is a count column of ``result.messages`` (``executions``,
    ``successful_executions``, ``side_effects``, ``receive_count``). The index is the
    count as text, the last one ``"4+"``, so that runs line up bar by bar.
    """
    m = result.messages
    if column not in m.columns:
        raise KeyError(f"not a messages column: {column!r}; known: {', '.join(m.columns)}")
    if not isinstance(cap, int) or cap < 1:
        raise ValueError(f"cap = {cap!r} is not allowed: an integer >= 1")
    counts = m[column].clip(upper=cap).value_counts().reindex(range(cap + 1), fill_value=0)
    counts.index = [str(i) for i in range(cap)] + [f"{cap}+"]
    counts.index.name = column
    return counts.astype(np.int64).rename("messages")


# -- the bill -----------------------------------------------------------------------------


def cost_line_usd(result, service: str, item: str) -> float:
    """The cost (USD) of one line of ``result.cost``, e.g. ``("nat", "processed_gb")``."""
    c = result.cost
    rows = c[(c["service"] == service) & (c["item"] == item)]
    if rows.empty:
        known = ", ".join(f"{s}/{i}" for s, i in zip(c["service"], c["item"]))
        raise KeyError(f"no cost line {service}/{item}; known: {known}")
    return float(rows["cost_usd"].sum())


def service_cost_per_million_usd(result, service: str) -> float:
    """One service's share of the bill (``lambda``, ``sqs``, ...) per million messages
    deleted (USD): the same denominator as the summary's ``cost_per_million_usd``."""
    c = result.cost
    if service not in set(c["service"]):
        raise KeyError(f"no service {service!r} in the bill; known: "
                       f"{', '.join(dict.fromkeys(c['service']))}")
    return _per_million_deleted(c.loc[c["service"] == service, "cost_usd"].sum(), result)


def cost_per_million_by_line(result) -> pd.Series:
    """Every line of the bill per million messages deleted (USD), indexed
    ``"service · item"`` in the bill's order (zero lines included)."""
    c = result.cost
    per_million = pd.Series(
        [_per_million_deleted(usd, result) for usd in c["cost_usd"]],
        index=pd.Index(c["service"] + " · " + c["item"], name="line item"),
        name="usd_per_million",
    )
    return per_million


def sqs_request_breakdown(result) -> pd.Series:
    """The bill's ``sqs · requests`` line split by kind (requests); it sums to that line.

    Index: ``sends``, ``receives`` (calls that returned messages), ``empty_receives``
    (long polls that returned nothing: what the pollers cost while the queue is idle),
    ``receive_payload_units`` (extra 64 KB chunks) and ``deletes`` (DeleteMessageBatch
    calls). See :attr:`simlib.results.Result.sqs_requests`.
    """
    return pd.Series(result.sqs_requests, name="requests", dtype=np.int64)
