"""The rendered site (`make site`) builds offline and every lesson page renders in Chromium.

The site is what a host puts on a projector or a learner reads without a kernel, so the
test builds it exactly as ``make site`` does (simlib.lessons.handout, then Sphinx with
MyST-NB, site/conf.py), into a temporary folder, and opens every lesson page from disk in
Debian's Chromium:

- the page has the lesson's title and every figure the notebook stores, each one decoded
  by the browser (an ``<img>`` with a natural width, not a broken link);
- the answers are collapsed: each reveal's text and each solution is inside a closed
  ``<details>``, and opening a reveal shows its text;
- the page asks for nothing outside the site (the build and the pages work offline; a
  link to AWS's documentation is a link, not a request).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simlib.lessons import handout

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the browser test needs Playwright: pip install -e '.[test]' (or make test)",
)
pytest.importorskip("myst_nb", reason="the site needs the site extra: pip install -e '.[site]'")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
BUILD_S = 600


def _stored_figures(nb: dict) -> int:
    """Figures a lesson stores in its cells' outputs (a panel's widget output is not one:
    the figure after the panel stands in for it)."""
    return sum("image/png" in o.get("data", {}) for c in nb["cells"] if c["cell_type"] == "code"
               for o in c.get("outputs", []))


def _reveals(nb: dict) -> int:
    """Reveals' texts: collapsed markdown cells, and any starting with **Reveal."""
    return sum(1 for c in nb["cells"] if c["cell_type"] == "markdown" and (
        c.get("metadata", {}).get("jupyter", {}).get("source_hidden")
        or "".join(c["source"]).lstrip().startswith("**Reveal")))


def _solutions(nb: dict) -> int:
    return sum(1 for c in nb["cells"] if "solution" in c.get("metadata", {}).get("tags", []))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built as `make site` builds it; the build's warnings fail the test."""
    base = tmp_path_factory.mktemp("site")
    src, out = base / "src", base / "html"
    handout.site_copy(NOTEBOOKS, src, (ROOT / "site" / "index.md", NOTEBOOKS / "README.md"))
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-c", str(ROOT / "site"),
         str(src), str(out)],
        capture_output=True, text=True, timeout=BUILD_S, check=False)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stderr[-3000:]}"
    assert "WARNING" not in proc.stderr, f"sphinx-build warned:\n{proc.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def browser(chromium_path, chromium_args_list, tmp_path_factory):
    """One Chromium for all the pages, with every request outside the site recorded."""
    base = tmp_path_factory.mktemp("chromium")
    with sync_api.sync_playwright() as pw:
        xdg = {var: str(base / var) for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
        browser = pw.chromium.launch(executable_path=str(chromium_path), args=chromium_args_list,
                                     env={**os.environ, **xdg})
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            external: list[str] = []
            page.on("request", lambda r: external.append(r.url)
                    if not r.url.startswith(("file://", "data:", "about:")) else None)
            yield page, external
        finally:
            browser.close()


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_page_renders_with_its_figures_and_collapsed_answers(site: Path, browser, path):
    page, external = browser
    index = (site / "index.html").read_text(encoding="utf-8")
    nb = json.loads(path.read_text(encoding="utf-8"))
    html = site / f"{path.stem}.html"
    assert html.exists(), f"no page for {path.name}"
    assert f"{path.stem}.html" in index, f"{path.name} is not in the site's index"
    external.clear()
    page.goto(html.as_uri(), wait_until="load")
    title = page.locator("article h1").first.text_content() or ""
    assert title.strip().startswith(path.name[:2]), f"{path.name}: title {title!r}"

    figures = _stored_figures(nb)
    imgs = page.locator("article img")
    assert imgs.count() >= figures, f"{imgs.count()} images on the page, {figures} stored"
    broken = page.evaluate(
        "() => [...document.querySelectorAll('article img')]"
        ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))")
    assert not broken, f"images the browser could not decode: {broken}"

    reveals = page.locator("article details.reveal")
    assert reveals.count() == _reveals(nb), "every reveal's text is in a <details>"
    # Solutions: MyST-NB's collapsed code (tag hide-input).
    assert page.locator("article details.hide.above-input").count() >= _solutions(nb), (
        "every solution is collapsed")
    closed = page.evaluate(
        "() => [...document.querySelectorAll('article details')].every(d => !d.open)")
    assert closed, "an answer is open when the page loads"
    if reveals.count():
        first = reveals.first
        body = first.locator("p").first
        assert not body.is_visible(), "a reveal's text shows before it is opened"
        first.locator("summary").click()
        assert body.is_visible(), "opening a reveal shows its text"
    assert not external, f"the page asked the network for: {sorted(set(external))[:5]}"
