"""Per-message state of a run, one column per fact, indexed by message id.

One object per message would cost far more memory; columns keep a million messages
small. While the run goes on the columns are Python lists (element access from Python
is several times faster than NumPy scalar indexing, and it is the hot path); at the end
:meth:`MessageTable.freeze` turns them into NumPy arrays for one vectorised pass.
"""

from __future__ import annotations

import math

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
        expires_s = sent_s + retention_s
        # the columns that never change keep their arrays for freeze()
        self._arrays = (np.asarray(sent_s, dtype=float), np.asarray(poison, dtype=bool),
                        np.asarray(expires_s, dtype=float))
        self.sent_s = sent_s.tolist()
        self.poison = poison.tolist()
        self.expires_s = expires_s.tolist()
        self.state = [QUEUED] * n
        self.first_received_s = [math.nan] * n
        self.finished_s = [math.nan] * n
        self.receive_count = [0] * n
        self.executions = [0] * n
        self.successful = [0] * n
        self.side_effects = [0] * n
        self.settled = 0
        self.on_all_settled = None  # callback set by the engine
        self.frozen = False

    def freeze(self) -> None:
        """Turn the columns into NumPy arrays once the run is over."""
        if self.frozen:
            return
        self.frozen = True
        self.sent_s, self.poison, self.expires_s = self._arrays
        self.state = np.asarray(self.state, dtype=np.int8)
        self.first_received_s = np.asarray(self.first_received_s, dtype=float)
        self.finished_s = np.asarray(self.finished_s, dtype=float)
        for name in ("receive_count", "executions", "successful", "side_effects"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.int32))

    def settle(self, m: int, state: int, now: float) -> None:
        """Give message ``m`` its final state (deleted, failed, dlq or expired)."""
        self.settle_many((m,), state, now)

    def settle_many(self, ms, state: int, now: float) -> None:
        """Give messages ``ms`` their final state at ``now`` (a delete batch settles at once)."""
        if not ms:
            return
        states, finished = self.state, self.finished_s
        for m in ms:
            states[m] = state
            finished[m] = now
        self.settled += len(ms)
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
