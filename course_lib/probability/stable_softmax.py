r"""From logits to probabilities without overflow: log-sum-exp, softmax (with temperature),
log-softmax, the softmax Jacobian, and the sigmoid (the two-class softmax).

Every exponential sees only non-positive numbers: the maximum is subtracted first.
"""
from __future__ import annotations

import numpy as np

from course_lib.probability._numerics import _exp, _log


def logsumexp(x, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    r""":math:`\log\sum_k e^{x_k}`, computed without overflow.

    Parameters
    ----------
    x : array_like, shape (..., K)
    axis : int
        The axis summed over.
    keepdims : bool
        Keep the reduced axis with length 1 (for broadcasting back against ``x``).

    Returns
    -------
    ndarray, shape (...) (or (..., 1) with ``keepdims``)

    Notes
    -----
    .. math::  \operatorname{LSE}(\mathbf{x}) = m + \log\sum_k e^{x_k - m},\qquad m = \max_k x_k.

    The identity holds for any :math:`m`; the maximum makes every exponent :math:`\le 0`
    (no overflow) and one term equal to 1 (the sum cannot underflow to 0). Its gradient is
    :math:`\nabla_{\mathbf{x}}\operatorname{LSE} = \operatorname{softmax}(\mathbf{x})`.
    Entries of :math:`-\infty` (log of a zero probability) are allowed.
    """
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # an all -inf slice: its sum is 0, its log -inf
    out = _log(np.sum(_exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(z, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    r"""Softmax with temperature: logits to probabilities, without overflow.

    Parameters
    ----------
    z : array_like, shape (..., K)
        Logits (finite; ``-inf`` masks an entry).
    axis : int
        The axis of the K classes.
    temperature : float, > 0
        :math:`\tau`. Below 1 sharpens the distribution, above 1 flattens it (towards
        uniform as :math:`\tau\to\infty`). As :math:`\tau\to0` the probability spreads
        evenly over the classes tied for the largest logit: the one-hot argmax only when
        that maximum is unique.

    Returns
    -------
    ndarray, shape of ``z``
        Non-negative, summing to 1 along ``axis``.

    Notes
    -----
    .. math::  \operatorname{softmax}(\mathbf{z}/\tau)_k = \frac{e^{(z_k - m)/\tau}}{\sum_j e^{(z_j - m)/\tau}},\qquad m = \max_j z_j.

    Subtracting :math:`m` changes nothing mathematically (the factor :math:`e^{-m/\tau}`
    cancels) but keeps every exponent :math:`\le 0`. The ratio of two classes is
    :math:`e^{(z_i - z_j)/\tau}`: as :math:`\tau\to0` it goes to 0 for :math:`z_i < z_j` and
    stays 1 for :math:`z_i = z_j`, hence the even split over tied maxima.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = np.asarray(z, dtype=np.float64)
    m = np.max(z, axis=axis, keepdims=True)
    # (z - m) / tau <= 0: a tiny tau can only overflow towards -inf, whose exp is the exact limit 0.
    with np.errstate(over="ignore", under="ignore"):
        e = np.exp((z - m) / temperature)
        return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z, axis: int = -1) -> np.ndarray:
    r"""Logarithm of the softmax, accurate even where the softmax underflows to 0.

    Parameters
    ----------
    z : array_like, shape (..., K)
    axis : int

    Returns
    -------
    ndarray, shape of ``z``
        Log-probabilities, :math:`\le 0`.

    Notes
    -----
    .. math::  \log\operatorname{softmax}(\mathbf{z})_k = z_k - \operatorname{LSE}(\mathbf{z}).

    ``np.log(softmax(z))`` gives ``-inf`` once a probability underflows (below about
    1e-308); this form stays finite.
    """
    z = np.asarray(z, dtype=np.float64)
    return z - logsumexp(z, axis=axis, keepdims=True)


def softmax_jacobian(z) -> np.ndarray:
    r"""Jacobian of the softmax, :math:`J_{ij} = \partial \hat p_i / \partial z_j`.

    Parameters
    ----------
    z : array_like, shape (..., K)
        Logits; a batch gives one Jacobian per row.

    Returns
    -------
    ndarray, shape (..., K, K)

    Notes
    -----
    With :math:`\hat{\mathbf{p}} = \operatorname{softmax}(\mathbf{z})`,
    :math:`\partial \hat p_i/\partial z_j = \hat p_i(\delta_{ij} - \hat p_j)`, i.e.

    .. math::  \mathbf{J} = \operatorname{diag}(\hat{\mathbf{p}}) - \hat{\mathbf{p}}\hat{\mathbf{p}}^\top.

    Symmetric, and :math:`\mathbf{J}\mathbf{1} = \mathbf{0}` (adding a constant to every
    logit changes nothing).
    """
    p = softmax(z)
    return p[..., :, None] * np.eye(p.shape[-1]) - p[..., :, None] * p[..., None, :]


def sigmoid(z) -> np.ndarray:
    r"""The logistic function, the probability of class 1 of a Bernoulli from its logit.

    Parameters
    ----------
    z : array_like, any shape

    Returns
    -------
    ndarray, shape of ``z``, in [0, 1]

    Notes
    -----
    .. math::  \sigma(z) = \frac{1}{1 + e^{-z}} = \frac{e^{z}}{1 + e^{z}} = \operatorname{softmax}((0, z))_2.

    The first form for :math:`z \ge 0`, the second for :math:`z < 0`: the exponent is
    :math:`-|z| \le 0` in both, so nothing overflows. :math:`\sigma'(z) = \sigma(z)(1-\sigma(z))`.
    """
    z = np.asarray(z, dtype=np.float64)
    e = _exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
