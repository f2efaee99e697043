"""Chapter 09 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
import numpy as np
import scipy.signal
import torch

from check_contract import contract_tests
from course_lib import convolution as C
from course_lib.autograd import Tensor
from course_lib.autograd import functional as F

SEEDS = [1, 2, 3, 4, 5]


# -- references and alternatives, in the learner's signatures ------------------------------------------------
def output_size(n, kernel, stride, padding, dilation):
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def output_size_torch(n, kernel, stride, padding, dilation):
    layer = torch.nn.Conv1d(1, 1, kernel, stride, padding, dilation, bias=False)
    with torch.no_grad():
        return layer(torch.zeros(1, 1, n)).shape[-1]


def transposed(n, kernel, stride, padding, output_padding):
    return (n - 1) * stride - 2 * padding + (kernel - 1) + output_padding + 1


def transposed_torch(n, kernel, stride, padding, output_padding):
    layer = torch.nn.ConvTranspose1d(1, 1, kernel, stride, padding, output_padding, bias=False)
    with torch.no_grad():
        return layer(torch.zeros(1, 1, n)).shape[-1]


def xcorr_loops(image, kernel):
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out


def im2col_loops(x, k):
    c, h, w = x.shape
    cols = []
    for i in range(h - k + 1):
        for j in range(w - k + 1):
            cols.append(x[:, i:i + k, j:j + k].reshape(-1))
    return np.array(cols).T


def conv2d_loops(x, w, b):
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    out = np.zeros((n, o, h - k + 1, wd - k + 1))
    for i in range(h - k + 1):
        for j in range(wd - k + 1):
            out[:, :, i, j] = np.einsum("ncab,ocab->no", x[:, :, i:i + k, j:j + k], w) + b
    return out


def maxpool_backward(x, g):
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2)
    mask = win == win.max(axis=(3, 5), keepdims=True)
    return (mask * g[:, :, :, None, :, None]).reshape(x.shape)


def maxpool_backward_torch(x, g):
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 2).backward(torch.tensor(g))
    return tx.grad.numpy()


def weight_grad(x, g, k):
    n, c, h, w = x.shape
    out = np.zeros((g.shape[1], c, k, k))
    for a in range(k):
        for b in range(k):
            out[:, :, a, b] = np.einsum("noij,ncij->oc", g, x[:, :, a:a + g.shape[2], b:b + g.shape[3]])
    return out


def weight_grad_im2col(x, g, k):
    cols = C.im2col(x, k)  # (N, C k k, L)
    gm = g.reshape(g.shape[0], g.shape[1], -1)  # (N, O, L)
    return np.einsum("nol,ncl->oc", gm, cols).reshape(g.shape[1], x.shape[1], k, k)


def param_counts(c_in, c_out, k, h, w):
    oh, ow = h - k + 1, w - k + 1
    return c_out * (c_in * k * k + 1), (c_in * h * w + 1) * (c_out * oh * ow)


CORRECT = {
    "09.output_size": (C.conv_output_size, [output_size, output_size_torch], lambda *a: 6),
    "09.transposed_size": (C.conv_transpose_output_size, [transposed, transposed_torch], lambda *a: 7),
    "09.cross_correlate": (C.cross_correlate2d, [xcorr_loops, lambda x, k: scipy.signal.correlate2d(x, k, "valid")],
                           lambda x, k: np.zeros((3, 3))),
    "09.convolve": (C.convolve2d, [lambda x, k: xcorr_loops(x, k[::-1, ::-1]),
                                   lambda x, k: scipy.signal.convolve2d(x, k, "valid")], lambda x, k: np.ones((3, 4))),
    "09.receptive_field": (lambda k, s: int(C.receptive_field(k, s)[-1]),
                           [lambda k, s: 1 + sum((kl - 1) * int(np.prod(s[:i])) for i, kl in enumerate(k))],
                           lambda k, s: 7),
    "09.im2col": (lambda x, k: C.im2col(x[None], k)[0], [im2col_loops,
                  lambda x, k: torch.nn.functional.unfold(torch.tensor(x[None]), k)[0].numpy()],
                  lambda x, k: np.zeros((4, 9))),
    "09.conv2d": (lambda x, w, b: F.conv2d(Tensor(x), Tensor(w), Tensor(b)).data,
                  [conv2d_loops, lambda x, w, b: torch.nn.functional.conv2d(*map(torch.tensor, (x, w, b))).numpy()],
                  lambda x, w, b: np.zeros((2, 3, 3, 3))),
    "09.maxpool_backward": (maxpool_backward, [maxpool_backward_torch], lambda x, g: np.zeros((1, 1, 4, 4))),
    "09.conv_weight_grad": (weight_grad, [weight_grad_im2col], lambda x, g, k: np.zeros((3, 1, 3, 3))),
    "09.param_counts": (param_counts, [lambda c, o, k, h, w: [o * c * k * k + o, (c * h * w) * o * (h - k + 1) * (w - k + 1)
                                                             + o * (h - k + 1) * (w - k + 1)]],
                        lambda *a: (160, 1000)),
}


def _everywhere(x, g):
    return np.repeat(np.repeat(g, 2, axis=2), 2, axis=3)


WRONG = {
    "09.output_size": [(lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s, "add 1"),
                       (lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1, "both sides"),
                       (lambda n, k, s, p, d: n + 2 * p - d * (k - 1), "stride")],
    "09.transposed_size": [(lambda n, k, s, p, op: (n - 1) - 2 * p + (k - 1) + op + 1, "stride"),
                           (lambda n, k, s, p, op: (n - 1) * s - p + (k - 1) + op + 1, "both sides")],
    "09.cross_correlate": [(C.convolve2d, "flip")],
    "09.convolve": [(C.cross_correlate2d, "flip"), (lambda x, k: C.cross_correlate2d(x, k[::-1]), "both axes")],
    "09.receptive_field": [(lambda k, s: 1 + sum(kl - 1 for kl in k), "strides"),
                           (lambda k, s: 1 + sum((kl - 1) * int(np.prod(s[:i + 1])) for i, kl in enumerate(k)), "below")],
    "09.im2col": [(lambda x, k: C.patches(x[None], k)[0].transpose(3, 4, 0, 1, 2).reshape(-1, (x.shape[1] - k + 1)
                                                                                         * (x.shape[2] - k + 1)),
                   "order"),
                  (lambda x, k: C.im2col(x[None], k)[0].T, "transpose")],
    "09.conv2d": [(lambda x, w, b: F.conv2d(Tensor(x), Tensor(w[:, :, ::-1, ::-1].copy()), Tensor(b)).data, "flip"),
                  (lambda x, w, b: F.conv2d(Tensor(x), Tensor(w)).data, "bias")],
    "09.maxpool_backward": [(_everywhere, "argmax"), (lambda x, g: _everywhere(x, g) / 4, "average")],
    "09.conv_weight_grad": [(lambda x, g, k: weight_grad(x[:1], g[:1], k), "batch"),
                            (lambda x, g, k: weight_grad(x, g, k)[:, :, ::-1, ::-1], "flip")],
    "09.param_counts": [(lambda c, o, k, h, w: (o * c * k * k, (c * h * w) * o * (h - k + 1) * (w - k + 1)), "bias"),
                        (lambda c, o, k, h, w: (o * (k * k + 1), param_counts(c, o, k, h, w)[1]), "every input channel")],
}

globals().update(contract_tests("09", CORRECT, WRONG, seeds=SEEDS))
