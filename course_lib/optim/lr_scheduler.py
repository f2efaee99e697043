r"""Learning-rate schedules: closed forms, and schedulers with ``torch.optim.lr_scheduler``'s surface.

Each schedule is first a pure function of the step count ``t`` (0 before the first
``scheduler.step()``) and the base learning rate :math:`\eta_0`; the scheduler classes
(``StepLR``, ``ExponentialLR``, ``CosineAnnealingLR``, ``LinearLR`` for a linear warm-up,
``LambdaLR``, ``SequentialLR`` to chain a warm-up and a decay) write that value into every
parameter group's ``"lr"`` on each ``step()``, exactly as PyTorch's do::

    opt = SGD(params, lr=0.1)
    sched = CosineAnnealingLR(opt, T_max=100)
    for epoch in range(100):
        train_one_epoch(opt)
        sched.step()
"""
from __future__ import annotations

import bisect
import math
from typing import Callable


def step_lr(t: int, base_lr: float, step_size: int, gamma: float = 0.1) -> float:
    r"""Step decay: multiply by ``gamma`` every ``step_size`` steps.

    Parameters
    ----------
    t : int >= 0
    base_lr : float
    step_size : int >= 1
    gamma : float

    Returns
    -------
    float

    Notes
    -----
    .. math:: \eta_t = \eta_0\,\gamma^{\lfloor t/\text{step\_size}\rfloor}
    """
    return base_lr * gamma ** (t // step_size)


def exponential_lr(t: int, base_lr: float, gamma: float) -> float:
    r"""Exponential decay :math:`\eta_t = \eta_0\gamma^t`.

    Parameters
    ----------
    t : int >= 0
    base_lr, gamma : float

    Returns
    -------
    float
    """
    return base_lr * gamma ** t


def cosine_annealing_lr(t: int, base_lr: float, T_max: int, eta_min: float = 0.0) -> float:
    r"""Cosine annealing from :math:`\eta_0` down to ``eta_min`` over ``T_max`` steps (Loshchilov and Hutter 2017).

    Parameters
    ----------
    t : int >= 0
    base_lr : float
    T_max : int >= 1
        Half period: the rate reaches ``eta_min`` at ``t = T_max`` (and, as in PyTorch, rises again after).
    eta_min : float

    Returns
    -------
    float

    Notes
    -----
    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\left(1 + \cos\frac{\pi t}{T_{\max}}\right)
    """
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2


def linear_lr(t: int, base_lr: float, start_factor: float = 1 / 3, end_factor: float = 1.0,
              total_iters: int = 5) -> float:
    r"""Linear change of the rate's factor over ``total_iters`` steps, then constant: a linear **warm-up**.

    Parameters
    ----------
    t : int >= 0
    base_lr : float
    start_factor, end_factor : float
        The factor of ``base_lr`` at ``t = 0`` and from ``t = total_iters`` on.
    total_iters : int >= 1

    Returns
    -------
    float

    Notes
    -----
    .. math:: \eta_t = \eta_0\left(f_0 + (f_1 - f_0)\,\frac{\min(t, T)}{T}\right)

    Warm-up (Goyal et al. 2017) starts small, :math:`f_0 \ll 1`, and ramps to :math:`f_1 = 1`:
    while Adam's second-moment estimate rests on few gradients, or while the weights are far
    from anywhere sensible, full-size steps can throw the model off.
    """
    return base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)


def warmup_cosine_lr(t: int, base_lr: float, warmup_iters: int, T_max: int, start_factor: float = 0.1,
                     eta_min: float = 0.0) -> float:
    """Linear warm-up for ``warmup_iters`` steps, then cosine annealing over ``T_max`` steps.

    Parameters
    ----------
    t : int >= 0
    base_lr : float
    warmup_iters : int >= 1
    T_max : int >= 1
    start_factor, eta_min : float

    Returns
    -------
    float

    Notes
    -----
    :func:`linear_lr` for :math:`t < T_w` and :func:`cosine_annealing_lr` at :math:`t - T_w` after:
    what ``SequentialLR(opt, [LinearLR(opt, start_factor, total_iters=T_w),
    CosineAnnealingLR(opt, T_max)], milestones=[T_w])`` gives.
    """
    if t < warmup_iters:
        return linear_lr(t, base_lr, start_factor, 1.0, warmup_iters)
    return cosine_annealing_lr(t - warmup_iters, base_lr, T_max, eta_min)


class LRScheduler:
    """Base class: on each :meth:`step`, set every group's ``"lr"`` to the schedule's value.

    Parameters
    ----------
    optimizer : course_lib.optim.Optimizer
    last_epoch : int, default -1
        The index of the last step taken; -1 starts afresh (and records ``"initial_lr"``).

    Notes
    -----
    A subclass defines ``lr_at(t, base_lr)``. As in PyTorch the constructor takes the first
    step, so right after construction the rate is the schedule's value at ``t = 0``.
    """

    def __init__(self, optimizer, last_epoch: int = -1):
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        elif any("initial_lr" not in group for group in optimizer.param_groups):
            raise KeyError("param 'initial_lr' is not specified in param_groups when resuming an optimizer")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self.step()

    def lr_at(self, t: int, base_lr: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        """The schedule's rates at the current ``last_epoch``, one per group."""
        return [self.lr_at(self.last_epoch, base) for base in self.base_lrs]

    def step(self, epoch: int | None = None) -> None:
        """Advance one step (or jump to ``epoch``) and write the new rates into the groups."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        self._last_lr = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_last_lr(self) -> list[float]:
        """The rates the last :meth:`step` set."""
        return list(self._last_lr)


class StepLR(LRScheduler):
    """:func:`step_lr`: ``StepLR(optimizer, step_size, gamma=0.1)``."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, base_lr):
        return step_lr(t, base_lr, self.step_size, self.gamma)


class ExponentialLR(LRScheduler):
    """:func:`exponential_lr`: ``ExponentialLR(optimizer, gamma)``."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, base_lr):
        return exponential_lr(t, base_lr, self.gamma)


class CosineAnnealingLR(LRScheduler):
    """:func:`cosine_annealing_lr`: ``CosineAnnealingLR(optimizer, T_max, eta_min=0.0)``."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, base_lr):
        return cosine_annealing_lr(t, base_lr, self.T_max, self.eta_min)


class LinearLR(LRScheduler):
    """:func:`linear_lr` (linear warm-up): ``LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)``."""

    def __init__(self, optimizer, start_factor: float = 1 / 3, end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1):
        if not (0 < start_factor <= 1 and 0 <= end_factor <= 1):
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, base_lr):
        return linear_lr(t, base_lr, self.start_factor, self.end_factor, self.total_iters)


class LambdaLR(LRScheduler):
    r"""``LambdaLR(optimizer, lr_lambda)``: :math:`\eta_t = \eta_0\,\lambda(t)` for a function of your own."""

    def __init__(self, optimizer, lr_lambda: Callable[[int], float], last_epoch: int = -1):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, base_lr):
        return base_lr * self.lr_lambda(t)


class SequentialLR:
    """``SequentialLR(optimizer, schedulers, milestones)``: one schedule after another.

    Scheduler ``i`` runs from milestone ``i - 1`` on, restarted at its own ``t = 0``; the usual
    use is a :class:`LinearLR` warm-up followed by a decay (see :func:`warmup_cosine_lr`).
    """

    def __init__(self, optimizer, schedulers: list[LRScheduler], milestones: list[int], last_epoch: int = -1):
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"Sequential Schedulers expects number of schedulers provided to be one more than the "
                             f"number of milestone points, but got {len(schedulers)} and {len(milestones)}")
        self.optimizer, self._schedulers, self._milestones = optimizer, list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:  # each constructor already stepped: start again from the base rates
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:
            scheduler.last_epoch -= 1
        self._schedulers[0]._initial_step()
        self._last_lr = self._schedulers[0].get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler.step(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)
