"""The result of an application run: the frames of docs/design.md, "Results contract".

Each consumer of events (an event source mapping, a function's asynchronous event
queue, an ``api`` source's callers) is one pipeline of the short form, and its raw state
is turned into frames by the short form's own :class:`~simlib.results.Result` (so
censoring at the end of the run, expiry, billing and duplicate detection are the same
code); this module stacks them with a ``resource`` column and adds what only an
application has: the event tables of every resource with each event's origin and
parent, the delivery ``edges``, a ``resources`` frame of per-resource counts, and the
bill per resource.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cached_property

import numpy as np
import pandas as pd

from simlib.core.messages import (
    APPLICATION_OUTCOMES,
    DELETED,
    DESTINATION,
    DLQ,
    DROPPED,
    EXPIRED,
    FAILED,
    FILTERED,
    IN_FLIGHT,
    QUEUED,
)
from simlib.core.pricing import Usage, cost_table, price, sqs_request_units
from simlib.core.results import INVOCATION_COLUMNS, SUMMARY_KEYS, Result

APPLICATION_SUMMARY_KEYS = (*SUMMARY_KEYS, "events_delivered", "events_dropped",
                            "events_filtered")
APPLICATION_TIMESERIES_COLUMNS = (
    "t_s", "resource", "kind", "concurrency", "environments", "idle_environments",
    "throttles", "cold_starts", "queue_visible", "in_flight", "dlq_depth", "pollers",
    "async_backlog", "async_oldest_age_s", "db_connections",
)
OUTCOME_CATEGORIES = ["deleted", "failed", "dlq", "expired", "destination", "dropped",
                      "filtered", "in_queue", "in_flight"]
DROP_REASONS = ("maximum_event_age", "retries_exhausted", "unattempted")
EDGE_COLUMNS = ("from", "to", "kind", "delivered", "failed", "filtered")
_NAN = math.nan


class _ApplicationMonitor:
    """Samples every resource's levels each step: one row per (time, resource)."""

    def __init__(self, wiring, step: int):
        self.w, self.step, self.env = wiring, step, wiring.env
        self.rows: list[tuple] = []
        self._last_t = -1.0
        self.env.process(self._run())

    def _sample(self, folded: dict[str, tuple[int, int]] | None = None) -> None:
        w, now = self.w, self.env.now
        rows = self.rows
        for name, fn in w.functions.items():
            fn.sweep()
            thr, cold = fn.throttles_step, fn.cold_starts_step
            if folded and name in folded:
                thr, cold = thr + folded[name][0], cold + folded[name][1]
            fn.throttles_step = fn.cold_starts_step = 0
            aq = w.async_queues.get(name)
            backlog = aq.backlog if aq is not None else _NAN
            age = aq.oldest_age_s() if aq is not None else _NAN
            rows.append((now, name, "function", fn.busy, fn.live, fn.idle, thr, cold,
                         _NAN, _NAN, _NAN, _NAN, backlog, age, _NAN))
        for name, q in w.queues.items():
            pollers = sum(m.pollers for m in w.mappings.values() if m.queue is q)
            rows.append((now, name, "queue", _NAN, _NAN, _NAN, _NAN, _NAN, q.visible(now),
                         q.in_flight, q.dlq_depth, pollers, _NAN, _NAN, _NAN))
        for name, db in w.databases.items():
            rows.append((now, name, "database", _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN,
                         _NAN, _NAN, _NAN, _NAN, db.connections))
        self._last_t = now

    def close(self) -> None:
        """A last sample at the end time, after that instant's events (as the short form)."""
        now = self.env.now
        if self._last_t < now:
            self._sample()
            return
        folded = {}
        while self.rows and self.rows[-1][0] == now:
            row = self.rows.pop()
            if row[2] == "function":
                folded[row[1]] = (row[6], row[7])
        self._sample(folded)

    def _run(self):
        while True:
            self._sample()
            yield self.env.timeout(self.step)


class ApplicationResult:
    """Frames (``messages``, ``invocations``, ``timeseries``, ``cost``, ``edges``,
    ``resources``) and ``summary`` of one application run."""

    def __init__(self, wiring, seed: int, end_s: float, monitor: _ApplicationMonitor):
        self.application = wiring.app
        self.seed = seed
        self.end_s = end_s
        self._w = wiring
        self._monitor = monitor
        app = wiring.app
        # one short-form Result per consumer: it freezes its table, censors what ran
        # past the end and settles expired messages
        self.pipelines: dict[str, Result] = {}
        for consumer, (table_name, fn_name) in wiring.consumers.items():
            if consumer in wiring.mappings:
                m = app.resources[consumer]
                scen = app.unit_scenario(fn_name, queue=m.queue, mapping=consumer)
            elif consumer in wiring.callers:
                scen = app.unit_scenario(fn_name, source=consumer)
            else:
                scen = app.unit_scenario(fn_name)
            fn = wiring.functions[fn_name]
            self.pipelines[consumer] = Result(
                scenario=scen, seed=seed, end_s=end_s, messages=wiring.tables[table_name],
                records=wiring.records[consumer], function=fn,
                queue=wiring.queues.get(table_name), database=fn.database, step_s=monitor.step)
        for name, table in wiring.tables.items():
            table.freeze()
            if name in wiring.queues and name not in self._active:
                # a queue nobody reads: what outlived its retention is gone (as Result does)
                st = table.state
                gone = ((st == QUEUED) | (st == IN_FLIGHT)) & (table.expires_s <= end_s)
                st[gone] = EXPIRED
                table.finished_s[gone] = table.expires_s[gone]

    # -- helpers -------------------------------------------------------------------------
    def _table_resource(self, table_name: str) -> tuple[str, str]:
        """(resource, kind) that holds a table."""
        if table_name.endswith("/async"):
            return table_name[: -len("/async")], "function"
        return table_name, self.application.resources[table_name].kind

    @cached_property
    def _active(self) -> list[str]:
        """Tables whose events someone consumes (a queue with a mapping, a function's
        asynchronous queue, an ``api`` source, a topic, a bus), in the order built."""
        active = {id(t) for t in self._w.active}
        return [name for name, t in self._w.tables.items() if id(t) in active]

    # -- frames --------------------------------------------------------------------------
    @cached_property
    def messages(self) -> pd.DataFrame:
        """One row per event held by a resource: its queue, a function's asynchronous
        event queue, or an ``api`` source's requests."""
        names = np.asarray(self._w.names, dtype=object)
        frames = []
        for table_name, t in self._w.tables.items():
            resource, _ = self._table_resource(table_name)
            n = t.n
            if t.origin is not None:
                origin_idx, parent = np.asarray(t.origin), np.asarray(t.parent)
            else:
                src = t.source_origin
                origin_idx = src if src is not None else np.zeros(n, dtype=np.int64)
                parent = np.full(n, -1, dtype=np.int64)
            reasons = np.full(n, "", dtype=object)
            for m, why in t.drop_reason.items():
                reasons[m] = why
            frames.append(pd.DataFrame({
                "resource": np.full(n, resource, dtype=object),
                "message_id": np.arange(n),
                "sent_s": t.sent_s,
                "first_received_s": t.first_received_s,
                "finished_s": t.finished_s,
                "receive_count": t.receive_count,
                "executions": t.executions,
                "successful_executions": t.successful,
                "side_effects": t.side_effects,
                "outcome": t.outcome_names(APPLICATION_OUTCOMES),
                "poison": t.poison,
                "origin": names[origin_idx] if n else np.zeros(0, dtype=object),
                "parent": parent,
                "drop_reason": reasons,
            }))
        df = pd.concat(frames, ignore_index=True)
        df["outcome"] = pd.Categorical(df["outcome"], categories=OUTCOME_CATEGORIES)
        store = self._w.attributes
        if store.names:
            keys = np.concatenate([
                np.asarray(t.attr) if t.attr is not None else np.full(t.n, -1, dtype=np.int64)
                for t in self._w.tables.values()])
            for name in store.names:
                df[f"attribute.{name}"] = store.column(name, keys)
        return df

    @cached_property
    def invocations(self) -> pd.DataFrame:
        """The short form's invocation rows, with the ``resource`` whose events ran
        (a queue, a function's asynchronous queue (the function), an ``api`` source)."""
        frames = []
        for consumer, r in self.pipelines.items():
            df = r.invocations.copy()
            table_name = self._w.consumers[consumer][0]
            df.insert(0, "resource", self._table_resource(table_name)[0])
            frames.append(df)
        if not frames:  # nothing invokes a function
            return pd.DataFrame({"resource": pd.Series(dtype=object),
                                 **{c: pd.Series(dtype=object) for c in INVOCATION_COLUMNS}})
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        return pd.DataFrame.from_records(self._monitor.rows,
                                         columns=APPLICATION_TIMESERIES_COLUMNS)

    @cached_property
    def edges(self) -> pd.DataFrame:
        """One row per delivery edge: what it delivered, what failed for good (an SNS
        subscription's or EventBridge target's retries ran out; then its DLQ, if any,
        got it) and what its filter kept out. A topic or bus has one row per
        subscription or rule target, in order."""
        rows = [(a, b, kind, n, 0, 0) for (a, b, kind), n in self._w.edges.items()]
        for push in self._w.push.values():
            rows += [(push.name, r.target, r.kind, r.delivered, r.failed, r.filtered)
                     for r in push.routes]
        return pd.DataFrame(rows, columns=list(EDGE_COLUMNS))

    @cached_property
    def resources(self) -> pd.DataFrame:
        """One row per resource and KPI: what each received and what became of it."""
        rows = []
        w = self._w
        for table_name, t in w.tables.items():
            resource, kind = self._table_resource(table_name)
            st = np.asarray(t.state)
            counts = {
                "received": t.n,
                "processed": int((st == DELETED).sum()),
                "failed": int((st == FAILED).sum()),
                "dlq": int((st == DLQ).sum()),
                "destination": int((st == DESTINATION).sum()),
                "filtered": int((st == FILTERED).sum()),
                "expired": int((st == EXPIRED).sum()),
                "dropped": int((st == DROPPED).sum()),
                "unfinished": int(((st == QUEUED) | (st == IN_FLIGHT)).sum()),
            }
            reasons = list(t.drop_reason.values())
            for why in DROP_REASONS:
                counts[f"dropped_{why}"] = reasons.count(why)
            counts["consumed"] = int(table_name in self._active)
            rows += [(resource, kind, k, v) for k, v in counts.items()]
        inv = self.invocations
        for name, fn in w.functions.items():
            mine = inv[inv["function"] == name]
            status = mine["status"]
            rows += [(name, "function", k, v) for k, v in (
                ("invocations", int((status != "throttled").sum())),
                ("throttles", int((status == "throttled").sum())),
                ("errors", int((status == "error").sum())),
                ("timeouts", int((status == "timeout").sum())),
                ("cold_starts", int(fn.cold_starts)),
                ("max_concurrency", int(fn.max_busy)),
            )]
        for src in self.application.of_kind("source"):
            sent = sum(n for (a, _, kind), n in w.edges.items() if a == src.name and kind == "source")
            rows.append((src.name, "source", "sent", sent))
        for name, db in w.databases.items():
            rows.append((name, "database", "max_connections_used", int(db.max_used)))
            rows.append((name, "database", "connection_errors",
                         int(db.connection_errors + db.borrow_timeouts)))
        return pd.DataFrame(rows, columns=["resource", "kind", "kpi", "value"])

    # -- the bill ------------------------------------------------------------------------
    @cached_property
    def cost(self) -> pd.DataFrame:
        """The bill, one line per resource, service and item (``resource`` first)."""
        w, app = self._w, self.application
        frames = []
        by_function: dict[str, list[Result]] = {}
        for consumer, (_, fn_name) in w.consumers.items():
            by_function.setdefault(fn_name, []).append(self.pipelines[consumer])
        for f in app.of_kind("function"):
            frames.append(self._function_cost(f, by_function.get(f.name, [])))
        for name, q in w.queues.items():
            table = w.tables[name]
            sends = table.n * int(sqs_request_units(app.payload_kb(name)))
            requests = sends + q.receive_calls + q.receive_units + q.delete_calls
            fifo = bool(app.resources[name].fifo)
            frames.append(self._lines(name, self._usage(sqs_requests=int(requests), fifo=fifo),
                                      {("sqs", "requests")}))
        for name in w.mappings:
            frames.append(self._lines(name, self._usage(
                event_poller_hours=w.records[name].event_poller_s / 3600.0),
                {("lambda", "event_poller_unit_hours")}))
        for name, push in w.push.items():
            topic = app.resources[name].kind == "topic"
            service, item = ("sns", "publish_requests") if topic else ("events", "put_events")
            # each 64 KB chunk of a published event is one request (SNS) or one event
            # (EventBridge), as for SQS (simlib.aws.sns, simlib.aws.eventbridge)
            count = push.table.n * int(sqs_request_units(app.payload_kb(name)))
            unit_price = price(service, item)
            frames.append(pd.DataFrame([{
                "resource": name, "service": service, "item": item, "quantity": float(count),
                "unit": "request" if topic else "event", "unit_price_usd": unit_price,
                "cost_usd": count * unit_price}]))
        for d in app.of_kind("database"):
            db = d.database
            usage = self._usage(database_hours=self.end_s / 3600.0,
                                database_usd_per_hour=db.instance_usd_per_hour,
                                proxy_hours=self.end_s / 3600.0 if db.proxy else 0.0,
                                proxy_vcpus=db.vcpus)
            frames.append(self._lines(d.name, usage, {("database", "instance_hours"),
                                                      ("database", "proxy_vcpu_hours")}))
        return pd.concat(frames, ignore_index=True)

    def _usage(self, **kw) -> Usage:
        base = {"architecture": "x86_64", "memory_mb": 128, "requests": 0,
                "on_demand_billed_ms": 0.0, "provisioned_billed_ms": 0.0,
                "provisioned_concurrency": 0, "horizon_s": self.end_s, "sqs_requests": 0}
        base.update(kw)
        return Usage(**base)

    @staticmethod
    def _lines(resource: str, usage: Usage, keep: set[tuple[str, str]]) -> pd.DataFrame:
        table = cost_table(usage)
        table = table[[(s, i) in keep for s, i in zip(table["service"], table["item"])]]
        table = table.reset_index(drop=True)
        table.insert(0, "resource", resource)
        return table

    def _function_cost(self, f, results: list[Result]) -> pd.DataFrame:
        fn = f.function
        if results:
            base = results[0].usage
            usage = dataclasses.replace(
                base,
                requests=sum(r.usage.requests for r in results),
                on_demand_billed_ms=sum(r.usage.on_demand_billed_ms for r in results),
                provisioned_billed_ms=sum(r.usage.provisioned_billed_ms for r in results),
                log_gb=sum(r.usage.log_gb for r in results),
                # NAT traffic per event the function received (the short form: per message)
                nat_gb=sum(int(r._inv["batch_size"][r._inv["ran"]].sum()) for r in results)
                * fn.nat_kb_per_message / 1024**2,
                sqs_requests=0, database_hours=0.0, proxy_hours=0.0, event_poller_hours=0.0)
        else:
            usage = self._usage(architecture=fn.architecture, memory_mb=fn.memory_mb,
                                provisioned_concurrency=fn.provisioned_concurrency)
        keep = {(s, i) for s, i in zip(*_LAMBDA_ITEMS)}
        return self._lines(f.name, usage, keep)

    # -- summary -------------------------------------------------------------------------
    @cached_property
    def summary(self) -> dict:
        """The short form's keys for the application as a whole, plus ``events_*``.

        Message counts are over the events of resources that someone consumes (a queue
        with a mapping, a function's asynchronous queue, an ``api`` source); events at
        rest in a queue nobody reads (a dead-letter queue without a consumer) are in the
        ``resources`` frame. ``messages_sent`` counts what the sources produced;
        ``events_delivered`` every event any resource received (fan-out and redrive
        included); ``cost_per_million_usd`` is per million events processed
        successfully (``messages_deleted``).
        """
        w = self._w
        active = [w.tables[t] for t in self._active]
        states = np.concatenate([np.asarray(t.state) for t in active]) if active else \
            np.zeros(0, dtype=np.int8)
        # latency: of events a function processed (a topic's or bus's own rows settle at
        # delivery, which is no processing)
        worked = [w.tables[t] for t in self._active if t not in w.push]
        latency = np.concatenate([
            (t.finished_s - t.sent_s)[np.asarray(t.state) == DELETED] for t in worked
        ]) if worked else np.zeros(0)
        pipes = list(self.pipelines.values())
        inv = [r._inv for r in pipes]
        invocations = sum(int(i["ran"].sum()) for i in inv)
        cold = sum(int(fn.cold_starts) for fn in w.functions.values())
        cost = float(self.cost["cost_usd"].sum())
        deleted = int((states == DELETED).sum())
        dbs = list(w.databases.values())
        sent = sum(n for (_, _, kind), n in w.edges.items() if kind == "source")
        if w.pool is not None:
            max_conc = int(w.pool.max_all_busy)
        else:
            max_conc = max((int(fn.max_busy) for fn in w.functions.values()), default=0)
        out = {
            "messages_sent": int(sent),
            "messages_deleted": deleted,
            "messages_failed": int((states == FAILED).sum()),
            "messages_dlq": int((states == DLQ).sum()),
            "messages_expired": int((states == EXPIRED).sum()),
            "messages_unfinished": int(((states == QUEUED) | (states == IN_FLIGHT)).sum()),
            "executions": sum(r._records.execution_count for r in pipes),
            "duplicate_executions": sum(int(r.duplicates.sum()) for r in pipes),
            "duplicate_side_effects": int(sum(
                np.maximum(np.asarray(t.side_effects) - 1, 0).sum() for t in active)),
            "invocations": invocations,
            "cold_starts": cold,
            "cold_start_rate": cold / invocations if invocations else 0.0,
            "throttles": sum(int((i["status"] == "throttled").sum()) for i in inv),
            "errors": sum(int((i["status"] == "error").sum()) for i in inv),
            "timeouts": sum(int((i["status"] == "timeout").sum()) for i in inv),
            "max_concurrency": max_conc,
            "latency_p50_s": float(np.percentile(latency, 50)) if len(latency) else math.nan,
            "latency_p99_s": float(np.percentile(latency, 99)) if len(latency) else math.nan,
            "db_connection_errors": sum(int(d.connection_errors + d.borrow_timeouts) for d in dbs),
            "db_max_connections_used": max((int(d.max_used) for d in dbs), default=0),
            "cost_usd": cost,
            "cost_per_million_usd": cost / deleted * 1e6 if deleted else math.nan,
            "events_delivered": int(sum(t.n for t in w.tables.values())),
            "events_dropped": int((states == DROPPED).sum()),
            # copies an SNS filter policy or EventBridge pattern kept out (one per route),
            # and events a mapping's filter deleted
            "events_filtered": sum(r.filtered for p in w.push.values() for r in p.routes) + sum(
                int((np.asarray(w.tables[t].state) == FILTERED).sum())
                for t in self._active if t not in w.push),
        }
        assert tuple(out) == APPLICATION_SUMMARY_KEYS
        return out

    def __repr__(self) -> str:
        s = self.summary
        return (f"<ApplicationResult seed={self.seed} resources={len(self.application.resources)} "
                f"sent={s['messages_sent']} deleted={s['messages_deleted']} "
                f"dropped={s['events_dropped']} cost=${s['cost_usd']:.4f}>")


# the bill's lines that belong to a function (the mapping's EPUs belong to the mapping)
_LAMBDA_ITEMS = tuple(zip(*[
    ("lambda", "requests"), ("lambda", "compute_gb_s"), ("lambda", "provisioned_gb_s"),
    ("lambda", "provisioned_compute_gb_s"), ("logs", "ingestion_gb"), ("nat", "processed_gb"),
    ("nat", "hours"), ("lambda", "snapstart_cache_gb_s"), ("lambda", "snapstart_restore_gb"),
    ("lambda", "provisioned_init_gb_s"),
]))

__all__ = ["APPLICATION_SUMMARY_KEYS", "ApplicationResult"]
