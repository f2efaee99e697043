r"""Chapter 14: attributions, which input pixels a prediction depends on, and a test of whether a method is
explaining the model at all.

For a model :math:`f` with logits :math:`\mathbf{z} = f(\mathbf{x})`, a target class :math:`k` with logit :math:`z_k`, an input :math:`\mathbf{x}`
and a baseline :math:`\bar{\mathbf{x}}` (the "absence" of signal, e.g. a blank image):

- :func:`saliency`: :math:`\lvert\partial z_k/\partial x_i\rvert` (Simonyan et al. 2014; captum's ``Saliency``).
- :func:`gradient_x_input`: :math:`x_i\,\partial z_k/\partial x_i` (captum's ``InputXGradient``).
- :func:`integrated_gradients` (Sundararajan et al. 2017):

  .. math::
      \mathrm{IG}_i(\mathbf{x}) = (x_i - \bar x_i)\int_0^1 \frac{\partial z_k}{\partial x_i}
      \bigl(\bar{\mathbf{x}} + u(\mathbf{x} - \bar{\mathbf{x}})\bigr)\,du
      \approx (x_i - \bar x_i)\,\frac{1}{n_{\text{steps}}}\sum_{j=1}^{n_{\text{steps}}}
      \frac{\partial z_k}{\partial x_i}\Bigl(\bar{\mathbf{x}} + \tfrac{j - 1/2}{n_{\text{steps}}}
      (\mathbf{x} - \bar{\mathbf{x}})\Bigr),

  the midpoint rule at the path positions :math:`u_j = (j - 1/2)/n_{\text{steps}}` (captum's
  ``method="riemann_middle"``, whose ``alphas`` they are).
- Completeness: by the fundamental theorem of calculus for line integrals (:math:`u \mapsto z_k(\bar{\mathbf{x}} +
  u(\mathbf{x} - \bar{\mathbf{x}}))` continuous on [0, 1] and continuously differentiable on each of finitely many
  pieces, as for a ReLU network), :math:`\sum_i \mathrm{IG}_i = z_k(\mathbf{x}) - z_k(\bar{\mathbf{x}})` exactly;
  the midpoint rule's error is :math:`O(n_{\text{steps}}^{-2})` for a twice continuously differentiable path function and
  only :math:`O(n_{\text{steps}}^{-1})`-ish at the kinks a ReLU network has (:func:`completeness_errors`).
- :func:`randomization_sanity`: Adebayo et al. (2018)'s cascading model-parameter randomization: re-draw the
  weights from the output layer down and measure how much the map changes (Spearman rank correlation of the
  absolute attributions). A method whose maps survive randomized weights is explaining the input, not the model.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

__all__ = ["METHODS", "saliency", "gradient_x_input", "integrated_gradients", "attribute", "completeness_errors",
           "rank_correlation", "randomization_sanity"]

METHODS = ("saliency", "gradient_x_input", "integrated_gradients")


def _tensor(x) -> torch.Tensor:
    """A tensor of ``x``; a NumPy array is copied (the course's data arrays are read-only)."""
    return torch.tensor(x) if isinstance(x, np.ndarray) else torch.as_tensor(x)


def _targets(target, n: int) -> torch.Tensor:
    t = _tensor(target).long()
    if t.dim() == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"target must be an int or have shape ({n},), got {tuple(t.shape)}")
    return t


def _selected(model, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """:math:`z_{k_n}(\\mathbf{x}_n)` for each example n: shape (N,)."""
    out = model(x)
    if out.dim() != 2:
        raise ValueError(f"the model must return (N, K) outputs, got shape {tuple(out.shape)}")
    return out.gather(1, target[:, None])[:, 0]


def _grad(model, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """:math:`\\partial z_{k_n}/\\partial \\mathbf{x}_n` for each n (examples are independent, so the gradient of
    the sum is the per-example gradient)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        g, = torch.autograd.grad(_selected(model, x, target).sum(), x)
    return g


def saliency(model, inputs, target, abs: bool = True) -> torch.Tensor:
    r"""The gradient of the target output with respect to the input, :math:`\lvert\nabla_{\mathbf{x}} z_k\rvert`
    (its absolute value unless ``abs=False``). ``inputs`` (N, ...), ``target`` int or (N,); returns (N, ...)."""
    inputs = _tensor(inputs)
    g = _grad(model, inputs, _targets(target, len(inputs)))
    return g.abs() if abs else g


def gradient_x_input(model, inputs, target) -> torch.Tensor:
    r""":math:`\mathbf{x}\odot\nabla_{\mathbf{x}} z_k`: integrated gradients with one step at :math:`u = 1` and a
    zero baseline; exact (complete) for a linear model without bias. Shape as ``inputs``."""
    inputs = _tensor(inputs)
    return inputs * _grad(model, inputs, _targets(target, len(inputs)))


def integrated_gradients(model, inputs, baselines, target, n_steps: int = 50,
                         return_convergence_delta: bool = False, internal_batch_size: int | None = None):
    r"""Integrated gradients with the midpoint rule: the same numbers as captum's
    ``IntegratedGradients(model).attribute(inputs, baselines, target, n_steps=n_steps, method="riemann_middle")``.

    Parameters
    ----------
    model : torch.nn.Module
        (N, ...) -> (N, K).
    inputs : tensor, shape (N, ...)
    baselines : tensor broadcastable to ``inputs`` (e.g. shape (N, ...), (1, ...) or a scalar)
    target : int or tensor of int, shape (N,)
    n_steps : int, >= 1
        Path positions :math:`u_j = (j - 1/2)/n_{\text{steps}}`, weights :math:`1/n_{\text{steps}}`.
    return_convergence_delta : bool
        Also return the completeness error :math:`\sum_i\mathrm{IG}_i - (z_k(\mathbf{x}) - z_k(\bar{\mathbf{x}}))`,
        shape (N,) (captum's ``delta``, with the same sign).
    internal_batch_size : int, optional
        How many path points go through the model at once (default: all ``N * n_steps``).

    Returns
    -------
    attributions : tensor, shape (N, ...)
    delta : tensor, shape (N,), only with ``return_convergence_delta``
    """
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"integrated_gradients: n_steps must be a positive integer, got {n_steps}")
    inputs = _tensor(inputs)
    baselines = _tensor(baselines).to(inputs.device, inputs.dtype).expand_as(inputs)
    t = _targets(target, len(inputs))
    u = (torch.arange(n_steps, dtype=inputs.dtype, device=inputs.device) + 0.5) / n_steps  # captum's alphas
    diff = inputs - baselines
    # every path point of every example in one batch, u-major as captum lays them out
    points = (baselines[None] + u.view(-1, *([1] * inputs.dim())) * diff[None]).reshape(-1, *inputs.shape[1:])
    targets = t.repeat(n_steps)
    size = len(points) if internal_batch_size is None else int(internal_batch_size)
    grads = torch.cat([_grad(model, points[i:i + size], targets[i:i + size]) for i in range(0, len(points), size)])
    attributions = diff * grads.reshape(n_steps, *inputs.shape).mean(0)
    if not return_convergence_delta:
        return attributions
    with torch.no_grad():
        gap = _selected(model, inputs, t) - _selected(model, baselines, t)
    return attributions, attributions.flatten(1).sum(1) - gap


def attribute(model, inputs, target, method: str, baselines=0.0, n_steps: int = 50) -> torch.Tensor:
    """The attribution of ``method`` (one of :data:`METHODS`), shape as ``inputs``."""
    if method == "saliency":
        return saliency(model, inputs, target)
    if method == "gradient_x_input":
        return gradient_x_input(model, inputs, target)
    if method == "integrated_gradients":
        return integrated_gradients(model, inputs, baselines, target, n_steps)
    raise ValueError(f"attribute: method must be one of {METHODS}, got {method!r}")


def completeness_errors(model, inputs, baselines, target, n_steps_list) -> np.ndarray:
    r"""The largest completeness error :math:`\max_n \lvert\sum_i\mathrm{IG}_i - (z_k(\mathbf{x}_n) -
    z_k(\bar{\mathbf{x}}_n))\rvert` for each number of steps; shape (len(n_steps_list),)."""
    return np.array([float(integrated_gradients(model, inputs, baselines, target, int(n),
                                                return_convergence_delta=True)[1].abs().max())
                     for n in n_steps_list])


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation of two maps (flattened), ties given their average rank."""
    from scipy.stats import rankdata  # scipy only when called

    ra, rb = rankdata(np.ravel(a)), rankdata(np.ravel(b))
    if ra.std() == 0 or rb.std() == 0:
        return 0.0  # a constant map has no ranking to agree with
    return float(np.corrcoef(ra, rb)[0, 1])


def randomization_sanity(model, inputs, target, method: str, seed: int = 0, baselines=0.0,
                         n_steps: int = 50, support_only: bool = False) -> list[tuple[str, float]]:
    r"""Cascading parameter randomization (Adebayo et al. 2018).

    The layers with parameters are re-initialized (PyTorch's default initialization, drawn from ``seed``) from
    the output down, one more at each stage; after each stage the map of ``method`` is compared with the trained
    model's by :func:`rank_correlation` of the absolute attributions, averaged over the examples.

    Parameters
    ----------
    model : torch.nn.Module
        Left unchanged (a deep copy is randomized).
    inputs : tensor, shape (N, ...)
    target : int or tensor (N,)
        Kept fixed: the trained model's class for each input, typically.
    method : one of :data:`METHODS`
    support_only : bool
        Compare only the pixels where the input differs from the baseline. Gradient x input and IG are 0
        elsewhere whatever the weights (the :math:`(x_i - \bar x_i)` factor), and on digits that shared
        blank background alone gives a rank correlation near 0.9 between a trained and a random network's maps
        (measured in ``tests/test_explain.py``): the input, not the model, is what such a map then shows.

    Returns
    -------
    list of (name, mean rank correlation)
        ``("trained", 1.0)`` first, then one entry per randomized layer, named by ``named_modules``, top first.
    """
    inputs = _tensor(inputs)
    torch.manual_seed(seed)

    def maps(m):
        return attribute(m, inputs, target, method, baselines, n_steps).detach().abs().flatten(1).numpy()

    keep = (inputs - _tensor(baselines).to(inputs.dtype).expand_as(inputs)).flatten(1).numpy() != 0
    if not support_only:
        keep[:] = True
    reference = maps(model)
    copy_ = copy.deepcopy(model)
    layers = [(name, m) for name, m in copy_.named_modules()
              if hasattr(m, "reset_parameters") and any(True for _ in m.parameters(recurse=False))]
    if not layers:
        raise ValueError("randomization_sanity: the model has no layer with parameters to randomize")
    out = [("trained", 1.0)]
    for name, layer in reversed(layers):
        layer.reset_parameters()
        now = maps(copy_)
        out.append((name, float(np.mean([rank_correlation(r[k], c[k]) for r, c, k in zip(reference, now, keep)]))))
    return out
