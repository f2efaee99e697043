r"""Chapter 03: how good is a classifier? Confusion matrix, accuracy, precision, recall, F1.

Labels are integers ``0..K-1``. Everything is computed from the confusion matrix
:math:`\mathbf{C}`, whose rows are the TRUE classes and columns the PREDICTED classes
(the convention of scikit-learn), so for class :math:`k`:

- true positives :math:`TP_k = C_{kk}`,
- false positives :math:`FP_k = \sum_i C_{ik} - C_{kk}` (predicted :math:`k`, were not),
- false negatives :math:`FN_k = \sum_j C_{kj} - C_{kk}` (were :math:`k`, predicted otherwise).

Division by zero, a documented choice (the same as scikit-learn's ``zero_division=0``):
a ratio whose denominator is 0 is defined as **0**. The precision of a class that is never
predicted is 0, the recall of a class that never occurs is 0, and F1 is 0 when precision and
recall are both 0. No warning is raised. A classifier that never predicts a class gets no
credit for that class's precision, which is the cautious reading for a model evaluation.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class PRF(NamedTuple):
    """Precision, recall and F1: arrays of shape (K,) per class, or floats once averaged."""

    precision: np.ndarray | float
    recall: np.ndarray | float
    f1: np.ndarray | float


def _labels(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).astype(np.intp).reshape(-1)
    y_pred = np.asarray(y_pred).astype(np.intp).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}")
    return y_true, y_pred


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    r"""Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        Labels in ``0..K-1``.
    num_classes : int, optional
        :math:`K`; by default one more than the largest label seen.

    Returns
    -------
    ndarray of int, shape (K, K)
        :math:`C_{ij} = \#\{n : y_n = i,\ \hat y_n = j\}`: rows are true classes, columns
        predictions; the diagonal counts the correct predictions and the total is :math:`N`.
    """
    y_true, y_pred = _labels(y_true, y_pred)
    k = num_classes if num_classes is not None else int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    # Each (i, j) pair becomes one flat index i*K + j; bincount counts them all at once.
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def accuracy(y_true, y_pred) -> float:
    r"""Fraction of correct predictions, :math:`\frac1N\sum_n [\hat y_n = y_n] = \operatorname{tr}\mathbf{C} / N`."""
    y_true, y_pred = _labels(y_true, y_pred)
    return float(np.mean(y_true == y_pred)) if y_true.size else 0.0


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den == 0`` (the module's division-by-zero convention)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def precision_recall_f1(y_true, y_pred, num_classes: int | None = None, average: str | None = None,
                        pos_label: int = 1) -> PRF:
    r"""Precision, recall and F1 score, per class or averaged.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
    num_classes : int, optional
        :math:`K` (see :func:`confusion_matrix`).
    average : {None, "macro", "binary"}
        ``None``: arrays of shape (K,), one entry per class. ``"macro"``: the unweighted mean
        over the K classes (every class counts equally, however rare). ``"binary"``: the
        scores of class ``pos_label`` only, as floats (the usual choice for two classes).
    pos_label : int
        The positive class for ``average="binary"``.

    Returns
    -------
    PRF
        ``(precision, recall, f1)``.

    Notes
    -----
    .. math::  \text{precision}_k = \frac{TP_k}{TP_k + FP_k},\quad
               \text{recall}_k = \frac{TP_k}{TP_k + FN_k},\quad
               F_1 = \frac{2\,\text{precision}\cdot\text{recall}}{\text{precision} + \text{recall}}.

    Precision: of the examples *predicted* :math:`k`, the fraction that are :math:`k`.
    Recall: of the examples that *are* :math:`k`, the fraction found. :math:`F_1` is their
    harmonic mean, which is low when either is low (it equals
    :math:`2TP/(2TP + FP + FN)`). Zero denominators give 0 (module docstring).
    """
    if average == "binary" and num_classes is None:  # all-negative labels still have a class pos_label
        y_true, y_pred = _labels(y_true, y_pred)
        num_classes = int(max(y_true.max(initial=0), y_pred.max(initial=0), pos_label)) + 1
    C = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(C)
    precision = _ratio(tp, C.sum(axis=0))  # column sums: everything predicted as k
    recall = _ratio(tp, C.sum(axis=1))  # row sums: everything that truly is k
    f1 = _ratio(2 * precision * recall, precision + recall)
    if average is None:
        return PRF(precision, recall, f1)
    if average == "macro":
        return PRF(float(precision.mean()), float(recall.mean()), float(f1.mean()))
    if average == "binary":
        return PRF(float(precision[pos_label]), float(recall[pos_label]), float(f1[pos_label]))
    raise ValueError(f"average must be None, 'macro' or 'binary', not {average!r}")
