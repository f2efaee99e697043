r"""Chapter 14: the graded questions on adversarial examples and attributions.

NumPy only (no torch at import or at run time): the references below are closed forms for linear and logistic
models, where the input gradient is exact, and the PGD/IG update rules applied to given gradients.
``tests/test_checks_ch14.py`` checks them against :mod:`course_lib.robustness` and :mod:`course_lib.explain`
(PyTorch) and captum. The named slips: the FGSM step taken down the loss (the wrong sign), the clamp to the
valid pixel range forgotten, the projection back onto the :math:`\epsilon_{\text{adv}}`-ball forgotten (or made around 0
instead of around the clean input), IG without the :math:`(\mathbf{x} - \bar{\mathbf{x}})` factor, the left
Riemann sum for the midpoint rule, the L2 norm where the L-infinity ball's dual is the L1 norm.
"""
from __future__ import annotations

import numpy as np

from course_lib.grading import Tester, question


def _known(mistakes: dict) -> dict:
    """The mistakes that differ from the reference in this case (None: the slip gives the right answer here)."""
    return {hint: value for hint, value in mistakes.items() if value is not None}


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # no overflow for large |z|


SIGN = ("FGSM steps *up* the loss: add eps * sign(gradient of the loss); subtracting it makes the example "
        "easier, not harder.")
CLAMP = "Clamp to the valid pixel range [0, 1] at the end (np.clip(x_adv, 0, 1)): the result must still be an image."
PROJECT = ("Project back onto the eps-ball around the clean input x: clip x_adv - x to [-eps, eps] (L-inf) "
           "before the pixel clamp; the step alone can leave the ball.")
IG_FACTOR = ("Multiply the averaged gradient by (x - baseline), feature by feature: IG_i = (x_i - baseline_i) * "
             "mean of the path gradients; without that factor the attributions are not complete.")


# -- 1-2. Goodfellow's linear explanation -----------------------------------------------------------------------
@question("14.linear_worst_case", title="The worst-case change of a linear score under an L-inf budget")
def _check_linear_worst(t: Tester):
    for d in (3, 8, int(t.rng.integers(10, 100))):
        w, eps = t.rng.standard_normal(d), float(t.rng.uniform(0.01, 0.5))
        t.expect_close(t.call(w, eps), eps * np.abs(w).sum(), case={"w": w, "eps": eps}, mistakes=_known({
            "The dual of the L-inf norm is the L1 norm: eps * sum |w_i|, not eps * ||w||_2 (that is the L2 "
            "ball's answer).": eps * np.linalg.norm(w),
            "Every coordinate moves by eps in the direction of sign(w_i): the total is eps * sum |w_i|, not "
            "eps * max |w_i|.": eps * np.abs(w).max(),
            "Take absolute values: sum |w_i|, not sum w_i (the perturbation follows each weight's sign).":
                eps * w.sum(),
        }))


@question("14.linear_worst_delta", title="The perturbation that reaches it")
def _check_linear_delta(t: Tester):
    for d in (3, 6, int(t.rng.integers(10, 40))):
        w, eps = t.rng.standard_normal(d), float(t.rng.uniform(0.01, 0.5))
        t.expect_close(t.call(w, eps), eps * np.sign(w), case={"w": w, "eps": eps}, mistakes=_known({
            "To increase w . x, move each x_i in the direction of sign(w_i): +eps * sign(w), not -eps * sign(w).":
                -eps * np.sign(w),
            "Use eps * sign(w), every coordinate at the edge of the box: eps * w / ||w||_2 is the L2 ball's "
            "answer.": eps * w / np.linalg.norm(w),
            "Use the sign of w, not w itself: each coordinate may move by at most eps.": eps * w,
        }))


# -- 3. FGSM on logistic regression -----------------------------------------------------------------------------
def _logistic_case(t: Tester, d: int):
    x = t.rng.integers(0, 17, d) / 16  # digits-like grey levels, some at 0 and 1
    x[:2] = [0.0, 1.0]
    w = t.rng.standard_normal(d)
    return x, w, float(t.rng.standard_normal()), float(t.rng.uniform(0.05, 0.3))


def fgsm_logistic(x, y, w, b, eps):
    r""":math:`\operatorname{clip}_{[0,1]}(\mathbf{x} + \epsilon_{\text{adv}}\operatorname{sign}((p - y)\mathbf{w}))`, with
    :math:`p = \sigma(\mathbf{w}^\top\mathbf{x} + b)`: the binary cross-entropy's input gradient is
    :math:`(p - y)\mathbf{w}`."""
    return np.clip(x + eps * np.sign((_sigmoid(w @ x + b) - y) * w), 0, 1)


@question("14.fgsm_logistic", title="FGSM against logistic regression")
def _check_fgsm(t: Tester):
    for d, y in ((6, 1), (6, 0), (int(t.rng.integers(8, 30)), int(t.rng.integers(0, 2)))):
        x, w, b, eps = _logistic_case(t, d)
        ref = fgsm_logistic(x, y, w, b, eps)
        step = eps * np.sign((_sigmoid(w @ x + b) - y) * w)
        t.expect_close(t.call(x, y, w, b, eps), ref, case={"x": x, "y": y, "w": w, "b": b, "eps": eps},
                       mistakes=_known({
            SIGN: np.clip(x - step, 0, 1),
            CLAMP: x + step,
            "The input gradient of the loss is (p - y) w: its sign depends on the label, so sign(w) alone is "
            "right only for y = 0.": np.clip(x + eps * np.sign(w), 0, 1) if y == 1 else None,
        }))


# -- 4-7. projection and PGD steps ------------------------------------------------------------------------------
@question("14.project_linf", title="Back into the eps-ball and the pixel range (L-inf)")
def _check_project_linf(t: Tester):
    for d in (5, 12, int(t.rng.integers(15, 40))):
        x = t.rng.uniform(0, 1, d)
        x[:2] = [0.0, 1.0]
        eps = float(t.rng.uniform(0.05, 0.3))
        x_adv = x + t.rng.uniform(-3 * eps, 3 * eps, d)
        ref = np.clip(np.clip(x_adv, x - eps, x + eps), 0, 1)
        t.expect_close(t.call(x_adv, x, eps), ref, case={"x_adv": x_adv, "x": x, "eps": eps}, mistakes=_known({
            CLAMP: np.clip(x_adv, x - eps, x + eps),
            PROJECT: np.clip(x_adv, 0, 1),
            "The ball is centred on the clean input: clip x_adv - x to [-eps, eps] and add x back; clipping "
            "x_adv itself to [-eps, eps] projects around 0.": np.clip(np.clip(x_adv, -eps, eps), 0, 1),
        }))


def project_l2(delta, eps):
    r"""Each row of ``delta`` (N, d) rescaled to length :math:`\epsilon_{\text{adv}}` if it is longer, else unchanged."""
    n = np.linalg.norm(delta, axis=1, keepdims=True)
    return delta * np.minimum(1.0, eps / np.maximum(n, 1e-300))


@question("14.project_l2", title="Projection onto the L2 ball, one perturbation per row")
def _check_project_l2(t: Tester):
    for n, d in ((4, 3), (6, 10), (int(t.rng.integers(3, 9)), int(t.rng.integers(5, 30)))):
        eps = float(t.rng.uniform(0.5, 2))
        delta = t.rng.standard_normal((n, d)) * t.rng.uniform(0.1, 1.5, (n, 1)) * eps * 2 / np.sqrt(d)
        delta[0] *= 0.1 * eps / np.linalg.norm(delta[0])  # one inside the ball
        delta[1] *= 3 * eps / np.linalg.norm(delta[1])  # one outside
        norms = np.linalg.norm(delta, axis=1, keepdims=True)
        t.expect_close(t.call(delta, eps), project_l2(delta, eps), case={"delta": delta, "eps": eps},
                       mistakes=_known({
            "A perturbation already inside the ball is its own projection: rescale only the rows longer than "
            "eps.": delta * eps / norms,
            "That is the L-inf projection (clip each coordinate); the L2 projection rescales the whole row to "
            "length eps.": np.clip(delta, -eps, eps),
            "Take one norm per row (axis=1): each example has its own perturbation and its own ball.":
                delta * min(1.0, eps / np.linalg.norm(delta)),
        }))


def pgd_step_linf(x_adv, x, grad, eps, step_size):
    r"""One PGD step under L-inf: :math:`\operatorname{clip}_{[0,1]}(\mathbf{x} + \operatorname{clip}_{[-\epsilon_{\text{adv}},
    \epsilon_{\text{adv}}]}(\tilde{\mathbf{x}} + \eta_{\text{adv}}\operatorname{sign}\nabla L - \mathbf{x}))`."""
    return np.clip(x + np.clip(x_adv + step_size * np.sign(grad) - x, -eps, eps), 0, 1)


def pgd_step_l2(x_adv, x, grad, eps, step_size):
    r"""One PGD step under L2, rows are examples: the normalized gradient step, then :func:`project_l2` of the
    perturbation, then the pixel clamp."""
    g = grad / np.maximum(np.linalg.norm(grad, axis=1, keepdims=True), 1e-300)
    return np.clip(x + project_l2(x_adv + step_size * g - x, eps), 0, 1)


def _pgd_case(t: Tester, n: int, d: int, eps: float):
    x = t.rng.uniform(0, 1, (n, d))
    x[:, :2] = [0.0, 1.0]
    x_adv = np.clip(x + t.rng.uniform(-eps, eps, (n, d)), 0, 1)
    return x, x_adv, t.rng.standard_normal((n, d))


@question("14.pgd_step_linf", title="One step of projected gradient ascent (L-inf)")
def _check_pgd_linf(t: Tester):
    for n, d in ((1, 6), (3, 10), (int(t.rng.integers(2, 6)), int(t.rng.integers(10, 30)))):
        eps = float(t.rng.uniform(0.05, 0.3))
        step_size = float(eps * t.rng.uniform(0.5, 1.5))
        x, x_adv, g = _pgd_case(t, n, d, eps)
        raw = x_adv + step_size * np.sign(g)
        t.expect_close(t.call(x_adv, x, g, eps, step_size), pgd_step_linf(x_adv, x, g, eps, step_size),
                       case={"x_adv": x_adv, "x": x, "grad": g, "eps": eps, "step_size": step_size}, mistakes=_known({
            SIGN: pgd_step_linf(x_adv, x, -g, eps, step_size),
            PROJECT: np.clip(raw, 0, 1),
            CLAMP: x + np.clip(raw - x, -eps, eps),
            "Under L-inf the steepest ascent step is step_size * sign(grad), not step_size * grad: every pixel "
            "moves by the same step_size.": np.clip(x + np.clip(x_adv + step_size * g - x, -eps, eps), 0, 1),
        }))


@question("14.pgd_step_l2", title="One step of projected gradient ascent (L2)")
def _check_pgd_l2(t: Tester):
    for n, d in ((1, 6), (3, 10), (int(t.rng.integers(2, 6)), int(t.rng.integers(10, 30)))):
        eps = float(t.rng.uniform(0.3, 1.0))
        step_size = float(eps * t.rng.uniform(0.5, 1.0))
        x, _, g = _pgd_case(t, n, d, eps)
        x_adv = np.clip(x + project_l2(t.rng.standard_normal((n, d)), eps * 0.8), 0, 1)
        gn = g / np.linalg.norm(g, axis=1, keepdims=True)
        t.expect_close(t.call(x_adv, x, g, eps, step_size), pgd_step_l2(x_adv, x, g, eps, step_size),
                       case={"x_adv": x_adv, "x": x, "grad": g, "eps": eps, "step_size": step_size}, mistakes=_known({
            SIGN: pgd_step_l2(x_adv, x, -g, eps, step_size),
            PROJECT: np.clip(x_adv + step_size * gn, 0, 1),
            CLAMP: x + project_l2(x_adv + step_size * gn - x, eps),
            "Under L2 the steepest ascent step is step_size * grad / ||grad||_2 (per row); step_size * "
            "sign(grad) is the L-inf step.": np.clip(x + project_l2(x_adv + step_size * np.sign(g) - x, eps), 0, 1),
        }))


# -- 8. robust accuracy of a linear classifier -------------------------------------------------------------------
@question("14.certified_linear", title="Which points no L-inf attack of size eps can flip")
def _check_certified(t: Tester):
    for n, d in ((8, 3), (20, 5), (int(t.rng.integers(20, 60)), int(t.rng.integers(4, 20)))):
        X, w, b = t.rng.standard_normal((n, d)), t.rng.standard_normal(d), float(t.rng.standard_normal())
        y = np.where(t.rng.uniform(size=n) < 0.8, np.sign(X @ w + b), -np.sign(X @ w + b))
        m = np.sort(np.abs(X @ w + b))
        # half the points inside the budget: eps halfway between two margins, so that no point sits on the edge
        eps = float((m[n // 2 - 1] + m[n // 2]) / 2 / np.abs(w).sum())
        margin = y * (X @ w + b)
        t.expect_close(t.call(X, y, w, b, eps), margin > eps * np.abs(w).sum(),
                       case={"X": X, "y": y, "w": w, "b": b, "eps": eps}, mistakes=_known({
            "The worst case over the L-inf ball lowers the margin by eps * ||w||_1, the dual norm; ||w||_2 is "
            "the L2 ball's.": margin > eps * np.linalg.norm(w),
            "A point must be classified correctly to begin with: the margin y (w . x + b), with its sign, "
            "must exceed eps ||w||_1.": np.abs(margin) > eps * np.abs(w).sum(),
            "Robust means correct on the whole ball: compare the margin with eps * ||w||_1, not with 0.":
                margin > 0,
        }))


# -- 9. margin loss ----------------------------------------------------------------------------------------------
@question("14.margin_loss", title="The margin loss that a saturated softmax cannot hide")
def _check_margin(t: Tester):
    for n, k in ((4, 3), (6, 10), (int(t.rng.integers(3, 9)), int(t.rng.integers(3, 12)))):
        z = t.rng.standard_normal((n, k)) * 3
        y = t.rng.integers(0, k, n)
        true = z[np.arange(n), y]
        other = np.where(np.eye(k, dtype=bool)[y], -np.inf, z).max(1)
        t.expect_close(t.call(z, y), other - true, case={"logits": z, "y": y}, mistakes=_known({
            "Exclude the true class from the max: the best *other* logit, max over k != y.": z.max(1) - true,
            "The sign: other - true is positive when the example is misclassified (the attack increases it).":
                true - other,
            "Take the max over classes, per row (axis=1), not over the batch.":
                np.where(np.eye(k, dtype=bool)[y], -np.inf, z).max(0)[y] - true if n != k else None,
        }))


# -- 10-12. attributions -----------------------------------------------------------------------------------------
def integrated_gradients(grad_fn, x, baseline, n_steps):
    r"""The midpoint rule: :math:`(\mathbf{x} - \bar{\mathbf{x}})\odot\frac1n\sum_{j=1}^n\nabla f(\bar{\mathbf{x}} +
    \frac{j - 1/2}{n}(\mathbf{x} - \bar{\mathbf{x}}))`; ``grad_fn`` maps points (n, d) to gradients (n, d)."""
    a = (np.arange(n_steps) + 0.5) / n_steps
    return (x - baseline) * grad_fn(baseline + a[:, None] * (x - baseline)).mean(0)


def _smooth_model(t: Tester, d: int):
    """f(x) = v . tanh(W x): its gradient (W^T (v * (1 - tanh^2(W x)))) as a batched function, and f."""
    W, v = t.rng.standard_normal((4, d)), t.rng.standard_normal(4)

    def f(x):
        return np.tanh(np.atleast_2d(x) @ W.T) @ v

    def grad_fn(points):
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != d:
            raise ValueError(f"grad_fn takes points of shape (n, {d}), one per row; got {points.shape}")
        return (v * (1 - np.tanh(points @ W.T) ** 2)) @ W

    return f, grad_fn


@question("14.integrated_gradients", title="Integrated gradients by the midpoint rule")
def _check_ig(t: Tester):
    for d, n in ((3, 4), (5, 20), (int(t.rng.integers(4, 12)), int(t.rng.integers(5, 40)))):
        f, grad_fn = _smooth_model(t, d)
        x, base = t.rng.uniform(0, 1, d), t.rng.uniform(0, 0.3, d)
        ref = integrated_gradients(grad_fn, x, base, n)
        left = (x - base) * grad_fn(base + (np.arange(n) / n)[:, None] * (x - base)).mean(0)
        t.expect_close(t.call(grad_fn, x, base, n), ref, case={"x": x, "baseline": base, "n_steps": n},
                       mistakes=_known({
            IG_FACTOR: ref / (x - base),
            "Multiply by (x - baseline), not by x: the path starts at the baseline.": ref / (x - base) * x,
            "The midpoint rule evaluates at u_j = (j - 1/2)/n, j = 1..n; (j - 1)/n is the left Riemann sum.":
                left,
            "Average the n gradients (divide the sum by n_steps): the weights of the rule are 1/n.": ref * n,
        }))


@question("14.completeness", title="Completeness: how far the attributions are from f(x) - f(baseline)")
def _check_completeness(t: Tester):
    for d, n in ((3, 2), (6, 8), (int(t.rng.integers(4, 12)), int(t.rng.integers(2, 10)))):
        f, grad_fn = _smooth_model(t, d)
        x, base = t.rng.uniform(0, 1, d), t.rng.uniform(0, 0.3, d)
        attr = integrated_gradients(grad_fn, x, base, n)
        gap = float(f(x)[0] - f(base)[0])
        ref = float(attr.sum() - gap)
        t.expect_close(t.call(f, attr, x, base), ref, case={"attributions": attr, "x": x, "baseline": base},
                       mistakes=_known({
            "The error is sum(attributions) - (f(x) - f(baseline)), with that sign (captum's delta).": -ref,
            "Subtract f(baseline) too: completeness is about the change f(x) - f(baseline).":
                float(attr.sum() - f(x)[0]),
            "Sum the attributions over the features first, then compare with the one number f(x) - f(baseline).":
                attr - gap if d > 1 else None,
        }))


@question("14.gradient_x_input", title="Gradient x input for a linear classifier")
def _check_gxi(t: Tester):
    for k, d in ((3, 4), (10, 8), (int(t.rng.integers(2, 8)), int(t.rng.integers(4, 20)))):
        W, b, x = t.rng.standard_normal((k, d)), t.rng.standard_normal(k), t.rng.uniform(0, 1, d)
        c = int(t.rng.integers(0, k))
        t.expect_close(t.call(W, b, x, c), x * W[c], case={"W": W, "b": b, "x": x, "target": c}, mistakes=_known({
            "That is the saliency (the gradient alone): multiply by the input, x * W[target].": W[c],
            "The gradient of the target logit z_target = W[target] . x + b[target] is the row W[target], "
            "not the column W[:, target].": x * W[:, c] if k == d else None,
            "Keep the sign: gradient x input is x * W[target]; the absolute value is saliency's convention.":
                np.abs(x * W[c]),
            "The bias does not depend on x: it has no gradient and no attribution.": x * W[c] + b[c] / d,
        }))
