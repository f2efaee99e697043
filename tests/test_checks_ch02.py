"""Chapter 02 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
import numpy as np
import pytest

from course_lib import calculus as calc
from course_lib import gradcheck as gc
from course_lib.checks import ch02_calculus as ch02
from check_contract import contract_tests
from course_lib.grading import run_check

SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]




# -- alternative correct answers -------------------------------------------------------------------
def central_as_mean_of_forward_and_backward(f, x, h):
    return 0.5 * ((f(x + h) - f(x)) / h + (f(x) - f(x - h)) / h)


def gradient_with_unit_vectors(f, x, h):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def gradient_loop_in_place_on_a_copy(f, x, h):
    x = x.astype(float)  # a copy
    g = np.zeros_like(x)
    for i in range(x.size):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        g[i] = (up - down) / (2 * h)
    return g


def jacobian_column_by_column(f, x, h):
    return np.column_stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def optimal_step_by_search(f_scale, d3, eps):
    """Minimize the error model numerically (ternary search on log h)."""
    lo, hi = -30.0, 5.0
    E = lambda lh: calc.total_error(np.exp(lh), "central", f_scale=f_scale, d3=d3, eps=eps)  # noqa: E731
    for _ in range(200):
        a, b = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        lo, hi = (a, hi) if E(a) > E(b) else (lo, b)
    return float(np.exp((lo + hi) / 2))


def taylor2_with_loops(f0, grad, hess, dx):
    n = len(dx)
    lin = sum(grad[i] * dx[i] for i in range(n))
    quad = sum(dx[i] * hess[i, j] * dx[j] for i in range(n) for j in range(n))
    return f0 + lin + quad / 2


# question id -> (reference, [alternative correct answers], hard-coded answer)
CORRECT = {
    "02.forward_difference": (calc.forward_difference, [lambda f, x, h: (f(x + h) - f(x)) * (1.0 / h)],
                              lambda f, x, h: 1.0),
    "02.central_difference": (calc.central_difference, [central_as_mean_of_forward_and_backward],
                              lambda f, x, h: 0.5),
    "02.partial_derivatives": (ch02.partial_derivatives,
                               [lambda x, y: np.array([y * (2 * x + np.cos(x * y)), x * (x + np.cos(x * y))]),
                                lambda x, y: calc.numerical_gradient(lambda p: p[0] ** 2 * p[1] + np.sin(p[0] * p[1]),
                                                                     [x, y]),
                                # the text writes the gradient as a pair: a tuple or list is the same answer
                                lambda x, y: tuple(ch02.partial_derivatives(x, y)),
                                lambda x, y: [float(v) for v in ch02.partial_derivatives(x, y)]],
                               lambda x, y: np.array([1.0, 2.0])),
    "02.gradient_fd": (calc.numerical_gradient, [gradient_with_unit_vectors, gradient_loop_in_place_on_a_copy],
                       lambda f, x, h: np.zeros(3)),
    "02.jacobian_fd": (calc.numerical_jacobian, [jacobian_column_by_column], lambda f, x, h: np.eye(3)),
    "02.directional_derivative": (lambda grad_f, x, v: calc.directional_derivative(grad_f(x), v),
                                  [lambda grad_f, x, v: np.dot(grad_f(x), v) / np.sqrt(v @ v),
                                   lambda grad_f, x, v: float(np.sum(grad_f(x) * v / np.linalg.norm(v)))],
                                  lambda grad_f, x, v: 1.0),
    "02.chain_rule": (lambda f, df, g, dg, x: calc.chain_rule(df, g, dg, x),
                      [lambda f, df, g, dg, x: dg(x) * df(g(x)),
                       lambda f, df, g, dg, x: calc.central_difference(lambda s: f(g(s)), x, 1e-5)],
                      lambda f, df, g, dg, x: 2.0),
    "02.layer_jacobian": (calc.tanh_layer_jacobian,
                          [lambda W, b, x: np.diag(1 - np.tanh(W @ x + b) ** 2) @ W,
                           lambda W, b, x: np.einsum("i,ij->ij", 1 / np.cosh(W @ x + b) ** 2, W),
                           lambda W, b, x: calc.numerical_jacobian(lambda v: np.tanh(W @ v + b), x)],
                          lambda W, b, x: np.ones((3, 3))),
    "02.taylor2": (calc.taylor2, [taylor2_with_loops, lambda f0, g, H, dx: f0 + g @ dx + 0.5 * dx.T @ H @ dx],
                   lambda f0, g, H, dx: 1.0),
    "02.optimal_step": (lambda f, d3, eps: calc.optimal_step("central", f_scale=f, d3=d3, eps=eps),
                        [lambda f, d3, eps: (3 * eps * abs(f) / abs(d3)) ** (1 / 3), optimal_step_by_search],
                        lambda f, d3, eps: 1e-5),
}


# -- plausible wrong answers ---------------------------------------------------------------------
def _gradient_not_restored(f, x, h, copy=True):
    x = x.copy() if copy else x
    g = np.zeros_like(x)
    for i in range(x.size):
        x[i] += h
        up = f(x)
        x[i] -= 2 * h
        g[i] = (up - f(x)) / (2 * h)  # x[i] stays at x_i - h
    return g


def _gradient_in_place(f, x, h):
    return _gradient_not_restored(f, x, h, copy=False)


def _tanh_prime(W, b, x):
    return 1 - np.tanh(W @ x + b) ** 2


# question id -> [(wrong answer, a distinctive word of the hint it must get)]
WRONG = {
    "02.forward_difference": [
        (lambda f, x, h: (f(x) - f(x - h)) / h, "backward"),
        (lambda f, x, h: f(x + h) - f(x), "Divide"),
        (lambda f, x, h: (f(x) - f(x + h)) / h, "Order"),
        (lambda f, x, h: (f(x + h) - f(x)) / (2 * h), "not 2h"),
        (lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h), "central"),
    ],
    "02.central_difference": [
        (lambda f, x, h: (f(x + h) - f(x)) / h, "forward"),
        (lambda f, x, h: (f(x + h) - f(x - h)) / h, "2h"),
        (lambda f, x, h: (f(x + h) - f(x - h)) / 2 * h, "precedence"),
        (lambda f, x, h: (f(x + h / 2) - f(x - h / 2)) / h, "h/2"),
    ],
    "02.partial_derivatives": [
        (lambda x, y: np.array([2 * x * y + np.cos(x * y), x * x + np.cos(x * y)]), "Chain rule"),
        (lambda x, y: ch02.partial_derivatives(x, y)[::-1], "order"),
        (lambda x, y: np.array([2 * x + y * np.cos(x * y), x * x + x * np.cos(x * y)]), "constant factor"),
        (lambda x, y: np.array([2 * x * y - y * np.cos(x * y), x * x - x * np.cos(x * y)]), "+cos"),
        (lambda x, y: 2 * x * y + y * np.cos(x * y), "2 results"),
    ],
    "02.gradient_fd": [
        (lambda f, x, h: np.array([(f(x + h * e) - f(x)) / h for e in np.eye(x.size)]), "forward differences"),
        (lambda f, x, h: np.array([(f(x + h * e) - f(x - h * e)) / h for e in np.eye(x.size)]), "divide by 2h"),
        (lambda f, x, h: np.full(x.size, (f(x + h) - f(x - h)) / (2 * h)), "one coordinate at a time"),
        (_gradient_not_restored, "Restore"),
        (_gradient_in_place, "in place"),
    ],
    "02.jacobian_fd": [
        (lambda f, x, h: jacobian_column_by_column(f, x, h).T, "Rows are outputs"),
        (lambda f, x, h: np.column_stack([(f(x + h * e) - f(x)) / h for e in np.eye(x.size)]), "forward"),
        (lambda f, x, h: 2 * jacobian_column_by_column(f, x, h), "2h"),
    ],
    "02.directional_derivative": [
        (lambda grad_f, x, v: grad_f(x) @ v, "Normalize the direction"),
        (lambda grad_f, x, v: grad_f(x) @ v / (v @ v), "not by ||v||^2"),
        (lambda grad_f, x, v: np.linalg.norm(grad_f(x)), "LARGEST"),
        (lambda grad_f, x, v: grad_f(x) * v / np.linalg.norm(v), "dot product"),
        (lambda grad_f, x, v: grad_f(x) @ v / np.linalg.norm(grad_f(x)), "not the gradient"),
    ],
    "02.chain_rule": [
        (lambda f, df, g, dg, x: df(x) * dg(x), "inner value"),
        (lambda f, df, g, dg, x: df(g(x)), "inner derivative"),
        (lambda f, df, g, dg, x: df(g(x)) * g(x), "not by g(x)"),
        (lambda f, df, g, dg, x: f(g(x)) * dg(x), "not f itself"),
    ],
    "02.layer_jacobian": [
        (lambda W, b, x: W, "activation's derivative"),
        (lambda W, b, x: (1 - np.tanh(W @ x + b))[:, None] * W, "squared"),
        (lambda W, b, x: W * _tanh_prime(W, b, x)[None, :], "Rows are outputs"),
        (lambda W, b, x: (_tanh_prime(W, b, x)[:, None] * W).T, "Rows are outputs"),
        (lambda W, b, x: np.diag(_tanh_prime(W, b, x)) * W, "matrix product"),
        (lambda W, b, x: (1 - np.tanh(x) ** 2)[:, None] * W, "pre-activation"),
    ],
    "02.taylor2": [
        (lambda f0, g, H, dx: f0 + g @ dx + dx @ H @ dx, "1/2"),
        (lambda f0, g, H, dx: f0 + g @ dx, "first order"),
        (lambda f0, g, H, dx: g @ dx + 0.5 * dx @ H @ dx, "f0"),
        (lambda f0, g, H, dx: f0 + g @ dx + 0.5 * np.sum(dx * H * dx), "quadratic form"),
    ],
    "02.optimal_step": [
        (lambda f, d3, eps: np.cbrt(eps * abs(f) / abs(d3)), "factor 3"),
        (lambda f, d3, eps: np.sqrt(3 * eps * abs(f) / abs(d3)), "CUBE root"),
        (lambda f, d3, eps: 2 * np.sqrt(eps * abs(f) / abs(d3)), "forward-difference"),
        (lambda f, d3, eps: np.cbrt(6 * eps * abs(f) / abs(d3)), "not 6"),
        (lambda f, d3, eps: (3 * eps * f / d3) ** (1 / 3), "abs"),
    ],
}


# -- the machinery of the checks ------------------------------------------------------------------
class _FakeTester:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)


@pytest.mark.parametrize("seed", range(10))
def test_closed_form_quotients_equal_the_float_quotients(seed):
    """The analytic values the checks compare with are the difference quotients themselves."""
    s, x = ch02._smooth_at(_FakeTester(seed))
    for h in [0.3, 1e-2, 1e-3]:
        assert np.isclose(s.forward_quotient(x, h), calc.forward_difference(s.f, x, h), rtol=1e-10, atol=1e-10)
        assert np.isclose(s.central_quotient(x, h), calc.central_difference(s.f, x, h), rtol=1e-10, atol=1e-10)
    # and its derivatives are right (the shared checker, float64)
    for k in [1, 2, 3]:
        lower = s.f if k == 1 else (lambda v, k=k: s.derivative(v, k - 1))
        assert calc.jacobian_check(lambda v: np.atleast_1d(lower(v[0])), lambda v: [[s.derivative(v[0], k)]], [x])


def test_a_float32_central_difference_fails_the_float64_check():
    """Precision matters: the same formula in float32 is off by far more than the tolerance."""
    def central32(f, x, h):
        x32, h32 = np.float32(x), np.float32(h)
        return float((np.float32(f(x32 + h32)) - np.float32(f(x32 - h32))) / (np.float32(2) * h32))

    assert run_check("02.central_difference", central32).status == "failed"


def test_jacobian_of_wrong_shape_gets_the_rows_hint_for_non_square_cases(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "3")

    def transposed_unless_square(f, x, h):
        J = jacobian_column_by_column(f, x, h)
        return J if J.shape[0] == J.shape[1] else J.T

    result = run_check("02.jacobian_fd", transposed_unless_square)
    assert result.status == "failed" and "Rows are outputs" in result.hint and "transposed" in result.message


@pytest.mark.parametrize("seed", range(5))
def test_the_analytic_answers_of_the_checks_pass_the_shared_gradient_checker(seed):
    """Every derivative a check treats as the truth is itself checked by gradcheck (float64)."""
    t = _FakeTester(seed)
    p = t.rng.uniform(-2, 2, 2)
    assert gc.gradcheck(lambda q: q[0] ** 2 * q[1] + np.sin(q[0] * q[1]), lambda q: ch02.partial_derivatives(*q), p)
    f, grad, hess = ch02._quadratic_plus_sines(t, 4)
    x = t.rng.standard_normal(4)
    assert gc.gradcheck(f, grad, x) and calc.jacobian_check(grad, hess, x)
    f, jac, W, b = ch02._layer_plus_square(t, 3, 2)
    assert calc.jacobian_check(f, jac, t.rng.standard_normal(2))
    assert calc.jacobian_check(lambda v: np.tanh(W @ v + b), lambda v: calc.tanh_layer_jacobian(W, b, v),
                               t.rng.standard_normal(2))
    for _ in range(5):
        (_, f, df), (_, g, dg) = ch02._outer(t), ch02._inner(t)
        x = t.rng.uniform(-1.5, 1.5, 3)
        assert gc.gradcheck(lambda v: np.sum(f(g(v))), lambda v: calc.chain_rule(df, g, dg, v), x)


globals().update(contract_tests("02", CORRECT, WRONG, seeds=SEEDS, wrong_seeds=SEEDS[:4]))
