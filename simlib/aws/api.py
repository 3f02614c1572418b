"""Synchronous callers (an API in front of the function): the ``api`` event source.

Each workload arrival is one request with a batch of one. A request over the
concurrency cap, the scaling rate or the invocation rate gets a 429; the caller retries
429s only (not function errors) with exponential backoff and full jitter, up to
``caller.max_retries`` times (two by default, as an AWS SDK's standard retry mode), then
gives up: the request counts as failed. Requests are callbacks on SimPy
events rather than processes: two events per request keep a large run cheap.
"""

from __future__ import annotations

import simpy

from simlib.aws.invocation import Executor, run_now
from simlib.aws.lambda_service import LambdaFunction
from simlib.core.messages import DELETED, FAILED, IN_FLIGHT, MessageTable
from simlib.core.records import Records
from simlib.core.streams import KeyedColumns, Streams


class ApiCallers:
    """Sends each arrival as a synchronous invoke and settles it with the response."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario,
        messages: MessageTable,
        function: LambdaFunction,
        executor: Executor,
        records: Records,
        streams: Streams,
    ):
        self.env = env
        self.caller = scenario.caller
        self.msgs = messages
        self.function = function
        self.executor = executor
        self.records = records
        self.in_flight = 0
        self._jitter = KeyedColumns(streams, "caller", messages.n, lambda r, s: r.random(s))
        env.process(self._arrivals())

    def _arrivals(self):
        env, sent = self.env, self.msgs.sent_s
        for m in range(self.msgs.n):
            t = float(sent[m])
            if t > env.now:
                yield env.timeout(t - env.now)
            self._request(m, 0)

    def _request(self, m: int, attempt: int) -> None:
        env, fn, msgs = self.env, self.function, self.msgs
        now = env.now
        e = fn.acquire()
        if e is None:
            self.records.invocations.append((fn.name, -1, now, now, False, 0.0, 1, 1, "throttled", False))
            if attempt < self.caller.max_retries:
                cap = min(self.caller.backoff_max_s, self.caller.backoff_base_s * 2.0**attempt)
                delay = cap * float(self._jitter.column(attempt)[m])
                timer = env.timeout(delay)
                timer.callbacks.append(lambda _ev: self._request(m, attempt + 1))
            else:
                msgs.settle(m, FAILED, now)
            return
        msgs.receive_count[m] += 1
        if msgs.receive_count[m] == 1:  # (max: the clock can trail a send time by a rounding step)
            msgs.first_received_s[m] = max(now, msgs.sent_s[m])
        msgs.state[m] = IN_FLIGHT
        self.in_flight += 1
        cold = e.init_s > 0.0
        if self.executor.stepped:
            env.process(self._serve(m, e, now, cold))
            return
        res = run_now(self.executor.run(e, [m]))
        timer = env.timeout(res.duration_s)
        timer.callbacks.append(lambda _ev: self._respond(m, e, res, now, cold))

    def _serve(self, m, e, start, cold):
        """The same invocation as a process, when records must step through time."""
        res = yield from self.executor.run(e, [m])
        remaining = start + res.duration_s - self.env.now
        if remaining > 0:
            yield self.env.timeout(remaining)
        self._respond(m, e, res, start, cold)


    def _respond(self, m, e, res, start, cold) -> None:
        fn = self.function
        fn.release(e, res.reset)
        self.executor.finish(res)
        self.in_flight -= 1
        self.records.invocations.append(
            (fn.name, e.id, start, self.env.now, cold, res.init_s, 1, res.failed_items,
             res.status, e.provisioned)
        )
        self.msgs.settle(m, DELETED if res.succeeded else FAILED, self.env.now)
