"""Validation against queueing theory: replications, 95 % confidence intervals.

Two configurations of the model are exactly classical queues, so their long-run
averages have closed forms (simlib.theory):

- Erlang B (M/M/c/c, blocked calls cleared): synchronous callers (``source: api``) with
  Poisson arrivals, exponential handler durations, reserved concurrency c, no retries.
  A request that finds c invocations running is throttled (429) and lost. Reserved =
  provisioned = c, so every environment is pre-initialised and there is no INIT; the
  CPU-bound share is 0, so memory does not stretch the durations; no database.
- Erlang C (M/M/c, FIFO queue): an SQS queue drained by a mapping with batch size 1,
  no batching window and maximum concurrency c (which is also where the pollers start,
  since c <= 5). Each poller is a server; the wait in queue is first receive - send.
  The only departure from M/M/c is the platform INIT of each environment's first
  invocation, which the warm-up cut removes (messages sent in the first 10 % of the run
  are left out).

Each check runs independent replications (distinct seeds), forms the mean and a 95 %
Student-t confidence interval across them, and asserts that theory lies within the
half-width plus a small stated tolerance, and that the interval is narrow enough for
the comparison to mean something. Little's law is checked on the SQS runs too.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
from scipy import stats

import simlib
from simlib.theory import erlang_b, mmc_mean_wait

MEAN_S = 0.1  # mean handler duration: mu = 10 per second
WARM_UP = 0.1  # share of the run left out of the SQS averages


def mean_ci(values) -> tuple[float, float]:
    """Sample mean and the half-width of its 95 % Student-t confidence interval."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return float(x.mean()), float(half)


def exponential_handler(mean_s: float) -> dict:
    # duration_median_s is the median; an exponential's mean is median / ln 2
    return {
        "duration_distribution": "exponential",
        "duration_median_s": mean_s * math.log(2.0),
        "cpu_fraction": 0.0,
        "failure_rate": 0.0,
    }


# ------------------------------------------------------------------------------------
# Erlang B: throttling of synchronous calls
# ------------------------------------------------------------------------------------
def erlang_b_scenario(c: int, offered_load: float, duration_s: float) -> simlib.Scenario:
    return simlib.Scenario.from_dict({
        "source": "api",
        "workload": {"pattern": "poisson", "rate_per_s": offered_load / MEAN_S,
                     "duration_s": duration_s, "poison_fraction": 0.0},
        "function": {"reserved_concurrency": c, "provisioned_concurrency": c},
        "handler": exponential_handler(MEAN_S),
        "database": None,
        "account": {"concurrency_limit": c + 100},
        "caller": {"max_retries": 0},
    })


@pytest.mark.parametrize(
    ("servers", "offered_load", "duration_s", "replications"),
    [(5, 4.0, 300.0, 20), (10, 8.0, 150.0, 20)],
)
def test_throttle_fraction_matches_erlang_b(servers, offered_load, duration_s, replications):
    scenario = erlang_b_scenario(servers, offered_load, duration_s)
    fractions = []
    for i in range(replications):
        s = simlib.simulate(scenario, seed=1_000 + i).summary
        assert s["cold_starts"] == 0  # all environments are provisioned
        assert s["max_concurrency"] <= servers
        # blocked calls are cleared: every throttle is a request that failed
        assert s["throttles"] == s["messages_failed"]
        fractions.append(s["throttles"] / s["messages_sent"])
    mean, half = mean_ci(fractions)
    theory = erlang_b(servers, offered_load)
    # Blocking probability is insensitive to the start-up state, so nothing is
    # discarded; 0.005 absolute covers the small bias of starting empty over a short run.
    assert half < 0.02, f"CI too wide to mean anything: ±{half:.4f}"
    assert abs(mean - theory) <= half + 0.005, (
        f"throttle fraction {mean:.4f} ± {half:.4f} vs Erlang B({servers}, "
        f"{offered_load}) = {theory:.4f}"
    )


# ------------------------------------------------------------------------------------
# Erlang C: waiting in an SQS queue for one of c pollers
# ------------------------------------------------------------------------------------
SQS_DURATION_S = 1_000.0
SQS_REPLICATIONS = 12


def erlang_c_scenario(c: int, rho: float) -> simlib.Scenario:
    lam = rho * c / MEAN_S
    return simlib.Scenario.from_dict({
        "source": "sqs",
        "workload": {"pattern": "poisson", "rate_per_s": lam, "duration_s": SQS_DURATION_S,
                     "poison_fraction": 0.0},
        "queue": {"visibility_timeout_s": 900.0, "max_receive_count": None},
        "mapping": {"batch_size": 1, "batching_window_s": 0.0, "max_concurrency": c,
                    "report_batch_item_failures": False},
        "function": {"init_s": 0.0, "timeout_s": 900.0},
        "handler": exponential_handler(MEAN_S),
        "database": None,
    })


@cache
def sqs_replication(c: int, rho: float, seed: int) -> dict:
    """One SQS run reduced to the numbers the tests need (cached: two tests share it)."""
    r = simlib.simulate(erlang_c_scenario(c, rho), seed=seed)
    s = r.summary
    m = r.messages
    start, end = WARM_UP * SQS_DURATION_S, SQS_DURATION_S
    after = m[(m["sent_s"] >= start) & (m["sent_s"] < end)]
    ts = r.timeseries
    window = ts[(ts["t_s"] >= start) & (ts["t_s"] <= end)]
    return {
        "all_deleted": s["messages_deleted"] == s["messages_sent"],
        "cold_starts": s["cold_starts"],
        "max_concurrency": s["max_concurrency"],
        "wait": float((after["first_received_s"] - after["sent_s"]).mean()),
        "sojourn": float((after["finished_s"] - after["sent_s"]).mean()),
        "arrival_rate": len(after) / (end - start),
        "in_system": float((window["queue_visible"] + window["in_flight"]).mean()),
        "step_s": float(np.median(np.diff(ts["t_s"].to_numpy()))),
    }


SQS_CASES = [(2, 0.7), (4, 0.8)]


@pytest.mark.parametrize(("servers", "rho"), SQS_CASES)
def test_sqs_wait_matches_erlang_c(servers, rho):
    reps = [sqs_replication(servers, rho, 2_000 + i) for i in range(SQS_REPLICATIONS)]
    for rep in reps:
        assert rep["all_deleted"]
        assert rep["max_concurrency"] <= servers
        assert rep["cold_starts"] <= servers  # one INIT per environment, no more
    mean, half = mean_ci([rep["wait"] for rep in reps])
    lam, mu = rho * servers / MEAN_S, 1.0 / MEAN_S
    theory = mmc_mean_wait(lam, mu, servers)
    # What polling adds: the model wakes an idle poller the instant a message becomes
    # visible and a poller that finishes receives at once, so a message waits only for
    # a free server, as in M/M/c. 3 ms (a few % of Wq) allows for the little left of
    # the INIT warm-up after the cut; long runs (16 x 3,000 s) agree with theory to
    # within 0.3 ms, with no sign of a polling delay.
    polling_tolerance_s = 0.003
    assert half < 0.01, f"CI too wide to mean anything: ±{half * 1000:.2f} ms"
    assert abs(mean - theory) <= half + polling_tolerance_s, (
        f"mean wait {mean * 1000:.2f} ± {half * 1000:.2f} ms vs M/M/{servers} "
        f"Wq = {theory * 1000:.2f} ms"
    )


@pytest.mark.parametrize(("servers", "rho"), SQS_CASES)
def test_littles_law_on_the_sqs_run(servers, rho):
    """L = lambda W: mean number in the system (queue_visible + in_flight, sampled each
    step after warm-up) against the observed arrival rate times the mean sojourn
    (send -> delete) of the messages sent in the same window.

    Tolerance 5 %: L comes from one sample per step (1 s here) of a level that changes
    ~30 times a second, so it carries sampling noise; a model that left running batches
    out of in_flight would be off by ~50 %, one that lost the queue by ~20-40 %."""
    reps = [sqs_replication(servers, rho, 2_000 + i) for i in range(SQS_REPLICATIONS)]
    assert all(rep["step_s"] == 1.0 for rep in reps)
    L = np.mean([rep["in_system"] for rep in reps])
    lam_w = np.mean([rep["arrival_rate"] * rep["sojourn"] for rep in reps])
    assert abs(L - lam_w) <= 0.05 * lam_w, f"L = {L:.3f} vs lambda W = {lam_w:.3f}"
    # and both agree with M/M/c: L = lambda (Wq + 1/mu)
    lam, mu = rho * servers / MEAN_S, 1.0 / MEAN_S
    theory = lam * (mmc_mean_wait(lam, mu, servers) + 1.0 / mu)
    assert abs(lam_w - theory) <= 0.05 * theory, f"lambda W = {lam_w:.3f} vs {theory:.3f}"
