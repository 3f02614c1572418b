"""Push delivery with retries: what SNS subscriptions and EventBridge targets share.

A topic or an event bus receives an event and hands a copy to each matching route (an
SNS subscription, an EventBridge rule's target). A delivery fails with the route's
``delivery_failure_rate`` on each attempt (the endpoint unreachable, a queue refusing the
message; 0 by default), independently of the other routes and attempts, and is retried
on the service's schedule (:mod:`simlib.sns`, :mod:`simlib.eventbridge`) until it
succeeds, the attempts run out or (EventBridge) the event is too old; then it goes to
the route's dead-letter queue, else it is dropped (counted on the edge as ``failed``).

Who retries what: once a function target has accepted the event (an asynchronous
invoke, always accepted), its errors and throttles are Lambda's to retry
(:mod:`simlib.async_invoke`), not SNS's or EventBridge's.

A delivery's fate is worked out when the event arrives: the number of failed attempts
before the first success is geometric (one uniform draw per route and event, stream
``delivery``), and the schedule gives when that attempt happens, so a delivery costs at
most one SimPy event however many attempts it takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simlib.core.event_patterns import matches
from simlib.core.messages import DELETED, FILTERED, IN_FLIGHT, MessageTable
from simlib.core.streams import GrowingKeyedColumns, Streams


@dataclass(frozen=True)
class RetryPolicy:
    """``elapsed(j)``: seconds from the first attempt to attempt j + 1; at most
    ``attempts`` attempts in all; none after ``max_age_s`` (inf: no age limit)."""

    elapsed: object
    attempts: int
    max_age_s: float = math.inf

    def outcome(self, failures: int) -> tuple[bool, float, str]:
        """(delivered, when (s after the first attempt), why it gave up) for a delivery
        whose first ``failures`` attempts fail."""
        last = self.attempts - 1  # the last attempt is attempt ``last`` + 1
        if math.isfinite(self.max_age_s):
            # the first attempt that would come at or after the maximum age
            lo, hi = 0, last + 1
            while lo < hi:
                mid = (lo + hi) // 2
                if self.elapsed(mid) >= self.max_age_s:
                    hi = mid
                else:
                    lo = mid + 1
            too_old = lo
        else:
            too_old = last + 1
        if failures <= last and failures < too_old:
            return True, self.elapsed(failures), ""
        if too_old <= last:
            return False, self.elapsed(too_old - 1), "maximum_event_age"
        return False, self.elapsed(last), "retries_exhausted"


@dataclass
class Route:
    """One SNS subscription or one EventBridge rule target."""

    target: str
    kind: str  # the edge kind: subscription, target
    pattern: dict | None  # compiled filter; None passes everything
    failure_rate: float
    dlq: str | None
    policy: RetryPolicy
    delivered: int = 0
    failed: int = 0
    filtered: int = 0
    deliver: object = None  # deliver(parent, origin, poison, attr), set by the engine
    to_dlq: object = None


class PushService:
    """A topic or a bus: its events' table and the delivery of each to its routes."""

    def __init__(self, env, name: str, origin: int, table: MessageTable, routes: list[Route],
                 streams: Streams, attributes_of):
        self.env, self.name, self.origin = env, name, origin
        self.table = table
        self.routes = routes
        self.attributes_of = attributes_of
        self._pending: list[int] = []  # per event: deliveries not settled yet
        self._draws = []
        for i, _ in enumerate(routes):
            cols = GrowingKeyedColumns(streams.scoped(f"{name}#{i}"), "delivery",
                                       lambda r, s: r.random(s))
            table.add_grower(cols)
            self._draws.append(cols.column(0))

    def deliver(self, parent: int, origin: int, poison: bool = False, attr: int = -1) -> int:
        """Accept one event now (a Publish, a PutEvents entry) and start its deliveries."""
        table, now = self.table, self.env.now
        m = table.append(now, poison, parent, origin, attr)
        self._pending.append(0)
        attrs = self.attributes_of(attr)
        table.state[m] = IN_FLIGHT
        table.first_received_s[m] = now
        plans = []
        for i, route in enumerate(self.routes):
            if route.pattern is not None and not matches(route.pattern, attrs):
                route.filtered += 1
                continue
            p = route.failure_rate
            failures = 0
            if p >= 1.0:
                failures = route.policy.attempts
            elif p > 0.0:
                u = self._draws[i][m]
                failures = math.floor(math.log(u) / math.log(p)) if u > 0 else \
                    route.policy.attempts
            ok, after, _why = route.policy.outcome(failures)
            plans.append((i, ok, after))
        if not plans:
            table.settle(m, FILTERED, now)
            return m
        self._pending[m] = len(plans)
        for i, ok, after in plans:
            if after <= 0.0:
                self._settle(i, m, ok)
            else:
                self.env.timeout(after).callbacks.append(
                    lambda _e, i=i, m=m, ok=ok: self._settle(i, m, ok))
        return m

    def _settle(self, i: int, m: int, ok: bool) -> None:
        route, table = self.routes[i], self.table
        poison, attr = table.poison[m], table.attr[m]
        if ok:
            route.delivered += 1
            route.deliver(m, self.origin, poison, attr)
        else:
            route.failed += 1
            if route.to_dlq is not None:
                route.to_dlq(m, self.origin, False, attr)
        self._pending[m] -= 1
        if self._pending[m] == 0:
            table.receive_count[m] = 1
            table.settle(m, DELETED, self.env.now)


__all__ = ["PushService", "RetryPolicy", "Route"]
