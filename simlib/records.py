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


class Records:
    """Invocation rows, execution intervals and timeseries samples of one run."""

    def __init__(self):
        self.invocations: list[tuple] = []  # one invoke attempt each, as INVOCATION_RECORD
        # (message, start, end, ok, side effect made)
        self.executions: list[tuple[int, float, float, bool, bool]] = []
        self.samples: list[tuple] = []
