"""Chapter 01: the graded questions on linear algebra.

The reference answers are the functions of :mod:`course_lib.linalg`. Every check draws
fresh random cases from ``t.rng`` (including edge shapes: 1x1, wide, tall), so any correct
implementation (loops, ``einsum``, ``@``, ``np.linalg``) passes and a hard-coded one fails.
``mistakes`` lists the likely slips of each question with a hint aimed at each.

Eigenvectors, singular vectors and principal components are only defined up to sign:
those answers are compared after flipping each column to agree with the reference
(:func:`course_lib.linalg.flip_signs`), and the candidate mistakes go through the same
alignment. A null-space basis is unique only up to a rotation inside the subspace, so it is
judged by its shape, its orthonormality, ``A @ V0 = 0`` and its projector ``V0 V0^T`` against
the reference's; a particular solution of ``A x = b`` by its residual (any one passes).
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


# -- 4. the determinant -----------------------------------------------------------------------
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


# -- 7. rank, null space and solving A x = b ----------------------------------------------------
_EPS = np.finfo(np.float64).eps
_NULL_HINTS = {
    "rows": "The basis vectors are the COLUMNS of the answer, shape (n, n - r), so that A @ V0 = 0; yours "
            "are in the rows (return V0.T, e.g. Vt[r:].T rather than Vt[r:]).",
    "empty": "When rank A = n the null space is {0}: its basis has no vectors, and the vectors are the COLUMNS, "
             "so return an empty array of shape (n, 0) (for example Vt[n:].T), not None, a zero vector or "
             "shape (0, n).",
    "exact": "You tested the singular values for being exactly 0. In floating point the 'zero' ones come out "
             "near eps * s_1 (about 1e-16 s_1), not 0: count s_i <= tol with tol = max(m, n) * eps * s_1.",
    "thin": "For a wide matrix (m < n) the null space has dimension at least n - m, but "
            "np.linalg.svd(A, full_matrices=False) returns only min(m, n) rows of Vt: use full_matrices=True "
            "(Vt is then n x n, and its last n - r rows span the null space).",
    "absolute": "An absolute tolerance does not scale with A: here s_1 = {s1:.3g}, and the rounding-level "
                "singular values are about eps * s_1. Use the relative tol = max(m, n) * eps * s_1 "
                "(np.linalg.matrix_rank's rule).",
    "m_not_n": "The null space lives in R^n (n = number of COLUMNS, the unknowns): its dimension is n - rank, "
               "not m - rank.",
    "eigen": "Eigenvalues do not measure the rank: every eigenvalue of this A is 0, yet its rank is {r} (a "
             "defective matrix, like the chapter's shear minus I). The rank counts the non-zero singular values "
             "(the SVD), not eigenvalues.",
    "orthonormal": "The columns must be orthonormal (unit length, mutually perpendicular). Right singular "
                   "vectors are; eigenvectors of a non-symmetric matrix and the special solutions of an "
                   "echelon form are not (orthonormalize them with np.linalg.qr).",
    "leading": "Those are the FIRST rows of Vt, which span the row space (A v_i = s_i u_i is not 0). The null "
               "space is spanned by the LAST n - r rows: Vt[r:].",
    "not_null": "Every column v must satisfy A v = 0 (to rounding): check which vectors you kept. The null space is "
                "spanned by the right singular vectors whose singular values count as zero, the last n - r rows "
                "of Vt (eigenvectors of the eigenvalue 0 span it too in exact arithmetic, but an eigensolver on a "
                "non-symmetric matrix is not a reliable way to find them: use the singular values).",
}


def _low_rank(t: Tester, m: int, n: int, r: int, scale: float = 1.0) -> np.ndarray:
    """A random ``(m, n)`` matrix of rank ``r``, singular values in [0.3, 1] * scale: a clear gap above the
    rounding-level zeros, so every tolerance between about 1e-13 s_1 and 0.1 s_1 finds the same rank."""
    U, _ = np.linalg.qr(t.rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(t.rng.standard_normal((n, n)))
    s = np.sort(t.rng.uniform(0.3, 1.0, r))[::-1] * scale
    return (U[:, :r] * s) @ V[:, :r].T


def _nilpotent(t: Tester, n: int) -> np.ndarray:
    """``Q J Q^T`` with J the n x n shift (ones above the diagonal): every eigenvalue 0, rank n - 1."""
    Q, _ = np.linalg.qr(t.rng.standard_normal((n, n)))
    return t.rng.uniform(0.5, 2.0) * Q @ np.eye(n, k=1) @ Q.T


def _call_linalg(t: Tester, *args):
    """``t.call``; a NumPy linear-algebra error in the learner's code gets a hint about the method."""
    try:
        return t.call(*args)
    except CheckFailed as exc:
        if "LinAlgError" in exc.message:
            exc.hint = ("np.linalg.solve, inv and eig need a square (and, for solve/inv, invertible) matrix. "
                        "This question's matrices may be tall, wide or rank-deficient: work from the SVD, "
                        "np.linalg.svd(A), which every matrix has.")
        raise


def _null_space_cases(t: Tester) -> list[tuple[str, np.ndarray]]:
    m, n = (int(v) for v in t.rng.integers(1, 7, 2))
    return [
        ("square, rank 2", _low_rank(t, 4, 4, 2)),
        ("every eigenvalue 0", _nilpotent(t, 3)),
        ("wide, full row rank", _low_rank(t, 2, 5, 2)),
        ("full column rank", _low_rank(t, 5, 3, 3)),
        ("tall, rank 2", _low_rank(t, 5, 3, 2)),
        ("wide, rank 1, s_1 about 1e-12", _low_rank(t, 3, 6, 1, 1e-12)),
        ("tall, rank 3, s_1 about 1e10", _low_rank(t, 6, 4, 3, 1e10)),
        ("the zero matrix", np.zeros((3, 3))),
        ("1 x 1 and zero", np.zeros((1, 1))),
        ("random shape", _low_rank(t, m, n, int(t.rng.integers(0, min(m, n) + 1)))),
    ]


def _expect_null_basis(t: Tester, V0, A: np.ndarray, label: str, *, what: str = "Null-space basis",
                       case: dict) -> None:
    """Check that ``V0`` is an orthonormal basis of null(A) (any one: projectors are compared).

    Tolerances: for these matrices (a gap s_r >= 0.3 s_1 above rounding-level zeros) the null space is
    determined to about eps * s_1 / s_r < 1e-15; 1e-9 also admits correct but less accurate routes, such
    as eigenvectors of A^T A (error about eps (s_1 / s_r)^2).
    """
    m, n = A.shape
    U, s, Vt = np.linalg.svd(A)
    tol = max(m, n) * _EPS * (s[0] if s.size else 0.0)
    r = int(np.sum(s > tol))
    ref = Vt[r:].T
    expected_shape = (n, n - r)
    if V0 is None or not isinstance(V0, np.ndarray) or V0.ndim != 2:
        shape = f"shape {np.shape(V0)}" if isinstance(V0, np.ndarray) else type(V0).__name__
        hint = _NULL_HINTS["empty"] if r == n else "Return a 2-D array whose columns are the basis vectors."
        t.fail(f"{what}: expected a 2-D array of shape {expected_shape}, got {shape}.", hint=hint, case=case)
    if V0.dtype.kind not in "fiu" or not np.all(np.isfinite(V0)):
        t.fail(f"{what}: expected finite real numbers, got dtype {V0.dtype}.", case=case,
               hint="Take .real only when the imaginary parts vanish; the SVD of a real matrix is real.")
    if V0.shape != expected_shape:
        k = V0.shape[1] if V0.shape[0] == n else V0.shape[0] if V0.shape[1] == n else None
        # Which slip gives this many columns? (A learner with an exact-zero test or a thin SVD fails on
        # the first cases, before the scaled ones, where an absolute tolerance shows.)
        if V0.shape == expected_shape[::-1]:
            hint = _NULL_HINTS["rows" if r < n else "empty"]
        elif r == n and V0.size == 0:
            hint = _NULL_HINTS["empty"]
        elif label == "every eigenvalue 0" and k is not None:
            hint = _NULL_HINTS["eigen"].format(r=r)
        elif "s_1 about" in label:
            hint = _NULL_HINTS["absolute"].format(s1=s[0])
        elif k is not None and k == n - int(np.sum(s != 0)):
            hint = _NULL_HINTS["exact"]
        elif k is not None and m < n and k == min(m, n) - r:
            hint = _NULL_HINTS["thin"]
        elif k is not None and m != n and k == max(m - r, 0):
            hint = _NULL_HINTS["m_not_n"]
        else:
            hint = (f"The null space of this A has dimension n - rank = {n} - {r} = {n - r} (rank-nullity); "
                    "count the singular values above tol = max(m, n) * eps * s_1.")
        t.fail(f"{what}: shape {V0.shape}, expected {expected_shape} (rank A = {r}, n = {n}).", hint=hint,
               case=case)
    V0 = V0.astype(np.float64)
    gram_error = float(np.max(np.abs(V0.T @ V0 - np.eye(n - r)), initial=0.0))
    t.expect(gram_error <= 1e-9, f"{what}: the columns are not orthonormal (V0^T V0 differs from I by "
             f"{gram_error:.2g}).", hint=_NULL_HINTS["orthonormal"], case=case)
    residual = float(np.linalg.norm(A @ V0, 2)) if V0.size else 0.0
    if residual > 1e-9 * max(s[0], np.finfo(np.float64).tiny):
        leading = n - r <= r and np.allclose(la.projector(V0), la.projector(Vt[:n - r].T), atol=1e-9)
        t.fail(f"{what}: A @ V0 is not zero (its largest singular value is {residual:.3g}, against s_1 = "
               f"{s[0]:.3g}).", hint=_NULL_HINTS["leading" if leading else "not_null"], case=case)
    t.expect_close(la.projector(V0), la.projector(ref), rtol=0.0, atol=1e-9, case=case,
                   what=f"{what}: the projector V0 V0^T onto your subspace")


@question("01.null_space", title="An orthonormal basis of the null space, with a tolerance")
def _check_null_space(t: Tester):
    for label, A in _null_space_cases(t):
        case = {"A": A, "case": label}
        _expect_null_basis(t, _call_linalg(t, A), A, label, case=case)


def _system_cases(t: Tester) -> list[tuple[str, np.ndarray, np.ndarray, str]]:
    """(label, A, b, expected status). Inconsistent b has a component outside col(A) as large as the rest."""
    def case(label, m, n, r, consistent, scale=1.0):
        A = _low_rank(t, m, n, r, scale)
        U = np.linalg.svd(A)[0]
        b = U[:, :r] @ t.rng.standard_normal(r) * scale
        if not consistent:
            out = U[:, r:] @ t.rng.standard_normal(m - r)
            b = b + out / np.linalg.norm(out) * max(np.linalg.norm(b), scale)
        return label, A, b, "none" if not consistent else "unique" if r == n else "infinite"

    m, n = (int(v) for v in t.rng.integers(1, 6, 2))
    r = int(t.rng.integers(0, min(m, n) + 1))
    return [
        case("square, invertible", 3, 3, 3, True),
        case("tall, full column rank, b in col(A)", 4, 2, 2, True),
        case("tall, b not in col(A)", 4, 2, 2, False),
        case("wide, full row rank", 2, 4, 2, True),
        case("square, rank 2, b in col(A)", 3, 3, 2, True),
        case("square, rank 2, b not in col(A)", 3, 3, 2, False),
        ("the zero matrix, b = 0", np.zeros((2, 3)), np.zeros(2), "infinite"),
        ("the zero matrix, b != 0", np.zeros((2, 2)), t.rng.standard_normal(2), "none"),
        case("rank 2, s_1 about 1e-12, b in col(A)", 4, 3, 2, True, 1e-12),
        case("rank 2, s_1 about 1e10, b in col(A)", 3, 4, 2, True, 1e10),
        case("rank 2, s_1 about 1e10, b not in col(A)", 4, 3, 2, False, 1e10),
        case("random", m, n, r, bool(r == m or t.rng.random() < 0.5)),
    ]


def _status_hint(expected: str, got: str, label: str, r: int, m: int, n: int, distance: float, s1: float) -> str:
    if expected == "none":
        return (f"b is not in the column space: the closest A x is {distance:.3g} away from b. Rouché-Capelli: a "
                "solution exists only when rank [A | b] = rank A. Test it with numerical ranks: scale b to the "
                "size of A (b * s_1 / ||b||), append it as a column, and compare the two ranks.")
    if got == "none":
        scaled = "s_1 about" in label
        return ("b IS in the column space here (an exact solution exists). " +
                (f"This A has s_1 = {s1:.3g}: an absolute tolerance does not scale with A and b; make it "
                 "relative, max(m, n) * eps * (s_1 ||x|| + ||b||)." if scaled else
                 "Rounding leaves a residual of about eps * (||A|| ||x|| + ||b||), not exactly 0: compare the "
                 "residual with such a tolerance, not with 0."))
    if expected == "infinite" and got == "unique" and r == m < n:
        return (f"rank A = {r} = m (the rows are independent), but uniqueness needs rank A = n, the number of "
                f"UNKNOWNS (columns): here null(A) has dimension n - r = {n - r}, and every x_p + V0 c solves it.")
    if expected == "infinite":
        return (f"rank A = {r} < n = {n}: the null space is not {{0}}, so x_p + V0 c is a solution for every c "
                "(count the singular values above tol = max(m, n) * eps * s_1).")
    return (f"rank A = n = {n}: the null space is {{0}} and the solution is unique (a tolerance that is too loose "
            "counts a real singular value as 0).")


@question("01.solve_system", title="Solve A x = b: none, one or infinitely many solutions")
def _check_solve_system(t: Tester):
    for label, A, b, expected in _system_cases(t):
        m, n = A.shape
        case = {"A": A, "b": b, "case": label}
        status, x, V0 = t.parts(_call_linalg(t, A, b), ("status", "x", "V0"), case=case)
        statuses = ("unique", "infinite", "none")
        t.expect(isinstance(status, str) and status in statuses, f"status must be one of the strings {statuses}, "
                 f"got {status!r}.", case=case, hint="Return the status as a string, first: return status, x, V0.")
        U, s, Vt = np.linalg.svd(A)
        r = int(np.sum(s > max(m, n) * _EPS * (s[0] if s.size else 0.0)))
        x_ls = np.linalg.lstsq(A, b, rcond=None)[0]
        distance = float(np.linalg.norm(A @ x_ls - b))
        if status != expected:
            t.fail(f"Status {status!r}, expected {expected!r} (rank A = {r}, m = {m}, n = {n}).", case=case,
                   hint=_status_hint(expected, status, label, r, m, n, distance, s[0] if s.size else 0.0))
        if isinstance(x, (list, tuple)):
            x = np.asarray(x)
        if not (isinstance(x, np.ndarray) and x.shape == (n,) and x.dtype.kind in "fiu" and np.all(np.isfinite(x))):
            what = f"shape {x.shape}, dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
            hint = ("For status 'none' return the least-squares solution as x (it minimizes ||A x - b||), "
                    "e.g. np.linalg.lstsq(A, b, rcond=None)[0]." if expected == "none" else
                    "x has one entry per unknown (column of A), shape (n,).")
            t.fail(f"x: expected finite real numbers of shape ({n},), got {what}.", hint=hint, case=case)
        x = x.astype(np.float64)
        # x: any particular solution (any least-squares solution for 'none') passes. A backward-stable
        # method leaves ||A x - b|| (or ||A^T (A x - b)|| / s_1) at about n eps (s_1 ||x|| + ||b||); 1e-9
        # leaves room for correct but less stable routes.
        s1 = s[0] if s.size else 0.0
        scale = s1 * np.linalg.norm(x) + np.linalg.norm(b)
        if expected == "none":
            t.expect(np.linalg.norm(A.T @ (A @ x - b)) <= 1e-9 * s1 * scale,
                     f"x is not a least-squares solution: ||A x - b|| = {np.linalg.norm(A @ x - b):.4g}, but the "
                     f"smallest possible is {distance:.4g}.", case=case,
                     hint="For status 'none', x must minimize ||A x - b||: it solves A^T (A x - b) = 0 (the normal "
                          "equations), as np.linalg.lstsq(A, b, rcond=None)[0] does for any A.")
        else:
            t.expect(np.linalg.norm(A @ x - b) <= 1e-9 * scale, f"x does not solve A x = b: ||A x - b|| = "
                     f"{np.linalg.norm(A @ x - b):.3g}.", case=case,
                     hint="Any particular solution will do, e.g. the least-squares one, np.linalg.lstsq(A, b)[0].")
        V0 = V0 if not isinstance(V0, (list, tuple)) else np.asarray(V0, dtype=np.float64)
        _expect_null_basis(t, V0, A, label, what="V0 (null-space basis)", case=case)



# -- 8. PCA -------------------------------------------------------------------------------------
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
