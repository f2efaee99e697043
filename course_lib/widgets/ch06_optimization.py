"""Chapter 06 widgets: an optimizer race on 2-D surfaces, and the convergence-rate map of momentum.

Both follow the course's pattern (:mod:`course_lib.widgets.base`): a pure ``compute`` that
calls :mod:`course_lib.optim` (the same update functions as the ``torch.optim``-compatible
classes) and a view that only moves artists, rendering its static parts once
(:class:`~course_lib.widgets.base.BlittedWidget`). Work that depends on one setting only is
cached: contours per surface, each optimizer's path per (start, steps, its own
hyper-parameters), the rate maps per condition number.
"""
from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from html import escape

import numpy as np
from matplotlib.patches import FancyArrowPatch

from course_lib.optim import functional as F
from course_lib.optim import quadratic as Q
from course_lib.optim.net_surface import NET_SLICE
from course_lib.optim.trajectory import race
from course_lib.surfaces import get_surface
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget
from course_lib.widgets.controls import grid_step, move_slider

# -- the optimizer race ---------------------------------------------------------------------------------
RACE_SURFACES = {s.name: s for s in [get_surface("rosenbrock"), get_surface("beale"), get_surface("saddle"),
                                     get_surface("ill_conditioned"), NET_SLICE]}
# A start and learning rates that make each surface's default race informative (nobody wins by default).
PRESETS = {
    "rosenbrock": dict(lr=1e-3, lr_adaptive=0.1, x0=-1.5, y0=2.0),
    "beale": dict(lr=3e-3, lr_adaptive=0.05, x0=1.0, y0=1.5),
    "saddle": dict(lr=0.01, lr_adaptive=0.01, x0=-1.5, y0=0.01),
    "ill_conditioned": dict(lr=0.12, lr_adaptive=0.05, x0=-1.8, y0=0.6),
    "net_slice": dict(lr=0.03, lr_adaptive=0.05, x0=-2.0, y0=2.0),
}
# (key, label, colour, adaptive?) in drawing order; the hyper-parameters come from _entrants().
RACERS = (("gd", "GD (SGD)", "black", False), ("momentum", "Momentum", "blue", False),
          ("nesterov", "Nesterov", "sky", False), ("adagrad", "AdaGrad", "green", True),
          ("rmsprop", "RMSProp", "purple", True), ("adam", "Adam", "vermillion", True))
EPS = 1e-8  # RMSProp's and Adam's epsilon (PyTorch's default); AdaGrad's is 1e-10
CONTOUR_N = 90
LOSS_FLOOR = 1e-12  # f - f* below this is drawn here on the log axis
MAX_STEPS = 500  # the steps slider's end, and the fixed step axis
# Learning rates a learner can pick: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 per decade (about evenly
# spaced on a log scale). A list rather than a log slider's grid, so that every preset (3e-3,
# 0.12, ...) is a value the slider really holds and the browser never moves it.
LR_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
SCALE_LIM = (1e-5, 1e2)  # the fixed axis of the adaptive step sizes (lines beyond it are clipped)
# Fixed axes: redrawing tick labels costs more than the whole rest of an update, so limits are
# set once per surface (loss) or once for all (steps, adaptive step sizes).


def _entrants(lr, lr_adaptive, momentum, beta1, beta2) -> dict:
    """Each racer's update rule and hyper-parameters (PyTorch's names) from the widget's controls."""
    return {
        "gd": (F.sgd_update, dict(lr=lr)),
        "momentum": (F.sgd_update, dict(lr=lr, momentum=momentum)),
        "nesterov": (F.sgd_update, dict(lr=lr, momentum=momentum, nesterov=momentum > 0)),
        "adagrad": (F.adagrad_update, dict(lr=lr_adaptive)),
        "rmsprop": (F.rmsprop_update, dict(lr=lr_adaptive, alpha=beta2, eps=EPS)),
        "adam": (F.adam_update, dict(lr=lr_adaptive, betas=(beta1, beta2), eps=EPS)),
    }


@lru_cache(maxsize=None)
def _field(name: str) -> dict:
    """What depends on the surface only: the contour grid and levels, the plotting box, the loss axis."""
    s = RACE_SURFACES[name]
    X, Y = s.grid(CONTOUR_N)
    Z = s.f(X, Y)
    levels = np.unique(np.quantile(Z, np.linspace(0.01, 0.99, 16) ** 2))  # denser near the bottom
    (xa, xb), (ya, yb) = s.domain
    pad_x, pad_y = 0.25 * (xb - xa), 0.25 * (yb - ya)  # runs stop a little outside the picture
    box = (np.array([xa - pad_x, ya - pad_y]), np.array([xb + pad_x, yb + pad_y]))
    f_min = min((float(s.f_at(np.array(m))) for m in s.minima), default=None)
    if f_min is not None:  # log axis of f - f*, from the floor to above the worst start in the picture
        loss_lim = (LOSS_FLOOR, 10 * float(Z.max() - f_min))
    else:  # no minimum (the saddle): f itself, over everything inside the box where runs stop
        BX, BY = np.meshgrid(np.linspace(box[0][0], box[1][0], 60), np.linspace(box[0][1], box[1][1], 60))
        FB = s.f(BX, BY)
        pad = 0.05 * float(FB.max() - FB.min())
        loss_lim = (float(FB.min()) - pad, float(Z.max()) + pad)
    return {"X": X, "Y": Y, "Z": Z, "levels": levels, "domain": s.domain, "f_min": f_min, "box": box,
            "loss_lim": loss_lim, "minima": np.array(s.minima).reshape(-1, 2)}


class PathCache:
    """A bounded least-recently-used store of racer paths that a call can never lose its own entries from.

    :meth:`paths` builds its answer from what it found and what it computed, in a dict of its own;
    eviction only ever touches the store. (Reading the answer back from the store after inserting
    the new paths let eviction drop entries of the same call: a KeyError froze the race.)
    Each racer is cached on its own, so a move of ``lr`` reruns the three SGD racers only, while
    the racers that do run share one vectorized :func:`course_lib.optim.trajectory.race`.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._store: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self._store)

    def paths(self, surface: str, x0: float, y0: float, steps: int, entrants: dict) -> dict:
        """Each racer's path for these settings, from the store or computed (the missing ones in one race)."""
        keys = {name: (name, surface, x0, y0, steps, tuple(sorted(hyper.items())))
                for name, (_, hyper) in entrants.items()}
        found = {}
        for name, key in keys.items():
            if key in self._store:
                self._store.move_to_end(key)
                found[name] = self._store[key]
        missing = [name for name in entrants if name not in found]
        if missing:
            runs = _run_racers(surface, x0, y0, steps, {name: entrants[name] for name in missing})
            for name, path in runs.items():
                found[name] = self._store[keys[name]] = path
            while len(self._store) > self.capacity:
                self._store.popitem(last=False)
        return {name: found[name] for name in entrants}


def _run_racers(surface: str, x0: float, y0: float, steps: int, entrants: dict) -> dict:
    """Race ``entrants`` from (x0, y0): points, loss, stop, next step, and the adaptive ones' step sizes."""
    s, field = RACE_SURFACES[surface], _field(surface)
    runs = race(list(entrants.values()), s.grad_at, (x0, y0), steps, box=field["box"])
    out = {}
    for (name, (_, hyper)), path in zip(entrants.items(), runs):
        loss = s.f(path.points[:, 0], path.points[:, 1])
        scale = (np.array([F.adaptive_scale(st, lr=hyper["lr"], eps=hyper.get("eps", 1e-10),
                                            betas=hyper.get("betas")) for st in path.states]).reshape(-1, 2)
                 if name in ("adagrad", "rmsprop", "adam") else None)
        out[name] = {"points": path.points, "loss": loss, "stopped_at": path.stopped_at,
                     "next_step": path.next_step, "scale": scale, "finite": bool(np.all(np.isfinite(path.points)))}
    return out


# 96 paths: the last 16 full races, enough for a learner going back and forth between settings.
_PATHS = PathCache(capacity=96)


def optimizer_race(surface: str = "rosenbrock", lr: float = 1e-3, lr_adaptive: float = 0.1, momentum: float = 0.9,
                   beta1: float = 0.9, beta2: float = 0.99, steps: int = 250, x0: float = -1.5,
                   y0: float = 2.0) -> dict:
    r"""Six optimizers from one start point on a 2-D surface: what :class:`OptimizerRace` shows.

    Parameters
    ----------
    surface : str
        A key of :data:`RACE_SURFACES`.
    lr : float
        Learning rate of GD, momentum and Nesterov (``torch.optim.SGD``).
    lr_adaptive : float
        Learning rate of AdaGrad, RMSProp and Adam. Their steps are about ``lr_adaptive`` per
        coordinate whatever the size of the gradient, so they need a rate of their own.
    momentum : float
        :math:`\beta` of momentum and Nesterov.
    beta1, beta2 : float
        Adam's :math:`\beta_1, \beta_2`; ``beta2`` is also RMSProp's ``alpha``.
    steps : int
    x0, y0 : float
        The start point.

    Returns
    -------
    dict
        ``racers``: per racer key, ``points`` (k+1, 2), ``loss`` (k+1,) (:math:`f`), ``stopped_at``,
        ``next_step`` (2,) and ``scale`` ((k, 2) per-coordinate step size of the adaptive ones,
        :func:`course_lib.optim.functional.adaptive_scale`; None for the others); ``field``
        (contours, domain, ``f_min``); ``surface``, ``title``, ``start``, ``steps``, ``log_loss``
        (whether the loss axis shows :math:`f - f^*` on a log scale: surfaces with a minimum).
    """
    steps = int(steps)
    entrants = _entrants(lr, lr_adaptive, momentum, beta1, beta2)
    field = _field(surface)
    return {"surface": surface, "title": RACE_SURFACES[surface].title, "start": np.array([x0, y0]),
            "steps": steps, "field": field, "log_loss": field["f_min"] is not None,
            "racers": _PATHS.paths(surface, float(x0), float(y0), steps, entrants)}


def learning_rates(lo_exp: int, hi_exp: int, *include: float) -> list[float]:
    """The learning rates on offer, :data:`LR_MANTISSAS` x 10^k from 10^lo_exp to 10^hi_exp, plus ``include``."""
    rates = {float(f"{m * 10.0 ** e:.6g}") for e in range(lo_exp, hi_exp) for m in LR_MANTISSAS}
    return sorted(rates | {10.0 ** hi_exp} | {float(v) for v in include})


# The readout table: padded cells (the browser gives an HTML widget's table no spacing of its own).
_CELL = "padding:1px 12px 1px 0; text-align:{align}; white-space:nowrap"
_HEAD = ("optimizer", "final loss f", "f − f*", "run", "next step")


def _race_row(label: str, colour: str, r: dict, data: dict) -> str:
    f_end = float(r["loss"][-1])
    k = len(r["points"]) - 1
    status = f"left the plot at step {r['stopped_at']}" if r["stopped_at"] is not None else f"{k} steps"
    gap = f"{f_end - data['field']['f_min']:.3g}" if data["log_loss"] else "n/a"
    cells = [f"{f_end:.4g}", gap, status, f"{np.hypot(*r['next_step']):.2g}"]
    left, right = _CELL.format(align="left"), _CELL.format(align="right")
    return (f"<tr><td style='{left}; color:{PALETTE[colour]}'><b>{escape(label)}</b></td>"
            + "".join(f"<td style='{left if i == 2 else right}'>{c}</td>" for i, c in enumerate(cells)) + "</tr>")


def race_readout(data: dict) -> str:
    """The table under the race: per optimizer its final loss, gap to the minimum, run and next step length."""
    x0, y0 = data["start"]
    head = "".join(f"<th style='{_CELL.format(align='left' if i in (0, 3) else 'right')}'>{h}</th>"
                   for i, h in enumerate(_HEAD))
    rows = "".join(_race_row(label, colour, data["racers"][key], data) for key, label, colour, _ in RACERS)
    return (f"<div>{escape(data['title'])}, start ({x0:.2f}, {y0:.2f}), {data['steps']} steps. "
            "<i>next step</i>: the length of the step each optimizer would take next.</div>"
            f"<table style='border-collapse:collapse; margin-top:4px'><tr>{head}</tr>{rows}</table>")


@register_widget
class OptimizerRace(BlittedWidget):
    """GD, momentum, Nesterov, AdaGrad, RMSProp and Adam from one start: paths, loss, adaptive scales."""

    name = "06.optimizer_race"
    figsize = (10.0, 4.6)
    compute = staticmethod(optimizer_race)

    @classmethod
    def defaults(cls) -> dict:
        # beta2 = 0.99 (PyTorch's default is 0.999): it is also RMSProp's alpha, and without a bias
        # correction RMSProp's first step is 1/sqrt(1 - alpha) times the learning rate.
        return {"surface": "rosenbrock", **PRESETS["rosenbrock"], "momentum": 0.9, "beta1": 0.9, "beta2": 0.99,
                "steps": 250}

    def build(self, fig) -> None:
        gs = fig.add_gridspec(2, 2, width_ratios=[1.25, 1.0])
        ax = self.ax = fig.add_subplot(gs[:, 0])
        ax.set(xlabel="x", ylabel="y")
        self.contour, self._contour_of = None, None
        (self.minima,) = ax.plot([], [], "*", color=PALETTE["yellow"], mec="black", ms=14, zorder=3, label="minimum")
        self.paths, self.ends, self.arrows, self.losses, self.scales = {}, {}, {}, {}, {}
        self.ax_loss = fig.add_subplot(gs[0, 1])
        self.ax_scale = fig.add_subplot(gs[1, 1], sharex=self.ax_loss)
        for key, label, colour, adaptive in RACERS:
            c = PALETTE[colour]
            self.paths[key] = ax.plot([], [], "-", color=c, lw=1.6, label=label, zorder=4)[0]
            self.ends[key] = ax.plot([], [], "o", color=c, mec="white", ms=6, zorder=5)[0]
            self.arrows[key] = ax.add_patch(FancyArrowPatch((0, 0), (0, 0), arrowstyle="-|>", mutation_scale=12,
                                                            color=c, lw=1.8, zorder=6))
            self.losses[key] = self.ax_loss.plot([], [], color=c, lw=1.4)[0]
            if adaptive:
                self.scales[key] = [self.ax_scale.plot([], [], ls, color=c, lw=1.3)[0] for ls in ("-", "--")]
        (self.start,) = ax.plot([], [], "o", ms=9, mfc="white", mec="black", mew=2, zorder=7, label="start (drag me)")
        fig.legend(loc="outside lower center", ncols=8, fontsize=LEGEND_FONTSIZE, frameon=False,
                   columnspacing=1.2, handlelength=1.6)
        self.moving(*self.paths.values(), *self.ends.values(), *self.arrows.values(), self.start)

        self.ax_loss.set(ylabel="loss", title="loss against step", xlim=(0, MAX_STEPS))
        self.ax_loss.tick_params(labelbottom=False)
        self.ax_scale.set(xlabel="step", ylabel="η / (√v̂ + ε)", yscale="log", ylim=SCALE_LIM,
                          title="adaptive per-coordinate step (x solid, y dashed)")
        for a in (self.ax_loss, self.ax_scale):
            a.grid(alpha=0.3)
        self.moving(*self.losses.values(), *[line for pair in self.scales.values() for line in pair])

    def _redraw_surface(self, data) -> None:
        """On a change of surface only: contours, minima, limits and loss scale (a new background)."""
        field = data["field"]
        if self.contour is not None:
            self.contour.remove()
        self.contour = self.ax.contour(field["X"], field["Y"], field["Z"], levels=field["levels"], colors="#aaaaaa",
                                       linewidths=0.7, zorder=1)
        self.minima.set_data(field["minima"][:, 0], field["minima"][:, 1])
        (xa, xb), (ya, yb) = field["domain"]
        self.ax.set(xlim=(xa, xb), ylim=(ya, yb), title=data["title"])
        self.ax_loss.set_yscale("log" if data["log_loss"] else "linear")
        self.ax_loss.set_ylim(field["loss_lim"])
        self.ax_loss.set_ylabel("f − f*  (log)" if data["log_loss"] else "f")
        self._contour_of = data["surface"]
        self._background = None

    def draw(self, data) -> None:
        if data["surface"] != self._contour_of:
            self._redraw_surface(data)
        self.start.set_data([data["start"][0]], [data["start"][1]])
        f_min = data["field"]["f_min"]
        for key, label, colour, adaptive in RACERS:
            r = data["racers"][key]
            pts = r["points"]
            self.paths[key].set_data(pts[:, 0], pts[:, 1])
            self.ends[key].set_data(pts[-1:, 0], pts[-1:, 1])
            arrow = self.arrows[key]
            arrow.set_positions(tuple(pts[-1]), tuple(pts[-1] + r["next_step"]))
            arrow.set_visible(bool(np.hypot(*r["next_step"]) > 0))
            y = np.maximum(r["loss"] - f_min, LOSS_FLOOR) if data["log_loss"] else r["loss"]
            self.losses[key].set_data(np.arange(len(y)), y)
            if adaptive:
                t = np.arange(1, len(r["scale"]) + 1)
                for line, col in zip(self.scales[key], r["scale"].T):
                    line.set_data(t, col)
        self.readout = race_readout(data)

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        x_slider, y_slider = self._start_grid(p["surface"], p["x0"], p["y0"])

        def rates(key, lo_exp, hi_exp, description):
            options = [(f"{v:.1e}", v) for v in learning_rates(lo_exp, hi_exp, p[key])]
            return w.SelectionSlider(options=options, value=p[key], description=description)

        return {
            "surface": w.Dropdown(options=[(s.title, k) for k, s in RACE_SURFACES.items()], value=p["surface"],
                                  description="surface"),
            "lr": rates("lr", -5, 0, "lr"),
            "lr_adaptive": rates("lr_adaptive", -4, 0, "lr adaptive"),
            "momentum": w.FloatSlider(value=p["momentum"], min=0.0, max=0.99, step=0.01, description="momentum"),
            "beta1": w.FloatSlider(value=p["beta1"], min=0.0, max=0.99, step=0.01, description="beta1"),
            "beta2": w.FloatSlider(value=p["beta2"], min=0.5, max=0.9999, step=0.0001, description="beta2",
                                   readout_format=".4f"),
            "steps": w.IntSlider(value=p["steps"], min=10, max=MAX_STEPS, step=10, description="steps"),
            "x0": w.FloatSlider(description="start x", **x_slider),
            "y0": w.FloatSlider(description="start y", **y_slider),
        }

    @staticmethod
    def _start_grid(surface: str, x0: float, y0: float) -> tuple[dict, dict]:
        """Range, step and value of the start sliders on ``surface``: every preset start is on the grid."""
        (xa, xb), (ya, yb) = RACE_SURFACES[surface].domain
        starts = [PRESETS[surface]]
        return ({"min": xa, "max": xb, "step": grid_step(xa, xb, *(q["x0"] for q in starts)), "value": x0},
                {"min": ya, "max": yb, "step": grid_step(ya, yb, *(q["y0"] for q in starts)), "value": y0})

    def on_pointer(self, ax, x, y):
        """A press or drag on the contour plot moves the start point there."""
        return {"x0": x, "y0": y} if ax is self.ax else None

    def update(self, **changes):
        if "surface" in changes and changes["surface"] != self.params["surface"]:
            preset = PRESETS[changes["surface"]]
            for k, v in preset.items():
                changes.setdefault(k, v)
            if self._controls is not None:  # the sliders follow the new surface's domain and preset
                x_slider, y_slider = self._start_grid(changes["surface"], changes["x0"], changes["y0"])
                with self.quietly():
                    # Range, step and value in one message each: see move_slider.
                    move_slider(self._controls["x0"], x_slider["value"], x_slider["min"], x_slider["max"],
                                x_slider["step"])
                    move_slider(self._controls["y0"], y_slider["value"], y_slider["min"], y_slider["max"],
                                y_slider["step"])
                    for k in ("lr", "lr_adaptive"):
                        self._controls[k].value = changes[k]
        return super().update(**changes)


# -- momentum: the convergence-rate map ------------------------------------------------------------------
MAP_N = 48  # grid points per axis
MAP_STEPS = 160  # steps per run for the measured map
CURVE_STEPS = 300  # steps of the error curves
LR_RANGE = (0.02, 4.0)  # eta * lambda_max, the step in units of 1/lambda_max
BETA_RANGE = (0.0, 0.98)
RATE_TICKS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


def _digits(rate):
    r""":math:`-\log_{10}(1 - \rho)`, the colour coordinate of a rate (digits gained per step).

    Rates beyond the last tick but below 1 get the darkest colour; rates >= 1 (divergence) map
    above the scale, to the "over" colour.
    """
    rate = np.asarray(rate, dtype=np.float64)
    top = -np.log10(1 - RATE_TICKS[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = -np.log10(1 - np.minimum(rate, RATE_TICKS[-1]))
    return np.where(rate < 1, digits, top + 1.0)


@lru_cache(maxsize=32)
def _rate_maps(kappa: float) -> dict:
    """Measured and theoretical rates over the (lr, momentum) grid for eigenvalues 1/kappa and 1."""
    lam = np.array([1.0 / kappa, 1.0])
    lrs = np.linspace(*LR_RANGE, MAP_N)
    betas = np.linspace(*BETA_RANGE, MAP_N)
    LR, B = np.meshgrid(lrs, betas)
    measured = Q.measured_rate(Q.heavy_ball_errors(lam, LR, B, MAP_STEPS))
    return {"lrs": lrs, "betas": betas, "measured": measured, "theory": Q.heavy_ball_rate(LR, B, lam)}


def momentum_rates(kappa: float = 100.0, lr: float = 1.0, momentum: float = 0.5) -> dict:
    r"""The convergence rate of SGD with momentum on :math:`\tfrac12(\lambda_{\min} x^2 + \lambda_{\max} y^2)`.

    With :math:`\lambda_{\max} = 1` and :math:`\lambda_{\min} = 1/\kappa`, so a step size is :math:`\eta\lambda_{\max}`.

    Parameters
    ----------
    kappa : float >= 1
        Condition number :math:`\kappa = \lambda_{\max}/\lambda_{\min}`.
    lr, momentum : float
        The chosen point :math:`(\eta\lambda_{\max}, \beta)`.

    Returns
    -------
    dict
        ``lrs`` (MAP_N,), ``betas`` (MAP_N,), ``measured`` and ``theory`` (MAP_N, MAP_N) rate maps
        (rows: momentum, columns: lr; measured by :func:`course_lib.optim.quadratic.measured_rate`
        on runs of :func:`course_lib.optim.functional.sgd_update`, theory by
        :func:`course_lib.optim.quadratic.heavy_ball_rate`); at the point: ``rate_measured``,
        ``rate_theory``, ``errors`` (CURVE_STEPS + 1,); the optimum ``best`` = (lr, momentum, rate)
        with its ``best_errors``; gradient descent's optimum ``gd`` = (lr, rate) and ``gd_errors``.
    """
    kappa = float(kappa)
    maps = _rate_maps(round(kappa, 6))
    lam = np.array([1.0 / kappa, 1.0])
    best = Q.optimal_heavy_ball(1.0, 1.0 / kappa)
    gd_lr = Q.optimal_gd_lr(1.0, 1.0 / kappa)
    errors = Q.heavy_ball_errors(lam, np.array([lr, best[0], gd_lr]), np.array([momentum, best[1], 0.0]),
                                 CURVE_STEPS)
    errors = errors / errors[0]
    return {**maps, "kappa": kappa, "lr": lr, "momentum": momentum,
            "rate_theory": float(Q.heavy_ball_rate(lr, momentum, lam)),
            "rate_measured": float(Q.measured_rate(errors[:, 0])),
            "errors": errors[:, 0], "best": best, "best_errors": errors[:, 1],
            "gd": (gd_lr, Q.optimal_gd_rate(kappa)), "gd_errors": errors[:, 2]}


def _steps_text(rate: float) -> str:
    n = Q.iterations_to(1e-6, rate)
    return "never (diverges)" if not np.isfinite(n) else f"{int(n)}"


@register_widget
class MomentumRateMap(BlittedWidget):
    """(step size, momentum) maps of the convergence rate on a quadratic: measured beside theory."""

    name = "06.momentum_rates"
    figsize = (10.4, 4.2)
    compute = staticmethod(momentum_rates)

    @classmethod
    def defaults(cls) -> dict:
        return {"kappa": 100.0, "lr": 1.0, "momentum": 0.5}

    def build(self, fig) -> None:
        import matplotlib
        from matplotlib.colors import Normalize

        axes = fig.subplots(1, 3, width_ratios=[1, 1, 1.15])
        self.ax_measured, self.ax_theory, self.ax_curve = axes
        # Colour = digits of accuracy gained per step, -log10(1 - rate): rates near 1, where the
        # choices are, get most of the scale. Bright is fast; grey is rate >= 1 (diverges).
        cmap = matplotlib.colormaps["cividis_r"].with_extremes(over="#d9d9d9")
        norm = Normalize(vmin=_digits(RATE_TICKS[0]), vmax=_digits(RATE_TICKS[-1]), clip=False)
        extent = (*LR_RANGE, *BETA_RANGE)
        self.images, self.optima, self.gd_marks, self.points = [], [], [], []
        for ax, title in [(self.ax_measured, "measured rate"), (self.ax_theory, "theory: spectral radius")]:
            img = ax.imshow(np.zeros((MAP_N, MAP_N)), origin="lower", extent=extent, aspect="auto", cmap=cmap,
                            norm=norm, interpolation="nearest")
            self.images.append(img)
            self.optima.append(ax.plot([], [], "*", color=PALETTE["yellow"], mec="black", ms=13,
                                       label="optimal momentum")[0])
            self.gd_marks.append(ax.plot([], [], "s", color="white", mec="black", ms=7, label="optimal GD",
                                         clip_on=False)[0])
            self.points.append(ax.plot([], [], "o", mfc="none", mec=PALETTE["vermillion"], mew=2.5, ms=10,
                                       label="your point (drag)")[0])
            ax.set(xlabel=r"step size $\eta\lambda_{\max}$", title=title)
        self.ax_measured.set_ylabel("momentum β")
        self.ax_theory.tick_params(labelleft=False)
        # Legends under their panels: inside, they covered the maps and the curves.
        fig.legend(*self.ax_measured.get_legend_handles_labels(), loc="outside lower left", ncols=3,
                   fontsize=LEGEND_FONTSIZE, frameon=False)
        bar = fig.colorbar(self.images[1], ax=[self.ax_measured, self.ax_theory], extend="max", pad=0.02,
                           fraction=0.04)
        bar.set_ticks([_digits(r) for r in RATE_TICKS], labels=[f"{r:g}" for r in RATE_TICKS])
        bar.ax.tick_params(labelsize=8)
        bar.ax.set_title("rate ρ", fontsize=9)
        bar.set_label("grey: ρ ≥ 1 (diverges)", fontsize=9)
        ax = self.ax_curve
        ax.set(yscale="log", ylim=(1e-16, 1e4), xlim=(0, CURVE_STEPS), xlabel="step t",
               ylabel="‖θ_t‖ / ‖θ_0‖", title="error against step")
        ax.grid(alpha=0.3)
        (self.curve,) = ax.plot([], [], color=PALETTE["vermillion"], lw=2, label="your point")
        (self.curve_theory,) = ax.plot([], [], "--", color=PALETTE["black"], lw=1, label="ρ^t (theory)")
        (self.curve_best,) = ax.plot([], [], color=PALETTE["blue"], lw=1.5, label="optimal momentum")
        (self.curve_gd,) = ax.plot([], [], color=PALETTE["grey"], lw=1.5, label="optimal GD")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower right", ncols=2, fontsize=LEGEND_FONTSIZE,
                   frameon=False)
        self.moving(*self.images, *self.optima, *self.gd_marks, *self.points, self.curve, self.curve_theory,
                    self.curve_best, self.curve_gd)

    def draw(self, data) -> None:
        for img, key in zip(self.images, ["measured", "theory"]):
            img.set_data(_digits(data[key]))
        best_lr, best_beta, best_rate = data["best"]
        gd_lr, gd_rate = data["gd"]
        for opt, gd, point in zip(self.optima, self.gd_marks, self.points):
            opt.set_data([best_lr], [best_beta])
            gd.set_data([gd_lr], [0.0])
            point.set_data([data["lr"]], [data["momentum"]])
        t = np.arange(CURVE_STEPS + 1)
        self.curve.set_data(t, np.maximum(data["errors"], 1e-300))
        with np.errstate(over="ignore", divide="ignore"):
            self.curve_theory.set_data(t, np.minimum(data["rate_theory"] ** t, 1e300))
        self.curve_best.set_data(t, data["best_errors"])
        self.curve_gd.set_data(t, data["gd_errors"])
        kappa = data["kappa"]
        self.readout = (
            f"κ = {kappa:.4g} (eigenvalues λ<sub>min</sub> = 1/κ and λ<sub>max</sub> = 1). <b>Your point</b> "
            f"ηλ<sub>max</sub> = {data['lr']:.3f}, "
            f"β = {data['momentum']:.2f}: measured rate <b>{data['rate_measured']:.4f}</b>, "
            f"theory <b>{data['rate_theory']:.4f}</b>; steps to shrink the error 10⁶-fold: "
            f"{_steps_text(data['rate_theory'])}.<br>"
            f"Optimal momentum (Polyak): ηλ<sub>max</sub> = {best_lr:.3f}, β = {best_beta:.3f}, rate "
            f"(√κ−1)/(√κ+1) = {best_rate:.4f}, {_steps_text(best_rate)} steps. Optimal GD: ηλ<sub>max</sub> = "
            f"2/(1+1/κ) = {gd_lr:.3f}, "
            f"rate (κ−1)/(κ+1) = {gd_rate:.4f}, {_steps_text(gd_rate)} steps.")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "kappa": w.FloatLogSlider(value=p["kappa"], base=10, min=0, max=3, step=0.05, description="kappa",
                                      readout_format=".3g"),
            "lr": w.FloatSlider(value=p["lr"], min=LR_RANGE[0], max=LR_RANGE[1], step=0.01, description="η·λₘₐₓ"),
            "momentum": w.FloatSlider(value=p["momentum"], min=BETA_RANGE[0], max=BETA_RANGE[1], step=0.01,
                                      description="momentum β"),
        }

    def on_pointer(self, ax, x, y):
        """A press or drag on either map picks the point (lr, momentum) there."""
        if ax in (self.ax_measured, self.ax_theory):
            return {"lr": float(np.clip(x, *LR_RANGE)), "momentum": float(np.clip(y, *BETA_RANGE))}
        return None
