r"""Two discrete random variables through their joint table: marginals, conditionals,
independence and the mutual information (the KL divergence from independence).

A joint distribution of :math:`A \in \{1..m\}` and :math:`B \in \{1..n\}` is a table
:math:`\mathbf{J} \in \mathbb{R}^{m \times n}` with :math:`J_{ij} = p(A = i, B = j) \ge 0`
summing to 1; in code an array of shape ``(m, n)``, rows indexed by :math:`A`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from course_lib.probability._numerics import _log, _weighted


def _joint(joint) -> np.ndarray:
    J = np.asarray(joint, dtype=np.float64)
    if J.ndim != 2:
        raise ValueError(f"a joint table of two variables has shape (m, n), got shape {J.shape}")
    if np.any(J < 0) or not np.all(np.isfinite(J)):
        raise ValueError("a joint table holds probabilities: finite and non-negative")
    if not np.isclose(J.sum(), 1.0, rtol=0, atol=1e-9 * max(1, J.size)):
        raise ValueError(f"a joint table sums to 1, this one to {J.sum():.6g} (use joint_table on counts)")
    return J


def joint_table(a, b, num_a: int | None = None, num_b: int | None = None) -> np.ndarray:
    r"""The empirical joint distribution of paired integer observations.

    Parameters
    ----------
    a, b : array_like of int, shape (N,)
        Paired values :math:`a_n \in \{0..m-1\}`, :math:`b_n \in \{0..n-1\}`.
    num_a, num_b : int, optional
        :math:`m` and :math:`n`; by default one more than the largest value seen.

    Returns
    -------
    ndarray, shape (m, n)
        :math:`J_{ij} = \#\{n : a_n = i,\ b_n = j\} / N`.
    """
    a = np.asarray(a).astype(np.intp).reshape(-1)
    b = np.asarray(b).astype(np.intp).reshape(-1)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"a and b must be paired and non-empty, got {a.size} and {b.size} values")
    m = num_a if num_a is not None else int(a.max()) + 1
    n = num_b if num_b is not None else int(b.max()) + 1
    return np.bincount(a * n + b, minlength=m * n).reshape(m, n) / a.size


class Marginals(NamedTuple):
    """:math:`p(A)`, shape (m,), and :math:`p(B)`, shape (n,)."""

    a: np.ndarray
    b: np.ndarray


def marginals(joint) -> Marginals:
    r"""Both marginals of a joint table (the sum rule).

    Notes
    -----
    .. math::  p(A = i) = \sum_j p(A = i, B = j),\qquad p(B = j) = \sum_i p(A = i, B = j).
    """
    J = _joint(joint)
    return Marginals(J.sum(axis=1), J.sum(axis=0))


def conditional(joint, given: str = "a") -> np.ndarray:
    r"""A conditional distribution from a joint table.

    Parameters
    ----------
    joint : array_like, shape (m, n)
    given : {"a", "b"}
        The variable conditioned on.

    Returns
    -------
    ndarray, shape (m, n)
        ``given="a"``: entry :math:`(i, j)` is :math:`p(B = j \mid A = i)`, each row summing to 1.
        ``given="b"``: entry :math:`(i, j)` is :math:`p(A = i \mid B = j)`, each column summing to 1.
        A row (column) whose conditioning event has probability 0 is ``nan``: conditioning on
        an impossible event is undefined.

    Notes
    -----
    .. math::  p(B = j \mid A = i) = \frac{p(A = i, B = j)}{p(A = i)}\qquad (p(A = i) > 0),

    so that :math:`p(A, B) = p(B\mid A)\,p(A) = p(A\mid B)\,p(B)` (the product rule), and
    :math:`p(A\mid B)` and :math:`p(B\mid A)` are different tables: dividing the same joint by
    different marginals.
    """
    J = _joint(joint)
    if given not in ("a", "b"):
        raise ValueError(f"given must be 'a' or 'b', not {given!r}")
    axis = 1 if given == "a" else 0
    total = J.sum(axis=axis, keepdims=True)
    return np.divide(J, total, out=np.full(J.shape, np.nan), where=total > 0)


def independence_gap(joint) -> float:
    r""":math:`\max_{i,j} |p(A=i, B=j) - p(A=i)\,p(B=j)|`: 0 exactly when :math:`A` and :math:`B` are independent.

    Notes
    -----
    :math:`A` and :math:`B` are **independent** when :math:`p(A, B) = p(A)\,p(B)` for every
    pair of values, i.e. the joint table is the outer product of its marginals (a rank-one
    matrix); equivalently :math:`p(B\mid A = i) = p(B)` for every :math:`i` with
    :math:`p(A = i) > 0`: learning :math:`A` says nothing about :math:`B`.
    """
    J = _joint(joint)
    pa, pb = J.sum(axis=1), J.sum(axis=0)
    return float(np.max(np.abs(J - np.outer(pa, pb))))


def mutual_information(joint) -> float:
    r"""Mutual information :math:`I(A; B)` in nats.

    Notes
    -----
    .. math::  I(A; B) = D_{\mathrm{KL}}\big(p(A, B)\,\big\|\,p(A)\,p(B)\big)
               = \sum_{i,j} p(i, j)\log\frac{p(i, j)}{p(i)\,p(j)} \;\ge 0,

    the KL divergence (:func:`~course_lib.probability.information.kl_divergence`) of the joint
    from the product of its marginals: 0 exactly when
    :math:`A` and :math:`B` are independent (Gibbs' inequality), and otherwise the average
    number of nats one variable tells about the other. Cells with :math:`p(i, j) = 0`
    contribute 0. The log-ratio is computed as :math:`\log p(i,j) - \log p(i) - \log p(j)`:
    the product :math:`p(i)\,p(j)` of two probabilities near 1e-300 underflows to 0, while
    the joint, never larger than either, is still there.
    """
    J = _joint(joint)
    where = J > 0
    i, j = np.nonzero(where)
    log_ratio = _log(J[where]) - _log(J.sum(axis=1)[i]) - _log(J.sum(axis=0)[j])
    return float(max(np.sum(_weighted(J[where], log_ratio)), 0.0))  # >= 0; rounding may leave -1e-17
