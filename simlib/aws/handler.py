"""What one record costs the handler: its duration at a memory size, and whether it fails.

Durations are stated at 1,769 MB (one full vCPU). The CPU-bound share stretches by
1,769 / memory below that and gains nothing above it (single-threaded code), while I/O
waits do not scale: this is what gives the power-tuning curve its shape.
"""

from __future__ import annotations

import math

import numpy as np

from simlib.core import limits
from simlib.core.scenario import Function, Handler
from simlib.core.streams import GrowingKeyedColumns, KeyedColumns, Streams

Z99 = 2.3263478740408408  # standard normal quantile at 0.99


def memory_factor(handler: Handler, memory_mb: int) -> float:
    """Multiplier on a duration measured at 1,769 MB when run at ``memory_mb``."""
    stretch = max(1.0, limits.ONE_VCPU_MB / memory_mb)
    return handler.cpu_fraction * stretch + (1.0 - handler.cpu_fraction)


def duration_sampler(handler: Handler):
    """A function (rng, size) -> durations in seconds at 1,769 MB."""
    median = handler.duration_median_s
    if handler.duration_distribution == "constant":
        return lambda rng, size: np.full(size, median)
    if handler.duration_distribution == "exponential":
        mean = median / math.log(2.0)
        return lambda rng, size: rng.exponential(mean, size)
    sigma = math.log(handler.duration_p99_s / median) / Z99
    mu = math.log(median)
    return lambda rng, size: rng.lognormal(mu, sigma, size)


class RecordDraws:
    """Each message's duration and failure draw for its k-th execution (keyed streams)."""

    def __init__(self, handler: Handler, function: Function, n: int, streams: Streams,
                 table=None):
        """Draws for ``n`` messages; or, given a growing ``table`` (an application's queue
        fed at run time), for as many as it holds as it grows."""
        factor = memory_factor(handler, function.memory_mb)
        base = duration_sampler(handler)

        def duration(r, s):
            return base(r, s) * factor

        def failure(r, s):
            return r.random(s)

        if table is not None and table.grows:
            self.durations = GrowingKeyedColumns(streams, "duration", duration)
            self.failures = GrowingKeyedColumns(streams, "failure", failure)
            table.add_grower(self.durations)
            table.add_grower(self.failures)
        else:
            self.durations = KeyedColumns(streams, "duration", n, duration)
            self.failures = KeyedColumns(streams, "failure", n, failure)
        self.failure_rate = handler.failure_rate

    def duration(self, message: int, attempt: int) -> float:
        return self.durations.column(attempt)[message]

    def fails(self, message: int, attempt: int) -> bool:
        return self.failure_rate > 0 and self.failures.column(attempt)[message] < self.failure_rate
