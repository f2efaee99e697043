r"""Taylor approximations: the linearization and the quadratic model of a function, the
tangent plane, and the tangent of a level set (perpendicular to the gradient).
"""
from __future__ import annotations

import numpy as np


def _quadratic_term(hess, dx, scalar: bool):
    if scalar:
        return 0.5 * hess * dx * dx
    return 0.5 * np.einsum("...i,ij,...j->...", dx, np.asarray(hess, dtype=np.float64), dx)


def _linear_term(grad, dx, scalar: bool):
    return grad * dx if scalar else dx @ np.asarray(grad, dtype=np.float64)


def taylor1(f0, grad, dx):
    r"""First-order Taylor approximation (the linearization).

    Parameters
    ----------
    f0 : float
        :math:`f(\mathbf{x}_0)`.
    grad : float or ndarray, shape (n,)
        :math:`f'(x_0)` (one variable) or :math:`\nabla f(\mathbf{x}_0)`.
    dx : float or ndarray
        Step(s): any shape for one variable; shape ``(..., n)`` for ``n`` variables.

    Returns
    -------
    float or ndarray
        One value per step.

    Notes
    -----
    .. math:: f(\mathbf{x}_0 + \Delta\mathbf{x}) \approx f(\mathbf{x}_0) +
              \nabla f(\mathbf{x}_0)^\top\Delta\mathbf{x}, \qquad
              \text{remainder } O(\lVert\Delta\mathbf{x}\rVert^2).
    """
    dx = np.asarray(dx, dtype=np.float64)
    return f0 + _linear_term(grad, dx, np.ndim(grad) == 0)


def taylor2(f0, grad, hess, dx):
    r"""Second-order Taylor approximation.

    Parameters
    ----------
    f0 : float
    grad : float or ndarray, shape (n,)
    hess : float or ndarray, shape (n, n)
        :math:`f''(x_0)` or the Hessian :math:`\nabla^2 f(\mathbf{x}_0)`.
    dx : float or ndarray
        As in :func:`taylor1`.

    Returns
    -------
    float or ndarray

    Notes
    -----
    .. math:: f(\mathbf{x}_0 + \Delta\mathbf{x}) \approx f(\mathbf{x}_0) +
              \nabla f(\mathbf{x}_0)^\top\Delta\mathbf{x} +
              \tfrac12\,\Delta\mathbf{x}^\top\nabla^2 f(\mathbf{x}_0)\,\Delta\mathbf{x},
              \qquad \text{remainder } O(\lVert\Delta\mathbf{x}\rVert^3).

    The :math:`\tfrac12` is the :math:`1/2!` of the Taylor series. Exact for quadratics.
    """
    dx = np.asarray(dx, dtype=np.float64)
    scalar = np.ndim(grad) == 0
    return f0 + _linear_term(grad, dx, scalar) + _quadratic_term(hess, dx, scalar)


def tangent_plane(f0, grad, p0, p):
    r"""Height of the tangent plane of :math:`f` at :math:`\mathbf{p}_0`, at points ``p``.

    Parameters
    ----------
    f0 : float
        :math:`f(\mathbf{p}_0)`.
    grad : ndarray, shape (n,)
        :math:`\nabla f(\mathbf{p}_0)`.
    p0 : ndarray, shape (n,)
    p : ndarray, shape (..., n)

    Returns
    -------
    ndarray, shape (...)

    Notes
    -----
    :math:`z = f(\mathbf{p}_0) + \nabla f(\mathbf{p}_0)^\top(\mathbf{p} - \mathbf{p}_0)`:
    the graph of :func:`taylor1`, the plane that touches the surface at :math:`\mathbf{p}_0`.
    """
    return taylor1(f0, grad, np.asarray(p, dtype=np.float64) - np.asarray(p0, dtype=np.float64))


def level_set_tangent(grad) -> np.ndarray:
    r"""Unit tangent of the level curve :math:`f = f(\mathbf{p}_0)` in 2-D.

    Parameters
    ----------
    grad : ndarray, shape (2,)

    Returns
    -------
    ndarray, shape (2,)
        :math:`(-g_y, g_x)/\lVert\mathbf{g}\rVert`; ``(1, 0)`` where the gradient vanishes.

    Notes
    -----
    Along the level curve :math:`f` is constant, so :math:`D_{\mathbf{t}}f = \nabla f^\top\mathbf{t}
    = 0`: the gradient is perpendicular to the level curves.
    """
    gx, gy = np.asarray(grad, dtype=np.float64)
    norm = np.hypot(gx, gy)
    return np.array([1.0, 0.0]) if norm == 0 else np.array([-gy, gx]) / norm
