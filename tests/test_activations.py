"""course_lib.activations: derivatives by the shared gradient checker, PyTorch as an oracle,
identities, and numerics that never break (1e4 magnitudes, no floating-point warnings)."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import activations as act
from course_lib.gradcheck import gradcheck

# Every activation with its derivative, PyTorch's version, and its kinks (gradcheck stays away).
CASES = {
    "sigmoid": (act.sigmoid, act.sigmoid_grad, torch.sigmoid, []),
    "log_sigmoid": (act.log_sigmoid, act.log_sigmoid_grad, torch.nn.functional.logsigmoid, []),
    "softplus": (act.softplus, act.softplus_grad, torch.nn.functional.softplus, []),
    "tanh": (act.tanh, act.tanh_grad, torch.tanh, []),
    "relu": (act.relu, act.relu_grad, torch.relu, [0.0]),
    "leaky_relu": (lambda x: act.leaky_relu(x, 0.2), lambda x: act.leaky_relu_grad(x, 0.2),
                   lambda x: torch.nn.functional.leaky_relu(x, 0.2), [0.0]),
    "gelu": (act.gelu, act.gelu_grad, torch.nn.functional.gelu, []),
    "gelu_tanh": (act.gelu_tanh, act.gelu_tanh_grad,
                  lambda x: torch.nn.functional.gelu(x, approximate="tanh"), []),
    "silu": (act.silu, act.silu_grad, torch.nn.functional.silu, []),
}
NAMES = sorted(CASES)

moderate = hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=6),
                      elements=st.floats(-8, 8, allow_nan=False))
huge = st.floats(-1e4, 1e4, allow_nan=False)
huge_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=6), elements=huge)


def away_from_kinks(x, kinks, gap=1e-3):
    x = np.array(x, dtype=np.float64)
    for k in kinks:
        x = np.where(np.abs(x - k) < gap, k + gap * np.where(x >= k, 2.0, -2.0), x)
    return x


@pytest.fixture
def strict_floats():
    """Every floating-point event raises and every warning is an error."""
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- derivatives ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(x=moderate)
def test_derivative_passes_gradcheck(name, x):
    f, df, _, kinks = CASES[name]
    x = away_from_kinks(x, kinks)
    # f is element-wise, so the gradient of sum(f(x)) is f'(x) entry by entry. The added sum(x)
    # shifts every derivative by 1: where f' is tiny (saturated tails) or crosses 0 (GELU and SiLU
    # at their minima) the relative error would otherwise compare the finite difference's round-off
    # (~1e-10) with f' itself; shifted, it is measured against a quantity of order one.
    result = gradcheck(lambda v: np.sum(f(v) + v), lambda v: df(v) + 1.0, x)
    assert result, (name, str(result))


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_catches_a_wrong_derivative(name):
    f, df, _, kinks = CASES[name]
    x = away_from_kinks(np.linspace(-3, 3, 13), kinks)
    assert not gradcheck(lambda v: np.sum(f(v)), lambda v: 1.01 * df(v) + 0.01, x)


@pytest.mark.parametrize("name", NAMES)
def test_matches_torch_values_and_gradients(name):
    f, df, torch_f, kinks = CASES[name]
    x = away_from_kinks(np.concatenate([np.linspace(-12, 12, 97), [-700.0, -40.0, 40.0, 700.0]]), kinks)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    yt = torch_f(xt)
    yt.sum().backward()
    assert np.allclose(f(x), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert np.allclose(df(x), xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_relu_family_at_the_kink_follows_pytorch():
    assert act.relu_grad(0.0) == 0.0 and act.leaky_relu_grad(0.0, 0.1) == 0.1
    assert act.relu_grad(np.array([-1e-300, 1e-300])).tolist() == [0.0, 1.0]


# -- identities ------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(x=huge_arrays)
def test_identities(x):
    assert np.allclose(act.sigmoid(-x), 1.0 - act.sigmoid(x), atol=1e-15)
    assert np.allclose(act.tanh(x), 2.0 * act.sigmoid(2.0 * x) - 1.0, atol=1e-14)
    assert np.allclose(act.softplus(x) - act.softplus(-x), x, rtol=1e-12, atol=1e-12)
    assert np.allclose(act.log_sigmoid(x), -act.softplus(-x))
    assert np.allclose(act.sigmoid_grad(x), act.sigmoid(x) * (1.0 - act.sigmoid(x)), atol=1e-15)
    assert np.allclose(act.leaky_relu(x, 0.2), np.maximum(x, 0.2 * x))


@settings(max_examples=30, deadline=None)
@given(x=moderate)
def test_softplus_derivative_is_sigmoid(x):
    assert gradcheck(lambda v: np.sum(act.softplus(v)), act.sigmoid, x)


def test_gelu_tanh_approximation_is_close_to_exact():
    x = np.linspace(-6, 6, 1201)
    assert np.max(np.abs(act.gelu(x) - act.gelu_tanh(x))) < 1e-3


# -- numerics that never break -------------------------------------------------------------------
ALL_FUNCTIONS = [fn for name in NAMES for fn in CASES[name][:2]]


@settings(max_examples=40, deadline=None)
@given(x=huge_arrays)
def test_no_overflow_nan_or_warning_at_magnitude_1e4(x):
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in ALL_FUNCTIONS:
            y = fn(x)
            assert np.shape(y) == np.shape(x) and np.all(np.isfinite(y)), fn


def test_any_finite_input_is_safe(strict_floats):
    x = np.array([-1.7e308, -1e300, -1e150, 1e150, 1e300, 1.7e308])
    for fn in ALL_FUNCTIONS:
        assert np.all(np.isfinite(fn(x))), fn
    assert act.gelu(x[-1]) == act.gelu_tanh(x[-1]) == act.silu(x[-1]) == x[-1]


def test_extremes_are_exact(strict_floats):
    x = np.array([-1e4, -1e3, -745.2, 0.0, 745.2, 1e3, 1e4])
    assert act.sigmoid(x).tolist() == [0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0]
    assert np.array_equal(act.log_sigmoid(np.array([-1e4, -1e3])), [-1e4, -1e3])  # not -inf
    assert np.array_equal(act.softplus(np.array([1e4, -1e4])), [1e4, 0.0])
    assert np.all(act.sigmoid_grad(np.array([-1e4, 1e4])) == 0.0)
    assert act.tanh_grad(np.array([800.0])).item() == 0.0  # sech^2 would overflow in cosh


def test_naive_sigmoid_does_warn():
    """The test above can fail: the textbook formula overflows where ours does not."""
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        1.0 / (1.0 + np.exp(-np.array([-1e3])))


@pytest.mark.parametrize("x", [0.7, np.float64(-2.0), np.array(3.0), np.array([[1.0, -1.0]])])
def test_scalars_and_shapes(x):
    for fn in ALL_FUNCTIONS:
        assert np.shape(fn(x)) == np.shape(x)


def test_registry_is_consistent():
    for name, (f, df, latex) in act.ACTIVATIONS.items():
        x = np.linspace(-4, 4, 41) + 0.013  # avoid the ReLU kink at 0
        assert gradcheck(lambda v: np.sum(f(v)), df, x), name
        assert latex.startswith("\\") and "(x)" in latex


# -- saturation --------------------------------------------------------------------------------
def test_sigmoid_saturation_region_is_symmetric_and_correct():
    (a, b), (c, d) = act.saturated_intervals(act.sigmoid_grad, -8, 8, threshold=0.05)
    # sigma'(x) = 0.05 <=> sigma(x) = (1 + sqrt(0.8)) / 2 <=> x = logit of that.
    p = (1 + np.sqrt(1 - 4 * 0.05)) / 2
    edge = np.log(p / (1 - p))
    assert a == -8 and d == 8 and abs(b + edge) < 0.01 and abs(c - edge) < 0.01


def test_relu_saturates_only_on_the_negative_side():
    [(lo, hi)] = act.saturated_intervals(act.relu_grad, -2, 2)
    assert lo == -2 and abs(hi) < 2e-3
    assert act.saturated_intervals(lambda x: act.leaky_relu_grad(x, 0.1), -2, 2) == []
    x = np.random.default_rng(0).standard_normal(100_000)
    assert abs(act.saturated_fraction(act.relu_grad, x) - 0.5) < 0.01


def test_saturated_fraction_grows_with_the_spread_of_the_inputs():
    z = np.random.default_rng(1).standard_normal(20_000)
    fractions = [act.saturated_fraction(act.tanh_grad, s * z) for s in (0.5, 1, 2, 4, 8)]
    assert fractions == sorted(fractions) and fractions[0] < 0.01 and fractions[-1] > 0.7
    assert act.saturated_fraction(act.tanh_grad, np.array([])) == 0.0
