r"""Chapter 12's DDPM on 2-D data in PyTorch: a noise-prediction MLP :math:`\boldsymbol\varepsilon_{\boldsymbol\theta}(\mathbf x_t, t)`.

Training (Ho et al. 2020, Algorithm 1): draw :math:`\mathbf x_0`, :math:`t\sim\mathcal U\{1..T\}`,
:math:`\boldsymbol\varepsilon\sim\mathcal N(\mathbf 0,\mathbf I)`, form :math:`\mathbf x_t = \sqrt{\bar a_t}\,\mathbf x_0 +
\sqrt{1-\bar a_t}\,\boldsymbol\varepsilon` and minimize :math:`\lVert\boldsymbol\varepsilon -
\boldsymbol\varepsilon_{\boldsymbol\theta}(\mathbf x_t, t)\rVert^2`. Sampling (Algorithm 2), from :math:`\mathbf x_T\sim\mathcal N(\mathbf 0,\mathbf I)`:
:math:`\mathbf x_{t-1} = \frac{1}{\sqrt{a_t}}\bigl(\mathbf x_t - \frac{v_t}{\sqrt{1-\bar a_t}}\boldsymbol\varepsilon_{\boldsymbol\theta}(\mathbf x_t, t)\bigr)
+ \sqrt{v_t}\,\mathbf w`, no noise at the last step. Schedule: :func:`course_lib.generative.ddpm_schedule`
(:math:`v_t` is Ho et al.'s :math:`\beta_t`, :math:`a_t` their :math:`\alpha_t`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.device import Presets
from course_lib.generative import ddpm_schedule

__all__ = ["DDPMConfig", "DDPM_PRESETS", "NoiseNet", "train_ddpm", "sample_ddpm"]


@dataclass(frozen=True)
class DDPMConfig:
    """Chain length and schedule, network width, training steps, batch size, learning rate."""

    T: int = 100
    v_first: float = 1e-4
    v_last: float = 0.1
    hidden: int = 128
    steps: int = 2000
    batch_size: int = 512
    lr: float = 4e-3


DDPM_PRESETS = Presets(cpu=DDPMConfig(), gpu=DDPMConfig(T=200, v_last=0.05, hidden=512, steps=20000, batch_size=2048,
                                                        lr=2e-3))


class NoiseNet(torch.nn.Module):
    r""":math:`\boldsymbol\varepsilon_{\boldsymbol\theta}(\mathbf x_t, t)`: an MLP on :math:`\mathbf x_t` and sinusoidal features of :math:`t/T`."""

    def __init__(self, T: int, hidden: int = 128, d: int = 2, n_freq: int = 8):
        super().__init__()
        self.T = T
        self.register_buffer("freqs", torch.pi * 2.0 ** torch.arange(n_freq, dtype=torch.float32) / 2)
        self.net = torch.nn.Sequential(torch.nn.Linear(d + 2 * n_freq, hidden), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, d))

    def forward(self, x, t):
        """``x`` (N, d); ``t`` (N,) integer steps 1..T."""
        phase = (t.float() / self.T)[:, None] * self.freqs
        return self.net(torch.cat([x, torch.sin(phase), torch.cos(phase)], dim=1))


def train_ddpm(X, config: DDPMConfig, device, seed: int = 0) -> dict:
    r"""Fit :class:`NoiseNet` to data ``X`` (N, d) with the noise-prediction loss; returns ``model``, ``loss``, ``seconds``, ``schedule``."""
    torch.manual_seed(seed)
    sched = ddpm_schedule(config.T, config.v_first, config.v_last)
    abar = torch.as_tensor(sched["abar"], dtype=torch.float32, device=device)
    Xt = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=device)
    model = NoiseNet(config.T, config.hidden, Xt.shape[1]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    lr_sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.steps)
    losses = []
    start = time.perf_counter()
    for _ in range(config.steps):
        x0 = Xt[torch.randint(len(Xt), (config.batch_size,), device=device)]
        t = torch.randint(1, config.T + 1, (config.batch_size,), device=device)
        eps = torch.randn_like(x0)
        ab = abar[t - 1][:, None]
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        loss = ((model(xt, t) - eps) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        lr_sched.step()
        losses.append(loss.item())
    return {"model": model.cpu().eval(), "loss": np.array(losses), "seconds": time.perf_counter() - start,
            "schedule": sched}


@torch.no_grad()
def sample_ddpm(model, schedule: dict, n: int, seed: int = 0, keep_every: int = 0, d: int = 2):
    r"""Ancestral sampling, :math:`\mathbf x_T\to\mathbf x_0`. Returns ``x0`` (n, d) and, when ``keep_every`` > 0,
    ``path`` (list of (t, x_t) pairs, every ``keep_every`` steps and at t = T and 0). ``model(x, t)`` is any
    noise predictor on ``d``-dimensional points."""
    gen = torch.Generator().manual_seed(seed)
    v = torch.as_tensor(schedule["v"], dtype=torch.float32)
    a, abar = 1 - v, torch.as_tensor(schedule["abar"], dtype=torch.float32)
    T = len(v)
    x = torch.randn(n, d, generator=gen)
    path = [(T, x.numpy().copy())] if keep_every else []
    for t in range(T, 0, -1):
        eps = model(x, torch.full((n,), t))
        x = (x - v[t - 1] / (1 - abar[t - 1]).sqrt() * eps) / a[t - 1].sqrt()
        if t > 1:
            x = x + v[t - 1].sqrt() * torch.randn(n, d, generator=gen)
        if keep_every and ((t - 1) % keep_every == 0):
            path.append((t - 1, x.numpy().copy()))
    return (x.numpy(), path) if keep_every else x.numpy()
