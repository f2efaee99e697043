"""Chapter 04 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers (including numerically naive ones) fail with the hint
aimed at that slip."""
import math

import numpy as np
from check_contract import contract_tests

from course_lib import activations as act
from course_lib import approximation as ap
from course_lib import losses as L
from course_lib.grading import run_check

SEEDS = [1, 2, 3, 4, 5]


# -- alternative correct answers ---------------------------------------------------------------
def neuron_loop(x, w, b, f):
    total = b
    for xi, wi in zip(x, w):
        total += wi * xi
    return f(total)


def sigmoid_via_tanh(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # sigma(x) = (1 + tanh(x/2)) / 2: never overflows


def sigmoid_masked(x):
    out = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def sigmoid_math_loop(x):
    return np.array([1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
                     for v in x.ravel()]).reshape(x.shape)


def softmax_ce_grad_loops(z, y):
    N, K = z.shape
    g = np.zeros_like(z)
    for n in range(N):
        e = np.exp(z[n] - z[n].max())
        g[n] = e / e.sum()
        g[n, y[n]] -= 1
    return g / N


def bce_logaddexp(z, y):
    return np.mean(np.logaddexp(0, z) - y * z)


def bce_two_log_sigmoids(z, y):
    return -np.mean(y * act.log_sigmoid(z) + (1 - y) * act.log_sigmoid(-z))


def relu_knots_loop(xs, ys):
    c, previous = [], 0.0
    for k in range(len(xs) - 1):
        slope = (ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k])
        c.append(slope - previous)
        previous = slope
    return np.array(c)


# -- naive and wrong answers ---------------------------------------------------------------------
def naive_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def where_sigmoid(x):  # looks stable, but np.where evaluates both branches
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def naive_softmax_ce_grad(z, y):
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return (p - np.eye(z.shape[1])[y]) / len(y)


def softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def naive_bce(z, y):
    p = act.sigmoid(z)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def relu_grad_by_division(x):
    return (x + np.abs(x)) / (2 * x)


def onehot(y, K):
    return np.eye(K)[y]


# question id -> (reference, [alternative correct answers], hard-coded answer)
CORRECT = {
    "04.neuron": (lambda x, w, b, f: f(np.dot(w, x) + b), [neuron_loop, lambda x, w, b, f: f(w @ x + b)],
                  lambda x, w, b, f: 0.5),
    "04.sigmoid": (act.sigmoid, [sigmoid_via_tanh, sigmoid_masked, sigmoid_math_loop], lambda x: np.full(7, 0.5)),
    "04.sigmoid_grad": (act.sigmoid_grad, [lambda x: act.sigmoid(x) * (1 - act.sigmoid(x)),
                                           lambda x: 0.25 / np.cosh(0.5 * np.clip(x, -700, 700)) ** 2],
                        lambda x: np.full(8, 0.25)),
    "04.relu_grad": (act.relu_grad, [lambda x: (x >= 0).astype(float), lambda x: x > 0,
                                     lambda x: np.heaviside(x, 0.5)],
                     lambda x: np.ones(9)),
    "04.leaky_relu": (act.leaky_relu, [lambda x, a: np.maximum(x, a * x), lambda x, a: x * np.where(x > 0, 1, a)],
                      lambda x, a: np.zeros(8)),
    "04.tanh_grad": (act.tanh_grad, [lambda x: 1 / np.cosh(x) ** 2, lambda x: 4 * act.sigmoid_grad(2 * x)],
                     lambda x: np.ones(8)),
    "04.mse_grad": (L.mse_grad, [lambda p, t: 2 * (p - t) / np.size(p), lambda p, t: (p - t) * (2.0 / p.size)],
                    lambda p, t: np.zeros(6)),
    "04.softmax_ce_grad": (L.softmax_cross_entropy_grad, [softmax_ce_grad_loops],
                           lambda z, y: np.zeros((4, 3))),
    "04.bce_with_logits": (L.binary_cross_entropy_with_logits, [bce_logaddexp, bce_two_log_sigmoids],
                           lambda z, y: 0.6931),
    "04.linear_stack_collapse": (lambda W1, b1, W2, b2: ap.collapse_linear_layers([(W1, b1), (W2, b2)]),
                                 [lambda W1, b1, W2, b2: (np.einsum("ij,jk->ik", W2, W1), W2 @ b1 + b2)],
                                 lambda W1, b1, W2, b2: (np.eye(3), np.zeros(3))),
    "04.relu_interpolation": (ap.relu_knot_weights, [relu_knots_loop], lambda xs, ys: np.zeros(5)),
}

def relu_knots_equal_spacing(xs, ys):
    """The slip: one knot spacing for every segment."""
    s = np.diff(ys) / (xs[1] - xs[0])
    return np.diff(s, prepend=0.0)


# question id -> [(wrong answer, a distinctive word of the hint it must get)]
WRONG = {
    "04.neuron": [
        (lambda x, w, b, f: f(w @ x), "bias"),
        (lambda x, w, b, f: f(w @ x) + b, "before adding the bias"),
        (lambda x, w, b, f: w @ x + b, "did not apply"),
        (lambda x, w, b, f: f(w * x + b), "SUM"),
    ],
    "04.sigmoid": [
        (naive_sigmoid, "overflow"),
        (where_sigmoid, "np.where"),
        (lambda x: act.sigmoid(-x), "e^{x}"),
        (np.tanh, "(0, 1)"),
    ],
    "04.sigmoid_grad": [
        (lambda x: act.sigmoid(x) * (1 + act.sigmoid(x)), "Minus, not plus"),
        (lambda x: x * (1 - x), "not to x"),
        (lambda x: 1 - act.sigmoid(x) ** 2, "tanh"),
        (lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2, "overflow"),
        (lambda x: 2 * act.sigmoid_grad(x), "factor of 2"),
    ],
    "04.relu_grad": [
        (act.relu, "ReLU itself"),
        (np.sign, "sign"),
        (lambda x: (x < 0).astype(float), "other way round"),
        (relu_grad_by_division, "kink"),
    ],
    "04.leaky_relu": [
        (lambda x, a: np.where(x > 0, a * x, x), "NEGATIVE"),
        (lambda x, a: np.maximum(x, a), "constant alpha"),
        (lambda x, a: np.maximum(x, 0.01 * x), "argument alpha"),
        (lambda x, a: np.maximum(x, 0), "plain ReLU"),
    ],
    "04.tanh_grad": [
        (lambda x: 1 - np.tanh(x), "Square"),
        (lambda x: 1 - x**2, "not to x"),
        (lambda x: np.tanh(x) * (1 - np.tanh(x)), "sigmoid"),
        (lambda x: 1 / np.cosh(x), "squared"),
    ],
    "04.mse_grad": [
        (lambda p, t: (p - t) / p.size, "the 2 is missing"),
        (lambda p, t: 2 * (p - t), "MEAN"),
        (lambda p, t: 2 * (t - p) / p.size, "Sign"),
        (lambda p, t: 2 * (p - t) / len(p), "ALL entries"),
    ],
    "04.softmax_ce_grad": [
        (lambda z, y: (onehot(y, z.shape[1]) - softmax_rows(z)) / len(y), "you have onehot - softmax"),
        (lambda z, y: softmax_rows(z) - onehot(y, z.shape[1]), "MEAN"),
        (lambda z, y: (z - onehot(y, z.shape[1])) / len(y), "LOGITS"),
        (lambda z, y: (softmax_rows(z.T).T - onehot(y, z.shape[1])) / len(y), "ROW"),
        (naive_softmax_ce_grad, "maximum"),
        (lambda z, y: (np.exp(z - z.max(1, keepdims=True)) - onehot(y, z.shape[1])) / len(y), "sum to 0"),
    ],
    "04.bce_with_logits": [
        (naive_bce, "log(0)"),
        (lambda z, y: np.mean(np.log(1 + np.exp(z)) - y * z), "overflow"),
        (lambda z, y: np.sum(np.logaddexp(0, z) - y * z), "mean"),
        (lambda z, y: np.mean(np.maximum(z, 0) - y * z), "log1p"),
        (lambda z, y: bce_logaddexp(z, 1 - y), "wrong way round"),
    ],
    "04.linear_stack_collapse": [
        (lambda W1, b1, W2, b2: (W1 @ W2, W2 @ b1 + b2), "RIGHT"),
        (lambda W1, b1, W2, b2: (W2 @ W1, b1 + b2), "passes through"),
        (lambda W1, b1, W2, b2: (W2 @ W1, b2), "does not vanish"),
        (lambda W1, b1, W2, b2: W2 @ W1, "2 results"),
    ],
    "04.relu_interpolation": [
        (lambda xs, ys: np.diff(ys) / np.diff(xs), "CHANGES"),
        (lambda xs, ys: np.diff(np.diff(ys), prepend=0.0), "rise over run"),
        (lambda xs, ys: np.diff(np.diff(ys) / np.diff(xs)), "first hinge"),
        (relu_knots_equal_spacing, "not equally spaced"),
        (lambda xs, ys: ap.relu_knot_weights(np.linspace(xs[0], xs[-1], len(xs)), ys), "not equally spaced"),
    ],
}


# The five contract tests: coverage, references and alternatives pass, stubs are "not attempted",
# hard-coded answers fail, each wrong answer gets its hint.
globals().update(contract_tests("04", CORRECT, WRONG, seeds=SEEDS, wrong_seeds=SEEDS, hard_coded_seeds=SEEDS[:3]))


def test_overflow_is_reported_even_where_the_learner_silenced_warnings():
    """The check raises on overflow inside the learner's code, whatever the notebook's errstate."""
    with np.errstate(all="ignore"):
        result = run_check("04.sigmoid", naive_sigmoid)
    assert result.status == "failed" and "FloatingPointError" in result.message


def test_an_answer_that_is_right_only_for_small_inputs_fails_on_large_ones(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "7")

    def clipped(x):  # a common "fix": clip the input. Quiet, but wrong beyond the clip (by 5e-5 here).
        return 1 / (1 + np.exp(-np.clip(x, -10, 10)))

    result = run_check("04.sigmoid", clipped)
    assert result.status == "failed"


def test_assuming_equally_spaced_knots_always_fails(monkeypatch):
    """The uneven knots are in every run (never replaced by an even grid)."""
    for seed in range(60):
        monkeypatch.setenv("COURSE_SEED", str(seed))
        result = run_check("04.relu_interpolation", relu_knots_equal_spacing)
        assert result.status == "failed" and "not equally spaced" in result.hint, (seed, str(result))


def test_collapse_accepts_any_pair(monkeypatch):
    """"Return W, b": a tuple, a list, or any length-2 sequence is the same pair."""
    monkeypatch.setenv("COURSE_SEED", "3")
    for wrap in (tuple, list):
        result = run_check("04.linear_stack_collapse",
                           lambda W1, b1, W2, b2: wrap(ap.collapse_linear_layers([(W1, b1), (W2, b2)])))
        assert result.status == "passed", str(result)


def test_mutating_the_input_is_reported():
    def relu_grad_in_place(x):
        x[x > 0] = 1.0
        x[x <= 0] = 0.0
        return x

    result = run_check("04.relu_grad", relu_grad_in_place)
    assert result.status == "failed" and "in place" in result.message
