"""The engine's GPT (course_lib.engine_gpt) against the PyTorch GPT (course_lib.models.gpt) in float64: the same
parameter names and order, the same logits and loss from the same weights, and the same loss and the same
parameters after several SGD and AdamW steps (torch.optim on one side, course_lib's optimizers on the other)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import optim as course_optim
from course_lib.autograd import no_grad
from course_lib.autograd import optim as engine_optim
from course_lib.device import torch_threads
from course_lib.engine_gpt import EngineGPT
from course_lib.models.gpt import GPT, GPTConfig

# Float64 throughout: the two sides differ only in the order of floating-point operations, so they agree
# to a few hundred ulps of the quantities involved (measured: about 1e-14 relative after the steps below).
# 1e-9 leaves room for the error growth of a few optimizer steps and still catches any real mismatch (a wrong
# scale, mask, tie or init is off by > 1e-3).
RTOL = 1e-9
CONFIGS = {
    "bias": GPTConfig(vocab_size=13, context=8, n_layer=2, n_head=2, d_model=12),
    "no_bias": GPTConfig(vocab_size=9, context=6, n_layer=1, n_head=3, d_model=12, bias=False),
}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models: a second thread waiting for a core of a busy 2-core machine costs more than it saves."""
    with torch_threads(1):
        yield


def _pair(config, seed=0):
    torch.manual_seed(seed)
    theirs = GPT(config).double()
    with torch.no_grad():  # weights of order one, so that every part of the network matters in the comparison
        for name, p in theirs.named_parameters():
            if "ln" not in name:
                p.normal_(0.0, 0.3)
    return theirs, EngineGPT.from_torch(theirs, dtype=np.float64)


def _batch(config, seed, batch=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, config.vocab_size, (batch, config.context)), rng.integers(0, config.vocab_size,
                                                                                    (batch, config.context))


@pytest.mark.parametrize("name", CONFIGS)
def test_same_names_and_same_forward(name):
    config = CONFIGS[name]
    theirs, ours = _pair(config)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert set(ours.state_dict()) == set(theirs.state_dict())
    x, y = _batch(config, 1)
    ref_logits, ref_loss = theirs(torch.tensor(x), torch.tensor(y))
    logits, loss = ours(x, y)
    np.testing.assert_allclose(logits.data, ref_logits.detach().numpy(), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=RTOL)
    ref_loss.backward()
    loss.backward()
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=RTOL, atol=1e-12, err_msg=n)


# The key bias gets no gradient in exact arithmetic: adding b to every key adds q.b to every score of a query,
# and the softmax ignores a shift. Both sides compute rounding noise there (below KEY_BIAS_NOISE, asserted), which
# SGD turns into updates of lr * noise, but Adam into lr * noise / (|noise| + eps): up to lr * KEY_BIAS_NOISE / eps
# per step, different on the two sides. The key bias is compared with that absolute allowance.
KEY_BIAS_NOISE = 1e-13


def _key_bias(name, array, config):
    d = config.d_model
    return array[d:2 * d] if name.endswith("attn.qkv.bias") else None


def _step_for_step(config, make_opts, steps=4, adam_lr=None):
    """Train both sides on the same batches; return the largest relative deviation of any loss or parameter
    (the key bias apart: see KEY_BIAS_NOISE)."""
    theirs, ours = _pair(config)
    t_opt, e_opt = make_opts(theirs, ours)
    worst = 0.0
    for step in range(steps):
        x, y = _batch(config, 10 + step)
        _, t_loss = theirs(torch.tensor(x), torch.tensor(y))
        t_opt.zero_grad()
        t_loss.backward()
        for name, tp in theirs.named_parameters():
            kb = _key_bias(name, tp.grad, config)
            assert kb is None or float(kb.abs().max()) < KEY_BIAS_NOISE
        t_opt.step()
        _, e_loss = ours(x, y)
        e_opt.zero_grad()
        e_loss.backward()
        e_opt.step()
        np.testing.assert_allclose(e_loss.item(), t_loss.item(), rtol=RTOL, err_msg=f"loss at step {step}")
        worst = max(worst, abs(e_loss.item() - t_loss.item()) / abs(t_loss.item()))
    key_atol = steps * (adam_lr * KEY_BIAS_NOISE / 1e-8 if adam_lr else 1.0 * KEY_BIAS_NOISE)
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        ref, got = tp.detach().numpy().copy(), p.data.copy()
        kb = _key_bias(n, ref, config)
        if kb is not None:
            np.testing.assert_allclose(_key_bias(n, got, config), kb, rtol=0, atol=key_atol, err_msg=n)
            kb[...] = 0.0
            _key_bias(n, got, config)[...] = 0.0
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=1e-12, err_msg=n)
        worst = max(worst, float(np.max(np.abs(got - ref)) / np.max(np.abs(ref))))
    # the comparison is not empty: training moved the weights
    start, _ = _pair(config)
    moved = max(float((tp.detach() - sp.detach()).abs().max())
                for tp, sp in zip(theirs.parameters(), start.parameters()))
    assert moved > 1e-3
    return worst


@pytest.mark.parametrize("name", CONFIGS)
def test_sgd_steps_match_torch(name):
    worst = _step_for_step(CONFIGS[name], lambda t, e: (torch.optim.SGD(t.parameters(), lr=0.1),
                                                         engine_optim.SGD(e.parameters(), lr=0.1)))
    print(f"SGD, {name}: largest relative deviation of a loss or parameter after 4 steps = {worst:.1e}")


@pytest.mark.parametrize("name", CONFIGS)
def test_adamw_steps_match_torch(name):
    def opts(t, e):
        kw = dict(lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
        return torch.optim.AdamW(t.parameters(), **kw), course_optim.AdamW(e.parameters(), **kw)
    worst = _step_for_step(CONFIGS[name], opts, adam_lr=1e-2)
    print(f"AdamW, {name}: largest relative deviation of a loss or parameter after 4 steps = {worst:.1e}")


def test_tied_embedding_gets_both_gradients():
    """The token embedding is read in and read out: its gradient is the sum of the two uses, as in torch."""
    config = CONFIGS["bias"]
    _, ours = _pair(config)
    x, y = _batch(config, 2)
    _, loss = ours(x, y)
    loss.backward()
    total = ours.tok_emb.weight.grad.copy()
    rows_used = np.unique(x)
    unused = np.setdiff1d(np.arange(config.vocab_size), rows_used)
    assert unused.size and np.all(np.abs(total[unused]) > 0)  # rows never read in still learn from the read-out


def test_load_state_dict_checks_names_shapes_and_tying():
    config = CONFIGS["bias"]
    theirs, ours = _pair(config)
    sd = {k: v.numpy() for k, v in theirs.state_dict().items()}
    with pytest.raises(KeyError, match="missing"):
        ours.load_state_dict({k: v for k, v in sd.items() if k != "ln_f.bias"})
    with pytest.raises(ValueError, match="ties"):
        ours.load_state_dict({**sd, "lm_head.weight": sd["lm_head.weight"] + 1})
    with pytest.raises(ValueError, match="shape"):
        ours.load_state_dict({**sd, "ln_f.bias": np.zeros(5)})
    with pytest.raises(ValueError, match="dropout"):
        EngineGPT(GPTConfig(vocab_size=5, context=4, n_layer=1, n_head=1, d_model=4, dropout=0.1))


def test_engine_gpt_alone_initializes_like_gpt2_and_trains():
    config = GPTConfig(vocab_size=7, context=8, n_layer=1, n_head=2, d_model=16)
    model = EngineGPT(config, dtype=np.float64, rng=0)
    assert abs(model.tok_emb.weight.data.std() - 0.02) < 0.005
    ids = np.tile(np.arange(7), 4)[None, :9]  # a cycle: next = current + 1 (mod 7)
    x, y = ids[:, :8], ids[:, 1:9]
    opt = course_optim.AdamW(model.parameters(), lr=3e-2)
    first = None
    for _ in range(40):
        _, loss = model(x, y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 1.9 and loss.item() < 0.2  # from log 7 = 1.95 to nearly certain
    with no_grad():
        logits, _ = model(x)
    assert logits.shape == (1, 8, 7)
