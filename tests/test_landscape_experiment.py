"""course_lib.net_objective and course_lib.landscape_experiment: the engine objective against PyTorch (values, gradients, exact
Hessian-vector products and full Hessians, float64) and the shared gradient checker; the
central-difference product and the curvature routines on a real network; training and its
trajectory; filter-normalized slices of a rescaled ReLU network; the edge of stability."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import curvature as C
from course_lib import landscape_experiment as E
from course_lib import landscapes as L
from course_lib.gradcheck import gradcheck, relative_error


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny tensors: one thread is faster, and two fight the other test worker for the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small(activation="tanh", loss="mse", n=40, hidden=5, seed=0):
    X, y = E.digits(n, seed=seed)
    model = E.make_mlp((64, hidden, 10), activation, seed)
    return E.Objective(model, X, y, loss), E.get_weights(model)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_loss_and_gradient_match_torch_and_the_gradient_checker(activation, loss):
    obj, w = small(activation, loss)
    theta = L.flatten(w)
    t = torch.tensor(theta, requires_grad=True)
    value = obj._torch_loss()(t)
    value.backward()
    v, g = obj.value_and_grad(w)
    assert np.isclose(v, value.item(), rtol=1e-12)
    assert relative_error(L.flatten(g), t.grad.numpy()) < 1e-12
    if activation == "tanh":  # ReLU's kinks: the gradient checker is for smooth functions
        assert gradcheck(obj.flat_loss, obj.flat_grad, theta)


def test_hvp_by_central_differences_matches_torchs_exact_product_and_full_hessian():
    obj, w = small("tanh", "mse", n=60)
    theta = L.flatten(w)
    exact = obj.torch_hvp(theta)
    H = obj.torch_hessian(theta)
    assert H.shape == (obj.dim, obj.dim) and np.allclose(H, H.T, atol=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(3):
        v = rng.standard_normal(obj.dim)
        assert relative_error(exact(v), H @ v) < 1e-12
        assert relative_error(obj.hvp(theta)(v), exact(v)) < 1e-8  # eps^(2/3) ~ 4e-11, with room
        # Pearlmutter: H v is the gradient of theta -> grad L(theta) . v
        assert gradcheck(lambda th: obj.flat_grad(th) @ v, exact(v), theta)


def test_curvature_routines_on_a_real_network_agree_with_the_full_hessian():
    obj, w = small("tanh", "mse", n=80, hidden=6)
    theta = L.flatten(w)
    H = obj.torch_hessian(theta)
    ev = np.linalg.eigvalsh(H)
    top = C.top_eigenvalues(obj.hvp(theta), obj.dim, 3, rng=0, tol=1e-9, iters=3000, oversample=3)
    assert np.allclose(top.values, ev[::-1][:3], rtol=1e-6)
    lam, _ = C.power_iteration(obj.torch_hvp(theta), obj.dim, rng=1, tol=1e-9, iters=3000)
    assert np.isclose(lam, ev[-1], rtol=1e-6)
    tr = C.hutchinson_trace(obj.hvp(theta), obj.dim, 300, rng=0)
    assert abs(tr.estimate - np.trace(H)) < 5 * np.sqrt(C.hutchinson_variance(H) / 300)
    assert np.allclose(C.hessian_from_hvp(obj.hvp(theta), obj.dim), H, atol=1e-7 * np.abs(H).max())


def test_training_records_a_trajectory_and_can_stop_at_a_target_loss():
    obj, w = small("relu", "cross_entropy", n=200, hidden=16)
    before = [a.copy() for a in w]
    end, run = E.train_sgd(obj, w, lr=0.5, batch_size=25, epochs=6, seed=1, record_every=2)
    assert all(np.array_equal(a, b) for a, b in zip(w, before))  # the start is not modified
    assert len(run.loss) == len(run.trajectory) == 4  # epochs 0, 2, 4, 6
    assert run.loss[-1] < 0.5 * run.loss[0] and np.isclose(run.loss[-1], obj(end))
    assert np.allclose(run.final(), L.flatten(end))
    again, _ = E.train_sgd(obj, w, lr=0.5, batch_size=25, epochs=6, seed=1, record_every=2)
    assert np.array_equal(L.flatten(again), L.flatten(end))  # seeded
    stop, early = E.train_sgd(obj, w, lr=0.5, batch_size=25, epochs=50, seed=1, target_loss=run.loss[-1])
    assert early.epochs <= 6 and early.loss[-1] <= run.loss[-1]


def test_filter_normalized_slices_of_a_rescaled_relu_network_are_unchanged():
    obj, _ = small("relu", "cross_entropy", n=100, hidden=8)
    w = E.get_weights(obj.model)
    r = L.rescale_layer(w, 0, 4.0)
    assert np.isclose(obj(r), obj(w), rtol=1e-12)
    noise = L.random_directions(w, 0, normalize=False)
    ps = np.linspace(-1, 1, 7)
    a = L.slice_1d(obj, w, L.filter_normalize(noise, w), ps)
    b = L.slice_1d(obj, r, L.filter_normalize(noise, r), ps)
    assert np.allclose(a, b, rtol=1e-10)
    assert not np.allclose(L.slice_1d(obj, w, noise, ps), L.slice_1d(obj, r, noise, ps), rtol=1e-3)


def test_full_batch_gd_on_the_squared_loss_reaches_the_edge_of_stability():
    run = E.edge_of_stability(0.9, steps=300)
    ratio = run.sharpness / run.threshold
    assert ratio[0] < 0.85  # it starts below 2 / lr ...
    late = ratio[run.steps >= 150]
    assert 0.9 < late.mean() < 1.1 and late.min() > 0.8  # ... and hovers at it
    assert len(run.loss) == 301 and run.loss[-1] < run.loss[0]
    assert np.any(np.diff(run.loss[150:]) > 0)  # not monotone: the loss goes up at some steps


def test_the_digits_are_scikit_learns():
    from sklearn.datasets import load_digits

    pixels, labels = E._digits_arrays()
    bunch = load_digits()
    assert np.array_equal(pixels, bunch.data) and np.array_equal(labels, bunch.target)
    X, y, X_test, y_test = E.digits_split(300, 100, seed=3)
    assert X.shape == (300, 64) and X_test.shape == (100, 64) and np.allclose(X.mean(axis=0), 0)
    raw, _ = E.digits(400, seed=3, center=False)
    assert np.allclose(X_test, raw[300:] - raw[:300].mean(axis=0))  # the test set takes the training mean
    with pytest.raises(ValueError, match="only 97 images"):
        E.digits(100, offset=1700)
