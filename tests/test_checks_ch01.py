"""Chapter 01 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
import numpy as np

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
    "01.inverse2x2": (la.inv2x2, [np.linalg.inv, la.inverse], lambda A: np.eye(2)),
    "01.eig_symmetric": (la.eig_sym, [eig_via_eigh, lambda A: list(la.eig_sym(A))], lambda A: (np.ones(3), np.eye(3))),
    "01.power_iteration": (lambda A, n: la.power_iteration(A, n), [power_iteration_plain, power_iteration_list],
                           lambda A, n: (5.0, np.ones(A.shape[0]) / np.sqrt(A.shape[0]))),
    "01.svd_rank_k": (la.rank_k_approx, [svd_sum_of_outer_products], lambda A, k: np.zeros((6, 4))),
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
    "01.inverse2x2": [
        (lambda A: np.array([[A[1, 1], -A[0, 1]], [-A[1, 0], A[0, 0]]]), "divide by the determinant"),
        (lambda A: np.array([[A[1, 1], A[0, 1]], [A[1, 0], A[0, 0]]]) / np.linalg.det(A), "off-diagonal"),
        (lambda A: np.array([[A[0, 0], -A[0, 1]], [-A[1, 0], A[1, 1]]]) / np.linalg.det(A), "Swap"),
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


def test_a_copied_worked_example_is_named():
    example = la.inv2x2(np.array([[2.0, 1.0], [5.0, 3.0]]))
    result = run_check("01.inverse2x2", lambda A: example.copy())
    assert result.status == "failed" and "worked example" in result.hint, str(result)


globals().update(contract_tests("01", CORRECT, WRONG, seeds=SEEDS, wrong_seeds=SEEDS[:3]))
