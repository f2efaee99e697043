r"""Chapter 10's recurrent cells in the engine, with PyTorch's layout and call signatures.

``RNNCell``, ``GRUCell`` and ``LSTMCell`` hold ``weight_ih`` (G n_h, n_in), ``weight_hh``
(G n_h, n_h), ``bias_ih`` and ``bias_hh`` (G n_h,), with G = 1, 3, 4 gates stacked in PyTorch's
order, and are called as ``cell(x, h)`` (RNN, GRU) or ``cell(x, (h, c))`` (LSTM), so weights
copied from ``torch.nn.RNNCell``/``GRUCell``/``LSTMCell`` give the same values and gradients
(``tests/test_autograd_recurrent.py``, float64, several unrolled steps).

Each cell is composed from the engine's own ops (``linear``, slicing, ``sigmoid``, ``tanh``,
products and sums), each already checked against torch and the gradient checker; the graph
of one step is a few dozen nodes, so a separate fused op would buy speed, not correctness.

Also :func:`clip_grad_norm_`, ``torch.nn.utils.clip_grad_norm_`` for engine parameters.
"""
from __future__ import annotations

import math

import numpy as np

from course_lib.autograd.functional import linear
from course_lib.autograd.nn import Module
from course_lib.autograd.tensor import Tensor, as_tensor


class _CellBase(Module):
    """Parameters in torch's layout, drawn from U(-k, k), k = 1/sqrt(hidden_size) (torch's init)."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, dtype=np.float32, rng=None):
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"input_size and hidden_size must be >= 1, got {input_size}, {hidden_size}")
        rng = np.random.default_rng(rng)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        k = 1.0 / math.sqrt(hidden_size)
        G = self.gates * hidden_size
        self.weight_ih = Tensor(rng.uniform(-k, k, (G, input_size)), requires_grad=True, dtype=dtype)
        self.weight_hh = Tensor(rng.uniform(-k, k, (G, hidden_size)), requires_grad=True, dtype=dtype)
        self.bias_ih = Tensor(rng.uniform(-k, k, G), requires_grad=True, dtype=dtype) if bias else None
        self.bias_hh = Tensor(rng.uniform(-k, k, G), requires_grad=True, dtype=dtype) if bias else None

    def _check(self, x: Tensor, h: Tensor | None) -> tuple[Tensor, Tensor]:
        x = as_tensor(x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input of shape {x.shape} must be (batch, {self.input_size}) "
                             f"or ({self.input_size},)")
        if h is None:  # torch's default: a zero state
            h = Tensor(np.zeros(x.shape[:-1] + (self.hidden_size,), dtype=self.weight_hh.dtype))
        h = as_tensor(h)
        if h.shape != x.shape[:-1] + (self.hidden_size,):
            raise ValueError(f"{type(self).__name__}: hidden state of shape {h.shape}, expected "
                             f"{x.shape[:-1] + (self.hidden_size,)}")
        return x, h

    def _gates(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """The two stacked pre-activations W_ih x + b_ih and W_hh h + b_hh, each (..., G n_h)."""
        return linear(x, self.weight_ih, self.bias_ih), linear(h, self.weight_hh, self.bias_hh)

    def _chunk(self, t: Tensor, k: int) -> Tensor:
        H = self.hidden_size
        return t[..., k * H:(k + 1) * H]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class RNNCell(_CellBase):
    r"""``torch.nn.RNNCell`` (tanh): :math:`\mathbf{h}' = \tanh(\mathbf{W}_{ih}\mathbf{x} + \mathbf{b}_{ih} + \mathbf{W}_{hh}\mathbf{h} + \mathbf{b}_{hh})`.

    Called as ``cell(x, h)``: x (B, n_in) or (n_in,), h like x with n_h columns (zeros if None);
    returns h' of h's shape.
    """

    gates = 1

    def forward(self, x, h=None) -> Tensor:
        x, h = self._check(x, h)
        a_x, a_h = self._gates(x, h)
        return (a_x + a_h).tanh()


class GRUCell(_CellBase):
    r"""``torch.nn.GRUCell``: gates stacked in the order r, z, n.

    .. math::

        \mathbf{r} &= \sigma(\mathbf{W}_{ir}\mathbf{x} + \mathbf{b}_{ir} + \mathbf{W}_{hr}\mathbf{h} + \mathbf{b}_{hr}),\qquad
        \mathbf{z} = \sigma(\mathbf{W}_{iz}\mathbf{x} + \mathbf{b}_{iz} + \mathbf{W}_{hz}\mathbf{h} + \mathbf{b}_{hz}),\\
        \mathbf{n} &= \tanh(\mathbf{W}_{in}\mathbf{x} + \mathbf{b}_{in} + \mathbf{r}\odot(\mathbf{W}_{hn}\mathbf{h} + \mathbf{b}_{hn})),\qquad
        \mathbf{h}' = (1 - \mathbf{z})\odot\mathbf{n} + \mathbf{z}\odot\mathbf{h}.

    Called as ``cell(x, h)``; returns h'.
    """

    gates = 3

    def forward(self, x, h=None) -> Tensor:
        x, h = self._check(x, h)
        a_x, a_h = self._gates(x, h)
        r = (self._chunk(a_x, 0) + self._chunk(a_h, 0)).sigmoid()
        z = (self._chunk(a_x, 1) + self._chunk(a_h, 1)).sigmoid()
        n = (self._chunk(a_x, 2) + r * self._chunk(a_h, 2)).tanh()
        return n + z * (h - n)  # = (1 - z) n + z h, one product fewer


class LSTMCell(_CellBase):
    r"""``torch.nn.LSTMCell``: gates stacked in the order i, f, g, o.

    .. math::

        \mathbf{i} = \sigma(\cdot),\ \mathbf{f} = \sigma(\cdot),\ \mathbf{g} = \tanh(\cdot),\ \mathbf{o} = \sigma(\cdot)
        \quad\text{of } \mathbf{W}_{i\cdot}\mathbf{x} + \mathbf{b}_{i\cdot} + \mathbf{W}_{h\cdot}\mathbf{h} + \mathbf{b}_{h\cdot},\qquad
        \mathbf{c}' = \mathbf{f}\odot\mathbf{c} + \mathbf{i}\odot\mathbf{g},\qquad
        \mathbf{h}' = \mathbf{o}\odot\tanh(\mathbf{c}').

    Called as ``cell(x, (h, c))`` (zeros if the state is None); returns ``(h', c')``.
    """

    gates = 4

    def forward(self, x, state=None) -> tuple[Tensor, Tensor]:
        h, c = (None, None) if state is None else state
        x, h = self._check(x, h)
        c = Tensor(np.zeros(h.shape, dtype=h.dtype)) if c is None else as_tensor(c)
        if c.shape != h.shape:
            raise ValueError(f"LSTMCell: cell state of shape {c.shape}, expected the hidden state's {h.shape}")
        a_x, a_h = self._gates(x, h)
        a = a_x + a_h
        i, f, g, o = (self._chunk(a, k) for k in range(4))
        c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c_new.tanh(), c_new


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0) -> float:
    r"""Scale the ``.grad`` of ``parameters`` in place so their global norm is at most ``max_norm``.

    ``torch.nn.utils.clip_grad_norm_``'s semantics: the norm is over all gradients together,
    :math:`\|\mathbf{g}\| = (\sum_k \|\mathbf{g}_k\|_p^p)^{1/p}`; every gradient is multiplied by
    :math:`\min(1,\ c_\max / (\|\mathbf{g}\| + 10^{-6}))`; parameters without a gradient are skipped.
    Returns the total norm before clipping (a float; torch returns a 0-d tensor).
    """
    from course_lib.recurrent import clip_grad_norm

    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    with_grad = [p for p in params if p.grad is not None]
    clipped, total = clip_grad_norm([p.grad for p in with_grad], max_norm, norm_type)
    for p, g in zip(with_grad, clipped):
        p.grad[...] = g  # in place, keeping dtype (and any reference an optimizer holds)
    return total
