r"""Convolution and pooling ops of the engine, as ``torch.nn.functional`` names them (chapter 09).

Each op computes its output from the inputs' ``.data`` and hands its backward rule to the public
:func:`~course_lib.autograd.tensor.record`, like every other op. Layout NCHW; ``kernel_size``,
``stride``, ``padding`` and ``dilation`` are an int or an ``(h, w)`` pair, as in PyTorch.

:func:`conv2d` is im2col plus one matrix product (Chellapilla et al. 2006); its backward pass is
two matrix products and one col2im (:func:`course_lib.convolution.fold_patches`). Re-exported by
:mod:`course_lib.autograd.functional`.
"""
from __future__ import annotations

import numpy as np

from course_lib.autograd.tensor import Tensor, as_tensor, record
from course_lib.convolution import fold_patches, pair, patches

__all__ = ["conv2d", "max_pool2d", "avg_pool2d"]


def _image(x, who: str) -> Tensor:
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{who}: expected an NCHW input (N, C, H, W), got shape {x.shape}")
    return x


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
        Sizes from :func:`course_lib.convolution.conv_output_size`.

    Notes
    -----
    With :math:`\mathbf P` the im2col matrix, one row per output position :math:`(n, i, j)` and one
    column per tap :math:`(c, a, b)` (shape :math:`(N H_\text{out} W_\text{out},\ C_\text{in} k_h k_w)`),
    and :math:`\mathbf W_\text{mat}` the weight reshaped to :math:`(C_\text{out},\ C_\text{in} k_h k_w)`:

    .. math::  \mathbf Y_\text{mat} = \mathbf P\,\mathbf W_\text{mat}^\top + \mathbf b,\qquad
               \frac{\partial L}{\partial \mathbf W_\text{mat}} = \mathbf G_\text{mat}^\top \mathbf P,\qquad
               \frac{\partial L}{\partial \mathbf P} = \mathbf G_\text{mat}\mathbf W_\text{mat},\qquad
               \frac{\partial L}{\partial \mathbf X} = \operatorname{col2im}\Bigl(\frac{\partial L}{\partial \mathbf P}\Bigr)

    and :math:`\partial L/\partial\mathbf b = \sum_{n,i,j} \mathbf G_{n,:,i,j}`: the dense layer's
    rules on the patch matrix, then col2im adds each patch's gradient back onto the pixels it
    was copied from (the adjoint of the copy).
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
    n, c = x.shape[:2]
    c_out, _, kh, kw = weight.shape
    view = patches(x.data, (kh, kw), stride, padding, dilation)  # (N, C, H_out, W_out, kh, kw), no copy
    oh, ow = view.shape[2:4]
    cols = view.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)  # the one copy: im2col
    w_mat = weight.data.reshape(c_out, -1)
    out = cols @ w_mat.T  # (N H_out W_out, C_out): the one matrix product
    if bias is not None:
        out += bias.data
    out = np.ascontiguousarray(out.reshape(n, oh, ow, c_out).transpose(0, 3, 1, 2))
    parents = (x, weight) if bias is None else (x, weight, bias)

    def backward(g):
        g_mat = g.transpose(0, 2, 3, 1).reshape(n * oh * ow, c_out)
        grad_x = grad_w = None
        if x.requires_grad:
            d_cols = (g_mat @ w_mat).reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 1, 2, 4, 5)
            grad_x = fold_patches(d_cols, x.shape, stride, padding, dilation)
        if weight.requires_grad:
            grad_w = np.dot(g_mat.T, cols).reshape(weight.shape)
        grads = (grad_x, grad_w)
        return grads if bias is None else grads + (g_mat.sum(axis=0) if bias.requires_grad else None,)
    return record(out, parents, backward, "conv2d")


def _pool_args(kernel_size, stride, padding):
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None else pair(stride, "stride")
    p = pair(padding, "padding", minimum=0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"padding {p} must be at most half the kernel size {k} (as in PyTorch)")
    return k, s, p


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

    Notes
    -----
    .. math::  y_{ncij} = \max_{(a, b)} x_{n,c,\,i s_h + a,\,j s_w + b},\qquad
               \frac{\partial L}{\partial x_{ncuv}} = \sum_{(i, j):\ (u, v) = \operatorname{argmax}_{ij}} g_{ncij}

    The gradient goes to the one input that won each window (the first in row-major order on a
    tie, as PyTorch), nothing to the others; overlapping windows may send several to one pixel.
    """
    x = _image(input, "max_pool2d")
    k, s, p = _pool_args(kernel_size, stride, padding)
    view = patches(x.data, k, s, p, pad_value=-np.inf)
    n, c, oh, ow = view.shape[:4]
    flat = view.reshape(n, c, oh, ow, k[0] * k[1])
    winner = flat.argmax(axis=-1)[..., None]
    out = np.take_along_axis(flat, winner, axis=-1)[..., 0]

    def backward(g):
        routed = np.zeros((n, c, oh, ow, k[0] * k[1]), dtype=g.dtype)
        np.put_along_axis(routed, winner, g[..., None], axis=-1)
        return (fold_patches(routed.reshape(n, c, oh, ow, *k), x.shape, s, p),)
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
    k, s, p = _pool_args(kernel_size, stride, padding)
    view = patches(x.data, k, s, p)
    scale = 1.0 / (k[0] * k[1])
    out = (view.sum(axis=(-2, -1)) * scale).astype(x.dtype)

    def backward(g):
        spread = np.broadcast_to((g * scale)[..., None, None], g.shape + k)
        return (fold_patches(spread, x.shape, s, p),)
    return record(out, (x,), backward, "avg_pool2d")
