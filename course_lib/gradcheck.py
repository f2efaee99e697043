r"""The course's one gradient checker: central finite differences in float64.

Every derivative the course implements (by hand, in ``course_lib`` or in ``autograd``)
is compared with :func:`numerical_gradient` through :func:`gradcheck`.

Tolerances
----------
For :math:`f` three times continuously differentiable near :math:`x`, the central difference
has truncation error :math:`\tfrac16 |f'''(x)|\,h^2 + o(h^2)`. Each computed value of :math:`f`
carries a rounding error of about :math:`\varepsilon |f|`, with :math:`\varepsilon \approx 2.2\times10^{-16}`
in float64, which the division by :math:`2h` turns into a round-off error of about
:math:`\varepsilon |f| / h`. Their sum is smallest at :math:`h^* = (3\varepsilon|f|/|f'''|)^{1/3}`:
about :math:`8.7\times10^{-6}` for a function and derivatives of order one, with a total error
of about :math:`4\times10^{-11}` there.

The default ``h = 1e-6`` does **not** balance the two errors. It lies below :math:`h^*`, on the
round-off side: for a function of order one the model's round-off bound (about
:math:`2.2\times10^{-10}`) exceeds the truncation error (about :math:`1.7\times10^{-13}`) some
1300 times, and the measured errors of ``sin``, ``exp``, ``tanh`` and a cubic at random points of
[-2, 2] have medians near :math:`4\times10^{-11}` to :math:`6\times10^{-11}`, 140 to 330 times their
truncation error. The step is chosen because both errors stay far below the tolerance
``rtol = 1e-7`` over a wide range of functions. Round-off is about 450 times below it (the bound;
the measured medians, some 2000 times). Truncation reaches it only when
:math:`|f'''|` is about :math:`6\,\mathrm{rtol}/h^2 = 6\times10^{5}` times :math:`|f'|`, about 75
times more curvature than the :math:`6\,\mathrm{rtol}/h^{*2} \approx 8\times10^{3}` that the
optimal step would tolerate. A wrong gradient (a factor, a sign, a missing term, a 0.1% slip)
lands orders of magnitude above ``rtol``. Functions with kinks (ReLU, max, abs) must be checked
away from the kink, where they are smooth. ``tests/test_gradcheck.py`` measures these figures.

The relative error of two arrays is

.. math::  \mathrm{rel}(a, n) = \frac{\lVert a - n \rVert_2}{\max(\lVert a\rVert_2, \lVert n\rVert_2, \text{tiny})},

so an all-zero gradient compared with an all-zero estimate counts as agreement, and a
single tiny component cannot blow the error up the way an element-wise ratio would.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

DEFAULT_H = 1e-6
DEFAULT_RTOL = 1e-7
TINY = 1e-12


def relative_error(analytic, numeric, tiny: float = TINY) -> float:
    """``||a - n|| / max(||a||, ||n||, tiny)`` for arrays (or scalars) of one shape."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"shapes differ: analytic {a.shape} vs numeric {n.shape}")
    scale = max(np.linalg.norm(a), np.linalg.norm(n), tiny)
    return float(np.linalg.norm(a - n) / scale)


def numerical_gradient(f: Callable[[np.ndarray], float], x, h: float = DEFAULT_H) -> np.ndarray:
    r"""Central-difference gradient of a scalar function.

    Parameters
    ----------
    f : callable, ndarray of shape ``x.shape`` -> float
        The function; it must not keep a reference to its argument.
    x : array_like, any shape
        The point; converted to a float64 copy (``x`` itself is never modified).
    h : float
        The step.

    Returns
    -------
    ndarray, shape ``x.shape``, float64

    Notes
    -----
    .. math::  \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}
    """
    x = np.array(x, dtype=np.float64)
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = _scalar(f(x))
        flat[i] = old - h
        minus = _scalar(f(x))
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def _scalar(value) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"f must return a scalar, but returned an array of shape {arr.shape}; "
                         "for a vector-valued f use numerical_jacobian")
    return float(arr.reshape(()))


def numerical_jacobian(f: Callable[[np.ndarray], np.ndarray], x, h: float = DEFAULT_H) -> np.ndarray:
    """Central-difference Jacobian ``J[i, j] = d f_i / d x_j``.

    Parameters
    ----------
    f : callable, ndarray of shape (n,) -> array_like of shape (m,)
    x : array_like, shape (n,)

    Returns
    -------
    ndarray, shape (m, n), float64

    Notes
    -----
    Column ``j`` is :math:`(f(x + h e_j) - f(x - h e_j)) / 2h`.
    """
    x = np.array(x, dtype=np.float64).reshape(-1)
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        plus = np.asarray(f(x + step), dtype=np.float64).reshape(-1)
        minus = np.asarray(f(x - step), dtype=np.float64).reshape(-1)
        columns.append((plus - minus) / (2 * h))
    return np.stack(columns, axis=1)


@dataclass(frozen=True)
class GradcheckResult:
    """What :func:`gradcheck` found. ``bool(result)`` is ``result.ok``."""

    ok: bool
    relative_error: float
    rtol: float
    analytic: np.ndarray
    numeric: np.ndarray

    @property
    def worst_index(self) -> tuple:
        """Index of the component where analytic and numeric differ most."""
        diff = np.abs(self.analytic - self.numeric)
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.size else ()

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        return (
            f"gradcheck {verdict}: relative error {self.relative_error:.2e} "
            f"(tolerance {self.rtol:.0e}), worst component {self.worst_index}"
        )


def gradcheck(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray] | np.ndarray,
    x,
    *,
    h: float = DEFAULT_H,
    rtol: float = DEFAULT_RTOL,
) -> GradcheckResult:
    """Compare an analytic gradient with central differences at ``x`` (float64).

    Parameters
    ----------
    f : callable, ndarray -> float
        Scalar function.
    grad : callable ndarray -> ndarray, or ndarray
        The analytic gradient (a function of ``x``, or its value at ``x``), shape ``x.shape``.
    x : array_like
        Point of evaluation; used as float64.
    h, rtol : float
        Finite-difference step and accepted relative error (see the module notes).

    Returns
    -------
    GradcheckResult
        Truthy when ``relative_error(analytic, numeric) <= rtol``.

    Examples
    --------
    >>> import numpy as np
    >>> bool(gradcheck(lambda x: np.sum(x ** 3), lambda x: 3 * x ** 2, np.arange(3.0)))
    True
    """
    x64 = np.array(x, dtype=np.float64)
    analytic = grad(x64.copy()) if callable(grad) else grad
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != x64.shape:
        raise ValueError(f"the analytic gradient has shape {analytic.shape}, but x has shape {x64.shape}")
    numeric = numerical_gradient(f, x64, h=h)
    err = relative_error(analytic, numeric)
    return GradcheckResult(bool(err <= rtol), err, rtol, analytic, numeric)
