r"""Chapter 09's experiment: a small CNN and an MLP in the course's engine, trained on scikit-learn's digits.

- :func:`digits_images`: the 1797 bundled 8x8 digits (no download) as NCHW float32 images, split once
  into 1347 training and 450 test images.
- :func:`make_cnn`: conv 1→16 (3x3, padding 1), ReLU, max-pool 2, conv 16→32 (3x3, padding 1), ReLU,
  flatten, linear to 10; :func:`make_mlp`: chapter 05's MLP 64-128-10.
- :func:`train`: mini-batch SGD with momentum on the cross-entropy (optionally on randomly shifted
  images), the test accuracy after every epoch.
- :func:`trained_cnn`: the chapter's trained CNN, cached per process, so that the notebook and the
  feature-map widget share one training run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from course_lib.autograd import Tensor, nn, no_grad
from course_lib.autograd import functional as F
from course_lib.landscape_experiment import digits
from course_lib.net_objective import one_thread

__all__ = ["N_TRAIN", "digits_images", "make_cnn", "make_mlp", "History", "train", "accuracy", "feature_maps",
           "trained_cnn", "shift_images", "background", "CNN_SETTINGS", "MLP_SETTINGS"]

N_TRAIN = 1347  # 75% of 1797, as chapter 05's split; the other 450 are the test set
CNN_SETTINGS = dict(lr=0.05, batch_size=32, epochs=12, augment=True)
MLP_SETTINGS = dict(lr=0.05, batch_size=32, epochs=15, augment=False)  # the MLP's better recipe: see the chapter


@lru_cache(maxsize=1)
def _split():
    X, y = digits(1797, seed=0, center=False)  # shuffled once, pixels in [0, 1]
    X = X.reshape(-1, 1, 8, 8)
    mean, sd = X[:N_TRAIN].mean(), X[:N_TRAIN].std()  # one scalar each, from the training images only
    X = ((X - mean) / sd).astype(np.float32)
    X.setflags(write=False)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:], float(-mean / sd)


def digits_images():
    """The chapter's split: ``X_train`` (1347, 1, 8, 8), ``y_train`` (1347,), ``X_test`` (450, 1, 8, 8),
    ``y_test`` (450,); float32, standardized by the training pixels' mean and standard deviation, read-only."""
    return _split()[:4]


def background() -> float:
    """The value of a blank (zero) pixel after standardization: what a shift fills in."""
    return _split()[4]


def shift_images(x: np.ndarray, rng: np.random.Generator, max_shift: int = 1) -> np.ndarray:
    """The batch ``x`` (N, C, H, W) moved by one random offset ``(dy, dx)`` in ``-max_shift..max_shift``,
    blank pixels coming in at the edges (data augmentation by translation)."""
    dy, dx = rng.integers(-max_shift, max_shift + 1, 2)
    h, w = x.shape[2:]
    out = np.full_like(x, background())
    out[:, :, max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = \
        x[:, :, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    return out


def make_cnn(seed: int = 0, channels=(16, 32)) -> nn.Sequential:
    """The digits CNN in the engine, float32, PyTorch's default initialization drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    c1, c2 = channels
    return nn.Sequential(nn.Conv2d(1, c1, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c1, c2, 3, padding=1, rng=rng), nn.ReLU(), nn.Flatten(),
                         nn.Linear(c2 * 4 * 4, 10, rng=rng))


def make_mlp(seed: int = 0) -> nn.Sequential:
    """Chapter 05's MLP 64-128-10 (ReLU) behind a flatten, so that it takes the same images."""
    return nn.Sequential(nn.Flatten(), nn.MLP([64, 128, 10], "relu", rng=seed))


@dataclass
class History:
    """Per epoch: the mean training loss and the test accuracy; and the training time in seconds."""

    loss: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    seconds: float = 0.0


def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    """Share of ``X`` classified as ``y`` (argmax of the logits)."""
    with no_grad():
        return float(np.mean(model(Tensor(X)).data.argmax(axis=1) == y))


def train(model, X, y, X_test, y_test, *, lr: float, batch_size: int, epochs: int, augment: bool = False,
          momentum: float = 0.9, seed: int = 0) -> History:
    r"""Mini-batch SGD with heavy-ball momentum (chapter 06) on the mean cross-entropy; test accuracy per epoch.

    .. math::  \mathbf u \leftarrow \beta\mathbf u + \nabla L_B,\qquad
               \boldsymbol\theta \leftarrow \boldsymbol\theta - \eta_e\mathbf u,\qquad
               \eta_e = \eta\,(1 - e/E)

    as ``torch.optim.SGD(momentum=beta)``, with the learning rate decayed linearly over the epochs
    :math:`e = 0..E-1` (a constant rate left the final accuracy jumping by a percent from epoch to epoch).
    The batches are reshuffled every epoch from ``seed``; with ``augment`` each batch is shifted by a
    random pixel offset (:func:`shift_images`).

    BLAS runs on one thread: the matrices of a batch of 32 are small, and on a busy 2-core machine a
    second BLAS thread waiting for a core made a step ten times slower.
    """
    params, order, hist = model.parameters(), np.random.default_rng(seed), History()
    velocity = [np.zeros_like(p.data) for p in params]
    start = time.perf_counter()
    with one_thread():
        for epoch in range(epochs):
            eta, perm, total = lr * (1 - epoch / epochs), order.permutation(len(X)), 0.0
            for i in range(0, len(perm), batch_size):
                idx = perm[i:i + batch_size]
                xb = shift_images(X[idx], order) if augment else X[idx]
                loss = F.cross_entropy(model(Tensor(xb)), y[idx])
                model.zero_grad()
                loss.backward()
                for p, u in zip(params, velocity):
                    u *= momentum
                    u += p.grad
                    p.data -= eta * u
                total += loss.item() * len(idx)
            hist.loss.append(total / len(X))
            hist.test_accuracy.append(accuracy(model, X_test, y_test))
    hist.seconds = time.perf_counter() - start
    return hist


def feature_maps(model, x: np.ndarray) -> list[np.ndarray]:
    """The output of every layer of ``model`` (a Sequential) on the images ``x`` (N, 1, 8, 8), first to last."""
    outs, h = [], Tensor(np.asarray(x, dtype=np.float32))
    with no_grad():
        for layer in model:
            h = layer(h)
            outs.append(h.data)
    return outs


@lru_cache(maxsize=2)
def trained_cnn(seed: int = 0):
    """The chapter's CNN trained with :data:`CNN_SETTINGS` on :func:`digits_images` (cached): ``(model, history)``."""
    X, y, Xt, yt = digits_images()
    model = make_cnn(seed)
    return model, train(model, X, y, Xt, yt, seed=seed, **CNN_SETTINGS)
