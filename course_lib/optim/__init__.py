"""``course_lib.optim``: the optimizers and learning-rate schedules of chapter 06, with PyTorch's surface.

Use it as ``torch.optim``::

    from course_lib.optim import Adam, lr_scheduler
    opt = Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=50)

Modules
-------
- :mod:`~course_lib.optim.functional`: each update rule as a pure function
  ``(param, grad, state, **hyper) -> (new_param, new_state)``, with its equation;
- :mod:`~course_lib.optim.optimizer`: ``SGD``, ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW``
  (and :class:`Parameter`, a NumPy array with a ``.grad``);
- :mod:`~course_lib.optim.lr_scheduler`: closed-form schedules and ``StepLR``, ``ExponentialLR``,
  ``CosineAnnealingLR``, ``LinearLR`` (warm-up), ``LambdaLR``, ``SequentialLR``;
- :mod:`~course_lib.optim.quadratic`: step-size limits and convergence rates on quadratics;
- :mod:`~course_lib.optim.trajectory`: running rules on 2-D surfaces (the optimizer race);
- :mod:`~course_lib.optim.stochastic`: mini-batch gradients and their noise;
- :mod:`~course_lib.optim.net_surface`: a 2-D slice of a small network's loss.

``tests/test_optim.py`` checks every optimizer's trajectory against ``torch.optim`` over 100+
steps in float64, and every scheduler against ``torch.optim.lr_scheduler``.
"""
from course_lib.optim import functional, lr_scheduler
from course_lib.optim.functional import (
    adagrad_update,
    adam_update,
    adamw_update,
    adaptive_scale,
    ema,
    rmsprop_update,
    sgd_update,
)
from course_lib.optim.optimizer import SGD, Adagrad, Adam, AdamW, Optimizer, Parameter, RMSprop

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Optimizer", "Parameter", "functional", "lr_scheduler",
           "sgd_update", "adagrad_update", "rmsprop_update", "adam_update", "adamw_update", "adaptive_scale", "ema"]
