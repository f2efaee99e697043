r"""Two-variable test functions: the surfaces of the calculus and optimization chapters.

Each :class:`Surface` carries its formula, value, gradient and Hessian in closed form,
a plotting domain and its known minima. The three callables take coordinate arrays
``x`` and ``y`` of any broadcastable shapes (a point, a batch of points, or a
``meshgrid``) and return

- ``f(x, y)``: shape ``S``, the broadcast shape of ``x`` and ``y``;
- ``grad(x, y)``: shape ``(2, *S)``, :math:`(\partial f/\partial x, \partial f/\partial y)`;
- ``hessian(x, y)``: shape ``(2, 2, *S)``, :math:`H_{ij} = \partial^2 f/\partial p_i\partial p_j`.

The ``*_at(p)`` methods take a point ``p`` of shape ``(2,)`` instead (the form the
gradient checker and the optimizers use). ``tests/test_surfaces.py`` checks every
gradient and Hessian against :mod:`course_lib.gradcheck`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Domain = tuple[tuple[float, float], tuple[float, float]]


def _stack(x, y, *parts) -> np.ndarray:
    """Stack ``parts`` (arrays or constants) along a new first axis, broadcast to ``x`` and ``y``."""
    arrays = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64),
                                 *[np.asarray(p, dtype=np.float64) for p in parts])
    return np.stack(arrays[2:])


def _hessian(x, y, hxx, hxy, hyy) -> np.ndarray:
    """The symmetric ``(2, 2, *S)`` Hessian from its three distinct entries."""
    h = _stack(x, y, hxx, hxy, hxy, hyy)
    return h.reshape((2, 2) + h.shape[1:])


@dataclass(frozen=True)
class Surface:
    r"""A function :math:`f:\mathbb{R}^2\to\mathbb{R}` with its derivatives in closed form.

    Attributes
    ----------
    name : str
        Key in :data:`SURFACES`, e.g. ``"rosenbrock"``.
    title : str
        Name for people, e.g. ``"Rosenbrock"``.
    latex : str
        The formula, LaTeX without dollar signs.
    f, grad, hessian : callable ``(x, y) -> ndarray``
        Value ``S``, gradient ``(2, *S)``, Hessian ``(2, 2, *S)`` (see the module notes).
    domain : ((xmin, xmax), (ymin, ymax))
        A plotting window that shows the interesting features.
    minima : tuple of (x, y)
        Known local minima (empty when there is none, e.g. a saddle).
    start : (x, y)
        A customary starting point for optimizers, away from the minima.
    """

    name: str
    title: str
    latex: str
    f: Callable[..., np.ndarray]
    grad: Callable[..., np.ndarray]
    hessian: Callable[..., np.ndarray]
    domain: Domain
    minima: tuple[tuple[float, float], ...] = ()
    start: tuple[float, float] = (1.0, 1.0)

    def f_at(self, p) -> np.ndarray:
        r""":math:`f(\mathbf{p})` for ``p`` of shape ``(2, ...)``."""
        return self.f(p[0], p[1])

    def grad_at(self, p) -> np.ndarray:
        r""":math:`\nabla f(\mathbf{p})`, shape ``p.shape``."""
        return self.grad(p[0], p[1])

    def hessian_at(self, p) -> np.ndarray:
        r""":math:`\nabla^2 f(\mathbf{p})`, shape ``(2, 2, *p.shape[1:])``."""
        return self.hessian(p[0], p[1])

    def grid(self, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """``np.meshgrid`` of ``n x n`` points over :attr:`domain` (for contour plots)."""
        (x0, x1), (y0, y1) = self.domain
        return np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))


# -- quadratics: bowl, ill-conditioned valley, saddle -------------------------------------------
def quadratic(A, *, name: str, title: str, latex: str, domain: Domain = ((-2.0, 2.0), (-2.0, 2.0)),
              start: tuple[float, float] = (1.5, 1.0)) -> Surface:
    r"""The quadratic form :math:`f(\mathbf{p}) = \tfrac12\mathbf{p}^\top\mathbf{A}\mathbf{p}`.

    Parameters
    ----------
    A : array_like, shape (2, 2), symmetric
    name, title, latex, domain, start
        As in :class:`Surface`.

    Returns
    -------
    Surface

    Notes
    -----
    :math:`\nabla f = \mathbf{A}\mathbf{p}` and :math:`\nabla^2 f = \mathbf{A}` (constant).
    The minimum is :math:`\mathbf{0}` when :math:`\mathbf{A}` is positive definite; with
    eigenvalues of both signs :math:`\mathbf{0}` is a saddle point.
    """
    A = np.asarray(A, dtype=np.float64)
    if A.shape != (2, 2) or not np.allclose(A, A.T):
        raise ValueError(f"A must be a symmetric 2x2 matrix, got {A!r}")
    (a, b), (_, d) = A
    minima = ((0.0, 0.0),) if np.all(np.linalg.eigvalsh(A) > 0) else ()
    return Surface(
        name, title, latex,
        f=lambda x, y: 0.5 * (a * x * x + 2 * b * x * y + d * y * y),
        grad=lambda x, y: _stack(x, y, a * x + b * y, b * x + d * y),
        hessian=lambda x, y: _hessian(x, y, a, b, d),
        domain=domain, minima=minima, start=start,
    )


def ill_conditioned(kappa: float = 10.0, angle: float = 0.0) -> Surface:
    r"""A long narrow valley: the quadratic with Hessian eigenvalues 1 and ``kappa``.

    Parameters
    ----------
    kappa : float >= 1
        Condition number :math:`\kappa = \lambda_{\max}/\lambda_{\min}` of the Hessian.
    angle : float
        Rotation of the valley's axes, in radians (0: aligned with x and y).

    Returns
    -------
    Surface

    Notes
    -----
    :math:`f(\mathbf{p}) = \tfrac12\mathbf{p}^\top\mathbf{R}\,\mathrm{diag}(1,\kappa)\,
    \mathbf{R}^\top\mathbf{p}`; unrotated, :math:`f = \tfrac12(x^2 + \kappa y^2)`. Gradient
    descent needs about :math:`\kappa` times more steps here than on the bowl.
    """
    if kappa < 1:
        raise ValueError(f"the condition number must be at least 1, got {kappa}")
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    latex = (rf"\tfrac12\left(x^2 + {kappa:g}\,y^2\right)" if angle == 0 else
             rf"\tfrac12\,\mathbf{{p}}^\top\mathbf{{R}}\,\mathrm{{diag}}(1, {kappa:g})\,\mathbf{{R}}^\top\mathbf{{p}}")
    return quadratic(R @ np.diag([1.0, kappa]) @ R.T, name="ill_conditioned",
                     title=f"Ill-conditioned quadratic (kappa = {kappa:g})", latex=latex, start=(-1.8, 0.6))


BOWL = quadratic(2 * np.eye(2), name="bowl", title="Bowl", latex="x^2 + y^2")
SADDLE = quadratic(np.diag([2.0, -2.0]), name="saddle", title="Saddle", latex="x^2 - y^2", start=(-1.5, 0.01))


# -- classic optimization test functions ----------------------------------------------------------
def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    r"""Rosenbrock's banana valley.

    Parameters
    ----------
    a, b : float
        Position of the minimum and steepness of the valley walls.

    Returns
    -------
    Surface

    Notes
    -----
    :math:`f = (a - x)^2 + b\,(y - x^2)^2`, minimum :math:`f(a, a^2) = 0` at the end of a curved
    flat-bottomed valley.
    :math:`\nabla f = \big(-2(a - x) - 4bx(y - x^2),\; 2b(y - x^2)\big)`,
    :math:`\nabla^2 f = \begin{pmatrix}2 - 4b(y - 3x^2) & -4bx\\ -4bx & 2b\end{pmatrix}`.
    """
    def f(x, y):
        return (a - x) ** 2 + b * (y - x * x) ** 2

    def grad(x, y):
        return _stack(x, y, -2 * (a - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x))

    def hessian(x, y):
        return _hessian(x, y, 2 - 4 * b * (y - 3 * x * x), -4 * b * x, 2 * b)

    return Surface("rosenbrock", "Rosenbrock", rf"({a:g} - x)^2 + {b:g}\,(y - x^2)^2", f, grad, hessian,
                   domain=((a - 3.0, a + 1.0), (a * a - 2.0, a * a + 2.0)), minima=((a, a * a),),
                   start=(a - 2.5, a * a + 1.0))


# Beale: f = sum_i r_i^2 with r_i = c_i - x + x y^i, c = (1.5, 2.25, 2.625).
_BEALE_C = (1.5, 2.25, 2.625)


def _beale_f(x, y):
    return sum((c - x + x * y ** i) ** 2 for i, c in enumerate(_BEALE_C, start=1))


def _beale_grad(x, y):
    gx = gy = 0.0
    for i, c in enumerate(_BEALE_C, start=1):
        r = c - x + x * y ** i
        gx = gx + 2 * r * (y ** i - 1)  # dr/dx = y^i - 1
        gy = gy + 2 * r * i * x * y ** (i - 1)  # dr/dy = i x y^(i-1)
    return _stack(x, y, gx, gy)


def _beale_hessian(x, y):
    # Gauss-Newton part 2 (grad r)(grad r)^T plus the curvature of each residual 2 r Hess(r).
    hxx = hxy = hyy = 0.0
    for i, c in enumerate(_BEALE_C, start=1):
        r = c - x + x * y ** i
        rx, ry = y ** i - 1, i * x * y ** (i - 1)
        rxy = i * y ** (i - 1)
        ryy = i * (i - 1) * x * y ** (i - 2) if i > 1 else 0.0
        hxx = hxx + 2 * rx * rx
        hxy = hxy + 2 * (rx * ry + r * rxy)
        hyy = hyy + 2 * (ry * ry + r * ryy)
    return _hessian(x, y, hxx, hxy, hyy)


BEALE = Surface(
    "beale", "Beale",
    r"(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    _beale_f, _beale_grad, _beale_hessian,
    domain=((-4.5, 4.5), (-4.5, 4.5)), minima=((3.0, 0.5),), start=(1.0, 1.5),
)


def _himmelblau_f(x, y):
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def _himmelblau_grad(x, y):
    u, v = x * x + y - 11, x + y * y - 7
    return _stack(x, y, 4 * x * u + 2 * v, 2 * u + 4 * y * v)


def _himmelblau_hessian(x, y):
    return _hessian(x, y, 12 * x * x + 4 * y - 42, 4 * (x + y), 12 * y * y + 4 * x - 26)


HIMMELBLAU = Surface(
    "himmelblau", "Himmelblau", r"(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    _himmelblau_f, _himmelblau_grad, _himmelblau_hessian,
    domain=((-5.0, 5.0), (-5.0, 5.0)),
    # Four global minima, all with f = 0; the last three found by Newton's method to full precision.
    minima=((3.0, 2.0), (-2.805118086952745, 3.131312518250573),
            (-3.779310253377747, -3.2831859912861696), (3.5844283403304917, -1.8481265269644034)),
    start=(0.0, 0.0),
)


def _wavy_f(x, y):
    return np.sin(x) * np.cos(y) + 0.1 * (x * x + y * y)


def _wavy_grad(x, y):
    return _stack(x, y, np.cos(x) * np.cos(y) + 0.2 * x, -np.sin(x) * np.sin(y) + 0.2 * y)


def _wavy_hessian(x, y):
    return _hessian(x, y, 0.2 - np.sin(x) * np.cos(y), -np.cos(x) * np.sin(y), 0.2 - np.sin(x) * np.cos(y))


WAVY = Surface(
    "wavy", "Egg crate", r"\sin x \cos y + 0.1\,(x^2 + y^2)",
    _wavy_f, _wavy_grad, _wavy_hessian,
    domain=((-4.0, 4.0), (-4.0, 4.0)),
    # Local minima from Newton's method; the first is the global one.
    minima=((-1.306440008369511, 0.0), (3.837467106499049, 0.0),
            (1.2655135490647689, 2.57195355743428), (1.2655135490647689, -2.57195355743428)),
    start=(2.5, 0.5),
)

SURFACES: dict[str, Surface] = {s.name: s for s in [
    BOWL, ill_conditioned(), SADDLE, rosenbrock(), BEALE, HIMMELBLAU, WAVY]}


def get_surface(name: str) -> Surface:
    """The surface called ``name`` in :data:`SURFACES` (a clear error for an unknown name)."""
    try:
        return SURFACES[name]
    except KeyError:
        raise KeyError(f"unknown surface {name!r}; known: {', '.join(SURFACES)}") from None
