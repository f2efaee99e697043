r"""The subspaces of a matrix and the solutions of :math:`\mathbf{A}\mathbf{x} = \mathbf{b}`:
numerical rank with a tolerance, orthonormal bases of the column space and the null space
from the SVD, and the solution set of a linear system (none, exactly one, or infinitely many).

With the SVD :math:`\mathbf{A} = \mathbf{U}\mathbf{S}\mathbf{V}^\top` and :math:`r` singular
values above the tolerance, split :math:`\mathbf{U} = [\mathbf{U}_r\ \mathbf{U}_0]` and
:math:`\mathbf{V} = [\mathbf{V}_r\ \mathbf{V}_0]` after column :math:`r`. Since
:math:`\mathbf{A}\mathbf{v}_i = s_i\mathbf{u}_i`, the columns of :math:`\mathbf{U}_r` are an
orthonormal basis of :math:`\operatorname{col}(\mathbf{A})` and those of :math:`\mathbf{V}_0`
one of :math:`\operatorname{null}(\mathbf{A})`; :math:`r + (n - r) = n` is rank-nullity.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from course_lib.linalg.eigen import flip_signs

EPS = np.finfo(np.float64).eps


def _as_matrix(A) -> np.ndarray:
    """``A`` as a finite float64 matrix with at least one row and one column, or a clear error."""
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or 0 in A.shape:
        raise ValueError(f"expected a matrix of shape (m, n) with m, n >= 1, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError("the matrix has NaN or infinite entries: its rank is not defined")
    return A


def _norm(v: np.ndarray) -> float:
    """Euclidean norm without underflow: ``np.linalg.norm`` squares the entries, and below about
    1e-154 the squares are 0 (the system 0 x = (0, 1e-300) would look consistent)."""
    big = float(np.max(np.abs(v), initial=0.0))
    return big * float(np.linalg.norm(v / big)) if big > 0 else 0.0


def rank_tolerance(s: np.ndarray, shape: tuple[int, int]) -> float:
    r"""The default threshold below which a computed singular value counts as zero.

    Parameters
    ----------
    s : ndarray, shape (min(m, n),)
        Singular values, descending.
    shape : (int, int)
        ``(m, n)``, the shape of the matrix.

    Returns
    -------
    float
        :math:`\mathrm{tol} = \max(m, n)\,\varepsilon_{\text{mach}}\,s_1`, as
        ``np.linalg.matrix_rank`` and ``scipy.linalg.null_space`` use.

    Notes
    -----
    A backward-stable SVD returns the exact singular values of a nearby matrix
    :math:`\mathbf{A} + \mathbf{E}` with :math:`\lVert\mathbf{E}\rVert_2` a modest multiple of
    :math:`\varepsilon_{\text{mach}}\lVert\mathbf{A}\rVert_2 = \varepsilon_{\text{mach}} s_1`, and
    by Weyl's inequality :math:`|s_i(\mathbf{A}+\mathbf{E}) - s_i(\mathbf{A})| \le
    \lVert\mathbf{E}\rVert_2`. A singular value below that level cannot be told apart from 0.
    """
    s = np.asarray(s, dtype=np.float64)
    return float(max(shape) * EPS * s[0]) if s.size else 0.0


def _count(s: np.ndarray, shape: tuple[int, int], tol: float | None) -> tuple[int, float]:
    """The numerical rank and the threshold used (``tol``, or the default)."""
    tol = rank_tolerance(s, shape) if tol is None else float(tol)
    if not tol >= 0.0:  # also rejects NaN
        raise ValueError(f"the tolerance must be a number >= 0, got {tol!r}")
    return int(np.sum(s > tol)), tol


def rank(A: np.ndarray, tol: float | None = None) -> int:
    r"""Numerical rank: the number of singular values above a tolerance.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    tol : float, optional
        Singular values :math:`s_i \le \mathrm{tol}` count as zero. Default
        :func:`rank_tolerance`, :math:`\max(m, n)\,\varepsilon_{\text{mach}}\,s_1`.

    Returns
    -------
    int
        :math:`r = \#\{i : s_i > \mathrm{tol}\} = \dim\operatorname{col}(\mathbf{A})`, between 0
        and :math:`\min(m, n)`.

    Notes
    -----
    In exact arithmetic the rank is the number of non-zero singular values. It is not a
    continuous function of the entries (almost every perturbation, however small, makes a
    matrix full rank), so in floating point it is only defined relative to a tolerance. By
    Eckart-Young, :math:`\min_{\operatorname{rank}\mathbf{B}\le k}\lVert\mathbf{A}-\mathbf{B}\rVert_2
    = s_{k+1}`: the numerical rank is the smallest rank of a matrix within distance
    ``tol`` of :math:`\mathbf{A}`.
    """
    A = _as_matrix(A)
    return _count(np.linalg.svd(A, compute_uv=False), A.shape, tol)[0]


def column_space(A: np.ndarray, tol: float | None = None) -> np.ndarray:
    r"""Orthonormal basis of the column space :math:`\operatorname{col}(\mathbf{A})\subseteq\mathbb{R}^m`.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    tol : float, optional
        As in :func:`rank`.

    Returns
    -------
    ndarray, shape (m, r)
        :math:`\mathbf{U}_r`, the first :math:`r` left singular vectors (signs fixed by
        :func:`~course_lib.linalg.eigen.flip_signs`); shape ``(m, 0)`` when :math:`r = 0`.

    Notes
    -----
    :math:`\operatorname{col}(\mathbf{A}) = \{\mathbf{A}\mathbf{x} : \mathbf{x}\in\mathbb{R}^n\}
    = \operatorname{span}\{\mathbf{a}_1,\dots,\mathbf{a}_n\}`. From
    :math:`\mathbf{A}\mathbf{x} = \sum_{i\le r} s_i(\mathbf{v}_i^\top\mathbf{x})\,\mathbf{u}_i`,
    every image is a combination of :math:`\mathbf{u}_1,\dots,\mathbf{u}_r`, and each
    :math:`\mathbf{u}_i = \mathbf{A}\mathbf{v}_i/s_i` is an image.
    """
    A = _as_matrix(A)
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    r, _ = _count(s, A.shape, tol)
    return flip_signs(U[:, :r])


def null_space(A: np.ndarray, tol: float | None = None) -> np.ndarray:
    r"""Orthonormal basis of the null space :math:`\operatorname{null}(\mathbf{A})\subseteq\mathbb{R}^n`.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    tol : float, optional
        As in :func:`rank`.

    Returns
    -------
    ndarray, shape (n, n - r)
        :math:`\mathbf{V}_0`, the right singular vectors of the singular values counted as zero
        (and, when :math:`m < n`, of the :math:`n - m` directions that have none), as
        **columns**; shape ``(n, 0)`` when :math:`r = n` (only :math:`\mathbf{x} = \mathbf{0}`).

    Notes
    -----
    :math:`\operatorname{null}(\mathbf{A}) = \{\mathbf{x} : \mathbf{A}\mathbf{x} = \mathbf{0}\}`.
    :math:`\mathbf{A}\mathbf{v}_i = s_i\mathbf{u}_i = \mathbf{0}` for :math:`i > r`, and any
    :math:`\mathbf{x}` with a component along some :math:`\mathbf{v}_i`, :math:`i\le r`, has
    :math:`\lVert\mathbf{A}\mathbf{x}\rVert > 0`. Needs the full :math:`\mathbf{V}`
    (``full_matrices=True``): for a wide matrix the thin SVD drops :math:`n - m` of these
    directions. Rank-nullity: :math:`r + (n - r) = n`. Only the subspace is unique: any
    :math:`\mathbf{V}_0\mathbf{Q}` with :math:`\mathbf{Q}` orthogonal is as good (compare
    :func:`projector`\ s, not bases).
    """
    A = _as_matrix(A)
    _, s, Vt = np.linalg.svd(A, full_matrices=True)
    r, _ = _count(s, A.shape, tol)
    return flip_signs(Vt[r:].T)


def projector(Q: np.ndarray) -> np.ndarray:
    r"""Orthogonal projector onto the span of orthonormal columns.

    Parameters
    ----------
    Q : ndarray, shape (n, k)
        Orthonormal columns, :math:`\mathbf{Q}^\top\mathbf{Q} = \mathbf{I}_k` (``k = 0`` allowed).

    Returns
    -------
    ndarray, shape (n, n)
        :math:`\mathbf{P} = \mathbf{Q}\mathbf{Q}^\top`.

    Notes
    -----
    :math:`\mathbf{P}` depends only on the subspace: for another orthonormal basis
    :math:`\mathbf{Q}\mathbf{R}` (:math:`\mathbf{R}` orthogonal),
    :math:`\mathbf{Q}\mathbf{R}\mathbf{R}^\top\mathbf{Q}^\top = \mathbf{Q}\mathbf{Q}^\top`.
    Two subspaces are equal exactly when their projectors are.
    """
    Q = np.asarray(Q, dtype=np.float64)
    if Q.ndim != 2:
        raise ValueError(f"expected orthonormal columns of shape (n, k), got shape {Q.shape}")
    return Q @ Q.T


class LinearSystem(NamedTuple):
    r"""The solution set of :math:`\mathbf{A}\mathbf{x} = \mathbf{b}`, from :func:`solve_linear_system`.

    Attributes
    ----------
    status : str
        ``'unique'``, ``'infinite'`` or ``'none'``.
    x : ndarray, shape (n,)
        The minimum-norm solution; for ``'none'`` the minimum-norm least-squares solution.
    null_basis : ndarray, shape (n, n - r)
        :math:`\mathbf{V}_0`: every solution (or least-squares solution) is
        :math:`\mathbf{x} + \mathbf{V}_0\mathbf{c}`.
    rank : int
        :math:`r`, the numerical rank of :math:`\mathbf{A}`.
    augmented_rank : int
        The numerical rank of :math:`[\mathbf{A}\mid\beta\mathbf{b}]` (``b`` scaled to the size of
        ``A``): :math:`r` when a solution exists, :math:`r + 1` when none does.
    residual : float
        :math:`\lVert\mathbf{A}\mathbf{x} - \mathbf{b}\rVert_2`.
    """

    status: str
    x: np.ndarray
    null_basis: np.ndarray
    rank: int
    augmented_rank: int
    residual: float


def solve_linear_system(A: np.ndarray, b: np.ndarray, tol: float | None = None) -> LinearSystem:
    r"""Every solution of :math:`\mathbf{A}\mathbf{x} = \mathbf{b}`, or the least-squares ones.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    b : ndarray, shape (m,)
    tol : float, optional
        Singular-value threshold, as in :func:`rank`.

    Returns
    -------
    LinearSystem
        ``status`` is ``'none'`` when :math:`\mathbf{b}\notin\operatorname{col}(\mathbf{A})`,
        else ``'unique'`` when :math:`r = n` and ``'infinite'`` when :math:`r < n`; ``x`` is the
        minimum-norm (least-squares) solution and ``null_basis`` is :math:`\mathbf{V}_0`.

    Notes
    -----
    **Existence** (Rouché-Capelli): a solution exists iff :math:`\mathbf{b}\in
    \operatorname{col}(\mathbf{A})`, i.e. :math:`\operatorname{rank}[\mathbf{A}\mid\mathbf{b}] =
    \operatorname{rank}\mathbf{A}`. **Uniqueness**: if :math:`\mathbf{A}\mathbf{x}_p = \mathbf{b}`,
    the solutions are exactly :math:`\mathbf{x}_p + \operatorname{null}(\mathbf{A}) =
    \{\mathbf{x}_p + \mathbf{V}_0\mathbf{c}\}`: one when :math:`r = n`, infinitely many when
    :math:`r < n`. **Least squares**: :math:`\hat{\mathbf{x}} = \mathbf{V}_r\mathbf{S}_r^{-1}
    \mathbf{U}_r^\top\mathbf{b}` minimizes :math:`\lVert\mathbf{A}\mathbf{x}-\mathbf{b}\rVert_2`
    (:math:`\mathbf{A}\hat{\mathbf{x}} = \mathbf{U}_r\mathbf{U}_r^\top\mathbf{b}` is the
    projection of :math:`\mathbf{b}` onto the column space), and among the minimizers
    :math:`\hat{\mathbf{x}} + \mathbf{V}_0\mathbf{c}` it has the smallest norm (it is orthogonal
    to :math:`\mathbf{V}_0`); it is the solution when one exists.

    **The existence test in floating point** is Rouché-Capelli with numerical ranks. Scaling a
    column changes no exact rank, so :math:`\mathbf{b}` is first scaled to the size of the
    columns, :math:`\beta\mathbf{b}` with :math:`\beta = s_1/\lVert\mathbf{b}\rVert_2`: otherwise a
    tiny :math:`\mathbf{b}` would always look consistent (its singular value drowns under the
    tolerance) and a huge one would push the tolerance above :math:`\mathbf{A}`'s own singular
    values. Then, with the same rule as for :math:`\mathbf{A}`
    (:math:`\mathrm{tol}' = \max(m, n+1)\,\varepsilon_{\text{mach}}\,s_1([\mathbf{A}\mid\beta\mathbf{b}])`,
    or ``tol`` scaled the same way), :math:`\mathbf{b}` counts as in the column space when
    :math:`\operatorname{rank}[\mathbf{A}\mid\beta\mathbf{b}] \le r`: some perturbation of
    :math:`[\mathbf{A}\mid\beta\mathbf{b}]` no larger than the tolerance makes the system exactly
    consistent, as close as the rank decision itself allows. (A test on the residual
    :math:`\lVert\mathbf{A}\hat{\mathbf{x}} - \mathbf{b}\rVert` needs a bound on the backward
    error of the solve, and for the SVD that error reaches ten :math:`\varepsilon_{\text{mach}}`
    on well-conditioned 3x3 systems; the singular values of an exactly rank-deficient matrix stay below
    :math:`\max(m, n)\,\varepsilon_{\text{mach}}\,s_1`, which is why ``np.linalg.matrix_rank``
    uses that rule.) :math:`\mathbf{b} = \mathbf{0}` is always consistent; for
    :math:`\mathbf{A} = \mathbf{0}` only :math:`\mathbf{b} = \mathbf{0}` is.
    """
    A = _as_matrix(A)
    m, n = A.shape
    b = np.asarray(b, dtype=np.float64)
    if b.shape != (m,):
        raise ValueError(f"b must have shape ({m},) for A of shape {A.shape}, got {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ValueError("b has NaN or infinite entries")
    U, s, Vt = np.linalg.svd(A, full_matrices=True)
    tol_given = tol
    r, tol = _count(s, A.shape, tol)
    x = Vt[:r].T @ ((U[:, :r].T @ b) / s[:r])  # V_r S_r^{-1} U_r^T b
    residual = _norm(A @ x - b)
    size_b = _norm(b)
    if size_b == 0.0:
        augmented_rank = r  # b = 0 is in every column space
    else:
        scaled_b = b / size_b * (s[0] if s[0] > 0 else 1.0)  # as long as A's largest stretch
        s_aug = np.linalg.svd(np.column_stack([A, scaled_b]), compute_uv=False)
        if tol_given is None:
            tol_aug = rank_tolerance(s_aug, (m, n + 1))
        else:  # the caller's tol is relative to s_1(A): keep that ratio
            tol_aug = tol_given * s_aug[0] / s[0] if s[0] > 0 else tol_given
        augmented_rank = int(np.sum(s_aug > tol_aug))
    status = "none" if augmented_rank > r else "unique" if r == n else "infinite"
    return LinearSystem(status, x, flip_signs(Vt[r:].T), r, max(augmented_rank, r), residual)
