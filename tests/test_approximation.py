"""course_lib.approximation: linear layers collapse; one hidden layer approximates continuous
functions, with the error shrinking as the number of units grows."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import approximation as ap
from course_lib.activations import tanh
from course_lib.linalg import relu

SMOOTH = ["sine", "bump", "wiggle"]
UNITS = [4, 8, 16, 32, 64]


def random_layers(rng, sizes):
    return [(rng.standard_normal((m, n)), rng.standard_normal(m)) for n, m in zip(sizes[:-1], sizes[1:])]


# -- linear layers collapse -------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=6), seed=st.integers(0, 2**32 - 1),
       batch=st.integers(1, 5))
def test_a_stack_of_linear_layers_is_one_linear_layer(sizes, seed, batch):
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, sizes)
    W, b = ap.collapse_linear_layers(layers)
    assert W.shape == (sizes[-1], sizes[0]) and b.shape == (sizes[-1],)
    X = rng.standard_normal((batch, sizes[0]))
    assert np.allclose(ap.apply_layers(X, layers), X @ W.T + b)
    assert np.allclose(ap.apply_layers(X[0], layers), W @ X[0] + b)


def test_two_layers_collapse_to_W2_W1_and_W2_b1_plus_b2():
    rng = np.random.default_rng(0)
    (W1, b1), (W2, b2) = layers = random_layers(rng, [3, 4, 2])
    W, b = ap.collapse_linear_layers(layers)
    assert np.allclose(W, W2 @ W1) and np.allclose(b, W2 @ b1 + b2)


def test_with_a_nonlinearity_the_stack_is_not_linear():
    rng = np.random.default_rng(1)
    layers = random_layers(rng, [2, 16, 1])
    x, y = rng.standard_normal((2, 2))
    for f in (relu, tanh):
        additive = ap.apply_layers(x + y, layers, f) - ap.apply_layers(0 * x, layers, f)
        split = ap.apply_layers(x, layers, f) + ap.apply_layers(y, layers, f) - 2 * ap.apply_layers(0 * x, layers, f)
        assert not np.allclose(additive, split)
    # ...while without one, f(x + y) - f(0) = (f(x) - f(0)) + (f(y) - f(0)) always holds (affine map).
    lin = lambda v: ap.apply_layers(v, layers)  # noqa: E731
    assert np.allclose(lin(x + y) - lin(0 * x), lin(x) + lin(y) - 2 * lin(0 * x))


# -- the ReLU construction -----------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_relu_construction_interpolates_every_knot_exactly(n, seed):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(n + 1)
    xs = ap.knots(-2.0, 3.0, n)
    table = lambda x: np.interp(x, xs, values)  # noqa: E731  (any function through those points)
    net = ap.relu_interpolant(table, -2.0, 3.0, n)
    assert net.n_units == n
    assert np.allclose(net(xs), values, atol=1e-12)
    # ...and between the knots it IS the linear interpolation (the piecewise-linear function).
    x = np.linspace(-2, 3, 517)
    assert np.allclose(net(x), table(x), atol=1e-12)


def test_relu_knot_weights_are_changes_of_slope():
    xs, ys = np.array([0.0, 1.0, 2.0, 4.0]), np.array([0.0, 1.0, 3.0, 3.0])
    assert np.allclose(ap.relu_knot_weights(xs, ys), [1.0, 1.0, -2.0])


def test_contributions_sum_to_the_output():
    net = ap.relu_interpolant(ap.TARGETS["wiggle"], -1, 1, 12)
    x = np.linspace(-1, 1, 50)
    C = net.contributions(x)
    assert C.shape == (50, 12) and np.allclose(C.sum(axis=1) + net.b2, net(x))


def test_abs_needs_two_relus():
    net = ap.relu_interpolant(np.abs, -1, 1, 2)
    assert ap.approximation_error(net, np.abs, -1, 1).max < 1e-12


# -- error decreases with N ------------------------------------------------------------------------
@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("method", sorted(ap.METHODS))
def test_error_decreases_with_the_number_of_units(name, method):
    errors = ap.error_vs_units(ap.TARGETS[name], *ap.DOMAIN, UNITS, ap.METHODS[method])
    assert errors.shape == (len(UNITS), 2)
    assert np.all(errors[:, 1] <= errors[:, 0] + 1e-15)  # RMS never exceeds the max
    assert errors[-1, 0] < 0.25 * errors[0, 0] and errors[-1, 0] < 0.05
    if not method.startswith("ReLU: least squares"):  # random units: down on the whole, not each step
        assert np.all(np.diff(errors[-3:, 0]) < 0)


@pytest.mark.parametrize("name", SMOOTH)
def test_convergence_rates_relu_quadratic_sigmoid_linear(name):
    units = [16, 32, 64, 128]
    f = ap.TARGETS[name]
    relu_rate = ap.convergence_rate(units, ap.error_vs_units(f, -1, 1, units)[:, 0])
    step_rate = ap.convergence_rate(units, ap.error_vs_units(f, -1, 1, units, ap.sigmoid_staircase)[:, 0])
    assert 1.8 < relu_rate < 2.2 and 0.8 < step_rate < 1.2


def test_relu_error_bound_h_squared_f2_over_8():
    for n in UNITS:
        h = 2.0 / n
        bound = h**2 * np.pi**2 / 8  # max |(sin pi x)''| = pi^2
        assert ap.approximation_error(ap.relu_interpolant(ap.TARGETS["sine"], -1, 1, n),
                                      ap.TARGETS["sine"], -1, 1).max <= bound


def test_a_discontinuous_target_is_not_uniformly_approximated():
    """Outside the theorem's hypothesis: the max error stays large while the RMS error shrinks."""
    step = ap.TARGETS["step (discontinuous)"]
    errors = ap.error_vs_units(step, -1, 1, [8, 64, 256])
    assert np.all(errors[:, 0] > 0.3) and errors[-1, 1] < 0.5 * errors[0, 1]


def test_least_squares_beats_or_matches_the_construction_in_rms():
    f = ap.TARGETS["bump"]
    for n in (5, 12, 30):
        fit = ap.approximation_error(ap.fit_least_squares(f, -1, 1, n), f, -1, 1)
        construction = ap.approximation_error(ap.relu_interpolant(f, -1, 1, n), f, -1, 1)
        assert fit.rms <= construction.rms * 1.01
        sig = ap.fit_least_squares(f, -1, 1, n, "sigmoid", seed=3)
        assert sig.activation == "sigmoid" and np.all(np.isfinite(sig(np.linspace(-1, 1, 9))))


def test_convergence_rate_recovers_a_known_power():
    n = np.array([4, 8, 16, 32])
    assert abs(ap.convergence_rate(n, 3.0 * n**-1.5) - 1.5) < 1e-12
