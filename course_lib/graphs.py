r"""Graphs as matrices (chapter 13): adjacency, degree, Laplacians, the graph Fourier basis, the GCN
propagation matrix and its frequency response, message-passing aggregation, Dirichlet energy and
Fiedler-vector spectral clustering. NumPy only.

Notation (chapter 00's table): adjacency :math:`\mathbf A \in \mathbb R^{N\times N}` (symmetric,
non-negative), degree matrix :math:`\mathbf D = \operatorname{diag}(\deg(1), \dots, \deg(N))`,
:math:`\deg(i) = \sum_j A_{ij}`; with self-loops :math:`\tilde{\mathbf A} = \mathbf A + \mathbf I` and
:math:`\tilde{\mathbf D}`; Laplacian :math:`\mathbf L = \mathbf D - \mathbf A` and normalized Laplacian
:math:`\mathbf L_\text{sym} = \mathbf I - \mathbf D^{-1/2}\mathbf A\mathbf D^{-1/2}`; node features
:math:`\mathbf X \in \mathbb R^{N\times d}`, one node per row.

An isolated node (degree 0) has no :math:`\deg(i)^{-1/2}`: like networkx and PyTorch Geometric, we take
:math:`0^{-1/2} := 0`, so its row and column of :math:`\mathbf D^{-1/2}\mathbf A\mathbf D^{-1/2}` are
zero (they are zero in :math:`\mathbf A` anyway). With self-loops every degree is at least 1 and
the question does not arise.
"""
from __future__ import annotations

import numpy as np

__all__ = ["check_adjacency", "degrees", "laplacian", "normalized_laplacian", "normalized_adjacency",
           "graph_fourier_basis", "gcn_frequency_response", "aggregate", "dirichlet_energy",
           "fiedler_vector", "spectral_bipartition", "permutation_matrix"]

AGGREGATIONS = ("sum", "mean", "max")


def check_adjacency(A) -> np.ndarray:
    r"""``A`` as a float64 array, after checking it is a square, finite, non-negative matrix.

    Parameters
    ----------
    A : array_like, shape (N, N)

    Returns
    -------
    ndarray, shape (N, N), float64

    Raises
    ------
    ValueError
        Not square, not finite, or a negative weight (a Laplacian needs non-negative weights).
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"an adjacency matrix is square (N, N); got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError("the adjacency matrix has NaN or infinite entries")
    if np.any(A < 0):
        raise ValueError("the adjacency matrix has negative weights; graph Laplacians need A_ij >= 0")
    return A


def degrees(A) -> np.ndarray:
    r"""Node degrees :math:`\deg(i) = \sum_j A_{ij}`, shape (N,) (weighted degrees for a weighted graph)."""
    return check_adjacency(A).sum(axis=1)


def _inv_sqrt(d: np.ndarray) -> np.ndarray:
    """d^{-1/2} with 0^{-1/2} := 0 (an isolated node)."""
    out = np.zeros_like(d)
    np.divide(1.0, np.sqrt(d), out=out, where=d > 0)
    return out


def laplacian(A) -> np.ndarray:
    r"""The combinatorial Laplacian :math:`\mathbf L = \mathbf D - \mathbf A`, shape (N, N).

    Notes
    -----
    For symmetric :math:`\mathbf A`,
    :math:`\mathbf x^\top\mathbf L\mathbf x = \tfrac12\sum_{i,j}A_{ij}(x_i - x_j)^2 \ge 0`: :math:`\mathbf L`
    is positive semi-definite, :math:`\mathbf L\mathbf 1 = \mathbf 0`, and the multiplicity of the
    eigenvalue 0 is the number of connected components.
    """
    A = check_adjacency(A)
    return np.diag(A.sum(axis=1)) - A


def normalized_laplacian(A, self_loops: bool = False) -> np.ndarray:
    r"""The symmetric normalized Laplacian :math:`\mathbf L_\text{sym} = \mathbf I - \mathbf D^{-1/2}\mathbf A\mathbf D^{-1/2}`.

    Parameters
    ----------
    A : array_like, shape (N, N)
    self_loops : bool
        If True, of :math:`\tilde{\mathbf A} = \mathbf A + \mathbf I` (the GCN's graph):
        :math:`\tilde{\mathbf L}_\text{sym} = \mathbf I - \tilde{\mathbf D}^{-1/2}\tilde{\mathbf A}\tilde{\mathbf D}^{-1/2}`.

    Returns
    -------
    ndarray, shape (N, N)

    Notes
    -----
    Its eigenvalues lie in :math:`[0, 2]`; 2 is one iff a connected component is bipartite. An
    isolated node's row is zero (networkx's convention, :math:`0^{-1/2} := 0`), so it contributes an
    eigenvalue 0, as any connected component does.
    """
    A = check_adjacency(A)
    n = len(A)
    if self_loops:
        A = A + np.eye(n)
    d = A.sum(axis=1)
    s = _inv_sqrt(d)
    # The identity only where the degree is positive: networkx's L = D^{-1/2}(D - A)D^{-1/2}.
    return np.diag((d > 0).astype(float)) - s[:, None] * A * s[None, :]


def normalized_adjacency(A) -> np.ndarray:
    r"""The GCN propagation matrix :math:`\hat{\mathbf A} = \tilde{\mathbf D}^{-1/2}(\mathbf A + \mathbf I)\tilde{\mathbf D}^{-1/2}` (Kipf & Welling 2017).

    Parameters
    ----------
    A : array_like, shape (N, N)
        Adjacency without self-loops (non-negative; isolated nodes allowed).

    Returns
    -------
    ndarray, shape (N, N)
        :math:`\hat A_{ij} = \tilde A_{ij}/\sqrt{\tilde d_i\tilde d_j}` with :math:`\tilde d_i = \deg(i) + 1 \ge 1`.

    Notes
    -----
    The self-loop keeps a node's own features in its update, and makes every degree at least 1, so an
    isolated node gets :math:`\hat A_{ii} = 1` (it keeps its features) instead of a division by zero.
    :math:`\hat{\mathbf A} = \mathbf I - \tilde{\mathbf L}_\text{sym}` has eigenvalues in :math:`(-1, 1]`.
    """
    A = check_adjacency(A)
    At = A + np.eye(len(A))
    s = 1.0 / np.sqrt(At.sum(axis=1))
    return s[:, None] * At * s[None, :]


def graph_fourier_basis(A, self_loops: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""The graph Fourier basis: eigenvalues (frequencies) and eigenvectors of :math:`\mathbf L_\text{sym}`.

    Parameters
    ----------
    A : array_like, shape (N, N), symmetric
    self_loops : bool
        Of :math:`\tilde{\mathbf L}_\text{sym}` instead (the basis in which the GCN filter is diagonal).

    Returns
    -------
    lam : ndarray, shape (N,)
        Frequencies :math:`0 \le \lambda_1 \le \dots \le \lambda_N \le 2`.
    U : ndarray, shape (N, N)
        Orthonormal eigenvectors as columns; the graph Fourier transform of a signal
        :math:`\mathbf x` is :math:`\hat{\mathbf x} = \mathbf U^\top\mathbf x` and
        :math:`\mathbf x = \mathbf U\hat{\mathbf x}`.

    Notes
    -----
    :math:`\mathbf u_k^\top\mathbf L_\text{sym}\mathbf u_k = \lambda_k`: a low frequency is a signal that
    varies little across edges, as a low-frequency sinusoid varies little between neighbouring samples.
    """
    A = check_adjacency(A)
    if not np.allclose(A, A.T, rtol=0, atol=1e-12 * max(1.0, np.abs(A).max())):
        raise ValueError("the graph Fourier basis needs an undirected graph: A must be symmetric")
    lam, U = np.linalg.eigh(normalized_laplacian(A, self_loops=self_loops))
    return lam, U


def gcn_frequency_response(A) -> tuple[np.ndarray, np.ndarray]:
    r"""What one GCN propagation :math:`\hat{\mathbf A}` does to each frequency: :math:`g(\tilde\lambda) = 1 - \tilde\lambda`.

    Parameters
    ----------
    A : array_like, shape (N, N), symmetric

    Returns
    -------
    lam : ndarray, shape (N,)
        The frequencies :math:`\tilde\lambda_k` of :math:`\tilde{\mathbf L}_\text{sym}` (the graph with
        self-loops), ascending, in :math:`[0, 2)`.
    response : ndarray, shape (N,)
        :math:`g_k = \tilde{\mathbf u}_k^\top\hat{\mathbf A}\tilde{\mathbf u}_k`, computed from
        :math:`\hat{\mathbf A}` itself; it equals :math:`1 - \tilde\lambda_k` because
        :math:`\hat{\mathbf A} = \mathbf I - \tilde{\mathbf L}_\text{sym}` is diagonal in that basis.

    Notes
    -----
    :math:`\hat{\mathbf A}\mathbf x = \tilde{\mathbf U}\operatorname{diag}(1 - \tilde\lambda)\tilde{\mathbf U}^\top\mathbf x`:
    the lowest frequency passes unchanged (:math:`g = 1`) and higher ones are damped, a low-pass
    filter as long as :math:`|1 - \tilde\lambda| < 1`. The self-loops matter: without them the
    spectrum reaches 2 on a bipartite component, where :math:`g = -1` and the highest frequency
    passes at full strength with its sign flipped (Wu et al. 2019).
    """
    lam, U = graph_fourier_basis(A, self_loops=True)
    response = np.einsum("ik,ij,jk->k", U, normalized_adjacency(A), U)
    return lam, response


def aggregate(A, X, how: str = "sum") -> np.ndarray:
    r"""One message-passing aggregation: each node combines its neighbours' feature rows.

    Parameters
    ----------
    A : array_like, shape (N, N)
        Adjacency; :math:`A_{ij} > 0` means j is a neighbour of i (weights scale the messages for
        ``sum`` and ``mean``; ``max`` uses the pattern only).
    X : array_like, shape (N, d)
    how : {"sum", "mean", "max"}

    Returns
    -------
    ndarray, shape (N, d)
        sum: :math:`\mathbf m_i = \sum_j A_{ij}\mathbf x_j` (:math:`\mathbf A\mathbf X`); mean: that divided by
        :math:`\deg(i)`; max: :math:`m_{ik} = \max_{j: A_{ij} > 0} X_{jk}`. A node without neighbours gets
        zeros, as PyTorch Geometric's scatter does.

    Notes
    -----
    Each is permutation equivariant, :math:`\operatorname{agg}(\mathbf P\mathbf A\mathbf P^\top, \mathbf P\mathbf X) = \mathbf P\operatorname{agg}(\mathbf A, \mathbf X)`
    for any permutation matrix :math:`\mathbf P`, because it only uses the neighbour set and a
    symmetric function of it. Sum counts neighbours, mean forgets how many there were, max keeps
    only the extreme (Xu et al. 2019 compare their power).
    """
    A = check_adjacency(A)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != A.shape[0]:
        raise ValueError(f"X must have one row per node, shape ({A.shape[0]}, d); got {X.shape}")
    if how == "sum":
        return A @ X
    if how == "mean":
        d = A.sum(axis=1)
        return np.divide(A @ X, d[:, None], out=np.zeros((len(A), X.shape[1])), where=d[:, None] > 0)
    if how == "max":
        mask = A > 0
        out = np.where(mask[:, :, None], X[None, :, :], -np.inf).max(axis=1)
        return np.where(mask.any(axis=1)[:, None], out, 0.0)
    raise ValueError(f"unknown aggregation {how!r}; choose one of {AGGREGATIONS}")


def dirichlet_energy(X, L) -> float:
    r"""Dirichlet energy :math:`E(\mathbf X) = \operatorname{tr}(\mathbf X^\top\mathbf L\mathbf X)` of node features.

    Parameters
    ----------
    X : array_like, shape (N,) or (N, d)
    L : array_like, shape (N, N)
        A Laplacian: :func:`laplacian` gives :math:`\tfrac12\sum_{i,j}A_{ij}\lVert\mathbf x_i - \mathbf x_j\rVert^2`;
        :func:`normalized_laplacian` (``self_loops=True``) gives the degree-normalized energy
        :math:`\tfrac12\sum_{i,j}\tilde A_{ij}\lVert\mathbf x_i/\sqrt{\tilde d_i} - \mathbf x_j/\sqrt{\tilde d_j}\rVert^2`
        that oversmoothing drives to 0 (Cai & Wang 2020).

    Returns
    -------
    float
        Zero exactly when :math:`\mathbf X` lies in the null space of :math:`\mathbf L`: features that do not
        vary across edges (after the normalization).
    """
    X = np.asarray(X, dtype=np.float64)
    X = X[:, None] if X.ndim == 1 else X
    L = np.asarray(L, dtype=np.float64)
    if L.shape != (X.shape[0], X.shape[0]):
        raise ValueError(f"L must be ({X.shape[0]}, {X.shape[0]}) for {X.shape[0]} nodes; got {L.shape}")
    return float(np.einsum("ik,ij,jk->", X, L, X))


def fiedler_vector(A) -> tuple[float, np.ndarray]:
    r"""The Fiedler vector: the eigenvector of the second-smallest eigenvalue of :math:`\mathbf L = \mathbf D - \mathbf A`.

    Parameters
    ----------
    A : array_like, shape (N, N), symmetric, connected graph

    Returns
    -------
    lam2 : float
        The algebraic connectivity :math:`\lambda_2 > 0` (0 iff the graph is disconnected).
    v : ndarray, shape (N,)
        Unit-norm eigenvector, sign fixed so that its largest-magnitude entry is positive.

    Notes
    -----
    :math:`\mathbf v_2 = \arg\min\{\mathbf x^\top\mathbf L\mathbf x : \lVert\mathbf x\rVert = 1, \mathbf x\perp\mathbf 1\}`:
    the relaxation of the minimum ratio cut, so the signs of :math:`\mathbf v_2` split the graph into two
    groups with few edges between them (Fiedler 1973).
    """
    lam, U = np.linalg.eigh(laplacian(A))
    if len(lam) < 2:
        raise ValueError("a Fiedler vector needs at least 2 nodes")
    v = U[:, 1]
    return float(lam[1]), v * np.sign(v[np.argmax(np.abs(v))])


def spectral_bipartition(A) -> np.ndarray:
    r"""Two clusters from the Fiedler vector's signs: labels in {0, 1}, shape (N,) (1 where :math:`v_i > 0`)."""
    return (fiedler_vector(A)[1] > 0).astype(int)


def permutation_matrix(perm) -> np.ndarray:
    r"""The matrix :math:`\mathbf P` with :math:`(\mathbf P\mathbf X)_i = \mathbf X_{\pi(i)}`, i.e. ``P @ X == X[perm]``."""
    perm = np.asarray(perm)
    if sorted(perm.tolist()) != list(range(len(perm))):
        raise ValueError(f"{perm} is not a permutation of 0..{len(perm) - 1}")
    return np.eye(len(perm))[perm]
