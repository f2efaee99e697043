"""Chapter 04 widgets: an activation explorer, and universal approximation with n_h hidden units."""
from __future__ import annotations

import functools
import inspect

import numpy as np

from course_lib import activations as act
from course_lib import approximation as ap
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget

# -- the activation explorer ----------------------------------------------------------------------

X_LIM = 8.0  # the pre-activation axis, [-8, 8]
GRID = np.linspace(-X_LIM, X_LIM, 401)
N_BINS = 48
N_SPANS = 3  # saturated intervals drawn at most (every activation here has at most 2)
# Pre-activations are mean + spread * Z for fixed standard-normal samples Z: moving a slider moves
# the same samples, so the histograms change smoothly and compute() stays pure and cheap.
SAMPLES = np.random.default_rng(0).standard_normal(4000)


def _histogram(values: np.ndarray, lo: float, hi: float, bins: int = N_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Fractions per bin of ``values`` clipped into ``[lo, hi]`` (out-of-range values land in the end bins)."""
    edges = np.linspace(lo, hi, bins + 1)
    counts, _ = np.histogram(np.clip(values, lo, hi), bins=edges)
    return counts / max(values.size, 1), edges


@functools.lru_cache(maxsize=None)
def _activation_ranges(name: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """Padded ranges of f and f' over the plotted grid, for an activation's axes and bins."""
    f, df, _ = act.ACTIVATIONS[name]
    y, dy = f(GRID), df(GRID)

    def pad(lo, hi):
        span = max(hi - lo, 1e-9)
        return float(lo - 0.05 * span), float(hi + 0.05 * span)

    return pad(min(y.min(), dy.min()), max(y.max(), dy.max())), pad(min(dy.min(), 0.0), dy.max())


def activation_explorer_data(activation: str, mean: float, spread: float) -> dict:
    r"""Everything the activation explorer shows (a pure function of the three controls).

    Returns a dict with ``x``/``f``/``df`` (401,) the curves; ``saturated`` the list of
    intervals where :math:`|f'| < \tau`; ``inputs``/``outputs``/``grads`` (4000,) the samples
    :math:`z = \mu + s\,Z`, :math:`f(z)` and :math:`f'(z)`; histograms ``in_hist``,
    ``out_hist``, ``grad_hist`` (fractions, with their ``*_edges``); ``in_saturated`` (48,)
    bool, whether each input bin's centre is saturated; ``saturated_fraction`` and
    ``mean_abs_grad`` (the readout); ``f_range``/``df_range`` the axis ranges.
    """
    f, df, latex = act.ACTIVATIONS[activation]
    f_range, df_range = _activation_ranges(activation)
    z = mean + spread * SAMPLES
    out, grads = f(z), df(z)
    in_hist, in_edges = _histogram(z, -X_LIM, X_LIM)
    centres = 0.5 * (in_edges[:-1] + in_edges[1:])
    out_hist, out_edges = _histogram(out, *f_range)
    grad_hist, grad_edges = _histogram(grads, *df_range)
    return {
        "activation": activation, "latex": latex, "x": GRID, "f": f(GRID), "df": df(GRID),
        "saturated": act.saturated_intervals(df, -X_LIM, X_LIM),
        "inputs": z, "outputs": out, "grads": grads,
        "in_hist": in_hist, "in_edges": in_edges, "in_saturated": act.saturation_mask(df, centres),
        "out_hist": out_hist, "out_edges": out_edges, "grad_hist": grad_hist, "grad_edges": grad_edges,
        "saturated_fraction": act.saturated_fraction(df, z), "mean_abs_grad": float(np.mean(np.abs(grads))),
        "f_range": f_range, "df_range": df_range,
    }


@register_widget
class ActivationExplorer(BlittedWidget):
    """An activation f and its derivative, and what it does to a distribution of pre-activations.

    Histograms are one step patch each (``stairs``), moved with ``set_data``, and scaled to
    their peak so their axes never change; only a change of activation (new value ranges, new
    title) re-renders the static background.
    """

    name = "04.activation_explorer"
    figsize = (7.6, 5.0)

    @classmethod
    def defaults(cls) -> dict:
        return {"activation": "tanh", "mean": 0.0, "spread": 2.5}

    compute = staticmethod(activation_explorer_data)

    def build(self, fig) -> None:
        from matplotlib.patches import Rectangle

        grid = fig.add_gridspec(2, 2, width_ratios=[2.2, 1], height_ratios=[1.5, 1])
        self.ax_f = fig.add_subplot(grid[0, 0])
        self.ax_in = fig.add_subplot(grid[1, 0], sharex=self.ax_f)
        self.ax_out = fig.add_subplot(grid[0, 1], sharey=self.ax_f)
        self.ax_grad = fig.add_subplot(grid[1, 1])
        self.ax_f.set(xlim=(-X_LIM, X_LIM), ylabel="value")
        self.ax_f.tick_params(labelbottom=False)
        self.ax_f.axhline(0, color=PALETTE["grey"], lw=0.6)
        self.ax_f.axvline(0, color=PALETTE["grey"], lw=0.6)
        (self.f_line,) = self.ax_f.plot([], [], color=PALETTE["blue"], lw=2, label="f(z)")
        (self.df_line,) = self.ax_f.plot([], [], color=PALETTE["orange"], lw=2, ls="--", label="f'(z)")
        self.spans = []
        for ax in (self.ax_f, self.ax_in):  # saturated regions, shaded behind everything
            for _ in range(N_SPANS):
                patch = Rectangle((0, 0), 0, 1, transform=ax.get_xaxis_transform(), color=PALETTE["vermillion"],
                                  alpha=0.12, lw=0, zorder=0)
                ax.add_patch(patch)
                self.spans.append(patch)
        self.ax_f.legend(loc="upper left", fontsize=LEGEND_FONTSIZE, framealpha=0.9)
        zeros, edges = np.zeros(N_BINS), np.linspace(0, 1, N_BINS + 1)
        self.in_steps = self.ax_in.stairs(zeros, edges, fill=True, color=PALETTE["sky"], label="inputs")
        self.in_saturated = self.ax_in.stairs(zeros, edges, fill=True, color=PALETTE["vermillion"],
                                              label="saturated")
        self.ax_in.set(xlabel="pre-activation z = w·x + b", ylabel="frequency\n(peak = 1)", ylim=(0, 1.12))
        self.ax_in.legend(loc="upper left", fontsize=LEGEND_FONTSIZE, framealpha=0.9)
        self.out_steps = self.ax_out.stairs(zeros, edges, fill=True, orientation="horizontal", color=PALETTE["blue"])
        self.ax_out.set(xlabel="frequency", xlim=(0, 1.12))
        self.ax_out.set_title("outputs f(z)", fontsize=10)
        self.ax_out.tick_params(labelleft=False)
        self.grad_steps = self.ax_grad.stairs(zeros, edges, fill=True, color=PALETTE["orange"])
        self.grad_saturated = self.ax_grad.stairs(zeros, edges, fill=True, color=PALETTE["vermillion"])
        for edge in (-act.SATURATION_THRESHOLD, act.SATURATION_THRESHOLD):  # the saturated band |f'| < tau
            self.ax_grad.axvline(edge, color=PALETTE["vermillion"], lw=1, ls=":")
        self.ax_grad.set(xlabel="local gradient f'(z)", ylim=(0, 1.12))
        self.ax_grad.set_title("gradients f'(z)", fontsize=10)
        self.moving(self.f_line, self.df_line, *self.spans, self.in_steps, self.in_saturated, self.out_steps,
                    self.grad_steps, self.grad_saturated)
        self._shown_activation = None

    def draw(self, data) -> None:
        if data["activation"] != self._shown_activation:  # new ranges and title: re-render the background
            self._shown_activation = data["activation"]
            self.ax_f.set_ylim(*data["f_range"])
            self.ax_f.set_title(f"${data['latex']}$", fontsize=10)
            self.ax_grad.set_xlim(*data["df_range"])
            self._background = None
        self.f_line.set_data(data["x"], data["f"])
        self.df_line.set_data(data["x"], data["df"])
        intervals = data["saturated"]
        for i, patch in enumerate(self.spans):
            lo, hi = intervals[i % N_SPANS] if i % N_SPANS < len(intervals) else (0.0, 0.0)
            patch.set_x(lo)
            patch.set_width(hi - lo)
        peak = max(data["in_hist"].max(), 1e-12)
        self.in_steps.set_data(data["in_hist"] / peak, data["in_edges"])
        self.in_saturated.set_data(np.where(data["in_saturated"], data["in_hist"], 0.0) / peak, data["in_edges"])
        self.out_steps.set_data(data["out_hist"] / max(data["out_hist"].max(), 1e-12), data["out_edges"])
        edges = data["grad_edges"]
        centres = 0.5 * (edges[:-1] + edges[1:])
        peak = max(data["grad_hist"].max(), 1e-12)
        self.grad_steps.set_data(data["grad_hist"] / peak, edges)
        self.grad_saturated.set_data(np.where(np.abs(centres) < act.SATURATION_THRESHOLD, data["grad_hist"], 0.0)
                                     / peak, edges)
        out = data["outputs"]
        self.readout = (
            f"<b>{data['saturated_fraction']:.0%}</b> of the inputs fall where |f'| &lt; "
            f"{act.SATURATION_THRESHOLD:g} (shaded: saturated) &nbsp;·&nbsp; mean |f'(z)| = "
            f"<b>{data['mean_abs_grad']:.3f}</b>: the share of the gradient a unit passes back, on average "
            f"&nbsp;·&nbsp; outputs: mean {out.mean():.3f}, std {out.std():.3f}")

    def controls(self) -> dict:
        import ipywidgets as w

        return {
            "activation": w.Dropdown(options=list(act.ACTIVATIONS), value=self.params["activation"],
                                     description="activation"),
            "mean": w.FloatSlider(value=self.params["mean"], min=-5.0, max=5.0, step=0.1, description="input mean",
                                  readout_format=".1f"),
            "spread": w.FloatSlider(value=self.params["spread"], min=0.1, max=4.0, step=0.1,
                                    description="input spread", readout_format=".1f"),
        }


# -- universal approximation --------------------------------------------------------------------------

MAX_UNITS = 64
X_FIT = np.linspace(*ap.DOMAIN, 301)
CURVE_UNITS = np.unique(np.geomspace(1, MAX_UNITS, 24).round().astype(int))
ERROR_POINTS = inspect.signature(ap.approximation_error).parameters["num"].default  # the readout's grid


@functools.lru_cache(maxsize=32)
def error_curve(target: str, method: str) -> np.ndarray:
    """Max and RMS error against n_h (``CURVE_UNITS``) for one target and method; shape (len, 2). Cached."""
    g, build = ap.TARGETS[target], ap.METHODS[method]
    return np.array([ap.approximation_error(build(g, *ap.DOMAIN, int(n)), g, *ap.DOMAIN, num=601)
                     for n in CURVE_UNITS])


def universal_approximation_data(target: str, n_units: int, method: str) -> dict:
    r"""Everything the universal-approximation widget shows (pure; the error curve is cached).

    Returns a dict with ``x`` (301,), ``y`` the target :math:`g`, ``fit`` the network's output
    :math:`\hat g`, ``contributions`` (301, n_h) each hidden unit's scaled output
    :math:`w_{2,k}\,f(w_{1,k}x + b_{1,k})`, ``centres`` (n_h,) where each unit switches (the
    knots), ``errors`` (max, rms) on :data:`ERROR_POINTS` points, ``curve_units``/``curve`` the
    errors for every n_h, and ``n_units``.
    """
    g, n = ap.TARGETS[target], int(n_units)
    net = ap.METHODS[method](g, *ap.DOMAIN, n)
    centres = -net.b1 / net.W1[:, 0]
    return {"x": X_FIT, "y": g(X_FIT), "fit": net(X_FIT), "contributions": net.contributions(X_FIT),
            "centres": centres, "centre_values": net(centres), "errors": ap.approximation_error(net, g, *ap.DOMAIN),
            "curve_units": CURVE_UNITS, "curve": error_curve(target, method), "n_units": n}


@register_widget
class UniversalApproximation(BlittedWidget):
    """Fit a 1-D target g with n_h hidden units: the fit, each unit's share, and the error against n_h.

    Every axis has fixed limits (all targets live in [-1.1, 1.1]), so no control re-renders
    the static background: each change only moves lines.
    """

    name = "04.universal_approximation"
    figsize = (8.0, 4.6)
    Y_LIM = (-1.35, 1.35)
    ERR_LIM = (1e-4, 3.0)

    @classmethod
    def defaults(cls) -> dict:
        return {"target": "wiggle", "n_units": 8, "method": next(iter(ap.METHODS))}

    compute = staticmethod(universal_approximation_data)

    def build(self, fig) -> None:
        grid = fig.add_gridspec(2, 2, width_ratios=[2, 1], height_ratios=[1.4, 1])
        self.ax_fit = fig.add_subplot(grid[0, 0])
        self.ax_units = fig.add_subplot(grid[1, 0], sharex=self.ax_fit)
        self.ax_err = fig.add_subplot(grid[:, 1])
        (self.target_line,) = self.ax_fit.plot([], [], color=PALETTE["black"], lw=3, alpha=0.35, label="target g")
        (self.fit_line,) = self.ax_fit.plot([], [], color=PALETTE["blue"], lw=1.8, label="network")
        (self.knot_marks,) = self.ax_fit.plot([], [], "o", color=PALETTE["vermillion"], ms=3.5, label="unit centres")
        self.ax_fit.set(xlim=ap.DOMAIN, ylim=self.Y_LIM, ylabel="y")
        self.ax_fit.tick_params(labelbottom=False)
        self.ax_fit.set_title("network (blue) against the target g (grey); dots: where each unit switches",
                              fontsize=9)
        colours = [PALETTE[c] for c in ("blue", "orange", "green", "vermillion", "sky", "purple")]
        self.unit_lines = [self.ax_units.plot([], [], color=colours[k % len(colours)], lw=1, alpha=0.8)[0]
                           for k in range(MAX_UNITS)]
        self.ax_units.axhline(0, color=PALETTE["grey"], lw=0.6)
        self.ax_units.set(xlabel="x", ylabel="$w_{2,k}\\,f(w_{1,k}x+b_{1,k})$", ylim=self.Y_LIM,
                          title="each hidden unit, scaled by its output weight")
        self.ax_units.title.set_fontsize(9)
        (self.max_line,) = self.ax_err.loglog([], [], color=PALETTE["vermillion"], lw=1.5, label="max error")
        (self.rms_line,) = self.ax_err.loglog([], [], color=PALETTE["blue"], lw=1.5, label="RMS error")
        (self.now_marks,) = self.ax_err.loglog([], [], "o", color=PALETTE["black"], ms=5, label="this $n_h$")
        self.ax_err.set(xlim=(0.8, MAX_UNITS * 1.25), ylim=self.ERR_LIM, xlabel="hidden units $n_h$",
                        title="error vs $n_h$ (click to pick $n_h$)")
        self.ax_err.title.set_fontsize(9)
        self.ax_err.legend(loc="lower left", fontsize=LEGEND_FONTSIZE, framealpha=0.9)
        self.moving(self.target_line, self.fit_line, self.knot_marks, *self.unit_lines, self.max_line,
                    self.rms_line, self.now_marks)

    def draw(self, data) -> None:
        x, n = data["x"], data["n_units"]
        self.target_line.set_data(x, data["y"])
        self.fit_line.set_data(x, data["fit"])
        self.knot_marks.set_data(data["centres"], data["centre_values"])
        C = data["contributions"]
        for k, line in enumerate(self.unit_lines):
            line.set_visible(k < n)
            if k < n:
                line.set_data(x, C[:, k])
        floor = self.ERR_LIM[0] / 2  # an exact fit (|x| with an even number of ReLUs) sits on the floor
        curve = np.maximum(data["curve"], floor)
        self.max_line.set_data(data["curve_units"], curve[:, 0])
        self.rms_line.set_data(data["curve_units"], curve[:, 1])
        err = data["errors"]
        self.now_marks.set_data([n, n], np.maximum([err.max, err.rms], floor))
        exact = " (exact: the target is piecewise linear with these knots)" if err.max < 1e-12 else ""
        lo, hi = ap.DOMAIN
        self.readout = (f"n<sub>h</sub> = <b>{n}</b> hidden units &nbsp;·&nbsp; max error <b>{err.max:.4f}</b>, "
                        f"RMS error <b>{err.rms:.4f}</b> on {ERROR_POINTS} points of [{lo:g}, {hi:g}]{exact}")

    def on_pointer(self, ax, x: float, y: float) -> dict | None:
        """A click on the error plot picks that number of units."""
        if ax is self.ax_err:
            return {"n_units": int(np.clip(round(x), 1, MAX_UNITS))}
        return None

    def controls(self) -> dict:
        import ipywidgets as w

        return {
            "target": w.Dropdown(options=list(ap.TARGETS), value=self.params["target"], description="target"),
            "n_units": w.IntSlider(value=self.params["n_units"], min=1, max=MAX_UNITS, description="units nₕ"),
            "method": w.Dropdown(options=list(ap.METHODS), value=self.params["method"], description="hidden units"),
        }
