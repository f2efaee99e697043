"""Chapter 04: the graded questions on neurons, activations and losses.

The references are :mod:`course_lib.activations`, :mod:`course_lib.losses`,
:mod:`course_lib.approximation` and :func:`course_lib.linalg.dense_layer`. Every check draws
fresh cases from ``t.rng``, so any correct implementation passes and a hard-coded one fails,
and ``mistakes`` names the likely slips of each question.

Numerics are part of the answer here: the functions that exponentiate are called under
``np.errstate(over="raise", invalid="raise", divide="raise")`` on inputs as large as
``1e4``. A textbook formula that overflows (``1 / (1 + np.exp(-x))`` at ``x = -1000``)
therefore fails with a hint that says how to rearrange it, instead of passing with a
``RuntimeWarning`` that nobody reads. Underflow (``exp(-1e4)`` rounding to 0) is fine.
"""
from __future__ import annotations

import numpy as np

from course_lib import activations as act
from course_lib import approximation as ap
from course_lib import losses as L
from course_lib.grading import Tester, question
from course_lib.grading.tester import CheckFailed
from course_lib.linalg import dense_layer
from course_lib.probability import softmax

_FP_WORDS = ("FloatingPointError", "OverflowError", "overflow", "invalid value", "divide by zero")


def _strict_call(t: Tester, *args, fp_hint: str):
    """``t.call`` with floating-point trouble raised, and the question's hint when it happens."""
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            return t.call(*args)
    except CheckFailed as exc:
        if any(word in exc.message for word in _FP_WORDS):
            exc.hint = fp_hint
        raise


def _large(t: Tester, n: int = 6) -> np.ndarray:
    """Inputs of magnitude 30 to 1e4 of both signs, with 0, in random order."""
    fixed = np.array([-1e4, -1e3, -800.0, -40.0, 0.0, 40.0, 800.0, 1e3, 1e4])
    return t.rng.permutation(np.concatenate([fixed, t.rng.uniform(-1e4, 1e4, n)]))


_EXP_HINT = ("np.exp overflowed: e^{-x} for x = -1000 is far beyond the largest float (about 1.8e308), which "
             "gives inf, nan or a RuntimeWarning. Only ever exponentiate numbers <= 0: with e = np.exp(-np.abs(x)), "
             "sigma(x) = 1 / (1 + e) where x >= 0 and e / (1 + e) where x < 0. Careful: np.where(cond, A, B) "
             "computes A and B for EVERY entry, so the branch you discard still overflows.")


# -- 1. a neuron ------------------------------------------------------------------------------
@question("04.neuron", title="A neuron y = f(w.x + b)")
def _check_neuron(t: Tester):
    sizes = [3, 1, 5, int(t.rng.integers(2, 9))]
    for n, f in zip(sizes, [np.tanh, act.relu, act.sigmoid, np.tanh]):
        x, w = t.rng.standard_normal(n), t.rng.standard_normal(n)
        b = float(t.rng.choice([-1, 1]) * t.rng.uniform(0.5, 2.0))
        if f is act.relu:
            b = abs(b) + abs(w @ x)  # keep w.x + b > 0 so that ReLU does not hide a missing bias
        case = {"x": x, "w": w, "b": b, "f": f.__name__}
        got = t.call(x, w, b, f)
        if isinstance(got, np.ndarray) and got.shape == (n,) and n > 1:
            t.fail(f"Your neuron returned {n} numbers; a neuron outputs ONE number.",
                   hint="w.x is a SUM over the inputs, np.dot(w, x) or w @ x, not the element-wise w * x.",
                   case=case)
        z = w @ x
        t.expect_close(got, dense_layer(x, w[None, :], np.array([b]), f)[0], case=case, mistakes={
            "You left out the bias: the neuron is f(w.x + b), with b added before the activation.": f(z),
            "You applied f before adding the bias; the activation comes last: f(w.x + b).": f(z) + b,
            "You did not apply the activation function f to w.x + b.": z + b,
            "The activation acts on the whole sum, f(w.x + b), not on each product w_i x_i.": np.sum(f(w * x)) + b,
        })


# -- 2. the sigmoid, stably --------------------------------------------------------------------
@question("04.sigmoid", title="The sigmoid, stable for inputs as large as 1e4")
def _check_sigmoid(t: Tester):
    cases = [3.0 * t.rng.standard_normal(7), np.array([0.0]), t.rng.uniform(-30, 30, (3, 4)), _large(t)]
    for x in cases:
        got = _strict_call(t, x, fp_hint=_EXP_HINT)
        t.expect_close(got, act.sigmoid(x), case={"x": x}, mistakes={
            "You computed sigma(-x) = 1 / (1 + e^{x}); the sigmoid is 1 / (1 + e^{-x}), which grows with x.":
                act.sigmoid(-x),
            "That is tanh(x), with values in (-1, 1); the sigmoid maps to (0, 1): sigma(x) = 1 / (1 + e^{-x}).":
                np.tanh(x),
        })


# -- 3. its derivative --------------------------------------------------------------------------
@question("04.sigmoid_grad", title="Derivative of the sigmoid")
def _check_sigmoid_grad(t: Tester):
    for x in [2.5 * t.rng.standard_normal(8), np.array([0.0, 1.0, -1.0]), _large(t)]:
        s = act.sigmoid(x)
        got = _strict_call(t, x, fp_hint=_EXP_HINT + " Then use sigma'(x) = sigma(x) (1 - sigma(x)).")
        t.expect_close(got, act.sigmoid_grad(x), case={"x": x}, mistakes={
            "Minus, not plus: sigma'(x) = sigma(x) (1 - sigma(x)).": s * (1 + s),
            "Apply the formula to sigma(x), not to x: sigma'(x) = sigma(x) (1 - sigma(x)).": x * (1 - x),
            "1 - sigma^2 is the pattern of tanh's derivative; the sigmoid's is sigma(x) (1 - sigma(x)).": 1 - s**2,
            "You returned sigma(x) itself; multiply by (1 - sigma(x)).": s,
            "You are missing the factor sigma(x): sigma'(x) = sigma(x) (1 - sigma(x)).": 1 - s,
        })


# -- 4. ReLU's derivative -----------------------------------------------------------------------
@question("04.relu_grad", title="Derivative of ReLU")
def _check_relu_grad(t: Tester):
    kink_hint = ("At the kink x = 0 ReLU has no derivative; return a number there: 0 (PyTorch's choice) or any "
                 "value in [0, 1]. x / |x| is 0 / 0 = nan at x = 0; (x > 0).astype(float) avoids it.")
    for x in [t.rng.standard_normal(9), np.array([-2.0, 0.0, 3.0]), t.rng.integers(-3, 4, (3, 5)).astype(float)]:
        got = _strict_call(t, x, fp_hint=kink_hint)
        ref = act.relu_grad(x)
        expected = ref
        if isinstance(got, np.ndarray) and got.shape == x.shape and got.dtype.kind in "biuf":
            values = got.astype(np.float64)
            if np.any(np.isnan(values[x == 0])):
                t.fail("Your derivative is nan at x = 0.", hint=kink_hint, case={"x": x})
            # Any subgradient is right at the kink: accept a value in [0, 1] where x == 0.
            expected = np.where((x == 0) & (values >= 0) & (values <= 1), values, ref)
        t.expect_close(got, expected, case={"x": x}, mistakes={
            "That is ReLU itself; its derivative is the step 1 for x > 0 and 0 for x < 0.": act.relu(x),
            "ReLU is flat (zero) for x < 0, so its slope there is 0, not -1: you computed the sign of x.":
                np.sign(x),
            "The other way round: the slope is 1 where x > 0 (the identity part) and 0 where x < 0.":
                (x < 0).astype(float),
        })


# -- 5. Leaky ReLU ------------------------------------------------------------------------------
@question("04.leaky_relu", title="Leaky ReLU with slope alpha")
def _check_leaky_relu(t: Tester):
    for alpha in [0.1, float(t.rng.uniform(0.03, 0.3)), 0.01]:
        for x in [t.rng.standard_normal(8) * 3, t.rng.standard_normal((2, 3))]:
            case = {"x": x, "alpha": alpha}
            mistakes = {
                "alpha scales the NEGATIVE side: x for x > 0, alpha * x for x <= 0.": np.where(x > 0, alpha * x, x),
                "That is plain ReLU: negative inputs are multiplied by alpha, not set to 0.": act.relu(x),
                "Compare x with alpha * x, max(x, alpha * x), not with the constant alpha.": np.maximum(x, alpha),
                "The negative side is the line alpha * x through 0, not the constant alpha.": np.where(x > 0, x, alpha),
            }
            if abs(alpha - 0.01) > 1e-3:
                mistakes["Use the argument alpha, not a fixed 0.01."] = act.leaky_relu(x, 0.01)
            t.expect_close(t.call(x, alpha), act.leaky_relu(x, alpha), case=case, mistakes=mistakes)


# -- 6. tanh's derivative -----------------------------------------------------------------------
@question("04.tanh_grad", title="Derivative of tanh")
def _check_tanh_grad(t: Tester):
    for x in [2.0 * t.rng.standard_normal(8), np.array([0.0, 0.5, -3.0]), t.rng.uniform(-30, 30, (2, 4))]:
        th = np.tanh(x)
        got = _strict_call(t, x, fp_hint="cosh overflows for |x| > 710; write the derivative with tanh itself: "
                                          "1 - np.tanh(x)**2.")
        t.expect_close(got, act.tanh_grad(x), case={"x": x}, mistakes={
            "Square the tanh: tanh'(x) = 1 - tanh(x)^2, not 1 - tanh(x).": 1 - th,
            "Apply the formula to tanh(x), not to x: tanh'(x) = 1 - tanh(x)^2.": 1 - x**2,
            "sigma (1 - sigma) is the sigmoid's pattern; tanh's derivative is 1 - tanh(x)^2.": th * (1 - th),
            "sech(x) must be squared: tanh'(x) = sech^2(x) = 1 / cosh(x)^2 = 1 - tanh(x)^2.": 1 / np.cosh(x),
            "Minus, not plus: tanh'(x) = 1 - tanh(x)^2.": 1 + th**2,
        })


# -- 7. MSE gradient ----------------------------------------------------------------------------
@question("04.mse_grad", title="Gradient of the mean squared error")
def _check_mse_grad(t: Tester):
    shapes = [(6,), (1,), (4, 3), (int(t.rng.integers(2, 7)), int(t.rng.integers(2, 5)))]
    for shape in shapes:
        pred, target = t.rng.standard_normal(shape), t.rng.standard_normal(shape)
        d, n = pred - target, pred.size
        mistakes = {
            "The derivative of (y_hat - y)^2 is 2 (y_hat - y): the 2 is missing.": d / n,
            "The loss is a MEAN: each entry's gradient is divided by N, the number of entries.": 2 * d,
            "Sign: d/dy_hat (y_hat - y)^2 = +2 (y_hat - y); you differentiated with respect to the target.":
                -2 * d / n,
        }
        if len(shape) == 2:
            mistakes["The mean runs over ALL entries (pred.size), not only the rows (len(pred))."] = 2 * d / shape[0]
        t.expect_close(t.call(pred, target), L.mse_grad(pred, target), case={"pred": pred, "target": target},
                       mistakes=mistakes)


# -- 8. softmax cross-entropy gradient ---------------------------------------------------------------
_SOFTMAX_HINT = ("np.exp overflowed on large logits. Subtract each row's maximum before exponentiating "
                 "(z - z.max(axis=1, keepdims=True)): the softmax does not change, and every exponent is <= 0.")


@question("04.softmax_ce_grad", title="Gradient of the softmax cross-entropy with respect to the logits")
def _check_softmax_ce_grad(t: Tester):
    shapes = [(4, 3), (1, 5), (6, 2), (int(t.rng.integers(2, 8)), int(t.rng.integers(2, 6)))]
    cases = [(t.rng.standard_normal(s) * 2, t.rng.integers(0, s[1], s[0])) for s in shapes]
    big = t.rng.uniform(-1e3, 1e3, (3, 4))
    big[np.arange(3), t.rng.integers(0, 4, 3)] = t.rng.uniform(750, 1e3, 3)  # e^z overflows above 709.8
    cases.append((big, t.rng.integers(0, 4, 3)))
    for z, y in cases:
        N, K = z.shape
        S, Y = softmax(z, axis=1), np.eye(K)[y]
        case = {"logits": z, "targets": y}
        got = _strict_call(t, z, y, fp_hint=_SOFTMAX_HINT)
        mistakes = {
            "Sign: the gradient is (softmax - onehot) / N; you have onehot - softmax.": (Y - S) / N,
            "The loss is the MEAN over the N examples: divide by N.": S - Y,
            "Subtract the one-hot targets: the gradient is (softmax(z) - onehot(y)) / N.": S / N,
            "The inputs are LOGITS, not probabilities: apply the softmax first, then subtract the one-hot targets.":
                (z - Y) / N,
        }
        if N > 1:
            mistakes["The softmax normalizes each ROW (over the K classes, axis=1), not each column."] = \
                (softmax(z, axis=0) - Y) / N
        if np.abs(z).max() < 50:
            mistakes["exp(z) alone are not probabilities: divide by the row sum (the softmax) so each row sums to 1."] = \
                (np.exp(z) - Y) / N
            mistakes["That is the gradient with respect to the PROBABILITIES, -onehot / p / N; chain it through the "
                     "softmax to get the gradient with respect to the logits, (softmax - onehot) / N."] = -Y / S / N
        try:
            t.expect_close(got, L.softmax_cross_entropy_grad(z, y), case=case, mistakes=mistakes)
        except CheckFailed as exc:
            rows = np.sum(got, axis=1) if isinstance(got, np.ndarray) and got.shape == z.shape else None
            if exc.hint is None and rows is not None and not np.allclose(rows, 0, atol=1e-8):
                exc.hint = ("Each row of the gradient should sum to 0 (the probabilities sum to 1, and so does the "
                            f"one-hot row); yours sum to {np.round(rows[:3], 4)}... Check the softmax normalization.")
            raise


# -- 9. binary cross-entropy with logits --------------------------------------------------------------
_BCE_HINT = ("sigma(z) rounds to exactly 1 once z > 36.7 (and to exactly 0 only below -745), and log(0) = "
             "-inf (or e^z overflows in log(1 + e^z)). Write the loss with the logits themselves: -log sigma(z) = "
             "softplus(-z), -log(1 - sigma(z)) = softplus(z), and softplus(z) = max(z, 0) + log1p(exp(-|z|)), so "
             "the loss is mean(max(z, 0) - y z + log1p(exp(-|z|))).")


@question("04.bce_with_logits", title="Binary cross-entropy from logits, stable")
def _check_bce_with_logits(t: Tester):
    cases = [(3.0 * t.rng.standard_normal(8), t.rng.integers(0, 2, 8).astype(float)),
             (np.array([0.7]), np.array([1.0]))]
    z = _large(t)
    cases.append((z, t.rng.integers(0, 2, z.size).astype(float)))
    z = t.rng.choice([-1, 1], 6) * t.rng.uniform(40, 1e3, 6)
    cases.append((z, (z > 0).astype(float)))  # confidently right: the loss is almost 0, not nan
    for z, y in cases:
        n = z.size
        mistakes = {
            "The labels are the wrong way round: y = 1 should pay -log sigma(z) = softplus(-z).":
                L.binary_cross_entropy_with_logits(z, 1 - y),
            "You dropped the log1p(exp(-|z|)) term: softplus(z) = max(z, 0) + log1p(exp(-|z|)), not max(z, 0).":
                np.mean(np.maximum(z, 0) - y * z),
        }
        if n > 1:
            mistakes["Average over the entries (the mean), do not sum them."] = n * L.binary_cross_entropy_with_logits(z, y)
        t.expect_close(_strict_call(t, z, y, fp_hint=_BCE_HINT), L.binary_cross_entropy_with_logits(z, y),
                       case={"logits": z, "targets": y}, atol=1e-10, mistakes=mistakes)


# -- 10. linear layers collapse ------------------------------------------------------------------------
@question("04.linear_stack_collapse", title="Two linear layers are one linear layer")
def _check_linear_stack_collapse(t: Tester):
    sizes = [(3, 3, 3), (4, 5, 2), (1, 1, 1), tuple(int(v) for v in t.rng.integers(1, 6, 3))]
    for n, n_h, m in sizes:
        W1, b1 = t.rng.standard_normal((n_h, n)), t.rng.standard_normal(n_h)
        W2, b2 = t.rng.standard_normal((m, n_h)), t.rng.standard_normal(m)
        case = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        got = t.parts(t.call(W1, b1, W2, b2), ("W", "b"), case=case)
        W_ref, b_ref = ap.collapse_linear_layers([(W1, b1), (W2, b2)])
        W_mistakes = {}
        if n == n_h == m:
            W_mistakes["Order: the first layer acts first, so its matrix is on the RIGHT: W = W2 @ W1, not W1 @ W2."] = \
                W1 @ W2
            W_mistakes["That is the element-wise product; composing layers multiplies matrices: W = W2 @ W1."] = W1 * W2
        t.expect_close(got[0], W_ref, case=case, what="W", mistakes=W_mistakes)
        b_mistakes = {
            "The first bias does not vanish: it goes through W2, b = W2 @ b1 + b2.": b2,
            "Add the second bias: b = W2 @ b1 + b2.": W2 @ b1,
        }
        if n_h == m:
            b_mistakes["b1 passes through the second layer: b = W2 @ b1 + b2, not b1 + b2."] = b1 + b2
        t.expect_close(got[1], b_ref, case=case, what="b", mistakes=b_mistakes)


# -- 11. universal approximation: the ReLU construction ----------------------------------------------------
def _uneven_knots(t: Tester, segments: int) -> np.ndarray:
    """``segments + 1`` sorted knots whose gaps differ by a factor of at least 4 (0.2 to 1.0 apart)."""
    gaps = t.rng.uniform(0.2, 1.0, segments)
    short, long_ = t.rng.choice(segments, size=2, replace=False)
    gaps[short], gaps[long_] = 0.2, 0.8 + 0.2 * t.rng.random()
    return float(t.rng.uniform(-2, 0)) + np.concatenate([[0.0], np.cumsum(gaps)])


@question("04.relu_interpolation", title="Output weights of the ReLU network that joins the dots")
def _check_relu_interpolation(t: Tester):
    # Two sets of unevenly spaced knots in every run (never replaced by an even grid), so that an
    # answer assuming equal spacing always fails; the even grids come after them.
    cases = [_uneven_knots(t, int(t.rng.integers(3, 9))), _uneven_knots(t, 3), np.linspace(-1, 1, 6),
             np.array([0.0, 2.0]), np.arange(5.0)]
    for xs in cases:
        ys = t.rng.standard_normal(len(xs))
        case = {"xs": xs, "ys": ys}
        got = t.call(xs, ys)
        s = np.diff(ys) / np.diff(xs)
        if isinstance(got, np.ndarray) and got.shape == (len(xs) - 2,) and len(xs) > 2:
            t.fail(f"Your answer has {len(xs) - 2} weights; there is one hinge per segment, {len(xs) - 1} in all.",
                   hint="The first hinge's weight is the first slope itself, c_0 = s_0; then c_k = s_k - s_(k-1) "
                        "(np.diff(s, prepend=0)).", case=case)
        mistakes = {
            "Those are the slopes s_k of the segments; each hinge CHANGES the slope, so c_0 = s_0 and "
            "c_k = s_k - s_(k-1).": s,
            "A slope is rise over run: divide the differences of ys by the knot spacing np.diff(xs).":
                np.diff(np.diff(ys), prepend=0.0),
            "Sign: c_k = s_k - s_(k-1), the new slope minus the old one.": np.concatenate([s[:1], -np.diff(s)]),
        }
        if not np.allclose(np.diff(xs), xs[1] - xs[0]):
            even = np.diff(ys) / (xs[1] - xs[0])
            mistakes["The knots are not equally spaced: each segment's slope is its own rise over its own run, "
                     "s_k = (y_(k+1) - y_k) / (x_(k+1) - x_k), i.e. np.diff(ys) / np.diff(xs)."] = \
                np.diff(even, prepend=0.0)
            mistakes["The knots are not equally spaced: use the actual knots xs, not an even grid from xs[0] to "
                     "xs[-1]."] = ap.relu_knot_weights(np.linspace(xs[0], xs[-1], len(xs)), ys)
        t.expect_close(got, ap.relu_knot_weights(xs, ys), case=case, mistakes=mistakes)
