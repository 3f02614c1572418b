"""Hypothesis profiles: the same answer on every machine, and a deep hunt on demand.

``ci`` (the default, used by ``make test`` and CI) is derandomized and keeps no example
database: a fresh clone passes or fails the same way everywhere, and a failure found
once cannot hide in a ``.hypothesis/`` folder and fail every later run of that checkout
only. ``deep`` (``make test-deep``) draws 10,000 random scenarios per property; whatever
it finds is added to the property as an explicit ``@example`` so that ``ci`` checks it
from then on.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("ci", derandomize=True, max_examples=25, **_COMMON)
settings.register_profile("deep", derandomize=False, max_examples=10_000, **_COMMON)
PROFILE = os.environ.get("SIMLIB_HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def pytest_report_header(config):
    return f"hypothesis profile: {PROFILE} ({settings().max_examples} examples per property)"
