"""Chapter 11's PyTorch GPT (course_lib.models.gpt) and its training loop (gpt_training): shapes and names,
weight tying, causality, the 1/sqrt(head_size) scale, KV-cache generation giving the same logits and tokens as
generation without it (also past the context), temperature and top-k, and a scaled-down run of the GPU preset's
code path (bf16 autocast, torch.compile asked for) on the CPU."""
from __future__ import annotations

import dataclasses
import math
import types

import numpy as np
import pytest
import torch

from course_lib.device import torch_threads
from course_lib.models.gpt import GPT, GPT_PRESETS, GPTConfig, GPTPreset
from course_lib.models.gpt_training import batch_windows, evaluate, learning_rate, train_gpt



@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models: a second thread waiting for a core of a busy 2-core machine costs more than it saves."""
    with torch_threads(1):
        yield


SMALL = GPTConfig(vocab_size=11, context=8, n_layer=2, n_head=2, d_model=12)


def _model(config=SMALL, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return GPT(config).to(dtype)


def test_shapes_names_and_weight_tying():
    model = _model()
    idx = torch.randint(0, 11, (3, 8))
    logits, loss = model(idx)
    assert logits.shape == (3, 8, 11) and loss is None
    names = [n for n, _ in model.named_parameters()]
    assert names[:4] == ["tok_emb.weight", "pos_emb.weight", "blocks.0.ln_1.weight", "blocks.0.ln_1.bias"]
    assert "lm_head.weight" not in names and "lm_head.weight" in model.state_dict()  # tied: one parameter
    assert model.lm_head.weight is model.tok_emb.weight
    assert model.state_dict()["blocks.1.attn.qkv.weight"].shape == (36, 12)
    assert model.state_dict()["blocks.1.mlp.fc.weight"].shape == (48, 12)


def test_loss_at_initialization_is_near_log_vocab():
    """Initial logits are small (weights N(0, 0.02^2)), so the prediction is nearly uniform: L ~ log V."""
    model = _model(GPTConfig(vocab_size=50, context=16, n_layer=2, n_head=2, d_model=32))
    g = torch.Generator().manual_seed(0)
    idx, targets = torch.randint(0, 50, (8, 16), generator=g), torch.randint(0, 50, (8, 16), generator=g)
    _, loss = model(idx, targets)
    # logits have std about 0.02 sqrt(d_model) = 0.11; the loss exceeds log V by about half their variance
    assert abs(loss.item() - math.log(50)) < 0.05


def test_logits_at_t_do_not_depend_on_later_tokens():
    model = _model()
    idx = torch.randint(0, 11, (2, 8))
    changed = idx.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11
    a, b = model(idx)[0], model(changed)[0]
    torch.testing.assert_close(a[:, :5], b[:, :5], rtol=1e-12, atol=1e-12)
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_attention_scales_by_head_size_not_model_width():
    """The block's attention equals a hand computation with 1/sqrt(d_k), d_k = head_size, and not 1/sqrt(d_model)."""
    model = _model()
    attn = model.blocks[0].attn
    with torch.no_grad():
        attn.qkv.weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(0))  # scores of order one
    x = torch.randn(2, 8, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ours, _ = attn(x)
    q, k, v = attn.qkv(x).split(12, dim=2)
    heads = lambda t: t.view(2, 8, 2, 6).transpose(1, 2)  # noqa: E731  (batch, heads, time, head_size)
    q, k, v = heads(q), heads(k), heads(v)
    causal = torch.ones(8, 8, dtype=torch.bool).tril()

    def by_hand(scale):
        w = (q @ k.transpose(-2, -1) * scale).masked_fill(~causal, float("-inf")).softmax(dim=-1)
        return attn.proj((w @ v).transpose(1, 2).reshape(2, 8, 12))
    torch.testing.assert_close(ours, by_hand(1 / math.sqrt(6)), rtol=1e-10, atol=1e-12)
    assert (ours - by_hand(1 / math.sqrt(12))).abs().max() > 1e-3  # 3e-2 measured: far outside the 1e-10 agreement


def test_too_long_input_and_wrong_types_get_clear_messages():
    model = _model()
    with pytest.raises(ValueError, match="exceed the context of 8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="integer tensor"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="divide d_model"):
        GPTConfig(vocab_size=5, context=4, n_layer=1, n_head=5, d_model=12)
    with pytest.raises(TypeError, match="preset.config"):
        GPT(GPT_PRESETS.cpu)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(torch.zeros(1, 1, dtype=torch.long), 2, temperature=-1)


def test_cached_step_gives_the_logits_of_a_full_forward_pass():
    model = _model()
    idx = torch.randint(0, 11, (2, 8))
    full, _ = model(idx)
    logits, cache = model._run(idx[:, :3])  # a prompt of 3, then 5 single cached steps
    steps = [logits]
    for t in range(3, 8):
        logits, cache = model._run(idx[:, t:t + 1], cache, start=t)
        steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-10, atol=1e-12)
    # several new positions after a cache (the explicit offset mask)
    logits, cache = model._run(idx[:, :3])
    more, _ = model._run(idx[:, 3:8], cache, start=3)
    torch.testing.assert_close(more, full[:, 3:], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("temperature,top_k", [(1.0, None), (0.7, 3), (1.5, None), (0.0, None)])
@pytest.mark.parametrize("prompt_len", [1, 5, 12])
def test_kv_cache_generates_the_same_tokens(temperature, top_k, prompt_len):
    """25 new tokens: past the context of 8, where the cached path must re-read its window."""
    model = _model()
    prompt = torch.randint(0, 11, (3, prompt_len), generator=torch.Generator().manual_seed(prompt_len))
    runs = [model.generate(prompt, 25, temperature=temperature, top_k=top_k, use_kv_cache=cache,
                           generator=torch.Generator().manual_seed(7)) for cache in (True, False)]
    assert runs[0].shape == (3, prompt_len + 25)
    assert torch.equal(runs[0][:, :prompt_len], prompt)
    assert torch.equal(runs[0], runs[1])


def test_kv_cache_in_float32_and_train_mode_is_restored():
    model = _model(GPTConfig(vocab_size=11, context=8, n_layer=2, n_head=2, d_model=12, dropout=0.5), dtype=torch.float32)
    model.train()
    prompt = torch.zeros(2, 2, dtype=torch.long)
    a = model.generate(prompt, 20, temperature=0.0)
    b = model.generate(prompt, 20, temperature=0.0, use_kv_cache=False)
    assert torch.equal(a, b) and model.training  # generation ran in eval mode (no dropout), then back


def test_temperature_zero_is_greedy_and_top_k_limits_the_support():
    model = _model()
    prompt = torch.randint(0, 11, (4, 3), generator=torch.Generator().manual_seed(3))
    greedy = model.generate(prompt, 6, temperature=0.0)
    top1 = model.generate(prompt, 6, temperature=1.0, top_k=1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(greedy, top1)
    logits = model(prompt)[0][:, -1]
    allowed = torch.topk(logits, 3, dim=-1).indices
    draws = torch.stack([model.generate(prompt, 1, temperature=2.0, top_k=3,
                                        generator=torch.Generator().manual_seed(s))[:, -1] for s in range(200)], 1)
    assert all(set(draws[b].tolist()) <= set(allowed[b].tolist()) for b in range(4))
    assert all(len(set(draws[b].tolist())) == 3 for b in range(4))  # 200 draws at tau = 2 hit all three


def test_presets_fit_their_purpose():
    cpu, gpu = GPT_PRESETS.cpu, GPT_PRESETS.gpu
    assert isinstance(cpu, GPTPreset) and cpu.autocast is None and not cpu.compile
    assert gpu.autocast == "bfloat16" and gpu.compile
    assert gpu.config(96).head_size == 64 and gpu.d_model > cpu.d_model and gpu.n_layer > cpu.n_layer
    assert cpu.config(96) == GPTConfig(96, cpu.context, cpu.n_layer, cpu.n_head, cpu.d_model, cpu.dropout)
    assert GPT_PRESETS.for_device("cpu") is cpu


def test_learning_rate_warms_up_then_decays_to_min_lr():
    p = GPT_PRESETS.cpu
    assert learning_rate(0, 0.0, p) == pytest.approx(p.lr / p.warmup_steps)
    assert learning_rate(p.warmup_steps - 1, 0.0, p) == pytest.approx(p.lr)
    assert learning_rate(p.warmup_steps, p.warmup_steps / p.max_steps, p) == pytest.approx(p.lr)
    assert learning_rate(p.max_steps, 1.0, p) == pytest.approx(p.min_lr)
    mids = [learning_rate(s, s / p.max_steps, p) for s in range(p.warmup_steps, p.max_steps, 7)]
    assert all(a >= b for a, b in zip(mids, mids[1:]))


def test_batch_windows_are_inputs_followed_by_their_targets():
    ids = torch.arange(20)
    w = batch_windows(ids, 5)
    assert w.shape == (15, 6) and torch.equal(w[3], torch.arange(3, 9))
    with pytest.raises(ValueError, match="fewer than"):
        batch_windows(torch.arange(4), 5)


def _toy_corpus(n=6000, seed=0):
    """A corpus with structure a small model learns in a few steps: a repeated pattern with noise."""
    rng = np.random.default_rng(seed)
    ids = np.tile(np.arange(7), n // 7 + 1)[:n]
    flip = rng.random(n) < 0.05
    ids[flip] = rng.integers(0, 7, flip.sum())
    return types.SimpleNamespace(train=ids[: n * 9 // 10], val=ids[n * 9 // 10:], vocab_size=7)


def test_training_learns_a_pattern_and_evaluate_scores_the_whole_split():
    corpus = _toy_corpus()
    preset = dataclasses.replace(GPT_PRESETS.cpu, context=16, n_layer=1, n_head=2, d_model=32, batch_size=16,
                                 lr=1e-2, max_steps=100, warmup_steps=5, max_seconds=60.0)
    run = train_gpt(corpus, preset, device="cpu", seed=0, log_every=20)
    assert run.steps == 100 and run.tokens_per_s > 0 and run.history[0][0] == 0
    # 5% of the ids are replaced by a uniform draw: the best possible loss is about
    # -(0.957 log 0.957 + 6 * 0.0071 log 0.0071) = 0.25 nats, far below log 7 = 1.95
    assert run.val_loss < 0.6
    assert run.val_loss == pytest.approx(evaluate(run.model, corpus.val, 16), rel=1e-6)


def test_gpu_preset_code_path_runs_on_the_cpu_scaled_down():
    """The GPU preset's settings (bf16 autocast, compile asked for, dropout, fused-path choices) on a tiny model:
    a GPU run must never meet code that never ran."""
    corpus = _toy_corpus()
    preset = dataclasses.replace(GPT_PRESETS.gpu, context=16, n_layer=2, n_head=2, d_model=16, batch_size=8,
                                 max_steps=30, warmup_steps=3, max_seconds=60.0)
    assert preset.autocast == "bfloat16" and preset.compile
    run = train_gpt(corpus, preset, device="cpu", seed=0, log_every=10, eval_windows=20)
    assert any("torch.compile" in note for note in run.notes)  # compiled only on CUDA: said so
    assert run.steps == 30 and np.isfinite(run.val_loss)
    assert run.history[-1][1] < run.history[0][1]
    assert next(run.model.parameters()).dtype == torch.float32  # autocast keeps float32 master weights
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, _ = run.model(torch.zeros(1, 4, dtype=torch.long))
    assert logits.dtype == torch.bfloat16
    out = run.model.generate(torch.zeros(1, 2, dtype=torch.long), 20, temperature=0.0)
    assert out.shape == (1, 22)
