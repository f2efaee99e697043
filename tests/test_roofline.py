"""course_lib.roofline: the roof's arithmetic, each kernel's FLOP count against torch's FLOP counter, and a small
measurement (a compute-bound product attains far more FLOP/s than a memory-bound add)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from course_lib.roofline import KERNELS, attainable, measure_bandwidth, measure_kernels, ridge_point


def test_roof_arithmetic():
    peak, bw = 100e9, 10e9
    assert ridge_point(peak, bw) == 10.0
    assert attainable(1.0, peak, bw) == 10e9  # memory-bound: I * R_mem
    assert attainable(50.0, peak, bw) == peak  # compute-bound
    np.testing.assert_allclose(attainable(np.array([0.5, 10.0, 20.0]), peak, bw), [5e9, 100e9, 100e9])
    with pytest.raises(ValueError, match="positive"):
        ridge_point(0.0, bw)


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k.group in ("matmul", "convolution", "attention")],
                         ids=lambda k: k.name)
def test_matrix_product_flops_match_torch_flop_counter(kernel):
    run = kernel.build()
    with FlopCounterMode(display=False) as counter:
        run()
    counted = counter.get_total_flops()
    if kernel.group == "attention":
        # the counter sees the two batched products (4 T^2 d_k per head), not the softmax's 5 T^2 (a convention)
        heads, T = (int(s) for s in kernel.name.replace("h", " ").replace("T", " ").split()[1:3])
        assert counted == kernel.flops - heads * 5.0 * T * T
    else:
        assert counted == kernel.flops


def test_intensities_sit_where_theory_puts_them():
    by_name = {k.name: k.flops / k.bytes for k in KERNELS}
    assert by_name["matmul 1024"] == pytest.approx(1024 / 6)  # 2n^3 / (3 n^2 4 bytes)
    assert by_name["add 4,194,304"] == pytest.approx(1 / 12)
    assert all(k.flops / k.bytes < 2 for k in KERNELS if k.group in ("element-wise", "softmax"))


def test_measurement_is_consistent():
    small = [k for k in KERNELS if k.name in ("matmul 256", "add 4,194,304")]
    rows = measure_kernels(small, threads=1, min_seconds=0.05)
    for r in rows:
        assert r["attained"] == pytest.approx(r["flops"] / r["seconds"])
        assert r["intensity"] == pytest.approx(r["flops"] / r["bytes"])
    mm, add = rows
    assert mm["attained"] > 10 * add["attained"], rows  # compute-bound against memory-bound: ~100x measured
    assert measure_bandwidth(2 ** 22, threads=1, min_seconds=0.02) > 1e8  # > 0.1 GB/s on anything


def _mfu_module():
    import runpy
    import types
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "mfu.py"
    return types.SimpleNamespace(**runpy.run_path(str(script), run_name="mfu_benchmark"))


def test_mfu_gpu_code_path_on_the_cpu(capsys, monkeypatch):
    """benchmarks/mfu.py with the GPU preset's code path (bf16 autocast) scaled down, on the CPU, 3 steps."""
    import re

    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert _mfu_module().main(["--device", "cpu", "--preset", "gpu", "--scale-down", "--steps", "3",
                               "--threads", "1"]) == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line
    for pattern in (r"MFU \d+\.\d+%", r"3 steps", r"bfloat16 autocast", r"fp32 matmul, measured in this run",
                    r"[\d,]+ tokens/s"):
        assert re.search(pattern, line), (pattern, line)


@pytest.mark.parametrize("name,known", [("NVIDIA H200", True), ("NVIDIA A10G", False)])
def test_mfu_line_on_a_gpu_known_and_unknown(name, known):
    from course_lib.hardware import describe_gpu_peak, gpt_flops_per_token, gpu_bf16_peak
    from course_lib.models.gpt import GPT_PRESETS

    preset = GPT_PRESETS.gpu
    config = preset.config(96)
    achieved = 2.0e6 * gpt_flops_per_token(config)
    peak = gpu_bf16_peak(name)
    r = {"device": name, "preset": preset, "config": config, "steps": 30, "seconds": 3.0, "tokens_per_s": 2.0e6,
         "achieved": achieved, "peak": peak, "peak_text": describe_gpu_peak(name),
         "mfu": None if peak is None else achieved / peak, "notes": []}
    line = _mfu_module().report_line(r)
    if known:
        assert f"MFU {100 * achieved / 989e12:.2f}%" in line
    else:
        assert "MFU n/a" in line and "no dense bf16 peak known for 'NVIDIA A10G'" in line
