r"""Chapter 12's autoencoders in PyTorch: a linear or nonlinear autoencoder, and a VAE with a Bernoulli decoder.

The losses are :mod:`course_lib.generative`'s formulas written in torch (the tests check them against the
NumPy versions and ``torch.distributions``). CPU and GPU size presets are picked by :mod:`course_lib.device`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.device import Presets

__all__ = ["AEConfig", "VAEConfig", "AE_PRESETS", "VAE_PRESETS", "Autoencoder", "VAE", "train_linear_autoencoder",
           "train_autoencoder", "gaussian_kl", "train_vae", "vae_elbo"]


@dataclass(frozen=True)
class AEConfig:
    """The nonlinear autoencoder: hidden widths (mirrored in the decoder), epochs, batch size, learning rate."""

    hidden: tuple = (128,)
    epochs: int = 80
    batch_size: int = 64
    lr: float = 2e-3


@dataclass(frozen=True)
class VAEConfig:
    """The VAE: hidden width, latent size, epochs, batch size, learning rate."""

    hidden: int = 256
    latent: int = 2
    epochs: int = 60
    batch_size: int = 64
    lr: float = 2e-3


AE_PRESETS = Presets(cpu=AEConfig(), gpu=AEConfig(hidden=(512, 256), epochs=600))
VAE_PRESETS = Presets(cpu=VAEConfig(), gpu=VAEConfig(hidden=512, epochs=600))


def _mlp(sizes, act=torch.nn.ReLU):
    """Linear layers between ``sizes``, ``act`` between them (none after the last)."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)


class Autoencoder(torch.nn.Module):
    r"""Encoder :math:`\mathbb R^d\to\mathbb R^k`, decoder back; linear when ``hidden`` is empty.

    The linear one is :math:`\hat{\mathbf x} = \mathbf W_2(\mathbf W_1\mathbf x + \mathbf b_1) + \mathbf b_2`: its
    reconstructions lie in the column space of :math:`\mathbf W_2` (``decoder[0].weight``, shape (d, k)).
    """

    def __init__(self, d: int, k: int, hidden=()):
        super().__init__()
        self.encoder = _mlp([d, *hidden, k])
        self.decoder = _mlp([k, *hidden[::-1], d])

    def forward(self, x):
        return self.decoder(self.encoder(x))


def train_linear_autoencoder(X, k: int, seed: int = 0, max_iter: int = 500) -> Autoencoder:
    r"""A linear autoencoder fitted to ``X`` (N, d) by full-batch L-BFGS on the mean squared error, float64.

    Any global minimum spans the top-``k`` principal subspace (Baldi and Hornik 1989), and the loss has no
    other local minima, so a second-order method reaches it in a few hundred iterations.
    """
    torch.manual_seed(seed)
    X = torch.as_tensor(np.asarray(X), dtype=torch.float64)
    model = Autoencoder(X.shape[1], k).double()
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=max_iter, tolerance_grad=1e-12,
                            tolerance_change=1e-15, history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((model(X) - X) ** 2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    return model


def train_autoencoder(X, k: int, config: AEConfig, device, seed: int = 0) -> dict:
    """A nonlinear autoencoder (ReLU) trained with Adam on the mean squared error; returns ``model``, ``seconds``."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    Xt = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=device)
    model = Autoencoder(Xt.shape[1], k, config.hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.epochs)
    start = time.perf_counter()
    for _ in range(config.epochs):
        perm = torch.as_tensor(rng.permutation(len(Xt)), device=device)
        for i in range(0, len(perm), config.batch_size):
            xb = Xt[perm[i:i + config.batch_size]]
            loss = ((model(xb) - xb) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    return {"model": model.cpu().eval(), "seconds": time.perf_counter() - start}


def gaussian_kl(mu, logvar):
    r""":math:`\tfrac12\sum_j(e^{\text{logvar}_j} + \mu_j^2 - 1 - \text{logvar}_j)` over the last axis (torch)."""
    return 0.5 * (torch.expm1(logvar) - logvar + mu ** 2).sum(-1)


class VAE(torch.nn.Module):
    r"""Encoder :math:`\mathbf x\mapsto(\boldsymbol\mu, \text{logvar})`, decoder :math:`\boldsymbol\zeta\mapsto` Bernoulli logits.

    ``forward(x, eps)`` returns ``logits, mu, logvar``; ``z = mu + exp(logvar / 2) * eps`` (the
    reparameterization), with ``eps`` drawn when not given.
    """

    def __init__(self, d: int = 64, hidden: int = 256, latent: int = 2):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.ReLU(),
                                           torch.nn.Linear(hidden, 2 * latent))
        self.decoder = _mlp([latent, hidden, d])
        self.latent = latent

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def forward(self, x, eps=None):
        mu, logvar = self.encode(x)
        eps = torch.randn_like(mu) if eps is None else eps
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decoder(z), mu, logvar


def vae_elbo(model: VAE, x, eps=None):
    r"""Per-example ELBO, :math:`\log p(\mathbf x\mid\boldsymbol\zeta) - D_{\mathrm{KL}}`, in nats; shape (N,). One sample of :math:`\boldsymbol\zeta`."""
    logits, mu, logvar = model(x, eps)
    recon = (x * logits - torch.nn.functional.softplus(logits)).sum(-1)
    return recon - gaussian_kl(mu, logvar)


def train_vae(X, config: VAEConfig, device, seed: int = 0, X_test=None) -> dict:
    r"""Train a :class:`VAE` on ``X`` (N, d) in [0, 1] by maximizing the ELBO with Adam.

    Returns
    -------
    dict
        ``model`` (on the CPU, eval mode), ``train_elbo`` per epoch (nats per image, the running mean
        over the epoch's batches), ``test_elbo`` per epoch when ``X_test`` is given, ``seconds``.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    Xt = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=device)
    Xv = None if X_test is None else torch.as_tensor(np.asarray(X_test), dtype=torch.float32, device=device)
    model = VAE(Xt.shape[1], config.hidden, config.latent).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.epochs)
    train_curve, test_curve = [], []
    start = time.perf_counter()
    for _ in range(config.epochs):
        perm = torch.as_tensor(rng.permutation(len(Xt)), device=device)
        total = 0.0
        for i in range(0, len(perm), config.batch_size):
            xb = Xt[perm[i:i + config.batch_size]]
            elbo = vae_elbo(model, xb)
            loss = -elbo.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(elbo.detach().sum())
        sched.step()
        train_curve.append(total / len(Xt))
        if Xv is not None:
            with torch.no_grad():
                test_curve.append(float(vae_elbo(model, Xv).mean()))
    return {"model": model.cpu().eval(), "train_elbo": train_curve, "test_elbo": test_curve,
            "seconds": time.perf_counter() - start}
