r"""Chapter 07: the graded questions on bias and variance, penalties, dropout, batch normalization and early
stopping.

The reference answers are :mod:`course_lib.regularization` (itself checked against PyTorch and
the gradient checker in ``tests/test_regularization.py``). Every check draws fresh weights,
batches, masks and loss curves from ``t.rng``; ``mistakes`` names the usual slips: ridge without
its :math:`\lambda\mathbf{I}`, hard instead of soft thresholding, dropout without the rescaling
(or with it at test time), the unbiased variance or the wrong axis in batch normalization, the
backward pass that forgets the batch statistics depend on the input, early stopping one epoch
late.

Two questions ask for an experiment or an algorithm rather than a formula the text gives: the
Monte-Carlo bias-variance decomposition of a learning algorithm, over resampled training sets
(the learner's estimates are compared with the exact values of a linear smoother, within a
window derived from their Monte-Carlo spread, :data:`BIAS_VARIANCE_Z`), and the lasso solved by
proximal gradient descent to convergence, exact zeros included (against coordinate descent run
to the last digits).
"""
from __future__ import annotations

import numpy as np

from course_lib import regularization as R
from course_lib.checks.ch06_optimization import _check_parts, _noisy_slips
from course_lib.grading import Tester, question
from course_lib.grading.compare import format_value


def _weights(t: Tester, shape, zeros: bool = False) -> np.ndarray:
    w = t.rng.standard_normal(shape)
    if zeros:
        w.flat[t.rng.choice(w.size, size=max(1, w.size // 3), replace=False)] = 0.0
    return w


def _shapes(t: Tester):
    return [(5,), (3, 4), (int(t.rng.integers(2, 9)),)]


# -- 1. bias and variance, by Monte Carlo ------------------------------------------------------------------
BIAS_VARIANCE_Z = 6.0
"""How many standard deviations of its Monte-Carlo spread a right estimate may be off (Gaussian tail 2e-9)."""
CHI2_QUANTILE = 40.0
"""A weighted chi-square exceeds this many times its mean with probability at most P(chi2_1 > 40) = 2.5e-10
(the bound of a single term): the allowance for the squared error of the mean prediction in bias^2."""


def _smoother(t: Tester, kind: str):
    """A learning algorithm that is a linear smoother, predictions = S y, on a fixed design with fresh noise.

    Returns fit_predict(x, y) (trains and predicts at the test points), sample(rng) -> (x, y), the
    noise-free targets at the test points, the smoother S (M, n) and the noise variance v.
    """
    n = int(t.rng.integers(16, 26))
    # A jittered grid: no wide gaps, where a high-degree fit's variance would explode.
    x_train = np.linspace(-1, 1, n) + t.rng.uniform(-0.3, 0.3, n) * 2 / (n - 1)
    x_test = np.linspace(-0.9, 0.9, 30)
    amp, freq, phase = float(t.rng.uniform(0.5, 1.5)), float(t.rng.uniform(2, 4)), float(t.rng.uniform(0, np.pi))
    noise = float(t.rng.uniform(0.15, 0.4))

    def f(x):
        return amp * np.sin(freq * x + phase)

    if kind == "knn":
        k = int(t.rng.integers(1, 5))
        nearest = np.argsort(np.abs(x_test[:, None] - x_train[None, :]), axis=1, kind="stable")[:, :k]
        S = np.zeros((len(x_test), n))
        np.put_along_axis(S, nearest, 1.0 / k, axis=1)

        def fit_predict(x, y):
            order = np.argsort(np.abs(x_test[:, None] - np.asarray(x)[None, :]), axis=1, kind="stable")[:, :k]
            return np.asarray(y)[order].mean(axis=1)
    else:
        degree, lam = (1, 1e-3) if kind == "rigid" else (int(t.rng.integers(6, 9)), 1e-4)
        Phi, Phi_test = R.polynomial_features(x_train, degree), R.polynomial_features(x_test, degree)
        S = Phi_test @ np.linalg.solve(Phi.T @ Phi + lam * np.eye(degree + 1), Phi.T)

        def fit_predict(x, y):
            return R.polynomial_features(x_test, degree) @ R.fit_polynomial(x, y, degree, lam)

    def sample(rng):
        return x_train.copy(), f(x_train) + noise * rng.standard_normal(n)

    return fit_predict, sample, f(x_test), S, f(x_train), noise**2


@question("07.bias_variance", title="Bias and variance of a learning algorithm, by Monte Carlo")
def _check_bias_variance(t: Tester):
    n_sets = 400
    for kind in ["rigid", "flexible", "knn"]:
        fit_predict, sample, f_test, S, f_train, v = _smoother(t, kind)
        M = len(f_test)
        rng = np.random.default_rng(int(t.rng.integers(2**31)))
        case = {"model": {"rigid": "a straight line (ridge)", "flexible": "a high-degree polynomial (ridge)",
                          "knn": "k nearest neighbours"}[kind], "f_test": f_test, "n_sets": n_sets}
        # Exact, for a linear smoother: mean prediction S f, covariance of the predictions C = v S S^T.
        b = S @ f_train - f_test
        C = v * S @ S.T
        bias2, variance, trC2 = float(b @ b) / M, float(np.trace(C)) / M, float(np.sum(C * C))
        # A right estimate over n_sets sets: variance with 1/n or 1/(n - 1) (expectation (n - 1)/n variance or
        # variance), spread sqrt(2 tr(C^2) / (n - 1)) / M; bias^2 from the mean prediction, b + e with e ~ N(0, C/n):
        # a linear term 2 b.e (spread 2 sqrt(b C b / n) / M) and ||e||^2 / M >= 0, of mean variance / n, below
        # CHI2_QUANTILE times its mean (or that minus variance / n, if the estimate corrects for it).
        var_tol = variance / n_sets + BIAS_VARIANCE_Z * np.sqrt(2 * trC2 / (n_sets - 1)) / M
        bias_tol = (CHI2_QUANTILE * variance / n_sets
                    + BIAS_VARIANCE_Z * 2 * np.sqrt(max(float(b @ C @ b), 0.0) / n_sets) / M)
        got = t.call(fit_predict, sample, f_test.copy(), n_sets, rng)
        got_bias2, got_var = t.numbers(got, ("bias2", "variance"), case=case)
        swapped = "Return bias^2 first, then the variance: `return bias2, variance`."
        fresh = ("Draw a fresh training set for every fit (call sample_training_set(rng) each time): with one set "
                 "reused the predictions never vary.")
        if abs(got_var) <= 1e-9 * variance:  # checked first: its bias^2 looks like bias^2 + variance too
            t.fail(f"Your variance is {format_value(float(got_var))}, but the predictions do vary from one training "
                   f"set to the next (variance {format_value(variance)}).", hint=fresh, case=case)
        t.expect_close(got_bias2, bias2, case=case, rtol=0, atol=bias_tol, what="Your bias^2", mistakes=_noisy_slips(
            got_bias2, bias2, bias_tol, {
            swapped: variance,
            "Square after averaging over the training sets: bias^2 = (f - f_bar)^2 with f_bar the mean prediction. "
            "The average of (f - f_hat)^2 is bias^2 + variance.": bias2 + variance,
            "Square the difference f - f_bar before averaging over the test points.": float(np.mean(-b)),
            "Return bias^2 (a mean of squares), not its square root.": np.sqrt(bias2),
            "Average over the test points (a mean), do not sum over them.": bias2 * M,
        }))
        t.expect_close(got_var, variance, case=case, rtol=0, atol=var_tol, what="Your variance", mistakes=_noisy_slips(
            got_var, variance, var_tol, {
            "The variance is the spread around the MEAN prediction f_bar (the average over the training sets), "
            "not around the true f: mean over the test points of the average of (f_hat - f_bar)^2.":
                variance + bias2,
            swapped: bias2,
            "Return the variance (a mean of squares), not a standard deviation.": np.sqrt(variance),
            "Average over the test points (a mean), do not sum over them.": variance * M,
        }))


# -- 2-4. L2 and L1 -----------------------------------------------------------------------------------------
@question("07.ridge", title="Ridge regression: the minimizer, derived")
def _check_ridge(t: Tester):
    for n, d in [(20, 3), (8, 5), (4, 6), (int(t.rng.integers(10, 40)), int(t.rng.integers(2, 7)))]:  # (4, 6): d > N
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
                np.linalg.lstsq(X.T @ X + lam, X.T @ y, rcond=None)[0],  # singular when d > N + 1
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


def _lasso_reference(X: np.ndarray, y: np.ndarray, lam: float, sweeps: int = 100_000) -> np.ndarray:
    r"""argmin :math:`\tfrac12\lVert\mathbf{X}\mathbf{w} - \mathbf{y}\rVert_2^2 + \lambda\lVert\mathbf{w}\rVert_1` by
    cyclic coordinate descent, until a sweep changes no weight by more than 1e-15 of the largest (exact zeros)."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w, r, col = np.zeros(X.shape[1]), y.copy(), np.sum(X * X, axis=0)
    for _ in range(sweeps):
        change = 0.0
        for j in range(X.shape[1]):
            rho = X[:, j] @ r + col[j] * w[j]  # the correlation with the residual of all other weights
            new = float(R.soft_threshold(rho, lam)) / col[j]
            if new != w[j]:
                r -= X[:, j] * (new - w[j])
                change, w[j] = max(change, abs(new - w[j])), new
        if change <= 1e-15 * max(1.0, float(np.max(np.abs(w)))):
            break
    return w


@question("07.lasso", title="The lasso by proximal gradient descent, to convergence and exact zeros")
def _check_lasso(t: Tester):
    for N, d, frac in [(30, 4, 0.3), (40, 6, 0.5), (24, 3, 1.2),
                       (int(t.rng.integers(30, 60)), int(t.rng.integers(3, 8)), float(t.rng.uniform(0.1, 0.7)))]:
        X = t.rng.standard_normal((N, d)) * t.rng.uniform(0.5, 2.0, d)
        w_true = t.rng.standard_normal(d) * (t.rng.random(d) < 0.6)
        y = X @ w_true + 0.3 * t.rng.standard_normal(N)
        lam = frac * float(np.max(np.abs(X.T @ y)))  # frac >= 1: every weight is 0 at the optimum
        case = {"X": X, "y": y, "lam": lam}
        w_star = _lasso_reference(X, y, lam)
        scale = max(1.0, float(np.max(np.abs(w_star))))
        got = t.call(X, y, lam)
        arr = np.asarray(got, dtype=np.float64) if isinstance(got, (np.ndarray, list, tuple)) else None
        # The optimum's zeros (strictly inside the subdifferential, |x_j^T r| < lam) must be exact zeros.
        inside = (w_star == 0) & (np.abs(X.T @ (y - X @ w_star)) < lam * (1 - 1e-9))
        if arr is not None and arr.shape == w_star.shape and np.all(np.isfinite(arr)) and inside.any():
            small = np.abs(arr[inside])
            if small.max() > 0 and small.max() < 1e-2 * scale and np.allclose(arr[~inside], w_star[~inside],
                                                                             rtol=0.05, atol=1e-3 * scale):
                t.fail(f"Weight {int(np.flatnonzero(inside)[np.argmax(small)])} is {format_value(float(small.max()))}, "
                       "but at the optimum it is exactly 0.", case=case,
                       hint="Gradient or subgradient steps jump across zero and never land on it. Take a gradient "
                            "step on the smooth part, then the proximal step of the penalty: soft-thresholding at "
                            "lr * lam (exercise 3), which sets small weights to exactly 0.")
        lam_max = float(np.linalg.eigvalsh(X.T @ X)[-1])
        mistakes = {
            "The proximal step after a gradient step of size lr thresholds at lr * lam, not at lam (the step "
            "minimizes (1/(2 lr)) ||z - v||^2 + lam ||z||_1).": _lasso_reference(X, y, lam * lam_max),
            "That is ridge (the L2 penalty): the lasso's L1 penalty needs the soft-thresholding step.":
                R.ridge(X, y, lam),
            "That is ordinary least squares: the penalty lam ||w||_1 is missing.": np.linalg.lstsq(X, y, rcond=None)[0],
            "The loss is (1/2)||X w - y||^2 (a sum, not a mean over the N examples): its gradient is "
            "X^T (X w - y), without a 1/N.": _lasso_reference(X, y, lam * N),
            "The penalty is lam ||w||_1; its proximal step thresholds at lr * lam, not 2 lr lam.":
                _lasso_reference(X, y, 2 * lam),
            "The penalty is lam ||w||_1; its proximal step thresholds at lr * lam, not lr lam / 2.":
                _lasso_reference(X, y, lam / 2),
        }
        if arr is not None and arr.shape == w_star.shape and np.all(np.isfinite(arr)):
            off = float(np.max(np.abs(arr - w_star)))
            named = any(np.allclose(arr, m, rtol=1e-4, atol=1e-6 * scale) for m in mistakes.values())
            if not named and 1e-6 * scale < off < 0.05 * scale:
                t.fail(f"Your weights are within {format_value(off)} of the optimum, but not at it.", case=case,
                       hint="Iterate until the weights stop changing (say by less than 1e-12): with the step "
                            "1 / lambda_max(X^T X), each step shrinks the error by at least a factor "
                            "1 - lambda_min / lambda_max, so a few thousand steps reach the last digits here.")
        t.expect_close(got, w_star, case=case, rtol=1e-4, atol=1e-6 * scale, mistakes=mistakes)


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
