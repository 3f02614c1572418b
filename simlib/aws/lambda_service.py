"""The Lambda service for one function: execution environments, concurrency, throttling.

Rules honoured here (see docs/design.md, "Sources of AWS figures" and "Assumptions"):
- an environment serves one invocation at a time; with no idle environment a request
  starts a new one (a cold start) if the concurrency cap and the scaling rate allow;
- a request goes to the most recently created idle environment, so older ones age out
  (``function.routing: "newest"``, the default; see ``_ROUTING`` for the alternatives);
- an idle environment is reclaimed once idle for its own idle lifetime: ``idle_lifetime_s``
  + ``idle_reclaim_lag_s``, jittered per environment by up to ±``idle_lifetime_spread_s``/2
  (a draw keyed by the environment's number, stream ``lifetime``); any idle environment is
  reclaimed past ``max_lifetime_s``; a timeout or failed INIT resets an environment;
- reserved concurrency caps the function (else the account limit does); provisioned
  environments are initialised at allocation (INIT billed, no cold start), never reclaimed
  for idleness but recycled about every ``max_lifetime_s`` (a replacement initialised in
  advance takes over; see ``_recycle``), and traffic above them spills over to on-demand
  environments;
- new environments draw on a token bucket of 1,000 per 10 s, refilled continuously;
- at most 10 x the concurrency cap invocations start in each second of the clock, whatever
  the invocation type: above it the invoke is throttled (429).
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np
import simpy

from simlib.core import limits
from simlib.core.runtimes import init_profile
from simlib.core.scenario import Scenario
from simlib.core.streams import ChunkedStream, Streams

# INIT of a provisioned environment is not held to the on-demand 10 s limit: "The
# 10-second timeout doesn't apply to functions that are using provisioned concurrency ...
# The time limit is 130 seconds or the configured function timeout (maximum 900 seconds),
# whichever is higher" (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
# The model bills at most that much of a provisioned INIT (a failed one is not modelled).
PROVISIONED_INIT_LIMIT_S = 130.0


def _pop_last(idle: list):
    return idle.pop()


def _push_last(idle, item) -> None:
    idle.append(item)


def _pop_first(idle: deque):
    return idle.popleft()


# How the idle on-demand environments are held, by ``function.routing``: (push, pop,
# container). Items are (-id, environment) whatever the policy; only the heap reads the key.
# - "newest": a heap on -id, the most recently created first (AWS behaviour as assumed by
#   Mahmoudi & Khazaei's model and SimFaaS, data/README.md);
# - "recent": a stack, the most recently released first (MRU / LIFO);
# - "oldest": a queue, the least recently released first (LRU / FIFO, round robin);
# - "random": uniformly among the idle ones, a draw per pick (``LambdaFunction._pop_random``).
_ROUTING = {
    "newest": (heapq.heappush, heapq.heappop, list),
    "recent": (_push_last, _pop_last, list),
    "oldest": (_push_last, _pop_first, deque),
    "random": (_push_last, None, list),
}


class AccountPool:
    """The account's unreserved concurrency, shared by an application's functions that
    have no reserved concurrency: the account limit minus every reservation
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html: "reserved
    concurrency ... isn't available to other functions")."""

    __slots__ = ("all_busy", "busy", "cap", "max_all_busy")

    def __init__(self, cap: int):
        self.cap = cap
        self.busy = 0  # environments busy for functions without a reservation
        self.all_busy = 0  # environments busy for every function: the account's concurrency
        self.max_all_busy = 0


class ExecutionEnvironment:
    """One micro-VM with the function's runtime loaded."""

    __slots__ = ("connected", "created_s", "id", "idle_s", "idle_since", "init_s", "provisioned",
                 "retire_s")

    def __init__(self, env_id: int, created_s: float, provisioned: bool, init_s: float):
        self.id = env_id
        self.created_s = created_s
        self.provisioned = provisioned
        # INIT duration its first invocation waits for (0 when provisioned: INIT ran at
        # allocation, before any invocation, and is counted by the function)
        self.init_s = init_s
        self.idle_since = created_s
        self.connected = False  # holds a database connection
        # reclaimed at its maximum lifetime, or recycled then if provisioned (set by the function)
        self.retire_s = float("inf")
        self.idle_s = float("inf")  # its idle lifetime (set by the function)


class LambdaFunction:
    """Environments and concurrency accounting of one function."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, streams: Streams, database=None,
                 name: str = "function", pool: AccountPool | None = None):
        fn = scenario.function
        self.env = env
        self.name = name
        # an application's functions without reserved concurrency share the account's
        # unreserved pool; None in the short form (one function: its cap is the limit)
        self.pool = pool if fn.reserved_concurrency is None else None
        self.account = pool  # every function of an application counts its busy ones here
        # called with no argument when an invocation ends (an asynchronous event queue
        # waiting for a free environment); None when nothing waits. It must only schedule
        # work (trigger a SimPy event): it runs before the environment is back in the pool
        self.on_release = None
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
        # idle on-demand environments, held as function.routing says (_ROUTING)
        self._push, self._pop, self._container = _ROUTING[fn.routing]
        self._idle = self._container()
        if self._pop is None:  # "random": the k-th pick takes draw k of stream ``routing``
            self._pop = self._pop_random
            self._picks = 0
            self._pick_draws = ChunkedStream(streams, "routing", lambda rng, size: rng.random(size))
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
        # Provisioned environments. AWS: "Your function's initialization code runs during
        # allocation and every few hours, as running instances of your function are
        # recycled ... initialization is billed even if the instance never processes a
        # request. Provisioned concurrency runs continually and is billed separately from
        # initialization and invocation costs" (Lambda Developer Guide, "Managing concurrency
        # for a Lambda function", https://github.com/awsdocs/aws-lambda-developer-guide/blob/main/doc_source/configuration-concurrency.md;
        # the same words in the Lambda FAQ); "Lambda initializes instances of your function
        # before it is invoked, and recycles instances every few hours"
        # (https://docs.aws.amazon.com/lambda/latest/dg/services-efs.html). Each one runs
        # INIT at allocation (before time 0) and is recycled: AWS gives no period ("every few
        # hours"), so the
        # model takes max_lifetime_s, the lifetime on-demand environments also get. So that
        # the environments allocated together are not all recycled at the same instant, the
        # first recycle of environment k comes after max_lifetime_s x u_k, u_k in (0, 1] from
        # the stream ``recycle`` keyed by k (as if allocated at a uniformly random moment of
        # an earlier cycle); each replacement then lives max_lifetime_s.
        self.provisioned_init_s: list[float] = []  # each provisioned INIT run, capped (s)
        self._init_limit_s = max(PROVISIONED_INIT_LIMIT_S, float(fn.timeout_s))
        self._recycle_offsets = ChunkedStream(
            streams, "recycle", lambda rng, size: 1.0 - rng.random(size))
        for _ in range(fn.provisioned_concurrency):
            e = self._create(provisioned=True)
            self._schedule_recycle(e, fn.max_lifetime_s * self._recycle_offsets[e.id])
            self._provisioned_idle.append(e)
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
        if provisioned:
            # INIT runs now, off any invocation's path: counted (and billed) here, not seen
            # by an invocation. The same draw (stream ``init``, keyed by the environment's
            # number) an on-demand environment of that number would take.
            self.provisioned_init_s.append(min(self._init_draws[i], self._init_limit_s))
            init = 0.0
        else:
            init = self._init_draws[i]
        e = ExecutionEnvironment(i, self.env.now, provisioned, init)
        e.retire_s = e.created_s + self.cfg.max_lifetime_s
        e.idle_s = self._idle_lifetimes[i]
        return e

    @property
    def provisioned_inits(self) -> int:
        """INIT runs of provisioned environments: allocation and recycles."""
        return len(self.provisioned_init_s)

    def _schedule_recycle(self, e: ExecutionEnvironment, after_s: float) -> None:
        e.retire_s = self.env.now + after_s
        if math.isfinite(e.retire_s):
            self.env.process(self._recycle(e))

    def _recycle(self, e: ExecutionEnvironment):
        """Process: replace provisioned ``e`` at its recycle time.

        AWS keeps the configured number of initialised environments at any time and no
        invocation sees a cold start from a recycle ("at any given time, Lambda always
        ensures that the number of pre-initialized environments is equal to the value of
        your function's provisioned concurrency setting",
        https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html). So the
        replacement's INIT runs before the recycle time and it takes over at that instant;
        the overlap is not counted in ``live`` (an assumption). An environment busy then is
        recycled when it is released (``release``).
        """
        yield self.env.timeout(e.retire_s - self.env.now)
        idle = self._provisioned_idle
        for k in range(len(idle)):
            if idle[k] is e:
                idle[k] = self._replace(e)
                return

    def _replace(self, e: ExecutionEnvironment) -> ExecutionEnvironment:
        """Retire provisioned ``e`` and put a freshly initialised one in its place."""
        self._destroy(e)
        new = self._create(provisioned=True)
        self._schedule_recycle(new, self.cfg.max_lifetime_s)
        return new

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
        pool = self.pool
        if pool is not None and pool.busy >= pool.cap:
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
                _, cand = self._pop(self._idle)
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
        acct = self.account
        if acct is not None:
            if pool is not None:
                pool.busy += 1
            acct.all_busy += 1
            if acct.all_busy > acct.max_all_busy:  # noqa: PLR1730 (cheaper than max())
                acct.max_all_busy = acct.all_busy
        return e

    def _throttle(self) -> None:
        self.throttles += 1
        self.throttles_step += 1

    def release(self, e: ExecutionEnvironment, reset: bool) -> None:
        """The invocation on ``e`` ended; ``reset`` after a timeout or failed INIT."""
        self.busy -= 1
        if self.account is not None:
            self.account.all_busy -= 1
            if self.pool is not None:
                self.pool.busy -= 1
        if self.on_release is not None:
            self.on_release()
        now = self.env.now
        e.init_s = 0.0
        if e.provisioned:
            if reset:  # Lambda replaces it with a freshly initialised one
                e.connected = self._drop_connection(e)
            e.idle_since = now
            if now >= e.retire_s:  # busy at its recycle time: recycled now
                e = self._replace(e)
            self._provisioned_idle.append(e)
            return
        if reset:
            self._destroy(e)
            return
        e.idle_since = now
        self._push(self._idle, (-e.id, e))
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
            if self._push is heapq.heappush:
                heapq.heapify(keep)
                self._idle = keep
            else:  # the order of release is kept
                self._idle = self._container(keep)

    def _pop_random(self, idle: list):
        """Remove and return an idle item chosen uniformly (``function.routing: "random"``)."""
        k = int(self._pick_draws[self._picks] * len(idle))
        self._picks += 1
        idle[k], idle[-1] = idle[-1], idle[k]
        return idle.pop()

    @property
    def idle(self) -> int:
        return self.live - self.busy
