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
            assert ax.get_xlabel() or ax.get_ylabel() or ax.get_title(), \
                f"{name}: every visible axis is labelled or titled"


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


# -- an update that fails is shown, never swallowed -------------------------------------------------
class Fragile(Line):
    """Line, whose compute fails for a negative slope."""

    name = "99.fragile"

    @staticmethod
    def compute(slope=1.0):
        if slope < 0:
            raise ValueError(f"negative slope {slope}")
        return Line.compute(slope)

    def on_pointer(self, ax, x, y):
        return {"slope": y / x}


def test_a_failing_update_shows_its_error_in_the_readout_and_the_next_one_recovers():
    widget = Fragile()
    widget.widget()
    slider, image = widget._get_controls()["slope"], widget._image
    before = image.value
    slider.value = -1.0  # what the browser's slider does
    assert isinstance(widget.error, ValueError)
    shown = widget._readout_view.value
    assert "ValueError" in shown and "negative slope -1.0" in shown and "course-widget-error" in shown
    assert image.value == before, "the figure keeps the last settings that worked"
    slider.value = 2.0
    assert widget.error is None and widget._readout_view.value == "slope = 2.00"
    assert image.value != before


def test_a_failing_press_is_shown_too():
    widget = Fragile()
    widget.widget()
    x_disp, y_disp = widget.ax.transData.transform((0.5, -1.0))  # slope -2: compute raises
    widget.pointer(x_disp, widget.fig.canvas.get_width_height()[1] - y_disp)
    assert isinstance(widget.error, ValueError) and "negative slope" in widget._readout_view.value


def test_code_that_calls_update_still_gets_the_exception():
    with pytest.raises(ValueError, match="negative slope"):
        Fragile().update(slope=-1.0)


@pytest.mark.parametrize("name", sorted(all_widgets()))
def test_no_course_widget_swallows_an_exception(name, monkeypatch):
    widget = all_widgets()[name]()
    widget.widget()
    controls = widget._get_controls()
    key, control = next((k, c) for k, c in controls.items() if hasattr(c, "value") and not hasattr(c, "base"))
    good = widget.params[key]
    other = next(m[key] for m in widget.benchmark_moves(50, np.random.default_rng(3))
                 if key in m and m[key] != good)

    def broken(**params):
        raise RuntimeError("compute broke on purpose")

    monkeypatch.setattr(widget, "compute", broken)
    control.value = other
    assert "compute broke on purpose" in widget._readout_view.value, f"{name} swallowed the exception"
    monkeypatch.undo()
    control.value = good
    assert widget.error is None and "course-widget-error" not in widget._readout_view.value
    assert widget._readout_view.value == widget.readout


# -- controls: on the grid, one message, labels that fit -----------------------------------------------
def test_values_snap_to_the_slider_grid():
    import ipywidgets as w

    from course_lib.widgets.controls import snap_to_control

    assert snap_to_control(w.FloatSlider(min=-2, max=2, step=0.05), 0.3612) == 0.35
    assert snap_to_control(w.FloatSlider(min=-2, max=2, step=0.05), 7.0) == 2.0
    assert snap_to_control(w.FloatSlider(min=-4.5, max=4.5, step=0.02), 1.009) == 1.0
    assert snap_to_control(w.IntSlider(min=1, max=64), 30.4) == 30
    assert snap_to_control(w.FloatLogSlider(base=10, min=-8, max=2, step=0.25), 3e-3) == pytest.approx(10 ** -2.5)
    assert snap_to_control(w.Dropdown(options=["a", "b"]), "b") == "b"


def test_grid_steps_put_presets_on_the_grid():
    from course_lib.widgets.controls import grid_step

    assert grid_step(-2.0, 2.0) == 0.02
    assert grid_step(-2.0, 2.0, 0.01) == 0.01  # 0.01 is not on the 0.02 grid from -2
    assert grid_step(-4.5, 4.5, 1.0, 1.5) == 0.02  # (9 / 200 = 0.045 would miss both)
    step = grid_step(-5.0, 5.0, -1.0, 1.0)
    assert (10.0 / step) >= 200 and all(float((v + 5.0) / step).is_integer() for v in (-1.0, 1.0))


def test_same_setting_is_rounding_only():
    import ipywidgets as w

    from course_lib.widgets.controls import same_setting

    slider = w.FloatSlider(min=-2, max=2, step=0.01)
    assert same_setting(slider, 0.01, 0.009999999999999787)
    assert not same_setting(slider, 0.01, 0.02) and not same_setting(slider, 0.01, 0.0)
    log = w.FloatLogSlider(base=10, min=-5, max=0, step=0.05)
    assert same_setting(log, 1e-3, 0.0009999999999999998) and not same_setting(log, 1e-3, 10 ** -2.95)
    assert not same_setting(w.Dropdown(options=["a", "b"]), "a", "a")  # only numbers on a grid


def test_a_moved_slider_is_one_message_with_the_value_last_and_the_browser_keeps_it():
    """The issue's Beale -> saddle switch on one slider: sent piecewise, the browser's snapped
    reports of the intermediate states end at 0.00; in one message with the value first, the
    browser's slider snaps 0.01 to the old 0.02 grid (seen in JupyterLab, in one kernel out of
    three: the order came from a set's hash). In one message, value last, the value stays."""
    import ipywidgets as w

    from browser_support import SliderFrontEnd, settle
    from course_lib.widgets.controls import move_slider

    piecewise = w.FloatSlider(min=-4.5, max=4.5, step=0.045, value=1.5)
    front = SliderFrontEnd(piecewise)
    piecewise.min, piecewise.max, piecewise.step, piecewise.value = -2.0, 2.0, 0.02, 0.01  # the old steps
    settle([front])
    assert piecewise.value == 0.0  # the bug, reproduced by the model of the browser

    value_first = w.FloatSlider(min=-4.5, max=4.5, step=0.02, value=1.5)
    front = SliderFrontEnd(value_first)
    front.receive({"value": 0.01, "min": -2.0, "max": 2.0, "step": 0.01})
    assert front.echoes and round(front.echoes[0], 12) == 0.02

    for old_step in (0.02, 0.045):
        slider = w.FloatSlider(min=-4.5, max=4.5, step=old_step, value=1.5)
        front = SliderFrontEnd(slider)
        move_slider(slider, 0.01, -2.0, 2.0, 0.01)
        assert [list(m) for m in front.messages] == [["min", "max", "step", "value"]]
        settle([front])
        assert slider.value == pytest.approx(0.01, abs=1e-12)


def test_benchmark_moves_are_values_the_controls_can_take():
    from course_lib.widgets.controls import snap_to_control

    for name, cls in all_widgets().items():
        widget = cls()
        controls = widget._get_controls()
        for move in widget.benchmark_moves(20, np.random.default_rng(5)):
            (key, value), = move.items()
            assert snap_to_control(controls[key], value) == value, (name, key, value)


def _dejavu_width(text: str, size_px: int = 13) -> float:
    """Width of ``text`` in DejaVu Sans (Chromium's sans-serif on Debian), measured with PIL."""
    from pathlib import Path

    import matplotlib
    from PIL import ImageFont

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(font), size_px).getlength(text)


@pytest.mark.parametrize("name", sorted(all_widgets()))
def test_no_description_is_longer_than_its_label(name):
    import ipywidgets as w

    widget = all_widgets()[name]()
    for key, control in widget._get_controls().items():
        if not getattr(control, "description", "") or isinstance(control, w.Checkbox):
            continue
        width = control.style.description_width
        assert width.endswith("px"), f"{name}.{key}: label width {width!r} is not set"
        assert float(width[:-2]) >= _dejavu_width(control.description), \
            f"{name}.{key}: {control.description!r} needs {_dejavu_width(control.description):.0f} px, gets {width}"
        body = float(control.layout.width[:-2]) - float(width[:-2])
        slider = "Slider" in type(control).__name__
        assert body >= (200 if slider else 120), f"{name}.{key}: {body:.0f} px left for the slider or the menu"


def _press_point(ax):
    """A pixel inside ``ax`` whose data coordinates are off every slider's grid."""
    return ax.transAxes.transform((0.3713, 0.6127))


@pytest.mark.parametrize("name", sorted(n for n, c in all_widgets().items() if c.on_pointer is not None))
def test_a_press_renders_once_whatever_the_sliders_report_back(name):
    """Each slider the press moves answers as the browser's would; the press costs one render."""
    import ipywidgets as w

    from browser_support import SliderFrontEnd, settle

    widget = all_widgets()[name]()
    widget.widget()
    fronts = [SliderFrontEnd(c) for c in widget._get_controls().values()
              if isinstance(c, (w.FloatSlider, w.IntSlider, w.FloatLogSlider))]
    renders = []
    png = widget.png
    widget.png = lambda: renders.append(1) or png()
    pressed = 0
    for ax in widget.fig.axes:
        px, py = _press_point(ax)
        before = len(renders)
        changes = widget.pointer(px, widget.fig.canvas.get_width_height()[1] - py)
        if not changes:
            continue
        pressed += 1
        settle(fronts)
        assert len(renders) - before == 1, f"{name}: a press on {ax.get_title() or ax} rendered " \
                                           f"{len(renders) - before} times"
        assert widget.error is None
    assert pressed, f"{name} has on_pointer but no axes took a press"


def test_the_fast_png_encoder_writes_the_pixels_exactly():
    import io

    from PIL import Image

    from course_lib.widgets.base import encode_png

    rgba = np.random.default_rng(0).integers(0, 256, (37, 53, 4), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(encode_png(rgba))))
    assert decoded.shape == (37, 53, 3) and np.array_equal(decoded, rgba[:, :, :3])
    widget = all_widgets()["06.optimizer_race"]()
    png = widget.png()
    canvas = np.asarray(widget.fig.canvas.buffer_rgba())
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), canvas[:, :, :3])
