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


# question id -> (reference, [alternative correct answers], hard-coded answer)
CORRECT = {
    "07.l2_penalty": (lambda w, lam: (R.l2_penalty(w, lam), R.l2_grad(w, lam)),
                      [lambda w, lam: (0.5 * lam * float(np.linalg.norm(w) ** 2), lam * w)],
                      lambda w, lam: (1.0, w)),
    "07.l1_subgradient": (R.l1_grad, [lambda w, lam: lam * np.where(w > 0, 1.0, np.where(w < 0, -1.0, 0.0)),
                                      # any value in the subdifferential [-lam, lam] at w = 0 is right
                                      lambda w, lam: lam * np.where(w >= 0, 1.0, -1.0),
                                      lambda w, lam: lam * np.where(w == 0, -0.3, np.sign(w))],
                          lambda w, lam: np.ones_like(w)),
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
    "07.l2_penalty": [
        (lambda w, lam: (lam * np.sum(w * w), 2 * lam * w), "factor 1/2"),
        (lambda w, lam: (R.l2_penalty(w, lam), 2 * lam * w), "cancels"),
        (lambda w, lam: (0.5 * lam * np.sum(np.abs(w)), lam * np.sign(w)), "Square the weights"),
        (lambda w, lam: (R.l2_penalty(w, lam), np.full(w.shape, lam)), "depends on w"),
        (lambda w, lam: R.l2_grad(w, lam), "Return all of them"),
    ],
    "07.l1_subgradient": [
        (lambda w, lam: lam * w / np.abs(w), "np.sign"),
        (lambda w, lam: lam * w, "L2 gradient"),
        (lambda w, lam: np.sign(w), "Scale by lam"),
        (lambda w, lam: lam * np.where(w == 0, 2.0, np.sign(w)), "subdifferential"),
    ],
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


def test_the_validation_curves_of_the_early_stopping_check_trigger_the_rule():
    """The random curves the check uses rise again, so the rule fires before the end."""
    from course_lib.checks.ch07_regularization import _val_curve

    class T:
        rng = np.random.default_rng(0)

    fired = [R.early_stopping(_val_curve(T, 50), 5)[0] < 49 for _ in range(50)]
    assert np.mean(fired) > 0.9


globals().update(contract_tests("07", CORRECT, WRONG, seeds=SEEDS, wrong_seeds=SEEDS[:4], min_questions=8))
