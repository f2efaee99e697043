"""Chapter 02: derivatives, their finite-difference estimates, the chain rule and Taylor.

Conventions: a scalar function of one variable is vectorized (``f(x)`` works on arrays,
element-wise); a function :math:`f:\\mathbb{R}^n\\to\\mathbb{R}^m` takes a vector of shape
``(n,)`` and returns ``(m,)``; its Jacobian has shape ``(m, n)``, rows are outputs:
:math:`J_{ij} = \\partial f_i/\\partial x_j` (the layout of :func:`numerical_jacobian`).

Vector gradients and Jacobians by finite differences are those of the shared checker,
:mod:`course_lib.gradcheck` (re-exported here); this module adds the one-variable
differences and their error model, which explain that checker's tolerances.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from course_lib.gradcheck import (
    DEFAULT_H,
    DEFAULT_RTOL,
    GradcheckResult,
    numerical_gradient,
    numerical_jacobian,
    relative_error,
)

__all__ = [
    "EPS", "forward_difference", "backward_difference", "central_difference", "FD_METHODS", "fd_errors",
    "truncation_error", "roundoff_error", "total_error", "optimal_step", "Function1D", "FUNCTIONS_1D",
    "directional_derivative", "directional_derivative_fd", "numerical_gradient", "numerical_jacobian",
    "jacobian_check", "tanh_layer_jacobian", "chain_rule", "chain_jacobian", "chain_vjp", "chain_costs",
    "taylor1", "taylor2", "tangent_plane", "level_set_tangent",
]

EPS = float(np.finfo(np.float64).eps)  # 2.22e-16: the spacing of float64 numbers near 1

# -- finite differences of one variable -------------------------------------------------------


def forward_difference(f: Callable, x, h=1e-8):
    """Forward difference, first-order accurate.

    Parameters
    ----------
    f : callable, vectorized scalar function of one variable
    x, h : float or ndarray
        Point(s) and step(s), broadcast together.

    Returns
    -------
    float or ndarray

    Notes
    -----
    .. math:: f'(x) \\approx \\frac{f(x + h) - f(x)}{h} = f'(x) + \\frac{h}{2} f''(\\xi)

    The truncation error is :math:`O(h)` (Taylor's theorem with remainder).
    """
    x, h = np.asarray(x, dtype=np.float64), np.asarray(h, dtype=np.float64)
    return (f(x + h) - f(x)) / h


def backward_difference(f: Callable, x, h=1e-8):
    """Backward difference :math:`(f(x) - f(x - h))/h`, first-order accurate (see :func:`forward_difference`)."""
    return forward_difference(f, x, -np.asarray(h, dtype=np.float64))


def central_difference(f: Callable, x, h=DEFAULT_H):
    """Central (symmetric) difference, second-order accurate.

    Parameters
    ----------
    f : callable, vectorized scalar function of one variable
    x, h : float or ndarray
        Point(s) and step(s), broadcast together.

    Returns
    -------
    float or ndarray

    Notes
    -----
    .. math:: f'(x) \\approx \\frac{f(x + h) - f(x - h)}{2h} = f'(x) + \\frac{h^2}{6} f'''(\\xi)

    The even terms of the two Taylor expansions cancel, so the error is :math:`O(h^2)`:
    the average of the forward and the backward difference.
    """
    x, h = np.asarray(x, dtype=np.float64), np.asarray(h, dtype=np.float64)
    return (f(x + h) - f(x - h)) / (2 * h)


FD_METHODS: dict[str, Callable] = {
    "forward": forward_difference, "backward": backward_difference, "central": central_difference}


def fd_errors(f: Callable, df: Callable, x: float, hs, method: str = "central") -> np.ndarray:
    """Actual errors :math:`|D_h f(x) - f'(x)|` of a difference formula for many steps.

    Parameters
    ----------
    f, df : callable
        The function and its exact derivative.
    x : float
    hs : ndarray, shape (k,)
        Steps.
    method : {"forward", "backward", "central"}

    Returns
    -------
    ndarray, shape (k,)
    """
    return np.abs(FD_METHODS[method](f, x, hs) - df(x))


# -- the error model: truncation vs round-off ---------------------------------------------------


def truncation_error(h, method: str = "central", *, d2: float = 1.0, d3: float = 1.0):
    """Leading truncation error of a difference formula.

    Parameters
    ----------
    h : float or ndarray
    method : {"forward", "backward", "central"}
    d2, d3 : float
        :math:`f''(x)` and :math:`f'''(x)` (their sizes matter).

    Returns
    -------
    float or ndarray

    Notes
    -----
    Forward/backward: :math:`\\tfrac12|f''|\\,h`; central: :math:`\\tfrac16|f'''|\\,h^2`.
    """
    h = np.abs(np.asarray(h, dtype=np.float64))
    return abs(d3) * h ** 2 / 6 if method == "central" else abs(d2) * h / 2


def roundoff_error(h, method: str = "central", *, f_scale: float = 1.0, eps: float = EPS):
    """Round-off error of a difference formula: cancellation divided by a small step.

    Parameters
    ----------
    h : float or ndarray
    method : {"forward", "backward", "central"}
    f_scale : float
        :math:`|f(x)|`, the size of the values that are subtracted.
    eps : float
        Machine epsilon of the arithmetic (float64: ``2.2e-16``, float32: ``1.2e-7``).

    Returns
    -------
    float or ndarray

    Notes
    -----
    Each value of :math:`f` carries an error of about :math:`\\varepsilon|f|`; the difference of
    two keeps both errors while the true difference shrinks with :math:`h`, so dividing by
    :math:`h` (or :math:`2h`) gives :math:`2\\varepsilon|f|/h` (forward) and
    :math:`\\varepsilon|f|/h` (central). A model of the size, not a bound.
    """
    h = np.abs(np.asarray(h, dtype=np.float64))
    return (1.0 if method == "central" else 2.0) * eps * abs(f_scale) / h


def total_error(h, method: str = "central", *, f_scale: float = 1.0, d2: float = 1.0, d3: float = 1.0,
                eps: float = EPS):
    """Model of the total error :math:`E(h)` = truncation + round-off: the V on a log-log plot.

    Notes
    -----
    Central: :math:`E(h) = \\tfrac16|f'''|h^2 + \\varepsilon|f|/h`; forward:
    :math:`E(h) = \\tfrac12|f''|h + 2\\varepsilon|f|/h`. Parameters as in
    :func:`truncation_error` and :func:`roundoff_error`.
    """
    return (truncation_error(h, method, d2=d2, d3=d3)
            + roundoff_error(h, method, f_scale=f_scale, eps=eps))


def optimal_step(method: str = "central", *, f_scale: float = 1.0, d2: float = 1.0, d3: float = 1.0,
                 eps: float = EPS) -> float:
    """The step that minimizes :func:`total_error`: the bottom of the V.

    Returns
    -------
    float

    Notes
    -----
    Setting :math:`E'(h) = 0`: forward :math:`h^* = 2\\sqrt{\\varepsilon|f|/|f''|}`
    (about :math:`10^{-8}` in float64), central :math:`h^* = (3\\varepsilon|f|/|f'''|)^{1/3}`
    (about :math:`10^{-5}`). The minimal error is then :math:`O(\\sqrt{\\varepsilon})` and
    :math:`O(\\varepsilon^{2/3})`: central differences give about 11 correct digits in float64,
    forward differences about 8.
    """
    if method == "central":
        return float(np.cbrt(3 * eps * abs(f_scale) / abs(d3)))
    return float(2 * np.sqrt(eps * abs(f_scale) / abs(d2)))


@dataclass(frozen=True)
class Function1D:
    """A smooth test function of one variable with its first three derivatives (vectorized)."""

    name: str
    latex: str
    f: Callable
    df: Callable
    d2f: Callable
    d3f: Callable


def _tanh_derivatives():
    t = np.tanh
    return (lambda x: 1 - t(x) ** 2, lambda x: -2 * t(x) * (1 - t(x) ** 2),
            lambda x: (6 * t(x) ** 2 - 2) * (1 - t(x) ** 2))


FUNCTIONS_1D: dict[str, Function1D] = {fn.name: fn for fn in [
    Function1D("exp", r"e^x", np.exp, np.exp, np.exp, np.exp),
    Function1D("sin", r"\sin x", np.sin, np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)),
    Function1D("tanh", r"\tanh x", np.tanh, *_tanh_derivatives()),
    Function1D("cube", r"x^3", lambda x: x ** 3, lambda x: 3 * x ** 2, lambda x: 6 * x,
               lambda x: 6 + 0 * x),
]}

# -- gradients, directional derivatives, Jacobians ----------------------------------------------


def directional_derivative(grad, v) -> float:
    """Rate of change of :math:`f` along the direction of ``v``.

    Parameters
    ----------
    grad : ndarray, shape (n,)
        :math:`\\nabla f(\\mathbf{x})`.
    v : ndarray, shape (n,), non-zero
        A direction (any length; it is normalized).

    Returns
    -------
    float

    Notes
    -----
    :math:`D_{\\mathbf{u}} f(\\mathbf{x}) = \\nabla f(\\mathbf{x})^\\top\\mathbf{u}` with
    :math:`\\mathbf{u} = \\mathbf{v}/\\lVert\\mathbf{v}\\rVert_2`. By Cauchy-Schwarz it is at most
    :math:`\\lVert\\nabla f\\rVert_2`, reached for :math:`\\mathbf{u}` along the gradient:
    the gradient points uphill, steepest.
    """
    v = np.asarray(v, dtype=np.float64)
    return float(np.asarray(grad, dtype=np.float64) @ v / np.linalg.norm(v))


def directional_derivative_fd(f: Callable, x, v, h: float = DEFAULT_H) -> float:
    """:math:`D_{\\mathbf{u}} f(\\mathbf{x})` by a central difference along :math:`\\mathbf{u}`.

    Notes
    -----
    The one-variable function :math:`g(t) = f(\\mathbf{x} + t\\mathbf{u})` has
    :math:`g'(0) = D_{\\mathbf{u}} f(\\mathbf{x})`; one :func:`central_difference` of :math:`g`
    costs two evaluations of :math:`f`, whatever :math:`n`.
    """
    x, v = np.asarray(x, dtype=np.float64), np.asarray(v, dtype=np.float64)
    u = v / np.linalg.norm(v)
    return float(central_difference(lambda t: f(x + t * u), 0.0, h))


def jacobian_check(f: Callable, jacobian, x, *, h: float = DEFAULT_H, rtol: float = DEFAULT_RTOL
                   ) -> GradcheckResult:
    """Compare an analytic Jacobian with :func:`numerical_jacobian` (float64), like ``gradcheck``.

    Parameters
    ----------
    f : callable, ndarray (n,) -> ndarray (m,)
    jacobian : callable ndarray (n,) -> ndarray (m, n), or ndarray (m, n)
    x : array_like, shape (n,)
    h, rtol : float
        As in :func:`course_lib.gradcheck.gradcheck`.

    Returns
    -------
    GradcheckResult
        Truthy when the relative error (Frobenius norms) is at most ``rtol``.
    """
    x64 = np.array(x, dtype=np.float64).reshape(-1)
    analytic = np.asarray(jacobian(x64.copy()) if callable(jacobian) else jacobian, dtype=np.float64)
    numeric = numerical_jacobian(f, x64, h=h)
    if analytic.shape != numeric.shape:  # a transposed Jacobian must not pass by reshaping
        raise ValueError(f"the analytic Jacobian has shape {analytic.shape}; expected (m, n) = {numeric.shape}")
    err = relative_error(analytic, numeric)
    return GradcheckResult(bool(err <= rtol), err, rtol, analytic, numeric)


def tanh_layer_jacobian(W, b, x) -> np.ndarray:
    """Jacobian of a layer :math:`\\mathbf{y} = \\tanh(\\mathbf{W}\\mathbf{x} + \\mathbf{b})` with respect to x.

    Parameters
    ----------
    W : ndarray, shape (m, n)
    b : ndarray, shape (m,)
    x : ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (m, n)

    Notes
    -----
    The chain rule through :math:`\\mathbf{z} = \\mathbf{W}\\mathbf{x} + \\mathbf{b}`:
    :math:`\\mathbf{J} = \\mathrm{diag}(\\tanh'(\\mathbf{z}))\\,\\mathbf{W} =
    \\mathrm{diag}(1 - \\mathbf{y}^{2})\\,\\mathbf{W}`, i.e. :math:`J_{ij} = (1 - y_i^2)\\,W_{ij}`:
    row :math:`i` of :math:`\\mathbf{W}` scaled by the slope of output :math:`i`.
    """
    W = np.asarray(W, dtype=np.float64)
    y = np.tanh(W @ np.asarray(x, dtype=np.float64) + b)
    return (1 - y ** 2)[:, None] * W


# -- the chain rule ---------------------------------------------------------------------------------


def chain_rule(df: Callable, g: Callable, dg: Callable, x):
    """Derivative of a composition of one-variable functions.

    Parameters
    ----------
    df : callable
        :math:`f'`, the derivative of the outer function.
    g, dg : callable
        The inner function and its derivative.
    x : float or ndarray

    Returns
    -------
    float or ndarray

    Notes
    -----
    .. math:: (f\\circ g)'(x) = f'(g(x))\\,g'(x)

    The outer derivative is evaluated at the inner value :math:`g(x)`, not at :math:`x`.
    """
    return df(g(x)) * dg(x)


Layer = tuple[Callable, Callable]  # (function, its Jacobian), both of the layer's input vector


def _forward(layers: Sequence[Layer], x) -> list[np.ndarray]:
    """The inputs of every layer and the final output: ``[x_0, x_1, ..., x_k]``."""
    xs = [np.asarray(x, dtype=np.float64)]
    for fn, _ in layers:
        xs.append(np.asarray(fn(xs[-1]), dtype=np.float64))
    return xs


def chain_jacobian(layers: Sequence[Layer], x) -> tuple[np.ndarray, np.ndarray]:
    """Value and Jacobian of :math:`f_k\\circ\\dots\\circ f_1` at ``x``, by forward accumulation.

    Parameters
    ----------
    layers : sequence of (f_i, J_i)
        Applied first to last; ``J_i(x)`` is the ``(n_i, n_{i-1})`` Jacobian of ``f_i`` at its
        input ``x``.
    x : ndarray, shape (n_0,)

    Returns
    -------
    y : ndarray, shape (n_k,)
    J : ndarray, shape (n_k, n_0)

    Notes
    -----
    Multivariable chain rule: with :math:`\\mathbf{x}_i = f_i(\\mathbf{x}_{i-1})`,

    .. math:: \\mathbf{J}_{f_k\\circ\\dots\\circ f_1}(\\mathbf{x}_0) =
              \\mathbf{J}_k(\\mathbf{x}_{k-1})\\cdots\\mathbf{J}_2(\\mathbf{x}_1)\\,\\mathbf{J}_1(\\mathbf{x}_0),

    each Jacobian evaluated at *its own* input. Forward accumulation multiplies from the right,
    in the order the layers run.
    """
    xs = _forward(layers, x)
    J = np.eye(xs[0].size)
    for (_, jac), xin in zip(layers, xs[:-1]):
        J = np.asarray(jac(xin), dtype=np.float64) @ J
    return xs[-1], J


def chain_vjp(layers: Sequence[Layer], x, v) -> tuple[np.ndarray, np.ndarray]:
    """Value and vector-Jacobian product :math:`\\mathbf{v}^\\top\\mathbf{J}` by reverse accumulation.

    Parameters
    ----------
    layers : sequence of (f_i, J_i)
        As in :func:`chain_jacobian`.
    x : ndarray, shape (n_0,)
    v : ndarray, shape (n_k,)
        For a scalar loss (:math:`n_k = 1`), ``v = [1.0]`` gives the gradient.

    Returns
    -------
    y : ndarray, shape (n_k,)
    vJ : ndarray, shape (n_0,)

    Notes
    -----
    .. math:: \\mathbf{v}^\\top\\mathbf{J} = \\big(\\cdots((\\mathbf{v}^\\top\\mathbf{J}_k)\\,
              \\mathbf{J}_{k-1})\\cdots\\big)\\,\\mathbf{J}_1

    The same product as :func:`chain_jacobian`, multiplied from the left: one forward pass
    stores every layer's input, then a backward pass carries a vector (never a matrix)
    from the output to the input. This is backpropagation.
    """
    xs = _forward(layers, x)
    vJ = np.asarray(v, dtype=np.float64)
    for (_, jac), xin in zip(reversed(layers), reversed(xs[:-1])):
        vJ = vJ @ np.asarray(jac(xin), dtype=np.float64)
    return xs[-1], vJ


def chain_costs(dims: Sequence[int]) -> tuple[int, int]:
    """Multiply-adds to form :math:`\\mathbf{J}_k\\cdots\\mathbf{J}_1` right-to-left and left-to-right.

    Parameters
    ----------
    dims : sequence of int
        :math:`(n_0, n_1, \\dots, n_k)`; :math:`\\mathbf{J}_i` is :math:`n_i\\times n_{i-1}`.

    Returns
    -------
    forward : int
        Right to left (forward accumulation): :math:`\\sum_{i=2}^{k} n_i n_{i-1} n_0`.
    reverse : int
        Left to right (reverse accumulation): :math:`\\sum_{i=1}^{k-1} n_k n_i n_{i-1}`.

    Notes
    -----
    An :math:`a\\times b` times :math:`b\\times c` product costs :math:`abc` multiply-adds. For a
    scalar loss (:math:`n_k = 1`) and many parameters, reverse is cheaper by about a factor of
    :math:`n_0`: why deep learning uses reverse mode.
    """
    n = [int(d) for d in dims]
    k = len(n) - 1
    forward = sum(n[i] * n[i - 1] * n[0] for i in range(2, k + 1))
    reverse = sum(n[k] * n[i] * n[i - 1] for i in range(1, k))
    return forward, reverse


# -- Taylor approximations ----------------------------------------------------------------------


def _quadratic_term(hess, dx, scalar: bool):
    if scalar:
        return 0.5 * hess * dx * dx
    return 0.5 * np.einsum("...i,ij,...j->...", dx, np.asarray(hess, dtype=np.float64), dx)


def _linear_term(grad, dx, scalar: bool):
    return grad * dx if scalar else dx @ np.asarray(grad, dtype=np.float64)


def taylor1(f0, grad, dx):
    """First-order Taylor approximation (the linearization).

    Parameters
    ----------
    f0 : float
        :math:`f(\\mathbf{x}_0)`.
    grad : float or ndarray, shape (n,)
        :math:`f'(x_0)` (one variable) or :math:`\\nabla f(\\mathbf{x}_0)`.
    dx : float or ndarray
        Step(s): any shape for one variable; shape ``(..., n)`` for ``n`` variables.

    Returns
    -------
    float or ndarray
        One value per step.

    Notes
    -----
    .. math:: f(\\mathbf{x}_0 + \\Delta\\mathbf{x}) \\approx f(\\mathbf{x}_0) +
              \\nabla f(\\mathbf{x}_0)^\\top\\Delta\\mathbf{x}, \\qquad
              \\text{remainder } O(\\lVert\\Delta\\mathbf{x}\\rVert^2).
    """
    dx = np.asarray(dx, dtype=np.float64)
    return f0 + _linear_term(grad, dx, np.ndim(grad) == 0)


def taylor2(f0, grad, hess, dx):
    """Second-order Taylor approximation.

    Parameters
    ----------
    f0 : float
    grad : float or ndarray, shape (n,)
    hess : float or ndarray, shape (n, n)
        :math:`f''(x_0)` or the Hessian :math:`\\nabla^2 f(\\mathbf{x}_0)`.
    dx : float or ndarray
        As in :func:`taylor1`.

    Returns
    -------
    float or ndarray

    Notes
    -----
    .. math:: f(\\mathbf{x}_0 + \\Delta\\mathbf{x}) \\approx f(\\mathbf{x}_0) +
              \\nabla f(\\mathbf{x}_0)^\\top\\Delta\\mathbf{x} +
              \\tfrac12\\,\\Delta\\mathbf{x}^\\top\\nabla^2 f(\\mathbf{x}_0)\\,\\Delta\\mathbf{x},
              \\qquad \\text{remainder } O(\\lVert\\Delta\\mathbf{x}\\rVert^3).

    The :math:`\\tfrac12` is the :math:`1/2!` of the Taylor series. Exact for quadratics.
    """
    dx = np.asarray(dx, dtype=np.float64)
    scalar = np.ndim(grad) == 0
    return f0 + _linear_term(grad, dx, scalar) + _quadratic_term(hess, dx, scalar)


def tangent_plane(f0, grad, p0, p):
    """Height of the tangent plane of :math:`f` at :math:`\\mathbf{p}_0`, at points ``p``.

    Parameters
    ----------
    f0 : float
        :math:`f(\\mathbf{p}_0)`.
    grad : ndarray, shape (n,)
        :math:`\\nabla f(\\mathbf{p}_0)`.
    p0 : ndarray, shape (n,)
    p : ndarray, shape (..., n)

    Returns
    -------
    ndarray, shape (...)

    Notes
    -----
    :math:`z = f(\\mathbf{p}_0) + \\nabla f(\\mathbf{p}_0)^\\top(\\mathbf{p} - \\mathbf{p}_0)`:
    the graph of :func:`taylor1`, the plane that touches the surface at :math:`\\mathbf{p}_0`.
    """
    return taylor1(f0, grad, np.asarray(p, dtype=np.float64) - np.asarray(p0, dtype=np.float64))


def level_set_tangent(grad) -> np.ndarray:
    """Unit tangent of the level curve :math:`f = f(\\mathbf{p}_0)` in 2-D.

    Parameters
    ----------
    grad : ndarray, shape (2,)

    Returns
    -------
    ndarray, shape (2,)
        :math:`(-g_y, g_x)/\\lVert\\mathbf{g}\\rVert`; ``(1, 0)`` where the gradient vanishes.

    Notes
    -----
    Along the level curve :math:`f` is constant, so :math:`D_{\\mathbf{t}}f = \\nabla f^\\top\\mathbf{t}
    = 0`: the gradient is perpendicular to the level curves.
    """
    gx, gy = np.asarray(grad, dtype=np.float64)
    norm = np.hypot(gx, gy)
    return np.array([1.0, 0.0]) if norm == 0 else np.array([-gy, gx]) / norm
