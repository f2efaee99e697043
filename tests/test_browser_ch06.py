"""Chapter 06 in real JupyterLab: run all cells, move the optimizer race's learning-rate slider,
and the learner sees different numbers and a different picture.

The second end-to-end browser check (the first is ``test_browser.py``; both run on
``browser_support.widget_in_lab``): JupyterLab serves a temporary copy of
``chapters/``, Debian's headless Chromium (driven by Playwright) opens
``06_optimization.ipynb`` and runs it from the Run menu, then nudges the ``lr`` slider of the
optimizer race with the keyboard. The readout (each optimizer's final loss) must change for
the three optimizers that use ``lr`` and stay the same for the three that use ``lr adaptive``,
and the figure's image must change. Then, as issue 8 found in the browser: no label is cut off
and the table's headers do not collide; switching the surface Beale -> Saddle starts the race at
the saddle's preset (-1.50, 0.01), not at the old start snapped by the sliders; and a press on
the contours renders the figure once; in a narrower window every figure of the chapter is shown
whole (scaled down, not cut at the right edge). A screenshot is saved whatever happens.
"""
from __future__ import annotations

import re

import pytest

from browser_support import (
    count_renders,
    cut_labels,
    figure_overflow,
    nudge_slider,
    renders_counted,
    wait_for_change,
    wait_for_stable,
    widget_in_lab,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "06_optimization.ipynb"
WIDGET = ".course-widget-06-optimizer_race"  # FigureWidget.name "06.optimizer_race"
BUDGET_S = 210.0  # the whole test, server start included: the chapter itself runs for ~20 s
SGD_FAMILY = ("GD (SGD)", "Momentum", "Nesterov")
ADAPTIVE = ("AdaGrad", "RMSProp", "Adam")


# The readout is a table, one row per optimizer: name, final loss, f - f*, run, next step.
# textContent would run the cells together, so read them cell by cell.
_ROWS_JS = """e => [...e.querySelectorAll('tr')].map(r => [...r.querySelectorAll('td')].map(
    td => td.textContent.trim())).filter(cells => cells.length)"""


# Each header cell's [left, right] on the page: neighbours must not overlap.
_HEADERS_JS = """e => [...e.querySelectorAll('th')].map(th => { const r = th.getBoundingClientRect();
    return [r.left, r.right]; })"""


def final_losses(rows: list[list[str]]) -> dict[str, str]:
    """``{optimizer: final loss}`` from the readout's rows."""
    return {cells[0]: cells[1] for cells in rows if len(cells) >= 2}


def test_race_answers_the_learning_rate_slider_in_jupyterlab(tmp_path):
    with widget_in_lab(tmp_path, NOTEBOOK, WIDGET, budget_s=BUDGET_S, cap=150,
                       failure_png="ch06-failure.png") as (page, box, laps, deadline, shots):
        readout, image = box.locator(".course-readout"), box.locator("img").first

        def read() -> str:
            # the DOM's text, not innerText: JupyterLab may skip rendering off-screen cells
            return repr(readout.evaluate(_ROWS_JS))

        wait_for_change(read, "[]", deadline.left(10))
        before, before_src = read(), image.get_attribute("src")
        losses_before = final_losses(readout.evaluate(_ROWS_JS))
        assert set(losses_before) == set(SGD_FAMILY + ADAPTIVE), f"unexpected readout: {before!r}"

        lr_slider = box.locator(".widget-slider").filter(
            has=page.locator(".widget-label", has_text=re.compile(r"^\s*lr\s*$")))
        assert lr_slider.count() == 1, "the race has no slider labelled 'lr'"
        nudge_slider(lr_slider.first, presses=4)
        wait_for_change(read, before, deadline.left(20))
        after = wait_for_stable(read, quiet=0.75, timeout=deadline.left(10))
        after_src = wait_for_change(lambda: image.get_attribute("src"), before_src, deadline.left(10))
        box.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.screenshot(path=shots / "ch06-after-lr-move.png")
        losses_after = final_losses(readout.evaluate(_ROWS_JS))
        print(f"final losses before: {losses_before}\nfinal losses after:  {losses_after}\n"
              f"seconds since start: {laps}\nscreenshot: {shots / 'ch06-after-lr-move.png'}")

        assert after_src != before_src, "the figure image did not change after the slider move"
        for name in SGD_FAMILY:
            assert losses_after.get(name) != losses_before[name], f"{name}'s final loss did not change"
        for name in ADAPTIVE:  # they use 'lr adaptive': the lr slider must not touch them
            assert losses_after.get(name) == losses_before[name], f"{name} changed with the SGD lr"

        assert not cut_labels(box), f"labels cut off: {cut_labels(box)}"
        headers = readout.evaluate(_HEADERS_JS)
        assert len(headers) == 5 and all(a[1] <= b[0] + 0.5 for a, b in zip(headers, headers[1:])), \
            f"the table's headers overlap: {headers}"

        def text() -> str:
            return " ".join((readout.text_content() or "").split())

        surface = box.locator("select").first
        for label, start in [("Beale", "start (1.00, 1.50)"), ("Saddle", "start (-1.50, 0.01)")]:
            before = text()
            surface.select_option(label=label)
            wait_for_change(text, before, deadline.left(20))
            shown = wait_for_stable(text, quiet=1.5, timeout=deadline.left(15))  # the sliders' reports land
            print(f"after choosing {label}: {shown[:90]!r}")
            assert f"{label}, {start}" in shown, f"{label}: the race did not start at its preset: {shown[:120]!r}"

        count_renders(image)
        size = image.bounding_box()
        image.click(position={"x": 0.27 * size["width"], "y": 0.43 * size["height"]})  # on the contours
        page.wait_for_timeout(2000)
        page.screenshot(path=shots / "ch06-after-press.png")
        renders = renders_counted(page)
        print(f"renders after one press: {renders}")
        assert renders == 1, f"one press rendered the figure {renders} times"

        page.set_viewport_size({"width": 1000, "height": 1000})  # an output area narrower than the figures
        page.wait_for_timeout(500)
        figures = page.locator("[class*='course-widget-'] img")
        overflow = [round(figure_overflow(figures.nth(i)), 1) for i in range(figures.count())]
        print(f"figures' overflow past their output areas in a 1000 px window (px): {overflow}")
        assert overflow and max(overflow) <= 0.5, f"a figure is cut off at the right: {overflow} px"

