"""Per-message state of a run, held in NumPy arrays indexed by message id.

One row per message would cost a Python object each; arrays keep a million messages
within memory and let the results be built with one vectorised pass at the end.
"""

from __future__ import annotations

import numpy as np

# Life-cycle states while the run goes on; the outcome names are decided at the end.
QUEUED = 0  # waiting in the queue (never received, or visible again)
IN_FLIGHT = 1  # received, invisible, not deleted
DELETED = 2  # done: deleted from the queue, or (api) answered successfully
FAILED = 3  # api only: answered with an error, or throttled past the caller's retries
DLQ = 4  # moved to the dead-letter queue
EXPIRED = 5  # retention ran out

OUTCOMES = {DELETED: "deleted", FAILED: "failed", DLQ: "dlq", EXPIRED: "expired"}


class MessageTable:
    """Arrays of per-message facts, plus the count of messages whose fate is settled."""

    def __init__(self, sent_s: np.ndarray, poison: np.ndarray, retention_s: float):
        n = len(sent_s)
        self.n = n
        self.sent_s = sent_s
        self.poison = poison
        self.expires_s = sent_s + retention_s
        self.state = np.zeros(n, dtype=np.int8)
        self.first_received_s = np.full(n, np.nan)
        self.finished_s = np.full(n, np.nan)
        self.receive_count = np.zeros(n, dtype=np.int32)
        self.executions = np.zeros(n, dtype=np.int32)
        self.successful = np.zeros(n, dtype=np.int32)
        self.side_effects = np.zeros(n, dtype=np.int32)
        self.settled = 0
        self.on_all_settled = None  # callback set by the engine

    def settle(self, m: int, state: int, now: float) -> None:
        """Give message ``m`` its final state (deleted, failed, dlq or expired)."""
        self.state[m] = state
        self.finished_s[m] = now
        self.settled += 1
        if self.settled == self.n and self.on_all_settled is not None:
            self.on_all_settled()

    def outcome_names(self) -> np.ndarray:
        """Final outcome per message; unsettled ones are in_queue or in_flight."""
        names = np.empty(self.n, dtype=object)
        names[self.state == QUEUED] = "in_queue"
        names[self.state == IN_FLIGHT] = "in_flight"
        for code, name in OUTCOMES.items():
            names[self.state == code] = name
        return names
