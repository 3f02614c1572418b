"""Every lesson in notebooks/ has the parts issue #3 asks for, and was executed in order.

These checks read the stored notebooks (no kernel): nbval re-runs them separately
(`make test`), and `make notebooks` re-executes and saves them.
"""

import ast
import json
import re
import sys
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
ALLOWED_THIRD_PARTY = {"simlib", "numpy", "pandas", "matplotlib", "ipywidgets"}
ALLOWED = ALLOWED_THIRD_PARTY | set(sys.stdlib_module_names)

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _cells(nb, kind):
    return [c for c in nb["cells"] if c["cell_type"] == kind]


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _python(source: str) -> str:
    """Cell source without IPython magics and shell escapes, so ast can parse it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def nb(request):
    return _load(request.param)


def test_names_are_numbered_lessons():
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d-[a-z0-9-]+\.ipynb", path.name), path.name


def test_no_helper_files_beside_the_notebooks():
    helpers = [p.name for p in NOTEBOOKS_DIR.iterdir() if p.suffix in (".py", ".pyc")]
    assert not helpers, f"notebooks import only the installed simlib; found {helpers}"


def test_opens_with_what_you_will_do_learn_and_need(nb):
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown", "the first cell is the lesson's introduction"
    text = _source(first)
    assert text.lstrip().startswith("# "), "the introduction starts with the lesson's title"
    for section in ("What you'll do", "What you'll learn", "You'll need"):
        assert section in text, f"the introduction has no {section!r} section"


def test_parameters_in_the_first_code_cell(nb):
    first = _cells(nb, "code")[0]
    tree = ast.parse(_python(_source(first)))
    constants = [t.id for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()]
    assert constants, "the first code cell sets the lesson's parameters (UPPER_CASE names)"
    assert "SEED" in constants, "every lesson is seeded: SEED in the parameters cell"


def test_has_a_predict_first_question(nb):
    assert any("Predict" in _source(c) for c in _cells(nb, "markdown"))


def test_states_its_claim_in_an_assert_cell(nb):
    def asserts(cell):
        tree = ast.parse(_python(_source(cell)))
        return any(isinstance(node, ast.Assert) for node in ast.walk(tree))

    asserting = [c for c in _cells(nb, "code") if asserts(c)]
    assert asserting, "at least one code cell asserts the lesson's claim"


def test_has_an_exercise_with_a_solution_cell(nb):
    assert any("Exercise" in _source(c) for c in _cells(nb, "markdown"))
    solutions = [c for c in nb["cells"] if "solution" in _tags(c)]
    assert solutions, "the exercise's solution is in a cell tagged 'solution'"
    assert all(c["cell_type"] == "code" for c in solutions)


def test_has_an_interactive_panel_whose_output_is_not_compared(nb):
    panels = [c for c in _cells(nb, "code") if "interactive(" in _source(c)]
    assert panels, "a panel built with simlib.explore.interactive"
    for cell in panels:
        assert "nbval-ignore-output" in _tags(cell), "widget ids change: tag nbval-ignore-output"


# -- the lesson standard (/work/shared/lesson-standard.md): what a test can check ----------
MAX_CELLS = 25
# "About 1,500 words" of prose: the bound allows the "about" (a fifth over), counted over
# markdown cells (code comments are not prose a reader must read through).
MAX_WORDS = 1_800


def _standard(fn):
    """Parametrize a lesson-standard check over the lessons."""
    return pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])(fn)


def _collapsed(cell) -> bool:
    """Collapsed when the notebook opens (JupyterLab) and on the rendered site (tags)."""
    hidden = cell.get("metadata", {}).get("jupyter", {})
    if cell["cell_type"] == "markdown":
        return bool(hidden.get("source_hidden")) and "hide-input" in _tags(cell)
    return bool(hidden.get("outputs_hidden")) and "hide-output" in _tags(cell)


def _is_reveal(cell) -> bool:
    return cell["cell_type"] == "markdown" and _source(cell).lstrip().startswith("**Reveal")


@_standard
def test_the_answer_is_hidden_until_the_reader_acts(path):
    """After each prediction question, the cells up to and including its reveal are
    collapsed: the code cell's outputs (the answer's numbers) and the reveal's text."""
    cells = _load(path)["cells"]
    predictions = [i for i, c in enumerate(cells)
                   if c["cell_type"] == "markdown" and "**Predict" in _source(c)]
    assert predictions, "a prediction question (**Predict**)"
    for i in predictions:
        reveal = next((j for j in range(i + 1, len(cells)) if _is_reveal(cells[j])), None)
        assert reveal is not None, f"cell {i}: a prediction without a **Reveal** after it"
        between = [j for j in range(i + 1, reveal + 1)
                   if cells[j]["cell_type"] == "markdown" or cells[j].get("outputs")]
        shown = [j for j in between if not _collapsed(cells[j])]
        assert not shown, (f"cells {shown} show the answer to the prediction in cell {i}: "
                           "collapse them (metadata jupyter.outputs_hidden/source_hidden and "
                           "tag hide-output/hide-input)")


@_standard
def test_two_exercises_with_collapsed_solutions(path):
    cells = _load(path)["cells"]
    solutions = [c for c in cells if "solution" in _tags(c)]
    assert len(solutions) >= 2, "at least two exercises, each with a solution cell"
    for c in solutions:
        assert c.get("metadata", {}).get("jupyter", {}).get("source_hidden"), (
            "a solution's source is collapsed when the notebook opens")
        assert "hide-input" in _tags(c), "and on the rendered site (tag hide-input)"
    text = "\n".join(_source(c) for c in _cells({"cells": cells}, "markdown"))
    assert "On your own" in text, "an open question ('On your own') with a hint"


@_standard
def test_no_developer_material(path):
    """Panel response times and headless-run notes belong in benchmarks/ and tests/."""
    for c in _load(path)["cells"]:
        text = _source(c)
        assert not re.search(r"re-simulat\w*.{0,200}?\d+(\.\d+)?\s*s\b", text,
                             re.IGNORECASE | re.DOTALL), f"a stated panel timing: {text[:80]!r}"
        assert not re.search(r"median_seconds|perf_counter|headless", text), (
            f"timing or headless-run material: {text[:80]!r}")


@_standard
def test_ends_with_in_production_then_further_reading(path):
    md = [_source(c) for c in _cells(_load(path), "markdown")]
    text = "\n".join(md)
    production = re.search(r"^#+ In production", text, re.MULTILINE)
    reading = re.search(r"^#+ Further reading", text, re.MULTILINE)
    assert production and reading and production.start() < reading.start(), (
        "an 'In production' section, then 'Further reading'")
    links = re.findall(r"\]\((https://docs\.aws\.amazon\.com/[^)]+)\)", text[reading.start():])
    assert len(links) >= 2, "Further reading names the AWS pages the facts come from, with links"


@_standard
def test_fits_the_length_of_a_lesson(path):
    nb = _load(path)
    assert len(nb["cells"]) <= MAX_CELLS, f"{len(nb['cells'])} cells: a longer topic is two lessons"
    words = sum(len(re.findall(r"[A-Za-z][A-Za-z'’-]*", _source(c)))
                for c in _cells(nb, "markdown"))
    assert words <= MAX_WORDS, f"{words} words of prose (about 1,500 at most)"


@_standard
def test_what_you_will_learn_has_three_to_five_claims(path):
    intro = _source(_load(path)["cells"][0])
    match = re.search(r"What you'll learn\**\s*\n(.*?)(?:\n\s*\n|\Z)", intro, re.DOTALL)
    assert match, "a 'What you'll learn' list"
    bullets = [line for line in match.group(1).splitlines() if line.lstrip().startswith("- ")]
    assert 3 <= len(bullets) <= 5, f"{len(bullets)} bullets (3-5 claims the lesson proves)"


@_standard
def test_the_panels_default_view_is_stored_as_an_image(path):
    """A static viewer and the rendered site show what the panel shows: a figure stored
    after the panel's cell."""
    cells = _load(path)["cells"]
    panel = next(i for i, c in enumerate(cells)
                 if c["cell_type"] == "code" and "interactive(" in _source(c))
    after = [o for c in cells[panel + 1:] if c["cell_type"] == "code"
             for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert after, "the panel's default view stored as a figure after the panel"


def test_ends_with_an_in_production_takeaway(nb):
    assert any(re.search(r"^#+ In production", _source(c), re.MULTILINE)
               for c in _cells(nb, "markdown"))


def test_executed_in_order_with_outputs(nb):
    code = _cells(nb, "code")
    counts = [c.get("execution_count") for c in code]
    assert None not in counts, "every code cell was executed (run `make notebooks`)"
    assert counts == list(range(1, len(code) + 1)), f"executed top to bottom once: {counts}"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"stored error output: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    assert sum(bool(c.get("outputs")) for c in code) >= len(code) // 2, "most cells show something"
    images = [o for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "at least one stored figure"


def test_imports_only_simlib_and_the_scientific_stack(nb):
    for cell in _cells(nb, "code"):
        tree = ast.parse(_python(_source(cell)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, "no relative imports (no helper files beside notebooks)"
                assert all(alias.name != "*" for alias in node.names), "no star imports"
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in ALLOWED, f"import of {name!r} in a lesson"
        assert "%run" not in _source(cell), "no %run of helper files"


def test_kernel_is_the_environments_python3(nb):
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
