"""course_lib.generative: each formula against an independent oracle (torch.distributions, scipy, Monte Carlo,
brute force) and its defining property."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib import generative as G
from course_lib.gradcheck import gradcheck

finite = st.floats(-4, 4, allow_nan=False, width=64)


@given(arrays(np.float64, (3, 4), elements=finite), arrays(np.float64, (3, 4), elements=finite))
@settings(max_examples=50)
def test_gaussian_kl_matches_torch_distributions(mu, logvar):
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(torch.zeros(3, 4, dtype=torch.float64), torch.ones(3, 4, dtype=torch.float64))
    ref = torch.distributions.kl_divergence(q, p).sum(-1).numpy()
    np.testing.assert_allclose(G.gaussian_kl(mu, logvar), ref, rtol=1e-10, atol=1e-12)


def test_gaussian_kl_monte_carlo_and_properties():
    rng = np.random.default_rng(0)
    mu, logvar = np.array([0.5, -1.0]), np.array([0.3, -0.7])
    z = G.reparameterize(mu, logvar, rng.standard_normal((200_000, 2)))
    v = np.exp(logvar)
    log_q = -0.5 * (np.log(2 * np.pi * v) + (z - mu) ** 2 / v).sum(1)
    log_p = -0.5 * (np.log(2 * np.pi) + z ** 2).sum(1)
    mc = log_q - log_p
    se = mc.std() / np.sqrt(len(mc))
    assert abs(mc.mean() - G.gaussian_kl(mu, logvar)) < 5 * se
    assert G.gaussian_kl(np.zeros(3), np.zeros(3)) == 0
    # near v = 1 the expm1 form keeps relative accuracy: KL ~ logvar^2 / 4
    np.testing.assert_allclose(G.gaussian_kl(np.zeros(1), np.array([1e-9])), 1e-18 / 4, rtol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        G.gaussian_kl(np.zeros(2), np.zeros(3))


def test_gaussian_kl_gradient():
    rng = np.random.default_rng(1)
    mu, logvar = rng.standard_normal(4), rng.standard_normal(4)
    analytic = np.concatenate([mu, 0.5 * (np.exp(logvar) - 1)])
    result = gradcheck(lambda p: float(G.gaussian_kl(p[:4], p[4:])), analytic, np.concatenate([mu, logvar]))
    assert result, result


def test_bernoulli_likelihood_and_entropy_floor():
    rng = np.random.default_rng(2)
    x, logits = rng.uniform(0, 1, (5, 7)), rng.standard_normal((5, 7)) * 3
    ref = -torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(x),
                                                                reduction="none").sum(-1).numpy()
    np.testing.assert_allclose(G.bernoulli_log_likelihood(x, logits), ref, rtol=1e-12)
    assert np.isfinite(G.bernoulli_log_likelihood(np.array([1.0, 0.0]), np.array([-800.0, 800.0])))
    # the cross-entropy is smallest at p = x, where it equals the entropy: the floor no decoder removes
    best = -G.bernoulli_log_likelihood(x, np.log(x) - np.log1p(-x))
    np.testing.assert_allclose(best, G.bernoulli_entropy(x), rtol=1e-10)
    assert np.all(-G.bernoulli_log_likelihood(x, logits) >= G.bernoulli_entropy(x))
    ent = scipy.stats.bernoulli(x).entropy().sum(-1)
    np.testing.assert_allclose(G.bernoulli_entropy(x), ent, rtol=1e-12)
    assert G.bernoulli_entropy(np.array([0.0, 1.0, 0.0])) == 0
    with pytest.raises(ValueError):
        G.bernoulli_entropy(np.array([1.5]))


def test_elbo_is_recon_minus_kl():
    rng = np.random.default_rng(3)
    x, logits = rng.uniform(0, 1, (4, 6)), rng.standard_normal((4, 6))
    mu, logvar = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    np.testing.assert_allclose(G.elbo(x, logits, mu, logvar),
                               G.bernoulli_log_likelihood(x, logits) - G.gaussian_kl(mu, logvar))


def test_gradient_estimators_are_unbiased_and_reparam_has_lower_variance():
    rng = np.random.default_rng(4)
    mu, logvar = 0.7, np.log(0.5)
    est = G.gradient_estimators(lambda z: z ** 2, lambda z: 2 * z, mu, logvar, 400_000, rng)
    exact = np.array([2 * mu, np.exp(logvar)])  # E[z^2] = mu^2 + v; d/dlogvar = v
    for name in ("reparam", "score"):
        m, se = est[name].mean(0), est[name].std(0) / np.sqrt(len(est[name]))
        assert np.all(np.abs(m - exact) < 5 * se), (name, m, exact, se)
    assert np.all(est["reparam"].var(0) < est["score"].var(0))


def test_principal_angles_against_scipy_and_invariance():
    rng = np.random.default_rng(5)
    for p, q in [(3, 3), (2, 4), (5, 1)]:
        A, B = rng.standard_normal((10, p)), rng.standard_normal((10, q))
        np.testing.assert_allclose(G.principal_angles(A, B), np.sort(scipy.linalg.subspace_angles(A, B)),
                                   atol=1e-12)
    A = rng.standard_normal((8, 3))
    mixed = A @ rng.standard_normal((3, 3))  # the same column space
    assert G.principal_angles(A, mixed).max() < 1e-7
    # small angles come from the sines: a rotation by 1e-9 is read as 1e-9, not as 0 or 2e-8
    e = np.eye(4)
    tilted = np.stack([e[0], np.cos(1e-9) * e[1] + np.sin(1e-9) * e[2]], axis=1)
    np.testing.assert_allclose(G.principal_angles(e[:, :2], tilted), [0, 1e-9], atol=1e-15, rtol=1e-6)


def test_optimal_discriminator_maximizes_the_value_and_gives_js():
    x = np.linspace(-10, 12, 20001)
    p_data, p_g = scipy.stats.norm.pdf(x), scipy.stats.norm.pdf(x, 1.5, 1.3)
    d_star = G.optimal_discriminator(p_data, p_g)
    v_star = G.gan_value(d_star, p_data, p_g, x)
    js = G.js_divergence(p_data, p_g, x)
    np.testing.assert_allclose(v_star, -np.log(4) + 2 * js, rtol=1e-9)
    rng = np.random.default_rng(6)
    for _ in range(5):
        other = np.clip(d_star + 0.05 * rng.standard_normal() * np.sin(x), 1e-6, 1 - 1e-6)
        assert G.gan_value(other, p_data, p_g, x) < v_star
    assert G.optimal_discriminator(np.array([0.0]), np.array([0.0]))[0] == 0.5
    # equal distributions: D* = 1/2 everywhere, JS = 0, V = -log 4
    np.testing.assert_allclose(G.optimal_discriminator(p_data, p_data), 0.5)
    assert abs(G.js_divergence(p_data, p_data, x)) < 1e-15


def test_js_divergence_discrete_against_scipy():
    rng = np.random.default_rng(7)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    # scipy returns the square root of JS (its distance), in nats by default
    np.testing.assert_allclose(G.js_divergence(p, q), scipy.spatial.distance.jensenshannon(p, q) ** 2, rtol=1e-10)
    np.testing.assert_allclose(G.js_divergence(np.array([1.0, 0]), np.array([0, 1.0])), np.log(2))


def test_generator_logit_grads_against_autograd():
    a = torch.linspace(-30, 30, 61, dtype=torch.float64, requires_grad=True)
    (-torch.nn.functional.softplus(a)).sum().backward()  # log(1 - sigmoid(a)), computed stably
    sat = a.grad.clone()
    a.grad = None
    (-torch.nn.functional.logsigmoid(a)).sum().backward()
    grads = G.generator_logit_grads(a.detach().numpy())
    np.testing.assert_allclose(grads["saturating"], sat.numpy(), rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(grads["non_saturating"], a.grad.numpy(), rtol=1e-9)


def test_simultaneous_gd_spirals_out_alternating_cycles():
    for lr in (0.01, 0.1, 0.5):
        traj = G.simultaneous_gd_bilinear(1.0, 0.5, lr, 200)
        r = np.linalg.norm(traj, axis=1)
        np.testing.assert_allclose(r[1:] / r[:-1], np.sqrt(1 + lr ** 2), rtol=1e-12)
        alt = G.simultaneous_gd_bilinear(1.0, 0.5, lr, 2000, alternating=True)
        # the conserved quantity of the alternating map: x^2 + y^2 - lr x y (a fixed ellipse)
        inv = alt[:, 0] ** 2 + alt[:, 1] ** 2 - lr * alt[:, 0] * alt[:, 1]
        np.testing.assert_allclose(inv, inv[0], rtol=1e-10)


def test_ring_and_mode_coverage():
    rng = np.random.default_rng(8)
    c = G.ring_centers(8, 2.0)
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 2.0)
    x = G.sample_ring(4000, rng, std=0.05)
    cov = G.mode_coverage(x, c, 0.05)
    assert cov["covered"] == 8 and cov["high_quality"] > 0.98
    collapsed = c[3] + 0.05 * rng.standard_normal((500, 2))
    cov = G.mode_coverage(collapsed, c, 0.05)
    assert cov["covered"] == 1 and cov["per_mode"][3] > 0.98
    assert G.mode_coverage(np.zeros((10, 2)), c, 0.05)["high_quality"] == 0


def test_ddpm_closed_form_matches_the_simulated_chain():
    rng = np.random.default_rng(9)
    sched = G.ddpm_schedule(40, 1e-3, 0.2)
    np.testing.assert_allclose(sched["abar"], np.cumprod(1 - sched["v"]))
    x0 = np.full((20000, 2), [1.5, -0.5])
    chain = G.forward_chain(x0, sched["v"], rng)
    for t in (1, 10, 40):
        mean, var = G.q_moments(x0[0], sched["abar"][t - 1])
        xt = chain[t]
        n = len(xt)
        assert np.all(np.abs(xt.mean(0) - mean) < 5 * np.sqrt(var / n))
        # the sample variance of n normals has sd var sqrt(2/(n-1))
        assert np.all(np.abs(xt.var(0, ddof=1) - var) < 5 * var * np.sqrt(2 / (n - 1)))
    eps = rng.standard_normal((3, 2))
    np.testing.assert_allclose(G.q_sample(x0[:3], 0.25, eps), 0.5 * x0[:3] + np.sqrt(0.75) * eps)
    with pytest.raises(ValueError):
        G.ddpm_schedule(10, 0.5, 0.1)


def test_energy_distance_and_mmd():
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal(300), rng.standard_normal(200) + 0.4
    np.testing.assert_allclose(G.energy_distance(x[:, None], y[:, None]), scipy.stats.energy_distance(x, y) ** 2,
                               rtol=1e-9)
    X, Y = rng.standard_normal((50, 3)), rng.standard_normal((40, 3))
    brute = 2 * np.mean([np.linalg.norm(a - b) for a in X for b in Y]) \
        - np.mean([np.linalg.norm(a - b) for a in X for b in X]) - np.mean([np.linalg.norm(a - b) for a in Y for b in Y])
    np.testing.assert_allclose(G.energy_distance(X, Y), brute, rtol=1e-9)
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / 2)
    brute_mmd = (sum(k(a, b) for i, a in enumerate(X) for j, b in enumerate(X) if i != j) / (50 * 49)
                 + sum(k(a, b) for i, a in enumerate(Y) for j, b in enumerate(Y) if i != j) / (40 * 39)
                 - 2 * np.mean([k(a, b) for a in X for b in Y]))
    np.testing.assert_allclose(G.mmd2(X, Y, 1.0), brute_mmd, rtol=1e-9)
    assert G.energy_distance(X + 3, Y) > 10 * G.energy_distance(X, Y)
    with pytest.raises(ValueError):
        G.energy_distance(X, Y[:, :2])
