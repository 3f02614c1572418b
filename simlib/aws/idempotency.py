"""An idempotency store in the style of Powertools for AWS Lambda.

Key = message id. An execution first writes an INPROGRESS record; success turns it
COMPLETE (kept for ``expiry_s``), failure deletes it, and a timed-out execution leaves
it INPROGRESS until the invocation's deadline (Powertools expires in-progress records
with the Lambda's remaining time). A later execution that finds COMPLETE returns the
stored result without repeating the side effect; one that finds INPROGRESS fails, so
its message is retried.
"""

from __future__ import annotations

NONE, IN_PROGRESS, COMPLETE = 0, 1, 2


class IdempotencyStore:
    """One record per key: (held from, held until, completed at)."""

    def __init__(self, expiry_s: float):
        self.expiry_s = expiry_s
        self._records: dict[int, tuple[float, float, float]] = {}

    def status(self, key: int, t: float) -> int:
        rec = self._records.get(key)
        if rec is None:
            return NONE
        held_from, held_until, completed_at = rec
        if completed_at <= t < completed_at + self.expiry_s:
            return COMPLETE
        if held_from <= t < held_until and completed_at > t:
            return IN_PROGRESS
        return NONE

    def record(self, key: int, start: float, end: float, ok: bool, held_until: float) -> None:
        """Store the outcome of an execution that claimed ``key`` at ``start``."""
        if ok:
            self._records[key] = (start, end, end)
        else:
            self._records[key] = (start, held_until, float("inf"))
