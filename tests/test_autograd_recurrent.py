"""Engine RNN/GRU/LSTM cells: torch's layout and call signatures; weights copied from torch give the same
values and gradients over several unrolled steps (float64); the gradient checker agrees; clip_grad_norm_
matches torch.nn.utils.clip_grad_norm_."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.autograd import Tensor, nn
from course_lib.autograd.recurrent import GRUCell, LSTMCell, RNNCell, clip_grad_norm_
from course_lib.gradcheck import gradcheck

PAIRS = [(RNNCell, torch.nn.RNNCell, 1), (GRUCell, torch.nn.GRUCell, 3), (LSTMCell, torch.nn.LSTMCell, 4)]
NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def _copy_from_torch(ours, theirs):
    for name in NAMES:
        setattr(ours, name, Tensor(getattr(theirs, name).detach().numpy().copy(), requires_grad=True))


def _unroll(cell, xs, state, lstm):
    """Sum of a fixed weighting of every step's output (so every step's gradient matters)."""
    total = 0.0
    for t, x in enumerate(xs):
        state = cell(x, state)
        h = state[0] if lstm else state
        total = total + (h * (0.5 + 0.1 * t)).sum() + ((state[1] * state[1]).sum() if lstm else 0.0)
    return total


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ours_cls,torch_cls,G", PAIRS)
def test_values_and_gradients_match_torch_over_unrolled_steps(ours_cls, torch_cls, G, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    B, I, H, T = 3, 4, 5, 6
    theirs = torch_cls(I, H).double()
    ours = ours_cls(I, H, dtype=np.float64)
    assert ours.weight_ih.shape == tuple(theirs.weight_ih.shape) == (G * H, I)
    assert ours.weight_hh.shape == (G * H, H) and ours.bias_ih.shape == ours.bias_hh.shape == (G * H,)
    _copy_from_torch(ours, theirs)
    xs = rng.standard_normal((T, B, I))
    h0 = rng.standard_normal((B, H))
    lstm = ours_cls is LSTMCell
    c0 = rng.standard_normal((B, H))
    txs = [torch.tensor(x, requires_grad=True) for x in xs]
    th0, tc0 = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    exs = [Tensor(x, requires_grad=True) for x in xs]
    eh0, ec0 = Tensor(h0, requires_grad=True), Tensor(c0, requires_grad=True)
    loss_t = _unroll(theirs, txs, (th0, tc0) if lstm else th0, lstm)
    loss_e = _unroll(ours, exs, (eh0, ec0) if lstm else eh0, lstm)
    loss_t.backward()
    loss_e.backward()
    np.testing.assert_allclose(loss_e.item(), loss_t.item(), rtol=1e-12)
    for name in NAMES:
        np.testing.assert_allclose(getattr(ours, name).grad, getattr(theirs, name).grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
    for e, t in zip(exs + [eh0] + ([ec0] if lstm else []), txs + [th0] + ([tc0] if lstm else [])):
        np.testing.assert_allclose(e.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ours_cls", [RNNCell, GRUCell, LSTMCell])
def test_gradcheck_of_the_recurrent_weight(ours_cls):
    rng = np.random.default_rng(3)
    cell = ours_cls(3, 4, dtype=np.float64, rng=1)
    xs = rng.standard_normal((4, 2, 3))
    lstm = ours_cls is LSTMCell
    w0 = cell.weight_hh.data.copy()

    def loss(w):
        cell.weight_hh = Tensor(w.reshape(w0.shape), requires_grad=True)
        return _unroll(cell, xs, None, lstm)

    def f(w):
        return loss(w).item()

    def grad(w):
        out = loss(w)
        out.backward()
        return cell.weight_hh.grad

    assert gradcheck(f, grad, w0)


def test_single_example_default_state_and_bad_input():
    cell = LSTMCell(3, 2, rng=0)
    h, c = cell(Tensor(np.ones(3, dtype=np.float32)))
    assert h.shape == c.shape == (2,)
    g = GRUCell(3, 2, rng=0)
    assert g(Tensor(np.ones((5, 3), dtype=np.float32))).shape == (5, 2)
    with pytest.raises(ValueError, match="input of shape"):
        RNNCell(3, 2)(Tensor(np.ones((5, 4), dtype=np.float32)))
    with pytest.raises(ValueError, match="hidden state"):
        RNNCell(3, 2)(Tensor(np.ones((5, 3), dtype=np.float32)), Tensor(np.ones((4, 2), dtype=np.float32)))
    with pytest.raises(ValueError, match="cell state"):
        cell(Tensor(np.ones((5, 3), dtype=np.float32)),
             (Tensor(np.ones((5, 2), dtype=np.float32)), Tensor(np.ones((4, 2), dtype=np.float32))))
    assert len(cell.parameters()) == 4 and "3, 2" in repr(cell)


def test_init_is_torchs_uniform():
    cell = GRUCell(10, 50, rng=0)
    k = 1 / np.sqrt(50)
    for p in cell.parameters():
        assert np.abs(p.data).max() <= k and np.abs(p.data).max() > 0.9 * k


@pytest.mark.parametrize("max_norm,norm_type", [(0.5, 2.0), (1e3, 2.0), (0.3, 1.0), (0.2, float("inf"))])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(3, 4), (4,), (2, 2, 2)]]
    ours = [Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for o, t, g in zip(ours, theirs, grads):
        o.grad, t.grad = g.copy(), torch.tensor(g)
    no_grad = Tensor(np.zeros(3), requires_grad=True)  # skipped, as torch skips .grad None
    total = clip_grad_norm_(ours + [no_grad], max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    np.testing.assert_allclose(total, total_t.item(), rtol=1e-12)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-12)
    assert no_grad.grad is None
    if max_norm < total:  # clipped: the global norm is max_norm / (total + 1e-6) * total
        new = np.sqrt(sum((o.grad ** 2).sum() for o in ours)) if norm_type == 2.0 else None
        if new is not None:
            np.testing.assert_allclose(new, max_norm * total / (total + 1e-6), rtol=1e-12)


def test_cells_are_reexported_from_nn():
    assert nn.LSTMCell is LSTMCell and nn.GRUCell is GRUCell and nn.RNNCell is RNNCell
