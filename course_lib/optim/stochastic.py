r"""Stochastic gradients: mini-batches of a least-squares problem and the noise they carry.

The loss is an average of per-example losses, :math:`L(\boldsymbol\theta) = \tfrac1N\sum_i L_i(\boldsymbol\theta)`.
A mini-batch :math:`\mathcal{B}` of :math:`B` examples drawn without replacement gives the unbiased
estimate :math:`\mathbf{g}_{\mathcal{B}} = \tfrac1B\sum_{i\in\mathcal{B}}\nabla L_i` of :math:`\nabla L`, whose
noise shrinks like :math:`1/B` (:func:`minibatch_noise`).
"""
from __future__ import annotations

import numpy as np


def least_squares(n: int = 512, d: int = 10, noise: float = 0.5, kappa: float = 20.0, seed: int = 0):
    r"""A random linear-regression problem with features of different scales.

    Parameters
    ----------
    n, d : int
        Examples :math:`N` and features :math:`d`.
    noise : float
        Standard deviation of the label noise.
    kappa : float
        Condition number of the population Hessian :math:`\mathbb{E}[\mathbf{x}\mathbf{x}^\top]`.
    seed : int

    Returns
    -------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    theta_true : ndarray, shape (d,)
    """
    rng = np.random.default_rng(seed)
    scales = np.sqrt(np.geomspace(1.0, 1.0 / kappa, d))
    X = rng.standard_normal((n, d)) * scales
    theta_true = rng.standard_normal(d)
    return X, X @ theta_true + noise * rng.standard_normal(n), theta_true


def mse_loss(theta, X, y) -> float:
    r""":math:`L = \tfrac{1}{2N}\lVert\mathbf{X}\boldsymbol\theta - \mathbf{y}\rVert_2^2`."""
    r = X @ theta - y
    return float(0.5 * np.mean(r * r))


def mse_grad(theta, X, y) -> np.ndarray:
    r""":math:`\nabla L = \tfrac1N\mathbf{X}^\top(\mathbf{X}\boldsymbol\theta - \mathbf{y})`, shape (d,), for the rows given (a batch)."""
    return X.T @ (X @ theta - y) / len(y)


def per_example_grads(theta, X, y) -> np.ndarray:
    r""":math:`\nabla L_i = (\mathbf{x}_i^\top\boldsymbol\theta - y_i)\,\mathbf{x}_i`, shape (N, d), one row per example.

    The per-example loss is :math:`L_i = \tfrac12(\mathbf{x}_i^\top\boldsymbol\theta - y_i)^2`, so that their mean is
    :func:`mse_loss` and the mean of these rows is :func:`mse_grad`.
    """
    return (X @ theta - y)[:, None] * X


def minibatch_noise(per_example: np.ndarray, batch_size: int) -> float:
    r"""Expected squared error :math:`\mathbb{E}\lVert\mathbf{g}_{\mathcal{B}} - \nabla L\rVert_2^2` of a mini-batch gradient.

    Parameters
    ----------
    per_example : ndarray, shape (N, d)
        The per-example gradients :math:`\nabla L_i`.
    batch_size : int
        :math:`B`, drawn without replacement.

    Returns
    -------
    float

    Notes
    -----
    .. math:: \mathbb{E}\lVert\mathbf{g}_{\mathcal{B}} - \nabla L\rVert_2^2 = \frac{v}{B}\cdot\frac{N - B}{N - 1},
        \qquad v = \frac1N\sum_i\lVert\nabla L_i - \nabla L\rVert_2^2 .

    The noise falls like :math:`1/B` (the variance of a mean), and vanishes for the full
    batch, :math:`B = N` (the finite-population correction).
    """
    N = per_example.shape[0]
    v = float(np.mean(np.sum((per_example - per_example.mean(axis=0)) ** 2, axis=1)))
    return v / batch_size * (N - batch_size) / (N - 1)


def sampled_minibatch_noise(per_example: np.ndarray, batch_size: int, samples: int, rng) -> float:
    """Monte-Carlo estimate of :func:`minibatch_noise`: draw ``samples`` batches and average the squared error."""
    N = per_example.shape[0]
    full = per_example.mean(axis=0)
    idx = np.argsort(rng.random((samples, N)), axis=1)[:, :batch_size]  # each row: a batch without replacement
    err = per_example[idx].mean(axis=1) - full
    return float(np.mean(np.sum(err * err, axis=1)))


def minibatches(n: int, batch_size: int, rng):
    """Index arrays of one epoch: a fresh shuffle cut into batches of ``batch_size`` (the last may be smaller)."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
