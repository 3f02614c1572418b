"""Amazon EventBridge event buses: rules with event patterns, up to five targets each.

One PutEvents entry is one event of the bus; every rule whose pattern matches sends it
to each of its targets, each target failing and retrying on its own
(:mod:`simlib.delivery`) under its retry policy (``maximum_retry_attempts`` 0-185,
``maximum_event_age_s`` 60 s-24 h), then to its dead-letter queue. A function target
receives the event as an asynchronous invoke. The back-off between retries is documented
only as "exponential back off and jitter" over about 24 hours: the model takes 1 s
doubling to 480 s (see ``simlib.limits``), without jitter. Billing: each 64 KB chunk of an
event is one custom event put ($1.00 per million); deliveries to targets are not charged
(https://aws.amazon.com/eventbridge/pricing/).
"""

from __future__ import annotations

import math

from simlib.aws.delivery import RetryPolicy, Route
from simlib.core import limits
from simlib.core.event_patterns import compile_pattern
from simlib.core.pricing import sqs_request_units

_DOUBLINGS = int(math.log2(limits.EVENTBRIDGE_BACKOFF_MAX_S / limits.EVENTBRIDGE_BACKOFF_FIRST_S))


def elapsed(j: int) -> float:
    """Seconds from the first attempt to attempt ``j`` + 1: retry r waits
    min(1 s x 2^(r-1), 480 s)."""
    first, cap = limits.EVENTBRIDGE_BACKOFF_FIRST_S, limits.EVENTBRIDGE_BACKOFF_MAX_S
    k = min(j, _DOUBLINGS + 1)
    t = first * (2.0**k - 1.0)
    return t + cap * max(0, j - k)


def routes(bus) -> list[Route]:
    """One route per target of each rule of ``bus`` (a BusSpec), in order."""
    out = []
    for i, rule in enumerate(bus.rules):
        pattern = None
        if rule.pattern is not None:
            pattern = compile_pattern(rule.pattern, f"resources.{bus.name}.rules[{i}].pattern")
        for t in rule.targets:
            policy = RetryPolicy(elapsed, t.policy.maximum_retry_attempts + 1,
                                 t.policy.maximum_event_age_s)
            out.append(Route(t.target, "target", pattern, t.policy.delivery_failure_rate, t.dlq,
                             policy))
    return out


def put_events(events: int, payload_kb: float) -> int:
    """Billed PutEvents entries: one per 64 KB chunk of each event."""
    return events * int(sqs_request_units(payload_kb))


__all__ = ["elapsed", "put_events", "routes"]
