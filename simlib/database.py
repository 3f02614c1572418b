"""The downstream database: a connection limit, finite workers, an optional proxy.

Queries are worked out arithmetically inside an invocation rather than as SimPy
processes: the database's workers are a heap of the times they become free, so a query
waits for the earliest free worker and latency grows with load, as a queue forms.
Reservations are made when an invocation starts, in the order invocations start; a
worker booked for later work is not lent to an earlier query in the gap (a small,
conservative bias under heavy load).

Without a proxy every client connection counts against ``max_connections`` and a
connect beyond it fails ("too many connections"). With a proxy, clients connect to the
proxy (never refused here) and each query borrows one of at most
``proxy_max_connections`` pooled connections, waiting up to the borrow timeout.
"""

from __future__ import annotations

import heapq

from simlib.scenario import Database


class DatabaseModel:
    """Connection accounting and query timing for one database."""

    def __init__(self, config: Database):
        self.cfg = config
        self.connections = 0  # connections open on the database itself
        self.max_used = 0
        self.connection_errors = 0
        self.borrow_timeouts = 0
        self._workers = [0.0] * config.workers
        pool = config.proxy_max_connections or config.max_connections
        self._pool = [-1.0] * pool if config.proxy else []  # -1: not opened yet

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
        if self.connections > self.max_used:
            self.max_used = self.connections
        return True

    def disconnect(self) -> None:
        if not self.cfg.proxy:
            self.connections -= 1

    def query(self, t: float) -> tuple[float, bool]:
        """Run one query issued at ``t``; return (end time, succeeded)."""
        start = t
        if self.cfg.proxy:
            free = heapq.heappop(self._pool)
            if free < 0:  # the proxy opens a new pooled connection
                free = 0.0
                self.connections += 1
                self.max_used = max(self.max_used, self.connections)
            if free - t > self.cfg.proxy_borrow_timeout_s:
                heapq.heappush(self._pool, free)
                self.borrow_timeouts += 1
                return t + self.cfg.proxy_borrow_timeout_s, False
            start = max(t, free)
        worker_free = self._workers[0]
        begin = max(start, worker_free)
        end = begin + self.cfg.query_s
        heapq.heapreplace(self._workers, end)
        if self.cfg.proxy:
            heapq.heappush(self._pool, end)
        return end, True
