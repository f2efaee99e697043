r"""Chapter 14's digits classifiers in PyTorch: logistic regression, the MLP and chapter 09's CNN, all taking
raw pixels in :math:`[0, 1]` so that an attack's budget :math:`\epsilon_{\text{adv}}` and the clamp to the valid pixel range
are in the units a person sees.

- :func:`digits01`: scikit-learn's 1797 bundled 8x8 digits (no download), pixels in [0, 1], float32, NCHW,
  the same 1347/450 split as :func:`course_lib.cnn_experiment.digits_images`.
- :class:`Standardize`: the standardization as the network's first layer (one scalar mean and standard deviation
  from the training pixels), so that the gradient an attack follows is taken with respect to the raw pixels.
- :func:`make_classifier`: ``"logistic"`` (64 -> 10), ``"mlp"`` (64-128-10, ReLU, chapter 05's), ``"cnn"``
  (:class:`course_lib.models.cnn.DigitsCNN`).
- :func:`trained`: a classifier trained by its recipe (:data:`SETTINGS`), cached per process, so that the
  notebook and the widgets share one run.
- :func:`train_classifier`: mini-batch SGD with momentum on the cross-entropy; optionally on adversarial
  examples made on the fly (adversarial training) or on augmented batches.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from course_lib.cnn_experiment import N_TRAIN
from course_lib.landscape_experiment import digits
from course_lib.models.cnn import DigitsCNN

__all__ = ["digits01", "Standardize", "make_classifier", "TrainConfig", "SETTINGS", "train_classifier",
           "accuracy", "KINDS", "trained"]

KINDS = ("logistic", "mlp", "cnn")


@lru_cache(maxsize=4)
def _split(split: int):
    X, y = digits(1797, seed=split, center=False)  # the shuffle of cnn_experiment's split `split`
    X = X.reshape(-1, 1, 8, 8).astype(np.float32)
    X.setflags(write=False)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def digits01(split: int = 0):
    """``X_train`` (1347, 1, 8, 8), ``y_train`` (1347,), ``X_test`` (450, 1, 8, 8), ``y_test`` (450,): float32
    pixels in [0, 1] (17 grey levels, 0 blank), read-only; ``split`` seeds the shuffle (0 is the chapter's)."""
    return _split(int(split))


class Standardize(torch.nn.Module):
    r"""``(x - mean) / sd`` with two scalars stored as buffers: :math:`\partial/\partial x` is ``1/sd``."""

    def __init__(self, mean: float, sd: float):
        super().__init__()
        if not sd > 0:
            raise ValueError(f"Standardize: the standard deviation must be positive, got {sd}")
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("sd", torch.tensor(float(sd)))

    def forward(self, x):
        return (x - self.mean) / self.sd


def make_classifier(kind: str, seed: int = 0, channels=(16, 32), split: int = 0) -> torch.nn.Sequential:
    """A fresh classifier of ``kind`` (one of :data:`KINDS`) on raw [0, 1] pixels (N, 1, 8, 8) -> logits (N, 10),
    PyTorch's default initialization drawn from ``seed``; standardized by split ``split``'s training pixels."""
    if kind not in KINDS:
        raise ValueError(f"make_classifier: kind must be one of {KINDS}, got {kind!r}")
    X = digits01(split)[0]
    torch.manual_seed(seed)
    head = {"logistic": lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)),
            "mlp": lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                               torch.nn.Linear(128, 10)),
            "cnn": lambda: DigitsCNN(channels)}[kind]()
    return torch.nn.Sequential(Standardize(X.mean(), X.std()), head)


@dataclass(frozen=True)
class TrainConfig:
    """Epochs, batch size, learning rate (decayed linearly to 0), momentum and weight decay of SGD."""

    epochs: int = 12
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0


# Chapter 09's recipes (cnn_experiment.CNN_SETTINGS / MLP_SETTINGS) carried over; logistic regression converges
# in 30 epochs at lr 0.1 (test accuracy 0.96-0.97 on the five splits).
SETTINGS = {"logistic": TrainConfig(epochs=30, lr=0.1), "mlp": TrainConfig(epochs=30, lr=0.1),
            "cnn": TrainConfig(epochs=12, lr=0.05)}


def accuracy(model, X, y, batch: int = 512) -> float:
    """The fraction of ``X`` (N, 1, 8, 8) that ``model`` labels ``y``."""
    model.eval()
    with torch.no_grad():
        X = torch.tensor(np.asarray(X))  # a copy: the data arrays are read-only
        pred = torch.cat([model(X[i:i + batch]).argmax(1) for i in range(0, len(X), batch)])
    return float((pred.numpy() == np.asarray(y)).mean())


def train_classifier(model, X, y, config: TrainConfig, seed: int = 0, attack=None, augment=None) -> list[float]:
    r"""Train ``model`` in place with SGD on the mean cross-entropy; return the training loss per epoch.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (N, 1, 8, 8) pixels to (N, 10) logits.
    X : ndarray, shape (N, 1, 8, 8), float32
    y : ndarray of int, shape (N,)
    config : TrainConfig
    seed : int
        The batch order (and the attack's random starts).
    attack : callable ``(model, x, y, generator) -> x_adv``, optional
        Adversarial training (Madry et al. 2018): each batch is replaced by the attack's examples against the
        current weights, :math:`\min_\theta \mathbb{E}\max_{\lVert\delta\rVert \le \epsilon_{\text{adv}}} L(x + \delta)`.
    augment : callable ``(batch ndarray, rng) -> batch ndarray``, optional
        Data augmentation (chapter 07), applied before the attack.
    """
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    yt_all = torch.as_tensor(np.asarray(y))
    losses = []
    for epoch in range(config.epochs):
        for group in opt.param_groups:
            group["lr"] = config.lr * (1 - epoch / config.epochs)
        perm = rng.permutation(len(X))
        total = 0.0
        for i in range(0, len(perm), config.batch_size):
            idx = perm[i:i + config.batch_size]
            xb = np.asarray(X)[idx] if augment is None else augment(np.asarray(X)[idx], rng)
            xb, yb = torch.from_numpy(np.ascontiguousarray(xb, dtype=np.float32)), yt_all[idx]
            if attack is not None:
                xb = attack(model, xb, yb, gen)  # made against the weights of this step
            model.train()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(X))
    model.eval()
    return losses


@lru_cache(maxsize=8)
def trained(kind: str = "cnn", seed: int = 0) -> torch.nn.Sequential:
    """``make_classifier(kind, seed)`` trained on split 0's training images by ``SETTINGS[kind]``, in eval mode,
    cached per process (do not train it further: build your own with :func:`make_classifier`)."""
    from course_lib.device import torch_threads

    X, y, _, _ = digits01()
    model = make_classifier(kind, seed=seed)
    with torch_threads(1):  # small batches: one thread is faster on a busy machine (course_lib.device)
        train_classifier(model, X, y, SETTINGS[kind], seed=seed)
    return model.eval()
