"""Chapter 05: the graded questions on backpropagation.

The learner writes backward passes by hand, in NumPy; the reference is the tensor engine
:mod:`course_lib.autograd` in float64 (itself checked op by op against finite differences
and PyTorch), the shared gradient checker, and :func:`course_lib.autograd.nn.init_std`.
Every check draws fresh random inputs from ``t.rng`` (including batches of one, square
shapes where a missing transpose gives wrong numbers rather than an error, and broadcast
operands), and ``mistakes`` lists the slips of each question with a hint for each: a
missing transpose, a gradient not summed over the broadcast axis, the ``1/N`` of a mean.

The last question, ``05.backward``, has the learner write the engine's backward pass itself
(a topological order, then one loop) on graphs the engine builds; it is compared with
:meth:`Tensor.backward` node by node, and its slips (gradients overwritten instead of summed,
the wrong order, no seed, a recursion too deep or along every path) are recognised.
"""
from __future__ import annotations

import contextlib
import itertools

import numpy as np

from course_lib.autograd import Tensor, topological_order
from course_lib.autograd import functional as F
from course_lib.autograd.nn import init_std
from course_lib.gradcheck import GradcheckResult, gradcheck, numerical_gradient
from course_lib.grading import Tester, question
from course_lib.grading.compare import format_case, format_value
from course_lib.grading.tester import CheckFailed
from course_lib.probability import one_hot, softmax

_TRANSPOSE_HINT = ("Check the shapes: dL/dA has the shape of A and dL/dB the shape of B. For C = A B, "
                   "dL/dA = dC B^T and dL/dB = A^T dC: a transpose, and the order fixed by the shapes.")
_BROADCAST_HINT = ("b was broadcast (copied) along some axes to match X; each copy passes on its gradient, so "
                   "dL/db is dZ SUMMED over those axes, reshaped to b's shape (keep axes of length 1).")


def engine_grads(fn, *arrays, grad_out=None) -> list[np.ndarray]:
    """Gradients of ``fn`` with respect to each array, computed by the tensor engine in float64."""
    tensors = [Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    fn(*tensors).backward(grad_out)
    return [t.grad for t in tensors]


def _parts(t: Tester, got, names: tuple[str, ...], case: dict) -> tuple:
    """The learner's results as a tuple of ``len(names)``, or a clear failure."""
    if len(names) == 1:
        return (got,)
    return t.parts(got, names, case=case)


def _expect_shape(t: Tester, got, shape: tuple, what: str, hint: str, case: dict) -> None:
    """Fail with the question's own ``hint`` when an array has the wrong shape."""
    if isinstance(got, np.ndarray) and got.shape != shape:
        t.fail(f"{what} has shape {got.shape}, expected {shape} (the shape of the input it is the gradient of).",
               hint=hint, case=case)


# -- 1. one neuron, by the chain rule ----------------------------------------------------------------
@question("05.neuron_backward", title="Backward through one neuron: L = (tanh(w.x + b) - y)^2")
def _check_neuron(t: Tester):
    for n in [3, 1, 5, int(t.rng.integers(2, 8))]:
        w, x = t.rng.standard_normal(n), t.rng.standard_normal(n)
        b, y = float(t.rng.uniform(-1, 1)), float(t.rng.choice([-1.0, 1.0]))
        case = {"w": w, "x": x, "b": b, "y": y}
        dw_ref, db_ref = engine_grads(lambda w_, b_: ((w_ @ Tensor(x) + b_).tanh() - y) ** 2, w, b)
        dw, db = _parts(t, t.call(w, x, b, y), ("dw", "db"), case)
        z = w @ x + b
        a = np.tanh(z)
        local = 2 * (a - y)
        slips = {  # wrong values of dL/dz; dL/db = dL/dz and dL/dw = dL/dz * x
            "The outer derivative of (a - y)^2 is 2(a - y): the factor 2 is missing.": local / 2 * (1 - a * a),
            "You left out the local derivative of tanh: multiply by tanh'(z) = 1 - tanh(z)^2.": local,
            "tanh'(z) = 1 - tanh(z)^2 uses the OUTPUT a = tanh(z), not 1 - z^2.": local * (1 - z * z),
            "tanh'(z) = 1 - tanh(z)^2: the tanh is squared.": local * (1 - a),
            "The sign is off: d/da (a - y)^2 = 2(a - y), not 2(y - a).": -local * (1 - a * a),
        }
        t.expect_close(db, db_ref, case=case, what="dL/db", mistakes=slips)
        t.expect_close(dw, dw_ref, case=case, what="dL/dw", mistakes={
            **{hint: dz * x for hint, dz in slips.items()},
            "dz/dw_i = x_i: multiply dL/dz by the input x (dL/dw = dL/dz * x).": np.full(n, local * (1 - a * a)),
        })


# -- 2.-4. activations ------------------------------------------------------------------------------
def _activation_cases(t: Tester) -> list[tuple[np.ndarray, np.ndarray]]:
    shapes = [(5,), (3, 4), (1,), tuple(int(s) for s in t.rng.integers(1, 5, 2))]
    return [(2 * t.rng.standard_normal(s), t.rng.standard_normal(s)) for s in shapes]


@question("05.tanh_backward", title="Backward through tanh")
def _check_tanh(t: Tester):
    for x, g in _activation_cases(t):
        case = {"x": x, "grad_out": g}
        th = np.tanh(x)
        t.expect_close(t.call(x, g), engine_grads(lambda v: v.tanh(), x, grad_out=g)[0], case=case, mistakes={
            "Multiply the local derivative by the incoming gradient grad_out (the chain rule).": 1 - th**2,
            "tanh'(x) = 1 - tanh(x)^2, evaluated at tanh(x), not 1 - x^2.": g * (1 - x**2),
            "tanh'(x) = 1 - tanh(x)^2: square the tanh.": g * (1 - th),
            "That is grad_out * tanh(x), the forward value; the derivative is 1 - tanh(x)^2.": g * th,
        })


@question("05.sigmoid_backward", title="Backward through the sigmoid")
def _check_sigmoid(t: Tester):
    for x, g in _activation_cases(t):
        case = {"x": x, "grad_out": g}
        s = 1 / (1 + np.exp(-x))
        t.expect_close(t.call(x, g), engine_grads(lambda v: v.sigmoid(), x, grad_out=g)[0], case=case, mistakes={
            "Multiply the local derivative by the incoming gradient grad_out (the chain rule).": s * (1 - s),
            "sigma'(x) = sigma(x)(1 - sigma(x)), evaluated at s = sigma(x), not x(1 - x).": g * x * (1 - x),
            "sigma'(x) = sigma(x) (1 - sigma(x)): the factor (1 - sigma(x)) is missing.": g * s,
        })


@question("05.relu_backward", title="Backward through ReLU")
def _check_relu(t: Tester):
    for x, g in _activation_cases(t):
        x = x.copy()
        x.flat[:: max(1, x.size // 2)] = 0.0  # exact zeros: the kink, where the convention decides
        case = {"x": x, "grad_out": g}
        t.expect_close(t.call(x, g), engine_grads(lambda v: v.relu(), x, grad_out=g)[0], case=case, mistakes={
            "That is only the mask [x > 0]: multiply it by the incoming gradient grad_out.": (x > 0) * 1.0,
            "The mask comes from the INPUT x (where the unit was active), not from grad_out.": np.maximum(g, 0),
            "At the kink x = 0 the convention (PyTorch's) is ReLU'(0) = 0: use x > 0, not x >= 0.": g * (x >= 0),
            "That is grad_out * relu(x); the derivative of ReLU is 1 where x > 0 and 0 elsewhere.":
                g * np.maximum(x, 0),
        })


# -- 5.-7. broadcasting and reductions ------------------------------------------------------------------
@question("05.add_backward", title="Backward through Z = X + b, with b broadcast")
def _check_add(t: Tester):
    N, d = int(t.rng.integers(2, 6)), int(t.rng.integers(2, 6))
    for b_shape in [(d,), (1, d), (N, 1), (), (N, d)]:
        X, b, dZ = t.rng.standard_normal((N, d)), t.rng.standard_normal(b_shape), t.rng.standard_normal((N, d))
        case = {"X": X, "b": b, "dZ": dZ}
        dX_ref, db_ref = engine_grads(lambda x_, b_: x_ + b_, X, b, grad_out=dZ)
        dX, db = _parts(t, t.call(X, b, dZ), ("dX", "db"), case)
        _expect_shape(t, dX, X.shape, "dX", "dL/dX = dZ: X is not broadcast, so its gradient is dZ itself.", case)
        _expect_shape(t, db, b.shape, "db", _BROADCAST_HINT, case)
        t.expect_close(dX, dX_ref, case=case, what="dL/dX")
        t.expect_close(db, db_ref, case=case, what="dL/db", mistakes={
            "Each copy of b passes on its gradient: SUM dZ over the broadcast axes, do not average it.":
                db_ref * b.size / dZ.size,
        })


@question("05.sum_backward", title="Backward through a sum over an axis")
def _check_sum(t: Tester):
    shape = (int(t.rng.integers(2, 6)), int(t.rng.integers(2, 6)))
    for axis, keepdims in [(None, False), (0, False), (1, False), (1, True), (0, True), (-1, False)]:
        x = t.rng.standard_normal(shape)
        g = t.rng.standard_normal(np.sum(x, axis=axis, keepdims=keepdims).shape)
        case = {"x": x, "grad_out": g, "axis": axis, "keepdims": keepdims}
        got = t.call(x, g, axis, keepdims)
        _expect_shape(t, got, x.shape, "dx", "Every entry of x that went into a sum receives that sum's gradient: "
                      "broadcast grad_out back to x's shape (np.broadcast_to, or x * 0 + ...).", case)
        t.expect_close(got, engine_grads(lambda v: v.sum(axis=axis, keepdims=keepdims), x, grad_out=g)[0], case=case,
                       mistakes={"The gradient of a sum is the incoming gradient, copied: multiply by grad_out, "
                                 "not just ones.": np.ones_like(x)})
    # Square x: grad_out of shape (n,) from axis=1 broadcasts without error, but along the wrong axis.
    n = int(t.rng.integers(2, 6))
    x, g = t.rng.standard_normal((n, n)), t.rng.standard_normal(n)
    t.expect_close(t.call(x, g, 1, False), np.broadcast_to(g[:, None], x.shape), case={"x": x, "grad_out": g, "axis": 1},
                   mistakes={"Without keepdims the summed axis is gone: put it back first (np.expand_dims(grad_out, "
                             "axis)), or grad_out broadcasts along the wrong axis.": np.broadcast_to(g, x.shape)})


@question("05.mean_backward", title="Backward through a mean over an axis")
def _check_mean(t: Tester):
    shape = (int(t.rng.integers(2, 7)), int(t.rng.integers(2, 7)))
    for axis in [None, 0, 1, -1]:
        x = t.rng.standard_normal(shape)
        g = t.rng.standard_normal(np.mean(x, axis=axis).shape)
        case = {"x": x, "grad_out": g, "axis": axis}
        got = t.call(x, g, axis)
        ref = engine_grads(lambda v: v.mean(axis=axis), x, grad_out=g)[0]
        _expect_shape(t, got, x.shape, "dx", "Broadcast grad_out back to x's shape (restore the averaged axis "
                      "with np.expand_dims(grad_out, axis)), then divide by N.", case)
        n = x.size if axis is None else x.shape[axis]
        t.expect_close(got, ref, case=case, mistakes={
            "A mean is a sum times 1/N: the 1/N is missing (N = the number of entries averaged).": ref * n,
            "N is the number of entries in EACH mean (x.shape[axis]), not the size of all of x.": ref * n / x.size,
            "Divide by N once, not by N^2.": ref / n,
        })


# -- 8. the matrix product, batched ---------------------------------------------------------------------
@question("05.matmul_backward", title="Backward through C = A B (A may be a batch of matrices)")
def _check_matmul(t: Tester):
    cases = [((3, 3), (3, 3)), ((2, 4), (4, 3)), ((1, 3), (3, 1)),
             ((int(t.rng.integers(2, 4)), 3, 3), (3, 3)), ((2, 3, 4), (4, 2))]
    for a_shape, b_shape in cases:
        A, B = t.rng.standard_normal(a_shape), t.rng.standard_normal(b_shape)
        dC = t.rng.standard_normal(np.matmul(A, B).shape)
        case = {"A": A, "B": B, "dC": dC}
        dA_ref, dB_ref = engine_grads(lambda a_, b_: a_ @ b_, A, B, grad_out=dC)
        dA, dB = _parts(t, t.call(A, B, dC), ("dA", "dB"), case)
        _expect_shape(t, dA, A.shape, "dA", _TRANSPOSE_HINT, case)
        if A.ndim == 3 and isinstance(dB, np.ndarray) and dB.shape == (A.shape[0],) + B.shape:
            t.fail("dB holds one gradient per matrix of the batch.", case=case,
                   hint="B was used by every matrix of the batch (broadcast): SUM the per-matrix gradients "
                        "A_i^T dC_i over the batch axis.")
        _expect_shape(t, dB, B.shape, "dB", _TRANSPOSE_HINT, case)
        At, Bt = np.swapaxes(A, -1, -2), np.swapaxes(B, -1, -2)
        batch_sum = (lambda M: M.sum(axis=0)) if A.ndim == 3 else (lambda M: M)
        t.expect_close(dA, dA_ref, case=case, what="dL/dA", mistakes=_possible(A.shape, {
            "dC B (no transpose): dL/dA = dC B^T.": lambda: dC @ B,
            "B^T dC is the wrong order: dL/dA = dC B^T (dC on the left).": lambda: Bt @ dC,
        }))
        t.expect_close(dB, dB_ref, case=case, what="dL/dB", mistakes=_possible(B.shape, {
            "A dC is missing the transpose: dL/dB = A^T dC.": lambda: batch_sum(A @ dC),
            "dC A^T is the wrong order: dL/dB = A^T dC (A^T on the left).": lambda: batch_sum(dC @ At),
            "Sum over the batch, do not average: B was used once per matrix.":
                lambda: (At @ dC).mean(axis=0) if A.ndim == 3 else None,
        }))


def _possible(shape: tuple, candidates: dict) -> dict:
    """The candidate slips that can be computed for these shapes (a slip may not even multiply)."""
    found = {}
    for hint, make in candidates.items():
        try:
            value = make()
        except ValueError:
            continue
        if value is not None and value.shape == shape:
            found[hint] = value
    return found


# -- 9. softmax cross-entropy ---------------------------------------------------------------------------
@question("05.softmax_ce_backward", title="Backward through the mean softmax cross-entropy")
def _check_softmax_ce(t: Tester):
    for N, K in [(4, 3), (1, 5), (3, 3), (int(t.rng.integers(2, 9)), int(t.rng.integers(2, 6)))]:
        Z, y = 2 * t.rng.standard_normal((N, K)), t.rng.integers(0, K, N)
        case = {"Z": Z, "y": y}
        ref = engine_grads(lambda z: F.cross_entropy(z, y), Z)[0]
        S, Y = softmax(Z, axis=1), one_hot(y, K)
        mistakes = {
            "The loss is a MEAN over the N examples: divide by N.": S - Y,
            "The sign is flipped: dL/dZ = (softmax(Z) - Y) / N, prediction minus target.": (Y - S) / N,
            "Subtract the one-hot targets: dL/dZ = (softmax(Z) - Y) / N.": S / N,
            "The softmax runs over each ROW (the K classes of one example, axis=1), not down the columns.":
                (softmax(Z, axis=0) - Y) / N,
            "Use the probabilities softmax(Z), not the logits Z: dL/dZ = (softmax(Z) - Y) / N.": (Z - Y) / N,
        }
        if N == 1:
            mistakes.pop("The loss is a MEAN over the N examples: divide by N.")
            mistakes.pop("The softmax runs over each ROW (the K classes of one example, axis=1), not down the "
                         "columns.")
        t.expect_close(t.call(Z, y), ref, case=case, mistakes=mistakes)


# -- 10. a whole two-layer network ---------------------------------------------------------------------------
def _two_layer(X, y, W1, b1, W2, b2):
    return F.cross_entropy(F.linear(F.linear(Tensor(X), W1, b1).relu(), W2, b2), y)


@question("05.two_layer_backward", title="The full backward pass of a two-layer network")
def _check_two_layer(t: Tester):
    for N, d, n_h, K in [(5, 3, 4, 3), (1, 2, 3, 2), (6, 4, 4, 4), tuple(int(v) for v in t.rng.integers(2, 7, 4))]:
        X, y = t.rng.standard_normal((N, d)), t.rng.integers(0, K, N)
        params = {"W1": t.rng.standard_normal((n_h, d)), "b1": 0.5 * t.rng.standard_normal(n_h),
                  "W2": t.rng.standard_normal((K, n_h)), "b2": 0.5 * t.rng.standard_normal(K)}
        case = {"X": X, "y": y, **params}
        refs = dict(zip(params, engine_grads(lambda *p: _two_layer(X, y, *p), *params.values())))
        got = t.call(X, y, *params.values())
        if not isinstance(got, dict) or set(got) != set(params):
            t.fail(f"Expected a dict with keys 'W1', 'b1', 'W2', 'b2', but got "
                   f"{sorted(got) if isinstance(got, dict) else type(got).__name__}.",
                   hint='Return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}.', case=case)
        # The slips, computed by hand: no 1/N, no ReLU mask.
        Z1 = X @ params["W1"].T + params["b1"]
        A1 = np.maximum(Z1, 0)
        dZ2 = (softmax(A1 @ params["W2"].T + params["b2"], axis=1) - one_hot(y, K)) / N
        dZ1_unmasked = dZ2 @ params["W2"]
        slips = {
            "The loss is a mean over the N examples: dL/dZ2 = (softmax(Z2) - Y) / N; the 1/N is missing.":
                {k: N * v for k, v in refs.items()},
            "Back through the ReLU, multiply by its derivative: dL/dZ1 = (dL/dA1) * (Z1 > 0), the mask is missing.":
                {"W1": dZ1_unmasked.T @ X, "b1": dZ1_unmasked.sum(axis=0)},
        }
        for key in ["W2", "b2", "W1", "b1"]:
            hint = _TRANSPOSE_HINT if key.startswith("W") else ("A bias is added to every example (broadcast "
                                                                "over the rows): sum its gradient over axis 0.")
            _expect_shape(t, got[key], params[key].shape, f"dL/d{key}", hint, case)
            t.expect_close(got[key], refs[key], case=case, what=f"dL/d{key}",
                           mistakes={h_: s[key] for h_, s in slips.items() if key in s})


# -- 11. gradient checking --------------------------------------------------------------------------------
_CHECK_FUNCTIONS = [
    (lambda x: np.sum(np.sin(x) * x), lambda x: np.cos(x) * x + np.sin(x)),
    (lambda x: np.log(np.sum(np.exp(x))), lambda x: softmax(x)),
    (lambda x: np.sum(x**3) / 3 + x[0] * x[-1], lambda x: x**2 + np.eye(len(x))[0] * x[-1] + np.eye(len(x))[-1] * x[0]),
]


@question("05.grad_relative_error", title="Relative error of an analytic gradient (gradient checking)")
def _check_relative_error(t: Tester):
    for f, grad in _CHECK_FUNCTIONS:
        n = int(t.rng.integers(2, 6))
        x = t.rng.uniform(-1.5, 1.5, n)
        bugs = [grad, lambda v, g=grad: 1.01 * g(v), lambda v, g=grad: g(v) * np.where(np.arange(len(v)) == 0, -1, 1),
                lambda v, g=grad: g(v) + 0.1]
        for which, analytic in enumerate(bugs):
            case = {"f": "a test function", "x": x, "grad": "correct" if which == 0 else f"with bug #{which}"}
            got = t.call(f, analytic, x.copy())
            if isinstance(got, GradcheckResult):
                t.fail("You returned the whole GradcheckResult; the question asks for the relative error (a float).",
                       hint="Return gradcheck(f, grad, x).relative_error.", case=case)
            ref = gradcheck(f, analytic, x)
            a, num = analytic(x), numerical_gradient(f, x)
            mistakes = {
                "That is the absolute error ||a - n||; divide it by max(||a||, ||n||) to make it relative.":
                    np.linalg.norm(a - num),
                "The course's relative error compares whole vectors, ||a - n|| / max(||a||, ||n||), not the "
                "largest element-wise ratio |a_i - n_i| / |n_i|.": np.max(np.abs(a - num) / np.abs(num)),
            }
            if which == 0:  # any accurate difference scheme gives a tiny error: check it is tiny
                t.expect(np.isfinite(got) and 0 <= float(got) <= 1e-7,
                         f"For a CORRECT gradient the relative error should be below 1e-7, got {got!r}.",
                         hint="Use central differences in float64 (course_lib.gradcheck does), and divide the "
                              "norm of the difference by max(||a||, ||n||).", case=case)
            else:
                t.expect_close(got, ref.relative_error, rtol=1e-3, atol=1e-9, case=case, mistakes=mistakes)


# -- 12. initialization scale ---------------------------------------------------------------------------------
@question("05.init_std", title="Xavier and He initialization: the standard deviation of the weights")
def _check_init(t: Tester):
    sizes = [(100, 100), (784, 256), (3, 50), tuple(int(v) for v in t.rng.integers(1, 500, 2))]
    for scheme in ["xavier", "he"]:
        for fan_in, fan_out in sizes:
            case = {"scheme": scheme, "fan_in": fan_in, "fan_out": fan_out}
            ref = init_std(scheme, fan_in, fan_out)
            mistakes = {
                "That is the VARIANCE; the standard deviation is its square root.": ref**2,
                "Xavier averages the fans: sqrt(2 / (fan_in + fan_out)), not sqrt(1 / fan_in).":
                    np.sqrt(1 / fan_in) if scheme == "xavier" else None,
                "sqrt(6 / (fan_in + fan_out)) is the BOUND of Xavier's uniform version; the std is sqrt(2 / "
                "(fan_in + fan_out)).": np.sqrt(6 / (fan_in + fan_out)) if scheme == "xavier" else None,
                "He uses fan_in (the forward pass through ReLU), sqrt(2 / fan_in), not fan_out.":
                    np.sqrt(2 / fan_out) if scheme == "he" and fan_in != fan_out else None,
                "He has a factor 2 to make up for the half of the inputs ReLU sets to zero: sqrt(2 / fan_in).":
                    np.sqrt(1 / fan_in) if scheme == "he" else None,
            }
            t.expect_close(t.call(scheme, fan_in, fan_out), ref, case=case,
                           mistakes={h: m for h, m in mistakes.items() if m is not None})


# -- 13. backward() itself ----------------------------------------------------------------------------------
# The learner writes the engine's backward pass: a topological order, then one loop in reverse. The check
# builds engine graphs (float64) twice from the same draws: one for the learner's function, one for the
# engine's own Tensor.backward, and compares every node's .grad. The likely slips are computed by
# _one_pass on further copies, so that a wrong answer is told which slip it made.
_ENGINE_OFF = "the check has switched off Tensor.backward and topological_order while your function runs"
_HINT_ENGINE = ("Write the pass yourself with node._prev and node._backward: calling the engine's backward() or "
                "its topological_order is what this exercise replaces (the check switches them off).")
_HINT_SEED = ("Start from the root's own gradient, d root/d root = 1, an array of ones of the root's shape "
              "(np.ones_like(root.data)): without it nothing flows back; with zeros every gradient is 0, and with "
              "root.data every gradient is scaled by the root's value.")
_HINT_PARTIAL = ("This node is used more than once, and its .grad holds only part of the SUM of the gradients its "
                 "uses send back (the multivariable chain rule adds them all). Either one share overwrote the "
                 "others instead of being added to them, or the node was processed before every node that uses it "
                 "had passed on its share. Add each share to what the node has so far, and visit the nodes in "
                 "reverse topological order.")
_HINT_CONSUMERS = ("A node above this one passed its gradient on before every node that uses it had added its "
                   "share, so it passed on too little. List the nodes so that each comes AFTER all of its inputs "
                   "(append a node only once its inputs are done), then walk that list backwards. The order in "
                   "which a depth-first search first reaches the nodes is not such an order.")
_HINT_REVERSE = ("Walk the topological order in REVERSE, from the root to the leaves: a node's gradient is "
                 "complete only once every node that uses it (all later in the order) has passed on its share.")
_HINT_EVERY_NODE = ("Set .grad on every node that requires grad, the intermediate results too (the engine keeps "
                    "them for inspection), not only on the leaves.")
_HINT_PATHS = ("Each node must pass its gradient on ONCE, after all the nodes that use it. A recursion that "
               "follows every path from the root calls a node's rule once per path: here each node is used "
               "twice, so {depth} levels make 2^{depth} paths. Sort the nodes topologically first.")
_HINT_DEEP = ("This graph is {n} nodes deep, like an unrolled network, and Python stops a recursion at about "
              "1,000 levels. Find the order with a loop and a stack of your own (for example a stack of "
              "(node, inputs_done) pairs) instead of a recursive visit.")


def _random_graph(rng) -> Tensor:
    """A scalar root over random ops whose operands are drawn from every node built so far (shared uses)."""
    n = int(rng.integers(2, 5))
    pool = [Tensor(rng.standard_normal(n), requires_grad=True) for _ in range(int(rng.integers(2, 4)))]
    W = Tensor(rng.standard_normal((n, n)) / np.sqrt(n), requires_grad=True)
    M = Tensor(rng.standard_normal((int(rng.integers(2, 4)), n)), requires_grad=True)
    const = Tensor(rng.standard_normal(n))  # needs no gradient: the rules hand back None for it
    for _ in range(int(rng.integers(6, 11))):
        a, b = (pool[int(rng.integers(len(pool)))] for _ in range(2))
        op = int(rng.integers(6))
        pool.append([lambda: a + b, lambda: (a * b).tanh(), lambda: (a - const).tanh(), lambda: W @ a,
                     lambda: (M * a).sum(axis=0) * 0.5, lambda: (a * a).sigmoid()][op]())
    last, before = pool[-1], pool[int(rng.integers(len(pool) - 1))]
    return (last * before).sum() + last.tanh().sum()  # `last` is used twice, whatever the draws


def _ladder(rng, depth: int) -> Tensor:
    """y <- y a + y b, ``depth`` times: every y is used twice, so 2^depth paths lead from the root to y_0."""
    y, a, b = (Tensor(rng.uniform(lo, hi, 3), requires_grad=True) for lo, hi in [(-1, 1), (0.3, 0.6), (0.3, 0.6)])
    for _ in range(depth):
        y = y * a + y * b
    return y.sum()


def _deep_chain(rng, steps: int) -> Tensor:
    """h <- tanh(h / 2 + b), ``steps`` times (3 nodes per step), with one bias b shared by every step."""
    h, b = Tensor(rng.standard_normal(4), requires_grad=True), Tensor(0.5 * rng.standard_normal(4), requires_grad=True)
    for _ in range(steps):
        h = (h * 0.5 + b).tanh()
    return h.sum()


def _preorder(root) -> list:
    """The order in which a depth-first search first reaches the nodes (a node before its inputs)."""
    order, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            order.append(node)
            stack.extend(reversed(node._prev))
    return order


def _one_pass(root, order, seed) -> tuple[dict, dict]:
    """Visit ``order`` once, each node passing on what it has when visited (a slip when the order or the sum is
    wrong). Returns the gradients by id(node) as they were when each node was visited, and as they ended up
    (they differ when shares arrive after a node was visited)."""
    grads, at_visit = {id(root): seed}, {}
    for node in order:
        g = grads.get(id(node))
        if g is None:
            continue
        at_visit[id(node)] = g
        if node.is_leaf:
            continue
        for u, gu in zip(node._prev, node._backward(g)):
            if gu is not None and u.requires_grad:
                grads[id(u)] = grads[id(u)] + gu if id(u) in grads else gu
    return at_visit, grads


def _needing_grad(root) -> list:
    """The nodes of ``root``'s graph that require grad, the root first (reverse topological order)."""
    return [v for v in reversed(topological_order(root)) if v.requires_grad]


@contextlib.contextmanager
def _engine_off():
    """Tensor.backward and topological_order raise while the learner's pass runs (restored on any exit)."""
    import course_lib.autograd as package
    from course_lib.autograd import graph

    def refuse(*args, **kwargs):
        raise RuntimeError(_ENGINE_OFF)

    saved = Tensor.backward, graph.topological_order, package.topological_order
    Tensor.backward, graph.topological_order, package.topological_order = refuse, refuse, refuse
    try:
        yield
    finally:
        Tensor.backward, graph.topological_order, package.topological_order = saved


def _learner_pass(t: Tester, root, case: dict, failure_hint: str | None = None):
    """Run the learner's backward(root) with the engine switched off; name the engine, deep or slow failures."""
    try:
        with _engine_off():
            return t.call(root)
    except CheckFailed as exc:
        exc.case = format_case(case)  # the graph's description, not the repr of its root
        if _ENGINE_OFF in exc.message:
            exc.hint = _HINT_ENGINE
        elif failure_hint and ("RecursionError" in exc.message or "did not finish" in exc.message):
            exc.hint = failure_hint
        raise


def _slips(make) -> dict:
    """hint -> the ways (see :func:`_one_pass`) each likely slip leaves the gradients of a fresh graph: lists
    with the root first and None where no gradient arrives."""
    in_reverse = lambda r: list(reversed(topological_order(r)))  # noqa: E731
    found = {}
    for hint, order, seed, variants in [(_HINT_CONSUMERS, _preorder, np.ones_like, (1,)),
                                        (_HINT_REVERSE, topological_order, np.ones_like, (0, 1)),
                                        (_HINT_SEED, in_reverse, np.copy, (0, 1))]:
        root = make()
        passes = _one_pass(root, order(root), seed(root.data))
        found[hint] = [[passes[i].get(id(v)) for v in _needing_grad(root)] for i in variants]
    return found


def _partial_sums(reference) -> list:
    """For each node that requires grad (root first): the sums of some but not all of the shares its uses send back
    in the engine's pass on ``reference`` (what overwriting, or processing a node too early, leaves)."""
    users = {}
    for node in topological_order(reference):
        for position, u in enumerate(node._prev):
            users.setdefault(id(u), []).append((node, position))
    partial = []
    for node in _needing_grad(reference):
        shares = [g for g in (user._backward(user.grad)[k] for user, k in users.get(id(node), [])) if g is not None]
        if not 2 <= len(shares) <= 6:  # used once (nothing to sum), or too often to list the subsets
            partial.append([])
            continue
        subsets = itertools.chain.from_iterable(itertools.combinations(shares, r) for r in range(1, len(shares)))
        partial.append([sum(subset[1:], subset[0]) for subset in subsets])
    return partial


def _nearest(got: np.ndarray, variants: list, like: np.ndarray) -> np.ndarray:
    """The variant of a slip closest to the learner's answer (a missing gradient counts as zeros)."""
    arrays = [np.zeros_like(like) if v is None else np.asarray(v) for v in variants]
    if got.shape != like.shape:
        return arrays[0]
    return min(arrays, key=lambda a: float(np.max(np.abs(a - got))) if a.shape == got.shape else np.inf)


def _what(k: int, node) -> str:
    return "The root's .grad" if k == 0 else f"The .grad of an output of op {node._op or 'leaf'!r}"


def _missing_hint(nodes: list, missing: list, returned) -> str:
    """Why some nodes have no .grad: a dict returned instead, no seed, leaves or intermediates skipped, order."""
    if len(missing) == len(nodes):
        return ("Set node.grad on the nodes themselves (the check reads .grad); returning a dictionary of "
                "gradients is not enough.") if isinstance(returned, dict) else _HINT_SEED
    if all(v.is_leaf for v in missing):
        return "Set .grad on the leaves too: their gradients are the ones training needs."
    if all(v.grad is not None for v in nodes if v.is_leaf):
        return _HINT_EVERY_NODE
    return _HINT_REVERSE


@question("05.backward", title="backward() itself: a topological order, then one loop")
def _check_backward(t: Tester):
    cases = [("a random graph with shared subexpressions", _random_graph, {}, None) for _ in range(3)]
    cases += [("a ladder y <- y a + y b, 30 levels deep", _ladder, {"depth": 30}, _HINT_PATHS.format(depth=30)),
              ("a chain h <- tanh(h / 2 + b), 2,500 steps", _deep_chain, {"steps": 2500},
               _HINT_DEEP.format(n=3 * 2500))]
    for description, build, sizes, failure_hint in cases:
        # A right pass takes milliseconds on the ladder; one that follows all 2^30 paths never ends: stop it soon.
        t.time_limit_s = 3.0 if build is _ladder else 10.0
        def make(build=build, sizes=sizes, seed=int(t.rng.integers(2**31))):
            return build(np.random.default_rng(seed), **sizes)  # the same graph, as often as needed

        root = make()
        nodes = _needing_grad(root)
        case = {"graph": f"{description}: {len(nodes)} nodes that require grad"}
        returned = _learner_pass(t, root, case, failure_hint)
        reference = make()
        reference.backward()  # the engine's own pass
        expected = [v.grad for v in _needing_grad(reference)]
        missing = [v for v in nodes if v.grad is None]
        if missing:
            t.fail(f"{len(missing)} of the {len(nodes)} nodes that require grad have no .grad after your pass "
                   f"(the first: an output of op {missing[0]._op or 'leaf'!r}, shape {missing[0].shape}).",
                   hint=_missing_hint(nodes, missing, returned), case=case)
        grads = []
        for k, node in enumerate(nodes):
            try:
                got = np.asarray(node.grad, dtype=np.float64)
            except (TypeError, ValueError):
                t.fail(f"{_what(k, node)} is {format_value(node.grad)}, not an array of numbers.", case=case,
                       hint="Store each gradient as the array the rules pass on (the root's: np.ones_like(root.data)).")
            grads.append(got)
            if got.shape != node.shape:
                t.fail(f"{_what(k, node)} has shape {got.shape}, but the node has shape {node.shape}.", case=case,
                       hint="A gradient has the shape of its tensor: d root/d node is shaped like node.data (seed "
                            "the root with np.ones_like(root.data), and pass each rule's results on unchanged).")
        if not np.any(grads[0]):
            t.fail("The root's .grad is 0.", hint=_HINT_SEED, case=case)
        # The same float64 shares, summed in another order: a few ulps per addition, at most a few thousand
        # additions along any path, so the sums agree to ~1e-12 of the largest gradient; 1e-9 leaves room.
        atol = 1e-10 * max(1.0, max(float(np.max(np.abs(w))) for w in expected))
        if all(np.allclose(g, w, rtol=1e-9, atol=atol) for g, w in zip(grads, expected)):
            continue
        # Wrong somewhere: name the first wrong node from the root down, and the slip that explains it.
        slips = _slips(make) if len(nodes) < 1000 else {}  # the deep chain's slips fail above (time, recursion)
        partial = _partial_sums(reference)
        for k, (node, got, want) in enumerate(zip(nodes, grads, expected)):
            mistakes = {hint: _nearest(got, [v[k] for v in variants], want) for hint, variants in slips.items()}
            if partial[k]:
                mistakes[_HINT_PARTIAL] = _nearest(got, partial[k], want)
            t.expect_close(got, want, case=case, what=_what(k, node), rtol=1e-9, atol=atol, mistakes=mistakes)
