"""Functions on Tensors that are not methods: softmax and friends, losses, joining, selecting.

Named as in ``torch.nn.functional`` (and NumPy for ``concatenate``/``stack``/``where``), each
with its forward computation and, beside it, its backward closure, handed to
:func:`~course_lib.autograd.tensor.record` like every other op. Softmax-type functions
take the log-sum-exp from chapter 03 (:func:`course_lib.probability.logsumexp`, float64
inside, cast back), so they never overflow and keep the input's dtype.
"""
from __future__ import annotations

import numpy as np

from course_lib.autograd.tensor import Tensor, as_tensor, record, unbroadcast
from course_lib.probability import logsumexp as _logsumexp

__all__ = ["linear", "relu", "tanh", "sigmoid", "softmax", "log_softmax", "cross_entropy", "mse",
           "concatenate", "stack", "where"]


def _lse(z: np.ndarray, axis: int) -> np.ndarray:
    """Chapter 03's log-sum-exp over ``axis`` (kept), in the dtype of ``z``."""
    return _logsumexp(z, axis=axis, keepdims=True).astype(z.dtype)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""A dense layer, one node in the graph: ``x @ weight.T + bias``.

    Parameters
    ----------
    x : Tensor, shape (..., in)
    weight : Tensor, shape (out, in)
    bias : Tensor, shape (out,), optional

    Returns
    -------
    Tensor, shape (..., out)

    Notes
    -----
    With the rows of :math:`\mathbf{X}` the examples and :math:`\mathbf{G}` the gradient of
    the output,

    .. math::  \mathbf{Y} = \mathbf{X}\mathbf{W}^\top + \mathbf{b},\quad
               \frac{\partial L}{\partial\mathbf{X}} = \mathbf{G}\mathbf{W},\quad
               \frac{\partial L}{\partial\mathbf{W}} = \mathbf{G}^\top\mathbf{X},\quad
               \frac{\partial L}{\partial\mathbf{b}} = \textstyle\sum_n \mathbf{G}_{n,:}.

    The same as ``x @ weight.T + bias`` (three nodes); fused, as ``torch.nn.functional.linear``.
    The input's gradient is only computed when ``x`` requires grad (never for a data batch).
    """
    x = as_tensor(x)
    if x.dtype != weight.dtype:
        raise TypeError(f"linear: the input has dtype {x.dtype} but the weight {weight.dtype}; convert the input "
                        f"with .astype(np.{weight.dtype})")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit a weight of shape {weight.shape} "
                         f"(out, in): its last axis must be in = {weight.shape[1]}")
    out = x.data @ weight.data.T
    if bias is not None:
        out += bias.data
    parents = (x, weight) if bias is None else (x, weight, bias)

    def backward(g):
        g2 = g.reshape(-1, g.shape[-1])  # every example (and any extra leading axis) as a row
        # np.dot, not @: for a batch of one, matmul of the (out, 1) view G^T falls back to a slow loop.
        grads = (g @ weight.data if x.requires_grad else None,
                 np.dot(g2.T, x.data.reshape(-1, x.shape[-1])) if weight.requires_grad else None)
        return grads if bias is None else grads + (g2.sum(axis=0) if bias.requires_grad else None,)
    return record(out, parents, backward, "linear")


def relu(x: Tensor) -> Tensor:
    """:meth:`Tensor.relu` as a function."""
    return as_tensor(x).relu()


def tanh(x: Tensor) -> Tensor:
    """:meth:`Tensor.tanh` as a function."""
    return as_tensor(x).tanh()


def sigmoid(x: Tensor) -> Tensor:
    """:meth:`Tensor.sigmoid` as a function."""
    return as_tensor(x).sigmoid()


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    r"""Softmax along ``axis``.

    Notes
    -----
    .. math::  s_k = \frac{e^{z_k}}{\sum_j e^{z_j}} = e^{z_k - \operatorname{LSE}(\mathbf z)},\qquad
               \frac{\partial L}{\partial z_k} = s_k\Bigl(g_k - \sum_j g_j s_j\Bigr)

    the vector-Jacobian product with :math:`J = \operatorname{diag}(\mathbf s) - \mathbf s\mathbf s^\top`,
    computed without forming :math:`J`.
    """
    x = as_tensor(x)
    s = np.exp(x.data - _lse(x.data, axis))
    return record(s, (x,), lambda g: (s * (g - (g * s).sum(axis=axis, keepdims=True)),), "softmax")


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    r"""Log-softmax along ``axis``, finite even where the softmax underflows.

    Notes
    -----
    .. math::  \log s_k = z_k - \operatorname{LSE}(\mathbf z),\qquad
               \frac{\partial L}{\partial z_k} = g_k - s_k\sum_j g_j
    """
    x = as_tensor(x)
    out = x.data - _lse(x.data, axis)
    return record(out, (x,), lambda g: (g - np.exp(out) * g.sum(axis=axis, keepdims=True),), "log_softmax")


def cross_entropy(logits: Tensor, targets) -> Tensor:
    r"""Mean cross-entropy of integer class labels under a softmax of the logits.

    Parameters
    ----------
    logits : Tensor, shape (N, K)
    targets : array_like of int, shape (N,)
        Class indices in ``0..K-1`` (no gradient).

    Returns
    -------
    Tensor, shape ()

    Notes
    -----
    .. math::  L = \frac1N\sum_n \bigl(\operatorname{LSE}(\mathbf z_n) - z_{n,y_n}\bigr),\qquad
               \frac{\partial L}{\partial\mathbf Z} = \frac{g}{N}(\mathbf S - \mathbf Y)

    with :math:`\mathbf S` the softmax of each row and :math:`\mathbf Y` the one-hot labels
    (chapter 04, :func:`course_lib.losses.softmax_cross_entropy_grad`). One fused node: the
    backward pass reuses the forward's log-probabilities instead of differentiating
    ``log``, ``exp`` and ``sum`` one by one. Equals ``torch.nn.functional.cross_entropy``.
    """
    z = as_tensor(logits)
    y = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(f"cross_entropy: expected logits (N, K) and targets (N,), got {z.shape} and {y.shape}")
    if y.dtype.kind not in "iu":
        if not np.array_equal(y, np.round(y)):
            raise ValueError("cross_entropy: targets must be integer class indices")
        y = y.astype(np.intp)
    if y.size and (y.min() < 0 or y.max() >= z.shape[1]):
        raise ValueError(f"cross_entropy: targets must lie in 0..{z.shape[1] - 1}")
    rows, n = np.arange(len(y)), len(y)
    logp = z.data - _lse(z.data, axis=1)

    def backward(g):
        grad = np.exp(logp)
        grad[rows, y] -= 1
        grad *= g / n
        return (grad,)
    return record(np.asarray(-logp[rows, y].mean(), dtype=z.dtype), (z,), backward, "cross_entropy")


def mse(pred: Tensor, target) -> Tensor:
    r"""Mean squared error, :math:`L = \frac1N\sum_i(\hat y_i - y_i)^2` over all :math:`N` entries.

    Composed of tested ops (``-``, ``** 2``, ``mean``), so its gradient
    :math:`\frac2N(\hat{\mathbf y} - \mathbf y)` comes from the chain rule. Equals
    ``torch.nn.functional.mse_loss``.
    """
    pred = as_tensor(pred)
    target = as_tensor(target, pred.dtype) if not isinstance(target, Tensor) else target
    if pred.shape != target.shape:
        raise ValueError(f"mse: predictions have shape {pred.shape} but targets {target.shape}")
    return ((pred - target) ** 2).mean()


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis; each gets back its own slice of the gradient."""
    tensors = [as_tensor(t) for t in tensors]
    sizes = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return record(np.concatenate([t.data for t in tensors], axis=axis), tuple(tensors),
                   lambda g: tuple(np.split(g, sizes, axis=axis)), "concatenate")


def stack(tensors, axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis; tensor ``i`` gets ``g`` at index ``i`` of that axis."""
    tensors = [as_tensor(t) for t in tensors]
    out = np.stack([t.data for t in tensors], axis=axis)
    return record(out, tuple(tensors), lambda g: tuple(np.moveaxis(g, axis, 0)), "stack")


def where(condition, a, b) -> Tensor:
    r"""``a`` where ``condition`` holds, else ``b`` (with broadcasting).

    Notes
    -----
    .. math::  \frac{\partial L}{\partial\mathbf A} = \mathbf G\odot[\mathbf C],\qquad
               \frac{\partial L}{\partial\mathbf B} = \mathbf G\odot[\lnot\mathbf C]

    each summed over its broadcast axes.
    """
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    a = a if isinstance(a, Tensor) else as_tensor(a, b.dtype if isinstance(b, Tensor) else None)
    b = b if isinstance(b, Tensor) else as_tensor(b, a.dtype)

    def backward(g):
        return (unbroadcast(np.where(cond, g, 0), a.shape) if a.requires_grad else None,
                unbroadcast(np.where(cond, 0, g), b.shape) if b.requires_grad else None)
    return record(np.where(cond, a.data, b.data), (a, b), backward, "where")

from course_lib.autograd.conv import avg_pool2d, conv2d, max_pool2d  # noqa: E402  (chapter 09's ops, own module)
from course_lib.autograd.attention import embedding, gelu, layer_norm, scaled_dot_product_attention  # noqa: E402,F401  (chapter 11)
