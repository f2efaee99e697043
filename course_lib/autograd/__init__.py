"""``course_lib.autograd``: a tensor-valued reverse-mode automatic-differentiation engine on NumPy.

The surface follows PyTorch, so code moves between the two with few changes::

    from course_lib.autograd import Tensor, no_grad, nn, optim
    from course_lib.autograd import functional as F

    model = nn.MLP([64, 128, 10], rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = F.cross_entropy(model(Tensor(X)), y)
    opt.zero_grad(); loss.backward(); opt.step()

Modules, each depending only on those above it: :mod:`~course_lib.autograd.graph` (grad mode,
topological order, unbroadcast), :mod:`~course_lib.autograd.tensor` (the Tensor, every op beside
its backward rule, the backward pass), :mod:`~course_lib.autograd.functional` (softmax, losses,
joining), :mod:`~course_lib.autograd.nn` (layers), :mod:`~course_lib.autograd.optim`
(optimizers); and :mod:`~course_lib.autograd.scalar` (a scalar engine in micrograd's style, for
contrast).
"""
from course_lib.autograd import functional, nn, optim
from course_lib.autograd.graph import is_grad_enabled, no_grad, topological_order, unbroadcast
from course_lib.autograd.tensor import Tensor, ones, randn, tensor, zeros

__all__ = ["Tensor", "no_grad", "is_grad_enabled", "tensor", "zeros", "ones", "randn", "unbroadcast",
           "topological_order", "functional", "nn", "optim"]
