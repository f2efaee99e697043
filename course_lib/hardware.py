r"""How fast the hardware could go, and how much of that a model uses: peaks, FLOP counts and MFU.

API::

    from course_lib.hardware import (measure_cpu_matmul_peak, gpu_bf16_peak, mfu, gpt_flops_per_token,
                                     gpt_compute_params)
    peak = measure_cpu_matmul_peak(threads=2)        # FLOP/s of float32 matmul on this CPU, measured now
    peak = gpu_bf16_peak("NVIDIA H100 80GB HBM3")    # 9.89e14 (dense bf16), None for an unknown device
    flops = gpt_flops_per_token(config)              # training FLOPs per token: 6 N_theta + 12 D T d_model
    mfu(tokens_per_s * flops, peak)                  # model FLOP utilization, a fraction

**MFU** (model FLOP utilization, Chowdhery et al. 2022, PaLM, appendix B) is the FLOPs the model
*needs* per second, counted from its shape, divided by the hardware's peak: recomputation,
padding and framework overhead do not count as useful work. On a GPU the peak is the datasheet's
**dense** bf16 tensor-core rate (datasheets also print a figure "with sparsity", twice as large,
which applies only to 2:4-sparse weights and is never used here). A device missing from the table
gets None and a message, not a guess. On a CPU no datasheet figure fits the machine at hand
(clock, vector units, other tenants), so the peak is *measured*: the best rate of large float32
matrix products, with the threads the model uses, in the same run.
"""
from __future__ import annotations

import re
import time

__all__ = ["DENSE_BF16_TFLOPS", "gpu_bf16_peak", "describe_gpu_peak", "measure_cpu_matmul_peak", "mfu",
           "gpt_compute_params", "gpt_flops_per_token"]

#: Dense bf16 tensor-core peaks in TFLOPS, matched against ``torch.cuda.get_device_name()`` in this order
#: (a regular expression, case-insensitive). Each is half the datasheet's "with sparsity" figure.
DENSE_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    # NVIDIA H100 Tensor Core GPU datasheet: BF16 1,979 TFLOPS with sparsity (SXM), 1,671 (NVL), 1,513 (PCIe)
    (r"H100.*NVL", 835.0),
    (r"H100.*PCIe", 756.0),
    (r"H100", 989.0),  # SXM5 ("NVIDIA H100 80GB HBM3")
    # NVIDIA H200 datasheet: BF16 1,979 TFLOPS with sparsity (SXM), 1,671 (NVL)
    (r"H200.*NVL", 835.0),
    (r"H200", 989.0),  # also GH200: the same 1,979 with sparsity (GH200 datasheet)
    # NVIDIA A100 datasheet: BF16 624 TFLOPS with sparsity, SXM4 and PCIe, 40 and 80 GB
    (r"A100", 312.0),
    # NVIDIA L40S datasheet: BF16 733 with sparsity; L40: 362; L4: 242; A10: 250
    (r"L40S", 362.0),
    (r"\bL40\b", 181.0),
    (r"\bL4\b", 121.0),
    (r"\bA10\b", 125.0),
)


def gpu_bf16_peak(device_name: str) -> float | None:
    """Dense bf16 peak of a CUDA device in FLOP/s, looked up by its name; None for a device not in the table."""
    for pattern, tflops in DENSE_BF16_TFLOPS:
        if re.search(pattern, device_name, flags=re.IGNORECASE):
            return tflops * 1e12
    return None


def describe_gpu_peak(device_name: str) -> str:
    """A line saying which peak MFU is measured against, or that this device's peak is unknown."""
    peak = gpu_bf16_peak(device_name)
    if peak is None:
        return (f"no dense bf16 peak known for {device_name!r}: MFU not computed (add it to "
                "course_lib.hardware.DENSE_BF16_TFLOPS with its datasheet source)")
    return f"{device_name}: dense bf16 peak {peak / 1e12:.0f} TFLOPS (datasheet)"


def measure_cpu_matmul_peak(threads: int | None = None, sizes=(256, 512, 1024), min_seconds: float = 0.25) -> float:
    r"""The CPU's float32 matrix-product rate in FLOP/s, measured now with torch.

    Parameters
    ----------
    threads : int, optional
        torch's thread count during the measurement (default: as set); use the training run's.
    sizes : sequence of int
        Square sizes :math:`n` tried; each product counts :math:`2n^3` FLOPs.
    min_seconds : float
        Repeat each size for at least this long; the fastest repetition counts.

    Returns
    -------
    float
        The best rate over sizes and repetitions: the peak this machine reaches now, other
        processes included (on a shared machine it moves with the load average).
    """
    import torch

    from course_lib.device import torch_threads

    best = 0.0
    with torch_threads(threads), torch.no_grad():
        for n in sizes:
            a, b = torch.randn(n, n), torch.randn(n, n)
            out = torch.empty(n, n)
            torch.mm(a, b, out=out)  # warm-up: allocation, thread pool
            start = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                torch.mm(a, b, out=out)
                best = max(best, 2.0 * n ** 3 / (time.perf_counter() - t0))
                if time.perf_counter() - start > min_seconds:
                    break
    return best


def mfu(achieved_flops_per_s: float, peak: float | None) -> float:
    """Model FLOP utilization: ``achieved_flops_per_s / peak`` (a fraction; x100 for percent)."""
    if peak is None:
        raise ValueError("mfu: the peak is unknown for this device (gpu_bf16_peak returned None); "
                         "report the achieved FLOP/s without an MFU")
    if not peak > 0 or not achieved_flops_per_s >= 0:
        raise ValueError(f"mfu: need a positive peak and a non-negative rate, got {achieved_flops_per_s}, {peak}")
    return achieved_flops_per_s / peak


def gpt_compute_params(config) -> int:
    r"""The parameters that cost compute, :math:`N_\theta`: those of :class:`course_lib.models.gpt.GPT` without the
    position embeddings (looked up, not multiplied), the tied output layer counted once.

    Per block :math:`12 d^2` (q, k, v, output: :math:`4d^2`; MLP :math:`8d^2`) plus :math:`13d` of biases and
    layer-norm parameters with ``bias=True`` (:math:`2d` without); the final layer norm; the token embedding
    :math:`V d`, which is also the output layer.
    """
    d, bias = config.d_model, getattr(config, "bias", True)
    per_block = 12 * d * d + (13 * d if bias else 2 * d)
    return config.n_layer * per_block + (2 * d if bias else d) + config.vocab_size * d


def gpt_flops_per_token(config, seq_len: int | None = None) -> float:
    r"""Training FLOPs per token of the GPT (forward and backward): :math:`6N_\theta + 12\,D\,T\,d_\text{model}`.

    Parameters
    ----------
    config : GPTConfig
    seq_len : int, optional
        The sequence length :math:`T` trained on (default: ``config.context``).

    Notes
    -----
    Convention (PaLM's, appendix B, and nanoGPT's): a multiply-add is 2 FLOPs and the backward pass
    costs twice the forward. Each of the :math:`N_\theta` parameters (:func:`gpt_compute_params`: the position
    embeddings are looked up, not multiplied, and are left out; the tied token embedding counts once,
    as the output layer's matrix) takes part in one multiply-add per token: :math:`2N_\theta` forward,
    :math:`6N_\theta` in all. Attention adds, per layer and token, :math:`\mathbf{q}\cdot\mathbf{k}` against
    :math:`T` keys and the weighted sum of :math:`T` values, :math:`2 \cdot 2Td` forward, so
    :math:`12\,D\,T\,d` in all, with the full :math:`T \times T` score matrix counted (the causal mask's
    zeros are not subtracted). Layer norms, softmax and GELU are left out (they are :math:`O(d)` and
    :math:`O(T)` per token against :math:`O(d^2)`).
    """
    T = config.context if seq_len is None else int(seq_len)
    return 6.0 * gpt_compute_params(config) + 12.0 * config.n_layer * T * config.d_model
