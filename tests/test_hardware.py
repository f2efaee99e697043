"""course_lib.hardware: the dense bf16 peak table (never the sparsity figure, unknown devices say so), MFU, the
GPT's parameter and FLOP counts against the PyTorch model, and the CPU matmul peak measurement."""
from __future__ import annotations

import re
import types

import pytest
import torch

from course_lib.hardware import (describe_gpu_peak, gpt_flops_per_token, gpt_compute_params, gpu_bf16_peak,
                                 measure_cpu_matmul_peak, mfu)
from course_lib.models.gpt import GPT, GPTConfig


@pytest.mark.parametrize("name,tflops", [
    ("NVIDIA H100 80GB HBM3", 989), ("NVIDIA H100 PCIe", 756), ("NVIDIA H100 NVL", 835), ("NVIDIA H200", 989),
    ("NVIDIA GH200 480GB", 989), ("NVIDIA H200 NVL", 835), ("NVIDIA A100-SXM4-80GB", 312),
    ("NVIDIA A100-PCIE-40GB", 312), ("NVIDIA A100 80GB PCIe", 312), ("NVIDIA L4", 121), ("NVIDIA L40S", 362),
    ("NVIDIA L40", 181), ("NVIDIA A10", 125),
])
def test_dense_bf16_peaks_by_device_name(name, tflops):
    assert gpu_bf16_peak(name) == tflops * 1e12
    assert f"{tflops} TFLOPS" in describe_gpu_peak(name)


@pytest.mark.parametrize("name", ["NVIDIA A10G", "Tesla V100-SXM2-16GB", "Simulated GPU 80GB", "NVIDIA B200",
                                  "NVIDIA GeForce RTX 4090", ""])
def test_unknown_devices_say_so_instead_of_guessing(name):
    assert gpu_bf16_peak(name) is None
    assert "no dense bf16 peak known" in describe_gpu_peak(name)
    with pytest.raises(ValueError, match="unknown"):
        mfu(1e12, gpu_bf16_peak(name))


def test_never_the_sparsity_figure():
    """Datasheets print 1,979 TFLOPS 'with sparsity' for the H100 SXM; dense is half of it."""
    assert gpu_bf16_peak("NVIDIA H100 80GB HBM3") == pytest.approx(1979e12 / 2, rel=1e-3)


def test_mfu():
    assert mfu(4e14, 989e12) == pytest.approx(0.4045, rel=1e-3)
    with pytest.raises(ValueError, match="positive"):
        mfu(1.0, 0.0)


@pytest.mark.parametrize("bias", [True, False])
def test_param_count_matches_the_model(bias):
    config = GPTConfig(vocab_size=37, context=16, n_layer=3, n_head=4, d_model=24, bias=bias)
    model = GPT(config)
    assert gpt_compute_params(config) == model.num_params() == model.num_params(False) - 16 * 24


def test_flops_per_token_is_six_n_plus_the_attention_term():
    config = GPTConfig(vocab_size=96, context=64, n_layer=2, n_head=4, d_model=64)
    n = gpt_compute_params(config)
    assert gpt_flops_per_token(config) == 6 * n + 12 * 2 * 64 * 64
    assert gpt_flops_per_token(config, seq_len=32) == 6 * n + 12 * 2 * 32 * 64


def test_flops_per_token_counts_the_forward_matmuls_three_times():
    """Count the forward pass's multiply-adds of one sequence by hand: 2 FLOPs each, times 3 with the backward."""
    config = GPTConfig(vocab_size=50, context=10, n_layer=2, n_head=2, d_model=8)
    d, T, V, D = 8, 10, 50, 2
    per_token_matmul = D * (3 * d * d + d * d + 4 * d * d + 4 * d * d) + V * d  # qkv, proj, fc, proj; lm_head
    per_token_attention = D * (T * d + T * d)  # q.k against T keys, weights times T values
    forward = 2 * (per_token_matmul + per_token_attention)
    n_non_matmul = gpt_compute_params(config) - (per_token_matmul)  # biases and layer norms: counted in 6 N_theta
    assert gpt_flops_per_token(config) == pytest.approx(3 * forward + 6 * n_non_matmul)


def test_cpu_matmul_peak_is_measured():
    peak = measure_cpu_matmul_peak(threads=1, sizes=(128,), min_seconds=0.05)
    assert 1e8 < peak < 1e13  # any CPU does 0.1 GFLOP/s; no CPU core does 10 TFLOP/s in float32
    assert torch.get_num_threads() >= 1


def _benchmark_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpt_cpu.py"
    spec = importlib.util.spec_from_file_location("gpt_cpu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpt_cpu_benchmark_prints_one_line_with_every_figure(capsys, monkeypatch):
    """benchmarks/gpt_cpu.py, a few steps: the one line has val_loss, bigram, tokens/s and MFU."""
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # the script sets it only where unset: not in this process
    module = _benchmark_module()
    assert module.main(["--device", "cpu", "--threads", "1", "--steps", "3", "--eval-windows", "8"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    for pattern in (r"val_loss \d+\.\d+", r"bigram \d+\.\d+", r"[\d,]+ tokens/s", r"MFU \d+\.\d+%", r"3 steps"):
        assert re.search(pattern, lines[0]), (pattern, lines[0])


@pytest.mark.parametrize("name", ["NVIDIA H200", "NVIDIA A10G"])
def test_gpt_cpu_benchmark_line_on_a_gpu(name):
    """The GPU branch of the line, without a GPU: the table's dense peak gives an MFU, an unknown device says so."""
    from course_lib.models.gpt import GPT_PRESETS

    preset = GPT_PRESETS.gpu
    config = preset.config(96)
    run = types.SimpleNamespace(config=config, preset=preset, model=GPT(config), steps=2000, seconds=55.0,
                                first_step_seconds=40.0, tokens_per_s=1.0e6, val_loss=1.5, notes=[])
    line = _benchmark_module().report_line(run, {"bigram": 2.558, "trigram": 2.033}, name, gpu_bf16_peak(name),
                                           describe_gpu_peak(name), "gpu", 1.0)
    if gpu_bf16_peak(name) is None:
        assert "MFU n/a" in line and "no dense bf16 peak known for 'NVIDIA A10G'" in line
    else:
        expected = 100 * 1.0e6 * gpt_flops_per_token(config) / 989e12
        assert f"MFU {expected:.1f}%" in line and "989 TFLOPS" in line
        assert "bigram - val_loss 1.058 (target >= 0.25: met)" in line
