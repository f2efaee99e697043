"""course_lib.probability: stable numerics (property tests), information identities, likelihoods
and their maxima, Bayes, Markov chains, uncertainty.

Every test runs with overflow, division by zero and invalid operations turned into exceptions
and warnings into errors (the ``strict_floats`` fixture), so "no NaN and no overflow warning" is
part of each assertion. Underflow is silent in NumPy by default (``exp(-800)`` rounds to 0) and the
tests' own arithmetic (``np.allclose`` on tiny numbers) underflows legitimately, so the fixture lets
it pass; ``test_no_floating_point_event_at_all`` runs every function on extreme inputs under the
full ``np.errstate(all="raise")``, underflow included.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib import probability as pr
from course_lib.gradcheck import gradcheck, numerical_gradient, numerical_jacobian, relative_error

# 60 examples per property (10x under `make fuzz`). Never load a profile here: tests/conftest.py owns them.
EXAMPLES = settings(max_examples=60)


@pytest.fixture(autouse=True)
def strict_floats():
    with np.errstate(all="raise", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- strategies -----------------------------------------------------------------------------
def logits(max_magnitude: float = 1e4, max_k: int = 8):
    """Logits of shape (K,) or (N, K), including one-element inputs, |z| <= max_magnitude."""
    shape = st.one_of(st.tuples(st.integers(1, max_k)), st.tuples(st.integers(1, 5), st.integers(1, max_k)))
    return shape.flatmap(lambda s: arrays(np.float64, s, elements=st.floats(-max_magnitude, max_magnitude)))


@st.composite
def distributions(draw, k=None, batch=None):
    """Probability vectors (K,) or batches (N, K), with exact zeros and exact ones among them."""
    k = k or draw(st.integers(1, 8))
    shape = (k,) if batch is None else (batch, k)
    w = draw(arrays(np.float64, shape, elements=st.one_of(st.just(0.0), st.just(1.0), st.floats(1e-300, 1.0))))
    w = np.where(w.sum(axis=-1, keepdims=True) > 0, w, 1.0)  # an all-zero row becomes uniform
    return w / w.sum(axis=-1, keepdims=True)


@st.composite
def pairs(draw):
    k = draw(st.integers(1, 8))
    batch = draw(st.one_of(st.none(), st.integers(1, 4)))
    return draw(distributions(k, batch)), draw(distributions(k, batch))


# -- softmax, log-softmax, log-sum-exp, sigmoid ---------------------------------------------------
@EXAMPLES
@given(logits())
def test_softmax_is_a_distribution_for_any_logits(z):
    s = pr.softmax(z)
    assert s.shape == z.shape and np.all(np.isfinite(s)) and np.all(s >= 0)
    assert np.allclose(s.sum(axis=-1), 1.0, atol=1e-12)
    top = np.take_along_axis(s, np.argmax(z, axis=-1)[..., None], axis=-1)[..., 0]
    assert np.array_equal(top, s.max(axis=-1))  # the largest logit gets the largest probability


@EXAMPLES
@given(logits(), st.floats(-1e4, 1e4))
def test_softmax_and_log_softmax_are_shift_invariant(z, c):
    assert np.allclose(pr.softmax(z + c), pr.softmax(z), atol=1e-8)
    # The shift itself is rounded at the scale of |z + c| (up to 2e4, an ulp of ~4e-12).
    assert np.allclose(pr.log_softmax(z + c), pr.log_softmax(z), atol=1e-7, rtol=1e-9)
    assert np.allclose(pr.logsumexp(z + c), pr.logsumexp(z) + c, atol=1e-7, rtol=1e-12)


@EXAMPLES
@given(logits())
def test_log_softmax_is_finite_and_consistent(z):
    ls = pr.log_softmax(z)
    assert np.all(np.isfinite(ls)) and np.all(ls <= 0)
    s = pr.softmax(z)
    visible = s > 1e-300  # where the probability itself has not underflowed
    assert np.allclose(np.exp(ls), s, atol=1e-15, rtol=1e-9)
    assert np.allclose(ls[visible], np.log(s[visible]), atol=1e-9)


@EXAMPLES
@given(logits())
def test_logsumexp_bounds(z):
    m = z.max(axis=-1)
    lse = pr.logsumexp(z)
    assert np.all(lse >= m - 1e-9) and np.all(lse <= m + np.log(z.shape[-1]) + 1e-9)
    assert pr.logsumexp(z, keepdims=True).shape == z.shape[:-1] + (1,)


def test_logsumexp_matches_the_naive_formula_where_that_is_safe():
    z = np.random.default_rng(0).normal(0, 3, (4, 6))
    assert np.allclose(pr.logsumexp(z), np.log(np.exp(z).sum(axis=-1)))
    assert np.allclose(pr.logsumexp(z, axis=0), np.log(np.exp(z).sum(axis=0)))
    assert np.allclose(pr.log_softmax(z, axis=0), z - np.log(np.exp(z).sum(axis=0)))
    assert np.allclose(pr.softmax(z, axis=0).sum(axis=0), 1.0)


def test_magnitude_1e4_and_masked_logits():
    z = np.array([1e4, 0.0, -1e4])
    assert np.array_equal(pr.softmax(z), [1.0, 0.0, 0.0])
    assert np.array_equal(pr.log_softmax(z), [0.0, -1e4, -2e4])
    assert pr.logsumexp(z) == 1e4
    assert np.allclose(pr.softmax([1e4, 1e4]), [0.5, 0.5])
    masked = np.array([2.0, -np.inf, 0.0])  # -inf: an entry switched off (log of probability 0)
    assert pr.softmax(masked)[1] == 0.0 and np.isclose(pr.softmax(masked).sum(), 1.0)
    assert pr.logsumexp([-np.inf, -np.inf]) == -np.inf


@EXAMPLES
@given(st.floats(-1e4, 1e4))
def test_one_element(x):
    assert pr.softmax(np.array([x])) == 1.0
    assert pr.log_softmax(np.array([x])) == 0.0
    assert pr.logsumexp(np.array([x])) == x
    assert pr.entropy(np.array([1.0])) == 0.0


@EXAMPLES
@given(logits(max_magnitude=1e3), st.floats(1e-3, 1e3))
def test_temperature_is_division_of_the_logits(z, T):
    assert np.allclose(pr.softmax(z, temperature=T), pr.softmax(z / T), atol=1e-12)


@EXAMPLES
@given(arrays(np.float64, st.integers(2, 8), elements=st.floats(-1e4, 1e4)))
def test_temperature_limits(z):
    top = np.sort(z)[-2:]
    assume(top[1] - top[0] > 1e-3)  # a unique maximum
    cold = pr.softmax(z, temperature=1e-9)
    assert np.array_equal(cold, np.eye(len(z))[np.argmax(z)])  # T -> 0: one-hot argmax
    hot = pr.softmax(z, temperature=1e12)
    assert np.allclose(hot, 1.0 / len(z), atol=1e-7)  # T -> inf: uniform
    assert pr.entropy(cold) <= pr.entropy(pr.softmax(z)) <= pr.entropy(hot) + 1e-12


def test_temperature_must_be_positive():
    with pytest.raises(ValueError):
        pr.softmax([1.0, 2.0], temperature=0.0)
    assert np.array_equal(pr.softmax([1.0, 0.0], temperature=1e-320), [1.0, 0.0])  # no overflow warning


@EXAMPLES
@given(arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e4, 1e4)))
def test_sigmoid_is_stable_and_is_a_two_class_softmax(z):
    s = pr.sigmoid(z)
    assert np.all((s >= 0) & (s <= 1))
    assert np.allclose(s, pr.softmax(np.stack([np.zeros_like(z), z], axis=-1))[..., 1], atol=1e-15)
    assert np.allclose(pr.sigmoid(-z), 1.0 - s, atol=1e-15)


def test_no_floating_point_event_at_all():
    """Extreme inputs under np.errstate(all="raise"): not even an underflow escapes the library."""
    z = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [5e-324, 0.0, -5e-324], [0.0, 0.0, 0.0]])
    p = np.array([[1.0, 0.0, 0.0], [5e-324, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]])
    q = np.array([[0.0, 0.5, 0.5], [0.5, 0.5, 5e-324], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    with np.errstate(all="raise"):
        for out in [pr.softmax(z), pr.softmax(z, temperature=1e-300), pr.softmax(z, temperature=1e300),
                    pr.log_softmax(z), pr.logsumexp(z), pr.sigmoid(z), pr.softmax_jacobian(z),
                    pr.entropy(p), pr.entropy(q), pr.cross_entropy_with_logits(p, z), pr.categorical_nll(z, [0, 1, 2, 0])]:
            assert not np.any(np.isnan(out))
        assert np.array_equal(np.isinf(pr.cross_entropy(p, q)), [True, False, True, False])
        assert np.array_equal(np.isinf(pr.kl_divergence(p, q)), [True, False, True, False])
        assert pr.beta_pdf(np.array([0.0, 1e-300, 0.5, 1.0]), 900.0, 900.0)[1] == 0.0
        assert pr.gaussian_pdf(np.array([0.0, 1e3]))[1] == 0.0


# -- derivatives, with the course's gradient checker ------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_gradient_of_logsumexp_is_softmax(seed):
    z = np.random.default_rng(seed).normal(0, 2, 6)
    result = gradcheck(pr.logsumexp, pr.softmax, z)
    assert result, str(result)


@pytest.mark.parametrize("seed", range(5))
def test_softmax_jacobian(seed):
    z = np.random.default_rng(seed).normal(0, 2, 5)
    J = pr.softmax_jacobian(z)
    assert relative_error(J, numerical_jacobian(pr.softmax, z)) <= 1e-7
    assert np.allclose(J, J.T) and np.allclose(J.sum(axis=1), 0.0, atol=1e-15)
    batch = np.random.default_rng(seed).normal(0, 2, (3, 5))
    assert np.allclose(pr.softmax_jacobian(batch)[1], pr.softmax_jacobian(batch[1]))


@pytest.mark.parametrize("seed", range(3))
def test_sigmoid_derivative(seed):
    z = np.random.default_rng(seed).normal(0, 3, 4)
    assert gradcheck(lambda v: np.sum(pr.sigmoid(v)), lambda v: pr.sigmoid(v) * (1 - pr.sigmoid(v)), z)


@pytest.mark.parametrize("seed", range(3))
def test_gradients_of_the_losses(seed):
    rng = np.random.default_rng(seed)
    z, p = rng.normal(0, 2, (3, 4)), rng.dirichlet(np.ones(4), 3)
    # d/dz H(p, softmax(z)) = softmax(z) - p, row by row.
    assert gradcheck(lambda v: np.sum(pr.cross_entropy_with_logits(p, v)), pr.softmax(z) - p, z)
    y = rng.integers(0, 4, 3)
    assert gradcheck(lambda v: pr.categorical_nll(v, y), (pr.softmax(z) - pr.one_hot(y, 4)) / 3, z)
    # d/dq H(p, q) = -p / q for q > 0.
    q = rng.dirichlet(np.ones(4))
    assert gradcheck(lambda v: pr.cross_entropy(p[0], v), -p[0] / q, q)
    # d/dp H(p) = -(log p + 1).
    assert gradcheck(pr.entropy, -(np.log(q) + 1), q)


# -- entropy, cross-entropy, KL --------------------------------------------------------------------
@EXAMPLES
@given(distributions())
def test_entropy_bounds(p):
    h = pr.entropy(p)
    assert np.isfinite(h) and -1e-12 <= h <= np.log(p.size) + 1e-12


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_entropy_extremes(k):
    assert pr.entropy(np.eye(k)[0]) == 0.0  # certainty: 0, and 0 log 0 = 0 without nan
    assert np.isclose(pr.entropy(np.full(k, 1.0 / k)), np.log(k))
    assert np.isclose(pr.entropy(np.full(k, 1.0 / k)) / np.log(2), np.log2(k))  # in bits


@EXAMPLES
@given(pairs())
def test_kl_is_nonnegative_and_zero_only_for_equal(pq):
    p, q = pq
    kl = pr.kl_divergence(p, q)
    assert np.all(kl >= -1e-12)
    assert np.all(pr.kl_divergence(p, p) == 0.0)
    # Pinsker: KL >= ||p - q||_1^2 / 2, so KL > 0 whenever p != q.
    finite = np.isfinite(kl)
    assert np.all(kl[finite] >= 0.5 * np.sum(np.abs(p - q), axis=-1)[finite] ** 2 - 1e-9)


@EXAMPLES
@given(pairs())
def test_cross_entropy_is_entropy_plus_kl(pq):
    p, q = pq
    ce, h, kl = pr.cross_entropy(p, q), pr.entropy(p), pr.kl_divergence(p, q)
    assert np.array_equal(np.isinf(ce), np.isinf(kl))
    finite = np.isfinite(ce)
    assert np.allclose(ce[finite], (h + kl)[finite], rtol=1e-9, atol=1e-9)
    assert np.all(ce[finite] >= h[finite] - 1e-9)  # Gibbs: the true distribution codes best


def test_exact_zeros_and_ones():
    p = np.array([1.0, 0.0, 0.0])
    assert pr.cross_entropy(p, p) == 0.0 and pr.kl_divergence(p, p) == 0.0
    assert pr.cross_entropy(p, [0.0, 0.5, 0.5]) == np.inf  # q = 0 where p > 0: infinite, no warning
    assert pr.kl_divergence(p, [0.0, 0.5, 0.5]) == np.inf
    assert pr.cross_entropy([0.0, 1.0], [0.0, 1.0]) == 0.0  # p = 0 (and q = 0) contributes 0
    assert np.isclose(pr.kl_divergence([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]), np.log(2))
    assert np.isclose(pr.cross_entropy([0.5, 0.5], [0.25, 0.75]), -0.5 * np.log(0.25) - 0.5 * np.log(0.75))


def test_kl_is_not_symmetric():
    p, q = np.array([0.8, 0.2]), np.array([0.5, 0.5])
    assert not np.isclose(pr.kl_divergence(p, q), pr.kl_divergence(q, p))


@EXAMPLES
@given(logits(max_magnitude=1e4))
def test_cross_entropy_with_logits_is_stable(z):
    p = pr.softmax(np.roll(z, 1, axis=-1))
    ce = pr.cross_entropy_with_logits(p, z)
    assert np.all(np.isfinite(ce)) and np.all(ce >= -1e-9)
    y = np.argmin(np.atleast_2d(z), axis=-1)  # the least likely class: the hardest case
    assert np.isfinite(pr.categorical_nll(np.atleast_2d(z), y))


@EXAMPLES
@given(logits(max_magnitude=30))
def test_cross_entropy_with_logits_equals_cross_entropy_of_softmax(z):
    p = pr.softmax(np.roll(z, 1, axis=-1))
    assert np.allclose(pr.cross_entropy_with_logits(p, z), pr.cross_entropy(p, pr.softmax(z)), atol=1e-9)


def test_categorical_nll_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    z, y = rng.normal(0, 50, (6, 4)), rng.integers(0, 4, 6)
    expected = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y)).item()
    assert np.isclose(pr.categorical_nll(z, y), expected, rtol=1e-12)
    assert np.isclose(pr.categorical_nll(z, y), np.mean(pr.cross_entropy_with_logits(pr.one_hot(y, 4), z)))
    assert np.isclose(pr.categorical_nll(z, y), -pr.categorical_log_likelihood(y, pr.softmax(z)) / 6)


# -- discrete distributions, likelihoods, maximum likelihood ----------------------------------------
def test_expectation_and_variance_of_a_die():
    x, p = np.arange(1, 7), np.full(6, 1 / 6)
    assert np.isclose(pr.expectation(x, p), 3.5) and np.isclose(pr.variance(x, p), 35 / 12)


@EXAMPLES
@given(arrays(np.float64, 5, elements=st.floats(-100, 100)), distributions(5))
def test_variance_identities(x, p):
    mean = pr.expectation(x, p)
    assert np.isclose(mean, np.average(x, weights=p), atol=1e-9)
    assert pr.variance(x, p) >= 0
    assert np.isclose(pr.variance(x, p), pr.expectation(x**2, p) - mean**2, atol=1e-6)
    assert np.isclose(pr.variance(x + 7.0, p), pr.variance(x, p), atol=1e-6)


@EXAMPLES
@given(st.lists(st.integers(0, 1), min_size=1, max_size=40))
def test_bernoulli_mle_maximizes_the_likelihood_on_a_grid(flips):
    x = np.array(flips)
    grid = np.linspace(0, 1, 1001)
    ll = pr.bernoulli_log_likelihood(x, grid)
    assert abs(grid[np.argmax(ll)] - pr.bernoulli_mle(x)) <= 1e-3
    assert np.isclose(ll[500], pr.bernoulli_log_likelihood(x, 0.5)) and np.isclose(ll[500], len(x) * np.log(0.5))
    assert np.isfinite(pr.bernoulli_log_likelihood(x, pr.bernoulli_mle(x)))  # also at theta = 0 or 1


def test_bernoulli_edge_cases():
    assert pr.bernoulli_log_likelihood([1, 1], 1.0) == 0.0
    assert pr.bernoulli_log_likelihood([1, 0], 1.0) == -np.inf
    assert np.isclose(pr.bernoulli_log_likelihood([1, 0, 0], 0.25), np.log(0.25) + 2 * np.log(0.75))


@EXAMPLES
@given(st.lists(st.integers(0, 3), min_size=1, max_size=40), st.integers(0, 10_000))
def test_categorical_mle_beats_other_distributions(labels, seed):
    y = np.array(labels)
    p_hat = pr.categorical_mle(y, 4)
    assert np.isclose(p_hat.sum(), 1.0)
    best = pr.categorical_log_likelihood(y, p_hat)
    for q in np.random.default_rng(seed).dirichlet(np.ones(4), 20):
        assert pr.categorical_log_likelihood(y, q) <= best + 1e-9
    # log L = -N * H(empirical, p): the MLE's log-likelihood is -N times the empirical entropy.
    assert np.isclose(best, -len(y) * pr.entropy(p_hat))


def test_gaussian_log_likelihood_equals_sum_of_log_densities():
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 1.5, 50)
    mu, sigma = np.meshgrid(np.linspace(0, 4, 7), np.linspace(0.5, 3, 5), indexing="ij")
    surface = pr.gaussian_log_likelihood(x, mu, sigma)
    assert surface.shape == (7, 5)
    direct = np.log(pr.gaussian_pdf(x[None, None, :], mu[..., None], sigma[..., None])).sum(axis=-1)
    assert np.allclose(surface, direct)


@EXAMPLES
@given(arrays(np.float64, st.integers(2, 60), elements=st.floats(-50, 50)))
def test_gaussian_mle_is_the_argmax_on_a_grid(x):
    assume(np.std(x) > 1e-2)
    mu_hat, sigma_hat = pr.gaussian_mle(x)
    assert np.isclose(mu_hat, np.mean(x)) and np.isclose(sigma_hat, np.std(x))  # 1/N, not 1/(N-1)
    mu = mu_hat + np.linspace(-1, 1, 201) * sigma_hat
    sigma = sigma_hat * np.linspace(0.5, 1.5, 201)
    ll = pr.gaussian_log_likelihood(x, mu[:, None], sigma[None, :])
    i, j = np.unravel_index(np.argmax(ll), ll.shape)
    assert abs(mu[i] - mu_hat) <= 0.011 * sigma_hat and abs(sigma[j] - sigma_hat) <= 0.006 * sigma_hat
    grad = numerical_gradient(lambda v: pr.gaussian_log_likelihood(x, v[0], v[1]), [mu_hat, sigma_hat], h=1e-5)
    assert np.allclose(grad * sigma_hat, 0.0, atol=1e-4 * len(x))


def test_mse_is_the_gaussian_negative_log_likelihood():
    rng = np.random.default_rng(3)
    residuals = rng.normal(0, 0.7, 40)
    mse = np.mean(residuals**2)
    for sigma in [0.3, 1.0, 2.0]:
        ll = pr.gaussian_log_likelihood(residuals, 0.0, sigma)
        assert np.isclose(ll, -20 * np.log(2 * np.pi * sigma**2) - 40 * mse / (2 * sigma**2))


# -- Bayes ------------------------------------------------------------------------------------------
def test_bayes_rule_diagnostic_test():
    # Prevalence 1%, sensitivity 99%, false-positive rate 5%: P(ill | positive) = 0.0099 / 0.0594.
    posterior = pr.bayes_posterior([0.01, 0.99], [0.99, 0.05])
    assert np.isclose(posterior[0], 0.0099 / (0.0099 + 0.0495)) and np.isclose(posterior.sum(), 1.0)


def test_beta_density_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    theta = np.linspace(0, 1, 101)
    for a, b in [(1, 1), (0.5, 0.5), (2, 5), (30, 12), (400, 300)]:
        expected = stats.beta.pdf(theta, a, b)
        got = pr.beta_pdf(theta, a, b)
        inner = slice(1, -1)  # scipy and we may disagree on inf vs value exactly at the ends
        assert np.allclose(got[inner], expected[inner], rtol=1e-9, atol=1e-12)
        if min(a, b) >= 1:  # a density that stays finite at the ends: the trapezoid rule sees all of it
            assert np.isclose(np.trapezoid(got, theta), 1.0, atol=1e-3)
    assert pr.beta_pdf(0.0, 1, 1) == 1.0 and pr.beta_pdf(0.0, 2, 2) == 0.0 and pr.beta_pdf(0.0, 0.5, 2) == np.inf


EPS = float(np.finfo(np.float64).eps)


def beta_cdf_rounding(a: float, b: float, x: float) -> float:
    """A bound on the rounding error of ``pr.beta_cdf(x, a, b)``, from how it is computed.

    The CDF is ``front * continued_fraction`` (or 1 minus that), with
    ``front = exp(lgamma(a+b) - lgamma(a) - lgamma(b) + a log x + b log1p(-x))``. Each term of the
    exponent carries a relative rounding error of about eps, so the exponent an absolute error of eps
    times the sum of their magnitudes (the terms cancel, their errors do not: for a = b = 500 the
    lgammas are about 3000 each, so about 1e-12), which ``exp`` turns into that relative error of
    ``front``, hence an absolute one of the CDF (a probability, <= 1). The continued fraction stops
    at a relative change of 1e-15. The factor 4 covers the few roundings of each step; measured
    against mpmath at 40 digits (60,000 draws of a, b in [0.2, 500], x anywhere in [0, 1] including
    within 1e-15 of either end), the error never exceeded 0.3 of this bound.
    """
    if not 0.0 < x < 1.0:
        return 1e-15
    terms = (1 + abs(math.lgamma(a + b)) + abs(math.lgamma(a)) + abs(math.lgamma(b))
             + a * abs(math.log(x)) + b * abs(math.log1p(-x)))
    return 4 * EPS * terms + 1e-15


@EXAMPLES
@given(st.floats(0.2, 500), st.floats(0.2, 500), st.floats(0.0, 1.0))
@example(a=1.0, b=0.21875, x=0.99999)  # found by a fuzz run: the quantile was 561 floats off near x = 1
def test_beta_cdf_and_quantile_against_scipy(a, b, x):
    special = pytest.importorskip("scipy.special")
    # Both evaluate the CDF at the same float x, right up to the ends: they differ by rounding only.
    assert abs(pr.beta_cdf(x, a, b) - special.betainc(a, b, x)) <= beta_cdf_rounding(a, b, x)
    q = pr.beta_cdf(x, a, b)
    if not 1e-10 < q < 1 - 1e-10:
        return
    xq = pr.beta_ppf(q, a, b)
    # beta_ppf stops within w = tol min(x, 1 - x) + ulp(x) of the quantile (tol = 1e-13, its Notes), so the
    # round trip can miss q by the CDF's rise across [xq - w, xq + w] (pdf(x) * 2w where the density is
    # smooth; near an end where it is infinite, b < 1 near 1, the exact rise, which can be 1e-9 per float),
    # plus the rounding of the two CDF evaluations. Only the solver's accuracy is tested, not float64's.
    w = 1e-13 * min(xq, 1 - xq) + math.ulp(xq)
    rise = pr.beta_cdf(min(xq + w, 1.0), a, b) - pr.beta_cdf(max(xq - w, 0.0), a, b)
    assert abs(pr.beta_cdf(xq, a, b) - q) <= rise + 2 * beta_cdf_rounding(a, b, xq)
    if 1e-6 < q < 1 - 1e-6:
        # Against scipy's inverse: the same width w, plus the CDF's rounding (ours and scipy's) turned
        # into an error in x by the slope 1 / pdf(x) (further out the quantile is too ill-conditioned
        # for the comparison to mean anything: the CDF is flat).
        bound = w + 3 * beta_cdf_rounding(a, b, xq) / float(pr.beta_pdf(xq, a, b))
        assert abs(xq - special.betaincinv(a, b, q)) <= bound


@pytest.mark.parametrize("x", [1e-300, 1e-12, 0.3, 0.5, 0.9, 1 - 1e-9, 1 - 2**-53])
def test_beta_cdf_against_closed_forms(x):
    """Three Betas with elementary CDFs, right up to the ends of the interval."""
    # Beta(1/2, 1/2): (2/pi) arcsin(sqrt(x)), written near 1 as 1 - (2/pi) arcsin(sqrt(1 - x)) (1 - x is exact).
    arcsine = 2 / np.pi * np.arcsin(np.sqrt(x)) if x <= 0.5 else 1 - 2 / np.pi * np.arcsin(np.sqrt(1 - x))
    assert np.isclose(pr.beta_cdf(x, 0.5, 0.5), arcsine, rtol=1e-12, atol=0)
    assert np.isclose(pr.beta_cdf(x, 0.3, 1.0), x**0.3, rtol=1e-12, atol=0)
    assert np.isclose(pr.beta_cdf(x, 1.0, 2.5), -np.expm1(2.5 * np.log1p(-x)), rtol=1e-12, atol=0)
    q = pr.beta_cdf(x, 0.3, 1.0)
    assert np.isclose(pr.beta_ppf(q, 0.3, 1.0), x, rtol=1e-9) or x > 1 - 1e-8


@EXAMPLES
@given(st.floats(0.5, 20), st.floats(0.5, 20), st.lists(st.integers(0, 1), max_size=60))
def test_beta_posterior_update(a, b, flips):
    h, n = sum(flips), len(flips)
    a_post, b_post = pr.beta_posterior(a, b, flips)
    assert np.isclose(a_post, a + h) and np.isclose(b_post, b + (n - h))
    # One flip at a time gives the same posterior as all at once.
    a_seq, b_seq = a, b
    for f in flips:
        a_seq, b_seq = pr.beta_posterior(a_seq, b_seq, [f])
    assert np.isclose(a_seq, a_post) and np.isclose(b_seq, b_post)
    assert np.isclose(pr.beta_mean(a_post, b_post), (a + h) / (a + b + n))


def test_posterior_mean_is_the_mean_of_the_posterior_density():
    a, b = pr.beta_posterior(2.0, 3.0, [1, 1, 0, 1, 1, 1, 0])
    theta = np.linspace(0, 1, 20001)
    density = pr.beta_pdf(theta, a, b)
    assert np.isclose(np.trapezoid(theta * density, theta), pr.beta_mean(a, b), atol=1e-8)
    # Posterior mean lies between the prior mean and the MLE (shrinkage).
    assert pr.beta_mean(2, 3) < pr.beta_mean(a, b) < 5 / 7


@pytest.mark.parametrize("a,b", [(1, 1), (0.5, 0.5), (3, 17), (120, 80)])
def test_credible_interval_holds_its_probability(a, b):
    lo, hi = pr.beta_credible_interval(a, b, 0.95)
    assert 0 <= lo < pr.beta_mean(a, b) < hi <= 1
    assert np.isclose(pr.beta_cdf(hi, a, b) - pr.beta_cdf(lo, a, b), 0.95, atol=1e-10)
    assert np.isclose(pr.beta_cdf(lo, a, b), 0.025, atol=1e-10)


# -- Markov chains ----------------------------------------------------------------------------------
@EXAMPLES
@given(st.integers(2, 7), st.integers(0, 10_000))
def test_stationary_distribution_is_invariant(n, seed):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(n), n) + 1e-3
    P /= P.sum(axis=1, keepdims=True)
    pi = pr.stationary_distribution(P)
    assert np.isclose(pi.sum(), 1.0) and np.all(pi > 0)
    assert np.allclose(pi @ P, pi, atol=1e-12)  # pi P = pi
    pi_power, steps = pr.stationary_power_iteration(P)
    assert np.allclose(pi, pi_power, atol=1e-10) and steps < 100_000


def test_markov_propagate_converges_and_keeps_mass():
    P = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.3, 0.6]])
    path = pr.markov_propagate([1.0, 0.0, 0.0], P, 200)
    assert path.shape == (201, 3) and np.allclose(path.sum(axis=1), 1.0)
    assert np.allclose(path[-1], pr.stationary_distribution(P), atol=1e-10)
    # The right eigenvector for eigenvalue 1 is the constant vector (rows sum to 1): not pi.
    assert np.allclose(P @ np.ones(3), np.ones(3)) and not np.allclose(pr.stationary_distribution(P), 1 / 3)


# -- uncertainty ------------------------------------------------------------------------------------
@EXAMPLES
@given(st.integers(1, 6), st.integers(1, 5), st.integers(0, 10_000))
def test_uncertainty_decomposition(members, batch, seed):
    probs = np.random.default_rng(seed).dirichlet(np.ones(3) * 0.5, (members, batch))
    u = pr.predictive_uncertainty(probs)
    assert u.total.shape == (batch,)
    assert np.allclose(u.total, u.aleatoric + u.epistemic)
    assert np.all(u.epistemic >= -1e-12) and np.all(u.total <= np.log(3) + 1e-12)


def test_agreeing_members_have_no_epistemic_uncertainty():
    p = np.array([[0.5, 0.5], [0.5, 0.5]])
    u = pr.predictive_uncertainty(np.stack([p, p, p]))
    assert np.allclose(u.epistemic, 0.0) and np.allclose(u.aleatoric, math.log(2))
    confident_but_disagreeing = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    u = pr.predictive_uncertainty(confident_but_disagreeing)
    assert np.allclose(u.aleatoric, 0.0) and np.allclose(u.epistemic, math.log(2))


# -- conditional probability, independence, Bayes with many observations -----------------------------
@st.composite
def joints(draw):
    """Joint tables (m, n) with exact zeros among the cells."""
    m, n = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return draw(distributions(m * n)).reshape(m, n)


@EXAMPLES
@given(joints())
def test_product_rule_and_bayes_on_a_joint_table(J):
    pa, pb = pr.marginals(J)
    assert np.isclose(pa.sum(), 1.0) and np.isclose(pb.sum(), 1.0)
    b_given_a, a_given_b = pr.conditional(J, "a"), pr.conditional(J, "b")
    rows, cols = pa > 0, pb > 0
    assert np.allclose(b_given_a[rows].sum(axis=1), 1.0) and np.all(np.isnan(b_given_a[~rows]))
    assert np.allclose(a_given_b[:, cols].sum(axis=0), 1.0) and np.all(np.isnan(a_given_b[:, ~cols]))
    # p(A, B) = p(B | A) p(A) = p(A | B) p(B), and Bayes: p(A | B) = p(B | A) p(A) / p(B).
    assert np.allclose(b_given_a[rows] * pa[rows, None], J[rows])
    assert np.allclose(a_given_b[:, cols] * pb[None, cols], J[:, cols])
    both = rows[:, None] & cols[None, :]
    bayes = b_given_a * pa[:, None] / np.where(pb > 0, pb, 1.0)[None, :]
    assert np.allclose(bayes[both], a_given_b[both])
    # The law of total probability: p(B) = sum_i p(B | A = i) p(A = i).
    assert np.allclose(np.nan_to_num(b_given_a).T @ pa, pb)


@EXAMPLES
@given(distributions(), distributions())
def test_a_product_of_marginals_is_independent(pa, pb):
    J = np.outer(pa, pb)
    J = J / J.sum()
    assert pr.independence_gap(J) < 1e-15 and pr.mutual_information(J) < 1e-12
    assert np.allclose(pr.marginals(J).a, pa) and np.allclose(pr.marginals(J).b, pb)


@EXAMPLES
@given(joints())
def test_mutual_information_is_kl_from_independence(J):
    pa, pb = pr.marginals(J)
    mi = pr.mutual_information(J)
    product = np.outer(pa, pb).ravel()
    if np.all(product[J.ravel() > 0] > 1e-250):  # where the product of the marginals does not underflow
        assert np.isclose(mi, pr.kl_divergence(J.ravel(), product), atol=1e-12)
    assert mi >= 0
    assert mi <= min(pr.entropy(pa), pr.entropy(pb)) + 1e-9  # I(A; B) <= H[A], H[B]
    if pr.independence_gap(J) > 1e-6:
        assert mi > 0


def test_dependent_but_uncorrelated():
    # X uniform on {-1, 0, 1}, Y = X^2: covariance 0, yet Y is a function of X.
    x, y = np.array([-1, 0, 1]), np.array([1, 0, 1])
    J = pr.joint_table(x + 1, y, 3, 2)
    assert np.isclose(np.mean(x * y) - x.mean() * y.mean(), 0.0)
    assert pr.independence_gap(J) > 0.1 and np.isclose(pr.mutual_information(J), pr.entropy(pr.marginals(J).b))


def test_joint_table_and_bad_input():
    J = pr.joint_table([0, 0, 1, 2], [1, 1, 0, 1])
    assert J.shape == (3, 2) and np.allclose(J, [[0, 0.5], [0.25, 0], [0, 0.25]])
    with pytest.raises(ValueError, match="sums to 1"):
        pr.marginals(np.ones((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        pr.conditional(np.ones(4) / 4)
    with pytest.raises(ValueError, match="given"):
        pr.conditional(np.ones((2, 2)) / 4, given="c")
    with pytest.raises(ValueError, match="non-negative"):
        pr.independence_gap(np.array([[1.5, -0.5]]))


@EXAMPLES
@given(st.integers(2, 6), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_bayes_many_observations_equals_one_at_a_time(k, m, seed):
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.ones(k))
    likelihood = rng.uniform(0.01, 1.0, (m, k))
    sequential = prior
    for row in likelihood:
        sequential = pr.bayes_posterior(sequential, row)
    together = pr.bayes_posterior(prior, likelihood)
    direct = prior * likelihood.prod(axis=0)
    assert np.allclose(together, sequential) and np.allclose(together, direct / direct.sum())
    assert np.allclose(pr.bayes_posterior(5 * prior, likelihood), together)  # the prior's scale cancels


def test_bayes_survives_a_product_that_underflows():
    # 2000 observations with likelihoods 0.1 and 0.2: each product is below 1e-1400, 0 in float64.
    likelihood = np.tile([0.1, 0.2, 0.15], (2000, 1))
    assert np.prod(likelihood[:, 1]) == 0.0
    posterior = pr.bayes_posterior([0.98, 0.01, 0.01], likelihood)
    assert np.all(np.isfinite(posterior)) and posterior[1] == 1.0 and posterior[2] > 0  # 0.75^2000 ~ 1e-250
    log_odds = np.log(0.01 / 0.01) + 2000 * np.log(0.15 / 0.2)  # hypothesis 3 against 2
    assert np.isclose(np.log(posterior[2] / posterior[1]), log_odds)


def test_bayes_zero_prior_and_impossible_data():
    assert np.array_equal(pr.bayes_posterior([0.0, 1.0], [0.9, 0.1]), [0.0, 1.0])  # no prior mass, no posterior
    with pytest.raises(ValueError, match="evidence"):
        pr.bayes_posterior([0.5, 0.5], [0.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        pr.bayes_posterior([0.5, 0.5], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="non-negative"):
        pr.bayes_posterior([0.5, 0.5], [-0.1, 0.2])


def test_gaussian_standard_deviation_keyword_and_its_former_name():
    x = np.linspace(-3, 3, 7)
    assert np.array_equal(pr.gaussian_pdf(x, 1.0, sd=2.0), pr.gaussian_pdf(x, 1.0, sigma=2.0))
    assert np.array_equal(pr.gaussian_log_likelihood(x, 0.5, 1.5), pr.gaussian_log_likelihood(x, 0.5, sigma=1.5))
    assert np.isclose(pr.gaussian_pdf(0.0, sd=2.0), 1 / np.sqrt(2 * np.pi * 4.0))  # N(x; mu, v), v = sd^2
