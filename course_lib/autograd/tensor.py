r"""The Tensor: a NumPy array that remembers how it was computed, and reverse-mode autodiff.

Every operation computes its output and, right beside it, a closure ``backward(g)`` that
maps the gradient of the loss with respect to the output, :math:`\mathbf{G} =
\partial L/\partial\,\text{out}` (same shape as the output), to the gradients with
respect to each input: a vector-Jacobian product. It hands both to :func:`record`, the one
public way to define an op; the engine's own ops use it too. :meth:`Tensor.backward` sorts
the graph topologically (:func:`~course_lib.autograd.graph.topological_order`) and calls
each closure once, from the loss back to the leaves.

Conventions (PyTorch's, so habits carry over):

- ``Tensor(data)`` copies ``data``; a float64 array stays float64 (gradient checks), anything
  else becomes float32 (training). A *constant* (a Python number or an ndarray) meeting a
  Tensor takes the Tensor's dtype, so a float64 array never silently upcasts a float32
  network; two Tensors of different dtypes promote as in PyTorch (``@`` refuses, as
  PyTorch's ``matmul`` does). A gradient always has the dtype and shape of its tensor.
- Gradients *accumulate* into the ``.grad`` of leaves (tensors made by the user): call
  ``backward`` twice and they add up; clear them with ``zero_grad()`` or ``grad = None``.
  Intermediate tensors keep the gradient of the *latest* backward pass in ``.grad`` (unlike
  PyTorch, which drops it unless asked), so a learner can inspect every node.
- Inside ``with no_grad():`` nothing is recorded; only ops with an input that requires grad
  are recorded at all, and a closure skips the inputs that do not need a gradient (the
  input batch of a network, for instance).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from course_lib.autograd import graph
from course_lib.autograd.graph import topological_order, unbroadcast
from course_lib.linalg import relu as _relu
from course_lib.probability import sigmoid as _sigmoid

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _float_array(data, dtype=None, copy: bool = True) -> np.ndarray:
    """``data`` as a float32 or float64 array (a float64 array stays float64, the rest is float32)."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        dtype = np.float32  # Python numbers and lists, as torch.tensor
    arr = np.array(data, dtype=dtype) if copy else np.asarray(data, dtype=dtype)
    return arr if arr.dtype in _FLOAT_DTYPES else arr.astype(np.float32)


def record(data, inputs: tuple, backward, name: str) -> "Tensor":
    r"""The output of an op, and how its gradient flows back: the one way to define an op.

    Parameters
    ----------
    data : ndarray, float32 or float64
        The op's output, computed from the inputs' ``.data``.
    inputs : tuple of Tensor
        The tensors ``data`` was computed from, in the order ``backward`` answers for them.
        (Turn a constant into a Tensor with :func:`as_tensor`; an empty tuple makes a constant.)
    backward : callable ``backward(g) -> tuple``
        Given :math:`\mathbf{G} = \partial L/\partial\,\text{out}` (an array shaped like ``data``),
        returns a tuple with one entry per input: :math:`\partial L/\partial\,\text{input}_i`,
        an array of that input's shape, or None for an input that needs no gradient (test
        ``inputs[i].requires_grad`` to skip work). It must not modify ``g``.
    name : str
        The op's name, shown in the repr and in error messages.

    Returns
    -------
    Tensor
        Wraps ``data`` (no copy). It requires grad if grad mode is on and some input does;
        only then is ``backward`` kept.

    Notes
    -----
    ``backward`` is a vector-Jacobian product: for :math:`\text{out} = f(\mathbf{x}_1,\dots)`
    it returns :math:`\mathbf{J}_i^\top\mathbf{G}` for each input. The engine calls it once per
    backward pass, after every use of the output has added its share to :math:`\mathbf{G}`,
    then checks that it returned one gradient per input, each of its input's shape.

    Examples
    --------
    Softplus, :math:`z = \log(1 + e^{a})` with :math:`\partial L/\partial a = g\,\sigma(a)`:

    >>> def softplus(a):
    ...     out = np.logaddexp(0, a.data)
    ...     return record(out, (a,), lambda g: (g / (1 + np.exp(-a.data)),), "softplus")
    >>> x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    >>> softplus(x).sum().backward()
    >>> x.grad.round(4)
    array([0.2689, 0.5   , 0.8808])
    """
    if type(data) is not np.ndarray:
        data = np.asarray(data)  # a NumPy scalar from a full reduction becomes a 0-d array
    if data.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"record({name!r}): the output must be a float32 or float64 array, got dtype {data.dtype}")
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"record({name!r}): every input must be a Tensor, got {type(t).__name__}; turn a "
                            "constant into one with as_tensor(value, dtype)")
    out = Tensor.__new__(Tensor)
    out.data, out.grad = data, None
    out.requires_grad = graph.is_grad_enabled() and any(t.requires_grad for t in inputs)
    if out.requires_grad and not callable(backward):
        raise TypeError(f"record({name!r}): backward must be a function g -> (one gradient per input), "
                        f"got {type(backward).__name__}")
    out._prev, out._backward, out._op = (tuple(inputs), backward, name) if out.requires_grad else ((), None, name)
    return out


def as_tensor(data, dtype=None) -> "Tensor":
    """``data`` as a Tensor, without a copy where possible (``torch.as_tensor``).

    A Tensor is returned as is (cast with the differentiable :meth:`Tensor.astype` if ``dtype``
    differs). Anything else becomes a constant (``requires_grad=False``) of ``dtype``; without
    a ``dtype``, a float64 array stays float64 and the rest becomes float32, as ``Tensor(data)``.
    """
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    return record(_float_array(data, dtype, copy=False), (), None, "const")


class Tensor:
    r"""An n-dimensional array with reverse-mode automatic differentiation.

    Parameters
    ----------
    data : array_like
        Copied; float64 stays float64, everything else becomes float32 (unless ``dtype``).
    requires_grad : bool
        Whether gradients with respect to this tensor are wanted (parameters: yes, data: no).
    dtype : numpy dtype, optional

    Attributes
    ----------
    data : ndarray
    grad : ndarray or None
        :math:`\partial L/\partial\,\text{self}`, same shape and dtype as ``data``, after ``backward``.
    """

    __slots__ = ("data", "grad", "requires_grad", "_prev", "_backward", "_op", "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor calls the Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _float_array(data, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._prev, self._backward, self._op = (), None, ""

    # -- plain attributes -----------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._backward is None)

    def __repr__(self) -> str:
        extra = f", op={self._op!r}" if self._backward else ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, separator=', ')}, dtype={self.dtype}{extra})"

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def item(self) -> float:
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The data (shared, as PyTorch's ``.numpy()``)."""
        return self.data

    def detach(self) -> "Tensor":
        """The same data as a new leaf that does not require grad (no copy)."""
        return record(self.data, (), None, "detach")

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (the same as ``t.grad = None``)."""
        self.grad = None

    def astype(self, dtype) -> "Tensor":
        """A copy in another float dtype; the gradient is cast back."""
        a = self
        return record(a.data.astype(dtype), (a,), lambda g: (g.astype(a.dtype),), "astype")

    # -- comparisons: plain boolean arrays, no gradient ------------------------------------
    def __lt__(self, other): return self.data < _value(other)
    def __le__(self, other): return self.data <= _value(other)
    def __gt__(self, other): return self.data > _value(other)
    def __ge__(self, other): return self.data >= _value(other)
    def __eq__(self, other): return self.data == _value(other)
    def __ne__(self, other): return self.data != _value(other)
    __hash__ = object.__hash__  # by identity, as PyTorch's tensors

    # -- arithmetic with broadcasting -------------------------------------------------------
    def __add__(self, other) -> "Tensor":
        r""":math:`\mathbf{Z} = \mathbf{A} + \mathbf{B}`; :math:`\partial L/\partial\mathbf{A} = \mathbf{G}`
        (summed over broadcast axes), likewise for :math:`\mathbf{B}`."""
        a, b = self, _lift(other, self)

        def backward(g):
            return (unbroadcast(g, a.shape) if a.requires_grad else None,
                    unbroadcast(g, b.shape) if b.requires_grad else None)
        return record(a.data + b.data, (a, b), backward, "+")

    def __sub__(self, other) -> "Tensor":
        r""":math:`\mathbf{Z} = \mathbf{A} - \mathbf{B}`; gradients :math:`\mathbf{G}` and :math:`-\mathbf{G}`."""
        a, b = self, _lift(other, self)

        def backward(g):
            return (unbroadcast(g, a.shape) if a.requires_grad else None,
                    unbroadcast(-g, b.shape) if b.requires_grad else None)
        return record(a.data - b.data, (a, b), backward, "-")

    def __mul__(self, other) -> "Tensor":
        r""":math:`\mathbf{Z} = \mathbf{A}\odot\mathbf{B}`; gradients :math:`\mathbf{G}\odot\mathbf{B}`
        and :math:`\mathbf{G}\odot\mathbf{A}` (each summed over its broadcast axes)."""
        a, b = self, _lift(other, self)

        def backward(g):
            return (unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
                    unbroadcast(g * a.data, b.shape) if b.requires_grad else None)
        return record(a.data * b.data, (a, b), backward, "*")

    def __truediv__(self, other) -> "Tensor":
        r""":math:`\mathbf{Z} = \mathbf{A}/\mathbf{B}`; gradients :math:`\mathbf{G}/\mathbf{B}`
        and :math:`-\mathbf{G}\odot\mathbf{Z}/\mathbf{B}` (:math:`= -\mathbf{G}\odot\mathbf{A}/\mathbf{B}^2`)."""
        a, b = self, _lift(other, self)
        out = a.data / b.data

        def backward(g):
            return (unbroadcast(g / b.data, a.shape) if a.requires_grad else None,
                    unbroadcast(-g * out / b.data, b.shape) if b.requires_grad else None)
        return record(out, (a, b), backward, "/")

    def __pow__(self, other) -> "Tensor":
        r""":math:`\mathbf{Z} = \mathbf{A}^{\mathbf{B}}`; gradients :math:`\mathbf{G}\odot\mathbf{B}\mathbf{A}^{\mathbf{B}-1}`
        and :math:`\mathbf{G}\odot\mathbf{Z}\log\mathbf{A}` (the latter for :math:`\mathbf{A} > 0`; 0 where
        :math:`\mathbf{A} = 0` and :math:`\mathbf{B}\ge0`, as PyTorch)."""
        a = self
        if isinstance(other, (int, float, np.integer, np.floating)):  # the common case x ** 2
            e = other.item() if isinstance(other, np.generic) else other  # a Python number: keeps float32
            return record(a.data ** e, (a,), lambda g: (g * e * a.data ** (e - 1),), f"**{e}")
        b = _lift(other, self)
        out = a.data ** b.data

        def backward(g):
            if not b.requires_grad:
                return unbroadcast(g * b.data * a.data ** (b.data - 1), a.shape), None
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where((a.data == 0) & (b.data >= 0), 0.0, np.log(a.data)).astype(out.dtype)
            return (unbroadcast(g * b.data * a.data ** (b.data - 1), a.shape) if a.requires_grad else None,
                    unbroadcast(g * out * log_a, b.shape))
        return record(out, (a, b), backward, "**")

    def __neg__(self) -> "Tensor":
        r""":math:`\mathbf{Z} = -\mathbf{A}`; gradient :math:`-\mathbf{G}`."""
        return record(-self.data, (self,), lambda g: (-g,), "neg")

    def __matmul__(self, other) -> "Tensor":
        r"""Matrix product with NumPy's rules (1-D operands, broadcast batch axes).

        Notes
        -----
        .. math::  \mathbf{C} = \mathbf{A}\mathbf{B},\qquad
                   \frac{\partial L}{\partial\mathbf{A}} = \mathbf{G}\mathbf{B}^\top,\qquad
                   \frac{\partial L}{\partial\mathbf{B}} = \mathbf{A}^\top\mathbf{G}

        (summed over any batch axes that were broadcast). A mismatch of the inner sizes
        raises a ``ValueError`` naming both shapes.
        """
        a, b = self, _lift(other, self)
        if isinstance(other, Tensor) and a.dtype != b.dtype:
            raise TypeError(f"matmul: both operands need the same dtype, got {a.dtype} and {b.dtype}; "
                            "convert one with .astype(...)")
        if a.ndim == 0 or b.ndim == 0 or a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match: the last axis of the first "
                             "must equal the first axis of a vector, or the second-to-last axis of a matrix, second")
        try:
            out = a.data @ b.data
        except ValueError as exc:  # batch axes that do not broadcast
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match ({exc})") from None
        if a.ndim == 2 and b.ndim == 2:  # the common case, without reshaping
            # np.dot: matmul falls back to a slow loop for an (m, 1) transposed view (a batch of one).
            return record(out, (a, b), lambda g: (np.dot(g, b.data.T) if a.requires_grad else None,
                                                   np.dot(a.data.T, g) if b.requires_grad else None), "@")

        def backward(g):
            a2 = a.data[None, :] if a.ndim == 1 else a.data  # 1-D operands as a row / column matrix
            b2 = b.data[:, None] if b.ndim == 1 else b.data
            g2 = g.reshape(out.shape[:-1] + (1,) + out.shape[-1:]) if a.ndim == 1 else g
            g2 = g2[..., None] if b.ndim == 1 else g2
            return (unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape) if a.requires_grad else None,
                    unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape) if b.requires_grad else None)
        return record(out, (a, b), backward, "@")

    def __radd__(self, other): return self + other
    def __rmul__(self, other): return self * other
    def __rsub__(self, other): return _lift(other, self) - self
    def __rtruediv__(self, other): return _lift(other, self) / self
    def __rpow__(self, other): return _lift(other, self) ** self
    def __rmatmul__(self, other): return _lift(other, self) @ self

    # -- element-wise functions -------------------------------------------------------------
    def exp(self) -> "Tensor":
        r""":math:`\mathbf{Z} = e^{\mathbf{A}}`; gradient :math:`\mathbf{G}\odot\mathbf{Z}`."""
        out = np.exp(self.data)
        return record(out, (self,), lambda g: (g * out,), "exp")

    def log(self) -> "Tensor":
        r""":math:`\mathbf{Z} = \log\mathbf{A}`; gradient :math:`\mathbf{G}/\mathbf{A}`."""
        a = self
        return record(np.log(a.data), (a,), lambda g: (g / a.data,), "log")

    def tanh(self) -> "Tensor":
        r""":math:`\mathbf{Z} = \tanh\mathbf{A}`; gradient :math:`\mathbf{G}\odot(1 - \mathbf{Z}^2)`."""
        out = np.tanh(self.data)
        return record(out, (self,), lambda g: (g * (1 - out * out),), "tanh")

    def sigmoid(self) -> "Tensor":
        r""":math:`\mathbf{Z} = \sigma(\mathbf{A})` (chapter 03's stable form); gradient
        :math:`\mathbf{G}\odot\mathbf{Z}\odot(1 - \mathbf{Z})`."""
        out = _sigmoid(self.data).astype(self.dtype)
        return record(out, (self,), lambda g: (g * out * (1 - out),), "sigmoid")

    def relu(self) -> "Tensor":
        r""":math:`\mathbf{Z} = \max(\mathbf{A}, 0)`; gradient :math:`\mathbf{G}\odot[\mathbf{A} > 0]`
        (0 at the kink, as PyTorch)."""
        a = self
        return record(_relu(a.data), (a,), lambda g: (g * (a.data > 0),), "relu")

    # -- reductions --------------------------------------------------------------------------
    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        r""":math:`z = \sum_i a_i` over ``axis``; every summed entry gets the gradient :math:`g`:
        :math:`\partial L/\partial\mathbf{A} = g` broadcast back to the shape of :math:`\mathbf{A}`."""
        a, axes = self, normalize_axis_tuple(range(self.ndim) if axis is None else axis, self.ndim)
        return record(a.data.sum(axis=axes, keepdims=keepdims), (a,),
                       lambda g: (np.broadcast_to(_keep(g, axes, keepdims), a.shape),), "sum")

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        r""":math:`z = \frac1N\sum_i a_i` over ``axis`` (:math:`N` entries per mean); gradient
        :math:`g/N` for every entry."""
        a, axes = self, normalize_axis_tuple(range(self.ndim) if axis is None else axis, self.ndim)
        n = int(np.prod([a.shape[i] for i in axes]))
        return record(a.data.mean(axis=axes, keepdims=keepdims), (a,),
                       lambda g: (np.broadcast_to(_keep(g, axes, keepdims) / n, a.shape),), "mean")

    def max(self, axis=None, keepdims: bool = False) -> "Tensor":
        r""":math:`z = \max_i a_i` over ``axis``; the gradient goes to the maximal entry (split evenly
        between tied maxima, as ``torch.amax``)."""
        a, axes = self, normalize_axis_tuple(range(self.ndim) if axis is None else axis, self.ndim)
        top = a.data.max(axis=axes, keepdims=True)

        def backward(g):
            winners = a.data == top
            return (_keep(g, axes, keepdims) * winners / winners.sum(axis=axes, keepdims=True),)
        return record(top if keepdims else top.squeeze(axes), (a,), backward, "max")

    # -- shapes and indexing -------------------------------------------------------------------
    def reshape(self, *shape) -> "Tensor":
        """Same entries, new shape; the gradient is reshaped back."""
        a = self
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape

        def backward(g):
            if a.data.flags.c_contiguous:
                return (g.reshape(a.shape),)
            # The input's own memory layout (a conv output is channels-last under its NCHW shape): the
            # element-wise backward before it (ReLU's mask) then multiplies arrays of one layout, ~3x faster.
            out = np.empty_like(a.data)
            out[...] = g.reshape(a.shape)
            return (out,)
        return record(a.data.reshape(shape), (a,), backward, "reshape")

    def permute(self, *dims) -> "Tensor":
        """Reorder the axes (``np.transpose(a, dims)``); the gradient goes through the inverse permutation."""
        a, dims = self, tuple(dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims)
        inverse = tuple(np.argsort(normalize_axis_tuple(dims, a.ndim)))
        return record(a.data.transpose(dims), (a,), lambda g: (g.transpose(inverse),), "permute")

    def transpose(self, dim0: int | None = None, dim1: int | None = None) -> "Tensor":
        """Swap two axes (PyTorch's ``transpose(dim0, dim1)``); without arguments reverse them all."""
        if dim0 is None:
            return self.permute(tuple(reversed(range(self.ndim))))
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self.permute(dims)

    T = property(lambda self: self.transpose(), doc="All axes reversed (the matrix transpose for 2-D).")

    def __getitem__(self, index) -> "Tensor":
        """Slices, integers, integer arrays, boolean masks. The gradient is scattered back into
        zeros, and *added* where an integer array picks an entry twice."""
        a, index = self, _index(index)
        parts = index if isinstance(index, tuple) else (index,)
        repeats = any(isinstance(i, (np.ndarray, list)) and np.asarray(i).dtype != bool for i in parts)

        def backward(g):
            full = np.zeros_like(a.data)
            if repeats:  # an integer array may pick an entry twice: add, do not overwrite
                np.add.at(full, index, g)
            else:
                full[index] = g
            return (full,)
        return record(a.data[index], (a,), backward, "getitem")

    # -- the backward pass -------------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        r"""Accumulate :math:`\partial\,\text{self}/\partial\,\text{leaf}` into every leaf's ``.grad``.

        Parameters
        ----------
        grad : array_like, shape of ``self``, optional
            The gradient of some scalar with respect to ``self`` (the vector of a
            vector-Jacobian product); may be omitted for a scalar, where it is 1.

        Notes
        -----
        The nodes are visited in reverse topological order, each exactly once, after every
        node that uses it: by then the gradient flowing into it is complete,
        :math:`\partial L/\partial\mathbf{x} = \sum_{\text{uses } u} \mathbf{J}_u^\top \mathbf{G}_u`.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: it was not computed from any "
                               "tensor created with requires_grad=True (or it was computed inside no_grad())")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar, but this tensor has shape "
                                   f"{self.shape}: reduce it first (.sum(), .mean()) or pass grad= an array of "
                                   f"shape {self.shape}")
            grad = np.ones_like(self.data)
        grad = np.array(grad, dtype=self.dtype)  # a copy: the caller keeps their array
        if grad.shape != self.shape:
            raise ValueError(f"backward(): grad has shape {grad.shape}, but the tensor has shape {self.shape}")
        grads, handed_out = {id(self): grad}, set()
        for node in reversed(topological_order(self)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._backward is None:  # a leaf: accumulate, in an array the leaf owns
                if g.base is not None or id(g) in handed_out:
                    g = g.copy()
                node.grad = g if node.grad is None else node.grad + g
                continue
            node.grad = g  # this pass's gradient, kept for inspection (never accumulated)
            handed_out.add(id(g))
            input_grads = node._backward(g)
            if not isinstance(input_grads, (tuple, list)) or len(input_grads) != len(node._prev):
                got = (f"{len(input_grads)} gradients" if isinstance(input_grads, (tuple, list))
                       else f"an object of type {type(input_grads).__name__}")
                raise RuntimeError(f"the backward of op {node._op!r} returned {got}, but the op has "
                                   f"{len(node._prev)} input(s): return a tuple with one gradient (or None) per input")
            for parent, pg in zip(node._prev, input_grads):
                if pg is None or not parent.requires_grad:
                    continue
                if type(pg) is not np.ndarray:
                    pg = np.asarray(pg)
                if pg.shape != parent.shape:
                    raise RuntimeError(f"the backward of op {node._op!r} returned a gradient of shape {pg.shape} "
                                       f"for an input of shape {parent.shape}")
                if pg.dtype != parent.dtype:
                    pg = pg.astype(parent.dtype)
                previous = grads.get(id(parent))
                grads[id(parent)] = pg if previous is None else previous + pg


def _lift(value, like: Tensor) -> Tensor:
    """A Tensor as is; a constant as a Tensor of ``like``'s dtype (no silent upcast)."""
    return value if isinstance(value, Tensor) else as_tensor(value, like.dtype)


def _value(x):
    return x.data if isinstance(x, Tensor) else x


def _index(index):
    """An index with Tensors replaced by their (integer or boolean) arrays."""
    def plain(i):
        if isinstance(i, Tensor):
            return i.data.astype(np.intp)
        return i
    return tuple(plain(i) for i in index) if isinstance(index, tuple) else plain(index)


def _keep(g: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    """``g`` with the reduced ``axes`` back as axes of length 1 (for broadcasting against the input)."""
    return g if keepdims else np.expand_dims(g, axes)


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """``Tensor(data, requires_grad, dtype)``, spelled as ``torch.tensor``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, requires_grad: bool = False, dtype=np.float32) -> Tensor:
    """A float32 (by default) tensor of zeros."""
    return Tensor(np.zeros(shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape, dtype),
                  requires_grad, dtype)


def ones(*shape, requires_grad: bool = False, dtype=np.float32) -> Tensor:
    """A float32 (by default) tensor of ones."""
    return Tensor(np.ones(shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape, dtype),
                  requires_grad, dtype)


def randn(*shape, requires_grad: bool = False, dtype=np.float32, rng=None) -> Tensor:
    """Standard normal entries (``rng``: a ``numpy.random.Generator`` or a seed)."""
    return Tensor(np.random.default_rng(rng).standard_normal(shape, dtype=dtype), requires_grad, dtype)
