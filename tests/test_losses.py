"""course_lib.losses: gradients by the shared gradient checker (float64, rtol 1e-7), PyTorch as an
oracle for values and gradients, and stability (logits of 1e4, shift invariance, exact 0 and 1,
one-element and batched inputs) with no NaN and no floating-point warning."""
import contextlib
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import losses as L
from course_lib.gradcheck import DEFAULT_H, gradcheck
from course_lib.probability import logsumexp

RTOL = 1e-7
moderate = st.floats(-5, 5, allow_nan=False)
huge = st.floats(-1e4, 1e4, allow_nan=False)
shapes = hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6)


@st.composite
def logits_and_labels(draw, elements=moderate):
    n, k = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    z = draw(hnp.arrays(np.float64, (n, k), elements=elements))
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))
    return z, y


@st.composite
def logits_and_targets(draw, elements=moderate, soft=False):
    shape = draw(shapes)
    z = draw(hnp.arrays(np.float64, shape, elements=elements))
    y = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1) if soft else st.sampled_from([0.0, 1.0])))
    return z, y


@contextlib.contextmanager
def strict():
    """Every floating-point event raises and every warning is an error."""
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def apart(prediction, target):
    """Move targets away from the prediction (towards 0.5 in [0, 1]).

    Where prediction == target the gradient is exactly 0 and the finite difference is pure
    round-off (1e-16): a relative error of 1. Keeping them apart makes the test measure the
    gradient, not the checker's floor."""
    close = np.abs(prediction - target) < 0.05
    return np.where(close, np.where(target > 0.5, target - 0.25, target + 0.25), target)


def t64(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


# -- gradients by the gradient checker -----------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes)
def test_mse_gradient(data, shape):
    pred = data.draw(hnp.arrays(np.float64, shape, elements=moderate))
    target = data.draw(hnp.arrays(np.float64, shape, elements=moderate))
    target = apart(pred, target)
    assert gradcheck(lambda p: L.mse(p, target), lambda p: L.mse_grad(p, target), pred, rtol=RTOL)


@settings(max_examples=40, deadline=None)
@given(zy=logits_and_labels())
@example(zy=(np.array([[-1.75, 5.0]]), np.array([1])))  # a fuzz find: loss 1.2e-3 = 5.0012 - 5, gradient 1.2e-3
def test_softmax_cross_entropy_gradient(zy):
    z, y = zy
    # The loss mean_n(LSE(z_n) - z_{n, y_n}) is a difference of terms of size M, rounded at eps M, not at
    # eps |loss|: for a confident, correct row the loss and its gradient are far smaller than M. Central
    # differences turn that into an error of about eps M / h per component, sqrt(n k) eps M / h in norm,
    # which, relative to a small gradient, can exceed RTOL (measured: the relative error stays below 0.21
    # of this bound over 5,000 draws, half of them with every row confidently correct).
    M = np.mean(np.abs(logsumexp(z, axis=1)) + np.abs(z[np.arange(len(y)), y]))
    grad = L.softmax_cross_entropy_grad(z, y)
    noise = np.sqrt(z.size) * np.finfo(np.float64).eps * M / DEFAULT_H / max(np.linalg.norm(grad), 1e-300)
    assert gradcheck(lambda v: L.softmax_cross_entropy(v, y), lambda v: L.softmax_cross_entropy_grad(v, y), z,
                     rtol=max(RTOL, noise))


@settings(max_examples=40, deadline=None)
@given(zy=logits_and_targets(soft=True))
def test_binary_cross_entropy_with_logits_gradient(zy):
    z, y = zy
    y = apart(L.sigmoid(z), y)
    assert gradcheck(lambda v: L.binary_cross_entropy_with_logits(v, y),
                     lambda v: L.binary_cross_entropy_with_logits_grad(v, y), z, rtol=RTOL)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes)
def test_binary_cross_entropy_gradient_inside_0_1(data, shape):
    p = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(0.02, 0.98)))
    y = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
    y = apart(p, y)
    assert gradcheck(lambda v: L.binary_cross_entropy(v, y), lambda v: L.binary_cross_entropy_grad(v, y), p,
                     rtol=RTOL)


def test_gradcheck_catches_a_missing_one_over_n():
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])
    wrong = lambda v: L.softmax_cross_entropy_grad(v, y) * len(y)  # noqa: E731
    assert not gradcheck(lambda v: L.softmax_cross_entropy(v, y), wrong, z)


# -- PyTorch as the oracle ------------------------------------------------------------------------
def torch_value_and_grad(fn, x, *rest):
    xt = t64(x, grad=True)
    out = fn(xt, *rest)
    out.backward()
    return out.item(), xt.grad.numpy()


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes)
def test_mse_matches_torch(data, shape):
    pred = data.draw(hnp.arrays(np.float64, shape, elements=moderate))
    target = data.draw(hnp.arrays(np.float64, shape, elements=moderate))
    value, grad = torch_value_and_grad(F.mse_loss, pred, t64(target))
    assert np.isclose(L.mse(pred, target), value, rtol=1e-12, atol=1e-14)
    assert np.allclose(L.mse_grad(pred, target), grad, rtol=1e-12, atol=1e-14)


@settings(max_examples=60, deadline=None)
@given(zy=logits_and_labels(elements=huge))
def test_softmax_cross_entropy_matches_torch_even_at_1e4(zy):
    z, y = zy
    value, grad = torch_value_and_grad(F.cross_entropy, z, torch.tensor(y))
    assert np.isclose(L.softmax_cross_entropy(z, y), value, rtol=1e-12, atol=1e-12)
    assert np.allclose(L.softmax_cross_entropy_grad(z, y), grad, rtol=1e-10, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(zy=logits_and_targets(elements=huge, soft=True))
def test_binary_cross_entropy_with_logits_matches_torch_even_at_1e4(zy):
    z, y = zy
    value, grad = torch_value_and_grad(F.binary_cross_entropy_with_logits, z, t64(y))
    assert np.isclose(L.binary_cross_entropy_with_logits(z, y), value, rtol=1e-12, atol=1e-12)
    assert np.allclose(L.binary_cross_entropy_with_logits_grad(z, y), grad, rtol=1e-10, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), shape=shapes)
def test_binary_cross_entropy_matches_torch_including_exact_0_and_1(data, shape):
    edge = st.sampled_from([0.0, 1.0, 1e-300, 1 - 1e-16])
    p = data.draw(hnp.arrays(np.float64, shape, elements=st.one_of(edge, st.floats(0, 1))))
    y = data.draw(hnp.arrays(np.float64, shape, elements=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1))))
    expected = F.binary_cross_entropy(t64(p), t64(y)).item()  # PyTorch clamps each log at -100
    assert np.isclose(L.binary_cross_entropy(p, y), expected, rtol=1e-12, atol=1e-12)


def test_softmax_cross_entropy_grad_of_one_example_matches_torch():
    z = np.array([2.0, -1.0, 0.5])
    value, grad = torch_value_and_grad(F.cross_entropy, z, torch.tensor(2))
    assert np.isclose(L.softmax_cross_entropy(z, 2), value)
    assert L.softmax_cross_entropy_grad(z, 2).shape == (3,)
    assert np.allclose(L.softmax_cross_entropy_grad(z, 2), grad)


# -- stability ---------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(zy=logits_and_labels(elements=huge), shift=huge)
def test_softmax_cross_entropy_is_shift_invariant_and_quiet(zy, shift):
    z, y = zy
    with strict():
        base, moved = L.softmax_cross_entropy(z, y), L.softmax_cross_entropy(z + shift, y)
        g_base, g_moved = L.softmax_cross_entropy_grad(z, y), L.softmax_cross_entropy_grad(z + shift, y)
    assert np.isfinite(base) and base >= 0
    # z + shift rounds each logit to the spacing of floats near |shift| (about 1e-12 at 1e4).
    assert np.isclose(base, moved, rtol=1e-9, atol=1e-9)
    assert np.allclose(g_base, g_moved, atol=1e-9)
    assert np.allclose(g_base.sum(axis=1), 0.0, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(zy=logits_and_targets(elements=huge, soft=True))
def test_binary_losses_are_finite_and_quiet_at_1e4(zy):
    z, y = zy
    with strict():
        value = L.binary_cross_entropy_with_logits(z, y)
        grad = L.binary_cross_entropy_with_logits_grad(z, y)
        from_probs = L.binary_cross_entropy(L.sigmoid(z), y)
    assert np.isfinite(value) and value >= 0 and np.all(np.isfinite(grad))
    assert np.isfinite(from_probs) and np.all(np.abs(grad) <= 1.0 / z.size + 1e-15)


def test_extreme_logits_give_exact_values():
    z = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4]])
    assert L.softmax_cross_entropy(z, np.array([0, 1])) == pytest.approx(np.log(2) / 2)
    assert L.softmax_cross_entropy(z, np.array([2, 0])) == pytest.approx((2e4 + 2e4 + np.log(2)) / 2)
    assert np.allclose(L.softmax_cross_entropy_grad(z, np.array([0, 1])), [[0, 0, 0], [0, -0.25, 0.25]])
    zb, yb = np.array([1e4, -1e4, 1e4, -1e4]), np.array([1.0, 0.0, 0.0, 1.0])
    assert L.binary_cross_entropy_with_logits(zb, yb) == pytest.approx(2e4 / 4)  # two right, two 1e4 wrong
    assert np.allclose(L.binary_cross_entropy_with_logits_grad(zb, yb), [0, 0, 0.25, -0.25])


def test_binary_cross_entropy_edge_convention():
    p, y = np.array([0.0, 1.0]), np.array([0.0, 1.0])
    assert L.binary_cross_entropy(p, y) == 0.0 and L.binary_cross_entropy(p, y, log_floor=None) == 0.0
    wrong = (np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert L.binary_cross_entropy(*wrong) == pytest.approx(100.0)
    with np.errstate(all="raise"):
        assert L.binary_cross_entropy(*wrong, log_floor=None) == np.inf
    # Soft targets: the y = 0.3 term with p = 0 is infinite in truth, 30 with the floor.
    assert L.binary_cross_entropy(np.array([0.0]), np.array([0.3])) == pytest.approx(30.0)


def test_naive_binary_cross_entropy_would_break():
    """What the stable forms avoid: log(sigmoid(z)) is log(0) at z = -1e4, and 0 * -inf is NaN."""
    with np.errstate(all="ignore"):
        naive = -(0.0 * np.log(L.sigmoid(np.array([-1e4]))) + 1.0 * np.log(1 - L.sigmoid(np.array([-1e4]))))
    assert np.isnan(naive).all()
    assert L.binary_cross_entropy_with_logits(np.array([-1e4]), np.array([0.0])) == 0.0


# -- shapes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1,), (5,), (1, 1), (3, 4)])
def test_elementwise_losses_keep_shapes(shape):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape), rng.uniform(0, 1, shape)
    for grad in (L.mse_grad, L.binary_cross_entropy_with_logits_grad, L.binary_cross_entropy_grad):
        assert grad(b, b.round()).shape == shape
    assert isinstance(L.mse(a, b), float)


@pytest.mark.parametrize("n,k", [(1, 1), (1, 5), (7, 1), (8, 3)])
def test_softmax_cross_entropy_shapes(n, k):
    rng = np.random.default_rng(n * 10 + k)
    z, y = rng.standard_normal((n, k)), rng.integers(0, k, n)
    assert L.softmax_cross_entropy_grad(z, y).shape == (n, k)
    if k == 1:  # one class: probability 1, loss 0, gradient 0
        assert L.softmax_cross_entropy(z, y) == 0.0 and np.all(L.softmax_cross_entropy_grad(z, y) == 0)


@pytest.mark.parametrize("bad", [
    lambda: L.mse(np.zeros(3), np.zeros(4)),
    lambda: L.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
    lambda: L.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])),
    lambda: L.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])),
])
def test_mismatched_inputs_are_refused(bad):
    with pytest.raises(ValueError):
        bad()


def test_cross_entropy_gradient_does_not_vanish_when_confidently_wrong_but_mse_does():
    """The chapter's argument: through a sigmoid, MSE's gradient in z vanishes where CE's does not."""
    from course_lib.activations import sigmoid_grad

    z, y = np.array([-12.0]), np.array([1.0])
    ce = L.binary_cross_entropy_with_logits_grad(z, y)
    mse_through_sigmoid = L.mse_grad(L.sigmoid(z), y) * sigmoid_grad(z)  # chain rule
    assert abs(ce[0] + 1) < 1e-5 and abs(mse_through_sigmoid[0]) < 1e-4
