"""Chapter 01: the graded questions on linear algebra.

The reference answers are the functions of :mod:`course_lib.linalg`. Every check draws
fresh random cases from ``t.rng`` (including edge shapes: 1x1, wide, tall), so any correct
implementation (loops, ``einsum``, ``@``, ``np.linalg``) passes and a hard-coded one fails.
``mistakes`` lists the likely slips of each question with a hint aimed at each.

Eigenvectors, singular vectors and principal components are only defined up to sign:
those answers are compared after flipping each column to agree with the reference
(:func:`course_lib.linalg.flip_signs`), and the candidate mistakes go through the same
alignment.
"""
from __future__ import annotations

import numpy as np

from course_lib import linalg as la
from course_lib.grading import Tester, question
from course_lib.grading.tester import CheckFailed

_W_T_HINT = ("W has shape (out, in), as in torch.nn.Linear, and X holds one example per ROW, so the batched "
             "layer is X @ W.T + b (the transpose of W x for every row).")
_SIGN_NOTE = "compared up to the sign of each column"


# -- helpers ------------------------------------------------------------------------------
def _call(t: Tester, *args, on_shape_error: str | None = None):
    """``t.call``, but a shape error inside the learner's code gets the question's own hint."""
    try:
        return t.call(*args)
    except CheckFailed as exc:
        if on_shape_error and "ValueError" in exc.message and ("matmul" in exc.message or "shape" in exc.message):
            exc.hint = on_shape_error
        raise


def _align(got, ref: np.ndarray):
    """Flip the sign of each column of ``got`` to agree with ``ref`` (a vector is one column)."""
    if not (isinstance(got, np.ndarray) and got.shape == ref.shape and got.dtype.kind in "fiu" and got.size):
        return got  # let diagnose() explain the type or shape
    if ref.ndim == 1:
        return la.flip_signs(got[:, None], ref[:, None])[:, 0]
    return la.flip_signs(got, ref)


def _expect_up_to_sign(t: Tester, got, ref: np.ndarray, *, what: str, mistakes: dict | None = None, **kw):
    """``t.expect_close`` for columns defined up to sign (eigenvectors, components, projections).

    The answer is aligned with the reference; each candidate mistake is aligned with the
    answer (not the reference: a wrong column may be orthogonal to the reference column,
    and then its sign relative to it is noise).
    """
    got = _align(got, ref)
    if isinstance(got, np.ndarray) and got.shape == ref.shape:
        mistakes = {h: _align(np.asarray(c, dtype=np.float64), got) for h, c in (mistakes or {}).items()
                    if np.shape(c) == ref.shape}
    t.expect_close(got, ref, what=f"{what} ({_SIGN_NOTE})", mistakes=mistakes, **kw)


def _with_singular_values(t: Tester, m: int, n: int) -> np.ndarray:
    """A random ``(m, n)`` matrix whose singular values are well separated (unique SVD)."""
    r = min(m, n)
    s = np.sort(t.rng.uniform(0.5, 1.0, r).cumsum())[::-1] * t.rng.uniform(0.5, 2.0)
    U, _ = np.linalg.qr(t.rng.standard_normal((m, r)))
    V, _ = np.linalg.qr(t.rng.standard_normal((n, r)))
    return (U * s) @ V.T


def _symmetric(t: Tester, n: int, dominant: int = 0):
    """A random symmetric matrix with well separated eigenvalues (some negative).

    With ``dominant`` = +1 or -1 the eigenvalue of largest magnitude has that sign and is at
    least 2.5 times as large in magnitude as every other, so power iteration converges fast.
    """
    Q, _ = np.linalg.qr(t.rng.standard_normal((n, n)))
    lam = t.rng.permutation(np.arange(n) - n / 3) * 0.7 + t.rng.uniform(-0.2, 0.2, n)
    if dominant:
        top = dominant * t.rng.uniform(3.0, 8.0)
        lam = np.concatenate([[top], lam[1:] / max(1.0, np.abs(lam[1:]).max(initial=1.0)) * abs(top) / 2.5])
    return Q @ np.diag(lam) @ Q.T


def _data(t: Tester, N: int, d: int) -> np.ndarray:
    """Correlated data with clearly different variances per direction and a mean far from 0."""
    R, _ = np.linalg.qr(t.rng.standard_normal((d, d)))
    scales = 3.0 * 0.7 ** np.arange(d)
    return (t.rng.standard_normal((N, d)) * scales) @ R.T + t.rng.uniform(2.0, 5.0, d)


# -- 1. broadcasting ----------------------------------------------------------------------
@question("01.broadcast_center", title="Centre the columns of a data matrix (broadcasting)")
def _check_center(t: Tester):
    shapes = [(5, 3), (4, 4), (int(t.rng.integers(2, 9)), int(t.rng.integers(2, 6))), (1, 3), (6, 1)]
    for N, d in shapes:
        X = t.rng.normal(t.rng.uniform(-5, 5, d), 1.0, (N, d)).round(2)
        case = {"X": X}
        got = t.call(X)
        if isinstance(got, np.ndarray) and got.shape == (d,) and np.allclose(got, X.mean(axis=0)) and N > 1:
            t.fail("You returned the column means; the question asks for X with them subtracted.",
                   hint="Return X - X.mean(axis=0, keepdims=True).", case=case)
        mistakes = {
            "You subtracted each ROW's mean (axis=1). The features are the columns: average over the "
            "examples with axis=0.": X - X.mean(axis=1, keepdims=True),
            "You subtracted one overall mean; every column (feature) needs its own: X.mean(axis=0).":
                X - X.mean(),
            "You also divided by the standard deviation: centring only subtracts the mean.":
                (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0),
        }
        if N == d:
            mistakes["X.mean(axis=1) without keepdims has shape (N,), which broadcasts as a ROW and "
                     "subtracts row means from the wrong entries: average over axis=0 (or keep the axis "
                     "with keepdims=True)."] = X - X.mean(axis=1)
        t.expect_close(got, la.center(X), case=case, mistakes=mistakes)


# -- 2. a layer -----------------------------------------------------------------------------
@question("01.dense_layer", title="A dense layer Y = f(X W^T + b)")
def _check_dense_layer(t: Tester):
    shapes = [(4, 3, 2), (3, 3, 3), (1, 1, 1), tuple(int(v) for v in t.rng.integers(1, 7, 3))]
    for (N, n, m), f in zip(shapes, [np.tanh, np.tanh, la.relu, np.tanh]):
        X, W, b = t.rng.standard_normal((N, n)), t.rng.standard_normal((m, n)), t.rng.standard_normal(m) + 1.0
        case = {"X": X, "W": W, "b": b, "f": f.__name__}
        got = _call(t, X, W, b, f, on_shape_error=_W_T_HINT)
        Z = X @ W.T
        mistakes = {
            "You left out the bias: add b before the activation, f(X W^T + b).": f(Z),
            "You applied f before adding the bias; the activation comes last: f(X W^T + b).": f(Z) + b,
            "You did not apply the activation function f to the result.": Z + b,
        }
        if n == m:
            mistakes[_W_T_HINT] = f(X @ W + b)
        t.expect_close(got, la.dense_layer(X, W, b, f), case=case, mistakes=mistakes)
    # One example on its own, a vector x of shape (n,), gives the vector f(W x + b).
    x = t.rng.standard_normal(n)
    mistakes = {_W_T_HINT: np.tanh(x @ W + b)} if n == m else {}
    t.expect_close(_call(t, x, W, b, np.tanh, on_shape_error=_W_T_HINT), np.tanh(W @ x + b),
                   case={"x": x, "W": W, "b": b, "f": "tanh"}, what="For a single vector x", mistakes=mistakes)


# -- 3. the matrix product ------------------------------------------------------------------
@question("01.matmul", title="Matrix product C = AB")
def _check_matmul(t: Tester):
    # Square first: there a slip (B A, A * B, a transpose) gives wrong numbers rather than an error.
    shapes = [(3, 3, 3), (2, 3, 4), (1, 1, 1), (1, 4, 1), (4, 1, 3),
              tuple(int(v) for v in t.rng.integers(1, 7, 3))]
    for m, k, n in shapes:
        # Small non-zero integers in A keep a failing case readable (and A B free of exact zeros).
        A = (t.rng.integers(1, 6, (m, k)) * t.rng.choice([-1, 1], (m, k))).astype(float)
        B = t.rng.standard_normal((k, n))
        case = {"A": A, "B": B}
        mistakes = {}
        if m == k == n:
            mistakes.update({
                "You computed B A: the product is not commutative; C = A B takes rows of A and columns of B.":
                    B @ A,
                "That is the element-wise product A * B; the matrix product sums over the shared index: "
                "C_ij = sum_l A_il B_lj.": A * B,
                "You used B transposed (C_ij = sum_l A_il B_jl): the sum runs down the COLUMN j of B, "
                "B[l, j].": A @ B.T,
                "You used A transposed (C_ij = sum_l A_li B_lj): the sum runs along the ROW i of A, "
                "A[i, l].": A.T @ B,
            })
        t.expect_close(t.call(A, B), A @ B, case=case, mistakes=mistakes)


# -- 4. determinant and inverse ---------------------------------------------------------------
@question("01.det2x2", title="Determinant of a 2x2 matrix")
def _check_det2x2(t: Tester):
    theta = t.rng.uniform(0, 2 * np.pi)
    cos, sin = np.cos(theta), np.sin(theta)
    u = t.rng.standard_normal(2)
    cases = [t.rng.standard_normal((2, 2)) for _ in range(3)] + [
        t.rng.integers(-9, 10, (2, 2)).astype(float),
        np.array([[cos, -sin], [sin, cos]]),  # a rotation keeps area and orientation: det 1
        np.array([[cos, sin], [sin, -cos]]),  # a reflection flips orientation: det -1
        np.outer(u, t.rng.standard_normal(2)),  # rank 1: squashes the plane onto a line, det 0
    ]
    for A in cases:
        (a, b), (c, d) = A
        t.expect_close(t.call(A), la.det2x2(A), case={"A": A}, atol=1e-9, mistakes={
            "The determinant is signed: it is negative when A flips orientation. Do not take abs().":
                abs(a * d - b * c),
            "The determinant is ad - bc (product of the diagonal minus product of the off-diagonal); "
            "you added the two products.": a * d + b * c,
            "The determinant is ad - bc: multiply the DIAGONAL entries a, d and the off-diagonal ones b, c.":
                a * c - b * d,
            "The determinant is ad - bc: you paired the entries row by row (ab - cd).": a * b - c * d,
        })


@question("01.inverse2x2", title="Inverse of a 2x2 matrix",
          examples={"inv2x2(M) of the chapter's M = [[2, 1], [5, 3]]":
                    lambda: la.inv2x2(np.array([[2.0, 1.0], [5.0, 3.0]]))})
def _check_inverse2x2(t: Tester):
    cases = []
    while len(cases) < 3:
        A = t.rng.standard_normal((2, 2))
        if abs(la.det2x2(A)) > 0.3:  # keep the inverse well conditioned
            cases.append(A)
    cases += [np.diag(t.rng.uniform(0.5, 3, 2) * t.rng.choice([-1, 1], 2)),
              np.array([[2.0, 1.0], [1.0, 1.0]]) + np.diag(t.rng.integers(1, 4, 2))]
    for A in cases:
        (a, b), (c, d) = A
        det = a * d - b * c
        mistakes = {
            "You forgot to divide by the determinant: A^-1 = (1 / (ad - bc)) [[d, -b], [-c, a]].":
                np.array([[d, -b], [-c, a]]),
            "You multiplied by the determinant; divide by it instead.": det * np.array([[d, -b], [-c, a]]),
            "Sign pattern: the off-diagonal entries b and c change sign: [[d, -b], [-c, a]] / det.":
                np.array([[d, b], [c, a]]) / det,
            "Sign pattern: the DIAGONAL keeps its sign (a and d swap places); only b and c are negated.":
                np.array([[-d, b], [c, -a]]) / det,
            "Swap the diagonal entries: the top-left entry of the inverse is d, the bottom-right is a.":
                np.array([[a, -b], [-c, d]]) / det,
            "b and c stay in their places (only their signs change): [[d, -b], [-c, a]] / det.":
                np.array([[d, -c], [-b, a]]) / det,
        }
        if np.all(A != 0):
            mistakes["1 / A inverts every entry separately; the matrix inverse is the matrix with "
                     "A A^-1 = I."] = 1 / A
        t.expect_close(t.call(A), np.linalg.inv(A), case={"A": A, "det A": det}, mistakes=mistakes)


# -- 5. eigenvalues and eigenvectors ----------------------------------------------------------
@question("01.eig_symmetric", title="Eigenvalues and eigenvectors of a symmetric matrix")
def _check_eig_symmetric(t: Tester):
    for n in [3, 1, 2, int(t.rng.integers(4, 7))]:
        A = _symmetric(t, n)
        case = {"A": A}
        w, V = t.parts(t.call(A), ("w", "V"), case=case)
        ref_w, ref_V = la.eig_sym(A)
        t.expect_close(w, ref_w, case=case, what="Eigenvalues", mistakes={
            "np.linalg.eigh returns the eigenvalues in ASCENDING order; the question asks for the largest "
            "first (reverse with [::-1], and reorder the eigenvector columns the same way).": ref_w[::-1],
            "Sort by the eigenvalues themselves, not by their absolute values (negative eigenvalues come last).":
                ref_w[np.argsort(-np.abs(ref_w), kind="stable")],
        })
        if isinstance(V, np.ndarray) and V.shape == (n, n) and not np.allclose(np.linalg.norm(V, axis=0), 1.0):
            t.fail("Your eigenvector columns do not have length 1.",
                   hint="Divide each column by its norm: V / np.linalg.norm(V, axis=0).", case=case)
        _expect_up_to_sign(t, V, ref_V, case=case, what="Eigenvectors", mistakes={
            "The eigenvectors are the COLUMNS of V (A @ V[:, i] = w[i] * V[:, i]); yours are in the rows.":
                ref_V.T,
            "Reorder the eigenvector columns together with the eigenvalues: if w = w[::-1] then V = V[:, ::-1].":
                ref_V[:, ::-1],
        })


_ABS_LAMBDA_HINT = (
    "The dominant eigenvalue here is NEGATIVE and your answer is its absolute value. The length "
    "||A v|| (a norm) loses the sign; the Rayleigh quotient v^T A v keeps it (A v = lambda v with lambda < 0 "
    "points v the other way, so v flips at every step: compare directions up to sign, not values).")


@question("01.power_iteration", title="Dominant eigenpair by power iteration")
def _check_power_iteration(t: Tester):
    # Every run has matrices whose dominant eigenvalue is negative (the 1x1 one too), so an
    # answer that returns |lambda| (a norm) always fails; the positive cases catch the opposite slip.
    for n, sign in [(3, -1), (1, -1), (int(t.rng.integers(4, 9)), 1), (20, -1), (5, 1)]:
        A = _symmetric(t, n, dominant=sign)
        case = {"A": A, "num_iters": 200}
        lam, v = t.parts(t.call(A, 200), ("lam", "v"), case=case)
        ref_w, ref_V = la.eig_sym(A)
        top = int(np.argmax(np.abs(ref_w)))  # the eigenvalue of largest magnitude, of either sign
        if isinstance(v, np.ndarray) and v.shape == (n,) and np.isrealobj(v) and np.all(np.isfinite(v)):
            t.expect(np.isclose(np.linalg.norm(v), 1.0, rtol=1e-6), "Your vector v does not have length 1 "
                     f"(its norm is {np.linalg.norm(v):.4g}).", case=case,
                     hint="Normalize after every multiplication, v = w / ||w||: without it the length grows "
                          "like lambda^t and may overflow.")
        others = [i for i in range(n) if i != top]
        lam_mistakes = {_ABS_LAMBDA_HINT: abs(ref_w[top])}
        vec_mistakes = {}
        if others:
            # The other end of the spectrum: the eigenvalue furthest from the dominant one.
            far = max(others, key=lambda i: abs(ref_w[i] - ref_w[top]))
            lam_mistakes["That is the eigenvalue at the other end of the spectrum; power iteration converges to "
                         "the one of largest MAGNITUDE."] = ref_w[far]
            vec_mistakes["That is the eigenvector of the eigenvalue at the other end of the spectrum; power "
                         "iteration converges to the one of largest magnitude."] = ref_V[:, far]
        t.expect_close(lam, ref_w[top], case=case, what="Eigenvalue", rtol=1e-6, mistakes=lam_mistakes)
        _expect_up_to_sign(t, v, ref_V[:, top], case=case, rtol=1e-5, atol=1e-7, what="Eigenvector",
                           mistakes=vec_mistakes)


# -- 6. SVD -------------------------------------------------------------------------------------
@question("01.svd_rank_k", title="Best rank-k approximation by the SVD")
def _check_svd_rank_k(t: Tester):
    m, n = (int(v) for v in t.rng.integers(2, 8, 2))
    for m, n, k in [(6, 4, 2), (4, 6, 1), (5, 5, 5), (1, 1, 1), (m, n, int(t.rng.integers(1, min(m, n) + 1)))]:
        A = _with_singular_values(t, m, n)
        case = {"A": A, "k": k}
        U, s, Vt = np.linalg.svd(A, full_matrices=False)
        mistakes = {
            "You left out the singular values: A_k = U_k diag(s_k) Vt_k (scale column i of U by s[i]).":
                U[:, :k] @ Vt[:k],
            "Off by one: k components are indices 0 .. k-1, that is [:k].": la.svd_reconstruct(
                U[:, :k + 1], s[:k + 1], Vt[:k + 1]),
        }
        if k < len(s):
            mistakes["You kept the k SMALLEST singular values; np.linalg.svd sorts them in descending order, "
                     "so the best approximation keeps the first k."] = la.svd_reconstruct(
                U[:, -k:], s[-k:], Vt[-k:])
        if m == n:
            mistakes["The right singular vectors are the ROWS of Vt: take Vt[:k] (or Vt[:k, :]), not its "
                     "columns."] = (U[:, :k] * s[:k]) @ Vt[:, :k].T
        got = t.call(A, k)
        t.expect_close(got, la.rank_k_approx(A, k), case=case, mistakes=mistakes)
        t.expect(np.linalg.matrix_rank(got, tol=1e-8 * s[0]) <= k, f"Your answer has rank above k = {k}.",
                 case=case)


# -- 7. PCA -------------------------------------------------------------------------------------
_CENTRE_HINT = ("Centre the data first: subtract the column means, X - X.mean(axis=0), before the SVD "
                "(and project the centred data).")


def _pca_cases(t: Tester):
    N, d = int(t.rng.integers(20, 60)), int(t.rng.integers(2, 9))
    return [(50, 5, 2), (30, 3, 3), (40, 8, 1), (6, 10, 3), (25, 1, 1),
            (N, d, int(t.rng.integers(1, d + 1)))]


@question("01.explained_variance_ratio", title="Explained variance ratio of the top k components")
def _check_explained_variance_ratio(t: Tester):
    for N, d, k in _pca_cases(t):
        X = _data(t, N, d)
        case = {"X": X, "k": k}
        s = np.linalg.svd(la.center(X), compute_uv=False)
        s_raw = np.linalg.svd(X, compute_uv=False)
        ratio = s**2 / np.sum(s**2)
        t.expect_close(t.call(X, k), la.pca(X, k).explained_variance_ratio, case=case, mistakes={
            _CENTRE_HINT: (s_raw**2 / np.sum(s_raw**2))[:k],
            "Variance goes with the SQUARED singular values: use s**2 / sum(s**2).": (s / s.sum())[:k],
            "You returned the cumulative sum; each entry should be that component's own share.":
                np.cumsum(ratio)[:k],
            "Divide by the TOTAL variance (all components), not only by the k you keep.":
                s[:k] ** 2 / np.sum(s[:k] ** 2),
            "Take the components with the LARGEST variance first (descending order).": np.sort(ratio)[:k],
            "Those are the variances themselves; divide by the total variance so the shares sum to at most 1.":
                (s**2 / (N - 1))[:k],
        })


@question("01.pca_project", title="Project centred data onto the top k principal components")
def _check_pca_project(t: Tester):
    for N, d, k in _pca_cases(t):
        X = _data(t, N, d)
        case = {"X": X, "k": k}
        got = t.call(X, k)
        if isinstance(got, np.ndarray) and got.shape == (N, d) and k < d:
            t.fail(f"Your answer has shape {got.shape}, the shape of X: that looks like a reconstruction.",
                   hint=f"The projection is the k = {k} coordinates of each example, Z = (X - mean) @ Vt[:k].T, "
                        f"shape (N, k).", case=case)
        ref = la.pca(X, k).scores
        Xc = la.center(X)
        U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
        Vt_raw = np.linalg.svd(X, full_matrices=False)[2]
        mistakes = {
            _CENTRE_HINT: X @ Vt_raw[:k].T,
            "The components are right (from the centred data), but you projected the raw X: project the "
            "centred data, (X - mean) @ Vt[:k].T.": X @ Vt[:k].T,
            "Only the data is centred, then projected: Z = (X - mean) @ Vt[:k].T. U[:, :k] alone is Z "
            "divided by the singular values.": U[:, :k],
            "You projected onto the k components of SMALLEST variance; SVD sorts them largest first, so "
            "use Vt[:k].": Xc @ Vt[-k:].T,
        }
        if Vt.shape[0] == d:  # Vt[:, :k] has the right shape only when V is square
            mistakes["The principal directions are the ROWS of Vt (columns of V): project with Vt[:k].T, "
                     "not Vt[:, :k]."] = Xc @ Vt[:, :k]
        _expect_up_to_sign(t, got, ref, case=case, what="Projection", mistakes=mistakes)
