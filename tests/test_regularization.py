"""course_lib.regularization and the engine's BatchNorm1d / Dropout: penalties and their gradients,
soft-thresholding as a proximal step, inverted dropout's expectation, batch normalization against
torch.nn.BatchNorm1d and the shared gradient checker (float64), early stopping, fits and augmentation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import regularization as R
from course_lib.autograd import Tensor, nn
from course_lib.regularization_layers import BatchNorm1d, Dropout, batch_norm, batch_norm_composed, eval, train
from course_lib.gradcheck import gradcheck, numerical_gradient, relative_error

floats = st.floats(-5, 5, allow_nan=False)


# -- penalties -------------------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(w=hnp.arrays(np.float64, st.integers(1, 8), elements=floats), lam=st.floats(0.0, 3.0))
def test_penalty_gradients_pass_the_gradient_checker(w, lam):
    assert gradcheck(lambda v: R.l2_penalty(v, lam), lambda v: R.l2_grad(v, lam), w)
    away = w[np.abs(w) > 1e-3]  # |w| has a kink at 0: check the smooth part
    if away.size:
        assert gradcheck(lambda v: R.l1_penalty(v, lam), lambda v: R.l1_grad(v, lam), away)
    assert R.l1_grad(np.zeros(3), lam).tolist() == [0.0, 0.0, 0.0]


@settings(max_examples=50, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(1, 10), elements=floats), t=st.floats(0.0, 3.0))
def test_soft_threshold_is_the_proximal_step_of_l1(x, t):
    s = R.soft_threshold(x, t)
    grid = np.linspace(-6, 6, 24001)  # brute force: argmin_z (z - x)^2 / 2 + t |z|
    brute = grid[np.argmin(0.5 * (grid[None] - x[:, None]) ** 2 + t * np.abs(grid[None]), axis=1)]
    assert np.allclose(s, brute, atol=1e-3)
    assert np.all(s[np.abs(x) <= t] == 0) and np.all(np.abs(s) <= np.abs(x))


def test_ridge_and_penalized_quadratics():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    for lam in [0.0, 0.5, 10.0]:
        w = R.ridge(X, y, lam)
        assert np.allclose(w, np.linalg.solve(X.T @ X + lam * np.eye(4), X.T @ y))
        assert np.allclose(X.T @ (X @ w - y) + lam * w, 0, atol=1e-9)  # the gradient vanishes
    H = np.array([[2.0, 0.6], [0.6, 1.0]])
    w_ls = np.array([1.5, 0.3])
    for lam in [0.1, 0.8, 3.0]:
        w2 = R.quadratic_penalized(H, w_ls, lam, "l2")
        assert np.allclose(H @ (w2 - w_ls) + lam * w2, 0)
        w1 = R.quadratic_penalized(H, w_ls, lam, "l1")
        g = H @ (w1 - w_ls)  # optimality: -g in lam * (subdifferential of |w|)
        assert np.all(np.where(w1 != 0, np.isclose(-g, lam * np.sign(w1), atol=1e-6), np.abs(g) <= lam + 1e-9))
    assert R.quadratic_penalized(H, w_ls, 0.8, "l1")[1] == 0.0  # L1 makes an exact zero, L2 does not
    assert R.quadratic_penalized(H, w_ls, 0.8, "l2")[1] != 0.0
    with pytest.raises(ValueError):
        R.quadratic_penalized(H, w_ls, 0.8, "l3")


# -- dropout -------------------------------------------------------------------------------------------
def test_inverted_dropout_preserves_the_expectation():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5))
    outs = np.stack([R.dropout(x, 0.3, rng)[0] for _ in range(40000)])
    assert np.allclose(outs.mean(axis=0), x, atol=0.03)
    out, mask = R.dropout(x, 0.3, rng)
    assert set(np.unique(mask)) <= {0.0, 1 / 0.7} and np.allclose(out, x * mask)
    assert np.array_equal(R.dropout(x, 0.3, rng, training=False)[0], x)
    with pytest.raises(ValueError):
        R.dropout(x, 1.0, rng)


def test_dropout_module_train_and_eval():
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    layer = Dropout(0.4, rng=0)
    y = layer(x)
    kept = y.data != 0
    assert 0.5 < kept.mean() < 0.7 and np.allclose(y.data[kept], 1 / 0.6)
    y.sum().backward()
    assert np.allclose(x.grad, np.where(kept, 1 / 0.6, 0.0))  # the same mask on the way back
    model = nn.Sequential(nn.Linear(50, 5, dtype=np.float64, rng=0), Dropout(0.4, rng=1))
    eval(model)
    assert not model[1].training and np.array_equal(model(x).data, model[0](x).data)
    train(model)
    assert model[1].training


# -- batch normalization -----------------------------------------------------------------------------------
def _bn_case(seed, n=7, d=4):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d) + rng.standard_normal(d),
            rng.uniform(0.5, 2, d), rng.standard_normal(d), rng.standard_normal((n, d)))


@pytest.mark.parametrize("seed", range(5))
def test_batchnorm_matches_torch_in_training_and_eval(seed):
    x, gamma, beta, _ = _bn_case(seed)
    ref = torch.nn.BatchNorm1d(4, momentum=0.1).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    ours = BatchNorm1d(4, dtype=np.float64)
    ours.weight.data[:], ours.bias.data[:] = gamma, beta
    for k in range(3):  # three training batches, then evaluation
        xb = x + k
        assert np.allclose(ours(Tensor(xb)).data, ref(torch.tensor(xb)).detach().numpy(), atol=1e-12)
        assert np.allclose(ours.running_mean, ref.running_mean.numpy()) and np.allclose(ours.running_var,
                                                                                        ref.running_var.numpy())
    ref.eval()
    eval(ours)
    assert np.allclose(ours(Tensor(x[:1])).data, ref(torch.tensor(x[:1])).detach().numpy())  # a batch of one
    assert np.allclose(R.batchnorm_eval(x, gamma, beta, ours.running_mean, ours.running_var),
                       ref(torch.tensor(x)).detach().numpy())


@pytest.mark.parametrize("seed", range(5))
def test_batchnorm_backward_passes_the_gradient_checker(seed):
    x, gamma, beta, w = _bn_case(seed)
    _, cache = R.batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = R.batchnorm_backward(w, cache)

    def loss(xx=x, gg=gamma, bb=beta):
        return float(np.sum(R.batchnorm_forward(xx, gg, bb)[0] * w))

    assert gradcheck(lambda v: loss(xx=v), dx, x)
    assert gradcheck(lambda v: loss(gg=v), dgamma, gamma)
    assert gradcheck(lambda v: loss(bb=v), dbeta, beta)
    # the engine's fused op, and the same computation composed of elementary ops, agree with both
    for op in (batch_norm, batch_norm_composed):
        X, G, B = (Tensor(a, requires_grad=True) for a in (x, gamma, beta))
        (op(X, G, B) * Tensor(w)).sum().backward()
        assert relative_error(X.grad, dx) < 1e-12 and relative_error(G.grad, dgamma) < 1e-12
        assert relative_error(B.grad, dbeta) < 1e-12
    torch_x = torch.tensor(x, requires_grad=True)
    torch.nn.functional.batch_norm(torch_x, None, None, torch.tensor(gamma), torch.tensor(beta), training=True,
                                   eps=1e-5).mul(torch.tensor(w)).sum().backward()
    assert relative_error(torch_x.grad.numpy(), dx) < 1e-10


def test_batchnorm_output_is_normalized_and_the_gradient_loses_mean_and_scale():
    x, gamma, beta, w = _bn_case(9, n=50)
    out, cache = R.batchnorm_forward(x, np.ones(4), np.zeros(4), eps=0.0)  # eps = 0: exact invariances
    assert np.allclose(out.mean(axis=0), 0, atol=1e-12) and np.allclose(out.var(axis=0), 1)
    dx, _, _ = R.batchnorm_backward(w, cache)
    assert np.allclose(dx.sum(axis=0), 0, atol=1e-10)  # shifting a column changes nothing
    assert np.allclose((dx * (x - x.mean(axis=0))).sum(axis=0), 0, atol=1e-10)  # nor does scaling it
    with pytest.raises(ValueError):
        BatchNorm1d(4)(Tensor(np.ones((1, 4))))


def test_the_batch_norm_op_names_a_shape_mismatch():
    with pytest.raises(ValueError, match=r"x of shape \(N, D\).*got \(3, 4\), \(5,\) and \(4,\)"):
        batch_norm(Tensor(np.ones((3, 4))), Tensor(np.ones(5)), Tensor(np.zeros(4)))
    with pytest.raises(ValueError, match=r"got \(4,\), \(4,\) and \(4,\)"):
        batch_norm(Tensor(np.ones(4)), Tensor(np.ones(4)), Tensor(np.zeros(4)))


def test_numerical_gradient_of_a_network_with_batchnorm_and_dropout_off():
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Linear(5, 6, dtype=np.float64, rng=0), BatchNorm1d(6, dtype=np.float64), nn.Tanh(),
                          nn.Linear(6, 1, dtype=np.float64, rng=1))
    X = rng.standard_normal((9, 5))
    W = model[0].weight
    (model(Tensor(X)) ** 2).sum().backward()

    def f(v):
        saved = W.data.copy()
        W.data[...] = v
        out = float(((model(Tensor(X)) ** 2).sum()).item())
        W.data[...] = saved
        return out

    assert relative_error(W.grad, numerical_gradient(f, W.data.copy())) < 1e-7


# -- early stopping, fits, augmentation ----------------------------------------------------------------------
def test_early_stopping_rule():
    losses = [1.0, 0.8, 0.7, 0.72, 0.71, 0.69, 0.75, 0.8, 0.9, 0.95]
    assert R.early_stopping(losses, patience=3) == (8, 5)
    assert R.early_stopping(losses, patience=2) == (4, 2)
    assert R.early_stopping(losses, patience=100) == (9, 5)
    assert R.early_stopping([1.0, 0.999, 0.998, 0.997], patience=2, min_delta=0.01) == (2, 0)


def test_polynomial_features_fit_and_bias_variance():
    x = np.linspace(-1, 1, 40)
    y = np.sin(3 * x)
    Phi = R.polynomial_features(x, 5)
    assert Phi.shape == (40, 6) and np.allclose(Phi[:, 0], 1) and np.allclose(Phi[:, 1], x)
    w = R.fit_polynomial(x, y, 9, 0.0)
    assert np.max(np.abs(R.polynomial_features(x, 9) @ w - y)) < 1e-3
    rng = np.random.default_rng(0)
    simple = R.bias_variance(lambda t: np.sin(3 * t), x, 1, 0.0, 30, 0.3, 300, rng)
    flexible = R.bias_variance(lambda t: np.sin(3 * t), x, 5, 0.0, 30, 0.3, 300, rng)
    assert simple["bias2"] > 10 * flexible["bias2"] and simple["variance"] < flexible["variance"]
    wiggly = R.bias_variance(lambda t: np.sin(3 * t), x, 9, 0.0, 30, 0.3, 300, rng)
    shrunk = R.bias_variance(lambda t: np.sin(3 * t), x, 9, 0.01, 30, 0.3, 300, rng)
    assert shrunk["variance"] < wiggly["variance"] / 10
    assert np.isclose(simple["expected_error"], simple["bias2"] + simple["variance"] + 0.09)


def test_shifts_and_augmentation_keep_the_images():
    img = np.arange(64.0).reshape(1, 8, 8)
    right = R.shift_images(img, 1, 0)
    assert np.array_equal(right[0, :, 1:], img[0, :, :-1]) and np.all(right[0, :, 0] == 0)
    up = R.shift_images(img, 0, -2)
    assert np.array_equal(up[0, :-2], img[0, 2:]) and np.all(up[0, -2:] == 0)
    rng = np.random.default_rng(0)
    X = rng.random((300, 64))
    A = R.augment_digits(X, rng, p=0.5)
    same = np.all(A == X, axis=1)
    assert A.shape == X.shape and 0.4 < same.mean() < 0.75  # about half untouched (some draw the zero shift)
    assert np.array_equal(R.augment_digits(X, rng, p=0.0), X)
