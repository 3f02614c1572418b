"""The Lambda service for one function: execution environments, concurrency, throttling.

Rules honoured here (see docs/design.md, "Sources of AWS figures" and "Assumptions"):
- an environment serves one invocation at a time; with no idle environment a request
  starts a new one (a cold start) if the concurrency cap and the scaling rate allow;
- a request goes to the most recently created idle environment, so older ones age out;
- an idle environment is reclaimed once idle for its own idle lifetime: ``idle_lifetime_s``
  + ``idle_reclaim_lag_s``, jittered per environment by up to ±``idle_lifetime_spread_s``/2
  (a draw keyed by the environment's number, stream ``lifetime``); any idle environment is
  reclaimed past ``max_lifetime_s``; a timeout or failed INIT resets an environment;
- reserved concurrency caps the function (else the account limit does); provisioned
  environments are pre-initialised and never reclaimed, and traffic above them spills
  over to on-demand environments;
- new environments draw on a token bucket of 1,000 per 10 s, refilled continuously;
- at most 10 x the concurrency cap invocations start in each second of the clock, whatever
  the invocation type: above it the invoke is throttled (429).
"""

from __future__ import annotations

import heapq

import numpy as np
import simpy

from simlib import limits
from simlib.runtimes import init_profile
from simlib.scenario import Scenario
from simlib.streams import ChunkedStream, Streams


class ExecutionEnvironment:
    """One micro-VM with the function's runtime loaded."""

    __slots__ = ("connected", "created_s", "id", "idle_s", "idle_since", "init_s", "provisioned",
                 "retire_s")

    def __init__(self, env_id: int, created_s: float, provisioned: bool, init_s: float):
        self.id = env_id
        self.created_s = created_s
        self.provisioned = provisioned
        self.init_s = init_s  # INIT duration this environment needs (0 when provisioned)
        self.idle_since = created_s
        self.connected = False  # holds a database connection
        self.retire_s = float("inf")  # reclaimed at its maximum lifetime (set by the function)
        self.idle_s = float("inf")  # its idle lifetime (set by the function)


class LambdaFunction:
    """Environments and concurrency accounting of one function."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, streams: Streams, database=None):
        fn = scenario.function
        self.env = env
        self.name = "function"
        self.cfg = fn
        self.database = database
        self.cap = (
            fn.reserved_concurrency
            if fn.reserved_concurrency is not None
            else scenario.account.concurrency_limit
        )
        profile = init_profile(fn.runtime, fn.architecture, fn.memory_mb, fn.snapstart)
        own_init = 0.0 if (fn.init_in_handler or fn.snapstart) else fn.init_s
        self._init_draws = ChunkedStream(
            streams, "init", lambda rng, size: profile.sample(rng, size) + own_init
        )
        self.busy = 0
        self.max_busy = 0
        self.live = 0
        self._next_id = 0
        self._idle: list[tuple[int, ExecutionEnvironment]] = []  # heap on -id: newest first
        self._provisioned_idle: list[ExecutionEnvironment] = []
        # Each environment's idle lifetime: the nominal one plus the platform's reclaim lag,
        # spread uniformly by idle_lifetime_spread_s (docs/design.md, "Environment reuse and
        # reclaim"). Draws are keyed by environment number: common random numbers.
        centre = fn.idle_lifetime_s + fn.idle_reclaim_lag_s
        spread = fn.idle_lifetime_spread_s
        self._idle_lifetimes = ChunkedStream(
            streams, "lifetime",
            lambda rng, size: np.maximum(centre + spread * (rng.random(size) - 0.5), 0.0),
        )
        # No idle environment can be due for reclaiming before this time (less a margin
        # for rounding), so the monitor's sweep can skip quiet steps.
        self._sweep_after = float("inf")
        for _ in range(fn.provisioned_concurrency):
            self._provisioned_idle.append(self._create(provisioned=True))
        self._tokens = float(limits.SCALING_BURST)
        self._tokens_at = 0.0
        # invocation rate: 10 x the concurrency cap per second, counted per second of the
        # clock (an assumption: AWS documents the rate, not how it is metered)
        self._rate = limits.INVOCATION_RATE_PER_CONCURRENCY * self.cap
        self._rate_second = 0
        self._rate_count = 0
        # counters; the monitor reads and resets the *_step ones
        self.cold_starts = 0
        self.throttles = 0
        self.cold_starts_step = 0
        self.throttles_step = 0

    def _create(self, provisioned: bool) -> ExecutionEnvironment:
        i = self._next_id
        self._next_id += 1
        self.live += 1
        init = 0.0 if provisioned else self._init_draws[i]
        e = ExecutionEnvironment(i, self.env.now, provisioned, init)
        e.retire_s = e.created_s + self.cfg.max_lifetime_s
        e.idle_s = self._idle_lifetimes[i]
        return e

    def _expired(self, e: ExecutionEnvironment, now: float) -> bool:
        return (
            now - e.idle_since >= e.idle_s
            or now - e.created_s >= self.cfg.max_lifetime_s
        )

    def _destroy(self, e: ExecutionEnvironment) -> None:
        self.live -= 1
        if e.connected and self.database is not None:
            self.database.disconnect()
            e.connected = False

    def acquire(self) -> ExecutionEnvironment | None:
        """An environment for one invocation, or None when the invoke is throttled."""
        now = self.env.now
        if self.busy >= self.cap:
            return self._throttle()
        second = int(now)
        if second != self._rate_second:
            self._rate_second = second
            self._rate_count = 0
        if self._rate_count >= self._rate:
            return self._throttle()
        self._rate_count += 1
        if self._provisioned_idle:
            e = self._provisioned_idle.pop()
        else:
            e = None
            while self._idle:
                _, cand = heapq.heappop(self._idle)
                if self._expired(cand, now):
                    self._destroy(cand)
                    continue
                e = cand
                break
            if e is None:
                self._tokens = min(
                    float(limits.SCALING_BURST),
                    self._tokens + (now - self._tokens_at) * limits.SCALING_REFILL_PER_S,
                )
                self._tokens_at = now
                if self._tokens < 1.0:
                    return self._throttle()
                self._tokens -= 1.0
                e = self._create(provisioned=False)
                self.cold_starts += 1
                self.cold_starts_step += 1
        self.busy += 1
        self.max_busy = max(self.max_busy, self.busy)
        return e

    def _throttle(self) -> None:
        self.throttles += 1
        self.throttles_step += 1

    def release(self, e: ExecutionEnvironment, reset: bool) -> None:
        """The invocation on ``e`` ended; ``reset`` after a timeout or failed INIT."""
        self.busy -= 1
        now = self.env.now
        e.init_s = 0.0
        if e.provisioned:
            if reset:  # Lambda replaces it with a freshly initialised one
                e.connected = self._drop_connection(e)
            e.idle_since = now
            self._provisioned_idle.append(e)
            return
        if reset:
            self._destroy(e)
            return
        e.idle_since = now
        heapq.heappush(self._idle, (-e.id, e))
        # when this one could be reclaimed, for the sweep (comparisons: cheaper than min())
        due = now + e.idle_s
        if e.retire_s < due:  # noqa: PLR1730
            due = e.retire_s
        if due - 1e-6 < self._sweep_after:  # noqa: PLR1730
            self._sweep_after = due - 1e-6

    def _drop_connection(self, e: ExecutionEnvironment) -> bool:
        if e.connected and self.database is not None:
            self.database.disconnect()
        return False

    def sweep(self) -> None:
        """Reclaim idle environments past their lifetime (called by the monitor).

        Nothing is scanned before the earliest moment an idle environment could be due,
        which keeps the monitor's frequent calls cheap when many environments are idle.
        """
        now = self.env.now
        if not self._idle or now < self._sweep_after:
            return
        keep = []
        due = float("inf")
        for item in self._idle:
            e = item[1]
            if self._expired(e, now):
                self._destroy(e)
            else:
                keep.append(item)
                due = min(due, e.idle_since + e.idle_s, e.retire_s)
        self._sweep_after = due - 1e-6
        if len(keep) != len(self._idle):
            heapq.heapify(keep)
            self._idle = keep

    @property
    def idle(self) -> int:
        return self.live - self.busy
