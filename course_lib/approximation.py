r"""Chapter 04: why a network needs a non-linearity, and what one hidden layer can represent.

Two facts, each shown by code:

1. **Without a non-linearity depth buys nothing.** A stack of linear layers
   :math:`\mathbf{x}\mapsto\mathbf{W}_k(\cdots(\mathbf{W}_1\mathbf{x}+\mathbf{b}_1)\cdots)+\mathbf{b}_k`
   is one linear layer; :func:`collapse_linear_layers` computes it.
2. **With one, a single hidden layer can approximate any continuous function** on an
   interval (the universal approximation theorem: Cybenko 1989, Hornik 1991; Leshno et al.
   1993 for any continuous non-polynomial activation). Made concrete in 1-D by explicit
   constructions with :math:`n_h` hidden units for a target :math:`g` on
   :math:`[x_0, x_{n_h}]` (``[a, b]`` in the code):

   - :func:`relu_interpolant`: :math:`n_h` ReLUs reproduce the piecewise-linear
     interpolation of :math:`g` at :math:`n_h+1` evenly spaced knots, exactly. Since
     :math:`g` is uniformly continuous the error goes to 0 as :math:`n_h` grows (like
     :math:`n_h^{-2}` for smooth :math:`g`).
   - :func:`sigmoid_staircase`: :math:`n_h` steep sigmoids add up to a staircase that
     follows :math:`g` (Cybenko's argument); error like :math:`n_h^{-1}`.
   - :func:`fit_least_squares`: fixed hidden units (evenly spaced or random) and an
     output layer fitted by least squares: training only the last layer already works.

Networks here take a 1-D input array ``x`` of shape ``(P,)`` (``P`` points) and are
:class:`ShallowNet` objects, :math:`\hat g(x) = \mathbf{w}_2^\top f(\mathbf{W}_1 x + \mathbf{b}_1) + b_2`
with the activation :math:`f` (the letter :math:`f` is the activation throughout; the target is :math:`g`).
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
    r"""The single linear layer equal to a stack of linear layers (no activation between).

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
    :math:`\mathbf{W}_2(\mathbf{W}_1\mathbf{x}+\mathbf{b}_1)+\mathbf{b}_2
    = (\mathbf{W}_2\mathbf{W}_1)\mathbf{x} + (\mathbf{W}_2\mathbf{b}_1+\mathbf{b}_2)`:
    the later matrix is on the left, and the earlier bias passes through it. By induction
    any depth collapses to :math:`\mathbf{W} = \mathbf{W}_k\cdots\mathbf{W}_1`.
    """
    (W, b), *rest = [(np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)) for W, b in layers]
    for W_next, b_next in rest:
        W, b = W_next @ W, W_next @ b + b_next
    return W, b


def apply_layers(x: np.ndarray, layers: Sequence[tuple[np.ndarray, np.ndarray]],
                 f: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    r"""Run ``x`` through the layers, with activation ``f`` between them (none after the last).

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
    :math:`\mathbf{a}_\ell = f(\mathbf{W}_\ell\mathbf{a}_{\ell-1} + \mathbf{b}_\ell)` for the hidden
    layers (:math:`\mathbf{a}_0 = \mathbf{x}`) and :math:`\mathbf{W}_k\mathbf{a}_{k-1} + \mathbf{b}_k` at
    the output, each computed by :func:`course_lib.linalg.dense_layer`.
    """
    a = np.asarray(x, dtype=np.float64)
    for i, (W, b) in enumerate(layers):
        last = i == len(layers) - 1
        a = dense_layer(a, W, b) if (last or f is None) else dense_layer(a, W, b, f)
    return a


# -- 2. a one-hidden-layer network on 1-D inputs -------------------------------------------------


@dataclass(frozen=True)
class ShallowNet:
    r"""One input, :math:`n_h` hidden units: :math:`\hat g(x) = \mathbf{w}_2^\top f(\mathbf{W}_1 x + \mathbf{b}_1) + b_2`.

    Attributes
    ----------
    W1 : ndarray, shape (n_h, 1)
    b1 : ndarray, shape (n_h,)
    w2 : ndarray, shape (n_h,)
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
        r"""Hidden activations :math:`f(\mathbf{W}_1 x + \mathbf{b}_1)` for each point, shape ``(P, n_h)``."""
        return dense_layer(np.asarray(x, dtype=np.float64).reshape(-1, 1), self.W1, self.b1, HIDDEN[self.activation])

    def contributions(self, x) -> np.ndarray:
        r"""Each unit's share of the output, :math:`w_{2,k}\,f(w_{1,k}x + b_{1,k})`, shape ``(P, n_h)``.

        They sum to :math:`\hat g(x) - b_2`.
        """
        return self.hidden(x) * self.w2

    def __call__(self, x) -> np.ndarray:
        r"""The output :math:`\hat g(x)`, shape ``(P,)``."""
        return self.hidden(x) @ self.w2 + self.b2


def knots(a: float, b: float, n_units: int) -> np.ndarray:
    r"""The :math:`n_h+1` evenly spaced knots :math:`a = x_0 < \dots < x_{n_h} = b` of an :math:`n_h`-unit
    construction."""
    return np.linspace(a, b, n_units + 1)


def relu_knot_weights(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    r"""Output weights of the ReLU network that linearly interpolates the points ``(xs, ys)``.

    Parameters
    ----------
    xs : ndarray, shape (K + 1,)
        Increasing knots :math:`x_0 < x_1 < \dots < x_K`.
    ys : ndarray, shape (K + 1,)
        Values :math:`y_k` at the knots.

    Returns
    -------
    c : ndarray, shape (K,)
        Weight of the hinge :math:`\mathrm{ReLU}(x - x_k)` for :math:`k = 0, \dots, K-1`.

    Notes
    -----
    On :math:`[x_0, x_K]`,
    :math:`g(x) = y_0 + \sum_{k=0}^{K-1} c_k\,\mathrm{ReLU}(x - x_k)` is piecewise linear with
    a kink at each knot. Its slope on segment :math:`j` is :math:`c_0 + \dots + c_j`, which
    must equal :math:`s_j = (y_{j+1} - y_j)/(x_{j+1} - x_j)`. Hence
    :math:`c_0 = s_0` and :math:`c_k = s_k - s_{k-1}`: each hinge *changes* the slope.
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    slopes = np.diff(ys) / np.diff(xs)
    return np.diff(slopes, prepend=0.0)


def relu_interpolant(g: Callable, a: float, b: float, n_units: int) -> ShallowNet:
    r"""The :math:`n_h`-unit ReLU network equal to the linear interpolation of ``g`` at :math:`n_h+1` knots.

    Parameters
    ----------
    g : callable, ndarray -> ndarray
        The target :math:`g`, element-wise.
    a, b : float
        The interval :math:`[x_0, x_{n_h}]`.
    n_units : int
        :math:`n_h \ge 1` hidden units.

    Returns
    -------
    ShallowNet
        With :math:`\mathbf{W}_1 = \mathbf{1}`, :math:`b_{1,k} = -x_k`, :math:`\mathbf{w}_2 = \mathbf{c}`
        from :func:`relu_knot_weights` and :math:`b_2 = g(x_0)`.

    Notes
    -----
    :math:`\hat g(x_k) = g(x_k)` at every knot, and between knots :math:`\hat g` is the
    chord. For :math:`g` with bounded second derivative the error is at most
    :math:`\Delta^2\max|g''|/8` with the knot spacing :math:`\Delta = (x_{n_h} - x_0)/n_h`.
    """
    xs = knots(a, b, n_units)
    ys = np.asarray(g(xs), dtype=np.float64)
    return ShallowNet(np.ones((n_units, 1)), -xs[:-1], relu_knot_weights(xs, ys), float(ys[0]), "relu")


def sigmoid_staircase(g: Callable, a: float, b: float, n_units: int,
                      sharpness: float = SIGMOID_SHARPNESS) -> ShallowNet:
    r""":math:`n_h` steep sigmoids whose sum is a staircase following the target ``g``.

    Parameters
    ----------
    g : callable
        The target :math:`g`, element-wise.
    a, b : float
        The interval :math:`[x_0, x_{n_h}]`.
    n_units : int
        :math:`n_h \ge 1` hidden units.
    sharpness : float
        Slope :math:`c` of each step relative to the knot spacing :math:`\Delta`; larger is
        closer to a true step.

    Returns
    -------
    ShallowNet
        Unit :math:`k` is a step of height :math:`g(x_{k+1}) - g(x_k)` centred at the
        midpoint :math:`m_k = (x_k + x_{k+1})/2`.

    Notes
    -----
    .. math::  \hat g(x) = g(x_0) + \sum_{k=0}^{n_h-1} \bigl(g(x_{k+1}) - g(x_k)\bigr)\,
               \sigma\bigl(c\,(x - m_k)/\Delta\bigr),\qquad \Delta = (x_{n_h} - x_0)/n_h .

    As :math:`c\to\infty` each sigmoid is a unit step, so :math:`\hat g` equals
    :math:`g(x_k)` on the cell around knot :math:`x_k`; the error is at most the largest
    jump, :math:`O(\Delta)` for Lipschitz :math:`g`.
    """
    xs = knots(a, b, n_units)
    ys = np.asarray(g(xs), dtype=np.float64)
    slope = sharpness / ((b - a) / n_units)  # c / Delta
    mids = 0.5 * (xs[:-1] + xs[1:])
    return ShallowNet(np.full((n_units, 1), slope), -slope * mids, np.diff(ys), float(ys[0]), "sigmoid")


def fit_least_squares(g: Callable, a: float, b: float, n_units: int, activation: str = "relu",
                      seed: int | None = None, n_train: int = 400) -> ShallowNet:
    r"""Fixed hidden units, output layer fitted by least squares to the target ``g`` on a grid.

    Parameters
    ----------
    g : callable
        The target :math:`g`, element-wise.
    a, b : float
        The interval :math:`[x_0, x_{n_h}]`.
    n_units : int
        :math:`n_h` hidden units.
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
    With the hidden layer fixed, :math:`\hat{\mathbf{g}} = \mathbf{A}_1\mathbf{w}_2 + b_2` (hidden
    activations :math:`\mathbf{A}_1`, shape ``(n_train, n_h)``) is linear in the output weights,
    so the best ones in the squared error solve the least-squares problem
    :math:`\min_{\boldsymbol\theta} \lVert \mathbf{A}\boldsymbol\theta - \mathbf{y}\rVert_2^2`
    with :math:`\mathbf{A} = [\mathbf{A}_1\;\mathbf{1}]`, :math:`\boldsymbol\theta = [\mathbf{w}_2; b_2]`
    and :math:`\mathbf{y} = g(\mathbf{x})`.
    Solved by the normal equations
    :math:`(\mathbf{A}^\top\mathbf{A} + \lambda\mathbf{I})\boldsymbol\theta = \mathbf{A}^\top\mathbf{y}`
    with a tiny ridge :math:`\lambda` (``RIDGE`` times the mean diagonal of
    :math:`\mathbf{A}^\top\mathbf{A}`).
    """
    spacing = (b - a) / n_units
    if seed is None:
        base = relu_interpolant(g, a, b, n_units) if activation == "relu" else sigmoid_staircase(g, a, b, n_units)
        W1, b1 = base.W1, base.b1
    else:
        rng = np.random.default_rng(seed)
        centres = rng.uniform(a, b, n_units)
        if activation == "relu":
            W1 = rng.choice([-1.0, 1.0], (n_units, 1))
        else:
            signs = rng.choice([-1.0, 1.0], (n_units, 1))  # drawn before the slopes (the same stream as ever)
            W1 = signs * rng.uniform(0.5, 2.0, (n_units, 1)) * SIGMOID_SHARPNESS / spacing
        b1 = -W1[:, 0] * centres
    x = np.linspace(a, b, n_train)
    A1 = dense_layer(x[:, None], W1, b1, HIDDEN[activation])
    A = np.hstack([A1, np.ones((n_train, 1))])
    # Normal equations with a tiny ridge: two random units can nearly coincide, which makes A
    # rank-deficient; the ridge picks the smallest such solution, and an (n_h+1)x(n_h+1) solve is far
    # cheaper than an SVD-based lstsq on a busy machine (it runs on every change of the widget).
    gram = A.T @ A
    ridge = RIDGE * np.trace(gram) / len(gram)
    coef = np.linalg.solve(gram + ridge * np.eye(len(gram)), A.T @ np.asarray(g(x), dtype=np.float64))
    return ShallowNet(W1, b1, coef[:-1], float(coef[-1]), activation)


METHODS: dict[str, Callable[[Callable, float, float, int], ShallowNet]] = {
    "ReLU: interpolate the knots": relu_interpolant,
    "sigmoid: staircase": sigmoid_staircase,
    "ReLU: least squares, random units": lambda g, a, b, n: fit_least_squares(g, a, b, n, "relu", seed=0),
}
"""Ways to build an :math:`n_h`-unit approximation of a target :math:`g`, for the widget and the notebook."""


# -- 3. how good is it ----------------------------------------------------------------------------


class Errors(NamedTuple):
    """Approximation error on a fine grid: the largest and the root-mean-square."""

    max: float
    rms: float


def approximation_error(model: Callable, g: Callable, a: float, b: float, num: int = 2001) -> Errors:
    r"""Max and RMS error of the network ``model`` against the target ``g`` on ``num`` evenly spaced points
    of ``[a, b]``.

    Notes
    -----
    With the ``num`` = :math:`P` points :math:`x_1, \dots, x_P`:
    :math:`\max_i |\hat g(x_i) - g(x_i)|` (the sup-norm of the theorem, on the grid) and
    :math:`\sqrt{\tfrac1P\sum_i (\hat g(x_i) - g(x_i))^2}`.
    """
    x = np.linspace(a, b, num)
    err = np.asarray(model(x), dtype=np.float64) - np.asarray(g(x), dtype=np.float64)
    return Errors(float(np.max(np.abs(err))), float(np.sqrt(np.mean(err**2))))


def error_vs_units(g: Callable, a: float, b: float, units: Sequence[int],
                   method: Callable[[Callable, float, float, int], ShallowNet] = relu_interpolant) -> np.ndarray:
    """Errors (:func:`approximation_error`) of ``method`` on the target ``g``, for each number of hidden units.

    Returns
    -------
    ndarray, shape (len(units), 2)
        Columns: max error, RMS error.
    """
    return np.array([approximation_error(method(g, a, b, int(n)), g, a, b) for n in units])


def convergence_rate(units: Sequence[int], errors: Sequence[float]) -> float:
    r"""The exponent :math:`p` in :math:`\text{error} \approx C n_h^{-p}`, by a least-squares line in log-log.

    Notes
    -----
    :math:`\log \text{error} = \log C - p \log n_h`; returns :math:`p` (2 for ReLU
    interpolation of a smooth function, 1 for a staircase).
    """
    slope = np.polyfit(np.log(np.asarray(units, dtype=np.float64)), np.log(np.asarray(errors)), 1)[0]
    return float(-slope)
