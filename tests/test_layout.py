"""The package layout is the architecture: imports run one way, and the module paths of
before the layout keep working (docs/design.md, "Layout")."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import simlib
from simlib import _paths

PACKAGE = Path(simlib.__file__).parent
# what each layer may import, besides itself
ALLOWED = {
    "core": set(),
    "aws": {"core"},
    "engine": {"core", "aws"},
    "lessons": {"core", "aws", "engine"},
    "whatif": {"core", "aws", "engine", "lessons"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


@pytest.mark.parametrize("path", sorted(p for p in PACKAGE.rglob("*.py")
                                        if _layer(p) in ALLOWED),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path):
    layer = _layer(path)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("simlib."):
            used = node.module.split(".")[1]
        elif isinstance(node, ast.ImportFrom) and node.module == "simlib":
            used = "simlib"  # the package itself: its public names
        else:
            continue
        assert used in ALLOWED[layer] | {layer, "simlib"}, (
            f"{path.relative_to(PACKAGE)} ({layer}) imports {node.module}")


@pytest.mark.parametrize("old", sorted(_paths.MOVED))
def test_every_old_module_path_still_imports_as_the_same_module(old):
    module = importlib.import_module(f"simlib.{old}")
    assert module is importlib.import_module(f"simlib.{_paths.MOVED[old]}")
    assert getattr(simlib, old) is module


def test_the_old_paths_work_in_a_fresh_interpreter():
    code = ("from simlib.scenario import Scenario, _error; from simlib import plotting, sweep; "
            "import simlib.queue, simlib.pollers; from simlib.engine import simulate; "
            "print(type(simulate(Scenario.from_dict({'workload': {'duration_s': 5}}))).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "Result"


def test_an_unknown_name_is_still_an_attribute_error():
    with pytest.raises(AttributeError):
        simlib.no_such_module  # noqa: B018
