"""Chapter 06 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
import numpy as np
import pytest

from check_contract import contract_tests
from course_lib.grading import run_check
from course_lib.optim import functional as F
from course_lib.optim import lr_scheduler as LS
from course_lib.optim import stochastic as S
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


def minibatch_noise_sampled(G, sizes, n_batches, rng):
    """The experiment: n_batches batches of each size, drawn without replacement."""
    full = G.mean(axis=0)
    out = []
    for B in sizes:
        errors = [G[rng.choice(len(G), B, replace=False)].mean(axis=0) - full for _ in range(n_batches)]
        out.append(np.mean(np.sum(np.square(errors), axis=1)))
    return np.array(out)


def minibatch_noise_vectorized(G, sizes, n_batches, rng):
    return np.array([S.sampled_minibatch_noise(G, B, n_batches, rng) for B in sizes])


def minibatch_noise_formula(G, sizes, n_batches, rng):
    """The derivation: v / B * (N - B) / (N - 1), exact."""
    return np.array([S.minibatch_noise(G, B) for B in sizes])


def nesterov_max_lr(H, beta):
    return 2 * (1 + beta) / ((1 + 2 * beta) * np.linalg.eigvalsh(H)[-1])


def nesterov_max_lr_by_eigenvalues(H, beta, halvings=40):
    """Bisection on the spectral radius of Nesterov's 2x2 iteration matrix along the top eigenvector."""
    lam = np.linalg.eigvalsh(H)[-1]

    def radius(lr):
        c = lr * lam  # z_{t+1} = (1 + beta)(1 - c) z_t - beta (1 - c) z_{t-1}
        return np.abs(np.linalg.eigvals([[(1 + beta) * (1 - c), -beta * (1 - c)], [1.0, 0.0]])).max()

    lo, hi = 0.0, 4.0 / lam
    for _ in range(halvings):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if radius(mid) < 1 else (lo, mid)
    return lo


def nesterov_max_lr_by_bisection(H, beta, steps=1000, rounds=4, grid=32):
    """The experiment: whether `steps` steps of PyTorch's Nesterov update shrink the error, for a grid of step
    sizes at once (the update takes arrays of hyper-parameters), refined around the edge a few times."""
    start = np.ones((len(H), 1))
    lo, hi = 0.0, 4.0 * len(H) / np.abs(H).sum(axis=1).max()  # beyond every edge: at least 4 / lambda_max

    def converges(lrs):
        theta, state = np.repeat(start, len(lrs), axis=1), None
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(steps):
                theta, state = F.sgd_update(theta, H @ theta, state, lr=lrs, momentum=beta, nesterov=True)
        return np.linalg.norm(theta, axis=0) < np.linalg.norm(start)

    for _ in range(rounds):
        lrs = np.linspace(lo, hi, grid + 1)[1:]
        ok = converges(lrs)
        last = int(np.argmin(ok)) - 1 if not ok.all() else grid - 1  # the last converging step before the edge
        lo, hi = (lrs[last] if last >= 0 else lo), lrs[min(last + 1, grid - 1)]
    return lo


def escape_steps_by_running(H, theta0, lr, radius):
    """The experiment: run gradient descent until the iterate leaves the ball."""
    theta, steps = theta0.copy(), 0
    while np.linalg.norm(theta) <= radius:
        theta, steps = theta - lr * (H @ theta), steps + 1
    return steps


def escape_steps_predicted(H, theta0, lr, radius):
    """The derivation: the component off the stable manifold grows by 1 + lr |lambda_min| per step."""
    lam, V = np.linalg.eigh(H)
    eps = abs(V[:, 0] @ theta0)
    return int(np.floor(np.log(radius / eps) / np.log(1 + lr * abs(lam[0])))) + 1


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
    "06.cosine_schedule": (LS.cosine_annealing_lr,
                           [lambda t, base, T, lo: lo + (base - lo) * np.cos(np.pi * t / (2 * T)) ** 2],
                           lambda t, base, T, lo: base),
    "06.gd_rate": (gd_rate, [lambda H, lr: max(abs(1 - lr * v) for v in np.linalg.eigvalsh(H))],
                   lambda H, lr: 0.9),
    "06.momentum_optimal": (optimal_momentum, [optimal_momentum_by_rates], lambda H: (1.0, 0.9)),
    "06.minibatch_noise": (minibatch_noise_sampled, [minibatch_noise_vectorized, minibatch_noise_formula],
                           lambda G, sizes, n, rng: 1.0 / np.asarray(sizes, dtype=float)),
    "06.nesterov_max_lr": (nesterov_max_lr, [nesterov_max_lr_by_bisection, nesterov_max_lr_by_eigenvalues],
                           lambda H, beta: 1.0),
    "06.saddle_escape": (escape_steps_by_running, [escape_steps_predicted], lambda H, theta0, lr, radius: 50),
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
    "06.cosine_schedule": [
        (lambda t, base, T, lo: lo + (base - lo) * (1 + np.cos(np.pi * t / T)), "Halve"),
        (lambda t, base, T, lo: lo + (base - lo) * (1 + np.cos(t / T)) / 2, "argument"),
        (lambda t, base, T, lo: lo + (base - lo) * (1 - np.cos(np.pi * t / T)) / 2, "DOWN"),
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


WRONG.update({
    "06.minibatch_noise": [
        (lambda G, sizes, n, rng: np.array([S.minibatch_noise(G, 1) / B for B in sizes]), "WITHOUT replacement"),
        (lambda G, sizes, n, rng: minibatch_noise_formula(G, sizes, n, rng) + np.sum(G.mean(axis=0) ** 2),
         "around the full gradient"),
        (lambda G, sizes, n, rng: minibatch_noise_formula(G, sizes, n, rng) / G.shape[1], "squared NORM"),
        (lambda G, sizes, n, rng: minibatch_noise_formula(G, sizes, n, rng) * np.square(sizes), "MEAN"),
        (lambda G, sizes, n, rng: np.full(len(sizes), S.minibatch_noise(G, 1)), "does not shrink"),
        (lambda G, sizes, n, rng: minibatch_noise_formula(G, sizes, n, rng)[:-1], "one estimate per batch size"),
    ],
    "06.nesterov_max_lr": [
        (lambda H, beta: 2 * (1 + beta) / np.linalg.eigvalsh(H)[-1], "heavy ball"),
        (lambda H, beta: 2 * (1 + beta) / ((1 + 2 * beta) * np.linalg.eigvalsh(H)[0]), "LARGEST"),
        (lambda H, beta: 2 * (1 + beta) / (1 + 2 * beta), "divide"),
        (lambda H, beta: 2 * (1 + 2 * beta) / ((1 + beta) * np.linalg.eigvalsh(H)[-1]), "upside down"),
        (lambda H, beta: nesterov_max_lr_by_bisection(H, beta, steps=5), "too short"),
        (lambda H, beta: 0.9 * nesterov_max_lr(H, beta), "long run"),
    ],
    "06.saddle_escape": [
        (lambda H, th, lr, r: int(np.ceil(np.log(r / abs(np.linalg.eigh(H)[1][:, 0] @ th))
                                          / (lr * abs(np.linalg.eigvalsh(H)[0])))), "gradient flow"),
        (lambda H, th, lr, r: int(np.ceil(np.log(r / abs(np.linalg.eigh(H)[1][:, 0] @ th))
                                          / np.log(1 + lr * np.linalg.eigvalsh(H)[-1]))), "NEGATIVE"),
        (lambda H, th, lr, r: int(np.ceil(np.log(r / np.linalg.norm(th))
                                          / np.log(1 + lr * abs(np.linalg.eigvalsh(H)[0])))), "|u^T theta0|"),
    ],
})


def test_the_saddle_prediction_is_within_one_step_of_the_runs():
    """The linear law's prediction, which the check accepts, is never more than one step from the simulation."""
    from course_lib.checks.ch06_optimization import _escape_steps, _saddle

    class T:
        rng = np.random.default_rng(0)

    for _ in range(300):
        H, theta0, lr, radius, lam, Qm, _ = _saddle(T, int(T.rng.integers(2, 6)), float(T.rng.uniform(0, 0.5)))
        assert abs(escape_steps_predicted(H, theta0, lr, radius) - _escape_steps(lam, Qm.T @ theta0, lr, radius)) <= 1
        assert escape_steps_by_running(H, theta0, lr, radius) == _escape_steps(lam, Qm.T @ theta0, lr, radius)


def test_the_minibatch_tolerance_rarely_fails_a_right_experiment():
    """Over 200 runs of the sampled estimate, every entry lands within MINIBATCH_Z standard errors (the tolerance
    is 6 standard errors: a right answer fails with probability about 1e-8 per entry)."""
    from course_lib.checks.ch06_optimization import MINIBATCH_Z, _batch_errors

    rng = np.random.default_rng(1)
    G = 2 + rng.standard_normal((30, 3)) * [0.5, 1.0, 2.0]
    for B in (1, 7, 15, 29):
        sd = _batch_errors(G, B, 20000, rng).std()
        estimates = np.array([_batch_errors(G, B, 2000, rng).mean() for _ in range(200)])
        z = (estimates - S.minibatch_noise(G, B)) / (sd / np.sqrt(2000))
        assert np.abs(z).max() < MINIBATCH_Z and 0.8 < z.std() < 1.2  # the standard error is the estimates' spread


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
    assert abs(lrs[int(np.argmin(rates))] - optimal_step_size(H)) < 1e-3  # the slip hint of 06.momentum_optimal
    lr, beta = optimal_momentum(H)
    LR, B = np.meshgrid(np.linspace(0.1, 4, 200), np.linspace(0, 0.99, 100))
    assert Q.heavy_ball_rate(LR, B, np.diag(H)).min() >= Q.heavy_ball_rate(lr, beta, np.diag(H)) - 1e-9


globals().update(contract_tests("06", CORRECT, WRONG, seeds=SEEDS, wrong_seeds=SEEDS[:4], min_questions=10))
