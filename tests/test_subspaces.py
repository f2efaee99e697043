"""course_lib.linalg.subspaces: numerical rank, column and null space, solving A x = b.

References: ``np.linalg.matrix_rank`` (the same tolerance rule), ``scipy.linalg.orth`` and
``scipy.linalg.null_space`` (compared through projectors: only the subspace is unique) and
``np.linalg.lstsq`` (the minimum-norm least-squares solution).
"""
import numpy as np
import pytest
import scipy.linalg
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import linalg as la

EXAMPLES = settings(max_examples=60)
EPS = np.finfo(np.float64).eps


def low_rank(rng, m, n, r, scale=1.0):
    """``(m, n)`` matrix of rank ``r`` with singular values in [0.2, 1] * scale: a clear gap to the zeros."""
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.sort(rng.uniform(0.2, 1.0, r))[::-1] * scale
    return (U[:, :r] * s) @ V[:, :r].T


@st.composite
def shapes_and_rank(draw, max_dim=7):
    m, n = draw(st.integers(1, max_dim)), draw(st.integers(1, max_dim))
    return m, n, draw(st.integers(0, min(m, n)))


seeds = st.integers(0, 2**32 - 1)
scales = st.sampled_from([1e-12, 1e-6, 1.0, 1e6, 1e12])


def assert_orthonormal(Q):
    assert np.allclose(Q.T @ Q, np.eye(Q.shape[1]), atol=1e-12)


# -- rank, column space, null space -----------------------------------------------------------------

@EXAMPLES
@given(shapes_and_rank(), seeds, scales)
def test_rank_nullity_and_bases_of_low_rank_matrices(mnr, seed, scale):
    m, n, r = mnr
    A = low_rank(np.random.default_rng(seed), m, n, r, scale)
    assert la.rank(A) == r == np.linalg.matrix_rank(A)
    C, V0 = la.column_space(A), la.null_space(A)
    assert C.shape == (m, r) and V0.shape == (n, n - r)  # rank-nullity: r + (n - r) = n
    assert_orthonormal(C)
    assert_orthonormal(V0)
    s1 = np.linalg.norm(A, 2)
    # A v = 0 for v in the null space, to rounding: |A V0| is about eps * s1, never about s1.
    assert np.linalg.norm(A @ V0, 2) <= 10 * max(m, n) * EPS * s1
    # Every column of A lies in col(A); col(A) is orthogonal to nothing A produces.
    assert np.allclose(la.projector(C) @ A, A, atol=10 * max(m, n) * EPS * s1)
    # The same subspaces as SciPy's (projectors: the bases themselves may differ by a rotation).
    # The subspaces are determined to about eps * s_1 / s_r <= 5 eps here (s_r >= 0.2 s_1).
    assert np.allclose(la.projector(V0), la.projector(scipy.linalg.null_space(A)), atol=1e-12)
    assert np.allclose(la.projector(C), la.projector(scipy.linalg.orth(A)), atol=1e-12)


@EXAMPLES
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)),
                  elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False)))
def test_rank_agrees_with_numpy_on_arbitrary_matrices(A):
    s = np.linalg.svd(A, compute_uv=False)
    tol = la.rank_tolerance(s, A.shape)
    # A singular value right at the threshold may fall either side between two SVD calls.
    assume(not np.any((s > tol / 100) & (s < tol * 100)))
    r = la.rank(A)
    assert r == np.linalg.matrix_rank(A)
    assert la.null_space(A).shape == (A.shape[1], A.shape[1] - r)
    assert la.column_space(A).shape == (A.shape[0], r)


def test_exact_rank_is_ill_posed_in_floating_point():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((8, 3)) @ rng.standard_normal((3, 8))  # rank 3 in exact arithmetic
    s = np.linalg.svd(A, compute_uv=False)
    assert np.all(s[3:] <= la.rank_tolerance(s, A.shape))  # rounding-sized, not zero
    assert la.rank(A, tol=0.0) > 3 and la.rank(A) == 3        # an exact-zero test overcounts
    # A perturbation of 1e-10 makes it full rank at the default tolerance; the rank one can
    # defend depends on how accurate the entries are (the tolerance one chooses).
    B = A + 1e-10 * rng.standard_normal((8, 8))
    assert la.rank(B) == 8 and la.rank(B, tol=1e-8 * s[0]) == 3


def test_zero_matrix_and_full_rank_edges():
    assert la.rank(np.zeros((3, 2))) == 0
    assert np.allclose(la.projector(la.null_space(np.zeros((3, 2)))), np.eye(2))
    assert la.column_space(np.zeros((3, 2))).shape == (3, 0)
    assert la.null_space(np.eye(4)).shape == (4, 0)
    assert la.null_space(np.array([[2.0]])).shape == (1, 0)
    # A wide matrix has at least n - m null directions, which the thin SVD would drop.
    wide = np.random.default_rng(1).standard_normal((2, 5))
    assert la.null_space(wide).shape == (5, 3)


def test_explicit_tolerance():
    A = np.diag([1.0, 1e-3, 1e-9])
    assert la.rank(A) == 3 and la.rank(A, tol=1e-6) == 2 and la.rank(A, tol=1.0) == 0
    assert np.allclose(la.null_space(A, tol=1e-6)[:, 0] ** 2, [0, 0, 1])


@pytest.mark.parametrize("bad, match", [
    (np.ones(3), "shape"), (np.ones((2, 2, 2)), "shape"), (np.ones((0, 3)), "shape"),
    (np.array([[1.0, np.nan]]), "NaN"), (np.array([[np.inf]]), "NaN"),
])
def test_bad_matrices_are_rejected(bad, match):
    for fn in (la.rank, la.null_space, la.column_space):
        with pytest.raises(ValueError, match=match):
            fn(bad)


def test_bad_tolerance_and_right_hand_side_are_rejected():
    with pytest.raises(ValueError, match="tolerance"):
        la.rank(np.eye(2), tol=-1.0)
    with pytest.raises(ValueError, match="tolerance"):
        la.null_space(np.eye(2), tol=float("nan"))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        la.solve_linear_system(np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        la.solve_linear_system(np.eye(2), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="shape"):
        la.projector(np.ones(3))


def test_projector_depends_only_on_the_subspace():
    rng = np.random.default_rng(2)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 2)))
    R, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    assert np.allclose(la.projector(Q), la.projector(Q @ R))
    P = la.projector(Q)
    assert np.allclose(P @ P, P) and np.allclose(P, P.T)
    assert np.array_equal(la.projector(np.zeros((4, 0))), np.zeros((4, 4)))


# -- solving A x = b ------------------------------------------------------------------------------

@EXAMPLES
@given(shapes_and_rank(), seeds, scales, scales, st.booleans())
def test_solve_linear_system_classifies_and_solves(mnr, seed, a_scale, b_scale, consistent):
    m, n, r = mnr
    assume(consistent or r < m)  # b can only leave col(A) when col(A) is not all of R^m
    rng = np.random.default_rng(seed)
    A = low_rank(rng, m, n, r, a_scale)
    C = la.column_space(A)
    b = C @ rng.standard_normal(r)  # in col(A) (b = 0 when r = 0)
    if not consistent:
        out = rng.standard_normal(m)
        out -= la.projector(C) @ out  # a component orthogonal to col(A), as large as the rest
        b = b + out / np.linalg.norm(out) * max(np.linalg.norm(b), 1.0)
    b = b * b_scale
    sol = la.solve_linear_system(A, b)
    # The status depends on the subspaces only, not on how A and b are scaled.
    assert sol.status == ("none" if not consistent else "unique" if r == n else "infinite")
    assert sol.rank == r and sol.null_basis.shape == (n, n - r)
    assert np.allclose(la.projector(sol.null_basis), la.projector(la.null_space(A)), atol=1e-12)
    # x is NumPy's minimum-norm least-squares solution (same relative cut-off, max(m, n) eps).
    x_np = np.linalg.lstsq(A, b, rcond=None)[0]
    scale_x = np.linalg.norm(x_np) + EPS * np.linalg.norm(b) / max(a_scale, 1e-300)
    assert np.linalg.norm(sol.x - x_np) <= 1e-10 * scale_x
    assert np.allclose(sol.null_basis.T @ sol.x, 0, atol=1e-10 * scale_x)  # minimum norm: x is orthogonal to null(A)
    assert np.isclose(sol.residual, np.linalg.norm(A @ sol.x - b))
    bound = 10 * max(m, n) * EPS * (a_scale * np.linalg.norm(sol.x) + np.linalg.norm(b))
    if consistent:
        assert sol.residual <= bound
        # The general solution x + V0 c solves the system too.
        c = rng.standard_normal(n - r) * (np.linalg.norm(sol.x) + 1.0)
        assert np.linalg.norm(A @ (sol.x + sol.null_basis @ c) - b) <= bound + 10 * max(m, n) * EPS * a_scale * np.linalg.norm(c)
    else:
        # Least squares: the residual is orthogonal to the column space (the normal equations).
        assert np.linalg.norm(A.T @ (A @ sol.x - b)) <= bound * a_scale
        assert sol.residual > 0.5 * np.linalg.norm(b) / np.sqrt(2)


def test_rouche_capelli_agrees_with_the_status():
    rng = np.random.default_rng(3)
    for _ in range(50):
        m, n = rng.integers(1, 6, 2)
        r = int(rng.integers(0, min(m, n) + 1))
        A = low_rank(rng, m, n, r)
        b = rng.standard_normal(m) if rng.random() < 0.5 else A @ rng.standard_normal(n)
        sol = la.solve_linear_system(A, b)
        augmented = la.rank(np.column_stack([A, b]))  # b and A have comparable scales here
        assert (sol.status == "none") == (augmented > la.rank(A)), (A, b, sol)


def test_three_systems_by_hand():
    A = np.array([[1.0, 2.0], [2.0, 4.0]])  # rank 1: the second row is twice the first
    sol = la.solve_linear_system(A, np.array([3.0, 6.0]))
    assert sol.status == "infinite" and sol.rank == 1
    assert np.allclose(sol.x, [0.6, 1.2])  # the point of the line x1 + 2 x2 = 3 closest to 0
    assert np.allclose(np.abs(sol.null_basis[:, 0]), np.array([2.0, 1.0]) / np.sqrt(5))
    none = la.solve_linear_system(A, np.array([3.0, 5.0]))
    assert none.status == "none"
    # Least squares: A x-hat is the projection of b onto the line spanned by (1, 2).
    assert np.allclose(A @ none.x, np.array([1.0, 2.0]) * (13 / 5))
    unique = la.solve_linear_system(np.array([[2.0, 1.0], [1.0, 3.0]]), np.array([3.0, 5.0]))
    assert unique.status == "unique" and np.allclose(unique.x, [0.8, 1.4])
    assert unique.null_basis.shape == (2, 0)
    zero = la.solve_linear_system(np.zeros((2, 3)), np.zeros(2))
    assert zero.status == "infinite" and np.allclose(la.projector(zero.null_basis), np.eye(3))
    assert la.solve_linear_system(np.zeros((2, 3)), np.array([0.0, 1e-300])).status == "none"


def test_defective_shear():
    shear = np.array([[1.0, 1.0], [0.0, 1.0]])
    # lambda = 1 twice (algebraic multiplicity 2) but null(A - I) is one line (geometric 1).
    assert np.allclose(np.linalg.eigvals(shear), [1.0, 1.0])
    assert la.rank(shear - np.eye(2)) == 1
    assert np.allclose(np.abs(la.null_space(shear - np.eye(2))[:, 0]), [1.0, 0.0])
    # NumPy's eigenvector matrix has two (numerically) parallel columns: rank 1 at the tolerance.
    _, V = np.linalg.eig(shear)
    assert la.rank(V) == 1 and la.rank(la.eig2x2(shear)[1]) == 1
