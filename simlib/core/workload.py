"""Arrivals: when each message is sent (or each synchronous request is made).

Arrival times are generated in bulk as one sorted NumPy array before the run, so the
engine needs no SimPy event per arrival on the queue path. Time-varying patterns use
thinning of a Poisson process at the peak rate (Lewis and Shedler, 1979).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from simlib.core.errors import ScenarioError
from simlib.core.scenario import Workload
from simlib.core.streams import Streams


def rate_at(w: Workload, t: np.ndarray) -> np.ndarray:
    """The arrival rate (per second) of a pattern at times ``t``."""
    t = np.asarray(t, dtype=float)
    if w.pattern == "burst":
        inside = (t >= w.burst_start_s) & (t < w.burst_start_s + w.burst_duration_s)
        return np.where(inside, w.burst_rate_per_s, w.rate_per_s)
    if w.pattern == "diurnal":
        return w.rate_per_s * (1.0 + w.diurnal_amplitude * np.sin(2 * np.pi * t / w.diurnal_period_s))
    return np.full_like(t, w.rate_per_s)


def arrival_times(w: Workload, streams: Streams) -> np.ndarray:
    """Sorted send times in [0, duration_s)."""
    rng = streams.generator("arrivals")
    T = w.duration_s
    if w.pattern == "constant":
        return np.arange(0.0, T, 1.0 / w.rate_per_s)
    if w.pattern == "trace":
        return read_trace(w.trace_path, T)
    if w.pattern == "poisson":
        n = rng.poisson(w.rate_per_s * T)
        return np.sort(rng.uniform(0.0, T, n))
    peak = w.rate_per_s * (1.0 + w.diurnal_amplitude) if w.pattern == "diurnal" else max(
        w.rate_per_s, w.burst_rate_per_s
    )
    n = rng.poisson(peak * T)
    t = np.sort(rng.uniform(0.0, T, n))
    keep = streams.generator("thinning").uniform(0.0, peak, n) < rate_at(w, t)
    return t[keep]


def read_trace(path: str, duration_s: float) -> np.ndarray:
    """Arrival timestamps (seconds from the start) from the first column of a CSV file.

    A header row is allowed. Timestamps at or after ``duration_s`` are dropped.
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError("workload.trace_path", path, "an existing CSV file")
    values = []
    with p.open(newline="") as fh:
        for i, row in enumerate(csv.reader(fh)):
            if not row or not row[0].strip():
                continue
            try:
                values.append(float(row[0]))
            except ValueError:
                if i == 0:
                    continue  # header
                raise ScenarioError(
                    "workload.trace_path", path, f"numbers in the first column (line {i + 1}: {row[0]!r})"
                ) from None
    t = np.sort(np.asarray(values, dtype=float))
    if len(t) and t[0] < 0:
        raise ScenarioError("workload.trace_path", path, "timestamps >= 0 seconds")
    return t[t < duration_s]


def poison_flags(w: Workload, n: int, streams: Streams) -> np.ndarray:
    """Which messages always fail (a malformed payload, a bug it triggers)."""
    if w.poison_fraction <= 0:
        return np.zeros(n, dtype=bool)
    return streams.generator("poison").random(n) < w.poison_fraction
