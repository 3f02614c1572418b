"""The SQS standard queue: visibility timeout, receive counts, redrive to a DLQ, retention.

Messages are not SimPy objects. Arrivals are a sorted array read through a pointer;
received messages wait for their visibility deadline in one FIFO: the timeout is the
same for every receive and the clock only moves forward, so deadlines come in time
order and need no heap. A deadline that passes while the message is still undeleted
makes it visible again; a message deleted or received again since is stale and skipped
(its token is the receive count at the time of the receive, the model's receipt handle).

Idle consumers register as waiters; the queue schedules the longest-waiting one to wake
at the moment the next message becomes visible, so long polling costs one event per
wake rather than a timer per poller.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

import simpy

from simlib.core import limits
from simlib.core.messages import DELETED, DLQ, EXPIRED, IN_FLIGHT, QUEUED, MessageTable
from simlib.core.scenario import Queue


class ReceiveBilling:
    """What every SQS queue bills and hands out the same way, standard or FIFO
    (``receive_calls``, ``empty_receive_calls`` and ``msgs`` are the queue's)."""

    def count_empty_receive(self) -> None:
        """Bill one ReceiveMessage call that found nothing (made without looking)."""
        self.receive_calls += 1
        self.empty_receive_calls += 1

    def count_long_polls(self, empty_calls: int) -> None:
        """Bill the empty long polls (20 s each) a waiting consumer made."""
        self.receive_calls += empty_calls
        self.empty_receive_calls += empty_calls

    def receipt(self, m: int) -> int:
        """The receipt handle of message ``m``'s latest receive (its receive count)."""
        return self.msgs.receive_count[m]


class SqsQueue(ReceiveBilling):
    """One standard queue with its dead-letter queue, fed by pre-generated arrivals."""

    def __init__(self, env: simpy.Environment, config: Queue, messages: MessageTable):
        self.env = env
        self.msgs = messages
        self.visibility_s = config.visibility_timeout_s
        self.max_receives = config.max_receive_count
        self._next_arrival = 0  # arrivals before this index have been taken or examined
        # (visible again at, msg, token) in time order
        self._deadlines: deque[tuple[float, int, int]] = deque()
        self._returned: deque[tuple[float, int]] = deque()  # (visible since, msg), oldest first
        self.visible_returned = 0
        self.in_flight = 0
        self.dlq_depth = 0
        # billed API calls
        self.receive_calls = 0
        self.empty_receive_calls = 0
        self.receive_units = 0  # 64 KB units of received payload beyond the first
        self.delete_calls = 0
        self._gatherers: deque[simpy.Event] = deque()  # consumers filling a batch: first
        self._idle: deque[simpy.Event] = deque()  # consumers long-polling with nothing
        self._armed_at = math.inf
        self._claimed = 0  # messages the armed waiter(s) will take when they wake
        self._next_expiry = 0  # messages before this index have met their retention check
        # at this many messages in flight a receive returns nothing (the SQS quota)
        self.in_flight_max = limits.IN_FLIGHT_MAX_STANDARD
        # an application's redrive target: called with a message's id when it moves to the
        # dead-letter queue (None: the DLQ is implicit and has no consumer)
        self.on_dlq = None
        # Arrivals appended at run time (an application's queue fed by other resources)
        # cannot be foreseen, so a waiter is never armed for a later moment: it stays in
        # line and the queue looks again then (or at the next arrival).
        self._runtime_arrivals = messages.grows
        self._check_at = math.inf

    def arrived(self) -> None:
        """An event was appended to a growing table now: wake a waiting consumer for it."""
        if self._gatherers or self._idle:
            self._arm()

    # -- levels -------------------------------------------------------------------
    def _arrived(self, now: float) -> int:
        return bisect.bisect_right(self.msgs.sent_s, now)

    def visible(self, now: float) -> int:
        """ApproximateNumberOfMessagesVisible at ``now``."""
        self._release_deadlines(now)
        if self._next_expiry < self.msgs.n and self.msgs.expires_s[self._next_expiry] <= now:
            self._expire(now)
        return self._arrived(now) - self._next_arrival + self.visible_returned

    def _expire(self, now: float) -> None:
        """Delete the messages whose retention period ended by ``now``, wherever they are.

        SQS deletes a message when its retention period ends, whether it waits in the
        queue or is in flight (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/
        SQSDeveloperGuide/sqs-basic-architecture.html: "automatically deleted after the
        retention period"), so it leaves the visible and in-flight counts at that time.
        Retention is the same for every message, so messages expire in the order they
        were sent: one pointer walks them. Messages never received form the oldest part
        of the arrivals not yet taken, so the receive pointer simply moves past them.
        """
        msgs = self.msgs
        expires, state, n = msgs.expires_s, msgs.state, msgs.n
        k = self._next_expiry
        while k < n and expires[k] <= now:
            st = state[k]
            if st == QUEUED:
                if k >= self._next_arrival:
                    self._next_arrival = k + 1  # never received: an arrival not taken
                else:
                    self.visible_returned -= 1  # visible again (left in _returned lazily)
                msgs.settle(k, EXPIRED, expires[k])
            elif st == IN_FLIGHT:
                self.in_flight -= 1  # its visibility deadline is skipped as stale
                msgs.settle(k, EXPIRED, expires[k])
            k += 1
        self._next_expiry = k

    def next_visible_s(self) -> float:
        """Earliest time a message may become visible (an upper bound on the wait)."""
        if self.visible_returned > 0:
            return self.env.now
        msgs = self.msgs
        i = self._next_arrival
        t = msgs.sent_s[i] if i < msgs.n else math.inf
        pending = self._deadlines
        state, rc = msgs.state, msgs.receive_count
        while pending:
            due, m, token = pending[0]
            if state[m] == IN_FLIGHT and rc[m] == token:
                return min(t, due)
            pending.popleft()  # deleted or received again since: stale
        return t

    def time_visible(self, count: int) -> float:
        """Earliest time at which ``count`` messages may be visible (a consumer's wake-up).

        Exact for arrivals; a message returning from in-flight may come sooner, so the
        earliest pending visibility deadline bounds it too.
        """
        now = self.env.now
        have = self.visible_returned
        if have >= count:
            return now
        # the arrival that would make ``count``: visible already, or when it is sent
        k = self._next_arrival + count - have - 1
        t = self.msgs.sent_s[k] if k < self.msgs.n else math.inf
        if t <= now:
            return now
        pending = self._deadlines
        if pending:
            t = min(t, max(pending[0][0], now))
        return t

    # -- visibility -----------------------------------------------------------------
    def _release_deadlines(self, now: float) -> None:
        """Make messages whose visibility timeout passed visible again."""
        pending, state, rc = self._deadlines, self.msgs.state, self.msgs.receive_count
        while pending and pending[0][0] <= now:
            entry = pending.popleft()
            t = entry[0]
            if pending and pending[0][0] == t:
                # received at the same instant: they return in id order
                run = [entry]
                while pending and pending[0][0] == t:
                    run.append(pending.popleft())
                run.sort()
            else:
                run = (entry,)
            for _, m, token in run:
                if state[m] == IN_FLIGHT and rc[m] == token:
                    state[m] = QUEUED
                    self.in_flight -= 1
                    self.visible_returned += 1
                    self._returned.append((t, m))

    def receive(self, max_messages: int, payload_kb: float, count_empty: bool = True) -> list[int]:
        """One ReceiveMessage call (billed): up to ``max_messages`` (at most 10) ids.

        ``count_empty=False`` is for the start of a long poll: an empty answer is not a
        call yet; the waiter bills its empty long polls with :meth:`count_long_polls`.

        A message whose retention ran out is dropped; one whose next receive would exceed
        max_receive_count moves to the DLQ and is not delivered (as SQS redrive does).
        """
        now = self.env.now
        k = self._next_expiry
        if k < self.msgs.n and self.msgs.expires_s[k] <= now:
            self._expire(now)
        rearm = now >= self._armed_at
        if rearm:
            self._armed_at = math.inf  # the armed waiter's moment has come
            self._claimed = 0
        msgs, pending, i = self.msgs, self._deadlines, self._next_arrival
        if (
            not self.visible_returned
            and (i >= msgs.n or msgs.sent_s[i] > now)
            and (not pending or pending[0][0] > now)
        ):  # nothing visible: the common answer of an idle consumer's first call
            if count_empty:
                self.receive_calls += 1
                self.empty_receive_calls += 1
            if rearm:
                self._arm()
            return []
        if pending and pending[0][0] <= now:
            self._release_deadlines(now)
        room = self.in_flight_max - self.in_flight
        if room <= 0:  # the in-flight quota: a long poll gets nothing (billed as empty)
            if count_empty:
                self.receive_calls += 1
                self.empty_receive_calls += 1
            if self._gatherers or self._idle:
                self._arm()
            return []
        out: list[int] = []
        limit = min(limits.RECEIVE_MAX_MESSAGES, max_messages, room)
        rc, state, sent = msgs.receive_count, msgs.state, msgs.sent_s
        n, returned = msgs.n, self._returned
        max_receives = self.max_receives
        deadline = now + self.visibility_s
        taken = 0
        first_received = msgs.first_received_s
        while taken < limit:
            # the message visible longest: a returned one or the next arrival
            # (stale entries of returned messages deleted since are dropped here)
            while returned and state[returned[0][1]] != QUEUED:
                returned.popleft()
            arrival_ok = i < n and sent[i] <= now
            if returned and (not arrival_ok or returned[0][0] <= sent[i]):
                self.visible_returned -= 1
                m = returned.popleft()[1]
            elif not arrival_ok:
                break
            elif taken + 1 < limit and i + 1 < n and sent[i + 1] <= now:
                # A run of two or more arrivals older than any returned message, taken
                # in one go (batches under load): none was received before, so none is
                # due for the DLQ (and none has expired: _expire ran first).
                j = min(n, i + limit - taken)
                if sent[j - 1] > now:
                    j = bisect.bisect_right(sent, now, i, j)
                if returned:
                    j = bisect.bisect_left(sent, returned[0][0], i, j)
                k = j - i
                out.extend(range(i, j))
                pending.extend([(deadline, m, 1) for m in range(i, j)])
                rc[i:j] = [1] * k
                first_received[i:j] = [now] * k
                state[i:j] = [IN_FLIGHT] * k
                taken += k
                i = j
                continue
            else:
                m = i
                i += 1
            count = rc[m]
            if max_receives is not None and count >= max_receives:
                self.dlq_depth += 1
                if self.on_dlq is not None:
                    self.on_dlq(m)
                msgs.settle(m, DLQ, now)
                continue
            count += 1
            rc[m] = count
            if count == 1:
                first_received[m] = now
            state[m] = IN_FLIGHT
            pending.append((deadline, m, count))
            out.append(m)
            taken += 1
        self._next_arrival = i
        if out:
            self.in_flight += len(out)
            self.receive_calls += 1
            kb = len(out) * payload_kb
            if kb > limits.BILLING_CHUNK_KB:
                self.receive_units += math.ceil(kb / limits.BILLING_CHUNK_KB) - 1
        elif count_empty:
            self.receive_calls += 1
            self.empty_receive_calls += 1
        if self._gatherers or self._idle:
            self._arm()
        return out

    def delete(self, receipts: list[tuple[int, int]], outcome: int = DELETED) -> int:
        """DeleteMessageBatch calls (10 entries each) for (message, receipt) pairs.

        A receipt from an older receive deletes nothing if the message has been
        received again since; a message whose retention ran out is already gone.
        Returns how many messages were deleted.
        """
        if not receipts:
            return 0
        now = self.env.now
        self._release_deadlines(now)
        msgs = self.msgs
        if self._next_expiry < msgs.n and msgs.expires_s[self._next_expiry] <= now:
            self._expire(now)
        self.delete_calls += math.ceil(len(receipts) / limits.DELETE_BATCH_MAX)
        states, rc = msgs.state, msgs.receive_count
        done: list[int] = []
        for m, token in receipts:
            state = states[m]
            if rc[m] != token or (state != IN_FLIGHT and state != QUEUED):
                continue
            if state == IN_FLIGHT:
                self.in_flight -= 1
            else:  # visible again, still in the returned deque (dropped lazily)
                self.visible_returned -= 1
            done.append(m)
        msgs.settle_many(done, outcome, now)  # (FILTERED: a mapping's filter deleted them)
        return len(done)

    # -- waiting consumers -----------------------------------------------------------
    def wait(self) -> simpy.Event:
        """An idle consumer's long poll: fires when a message is visible for it."""
        ev = self.env.event()
        self._idle.append(ev)
        self._arm()
        return ev

    def wait_for_batch(self, need: int, until: float, keep_place: bool) -> simpy.Event:
        """A consumer filling a batch: fires when ``need`` more messages are visible or
        at ``until`` (its batching window's end), whichever comes first.

        Gatherers are served before idle consumers, first come first served;
        ``keep_place`` puts a gatherer that was just served back at the head, so one
        batch fills before the next. A gatherer further back is woken by its own
        window timer (:meth:`cancel_wait` then ``succeed(False)``).
        """
        ev = self.env.event()
        entry = (ev, need, until)
        if keep_place:
            self._gatherers.appendleft(entry)
        else:
            self._gatherers.append(entry)
        self._arm()
        return ev

    def cancel_wait(self, ev: simpy.Event) -> None:
        try:
            self._idle.remove(ev)
            return
        except ValueError:
            pass
        for entry in self._gatherers:
            if entry[0] is ev:
                self._gatherers.remove(entry)
                return

    @property
    def waiting(self) -> int:
        """Idle consumers long-polling."""
        return len(self._idle)

    def _look_later(self, t: float) -> bool:
        """With run-time arrivals, a waiter due at a later ``t`` is not armed yet: the
        queue looks again at ``t`` (an arrival before then calls :meth:`arrived`)."""
        if t <= self.env.now:
            return False
        if t < self._check_at and t != math.inf:
            self._check_at = t
            self.env.timeout(t - self.env.now).callbacks.append(self._look_again)
        return True

    def _look_again(self, _event) -> None:
        if self.env.now >= self._check_at:
            self._check_at = math.inf
            self._arm()

    def _arm(self) -> None:
        """Schedule one waiting consumer to wake when there is something for it.

        Normally one waiter is armed at a time: the head gatherer when enough messages
        for its batch will be visible (or its window ends), else the longest-idle
        consumer when the next message shows. Messages it will take are claimed, so a
        waiter armed earlier (a window that ends sooner) does not count on them. Its
        receive arms the next waiter. A waiter that wakes to find the messages gone
        (another consumer took them) waits again. At the in-flight quota nothing can be
        received: a gatherer waits for its window's end, an idle consumer for the end of a
        long poll (it may then find room, as in-flight messages are deleted or return).
        """
        at_quota = self.in_flight >= self.in_flight_max
        if self._gatherers:
            ev, need, until = self._gatherers[0]
            t = until if at_quota else min(self.time_visible(self._claimed + need), until)
            if t >= self._armed_at or (self._runtime_arrivals and self._look_later(t)):
                return
            self._gatherers.popleft()
        elif self._idle:
            need = 1
            t = self.time_visible(self._claimed + 1) if self._claimed else self.next_visible_s()
            if at_quota:
                t = max(t, self.env.now + limits.LONG_POLL_S)
            if t >= self._armed_at or (self._runtime_arrivals and self._look_later(t)):
                return
            ev = self._idle.popleft()
        else:
            return
        self._claimed += need
        self._armed_at = t
        ev._ok = True
        ev._value = True
        delay = t - self.env.now
        self.env.schedule(ev, delay=max(0.0, delay))


__all__ = ["ReceiveBilling", "SqsQueue"]
