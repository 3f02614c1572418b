"""What an application costs against one pipeline carrying the same traffic (measured,
never asserted in tests).

Issue 11's budget: "an application with k branches costs at most about k times one
pipeline carrying the same traffic". The application here is a topic fanning out to
k queues, each read by its own function (every branch receives every event); the
reference is one source -> queue -> mapping -> function pipeline with the same traffic,
run in the same process. Both are timed best of ``--repeats`` (alternating, so a noisy
machine hurts both alike) and reported as a ratio, with the ratio per branch.

Usage: python benchmarks/application.py [--branches K] [--rate R] [--duration S]
"""

from __future__ import annotations

import argparse
import time

from simlib import Application, simulate

HANDLER = {"duration_median_s": 0.05, "duration_p99_s": 0.2, "db_queries_per_message": 0}


def pipeline(rate: float, duration: float) -> Application:
    return Application.from_dict({"resources": {
        "source": {"kind": "source", "target": "queue", "rate_per_s": rate,
                   "duration_s": duration},
        "queue": {"kind": "queue"},
        "mapping": {"kind": "mapping", "queue": "queue", "function": "function"},
        "function": {"kind": "function", **HANDLER},
    }})


def fan_out(k: int, rate: float, duration: float) -> Application:
    res = {"orders": {"kind": "source", "target": "Topic", "rate_per_s": rate,
                      "duration_s": duration},
           "Topic": {"kind": "topic",
                     "subscriptions": [{"target": f"Q{i}"} for i in range(k)]}}
    for i in range(k):
        res[f"Q{i}"] = {"kind": "queue"}
        res[f"M{i}"] = {"kind": "mapping", "queue": f"Q{i}", "function": f"F{i}"}
        res[f"F{i}"] = {"kind": "function", **HANDLER}
    return Application.from_dict({"resources": res})


def timed(app: Application) -> tuple[float, dict]:
    t = time.perf_counter()
    summary = simulate(app, seed=1).summary
    return time.perf_counter() - t, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    one, many = pipeline(args.rate, args.duration), fan_out(args.branches, args.rate,
                                                            args.duration)
    t_one = t_many = float("inf")
    for _ in range(args.repeats):
        a, s_one = timed(one)
        b, s_many = timed(many)
        t_one, t_many = min(t_one, a), min(t_many, b)
    ratio = t_many / t_one
    print(f"one pipeline: {s_one['messages_sent']:,} messages, {t_one:.3f} s (best of "
          f"{args.repeats})")
    print(f"topic -> {args.branches} queues -> {args.branches} functions: "
          f"{s_many['messages_sent']:,} published, {s_many['events_delivered']:,} events, "
          f"{t_many:.3f} s")
    print(f"ratio {ratio:.2f} for {args.branches} branches: {ratio / args.branches:.2f} per "
          "branch (the budget: about 1)")


if __name__ == "__main__":
    main()
