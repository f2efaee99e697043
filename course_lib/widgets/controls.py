"""Controls of a widget: values on a slider's step grid, slider moves in one message, labels that fit.

The browser's slider (ipywidgets 8 on noUiSlider) can only show ``min + k * step``; whatever
the kernel sets is snapped there and reported back. These helpers keep the kernel's values on
that grid (:func:`snap_to_control`, :func:`grid_step`), send a new range and value as one
consistent state (:func:`move_slider`), recognise the report of a value already drawn
(:func:`same_setting`), and size the labels so that no description is cut off
(:func:`fit_descriptions`). :class:`course_lib.widgets.base.FigureWidget` applies them to every
widget.
"""
from __future__ import annotations

import functools
import math
from decimal import Decimal

import numpy as np


def _decimals(x: float) -> int:
    """Digits after the decimal point of ``x`` as written (0.05 -> 2, 1e-05 -> 5, 2.0 -> 0)."""
    exponent = Decimal(repr(float(x))).normalize().as_tuple().exponent
    return max(0, min(-int(exponent), 15))


def snap_to_control(control, value):
    """``value`` as ``control`` can hold it: on the slider's step grid, inside its range.

    A slider can only show ``min + k * step`` (for a log slider, ``base ** (min + k * step)``),
    so a value set from the kernel that is off that grid comes back from the browser snapped:
    a second update, and a second render. Values are rounded to the step's decimals (0.35,
    not 0.35000000000000003). Controls without a step (dropdowns, checkboxes) take ``value``
    as it is.
    """
    step = getattr(control, "step", None)
    if step is None or isinstance(value, (bool, str)) or not hasattr(control, "min"):
        return value
    if hasattr(control, "base"):  # FloatLogSlider: the grid is in the exponent
        exponent = math.log(max(float(value), 1e-300), control.base)
        exponent = min(max(exponent, control.min), control.max)
        k = round((exponent - control.min) / step)
        exponent = round(control.min + k * step, _decimals(step) + _decimals(control.min))
        return float(control.base ** exponent)
    snapped = snap_value(value, control.min, control.max, step)
    if isinstance(control.value, (int, np.integer)) and not isinstance(control.value, bool):
        return int(round(snapped))
    return snapped


def snap_value(value: float, lo: float, hi: float, step: float) -> float:
    """The point ``lo + k * step`` nearest to ``value`` inside [lo, hi], rounded to the step's decimals."""
    k = round((float(value) - lo) / step)
    snapped = min(max(lo + k * step, lo), hi)
    return round(float(snapped), max(_decimals(step), _decimals(lo)))


def same_setting(control, old, new) -> bool:
    """Whether ``new`` is ``old`` up to rounding, on the scale of ``control``'s step.

    A learner cannot move a slider by less than one step; a difference below a millionth of
    one is the browser reporting back a value it recomputed (see :func:`snap_to_control`).
    """
    step = getattr(control, "step", None)
    numbers = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in (old, new))
    if not step or not numbers:
        return False
    if hasattr(control, "base"):
        if old <= 0 or new <= 0:
            return old == new
        return abs(math.log(new, control.base) - math.log(old, control.base)) <= 1e-6 * step
    return abs(new - old) <= 1e-6 * step


def move_slider(control, value, lo: float | None = None, hi: float | None = None, step: float | None = None):
    """Give a slider a new range, step and value in ONE message to the browser, value last.

    Sent one at a time, the browser re-snaps the old value to each intermediate state (the
    new range with the old step, ...) and reports those values back after the kernel has moved
    on: switching surfaces in the optimizer race then started it at the old point snapped to
    the new grid. In one message the browser's model gets a consistent state, but its slider
    (noUiSlider) takes the new range and step only when it handles ``min``, ``max`` and
    ``step``; a ``value`` handled before them is snapped to the OLD step (0.01 became 0.02).
    ``hold_sync`` sends the keys in a set's hash order, which changes from kernel to kernel,
    so they are sent here in the order the browser needs. With ``value`` on the new step grid
    the browser then has nothing to snap. Call it inside :meth:`FigureWidget.quietly`.
    """
    with control.hold_sync():
        if lo is not None and hi is not None:
            if lo > control.max:  # never min > max on the way
                control.max, control.min = hi, lo
            else:
                control.min, control.max = lo, hi
        if step is not None:
            control.step = step
        control.value = value
        held = getattr(control, "_states_to_send", None)  # what hold_sync would send on exit
        if held is not None:
            keys = [k for k in ("min", "max", "step", "value") if k in held]
            keys += sorted(k for k in held if k not in keys)
            held.clear()
            control.send_state(keys)


def grid_step(lo: float, hi: float, *values: float, ticks: int = 200) -> float:
    """The coarsest step of the form 1, 2 or 5 x 10^k giving at least ``ticks`` steps over [lo, hi]
    with ``lo``, ``hi`` and every one of ``values`` exactly on the grid ``lo + k * step``.

    A preset such as the saddle's start y = 0.01 must survive the slider: on a 0.02 grid from
    -2 the browser would move it to 0.00 or 0.02.
    """
    top = (hi - lo) / ticks
    exponent = math.floor(math.log10(top))
    for e in range(exponent, exponent - 8, -1):
        for mantissa in (5, 2, 1):
            step = mantissa * 10.0 ** e
            if step > top:
                continue
            if all(abs((v - lo) / step - round((v - lo) / step)) < 1e-6 for v in (hi, *values)):
                return round(step, max(0, -e))
    raise ValueError(f"no step of the form 1, 2, 5 x 10^k puts {values} on a grid over [{lo}, {hi}]")


# Label text is set in JupyterLab's --jp-widgets-font-size (13 px). It is measured in DejaVu
# Sans, Chromium's sans-serif on Debian and wider than the UI fonts of macOS and Windows, so a
# width that fits it fits everywhere.
LABEL_FONT_PX = 13
SLIDER_BODY_PX = 230  # track and readout to the right of the label (ipywidgets' default is 220)


@functools.lru_cache(maxsize=512)
def text_width_px(text: str, size_px: float = LABEL_FONT_PX) -> float:
    """Width of ``text`` set in DejaVu Sans at ``size_px`` pixels."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    width, _, _ = TextToPath().get_text_width_height_descent(
        text, FontProperties(family="DejaVu Sans", size=size_px), ismath=False)
    return float(width)


def label_width_px(descriptions) -> int:
    """The label width, in pixels, that shows every one of ``descriptions`` in full."""
    return int(math.ceil(max((text_width_px(d) for d in descriptions if d), default=0.0))) + 6


def fit_descriptions(controls: dict) -> dict:
    """Give every labelled control of a widget the same label width, wide enough for the longest.

    ipywidgets' default label is 80 px and cuts longer text to "compone…"; one width per widget
    keeps the sliders aligned when the row wraps. Each control's total width is its label
    plus a body: a slider's track and readout, a menu's longest option. Checkboxes carry
    their description beside the box and are left alone. Returns ``controls``.
    """
    import ipywidgets as w

    labelled = {k: c for k, c in controls.items()
                if getattr(c, "description", "") and not isinstance(c, w.Checkbox)}
    if not labelled:
        return controls
    label = label_width_px(c.description for c in labelled.values())
    for control in labelled.values():
        control.style.description_width = f"{label}px"
        if hasattr(control, "options") and not isinstance(control, w.SelectionSlider):  # a menu
            texts = [str(o[0] if isinstance(o, tuple) else o) for o in control.options]
            body = max(120, label_width_px(texts) + 36)  # 36: the select's arrow and border
        else:
            body = SLIDER_BODY_PX
        control.layout.width = f"{label + 8 + body}px"  # 8: the label's right margin
    return controls


def _random_value(control, rng: np.random.Generator):
    if hasattr(control, "options") and getattr(control, "options", None):
        options = list(control.options)
        choice = options[int(rng.integers(len(options)))]
        return choice[1] if isinstance(choice, tuple) else choice
    if isinstance(control.value, bool):
        return bool(rng.integers(2))
    if hasattr(control, "base"):  # FloatLogSlider: min and max are exponents
        return float(control.base ** rng.uniform(control.min, control.max))
    lo, hi = control.min, control.max
    if isinstance(control.value, (int, np.integer)):
        return int(rng.integers(lo, hi + 1))
    return float(rng.uniform(lo, hi))


def _value_range(control) -> tuple[float, float]:
    """The smallest and largest value a slider can take (a log slider's bounds are exponents)."""
    if hasattr(control, "base"):
        return control.base ** control.min, control.base ** control.max
    return control.min, control.max
