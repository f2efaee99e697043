"""Chapter 01 in real JupyterLab: run all cells, move a slider, the widget answers.

The end-to-end check that a learner's browser shows a live widget: JupyterLab (the venv's)
serves a temporary copy of ``chapters/`` and Debian's headless Chromium, driven by
Playwright, opens ``01_linear_algebra.ipynb``, runs it from the Run menu, nudges the first
slider of the 2x2-matrix widget with the keyboard and expects the readout ("det A = ...")
and the figure to change; no slider label may be cut off. Whatever fails, a screenshot is saved and its path is in the
message (see ``browser_support.widget_in_lab``).

Chromium is never downloaded (no ``playwright install``): without Debian's ``chromium`` the
test skips, except in CI (``CI=true``) where that is a failure.
"""
from __future__ import annotations

import pytest

from browser_support import cut_labels, nudge_slider, wait_for_change, wait_for_stable, widget_in_lab

pytestmark = pytest.mark.browser

NOTEBOOK = "01_linear_algebra.ipynb"
WIDGET = ".course-widget-01-matrix_2x2"  # FigureWidget.name "01.matrix_2x2"
BUDGET_S = 150.0  # the whole test, server start included; teardown adds at most ~15 s


def test_matrix_widget_answers_slider_in_jupyterlab(tmp_path):
    with widget_in_lab(tmp_path, NOTEBOOK, WIDGET, budget_s=BUDGET_S, cap=120,
                       failure_png="failure.png") as (page, box, laps, deadline, shots):
        readout, image = box.locator(".course-readout"), box.locator("img").first

        def read() -> str:
            # textContent, not innerText: JupyterLab skips rendering off-screen
            # cells (content-visibility), and their innerText is then empty.
            return " ".join((readout.text_content() or "").split())

        # The widget view can attach a moment after its cell finished: wait for its text.
        wait_for_change(read, "", deadline.left(10))
        before, before_src = read(), image.get_attribute("src")
        assert "det A = " in before, f"unexpected readout before the move: {before!r}"
        assert not cut_labels(box), f"labels cut off: {cut_labels(box)}"

        nudge_slider(box.locator(".widget-slider").first, presses=5)
        wait_for_change(read, before, deadline.left(20))
        after = wait_for_stable(read, quiet=0.75, timeout=deadline.left(10))
        after_src = wait_for_change(lambda: image.get_attribute("src"), before_src, deadline.left(10))
        # Focusing the slider made its cell active, which JupyterLab scrolled to.
        box.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.screenshot(path=shots / "after-slider-move.png")
        print(f"readout before: {before!r}\nreadout after:  {after!r}\n"
              f"seconds since start: {laps}\nscreenshot: {shots / 'after-slider-move.png'}")

        assert after != before, f"the readout did not change after the slider move: {after!r}"
        assert "det A = " in after, f"unexpected readout after the move: {after!r}"
        assert after_src != before_src, "the figure image did not change after the slider move"
