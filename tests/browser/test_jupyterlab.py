"""A real browser runs a lesson in JupyterLab and moves its slider, as a student would.

nbval (``make test``) proves that every lesson's cells run in a kernel and reproduce their
stored outputs, but it never loads JupyterLab: it cannot see whether the ipywidgets front
end renders a panel, whether a slider's change reaches the kernel, or whether the panel
redraws its plot and KPI table. This test drives Debian's Chromium through Playwright
against a JupyterLab started from this environment on a copy of the notebooks:

1. open ``00-start-here`` (its panel is cheap, about 0.2 s a re-simulation, and shows a
   plot and a table), Run → Run All Cells, wait until every code cell has run;
2. assert that no cell shows an error or anything on stderr, and that the panel drew a
   plot and a KPI table;
3. move the arrival-rate slider with the keyboard and assert that the table's text and the
   plot's PNG both changed;
4. move the batch-size slider to a value the model rejects (11 without a batching window)
   and assert that the panel says "Not run", greys its plot and table out and shows its
   "stale" note; move it back and assert that the normal look returns;
5. save a screenshot (``SERVERLESS_LAB_SCREENSHOT=path`` also writes it there, which is how
   ``make screenshot`` regenerates the README's picture).

The browser is Debian's ``chromium`` package (``make browser-deps``, or
``sudo apt-get install -y chromium``); Playwright's own browser download is not used, so
the test needs no network beyond the package manager. Without Chromium it is skipped with
a message saying how to install it; ``.ci/run`` installs it first, so CI runs it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from simlib.explore import STALE_CLASS

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the browser test needs Playwright: pip install -e '.[test]' (or make test)",
)

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
LESSON = "00-start-here.ipynb"
VIEWPORT = {"width": 1280, "height": 1000}  # tall enough for a panel: sliders, plot, table
SERVER_START_S = 90
RUN_ALL_S = 180  # the lesson runs in about 10 s; a shared 2-core machine may be much slower
REDRAW_S = 60
STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'

# User settings for the isolated JupyterLab. Without them a fresh profile asks in a toast
# whether to fetch Jupyter news (the toast covers the notebook and the request would fail
# offline), and the notebook renders only the cells near the viewport, so text read from
# the others (their prompts, their outputs) would come back empty.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@dataclass
class Lab:
    url: str  # http://127.0.0.1:PORT/
    token: str
    root: Path  # the copy of notebooks/ the server serves
    log: Path


def _cleared_copy(src: Path, dest: Path) -> None:
    """Copy ``src`` notebooks to ``dest`` with outputs, counts and widget state removed.

    Stored outputs would show a plot and execution counts before the kernel has run
    anything, so the test could not tell a live panel from a saved one.
    """
    shutil.copytree(src, dest)
    for path in dest.glob("*.ipynb"):
        nb = json.loads(path.read_text())
        nb.get("metadata", {}).pop("widgets", None)
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def _isolated_env(base: Path) -> dict[str, str]:
    """Environment with Jupyter's and IPython's per-user directories under ``base``.

    The user's own settings, workspaces, kernels or startup files must not change what
    the test sees, and the test must not write into them.
    """
    dirs = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "IPYTHONDIR": "ipython",
    }
    env = dict(os.environ)
    for var, name in dirs.items():
        (base / name).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / name)
    env.pop("JUPYTER_TOKEN", None)
    env["PYTHONHASHSEED"] = "0"  # as under nbval
    for rel, values in LAB_SETTINGS.items():
        path = base / "lab-settings" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return env


def _log_tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_for_server(proc: subprocess.Popen, runtime: Path, token: str, log: Path) -> str:
    """The server's URL once it answers an authenticated API call.

    The server picks a free port itself (``--ServerApp.port=0``, so no race with another
    process for a port chosen here) and writes it to its info file in the runtime dir.
    """
    deadline = time.monotonic() + SERVER_START_S
    url = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{_log_tail(log)}")
        if url is None:
            for info in runtime.glob("jpserver-*.json"):
                try:
                    url = json.loads(info.read_text())["url"]
                except (ValueError, KeyError):
                    pass  # still being written
        if url is not None:
            request = urllib.request.Request(
                url + "api/status", headers={"Authorization": f"token {token}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return url
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s:\n{_log_tail(log)}")


def _stop_server(proc: subprocess.Popen, url: str | None, token: str, runtime: Path) -> None:
    """Stop the server and every kernel it started, leaving no process behind.

    Kernels run in sessions of their own, so killing the server's process group would
    orphan them: first ask the server to shut down (it stops its kernels), then signal
    its group, then kill by id any process still using this test's runtime dir (a
    kernel's command line names its connection file there).
    """
    if url is not None and proc.poll() is None:
        request = urllib.request.Request(
            url + "api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except (urllib.error.URLError, OSError):
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            pass
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        return
    marker = str(runtime).encode()
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def lab(tmp_path: Path, chromium: Path):
    """JupyterLab from this environment on a cleared copy of notebooks/, stopped afterwards.

    Depends on ``chromium`` so that a machine without a browser skips before paying for a
    server start.
    """
    root = tmp_path / "notebooks"
    _cleared_copy(NOTEBOOKS, root)
    env = _isolated_env(tmp_path / "jupyter")
    runtime = Path(env["JUPYTER_RUNTIME_DIR"])
    token = secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # JupyterLab refuses root otherwise (containers, CI)
    log = tmp_path / "jupyterlab.log"
    url = None
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            cmd, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            url = _wait_for_server(proc, runtime, token, log)
            yield Lab(url=url, token=token, root=root, log=log)
        finally:
            _stop_server(proc, url, token, runtime)


def _code_cell_count(path: Path) -> int:
    return sum(c["cell_type"] == "code" for c in json.loads(path.read_text())["cells"])


def _dismiss_dialogs(page) -> None:
    """Accept any modal dialog (a kernel choice, say): it would block the clicks that follow."""
    for button in page.locator(".jp-Dialog .jp-mod-accept").all():
        if button.is_visible():
            button.click()


def _panel_state(cell) -> tuple[str, bytes]:
    """The panel's KPI table text and its plot as PNG bytes, as the page shows them now."""
    output = cell.locator(".widget-output")
    table = output.locator("table").first.inner_text()
    src = output.locator("img").first.get_attribute("src") or ""
    assert src.startswith("data:image/png;base64,"), f"the panel's plot is not a PNG: {src[:60]}"
    png = base64.b64decode(src.split(",", 1)[1])
    return table, png


def _settled_state(page, panel) -> tuple[str, bytes]:
    """The panel's state once it has stopped changing.

    Each key press is a change of the slider and so a re-simulation; the assertions and
    the screenshot should see the last one, not a redraw in between.
    """
    previous = None
    deadline = time.monotonic() + REDRAW_S
    while time.monotonic() < deadline:
        state = _panel_state(panel) if _kernel_idle(page) else None
        if state is not None and state == previous:
            return state
        previous = state
        time.sleep(1.0)
    pytest.fail(f"the panel kept changing for {REDRAW_S} s after the slider moved")


def _wait_until(predicate, timeout_s: float, what: str, interval_s: float = 0.25):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    pytest.fail(f"timed out after {timeout_s} s waiting until {what() if callable(what) else what}")


def _kernel_idle(page) -> bool:
    """Whether the notebook has a kernel attached and that kernel is idle.

    The toolbar's indicator (whose text is a tooltip) says "Idle" before the notebook
    has a kernel at all, and Run All at that moment silently runs nothing; so the kernel
    name next to it must also be a real one ("Python 3 (ipykernel)", not "No Kernel").
    """
    name = (page.locator(".jp-KernelName").first.text_content(timeout=5000) or "").strip()
    if not name or name == "No Kernel":
        return False
    indicator = page.locator(".jp-Notebook-ExecutionIndicator").first
    return "Kernel status: Idle" in (indicator.text_content(timeout=5000) or "")


def test_lesson_runs_and_its_slider_redraws_the_panel(lab: Lab, chromium: Path, chromium_args,
                                                     tmp_path):
    started = time.monotonic()
    n_code = _code_cell_count(lab.root / LESSON)
    screenshot = tmp_path / "lesson-panel.png"
    with sync_api.sync_playwright() as pw:
        # Chromium keeps its crash database under XDG_CONFIG_HOME: keep it in the tmp dir.
        xdg = {var: str(tmp_path / "chromium" / var) for var in ("XDG_CONFIG_HOME",
                                                                 "XDG_CACHE_HOME")}
        browser = pw.chromium.launch(executable_path=str(chromium), args=chromium_args,
                                     env={**os.environ, **xdg})
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(30_000)
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            try:
                _run_lesson(page, lab, n_code, screenshot)
            except BaseException:
                failure = tmp_path / "failure.png"
                page.screenshot(path=str(failure))
                print("browser console:", *console[-40:], sep="\n  ")
                print(f"screenshot of the failure: {failure}\nserver log: {lab.log}")
                raise
        finally:
            browser.close()
    extra = os.environ.get("SERVERLESS_LAB_SCREENSHOT")
    if extra:
        Path(extra).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, extra)
    print(f"screenshot: {extra or screenshot} ({time.monotonic() - started:.1f} s in the browser)")


def _run_lesson(page, lab: Lab, n_code: int, screenshot: Path) -> None:
    page.goto(f"{lab.url}lab/tree/{LESSON}?token={lab.token}")
    code_cells = page.locator(".jp-Notebook .jp-CodeCell")
    _wait_until(lambda: code_cells.count() == n_code, SERVER_START_S,
                f"the notebook shows its {n_code} code cells")
    _wait_until(lambda: _kernel_idle(page), SERVER_START_S, "the kernel has started")
    _dismiss_dialogs(page)

    # Solutions start collapsed (the lesson standard): a collapsed input shows a placeholder
    # without the cell's prompt, so first expand every cell's code, as a reader opening them
    # all would (View → Expand All Code); every code cell then shows its prompt.
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^View$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Expand All Code$")).click()

    # Run → Run All Cells, through the menu as a student would.
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")

    stderr = page.locator(f".jp-Notebook {STDERR}")
    seen: list[str] = []

    def all_ran() -> bool:
        # An error stops Run All, so the remaining cells would never run: report it now.
        errors = stderr.all_text_contents()
        assert not errors, f"{LESSON} shows error or stderr output:\n" + "\n---\n".join(errors)
        seen[:] = [t.strip() for t in prompts.all_text_contents()]
        return len(seen) == n_code and all(re.fullmatch(r"\[\d+\]:", t) for t in seen)

    _wait_until(all_ran, RUN_ALL_S,
                lambda: f"all {n_code} code cells of {LESSON} have run (prompts: {seen})")
    _wait_until(lambda: _kernel_idle(page), RUN_ALL_S, "the kernel is idle after Run All")
    errors = stderr.all_text_contents()
    assert not errors, f"{LESSON} shows error or stderr output:\n" + "\n---\n".join(errors)

    panel = code_cells.filter(has=page.locator(".widget-slider")).first
    status = panel.locator(".widget-html").first
    _wait_until(lambda: "re-simulated" in status.inner_text(), REDRAW_S,
                "the panel reports its first run")
    table_before, png_before = _panel_state(panel)
    assert "invocations" in table_before.lower(), table_before
    assert png_before.startswith(b"\x89PNG"), "the panel's plot is not a PNG image"

    # The first slider (arrival rate): focus its handle and step it with the keyboard,
    # which is how noUiSlider (ipywidgets' slider) takes keys; a drag depends on pixels.
    slider = panel.locator(".widget-slider").first
    readout = slider.locator(".widget-readout")
    value_before = readout.inner_text().strip()
    slider.locator(".noUi-handle").first.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    _wait_until(lambda: readout.inner_text().strip() != value_before, REDRAW_S,
                "the slider's readout moves")

    _wait_until(lambda: _kernel_idle(page) and _panel_state(panel) != (table_before, png_before),
                REDRAW_S, "the panel redraws after the slider moved")
    table_after, png_after = _settled_state(page, panel)
    assert table_after != table_before, "the KPI table did not change with the arrival rate"
    assert png_after != png_before, "the plot did not change with the arrival rate"
    assert "Not run" not in status.inner_text(), status.inner_text()
    errors = stderr.all_text_contents()
    assert not errors, "moving the slider produced error output:\n" + "\n---\n".join(errors)

    _check_rejected_setting(page, panel, status)
    assert _settled_state(page, panel)[0] == table_after, "back at the accepted setting"

    _frame_panel(page, panel)
    page.screenshot(path=str(screenshot))


def _check_rejected_setting(page, panel, status) -> None:
    """Step batch size from 10 to 11, which AWS refuses without a batching window, then back.

    The rejected setting must leave the last plot and table visibly stale (the output
    area greyed out by the style the note carries, the note shown), not looking current;
    the accepted one must restore the normal look. Two key presses, one re-simulation.
    """
    note = panel.locator(f".{STALE_CLASS}-note")
    greyed = panel.locator(f".{STALE_CLASS}")
    panel.locator(".widget-slider").nth(1).locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    _wait_until(lambda: "Not run" in status.inner_text() and note.is_visible(), REDRAW_S,
                lambda: f"the rejected batch size marks the panel stale ({status.inner_text()})")
    assert "stale" in note.inner_text().lower(), note.inner_text()
    assert greyed.count() == 1 and greyed.locator("table").count() == 1, "old table kept"
    opacity = float(greyed.evaluate("el => getComputedStyle(el).opacity"))
    assert opacity < 0.5, f"the stale output is not greyed out (opacity {opacity})"

    page.keyboard.press("ArrowLeft")
    _wait_until(lambda: "re-simulated" in status.inner_text() and not note.is_visible()
                and greyed.count() == 0, REDRAW_S,
                "the accepted batch size restores the panel's normal look")


def _frame_panel(page, panel) -> None:
    """Collapse the file browser and scroll the panel to the top, for a readable picture."""
    left = page.locator("#jp-left-stack")
    if left.count() and left.is_visible():
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").first.click()
    output = panel.locator(".jp-Cell-outputWrapper").first
    output.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.mouse.move(0, VIEWPORT["height"] - 1)  # no hover highlight on the picture
    time.sleep(0.5)
