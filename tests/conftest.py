"""Hypothesis profiles: the same answer on every machine, and a deep hunt on demand.

``ci`` (the default, used by ``make test`` and CI) is derandomized and keeps no example
database: a fresh clone passes or fails the same way everywhere, and a failure found
once cannot hide in a ``.hypothesis/`` folder and fail every later run of that checkout
only. ``deep`` (``make test-deep``) draws 10,000 random scenarios per property; whatever
it finds is added to the property as an explicit ``@example`` so that ``ci`` checks it
from then on.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("ci", derandomize=True, max_examples=25, **_COMMON)
settings.register_profile("deep", derandomize=False, max_examples=10_000, **_COMMON)
# fresh random examples, fewer: a look around after a change, in minutes rather than hours
settings.register_profile("explore", derandomize=False, max_examples=150, **_COMMON)
PROFILE = os.environ.get("SIMLIB_HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)

# Hypothesis also keeps caches (of constants it finds in the code) in its home folder,
# by default .hypothesis/ in the working directory: a temporary folder keeps the
# checkout exactly as it was cloned.
_HOME = tempfile.mkdtemp(prefix="simlib-hypothesis-")
set_hypothesis_home_dir(_HOME)
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)


def pytest_report_header(config):
    return f"hypothesis profile: {PROFILE} ({settings().max_examples} examples per property)"
