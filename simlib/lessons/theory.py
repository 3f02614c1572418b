"""Closed-form queueing results for Serverless Lab.

The SimPy model of AWS Lambda is checked against these formulas, and the
lessons plot them next to the simulated curves.  If the simulator and these
functions disagree under the conditions where the theory applies (Poisson
arrivals, independent service times, a fixed number of servers), the bug is
in the simulator, so this module is kept small, dependency-light (pure
Python plus numpy) and easy to audit.

Mapping to Lambda
-----------------
* ``servers`` (``c``) is the concurrency limit: account-level concurrency or a
  function's reserved concurrency.
* ``offered_load`` (``a``) is ``arrival_rate * mean_duration``, measured in
  Erlangs: the mean number of executions that would be busy if there were no
  limit at all.
* A synchronous request arriving while all ``c`` executions are busy is
  throttled rather than queued, which is the M/G/c/c *loss* system, whose
  blocking probability is Erlang B.
* If arrivals instead wait for a free execution (an idealised
  queue-in-front-of-Lambda design), the system is M/M/c and Erlang C gives
  the probability of waiting.

References
----------
* L. Kleinrock, *Queueing Systems, Volume 1: Theory*, Wiley, 1975, chapter 3
  (the M/M/m queue and the M/M/m/m loss system).
* D. Gross, J. F. Shortle, J. M. Thompson, C. M. Harris, *Fundamentals of
  Queueing Theory*, 4th ed., Wiley, 2008, chapter 2 (M/M/c, M/M/c/c, and the
  insensitivity of Erlang B to the service-time distribution).
* J. D. C. Little, "A proof for the queuing formula L = lambda W",
  *Operations Research* 9(3), 1961.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "erlang_b",
    "erlang_c",
    "mmc_mean_queue_length",
    "mmc_mean_wait",
    "throttle_fraction_curve",
]


# --------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------


def _check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` as an int, or raise ValueError if it is not an
    integer (bools excluded) that is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_real(name: str, value: object, *, strictly_positive: bool) -> float:
    """Return ``value`` as a float, or raise ValueError if it is not a finite
    real number that is >= 0 (or > 0 when ``strictly_positive``)."""
    bound = "> 0" if strictly_positive else ">= 0"
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        x = float(value)
        ok = math.isfinite(x) and (x > 0.0 if strictly_positive else x >= 0.0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return x


# --------------------------------------------------------------------------
# Erlang B / Erlang C
# --------------------------------------------------------------------------


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of the M/M/c/c loss system (Erlang B).

    This is the long-run fraction of requests throttled when requests arrive
    as a Poisson stream, ``servers`` concurrent executions are allowed and a
    request that finds them all busy is rejected instead of queued.  By the
    insensitivity property of the loss system the same value holds for
    M/G/c/c: only the *mean* execution time matters, through
    ``offered_load = arrival_rate * mean_duration``.

    The textbook formula is ``B(c, a) = (a^c / c!) / sum_{k=0..c} a^k / k!``
    (Kleinrock vol. 1, ch. 3).  Evaluating it directly overflows for a few
    hundred servers, so we use the equivalent recursion

        B(0, a) = 1,    B(k, a) = a B(k-1, a) / (k + a B(k-1, a)),

    which only combines quantities in [0, 1] and a, and is numerically stable
    for any c.

    Parameters
    ----------
    servers:
        Number of servers ``c`` (the concurrency limit); integer >= 0.
        With 0 servers every request is blocked, so ``B = 1``.
    offered_load:
        Offered load ``a`` in Erlangs; finite and >= 0.

    Returns
    -------
    float
        Probability in [0, 1] that an arriving request is blocked.
    """
    c = _check_int("servers", servers, 0)
    a = _check_real("offered_load", offered_load, strictly_positive=False)
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival has to wait in an M/M/c queue (Erlang C).

    Unlike the loss system, M/M/c keeps the waiting requests in an unbounded
    FIFO queue, so it only has a steady state when the offered load is
    below the number of servers (``rho = a / c < 1``).

    Computed from Erlang B with the standard identity (Kleinrock vol. 1,
    ch. 3; Gross et al., ch. 2)

        C(c, a) = B(c, a) / (1 - rho (1 - B(c, a))),    rho = a / c,

    which inherits the stability of the Erlang B recursion.

    Parameters
    ----------
    servers:
        Number of servers ``c``; integer >= 0 (but ``c`` must exceed the
        load, so in practice >= 1).
    offered_load:
        Offered load ``a = lambda / mu`` in Erlangs; finite, >= 0 and < c.

    Returns
    -------
    float
        Probability in [0, 1] that an arriving customer finds all servers
        busy and has to queue.

    Raises
    ------
    ValueError
        If the arguments are out of range, or if ``offered_load >= servers``
        (the queue is unstable: it grows without bound).
    """
    c = _check_int("servers", servers, 0)
    a = _check_real("offered_load", offered_load, strictly_positive=False)
    if not a < c:
        raise ValueError(
            f"offered_load must be < servers for a stable M/M/c queue, got "
            f"offered_load={a!r} with servers={c}: the queue is unstable "
            f"(utilisation rho = a/c >= 1, so waits grow without bound)"
        )
    b = erlang_b(c, a)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def mmc_mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time spent waiting in queue (before service) in an M/M/c queue.

    ``Wq = C(c, a) / (c mu - lambda)`` with ``a = lambda / mu`` (Kleinrock
    vol. 1, ch. 3): a fraction ``C`` of customers wait, and given that they
    wait, the wait is exponential with rate ``c mu - lambda`` (the rate at
    which the busy pool drains faster than it fills).  Time units are those
    of the rates (e.g. per second in, seconds out).  For c = 1 this reduces
    to the M/M/1 result ``rho / (mu - lambda)``.

    Parameters
    ----------
    arrival_rate:
        Poisson arrival rate ``lambda``; finite and >= 0.
    service_rate:
        Service rate ``mu`` of one server (1 / mean duration); finite, > 0.
    servers:
        Number of servers ``c``; integer >= 1.

    Raises
    ------
    ValueError
        If an argument is out of range or ``arrival_rate >= servers *
        service_rate`` (the queue is unstable).
    """
    lam = _check_real("arrival_rate", arrival_rate, strictly_positive=False)
    mu = _check_real("service_rate", service_rate, strictly_positive=True)
    c = _check_int("servers", servers, 1)
    a = lam / mu
    spare = c * mu - lam
    if not (a < c and spare > 0.0):
        raise ValueError(
            f"arrival_rate must be < servers * service_rate for a stable "
            f"M/M/c queue, got arrival_rate={lam!r}, service_rate={mu!r}, "
            f"servers={c}: the queue is unstable (waits grow without bound)"
        )
    return erlang_c(c, a) / spare


def mmc_mean_queue_length(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean number of customers waiting (not in service) in an M/M/c queue.

    Obtained from :func:`mmc_mean_wait` with Little's law applied to the
    waiting room, ``Lq = lambda * Wq`` (Little, 1961).  Arguments, units and
    errors are as for :func:`mmc_mean_wait`.
    """
    wq = mmc_mean_wait(arrival_rate, service_rate, servers)
    return float(arrival_rate) * wq


def throttle_fraction_curve(servers: int, offered_loads) -> np.ndarray:
    """Erlang B blocking probability for many offered loads at once.

    Vectorised version of :func:`erlang_b` for plotting the theoretical
    throttle fraction of a concurrency limit ``servers`` against load, next
    to the fraction of throttled requests measured in the simulation.  The
    same stable recursion is applied elementwise, in O(servers * n) numpy
    operations.

    Parameters
    ----------
    servers:
        Concurrency limit ``c``; integer >= 0.
    offered_loads:
        Array-like of offered loads in Erlangs; every element finite, >= 0.

    Returns
    -------
    numpy.ndarray
        Float array with the same shape as ``offered_loads``.
    """
    c = _check_int("servers", servers, 0)
    try:
        a = np.asarray(offered_loads, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"offered_loads must be an array of finite numbers >= 0, got {offered_loads!r}"
        ) from None
    bad = ~(np.isfinite(a) & (a >= 0.0))
    if np.any(bad):
        first = float(a[bad].flat[0])
        raise ValueError(f"offered_loads must contain only finite values >= 0, got {first!r}")
    b = np.ones_like(a)
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b
