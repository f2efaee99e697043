"""Chapter 07: the graded questions on penalties, dropout, batch normalization and early stopping.

The reference answers are :mod:`course_lib.regularization` (itself checked against PyTorch and
the gradient checker in ``tests/test_regularization.py``). Every check draws fresh weights,
batches, masks and loss curves from ``t.rng``; ``mistakes`` names the usual slips: the missing
1/2 of the L2 penalty, ``w / |w|`` at zero, dropout without the rescaling (or with it at test
time), the unbiased variance or the wrong axis in batch normalization, the backward pass that
forgets the batch statistics depend on the input, early stopping one epoch late.
"""
from __future__ import annotations

import numpy as np

from course_lib import regularization as R
from course_lib.checks.ch06_optimization import _check_parts
from course_lib.grading import Tester, question
from course_lib.grading.compare import format_value


def _weights(t: Tester, shape, zeros: bool = False) -> np.ndarray:
    w = t.rng.standard_normal(shape)
    if zeros:
        w.flat[t.rng.choice(w.size, size=max(1, w.size // 3), replace=False)] = 0.0
    return w


def _shapes(t: Tester):
    return [(5,), (3, 4), (int(t.rng.integers(2, 9)),)]


# -- 1-4. penalties ----------------------------------------------------------------------------------
@question("07.l2_penalty", title="The L2 penalty and its gradient")
def _check_l2(t: Tester):
    for shape in _shapes(t):
        w, lam = _weights(t, shape), float(t.rng.uniform(0.01, 2.0))
        case = {"w": w, "lam": lam}
        got = t.call(w, lam)
        _check_parts(t, got, {"penalty": R.l2_penalty(w, lam), "gradient": R.l2_grad(w, lam)}, {
            "penalty": {
                "The penalty is lam / 2 * sum(w ** 2): keep the factor 1/2 (it makes the gradient lam * w).":
                    2 * R.l2_penalty(w, lam),
                "Square the weights: lam / 2 * sum(w ** 2) (the L2 norm squared), not their absolute values.":
                    0.5 * lam * np.sum(np.abs(w)),
                "Square the norm: lam / 2 * ||w||^2 = lam / 2 * sum(w ** 2), not lam / 2 * ||w||.":
                    0.5 * lam * np.linalg.norm(w),
            },
            "gradient": {
                "The 1/2 cancels the 2 of the derivative: d/dw (lam/2 w^2) = lam * w.": 2 * lam * w,
                "The gradient depends on w: lam * w.": np.full(shape, lam),
            }}, case, order=("penalty", "gradient"))


@question("07.l1_subgradient", title="A subgradient of the L1 penalty")
def _check_l1(t: Tester):
    for shape in _shapes(t):
        w, lam = _weights(t, shape, zeros=True), float(t.rng.uniform(0.01, 2.0))
        case = {"w": w, "lam": lam}
        got = t.call(w, lam)
        arr = np.asarray(got, dtype=np.float64) if isinstance(got, (np.ndarray, list, tuple)) else None
        if arr is not None and arr.shape == w.shape and np.isnan(arr[w == 0]).any():
            t.fail("Your gradient is nan where w = 0.", case=case,
                   hint="w / |w| divides by zero at w = 0. Use np.sign(w), which is 0 there (0 is a valid "
                        "subgradient of |w| at its kink).")
        tol = 1e-8 + 1e-6 * lam  # rounding at the ends of the subdifferential
        if arr is not None and arr.shape == w.shape and np.any(w == 0):
            at_zero = arr[w == 0]
            t.expect(bool(np.all(np.abs(at_zero) <= lam + tol)),
                     f"At w = 0 your value {format_value(at_zero[np.argmax(np.abs(at_zero))])} is outside the "
                     f"subdifferential [-lam, lam] = [{-lam:.4g}, {lam:.4g}].", case=case,
                     hint="At the kink any value between -lam and lam is a subgradient; 0 (np.sign's choice) is "
                          "the usual one.")
        expected = R.l1_grad(w, lam)
        if arr is not None and arr.shape == w.shape:
            # At w = 0 every value in the subdifferential [-lam, lam] is a valid subgradient (as any value in
            # [0, 1] is for ReLU at its kink, 04.relu_grad); the tolerance allows rounding at the ends.
            expected = np.where((w == 0) & (np.abs(arr) <= lam + tol), arr, expected)
        t.expect_close(got, expected, case=case, mistakes={
            "That is the L2 gradient (lam * w). The L1 penalty lam * |w| has slope lam * sign(w): the same size "
            "for every non-zero weight.": lam * w,
            "Scale by lam: lam * sign(w).": np.sign(w),
        })


@question("07.soft_threshold", title="Soft-thresholding: the proximal step of L1")
def _check_soft_threshold(t: Tester):
    for shape in _shapes(t):
        x, thr = 2 * _weights(t, shape), float(t.rng.uniform(0.2, 1.5))
        case = {"x": x, "t": thr}
        t.expect_close(t.call(x, thr), R.soft_threshold(x, thr), case=case, mistakes={
            "That is hard thresholding (keep x where |x| > t). Soft thresholding also moves the survivors t "
            "towards zero: sign(x) * max(|x| - t, 0).": x * (np.abs(x) > thr),
            "Keep the sign: sign(x) * max(|x| - t, 0).": np.maximum(np.abs(x) - thr, 0.0),
            "Clamp at zero: values within t of zero become exactly 0 (max(|x| - t, 0)), they do not cross over.":
                x - thr * np.sign(x),
            "That is the L2 shrinkage x / (1 + t), which never reaches zero; L1 subtracts t from |x|.": x / (1 + thr),
        })


@question("07.ridge", title="Ridge regression in closed form")
def _check_ridge(t: Tester):
    for n, d in [(20, 3), (8, 5), (int(t.rng.integers(10, 40)), int(t.rng.integers(2, 7)))]:
        X, y, lam = t.rng.standard_normal((n, d)), t.rng.standard_normal(n), float(t.rng.uniform(0.1, 5.0))
        case = {"X": X, "y": y, "lam": lam}
        t.expect_close(t.call(X, y, lam), R.ridge(X, y, lam), case=case, mistakes={
            "Add lam to the diagonal: (X^T X + lam I)^{-1} X^T y. Without it this is ordinary least squares.":
                np.linalg.lstsq(X, y, rcond=None)[0],
            "The penalty lam/2 ||w||^2 has gradient lam * w, so the system is (X^T X + lam I) w = X^T y (lam, not "
            "lam / 2).": R.ridge(X, y, lam / 2),
            "The gradient of lam/2 ||w||^2 is lam * w, not 2 lam * w: (X^T X + lam I) w = X^T y.":
                R.ridge(X, y, 2 * lam),
            "Add lam * I (the identity), not lam to every entry of X^T X.":
                np.linalg.solve(X.T @ X + lam, X.T @ y),
        })


# -- 5. dropout -----------------------------------------------------------------------------------------
@question("07.dropout", title="Inverted dropout, in training and in evaluation")
def _check_dropout(t: Tester):
    for shape, training in [((4, 6), True), ((3, 5), False), ((int(t.rng.integers(2, 8)), 7), True)]:
        x, p = t.rng.standard_normal(shape), float(t.rng.uniform(0.2, 0.7))
        u = t.rng.random(shape)
        case = {"x": x, "p": p, "u": u, "training": training}
        keep = u >= p
        expected = x * keep / (1 - p) if training else x
        got = t.call(x, p, u, training)
        if training and isinstance(got, np.ndarray) and got.shape == x.shape and got.dtype.kind == "f":
            # Every entry dropped (0) or kept and rescaled, but not the units u says: the mask was ignored.
            dropped, kept = got == 0, np.isclose(got, x / (1 - p), rtol=1e-6, atol=1e-12)
            # (An inverted mask, or none at all, gets its own hint below.)
            if np.all(dropped | kept) and dropped.any() and not np.array_equal(dropped, ~keep) \
                    and not np.array_equal(dropped, keep):
                t.fail("You dropped and rescaled units, but not the ones the mask u gives.", case=case,
                       hint="Use the uniform numbers u you are given (do not draw your own with np.random): keep "
                            "the units with u >= p and zero the others, so that the result can be checked.")
        mistakes = {
            "You rescaled every unit but dropped none: apply the mask, x * (u >= p) / (1 - p), so that units "
            "with u < p become 0.": x / (1 - p),
        } if training else {}
        t.expect_close(got, expected, case=case, mistakes={**mistakes,
            "Inverted dropout rescales the kept units by 1 / (1 - p), so that the expected activation does not "
            "change (and nothing changes at test time).": x * keep,
            "Divide the kept units by the KEEP probability 1 - p, not by p.": x * keep / p,
            "Drop the units with u < p (probability p) and keep those with u >= p.": x * ~keep / (1 - p),
            "Multiply by 1/(1 - p) to make up for the dropped units, not by (1 - p).": x * keep * (1 - p),
            "In evaluation mode inverted dropout is the identity: return x unchanged (the rescaling happened "
            "during training).": x * (1 - p),
            "In evaluation mode nothing is dropped: return x.": x * keep / (1 - p),
        })


# -- 6-8. batch normalization --------------------------------------------------------------------------
def _bn_case(t: Tester, n: int, d: int):
    x = t.rng.standard_normal((n, d)) * t.rng.uniform(0.5, 3, d) + t.rng.standard_normal(d)
    return x, t.rng.uniform(0.5, 2, d), t.rng.standard_normal(d), float(10 ** t.rng.uniform(-3, -1))


def _bn_sizes(t: Tester):
    return [(6, 3), (4, 5), (int(t.rng.integers(3, 12)), int(t.rng.integers(2, 6)))]


@question("07.batchnorm_forward", title="Batch normalization, forward (training mode)")
def _check_bn_forward(t: Tester):
    for n, d in _bn_sizes(t):
        x, gamma, beta, eps = _bn_case(t, n, d)
        case = {"x": x, "gamma": gamma, "beta": beta, "eps": eps}
        mu, var = x.mean(axis=0), x.var(axis=0)
        t.expect_close(t.call(x, gamma, beta, eps), R.batchnorm_forward(x, gamma, beta, eps)[0], case=case,
                       mistakes={
            "Normalize with the biased batch variance (divide by N, np.var's default), as PyTorch does.":
                gamma * (x - mu) / np.sqrt(x.var(axis=0, ddof=1) + eps) + beta,
            "Put eps inside the square root: (x - mean) / sqrt(var + eps).":
                gamma * (x - mu) / (np.sqrt(var) + eps) + beta,
            "Divide by the standard deviation sqrt(var + eps), not by the variance.":
                gamma * (x - mu) / (var + eps) + beta,
            "Scale and shift after normalizing: gamma * x_hat + beta.": (x - mu) / np.sqrt(var + eps),
            "Batch statistics are per feature, over the examples: mean and variance along axis 0 (the rows).":
                gamma * (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps) + beta,
        })


@question("07.batchnorm_backward", title="Batch normalization, backward")
def _check_bn_backward(t: Tester):
    for n, d in _bn_sizes(t):
        x, gamma, beta, eps = _bn_case(t, n, d)
        dout = t.rng.standard_normal((n, d))
        case = {"dout": dout, "x": x, "gamma": gamma, "eps": eps}
        _, cache = R.batchnorm_forward(x, gamma, beta, eps)
        dx, dgamma, dbeta = R.batchnorm_backward(dout, cache)
        x_hat, inv_std, _ = cache
        g = dout * gamma
        _check_parts(t, t.call(dout, x, gamma, eps), {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}, {
            "dbeta": {"dbeta sums the incoming gradient over the batch: dout.sum(axis=0).": dout.mean(axis=0)},
            "dgamma": {"gamma multiplies x_hat, so dgamma = (dout * x_hat).sum(axis=0).": dout.sum(axis=0)},
            "dx": {
                "The mean and the variance depend on x too. Treating them as constants gives only the first term, "
                "gamma * dout / sqrt(var + eps); subtract the other two paths: "
                "dx = inv_std / N * (N g - g.sum(0) - x_hat * (g * x_hat).sum(0)), g = gamma * dout.": g * inv_std,
                "You included the path through the mean but not the one through the variance: subtract "
                "x_hat * (g * x_hat).sum(0) too.": inv_std / n * (n * g - g.sum(axis=0)),
                "Multiply the incoming gradient by gamma first: g = gamma * dout.":
                    inv_std / n * (n * dout - dout.sum(axis=0) - x_hat * (dout * x_hat).sum(axis=0)),
            }}, case, order=("dbeta", "dgamma", "dx"))


@question("07.running_stats", title="Running statistics of batch normalization")
def _check_running_stats(t: Tester):
    for n, d in _bn_sizes(t):
        x = t.rng.standard_normal((n, d)) * 2 + 1
        rm, rv = t.rng.standard_normal(d), t.rng.uniform(0.5, 2, d)
        m = float(t.rng.uniform(0.05, 0.3))
        case = {"running_mean": rm, "running_var": rv, "x": x, "momentum": m}
        new_mean, new_var = R.update_running_stats(rm, rv, x, m)
        _check_parts(t, t.call(rm, rv, x, m), {"new mean": new_mean, "new var": new_var}, {
            "new mean": {"momentum is the weight of the NEW batch: (1 - momentum) * running + momentum * batch.":
                         m * rm + (1 - m) * x.mean(axis=0)},
            "new var": {
                "PyTorch's running variance uses the UNBIASED batch variance (divide by N - 1: np.var(..., ddof=1)); "
                "only the normalization inside the batch uses the biased one.":
                    (1 - m) * rv + m * x.var(axis=0),
                "momentum is the weight of the NEW batch: (1 - momentum) * running + momentum * batch.":
                    m * rv + (1 - m) * x.var(axis=0, ddof=1),
            }}, case, order=("new mean", "new var"))


# -- 9. early stopping -----------------------------------------------------------------------------------
def _val_curve(t: Tester, n: int) -> np.ndarray:
    """A noisy U: falls, then rises (overfitting), with plateaus and bumps."""
    e = np.arange(n)
    turn = t.rng.uniform(0.3, 0.6) * n
    return 1 / (1 + e) + 0.002 * np.maximum(e - turn, 0) ** 1.5 / n + 0.02 * t.rng.random(n)


@question("07.early_stopping", title="Early stopping with patience")
def _check_early_stopping(t: Tester):
    for n, patience in [(30, 3), (50, 5), (int(t.rng.integers(20, 60)), int(t.rng.integers(1, 8)))]:
        losses = _val_curve(t, n)
        case = {"val_losses": losses, "patience": patience}
        stop, best = R.early_stopping(losses, patience)
        late, _ = R.early_stopping(losses, patience + 1)
        got = t.call(list(losses), patience)
        g_stop, g_best = t.parts(got, ("stop", "best"), case=case)
        t.expect_close(g_stop, stop, case=case, what="Your stopping epoch", mistakes={
            "Stop as soon as `patience` epochs in a row brought no improvement: t - best >= patience (you stop "
            "one epoch late).": late,
            "The best epoch is where the weights come from; training stops `patience` epochs after it.": best,
            "Epochs are counted from 0 (the index into val_losses).": stop + 1,
        })
        t.expect_close(g_best, best, case=case, what="Your best epoch", mistakes={
            "Return the epoch with the best validation loss (whose weights you restore), not the epoch where "
            "training stopped.": stop,
            "Epochs are counted from 0 (the index into val_losses).": best + 1,
        })
