"""course_lib.convolution: output-size arithmetic against PyTorch's layers, the receptive field against
a brute-force dependency count, and cross-correlation vs convolution against SciPy."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.signal
import torch

from course_lib import convolution as C


SIZE_GRID = [c for c in itertools.product([1, 4, 7, 8, 13], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2, 3])
             if c[0] + 2 * c[3] >= c[4] * (c[1] - 1) + 1]


def test_conv_output_size_matches_torch():
    for n, k, s, p, d in SIZE_GRID:  # one test over the whole grid: 400 settings
        layer = torch.nn.Conv2d(1, 1, (k, 1), stride=(s, 1), padding=(p, 0), dilation=(d, 1), bias=False)
        with torch.no_grad():
            out = layer(torch.zeros(1, 1, n, 3))
        assert C.conv_output_size(n, k, s, p, d) == out.shape[2], (n, k, s, p, d)
    assert len(SIZE_GRID) > 300


def test_conv_output_size_errors_when_nothing_fits():
    with pytest.raises(ValueError, match="empty"):
        C.conv_output_size(4, 3, dilation=2)  # the kernel spans 5 > 4
    with pytest.raises(ValueError, match="at least 1"):
        C.conv_output_size(8, 3, stride=0)
    with pytest.raises(TypeError, match="integers"):
        C.conv_output_size(8, 2.5)
    with pytest.raises(ValueError, match="at least 0"):
        C.conv_output_size(8, 3, padding=-1)


TRANSPOSED_GRID = [c for c in itertools.product([1, 3, 6], [1, 2, 3, 4], [1, 2, 3], [0, 1, 2], [0, 1, 2], [1, 2])
                   if c[4] < max(c[2], c[5]) and (c[0] - 1) * c[2] - 2 * c[3] + c[5] * (c[1] - 1) + c[4] + 1 >= 1]


def test_conv_transpose_output_size_matches_torch():
    for n, k, s, p, op, d in TRANSPOSED_GRID:
        layer = torch.nn.ConvTranspose2d(1, 1, (k, 1), stride=(s, 1), padding=(p, 0), output_padding=(op, 0),
                                         dilation=(d, 1), bias=False)
        with torch.no_grad():
            out = layer(torch.zeros(1, 1, n, 2))
        assert C.conv_transpose_output_size(n, k, s, p, op, d) == out.shape[2], (n, k, s, p, op, d)
    assert len(TRANSPOSED_GRID) > 200


def test_transposed_size_inverts_the_convolution_size():
    for n, k, s, p in itertools.product(range(3, 12), [1, 2, 3], [1, 2, 3], [0, 1]):
        m = C.conv_output_size(n, k, s, p)
        back = C.conv_transpose_output_size(m, k, s, p, output_padding=(n + 2 * p - k) % s)
        assert back == n
    with pytest.raises(ValueError, match="output_padding"):
        C.conv_transpose_output_size(4, 3, stride=2, output_padding=2)


def _brute_force_field(kernels, strides, dilations, n=200):
    """Which inputs one output of the stack depends on: push a one-hot column through index maps."""
    deps = [{i} for i in range(n)]
    for k, s, d in zip(kernels, strides, dilations):
        m = (len(deps) - d * (k - 1) - 1) // s + 1
        deps = [set().union(*(deps[i * s + a * d] for a in range(k))) for i in range(m)]
    return max(deps[len(deps) // 2]) - min(deps[len(deps) // 2]) + 1


@pytest.mark.parametrize("layers", [[(3, 1, 1), (3, 1, 1)], [(3, 1, 1), (2, 2, 1), (3, 1, 1), (2, 2, 1)],
                                    [(3, 1, 1), (3, 1, 2), (3, 1, 4)], [(5, 2, 1), (3, 3, 2), (1, 1, 1), (4, 2, 1)]])
def test_receptive_field_matches_brute_force(layers):
    k, s, d = map(list, zip(*layers))
    fields = C.receptive_field(k, s, d)
    for depth in range(1, len(layers) + 1):
        assert fields[depth - 1] == _brute_force_field(k[:depth], s[:depth], d[:depth])


def test_cross_correlation_and_convolution_against_scipy():
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((7, 9)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(C.cross_correlate2d(x, k), scipy.signal.correlate2d(x, k, mode="valid"), rtol=1e-12)
    np.testing.assert_allclose(C.convolve2d(x, k), scipy.signal.convolve2d(x, k, mode="valid"), rtol=1e-12)
    with pytest.raises(ValueError, match="larger"):
        C.convolve2d(k, x)


def test_pair_and_patches():
    assert C.pair(3) == (3, 3) and C.pair((2, 5)) == (2, 5)
    with pytest.raises(ValueError, match="pair"):
        C.pair((1, 2, 3), "stride")
    x = np.arange(2 * 3 * 5 * 6, dtype=float).reshape(2, 3, 5, 6)
    p = C.patches(x, (2, 3), stride=(1, 2), padding=(0, 1), dilation=(2, 1))
    xp = np.pad(x, ((0, 0), (0, 0), (0, 0), (1, 1)))
    assert p.shape == (2, 3, 3, 3, 2, 3)
    assert p[1, 2, 2, 1, 1, 2] == xp[1, 2, 2 * 1 + 1 * 2, 1 * 2 + 2 * 1]
