"""Chapter 01: the linear algebra a deep-learning practitioner uses every day.

Conventions (the course's notation table): a vector is a 1-D array ``(n,)``; a layer's
weight matrix is ``W`` of shape ``(m, n)`` (out x in, as ``torch.nn.Linear``); a data
matrix ``X`` of shape ``(N, d)`` holds one example per row, so points and batches are
transformed with ``X @ W.T``.

Functions that re-derive what NumPy already does (matrix product by its definition, the
determinant and solving via LU, the 2x2 eigenproblem) exist to be read; the tests compare
each with NumPy. Everything else is a thin, documented layer over ``numpy.linalg``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

# -- shapes, broadcasting, layers ----------------------------------------------------


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape NumPy gives to an element-wise operation on arrays of these shapes.

    Parameters
    ----------
    *shapes : tuple of int
        The shapes of the operands.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        When two shapes cannot be broadcast.

    Notes
    -----
    Align the shapes at their right end (pad the shorter with leading 1s). In every
    position the sizes must be equal or one of them must be 1; the result takes the
    larger size. A size-1 axis is *stretched* without copying. Same rule as
    ``np.broadcast_shapes``.
    """
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    result = []
    for axis, sizes in enumerate(zip(*padded)):
        big = {n for n in sizes if n != 1}
        if len(big) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast: axis {axis - ndim} has sizes {sorted(big)}")
        result.append(big.pop() if big else 1)
    return tuple(result)


def center(X: np.ndarray) -> np.ndarray:
    """Subtract each column's mean: the broadcasting idiom of data preprocessing.

    Parameters
    ----------
    X : ndarray, shape (N, d)
        Data matrix, one example per row.

    Returns
    -------
    ndarray, shape (N, d)
        :math:`\\tilde{\\mathbf{X}}`, whose columns have mean zero.

    Notes
    -----
    :math:`\\tilde X_{ij} = X_{ij} - \\bar x_j` with :math:`\\bar x_j = \\frac1N\\sum_i X_{ij}`.
    ``X.mean(axis=0, keepdims=True)`` has shape ``(1, d)`` and broadcasts over the rows.
    """
    X = np.asarray(X, dtype=np.float64)
    return X - X.mean(axis=0, keepdims=True)


def identity(z: np.ndarray) -> np.ndarray:
    """The identity activation, :math:`f(z) = z`."""
    return z


def relu(z: np.ndarray) -> np.ndarray:
    """Rectified linear unit, :math:`f(z) = \\max(0, z)` element-wise."""
    return np.maximum(z, 0.0)


def dense_layer(x: np.ndarray, W: np.ndarray, b: np.ndarray,
                f: Callable[[np.ndarray], np.ndarray] = identity) -> np.ndarray:
    """A fully connected layer, :math:`\\mathbf{y} = f(\\mathbf{W}\\mathbf{x} + \\mathbf{b})`.

    Parameters
    ----------
    x : ndarray, shape (n,) or (N, n)
        One input vector, or a batch with one example per row.
    W : ndarray, shape (m, n)
        Weights, out x in (as ``torch.nn.Linear.weight``).
    b : ndarray, shape (m,)
        Bias.
    f : callable
        Element-wise activation (default: identity).

    Returns
    -------
    ndarray, shape (m,) or (N, m)

    Notes
    -----
    For one vector :math:`\\mathbf{y} = f(\\mathbf{W}\\mathbf{x} + \\mathbf{b})`. For a batch
    :math:`\\mathbf{X}\\in\\mathbb{R}^{N\\times n}` (examples in rows), transposing the per-row
    equation gives :math:`\\mathbf{Y} = f(\\mathbf{X}\\mathbf{W}^\\top + \\mathbf{b}^\\top)`, the bias
    broadcast to every row. ``x @ W.T + b`` covers both cases.
    """
    return f(np.asarray(x) @ np.asarray(W).T + b)


# -- the matrix product, determinant, inverse ----------------------------------------


def matmul_by_definition(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Matrix product from its definition, with three explicit loops (slow; for reading).

    Parameters
    ----------
    A : ndarray, shape (m, k)
    B : ndarray, shape (k, n)

    Returns
    -------
    ndarray, shape (m, n)

    Notes
    -----
    :math:`C_{ij} = \\sum_{l=1}^{k} A_{il} B_{lj}`: row :math:`i` of :math:`\\mathbf{A}`
    dotted with column :math:`j` of :math:`\\mathbf{B}`. Equals ``A @ B``.
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
    """Determinant of a 2x2 matrix, the signed area of the image of the unit square.

    Parameters
    ----------
    A : ndarray, shape (2, 2)

    Returns
    -------
    float

    Notes
    -----
    :math:`\\det\\begin{pmatrix}a&b\\\\c&d\\end{pmatrix} = ad - bc`. Positive when
    :math:`\\mathbf{A}` keeps orientation, negative when it flips it, zero when it squashes
    the plane onto a line.
    """
    (a, b), (c, d) = np.asarray(A, dtype=np.float64)
    return float(a * d - b * c)


def signed_area(polygon: np.ndarray) -> float:
    """Signed area of a polygon (shoelace formula); positive for counter-clockwise vertices.

    Parameters
    ----------
    polygon : ndarray, shape (p, 2)
        Vertices in order, not repeated at the end.

    Returns
    -------
    float

    Notes
    -----
    :math:`\\frac12\\sum_i (x_i y_{i+1} - x_{i+1} y_i)`, indices modulo :math:`p`. For the image
    of the unit square under :math:`\\mathbf{A}` this is :math:`\\det\\mathbf{A}`.
    """
    x, y = np.asarray(polygon, dtype=np.float64).T
    return float(0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


class LU(NamedTuple):
    """:math:`\\mathbf{P}\\mathbf{A} = \\mathbf{L}\\mathbf{U}`; ``sign`` is :math:`\\det\\mathbf{P}`."""

    P: np.ndarray
    L: np.ndarray
    U: np.ndarray
    sign: float


def lu(A: np.ndarray) -> LU:
    """LU factorization with partial pivoting (Gaussian elimination, written out).

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
    :math:`\\mathbf{P}\\mathbf{A} = \\mathbf{L}\\mathbf{U}`. Each step swaps the row with the
    largest pivot into place (for numerical stability) and subtracts multiples of it from
    the rows below. Hence :math:`\\det\\mathbf{A} = \\det\\mathbf{P}\\,\\prod_i U_{ii}`.
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
    """Determinant via LU: the signed volume scale factor of :math:`\\mathbf{A}`.

    Parameters
    ----------
    A : ndarray, shape (n, n)

    Returns
    -------
    float

    Notes
    -----
    :math:`\\det\\mathbf{A} = \\det\\mathbf{P}\\,\\prod_{i} U_{ii}` from
    :math:`\\mathbf{P}\\mathbf{A}=\\mathbf{L}\\mathbf{U}` and :math:`\\det(\\mathbf{A}\\mathbf{B}) =
    \\det\\mathbf{A}\\det\\mathbf{B}`. Costs :math:`O(n^3)`, as ``np.linalg.det``.
    """
    f = lu(A)
    return float(f.sign * np.prod(np.diag(f.U))) + 0.0  # + 0.0 turns a -0.0 into 0.0


def inv2x2(A: np.ndarray) -> np.ndarray:
    """Inverse of a 2x2 matrix by the adjugate formula.

    Parameters
    ----------
    A : ndarray, shape (2, 2), with :math:`\\det\\mathbf{A}\\neq0`

    Returns
    -------
    ndarray, shape (2, 2)

    Notes
    -----
    :math:`\\begin{pmatrix}a&b\\\\c&d\\end{pmatrix}^{-1} = \\frac{1}{ad-bc}
    \\begin{pmatrix}d&-b\\\\-c&a\\end{pmatrix}`: swap the diagonal, negate the off-diagonal,
    divide by the determinant.
    """
    (a, b), (c, d) = np.asarray(A, dtype=np.float64)
    return np.array([[d, -b], [-c, a]]) / det2x2(A)


def solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve :math:`\\mathbf{A}\\mathbf{x} = \\mathbf{b}` by LU and two triangular solves.

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
    With :math:`\\mathbf{P}\\mathbf{A}=\\mathbf{L}\\mathbf{U}`: solve :math:`\\mathbf{L}\\mathbf{y} =
    \\mathbf{P}\\mathbf{b}` top-down, then :math:`\\mathbf{U}\\mathbf{x} = \\mathbf{y}` bottom-up.
    Never form :math:`\\mathbf{A}^{-1}` to solve a system: solving is cheaper and more accurate.
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
    """Inverse of a square matrix: solve :math:`\\mathbf{A}\\mathbf{X} = \\mathbf{I}`.

    Parameters
    ----------
    A : ndarray, shape (n, n), invertible

    Returns
    -------
    ndarray, shape (n, n)

    Notes
    -----
    Column :math:`j` of :math:`\\mathbf{A}^{-1}` solves :math:`\\mathbf{A}\\mathbf{x} = \\mathbf{e}_j`,
    so :math:`\\mathbf{A}\\mathbf{A}^{-1} = \\mathbf{I}`.
    """
    return solve(A, np.eye(np.shape(A)[0]))


# -- eigenvalues and eigenvectors ------------------------------------------------------


def flip_signs(V: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Fix the arbitrary sign of each column (eigenvectors, singular vectors, components).

    Parameters
    ----------
    V : ndarray, shape (n, k)
        Columns that are only defined up to sign.
    reference : ndarray, shape (n, k), optional
        When given, each column is flipped to point the same way as the reference column
        (non-negative inner product); otherwise its largest-magnitude entry is made positive.

    Returns
    -------
    ndarray, shape (n, k)

    Notes
    -----
    If :math:`\\mathbf{A}\\mathbf{v} = \\lambda\\mathbf{v}` then also
    :math:`\\mathbf{A}(-\\mathbf{v}) = \\lambda(-\\mathbf{v})`; compare such vectors only
    after fixing the sign.
    """
    V = np.array(V, dtype=np.float64)
    if reference is None:
        pick = np.abs(V).argmax(axis=0)
        s = np.sign(V[pick, np.arange(V.shape[1])])
    else:
        s = np.sign(np.sum(V * np.asarray(reference), axis=0))
    return V * np.where(s == 0, 1.0, s)


def eig_sym(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of a symmetric matrix, largest eigenvalue first.

    Parameters
    ----------
    A : ndarray, shape (n, n), symmetric

    Returns
    -------
    w : ndarray, shape (n,)
        Eigenvalues in descending order.
    V : ndarray, shape (n, n)
        Orthonormal eigenvectors as columns, ``V[:, i]`` belongs to ``w[i]``, signs fixed
        by :func:`flip_signs`.

    Notes
    -----
    Spectral theorem: :math:`\\mathbf{A} = \\mathbf{V}\\boldsymbol\\Lambda\\mathbf{V}^\\top` with
    :math:`\\mathbf{V}^\\top\\mathbf{V} = \\mathbf{I}`, i.e. :math:`\\mathbf{A}\\mathbf{v}_i =
    \\lambda_i\\mathbf{v}_i`. ``np.linalg.eigh`` returns ascending order; we reverse it.
    """
    w, V = np.linalg.eigh(np.asarray(A, dtype=np.float64))
    return w[::-1], flip_signs(V[:, ::-1])


def power_iteration(A: np.ndarray, num_iters: int = 1000, tol: float = 1e-13,
                    seed: int = 0) -> tuple[float, np.ndarray]:
    """Dominant eigenpair of a symmetric matrix by repeated multiplication.

    Parameters
    ----------
    A : ndarray, shape (n, n), symmetric
    num_iters : int
        Maximum number of iterations.
    tol : float
        Stop when the unit vector moves less than this (up to sign).
    seed : int
        Seed of the random start vector.

    Returns
    -------
    lam : float
        The eigenvalue of largest magnitude (Rayleigh quotient).
    v : ndarray, shape (n,)
        Its unit eigenvector, sign fixed by :func:`flip_signs`.

    Notes
    -----
    :math:`\\mathbf{v}_{t+1} = \\mathbf{A}\\mathbf{v}_t / \\lVert\\mathbf{A}\\mathbf{v}_t\\rVert_2`,
    :math:`\\lambda = \\mathbf{v}^\\top\\mathbf{A}\\mathbf{v}`. The error shrinks like
    :math:`|\\lambda_2/\\lambda_1|^t`: fast with a large spectral gap, slow without one.
    """
    A = np.asarray(A, dtype=np.float64)
    v = np.random.default_rng(seed).standard_normal(A.shape[0])
    v /= np.linalg.norm(v)
    for _ in range(num_iters):
        w = A @ v
        norm = np.linalg.norm(w)
        if norm == 0.0:  # v is in the null space: every eigenvalue it sees is 0
            break
        w /= norm
        done = min(np.linalg.norm(w - v), np.linalg.norm(w + v)) < tol
        v = w
        if done:
            break
    return float(v @ A @ v), flip_signs(v[:, None])[:, 0]


def eig2x2(A: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Eigenvalues of a 2x2 matrix from its characteristic polynomial, and real eigenvectors.

    Parameters
    ----------
    A : ndarray, shape (2, 2)

    Returns
    -------
    lam : ndarray, shape (2,), complex
        Eigenvalues, the one with the larger real part (then the ``+`` root) first.
    V : ndarray, shape (2, 2) or None
        Unit eigenvectors as columns when the eigenvalues are real, else ``None``. A
        defective matrix (a shear) gets the same direction twice.

    Notes
    -----
    :math:`\\det(\\mathbf{A}-\\lambda\\mathbf{I}) = \\lambda^2 - \\tau\\lambda + \\delta = 0` with
    :math:`\\tau = \\operatorname{tr}\\mathbf{A}`, :math:`\\delta = \\det\\mathbf{A}`, so
    :math:`\\lambda = \\tau/2 \\pm \\sqrt{\\tau^2/4 - \\delta}`; complex when the discriminant
    is negative (the map rotates every direction). For :math:`\\lambda` an eigenvector is
    :math:`(b, \\lambda - a)` (or :math:`(\\lambda - d, c)` when :math:`b = 0`).
    """
    (a, b), (c, d) = np.asarray(A, dtype=np.float64)
    tau, delta = a + d, a * d - b * c
    disc = tau * tau / 4 - delta
    root = np.sqrt(complex(disc))
    lam = np.array([tau / 2 + root, tau / 2 - root])
    if disc < 0:
        return lam, None
    if abs(b) <= 1e-12 and abs(c) <= 1e-12:  # diagonal: the axes themselves, larger first
        return lam, np.eye(2) if a >= d else np.eye(2)[:, ::-1]
    cols = [np.array([b, l - a]) if abs(b) >= abs(c) else np.array([l - d, c]) for l in lam.real]
    return lam, np.column_stack([v / np.linalg.norm(v) for v in cols])


# -- singular value decomposition ------------------------------------------------------


def svd_reconstruct(U: np.ndarray, s: np.ndarray, Vt: np.ndarray) -> np.ndarray:
    """Multiply a (possibly truncated) SVD back together.

    Parameters
    ----------
    U : ndarray, shape (m, r)
    s : ndarray, shape (r,)
    Vt : ndarray, shape (r, n)

    Returns
    -------
    ndarray, shape (m, n)

    Notes
    -----
    :math:`\\mathbf{U}\\boldsymbol\\Sigma\\mathbf{V}^\\top = \\sum_{i=1}^{r}\\sigma_i\\mathbf{u}_i
    \\mathbf{v}_i^\\top`. ``U * s`` scales column :math:`i` by :math:`\\sigma_i` (broadcasting),
    cheaper than building :math:`\\boldsymbol\\Sigma`.
    """
    return (U * s) @ Vt


def rank_k_approx(A: np.ndarray, k: int) -> np.ndarray:
    """Best rank-``k`` approximation of ``A`` (truncated SVD).

    Parameters
    ----------
    A : ndarray, shape (m, n)
    k : int, 0 <= k <= min(m, n)

    Returns
    -------
    ndarray, shape (m, n)

    Notes
    -----
    :math:`\\mathbf{A}_k = \\sum_{i=1}^{k}\\sigma_i\\mathbf{u}_i\\mathbf{v}_i^\\top`. Eckart-Young:
    no matrix of rank at most :math:`k` is closer in Frobenius norm, and the error is
    :func:`eckart_young_error`.
    """
    U, s, Vt = np.linalg.svd(np.asarray(A, dtype=np.float64), full_matrices=False)
    return svd_reconstruct(U[:, :k], s[:k], Vt[:k])


def eckart_young_error(s: np.ndarray, k: int) -> float:
    """Frobenius error of the best rank-``k`` approximation, from the singular values.

    Parameters
    ----------
    s : ndarray, shape (r,)
        All singular values, descending.
    k : int

    Returns
    -------
    float

    Notes
    -----
    :math:`\\lVert\\mathbf{A}-\\mathbf{A}_k\\rVert_F = \\sqrt{\\sum_{i>k}\\sigma_i^2}`: the
    discarded singular values, and nothing else, measure what is lost.
    """
    return float(np.sqrt(np.sum(np.asarray(s, dtype=np.float64)[k:] ** 2)))


# -- principal component analysis ------------------------------------------------------


@dataclass
class PCA:
    """The result of :func:`pca`. Components are rows, as in scikit-learn.

    Attributes
    ----------
    mean : ndarray, shape (d,)
    components : ndarray, shape (k, d)
        Orthonormal principal directions :math:`\\mathbf{v}_1^\\top,\\dots,\\mathbf{v}_k^\\top`.
    singular_values : ndarray, shape (k,)
    explained_variance : ndarray, shape (k,)
        Variance of the data along each component, :math:`\\sigma_i^2/(N-1)`.
    explained_variance_ratio : ndarray, shape (k,)
        Fraction of the total variance, :math:`\\sigma_i^2/\\sum_j\\sigma_j^2`.
    scores : ndarray, shape (N, k)
        The projection :math:`\\mathbf{Z} = (\\mathbf{X}-\\bar{\\mathbf{x}}^\\top)\\mathbf{V}_k`.
    """

    mean: np.ndarray
    components: np.ndarray
    singular_values: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    scores: np.ndarray

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Project rows ``(N', d)`` onto the components: ``(X - mean) @ components.T``, ``(N', k)``."""
        return (np.asarray(X, dtype=np.float64) - self.mean) @ self.components.T

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Back to data space, ``(N', d)``: :math:`\\hat{\\mathbf{X}} = \\mathbf{Z}\\mathbf{V}_k^\\top
        + \\mathbf{1}\\bar{\\mathbf{x}}^\\top`."""
        return np.asarray(Z, dtype=np.float64) @ self.components + self.mean


def pca(X: np.ndarray, k: int) -> PCA:
    """Principal component analysis by the SVD of the centred data.

    Parameters
    ----------
    X : ndarray, shape (N, d)
        Data, one example per row.
    k : int, 1 <= k <= min(N, d)
        Number of components kept.

    Returns
    -------
    PCA

    Notes
    -----
    Centre, :math:`\\tilde{\\mathbf{X}} = \\mathbf{X} - \\mathbf{1}\\bar{\\mathbf{x}}^\\top`, then
    :math:`\\tilde{\\mathbf{X}} = \\mathbf{U}\\boldsymbol\\Sigma\\mathbf{V}^\\top`. The covariance
    :math:`\\mathbf{C} = \\tilde{\\mathbf{X}}^\\top\\tilde{\\mathbf{X}}/(N-1) = \\mathbf{V}
    \\frac{\\boldsymbol\\Sigma^2}{N-1}\\mathbf{V}^\\top`, so the right singular vectors are the
    eigenvectors of the covariance and :math:`\\lambda_i = \\sigma_i^2/(N-1)` the variances
    along them. Scores :math:`\\mathbf{Z} = \\tilde{\\mathbf{X}}\\mathbf{V}_k = \\mathbf{U}_k
    \\boldsymbol\\Sigma_k`; explained variance ratio :math:`\\sigma_i^2/\\sum_j\\sigma_j^2`
    (the :math:`N-1` cancels).
    """
    X = np.asarray(X, dtype=np.float64)
    Xc = center(X)
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    V = flip_signs(Vt[:k].T)  # a deterministic sign per component
    var = s**2 / max(Xc.shape[0] - 1, 1)
    total = var.sum()
    ratio = var[:k] / total if total > 0 else np.zeros(k)
    return PCA(mean=X.mean(axis=0), components=V.T, singular_values=s[:k], explained_variance=var[:k],
               explained_variance_ratio=ratio, scores=Xc @ V)


# -- the plane, for pictures -----------------------------------------------------------


def transform_grid(A: np.ndarray, lim: float = 2.0, n_lines: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Grid lines of the square ``[-lim, lim]^2`` and their images under ``A``.

    Parameters
    ----------
    A : ndarray, shape (2, 2)
    lim : float
    n_lines : int
        Lines per direction.

    Returns
    -------
    lines, images : ndarray, shape (2 * n_lines, 2, 2)
        ``[line, endpoint, (x, y)]``: vertical lines first, then horizontal ones.

    Notes
    -----
    A linear map sends lines to lines (or points), so two endpoints per line suffice:
    a point :math:`\\mathbf{p}` (a row) goes to :math:`(\\mathbf{A}\\mathbf{p})^\\top =
    \\mathbf{p}^\\top\\mathbf{A}^\\top`.
    """
    t = np.linspace(-lim, lim, n_lines)
    ends = np.array([-lim, lim])
    vertical = np.stack([np.stack([np.full(2, ti), ends], axis=-1) for ti in t])
    horizontal = vertical[:, :, ::-1]
    lines = np.concatenate([vertical, horizontal])
    return lines, lines @ np.asarray(A, dtype=np.float64).T


def unit_circle(n: int = 129) -> np.ndarray:
    """``n`` points on the unit circle, shape ``(n, 2)``, first point repeated last (closed).

    Notes
    -----
    :math:`(\\cos\\theta, \\sin\\theta)`; under :math:`\\mathbf{A}` it becomes an ellipse whose
    semi-axes are the singular values of :math:`\\mathbf{A}`.
    """
    theta = np.linspace(0.0, 2 * np.pi, n)
    return np.column_stack([np.cos(theta), np.sin(theta)])


def unit_square() -> np.ndarray:
    """Vertices of the unit square, counter-clockwise from the origin, shape ``(4, 2)``.

    Notes
    -----
    Its image under :math:`\\mathbf{A}` is the parallelogram spanned by the columns
    :math:`\\mathbf{A}\\mathbf{e}_1, \\mathbf{A}\\mathbf{e}_2`, of signed area :math:`\\det\\mathbf{A}`.
    """
    return np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
