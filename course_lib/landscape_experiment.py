r"""Chapter 08's experiments: small MLPs in the chapter-05 engine, trained on scikit-learn's digits.

- :func:`digits`, :func:`digits_split`, :func:`make_mlp`: data (no download) and networks (float64).
- :class:`~course_lib.net_objective.Objective` (re-exported here with :func:`get_weights` and
  :func:`set_weights`): a network's loss as a function of its parameters.
- :func:`train_sgd`: mini-batch SGD in the engine, recording the trajectory of the parameters.
- :func:`edge_of_stability`: full-batch gradient descent on the squared loss, tracking the sharpness.
- :func:`trained_relu_net`, :func:`landscape_net`, :func:`eos_run`: the chapter's runs, cached so that
  the widgets reuse them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from course_lib.autograd import Tensor, nn
from course_lib.autograd.optim import SGD
from course_lib.curvature import top_eigenvalues
from course_lib.landscapes import flatten, unflatten
from course_lib.net_objective import Objective, get_weights, one_thread, set_weights

__all__ = ["digits", "digits_split", "make_mlp", "Objective", "get_weights", "set_weights", "one_thread", "Run",
           "train_sgd", "EoSRun", "edge_of_stability", "LANDSCAPE_NET", "trained_relu_net", "landscape_net", "eos_run"]


@lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 bundled digits as ``(pixels (1797, 64), labels (1797,))``.

    Read straight from the data file inside the installed scikit-learn when it is where
    ``sklearn.datasets.load_digits`` reads it: importing scikit-learn itself takes about a second
    (it loads scipy.stats), more than the rest of the chapter's set-up. Otherwise ``load_digits``.
    ``tests/test_landscape_experiment.py`` checks that both give the same arrays.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            data = np.loadtxt(path, delimiter=",")
            if data.shape == (1797, 65):
                return data[:, :-1], data[:, -1].astype(int)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data, bunch.target


def digits(n: int, offset: int = 0, seed: int = 0, center=True):
    r"""``n`` of scikit-learn's 8x8 digits (no download), pixels scaled to [0, 1], float64.

    Parameters
    ----------
    n : int
    offset : int
        Skip the first ``offset`` images of the shuffled order (for a disjoint test set).
    seed : int
        The shuffle.
    center : bool or ndarray of shape (64,)
        ``True``: subtract the mean image of these ``n`` (a zero-mean input keeps the initial
        sharpness low); an array: subtract it (a test set takes its training set's mean);
        ``False``: leave the pixels as they are.

    Returns
    -------
    X : ndarray, shape (n, 64)
    y : ndarray of int, shape (n,)
    """
    pixels, labels = _digits_arrays()
    order = np.random.default_rng(seed).permutation(len(labels))[offset:offset + n]
    if len(order) < n:
        raise ValueError(f"digits: only {len(labels) - offset} images after offset {offset}, asked for {n}")
    X = pixels[order] / 16.0
    if isinstance(center, np.ndarray):
        return X - center, labels[order]
    return (X - X.mean(axis=0) if center else X), labels[order]


def digits_split(n_train: int, n_test: int, seed: int = 0):
    """Disjoint training and test digits, both centred by the training set's mean image.

    Returns
    -------
    X_train, y_train, X_test, y_test
    """
    raw, y = digits(n_train, seed=seed, center=False)
    mean = raw.mean(axis=0)
    X_test, y_test = digits(n_test, offset=n_train, seed=seed, center=mean)
    return raw - mean, y, X_test, y_test


def make_mlp(sizes=(64, 32, 10), activation: str = "relu", seed: int = 0) -> nn.MLP:
    """An engine MLP in float64 with PyTorch's default initialization, seeded."""
    return nn.MLP(list(sizes), activation=activation, dtype=np.float64, rng=seed)


@dataclass
class Run:
    """A training run: the loss after every step (or epoch) and the flattened parameters along the way."""

    loss: list = field(default_factory=list)
    trajectory: list = field(default_factory=list)
    epochs: int = 0

    def final(self) -> np.ndarray:
        return self.trajectory[-1]


def train_sgd(objective: Objective, weights, *, lr: float, batch_size: int, epochs: int, seed: int = 0,
              record_every: int = 1, target_loss: float | None = None) -> tuple[list[np.ndarray], Run]:
    r"""Mini-batch SGD in the engine, :math:`\boldsymbol\theta \leftarrow \boldsymbol\theta - \eta\nabla L_B(\boldsymbol\theta)`.

    Parameters
    ----------
    objective : Objective
        The full training set; each step uses a random batch of ``batch_size`` of its examples
        (reshuffled every epoch; ``batch_size = N`` is full-batch gradient descent).
    weights : list of ndarray
        The start (not modified).
    lr : float
    batch_size, epochs : int
    seed : int
        The shuffles.
    record_every : int
        Keep the flattened parameters and the full training loss every this many epochs (and at
        the start and the end).
    target_loss : float, optional
        Stop after the first epoch whose full training loss is at most this (checked every epoch):
        runs with different settings are then compared at the same loss, not the same time.

    Returns
    -------
    weights : list of ndarray, the end point
    run : Run
        ``loss[e]`` and ``trajectory[e]`` for each recorded epoch ``e``.
    """
    from course_lib.optim.stochastic import minibatches

    rng = np.random.default_rng(seed)
    model = objective.model
    set_weights(model, weights, objective.params)
    opt = SGD(objective.params, lr=lr)
    run = Run()

    def record():
        w = get_weights(model)
        run.loss.append(objective(w))
        run.trajectory.append(flatten(w))
        set_weights(model, w, objective.params)

    record()
    with one_thread():
        for epoch in range(1, epochs + 1):
            for idx in minibatches(len(objective.y), batch_size, rng):
                opt.zero_grad()
                objective.loss_of_output(model(Tensor(objective.X[idx])), idx).backward()
                opt.step()
            reached = target_loss is not None and objective(get_weights(model)) <= target_loss
            if epoch % record_every == 0 or epoch == epochs or reached:
                record()
            if reached:
                break
    run.epochs = epoch
    return get_weights(model), run


@dataclass
class EoSRun:
    """Full-batch gradient descent with the sharpness tracked (:func:`edge_of_stability`)."""

    lr: float
    loss: np.ndarray  # (steps + 1,)
    steps: np.ndarray  # where the sharpness was measured
    sharpness: np.ndarray
    final: np.ndarray  # the flattened parameters after the last step
    objective: "Objective"

    @property
    def threshold(self) -> float:
        return 2.0 / self.lr


def edge_of_stability(lr: float, *, steps: int = 1000, n: int = 200, sizes=(64, 32, 10), seed: int = 0,
                      track_every: int = 20, power_steps: int = 3) -> EoSRun:
    r"""Full-batch gradient descent on the squared loss of a tanh MLP, measuring :math:`\lambda_{\max}` as it goes.

    Parameters
    ----------
    lr : float
        :math:`\eta`; the stability threshold of gradient descent on a quadratic is :math:`2/\eta`.
    steps, n : int
        Gradient steps; training digits (centred).
    sizes : tuple of int
    seed : int
        The initial weights and the digits.
    track_every : int
        Measure the sharpness every this many steps...
    power_steps : int
        ...by this many products of warm-started power iteration (the top eigenvector moves
        slowly between measurements, so a few products follow it; the chapter checks the
        tracked values against a converged power iteration).

    Returns
    -------
    EoSRun

    Notes
    -----
    On a quadratic with curvature :math:`\lambda` a step maps the error :math:`e \to (1 - \eta\lambda)e`, which
    grows when :math:`\lambda > 2/\eta`. Cohen et al. (2021) found that full-batch GD on a network first
    *sharpens* (:math:`\lambda_{\max}` rises) until :math:`\lambda_{\max} \approx 2/\eta`, then stays there while the loss
    keeps falling, non-monotonically: the edge of stability. Tanh keeps the loss smooth, so the
    finite-difference Hessian-vector products are accurate.
    """
    X, y = digits(n, seed=seed)
    model = make_mlp(sizes, "tanh", seed)
    objective = Objective(model, X, y, "mse")
    opt = SGD(objective.params, lr=lr)
    losses, where, sharp = [], [], []
    v = None
    with one_thread():
        for step in range(steps + 1):
            if step % track_every == 0 or step == steps:
                theta = flatten(get_weights(model))
                eig = top_eigenvalues(objective.hvp(theta), objective.dim, 1, iters=power_steps if v is not None else 20,
                                      v0=v, rng=seed, shift=0.0)
                v = eig.vectors[:, 0]
                where.append(step)
                sharp.append(float(eig.values[0]))
                set_weights(model, unflatten(theta, objective.like), objective.params)
            opt.zero_grad()
            loss = objective.loss_of_output(model(Tensor(X)))
            losses.append(float(loss.item()))
            if step < steps:
                loss.backward()
                opt.step()
    return EoSRun(lr, np.array(losses), np.array(where), np.array(sharp), flatten(get_weights(model)), objective)


# -- the chapter's runs, cached for the widgets -------------------------------------------------------------
LANDSCAPE_NET = dict(sizes=(64, 32, 10), n=1000, lr=0.1, batch_size=50, epochs=60, seed=0)


@lru_cache(maxsize=4)
def trained_relu_net(seed: int = 0):
    r"""A ReLU network 64-32-10 trained with SGD on 1000 digits (:data:`LANDSCAPE_NET`), and its trajectory.

    Parameters
    ----------
    seed : int
        The initial weights and the order of the batches; the data are the same for every seed
        (the first 1000 digits of the shuffle with ``LANDSCAPE_NET["seed"]``).

    Returns
    -------
    dict
        ``objective`` (:class:`Objective`, cross-entropy on the training digits), ``weights`` (the
        end point), ``run`` (:class:`Run`: loss and flattened parameters after every epoch),
        ``settings``. Cached: treat as read-only.
    """
    s = LANDSCAPE_NET
    X, y = digits(s["n"], seed=s["seed"])
    model = make_mlp(s["sizes"], "relu", seed)
    objective = Objective(model, X, y, "cross_entropy")
    weights, run = train_sgd(objective, get_weights(model), lr=s["lr"], batch_size=s["batch_size"],
                             epochs=s["epochs"], seed=seed)
    return {"objective": objective, "weights": weights, "run": run, "settings": {**s, "seed": seed}}


def landscape_net():
    """The chapter's network: :func:`trained_relu_net` with seed 0 (cached)."""
    return trained_relu_net(LANDSCAPE_NET["seed"])


@lru_cache(maxsize=16)
def eos_run(lr: float) -> EoSRun:
    """:func:`edge_of_stability` at its defaults, cached by learning rate (read-only)."""
    return edge_of_stability(float(lr))
