r"""Information in nats: entropy, cross-entropy and KL divergence (with :math:`0\log0 = 0`), the
cross-entropy from logits and the categorical negative log-likelihood (the classifier's loss),
and the split of an ensemble's predictive uncertainty into noise and disagreement.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from course_lib.probability._numerics import _log, _weighted
from course_lib.probability.stable_softmax import log_softmax, logsumexp


def entropy(p, axis: int = -1) -> np.ndarray:
    r"""Shannon entropy in nats, with :math:`0\log0 = 0`.

    Parameters
    ----------
    p : array_like, shape (..., K)
        Probabilities summing to 1 along ``axis``.
    axis : int

    Returns
    -------
    ndarray, shape (...)
        Between 0 (a certain outcome) and :math:`\log K` (uniform).

    Notes
    -----
    .. math::  \mathrm{H}[p] = -\sum_k p_k \log p_k.

    Divide by :math:`\log 2` for bits.
    """
    return 0.0 - np.sum(_weighted(p, _log(p)), axis=axis)  # 0.0 - ... turns -0.0 into 0.0


def cross_entropy(p, q, axis: int = -1) -> np.ndarray:
    r"""Cross-entropy :math:`\mathrm{H}[p, q]` in nats between two distributions given as probabilities.

    Parameters
    ----------
    p : array_like, shape (..., K)
        The true (or target) distribution.
    q : array_like, shape (..., K)
        The model's distribution.
    axis : int

    Returns
    -------
    ndarray, shape (...)
        ``inf`` where ``q`` is 0 on an outcome that ``p`` deems possible.

    Notes
    -----
    .. math::  \mathrm{H}[p, q] = -\sum_k p_k \log q_k = \mathrm{H}[p] + D_{\mathrm{KL}}(p\,\|\,q).

    Terms with :math:`p_k = 0` are 0, even where :math:`q_k = 0`.
    """
    return 0.0 - np.sum(_weighted(p, _log(q)), axis=axis)


def kl_divergence(p, q, axis: int = -1) -> np.ndarray:
    r"""Kullback-Leibler divergence :math:`D_{\mathrm{KL}}(p\,\|\,q)` in nats.

    Parameters
    ----------
    p, q : array_like, shape (..., K)
        Probabilities summing to 1 along ``axis``.
    axis : int

    Returns
    -------
    ndarray, shape (...)
        :math:`\ge 0`, and 0 exactly when ``p == q``; ``inf`` where ``q`` is 0 and ``p`` is not.

    Notes
    -----
    .. math::  D_{\mathrm{KL}}(p\,\|\,q) = \sum_k p_k \log\frac{p_k}{q_k} = \mathrm{H}[p, q] - \mathrm{H}[p].

    Not symmetric: :math:`D_{\mathrm{KL}}(p\|q) \ne D_{\mathrm{KL}}(q\|p)` in general.
    Computed as :math:`p_k(\log p_k - \log q_k)`, which cannot overflow the way
    :math:`p_k/q_k` can.
    """
    p, q = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64))
    log_ratio = np.zeros(p.shape)
    where = p != 0  # only there: elsewhere log p - log q may be -inf - (-inf)
    log_ratio[where] = _log(p[where]) - _log(q[where])
    return np.sum(_weighted(p, log_ratio), axis=axis)


def cross_entropy_with_logits(p, z, axis: int = -1) -> np.ndarray:
    r""":math:`\mathrm{H}[p, \operatorname{softmax}(\mathbf{z})]` from logits, stable for any logit size.

    Parameters
    ----------
    p : array_like, shape (..., K)
        Target distribution (one-hot for a label).
    z : array_like, shape (..., K)
        Logits.
    axis : int

    Returns
    -------
    ndarray, shape (...)

    Notes
    -----
    .. math::  \mathrm{H}[p, \operatorname{softmax}(\mathbf{z})] = -\sum_k p_k\,(z_k - \operatorname{LSE}(\mathbf{z})).

    Its gradient with respect to the logits is :math:`\operatorname{softmax}(\mathbf{z}) - p`
    (for ``p`` summing to 1).
    """
    return -np.sum(_weighted(p, log_softmax(z, axis=axis)), axis=axis)


def one_hot(y, num_classes: int) -> np.ndarray:
    """Labels ``(N,)`` in ``0..K-1`` to one-hot rows ``(N, K)`` (float64)."""
    return np.eye(num_classes)[np.asarray(y, dtype=np.intp)]


def categorical_nll(z, y) -> float:
    r"""Mean negative log-likelihood of integer labels under softmax(logits): the cross-entropy loss.

    Parameters
    ----------
    z : array_like, shape (N, K)
        Logits, one row per example (as ``torch.nn.functional.cross_entropy(input, target)``).
    y : array_like of int, shape (N,)
        Labels in ``0..K-1``.

    Returns
    -------
    float

    Notes
    -----
    .. math::  L = -\frac1N\sum_{n} \log\operatorname{softmax}(\mathbf{z}_n)_{y_n}
               = \frac1N\sum_n \big(\operatorname{LSE}(\mathbf{z}_n) - z_{n, y_n}\big),

    the average of :math:`\mathrm{H}[\text{one-hot}(y_n), \operatorname{softmax}(\mathbf{z}_n)]`;
    minimizing it is maximum likelihood for a categorical model.
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.intp)
    return float(np.mean(logsumexp(z, axis=-1) - z[np.arange(len(y)), y]))


class Uncertainty(NamedTuple):
    """The three entropies of :func:`predictive_uncertainty`, each of shape (...)."""

    total: np.ndarray
    aleatoric: np.ndarray
    epistemic: np.ndarray


def predictive_uncertainty(member_probs) -> Uncertainty:
    r"""Split an ensemble's predictive uncertainty into noise and disagreement.

    Parameters
    ----------
    member_probs : array_like, shape (M, ..., K)
        The class probabilities predicted by each of M models (an ensemble, MC dropout samples).

    Returns
    -------
    Uncertainty
        ``total``: entropy of the averaged prediction :math:`\mathrm{H}[\bar p]`; ``aleatoric``: average
        entropy of the members :math:`\frac1M\sum_m \mathrm{H}[p_m]`; ``epistemic``: their difference,
        the mutual information between the prediction and the choice of model.

    Notes
    -----
    .. math::  \underbrace{\mathrm{H}\Big[\frac1M\sum_m p_m\Big]}_{\text{total}} =
               \underbrace{\frac1M\sum_m \mathrm{H}[p_m]}_{\text{aleatoric}} + \underbrace{I}_{\text{epistemic}\;\ge 0}.

    :math:`I \ge 0` because entropy is concave (Jensen). Members that agree give :math:`I = 0`
    however uncertain each is; members that are each confident but disagree give a large :math:`I`.
    """
    member_probs = np.asarray(member_probs, dtype=np.float64)
    total = entropy(member_probs.mean(axis=0))
    aleatoric = entropy(member_probs).mean(axis=0)
    return Uncertainty(total, aleatoric, total - aleatoric)
