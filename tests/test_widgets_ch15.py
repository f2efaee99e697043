"""Chapter 15 widgets: the roofline draws the measurement it is handed (the roof is course_lib.roofline's, each
point is flops / seconds at flops / bytes) and never measures; the calculator is course_lib.scaling's arithmetic
(GPT-3: 3.15e23 FLOPs; ZeRO-3 divides the 16 bytes by n_gpu), and a bad value is shown in the readout."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib import scaling as S
from course_lib.roofline import attainable
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch15_scaling_and_gpus import (GPU_COUNTS, MEASURED_HERE, Calculator, Roofline, calculator,
                                                      roofline_view)

FAKE = {"peak": 1e11, "bandwidth": 1e10, "bandwidth_cache": 4e10, "kernels": [
    {"name": "a", "group": "matmul", "flops": 1e9, "bytes": 1e7, "seconds": 0.02},    # I = 100, 50 GFLOP/s
    {"name": "b", "group": "element-wise", "flops": 1e6, "bytes": 1e7, "seconds": 1e-3},  # I = 0.1, 1 GFLOP/s
]}


def test_registered():
    widgets = all_widgets()
    assert widgets["15.roofline"] is Roofline and widgets["15.calculator"] is Calculator


def test_roofline_view_is_the_measurement_on_the_roof():
    d = roofline_view("b", FAKE)
    np.testing.assert_allclose(d["intensity"], [100.0, 0.1])
    np.testing.assert_allclose(d["attained"], [5e10, 1e9])
    np.testing.assert_allclose(d["roof"], attainable(d["grid"], 1e11, 1e10))
    assert d["ridge"] == 10.0 and d["bound"] == "memory" and roofline_view("a", FAKE)["bound"] == "compute"
    assert d["roof_here"] == pytest.approx(1e9) and d["fraction"] == pytest.approx(1.0)
    assert d["roof_cache_here"] == pytest.approx(4e9)
    with pytest.raises(ValueError, match="unknown kernel"):
        roofline_view("nope", FAKE)


def test_default_measurement_has_the_course_kernels():
    from course_lib.roofline import KERNELS

    assert [r["name"] for r in MEASURED_HERE["kernels"]] == [k.name for k in KERNELS]
    for r, k in zip(MEASURED_HERE["kernels"], KERNELS):  # the stored counts are the kernels' own
        assert r["flops"] == pytest.approx(k.flops, rel=1e-5) and r["bytes"] == pytest.approx(k.bytes, rel=1e-5)


def test_roofline_widget_draws_a_handed_measurement_and_shows_errors():
    w = Roofline(kernel="a", measurement=FAKE)
    assert "50 GFLOP/s attained" in w.readout and "compute-bound" in w.readout
    w.update(kernel="b")
    assert "memory-bound" in w.readout
    w._apply({"kernel": "zzz"})
    assert w.error is not None and "unknown kernel" in w.readout


def test_calculator_is_the_scaling_arithmetic():
    d = calculator(np.log10(175e9), np.log10(300e9), "mixed", 0, 0, 1.0, "1e14 FLOP/s, 80 GB")
    assert d["flops"] == pytest.approx(3.15e23)
    assert d["days"] == pytest.approx(S.training_days(3.15e23, 1e14))
    assert d["total"] == pytest.approx(16 * 175e9) and not d["fits"]
    z3 = calculator(np.log10(175e9), 11, "mixed", 10, 3, 0.4)
    assert z3["total"] == pytest.approx(16 * 175e9 / 1024) and z3["fits"]
    assert z3["days"] == pytest.approx(S.training_days(6 * 175e9 * 1e11, 989e12, 0.4, 1024))
    # the fewest GPUs that hold it at ZeRO-3: 16 * 175e9 / n <= 80e9  ->  n >= 35  ->  64 (powers of 2)
    assert z3["min_gpus"] == 64
    np.testing.assert_allclose(z3["curves"][3], 16 * 175e9 / GPU_COUNTS)
    assert calculator(9, 10, "mixed", 0, 0)["fits"]  # 1B parameters: 16 GB on one 80 GB GPU


def test_calculator_refuses_bad_values():
    with pytest.raises(ValueError, match="mfu"):
        calculator(mfu=1.5)
    with pytest.raises(ValueError, match="accelerator"):
        calculator(accelerator="TPU")
    c = Calculator()
    c._apply({"precision": "fp8"})
    assert c.error is not None and "precision" in c.readout
