r"""Transformer layers of the engine, as ``torch.nn`` names them (chapter 11): :class:`LayerNorm`,
:class:`Embedding`, :class:`GELU`. Re-exported by :mod:`course_lib.autograd.nn`.

Parameter names, shapes and initialization follow PyTorch, so a torch ``state_dict`` loads into
them entry for entry: ``LayerNorm.weight`` ones and ``LayerNorm.bias`` zeros of shape
``normalized_shape``; ``Embedding.weight`` of shape (num_embeddings, embedding_dim) drawn from
:math:`\mathcal{N}(0, 1)`.
"""
from __future__ import annotations

import numpy as np

from course_lib.autograd.attention import embedding, gelu, layer_norm
from course_lib.autograd.nn import Module
from course_lib.autograd.tensor import Tensor

__all__ = ["LayerNorm", "Embedding", "GELU"]


class LayerNorm(Module):
    r"""Layer normalization over the trailing ``normalized_shape`` axes, as ``torch.nn.LayerNorm``.

    Parameters
    ----------
    normalized_shape : int or tuple of int
    eps : float
    elementwise_affine : bool
        Learn :math:`\mathbf{w}` (``weight``, ones) and :math:`\mathbf{b}` (``bias``, zeros).
    bias : bool
        Keep ``bias`` (PyTorch >= 2.1 allows ``bias=False``).
    dtype : numpy dtype

    Notes
    -----
    :math:`y_i = w_i (x_i - \mu)/\sqrt{v + \epsilon} + b_i`, with :math:`\mu` and :math:`v` (biased)
    over the normalized axes of each example: see :func:`course_lib.autograd.attention.layer_norm`.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True, *,
                 dtype=np.float32):
        shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, float(eps), elementwise_affine
        self.weight = Tensor(np.ones(shape), requires_grad=True, dtype=dtype) if elementwise_affine else None
        self.bias = Tensor(np.zeros(shape), requires_grad=True, dtype=dtype) if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class Embedding(Module):
    r"""A lookup table of learned vectors, as ``torch.nn.Embedding(num_embeddings, embedding_dim)``.

    Parameters
    ----------
    num_embeddings, embedding_dim : int
    dtype : numpy dtype
    rng : numpy.random.Generator or int or None

    Attributes
    ----------
    weight : Tensor, shape (num_embeddings, embedding_dim), initialized :math:`\mathcal{N}(0, 1)` as in PyTorch

    Notes
    -----
    Calling it with integer ids of any shape returns shape ``ids.shape + (embedding_dim,)``; the
    gradient of a row adds up over every position that used it.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, dtype=np.float32, rng=None):
        rng = np.random.default_rng(rng)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.weight = Tensor(rng.standard_normal((self.num_embeddings, self.embedding_dim)), requires_grad=True,
                             dtype=dtype)

    def forward(self, ids) -> Tensor:
        return embedding(ids, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class GELU(Module):
    r""":math:`x\,\Phi(x)` element-wise (``approximate="tanh"`` for GPT-2's form), as ``torch.nn.GELU``."""

    def __init__(self, approximate: str = "none"):
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"
