"""Chapter 07's experiment: a small MLP on scikit-learn's bundled digits, with and without each regularizer.

:func:`digits_split` gives a deliberately small training set (so that a wide network can
memorize it) and a validation set; :func:`make_model` builds the same MLP with optional batch
normalization and dropout; :func:`train_classifier` trains it with ``course_lib.optim`` and
records the training and validation curves, epoch by epoch. Everything runs on the chapter-05
engine in float32, on the CPU, in about a second per run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from course_lib import optim
from course_lib import regularization as R
from course_lib.autograd import Tensor, no_grad, nn
from course_lib.autograd import functional as AF
from course_lib.regularization_layers import BatchNorm1d, Dropout, modules
from course_lib.regularization_layers import eval as eval_mode
from course_lib.regularization_layers import train as train_mode
from course_lib.optim.stochastic import minibatches


def digits_split(n_train: int = 200, n_val: int = 500, seed: int = 0):
    """Random disjoint training and validation sets of the 8x8 digits, pixels scaled to [0, 1].

    Returns
    -------
    X_train : ndarray, shape (n_train, 64), float32
    y_train : ndarray, shape (n_train,), int
    X_val, y_val : the same for ``n_val`` other images
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(X))
    tr, va = order[:n_train], order[n_train:n_train + n_val]
    return X[tr], digits.target[tr], X[va], digits.target[va]


def make_model(hidden=(256, 256), batch_norm: bool = False, dropout: float = 0.0, seed: int = 0) -> nn.Sequential:
    """``Linear -> [BatchNorm1d] -> ReLU -> [Dropout]`` per hidden layer, then ``Linear`` to 10 classes."""
    rng = np.random.default_rng(seed)
    layers, n_in = [], 64
    for width in hidden:
        layers.append(nn.Linear(n_in, width, rng=rng))
        if batch_norm:
            layers.append(BatchNorm1d(width))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
        n_in = width
    layers.append(nn.Linear(n_in, 10, rng=rng))
    return nn.Sequential(*layers)


@dataclass
class History:
    """Per-epoch curves of one run (epoch 0 is before training).

    ``stopped_at`` and ``restored`` are set by early stopping: the epoch after which training
    stopped, and the epoch whose weights the model holds at the end.
    """

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    stopped_at: int | None = None
    restored: int | None = None

    def best_epoch(self) -> int:
        return int(np.argmin(self.val_loss))


def snapshot(model) -> list[np.ndarray]:
    """Copies of everything that defines the model's function: parameters and running statistics."""
    state = [p.data.copy() for p in model.parameters()]
    for m in modules(model):
        if isinstance(m, BatchNorm1d):
            state += [m.running_mean.copy(), m.running_var.copy()]
    return state


def restore(model, state: list[np.ndarray]) -> None:
    """Put a :func:`snapshot` back (in place)."""
    arrays = iter(state)
    for p in model.parameters():
        p.data[...] = next(arrays)
    for m in modules(model):
        if isinstance(m, BatchNorm1d):
            m.running_mean, m.running_var = next(arrays).copy(), next(arrays).copy()


def evaluate(model, X, y) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(X, y)``, in evaluation mode."""
    eval_mode(model)
    with no_grad():
        logits = model(Tensor(X))
        loss = float(AF.cross_entropy(logits, y).item())
    train_mode(model)
    return loss, float(np.mean(np.argmax(logits.data, axis=1) == y))


def train_classifier(model, data, *, epochs: int = 120, batch_size: int = 50, lr: float = 1e-3,
                     weight_decay: float = 0.0, decoupled: bool = False, augment: bool = False,
                     patience: int | None = None, seed: int = 0) -> History:
    """Train ``model`` with Adam (or AdamW) on mini-batches; record losses and accuracies every epoch.

    Parameters
    ----------
    model : course_lib.autograd.nn.Module
    data : (X_train, y_train, X_val, y_val)
    epochs, batch_size : int
    lr : float
    weight_decay : float
        L2 in the loss (``Adam(weight_decay=...)``) or, with ``decoupled``, AdamW's decay.
    augment : bool
        Each epoch, shift training images by random pixel offsets (:func:`course_lib.regularization.augment_digits`).
    patience : int, optional
        Early stopping: stop once the validation loss has not improved for ``patience`` epochs
        (:func:`course_lib.regularization.early_stopping`) and restore the best epoch's weights.
    seed : int
        Batches and augmentation.

    Returns
    -------
    History
    """
    from threadpoolctl import threadpool_limits

    X, y, X_val, y_val = data
    rng = np.random.default_rng(seed)
    cls = optim.AdamW if decoupled else optim.Adam
    opt = cls(model.parameters(), lr=lr, weight_decay=weight_decay)
    hist = History()

    def record():
        for loss_acc, (A, b) in [((hist.train_loss, hist.train_acc), (X, y)),
                                 ((hist.val_loss, hist.val_acc), (X_val, y_val))]:
            loss, acc = evaluate(model, A, b)
            loss_acc[0].append(loss)
            loss_acc[1].append(acc)

    # Small float32 products: one BLAS thread is much faster than two fighting for two cores.
    with threadpool_limits(limits=1, user_api="blas"):
        train_mode(model)
        record()
        best_state = snapshot(model) if patience else None
        for epoch in range(1, epochs + 1):
            X_epoch = R.augment_digits(X, rng) if augment else X
            for idx in minibatches(len(y), batch_size, rng):
                opt.zero_grad()
                loss = AF.cross_entropy(model(Tensor(X_epoch[idx])), y[idx])
                loss.backward()
                opt.step()
            record()
            if patience:
                _, best = R.early_stopping(hist.val_loss, patience)  # the rule, on the curve so far
                if best == epoch:
                    best_state = snapshot(model)
                elif epoch - best >= patience:
                    hist.stopped_at, hist.restored = epoch, best
                    restore(model, best_state)
                    break
    return hist

