"""Chapter 07's layers for the autograd engine: batch normalization and dropout, with train/eval modes.

- :func:`batch_norm`: one engine op whose forward and backward are the closed forms of
  :func:`course_lib.regularization.batchnorm_forward` / :func:`~course_lib.regularization.batchnorm_backward`
  (checked against the gradient checker and against the same computation composed of the
  engine's elementary ops, :func:`batch_norm_composed`);
- :class:`BatchNorm1d` and :class:`Dropout`: modules with ``torch.nn``'s arguments, a
  ``training`` flag, and running statistics for batch normalization;
- :func:`train` / :func:`eval`: switch every such layer of a model, as ``model.train()`` and
  ``model.eval()`` do in PyTorch.

The layers build on the engine of chapter 05 (:mod:`course_lib.autograd`) without changing it:
:func:`batch_norm` is a new op defined through the engine's public door,
:func:`course_lib.autograd.record`, exactly as the engine's own ops (``linear``, ``cross_entropy``) are.
"""
from __future__ import annotations

import numpy as np

from course_lib import regularization as R
from course_lib.autograd import Tensor, record
from course_lib.autograd.nn import Module


def batch_norm(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    r"""Training-mode batch normalization of ``x`` (N, D) with scale ``gamma`` and shift ``beta`` (D,).

    Parameters
    ----------
    x : Tensor, shape (N, D), N > 1
    gamma, beta : Tensor, shape (D,)
    eps : float

    Returns
    -------
    Tensor, shape (N, D)

    Notes
    -----
    Forward :math:`y = \gamma\hat x + \beta` with batch statistics; backward
    :math:`\partial L/\partial x = \frac{\gamma}{N\sigma}\big(N g - \sum g - \hat x\sum g\hat x\big)` (see
    :func:`course_lib.regularization.batchnorm_backward`), one node in the graph.
    """
    if x.ndim != 2 or gamma.shape != (x.shape[1],) or beta.shape != (x.shape[1],):
        raise ValueError(f"batch_norm: expected x of shape (N, D) and gamma, beta of shape (D,), got {x.shape}, "
                         f"{gamma.shape} and {beta.shape}")
    out, cache = R.batchnorm_forward(x.data, gamma.data, beta.data, eps)
    # batchnorm_backward returns (dx, dgamma, dbeta): one gradient per input, in the order of the inputs
    return record(out.astype(x.dtype, copy=False), (x, gamma, beta), lambda g: R.batchnorm_backward(g, cache),
                  "batch_norm")


def batch_norm_composed(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    """The same as :func:`batch_norm`, built from elementary ops (mean, subtract, power, divide).

    The engine then differentiates it on its own: a second, independent backward pass.
    """
    mu = x.mean(axis=0, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=0, keepdims=True)
    return xc / (var + eps) ** 0.5 * gamma + beta


class BatchNorm1d(Module):
    r"""``torch.nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1)`` for inputs of shape (N, D).

    Parameters
    ----------
    num_features : int
        D.
    eps, momentum : float
        As in PyTorch (``momentum`` is the weight of the newest batch in the running statistics).
    dtype : numpy dtype

    Attributes
    ----------
    weight, bias : Tensor, shape (D,)
        :math:`\gamma` (ones) and :math:`\beta` (zeros), trainable.
    running_mean, running_var : ndarray, shape (D,)
        Updated by every training-mode call (:func:`course_lib.regularization.update_running_stats`),
        used in evaluation mode.
    training : bool
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, dtype=np.float32):
        self.weight = Tensor(np.ones(num_features, dtype=dtype), requires_grad=True)
        self.bias = Tensor(np.zeros(num_features, dtype=dtype), requires_grad=True)
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self.eps, self.momentum, self.training = eps, momentum, True

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            if x.shape[0] < 2:
                raise ValueError("BatchNorm1d in training mode needs more than one example per batch")
            mean, var = R.update_running_stats(self.running_mean, self.running_var, x.data, self.momentum)
            self.running_mean, self.running_var = mean.astype(x.dtype), var.astype(x.dtype)
            return batch_norm(x, self.weight, self.bias, self.eps)
        # evaluation: fixed statistics, a per-feature affine map (still differentiable in gamma, beta)
        scale = 1.0 / np.sqrt(self.running_var + self.eps)
        return (x - Tensor(self.running_mean)) * Tensor(scale.astype(x.dtype)) * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"{len(self.running_mean)}, eps={self.eps}, momentum={self.momentum}"


class Dropout(Module):
    """``torch.nn.Dropout(p=0.5)``: inverted dropout in training mode, the identity in evaluation mode.

    Parameters
    ----------
    p : float in [0, 1)
    rng : numpy.random.Generator, int or None
        Where the masks come from (a seed makes training repeatable).

    Notes
    -----
    :func:`course_lib.regularization.dropout`: each unit is kept with probability :math:`1-p` and
    scaled by :math:`1/(1-p)`; the gradient flows through the same mask.
    """

    def __init__(self, p: float = 0.5, rng=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p, self.rng, self.training = p, np.random.default_rng(rng), True

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        _, mask = R.dropout(x.data, self.p, self.rng)
        return x * Tensor(mask.astype(x.dtype))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def modules(module: Module):
    """``module`` and every module inside it, depth first (``torch.nn.Module.modules()``)."""
    yield module
    for _, child in module.children():
        if isinstance(child, Module):
            yield from modules(child)


def train(model: Module, mode: bool = True) -> Module:
    """Put every layer of ``model`` that has a ``training`` flag in training mode (``model.train()``)."""
    for m in modules(model):
        if hasattr(m, "training"):
            m.training = mode
    return model


def eval(model: Module) -> Module:  # noqa: A001 - the name PyTorch uses
    """Evaluation mode for every layer of ``model`` (``model.eval()``): dropout off, running statistics on."""
    return train(model, False)
