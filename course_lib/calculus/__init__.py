r"""Chapter 02: derivatives, their finite-difference estimates, the chain rule and Taylor.

Conventions: a scalar function of one variable is vectorized (``f(x)`` works on arrays,
element-wise); a function :math:`f:\mathbb{R}^n\to\mathbb{R}^m` takes a vector of shape
``(n,)`` and returns ``(m,)``; its Jacobian has shape ``(m, n)``, rows are outputs:
:math:`J_{ij} = \partial f_i/\partial x_j` (the layout of :func:`numerical_jacobian`).

Vector gradients and Jacobians by finite differences are those of the shared checker,
:mod:`course_lib.gradcheck` (re-exported here); this package adds the one-variable
differences and their error model, which explain that checker's tolerances.

One module per idea, each importing only those listed before it; every public name is
re-exported here (``from course_lib import calculus as calc; calc.central_difference``):

- :mod:`~course_lib.calculus.finite_differences`: forward, backward and central differences,
  truncation and round-off error, the optimal step, test functions of one variable
- :mod:`~course_lib.calculus.jacobians`: directional derivatives, Jacobian checks, a tanh
  layer's Jacobian
- :mod:`~course_lib.calculus.composition`: the chain rule, forward and reverse accumulation
- :mod:`~course_lib.calculus.taylor`: first- and second-order Taylor, tangent planes and
  level-set tangents
"""
from course_lib.gradcheck import numerical_gradient, numerical_jacobian
from course_lib.calculus.finite_differences import (
    EPS,
    FD_METHODS,
    FUNCTIONS_1D,
    Function1D,
    backward_difference,
    central_difference,
    fd_errors,
    forward_difference,
    optimal_step,
    roundoff_error,
    total_error,
    truncation_error,
)
from course_lib.calculus.jacobians import (
    directional_derivative,
    directional_derivative_fd,
    jacobian_check,
    tanh_layer_jacobian,
)
from course_lib.calculus.composition import Layer, chain_costs, chain_jacobian, chain_rule, chain_vjp
from course_lib.calculus.taylor import level_set_tangent, tangent_plane, taylor1, taylor2

__all__ = [
    "EPS", "forward_difference", "backward_difference", "central_difference", "FD_METHODS", "fd_errors",
    "truncation_error", "roundoff_error", "total_error", "optimal_step", "Function1D", "FUNCTIONS_1D",
    "directional_derivative", "directional_derivative_fd", "numerical_gradient", "numerical_jacobian",
    "jacobian_check", "tanh_layer_jacobian", "chain_rule", "chain_jacobian", "chain_vjp", "chain_costs",
    "taylor1", "taylor2", "tangent_plane", "level_set_tangent",
]
