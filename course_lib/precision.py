r"""Floating-point formats for training (chapter 15): float16 and bfloat16 from their bits, fp16's overflow
and underflow, loss scaling, and bf16 autocast on the CPU, measured.

API::

    from course_lib.precision import (FORMATS, format_limits, underflow_fraction, fp16_gradients,
                                      loss_scale_sweep, DynamicLossScaler, autocast_matmul)
    format_limits("bfloat16")     # {"max": 3.39e38, "min_normal": 1.18e-38, "min_subnormal": 9.2e-41, "eps": 0.0078125, ...}
    fp16_gradients(model, loss_fn, scale=1024.0)   # the fp16 model's gradients, unscaled, and whether any overflowed
    loss_scale_sweep(model32, loss_fn, scales)     # per scale: underflowed fraction and error against fp32
    autocast_matmul(512, threads=1)                # fp32 vs bf16-autocast matmul time and error on this CPU

A binary floating-point format with :math:`e` exponent bits and :math:`m` stored mantissa bits (IEEE 754
layout: 1 sign bit, the exponent stored with bias :math:`2^{e-1} - 1`, the all-ones exponent kept for
inf and NaN) represents :math:`(1.f)_2 \cdot 2^{E}` with :math:`E` from :math:`1 - \text{bias}` to
:math:`\text{bias}`, and the subnormals :math:`(0.f)_2 \cdot 2^{1 - \text{bias}}` below. So:

- largest finite: :math:`(2 - 2^{-m})\, 2^{\text{bias}}`;
- smallest normal: :math:`2^{1 - \text{bias}}`; smallest subnormal: :math:`2^{1 - \text{bias} - m}`;
- machine epsilon :math:`\varepsilon_\text{mach} = 2^{-m}` (the gap after 1; rounding's relative error is at
  most :math:`\varepsilon_\text{mach}/2`).

float16 (:math:`e=5, m=10`) has 3 more bits of precision than bfloat16 (:math:`e=8, m=7`) but its range
stops at 65,504; bfloat16 keeps float32's exponent, so its range is float32's. That is why fp16 training
needs loss scaling and bf16 training does not.
"""
from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["FORMATS", "format_limits", "underflow_fraction", "fp16_gradients", "loss_scale_sweep",
           "DynamicLossScaler", "autocast_matmul", "small_gradient_net"]

#: (exponent bits, stored mantissa bits) of each format; 1 sign bit each.
FORMATS: dict[str, tuple[int, int]] = {
    "float16": (5, 10),
    "bfloat16": (8, 7),
    "float32": (8, 23),
    "float64": (11, 52),
}


def format_limits(name: str) -> dict:
    r"""Bits, range and epsilon of a format, computed from its exponent and mantissa widths.

    Parameters
    ----------
    name : {"float16", "bfloat16", "float32", "float64"}

    Returns
    -------
    dict
        ``bits`` (:math:`1 + e + m`), ``exponent_bits`` :math:`e`, ``mantissa_bits`` :math:`m`, ``bias``
        :math:`2^{e-1}-1`, ``max`` :math:`(2-2^{-m})2^\text{bias}`, ``min_normal`` :math:`2^{1-\text{bias}}`,
        ``min_subnormal`` :math:`2^{1-\text{bias}-m}`, ``eps`` :math:`2^{-m}`, ``decimal_digits``
        :math:`(m+1)\log_{10}2`. Equal to ``torch.finfo`` (tests), derived here from the layout.
    """
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; known: {sorted(FORMATS)}")
    e, m = FORMATS[name]
    bias = 2 ** (e - 1) - 1
    return {
        "bits": 1 + e + m, "exponent_bits": e, "mantissa_bits": m, "bias": bias,
        "max": (2.0 - 2.0 ** -m) * 2.0 ** bias,
        "min_normal": 2.0 ** (1 - bias),
        "min_subnormal": 2.0 ** (1 - bias - m),
        "eps": 2.0 ** -m,
        "decimal_digits": (m + 1) * math.log10(2.0),
    }


def underflow_fraction(values, name: str = "float16") -> float:
    r"""Fraction of the non-zero ``values`` that become 0 when rounded to the format ``name``.

    A value rounds to 0 when :math:`|x|` is at most half the smallest subnormal (round to nearest even).
    Counted by actually casting with torch, so the answer is the hardware's, not a formula's.
    """
    import torch

    x = torch.as_tensor(np.asarray(values, dtype=np.float64)).flatten()
    nonzero = x != 0
    if int(nonzero.sum()) == 0:
        return 0.0
    cast = x.to(getattr(torch, name)).to(torch.float64)
    return float(((cast == 0) & nonzero).sum()) / float(nonzero.sum())


def fp16_gradients(model, loss_fn, scale: float = 1.0):
    r"""Gradients of a float16 model with loss scaling: backward on :math:`s_\text{loss} L` in fp16, then
    divided by :math:`s_\text{loss}` in float32.

    Parameters
    ----------
    model : torch.nn.Module
        Its parameters are float16 (``model.half()``); their ``.grad`` is overwritten.
    loss_fn : callable
        ``loss_fn(model) -> L``, a scalar tensor computed in the model's dtype.
    scale : float
        :math:`s_\text{loss} > 0`. The backward pass multiplies every gradient by it, lifting small ones
        above fp16's underflow threshold; too large and one overflows to inf.

    Returns
    -------
    grads : list of float32 tensors
        :math:`\nabla_{\boldsymbol\theta}(s_\text{loss} L) / s_\text{loss}`, one per parameter.
    found_inf : bool
        Whether any scaled gradient was inf or NaN (an optimizer step must then be skipped).
    """
    import torch

    if not scale > 0 or not math.isfinite(scale):
        raise ValueError(f"the loss scale must be a positive finite number, got {scale!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = None
    loss = loss_fn(model)
    (loss * scale).backward()
    grads = [p.grad.float() / scale for p in params]
    found_inf = any(not bool(torch.isfinite(g).all()) for g in grads)
    return grads, found_inf


def loss_scale_sweep(model32, loss_fn, scales) -> list[dict]:
    r"""For each loss scale, how the fp16 gradient compares with the float32 one of the same weights.

    Parameters
    ----------
    model32 : torch.nn.Module
        A float32 model; a float16 copy is made (``copy.deepcopy(...).half()``), so both have the same
        weights up to fp16 rounding.
    loss_fn : callable
        ``loss_fn(model) -> L``; it must cast its inputs to the model's dtype.
    scales : sequence of float

    Returns
    -------
    list of dict
        Per scale: ``scale``; ``underflow`` the fraction of gradient entries non-zero in float32 but
        exactly 0 in fp16; ``rel_error`` the worst parameter tensor's
        :math:`\lVert \mathbf{g}_{16} - \mathbf{g}_{32}\rVert_2 / \lVert\mathbf{g}_{32}\rVert_2` (per tensor, since the
        small gradients that underflow sit in whole layers, far from the output, and one norm over all
        parameters would hide them behind the large ones; inf when an entry overflowed); ``found_inf``.
    """
    import copy

    import torch

    model16 = copy.deepcopy(model32).half()
    for p in model32.parameters():
        p.grad = None
    loss_fn(model32).backward()
    g32 = [p.grad.clone() for p in model32.parameters() if p.requires_grad]
    flat32 = torch.cat([g.flatten() for g in g32])
    out = []
    for scale in scales:
        grads, found_inf = fp16_gradients(model16, loss_fn, float(scale))
        flat16 = torch.cat([g.flatten() for g in grads])
        nonzero = flat32 != 0
        under = float(((flat16 == 0) & nonzero).sum()) / max(int(nonzero.sum()), 1)
        err = float("inf") if found_inf else max(float(torch.linalg.norm(a - b) / torch.linalg.norm(b))
                                                 for a, b in zip(grads, g32) if bool((b != 0).any()))
        out.append({"scale": float(scale), "underflow": under, "rel_error": err, "found_inf": found_inf})
    return out


def small_gradient_net(seed: int = 0, depth: int = 6, width: int = 64, gain: float = 0.35, n: int = 512):
    r"""A float32 tanh network whose early layers get gradients of order :math:`10^{-6}`, and its loss.

    ``depth`` tanh layers of ``width`` units and a 10-way read-out, every parameter of PyTorch's default
    initialization multiplied by ``gain`` < 1, so each layer shrinks the back-propagated signal (chapter 05's
    vanishing gradients): the first layers' gradients land near fp16's smallest normal :math:`6.1 \cdot 10^{-5}`
    and below, where they lose bits or flush to 0. Cross-entropy on ``n`` random inputs and labels, computed
    in float32 from the model's logits (as autocast does).

    Returns
    -------
    model : torch.nn.Sequential (float32)
    loss_fn : callable
        ``loss_fn(model)`` casts the inputs to the model's dtype.
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    layers = []
    for _ in range(depth):
        layers += [torch.nn.Linear(width, width), torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(gain)
    x, y = torch.randn(n, width, generator=g), torch.randint(0, 10, (n,), generator=g)

    def loss_fn(m):
        dtype = next(m.parameters()).dtype
        return torch.nn.functional.cross_entropy(m(x.to(dtype)).float(), y)

    return model, loss_fn


class DynamicLossScaler:
    r"""Dynamic loss scaling as ``torch.amp.GradScaler`` does it, in a few lines.

    Start at ``init_scale``; when a step's gradients hold inf or NaN, skip the step and multiply the scale
    by ``backoff`` (0.5); after ``growth_interval`` clean steps in a row, multiply it by ``growth`` (2). The
    scale so hovers just below the largest value that does not overflow.
    """

    def __init__(self, init_scale: float = 2.0 ** 16, growth: float = 2.0, backoff: float = 0.5,
                 growth_interval: int = 2000):
        if not init_scale > 0 or not growth > 1 or not 0 < backoff < 1 or growth_interval < 1:
            raise ValueError("need init_scale > 0, growth > 1, 0 < backoff < 1 and growth_interval >= 1")
        self.scale, self.growth, self.backoff, self.growth_interval = float(init_scale), growth, backoff, growth_interval
        self._clean = 0

    def update(self, found_inf: bool) -> bool:
        """Record one step; returns True when the optimizer may step (no inf), False when it must skip."""
        if found_inf:
            self.scale *= self.backoff
            self._clean = 0
            return False
        self._clean += 1
        if self._clean == self.growth_interval:
            self.scale *= self.growth
            self._clean = 0
        return True


def autocast_matmul(n: int = 512, threads: int | None = None, repeats: int = 5, seed: int = 0) -> dict:
    r"""Time an :math:`n \times n` float32 matmul against the same under ``torch.autocast("cpu", bfloat16)``.

    Returns
    -------
    dict
        ``fp32_s`` and ``bf16_s``, the best of ``repeats`` times (seconds); ``speedup`` = fp32_s / bf16_s;
        ``max_rel_error``: :math:`\max_{ij} |C^{bf16}_{ij} - C_{ij}| / (|\mathbf{A}||\mathbf{B}|)_{ij}`, the
        error relative to the bound's scale; rounding both inputs to bf16 gives at most
        :math:`2 \cdot \varepsilon_\text{mach}/2 + (\varepsilon_\text{mach}/2)^2` per product, plus the bf16 output's own
        rounding, so the ratio stays below about :math:`1.5\,\varepsilon_\text{mach} = 0.0117` (with fp32
        accumulation); ``out_dtype``: the product's dtype under autocast (bfloat16).
    """
    import torch

    from course_lib.device import torch_threads

    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    ref = (a.double() @ b.double())
    scale = a.double().abs() @ b.double().abs()
    times = {}
    with torch_threads(threads), torch.no_grad():
        for key, enabled in (("fp32_s", False), ("bf16_s", True)):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
                c = a @ b  # warm-up
                best = math.inf
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    c = a @ b
                    best = min(best, time.perf_counter() - t0)
            times[key] = best
            if enabled:
                out_dtype = c.dtype
                err = float(((c.double() - ref).abs() / scale).max())
    return {**times, "speedup": times["fp32_s"] / times["bf16_s"], "max_rel_error": err, "out_dtype": out_dtype}
