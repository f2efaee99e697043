"""Chapter 02 widgets: their compute functions agree with course_lib.calculus and course_lib.surfaces,
dragging moves the point (and only moves artists), and every update changes the readout and the PNG."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib import calculus as calc
from course_lib.surfaces import get_surface
from course_lib.widgets.ch02_calculus import (
    STEPS,
    TAYLOR_STEP,
    FiniteDifferenceError,
    GradientField,
    fd_error_curves,
    gradient_field,
)


def _pixel(widget, ax, x, y):
    """The image pixel (origin top left, as a browser reports it) of data point (x, y) on ``ax``."""
    widget.png()  # lay the figure out
    px, py = ax.transData.transform((x, y))
    return px, widget.fig.canvas.get_width_height()[1] - py


# -- GradientField: compute -------------------------------------------------------------------------
@pytest.mark.parametrize("name", GradientField.SURFACE_CHOICES)
def test_gradient_field_matches_the_surface(name):
    s = get_surface(name)
    (xa, xb), (ya, yb) = s.domain
    p = np.array([xa + 0.37 * (xb - xa), ya + 0.61 * (yb - ya)])
    d = gradient_field(name, *p)
    assert np.allclose(d["p"], p) and np.isclose(d["f0"], s.f_at(p))
    assert np.allclose(d["grad"], s.grad_at(p)) and np.isclose(d["grad_norm"], np.linalg.norm(s.grad_at(p)))
    assert np.isclose(np.linalg.norm(d["u"]), 1) and np.allclose(d["u"] * d["grad_norm"], d["grad"])
    assert abs(d["tangent"] @ d["grad"]) < 1e-9 * max(1.0, d["grad_norm"])  # tangent to the level set
    # the slice, its tangent line and its second-order Taylor polynomial
    t, u = d["t"], d["u"]
    assert np.allclose(d["slice_f"], s.f(p[0] + t * u[0], p[1] + t * u[1]))
    assert np.allclose(d["slice_lin"], calc.taylor1(d["f0"], d["grad_norm"], t))
    H = s.hessian_at(p)
    assert np.allclose(d["slice_quad"], calc.taylor2(d["f0"], d["grad_norm"], u @ H @ u, t))
    step = TAYLOR_STEP * u
    assert np.isclose(d["taylor1_error"], abs(s.f_at(p + step) - d["f0"] - d["grad"] @ step))
    lo, hi = d["slice_ylim"]
    assert lo < d["slice_f"].min() and hi > d["slice_f"].max()


def test_the_linearization_error_is_predicted_exactly_for_a_quadratic():
    d = gradient_field("bowl", 0.7, -0.4)  # f = x^2 + y^2: the error is exactly delta^2
    assert np.isclose(d["taylor1_error"], TAYLOR_STEP ** 2) and np.isclose(d["taylor1_predicted"], TAYLOR_STEP ** 2)
    assert np.allclose(d["slice_quad"], d["slice_f"])  # second-order Taylor is exact for quadratics


def test_points_outside_the_domain_are_clipped_and_a_zero_gradient_is_handled():
    d = gradient_field("rosenbrock", 10.0, -10.0)
    assert np.allclose(d["p"], [2.0, -1.0])
    d = gradient_field("bowl", 0.0, 0.0)  # the minimum: no gradient direction
    assert d["grad_norm"] == 0 and np.all(np.isfinite(d["u"])) and np.all(np.isfinite(d["slice_f"]))


# -- GradientField: view ----------------------------------------------------------------------------
def test_dragging_moves_the_point_the_sliders_and_only_artists():
    w = GradientField()
    w.widget()
    contour, readout, png = w.contour, w.readout, w.png()
    children = [len(ax.get_children()) for ax in w.fig.axes]
    changes = w.pointer(*_pixel(w, w.ax, 2.5, -3.0))
    assert changes and abs(changes["x0"] - 2.5) < 0.05 and abs(changes["y0"] + 3.0) < 0.05
    assert np.allclose(w.point.get_xydata(), [[changes["x0"], changes["y0"]]])
    controls = w._get_controls()
    assert abs(controls["x0"].value - changes["x0"]) < 0.06 and abs(controls["y0"].value - changes["y0"]) < 0.06
    assert w.contour is contour, "a drag must not redraw the contours"
    assert [len(ax.get_children()) for ax in w.fig.axes] == children
    assert w.readout != readout and w.png() != png
    assert w.pointer(*_pixel(w, w.ax_slice, 0.0, w.data["f0"])) is None  # the slice is not a drag target


def test_slider_and_surface_changes_update_the_view():
    w = GradientField()
    w.widget()
    png = w.png()
    w._get_controls()["x0"].value = 3.0
    assert w.params["x0"] == 3.0 and np.isclose(w.point.get_xdata()[0], 3.0) and w.png() != png
    contour = w.contour
    w._get_controls()["surface"].value = "rosenbrock"
    assert w.contour is not contour and w.ax.get_xlim() == (-2.0, 2.0)
    x0 = w._get_controls()["x0"]
    assert (x0.min, x0.max) == (-2.0, 2.0) and x0.value == 2.0 == w.params["x0"]  # clipped into the new domain
    assert "Rosenbrock" in w.ax.get_title()
    assert f"{w.data['grad_norm']:.4g}" in w.readout


# -- FiniteDifferenceError ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(calc.FUNCTIONS_1D))
def test_fd_error_curves_match_calculus(name):
    fn = calc.FUNCTIONS_1D[name]
    x0, log10_h = 0.8, -4.0
    d = fd_error_curves(name, x0, log10_h)
    for method in ["forward", "central"]:
        m = d[method]
        err = calc.fd_errors(fn.f, fn.df, x0, STEPS, method)
        assert np.allclose(m["error"], np.maximum(err, 1e-18))
        assert np.isclose(m["at_h"], calc.fd_errors(fn.f, fn.df, x0, np.array([1e-4]), method)[0])
        assert np.isclose(m["h_opt"], calc.optimal_step(method, f_scale=abs(fn.f(x0)), d2=abs(fn.d2f(x0)),
                                                        d3=abs(fn.d3f(x0))))
        assert np.isclose(m["h_best"], STEPS[np.argmin(err)])
    assert d["h"] == 1e-4 and np.isclose(d["exact"], fn.df(x0))


def test_fd_error_curves_show_the_v():
    d = fd_error_curves("exp", 1.0, -5.0)
    for method, bottom in [("forward", 1e-7), ("central", 1e-9)]:
        e = d[method]["error"]
        assert e.min() < bottom < e[0] and bottom < e[-1], method  # high at both ends, low in between
        assert 1e-2 < d[method]["h_best"] / d[method]["h_opt"] < 1e2
    assert d["central"]["error"].min() < d["forward"]["error"].min() / 100


def test_fd_widget_updates_readout_png_and_follows_a_click():
    w = FiniteDifferenceError()
    w.widget()
    readout, png = w.readout, w.png()
    w.update(log10_h=-9.0)
    assert w.readout != readout and w.png() != png
    assert "1.00e-09" in w.readout
    marker = w.lines["central"]["marker"]
    assert np.isclose(marker.get_xdata()[0], 1e-9)
    changes = w.pointer(*_pixel(w, w.ax, 1e-3, 1e-5))
    assert changes and abs(changes["log10_h"] + 3.0) < 0.1
    assert abs(w._get_controls()["log10_h"].value - changes["log10_h"]) < 0.06
    w.update(function="sin", x0=0.5)
    assert "sin" in w.title.get_text()


def test_fd_error_curves_where_the_model_has_no_minimum():
    d = fd_error_curves("sin", 0.0, -8.0)  # f(0) = 0 and f''(0) = 0: no round-off term, no forward truncation
    assert np.isnan(d["forward"]["h_opt"]) and np.isnan(d["central"]["h_opt"])
    w = FiniteDifferenceError(function="sin", x0=0.0)
    assert "none" in w.readout and not w.lines["central"]["h_opt"].get_visible()
    w.update(function="exp", x0=1.0)
    assert w.lines["central"]["h_opt"].get_visible() and "none" not in w.readout
