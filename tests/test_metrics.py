"""course_lib.metrics: hand-worked examples, the division-by-zero convention, and scikit-learn as
an oracle on random labels."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import metrics

sk = pytest.importorskip("sklearn.metrics")


@pytest.fixture(autouse=True)
def strict_floats():
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_hand_worked_three_classes():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 0, 2]
    C = metrics.confusion_matrix(y_true, y_pred)
    assert np.array_equal(C, [[1, 1, 0], [1, 2, 0], [0, 0, 1]])
    p, r, f1 = metrics.precision_recall_f1(y_true, y_pred)
    assert np.allclose(p, [1 / 2, 2 / 3, 1.0])  # column sums 2, 3, 1
    assert np.allclose(r, [1 / 2, 2 / 3, 1.0])  # row sums 2, 3, 1
    assert np.allclose(f1, [1 / 2, 2 / 3, 1.0])
    assert metrics.accuracy(y_true, y_pred) == 4 / 6
    assert np.isclose(metrics.precision_recall_f1(y_true, y_pred, average="macro").f1, (1 / 2 + 2 / 3 + 1) / 3)


def test_hand_worked_binary():
    # TP = 3, FP = 1, FN = 2, TN = 4.
    y_true = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    p, r, f1 = metrics.precision_recall_f1(y_true, y_pred, average="binary")
    assert (p, r) == (0.75, 0.6)
    assert np.isclose(f1, 2 * 0.75 * 0.6 / 1.35) and np.isclose(f1, 2 * 3 / (2 * 3 + 1 + 2))
    assert metrics.accuracy(y_true, y_pred) == 0.7
    # The negative class as the positive one: precision 4/6, recall 4/5.
    assert np.allclose(metrics.precision_recall_f1(y_true, y_pred, average="binary", pos_label=0)[:2], [4 / 6, 0.8])


def test_division_by_zero_gives_zero_without_warnings():
    y_true = np.array([0, 1, 1, 0])
    never_positive = np.zeros(4, dtype=int)
    assert tuple(metrics.precision_recall_f1(y_true, never_positive, average="binary")) == (0.0, 0.0, 0.0)
    # A class that never occurs: recall 0 by convention; precision 0 as it is predicted wrongly.
    p, r, f1 = metrics.precision_recall_f1([0, 0, 1], [0, 2, 1], num_classes=3)
    assert (p[2], r[2], f1[2]) == (0.0, 0.0, 0.0)
    # All-negative labels and predictions still have a positive class (with no support).
    assert tuple(metrics.precision_recall_f1([0, 0], [0, 0], average="binary")) == (0.0, 0.0, 0.0)


def test_num_classes_keeps_absent_classes():
    C = metrics.confusion_matrix([0, 1], [1, 1], num_classes=4)
    assert C.shape == (4, 4) and C.sum() == 2 and C[0, 1] == 1 and C[1, 1] == 1


def test_bad_inputs():
    with pytest.raises(ValueError):
        metrics.confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError):
        metrics.precision_recall_f1([0, 1], [0, 1], average="weighted")


labels = st.integers(1, 6).flatmap(
    lambda k: st.tuples(st.just(k), st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)),
                                             min_size=1, max_size=60)))


@settings(deadline=None, max_examples=150)
@given(labels)
def test_against_scikit_learn(case):
    k, pairs = case
    y_true, y_pred = (np.array(v) for v in zip(*pairs))
    ks = list(range(k))
    C = metrics.confusion_matrix(y_true, y_pred, k)
    with warnings.catch_warnings():  # scikit-learn warns about one-class inputs even when given labels
        warnings.simplefilter("ignore", UserWarning)
        expected = sk.confusion_matrix(y_true, y_pred, labels=ks)
    assert np.array_equal(C, expected)
    assert C.sum() == len(y_true) and np.trace(C) / len(y_true) == metrics.accuracy(y_true, y_pred)
    assert np.isclose(metrics.accuracy(y_true, y_pred), sk.accuracy_score(y_true, y_pred))
    ours = metrics.precision_recall_f1(y_true, y_pred, k)
    theirs = sk.precision_recall_fscore_support(y_true, y_pred, labels=ks, zero_division=0)[:3]
    for a, b in zip(ours, theirs):
        assert np.allclose(a, b)
    macro = metrics.precision_recall_f1(y_true, y_pred, k, average="macro")
    assert np.allclose(macro, sk.precision_recall_fscore_support(y_true, y_pred, labels=ks, average="macro",
                                                                 zero_division=0)[:3])
    # F1 lies between precision and recall, at most their arithmetic mean.
    p, r, f1 = ours
    assert np.all(f1 <= (p + r) / 2 + 1e-12) and np.all(f1 >= np.minimum(p, r) - 1e-12)


@settings(deadline=None, max_examples=100)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=60))
def test_binary_against_scikit_learn(pairs):
    y_true, y_pred = (np.array(v) for v in zip(*pairs))
    ours = metrics.precision_recall_f1(y_true, y_pred, average="binary")
    theirs = sk.precision_recall_fscore_support(y_true, y_pred, average="binary", labels=[0, 1],
                                                zero_division=0)[:3]
    assert np.allclose(ours, theirs)
