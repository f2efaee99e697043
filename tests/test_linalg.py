"""Unit and property tests for course_lib.linalg (each teaching re-derivation against NumPy)."""
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import linalg as la

# 60 examples per property (10x under `make fuzz`). Never load a profile here: tests/conftest.py owns them.
EXAMPLES = settings(max_examples=60)

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


def matrices(rows=st.integers(1, 6), cols=None):
    """Strategy for float64 matrices with moderate entries; ``cols=None`` makes them square."""
    return st.tuples(rows, cols if cols is not None else st.just(None)).flatmap(
        lambda rc: hnp.arrays(np.float64, (rc[0], rc[1] if rc[1] is not None else rc[0]), elements=finite))


def well_conditioned(A):
    """Invertible in float64 with room to spare.

    The condition number is below 1e6 (the tolerances below allow errors of about cond * eps), and
    the smallest singular value is above tiny / eps (about 1e-292). Below that, the inverse (of norm
    1 / sigma_min) can overflow: A = [[2.2e-309]] has cond 1 but its inverse, 4.5e308, is past the
    largest float (a fuzz find); and the numbers the elimination handles at sigma_min's scale are
    subnormal, with fewer significant bits than cond * eps assumes.
    """
    s = np.linalg.svd(A, compute_uv=False)
    return s[-1] > np.finfo(np.float64).tiny / np.finfo(np.float64).eps and s[0] < 1e6 * s[-1]


def numpy_det(A):
    """``np.linalg.det``, the reference, without the division-by-zero warning it gives for some matrices
    with a subnormal entry (fuzz runs: [[0, 0], [5e-324, 1]], whose determinant, 0, it returns right)."""
    with np.errstate(divide="ignore"):
        return np.linalg.det(A)


def random_spd_with_gap(rng, n, top=5.0):
    """Symmetric matrix with known eigenvalues: top, then values with |lambda| <= top / 2."""
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.concatenate([[top], rng.uniform(-top / 2, top / 2, n - 1)])
    return Q @ np.diag(lam) @ Q.T, lam, Q


# -- shapes, broadcasting, layers ----------------------------------------------------

@EXAMPLES
@given(hnp.mutually_broadcastable_shapes(num_shapes=3))
def test_broadcast_shape_matches_numpy(shapes):
    assert la.broadcast_shape(*shapes.input_shapes) == np.broadcast_shapes(*shapes.input_shapes)


@pytest.mark.parametrize("shapes", [((3,), (4,)), ((2, 3), (3, 2)), ((5, 1, 4), (2, 3))])
def test_broadcast_shape_rejects_incompatible(shapes):
    with pytest.raises(ValueError, match="do not broadcast"):
        la.broadcast_shape(*shapes)
    with pytest.raises(ValueError):
        np.broadcast_shapes(*shapes)


@EXAMPLES
@given(matrices(cols=st.integers(1, 5)))
def test_center_gives_zero_column_means(X):
    Xc = la.center(X)
    assert Xc.shape == X.shape
    assert np.allclose(Xc.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(X - Xc, X.mean(axis=0))


def test_dense_layer_vector_batch_and_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, W, b = rng.standard_normal((7, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    Y = la.dense_layer(X, W, b, la.relu)
    assert Y.shape == (7, 3)
    for x, y in zip(X, Y):  # the batched form is the per-example equation, row by row
        assert np.allclose(y, la.relu(W @ x + b))
    lin = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(W))
        lin.bias.copy_(torch.from_numpy(b))
        expected = torch.relu(lin(torch.from_numpy(X))).numpy()
    assert np.allclose(Y, expected)
    assert np.allclose(la.dense_layer(X, W, b), X @ W.T + b)  # identity is the default


# -- product, determinant, inverse ---------------------------------------------------

@EXAMPLES
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.randoms(use_true_random=False))
def test_matmul_by_definition_matches_numpy(m, k, n, rnd):
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    A, B = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    assert np.allclose(la.matmul_by_definition(A, B), A @ B)


def test_matmul_by_definition_rejects_bad_shapes():
    with pytest.raises(ValueError, match="inner dimensions"):
        la.matmul_by_definition(np.ones((2, 3)), np.ones((2, 3)))


@EXAMPLES
@given(hnp.arrays(np.float64, (2, 2), elements=finite))
@example(np.array([[3.890382009071171e-12, 3.890382009071171e-12], [0.0, 1.0]]))  # see eig2x2's Notes
@example(np.full((2, 2), 3.53212249e-289))  # a norm of entries this small underflows unless rescaled
def test_det2x2_is_signed_area_of_image_of_unit_square(A):
    d = la.det2x2(A)
    assert np.isclose(d, numpy_det(A), atol=1e-9)
    assert np.isclose(la.signed_area(la.unit_square() @ A.T), d, atol=1e-9)


def test_signed_area_orientation():
    square = la.unit_square()
    assert la.signed_area(square) == 1.0
    assert la.signed_area(square[::-1]) == -1.0


@EXAMPLES
@given(matrices())
def test_lu_factorizes(A):
    P, L, U, sign = la.lu(A)
    assert np.allclose(P @ A, L @ U, atol=1e-9 * max(1.0, np.abs(A).max()))
    assert np.allclose(np.triu(U), U) and np.allclose(np.tril(L), L) and np.allclose(np.diag(L), 1.0)
    assert np.isclose(sign, np.linalg.det(P))


@EXAMPLES
@given(matrices())
def test_det_matches_numpy(A):
    scale = max(1.0, np.abs(A).max()) ** A.shape[0]
    assert np.isclose(la.det(A), numpy_det(A), rtol=1e-7, atol=1e-9 * scale)


@EXAMPLES
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    hnp.arrays(np.float64, (n, n), elements=finite), hnp.arrays(np.float64, (n, n), elements=finite))))
def test_det_is_multiplicative(AB):
    A, B = AB
    scale = (max(1.0, np.abs(A).max()) * max(1.0, np.abs(B).max()) * A.shape[0]) ** A.shape[0]
    assert np.isclose(la.det(A @ B), la.det(A) * la.det(B), rtol=1e-6, atol=1e-9 * scale)


def test_det_of_singular_and_permutation():
    assert la.det(np.ones((3, 3))) == 0.0
    assert la.det(np.zeros((2, 2))) == 0.0
    assert la.det(np.eye(4)[[1, 0, 2, 3]]) == -1.0


@EXAMPLES
@given(hnp.arrays(np.float64, (2, 2), elements=finite))
def test_inv2x2_inverts(A):
    assume(abs(numpy_det(A)) > 1e-3 and well_conditioned(A))
    assert np.allclose(A @ la.inv2x2(A), np.eye(2), atol=1e-8)
    assert np.allclose(la.inv2x2(A), np.linalg.inv(A), rtol=1e-7, atol=1e-9)


@EXAMPLES
@given(matrices())
@example(A=np.array([[2.2250738585072014e-309]]))  # found by a fuzz run: its inverse overflows
def test_inverse_and_solve(A):
    assume(well_conditioned(A))
    n = A.shape[0]
    Ainv = la.inverse(A)
    assert np.allclose(A @ Ainv, np.eye(n), atol=1e-6)
    b = np.arange(1.0, n + 1)
    x = la.solve(A, b)
    assert np.allclose(A @ x, b, atol=1e-6 * max(1.0, np.abs(A).max()) * np.abs(x).max())
    assert np.allclose(x, np.linalg.solve(A, b), rtol=1e-6, atol=1e-8 * np.abs(x).max())


# -- eigenvalues ------------------------------------------------------------------------

@EXAMPLES
@given(matrices())
def test_eig_sym_decomposes_symmetric_matrices(M):
    A = (M + M.T) / 2
    w, V = la.eig_sym(A)
    assert np.all(np.diff(w) <= 1e-12)  # descending
    assert np.allclose(V.T @ V, np.eye(len(w)), atol=1e-9)
    assert np.allclose(A @ V, V * w, atol=1e-8 * max(1.0, np.abs(A).max()))
    assert np.allclose(V @ np.diag(w) @ V.T, A, atol=1e-8 * max(1.0, np.abs(A).max()))
    assert np.isclose(w.sum(), np.trace(A), atol=1e-8 * max(1.0, np.abs(A).max()))


@pytest.mark.parametrize("n", [1, 2, 5, 12])
def test_power_iteration_finds_dominant_pair(n):
    rng = np.random.default_rng(n)
    A, lam, Q = random_spd_with_gap(rng, n)
    top, v = la.power_iteration(A)
    assert np.isclose(top, lam[0], rtol=1e-9)
    assert np.isclose(np.linalg.norm(v), 1.0)
    assert np.allclose(la.flip_signs(Q[:, :1], v[:, None]), v[:, None], atol=1e-6)


def test_power_iteration_on_non_symmetric_matrices():
    """Only a unique dominant eigenvalue is needed: chapter 03 runs it on the transpose of a Markov matrix."""
    rng = np.random.default_rng(7)
    P = rng.uniform(0.1, 1.0, (5, 5))
    P /= P.sum(axis=1, keepdims=True)  # rows sum to 1: P^T pi = pi has the eigenvalue 1, dominant
    lam, v = la.power_iteration(P.T)
    w, V = np.linalg.eig(P.T)
    pi = np.real(V[:, np.argmax(w.real)])
    assert np.isclose(lam, 1.0, rtol=1e-10) and np.allclose(v / v.sum(), pi / pi.sum(), atol=1e-10)
    # A negative dominant eigenvalue of a non-symmetric matrix keeps its sign.
    X = rng.standard_normal((3, 3))
    A = X @ np.diag([-3.0, 1.0, 0.5]) @ np.linalg.inv(X)
    lam, v = la.power_iteration(A)
    assert np.isclose(lam, -3.0, rtol=1e-10) and np.allclose(A @ v, lam * v, atol=1e-9)


def test_power_iteration_eigenvalue_rates_symmetric_and_not():
    """Rayleigh quotient error: |l2/l1|^(2t) for symmetric A, only |l2/l1|^t for a non-symmetric one."""
    rng = np.random.default_rng(8)
    lam = np.array([1.0, 0.5, 0.1])
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    X = Q @ np.array([[1.0, 0.8, 0.3], [0.0, 1.0, -0.6], [0.0, 0.0, 1.0]])  # eigenvectors not orthogonal
    for A, power in [(Q @ np.diag(lam) @ Q.T, 2), (X @ np.diag(lam) @ np.linalg.inv(X), 1)]:
        err = {t: abs(la.power_iteration(A, num_iters=t, tol=0.0)[0] - 1.0) for t in (10, 20)}
        rate = (err[20] / err[10]) ** (1 / 10)
        assert np.isclose(rate, 0.5**power, rtol=0.1), (power, rate)


def test_power_iteration_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        la.power_iteration(np.ones((2, 3)))


def test_power_iteration_on_null_matrix():
    lam, v = la.power_iteration(np.zeros((3, 3)))
    assert lam == 0.0 and np.isclose(np.linalg.norm(v), 1.0)


@EXAMPLES
@given(hnp.arrays(np.float64, (2, 2), elements=finite))
def test_eig2x2_matches_numpy(A):
    lam, V = la.eig2x2(A)
    ref = np.linalg.eigvals(A)
    key = lambda z: (round(z.real, 6), round(z.imag, 6))  # noqa: E731
    assert np.allclose(sorted(lam, key=key), sorted(ref, key=key), atol=1e-5 * max(1.0, np.abs(A).max()))
    if V is None:
        assert np.all(np.abs(lam.imag) > 0)
    else:
        assert np.allclose(np.linalg.norm(V, axis=0), 1.0)
        assert np.allclose(A @ V, V * lam.real, atol=1e-5 * max(1.0, np.abs(A).max()))


def test_eig2x2_rotation_and_shear():
    lam, V = la.eig2x2(np.array([[0.0, -1.0], [1.0, 0.0]]))
    assert V is None and np.allclose(lam, [1j, -1j])
    lam, V = la.eig2x2(np.array([[1.0, 1.0], [0.0, 1.0]]))  # defective: one direction only
    assert np.allclose(lam, 1.0) and np.allclose(V, [[1.0, 1.0], [0.0, 0.0]])
    assert la.rank(V) == 1  # the eigenvectors do not form a basis
    lam, V = la.eig2x2(np.diag([1.0, 3.0]))
    assert np.allclose(lam, [3.0, 1.0]) and np.allclose(V, [[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("shape", [(1, 1), (3, 2), (5, 5)])
def test_flip_signs_is_sign_invariant(shape):
    V = np.random.default_rng(0).standard_normal(shape)
    signs = np.where(np.arange(shape[1]) % 2 == 0, -1.0, 1.0)
    fixed = la.flip_signs(V * signs)
    assert np.allclose(fixed, la.flip_signs(V)) and np.allclose(np.abs(fixed), np.abs(V))
    assert np.all(fixed[np.abs(V).argmax(axis=0), np.arange(shape[1])] > 0)
    assert np.allclose(la.flip_signs(V * signs, reference=V), V)
    assert np.array_equal(la.flip_signs(np.zeros(shape)), np.zeros(shape))


# -- SVD and PCA -------------------------------------------------------------------------

@EXAMPLES
@given(matrices(cols=st.integers(1, 6)))
def test_svd_reconstruction_and_eckart_young(A):
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    assert np.allclose(la.svd_reconstruct(U, s, Vt), A, atol=1e-9 * max(1.0, np.abs(A).max()))
    for k in range(len(s) + 1):
        Ak = la.rank_k_approx(A, k)
        assert np.isclose(np.linalg.norm(A - Ak), la.eckart_young_error(s, k), atol=1e-7 * max(1.0, s[0]))
        assert np.linalg.matrix_rank(Ak, tol=1e-8 * max(1.0, s[0])) <= k


def test_rank_k_beats_other_rank_k_matrices():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((8, 6))
    best = np.linalg.norm(A - la.rank_k_approx(A, 2))
    for _ in range(200):  # Eckart-Young: no rank-2 matrix gets closer
        B = rng.standard_normal((8, 2)) @ rng.standard_normal((2, 6))
        assert np.linalg.norm(A - B) >= best


@EXAMPLES
@given(st.integers(2, 40), st.integers(1, 8), st.data())
def test_pca_properties(N, d, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    X = rng.standard_normal((N, d)) @ rng.standard_normal((d, d)) + rng.standard_normal(d)
    r = min(N, d)
    k = data.draw(st.integers(1, r))
    p = la.pca(X, k)
    assert p.components.shape == (k, d) and p.scores.shape == (N, k)
    assert np.allclose(p.components @ p.components.T, np.eye(k), atol=1e-9)
    assert np.all(p.explained_variance_ratio >= 0) and p.explained_variance_ratio.sum() <= 1 + 1e-12
    # The variance of the projection along component i is the i-th covariance eigenvalue.
    top = np.linalg.eigvalsh(np.cov(X, rowvar=False).reshape(d, d))[::-1][:k]
    assert np.allclose(p.scores.var(axis=0, ddof=1), top, atol=1e-8 * max(1.0, top[0]))
    assert np.allclose(p.explained_variance, top, atol=1e-8 * max(1.0, top[0]))
    assert np.allclose(p.transform(X), p.scores)
    full = la.pca(X, r)
    assert np.isclose(full.explained_variance_ratio.sum(), 1.0)
    assert np.allclose(full.inverse_transform(full.scores), X, atol=1e-8 * max(1.0, np.abs(X).max()))


def test_pca_matches_scikit_learn_on_digits():
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    X = load_digits().data
    ours, theirs = la.pca(X, 10), PCA(10, svd_solver="full").fit(X)
    assert np.allclose(ours.explained_variance_ratio, theirs.explained_variance_ratio_)
    assert np.allclose(ours.explained_variance, theirs.explained_variance_)
    assert np.allclose(la.flip_signs(theirs.components_.T, ours.components.T), ours.components.T, atol=1e-8)


# -- pictures of the plane ---------------------------------------------------------------

@EXAMPLES
@given(hnp.arrays(np.float64, (2, 2), elements=st.floats(-2, 2)))
def test_transform_grid_and_circle(A):
    lines, images = la.transform_grid(A, lim=2.0, n_lines=5)
    assert lines.shape == images.shape == (10, 2, 2)
    assert np.allclose(images, np.einsum("ij,lpj->lpi", A, lines))
    circle = la.unit_circle()
    assert np.allclose(np.linalg.norm(circle, axis=1), 1.0) and np.allclose(circle[0], circle[-1])
    # The image of the unit circle is an ellipse with semi-axes sigma_1 >= sigma_2.
    radii = np.linalg.norm(la.unit_circle(4001) @ A.T, axis=1)
    s = np.linalg.svd(A, compute_uv=False)
    assert radii.max() <= s[0] + 1e-9 and radii.max() >= s[0] * (1 - 1e-5) - 1e-9
    # The minimum has a first-order sampling error where the radius touches 0.
    assert radii.min() >= s[1] - 1e-9 and radii.min() <= s[1] + 2e-3 * s[0] + 1e-9
