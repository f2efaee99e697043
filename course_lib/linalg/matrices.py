r"""The matrix product by its definition, determinants (2x2, signed area, via LU), solving a
linear system by LU with partial pivoting, and the inverse. Each re-derives what NumPy does,
to be read; the tests compare each with NumPy.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


def matmul_by_definition(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    r"""Matrix product from its definition, with three explicit loops (slow; for reading).

    Parameters
    ----------
    A : ndarray, shape (m, k)
    B : ndarray, shape (k, n)

    Returns
    -------
    ndarray, shape (m, n)

    Notes
    -----
    :math:`C_{ij} = \sum_{l=1}^{k} A_{il} B_{lj}`: row :math:`i` of :math:`\mathbf{A}`
    dotted with column :math:`j` of :math:`\mathbf{B}`. Equals ``A @ B``.
    """
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    m, k = A.shape
    k2, n = B.shape
    if k != k2:
        raise ValueError(f"inner dimensions differ: A is {A.shape}, B is {B.shape}")
    C = np.zeros((m, n))
    for i in range(m):
        for j in range(n):
            for l in range(k):
                C[i, j] += A[i, l] * B[l, j]
    return C


def det2x2(A: np.ndarray) -> float:
    r"""Determinant of a 2x2 matrix, the signed area of the image of the unit square.

    Parameters
    ----------
    A : ndarray, shape (2, 2)

    Returns
    -------
    float

    Notes
    -----
    :math:`\det\begin{pmatrix}a&b\\c&d\end{pmatrix} = ad - bc`. Positive when
    :math:`\mathbf{A}` keeps orientation, negative when it flips it, zero when it squashes
    the plane onto a line.
    """
    (a, b), (c, d) = np.asarray(A, dtype=np.float64)
    return float(a * d - b * c)


def signed_area(polygon: np.ndarray) -> float:
    r"""Signed area of a polygon (shoelace formula); positive for counter-clockwise vertices.

    Parameters
    ----------
    polygon : ndarray, shape (p, 2)
        Vertices in order, not repeated at the end.

    Returns
    -------
    float

    Notes
    -----
    :math:`\frac12\sum_i (x_i y_{i+1} - x_{i+1} y_i)`, indices modulo :math:`p`. For the image
    of the unit square under :math:`\mathbf{A}` this is :math:`\det\mathbf{A}`.
    """
    x, y = np.asarray(polygon, dtype=np.float64).T
    return float(0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


class LU(NamedTuple):
    r""":math:`\mathbf{P}\mathbf{A} = \mathbf{L}\mathbf{U}`; ``sign`` is :math:`\det\mathbf{P}`."""

    P: np.ndarray
    L: np.ndarray
    U: np.ndarray
    sign: float


def lu(A: np.ndarray) -> LU:
    r"""LU factorization with partial pivoting (Gaussian elimination, written out).

    Parameters
    ----------
    A : ndarray, shape (n, n)

    Returns
    -------
    LU
        ``P`` permutation matrix, ``L`` unit lower triangular, ``U`` upper triangular,
        each ``(n, n)``, and ``sign = det P = (-1)^(number of row swaps)``.

    Notes
    -----
    :math:`\mathbf{P}\mathbf{A} = \mathbf{L}\mathbf{U}`. Each step swaps the row with the
    largest pivot into place (for numerical stability) and subtracts multiples of it from
    the rows below. Hence :math:`\det\mathbf{A} = \det\mathbf{P}\,\prod_i U_{ii}`.
    """
    U = np.array(A, dtype=np.float64)
    n = U.shape[0]
    if U.shape != (n, n):
        raise ValueError(f"expected a square matrix, got shape {U.shape}")
    L, perm, sign = np.eye(n), np.arange(n), 1.0
    for j in range(n - 1):
        p = j + int(np.argmax(np.abs(U[j:, j])))
        if p != j:
            U[[j, p]], perm[[j, p]], L[[j, p], :j] = U[[p, j]], perm[[p, j]], L[[p, j], :j]
            sign = -sign
        if U[j, j] == 0.0:  # the whole column below is zero already: A is singular
            continue
        L[j + 1:, j] = U[j + 1:, j] / U[j, j]
        U[j + 1:, j:] -= np.outer(L[j + 1:, j], U[j, j:])
    return LU(np.eye(n)[perm], L, U, sign)


def det(A: np.ndarray) -> float:
    r"""Determinant via LU: the signed volume scale factor of :math:`\mathbf{A}`.

    Parameters
    ----------
    A : ndarray, shape (n, n)

    Returns
    -------
    float

    Notes
    -----
    :math:`\det\mathbf{A} = \det\mathbf{P}\,\prod_{i} U_{ii}` from
    :math:`\mathbf{P}\mathbf{A}=\mathbf{L}\mathbf{U}` and :math:`\det(\mathbf{A}\mathbf{B}) =
    \det\mathbf{A}\det\mathbf{B}`. Costs :math:`O(n^3)`, as ``np.linalg.det``.
    """
    f = lu(A)
    return float(f.sign * np.prod(np.diag(f.U))) + 0.0  # + 0.0 turns a -0.0 into 0.0


def inv2x2(A: np.ndarray) -> np.ndarray:
    r"""Inverse of a 2x2 matrix by the adjugate formula.

    Parameters
    ----------
    A : ndarray, shape (2, 2), with :math:`\det\mathbf{A}\neq0`

    Returns
    -------
    ndarray, shape (2, 2)

    Notes
    -----
    :math:`\begin{pmatrix}a&b\\c&d\end{pmatrix}^{-1} = \frac{1}{ad-bc}
    \begin{pmatrix}d&-b\\-c&a\end{pmatrix}`: swap the diagonal, negate the off-diagonal,
    divide by the determinant.
    """
    (a, b), (c, d) = np.asarray(A, dtype=np.float64)
    return np.array([[d, -b], [-c, a]]) / det2x2(A)


def solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Solve :math:`\mathbf{A}\mathbf{x} = \mathbf{b}` by LU and two triangular solves.

    Parameters
    ----------
    A : ndarray, shape (n, n), invertible
    b : ndarray, shape (n,) or (n, r)
        One right-hand side or ``r`` of them as columns.

    Returns
    -------
    ndarray, shape of ``b``

    Notes
    -----
    With :math:`\mathbf{P}\mathbf{A}=\mathbf{L}\mathbf{U}`: solve :math:`\mathbf{L}\mathbf{y} =
    \mathbf{P}\mathbf{b}` top-down, then :math:`\mathbf{U}\mathbf{x} = \mathbf{y}` bottom-up.
    Never form :math:`\mathbf{A}^{-1}` to solve a system: solving is cheaper and more accurate.
    """
    P, L, U, _ = lu(A)
    y = P @ np.asarray(b, dtype=np.float64)
    n = L.shape[0]
    for i in range(n):  # forward substitution; L has ones on the diagonal
        y[i] = y[i] - L[i, :i] @ y[:i]
    x = y
    for i in reversed(range(n)):  # back substitution
        x[i] = (x[i] - U[i, i + 1:] @ x[i + 1:]) / U[i, i]
    return x


def inverse(A: np.ndarray) -> np.ndarray:
    r"""Inverse of a square matrix: solve :math:`\mathbf{A}\mathbf{X} = \mathbf{I}`.

    Parameters
    ----------
    A : ndarray, shape (n, n), invertible

    Returns
    -------
    ndarray, shape (n, n)

    Notes
    -----
    Column :math:`j` of :math:`\mathbf{A}^{-1}` solves :math:`\mathbf{A}\mathbf{x} = \mathbf{e}_j`,
    so :math:`\mathbf{A}\mathbf{A}^{-1} = \mathbf{I}`.
    """
    return solve(A, np.eye(np.shape(A)[0]))
