"""course_lib.uncertainty: the standard error of an accuracy, the bootstrap and its percentile
interval (coverage by simulation), and the paired permutation test (its exact p-value by brute
force, its Monte Carlo estimate within its binomial standard error, validity under the null,
power under a real difference)."""
from __future__ import annotations

import itertools
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from test_probability import strict_floats  # noqa: F401  (autouse: every float event raises)

from course_lib import metrics
from course_lib import uncertainty as U

EXAMPLES = settings(max_examples=40)  # 10x under `make fuzz`


def correctness(rng, n: int, accuracy: float) -> np.ndarray:
    return (rng.uniform(size=n) < accuracy).astype(int)


def paired(rng, n: int, p11: float, p10: float, p01: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-example correctness of two models: both right, only A, only B, with these probabilities."""
    u = rng.uniform(size=n)
    a = (u < p11 + p10).astype(int)
    b = ((u < p11) | ((u >= p11 + p10) & (u < p11 + p10 + p01))).astype(int)
    return a, b


# -- standard error ------------------------------------------------------------------------------------
@EXAMPLES
@given(st.integers(1, 500), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_standard_error_is_the_sd_of_the_mean(n, accuracy, seed):
    c = correctness(np.random.default_rng(seed), n, accuracy)
    se = U.accuracy_standard_error(c)
    assert np.isclose(se, c.std() / np.sqrt(n), rtol=1e-12, atol=1e-15)  # sqrt(a(1-a)) / sqrt(N), ddof=0
    lo, hi = U.normal_interval(c.mean(), se, 0.95)
    assert np.isclose(hi - lo, 2 * 1.959963984540054 * se, rtol=1e-12, atol=1e-15)


def test_standard_error_matches_the_spread_of_many_test_sets():
    # 20,000 test sets of 400 examples from a model of accuracy 0.9: the spread of their accuracies.
    rng = np.random.default_rng(0)
    accs = rng.binomial(400, 0.9, 20_000) / 400
    theory = np.sqrt(0.9 * 0.1 / 400)
    # The sample sd of 20,000 draws has relative standard error about 1/sqrt(2 * 20,000) = 0.005.
    assert abs(accs.std(ddof=1) / theory - 1) < 5 * 0.005


def test_normal_interval_levels():
    assert U.normal_interval(0.5, 0.1, 0.6826894921370859) == pytest.approx((0.4, 0.6))
    lo, hi = U.normal_interval(0.97, 0.02)
    assert hi > 1  # near 1 the normal interval leaves [0, 1]: one of its limits
    with pytest.raises(ValueError, match="level"):
        U.normal_interval(0.5, 0.1, 95)


# -- bootstrap ---------------------------------------------------------------------------------------------
@EXAMPLES
@given(st.integers(20, 400), st.floats(0.05, 0.95), st.integers(0, 2**32 - 1))
def test_bootstrap_of_an_accuracy_has_the_binomial_spread(n, accuracy, seed):
    rng = np.random.default_rng(seed)
    c = correctness(rng, n, accuracy)
    a = c.mean()
    if a in (0.0, 1.0):  # every resample is the same: no spread at all
        assert np.all(U.bootstrap_accuracy(c, 50, rng) == a)
        return
    boot = U.bootstrap_accuracy(c, 4000, rng)
    se = U.accuracy_standard_error(c)
    # Replicates are Binomial(N, a)/N: mean a (standard error se / sqrt(B)), sd se (relative standard
    # error about sqrt((kurtosis - 1) / (4B)); the binomial's excess kurtosis (1 - 6a(1-a)) / (N a(1-a))).
    kurtosis = 3 + (1 - 6 * a * (1 - a)) / (n * a * (1 - a))
    assert abs(boot.mean() - a) < 5 * se / np.sqrt(4000)
    assert abs(boot.std(ddof=1) / se - 1) < 5 * np.sqrt((kurtosis - 1) / (4 * 4000))
    assert np.all(np.isin(np.round(boot * n), np.arange(n + 1)))  # always k / N


def test_generic_bootstrap_agrees_with_the_vectorized_one():
    c = correctness(np.random.default_rng(1), 150, 0.8)
    assert np.allclose(U.bootstrap(np.mean, c, n_boot=300, rng=7), U.bootstrap_accuracy(c, 300, rng=7))


def test_bootstrap_keeps_pairs_together():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    pred = np.where(rng.uniform(size=200) < 0.85, y, 1 - y)
    f1 = U.bootstrap(lambda t, p: metrics.precision_recall_f1(t, p, average="binary").f1, y, pred, n_boot=200, rng=3)
    acc = U.bootstrap(lambda t, p: np.mean(t == p), y, pred, n_boot=200, rng=3)
    assert np.all(acc >= 0.7) and np.all(f1 > 0.6)  # pairs kept: a resample is never random guessing
    with pytest.raises(ValueError, match="paired"):
        U.bootstrap(np.mean, y, pred[:-1])


def _exact_coverage(a: float, n: int, level: float) -> float:
    """Coverage of the B = infinity percentile interval: the bootstrap law given a_hat = k/N is Binomial(N, k/N)/N."""
    stats = pytest.importorskip("scipy.stats")
    ks = np.arange(n + 1)
    lo = stats.binom.ppf((1 - level) / 2, n, ks / n) / n
    hi = stats.binom.ppf((1 + level) / 2, n, ks / n) / n
    return float(np.sum(stats.binom.pmf(ks, n, a) * ((lo <= a) & (a <= hi))))


@settings(max_examples=6)
@given(st.sampled_from([(0.6, 120), (0.8, 200), (0.9, 300), (0.95, 400)]), st.integers(0, 2**32 - 1))
def test_percentile_interval_covers_at_about_the_nominal_rate(case, seed):
    a, n = case
    rng = np.random.default_rng(seed)
    trials, covered = 300, 0
    for _ in range(trials):
        ci = U.accuracy_interval(correctness(rng, n, a), 0.95, n_boot=500, rng=rng)
        covered += ci.low <= a <= ci.high
    exact = _exact_coverage(a, n, 0.95)
    assert abs(exact - 0.95) < 0.02  # with N a (1 - a) >= 10 the interval is close to nominal ...
    # ... and the simulation agrees with it within 4 of its binomial standard errors, plus a little
    # for B = 500 (the interval's ends are then quantile estimates, not the exact binomial quantiles).
    assert abs(covered / trials - exact) < 4 * np.sqrt(exact * (1 - exact) / trials) + 0.01


def test_accuracy_interval_fields_and_errors():
    c = correctness(np.random.default_rng(4), 60, 0.9)
    ci = U.accuracy_interval(c, 0.9, 1000, rng=0)
    assert ci.accuracy == c.mean() and ci.se == U.accuracy_standard_error(c) and ci.low <= ci.accuracy <= ci.high
    assert 0 <= ci.low and ci.high <= 1
    assert U.accuracy_interval(c, 0.9, 1000, rng=0) == ci  # the same rng seed, the same interval
    for bad in [[], [[1, 0]], [0, 2, 1], [0.5]]:
        with pytest.raises(ValueError):
            U.accuracy_standard_error(bad)


# -- the permutation test -------------------------------------------------------------------------------------
def _brute_force_p(a, b, alternative="two-sided"):
    """All 2^N relabellings, each example swapped or not."""
    d = a - b
    stats = [float(np.dot(signs, d)) for signs in itertools.product([1, -1], repeat=len(a))]
    obs = float(d.sum())
    if alternative == "two-sided":
        hits = [abs(s) >= abs(obs) for s in stats]
    elif alternative == "greater":
        hits = [s >= obs for s in stats]
    else:
        hits = [s <= obs for s in stats]
    return sum(hits) / len(stats)


@EXAMPLES
@given(st.integers(1, 11), st.integers(0, 2**32 - 1), st.sampled_from(["two-sided", "greater", "less"]))
def test_exact_p_value_is_the_full_permutation_distribution(n, seed, alternative):
    a, b = paired(np.random.default_rng(seed), n, 0.5, 0.25, 0.15)
    assert np.isclose(U.exact_paired_p_value(a, b, alternative), _brute_force_p(a, b, alternative), rtol=1e-12)


@EXAMPLES
@given(st.integers(30, 400), st.floats(0.0, 0.2), st.floats(0.0, 0.2), st.integers(0, 2**32 - 1))
@example(250, 0.0, 0.078125, 250)
def test_monte_carlo_p_value_is_within_its_standard_error_of_the_exact_one(n, p10, p01, seed):
    rng = np.random.default_rng(seed)
    a, b = paired(rng, n, 0.6, p10, p01)
    m = 2000
    for alternative in ["two-sided", "greater"]:
        result = U.paired_permutation_test(a, b, m, rng, alternative)
        exact = U.exact_paired_p_value(a, b, alternative)
        # (r + 1)/(m + 1) - exact = ((r - m exact) + (1 - exact))/(m + 1) with r ~ Binomial(m, exact).
        # (A fuzz find: n=250, p10=0, p01=0.078, seed=250 gave exact 7.6e-6 and r = 1, outside 5 SE.)
        assert abs(result.p_value - exact) <= (U.binomial_deviation(m, exact) + 1) / (m + 1)
        assert 1 / (m + 1) <= result.p_value <= 1
        assert np.isclose(result.difference, a.mean() - b.mean()) and result.null.shape == (m,)


def test_p_value_under_the_null_is_valid_and_roughly_uniform():
    # Two models that are exchangeable on every example: P(p <= alpha) <= alpha (up to noise), and not
    # far below it (400 examples give about 40 discordant ones, a fine enough null distribution).
    rng = np.random.default_rng(5)
    p = np.array([U.paired_permutation_test(*paired(rng, 400, 0.8, 0.05, 0.05), 199, rng).p_value
                  for _ in range(400)])
    for alpha in [0.05, 0.1, 0.25, 0.5]:
        rate, se = np.mean(p <= alpha), np.sqrt(alpha * (1 - alpha) / len(p))
        assert rate <= alpha + 4 * se and rate >= alpha - 4 * se - 0.03  # the null law is discrete


def test_p_value_is_small_for_a_real_difference_and_one_for_identical_models():
    rng = np.random.default_rng(6)
    a, b = paired(rng, 300, 0.78, 0.15, 0.02)  # A right on 93%, B on 80%
    result = U.paired_permutation_test(a, b, 999, rng)
    assert result.p_value == 1 / 1000 and U.exact_paired_p_value(a, b) < 1e-6
    same = U.paired_permutation_test(a, a, 99, rng)
    assert same.p_value == 1.0 and same.difference == 0.0 and np.all(same.null == 0)


def test_one_sided_p_values_mirror_each_other():
    a, b = paired(np.random.default_rng(7), 200, 0.7, 0.12, 0.06)
    greater = U.paired_permutation_test(a, b, 500, rng=1, alternative="greater")
    less = U.paired_permutation_test(b, a, 500, rng=1, alternative="less")
    assert greater.p_value == less.p_value
    two = U.exact_paired_p_value(a, b)
    assert np.isclose(two, min(1.0, 2 * U.exact_paired_p_value(a, b, "greater")))  # symmetric null law
    with pytest.raises(ValueError, match="alternative"):
        U.paired_permutation_test(a, b, alternative="bigger")
    with pytest.raises(ValueError, match="same examples"):
        U.exact_paired_p_value(a, b[:-1])


@EXAMPLES
@given(st.integers(1, 300), st.floats(0, 1), st.floats(0, 1, allow_subnormal=False), st.integers(0, 2**32 - 1))
@example(1, 1.0, 0.0, 0)  # all right: every resample's accuracy is 1, even the 0-quantile
@example(41, 0.5, 1.0, 0)  # a fuzz find: the running sum from below put the 1-quantile at 40 of 41
def test_bootstrap_quantile_is_the_binomial_quantile(n, accuracy, q, seed):
    stats = pytest.importorskip("scipy.stats")
    special = pytest.importorskip("scipy.special")
    c = correctness(np.random.default_rng(seed), n, accuracy)
    a = c.mean()
    k = round(U.bootstrap_accuracy_quantile(c, q) * n)
    if a in (0.0, 1.0) or q in (0.0, 1.0):  # one-point distribution; or the ends of the support
        assert k == (a * n if a in (0.0, 1.0) else 0 if q == 0.0 else n)
        return
    # The definition: the smallest k with P(K <= k) >= q; above the median read as P(K > k) <= 1 - q. The
    # oracle sums scipy's log-pmf in logs, so neither tail underflows or drowns: scipy's own ppf sums from
    # below and misses tail mass under eps (it puts the (1 - 2.2e-16)-quantile of Binomial(72, 17/72) at
    # 49; mpmath at 50 digits agrees with ours, 50), and its cdf is 0 below 1e-308. The 1e-9 is the
    # rounding of pmfs computed through lgamma, with room: a tie closer than that may go either way.
    # (Subnormal levels q are left out: there a probability has fewer digits than that.)
    log_pmf = stats.binom.logpmf(np.arange(n + 1), n, a)

    def log_cdf(j):  # log P(K <= j)
        return special.logsumexp(log_pmf[:j + 1]) if j >= 0 else -np.inf

    def log_sf(j):  # log P(K > j)
        return special.logsumexp(log_pmf[j + 1:]) if j < n else -np.inf

    if q <= 0.5:
        assert log_cdf(k) >= np.log(q) - 1e-9 and log_cdf(k - 1) < np.log(q) + 1e-9
    else:
        assert log_sf(k) <= np.log1p(-q) + 1e-9 and log_sf(k - 1) > np.log1p(-q) - 1e-9


@EXAMPLES
@given(st.integers(0, 400), st.one_of(st.just(0.0), st.floats(1e-300, 1)))  # scipy's own pmf overflows below
@example(4, 2.2250738585072014e-308)  # (fuzz find: scipy raises there; ours is checked by hand)
@example(0, 0.0)  # (fuzz find: a single outcome, K = 0)
def test_binomial_pmf_against_scipy(n, a):
    pmf = U.binomial_pmf(n, a)
    assert pmf.shape == (n + 1,) and np.isclose(pmf.sum(), 1.0)
    if a < 1e-300:  # the oracle fails: P(K = 1) = n a (1 - a)^(n-1), the rest below the smallest float
        assert pmf[0] == 1.0 and (n == 0 or (np.isclose(pmf[1], n * a, rtol=1e-12) and np.all(pmf[2:] == 0)))
        return
    stats = pytest.importorskip("scipy.stats")
    assert np.allclose(pmf, stats.binom.pmf(np.arange(n + 1), n, a), rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("a,n", [(0.96, 897), (0.96, 50), (0.7, 100)])
def test_normal_interval_coverage_matches_a_simulation(a, n):
    rng = np.random.default_rng(8)
    acc = rng.binomial(n, a, 200_000) / n
    covered = np.mean(np.abs(acc - a) <= 1.959963984540054 * np.sqrt(acc * (1 - acc) / n))
    exact = U.normal_interval_coverage(a, n)
    assert abs(covered - exact) < 5 * np.sqrt(exact * (1 - exact) / 200_000)
    if n * a * (1 - a) < 5:
        assert exact < 0.9  # few errors: the normal interval breaks its promise


@EXAMPLES
@given(st.integers(1, 5000), st.floats(0, 1))
def test_binomial_deviation_holds_its_probability(m, p):
    # Against the exact binomial tail, at a delta large enough to see: P(|r - m p| >= t) <= delta.
    delta = 0.01
    t = U.binomial_deviation(m, p, delta)
    pmf = U.binomial_pmf(m, p)
    assert pmf[np.abs(np.arange(m + 1) - m * p) >= t].sum() <= delta
