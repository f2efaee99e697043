"""Run update rules on a function: the paths the chapter plots and the optimizer race draws.

:func:`race` steps several optimizers side by side from one start point, evaluating the
gradient of all of them in one vectorized call per step (the 2-D surfaces of
:mod:`course_lib.surfaces` take arrays of points), which keeps a few hundred steps of five
or six optimizers within a widget's time budget. :func:`run` is the one-optimizer case.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

UpdateRule = Callable[..., tuple[np.ndarray, dict]]


@dataclass
class Trajectory:
    r"""The path of one optimizer.

    Attributes
    ----------
    points : ndarray, shape (k + 1, d)
        :math:`\boldsymbol\theta_0, \dots, \boldsymbol\theta_k`, the start included; k is the
        number of steps taken (fewer than asked when it diverged).
    states : list of dict, length k
        The optimizer's state after each step (momentum buffer, averages...).
    next_step : ndarray, shape (d,)
        :math:`\boldsymbol\theta_{k+1} - \boldsymbol\theta_k`, the step it would take next:
        for momentum methods, the velocity.
    stopped_at : int or None
        The step at which the parameters left the box (see :func:`race`) or stopped being
        finite; that step is not in ``points``.
    """

    points: np.ndarray
    states: list = field(default_factory=list)
    next_step: np.ndarray | None = None
    stopped_at: int | None = None

    @property
    def steps(self) -> int:
        return len(self.points) - 1


def race(entries: Sequence[tuple[UpdateRule, dict]], grad: Callable[[np.ndarray], np.ndarray], x0, steps: int,
         box=None) -> list[Trajectory]:
    """Run several update rules from the same start, side by side.

    Parameters
    ----------
    entries : sequence of (update, hyper)
        An update rule ``(param, grad, state, **hyper) -> (new_param, new_state)`` (see
        :mod:`course_lib.optim.functional`) and its hyper-parameters.
    grad : callable, ndarray (d, m) -> ndarray (d, m)
        Gradient at m points at once, one per column (``Surface.grad_at`` is such a function).
    x0 : array_like, shape (d,)
    steps : int
    box : (lo, hi), arrays of shape (d,), optional
        A run stops once it leaves the box ``lo <= theta <= hi`` (default: every coordinate
        within 1e6) or is no longer finite: it diverged, or left the region of interest.

    Returns
    -------
    list of Trajectory, one per entry
    """
    x0 = np.asarray(x0, dtype=np.float64)
    lo, hi = (np.full(x0.shape, -1e6), np.full(x0.shape, 1e6)) if box is None else box
    centre, half = (np.asarray(hi) + lo) / 2, (np.asarray(hi) - lo) / 2
    m = len(entries)
    P = np.repeat(x0[:, None], m, axis=1)  # one column per optimizer
    paths = [[x0.copy()] for _ in range(m)]
    states: list = [None] * m
    history: list[list] = [[] for _ in range(m)]
    stopped: list = [None] * m
    alive = list(range(m))
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            if not alive:
                break
            G = grad(P)
            for j in list(alive):
                update, hyper = entries[j]
                p, state = update(P[:, j], G[:, j], states[j], **hyper)
                if not np.abs((p - centre) / half).max() <= 1:  # also true for NaN
                    stopped[j] = t
                    alive.remove(j)
                    continue
                P[:, j] = p
                states[j] = state
                paths[j].append(p)
                history[j].append(state)
        G = grad(P)
        out = []
        for j, (update, hyper) in enumerate(entries):
            nxt, _ = update(P[:, j], G[:, j], states[j], **hyper)
            step = nxt - P[:, j] if stopped[j] is None and np.all(np.isfinite(nxt)) else np.zeros_like(x0)
            out.append(Trajectory(np.array(paths[j]), history[j], step, stopped[j]))
    return out


def run(update: UpdateRule, grad: Callable[[np.ndarray], np.ndarray], x0, steps: int, box=None,
        **hyper) -> Trajectory:
    """One update rule for ``steps`` steps from ``x0`` (see :func:`race`).

    ``grad`` maps a point of shape ``(d,)`` (here a column ``(d, 1)``) to its gradient.

    Examples
    --------
    >>> from course_lib.optim.functional import sgd_update
    >>> path = run(sgd_update, lambda p: 2 * p, [1.0, -2.0], steps=3, lr=0.25)
    >>> path.points[-1]
    array([ 0.125, -0.25 ])
    """
    return race([(update, hyper)], grad, x0, steps, box)[0]
