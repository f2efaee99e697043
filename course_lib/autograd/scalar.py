"""A scalar autodiff engine in the style of micrograd, for contrast with the tensor engine.

Every number is a :class:`Value` node: a layer of 100 units with 64 inputs is 6,400
multiplications, 6,400 additions and as many Python objects and closures. The rules are
the same as the tensor engine's (each op's backward beside its forward, a topological
sort, gradients accumulated over every use), which makes it a good first read, and its
cost per number is why real engines work on whole arrays: chapter 05 measures the slowdown.

After A. Karpathy's micrograd (MIT licence), with the tensor engine's iterative topological
sort, so that long graphs do not hit Python's recursion limit.
"""
from __future__ import annotations

import math
import random

from course_lib.autograd.graph import topological_order


class Value:
    r"""A scalar that records the operations that made it.

    Parameters
    ----------
    data : float
    children : tuple of Value
        The inputs of the op that produced this value (empty for a leaf).
    op : str
        The op's name, for display.

    Attributes
    ----------
    grad : float
        :math:`\partial L/\partial\,\text{self}` after ``L.backward()`` (accumulated over calls).
    """

    __slots__ = ("data", "grad", "_backward", "_prev", "_op")

    def __init__(self, data: float, children: tuple = (), op: str = ""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = children
        self._op = op

    def __repr__(self) -> str:
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"

    def __add__(self, other) -> "Value":
        r""":math:`c = a + b`; :math:`\bar a \mathrel{+}= \bar c`, :math:`\bar b \mathrel{+}= \bar c`."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other) -> "Value":
        r""":math:`c = ab`; :math:`\bar a \mathrel{+}= b\bar c`, :math:`\bar b \mathrel{+}= a\bar c`."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k: float) -> "Value":
        r""":math:`c = a^k` (constant :math:`k`); :math:`\bar a \mathrel{+}= k a^{k-1}\bar c`."""
        out = Value(self.data ** k, (self,), f"**{k}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def exp(self) -> "Value":
        r""":math:`c = e^a`; :math:`\bar a \mathrel{+}= c\,\bar c`."""
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self) -> "Value":
        r""":math:`c = \log a`; :math:`\bar a \mathrel{+}= \bar c / a`."""
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self) -> "Value":
        r""":math:`c = \tanh a`; :math:`\bar a \mathrel{+}= (1 - c^2)\bar c`."""
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def relu(self) -> "Value":
        r""":math:`c = \max(a, 0)`; :math:`\bar a \mathrel{+}= [a > 0]\,\bar c`."""
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def __neg__(self): return self * -1.0
    def __sub__(self, other): return self + (-other)
    def __truediv__(self, other): return self * other ** -1.0
    def __radd__(self, other): return self + other
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __rtruediv__(self, other): return other * self ** -1.0

    def backward(self) -> None:
        """Set ``grad = 1`` here and run every node's ``_backward`` in reverse topological order."""
        self.grad = 1.0
        for node in reversed(topological_order(self)):  # the tensor engine's sort: each node after its inputs
            node._backward()


# -- a tiny nn on top: neurons made of Values -----------------------------------------------------


class Neuron:
    r""":math:`f(\sum_i w_i x_i + b)` with one :class:`Value` per weight."""

    def __init__(self, n_in: int, activation: str | None, rng: random.Random):
        k = 1.0 / math.sqrt(n_in)  # PyTorch's default bound, as the tensor engine's Linear
        self.w = [Value(rng.uniform(-k, k)) for _ in range(n_in)]
        self.b = Value(rng.uniform(-k, k))
        self.activation = activation

    def __call__(self, x) -> Value:
        z = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return getattr(z, self.activation)() if self.activation else z

    def parameters(self) -> list[Value]:
        return self.w + [self.b]


class ScalarMLP:
    """An MLP of :class:`Neuron` objects: ``sizes = (n_in, hidden..., n_out)``, no activation on the output."""

    def __init__(self, sizes, activation: str = "relu", seed: int = 0):
        rng = random.Random(seed)
        self.layers = [[Neuron(n_in, activation if i < len(sizes) - 2 else None, rng) for _ in range(n_out)]
                       for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def __call__(self, x) -> list[Value]:
        for layer in self.layers:
            x = [neuron(x) for neuron in layer]
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for neuron in layer for p in neuron.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


def cross_entropy(logits: list[Value], target: int) -> Value:
    r""":math:`\operatorname{LSE}(\mathbf z) - z_y` for one example, shifted by :math:`\max_k z_k` (a constant)."""
    m = max(z.data for z in logits)
    return sum(((z - m).exp() for z in logits), Value(0.0)).log() - (logits[target] - m)
