r"""``course_lib.autograd``: a tensor-valued reverse-mode automatic-differentiation engine on NumPy.

The surface follows PyTorch, so code moves between the two with few changes::

    from course_lib.autograd import Tensor, no_grad, nn, optim
    from course_lib.autograd import functional as F

    model = nn.MLP([64, 128, 10], rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = F.cross_entropy(model(Tensor(X)), y)
    opt.zero_grad(); loss.backward(); opt.step()

Modules, each depending only on those above it: :mod:`~course_lib.autograd.graph` (grad mode,
topological order, unbroadcast), :mod:`~course_lib.autograd.tensor` (the Tensor, :func:`record`,
every op beside its backward rule, the backward pass), :mod:`~course_lib.autograd.functional`
(softmax, losses, joining), :mod:`~course_lib.autograd.nn` (layers),
:mod:`~course_lib.autograd.optim` (optimizers); and :mod:`~course_lib.autograd.scalar` (a scalar
engine in micrograd's style, for contrast).

Defining a new op
-----------------
Every op, the engine's own and those of later chapters (batch norm, convolutions, recurrent
cells, attention), goes through one public function, :func:`record`: compute the output from
the inputs' ``.data``, write the backward rule beside it as a closure ``backward(g)`` that
returns one gradient per input (None where an input needs none), and hand both over::

    import numpy as np
    from course_lib.autograd import Tensor, record

    def scale_shift(x: Tensor, a: Tensor, b: Tensor) -> Tensor:
        '''y = a x + b, element-wise with a, b of shape (D,) broadcast over x (N, D).

        dL/dx = a G,   dL/da = sum_n G x,   dL/db = sum_n G.
        '''
        def backward(g):
            return (g * a.data if x.requires_grad else None,
                    (g * x.data).sum(axis=0) if a.requires_grad else None,
                    g.sum(axis=0) if b.requires_grad else None)
        return record(a.data * x.data + b.data, (x, a, b), backward, "scale_shift")

The engine keeps the closure only when some input requires grad, calls it once per backward
pass with :math:`\mathbf{G} = \partial L/\partial\,\text{out}`, sums what several uses of a
tensor send back, and fails loudly, naming the op, when a backward rule returns the wrong
number of gradients or a gradient of the wrong shape. Check a new op with
:func:`course_lib.gradcheck.gradcheck` in float64 and against ``torch.autograd``, as
``tests/test_autograd_ops.py`` does for the engine's own.
"""
from course_lib.autograd import functional, nn, optim
from course_lib.autograd.graph import is_grad_enabled, no_grad, topological_order, unbroadcast
from course_lib.autograd.memory import keep_freed_memory
from course_lib.autograd.tensor import Tensor, as_tensor, ones, randn, record, tensor, zeros

keep_freed_memory()  # a training step reuses the memory of the last one instead of faulting in fresh pages

__all__ = ["Tensor", "record", "as_tensor", "no_grad", "is_grad_enabled", "tensor", "zeros", "ones", "randn",
           "unbroadcast", "topological_order", "functional", "nn", "optim"]
