r"""Gradients and Jacobians of functions of several variables: the directional derivative
(exact and by a central difference), an analytic Jacobian checked against the shared
checker's numerical one, and the Jacobian of a tanh layer.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from course_lib.calculus.finite_differences import central_difference
from course_lib.gradcheck import DEFAULT_H, DEFAULT_RTOL, GradcheckResult, numerical_jacobian, relative_error


def directional_derivative(grad, v) -> float:
    r"""Rate of change of :math:`f` along the direction of ``v``.

    Parameters
    ----------
    grad : ndarray, shape (n,)
        :math:`\nabla f(\mathbf{x})`.
    v : ndarray, shape (n,), non-zero
        A direction (any length; it is normalized).

    Returns
    -------
    float

    Notes
    -----
    :math:`D_{\mathbf{u}} f(\mathbf{x}) = \nabla f(\mathbf{x})^\top\mathbf{u}` with
    :math:`\mathbf{u} = \mathbf{v}/\lVert\mathbf{v}\rVert_2`. By Cauchy-Schwarz it is at most
    :math:`\lVert\nabla f\rVert_2`, reached for :math:`\mathbf{u}` along the gradient:
    the gradient points uphill, steepest.
    """
    v = np.asarray(v, dtype=np.float64)
    return float(np.asarray(grad, dtype=np.float64) @ v / np.linalg.norm(v))


def directional_derivative_fd(f: Callable, x, v, h: float = DEFAULT_H) -> float:
    r""":math:`D_{\mathbf{u}} f(\mathbf{x})` by a central difference along :math:`\mathbf{u}`.

    Notes
    -----
    The one-variable function :math:`g(t) = f(\mathbf{x} + t\mathbf{u})` has
    :math:`g'(0) = D_{\mathbf{u}} f(\mathbf{x})`; one :func:`central_difference` of :math:`g`
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
    r"""Jacobian of a layer :math:`\mathbf{y} = \tanh(\mathbf{W}\mathbf{x} + \mathbf{b})` with respect to x.

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
    The chain rule through :math:`\mathbf{z} = \mathbf{W}\mathbf{x} + \mathbf{b}`:
    :math:`\mathbf{J} = \mathrm{diag}(\tanh'(\mathbf{z}))\,\mathbf{W} =
    \mathrm{diag}(1 - \mathbf{y}^{2})\,\mathbf{W}`, i.e. :math:`J_{ij} = (1 - y_i^2)\,W_{ij}`:
    row :math:`i` of :math:`\mathbf{W}` scaled by the slope of output :math:`i`.
    """
    W = np.asarray(W, dtype=np.float64)
    y = np.tanh(W @ np.asarray(x, dtype=np.float64) + b)
    return (1 - y ** 2)[:, None] * W
