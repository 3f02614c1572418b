"""Platform INIT time per Lambda runtime, fitted to measured cold starts.

Why: a cold start's length depends first on the runtime (a JVM starts slower than
Python, Go and Rust faster still), and a constant would hide that. This module fits a
lognormal to the measured ``Init Duration`` of a hello-world function
(``simlib/data/runtime_init.csv``, built by ``data/make_runtime_init.py`` from the public
lambda-perf benchmark) for a runtime, architecture and memory size. That is the
platform's floor: a real function's own initialisation (imports, SDK clients,
connections, package size) adds on top and is modelled separately. For SnapStart the
measured figure is the Restore Duration, which replaces INIT on a cold start.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files

import numpy as np

from simlib.errors import ScenarioError
from simlib.limits import INIT_LIMIT_S

# INIT phase limit for on-demand functions: 10 s, after which Lambda retries INIT within
# the first invocation. AWS docs, "Lambda execution environment lifecycle":
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
INIT_TIMEOUT_S = INIT_LIMIT_S  # 10.0, defined once in simlib.limits

# Shipped inside the package (package data), so a plain `pip install` has it too. A
# Traversable: a pathlib.Path for an installed or editable package.
DATA_PATH = files("simlib") / "data" / "runtime_init.csv"

ARCHITECTURES = ("x86_64", "arm64")


@dataclass(frozen=True)
class InitProfile:
    """A lognormal INIT-time distribution for one runtime configuration.

    ``memory_mb`` is the measured size the fit used (the nearest to the one asked for),
    ``median_s`` and ``sigma`` are the median in seconds and the std of log-durations,
    ``n`` the number of measurements behind them.
    """

    runtime: str
    architecture: str
    memory_mb: int
    snapstart: bool
    median_s: float
    sigma: float
    n: int

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` INIT durations in seconds; reproducible for a seeded ``rng``."""
        return rng.lognormal(mean=math.log(self.median_s), sigma=self.sigma, size=size)


@lru_cache(maxsize=1)
def _measurements() -> dict[tuple[str, bool, str, int], np.ndarray]:
    """All measured durations in ms, keyed by (runtime, snapstart, architecture, memory)."""
    groups: dict[tuple[str, bool, str, int], list[float]] = defaultdict(list)
    with DATA_PATH.open(newline="") as fh:
        for row in csv.DictReader(fh):
            key = (row["runtime"], row["snapstart"] == "True", row["architecture"],
                   int(row["memory_mb"]))
            groups[key].append(float(row["init_ms"]))
    return {key: np.asarray(values) for key, values in groups.items()}


def known_runtimes() -> tuple[str, ...]:
    """Runtime identifiers with measured INIT data, sorted."""
    return tuple(sorted({key[0] for key in _measurements()}))


def snapstart_runtimes() -> tuple[str, ...]:
    """Runtime identifiers with measured SnapStart restore data, sorted."""
    return tuple(sorted({key[0] for key in _measurements() if key[1]}))


@cache
def init_profile(runtime: str, architecture: str = "x86_64", memory_mb: int = 512,
                 snapstart: bool = False) -> InitProfile:
    """Fit the INIT (or SnapStart restore) distribution of a runtime configuration.

    Uses every measurement of the runtime, architecture and snapstart flag at the
    measured memory size nearest to ``memory_mb`` (ties go to the larger size), pooled
    over snapshots. Raises :class:`ScenarioError` (a ``ValueError``) for an unknown
    runtime or architecture, or for SnapStart on a runtime without restore data.
    """
    if runtime not in known_runtimes():
        raise ScenarioError("function.runtime", runtime,
                            "one of " + ", ".join(known_runtimes()))
    if architecture not in ARCHITECTURES:
        raise ScenarioError("function.architecture", architecture,
                            "one of " + ", ".join(ARCHITECTURES))
    snapstart = bool(snapstart)
    if snapstart and runtime not in snapstart_runtimes():
        raise ScenarioError("function.snapstart", snapstart,
                            f"runtime {runtime!r} has no SnapStart data; runtimes that "
                            "support it: " + ", ".join(snapstart_runtimes()))
    data = _measurements()
    sizes = sorted(m for (r, s, a, m) in data if (r, s, a) == (runtime, snapstart, architecture))
    if not sizes:
        # Only when this architecture has no data at all for the runtime (today: SnapStart
        # rows exist for x86_64 only) do we borrow the other architecture's figures.
        architecture = next(a for a in ARCHITECTURES if a != architecture)
        sizes = sorted(m for (r, s, a, m) in data
                       if (r, s, a) == (runtime, snapstart, architecture))
    # Nearest measured size; on a tie the larger one (-m sorts larger sizes first).
    size = min(sizes, key=lambda m: (abs(m - memory_mb), -m))
    logs = np.log(data[(runtime, snapstart, architecture, size)] / 1000.0)
    return InitProfile(runtime=runtime, architecture=architecture, memory_mb=size,
                       snapstart=snapstart, median_s=float(np.exp(logs.mean())),
                       sigma=float(logs.std(ddof=1)), n=int(logs.size))
