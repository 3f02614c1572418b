"""simulate(): wire the modelled things together on one SimPy environment and run.

The engine owns no model logic of its own: it builds the arrivals, the queue or the
callers, the function, the database and the monitor, runs until every message is
settled (or ``workload.duration_s + run.drain_s``), and hands the raw state to
:class:`~simlib.results.Result`.
"""

from __future__ import annotations

import gc

import numpy as np
import simpy

from simlib.aws import eventbridge, sns
from simlib.aws.api import ApiCallers
from simlib.aws.async_invoke import AsyncEventQueue
from simlib.aws.database import DatabaseModel
from simlib.aws.delivery import PushService
from simlib.aws.event_source_mapping import EventSourceMapping
from simlib.aws.handler import RecordDraws
from simlib.aws.invocation import Executor
from simlib.aws.lambda_service import AccountPool, LambdaFunction
from simlib.aws.sqs import SqsQueue
from simlib.aws.sqs_fifo import FifoQueue
from simlib.core.application import SHORT_FORM_NAMES, Application, SourceSpec
from simlib.core.application_result import ApplicationResult, _ApplicationMonitor
from simlib.core.attributes import AttributeStore
from simlib.core.errors import ScenarioError
from simlib.core.event_patterns import compile_pattern
from simlib.core.messages import MessageTable
from simlib.core.records import Records, sample_step
from simlib.core.results import Result
from simlib.core.scenario import Queue, Scenario
from simlib.core.streams import ChunkedStream, Streams
from simlib.core.workload import arrival_times, poison_flags


class _Monitor:
    """Samples levels every step and reclaims idle environments past their lifetime."""

    def __init__(self, env, step, function, database, queue, callers, mapping, records):
        self.env, self.step = env, step
        self.function, self.database = function, database
        self.queue, self.callers, self.records = queue, callers, records
        self.mapping = mapping
        env.process(self._run())

    def _row(self, throttles: int, cold_starts: int) -> tuple:
        fn, q, now = self.function, self.queue, self.env.now
        fn.sweep()
        if q is not None:
            visible, in_flight, dlq = q.visible(now), q.in_flight, q.dlq_depth
        else:
            visible, in_flight, dlq = 0, self.callers.in_flight, 0
        db = self.database.connections if self.database is not None else 0
        pollers = self.mapping.pollers if self.mapping is not None else 0
        return (now, fn.busy, fn.live, fn.idle, visible, in_flight, dlq, throttles,
                cold_starts, db, pollers)

    def sample(self) -> None:
        fn = self.function
        self.records.samples.append(self._row(fn.throttles_step, fn.cold_starts_step))
        fn.throttles_step = 0
        fn.cold_starts_step = 0

    def close(self) -> None:
        """Final sample at the end time, so the last row's levels are the run's final state.

        When a sample was already taken at the end instant, events of that same instant
        may have followed it (a receive, a move to the DLQ, a throttle): its levels are
        taken again and the counts made since are folded into it.
        """
        fn, last = self.function, self.records.samples[-1]
        if last[0] < self.env.now:
            self.sample()
        else:
            self.records.samples[-1] = self._row(last[7] + fn.throttles_step,
                                                 last[8] + fn.cold_starts_step)
            fn.throttles_step = fn.cold_starts_step = 0

    def _run(self):
        while True:
            self.sample()
            yield self.env.timeout(self.step)


class _Wiring:
    """Every resource's model objects for one run, on one SimPy environment.

    The short form is the application ``source -> queue -> mapping -> function ->
    database`` (or ``source -> function`` for ``api``); it is built by the same code, in
    the same order, from the unscoped random streams, so its results are unchanged.
    Tables of events: a queue's (its arrivals loaded before the run when only sources
    feed it, else appended as they are delivered), a function's asynchronous event
    queue's, and an ``api`` source's own.
    """

    def __init__(self, app: Application, seed: int, short: Scenario | None):
        self.app, self.short = app, short
        env = self.env = simpy.Environment()
        streams = Streams(seed)
        res = app.resources
        self.names = list(res)
        self.index = {name: i for i, name in enumerate(self.names)}

        def scoped(*names: str) -> Streams:
            if all(n in SHORT_FORM_NAMES for n in names):
                return streams.scoped(None)
            return streams.scoped("/".join(names))

        self.databases = {d.name: DatabaseModel(d.database) for d in app.of_kind("database")}
        functions = app.of_kind("function")
        pool = None
        if len(functions) > 1:
            reserved = sum(f.function.reserved_concurrency or 0 for f in functions)
            pool = AccountPool(app.account.concurrency_limit - reserved)
        self.pool = pool
        self.functions: dict[str, LambdaFunction] = {}
        for f in functions:
            scen = short if short is not None else app.unit_scenario(f.name)
            self.functions[f.name] = LambdaFunction(
                env, scen, scoped(f.name), self.databases.get(f.database), name=f.name,
                pool=pool)

        self.tables: dict[str, MessageTable] = {}  # table name -> events
        self.active: list[MessageTable] = []  # tables whose events someone consumes
        self.records: dict[str, Records] = {}  # consumer (mapping, async, api source) -> records
        self.queues: dict[str, SqsQueue] = {}
        self.mappings: dict[str, EventSourceMapping] = {}
        self.async_queues: dict[str, AsyncEventQueue] = {}
        self.callers: dict[str, ApiCallers] = {}
        self.edges: dict[tuple[str, str, str], int] = {}
        self.push: dict[str, PushService] = {}  # topics and buses
        self.attributes = AttributeStore()
        self._feeds: list[tuple[SourceSpec, str]] = []
        # consumer (mapping, function/async, api source) -> (its table, its function)
        self.consumers: dict[str, tuple[str, str]] = {}
        self.executors: dict[str, Executor] = {}
        async_targets = self._async_targets()

        for q in app.of_kind("queue"):
            inbound = app.inbound(q.name)
            if not q.fifo and inbound and all(kind == "source" for _, kind in inbound):
                table = self._preloaded([res[o] for o, _ in inbound], q.queue.retention_s, scoped)
            else:
                table = MessageTable.growing(q.queue.retention_s)
                self._feeds += [(res[o], q.name) for o, kind in inbound if kind == "source"]
            self.tables[q.name] = table
            if q.fifo:
                store = self.attributes

                def group_of(m: int, table=table, store=store) -> str:
                    return str(store.of(int(table.attr[m])).get("message_group", ""))

                def identity_of(m: int, table=table) -> int:
                    return int(table.attr[m])

                queue = FifoQueue(env, q.queue, table, group_of, identity_of)
            else:
                queue = SqsQueue(env, q.queue, table)
            self.queues[q.name] = queue
            if q.dlq is not None:
                queue.on_dlq = self._router(q.name, q.dlq, "dlq", table)
            consumers = app.mappings_of(q.name)
            if consumers:
                self.active.append(table)
            for m in consumers:
                scen = short if short is not None else app.unit_scenario(
                    m.function, queue=q.name, mapping=m.name)
                fn = self.functions[m.function]
                recs = self.records[m.name] = Records()
                draws = RecordDraws(scen.handler, scen.function, table.n, scoped(m.function, q.name),
                                    table)
                executor = Executor(env, scen, table, draws, fn.database,
                                    scoped(m.function, q.name), recs)
                executor.fifo = q.fifo
                self.executors[m.name] = executor
                self.mappings[m.name] = EventSourceMapping(env, scen, queue, fn, executor, recs)
                if m.filter is not None:
                    self.mappings[m.name].filter = (
                        compile_pattern(m.filter, f"resources.{m.name}.filter"),
                        self.attributes.of)
                self.consumers[m.name] = (q.name, m.function)

        for name in async_targets:
            f = res[name]
            scen = app.unit_scenario(name)
            table = self.tables[f"{name}/async"] = MessageTable.growing(scen.queue.retention_s)
            self.active.append(table)
            fn = self.functions[name]
            recs = self.records[f"{name}/async"] = Records()
            self.consumers[f"{name}/async"] = (f"{name}/async", name)
            draws = RecordDraws(scen.handler, scen.function, 0, scoped(name, "async"), table)
            executor = Executor(env, scen, table, draws, fn.database, scoped(name, "async"), recs)
            self.executors[f"{name}/async"] = executor
            self.async_queues[name] = AsyncEventQueue(
                env, f.async_invoke, table, fn, executor, recs, scoped(name, "async"),
                self._async_router(name, table))

        for src in app.of_kind("source"):
            if src.invoke == "api":
                scen = short if short is not None else app.unit_scenario(src.target,
                                                                           source=src.name)
                table = self.tables[src.name] = self._preloaded([src], scen.queue.retention_s,
                                                                scoped)
                self.active.append(table)
                fn = self.functions[src.target]
                recs = self.records[src.name] = Records()
                self.consumers[src.name] = (src.name, src.target)
                draws = RecordDraws(scen.handler, scen.function, table.n,
                                    scoped(src.target, src.name))
                executor = Executor(env, scen, table, draws, fn.database,
                                    scoped(src.target, src.name), recs)
                self.executors[src.name] = executor
                self.callers[src.name] = ApiCallers(env, scen, table, fn, executor, recs,
                                                    scoped(src.name))
            elif src.invoke == "event":
                self._feeds.append((src, src.target))
        for bus_or_topic in [*app.of_kind("topic"), *app.of_kind("bus")]:
            name = bus_or_topic.name
            table = self.tables[name] = MessageTable.growing(Queue().retention_s)
            self.active.append(table)
            rts = sns.routes(bus_or_topic) if bus_or_topic.kind == "topic" else \
                eventbridge.routes(bus_or_topic)
            self.push[name] = PushService(env, name, self.index[name], table, rts, scoped(name),
                                          self.attributes.of)
            self._feeds += [(res[o], name) for o, kind in app.inbound(name) if kind == "source"]
        for consumer, (table_name, fn_name) in self.consumers.items():
            if res[fn_name].emits:
                self.executors[consumer].emit = self._emitter(
                    res[fn_name], table_name, scoped(fn_name, table_name))
        for push in self.push.values():
            for route in push.routes:
                route.deliver = self._deliverer(route.target)
                if route.dlq is not None:
                    route.to_dlq = self._deliverer(route.dlq)
                    self.edges.setdefault((push.name, route.dlq, "dlq"), 0)
                    route.to_dlq = self._counted(route.to_dlq, (push.name, route.dlq, "dlq"))
        for src, target in self._feeds:
            t, p, a = self._source_events(src, scoped)
            self.edges[(src.name, target, "source")] = len(t)
            env.process(self._feed(t, p, a, src.name, target))

    # -- construction helpers ------------------------------------------------------------
    def _async_targets(self) -> list[str]:
        return async_targets(self.app)

    def _source_events(self, src: SourceSpec, scoped):
        """A source's sends: times, poison flags and attribute keys (the key is also the
        message's identity, which a producer's duplicate send shares and a FIFO queue
        deduplicates on)."""
        st = scoped(src.name)
        t = arrival_times(src.workload, st)
        p = poison_flags(src.workload, len(t), st)
        send = src.sending
        spec = dict(src.attributes)
        target = self.app.resources[src.target]
        if send.message_groups > 1 or getattr(target, "fifo", False):
            spec["message_group"] = [f"g{k}" for k in range(send.message_groups)]
        needs_identity = send.duplicate_send_rate > 0 or getattr(target, "fifo", False)
        a = self.attributes.draw(self.index[src.name], spec, len(t), st, needs_identity)
        if send.duplicate_send_rate > 0 and len(t):
            again = st.generator("duplicate", 1).random(len(t)) < send.duplicate_send_rate
            t = np.concatenate([t, t[again] + send.duplicate_send_delay_s])
            p = np.concatenate([p, p[again]])
            a = np.concatenate([a, a[again]])
            order = np.argsort(t, kind="stable")
            t, p, a = t[order], p[order], a[order]
        return t, p, a

    def _preloaded(self, sources: list[SourceSpec], retention_s: float, scoped) -> MessageTable:
        """A table whose arrivals are known before the run (only sources feed it)."""
        times, poisons, origins, attrs = [], [], [], []
        for src in sources:
            t, p, a = self._source_events(src, scoped)
            times.append(t)
            poisons.append(p)
            origins.append(np.full(len(t), self.index[src.name], dtype=np.int64))
            attrs.append(a)
            self.edges[(src.name, src.target, "source")] = len(t)
        with_attributes = any((a >= 0).any() for a in attrs)
        if len(sources) == 1:
            table = MessageTable(times[0], poisons[0], retention_s)
            table.source_origin = origins[0]
            if with_attributes:
                table.attr = attrs[0]
            return table
        order = np.argsort(np.concatenate(times), kind="stable")
        table = MessageTable(np.concatenate(times)[order], np.concatenate(poisons)[order],
                             retention_s)
        table.source_origin = np.concatenate(origins)[order]
        if with_attributes:
            table.attr = np.concatenate(attrs)[order]
        return table

    def _feed(self, times, poison, attrs, source: str, target: str):
        """Process: a source's events delivered at their send times (a queue that also
        receives from other resources, an asynchronous invoke, a topic or a bus)."""
        env, origin = self.env, self.index[source]
        deliver = self._deliverer(target)
        for t, p, a in zip(times.tolist(), poison.tolist(), attrs.tolist()):
            if t > env.now:
                yield env.timeout(t - env.now)
            deliver(-1, origin, p, a)

    def _deliverer(self, target: str):
        """deliver(parent, origin, poison, attr) for the resource named ``target``."""
        if target in self.queues:
            table, queue, now = self.tables[target], self.queues[target], self.env

            def to_queue(parent: int, origin: int, poison: bool = False, attr: int = -1) -> None:
                table.append(now.now, poison, parent, origin, attr)
                queue.arrived()

            return to_queue
        if target in self.push:
            return self.push[target].deliver
        return self.async_queues[target].deliver

    def _emitter(self, fn, table_name: str, streams: Streams):
        """emit(message ids): what ``fn``'s handler sends for each record it processed,
        ``per_record`` messages to each target (a fraction is the chance of one more,
        drawn in turn from the stream ``emit``); each keeps its record's attributes."""
        table = self.tables[table_name]
        origin = self.index[table_name.split("/")[0]]  # the resource holding the records
        targets = []
        for target, n in fn.emits:
            key = (fn.name, target, "emit")
            self.edges.setdefault(key, 0)
            targets.append((self._deliverer(target), int(n), n - int(n), key))
        draws = ChunkedStream(streams, "emit", lambda rng, size: rng.random(size))
        drawn = [0]
        edges = self.edges

        def emit(ms: list[int]) -> None:
            keys = table.attr
            for m in ms:
                attr = int(keys[m]) if keys is not None else -1
                for deliver, whole, frac, key in targets:
                    k = whole
                    if frac > 0.0:
                        k += draws[drawn[0]] < frac
                        drawn[0] += 1
                    for _ in range(k):
                        edges[key] += 1
                        deliver(m, origin, False, attr)

        return emit

    def _counted(self, deliver, key):
        """``deliver`` that counts on edge ``key``."""
        def counted(parent, origin, poison=False, attr=-1):
            self.edges[key] += 1
            deliver(parent, origin, poison, attr)

        return counted

    def _router(self, origin: str, target: str, kind: str, table: MessageTable):
        """on_dlq(m) for a queue: event ``m`` of ``origin`` goes on to ``target``."""
        key, o = (origin, target, kind), self.index[origin]
        self.edges[key] = 0
        deliver = None

        def route(m: int) -> None:
            nonlocal deliver
            if deliver is None:  # resolved on first use: every table exists by then
                deliver = self._deliverer(target)
            self.edges[key] += 1
            deliver(m, o, False, int(table.attr[m]) if table.attr is not None else -1)

        return route

    def _async_router(self, function: str, table: MessageTable):
        """route(kind, target, m) for a function's asynchronous destinations and DLQ."""
        cfg = self.app.resources[function].async_invoke
        o = self.index[function]
        delivers = {}
        for kind, target in (("on_success", cfg.on_success), ("on_failure", cfg.on_failure),
                             ("dlq", cfg.dlq)):
            if target is not None:
                self.edges[(function, target, kind)] = 0
                delivers[target] = None

        def route(kind: str, target: str, m: int) -> None:
            deliver = delivers[target]
            if deliver is None:  # resolved on first use: every table exists by then
                deliver = delivers[target] = self._deliverer(target)
            self.edges[(function, target, kind)] += 1
            deliver(m, o, False, int(table.attr[m]) if table.attr is not None else -1)

        return route


def async_targets(app: Application) -> list[str]:
    """Functions invoked asynchronously (an ``event`` source, or a destination), in the
    order they were written."""
    res, out = app.resources, []
    for name, r in res.items():
        if r.kind == "function" and any(
            k != "source" or res[o].invoke == "event" for o, k in app.inbound(name)
        ):
            out.append(name)
    return out


def _run(w: _Wiring, monitor, duration: float) -> None:
    """Run until every consumed event is settled after the sources stop, or the drain
    limit."""
    env = w.env
    limit = duration + w.app.run.drain_s
    stop = env.event()
    tables = w.active

    def settled() -> bool:
        return (all(t.settled == t.n for t in tables)
                and all(q.running == 0 for q in w.async_queues.values()))

    def finish() -> None:
        if not stop.triggered and env.now >= duration and settled():
            stop.succeed()

    for t in tables:
        t.on_all_settled = finish

    def clock():
        yield env.timeout(duration)
        finish()
        yield env.timeout(limit - duration)
        if not stop.triggered:
            stop.succeed()

    env.process(clock())
    # The run appends millions of small records to long-lived lists; the cyclic
    # garbage collector would rescan those lists again and again (a quarter of the
    # run time at 100,000 messages) while finding nothing to free, so it is paused for
    # the run and restored after it.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        env.run(until=stop)
    finally:
        if gc_was_enabled:
            gc.enable()
    monitor.close()
    for mapping in w.mappings.values():
        mapping.close()


def simulate(scenario: Scenario | Application, seed: int = 0) -> Result | ApplicationResult:
    """Run ``scenario`` (a pipeline, or an :class:`~simlib.application.Application`) once
    with ``seed``; the same pair always gives the same result."""
    if isinstance(scenario, Application):
        return _simulate_application(scenario, seed)
    if not isinstance(scenario, Scenario):
        raise ScenarioError("scenario", type(scenario).__name__,
                            "a simlib.Scenario or a simlib.Application")
    Streams(seed)  # the seed's check, before anything is built
    w = _Wiring(Application.from_scenario(scenario), seed, scenario)
    table = next(iter(w.tables.values()))
    records = next(iter(w.records.values()))
    function = w.functions["function"]
    database = w.databases.get("database")
    queue = w.queues.get("queue")
    mapping = w.mappings.get("mapping")
    callers = w.callers.get("source")
    duration = scenario.workload.duration_s
    monitor = _Monitor(w.env, sample_step(duration), function, database, queue, callers, mapping,
                       records)
    _run(w, monitor, duration)
    return Result(
        scenario=scenario,
        seed=seed,
        end_s=float(w.env.now),
        messages=table,
        records=records,
        function=function,
        queue=queue,
        database=database,
        step_s=monitor.step,
    )


def _simulate_application(app: Application, seed: int) -> ApplicationResult:
    Streams(seed)
    w = _Wiring(app, seed, None)
    duration = app.duration_s
    monitor = _ApplicationMonitor(w, sample_step(duration))
    _run(w, monitor, duration)
    return ApplicationResult(w, seed, float(w.env.now), monitor)


__all__ = ["async_targets", "simulate"]
