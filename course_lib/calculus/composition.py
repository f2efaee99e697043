r"""The chain rule: for one variable, then through a stack of layers as a product of
Jacobians, accumulated forward (Jacobian) or in reverse (vector-Jacobian product, what
backpropagation does), with the cost of each order.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def chain_rule(df: Callable, g: Callable, dg: Callable, x):
    r"""Derivative of a composition of one-variable functions.

    Parameters
    ----------
    df : callable
        :math:`f'`, the derivative of the outer function.
    g, dg : callable
        The inner function and its derivative.
    x : float or ndarray

    Returns
    -------
    float or ndarray

    Notes
    -----
    .. math:: (f\circ g)'(x) = f'(g(x))\,g'(x)

    The outer derivative is evaluated at the inner value :math:`g(x)`, not at :math:`x`.
    """
    return df(g(x)) * dg(x)


Layer = tuple[Callable, Callable]  # (function, its Jacobian), both of the layer's input vector


def _forward(layers: Sequence[Layer], x) -> list[np.ndarray]:
    """The inputs of every layer and the final output: ``[x_0, x_1, ..., x_k]``."""
    xs = [np.asarray(x, dtype=np.float64)]
    for fn, _ in layers:
        xs.append(np.asarray(fn(xs[-1]), dtype=np.float64))
    return xs


def chain_jacobian(layers: Sequence[Layer], x) -> tuple[np.ndarray, np.ndarray]:
    r"""Value and Jacobian of :math:`f_k\circ\dots\circ f_1` at ``x``, by forward accumulation.

    Parameters
    ----------
    layers : sequence of (f_i, J_i)
        Applied first to last; ``J_i(x)`` is the ``(n_i, n_{i-1})`` Jacobian of ``f_i`` at its
        input ``x``.
    x : ndarray, shape (n_0,)

    Returns
    -------
    y : ndarray, shape (n_k,)
    J : ndarray, shape (n_k, n_0)

    Notes
    -----
    Multivariable chain rule: with :math:`\mathbf{x}_i = f_i(\mathbf{x}_{i-1})`,

    .. math:: \mathbf{J}_{f_k\circ\dots\circ f_1}(\mathbf{x}_0) =
              \mathbf{J}_k(\mathbf{x}_{k-1})\cdots\mathbf{J}_2(\mathbf{x}_1)\,\mathbf{J}_1(\mathbf{x}_0),

    each Jacobian evaluated at *its own* input. Forward accumulation multiplies from the right,
    in the order the layers run.
    """
    xs = _forward(layers, x)
    J = np.eye(xs[0].size)
    for (_, jac), xin in zip(layers, xs[:-1]):
        J = np.asarray(jac(xin), dtype=np.float64) @ J
    return xs[-1], J


def chain_vjp(layers: Sequence[Layer], x, v) -> tuple[np.ndarray, np.ndarray]:
    r"""Value and vector-Jacobian product :math:`\mathbf{v}^\top\mathbf{J}` by reverse accumulation.

    Parameters
    ----------
    layers : sequence of (f_i, J_i)
        As in :func:`chain_jacobian`.
    x : ndarray, shape (n_0,)
    v : ndarray, shape (n_k,)
        For a scalar loss (:math:`n_k = 1`), ``v = [1.0]`` gives the gradient.

    Returns
    -------
    y : ndarray, shape (n_k,)
    vJ : ndarray, shape (n_0,)

    Notes
    -----
    .. math:: \mathbf{v}^\top\mathbf{J} = \big(\cdots((\mathbf{v}^\top\mathbf{J}_k)\,
              \mathbf{J}_{k-1})\cdots\big)\,\mathbf{J}_1

    The same product as :func:`chain_jacobian`, multiplied from the left: one forward pass
    stores every layer's input, then a backward pass carries a vector (never a matrix)
    from the output to the input. This is backpropagation.
    """
    xs = _forward(layers, x)
    vJ = np.asarray(v, dtype=np.float64)
    for (_, jac), xin in zip(reversed(layers), reversed(xs[:-1])):
        vJ = vJ @ np.asarray(jac(xin), dtype=np.float64)
    return xs[-1], vJ


def chain_costs(dims: Sequence[int]) -> tuple[int, int]:
    r"""Multiply-adds to form :math:`\mathbf{J}_k\cdots\mathbf{J}_1` right-to-left and left-to-right.

    Parameters
    ----------
    dims : sequence of int
        :math:`(n_0, n_1, \dots, n_k)`; :math:`\mathbf{J}_i` is :math:`n_i\times n_{i-1}`.

    Returns
    -------
    forward : int
        Right to left (forward accumulation): :math:`\sum_{i=2}^{k} n_i n_{i-1} n_0`.
    reverse : int
        Left to right (reverse accumulation): :math:`\sum_{i=1}^{k-1} n_k n_i n_{i-1}`.

    Notes
    -----
    An :math:`a\times b` times :math:`b\times c` product costs :math:`abc` multiply-adds. For a
    scalar loss (:math:`n_k = 1`) and many parameters, reverse is cheaper by about a factor of
    :math:`n_0`: why deep learning uses reverse mode.
    """
    n = [int(d) for d in dims]
    k = len(n) - 1
    forward = sum(n[i] * n[i - 1] * n[0] for i in range(2, k + 1))
    reverse = sum(n[k] * n[i] * n[i - 1] for i in range(1, k))
    return forward, reverse
