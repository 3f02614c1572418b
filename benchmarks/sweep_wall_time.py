"""Wall time of one sweep at 1 and 2 worker processes (measured, never asserted).

The sweep: a queue processor whose batches take about 10 s (a 5 s batching window and
20 records of ~0.3 s), its visibility timeout at 10, 30, 60 and 180 s, 5 replications
each: 20 runs of 30,000 messages. It prints the sweep's table (mean and 95 % interval
per point), checks that both worker counts gave identical rows, and prints each wall
time, the speed-up and the machine's load average, since other work on the same cores
changes the numbers.

Each timing includes starting the pool (what a command-line user pays). Timings
alternate between the worker counts to spread drifting background load evenly; the
forkserver's first start is paid in the first 2-worker repeat only, so that repeat is
shown apart.

Usage: python benchmarks/sweep_wall_time.py [--repeats N] [--replications N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import pandas as pd

from simlib import Scenario
from simlib.cli import sweep_table
from simlib.sweep import cpu_count, summarize, sweep

BASE = {
    "workload": {"rate_per_s": 50, "duration_s": 600},
    "mapping": {"batch_size": 20, "batching_window_s": 5},
    "function": {"timeout_s": 10},
    "handler": {"duration_median_s": 0.3, "duration_p99_s": 0.6, "cpu_fraction": 0.0},
    "database": None,
}
GRID = {"queue.visibility_timeout_s": [10, 30, 60, 180]}
KPIS = ["duplicate_executions", "messages_dlq", "latency_p99_s", "cost_per_million_usd"]


def timed(base: Scenario, replications: int, workers: int) -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    runs = sweep(base, GRID, replications, seed=0, workers=workers)
    return time.perf_counter() - start, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replications", type=int, default=5)
    args = parser.parse_args()
    base = Scenario.from_dict(BASE)
    load_before = os.getloadavg()
    times: dict[int, list[float]] = {1: [], 2: []}
    frames: dict[int, pd.DataFrame] = {}
    for _ in range(args.repeats):
        for workers in (1, 2):
            wall, frames[workers] = timed(base, args.replications, workers)
            times[workers].append(wall)
    load_after = os.getloadavg()
    pd.testing.assert_frame_equal(frames[1], frames[2], check_exact=True)

    runs = frames[1]
    points = summarize(runs, list(GRID), KPIS)
    print(f"{len(runs)} runs ({len(points)} points x {args.replications} replications), "
          f"{int(runs['messages_sent'].mean()):,} messages each; mean ± 95 % interval:")
    print(sweep_table(points, list(GRID), KPIS).to_string(index=False))
    print("rows identical at 1 and 2 workers: yes")
    print()
    print(f"CPUs available: {cpu_count()}; load average (1 min) {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    for workers, walls in times.items():
        shown = ", ".join(f"{w:.2f}" for w in walls)
        print(f"workers={workers}: wall {shown} s  (best {min(walls):.2f}, median "
              f"{statistics.median(walls):.2f})")
    print(f"speed-up, best vs best: {min(times[1]) / min(times[2]):.2f}x; "
          f"median vs median: {statistics.median(times[1]) / statistics.median(times[2]):.2f}x")


if __name__ == "__main__":
    main()
