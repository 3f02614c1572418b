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
from datetime import date
from functools import cache, lru_cache
from importlib.resources import files

import numpy as np

from simlib.core.errors import ScenarioError
from simlib.core.limits import INIT_LIMIT_S

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


# SnapStart is available for "Java 11 and later", "Python 3.12 and later" and ".NET 8 and
# later" (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html, "Supported
# features and limitations"); not for Node.js, Ruby, OS-only runtimes or images.
_SNAPSTART_FROM = (("java", 11), ("python3.", 12), ("dotnet", 8))
# Supported runtimes without measured restores (lambda-perf measures SnapStart for Java
# 11/17/21 only) borrow this runtime's measured restore: an assumption, see data/README.md.
SNAPSTART_STAND_IN = "java21"


def snapstart_supported_runtimes() -> tuple[str, ...]:
    """Known runtime identifiers AWS offers SnapStart for, sorted."""
    def supported(runtime: str) -> bool:
        for prefix, first in _SNAPSTART_FROM:
            rest = runtime[len(prefix):] if runtime.startswith(prefix) else ""
            if rest.isdigit() and int(rest) >= first:
                return True
        return False

    return tuple(r for r in known_runtimes() if supported(r))


def snapstart_restore_source(runtime: str) -> str:
    """Where a SnapStart runtime's restore time comes from: ``measured`` or the stand-in."""
    if runtime in snapstart_runtimes():
        return "measured"
    return f"stand-in: {SNAPSTART_STAND_IN} measured restore"


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
    requested = runtime
    if snapstart and runtime not in snapstart_supported_runtimes():
        raise ScenarioError("function.snapstart", snapstart,
                            f"runtime {runtime!r} does not support SnapStart; runtimes that "
                            "do: " + ", ".join(snapstart_supported_runtimes()))
    if snapstart and runtime not in snapstart_runtimes():
        runtime = SNAPSTART_STAND_IN  # no measured restore: borrow (data/README.md)
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
    return InitProfile(runtime=requested, architecture=architecture, memory_mb=size,
                       snapstart=snapstart, median_s=float(np.exp(logs.mean())),
                       sigma=float(logs.std(ddof=1)), n=int(logs.size))


# -- deprecation ---------------------------------------------------------------------------
#
# Why: a what-if run on a runtime AWS has deprecated (no security patches, no technical
# support) or soon will block from new deployments gives numbers for a function the team
# cannot deploy as it stands. The model still runs it (invocations are never blocked), but
# says so. Dates: AWS Lambda Developer Guide, "Lambda runtimes",
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html (deprecation, block
# function create, block function update), kept in simlib/data/runtime_deprecation.csv
# with the date they were checked; see data/README.md.

DEPRECATION_PATH = files("simlib") / "data" / "runtime_deprecation.csv"

# The model's go / rust builds run on the OS-only runtime provided.al2023.
RUNTIME_ALIASES = {"go": "provided.al2023", "rust": "provided.al2023"}

# Notice window (the model's choice, not an AWS figure): a deprecation scheduled within
# this many days is reported as "scheduled"; later ones are not reported.
SCHEDULED_NOTICE_DAYS = 180


@dataclass(frozen=True)
class RuntimeDeprecation:
    """One row of the AWS runtime table: the three dates (None where not recorded)."""

    runtime: str
    deprecation_date: date
    block_create_date: date | None
    block_update_date: date | None
    source_url: str
    checked: date


@lru_cache(maxsize=1)
def deprecation_table() -> dict[str, RuntimeDeprecation]:
    """Every runtime with a recorded deprecation date, keyed by its AWS identifier."""
    def day(text: str) -> date | None:
        return date.fromisoformat(text) if text else None

    with DEPRECATION_PATH.open(newline="") as fh:
        return {row["runtime"]: RuntimeDeprecation(
            runtime=row["runtime"], deprecation_date=date.fromisoformat(row["deprecation_date"]),
            block_create_date=day(row["block_create_date"]),
            block_update_date=day(row["block_update_date"]),
            source_url=row["source_url"], checked=date.fromisoformat(row["checked"]),
        ) for row in csv.DictReader(fh)}


def deprecation(runtime: str | None) -> RuntimeDeprecation | None:
    """The deprecation dates of a runtime (``go`` / ``rust`` -> provided.al2023), or None."""
    if runtime is None:
        return None
    return deprecation_table().get(RUNTIME_ALIASES.get(runtime, runtime))


def deprecation_notice(runtime: str | None, today: date | None = None) -> str | None:
    """One sentence when ``runtime`` is deprecated, or scheduled to be within
    :data:`SCHEDULED_NOTICE_DAYS` of ``today`` (default ``date.today()``); else None.

    Each date is called past ("deprecated since", "blocked since") or "scheduled"
    relative to ``today``, e.g. ``runtime python3.9 is deprecated since 2025-12-15
    (AWS Lambda runtimes page, checked 2026-11-29): creating functions with it is
    scheduled to be blocked from 2027-02-01, updating them from 2027-03-03``.
    """
    dep = deprecation(runtime)
    today = date.today() if today is None else today
    if dep is None or (dep.deprecation_date - today).days > SCHEDULED_NOTICE_DAYS:
        return None
    shown = runtime if runtime == dep.runtime else f"{runtime} ({dep.runtime})"
    if dep.deprecation_date <= today:
        head = f"runtime {shown} is deprecated since {dep.deprecation_date}"
    else:
        head = f"runtime {shown} is scheduled for deprecation on {dep.deprecation_date}"
    head += f" (AWS Lambda runtimes page, checked {dep.checked})"
    blocks = []
    for what, when in (("creating", dep.block_create_date), ("updating", dep.block_update_date)):
        if when is None:
            continue
        if when <= today:
            blocks.append(f"{what} functions with it is blocked since {when}")
        else:
            blocks.append(f"{what} functions with it is scheduled to be blocked from {when}")
    tail = ": " + "; ".join(blocks) if blocks else ""
    return head + tail + "; the model still simulates it (AWS keeps invoking such functions)"
