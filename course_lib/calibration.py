r"""Chapter 03: does a classifier's confidence mean what it says? Reliability diagrams, the
expected calibration error (ECE), and temperature scaling.

A classifier's predicted distribution :math:`\hat{\mathbf{p}}_n` (row :math:`n` of ``probs``,
shape ``(N, K)``) gives a prediction :math:`\hat y_n = \arg\max_k \hat p_{nk}` and a
**confidence** :math:`\hat c_n = \max_k \hat p_{nk}`. The model is **calibrated** when its
confidence is the probability of being right:

.. math::  P(\hat y = y \mid \hat c = c) = c\qquad\text{for every } c.

Among the examples predicted with confidence 0.8, four in five should be right.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from course_lib.probability import categorical_nll, softmax


def confidence_and_correct(probs, y) -> tuple[np.ndarray, np.ndarray]:
    r"""Confidence :math:`\hat c_n = \max_k \hat p_{nk}` and correctness :math:`[\hat y_n = y_n]`, each shape (N,).

    Parameters
    ----------
    probs : array_like, shape (N, K)
        Predicted distributions, one per row.
    y : array_like of int, shape (N,)
        True labels in ``0..K-1``.
    """
    P = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y).astype(np.intp).reshape(-1)
    if P.ndim != 2 or P.shape[0] != y.size or y.size == 0:
        raise ValueError(f"probs must have shape (N, K) with one row per label; got {P.shape} and {y.size} labels")
    return P.max(axis=1), P.argmax(axis=1) == y


class ReliabilityBins(NamedTuple):
    """Equal-width confidence bins: ``edges`` (M+1,), and per bin ``counts`` (M,), the mean
    ``accuracy`` and mean ``confidence`` (M,) of its examples (``nan`` for an empty bin)."""

    edges: np.ndarray
    counts: np.ndarray
    accuracy: np.ndarray
    confidence: np.ndarray


def bin_index(confidence, n_bins: int) -> np.ndarray:
    r"""The bin of each confidence: :math:`m` (0-based) for :math:`\hat c \in (m/M, (m+1)/M]`, and 0 for :math:`\hat c = 0`.

    Notes
    -----
    Right-closed bins, as Guo et al. (2017): a confidence of exactly 1 is in the last bin.
    The edges are ``np.linspace(0, 1, M + 1)`` and the search is done against those floats,
    so a confidence equal to an edge lands in the same bin whatever the rounding of
    :math:`\hat c M` (``ceil(0.3 * 10)`` is 4, not 3).
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}")
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    return np.clip(np.searchsorted(edges, np.asarray(confidence, dtype=np.float64), side="left") - 1,
                   0, int(n_bins) - 1)


def reliability_bins(confidence, correct, n_bins: int = 15) -> ReliabilityBins:
    r"""The numbers behind a reliability diagram.

    Parameters
    ----------
    confidence : array_like in [0, 1], shape (N,)
    correct : array_like of 0/1 or bool, shape (N,)
    n_bins : int
        :math:`M` equal-width bins on [0, 1].

    Returns
    -------
    ReliabilityBins

    Notes
    -----
    With :math:`B_m` the examples whose confidence falls in bin :math:`m` (:func:`bin_index`),

    .. math::  \operatorname{acc}(B_m) = \frac{1}{|B_m|}\sum_{n\in B_m}[\hat y_n = y_n],\qquad
               \operatorname{conf}(B_m) = \frac{1}{|B_m|}\sum_{n\in B_m}\hat c_n .

    A reliability diagram plots :math:`\operatorname{acc}(B_m)` against
    :math:`\operatorname{conf}(B_m)`: a calibrated model lies on the diagonal, an
    overconfident one below it.
    """
    c = np.asarray(confidence, dtype=np.float64).reshape(-1)
    ok = np.asarray(correct, dtype=np.float64).reshape(-1)
    if c.shape != ok.shape or c.size == 0:
        raise ValueError(f"confidence and correct must be paired and non-empty, got {c.size} and {ok.size}")
    if np.any((c < 0) | (c > 1)) or not np.all(np.isfinite(c)):
        raise ValueError("confidences are probabilities, in [0, 1]")
    m = bin_index(c, n_bins)
    counts = np.bincount(m, minlength=int(n_bins))
    with np.errstate(invalid="ignore", divide="ignore"):  # an empty bin: 0 / 0 = nan, documented
        accuracy = np.bincount(m, weights=ok, minlength=int(n_bins)) / counts
        conf = np.bincount(m, weights=c, minlength=int(n_bins)) / counts
    return ReliabilityBins(np.linspace(0.0, 1.0, int(n_bins) + 1), counts, accuracy, conf)


def calibration_error(confidence, correct, n_bins: int = 15) -> float:
    r"""The ECE of paired confidences and correctness (see :func:`expected_calibration_error`)."""
    bins = reliability_bins(confidence, correct, n_bins)
    full = bins.counts > 0  # an empty bin has weight 0: it is left out, not nan
    return float(np.sum(bins.counts[full] * np.abs(bins.accuracy[full] - bins.confidence[full])) / bins.counts.sum())


def expected_calibration_error(probs, y, n_bins: int = 15) -> float:
    r"""Expected calibration error of predicted distributions, with :math:`M` equal-width bins.

    Parameters
    ----------
    probs : array_like, shape (N, K)
    y : array_like of int, shape (N,)
    n_bins : int
        :math:`M`.

    Returns
    -------
    float in [0, 1]

    Notes
    -----
    .. math::  \mathrm{ECE}_M = \sum_{m=1}^{M}\frac{|B_m|}{N}\,\big|\operatorname{acc}(B_m) - \operatorname{conf}(B_m)\big|

    (Naeini et al., 2015; Guo et al., 2017), bins by *confidence* (:func:`reliability_bins`),
    weighted by the share of examples in each: the average gap between confidence and
    accuracy that a random test example sees. It is an estimate, and it depends on the
    binning: few wide bins let over- and underconfident examples in the same bin cancel
    (biased low), many narrow bins hold few examples each, whose noise never cancels inside
    the absolute value (biased high; a perfectly calibrated model scores about
    :math:`\sqrt{M/N}` times a constant). Report :math:`M` with the number.
    """
    conf, correct = confidence_and_correct(probs, y)
    return calibration_error(conf, correct, n_bins)


def fit_temperature(logits, y, bounds: tuple[float, float] = (0.05, 20.0), tol: float = 1e-10) -> float:
    r"""The temperature :math:`\tau` that minimizes the mean negative log-likelihood of ``softmax(logits / tau)``.

    Parameters
    ----------
    logits : array_like, shape (N, K)
        Held-out (validation) logits: fitted on the training set they would ask for more confidence.
    y : array_like of int, shape (N,)
    bounds : (float, float)
        The search interval for :math:`\tau`; a minimum outside it returns the nearer end.
    tol : float
        Bisection stops when the bracket on :math:`\beta = 1/\tau` is this narrow.

    Returns
    -------
    float

    Notes
    -----
    With :math:`\beta = 1/\tau` the loss is
    :math:`f(\beta) = \frac1N\sum_n \big(\operatorname{LSE}(\beta\mathbf{z}_n) - \beta z_{n,y_n}\big)`,
    convex in :math:`\beta` (log-sum-exp is convex, and composed with a linear map it stays
    so), with derivative

    .. math::  f'(\beta) = \frac1N\sum_n \Big(\sum_k \operatorname{softmax}(\beta\mathbf{z}_n)_k\,z_{nk} - z_{n,y_n}\Big),

    non-decreasing. The minimum is where it changes sign: found by bisection. Dividing every
    logit by the same :math:`\tau > 0` keeps their order, so **temperature scaling changes
    the confidence but never the prediction, hence never the accuracy** (Guo et al., 2017).
    """
    Z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y).astype(np.intp).reshape(-1)
    if Z.ndim != 2 or Z.shape[0] != y.size:
        raise ValueError(f"logits must have shape (N, K) with one row per label; got {Z.shape} and {y.size}")
    lo_t, hi_t = bounds
    if not 0 < lo_t < hi_t:
        raise ValueError(f"bounds must satisfy 0 < low < high, got {bounds}")
    true_logit = Z[np.arange(y.size), y]

    def slope(beta: float) -> float:
        return float(np.mean(np.sum(softmax(beta * Z) * Z, axis=1) - true_logit))

    lo, hi = 1.0 / hi_t, 1.0 / lo_t  # a bracket on beta
    if slope(lo) >= 0:
        return float(hi_t)
    if slope(hi) <= 0:
        return float(lo_t)
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        if slope(mid) > 0:
            hi = mid
        else:
            lo = mid
    return float(2.0 / (lo + hi))


def temperature_nll(logits, y, temperature: float) -> float:
    r"""Mean negative log-likelihood of labels under :math:`\operatorname{softmax}(\mathbf{z}/\tau)` (the cross-entropy loss)."""
    return categorical_nll(np.asarray(logits, dtype=np.float64) / temperature, y)
