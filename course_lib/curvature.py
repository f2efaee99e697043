r"""Chapter 08: the curvature of a loss from Hessian-vector products alone.

A network with :math:`P` parameters has a :math:`P \times P` Hessian :math:`\mathbf H = \nabla^2 L(\boldsymbol\theta)`:
far too big to form for a real network, but :math:`\mathbf H\mathbf v` costs about two gradients.
Everything here needs only a function ``hvp(v) -> H v`` on flat vectors of length :math:`P`:

- :func:`central_difference_hvp`: :math:`\mathbf H\mathbf v` from two gradients (all the chapter-05
  engine needs: it has no second derivatives), with the step :func:`hvp_step`.
- :func:`top_eigenvalues` (and :func:`power_iteration`, its ``k = 1`` case): the largest
  eigenvalues, :math:`\lambda_{\max}` being the **sharpness**.
- :func:`hutchinson_trace`: :math:`\operatorname{tr}\mathbf H` from random probes, with its standard error.
- :func:`hessian_from_hvp`: the whole matrix, column by column (small networks, for checking).
- :func:`reparameterized_hessian`: how :math:`\mathbf H` changes when the parameters are rescaled.

All vectors are float64 ndarrays of shape (P,).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

HVP = Callable[[np.ndarray], np.ndarray]
EPS = np.finfo(np.float64).eps
# A residual above this fraction of the Ritz value after every iteration means the iterate is a
# mixture of eigenvectors of opposite signs (e.g. +5 and -5: the Rayleigh quotient stalls anywhere
# between), not a slow convergence between close eigenvalues (whose residual is of order the gap).
MIXTURE = 0.1


def hvp_step(theta: np.ndarray, v: np.ndarray) -> float:
    r"""The step :math:`h` of :func:`central_difference_hvp`: :math:`h = \varepsilon^{1/3}\,(1 + \lVert\boldsymbol\theta\rVert)/\lVert\mathbf v\rVert`.

    Parameters
    ----------
    theta, v : ndarray, shape (P,)

    Returns
    -------
    float

    Notes
    -----
    The central difference of the gradient has a truncation error of
    :math:`\frac{h^2}{6}\nabla^3L[\mathbf v,\mathbf v,\mathbf v,\cdot]`, of order :math:`h^2\lVert\mathbf v\rVert^3`,
    and a round-off error of order :math:`\varepsilon\,\lVert\nabla L\rVert/(h\lVert\mathbf v\rVert)`
    (two gradients, each rounded to a relative :math:`\varepsilon \approx 2.2\cdot10^{-16}`, divided by :math:`2h`).
    The sum is smallest where the two are of the same order, at :math:`h\lVert\mathbf v\rVert \propto \varepsilon^{1/3}`,
    which leaves a relative error of order :math:`\varepsilon^{2/3} \approx 4\cdot10^{-11}`. The factor
    :math:`1 + \lVert\boldsymbol\theta\rVert` makes the step relative to the size of the parameters, as for
    a finite-difference Hessian-vector product in Nocedal and Wright (2006, section 8.1). The
    chapter measures the error against PyTorch's exact product over a range of :math:`h`.
    """
    v_norm = float(np.linalg.norm(v))
    if v_norm == 0:
        return 0.0
    return float(EPS ** (1 / 3) * (1.0 + np.linalg.norm(theta)) / v_norm)


def central_difference_hvp(grad: Callable[[np.ndarray], np.ndarray], theta, v, h: float | None = None) -> np.ndarray:
    r"""A Hessian-vector product from two gradients: :math:`\mathbf H\mathbf v \approx \frac{\nabla L(\boldsymbol\theta + h\mathbf v) - \nabla L(\boldsymbol\theta - h\mathbf v)}{2h}`.

    Parameters
    ----------
    grad : callable, ndarray (P,) -> ndarray (P,)
        The gradient of the loss, in float64 (in float32 the error is about a million times larger).
    theta : ndarray, shape (P,)
    v : ndarray, shape (P,)
    h : float, optional
        The step; :func:`hvp_step` by default.

    Returns
    -------
    ndarray, shape (P,)

    Notes
    -----
    Taylor's theorem applied to each component of the gradient, for :math:`L` three times
    continuously differentiable near :math:`\boldsymbol\theta`:

    .. math::  \nabla L(\boldsymbol\theta \pm h\mathbf v) = \nabla L(\boldsymbol\theta) \pm h\,\mathbf H\mathbf v
               + \tfrac{h^2}{2}\nabla^3L[\mathbf v,\mathbf v,\cdot] + O(h^3),

    so the difference quotient is :math:`\mathbf H\mathbf v + O(h^2)`. The condition matters: a ReLU
    network's gradient *jumps* where a pre-activation crosses zero, and a step that crosses
    such a kink adds an error of order (jump)/h. Use a smooth activation (tanh) with this
    function, or an exact product (double backward in PyTorch) for ReLU networks.
    """
    theta = np.asarray(theta, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if theta.shape != v.shape or theta.ndim != 1:
        raise ValueError(f"central_difference_hvp: theta and v must be vectors of one shape, got {theta.shape} "
                         f"and {v.shape}")
    h = hvp_step(theta, v) if h is None else float(h)
    if h == 0:
        return np.zeros_like(theta)
    return (np.asarray(grad(theta + h * v), dtype=np.float64)
            - np.asarray(grad(theta - h * v), dtype=np.float64)) / (2 * h)


def hessian_from_hvp(hvp: HVP, dim: int, symmetrize: bool = True) -> np.ndarray:
    r"""The full Hessian from :math:`P` products with the basis vectors, :math:`\mathbf H_{:,j} = \mathbf H\mathbf e_j`.

    Parameters
    ----------
    hvp : callable, ndarray (P,) -> ndarray (P,)
    dim : int
        :math:`P`.
    symmetrize : bool
        Return :math:`(\mathbf H + \mathbf H^\top)/2`: a finite-difference Hessian is symmetric only up to its error.

    Returns
    -------
    ndarray, shape (P, P)
    """
    H = np.empty((dim, dim))
    e = np.zeros(dim)
    for j in range(dim):
        e[j] = 1.0
        H[:, j] = hvp(e)
        e[j] = 0.0
    return 0.5 * (H + H.T) if symmetrize else H


# -- eigenvalues ------------------------------------------------------------------------------------------
@dataclass
class Eigen:
    r"""Result of :func:`top_eigenvalues`.

    Attributes
    ----------
    values : ndarray, shape (k,)
        The ``k`` largest eigenvalues, largest first (algebraically: a negative eigenvalue of large
        magnitude is *not* among them).
    vectors : ndarray, shape (P, k)
        Orthonormal Ritz vectors, column ``i`` for ``values[i]``.
    residuals : ndarray, shape (k,)
        :math:`\lVert\mathbf H\mathbf v_i - \lambda_i\mathbf v_i\rVert`: for a symmetric matrix some eigenvalue lies
        within this distance of ``values[i]``.
    iterations : int
        Products with the block (each costs ``k`` Hessian-vector products), all phases together.
    converged : bool
    shift : float
        The shift :math:`s` that was added (0 if none was needed).
    """

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    iterations: int
    converged: bool
    shift: float


def _block_hvp(hvp: HVP, V: np.ndarray, shift: float) -> np.ndarray:
    return np.stack([np.asarray(hvp(V[:, i]), dtype=np.float64) for i in range(V.shape[1])], axis=1) + shift * V


def _subspace_iteration(hvp: HVP, V: np.ndarray, shift: float, iters: int, tol: float, k: int):
    """Subspace iteration with Rayleigh-Ritz on H + shift I; the first ``k`` Ritz pairs (of H + shift I) decide."""
    spread = 0.0
    for it in range(1, iters + 1):
        V, _ = np.linalg.qr(V)
        W = _block_hvp(hvp, V, shift)
        T = V.T @ W
        theta, S = np.linalg.eigh(0.5 * (T + T.T))
        order = np.argsort(-np.abs(theta))  # the Ritz values of largest magnitude converge first
        theta, S = theta[order], S[:, order]
        V, W = V @ S, W @ S
        residuals = np.linalg.norm(W - V * theta, axis=0)
        spread = max(spread, float(np.max(np.linalg.norm(W, axis=0))))  # a lower bound on the spectral radius
        if np.all(residuals[:k] <= tol * max(spread, np.finfo(float).tiny)):
            return theta[:k], V[:, :k], residuals[:k], it, True, spread
        if np.any(np.linalg.norm(W, axis=0) == 0):  # an exact null vector: nothing left to iterate on
            return theta[:k], V[:, :k], residuals[:k], it, bool(np.all(residuals[:k] == 0)), spread
        V = W
    return theta[:k], V[:, :k], residuals[:k], iters, False, spread


def top_eigenvalues(hvp: HVP, dim: int, k: int = 1, *, iters: int = 200, tol: float = 1e-6, rng=None,
                    v0: np.ndarray | None = None, shift: float | None = None, oversample: int = 0) -> Eigen:
    r"""The ``k`` largest eigenvalues of a symmetric :math:`\mathbf H` known only through ``hvp``.

    Parameters
    ----------
    hvp : callable, ndarray (P,) -> ndarray (P,)
        :math:`\mathbf v \mapsto \mathbf H\mathbf v` for a symmetric :math:`\mathbf H`.
    dim : int
        :math:`P`.
    k : int
        How many eigenvalues (``k = 1``: power iteration).
    iters : int
        Most block products per phase.
    tol : float
        Stop when every residual :math:`\lVert\mathbf H\mathbf v_i - \lambda_i\mathbf v_i\rVert` is at most
        ``tol`` times the spectral radius seen so far.
    rng : numpy.random.Generator or int or None
        The random start.
    v0 : ndarray, shape (P,) or (P, k), optional
        A start (for example the previous answer, when tracking the sharpness during training).
    shift : float, optional
        Iterate on :math:`\mathbf H + s\mathbf I` with this :math:`s` in a single phase, converged or not, and
        report the eigenvalues of :math:`\mathbf H` (``shift=0.0`` with a few ``iters`` and a warm ``v0`` is a
        cheap tracker). By default the shift is chosen automatically, as below.
    oversample : int
        Iterate with ``k + oversample`` vectors and report the top ``k``: each block product costs
        more, but the rate improves from :math:`|\lambda_{k+1}/\lambda_k|` to :math:`|\lambda_{k+1+p}/\lambda_k|`,
        which pays off when the top eigenvalues of a network's Hessian crowd together.

    Returns
    -------
    Eigen

    Notes
    -----
    **Subspace iteration.** Repeat :math:`\mathbf V \leftarrow \operatorname{qr}(\mathbf H\mathbf V)`, and each time take the
    eigen-decomposition of the small matrix :math:`\mathbf V^\top\mathbf H\mathbf V` (Rayleigh-Ritz). If the
    eigenvalues are ordered by magnitude, :math:`|\lambda_1| \ge \dots \ge |\lambda_k| > |\lambda_{k+1}|`, the
    columns converge to their eigenvectors, the :math:`i`-th at the rate :math:`|\lambda_{k+1}/\lambda_i|` per
    product. For ``k = 1`` this is power iteration, and the Ritz value is the Rayleigh quotient
    :math:`\mathbf v^\top\mathbf H\mathbf v` (with its sign, unlike :math:`\lVert\mathbf H\mathbf v\rVert`).

    **The sign.** Power iteration finds the eigenvalues of largest *magnitude*. A loss near a
    saddle, or early in training, can have a negative eigenvalue larger in magnitude than
    :math:`\lambda_{\max}`. So: if the first phase converges with every Ritz value :math:`\ge 0`, those
    are the largest eigenvalues (any other eigenvalue has a smaller magnitude, hence is smaller);
    if it is merely slow (close eigenvalues: a residual that shrinks but stays above ``tol``) the
    Ritz values are still returned, with ``converged=False``. Otherwise run again on the **shifted** matrix :math:`\mathbf H + s\mathbf I` with :math:`s` the largest
    :math:`\lVert\mathbf H\mathbf v\rVert` seen (about the spectral radius :math:`\rho`): its eigenvalues
    :math:`\lambda_i + s \ge 0` keep their order, so its dominant ones are the largest algebraic
    eigenvalues of :math:`\mathbf H`, and we subtract :math:`s` back. (Phase one also fails to converge when
    :math:`\lambda_{\max} = -\lambda_{\min}`: the iterates keep a mixture of the two eigenvectors and the
    residual stays large, above :data:`MIXTURE` times the Ritz value, so that case is shifted too.)
    """
    if not 1 <= k <= dim:
        raise ValueError(f"top_eigenvalues: k = {k} must be between 1 and dim = {dim}")
    rng = np.random.default_rng(rng)
    block = min(dim, k + max(0, int(oversample)))
    if v0 is None:
        V = rng.standard_normal((dim, block))
    else:
        V = np.asarray(v0, dtype=np.float64).reshape(dim, -1)
        if V.shape[1] < block:
            V = np.hstack([V, rng.standard_normal((dim, block - V.shape[1]))])
        V = V[:, :block]
    if shift is not None:
        theta, V1, res, used, converged, _ = _subspace_iteration(hvp, V, float(shift), iters, tol, k)
        values = theta - float(shift)
        order = np.argsort(-values)
        return Eigen(values[order], V1[:, order], res[order], used, converged, float(shift))
    theta, V1, res, used, converged, spread = _subspace_iteration(hvp, V, 0.0, iters, tol, k)
    mixed = not converged and res[0] > MIXTURE * abs(theta[0])
    if np.all(theta >= 0) and not mixed:
        order = np.argsort(-theta)
        return Eigen(theta[order], V1[:, order], res[order], used, converged, 0.0)
    shift = spread if spread > 0 else 1.0
    theta_s, V2, res2, used2, converged2, _ = _subspace_iteration(hvp, rng.standard_normal((dim, block)), shift,
                                                                  iters, tol, k)
    values = theta_s - shift
    order = np.argsort(-values)
    return Eigen(values[order], V2[:, order], res2[order], used + used2, converged2, shift)


def power_iteration(hvp: HVP, dim: int, *, iters: int = 200, tol: float = 1e-6, rng=None,
                    v0: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    r"""The largest eigenvalue :math:`\lambda_{\max}` (the sharpness) and its eigenvector, by power iteration.

    Parameters
    ----------
    hvp, dim, iters, tol, rng, v0
        As :func:`top_eigenvalues`.

    Returns
    -------
    lam : float
        :math:`\lambda_{\max}`, with its sign (the Rayleigh quotient :math:`\mathbf v^\top\mathbf H\mathbf v`, not :math:`\lVert\mathbf H\mathbf v\rVert`).
    v : ndarray, shape (P,), unit norm

    Notes
    -----
    :math:`\mathbf v_{t+1} = \mathbf H\mathbf v_t/\lVert\mathbf H\mathbf v_t\rVert` converges to the eigenvector of
    largest :math:`|\lambda|` at the rate :math:`|\lambda_2/\lambda_1|`; a shift makes it the largest
    algebraic one (see :func:`top_eigenvalues`, of which this is the ``k = 1`` case).
    """
    result = top_eigenvalues(hvp, dim, 1, iters=iters, tol=tol, rng=rng, v0=v0)
    return float(result.values[0]), result.vectors[:, 0]


# -- trace -------------------------------------------------------------------------------------------------------
@dataclass
class TraceEstimate:
    r"""Result of :func:`hutchinson_trace`.

    Attributes
    ----------
    estimate : float
        :math:`\frac1m\sum_{i=1}^m \mathbf z_i^\top\mathbf H\mathbf z_i`.
    stderr : float
        Its standard error, :math:`\operatorname{sd}/\sqrt m` with the sample standard deviation (``ddof=1``).
    samples : ndarray, shape (m,)
        The :math:`\mathbf z_i^\top\mathbf H\mathbf z_i`.
    """

    estimate: float
    stderr: float
    samples: np.ndarray


def hutchinson_trace(hvp: HVP, dim: int, samples: int = 100, rng=None,
                     distribution: str = "rademacher") -> TraceEstimate:
    r"""Hutchinson's estimate of :math:`\operatorname{tr}\mathbf H` from ``samples`` Hessian-vector products.

    Parameters
    ----------
    hvp : callable, ndarray (P,) -> ndarray (P,)
    dim : int
    samples : int >= 2
        :math:`m`, the number of probes.
    rng : numpy.random.Generator or int or None
    distribution : {"rademacher", "gaussian"}
        Entries of the probes: :math:`\pm1` with probability 1/2 each, or :math:`\mathcal N(0, 1)`.

    Returns
    -------
    TraceEstimate

    Notes
    -----
    For any probe with :math:`\mathbb E[\mathbf z\mathbf z^\top] = \mathbf I`,
    :math:`\mathbb E[\mathbf z^\top\mathbf H\mathbf z] = \operatorname{tr}(\mathbf H\,\mathbb E[\mathbf z\mathbf z^\top]) = \operatorname{tr}\mathbf H`
    (Hutchinson 1989): both distributions are unbiased. One sample's variance (for symmetric :math:`\mathbf H`,
    :func:`hutchinson_variance`) is :math:`2\sum_{i\ne j}H_{ij}^2` for Rademacher probes and
    :math:`2\lVert\mathbf H\rVert_F^2` for Gaussian ones: Rademacher never does worse, and is exact for a
    diagonal matrix. The mean of :math:`m` independent samples has standard error
    :math:`\sqrt{\operatorname{Var}/m}`, estimated here with the sample variance.
    """
    if samples < 2:
        raise ValueError("hutchinson_trace: at least 2 samples are needed for a standard error")
    if distribution not in ("rademacher", "gaussian"):
        raise ValueError(f"hutchinson_trace: distribution must be 'rademacher' or 'gaussian', not {distribution!r}")
    rng = np.random.default_rng(rng)
    values = np.empty(samples)
    for i in range(samples):
        z = rng.choice([-1.0, 1.0], size=dim) if distribution == "rademacher" else rng.standard_normal(dim)
        values[i] = float(z @ hvp(z))
    return TraceEstimate(float(values.mean()), float(values.std(ddof=1) / np.sqrt(samples)), values)


def hutchinson_variance(H: np.ndarray, distribution: str = "rademacher") -> float:
    r"""The exact variance of one Hutchinson sample :math:`\mathbf z^\top\mathbf H\mathbf z` for a symmetric :math:`\mathbf H`.

    Parameters
    ----------
    H : ndarray, shape (P, P), symmetric
    distribution : {"rademacher", "gaussian"}

    Returns
    -------
    float: :math:`2\sum_{i\ne j}H_{ij}^2` (Rademacher) or :math:`2\lVert\mathbf H\rVert_F^2` (Gaussian).
    """
    H = np.asarray(H, dtype=np.float64)
    frob = float(np.sum(H * H))
    if distribution == "gaussian":
        return 2 * frob
    if distribution == "rademacher":
        return 2 * (frob - float(np.sum(np.diag(H) ** 2)))
    raise ValueError(f"hutchinson_variance: unknown distribution {distribution!r}")


def reparameterized_hessian(H: np.ndarray, scales) -> np.ndarray:
    r"""The Hessian in new coordinates :math:`\boldsymbol\theta' = \mathbf D\boldsymbol\theta`, :math:`\mathbf D = \operatorname{diag}(\text{scales})`.

    Parameters
    ----------
    H : ndarray, shape (P, P)
        :math:`\nabla^2 L` in the old parameters.
    scales : array_like, shape (P,), non-zero
        :math:`D_{ii}`: how much each parameter is multiplied by.

    Returns
    -------
    ndarray, shape (P, P): :math:`\mathbf H' = \mathbf D^{-1}\mathbf H\mathbf D^{-1}`, i.e. :math:`H'_{ij} = H_{ij}/(D_{ii}D_{jj})`.

    Notes
    -----
    The loss in the new parameters is :math:`L'(\boldsymbol\theta') = L(\mathbf D^{-1}\boldsymbol\theta')`; the chain
    rule gives :math:`\nabla L' = \mathbf D^{-1}\nabla L` and :math:`\nabla^2 L' = \mathbf D^{-1}\,\nabla^2L\,\mathbf D^{-1}`.
    For a ReLU network rescaled by :func:`course_lib.landscapes.rescale_layer` (:math:`c` on layer
    :math:`\ell`, :math:`1/c` on layer :math:`\ell+1`) the function is the same, yet the eigenvalues of the
    Hessian, the sharpness among them, can be made as large as we like (Dinh et al. 2017).
    """
    H = np.asarray(H, dtype=np.float64)
    scales = np.asarray(scales, dtype=np.float64)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or scales.shape != (H.shape[0],):
        raise ValueError(f"reparameterized_hessian: expected H (P, P) and scales (P,), got {H.shape} and "
                         f"{scales.shape}")
    if np.any(scales == 0):
        raise ValueError("reparameterized_hessian: a scale of 0 is not a change of coordinates")
    inv = 1.0 / scales
    return H * inv[:, None] * inv[None, :]
