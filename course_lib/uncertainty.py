r"""Chapter 03: how sure is a measured accuracy, and is one classifier really better than another?

A model evaluated on a test set of :math:`N` examples gives one number per example,
:math:`c_n = 1` if it classified example :math:`n` correctly and 0 otherwise (``correct``, an
array of shape ``(N,)`` of 0/1 or booleans). Its accuracy :math:`\hat a = \frac1N\sum_n c_n`
is an *estimate* of the accuracy :math:`a` it would have on the whole population the test set
was drawn from. This module measures how far off that estimate can be and whether a gap
between two models is more than luck:

- :func:`accuracy_standard_error`, :func:`normal_interval`, :func:`normal_interval_coverage`:
  the binomial standard error, the interval :math:`\hat a \pm z\,\mathrm{SE}` and how often it
  really covers;
- :func:`bootstrap`, :func:`bootstrap_accuracy`, :func:`percentile_interval`,
  :func:`accuracy_interval`, :func:`bootstrap_accuracy_quantile`: the bootstrap distribution of
  a statistic and its percentile interval (for an accuracy, exactly Binomial(N, a)/N);
- :func:`paired_permutation_test`, :func:`exact_paired_p_value`: a permutation test of
  "model A and model B are equally accurate" on the same test set, by Monte Carlo and exactly;
  :func:`binomial_deviation`: how far a Monte-Carlo estimate of a probability can stray.

Every random function takes ``rng``: a ``numpy.random.Generator``, a seed, or ``None`` for
fresh randomness, so a result can be repeated exactly.
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import Callable, NamedTuple

import numpy as np

_CHUNK = 1 << 22  # entries of a resampling matrix built at once: 32 MiB of int64 indices


def _correct(correct, name: str = "correct") -> np.ndarray:
    """``correct`` as a 1-D float array of 0s and 1s, or a clear error."""
    c = np.asarray(correct)
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of 0/1 (one entry per test example), "
                         f"got shape {c.shape}")
    c = c.astype(np.float64)
    if not np.all((c == 0) | (c == 1)):
        raise ValueError(f"{name} must hold only 0/1 (or booleans): 1 where the model was right")
    return c


def _level(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return float(level)


# -- the standard error ------------------------------------------------------------------------
def accuracy_standard_error(correct) -> float:
    r"""Estimated standard error of a test-set accuracy.

    Parameters
    ----------
    correct : array_like of 0/1, shape (N,)

    Returns
    -------
    float
        :math:`\widehat{\mathrm{SE}} = \sqrt{\hat a(1 - \hat a)/N}`.

    Notes
    -----
    If the :math:`N` test examples are drawn independently from the population, the
    :math:`c_n` are independent Bernoulli(:math:`a`) variables, so :math:`N\hat a` is
    Binomial(:math:`N, a`) and

    .. math::  \mathbb{E}[\hat a] = a,\qquad \operatorname{Var}[\hat a] = \frac{a(1-a)}{N},\qquad
               \operatorname{sd}[\hat a] = \sqrt{\frac{a(1-a)}{N}}.

    The unknown :math:`a` is replaced by :math:`\hat a` (the plug-in estimate). It is the
    standard deviation of the *mean*, not of one :math:`c_n` (that is
    :math:`\sqrt{a(1-a)}`, :math:`\sqrt N` times larger): quadrupling the test set halves it.
    """
    c = _correct(correct)
    a = c.mean()
    return float(np.sqrt(a * (1.0 - a) / c.size))


class Interval(NamedTuple):
    """A confidence interval ``[low, high]``."""

    low: float
    high: float


def normal_interval(estimate: float, se: float, level: float = 0.95) -> Interval:
    r"""The normal-approximation (Wald) interval :math:`\hat a \pm z\,\mathrm{SE}`.

    Parameters
    ----------
    estimate, se : float
    level : float in (0, 1)
        The confidence level :math:`1 - \alpha`.

    Returns
    -------
    Interval

    Notes
    -----
    :math:`z = \Phi^{-1}(1 - \alpha/2)`, the standard normal quantile (1.96 for 95%). By the
    central limit theorem :math:`(\hat a - a)/\mathrm{SE}` is close to :math:`\mathcal{N}(0, 1)`
    when :math:`Na` and :math:`N(1-a)` are both large (a common rule: at least 10), and the
    interval then covers :math:`a` with probability close to :math:`1-\alpha`. With few errors
    (an accuracy near 1 on a small test set) it covers less, and can reach past 1.
    """
    z = NormalDist().inv_cdf(0.5 + _level(level) / 2.0)
    return Interval(float(estimate - z * se), float(estimate + z * se))


# -- the bootstrap ---------------------------------------------------------------------------------
def bootstrap(statistic: Callable[..., float], *samples, n_boot: int = 2000, rng=None) -> np.ndarray:
    r"""The bootstrap distribution of a statistic of paired samples.

    Parameters
    ----------
    statistic : callable
        ``statistic(*resampled) -> float``, e.g. an F1 score of ``(y_true, y_pred)``.
    *samples : array_like, each of length N along axis 0
        Paired: the same rows are drawn from each (an example keeps its label and prediction).
    n_boot : int
        :math:`B`, the number of resamples.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    ndarray, shape (n_boot,)
        :math:`\hat\theta^{*}_b = \text{statistic}(\text{resample}_b)`, :math:`b = 1..B`.

    Notes
    -----
    A resample draws :math:`N` rows *with replacement* from the :math:`N` rows: the data
    stand in for the population they came from (Efron, 1979). The spread of
    :math:`\hat\theta^*` around :math:`\hat\theta` estimates the spread of :math:`\hat\theta`
    around the truth; it needs no formula for the statistic's variance, which is why it
    works for an F1 score as well as for an accuracy. (Without replacement every resample
    is a permutation of the data and the statistic never changes.)
    """
    rng = np.random.default_rng(rng)
    arrays = [np.asarray(s) for s in samples]
    if not arrays:
        raise ValueError("bootstrap needs at least one sample")
    n = len(arrays[0])
    if n == 0 or any(len(a) != n for a in arrays):
        raise ValueError(f"the samples must be paired and non-empty; lengths {[len(a) for a in arrays]}")
    out = np.empty(int(n_boot))
    for b in range(out.size):
        idx = rng.integers(0, n, n)
        out[b] = statistic(*(a[idx] for a in arrays))
    return out


def bootstrap_accuracy(correct, n_boot: int = 2000, rng=None) -> np.ndarray:
    r"""The bootstrap distribution of an accuracy, shape ``(n_boot,)`` (as :func:`bootstrap` with the mean, vectorized).

    Notes
    -----
    Each replicate is the mean of :math:`N` draws with replacement from ``correct``. Its
    distribution is exactly :math:`\mathrm{Binomial}(N, \hat a)/N`, whose standard deviation
    is the plug-in standard error :math:`\sqrt{\hat a(1-\hat a)/N}` of
    :func:`accuracy_standard_error`: for an accuracy the bootstrap and the formula agree.
    """
    c = _correct(correct)
    rng = np.random.default_rng(rng)
    n, out = c.size, np.empty(int(n_boot))
    rows = max(1, _CHUNK // n)
    for start in range(0, out.size, rows):
        stop = min(start + rows, out.size)
        out[start:stop] = c[rng.integers(0, n, (stop - start, n))].mean(axis=1)
    return out


def percentile_interval(replicates, level: float = 0.95) -> Interval:
    r"""The percentile bootstrap interval: the :math:`\alpha/2` and :math:`1-\alpha/2` quantiles of the replicates.

    Notes
    -----
    ``np.quantile`` with its default linear interpolation between order statistics. The
    interval respects the statistic's range (an accuracy's stays in [0, 1]) and its
    asymmetry, unlike :math:`\hat\theta \pm z\,\mathrm{SE}`.
    """
    r = np.asarray(replicates, dtype=np.float64).reshape(-1)
    alpha = 1.0 - _level(level)
    lo, hi = np.quantile(r, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Interval(float(lo), float(hi))


class AccuracyInterval(NamedTuple):
    """An accuracy, its standard error and a percentile bootstrap interval."""

    accuracy: float
    se: float
    low: float
    high: float


def accuracy_interval(correct, level: float = 0.95, n_boot: int = 2000, rng=None) -> AccuracyInterval:
    r"""Accuracy, binomial standard error and percentile bootstrap interval of a classifier.

    Parameters
    ----------
    correct : array_like of 0/1, shape (N,)
    level : float in (0, 1)
    n_boot : int
    rng : numpy.random.Generator, int or None

    Returns
    -------
    AccuracyInterval
        ``(accuracy, se, low, high)``: :math:`\hat a`, :math:`\sqrt{\hat a(1-\hat a)/N}`, and the
        :math:`(1-\text{level})/2` and :math:`(1+\text{level})/2` quantiles of
        :func:`bootstrap_accuracy`.
    """
    c = _correct(correct)
    low, high = percentile_interval(bootstrap_accuracy(c, n_boot, rng), level)
    return AccuracyInterval(float(c.mean()), accuracy_standard_error(c), low, high)


# -- is A better than B? ------------------------------------------------------------------------------
class PermutationTest(NamedTuple):
    """The observed accuracy difference, its p-value and the null distribution it was compared with."""

    difference: float
    p_value: float
    null: np.ndarray


_ALTERNATIVES = ("two-sided", "greater", "less")


def _paired(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _correct(correct_a, "correct_a"), _correct(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ValueError(f"a paired test needs both models on the same examples: {a.size} vs {b.size} entries")
    return a, b


def _as_extreme(stat, observed, alternative: str):
    if alternative == "two-sided":
        return np.abs(stat) >= abs(observed)
    if alternative == "greater":
        return stat >= observed
    if alternative == "less":
        return stat <= observed
    raise ValueError(f"alternative must be one of {_ALTERNATIVES}, not {alternative!r}")


def paired_permutation_test(correct_a, correct_b, n_permutations: int = 10_000, rng=None,
                            alternative: str = "two-sided") -> PermutationTest:
    r"""Permutation test of "models A and B are equally accurate", on the same test examples.

    Parameters
    ----------
    correct_a, correct_b : array_like of 0/1, shape (N,)
        Per-example correctness of the two models on the *same* examples, in the same order.
    n_permutations : int
        :math:`n`, the number of random relabellings.
    rng : numpy.random.Generator, int or None
    alternative : {"two-sided", "greater", "less"}
        "greater": is A better than B; "two-sided": do they differ (either way).

    Returns
    -------
    PermutationTest
        ``difference`` :math:`d = \hat a_A - \hat a_B`; ``p_value`` :math:`(r + 1)/(n + 1)`;
        ``null``, shape (n,): the difference after each relabelling.

    Notes
    -----
    Under the null hypothesis the two models are exchangeable on every example: which of
    the two results of example :math:`n` is called "A" is a coin flip. So swap the pair
    :math:`(c^A_n, c^B_n)` with probability 1/2, independently for each example, and recompute
    the difference; repeat :math:`n` times. With :math:`r` the number of relabellings at
    least as extreme as the observed one (:math:`|d^*| \ge |d|` for two sides),

    .. math::  p = \frac{r + 1}{n + 1}.

    The +1 counts the observed labelling itself, one of the equally likely ones: it makes
    the test valid for any :math:`n`, :math:`P(p \le \alpha) \le \alpha` under the null
    (Phipson and Smyth, 2010), and a p-value is never 0. The test is *paired*: both models
    see the same examples, and pooling all :math:`2N` results into one shuffle would ignore
    that they tend to fail on the same hard examples. A swap changes nothing where both are
    right or both wrong, so only the discordant examples are drawn (the same distribution,
    fewer random numbers).
    """
    a, b = _paired(correct_a, correct_b)
    _as_extreme(0.0, 0.0, alternative)  # validates the name before any work
    rng = np.random.default_rng(rng)
    diff = (a - b)[a != b]  # +1: only A right, -1: only B right
    observed = int(diff.sum())
    null_sums = np.zeros(int(n_permutations), dtype=np.int64)
    if diff.size:
        rows = max(1, _CHUNK // diff.size)
        for start in range(0, null_sums.size, rows):
            stop = min(start + rows, null_sums.size)
            signs = 2 * rng.integers(0, 2, (stop - start, diff.size)) - 1
            null_sums[start:stop] = signs @ diff.astype(np.int64)
    r = int(np.count_nonzero(_as_extreme(null_sums, observed, alternative)))  # integers: no rounding ties
    return PermutationTest(observed / a.size, (r + 1) / (null_sums.size + 1), null_sums / a.size)


def binomial_deviation(m: int, p: float, delta: float = 1e-9) -> float:
    r"""A :math:`t` with :math:`P(|r - mp| \ge t) \le \delta` for :math:`r\sim\mathrm{Binomial}(m, p)`.

    Notes
    -----
    Bernstein's inequality, :math:`P(|r - mp| \ge t) \le 2\exp\big(-t^2 / (2(mp(1-p) + t/3))\big)`,
    solved for :math:`t`:

    .. math::  t = \frac{L}{3} + \sqrt{\frac{L^2}{9} + 2mp(1-p)L},\qquad L = \log\frac{2}{\delta}.

    The allowance for a Monte-Carlo estimate :math:`r/m` of a probability :math:`p` (a
    permutation p-value, a bootstrap quantile's level) is then :math:`t/m`. Unlike a multiple of
    the standard error :math:`\sqrt{mp(1-p)}`, which assumes :math:`r` nearly normal, it holds when
    :math:`mp` is small and :math:`r` is Poisson-like: at :math:`p = 10^{-5}`, :math:`m = 4000`, a
    single hit (probability 4%) is 8 standard errors out.
    """
    log_term = math.log(2.0 / delta)
    return log_term / 3.0 + math.sqrt((log_term / 3.0) ** 2 + 2.0 * m * p * (1.0 - p) * log_term)


def exact_paired_p_value(correct_a, correct_b, alternative: str = "two-sided") -> float:
    r"""The exact p-value of :func:`paired_permutation_test`: all :math:`2^{N}` relabellings.

    Notes
    -----
    Only the :math:`n_d` discordant examples change under a swap. Under the null each is
    "A right, B wrong" with probability 1/2, independently, so their number :math:`K` is
    Binomial(:math:`n_d`, 1/2) and the summed difference is :math:`S = 2K - n_d`. With
    :math:`s = n_{10} - n_{01}` observed (:math:`n_{10}` examples only A gets right,
    :math:`n_{01}` only B),

    .. math::  p = P(|S| \ge |s|) = 2^{-n_d}\sum_{k:\ |2k - n_d| \ge |s|}\binom{n_d}{k}

    (the exact McNemar, or sign, test). :func:`paired_permutation_test` estimates it:
    :math:`r/n \to p` with standard error :math:`\sqrt{p(1-p)/n}`, and within
    :math:`(t + 1)/(n + 1)` but for a chance :math:`\delta`, :math:`t` from :func:`binomial_deviation`. Summed in exact integer
    arithmetic, so it is right to the last bit even when :math:`p` is :math:`10^{-100}`.
    """
    a, b = _paired(correct_a, correct_b)
    _as_extreme(0.0, 0.0, alternative)
    n10, n01 = int(np.sum(a > b)), int(np.sum(b > a))
    n_d, s = n10 + n01, n10 - n01
    ks = np.arange(n_d + 1)
    tail = ks[_as_extreme(2 * ks - n_d, s, alternative)]
    return float(sum(math.comb(n_d, int(k)) for k in tail) / 2**n_d)


def binomial_pmf(n: int, a: float) -> np.ndarray:
    r""":math:`P(K = k)` for :math:`K\sim\mathrm{Binomial}(n, a)`, :math:`k = 0..n`, shape (n + 1,).

    Notes
    -----
    :math:`\binom{n}{k}a^k(1-a)^{n-k}`, summed in logs (``math.lgamma``) so that
    :math:`\binom{n}{k}` never overflows; terms below the smallest float round to 0.
    """
    n = int(n)
    if not 0.0 <= a <= 1.0 or n < 0:
        raise ValueError(f"need n >= 0 and a in [0, 1], got n = {n}, a = {a}")
    if a in (0.0, 1.0):
        out = np.zeros(n + 1)
        out[0 if a == 0.0 else n] = 1.0
        return out
    ks = np.arange(n + 1)
    log_pmf = np.array([math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) for k in ks]) \
        + ks * math.log(a) + (n - ks) * math.log1p(-a)
    with np.errstate(under="ignore"):  # far tails round to 0: exact to rounding
        return np.exp(log_pmf)


def bootstrap_accuracy_quantile(correct, q: float) -> float:
    r"""The :math:`q`-quantile of the bootstrap distribution of an accuracy with infinitely many resamples.

    Notes
    -----
    That distribution is :math:`\mathrm{Binomial}(N, \hat a)/N` (:func:`bootstrap_accuracy`),
    so its quantile is :math:`k/N` for the smallest :math:`k` with
    :math:`P(\mathrm{Binomial}(N, \hat a) \le k) \ge q` (:func:`binomial_pmf`). A percentile
    interval from :math:`B` resamples estimates it, within about :math:`\sqrt{q(1-q)/B}` in
    probability.

    Above the median the condition is read as :math:`P(K > k) \le 1 - q`, with the upper tail
    summed from the top: a running sum from below rounds to its final value once the remaining
    terms are below :math:`\varepsilon`, and would put the 1-quantile of
    :math:`\mathrm{Binomial}(41, 0.39)` at 40 instead of 41. :math:`q = 1` gives the top of the
    support even where its probability underflows.
    """
    c = _correct(correct)
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    n, a = c.size, float(c.mean())
    if a in (0.0, 1.0):  # every resample has this accuracy: a one-point distribution, whatever q
        return a
    if q == 1.0:
        return 1.0
    pmf = binomial_pmf(n, a)
    if q <= 0.5:
        cdf = np.cumsum(pmf)
        return float(min(int(np.searchsorted(cdf, q * cdf[-1], side="left")), n) / n)
    above = np.append(np.cumsum(pmf[::-1])[::-1][1:], 0.0)  # above[k] = P(K > k), non-increasing
    return float(int(np.argmax(above <= (1.0 - q) * pmf.sum())) / n)  # 1 - q is exact for q >= 0.5


def normal_interval_coverage(a: float, n: int, level: float = 0.95) -> float:
    r"""The exact probability that :func:`normal_interval` from a test set of ``n`` examples covers the accuracy ``a``.

    Notes
    -----
    .. math::  \sum_{k=0}^{n} P(K = k)\,\big[\,|k/n - a| \le z\sqrt{(k/n)(1 - k/n)/n}\,\big],
               \qquad K\sim\mathrm{Binomial}(n, a),

    the promise of a :math:`1-\alpha` interval being that this is :math:`1 - \alpha`. For the
    normal interval it is only approximately so, and it falls well short when
    :math:`na(1-a)` is small (a test set with few errors, Brown, Cai and DasGupta, 2001).
    """
    z = NormalDist().inv_cdf(0.5 + _level(level) / 2.0)
    k = np.arange(int(n) + 1)
    a_hat = k / n
    covered = np.abs(a_hat - a) <= z * np.sqrt(a_hat * (1 - a_hat) / n)
    return float(np.sum(binomial_pmf(n, a)[covered]))
