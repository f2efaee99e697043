"""course_lib.neural_ode against torchdiffeq 0.2.5: values of every fixed-step method (grids from t and from
step_size, increasing and decreasing t, non-aligned output times), gradients of odeint_adjoint against
torchdiffeq.odeint_adjoint and against backprop through the solver (to the solver's accuracy), the
orders of convergence, the 3/8 rule, the adjoint's memory, and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchdiffeq

from course_lib import neural_ode as N


class Field(torch.nn.Module):
    """A small time-dependent field, float64."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)).double()

    def forward(self, t, y):
        return self.net(y ** 3) + 0.1 * torch.sin(t) * y


Y0 = torch.tensor([[2.0, 0.0], [0.5, 1.0]], dtype=torch.float64)
TIMES = [torch.linspace(0, 1, 5, dtype=torch.float64), torch.tensor([0.0, 0.33, 0.7, 1.0], dtype=torch.float64),
         torch.tensor([1.0, 0.6, 0.0], dtype=torch.float64)]
OPTIONS = [None, {"step_size": 0.1}, {"step_size": 0.07}]


@pytest.mark.parametrize("method", ["euler", "midpoint", "rk4"])
@pytest.mark.parametrize("t", TIMES)
@pytest.mark.parametrize("options", OPTIONS)
def test_values_and_adjoint_gradients_match_torchdiffeq(method, t, options):
    f = Field()
    ours = N.odeint(f, Y0, t, method=method, options=options)
    theirs = torchdiffeq.odeint(f, Y0, t, method=method, options=options)
    assert ours.shape == (len(t), *Y0.shape)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    weights = torch.randn(ours.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    grads = []
    for solve in (N.odeint_adjoint, torchdiffeq.odeint_adjoint):
        y0 = Y0.clone().requires_grad_(True)
        loss = (solve(f, y0, t, method=method, options=options) * weights).sum()
        grads.append(torch.autograd.grad(loss, [y0, *f.parameters()]))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_adjoint_agrees_with_backprop_to_the_solvers_accuracy():
    """The adjoint differentiates the continuous ODE; backprop differentiates the discrete solver. Their gap
    shrinks like dt^4 for rk4: halving dt divides it by about 16."""
    f = Field()
    t = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    gaps = []
    for dt in (0.1, 0.05, 0.025):
        out = []
        for solve in (N.odeint, N.odeint_adjoint):
            y0 = Y0.clone().requires_grad_(True)
            loss = (solve(f, y0, t, method="rk4", options={"step_size": dt}) ** 2).sum()
            out.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, [y0, *f.parameters()])]))
        gaps.append(float((out[0] - out[1]).norm() / out[0].norm()))
    assert gaps[0] < 1e-4
    slope = math.log2(gaps[1] / gaps[2])
    assert 3.5 < slope < 4.5, gaps


ORDER_STEPS = {1: [0.0125, 0.00625, 0.003125], 2: [0.025, 0.0125, 0.00625], 4: [0.05, 0.025, 0.0125]}


@pytest.mark.parametrize("method", ["euler", "midpoint", "rk4", "rk4_classic"])
def test_orders_of_convergence(method):
    """The spiral dy/dt = y^3 A from y0 = (1, 0) to t = 2, against a fine rk4_classic solution (dt = 1e-3, whose
    own error, about 1e-12, is 1e-4 of the smallest error measured): error ~ C dt^p. The next term of the error, relative size O(dt), leaves the
    fitted slope above p by 0.04-0.17 at these steps (measured), hence the window of 0.25."""
    y0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    t = torch.tensor([0.0, 2.0], dtype=torch.float64)
    exact = N.odeint(N.spiral, y0, t, method="rk4_classic", options={"step_size": 1e-3})[-1]
    steps = ORDER_STEPS[N.ORDERS[method]]
    errs = [float((N.odeint(N.spiral, y0, t, method=method, options={"step_size": h})[-1] - exact).norm())
            for h in steps]
    assert abs(N.convergence_slope(steps, errs) - N.ORDERS[method]) < 0.25, (method, errs)


def test_rk4_is_kuttas_three_eighths_rule():
    """On dy/dt = t^4 the 3/8 rule (exact to degree 3 quadrature) and the classical rule (Simpson) differ
    by exactly their error constants: one step of length 1 gives 1/5 + 1/270 * ... both computed exactly."""
    f = lambda t, y: t ** 4 * torch.ones_like(y)  # noqa: E731
    y = torch.zeros(1, dtype=torch.float64)
    t0, dt = torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
    assert math.isclose(float(N.rk4_step(f, t0, dt, y)), (0 + 3 / 81 + 3 * 16 / 81 + 1) / 8, rel_tol=1e-14)
    assert math.isclose(float(N.rk4_classic_step(f, t0, dt, y)), (0 + 4 / 16 + 1) / 6, rel_tol=1e-14)


def test_adjoint_memory_is_constant_in_the_number_of_steps():
    f = Field()
    t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    peaks = {}
    for solve in (N.odeint, N.odeint_adjoint):
        for dt in (0.1, 0.05, 0.025):
            def run():
                y0 = Y0.clone().requires_grad_(True)
                (solve(f, y0, t, method="rk4", options={"step_size": dt}) ** 2).sum().backward()
            peaks[solve.__name__, dt] = N.saved_tensor_peak(run)["peak_bytes"]
    assert peaks["odeint_adjoint", 0.1] == peaks["odeint_adjoint", 0.025]
    ratio = peaks["odeint", 0.025] / peaks["odeint", 0.1]
    assert 3.5 < ratio < 4.5  # linear in the number of steps (10 -> 40)
    assert peaks["odeint_adjoint", 0.025] < peaks["odeint", 0.025] / 10


def test_bad_input():
    f = Field()
    t = torch.linspace(0, 1, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="unknown method"):
        N.odeint(f, Y0, t, method="dopri5")
    with pytest.raises(ValueError, match="step_size"):
        N.odeint(f, Y0, t, options={"step_size": -1})
    with pytest.raises(ValueError, match="unknown options"):
        N.odeint(f, Y0, t, options={"rtol": 1})
    with pytest.raises(ValueError, match="strictly"):
        N.odeint(f, Y0, torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        N.odeint(f, (Y0,), t)
    with pytest.raises(ValueError, match="nn.Module"):
        N.odeint_adjoint(lambda t, y: -y, Y0, t)
    assert N.odeint_adjoint(lambda t, y: -y, Y0, t, adjoint_params=()).shape == (3, 2, 2)


def test_saved_tensor_peak_counts_what_autograd_keeps():
    x = torch.ones(1000, dtype=torch.float64, requires_grad=True)
    y = torch.ones(1000, dtype=torch.float64, requires_grad=True)

    def run():
        (x * y).sum().backward()  # mul saves both inputs: 2 x 8000 bytes
    m = N.saved_tensor_peak(run)
    assert m == {"peak_bytes": 16000, "saved": 2, "bytes_total": 16000}


def test_fitting_the_spiral_lowers_the_loss():
    from course_lib.models.ode import ODEFunc, fit_spiral, spiral_data

    t, y = spiral_data(n_points=60, t_max=3.0)
    assert y.shape == (60, 1, 2) and torch.equal(y[0], torch.tensor([[2.0, 0.0]]))
    assert ODEFunc()(0, y[:5]).shape == (5, 1, 2)
    for adjoint in (True, False):
        run = fit_spiral(t, y, iterations=30, batch_size=20, adjoint=adjoint)
        assert np.mean(run["loss"][-5:]) < 0.5 * run["loss"][0], run["loss"]
        assert run["trajectory"].shape == y.shape
