"""Chapter 01 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
import numpy as np
import scipy.linalg

from course_lib import linalg as la
from check_contract import contract_tests
from course_lib.grading import run_check

SEEDS = [1, 2, 3, 4, 5]




def relu_layer_einsum(X, W, b, f):
    return f(np.einsum("...i,oi->...o", X, W) + b)


def matmul_loops(A, B):
    m, k = A.shape
    C = np.zeros((m, B.shape[1]))
    for i in range(m):
        for j in range(B.shape[1]):
            C[i, j] = sum(A[i, l] * B[l, j] for l in range(k))
    return C


def eig_via_eigh(A):
    w, V = np.linalg.eigh(A)
    return w[::-1], -V[:, ::-1]  # any sign of the eigenvectors is fine


def power_iteration_plain(A, num_iters):
    v = np.ones(A.shape[0]) + np.arange(A.shape[0])
    for _ in range(num_iters):
        v = A @ v
        v = v / np.linalg.norm(v)
    return v @ A @ v, v


def power_iteration_norm(A, num_iters):
    """The |lambda| slip: the length of A v instead of the Rayleigh quotient v^T A v."""
    v = np.ones(A.shape[0]) + np.arange(A.shape[0])
    lam = 0.0
    for _ in range(num_iters):
        w = A @ v
        lam = np.linalg.norm(w)
        v = w / lam
    return lam, v


def power_iteration_list(A, num_iters):
    lam, v = la.power_iteration(A, num_iters)
    return [lam, v]  # "return lam, v" as a list: the same pair


def svd_sum_of_outer_products(A, k):
    U, s, Vt = np.linalg.svd(A)
    return sum(s[i] * np.outer(U[:, i], Vt[i]) for i in range(k))


def evr_via_covariance(X, k):
    lam = np.linalg.eigvalsh(np.atleast_2d(np.cov(X, rowvar=False)))[::-1]
    return lam[:k] / lam.sum()


def pca_via_covariance(X, k):
    Xc = X - X.mean(axis=0)
    lam, V = np.linalg.eigh(np.atleast_2d(np.cov(Xc, rowvar=False)))
    V = V[:, ::-1][:, :k] * np.where(np.arange(k) % 2, 1.0, -1.0)  # flip some signs on purpose
    return Xc @ V


def _svd(X):
    return np.linalg.svd(X, full_matrices=False)


EPS = np.finfo(np.float64).eps


def _svd_rank(A, full_matrices=True, zero=lambda s, tol: s <= tol):
    """U, s, Vt and the rank, with the singular values that ``zero`` picks counted as 0."""
    U, s, Vt = np.linalg.svd(A, full_matrices=full_matrices)
    tol = max(A.shape) * EPS * (s[0] if s.size else 0.0)
    return U, s, Vt, int(np.sum(~zero(s, tol)))


def null_space_rotated(A):
    """Another orthonormal basis of the same subspace: any one must pass."""
    V0 = la.null_space(A)
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((V0.shape[1],) * 2))
    return V0 @ Q


def null_space_eig(A, tol=1e-8):
    """Eigenvectors of eigenvalue 0, orthonormalized: right for a diagonalizable A, wrong for a defective one."""
    w, V = np.linalg.eig(A)
    zero = np.abs(w) <= tol * max(np.abs(w).max(), 1e-300)
    return np.linalg.qr(V[:, zero].real)[0] if zero.any() else np.zeros((A.shape[1], 0))


def null_space_eig_raw(A):
    w, V = np.linalg.eig(A)
    return V[:, np.abs(w) <= 1e-8 * max(np.abs(w).max(), 1e-300)].real


def solve_reference(A, b):
    sol = la.solve_linear_system(A, b)
    return sol.status, sol.x, sol.null_basis


def solve_other_particular(A, b):
    """Not the minimum-norm solution: x_p + V0 c is a particular solution too."""
    status, x, V0 = solve_reference(A, b)
    return [status, x + V0 @ np.full(V0.shape[1], 3.0), null_space_rotated(A)]


def solve_by_augmented_rank(A, b, status_of=None):
    """Rouche-Capelli by ranks of [A | b] (b scaled like the columns), lstsq for x."""
    _, s, Vt, r = _svd_rank(A)
    nb = np.linalg.norm(b)
    scaled = b * (s[0] / nb) if nb > 0 and s[0] > 0 else b
    r_aug = np.linalg.matrix_rank(np.column_stack([A, scaled]))
    status = "none" if r_aug > r else "unique" if r == A.shape[1] else "infinite"
    if status_of is not None:
        status = status_of(A, b, r)
    return status, np.linalg.lstsq(A, b, rcond=None)[0], Vt[r:].T


def _consistent(A, b, x, exact=False):
    residual = np.linalg.norm(A @ x - b)
    return residual == 0 if exact else residual <= 1e-10 * (np.linalg.norm(A, 2) * np.linalg.norm(x) + np.linalg.norm(b))


def solve_ignoring_inconsistency(A, b):
    return solve_by_augmented_rank(A, b, lambda A, b, r: "unique" if r == A.shape[1] else "infinite")


def solve_exact_residual(A, b):
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    return solve_by_augmented_rank(A, b, lambda A, b, r: "none" if not _consistent(A, b, x, exact=True)
                                   else "unique" if r == A.shape[1] else "infinite")


def solve_full_rank_means_unique(A, b):
    return solve_by_augmented_rank(A, b, lambda A, b, r: "none" if not _consistent(
        A, b, np.linalg.lstsq(A, b, rcond=None)[0]) else "unique" if r == min(A.shape) else "infinite")


def solve_absolute_tolerances(A, b):
    U, s, Vt, r = _svd_rank(A, zero=lambda s, tol: np.isclose(s, 0))
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    status = "none" if not np.isclose(np.linalg.norm(A @ x - b), 0) else "unique" if r == A.shape[1] else "infinite"
    return status, x, Vt[r:].T


def solve_zero_x_when_none(A, b):
    status, x, V0 = solve_reference(A, b)
    return status, (np.zeros_like(x) if status == "none" else x), V0


# question id -> (reference, [alternative correct answers], hard-coded answer)
CORRECT = {
    "01.broadcast_center": (la.center, [lambda X: X - X.mean(0), lambda X: X - np.mean(X, axis=0)[None, :]],
                            lambda X: np.zeros((5, 3))),
    "01.dense_layer": (la.dense_layer, [lambda X, W, b, f: f(X @ W.T + b), relu_layer_einsum],
                       lambda X, W, b, f: np.ones((4, 2))),
    "01.matmul": (la.matmul_by_definition, [matmul_loops, np.dot, lambda A, B: np.einsum("ik,kj->ij", A, B)],
                  lambda A, B: np.eye(3)),
    "01.det2x2": (la.det2x2, [np.linalg.det, lambda A: A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]],
                  lambda A: 1.0),
    "01.eig_symmetric": (la.eig_sym, [eig_via_eigh, lambda A: list(la.eig_sym(A))], lambda A: (np.ones(3), np.eye(3))),
    "01.power_iteration": (lambda A, n: la.power_iteration(A, n), [power_iteration_plain, power_iteration_list],
                           lambda A, n: (5.0, np.ones(A.shape[0]) / np.sqrt(A.shape[0]))),
    "01.svd_rank_k": (la.rank_k_approx, [svd_sum_of_outer_products], lambda A, k: np.zeros((6, 4))),
    "01.null_space": (la.null_space, [scipy.linalg.null_space, null_space_rotated, lambda A: -la.null_space(A)],
                      lambda A: np.zeros((4, 2))),
    "01.solve_system": (solve_reference, [solve_other_particular, solve_by_augmented_rank],
                        lambda A, b: ("unique", np.ones(3), np.zeros((3, 0)))),
    "01.explained_variance_ratio": (lambda X, k: la.pca(X, k).explained_variance_ratio, [evr_via_covariance],
                                    lambda X, k: np.array([0.6, 0.3])),
    "01.pca_project": (lambda X, k: la.pca(X, k).scores, [pca_via_covariance],
                       lambda X, k: np.zeros((50, 2))),
}

# question id -> [(wrong answer, a distinctive word of the hint it must get)]
WRONG = {
    "01.broadcast_center": [
        (lambda X: X - X.mean(axis=1, keepdims=True), "ROW"),
        (lambda X: X - X.mean(), "overall mean"),
        (lambda X: X.mean(axis=0), "column means"),
        (lambda X: (X - X.mean(0)) / X.std(0), "standard deviation"),
    ],
    "01.dense_layer": [
        (lambda X, W, b, f: f(X @ W + b), "torch.nn.Linear"),
        (lambda X, W, b, f: f(X @ W.T), "bias"),
        (lambda X, W, b, f: f(X @ W.T) + b, "before adding the bias"),
        (lambda X, W, b, f: X @ W.T + b, "activation"),
    ],
    "01.matmul": [
        (lambda A, B: A * B, "element-wise"),
        (lambda A, B: B @ A, "commutative"),
        (lambda A, B: np.array([[A[i] @ B[j] for j in range(len(B))] for i in range(len(A))]), "COLUMN"),
    ],
    "01.det2x2": [
        (lambda A: A[0, 0] * A[1, 1] + A[0, 1] * A[1, 0], "added"),
        (lambda A: abs(np.linalg.det(A)), "signed"),
        (lambda A: A[0, 0] * A[1, 0] - A[0, 1] * A[1, 1], "DIAGONAL"),
    ],
    "01.eig_symmetric": [
        (np.linalg.eigh, "ASCENDING"),
        (lambda A: (np.linalg.eigh(A)[0][::-1], np.linalg.eigh(A)[1]), "Reorder"),
        (lambda A: (la.eig_sym(A)[0], la.eig_sym(A)[1].T), "COLUMNS"),
        (lambda A: (la.eig_sym(A)[0], 2 * la.eig_sym(A)[1]), "length 1"),
        (lambda A: la.eig_sym(A)[0], "2 results"),
    ],
    "01.power_iteration": [
        (lambda A, n: (la.eig_sym(A)[0][0], np.linalg.matrix_power(A, 20) @ np.ones(len(A))), "Normalize"),
        (lambda A, n: (la.eig_sym(A)[0][0], la.eig_sym(A)[1][:, 0]), "other end of the spectrum"),
        (lambda A, n: la.power_iteration(A, n)[0], "2 results"),
        (power_iteration_norm, "NEGATIVE"),
        (lambda A, n: (abs(la.power_iteration(A, n)[0]), la.power_iteration(A, n)[1]), "NEGATIVE"),
    ],
    "01.svd_rank_k": [
        (lambda A, k: _svd(A)[0][:, :k] @ _svd(A)[2][:k], "singular values"),
        (lambda A, k: la.svd_reconstruct(*(a[..., -k:] if i < 2 else a[-k:] for i, a in enumerate(_svd(A)))),
         "SMALLEST"),
        (lambda A, k: la.rank_k_approx(A, min(k + 1, min(A.shape))) if k < min(A.shape) else 2 * A, "Off by one"),
    ],
    "01.null_space": [
        (lambda A: _svd_rank(A, zero=lambda s, tol: s == 0)[2][_svd_rank(A, zero=lambda s, tol: s == 0)[3]:].T,
         "exactly 0"),
        (lambda A: _svd_rank(A, full_matrices=False)[2][_svd_rank(A)[3]:].T, "full_matrices=True"),
        (lambda A: la.null_space(A).T, "COLUMNS"),
        (lambda A: _svd_rank(A, zero=lambda s, tol: np.isclose(s, 0))[2][
            _svd_rank(A, zero=lambda s, tol: np.isclose(s, 0))[3]:].T, "relative tol"),
        (lambda A: la.null_space(A) if la.rank(A) < A.shape[1] else None, "(n, 0)"),
        (lambda A: np.linalg.svd(A)[2][:A.shape[1] - la.rank(A)].T, "FIRST rows"),
        (null_space_eig_raw, "orthonormal"),
        (null_space_eig, "singular values"),
    ],
    "01.solve_system": [
        (solve_ignoring_inconsistency, "Rouché-Capelli"),
        (solve_exact_residual, "not exactly 0"),
        (solve_full_rank_means_unique, "UNKNOWNS"),
        (solve_absolute_tolerances, "absolute tolerance"),
        (solve_zero_x_when_none, "least-squares solution"),
        (lambda A, b: (*solve_reference(A, b)[:2], solve_reference(A, b)[2].T), "COLUMNS"),
        (lambda A, b: ("unique", np.linalg.solve(A, b), np.zeros((A.shape[1], 0))), "SVD"),
        (lambda A, b: solve_reference(A, b)[1:] + solve_reference(A, b)[:1], "status must be one of"),
    ],
    "01.explained_variance_ratio": [
        (lambda X, k: (_svd(X)[1] ** 2 / np.sum(_svd(X)[1] ** 2))[:k], "Centre"),
        (lambda X, k: (_svd(la.center(X))[1] / _svd(la.center(X))[1].sum())[:k], "SQUARED"),
        (lambda X, k: np.cumsum(la.pca(X, min(X.shape)).explained_variance_ratio)[:k], "cumulative"),
        (lambda X, k: la.pca(X, k).explained_variance / la.pca(X, k).explained_variance.sum(), "TOTAL"),
    ],
    "01.pca_project": [
        (lambda X, k: X @ _svd(X)[2][:k].T, "Centre"),
        (lambda X, k: la.center(X) @ _svd(la.center(X))[2][:, :k], "ROWS"),
        (lambda X, k: _svd(la.center(X))[0][:, :k], "U[:, :k]"),
        (lambda X, k: la.pca(X, k).inverse_transform(la.pca(X, k).scores), "reconstruction"),
    ],
}


def test_sign_flipped_eigenvectors_pass_but_wrong_vectors_fail():
    def flipped(A):
        w, V = la.eig_sym(A)
        return w, V * np.where(np.arange(len(w)) % 2, -1.0, 1.0)

    def rotated(A):  # right eigenvalues, vectors mixed within the first two
        w, V = la.eig_sym(A)
        if len(w) > 1:
            c, s = np.cos(0.3), np.sin(0.3)
            V = V.copy()
            V[:, :2] = V[:, :2] @ np.array([[c, -s], [s, c]])
        return w, V

    assert run_check("01.eig_symmetric", flipped).status == "passed"
    assert run_check("01.eig_symmetric", rotated).status == "failed"


def test_mutating_the_input_is_reported():
    def center_in_place(X):
        X -= X.mean(axis=0)
        return X

    result = run_check("01.broadcast_center", center_in_place)
    assert result.status == "failed" and "in place" in result.message


def test_power_iteration_returning_the_absolute_eigenvalue_always_fails(monkeypatch):
    """Every run has matrices with a negative dominant eigenvalue, so |lambda| never passes by luck."""
    for seed in range(40):
        monkeypatch.setenv("COURSE_SEED", str(seed))
        result = run_check("01.power_iteration", power_iteration_norm)
        assert result.status == "failed" and "NEGATIVE" in result.hint, (seed, str(result))


globals().update(contract_tests("01", CORRECT, WRONG, seeds=SEEDS, wrong_seeds=SEEDS[:3]))
