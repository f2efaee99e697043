r"""Fixed-step ODE solvers and the adjoint method, in PyTorch (chapter 13), with torchdiffeq's interface.

``odeint(func, y0, t, method="rk4", options={"step_size": dt})`` and ``odeint_adjoint(...)`` take
and return what ``torchdiffeq.odeint`` and ``torchdiffeq.odeint_adjoint`` do for their fixed-grid
solvers (``tests/test_neural_ode.py`` compares values and gradients with torchdiffeq 0.2.5):
``func(t, y)`` returns :math:`d\mathbf y/dt = f_{\boldsymbol\theta}(t, \mathbf y)` (an ``nn.Module`` for the adjoint),
``y0`` is a tensor of any shape, ``t`` a 1-D tensor of strictly increasing or decreasing times, and the
result has shape ``(len(t), *y0.shape)`` with ``result[0] = y0``.

Solvers (one step from :math:`(t, \mathbf y)` by :math:`\Delta t`):

- ``"euler"`` (order 1): :math:`\mathbf y + \Delta t\,f(t, \mathbf y)`; a residual block
  :math:`\mathbf y + \operatorname{res}(\mathbf y)` is one Euler step with :math:`\operatorname{res} = \Delta t\,f`.
- ``"midpoint"`` (order 2).
- ``"rk4"`` (order 4): **Kutta's 3/8 rule**, which is what torchdiffeq's fixed-step ``"rk4"`` runs;
  ``"rk4_classic"``: the classical Runge-Kutta method (weights 1/6, 1/3, 1/3, 1/6), also order 4.

Differences from torchdiffeq: only these fixed-step methods (no adaptive ``dopri5``; the default
``method`` is ``"rk4"``), ``y0`` is one tensor (not a tuple), and ``t`` gets no gradient.
"""
from __future__ import annotations

import math

import torch

__all__ = ["SPIRAL_A", "spiral", "convergence_slope", "STEPS", "ORDERS", "euler_step", "midpoint_step", "rk4_step", "rk4_classic_step", "time_grid", "odeint",
           "odeint_adjoint", "saved_tensor_peak"]


SPIRAL_A = ((-0.1, 2.0), (-2.0, -0.1))


def spiral(t, y):
    r"""torchdiffeq's example dynamics :math:`d\mathbf y/dt = \mathbf y^{3}\mathbf B` (cube element-wise, :math:`\mathbf y`
    a row vector), :math:`\mathbf B = \begin{pmatrix}-0.1 & 2\\ -2 & -0.1\end{pmatrix}` (``SPIRAL_A``, torchdiffeq's
    ``true_A``; bold A is the chapter's adjacency): ``(y ** 3) @ C``, shape (..., 2)."""
    return (y ** 3) @ torch.tensor(SPIRAL_A, dtype=y.dtype, device=y.device)


def convergence_slope(steps, errors) -> float:
    r"""The observed order :math:`r` in :math:`\text{error} \approx C\,\Delta t^{r}`: the least-squares slope of
    :math:`\log(\text{error})` against :math:`\log\Delta t`."""
    steps, errors = torch.as_tensor(steps, dtype=torch.float64), torch.as_tensor(errors, dtype=torch.float64)
    if len(steps) < 2 or len(steps) != len(errors) or not bool((steps > 0).all() & (errors > 0).all()):
        raise ValueError("need at least two positive step sizes and as many positive errors")
    x, y = steps.log(), errors.log()
    return float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())


def euler_step(func, t, dt, y):
    r"""Forward Euler: :math:`\Delta\mathbf y = \Delta t\,f(t, \mathbf y)` (local error :math:`O(\Delta t^2)`, global :math:`O(\Delta t)`)."""
    return dt * func(t, y)


def midpoint_step(func, t, dt, y):
    r"""Explicit midpoint: :math:`\Delta\mathbf y = \Delta t\,f(t + \Delta t/2,\ \mathbf y + \tfrac{\Delta t}{2}f(t, \mathbf y))` (global :math:`O(\Delta t^2)`)."""
    half = 0.5 * dt
    return dt * func(t + half, y + half * func(t, y))


def rk4_step(func, t, dt, y):
    r"""Kutta's 3/8 rule (torchdiffeq's fixed-step ``"rk4"``), global error :math:`O(\Delta t^4)`.

    Notes
    -----
    .. math::
        \mathbf k_1 = f(t, \mathbf y),\quad
        \mathbf k_2 = f(t + \tfrac{\Delta t}{3}, \mathbf y + \tfrac{\Delta t}{3}\mathbf k_1),\quad
        \mathbf k_3 = f(t + \tfrac{2\Delta t}{3}, \mathbf y + \Delta t(\mathbf k_2 - \tfrac13\mathbf k_1)),\\
        \mathbf k_4 = f(t + \Delta t, \mathbf y + \Delta t(\mathbf k_1 - \mathbf k_2 + \mathbf k_3)),\quad
        \Delta\mathbf y = \tfrac{\Delta t}{8}(\mathbf k_1 + 3\mathbf k_2 + 3\mathbf k_3 + \mathbf k_4).

    Written in torchdiffeq's order of operations, so that the two agree to rounding.
    """
    k1 = func(t, y)
    k2 = func(t + dt * (1 / 3), y + dt * k1 * (1 / 3))
    k3 = func(t + dt * (2 / 3), y + dt * (k2 - k1 * (1 / 3)))
    k4 = func(t + dt, y + dt * (k1 - k2 + k3))
    return (k1 + 3 * (k2 + k3) + k4) * dt * 0.125


def rk4_classic_step(func, t, dt, y):
    r"""The classical Runge-Kutta method: :math:`\Delta\mathbf y = \tfrac{\Delta t}{6}(\mathbf k_1 + 2\mathbf k_2 + 2\mathbf k_3 + \mathbf k_4)`, global :math:`O(\Delta t^4)`.

    Notes
    -----
    :math:`\mathbf k_1 = f(t, \mathbf y)`, :math:`\mathbf k_2 = f(t + \tfrac{\Delta t}{2}, \mathbf y + \tfrac{\Delta t}{2}\mathbf k_1)`,
    :math:`\mathbf k_3 = f(t + \tfrac{\Delta t}{2}, \mathbf y + \tfrac{\Delta t}{2}\mathbf k_2)`,
    :math:`\mathbf k_4 = f(t + \Delta t, \mathbf y + \Delta t\,\mathbf k_3)`.
    """
    half = 0.5 * dt
    k1 = func(t, y)
    k2 = func(t + half, y + half * k1)
    k3 = func(t + half, y + half * k2)
    k4 = func(t + dt, y + dt * k3)
    return (k1 + 2 * (k2 + k3) + k4) * dt / 6


STEPS = {"euler": euler_step, "midpoint": midpoint_step, "rk4": rk4_step, "rk4_classic": rk4_classic_step}
ORDERS = {"euler": 1, "midpoint": 2, "rk4": 4, "rk4_classic": 4}


def _check_inputs(func, y0, t, method, options):
    if not callable(func):
        raise TypeError("func must be callable as func(t, y)")
    if not isinstance(y0, torch.Tensor):
        raise TypeError(f"y0 must be a torch.Tensor (one state tensor, not a {type(y0).__name__})")
    if not torch.is_floating_point(y0):
        raise TypeError(f"y0 must be floating point; got {y0.dtype}")
    if not isinstance(t, torch.Tensor) or t.ndim != 1 or len(t) < 1:
        raise ValueError("t must be a 1-D tensor of output times")
    if method not in STEPS:
        raise ValueError(f"unknown method {method!r}; the fixed-step methods are {sorted(STEPS)}")
    options = dict(options or {})
    unknown = set(options) - {"step_size"}
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}; the fixed-step solvers take only 'step_size'")
    step = options.get("step_size")
    if step is not None and not (float(step) > 0 and math.isfinite(float(step))):
        raise ValueError(f"step_size must be a positive number; got {step}")
    d = t[1:] - t[:-1]
    if len(t) > 1 and not (bool((d > 0).all()) or bool((d < 0).all())):
        raise ValueError("t must be strictly increasing or strictly decreasing")
    return step


def time_grid(t: torch.Tensor, step_size=None) -> torch.Tensor:
    r"""The solver's time grid: ``t`` itself, or steps of ``step_size`` from ``t[0]`` towards ``t[-1]``.

    Parameters
    ----------
    t : Tensor, shape (T,)
        Output times, strictly monotone.
    step_size : float, optional

    Returns
    -------
    Tensor, shape (M,)
        :math:`t_0, t_0 \pm \Delta t, \dots`, with the last point moved to ``t[-1]`` exactly (torchdiffeq's
        grid: :math:`M = \lceil |t_{T-1} - t_0|/\Delta t + 1\rceil` points, so the last step may be shorter).
    """
    if step_size is None:
        return t
    sign = 1.0 if len(t) < 2 or bool(t[-1] > t[0]) else -1.0
    n = int(torch.ceil(sign * (t[-1] - t[0]) / step_size + 1).item())
    grid = torch.arange(0, n, dtype=t.dtype, device=t.device) * (sign * step_size) + t[0]
    grid[-1] = t[-1]
    return grid


def _solve(func, y0, t, method, step_size):
    """The fixed-grid loop; outputs between grid points are linearly interpolated (torchdiffeq's default)."""
    step = STEPS[method]
    grid = time_grid(t, step_size)
    sign = 1.0 if len(t) < 2 or bool(t[-1] > t[0]) else -1.0
    out = [y0]
    j, y = 1, y0
    for t0, t1 in zip(grid[:-1], grid[1:]):
        y1 = y + step(func, t0, t1 - t0, y)
        while j < len(t) and sign * (t1 - t[j]) >= 0:
            if t[j] == t1:
                out.append(y1)
            else:
                out.append(y + (t[j] - t0) / (t1 - t0) * (y1 - y))
            j += 1
        y = y1
    return torch.stack(out)


def odeint(func, y0, t, *, rtol=1e-7, atol=1e-9, method="rk4", options=None):
    r"""Solve :math:`d\mathbf y/dt = f(t, \mathbf y)`, :math:`\mathbf y(t_0) = \mathbf y_0`, at the times ``t``.

    Parameters
    ----------
    func : callable ``func(t, y) -> Tensor`` shaped like ``y``
    y0 : Tensor, any shape
    t : Tensor, shape (T,)
        Strictly increasing or decreasing; ``t[0]`` is the initial time.
    rtol, atol : float
        Accepted for torchdiffeq's signature; fixed-step solvers do not use them.
    method : {"euler", "midpoint", "rk4", "rk4_classic"}
    options : dict, optional
        ``{"step_size": dt}``; without it the solver steps from one output time to the next.

    Returns
    -------
    Tensor, shape (T, *y0.shape)
        ``out[k]`` approximates :math:`\mathbf y(t_k)`; differentiable by ordinary backprop through every
        step (memory grows with the number of steps; see :func:`odeint_adjoint`).
    """
    step = _check_inputs(func, y0, t, method, options)
    return _solve(func, y0, t.to(y0.dtype), method, step)


def _flat(tensors):
    return torch.cat([x.reshape(-1) for x in tensors])


class _Adjoint(torch.autograd.Function):
    """Forward: solve without recording a graph. Backward: solve the adjoint system backwards in time."""

    @staticmethod
    def forward(ctx, y0, t, func, method, step_size, *params):
        with torch.no_grad():
            ys = _solve(func, y0, t, method, step_size)
        ctx.func, ctx.method, ctx.step_size = func, method, step_size
        ctx.save_for_backward(t, ys, *params)
        return ys

    @staticmethod
    def backward(ctx, grad_ys):
        t, ys, *params = ctx.saved_tensors
        func, method, step_size = ctx.func, ctx.method, ctx.step_size
        n, shape = ys[0].numel(), ys.shape[1:]
        sizes = [p.numel() for p in params]

        def augmented(tt, state):
            # state = [y, a, a_theta] flattened; d/dt [y, a, a_theta] = [f, -a df/dy, -a df/dtheta] (a a row vector).
            y = state[:n].reshape(shape).detach().requires_grad_(True)
            a = state[n:2 * n].reshape(shape)
            with torch.enable_grad():
                f = func(tt, y)
                vjps = torch.autograd.grad(f, (y, *params), -a, allow_unused=True)
            vjps = [torch.zeros_like(x) if v is None else v for v, x in zip(vjps, (y, *params))]
            return _flat([f.detach(), *vjps])

        state = _flat([ys[-1], grad_ys[-1], *[torch.zeros_like(p) for p in params]])
        for i in range(len(t) - 1, 0, -1):
            with torch.no_grad():
                state = _solve(augmented, state, torch.stack([t[i], t[i - 1]]), method, step_size)[1]
            # Restart y from the forward solution (as torchdiffeq does) and add the loss's direct
            # dependence on y(t_{i-1}): a jumps by dL/dy(t_{i-1}) at every output time.
            state = torch.cat([ys[i - 1].reshape(-1), state[n:2 * n] + grad_ys[i - 1].reshape(-1), state[2 * n:]])
        grad_y0 = state[n:2 * n].reshape(shape)
        grads, offset = [], 2 * n
        for p, size in zip(params, sizes):
            grads.append(state[offset:offset + size].reshape(p.shape))
            offset += size
        return (grad_y0, None, None, None, None, *grads)


def odeint_adjoint(func, y0, t, *, rtol=1e-7, atol=1e-9, method="rk4", options=None, adjoint_method=None,
                   adjoint_options=None, adjoint_params=None):
    r""":func:`odeint` whose backward pass solves the adjoint ODE instead of storing the solver's steps.

    Parameters
    ----------
    func : torch.nn.Module
        ``func(t, y)``; its parameters get gradients (or pass ``adjoint_params``).
    y0, t, rtol, atol, method, options
        As :func:`odeint`.
    adjoint_method, adjoint_options
        Accepted for torchdiffeq's signature; the backward solve uses ``method`` and ``options`` (torchdiffeq's
        default), and any other value raises.
    adjoint_params : iterable of Tensor, optional
        The parameters to differentiate; default ``tuple(func.parameters())``.

    Returns
    -------
    Tensor, shape (T, *y0.shape)
        The same values as :func:`odeint`.

    Notes
    -----
    With the adjoint :math:`\mathbf a(t) = \partial L/\partial\mathbf y(t)` (a row vector), the backward pass
    integrates, from :math:`t_{T-1}` back to :math:`t_0`,

    .. math::
        \frac{d\mathbf y}{dt} = f_\theta(t, \mathbf y),\qquad
        \frac{d\mathbf a}{dt} = -\mathbf a\frac{\partial f_\theta}{\partial\mathbf y},\qquad
        \frac{d\mathbf a_\theta}{dt} = -\mathbf a\frac{\partial f_\theta}{\partial\theta},

    starting from :math:`\mathbf a(t_{T-1}) = \partial L/\partial\mathbf y(t_{T-1})` and :math:`\mathbf a_{\boldsymbol\theta} = \mathbf 0`,
    adding :math:`\partial L/\partial\mathbf y(t_k)` to :math:`\mathbf a` at each earlier output time. Then
    :math:`\partial L/\partial\mathbf y_0 = \mathbf a(t_0)` and
    :math:`\partial L/\partial\boldsymbol\theta = \mathbf a_{\boldsymbol\theta}(t_0) = \int_{t_0}^{t_{T-1}}\mathbf a\,\partial f_{\boldsymbol\theta}/\partial\boldsymbol\theta\,dt`.
    The minus signs come from integrating backwards. The state :math:`\mathbf y` is recomputed backwards
    (restarted from the stored output at each :math:`t_k`), so memory is constant in the number of steps;
    the price is a backward solve of the augmented system, with a vector-Jacobian product per stage, and
    gradients that match backprop only to the solver's accuracy
    (Chen et al. 2018).
    """
    if adjoint_params is None:
        if not isinstance(func, torch.nn.Module):
            raise ValueError("func must be an nn.Module to find the adjoint parameters; or pass adjoint_params "
                             "(adjoint_params=() if there are none)")
        adjoint_params = tuple(func.parameters())
    params = tuple(p for p in adjoint_params if p.requires_grad)
    if adjoint_method not in (None, method) or (adjoint_options is not None and dict(adjoint_options) != dict(options or {})):
        raise ValueError("the backward solve uses the forward's method and options; adjoint_method and "
                         "adjoint_options may only repeat them")
    if t.requires_grad:
        raise ValueError("odeint_adjoint gives no gradient with respect to t; pass t.detach()")
    step = _check_inputs(func, y0, t, method, options)
    return _Adjoint.apply(y0, t.to(y0.dtype), func, method, step, *params)


def saved_tensor_peak(fn) -> dict:
    r"""Run ``fn()`` (a forward and backward pass) and measure the tensors autograd keeps for the backward pass.

    Every tensor an op saves for its backward rule passes through ``torch.autograd.graph.saved_tensors_hooks``;
    we wrap each in a small holder that counts its bytes while it is alive (it dies when the graph that
    saved it is freed). This measures the memory that backprop through a solver grows, and nothing else
    (not the parameters, the optimizer or the allocator's caches).

    Returns
    -------
    dict
        ``peak_bytes``: most bytes held at once; ``saved``: tensors saved in all; ``bytes_total``: their bytes.
    """
    live = {"now": 0, "peak": 0, "saved": 0, "total": 0}

    class Held:
        __slots__ = ("x", "n")

        def __init__(self, x):
            self.x, self.n = x, x.numel() * x.element_size()
            live["now"] += self.n
            live["saved"] += 1
            live["total"] += self.n
            live["peak"] = max(live["peak"], live["now"])

        def __del__(self):
            live["now"] -= self.n

    with torch.autograd.graph.saved_tensors_hooks(Held, lambda held: held.x):
        fn()
    return {"peak_bytes": live["peak"], "saved": live["saved"], "bytes_total": live["total"]}
