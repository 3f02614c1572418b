"""The workshop pre-flight check (`simlib check`) and `simlib lab` for machines without make.

Each test breaks one thing a participant's machine can lack and checks that the report
marks it with the fix, and that the exit code says "not ready".
"""

from __future__ import annotations

import importlib.util

from simlib.lessons import preflight
from simlib.whatif.cli import main


def run_check(capsys) -> tuple[int, list[str]]:
    code = main(["check"])
    return code, capsys.readouterr().out.splitlines()


def test_a_ready_machine_passes_every_item(capsys):
    code, lines = run_check(capsys)
    names = [c.name for c in preflight.checks()]
    assert code == 0 and lines[-1] == "ready for the workshop"
    for name in ("Python", "import simpy", "import jupyterlab", "import ipywidgets",
                 "a 60 s simulation", "a figure", "the lessons"):
        assert name in names
        assert any(line.startswith("ok ") and name in line for line in lines)


def test_a_missing_widgets_package_is_marked_with_its_fix(capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ipywidgets" else real(name, *a))
    code, lines = run_check(capsys)
    assert code == 1 and lines[-1].startswith("not ready")
    at = next(i for i, line in enumerate(lines) if "import ipywidgets" in line)
    assert lines[at].startswith("FIX") and "not installed" in lines[at]
    assert "pip install -e '.[notebooks]'" in lines[at + 1]


def test_an_old_python_is_marked(capsys, monkeypatch):
    monkeypatch.setattr(preflight, "PYTHON_MIN", (99, 0))
    code, lines = run_check(capsys)
    assert code == 1
    assert any(line.startswith("FIX") and "Python" in line for line in lines)
    assert any("install Python 99.0 or newer" in line for line in lines)


def test_a_simulation_that_fails_is_marked(capsys, monkeypatch):
    import simlib.engine

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(simlib.engine, "simulate", broken)
    code, lines = run_check(capsys)
    assert code == 1
    assert any(line.startswith("FIX") and "RuntimeError: boom" in line for line in lines)


def test_lab_runs_what_make_lab_runs(capsys):
    """The same JupyterLab flags as the Makefile's lab target (tests/test_packaging.py
    checks those: localhost, JupyterLab's own token, no news feed)."""
    assert main(["lab", "--dry-run"]) == 0
    command = capsys.readouterr().out.split()
    assert command[1:4] == ["-m", "jupyter", "lab"]
    assert "--ip=127.0.0.1" in command and "--LabApp.news_url=None" in command
    (folder,) = [a for a in command if a.startswith("--notebook-dir=")]
    assert folder.endswith("/notebooks")
    assert not [a for a in command if "token" in a.lower() or "password" in a.lower()]


def test_a_room_installed_from_a_wheelhouse_finds_the_handed_out_lessons(tmp_path, monkeypatch,
                                                                         capsys):
    """After `pip install --no-index --find-links wheelhouse`, simlib has no notebooks/
    beside it: the lessons a host handed out (make student) are found in the current folder,
    in ./notebooks, or with --lessons; a folder without lessons is named in one line."""
    from simlib.lessons import preflight
    from simlib.whatif.cli import main

    here = tmp_path / "room"
    (here / "notebooks").mkdir(parents=True)
    (here / "notebooks" / "00-start-here.ipynb").write_text("{}")
    monkeypatch.chdir(here)
    monkeypatch.setattr(preflight, "__file__", str(tmp_path / "site-packages" / "simlib"
                                                   / "lessons" / "preflight.py"))
    assert preflight.notebooks_folder() == (here / "notebooks").resolve()
    monkeypatch.chdir(here / "notebooks")
    assert preflight.notebooks_folder() == (here / "notebooks").resolve()
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert preflight.notebooks_folder() is None
    assert preflight.notebooks_folder(here / "notebooks") == (here / "notebooks").resolve()

    assert main(["lab", "--dry-run", "--lessons", str(empty)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--lessons" in err[0] and str(empty) in err[0]
    assert main(["lab", "--dry-run", "--lessons", str(here / "notebooks")]) == 0
    assert f"--notebook-dir={(here / 'notebooks').resolve()}" in capsys.readouterr().out
