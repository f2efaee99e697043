r"""Bayes' rule over a finite set of hypotheses (one observation or many, in logs), and the
Beta-Bernoulli model of a coin's bias: the Beta density, CDF and quantile (no SciPy needed),
the conjugate update, the posterior mean and the equal-tailed credible interval.
"""
from __future__ import annotations

import math

import numpy as np

from course_lib.probability._numerics import _exp, _log, _weighted


def bayes_posterior(prior, likelihood) -> np.ndarray:
    r"""Bayes' rule over a finite set of hypotheses, for one observation or several.

    Parameters
    ----------
    prior : array_like, shape (K,)
        :math:`p(h_k)`, non-negative (normalized here, so any positive multiple gives the same answer).
    likelihood : array_like, shape (K,) or (M, K)
        :math:`p(d \mid h_k)` for each hypothesis (need not sum to 1 over :math:`k`), or one row
        :math:`p(d_m \mid h_k)` per observation :math:`m = 1, \dots, M`, the observations being
        *conditionally independent given the hypothesis*.

    Returns
    -------
    ndarray, shape (K,)
        :math:`p(h_k \mid \mathcal{D})`, summing to 1.

    Raises
    ------
    ValueError
        For negative entries, mismatched shapes, or data impossible under every hypothesis
        the prior allows (the evidence :math:`p(\mathcal{D})` is 0, so the posterior is undefined).

    Notes
    -----
    .. math::  p(h_k\mid \mathcal{D}) = \frac{p(h_k)\prod_{m} p(d_m\mid h_k)}{\sum_j p(h_j)\prod_m p(d_m\mid h_j)},

    the denominator being the evidence :math:`p(\mathcal{D})`, by the law of total probability.
    Computed in logs, :math:`\log p(h_k) + \sum_m \log p(d_m\mid h_k)` normalized with
    log-sum-exp: a product of a few hundred likelihoods below 1 underflows to 0 in float64
    for every hypothesis, and 0 / 0 is nan, while the log-domain form keeps every digit.
    Updating one observation at a time (each posterior the next prior) gives the same answer.
    """
    prior = np.asarray(prior, dtype=np.float64)
    likelihood = np.asarray(likelihood, dtype=np.float64)
    if prior.ndim != 1 or likelihood.ndim not in (1, 2) or likelihood.shape[-1] != prior.shape[0]:
        raise ValueError(f"prior must have shape (K,) and likelihood (K,) or (M, K); got {prior.shape} and "
                         f"{likelihood.shape}")
    if not (np.all(prior >= 0) and np.all(likelihood >= 0) and np.all(np.isfinite(prior))
            and np.all(np.isfinite(likelihood))):
        raise ValueError("a prior and a likelihood are finite and non-negative (no nan)")
    log_joint = _log(prior) + np.sum(_log(likelihood).reshape(-1, prior.shape[0]), axis=0)
    top = np.max(log_joint)
    if not np.isfinite(top):
        raise ValueError("the data have probability 0 under every hypothesis the prior allows: "
                         "the evidence p(D) is 0 and the posterior is undefined")
    weights = _exp(log_joint - top)  # the largest is exactly 1: the sum cannot underflow
    return weights / weights.sum()


def beta_pdf(theta, a: float, b: float) -> np.ndarray:
    r"""Density of :math:`\mathrm{Beta}(\alpha, \beta)` on [0, 1], element-wise (``a`` is :math:`\alpha`, ``b`` is :math:`\beta`).

    Notes
    -----
    .. math::  \mathrm{Beta}(\theta; \alpha, \beta) = \frac{\theta^{\alpha-1}(1-\theta)^{\beta-1}}{B(\alpha,\beta)},\qquad
               B(\alpha,\beta) = \frac{\Gamma(\alpha)\Gamma(\beta)}{\Gamma(\alpha+\beta)},

    evaluated in logs (``math.lgamma``) so that large ``a, b`` do not overflow. At the ends
    the density is 0 (:math:`\alpha > 1`), finite (:math:`\alpha = 1`) or infinite (:math:`\alpha < 1`).
    """
    theta = np.asarray(theta, dtype=np.float64)
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    return _exp(_weighted(a - 1.0, _log(theta)) + _weighted(b - 1.0, _log(1.0 - theta)) + log_norm)


def beta_cdf(x: float, a: float, b: float) -> float:
    r""":math:`P(\Theta \le x)` for :math:`\Theta\sim\mathrm{Beta}(\alpha, \beta)` (``a``, ``b``) (regularized incomplete beta function).

    Notes
    -----
    Evaluated with the continued fraction of the incomplete beta function (modified Lentz
    method, as in *Numerical Recipes*, sec. 6.4), on the side of :math:`(a+1)/(a+b+2)` where it
    converges fast; the other side uses :math:`I_x(\alpha, \beta) = 1 - I_{1-x}(\beta, \alpha)`.
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
    r"""The :math:`q`-quantile of :math:`\mathrm{Beta}(\alpha, \beta)` (``a``, ``b``): the :math:`x` with :math:`F(x) = q`.

    Notes
    -----
    Newton's method on :math:`F(x) - q` (its derivative is :func:`beta_pdf`), kept inside a
    shrinking bracket :math:`[lo, hi]` and replaced by bisection whenever a step would leave
    it: :math:`F` is increasing, so this always converges. It stops once a step (or the
    bracket) is below ``tol`` times :math:`\min(x, 1 - x)` plus one float spacing of :math:`x`.
    The tolerance is relative to the distance to the nearer end because that is what the CDF
    resolves: near 0 (:math:`\alpha < 1`) a quantile can be as small as 1e-45, and near 1 the digits
    that carry the probability are those of :math:`1 - x` (with :math:`\beta < 1` the CDF climbs
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
    r"""Conjugate update of a :math:`\mathrm{Beta}(\alpha, \beta)` prior on a coin's bias by observed flips.

    Parameters
    ----------
    a, b : float > 0
        The prior's :math:`\alpha` and :math:`\beta` (pseudo-counts of heads and tails).
    flips : array_like of 0/1, shape (N,)
        1 for heads, 0 for tails.

    Returns
    -------
    a_post, b_post : float
        :math:`\alpha + N_1` and :math:`\beta + N_0`.

    Notes
    -----
    .. math::  p(\theta\mid \mathcal{D})\propto\underbrace{\theta^{N_1}(1-\theta)^{N_0}}_{\text{likelihood}}\,
               \underbrace{\theta^{\alpha-1}(1-\theta)^{\beta-1}}_{\text{prior}}
               \;\Rightarrow\; \theta\mid \mathcal{D}\sim\mathrm{Beta}(\alpha + N_1,\; \beta + N_0),

    with :math:`N_1` heads and :math:`N_0` tails. Updating flip by flip or all at once gives the same posterior.
    """
    flips = np.asarray(flips, dtype=np.float64)
    heads = float(np.sum(flips))
    return float(a) + heads, float(b) + (flips.size - heads)


def beta_mean(a: float, b: float) -> float:
    r""":math:`\mathbb{E}[\theta] = \alpha / (\alpha + \beta)` (``a / (a + b)``); for a posterior, also :math:`P(\text{next flip is heads}\mid \mathcal{D})`."""
    return a / (a + b)


def beta_credible_interval(a: float, b: float, level: float = 0.95) -> tuple[float, float]:
    r"""Equal-tailed credible interval of :math:`\mathrm{Beta}(\alpha, \beta)` (``a``, ``b``).

    Notes
    -----
    :math:`[F^{-1}(\tfrac{1-c}{2}),\,F^{-1}(\tfrac{1+c}{2})]` for the credible level :math:`c`
    (``level``): the bias lies inside with posterior probability :math:`c`, and each tail
    holds :math:`(1-c)/2` (see :func:`beta_ppf`).
    """
    tail = (1.0 - level) / 2.0
    return beta_ppf(tail, a, b), beta_ppf(1.0 - tail, a, b)
