r"""Gradient descent and momentum on a quadratic: step-size limits and convergence rates.

On :math:`f(\boldsymbol\theta) = \tfrac12\boldsymbol\theta^\top\mathbf{H}\boldsymbol\theta`
with Hessian eigenvalues :math:`0 < \lambda_{\min} \le \dots \le \lambda_{\max}`
(condition number :math:`\kappa = \lambda_{\max}/\lambda_{\min}`; optimization texts often write
:math:`\mu` and :math:`L` for the two bounds, but in this course :math:`\mu` is a mean and :math:`L`
the loss), every method of chapter 06 with a constant
step is a linear recursion, and each eigen-direction of :math:`\mathbf{H}` evolves on its
own. Its rate (the factor by which the error shrinks per step, eventually) is a spectral
radius, in closed form. Goh, "Why Momentum Really Works", Distill 2017, draws the same maps.
"""
from __future__ import annotations

import math

import numpy as np

from course_lib.optim.functional import sgd_update


def gd_rate(lr, eigenvalues) -> np.ndarray:
    r"""Convergence rate of gradient descent on a quadratic.

    Parameters
    ----------
    lr : float or ndarray
        Step size :math:`\eta` (any shape; broadcast against each eigenvalue).
    eigenvalues : array_like, shape (n,)
        Eigenvalues :math:`\lambda_i` of the Hessian.

    Returns
    -------
    ndarray, the shape of ``lr``

    Notes
    -----
    :math:`\boldsymbol\theta_{t} = (\mathbf{I} - \eta\mathbf{H})\boldsymbol\theta_{t-1}`, so the
    component along eigenvector :math:`i` is multiplied by :math:`1 - \eta\lambda_i` each step:

    .. math:: \rho(\eta) = \max_i |1 - \eta\lambda_i| = \max(|1 - \eta\lambda_{\min}|, |1 - \eta\lambda_{\max}|).

    :math:`\rho < 1` (convergence) exactly when :math:`0 < \eta < 2/\lambda_{\max}`.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    lr = np.asarray(lr, dtype=np.float64)
    return np.max(np.abs(1 - lr[..., None] * lam), axis=-1)


def max_stable_lr(lam_max: float) -> float:
    r"""The stability bound :math:`2/\lambda_{\max}` of gradient descent: larger steps diverge along the steepest
    direction."""
    return 2.0 / lam_max


def optimal_gd_lr(lam_max: float, lam_min: float) -> float:
    r"""The step that minimizes :func:`gd_rate`: :math:`\eta^* = 2/(\lambda_{\max} + \lambda_{\min})`.

    Notes
    -----
    :math:`|1-\eta\lambda_{\min}|` falls and :math:`|1-\eta\lambda_{\max}|` rises with :math:`\eta` (past
    :math:`1/\lambda_{\max}`); the maximum is smallest where they are equal,
    :math:`1 - \eta\lambda_{\min} = \eta\lambda_{\max} - 1`. The rate there is :math:`(\kappa - 1)/(\kappa + 1)`
    (:func:`optimal_gd_rate`).
    """
    return 2.0 / (lam_max + lam_min)


def optimal_gd_rate(kappa: float) -> float:
    r""":math:`\rho^* = (\kappa - 1)/(\kappa + 1)`, the best rate of gradient descent at condition number :math:`\kappa`."""
    return (kappa - 1.0) / (kappa + 1.0)


def heavy_ball_rate(lr, momentum, eigenvalues) -> np.ndarray:
    r"""Convergence rate of momentum (Polyak's heavy ball; ``SGD(momentum=...)``) on a quadratic.

    Parameters
    ----------
    lr, momentum : float or ndarray, broadcast together
        :math:`\eta` and :math:`\beta`.
    eigenvalues : array_like, shape (n,)

    Returns
    -------
    ndarray, the broadcast shape of ``lr`` and ``momentum``

    Notes
    -----
    Along an eigenvector with eigenvalue :math:`\lambda`, :math:`x_{t+1} = x_t - \eta\lambda x_t + \beta(x_t - x_{t-1})`:

    .. math::
        \begin{pmatrix}x_{t+1}\\ x_t\end{pmatrix} = \underbrace{\begin{pmatrix}1 + \beta - \eta\lambda & -\beta\\ 1 & 0\end{pmatrix}}_{\mathbf{R}_\lambda}
        \begin{pmatrix}x_t\\ x_{t-1}\end{pmatrix},\qquad
        r^2 - (1 + \beta - \eta\lambda)\,r + \beta = 0 .

    The rate is :math:`\max_\lambda \max(|r_1|, |r_2|)` over the roots :math:`r_{1,2}` (the eigenvalues of
    :math:`\mathbf{R}_\lambda`). Complex roots (oscillation) have :math:`|r| = \sqrt\beta`; it converges exactly when :math:`0 \le \beta < 1` and
    :math:`0 < \eta\lambda < 2(1+\beta)`.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    lr, beta = np.broadcast_arrays(np.asarray(lr, dtype=np.float64), np.asarray(momentum, dtype=np.float64))
    b = 1 + beta[..., None] - lr[..., None] * lam  # trace of R
    disc = np.sqrt((b * b - 4 * beta[..., None]).astype(np.complex128))
    roots = np.maximum(np.abs((b + disc) / 2), np.abs((b - disc) / 2))
    return np.max(roots, axis=-1)


def optimal_heavy_ball(lam_max: float, lam_min: float) -> tuple[float, float, float]:
    r"""Polyak's optimal momentum parameters for eigenvalues in :math:`[\lambda_{\min}, \lambda_{\max}]`.

    Returns
    -------
    lr, momentum, rate : float

    Notes
    -----
    .. math::
        \eta^* = \left(\frac{2}{\sqrt{\lambda_{\max}} + \sqrt{\lambda_{\min}}}\right)^2,\qquad
        \beta^* = \left(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\right)^2,\qquad
        \rho^* = \sqrt{\beta^*} = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}.

    Both extreme eigenvalues then sit on the edge of the critically damped region: the rate
    depends on :math:`\sqrt\kappa` instead of :math:`\kappa` (gradient descent).
    """
    sk = math.sqrt(lam_max / lam_min)
    rate = (sk - 1) / (sk + 1)
    return (2.0 / (math.sqrt(lam_max) + math.sqrt(lam_min))) ** 2, rate * rate, rate


def iterations_to(tol: float, rate) -> np.ndarray:
    r"""Steps :math:`\lceil\log(\text{tol})/\log\rho\rceil` for an error shrinking by :math:`\rho` per step to fall below ``tol``."""
    rate = np.asarray(rate, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(rate < 1, np.ceil(np.log(tol) / np.log(np.where(rate > 0, rate, 1e-300))), np.inf)


def heavy_ball_errors(eigenvalues, lr, momentum, steps: int, x0=None) -> np.ndarray:
    r"""Distance to the minimum of SGD with momentum on :math:`\tfrac12\sum_i\lambda_i x_i^2`, for a batch of settings.

    Parameters
    ----------
    eigenvalues : array_like, shape (n,)
    lr, momentum : float or ndarray, broadcast together to shape B
    steps : int
    x0 : array_like, shape (n,), default all ones (every eigen-direction excited)

    Returns
    -------
    ndarray, shape (steps + 1, *B): :math:`\lVert\boldsymbol\theta_t\rVert_2` for t = 0..steps,
    floored at 1e-300 so that logarithms stay finite.

    Notes
    -----
    Runs :func:`course_lib.optim.functional.sgd_update` itself, on all settings at once
    (the hyper-parameters are arrays); ``momentum = 0`` is plain gradient descent.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    lr, beta = np.broadcast_arrays(np.asarray(lr, dtype=np.float64), np.asarray(momentum, dtype=np.float64))
    shape = lr.shape
    column = lam.shape + (1,) * len(shape)  # one eigen-direction per row, settings along the other axes
    start = np.ones(lam.shape) if x0 is None else np.asarray(x0, dtype=np.float64)
    x = np.broadcast_to(start.reshape(column), lam.shape + shape).copy()
    lam_b = lam.reshape(column)
    out = np.empty((steps + 1,) + shape)
    out[0] = np.sqrt(np.sum(x * x, axis=0))
    state = None
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            x, state = sgd_update(x, lam_b * x, state, lr=lr, momentum=beta)
            out[t] = np.sqrt(np.sum(x * x, axis=0))
    out = np.where(np.isfinite(out), out, np.inf)
    return np.maximum(out, 1e-300)


def measured_rate(errors, floor: float = 1e-200) -> np.ndarray:
    r"""The rate read off an error curve: how fast its envelope shrinks over the second half of the run.

    Parameters
    ----------
    errors : ndarray, shape (T + 1, *B)
        Errors :math:`e_0, \dots, e_T` (as from :func:`heavy_ball_errors`).
    floor : float
        Errors below this count as converged: the run is cut where the curve first drops under it.

    Returns
    -------
    ndarray, shape B

    Notes
    -----
    With :math:`k` the last step above the floor (or :math:`T`),

    .. math:: \hat\rho = \left(\frac{\max_{3k/4\le t\le k} e_t}{\max_{k/4\le t\le k/2} e_t}\right)^{2/k}.

    Skipping the first quarter lets the slowest mode dominate, so :math:`\hat\rho` estimates the
    spectral radius; taking maxima over windows follows the envelope of an oscillating error
    (momentum's complex roots) instead of the phase of its oscillation. Diverging runs give
    :math:`\hat\rho > 1` (``inf`` once they overflow); a run that hits the floor within two
    steps gives 0.
    """
    e = np.asarray(errors, dtype=np.float64)
    T = e.shape[0] - 1
    above = e > floor
    last = np.where(above.all(axis=0), T, np.argmin(above, axis=0) - 1)  # last step above the floor
    last = np.maximum(last, 0)
    t = np.arange(T + 1).reshape((-1,) + (1,) * (e.ndim - 1))
    late = (t >= (3 * last) // 4) & (t <= last)
    early = (t >= last // 4) & (t <= last // 2)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ratio = np.where(late, e, 0.0).max(axis=0) / np.where(early, e, 0.0).max(axis=0)
        span = np.maximum((3 * last) // 4 - last // 2 + (last - (3 * last) // 4 + last // 2 - last // 4) / 2, 1)
        rate = ratio ** (1.0 / span)
    return np.where(last < 4, 0.0, np.where(np.isfinite(rate), rate, np.inf))
