"""course_lib.gradcheck: the one gradient checker must pass exact gradients and catch wrong ones."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_lib.gradcheck import (
    DEFAULT_H,
    DEFAULT_RTOL,
    gradcheck,
    numerical_gradient,
    numerical_jacobian,
    relative_error,
)


def _softmax(x):
    z = np.exp(x - x.max())
    return z / z.sum()


def _quadratic_form(x):
    """0.5 x^T A x + b^T x with a fixed SPD ``A`` of the size of ``x`` (flattened)."""
    n = x.size
    rng = np.random.default_rng(n)
    M = rng.standard_normal((n, n))
    return M @ M.T / n + np.eye(n), rng.standard_normal(n)


# Smooth functions and their exact gradients. Each gradient stays comparable to the
# function's size, so round-off (about eps |f| / h) is far below the tolerance.
SMOOTH = {
    "cubic": (lambda x: np.sum(x ** 3 + x), lambda x: 3 * x ** 2 + 1),
    "exp": (lambda x: np.sum(np.exp(0.5 * x)), lambda x: 0.5 * np.exp(0.5 * x)),
    "logsumexp": (lambda x: np.log(np.sum(np.exp(x))), lambda x: _softmax(x.reshape(-1)).reshape(x.shape)),
    "sin-cos": (lambda x: np.sum(np.sin(x) + 2 * x), lambda x: np.cos(x) + 2),
    "quadratic-form": (
        lambda x: 0.5 * x.ravel() @ _quadratic_form(x)[0] @ x.ravel() + _quadratic_form(x)[1] @ x.ravel(),
        lambda x: (_quadratic_form(x)[0] @ x.ravel() + _quadratic_form(x)[1]).reshape(x.shape),
    ),
}

points = arrays(np.float64, array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4),
                elements=st.floats(-2, 2, allow_nan=False, allow_subnormal=False))


@settings(max_examples=40, deadline=None)
@given(x=points, name=st.sampled_from(sorted(SMOOTH)))
def test_exact_gradients_pass_at_the_default_tolerance(x, name):
    f, grad = SMOOTH[name]
    result = gradcheck(f, grad, x)
    assert result.rtol == DEFAULT_RTOL == 1e-7
    assert result.ok, str(result)
    assert result.relative_error <= 1e-7
    assert result.analytic.shape == result.numeric.shape == x.shape


@settings(max_examples=30, deadline=None)
@given(x=points, name=st.sampled_from(sorted(SMOOTH)), factor=st.sampled_from([2.0, 0.5, -1.0, 1.001]))
def test_a_gradient_off_by_a_factor_fails(x, name, factor):
    f, grad = SMOOTH[name]
    result = gradcheck(f, lambda z: factor * grad(z), x)
    assert not result.ok
    # ||c g - g|| / max(||c g||, ||g||) = |c - 1| / max(|c|, 1) whenever g != 0.
    assert result.relative_error == pytest.approx(abs(factor - 1) / max(abs(factor), 1), rel=1e-4)


@settings(max_examples=30, deadline=None)
@given(x=points, name=st.sampled_from(sorted(SMOOTH)), data=st.data())
def test_one_wrong_component_fails_and_is_located(x, name, data):
    f, grad = SMOOTH[name]
    index = data.draw(st.tuples(*[st.integers(0, s - 1) for s in x.shape]))

    def wrong(z):
        g = np.array(grad(z), dtype=np.float64)
        g[index] += 1e-3 * (1 + abs(g[index]))
        return g

    result = gradcheck(f, wrong, x)
    assert not result.ok
    assert result.worst_index == index
    assert "FAILED" in str(result)


def test_a_small_relative_slip_is_caught():
    x = np.linspace(-1, 1, 7)
    f, grad = SMOOTH["cubic"]
    assert gradcheck(f, grad, x)
    assert not gradcheck(f, lambda z: grad(z) * (1 + 1e-5), x)


def test_the_gradient_may_be_given_as_an_array():
    x = np.array([0.3, -1.2])
    assert gradcheck(lambda z: np.sum(z ** 2), 2 * x, x)
    assert not gradcheck(lambda z: np.sum(z ** 2), x, x)


def test_a_scalar_point_works():
    result = gradcheck(np.sin, np.cos, 0.7)
    assert result.ok and result.analytic.shape == () and result.worst_index == ()
    assert "passed" in str(result)


def test_a_gradient_of_the_wrong_shape_raises():
    with pytest.raises(ValueError, match="shape"):
        gradcheck(lambda z: np.sum(z ** 2), lambda z: 2 * z.ravel(), np.ones((2, 3)))


def test_results_are_truthy_only_when_ok():
    f, grad = SMOOTH["exp"]
    assert bool(gradcheck(f, grad, np.zeros(3))) is True
    assert bool(gradcheck(f, lambda z: 2 * grad(z), np.zeros(3))) is False


# -- the choice of the default step (the figures in the module docstring) -------------------
EPS = np.finfo(np.float64).eps
H_STAR = (3 * EPS) ** (1 / 3)  # argmin of h^2 |f'''| / 6 + eps |f| / h for a function of order one

# Functions of order one on [-2, 2], each with its first and third derivative.
ORDER_ONE = {
    "sin": (np.sin, np.cos, lambda x: -np.cos(x)),
    "exp": (np.exp, np.exp, np.exp),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2,
             lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2)),
    "cubic": (lambda x: x ** 3 + x, lambda x: 3 * x ** 2 + 1, lambda x: 6 + 0 * x),
}


def _central_relative_errors(f, df, x, h):
    return np.abs((f(x + h) - f(x - h)) / (2 * h) - df(x)) / np.abs(df(x))


def test_the_optimal_central_step_is_near_9e_minus_6_and_above_the_default():
    assert 8.7e-6 < H_STAR < 8.8e-6
    assert DEFAULT_H < H_STAR


@pytest.mark.parametrize("name", sorted(ORDER_ONE))
def test_the_default_step_is_round_off_dominated_and_far_below_the_tolerance(name):
    f, df, d3 = ORDER_ONE[name]
    x = np.random.default_rng(0).uniform(-2, 2, 2000)
    at_default = _central_relative_errors(f, df, x, DEFAULT_H)
    truncation = np.abs(d3(x)) * DEFAULT_H ** 2 / 6 / np.abs(df(x))
    # The measured error is round-off: far above what truncation alone would give ...
    assert np.median(at_default) > 50 * np.median(truncation)
    # ... and it falls when h grows towards h*: DEFAULT_H is on the round-off side of the V.
    assert np.median(_central_relative_errors(f, df, x, H_STAR)) < 0.8 * np.median(at_default)
    # The docstring's figure: a median near 4e-11, hundreds of times below the tolerance.
    assert 1e-11 < np.median(at_default) < 1e-10 < DEFAULT_RTOL / 100


def test_the_default_step_tolerates_curvature_that_the_optimal_step_does_not():
    # sin(k x) has |f'''| / |f'| = k^2. Its central difference is k cos(k x) times
    # sin(k h) / (k h) = 1 - (k h)^2 / 6 + ..., a relative error of (k h)^2 / 6:
    # 1.7e-9 at DEFAULT_H, 1.3e-7 (above rtol) at H_STAR.
    k = 100.0
    x = np.linspace(-1, 1, 9) + 0.013
    assert gradcheck(lambda z: np.sum(np.sin(k * z)), lambda z: k * np.cos(k * z), x)
    at_optimum = gradcheck(lambda z: np.sum(np.sin(k * z)), lambda z: k * np.cos(k * z), x, h=H_STAR)
    assert not at_optimum
    assert at_optimum.relative_error == pytest.approx((k * H_STAR) ** 2 / 6, rel=1e-2)
    # The default step has its limit too: (k h)^2 / 6 reaches rtol near k = 775.
    k = 2000.0
    assert not gradcheck(lambda z: np.sum(np.sin(k * z)), lambda z: k * np.cos(k * z), x)


# -- inputs are never modified --------------------------------------------------------------
def test_x_is_not_modified():
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    before = x.copy()
    numerical_gradient(lambda z: np.sum(z ** 2), x)
    numerical_jacobian(lambda z: z ** 2, x.ravel())
    gradcheck(lambda z: np.sum(z ** 2), lambda z: 2 * z, x)
    np.testing.assert_array_equal(x, before)


def test_an_analytic_gradient_that_writes_into_its_argument_cannot_corrupt_the_check():
    def grad_in_place(z):
        z *= 2  # reuses its argument's memory, as hand-written code sometimes does
        return z

    assert gradcheck(lambda z: np.sum(z ** 2), grad_in_place, np.array([1.0, -3.0]))


def test_numerical_gradient_is_float64_and_keeps_the_shape():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    g = numerical_gradient(lambda z: float(np.sum(z ** 2)), x)
    assert g.dtype == np.float64 and g.shape == (2, 3)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-8)


def test_numerical_gradient_of_a_quadratic_is_exact_up_to_round_off():
    # Central differences have no truncation error for quadratics.
    x = np.array([0.1, -0.7, 1.3])
    np.testing.assert_allclose(numerical_gradient(lambda z: z @ z, x), 2 * x, rtol=0, atol=1e-9)


# -- Jacobians -------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 10 ** 6))
def test_numerical_jacobian_of_a_linear_map_is_its_matrix(m, n, seed):
    rng = np.random.default_rng(seed)
    W, b, x = rng.standard_normal((m, n)), rng.standard_normal(m), rng.standard_normal(n)
    J = numerical_jacobian(lambda z: W @ z + b, x)
    assert J.shape == (m, n)
    np.testing.assert_allclose(J, W, rtol=1e-7, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.integers(1, 6), elements=st.floats(-2, 2, allow_subnormal=False)))
def test_numerical_jacobian_matches_analytic_jacobians(x):
    # Element-wise tanh: a diagonal Jacobian.
    np.testing.assert_allclose(numerical_jacobian(np.tanh, x), np.diag(1 - np.tanh(x) ** 2), rtol=1e-7, atol=1e-9)
    # softmax: diag(p) - p p^T.
    p = _softmax(x)
    np.testing.assert_allclose(numerical_jacobian(_softmax, x), np.diag(p) - np.outer(p, p), rtol=1e-6, atol=1e-9)


def test_numerical_jacobian_of_a_nonlinear_map():
    f = lambda z: np.array([z[0] * z[1], np.sin(z[1]), np.exp(z[0])])  # noqa: E731
    x = np.array([0.4, -1.1])
    expected = np.array([[x[1], x[0]], [0.0, np.cos(x[1])], [np.exp(x[0]), 0.0]])
    np.testing.assert_allclose(numerical_jacobian(f, x), expected, rtol=1e-7, atol=1e-9)


def test_the_jacobian_of_a_scalar_function_is_its_gradient_as_a_row():
    f = lambda z: np.sum(np.sin(z) * z)  # noqa: E731
    x = np.array([0.2, 1.5, -0.8])
    J = numerical_jacobian(f, x)
    assert J.shape == (1, 3)
    np.testing.assert_allclose(J[0], numerical_gradient(f, x), rtol=1e-12)


# -- relative_error ---------------------------------------------------------------------------
def test_relative_error_of_zeros_is_zero():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(0.0, 0.0) == 0.0


def test_relative_error_against_zero_is_one():
    assert relative_error(np.zeros(2), np.array([3.0, 4.0])) == 1.0
    assert relative_error(np.array([3.0, 4.0]), np.zeros(2)) == 1.0


def test_relative_error_below_tiny_is_measured_against_tiny():
    # Both norms below `tiny`: the difference is divided by tiny, not by a vanishing norm.
    assert relative_error([0.0, 0.0], [0.0, 1e-13]) == pytest.approx(0.1)
    assert relative_error([0.0], [1e-13], tiny=1e-20) == 1.0


def test_relative_error_value_and_types():
    assert relative_error([3.0, 4.0], [3.0, 4.5]) == pytest.approx(0.5 / np.hypot(3.0, 4.5))
    assert relative_error(2, 2) == 0.0
    assert isinstance(relative_error([1.0], [1.0]), float)


def test_relative_error_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.ones(3), np.ones((3, 1)))
    with pytest.raises(ValueError):
        relative_error(np.ones((2, 3)), np.ones((3, 2)))


def test_relative_error_with_nan_never_counts_as_agreement():
    err = relative_error([1.0, np.nan], [1.0, 2.0])
    assert not err <= DEFAULT_RTOL
    assert not gradcheck(lambda z: np.sum(z ** 2), lambda z: z * np.nan, np.ones(2))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=st.floats(-1e3, 1e3, allow_subnormal=False)),
    arrays(np.float64, n, elements=st.floats(-1e3, 1e3, allow_subnormal=False)),
    st.floats(1e-3, 1e3))))
def test_relative_error_is_symmetric_bounded_and_scale_free(abc):
    a, b, c = abc
    err = relative_error(a, b)
    assert err == relative_error(b, a)
    assert 0.0 <= err <= 2.0  # triangle inequality: ||a - b|| <= ||a|| + ||b|| <= 2 max
    if max(np.linalg.norm(a), np.linalg.norm(b)) > 1e-6:
        assert relative_error(c * a, c * b) == pytest.approx(err, rel=1e-9, abs=1e-12)
