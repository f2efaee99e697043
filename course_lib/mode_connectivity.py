r"""Chapter 08: paths between two trained networks, their loss barriers, and a trained Bézier curve.

Two networks trained from different seeds reach different points :math:`\boldsymbol\theta_A,
\boldsymbol\theta_B` with about the same loss. On the straight segment between them the loss
usually rises (a **barrier**); along a curve trained for the purpose it hardly does
(Garipov et al. 2018; Draxler et al. 2018): the minima are *connected*.

Parameters are lists of arrays matching the model's parameters, as in
:mod:`course_lib.landscapes`.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from course_lib.optim.functional import sgd_update

Weights = Sequence[np.ndarray]


def _same_shapes(*lists: Weights, who: str) -> None:
    shapes = [[np.shape(a) for a in arrays] for arrays in lists]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError(f"{who}: the end points (and the bend) must have the same parameter shapes, got {shapes}")


def linear_path(w_a: Weights, w_b: Weights, t: float) -> list[np.ndarray]:
    r"""The point :math:`(1-t)\,\boldsymbol\theta_A + t\,\boldsymbol\theta_B` of the segment, parameter by parameter.

    Parameters
    ----------
    w_a, w_b : sequence of ndarray, the same shapes
    t : float in [0, 1]

    Returns
    -------
    list of ndarray, float64
    """
    _same_shapes(w_a, w_b, who="linear_path")
    return [(1 - t) * np.asarray(a, dtype=np.float64) + t * np.asarray(b, dtype=np.float64) for a, b in zip(w_a, w_b)]


def bezier_coefficients(t) -> np.ndarray:
    r"""The weights of the quadratic Bézier curve: :math:`\big((1-t)^2,\ 2t(1-t),\ t^2\big)`.

    Parameters
    ----------
    t : float or ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (3,) or (3, n); the columns sum to 1 (Bernstein polynomials of degree 2).
    """
    t = np.asarray(t, dtype=np.float64)
    return np.stack([(1 - t) ** 2, 2 * t * (1 - t), t ** 2])


def bezier_point(w_a: Weights, w_bend: Weights, w_b: Weights, t: float) -> list[np.ndarray]:
    r"""The point :math:`\boldsymbol\phi(t)` of the quadratic Bézier curve from :math:`\boldsymbol\theta_A` to :math:`\boldsymbol\theta_B`.

    Parameters
    ----------
    w_a, w_bend, w_b : sequence of ndarray, the same shapes
        The end points and the control point (the "bend") :math:`\boldsymbol\theta_M`.
    t : float in [0, 1]

    Returns
    -------
    list of ndarray, float64

    Notes
    -----
    .. math::  \boldsymbol\phi(t) = (1-t)^2\,\boldsymbol\theta_A + 2t(1-t)\,\boldsymbol\theta_M + t^2\,\boldsymbol\theta_B,
               \qquad \frac{\partial\boldsymbol\phi(t)}{\partial\boldsymbol\theta_M} = 2t(1-t)\,\mathbf I .

    :math:`\boldsymbol\phi(0) = \boldsymbol\theta_A`, :math:`\boldsymbol\phi(1) = \boldsymbol\theta_B`; with
    :math:`\boldsymbol\theta_M` at the midpoint of the segment the curve *is* the segment.
    """
    _same_shapes(w_a, w_bend, w_b, who="bezier_point")
    c0, c1, c2 = bezier_coefficients(t)
    return [c0 * np.asarray(a, dtype=np.float64) + c1 * np.asarray(m, dtype=np.float64)
            + c2 * np.asarray(b, dtype=np.float64) for a, m, b in zip(w_a, w_bend, w_b)]


def path_losses(loss: Callable[[list], float], point: Callable[[float], list], ts) -> np.ndarray:
    r"""The loss at points of a path: ``[loss(point(t)) for t in ts]``.

    Parameters
    ----------
    loss : callable, list of ndarray -> float
    point : callable, t -> list of ndarray (for example ``lambda t: linear_path(w_a, w_b, t)``)
    ts : array_like, shape (n,)

    Returns
    -------
    ndarray, shape (n,)
    """
    return np.array([float(loss(point(float(t)))) for t in np.asarray(ts, dtype=float)])


def loss_barrier(ts, losses) -> float:
    r"""The height of a path's loss above the straight line between its end losses.

    Parameters
    ----------
    ts : array_like, shape (n,)
        Increasing, from 0 to 1.
    losses : array_like, shape (n,)
        The loss at each ``t`` (``losses[0]`` and ``losses[-1]`` are the end points).

    Returns
    -------
    float

    Notes
    -----
    .. math::  \operatorname{barrier} = \max_t\ \Big[L(t) - \big((1-t)\,L(0) + t\,L(1)\big)\Big]

    (Frankle et al. 2020). It is :math:`\ge 0` because the maximum includes the end points, and 0
    when the loss never rises above the chord, as for a convex loss along a segment.
    """
    ts, losses = np.asarray(ts, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if ts.ndim != 1 or ts.shape != losses.shape or len(ts) < 2:
        raise ValueError(f"loss_barrier: expected ts and losses of the same shape (n,), n >= 2; got {ts.shape} "
                         f"and {losses.shape}")
    if ts[0] != 0 or ts[-1] != 1 or np.any(np.diff(ts) <= 0):
        raise ValueError("loss_barrier: ts must increase from 0 to 1 (the end points are part of the path)")
    chord = (1 - ts) * losses[0] + ts * losses[-1]
    return float(np.max(losses - chord))


def train_bezier(loss_grad: Callable[[list], tuple], w_a: Weights, w_b: Weights, *, steps: int = 500,
                 lr: float = 0.05, momentum: float = 0.9, rng=None, w_bend: Weights | None = None):
    r"""Train the bend of a quadratic Bézier curve so that the whole curve has a low loss (Garipov et al. 2018).

    Parameters
    ----------
    loss_grad : callable, list of ndarray -> (float, list of ndarray)
        The loss and its gradient at given parameters (it may draw a fresh mini-batch on each call).
    w_a, w_b : sequence of ndarray
        The two trained networks (kept fixed).
    steps : int
    lr, momentum : float
        SGD with heavy-ball momentum (``course_lib.optim``'s rule) on the bend.
    rng : numpy.random.Generator or int or None
        Draws :math:`t`.
    w_bend : sequence of ndarray, optional
        Initial bend; the midpoint :math:`(\boldsymbol\theta_A + \boldsymbol\theta_B)/2` (the straight segment) by default.

    Returns
    -------
    bend : list of ndarray
    losses : ndarray, shape (steps,)
        :math:`L(\boldsymbol\phi(t))` at the sampled :math:`t` of each step.

    Notes
    -----
    The objective is the loss averaged along the curve,
    :math:`\ell(\boldsymbol\theta_M) = \mathbb E_{t\sim\mathcal U[0,1]}\,L(\boldsymbol\phi(t))`. One sample of :math:`t`
    gives an unbiased stochastic gradient by the chain rule:

    .. math::  \nabla_{\boldsymbol\theta_M} L(\boldsymbol\phi(t)) = 2t(1-t)\,\nabla L(\boldsymbol\phi(t)).
    """
    _same_shapes(w_a, w_b, who="train_bezier")
    rng = np.random.default_rng(rng)
    bend = [np.array(m, dtype=np.float64) for m in (w_bend if w_bend is not None else linear_path(w_a, w_b, 0.5))]
    _same_shapes(w_a, bend, who="train_bezier")
    states: list = [None] * len(bend)
    losses = np.empty(steps)
    for step in range(steps):
        t = float(rng.uniform())
        value, grads = loss_grad(bezier_point(w_a, bend, w_b, t))
        losses[step] = value
        weight = 2 * t * (1 - t)
        for k, g in enumerate(grads):
            bend[k], states[k] = sgd_update(bend[k], weight * np.asarray(g, dtype=np.float64), states[k], lr=lr,
                                            momentum=momentum)
    return bend, losses
