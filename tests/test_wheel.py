"""A plain (non-editable) install works: the wheel carries everything simlib reads.

An editable install runs simlib from the checkout, so a file the package reads from
beside the repository (``data/...``) is always there, and a plain ``pip install .`` can
still break. This builds the wheel from a copy of the source tree with the venv's own
Python (no downloads: ``--no-build-isolation`` uses the venv's setuptools, which the
``test`` extra pins to what the build system requires), installs it into a private
folder, and runs the README's example and ``python -m simlib run`` from a directory
outside the repository, with simlib imported from that folder and its dependencies from
the venv.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "data" / "scenarios" / "orders-spike.yaml"
MIN_SETUPTOOLS = 77  # pyproject's build-system (and test extra) requirement
# Build from a copy so that setuptools' build/ and *.egg-info never land in the checkout
# (a stale build/lib there can even leak removed files into later wheels).
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".ipynb_checkpoints",
    ".hypothesis", ".pytest_cache",
)


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    )
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from (a copy of) the source tree, with the venv's Python."""
    have = importlib.metadata.version("setuptools")
    if int(have.split(".")[0]) < MIN_SETUPTOOLS:
        pytest.fail(f"setuptools {have} in this environment; the build needs >= "
                    f"{MIN_SETUPTOOLS}: run `make test` or `pip install -e '.[test]'`")
    base = tmp_path_factory.mktemp("wheel-build")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=_NOT_SOURCE)
    out = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "--quiet", "-w", str(out), str(src)], cwd=base)
    wheels = list(out.glob("serverless_lab-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory) -> Path:
    """A folder holding only the installed wheel (no dependencies: those are the venv's)."""
    target = tmp_path_factory.mktemp("wheel-site")
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
          "--target", str(target), str(wheel)], cwd=target)
    return target


@pytest.fixture
def outside(tmp_path, site) -> tuple[Path, dict[str, str]]:
    """A working directory outside the repository and an environment importing the wheel."""
    work = tmp_path / "elsewhere"
    work.mkdir()
    assert ROOT not in work.parents
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(site)
    env["PYTHONNOUSERSITE"] = "1"
    return work, env


def test_wheel_ships_the_package_data_and_the_licence(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(metadata_name).decode()
    for name in ("runtime_init.csv", "prices_us_east_1.csv"):
        assert f"simlib/data/{name}" in names, f"{name} is not in {wheel.name}"
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_readme_example_runs_from_the_wheel(outside, site):
    work, env = outside
    readme = work / "README.md"
    shutil.copyfile(ROOT / "README.md", readme)
    script = (
        "import doctest, json, simlib\n"
        "r = doctest.testfile('README.md', module_relative=False)\n"
        "print(json.dumps({'file': simlib.__file__, 'failed': r.failed,"
        " 'attempted': r.attempted}))\n"
    )
    proc = _run([sys.executable, "-c", script], cwd=work, env=env)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).is_relative_to(site), report["file"]
    assert report["attempted"] >= 5 and report["failed"] == 0, proc.stdout


def test_cli_runs_a_scenario_file_from_the_wheel(outside, site):
    work, env = outside
    scenario = work / SCENARIO.name
    shutil.copyfile(SCENARIO, scenario)
    where = _run([sys.executable, "-c", "import simlib; print(simlib.__file__)"],
                 cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout
    proc = _run([sys.executable, "-m", "simlib", "run", scenario.name, "--json",
                 "--no-progress"], cwd=work, env=env)
    (summary,) = json.loads(proc.stdout).values()
    # Cold starts draw INIT from runtime_init.csv; the bill prices from the price table.
    assert summary["cold_starts"] > 0 and summary["cost_usd"] > 0
    assert summary["messages_sent"] > 0
    assert summary["messages_sent"] == sum(
        summary[f"messages_{k}"] for k in ("deleted", "failed", "dlq", "expired", "unfinished")
    )
