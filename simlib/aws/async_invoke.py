"""Lambda asynchronous invocation: a function's internal event queue and its retries.

What ``InvocationType=Event`` (and SNS, EventBridge, S3 and asynchronous destinations)
use. The rules, from https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
and invocation-async-configuring.html (figures in ``simlib.limits``):

- an invoke is always accepted into the function's queue (the caller sees success);
- a function error (its code raised, a timeout, a failed INIT) is retried
  ``maximum_retry_attempts`` times (0-2), one minute and then two minutes after the
  failed attempt ended;
- a throttle (429) returns the event to the queue with a delay that starts at 1 s and
  doubles to at most 5 minutes;
- an event older than ``maximum_event_age_s`` is not invoked again: it goes to the
  on-failure destination, else to the function's dead-letter queue, else it is dropped
  with its reason (``unattempted`` when it never ran, ``maximum_event_age`` when it ran
  and waits for a retry, ``retries_exhausted`` when its last retry failed); an event
  whose retries are exhausted goes the same way;
- a successful event goes to the on-success destination, if any;
- "it's possible for it to receive the same event from Lambda multiple times because
  the queue itself is eventually consistent": each event runs a second time with
  probability ``duplicate_rate`` (AWS gives no rate: an assumption).

How Lambda's internal pollers read the queue is not documented ("if the queue contains
many entries, Lambda increases the retry interval and reduces the rate at which it reads
events"). The model's queue is read in rounds: a round starts when an event arrives
while the function has concurrency to spare, when an invocation of the function ends, or
when a retry falls due, and takes the oldest ready events (retries that fell due first)
until an invoke is refused. The refused invoke is one throttle: that event backs off as
above, the others wait unattempted for the next round. So at its cap the function is
offered one event too many per round (per invocation that ends, and per retry that falls
due), and a slow function builds up a backlog rather than a storm of refused invokes;
but once every waiting event is backing off, a freed environment stays idle until the
next retry falls due, as a back-off implies (after a spike the function can run below
its cap while events wait). An event (or a duplicate delivery of it) is given up when it
reaches its maximum age, not at its next retry.
"""

from __future__ import annotations

import heapq
from collections import deque

import simpy

from simlib.aws.invocation import Executor, run_now
from simlib.aws.lambda_service import LambdaFunction
from simlib.core import limits
from simlib.core.messages import DELETED, DESTINATION, DLQ, IN_FLIGHT, QUEUED, MessageTable
from simlib.core.records import Records
from simlib.core.scenario import AsyncInvoke
from simlib.core.streams import GrowingKeyedColumns, Streams

_ROUNDING_S = 1e-9  # a floating-point step of the clock, well below any modelled delay

# why an event that failed or aged out went to a destination, a DLQ or nowhere
RETRIES_EXHAUSTED = "retries_exhausted"
MAXIMUM_EVENT_AGE = "maximum_event_age"
UNATTEMPTED = "unattempted"


class AsyncEventQueue:
    """The internal queue of one function's asynchronous invocations.

    ``route(kind, target, m)`` hands event ``m`` on to the resource named ``target``
    (``kind``: ``on_success``, ``on_failure`` or ``dlq``); the engine provides it.
    """

    def __init__(
        self,
        env: simpy.Environment,
        config: AsyncInvoke,
        messages: MessageTable,
        function: LambdaFunction,
        executor: Executor,
        records: Records,
        streams: Streams,
        route,
    ):
        self.env = env
        self.cfg = config
        self.msgs = messages
        self.function = function
        self.executor = executor
        self.records = records
        self.route = route
        self._ready: deque[int] = deque()  # event ids (a duplicate copy as ~id), oldest first
        self._retries: list[tuple[float, int, int]] = []  # (due, seq, event) heap
        self._seq = 0
        self._throttled: list[int] = []  # per event: throttles so far
        self._errors: list[int] = []  # per event: failed attempts so far
        self.running = 0
        self.to_dlq = 0
        self.to_destination = 0
        self.duplicates = 0
        self._wake: simpy.Event | None = None
        self._timer_at = float("inf")
        self._duplicate_draws = GrowingKeyedColumns(streams, "duplicate", lambda r, s: r.random(s))
        messages.add_grower(self._duplicate_draws)
        self._duplicate_col = self._duplicate_draws.column(0)
        function.on_release = self._kick
        env.process(self._dispatcher())

    # -- arrivals ------------------------------------------------------------------------
    def deliver(self, parent: int, origin: int, poison: bool = False, attr: int = -1) -> int:
        """Accept one asynchronous invoke now; returns the event's id."""
        m = self.msgs.append(self.env.now, poison, parent, origin, attr)
        self._throttled.append(0)
        self._errors.append(0)
        self._ready.append(m)
        if self._has_room():
            self._kick()
        elif self.function.busy == 0:
            # it waits, unattempted, for an invocation to end (Lambda's pollers do not
            # hammer a function at its cap with every new event: "reduces the rate at
            # which it reads events from the queue"); with none running to end (reserved
            # concurrency 0, the account's pool held by other functions), the queue still
            # looks at it when it reaches its maximum age
            expiry = self.env.now + self.cfg.maximum_event_age_s
            if expiry < self._timer_at or self._timer_at <= self.env.now:
                self._timer_at = expiry
                self.env.timeout(self.cfg.maximum_event_age_s).callbacks.append(self._kick)
        return m

    def _has_room(self) -> bool:
        """Whether an environment could be had now as far as concurrency goes (the
        invocation rate and the scaling rate may still refuse it)."""
        fn = self.function
        if fn.busy >= fn.cap:
            return False
        pool = fn.pool
        return pool is None or pool.busy < pool.cap

    # -- levels --------------------------------------------------------------------------
    @property
    def backlog(self) -> int:
        """Events waiting in the queue: ready to run or waiting for a retry."""
        return sum(1 for x in self._ready if x >= 0) + len(self._retries)

    def oldest_age_s(self) -> float:
        """Age of the oldest event waiting (0 when none waits)."""
        sent, now = self.msgs.sent_s, self.env.now
        oldest = now
        for x in self._ready:
            if x >= 0:
                oldest = min(oldest, sent[x])
                break
        for _, _, m in self._retries:
            oldest = min(oldest, sent[m])
        return now - oldest

    # -- the dispatcher ------------------------------------------------------------------
    def _kick(self, _event=None) -> None:
        w = self._wake
        if w is not None and not w.triggered:
            w.succeed()

    def _dispatcher(self):
        env = self.env
        while True:
            self._dispatch_ready()
            self._wake = env.event()
            # wake for the next retry, or when the oldest waiting event reaches its age
            due = self._retries[0][0] if self._retries else float("inf")
            for x in self._ready:
                if x >= 0:
                    due = min(due, self.msgs.sent_s[x] + self.cfg.maximum_event_age_s)
                    break
            if due < float("inf") and (due < self._timer_at
                                       or self._timer_at <= env.now + _ROUNDING_S):
                self._timer_at = due
                env.timeout(max(0.0, due - env.now)).callbacks.append(self._kick)
            yield self._wake
            self._wake = None

    def _dispatch_ready(self) -> None:
        env, msgs, ready, fn = self.env, self.msgs, self._ready, self.function
        now = env.now
        retries = self._retries
        max_age = self.cfg.maximum_event_age_s
        sent = msgs.sent_s
        due: list[int] = []
        # A timer set for ``due`` may fire one rounding step early (now + (due - now) need
        # not equal due): what falls due within that step is due now.
        soon = now + _ROUNDING_S
        while retries and retries[0][0] <= soon:
            due.append(heapq.heappop(retries)[2])
        # retries that fell due go first, oldest first: they were sent before anything
        # still waiting its first attempt
        for m in sorted(due, key=lambda m: (sent[m], m), reverse=True):
            ready.appendleft(m)
        while ready:
            x = ready[0]
            if x >= 0 and soon >= sent[x] + max_age:  # (the same sum as _retry_at's)
                ready.popleft()
                self._fail(x, UNATTEMPTED if msgs.receive_count[x] == 0 else MAXIMUM_EVENT_AGE)
                continue
            if x < 0 and soon >= sent[~x] + max_age:  # a duplicate delivery too old to run
                ready.popleft()
                continue
            e = fn.acquire()
            if e is None:
                self.records.invocations.append(
                    (fn.name, -1, now, now, False, 0.0, 1, 1, "throttled", False))
                ready.popleft()
                if x >= 0:  # a duplicate copy refused is not retried (an assumption)
                    k = self._throttled[x]
                    self._throttled[x] = k + 1
                    delay = min(limits.ASYNC_THROTTLE_RETRY_FIRST_S * 2.0 ** min(k, 30),
                                limits.ASYNC_THROTTLE_RETRY_MAX_S)
                    self._retry_at(x, now + delay)
                return
            ready.popleft()
            self._start(x, e)

    def _retry_at(self, m: int, due: float) -> None:
        """Put ``m`` back for a retry at ``due``; if it would be past its maximum age by
        then, it is looked at when it reaches that age instead (and given up then)."""
        self.msgs.state[m] = QUEUED
        self._seq += 1
        expiry = self.msgs.sent_s[m] + self.cfg.maximum_event_age_s
        heapq.heappush(self._retries, (min(due, expiry), self._seq, m))

    # -- one invocation ------------------------------------------------------------------
    def _start(self, x: int, e) -> None:
        env, msgs = self.env, self.msgs
        now = env.now
        copy = x < 0
        m = ~x if copy else x
        rc = msgs.receive_count[m] + 1
        msgs.receive_count[m] = rc
        if rc == 1:
            msgs.first_received_s[m] = now
            if self._duplicate_col[m] < self.cfg.duplicate_rate:
                # delivered twice: the copy runs as a separate invocation
                self.duplicates += 1
                self._ready.append(~m)
        if not copy:
            msgs.state[m] = IN_FLIGHT
        self.running += 1
        cold = e.init_s > 0.0
        if self.executor.stepped:
            env.process(self._serve(x, e, now, cold))
            return
        res = run_now(self.executor.run(e, [m]))
        env.timeout(res.duration_s).callbacks.append(
            lambda _ev: self._respond(x, e, res, now, cold))

    def _serve(self, x, e, start, cold):
        m = ~x if x < 0 else x
        res = yield from self.executor.run(e, [m])
        remaining = start + res.duration_s - self.env.now
        if remaining > 0:
            yield self.env.timeout(remaining)
        self._respond(x, e, res, start, cold)

    def _respond(self, x, e, res, start, cold) -> None:
        env, fn = self.env, self.function
        now = env.now
        fn.release(e, res.reset)
        self.executor.finish(res)
        self.running -= 1
        self.records.invocations.append(
            (fn.name, e.id, start, now, cold, res.init_s, 1, res.failed_items, res.status,
             e.provisioned))
        if x < 0:
            # a duplicate copy: the original decides the event's fate; the run waits for
            # the copy to end (the stop condition counts copies still running)
            if self.msgs.settled == self.msgs.n and self.msgs.on_all_settled is not None:
                self.msgs.on_all_settled()
            return
        m = x
        if res.succeeded:
            if self.cfg.on_success is not None:
                self.route("on_success", self.cfg.on_success, m)
            self.msgs.settle(m, DELETED, now)
            return
        k = self._errors[m]
        self._errors[m] = k + 1
        if k < self.cfg.maximum_retry_attempts:
            self._retry_at(m, now + limits.ASYNC_ERROR_RETRY_DELAYS_S[k])
            self._kick()
        else:
            self._fail(m, RETRIES_EXHAUSTED)

    def _fail(self, m: int, reason: str) -> None:
        """The event failed for good: on to the on-failure destination and/or the DLQ, or
        dropped with ``reason``.

        "You can configure destinations in addition to or instead of a dead-letter queue"
        (the PutFunctionEventInvokeConfig API reference): with both, the model sends the
        event to both, and its outcome is ``destination``.
        """
        cfg, msgs, now = self.cfg, self.msgs, self.env.now
        if cfg.on_failure is None and cfg.dlq is None:
            msgs.drop(m, reason, now)
            return
        if cfg.dlq is not None:
            self.to_dlq += 1
            self.route("dlq", cfg.dlq, m)
        if cfg.on_failure is not None:
            self.to_destination += 1
            self.route("on_failure", cfg.on_failure, m)
            msgs.settle(m, DESTINATION, now)
        else:
            msgs.settle(m, DLQ, now)


__all__ = ["MAXIMUM_EVENT_AGE", "RETRIES_EXHAUSTED", "UNATTEMPTED", "AsyncEventQueue"]
