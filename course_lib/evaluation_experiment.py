r"""Chapter 03's evaluation experiment: logistic regressions on scikit-learn's bundled digits,
all scored on one held-out test set, for the chapter's sections on significance and
calibration and for its widgets (so the text and the sliders show the same models).

The 1797 digits (8 x 8 pixels, values 0..16 scaled to [0, 1]) are shuffled once with a fixed
seed and split into a training set, a validation set (for choosing a temperature) and a
test set (for every reported number). Each model is a softmax regression
(``sklearn.linear_model.LogisticRegression``, L2 penalty :math:`\lVert\mathbf{W}\rVert_F^2/(2C)`)
on either the 64 pixels or 16 pooled ones (the mean of each 2 x 2 block). The fits take about
a second together; :func:`digits_evaluation` caches them for the process.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

N_TRAIN, N_VAL = 600, 300  # the remaining 897 digits are the test set
MODELS = {  # name -> (features, C)
    "64 pixels, C = 1": ("pixels", 1.0),
    "64 pixels, C = 100": ("pixels", 100.0),
    "64 pixels, C = 10⁴": ("pixels", 1e4),
    "16 pooled pixels, C = 100": ("pooled", 100.0),
}


def pool_2x2(pixels) -> np.ndarray:
    """Mean of each 2 x 2 block of 8 x 8 images: ``(N, 64)`` to ``(N, 16)``."""
    X = np.asarray(pixels, dtype=np.float64)
    return X.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(len(X), 16)


class DigitsEvaluation(NamedTuple):
    """Labels and logits of every model in :data:`MODELS` (read-only arrays).

    ``y_val`` (300,), ``y_test`` (897,); ``val_logits[name]`` (300, 10) and
    ``test_logits[name]`` (897, 10), one row per digit.
    """

    y_val: np.ndarray
    y_test: np.ndarray
    val_logits: dict
    test_logits: dict

    def correct(self, name: str) -> np.ndarray:
        """Per-example correctness of model ``name`` on the test set, 0/1 of shape (897,)."""
        return (self.test_logits[name].argmax(axis=1) == self.y_test).astype(int)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)  # shared by every caller of the cache
    return a


@functools.lru_cache(maxsize=2)
def digits_evaluation(seed: int = 0) -> DigitsEvaluation:
    """Fit every model of :data:`MODELS` on the training digits; logits on validation and test (cached)."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    pixels, labels = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(labels))
    X, y = pixels[order] / 16.0, labels[order]
    split = {"train": slice(0, N_TRAIN), "val": slice(N_TRAIN, N_TRAIN + N_VAL), "test": slice(N_TRAIN + N_VAL, None)}
    features = {"pixels": X, "pooled": pool_2x2(X)}
    val_logits, test_logits = {}, {}
    for name, (kind, C) in MODELS.items():
        F = features[kind]
        model = LogisticRegression(C=C, max_iter=1000).fit(F[split["train"]], y[split["train"]])
        val_logits[name] = _frozen(model.decision_function(F[split["val"]]))
        test_logits[name] = _frozen(model.decision_function(F[split["test"]]))
    return DigitsEvaluation(_frozen(y[split["val"]]), _frozen(y[split["test"]]), val_logits, test_logits)
