"""Chapter 13 widgets: message passing is course_lib.graphs' propagation step by step (the spelled-out update adds
up to the node's new value, the energy is the normalized Dirichlet energy); the ODE widget's paths are
course_lib.neural_ode's solvers (torch) run in NumPy, its error curves fall with the methods' orders, and a
blown-up path or a bad setting is shown in the readout."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import graphs as G
from course_lib import neural_ode as N
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch13_graphs_and_continuous_depth import (
    MAX_STEPS,
    MessagePassing,
    ODESolver,
    error_curves,
    message_passing,
    ode_solver,
    small_graph,
)


def test_registered():
    widgets = all_widgets()
    assert widgets["13.message_passing"] is MessagePassing and widgets["13.ode_solver"] is ODESolver


@pytest.mark.parametrize("rule", ["gcn", "mean", "sum", "max"])
@pytest.mark.parametrize("signal", ["one node", "two groups", "random"])
def test_message_passing_is_the_propagation_step_by_step(rule, signal):
    A, _ = small_graph()
    d = message_passing(MAX_STEPS, rule, 3, signal)
    x = d["history"][0]
    for step in range(1, MAX_STEPS + 1):
        x = G.normalized_adjacency(A) @ x if rule == "gcn" else G.aggregate(A, x[:, None], rule)[:, 0]
        np.testing.assert_allclose(d["history"][step], x, rtol=1e-12, atol=1e-300)
    for node in range(10):
        e = message_passing(4, rule, node, signal)
        if rule == "max":
            assert np.isclose(e["prev"][e["neighbours"]][e["weights"] > 0].max(), e["x"][node])
        else:
            assert np.isclose(e["weights"] @ e["prev"][e["neighbours"]], e["x"][node])
    L = G.normalized_laplacian(A, self_loops=True)
    assert np.isclose(d["energy"][2], d["history"][2] @ L @ d["history"][2])


def test_gcn_smooths_the_energy_down_geometrically():
    d = message_passing(0, "gcn", 0, "random")
    A, _ = small_graph()
    lam, _ = G.graph_fourier_basis(A, self_loops=True)
    rate = np.max((1 - lam[1:]) ** 2)  # the slowest non-constant frequency
    assert np.all(np.diff(d["energy"]) < 0)
    assert d["energy"][-1] / d["energy"][-2] <= rate * (1 + 1e-9)


def test_ode_paths_are_the_course_solvers():
    for method in ("euler", "midpoint", "rk4", "rk4_classic"):
        d = ode_solver(method, -1.3)
        t = torch.tensor(d["ts"], dtype=torch.float64)
        ref = N.odeint(N.spiral, torch.tensor([1.0, 0.0], dtype=torch.float64), t, method=method,
                       options={"step_size": d["dt"]})
        np.testing.assert_allclose(d["ys"], ref.numpy(), rtol=1e-10, atol=1e-12)
        assert d["evals"] == d["steps"] * {"euler": 1, "midpoint": 2}.get(method, 4)


def test_error_curves_have_the_orders():
    c = error_curves()
    for method, order in N.ORDERS.items():
        ok = np.isfinite(c[method])
        slope = N.convergence_slope(c["dt"][ok][:3], c[method][ok][:3])  # the three smallest steps
        assert abs(slope - order) < 0.3, (method, slope)


def test_blow_up_and_bad_settings_show_in_the_readout():
    w = ODESolver()
    w.update(method="euler", log10_dt=-0.5)
    assert "blew up" in w.readout
    w._apply({"method": "dopri5"})
    assert isinstance(w.error, ValueError) and "unknown method" in w.readout
    m = MessagePassing()
    before = m.png()
    m.update(step=5, rule="max")
    assert m.png() != before and "max" in m.readout
