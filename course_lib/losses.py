r"""Chapter 04: loss functions and their gradients, numerically safe for any input.

Each loss sits next to its gradient, with the reduction PyTorch uses by default (the
*mean*), so that values and gradients match ``torch.nn.functional`` exactly:

- :func:`mse`: :math:`\frac1N\sum_i (\hat y_i - y_i)^2`, gradient :math:`\frac2N(\hat{\mathbf y} - \mathbf y)`;
- :func:`softmax_cross_entropy`: :math:`-\frac1N\sum_n \log \operatorname{softmax}(\mathbf z_n)_{y_n}`,
  gradient :math:`\frac1N(\mathbf S - \mathbf Y)` with respect to the logits;
- :func:`binary_cross_entropy_with_logits`: :math:`\frac1N\sum_i \operatorname{softplus}(z_i) - y_i z_i`,
  gradient :math:`\frac1N(\sigma(\mathbf z) - \mathbf y)`;
- :func:`binary_cross_entropy`: :math:`-\frac1N\sum_i y_i\log p_i + (1-y_i)\log(1-p_i)`,
  gradient :math:`\frac1N\frac{p_i-y_i}{p_i(1-p_i)}` with respect to the probabilities.

``N`` is the number of entries averaged over: every entry for MSE and the binary losses,
the number of examples (rows) for the softmax cross-entropy.

The classification losses take **logits** whenever they can: from logits the log
probabilities come out of :func:`course_lib.probability.log_softmax` and
:func:`course_lib.activations.log_sigmoid`, which never overflow and never take
``log(0)``. From probabilities (:func:`binary_cross_entropy`) an exact 0 or 1 is a real
possibility; see its docstring for the convention.

As in :mod:`course_lib.activations`, underflow (a tiny result rounded to 0) is the only
floating-point event these functions silence: they run quietly under ``np.errstate(all="raise")``.
"""
from __future__ import annotations

import numpy as np

from course_lib.activations import log_sigmoid, sigmoid, underflow_is_fine
from course_lib.probability import cross_entropy, log_softmax, softmax

PYTORCH_LOG_FLOOR = -100.0  # torch.nn.functional.binary_cross_entropy clamps each log at -100


def _pair(pred, target) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"predictions have shape {pred.shape} but targets {target.shape}")
    return pred, target


# -- regression -------------------------------------------------------------------------------


@underflow_is_fine
def mse(pred, target) -> float:
    r"""Mean squared error.

    Parameters
    ----------
    pred : array_like, any shape
        Predictions :math:`\hat{\mathbf y}`.
    target : array_like, shape of ``pred``
        Targets :math:`\mathbf y`.

    Returns
    -------
    float

    Notes
    -----
    .. math::  L = \frac1N\sum_{i=1}^{N} (\hat y_i - y_i)^2

    with :math:`N` the number of entries (all of them, as ``torch.nn.functional.mse_loss``).
    """
    pred, target = _pair(pred, target)
    return float(np.mean((pred - target) ** 2))


@underflow_is_fine
def mse_grad(pred, target) -> np.ndarray:
    r"""Gradient of :func:`mse` with respect to the predictions.

    Returns
    -------
    ndarray, shape of ``pred``

    Notes
    -----
    .. math::  \frac{\partial L}{\partial \hat y_i} = \frac{2}{N}(\hat y_i - y_i)

    The 2 comes from the square, the :math:`1/N` from the mean.
    """
    pred, target = _pair(pred, target)
    return 2.0 * (pred - target) / max(pred.size, 1)


# -- multi-class classification -------------------------------------------------------------------


def _logits_and_labels(logits, targets) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``(N, K)`` and labels ``(N,)``; one example ``(K,)`` with a scalar label is a batch of one."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(targets)
    if z.ndim == 1:
        z, y = z[None, :], y.reshape(1)
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(f"expected logits (N, K) and targets (N,), got {z.shape} and {y.shape}")
    if y.dtype.kind not in "iu" or np.any((y < 0) | (y >= z.shape[1])):
        raise ValueError(f"targets must be integer class indices in 0..{z.shape[1] - 1}")
    return z, y.astype(np.intp)


@underflow_is_fine
def softmax_cross_entropy(logits, targets) -> float:
    r"""Cross-entropy of integer labels under a softmax of the logits, averaged over the batch.

    Parameters
    ----------
    logits : array_like, shape (N, K) or (K,)
        One row of class scores per example (one example may be given as a vector).
    targets : array_like of int, shape (N,) (or a scalar for one example)
        Class indices in ``0..K-1``.

    Returns
    -------
    float

    Notes
    -----
    .. math::  L = -\frac1N\sum_{n=1}^{N} \log\operatorname{softmax}(\mathbf z_n)_{y_n}
               = \frac1N\sum_n \bigl(\operatorname{LSE}(\mathbf z_n) - z_{n,y_n}\bigr)

    Computed with ``log_softmax`` (chapter 03), so logits of any size are safe; adding a
    constant to a row of logits does not change the loss. Equals
    ``torch.nn.functional.cross_entropy(logits, targets)``.
    """
    z, y = _logits_and_labels(logits, targets)
    return float(-np.mean(log_softmax(z, axis=1)[np.arange(len(y)), y]))


@underflow_is_fine
def softmax_cross_entropy_grad(logits, targets) -> np.ndarray:
    r"""Gradient of :func:`softmax_cross_entropy` with respect to the logits.

    Returns
    -------
    ndarray, shape of ``logits``

    Notes
    -----
    With :math:`\mathbf S = \operatorname{softmax}` row by row and :math:`\mathbf Y` the one-hot labels,

    .. math::  \frac{\partial L}{\partial z_{n,k}} = \frac1N\bigl(s_{n,k} - [k = y_n]\bigr),
               \qquad \nabla_{\mathbf Z} L = \frac1N(\mathbf S - \mathbf Y).

    Derivation: :math:`\partial\operatorname{LSE}/\partial z_k = s_k` and
    :math:`\partial z_{y}/\partial z_k = [k = y]`. Each row sums to 0, and each entry is
    bounded by :math:`1/N` in size: the gradient never explodes and, while the prediction
    is wrong, never vanishes.
    """
    z, y = _logits_and_labels(logits, targets)
    grad = softmax(z, axis=1)
    grad[np.arange(len(y)), y] -= 1.0
    return (grad / len(y)).reshape(np.shape(logits))


# -- binary classification ----------------------------------------------------------------------


@underflow_is_fine
def binary_cross_entropy_with_logits(logits, targets) -> float:
    r"""Binary cross-entropy from logits, stable for logits of any size.

    Parameters
    ----------
    logits : array_like, any shape
        :math:`z`, with :math:`p = \sigma(z)` the predicted probability of class 1.
    targets : array_like, shape of ``logits``
        :math:`y \in [0, 1]` (labels 0/1, or soft targets).

    Returns
    -------
    float

    Notes
    -----
    .. math::  L = -\frac1N\sum_i \bigl(y_i\log\sigma(z_i) + (1-y_i)\log\sigma(-z_i)\bigr)
               = \frac1N\sum_i \bigl(\operatorname{softplus}(z_i) - y_i z_i\bigr)

    using :math:`1 - \sigma(z) = \sigma(-z)` and :math:`\log\sigma(z) = z - \operatorname{softplus}(z)`.
    The log-probabilities come from :func:`~course_lib.activations.log_sigmoid`, never from
    ``log(sigmoid(z))``, which is ``log(0) = -inf`` once :math:`|z| \gtrsim 37` rounds
    :math:`\sigma(z)` to exactly 0 or 1. Equals
    ``torch.nn.functional.binary_cross_entropy_with_logits``.
    """
    z, y = _pair(logits, targets)
    return float(-np.mean(y * log_sigmoid(z) + (1.0 - y) * log_sigmoid(-z)))


@underflow_is_fine
def binary_cross_entropy_with_logits_grad(logits, targets) -> np.ndarray:
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to the logits.

    Returns
    -------
    ndarray, shape of ``logits``

    Notes
    -----
    .. math::  \frac{\partial L}{\partial z_i} = \frac1N\bigl(\sigma(z_i) - y_i\bigr)

    The same form as the softmax case (prediction minus target), bounded by :math:`1/N`.
    """
    z, y = _pair(logits, targets)
    return (sigmoid(z) - y) / max(z.size, 1)


@underflow_is_fine
def binary_cross_entropy(probs, targets, log_floor: float | None = PYTORCH_LOG_FLOOR) -> float:
    r"""Binary cross-entropy from probabilities, defined for exact 0 and 1.

    Parameters
    ----------
    probs : array_like, any shape
        Predicted probabilities :math:`p \in [0, 1]` of class 1.
    targets : array_like, shape of ``probs``
        :math:`y \in [0, 1]`.
    log_floor : float or None
        Lower bound applied to each log-probability. The default ``-100`` is PyTorch's
        convention (``torch.nn.functional.binary_cross_entropy``): the loss of a confident
        mistake is large (100 per entry) but finite. ``None`` keeps the exact value,
        ``inf``.

    Returns
    -------
    float
        Never NaN, and no floating-point warning, whatever the inputs in :math:`[0, 1]`.

    Notes
    -----
    .. math::  L = -\frac1N\sum_i \bigl(y_i\log p_i + (1-y_i)\log(1-p_i)\bigr)

    The convention at the edges:

    - :math:`0\cdot\log 0 = 0`: a term whose weight is 0 contributes nothing, so a
      prediction of exactly 1 for a target of 1 (or 0 for 0) has loss exactly 0.
    - :math:`\log 0 = -\infty`: a prediction of exactly 0 for a target of 1 costs
      :math:`+\infty`, or :math:`-\text{log\_floor}` with the floor.

    Prefer :func:`binary_cross_entropy_with_logits` when the logits are available: a
    probability of exactly 0 or 1 has already lost the information of how wrong it was.
    """
    p, y = _pair(probs, targets)
    # The cross-entropy of the two-outcome distributions (y, 1 - y) and (p, 1 - p), entry by entry;
    # chapter 03's cross_entropy already makes 0 log 0 = 0 and log 0 = -inf without a warning.
    q = np.stack([p, 1.0 - p], axis=-1)
    if log_floor is not None:
        q = np.maximum(q, np.exp(log_floor))  # log(max(q, e^floor)) = max(log q, floor)
    return float(np.mean(cross_entropy(np.stack([y, 1.0 - y], axis=-1), q)))


@underflow_is_fine
def binary_cross_entropy_grad(probs, targets) -> np.ndarray:
    r"""Gradient of :func:`binary_cross_entropy` with respect to the probabilities, for :math:`0 < p < 1`.

    Returns
    -------
    ndarray, shape of ``probs``

    Notes
    -----
    .. math::  \frac{\partial L}{\partial p_i} = \frac1N\Bigl(\frac{1-y_i}{1-p_i} - \frac{y_i}{p_i}\Bigr)
               = \frac1N\,\frac{p_i - y_i}{p_i(1-p_i)}

    It blows up as :math:`p\to0` or :math:`1`; multiplied by :math:`\sigma'(z) = p(1-p)`
    (the chain rule through :math:`p = \sigma(z)`) it becomes the tame
    :math:`(p - y)/N` of :func:`binary_cross_entropy_with_logits_grad`.
    """
    p, y = _pair(probs, targets)
    return (p - y) / (p * (1.0 - p)) / max(p.size, 1)
