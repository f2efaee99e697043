r"""Chapter 02: the graded questions on derivatives, finite differences, the chain rule and Taylor.

Reference answers are the functions of :mod:`course_lib.calculus`. Every check draws fresh
random functions and points from ``t.rng`` and compares with *analytic* answers:

- a difference quotient :math:`(f(x+h) - f(x))/h` of the random function
  :math:`f(x) = A e^{ax} + B\sin(\omega x + \varphi) + c_1x + c_2x^2 + c_3x^3` has a closed form
  without cancellation (``expm1``, a product of sines, a polynomial in ``h``), so the exact value
  of the learner's quotient is known to ~1e-16 and the tolerance only has to absorb round-off;
- vector gradients and Jacobians by central differences are compared with the analytic
  derivative, with a step and tolerances chosen so that central differences (error
  :math:`O(h^2)`) pass by a wide margin and forward differences (error :math:`O(h)`) fail.

``mistakes`` lists the likely slips of each question with the hint aimed at each.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import calculus as calc
from course_lib.grading import Tester, question
from course_lib.grading.tester import CheckFailed

# -- random test functions -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Smooth1D:
    r""":math:`f(x) = A e^{ax} + B\sin(\omega x + \varphi) + c_1 x + c_2 x^2 + c_3 x^3`."""

    A: float
    a: float
    B: float
    w: float
    phi: float
    c1: float
    c2: float
    c3: float

    def f(self, x):
        return (self.A * np.exp(self.a * x) + self.B * np.sin(self.w * x + self.phi)
                + self.c1 * x + self.c2 * x ** 2 + self.c3 * x ** 3)

    def derivative(self, x, k: int = 1):
        """The k-th derivative, k = 1, 2, 3 (the sine's derivatives cycle by a quarter turn)."""
        poly = [self.c1 + 2 * self.c2 * x + 3 * self.c3 * x ** 2, 2 * self.c2 + 6 * self.c3 * x, 6 * self.c3][k - 1]
        return (self.A * self.a ** k * np.exp(self.a * x)
                + self.B * self.w ** k * np.sin(self.w * x + self.phi + k * np.pi / 2) + poly)

    def forward_quotient(self, x, h):
        """Exact value of :math:`(f(x+h) - f(x))/h`, computed without cancellation."""
        return (self.A * np.exp(self.a * x) * np.expm1(self.a * h) / h
                + 2 * self.B * np.cos(self.w * x + self.phi + self.w * h / 2) * np.sin(self.w * h / 2) / h
                + self.c1 + self.c2 * (2 * x + h) + self.c3 * (3 * x * x + 3 * x * h + h * h))

    def central_quotient(self, x, h):
        """Exact :math:`(f(x+h) - f(x-h))/2h`: the mean of the forward and backward quotients."""
        return (self.forward_quotient(x, h) + self.forward_quotient(x, -h)) / 2

    def __str__(self) -> str:
        terms = [(self.A, f"exp({self.a:.3g} x)"), (self.B, f"sin({self.w:.3g} x + {self.phi:.3g})"),
                 (self.c1, "x"), (self.c2, "x^2"), (self.c3, "x^3")]
        text = " ".join(f"{'-' if c < 0 else '+'} {abs(c):.3g} {term}" for c, term in terms)
        return text[2:] if text.startswith("+") else "-" + text[2:]


def _smooth_at(t: Tester) -> tuple[_Smooth1D, float]:
    """A random function and a point where f'' and f''' are not small.

    Then a forward difference differs from a central one (by about f'' h / 2), and a
    central difference from one with half the step (by about f''' h^2 / 8).
    """
    while True:
        s = _Smooth1D(A=t.rng.uniform(0.5, 2) * t.rng.choice([-1, 1]), a=t.rng.uniform(-1.5, 1.5),
                      B=t.rng.uniform(0.5, 2), w=t.rng.uniform(0.5, 3), phi=t.rng.uniform(0, 2 * np.pi),
                      c1=t.rng.uniform(-1, 1), c2=t.rng.uniform(-1, 1), c3=t.rng.uniform(-1, 1))
        x = float(t.rng.uniform(-1.5, 1.5))
        if abs(s.derivative(x, 2)) > 0.3 and abs(s.derivative(x, 3)) > 0.3:
            return s, x


def _steps(t: Tester) -> list[float]:
    return [1e-1, 1e-2, 1e-3, float(10 ** t.rng.uniform(-3, -1))]


# Quotients in float64 carry a round-off of a few eps |f| / h (|f| < 30, h >= 1e-3 here):
# 1e-9 passes every correct implementation and fails every slip listed below.
_FD_TOL = dict(rtol=1e-9, atol=1e-9)


def _quadratic_plus_sines(t: Tester, n: int):
    r""":math:`f(\mathbf{x}) = \tfrac12\mathbf{x}^\top\mathbf{A}\mathbf{x} + \mathbf{b}^\top\mathbf{x}
    + \sum_i\sin x_i` with gradient and Hessian; the Hessian's diagonal is at least 1."""
    M = t.rng.standard_normal((n, n))
    A = M @ M.T / n + 2 * np.eye(n)
    b = t.rng.standard_normal(n)

    def f(x):
        return float(0.5 * x @ A @ x + b @ x + np.sum(np.sin(x)))

    def grad(x):
        return A @ x + b + np.cos(x)

    def hess(x):
        return A - np.diag(np.sin(x))

    return f, grad, hess


# -- 1-2. one-variable differences -------------------------------------------------------------------
@question("02.forward_difference", title="Forward difference (f(x+h) - f(x)) / h")
def _check_forward_difference(t: Tester):
    for h in _steps(t):
        s, x = _smooth_at(t)
        case = {"f(x)": str(s), "x": x, "h": h, "exact f'(x)": s.derivative(x)}
        q = s.forward_quotient
        t.expect_close(t.call(s.f, x, h), q(x, h), case=case, what="Forward difference", **_FD_TOL, mistakes={
            "That is the central difference (f(x+h) - f(x-h)) / 2h; the forward difference compares f(x+h) "
            "with f(x) itself.": s.central_quotient(x, h),
            "You stepped backward, (f(x) - f(x-h)) / h; the forward difference steps to x + h.": q(x, -h),
            "Divide the difference by the step: (f(x+h) - f(x)) / h.": q(x, h) * h,
            "Divide by h, do not multiply: (f(x+h) - f(x)) / h.": q(x, h) * h * h,
            "Order of the subtraction: f(x+h) - f(x), the later value first.": -q(x, h),
            "The forward difference divides by h, not 2h (only the central difference spans 2h).": q(x, h) / 2,
        })


@question("02.central_difference", title="Central difference (f(x+h) - f(x-h)) / 2h")
def _check_central_difference(t: Tester):
    for h in _steps(t):
        s, x = _smooth_at(t)
        case = {"f(x)": str(s), "x": x, "h": h, "exact f'(x)": s.derivative(x)}
        c = s.central_quotient(x, h)
        t.expect_close(t.call(s.f, x, h), c, case=case, what="Central difference", **_FD_TOL, mistakes={
            "The points x + h and x - h are 2h apart: divide by 2h, (f(x+h) - f(x-h)) / (2 * h).": 2 * c,
            "Operator precedence: `/ 2 * h` divides by 2 and then MULTIPLIES by h. Write `/ (2 * h)` with "
            "parentheses.": c * h * h,
            "That is the forward difference (f(x+h) - f(x)) / h; the central one uses the two points on either "
            "side, f(x+h) and f(x-h).": s.forward_quotient(x, h),
            "That is the backward difference (f(x) - f(x-h)) / h; the central one uses f(x+h) and f(x-h).":
                s.forward_quotient(x, -h),
            "Order of the subtraction: f(x+h) - f(x-h), the right-hand value first.": -c,
            "Step by h on each side (x + h and x - h) and divide by 2h; you stepped by h/2.":
                s.central_quotient(x, h / 2),
        })


# -- 3. partial derivatives -----------------------------------------------------------------------
def partial_derivatives(x, y) -> np.ndarray:
    r"""Gradient of :math:`f(x, y) = x^2 y + \sin(xy)`: the reference of ``02.partial_derivatives``.

    Notes
    -----
    :math:`\partial f/\partial x = 2xy + y\cos(xy)` (hold :math:`y` fixed) and
    :math:`\partial f/\partial y = x^2 + x\cos(xy)` (hold :math:`x` fixed).
    """
    return np.array([2 * x * y + y * np.cos(x * y), x * x + x * np.cos(x * y)])


@question("02.partial_derivatives", title="Partial derivatives of f(x, y) = x^2 y + sin(xy)")
def _check_partial_derivatives(t: Tester):
    points = [t.rng.uniform(-2, 2, 2) for _ in range(4)] + [np.array([0.0, t.rng.uniform(0.5, 2)])]
    for x, y in points:
        x, y = float(x), float(y)
        fx, fy = partial_derivatives(x, y)
        c = np.cos(x * y)
        case = {"x": x, "y": y}
        # The text writes the gradient as a pair: a tuple, a list or an array of two numbers.
        got = t.numbers(t.call(x, y), ("df/dx", "df/dy"), case=case)
        t.expect_close(got, np.array([fx, fy]), case=case, mistakes={
            "Chain rule inside sin(xy): d/dx sin(xy) = y cos(xy) and d/dy sin(xy) = x cos(xy).":
                np.array([2 * x * y + c, x * x + c]),
            "Return [df/dx, df/dy] in this order.": np.array([fy, fx]),
            "In d/dx (x^2 y), y is a constant factor: the derivative is 2xy, not 2x.":
                np.array([2 * x + y * c, x * x + x * c]),
            "The derivative of sin is +cos (it is the derivative of cos that is -sin).":
                np.array([2 * x * y - y * c, x * x - x * c]),
            "d/dy (x^2 y) = x^2: x is held fixed and y has exponent 1.": np.array([fx, 2 * x * y + x * c]),
        })


# -- 4-5. gradients and Jacobians by central differences --------------------------------------------
# h = 1e-4: the central-difference error (|f'''| h^2 / 6 plus eps |f| / h) stays below 1e-8,
# the forward-difference error (|f''| h / 2 with |f''| >= 1 on the diagonal) is above 5e-5.
_H_VEC = 1e-4
_VEC_TOL = dict(rtol=1e-7, atol=1e-7)


def _fd_columns(f, x, h, *, points=None, central=True):
    """Difference quotients along each coordinate (for building wrong candidates), as columns."""
    n = x.size
    cols = []
    for i in range(n):
        p = x if points is None else points[i]
        e = np.zeros(n)
        e[i] = h
        lo = f(p - e) if central else f(p)
        cols.append((np.asarray(f(p + e)) - np.asarray(lo)) / ((2 if central else 1) * h))
    return np.stack(cols, axis=-1)


def _vector_fd_mistakes(f, x, h):
    """The slips shared by the gradient and the Jacobian (one column per input coordinate)."""
    n = x.size
    ones = np.ones(n) * h
    all_at_once = (np.asarray(f(x + ones)) - np.asarray(f(x - ones))) / (2 * h)
    not_restored = [x - h * np.concatenate([np.ones(i), np.zeros(n - i)]) for i in range(n)]
    return {
        "Those are forward differences (error O(h)); use central differences, (f(x + h e_i) - f(x - h e_i)) "
        "/ 2h, whose error is O(h^2).": _fd_columns(f, x, h, central=False),
        "The two points x + h e_i and x - h e_i are 2h apart: divide by 2h.": 2 * _fd_columns(f, x, h),
        "Perturb one coordinate at a time (x + h e_i, with e_i the i-th unit vector), not all of them at "
        "once.": np.stack([all_at_once] * n, axis=-1),
        "Restore x[i] after perturbing it: your later coordinates were evaluated at a shifted point.":
            _fd_columns(f, x, h, points=not_restored),
    }


@question("02.gradient_fd", title="Gradient of f: R^n -> R by central differences")
def _check_gradient_fd(t: Tester):
    for n in [3, 1, 2, int(t.rng.integers(4, 8))]:
        f, grad, _ = _quadratic_plus_sines(t, n)
        x = t.rng.standard_normal(n)
        case = {"f": "0.5 x^T A x + b^T x + sum(sin(x))", "x": x, "h": _H_VEC}
        got = t.call(f, x, _H_VEC)
        t.expect_close(got, grad(x), case=case, what="Gradient", **_VEC_TOL,
                       mistakes=_vector_fd_mistakes(f, x, _H_VEC))


def _layer_plus_square(t: Tester, m: int, n: int):
    """f(x) = tanh(Wx + b) + (Wx)^2 with its Jacobian; every |W_ij| >= 0.5, so every second
    derivative is at least 1.2 W_ij^2 > 0.3 and forward differences are visibly off."""
    W = t.rng.uniform(0.5, 1.5, (m, n)) * t.rng.choice([-1, 1], (m, n))
    b = t.rng.standard_normal(m)

    def f(x):
        z = W @ x
        return np.tanh(z + b) + z ** 2

    def jac(x):
        z = W @ x
        return (1 - np.tanh(z + b) ** 2 + 2 * z)[:, None] * W

    return f, jac, W, b


@question("02.jacobian_fd", title="Jacobian of f: R^n -> R^m by central differences")
def _check_jacobian_fd(t: Tester):
    m, n = (int(v) for v in t.rng.integers(1, 6, 2))
    for m, n in [(3, 3), (2, 4), (4, 1), (1, 3), (m, n)]:
        f, jac, W, b = _layer_plus_square(t, m, n)
        x = t.rng.standard_normal(n) / np.sqrt(n)
        case = {"f": "tanh(W x + b) + (W x)**2", "W": W, "b": b, "x": x, "h": _H_VEC}
        got = t.call(f, x, _H_VEC)
        J = jac(x)
        if m != n and isinstance(got, np.ndarray) and got.shape == (n, m):
            t.fail(f"Shape {got.shape}, expected (m, n) = {(m, n)}: your Jacobian is transposed.",
                   hint="Rows are outputs and columns are inputs: J[i, j] = d f_i / d x_j, so column j holds "
                        "the differences for input x_j (stack them with axis=1).", case=case)
        mistakes = _vector_fd_mistakes(f, x, _H_VEC)
        if m == n:
            mistakes["Your Jacobian is transposed. Rows are outputs: J[i, j] = d f_i / d x_j, so the "
                     "differences for input x_j form COLUMN j."] = J.T
        t.expect_close(got, J, case=case, what="Jacobian", **_VEC_TOL, mistakes=mistakes)


# -- 6. directional derivative ---------------------------------------------------------------------
@question("02.directional_derivative", title="Directional derivative along v")
def _check_directional_derivative(t: Tester):
    for n in [2, 3, 1, int(t.rng.integers(4, 8))]:
        f, grad, _ = _quadratic_plus_sines(t, n)
        x = t.rng.standard_normal(n)
        v = t.rng.standard_normal(n)
        v *= t.rng.uniform(2, 5) / np.linalg.norm(v)  # never of length 1: normalizing must matter
        case = {"f": "0.5 x^T A x + b^T x + sum(sin(x))", "x": x, "v": v}
        got = t.call(grad, x, v)
        g, norm = grad(x), np.linalg.norm(v)
        if n > 1 and isinstance(got, np.ndarray) and got.shape == (n,):
            t.fail(f"Expected a number, but got a vector of shape {got.shape}.",
                   hint="The directional derivative is the dot product grad f(x) . u, a single number "
                        "(u = v / ||v||); `g * u` multiplies entry by entry and still needs the sum.",
                   case=case)
        t.expect_close(got, calc.directional_derivative(g, v), case=case, mistakes={
            "Normalize the direction first: u = v / ||v||, then grad f(x) . u. Without it the answer "
            "grows with the length of v.": g @ v,
            "Divide by ||v|| once (u = v / ||v||), not by ||v||^2.": g @ v / norm ** 2,
            "Normalize the direction v, not the gradient: grad f(x) . (v / ||v||).": g @ v / np.linalg.norm(g),
            "That is ||grad f||, the LARGEST rate of change (along the gradient itself); the question asks for "
            "the rate along v.": np.linalg.norm(g),
        })


# -- 7. the chain rule -------------------------------------------------------------------------------
def _outer(t: Tester):
    """A random outer function f and its derivative."""
    k = t.rng.uniform(0.5, 1.5)
    return [(f"sin({k:.3g} u)", lambda u: np.sin(k * u), lambda u: k * np.cos(k * u)),
            (f"exp({k:.3g} u)", lambda u: np.exp(k * u), lambda u: k * np.exp(k * u)),
            (f"tanh({k:.3g} u)", lambda u: np.tanh(k * u), lambda u: k * (1 - np.tanh(k * u) ** 2)),
            (f"{k:.3g} u^3", lambda u: k * u ** 3, lambda u: 3 * k * u ** 2)][int(t.rng.integers(4))]


def _inner(t: Tester):
    """A random inner function g and its derivative."""
    a, c = t.rng.uniform(0.5, 1.5), t.rng.uniform(-1, 1)
    shift = f"{'-' if c < 0 else '+'} {abs(c):.3g}"
    return [(f"{a:.3g} x^2 {shift}", lambda x: a * x * x + c, lambda x: 2 * a * x),
            (f"sin({a:.3g} x) {shift}", lambda x: np.sin(a * x) + c, lambda x: a * np.cos(a * x)),
            (f"exp({a:.3g} x)", lambda x: np.exp(a * x), lambda x: a * np.exp(a * x))][int(t.rng.integers(3))]


@question("02.chain_rule", title="Chain rule: derivative of f(g(x))")
def _check_chain_rule(t: Tester):
    for x in [*t.rng.uniform(-1.5, 1.5, 4), t.rng.uniform(-1.5, 1.5, 5)]:
        (fname, f, df), (gname, g, dg) = _outer(t), _inner(t)
        case = {"f(u)": fname, "g(x)": gname, "x": x}
        expected = calc.chain_rule(df, g, dg, x)
        t.expect_close(t.call(f, df, g, dg, x), expected, case=case, mistakes={
            "Evaluate f' at the inner value: (f o g)'(x) = f'(g(x)) g'(x), not f'(x) g'(x).": df(x) * dg(x),
            "Multiply by the inner derivative g'(x): (f o g)'(x) = f'(g(x)) g'(x).": df(g(x)),
            "Multiply by g'(x), the derivative of the inner function, not by g(x) itself.": df(g(x)) * g(x),
            "Use the derivative f' of the outer function, f'(g(x)) g'(x), not f itself.": f(g(x)) * dg(x),
            "The chain rule multiplies the derivatives: f'(g(x)) * g'(x), not f'(g(x)) + g'(x).":
                df(g(x)) + dg(x),
            "Compose the derivatives the other way round: f'(g(x)) g'(x), not f'(g'(x)) or g'(f(x)).":
                df(dg(x)),
        })


# -- 8. the multivariable chain rule: a layer's Jacobian -----------------------------------------------
_ROWS_HINT = ("Rows are outputs: J[i, j] = d y_i / d x_j has shape (m, n), the shape of W; scale ROW i of W "
              "by tanh'(z_i), i.e. diag(1 - y^2) @ W.")


@question("02.layer_jacobian", title="Jacobian of a layer y = tanh(W x + b) (chain rule)")
def _check_layer_jacobian(t: Tester):
    for m, n in [(3, 3), (2, 4), (4, 2), (1, 3), (3, 1), tuple(int(v) for v in t.rng.integers(1, 6, 2))]:
        W, b, x = t.rng.standard_normal((m, n)), t.rng.standard_normal(m) * 0.5, t.rng.standard_normal(n)
        case = {"W": W, "b": b, "x": x}
        try:
            got = t.call(W, b, x)
        except CheckFailed as exc:  # a broadcasting error in the learner's code gets the layout hint
            if "ValueError" in exc.message and ("shape" in exc.message or "broadcast" in exc.message):
                exc.hint = _ROWS_HINT
            raise
        z = W @ x + b
        y = np.tanh(z)
        if m != n and isinstance(got, np.ndarray) and got.shape == (n, m):
            t.fail(f"Shape {got.shape}, expected (m, n) = {(m, n)}: your Jacobian is transposed.",
                   hint=_ROWS_HINT, case=case)
        mistakes = {
            "You left out the activation's derivative: by the chain rule J = diag(tanh'(z)) W with "
            "z = W x + b.": W,
            "tanh'(z) = 1 - tanh(z)^2: the tanh is squared.": (1 - y)[:, None] * W,
            "Chain rule: multiply by the derivative tanh'(z) = 1 - tanh(z)^2, not by tanh(z) itself.":
                y[:, None] * W,
            "diag(s) @ W is a matrix product; diag(s) * W keeps only the diagonal. Use s[:, None] * W or "
            "np.diag(s) @ W.": np.diag(1 - y ** 2) * W if m == n else None,
        }
        if m == n:
            mistakes[_ROWS_HINT + " You scaled the columns (W diag(s)) instead."] = W * (1 - y ** 2)[None, :]
            mistakes[_ROWS_HINT] = ((1 - y ** 2)[:, None] * W).T
            mistakes["Evaluate tanh' at the pre-activation z = W x + b, not at the input x."] = \
                (1 - np.tanh(x) ** 2)[:, None] * W
        t.expect_close(got, calc.tanh_layer_jacobian(W, b, x), case=case,
                       mistakes={k: v for k, v in mistakes.items() if v is not None})


# -- 9. second-order Taylor ---------------------------------------------------------------------------
@question("02.taylor2", title="Second-order Taylor approximation")
def _check_taylor2(t: Tester):
    for n in [2, 3, 1, int(t.rng.integers(4, 8))]:
        f, grad, hess = _quadratic_plus_sines(t, n)
        x0, dx = t.rng.standard_normal(n), t.rng.standard_normal(n) * 0.5
        f0, g, H = f(x0), grad(x0), hess(x0)
        case = {"f0": f0, "grad": g, "hess": H, "dx": dx}
        quad = dx @ H @ dx
        got = t.call(f0, g, H, dx)
        t.expect_close(got, calc.taylor2(f0, g, H, dx), case=case, mistakes={
            "The quadratic term has a factor 1/2 (the 1/2! of the Taylor series): + 0.5 * dx @ hess @ dx.":
                f0 + g @ dx + quad,
            "You stopped at first order; add the curvature term 0.5 * dx^T H dx.": f0 + g @ dx,
            "Start from the value f0: f(x0 + dx) ~ f0 + grad . dx + 0.5 dx^T H dx.": g @ dx + 0.5 * quad,
            "The first-order term is the dot product grad . dx; only the quadratic term has the 1/2.":
                f0 + 0.5 * (g @ dx) + 0.5 * quad,
            "The quadratic term is the quadratic form dx^T H dx = dx @ H @ dx (a matrix product), not a sum "
            "of element-wise products.": f0 + g @ dx + 0.5 * np.sum(dx * H * dx),
        })
    # For a quadratic, second-order Taylor is exact: the answer must be f(x0 + dx) itself.
    A = np.diag(t.rng.uniform(0.5, 2, 2))
    x0, dx = t.rng.standard_normal(2), t.rng.standard_normal(2)
    q = lambda x: 0.5 * x @ A @ x  # noqa: E731
    t.expect_close(t.call(q(x0), A @ x0, A, dx), q(x0 + dx), what="For a quadratic f (where Taylor is exact)",
                   case={"f": "0.5 x^T A x", "A": A, "x0": x0, "dx": dx})


# -- 10. the optimal step of central differences -------------------------------------------------------
@question("02.optimal_step", title="Optimal step of central differences")
def _check_optimal_step(t: Tester):
    eps_values = [np.finfo(np.float64).eps, np.finfo(np.float32).eps, np.finfo(np.float16).eps]
    # f(x) and f'''(x) may be negative; only their sizes enter the step (the first two cases make sure).
    signs = [(-1, 1), (1, -1), *t.rng.choice([-1, 1], (2, 2))]
    for eps, (sf, s3) in zip([*eps_values, 10 ** t.rng.uniform(-16, -3)], signs):
        f_scale, d3 = float(sf * t.rng.uniform(0.2, 20)), float(s3 * t.rng.uniform(0.2, 20))
        eps = float(eps)
        case = {"f_scale": f_scale, "d3": d3, "eps": eps}
        got = t.call(f_scale, d3, eps)
        if np.iscomplexobj(got) or (isinstance(got, (float, np.floating)) and not got > 0):
            t.fail(f"Your step is {got}; a step must be positive.",
                   hint="Use sizes: |f| and |f'''| (abs), so the cube root is of a positive number.", case=case)
        r = eps * abs(f_scale) / abs(d3)
        # Steps are tiny numbers: compare relative to their size only (atol=0).
        t.expect_close(got, calc.optimal_step("central", f_scale=f_scale, d3=d3, eps=eps), case=case,
                       rtol=1e-6, atol=0.0, mistakes={
            "E'(h) = |f'''| h / 3 - eps |f| / h^2 = 0 gives h^3 = 3 eps |f| / |f'''|: the factor 3 is missing.":
                np.cbrt(r),
            "The derivative of h^2 / 6 is h / 3 (2h / 6), which gives h^3 = 3 eps |f| / |f'''|, not 6.":
                np.cbrt(6 * r),
            "The round-off term eps |f| / h and the truncation term |f'''| h^2 / 6 balance at a CUBE root "
            "(h^3), not a square root (that is forward differences).": np.sqrt(3 * r),
            "That is the forward-difference step 2 sqrt(eps |f| / |f''|); for central differences "
            "h* = (3 eps |f| / |f'''|)^(1/3).": 2 * np.sqrt(r),
            "Upside down: a larger f''' (more curvature) needs a SMALLER step, h^3 = 3 eps |f| / |f'''|.":
                np.cbrt(3 * eps * abs(d3) / abs(f_scale)),
        })
