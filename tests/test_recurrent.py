"""Chapter 10's NumPy mathematics: the recurrence against torch.nn.RNN, BPTT against autograd, the state
Jacobian and its rho^T law, clipping against torch.nn.utils.clip_grad_norm_, the long-range task data."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import recurrent as R
from course_lib.gradcheck import gradcheck


def _weights(rng, n_in=3, n_h=4):
    return (rng.standard_normal((n_in and n_h, n_in)) * 0.6, rng.standard_normal((n_h, n_h)) * 0.5,
            rng.standard_normal(n_h) * 0.1, rng.standard_normal(n_h) * 0.1)


def test_forward_matches_torch_rnn():
    rng = np.random.default_rng(0)
    W_ih, W_hh, b_ih, b_hh = _weights(rng)
    x, h0 = rng.standard_normal((7, 2, 3)), rng.standard_normal((2, 4))
    rnn = torch.nn.RNN(3, 4).double()
    with torch.no_grad():
        for name, v in zip(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], [W_ih, W_hh, b_ih, b_hh]):
            getattr(rnn, name).copy_(torch.tensor(v))
        out, _ = rnn(torch.tensor(x), torch.tensor(h0)[None])
    hs = R.rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh)
    assert hs.shape == (8, 2, 4)
    np.testing.assert_allclose(hs[1:], out.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(hs[0], h0)
    with pytest.raises(ValueError, match="shapes do not fit"):
        R.rnn_forward(x, h0, W_ih.T, W_hh)
    with pytest.raises(ValueError, match="activation"):
        R.rnn_forward(x, h0, W_ih, W_hh, activation="relu6")


@pytest.mark.parametrize("activation", ["tanh", "linear"])
def test_bptt_matches_torch_autograd_and_gradcheck(activation):
    rng = np.random.default_rng(1)
    W_ih, W_hh, b_ih, b_hh = _weights(rng)
    x, h0 = rng.standard_normal((6, 3)), rng.standard_normal(4)
    C = rng.standard_normal((7, 4))  # L = sum_t <C_t, h_t>: a direct gradient at every step
    got = R.rnn_bptt(x, h0, W_ih, W_hh, b_ih, b_hh, C, activation)
    tw = [torch.tensor(v, requires_grad=True) for v in (W_ih, W_hh, b_ih, b_hh, h0)]
    f = torch.tanh if activation == "tanh" else (lambda a: a)
    h, loss, zs, hs = tw[4], (torch.tensor(C[0]) * tw[4]).sum(), [], [tw[4]]
    for t in range(6):
        z = tw[0] @ torch.tensor(x[t]) + tw[2] + tw[1] @ h + tw[3]
        h = f(z)
        z.retain_grad()
        h.retain_grad()
        zs.append(z)
        hs.append(h)
        loss = loss + (torch.tensor(C[t + 1]) * h).sum()
    loss.backward()
    for name, tv in zip(["W_ih", "W_hh", "b_ih", "b_hh", "h0"], tw):
        np.testing.assert_allclose(got[name], tv.grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=name)
    # h_bar_t = dL/dh_t (total) and delta_t = dL/dz_t (at the pre-activation, zero for t = 0).
    np.testing.assert_allclose(got["h_bar"], np.stack([v.grad.numpy() for v in hs]), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got["delta"][1:], np.stack([v.grad.numpy() for v in zs]), rtol=1e-10, atol=1e-13)
    assert (got["delta"][0] == 0).all()

    def f(w):
        return float((C * R.rnn_forward(x, h0, W_ih, w.reshape(4, 4), b_ih, b_hh, activation)).sum())
    assert gradcheck(f, got["W_hh"].ravel(), W_hh.ravel())


def test_linear_jacobian_is_the_matrix_power_and_scales_as_rho_to_the_T():
    rng = np.random.default_rng(2)
    for rho in (0.9, 1.0, 1.1):
        W = R.scaled_orthogonal(16, rho, rng)
        assert R.spectral_radius(W) == pytest.approx(rho, rel=1e-12)
        norms = R.jacobian_norms(W, 30)
        np.testing.assert_allclose(norms, rho ** np.arange(31), rtol=1e-10)
        J = R.state_jacobians(W, 5)
        np.testing.assert_allclose(J[5], np.linalg.matrix_power(W, 5), rtol=1e-12, atol=1e-14)
    # A non-normal matrix: the norm exceeds rho^T by a bounded factor, so the slope still tends to log rho.
    W = R.random_with_radius(32, 0.95, rng)
    T = np.arange(100, 401)
    norms = R.jacobian_norms(W, 400)[T]
    assert R.log_slope(T, norms) == pytest.approx(np.log(0.95), abs=0.02 * abs(np.log(0.95)) + 2e-3)
    assert np.linalg.norm(W, 2) > 1.3 * R.spectral_radius(W)


def test_tanh_jacobian_is_the_chain_rule_of_the_forward_pass():
    rng = np.random.default_rng(3)
    # Moderate pre-activations: where tanh saturates, J is ~1e-5 and central differences round off.
    W, drive, h0 = 0.5 * rng.standard_normal((4, 4)), 0.3 * rng.standard_normal((5, 4)), 0.5 * rng.standard_normal(4)
    J = R.state_jacobians(W, 5, "tanh", drive, h0)

    def h5(h):
        for t in range(5):
            h = np.tanh(W @ h + drive[t])
        return h
    for i in range(4):
        assert gradcheck(lambda h: h5(h)[i], J[5][i], h0)
    # tanh' <= 1, so the tanh RNN's Jacobian is never larger than the linear one's bound ||W||^T.
    assert R.jacobian_norms(W, 5, "tanh", drive, h0)[5] <= np.linalg.norm(W, 2) ** 5
    with pytest.raises(ValueError, match="x_drive"):
        R.state_jacobians(W, 5, "tanh", drive[:3])


def test_spectral_radius_is_not_the_spectral_norm():
    W = np.array([[0.5, 10.0], [0.0, 0.5]])
    assert R.spectral_radius(W) == pytest.approx(0.5) and np.linalg.norm(W, 2) > 10
    with pytest.raises(ValueError, match="square"):
        R.spectral_radius(np.ones((2, 3)))


@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0), (0.1, np.inf), (0.0, 2.0)])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal(s) for s in [(2, 3), (5,), (1,)]]
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g)
    clipped, total = R.clip_grad_norm(grads, max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    assert total == pytest.approx(total_t.item(), rel=1e-12)
    for c, p in zip(clipped, params):
        np.testing.assert_allclose(c, p.grad.numpy(), rtol=1e-12, atol=0)
    # Global clipping keeps the direction: every gradient is scaled by the same factor.
    ratios = [c.ravel()[0] / g.ravel()[0] for c, g in zip(clipped, grads)]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-12)
    with pytest.raises(ValueError, match="max_norm"):
        R.clip_grad_norm(grads, -1.0)
    assert R.clip_grad_norm([], 1.0) == ([], 0.0)


def test_long_range_task_data():
    x, y = R.adding_task(500, 20, rng=0)
    assert x.shape == (500, 20, 2) and y.shape == (500,)
    assert (x[:, :, 1].sum(axis=1) == 2).all()
    assert (x[:, :10, 1].sum(axis=1) == 1).all()  # one marker in each half
    np.testing.assert_allclose(y, (x[:, :, 0] * x[:, :, 1]).sum(axis=1), rtol=1e-6)
    # Predicting the mean (1) has mean squared error Var(U1 + U2) = 1/6.
    assert np.mean((y - 1) ** 2) == pytest.approx(1 / 6, abs=0.03)
    x, y = R.recall_task(300, 15, 5, rng=1)
    assert x.shape == (300, 15, 6) and (x[:, 0, :5].sum(axis=1) == 1).all() and (x[:, 1:] == 0).all()
    assert (x[:, 0, 5] == 1).all()  # the cue marks the symbol's step
    np.testing.assert_array_equal(x[:, 0, :5].argmax(axis=1), y)
    assert set(np.unique(y)) == set(range(5))
    # Distractors: Gaussian with the asked standard deviation on the delay steps' symbol channels only.
    x, y = R.recall_task(400, 30, 5, rng=2, noise=0.3)
    np.testing.assert_array_equal(x[:, 0, :5].argmax(axis=1), y)
    assert (x[:, 0, :5].sum(axis=1) == 1).all() and (x[:, 1:, 5] == 0).all()
    assert np.std(x[:, 1:, :5]) == pytest.approx(0.3, rel=0.02) and abs(np.mean(x[:, 1:, :5])) < 0.005
    with pytest.raises(ValueError, match="standard deviation"):
        R.recall_task(3, 5, noise=-1.0)
    with pytest.raises(ValueError):
        R.adding_task(3, 1)
