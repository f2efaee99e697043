"""Chapter 06: the graded questions on update rules, schedules and step sizes on quadratics.

The reference answers are :mod:`course_lib.optim` itself: the pure update functions that the
``torch.optim``-compatible classes run (so a learner who passes here has written PyTorch's
algorithm, down to where :math:`\\epsilon` goes), the closed-form schedules, and the theory of
:mod:`course_lib.optim.quadratic`. Every check draws fresh parameters, gradients, states and
hyper-parameters from ``t.rng``; ``mistakes`` lists the usual slips (momentum's sign, the
learning rate inside the buffer, :math:`\\epsilon` inside the square root, the bias correction
one step off, L2 instead of decoupled decay) with a hint aimed at each.

An update returns a tuple: the new parameters and the new state. The state is compared
first, so a slip in the running averages is named before its consequence for the parameters.
"""
from __future__ import annotations

import numpy as np

from course_lib.grading import Tester, question
from course_lib.optim import functional as F
from course_lib.optim import lr_scheduler as LS
from course_lib.optim import quadratic as Q


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


# -- 2-3. momentum and Nesterov ---------------------------------------------------------------------------
def _momentum_case(t: Tester, shape, first: bool):
    theta, g = _step_case(t, shape)
    buf = np.zeros(shape) if first else t.rng.standard_normal(shape)
    return theta, g, buf, float(t.rng.uniform(0.01, 0.3)), float(t.rng.uniform(0.5, 0.95))


def _momentum_slips(theta, g, buf, lr, mu) -> dict:
    """Slips shared by momentum and Nesterov, for the buffer."""
    return {
        "Momentum sign: the buffer accumulates gradients, buf = momentum * buf + grad (plus), and the step is "
        "then theta - lr * (...).": mu * buf - g,
        "PyTorch keeps the learning rate outside the buffer: buf = momentum * buf + grad, then theta - lr * "
        "(...). (Putting lr inside is equivalent only while lr never changes; a schedule changes it.)":
            mu * buf + lr * g,
        "That is an exponential average, buf = momentum * buf + (1 - momentum) * grad: PyTorch adds the whole "
        "gradient, buf = momentum * buf + grad (dampening = 0).": mu * buf + (1 - mu) * g,
    }


@question("06.momentum_step", title="One step of SGD with momentum (heavy ball, PyTorch's form)")
def _check_momentum_step(t: Tester):
    for i, shape in enumerate(_arrays(t)):
        theta, g, buf, lr, mu = _momentum_case(t, shape, first=i == 0)
        case = {"theta": theta, "grad": g, "buf": buf, "lr": lr, "momentum": mu}
        new, state = F.sgd_update(theta, g, {"momentum_buffer": buf}, lr=lr, momentum=mu)
        new_buf = state["momentum_buffer"]
        _check_parts(t, t.call(theta, g, buf, lr, mu), {"new theta": new, "new buffer": new_buf}, {
            "new buffer": _momentum_slips(theta, g, buf, lr, mu),
            "new theta": {
                "Step with the NEW buffer: first buf = momentum * buf + grad, then theta - lr * buf.": theta - lr * buf,
                "The step subtracts the buffer: theta - lr * buf.": theta + lr * new_buf,
                "Only the buffer moves theta in momentum: theta - lr * buf (the gradient is already inside buf).":
                    theta - lr * (new_buf + g),
            }}, case, order=("new buffer", "new theta"))


@question("06.nesterov_step", title="One step of SGD with Nesterov momentum (PyTorch's form)")
def _check_nesterov_step(t: Tester):
    for i, shape in enumerate(_arrays(t)):
        theta, g, buf, lr, mu = _momentum_case(t, shape, first=i == 0)
        case = {"theta": theta, "grad": g, "buf": buf, "lr": lr, "momentum": mu}
        new, state = F.sgd_update(theta, g, {"momentum_buffer": buf}, lr=lr, momentum=mu, nesterov=True)
        new_buf = state["momentum_buffer"]
        _check_parts(t, t.call(theta, g, buf, lr, mu), {"new theta": new, "new buffer": new_buf}, {
            "new buffer": _momentum_slips(theta, g, buf, lr, mu),
            "new theta": {
                "That is plain momentum (theta - lr * buf). Nesterov looks ahead: the step is grad + momentum * "
                "buf, with the NEW buffer.": theta - lr * new_buf,
                "Look ahead with the NEW buffer: step = grad + momentum * buf_new, after updating buf.":
                    theta - lr * (g + mu * buf),
                "The step subtracts: theta - lr * (grad + momentum * buf).": theta + lr * (g + mu * new_buf),
            }}, case, order=("new buffer", "new theta"))


# -- 4-5. AdaGrad and RMSProp --------------------------------------------------------------------------
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


# -- 6-7. Adam and AdamW ------------------------------------------------------------------------------
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


# -- 8. bias correction on its own -------------------------------------------------------------------
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


# -- 9-11. schedules -------------------------------------------------------------------------------------
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


@question("06.step_decay", title="Step decay of the learning rate (StepLR)")
def _check_step_decay(t: Tester):
    for step_size, gamma in [(5, 0.5), (int(t.rng.integers(2, 10)), float(t.rng.uniform(0.1, 0.9)))]:
        base = float(t.rng.uniform(0.01, 1.0))
        ts = np.arange(0, 4 * step_size + 2)
        case = {"base_lr": base, "step_size": step_size, "gamma": gamma}
        _schedule(t, lambda k: t.call(k, base, step_size, gamma), base * gamma ** (ts // step_size), ts, case, {
            "Decay in steps: gamma ** (t // step_size), with integer division, not t / step_size.":
                base * gamma ** (ts / step_size),
            "The first decay comes at t = step_size, not step_size - 1: gamma ** (t // step_size).":
                base * gamma ** ((ts + 1) // step_size),
            "Multiply by gamma once every step_size steps: gamma ** (t // step_size), not gamma ** t.":
                base * gamma ** ts,
        })


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


@question("06.warmup", title="Linear learning-rate warm-up (LinearLR)")
def _check_warmup(t: Tester):
    for warmup, f0 in [(5, 0.1), (int(t.rng.integers(3, 20)), float(t.rng.uniform(0.01, 0.5)))]:
        base = float(t.rng.uniform(0.01, 1.0))
        ts = np.arange(0, 2 * warmup + 3)
        case = {"base_lr": base, "warmup_steps": warmup, "start_factor": f0}
        expected = np.array([LS.linear_lr(int(k), base, f0, 1.0, warmup) for k in ts])
        _schedule(t, lambda k: t.call(k, base, warmup, f0), expected, ts, case, {
            "After the warm-up the rate stays at base_lr: use min(t, warmup_steps).":
                base * (f0 + (1 - f0) * ts / warmup),
            "Start at start_factor * base_lr, not at 0: base_lr * (start_factor + (1 - start_factor) * "
            "min(t, W) / W).": base * np.minimum(ts, warmup) / warmup,
            "The warm-up starts at t = 0 with start_factor exactly: min(t, W) / W, not (t + 1) / W.":
                base * (f0 + (1 - f0) * np.minimum(ts + 1, warmup) / warmup),
        })


# -- 12-14. step sizes on a quadratic --------------------------------------------------------------------
def _spd(t: Tester, n: int) -> tuple[np.ndarray, float, float]:
    """A random symmetric positive-definite Hessian with a condition number between 3 and 300."""
    Qm, _ = np.linalg.qr(t.rng.standard_normal((n, n)))
    lam = np.sort(np.exp(t.rng.uniform(-1, 1, n)))
    lam[0], lam[-1] = lam[-1] / float(t.rng.uniform(3, 300)), lam[-1]
    H = (Qm * lam) @ Qm.T
    return (H + H.T) / 2, float(lam.min()), float(lam.max())


@question("06.optimal_step_size", title="The best constant step size of gradient descent on a quadratic")
def _check_optimal_step(t: Tester):
    for n in [2, 3, int(t.rng.integers(4, 8))]:
        H, mu, L = _spd(t, n)
        t.expect_close(t.call(H), Q.optimal_gd_lr(L, mu), case={"H": H}, mistakes={
            "2 / L is the stability limit (the rate there is 1: no convergence). The best step balances the "
            "largest and smallest eigenvalues: 2 / (L + mu).": 2 / L,
            "1 / L is safe but not the best: 2 / (L + mu) makes |1 - lr mu| = |1 - lr L|.": 1 / L,
            "The largest eigenvalue limits the step (steep directions overshoot first): 2 / (L + mu), not 2 / mu.":
                2 / mu,
            "The step is set by the eigenvalues of H (np.linalg.eigvalsh), not its entries.":
                2 / (H.max() + H.min()),
        })


@question("06.gd_rate", title="The convergence rate of gradient descent on a quadratic")
def _check_gd_rate(t: Tester):
    for n, frac in [(2, 0.5), (3, 0.95), (2, 1.2), (int(t.rng.integers(2, 7)), float(t.rng.uniform(0.1, 1.3)))]:
        H, mu, L = _spd(t, n)
        lr = frac * 2 / L  # frac > 1: past the stability limit, the rate exceeds 1
        case = {"H": H, "lr": lr}
        lam = np.linalg.eigvalsh(H)
        t.expect_close(t.call(H, lr), float(Q.gd_rate(lr, lam)), case=case, mistakes={
            "Take the absolute value: a factor 1 - lr*lambda below -1 grows the error too (that is divergence "
            "past lr = 2 / L).": float(np.max(1 - lr * lam)),
            "The rate is the WORST factor over the eigen-directions: max |1 - lr lambda_i| (both ends matter).":
                float(np.min(np.abs(1 - lr * lam))),
            "Both extreme eigenvalues matter: max(|1 - lr mu|, |1 - lr L|), not only the largest.":
                abs(1 - lr * L),
            "Both extreme eigenvalues matter: max(|1 - lr mu|, |1 - lr L|), not only the smallest.":
                abs(1 - lr * mu),
        })


@question("06.momentum_optimal", title="Optimal step size and momentum on a quadratic (Polyak)")
def _check_momentum_optimal(t: Tester):
    for n in [2, 3, int(t.rng.integers(4, 8))]:
        H, mu, L = _spd(t, n)
        lr, beta, _ = Q.optimal_heavy_ball(L, mu)
        case = {"H": H}
        got = t.call(H)
        parts = dict(zip(("lr", "momentum"), t.parts(got, ("lr", "momentum"), case=case)))
        sk = np.sqrt(L / mu)
        t.expect_close(parts["momentum"], beta, case=case, what="Your momentum", mistakes={
            "Return (lr, momentum) in this order.": lr,
            "Square it: beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1)) ** 2; the rate is its square root.":
                (sk - 1) / (sk + 1),
            "Use the square root of the condition number: sqrt(kappa) = sqrt(L / mu).":
                ((L / mu - 1) / (L / mu + 1)) ** 2,
        })
        t.expect_close(parts["lr"], lr, case=case, what="Your step size", mistakes={
            "Square it: lr = (2 / (sqrt(L) + sqrt(mu))) ** 2 = 4 / (sqrt(L) + sqrt(mu)) ** 2.":
                2 / (np.sqrt(L) + np.sqrt(mu)),
            "That is gradient descent's best step, 2 / (L + mu); with momentum it is 4 / (sqrt(L) + sqrt(mu))**2.":
                2 / (L + mu),
        })
