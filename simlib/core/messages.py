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
# applications only (simlib/application.py)
DESTINATION = 6  # async: failed, and sent to the function's on-failure destination
DROPPED = 7  # async: failed or aged out with nowhere to go (the reason is kept)
FILTERED = 8  # did not match a filter: deleted without an invoke

OUTCOMES = {DELETED: "deleted", FAILED: "failed", DLQ: "dlq", EXPIRED: "expired"}
APPLICATION_OUTCOMES = {**OUTCOMES, DESTINATION: "destination", DROPPED: "dropped",
                        FILTERED: "filtered"}


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
        # applications: where each event came from, and why a dropped one was dropped
        self.parent: list[int] | None = None
        self.origin: list[int] | None = None
        self.drop_reason: dict[int, str] = {}
        # a table loaded before the run: the index of each event's source (None: one
        # source, set by the engine)
        self.source_origin = None
        # each event's key in the attribute store (simlib.attributes); None: no attributes
        self.attr = None
        self._growers: list = []

    @classmethod
    def growing(cls, retention_s: float) -> MessageTable:
        """An empty table that grows as events arrive at run time (:meth:`append`).

        An application's queues and asynchronous event queues receive events while
        the run goes on; their arrivals are appended in time order (the clock only moves
        forward), so ``sent_s`` stays sorted and the queue's pointer logic holds.
        """
        t = cls(np.zeros(0), np.zeros(0, dtype=bool), retention_s)
        t._arrays = None
        t._retention_s = retention_s
        t.parent, t.origin, t.attr = [], [], []
        return t

    @property
    def grows(self) -> bool:
        """Built by :meth:`growing`: events are appended while the run goes on."""
        return self.origin is not None and not self.frozen

    def add_grower(self, columns) -> None:
        """Per-message draws (a GrowingKeyedColumns) to extend as the table grows."""
        self._growers.append(columns)
        columns.grow(self.n)

    def append(self, sent_s: float, poison: bool, parent: int, origin: int,
               attr: int = -1) -> int:
        """A new event sent at ``sent_s`` (now); returns its id. ``attr`` is the key of its
        attributes in the run's attribute store (-1: none)."""
        m = self.n
        self.n = m + 1
        self.sent_s.append(sent_s)
        self.poison.append(poison)
        self.expires_s.append(sent_s + self._retention_s)
        self.state.append(QUEUED)
        self.first_received_s.append(math.nan)
        self.finished_s.append(math.nan)
        self.receive_count.append(0)
        self.executions.append(0)
        self.successful.append(0)
        self.side_effects.append(0)
        self.parent.append(parent)
        self.origin.append(origin)
        self.attr.append(attr)
        for g in self._growers:
            g.grow(m + 1)
        return m

    def drop(self, m: int, reason: str, now: float) -> None:
        """Settle ``m`` as dropped, keeping why."""
        self.drop_reason[m] = reason
        self.settle(m, DROPPED, now)

    def freeze(self) -> None:
        """Turn the columns into NumPy arrays once the run is over."""
        if self.frozen:
            return
        self.frozen = True
        if self._arrays is None:  # a growing table
            self._arrays = (np.asarray(self.sent_s, dtype=float),
                            np.asarray(self.poison, dtype=bool),
                            np.asarray(self.expires_s, dtype=float))
            self.parent = np.asarray(self.parent, dtype=np.int64)
            self.origin = np.asarray(self.origin, dtype=np.int64)
            self.attr = np.asarray(self.attr, dtype=np.int64)
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

    def outcome_names(self, outcomes=OUTCOMES) -> np.ndarray:
        """Final outcome per message; unsettled ones are in_queue or in_flight."""
        names = np.empty(self.n, dtype=object)
        names[self.state == QUEUED] = "in_queue"
        names[self.state == IN_FLIGHT] = "in_flight"
        for code, name in outcomes.items():
            names[self.state == code] = name
        return names
