"""Plain records collected during a run, turned into tables once, at the end.

Appending tuples to lists is the cheapest way to remember what happened; the results
module builds each DataFrame in one call when (and only when) it is asked for.
"""

from __future__ import annotations

# As appended during the run; billed_ms is derived from end_s - start_s at the end.
INVOCATION_RECORD = (
    "function", "environment_id", "start_s", "end_s", "cold", "init_s",
    "batch_size", "failed_items", "status", "provisioned",
)
TIMESERIES_COLUMNS = (
    "t_s", "concurrency", "environments", "idle_environments", "queue_visible",
    "in_flight", "dlq_depth", "throttles", "cold_starts", "db_connections",
)

# Timeseries steps: the smallest that gives at most MAX_SAMPLES rows (design.md).
STEPS_S = (1, 5, 10, 60, 300, 3_600)
MAX_SAMPLES = 2_000


def sample_step(horizon_s: float) -> int:
    """The smallest step in STEPS_S giving at most MAX_SAMPLES samples over a horizon."""
    for step in STEPS_S:
        if horizon_s / step <= MAX_SAMPLES:
            return step
    return STEPS_S[-1]


class Records:
    """Invocation rows, execution intervals and timeseries samples of one run."""

    def __init__(self):
        self.invocations: list[tuple] = []  # one invoke attempt each, as INVOCATION_RECORD
        # (message, start, end, ok, side effect made)
        self.executions: list[tuple[int, float, float, bool, bool]] = []
        self.samples: list[tuple] = []
