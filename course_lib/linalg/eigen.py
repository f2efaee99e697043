r"""Eigenvalues and eigenvectors: a deterministic sign for eigenvectors, the symmetric
eigen-decomposition in descending order, power iteration, and the 2x2 case by its
characteristic polynomial.
"""
from __future__ import annotations

import numpy as np


def flip_signs(V: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    r"""Fix the arbitrary sign of each column (eigenvectors, singular vectors, components).

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
    If :math:`\mathbf{A}\mathbf{v} = \lambda\mathbf{v}` then also
    :math:`\mathbf{A}(-\mathbf{v}) = \lambda(-\mathbf{v})`; compare such vectors only
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
    r"""Eigen-decomposition of a symmetric matrix, largest eigenvalue first.

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
    Spectral theorem: :math:`\mathbf{A} = \mathbf{V}\boldsymbol\Lambda\mathbf{V}^\top` with
    :math:`\mathbf{V}^\top\mathbf{V} = \mathbf{I}`, i.e. :math:`\mathbf{A}\mathbf{v}_i =
    \lambda_i\mathbf{v}_i`. ``np.linalg.eigh`` returns ascending order; we reverse it.
    """
    w, V = np.linalg.eigh(np.asarray(A, dtype=np.float64))
    return w[::-1], flip_signs(V[:, ::-1])


def power_iteration(A: np.ndarray, num_iters: int = 1000, tol: float = 1e-13,
                    seed: int = 0) -> tuple[float, np.ndarray]:
    r"""Dominant eigenpair of a square matrix by repeated multiplication.

    Parameters
    ----------
    A : ndarray, shape (n, n)
        Square, not necessarily symmetric (chapter 03 applies it to the transpose of a Markov
        matrix), with a **unique dominant eigenvalue**: :math:`|\lambda_1| > |\lambda_2| \ge
        \dots \ge |\lambda_n|`, :math:`\lambda_1` simple (so real, for a real matrix).
    num_iters : int
        Maximum number of iterations.
    tol : float
        Stop when the unit vector moves less than this (up to sign).
    seed : int
        Seed of the random start vector.

    Returns
    -------
    lam : float
        The eigenvalue of largest magnitude, with its sign (Rayleigh quotient).
    v : ndarray, shape (n,)
        Its unit eigenvector, sign fixed by :func:`flip_signs`.

    Notes
    -----
    :math:`\mathbf{v}_{t+1} = \mathbf{A}\mathbf{v}_t / \lVert\mathbf{A}\mathbf{v}_t\rVert_2`,
    :math:`\lambda = \mathbf{v}^\top\mathbf{A}\mathbf{v}` (with :math:`\lVert\mathbf{v}\rVert_2 = 1`).
    For diagonalizable :math:`\mathbf{A}`, write :math:`\mathbf{v}_0 = \sum_i c_i\mathbf{v}_i`;
    then :math:`\mathbf{A}^t\mathbf{v}_0 = \lambda_1^t\big(c_1\mathbf{v}_1 + \sum_{i\ge2}
    c_i(\lambda_i/\lambda_1)^t\mathbf{v}_i\big)`. Conditions: the start vector needs a non-zero
    component :math:`c_1` along :math:`\mathbf{v}_1` (a random start has one with probability 1),
    and :math:`|\lambda_1| > |\lambda_2|` (with a complex pair, or :math:`\pm\lambda` both
    dominant, the direction never settles). The direction then converges at the rate
    :math:`|\lambda_2/\lambda_1|^t`: fast with a large spectral gap
    :math:`1 - |\lambda_2/\lambda_1|`, slow with a small one.

    The eigenvalue: for symmetric :math:`\mathbf{A}` the Rayleigh quotient is stationary at
    eigenvectors, so its error shrinks like :math:`|\lambda_2/\lambda_1|^{2t}`; for a
    non-symmetric matrix it still converges to :math:`\lambda_1`, but only like
    :math:`|\lambda_2/\lambda_1|^t`.

    Sign: when :math:`\lambda_1 < 0` the iterate flips at every step (:math:`\mathbf{A}\mathbf{v}
    = \lambda_1\mathbf{v}` points the other way), so convergence is judged up to sign; the
    Rayleigh quotient keeps the sign of :math:`\lambda_1`, where :math:`\lVert\mathbf{A}\mathbf{v}
    \rVert_2` would give :math:`|\lambda_1|`.
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"power iteration needs a square matrix, got shape {A.shape}")
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
    r"""Eigenvalues of a 2x2 matrix from its characteristic polynomial, and real eigenvectors.

    Parameters
    ----------
    A : ndarray, shape (2, 2)

    Returns
    -------
    lam : ndarray, shape (2,), complex
        Eigenvalues, the one with the larger real part (then the ``+`` root) first.
    V : ndarray, shape (2, 2) or None
        Unit eigenvectors as columns when the eigenvalues are real, else ``None``. A
        defective matrix (a shear: one eigenvalue of algebraic multiplicity 2 but geometric
        multiplicity 1) gets the same direction twice, so ``V`` is singular (rank 1): its
        eigenvectors do not form a basis.

    Notes
    -----
    :math:`\det(\mathbf{A}-\lambda\mathbf{I}) = \lambda^2 - \tau\lambda + \delta = 0` with
    :math:`\tau = \operatorname{tr}\mathbf{A}`, :math:`\delta = \det\mathbf{A}`, so
    :math:`\lambda = \tau/2 \pm \sqrt{\tau^2/4 - \delta}`; complex when the discriminant
    is negative (the map rotates every direction). The root without cancellation is taken
    first and the other from :math:`\lambda_1\lambda_2 = \delta`, so a tiny eigenvalue keeps
    its relative accuracy. For :math:`\lambda` both :math:`(b, \lambda - a)` and
    :math:`(\lambda - d, c)` are eigenvectors (rows of the adjugate of
    :math:`\mathbf{A}-\lambda\mathbf{I}`); the longer one is used, because the shorter may be
    all rounding error (e.g. :math:`a \approx \lambda` with :math:`b \approx 0`).
    """
    (a, b), (c, d) = np.asarray(A, dtype=np.float64)
    tau, delta = a + d, a * d - b * c
    disc = ((a - d) / 2) ** 2 + b * c  # = tau^2/4 - delta, without its cancellation
    if disc < 0:
        root = 1j * np.sqrt(-disc)
        return np.array([tau / 2 + root, tau / 2 - root]), None
    far = tau / 2 + np.copysign(np.sqrt(disc), tau)  # |tau/2| and the root add, never cancel
    near = delta / far if far != 0 else 0.0
    lam = np.array(sorted([far, near], reverse=True), dtype=complex)
    if b == 0 and c == 0 and a == d:  # a multiple of I: every direction; take the axes
        return lam, np.eye(2)
    cols = []
    for l in lam.real:
        u, w = np.array([b, l - a]), np.array([l - d, c])
        v = u if np.max(np.abs(u)) >= np.max(np.abs(w)) else w
        v = v / v[np.argmax(np.abs(v))]  # largest entry 1: no under/overflow in the norm, a fixed sign
        cols.append(v / np.linalg.norm(v))
    return lam, np.column_stack(cols)
