"""Chapter 06 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
import numpy as np
import pytest

from check_contract import contract_tests
from course_lib.grading import run_check
from course_lib.optim import functional as F
from course_lib.optim import lr_scheduler as LS
from course_lib.optim import quadratic as Q

SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]
# The wrong answers below divide by zero or take roots of negatives on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


# -- references, in the learner's signatures ------------------------------------------------------------
def sgd_step(theta, grad, lr, weight_decay):
    return F.sgd_update(theta, grad, None, lr=lr, weight_decay=weight_decay)[0]


def momentum_step(theta, grad, buf, lr, momentum, nesterov=False):
    new, state = F.sgd_update(theta, grad, {"momentum_buffer": buf}, lr=lr, momentum=momentum, nesterov=nesterov)
    return new, state["momentum_buffer"]


def adagrad_step(theta, grad, sum_sq, lr, eps):
    new, state = F.adagrad_update(theta, grad, {"sum": sum_sq}, lr=lr, eps=eps)
    return new, state["sum"]


def rmsprop_step(theta, grad, square_avg, lr, alpha, eps):
    new, state = F.rmsprop_update(theta, grad, {"square_avg": square_avg}, lr=lr, alpha=alpha, eps=eps)
    return new, state["square_avg"]


def adam_step(theta, grad, m, v, step, lr, beta1, beta2, eps, weight_decay=0.0, decoupled=False):
    new, state = F.adam_update(theta, grad, {"step": step, "exp_avg": m, "exp_avg_sq": v}, lr=lr,
                               betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                               decoupled_weight_decay=decoupled)
    return new, state["exp_avg"], state["exp_avg_sq"]


def adamw_step(theta, grad, m, v, step, lr, beta1, beta2, eps, weight_decay):
    return adam_step(theta, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, decoupled=True)


def bias_corrected(values, beta):
    m, out = 0.0, []
    for t, x in enumerate(values, start=1):
        m = beta * m + (1 - beta) * x
        out.append(m / (1 - beta ** t))
    return np.array(out)


def optimal_step_size(H):
    lam = np.linalg.eigvalsh(H)
    return Q.optimal_gd_lr(lam.max(), lam.min())


def gd_rate(H, lr):
    return float(Q.gd_rate(lr, np.linalg.eigvalsh(H)))


def optimal_momentum(H):
    lam = np.linalg.eigvalsh(H)
    lr, beta, _ = Q.optimal_heavy_ball(lam.max(), lam.min())
    return lr, beta


# -- other correct answers ----------------------------------------------------------------------------
def momentum_sutskever_form(theta, grad, buf, lr, momentum):
    """The same algorithm written as theta_new = theta + momentum*(velocity) - lr*grad."""
    new_buf = momentum * buf + grad
    return theta - lr * momentum * buf - lr * grad, new_buf


def adam_by_the_paper(theta, grad, m, v, step, lr, beta1, beta2, eps):
    t = step + 1
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adamw_by_the_paper(theta, grad, m, v, step, lr, beta1, beta2, eps, weight_decay):
    return adam_by_the_paper(theta * (1 - lr * weight_decay), grad, m, v, step, lr, beta1, beta2, eps)


def bias_corrected_vectorized(values, beta):
    t = np.arange(1, len(values) + 1)
    weights = (1 - beta) * beta ** (t[:, None] - t[None, :]) * (t[:, None] >= t[None, :])
    return weights @ values / (1 - beta ** t)


def optimal_momentum_by_rates(H):
    lam = np.linalg.eigvalsh(H)
    L, mu = lam.max(), lam.min()
    rate = (np.sqrt(L) - np.sqrt(mu)) / (np.sqrt(L) + np.sqrt(mu))
    return (1 + rate) ** 2 / L, rate ** 2  # (2 / (sqrt L + sqrt mu))^2 = (1 + rate)^2 / L


# question id -> (reference, [alternative correct answers], hard-coded answer)
CORRECT = {
    "06.sgd_step": (sgd_step, [lambda th, g, lr, wd: th * (1 - lr * wd) - lr * g], lambda th, g, lr, wd: th),
    "06.momentum_step": (momentum_step, [momentum_sutskever_form], lambda th, g, b, lr, mu: (th, b)),
    "06.nesterov_step": (lambda th, g, b, lr, mu: momentum_step(th, g, b, lr, mu, nesterov=True),
                         [lambda th, g, b, lr, mu: (th - lr * ((1 + mu) * g + mu * mu * b), mu * b + g)],
                         lambda th, g, b, lr, mu: (th - lr * g, b)),
    "06.adagrad_step": (adagrad_step, [lambda th, g, s, lr, eps: (th - lr * g / (np.sqrt(s + g ** 2) + eps),
                                                                  s + g ** 2)],
                        lambda th, g, s, lr, eps: (th - lr * g, s)),
    "06.rmsprop_step": (rmsprop_step,
                        [lambda th, g, v, lr, a, eps: (th - lr * g / (np.sqrt(a * v + (1 - a) * g * g) + eps),
                                                       a * v + (1 - a) * g * g)],
                        lambda th, g, v, lr, a, eps: (th - lr * np.sign(g), v)),
    "06.adam_step": (adam_step, [adam_by_the_paper], lambda th, g, m, v, s, lr, b1, b2, eps: (th - lr, m, v)),
    "06.adamw_step": (adamw_step, [adamw_by_the_paper],
                      lambda th, g, m, v, s, lr, b1, b2, eps, wd: (th * (1 - wd), m, v)),
    "06.bias_correction": (F.ema, [bias_corrected, bias_corrected_vectorized], lambda values, beta: np.asarray(values)),
    "06.step_decay": (LS.step_lr, [lambda t, base, size, gamma: base * gamma ** np.floor(t / size)],
                      lambda t, base, size, gamma: base * 0.5),
    "06.cosine_schedule": (LS.cosine_annealing_lr,
                           [lambda t, base, T, lo: lo + (base - lo) * np.cos(np.pi * t / (2 * T)) ** 2],
                           lambda t, base, T, lo: base),
    "06.warmup": (lambda t, base, W, f0: LS.linear_lr(t, base, f0, 1.0, W),
                  [lambda t, base, W, f0: base * f0 + base * (1 - f0) * min(t / W, 1.0)],
                  lambda t, base, W, f0: base),
    "06.optimal_step_size": (optimal_step_size,
                             [lambda H: 2 / (np.linalg.eigvals(H).real.max() + np.linalg.eigvals(H).real.min())],
                             lambda H: 0.1),
    "06.gd_rate": (gd_rate, [lambda H, lr: max(abs(1 - lr * v) for v in np.linalg.eigvalsh(H))],
                   lambda H, lr: 0.9),
    "06.momentum_optimal": (optimal_momentum, [optimal_momentum_by_rates], lambda H: (1.0, 0.9)),
}


# -- plausible wrong answers --------------------------------------------------------------------------
def _adam_variant(eps_inside=False, no_correction=False, off_by_one=False, correct_m_only=False, l2=0.0,
                  decay_without_lr=False, decay_after=False, swap_beta1=False, g_not_squared=False):
    @np.errstate(divide="ignore", invalid="ignore")  # the off-by-one slip divides by zero on the first step
    def step(theta, grad, m, v, s, lr, b1, b2, eps, wd=0.0):
        t = s if off_by_one else s + 1
        if l2:
            grad = grad + wd * theta
        elif wd and not decay_after:
            theta = theta * (1 - wd) if decay_without_lr else theta * (1 - lr * wd)
        m = (1 - b1) * m + b1 * grad if swap_beta1 else b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * (grad if g_not_squared else grad * grad)
        c1, c2 = (1.0, 1.0) if no_correction else (1 - b1 ** t, 1 - b2 ** t)
        if correct_m_only:
            c2 = 1.0
        denom = np.sqrt(v / c2 + eps) if eps_inside else np.sqrt(v / c2) + eps
        new = theta - lr * (m / c1) / denom
        if wd and decay_after:
            new = new * (1 - lr * wd)
        return new, m, v
    return step


def _momentum_variant(kind, nesterov=False):
    def step(theta, grad, buf, lr, mu):
        if kind == "sign":
            new_buf = mu * buf - grad
            return theta + lr * (grad + mu * new_buf if nesterov else new_buf), new_buf
        if kind == "lr_inside":
            new_buf = mu * buf + lr * grad
            return theta - (lr * grad + mu * new_buf if nesterov else new_buf), new_buf
        if kind == "ema":
            new_buf = mu * buf + (1 - mu) * grad
        else:
            new_buf = mu * buf + grad
        if kind == "old_buffer":
            return theta - lr * (grad + mu * buf if nesterov else buf), new_buf
        if kind == "plain":
            return theta - lr * new_buf, new_buf
        return theta - lr * (grad + mu * new_buf if nesterov else new_buf), new_buf
    return step


# question id -> [(wrong answer, a distinctive word of the hint it must get)]
WRONG = {
    "06.sgd_step": [
        (lambda th, g, lr, wd: th + lr * (g + wd * th), "against the gradient"),
        (lambda th, g, lr, wd: th - lr * (g - wd * th), "towards 0"),
        (lambda th, g, lr, wd: th - lr * g - wd * th, "scaled by lr"),
        (lambda th, g, lr, wd: th - lr * g, "Include the weight decay"),
    ],
    "06.momentum_step": [
        (_momentum_variant("sign"), "Momentum sign"),
        (_momentum_variant("lr_inside"), "outside the buffer"),
        (_momentum_variant("ema"), "exponential average"),
        (_momentum_variant("old_buffer"), "NEW buffer"),
        (lambda th, g, b, lr, mu: (mu * b + g, th - lr * (mu * b + g)), "in this order"),
        (lambda th, g, b, lr, mu: th - lr * (mu * b + g), "Return all of them"),
    ],
    "06.nesterov_step": [
        (_momentum_variant("plain", nesterov=True), "plain momentum"),
        (_momentum_variant("old_buffer", nesterov=True), "NEW buffer"),
        (_momentum_variant("sign", nesterov=True), "Momentum sign"),
        (_momentum_variant("lr_inside", nesterov=True), "outside the buffer"),
    ],
    "06.adagrad_step": [
        (lambda th, g, s, lr, eps: (th - lr * g / np.sqrt(s + g * g + eps), s + g * g), "OUTSIDE the square root"),
        (lambda th, g, s, lr, eps: (th - lr * g / (s + g * g + eps), s + g * g), "square ROOT"),
        (lambda th, g, s, lr, eps: (th - lr * g / (np.sqrt(s + np.abs(g)) + eps), s + np.abs(g)), "element-wise"),
        (lambda th, g, s, lr, eps: (th - lr * g / (np.sqrt(s + g) + eps), s + g), "SQUARED"),
    ],
    "06.rmsprop_step": [
        (lambda th, g, v, lr, a, eps: (th - lr * g / np.sqrt(a * v + (1 - a) * g * g + eps), a * v + (1 - a) * g * g),
         "OUTSIDE the square root"),
        (lambda th, g, v, lr, a, eps: (th - lr * g / (np.sqrt((1 - a) * v + a * g * g) + eps),
                                       (1 - a) * v + a * g * g), "OLD average"),
        (lambda th, g, v, lr, a, eps: (th - lr * g / (np.sqrt(v + g * g) + eps), v + g * g), "AdaGrad"),
        (lambda th, g, v, lr, a, eps: (th - lr * g / (np.sqrt(v) + eps), a * v + (1 - a) * g * g), "updated average"),
    ],
    "06.adam_step": [
        (_adam_variant(off_by_one=True), "off by one"),
        (_adam_variant(eps_inside=True), "OUTSIDE the square root"),
        (_adam_variant(no_correction=True), "zero start"),
        (_adam_variant(correct_m_only=True), "Correct v too"),
        (_adam_variant(swap_beta1=True), "OLD average"),
        (_adam_variant(g_not_squared=True), "SQUARED"),
    ],
    "06.adamw_step": [
        (lambda *a: _adam_variant(l2=True)(*a), "L2"),
        (lambda *a: _adam_variant(decay_without_lr=True)(*a), "scaled by the learning rate"),
        (lambda *a: _adam_variant(decay_after=True)(*a), "BEFORE"),
        (lambda th, g, m, v, s, lr, b1, b2, eps, wd: adam_step(th, g, m, v, s, lr, b1, b2, eps), "Include"),
        (lambda *a: _adam_variant(off_by_one=True)(*a), "off by one"),
    ],
    "06.bias_correction": [
        (lambda values, beta: bias_corrected(values, beta) * (1 - beta ** np.arange(1, len(values) + 1)), "own 1 - beta"),
        (lambda values, beta: np.array([x / (1 - beta ** t) for t, x in enumerate(
            bias_corrected(values, beta) * (1 - beta ** np.arange(1, len(values) + 1)))]), "enumerate"),
        (lambda values, beta: bias_corrected(values, beta) * (1 - beta ** np.arange(1, len(values) + 1))
         / (1 - beta ** np.arange(2, len(values) + 2)), "not 1 - beta**2"),
    ],
    "06.step_decay": [
        (lambda t, base, size, gamma: base * gamma ** (t / size), "integer division"),
        (lambda t, base, size, gamma: base * gamma ** ((t + 1) // size), "first decay"),
        (lambda t, base, size, gamma: base * gamma ** t, "once every"),
    ],
    "06.cosine_schedule": [
        (lambda t, base, T, lo: lo + (base - lo) * (1 + np.cos(np.pi * t / T)), "Halve"),
        (lambda t, base, T, lo: lo + (base - lo) * (1 + np.cos(t / T)) / 2, "argument"),
        (lambda t, base, T, lo: lo + (base - lo) * (1 - np.cos(np.pi * t / T)) / 2, "DOWN"),
    ],
    "06.warmup": [
        (lambda t, base, W, f0: base * (f0 + (1 - f0) * t / W), "min(t, warmup_steps)"),
        (lambda t, base, W, f0: base * min(t, W) / W, "start_factor * base_lr"),
        (lambda t, base, W, f0: base * (f0 + (1 - f0) * min(t + 1, W) / W), "t = 0"),
    ],
    "06.optimal_step_size": [
        (lambda H: 2 / np.linalg.eigvalsh(H).max(), "stability limit"),
        (lambda H: 1 / np.linalg.eigvalsh(H).max(), "safe but not the best"),
        (lambda H: 2 / (H.max() + H.min()), "eigenvalues of H"),
        (lambda H: 2 / np.linalg.eigvalsh(H).min(), "limits the step"),
    ],
    "06.gd_rate": [
        (lambda H, lr: float(np.max(1 - lr * np.linalg.eigvalsh(H))), "absolute value"),
        (lambda H, lr: float(np.min(np.abs(1 - lr * np.linalg.eigvalsh(H)))), "WORST"),
        (lambda H, lr: abs(1 - lr * np.linalg.eigvalsh(H).max()), "not only the largest"),
    ],
    "06.momentum_optimal": [
        (lambda H: (optimal_momentum(H)[0], np.sqrt(optimal_momentum(H)[1])), "Square it"),
        (lambda H: (2 / (np.sqrt(np.linalg.eigvalsh(H).max()) + np.sqrt(np.linalg.eigvalsh(H).min())),
                    optimal_momentum(H)[1]), "Square it"),
        (lambda H: (optimal_step_size(H), optimal_momentum(H)[1]), "gradient descent's best step"),
        (lambda H: optimal_momentum(H)[::-1], "in this order"),
    ],
}


def test_adam_check_catches_in_place_updates(monkeypatch):
    """Updating m and v in place (m *= beta1 ...) changes the caller's state: the check says so."""
    monkeypatch.setenv("COURSE_SEED", "3")

    def in_place(theta, grad, m, v, step, lr, b1, b2, eps):
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad ** 2
        t = step + 1
        return theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v

    result = run_check("06.adam_step", in_place)
    assert result.status == "failed" and "in place" in result.message


def test_the_optimal_parameters_are_the_best_on_a_grid():
    """The answers the quadratic questions treat as the truth are optimal numerically too."""
    H = np.diag([0.05, 0.7, 2.0])
    lrs = np.linspace(0.01, 1.0, 5001)
    rates = [gd_rate(H, lr) for lr in lrs]
    assert abs(lrs[int(np.argmin(rates))] - optimal_step_size(H)) < 1e-3
    lr, beta = optimal_momentum(H)
    LR, B = np.meshgrid(np.linspace(0.1, 4, 200), np.linspace(0, 0.99, 100))
    assert Q.heavy_ball_rate(LR, B, np.diag(H)).min() >= Q.heavy_ball_rate(lr, beta, np.diag(H)) - 1e-9


globals().update(contract_tests("06", CORRECT, WRONG, seeds=SEEDS, wrong_seeds=SEEDS[:4], min_questions=10))
