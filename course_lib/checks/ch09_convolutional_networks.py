r"""Chapter 09: the graded questions on convolution arithmetic, im2col, and convolution's and pooling's gradients.

The references are :mod:`course_lib.convolution` and :mod:`course_lib.autograd.conv` (tested against
PyTorch and the gradient checker in ``tests/test_convolution.py`` and ``tests/test_autograd_conv.py``).
Every check draws fresh sizes and arrays from ``t.rng``; ``mistakes`` names the usual slips: the kernel
not flipped for true convolution (or flipped for cross-correlation), the output size off by one, the
padding added once instead of on both sides, the stride or the dilation ignored, the stride ignored in
the transposed size, the pooling gradient sent to every element of the window instead of its argmax,
the im2col rows in the wrong order, a missing bias or a missing sum over the batch.
"""
from __future__ import annotations

import numpy as np

from course_lib import convolution as C
from course_lib.autograd import Tensor
from course_lib.autograd import functional as F
from course_lib.grading import Tester, question


def _known(mistakes: dict) -> dict:
    """The mistakes that apply to this case (an entry is None where a slip gives the right answer)."""
    return {hint: value for hint, value in mistakes.items() if value is not None}


def _conv_ref(x, w, b=None):
    return F.conv2d(Tensor(x), Tensor(w), None if b is None else Tensor(b)).data


# -- 1-2. sizes ------------------------------------------------------------------------------------------------
@question("09.output_size", title="The output size of a convolution")
def _check_output_size(t: Tester):
    cases = [(8, 3, 1, 1, 1), (7, 3, 2, 0, 1), (28, 5, 2, 2, 1), (10, 3, 1, 0, 2)]
    for _ in range(4):
        k, s, p, d = (int(t.rng.integers(1, 6)), int(t.rng.integers(2, 4)), int(t.rng.integers(0, 3)),
                      int(t.rng.integers(1, 3)))
        cases.append((int(t.rng.integers(d * (k - 1) + 1, 40)), k, s, p, d))
    for n, k, s, p, d in cases:
        case = {"n": n, "kernel": k, "stride": s, "padding": p, "dilation": d}
        t.expect_close(t.call(n, k, s, p, d), C.conv_output_size(n, k, s, p, d), case=case, atol=0, mistakes=_known({
            "Off by one: the window fits at n + 2p - d(k-1) - 1 offsets after the first, so add 1 after the "
            "floor.": (n + 2 * p - d * (k - 1) - 1) // s,
            "Off by one: the span of a dilated kernel is d(k-1) + 1, so subtract d(k-1) + 1, then add 1 after the "
            "floor.": (n + 2 * p - d * (k - 1)) // s + 1 if (n + 2 * p - d * (k - 1)) // s + 1 !=
            C.conv_output_size(n, k, s, p, d) else None,
            "The padding is added on both sides: n + 2p, not n + p.": (n + p - d * (k - 1) - 1) // s + 1,
            "Divide by the stride (and floor): the window jumps s pixels at a time.": n + 2 * p - d * (k - 1),
            "A dilated kernel spans d(k-1) + 1 pixels, not k.": (n + 2 * p - k) // s + 1,
        }))


@question("09.transposed_size", title="The output size of a transposed convolution")
def _check_transposed(t: Tester):
    cases = [(4, 3, 2, 1, 1), (5, 4, 2, 1, 0), (3, 3, 1, 0, 0)]
    for _ in range(4):
        s = int(t.rng.integers(2, 4))
        cases.append((int(t.rng.integers(2, 12)), int(t.rng.integers(2, 6)), s, int(t.rng.integers(0, 2)),
                      int(t.rng.integers(0, s))))
    for n, k, s, p, op in cases:
        case = {"n": n, "kernel": k, "stride": s, "padding": p, "output_padding": op}
        t.expect_close(t.call(n, k, s, p, op), C.conv_transpose_output_size(n, k, s, p, op), case=case, atol=0,
                       mistakes=_known({
            "The stride multiplies the input's gaps: (n - 1)s, not n - 1.": (n - 1) - 2 * p + (k - 1) + op + 1,
            "That is the convolution's formula; the transposed convolution inverts it: (n - 1)s - 2p + (k - 1) + "
            "output_padding + 1.": (n + 2 * p - k) // s + 1,
            "Padding is removed from both sides: -2p.": (n - 1) * s - p + (k - 1) + op + 1,
            "Off by one: (n - 1)s - 2p + (k - 1) + output_padding + 1.": (n - 1) * s - 2 * p + (k - 1) + op,
        }))


# -- 3-4. cross-correlation and convolution --------------------------------------------------------------------
def _images(t: Tester):
    for shape, kshape in [((5, 6), (3, 3)), ((6, 4), (2, 3)),
                          ((int(t.rng.integers(4, 9)), int(t.rng.integers(4, 9))), (3, 2))]:
        yield t.rng.standard_normal(shape), t.rng.standard_normal(kshape)


@question("09.cross_correlate", title="Cross-correlation: what deep learning calls convolution")
def _check_xcorr(t: Tester):
    for image, kernel in _images(t):
        t.expect_close(t.call(image, kernel), C.cross_correlate2d(image, kernel), case={"image": image, "kernel":
                       kernel}, mistakes=_known({
            "Cross-correlation slides the kernel as it is; flipping it gives true convolution.":
                C.convolve2d(image, kernel),
            "Only 'valid' positions: the output is (H - k_h + 1, W - k_w + 1), no padding.":
                C.cross_correlate2d(np.pad(image, ((1, 1), (1, 1))), kernel) if kernel.shape == (3, 3) else None,
        }))


@question("09.convolve", title="True convolution: flip the kernel")
def _check_convolve(t: Tester):
    for image, kernel in _images(t):
        t.expect_close(t.call(image, kernel), C.convolve2d(image, kernel), case={"image": image, "kernel": kernel},
                       mistakes=_known({
            "True convolution flips the kernel in both axes (K[::-1, ::-1]); without the flip it is "
            "cross-correlation.": C.cross_correlate2d(image, kernel),
            "Flip the kernel in both axes, not one.": C.cross_correlate2d(image, kernel[::-1]),
            "Flip the kernel in both axes, not only the columns.": C.cross_correlate2d(image, kernel[:, ::-1]),
            "Flip the kernel (K[::-1, ::-1]), do not transpose it.": C.cross_correlate2d(image, kernel.T)
            if kernel.shape[0] == kernel.shape[1] else None,
        }))


# -- 5. receptive field ----------------------------------------------------------------------------------------
@question("09.receptive_field", title="The receptive field of a stack of layers")
def _check_field(t: Tester):
    cases = [([3, 3, 3], [1, 1, 1]), ([3, 2, 3, 2], [1, 2, 1, 2])]
    for _ in range(3):
        depth = int(t.rng.integers(2, 6))
        cases.append(([int(v) for v in t.rng.integers(1, 6, depth)], [int(v) for v in t.rng.integers(1, 4, depth)]))
    for k, s in cases:
        jumps_own = np.cumprod(s)
        t.expect_close(t.call(list(k), list(s)), int(C.receptive_field(k, s)[-1]), case={"kernels": k, "strides": s},
                       atol=0, mistakes=_known({
            "Each layer adds (k - 1) times the product of the strides *below* it: earlier strides spread its "
            "inputs apart.": 1 + sum(kl - 1 for kl in k),
            "The product runs over the layers below (i < l), not including the layer's own stride.":
                1 + int(sum((kl - 1) * j for kl, j in zip(k, jumps_own))),
            "Start from 1 (one pixel), then add (k_l - 1) prod s_i for each layer.":
                int(C.receptive_field(k, s)[-1]) - 1,
        }))


# -- 6. im2col ---------------------------------------------------------------------------------------------------
@question("09.im2col", title="im2col: every window as a column")
def _check_im2col(t: Tester):
    for c, h, w, k in [(1, 4, 4, 2), (2, 5, 4, 3), (int(t.rng.integers(2, 4)), int(t.rng.integers(4, 7)), 5, 2)]:
        x = t.rng.standard_normal((c, h, w))
        ref = C.im2col(x[None], k)[0]
        oh, ow = h - k + 1, w - k + 1
        p = C.patches(x[None], k)[0]  # (c, oh, ow, k, k)
        t.expect_close(t.call(x, k), ref, case={"x": x, "k": k}, mistakes=_known({
            "Order the rows (c, a, b) with the channel slowest and the kernel column fastest, as "
            "weight.reshape(C_out, -1) orders a kernel: the channel must not be the fastest index.":
                p.transpose(3, 4, 0, 1, 2).reshape(k * k * c, oh * ow),
            "Rows are (c, a, b) taps and columns are output positions (i, j): transpose your matrix.":
                ref.T,
            "Order the rows (c, a, b): kernel row a before kernel column b.":
                p.transpose(0, 4, 3, 1, 2).reshape(c * k * k, oh * ow),
            "Order the columns row-major over output positions: i (row) before j (column).":
                p.transpose(0, 3, 4, 2, 1).reshape(c * k * k, oh * ow),
        }))


# -- 7. forward --------------------------------------------------------------------------------------------------
def _batch(t: Tester):
    for n, c, o, h, w, k in [(2, 1, 3, 5, 5, 3), (1, 2, 2, 6, 4, 2),
                             (int(t.rng.integers(1, 4)), int(t.rng.integers(1, 4)), int(t.rng.integers(1, 4)), 6, 7, 3)]:
        yield t.rng.standard_normal((n, c, h, w)), t.rng.standard_normal((o, c, k, k)), t.rng.standard_normal(o)


@question("09.conv2d", title="A convolutional layer's forward pass (NCHW)")
def _check_conv2d(t: Tester):
    for x, w, b in _batch(t):
        t.expect_close(t.call(x, w, b), _conv_ref(x, w, b), case={"x": x, "weight": w, "bias": b}, mistakes=_known({
            "Deep learning's convolution is cross-correlation: do not flip the kernel.":
                _conv_ref(x, w[:, :, ::-1, ::-1].copy(), b),
            "Add the bias, one per output channel, to every position: bias[None, :, None, None].": _conv_ref(x, w),
            "Sum over the input channels too: each output channel sees every input channel.":
                _conv_ref(np.ascontiguousarray(x[:, :1]), np.ascontiguousarray(w[:, :1]), b) if x.shape[1] > 1 else None,
        }))


# -- 8. pooling gradient -----------------------------------------------------------------------------------------
@question("09.maxpool_backward", title="The gradient of 2x2 max-pooling")
def _check_pool(t: Tester):
    for shape in [(1, 1, 4, 4), (2, 3, 6, 4), (1, 2, 2 * int(t.rng.integers(1, 4)), 2 * int(t.rng.integers(1, 4)))]:
        x = t.rng.permutation(int(np.prod(shape))).reshape(shape) + t.rng.uniform(0, 0.5, shape)
        xt = Tensor(x, requires_grad=True)
        out = F.max_pool2d(xt, 2)
        g = t.rng.standard_normal(out.shape)
        (out * Tensor(g)).sum().backward()
        everywhere = np.repeat(np.repeat(g, 2, axis=2), 2, axis=3)
        t.expect_close(t.call(x, g), xt.grad, case={"x": x, "grad_out": g}, mistakes=_known({
            "Route each window's gradient to its argmax only, the input that won the max; the other three "
            "pixels did not affect the output and get 0.": everywhere,
            "Max-pooling passes the gradient on unchanged to its argmax (no division by 4): that is "
            "average-pooling's gradient.": everywhere / 4,
            "The argmax goes where the input is largest in its window, not the smallest.":
                _min_route(x, g),
        }))


def _min_route(x, g):
    """The gradient routed to each window's minimum (a wrong answer the hint names)."""
    xt = Tensor(-x, requires_grad=True)
    (F.max_pool2d(xt, 2) * Tensor(g)).sum().backward()
    return xt.grad


# -- 9. weight gradient ------------------------------------------------------------------------------------------
@question("09.conv_weight_grad", title="The gradient of a convolution's weights")
def _check_weight_grad(t: Tester):
    for x, w, _ in _batch(t):
        wt = Tensor(w, requires_grad=True)
        out = F.conv2d(Tensor(x), wt)
        g = t.rng.standard_normal(out.shape)
        (out * Tensor(g)).sum().backward()
        k = w.shape[-1]
        per_first = Tensor(w, requires_grad=True)
        (F.conv2d(Tensor(x[:1]), per_first) * Tensor(g[:1])).sum().backward()
        t.expect_close(t.call(x, g, k), wt.grad, case={"x": x, "grad_out": g, "k": k}, mistakes=_known({
            "Sum over every image of the batch, not only the first.": per_first.grad if len(x) > 1 else None,
            "The gradient is the cross-correlation of the input with the output gradient; do not flip it.":
                wt.grad[:, :, ::-1, ::-1],
            "Sum over the batch; do not average (the loss's own 1/N is already in the output gradient).":
                wt.grad / len(x) if len(x) > 1 else None,
        }))


# -- 10. parameters ----------------------------------------------------------------------------------------------
@question("09.param_counts", title="Parameters of a convolution vs a dense layer on the same image")
def _check_params(t: Tester):
    cases = [(1, 16, 3, 8, 8), (3, 64, 3, 32, 32)]
    for _ in range(3):
        cases.append(tuple(int(v) for v in (t.rng.integers(1, 8), t.rng.integers(2, 33), t.rng.choice([1, 3, 5]),
                                             t.rng.integers(4, 17), t.rng.integers(4, 17))))
    for c_in, c_out, k, h, w in cases:
        conv = c_out * (c_in * k * k + 1)
        oh, ow = h - k + 1, w - k + 1
        dense = (c_in * h * w) * (c_out * oh * ow) + c_out * oh * ow
        case = {"c_in": c_in, "c_out": c_out, "k": k, "h": h, "w": w}
        t.expect_close(t.numbers(t.call(c_in, c_out, k, h, w), ["conv", "dense"], case=case), np.array([conv, dense],
                       dtype=float), case=case, atol=0, mistakes=_known({
            "Count one bias per output channel (conv) and one per output unit (dense).":
                np.array([c_out * c_in * k * k, (c_in * h * w) * (c_out * oh * ow)], dtype=float),
            "A convolution's kernel spans every input channel: c_out (c_in k^2 + 1).":
                np.array([c_out * (k * k + 1), dense], dtype=float),
            "The dense layer maps all c_in h w inputs to all c_out (h - k + 1)(w - k + 1) outputs of the "
            "convolution, each with its own weight.":
                np.array([conv, (c_in * h * w) * (c_out * h * w) + c_out * h * w], dtype=float),
        }))
