"""Plain records collected during a run, turned into tables once, at the end.

Appending tuples to lists is the cheapest way to remember what happened; the results
module builds each DataFrame in one call when (and only when) it is asked for.
"""

from __future__ import annotations

import numpy as np

# As appended during the run; billed_ms is derived from end_s - start_s at the end.
INVOCATION_RECORD = (
    "function", "environment_id", "start_s", "end_s", "cold", "init_s",
    "batch_size", "failed_items", "status", "provisioned",
)
TIMESERIES_COLUMNS = (
    "t_s", "concurrency", "environments", "idle_environments", "queue_visible",
    "in_flight", "dlq_depth", "throttles", "cold_starts", "db_connections", "pollers",
)

# Timeseries steps: the smallest giving at most MAX_SAMPLES rows (docs/design.md, "Timeseries").
STEPS_S = (1, 5, 10, 60, 300, 3_600)
MAX_SAMPLES = 2_000


def sample_step(horizon_s: float) -> int:
    """The smallest step in STEPS_S giving at most MAX_SAMPLES samples over a horizon."""
    for step in STEPS_S:
        if horizon_s / step <= MAX_SAMPLES:
            return step
    return STEPS_S[-1]


# One execution of one record, stored flat: EXECUTION_FIELDS values after one another.
EXECUTION_FIELDS = ("message", "start_s", "end_s", "ok", "side_effect")


class Records:
    """Invocation rows, execution intervals and timeseries samples of one run.

    Executions are the most numerous record (one per message and attempt), so they go
    into one flat list rather than a tuple each: a million small tuples would outlive
    the run and cost memory and a long garbage-collector scan once the run is over.
    """

    def __init__(self):
        self.invocations: list[tuple] = []  # one invoke attempt each, as INVOCATION_RECORD
        self.executions: list = []  # flat: EXECUTION_FIELDS of each execution in turn
        self.samples: list[tuple] = []
        # provisioned-mode event poller seconds (EPU billing), set when the mapping closes
        self.event_poller_s = 0.0

    @property
    def execution_count(self) -> int:
        return len(self.executions) // len(EXECUTION_FIELDS)

    def execution_columns(self) -> tuple[np.ndarray, ...]:
        """The executions as arrays: message, start_s, end_s, ok, side_effect."""
        ex, k = self.executions, len(EXECUTION_FIELDS)
        return (
            np.asarray(ex[0::k], dtype=np.int64),
            np.asarray(ex[1::k], dtype=float),
            np.asarray(ex[2::k], dtype=float),
            np.asarray(ex[3::k], dtype=bool),
            np.asarray(ex[4::k], dtype=bool),
        )
