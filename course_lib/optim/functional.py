r"""The update rules of chapter 06 as pure functions: ``(param, grad, state, **hyper) -> (new_param, new_state)``.

Each function is one step of the optimizer of the same name in ``torch.optim`` (its
single-tensor algorithm, ``maximize=False`` unless asked), in the same order of operations:
where weight decay enters, where :math:`\epsilon` goes (outside the square root), how the
first momentum step is taken, and which step number the bias correction uses.

Conventions
-----------
- ``param`` and ``grad`` are arrays of one shape (any shape, or broadcastable: the widgets
  pass a batch of 2-D points, shape ``(2, n)``); hyper-parameters are floats, or arrays that
  broadcast against ``param`` (the momentum map of chapter 06 sweeps a grid of them at once).
- ``state`` is a dict with PyTorch's state names (``momentum_buffer``, ``step``, ``sum``,
  ``square_avg``, ``exp_avg``, ``exp_avg_sq``...); ``None`` or ``{}`` means "no step taken yet".
- The arithmetic follows the order of torch's kernels (``addcdiv`` is ``p + (value * a) / b``), so
  that even the rounding agrees; adaptive methods near a minimum amplify differences of one
  ulp, which is why trajectory tests run in float64 away from that regime.
- Nothing is modified in place: the function returns a new parameter and a new state dict.
  The classes of :mod:`course_lib.optim.optimizer` copy the new values into the parameters.
"""
from __future__ import annotations

import numpy as np


def _lerp(start, end, weight):
    r""":math:`\text{start} + w\,(\text{end} - \text{start})`, evaluated as ``torch.lerp`` does (same rounding)."""
    if (weight < 0.5) if isinstance(weight, float) else np.all(np.asarray(weight) < 0.5):
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def _nonzero(x) -> bool:
    """Whether a hyper-parameter (a number, or an array of them) is anywhere non-zero."""
    return x != 0 if isinstance(x, (int, float)) else bool(np.any(np.asarray(x) != 0))


def _decayed(param, grad, weight_decay, maximize):
    r"""The gradient the rules use: sign-flipped to maximize, plus the L2 term :math:`\lambda\theta`."""
    grad = -grad if maximize else grad
    if _nonzero(weight_decay):
        grad = grad + weight_decay * param
    return grad


def sgd_update(param, grad, state=None, *, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
               nesterov=False, maximize=False):
    r"""One step of SGD with optional momentum, Nesterov momentum and L2 weight decay (``torch.optim.SGD``).

    Parameters
    ----------
    param, grad : ndarray, shape S
        Parameters :math:`\boldsymbol\theta_{t-1}` and gradient :math:`\mathbf{g}_t = \nabla L(\boldsymbol\theta_{t-1})`.
    state : dict or None
        ``{"momentum_buffer": u}`` after the first step with momentum; empty before.
    lr, momentum, dampening, weight_decay : float or ndarray broadcastable to S
        :math:`\eta`, :math:`\beta`, the dampening :math:`d`, :math:`\lambda`.
    nesterov, maximize : bool

    Returns
    -------
    new_param : ndarray, shape S
    new_state : dict

    Notes
    -----
    .. math::
        \mathbf{g} &\leftarrow \mathbf{g}_t + \lambda\boldsymbol\theta_{t-1} \\
        \mathbf{u}_t &= \begin{cases}\mathbf{g} & t = 1\\ \beta\,\mathbf{u}_{t-1} + (1-d)\,\mathbf{g} & t > 1\end{cases} \\
        \boldsymbol\Delta &= \begin{cases}\mathbf{g} + \beta\,\mathbf{u}_t & \text{Nesterov}\\ \mathbf{u}_t & \text{otherwise}\end{cases} \\
        \boldsymbol\theta_t &= \boldsymbol\theta_{t-1} - \eta\,\boldsymbol\Delta

    The learning rate multiplies the buffer (the velocity :math:`\mathbf{u}_t`); it is not inside it.
    With :math:`d = 0` this is Polyak's heavy ball :math:`\boldsymbol\theta_{t} = \boldsymbol\theta_{t-1} - \eta\mathbf{g}_t
    + \beta(\boldsymbol\theta_{t-1} - \boldsymbol\theta_{t-2})`. With ``momentum=0`` no buffer is kept.
    """
    state = dict(state or {})
    d = _decayed(param, grad, weight_decay, maximize)
    if _nonzero(momentum):
        buf = state.get("momentum_buffer")
        buf = np.array(d, copy=True) if buf is None else momentum * buf + (1 - dampening) * d
        state["momentum_buffer"] = buf
        d = d + momentum * buf if nesterov else buf
    return param - lr * d, state


def adagrad_update(param, grad, state=None, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                   initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    r"""One step of AdaGrad (``torch.optim.Adagrad``; Duchi, Hazan and Singer 2011).

    Parameters
    ----------
    param, grad : ndarray, shape S
    state : dict or None
        ``{"step": t - 1, "sum": s}``; empty before the first step.
    lr, lr_decay, weight_decay, initial_accumulator_value, eps : float
    maximize : bool

    Returns
    -------
    new_param : ndarray, shape S
    new_state : dict, ``{"step": t, "sum": s_t}``

    Notes
    -----
    .. math::
        \mathbf{g} &\leftarrow \mathbf{g}_t + \lambda\boldsymbol\theta_{t-1},\qquad
        \tilde\eta = \frac{\eta}{1 + (t-1)\,\text{lr\_decay}} \\
        \mathbf{s}_t &= \mathbf{s}_{t-1} + \mathbf{g}\odot\mathbf{g},\qquad \mathbf{s}_0 = \text{initial\_accumulator\_value} \\
        \boldsymbol\theta_t &= \boldsymbol\theta_{t-1} - \tilde\eta\,\frac{\mathbf{g}}{\sqrt{\mathbf{s}_t} + \epsilon}

    Every coordinate gets its own step size, which only ever shrinks. :math:`\epsilon` is added
    *after* the square root.
    """
    state = dict(state or {})
    t = state.get("step", 0) + 1
    total = state.get("sum")
    if total is None:
        total = np.full_like(param, initial_accumulator_value, dtype=np.result_type(param, np.float32))
    d = _decayed(param, grad, weight_decay, maximize)
    clr = lr / (1 + (t - 1) * lr_decay)
    total = total + d * d
    state.update(step=t, sum=total)
    return param - clr * d / (np.sqrt(total) + eps), state


def rmsprop_update(param, grad, state=None, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                   centered=False, maximize=False):
    r"""One step of RMSProp (``torch.optim.RMSprop``; Tieleman and Hinton 2012).

    Parameters
    ----------
    param, grad : ndarray, shape S
    state : dict or None
        ``{"step", "square_avg"}``, plus ``"momentum_buffer"`` (momentum > 0) and
        ``"grad_avg"`` (centered); empty before the first step.
    lr, alpha, eps, weight_decay, momentum : float or ndarray broadcastable to S
        :math:`\eta`, the decay :math:`\alpha` of the squared-gradient average, :math:`\epsilon`, :math:`\lambda`, :math:`\beta`.
    centered, maximize : bool

    Returns
    -------
    new_param : ndarray, shape S
    new_state : dict

    Notes
    -----
    .. math::
        \mathbf{v}_t &= \alpha\,\mathbf{v}_{t-1} + (1-\alpha)\,\mathbf{g}\odot\mathbf{g},\qquad \mathbf{v}_0 = \mathbf{0} \\
        \mathbf{r}_t &= \sqrt{\mathbf{v}_t} + \epsilon
            \quad\big(\text{centered: } \sqrt{\mathbf{v}_t - \bar{\mathbf{g}}_t\odot\bar{\mathbf{g}}_t} + \epsilon,\;
            \bar{\mathbf{g}}_t = \alpha\bar{\mathbf{g}}_{t-1} + (1-\alpha)\mathbf{g}\big) \\
        \boldsymbol\theta_t &= \boldsymbol\theta_{t-1} - \eta\,\mathbf{g}/\mathbf{r}_t
            \quad\big(\text{momentum: } \mathbf{u}_t = \beta\mathbf{u}_{t-1} + \mathbf{g}/\mathbf{r}_t,\;
            \boldsymbol\theta_t = \boldsymbol\theta_{t-1} - \eta\,\mathbf{u}_t\big)

    with :math:`\mathbf{g} = \mathbf{g}_t + \lambda\boldsymbol\theta_{t-1}`. :math:`\epsilon` is
    outside the square root; there is no bias correction (compare :func:`adam_update`).
    """
    state = dict(state or {})
    t = state.get("step", 0) + 1
    d = _decayed(param, grad, weight_decay, maximize)
    square_avg = state.get("square_avg", 0.0)
    square_avg = alpha * square_avg + (1 - alpha) * d * d
    state.update(step=t, square_avg=square_avg)
    if centered:
        grad_avg = state.get("grad_avg", 0.0)
        grad_avg = _lerp(grad_avg, d, 1 - alpha)
        state["grad_avg"] = grad_avg
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if _nonzero(momentum):  # momentum >= 0 (checked by the class)
        buf = momentum * state.get("momentum_buffer", 0.0) + d / avg
        state["momentum_buffer"] = buf
        return param - lr * buf, state
    return param - lr * d / avg, state


def adam_update(param, grad, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                amsgrad=False, maximize=False, decoupled_weight_decay=False):
    r"""One step of Adam (``torch.optim.Adam``; Kingma and Ba 2015), or AdamW with ``decoupled_weight_decay``.

    Parameters
    ----------
    param, grad : ndarray, shape S
    state : dict or None
        ``{"step": t - 1, "exp_avg": m, "exp_avg_sq": v}`` (plus ``"max_exp_avg_sq"`` with
        amsgrad); empty before the first step.
    lr, eps, weight_decay : float or ndarray broadcastable to S
    betas : (float, float)
        :math:`(\beta_1, \beta_2)`: decays of the averages of the gradient and of its square.
    amsgrad, maximize, decoupled_weight_decay : bool

    Returns
    -------
    new_param : ndarray, shape S
    new_state : dict, ``{"step": t, "exp_avg": m_t, "exp_avg_sq": v_t}``

    Notes
    -----
    .. math::
        \mathbf{m}_t &= \beta_1\mathbf{m}_{t-1} + (1-\beta_1)\,\mathbf{g},\qquad
        \mathbf{v}_t = \beta_2\mathbf{v}_{t-1} + (1-\beta_2)\,\mathbf{g}\odot\mathbf{g},
        \qquad \mathbf{m}_0 = \mathbf{v}_0 = \mathbf{0} \\
        \hat{\mathbf{m}}_t &= \frac{\mathbf{m}_t}{1-\beta_1^{\,t}},\qquad
        \hat{\mathbf{v}}_t = \frac{\mathbf{v}_t}{1-\beta_2^{\,t}} \qquad (t = 1 \text{ at the first step}) \\
        \boldsymbol\theta_t &= \boldsymbol\theta_{t-1} - \eta\,\frac{\hat{\mathbf{m}}_t}{\sqrt{\hat{\mathbf{v}}_t} + \epsilon}

    Weight decay :math:`\lambda`: as L2 in the loss (Adam) it is added to the gradient,
    :math:`\mathbf{g} = \mathbf{g}_t + \lambda\boldsymbol\theta_{t-1}`, and then rescaled by
    :math:`1/\sqrt{\hat{\mathbf{v}}}` like the rest of the gradient; decoupled (AdamW, Loshchilov and
    Hutter 2019) it shrinks the parameters directly before the step,
    :math:`\boldsymbol\theta \leftarrow (1 - \eta\lambda)\,\boldsymbol\theta`, with
    :math:`\mathbf{g} = \mathbf{g}_t`. The bias corrections undo the pull of the zero
    initialization: for a constant gradient, :math:`\mathbf{m}_t = (1-\beta_1^t)\,\mathbf{g}`.
    With amsgrad, :math:`\hat{\mathbf{v}}_t` uses :math:`\max_{s\le t}\mathbf{v}_s`.
    As in PyTorch the step is :math:`\eta/(1-\beta_1^t)\cdot\mathbf{m}_t/(\sqrt{\mathbf{v}_t}/\sqrt{1-\beta_2^t} + \epsilon)`.
    """
    state = dict(state or {})
    beta1, beta2 = betas
    t = state.get("step", 0) + 1
    g = -grad if maximize else grad
    if _nonzero(weight_decay):
        if decoupled_weight_decay:
            param = param * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * param
    m = _lerp(state.get("exp_avg", 0.0), g, 1 - beta1)  # = beta1 m + (1 - beta1) g
    v = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * g * g
    state.update(step=t, exp_avg=m, exp_avg_sq=v)
    if amsgrad:
        v = np.maximum(state.get("max_exp_avg_sq", 0.0), v)
        state["max_exp_avg_sq"] = v
    bias_correction1 = 1 - beta1 ** t
    bias_correction2 = 1 - beta2 ** t
    denom = np.sqrt(v) / bias_correction2 ** 0.5 + eps
    return param - (lr / bias_correction1) * m / denom, state


def adamw_update(param, grad, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
    r"""One step of AdamW (``torch.optim.AdamW``): :func:`adam_update` with decoupled weight decay.

    Parameters and Returns as :func:`adam_update` (the default ``weight_decay`` is 0.01, as in PyTorch).

    Notes
    -----
    .. math::
        \boldsymbol\theta_t = (1 - \eta\lambda)\,\boldsymbol\theta_{t-1}
        - \eta\,\frac{\hat{\mathbf{m}}_t}{\sqrt{\hat{\mathbf{v}}_t} + \epsilon}

    where :math:`\hat{\mathbf{m}}_t, \hat{\mathbf{v}}_t` are built from the gradient of the loss
    alone: the decay is not divided by :math:`\sqrt{\hat{\mathbf{v}}_t}`, so every weight shrinks
    by the same factor (Loshchilov and Hutter 2019).
    """
    return adam_update(param, grad, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)


def ema(values, beta: float, bias_correction: bool = True) -> np.ndarray:
    r"""Exponential moving average of a sequence, with Adam's bias correction.

    Parameters
    ----------
    values : array_like, shape (T, ...)
        :math:`g_1, \dots, g_T` along the first axis.
    beta : float
        Decay :math:`\beta \in [0, 1)`.
    bias_correction : bool
        Divide the t-th average by :math:`1 - \beta^t`.

    Returns
    -------
    ndarray, shape of ``values``: :math:`m_t` (or :math:`\hat m_t`) for t = 1..T.

    Notes
    -----
    .. math:: m_t = \beta m_{t-1} + (1-\beta) g_t = (1-\beta)\sum_{s=1}^{t}\beta^{t-s}g_s,\qquad m_0 = 0 .

    The weights sum to :math:`(1-\beta)\sum_{s=1}^t\beta^{t-s} = 1 - \beta^t`, not 1: the zero start
    pulls :math:`m_t` towards 0 (for a constant :math:`g`, :math:`m_t = (1-\beta^t)g`). Dividing by
    :math:`1-\beta^t` makes the weights sum to 1: :math:`\hat m_t = m_t/(1-\beta^t)`, with t = 1 at the
    first value (Kingma and Ba 2015, section 3).
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    m = np.zeros(values.shape[1:])
    for t, g in enumerate(values, start=1):
        m = beta * m + (1 - beta) * g
        out[t - 1] = m / (1 - beta ** t) if bias_correction else m
    return out


def adaptive_scale(state: dict, *, lr, eps, betas=None) -> np.ndarray:
    r"""The per-coordinate step size an adaptive method applies to its (averaged) gradient.

    Parameters
    ----------
    state : dict
        The state after a step of :func:`adagrad_update` (``"sum"``), :func:`rmsprop_update`
        (``"square_avg"``) or :func:`adam_update` (``"exp_avg_sq"`` and ``"step"``).
    lr, eps : float
    betas : (float, float), for Adam only

    Returns
    -------
    ndarray, the shape of the parameter

    Notes
    -----
    AdaGrad :math:`\eta/(\sqrt{\mathbf{s}_t}+\epsilon)`; RMSProp :math:`\eta/(\sqrt{\mathbf{v}_t}+\epsilon)`;
    Adam :math:`\eta/(\sqrt{\hat{\mathbf{v}}_t}+\epsilon)`, which multiplies :math:`\hat{\mathbf{m}}_t`.
    Coordinates with a history of large gradients get small steps, and vice versa.
    """
    if "exp_avg_sq" in state:
        v_hat = state.get("max_exp_avg_sq", state["exp_avg_sq"]) / (1 - betas[1] ** state["step"])
        return lr / (np.sqrt(v_hat) + eps)
    if "square_avg" in state:
        return lr / (np.sqrt(state["square_avg"]) + eps)
    if "sum" in state:
        return lr / (np.sqrt(state["sum"]) + eps)
    raise ValueError("adaptive_scale needs the state of AdaGrad, RMSProp or Adam")
