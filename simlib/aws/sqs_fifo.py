"""The SQS FIFO queue: message groups, order within a group, deduplication.

Rules (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues.html
and its pages on message groups, deduplication and receiving):

- messages of one message group are delivered in the order they were sent; while any
  message of a group is in flight, no other message of that group is received, so a
  group is processed one batch at a time and a failing message blocks its group until
  it is deleted, its visibility runs out and it is received again in its place (first),
  or it is moved to the dead-letter queue after ``max_receive_count`` receives;
- a receive "first attempts to return as many messages with the same message group ID as
  possible" and then takes the next group (oldest first);
- a message sent with the same deduplication id as one accepted in the last 5 minutes is
  accepted but not delivered (the model keeps it as ``dropped``, reason
  ``deduplicated``). The model identifies "the same message" by its identity at the
  source (a producer's duplicate send is the same message); whether the id is explicit
  or content-based does not change what is deduplicated.

The queue has the interface of :class:`~simlib.queue.SqsQueue` that the event source
mapping's pollers use (receive, delete, wait), so the pollers are the same; the mapping
rejects a batching window and batches above 10, as AWS does. Its events arrive at run
time (:meth:`arrived`), each with its group (the event's ``message_group`` attribute,
``""`` when it has none).
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import simpy

from simlib.aws.sqs import ReceiveBilling
from simlib.core import limits
from simlib.core.messages import DELETED, DLQ, EXPIRED, IN_FLIGHT, QUEUED, MessageTable
from simlib.core.scenario import Queue

DEDUPLICATION_WINDOW_S = 300.0  # "the 5-minute deduplication interval"
DEDUPLICATED = "deduplicated"


class FifoQueue(ReceiveBilling):
    """One FIFO queue: its groups, its in-flight messages and its dead-letter moves."""

    def __init__(self, env: simpy.Environment, config: Queue, messages: MessageTable,
                 group_of, identity_of):
        self.env = env
        self.msgs = messages
        self.visibility_s = config.visibility_timeout_s
        self.max_receives = config.max_receive_count
        self.group_of, self.identity_of = group_of, identity_of
        self._groups: dict[str, deque[int]] = {}  # visible messages per group, in order
        self._busy: dict[str, int] = {}  # in-flight messages per group
        self._ready: list[tuple[float, int, str]] = []  # groups that can be received
        self._in_ready: set[str] = set()
        self._seq = 0
        self._seen: dict[int, float] = {}  # deduplication: identity -> accepted at
        self._taken = 0  # table rows before this one have been taken in
        self.visible_count = 0
        self.in_flight = 0
        self.dlq_depth = 0
        self.deduplicated = 0
        self.receive_calls = 0
        self.empty_receive_calls = 0
        self.receive_units = 0
        self.delete_calls = 0
        self._idle: deque[simpy.Event] = deque()
        self.on_dlq = None

    # -- arrivals -------------------------------------------------------------------------
    def arrived(self) -> None:
        """Take in the events appended to the table since the last call."""
        msgs, now = self.msgs, self.env.now
        while self._taken < msgs.n:
            m = self._taken
            self._taken += 1
            key = self.identity_of(m)
            if key >= 0:
                first = self._seen.get(key)
                if first is not None and now - first < DEDUPLICATION_WINDOW_S:
                    self.deduplicated += 1
                    msgs.drop(m, DEDUPLICATED, now)
                    continue
                self._seen[key] = now
            g = self.group_of(m)
            self._groups.setdefault(g, deque()).append(m)
            self.visible_count += 1
            self._offer(g)
        self._wake()

    def _offer(self, g: str) -> None:
        """Make group ``g`` receivable if it has visible messages and none in flight."""
        if g in self._in_ready or self._busy.get(g, 0) or not self._groups.get(g):
            return
        self._seq += 1
        head = self._groups[g][0]
        heapq.heappush(self._ready, (self.msgs.sent_s[head], self._seq, g))
        self._in_ready.add(g)

    def _wake(self) -> None:
        for _ in range(min(len(self._idle), len(self._ready))):
            ev = self._idle.popleft()
            if not ev.triggered:
                ev.succeed(True)

    # -- levels ---------------------------------------------------------------------------
    def visible(self, now: float) -> int:
        """ApproximateNumberOfMessagesVisible: blocked groups' messages included."""
        return self.visible_count

    @property
    def waiting(self) -> int:
        return len(self._idle)

    # -- receive and delete ---------------------------------------------------------------
    def receive(self, max_messages: int, payload_kb: float, count_empty: bool = True) -> list[int]:
        """One ReceiveMessage call: up to 10 messages, as many of one group as possible."""
        msgs, now = self.msgs, self.env.now
        rc, state, expires = msgs.receive_count, msgs.state, msgs.expires_s
        out: list[int] = []
        limit = min(limits.RECEIVE_MAX_MESSAGES, max_messages)
        while len(out) < limit and self._ready:
            _, _, g = heapq.heappop(self._ready)
            self._in_ready.discard(g)
            dq = self._groups[g]
            took: list[tuple[int, int]] = []
            while dq and len(out) < limit:
                m = dq.popleft()
                self.visible_count -= 1
                if expires[m] <= now:
                    msgs.settle(m, EXPIRED, expires[m])
                    continue
                if self.max_receives is not None and rc[m] >= self.max_receives:
                    self.dlq_depth += 1
                    if self.on_dlq is not None:
                        self.on_dlq(m)
                    msgs.settle(m, DLQ, now)
                    continue
                rc[m] += 1
                if rc[m] == 1:
                    msgs.first_received_s[m] = now
                state[m] = IN_FLIGHT
                out.append(m)
                took.append((m, rc[m]))
            if took:
                self._busy[g] = self._busy.get(g, 0) + len(took)
                self.in_flight += len(took)
                timer = self.env.timeout(self.visibility_s)
                timer.callbacks.append(lambda _e, g=g, took=took: self._returned(g, took))
            else:
                self._offer(g)
        if out:
            self.receive_calls += 1
            kb = len(out) * payload_kb
            if kb > limits.BILLING_CHUNK_KB:
                self.receive_units += math.ceil(kb / limits.BILLING_CHUNK_KB) - 1
        elif count_empty:
            self.receive_calls += 1
            self.empty_receive_calls += 1
        return out

    def _returned(self, g: str, took: list[tuple[int, int]]) -> None:
        """Visibility ran out: the batch's undeleted messages go back to the front of
        their group, in order."""
        msgs = self.msgs
        back = [m for m, token in took
                if msgs.state[m] == IN_FLIGHT and msgs.receive_count[m] == token]
        if not back:
            return
        dq = self._groups[g]
        for m in reversed(back):
            msgs.state[m] = QUEUED
            dq.appendleft(m)
        self.in_flight -= len(back)
        self.visible_count += len(back)
        self._busy[g] -= len(back)
        self._offer(g)
        self._wake()

    def delete(self, receipts: list[tuple[int, int]], outcome: int = DELETED) -> int:
        """DeleteMessageBatch calls for (message, receipt) pairs of in-flight messages."""
        if not receipts:
            return 0
        msgs, now = self.msgs, self.env.now
        self.delete_calls += math.ceil(len(receipts) / limits.DELETE_BATCH_MAX)
        done, groups = [], set()
        for m, token in receipts:
            if msgs.receive_count[m] != token or msgs.state[m] != IN_FLIGHT:
                continue
            g = self.group_of(m)
            self._busy[g] -= 1
            groups.add(g)
            done.append(m)
        self.in_flight -= len(done)
        msgs.settle_many(done, outcome, now)
        for g in sorted(groups):
            self._offer(g)
        self._wake()
        return len(done)

    # -- waiting consumers ------------------------------------------------------------------
    def wait(self) -> simpy.Event:
        """An idle consumer's long poll: fires when a group can be received."""
        ev = self.env.event()
        self._idle.append(ev)
        self._wake()
        return ev

    def cancel_wait(self, ev: simpy.Event) -> None:
        try:
            self._idle.remove(ev)
        except ValueError:
            pass


__all__ = ["DEDUPLICATED", "DEDUPLICATION_WINDOW_S", "FifoQueue"]
