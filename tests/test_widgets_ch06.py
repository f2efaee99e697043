"""Chapter 06 widgets: the race runs the library's update rules with the controls' hyper-parameters
(and its cache never serves a stale path), the rate map agrees with the theory of course_lib.optim,
dragging moves the start point / the chosen point, and every update changes the readout and the PNG."""
from __future__ import annotations

import io

import numpy as np
import pytest

from course_lib.optim import functional as F
from course_lib.optim import quadratic as Q
from course_lib.optim.trajectory import run
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch06_optimization import (
    PRESETS,
    RACE_SURFACES,
    RACERS,
    MomentumRateMap,
    OptimizerRace,
    PathCache,
    _entrants,
    momentum_rates,
    optimizer_race,
)

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _pixel(widget, ax, x, y):
    """The image pixel (origin top left, as a browser reports it) of data point (x, y) on ``ax``."""
    widget.png()
    px, py = ax.transData.transform((x, y))
    return px, widget.fig.canvas.get_width_height()[1] - py


def test_both_widgets_are_registered():
    widgets = all_widgets()
    assert widgets["06.optimizer_race"] is OptimizerRace and widgets["06.momentum_rates"] is MomentumRateMap


# -- OptimizerRace: compute ----------------------------------------------------------------------------
RULES = {  # what each racer must be, in PyTorch's terms, for the settings below
    "gd": (F.sgd_update, lambda p: dict(lr=p["lr"])),
    "momentum": (F.sgd_update, lambda p: dict(lr=p["lr"], momentum=p["momentum"])),
    "nesterov": (F.sgd_update, lambda p: dict(lr=p["lr"], momentum=p["momentum"], nesterov=True)),
    "adagrad": (F.adagrad_update, lambda p: dict(lr=p["lr_adaptive"])),
    "rmsprop": (F.rmsprop_update, lambda p: dict(lr=p["lr_adaptive"], alpha=p["beta2"])),
    "adam": (F.adam_update, lambda p: dict(lr=p["lr_adaptive"], betas=(p["beta1"], p["beta2"]))),
}


@pytest.mark.parametrize("surface", sorted(RACE_SURFACES))
def test_each_racer_is_its_update_rule(surface):
    p = dict(surface=surface, **PRESETS[surface], momentum=0.8, beta1=0.85, beta2=0.995, steps=60)
    data = optimizer_race(**p)
    s = RACE_SURFACES[surface]
    assert set(data["racers"]) == {k for k, *_ in RACERS} == set(RULES)
    for key, (rule, hyper) in RULES.items():
        r = data["racers"][key]
        alone = run(rule, s.grad_at, (p["x0"], p["y0"]), 60, box=data["field"]["box"], **hyper(p))
        assert np.allclose(r["points"], alone.points), key
        assert np.allclose(r["loss"], s.f(alone.points[:, 0], alone.points[:, 1]))
        assert r["stopped_at"] == alone.stopped_at
        if key in ("adagrad", "rmsprop", "adam"):
            h = hyper(p)
            expected = [F.adaptive_scale(st, lr=h["lr"], eps=1e-10 if key == "adagrad" else 1e-8,
                                         betas=h.get("betas")) for st in alone.states]
            assert np.allclose(r["scale"], np.reshape(expected, (-1, 2)))
        else:
            assert r["scale"] is None


def test_the_cache_never_serves_a_stale_path():
    base = dict(surface="beale", **PRESETS["beale"], momentum=0.9, beta1=0.9, beta2=0.99, steps=80)
    first = optimizer_race(**base)["racers"]
    faster = optimizer_race(**{**base, "lr": 2 * base["lr"]})["racers"]
    for key in ("gd", "momentum", "nesterov"):
        assert not np.allclose(first[key]["points"][-1], faster[key]["points"][-1]), key
    for key in ("adagrad", "rmsprop", "adam"):  # other learning rate: the same (cached) paths
        assert faster[key] is first[key]
    again = optimizer_race(**base)["racers"]
    assert all(np.array_equal(again[k]["points"], first[k]["points"]) for k in first)
    moved = optimizer_race(**{**base, "x0": 0.5})["racers"]
    assert all(moved[k]["points"][0, 0] == 0.5 for k in moved)


def test_a_partly_cached_race_after_a_full_cache_answers():
    """Issue 8's freeze: with the cache full and only some racers cached, eviction dropped this
    call's own entries and the race raised KeyError (silently, in the browser)."""
    first = optimizer_race("rosenbrock")
    for i in range(15):
        optimizer_race("rosenbrock", x0=-1.5 + 0.01 * (i + 1))
    data = optimizer_race("rosenbrock", lr_adaptive=0.2)
    fresh = optimizer_race("rosenbrock", lr_adaptive=0.2, steps=249)  # not cached: computed now
    for key in ("gd", "momentum", "nesterov"):  # same lr: the cached paths of the first race
        assert np.array_equal(data["racers"][key]["points"], first["racers"][key]["points"])
    for key in ("adagrad", "rmsprop", "adam"):
        assert np.array_equal(data["racers"][key]["points"][:250], fresh["racers"][key]["points"])


def test_a_cache_smaller_than_one_race_still_answers_every_racer():
    cache = PathCache(capacity=2)
    entrants = _entrants(1e-3, 0.1, 0.9, 0.9, 0.99)
    for x0 in (-1.5, -1.0, -1.5):
        paths = cache.paths("rosenbrock", x0, 2.0, 30, entrants)
        assert set(paths) == set(entrants) and all(p["points"][0, 0] == x0 for p in paths.values())
        assert len(cache) <= 2
    partly = cache.paths("rosenbrock", -1.5, 2.0, 30, _entrants(1e-3, 0.2, 0.9, 0.9, 0.99))
    assert set(partly) == set(entrants)


@pytest.mark.parametrize("surface", sorted(RACE_SURFACES))
def test_every_preset_gives_a_race(surface):
    """At each surface's preset every racer moves and stays in the picture for a while."""
    data = optimizer_race(surface=surface, **PRESETS[surface])
    for key, r in data["racers"].items():
        assert len(r["points"]) > 10 and np.linalg.norm(r["points"][-1] - r["points"][0]) > 0.05, key
    if data["log_loss"]:
        assert min(r["loss"][-1] for r in data["racers"].values()) < data["racers"]["gd"]["loss"][0]


# -- OptimizerRace: view --------------------------------------------------------------------------------
def test_race_readout_lists_each_optimizers_final_loss():
    w = OptimizerRace()
    for key, label, *_ in RACERS:
        r = w.data["racers"][key]
        assert label in w.readout and f"{float(r['loss'][-1]):.4g}" in w.readout


def test_learning_rate_moves_change_readout_and_image():
    w = OptimizerRace()
    w.widget()
    readout, png = w.readout, w.png()
    w._get_controls()["lr"].value = 2e-3  # what the browser's slider does
    assert w.params["lr"] == 2e-3 and w.readout != readout and w._readout_view.value == w.readout
    assert w.png() != png
    assert np.array_equal(pixels(w.png()), pixels(OptimizerRace(lr=2e-3).png()))  # nothing stale is left


def test_dragging_moves_the_start_point_and_the_sliders():
    w = OptimizerRace()
    w.widget()
    contour = w.contour
    children = [len(ax.get_children()) for ax in w.fig.axes]
    changes = w.pointer(*_pixel(w, w.ax, -1.0, 0.5))
    assert changes and abs(changes["x0"] + 1.0) < 0.02 and abs(changes["y0"] - 0.5) < 0.02
    assert np.allclose(w.start.get_xydata(), [[changes["x0"], changes["y0"]]])
    controls = w._get_controls()
    assert abs(controls["x0"].value - changes["x0"]) < 0.03 and abs(controls["y0"].value - changes["y0"]) < 0.03
    assert all(np.allclose(r["points"][0], [changes["x0"], changes["y0"]]) for r in w.data["racers"].values())
    assert w.contour is contour and [len(ax.get_children()) for ax in w.fig.axes] == children
    assert w.pointer(*_pixel(w, w.ax_loss, 10, 1.0)) is None  # only the contour plot is a drag target


def test_a_new_surface_brings_its_preset_and_domain():
    w = OptimizerRace()
    w.widget()
    controls = w._get_controls()
    controls["surface"].value = "net_slice"
    for key, value in PRESETS["net_slice"].items():
        assert w.params[key] == pytest.approx(value) and controls[key].value == pytest.approx(value, rel=1e-6)
    assert (controls["x0"].min, controls["x0"].max) == RACE_SURFACES["net_slice"].domain[0]
    assert "network" in w.ax.get_title() and w.ax_loss.get_yscale() == "log"
    controls["surface"].value = "saddle"  # no minimum: the loss axis shows f itself
    assert w.ax_loss.get_yscale() == "linear" and "n/a" in w.readout
    assert w.update(surface="beale", lr=1e-4)["racers"]["gd"]["points"].shape[0] == w.params["steps"] + 1
    assert w.params["lr"] == 1e-4  # an explicit value wins over the preset


# -- MomentumRateMap ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kappa", [1.0, 10.0, 100.0, 1000.0])
def test_rate_maps_agree_with_theory(kappa):
    d = momentum_rates(kappa, 1.0, 0.5)
    LR, B = np.meshgrid(d["lrs"], d["betas"])
    lam = [1 / kappa, 1.0]
    assert np.allclose(d["theory"], Q.heavy_ball_rate(LR, B, lam))
    clear = d["theory"] < 0.95  # away from slow or critically damped corners, a 160-step run measures it well
    assert np.median(np.abs(d["measured"] - d["theory"])[clear]) < 0.01
    assert np.all(d["measured"][d["theory"] > 1.02] > 1) and np.all(d["measured"][d["theory"] < 0.98] < 1)
    lr, beta, rate = Q.optimal_heavy_ball(1.0, 1 / kappa)
    assert d["best"] == pytest.approx((lr, beta, rate))
    assert d["gd"] == pytest.approx((Q.optimal_gd_lr(1.0, 1 / kappa), Q.optimal_gd_rate(kappa)))


def test_rate_at_the_chosen_point():
    d = momentum_rates(50.0, 2.0, 0.7)
    assert d["rate_theory"] == pytest.approx(float(Q.heavy_ball_rate(2.0, 0.7, [1 / 50, 1.0])))
    assert d["rate_measured"] == pytest.approx(d["rate_theory"], abs=0.01)
    errors = Q.heavy_ball_errors([1 / 50, 1.0], 2.0, 0.7, 300)
    assert np.allclose(d["errors"], errors / errors[0])
    assert d["errors"][0] == 1.0 and d["best_errors"][-1] < d["gd_errors"][-1]


def test_rate_map_view_follows_a_drag_and_kappa():
    w = MomentumRateMap()
    w.widget()
    readout, png = w.readout, w.png()
    assert f"{w.data['rate_theory']:.4f}" in readout and f"{w.data['best'][2]:.4f}" in readout
    changes = w.pointer(*_pixel(w, w.ax_theory, 3.0, 0.6))
    assert changes and abs(changes["lr"] - 3.0) < 0.05 and abs(changes["momentum"] - 0.6) < 0.02
    assert abs(w._get_controls()["lr"].value - changes["lr"]) < 0.02
    assert w.readout != readout and w.png() != png
    image = w.images[0].get_array().copy()
    w._get_controls()["kappa"].value = 1000.0
    assert not np.array_equal(w.images[0].get_array(), image) and "κ = 1000" in w.readout
    assert w.pointer(*_pixel(w, w.ax_curve, 100, 1e-3)) is None
    assert np.array_equal(pixels(w.png()), pixels(MomentumRateMap(kappa=1000.0, **changes).png()))
    assert WIDGET_MIME in w._repr_mimebundle_()


# -- the race in a browser: presets survive the sliders' reports -------------------------------------
@pytest.mark.parametrize("surface", sorted(RACE_SURFACES))
def test_each_preset_is_a_value_its_controls_hold(surface):
    w = OptimizerRace(surface=surface, **PRESETS[surface])
    controls = w._get_controls()
    for key in ("x0", "y0"):
        c = controls[key]
        k = (PRESETS[surface][key] - c.min) / c.step
        assert abs(k - round(k)) < 1e-9, f"{surface}: {key} = {PRESETS[surface][key]} is off the {c.step} grid"
        assert (c.max - c.min) / c.step >= 200  # still a fine slider
    for key in ("lr", "lr_adaptive"):
        assert PRESETS[surface][key] in [value for _, value in controls[key].options]


def test_switching_surfaces_keeps_each_preset_start_in_a_browser():
    """Beale -> saddle started at (0.98, 0.00) in JupyterLab: the start sliders reported the old
    value snapped to intermediate states. With the browser's slider modelled, every surface's
    race starts at its preset, after one render."""
    import ipywidgets as ipw

    from browser_support import SliderFrontEnd, settle

    w = OptimizerRace()
    w.widget()
    controls = w._get_controls()
    fronts = [SliderFrontEnd(c) for c in controls.values() if isinstance(c, (ipw.FloatSlider, ipw.IntSlider))]
    renders = []
    png = w.png
    w.png = lambda: renders.append(1) or png()
    for surface in ("beale", "saddle", "ill_conditioned", "net_slice", "beale", "rosenbrock", "saddle"):
        before = len(renders)
        controls["surface"].value = surface  # the learner picks it in the dropdown
        settle(fronts)
        preset = PRESETS[surface]
        assert (w.params["x0"], w.params["y0"]) == pytest.approx((preset["x0"], preset["y0"]), abs=1e-12), surface
        assert np.allclose(w.data["start"], [preset["x0"], preset["y0"]])
        assert w.params["lr"] == preset["lr"] and w.params["lr_adaptive"] == preset["lr_adaptive"]
        assert len(renders) - before == 1, f"{surface}: {len(renders) - before} renders"
        assert f"start ({preset['x0']:.2f}, {preset['y0']:.2f})" in w.readout


def test_race_readout_is_a_spaced_table_with_the_start():
    w = OptimizerRace()
    assert w.readout.count("<th") == 5 and "padding" in w.readout and "start (-1.50, 2.00)" in w.readout
