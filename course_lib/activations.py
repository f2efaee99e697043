r"""Chapter 04: activation functions, their derivatives and where they saturate.

Each activation :math:`f` sits next to its derivative :math:`f'` (``sigmoid`` and
``sigmoid_grad``, ...), so the forward rule and the local gradient can be read together.
All functions work element-wise on arrays of any shape (a 0-d array or a Python float is
fine too) and return float64.

Numerics: nothing here ever overflows, for any finite input. Functions built on the
exponential only ever evaluate :math:`e^{-|x|} \le 1`, and the only floating-point event
left is *underflow* (``exp(-1e4)`` rounds to 0.0), which is the correctly rounded answer;
it is silenced locally, so the functions stay quiet even under
``np.errstate(all="raise")``.

:data:`ACTIVATIONS` lists every activation for the widget and the notebook:
``name -> Activation(f, df, latex)``.
"""
from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple

import numpy as np

from course_lib.linalg import relu  # chapter 01's max(0, z): one ReLU in the course
from course_lib.probability import sigmoid  # chapter 03's stable logistic: one sigmoid in the course

__all__ = [
    "sigmoid", "sigmoid_grad", "log_sigmoid", "log_sigmoid_grad", "softplus", "softplus_grad",
    "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu", "leaky_relu_grad", "gelu", "gelu_grad",
    "gelu_tanh", "gelu_tanh_grad", "silu", "silu_grad", "Activation", "ACTIVATIONS",
    "saturation_mask", "saturated_fraction", "saturated_intervals", "underflow_is_fine",
]


def _as_float(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def underflow_is_fine(fn: Callable) -> Callable:
    """Decorator: run ``fn`` with underflow ignored (and nothing else).

    Rounding a tiny result to 0 or to a subnormal number is the correct answer in these
    functions, not an error, so they stay quiet even under the caller's
    ``np.errstate(all="raise")``; overflow, invalid operations and division by zero would
    still be reported.
    """
    @functools.wraps(fn)
    def quiet(*args, **kwargs):
        with np.errstate(under="ignore"):
            return fn(*args, **kwargs)
    return quiet


# -- the logistic family: sigmoid, log-sigmoid, softplus --------------------------------------
# sigmoid(x) = 1 / (1 + e^{-x}) itself comes from chapter 03 (course_lib.probability): it only ever
# exponentiates -|x| <= 0, as 1/(1 + e) for x >= 0 and e/(1 + e) for x < 0 with e = e^{-|x|}
# (np.where evaluates both branches, so e must be safe for every entry).


@underflow_is_fine
def sigmoid_grad(x) -> np.ndarray:
    r"""Derivative of the sigmoid.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ndarray, shape of ``x``, values in [0, 1/4]

    Notes
    -----
    .. math::  \sigma'(x) = \sigma(x)\,(1 - \sigma(x)) = \sigma(x)\,\sigma(-x)

    The second form avoids the cancellation in :math:`1 - \sigma(x)` when :math:`\sigma(x)`
    is close to 1. The maximum is :math:`\sigma'(0) = 1/4`: a sigmoid layer shrinks every
    gradient that flows back through it at least fourfold.
    """
    x = _as_float(x)
    return sigmoid(x) * sigmoid(-x)


@underflow_is_fine
def softplus(x) -> np.ndarray:
    r"""Softplus, a smooth ReLU, computed without overflow.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ndarray, shape of ``x``, values > 0 (0.0 once they underflow)

    Notes
    -----
    .. math::  \operatorname{softplus}(x) = \log(1 + e^{x}) = \max(x, 0) + \log(1 + e^{-|x|})

    The right-hand form never exponentiates a positive number; ``log1p`` keeps full precision
    when :math:`e^{-|x|}` is tiny.
    """
    x = _as_float(x)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


@underflow_is_fine
def softplus_grad(x) -> np.ndarray:
    r"""Derivative of softplus: the sigmoid, :math:`\operatorname{softplus}'(x) = \sigma(x)`."""
    return sigmoid(x)


@underflow_is_fine
def log_sigmoid(x) -> np.ndarray:
    r"""Logarithm of the sigmoid, computed without overflow or ``log(0)``.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ndarray, shape of ``x``, values <= 0

    Notes
    -----
    .. math::  \log\sigma(x) = -\log(1 + e^{-x}) = -\operatorname{softplus}(-x)

    ``np.log(sigmoid(x))`` gives ``-inf`` once :math:`\sigma(x)` underflows to 0
    (:math:`x \lesssim -745`), while the true value is about :math:`x`; this form returns
    :math:`x` there. It is the building block of the binary cross-entropy with logits.
    """
    return -softplus(-_as_float(x))


@underflow_is_fine
def log_sigmoid_grad(x) -> np.ndarray:
    r"""Derivative of :func:`log_sigmoid`: :math:`(\log\sigma)'(x) = 1 - \sigma(x) = \sigma(-x)`."""
    return sigmoid(-_as_float(x))


# -- tanh ---------------------------------------------------------------------------------


@underflow_is_fine
def tanh(x) -> np.ndarray:
    r"""Hyperbolic tangent (``np.tanh``, which is stable for every finite input).

    Notes
    -----
    .. math::  \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1

    A sigmoid stretched to :math:`(-1, 1)` and centred at 0.
    """
    return np.tanh(_as_float(x))


@underflow_is_fine
def tanh_grad(x) -> np.ndarray:
    r"""Derivative of tanh.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ndarray, shape of ``x``, values in [0, 1]

    Notes
    -----
    .. math::  \tanh'(x) = 1 - \tanh^2(x) = \operatorname{sech}^2(x)

    The ``sech`` form overflows (``cosh(800)`` is ``inf``); ``1 - tanh**2`` does not.
    """
    t = np.tanh(_as_float(x))
    return 1.0 - t * t


# -- the ReLU family ------------------------------------------------------------------------


@underflow_is_fine
def relu_grad(x) -> np.ndarray:
    r"""Derivative of ReLU, with the PyTorch convention :math:`\mathrm{ReLU}'(0) = 0`.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ndarray, shape of ``x``, values in {0, 1}

    Notes
    -----
    .. math::  \mathrm{ReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}

    At the kink :math:`x = 0` any value in :math:`[0, 1]` is a valid subgradient; 0 is the
    usual choice. A unit whose input stays negative gets no gradient at all ("dead ReLU").
    """
    return (_as_float(x) > 0).astype(np.float64)


@underflow_is_fine
def leaky_relu(x, alpha: float = 0.01) -> np.ndarray:
    r"""Leaky ReLU: a small slope ``alpha`` instead of 0 for negative inputs.

    Parameters
    ----------
    x : array_like, any shape
    alpha : float
        Slope on the negative side, :math:`0 \le \alpha < 1` (PyTorch's default is 0.01).

    Returns
    -------
    ndarray, shape of ``x``

    Notes
    -----
    .. math::  \mathrm{LeakyReLU}_\alpha(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}
               = \max(x, \alpha x) \quad (0 \le \alpha < 1)
    """
    x = _as_float(x)
    return np.where(x > 0, x, alpha * x)


@underflow_is_fine
def leaky_relu_grad(x, alpha: float = 0.01) -> np.ndarray:
    r"""Derivative of :func:`leaky_relu`: 1 for :math:`x > 0`, :math:`\alpha` for :math:`x \le 0`.

    Never zero (for :math:`\alpha > 0`), so a unit cannot die.
    """
    return np.where(_as_float(x) > 0, 1.0, alpha)


# -- smooth ReLUs: GELU and SiLU -----------------------------------------------------------

# erfc, not erf: Phi(x) = erfc(-x / sqrt 2) / 2 keeps full relative precision for negative x, where
# 1 + erf(x / sqrt 2) would cancel. math.erfc, vectorized, since SciPy is not a dependency.
_erfc = np.vectorize(math.erfc, otypes=[np.float64])
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715
# Beyond |x| = 50, Phi and tanh(u) are exactly 0 or 1 in float64 and the density is exactly 0; clipping
# the argument of x**2 and x**3 there changes no result and keeps them from overflowing (x = 1e300).
_TAIL = 50.0


@underflow_is_fine
def _normal_cdf(x: np.ndarray) -> np.ndarray:
    r""":math:`\Phi(x) = \tfrac12\operatorname{erfc}(-x/\sqrt2)`, the standard normal CDF."""
    return 0.5 * _erfc(-x / _SQRT2)


@underflow_is_fine
def gelu(x) -> np.ndarray:
    r"""Gaussian error linear unit (exact form, as ``torch.nn.functional.gelu``).

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ndarray, shape of ``x``

    Notes
    -----
    .. math::  \mathrm{GELU}(x) = x\,\Phi(x), \qquad \Phi(x) = \tfrac12\bigl(1 + \operatorname{erf}(x/\sqrt2)\bigr)

    :math:`\Phi` is the standard normal CDF: the input is kept with the probability that a
    standard normal variable is below it (Hendrycks & Gimpel, 2016).
    """
    x = _as_float(x)
    return x * _normal_cdf(x)


@underflow_is_fine
def gelu_grad(x) -> np.ndarray:
    r"""Derivative of the exact GELU.

    Notes
    -----
    .. math::  \mathrm{GELU}'(x) = \Phi(x) + x\,\varphi(x), \qquad
               \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}
    """
    x = _as_float(x)
    xc = np.clip(x, -_TAIL, _TAIL)
    return _normal_cdf(x) + xc * _INV_SQRT_2PI * np.exp(-0.5 * xc * xc)


@underflow_is_fine
def gelu_tanh(x) -> np.ndarray:
    r"""GELU, tanh approximation (``torch.nn.functional.gelu(x, approximate="tanh")``).

    Notes
    -----
    .. math::  \mathrm{GELU}_{\tanh}(x) = \tfrac12 x\bigl(1 + \tanh(u)\bigr), \qquad
               u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)

    Within about :math:`10^{-3}` of the exact form; it predates fast ``erf`` kernels.
    """
    x = _as_float(x)
    xc = np.clip(x, -_TAIL, _TAIL)
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (xc + _GELU_K * xc**3)))


@underflow_is_fine
def gelu_tanh_grad(x) -> np.ndarray:
    r"""Derivative of :func:`gelu_tanh`.

    Notes
    -----
    .. math::  \tfrac12\bigl(1 + \tanh u\bigr) + \tfrac12 x\,(1 - \tanh^2 u)\,
               \sqrt{2/\pi}\,(1 + 3\cdot0.044715\,x^2)
    """
    x = _as_float(x)
    xc = np.clip(x, -_TAIL, _TAIL)
    t = np.tanh(_GELU_C * (xc + _GELU_K * xc**3))
    return 0.5 * (1.0 + t) + 0.5 * xc * (1.0 - t * t) * _GELU_C * (1.0 + 3 * _GELU_K * xc * xc)


@underflow_is_fine
def silu(x) -> np.ndarray:
    r"""Sigmoid linear unit (also called swish): :math:`\mathrm{SiLU}(x) = x\,\sigma(x)`."""
    x = _as_float(x)
    return x * sigmoid(x)


@underflow_is_fine
def silu_grad(x) -> np.ndarray:
    r"""Derivative of SiLU.

    Notes
    -----
    .. math::  \mathrm{SiLU}'(x) = \sigma(x) + x\,\sigma(x)(1 - \sigma(x)) = \sigma(x)\bigl(1 + x\,\sigma(-x)\bigr)
    """
    x = _as_float(x)
    return sigmoid(x) * (1.0 + x * sigmoid(-x))


# -- the registry the widget and the notebook use ---------------------------------------------


class Activation(NamedTuple):
    """An activation for display: ``f``, its derivative ``df`` and its formula in LaTeX."""

    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]
    latex: str


WIDGET_LEAKY_ALPHA = 0.1  # 0.01 (PyTorch's default) would look flat at the scale of a plot

ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(sigmoid, sigmoid_grad, r"\sigma(x) = 1/(1 + e^{-x})"),
    "tanh": Activation(tanh, tanh_grad, r"\tanh(x) = 2\sigma(2x) - 1"),
    "relu": Activation(relu, relu_grad, r"\mathrm{ReLU}(x) = \max(0, x)"),
    "leaky_relu": Activation(lambda x: leaky_relu(x, WIDGET_LEAKY_ALPHA),
                             lambda x: leaky_relu_grad(x, WIDGET_LEAKY_ALPHA),
                             r"\mathrm{LeakyReLU}(x) = \max(x, 0.1x)"),
    "gelu": Activation(gelu, gelu_grad, r"\mathrm{GELU}(x) = x\,\Phi(x)"),
    "silu": Activation(silu, silu_grad, r"\mathrm{SiLU}(x) = x\,\sigma(x)"),
    "softplus": Activation(softplus, softplus_grad, r"\mathrm{softplus}(x) = \log(1 + e^{x})"),
}


# -- saturation: where the local gradient (almost) vanishes -----------------------------------

SATURATION_THRESHOLD = 0.05


def saturation_mask(df: Callable, x, threshold: float = SATURATION_THRESHOLD) -> np.ndarray:
    r"""Where an activation is saturated: its derivative is below ``threshold`` in magnitude.

    Parameters
    ----------
    df : callable
        The derivative :math:`f'`, element-wise.
    x : array_like, any shape
        Pre-activations.
    threshold : float
        What counts as "almost no gradient".

    Returns
    -------
    ndarray of bool, shape of ``x``

    Notes
    -----
    Saturated means :math:`|f'(x)| < \tau`. Backpropagation multiplies the incoming gradient
    by :math:`f'(x)`, so in this region a unit passes on less than :math:`\tau` of it.
    """
    return np.abs(df(_as_float(x))) < threshold


def saturated_fraction(df: Callable, x, threshold: float = SATURATION_THRESHOLD) -> float:
    """Fraction of the pre-activations ``x`` that fall in the saturated region (see :func:`saturation_mask`)."""
    mask = saturation_mask(df, x, threshold)
    return float(mask.mean()) if mask.size else 0.0


def saturated_intervals(df: Callable, lo: float, hi: float, threshold: float = SATURATION_THRESHOLD,
                        num: int = 2001) -> list[tuple[float, float]]:
    """The saturated region of ``[lo, hi]`` as a list of intervals, found on a grid.

    Parameters
    ----------
    df : callable
        The derivative :math:`f'`.
    lo, hi : float
        The range to scan.
    threshold : float
        As in :func:`saturation_mask`.
    num : int
        Grid points; the ends of each interval are accurate to ``(hi - lo) / (num - 1)``.

    Returns
    -------
    list of (float, float)
        Disjoint intervals, left to right, where :math:`|f'| <` ``threshold`` on the grid.
    """
    x = np.linspace(lo, hi, num)
    mask = saturation_mask(df, x, threshold).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask, [0]])))  # starts and (exclusive) ends
    return [(float(x[a]), float(x[b - 1])) for a, b in zip(edges[::2], edges[1::2])]
