r"""Chapter 08 widgets: a loss-landscape slice viewer with the training trajectory, and the race of the
sharpness against :math:`2/\eta` at the edge of stability.

Both follow the course's pattern (:mod:`course_lib.widgets.base`): a pure ``compute`` on
:mod:`course_lib.landscapes` and :mod:`course_lib.landscape_experiment`, and a view that only moves
artists over a background rendered once. The heavy work (training, loss grids, gradient-descent
runs with their sharpness) is done once per setting and cached, so a move only looks it up.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from course_lib import landscape_experiment as E
from course_lib import landscapes as L
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget

# -- the slice viewer -------------------------------------------------------------------------------------
DIRECTIONS = ("filter-normalized", "raw", "PCA")
VIEWS = ("2-D", "1-D")
GRID = np.linspace(-1.0, 1.0, 15)  # odd: p = 0 and q = 0 are grid points (the 1-D slices)
RESCALE = 4.0  # layer 1 times RESCALE, layer 2 over RESCALE: the same function
NOISE_SEEDS = (11, 12)
LOG_LOSS_LIM = (-1.5, 1.0)  # the colour scale and the 1-D axis: loss from 0.03 to 10


def _noise(like) -> list:
    """Two Gaussian directions shaped like the network, the same for the original and the rescaled one."""
    return [L.random_directions(like, seed, normalize=False) for seed in NOISE_SEEDS]


@lru_cache(maxsize=8)
def _plane(directions: str, rescaled: bool) -> dict:
    r"""The loss on the plane :math:`\boldsymbol\theta^* + p\,\mathbf d_1 + q\,\mathbf d_2`, and the trajectory on it.

    Raw directions are the Gaussian noise itself, scaled once so that its norm equals that of
    the filter-normalized direction of the *original* network: the same vector is then used for
    the rescaled network, which is what "not normalized" means. PCA directions are the
    trajectory's (:func:`course_lib.landscapes.trajectory_pca`), scaled so that the trajectory
    fills the plane.
    """
    net = E.landscape_net()
    objective, weights = net["objective"], net["weights"]
    trajectory = np.array(net["run"].trajectory)
    noise = _noise(weights)
    if rescaled:
        rescale = lambda ws: L.rescale_layer(ws, 0, RESCALE)  # noqa: E731
        weights = rescale(weights)
        trajectory = np.array([L.flatten(rescale(L.unflatten(t, weights))) for t in trajectory])
    if directions == "filter-normalized":
        d = [L.filter_normalize(n, weights) for n in noise]
    elif directions == "raw":
        reference = net["weights"]  # the original network: one fixed raw vector for both
        d = [[a * (np.linalg.norm(L.flatten(L.filter_normalize(n, reference))) / np.linalg.norm(L.flatten(n)))
              for a in n] for n in noise]
    elif directions == "PCA":
        pca = L.trajectory_pca(trajectory, L.flatten(weights))
        reach = 1.15 * np.abs(pca.coords).max(axis=0)
        d = [L.unflatten(pca.directions[i] * reach[i], weights) for i in range(2)]
    else:
        raise ValueError(f"directions must be one of {DIRECTIONS}, not {directions!r}")
    grid = L.slice_2d(objective, weights, d[0], d[1], GRID, GRID)
    # The trajectory's coordinates in the (generally not orthogonal) basis d1, d2: least squares.
    D = np.stack([L.flatten(d[0]), L.flatten(d[1])], axis=1)
    coords, *_ = np.linalg.lstsq(D, (trajectory - L.flatten(weights)).T, rcond=None)
    displacement = trajectory - L.flatten(weights)
    captured = float(np.sum((D @ coords) ** 2) / max(np.sum(displacement ** 2), 1e-300))
    return {"grid": grid, "coords": coords.T, "captured": captured, "loss": objective(weights),
            "d_norms": [float(np.linalg.norm(L.flatten(x))) for x in d]}


def landscape_view(view: str = "2-D", directions: str = "filter-normalized", rescaled: bool = False) -> dict:
    r"""The data of the slice viewer.

    Parameters
    ----------
    view : {"2-D", "1-D"}
    directions : {"filter-normalized", "raw", "PCA"}
    rescaled : bool
        Use the network with its first layer multiplied by :data:`RESCALE` and its second divided
        by it: the same function (ReLU is positively homogeneous), other parameters.

    Returns
    -------
    dict
        ``grid`` (15, 15): :math:`L(\boldsymbol\theta^* + p\,\mathbf d_1 + q\,\mathbf d_2)`, rows :math:`q`, columns
        :math:`p` (both :data:`GRID`); ``line1``, ``line2``: the 1-D slices along :math:`\mathbf d_1` and :math:`\mathbf d_2`;
        ``coords`` (T, 2): the trajectory's least-squares coordinates on the plane; ``captured``: the share
        of its squared displacement the plane holds; ``loss``: :math:`L(\boldsymbol\theta^*)`; ``curvature``: the
        second difference of ``line1`` at 0; ``d_norms``; and the settings.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
    p = _plane(directions, bool(rescaled))
    mid = len(GRID) // 2
    h = GRID[1] - GRID[0]
    line1, line2 = p["grid"][mid], p["grid"][:, mid]
    return {**p, "view": view, "directions": directions, "rescaled": bool(rescaled), "line1": line1, "line2": line2,
            "curvature": float((line1[mid + 1] - 2 * line1[mid] + line1[mid - 1]) / h ** 2)}


@register_widget
class LandscapeViewer(BlittedWidget):
    """The loss around the trained network on a plane or a line, with the training trajectory."""

    name = "08.landscape_viewer"
    figsize = (7.6, 3.9)
    compute = staticmethod(landscape_view)

    @classmethod
    def defaults(cls) -> dict:
        return {"view": "2-D", "directions": "filter-normalized", "rescaled": False}

    def build(self, fig) -> None:
        from matplotlib.colors import Normalize

        for directions in DIRECTIONS:  # every plane now, so that no move has to compute one
            for rescaled in (False, True):
                _plane(directions, rescaled)
        gs = fig.add_gridspec(1, 2, width_ratios=[1, 0.05])
        self.ax2 = fig.add_subplot(gs[0, 0])
        self.cax = fig.add_subplot(gs[0, 1])
        self.ax1 = fig.add_subplot(gs[0, 0], label="1-D")  # the same place; one is shown at a time
        ext = (GRID[0], GRID[-1], GRID[0], GRID[-1])
        self.image = self.ax2.imshow(np.zeros((len(GRID), len(GRID))), origin="lower", extent=ext, cmap="viridis",
                                     norm=Normalize(*LOG_LOSS_LIM), interpolation="bilinear", aspect="auto")
        fig.colorbar(self.image, cax=self.cax, label="log₁₀ training loss")
        (self.path,) = self.ax2.plot([], [], ".-", color=PALETTE["orange"], lw=1.5, ms=4, label="SGD trajectory")
        (self.start,) = self.ax2.plot([], [], "o", color=PALETTE["vermillion"], ms=7, label="initialization")
        (self.end,) = self.ax2.plot([0], [0], "*", color="white", mec="black", ms=13, label="trained θ*")
        self.ax2.set(xlim=(GRID[0], GRID[-1]), ylim=(GRID[0], GRID[-1]), xlabel="p (along d₁)", ylabel="q (along d₂)")
        (self.l1,) = self.ax1.plot(GRID, np.ones_like(GRID), "o-", ms=3, color=PALETTE["blue"], label="along d₁ (q = 0)")
        (self.l2,) = self.ax1.plot(GRID, np.ones_like(GRID), "s--", ms=3, color=PALETTE["vermillion"],
                                   label="along d₂ (p = 0)")
        self.ax1.set(yscale="log", ylim=(10 ** LOG_LOSS_LIM[0], 10 ** LOG_LOSS_LIM[1]), xlim=(GRID[0], GRID[-1]),
                     xlabel="step size along the direction", ylabel="training loss")
        self.ax1.grid(alpha=0.3)
        # One legend for both panels, below them: inside, it would sit on the data.
        fig.legend([self.path, self.start, self.end, self.l1, self.l2],
                   [a.get_label() for a in (self.path, self.start, self.end, self.l1, self.l2)],
                   loc="outside lower center", ncols=3, fontsize=LEGEND_FONTSIZE, frameon=False)
        self.ax2.set_title("the loss on a plane through θ*", fontsize=9)
        self.ax1.set_title("the loss along two lines through θ*", fontsize=9)
        self._view, self._backgrounds = None, {}
        # No moving text: drawing a title costs more than the rest of a move; the readout names the setting.
        self.moving(self.image, self.path, self.start, self.end, self.l1, self.l2)

    def draw(self, data) -> None:
        two = data["view"] == "2-D"
        if data["view"] != self._view:  # the other panel: its own background, rendered the first time only
            for artist in (self.ax2, self.cax, self.image, self.path, self.start, self.end):
                artist.set_visible(two)
            for artist in (self.ax1, self.l1, self.l2):
                artist.set_visible(not two)
            self._view, self._background = data["view"], self._backgrounds.get(data["view"])
        self.image.set_data(np.log10(np.clip(data["grid"], 1e-300, None)))
        xy = np.clip(data["coords"], GRID[0] - 0.05, GRID[-1] + 0.05)  # a point off the plane stays at its edge
        self.path.set_data(xy[:, 0], xy[:, 1])
        self.start.set_data(xy[:1, 0], xy[:1, 1])
        self.l1.set_ydata(np.clip(data["line1"], 10 ** LOG_LOSS_LIM[0], 10 ** LOG_LOSS_LIM[1]))
        self.l2.set_ydata(np.clip(data["line2"], 10 ** LOG_LOSS_LIM[0], 10 ** LOG_LOSS_LIM[1]))
        net = f"the rescaled network (layer 1 ×{RESCALE:g}, layer 2 ÷{RESCALE:g})" if data["rescaled"] \
            else "the trained network"
        self.readout = (
            f"<b>{data['directions']} directions, {net}</b>. L(θ*) = {data['loss']:.4f}; on the plane the loss ranges from {data['grid'].min():.4f} to "
            f"{data['grid'].max():.3g}. Curvature of the 1-D slice along d₁ at 0: {data['curvature']:.3g} "
            f"(‖d₁‖ = {data['d_norms'][0]:.3g}). The plane holds {data['captured']:.1%} of the trajectory's squared "
            f"distance to θ*.")

    def png(self) -> bytes:
        out = super().png()
        self._backgrounds[self._view] = self._background  # keep each panel's static render
        return out

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "view": w.ToggleButtons(options=list(VIEWS), value=p["view"], description="slice"),
            "directions": w.Dropdown(options=list(DIRECTIONS), value=p["directions"], description="directions"),
            "rescaled": w.Checkbox(value=p["rescaled"], description="rescale layers (×4, ÷4)"),
        }


# -- the edge of stability ----------------------------------------------------------------------------------
EOS_LRS = (0.5, 0.6, 0.7, 0.8, 0.9)
SHARPNESS_LIM = (0.0, 5.5)


def eos_race(lr: float = 0.6, others: bool = True) -> dict:
    r"""Full-batch GD at a learning rate of :data:`EOS_LRS`: the sharpness against :math:`2/\eta`, and the loss.

    Parameters
    ----------
    lr : float
        Snapped to the nearest value of :data:`EOS_LRS` (each run is precomputed by
        :func:`course_lib.landscape_experiment.eos_run` and cached).
    others : bool
        Also return the sharpness of every other learning rate of the grid (drawn faintly).

    Returns
    -------
    dict
        ``lr``, ``threshold`` :math:`2/\eta`, ``steps`` and ``sharpness`` (where it was measured), ``loss``
        (every step), ``reached``: the first measured step with sharpness at least :math:`0.9\cdot2/\eta` (or
        None), ``late_ratio``: the mean of sharpness :math:`/(2/\eta)` over the last 40% of the steps,
        ``ups``: the number of steps in that stretch at which the loss went up; ``others``: lr -> (steps, sharpness).
    """
    lr = float(EOS_LRS[int(np.argmin(np.abs(np.array(EOS_LRS) - float(lr))))])
    run = E.eos_run(lr)
    ratio = run.sharpness / run.threshold
    above = np.flatnonzero(ratio >= 0.9)
    late = run.steps >= 0.6 * run.steps[-1]
    start = int(0.6 * (len(run.loss) - 1))
    return {"lr": lr, "threshold": run.threshold, "steps": run.steps, "sharpness": run.sharpness, "loss": run.loss,
            "reached": int(run.steps[above[0]]) if len(above) else None, "late_ratio": float(ratio[late].mean()),
            "ups": int(np.sum(np.diff(run.loss[start:]) > 0)),
            "others": {o: (E.eos_run(o).steps, E.eos_run(o).sharpness) for o in EOS_LRS if o != lr} if others else {}}


@register_widget
class EdgeOfStability(BlittedWidget):
    """The sharpness rises until it meets 2/η, then hovers there; the loss keeps falling, not monotonically."""

    name = "08.edge_of_stability"
    figsize = (9.4, 3.5)
    compute = staticmethod(eos_race)

    @classmethod
    def defaults(cls) -> dict:
        return {"lr": 0.6, "others": True}

    def build(self, fig) -> None:
        self.ax, self.ax_loss = fig.subplots(1, 2, width_ratios=[1.3, 1])
        runs = {lr: E.eos_run(lr) for lr in EOS_LRS}  # precompute the whole grid once
        steps = runs[EOS_LRS[0]].steps
        self.faint = {lr: self.ax.plot(steps, np.zeros_like(steps, dtype=float), color=PALETTE["grey"], lw=0.8,
                                       alpha=0.6)[0] for lr in EOS_LRS}
        (self.sharp,) = self.ax.plot([], [], color=PALETTE["blue"], lw=2, label="sharpness λ_max")
        self.limit = self.ax.axhline(1.0, color=PALETTE["vermillion"], ls="--", lw=1.5, label="2/η")
        self.crossed = self.ax.axvline(0, color=PALETTE["grey"], ls=":", lw=1)
        last = max(r.steps[-1] for r in runs.values())
        self.ax.set(xlim=(0, last), ylim=SHARPNESS_LIM, xlabel="step", ylabel="λ_max of the Hessian",
                    title="sharpness against 2/η")
        fig.legend([self.sharp, self.limit, self.faint[EOS_LRS[0]]], ["sharpness λ_max", "2/η", "other learning rates"],
                   loc="outside lower left", ncols=3, fontsize=LEGEND_FONTSIZE, frameon=False)
        self.ax.grid(alpha=0.3)
        (self.loss,) = self.ax_loss.plot([], [], color=PALETTE["black"], lw=1.2)
        self.ax_loss.set(xlim=(0, last), yscale="log", ylim=(0.02, 1.0), xlabel="step", ylabel="training loss (MSE)",
                         title="loss: falls, but not monotonically")
        self.ax_loss.grid(alpha=0.3)
        self.moving(*self.faint.values(), self.sharp, self.limit, self.crossed, self.loss)

    def draw(self, data) -> None:
        for lr, line in self.faint.items():
            shown = lr in data["others"]
            line.set_visible(shown)
            if shown:
                line.set_data(*data["others"][lr])
        self.sharp.set_data(data["steps"], data["sharpness"])
        self.limit.set_ydata([data["threshold"]] * 2)
        reached = data["reached"]
        self.crossed.set_xdata([reached if reached is not None else -1] * 2)
        self.loss.set_data(np.arange(len(data["loss"])), data["loss"])
        where = (f"reaches 0.9 · 2/η at step {reached}" if reached is not None
                 else "has not reached 0.9 · 2/η yet")
        self.readout = (
            f"η = {data['lr']:.2f}, 2/η = {data['threshold']:.3f}: the sharpness starts at {data['sharpness'][0]:.3f} "
            f"and {where}. Over the last 40% of the run it averages {data['late_ratio']:.3f} × 2/η, and the loss went "
            f"up at {data['ups']} of those steps (final loss {data['loss'][-1]:.4f}).")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "lr": w.SelectionSlider(options=list(EOS_LRS), value=p["lr"], description="learning rate η"),
            "others": w.Checkbox(value=p["others"], description="show the other η"),
        }
