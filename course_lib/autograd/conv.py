r"""Convolution and pooling ops of the engine, as ``torch.nn.functional`` names them (chapter 09).

Each op computes its output from the inputs' ``.data`` and hands its backward rule to the public
:func:`~course_lib.autograd.tensor.record`, like every other op. Shapes are NCHW, as in PyTorch;
``kernel_size``, ``stride``, ``padding`` and ``dilation`` are an int or an ``(h, w)`` pair.

:func:`conv2d` is im2col plus one matrix product (Chellapilla et al. 2006); its backward pass is
two matrix products and one col2im. The math is that of :func:`course_lib.convolution.im2col` and
:func:`~course_lib.convolution.col2im`; the ops here build the same matrices faster:

- *one strided copy (or add) per kernel tap* :math:`(a, b)`, :math:`k_h k_w` vectorized moves in
  all, instead of one gather through a 6-axis view (measured 2-8x slower in NumPy);
- *channels last in memory*: a convolution's output is an NCHW-shaped view of an NHWC array
  (``out.data.transpose(0, 2, 3, 1)`` is contiguous), so the matrix product's rows need no
  transposing copy, ReLU and pooling keep that layout, and the next convolution reads its input
  with no copy. Values and shapes are those of PyTorch; only ``.data.strides`` differ.
- max-pooling keeps the winning tap's index (one byte per output) instead of a copy of every
  window, and routes the gradient with one masked add per tap.

Re-exported by :mod:`course_lib.autograd.functional`.
"""
from __future__ import annotations

import numpy as np

from course_lib.autograd.tensor import Tensor, as_tensor, record
from course_lib.convolution import conv_output_size, pair

__all__ = ["conv2d", "max_pool2d", "avg_pool2d"]


def _image(x, who: str) -> Tensor:
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{who}: expected an NCHW input (N, C, H, W), got shape {x.shape}")
    return x


def _geometry(shape_hw, kernel_size, stride, padding, dilation):
    """The pairs ``k, s, p, d`` and the output size ``(H_out, W_out)`` (clear errors from conv_output_size)."""
    k, s = pair(kernel_size, "kernel_size"), pair(stride, "stride")
    p, d = pair(padding, "padding", minimum=0), pair(dilation, "dilation")
    out = tuple(conv_output_size(shape_hw[i], k[i], s[i], p[i], d[i]) for i in (0, 1))
    return k, s, p, d, out


def _taps(k, s, d, out_hw):
    r"""For each kernel tap :math:`(a, b)`, row-major, the slices of the padded image it reads.

    Tap :math:`(a, b)` of output :math:`(i, j)` reads padded pixel :math:`(i s_h + a d_h,\ j s_w + b d_w)`,
    so over all outputs it reads the strided block ``[a d_h : a d_h + s_h (H_out - 1) + 1 : s_h, ...]``.
    """
    return [(a, b, slice(a * d[0], a * d[0] + s[0] * (out_hw[0] - 1) + 1, s[0]),
             slice(b * d[1], b * d[1] + s[1] * (out_hw[1] - 1) + 1, s[1]))
            for a in range(k[0]) for b in range(k[1])]


def _padded(x: np.ndarray, p, axes, value=0.0) -> np.ndarray:
    """``x`` with ``p[0]`` entries of ``value`` on each side of ``axes[0]``, ``p[1]`` of ``axes[1]`` (a copy,
    in the memory layout of ``x``); ``x`` itself when there is no padding."""
    if not (p[0] or p[1]):
        return x
    shape = list(x.shape)
    shape[axes[0]] += 2 * p[0]
    shape[axes[1]] += 2 * p[1]
    out = np.full(shape, value, dtype=x.dtype)
    inner = [slice(None)] * x.ndim
    inner[axes[0]], inner[axes[1]] = slice(p[0], p[0] + x.shape[axes[0]]), slice(p[1], p[1] + x.shape[axes[1]])
    out[tuple(inner)] = x
    return out


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1) -> Tensor:
    r"""2-D convolution (cross-correlation) of a batch, as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    input : Tensor, shape (N, C_in, H, W)
    weight : Tensor, shape (C_out, C_in, k_h, k_w)
    bias : Tensor, shape (C_out,), optional
    stride, padding, dilation : int or (int, int)

    Returns
    -------
    Tensor, shape (N, C_out, H_out, W_out)
        Sizes from :func:`course_lib.convolution.conv_output_size`; stored channels-last (see the
        module docstring).

    Notes
    -----
    With :math:`\mathbf P` the im2col matrix, one row per output position :math:`(n, i, j)` and one
    column per tap and channel (shape :math:`(N H_\text{out} W_\text{out},\ C_\text{in} k_h k_w)`),
    and :math:`\mathbf W_\text{mat}` the weight reshaped to match, :math:`(C_\text{out},\ C_\text{in} k_h k_w)`:

    .. math::  \mathbf Y_\text{mat} = \mathbf P\,\mathbf W_\text{mat}^\top + \mathbf b,\qquad
               \frac{\partial L}{\partial \mathbf W_\text{mat}} = \mathbf G_\text{mat}^\top \mathbf P,\qquad
               \frac{\partial L}{\partial \mathbf P} = \mathbf G_\text{mat}\mathbf W_\text{mat},\qquad
               \frac{\partial L}{\partial \mathbf X} = \operatorname{col2im}\Bigl(\frac{\partial L}{\partial \mathbf P}\Bigr)

    and :math:`\partial L/\partial\mathbf b = \sum_{n,i,j} \mathbf G_{n,:,i,j}`: the dense layer's
    rules on the patch matrix, then col2im adds each patch's gradient back onto the pixels it
    was copied from (the adjoint of the copy). The columns are ordered :math:`(a, b, c)` here
    (channel fastest, so each tap's copy moves whole pixels) rather than :func:`~course_lib.convolution.im2col`'s
    :math:`(c, a, b)`; the weight is permuted to the same order, so the product is the same sum.
    """
    x = _image(input, "conv2d")
    if weight.ndim != 4 or weight.shape[1] != x.shape[1]:
        raise ValueError(f"conv2d: a weight of shape {weight.shape} (C_out, C_in, k_h, k_w) does not fit an input "
                         f"with {x.shape[1]} channels (input shape {x.shape})")
    if x.dtype != weight.dtype:
        raise TypeError(f"conv2d: the input has dtype {x.dtype} but the weight {weight.dtype}; convert the input "
                        f"with .astype(np.{weight.dtype})")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias of shape {bias.shape}, expected ({weight.shape[0]},)")
    n, c, h, w = x.shape
    c_out = weight.shape[0]
    k, s, p, d, (oh, ow) = _geometry((h, w), weight.shape[2:], stride, padding, dilation)
    taps = _taps(k, s, d, (oh, ow))
    x_pad = _padded(x.data.transpose(0, 2, 3, 1), p, (1, 2))  # NHWC: free if x came from conv2d
    width = k[0] * k[1] * c
    # The bias is the weight of a constant input 1: a column of ones in P and b as a column of W_mat put
    # it in the same matrix product, forward and backward (NumPy's broadcast add and column sum of a
    # tall (N H_out W_out, C_out) matrix cost as much as the product itself).
    cols = np.empty((n, oh, ow, width + (bias is not None)), dtype=x.dtype)
    taps_of = cols[..., :width].reshape(n, oh, ow, k[0], k[1], c)  # a view: one axis split in three
    for a, b, rows, columns in taps:  # im2col, one strided copy per tap
        taps_of[:, :, :, a, b, :] = x_pad[:, rows, columns, :]
    if bias is not None:
        cols[..., width] = 1
    cols = cols.reshape(n * oh * ow, -1)
    w_mat = weight.data.transpose(0, 2, 3, 1).reshape(c_out, width)  # columns (a, b, c), as cols
    out = cols @ (w_mat if bias is None else np.column_stack([w_mat, bias.data])).T  # the one matrix product
    parents = (x, weight) if bias is None else (x, weight, bias)

    def backward(g):
        g_mat = g.transpose(0, 2, 3, 1).reshape(n * oh * ow, c_out)  # no copy when g is channels-last
        grad_x = grad_w = grad_b = None
        if x.requires_grad:
            d_cols = (g_mat @ w_mat).reshape(n, oh, ow, k[0], k[1], c)
            grad_pad = np.zeros(x_pad.shape, dtype=x.dtype)
            for a, b, rows, columns in taps:  # col2im: add each tap's gradient where it was copied from
                grad_pad[:, rows, columns, :] += d_cols[:, :, :, a, b, :]
            grad_x = grad_pad[:, p[0]:p[0] + h, p[1]:p[1] + w, :].transpose(0, 3, 1, 2)
        if weight.requires_grad or (bias is not None and bias.requires_grad):
            grad_wb = np.dot(g_mat.T, cols)  # (C_out, width [+ 1]): the bias's gradient is the last column
            grad_w = grad_wb[:, :width].reshape(c_out, k[0], k[1], c).transpose(0, 3, 1, 2)
            grad_b = grad_wb[:, width] if bias is not None else None
        return (grad_x, grad_w) if bias is None else (grad_x, grad_w, grad_b)
    return record(out.reshape(n, oh, ow, c_out).transpose(0, 3, 1, 2), parents, backward, "conv2d")


def _pool_args(x: Tensor, kernel_size, stride, padding):
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None else pair(stride, "stride")
    p = pair(padding, "padding", minimum=0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"padding {p} must be at most half the kernel size {k} (as in PyTorch)")
    k, s, p, d, out_hw = _geometry(x.shape[2:], k, s, p, 1)
    return p, _taps(k, s, d, out_hw), k[0] * k[1]


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    r"""Max-pooling, as ``torch.nn.functional.max_pool2d`` (``stride`` defaults to ``kernel_size``).

    Parameters
    ----------
    input : Tensor, shape (N, C, H, W)
    kernel_size, stride, padding : int or (int, int)
        Padding holds :math:`-\infty` (it never wins) and is at most half the kernel.

    Returns
    -------
    Tensor, shape (N, C, H_out, W_out)
        In the memory layout of the input.

    Notes
    -----
    .. math::  y_{ncij} = \max_{(a, b)} x_{n,c,\,i s_h + a,\,j s_w + b},\qquad
               \frac{\partial L}{\partial x_{ncuv}} = \sum_{(i, j):\ (u, v) = \operatorname{argmax}_{ij}} g_{ncij}

    The gradient goes to the one input that won each window (the first in row-major order on a
    tie, as PyTorch: a later tap takes over only when strictly larger), nothing to the others;
    overlapping windows may send several to one pixel.
    """
    x = _image(input, "max_pool2d")
    p, taps, n_taps = _pool_args(x, kernel_size, stride, padding)
    x_pad = _padded(x.data, p, (2, 3), -np.inf)
    out = winner = None
    for t, (_, _, rows, columns) in enumerate(taps):
        window = x_pad[:, :, rows, columns]
        if out is None:
            out, winner = window.copy(order="K"), np.zeros(window.shape, dtype=np.uint8 if n_taps < 256 else np.intp)
            continue
        # the taps come in increasing t, so "t where strictly better, else keep" is a running maximum
        np.maximum(winner, (window > out) * winner.dtype.type(t), out=winner)
        np.maximum(out, window, out=out)

    # Windows that do not overlap (stride >= kernel) write disjoint blocks: write, do not add.
    disjoint = all(st >= kt for st, kt in zip(pair(kernel_size if stride is None else stride), pair(kernel_size)))

    def backward(g):
        grad_pad = np.zeros_like(x_pad)
        for t, (_, _, rows, columns) in enumerate(taps):
            if disjoint:
                np.multiply(g, winner == t, out=grad_pad[:, :, rows, columns])
            else:
                grad_pad[:, :, rows, columns] += g * (winner == t)
        return (grad_pad[:, :, p[0]:p[0] + x.shape[2], p[1]:p[1] + x.shape[3]],)
    return record(out, (x,), backward, "max_pool2d")


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    r"""Average-pooling, as ``torch.nn.functional.avg_pool2d`` (padding counted in the mean).

    Notes
    -----
    .. math::  y_{ncij} = \frac{1}{k_h k_w}\sum_{(a, b)} x_{n,c,\,i s_h + a,\,j s_w + b},\qquad
               \frac{\partial L}{\partial x_{ncuv}} = \frac{1}{k_h k_w}\sum_{(i, j)\ \text{whose window holds}\ (u, v)} g_{ncij}

    PyTorch's default ``count_include_pad=True``: the zeros of the padding count in the mean.
    """
    x = _image(input, "avg_pool2d")
    p, taps, n_taps = _pool_args(x, kernel_size, stride, padding)
    x_pad = _padded(x.data, p, (2, 3))
    out = None
    for _, _, rows, columns in taps:
        window = x_pad[:, :, rows, columns]
        out = window.copy(order="K") if out is None else np.add(out, window, out=out)
    out *= x.dtype.type(1.0 / n_taps)

    def backward(g):
        grad_pad, share = np.zeros_like(x_pad), g * x.dtype.type(1.0 / n_taps)
        for _, _, rows, columns in taps:
            grad_pad[:, :, rows, columns] += share
        return (grad_pad[:, :, p[0]:p[0] + x.shape[2], p[1]:p[1] + x.shape[3]],)
    return record(out, (x,), backward, "avg_pool2d")
