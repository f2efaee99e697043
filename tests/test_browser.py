"""Chapter 01 in real JupyterLab: run all cells, move a slider, the widget answers.

The one end-to-end check that a learner's browser shows a live widget: JupyterLab (the
venv's) serves a temporary copy of ``chapters/`` and Debian's headless Chromium, driven by
Playwright, opens ``01_linear_algebra.ipynb``, runs it from the Run menu, nudges the first
slider of the 2x2-matrix widget with the keyboard and expects the readout ("det A = ...")
and the figure to change. Whatever fails, a screenshot is saved and its path is in the
message.

Chromium is never downloaded (no ``playwright install``): without Debian's ``chromium`` the
test skips, except in CI (``CI=true``) where that is a failure.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from browser_support import (
    CHROMIUM_INSTALL,
    PLAYWRIGHT_INSTALL,
    Deadline,
    LabServer,
    find_chromium,
    is_ci,
    launch_chromium,
    nudge_slider,
    open_notebook,
    run_all_cells,
    wait_for_change,
    wait_for_run,
    wait_for_stable,
)

pytestmark = pytest.mark.browser

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
NOTEBOOK = "01_linear_algebra.ipynb"
WIDGET = ".course-widget-01-matrix_2x2"  # FigureWidget.name "01.matrix_2x2"
BUDGET_S = 150.0  # the whole test, server start included; teardown adds at most ~15 s
# Set to a folder to keep the screenshots (a CI artifact); otherwise they stay in tmp_path.
ARTIFACTS_ENV = "BROWSER_TEST_ARTIFACTS"


def require_chromium() -> str:
    """Chromium's path; skip on a learner's machine without it, FAIL in CI (CI=true)."""
    path = find_chromium()
    missing, install = None, CHROMIUM_INSTALL
    if path is None:
        missing = "Debian's `chromium` is not on PATH"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing, install = "the Python package `playwright` is not installed", PLAYWRIGHT_INSTALL
    if missing is None:
        return path
    if is_ci():
        pytest.fail(f"{missing} (CI=true, so the browser test cannot be skipped). "
                    f"Install it with: {install}", pytrace=False)
    pytest.skip(f"{missing}; install it with `{install}` to run the browser test")


@pytest.fixture
def start_lab(tmp_path):
    """Start JupyterLab on a copy of chapters/ (autosave never writes into the repo).

    A factory, so that the test decides (after its skip/fail checks) whether to start
    one; the finalizer always stops it, whatever happened.
    """
    servers: list[LabServer] = []

    def start(timeout: float) -> LabServer:
        root = tmp_path / "chapters"
        shutil.copytree(CHAPTERS, root,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        server = LabServer(root, tmp_path / "jupyter")
        servers.append(server)
        server.start(timeout=timeout)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get(ARTIFACTS_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_matrix_widget_answers_slider_in_jupyterlab(start_lab, shots):
    deadline, t0 = Deadline(BUDGET_S), time.monotonic()
    laps: dict[str, float] = {}

    def lap(phase: str) -> None:
        laps[phase] = round(time.monotonic() - t0, 1)

    chromium = require_chromium()
    assert (CHAPTERS / NOTEBOOK).is_file(), f"{CHAPTERS / NOTEBOOK} does not exist"
    lab = start_lab(timeout=deadline.left(60))
    lap("server up")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(deadline.ms(20))
            try:
                open_notebook(page, lab, NOTEBOOK, deadline)
                lap("kernel idle")
                run_all_cells(page, deadline)
                wait_for_run(page, f"{WIDGET} .course-readout", deadline, cap=120)
                lap("all cells ran")

                box = page.locator(WIDGET).first
                readout, image = box.locator(".course-readout"), box.locator("img").first
                # Bottom of the widget into view: sliders, figure and readout all show.
                readout.scroll_into_view_if_needed()

                def read() -> str:
                    # textContent, not innerText: JupyterLab skips rendering off-screen
                    # cells (content-visibility), and their innerText is then empty.
                    return " ".join((readout.text_content() or "").split())

                # The widget view can attach a moment after its cell finished: wait for its text.
                wait_for_change(read, "", deadline.left(10))
                before, before_src = read(), image.get_attribute("src")
                assert "det A = " in before, f"unexpected readout before the move: {before!r}"

                nudge_slider(box.locator(".widget-slider").first, presses=5)
                wait_for_change(read, before, deadline.left(20))
                after = wait_for_stable(read, quiet=0.75, timeout=deadline.left(10))
                after_src = wait_for_change(lambda: image.get_attribute("src"), before_src,
                                            deadline.left(10))
                lap("widget answered")
                # Focusing the slider made its cell active, which JupyterLab scrolled to.
                box.evaluate("e => e.scrollIntoView({block: 'center'})")
                page.screenshot(path=shots / "after-slider-move.png")
                print(f"readout before: {before!r}\nreadout after:  {after!r}\n"
                      f"seconds since start: {laps}\nscreenshot: {shots / 'after-slider-move.png'}")

                assert after != before, f"the readout did not change after the slider move: {after!r}"
                assert "det A = " in after, f"unexpected readout after the move: {after!r}"
                assert after_src != before_src, "the figure image did not change after the slider move"
            except Exception as exc:  # pytest.fail/skip are BaseException: not caught here
                shot = shots / "failure.png"
                try:
                    page.screenshot(path=shot, full_page=True)
                except Exception as shot_error:  # the page may be gone
                    shot = f"(no screenshot: {shot_error})"
                kind = "" if isinstance(exc, AssertionError) else f"{type(exc).__name__}: "
                raise AssertionError(f"{kind}{exc}\nscreenshot: {shot}\n"
                                     f"JupyterLab log (tail):\n{lab.log_tail(1500)}") from exc
        finally:
            browser.close()
