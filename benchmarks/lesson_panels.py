"""How long a lesson's panel takes to answer a slider (measured, never asserted).

A lesson does not state its panel's response time (developer material, see
/work/shared/lesson-standard.md): this script measures it instead. For each lesson it
executes the lesson's code cells up to and including the one that builds the panel (the
same code a reader runs, so the measurement cannot drift from the lesson), then times, for
the panel's default and for a few slider settings chosen to be slow:

- ``update``: one ``Panel.update()`` (re-simulate, build the figure and the KPI table,
  hand them to the output widget), the median of ``--repeats``;
- ``draw``: drawing that figure as the PNG the notebook shows (what JupyterLab's inline
  backend does once the figure is displayed; headless, display does not draw), the median;
- the ratio of ``update + draw`` to a reference measured in the same process: the default
  short-form run ``simulate(Scenario(), 1)`` with its summary (best of 5, as in
  benchmarks/throughput.py), since wall times on a shared machine drift by tens of per
  cent from day to day while a ratio measured in one process does not drift as much.

The lesson standard's target is 0.3 s for the panel's default on the lesson's scenario.

Usage: python benchmarks/lesson_panels.py [--repeats N] [NOTEBOOK ...]
(default: every lesson, notebooks/NN-*.ipynb)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import simlib

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))

# Slider settings worth timing beyond the default, per lesson: the slow corners (the most
# events, the longest drains, the most retries) that a reader can reach.
SETTINGS = {
    "04-visibility-timeout-and-duplicates": [
        {"reserved_concurrency": 2, "visibility_ratio": 8.0, "rate_per_s": 60},
        {"reserved_concurrency": 2, "max_concurrency": 2, "visibility_ratio": 1.0, "rate_per_s": 60},
    ],
    "09-workshop-capstone": [
        {"batch_size": 1, "batching_window_s": 0},
        {"visibility_timeout_s": 180},
    ],
    "01-cold-starts": [
        {"source": "sqs", "rate_per_s": 3, "burst_rate_per_s": 150, "runtime": "java21",
         "init_s": 4.0},
        {"source": "sqs", "rate_per_s": 0.001},
    ],
    "15-provisioned-concurrency-and-snapstart": [
        {"provisioned_concurrency": 0, "burst_rate_per_s": 150},
    ],
    "02-concurrency-and-throttling": [
        {"reserved_concurrency": 2, "rate_per_s": 150, "max_retries": 8},   # the most retries
    ],
    "05-dead-letter-queues-and-poison-messages": [
        {"reserved_concurrency": 1},                                         # the longest drain
        {"poison_fraction": 0.2, "max_receive_count": 10},                   # the most re-runs
    ],
    "11-async-invocation-and-destinations": [
        {"maximum_event_age_s": 21_600},
        {"reserved_concurrency": 8, "maximum_event_age_s": 21_600, "rate_per_s": 6,
         "failure_rate": 0.5},
        {"reserved_concurrency": 2, "maximum_event_age_s": 21_600, "rate_per_s": 6,
         "failure_rate": 0.5},
        {"reserved_concurrency": 1, "maximum_event_age_s": 21_600, "rate_per_s": 6,
         "failure_rate": 0.5},
    ],
    "12-fan-out-sns-and-eventbridge": [
        {"analytics_reserved": None},
        {"analytics_reserved": None, "account_concurrency": 1000},
        {"analytics_reserved": 2},
    ],
    "13-fifo-queues-and-message-groups": [
        {"message_groups": 1},                              # the longest drain
        {"queue": "standard"},
        {"failure_rate": 0.05},                             # the most re-runs
        {"poison_fraction": 0.005, "max_receive_count": 0},  # no DLQ: runs the whole hour
        {"message_groups": 1, "poison_fraction": 0.005, "max_receive_count": 0,
         "visibility_timeout_s": 10},
    ],
    "14-whole-application-what-if": [
        {"spike_rate_per_s": 48},                                        # the most events
        {"spike_rate_per_s": 48, "email_reserved_concurrency": 1,
         "maximum_event_age_s": 21_600},                                 # the longest drain
        {"spike_rate_per_s": 48, "email_reserved_concurrency": 20},
        {"spike_rate_per_s": 48, "fulfilment_max_concurrency": 2},
    ],
}


def reference_s(repeats: int = 5) -> float:
    """Best of ``repeats`` runs of the default short-form scenario, summary included."""
    scenario = simlib.Scenario()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        _ = simlib.simulate(scenario, 1).summary
        best = min(best, time.perf_counter() - start)
    return best


def load_panel(path: Path):
    """Execute the lesson's code cells up to the one that builds its panel; returns the
    panel and the seconds that took. The cells' printed output is discarded."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in cells if c["cell_type"] == "code"]
    last = next((i for i, src in enumerate(sources) if "interactive(" in src), None)
    if last is None:
        raise SystemExit(f"{path.name}: no cell builds a panel with simlib.explore.interactive")
    # IPython's display() is a builtin in a kernel, not in a plain interpreter: here the
    # cells' output is discarded anyway.
    namespace: dict = {"__name__": "__lesson__", "display": lambda *args, **kwargs: None}
    start = time.perf_counter()
    cwd = os.getcwd()
    os.chdir(path.parent)  # as the notebook runs: from its own folder
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for i, src in enumerate(sources[: last + 1]):
                # the lesson's own code, as a reader runs it (nothing from outside the repo)
                exec(compile(src, f"{path.name}, code cell {i + 1}", "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(cwd)
    panel = namespace.get("panel")
    if panel is None or not hasattr(panel, "update"):
        raise SystemExit(f"{path.name}: the panel cell does not name its panel `panel`")
    return panel, time.perf_counter() - start


def time_setting(panel, values: dict, repeats: int) -> tuple[float, float]:
    """Median seconds of one panel update and of drawing its figure, at ``values``."""
    updates, draws = [], []
    with contextlib.redirect_stdout(io.StringIO()):  # headless, display() prints
        for name, value in values.items():
            panel.controls[name].value = value  # a change runs the panel: a warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            panel.update()
            updates.append(time.perf_counter() - start)
            figure = panel.run_fn(**panel.values)[0]
            start = time.perf_counter()
            figure.savefig(io.BytesIO(), format="png")
            draws.append(time.perf_counter() - start)
    if panel.error is not None:
        raise SystemExit(f"the panel refused {values}: {panel.error}")
    return statistics.median(updates), statistics.median(draws)


def describe(values: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in values.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, default=DEFAULT_NOTEBOOKS)
    parser.add_argument("--repeats", type=int, default=5, help="timed updates per setting")
    args = parser.parse_args()
    for path in args.notebooks:
        path = path.resolve()
        panel, setup = load_panel(path)
        defaults = dict(panel.values)
        print(f"{path.name}: its cells up to the panel ran in {setup:.1f} s")
        ref = reference_s()
        print(f"reference, simulate(Scenario(), 1) with its summary: {ref:.3f} s (best of 5)")
        print(f"panel default: {describe(defaults)}")
        print(f"{'setting (changes from the default)':<84} {'update':>7} {'draw':>6} "
              f"{'total':>6} {'/ ref':>6}")
        settings = [{}] + SETTINGS.get(path.stem, [])
        for changes in settings:
            values = {**defaults, **changes}
            update, draw = time_setting(panel, values, args.repeats)
            label = describe(changes) if changes else "the default"
            total = update + draw
            print(f"{label:<84} {update:7.3f} {draw:6.3f} {total:6.3f} {total / ref:6.2f}")
        print(f"(seconds, medians of {args.repeats}; the reference again: {reference_s():.3f} s; "
              f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main()
