"""Chapter 04 widgets: pure computations checked against course_lib, views that only move their
artists, readouts that report computed numbers, and a slider move that stays cheap."""
import statistics
import time

import numpy as np
import pytest

from course_lib import activations as act
from course_lib import approximation as ap
from course_lib.widgets import ch04_neurons_activations_losses as W
from course_lib.widgets.base import all_widgets


def test_both_widgets_are_registered():
    widgets = all_widgets()
    assert widgets["04.activation_explorer"] is W.ActivationExplorer
    assert widgets["04.universal_approximation"] is W.UniversalApproximation


# -- activation explorer -------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_activation_data_is_computed_from_the_library(name):
    data = W.activation_explorer_data(name, 0.5, 2.0)
    f, df, _ = act.ACTIVATIONS[name]
    z = 0.5 + 2.0 * W.SAMPLES
    assert np.allclose(data["inputs"], z) and np.allclose(data["outputs"], f(z)) and np.allclose(data["grads"], df(z))
    assert data["saturated_fraction"] == act.saturated_fraction(df, z)
    assert data["mean_abs_grad"] == pytest.approx(np.mean(np.abs(df(z))))
    for key in ("in_hist", "out_hist", "grad_hist"):  # every sample is counted (clipped into the range)
        assert data[key].sum() == pytest.approx(1.0) and len(data[key]) == W.N_BINS
    lo, hi = data["f_range"]
    assert lo <= data["f"].min() and data["f"].max() <= hi


def test_activation_data_is_pure():
    a = W.activation_explorer_data("gelu", -1.0, 1.5)
    b = W.activation_explorer_data("gelu", -1.0, 1.5)
    assert all(np.array_equal(a[k], b[k]) for k in ("in_hist", "out_hist", "grad_hist", "outputs"))


def test_wider_inputs_saturate_tanh_and_negative_inputs_kill_relu():
    fractions = [W.activation_explorer_data("tanh", 0.0, s)["saturated_fraction"] for s in (0.3, 1.0, 2.0, 4.0)]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] > 0.5
    dead = W.activation_explorer_data("relu", -3.0, 1.0)
    assert dead["saturated_fraction"] > 0.99 and dead["mean_abs_grad"] < 0.01
    assert W.activation_explorer_data("leaky_relu", -3.0, 1.0)["saturated_fraction"] == 0.0


def test_explorer_moves_its_artists_and_reports_the_numbers():
    widget = W.ActivationExplorer()
    steps, line = widget.in_steps, widget.f_line
    children = [len(ax.get_children()) for ax in widget.fig.axes]
    widget.update(activation="sigmoid", mean=3.0, spread=0.5)
    assert widget.in_steps is steps and widget.f_line is line
    assert [len(ax.get_children()) for ax in widget.fig.axes] == children
    assert np.allclose(line.get_ydata(), act.sigmoid(W.GRID))
    data = widget.data
    assert f"{data['saturated_fraction']:.0%}" in widget.readout and f"{data['mean_abs_grad']:.3f}" in widget.readout
    # The shaded saturated regions are where |sigma'| < threshold: both tails.
    spans = [(p.get_x(), p.get_x() + p.get_width()) for p in widget.spans[:W.N_SPANS] if p.get_width() > 0]
    assert len(spans) == 2 and spans[0][0] == -W.X_LIM and spans[1][1] == W.X_LIM
    assert abs(act.sigmoid_grad(spans[1][0]) - act.SATURATION_THRESHOLD) < 0.01


def test_explorer_png_changes_with_the_controls():
    widget = W.ActivationExplorer()
    first = widget.png()
    widget.update(mean=2.0)
    second = widget.png()
    widget.update(activation="relu")
    assert first != second != widget.png()


# -- universal approximation ----------------------------------------------------------------------
@pytest.mark.parametrize("method", sorted(ap.METHODS))
def test_approximation_data_matches_the_library(method):
    data = W.universal_approximation_data("sine", 12, method)
    net = ap.METHODS[method](ap.TARGETS["sine"], *ap.DOMAIN, 12)
    assert np.allclose(data["fit"], net(W.X_FIT))
    assert data["contributions"].shape == (len(W.X_FIT), 12)
    assert np.allclose(data["contributions"].sum(axis=1) + net.b2, data["fit"])
    assert data["errors"] == ap.approximation_error(net, ap.TARGETS["sine"], *ap.DOMAIN)
    assert data["curve"].shape == (len(W.CURVE_UNITS), 2)


def test_error_curve_falls_with_n():
    curve = W.error_curve("bump", "ReLU: interpolate the knots")
    assert curve[-1, 0] < 0.05 * curve[0, 0] and np.all(curve[:, 1] <= curve[:, 0])


def test_only_n_unit_lines_are_visible():
    widget = W.UniversalApproximation()
    lines = widget.unit_lines
    for n in (1, 17, 64):
        widget.update(n_units=n)
        assert widget.unit_lines is lines and len(lines) == W.MAX_UNITS
        assert sum(line.get_visible() for line in lines) == n
        assert f"n<sub>h</sub> = <b>{n}</b>" in widget.readout
        assert f"on {W.ERROR_POINTS} points" in widget.readout
        assert f"{widget.data['errors'].max:.4f}" in widget.readout


def test_clicking_the_error_plot_picks_n():
    widget = W.UniversalApproximation()
    widget.widget()
    widget.png()
    x_disp, y_disp = widget.ax_err.transData.transform((20, 0.1))
    height = widget.fig.canvas.get_width_height()[1]
    changes = widget.pointer(x_disp, height - y_disp)
    assert changes == {"n_units": 20} and widget.params["n_units"] == 20
    assert widget._get_controls()["n_units"].value == 20
    x_disp, y_disp = widget.ax_fit.transData.transform((0.0, 0.0))
    assert widget.pointer(x_disp, height - y_disp) is None  # the fit panel does not react


def test_exact_fit_is_said_in_the_readout():
    widget = W.UniversalApproximation(target="abs", n_units=2)
    assert "exact" in widget.readout


# -- both -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [W.ActivationExplorer, W.UniversalApproximation])
def test_static_fallback_and_cheap_updates(cls):
    widget = cls()
    assert widget._repr_mimebundle_()["image/png"]
    rng = np.random.default_rng(0)
    times = []
    for move in widget.benchmark_moves(30, rng):
        start = time.perf_counter()
        widget.update(**move)
        widget.png()  # what the front end receives on every move
        times.append((time.perf_counter() - start) * 1e3)
    # The budget is 50 ms median (benchmarks/widget_latency.py); this bound only catches a view that
    # re-renders everything on every move, even on a busy test machine.
    assert statistics.median(times) < 150
