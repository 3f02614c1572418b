"""Turn the usage counts of a run into bill line items, with every price sourced.

Why this module exists: a cost figure from the simulator is only as credible as the
unit price behind it, and AWS prices change. So every price lives in one dated table,
``simlib/data/prices_us_east_1.csv``, one row per price with its unit, the date it was checked
and the page it comes from. Updating a price is a one-line edit there, never a hunt
through code, and a reader can check any figure in a notebook against its source.

The bill is deliberately simple: list prices in us-east-1, first volume tier, no free
tier, no Savings Plans. That is the bill of one small workload, which is what the
notebooks compare (x86_64 against arm64, on-demand against provisioned concurrency,
one design against another). The rules AWS bills by that the engine needs are here
too: Lambda bills duration rounded up to the next 1 ms (INIT included for on-demand
functions since 2025-08-01), and SQS bills each 64 KB of payload as one request.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from simlib.core import limits
from simlib.core.errors import ScenarioError

# Shipped inside the package (package data), so a plain `pip install` has it too. A
# Traversable: a pathlib.Path for an installed or editable package.
PRICES_PATH = files("simlib") / "data" / "prices_us_east_1.csv"

ARCHITECTURES = ("x86_64", "arm64")
COLUMNS = ["service", "item", "quantity", "unit", "unit_price_usd", "cost_usd"]
_PRICE_COLUMNS = [
    "service", "item", "architecture", "unit", "unit_price_usd",
    "effective_date", "source_url", "note",
]
# Float noise such as 0.1 * 1000 = 100.00000000000001 must not add a billed unit.
_EPS = 1e-9

# SnapStart (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html, "SnapStart
# pricing"): Python and .NET functions pay for caching the snapshot "for a minimum of 3
# hours" while the version is active, and per GB restored; Java pays neither.
SNAPSTART_CACHE_MIN_S = 3 * 3600.0
# Of a SnapStart cold start's Restore Duration only the Billed Restore Duration is billed:
# "the time it takes for Lambda to load the runtime and run any afterRestore hooks. You
# are not charged for the time it takes to restore a snapshot"
# (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html). lambda-perf
# does not publish the billed part per run; its report parser's test keeps one real REPORT
# line of its Java SnapStart function: Restore Duration 511.56 ms, Billed Restore Duration
# 136 ms (maxday/lambda-perf, common_lib/src/report_log.rs). That share is used for every
# restore; the billed part also shows in Billed Duration (173 ms = ceil(36.97) + 136).
SNAPSTART_BILLED_RESTORE_FRACTION = 136.0 / 511.56
# RDS Proxy (https://aws.amazon.com/rds/proxy/pricing/): per vCPU-hour of the database
# instance behind it, "with a minimum charge for 2 vCPUs".
PROXY_MIN_VCPUS = 2


def billed_ms(duration_s):
    """Milliseconds Lambda bills for a duration: rounded up to the next 1 ms, at least 1.

    Accepts a float or a numpy array (vectorised, so the engine can bill a whole run of
    durations at once); returns a float or a float array. The small epsilon keeps a
    duration that is an exact number of milliseconds (0.1 s) from being bumped to the
    next one by binary floating point.
    """
    d = np.asarray(duration_s, dtype=float)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError(f"duration_s = {duration_s!r} is not allowed: finite seconds >= 0")
    ms = np.maximum(np.ceil(d * 1000.0 - _EPS), 1.0)
    return float(ms) if ms.ndim == 0 else ms


def snapstart_billed_ms(duration_s, restore_s):
    """Billed ms of SnapStart invocations whose duration includes a ``restore_s`` restore.

    Lambda reports the invocation's duration (rounded up to the next ms, at least 1) plus
    the Billed Restore Duration, the share :data:`SNAPSTART_BILLED_RESTORE_FRACTION` of
    the restore (rounded up to the next ms); the snapshot restore itself is free
    (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html). Warm
    invocations (``restore_s`` 0) bill as :func:`billed_ms`. Vectorised like it.
    """
    d = np.asarray(duration_s, dtype=float)
    r = np.asarray(restore_s, dtype=float)
    if not np.all(np.isfinite(r)) or np.any(r < 0) or np.any(r > d + _EPS):
        raise ValueError(f"restore_s = {restore_s!r} is not allowed: finite seconds in "
                         "0..duration_s")
    restore_ms = np.ceil(r * SNAPSTART_BILLED_RESTORE_FRACTION * 1000.0 - _EPS)
    ms = billed_ms(np.maximum(d - r, 0.0)) + np.maximum(restore_ms, 0.0)
    return float(ms) if np.ndim(ms) == 0 else ms


def sqs_request_units(payload_kb):
    """Billed SQS requests for one API call carrying ``payload_kb`` KB: each 64 KB chunk
    counts as one request, and a call with no payload (a receive, a delete) still counts
    as one.

    Accepts a float or a numpy array; returns an int or an int64 array.
    """
    kb = np.asarray(payload_kb, dtype=float)
    if not np.all(np.isfinite(kb)) or np.any(kb < 0):
        raise ValueError(f"payload_kb = {payload_kb!r} is not allowed: finite KB >= 0")
    units = np.maximum(np.ceil(kb / limits.BILLING_CHUNK_KB - _EPS), 1).astype(np.int64)
    return int(units) if units.ndim == 0 else units


@lru_cache(maxsize=8)
def load_prices(path=PRICES_PATH) -> pd.DataFrame:
    """The price table, read once per path and checked so a bad edit fails loudly here.

    The frame is cached and shared: treat it as read-only (copy it before changing it).
    """
    if isinstance(path, (str, os.PathLike)):
        path = Path(path)
    with path.open("rb") as fh:
        df = pd.read_csv(fh, dtype={"unit_price_usd": float}, keep_default_na=False)
    missing = [c for c in _PRICE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {_PRICE_COLUMNS}")
    bad = df[~np.isfinite(df["unit_price_usd"]) | (df["unit_price_usd"] < 0)]
    if len(bad):
        raise ValueError(f"{path}: unit_price_usd must be a finite number >= 0:\n{bad}")
    key = ["service", "item", "architecture"]
    dup = df[df.duplicated(key, keep=False)]
    if len(dup):
        raise ValueError(f"{path}: more than one price for the same {key}:\n{dup[key]}")
    return df


@lru_cache(maxsize=8)
def _price_index(path=PRICES_PATH) -> dict[tuple[str, str, str], tuple[float, str]]:
    """(service, item, architecture) -> (unit price, unit): a bill needs a dozen lookups."""
    df = load_prices(path)
    return {
        (r.service, r.item, r.architecture): (float(r.unit_price_usd), r.unit)
        for r in df.itertuples(index=False)
    }


def price(service: str, item: str, architecture: str = "any") -> float:
    """Unit price in USD for ``service``/``item``, falling back to the ``any`` row when
    the price does not depend on the architecture (requests, SQS, logs, NAT)."""
    index = _price_index()
    for arch in (architecture, "any"):
        hit = index.get((service, item, arch))
        if hit is not None:
            return hit[0]
    have = sorted(a for (s, i, a) in index if (s, i) == (service, item)) or "none"
    raise KeyError(
        f"no price for service={service!r} item={item!r} architecture={architecture!r} "
        f"(architectures priced: {have}) in {PRICES_PATH}"
    )


@dataclass(frozen=True)
class Usage:
    """What a run consumed, in the units AWS bills by.

    ``requests`` counts Lambda invocations that ran (throttled ones are not billed).
    ``on_demand_billed_ms`` and ``provisioned_billed_ms`` are sums of :func:`billed_ms`
    over invocations served by on-demand and by provisioned environments; INIT time is
    included in the on-demand sum. ``sqs_requests`` is already in billed units (see
    :func:`sqs_request_units`). ``database_usd_per_hour`` is supplied by the scenario,
    since the database is whatever the user says it is.

    ``snapstart_cached_s`` is how long a SnapStart version that pays for its cache
    (Python, .NET) was active (0: none; the bill applies the 3-hour minimum) and
    ``snapstart_restores`` how many environments such a version restored.
    ``proxy_hours`` is how long an RDS Proxy ran in front of a database of
    ``proxy_vcpus`` vCPUs (the bill applies the 2-vCPU minimum).
    ``provisioned_init_billed_ms`` sums :func:`billed_ms` over the INIT runs of
    provisioned environments (at allocation and at each recycle), which no invocation
    carries: AWS bills them "even if the instance never processes a request".
    ``event_poller_hours`` are the Event Poller Unit hours of an SQS mapping in provisioned
    mode (one EPU per event poller; the engine applies the 1-minute minimum).
    """

    architecture: str
    memory_mb: int
    requests: int
    on_demand_billed_ms: float
    provisioned_billed_ms: float
    provisioned_concurrency: int
    horizon_s: float
    sqs_requests: int
    fifo: bool = False
    log_gb: float = 0.0
    nat_gb: float = 0.0
    nat_hours: float = 0.0
    database_hours: float = 0.0
    database_usd_per_hour: float = 0.0
    snapstart_cached_s: float = 0.0
    snapstart_restores: int = 0
    proxy_hours: float = 0.0
    proxy_vcpus: float = 0.0
    provisioned_init_billed_ms: float = 0.0
    event_poller_hours: float = 0.0

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ScenarioError("architecture", self.architecture, "one of 'x86_64', 'arm64'")
        lo, hi = limits.MEMORY_MB
        if not _is_number(self.memory_mb) or not lo <= self.memory_mb <= hi:
            raise ScenarioError("memory_mb", self.memory_mb, f"a number in {lo}..{hi}")
        if not isinstance(self.fifo, (bool, np.bool_)):
            raise ScenarioError("fifo", self.fifo, "True or False")
        for f in fields(self):
            if f.name in ("architecture", "memory_mb", "fifo"):
                continue
            value = getattr(self, f.name)
            if not _is_number(value) or value < 0:
                raise ScenarioError(f.name, value, "a finite number >= 0")


def _is_number(value) -> bool:
    """A real, finite number; bools are rejected so a flag is never read as a count."""
    if isinstance(value, (bool, np.bool_)):
        return False
    try:
        return math.isfinite(value)
    except TypeError:
        return False


def cost_table(usage: Usage) -> pd.DataFrame:
    """The bill for ``usage`` as line items, one row per billed dimension.

    Every row is always present (zero quantities included) so tables from different
    runs stack and compare row by row; rows added later come last, so earlier rows keep
    their positions. ``cost_usd = quantity * unit_price_usd``.
    """
    if not isinstance(usage, Usage):
        raise TypeError(f"cost_table expects a Usage, got {type(usage).__name__}")
    arch = usage.architecture
    gb = usage.memory_mb / 1024.0

    units = {(s, i): u for (s, i, _), (_, u) in _price_index().items()}

    def unit(service, item):
        return units[(service, item)]

    def line(service, item, quantity, price_item=None):
        p_item = price_item or item
        return (service, item, float(quantity), unit(service, p_item),
                price(service, p_item, arch))

    rows = [
        line("lambda", "requests", usage.requests),
        line("lambda", "compute_gb_s", usage.on_demand_billed_ms / 1000.0 * gb),
        line("lambda", "provisioned_gb_s", usage.provisioned_concurrency * gb * usage.horizon_s),
        line("lambda", "provisioned_compute_gb_s", usage.provisioned_billed_ms / 1000.0 * gb),
        line("sqs", "requests", usage.sqs_requests,
             price_item="requests_fifo" if usage.fifo else "requests"),
        line("logs", "ingestion_gb", usage.log_gb),
        line("nat", "processed_gb", usage.nat_gb),
        line("nat", "hours", usage.nat_hours),
        ("database", "instance_hours", float(usage.database_hours), "hour",
         float(usage.database_usd_per_hour)),
        line("lambda", "snapstart_cache_gb_s",
             gb * max(usage.snapstart_cached_s, SNAPSTART_CACHE_MIN_S)
             if usage.snapstart_cached_s > 0 else 0.0),
        line("lambda", "snapstart_restore_gb", usage.snapstart_restores * gb),
        line("database", "proxy_vcpu_hours",
             max(usage.proxy_vcpus, PROXY_MIN_VCPUS) * usage.proxy_hours
             if usage.proxy_hours > 0 else 0.0),
        line("lambda", "event_poller_unit_hours", usage.event_poller_hours),
        # INIT of provisioned environments: billed, but AWS names no rate for it (and it
        # predates the 2025-08-01 change, which concerned on-demand INIT only); the model
        # takes the provisioned duration rate, the rate of everything else those
        # environments run (docs/design.md, "Assumptions").
        line("lambda", "provisioned_init_gb_s", usage.provisioned_init_billed_ms / 1000.0 * gb,
             price_item="provisioned_compute_gb_s"),
    ]
    table = pd.DataFrame(rows, columns=COLUMNS[:-1])
    table["cost_usd"] = table["quantity"] * table["unit_price_usd"]
    return table
