r"""Chapter 12 widgets: a VAE latent-space explorer, GAN training dynamics, and diffusion's steps.

Each widget is handed what the notebook trained (no training here): a decoder as NumPy arrays
(:func:`decoder_arrays`), the GAN's snapshots (:func:`course_lib.models.gan.train_gan`), the DDPM's sampling
path (:func:`course_lib.models.ddpm.sample_ddpm`). Their default constructors, which the tests and
``benchmarks/widget_latency.py`` use, build a cheap analytic stand-in in well under a second and never import
torch: probabilistic PCA's decoder of the digits (the optimum of a linear-Gaussian VAE), a mixture-of-Gaussians
"generator" moving onto the ring with its exact optimal discriminator :math:`D^*_{\boldsymbol\phi} = p_\text{data}/(p_\text{data} + p_g)`,
and the forward process :math:`q(\mathbf x_t\mid\mathbf x_0)` alone.
"""
from __future__ import annotations

import functools

import numpy as np

from course_lib import generative as G
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget
from course_lib.widgets.ch01_linear_algebra import DIGIT_COLOURS  # the digits' ten class colours, as in chapter 01
ZLIM = 3.0


# -- the latent-space explorer ------------------------------------------------------------------------------
def decode(decoder: dict, z) -> np.ndarray:
    r"""Run a decoder given as arrays on latents ``z`` (n, k): ReLU between ``layers`` ``[(W, b), ...]``
    (``W`` of shape (out, in), torch's layout), then ``output`` (``"sigmoid"`` for Bernoulli means, or
    ``"identity"``). Returns pixel means (n, d)."""
    h = np.atleast_2d(np.asarray(z, dtype=np.float64))
    for i, (W, b) in enumerate(decoder["layers"]):
        h = h @ W.T + b
        if i < len(decoder["layers"]) - 1:
            h = np.maximum(h, 0)
    if decoder.get("output") == "sigmoid":
        h = 0.5 * (1 + np.tanh(h / 2))
    return h


def decoder_arrays(vae, X, y) -> dict:
    """A trained :class:`course_lib.models.autoencoder.VAE`'s decoder as NumPy arrays, with the latent means of
    ``X`` (n, d) and their labels ``y`` for the scatter: what :class:`LatentExplorer` takes."""
    import torch

    layers = [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
              for m in vae.decoder if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        mu, _ = vae.encode(torch.as_tensor(np.asarray(X), dtype=torch.float32))
    return {"layers": layers, "output": "sigmoid", "latents": mu.numpy().astype(np.float64), "labels": np.asarray(y),
            "kind": "VAE decoder"}


@functools.lru_cache(maxsize=1)
def ppca_decoder() -> dict:
    r"""The stand-in: probabilistic PCA's decoder of the digits (pixels in [0, 1]),
    :math:`\hat{\mathbf x} = \bar{\mathbf x} + \boldsymbol\zeta\,\operatorname{diag}(\sqrt{\lambda_1}, \sqrt{\lambda_2})\mathbf V_2^\top`,
    so that :math:`\boldsymbol\zeta\sim\mathcal N(\mathbf 0, \mathbf I)` has the data's variance along the top two
    components (Tipping and Bishop 1999, with the noise variance taken as 0)."""
    from course_lib.landscape_experiment import digits
    from course_lib.linalg.svd import pca

    X, y = digits(1797, center=False)
    p = pca(X, 2)
    scale = np.sqrt(p.explained_variance)
    W = (p.components.T * scale)  # (64, 2)
    return {"layers": [(W, p.mean)], "output": "identity", "latents": p.scores / scale, "labels": y,
            "kind": "PCA stand-in"}


def latent_view(decoder: dict, z1: float, z2: float, grid_n: int = 0) -> dict:
    r"""Decode the latent point :math:`\boldsymbol\zeta = (\zeta_1, \zeta_2)`; name the nearest encoded digit; optionally a ``grid_n`` x
    ``grid_n`` mosaic of decodes over :math:`[-3, 3]^2`.

    Returns
    -------
    dict
        ``image`` (8, 8) in [0, 1]; ``z`` (2,); ``nearest_label``; ``prior`` the standard normal density at :math:`\boldsymbol\zeta`;
        ``mosaic`` (grid_n * 9 - 1, grid_n * 9 - 1) with NaN gutters when ``grid_n`` > 0.
    """
    z = np.array([float(z1), float(z2)])
    image = np.clip(decode(decoder, z[None])[0], 0, 1).reshape(8, 8)
    lat = decoder["latents"]
    nearest = int(np.argmin(((lat - z) ** 2).sum(1)))
    out = {"image": image, "z": z, "nearest_label": int(decoder["labels"][nearest]),
           "prior": float(np.exp(-0.5 * z @ z) / (2 * np.pi))}
    if grid_n:
        g = np.linspace(-ZLIM, ZLIM, grid_n)
        zz = np.stack(np.meshgrid(g, g[::-1]), axis=-1).reshape(-1, 2)  # top row: largest z2
        imgs = np.clip(decode(decoder, zz), 0, 1).reshape(grid_n, grid_n, 8, 8)
        mosaic = np.full((grid_n * 9 - 1, grid_n * 9 - 1), np.nan)
        for i in range(grid_n):
            for j in range(grid_n):
                mosaic[i * 9:i * 9 + 8, j * 9:j * 9 + 8] = imgs[i, j]
        out["mosaic"] = mosaic
    return out


@register_widget
class LatentExplorer(BlittedWidget):
    """Click the latent plane (or move the sliders): the decoder's digit at that latent point ζ, beside a mosaic of the plane."""

    name = "12.latent_explorer"
    figsize = (9.0, 3.4)

    def __init__(self, decoder: dict | None = None, **params):
        self.decoder = ppca_decoder() if decoder is None else decoder
        super().__init__(**params)

    @classmethod
    def defaults(cls) -> dict:
        return {"z1": 0.0, "z2": 0.0}

    def compute(self, z1: float, z2: float) -> dict:
        return latent_view(self.decoder, z1, z2)

    def build(self, fig) -> None:
        d = self.decoder
        self.ax_z, self.ax_img, self.ax_grid = fig.subplots(1, 3, width_ratios=[1.3, 0.8, 1.3])
        lat = d["latents"]
        self.ax_z.scatter(lat[:, 0], lat[:, 1], c=[DIGIT_COLOURS[c] for c in d["labels"]], s=4, alpha=0.6, lw=0)
        for digit in range(10):  # labels at the class centres instead of a ten-entry legend
            cx, cy = np.median(lat[d["labels"] == digit], axis=0)
            if abs(cx) < ZLIM and abs(cy) < ZLIM:
                self.ax_z.text(cx, cy, str(digit), fontsize=10, weight="bold", ha="center", va="center",
                               color=DIGIT_COLOURS[digit], bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 0.4})
        self.ax_z.set(xlim=(-ZLIM, ZLIM), ylim=(-ZLIM, ZLIM), xlabel="ζ₁", ylabel="ζ₂", aspect="equal")
        self.ax_z.set_title(f"latent means ({d['kind']})", fontsize=9)
        self.marker = self.ax_z.scatter([0], [0], s=110, facecolor="none", edgecolor="black", lw=2)
        self.img = self.ax_img.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0, vmax=1)
        self.ax_img.set(xticks=[], yticks=[])
        self.img_title = self.ax_img.set_title("decoded", fontsize=9)
        grid = latent_view(d, 0, 0, grid_n=11)["mosaic"]
        self.ax_grid.imshow(grid, cmap="gray_r", vmin=0, vmax=1, extent=(-ZLIM - 0.3, ZLIM + 0.3, -ZLIM - 0.3, ZLIM + 0.3))
        self.ax_grid.set(xlabel="ζ₁", ylabel="ζ₂")
        self.ax_grid.set_title("decodes over the plane", fontsize=9)
        (self.grid_marker,) = self.ax_grid.plot([0], [0], "+", color=PALETTE["vermillion"], ms=14, mew=2)
        self.moving(self.marker, self.img, self.img_title, self.grid_marker)

    def draw(self, data) -> None:
        self.marker.set_offsets(data["z"][None])
        self.img.set_data(data["image"])
        self.grid_marker.set_data([data["z"][0]], [data["z"][1]])
        self.img_title.set_text(f"decoded at ({data['z'][0]:.2f}, {data['z'][1]:.2f})")
        self.readout = (f"ζ = ({data['z'][0]:.2f}, {data['z'][1]:.2f}); prior density p(ζ) = {data['prior']:.4f}; "
                        f"the nearest encoded digit is a <b>{data['nearest_label']}</b>. Decoder: {self.decoder['kind']}.")

    def on_pointer(self, ax, x: float, y: float) -> dict | None:
        """A press on the latent plane or on the mosaic moves the latent point there."""
        if ax is self.ax_z or ax is self.ax_grid:
            return {"z1": float(np.clip(x, -ZLIM, ZLIM)), "z2": float(np.clip(y, -ZLIM, ZLIM))}
        return None

    def controls(self) -> dict:
        import ipywidgets as w

        return {key: w.FloatSlider(value=self.params[key], min=-ZLIM, max=ZLIM, step=0.05, description=label,
                                   readout_format=".2f")
                for key, label in (("z1", "ζ₁"), ("z2", "ζ₂"))}


# -- GAN training dynamics ----------------------------------------------------------------------------------
def _mixture_density(points, means, std):
    d2 = ((points[:, None, :] - means[None]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * std ** 2)).mean(1) / (2 * np.pi * std ** 2)


@functools.lru_cache(maxsize=1)
def analytic_gan_snapshots(n_snap: int = 21, n: int = 400, grid_n: int = 41, lim: float = 3.0) -> dict:
    r"""The stand-in for a GAN run: a generator that is a mixture of Gaussians moving from the origin onto the ring,
    reaching one more mode every few snapshots (so coverage rises as in a run), and at each snapshot the exact
    optimal discriminator :math:`D^*_{\boldsymbol\phi} = p_\text{data}/(p_\text{data} + p_g)` on the grid. Same keys as
    :func:`course_lib.models.gan.train_gan`'s result."""
    rng = np.random.default_rng(0)
    centers, std = G.ring_centers(), 0.05
    g = np.linspace(-lim, lim, grid_n)
    grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    p_data = _mixture_density(grid, centers, std)
    noise = rng.standard_normal((n, 2))
    which = np.arange(n) % 8
    out = {"steps": [], "samples": [], "field": [], "covered": [], "high_quality": []}
    for s in range(n_snap):
        progress = s / (n_snap - 1)
        reached = np.clip(progress * 8 * 1.25 - np.arange(8), 0, 1)  # mode k is reached after the k-th
        spread = std + 0.6 * (1 - progress)
        means = centers * reached[:, None]
        samples = means[which] + spread * noise
        p_g = _mixture_density(grid, means, spread)
        field = G.optimal_discriminator(p_data, p_g).reshape(grid_n, grid_n)
        cov = G.mode_coverage(samples, centers, std)
        for key, value in (("steps", 100 * s), ("samples", samples), ("field", field), ("covered", cov["covered"]),
                           ("high_quality", cov["high_quality"])):
            out[key].append(value)
    result = {k: np.array(v) for k, v in out.items()}
    result.update(grid_lim=lim, centers=centers, std=std, kind="analytic stand-in: D*_φ of a moving mixture")
    return result


@register_widget
class GANDynamics(BlittedWidget):
    """Scrub through a GAN's training: the generator's samples over the discriminator's field, and mode coverage."""

    name = "12.gan_dynamics"
    figsize = (8.6, 3.8)

    def __init__(self, run: dict | None = None, **params):
        self.run = analytic_gan_snapshots() if run is None else run
        super().__init__(**params)

    @classmethod
    def defaults(cls) -> dict:
        return {"snapshot": 0}

    def compute(self, snapshot: int) -> dict:
        return gan_snapshot(self.run, snapshot)

    def build(self, fig) -> None:
        r = self.run
        lim = r["grid_lim"]
        self.ax_f, self.ax_c = fig.subplots(1, 2, width_ratios=[1.1, 1])
        self.field = self.ax_f.imshow(r["field"][0], origin="lower", extent=(-lim, lim, -lim, lim), cmap="cividis",
                                      vmin=0, vmax=1)
        fig.colorbar(self.field, ax=self.ax_f, shrink=0.85, label="D_φ(x): probability 'real'")
        modes = self.ax_f.scatter(r["centers"][:, 0], r["centers"][:, 1], s=60, marker="x",
                                  color=PALETTE["vermillion"], label="data modes", zorder=3)
        self.samples = self.ax_f.scatter(r["samples"][0][:, 0], r["samples"][0][:, 1], s=5, color=PALETTE["purple"],
                                         alpha=0.8, lw=0, label="G_θ(ζ) samples")
        self.ax_f.set(xlabel="x₁", ylabel="x₂", aspect="equal", xlim=(-lim, lim), ylim=(-lim, lim))
        self.ax_f.legend(loc="upper left", bbox_to_anchor=(0, -0.16), ncol=2, fontsize=LEGEND_FONTSIZE, frameon=False)
        steps = r["steps"]
        self.ax_c.plot(steps, r["covered"], "o-", color=PALETTE["blue"], ms=3, label="modes covered")
        self.ax_c.plot(steps, 8 * np.asarray(r["high_quality"]), "s--", color=PALETTE["orange"], ms=3,
                       label="8 × share of samples near a mode")
        self.ax_c.set(xlabel="training step", ylabel="modes", ylim=(-0.3, 8.5))
        self.ax_c.grid(alpha=0.3)
        self.ax_c.legend(loc="upper left", bbox_to_anchor=(0, -0.16), fontsize=LEGEND_FONTSIZE, frameon=False)
        self.step_line = self.ax_c.axvline(0, color=PALETTE["vermillion"], lw=1.2)
        self.title = self.ax_f.set_title("", fontsize=9)
        self.moving(self.field, modes, self.samples, self.step_line, self.title)  # modes over the moving field

    def draw(self, data) -> None:
        self.field.set_data(data["field"])
        self.samples.set_offsets(data["samples"])
        self.step_line.set_xdata([data["step"], data["step"]])
        self.title.set_text(f"step {data['step']}: D_φ(x) and G_θ(ζ)")
        self.readout = (f"step {data['step']}: <b>{data['covered']} of 8</b> modes covered, "
                        f"{100 * data['high_quality']:.0f}% of the samples within 3 sd of a mode; D_φ(x) ranges "
                        f"{data['field'].min():.2f} to {data['field'].max():.2f} (1/2 everywhere at the equilibrium "
                        f"p_g = p_data). Source: {self.run.get('kind', 'the notebook run')}.")

    def controls(self) -> dict:
        import ipywidgets as w

        return {"snapshot": w.IntSlider(value=self.params["snapshot"], min=0, max=len(self.run["steps"]) - 1,
                                        description="snapshot")}


def gan_snapshot(run: dict, snapshot: int) -> dict:
    """Snapshot ``snapshot`` of a GAN run (clipped to the range): ``step``, ``samples``, ``field``, ``covered``,
    ``high_quality``."""
    i = int(np.clip(snapshot, 0, len(run["steps"]) - 1))
    return {"step": int(run["steps"][i]), "samples": run["samples"][i], "field": run["field"][i],
            "covered": int(run["covered"][i]), "high_quality": float(run["high_quality"][i])}


# -- diffusion steps ----------------------------------------------------------------------------------------
@register_widget
class DiffusionSteps(BlittedWidget):
    r"""Pick a step t: the data noised by :math:`q(\mathbf x_t\mid\mathbf x_0)` beside the reverse chain's
    :math:`\mathbf x_t` on the way back (when a sampling path is handed in)."""

    name = "12.diffusion_steps"
    figsize = (8.0, 3.6)
    LIM = 3.5

    def __init__(self, data=None, schedule: dict | None = None, path: list | None = None, **params):
        if data is None:
            from sklearn.datasets import make_moons

            data, _ = make_moons(800, noise=0.05, random_state=0)
            data = (data - data.mean(0)) / data.std(0)
        self.x0 = np.asarray(data, dtype=np.float64)
        self.schedule = G.ddpm_schedule(100, 1e-4, 0.1) if schedule is None else schedule  # the CPU preset's
        self.eps = np.random.default_rng(0).standard_normal(self.x0.shape)
        self.path = dict(path) if path else None
        super().__init__(**params)

    @classmethod
    def defaults(cls) -> dict:
        return {"t": 0}

    def compute(self, t: int) -> dict:
        return diffusion_view(self.x0, self.eps, self.schedule, t, self.path)

    def build(self, fig) -> None:
        self.ax_q, self.ax_p = fig.subplots(1, 2)
        lim = self.LIM
        self.q_pts = self.ax_q.scatter(self.x0[:, 0], self.x0[:, 1], s=3, color=PALETTE["blue"], lw=0)
        self.p_pts = self.ax_p.scatter([], [], s=3, color=PALETTE["vermillion"], lw=0)
        for ax, title in ((self.ax_q, "forward: q(x_t | x_0)"), (self.ax_p, "reverse: the model's x_t")):
            ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="x₁", ylabel="x₂")
            ax.set_title(title, fontsize=9)
        if self.path is None:
            self.ax_p.text(0, 0, "no sampling path handed in", ha="center", va="center", color=PALETTE["grey"])
        self.moving(self.q_pts, self.p_pts)

    def draw(self, data) -> None:
        self.q_pts.set_offsets(data["forward"])
        self.p_pts.set_offsets(data["reverse"] if data["reverse"] is not None else np.empty((0, 2)))
        self.readout = (f"t = {data['t']} of {data['T']}: bar a_t = {data['abar']:.4f}, so x_t keeps "
                        f"sqrt(bar a_t) = {np.sqrt(data['abar']):.3f} of x_0 and has noise sd "
                        f"sqrt(1 - bar a_t) = {np.sqrt(1 - data['abar']):.3f}"
                        + ("" if data["reverse"] is not None else "; the reverse panel needs the notebook's path")
                        + (f" (reverse path shown at t = {data['path_t']})" if data["path_t"] is not None else "") + ".")

    def controls(self) -> dict:
        import ipywidgets as w

        return {"t": w.IntSlider(value=self.params["t"], min=0, max=len(self.schedule["v"]), description="step t")}


def diffusion_view(x0, eps, schedule: dict, t: int, path: dict | None = None) -> dict:
    r"""The forward sample :math:`\sqrt{\bar a_t}\,\mathbf x_0 + \sqrt{1-\bar a_t}\,\boldsymbol\varepsilon` at step ``t``
    (t = 0: the data), and the reverse path's points at the nearest saved step at or above ``t``."""
    T = len(schedule["v"])
    t = int(np.clip(t, 0, T))
    abar = 1.0 if t == 0 else float(schedule["abar"][t - 1])
    reverse, path_t = None, None
    if path:
        saved = sorted(path)
        path_t = min((s for s in saved if s >= t), default=saved[-1])
        reverse = path[path_t]
    return {"t": t, "T": T, "abar": abar, "forward": G.q_sample(x0, abar, eps), "reverse": reverse, "path_t": path_t}
