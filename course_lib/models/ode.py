r"""Chapter 13's neural ODE in PyTorch: a learned field :math:`f_{\boldsymbol\theta}(t, \mathbf y)` fitted to the spiral
:math:`d\mathbf y/dt = \mathbf y^{3}\mathbf B` (torchdiffeq's example, ``examples/ode_demo.py``), by
:func:`course_lib.neural_ode.odeint_adjoint` or by backprop through :func:`~course_lib.neural_ode.odeint`.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from course_lib import neural_ode as N

__all__ = ["ODEFunc", "spiral_data", "fit_spiral"]


class ODEFunc(torch.nn.Module):
    r""":math:`f_{\boldsymbol\theta}(t, \mathbf y) = \mathbf W_2\tanh(\mathbf W_1\mathbf y^{3} + \mathbf b_1) + \mathbf b_2`, torchdiffeq's demo field
    (hidden width :math:`n_h` = ``hidden_size``, weights :math:`\mathcal N(0, 0.1^2)`, biases 0). Autonomous: ``t`` is unused."""

    def __init__(self, hidden_size: int = 50):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden_size), torch.nn.Tanh(), torch.nn.Linear(hidden_size, 2))
        for m in self.net:
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, std=0.1)
                torch.nn.init.zeros_(m.bias)

    def forward(self, t, y):
        return self.net(y ** 3)


def spiral_data(n_points: int = 200, t_max: float = 10.0, y0=(2.0, 0.0)) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The true trajectory: ``t`` (n_points,) and ``y`` (n_points, 1, 2) of :func:`course_lib.neural_ode.spiral`, by rk4
    with a step 10 times finer than the sampling."""
    t = torch.linspace(0.0, t_max, n_points)
    y0 = torch.tensor([list(y0)])
    with torch.no_grad():
        y = N.odeint(N.spiral, y0, t, method="rk4", options={"step_size": float(t[1] - t[0]) / 10})
    return t, y


def fit_spiral(t, y, *, iterations: int = 200, batch_time: int = 10, batch_size: int = 180, lr: float = 0.01,
               adjoint: bool = True, seed: int = 0) -> dict:
    r"""Fit :class:`ODEFunc` to a trajectory from random short windows (torchdiffeq's demo, with Adam).

    Parameters
    ----------
    t : Tensor, shape (T,)
    y : Tensor, shape (T, 1, 2)
    iterations, batch_time, batch_size, lr : training settings; each iteration starts ``batch_size`` solves at
        random observed states and compares the next ``batch_time`` observations (L1 loss, as the demo); the
        learning rate decays linearly to 0.
    adjoint : bool
        Differentiate with :func:`course_lib.neural_ode.odeint_adjoint` (else backprop through the solver).
    seed : int

    Returns
    -------
    dict
        ``func`` (the trained field), ``loss`` per iteration, ``trajectory``: the whole path solved from ``y[0]``,
        ``error``: its mean absolute deviation from ``y``, ``seconds``.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    func = ODEFunc()
    opt = torch.optim.Adam(func.parameters(), lr=lr)
    solve = N.odeint_adjoint if adjoint else N.odeint
    dt = float(t[1] - t[0])
    losses = []
    start = time.perf_counter()
    for it in range(iterations):
        for group in opt.param_groups:  # linear decay to 0: the late, small steps settle the long-horizon fit
            group["lr"] = lr * (1 - it / iterations)
        idx = torch.as_tensor(rng.choice(len(t) - batch_time, batch_size, replace=False))
        y0 = y[idx]                                                    # (B, 1, 2)
        target = torch.stack([y[idx + k] for k in range(batch_time)])  # (batch_time, B, 1, 2)
        pred = solve(func, y0, t[:batch_time], method="rk4", options={"step_size": dt})
        loss = (pred - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    with torch.no_grad():
        path = N.odeint(func, y[0], t, method="rk4", options={"step_size": dt})
    return {"func": func, "loss": losses, "trajectory": path, "error": float((path - y).abs().mean()), "seconds": seconds}
