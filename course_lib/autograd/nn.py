r"""A small ``torch.nn``: modules with parameters, a dense layer, activations, an MLP.

- :class:`Module`: ``parameters()``, ``named_parameters()``, ``zero_grad()``; calling a
  module calls its ``forward``. Parameters are the :class:`Tensor` attributes that require
  grad, found recursively (sub-modules, lists of modules), in the order they were set.
- :class:`Linear`: :math:`\mathbf{Y} = \mathbf{X}\mathbf{W}^\top + \mathbf{b}` with
  ``weight`` of shape (out, in) and PyTorch's default initialization, or Xavier/He.
- :class:`ReLU`, :class:`Tanh`, :class:`Sigmoid`; :class:`Sequential`; :class:`MLP`.

Everything is float32 unless ``dtype=np.float64`` is asked for (gradient checks).
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from course_lib.autograd.functional import linear
from course_lib.autograd.tensor import Tensor

INIT_SCHEMES = ("pytorch", "xavier", "he")


def init_std(scheme: str, fan_in: int, fan_out: int) -> float:
    r"""Standard deviation of a layer's initial weights under an initialization scheme.

    Parameters
    ----------
    scheme : {"pytorch", "xavier", "he"}
    fan_in, fan_out : int
        Inputs and outputs of the layer (``W`` has shape (fan_out, fan_in)).

    Returns
    -------
    float

    Notes
    -----
    A layer :math:`z_i = \sum_{j=1}^{n_\text{in}} W_{ij}x_j` with independent zero-mean weights
    has :math:`\operatorname{Var} z = n_\text{in}\operatorname{Var}W\,\mathbb{E}[x^2]`; backwards,
    :math:`\operatorname{Var}\partial_x = n_\text{out}\operatorname{Var}W\,\operatorname{Var}\partial_z`.

    - Xavier/Glorot (tanh, sigmoid; keep both passes' variance on average):
      :math:`\sigma = \sqrt{2/(n_\text{in} + n_\text{out})}`.
    - He/Kaiming (ReLU, which zeroes half of its inputs, so :math:`\mathbb{E}[x^2] = \operatorname{Var}z/2`):
      :math:`\sigma = \sqrt{2/n_\text{in}}`.
    - PyTorch's ``nn.Linear`` default, :math:`\mathcal{U}(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})`:
      :math:`\sigma = 1/\sqrt{3n_\text{in}}`.
    """
    if scheme == "xavier":
        return math.sqrt(2.0 / (fan_in + fan_out))
    if scheme == "he":
        return math.sqrt(2.0 / fan_in)
    if scheme == "pytorch":
        return 1.0 / math.sqrt(3.0 * fan_in)
    raise ValueError(f"unknown initialization {scheme!r}; choose one of {INIT_SCHEMES}")


class Module:
    """Base class: subclasses set parameters and sub-modules as attributes and define ``forward``."""

    def forward(self, *args):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, *args) -> Tensor:
        return self.forward(*args)

    def children(self) -> Iterator[tuple[str, "Module | Tensor"]]:
        """``(name, value)`` of every attribute that is a Module, a Tensor, or a list of Modules."""
        for name, value in vars(self).items():
            if isinstance(value, (list, tuple)):
                yield from ((f"{name}.{i}", v) for i, v in enumerate(value) if isinstance(v, Module))
            elif isinstance(value, (Module, Tensor)):
                yield name, value

    def named_parameters(self, prefix: str = "", _seen: set | None = None) -> Iterator[tuple[str, Tensor]]:
        """``("0.weight", tensor)``, ... as PyTorch names them; a shared parameter is listed once."""
        seen = set() if _seen is None else _seen
        for name, value in self.children():
            full = f"{prefix}.{name}" if prefix else name
            if isinstance(value, Module):
                yield from value.named_parameters(full, seen)
            elif value.requires_grad and id(value) not in seen:
                seen.add(id(value))
                yield full, value

    def parameters(self) -> list[Tensor]:
        """Every trainable tensor (``requires_grad``), each once, in a stable order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None."""
        for p in self.parameters():
            p.grad = None

    def __repr__(self) -> str:
        inner = [f"  ({name}): {value!r}".replace("\n", "\n  ") for name, value in self.children()
                 if isinstance(value, Module)]
        return f"{type(self).__name__}({self.extra_repr()})" if not inner else \
            f"{type(self).__name__}(\n" + "\n".join(inner) + "\n)"

    def extra_repr(self) -> str:
        return ""


class Linear(Module):
    r"""A dense layer :math:`\mathbf{Y} = \mathbf{X}\mathbf{W}^\top + \mathbf{b}`, as ``torch.nn.Linear``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    init : {"pytorch", "xavier", "he"}
        ``"pytorch"`` draws ``W`` and ``b`` from :math:`\mathcal U(-k, k)`, :math:`k = 1/\sqrt{n_\text{in}}`
        (PyTorch's default); ``"xavier"`` and ``"he"`` draw ``W`` from a normal distribution with
        the standard deviation of :func:`init_std` and set ``b = 0``.
    scale : float
        Multiplies the initial weights (to explore too small or too large initializations).
    dtype : numpy dtype
        float32 (default) or float64.
    rng : numpy.random.Generator or int or None
        Source of the initial weights (a seed gives the same weights every time).

    Attributes
    ----------
    weight : Tensor, shape (out_features, in_features)
    bias : Tensor, shape (out_features,), or None
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, init: str = "pytorch",
                 scale: float = 1.0, dtype=np.float32, rng=None):
        rng = np.random.default_rng(rng)
        self.in_features, self.out_features = in_features, out_features
        shape = (out_features, in_features)
        if init == "pytorch":
            k = 1.0 / math.sqrt(in_features)
            w, b = rng.uniform(-k, k, shape), rng.uniform(-k, k, out_features)
        else:
            w, b = rng.normal(0.0, init_std(init, in_features, out_features), shape), np.zeros(out_features)
        self.weight = Tensor(scale * w, requires_grad=True, dtype=dtype)
        self.bias = Tensor(b, requires_grad=True, dtype=dtype) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    r""":math:`\max(x, 0)` element-wise."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(Module):
    r""":math:`\tanh x` element-wise."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(Module):
    r""":math:`\sigma(x)` element-wise."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class Sequential(Module):
    """Modules applied one after another; parameters are named by position (``"0.weight"``)."""

    def __init__(self, *layers: Module):
        self.layers = list(layers)

    def children(self):
        return ((str(i), layer) for i, layer in enumerate(self.layers))

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)


class MLP(Sequential):
    """A multilayer perceptron: ``Linear``, activation, ..., ``Linear`` (no activation on the output).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``(n_in, hidden..., n_out)``.
    activation : {"relu", "tanh", "sigmoid"}
    init, scale, dtype, rng
        Passed to every :class:`Linear` (``rng`` is shared, so a seed fixes the whole network).

    Examples
    --------
    >>> net = MLP([784, 256, 256, 10], rng=0)
    >>> [p.shape for p in net.parameters()][:2]
    [(256, 784), (256,)]
    """

    def __init__(self, sizes, activation: str = "relu", *, init: str = "pytorch", scale: float = 1.0,
                 dtype=np.float32, rng=None):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        rng = np.random.default_rng(rng)
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, init=init, scale=scale, dtype=dtype, rng=rng))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.sizes = tuple(sizes)

    def linear_layers(self) -> list[Linear]:
        """The dense layers, first to last."""
        return [layer for layer in self.layers if isinstance(layer, Linear)]

from course_lib.autograd.conv_layers import AvgPool2d, Conv2d, Flatten, MaxPool2d  # noqa: E402  (chapter 09)
from course_lib.autograd.transformer_layers import GELU, Embedding, LayerNorm  # noqa: E402,F401  (chapter 11)
from course_lib.autograd.recurrent import GRUCell, LSTMCell, RNNCell, clip_grad_norm_  # noqa: E402,F401  (chapter 10)
from course_lib.autograd.gcn import GCNConv  # noqa: E402  (chapter 13)
