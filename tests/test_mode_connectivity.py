"""course_lib.mode_connectivity: the segment and the quadratic Bezier curve (end points, Bernstein
weights, the bend's gradient checked with the shared gradient checker), the loss barrier, and the
trained curve lowering the barrier of a non-convex loss."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import landscapes as L
from course_lib import mode_connectivity as M
from course_lib.gradcheck import gradcheck


def params(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((3, 2)), rng.standard_normal(3)]


@settings(max_examples=40)
@given(t=st.floats(0, 1))
def test_bernstein_weights_sum_to_one_and_the_curve_passes_through_its_ends(t):
    c = M.bezier_coefficients(t)
    assert np.isclose(c.sum(), 1.0) and np.all(c >= 0)
    a, m, b = params(0), params(1), params(2)
    pt = L.flatten(M.bezier_point(a, m, b, t))
    assert np.allclose(pt, (1 - t) ** 2 * L.flatten(a) + 2 * t * (1 - t) * L.flatten(m) + t ** 2 * L.flatten(b))
    # with the bend at the midpoint the curve is the segment (reparameterized: phi(t) = segment(t))
    mid = M.linear_path(a, b, 0.5)
    assert np.allclose(L.flatten(M.bezier_point(a, mid, b, t)), L.flatten(M.linear_path(a, b, t)))


def test_end_points():
    a, m, b = params(0), params(1), params(2)
    assert np.allclose(L.flatten(M.bezier_point(a, m, b, 0.0)), L.flatten(a))
    assert np.allclose(L.flatten(M.bezier_point(a, m, b, 1.0)), L.flatten(b))
    assert M.bezier_coefficients(np.linspace(0, 1, 5)).shape == (3, 5)
    with pytest.raises(ValueError, match="same parameter shapes"):
        M.linear_path(a, [np.ones((2, 2)), np.ones(3)], 0.5)


def test_the_gradient_with_respect_to_the_bend_is_2t_1_minus_t_times_the_gradient():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((8, 9))
    loss = lambda ws: float(np.sum(np.log(np.cosh(A @ L.flatten(ws)))))  # noqa: E731
    grad = lambda ws: L.unflatten(A.T @ np.tanh(A @ L.flatten(ws)), ws)  # noqa: E731
    a, m, b = params(4), params(5), params(6)
    for t in [0.1, 0.5, 0.83]:
        f = lambda mv: loss(M.bezier_point(a, L.unflatten(mv, m), b, t))  # noqa: E731
        g = lambda mv: 2 * t * (1 - t) * L.flatten(grad(M.bezier_point(a, L.unflatten(mv, m), b, t)))  # noqa: E731
        assert gradcheck(f, g, L.flatten(m))


def test_barrier_is_the_height_above_the_chord():
    ts = np.linspace(0, 1, 5)
    assert M.loss_barrier(ts, [1.0, 1.5, 2.0, 1.2, 0.0]) == pytest.approx(2.0 - 0.5)
    assert M.loss_barrier(ts, 1 + ts) == 0.0  # on the chord
    assert M.loss_barrier(ts, [1.0, 0.2, 0.1, 0.2, 1.0]) == 0.0  # below it: no barrier (convex-like)
    with pytest.raises(ValueError, match="from 0 to 1"):
        M.loss_barrier([0.0, 0.5], [1.0, 2.0])


def test_a_trained_bend_goes_around_a_bump_the_segment_crosses():
    """Two minima of a ring-shaped valley, L = (|x|^2 - 1)^2 in the plane (as one 1x2 'weight'):
    the segment between (-1, 0) and (1, 0) crosses the bump at the origin; the curve bends along the ring."""
    def loss(ws):
        x = ws[0].ravel()
        return float((x @ x - 1) ** 2)

    def loss_grad(ws):
        x = ws[0].ravel()
        return loss(ws), [(4 * (x @ x - 1) * x).reshape(1, 2)]

    a, b = [np.array([[-1.0, 0.0]])], [np.array([[1.0, 0.0]])]
    ts = np.linspace(0, 1, 41)
    straight = M.path_losses(loss, lambda t: M.linear_path(a, b, t), ts)
    assert M.loss_barrier(ts, straight) == pytest.approx(1.0)
    bend, history = M.train_bezier(loss_grad, a, b, steps=400, lr=0.05, rng=0,
                                   w_bend=[np.array([[0.0, 0.1]])])  # off the axis, so symmetry is broken
    curved = M.path_losses(loss, lambda t: M.bezier_point(a, bend, b, t), ts)
    assert M.loss_barrier(ts, curved) < 0.1 * M.loss_barrier(ts, straight)
    assert history.shape == (400,) and np.mean(history[-50:]) < np.mean(history[:50])
