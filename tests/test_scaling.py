"""course_lib.scaling: parameter counts against published and built models, 6 N_theta N_tok with its 2 + 4 checked
by torch's FLOP counter, the chapter 11 GPT's FLOPs against FlopCounterMode, days, and memory arithmetic."""
from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from course_lib.hardware import gpt_flops_per_token
from course_lib.models.gpt import GPT, GPTConfig
from course_lib.scaling import (BYTES_PER_PARAM, FLOPS_PER_PARAM_TOKEN, GPT_SHAPES, activation_bytes, attention_flops,
                                gpt_matmul_flops, model_state_bytes, sharded_bytes_per_gpu, sharded_components, training_days,
                                training_flops, transformer_params)


def test_gpt2_small_exact_and_gpt3_about_175b():
    # 124,439,808: the count of Hugging Face's GPT2Model (gpt2), tied head counted once.
    assert transformer_params(**GPT_SHAPES["gpt2-small"]) == 124_439_808
    n3 = transformer_params(**GPT_SHAPES["gpt3"])
    assert n3 == 174_604_259_328
    assert abs(n3 - 175e9) / 175e9 < 0.01
    # The published GPT-2 sizes: 355M, 774M, 1.5B (Radford et al. report 345M, 762M, 1542M without the tie).
    assert transformer_params(**GPT_SHAPES["gpt2-medium"]) == 354_823_168
    assert transformer_params(**GPT_SHAPES["gpt2-xl"]) == 1_557_611_200


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 8, 5, 4), (2, 16, 11, 7), (3, 24, 29, 12)])
def test_params_equal_the_chapter_11_model(shape, bias):
    n_layer, d_model, vocab, context = shape
    config = GPTConfig(vocab_size=vocab, context=context, n_layer=n_layer, n_head=4 if d_model % 4 == 0 else 1,
                       d_model=d_model, bias=bias)
    model = GPT(config)
    assert transformer_params(n_layer, d_model, vocab, context, bias=bias) == model.num_params(exclude_position=False)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="n_layer"):
        transformer_params(0, 8, 10, 10)
    with pytest.raises(ValueError, match="d_model"):
        transformer_params(2, 7.5, 10, 10)
    with pytest.raises(ValueError, match="n_tokens"):
        training_flops(1e9, -1)


def test_the_six_is_two_forward_and_four_backward():
    """One linear layer without bias on B tokens: FlopCounterMode sees 2 N B forward and 4 N B backward."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(24, 40, bias=False)
    x = torch.randn(7, 24, requires_grad=True)  # the input's gradient is computed, as inside a network
    n_params, tokens = layer.weight.numel(), x.shape[0]
    with FlopCounterMode(display=False) as fwd:
        y = layer(x)
    with FlopCounterMode(display=False) as bwd:
        y.sum().backward()
    assert fwd.get_total_flops() == FLOPS_PER_PARAM_TOKEN["forward"] * n_params * tokens
    assert bwd.get_total_flops() == FLOPS_PER_PARAM_TOKEN["backward"] * n_params * tokens
    assert training_flops(n_params, tokens) == (fwd.get_total_flops() + bwd.get_total_flops())


def test_gpt3_compute_and_days():
    c = training_flops(175e9, 300e9)
    assert c == pytest.approx(3.15e23, rel=1e-12)
    assert training_days(c, 1e14) == pytest.approx(3.15e23 / 1e14 / 86400)
    assert training_days(c, 1e14) / 365.25 == pytest.approx(99.8, abs=0.1)
    # 1024 devices at 40% MFU: 89 days
    assert training_days(c, 1e14, utilization=0.4, n_devices=1024) == pytest.approx(89.0, abs=0.1)
    with pytest.raises(ValueError, match="fraction"):
        training_days(c, 1e14, utilization=40)
    # Attention's share for GPT-3 is under 3% (why Kaplan leaves it out)
    s = GPT_SHAPES["gpt3"]
    share = attention_flops(s["n_layer"], s["context"], s["d_model"]) / (6 * 175e9)
    assert 0.02 < share < 0.03


@pytest.mark.parametrize("seq_len,batch", [(16, 3), (9, 2)])
def test_chapter_11_gpt_flops_match_torch_flop_counter(seq_len, batch):
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=11, context=16, n_layer=2, n_head=2, d_model=8)
    model = GPT(config)
    idx = torch.randint(0, 11, (batch, seq_len))
    # The math backend decomposes attention into bmm's that the counter sees (the fused CPU kernel is not counted)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        _, loss = model(idx, idx)
        loss.backward()
    assert counter.get_total_flops() == gpt_matmul_flops(config, batch, seq_len)
    # hardware.gpt_flops_per_token also counts the biases and layer norms (6 N_theta): a little more, never less
    extra = gpt_flops_per_token(config, seq_len) * batch * seq_len - counter.get_total_flops()
    assert extra == 6 * (config.n_layer * 13 * config.d_model + 2 * config.d_model) * batch * seq_len


def test_bytes_per_parameter():
    assert sum(BYTES_PER_PARAM["mixed"].values()) == 16
    assert sum(BYTES_PER_PARAM["fp32"].values()) == 16
    states = model_state_bytes(175e9)
    assert states["total"] == 16 * 175e9
    assert states["weights"] == 2 * 175e9
    assert model_state_bytes(175e9, "bf16_inference")["total"] / 80e9 == pytest.approx(4.375)  # > one 80 GB GPU
    with pytest.raises(ValueError, match="precision"):
        model_state_bytes(1e9, "fp8")


def test_zero_stages():
    psi, n = 7.5e9, 64  # ZeRO paper, figure 1: 7.5B parameters on 64 GPUs: 120, 31.4, 16.6, 1.88 GB
    got = [sharded_bytes_per_gpu(psi, n, stage) / 1e9 for stage in range(4)]
    assert got == pytest.approx([120.0, 31.40625, 16.640625, 1.875])
    assert sharded_bytes_per_gpu(psi, 1, 3) == sharded_bytes_per_gpu(psi, 1, 0)  # one GPU: nothing to shard
    with pytest.raises(ValueError, match="stage"):
        sharded_bytes_per_gpu(psi, n, 4)


def test_activation_memory():
    # GPT-3, one sequence of 2048: 2048 * 12288 * (34 + 5 * 96 * 2048 / 12288) = 2048 * 12288 * 114 per layer
    s = GPT_SHAPES["gpt3"]
    per_layer = activation_bytes(1, s["d_model"], 96, s["context"], 1)
    assert per_layer == 2048 * 12288 * 114
    assert activation_bytes(96, s["d_model"], 96, s["context"], 1) == 96 * per_layer
    # Linear in the batch, and the attention term quadratic in the sequence length
    a1, a2 = activation_bytes(2, 64, 4, 32, 1), activation_bytes(2, 64, 4, 32, 3)
    assert a2 == 3 * a1
    quad = activation_bytes(1, 64, 4, 64, 1) - 2 * activation_bytes(1, 64, 4, 32, 1)
    assert quad == 5 * 4 * (64 ** 2 - 2 * 32 ** 2)
    assert activation_bytes(1, 64, 4, 32, 1, bytes_per_value=4) == 2 * activation_bytes(1, 64, 4, 32, 1)


def test_sharded_components_add_up_and_fp32_has_no_master_copy():
    parts = sharded_components(1e9, 8, 2, "fp32")
    assert parts == {"weights": 4e9, "gradients": 4e9 / 8, "optimizer": 8e9 / 8}
    assert sharded_bytes_per_gpu(1e9, 8, 2, "fp32") == sum(parts.values())
    with pytest.raises(ValueError, match="precision"):
        sharded_components(1e9, 8, 2, "bf16_inference")
