"""Chapter 07 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
import numpy as np
import pytest

from check_contract import contract_tests
from course_lib import regularization as R

SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # some wrong answers divide by zero


def dropout_own_mask(x, p, u, training):
    """The slip: a fresh random mask instead of the u the check gives."""
    if not training:
        return x
    keep = np.random.default_rng(0).random(x.shape) >= p
    return x * keep / (1 - p)


# -- references, in the learner's signatures ------------------------------------------------------------
def bn_backward(dout, x, gamma, eps):
    _, cache = R.batchnorm_forward(x, gamma, np.zeros_like(gamma), eps)
    return R.batchnorm_backward(dout, cache)


def bn_backward_by_paths(dout, x, gamma, eps):
    """The three paths (direct, through the variance, through the mean), as in the chapter."""
    n = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    xc, std = x - mu, np.sqrt(var + eps)
    g = dout * gamma
    dvar = np.sum(g * xc, axis=0) * -0.5 * (var + eps) ** -1.5
    dmu = -np.sum(g / std, axis=0) + dvar * np.mean(-2 * xc, axis=0)
    dx = g / std + dvar * 2 * xc / n + dmu / n
    return dx, np.sum(dout * xc / std, axis=0), dout.sum(axis=0)


def early_stopping_loop(val_losses, patience):
    best, wait = 0, 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best]:
            best, wait = epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best
    return len(val_losses) - 1, best


def bn_forward_manual(x, gamma, beta, eps):
    mean = x.sum(axis=0) / len(x)
    var = ((x - mean) ** 2).sum(axis=0) / len(x)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def predictions(fit_predict, sample, n_sets, rng):
    return np.array([fit_predict(*sample(rng)) for _ in range(n_sets)])


def bias_variance(fit_predict, sample, f_test, n_sets, rng):
    preds = predictions(fit_predict, sample, n_sets, rng)
    return float(np.mean((f_test - preds.mean(axis=0)) ** 2)), float(np.mean(preds.var(axis=0)))


def bias_variance_corrected(fit_predict, sample, f_test, n_sets, rng):
    """Unbiased for both: variance with 1/(n - 1), and bias^2 less the variance of the mean prediction."""
    preds = predictions(fit_predict, sample, n_sets, rng)
    var = preds.var(axis=0, ddof=1)
    return float(np.mean((f_test - preds.mean(axis=0)) ** 2 - var / n_sets)), float(var.mean())


def bias_variance_streaming(fit_predict, sample, f_test, n_sets, rng):
    """Welford's running mean and sum of squares, one training set at a time."""
    mean, m2 = 0.0, 0.0
    for k in range(1, n_sets + 1):
        p = fit_predict(*sample(rng))
        delta = p - mean
        mean = mean + delta / k
        m2 = m2 + delta * (p - mean)
    return float(np.mean((f_test - mean) ** 2)), float(np.mean(m2 / n_sets))


def lasso_ista(X, y, lam, tol=1e-13):
    L = np.linalg.eigvalsh(X.T @ X)[-1]
    w = np.zeros(X.shape[1])
    for _ in range(100_000):
        new = R.soft_threshold(w - X.T @ (X @ w - y) / L, lam / L)
        if np.max(np.abs(new - w)) <= tol * max(1.0, np.max(np.abs(new))):
            return new
        w = new
    return w


def lasso_fista(X, y, lam):
    """Beck and Teboulle's accelerated version."""
    L = np.linalg.eigvalsh(X.T @ X)[-1]
    w = z = np.zeros(X.shape[1])
    s = 1.0
    for _ in range(100_000):
        new = R.soft_threshold(z - X.T @ (X @ z - y) / L, lam / L)
        s_new = (1 + np.sqrt(1 + 4 * s * s)) / 2
        z, s, done = new + (s - 1) / s_new * (new - w), s_new, np.max(np.abs(new - w)) <= 1e-14
        w = new
        if done:
            break
    return w


def lasso_coordinate_descent(X, y, lam):
    from course_lib.checks.ch07_regularization import _lasso_reference

    return _lasso_reference(X, y, lam)


# question id -> (reference, [alternative correct answers], hard-coded answer)
CORRECT = {
    "07.bias_variance": (bias_variance, [bias_variance_corrected, bias_variance_streaming],
                         lambda fit_predict, sample, f_test, n_sets, rng: (0.1, 0.01)),
    "07.lasso": (lasso_ista, [lasso_coordinate_descent, lasso_fista], lambda X, y, lam: np.zeros(X.shape[1])),
    "07.soft_threshold": (R.soft_threshold, [lambda x, t: np.where(x > t, x - t, np.where(x < -t, x + t, 0.0)),
                                             lambda x, t: x - np.clip(x, -t, t)],
                          lambda x, t: x),
    "07.ridge": (R.ridge, [lambda X, y, lam: np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)],
                 lambda X, y, lam: np.zeros(X.shape[1])),
    "07.dropout": (lambda x, p, u, training: x * (u >= p) / (1 - p) if training else x,
                   [lambda x, p, u, training: np.where(u < p, 0.0, x / (1 - p)) if training else x.copy()],
                   lambda x, p, u, training: x),
    "07.batchnorm_forward": (lambda x, g, b, eps: R.batchnorm_forward(x, g, b, eps)[0], [bn_forward_manual],
                             lambda x, g, b, eps: x),
    "07.batchnorm_backward": (bn_backward, [bn_backward_by_paths],
                              lambda dout, x, g, eps: (dout, dout.sum(0), dout.sum(0))),
    "07.running_stats": (R.update_running_stats,
                         [lambda rm, rv, x, m: (rm + m * (x.mean(0) - rm), rv + m * (np.var(x, axis=0, ddof=1) - rv))],
                         lambda rm, rv, x, m: (rm, rv)),
    "07.early_stopping": (R.early_stopping, [early_stopping_loop], lambda losses, patience: (10, 5)),
}


def _bn_backward_direct_only(dout, x, gamma, eps):
    return dout * gamma / np.sqrt(x.var(axis=0) + eps), (dout * (x - x.mean(0)) / np.sqrt(x.var(0) + eps)).sum(0), \
        dout.sum(0)


def _bn_backward_no_variance_path(dout, x, gamma, eps):
    g, std = dout * gamma, np.sqrt(x.var(0) + eps)
    return (g - g.mean(0)) / std, bn_backward(dout, x, gamma, eps)[1], dout.sum(0)


def _stop_late(losses, patience):
    return R.early_stopping(losses, patience + 1)


# question id -> [(wrong answer, a distinctive word of the hint it must get)]
WRONG = {
    "07.soft_threshold": [
        (lambda x, t: x * (np.abs(x) > t), "hard thresholding"),
        (lambda x, t: np.maximum(np.abs(x) - t, 0), "Keep the sign"),
        (lambda x, t: x - t * np.sign(x), "Clamp"),
        (lambda x, t: x / (1 + t), "L2 shrinkage"),
    ],
    "07.ridge": [
        (lambda X, y, lam: np.linalg.lstsq(X, y, rcond=None)[0], "ordinary least squares"),
        (lambda X, y, lam: np.linalg.solve(X.T @ X + lam / 2 * np.eye(X.shape[1]), X.T @ y), "(lam, not"),
        (lambda X, y, lam: np.linalg.solve(X.T @ X + lam, X.T @ y), "the identity"),
    ],
    "07.dropout": [
        (lambda x, p, u, training: x * (u >= p) if training else x, "rescales"),
        (lambda x, p, u, training: x * (u >= p) / p if training else x, "KEEP probability"),
        (lambda x, p, u, training: x * (u < p) / (1 - p) if training else x, "u < p"),
        (lambda x, p, u, training: x * (u >= p) / (1 - p) if training else x * (1 - p), "identity"),
        (lambda x, p, u, training: x * (u >= p) / (1 - p), "nothing is dropped"),
        (lambda x, p, u, training: x / (1 - p) if training else x, "dropped none"),
        (dropout_own_mask, "mask u"),
    ],
    "07.batchnorm_forward": [
        (lambda x, g, b, eps: g * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps) + b, "biased"),
        (lambda x, g, b, eps: g * (x - x.mean(0)) / (x.std(0) + eps) + b, "eps inside"),
        (lambda x, g, b, eps: (x - x.mean(0)) / np.sqrt(x.var(0) + eps), "Scale and shift"),
        (lambda x, g, b, eps: g * (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + eps) + b,
         "axis 0"),
        (lambda x, g, b, eps: g * (x - x.mean(0)) / (x.var(0) + eps) + b, "standard deviation"),
    ],
    "07.batchnorm_backward": [
        (_bn_backward_direct_only, "depend on x too"),
        (_bn_backward_no_variance_path, "through the variance"),
        (lambda dout, x, g, eps: (bn_backward(dout, x, g, eps)[0], dout.sum(0), dout.sum(0)), "x_hat"),
        (lambda dout, x, g, eps: (bn_backward(dout, x, g, eps)[0], bn_backward(dout, x, g, eps)[1], dout.mean(0)),
         "sums"),
        (lambda dout, x, g, eps: (bn_backward(dout / g, x, g, eps)[0],) + tuple(bn_backward(dout, x, g, eps)[1:]),
         "gamma * dout"),
    ],
    "07.running_stats": [
        (lambda rm, rv, x, m: ((1 - m) * rm + m * x.mean(0), (1 - m) * rv + m * x.var(0)), "UNBIASED"),
        (lambda rm, rv, x, m: (m * rm + (1 - m) * x.mean(0), m * rv + (1 - m) * x.var(0, ddof=1)), "NEW batch"),
    ],
    "07.early_stopping": [
        (_stop_late, "one epoch late"),
        (lambda losses, patience: (R.early_stopping(losses, patience)[0],) * 2, "restore"),
        (lambda losses, patience: tuple(v + 1 for v in R.early_stopping(losses, patience)), "counted from 0"),
    ],
}


WRONG.update({
    "07.bias_variance": [
        (lambda *a: bias_variance(*a)[::-1], "bias^2 first"),
        (lambda fp, s, ft, n, rng: (lambda P: (float(np.mean((ft - P.mean(0)) ** 2)), float(np.mean((P - ft) ** 2))))(
            predictions(fp, s, n, rng)), "MEAN prediction"),
        (lambda fp, s, ft, n, rng: (lambda P: (float(np.mean((ft - P) ** 2)), float(np.mean(P.var(0)))))(
            predictions(fp, s, n, rng)), "Square after averaging"),
        (lambda fp, s, ft, n, rng: (lambda xy: bias_variance(lambda *_: fp(*xy), s, ft, n, rng))(s(rng)), "fresh"),
        (lambda *a: (bias_variance(*a)[0], np.sqrt(bias_variance(*a)[1])), "standard deviation"),
        (lambda fp, s, ft, n, rng: tuple(len(ft) * v for v in bias_variance(fp, s, ft, n, rng)), "do not sum"),
    ],
    "07.lasso": [
        (lambda X, y, lam: R.ridge(X, y, lam), "ridge"),
        (lambda X, y, lam: np.linalg.lstsq(X, y, rcond=None)[0], "least squares"),
        (lambda X, y, lam: lasso_ista(X, y, 2 * lam), "2 lr lam"),
        (lambda X, y, lam: lasso_ista(X, y, lam) + 1e-7 * (lasso_ista(X, y, lam) == 0), "exactly 0"),
        (lambda X, y, lam: lasso_ista(X, y, lam) * (1 + 1e-4), "not at it"),
    ],
})


def test_the_lasso_reference_meets_the_optimality_conditions():
    """Coordinate descent's answer satisfies the lasso's KKT conditions to rounding: X_j^T r = lam sign(w_j) where
    w_j != 0 and |X_j^T r| <= lam where w_j = 0 (r = y - X w)."""
    from course_lib.checks.ch07_regularization import _lasso_reference

    rng = np.random.default_rng(0)
    for _ in range(20):
        N, d = int(rng.integers(20, 60)), int(rng.integers(2, 8))
        X, y = rng.standard_normal((N, d)), rng.standard_normal(N)
        lam = float(rng.uniform(0.05, 0.9)) * np.max(np.abs(X.T @ y))
        w = _lasso_reference(X, y, lam)
        corr = X.T @ (y - X @ w)
        tol = 1e-9 * lam
        assert np.all(np.abs(corr[w != 0] - lam * np.sign(w[w != 0])) <= tol)
        assert np.all(np.abs(corr[w == 0]) <= lam + tol) and np.any(w == 0) | np.all(w != 0)


def test_the_bias_variance_window_holds_for_the_right_estimate():
    """A right variance estimate from 400 training sets is (n - 1) / n times a weighted chi-square with n - 1
    degrees of freedom per eigenvalue of C = v S S^T: drawn 200,000 times per case, it leaves the check's window
    (6 standard deviations plus the 1/n of the convention) less than once in 100,000."""
    from course_lib.checks.ch07_regularization import BIAS_VARIANCE_Z, _smoother
    from course_lib.grading import Tester

    rng, n = np.random.default_rng(0), 400
    for seed in range(6):
        t = Tester(None, seed)
        for kind in ["rigid", "flexible", "knn"]:
            *_, S, _, v = _smoother(t, kind)
            C, M = v * S @ S.T, S.shape[0]
            mu = np.clip(np.linalg.eigvalsh(C), 0, None)
            variance = np.trace(C) / M
            window = variance / n + BIAS_VARIANCE_Z * np.sqrt(2 * np.sum(C * C) / (n - 1)) / M
            draws = (rng.chisquare(n - 1, (200_000, len(mu))) @ mu) / (n * M)
            assert np.mean(np.abs(draws - variance) > window) < 1e-5


def test_the_validation_curves_of_the_early_stopping_check_trigger_the_rule():
    """The random curves the check uses rise again, so the rule fires before the end."""
    from course_lib.checks.ch07_regularization import _val_curve

    class T:
        rng = np.random.default_rng(0)

    fired = [R.early_stopping(_val_curve(T, 50), 5)[0] < 49 for _ in range(50)]
    assert np.mean(fired) > 0.9


globals().update(contract_tests("07", CORRECT, WRONG, seeds=SEEDS, wrong_seeds=SEEDS[:4], min_questions=8))
