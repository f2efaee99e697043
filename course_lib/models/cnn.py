r"""Chapter 09's CNN in PyTorch, the same network as the engine's (:func:`course_lib.cnn_experiment.make_cnn`),
with a CPU and a GPU size preset picked by :mod:`course_lib.device`.

conv 1→c₁ (3x3, padding 1), ReLU, max-pool 2, conv c₁→c₂ (3x3, padding 1), ReLU, flatten, linear to 10;
on 8x8 digits. The GPU preset is wider and trains longer.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.device import Presets

__all__ = ["CNNConfig", "PRESETS", "DigitsCNN", "train_cnn"]


@dataclass(frozen=True)
class CNNConfig:
    """Channels of the two convolutions, training epochs, batch size, learning rate and momentum."""

    channels: tuple = (16, 32)
    epochs: int = 12
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9


PRESETS = Presets(cpu=CNNConfig(), gpu=CNNConfig(channels=(64, 128), epochs=40, batch_size=64))


class DigitsCNN(torch.nn.Sequential):
    """The digits CNN: ``DigitsCNN((16, 32))``; parameter names match the engine's ``nn.Sequential``."""

    def __init__(self, channels=(16, 32)):
        c1, c2 = channels
        super().__init__(torch.nn.Conv2d(1, c1, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                         torch.nn.Conv2d(c1, c2, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                         torch.nn.Linear(c2 * 4 * 4, 10))


def train_cnn(X, y, X_test, y_test, config: CNNConfig, device, seed: int = 0, augment=None) -> dict:
    r"""Train :class:`DigitsCNN` with SGD (momentum, learning rate decayed linearly to 0) on ``device``.

    Parameters
    ----------
    X, X_test : ndarray, shape (N, 1, 8, 8), float32
    y, y_test : ndarray of int
    config : CNNConfig
    device : torch.device
    seed : int
    augment : callable ``(batch ndarray, rng) -> batch ndarray``, optional
        Applied to each training batch on the CPU (the engine's run uses the same function).

    Returns
    -------
    dict
        ``model``, ``test_accuracy`` per epoch, ``seconds`` and ``images_per_s`` of training.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = DigitsCNN(config.channels).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    Xt, yt = torch.from_numpy(np.array(X_test)).to(device), torch.from_numpy(y_test).to(device)
    accs = []
    start = time.perf_counter()
    for epoch in range(config.epochs):
        for group in opt.param_groups:
            group["lr"] = config.lr * (1 - epoch / config.epochs)
        perm = rng.permutation(len(X))
        for i in range(0, len(perm), config.batch_size):
            idx = perm[i:i + config.batch_size]
            xb = X[idx] if augment is None else augment(X[idx], rng)  # fancy indexing copies: writable
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(xb).to(device)),
                                                     torch.from_numpy(y[idx]).to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            accs.append(float((model(Xt).argmax(1) == yt).float().mean()))
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"model": model, "test_accuracy": accs, "seconds": seconds,
            "images_per_s": config.epochs * len(X) / seconds}
