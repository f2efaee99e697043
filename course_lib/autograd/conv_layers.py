r"""Convolutional layers of the engine, as ``torch.nn`` names them (chapter 09): :class:`Conv2d`,
:class:`MaxPool2d`, :class:`AvgPool2d`, :class:`Flatten`. Re-exported by :mod:`course_lib.autograd.nn`.
"""
from __future__ import annotations

import math

import numpy as np

from course_lib.autograd.conv import avg_pool2d, conv2d, max_pool2d
from course_lib.autograd.nn import Module
from course_lib.autograd.tensor import Tensor, record
from course_lib.convolution import pair

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]


class Conv2d(Module):
    r"""A convolutional layer, as ``torch.nn.Conv2d`` (same argument names and order).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, dilation : int or (int, int)
    bias : bool
    dtype : numpy dtype
        float32 (default) or float64.
    rng : numpy.random.Generator or int or None

    Attributes
    ----------
    weight : Tensor, shape (out_channels, in_channels, k_h, k_w)
    bias : Tensor, shape (out_channels,), or None

    Notes
    -----
    PyTorch's default initialization: ``kaiming_uniform_(a=sqrt(5))`` for the weight, whose bound
    :math:`\sqrt{2/(1+a^2)}\sqrt{3/n_\text{in}} = 1/\sqrt{n_\text{in}}`, and the same bound for the
    bias, with fan-in :math:`n_\text{in} = C_\text{in} k_h k_w`: both :math:`\mathcal U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})`.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 bias: bool = True, *, dtype=np.float32, rng=None):
        rng = np.random.default_rng(rng)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = pair(kernel_size, "kernel_size"), pair(stride, "stride")
        self.padding, self.dilation = pair(padding, "padding", minimum=0), pair(dilation, "dilation")
        fan_in = in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = Tensor(rng.uniform(-bound, bound, (out_channels, in_channels, *self.kernel_size)),
                             requires_grad=True, dtype=dtype)
        self.bias = Tensor(rng.uniform(-bound, bound, out_channels), requires_grad=True, dtype=dtype) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, bias={self.bias is not None}")


class MaxPool2d(Module):
    """:func:`~course_lib.autograd.conv.max_pool2d` as a layer (``stride`` defaults to ``kernel_size``)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(MaxPool2d):
    """:func:`~course_lib.autograd.conv.avg_pool2d` as a layer."""

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Flatten(Module):
    """Flatten axes ``start_dim..end_dim`` into one, as ``torch.nn.Flatten`` (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        start, end = self.start_dim % len(shape), self.end_dim % len(shape)

        def backward(g):
            # The gradient goes back in the input's memory layout (channels-last after conv2d), not C order:
            # the ReLU before a Flatten multiplies it by a mask in that layout, and NumPy is ~10x slower on
            # two arrays whose layouts differ.
            grad = np.empty_like(x.data)
            grad[...] = g.reshape(shape)
            return (grad,)
        return record(x.data.reshape(shape[:start] + (-1,) + shape[end + 1:]), (x,), backward, "flatten")
