"""The widget pattern: compute is pure, update moves artists and re-renders, the display
carries a static PNG fallback, and every course widget follows the contract."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib.widgets.base import WIDGETS, FigureWidget, all_widgets, register_widget


class Line(FigureWidget):
    """y = slope * x, one slider."""

    name = "99.line"

    @staticmethod
    def compute(slope=1.0):
        x = np.linspace(-1, 1, 5)
        return x, slope * x

    @classmethod
    def defaults(cls):
        return {"slope": 1.0}

    def build(self, fig):
        self.ax = fig.add_subplot()
        (self.line,) = self.ax.plot([], [])
        self.ax.set(xlim=(-1, 1), ylim=(-3, 3), xlabel="x", ylabel="y")

    def draw(self, data):
        self.line.set_data(*data)
        self.readout = f"slope = {self.params['slope']:.2f}"

    def controls(self):
        import ipywidgets as w

        return {"slope": w.FloatSlider(value=1.0, min=-3, max=3, step=0.1, description="slope")}


def test_update_moves_the_same_artist_and_rerenders():
    widget = Line()
    line, png = widget.line, widget.png()
    widget.update(slope=-2.0)
    assert widget.line is line and len(widget.ax.lines) == 1
    assert np.allclose(line.get_ydata(), -2.0 * np.linspace(-1, 1, 5))
    assert widget.png() != png and widget.readout == "slope = -2.00"


def test_slider_drives_the_view():
    widget = Line()
    box = widget.widget()
    before = widget._image.value
    widget._get_controls()["slope"].value = 2.5
    assert widget.params["slope"] == 2.5
    assert widget._image.value != before
    assert widget._readout_view.value == "slope = 2.50"
    assert "course-widget-99-line" in box._dom_classes


def test_display_has_live_view_and_static_fallback():
    bundle = Line()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/png"] and "text/plain" in bundle


def test_update_renders_only_once_a_live_view_exists():
    widget = Line()
    assert widget._image is None
    widget.widget()
    before = widget._image.value
    widget.update(slope=0.5)
    assert widget._image.value != before


def test_benchmark_moves_stay_in_range():
    moves = Line().benchmark_moves(50, np.random.default_rng(0))
    assert len(moves) == 50 and all(-3 <= m["slope"] <= 3 for m in moves)


def test_register_requires_a_name():
    class Nameless(Line):
        name = ""

    with pytest.raises(ValueError):
        register_widget(Nameless)
    register_widget(Line)
    assert WIDGETS.pop("99.line") is Line


@pytest.mark.parametrize("name", sorted(all_widgets()))
def test_every_course_widget_follows_the_contract(name):
    cls = all_widgets()[name]
    widget = cls()
    assert widget.readout or widget.readout == ""
    controls = widget._get_controls()
    assert controls, f"{name} has no controls"
    assert set(controls) <= set(widget.params), f"{name}: every control drives a compute parameter"
    artists_before = [len(ax.get_children()) for ax in widget.fig.axes]
    for move in widget.benchmark_moves(5, np.random.default_rng(1)):
        widget.update(**move)
    assert [len(ax.get_children()) for ax in widget.fig.axes] == artists_before, \
        f"{name}: draw() must move existing artists, not add new ones"
    for ax in widget.fig.axes:
        if ax.get_visible() and ax.axison:
            assert ax.get_xlabel() or ax.get_title(), f"{name}: every visible axis is labelled or titled"


class DraggablePoint(Line):
    """The slope follows a point the learner drags."""

    name = "99.drag"

    def on_pointer(self, ax, x, y):
        return {"slope": y / x} if abs(x) > 0.05 else None


def test_dragging_on_the_figure_sets_parameters_and_controls():
    widget = DraggablePoint()
    widget.widget()
    # Pixel of data point (0.5, 1.0), as a browser would report it (origin top left).
    x_disp, y_disp = widget.ax.transData.transform((0.5, 1.0))
    height = widget.fig.canvas.get_width_height()[1]
    changes = widget.pointer(x_disp, height - y_disp)
    assert changes and abs(changes["slope"] - 2.0) < 0.05
    assert abs(widget._get_controls()["slope"].value - widget.params["slope"]) < 0.051
    assert widget.pointer(x_disp, height - y_disp, buttons=0) is None  # a move without a button is ignored
    assert widget.pointer(-10, -10) is None  # outside every axes


def test_widgets_without_pointer_do_not_listen():
    widget = Line()
    widget.widget()
    assert widget.pointer(10, 10) is None and not hasattr(widget, "_events")


def test_log_sliders_are_sampled_and_clamped_in_value_space():
    import ipywidgets as w

    from course_lib.widgets.base import _random_value, _value_range

    slider = w.FloatLogSlider(value=1e-3, base=10, min=-8, max=-1)
    assert _value_range(slider) == (1e-8, 0.1)
    values = [_random_value(slider, np.random.default_rng(i)) for i in range(20)]
    assert all(1e-8 <= v <= 0.1 for v in values)
