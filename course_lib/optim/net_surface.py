r"""A 2-D slice of a small network's loss, as a :class:`course_lib.surfaces.Surface`.

The network is a 1-:math:`n_h`-1 tanh MLP, :math:`\hat y(x) = \mathbf{v}^\top\tanh(\mathbf{w}x + \mathbf{c})`,
fitted by mean squared error to data that the network itself generated at a reference set
of weights :math:`(\mathbf{w}_0, \mathbf{c}_0, \mathbf{v}_0)`. The slice is the plane of
weight space

.. math:: (\mathbf{w}, \mathbf{c}, \mathbf{v}) = (p\,\mathbf{w}_0,\; p\,\mathbf{c}_0,\; q\,\mathbf{v}_0),

spanned by the whole first layer (scaled by :math:`p`) and the whole second layer (scaled by
:math:`q`). On it the loss :math:`L(p, q)` has the features of real network losses that the
quadratics lack: two global minima :math:`(1, 1)` and :math:`(-1, -1)` (tanh is odd, so flipping
the signs of both layers computes the same function), a saddle point at the origin (the gradient
vanishes only where both layers are zero: each layer's gradient passes through the other one),
curved valleys :math:`pq\approx\text{const}` near it, and plateaus where large :math:`|p|`
saturates the tanh units.
"""
from __future__ import annotations

import numpy as np

from course_lib.surfaces import Surface, _hessian, _stack


class NetworkSlice:
    r"""Value, gradient and Hessian of :math:`L(p, q)` in closed form.

    Parameters
    ----------
    hidden : int
        Width :math:`n_h` of the hidden layer.
    n : int
        Number of training points :math:`x_i`, evenly spaced in [-2, 2].
    seed : int
        Seed of the reference weights.

    Notes
    -----
    With :math:`\mathbf{u}_i = \mathbf{w}_0x_i + \mathbf{c}_0`, the output without the second layer's
    scale :math:`o_i(p) = \mathbf{v}_0^\top\tanh(p\,\mathbf{u}_i)` and the residual :math:`r_i = q\,o_i - y_i`:

    .. math::
        L = \tfrac1n\sum_i r_i^2,\quad
        \partial_p L = \tfrac2n\sum_i r_i\,q\,o_i',\quad
        \partial_q L = \tfrac2n\sum_i r_i\,o_i,

    :math:`o_i' = \mathbf{v}_0^\top\big((1 - \tanh^2(p\,\mathbf{u}_i))\odot\mathbf{u}_i\big)`, and the
    Hessian follows by differentiating once more (:meth:`hessian`); backpropagation through the
    two layers, restricted to the plane. Both partials vanish at the origin (:math:`o_i(0) = 0`
    and the factor :math:`q = 0`), but not where only one layer is zero.
    """

    def __init__(self, hidden: int = 8, n: int = 32, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.w0 = rng.normal(0.0, 1.0, hidden)
        self.c0 = rng.normal(0.0, 0.5, hidden)
        self.v0 = rng.normal(0.0, 1.0, hidden)
        self.x = np.linspace(-2.0, 2.0, n)
        self.u = self.x[:, None] * self.w0 + self.c0  # (n, n_h) pre-activations at p = 1
        self.y = np.tanh(self.u) @ self.v0  # the targets: the network at (p, q) = (1, 1)

    def _parts(self, p, q):
        p = np.asarray(p, dtype=np.float64)[..., None, None]
        h = np.tanh(p * self.u)  # (*S, n, n_h) hidden outputs
        dh = 1 - h * h
        o = h @ self.v0
        o_p = (dh * self.u) @ self.v0
        r = np.asarray(q, dtype=np.float64)[..., None] * o - self.y
        return h, dh, o, o_p, r

    def f(self, p, q):
        """:math:`L(p, q)`, shape: the broadcast shape of ``p`` and ``q``."""
        p, q = np.broadcast_arrays(np.asarray(p, np.float64), np.asarray(q, np.float64))
        return np.mean(self._parts(p, q)[-1] ** 2, axis=-1)

    def grad(self, p, q):
        r""":math:`(\partial_p L, \partial_q L)`, shape ``(2, *S)``."""
        p, q = np.broadcast_arrays(np.asarray(p, np.float64), np.asarray(q, np.float64))
        _, _, o, o_p, r = self._parts(p, q)
        return _stack(p, q, 2 * np.mean(r * q[..., None] * o_p, axis=-1), 2 * np.mean(r * o, axis=-1))

    def hessian(self, p, q):
        r"""The 2x2 Hessian, shape ``(2, 2, *S)``.

        Notes
        -----
        :math:`L_{pp} = \tfrac2n\sum_i q^2 o_i'^2 + r_i q o_i''`, :math:`L_{pq} = \tfrac2n\sum_i q o_i o_i' + r_i o_i'`,
        :math:`L_{qq} = \tfrac2n\sum_i o_i^2`, with
        :math:`o_i'' = \mathbf{v}_0^\top(-2\tanh(p\,\mathbf{u}_i)(1-\tanh^2(p\,\mathbf{u}_i))\odot\mathbf{u}_i^2)`.
        """
        p, q = np.broadcast_arrays(np.asarray(p, np.float64), np.asarray(q, np.float64))
        h, dh, o, o_p, r = self._parts(p, q)
        o_pp = (-2 * h * dh * self.u * self.u) @ self.v0
        qq = q[..., None]
        return _hessian(p, q, 2 * np.mean(qq * qq * o_p * o_p + r * qq * o_pp, axis=-1),
                        2 * np.mean(qq * o * o_p + r * o_p, axis=-1), 2 * np.mean(o * o, axis=-1))

    def surface(self) -> Surface:
        """The slice as a :class:`~course_lib.surfaces.Surface` (name ``"net_slice"``)."""
        return Surface("net_slice", "2-D slice of a tanh network's loss",
                       r"\tfrac1n\sum_i\big(q\,\mathbf{v}_0^\top\tanh(p(\mathbf{w}_0x_i + \mathbf{c}_0)) - y_i\big)^2",
                       self.f, self.grad, self.hessian, domain=((-2.5, 2.5), (-2.5, 2.5)),
                       minima=((1.0, 1.0), (-1.0, -1.0)), start=(-2.0, 2.0))


NET_SLICE = NetworkSlice().surface()
