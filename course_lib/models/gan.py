r"""Chapter 12's GAN in PyTorch: MLP generator :math:`G_{\boldsymbol\theta}` and discriminator :math:`D_{\boldsymbol\phi}` on 2-D data.

Training alternates one discriminator step on
:math:`L_{D_{\boldsymbol\phi}} = -\tfrac1B\sum\log D_{\boldsymbol\phi}(\mathbf x) - \tfrac1B\sum\log(1 - D_{\boldsymbol\phi}(G_{\boldsymbol\theta}(\boldsymbol\zeta)))` (real label 1,
fake label 0) and one generator step on the non-saturating :math:`L_{G_{\boldsymbol\theta}} = -\tfrac1B\sum\log D_{\boldsymbol\phi}(G_{\boldsymbol\theta}(\boldsymbol\zeta))`
(or the minimax :math:`\tfrac1B\sum\log(1 - D_{\boldsymbol\phi}(G_{\boldsymbol\theta}(\boldsymbol\zeta)))`), and keeps snapshots (samples, the
discriminator's field on a grid, mode coverage) for the chapter's widget.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.device import Presets
from course_lib.generative import mode_coverage, ring_centers, sample_ring

__all__ = ["GANConfig", "GAN_PRESETS", "make_gan", "discriminator_loss", "generator_loss", "train_gan",
           "best_response"]


@dataclass(frozen=True)
class GANConfig:
    """Widths, noise size, steps, batch size, Adam's learning rate and beta_1, snapshot spacing."""

    hidden: int = 64
    noise: int = 2
    steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    beta1: float = 0.5
    snapshot_every: int = 100


GAN_PRESETS = Presets(cpu=GANConfig(), gpu=GANConfig(hidden=256, steps=6000, batch_size=512))


def make_gan(config: GANConfig):
    """``(G, D)``: two ReLU MLPs, noise -> 2-D point and 2-D point -> logit."""
    h = config.hidden
    G = torch.nn.Sequential(torch.nn.Linear(config.noise, h), torch.nn.ReLU(), torch.nn.Linear(h, h), torch.nn.ReLU(),
                            torch.nn.Linear(h, 2))
    D = torch.nn.Sequential(torch.nn.Linear(2, h), torch.nn.ReLU(), torch.nn.Linear(h, h), torch.nn.ReLU(),
                            torch.nn.Linear(h, 1))
    return G, D


def discriminator_loss(logits_real, logits_fake):
    r"""Binary cross-entropy with real label 1 and fake label 0, from logits (stable): a mean over each batch."""
    return (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
            + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))


def generator_loss(logits_fake, non_saturating: bool = True):
    r"""Non-saturating :math:`-\overline{\log\sigma(z)}`, or the minimax :math:`\overline{\log(1-\sigma(z))} = -\overline{\operatorname{softplus}(z)}`."""
    if non_saturating:
        return F.softplus(-logits_fake).mean()
    return -F.softplus(logits_fake).mean()


def _grid(lim: float, n: int) -> np.ndarray:
    g = np.linspace(-lim, lim, n)
    return np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)


def train_gan(config: GANConfig, device, seed: int = 0, non_saturating: bool = True, n_modes: int = 8,
              radius: float = 2.0, std: float = 0.05, n_eval: int = 1000, grid_n: int = 41, lim: float = 3.0) -> dict:
    r"""Train a GAN on a ring of ``n_modes`` Gaussians (:func:`course_lib.generative.sample_ring`).

    Returns
    -------
    dict
        ``steps`` (S,), snapshot step numbers (0 = before training); ``samples`` (S, n_eval, 2) from a fixed noise
        batch; ``field`` (S, grid_n, grid_n), :math:`D_{\boldsymbol\phi}` on the grid ``[-lim, lim]^2`` (rows are y);
        ``covered`` (S,), modes covered; ``high_quality`` (S,); ``d_loss``, ``g_loss`` per step; ``grid_lim``;
        ``centers``; ``std``; ``seconds``.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    G, D = make_gan(config)
    G, D = G.to(device), D.to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr, betas=(config.beta1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr, betas=(config.beta1, 0.999))
    centers = ring_centers(n_modes, radius)
    z_eval = torch.randn(n_eval, config.noise, device=device)
    grid = torch.as_tensor(_grid(lim, grid_n), dtype=torch.float32, device=device)
    snaps = {"steps": [], "samples": [], "field": [], "covered": [], "high_quality": []}
    d_losses, g_losses = [], []

    def snapshot(step):
        with torch.no_grad():
            s = G(z_eval).cpu().numpy()
            field = torch.sigmoid(D(grid)).reshape(grid_n, grid_n).cpu().numpy()
        cov = mode_coverage(s, centers, std)
        snaps["steps"].append(step)
        snaps["samples"].append(s)
        snaps["field"].append(field)
        snaps["covered"].append(cov["covered"])
        snaps["high_quality"].append(cov["high_quality"])

    start = time.perf_counter()
    snapshot(0)
    for step in range(1, config.steps + 1):
        real = torch.as_tensor(sample_ring(config.batch_size, rng, n_modes, radius, std), dtype=torch.float32,
                               device=device)
        fake = G(torch.randn(config.batch_size, config.noise, device=device))
        loss_d = discriminator_loss(D(real), D(fake.detach()))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = generator_loss(D(fake), non_saturating)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        d_losses.append(loss_d.item())
        g_losses.append(loss_g.item())
        if step % config.snapshot_every == 0:
            snapshot(step)
    out = {k: np.array(v) for k, v in snaps.items()}
    out.update(d_loss=np.array(d_losses), g_loss=np.array(g_losses), grid_lim=lim, centers=centers, std=std,
               seconds=time.perf_counter() - start, G=G.cpu(), D=D.cpu())
    return out


def best_response(G, D, steps: int = 300, lr: float = 1e-2, noise: int = 2, batch_size: int = 128, seed: int = 0,
                  n_eval: int = 1000, std: float = 0.05, centers=None) -> dict:
    r"""Train a copy of ``G`` against the frozen ``D`` alone: the generator's best response, and mode collapse.

    For a fixed :math:`D_{\boldsymbol\phi}` the generator's loss :math:`-\mathbb E\log D_{\boldsymbol\phi}(G_{\boldsymbol\theta}(\boldsymbol\zeta))` is smallest
    when every :math:`G_{\boldsymbol\theta}(\boldsymbol\zeta)` sits at the maximum of :math:`D_{\boldsymbol\phi}`: a point mass. Only the
    discriminator's next move pushes the generator off it, which is why alternating updates matter.

    Returns
    -------
    dict
        ``samples`` (n_eval, 2) after training and ``covered`` per 50 steps (modes of ``centers``, default the ring).
    """
    import copy

    torch.manual_seed(seed)
    G = copy.deepcopy(G)
    for p in D.parameters():
        p.requires_grad_(False)
    centers = ring_centers() if centers is None else centers
    opt = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    z_eval = torch.randn(n_eval, noise)
    covered = []
    for step in range(steps + 1):
        if step % 50 == 0:
            with torch.no_grad():
                covered.append(mode_coverage(G(z_eval).numpy(), centers, std)["covered"])
        if step == steps:
            break
        loss = generator_loss(D(G(torch.randn(batch_size, noise))))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for p in D.parameters():
        p.requires_grad_(True)
    with torch.no_grad():
        samples = G(z_eval).numpy()
    return {"samples": samples, "covered": np.array(covered)}
