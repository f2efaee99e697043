"""Chapters 08 and 09 in real JupyterLab: run all cells, then work every widget's controls as a
learner would, and the learner sees different numbers and a different picture.

Built on ``browser_support.widget_in_lab`` like ``test_browser.py`` and ``test_browser_ch06.py``:
JupyterLab serves a temporary copy of ``chapters/``, Debian's headless Chromium (Playwright) opens
the chapter and runs it from the Run menu.

- Chapter 08: the edge-of-stability race's learning-rate slider moves from 0.6 to 0.7 (readout
  and 2/eta change, the figure changes); the landscape viewer switches its directions dropdown
  from PCA to filter-normalized (readout and figure change), its slice toggle to 1-D (the figure
  changes, the numbers do not) and ticks "rescale layers": with filter-normalized directions the
  rescaled network's loss, curvature and picture are those of the trained network (the chapter's
  proposition, seen in the browser), and switching to raw directions then changes the picture.
- Chapter 09: the feature-map viewer's digit slider (another test digit, another picture) and
  the convolution-arithmetic explorer's kernel slider (another n_out in the readout).

In every widget no label is cut off. Screenshots are saved whatever happens. Each chapter runs
for 30-60 s on a busy 2-core machine; the budgets below allow for that plus the server's start.
"""
from __future__ import annotations

import re

import pytest

from browser_support import cut_labels, nudge_slider, wait_for_change, wait_for_stable, widget_in_lab

pytestmark = pytest.mark.browser

BUDGET_S = 240.0  # per test, server start included (chapter 08 ran in 43 s at load 7.5 under nbconvert)
CAP_S = 180.0  # Run All Cells until the widgets' readouts show


def _text(locator) -> str:
    # textContent, not innerText: JupyterLab skips rendering off-screen cells
    return " ".join((locator.text_content() or "").split())


def _slider(box, page, label: str):
    """The one slider in ``box`` whose description is ``label``."""
    found = box.locator(".widget-slider, .widget-hslider").filter(
        has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))
    assert found.count() >= 1, f"no slider labelled {label!r}"
    return found.first


def _change(page, box, act, deadline, what: str, shot, readout_changes: bool = True,
            figure_changes: bool = True) -> tuple[str, str]:
    """Do ``act()``; wait until the readout and the figure of ``box`` changed (or, where a flag says they
    must not, check that they stayed the same); return the new readout and src."""
    readout, image = box.locator(".course-readout"), box.locator("img").first
    before, before_src = _text(readout), image.get_attribute("src")
    act()
    if figure_changes:
        wait_for_change(lambda: image.get_attribute("src"), before_src, deadline.left(30))
    if readout_changes:
        wait_for_change(lambda: _text(readout), before, deadline.left(30))
    after = wait_for_stable(lambda: _text(readout), quiet=1.0, timeout=deadline.left(10))
    after_src = image.get_attribute("src")
    box.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.screenshot(path=shot)
    print(f"{what}:\n  before: {before[:160]!r}\n  after:  {after[:160]!r}\n  screenshot: {shot}")
    if readout_changes:
        assert after != before, f"{what}: the readout did not change: {after!r}"
    else:  # a change of view only: the same numbers
        assert after == before, f"{what}: the readout changed: {before!r} -> {after!r}"
    if figure_changes:
        assert after_src != before_src, f"{what}: the figure did not change"
    else:
        assert after_src == before_src, f"{what}: the figure changed"
    return after, after_src


def test_chapter_08_widgets_answer_in_jupyterlab(tmp_path):
    with widget_in_lab(tmp_path, "08_loss_landscapes.ipynb", ".course-widget-08-edge_of_stability",
                       budget_s=BUDGET_S, cap=CAP_S, failure_png="ch08-failure.png") as (page, box, laps, deadline,
                                                                                         shots):
        readout = box.locator(".course-readout")
        wait_for_change(lambda: _text(readout), "", deadline.left(10))
        assert "η = 0.60" in _text(readout), f"unexpected race readout: {_text(readout)!r}"
        assert not cut_labels(box), f"labels cut off in the race: {cut_labels(box)}"
        after, _ = _change(page, box, lambda: nudge_slider(_slider(box, page, "learning rate η"), presses=1),
                           deadline, "edge of stability, lr 0.6 -> 0.7", shots / "ch08-race-lr.png")
        assert "η = 0.70, 2/η = 2.857" in after, f"the race did not move to eta = 0.7: {after!r}"

        viewer = page.locator(".course-widget-08-landscape_viewer").first
        viewer.scroll_into_view_if_needed()
        v_read = viewer.locator(".course-readout")
        wait_for_change(lambda: _text(v_read), "", deadline.left(10))
        assert _text(v_read).startswith("PCA directions, the trained network"), _text(v_read)
        assert not cut_labels(viewer), f"labels cut off in the viewer: {cut_labels(viewer)}"
        trained, _ = _change(page, viewer, lambda: viewer.locator("select").first.select_option(
            label="filter-normalized"), deadline, "viewer, PCA -> filter-normalized", shots / "ch08-viewer-dir.png")
        assert trained.startswith("filter-normalized directions, the trained network"), trained
        _change(page, viewer, lambda: viewer.get_by_role("button", name="1-D", exact=True).click(), deadline,
                "viewer, 2-D -> 1-D", shots / "ch08-viewer-1d.png", readout_changes=False)
        # Filter-normalized directions follow a rescaling that leaves the function alone (the chapter's
        # proposition): the readout names the other network, but the loss, the curvature and the 1-D
        # slices, hence the picture, are the same.
        rescaled, _ = _change(page, viewer, lambda: viewer.get_by_role("checkbox").first.check(), deadline,
                              "viewer, rescale layers", shots / "ch08-viewer-rescaled.png", figure_changes=False)
        assert "the rescaled network" in rescaled, rescaled

        def numbers(text: str) -> tuple[str, str]:
            found = re.search(r"L\(θ\*\) = (\S+); .* at 0: (\S+) ", text)
            assert found, f"no L and curvature in the readout: {text!r}"
            return found.groups()
        assert numbers(rescaled) == numbers(trained), (trained, rescaled)
        # Raw directions do not follow it: another picture.
        raw, _ = _change(page, viewer, lambda: viewer.locator("select").first.select_option(label="raw"), deadline,
                         "viewer, rescaled, filter-normalized -> raw", shots / "ch08-viewer-raw.png")
        assert raw.startswith("raw directions, the rescaled network"), raw
        assert not cut_labels(viewer), f"labels cut off in the viewer: {cut_labels(viewer)}"
        print(f"seconds since start: {laps}")


def test_chapter_09_widgets_answer_in_jupyterlab(tmp_path):
    with widget_in_lab(tmp_path, "09_convolutional_networks.ipynb", ".course-widget-09-feature_maps",
                       budget_s=BUDGET_S, cap=CAP_S, failure_png="ch09-failure.png") as (page, box, laps, deadline,
                                                                                         shots):
        readout = box.locator(".course-readout")
        wait_for_change(lambda: _text(readout), "", deadline.left(10))
        assert _text(readout).startswith("test digit 0:"), f"unexpected readout: {_text(readout)!r}"
        assert not cut_labels(box), f"labels cut off in the feature maps: {cut_labels(box)}"
        after, _ = _change(page, box, lambda: nudge_slider(_slider(box, page, "test digit"), presses=3), deadline,
                           "feature maps, digit 0 -> 3", shots / "ch09-maps-digit.png")
        assert after.startswith("test digit 3:"), f"the viewer did not move to digit 3: {after!r}"

        arith = page.locator(".course-widget-09-conv_arithmetic").first
        arith.scroll_into_view_if_needed()
        a_read = arith.locator(".course-readout")
        wait_for_change(lambda: _text(a_read), "", deadline.left(10))
        sizes = re.compile(r"= (\d+) per axis")
        before = sizes.search(_text(a_read))
        assert before, f"no output size in the readout: {_text(a_read)!r}"
        assert not cut_labels(arith), f"labels cut off in the explorer: {cut_labels(arith)}"
        after, _ = _change(page, arith, lambda: nudge_slider(_slider(arith, page, "kernel k"), presses=1), deadline,
                           "conv arithmetic, kernel + 1", shots / "ch09-arith-kernel.png")
        moved = sizes.search(after)
        assert moved and int(moved.group(1)) == int(before.group(1)) - 1, \
            f"a kernel one larger (stride 1) must give an output one smaller: {before.group(0)!r} -> {after[:120]!r}"
        assert not cut_labels(arith), f"labels cut off in the explorer: {cut_labels(arith)}"
        print(f"seconds since start: {laps}")
