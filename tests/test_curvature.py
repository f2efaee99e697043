"""course_lib.curvature on matrices with known spectra (eigenvalues of either sign, close and equal
magnitudes), and on engine networks against PyTorch's exact Hessian (float64): the central-difference
Hessian-vector product, power and subspace iteration, Hutchinson's trace and its standard error."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import curvature as C
from course_lib.gradcheck import gradcheck, relative_error


def symmetric(eigenvalues, seed=0) -> np.ndarray:
    n = len(eigenvalues)
    Q = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))[0]
    return Q @ np.diag(eigenvalues) @ Q.T


# -- the central difference ------------------------------------------------------------------------------------
def test_central_difference_hvp_is_exact_for_a_quadratic_up_to_rounding():
    rng = np.random.default_rng(0)
    H = symmetric(rng.uniform(-3, 3, 12))
    b = rng.standard_normal(12)
    grad = lambda x: H @ x + b  # noqa: E731  (the gradient of x^T H x / 2 + b^T x)
    for _ in range(5):
        theta, v = rng.standard_normal(12), rng.standard_normal(12)
        assert relative_error(C.central_difference_hvp(grad, theta, v), H @ v) < 1e-9


def test_the_error_falls_as_h_squared_then_rises_with_round_off():
    """For a smooth non-quadratic loss: truncation O(h^2) for large h, round-off O(eps/h) for tiny h."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((20, 6))
    grad = lambda x: A.T @ np.tanh(A @ x)  # noqa: E731  (L = sum log cosh(A x))
    x, v = 0.3 * rng.standard_normal(6), rng.standard_normal(6)
    s = 1 - np.tanh(A @ x) ** 2
    exact = A.T @ (s * (A @ v))
    errors = {h: relative_error(C.central_difference_hvp(grad, x, v, h), exact) for h in [1e-2, 1e-3, 1e-9, 1e-11]}
    assert 50 < errors[1e-2] / errors[1e-3] < 200  # h^2: a tenth of h, a hundredth of the error
    assert errors[1e-11] > 10 * errors[1e-9] > 0  # round-off grows as h shrinks
    h_default = C.hvp_step(x, v)
    assert relative_error(C.central_difference_hvp(grad, x, v), exact) < 1e-9
    assert 1e-7 < h_default * np.linalg.norm(v) < 1e-4


def test_hessian_from_hvp_recovers_the_matrix():
    H = symmetric([3.0, -1.0, 0.5, 2.0], seed=3)
    assert np.allclose(C.hessian_from_hvp(lambda v: H @ v, 4), H)
    assert np.array_equal(C.hvp_step(np.ones(3), np.zeros(3)), 0.0)


# -- eigenvalues -----------------------------------------------------------------------------------------------------
@settings(max_examples=40)
@given(seed=st.integers(0, 10**6), n=st.integers(3, 30), negative_first=st.booleans())
def test_power_iteration_returns_the_largest_eigenvalue_with_its_sign(seed, n, negative_first):
    rng = np.random.default_rng(seed)
    ev = rng.uniform(-1, 1, n)
    ev[0] = 3.0 if not negative_first else -3.0  # the eigenvalue of largest magnitude
    ev[1] = 1.5 if negative_first else ev[1]  # ... is not the largest when negative
    H = symmetric(ev, seed)
    lam, v = C.power_iteration(lambda x: H @ x, n, rng=seed, tol=1e-10, iters=2000)
    assert np.isclose(lam, ev.max(), rtol=1e-6, atol=1e-8)
    assert np.isclose(np.linalg.norm(v), 1.0) and np.isclose(v @ H @ v, lam, rtol=1e-6, atol=1e-8)


def test_equal_and_opposite_top_eigenvalues_are_shifted_apart():
    """+5 and -5: plain power iteration mixes the two eigenvectors and its Rayleigh quotient stalls."""
    H = symmetric([5.0, -5.0, 1.0, 0.5, -2.0], seed=7)
    e = C.top_eigenvalues(lambda x: H @ x, 5, 1, rng=0, tol=1e-10, iters=500)
    assert np.isclose(e.values[0], 5.0, rtol=1e-8) and e.shift > 0
    # every eigenvalue negative (-11, -1, -7, -6.5, -4): the top two are the two closest to zero
    negative = C.top_eigenvalues(lambda x: -H @ x - 6 * x, 5, 2, rng=0, tol=1e-10, iters=2000)
    assert np.allclose(negative.values, [-1.0, -4.0], rtol=1e-7)


@pytest.mark.parametrize("k,oversample", [(1, 0), (3, 0), (3, 3)])
def test_subspace_iteration_finds_the_top_k(k, oversample):
    ev = np.array([4.0, 3.9, 3.0, -3.5, 1.0, 0.2, -0.7, 0.0, 2.0, 2.5])
    H = symmetric(ev, seed=11)
    e = C.top_eigenvalues(lambda x: H @ x, 10, k, rng=2, tol=1e-10, iters=3000, oversample=oversample)
    assert np.allclose(e.values, np.sort(ev)[::-1][:k], rtol=1e-7)
    assert e.vectors.shape == (10, k) and np.allclose(e.vectors.T @ e.vectors, np.eye(k), atol=1e-8)
    assert np.allclose(H @ e.vectors, e.vectors * e.values, atol=1e-6)
    # residuals within tol of the spectral radius of the matrix iterated on (H, or H + s I with s <= 4)
    assert e.converged and np.all(e.residuals <= 1e-10 * (4.0 + e.shift) * 1.0001)


def test_oversampling_needs_fewer_block_products_when_eigenvalues_crowd():
    ev = np.r_[[5.0, 4.95, 4.9], np.linspace(4.85, 0, 37)]
    H = symmetric(ev, seed=4)
    plain = C.top_eigenvalues(lambda x: H @ x, 40, 2, rng=0, tol=1e-6, iters=5000)
    over = C.top_eigenvalues(lambda x: H @ x, 40, 2, rng=0, tol=1e-6, iters=5000, oversample=6)
    assert plain.converged and over.converged and over.iterations < plain.iterations / 2


def test_a_fixed_shift_and_a_warm_start_track_a_moving_matrix_cheaply():
    H = symmetric([3.0, 1.0, 0.5, 0.1], seed=5)
    lam, v = C.power_iteration(lambda x: H @ x, 4, rng=0, tol=1e-12, iters=500)
    H2 = H + 0.01 * symmetric([1.0, -1.0, 0.5, 0.2], seed=6)
    tracked = C.top_eigenvalues(lambda x: H2 @ x, 4, 1, iters=3, v0=v, shift=0.0)
    assert tracked.iterations == 3 and tracked.shift == 0.0
    assert abs(tracked.values[0] - np.linalg.eigvalsh(H2)[-1]) < 1e-4


def test_k_out_of_range_is_refused():
    with pytest.raises(ValueError, match="between 1 and"):
        C.top_eigenvalues(lambda x: x, 3, 4)


# -- traces ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
def test_hutchinson_is_unbiased_and_its_standard_error_is_right(distribution):
    H = symmetric(np.random.default_rng(8).uniform(-1, 3, 15), seed=8) + np.diag(np.linspace(0, 2, 15))
    m = 400
    runs = [C.hutchinson_trace(lambda x: H @ x, 15, m, rng=seed, distribution=distribution) for seed in range(40)]
    estimates = np.array([r.estimate for r in runs])
    sd_theory = np.sqrt(C.hutchinson_variance(H, distribution) / m)
    # the mean of 40 estimates is within 4 standard errors of the trace
    assert abs(estimates.mean() - np.trace(H)) < 4 * sd_theory / np.sqrt(40)
    # the reported standard errors agree with the exact one, and with the spread across runs
    stderrs = np.array([r.stderr for r in runs])
    assert 0.85 < stderrs.mean() / sd_theory < 1.15
    assert 0.7 < estimates.std(ddof=1) / sd_theory < 1.3
    assert np.isclose(runs[0].estimate, runs[0].samples.mean())


def test_rademacher_probes_are_exact_for_a_diagonal_matrix():
    D = np.diag(np.arange(1.0, 9.0))
    r = C.hutchinson_trace(lambda x: D @ x, 8, 5, rng=0)
    assert np.isclose(r.estimate, 36.0) and np.isclose(r.stderr, 0.0, atol=1e-12)
    assert C.hutchinson_variance(D) == 0.0 and C.hutchinson_variance(D, "gaussian") == 2 * np.sum(np.arange(1, 9) ** 2)


def test_hutchinson_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least 2"):
        C.hutchinson_trace(lambda x: x, 3, 1)
    with pytest.raises(ValueError, match="rademacher"):
        C.hutchinson_trace(lambda x: x, 3, 5, distribution="uniform")


# -- reparameterization -------------------------------------------------------------------------------------------
def test_reparameterized_hessian_is_the_hessian_in_the_new_coordinates():
    """L'(theta') = L(theta' / D): its Hessian by the gradient checker, column by column."""
    rng = np.random.default_rng(9)
    A, b = rng.standard_normal((7, 4)), rng.standard_normal(7)
    D = rng.uniform(0.2, 5, 4)
    loss = lambda x: float(np.sum(np.log(np.cosh(A @ x - b))))  # noqa: E731
    grad = lambda x: A.T @ np.tanh(A @ x - b)  # noqa: E731
    hess = lambda x: A.T @ ((1 - np.tanh(A @ x - b) ** 2)[:, None] * A)  # noqa: E731
    x = rng.standard_normal(4)
    assert gradcheck(loss, grad, x)
    for j in range(4):  # the Hessian's columns are gradients of the gradient's entries
        assert gradcheck(lambda z: grad(z)[j], lambda z: hess(z)[j], x)
    H_new = C.reparameterized_hessian(hess(x), D)
    new_loss = lambda y: loss(y / D)  # noqa: E731
    new_grad = lambda y: grad(y / D) / D  # noqa: E731
    assert gradcheck(new_loss, new_grad, D * x)
    for j in range(4):
        assert gradcheck(lambda y: new_grad(y)[j], H_new[j], D * x)
    with pytest.raises(ValueError, match="scale of 0"):
        C.reparameterized_hessian(np.eye(2), [1.0, 0.0])
