"""Optimizers with PyTorch's surface: ``opt = SGD(params, lr=...)``, ``opt.zero_grad()``, ``opt.step()``.

Chapter 05 needs plain gradient descent only, so this module keeps it to the ten lines a
learner reads in one go. The full family with PyTorch's options (momentum, Nesterov, weight
decay, AdaGrad, RMSProp, Adam, AdamW, schedules) is :mod:`course_lib.optim` (chapter 06),
which works on these Tensors too. The shape is the same: the constructor takes an iterable of :class:`~course_lib.autograd.Tensor`
parameters and hyper-parameters with PyTorch's names, ``step()`` updates each parameter's
``.data`` in place (inside :class:`~course_lib.autograd.no_grad`, in the parameter's dtype)
from its ``.grad``, skipping parameters whose ``.grad`` is None, and ``zero_grad()`` sets
every ``.grad`` to None.
"""
from __future__ import annotations

from course_lib.autograd.tensor import Tensor


class SGD:
    r"""Plain stochastic gradient descent.

    Parameters
    ----------
    params : iterable of Tensor
        The parameters to update (for example ``model.parameters()``).
    lr : float
        Learning rate :math:`\eta > 0`.

    Notes
    -----
    .. math::  \boldsymbol\theta \leftarrow \boldsymbol\theta - \eta\,\nabla_{\boldsymbol\theta} L

    Equals ``torch.optim.SGD(params, lr)`` (no momentum, no weight decay).
    """

    def __init__(self, params, lr: float):
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ValueError("SGD got an empty parameter list")
        if not all(isinstance(p, Tensor) for p in self.params):
            raise TypeError("SGD expects Tensors (for example model.parameters())")
        if not lr > 0:
            raise ValueError(f"the learning rate must be positive, got {lr}")
        self.lr = float(lr)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for p in self.params:
            if p.grad is not None:
                p.data -= self.lr * p.grad  # in place, in the parameter's dtype (a float lr keeps float32)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (PyTorch's default, ``set_to_none=True``)."""
        for p in self.params:
            p.grad = None

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, {len(self.params)} parameters)"
