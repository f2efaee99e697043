"""Chapters 10-15 in real JupyterLab: run all cells, and every widget answers its first control.

Built on ``browser_support.widget_in_lab`` like the other browser tests: JupyterLab serves a
temporary copy of ``chapters/`` and Debian's headless Chromium (Playwright) opens the chapter and
runs it from the Run menu. Then, for every widget the chapter registers (``FigureWidget.name``
``"NN.what"``, shown as ``.course-widget-NN-what``): its readout is not empty and no label is cut
off; its first slider is nudged one step with the keyboard (to the left when it sits at its
maximum), or, for a widget without a slider, its first dropdown moves to another option; and the
figure the browser shows changes. Screenshots are saved whatever happens.
"""
from __future__ import annotations

import pytest

from browser_support import cut_labels, wait_for_change, wait_for_stable, widget_in_lab

pytestmark = pytest.mark.browser

BUDGET_S = 300.0  # per chapter, server start included; the chapters run 15-35 s quiet, 2-3x that under load
CAP_S = 200.0
CHAPTERS = {"10": "10_recurrent_networks.ipynb", "11": "11_attention_transformers.ipynb",
            "12": "12_generative_models.ipynb", "13": "13_graphs_and_continuous_depth.ipynb",
            "14": "14_robustness_explainability_transfer.ipynb", "15": "15_scaling_and_gpus.ipynb"}


def _widget_names(number: str) -> list[str]:
    from course_lib.widgets.base import all_widgets

    return [name for name in all_widgets() if name.startswith(f"{number}.")]


def _selector(name: str) -> str:
    return ".course-widget-" + name.replace(".", "-")


def _text(locator) -> str:
    return " ".join((locator.text_content() or "").split())  # textContent: off-screen cells have no innerText


def _move_first_control(box) -> str:
    """Nudge the first slider one step (left when at its maximum), else pick another dropdown option."""
    sliders = box.locator(".widget-slider .noUi-handle, .widget-hslider .noUi-handle")
    if sliders.count():
        handle = sliders.first
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        handle.focus()
        handle.press("ArrowLeft" if at_max else "ArrowRight")
        return f"slider {'left' if at_max else 'right'}"
    select = box.locator("select").first
    options = select.locator("option").all_text_contents()
    current = select.evaluate("s => s.options[s.selectedIndex].text")
    other = next(o for o in options if o != current)
    select.select_option(label=other)
    return f"dropdown {current!r} -> {other!r}"


@pytest.mark.parametrize("number", sorted(CHAPTERS))
def test_every_widget_of_the_chapter_answers_in_jupyterlab(tmp_path, number):
    names = _widget_names(number)
    assert len(names) >= 2, f"chapter {number} should have at least two widgets, has {names}"
    with widget_in_lab(tmp_path, CHAPTERS[number], _selector(names[0]), budget_s=BUDGET_S, cap=CAP_S,
                       failure_png=f"ch{number}-failure.png") as (page, _, laps, deadline, shots):
        for name in names:
            box = page.locator(_selector(name)).first
            assert box.count(), f"{name}: not shown in chapter {number}"
            box.scroll_into_view_if_needed()
            readout, image = box.locator(".course-readout"), box.locator("img").first
            wait_for_change(lambda: _text(readout), "", deadline.left(20))
            assert _text(readout), f"{name}: empty readout"
            assert not box.locator(".course-widget-error").count(), f"{name}: the readout shows an error: {_text(readout)!r}"
            assert not cut_labels(box), f"{name}: labels cut off: {cut_labels(box)}"
            before_src = image.get_attribute("src")
            what = _move_first_control(box)
            after_src = wait_for_change(lambda: image.get_attribute("src"), before_src, deadline.left(30))
            after = wait_for_stable(lambda: _text(readout), quiet=0.75, timeout=deadline.left(10))
            box.evaluate("e => e.scrollIntoView({block: 'center'})")
            page.screenshot(path=shots / f"{name.replace('.', '-')}-moved.png")
            print(f"{name}: {what}; readout now {after[:120]!r}")
            assert after_src != before_src, f"{name}: the figure did not change after {what}"
            assert not box.locator(".course-widget-error").count(), \
                f"{name}: the readout shows an error after {what}: {after!r}"
        print(f"seconds since start: {laps}")
