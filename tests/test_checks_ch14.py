"""Chapter 14 checks: references and alternative correct answers (PyTorch autograd, course_lib.robustness,
course_lib.explain, captum) pass, stubs are "not attempted", hard-coded and plausible wrong answers fail with
the hint aimed at that slip (the FGSM sign, the missing clamp or projection, IG without (x - baseline))."""
import numpy as np
import torch
from captum.attr import IntegratedGradients

from check_contract import contract_tests
from course_lib import explain as E
from course_lib import robustness as R
from course_lib.checks import ch14_robustness_explainability_transfer as C

SEEDS = [1, 2, 3, 4, 5]


# -- references and alternatives, in the learner's signatures ------------------------------------------------
def linear_worst_case(w, eps):
    return eps * np.abs(w).sum()


def linear_worst_case_lib(w, eps):
    return R.linear_worst_case(w, eps)[0]


def linear_worst_delta(w, eps):
    return eps * np.sign(w)


def linear_worst_delta_lib(w, eps):
    return R.linear_worst_case(w, eps)[1]


def fgsm_torch(x, y, w, b, eps):
    """course_lib.robustness.fgsm on a one-logit model (BCE = CE over the logits (0, z))."""
    wt = torch.tensor(w)
    model = lambda xb: torch.stack([torch.zeros(len(xb), dtype=xb.dtype), xb @ wt + b], 1)  # noqa: E731
    return R.fgsm(model, torch.tensor(x)[None], torch.tensor([y]), eps)[0].numpy()


def project_linf(x_adv, x, eps):
    return np.clip(np.clip(x_adv, x - eps, x + eps), 0, 1)


def project_linf_torch(x_adv, x, eps):
    return (torch.tensor(x) + R.project_linf(torch.tensor(x_adv - x), eps)).clamp(0, 1).numpy()


def project_l2_torch(delta, eps):
    return R.project_l2(torch.tensor(delta), eps).numpy()


def pgd_linf_torch(x_adv, x, grad, eps, alpha):
    """course_lib.robustness.pgd with one step from x_adv: a linear loss grad . x has gradient grad."""
    g = torch.tensor(grad)
    return _one_pgd_step(x_adv, x, g, eps, alpha, "linf")


def pgd_l2_torch(x_adv, x, grad, eps, alpha):
    return _one_pgd_step(x_adv, x, torch.tensor(grad), eps, alpha, "l2")


def _one_pgd_step(x_adv, x, g, eps, alpha, norm):
    """The loop body of course_lib.robustness.pgd (step, then its projection, then the clamp), in torch."""
    xt, xa = torch.tensor(x), torch.tensor(x_adv)
    project = R.project_linf if norm == "linf" else R.project_l2
    step = g.sign() if norm == "linf" else g / g.norm(dim=1, keepdim=True)
    return (xt + project(xa + alpha * step - xt, eps)).clamp(0, 1).numpy()


def certified(X, y, w, b, eps):
    return y * (X @ w + b) - eps * np.abs(w).sum() > 0


def certified_lib(X, y, w, b, eps):
    """Robust iff correct at the worst point of the ball, eps sign(w) against the label (ignores [0, 1])."""
    _, delta = R.linear_worst_case(w, eps)
    worst = X - y[:, None] * delta
    return np.sign(worst @ w + b) == y


def margin(z, y):
    return R.margin_loss(torch.tensor(z), torch.tensor(y)).numpy()


def margin_loops(z, y):
    return np.array([max(z[i, k] for k in range(z.shape[1]) if k != y[i]) - z[i, y[i]] for i in range(len(y))])


def ig(grad_fn, x, baseline, n_steps):
    return C.integrated_gradients(grad_fn, x, baseline, n_steps)


def ig_loops(grad_fn, x, baseline, n_steps):
    total = np.zeros_like(x)
    for j in range(1, n_steps + 1):
        total += grad_fn((baseline + (j - 0.5) / n_steps * (x - baseline))[None])[0]
    return (x - baseline) * total / n_steps


def completeness(f, attributions, x, baseline):
    return float(np.sum(attributions) - (f(x)[0] - f(baseline)[0]))


def gxi(W, b, x, target):
    return x * W[target]


def gxi_lib(W, b, x, target):
    lin = torch.nn.Linear(W.shape[1], W.shape[0]).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W))
        lin.bias.copy_(torch.tensor(b))
    return E.gradient_x_input(lin, torch.tensor(x)[None], target)[0].detach().numpy()


def test_ig_reference_is_captums_on_a_smooth_model():
    rng = np.random.default_rng(0)
    W, v = rng.standard_normal((4, 6)), rng.standard_normal(4)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4, bias=False), torch.nn.Tanh(),
                                torch.nn.Linear(4, 1, bias=False)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(W))
        model[2].weight.copy_(torch.tensor(v[None]))
    x, base = rng.uniform(0, 1, 6), rng.uniform(0, 0.3, 6)
    grad_fn = lambda p: (v * (1 - np.tanh(p @ W.T) ** 2)) @ W  # noqa: E731
    ref = IntegratedGradients(model).attribute(torch.tensor(x)[None], torch.tensor(base)[None], target=0,
                                               n_steps=12, method="riemann_middle")[0].numpy()
    ours = C.integrated_gradients(grad_fn, x, base, 12)
    np.testing.assert_allclose(ours, ref, rtol=8 * np.finfo(np.float32).eps, atol=1e-12)  # captum's float32 alphas
    np.testing.assert_allclose(ours, E.integrated_gradients(model, torch.tensor(x)[None], torch.tensor(base)[None],
                                                            0, 12)[0].detach().numpy(), rtol=1e-12)


CORRECT = {
    "14.linear_worst_case": (linear_worst_case, [linear_worst_case_lib], 1.0),
    "14.linear_worst_delta": (linear_worst_delta, [linear_worst_delta_lib], np.zeros(3)),
    "14.fgsm_logistic": (C.fgsm_logistic, [fgsm_torch], np.zeros(6)),
    "14.project_linf": (project_linf, [project_linf_torch], np.zeros(5)),
    "14.project_l2": (C.project_l2, [project_l2_torch], np.zeros((4, 3))),
    "14.pgd_step_linf": (C.pgd_step_linf, [pgd_linf_torch], np.zeros((1, 6))),
    "14.pgd_step_l2": (C.pgd_step_l2, [pgd_l2_torch], np.zeros((1, 6))),
    "14.certified_linear": (certified, [certified_lib], np.ones(8, dtype=bool)),
    "14.margin_loss": (margin_loops, [margin], np.zeros(4)),
    "14.integrated_gradients": (ig, [ig_loops], np.zeros(3)),
    "14.completeness": (completeness, [], 0.0),
    "14.gradient_x_input": (gxi, [gxi_lib], np.zeros(4)),
}


def _fgsm_wrong_sign(x, y, w, b, eps):
    return np.clip(x - eps * np.sign((C._sigmoid(w @ x + b) - y) * w), 0, 1)


def _fgsm_no_clamp(x, y, w, b, eps):
    return x + eps * np.sign((C._sigmoid(w @ x + b) - y) * w)


def _ig_no_factor(grad_fn, x, baseline, n_steps):
    a = (np.arange(n_steps) + 0.5) / n_steps
    return grad_fn(baseline + a[:, None] * (x - baseline)).mean(0)


def _ig_left(grad_fn, x, baseline, n_steps):
    a = np.arange(n_steps) / n_steps
    return (x - baseline) * grad_fn(baseline + a[:, None] * (x - baseline)).mean(0)


WRONG = {
    "14.linear_worst_case": [(lambda w, eps: eps * np.linalg.norm(w), "L1"),
                             (lambda w, eps: eps * np.abs(w).max(), "sum |w_i|")],
    "14.linear_worst_delta": [(lambda w, eps: -eps * np.sign(w), "sign(w_i)"),
                              (lambda w, eps: eps * w, "sign of w")],
    "14.fgsm_logistic": [(_fgsm_wrong_sign, "up"), (_fgsm_no_clamp, "pixel range")],
    "14.project_linf": [(lambda x_adv, x, eps: np.clip(x_adv, x - eps, x + eps), "pixel range"),
                        (lambda x_adv, x, eps: np.clip(x_adv, 0, 1), "eps-ball"),
                        (lambda x_adv, x, eps: np.clip(np.clip(x_adv, -eps, eps), 0, 1), "centred")],
    "14.project_l2": [(lambda d, eps: d * eps / np.linalg.norm(d, axis=1, keepdims=True), "inside"),
                      (lambda d, eps: np.clip(d, -eps, eps), "L-inf")],
    "14.pgd_step_linf": [(lambda xa, x, g, eps, a: C.pgd_step_linf(xa, x, -g, eps, a), "up"),
                         (lambda xa, x, g, eps, a: np.clip(xa + a * np.sign(g), 0, 1), "eps-ball"),
                         (lambda xa, x, g, eps, a: x + np.clip(xa + a * np.sign(g) - x, -eps, eps), "pixel range")],
    "14.pgd_step_l2": [(lambda xa, x, g, eps, a: C.pgd_step_l2(xa, x, -g, eps, a), "up"),
                       (lambda xa, x, g, eps, a: np.clip(x + C.project_l2(xa + a * np.sign(g) - x, eps), 0, 1),
                        "L-inf step")],
    "14.certified_linear": [(lambda X, y, w, b, eps: y * (X @ w + b) > eps * np.linalg.norm(w), "dual norm"),
                            (lambda X, y, w, b, eps: y * (X @ w + b) > 0, "whole ball")],
    "14.margin_loss": [(lambda z, y: z.max(1) - z[np.arange(len(y)), y], "Exclude"),
                       (lambda z, y: -margin_loops(z, y), "sign")],
    "14.integrated_gradients": [(_ig_no_factor, "(x - baseline)"), (_ig_left, "midpoint")],
    "14.completeness": [(lambda f, a, x, b: -completeness(f, a, x, b), "sign"),
                        (lambda f, a, x, b: float(np.sum(a) - f(x)[0]), "f(baseline)")],
    "14.gradient_x_input": [(lambda W, b, x, c: W[c], "saliency"), (lambda W, b, x, c: np.abs(x * W[c]), "sign")],
}

globals().update(contract_tests("14", CORRECT, WRONG, seeds=SEEDS, min_questions=10))
