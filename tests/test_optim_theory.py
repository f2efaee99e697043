"""course_lib.optim's theory and helpers: convergence rates on quadratics against measured runs,
the optimal parameters against a grid search, the race runner against hand-written loops, the
network slice's derivatives against the shared gradient checker, and mini-batch noise against sampling."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from course_lib.gradcheck import gradcheck, numerical_jacobian, relative_error
from course_lib.optim import functional as F
from course_lib.optim import quadratic as Q
from course_lib.optim import stochastic as S
from course_lib.optim.net_surface import NET_SLICE, NetworkSlice
from course_lib.optim.trajectory import race, run
from course_lib.surfaces import get_surface


# -- quadratics ---------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(kappa=st.floats(2.0, 200.0), frac=st.floats(0.05, 0.95))
def test_gd_rate_is_measured_and_bounded_by_2_over_L(kappa, frac):
    lam = np.array([1.0 / kappa, 0.5, 1.0])
    lr = frac * Q.max_stable_lr(1.0)
    measured = Q.measured_rate(Q.heavy_ball_errors(lam, lr, 0.0, 400))
    # the faster modes still add a little over a finite run (most when two modes have nearly equal rates)
    assert measured == pytest.approx(Q.gd_rate(lr, lam), rel=1e-2, abs=1e-9)
    assert Q.gd_rate(lr, lam) < 1 <= Q.gd_rate(1.01 * Q.max_stable_lr(1.0), lam)


def test_optimal_gd_step_minimizes_the_rate():
    L, mu = 3.0, 0.2
    lrs = np.linspace(0.01, 2 / L, 20001)
    rates = Q.gd_rate(lrs, [mu, 1.0, L])
    assert lrs[np.argmin(rates)] == pytest.approx(Q.optimal_gd_lr(L, mu), abs=1e-4)
    assert rates.min() == pytest.approx(Q.optimal_gd_rate(L / mu), abs=1e-4)  # the grid's resolution


@settings(max_examples=40, deadline=None)
@given(kappa=st.floats(1.5, 100.0), lr=st.floats(0.05, 3.5), beta=st.floats(0.0, 0.95))
def test_heavy_ball_rate_matches_a_run(kappa, lr, beta):
    lam = np.array([1.0 / kappa, 1.0])
    theory = float(Q.heavy_ball_rate(lr, beta, lam))
    measured = float(Q.measured_rate(Q.heavy_ball_errors(lam, lr, beta, 2000)))
    if theory < 0.995:  # away from the edge, where transients fade slowly
        # a double root (critical damping) converges like t rho^t: a little slower over a finite run
        assert measured == pytest.approx(theory, abs=0.02)
    if theory > 1.001:
        assert measured > 1.0


def test_heavy_ball_rate_equals_the_spectral_radius_of_the_iteration_matrix():
    rng = np.random.default_rng(0)
    for _ in range(50):
        lr, beta, lam = rng.uniform(0, 4), rng.uniform(0, 1), rng.uniform(0.01, 1)
        R = np.array([[1 + beta - lr * lam, -beta], [1.0, 0.0]])
        assert Q.heavy_ball_rate(lr, beta, [lam]) == pytest.approx(np.abs(np.linalg.eigvals(R)).max(), rel=1e-9)
    # momentum 0 is gradient descent
    assert np.allclose(Q.heavy_ball_rate(np.linspace(0, 2, 9), 0.0, [0.1, 1.0]), Q.gd_rate(np.linspace(0, 2, 9), [0.1, 1.0]))


def test_optimal_heavy_ball_is_the_best_point_of_a_grid():
    L, mu = 1.0, 0.01
    lr, beta, rate = Q.optimal_heavy_ball(L, mu)
    assert rate == pytest.approx(9 / 11) and beta == pytest.approx(rate ** 2)
    assert Q.heavy_ball_rate(lr, beta, [mu, L]) == pytest.approx(rate, rel=1e-6)
    LR, B = np.meshgrid(np.linspace(0.5, 4, 351), np.linspace(0, 0.99, 100))
    assert Q.heavy_ball_rate(LR, B, [mu, L]).min() >= rate - 1e-9
    assert rate < Q.optimal_gd_rate(L / mu)


def test_iterations_to_and_measured_rate_edge_cases():
    assert Q.iterations_to(1e-6, 0.5) == 20 and Q.iterations_to(1e-6, 1.0) == np.inf
    errors = np.array([1.0, 0.0, 0.0, 0.0])[:, None]  # converged in one step
    assert Q.measured_rate(np.maximum(errors, 1e-300))[0] == 0.0
    diverging = Q.heavy_ball_errors([1.0], 2.5, 0.0, 50)
    assert Q.measured_rate(diverging) == pytest.approx(1.5)


# -- running update rules ---------------------------------------------------------------------------------
def test_run_is_the_hand_written_loop():
    s = get_surface("rosenbrock")
    path = run(F.adam_update, s.grad_at, s.start, 50, lr=0.05)
    p, state = np.array(s.start, dtype=float), None
    for k in range(50):
        p, state = F.adam_update(p, s.grad_at(p), state, lr=0.05)
        assert np.allclose(path.points[k + 1], p)
    nxt, _ = F.adam_update(p, s.grad_at(p), state, lr=0.05)
    assert np.allclose(path.next_step, nxt - p) and path.steps == 50 and len(path.states) == 50


def test_race_equals_separate_runs_and_stops_diverging_ones():
    s = get_surface("beale")
    entries = [(F.sgd_update, dict(lr=1e-3, momentum=0.9)), (F.rmsprop_update, dict(lr=0.01)),
               (F.sgd_update, dict(lr=1.0))]
    paths = race(entries, s.grad_at, (1.0, 1.5), 80)
    for (update, hyper), path in zip(entries[:2], paths):
        alone = run(update, s.grad_at, (1.0, 1.5), 80, **hyper)
        assert np.allclose(alone.points, path.points) and path.stopped_at is None
    bad = paths[2]
    assert bad.stopped_at is not None and bad.steps == bad.stopped_at - 1
    assert np.all(np.isfinite(bad.points)) and np.all(bad.next_step == 0)
    boxed = race(entries[:1], s.grad_at, (1.0, 1.5), 80, box=(np.array([0.0, 0.0]), np.array([1.2, 1.6])))[0]
    assert boxed.stopped_at is not None and np.all(boxed.points <= [1.2, 1.6])


# -- the network slice --------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(a=st.floats(-2.5, 2.5), b=st.floats(-2.5, 2.5))
def test_network_slice_derivatives_pass_the_gradient_checker(a, b):
    p = np.array([a, b])
    assume(np.linalg.norm(NET_SLICE.grad_at(p)) > 1e-4)  # a relative error means nothing at the saddle itself
    assert gradcheck(NET_SLICE.f_at, NET_SLICE.grad_at, p, rtol=1e-6)
    assert relative_error(NET_SLICE.hessian_at(p), numerical_jacobian(NET_SLICE.grad_at, p)) < 1e-6


def test_network_slice_is_the_network_loss_and_has_minima_and_a_saddle():
    net = NetworkSlice()
    a, b = 0.7, -1.3
    pred = b * (np.tanh(a * (np.outer(net.x, net.w0) + net.c0)) @ net.v0)
    assert NET_SLICE.f(a, b) == pytest.approx(np.mean((pred - net.y) ** 2))
    for m in NET_SLICE.minima:
        assert NET_SLICE.f_at(np.array(m)) == pytest.approx(0.0, abs=1e-20)
        assert np.all(np.linalg.eigvalsh(NET_SLICE.hessian_at(np.array(m))) > 0)
    H0 = NET_SLICE.hessian_at(np.zeros(2))
    assert np.allclose(NET_SLICE.grad_at(np.zeros(2)), 0) and np.prod(np.linalg.eigvalsh(H0)) < 0
    X, Y = NET_SLICE.grid(20)
    assert NET_SLICE.f(X, Y).shape == (20, 20) and NET_SLICE.grad(X, Y).shape == (2, 20, 20)


# -- mini-batch noise ---------------------------------------------------------------------------------------
def test_least_squares_gradient_and_minibatch_noise():
    X, y, _ = S.least_squares(n=200, d=4)
    theta = np.random.default_rng(1).standard_normal(4)
    assert gradcheck(lambda t: S.mse_loss(t, X, y), lambda t: S.mse_grad(t, X, y), theta)
    G = S.per_example_grads(theta, X, y)
    assert np.allclose(G.mean(axis=0), S.mse_grad(theta, X, y))
    rng = np.random.default_rng(2)
    for b in [1, 8, 50]:
        sampled = S.sampled_minibatch_noise(G, b, 4000, rng)
        assert sampled == pytest.approx(S.minibatch_noise(G, b), rel=0.1)
    assert S.minibatch_noise(G, 200) == 0.0 and S.minibatch_noise(G, 1) > 10 * S.minibatch_noise(G, 16)
    batches = S.minibatches(10, 4, rng)
    assert [len(i) for i in batches] == [4, 4, 2] and sorted(np.concatenate(batches)) == list(range(10))
