"""The widget pattern: a pure compute function plus a thin view that moves artists.

A course widget is a subclass of :class:`FigureWidget`:

- ``compute(**params) -> data`` is a pure function of the control values (a
  ``staticmethod``, or a module-level function it calls). Tests and benchmarks call it.
- ``build(fig)`` creates the axes and artists once, at the default settings.
- ``draw(data)`` only moves existing artists (``set_data``, ``set_offsets``, ``set_text``)
  and sets label text; it never clears an axis or re-plots.
- ``controls()`` returns the ipywidgets controls, one concept each, keyed by the name of
  the ``compute`` parameter they drive. Their descriptions get the room they need
  (:func:`fit_descriptions`), so a widget never sets label widths itself.
- ``draw`` may set ``self.readout`` (HTML): the numbers a learner reads under the figure,
  such as a determinant. It is shown in a ``course-readout`` HTML widget.
- optionally ``on_pointer(ax, x, y) -> dict | None``: a press or drag on the figure at data
  coordinates ``(x, y)`` of axes ``ax``; the returned parameter changes are snapped to the
  matching controls' steps (:func:`snap_to_control`), applied, and the controls follow.
  This is how a learner drags a point (ipyevents on the image).

The figure is a plain :class:`matplotlib.figure.Figure` rendered with Agg, so nothing
depends on pyplot state or on the notebook's matplotlib backend. In JupyterLab the view
is an ``ipywidgets.Image`` updated on every control change; where no widget front end is
live (CI, nbviewer, a static HTML export), the same display carries a PNG of the figure
at its default settings, which static renderers show instead.

:class:`BlittedWidget` renders the static parts (axes, ticks, labels) once and afterwards
only the artists ``draw`` moves: most widgets use it to stay well inside the budget.

``update(**changes)`` is the whole kernel-side cost of a slider move (compute, draw,
render); ``benchmarks/widget_latency.py`` times it for every registered widget. Called
from code it raises like any function; called by the front end (a control moved, the
figure pressed) an exception is shown in the readout instead of vanishing into the
kernel's log, and the next update that works replaces it.
"""
from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
import logging
import struct
import zlib
from typing import Any, ClassVar

import numpy as np

from course_lib.widgets.controls import (  # noqa: F401  (re-exported: widgets import them from base)
    _random_value,
    _value_range,
    fit_descriptions,
    grid_step,
    move_slider,
    same_setting,
    snap_to_control,
)

# Okabe-Ito: a palette that stays distinguishable with any colour vision. Its "reddish purple"
# (kept here as "purple") reads as pink on screen: say "pink" when the text names it.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}
# Legend text in points: at the widgets' 80 dpi about 10 px, as large as the tick labels
# (smaller legends were unreadable in the browser).
LEGEND_FONTSIZE = 9

WIDGETS: dict[str, type["FigureWidget"]] = {}
log = logging.getLogger(__name__)


def register_widget(cls: type["FigureWidget"]) -> type["FigureWidget"]:
    """Class decorator: list the widget for benchmarks and tests under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a `name` such as '01.matrix_2x2'")
    WIDGETS[cls.name] = cls
    return cls


def all_widgets() -> dict[str, type["FigureWidget"]]:
    """Every widget in the course (imports each ``course_lib.widgets.chNN_*`` module)."""
    import importlib
    import pkgutil

    import course_lib.widgets as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("ch"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    return dict(sorted(WIDGETS.items()))


class FigureWidget:
    """Base class of every course widget (see the module docstring)."""

    name: ClassVar[str] = ""
    figsize: ClassVar[tuple[float, float]] = (6.0, 4.0)
    dpi: ClassVar[int] = 80

    def __init__(self, **params: Any):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.params = {**self.defaults(), **params}
        self.fig = Figure(figsize=self.figsize, dpi=self.dpi, layout="constrained")
        # A wider edge pad than the default 3 pt: constrained layout under-measures mathtext
        # tick labels such as 10², which were clipped at the figure's edge.
        self.fig.get_layout_engine().set(w_pad=6 / 72, h_pad=4 / 72)
        FigureCanvasAgg(self.fig)
        self.build(self.fig)
        self._controls: dict | None = None
        self._image = None
        self._readout_view = None
        self._box = None
        self._quiet = False
        self.error: Exception | None = None  # the exception of the last front-end update, if it failed
        self.readout = ""  # HTML that draw() may set: numbers shown under the figure
        self.data = self.compute(**self.params)
        self.draw(self.data)

    # -- to be provided by each widget ---------------------------------------------
    @staticmethod
    def compute(**params) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def defaults(cls) -> dict:
        return {}

    def build(self, fig) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, data) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def controls(self) -> dict:
        """ipywidgets controls keyed by compute parameter; created once, lazily."""
        return {}

    on_pointer = None  # or a method (ax, x, y) -> dict of parameter changes, see above


    # -- shared machinery ------------------------------------------------------------
    def update(self, **changes: Any) -> Any:
        """Recompute with changed parameters, move the artists, re-render. Returns the data."""
        self.params.update(changes)
        with small_array_threads():
            self.data = self.compute(**self.params)
        self.draw(self.data)
        self.error = None
        if self._image is not None:
            self._image.value = self.png()
            self._readout_view.value = self.readout
        return self.data

    def _apply(self, changes: dict) -> None:
        """The front end's way in (a control moved, the figure pressed): update, and show a failure."""
        try:
            self.update(**changes)
        except Exception as exc:  # shown to the learner, logged with its traceback for a maintainer
            self._show_error(exc)

    def _show_error(self, exc: Exception) -> None:
        """Put ``exc`` in the readout, where the learner is looking; the figure keeps its last good state."""
        self.error = exc
        log.error("widget %s could not update", self.name, exc_info=exc)
        self.readout = (
            "<div class='course-widget-error' style='color:#D55E00'><b>This view could not update:</b> "
            f"<code>{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</code><br>"
            "The figure still shows the last settings that worked; change a control to try again.</div>")
        if self._readout_view is not None:
            self._readout_view.value = self.readout

    def pointer(self, px: float, py: float, buttons: int = 1) -> dict | None:
        """Apply a press/drag at image pixel ``(px, py)`` (origin top left, as the browser
        reports it); returns the parameter changes made, if any.

        The changes are snapped to their controls' steps first, so the value the kernel
        draws with is the one the slider can show: the slider's echo is then the same
        setting and costs no second render.
        """
        if self.on_pointer is None or not buttons:
            return None
        try:
            width, height = self.fig.canvas.get_width_height()
            x, y = px, height - py  # matplotlib's display coordinates start at the bottom
            for ax in self.fig.axes:
                if ax.get_visible() and ax.bbox.contains(x, y):
                    xdata, ydata = ax.transData.inverted().transform((x, y))
                    changes = self.on_pointer(ax, float(xdata), float(ydata))
                    if changes:
                        controls = self._get_controls()
                        changes = {key: snap_to_control(controls[key], value) if key in controls else value
                                   for key, value in changes.items()}
                        self._set_controls_quietly(changes)
                        self._apply(changes)
                    return changes
        except Exception as exc:
            self._show_error(exc)
        return None

    @contextlib.contextmanager
    def quietly(self):
        """Move controls from the kernel without each move triggering an update."""
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    def _set_controls_quietly(self, changes: dict) -> None:
        """Move the controls to match ``changes`` without each one triggering an update."""
        if self._controls is None:
            return
        with self.quietly():
            for key, value in changes.items():
                control = self._controls.get(key)
                if control is not None and hasattr(control, "min"):
                    lo, hi = _value_range(control)
                    control.value = min(max(value, lo), hi)
                elif control is not None:
                    control.value = value

    def png(self) -> bytes:
        """The figure as PNG bytes (Agg)."""
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=self.dpi)
        return buf.getvalue()

    def benchmark_moves(self, n: int, rng: np.random.Generator) -> list[dict]:
        """``n`` simulated control moves: random values each control can take (on its step grid)."""
        moves = []
        controls = self._get_controls()
        names = [k for k, c in controls.items() if hasattr(c, "value")]
        for _ in range(n):
            key = names[int(rng.integers(len(names)))]
            moves.append({key: snap_to_control(controls[key], _random_value(controls[key], rng))})
        return moves

    def _get_controls(self) -> dict:
        if self._controls is None:
            self._controls = fit_descriptions(self.controls())
        return self._controls

    def widget(self):
        """The live ipywidgets view: controls, the figure image, and any readout."""
        if self._box is None:
            import ipywidgets as w

            # Its own width at most, the output area's at least: no margin, so that a figure as wide
            # as the area (848 px beside JupyterLab's file browser) is not cut at the right edge;
            # a narrower area scales it down (pointer positions are read in the PNG's pixels).
            self._image = w.Image(value=self.png(), format="png",
                                  layout=w.Layout(width=f"{int(self.figsize[0] * self.dpi)}px", max_width="100%",
                                                  margin="0"))
            controls = self._get_controls()
            for key, control in controls.items():
                control.observe(lambda change, key=key: self._on_control(key, change["new"]), names="value")
            self._readout_view = w.HTML(self.readout)
            self._readout_view.add_class("course-readout")
            self._box = w.VBox([w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap")),
                                self._image, self._readout_view])
            self._box.add_class(f"course-widget-{self.name.replace('.', '-')}")
            if self.on_pointer is not None:
                self._listen_to_pointer()
        return self._box

    def _on_control(self, key: str, value) -> None:
        if self._quiet:
            return
        control = self._controls.get(key) if self._controls else None
        if control is not None and same_setting(control, self.params.get(key), value):
            # The browser's slider reports back the value it snapped to its step; when that is
            # the setting already drawn (up to rounding) there is nothing to recompute.
            return
        self._apply({key: value})

    def _listen_to_pointer(self) -> None:
        from ipyevents import Event

        # dataX/dataY are pixels of the PNG itself, whatever size the browser shows it at.
        self._events = Event(source=self._image, watched_events=["mousedown", "mousemove"],
                             prevent_default_action=True, throttle_or_debounce="throttle", wait=40)
        self._events.on_dom_event(
            lambda e: self.pointer(e.get("dataX", 0), e.get("dataY", 0),
                                   1 if e.get("type") == "mousedown" else e.get("buttons", 0)))

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = dict(self.widget()._repr_mimebundle_(include=include, exclude=exclude) or {})
        # Static fallback: front ends without a live widget manager show this PNG.
        bundle["image/png"] = base64.b64encode(self.png()).decode("ascii")
        return bundle


class BlittedWidget(FigureWidget):
    """A :class:`FigureWidget` that renders its static parts once and then only its moving artists.

    Ticks, labels and legends cost most of a full render. ``build`` passes every artist that
    ``draw`` moves to :meth:`moving`; they are ``animated`` so the first full render (which
    also runs the layout engine) leaves them out and is kept as a background. Each later
    :meth:`png` restores the background, draws the moving artists over it and encodes it.
    """

    def moving(self, *artists):
        """Mark ``artists`` as the ones ``draw`` changes; returns the first, for chaining."""
        if not hasattr(self, "_moving"):
            self._moving, self._background = [], None
        for artist in artists:
            artist.set_animated(True)
            self._moving.append(artist)
        return artists[0]

    def png(self) -> bytes:
        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()  # the static figure (animated artists are skipped), layout included
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._moving:
            self.fig.draw_artist(artist)
        return encode_png(np.asarray(canvas.buffer_rgba()))


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def encode_png(rgba: np.ndarray) -> bytes:
    """An opaque figure's pixels, shape (height, width, 4) uint8, as a PNG (8-bit RGB).

    The PNG is re-encoded on every slider move and its encoding was most of a move's cost.
    This writes the format directly (signature, header, one zlib stream of the rows, end;
    PNG specification, ISO/IEC 15948): RGB without the constant alpha, rows unfiltered
    (filter type 0), zlib at its fastest level. Pillow's encoder at level 1 picks a filter
    per row and took twice as long for a file within 10% of this size.
    """
    height, width = rgba.shape[:2]
    rows = np.empty((height, 1 + 3 * width), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "none" for every row
    rows[:, 1:] = rgba[:, :, :3].reshape(height, 3 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, truecolour, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + _png_chunk(b"IEND", b""))


# -- compute on small arrays ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _blas_threads():
    try:
        from threadpoolctl import ThreadpoolController  # installed with scikit-learn
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        return None
    return ThreadpoolController()


def small_array_threads():
    """A context in which BLAS uses one thread.

    A widget computes on small arrays (a 256 x 64 batch through 64 x 64 layers), where BLAS
    threads only add hand-off cost, and on a busy machine they wait for a core: 07's
    activation statistics took 7 ms single-threaded and 83 ms with two threads while other
    jobs ran. The previous limit is restored on exit.
    """
    controller = _blas_threads()
    return controller.limit(limits=1, user_api="blas") if controller is not None else contextlib.nullcontext()
