r"""Chapter 06: the graded questions on update rules, a schedule, mini-batch noise, step sizes on quadratics
and escaping a saddle.

The reference answers are :mod:`course_lib.optim` itself: the pure update functions that the
``torch.optim``-compatible classes run (so a learner who passes here has written PyTorch's
algorithm, down to where :math:`\epsilon` goes), the closed-form schedules, and the theory of
:mod:`course_lib.optim.quadratic`. Every check draws fresh parameters, gradients, states and
hyper-parameters from ``t.rng``; ``mistakes`` lists the usual slips (momentum's sign, the
learning rate inside the buffer, :math:`\epsilon` inside the square root, the bias correction
one step off, L2 instead of decoupled decay) with a hint aimed at each.

Three questions ask for a derivation or an experiment rather than a formula the text gives:
the noise of a mini-batch gradient against the batch size (estimated by sampling; accepted
within :data:`MINIBATCH_Z` standard errors of :math:`\tfrac vB\tfrac{N-B}{N-1}`), the largest
stable step of Nesterov momentum (derived, or found by bisection; :data:`NESTEROV_RTOL`), and the
number of steps gradient descent needs to leave a saddle (simulated, or predicted by the linear
law within one step).

An update returns a tuple: the new parameters and the new state. The state is compared
first, so a slip in the running averages is named before its consequence for the parameters.
"""
from __future__ import annotations

import math

import numpy as np

from course_lib.grading import Tester, question
from course_lib.optim import functional as F
from course_lib.optim import quadratic as Q
from course_lib.optim import stochastic as S


# -- helpers -----------------------------------------------------------------------------------------
def _arrays(t: Tester, n_cases: int = 4):
    """Shapes for the cases: a vector, a matrix (a weight), a single coordinate, a random vector."""
    return [(5,), (3, 4), (1,), (int(t.rng.integers(2, 9)),)][:n_cases]


def _check_parts(t: Tester, got, expected: dict, mistakes: dict, case: dict, order: tuple[str, ...],
                 parts: tuple | None = None) -> None:
    """Compare each named result (in ``order``: states first) with its reference and its slips.

    A result that equals another one's reference gets the hint to return them in the right order.
    """
    parts = dict(zip(expected, parts if parts is not None else t.parts(got, tuple(expected), case=case)))
    swapped = f"Return the results in this order: `return {', '.join(expected)}`."
    for name in order:
        slips = dict(mistakes.get(name, {}))
        for other, value in expected.items():
            if other != name and np.shape(value) == np.shape(expected[name]):
                slips.setdefault(swapped, value)
        t.expect_close(parts[name], expected[name], case=case, what=f"Your {name}", mistakes=slips)


def _noisy_slips(got, expected: float, atol: float, slips: dict, rel: float = 0.3) -> dict:
    """The ``mistakes`` for a Monte-Carlo estimate. A slip's own estimate scatters on its own scale (a square root
    or a sum scatters more than the right estimate, and an estimate from few effective degrees of freedom by tens
    of percent), so an answer within ``rel`` of a slip's expectation, and not within ``atol`` of the right one, is
    taken to be that slip; when several slips are that close, all of them are named."""
    try:
        value = float(np.asarray(got, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        return slips
    near = {hint: value for hint, slip in slips.items()
            if abs(slip - expected) > atol and abs(value - slip) <= max(atol, rel * abs(slip))}
    return near or slips  # diagnose() names exactly these slips


def _step_case(t: Tester, shape):
    return t.rng.standard_normal(shape), 0.5 * t.rng.standard_normal(shape)


# -- 1. SGD with weight decay ------------------------------------------------------------------------
@question("06.sgd_step", title="One SGD step with L2 weight decay")
def _check_sgd_step(t: Tester):
    for shape, wd in zip(_arrays(t), [0.0, 0.1, 0.05, float(t.rng.uniform(0.01, 0.5))]):
        theta, g = _step_case(t, shape)
        lr = float(t.rng.uniform(0.01, 0.5))
        case = {"theta": theta, "grad": g, "lr": lr, "weight_decay": wd}
        expected, _ = F.sgd_update(theta, g, None, lr=lr, weight_decay=wd)
        t.expect_close(t.call(theta, g, lr, wd), expected, case=case, mistakes={
            "Descent moves against the gradient: theta - lr * (...), not +.": theta + lr * (g + wd * theta),
            "Weight decay pulls the weights towards 0: the gradient of (lambda/2)||theta||^2 is +lambda theta, "
            "so use grad + weight_decay * theta.": theta - lr * (g - wd * theta),
            "The decay term is part of the gradient, so it is scaled by lr too: theta - lr * (grad + wd * theta).":
                theta - lr * g - wd * theta,
            "Include the weight decay: the step uses grad + weight_decay * theta.": theta - lr * g,
        })


# -- 2. mini-batch noise, measured ------------------------------------------------------------------------
def _per_example_gradients(t: Tester, N: int, d: int) -> np.ndarray:
    """N per-example gradients in R^d with a clear mean (so that centring matters) and unequal spreads."""
    return 2 * t.rng.standard_normal(d) + t.rng.standard_normal((N, d)) * t.rng.uniform(0.5, 2.0, d)


def _batch_errors(G: np.ndarray, B: int, draws: int, rng) -> np.ndarray:
    """||g_B - grad L||^2 for ``draws`` batches of B rows of G drawn without replacement."""
    idx = np.argsort(rng.random((draws, len(G))), axis=1)[:, :B]
    err = G[idx].mean(axis=1) - G.mean(axis=0)
    return np.sum(err * err, axis=1)


MINIBATCH_Z = 6.0
"""06.minibatch_noise accepts a sampled estimate within this many standard errors of the exact expectation
(two-sided Gaussian tail 2e-9 per entry; the mean of 2,000 draws is close to Gaussian)."""


@question("06.minibatch_noise", title="Mini-batch gradient noise against the batch size, by sampling")
def _check_minibatch_noise(t: Tester):
    for N, d in [(24, 3), (40, 2), (int(t.rng.integers(16, 48)), int(t.rng.integers(2, 6)))]:
        G = _per_example_gradients(t, N, d)
        sizes = sorted({1, 2, N // 4, N // 2, N - 1, N})
        n_batches = 2000
        rng = np.random.default_rng(int(t.rng.integers(2**31)))
        case = {"per_example": G, "batch_sizes": sizes, "n_batches": n_batches, "rng": "a fresh Generator"}
        exact = np.array([S.minibatch_noise(G, B) for B in sizes])
        # The standard error of a mean of n_batches draws, from the spread of many more draws of our own.
        own = np.random.default_rng(int(t.rng.integers(2**31)))
        sd = np.array([_batch_errors(G, B, 4000, own).std() for B in sizes])
        scale = float(np.mean(np.sum(G * G, axis=1)))
        atol = MINIBATCH_Z * sd / np.sqrt(n_batches) + 1e-12 * scale  # B = N: exactly 0 up to rounding
        v = exact[0]  # B = 1: the spread of single examples
        got = t.call(G, list(sizes), n_batches, rng)
        try:
            values = None if got is None else np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            values = None
        if values is None or values.shape != (len(sizes),):
            what = f"shape {values.shape}" if values is not None else type(got).__name__
            t.fail(f"Expected an array of {len(sizes)} numbers, one estimate per batch size, but got {what}.",
                   case=case, hint="Return one estimate per batch size in batch_sizes, in the same order: "
                                   "np.array([...]) of shape (len(batch_sizes),).")
        slips = {
            "Draw each batch WITHOUT replacement (B distinct examples, as an epoch's batches are: rng.choice(N, B, "
            "replace=False) or a slice of rng.permutation(N)). Then the noise is v/B times (N - B)/(N - 1), and "
            "the full batch B = N has none.": lambda B, e: v / B,
            "Measure the noise around the full gradient: ||g_B - grad L||^2 with grad L = G.mean(axis=0), not "
            "||g_B||^2.": lambda B, e: e + float(np.sum(G.mean(axis=0) ** 2)),
            "Take the squared NORM of g_B - grad L (the sum over the d coordinates), not the mean over them.":
                lambda B, e: e / d,
            "g_B is the MEAN of the B per-example gradients, not their sum.": lambda B, e: e * B**2,
            "Return the mean squared error itself (a variance), not its square root.": lambda B, e: np.sqrt(e),
            "Average the gradients over a batch of B examples: one example's spread v does not shrink with B.":
                lambda B, e: v,
        }
        # One comparison per batch size, each with its own standard error.
        for B, g_B, e_B, tol in zip(sizes, values, exact, atol):
            t.expect_close(g_B, e_B, case=case, rtol=0, atol=tol, what=f"Your noise at B = {B}",
                           mistakes=_noisy_slips(g_B, e_B, tol, {hint: slip(B, e_B) for hint, slip in slips.items()}))


# -- 3-4. momentum and Nesterov ---------------------------------------------------------------------------
def _momentum_case(t: Tester, shape, first: bool):
    theta, g = _step_case(t, shape)
    buf = np.zeros(shape) if first else t.rng.standard_normal(shape)
    return theta, g, buf, float(t.rng.uniform(0.01, 0.3)), float(t.rng.uniform(0.5, 0.95))


def _momentum_slips(theta, g, buf, lr, beta) -> dict:
    """Slips shared by momentum and Nesterov, for the buffer."""
    return {
        "Momentum sign: the buffer accumulates gradients, buf = momentum * buf + grad (plus), and the step is "
        "then theta - lr * (...).": beta * buf - g,
        "PyTorch keeps the learning rate outside the buffer: buf = momentum * buf + grad, then theta - lr * "
        "(...). (Putting lr inside is equivalent only while lr never changes; a schedule changes it.)":
            beta * buf + lr * g,
        "That is an exponential average, buf = momentum * buf + (1 - momentum) * grad: PyTorch adds the whole "
        "gradient, buf = momentum * buf + grad (dampening = 0).": beta * buf + (1 - beta) * g,
    }


@question("06.momentum_step", title="One step of SGD with momentum (heavy ball, PyTorch's form)")
def _check_momentum_step(t: Tester):
    for i, shape in enumerate(_arrays(t)):
        theta, g, buf, lr, beta = _momentum_case(t, shape, first=i == 0)
        case = {"theta": theta, "grad": g, "buf": buf, "lr": lr, "momentum": beta}
        new, state = F.sgd_update(theta, g, {"momentum_buffer": buf}, lr=lr, momentum=beta)
        new_buf = state["momentum_buffer"]
        _check_parts(t, t.call(theta, g, buf, lr, beta), {"new theta": new, "new buffer": new_buf}, {
            "new buffer": _momentum_slips(theta, g, buf, lr, beta),
            "new theta": {
                "Step with the NEW buffer: first buf = momentum * buf + grad, then theta - lr * buf.": theta - lr * buf,
                "The step subtracts the buffer: theta - lr * buf.": theta + lr * new_buf,
                "Only the buffer moves theta in momentum: theta - lr * buf (the gradient is already inside buf).":
                    theta - lr * (new_buf + g),
            }}, case, order=("new buffer", "new theta"))


@question("06.nesterov_step", title="One step of SGD with Nesterov momentum (PyTorch's form)")
def _check_nesterov_step(t: Tester):
    for i, shape in enumerate(_arrays(t)):
        theta, g, buf, lr, beta = _momentum_case(t, shape, first=i == 0)
        case = {"theta": theta, "grad": g, "buf": buf, "lr": lr, "momentum": beta}
        new, state = F.sgd_update(theta, g, {"momentum_buffer": buf}, lr=lr, momentum=beta, nesterov=True)
        new_buf = state["momentum_buffer"]
        _check_parts(t, t.call(theta, g, buf, lr, beta), {"new theta": new, "new buffer": new_buf}, {
            "new buffer": _momentum_slips(theta, g, buf, lr, beta),
            "new theta": {
                "That is plain momentum (theta - lr * buf). Nesterov looks ahead: the step is grad + momentum * "
                "buf, with the NEW buffer.": theta - lr * new_buf,
                "Look ahead with the NEW buffer: step = grad + momentum * buf_new, after updating buf.":
                    theta - lr * (g + beta * buf),
                "The step subtracts: theta - lr * (grad + momentum * buf).": theta + lr * (g + beta * new_buf),
            }}, case, order=("new buffer", "new theta"))


# -- 5-6. AdaGrad and RMSProp --------------------------------------------------------------------------
EPS_INSIDE = ("Put epsilon OUTSIDE the square root: grad / (sqrt(v) + eps), as PyTorch does. (Inside, sqrt(v + eps), "
              "the smallest denominator is sqrt(eps) = 1e-4 for eps = 1e-8 instead of 1e-8: a different optimizer.)")


def _adaptive_case(t: Tester, shape):
    """Small gradients and a sizeable epsilon, so that where epsilon goes makes a visible difference."""
    theta = t.rng.standard_normal(shape)
    g = 0.2 * t.rng.standard_normal(shape)
    return theta, g, float(t.rng.uniform(0.01, 0.2)), float(10 ** t.rng.uniform(-3, -1.5))


@question("06.adagrad_step", title="One AdaGrad step")
def _check_adagrad_step(t: Tester):
    for i, shape in enumerate(_arrays(t)):
        theta, g, lr, eps = _adaptive_case(t, shape)
        s = np.zeros(shape) if i == 0 else 0.05 * t.rng.random(shape)
        case = {"theta": theta, "grad": g, "sum_sq": s, "lr": lr, "eps": eps}
        new, state = F.adagrad_update(theta, g, {"step": i, "sum": s}, lr=lr, eps=eps)
        s_new = state["sum"]
        _check_parts(t, t.call(theta, g, s, lr, eps), {"new theta": new, "new sum_sq": s_new}, {
            "new sum_sq": {
                "Accumulate the SQUARED gradient: sum_sq + grad ** 2.": s + g,
                "Accumulate the squared gradient, element-wise: sum_sq + grad * grad (not its absolute value).":
                    s + np.abs(g),
            },
            "new theta": {
                EPS_INSIDE: theta - lr * g / np.sqrt(s_new + eps),
                "Divide by the square ROOT of the accumulated squares: grad / (sqrt(sum_sq) + eps).":
                    theta - lr * g / (s_new + eps),
                "Use the updated sum (this step's gradient included) in the denominator.":
                    theta - lr * g / (np.sqrt(s) + eps),
            }}, case, order=("new sum_sq", "new theta"))


@question("06.rmsprop_step", title="One RMSProp step")
def _check_rmsprop_step(t: Tester):
    for i, shape in enumerate(_arrays(t)):
        theta, g, lr, eps = _adaptive_case(t, shape)
        v = np.zeros(shape) if i == 0 else 0.05 * t.rng.random(shape)
        alpha = float(t.rng.uniform(0.8, 0.99))
        case = {"theta": theta, "grad": g, "square_avg": v, "lr": lr, "alpha": alpha, "eps": eps}
        new, state = F.rmsprop_update(theta, g, {"step": i, "square_avg": v}, lr=lr, alpha=alpha, eps=eps)
        v_new = state["square_avg"]
        _check_parts(t, t.call(theta, g, v, lr, alpha, eps), {"new theta": new, "new square_avg": v_new}, {
            "new square_avg": {
                "alpha weighs the OLD average: v = alpha * v + (1 - alpha) * grad ** 2.": (1 - alpha) * v + alpha * g * g,
                "Average the SQUARED gradient: v = alpha * v + (1 - alpha) * grad ** 2.": alpha * v + (1 - alpha) * g,
                "RMSProp averages (alpha * v + (1 - alpha) * grad**2); adding grad**2 to a sum is AdaGrad.": v + g * g,
            },
            "new theta": {
                EPS_INSIDE: theta - lr * g / np.sqrt(v_new + eps),
                "Divide by the square ROOT of the average: grad / (sqrt(v) + eps).": theta - lr * g / (v_new + eps),
                "Use the updated average in the denominator.": theta - lr * g / (np.sqrt(v) + eps),
            }}, case, order=("new square_avg", "new theta"))


# -- 7-8. Adam and AdamW ------------------------------------------------------------------------------
OFF_BY_ONE = ("Bias correction off by one step: `step` counts the updates made BEFORE this one, so this update is "
              "t = step + 1 and the corrections are 1 - beta ** (step + 1). (With t = step the first update "
              "divides by 1 - beta ** 0 = 0.)")


def _adam_case(t: Tester, shape, step: int):
    theta, g, lr, eps = _adaptive_case(t, shape)
    if step == 0:
        m, v = np.zeros(shape), np.zeros(shape)
    else:
        m, v = 0.1 * t.rng.standard_normal(shape), 0.01 * t.rng.random(shape)
    b1, b2 = float(t.rng.uniform(0.8, 0.95)), float(t.rng.uniform(0.95, 0.999))
    return theta, g, m, v, lr, b1, b2, eps


def _adam_slips(theta, g, m, v, step, lr, b1, b2, eps, decay_first=None) -> dict:
    """Wrong parameters an Adam step can produce; ``decay_first`` is AdamW's decayed theta."""
    base = theta if decay_first is None else decay_first
    m1, v1 = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
    c1, c2 = 1 - b1 ** (step + 1), 1 - b2 ** (step + 1)
    slips = {
        "Correct both averages for their zero start: m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t).":
            base - lr * m1 / (np.sqrt(v1) + eps),
        EPS_INSIDE: base - lr * (m1 / c1) / np.sqrt(v1 / c2 + eps),
        "Correct v too: v_hat = v / (1 - beta2**t) (and take its square root).": base - lr * (m1 / c1) / (np.sqrt(v1) + eps),
        "Correct m too: m_hat = m / (1 - beta1**t).": base - lr * m1 / (np.sqrt(v1 / c2) + eps),
    }
    if step > 0:
        slips[OFF_BY_ONE] = base - lr * (m1 / (1 - b1 ** step)) / (np.sqrt(v1 / (1 - b2 ** step)) + eps)
    return slips


def _adam_state_slips(g, m, v, b1, b2) -> dict:
    return {
        "exp_avg": {"beta1 weighs the OLD average: m = beta1 * m + (1 - beta1) * grad.": (1 - b1) * m + b1 * g},
        "exp_avg_sq": {
            "Average the SQUARED gradient: v = beta2 * v + (1 - beta2) * grad ** 2.": b2 * v + (1 - b2) * g,
            "beta2 weighs the OLD average: v = beta2 * v + (1 - beta2) * grad ** 2.": (1 - b2) * v + b2 * g * g,
        },
    }


def _finite_first_step(t: Tester, got, case: dict) -> None:
    """On the first update (step = 0) an off-by-one bias correction divides by zero: name it."""
    try:
        arrays = [np.asarray(part, dtype=np.float64) for part in got]
    except (TypeError, ValueError):
        return
    if any(a.size and not np.all(np.isfinite(a)) for a in arrays):
        t.fail("On the first update (step = 0) your result contains nan or inf.", hint=OFF_BY_ONE, case=case)


def _check_adam_like(t: Tester, decoupled: bool):
    for shape, step in zip(_arrays(t), [0, 1, int(t.rng.integers(2, 6)), int(t.rng.integers(10, 60))]):
        theta, g, m, v, lr, b1, b2, eps = _adam_case(t, shape, step)
        wd = float(t.rng.uniform(0.05, 0.5)) if decoupled else 0.0
        case = {"theta": theta, "grad": g, "m": m, "v": v, "step": step, "lr": lr, "beta1": b1, "beta2": b2,
                "eps": eps}
        args = (theta, g, m, v, step, lr, b1, b2, eps)
        if decoupled:
            case["weight_decay"], args = wd, args + (wd,)
        state = {"step": step, "exp_avg": m, "exp_avg_sq": v}
        new, after = F.adam_update(theta, g, state, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd,
                                   decoupled_weight_decay=decoupled)
        got = t.call(*args)
        names = {"new theta": new, "new m": after["exp_avg"], "new v": after["exp_avg_sq"]}
        parts = t.parts(got, tuple(names), case=case)
        state_slips = _adam_state_slips(g, m, v, b1, b2)
        theta_slips = _adam_slips(theta, g, m, v, step, lr, b1, b2, eps,
                                  decay_first=theta * (1 - lr * wd) if decoupled else None)
        if decoupled:
            l2, l2_state = F.adam_update(theta, g, state, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
            plain, _ = F.adam_update(theta, g, state, lr=lr, betas=(b1, b2), eps=eps)
            l2_hint = ("That is Adam with L2 (weight_decay * theta added to the gradient, then divided by "
                       "sqrt(v_hat)). AdamW decays the weights directly: theta * (1 - lr * weight_decay), then the "
                       "Adam step with the plain gradient.")
            state_slips["exp_avg"][l2_hint] = l2_state["exp_avg"]
            state_slips["exp_avg_sq"][l2_hint] = l2_state["exp_avg_sq"]
            theta_slips.update({
                l2_hint: l2,
                "The decay is scaled by the learning rate: theta * (1 - lr * weight_decay).": plain - theta * wd,
                "Decay the weights BEFORE the Adam step, as PyTorch does: theta = theta * (1 - lr * wd), then the "
                "step.": plain * (1 - lr * wd),
                "Include the decoupled weight decay: theta * (1 - lr * weight_decay) before the step.": plain,
            })
        slips = {"new m": state_slips["exp_avg"], "new v": state_slips["exp_avg_sq"]}
        _check_parts(t, got, names, slips, case, order=("new m", "new v"), parts=parts)
        if step == 0:
            _finite_first_step(t, parts, case)
        _check_parts(t, got, names, {"new theta": theta_slips}, case, order=("new theta",), parts=parts)


@question("06.adam_step", title="One Adam step, with bias correction")
def _check_adam_step(t: Tester):
    _check_adam_like(t, decoupled=False)


@question("06.adamw_step", title="One AdamW step: decoupled weight decay")
def _check_adamw_step(t: Tester):
    _check_adam_like(t, decoupled=True)


# -- 9. bias correction on its own -------------------------------------------------------------------
EMA_OFF_BY_ONE = ("Bias correction off by one step: the first value is step t = 1, so divide it by 1 - beta**1. "
                  "(Counting t from 0, as `enumerate` does, divides the first value by 1 - beta**0 = 0.)")

@question("06.bias_correction", title="Bias-corrected exponential moving average")
def _check_bias_correction(t: Tester):
    for n, beta in [(5, 0.9), (20, 0.99), (int(t.rng.integers(3, 30)), float(t.rng.uniform(0.5, 0.999)))]:
        values = 1.0 + 0.3 * t.rng.standard_normal(n)
        case = {"values": values, "beta": beta}
        m = F.ema(values, beta, bias_correction=False)
        steps = np.arange(1, n + 1)
        got = t.call(values, beta)
        arr = np.asarray(got, dtype=np.float64) if isinstance(got, (np.ndarray, list, tuple)) else None
        if arr is not None and arr.shape == (n,) and not np.isfinite(arr[0]) and np.all(np.isfinite(arr[1:])):
            t.fail("Your first value is inf or nan.", hint=EMA_OFF_BY_ONE, case=case)
        t.expect_close(got, F.ema(values, beta), case=case, mistakes={
            "Divide each average by its own 1 - beta**t (t = 1, 2, ...): the raw average starts near 0.": m,
            "Bias correction off by one step: the first value is t = 1, so divide by 1 - beta**1 = 1 - beta, "
            "not 1 - beta**2.": m / (1 - beta ** (steps + 1)),
            "The correction changes with t: 1 - beta**t, not a constant 1 - beta.": m / (1 - beta),
        })


# -- 10. a schedule ----------------------------------------------------------------------------------------
def _schedule(t: Tester, got_fn, expected, ts, case, mistakes):
    """Call the learner's schedule at every t in ``ts`` and compare the whole sequence."""
    values = []
    for k in ts:
        v = got_fn(int(k))
        try:
            values.append(float(np.asarray(v, dtype=np.float64).reshape(())))
        except (TypeError, ValueError):
            t.fail(f"At t = {k} your function returned {v!r:.100}; expected one number (the learning rate).",
                   hint="Return a single float for the given step t.", case=case)
    t.expect_close(np.array(values), expected, case={**case, "t": ts}, mistakes=mistakes)


@question("06.cosine_schedule", title="Cosine annealing (CosineAnnealingLR)")
def _check_cosine(t: Tester):
    for T_max, eta_min in [(10, 0.0), (int(t.rng.integers(5, 40)), float(t.rng.uniform(1e-4, 1e-2)))]:
        base = float(t.rng.uniform(0.05, 1.0))
        ts = np.arange(0, T_max + 1)
        case = {"base_lr": base, "T_max": T_max, "eta_min": eta_min}
        cos = np.cos(np.pi * ts / T_max)
        _schedule(t, lambda k: t.call(k, base, T_max, eta_min), eta_min + (base - eta_min) * (1 + cos) / 2, ts, case, {
            "Halve the swing: eta_min + (base_lr - eta_min) * (1 + cos(pi t / T_max)) / 2.":
                eta_min + (base - eta_min) * (1 + cos),
            "The cosine's argument is pi * t / T_max: it reaches pi (the bottom) at t = T_max.":
                eta_min + (base - eta_min) * (1 + np.cos(ts / T_max)) / 2,
            "Go from base_lr DOWN to eta_min: (1 + cos(...)) / 2 is 1 at t = 0 and 0 at t = T_max.":
                eta_min + (base - eta_min) * (1 - cos) / 2,
            "Keep the floor: eta_min + (base_lr - eta_min) * (1 + cos(...)) / 2.": base * (1 + cos) / 2,
        })


# -- 11-13. step sizes on a quadratic --------------------------------------------------------------------
def _spd(t: Tester, n: int) -> tuple[np.ndarray, float, float]:
    """A random symmetric positive-definite Hessian (lambda_max/lambda_min between 3 and 300 for n > 1), any scale.

    Returns H and its extreme eigenvalues lambda_min, lambda_max.
    """
    Qm, _ = np.linalg.qr(t.rng.standard_normal((n, n)))
    lam = np.sort(np.exp(t.rng.uniform(-1, 1, n))) * 10 ** t.rng.uniform(-1, 1)
    if n > 1:
        lam[0] = lam[-1] / float(t.rng.uniform(3, 300))
    H = (Qm * lam) @ Qm.T
    return (H + H.T) / 2, float(lam.min()), float(lam.max())


@question("06.gd_rate", title="The convergence rate of gradient descent on a quadratic")
def _check_gd_rate(t: Tester):
    for n, frac in [(2, 0.5), (3, 0.95), (2, 1.2), (int(t.rng.integers(2, 7)), float(t.rng.uniform(0.1, 1.3)))]:
        H, lam_min, lam_max = _spd(t, n)
        lr = frac * 2 / lam_max  # frac > 1: past the stability limit, the rate exceeds 1
        case = {"H": H, "lr": lr}
        lam = np.linalg.eigvalsh(H)
        t.expect_close(t.call(H, lr), float(Q.gd_rate(lr, lam)), case=case, mistakes={
            "Take the absolute value: a factor 1 - lr*lambda below -1 grows the error too (that is divergence "
            "past lr = 2 / lambda_max).": float(np.max(1 - lr * lam)),
            "The rate is the WORST factor over the eigen-directions: max |1 - lr lambda_i| (both ends matter).":
                float(np.min(np.abs(1 - lr * lam))),
            "Both extreme eigenvalues matter: max(|1 - lr lambda_min|, |1 - lr lambda_max|), not only the largest.":
                abs(1 - lr * lam_max),
            "Both extreme eigenvalues matter: max(|1 - lr lambda_min|, |1 - lr lambda_max|), not only the "
            "smallest.": abs(1 - lr * lam_min),
        })


@question("06.momentum_optimal", title="Optimal step size and momentum on a quadratic (Polyak)")
def _check_momentum_optimal(t: Tester):
    for n in [2, 3, int(t.rng.integers(4, 8))]:
        H, lam_min, lam_max = _spd(t, n)
        lr, beta, _ = Q.optimal_heavy_ball(lam_max, lam_min)
        case = {"H": H}
        got = t.call(H)
        parts = dict(zip(("lr", "momentum"), t.parts(got, ("lr", "momentum"), case=case)))
        sk = np.sqrt(lam_max / lam_min)
        t.expect_close(parts["momentum"], beta, case=case, what="Your momentum", mistakes={
            "Return (lr, momentum) in this order.": lr,
            "Square it: beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1)) ** 2; the rate is its square root.":
                (sk - 1) / (sk + 1),
            "Use the square root of the condition number: sqrt(kappa) = sqrt(lambda_max / lambda_min).":
                ((sk**2 - 1) / (sk**2 + 1)) ** 2,
        })
        t.expect_close(parts["lr"], lr, case=case, what="Your step size", mistakes={
            "Square it: lr = (2 / (sqrt(lambda_max) + sqrt(lambda_min))) ** 2.":
                2 / (np.sqrt(lam_max) + np.sqrt(lam_min)),
            "That is gradient descent's best step, 2 / (lambda_max + lambda_min); with momentum it is "
            "4 / (sqrt(lambda_max) + sqrt(lambda_min))**2.": 2 / (lam_max + lam_min),
        })


NESTEROV_RTOL = 0.01
"""Relative tolerance of 06.nesterov_max_lr. A run of T steps cannot tell a spectral radius within about
1/T of 1 from 1 (chapter 06, ``stable-ranges``), so a bisection over runs of a few hundred steps or more
lands within 1% of the edge; every slip below is at least 15% off for the momenta the check uses."""


@question("06.nesterov_max_lr", title="The largest stable step of Nesterov momentum, derived or measured",
          time_limit_s=20.0)
def _check_nesterov_max_lr(t: Tester):
    for n, beta in [(1, 0.0), (2, 0.5), (3, 0.9), (int(t.rng.integers(2, 6)), float(t.rng.uniform(0.25, 0.95)))]:
        H, lam_min, lam_max = _spd(t, n)
        case = {"H": H, "momentum": beta}
        # Along an eigenvector with c = lr * lambda: r^2 - (1 + beta)(1 - c) r + beta (1 - c) = 0, stable
        # exactly when c (1 + 2 beta) < 2 (1 + beta) (the Schur-Cohn test; chapter 06, section 3).
        edge = 2 * (1 + beta) / ((1 + 2 * beta) * lam_max)
        got = t.call(H, beta)
        mistakes = {
            "That is the heavy ball's edge 2(1 + beta) / lambda_max. Nesterov's look-ahead step g + beta u_t "
            "makes the range smaller: redo the characteristic polynomial with the Nesterov update (or measure "
            "with nesterov_step).": 2 * (1 + beta) / lam_max,
            "That is gradient descent's edge 2 / lambda_max: with momentum beta > 0 the edge moves.": 2 / lam_max,
            "The steepest direction (the LARGEST eigenvalue of H) diverges first: the edge is set by lambda_max.":
                edge * lam_max / lam_min,
            "The condition is on lr * lambda: divide the edge of lr * lambda by lambda_max.": edge * lam_max,
            "The fraction is upside down: check which of (1 + beta) and (1 + 2 beta) is on top.":
                2 * (1 + 2 * beta) / ((1 + beta) * lam_max),
            "The edge is set by the eigenvalues of H (np.linalg.eigvalsh), not its entries.":
                2 * (1 + beta) / ((1 + 2 * beta) * float(np.max(np.abs(H)))),
        }
        try:
            value = float(np.asarray(got, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            value = None
        named = value is not None and any(np.isclose(value, m, rtol=NESTEROV_RTOL, atol=0)
                                          for m in mistakes.values() if not np.isclose(m, edge, rtol=NESTEROV_RTOL))
        if value is not None and not named and edge * (1 + NESTEROV_RTOL) < value <= 1.5 * edge:
            t.fail(f"Your step {value:.6g} is {100 * (value / edge - 1):.1f}% above the edge of stability {edge:.6g}: "
                   "there the iteration diverges.", case=case,
                   hint="If you found it by bisection, your runs were too short: near the edge the error changes by "
                        "a factor within about 1/T of 1 per step, so T steps cannot see the difference. Run a few "
                        "thousand steps per trial (or derive the edge).")
        if value is not None and not named and 0.5 * edge <= value < edge * (1 - NESTEROV_RTOL):
            t.fail(f"Your step {value:.6g} is {100 * (1 - value / edge):.1f}% below the edge of stability {edge:.6g}: "
                   "larger steps still converge.", case=case,
                   hint="If you found it by bisection, judge a step by the error after a long run, not by its first "
                        "steps: with momentum the error can grow for a while before it shrinks.")
        t.expect_close(got, edge, case=case, rtol=NESTEROV_RTOL, atol=0, mistakes=mistakes)


# -- 14. escaping a saddle ---------------------------------------------------------------------------------
def _saddle(t: Tester, n: int, stable_part: float):
    """A quadratic saddle 0.5 theta^T H theta (one negative eigenvalue), a step and a start near the saddle.

    eta |lambda_min| is between 0.05 and 0.5, and eta lambda_i <= 1 for the others (their components shrink
    without flipping). The start is eps off the stable manifold (along the negative-curvature eigenvector u),
    plus a component of size ``stable_part`` * radius on it.
    """
    Qm, _ = np.linalg.qr(t.rng.standard_normal((n, n)))
    lam_neg = -float(t.rng.uniform(0.2, 2.0))
    lr = float(t.rng.uniform(0.05, 0.5)) / abs(lam_neg)
    lam = np.concatenate([[lam_neg], t.rng.uniform(0.2, 1.0, n - 1) / lr])
    H = (Qm * lam) @ Qm.T
    radius = float(t.rng.uniform(0.5, 2.0))
    eps = radius * 10 ** float(t.rng.uniform(-12, -2))
    on_manifold = Qm[:, 1:] @ t.rng.standard_normal(n - 1)
    theta0 = eps * t.rng.choice([-1.0, 1.0]) * Qm[:, 0] + stable_part * radius * on_manifold / np.linalg.norm(on_manifold)
    return (H + H.T) / 2, theta0, lr, radius, lam, Qm, eps


def _escape_steps(lam: np.ndarray, z0: np.ndarray, lr: float, radius: float, limit: int = 100_000) -> int:
    """The first step t with ||theta_t|| > radius, for gradient descent in eigen-coordinates z_t = (1 - lr lam)^t z0."""
    factors, z = 1 - lr * lam, z0.copy()
    for step in range(1, limit + 1):
        z = factors * z
        if np.sqrt(z @ z) > radius:
            return step
    raise RuntimeError("no escape within the limit")  # the cases above escape within a few hundred steps


@question("06.saddle_escape", title="Steps to escape a saddle point, predicted or measured")
def _check_saddle_escape(t: Tester):
    for n, stable_part in [(2, 0.0), (3, 0.5), (2, 0.3), (int(t.rng.integers(2, 6)), float(t.rng.uniform(0, 0.5)))]:
        H, theta0, lr, radius, lam, Qm, eps = _saddle(t, n, stable_part)
        case = {"H": H, "theta0": theta0, "lr": lr, "radius": radius}
        steps = _escape_steps(lam, Qm.T @ theta0, lr, radius)
        grow = 1 + lr * abs(lam[0])
        t.expect_close(t.call(H, theta0.copy(), lr, radius), float(steps), case=case, rtol=0, atol=1.0, mistakes={
            "The component off the stable manifold grows by the factor 1 + lr |lambda_min| per step, so it needs "
            "log(radius / eps) / log(1 + lr |lambda_min|) steps: log(1 + x), not x (that is gradient flow, good "
            "only for small steps).": math.ceil(math.log(radius / eps) / (lr * abs(lam[0]))),
            "The escape runs along the eigenvector of the NEGATIVE eigenvalue lambda_min; the positive ones "
            "shrink their components.": math.ceil(math.log(radius / eps) / math.log(1 + lr * lam[-1])),
            "Only the component along the negative-curvature eigenvector grows: start from its size "
            "|u^T theta0|, not from ||theta0||.": math.ceil(math.log(radius / np.linalg.norm(theta0)) / math.log(grow)),
            "Use the same logarithm above and below the fraction.": math.ceil(math.log10(radius / eps) / math.log(grow)),
        })
