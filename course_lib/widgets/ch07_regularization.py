"""Chapter 07 widgets: polynomial fits with degree and lambda, L1 against L2 geometry, and activations
with and without batch normalization and dropout.

Each widget is a pure ``compute`` on :mod:`course_lib.regularization` and a view that only
moves artists over a background rendered once (:class:`~course_lib.widgets.base.BlittedWidget`);
the axes are fixed so that no tick label is redrawn on a slider move.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from course_lib import regularization as R
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget

# -- polynomial regression: degree and lambda ------------------------------------------------------------
MAX_DEGREE = 15
LAMS = np.logspace(-8, 2, 41)
NOISE = 0.25


def true_function(x):
    r"""The curve behind the data: :math:`f(x) = \sin(2.5x) + 0.5x`."""
    return np.sin(2.5 * x) + 0.5 * x


@lru_cache(maxsize=1)
def _poly_data() -> dict:
    """A fixed pool of 100 training points (the first ``n_train`` are used) and 300 validation points."""
    rng = np.random.default_rng(7)
    x, xv = rng.uniform(-1, 1, 100), rng.uniform(-1, 1, 300)
    return {"x": x, "y": true_function(x) + NOISE * rng.standard_normal(100),
            "xv": xv, "yv": true_function(xv) + NOISE * rng.standard_normal(300)}


def _mse(w, x, y, degree) -> float:
    r = R.polynomial_features(x, degree) @ w - y
    return float(np.mean(r * r))


def polynomial_fit(degree: int = 9, lam: float = 1e-6, n_train: int = 20) -> dict:
    r"""Ridge regression of degree ``degree`` on ``n_train`` noisy points, and its errors.

    Parameters
    ----------
    degree : int in [0, MAX_DEGREE]
    lam : float
        L2 strength :math:`\lambda` of :func:`course_lib.regularization.fit_polynomial`.
    n_train : int in [5, 100]

    Returns
    -------
    dict
        ``x``, ``y`` (training), ``xv``, ``yv`` (validation), ``grid`` and ``fit`` (the fitted curve) and
        ``truth``; ``w``; ``train_mse``, ``val_mse``; ``by_degree``: train and validation MSE for every degree
        at this :math:`\lambda`; ``by_lam``: the same for every :math:`\lambda` of ``LAMS`` at this degree.
    """
    d, degree, n = _poly_data(), int(degree), int(n_train)
    x, y = d["x"][:n], d["y"][:n]
    grid = np.linspace(-1, 1, 200)
    w = R.fit_polynomial(x, y, degree, lam)

    def errors(deg, lam_):
        w_ = R.fit_polynomial(x, y, deg, lam_)
        return _mse(w_, x, y, deg), _mse(w_, d["xv"], d["yv"], deg)

    by_degree = np.array([errors(k, lam) for k in range(MAX_DEGREE + 1)])
    by_lam = np.array([errors(degree, lam_) for lam_ in LAMS])
    return {"degree": degree, "lam": lam, "n_train": n, "x": x, "y": y, "xv": d["xv"], "yv": d["yv"],
            "grid": grid, "fit": R.polynomial_features(grid, degree) @ w, "truth": true_function(grid), "w": w,
            "train_mse": _mse(w, x, y, degree), "val_mse": _mse(w, d["xv"], d["yv"], degree),
            "by_degree": by_degree, "by_lam": by_lam}


@register_widget
class PolynomialFit(BlittedWidget):
    """Fit a polynomial to noisy points: the degree and the L2 strength against train and validation error."""

    name = "07.polynomial_fit"
    figsize = (10.6, 4.1)
    compute = staticmethod(polynomial_fit)

    @classmethod
    def defaults(cls) -> dict:
        return {"degree": 9, "lam": 1e-6, "n_train": 20}

    def build(self, fig) -> None:
        ax, ax_deg, ax_lam = fig.subplots(1, 3, width_ratios=[1.3, 1, 1])
        self.ax, self.ax_deg, self.ax_lam = ax, ax_deg, ax_lam
        d = _poly_data()
        ax.plot(d["xv"], d["yv"], ".", color=PALETTE["grey"], ms=3, alpha=0.5, label="validation data")
        grid = np.linspace(-1, 1, 200)
        ax.plot(grid, true_function(grid), "--", color=PALETTE["black"], lw=1.2, label="true f(x)")
        (self.train_pts,) = ax.plot([], [], "o", color=PALETTE["blue"], ms=5, label="training data")
        (self.fit,) = ax.plot([], [], color=PALETTE["vermillion"], lw=2, label="fitted polynomial")
        ax.set(xlim=(-1.05, 1.05), ylim=(-2.5, 2.5), xlabel="x", ylabel="y", title="fit")
        # Legends under the panels: inside, they sat on the data.
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower left", ncols=2, fontsize=LEGEND_FONTSIZE,
                   frameon=False)
        for a, xs, xlabel, title in [(ax_deg, np.arange(MAX_DEGREE + 1), "degree", "error against degree"),
                                     (ax_lam, LAMS, "λ", "error against λ")]:
            a.set(yscale="log", ylim=(1e-3, 1e2), xlabel=xlabel, ylabel="mean squared error", title=title)
            a.grid(alpha=0.3)
            a.axhline(NOISE ** 2, color=PALETTE["grey"], lw=0.8, ls=":", label="noise level σ²")
        ax_lam.set_xscale("log")
        ax_lam.set_xlim(LAMS[0], LAMS[-1])
        ax_deg.set_xlim(-0.5, MAX_DEGREE + 0.5)
        self.curves = {}
        for a, key in [(ax_deg, "by_degree"), (ax_lam, "by_lam")]:
            self.curves[key] = (a.plot([], [], "o-", ms=3, color=PALETTE["blue"], label="train")[0],
                                a.plot([], [], "o-", ms=3, color=PALETTE["orange"], label="validation")[0],
                                a.axvline(1, color=PALETTE["vermillion"], lw=1.2))
        fig.legend(*ax_deg.get_legend_handles_labels(), loc="outside lower right", ncols=3,
                   fontsize=LEGEND_FONTSIZE, frameon=False)
        self.moving(self.train_pts, self.fit, *[a for trio in self.curves.values() for a in trio])

    def draw(self, data) -> None:
        self.train_pts.set_data(data["x"], data["y"])
        self.fit.set_data(data["grid"], np.clip(data["fit"], -10, 10))
        for key, xs, at in [("by_degree", np.arange(MAX_DEGREE + 1), data["degree"]), ("by_lam", LAMS, data["lam"])]:
            train, val, marker = self.curves[key]
            train.set_data(xs, data[key][:, 0])
            val.set_data(xs, data[key][:, 1])
            marker.set_xdata([at, at])
        best = int(np.argmin(data["by_degree"][:, 1]))
        self.readout = (
            f"degree {data['degree']}, λ = {data['lam']:.1e}, {data['n_train']} training points: "
            f"<b>train MSE {data['train_mse']:.4f}</b>, <b>validation MSE {data['val_mse']:.4f}</b> "
            f"(noise level σ² = {NOISE ** 2:.4f}); ‖w‖₂ = {np.linalg.norm(data['w']):.3g}. "
            f"At this λ the best degree is {best} (validation MSE {data['by_degree'][best, 1]:.4f}).")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "degree": w.IntSlider(value=p["degree"], min=0, max=MAX_DEGREE, description="degree"),
            "lam": w.FloatLogSlider(value=p["lam"], base=10, min=-8, max=2, step=0.25, description="λ",
                                    readout_format=".1e"),
            "n_train": w.IntSlider(value=p["n_train"], min=5, max=100, step=5, description="train points"),
        }


# -- L1 against L2: the constraint geometry -----------------------------------------------------------------
PATH_LAMS = np.logspace(-2, 1.5, 50)
LIM = 3.0


def _hessian(angle: float, ratio: float = 4.0) -> np.ndarray:
    """The loss's curvature: eigenvalues 1 and ``ratio`` along axes rotated by ``angle`` (degrees)."""
    a = np.radians(angle)
    Rm = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return Rm @ np.diag([1.0, ratio]) @ Rm.T


def _ellipse(H, centre, level, n: int = 120) -> np.ndarray:
    r"""Points of :math:`\tfrac12(\mathbf{w}-\mathbf{c})^\top\mathbf{H}(\mathbf{w}-\mathbf{c}) = \text{level}`, shape (n, 2)."""
    lam, V = np.linalg.eigh(H)
    t = np.linspace(0, 2 * np.pi, n)
    return centre[:, None] + (V * np.sqrt(2 * max(level, 0.0) / lam)) @ np.stack([np.cos(t), np.sin(t)])


def _ball(norm: str, radius: float, n: int = 200) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    c, s = np.cos(t), np.sin(t)
    if norm == "l1":  # |x| + |y| = r: scale each direction onto the diamond
        return radius * np.stack([c, s]) / (np.abs(c) + np.abs(s))
    return radius * np.stack([c, s])


def constraint_geometry(lam: float = 1.0, w1: float = 2.0, w2: float = 0.4, angle: float = 20.0) -> dict:
    r"""Penalized least squares in 2-D, with L2 and with L1, as loss contours meeting a norm ball.

    Parameters
    ----------
    lam : float
        Penalty strength (:math:`\tfrac\lambda2\lVert\mathbf{w}\rVert_2^2` or :math:`\lambda\lVert\mathbf{w}\rVert_1`).
    w1, w2 : float
        The unpenalized minimum :math:`\mathbf{w}_{LS}`.
    angle : float
        Rotation (degrees) of the loss's elliptical contours (curvatures 1 and 4).

    Returns
    -------
    dict with, per norm ``"l2"`` and ``"l1"``: ``w`` (the solution, :func:`course_lib.regularization.quadratic_penalized`),
    ``radius`` (its norm: the ball it lies on), ``ball`` (2, n), ``contours`` (list of (2, n): the level through
    ``w`` first), ``path`` (solutions for ``PATH_LAMS``), ``zeros`` (exactly zero coordinates); and ``w_ls``.
    """
    H, w_ls = _hessian(angle), np.array([w1, w2])
    out = {"w_ls": w_ls, "lam": lam}
    for norm in ("l2", "l1"):
        w = R.quadratic_penalized(H, w_ls, lam, norm)
        radius = float(np.sum(np.abs(w)) if norm == "l1" else np.linalg.norm(w))
        level = 0.5 * (w - w_ls) @ H @ (w - w_ls)
        out[norm] = {"w": w, "radius": radius, "ball": _ball(norm, radius),
                     "contours": [_ellipse(H, w_ls, level * k) for k in (1.0, 0.25, 2.5, 5.0)],
                     "path": R.quadratic_penalized(H, w_ls, PATH_LAMS, norm), "zeros": int(np.sum(w == 0)),
                     "loss": float(level)}
    return out


@register_widget
class ConstraintGeometry(BlittedWidget):
    """L2 (circle) against L1 (diamond): where the loss contours first touch the ball is the solution."""

    name = "07.constraint_geometry"
    # Not taller: with equal-aspect panels, constrained layout then pushes the titles off the top.
    figsize = (8.6, 4.4)
    compute = staticmethod(constraint_geometry)

    @classmethod
    def defaults(cls) -> dict:
        return {"lam": 1.0, "w1": 2.0, "w2": 0.4, "angle": 20.0}

    def build(self, fig) -> None:
        self.axes = dict(zip(("l2", "l1"), fig.subplots(1, 2)))
        self.art = {}
        for norm, ax in self.axes.items():
            ax.set(xlim=(-LIM, LIM), ylim=(-LIM, LIM), xlabel="$w_1$", ylabel="$w_2$", aspect="equal",
                   title="L2: λ/2 ‖w‖₂²  (a circle)" if norm == "l2" else "L1: λ ‖w‖₁  (a diamond)")
            ax.axhline(0, color=PALETTE["grey"], lw=0.7)
            ax.axvline(0, color=PALETTE["grey"], lw=0.7)
            colour = PALETTE["blue"] if norm == "l2" else PALETTE["green"]
            art = {"ball": ax.fill([], [], color=colour, alpha=0.25, lw=1.5, ec=colour, label="‖w‖ ≤ ‖w*‖")[0],
                   "contours": [ax.plot([], [], color=PALETTE["orange"], lw=2 if k == 0 else 0.8,
                                        label="loss contours" if k == 0 else None)[0] for k in range(4)],
                   "path": ax.plot([], [], ":", color=PALETTE["black"], lw=1.2, label="solutions as λ grows")[0],
                   "ls": ax.plot([], [], "X", color=PALETTE["black"], ms=9, label="unpenalized minimum (drag)")[0],
                   "w": ax.plot([], [], "o", color=PALETTE["vermillion"], mec="white", ms=9, label="solution w*")[0]}
            self.art[norm] = art
            self.moving(art["ball"], *art["contours"], art["path"], art["ls"], art["w"])
        # One legend for both panels, under them: inside, it covered the diamond's lower left.
        fig.legend(*self.axes["l1"].get_legend_handles_labels(), loc="outside lower center", ncols=3,
                   fontsize=LEGEND_FONTSIZE, frameon=False)

    def draw(self, data) -> None:
        for norm, art in self.art.items():
            d = data[norm]
            art["ball"].set_xy(d["ball"].T)
            for line, pts in zip(art["contours"], d["contours"]):
                line.set_data(*pts)
            art["path"].set_data(*d["path"].T)
            art["ls"].set_data([data["w_ls"][0]], [data["w_ls"][1]])
            art["w"].set_data([d["w"][0]], [d["w"][1]])
        l1, l2 = data["l1"], data["l2"]
        self.readout = (
            f"λ = {data['lam']:.3g}, unpenalized minimum ({data['w_ls'][0]:.2f}, {data['w_ls'][1]:.2f}). "
            f"<b>L2</b>: w* = ({l2['w'][0]:.3f}, {l2['w'][1]:.3f}), ‖w*‖₂ = {l2['radius']:.3f}, "
            f"{l2['zeros']} exact zero(s). <b>L1</b>: w* = ({l1['w'][0]:.3f}, {l1['w'][1]:.3f}), "
            f"‖w*‖₁ = {l1['radius']:.3f}, <b>{l1['zeros']} exact zero(s)</b>.")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "lam": w.FloatLogSlider(value=p["lam"], base=10, min=-2, max=1.5, step=0.05, description="λ"),
            "w1": w.FloatSlider(value=p["w1"], min=-LIM, max=LIM, step=0.05, description="w_LS 1"),
            "w2": w.FloatSlider(value=p["w2"], min=-LIM, max=LIM, step=0.05, description="w_LS 2"),
            "angle": w.FloatSlider(value=p["angle"], min=0.0, max=180.0, step=5.0, description="contour angle"),
        }

    def on_pointer(self, ax, x, y):
        """A press or drag on either panel moves the unpenalized minimum there."""
        return {"w1": float(np.clip(x, -LIM, LIM)), "w2": float(np.clip(y, -LIM, LIM))}


# -- activations with and without batch normalization and dropout --------------------------------------------
DEPTH, WIDTH, BATCH = 6, 64, 256
BINS = {"tanh": np.linspace(-1, 1, 41), "relu": np.linspace(0, 3, 41)}
STD_LIM = (1e-3, 1e1)


@lru_cache(maxsize=1)
def _digits_batch() -> np.ndarray:
    from sklearn.datasets import load_digits

    X = load_digits().data[:BATCH] / 16.0
    return (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)


@lru_cache(maxsize=8)
def _weights(scale: float, activation: str) -> tuple:
    """Layer weights with std ``scale / sqrt(fan_in)`` (scale 1 is LeCun's; He's is sqrt 2 for ReLU)."""
    rng = np.random.default_rng(0)
    sizes = [64] + [WIDTH] * DEPTH
    return tuple(rng.standard_normal((n_out, n_in)) * scale / np.sqrt(n_in) for n_in, n_out in zip(sizes, sizes[1:]))


def activation_stats(activation: str = "tanh", scale: float = 1.0, batch_norm: bool = False, dropout: float = 0.0,
                     training: bool = True) -> dict:
    """Activations of a 6-layer MLP on a batch of 256 digits, layer by layer.

    Parameters
    ----------
    activation : {"tanh", "relu"}
    scale : float
        Weight scale (std ``scale / sqrt(fan_in)``).
    batch_norm : bool
        :func:`course_lib.regularization.batchnorm_forward` (training) or its evaluation form before each activation.
    dropout : float
        :func:`course_lib.regularization.dropout` after each activation.
    training : bool
        Training mode (batch statistics, dropout on) or evaluation mode (running statistics from one
        pass in training mode, dropout off).

    Returns
    -------
    dict with ``hist`` (DEPTH, bins) densities of each layer's activations, ``std`` and ``mean`` (DEPTH,),
    ``saturated`` (fraction of tanh units with :math:`|a| > 0.99`, or of ReLU outputs equal to 0),
    ``mean_eval`` (DEPTH,) the layer means in evaluation mode, ``bins``.
    """
    both = _activation_stats(activation, float(scale), bool(batch_norm), float(dropout))
    mode = both["train" if training else "eval"]
    return {**mode, "activation": activation, "bins": BINS[activation], "mean_eval": both["eval"]["mean"],
            "mean_train": both["train"]["mean"], "training": training, "dropout": dropout, "batch_norm": batch_norm}


@lru_cache(maxsize=512)
def _activation_stats(activation: str, scale: float, batch_norm: bool, dropout: float) -> dict:
    """Per-layer statistics in training and in evaluation mode for one setting (see :func:`activation_stats`).

    Cached per setting: a learner who moves a slider back, or flips the training-mode box
    (which only picks one of the two results), costs nothing. The arrays are read-only, since
    every call with these settings shares them.
    """
    X, Ws = _digits_batch(), _weights(scale, activation)
    act = np.tanh if activation == "tanh" else (lambda z: np.maximum(z, 0.0))
    rng = np.random.default_rng(1)

    def forward(train_mode: bool, stats=None):
        h, out, collected = X, [], []
        for i, W in enumerate(Ws):
            z = h @ W.T
            if batch_norm:
                if train_mode:
                    collected.append((z.mean(axis=0), z.var(axis=0)))
                    z, _ = R.batchnorm_forward(z, np.ones(WIDTH), np.zeros(WIDTH))
                else:
                    mu, var = stats[i]
                    z = R.batchnorm_eval(z, np.ones(WIDTH), np.zeros(WIDTH), mu, var)
            h = act(z)
            if dropout and train_mode:
                h, _ = R.dropout(h, dropout, rng)
            out.append(h)
        return out, collected

    bins = BINS[activation]

    def summary(layers) -> dict:
        hist = np.array([np.histogram(np.clip(a, bins[0], bins[-1]), bins=bins, density=True)[0] for a in layers])
        dead = [np.mean(np.abs(a) > 0.99) if activation == "tanh" else np.mean(a == 0) for a in layers]
        out = {"hist": hist, "std": np.array([a.std() for a in layers]), "mean": np.array([a.mean() for a in layers]),
               "saturated": np.array(dead)}
        for array in out.values():
            array.flags.writeable = False
        return out

    train_out, stats = forward(True)
    train = summary(train_out)
    # Without batch norm or dropout the two modes compute the same thing: one pass is enough.
    return {"train": train, "eval": summary(forward(False, stats)[0]) if batch_norm or dropout else train}


@register_widget
class ActivationStats(BlittedWidget):
    """Histograms of each layer's activations, and their spread, as initialization, batch norm and dropout change."""

    name = "07.activation_stats"
    figsize = (9.6, 4.2)
    compute = staticmethod(activation_stats)
    COLOURS = ("sky", "blue", "green", "orange", "vermillion", "purple")

    @classmethod
    def defaults(cls) -> dict:
        return {"activation": "tanh", "scale": 1.0, "batch_norm": False, "dropout": 0.0, "training": True}

    def build(self, fig) -> None:
        self.ax, self.ax_std = fig.subplots(1, 2, width_ratios=[1.5, 1])
        self.hist_lines = [self.ax.plot([], [], drawstyle="steps-mid", color=PALETTE[c], lw=1.6,
                                        label=f"layer {i + 1}")[0] for i, c in enumerate(self.COLOURS)]
        self.ax.set(ylim=(0, 6), xlabel="activation value", ylabel="density", title=" ")
        # Legends under their panels: inside, they sat on the histograms and on the saturated fraction.
        fig.legend(*self.ax.get_legend_handles_labels(), loc="outside lower left", ncols=6,
                   fontsize=LEGEND_FONTSIZE, frameon=False, columnspacing=1.0, handlelength=1.5)
        ax = self.ax_std
        layers = np.arange(1, DEPTH + 1)
        ax.set(yscale="log", ylim=STD_LIM, xlim=(0.5, DEPTH + 0.5), xticks=layers, xlabel="layer",
               ylabel="std of activations", title="spread per layer")
        ax.grid(alpha=0.3)
        (self.std_line,) = ax.plot([], [], "o-", color=PALETTE["blue"], lw=2, label="std")
        (self.sat_line,) = ax.plot([], [], "s--", color=PALETTE["vermillion"], lw=1.2,
                                   label="saturated / dead fraction")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower right", ncols=1,
                   fontsize=LEGEND_FONTSIZE, frameon=False)
        self.title = self.ax.title
        self._range_of = None
        self.moving(*self.hist_lines, self.std_line, self.sat_line, self.title)

    def draw(self, data) -> None:
        bins = data["bins"]
        if data["activation"] != self._range_of:  # a new x range: the one change that redraws the background
            self.ax.set_xlim(bins[0], bins[-1])
            self._range_of, self._background = data["activation"], None
        centres = (bins[:-1] + bins[1:]) / 2
        for line, h in zip(self.hist_lines, data["hist"]):
            line.set_data(centres, np.minimum(h, 6))
        layers = np.arange(1, DEPTH + 1)
        self.std_line.set_data(layers, np.clip(data["std"], *STD_LIM))
        self.sat_line.set_data(layers, np.clip(data["saturated"], *STD_LIM))
        mode = "training" if data["training"] else "evaluation"
        parts = [data["activation"], "batch norm" if data["batch_norm"] else "no batch norm",
                 f"dropout {data['dropout']:.2f}" if data["dropout"] else "no dropout", f"{mode} mode"]
        self.title.set_text(", ".join(parts))
        stds = ", ".join(f"{s:.3f}" for s in data["std"])
        kind = "saturated (|a| > 0.99)" if data["activation"] == "tanh" else "dead (a = 0)"
        self.readout = (f"std per layer: {stds}; {kind} in the last layer: {data['saturated'][-1]:.0%}. "
                        f"Mean of layer 1 in training mode {data['mean_train'][0]:.4f}, in evaluation mode "
                        f"{data['mean_eval'][0]:.4f}.")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "activation": w.Dropdown(options=["tanh", "relu"], value=p["activation"], description="activation"),
            "scale": w.FloatSlider(value=p["scale"], min=0.2, max=3.0, step=0.1, description="weight scale"),
            "batch_norm": w.Checkbox(value=p["batch_norm"], description="batch norm"),
            "dropout": w.FloatSlider(value=p["dropout"], min=0.0, max=0.8, step=0.05, description="dropout p"),
            "training": w.Checkbox(value=p["training"], description="training mode"),
        }
