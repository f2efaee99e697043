r"""Chapter 09's experiment: a small CNN and an MLP in the course's engine, trained on scikit-learn's digits.

- :func:`digits_images`: the 1797 bundled 8x8 digits (no download) as NCHW float32 images, split into
  1347 training and 450 test images; ``split`` picks one of several random splits.
- :func:`make_cnn`: conv 1→16 (3x3, padding 1), ReLU, max-pool 2, conv 16→32 (3x3, padding 1), ReLU,
  flatten, linear to 10; :func:`make_mlp`: chapter 05's MLP 64-128-10.
- :func:`train`: mini-batch SGD with momentum on the cross-entropy (optionally on randomly shifted
  images), the test accuracy after every epoch.
- :func:`shift_by`, :func:`shifted_accuracy`: test digits moved by one pixel, and the accuracy on them.
- :func:`compare`: both networks, trained with and without shifts, on several splits: the measurement
  behind the chapter's claims.
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
           "trained_cnn", "shift_by", "shift_images", "shifted_accuracy", "background", "compare", "SHIFTS",
           "CNN_SETTINGS", "MLP_SETTINGS"]

N_TRAIN = 1347  # 75% of 1797, as chapter 05's split; the other 450 are the test set
# Each network's recipe: the best of a small grid (epochs x learning rate x shifts or not, the same effort for
# both), scored by the mean test accuracy over five random splits (seeds 100-104) that the chapter does not report.
# CNN (16, 32), 12 epochs: lr 0.05 0.988 without shifts, 0.984 with; lr 0.1 0.990 / 0.970; 24 epochs no better.
# MLP 64-128-10: 30 epochs, lr 0.1: 0.990 without shifts; 15 or 60 epochs, lr 0.02 or 0.05: 0.980-0.988.
CNN_SETTINGS = dict(lr=0.05, batch_size=32, epochs=12, augment=True)  # the chapter's CNN (the widget's)
MLP_SETTINGS = dict(lr=0.1, batch_size=32, epochs=30, augment=False)
SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # one pixel down, up, right, left


@lru_cache(maxsize=8)
def _split(split: int = 0):
    X, y = digits(1797, seed=split, center=False)  # shuffled by the split's seed, pixels in [0, 1]
    X = X.reshape(-1, 1, 8, 8)
    mean, sd = X[:N_TRAIN].mean(), X[:N_TRAIN].std()  # one scalar each, from the training images only
    X = ((X - mean) / sd).astype(np.float32)
    X.setflags(write=False)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:], float(-mean / sd)


def digits_images(split: int = 0):
    """One random split of the digits: ``X_train`` (1347, 1, 8, 8), ``y_train`` (1347,), ``X_test`` (450, 1, 8, 8),
    ``y_test`` (450,); float32, standardized by the training pixels' mean and standard deviation, read-only.
    ``split`` seeds the shuffle (0 is the chapter's split)."""
    return _split(split)[:4]


def background(split: int = 0) -> float:
    """The value of a blank (zero) pixel after standardization: what a shift fills in."""
    return _split(split)[4]


def shift_by(x: np.ndarray, dy: int, dx: int, fill: float | None = None) -> np.ndarray:
    """The images ``x`` (N, C, H, W) moved ``dy`` pixels down and ``dx`` right; the pixels coming in at the
    edges are blank (``fill``, by default the standardized blank of split 0: every split's is within 0.3%)."""
    h, w = x.shape[2:]
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(f"shift_by: a shift of ({dy}, {dx}) moves an image of {h}x{w} out of view")
    out = np.full_like(x, background() if fill is None else fill)
    out[:, :, max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = \
        x[:, :, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    return out


def shift_images(x: np.ndarray, rng: np.random.Generator, max_shift: int = 1) -> np.ndarray:
    """The batch ``x`` (N, C, H, W) moved by one random offset ``(dy, dx)`` in ``-max_shift..max_shift``,
    blank pixels coming in at the edges (data augmentation by translation)."""
    dy, dx = rng.integers(-max_shift, max_shift + 1, 2)
    return shift_by(x, int(dy), int(dx))


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


def shifted_accuracy(model, X: np.ndarray, y: np.ndarray, split: int = 0) -> float:
    """Mean accuracy on ``X`` moved by one pixel in each of the four :data:`SHIFTS` directions."""
    return float(np.mean([accuracy(model, shift_by(X, dy, dx, background(split)), y) for dy, dx in SHIFTS]))


@lru_cache(maxsize=8)
def trained_cnn(split: int = 0):
    """The chapter's CNN trained with :data:`CNN_SETTINGS` on :func:`digits_images` ``(split)`` (cached), seeded
    by the split: ``(model, history)``."""
    X, y, Xt, yt = digits_images(split)
    model = make_cnn(split)
    return model, train(model, X, y, Xt, yt, seed=split, **CNN_SETTINGS)


def compare(splits=range(5)) -> dict:
    r"""The CNN and the MLP, each trained without and with random one-pixel shifts, on each split.

    Parameters
    ----------
    splits : iterable of int
        Seeds of :func:`digits_images`; split :math:`s` also seeds the networks' initialization and batches.

    Returns
    -------
    dict
        ``(model, shifts, test)`` -> ndarray of shape (S,): the test accuracy on each split, for model in
        ``"cnn", "mlp"``, shifts in ``False, True`` (how it was trained: :data:`CNN_SETTINGS` and
        :data:`MLP_SETTINGS`, ``augment`` set accordingly) and test in ``"plain", "shifted"`` (the test
        digits as they are, or moved by one pixel: :func:`shifted_accuracy`); ``"splits"``: the seeds;
        ``"seconds"``: the training time of all runs.
    """
    splits = list(splits)
    out, start = {}, time.perf_counter()
    for s in splits:
        X, y, Xt, yt = digits_images(s)
        for name, make, settings in (("cnn", make_cnn, CNN_SETTINGS), ("mlp", make_mlp, MLP_SETTINGS)):
            for shifts in (False, True):
                if name == "cnn" and shifts == CNN_SETTINGS["augment"]:
                    model = trained_cnn(s)[0]  # the same run as the chapter's (cached)
                else:
                    model = make(s)
                    train(model, X, y, Xt, yt, seed=s, **{**settings, "augment": shifts})
                out.setdefault((name, shifts, "plain"), []).append(accuracy(model, Xt, yt))
                out.setdefault((name, shifts, "shifted"), []).append(shifted_accuracy(model, Xt, yt, s))
    out = {k: np.array(v) for k, v in out.items()}
    out["splits"], out["seconds"] = np.array(splits), time.perf_counter() - start
    return out
