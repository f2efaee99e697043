"""Chapter 00: warm-up questions that teach the ``check(...)`` workflow.

Each question is small on purpose: the point is to write a function between the
solution lines, run ``check("00.name", fn)`` and read the feedback. The reference
answers are the public functions below (unit-tested in ``tests/test_checks_ch00.py``);
each check draws fresh random cases from ``t.rng`` and names the likely slips in
``mistakes``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from course_lib.grading import Tester, question


# -- reference answers ---------------------------------------------------------------------
def mean(x) -> float:
    r"""The mean of a vector.

    Parameters
    ----------
    x : ndarray, shape (N,)

    Returns
    -------
    float

    Notes
    -----
    .. math::  \bar{x} = \frac{1}{N} \sum_{i=1}^{N} x_i
    """
    x = np.asarray(x, dtype=np.float64)
    return float(x.sum() / x.size)


def dot(x, y) -> float:
    r"""The inner product of two vectors.

    Parameters
    ----------
    x, y : ndarray, shape (n,)

    Returns
    -------
    float

    Notes
    -----
    .. math::  \mathbf{x}^\top \mathbf{y} = \sum_{i=1}^{n} x_i y_i
    """
    return float(np.sum(np.asarray(x, dtype=np.float64) * np.asarray(y, dtype=np.float64)))


def central_difference(f: Callable[[float], float], x: float, h: float = 1e-5) -> float:
    r"""The central-difference estimate of the derivative of a scalar function.

    Parameters
    ----------
    f : callable, float -> float
    x : float
        The point.
    h : float
        The step.

    Returns
    -------
    float

    Notes
    -----
    .. math::  f'(x) \approx \frac{f(x + h) - f(x - h)}{2h},

    with error :math:`f'''(x) h^2 / 6 + O(h^4)`; it is exact for polynomials of degree at
    most 2. :func:`course_lib.gradcheck.numerical_gradient` applies the same formula to
    every component of a vector.
    """
    return float((f(x + h) - f(x - h)) / (2 * h))


def normalize(x) -> np.ndarray:
    r"""The unit vector in the direction of ``x``.

    Parameters
    ----------
    x : ndarray, shape (n,)
        Not the zero vector.

    Returns
    -------
    ndarray, shape (n,), float64

    Notes
    -----
    .. math::  \hat{\mathbf{x}} = \frac{\mathbf{x}}{\lVert \mathbf{x} \rVert_2},
        \qquad \lVert \mathbf{x} \rVert_2 = \sqrt{\mathbf{x}^\top \mathbf{x}}
    """
    x = np.asarray(x, dtype=np.float64)
    return x / np.sqrt(np.sum(x * x))


# -- helpers -------------------------------------------------------------------------------
_FLOOR_HINT = "Floor division `//` rounds down: use `/` so the result keeps its fractional part."
_SUM_HINT = "You returned the sum: the mean also divides by the number of entries, a missing 1/N."
_CENTRAL = "the central difference steps both ways: (f(x+h) - f(x-h)) / (2h)."
_SKIPPED = ("Your loop left out the {} entry: `for i in range({})` visits only N - 1 of them; `range(len(x))` "
            "(or no loop: np.sum) visits all N.")


def _skipped_entry(total) -> dict:
    """The off-by-one loops of a sum: ``total(sl)`` is the sum over the entries ``sl`` keeps."""
    return {_SKIPPED.format("FIRST", "1, N"): total(slice(1, None)),
            _SKIPPED.format("LAST", "N - 1"): total(slice(None, -1))}


class _Function:
    """A scalar function that prints as code, so a failing case can be pasted and rerun."""

    def __init__(self, code: str, fn: Callable):
        self.code, self._fn = code, fn

    def __call__(self, x):
        return self._fn(x)

    def __repr__(self) -> str:
        return self.code


def _vector(t: Tester, n: int) -> np.ndarray:
    """Short, readable random entries: one decimal, non-zero, of distinct sizes, random signs."""
    sizes = t.rng.choice(np.arange(5, 91), size=n, replace=False) / 10
    return sizes * t.rng.choice([-1.0, 1.0], size=n)


def _unambiguous(make: Callable[[], tuple], rtol: float, atol: float, attempts: int = 100) -> tuple:
    """A case ``(inputs, expected, mistakes)`` from ``make()`` whose expected answer and likely
    mistakes all differ (beyond ten times the check's tolerance), so that a hint names the slip
    the learner really made. Random draws rarely collide; when they do, draw again."""
    for _ in range(attempts):
        inputs, expected, mistakes = make()
        values = [np.asarray(v, dtype=np.float64) for v in [expected, *mistakes.values()]]
        if not any(a.shape == b.shape and np.allclose(a, b, rtol=10 * rtol, atol=10 * atol)
                   for i, a in enumerate(values) for b in values[:i]):
            break
    return inputs, expected, mistakes


# -- questions -----------------------------------------------------------------------------
def _mean_case(t: Tester, n: int, integers: bool = False):
    x = t.rng.integers(-20, 21, size=n) if integers else _vector(t, n)
    if n == 1:  # the sum IS the mean: no slip can be told apart
        return {"x": x}, mean(x), {}
    return {"x": x}, mean(x), {
        _SUM_HINT: x.sum(),
        _FLOOR_HINT: x.sum() // n,
        "You divided by N - 1; the mean divides the sum by N, the number of entries.": x.sum() / (n - 1),
        **_skipped_entry(lambda sl: x[sl].sum() / n),
    }


@question("00.mean", title="Mean of a vector")
def _check_mean(t: Tester):
    # Integer data: the mean of whole numbers need not be a whole number. N = 1 is the edge case.
    for n, integers in [(4, False), (int(t.rng.integers(5, 12)), False), (4, True), (1, False)]:
        case, expected, mistakes = _unambiguous(lambda: _mean_case(t, n, integers), rtol=1e-6, atol=1e-8)
        t.expect_close(t.call(case["x"]), expected, case=case, mistakes=mistakes)


def _dot_case(t: Tester, n: int):
    x, y = _vector(t, n), _vector(t, n)
    if n == 1:
        return {"x": x, "y": y}, dot(x, y), {}
    return {"x": x, "y": y}, dot(x, y), {
        "You multiplied the sums; the inner product adds up the products x_i y_i instead.": x.sum() * y.sum(),
        "You averaged the products; the inner product adds them up without dividing by n.": np.mean(x * y),
        **_skipped_entry(lambda sl: np.sum(x[sl] * y[sl])),
    }


@question("00.dot", title="Inner product of two vectors")
def _check_dot(t: Tester):
    hint_sum = ("The element-wise product x ⊙ y is only half of the inner product: add its entries up "
                "(a sum over i of x_i y_i), so that the answer is one number.")
    for n in [3, int(t.rng.integers(4, 10)), 1]:
        case, expected, mistakes = _unambiguous(lambda: _dot_case(t, n), rtol=1e-6, atol=1e-8)
        got = t.call(case["x"], case["y"])
        # The usual slips return n or n x n numbers; name them before the generic shape message.
        if np.shape(got) == (n,) and n > 1:
            t.fail(f"Your function returned {n} numbers (shape ({n},)), but an inner product is a single "
                   "number.", hint=hint_sum, case=case)
        if np.shape(got) == (n, n) and n > 1:
            t.fail(f"Your function returned a {n}x{n} matrix, but an inner product is a single number.",
                   hint="That is the outer product x y^T (`np.outer`); the inner product x^T y multiplies "
                        "matching entries and adds them up.", case=case)
        t.expect_close(got, expected, case=case, mistakes=mistakes)
        # Property: x^T y = y^T x, so swapping the arguments must not change the answer.
        swapped = t.call(case["y"], case["x"])
        t.expect_close(swapped, expected, case={"x": case["y"], "y": case["x"]}, what="With the arguments swapped")


def _derivative_case(t: Tester, kind: str):
    """``({f, x, h}, expected, mistakes)`` where ``expected`` is the EXACT central difference with
    step ``h``, derived from the analytic derivative ``d`` = f'(x)."""
    if kind == "quadratic":
        # Its central difference equals p'(x) for any h: the h^2 term vanishes.
        a, b = np.round(t.rng.uniform(-3, 3, size=2), 1)
        c = float(np.round(t.rng.choice([-1, 1]) * t.rng.uniform(0.5, 2.0), 1))
        f = _Function(f"lambda x: {a:g} + {b:g}*x + {c:g}*x**2", lambda x: a + b * x + c * x ** 2)
        x, h = float(np.round(t.rng.uniform(-2, 2), 2)), float(np.round(t.rng.uniform(0.1, 0.5), 2))
        d = expected = b + 2 * c * x
    elif kind == "sin":
        # (sin(w(x+h)) - sin(w(x-h))) / 2h = w cos(w x) sin(w h) / (w h), an identity.
        w = float(np.round(t.rng.uniform(0.5, 2.0), 2))
        f = _Function(f"lambda x: np.sin({w:g}*x)", lambda x: np.sin(w * x))
        x, h = float(np.round(t.rng.uniform(-3, 3), 2)), float(np.round(t.rng.uniform(0.2, 0.6), 2))
        d = w * np.cos(w * x)
        expected = d * np.sin(w * h) / (w * h)
    else:
        # exp with a small step: e^x sinh(h) / h, within about h^2/6 of the derivative e^x.
        f, x, h = _Function("np.exp", np.exp), float(np.round(t.rng.uniform(-1, 1), 2)), 1e-4
        d = np.exp(x)
        expected = d * np.sinh(h) / h
    fx, fp, fm = f(x), f(x + h), f(x - h)
    mistakes = {
        f"That is the forward difference (f(x+h) - f(x))/h; {_CENTRAL}": (fp - fx) / h,
        f"That is the backward difference (f(x) - f(x-h))/h; {_CENTRAL}": (fx - fm) / h,
        "Your answer is twice the central difference: the two points are 2h apart, so divide by 2h "
        "(a missing factor 2 in the denominator).": (fp - fm) / h,
        "Operator precedence: `/ 2 * h` divides by 2 and then MULTIPLIES by h; write `/ (2 * h)`.": (fp - fm) / 2 * h,
    }
    if kind == "sin":
        mistakes["This is the exact derivative, not the central difference with the step h you were given: "
                 "use the argument h (the check passes a large h on purpose)."] = d
    return {"f": f, "x": x, "h": h}, expected, mistakes


@question("00.numerical_derivative", title="Central-difference derivative",
          examples={"numerical_derivative(np.sin, 0.0, 1e-5)": lambda: central_difference(np.sin, 0.0, 1e-5)})
def _check_numerical_derivative(t: Tester):
    for kind in ["quadratic", "sin", "exp"]:
        case, expected, mistakes = _unambiguous(lambda: _derivative_case(t, kind), rtol=1e-7, atol=1e-8)
        got = t.call(case["f"], case["x"], case["h"])
        t.expect_close(got, expected, case=case, rtol=1e-7, atol=1e-8, mistakes=mistakes)


def _normalize_case(t: Tester, n: int, integers: bool = False):
    x = t.rng.integers(1, 10, size=n) * t.rng.choice([-1, 1], size=n) if integers else _vector(t, n)
    length = np.sqrt(x @ x)
    if n == 1:  # every way of dividing by a length gives the right answer here
        return {"x": x}, normalize(x), {}
    return {"x": x}, normalize(x), {
        "You divided by the squared norm x^T x; divide by its square root, ||x||_2 = sqrt(x^T x).": x / (x @ x),
        "You divided by the sum of absolute values (the L1 norm); unit length uses the Euclidean "
        "norm sqrt(sum of x_i^2).": x / np.abs(x).sum(),
        "You divided by the largest absolute entry (the max norm); unit length uses the Euclidean "
        "norm sqrt(sum of x_i^2).": x / np.abs(x).max(),
        _FLOOR_HINT: x // length,
    }


@question("00.normalize", title="Scale a vector to unit length")
def _check_normalize(t: Tester):
    # Integer input too: the unit vector still has fractional entries.
    for n, integers in [(2, False), (int(t.rng.integers(3, 9)), False), (3, True), (1, False)]:
        case, expected, mistakes = _unambiguous(lambda: _normalize_case(t, n, integers), rtol=1e-6, atol=1e-8)
        x = case["x"]
        got = t.call(x)
        if isinstance(got, (int, float, np.number)) and np.isclose(got, np.sqrt(x @ x)):
            t.fail("Your function returned the length ||x||_2 instead of the unit vector.",
                   hint="Divide the vector by its length: x / ||x||_2.", case=case)
        t.expect_close(got, expected, case=case, mistakes=mistakes)
