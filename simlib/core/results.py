"""The result of a run: tidy DataFrames and a summary, built once, when asked for.

Column and key names are the contract between the library, the notebooks, the tests
and scenario files (docs/design.md, "Outcomes"); do not rename them.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import pandas as pd

from simlib.core.messages import DELETED, DLQ, EXPIRED, FAILED, IN_FLIGHT, QUEUED
from simlib.core.pricing import Usage, billed_ms, cost_table, snapstart_billed_ms, sqs_request_units
from simlib.core.records import EXECUTION_FIELDS, INVOCATION_RECORD, TIMESERIES_COLUMNS, sample_step

INVOCATION_COLUMNS = (
    "function", "environment_id", "start_s", "end_s", "cold", "init_s", "billed_ms",
    "batch_size", "failed_items", "status", "provisioned",
)
MESSAGE_COLUMNS = (
    "message_id", "sent_s", "first_received_s", "finished_s", "receive_count", "executions",
    "successful_executions", "side_effects", "outcome", "poison",
)
SUMMARY_KEYS = (
    "messages_sent", "messages_deleted", "messages_failed", "messages_dlq", "messages_expired",
    "messages_unfinished", "executions", "duplicate_executions", "duplicate_side_effects",
    "invocations", "cold_starts", "cold_start_rate", "throttles", "errors", "timeouts",
    "max_concurrency", "latency_p50_s", "latency_p99_s", "db_connection_errors",
    "db_max_connections_used", "cost_usd", "cost_per_million_usd",
)


def duplicate_flags(message, start, end, ok) -> np.ndarray:
    """Which executions are duplicates (docs/design.md): as one starts, its message has
    already been processed successfully, or another execution of it is still running.

    Only messages executed more than once can have a duplicate, and they are usually
    few, so just their executions are sorted by message and start; within a message,
    an execution is a duplicate when an earlier-starting one succeeded or ends after it
    starts. Message ids are the model's (non-negative, below the number of messages).
    """
    message = np.asarray(message)
    n = len(message)
    dup = np.zeros(n, dtype=bool)
    if n == 0:
        return dup
    repeated = np.flatnonzero(np.bincount(message)[message] > 1)
    if len(repeated) == 0:
        return dup
    start, end = np.asarray(start)[repeated], np.asarray(end)[repeated]
    ok = np.asarray(ok, dtype=bool)[repeated]
    message = message[repeated]
    order = np.lexsort((start, message))
    m, s, e, k = message[order], start[order], end[order], ok[order]
    first = np.ones(len(m), dtype=bool)
    first[1:] = m[1:] != m[:-1]
    group = np.cumsum(first)
    prev_end = pd.Series(e).groupby(group).cummax().shift(1).to_numpy()
    succ_before = pd.Series(k.astype(np.int64)).groupby(group).cumsum().to_numpy() - k
    dup[repeated[order]] = ~first & ((prev_end > s) | (succ_before > 0))
    return dup


class Result:
    """Frames (``messages``, ``invocations``, ``timeseries``, ``cost``) and ``summary``."""

    def __init__(self, scenario, seed, end_s, messages, records, function, queue, database,
                 step_s):
        self.scenario = scenario
        self.seed = seed
        self.end_s = end_s
        self._msgs = messages
        self._records = records
        self._function = function
        self._queue = queue
        self._database = database
        self._step_s = step_s
        messages.freeze()
        self._censor_executions()
        self._settle_expiry()

    def _censor_executions(self) -> None:
        """Undo what an invocation worked out ahead but the run did not reach.

        Without a database or store a batch's timeline is computed when it starts, so a
        run stopped by its drain limit may hold records that start after the end (they
        never ran) or complete after it (still running: not processed successfully).
        """
        ex = self._records.executions
        # A record's end is worked out as a sum of its parts, the invocation's end as start +
        # duration: the two can differ by a rounding step, so a record that ended at the very
        # instant the run stopped (its invocation's end settled the last message) is done.
        end_s = self.end_s + 1e-6
        k = len(EXECUTION_FIELDS)
        if not ex or max(ex[2::k]) <= end_s:
            return
        msgs = self._msgs
        kept = []
        for i in range(0, len(ex), k):
            m, start, end, ok, effect = ex[i:i + k]
            if end <= end_s:
                kept.extend((m, start, end, ok, effect))
                continue
            if ok:
                msgs.successful[m] -= 1
            if effect:
                msgs.side_effects[m] -= 1
            if start >= end_s:
                msgs.executions[m] -= 1
            else:
                kept.extend((m, start, end, False, False))
        self._records.executions = kept

    def _settle_expiry(self) -> None:
        """Messages still queued or in flight whose retention ran out are expired."""
        msgs = self._msgs
        open_ = (msgs.state == QUEUED) | (msgs.state == IN_FLIGHT)
        gone = open_ & (msgs.expires_s <= self.end_s)
        if self.scenario.source == "sqs" and gone.any():
            msgs.state[gone] = EXPIRED
            msgs.finished_s[gone] = msgs.expires_s[gone]

    # -- frames -------------------------------------------------------------------------
    @cached_property
    def messages(self) -> pd.DataFrame:
        msgs = self._msgs
        return pd.DataFrame({
            "message_id": np.arange(msgs.n),
            "sent_s": msgs.sent_s,
            "first_received_s": msgs.first_received_s,
            "finished_s": msgs.finished_s,
            "receive_count": msgs.receive_count,
            "executions": msgs.executions,
            "successful_executions": msgs.successful,
            "side_effects": msgs.side_effects,
            "outcome": pd.Categorical(
                msgs.outcome_names(),
                categories=["deleted", "failed", "dlq", "expired", "in_queue", "in_flight"],
            ),
            "poison": msgs.poison,  # the message always fails (workload.poison_fraction)
        })

    @cached_property
    def _inv(self) -> dict[str, np.ndarray]:
        """Invocation records as columns (cheaper than a DataFrame for the summary)."""
        rows = self._records.invocations
        if rows:
            cols = {name: np.asarray(col) for name, col in zip(INVOCATION_RECORD, zip(*rows))}
        else:
            cols = {name: np.zeros(0) for name in INVOCATION_RECORD}
            cols["status"] = np.zeros(0, dtype=object)
        ran = cols["status"] != "throttled"
        billed = np.zeros(len(ran), dtype=np.int64)
        if ran.any():
            duration = (cols["end_s"] - cols["start_s"])[ran]
            if self.scenario.function.snapstart:
                # a cold start's restore is billed only in part (pricing.snapstart_billed_ms)
                restore = np.where(cols["cold"][ran].astype(bool), cols["init_s"][ran], 0.0)
                billed[ran] = snapstart_billed_ms(duration, restore)
            else:
                billed[ran] = billed_ms(duration)
        cols["billed_ms"] = billed
        cols["ran"] = ran
        return cols

    @cached_property
    def invocations(self) -> pd.DataFrame:
        cols = self._inv
        return pd.DataFrame({name: cols[name] for name in INVOCATION_COLUMNS})

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self._records.samples, columns=TIMESERIES_COLUMNS)
        step = self._step_s
        # sampled at the step that suits duration_s; coarsened if the drain ran long
        target = max(step, sample_step(self.end_s))
        if target != step and len(df):
            bucket = np.ceil(df["t_s"] / target - 1e-9) * target
            counts = df.groupby(bucket)[["throttles", "cold_starts"]].sum()
            levels = df[np.isclose(df["t_s"] % target, 0) | (df.index == len(df) - 1)]
            levels = levels.set_index(np.ceil(levels["t_s"] / target - 1e-9) * target)
            levels = levels.drop(columns=["throttles", "cold_starts"])
            df = levels.join(counts, how="left").reset_index(drop=True)[list(TIMESERIES_COLUMNS)]
        return df

    @cached_property
    def cost(self) -> pd.DataFrame:
        return cost_table(self.usage)

    # -- summary ------------------------------------------------------------------------
    @cached_property
    def usage(self) -> Usage:
        s = self.scenario
        fn = s.function
        inv = self._inv
        ran = inv["ran"]
        prov = inv["provisioned"].astype(bool)
        requests = int(ran.sum())
        horizon = self.end_s
        sqs = sum(self.sqs_requests.values())
        db = s.database
        snap_charged = fn.snapstart and not fn.runtime.startswith("java")
        inits = self._function.provisioned_init_s
        return Usage(
            architecture=fn.architecture,
            memory_mb=fn.memory_mb,
            requests=requests,
            on_demand_billed_ms=float(inv["billed_ms"][ran & ~prov].sum()),
            provisioned_billed_ms=float(inv["billed_ms"][ran & prov].sum()),
            provisioned_concurrency=fn.provisioned_concurrency,
            horizon_s=horizon,
            sqs_requests=int(sqs),
            log_gb=requests * fn.log_kb_per_invocation / 1024**2,
            nat_gb=self._msgs.n * fn.nat_kb_per_message / 1024**2,
            nat_hours=horizon / 3600.0 if fn.nat_kb_per_message > 0 else 0.0,
            database_hours=horizon / 3600.0 if db is not None else 0.0,
            database_usd_per_hour=db.instance_usd_per_hour if db is not None else 0.0,
            # SnapStart's cache and restore charges apply to Python and .NET, not Java
            # (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html)
            snapstart_cached_s=horizon if snap_charged else 0.0,
            snapstart_restores=int(self._function.cold_starts) if snap_charged else 0,
            proxy_hours=horizon / 3600.0 if db is not None and db.proxy else 0.0,
            proxy_vcpus=db.vcpus if db is not None else 0.0,
            # provisioned environments' INIT (allocation, recycles): no invocation carries it
            provisioned_init_billed_ms=float(np.sum(billed_ms(inits))) if inits else 0.0,
            # provisioned mode of the SQS mapping: EPU-hours (pollers.py)
            event_poller_hours=self._records.event_poller_s / 3600.0,
        )

    @property
    def provisioned_inits(self) -> int:
        """INIT runs of provisioned environments: one per environment at allocation and
        one per recycle (docs/design.md, "Execution environments"). Not cold starts: no
        invocation waits for them. Billed as ``lambda · provisioned_init_gb_s``."""
        return int(self._function.provisioned_inits)

    @cached_property
    def sqs_requests(self) -> dict[str, int]:
        """Billed SQS requests by kind; their sum is the bill's ``sqs · requests`` quantity.

        ``sends`` (one per message, more for payloads over 64 KB), ``receives`` (calls
        that returned messages), ``empty_receives`` (calls that returned none, long polls
        included: the pollers' cost of an idle queue), ``receive_payload_units`` (64 KB
        chunks of received payload beyond each call's first) and ``deletes``
        (DeleteMessageBatch calls). The bill has one line for all of them; only the
        queue that counted them can tell them apart. All zero for the ``api`` source.
        """
        q = self._queue
        if q is None:
            return dict.fromkeys(
                ("sends", "receives", "empty_receives", "receive_payload_units", "deletes"), 0)
        per_send = int(sqs_request_units(self.scenario.workload.payload_kb))
        return {
            "sends": int(self._msgs.n * per_send),
            "receives": int(q.receive_calls - q.empty_receive_calls),
            "empty_receives": int(q.empty_receive_calls),
            "receive_payload_units": int(q.receive_units),
            "deletes": int(q.delete_calls),
        }

    @cached_property
    def duplicates(self) -> np.ndarray:
        message, start, end, ok, _ = self._records.execution_columns()
        return duplicate_flags(message, start, end, ok)

    @cached_property
    def summary(self) -> dict:
        msgs = self._msgs
        state = msgs.state
        inv = self._inv
        status = inv["status"]
        ran = inv["ran"]
        invocations = int(ran.sum())
        # Environments started on demand, counted when they start: this includes the
        # cold invocations still running when the run ended (not yet rows).
        cold = int(self._function.cold_starts)
        deleted = state == DELETED
        latency = (msgs.finished_s - msgs.sent_s)[deleted]
        cost = float(self.cost["cost_usd"].sum())
        n_deleted = int(deleted.sum())
        db = self._database
        out = {
            "messages_sent": int(msgs.n),
            "messages_deleted": n_deleted,
            "messages_failed": int((state == FAILED).sum()),
            "messages_dlq": int((state == DLQ).sum()),
            "messages_expired": int((state == EXPIRED).sum()),
            "messages_unfinished": int(((state == QUEUED) | (state == IN_FLIGHT)).sum()),
            "executions": self._records.execution_count,
            "duplicate_executions": int(self.duplicates.sum()),
            "duplicate_side_effects": int(np.maximum(msgs.side_effects - 1, 0).sum()),
            "invocations": invocations,
            "cold_starts": cold,
            "cold_start_rate": cold / invocations if invocations else 0.0,
            "throttles": int((status == "throttled").sum()),
            "errors": int((status == "error").sum()),
            "timeouts": int((status == "timeout").sum()),
            "max_concurrency": int(self._function.max_busy),
            "latency_p50_s": float(np.percentile(latency, 50)) if len(latency) else math.nan,
            "latency_p99_s": float(np.percentile(latency, 99)) if len(latency) else math.nan,
            "db_connection_errors": int(db.connection_errors + db.borrow_timeouts) if db else 0,
            "db_max_connections_used": int(db.max_used) if db else 0,
            "cost_usd": cost,
            "cost_per_million_usd": cost / n_deleted * 1e6 if n_deleted else math.nan,
        }
        assert tuple(out) == SUMMARY_KEYS
        return out

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<Result seed={self.seed} sent={s['messages_sent']} deleted={s['messages_deleted']} "
            f"dlq={s['messages_dlq']} duplicates={s['duplicate_executions']} "
            f"cost=${s['cost_usd']:.4f}>"
        )


__all__ = ["Result", "duplicate_flags"]
