r"""Chapter 14: adversarial examples (FGSM, PGD under :math:`L_\infty` and :math:`L_2`), their accuracy curves,
adversarial training, gradient masking, and data augmentation as a robustness tool.

Notation: :math:`\mathbf{x} \in [0, 1]^d` a clean input with label :math:`y`, :math:`\boldsymbol\delta` a
perturbation, :math:`\tilde{\mathbf{x}} = \mathbf{x} + \boldsymbol\delta` the adversarial input,
:math:`\epsilon_{\text{adv}}` the budget (:math:`\lVert\boldsymbol\delta\rVert_p \le \epsilon_{\text{adv}}`), :math:`L` the cross-entropy loss and
:math:`\eta_{\text{adv}}` the PGD step size.

- :func:`linear_worst_case`: for a linear score :math:`\mathbf{w}^\top\mathbf{x}` the largest change over the
  :math:`L_\infty` ball is :math:`\epsilon_{\text{adv}}\lVert\mathbf{w}\rVert_1`, reached at
  :math:`\boldsymbol\delta = \epsilon_{\text{adv}}\,\operatorname{sign}(\mathbf{w})` (Hölder's inequality); over the
  :math:`L_2` ball it is :math:`\epsilon_{\text{adv}}\lVert\mathbf{w}\rVert_2`.
- :func:`fgsm`: :math:`\tilde{\mathbf{x}} = \operatorname{clip}_{[0,1]}(\mathbf{x} +
  \epsilon_{\text{adv}}\,\operatorname{sign}\nabla_{\mathbf{x}} L)`: one step *up* the loss.
- :func:`pgd`: repeated steps, each followed by the projection :math:`\Pi` back onto the ball around the clean
  input and the clamp to the valid pixel range (their composition is the projection onto the intersection for
  :math:`L_\infty`, and stays feasible for :math:`L_2`).
- :func:`robust_accuracy`, :func:`accuracy_curve`: accuracy against :math:`\epsilon_{\text{adv}}`, measured.
- :func:`pgd_attack`: an attack with fixed settings, in the form adversarial training takes.
- :class:`ScaledLogits`: a "defence" that multiplies the logits: the same predictions, a saturated softmax and
  zero cross-entropy gradients, so FGSM on the cross-entropy fails while the margin loss still breaks it
  (gradient masking).
- :func:`random_shift`, :func:`pixel_noise`, :func:`compose`: label-preserving augmentations of (N, 1, H, W)
  batches in [0, 1] (chapter 07's shifts, plus noise clipped to the pixel range).
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["PIXEL_RANGE", "linear_worst_case", "project_linf", "project_l2", "fgsm", "pgd", "margin_loss",
           "robust_accuracy", "accuracy_curve", "pgd_attack", "ScaledLogits", "random_shift", "pixel_noise",
           "compose", "mean_loss"]

PIXEL_RANGE = (0.0, 1.0)
NORMS = ("linf", "l2")


def linear_worst_case(w, eps: float, norm: str = "linf") -> tuple[float, np.ndarray]:
    r"""The largest change of :math:`\mathbf{w}^\top\mathbf{x}` over :math:`\lVert\boldsymbol\delta\rVert \le
    \epsilon_{\text{adv}}`, and the perturbation that reaches it.

    :math:`\max_{\lVert\boldsymbol\delta\rVert_\infty\le\epsilon_{\text{adv}}}\mathbf{w}^\top\boldsymbol\delta =
    \epsilon_{\text{adv}}\lVert\mathbf{w}\rVert_1` at
    :math:`\boldsymbol\delta = \epsilon_{\text{adv}}\operatorname{sign}(\mathbf{w})`;
    :math:`\max_{\lVert\boldsymbol\delta\rVert_2\le\epsilon_{\text{adv}}}\mathbf{w}^\top\boldsymbol\delta =
    \epsilon_{\text{adv}}\lVert\mathbf{w}\rVert_2` at
    :math:`\boldsymbol\delta = \epsilon_{\text{adv}}\mathbf{w}/\lVert\mathbf{w}\rVert_2`
    (Hölder's inequality with the dual norm). Ignores the pixel range.

    Parameters
    ----------
    w : array_like, shape (d,)
    eps : float, >= 0
    norm : {"linf", "l2"}

    Returns
    -------
    change : float
    delta : ndarray, shape (d,)
    """
    w = np.asarray(w, dtype=float).ravel()
    _check_eps(eps)
    if norm == "linf":
        return float(eps * np.abs(w).sum()), eps * np.sign(w)
    if norm == "l2":
        n = np.linalg.norm(w)
        return float(eps * n), (eps * w / n if n > 0 else np.zeros_like(w))
    raise ValueError(f"linear_worst_case: norm must be one of {NORMS}, got {norm!r}")


def _check_eps(eps):
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"the budget eps must be a finite number >= 0, got {eps}")


def _per_example_norm(delta: torch.Tensor) -> torch.Tensor:
    """The L2 norm of each example of a batch (N, ...), shaped (N, 1, 1, ...) to broadcast."""
    return delta.flatten(1).norm(dim=1).view(-1, *([1] * (delta.dim() - 1)))


def project_linf(delta: torch.Tensor, eps: float) -> torch.Tensor:
    r"""The Euclidean projection of each perturbation onto
    :math:`\{\lVert\boldsymbol\delta\rVert_\infty\le\epsilon_{\text{adv}}\}`: clip every coordinate to :math:`[-\epsilon_{\text{adv}}, \epsilon_{\text{adv}}]`."""
    return delta.clamp(-eps, eps)


def project_l2(delta: torch.Tensor, eps: float) -> torch.Tensor:
    r"""The Euclidean projection of each perturbation (a batch, N first) onto :math:`\{\lVert\boldsymbol\delta\rVert_2
    \le\epsilon_{\text{adv}}\}`: rescale to length :math:`\epsilon_{\text{adv}}` those that are longer, leave the
    others."""
    n = _per_example_norm(delta)
    return delta * torch.clamp(eps / n.clamp_min(1e-30), max=1.0)


def margin_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Per example, the best other logit minus the true one, :math:`\max_{k\ne y} z_k - z_y` (positive means
    misclassified; Carlini and Wagner's loss). Unlike the cross-entropy it does not saturate when the logits
    are scaled up, so its gradient survives a saturated softmax."""
    true = logits.gather(1, y[:, None])[:, 0]
    other = logits.masked_fill(torch.nn.functional.one_hot(y, logits.shape[1]).bool(), float("-inf")).amax(1)
    return other - true


def _loss(model, x, y, loss: str) -> torch.Tensor:
    logits = model(x)
    if loss == "ce":
        return torch.nn.functional.cross_entropy(logits, y, reduction="sum")  # sum: per-example gradients unscaled
    if loss == "margin":
        return margin_loss(logits, y).sum()
    raise ValueError(f"loss must be 'ce' or 'margin', got {loss!r}")


def _input_grad(model, x, y, loss: str) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        g, = torch.autograd.grad(_loss(model, x, y, loss), x)
    return g


def _device(model) -> torch.device | None:
    """Where ``model``'s parameters live; None for a plain function (the inputs then stay where they are)."""
    if not isinstance(model, torch.nn.Module):
        return None
    from course_lib.models.digit_classifiers import model_device

    return model_device(model)


def _as_batch(x, y, device=None):
    """``x`` and ``y`` as tensors (a NumPy array copied: the data are read-only) on ``device`` (default: where
    ``x`` is), checked: one label per input, pixels in range."""
    x = (torch.tensor(x) if isinstance(x, np.ndarray) else torch.as_tensor(x)).detach()
    y = torch.as_tensor(np.asarray(y) if isinstance(y, np.ndarray) else y)
    if device is not None:
        x, y = x.to(device), y.to(device)
    if y.dim() != 1 or len(y) != len(x):
        raise ValueError(f"labels must have shape ({len(x)},), one per input, got {tuple(y.shape)}")
    lo, hi = PIXEL_RANGE
    if x.min() < lo or x.max() > hi:
        raise ValueError(f"inputs must lie in the valid pixel range [{lo}, {hi}]; got [{float(x.min())}, "
                         f"{float(x.max())}]")
    return x, y.long()


def fgsm(model, x, y, eps: float, loss: str = "ce") -> torch.Tensor:
    r"""The fast gradient sign method (Goodfellow et al. 2015), :math:`L_\infty`.

    :math:`\tilde{\mathbf{x}} = \operatorname{clip}_{[0,1]}\bigl(\mathbf{x} + \epsilon_{\text{adv}}\,\operatorname{sign}
    \nabla_{\mathbf{x}} L(f(\mathbf{x}), y)\bigr)`: the first-order maximizer of the loss over the
    :math:`L_\infty` ball (:func:`linear_worst_case` applied to the linearized loss), then the clamp.

    Parameters
    ----------
    model : torch.nn.Module
        (N, ...) inputs -> (N, K) logits; used in its current mode (call ``.eval()`` first).
    x : tensor, shape (N, ...), in [0, 1]
    y : tensor of int, shape (N,)
    eps : float
    loss : {"ce", "margin"}

    Returns
    -------
    tensor, shape (N, ...), detached
    """
    _check_eps(eps)
    x, y = _as_batch(x, y, _device(model))
    return (x + eps * _input_grad(model, x, y, loss).sign()).clamp(*PIXEL_RANGE).detach()


def pgd(model, x, y, eps: float, norm: str = "linf", step_size: float | None = None, n_steps: int = 10,
        random_start: bool = True, loss: str = "ce", generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Projected gradient ascent on the loss (Madry et al. 2018), under :math:`L_\infty` or :math:`L_2`.

    .. math::
        \tilde{\mathbf{x}}^{(t+1)} = \operatorname{clip}_{[0,1]}\Bigl(\mathbf{x} + \Pi_{\mathcal S}\bigl(
        \tilde{\mathbf{x}}^{(t)} + \eta_{\text{adv}}\,\mathbf{d}^{(t)} - \mathbf{x}\bigr)\Bigr),

    with the step direction :math:`\mathbf{d}^{(t)} = \operatorname{sign}\nabla_{\mathbf{x}} L(\tilde{\mathbf{x}}^{(t)})` (:math:`L_\infty`, the steepest
    ascent for that norm) or :math:`\nabla L/\lVert\nabla L\rVert_2` (:math:`L_2`), and :math:`\Pi_{\mathcal S}`
    :func:`project_linf` or :func:`project_l2`. Clamping after the projection keeps the point in the ball:
    each coordinate of :math:`\boldsymbol\delta` only moves toward 0, because :math:`\mathbf{x}` is in range.

    Parameters
    ----------
    model, x, y, loss : as :func:`fgsm`
    eps : float
    norm : {"linf", "l2"}
    step_size : float, optional
        :math:`\eta_{\text{adv}}`; by default :math:`2.5\,\epsilon_{\text{adv}}/T` (Madry et al.'s choice), so that
        the iterates can cross the ball.
    n_steps : int
        :math:`T`.
    random_start : bool
        Start from a uniform point of the :math:`L_\infty` cube (for ``"l2"``: a Gaussian direction scaled to
        a uniform radius), clamped: it avoids a start where the gradient is zero or misleading.
    generator : torch.Generator, optional
        For the random start.

    Returns
    -------
    tensor, shape (N, ...), detached
    """
    _check_eps(eps)
    if norm not in NORMS:
        raise ValueError(f"pgd: norm must be one of {NORMS}, got {norm!r}")
    if n_steps < 1:
        raise ValueError(f"pgd: n_steps must be >= 1, got {n_steps}")
    x, y = _as_batch(x, y, _device(model))
    project = project_linf if norm == "linf" else project_l2
    eta = 2.5 * eps / n_steps if step_size is None else step_size  # eta_adv
    if random_start and eps > 0:
        # drawn on the CPU (a CPU generator) and moved: the same starts on every device
        if norm == "linf":
            delta = (torch.rand(x.shape, generator=generator, dtype=x.dtype) * 2 - 1) * eps
        else:
            d = torch.randn(x.shape, generator=generator, dtype=x.dtype)
            r = torch.rand((len(x),) + (1,) * (x.dim() - 1), generator=generator, dtype=x.dtype)
            delta = d / _per_example_norm(d).clamp_min(1e-30) * r * eps
        x_adv = (x + delta.to(x.device)).clamp(*PIXEL_RANGE)
    else:
        x_adv = x.clone()
    for _ in range(n_steps):
        g = _input_grad(model, x_adv, y, loss)
        d = g.sign() if norm == "linf" else g / _per_example_norm(g).clamp_min(1e-30)  # the direction d^(t)
        x_adv = (x + project(x_adv + eta * d - x, eps)).clamp(*PIXEL_RANGE).detach()
    return x_adv


def mean_loss(model, x, y) -> float:
    """The mean cross-entropy of ``model`` on ``(x, y)`` (arrays or tensors), on the model's device."""
    x, y = _as_batch(x, y, _device(model))
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(model(x), y))


def robust_accuracy(model, X, y, eps: float, attack: str = "pgd", batch: int = 512, seed: int = 0,
                    **kwargs) -> float:
    """The accuracy of ``model`` on the attack's examples made from ``(X, y)`` at budget ``eps``.

    ``attack``: ``"fgsm"`` or ``"pgd"`` (``kwargs`` go to :func:`pgd`: norm, n_steps, step_size, loss...).
    """
    if attack not in ("fgsm", "pgd"):
        raise ValueError(f"robust_accuracy: attack must be 'fgsm' or 'pgd', got {attack!r}")
    model.eval()
    X, y = _as_batch(X, y, _device(model))
    gen = torch.Generator().manual_seed(seed)
    correct = 0
    for i in range(0, len(X), batch):
        xb, yb = X[i:i + batch], y[i:i + batch]
        xa = fgsm(model, xb, yb, eps, **kwargs) if attack == "fgsm" else pgd(model, xb, yb, eps, generator=gen,
                                                                            **kwargs)
        with torch.no_grad():
            correct += int((model(xa).argmax(1) == yb).sum())
    return correct / len(X)


def accuracy_curve(model, X, y, eps_list, attack: str = "pgd", **kwargs) -> np.ndarray:
    """:func:`robust_accuracy` at each budget of ``eps_list``; shape (len(eps_list),)."""
    return np.array([robust_accuracy(model, X, y, float(e), attack, **kwargs) for e in eps_list])


def pgd_attack(eps: float, norm: str = "linf", n_steps: int = 7, step_size: float | None = None):
    """An attack with fixed settings, ``(model, x, y, generator) -> x_adv``, for adversarial training
    (:func:`course_lib.models.digit_classifiers.train_classifier`). Runs the model in eval mode."""
    _check_eps(eps)

    def attack(model, x, y, generator=None):
        was_training = model.training
        model.eval()
        try:
            return pgd(model, x, y, eps, norm=norm, n_steps=n_steps, step_size=step_size, generator=generator)
        finally:
            model.train(was_training)

    return attack


class ScaledLogits(torch.nn.Module):
    r"""``model``'s logits times ``scale``: the same argmax (the same accuracy), but for a large scale the
    float32 softmax is exactly one-hot on confident inputs, so :math:`\nabla_{\mathbf{x}} L_{\text{CE}} = 0`
    there and FGSM/PGD on the cross-entropy do nothing: a defence by gradient masking, not by robustness."""

    def __init__(self, model: torch.nn.Module, scale: float):
        super().__init__()
        self.model, self.scale = model, float(scale)

    def forward(self, x):
        return self.model(x) * self.scale


# -- data augmentation (chapter 07) -----------------------------------------------------------------------------
def random_shift(max_shift: int = 1):
    """An augmentation ``(batch (N, C, H, W), rng) -> batch``: each image moved by its own random whole-pixel
    offset in ``-max_shift..max_shift`` along each axis, blank (0) pixels coming in at the edges."""
    def augment(xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, _, h, w = xb.shape
        out = np.zeros_like(xb)
        offsets = rng.integers(-max_shift, max_shift + 1, (n, 2))
        for i, (dy, dx) in enumerate(offsets):
            out[i, :, max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = \
                xb[i, :, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
        return out

    return augment


def pixel_noise(sd: float):
    """An augmentation adding Gaussian noise of standard deviation ``sd`` to every pixel, then clamping to
    the valid range (the augmented image is still an image)."""
    def augment(xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.clip(xb + sd * rng.standard_normal(xb.shape).astype(xb.dtype), *PIXEL_RANGE)

    return augment


def compose(*augmentations):
    """The augmentations applied in order."""
    def augment(xb, rng):
        for a in augmentations:
            xb = a(xb, rng)
        return xb

    return augment
