r"""Chapter 08: looking at a loss landscape through directions, slices and symmetries.

A network's loss :math:`L(\boldsymbol\theta)` lives in thousands of dimensions; we look at it
along one or two directions at a time. Everything here works on *lists of arrays matching the
parameters* (``[W1, b1, W2, b2, ...]`` in the order of ``model.parameters()``, each with the
layout of PyTorch and the chapter-05 engine: a dense weight is ``(out, in)``, a convolution
weight ``(out, in, kh, kw)``), so the same code serves NumPy, the engine and, after
``.detach().numpy()``, PyTorch.

- :func:`filter_normalize` and :func:`random_directions`: filter-normalized random directions
  (Li et al. 2018), the scale-aware way to pick :math:`\mathbf{d}`.
- :func:`slice_1d`, :func:`slice_2d`: :math:`L(\boldsymbol\theta + p\,\mathbf d_1 + q\,\mathbf d_2)` on a grid of :math:`(p, q)`.
- :func:`permute_hidden_units`, :func:`rescale_layer`: the symmetries of a ReLU network (the
  function is unchanged, the parameters are not).
- :func:`trajectory_pca`: the plane that best captures a training trajectory.
- :func:`flatten`, :func:`unflatten`: between lists of arrays and one vector :math:`\boldsymbol\theta\in\mathbb R^P`.

Mode connectivity (paths between two solutions) is :mod:`course_lib.mode_connectivity`;
curvature (Hessian-vector products, eigenvalues, traces) is :mod:`course_lib.curvature`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

Weights = Sequence[np.ndarray]


# -- lists of arrays and flat vectors -----------------------------------------------------------------
def flatten(arrays: Weights) -> np.ndarray:
    r"""Concatenate arrays into one vector :math:`\boldsymbol\theta \in \mathbb R^P`, :math:`P = \sum_k` ``arrays[k].size``.

    Parameters
    ----------
    arrays : sequence of ndarray, any shapes

    Returns
    -------
    ndarray, shape (P,), float64
    """
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays]) if len(arrays) else np.zeros(0)


def unflatten(vector: np.ndarray, like: Weights) -> list[np.ndarray]:
    r"""Split a vector back into arrays shaped like ``like`` (the inverse of :func:`flatten`).

    Parameters
    ----------
    vector : ndarray, shape (P,)
    like : sequence of ndarray, total size P

    Returns
    -------
    list of ndarray, float64, shapes of ``like``
    """
    vector = np.asarray(vector, dtype=np.float64)
    sizes = [np.size(a) for a in like]
    if vector.shape != (sum(sizes),):
        raise ValueError(f"unflatten: a vector of shape {vector.shape} does not fit parameters with "
                         f"{sum(sizes)} entries in all")
    parts = np.split(vector, np.cumsum(sizes)[:-1])
    return [p.reshape(np.shape(a)) for p, a in zip(parts, like)]


def _check_like(directions: Weights, weights: Weights, who: str) -> None:
    if len(directions) != len(weights):
        raise ValueError(f"{who}: {len(directions)} direction arrays for {len(weights)} parameter arrays; "
                         "give one direction array per parameter, in the same order")
    for k, (d, w) in enumerate(zip(directions, weights)):
        if np.shape(d) != np.shape(w):
            raise ValueError(f"{who}: direction {k} has shape {np.shape(d)} but parameter {k} has shape "
                             f"{np.shape(w)}")


# -- directions -----------------------------------------------------------------------------------------------
def filter_normalize(directions: Weights, weights: Weights) -> list[np.ndarray]:
    r"""Rescale each filter of a direction to the norm of the same filter of the weights (Li et al. 2018).

    Parameters
    ----------
    directions : sequence of ndarray
        One array per parameter, shaped like it (for example Gaussian noise).
    weights : sequence of ndarray
        The parameters :math:`\boldsymbol\theta`, PyTorch layouts: a dense weight is (out, in), a
        convolution weight (out, in, kh, kw).

    Returns
    -------
    list of ndarray, float64, the shapes of ``weights``
        New arrays; the inputs are not modified.

    Notes
    -----
    A **filter** is one slice along axis 0 of a parameter with two or more axes: one output
    channel of a convolution (all its ``in x kh x kw`` weights), one row of a dense weight (the
    incoming weights of one neuron). For every filter :math:`f`,

    .. math::  \mathbf d_f \leftarrow \frac{\lVert\mathbf w_f\rVert_2}{\lVert\mathbf d_f\rVert_2}\,\mathbf d_f ,

    so each filter's step has the size of the filter itself. Parameters with fewer than two axes
    (biases, normalization scales) get a **zero** direction, as in Li et al.

    Guards: a filter whose direction is all zeros stays zero (there is no direction to rescale,
    and dividing by its norm would give NaN); a filter whose weights are all zeros gets a zero
    direction (its norm is 0).

    Why: a ReLU network computes the same function after a layer is multiplied by :math:`c > 0`
    and the next one by :math:`1/c`. A filter-normalized direction scales with the filters, so
    the slice :math:`L(\boldsymbol\theta + p\,\mathbf d)` is the same for both versions of the
    network; a raw direction is not (the chapter shows both).
    """
    _check_like(directions, weights, "filter_normalize")
    out = []
    for d, w in zip(directions, weights):
        d = np.asarray(d, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        if d.ndim < 2:
            out.append(np.zeros_like(d))
            continue
        d_rows, w_rows = d.reshape(d.shape[0], -1), w.reshape(w.shape[0], -1)
        d_norm = np.linalg.norm(d_rows, axis=1)
        w_norm = np.linalg.norm(w_rows, axis=1)
        # Where the direction's filter is zero, the scale is irrelevant (0 times anything): use 0.
        scale = np.divide(w_norm, d_norm, out=np.zeros_like(d_norm), where=d_norm > 0)
        out.append((d_rows * scale[:, None]).reshape(d.shape))
    return out


def random_directions(weights: Weights, rng=None, normalize: bool = True) -> list[np.ndarray]:
    r"""A Gaussian random direction shaped like the parameters, filter-normalized by default.

    Parameters
    ----------
    weights : sequence of ndarray
    rng : numpy.random.Generator or int or None
    normalize : bool
        Apply :func:`filter_normalize` (biases get zero). Without it every entry is
        :math:`\mathcal N(0, 1)`, biases included: the "raw" direction of the chapter's comparison.

    Returns
    -------
    list of ndarray, float64, the shapes of ``weights``
    """
    rng = np.random.default_rng(rng)
    d = [rng.standard_normal(np.shape(w)) for w in weights]
    return filter_normalize(d, weights) if normalize else d


def perturb(weights: Weights, directions: Sequence[Weights], coefficients: Sequence[float]) -> list[np.ndarray]:
    r""":math:`\boldsymbol\theta + \sum_k c_k\,\mathbf d_k`, parameter by parameter.

    Parameters
    ----------
    weights : sequence of ndarray
    directions : sequence of direction lists, each shaped like ``weights``
    coefficients : sequence of float, one per direction

    Returns
    -------
    list of ndarray, float64
    """
    if len(directions) != len(coefficients):
        raise ValueError(f"perturb: {len(directions)} directions but {len(coefficients)} coefficients")
    out = [np.array(w, dtype=np.float64) for w in weights]
    for d, c in zip(directions, coefficients):
        _check_like(d, weights, "perturb")
        for o, dk in zip(out, d):
            o += c * np.asarray(dk, dtype=np.float64)
    return out


def slice_1d(loss: Callable[[list], float], weights: Weights, direction: Weights, ps) -> np.ndarray:
    r"""The loss along a line through the weights, :math:`L(\boldsymbol\theta + p\,\mathbf d)`.

    Parameters
    ----------
    loss : callable, list of ndarray -> float
        The loss of a network with the given parameters.
    weights : sequence of ndarray
        :math:`\boldsymbol\theta`.
    direction : sequence of ndarray
        :math:`\mathbf d`, shaped like ``weights``.
    ps : array_like, shape (A,)
        The coordinates :math:`p_j` along the line.

    Returns
    -------
    ndarray, shape (A,): ``out[j]`` = :math:`L(\boldsymbol\theta + p_j\,\mathbf d)`
    """
    _check_like(direction, weights, "slice_1d")
    return np.array([float(loss(perturb(weights, [direction], [p]))) for p in np.asarray(ps, dtype=float)])


def slice_2d(loss: Callable[[list], float], weights: Weights, d1: Weights, d2: Weights, ps, qs) -> np.ndarray:
    r"""The loss on a plane through the weights, :math:`L(\boldsymbol\theta + p\,\mathbf d_1 + q\,\mathbf d_2)`.

    Parameters
    ----------
    loss : callable, list of ndarray -> float
    weights : sequence of ndarray
    d1, d2 : sequence of ndarray, shaped like ``weights``
    ps : array_like, shape (A,)
        Coordinates :math:`p` along ``d1`` (the horizontal axis of a contour plot).
    qs : array_like, shape (Q,)
        Coordinates :math:`q` along ``d2`` (the vertical axis).

    Returns
    -------
    ndarray, shape (Q, A)
        ``out[i, j]`` = :math:`L(\boldsymbol\theta + p_j\,\mathbf d_1 + q_i\,\mathbf d_2)`: rows follow
        :math:`q`, columns :math:`p`, as ``np.meshgrid(ps, qs)`` and ``plt.contour`` expect.
    """
    _check_like(d1, weights, "slice_2d")
    _check_like(d2, weights, "slice_2d")
    ps, qs = np.asarray(ps, dtype=float), np.asarray(qs, dtype=float)
    return np.array([[float(loss(perturb(weights, [d1, d2], [p, q]))) for p in ps] for q in qs])


# -- symmetries of an MLP -----------------------------------------------------------------------------------
def _mlp_pairs(weights: Weights, who: str) -> int:
    if len(weights) % 2 or any(np.ndim(weights[2 * k]) != 2 or np.ndim(weights[2 * k + 1]) != 1
                               for k in range(len(weights) // 2)):
        raise ValueError(f"{who}: expected an MLP's parameters [W1, b1, W2, b2, ...] with each W of shape "
                         "(out, in) and each b of shape (out,)")
    return len(weights) // 2


def permute_hidden_units(weights: Weights, perm, layer: int = 0) -> list[np.ndarray]:
    r"""Reorder the units of one hidden layer of an MLP; the network's function does not change.

    Parameters
    ----------
    weights : sequence of ndarray
        ``[W1, b1, W2, b2, ...]``, ``W`` of shape (out, in), ``b`` of shape (out,).
    perm : array_like of int, shape (n_h,)
        A permutation of the ``n_h`` units of hidden layer ``layer``: new unit ``i`` is old unit ``perm[i]``.
    layer : int
        Which hidden layer (0 is the output of the first weight matrix).

    Returns
    -------
    list of ndarray, new arrays

    Notes
    -----
    With :math:`\mathbf P` the permutation matrix, :math:`\mathbf W_\ell \to \mathbf P\mathbf W_\ell`,
    :math:`\mathbf b_\ell \to \mathbf P\mathbf b_\ell`, :math:`\mathbf W_{\ell+1} \to \mathbf W_{\ell+1}\mathbf P^\top`.
    An element-wise activation commutes with :math:`\mathbf P`, so
    :math:`\mathbf W_{\ell+1}\mathbf P^\top f(\mathbf P\mathbf z) = \mathbf W_{\ell+1} f(\mathbf z)`: every one of
    the :math:`n_h!` orderings is a different point with the same loss.
    """
    n_layers = _mlp_pairs(weights, "permute_hidden_units")
    if not 0 <= layer < n_layers - 1:
        raise ValueError(f"permute_hidden_units: layer {layer} is not a hidden layer of a {n_layers}-layer MLP")
    perm = np.asarray(perm)
    n_h = np.shape(weights[2 * layer])[0]
    if perm.shape != (n_h,) or not np.array_equal(np.sort(perm), np.arange(n_h)):
        raise ValueError(f"permute_hidden_units: perm must be a permutation of 0..{n_h - 1}")
    out = [np.array(w, dtype=np.float64) for w in weights]
    out[2 * layer] = out[2 * layer][perm]
    out[2 * layer + 1] = out[2 * layer + 1][perm]
    out[2 * layer + 2] = out[2 * layer + 2][:, perm]
    return out


def rescale_layer(weights: Weights, layer: int, c: float) -> list[np.ndarray]:
    r"""Multiply one layer by :math:`c > 0` and the next layer's weights by :math:`1/c`.

    Parameters
    ----------
    weights : sequence of ndarray
        ``[W1, b1, W2, b2, ...]`` of an MLP.
    layer : int
        The layer to scale up (0-based); ``layer + 1`` is scaled down.
    c : float > 0

    Returns
    -------
    list of ndarray, new arrays

    Notes
    -----
    ReLU is positively homogeneous, :math:`\max(cz, 0) = c\max(z, 0)` for :math:`c > 0`, so

    .. math::  \frac1c\mathbf W_{\ell+1}\,\mathrm{ReLU}(c\mathbf W_\ell\mathbf x + c\mathbf b_\ell)
               = \mathbf W_{\ell+1}\,\mathrm{ReLU}(\mathbf W_\ell\mathbf x + \mathbf b_\ell):

    the same function (and loss) from different parameters. Its Hessian is not the same
    (:func:`course_lib.curvature.reparameterized_hessian`; Dinh et al. 2017). With tanh or a
    sigmoid the function changes.
    """
    n_layers = _mlp_pairs(weights, "rescale_layer")
    if not 0 <= layer < n_layers - 1:
        raise ValueError(f"rescale_layer: layer {layer} needs a next layer (the MLP has {n_layers})")
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"rescale_layer: c must be positive (ReLU is only positively homogeneous), got {c}")
    out = [np.array(w, dtype=np.float64) for w in weights]
    out[2 * layer] *= c
    out[2 * layer + 1] *= c
    out[2 * layer + 2] /= c
    return out


# -- training trajectories ------------------------------------------------------------------------------------
@dataclass
class TrajectoryPCA:
    r"""The plane of a training trajectory (:func:`trajectory_pca`).

    Attributes
    ----------
    directions : ndarray, shape (k, P)
        Orthonormal rows :math:`\mathbf d_1, \dots, \mathbf d_k`.
    coords : ndarray, shape (T, k)
        :math:`(\boldsymbol\theta_t - \boldsymbol\theta_\text{final})\cdot\mathbf d_i` for every snapshot.
    explained : ndarray, shape (k,)
        Share of :math:`\sum_t\lVert\boldsymbol\theta_t - \boldsymbol\theta_\text{final}\rVert^2` along each direction.
    final : ndarray, shape (P,)
    """

    directions: np.ndarray
    coords: np.ndarray
    explained: np.ndarray
    final: np.ndarray


def trajectory_pca(trajectory, final=None, k: int = 2) -> TrajectoryPCA:
    r"""The ``k`` directions that best capture a training trajectory around its end point.

    Parameters
    ----------
    trajectory : array_like, shape (T, P)
        Flattened parameters :math:`\boldsymbol\theta_t` (:func:`flatten`), one snapshot per row.
    final : array_like, shape (P,), optional
        The point to look around; the last snapshot by default.
    k : int

    Returns
    -------
    TrajectoryPCA

    Notes
    -----
    With :math:`\mathbf M` the matrix of rows :math:`\boldsymbol\theta_t - \boldsymbol\theta_\text{final}` and
    its SVD :math:`\mathbf M = \mathbf U\mathbf S\mathbf V^\top`, the directions are the first ``k`` rows of
    :math:`\mathbf V^\top` (the right singular vectors): the ``k``-dimensional subspace through
    :math:`\boldsymbol\theta_\text{final}` that is closest, in summed squared distance, to the
    snapshots (Eckart-Young). The coordinates are :math:`\mathbf M\mathbf V_{:,:k} = \mathbf U_{:,:k}\mathbf S_{:k}`;
    the explained shares are :math:`s_i^2/\sum_j s_j^2`. Li et al. (2018) apply scikit-learn's PCA, which
    also subtracts the mean of :math:`\mathbf M`; here the plane passes through the end point, where
    the slice is centred. Each direction's sign is fixed so that its largest entry is positive.

    A random direction in :math:`\mathbb R^P` is almost orthogonal to any fixed vector (the cosine
    is of order :math:`1/\sqrt P`), which is why a trajectory drawn on a random plane looks like a dot.
    """
    T = np.asarray(trajectory, dtype=np.float64)
    if T.ndim != 2 or len(T) < 2:
        raise ValueError(f"trajectory_pca: expected snapshots of shape (T, P) with T >= 2, got {T.shape}")
    end = T[-1] if final is None else np.asarray(final, dtype=np.float64)
    if end.shape != (T.shape[1],):
        raise ValueError(f"trajectory_pca: final has shape {end.shape}, expected ({T.shape[1]},)")
    if not 1 <= k <= min(T.shape):
        raise ValueError(f"trajectory_pca: k = {k} must be between 1 and {min(T.shape)}")
    M = T - end
    _, s, Vt = np.linalg.svd(M, full_matrices=False)
    V = Vt[:k]
    signs = np.sign(V[np.arange(k), np.argmax(np.abs(V), axis=1)])
    V = V * np.where(signs == 0, 1.0, signs)[:, None]
    total = float(np.sum(s * s))
    explained = s[:k] ** 2 / total if total > 0 else np.zeros(k)
    return TrajectoryPCA(directions=V, coords=M @ V.T, explained=explained, final=end)
