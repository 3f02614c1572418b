"""The learner's handout (`make student`) and the site's sources (`make site`) are derived
from the lessons without changing them, and leave no answer in the handout."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nbformat
import pytest

from simlib.lessons import handout

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
# A lesson that meets the lesson standard: collapsed reveals and two solutions.
REVISED = NOTEBOOKS / "11-async-invocation-and-destinations.ipynb"


def _digest(paths) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    dest = tmp_path_factory.mktemp("student")
    before = _digest(LESSONS)
    written = handout.student_copy(NOTEBOOKS, dest)
    assert _digest(LESSONS) == before, "the answer key (notebooks/) was changed"
    return {p.name: nbformat.read(p, as_version=4) for p in written if p.suffix == ".ipynb"}


def test_the_handout_has_every_lesson_valid_and_the_same_cells(student):
    assert sorted(student) == [p.name for p in LESSONS]
    for path in LESSONS:
        nb = student[path.name]
        nbformat.validate(nb)
        assert len(nb.cells) == len(nbformat.read(path, as_version=4).cells), path.name


def test_the_handout_holds_no_solution_and_no_reveal(student):
    for name, nb in student.items():
        original = nbformat.read(NOTEBOOKS / name, as_version=4)
        for mine, theirs in zip(nb.cells, original.cells):
            tags = theirs.metadata.get("tags", [])
            if "solution" in tags:
                assert mine.source == handout.STUDENT_SOLUTION and not mine.outputs, name
                assert "solution" not in mine.metadata.get("tags", [])
            elif theirs.cell_type == "markdown" and (
                    theirs.metadata.get("jupyter", {}).get("source_hidden")
                    or theirs.source.lstrip().startswith("**Reveal")):
                assert mine.source == handout.STUDENT_REVEAL, name
            elif theirs.cell_type == "code" and "hide-output" in tags:
                assert mine.outputs == [] and mine.execution_count is None, name
            else:  # everything else reads as the lesson does, outputs included
                assert mine.source == theirs.source
                assert mine.get("outputs") == theirs.get("outputs")


def test_the_revised_lesson_loses_its_answers_in_the_handout(student):
    """On a lesson with collapsed answers the handout removes each one (not a no-op)."""
    original = nbformat.read(REVISED, as_version=4)
    nb = student[REVISED.name]
    reveals = [c for c in original.cells if c.cell_type == "markdown"
               and re.match(r"\s*\*\*Reveal: \(", c.source)]
    assert len(reveals) >= 2
    text = "\n".join(c.source for c in nb.cells)
    for reveal in reveals:
        assert reveal.source not in text
    assert sum(c.source == handout.STUDENT_SOLUTION for c in nb.cells) >= 2
    hidden = [i for i, c in enumerate(original.cells) if "hide-output" in c.metadata.get("tags", [])]
    assert hidden and all(original.cells[i].outputs and not nb.cells[i].outputs for i in hidden)


def test_site_copy_collapses_reveal_text_and_drops_widget_state(tmp_path):
    extra = ROOT / "site" / "index.md"
    written = handout.site_copy(NOTEBOOKS, tmp_path, (extra,))
    assert (tmp_path / "index.md").read_text() == extra.read_text()
    assert len(written) == len(LESSONS) + 1
    original = nbformat.read(REVISED, as_version=4)
    assert "widgets" in original.metadata  # what the site copy drops
    nb = nbformat.read(tmp_path / REVISED.name, as_version=4)
    assert "widgets" not in nb.metadata
    for mine, theirs in zip(nb.cells, original.cells):
        if theirs.cell_type == "markdown" and (theirs.metadata.get("jupyter", {}).get("source_hidden")
                                                or theirs.source.lstrip().startswith("**Reveal")):
            assert mine.source.startswith('<details class="reveal">')
            assert theirs.source in mine.source and mine.source.endswith("</details>")
        else:
            assert mine.source == theirs.source


def test_the_command_refuses_to_overwrite_the_lessons(capsys):
    assert handout.main(["student", str(NOTEBOOKS), str(NOTEBOOKS)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "answer key" in err[0]


def test_the_command_names_a_folder_without_lessons(tmp_path, capsys):
    assert handout.main(["student", str(tmp_path), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no lessons" in err[0] and str(tmp_path) in err[0]


def test_links_to_a_heading_get_the_sites_anchor():
    """JupyterLab anchors a heading by its text, MyST by a lowercase slug: the site copy
    rewrites the lessons' links so that both the notebook and the site resolve them."""
    text = ("the [glossary](00-start-here.ipynb#Glossary), [below](#Further-reading), "
            "[a page](https://docs.aws.amazon.com/lambda/latest/dg/x.html#Section), "
            "[lesson 03](03-sqs-batches-and-partial-failures.ipynb)")
    assert handout._site_anchors(text) == (
        "the [glossary](00-start-here.ipynb#glossary), [below](#further-reading), "
        "[a page](https://docs.aws.amazon.com/lambda/latest/dg/x.html#Section), "
        "[lesson 03](03-sqs-batches-and-partial-failures.ipynb)")


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds at its top level, names it reads), from its Python source."""
    import ast

    tree = ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                               for line in source.splitlines()))
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound, read


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_the_handout_runs_without_the_solutions(path):
    """A learner's copy has its solutions emptied: no later cell may need a name that only
    a solution defines, or Run All would fail in the handout."""
    cells = nbformat.read(path, as_version=4).cells
    only_in_solutions: dict[str, int] = {}
    defined: set[str] = set()  # by cells the handout keeps
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        bound, read = _names(cell.source)
        if "solution" in cell.metadata.get("tags", []):
            for name in bound - defined:
                only_in_solutions.setdefault(name, i)
            continue
        defined |= bound
        needed = {n for n in read - bound if n in only_in_solutions}
        assert not needed, (f"cell {i} reads {sorted(needed)}, defined only in the solution "
                            f"cell {only_in_solutions[min(needed)]}")
        for name in bound:
            only_in_solutions.pop(name, None)


def test_the_handout_carries_the_files_the_lessons_read(tmp_path):
    """Lessons 10 and 14 read templates by a path relative to notebooks/ (../data/...): the
    handout keeps that layout, so its lessons find them as the repository's do."""
    written = handout.student_copy(NOTEBOOKS, tmp_path)
    needed = {(lesson.name, rel) for lesson in LESSONS for rel in handout.files_read(lesson)}
    assert {rel for _, rel in needed} >= {"../data/templates/orders-sam.yaml",
                                          "../data/templates/orders-app-sam.yaml"}
    for name, rel in needed:
        copy = (tmp_path / "notebooks" / rel).resolve()
        assert copy.is_file() and copy in {p.resolve() for p in written}, (name, rel)
        assert copy.read_bytes() == (NOTEBOOKS / rel).resolve().read_bytes()
