r"""Chapter 08's experiments: small MLPs in the chapter-05 engine on scikit-learn's digits, as functions of their parameters.

- :func:`digits`, :func:`make_mlp`, :func:`get_weights`, :func:`set_weights`.
- :class:`Objective`: the loss of a network on fixed data as a function of a list of
  parameter arrays (or of one flat vector): value, gradient, a Hessian-vector product by
  central differences, accuracy; and, for checking, PyTorch's exact Hessian-vector product
  and full Hessian on the same weights (:meth:`Objective.torch_hvp`, :meth:`Objective.torch_hessian`;
  torch is imported inside them only).
- :func:`train_sgd`: mini-batch SGD in the engine, recording the trajectory of the parameters.
- :func:`edge_of_stability`: full-batch gradient descent on the squared loss, tracking the sharpness.
- :func:`landscape_net`, :func:`eos_run`: the chapter's runs, cached so that the widgets reuse them.

Everything is float64: the curvature is computed from differences of gradients, which
float32 would drown in rounding. The products are small, so they run on one BLAS thread
(two threads fighting over two busy cores are many times slower).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from course_lib.autograd import Tensor, no_grad, nn
from course_lib.autograd import functional as AF
from course_lib.autograd.optim import SGD
from course_lib.curvature import central_difference_hvp, top_eigenvalues
from course_lib.landscapes import flatten, unflatten

LOSSES = ("cross_entropy", "mse")


@lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # inspects the loaded libraries once (about a millisecond)


def one_thread():
    """A context in which NumPy's BLAS uses one thread (small matrices: threads cost more than they save)."""
    return _controller().limit(limits=1, user_api="blas")


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


def get_weights(model) -> list[np.ndarray]:
    """Copies of the parameters, in the order of ``model.parameters()``."""
    return [p.data.copy() for p in model.parameters()]


def set_weights(model, weights, params=None) -> None:
    """Write ``weights`` (a list shaped like the parameters) into the model, in place.

    ``params``: the model's ``parameters()``, when the caller already has them (listing them walks the model).
    """
    params = model.parameters() if params is None else params
    if len(params) != len(weights):
        raise ValueError(f"set_weights: the model has {len(params)} parameters, got {len(weights)} arrays")
    for p, w in zip(params, weights):
        if np.shape(w) != p.shape:
            raise ValueError(f"set_weights: a parameter of shape {p.shape} cannot take an array of shape {np.shape(w)}")
        p.data[...] = w


class Objective:
    r"""The loss of one engine network on fixed data, as a function of its parameters.

    Parameters
    ----------
    model : course_lib.autograd.nn.MLP
        Used as a function: every call writes the given parameters into it first.
    X : ndarray, shape (N, d)
    y : ndarray of int, shape (N,)
    loss : {"cross_entropy", "mse"}
        Mean cross-entropy of the softmax, or the squared loss on one-hot targets
        :math:`L = \frac1{2N}\sum_n\lVert f(\mathbf x_n) - \mathbf e_{y_n}\rVert^2` (the half-sum convention of
        Cohen et al. 2021, so that a linear model's Hessian is :math:`\mathbf X^\top\mathbf X/N`).
    """

    def __init__(self, model, X, y, loss: str = "cross_entropy"):
        if loss not in LOSSES:
            raise ValueError(f"Objective: loss must be one of {LOSSES}, not {loss!r}")
        self.model, self.loss_name = model, loss
        self.X, self.y = np.asarray(X, dtype=np.float64), np.asarray(y)
        self.n_classes = model.sizes[-1]
        self.params = model.parameters()
        self.like = get_weights(model)
        self.dim = sum(w.size for w in self.like)

    def loss_of_output(self, out: Tensor, idx=None) -> Tensor:
        """The loss (an engine scalar) of the network's output ``out`` on all examples, or on ``idx``."""
        y = self.y if idx is None else self.y[idx]
        if self.loss_name == "cross_entropy":
            return AF.cross_entropy(out, y)
        onehot = np.eye(self.n_classes)[y]
        return AF.mse(out, onehot) * (self.n_classes / 2.0)  # mse averages over N*K entries

    def __call__(self, weights) -> float:
        """:math:`L(\\boldsymbol\\theta)` for a list of parameter arrays."""
        set_weights(self.model, weights, self.params)
        with no_grad(), one_thread():
            return float(self.loss_of_output(self.model(Tensor(self.X))).item())

    def value_and_grad(self, weights, idx=None) -> tuple[float, list[np.ndarray]]:
        """:math:`L` and :math:`\\nabla L` (a list shaped like the parameters), by the engine's backward pass.

        ``idx``: only these examples (a mini-batch); all of them by default.
        """
        set_weights(self.model, weights, self.params)
        for p in self.params:
            p.grad = None
        with one_thread():
            loss = self.loss_of_output(self.model(Tensor(self.X if idx is None else self.X[idx])), idx)
            loss.backward()
        return float(loss.item()), [p.grad.copy() for p in self.params]

    def stochastic(self, batch_size: int, rng=None):
        """``weights -> (loss, gradient)`` on a fresh random mini-batch of ``batch_size`` examples at every call."""
        rng = np.random.default_rng(rng)
        return lambda weights: self.value_and_grad(weights, rng.choice(len(self.y), size=batch_size, replace=False))

    def accuracy(self, weights) -> float:
        set_weights(self.model, weights, self.params)
        with no_grad(), one_thread():
            out = self.model(Tensor(self.X)).data
        return float(np.mean(np.argmax(out, axis=1) == self.y))

    # flat-vector views, for the curvature routines
    def flat_loss(self, theta) -> float:
        return self(unflatten(theta, self.like))

    def flat_grad(self, theta) -> np.ndarray:
        return flatten(self.value_and_grad(unflatten(theta, self.like))[1])

    def hvp(self, theta, h: float | None = None):
        r"""``v -> H v`` at ``theta`` by :func:`course_lib.curvature.central_difference_hvp` (smooth activations only)."""
        theta = np.asarray(theta, dtype=np.float64)
        return lambda v: central_difference_hvp(self.flat_grad, theta, v, h)

    # exact second derivatives from PyTorch, on the same weights
    def _torch_loss(self):
        import torch

        acts = {nn.ReLU: torch.relu, nn.Tanh: torch.tanh, nn.Sigmoid: torch.sigmoid}
        layers = list(self.model)
        X = torch.from_numpy(self.X)
        y = torch.from_numpy(np.asarray(self.y, dtype=np.int64))
        shapes = [w.shape for w in self.like]

        def loss(theta):
            parts = torch.split(theta, [int(np.prod(s)) for s in shapes])
            params = iter(p.reshape(s) for p, s in zip(parts, shapes))
            h = X
            for layer in layers:
                h = torch.nn.functional.linear(h, next(params), next(params)) if isinstance(layer, nn.Linear) \
                    else acts[type(layer)](h)
            if self.loss_name == "cross_entropy":
                return torch.nn.functional.cross_entropy(h, y)
            return 0.5 * ((h - torch.nn.functional.one_hot(y, self.n_classes)) ** 2).sum(dim=1).mean()
        return loss

    def torch_hvp(self, theta):
        r"""``v -> H v`` exactly (double backward in PyTorch, float64): :math:`\mathbf H\mathbf v = \nabla(\nabla L\cdot\mathbf v)`."""
        import torch

        loss = self._torch_loss()
        t = torch.tensor(np.asarray(theta, dtype=np.float64), requires_grad=True)
        (g,) = torch.autograd.grad(loss(t), t, create_graph=True)

        def hvp(v):
            (hv,) = torch.autograd.grad(g, t, grad_outputs=torch.from_numpy(np.asarray(v, dtype=np.float64)),
                                        retain_graph=True)
            return hv.numpy().copy()
        return hvp

    def torch_hessian(self, theta) -> np.ndarray:
        """The full Hessian from ``torch.autograd.functional.hessian`` (float64), shape (P, P)."""
        import torch

        return torch.autograd.functional.hessian(self._torch_loss(),
                                                 torch.tensor(np.asarray(theta, dtype=np.float64)),
                                                 vectorize=True).numpy()


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
