r"""Chapter 14: transfer learning on the digits, measured: a linear probe, fine-tuning and training from scratch
on a target task with a few labels per class, after pretraining chapter 09's CNN on a source task.

The settings (:data:`SETTINGS`) differ only in how the source relates to the target:

- ``"same_classes_new_style"``: the source is the ten digits (900 training images, all labels); the target is the
  same ten digits on *other* images drawn in a new style (:func:`restyle`: thicker strokes, and a one-pixel
  shift), with ``k`` labels per class. The classes and the strokes are shared; only the style moved.
- ``"disjoint_classes"``: the naive split: the source is the digits 0-4, the target the digits 5-9.
- ``"shuffled_source"``: the source images of the first setting with their labels permuted at random: the
  network can only memorize, and what it learns is no structure of digits.

For each, :func:`compare` pretrains once per seed and then trains, on the same ``k`` labelled target images per
class: ``"scratch"`` (a fresh network), ``"probe"`` (the pretrained body frozen, a new last layer trained) and
``"finetune"`` (the pretrained body and a new last layer, all trained), with the same optimizer and number of
steps, and reports the target test accuracy. Sizes come from a :class:`~course_lib.models.digit_classifiers.Ch14Preset`
(the CNN's channels, the pretraining and target recipes; default: the CPU's), and everything runs on ``device``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.models.digit_classifiers import (PRESETS, Ch14Preset, TrainConfig, accuracy, digits01, make_classifier,
                                                 train_classifier)

__all__ = ["SETTINGS", "MODES", "restyle", "Task", "make_tasks", "few_shot", "pretrain", "new_head", "fit_target",
           "compare"]

SETTINGS = ("same_classes_new_style", "disjoint_classes", "shuffled_source")
MODES = ("scratch", "probe", "finetune")
# fine-tuning that keeps the source's last layer too: meaningful only where the target's classes are the source's
SHARED_LABEL_MODE = "finetune_all"
N_SOURCE = 900  # training images given to the source task; the rest of the 1347 are the target's labelled pool


def restyle(X: np.ndarray) -> np.ndarray:
    r"""The target "style": strokes thickened by a 2x2 max filter (a dilation: each pixel takes the brightest of
    itself and its right, lower and lower-right neighbours), which also moves the digit half a pixel down-right.
    Pixels stay in [0, 1]. Shape (N, 1, 8, 8) -> (N, 1, 8, 8)."""
    X = np.asarray(X)
    padded = np.pad(X, ((0, 0), (0, 0), (0, 1), (0, 1)))
    return np.maximum.reduce([padded[:, :, a:a + 8, b:b + 8] for a in (0, 1) for b in (0, 1)])


@dataclass
class Task:
    """Images ``X`` (N, 1, 8, 8) in [0, 1] and labels ``y`` in ``0..n_classes-1``, for training and test."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int


def make_tasks(setting: str, seed: int = 0, split: int = 0) -> tuple[Task, Task]:
    """The ``(source, target)`` tasks of ``setting``; ``seed`` permutes the shuffled source's labels."""
    Xtr, ytr, Xte, yte = digits01(split)
    if setting in ("same_classes_new_style", "shuffled_source"):
        ys = ytr[:N_SOURCE].copy()
        if setting == "shuffled_source":
            ys = np.random.default_rng(seed).permutation(ys)
        source = Task(Xtr[:N_SOURCE], ys, Xte, yte, 10)
        target = Task(restyle(Xtr[N_SOURCE:]), ytr[N_SOURCE:], restyle(Xte), yte, 10)
        return source, target
    if setting == "disjoint_classes":
        lo, hi = ytr < 5, ytr >= 5
        source = Task(Xtr[lo], ytr[lo], Xte[yte < 5], yte[yte < 5], 5)
        target = Task(Xtr[hi], ytr[hi] - 5, Xte[yte >= 5], yte[yte >= 5] - 5, 5)
        return source, target
    raise ValueError(f"make_tasks: setting must be one of {SETTINGS}, got {setting!r}")


def few_shot(y: np.ndarray, k: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` examples of each class, drawn without replacement; an error if a class has fewer."""
    out = []
    for c in range(n_classes):
        idx = np.flatnonzero(y == c)
        if len(idx) < k:
            raise ValueError(f"few_shot: class {c} has {len(idx)} examples, fewer than k = {k}")
        out.append(rng.choice(idx, k, replace=False))
    return np.concatenate(out)


def new_head(model: torch.nn.Sequential, n_classes: int, seed: int) -> torch.nn.Sequential:
    """A copy of ``model`` (Standardize + DigitsCNN) with its last linear layer replaced by a fresh one with
    ``n_classes`` outputs."""
    model = copy.deepcopy(model)
    torch.manual_seed(seed)
    last = model[1][-1]
    model[1][-1] = torch.nn.Linear(last.in_features, n_classes)
    return model


PRETRAIN = PRESETS.cpu.pretrain  # chapter 09's CNN recipe: 12 epochs at lr 0.05
TARGET = PRESETS.cpu.target  # 60 epochs, batch 64, lr 0.05: the same for the three modes


def pretrain(source: Task, seed: int = 0, preset: Ch14Preset = PRESETS.cpu, device="cpu") -> torch.nn.Sequential:
    """Chapter 09's CNN (``preset.channels``) trained on the source task by ``preset.pretrain`` on ``device``."""
    model = new_head(make_classifier("cnn", seed=seed, channels=preset.channels), source.n_classes, seed)
    train_classifier(model.to(device), source.X, source.y, preset.pretrain, seed=seed)
    return model


def fit_target(mode: str, target: Task, idx: np.ndarray, pretrained: torch.nn.Sequential | None = None,
               seed: int = 0, config: TrainConfig = TARGET, channels=PRESETS.cpu.channels,
               device=None) -> torch.nn.Sequential:
    """Train on the labelled target images ``idx`` by ``mode`` (one of :data:`MODES`); ``pretrained`` is needed
    by ``"probe"`` and ``"finetune"``. The probe freezes every parameter but the new last layer's. ``scratch``
    builds a CNN with ``channels``; the model is trained on ``device`` (default: the pretrained network's, else
    the CPU).
    ``"finetune_all"`` (:data:`SHARED_LABEL_MODE`) fine-tunes the whole pretrained network, its last layer
    included: only where the target's labels mean what the source's meant."""
    if mode not in MODES + (SHARED_LABEL_MODE,):
        raise ValueError(f"fit_target: mode must be one of {MODES + (SHARED_LABEL_MODE,)}, got {mode!r}")
    if mode == "scratch":
        model = new_head(make_classifier("cnn", seed=seed + 1000, channels=channels), target.n_classes, seed)
    elif pretrained is None:
        raise ValueError(f"fit_target: mode {mode!r} needs the pretrained network")
    elif mode == SHARED_LABEL_MODE:
        if pretrained[1][-1].out_features != target.n_classes:
            raise ValueError(f"fit_target: {mode!r} keeps the source's last layer, which has "
                             f"{pretrained[1][-1].out_features} outputs, not the target's {target.n_classes}")
        model = copy.deepcopy(pretrained)
    else:
        model = new_head(pretrained, target.n_classes, seed)
    if mode == "probe":
        for layer in list(model[1])[:-1]:  # (slicing a DigitsCNN would call its constructor)
            layer.requires_grad_(False)
    if device is None:
        device = next(pretrained.parameters()).device if pretrained is not None else "cpu"
    # a frozen parameter gets no .grad, and torch's SGD skips parameters without one: only the head moves
    train_classifier(model.to(device), target.X[idx], target.y[idx], config, seed=seed)
    return model


def compare(setting: str, shots=(1, 3, 10, 30), seeds=(0, 1, 2), split: int = 0, preset: Ch14Preset = PRESETS.cpu,
            device="cpu") -> dict:
    """Target test accuracy of each mode, for each ``k`` in ``shots`` and each seed, with ``preset``'s sizes and
    recipes, on ``device``.

    Returns
    -------
    dict
        ``accuracy``: ``{mode: ndarray (len(shots), len(seeds))}`` (with ``"finetune_all"`` where the labels are
        shared); ``source_accuracy``: the pretrained network's test accuracy on its own task per seed;
        ``zero_shot``: where the labels are shared, the pretrained network's target accuracy with no target
        training; ``shots``, ``seeds``, ``setting``.
    """
    shared = setting == "same_classes_new_style"  # the target's labels are the source's
    modes = MODES + ((SHARED_LABEL_MODE,) if shared else ())
    acc = {m: np.zeros((len(shots), len(seeds))) for m in modes}
    source_acc, zero_shot = [], []
    for j, seed in enumerate(seeds):
        source, target = make_tasks(setting, seed, split)
        pre = pretrain(source, seed, preset, device)
        source_acc.append(accuracy(pre, source.X_test, source.y_test))
        if shared:
            zero_shot.append(accuracy(pre, target.X_test, target.y_test))
        for i, k in enumerate(shots):
            idx = few_shot(target.y, k, target.n_classes, np.random.default_rng(100 + seed))
            for m in modes:
                model = fit_target(m, target, idx, pre, seed, preset.target, preset.channels, device)
                acc[m][i, j] = accuracy(model, target.X_test, target.y_test)
    return {"accuracy": acc, "source_accuracy": np.array(source_acc), "zero_shot": np.array(zero_shot),
            "shots": tuple(shots),
            "seeds": tuple(seeds), "setting": setting}
