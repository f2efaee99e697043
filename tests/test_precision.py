"""course_lib.precision: formats from their bits against torch.finfo, underflow by casting, fp16 gradients
rescued by loss scaling (and broken by too much), the dynamic scaler, and bf16 autocast on the CPU."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.device import torch_threads
from course_lib.precision import (FORMATS, DynamicLossScaler, autocast_matmul, format_limits, fp16_gradients,
                                  loss_scale_sweep, small_gradient_net, underflow_fraction)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_limits_from_bits_equal_torch_finfo(name):
    lim, fi = format_limits(name), torch.finfo(getattr(torch, name))
    assert lim["bits"] == fi.bits
    assert lim["max"] == fi.max
    assert lim["min_normal"] == fi.tiny
    assert lim["min_subnormal"] == fi.smallest_normal * 2.0 ** -lim["mantissa_bits"]
    assert lim["eps"] == fi.eps
    # The smallest subnormal is representable and half of it rounds to 0 (round to nearest, ties to even)
    dtype = getattr(torch, name)
    assert torch.tensor(lim["min_subnormal"], dtype=torch.float64).to(dtype).item() == lim["min_subnormal"]
    assert torch.tensor(lim["min_subnormal"] / 2, dtype=torch.float64).to(dtype).item() == 0.0
    # max is finite, and the next step up overflows to inf
    assert math.isfinite(torch.tensor(lim["max"], dtype=torch.float64).to(dtype).item())
    assert math.isinf(torch.tensor(lim["max"] * (1 + lim["eps"]), dtype=torch.float64).to(dtype).item())


def test_fp16_and_bf16_figures():
    f16, b16 = format_limits("float16"), format_limits("bfloat16")
    assert f16["max"] == 65504.0 and f16["eps"] == 2 ** -10
    assert b16["max"] == pytest.approx(3.3895e38, rel=1e-4) and b16["eps"] == 2 ** -7
    assert b16["min_normal"] == format_limits("float32")["min_normal"]  # float32's exponent, float32's range
    with pytest.raises(ValueError, match="unknown format"):
        format_limits("float8")


def test_underflow_fraction_counts_by_casting():
    vals = np.array([1.0, 1e-3, 1e-6, 1e-8, 2e-8, 0.0])  # fp16: min subnormal 5.96e-8, so 1e-8 and 2e-8 go to 0
    assert underflow_fraction(vals, "float16") == pytest.approx(2 / 5)
    assert underflow_fraction(vals, "bfloat16") == 0.0
    assert underflow_fraction([0.0, 0.0]) == 0.0


def test_loss_scaling_rescues_small_gradients_and_too_much_overflows():
    model, loss_fn = small_gradient_net(seed=0)
    with torch_threads(1):
        sweep = loss_scale_sweep(model, loss_fn, [1.0, 2.0 ** 12, 2.0 ** 24])
    plain, scaled, too_much = sweep
    assert plain["underflow"] > 0.05 and plain["rel_error"] > 0.5, plain  # whole layers' gradients lost
    assert scaled["underflow"] == 0.0, scaled
    # What is left after scaling is fp16's rounding of weights and activations: a few times its eps (2^-10 ~ 1e-3)
    assert scaled["rel_error"] < 10 * format_limits("float16")["eps"], scaled
    assert too_much["found_inf"] and math.isinf(too_much["rel_error"]), too_much


def test_fp16_gradients_refuses_bad_scale_and_reports_inf():
    model, loss_fn = small_gradient_net(seed=1, depth=1)
    model = model.half()
    with pytest.raises(ValueError, match="loss scale"):
        fp16_gradients(model, loss_fn, 0.0)
    grads, found_inf = fp16_gradients(model, loss_fn, 2.0 ** 30)
    assert found_inf and all(g.dtype == torch.float32 for g in grads)


def test_dynamic_scaler_backs_off_and_grows():
    s = DynamicLossScaler(init_scale=2.0 ** 16, growth_interval=3)
    assert s.update(found_inf=True) is False and s.scale == 2.0 ** 15
    assert all(s.update(False) for _ in range(3)) and s.scale == 2.0 ** 16
    with pytest.raises(ValueError):
        DynamicLossScaler(backoff=2.0)


def test_bf16_autocast_on_cpu_is_bf16_and_within_its_rounding():
    r = autocast_matmul(128, threads=1, repeats=2)
    assert r["out_dtype"] == torch.bfloat16
    # inputs and output rounded to bf16 (each <= eps/2 relative), products accumulated in fp32: <= ~1.5 eps
    assert r["max_rel_error"] <= 1.5 * format_limits("bfloat16")["eps"], r
    assert r["fp32_s"] > 0 and r["bf16_s"] > 0
