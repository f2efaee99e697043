r"""Derivatives of one variable by finite differences, and their error model: truncation
:math:`O(h)` or :math:`O(h^2)` against round-off :math:`O(\varepsilon/h)`, the V of the total
error and the step at its bottom (which explain :mod:`course_lib.gradcheck`'s tolerances).
Smooth test functions with their first three derivatives.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from course_lib.gradcheck import DEFAULT_H

EPS = float(np.finfo(np.float64).eps)  # 2.22e-16: the spacing of float64 numbers near 1


def forward_difference(f: Callable, x, h=1e-8):
    r"""Forward difference, first-order accurate.

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
    .. math:: f'(x) \approx \frac{f(x + h) - f(x)}{h} = f'(x) + \frac{h}{2} f''(\xi)

    The truncation error is :math:`O(h)` (Taylor's theorem with remainder).
    """
    x, h = np.asarray(x, dtype=np.float64), np.asarray(h, dtype=np.float64)
    return (f(x + h) - f(x)) / h


def backward_difference(f: Callable, x, h=1e-8):
    """Backward difference :math:`(f(x) - f(x - h))/h`, first-order accurate (see :func:`forward_difference`)."""
    return forward_difference(f, x, -np.asarray(h, dtype=np.float64))


def central_difference(f: Callable, x, h=DEFAULT_H):
    r"""Central (symmetric) difference, second-order accurate.

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
    .. math:: f'(x) \approx \frac{f(x + h) - f(x - h)}{2h} = f'(x) + \frac{h^2}{6} f'''(\xi)

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
    r"""Leading truncation error of a difference formula.

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
    Forward/backward: :math:`\tfrac12|f''|\,h`; central: :math:`\tfrac16|f'''|\,h^2`.
    """
    h = np.abs(np.asarray(h, dtype=np.float64))
    return abs(d3) * h ** 2 / 6 if method == "central" else abs(d2) * h / 2


def roundoff_error(h, method: str = "central", *, f_scale: float = 1.0, eps: float = EPS):
    r"""Round-off error of a difference formula: cancellation divided by a small step.

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
    Each value of :math:`f` carries an error of about :math:`\varepsilon|f|`; the difference of
    two keeps both errors while the true difference shrinks with :math:`h`, so dividing by
    :math:`h` (or :math:`2h`) gives :math:`2\varepsilon|f|/h` (forward) and
    :math:`\varepsilon|f|/h` (central). A model of the size, not a bound.
    """
    h = np.abs(np.asarray(h, dtype=np.float64))
    return (1.0 if method == "central" else 2.0) * eps * abs(f_scale) / h


def total_error(h, method: str = "central", *, f_scale: float = 1.0, d2: float = 1.0, d3: float = 1.0,
                eps: float = EPS):
    r"""Model of the total error :math:`E(h)` = truncation + round-off: the V on a log-log plot.

    Notes
    -----
    Central: :math:`E(h) = \tfrac16|f'''|h^2 + \varepsilon|f|/h`; forward:
    :math:`E(h) = \tfrac12|f''|h + 2\varepsilon|f|/h`. Parameters as in
    :func:`truncation_error` and :func:`roundoff_error`.
    """
    return (truncation_error(h, method, d2=d2, d3=d3)
            + roundoff_error(h, method, f_scale=f_scale, eps=eps))


def optimal_step(method: str = "central", *, f_scale: float = 1.0, d2: float = 1.0, d3: float = 1.0,
                 eps: float = EPS) -> float:
    r"""The step that minimizes :func:`total_error`: the bottom of the V.

    Returns
    -------
    float

    Notes
    -----
    Setting :math:`E'(h) = 0`: forward :math:`h^* = 2\sqrt{\varepsilon|f|/|f''|}`
    (about :math:`10^{-8}` in float64), central :math:`h^* = (3\varepsilon|f|/|f'''|)^{1/3}`
    (about :math:`10^{-5}`). The minimal error is then :math:`O(\sqrt{\varepsilon})` and
    :math:`O(\varepsilon^{2/3})`: central differences give about 11 correct digits in float64,
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
