r"""The roofline of this machine, measured, with the course's kernels placed on it (chapter 15).

API::

    from course_lib.roofline import (measure_bandwidth, measure_roofline, measure_kernels, attainable,
                                     ridge_point, KERNELS)
    bw = measure_bandwidth()                       # bytes/s of a streaming copy (read + write counted)
    roof = measure_roofline(threads=1)             # {"peak": FLOP/s (course_lib.hardware), "bandwidth": bytes/s, ...}
    rows = measure_kernels(threads=1)              # per kernel: flops, bytes, intensity, seconds, attained FLOP/s
    attainable(intensity, roof["peak"], roof["bandwidth"])   # min(R_peak, I R_mem)

The roofline model (Williams, Waterman and Patterson 2009): a kernel doing :math:`F` FLOPs while moving
at least :math:`Q` bytes to and from memory has arithmetic intensity :math:`I = F/Q` (FLOP/byte), and on a
machine with peak rate :math:`R_\text{peak}` (FLOP/s) and memory bandwidth :math:`R_\text{mem}` (byte/s) it
cannot run faster than

.. math::

    R \le \min(R_\text{peak},\; I \, R_\text{mem}).

Below the ridge point :math:`I^* = R_\text{peak}/R_\text{mem}` a kernel is memory-bound (element-wise ops,
softmax: :math:`I < 1`); above it, compute-bound (large matrix products: :math:`I = n/6` for
:math:`n \times n` in float32). :math:`Q` here is the *minimum* traffic, each input read once and each output
written once; an implementation that moves more (im2col copies each pixel :math:`k^2` times, unfused
attention writes and reads the :math:`T \times T` score matrix) sits further below the roof, and that gap is
what fusion (flash attention) recovers.

The peak is :func:`course_lib.hardware.measure_cpu_matmul_peak` (float32 matrix products with torch), so every
kernel here runs in float32 with torch, on the CPU, with the same threads. A measurement on a machine shared
with other processes moves with the load; report the load average beside it.
"""
from __future__ import annotations

import math
import time
from typing import Callable, NamedTuple

__all__ = ["Kernel", "KERNELS", "measure_bandwidth", "measure_roofline", "measure_kernels", "attainable",
           "ridge_point", "time_best"]

BYTES = 4  # float32


def attainable(intensity, peak: float, bandwidth: float):
    r""":math:`\min(R_\text{peak}, I R_\text{mem})`, the roof at intensity :math:`I` (works on arrays)."""
    import numpy as np

    if not peak > 0 or not bandwidth > 0:
        raise ValueError(f"peak and bandwidth must be positive, got {peak}, {bandwidth}")
    out = np.minimum(peak, np.asarray(intensity, dtype=float) * bandwidth)
    return float(out) if out.ndim == 0 else out


def ridge_point(peak: float, bandwidth: float) -> float:
    r"""The intensity :math:`I^* = R_\text{peak}/R_\text{mem}` where the two roofs meet, FLOP/byte."""
    if not peak > 0 or not bandwidth > 0:
        raise ValueError(f"peak and bandwidth must be positive, got {peak}, {bandwidth}")
    return peak / bandwidth


def time_best(fn: Callable[[], object], min_seconds: float = 0.2, max_repeats: int = 50) -> float:
    """The fastest of repeated calls of ``fn`` (after one warm-up), seconds; repeats for ``min_seconds``."""
    fn()
    best, start = math.inf, time.perf_counter()
    for _ in range(max_repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - start > min_seconds:
            break
    return best


def measure_bandwidth(n_bytes: int = 2 ** 28, threads: int | None = None, min_seconds: float = 0.3) -> float:
    r"""Memory bandwidth :math:`R_\text{mem}` in bytes/s: the best rate of ``dst.copy_(src)`` on float32 arrays.

    Each copy reads ``n_bytes`` and writes ``n_bytes`` (STREAM's "Copy" convention: :math:`2 \times` the array's
    size; the write-allocate read a cache may add is not counted). The default 256 MiB per array, 512 MiB
    in all, is about twice this machine's 260 MiB L3 cache, so the rate is main memory's. With
    ``n_bytes=2**24`` (16 MiB: larger than the 4 MiB of L2, well inside L3) it is the L3 cache's, several
    times higher: the course's own kernels at its sizes fit in L3, so that is the roof they meet.
    """
    import torch

    from course_lib.device import torch_threads

    n = max(int(n_bytes) // BYTES, 1)
    src, dst = torch.ones(n), torch.empty(n)
    with torch_threads(threads), torch.no_grad():
        seconds = time_best(lambda: dst.copy_(src), min_seconds=min_seconds)
    return 2.0 * n * BYTES / seconds


class Kernel(NamedTuple):
    r"""A kernel to place on the roofline.

    ``build()`` returns a zero-argument callable that runs it once on fresh float32 inputs;
    ``flops`` and ``bytes`` are its FLOP count and minimum memory traffic (each input read once, each
    output written once), so ``flops / bytes`` is its arithmetic intensity :math:`I`.
    """

    name: str
    group: str
    flops: float
    bytes: float
    build: Callable[[], Callable[[], object]]


def _matmul(n: int) -> Kernel:
    def build():
        import torch
        a, b = torch.randn(n, n), torch.randn(n, n)
        out = torch.empty(n, n)
        return lambda: torch.mm(a, b, out=out)
    return Kernel(f"matmul {n}", "matmul", 2.0 * n ** 3, 3.0 * n * n * BYTES, build)


def _add(n: int) -> Kernel:
    def build():
        import torch
        x, y = torch.randn(n), torch.randn(n)
        out = torch.empty(n)
        return lambda: torch.add(x, y, out=out)
    return Kernel(f"add {n:,}", "element-wise", float(n), 3.0 * n * BYTES, build)


def _gelu(n: int) -> Kernel:
    # GELU's erf is counted as 8 FLOPs per element (x * 0.5 * (1 + erf(x / sqrt 2)): 3 more): a convention,
    # stated; what matters on the plot is that it stays far left of the ridge whatever the count.
    def build():
        import torch
        x = torch.randn(n)
        return lambda: torch.nn.functional.gelu(x)
    return Kernel(f"gelu {n:,}", "element-wise", 8.0 * n, 2.0 * n * BYTES, build)


def _softmax(rows: int, cols: int) -> Kernel:
    # Per element: max, subtract, exp, sum, divide: 5 FLOPs (exp counted as one), read once, write once
    def build():
        import torch
        z = torch.randn(rows, cols)
        return lambda: torch.softmax(z, dim=-1)
    n = rows * cols
    return Kernel(f"softmax {rows}x{cols}", "softmax", 5.0 * n, 2.0 * n * BYTES, build)


def _conv_im2col(batch: int, c_in: int, size: int, c_out: int, k: int) -> Kernel:
    # Chapter 09's convolution: im2col (torch's unfold), then one matrix product per batch
    out_size = size - k + 1
    L = out_size * out_size
    flops = 2.0 * batch * c_out * c_in * k * k * L
    traffic = (batch * c_in * size * size + c_out * c_in * k * k + batch * c_out * L) * BYTES

    def build():
        import torch
        x, w = torch.randn(batch, c_in, size, size), torch.randn(c_out, c_in * k * k)

        def run():
            cols = torch.nn.functional.unfold(x, k)  # (batch, c_in k k, L): each pixel copied up to k^2 times
            return w @ cols  # (batch, c_out, L)
        return run
    return Kernel(f"conv im2col {c_in}->{c_out} k{k} {size}x{size} B{batch}", "convolution", flops, traffic, build)


def _attention(heads: int, T: int, d_k: int) -> Kernel:
    # softmax(Q K^T / sqrt(d_k)) V per head, unfused (the T x T scores are materialized, as in chapter 11's
    # NumPy version); minimum traffic counts only Q, K, V and the output (what a fused kernel moves)
    flops = heads * (4.0 * T * T * d_k + 5.0 * T * T)
    traffic = 4.0 * heads * T * d_k * BYTES

    def build():
        import torch
        q, kk, v = (torch.randn(heads, T, d_k) for _ in range(3))
        scale = 1.0 / math.sqrt(d_k)
        return lambda: torch.softmax(q @ kk.transpose(1, 2) * scale, dim=-1) @ v
    return Kernel(f"attention {heads}h T{T} d{d_k}", "attention", flops, traffic, build)


#: The course's kernels at the sizes the chapters use and beyond: chapter 09's convolutions (digits, 8x8 with
#: padding-free 3x3), chapter 11's attention (heads of 16 and 64), matrix products from tiny to large.
KERNELS: tuple[Kernel, ...] = (
    _matmul(64), _matmul(256), _matmul(1024),
    _add(2 ** 22), _gelu(2 ** 22),
    _softmax(4096, 256),
    _conv_im2col(64, 1, 28, 16, 3), _conv_im2col(64, 16, 14, 32, 3),
    _attention(4, 64, 16), _attention(8, 512, 64),
)


def measure_kernels(kernels=KERNELS, threads: int | None = None, min_seconds: float = 0.2) -> list[dict]:
    r"""Time each kernel (best of repeats) and return its place on the roofline.

    Returns
    -------
    list of dict
        Per kernel: ``name``, ``group``, ``flops``, ``bytes``, ``intensity`` (FLOP/byte), ``seconds``,
        ``attained`` (FLOP/s) and ``bandwidth_used`` (minimum bytes / seconds).
    """
    import torch

    from course_lib.device import torch_threads

    rows = []
    with torch_threads(threads), torch.no_grad():
        for k in kernels:
            seconds = time_best(k.build(), min_seconds=min_seconds)
            rows.append({"name": k.name, "group": k.group, "flops": k.flops, "bytes": k.bytes,
                         "intensity": k.flops / k.bytes, "seconds": seconds, "attained": k.flops / seconds,
                         "bandwidth_used": k.bytes / seconds})
    return rows


def measure_roofline(threads: int | None = None, kernels=KERNELS, min_seconds: float = 0.2) -> dict:
    r"""Peak, bandwidth and the kernels, measured now with the same threads.

    Returns
    -------
    dict
        ``peak`` (FLOP/s, :func:`course_lib.hardware.measure_cpu_matmul_peak`), ``bandwidth`` (bytes/s,
        :func:`measure_bandwidth`: main memory), ``bandwidth_cache`` (the same on 16 MiB arrays: the L3
        cache), ``ridge`` (FLOP/byte), ``kernels`` (:func:`measure_kernels`),
        ``threads`` and ``load`` (the 1-minute load average when it finished). A kernel can exceed the
        measured peak only by noise (the peak is the same kind of product, measured a moment earlier).
    """
    import os

    from course_lib.hardware import measure_cpu_matmul_peak

    peak = measure_cpu_matmul_peak(threads=threads)
    bandwidth = measure_bandwidth(threads=threads)
    bandwidth_cache = measure_bandwidth(2 ** 24, threads=threads)
    rows = measure_kernels(kernels, threads=threads, min_seconds=min_seconds)
    return {"peak": peak, "bandwidth": bandwidth, "bandwidth_cache": bandwidth_cache,
            "ridge": ridge_point(peak, bandwidth), "kernels": rows, "threads": threads, "load": os.getloadavg()[0]}
