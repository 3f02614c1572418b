"""The downstream database: a connection limit, finite workers, an optional proxy.

Queries are worked out arithmetically inside an invocation rather than as SimPy
processes, so they may be booked out of time order (an invocation books its records'
queries when it starts). The workers are therefore a calendar of slots one query long:
each slot serves at most ``workers`` queries, a query takes the first slot at or after
its issue time with room left, and so latency grows with load as a queue forms. Booking
order does not matter, unlike a heap of worker free times, where a booking far ahead
would block earlier queries. At light load a query takes exactly ``query_s``.

Without a proxy every client connection counts against ``max_connections`` and a
connect beyond it fails ("too many connections"). With a proxy, clients connect to the
proxy (never refused here) and each query also needs one of at most
``proxy_max_connections`` pooled connections (so a slot serves at most that many), and
fails if it would wait longer than the borrow timeout.
"""

from __future__ import annotations

from simlib.core.scenario import Database


class DatabaseModel:
    """Connection accounting and query timing for one database."""

    def __init__(self, config: Database):
        self.cfg = config
        self.connections = 0  # connections open on the database itself
        self.max_used = 0
        self.connection_errors = 0
        self.borrow_timeouts = 0
        self.pool_size = (config.proxy_max_connections or config.max_connections) if config.proxy else 0
        self._per_slot = min(config.workers, self.pool_size) if config.proxy else config.workers
        self._slots: dict[int, int] = {}  # slot index -> queries booked in it
        self._bookings = 0
        # read on every query, so kept here rather than looked up through cfg
        self._query_s = config.query_s
        self._borrow_s = config.proxy_borrow_timeout_s
        # no proxy and queries that take time: :meth:`book` is the whole story of a query
        self.books_directly = not config.proxy and config.query_s > 0.0

    @property
    def per_invocation(self) -> bool:
        return self.cfg.connection_per == "invocation"

    def connect(self) -> bool:
        """A client opens a connection; False means it was refused."""
        if self.cfg.proxy:
            return True
        if self.connections >= self.cfg.max_connections:
            self.connection_errors += 1
            return False
        self.connections += 1
        self.max_used = max(self.max_used, self.connections)
        return True

    def disconnect(self) -> None:
        if not self.cfg.proxy:
            self.connections -= 1

    def query(self, t: float) -> tuple[float, bool]:
        """Run one query issued at ``t``; return (end time, succeeded)."""
        return self.queries(t, 1)

    def queries(self, t: float, n: int) -> tuple[float, bool]:
        """Run ``n`` queries one after another from ``t``: (end time, all succeeded).

        A record's queries are sequential, so they are booked in one call. A failed
        query (a proxy borrow timeout) ends the sequence.
        """
        if self.books_directly:
            for _ in range(n):
                t = self.book(t)
            return t, True
        q = self._query_s
        if q <= 0.0:
            return t, True
        slots, per_slot = self._slots, self._per_slot
        booked = self._bookings
        for _ in range(n):
            k = int(t / q)
            used = slots.get(k, 0)
            while used >= per_slot:
                k += 1
                used = slots.get(k, 0)
            start = max(t, k * q)
            if start - t > self._borrow_s:
                self.borrow_timeouts += 1
                self._bookings = booked
                return t + self._borrow_s, False
            if used + 1 > self.connections:  # the proxy opens another pooled connection
                self.connections = used + 1
                self.max_used = max(self.max_used, self.connections)
            slots[k] = used + 1
            booked += 1
            if booked % 50_000 == 0:
                self._forget_before(int((t - 3_600.0) / q))
            t = start + q
        self._bookings = booked
        return t, True

    def book(self, t: float) -> float:
        """One query issued at ``t``, when :attr:`books_directly`: when it ends. It cannot
        fail once connected.

        This is the model's innermost call (once per record in the common case), so it
        books its slot directly rather than through :meth:`queries`' loop.
        """
        q = self._query_s
        slots = self._slots
        k = int(t / q)
        used = slots.get(k, 0)
        while used >= self._per_slot:
            k += 1
            used = slots.get(k, 0)
        slots[k] = used + 1
        self._bookings += 1
        if self._bookings % 50_000 == 0:
            self._forget_before(int((t - 3_600.0) / q))
        start = k * q
        return (start if start > t else t) + q  # noqa: FURB136 (innermost call: cheaper than max())

    def _forget_before(self, k: int) -> None:
        """Drop slots far in the past (no query is booked an hour back)."""
        for old in [key for key in self._slots if key < k]:
            del self._slots[old]
