"""Before the workshop: can this machine run the lessons? And a way to open them without make.

Why: a room of participants loses its first half hour to a missing package or an old
Python unless each one runs a check the day before. :func:`checks` answers in a few
seconds, one line per item with what to fix; :func:`lab_command` is what ``make lab``
runs, for machines without ``make`` (Windows): ``python -m simlib lab``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# pyproject.toml's requires-python, and the lessons' imports with the extra that brings them
PYTHON_MIN = (3, 11)
NEEDED = (("simpy", "core"), ("numpy", "core"), ("pandas", "core"), ("matplotlib", "core"),
          ("yaml", "core"), ("jupyterlab", "notebooks"), ("ipywidgets", "notebooks"),
          ("jupyterlab_widgets", "notebooks"))
INSTALL = {"core": "pip install -e .", "notebooks": "pip install -e '.[notebooks]'"}
# The lessons' scenarios are this size; a machine where one takes far longer will make
# the sliders sluggish (the lessons aim at 0.3 s a slider move)
SIMULATION_S = 1.0


@dataclass(frozen=True)
class Check:
    """One item: what was checked, whether it passed, what was seen, and the fix."""

    name: str
    ok: bool
    seen: str
    fix: str = ""


def _python() -> Check:
    seen = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= PYTHON_MIN
    want = ".".join(map(str, PYTHON_MIN))
    return Check("Python", ok, seen, "" if ok else f"install Python {want} or newer "
                 "(python.org, or your package manager) and create the venv with it")


def _imports() -> Iterator[Check]:
    for module, extra in NEEDED:
        if importlib.util.find_spec(module) is None:
            yield Check(f"import {module}", False, "not installed",
                        f"{INSTALL[extra]} (from the repository root, in its venv)")
            continue
        dist = {"yaml": "pyyaml", "jupyterlab_widgets": "jupyterlab-widgets"}.get(module, module)
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "installed"
        yield Check(f"import {module}", True, version)


def _simulation() -> Check:
    """A small pipeline simulated end to end, and its wall time."""
    try:
        from simlib.core.scenario import Scenario
        from simlib.engine import simulate

        scenario = Scenario.from_dict({"workload": {"rate_per_s": 20, "duration_s": 60}})
        start = time.perf_counter()
        result = simulate(scenario, seed=0)
        took = time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001 - any failure is what the participant must see
        return Check("a 60 s simulation", False, f"{type(exc).__name__}: {exc}",
                     "reinstall (pip install -e '.[notebooks]') and run make test")
    sent, done = result.summary["messages_sent"], result.summary["messages_deleted"]
    ok = done == sent and took < 10 * SIMULATION_S
    seen = f"{done:,} of {sent:,} messages processed in {took:.2f} s"
    fix = "" if ok else ("the machine is slow for the panels: close other programs, or use "
                         "Binder / Codespaces (see the README)")
    return Check("a 60 s simulation", ok, seen, fix)


def _figure() -> Check:
    """matplotlib draws a figure to PNG without a display (as the lessons' figures do)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
    except Exception as exc:  # noqa: BLE001
        return Check("a figure", False, f"{type(exc).__name__}: {exc}",
                     "pip install -e . (matplotlib)")
    return Check("a figure", True, f"{len(buffer.getvalue()):,} bytes of PNG")


def _lessons(given: Path | None) -> Check:
    folder = notebooks_folder(given)
    if folder is None:
        where = str(given) if given is not None else "beside simlib/, ./notebooks or ."
        return Check("the lessons", False, f"no lessons (NN-name.ipynb) in {where}",
                     "run from a clone of the repository, or from the folder your host "
                     "gave you, or pass --lessons DIR")
    found = _lesson_files(folder)
    return Check("the lessons", True, f"{len(found)} in {folder}")


def checks(lessons: Path | None = None) -> list[Check]:
    """Every pre-flight item, in the order a participant fixes them. ``lessons``: the
    folder of lessons to check (default: found as :func:`notebooks_folder` finds it)."""
    found = [_python(), *_imports()]
    if all(c.ok for c in found if c.name in ("Python", "import simpy", "import numpy",
                                             "import pandas")):
        found += [_simulation(), _figure()]
    return found + [_lessons(lessons)]


def report(found: list[Check], say: Callable[[str], None] = print) -> bool:
    """Print one line per check (and its fix); True when the machine is ready."""
    width = max(len(c.name) for c in found)
    for c in found:
        say(f"{'ok ' if c.ok else 'FIX'}  {c.name:<{width}}  {c.seen}")
        if not c.ok:
            say(f"     {'':<{width}}  -> {c.fix}")
    ready = all(c.ok for c in found)
    say("ready for the workshop" if ready else
        "not ready: fix the lines marked FIX, then run this check again")
    return ready


def _lesson_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]-*.ipynb")) if folder.is_dir() else []


def notebooks_folder(given: Path | None = None) -> Path | None:
    """The folder of lessons: ``given`` if it holds lessons; else the clone's notebooks/
    (beside the simlib package), else ./notebooks, else the current folder — the last two
    for a room that installed from a wheelhouse and was handed the lessons (make student).
    None when none of them holds a lesson."""
    if given is not None:
        candidates = [Path(given)]
    else:
        candidates = [Path(__file__).resolve().parents[2] / "notebooks",
                      Path.cwd() / "notebooks", Path.cwd()]
    return next((c.resolve() for c in candidates if _lesson_files(c)), None)


def lab_command(folder: Path, root: bool) -> list[str]:
    """``make lab``'s command: JupyterLab on 127.0.0.1 with its own token, the news feed
    off, on the lessons (``--allow-root`` where the user is root, as in containers)."""
    command = [sys.executable, "-m", "jupyter", "lab", "--ip=127.0.0.1",
               f"--notebook-dir={folder}", "--LabApp.news_url=None"]
    return command + (["--allow-root"] if root else [])


__all__ = ["Check", "checks", "lab_command", "notebooks_folder", "report"]
