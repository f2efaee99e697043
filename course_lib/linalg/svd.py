r"""The singular value decomposition: reconstruction, the best rank-k approximation and its
error (Eckart-Young), and principal component analysis computed from the SVD of the centred data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.linalg.broadcasting import center
from course_lib.linalg.eigen import flip_signs


def svd_reconstruct(U: np.ndarray, s: np.ndarray, Vt: np.ndarray) -> np.ndarray:
    r"""Multiply a (possibly truncated) SVD back together.

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
    :math:`\mathbf{U}\mathbf{S}\mathbf{V}^\top = \sum_{i=1}^{r} s_i\mathbf{u}_i
    \mathbf{v}_i^\top`. ``U * s`` scales column :math:`i` by :math:`s_i` (broadcasting),
    cheaper than building :math:`\mathbf{S} = \operatorname{diag}(s_1, \dots, s_r)`.
    """
    return (U * s) @ Vt


def rank_k_approx(A: np.ndarray, k: int) -> np.ndarray:
    r"""Best rank-``k`` approximation of ``A`` (truncated SVD).

    Parameters
    ----------
    A : ndarray, shape (m, n)
    k : int, 0 <= k <= min(m, n)

    Returns
    -------
    ndarray, shape (m, n)

    Notes
    -----
    :math:`\mathbf{A}_k = \sum_{i=1}^{k} s_i\mathbf{u}_i\mathbf{v}_i^\top`. Eckart-Young:
    no matrix of rank at most :math:`k` is closer in Frobenius norm, and the error is
    :func:`eckart_young_error`.
    """
    U, s, Vt = np.linalg.svd(np.asarray(A, dtype=np.float64), full_matrices=False)
    return svd_reconstruct(U[:, :k], s[:k], Vt[:k])


def eckart_young_error(s: np.ndarray, k: int) -> float:
    r"""Frobenius error of the best rank-``k`` approximation, from the singular values.

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
    :math:`\lVert\mathbf{A}-\mathbf{A}_k\rVert_F = \sqrt{\sum_{i>k} s_i^2}`: the
    discarded singular values, and nothing else, measure what is lost.
    """
    return float(np.sqrt(np.sum(np.asarray(s, dtype=np.float64)[k:] ** 2)))


@dataclass
class PCA:
    r"""The result of :func:`pca`. Components are rows, as in scikit-learn.

    Attributes
    ----------
    mean : ndarray, shape (d,)
    components : ndarray, shape (k, d)
        Orthonormal principal directions :math:`\mathbf{v}_1^\top,\dots,\mathbf{v}_k^\top`.
    singular_values : ndarray, shape (k,)
    explained_variance : ndarray, shape (k,)
        Variance of the data along each component, :math:`s_i^2/(N-1)`.
    explained_variance_ratio : ndarray, shape (k,)
        Fraction of the total variance, :math:`s_i^2/\sum_j s_j^2`.
    scores : ndarray, shape (N, k)
        The projection :math:`\mathbf{Z} = (\mathbf{X}-\bar{\mathbf{x}}^\top)\mathbf{V}_k`.
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
        r"""Back to data space, ``(N', d)``: :math:`\hat{\mathbf{X}} = \mathbf{Z}\mathbf{V}_k^\top
        + \mathbf{1}\bar{\mathbf{x}}^\top`."""
        return np.asarray(Z, dtype=np.float64) @ self.components + self.mean


def pca(X: np.ndarray, k: int) -> PCA:
    r"""Principal component analysis by the SVD of the centred data.

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
    Centre, :math:`\tilde{\mathbf{X}} = \mathbf{X} - \mathbf{1}\bar{\mathbf{x}}^\top`, then
    :math:`\tilde{\mathbf{X}} = \mathbf{U}\mathbf{S}\mathbf{V}^\top`. The covariance
    :math:`\boldsymbol\Sigma = \tilde{\mathbf{X}}^\top\tilde{\mathbf{X}}/(N-1) = \mathbf{V}
    \frac{\mathbf{S}^2}{N-1}\mathbf{V}^\top`, so the right singular vectors are the
    eigenvectors of the covariance and :math:`\lambda_i = s_i^2/(N-1)` the variances
    along them. Scores :math:`\mathbf{Z} = \tilde{\mathbf{X}}\mathbf{V}_k = \mathbf{U}_k
    \mathbf{S}_k`; explained variance ratio :math:`s_i^2/\sum_j s_j^2`
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
