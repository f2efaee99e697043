r"""Discrete moments, and the likelihoods of the Bernoulli, categorical and Gaussian distributions
with their maximum-likelihood estimates (maximizing a likelihood is minimizing a loss: the
categorical one is the cross-entropy, the Gaussian one with a fixed variance the MSE).
"""
from __future__ import annotations

import numpy as np

from course_lib.probability._numerics import _exp, _log, _weighted


def expectation(values, probs) -> float:
    r"""Expected value of a discrete random variable, :math:`\mathbb{E}[X] = \sum_k p_k x_k`.

    Parameters
    ----------
    values : array_like, shape (K,)
        The values :math:`x_k` the variable takes (pass ``f(values)`` for :math:`\mathbb{E}[f(X)]`).
    probs : array_like, shape (K,)
        Their probabilities, summing to 1.
    """
    return float(np.dot(np.asarray(probs, dtype=np.float64), np.asarray(values, dtype=np.float64)))


def variance(values, probs) -> float:
    r"""Variance of a discrete random variable.

    Parameters
    ----------
    values, probs : array_like, shape (K,)

    Returns
    -------
    float

    Notes
    -----
    .. math::  \operatorname{Var}[X] = \mathbb{E}[(X - \mathbb{E}X)^2] = \mathbb{E}[X^2] - (\mathbb{E}X)^2.

    The first form is used: it has no cancellation when the mean is large.
    """
    values = np.asarray(values, dtype=np.float64)
    return expectation((values - expectation(values, probs)) ** 2, probs)


def bernoulli_log_likelihood(x, theta) -> np.ndarray:
    r"""Log-likelihood of binary outcomes under a Bernoulli with :math:`P(x=1) = \theta`.

    Parameters
    ----------
    x : array_like of 0/1, shape (N,)
    theta : float or array_like in [0, 1]
        One bias, or a grid of them (one log-likelihood each).

    Returns
    -------
    ndarray, shape of ``theta`` (a NumPy scalar for a scalar ``theta``)

    Notes
    -----
    .. math::  \log\mathcal{L}(\theta) = \sum_n x_n\log\theta + (1 - x_n)\log(1-\theta) = N_1\log\theta + N_0\log(1-\theta),

    with :math:`N_1` ones and :math:`N_0` zeros. Maximized by :math:`\hat\theta = N_1 / N` (:func:`bernoulli_mle`).
    """
    x = np.asarray(x, dtype=np.float64)
    heads, tails = np.sum(x), np.sum(1.0 - x)
    theta = np.asarray(theta, dtype=np.float64)
    return (_weighted(heads, _log(theta)) + _weighted(tails, _log(1.0 - theta)))[()]


def bernoulli_mle(x) -> float:
    r""":math:`\hat\theta = \frac1N\sum_n x_n`, the fraction of ones (see :func:`bernoulli_log_likelihood`)."""
    return float(np.mean(np.asarray(x, dtype=np.float64)))


def categorical_log_likelihood(y, probs) -> float:
    r"""Log-likelihood of labels under categorical distributions.

    Parameters
    ----------
    y : array_like of int, shape (N,)
        Labels in ``0..K-1``.
    probs : array_like, shape (K,) or (N, K)
        One distribution shared by all examples, or one per example (a model's predictions).

    Returns
    -------
    float

    Notes
    -----
    .. math::  \log\mathcal{L} = \sum_n \log p_{n, y_n} = -\sum_n \mathrm{H}[\text{one-hot}(y_n), \mathbf{p}_n],

    minus :math:`N` times the mean cross-entropy: maximizing the likelihood *is* minimizing
    the cross-entropy loss. With one shared :math:`p` it is :math:`\sum_k n_k\log p_k`,
    maximized by the class frequencies :math:`n_k/N` (:func:`categorical_mle`).
    """
    y = np.asarray(y, dtype=np.intp)
    probs = np.asarray(probs, dtype=np.float64)
    picked = probs[y] if probs.ndim == 1 else probs[np.arange(len(y)), y]
    return float(np.sum(_log(picked)))


def categorical_mle(y, num_classes: int) -> np.ndarray:
    r""":math:`\hat p_k = n_k / N`, the class frequencies, shape ``(K,)`` (see :func:`categorical_log_likelihood`)."""
    y = np.asarray(y, dtype=np.intp)
    return np.bincount(y, minlength=num_classes) / len(y)


def gaussian_pdf(x, mu=0.0, sd=1.0, *, sigma=None) -> np.ndarray:
    r"""Density of :math:`\mathcal{N}(\mu, v)` at ``x``, element-wise (broadcasts).

    Parameters
    ----------
    x : array_like
    mu : float or array_like
        The mean :math:`\mu`.
    sd : float or array_like, > 0
        The standard deviation :math:`\sqrt{v}` (what NumPy's ``rng.normal`` takes).
        ``sigma=`` is its former name and still works.

    Notes
    -----
    .. math::  \mathcal{N}(x;\mu,v) = \frac{1}{\sqrt{2\pi v}}\,e^{-(x-\mu)^2/(2v)}.
    """
    sd = sd if sigma is None else sigma  # the former keyword
    x = np.asarray(x, dtype=np.float64)
    return _exp(-0.5 * ((x - mu) / sd) ** 2) / (np.sqrt(2 * np.pi) * sd)


def gaussian_log_likelihood(x, mu=0.0, sd=1.0, *, sigma=None) -> np.ndarray:
    r"""Log-likelihood of a sample under :math:`\mathcal{N}(\mu, v)`, for one or many :math:`(\mu, \sqrt v)`.

    Parameters
    ----------
    x : array_like, shape (N,)
        The sample (for regression: the residuals :math:`y_n - \hat y_n`, with ``mu=0``).
    mu, sd : float or array_like
        The mean and the standard deviation :math:`\sqrt{v}` (``sigma=`` is the former
        name of ``sd``), broadcast against each other: a grid of them gives the
        whole likelihood surface.

    Returns
    -------
    ndarray, shape ``np.broadcast(mu, sd).shape``

    Notes
    -----
    .. math::  \log\mathcal{L}(\mu, v) = \sum_n \log\mathcal{N}(x_n;\mu,v)
               = -\frac N2\log(2\pi v) - \frac{1}{2v}\sum_n (x_n-\mu)^2.

    The sum of squares is computed as :math:`\sum_n(x_n-\bar x)^2 + N(\bar x-\mu)^2`, so
    a grid of parameters costs :math:`O(N + \text{grid})`, not :math:`O(N\cdot\text{grid})`.
    With ``x`` the residuals of a regression and ``mu = 0``, the second term is
    :math:`N\cdot\mathrm{MSE}/(2v)`: for any fixed :math:`v`, maximizing the
    likelihood is minimizing the mean squared error.
    """
    sd = sd if sigma is None else sigma  # the former keyword
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n, xbar = x.size, x.mean()
    ss = np.sum((x - xbar) ** 2) + n * (xbar - np.asarray(mu, dtype=np.float64)) ** 2
    var = np.asarray(sd, dtype=np.float64) ** 2
    return -0.5 * n * np.log(2 * np.pi * var) - ss / (2 * var)


def gaussian_mle(x) -> tuple[float, float]:
    r"""Maximum-likelihood mean and standard deviation of a Gaussian sample.

    Parameters
    ----------
    x : array_like, shape (N,)

    Returns
    -------
    mu_hat, sd_hat : float
        :math:`\hat\mu` and :math:`\sqrt{\hat v}` (the standard deviation, as NumPy's functions take it).

    Notes
    -----
    Setting the derivatives of :func:`gaussian_log_likelihood` to zero:

    .. math::  \hat\mu = \frac1N\sum_n x_n,\qquad \hat v = \frac1N\sum_n (x_n - \hat\mu)^2.

    The MLE divides by :math:`N`, not :math:`N - 1` (``np.std(x)``, not ``np.std(x, ddof=1)``):
    it is slightly biased low, :math:`\mathbb{E}[\hat v] = \frac{N-1}{N}v`.
    """
    x = np.asarray(x, dtype=np.float64)
    mu = float(np.mean(x))
    return mu, float(np.sqrt(np.mean((x - mu) ** 2)))
