"""The SQS event source mapping: Lambda's pollers between the queue and the function.

Each poller is a SimPy process holding at most one batch: it long-polls the queue,
gathers up to ``batch_size`` messages (10 per ReceiveMessage) within the batching window,
invokes the function synchronously, then deletes what succeeded in DeleteMessageBatch
calls of up to 10. A throttled invoke keeps the batch on its poller, which retries at
growing intervals until the batch's visibility runs out; the messages then reappear with
their receive count raised (the over-pull that can send valid messages to the DLQ).

Scaling (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): the
mapping starts with 5 concurrent batches and, while messages wait and no poller is idle,
adds up to 300 per minute (5 each second) up to 1,250 concurrent invokes or its maximum
concurrency. When the queue is empty, a poller that waits through a whole empty long
poll retires, down to 2 pollers ("can optimize to as few as 2 concurrent invokes"), or
to 5 (or the maximum concurrency, if lower) when a maximum concurrency is set, where AWS
does not apply that optimisation.

Back-off (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
on function errors and on throttles Lambda "gradually backs off, reducing the amount of
concurrency allocated to your Amazon SQS event source mapping", except that with
ReportBatchItemFailures on it "doesn't scale down message polling when function
invocations fail" (throttles still back off), and "when the errors are resolved, Lambda
continues to scale" (https://repost.aws/knowledge-center/lambda-sqs-scaling). AWS gives
no rates; the model's assumptions, per one-second scaling tick, with ``level`` the lower
of the allowed concurrency and the running pollers (never below the low-traffic floor,
never above the ceiling):
- a tick with a throttle (the function cannot take more) cuts ``level`` by
  ``BACKOFF_SHARE`` (at least one poller) and holds the scale-up back;
- a tick with function errors (or timeouts) weighs them by their share of the invokes
  that ended in it: the allowed concurrency becomes
  ``level x (1 - BACKOFF_SHARE x share) + scale-up x (1 - share)``, so a mapping whose
  every invoke fails loses a tenth of its concurrency each second and stops growing,
  while one with 1 % errors hardly notices;
- a quiet tick lets it grow again at the scale-up rate.
A poller over the allowed level retires when its batch is done. A mapping does not account for reserved concurrency
(AWS notes it reads more than the function can take): the back-off is what brings an
over-pulling mapping down towards the function's limit.

Provisioned mode (``mapping.provisioned_min_pollers`` / ``provisioned_max_pollers``,
ProvisionedPollerConfig; https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html):
"each event poller can handle up to 1 MB/sec of throughput, up to 10 concurrent invokes,
or up to 10 Amazon SQS polling API calls per second. Lambda scales the number of event
pollers between your configured minimum and maximum, quickly adding up to 1,000
concurrency per minute". The model's pollers stay concurrent batches: the mapping starts
with, and never falls below, 10 per minimum event poller (they are provisioned: idle
retirement and the back-off stop there), adds up to 1,000 a minute by the same rule as
standard mode, up to 10 per maximum event poller (the 1,250 ceiling does not apply).
AWS documents no other scaling or back-off rule for provisioned mode, so the standard
mode's rules are kept (an assumption). The 1 MB/s and 10 polls/s per event poller are
not modelled. Billed event pollers (EPUs, https://aws.amazon.com/lambda/pricing/: "An
EPU supports one event poller"; "Pricing is based on the provisioned minimum event
pollers, and the event pollers consumed during autoscaling") are at each instant
max(minimum, ceil(concurrent batches / 10)), integrated over the run into
``records.event_poller_s`` (at least the minimum for one minute).
"""

from __future__ import annotations

import math

import simpy

from simlib.aws.invocation import Executor
from simlib.aws.lambda_service import LambdaFunction
from simlib.aws.sqs import SqsQueue
from simlib.core import limits
from simlib.core.event_patterns import matches
from simlib.core.messages import FILTERED
from simlib.core.records import Records

THROTTLE_RETRY_FIRST_S = 1.0  # first retry of a throttled invoke, then doubling
THROTTLE_RETRY_MAX_S = 60.0
SCALE_TICK_S = 1.0
# Share of the mapping's concurrency taken away in a second with a throttle, or in a
# second whose every ended invoke failed (errors count by their share); an assumption: AWS
# documents the back-off, not its rate (see the module docstring).
BACKOFF_SHARE = 0.1


class EventSourceMapping:
    """The pollers of one SQS → Lambda mapping."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario,
        queue: SqsQueue,
        function: LambdaFunction,
        executor: Executor,
        records: Records,
    ):
        m = scenario.mapping
        self.env = env
        self.queue = queue
        self.function = function
        self.executor = executor
        self.records = records
        self.payload_kb = scenario.workload.payload_kb
        by_payload = max(1, int(limits.BATCH_PAYLOAD_KB // self.payload_kb))
        self.batch_size = min(m.batch_size, by_payload)
        self.window_s = m.batching_window_s
        self.visibility_s = scenario.queue.visibility_timeout_s
        event_pollers = m.event_pollers  # (min, max) in provisioned mode, else None
        per = limits.INVOKES_PER_EVENT_POLLER
        if event_pollers is None:
            self.ceiling = min(limits.POLLERS_CEILING, m.max_concurrency or limits.POLLERS_CEILING)
            start = min(limits.POLLERS_START, self.ceiling)
            # the low-traffic level: 2 pollers, or 5 with a maximum concurrency (no
            # optimisation)
            self.floor = limits.POLLERS_IDLE_FLOOR if m.max_concurrency is None else start
            self.add_per_min = limits.POLLERS_ADD_PER_MIN
            self.min_event_pollers = None
        else:
            # provisioned: the minimum's invokes are ready from the start and stay
            self.min_event_pollers, max_event_pollers = event_pollers
            self.ceiling = max_event_pollers * per
            start = self.floor = self.min_event_pollers * per
            self.add_per_min = limits.PROVISIONED_ADD_PER_MIN
        self._add_carry = 0.0  # the fraction of a poller the scale-up rate has accrued
        # billed event pollers (provisioned mode): level, since when, seconds so far
        self._ep_level = self.min_event_pollers or 0
        self._ep_since = 0.0
        self.event_poller_s = 0.0
        # errors scale polling down unless reported item by item (ReportBatchItemFailures)
        self.errors_back_off = not m.report_batch_item_failures
        self.allowed = float(self.ceiling)  # concurrency the back-off currently allows
        self.pollers = 0
        self._waiting: dict[simpy.Event, float] = {}
        # invoke attempts of the current scaling tick: ended, ended in a (back-off) error
        self._ended_tick = self._failed_tick = self._throttled_tick = 0
        self._retiring = 0
        self._gathering_need = 0  # messages that pollers inside a batching window still want
        # an application's FilterCriteria: (compiled pattern, attributes of a key); None
        # passes everything
        self.filter = None
        for _ in range(start):
            self._start_poller()
        env.process(self._scaler())

    def _start_poller(self) -> None:
        self.pollers += 1
        if self.min_event_pollers is not None:
            self._count_event_pollers()
        self.env.process(self._poller())

    def _stop_poller(self) -> None:
        self.pollers -= 1
        if self.min_event_pollers is not None:
            self._count_event_pollers()

    def _count_event_pollers(self) -> None:
        """Provisioned mode: integrate the billed event pollers up to now when their
        number changes (max(minimum, ceil(pollers / 10)))."""
        level = max(self.min_event_pollers, -(-self.pollers // limits.INVOKES_PER_EVENT_POLLER))
        if level != self._ep_level:
            now = self.env.now
            self.event_poller_s += self._ep_level * (now - self._ep_since)
            self._ep_level, self._ep_since = level, now

    def close(self) -> None:
        """Bill the long polls of pollers still waiting when the run ends, and (in
        provisioned mode) the event pollers' seconds, at least the minimum for a minute."""
        for since in self._waiting.values():
            self.queue.count_long_polls(long_polls(self.env.now - since))
        if self.min_event_pollers is not None:
            now = self.env.now
            self.event_poller_s += self._ep_level * (now - self._ep_since)
            self._ep_since = now
            self.event_poller_s = max(self.event_poller_s,
                                      self.min_event_pollers * limits.EPU_MINIMUM_S)
            self.records.event_poller_s = self.event_poller_s

    # -- scaling -------------------------------------------------------------------------
    def _scaler(self):
        env, q = self.env, self.queue
        add_per_tick = self.add_per_min / 60.0 * SCALE_TICK_S
        while True:
            yield env.timeout(SCALE_TICK_S)
            now = env.now
            visible = q.visible(now)
            backlog = visible - self._gathering_need  # what no poller is about to take
            throttled = self._throttled_tick > 0
            level = min(self.allowed, float(self.pollers))
            if throttled:  # the function cannot take more: cut, and do not grow
                self.allowed = max(float(self.floor), level - max(1.0, level * BACKOFF_SHARE))
            elif self._failed_tick:  # errors: cut and grow in proportion to their share
                share = self._failed_tick / self._ended_tick
                self.allowed = max(float(self.floor), min(
                    float(self.ceiling),
                    level * (1.0 - BACKOFF_SHARE * share) + add_per_tick * (1.0 - share)))
            elif self.allowed < self.ceiling:
                self.allowed = min(float(self.ceiling), self.allowed + add_per_tick)
            if backlog > 0 and not self._waiting and not throttled:
                # whole pollers only; a fraction of the rate (1,000 a minute is 16.7 a
                # second) carries over to the next tick (5 a second leaves none)
                budget = self._add_carry + add_per_tick
                n = int(min(budget, self.allowed - self.pollers))
                self._add_carry = budget - n if n == int(budget) else 0.0
                for _ in range(n):
                    self._start_poller()
            elif visible == 0 and self.pollers > self.floor:
                for ev, since in list(self._waiting.items()):
                    if self.pollers - self._retiring <= self.floor:
                        break
                    if now - since >= limits.LONG_POLL_S and not ev.triggered:
                        q.cancel_wait(ev)
                        self._retiring += 1
                        ev.succeed(False)
            self._ended_tick = self._failed_tick = self._throttled_tick = 0

    # -- one poller ---------------------------------------------------------------------
    def _poller(self):
        env, q = self.env, self.queue
        first_call = min(limits.RECEIVE_MAX_MESSAGES, self.batch_size)
        while True:
            batch = q.receive(first_call, self.payload_kb, count_empty=False)
            if not batch:
                since = env.now
                ev = q.wait()
                self._waiting[ev] = since
                go = yield ev
                del self._waiting[ev]
                waited = env.now - since
                if waited >= limits.LONG_POLL_S:
                    q.count_long_polls(long_polls(waited))
                if go is False:
                    self._stop_poller()
                    self._retiring -= 1
                    return
                continue
            first_receive = env.now
            # Each message's receipt handle is the one of the receive that brought it
            # into this batch: a message whose visibility runs out while the poller still
            # gathers may be received again (by this poller or another); only the latest
            # receipt deletes, so the batch must keep the one it was given.
            rc = q.msgs.receive_count
            receipts = [(m, rc[m]) for m in batch]
            if len(batch) < self.batch_size and self.window_s > 0:
                yield from self._gather(batch, receipts, first_receive + self.window_s)
            yield from self._invoke(batch, receipts, first_receive)
            if self.pollers - self._retiring > self.allowed:
                self._stop_poller()  # backed off: this poller stops once its batch is done
                return

    def _gather(self, batch: list[int], receipts: list[tuple[int, int]], window_end: float):
        """Fill ``batch`` (and its ``receipts``) with messages as they become visible,
        until the window ends. A message that came back from this batch's own earlier
        receive (its visibility ran out inside the window) joins again with its new
        receipt: it will run twice, as on AWS."""
        env, q = self.env, self.queue
        rc = q.msgs.receive_count
        waiting: list[simpy.Event | None] = [None]

        def window_over(_event) -> None:
            ev = waiting[0]
            if ev is not None and not ev.triggered:
                q.cancel_wait(ev)
                ev.succeed(False)

        timer = env.timeout(window_end - env.now)
        timer.callbacks.append(window_over)
        first = True
        while len(batch) < self.batch_size:
            need = self.batch_size - len(batch)
            ev = waiting[0] = q.wait_for_batch(need, window_end, keep_place=not first)
            first = False
            self._gathering_need += need
            go = yield ev
            self._gathering_need -= need
            if go is False:
                break
            while len(batch) < self.batch_size:
                want = min(limits.RECEIVE_MAX_MESSAGES, self.batch_size - len(batch))
                more = q.receive(want, self.payload_kb)
                if not more:
                    break
                batch.extend(more)
                receipts.extend([(m, rc[m]) for m in more])
                if len(more) < want:
                    # Fewer than asked for means nothing else is visible: the poller's
                    # next call comes back empty (billed) without touching the queue.
                    q.count_empty_receive()
                    break
            if env.now >= window_end:
                break
        waiting[0] = None

    def _filtered(self, batch: list[int], receipts: list[tuple[int, int]]):
        """The batch without the messages the filter rejects, which are deleted: "Lambda
        deletes messages that don't match" (for SQS; https://docs.aws.amazon.com/lambda/
        latest/dg/invocation-eventfiltering.html)."""
        pattern, attributes_of = self.filter
        keys = self.queue.msgs.attr
        keep, drop = [], []
        for r in receipts:
            m = r[0]
            ok = matches(pattern, attributes_of(int(keys[m]) if keys is not None else -1))
            (keep if ok else drop).append(r)
        if drop:
            self.queue.delete(drop, FILTERED)
        return [r[0] for r in keep], keep

    def _invoke(self, batch: list[int], receipts: list[tuple[int, int]], first_receive: float):
        if self.filter is not None:
            batch, receipts = self._filtered(batch, receipts)
            if not batch:
                return
        env, fn, q, log = self.env, self.function, self.queue, self.records.invocations
        give_up_at = first_receive + self.visibility_s
        delay = THROTTLE_RETRY_FIRST_S
        while True:
            e = fn.acquire()
            if e is not None:
                break
            self._throttled_tick += 1
            now = env.now
            log.append((fn.name, -1, now, now, False, 0.0, len(batch), len(batch), "throttled", False))
            if now + delay >= give_up_at:
                return  # abandoned: the messages reappear when their visibility runs out
            yield env.timeout(delay)
            delay = min(delay * 2.0, THROTTLE_RETRY_MAX_S)
        start = env.now
        cold = e.init_s > 0.0
        res = yield from self.executor.run(e, batch)
        end = start + res.duration_s
        if end > env.now:
            yield env.timeout(end - env.now)
        end = env.now  # the clock at release (start + duration may differ by a rounding step)
        fn.release(e, res.reset)
        self.executor.finish(res)
        log.append((fn.name, e.id, start, end, cold, res.init_s, len(batch), res.failed_items,
                    res.status, e.provisioned))
        self._ended_tick += 1
        if self.errors_back_off and (res.status == "error" or res.status == "timeout"):
            self._failed_tick += 1
        if res.succeeded:
            if len(res.succeeded) == len(batch):
                q.delete(receipts)
            else:
                keep = set(res.succeeded)
                q.delete([r for r in receipts if r[0] in keep])


def long_polls(wait_s: float) -> int:
    """Empty ReceiveMessage calls made by a poller that long-polled for ``wait_s``."""
    return math.floor(wait_s / limits.LONG_POLL_S)
