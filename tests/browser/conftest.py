"""What the browser tests share: Debian's Chromium, the flags it needs on a closed
network, and the skip (or failure) when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("SERVERLESS_LAB_CHROMIUM", "/usr/bin/chromium"))
# Flags for a headless Chromium on a closed network (CI; machines that reach only package
# mirrors): without the background-networking and component/sync ones Chromium's own
# connections are refused and it misbehaves; --no-sandbox because tests often run as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium_args() -> list[str]:
    return list(CHROMIUM_ARGS)


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium, or a skip that says how to install it."""
    if not os.access(CHROMIUM, os.X_OK):
        message = (
            f"browser test skipped: no Chromium at {CHROMIUM}. Install Debian's package with "
            "`make browser-deps` (sudo apt-get install -y chromium), or point "
            "SERVERLESS_LAB_CHROMIUM at a Chromium binary"
        )
        if os.environ.get("SERVERLESS_LAB_SCREENSHOT"):
            pytest.fail(message + " (a screenshot was asked for, so this is not a skip)")
        pytest.skip(message)
    return CHROMIUM


# Module-scoped twins, for a test module that opens one browser for many pages.
@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"browser test skipped: no Chromium at {CHROMIUM} (make browser-deps)")
    return CHROMIUM


@pytest.fixture(scope="module")
def chromium_args_list() -> list[str]:
    return list(CHROMIUM_ARGS)
