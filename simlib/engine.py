"""simulate(): wire the modelled things together on one SimPy environment and run.

The engine owns no model logic of its own: it builds the arrivals, the queue or the
callers, the function, the database and the monitor, runs until every message is
settled (or ``workload.duration_s + run.drain_s``), and hands the raw state to
:class:`~simlib.results.Result`.
"""

from __future__ import annotations

import gc

import simpy

from simlib.api import ApiCallers
from simlib.database import DatabaseModel
from simlib.errors import ScenarioError
from simlib.handler import RecordDraws
from simlib.invocation import Executor
from simlib.lambda_service import LambdaFunction
from simlib.messages import MessageTable
from simlib.pollers import EventSourceMapping
from simlib.queue import SqsQueue
from simlib.records import Records, sample_step
from simlib.results import Result
from simlib.scenario import Scenario
from simlib.streams import Streams
from simlib.workload import arrival_times, poison_flags


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


def simulate(scenario: Scenario, seed: int = 0) -> Result:
    """Run ``scenario`` once with ``seed``; the same pair always gives the same result."""
    if not isinstance(scenario, Scenario):
        raise ScenarioError("scenario", type(scenario).__name__, "a simlib.Scenario")
    streams = Streams(seed)
    sent = arrival_times(scenario.workload, streams)
    messages = MessageTable(
        sent, poison_flags(scenario.workload, len(sent), streams), scenario.queue.retention_s
    )
    env = simpy.Environment()
    records = Records()
    database = DatabaseModel(scenario.database) if scenario.database is not None else None
    function = LambdaFunction(env, scenario, streams, database)
    draws = RecordDraws(scenario.handler, scenario.function, messages.n, streams)
    executor = Executor(env, scenario, messages, draws, database, streams, records)

    queue = callers = mapping = None
    if scenario.source == "sqs":
        queue = SqsQueue(env, scenario.queue, messages)
        mapping = EventSourceMapping(env, scenario, queue, function, executor, records)
    else:
        callers = ApiCallers(env, scenario, messages, function, executor, records, streams)

    duration = scenario.workload.duration_s
    limit = duration + scenario.run.drain_s
    monitor = _Monitor(env, sample_step(duration), function, database, queue, callers, mapping,
                       records)

    stop = env.event()

    def finish() -> None:
        if not stop.triggered and env.now >= duration:
            stop.succeed()

    messages.on_all_settled = finish

    def clock():
        yield env.timeout(duration)
        if messages.settled == messages.n:
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
    if queue is not None and mapping is not None:
        mapping.close()
    return Result(
        scenario=scenario,
        seed=seed,
        end_s=float(env.now),
        messages=messages,
        records=records,
        function=function,
        queue=queue,
        database=database,
        step_s=monitor.step,
    )


__all__ = ["simulate"]
