"""Chapter 12 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from check_contract import contract_tests
from course_lib import generative as G
from course_lib.grading import run_check

SEEDS = [1, 2, 3, 4, 5]


def kl_torch(mu, logvar):
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    return torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(-1).numpy()


def nll(x, a):
    return -np.sum(x * -np.logaddexp(0, -a) + (1 - x) * -np.logaddexp(0, a), axis=-1)


def nll_torch(x, a):
    return torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(a), torch.tensor(x),
                                                                reduction="none").sum(-1).numpy()


def entropy_xlogy(x):
    return -(scipy.special.xlogy(x, x) + scipy.special.xlogy(1 - x, 1 - x)).sum(-1)


def elbo(x, logits, mu, logvar):
    return -nll(x, logits) - 0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1 - logvar, axis=-1)


def score(fz, z, mu, logvar):
    v = np.exp(logvar)
    return np.stack([fz * (z - mu) / v, fz * ((z - mu) ** 2 / v - 1) / 2], axis=1)


def dloss(real, fake):
    return float(np.mean(np.logaddexp(0, -real)) + np.mean(np.logaddexp(0, fake)))


def dloss_torch(real, fake):
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    r, f = torch.tensor(real), torch.tensor(fake)
    return float(bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f)))


def ggrads_torch(a):
    t1, t2 = (torch.tensor(a, requires_grad=True) for _ in range(2))
    (-torch.nn.functional.softplus(t1)).sum().backward()
    (-torch.nn.functional.logsigmoid(t2)).sum().backward()
    return np.stack([t1.grad.numpy(), t2.grad.numpy()], axis=1)


def gda(x0, y0, lr, steps):
    out = [(x0, y0)]
    for _ in range(steps):
        x0, y0 = x0 - lr * y0, y0 + lr * x0
        out.append((x0, y0))
    return np.array(out)


def gda_matrix(x0, y0, lr, steps):
    M = np.array([[1, -lr], [lr, 1]])
    return np.array([np.linalg.matrix_power(M, k) @ [x0, y0] for k in range(steps + 1)])


def abar_loop(v):
    out, p = [], 1.0
    for vt in v:
        p *= 1 - vt
        out.append(p)
    return np.array(out)


def energy_loops(X, Y):
    d = lambda A, B: np.mean([np.linalg.norm(a - b) for a in A for b in B])
    return 2 * d(X, Y) - d(X, X) - d(Y, Y)


def energy_1d_scipy(X, Y):
    if X.shape[1] != 1:
        return energy_loops(X, Y)
    return scipy.stats.energy_distance(X[:, 0], Y[:, 0]) ** 2


CORRECT = {
    "12.gaussian_kl": (G.gaussian_kl, [kl_torch, lambda m, lv: 0.5 * np.sum(np.exp(lv) + m ** 2 - 1 - lv, axis=-1)],
                       lambda m, lv: np.zeros(3)),
    "12.reparameterize": (G.reparameterize, [lambda m, lv, e: m + np.sqrt(np.exp(lv)) * e], lambda m, lv, e: m),
    "12.bernoulli_nll": (lambda x, a: -G.bernoulli_log_likelihood(x, a), [nll, nll_torch], lambda x, a: np.ones(2)),
    "12.pixel_entropy": (G.bernoulli_entropy, [entropy_xlogy,
                                               lambda x: scipy.stats.bernoulli(x).entropy().sum(-1)],
                         lambda x: np.full(len(x), 2.0)),
    "12.elbo": (G.elbo, [elbo], lambda *a: np.full(2, -10.0)),
    "12.score_function": (lambda fz, z, mu, lv: score(fz, z, mu, lv), [
        lambda fz, z, mu, lv: np.stack([fz * (z - mu) * np.exp(-lv), 0.5 * fz * ((z - mu) ** 2 * np.exp(-lv) - 1)], 1)],
        lambda fz, z, mu, lv: np.zeros((len(z), 2))),
    "12.optimal_discriminator": (G.optimal_discriminator, [lambda p, q: 1 / (1 + q / p)], lambda p, q: np.full(5, 0.5)),
    "12.discriminator_loss": (dloss, [dloss_torch], lambda r, f: 1.386),
    "12.generator_grads": (lambda a: np.stack([-scipy.special.expit(a), -scipy.special.expit(-a)], 1), [ggrads_torch],
                           lambda a: np.zeros((len(a), 2))),
    "12.simultaneous_gd": (gda, [gda_matrix], lambda *a: np.zeros((4, 2))),
    "12.ddpm_abar": (lambda v: np.cumprod(1 - v), [abar_loop, lambda v: np.exp(np.cumsum(np.log1p(-v)))],
                     lambda v: np.ones(5)),
    "12.q_sample": (G.q_sample, [lambda x0, ab, e: np.sqrt(ab) * x0 + np.sqrt(1 - ab) * e], lambda x0, ab, e: x0),
    "12.energy_distance": (G.energy_distance, [energy_loops, energy_1d_scipy], lambda X, Y: 0.1),
}

WRONG = {
    "12.gaussian_kl": [(lambda m, lv: np.sum(np.exp(lv) + m ** 2 - 1 - lv, axis=-1), "1/2"),
                       (lambda m, lv: -0.5 * np.sum(np.exp(lv) + m ** 2 - 1 - lv, axis=-1), "sign"),
                       (lambda m, lv: 0.5 * np.sum(np.exp(2 * lv) + m ** 2 - 1 - 2 * lv, axis=-1), "log of the standard")],
    "12.reparameterize": [(lambda m, lv, e: m + np.exp(lv) * e, "exp(logvar / 2)")],
    "12.bernoulli_nll": [(lambda x, a: -np.sum(x * np.log(scipy.special.expit(a))
                                               + (1 - x) * np.log(1 - scipy.special.expit(a)), axis=-1), "logaddexp"),
                         (lambda x, a: nll(x, a) / x.shape[-1], "Sum over the pixels")],
    "12.pixel_entropy": [(lambda x: entropy_xlogy(x) / np.log(2), "bits"),
                         (lambda x: -np.sum(x * np.log(x) + (1 - x) * np.log(1 - x), axis=-1), "0 log 0")],
    "12.elbo": [(lambda x, a, m, lv: -nll(x, a) + G.gaussian_kl(m, lv), "subtract the KL"),
                (lambda x, a, m, lv: -nll(x, a) - 2 * G.gaussian_kl(m, lv), "1/2")],
    "12.score_function": [(lambda fz, z, mu, lv: np.stack([fz * (z - mu) / np.exp(lv / 2), score(fz, z, mu, lv)[:, 1]], 1),
                           "standard"),
                          (lambda fz, z, mu, lv: score(fz, z, mu, lv) * [1, 2], "1/2")],
    "12.optimal_discriminator": [(lambda p, q: q / (p + q), "labels swapped")],
    "12.discriminator_loss": [(lambda r, f: dloss(-r, -f), "swapped the labels"),
                              (lambda r, f: float(np.mean(-np.log(scipy.special.expit(r)))
                                                  + np.mean(-np.log(1 - scipy.special.expit(f)))), "logaddexp")],
    "12.generator_grads": [(lambda a: np.stack([-scipy.special.expit(-a), -scipy.special.expit(a)], 1), "swapped")],
    "12.simultaneous_gd": [(lambda x0, y0, lr, s: G.simultaneous_gd_bilinear(x0, y0, lr, s, alternating=True),
                            "alternating"),
                           (lambda x0, y0, lr, s: gda(x0, y0, lr, s)[1:], "steps + 1")],
    "12.ddpm_abar": [(lambda v: np.cumprod(v), "1 - v_s"),
                     (lambda v: np.concatenate([[1.0], np.cumprod(1 - v)[:-1]]), "one step early")],
    "12.q_sample": [(lambda x0, ab, e: ab * x0 + (1 - ab) * e, "variances")],
    "12.energy_distance": [(lambda X, Y: 2 * np.mean(((X[:, None] - Y[None]) ** 2).sum(-1))
                            - np.mean(((X[:, None] - X[None]) ** 2).sum(-1))
                            - np.mean(((Y[:, None] - Y[None]) ** 2).sum(-1)), "squared")],
}

globals().update(contract_tests("12", CORRECT, WRONG, seeds=SEEDS))


@pytest.mark.parametrize("qid", sorted(CORRECT))
def test_answers_of_the_wrong_kind_get_a_clear_failure(qid):
    # the NaN screens of the unstable-log questions must not trip over answers that are not numbers at all
    for answer in (lambda *a: None, lambda *a: "abc", lambda *a: {"a": 1}, lambda *a: 1j):
        result = run_check(qid, answer)
        assert result.status == "failed" and "could not be checked" not in result.message, (qid, str(result))
