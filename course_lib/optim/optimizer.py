"""Optimizers with PyTorch's surface: ``SGD``, ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW``.

Same class names, constructor arguments, defaults, ``param_groups``, ``state``, ``step()`` and
``zero_grad()`` as ``torch.optim``, so a training loop moves between the two unchanged::

    opt = Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    for X, y in batches:
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()

A parameter is any object with ``.data`` (an ndarray, updated in place) and ``.grad`` (an
ndarray of the same shape, or None: then it is skipped, as in PyTorch): a
:class:`course_lib.autograd.Tensor`, or the :class:`Parameter` below for plain NumPy. Each
class only names its hyper-parameters and checks them; the arithmetic is the pure function of
:mod:`course_lib.optim.functional` with the same name, which the widgets call directly.
"""
from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from course_lib.optim import functional as F

# Accepted so that code written for torch.optim runs unchanged; they select kernels, not the maths.
_TORCH_ONLY = ("foreach", "fused", "capturable", "differentiable")


class Parameter:
    """A NumPy array with a gradient slot: the smallest object the optimizers can update.

    Parameters
    ----------
    data : array_like
        Converted to a float64 array (copied).

    Attributes
    ----------
    data : ndarray
    grad : ndarray or None
    """

    def __init__(self, data):
        self.data = np.array(data, dtype=np.float64)
        self.grad = None

    def __repr__(self) -> str:
        return f"Parameter({np.array2string(self.data, precision=4)})"


class _ParamState(dict):
    """``optimizer.state[param]``: a dict keyed by the parameter object's identity.

    Identity, not equality, because array-like parameters compare element-wise.
    """

    def __getitem__(self, param):
        return super().__getitem__(id(param))

    def __setitem__(self, param, value):
        super().__setitem__(id(param), value)

    def __contains__(self, param):
        return super().__contains__(id(param))

    def get(self, param, default=None):
        return super().get(id(param), default)


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad`` and ``step``.

    Parameters
    ----------
    params : iterable of parameters, or of dicts ``{"params": [...], **hyper}``
        As in ``torch.optim``: one group, or several groups with their own hyper-parameters.
    defaults : dict
        The hyper-parameters of every group that does not set its own.

    Notes
    -----
    A subclass sets ``update``, the pure rule ``(param, grad, state, **hyper) -> (new_param,
    new_state)``; ``step`` hands it the hyper-parameters of the parameter's group that the rule
    accepts (so a scheduler that changes ``group["lr"]`` takes effect at the next step).
    """

    update: Callable = None

    def __init__(self, params, defaults: dict):
        if isinstance(params, np.ndarray) or hasattr(params, "data"):
            raise TypeError("params must be an iterable of parameters (e.g. model.parameters()), not one parameter")
        self.defaults = dict(defaults)
        self.state = _ParamState()
        self.param_groups: list[dict] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        self._accepts = set(inspect.signature(type(self).update).parameters) - {"param", "grad", "state"}

    def add_param_group(self, group: dict) -> None:
        """Add a group ``{"params": [...], **hyper}``; missing hyper-parameters take the defaults."""
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if hasattr(params, "data") else list(params)
        for p in group["params"]:
            if not isinstance(getattr(p, "data", None), np.ndarray):
                raise TypeError(f"a parameter needs a NumPy array in `.data`, got {type(p).__name__}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``.grad = None`` (PyTorch's default), or zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad = np.zeros_like(p.grad)

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = closure() if closure is not None else None
        rule = type(self).update
        for group in self.param_groups:
            hyper = {k: v for k, v in group.items() if k in self._accepts}
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = np.asarray(p.grad)
                if grad.shape != p.data.shape:
                    raise ValueError(f"gradient of shape {grad.shape} for a parameter of shape {p.data.shape}")
                new, self.state[p] = rule(p.data, grad, self.state.get(p), **hyper)
                p.data[...] = new  # in place, in the parameter's own dtype, as torch's add_
        return loss

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_common(lr, eps=0.0, weight_decay=0.0, extra: dict | None = None) -> None:
    """The argument checks ``torch.optim`` makes (same messages)."""
    _check(lr >= 0, f"Invalid learning rate: {lr}")
    _check(eps >= 0, f"Invalid epsilon value: {eps}")
    _check(weight_decay >= 0, f"Invalid weight_decay value: {weight_decay}")
    for name, ok in (extra or {}).items():
        _check(ok, name)


def _torch_only(kwargs: dict) -> None:
    unknown = set(kwargs) - set(_TORCH_ONLY)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    if kwargs.get("differentiable"):
        raise ValueError("differentiable=True needs torch's autograd; course_lib.optim steps are not differentiable")


class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay (``torch.optim.SGD``).

    Parameters
    ----------
    params : iterable of parameters or of parameter groups
    lr : float, default 1e-3
    momentum, dampening, weight_decay : float, default 0
    nesterov : bool, default False
        Needs ``momentum > 0`` and ``dampening == 0``.
    maximize : bool, default False

    Notes
    -----
    The rule is :func:`course_lib.optim.functional.sgd_update`:
    :math:`\mathbf{u}_t = \beta\mathbf{u}_{t-1} + (1-d)\mathbf{g}_t` (momentum :math:`\beta`, dampening :math:`d`),
    :math:`\boldsymbol\theta_t = \boldsymbol\theta_{t-1} - \eta\mathbf{u}_t`.
    """

    update = staticmethod(F.sgd_update)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, **torch_only):
        _torch_only(torch_only)
        _check_common(lr, 0.0, weight_decay, {f"Invalid momentum value: {momentum}": momentum >= 0})
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))


class Adagrad(Optimizer):
    r"""AdaGrad (``torch.optim.Adagrad``): per-coordinate steps :math:`\eta/(\sqrt{\sum_s g_s^2}+\epsilon)`.

    Parameters
    ----------
    params : iterable of parameters or of parameter groups
    lr : float, default 1e-2
    lr_decay, weight_decay, initial_accumulator_value : float, default 0
    eps : float, default 1e-10
    maximize : bool, default False

    Notes
    -----
    The rule is :func:`course_lib.optim.functional.adagrad_update`.
    """

    update = staticmethod(F.adagrad_update)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 *, maximize=False, **torch_only):
        _torch_only(torch_only)
        _check_common(lr, eps, weight_decay, {
            f"Invalid lr_decay value: {lr_decay}": lr_decay >= 0,
            f"Invalid initial_accumulator_value value: {initial_accumulator_value}": initial_accumulator_value >= 0})
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))


class RMSprop(Optimizer):
    """RMSProp (``torch.optim.RMSprop``): steps scaled by a running RMS of the gradient.

    Parameters
    ----------
    params : iterable of parameters or of parameter groups
    lr : float, default 1e-2
    alpha : float, default 0.99
        Decay of the average of squared gradients.
    eps : float, default 1e-8
        Added to the root (outside it).
    weight_decay, momentum : float, default 0
    centered, maximize : bool, default False

    Notes
    -----
    The rule is :func:`course_lib.optim.functional.rmsprop_update`.
    """

    update = staticmethod(F.rmsprop_update)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 maximize=False, **torch_only):
        _torch_only(torch_only)
        _check_common(lr, eps, weight_decay, {f"Invalid momentum value: {momentum}": momentum >= 0,
                                              f"Invalid alpha value: {alpha}": alpha >= 0})
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))


def _check_betas(betas) -> None:
    _check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
    _check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``): bias-corrected averages of the gradient and its square.

    Parameters
    ----------
    params : iterable of parameters or of parameter groups
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
        L2 penalty added to the gradient (see :class:`AdamW` for the decoupled form).
    amsgrad, maximize, decoupled_weight_decay : bool, default False

    Notes
    -----
    The rule is :func:`course_lib.optim.functional.adam_update`.
    """

    update = staticmethod(F.adam_update)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False, **torch_only):
        _torch_only(torch_only)
        _check_common(lr, eps, weight_decay)
        _check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))


class AdamW(Adam):
    r"""AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay, default ``weight_decay=1e-2``.

    Parameters
    ----------
    As :class:`Adam`, without ``decoupled_weight_decay`` (always on).

    Notes
    -----
    :math:`\boldsymbol\theta_t = (1-\eta\lambda)\boldsymbol\theta_{t-1} - \eta\hat{\mathbf{m}}_t/(\sqrt{\hat{\mathbf{v}}_t}+\epsilon)`,
    :func:`course_lib.optim.functional.adamw_update`.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, **torch_only):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True, **torch_only)
