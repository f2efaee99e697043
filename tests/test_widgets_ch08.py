"""Chapter 08 widgets: the slice viewer's planes are slices of the trained network (filter-normalized
ones unchanged by the rescaling, raw ones changed, the PCA plane holding the trajectory), the edge of
stability race reads its precomputed runs; the views move artists, switch panels and change readout
and image."""
from __future__ import annotations

import io

import numpy as np
import pytest

from course_lib import landscape_experiment as E
from course_lib import landscapes as L
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch08_loss_landscapes import (
    EOS_LRS,
    GRID,
    NOISE_SEEDS,
    EdgeOfStability,
    LandscapeViewer,
    eos_race,
    landscape_view,
)


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_the_two_widgets_are_registered():
    widgets = all_widgets()
    assert widgets["08.landscape_viewer"] is LandscapeViewer and widgets["08.edge_of_stability"] is EdgeOfStability


# -- the slice viewer ----------------------------------------------------------------------------------------
def test_the_plane_is_a_filter_normalized_slice_of_the_trained_network():
    d = landscape_view("2-D", "filter-normalized", False)
    net = E.landscape_net()
    w, objective = net["weights"], net["objective"]
    d1, d2 = (L.filter_normalize(L.random_directions(w, s, normalize=False), w) for s in NOISE_SEEDS)
    for i, j in [(0, 0), (3, 11), (len(GRID) // 2, len(GRID) // 2)]:
        assert np.isclose(d["grid"][i, j], objective(L.perturb(w, [d1, d2], [GRID[j], GRID[i]])), rtol=1e-12)
    mid = len(GRID) // 2
    assert np.isclose(d["loss"], d["grid"][mid, mid]) and d["grid"].min() >= d["loss"] * 0.5
    assert np.array_equal(d["line1"], d["grid"][mid]) and np.array_equal(d["line2"], d["grid"][:, mid])


def test_rescaling_changes_raw_planes_only_and_the_pca_plane_holds_the_trajectory():
    same = [landscape_view("2-D", "filter-normalized", r)["grid"] for r in (False, True)]
    assert np.allclose(same[0], same[1], rtol=1e-10)
    raw = [landscape_view("2-D", "raw", r) for r in (False, True)]
    assert np.max(np.abs(raw[0]["grid"] - raw[1]["grid"])) > 0.5
    assert abs(raw[0]["curvature"] - raw[1]["curvature"]) > 0.5 * raw[0]["curvature"]
    pca = landscape_view("2-D", "PCA", False)
    assert pca["captured"] > 0.9 and landscape_view("2-D", "filter-normalized", False)["captured"] < 0.05
    assert np.abs(pca["coords"]).max() <= 1.0  # the trajectory fits in the plane shown
    assert np.allclose(pca["coords"][-1], 0, atol=1e-8)  # it ends at the trained point


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="view"):
        landscape_view("3-D")
    with pytest.raises(ValueError, match="directions"):
        landscape_view("2-D", "eigen")


def test_viewer_moves_artists_and_switches_panels():
    w = LandscapeViewer()
    w.widget()
    readout, png = w.readout, w.png()
    w._get_controls()["rescaled"].value = True
    # filter-normalized: the same losses and curvature for the rescaled network (only the direction's norm grows)
    same = lambda text: text.split("</b>")[1].split("(‖d₁‖")[0]  # noqa: E731  (after the setting's name)
    assert same(w.readout) == same(readout) and w.readout != readout and "rescaled network" in w.readout
    w._get_controls()["directions"].value = "raw"
    assert w.readout != readout and w.png() != png
    w._get_controls()["view"].value = "1-D"
    assert w.ax1.get_visible() and not w.ax2.get_visible() and not w.image.get_visible()
    assert np.array_equal(pixels(w.png()), pixels(LandscapeViewer(view="1-D", directions="raw", rescaled=True).png()))


# -- the edge of stability ------------------------------------------------------------------------------
def test_eos_race_snaps_to_the_grid_and_reads_the_runs():
    d = eos_race(0.64)
    assert d["lr"] == 0.6 and np.isclose(d["threshold"], 2 / 0.6)
    run = E.eos_run(0.6)
    assert np.array_equal(d["sharpness"], run.sharpness) and np.array_equal(d["loss"], run.loss)
    assert set(d["others"]) == set(EOS_LRS) - {0.6} and eos_race(0.6, others=False)["others"] == {}
    ratio = run.sharpness / run.threshold
    assert d["reached"] == int(run.steps[np.argmax(ratio >= 0.9)])
    for lr in EOS_LRS[1:]:  # every run but the slowest reaches 2/lr and stays near it
        late = eos_race(lr)["late_ratio"]
        assert 0.9 < late < 1.1, (lr, late)


def test_eos_view_updates():
    w = EdgeOfStability()
    w.widget()
    readout, png = w.readout, w.png()
    w._get_controls()["lr"].value = 0.8
    assert w.readout != readout and w.png() != png and "η = 0.80" in w.readout
    assert np.isclose(w.limit.get_ydata()[0], 2.5)
    w._get_controls()["others"].value = False
    assert not any(line.get_visible() for line in w.faint.values())
    assert np.array_equal(pixels(w.png()), pixels(EdgeOfStability(lr=0.8, others=False).png()))


def test_an_error_in_a_front_end_update_is_shown_in_the_readout():
    w = LandscapeViewer()
    w.widget()
    with pytest.raises(ValueError, match="view must be one of"):  # from code: raised like any function
        w.update(view="3-D")
    w._apply({"view": "3-D"})  # from the front end: shown where the learner looks
    assert "ValueError" in w.readout and "view must be one of" in w._readout_view.value
