"""course_lib.landscapes: filter normalization (per-filter norms, zero for 1-D parameters, invariance
under rescaling the direction and equivariance under rescaling the weights), slices against direct
evaluation, the symmetries of a ReLU MLP, and the trajectory's PCA plane."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import landscapes as L

# -- strategies: lists of parameter arrays with the layouts of real layers ---------------------------------------
dims = st.integers(1, 5)
shapes = st.one_of(
    st.tuples(dims),                              # a bias or a normalization scale
    st.tuples(dims, dims),                        # a dense weight (out, in)
    st.tuples(dims, dims, dims, dims),            # a convolution weight (out, in, kh, kw)
    st.tuples(dims, dims, dims),                  # a 1-D convolution weight (out, in, k)
)


@st.composite
def weights_and_direction(draw):
    layout = draw(st.lists(shapes, min_size=1, max_size=5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(s) * rng.uniform(0.1, 10) for s in layout]
    direction = [rng.standard_normal(s) * rng.uniform(0.1, 10) for s in layout]
    return weights, direction, rng


def filter_norms(a: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a.reshape(a.shape[0], -1), axis=1)


@settings(max_examples=80)
@given(case=weights_and_direction())
def test_every_filter_gets_the_norm_of_its_weights_and_1d_parameters_get_zero(case):
    weights, direction, _ = case
    before = [d.copy() for d in direction]
    out = L.filter_normalize(direction, weights)
    assert all(np.array_equal(b, d) for b, d in zip(before, direction))  # inputs untouched
    for d, w, o in zip(direction, weights, out):
        assert o.shape == w.shape and o.dtype == np.float64
        if w.ndim < 2:
            assert np.all(o == 0)
        else:
            assert np.allclose(filter_norms(o), filter_norms(w), rtol=1e-12)
            # each filter keeps its direction: o_f is a positive multiple of d_f
            cos = np.sum(o.reshape(len(o), -1) * d.reshape(len(d), -1), axis=1) / (filter_norms(o) * filter_norms(d))
            assert np.allclose(cos, 1.0)


@settings(max_examples=60)
@given(case=weights_and_direction())
def test_the_result_ignores_the_scale_of_each_direction_filter_and_follows_the_scale_of_each_weight_filter(case):
    weights, direction, rng = case
    out = L.filter_normalize(direction, weights)
    per_filter = lambda a: rng.uniform(0.01, 100, size=(a.shape[0],) + (1,) * (a.ndim - 1)) if a.ndim > 1 \
        else rng.uniform(0.01, 100)  # noqa: E731
    d_scales = [per_filter(d) for d in direction]
    assert all(np.allclose(a, b, rtol=1e-12) for a, b in
               zip(L.filter_normalize([d * s for d, s in zip(direction, d_scales)], weights), out))
    w_scales = [per_filter(w) for w in weights]
    rescaled = L.filter_normalize(direction, [w * s for w, s in zip(weights, w_scales)])
    for r, o, s, w in zip(rescaled, out, w_scales, weights):
        assert np.allclose(r, o * s if w.ndim > 1 else 0.0, rtol=1e-12)


def test_zero_filters_give_zero_directions_without_nan():
    w = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 4.0]])
    d = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]])
    (out,) = L.filter_normalize([d], [w])
    assert np.all(np.isfinite(out))
    assert np.array_equal(out[0], [0.0, 0.0])  # a zero direction stays zero
    assert np.array_equal(out[1], [0.0, 0.0])  # a zero filter has norm 0
    assert np.allclose(out[2], [5.0, 0.0])  # ||w_2|| = 5 along d_2


def test_a_conv_filter_is_one_output_channel():
    rng = np.random.default_rng(0)
    w, d = rng.standard_normal((4, 3, 2, 2)), rng.standard_normal((4, 3, 2, 2))
    (out,) = L.filter_normalize([d], [w])
    for f in range(4):
        assert np.isclose(np.linalg.norm(out[f]), np.linalg.norm(w[f]))
    # not per layer: the whole array's norm matches only by accident
    per_layer = d * np.linalg.norm(w) / np.linalg.norm(d)
    assert not np.allclose(out, per_layer)


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="one direction array per parameter"):
        L.filter_normalize([np.ones(3)], [np.ones(3), np.ones(2)])
    with pytest.raises(ValueError, match="shape"):
        L.filter_normalize([np.ones((2, 3))], [np.ones((3, 2))])


def test_random_directions_are_filter_normalized_with_zero_biases_unless_asked_otherwise():
    w = [np.ones((3, 4)), np.ones(3), np.full((2, 3), 2.0), np.ones(2)]
    d = L.random_directions(w, rng=1)
    assert np.allclose(filter_norms(d[0]), 2.0) and np.allclose(filter_norms(d[2]), np.sqrt(12.0))
    assert np.all(d[1] == 0) and np.all(d[3] == 0)
    raw = L.random_directions(w, rng=1, normalize=False)
    assert np.all(raw[1] != 0) and not np.allclose(filter_norms(raw[0]), 2.0)
    assert all(np.allclose(a, b) for a, b in zip(L.random_directions(w, rng=1), d))  # seeded


# -- flat vectors and slices -----------------------------------------------------------------------------------
@settings(max_examples=40)
@given(case=weights_and_direction())
def test_flatten_and_unflatten_are_inverse(case):
    weights, _, _ = case
    flat = L.flatten(weights)
    assert flat.shape == (sum(w.size for w in weights),)
    assert all(np.array_equal(a, b) for a, b in zip(L.unflatten(flat, weights), weights))
    with pytest.raises(ValueError, match="does not fit"):
        L.unflatten(flat[:-1], weights)


def quadratic_loss(H, c):
    """L(theta) = (theta - c)^T H (theta - c) / 2 on the flattened parameters."""
    return lambda ws: 0.5 * (L.flatten(ws) - c) @ H @ (L.flatten(ws) - c)


def test_slices_evaluate_the_loss_at_theta_plus_p_d1_plus_q_d2():
    rng = np.random.default_rng(2)
    like = [rng.standard_normal((3, 2)), rng.standard_normal(3)]
    P = 9
    A = rng.standard_normal((P, P))
    H, c = A @ A.T, rng.standard_normal(P)
    loss = quadratic_loss(H, c)
    d1, d2 = L.random_directions(like, 3, normalize=False), L.random_directions(like, 4, normalize=False)
    ps, qs = np.linspace(-1, 1, 5), np.linspace(-2, 2, 3)
    grid = L.slice_2d(loss, like, d1, d2, ps, qs)
    assert grid.shape == (3, 5)  # rows follow q, columns p
    theta, v1, v2 = L.flatten(like), L.flatten(d1), L.flatten(d2)
    for i, q in enumerate(qs):
        for j, p in enumerate(ps):
            x = theta + p * v1 + q * v2 - c
            assert np.isclose(grid[i, j], 0.5 * x @ H @ x)
    line = L.slice_1d(loss, like, d1, ps)
    assert np.allclose(line, grid[1])  # the q = 0 row
    # along a line a quadratic is a parabola with curvature d^T H d
    coef = np.polyfit(ps, line, 2)
    assert np.isclose(2 * coef[0], v1 @ H @ v1)


# -- symmetries ----------------------------------------------------------------------------------------------------
def mlp_forward(weights, X, act):
    h = X
    for k in range(0, len(weights), 2):
        h = h @ weights[k].T + weights[k + 1]
        if k < len(weights) - 2:
            h = act(h)
    return h


relu = lambda z: np.maximum(z, 0.0)  # noqa: E731


def small_mlp(rng, sizes=(5, 7, 6, 3)):
    return [a for n_in, n_out in zip(sizes, sizes[1:]) for a in (rng.standard_normal((n_out, n_in)),
                                                                  rng.standard_normal(n_out))]


@settings(max_examples=30)
@given(seed=st.integers(0, 10**6), layer=st.integers(0, 1))
def test_permuting_hidden_units_keeps_the_function(seed, layer):
    rng = np.random.default_rng(seed)
    w, X = small_mlp(rng), rng.standard_normal((10, 5))
    perm = rng.permutation(w[2 * layer].shape[0])
    p = L.permute_hidden_units(w, perm, layer)
    for act in (relu, np.tanh):
        assert np.allclose(mlp_forward(p, X, act), mlp_forward(w, X, act), rtol=1e-12, atol=1e-12)
    if not np.array_equal(perm, np.arange(len(perm))):
        assert not np.allclose(L.flatten(p), L.flatten(w))


def test_permutation_errors():
    w = small_mlp(np.random.default_rng(0))
    with pytest.raises(ValueError, match="permutation"):
        L.permute_hidden_units(w, [0, 0, 1, 2, 3, 4, 5], 0)
    with pytest.raises(ValueError, match="not a hidden layer"):
        L.permute_hidden_units(w, np.arange(3), 2)
    with pytest.raises(ValueError, match="MLP"):
        L.permute_hidden_units([np.ones(3)], [0], 0)


@settings(max_examples=30)
@given(seed=st.integers(0, 10**6), c=st.floats(0.01, 100.0), layer=st.integers(0, 1))
def test_rescaling_a_relu_layer_keeps_the_function_but_not_for_tanh(seed, c, layer):
    rng = np.random.default_rng(seed)
    w, X = small_mlp(rng), rng.standard_normal((10, 5))
    r = L.rescale_layer(w, layer, c)
    assert np.allclose(mlp_forward(r, X, relu), mlp_forward(w, X, relu), rtol=1e-10, atol=1e-10)
    if abs(np.log(c)) > 0.1:
        assert not np.allclose(mlp_forward(r, X, np.tanh), mlp_forward(w, X, np.tanh), rtol=1e-6)
    with pytest.raises(ValueError, match="positive"):
        L.rescale_layer(w, layer, -c)


def test_filter_normalized_slices_do_not_see_a_layer_rescaling_but_raw_ones_do():
    rng = np.random.default_rng(5)
    w, X = small_mlp(rng), rng.standard_normal((30, 5))
    target = rng.standard_normal((30, 3))
    loss = lambda ws: float(np.mean((mlp_forward(ws, X, relu) - target) ** 2))  # noqa: E731
    r = L.rescale_layer(w, 0, 5.0)
    assert np.isclose(loss(r), loss(w), rtol=1e-12)
    ps = np.linspace(-1, 1, 9)
    noise = [rng.standard_normal(a.shape) for a in w]
    same_w = L.slice_1d(loss, w, L.filter_normalize(noise, w), ps)
    same_r = L.slice_1d(loss, r, L.filter_normalize(noise, r), ps)
    assert np.allclose(same_w, same_r, rtol=1e-10)
    raw_w, raw_r = L.slice_1d(loss, w, noise, ps), L.slice_1d(loss, r, noise, ps)
    assert np.max(np.abs(raw_w - raw_r)) > 0.1 * np.max(np.abs(raw_w - loss(w)))


# -- trajectories ---------------------------------------------------------------------------------------------------
def test_a_planar_trajectory_is_captured_exactly():
    rng = np.random.default_rng(3)
    P, T = 40, 12
    basis = np.linalg.qr(rng.standard_normal((P, 2)))[0]
    end = rng.standard_normal(P)
    coords = rng.standard_normal((T, 2))
    coords[-1] = 0
    traj = end + coords @ basis.T
    pca = L.trajectory_pca(traj)
    assert np.allclose(pca.directions @ pca.directions.T, np.eye(2))
    assert np.isclose(pca.explained.sum(), 1.0)
    assert np.allclose(pca.final + pca.coords @ pca.directions, traj)  # reconstruction
    assert np.allclose(pca.coords[-1], 0)
    for d in pca.directions:  # the sign convention
        assert d[np.argmax(np.abs(d))] > 0


def test_pca_directions_are_the_best_plane_through_the_end_point():
    rng = np.random.default_rng(4)
    traj = np.cumsum(rng.standard_normal((30, 15)) * np.linspace(3, 0.1, 15), axis=0)
    pca = L.trajectory_pca(traj, k=3)
    M = traj - traj[-1]
    _, s, Vt = np.linalg.svd(M)
    assert np.allclose(np.abs(pca.directions @ Vt[:3].T), np.eye(3), atol=1e-10)
    assert np.allclose(pca.explained, s[:3] ** 2 / np.sum(s ** 2))
    captured = np.sum(pca.coords ** 2)
    for _ in range(20):  # no other 3-D subspace captures more of the displacement
        Q = np.linalg.qr(rng.standard_normal((15, 3)))[0]
        assert np.sum((M @ Q) ** 2) <= captured + 1e-9
    with pytest.raises(ValueError, match="k = 9"):
        L.trajectory_pca(traj[:3, :8], k=9)
