"""Chapter 03: probability and information, computed so that it never breaks.

Everything a classifier's output layer and loss rely on lives here: log-sum-exp, softmax
(with temperature), log-softmax and the softmax Jacobian; entropy, cross-entropy and KL
divergence; the likelihoods of the Bernoulli, categorical and Gaussian distributions and
their maximum-likelihood estimates; Bayes' rule and the Beta-Bernoulli update of a coin's
bias; the stationary distribution of a Markov chain; the uncertainty of an ensemble's
prediction.

Numerical conventions, shared by every function:

- Work in float64. Exponentials only ever see non-positive numbers (subtract the maximum
  first), so nothing overflows, whatever the size of the logits.
- :math:`0 \\log 0 = 0`: a term whose weight ``p`` is exactly 0 contributes exactly 0 (it
  is masked, never computed as ``0 * -inf = nan``).
- :math:`\\log 0 = -\\infty` is a legitimate answer, not an error: a model that gives
  probability 0 to what happened has infinite loss. Those logs (``np.errstate(divide="ignore")``)
  and underflow (``np.errstate(under="ignore")``: ``exp(-800)`` rounds to 0, a probability
  below 1e-308, which is the correctly rounded result) are the only floating-point events
  silenced; everything else would still raise under ``np.errstate(all="raise")``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


def _log(q) -> np.ndarray:
    """``np.log`` that returns ``-inf`` for 0 without a warning (the exact value)."""
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(q, dtype=np.float64))


def _weighted(p, log_q) -> np.ndarray:
    """``p * log_q`` element-wise, with 0 wherever ``p == 0`` (so :math:`0\\log 0 = 0`)."""
    p, log_q = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(log_q, dtype=np.float64))
    with np.errstate(under="ignore"):  # a subnormal p times a log: the rounded product is right
        return np.multiply(p, log_q, out=np.zeros(p.shape), where=p != 0)


def _exp(x) -> np.ndarray:
    """``np.exp`` whose underflow to 0 (arguments below about -745) is not reported: it is exact to rounding."""
    with np.errstate(under="ignore"):
        return np.exp(x)


# -- softmax and friends ---------------------------------------------------------------


def logsumexp(x, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """:math:`\\log\\sum_k e^{x_k}`, computed without overflow.

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
    .. math::  \\operatorname{LSE}(\\mathbf{x}) = m + \\log\\sum_k e^{x_k - m},\\qquad m = \\max_k x_k.

    The identity holds for any :math:`m`; the maximum makes every exponent :math:`\\le 0`
    (no overflow) and one term equal to 1 (the sum cannot underflow to 0). Its gradient is
    :math:`\\nabla_{\\mathbf{x}}\\operatorname{LSE} = \\operatorname{softmax}(\\mathbf{x})`.
    Entries of :math:`-\\infty` (log of a zero probability) are allowed.
    """
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # an all -inf slice: its sum is 0, its log -inf
    out = _log(np.sum(_exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(z, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    """Softmax with temperature: logits to probabilities, without overflow.

    Parameters
    ----------
    z : array_like, shape (..., K)
        Logits (finite; ``-inf`` masks an entry).
    axis : int
        The axis of the K classes.
    temperature : float, > 0
        :math:`T`. Below 1 sharpens the distribution (towards the one-hot argmax as
        :math:`T\\to0`), above 1 flattens it (towards uniform as :math:`T\\to\\infty`).

    Returns
    -------
    ndarray, shape of ``z``
        Non-negative, summing to 1 along ``axis``.

    Notes
    -----
    .. math::  \\operatorname{softmax}(\\mathbf{z}/T)_k = \\frac{e^{(z_k - m)/T}}{\\sum_j e^{(z_j - m)/T}},\\qquad m = \\max_j z_j.

    Subtracting :math:`m` changes nothing mathematically (the factor :math:`e^{-m/T}`
    cancels) but keeps every exponent :math:`\\le 0`.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = np.asarray(z, dtype=np.float64)
    m = np.max(z, axis=axis, keepdims=True)
    # (z - m) / T <= 0: a tiny T can only overflow towards -inf, whose exp is the exact limit 0.
    with np.errstate(over="ignore", under="ignore"):
        e = np.exp((z - m) / temperature)
        return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z, axis: int = -1) -> np.ndarray:
    """Logarithm of the softmax, accurate even where the softmax underflows to 0.

    Parameters
    ----------
    z : array_like, shape (..., K)
    axis : int

    Returns
    -------
    ndarray, shape of ``z``
        Log-probabilities, :math:`\\le 0`.

    Notes
    -----
    .. math::  \\log\\operatorname{softmax}(\\mathbf{z})_k = z_k - \\operatorname{LSE}(\\mathbf{z}).

    ``np.log(softmax(z))`` gives ``-inf`` once a probability underflows (below about
    1e-308); this form stays finite.
    """
    z = np.asarray(z, dtype=np.float64)
    return z - logsumexp(z, axis=axis, keepdims=True)


def softmax_jacobian(z) -> np.ndarray:
    """Jacobian of the softmax, :math:`J_{ij} = \\partial s_i / \\partial z_j`.

    Parameters
    ----------
    z : array_like, shape (..., K)
        Logits; a batch gives one Jacobian per row.

    Returns
    -------
    ndarray, shape (..., K, K)

    Notes
    -----
    With :math:`\\mathbf{s} = \\operatorname{softmax}(\\mathbf{z})`,
    :math:`\\partial s_i/\\partial z_j = s_i(\\delta_{ij} - s_j)`, i.e.

    .. math::  \\mathbf{J} = \\operatorname{diag}(\\mathbf{s}) - \\mathbf{s}\\mathbf{s}^\\top.

    Symmetric, and :math:`\\mathbf{J}\\mathbf{1} = \\mathbf{0}` (adding a constant to every
    logit changes nothing).
    """
    s = softmax(z)
    return s[..., :, None] * np.eye(s.shape[-1]) - s[..., :, None] * s[..., None, :]


def sigmoid(z) -> np.ndarray:
    """The logistic function, the probability of class 1 of a Bernoulli from its logit.

    Parameters
    ----------
    z : array_like, any shape

    Returns
    -------
    ndarray, shape of ``z``, in [0, 1]

    Notes
    -----
    .. math::  \\sigma(z) = \\frac{1}{1 + e^{-z}} = \\frac{e^{z}}{1 + e^{z}} = \\operatorname{softmax}((0, z))_2.

    The first form for :math:`z \\ge 0`, the second for :math:`z < 0`: the exponent is
    :math:`-|z| \\le 0` in both, so nothing overflows. :math:`\\sigma'(z) = \\sigma(z)(1-\\sigma(z))`.
    """
    z = np.asarray(z, dtype=np.float64)
    e = _exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# -- information -----------------------------------------------------------------------


def entropy(p, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats, with :math:`0\\log0 = 0`.

    Parameters
    ----------
    p : array_like, shape (..., K)
        Probabilities summing to 1 along ``axis``.
    axis : int

    Returns
    -------
    ndarray, shape (...)
        Between 0 (a certain outcome) and :math:`\\log K` (uniform).

    Notes
    -----
    .. math::  H(p) = -\\sum_k p_k \\log p_k.

    Divide by :math:`\\log 2` for bits.
    """
    return 0.0 - np.sum(_weighted(p, _log(p)), axis=axis)  # 0.0 - ... turns -0.0 into 0.0


def cross_entropy(p, q, axis: int = -1) -> np.ndarray:
    """Cross-entropy :math:`H(p, q)` in nats between two distributions given as probabilities.

    Parameters
    ----------
    p : array_like, shape (..., K)
        The true (or target) distribution.
    q : array_like, shape (..., K)
        The model's distribution.
    axis : int

    Returns
    -------
    ndarray, shape (...)
        ``inf`` where ``q`` is 0 on an outcome that ``p`` deems possible.

    Notes
    -----
    .. math::  H(p, q) = -\\sum_k p_k \\log q_k = H(p) + D_{\\mathrm{KL}}(p\\,\\|\\,q).

    Terms with :math:`p_k = 0` are 0, even where :math:`q_k = 0`.
    """
    return 0.0 - np.sum(_weighted(p, _log(q)), axis=axis)


def kl_divergence(p, q, axis: int = -1) -> np.ndarray:
    """Kullback-Leibler divergence :math:`D_{\\mathrm{KL}}(p\\,\\|\\,q)` in nats.

    Parameters
    ----------
    p, q : array_like, shape (..., K)
        Probabilities summing to 1 along ``axis``.
    axis : int

    Returns
    -------
    ndarray, shape (...)
        :math:`\\ge 0`, and 0 exactly when ``p == q``; ``inf`` where ``q`` is 0 and ``p`` is not.

    Notes
    -----
    .. math::  D_{\\mathrm{KL}}(p\\,\\|\\,q) = \\sum_k p_k \\log\\frac{p_k}{q_k} = H(p, q) - H(p).

    Not symmetric: :math:`D_{\\mathrm{KL}}(p\\|q) \\ne D_{\\mathrm{KL}}(q\\|p)` in general.
    Computed as :math:`p_k(\\log p_k - \\log q_k)`, which cannot overflow the way
    :math:`p_k/q_k` can.
    """
    p, q = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64))
    log_ratio = np.zeros(p.shape)
    where = p != 0  # only there: elsewhere log p - log q may be -inf - (-inf)
    log_ratio[where] = _log(p[where]) - _log(q[where])
    return np.sum(_weighted(p, log_ratio), axis=axis)


def cross_entropy_with_logits(p, z, axis: int = -1) -> np.ndarray:
    """:math:`H(p, \\operatorname{softmax}(\\mathbf{z}))` from logits, stable for any logit size.

    Parameters
    ----------
    p : array_like, shape (..., K)
        Target distribution (one-hot for a label).
    z : array_like, shape (..., K)
        Logits.
    axis : int

    Returns
    -------
    ndarray, shape (...)

    Notes
    -----
    .. math::  H(p, \\operatorname{softmax}(\\mathbf{z})) = -\\sum_k p_k\\,(z_k - \\operatorname{LSE}(\\mathbf{z})).

    Its gradient with respect to the logits is :math:`\\operatorname{softmax}(\\mathbf{z}) - p`
    (for ``p`` summing to 1).
    """
    return -np.sum(_weighted(p, log_softmax(z, axis=axis)), axis=axis)


def one_hot(y, num_classes: int) -> np.ndarray:
    """Labels ``(N,)`` in ``0..K-1`` to one-hot rows ``(N, K)`` (float64)."""
    return np.eye(num_classes)[np.asarray(y, dtype=np.intp)]


def categorical_nll(z, y) -> float:
    """Mean negative log-likelihood of integer labels under softmax(logits): the cross-entropy loss.

    Parameters
    ----------
    z : array_like, shape (N, K)
        Logits, one row per example (as ``torch.nn.functional.cross_entropy(input, target)``).
    y : array_like of int, shape (N,)
        Labels in ``0..K-1``.

    Returns
    -------
    float

    Notes
    -----
    .. math::  L = -\\frac1N\\sum_{n} \\log\\operatorname{softmax}(\\mathbf{z}_n)_{y_n}
               = \\frac1N\\sum_n \\big(\\operatorname{LSE}(\\mathbf{z}_n) - z_{n, y_n}\\big),

    the average of :math:`H(\\text{one-hot}(y_n), \\operatorname{softmax}(\\mathbf{z}_n))`;
    minimizing it is maximum likelihood for a categorical model.
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.intp)
    return float(np.mean(logsumexp(z, axis=-1) - z[np.arange(len(y)), y]))


# -- distributions and maximum likelihood ----------------------------------------------


def expectation(values, probs) -> float:
    """Expected value of a discrete random variable, :math:`\\mathbb{E}[X] = \\sum_k p_k x_k`.

    Parameters
    ----------
    values : array_like, shape (K,)
        The values :math:`x_k` the variable takes (pass ``f(values)`` for :math:`\\mathbb{E}[f(X)]`).
    probs : array_like, shape (K,)
        Their probabilities, summing to 1.
    """
    return float(np.dot(np.asarray(probs, dtype=np.float64), np.asarray(values, dtype=np.float64)))


def variance(values, probs) -> float:
    """Variance of a discrete random variable.

    Parameters
    ----------
    values, probs : array_like, shape (K,)

    Returns
    -------
    float

    Notes
    -----
    .. math::  \\operatorname{Var}[X] = \\mathbb{E}[(X - \\mathbb{E}X)^2] = \\mathbb{E}[X^2] - (\\mathbb{E}X)^2.

    The first form is used: it has no cancellation when the mean is large.
    """
    values = np.asarray(values, dtype=np.float64)
    return expectation((values - expectation(values, probs)) ** 2, probs)


def bernoulli_log_likelihood(x, theta) -> np.ndarray:
    """Log-likelihood of binary outcomes under a Bernoulli with :math:`P(x=1) = \\theta`.

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
    .. math::  \\log L(\\theta) = \\sum_n x_n\\log\\theta + (1 - x_n)\\log(1-\\theta) = h\\log\\theta + t\\log(1-\\theta),

    with :math:`h` ones and :math:`t` zeros. Maximized by :math:`\\hat\\theta = h / N` (:func:`bernoulli_mle`).
    """
    x = np.asarray(x, dtype=np.float64)
    heads, tails = np.sum(x), np.sum(1.0 - x)
    theta = np.asarray(theta, dtype=np.float64)
    return (_weighted(heads, _log(theta)) + _weighted(tails, _log(1.0 - theta)))[()]


def bernoulli_mle(x) -> float:
    """:math:`\\hat\\theta = \\frac1N\\sum_n x_n`, the fraction of ones (see :func:`bernoulli_log_likelihood`)."""
    return float(np.mean(np.asarray(x, dtype=np.float64)))


def categorical_log_likelihood(y, probs) -> float:
    """Log-likelihood of labels under categorical distributions.

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
    .. math::  \\log L = \\sum_n \\log p_{n, y_n} = -N\\,\\overline{H}(\\text{one-hot}(y), p),

    minus :math:`N` times the mean cross-entropy: maximizing the likelihood *is* minimizing
    the cross-entropy loss. With one shared :math:`p` it is :math:`\\sum_k n_k\\log p_k`,
    maximized by the class frequencies :math:`n_k/N` (:func:`categorical_mle`).
    """
    y = np.asarray(y, dtype=np.intp)
    probs = np.asarray(probs, dtype=np.float64)
    picked = probs[y] if probs.ndim == 1 else probs[np.arange(len(y)), y]
    return float(np.sum(_log(picked)))


def categorical_mle(y, num_classes: int) -> np.ndarray:
    """:math:`\\hat p_k = n_k / N`, the class frequencies, shape ``(K,)`` (see :func:`categorical_log_likelihood`)."""
    y = np.asarray(y, dtype=np.intp)
    return np.bincount(y, minlength=num_classes) / len(y)


def gaussian_pdf(x, mu=0.0, sigma=1.0) -> np.ndarray:
    """:math:`\\mathcal{N}(x;\\mu,\\sigma^2) = \\frac{1}{\\sqrt{2\\pi}\\sigma}e^{-(x-\\mu)^2/(2\\sigma^2)}`, element-wise (broadcasts)."""
    x = np.asarray(x, dtype=np.float64)
    return _exp(-0.5 * ((x - mu) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)


def gaussian_log_likelihood(x, mu=0.0, sigma=1.0) -> np.ndarray:
    """Log-likelihood of a sample under :math:`\\mathcal{N}(\\mu, \\sigma^2)`, for one or many (mu, sigma).

    Parameters
    ----------
    x : array_like, shape (N,)
        The sample (for regression: the residuals :math:`y_n - \\hat y_n`, with ``mu=0``).
    mu, sigma : float or array_like
        Broadcast against each other: a grid of them gives the whole likelihood surface.

    Returns
    -------
    ndarray, shape ``np.broadcast(mu, sigma).shape``

    Notes
    -----
    .. math::  \\log L(\\mu,\\sigma) = \\sum_n \\log\\mathcal{N}(x_n;\\mu,\\sigma^2)
               = -\\frac N2\\log(2\\pi\\sigma^2) - \\frac{1}{2\\sigma^2}\\sum_n (x_n-\\mu)^2.

    The sum of squares is computed as :math:`\\sum_n(x_n-\\bar x)^2 + N(\\bar x-\\mu)^2`, so
    a grid of parameters costs :math:`O(N + \\text{grid})`, not :math:`O(N\\cdot\\text{grid})`.
    With ``x`` the residuals of a regression and ``mu = 0``, the second term is
    :math:`N\\cdot\\mathrm{MSE}/(2\\sigma^2)`: for any fixed :math:`\\sigma`, maximizing the
    likelihood is minimizing the mean squared error.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n, xbar = x.size, x.mean()
    ss = np.sum((x - xbar) ** 2) + n * (xbar - np.asarray(mu, dtype=np.float64)) ** 2
    var = np.asarray(sigma, dtype=np.float64) ** 2
    return -0.5 * n * np.log(2 * np.pi * var) - ss / (2 * var)


def gaussian_mle(x) -> tuple[float, float]:
    """Maximum-likelihood mean and standard deviation of a Gaussian sample.

    Parameters
    ----------
    x : array_like, shape (N,)

    Returns
    -------
    mu_hat, sigma_hat : float

    Notes
    -----
    Setting the derivatives of :func:`gaussian_log_likelihood` to zero:

    .. math::  \\hat\\mu = \\frac1N\\sum_n x_n,\\qquad \\hat\\sigma^2 = \\frac1N\\sum_n (x_n - \\hat\\mu)^2.

    The MLE divides by :math:`N`, not :math:`N - 1` (``np.std(x)``, not ``np.std(x, ddof=1)``):
    it is slightly biased low, :math:`\\mathbb{E}[\\hat\\sigma^2] = \\frac{N-1}{N}\\sigma^2`.
    """
    x = np.asarray(x, dtype=np.float64)
    mu = float(np.mean(x))
    return mu, float(np.sqrt(np.mean((x - mu) ** 2)))


# -- Bayes -----------------------------------------------------------------------------


def bayes_posterior(prior, likelihood) -> np.ndarray:
    """Bayes' rule over a finite set of hypotheses.

    Parameters
    ----------
    prior : array_like, shape (K,)
        :math:`p(h_k)`, summing to 1.
    likelihood : array_like, shape (K,)
        :math:`p(\\text{data} \\mid h_k)` for each hypothesis (need not sum to 1).

    Returns
    -------
    ndarray, shape (K,)
        :math:`p(h_k \\mid \\text{data})`, summing to 1.

    Notes
    -----
    .. math::  p(h_k\\mid D) = \\frac{p(D\\mid h_k)\\,p(h_k)}{\\sum_j p(D\\mid h_j)\\,p(h_j)},

    the denominator being the evidence :math:`p(D)`.
    """
    joint = np.asarray(prior, dtype=np.float64) * np.asarray(likelihood, dtype=np.float64)
    return joint / joint.sum()


def beta_pdf(theta, a: float, b: float) -> np.ndarray:
    """Density of :math:`\\mathrm{Beta}(a, b)` on [0, 1], element-wise.

    Notes
    -----
    .. math::  \\mathrm{Beta}(\\theta; a, b) = \\frac{\\theta^{a-1}(1-\\theta)^{b-1}}{B(a,b)},\\qquad
               B(a,b) = \\frac{\\Gamma(a)\\Gamma(b)}{\\Gamma(a+b)},

    evaluated in logs (``math.lgamma``) so that large ``a, b`` do not overflow. At the ends
    the density is 0 (``a > 1``), finite (``a = 1``) or infinite (``a < 1``).
    """
    theta = np.asarray(theta, dtype=np.float64)
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    return _exp(_weighted(a - 1.0, _log(theta)) + _weighted(b - 1.0, _log(1.0 - theta)) + log_norm)


def beta_cdf(x: float, a: float, b: float) -> float:
    """:math:`P(\\Theta \\le x)` for :math:`\\Theta\\sim\\mathrm{Beta}(a, b)` (regularized incomplete beta function).

    Notes
    -----
    Evaluated with the continued fraction of the incomplete beta function (modified Lentz
    method, as in *Numerical Recipes*, sec. 6.4), on the side of :math:`(a+1)/(a+b+2)` where it
    converges fast; the other side uses :math:`I_x(a, b) = 1 - I_{1-x}(b, a)`.
    """
    x, a, b = float(x), float(a), float(b)  # Python floats: underflow is silent and harmless
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def _beta_continued_fraction(a: float, b: float, x: float, eps: float = 1e-15, max_iter: int = 10_000) -> float:
    tiny = 1e-300

    def guard(v: float) -> float:
        return v if abs(v) > tiny else tiny

    c, d = 1.0, 1.0 / guard(1.0 - (a + b) * x / (a + 1.0))
    h = d
    for m in range(1, max_iter + 1):
        for aa in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),  # even step
                   -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):  # odd step
            d = 1.0 / guard(1.0 + aa * d)
            c = guard(1.0 + aa / c)
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def beta_ppf(q: float, a: float, b: float, tol: float = 1e-13) -> float:
    """The :math:`q`-quantile of :math:`\\mathrm{Beta}(a, b)`: the :math:`x` with :math:`F(x) = q`.

    Notes
    -----
    Newton's method on :math:`F(x) - q` (its derivative is :func:`beta_pdf`), kept inside a
    shrinking bracket :math:`[lo, hi]` and replaced by bisection whenever a step would leave
    it: :math:`F` is increasing, so this always converges. It stops once a step (or the
    bracket) is below ``tol`` times :math:`\\min(x, 1 - x)` plus one float spacing of :math:`x`.
    The tolerance is relative to the distance to the nearer end because that is what the CDF
    resolves: near 0 (``a < 1``) a quantile can be as small as 1e-45, and near 1 the digits
    that carry the probability are those of :math:`1 - x` (with ``b < 1`` the CDF climbs
    steeply there, so an error of 1e-13 in :math:`x` would move :math:`F` by 1e-10). No
    float is closer than one spacing, hence the floor.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    q, a, b = float(q), float(a), float(b)
    if q in (0.0, 1.0):
        return q
    lo, hi = 0.0, 1.0
    x = min(max(a / (a + b), 1e-6), 1 - 1e-6)
    for _ in range(1100):  # bisection alone needs ~1075 halvings to reach the smallest float
        f = beta_cdf(x, a, b) - q
        if f == 0.0:  # the exact quantile (of the computed CDF): any further step only moves off it
            return x
        if f > 0:
            hi = x
        else:
            lo = x
        density = float(beta_pdf(x, a, b))
        step = x - f / density if density > 0 and np.isfinite(density) else -1.0
        x_new = step if lo < step < hi else 0.5 * (lo + hi)
        width = tol * min(x_new, 1.0 - x_new) + math.ulp(x_new)  # see Notes
        if abs(x_new - x) <= width or hi - lo <= width:
            return x_new
        x = x_new
    return x


def beta_posterior(a: float, b: float, flips) -> tuple[float, float]:
    """Conjugate update of a :math:`\\mathrm{Beta}(a, b)` prior on a coin's bias by observed flips.

    Parameters
    ----------
    a, b : float > 0
        Prior parameters (pseudo-counts of heads and tails).
    flips : array_like of 0/1, shape (N,)
        1 for heads, 0 for tails.

    Returns
    -------
    a_post, b_post : float

    Notes
    -----
    .. math::  p(\\theta\\mid D)\\propto\\underbrace{\\theta^{h}(1-\\theta)^{t}}_{\\text{likelihood}}\\,
               \\underbrace{\\theta^{a-1}(1-\\theta)^{b-1}}_{\\text{prior}}
               \\;\\Rightarrow\\; \\theta\\mid D\\sim\\mathrm{Beta}(a + h,\\; b + t),

    with :math:`h` heads and :math:`t` tails. Updating flip by flip or all at once gives the same posterior.
    """
    flips = np.asarray(flips, dtype=np.float64)
    heads = float(np.sum(flips))
    return float(a) + heads, float(b) + (flips.size - heads)


def beta_mean(a: float, b: float) -> float:
    """:math:`\\mathbb{E}[\\theta] = a / (a + b)`; for a posterior, also :math:`P(\\text{next flip is heads}\\mid D)`."""
    return a / (a + b)


def beta_credible_interval(a: float, b: float, level: float = 0.95) -> tuple[float, float]:
    """Equal-tailed credible interval of :math:`\\mathrm{Beta}(a, b)`.

    Notes
    -----
    :math:`[F^{-1}(\\tfrac{1-\\ell}{2}),\\,F^{-1}(\\tfrac{1+\\ell}{2})]` for level :math:`\\ell`: the
    bias lies inside with posterior probability :math:`\\ell` (see :func:`beta_ppf`).
    """
    tail = (1.0 - level) / 2.0
    return beta_ppf(tail, a, b), beta_ppf(1.0 - tail, a, b)


# -- Markov chains -----------------------------------------------------------------------


def stationary_distribution(P) -> np.ndarray:
    """Stationary distribution of a Markov chain, from an eigenvector (chapter 01).

    Parameters
    ----------
    P : array_like, shape (n, n)
        Row-stochastic transition matrix, :math:`P_{ij} = p(x_{t+1} = j \\mid x_t = i)`;
        each row sums to 1.

    Returns
    -------
    ndarray, shape (n,)
        :math:`\\boldsymbol\\pi` with :math:`\\boldsymbol\\pi^\\top\\mathbf{P} = \\boldsymbol\\pi^\\top`,
        non-negative, summing to 1.

    Notes
    -----
    A distribution (a row vector) moves as :math:`\\boldsymbol\\pi_{t+1}^\\top = \\boldsymbol\\pi_t^\\top\\mathbf{P}`.
    A fixed point is a *left* eigenvector of :math:`\\mathbf{P}` for eigenvalue 1, i.e. an
    ordinary (right) eigenvector of :math:`\\mathbf{P}^\\top`:
    :math:`\\mathbf{P}^\\top\\boldsymbol\\pi = 1\\cdot\\boldsymbol\\pi`. (The right eigenvector of
    :math:`\\mathbf{P}` for eigenvalue 1 is :math:`\\mathbf{1}`, because rows sum to 1: not it.)
    :math:`\\mathbf{P}^\\top` is not symmetric, so ``np.linalg.eig`` (not ``eigh``) is used;
    it returns complex arrays and a unit-length eigenvector of either sign, so we take the
    real part and divide by its sum. Unique when the chain is irreducible.
    """
    P = np.asarray(P, dtype=np.float64)
    w, V = np.linalg.eig(P.T)
    v = np.real(V[:, np.argmin(np.abs(w - 1.0))])
    return v / v.sum()


def markov_propagate(pi0, P, steps: int) -> np.ndarray:
    """The distribution after 0..steps steps of a chain, shape ``(steps + 1, n)``.

    Notes
    -----
    :math:`\\boldsymbol\\pi_{t+1}^\\top = \\boldsymbol\\pi_t^\\top\\mathbf{P}` (``pi @ P``): power
    iteration with :math:`\\mathbf{P}^\\top`. For an irreducible, aperiodic chain it converges
    to :func:`stationary_distribution` from any start, at the rate :math:`|\\lambda_2|^t` of
    the second-largest eigenvalue modulus.
    """
    P = np.asarray(P, dtype=np.float64)
    out = [np.asarray(pi0, dtype=np.float64)]
    for _ in range(steps):
        out.append(out[-1] @ P)
    return np.array(out)


def stationary_power_iteration(P, tol: float = 1e-14, max_iter: int = 100_000) -> tuple[np.ndarray, int]:
    """Stationary distribution by running the chain from the uniform distribution until it stops moving.

    Returns
    -------
    pi : ndarray, shape (n,)
    steps : int
        The number of steps :math:`\\boldsymbol\\pi\\leftarrow\\boldsymbol\\pi\\mathbf{P}` taken
        (until the L1 change is below ``tol``).
    """
    P = np.asarray(P, dtype=np.float64)
    pi = np.full(P.shape[0], 1.0 / P.shape[0])
    for step in range(1, max_iter + 1):
        new = pi @ P
        new /= new.sum()  # guards against slow drift of the total by round-off
        if np.abs(new - pi).sum() < tol:
            return new, step
        pi = new
    return pi, max_iter


# -- uncertainty ------------------------------------------------------------------------


class Uncertainty(NamedTuple):
    """The three entropies of :func:`predictive_uncertainty`, each of shape (...)."""

    total: np.ndarray
    aleatoric: np.ndarray
    epistemic: np.ndarray


def predictive_uncertainty(member_probs) -> Uncertainty:
    """Split an ensemble's predictive uncertainty into noise and disagreement.

    Parameters
    ----------
    member_probs : array_like, shape (M, ..., K)
        The class probabilities predicted by each of M models (an ensemble, MC dropout samples).

    Returns
    -------
    Uncertainty
        ``total``: entropy of the averaged prediction :math:`H(\\bar p)`; ``aleatoric``: average
        entropy of the members :math:`\\frac1M\\sum_m H(p_m)`; ``epistemic``: their difference,
        the mutual information between the prediction and the choice of model.

    Notes
    -----
    .. math::  \\underbrace{H\\Big(\\frac1M\\sum_m p_m\\Big)}_{\\text{total}} =
               \\underbrace{\\frac1M\\sum_m H(p_m)}_{\\text{aleatoric}} + \\underbrace{I}_{\\text{epistemic}\\;\\ge 0}.

    :math:`I \\ge 0` because entropy is concave (Jensen). Members that agree give :math:`I = 0`
    however uncertain each is; members that are each confident but disagree give a large :math:`I`.
    """
    member_probs = np.asarray(member_probs, dtype=np.float64)
    total = entropy(member_probs.mean(axis=0))
    aleatoric = entropy(member_probs).mean(axis=0)
    return Uncertainty(total, aleatoric, total - aleatoric)
