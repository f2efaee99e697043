"""The engine's graph machinery, independent of what the nodes hold.

- :class:`no_grad` and :func:`is_grad_enabled`: whether operations are recorded;
- :func:`topological_order`: the order of a backward pass (used by the tensor engine and by
  the scalar engine of :mod:`course_lib.autograd.scalar`);
- :func:`unbroadcast`: the backward rule of broadcasting, used by every op whose operands
  may be broadcast.
"""
from __future__ import annotations

import contextlib

import numpy as np

_GRAD_ENABLED = True


class no_grad(contextlib.ContextDecorator):
    """Context manager (or decorator): operations inside build no graph (evaluation, SGD updates)."""

    def __init__(self):
        self._saved = []  # a stack: the same decorator may be entered again before it exits (recursion)

    def __enter__(self):
        global _GRAD_ENABLED
        self._saved.append(_GRAD_ENABLED)
        _GRAD_ENABLED = False
        return self

    def __exit__(self, *exc):
        global _GRAD_ENABLED
        _GRAD_ENABLED = self._saved.pop()
        return False


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded (False inside :class:`no_grad`)."""
    return _GRAD_ENABLED


def topological_order(root, inputs=lambda node: node._prev) -> list:
    """Every node that ``root`` was computed from, each listed after all of its ``inputs``.

    An iterative depth-first search (a recursive one stops at Python's recursion limit, about
    1,000 levels deep). Works for any graph whose nodes list their inputs: this engine's
    Tensors and the scalar engine's Values.
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in inputs(node) if id(p) not in seen)
    return order


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    r"""Sum a gradient back to the shape of an operand that was broadcast.

    Parameters
    ----------
    grad : ndarray, the broadcast shape
        Gradient with respect to the result of a broadcasting operation.
    shape : tuple of int
        Shape of the operand.

    Returns
    -------
    ndarray, shape ``shape``

    Notes
    -----
    Broadcasting copies the operand along new leading axes and along its axes of length 1;
    an input used :math:`k` times receives the sum of the :math:`k` gradients, so
    :math:`\partial L/\partial b_j = \sum_i G_{ij}` for :math:`\mathbf{Z} = \mathbf{X} + \mathbf{b}`.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)
