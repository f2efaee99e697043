"""Chapter 09 widgets: the arithmetic explorer's numbers are course_lib.convolution's and its taps are the
window PyTorch's unfold reads; a bad setting is shown in the readout; the feature viewer shows the trained
CNN's own layer outputs."""
from __future__ import annotations

import numpy as np
import torch

from course_lib import cnn_experiment as E
from course_lib import convolution as C
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch09_convolutional_networks import ConvArithmetic, FeatureMaps, conv_arithmetic, feature_view


def test_registered():
    widgets = all_widgets()
    assert widgets["09.conv_arithmetic"] is ConvArithmetic and widgets["09.feature_maps"] is FeatureMaps


def test_taps_are_the_window_unfold_reads():
    for n, k, s, p, d, pos in [(7, 3, 1, 0, 1, 0), (8, 3, 2, 1, 2, 3), (9, 2, 3, 2, 1, 7), (5, 5, 1, 2, 1, 24)]:
        out = conv_arithmetic(n, k, s, p, d, pos)
        assert out["out"] == C.conv_output_size(n, k, s, p, d)
        x = torch.arange((n + 2 * p) ** 2, dtype=torch.float64).reshape(1, 1, n + 2 * p, n + 2 * p)
        cols = torch.nn.functional.unfold(x, k, dilation=d, stride=s)  # on the padded grid
        i, j = out["cell"]
        expected = cols[0, :, i * out["out"] + j].numpy()
        got = out["taps"][:, 0] * (n + 2 * p) + out["taps"][:, 1]
        np.testing.assert_array_equal(got, expected)
        assert out["field2"] == C.receptive_field([k, k], [s, s], [d, d])[-1]


def test_an_impossible_setting_is_shown_in_the_readout():
    w = ConvArithmetic()
    w._apply({"n": 3, "kernel": 5})
    assert isinstance(w.error, ValueError) and "empty" in w.readout
    w._apply({"n": 7})
    assert w.error is None and "n_out" in w.readout


def test_feature_view_is_the_trained_networks_forward_pass():
    d = feature_view(3)
    model, _ = E.trained_cnn()
    _, _, X, y = E.digits_images()
    outs = E.feature_maps(model, X[3:4])
    np.testing.assert_array_equal(d["maps1"], outs[1][0])
    np.testing.assert_array_equal(d["maps2"], outs[4][0])
    assert d["label"] == y[3] and d["pred"] == outs[-1][0].argmax() and np.isclose(d["probs"].sum(), 1)
    assert (d["maps1"] >= 0).all()  # after ReLU
    w = FeatureMaps()
    before = w.png()
    w.update(index=10)
    assert w.png() != before and "test digit 10" in w.readout
