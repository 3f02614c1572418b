"""Speed and memory of the model, measured (never asserted in tests).

Prints, in one process:
- the default scenario's wall time (best of 5), the notebooks' budget being 0.3 s;
- messages per wall second of a reference pipeline (100,000 messages, batch 10, 1 s
  batching window, 1 % failures, partial batch responses, a database) and of a
  bare-SimPy floor (Poisson arrivals -> simpy.Store -> 100 consumers, each holding a
  message for an exponential time), best of three each, and their ratio;
- peak memory (max RSS of a child process) of a 1,000,000-message run.

Usage: python benchmarks/throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import simpy

import simlib

REFERENCE = {
    "workload": {"rate_per_s": 500, "duration_s": 200},
    "mapping": {"batch_size": 10, "batching_window_s": 1, "report_batch_item_failures": True},
    "handler": {"failure_rate": 0.01},
    "database": {"max_connections": 1_000},
}


def bare_simpy_floor(n_messages: int, consumers: int = 100, rate_per_s: float = 500.0,
                     mean_hold_s: float = 0.1, seed: int = 1) -> float:
    """Messages per wall second of the simplest SimPy queue one could write."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate_per_s, n_messages)
    holds = rng.exponential(mean_hold_s, n_messages)
    env = simpy.Environment()
    store = simpy.Store(env)
    done = [0]

    def arrivals():
        for i in range(n_messages):
            yield env.timeout(gaps[i])
            yield store.put(i)

    def consumer():
        while True:
            i = yield store.get()
            yield env.timeout(holds[i])
            done[0] += 1

    env.process(arrivals())
    for _ in range(consumers):
        env.process(consumer())
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    assert done[0] == n_messages
    return n_messages / wall


def model_rate(data: dict, seed: int = 1) -> tuple[float, int, float]:
    scenario = simlib.Scenario.from_dict(data)
    t0 = time.perf_counter()
    result = simlib.simulate(scenario, seed=seed)
    summary = result.summary
    wall = time.perf_counter() - t0
    return summary["messages_sent"] / wall, summary["messages_sent"], wall


def default_time(repeats: int = 5) -> float:
    scenario = simlib.Scenario.from_dict({})
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        _ = simlib.simulate(scenario, seed=1).summary  # the summary is part of the cost
        best = min(best, time.perf_counter() - t0)
    return best


def peak_memory_mb(n_messages: int) -> float:
    """Max RSS of a child process that runs an n-message reference pipeline."""
    data = json.loads(json.dumps(REFERENCE))
    data["workload"]["duration_s"] = n_messages / data["workload"]["rate_per_s"]
    code = (
        "import json, resource, sys, simlib;"
        f"r = simlib.simulate(simlib.Scenario.from_dict(json.loads({json.dumps(json.dumps(data))})), seed=1);"
        "r.summary; r.messages; r.invocations; r.timeseries;"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, no 1M memory run")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    print(f"default scenario (about 20,000 messages): {default_time():.3f} s (best of 5)")
    data = json.loads(json.dumps(REFERENCE))
    data["workload"]["duration_s"] *= scale
    # best of three, alternating, so that a noisy machine hurts both sides alike
    rate = n = wall = floor = 0.0
    for _ in range(3):
        r, n, w = model_rate(data)
        if r > rate:
            rate, wall = r, w
        floor = max(floor, bare_simpy_floor(n))
    print(f"reference pipeline: {n:,} messages in {wall:.2f} s = {rate:,.0f} messages/s")
    print(f"bare SimPy floor:   {floor:,.0f} messages/s")
    print(f"model / floor:      {rate / floor:.2f}")
    if not args.quick:
        print(f"peak memory, 1,000,000 messages: {peak_memory_mb(1_000_000):,.0f} MB (max RSS)")
    print(f"this process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
