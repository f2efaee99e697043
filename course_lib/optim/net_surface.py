"""A 2-D slice of a small network's loss, as a :class:`course_lib.surfaces.Surface`.

The network is a 1-H-1 tanh MLP, :math:`\\hat y(x) = \\mathbf{v}^\\top\\tanh(\\mathbf{w}x + \\mathbf{c})`,
fitted by mean squared error to data that the network itself generated at a reference set
of weights :math:`(\\mathbf{w}_0, \\mathbf{c}_0, \\mathbf{v}_0)`. The slice is the plane of
weight space

.. math:: (\\mathbf{w}, \\mathbf{c}, \\mathbf{v}) = (a\\,\\mathbf{w}_0,\\; a\\,\\mathbf{c}_0,\\; b\\,\\mathbf{v}_0),

spanned by the whole first layer and the whole second layer. On it the loss
:math:`L(a, b)` has the features of real network losses that the quadratics lack: two
global minima :math:`(1, 1)` and :math:`(-1, -1)` (tanh is odd, so flipping the signs of
both layers computes the same function), a saddle point at the origin (no signal flows
when either layer is zero), curved valleys :math:`ab\\approx\\text{const}` near it, and
plateaus where large :math:`|a|` saturates the tanh units.
"""
from __future__ import annotations

import numpy as np

from course_lib.surfaces import Surface, _hessian, _stack


class NetworkSlice:
    """Value, gradient and Hessian of :math:`L(a, b)` in closed form.

    Parameters
    ----------
    hidden : int
        Width H of the hidden layer.
    n : int
        Number of training points :math:`x_i`, evenly spaced in [-2, 2].
    seed : int
        Seed of the reference weights.

    Notes
    -----
    With :math:`\\mathbf{u}_i = \\mathbf{w}_0x_i + \\mathbf{c}_0`, :math:`s_i(a) = \\mathbf{v}_0^\\top\\tanh(a\\mathbf{u}_i)`
    and residual :math:`r_i = b\\,s_i - y_i`:

    .. math::
        L = \\tfrac1n\\sum_i r_i^2,\\quad
        \\partial_a L = \\tfrac2n\\sum_i r_i\\,b\\,s_i',\\quad
        \\partial_b L = \\tfrac2n\\sum_i r_i\\,s_i,

    :math:`s_i' = \\mathbf{v}_0^\\top\\big((1 - \\tanh^2(a\\mathbf{u}_i))\\odot\\mathbf{u}_i\\big)`, and the
    Hessian follows by differentiating once more (:meth:`hessian`); backpropagation through the
    two layers, restricted to the plane.
    """

    def __init__(self, hidden: int = 8, n: int = 32, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.w0 = rng.normal(0.0, 1.0, hidden)
        self.c0 = rng.normal(0.0, 0.5, hidden)
        self.v0 = rng.normal(0.0, 1.0, hidden)
        self.x = np.linspace(-2.0, 2.0, n)
        self.u = self.x[:, None] * self.w0 + self.c0  # (n, H) pre-activations at a = 1
        self.y = np.tanh(self.u) @ self.v0  # the targets: the network at (a, b) = (1, 1)

    def _parts(self, a, b):
        a = np.asarray(a, dtype=np.float64)[..., None, None]
        h = np.tanh(a * self.u)  # (*S, n, H)
        dh = 1 - h * h
        s = h @ self.v0
        s_a = (dh * self.u) @ self.v0
        r = np.asarray(b, dtype=np.float64)[..., None] * s - self.y
        return h, dh, s, s_a, r

    def f(self, a, b):
        """:math:`L(a, b)`, shape: the broadcast shape of ``a`` and ``b``."""
        a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
        return np.mean(self._parts(a, b)[-1] ** 2, axis=-1)

    def grad(self, a, b):
        """:math:`(\\partial_a L, \\partial_b L)`, shape ``(2, *S)``."""
        a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
        _, _, s, s_a, r = self._parts(a, b)
        return _stack(a, b, 2 * np.mean(r * b[..., None] * s_a, axis=-1), 2 * np.mean(r * s, axis=-1))

    def hessian(self, a, b):
        """The 2x2 Hessian, shape ``(2, 2, *S)``.

        Notes
        -----
        :math:`L_{aa} = \\tfrac2n\\sum_i b^2 s_i'^2 + r_i b s_i''`, :math:`L_{ab} = \\tfrac2n\\sum_i b s_i s_i' + r_i s_i'`,
        :math:`L_{bb} = \\tfrac2n\\sum_i s_i^2`, with :math:`s_i'' = \\mathbf{v}_0^\\top(-2\\tanh(a\\mathbf{u}_i)(1-\\tanh^2(a\\mathbf{u}_i))\\odot\\mathbf{u}_i^2)`.
        """
        a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
        h, dh, s, s_a, r = self._parts(a, b)
        s_aa = (-2 * h * dh * self.u * self.u) @ self.v0
        bb = b[..., None]
        return _hessian(a, b, 2 * np.mean(bb * bb * s_a * s_a + r * bb * s_aa, axis=-1),
                        2 * np.mean(bb * s * s_a + r * s_a, axis=-1), 2 * np.mean(s * s, axis=-1))

    def surface(self) -> Surface:
        """The slice as a :class:`~course_lib.surfaces.Surface` (name ``"net_slice"``)."""
        return Surface("net_slice", "2-D slice of a tanh network's loss",
                       r"\tfrac1n\sum_i\big(b\,\mathbf{v}_0^\top\tanh(a(\mathbf{w}_0x_i + \mathbf{c}_0)) - y_i\big)^2",
                       self.f, self.grad, self.hessian, domain=((-2.5, 2.5), (-2.5, 2.5)),
                       minima=((1.0, 1.0), (-1.0, -1.0)), start=(-2.0, 2.0))


NET_SLICE = NetworkSlice().surface()
