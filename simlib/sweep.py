"""Sweeps and replications: how a KPI moves as a parameter moves, with its uncertainty.

A sweep runs a base scenario at every point of a grid of dotted-path values, several
times each. Replication ``r`` uses the same seed at every point, so the points share
their random numbers (arrivals, durations, failures) and differences between points are
the parameter's doing, not the dice's: paired comparisons. Runs are independent, so
they are listed first (:func:`plan`) and then executed one by one here; the same plan
can be handed to a pool of processes or a cluster.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from simlib.engine import simulate
from simlib.errors import ScenarioError
from simlib.scenario import Scenario

# two-sided 95 % Student-t quantiles by degrees of freedom (1..30); normal beyond
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)


def t95(dof: int) -> float:
    """Two-sided 95 % Student-t quantile for ``dof`` degrees of freedom."""
    if dof < 1:
        return math.nan
    return _T95[dof - 1] if dof <= len(_T95) else 1.96


def plan(base: Scenario, grid: Mapping[str, Sequence], replications: int = 1,
         seed: int = 0) -> list[tuple[dict, int]]:
    """Every (changes, seed) pair of a sweep, point by point, replication by replication.

    Raises :class:`ScenarioError` for an unknown path or a value out of range, before
    anything runs.
    """
    if not isinstance(replications, int) or isinstance(replications, bool) or replications < 1:
        raise ScenarioError("replications", replications, "an integer >= 1")
    paths = list(grid)
    for path in paths:
        values = grid[path]
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ScenarioError(path, values, "a list of values to sweep")
    runs = []
    for combo in itertools.product(*(list(grid[p]) for p in paths)):
        changes = dict(zip(paths, combo))
        base.with_changes(changes)  # validate every point up front
        runs.extend((changes, seed + r) for r in range(replications))
    return runs


def run_point(base: Scenario, changes: dict, seed: int) -> dict:
    """One run of a sweep as a flat row: the swept values, the seed and the summary."""
    result = simulate(base.with_changes(changes), seed=seed)
    return {**changes, "seed": seed, **result.summary}


def sweep(base: Scenario, grid: Mapping[str, Sequence], replications: int = 1, seed: int = 0,
          progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Run ``base`` over ``grid`` (dotted path -> values) with ``replications`` seeds each.

    Returns one tidy row per run: a column per swept path, ``seed``, and every summary
    KPI. ``progress(done, total)`` is called after each run if given.
    """
    runs = plan(base, grid, replications, seed)
    rows = []
    for i, (changes, s) in enumerate(runs, 1):
        rows.append(run_point(base, changes, s))
        if progress is not None:
            progress(i, len(runs))
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame, by: Sequence[str] | str,
              kpis: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean and 95 % confidence interval half-width of each KPI per sweep point.

    Columns: the ``by`` columns, ``n`` (replications), then ``<kpi>_mean`` and
    ``<kpi>_ci95`` for each KPI (half-width, Student-t; NaN with one replication).
    """
    by = [by] if isinstance(by, str) else list(by)
    if kpis is None:
        kpis = [c for c in runs.columns if c not in by and c != "seed"
                and pd.api.types.is_numeric_dtype(runs[c])]
    missing = [c for c in [*by, *kpis] if c not in runs.columns]
    if missing:
        raise KeyError(f"columns not in the sweep's runs: {missing}")
    groups = runs.groupby(by, sort=False, dropna=False)
    out = groups.size().rename("n").to_frame()
    for k in kpis:
        mean = groups[k].mean()
        std = groups[k].std(ddof=1)
        half = std / np.sqrt(out["n"]) * out["n"].map(lambda n: t95(int(n) - 1))
        out[f"{k}_mean"] = mean
        out[f"{k}_ci95"] = half
    return out.reset_index()
