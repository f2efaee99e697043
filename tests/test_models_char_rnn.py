"""Chapter 10's PyTorch models: truncated BPTT mechanics, evaluation, temperature sampling, the LSTM gate
read-out, chrono initialization, the long-range task's training, gradient norms over time, and the GPU
preset's code path scaled down on the CPU (bf16 autocast)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.corpus import load_corpus
from course_lib.models import char_rnn as M

TINY = M.CharLMConfig(embed=8, hidden=16, seq_len=16, batch_size=4, steps=30, lr=1e-2)


def test_training_runs_truncated_bptt_and_learns():
    c = load_corpus()
    run = M.train_char_lm(c, TINY, "cpu", eval_chars=2000)
    assert run["losses"].shape == (30,) and np.isfinite(run["losses"]).all()
    assert run["losses"][-5:].mean() < run["losses"][:5].mean() - 0.5  # from ~log K = 4.56 towards the unigram
    assert 0 < run["val_loss"] < np.log(c.vocab_size)


def test_evaluate_carries_the_state_across_chunks():
    c = load_corpus()
    torch.manual_seed(0)
    model = M.CharRNN(c.vocab_size, TINY)
    ids = c.val[:700]
    one = M.evaluate(model, ids, chunk=10_000)
    assert M.evaluate(model, ids, chunk=97) == pytest.approx(one, rel=1e-5)
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(ids[:-1].copy())[None])
        ref = torch.nn.functional.cross_entropy(logits[0], torch.from_numpy(ids[1:].copy())).item()
    assert one == pytest.approx(ref, rel=1e-5)


def test_sampling_temperature():
    c = load_corpus()
    torch.manual_seed(0)
    model = M.CharRNN(c.vocab_size, TINY)
    greedy = M.sample(model, c, "def ", 20, tau=0)
    assert len(greedy) == 20 and greedy == M.sample(model, c, "def ", 20, tau=0, seed=5)
    assert M.sample(model, c, "def ", 20, tau=1.0, seed=1) == M.sample(model, c, "def ", 20, tau=1.0, seed=1)
    # A tiny temperature is the argmax.
    assert M.sample(model, c, "def ", 20, tau=1e-4, seed=3) == greedy
    with pytest.raises(ValueError, match="tau"):
        M.sample(model, c, "def ", 5, tau=-1)
    with pytest.raises(ValueError, match="prompt"):
        M.sample(model, c, "", 5)


def test_lstm_gates_reproduce_the_layer():
    c = load_corpus()
    torch.manual_seed(0)
    model = M.CharRNN(c.vocab_size, TINY)
    g = M.lstm_gates(model, c, "def f(x):\n    return x")
    assert g["f"].shape == (22, 16) and g["max_h_error"] < 1e-5
    assert ((g["f"] > 0) & (g["f"] < 1)).all() and (np.abs(g["g"]) < 1).all()
    np.testing.assert_allclose(g["c"][1], g["f"][1] * g["c"][0] + g["i"][1] * g["g"][1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="lstm"):
        M.lstm_gates(M.CharRNN(c.vocab_size, M.CharLMConfig(cell="gru", hidden=8, embed=4)), c, "ab")
    with pytest.raises(ValueError, match="cell"):
        M.CharRNN(c.vocab_size, M.CharLMConfig(cell="transformer"))


def test_gpu_preset_code_path_scaled_down_on_cpu_with_bf16_autocast():
    c = load_corpus()
    gpu = M.PRESETS.gpu
    assert gpu.autocast and gpu.compile and gpu.hidden > M.PRESETS.cpu.hidden
    small = M.scaled_down(gpu, embed=8, hidden=16, seq_len=16, batch_size=4, steps=3)
    run = M.train_char_lm(c, small, "cpu", eval_chars=500)  # compile is CUDA-only in train_char_lm
    assert run["model"].rnn.num_layers == 2 and np.isfinite(run["losses"]).all() and np.isfinite(run["val_loss"])
    lr = M.scaled_down(M.LONG_RANGE_PRESETS.gpu, hidden=8, batch_size=8, steps=3, test_size=50)
    assert M.train_long_range("lstm", 5, lr, "cpu")["accuracy"] >= 0


def test_chrono_init_sets_the_gates_memory():
    lstm, gru = torch.nn.LSTM(3, 10), torch.nn.GRU(3, 10)
    M.chrono_init_(lstm, 50, torch.Generator().manual_seed(0))
    M.chrono_init_(gru, 50, torch.Generator().manual_seed(0))
    b_f = lstm.bias_ih_l0[10:20].detach().numpy()
    assert (b_f >= 0).all() and (b_f <= np.log(49) + 1e-6).all()
    np.testing.assert_allclose(lstm.bias_ih_l0[:10].detach().numpy(), -b_f)
    np.testing.assert_allclose(gru.bias_ih_l0[10:20].detach().numpy(), b_f)
    assert (lstm.bias_hh_l0 == 0).all()
    cell = torch.nn.LSTMCell(3, 10)
    M.chrono_init_(cell, 50, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(cell.bias_ih[10:20].detach().numpy(), b_f)
    with pytest.raises(ValueError, match="LSTM or nn.GRU"):
        M.chrono_init_(torch.nn.RNN(3, 4), 10)


def test_long_range_short_delay_is_learned():
    cfg = M.scaled_down(M.LONG_RANGE_PRESETS.cpu, steps=80, test_size=300)
    run = M.train_long_range("lstm", 5, cfg, "cpu")
    assert run["accuracy"] > 0.9 and run["T"] == 5


def test_adding_task_variant_runs_and_rejects_unknown_tasks():
    cfg = M.scaled_down(M.LONG_RANGE_PRESETS.cpu, task="adding", steps=3, test_size=50)
    run = M.train_long_range("gru", 6, cfg, "cpu")
    assert run["mse"] > 0 and run["losses"].shape == (3,)
    with pytest.raises(ValueError, match="task"):
        M.train_long_range("rnn", 6, M.scaled_down(cfg, task="sort"), "cpu")


def test_gradient_norms_over_time():
    rnn = M.gradient_norms_over_time("rnn", 40, seed=0)
    lstm = M.gradient_norms_over_time("lstm", 40, seed=0)
    assert rnn["h"].shape == (41,) and lstm["c"].shape == (41,)
    # The loss sits at the last step; an untrained vanilla RNN's signal decays geometrically going back.
    assert rnn["h"][0] < 1e-4 * rnn["h"][-1]
    assert np.all(np.isfinite(lstm["h"])) and lstm["c"][0] > 0
    # Chrono initialization opens the additive path: far more of the signal reaches step 0.
    chrono = M.gradient_norms_over_time("lstm", 40, seed=0, chrono=True)
    assert chrono["c"][0] / chrono["c"][-1] > 1e3 * lstm["c"][0] / lstm["c"][-1]
