r"""The graph convolution of Kipf & Welling (2017) in the engine (chapter 13): the op :func:`gcn_conv`,
defined through :func:`~course_lib.autograd.record` with its backward rule beside it, and the layer
:class:`GCNConv` (PyTorch Geometric's name and arguments). Re-exported by :mod:`course_lib.autograd.nn`.
"""
from __future__ import annotations

import math

import numpy as np

from course_lib.autograd.nn import Module
from course_lib.autograd.tensor import Tensor, as_tensor, record

__all__ = ["gcn_conv", "GCNConv"]


def gcn_conv(x: Tensor, adj, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""One graph convolution, one node in the graph: :math:`\mathbf Y = \hat{\mathbf A}\mathbf X\mathbf W^\top + \mathbf b`.

    Parameters
    ----------
    x : Tensor, shape (N, in)
        Node features, one node per row.
    adj : Tensor or ndarray, shape (N, N)
        The propagation matrix, usually :func:`course_lib.graphs.normalized_adjacency` of the graph
        (a constant; it gets a gradient only if it is a Tensor that requires grad).
    weight : Tensor, shape (out, in)
    bias : Tensor, shape (out,), optional

    Returns
    -------
    Tensor, shape (N, out)

    Notes
    -----
    With :math:`\mathbf Z = \mathbf X\mathbf W^\top` and :math:`\mathbf G = \partial L/\partial\mathbf Y`, the
    message goes back along the reversed edges, :math:`\partial L/\partial\mathbf Z = \hat{\mathbf A}^\top\mathbf G`,
    then through the dense layer:

    .. math:: \frac{\partial L}{\partial\mathbf X} = \frac{\partial L}{\partial\mathbf Z}\mathbf W,\quad
              \frac{\partial L}{\partial\mathbf W} = \Bigl(\frac{\partial L}{\partial\mathbf Z}\Bigr)^{\!\top}\mathbf X,\quad
              \frac{\partial L}{\partial\mathbf b} = \textstyle\sum_i\mathbf G_{i,:},\quad
              \frac{\partial L}{\partial\hat{\mathbf A}} = \mathbf G\mathbf Z^\top.

    The order :math:`\hat{\mathbf A}(\mathbf X\mathbf W^\top)` costs :math:`N^2 n_\text{out}` for the
    propagation instead of :math:`N^2 n_\text{in}`; PyTorch Geometric's ``GCNConv`` does the same.
    """
    x, adj = as_tensor(x), as_tensor(adj)
    n = x.shape[0] if x.ndim == 2 else None
    if x.ndim != 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"gcn_conv: node features of shape {x.shape} do not fit a weight of shape {weight.shape}"
                         f" (out, in): x must be (N, {weight.shape[1]})")
    if adj.shape != (n, n):
        raise ValueError(f"gcn_conv: the propagation matrix must be ({n}, {n}) for {n} nodes; got {adj.shape}")
    if x.dtype != weight.dtype:
        raise TypeError(f"gcn_conv: x has dtype {x.dtype} but the weight {weight.dtype}")
    a = adj.data.astype(x.dtype, copy=False)
    z = x.data @ weight.data.T
    out = a @ z
    if bias is not None:
        out += bias.data

    def backward(g):
        h = a.T @ g
        return (h @ weight.data if x.requires_grad else None,
                g @ z.T if adj.requires_grad else None,
                h.T @ x.data if weight.requires_grad else None,
                *((g.sum(axis=0),) if bias is not None else ()))

    inputs = (x, adj, weight) + ((bias,) if bias is not None else ())
    return record(out, inputs, backward, "gcn_conv")


class GCNConv(Module):
    r"""A graph convolution layer, as ``torch_geometric.nn.GCNConv`` but with a dense propagation matrix.

    Parameters
    ----------
    in_channels, out_channels : int
    bias : bool
    dtype : numpy dtype
        float32 (default) or float64.
    rng : numpy.random.Generator or int or None

    Attributes
    ----------
    weight : Tensor, shape (out_channels, in_channels)
        Glorot-uniform, :math:`\mathcal U(-a, a)` with :math:`a = \sqrt{6/(n_\text{in} + n_\text{out})}`
        (PyTorch Geometric's initialization).
    bias : Tensor, shape (out_channels,), zeros, or None

    Notes
    -----
    ``layer(x, adj)`` is :func:`gcn_conv`; pass ``adj = normalized_adjacency(A)`` (PyTorch Geometric
    builds the same matrix from ``edge_index``: self-loops, then the symmetric normalization).
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True, *, dtype=np.float32, rng=None):
        rng = np.random.default_rng(rng)
        self.in_channels, self.out_channels = in_channels, out_channels
        bound = math.sqrt(6.0 / (in_channels + out_channels))
        self.weight = Tensor(rng.uniform(-bound, bound, (out_channels, in_channels)), requires_grad=True, dtype=dtype)
        self.bias = Tensor(np.zeros(out_channels), requires_grad=True, dtype=dtype) if bias else None

    def forward(self, x: Tensor, adj) -> Tensor:
        return gcn_conv(x, adj, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, bias={self.bias is not None}"
