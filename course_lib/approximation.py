"""Chapter 04: why a network needs a non-linearity, and what one hidden layer can represent.

Two facts, each shown by code:

1. **Without a non-linearity depth buys nothing.** A stack of linear layers
   :math:`\\mathbf{x}\\mapsto\\mathbf{W}_k(\\cdots(\\mathbf{W}_1\\mathbf{x}+\\mathbf{b}_1)\\cdots)+\\mathbf{b}_k`
   is one linear layer; :func:`collapse_linear_layers` computes it.
2. **With one, a single hidden layer can approximate any continuous function** on an
   interval (the universal approximation theorem: Cybenko 1989, Hornik 1991). Made
   concrete in 1-D by explicit constructions with :math:`N` hidden units:

   - :func:`relu_interpolant`: :math:`N` ReLUs reproduce the piecewise-linear
     interpolation of :math:`f` at :math:`N+1` evenly spaced knots, exactly. Since
     :math:`f` is uniformly continuous the error goes to 0 as :math:`N` grows (like
     :math:`1/N^2` for smooth :math:`f`).
   - :func:`sigmoid_staircase`: :math:`N` steep sigmoids add up to a staircase that
     follows :math:`f` (Cybenko's argument); error like :math:`1/N`.
   - :func:`fit_least_squares`: fixed hidden units (evenly spaced or random) and an
     output layer fitted by least squares: training only the last layer already works.

Networks here take a 1-D input array ``x`` of shape ``(P,)`` (``P`` points) and are
:class:`ShallowNet` objects, :math:`\\hat y(x) = \\mathbf{w}_2^\\top f(\\mathbf{W}_1 x + \\mathbf{b}_1) + b_2`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np

from course_lib.activations import sigmoid
from course_lib.linalg import dense_layer, relu

DOMAIN = (-1.0, 1.0)

TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sine": lambda x: np.sin(np.pi * x),
    "bump": lambda x: np.exp(-12.0 * x**2),
    "abs": np.abs,
    "wiggle": lambda x: np.sin(6.0 * x) * np.exp(-(x**2)) + 0.3 * x,
    "step (discontinuous)": lambda x: (x > 0.1).astype(np.float64),
}
"""1-D targets on :data:`DOMAIN`; the last is not continuous, so the theorem does not cover it."""

HIDDEN = {"relu": relu, "sigmoid": sigmoid}
SIGMOID_SHARPNESS = 12.0  # slope of each sigmoid step, in units of 1 / knot spacing
RIDGE = 1e-10  # relative ridge of the least-squares output layer (see fit_least_squares)


# -- 1. linear layers collapse ---------------------------------------------------------------


def collapse_linear_layers(layers: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The single linear layer equal to a stack of linear layers (no activation between).

    Parameters
    ----------
    layers : sequence of (W, b)
        In the order they are applied; ``W_i`` has shape ``(n_i, n_{i-1})`` (out x in) and
        ``b_i`` shape ``(n_i,)``.

    Returns
    -------
    W : ndarray, shape (n_k, n_0)
    b : ndarray, shape (n_k,)

    Notes
    -----
    For two layers
    :math:`\\mathbf{W}_2(\\mathbf{W}_1\\mathbf{x}+\\mathbf{b}_1)+\\mathbf{b}_2
    = (\\mathbf{W}_2\\mathbf{W}_1)\\mathbf{x} + (\\mathbf{W}_2\\mathbf{b}_1+\\mathbf{b}_2)`:
    the later matrix is on the left, and the earlier bias passes through it. By induction
    any depth collapses to :math:`\\mathbf{W} = \\mathbf{W}_k\\cdots\\mathbf{W}_1`.
    """
    (W, b), *rest = [(np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)) for W, b in layers]
    for W_next, b_next in rest:
        W, b = W_next @ W, W_next @ b + b_next
    return W, b


def apply_layers(x: np.ndarray, layers: Sequence[tuple[np.ndarray, np.ndarray]],
                 f: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Run ``x`` through the layers, with activation ``f`` between them (none after the last).

    Parameters
    ----------
    x : ndarray, shape (n_0,) or (N, n_0)
    layers : sequence of (W, b), as in :func:`collapse_linear_layers`
    f : callable or None
        Hidden activation; ``None`` makes every layer linear.

    Returns
    -------
    ndarray, shape (n_k,) or (N, n_k)

    Notes
    -----
    :math:`\\mathbf{h}_i = f(\\mathbf{W}_i\\mathbf{h}_{i-1} + \\mathbf{b}_i)` for the hidden
    layers and :math:`\\mathbf{W}_k\\mathbf{h}_{k-1} + \\mathbf{b}_k` at the output, each
    computed by :func:`course_lib.linalg.dense_layer`.
    """
    h = np.asarray(x, dtype=np.float64)
    for i, (W, b) in enumerate(layers):
        last = i == len(layers) - 1
        h = dense_layer(h, W, b) if (last or f is None) else dense_layer(h, W, b, f)
    return h


# -- 2. a one-hidden-layer network on 1-D inputs -------------------------------------------------


@dataclass(frozen=True)
class ShallowNet:
    """:math:`\\hat y(x) = \\mathbf{w}_2^\\top f(\\mathbf{W}_1 x + \\mathbf{b}_1) + b_2`, one input, ``N`` hidden units.

    Attributes
    ----------
    W1 : ndarray, shape (N, 1)
    b1 : ndarray, shape (N,)
    w2 : ndarray, shape (N,)
    b2 : float
    activation : str
        A key of :data:`HIDDEN` (``"relu"`` or ``"sigmoid"``).
    """

    W1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float
    activation: str = "relu"

    @property
    def n_units(self) -> int:
        return len(self.b1)

    def hidden(self, x) -> np.ndarray:
        """Hidden activations :math:`f(\\mathbf{W}_1 x + \\mathbf{b}_1)` for each point, shape ``(P, N)``."""
        return dense_layer(np.asarray(x, dtype=np.float64).reshape(-1, 1), self.W1, self.b1, HIDDEN[self.activation])

    def contributions(self, x) -> np.ndarray:
        """Each unit's share of the output, :math:`w_{2,k}\\,h_k(x)`, shape ``(P, N)``; they sum to :math:`\\hat y - b_2`."""
        return self.hidden(x) * self.w2

    def __call__(self, x) -> np.ndarray:
        """The output :math:`\\hat y(x)`, shape ``(P,)``."""
        return self.hidden(x) @ self.w2 + self.b2


def knots(a: float, b: float, n_units: int) -> np.ndarray:
    """The :math:`N+1` evenly spaced knots :math:`a = x_0 < \\dots < x_N = b` of an :math:`N`-unit construction."""
    return np.linspace(a, b, n_units + 1)


def relu_knot_weights(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Output weights of the ReLU network that linearly interpolates the points ``(xs, ys)``.

    Parameters
    ----------
    xs : ndarray, shape (K + 1,)
        Increasing knots :math:`x_0 < x_1 < \\dots < x_K`.
    ys : ndarray, shape (K + 1,)
        Values :math:`y_k` at the knots.

    Returns
    -------
    c : ndarray, shape (K,)
        Weight of the hinge :math:`\\mathrm{ReLU}(x - x_k)` for :math:`k = 0, \\dots, K-1`.

    Notes
    -----
    On :math:`[x_0, x_K]`,
    :math:`g(x) = y_0 + \\sum_{k=0}^{K-1} c_k\\,\\mathrm{ReLU}(x - x_k)` is piecewise linear with
    a kink at each knot. Its slope on segment :math:`j` is :math:`c_0 + \\dots + c_j`, which
    must equal :math:`s_j = (y_{j+1} - y_j)/(x_{j+1} - x_j)`. Hence
    :math:`c_0 = s_0` and :math:`c_k = s_k - s_{k-1}`: each hinge *changes* the slope.
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    slopes = np.diff(ys) / np.diff(xs)
    return np.diff(slopes, prepend=0.0)


def relu_interpolant(f: Callable, a: float, b: float, n_units: int) -> ShallowNet:
    """The :math:`N`-unit ReLU network equal to the linear interpolation of ``f`` at :math:`N+1` knots.

    Parameters
    ----------
    f : callable, ndarray -> ndarray
        The target, element-wise.
    a, b : float
        The interval.
    n_units : int
        :math:`N \\ge 1` hidden units.

    Returns
    -------
    ShallowNet
        With :math:`\\mathbf{W}_1 = \\mathbf{1}`, :math:`b_{1,k} = -x_k`, :math:`\\mathbf{w}_2 = \\mathbf{c}`
        from :func:`relu_knot_weights` and :math:`b_2 = f(x_0)`.

    Notes
    -----
    :math:`\\hat y(x_k) = f(x_k)` at every knot, and between knots :math:`\\hat y` is the
    chord. For :math:`f` with bounded second derivative the error is at most
    :math:`h^2\\max|f''|/8` with :math:`h = (b-a)/N`.
    """
    xs = knots(a, b, n_units)
    ys = np.asarray(f(xs), dtype=np.float64)
    return ShallowNet(np.ones((n_units, 1)), -xs[:-1], relu_knot_weights(xs, ys), float(ys[0]), "relu")


def sigmoid_staircase(f: Callable, a: float, b: float, n_units: int,
                      sharpness: float = SIGMOID_SHARPNESS) -> ShallowNet:
    """:math:`N` steep sigmoids whose sum is a staircase following ``f``.

    Parameters
    ----------
    f : callable
    a, b : float
    n_units : int
    sharpness : float
        Slope of each step relative to the knot spacing :math:`h`; larger is closer to a
        true step.

    Returns
    -------
    ShallowNet
        Unit :math:`k` is a step of height :math:`f(x_{k+1}) - f(x_k)` centred at the
        midpoint :math:`m_k = (x_k + x_{k+1})/2`.

    Notes
    -----
    .. math::  \\hat y(x) = f(x_0) + \\sum_{k=0}^{N-1} \\bigl(f(x_{k+1}) - f(x_k)\\bigr)\\,
               \\sigma\\bigl(s\\,(x - m_k)/h\\bigr)

    As :math:`s\\to\\infty` each sigmoid is a unit step, so :math:`\\hat y` equals
    :math:`f(x_k)` on the cell around knot :math:`x_k`; the error is at most the largest
    jump, :math:`O(h)` for Lipschitz :math:`f`.
    """
    xs = knots(a, b, n_units)
    ys = np.asarray(f(xs), dtype=np.float64)
    h = (b - a) / n_units
    slope = sharpness / h
    mids = 0.5 * (xs[:-1] + xs[1:])
    return ShallowNet(np.full((n_units, 1), slope), -slope * mids, np.diff(ys), float(ys[0]), "sigmoid")


def fit_least_squares(f: Callable, a: float, b: float, n_units: int, activation: str = "relu",
                      seed: int | None = None, n_train: int = 400) -> ShallowNet:
    """Fixed hidden units, output layer fitted by least squares to ``f`` on a grid.

    Parameters
    ----------
    f : callable
    a, b : float
    n_units : int
    activation : {"relu", "sigmoid"}
    seed : int or None
        ``None``: hidden units as in the constructions (hinges at the knots, steps at the
        midpoints). An int: random hidden units (random sign and breakpoint for ReLU,
        random slope and centre for sigmoid), as in random-feature models.
    n_train : int
        Evenly spaced training points on :math:`[a, b]`.

    Returns
    -------
    ShallowNet

    Notes
    -----
    With the hidden layer fixed, :math:`\\hat y = \\mathbf{H}\\mathbf{w}_2 + b_2` is linear in
    the output weights, so the best ones in the squared error solve the least-squares
    problem :math:`\\min_{\\boldsymbol\\theta} \\lVert \\mathbf{A}\\boldsymbol\\theta - \\mathbf{y}\\rVert_2^2`
    with :math:`\\mathbf{A} = [\\mathbf{H}\\;\\mathbf{1}]`, :math:`\\boldsymbol\\theta = [\\mathbf{w}_2; b_2]`.
    Solved by the normal equations
    :math:`(\\mathbf{A}^\\top\\mathbf{A} + \\lambda\\mathbf{I})\\boldsymbol\\theta = \\mathbf{A}^\\top\\mathbf{y}`
    with a tiny ridge :math:`\\lambda` (``RIDGE`` times the mean diagonal of
    :math:`\\mathbf{A}^\\top\\mathbf{A}`).
    """
    h = (b - a) / n_units
    if seed is None:
        base = relu_interpolant(f, a, b, n_units) if activation == "relu" else sigmoid_staircase(f, a, b, n_units)
        W1, b1 = base.W1, base.b1
    else:
        rng = np.random.default_rng(seed)
        centres = rng.uniform(a, b, n_units)
        if activation == "relu":
            W1 = rng.choice([-1.0, 1.0], (n_units, 1))
        else:
            W1 = rng.choice([-1.0, 1.0], (n_units, 1)) * rng.uniform(0.5, 2.0, (n_units, 1)) * SIGMOID_SHARPNESS / h
        b1 = -W1[:, 0] * centres
    x = np.linspace(a, b, n_train)
    H = dense_layer(x[:, None], W1, b1, HIDDEN[activation])
    A = np.hstack([H, np.ones((n_train, 1))])
    # Normal equations with a tiny ridge: two random units can nearly coincide, which makes A
    # rank-deficient; the ridge picks the smallest such solution, and a (N+1)x(N+1) solve is far
    # cheaper than an SVD-based lstsq on a busy machine (it runs on every change of the widget).
    gram = A.T @ A
    ridge = RIDGE * np.trace(gram) / len(gram)
    coef = np.linalg.solve(gram + ridge * np.eye(len(gram)), A.T @ np.asarray(f(x), dtype=np.float64))
    return ShallowNet(W1, b1, coef[:-1], float(coef[-1]), activation)


METHODS: dict[str, Callable[[Callable, float, float, int], ShallowNet]] = {
    "ReLU: interpolate the knots": relu_interpolant,
    "sigmoid: staircase": sigmoid_staircase,
    "ReLU: least squares, random units": lambda f, a, b, n: fit_least_squares(f, a, b, n, "relu", seed=0),
}
"""Ways to build an N-unit approximation, for the widget and the notebook."""


# -- 3. how good is it ----------------------------------------------------------------------------


class Errors(NamedTuple):
    """Approximation error on a fine grid: the largest and the root-mean-square."""

    max: float
    rms: float


def approximation_error(model: Callable, f: Callable, a: float, b: float, num: int = 2001) -> Errors:
    """Max and RMS error of ``model`` against ``f`` on ``num`` evenly spaced points of ``[a, b]``.

    Notes
    -----
    :math:`\\max_i |\\hat y(x_i) - f(x_i)|` (the sup-norm of the theorem) and
    :math:`\\sqrt{\\tfrac1P\\sum_i (\\hat y(x_i) - f(x_i))^2}`.
    """
    x = np.linspace(a, b, num)
    err = np.asarray(model(x), dtype=np.float64) - np.asarray(f(x), dtype=np.float64)
    return Errors(float(np.max(np.abs(err))), float(np.sqrt(np.mean(err**2))))


def error_vs_units(f: Callable, a: float, b: float, units: Sequence[int],
                   method: Callable[[Callable, float, float, int], ShallowNet] = relu_interpolant) -> np.ndarray:
    """Errors of ``method`` with each number of hidden units.

    Returns
    -------
    ndarray, shape (len(units), 2)
        Columns: max error, RMS error.
    """
    return np.array([approximation_error(method(f, a, b, int(n)), f, a, b) for n in units])


def convergence_rate(units: Sequence[int], errors: Sequence[float]) -> float:
    """The exponent :math:`p` in :math:`\\text{error} \\approx C N^{-p}`, by a least-squares line in log-log.

    Notes
    -----
    :math:`\\log \\text{error} = \\log C - p \\log N`; returns :math:`p` (2 for ReLU
    interpolation of a smooth function, 1 for a staircase).
    """
    slope = np.polyfit(np.log(np.asarray(units, dtype=np.float64)), np.log(np.asarray(errors)), 1)[0]
    return float(-slope)
