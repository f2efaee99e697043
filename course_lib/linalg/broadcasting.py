r"""Shapes and broadcasting, centring a data matrix, and the dense layer
:math:`\mathbf{y} = f(\mathbf{W}\mathbf{x} + \mathbf{b})` that relies on both (with the identity
and ReLU activations it uses).
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape NumPy gives to an element-wise operation on arrays of these shapes.

    Parameters
    ----------
    *shapes : tuple of int
        The shapes of the operands.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        When two shapes cannot be broadcast.

    Notes
    -----
    Align the shapes at their right end (pad the shorter with leading 1s). In every
    position the sizes must be equal or one of them must be 1; the result takes the
    larger size. A size-1 axis is *stretched* without copying. Same rule as
    ``np.broadcast_shapes``.
    """
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    result = []
    for axis, sizes in enumerate(zip(*padded)):
        big = {n for n in sizes if n != 1}
        if len(big) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast: axis {axis - ndim} has sizes {sorted(big)}")
        result.append(big.pop() if big else 1)
    return tuple(result)


def center(X: np.ndarray) -> np.ndarray:
    r"""Subtract each column's mean: the broadcasting idiom of data preprocessing.

    Parameters
    ----------
    X : ndarray, shape (N, d)
        Data matrix, one example per row.

    Returns
    -------
    ndarray, shape (N, d)
        :math:`\tilde{\mathbf{X}}`, whose columns have mean zero.

    Notes
    -----
    :math:`\tilde X_{ij} = X_{ij} - \bar x_j` with :math:`\bar x_j = \frac1N\sum_i X_{ij}`.
    ``X.mean(axis=0, keepdims=True)`` has shape ``(1, d)`` and broadcasts over the rows.
    """
    X = np.asarray(X, dtype=np.float64)
    return X - X.mean(axis=0, keepdims=True)


def identity(z: np.ndarray) -> np.ndarray:
    """The identity activation, :math:`f(z) = z`."""
    return z


def relu(z: np.ndarray) -> np.ndarray:
    r"""Rectified linear unit, :math:`f(z) = \max(0, z)` element-wise."""
    return np.maximum(z, 0.0)


def dense_layer(x: np.ndarray, W: np.ndarray, b: np.ndarray,
                f: Callable[[np.ndarray], np.ndarray] = identity) -> np.ndarray:
    r"""A fully connected layer, :math:`\mathbf{y} = f(\mathbf{W}\mathbf{x} + \mathbf{b})`.

    Parameters
    ----------
    x : ndarray, shape (n,) or (N, n)
        One input vector, or a batch with one example per row.
    W : ndarray, shape (m, n)
        Weights, out x in (as ``torch.nn.Linear.weight``).
    b : ndarray, shape (m,)
        Bias.
    f : callable
        Element-wise activation (default: identity).

    Returns
    -------
    ndarray, shape (m,) or (N, m)

    Notes
    -----
    For one vector :math:`\mathbf{y} = f(\mathbf{W}\mathbf{x} + \mathbf{b})`. For a batch
    :math:`\mathbf{X}\in\mathbb{R}^{N\times n}` (examples in rows), transposing the per-row
    equation gives :math:`\mathbf{Y} = f(\mathbf{X}\mathbf{W}^\top + \mathbf{b}^\top)`, the bias
    broadcast to every row. ``x @ W.T + b`` covers both cases.
    """
    return f(np.asarray(x) @ np.asarray(W).T + b)
