"""Amazon SNS standard topics: fan-out to every subscription whose filter policy matches.

One Publish is one event of the topic; each subscription whose filter policy matches gets
a copy (:mod:`simlib.delivery` delivers it, with SNS's retry policy for AWS managed
endpoints below, then the subscription's dead-letter queue). Filtered-out copies are
counted on the subscription's edge, and cost nothing. A subscribed function receives the
copy as an asynchronous invoke (Lambda's queue accepts it; its errors are Lambda's to
retry). Billing: each 64 KB chunk of a published payload is one request; deliveries to
SQS and Lambda are not charged (https://aws.amazon.com/sns/pricing/). Payload-based
filtering's per-GB charge and FIFO topics are not modelled.
"""

from __future__ import annotations

from simlib.aws.delivery import RetryPolicy, Route
from simlib.core import limits
from simlib.core.event_patterns import compile_pattern
from simlib.core.pricing import sqs_request_units


def _backoff_delays() -> list[float]:
    """The backoff phase's delays: from 1 s to 20 s, exponentially (without the jitter
    AWS adds, whose size it does not give)."""
    n, lo, hi = limits.SNS_BACKOFF
    return [lo * (hi / lo) ** (k / (n - 1)) for k in range(n)]


_HEAD: list[float] = []  # elapsed time at attempts 1..15 (index j: attempt j + 1)


def _head() -> list[float]:
    if not _HEAD:
        delays = ([0.0] * (limits.SNS_IMMEDIATE_ATTEMPTS - 1)
                  + [limits.SNS_PRE_BACKOFF[1]] * limits.SNS_PRE_BACKOFF[0]
                  + _backoff_delays())
        t = 0.0
        _HEAD.append(t)
        for d in delays:
            t += d
            _HEAD.append(t)
    return _HEAD


def elapsed(j: int) -> float:
    """Seconds from the first delivery attempt to attempt ``j`` + 1."""
    head = _head()
    if j < len(head):
        return head[j]
    return head[-1] + limits.SNS_POST_BACKOFF[1] * (j - len(head) + 1)


POLICY = RetryPolicy(elapsed, limits.SNS_TOTAL_ATTEMPTS)


def routes(topic) -> list[Route]:
    """One route per subscription of ``topic`` (a TopicSpec)."""
    out = []
    for i, sub in enumerate(topic.subscriptions):
        pattern = None
        if sub.filter is not None:
            pattern = compile_pattern(sub.filter, f"resources.{topic.name}.subscriptions[{i}]"
                                                  ".filter", sns=True)
        out.append(Route(sub.target, "subscription", pattern, sub.policy.delivery_failure_rate,
                         sub.dlq, POLICY))
    return out


def publish_requests(events: int, payload_kb: float) -> int:
    """Billed Publish requests: one per 64 KB chunk of each event's payload."""
    return events * int(sqs_request_units(payload_kb))


__all__ = ["POLICY", "elapsed", "publish_requests", "routes"]
