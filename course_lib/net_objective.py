r"""The loss of a chapter-05 engine network as a function of its parameters (chapter 08).

:class:`Objective` turns a network and a fixed data set into :math:`L(\boldsymbol\theta)`: its value, its
gradient (the engine's backward pass), a Hessian-vector product by central differences of
gradients (:func:`course_lib.curvature.central_difference_hvp`), accuracy and mini-batch gradients;
on lists of parameter arrays or on one flat vector. For checking, it also gives PyTorch's exact
Hessian-vector product (double backward) and full Hessian on the same weights
(:meth:`Objective.torch_hvp`, :meth:`Objective.torch_hessian`; torch is imported inside them only).

Everything is float64: the curvature comes from differences of gradients, which float32 would
drown in rounding. The products are small, so they run on one BLAS thread (two threads fighting
over two busy cores are many times slower).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from course_lib.autograd import Tensor, no_grad, nn
from course_lib.autograd import functional as AF
from course_lib.curvature import central_difference_hvp
from course_lib.landscapes import flatten, unflatten

LOSSES = ("cross_entropy", "mse")


@lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # inspects the loaded libraries once (about a millisecond)


def one_thread():
    """A context in which NumPy's BLAS uses one thread (small matrices: threads cost more than they save)."""
    return _controller().limit(limits=1, user_api="blas")


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
        r""":math:`L(\boldsymbol\theta)` for a list of parameter arrays."""
        set_weights(self.model, weights, self.params)
        with no_grad(), one_thread():
            return float(self.loss_of_output(self.model(Tensor(self.X))).item())

    def value_and_grad(self, weights, idx=None) -> tuple[float, list[np.ndarray]]:
        r""":math:`L` and :math:`\nabla L` (a list shaped like the parameters), by the engine's backward pass.

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
        """The share of examples whose largest output is their label."""
        set_weights(self.model, weights, self.params)
        with no_grad(), one_thread():
            out = self.model(Tensor(self.X)).data
        return float(np.mean(np.argmax(out, axis=1) == self.y))

    # flat-vector views, for the curvature routines
    def flat_loss(self, theta) -> float:
        r""":math:`L(\boldsymbol\theta)` for a flat vector, shape (P,)."""
        return self(unflatten(theta, self.like))

    def flat_grad(self, theta) -> np.ndarray:
        r""":math:`\nabla L(\boldsymbol\theta)` for a flat vector: ndarray, shape (P,)."""
        return flatten(self.value_and_grad(unflatten(theta, self.like))[1])

    def hvp(self, theta, h: float | None = None):
        r"""``v -> H v`` at ``theta`` by :func:`course_lib.curvature.central_difference_hvp` (smooth activations only)."""
        theta = np.asarray(theta, dtype=np.float64)
        return lambda v: central_difference_hvp(self.flat_grad, theta, v, h)

    # exact second derivatives from PyTorch, on the same weights
    def _torch_loss(self):
        """The same loss in PyTorch (float64), as a function of one flat tensor (the engine's layouts are torch's)."""
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
