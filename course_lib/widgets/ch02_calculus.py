"""Chapter 02 widgets: the gradient and the linearization at a point you drag, and the V of
finite-difference errors against the step size.

Each widget is a pure ``compute(**params)`` (tested against :mod:`course_lib.calculus` and
:mod:`course_lib.surfaces`) plus a view that only moves artists. The one exception is the
contour set of :class:`GradientField`, redrawn when (and only when) the surface changes.
Both render their static parts (axes, ticks, legends, contours) once and then only the
artists that move (:class:`~course_lib.widgets.ch01_linear_algebra.BlittedWidget`); a change
of surface or of the slice's axis range renders the background again.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.patches import FancyArrowPatch
from matplotlib.ticker import MaxNLocator

from course_lib import calculus as calc
from course_lib.surfaces import SURFACES, get_surface
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget
from course_lib.widgets.controls import grid_step, move_slider, snap_value

# -- gradient field and linearization ---------------------------------------------------------------
GRID_N = 80  # contour grid
ARROWS_N = 13  # quiver grid per side
TAYLOR_STEP = 0.1  # step at which the readout measures the linearization error


def _padded(lo: float, hi: float, pad: float = 0.12) -> tuple[float, float]:
    """Axis limits around ``[lo, hi]`` with a margin (and a non-zero span for a flat slice)."""
    span = max(hi - lo, 1e-9 * max(1.0, abs(hi)))
    return lo - pad * span, hi + pad * span


@lru_cache(maxsize=None)
def _field(name: str) -> dict:
    """What depends on the surface only: contour grid and levels, unit gradient directions."""
    s = get_surface(name)
    X, Y = s.grid(GRID_N)
    Z = s.f(X, Y)
    # Quantile levels follow the values, so steep surfaces (Rosenbrock, Beale) still show their valley.
    levels = np.unique(np.quantile(Z, np.linspace(0.02, 0.98, 14)))
    (x0, x1), (y0, y1) = s.domain
    pad = 0.5 / ARROWS_N
    QX, QY = np.meshgrid(np.linspace(x0 + pad * (x1 - x0), x1 - pad * (x1 - x0), ARROWS_N),
                         np.linspace(y0 + pad * (y1 - y0), y1 - pad * (y1 - y0), ARROWS_N))
    G = s.grad(QX, QY)
    norm = np.hypot(*G)
    arrow = 0.4 * (x1 - x0) / ARROWS_N  # every arrow the same length: the field shows directions
    U = np.divide(G, norm, out=np.zeros_like(G), where=norm > 0) * arrow
    return {"X": X, "Y": Y, "Z": Z, "levels": levels, "QX": QX, "QY": QY, "U": U[0], "V": U[1]}


def gradient_field(surface: str = "himmelblau", x0: float = -1.0, y0: float = 1.0) -> dict:
    r"""Everything :class:`GradientField` shows, for a point ``(x0, y0)`` on a surface.

    Parameters
    ----------
    surface : str
        A key of :data:`course_lib.surfaces.SURFACES`.
    x0, y0 : float
        The point; clipped into the surface's domain.

    Returns
    -------
    dict
        ``p`` (2,), ``f0``, ``grad`` (2,), ``grad_norm``, ``u`` (unit gradient direction),
        ``tangent`` (unit level-set tangent), ``arrow_end``, ``tangent_line`` (2, 2), the slice
        ``t`` / ``slice_f`` / ``slice_lin`` / ``slice_quad`` along ``u``, the linearization
        error ``taylor1_error`` at ``TAYLOR_STEP`` and its prediction ``taylor1_predicted``
        (:math:`\tfrac12\delta^2\mathbf{u}^\top\mathbf{H}\mathbf{u}`), and the cached ``field``.

    Notes
    -----
    Along :math:`\mathbf{u} = \nabla f/\lVert\nabla f\rVert` the slice
    :math:`g(t) = f(\mathbf{p} + t\mathbf{u})` has :math:`g'(0) = \lVert\nabla f\rVert` and
    :math:`g''(0) = \mathbf{u}^\top\mathbf{H}\mathbf{u}`, so its tangent line is the tangent
    plane cut along :math:`\mathbf{u}`, and the second-order Taylor polynomial hugs it longer.
    """
    s = get_surface(surface)
    (xa, xb), (ya, yb) = s.domain
    p = np.array([np.clip(x0, xa, xb), np.clip(y0, ya, yb)], dtype=np.float64)
    f0, g, H = float(s.f_at(p)), s.grad_at(p), s.hessian_at(p)
    norm = float(np.hypot(*g))
    u = g / norm if norm > 0 else np.array([1.0, 0.0])
    tangent = calc.level_set_tangent(g)
    width = min(xb - xa, yb - ya)
    r = 0.15 * width  # the slice: long enough to see curvature, short enough to see the tangent
    t = np.linspace(-r, r, 81)
    curvature = float(u @ H @ u)
    step = TAYLOR_STEP * u
    slice_f = s.f(p[0] + t * u[0], p[1] + t * u[1])
    return {
        "surface": surface, "title": s.title, "domain": s.domain, "p": p, "f0": f0, "grad": g, "grad_norm": norm,
        "u": u, "tangent": tangent, "arrow_end": p + 0.18 * width * u,
        "tangent_line": np.stack([p - 0.22 * width * tangent, p + 0.22 * width * tangent]),
        "t": t, "slice_f": slice_f, "slice_ylim": _padded(float(slice_f.min()), float(slice_f.max())),
        "slice_lin": calc.taylor1(f0, norm, t), "slice_quad": calc.taylor2(f0, norm, curvature, t),
        "taylor1_error": abs(float(s.f_at(p + step)) - float(calc.tangent_plane(f0, g, p, p + step))),
        "taylor1_predicted": 0.5 * TAYLOR_STEP ** 2 * abs(curvature),
        "field": _field(surface),
    }


@register_widget
class GradientField(BlittedWidget):
    """Contours and gradient directions of a surface; drag the point to see the gradient, the
    level-set tangent and, on the right, the slice along the gradient with its linearization."""

    name = "02.gradient_field"
    figsize = (8.6, 4.3)
    SURFACE_CHOICES = ("himmelblau", "wavy", "rosenbrock", "beale", "bowl", "ill_conditioned", "saddle")

    compute = staticmethod(gradient_field)

    @classmethod
    def defaults(cls):
        return {"surface": "himmelblau", "x0": -1.0, "y0": 1.0}

    def build(self, fig):
        self.ax, self.ax_slice = fig.subplots(1, 2, width_ratios=[1.1, 1])
        ax = self.ax
        ax.set(xlabel="x", ylabel="y")
        ax.set_aspect("equal", adjustable="box")  # so that perpendicular looks perpendicular
        self.contour, self._contour_of = None, None
        field = _field(self.params["surface"])
        self.quiver = ax.quiver(field["QX"], field["QY"], field["U"], field["V"], angles="xy", scale_units="xy",
                                scale=1, color="#777777", width=0.005, zorder=2)
        (self.tangent_line,) = ax.plot([], [], "--", color=PALETTE["blue"], lw=2, label="level-set tangent", zorder=3)
        self.arrow = FancyArrowPatch((0, 0), (1, 1), arrowstyle="-|>", mutation_scale=16, color=PALETTE["orange"],
                                     lw=2.5, zorder=4, label="gradient direction")
        ax.add_patch(self.arrow)
        (self.point,) = ax.plot([], [], "o", ms=9, color=PALETTE["vermillion"], mec="white", zorder=5,
                                label="point (drag me)")
        self.moving(self.tangent_line, self.arrow, self.point)
        # Legends under their panels, off the contours and curves.
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower left", fontsize=LEGEND_FONTSIZE,
                   frameon=False, ncols=2)

        axs = self.ax_slice
        # The y axis moves with the point: drawn every time, like the lines (not part of the background).
        # Four intervals at most: tick labels are most of the cost of a move.
        axs.yaxis.set_major_locator(MaxNLocator(nbins=4))
        self.moving(axs.yaxis)
        (self.slice_f,) = axs.plot([], [], color=PALETTE["blue"], lw=2, label="f along the gradient")
        (self.slice_lin,) = axs.plot([], [], "--", color=PALETTE["orange"], lw=2, label="1st-order Taylor (tangent)")
        (self.slice_quad,) = axs.plot([], [], ":", color=PALETTE["green"], lw=2, label="2nd-order Taylor")
        (self.slice_point,) = axs.plot([0], [0], "o", ms=8, color=PALETTE["vermillion"], mec="white")
        self.moving(self.slice_f, self.slice_lin, self.slice_quad, self.slice_point)
        axs.axvline(0, color=PALETTE["grey"], lw=0.8)
        axs.set(xlabel="t  (step along the unit gradient u)", ylabel="f(p + t u)", title="slice along the gradient")
        fig.legend(*axs.get_legend_handles_labels(), loc="outside lower right", fontsize=LEGEND_FONTSIZE,
                   frameon=False, ncols=2)

    def _redraw_contours(self, data) -> None:
        """Only on a change of surface: the one place a widget may replace an artist."""
        field = data["field"]
        if self.contour is not None:
            self.contour.remove()
        self.contour = self.ax.contour(field["X"], field["Y"], field["Z"], levels=field["levels"], cmap="cividis",
                                       linewidths=0.9, zorder=1)
        offsets = np.column_stack([field["QX"].ravel(), field["QY"].ravel()])
        self.quiver.set_offsets(offsets)
        self.quiver.XY = offsets  # Quiver keeps its own copy for limits and arrow angles
        self.quiver.set_UVC(field["U"], field["V"])
        (xa, xb), (ya, yb) = data["domain"]
        # Two lines: on one, "Ill-conditioned quadratic (kappa = 10): contours and gradient directions"
        # is wider than the square panel and was clipped at the figure's left edge.
        self.ax.set(xlim=(xa, xb), ylim=(ya, yb), title=f"{data['title']}\ncontours and gradient directions")
        self.ax_slice.set_xlim(data["t"][0], data["t"][-1])
        self._contour_of = data["surface"]
        self._background = None

    def draw(self, data):
        if data["surface"] != self._contour_of:
            self._redraw_contours(data)
        p = data["p"]
        self.point.set_data([p[0]], [p[1]])
        self.arrow.set_positions(tuple(p), tuple(data["arrow_end"]))
        self.arrow.set_visible(data["grad_norm"] > 0)
        self.tangent_line.set_data(*data["tangent_line"].T)
        t = data["t"]
        self.slice_f.set_data(t, data["slice_f"])
        self.slice_lin.set_data(t, data["slice_lin"])
        self.slice_quad.set_data(t, data["slice_quad"])
        self.slice_point.set_data([0.0], [data["f0"]])
        self.ax_slice.set_ylim(data["slice_ylim"])
        g = data["grad"]
        self.readout = (
            f"<b>p</b> = ({p[0]:.3f}, {p[1]:.3f}) &nbsp; f(<b>p</b>) = {data['f0']:.4g} &nbsp; "
            f"&nabla;f = ({g[0]:.4g}, {g[1]:.4g}) &nbsp; |&nabla;f| = {data['grad_norm']:.4g}<br>"
            f"linearization error a step &delta; = {TAYLOR_STEP:g} along the gradient: "
            f"|f(<b>p</b> + &delta;<b>u</b>) &minus; (f + &delta;|&nabla;f|)| = {data['taylor1_error']:.3g} "
            f"&asymp; &frac12;&delta;&sup2;|<b>u</b><sup>T</sup><b>H</b><b>u</b>| = {data['taylor1_predicted']:.3g}"
        )

    def controls(self):
        import ipywidgets as w

        (xa, xb), (ya, yb) = get_surface(self.params["surface"]).domain
        return {
            "surface": w.Dropdown(options=[(SURFACES[k].title, k) for k in self.SURFACE_CHOICES],
                                  value=self.params["surface"], description="surface"),
            "x0": w.FloatSlider(value=self.params["x0"], min=xa, max=xb, step=grid_step(xa, xb), description="x0",
                                continuous_update=True),
            "y0": w.FloatSlider(value=self.params["y0"], min=ya, max=yb, step=grid_step(ya, yb), description="y0",
                                continuous_update=True),
        }

    def on_pointer(self, ax, x, y):
        """A press or drag on the contour plot moves the point there."""
        return {"x0": x, "y0": y} if ax is self.ax else None

    def update(self, **changes):
        if "surface" in changes:
            (xa, xb), (ya, yb) = get_surface(changes["surface"]).domain
            changes.setdefault("x0", float(np.clip(self.params["x0"], xa, xb)))
            changes.setdefault("y0", float(np.clip(self.params["y0"], ya, yb)))
            if self._controls is not None:  # the sliders follow the new domain, the point its grid
                with self.quietly():
                    for key, lo, hi in [("x0", xa, xb), ("y0", ya, yb)]:
                        step = grid_step(lo, hi)
                        changes[key] = snap_value(changes[key], lo, hi, step)
                        move_slider(self._controls[key], changes[key], lo, hi, step)
        return super().update(**changes)


# -- finite-difference error against the step ----------------------------------------------------------
STEPS = np.logspace(-16, 0, 161)
ERROR_FLOOR = 1e-18  # zero errors (exact cancellations) are drawn here on the log axis


def fd_error_curves(function: str = "exp", x0: float = 1.0, log10_h: float = -5.0) -> dict:
    r"""Errors of forward and central differences over ``STEPS``, the error model, and the chosen step.

    Parameters
    ----------
    function : str
        A key of :data:`course_lib.calculus.FUNCTIONS_1D`.
    x0 : float
        The point.
    log10_h : float
        The chosen step :math:`h = 10^{\text{log10\_h}}`.

    Returns
    -------
    dict
        ``hs``; per method ``"forward"``, ``"central"``: ``error`` (actual, floored at
        ``ERROR_FLOOR``), ``truncation``, ``roundoff``, ``h_opt`` (model), ``h_best`` (the sweep's
        smallest error, ``min_error``) and ``at_h`` (actual error at the chosen ``h``); plus ``h``,
        ``exact``. ``h_opt`` is NaN where the model has no minimum (``f(x0) = 0``, or ``f''``
        resp. ``f'''`` vanishes at ``x0``).

    Notes
    -----
    Actual error :math:`|D_h f(x_0) - f'(x_0)|`; model: truncation :math:`\tfrac12|f''|h` (forward),
    :math:`\tfrac16|f'''|h^2` (central) and round-off :math:`2\varepsilon|f|/h`, :math:`\varepsilon|f|/h`.
    """
    fn = calc.FUNCTIONS_1D[function]
    h = 10.0 ** log10_h
    exact = float(fn.df(x0))
    kw = dict(f_scale=abs(float(fn.f(x0))), d2=abs(float(fn.d2f(x0))), d3=abs(float(fn.d3f(x0))))
    out = {"function": function, "x0": x0, "h": h, "hs": STEPS, "exact": exact}
    for method in ["forward", "central"]:
        err = calc.fd_errors(fn.f, fn.df, x0, STEPS, method)
        deriv = kw["d3"] if method == "central" else kw["d2"]
        # With f(x0) = 0 or a vanishing f'' / f''' one term of the model is missing: no V, no h*.
        h_opt = calc.optimal_step(method, **kw) if kw["f_scale"] > 0 and deriv > 0 else float("nan")
        out[method] = {
            "error": np.maximum(err, ERROR_FLOOR),
            "truncation": np.maximum(calc.truncation_error(STEPS, method, d2=kw["d2"], d3=kw["d3"]), ERROR_FLOOR),
            "roundoff": np.maximum(calc.roundoff_error(STEPS, method, f_scale=kw["f_scale"]), ERROR_FLOOR),
            "h_opt": h_opt,
            "h_best": float(STEPS[np.argmin(err)]),
            "min_error": float(err.min()),
            "at_h": float(calc.fd_errors(fn.f, fn.df, x0, np.array([h]), method)[0]),
        }
    return out


@register_widget
class FiniteDifferenceError(BlittedWidget):
    """Log-log plot of the error of forward and central differences against the step h."""

    name = "02.fd_error"
    figsize = (6.6, 4.7)
    METHODS = (("forward", "orange", "forward  (f(x+h) - f(x)) / h"),
               ("central", "blue", "central  (f(x+h) - f(x-h)) / 2h"))

    compute = staticmethod(fd_error_curves)

    @classmethod
    def defaults(cls):
        return {"function": "exp", "x0": 1.0, "log10_h": -5.0}

    def build(self, fig):
        ax = self.ax = fig.add_subplot()
        ax.set(xscale="log", yscale="log", xlim=(STEPS[0], STEPS[-1]), ylim=(1e-17, 1e2),
               xlabel="step h", ylabel="|error of the derivative|")
        self.lines = {}
        for method, colour, label in self.METHODS:
            c = PALETTE[colour]
            self.lines[method] = {
                "error": ax.plot([], [], color=c, lw=1.8, label=label)[0],
                "truncation": ax.plot([], [], "--", color=c, lw=1.2, alpha=0.9)[0],
                "h_opt": ax.axvline(1e-8, color=c, lw=0.8, ls=":"),
                "marker": ax.plot([], [], "o", color=c, ms=8, mec="black", zorder=5)[0],
            }
        (self.roundoff,) = ax.plot([], [], ":", color=PALETTE["grey"], lw=1.5)
        self.h_line = ax.axvline(1e-5, color=PALETTE["black"], lw=0.8)
        for art in self.lines.values():
            self.moving(*art.values())
        # Proxy entries explain the line styles once for both methods.
        ax.plot([], [], "--", color=PALETTE["grey"], label="truncation model (h, h²)")
        ax.plot([], [], ":", color=PALETTE["grey"], label="round-off model ε|f|/h")
        # Under the axes: inside, it covered the truncation lines.
        fig.legend(loc="outside lower center", ncols=2, fontsize=LEGEND_FONTSIZE, frameon=False)
        self.title = ax.set_title(" ")
        self.moving(self.roundoff, self.h_line, self.title)

    def draw(self, data):
        hs = data["hs"]
        for method, _, _ in self.METHODS:
            d, art = data[method], self.lines[method]
            art["error"].set_data(hs, d["error"])
            art["truncation"].set_data(hs, d["truncation"])
            art["h_opt"].set_xdata([d["h_opt"]] * 2)
            art["h_opt"].set_visible(bool(np.isfinite(d["h_opt"])))
            art["marker"].set_data([data["h"]], [max(d["at_h"], ERROR_FLOOR)])
        self.roundoff.set_data(hs, data["central"]["roundoff"])
        self.h_line.set_xdata([data["h"]] * 2)
        fn = calc.FUNCTIONS_1D[data["function"]]
        self.title.set_text(f"derivative of ${fn.latex}$ at $x_0$ = {data['x0']:.2f}: error against step h")
        fw, ce = data["forward"], data["central"]

        def h_star(d):
            return f"{d['h_opt']:.1e}" if np.isfinite(d["h_opt"]) else "none (a term of the model vanishes here)"

        def best(d):
            return (f"{d['min_error']:.1e} at h = {d['h_best']:.0e}" if d["min_error"] > 0
                    else f"exactly 0 (first at h = {d['h_best']:.0e})")

        self.readout = (
            f"h = {data['h']:.2e}: &nbsp; forward error {fw['at_h']:.2e}, &nbsp; central error {ce['at_h']:.2e}<br>"
            f"model's optimal h (dotted lines): forward {h_star(fw)}, central {h_star(ce)}<br>"
            f"smallest error on the sweep: forward {best(fw)}, central {best(ce)}"
        )

    def controls(self):
        import ipywidgets as w

        return {
            "function": w.Dropdown(options=[(f"{k}", k) for k in calc.FUNCTIONS_1D], value=self.params["function"],
                                   description="f(x)"),
            "x0": w.FloatSlider(value=self.params["x0"], min=-2.0, max=2.0, step=0.05, description="x0"),
            "log10_h": w.FloatSlider(value=self.params["log10_h"], min=-16.0, max=0.0, step=0.1,
                                     description="log10 h", readout_format=".1f"),
        }

    def on_pointer(self, ax, x, y):
        """A click on the plot picks the step h at that position."""
        return {"log10_h": float(np.clip(np.log10(x), -16, 0))} if ax is self.ax and x > 0 else None
