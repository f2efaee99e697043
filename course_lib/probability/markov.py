r"""Markov chains: the stationary distribution as an eigenvector (chapter 01), the distribution
step by step, and power iteration to the stationary distribution.
"""
from __future__ import annotations

import numpy as np


def stationary_distribution(P) -> np.ndarray:
    r"""Stationary distribution of a Markov chain, from an eigenvector (chapter 01).

    Parameters
    ----------
    P : array_like, shape (n, n)
        Row-stochastic transition matrix, :math:`P_{ij} = p(s_{t+1} = j \mid s_t = i)`;
        each row sums to 1.

    Returns
    -------
    ndarray, shape (n,)
        :math:`\boldsymbol\pi` with :math:`\mathbf{P}^\top\boldsymbol\pi = \boldsymbol\pi`,
        non-negative, summing to 1.

    Notes
    -----
    A distribution (a column vector, the course's convention) moves as
    :math:`\boldsymbol\pi_{t+1} = \mathbf{P}^\top\boldsymbol\pi_t` (law of total probability,
    :math:`p(s_{t+1} = j) = \sum_i P_{ij}\,p(s_t = i)`). A fixed point is an eigenvector of
    :math:`\mathbf{P}^\top` for eigenvalue 1 (a *left* eigenvector of :math:`\mathbf{P}`):
    :math:`\mathbf{P}^\top\boldsymbol\pi = 1\cdot\boldsymbol\pi`. (The right eigenvector of
    :math:`\mathbf{P}` for eigenvalue 1 is :math:`\mathbf{1}`, because rows sum to 1: not it.)
    :math:`\mathbf{P}^\top` is not symmetric, so ``np.linalg.eig`` (not ``eigh``) is used;
    it returns complex arrays and a unit-length eigenvector of either sign, so we take the
    real part and divide by its sum. Unique when the chain is irreducible.
    """
    P = np.asarray(P, dtype=np.float64)
    w, V = np.linalg.eig(P.T)
    v = np.real(V[:, np.argmin(np.abs(w - 1.0))])
    return v / v.sum()


def markov_propagate(pi0, P, steps: int) -> np.ndarray:
    r"""The distribution after 0..steps steps of a chain, shape ``(steps + 1, n)``.

    Notes
    -----
    :math:`\boldsymbol\pi_{t+1} = \mathbf{P}^\top\boldsymbol\pi_t` (in code ``pi @ P``, the same
    numbers as ``P.T @ pi`` for a 1-d ``pi``; row ``t`` of the result is :math:`\boldsymbol\pi_t`,
    one distribution per row): power iteration with :math:`\mathbf{P}^\top`. For an irreducible, aperiodic chain it converges
    to :func:`stationary_distribution` from any start, at the rate :math:`|\lambda_2|^t` of
    the second-largest eigenvalue modulus.
    """
    P = np.asarray(P, dtype=np.float64)
    out = [np.asarray(pi0, dtype=np.float64)]
    for _ in range(steps):
        out.append(out[-1] @ P)
    return np.array(out)


def stationary_power_iteration(P, tol: float = 1e-14, max_iter: int = 100_000) -> tuple[np.ndarray, int]:
    r"""Stationary distribution by running the chain from the uniform distribution until it stops moving.

    Returns
    -------
    pi : ndarray, shape (n,)
    steps : int
        The number of steps :math:`\boldsymbol\pi\leftarrow\mathbf{P}^\top\boldsymbol\pi` taken
        (until the L1 change is below ``tol``).
    """
    P = np.asarray(P, dtype=np.float64)
    pi = np.full(P.shape[0], 1.0 / P.shape[0])
    for step in range(1, max_iter + 1):
        new = pi @ P
        new /= new.sum()  # guards against slow drift of the total by round-off
        if np.abs(new - pi).sum() < tol:
            return new, step
        pi = new
    return pi, max_iter
