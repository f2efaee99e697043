r"""Chapter 12: the graded questions on VAEs, GANs and diffusion.

The references are :mod:`course_lib.generative` (tested against ``torch.distributions``, scipy and Monte Carlo in
``tests/test_generative.py``); nothing here imports torch. Every check draws fresh arrays from ``t.rng``;
``mistakes`` names the usual slips: the KL's sign or its missing 1/2, ``logvar`` read as the log of the standard
deviation instead of :math:`\log v`, the variance used where the standard deviation belongs, a mean where
a sum belongs, bits instead of nats, the discriminator's labels swapped, alternating instead of simultaneous
updates, :math:`\bar a_t` built from :math:`v_t` instead of :math:`a_t = 1 - v_t` or shifted by one step, and
squared distances in the energy distance.
"""
from __future__ import annotations

import numpy as np

from course_lib import generative as G
from course_lib.grading import Tester, question


def _known(mistakes: dict) -> dict:
    """The mistakes that apply to this case (an entry is None where a slip gives the right answer)."""
    return {hint: value for hint, value in mistakes.items() if value is not None}


def _softplus(a):
    return np.logaddexp(0.0, a)


def _nonfinite(got) -> bool:
    """True when ``got`` is numbers and some are inf or NaN (anything else is judged by ``expect_close``)."""
    if got is None:
        return False
    try:
        return not np.all(np.isfinite(np.asarray(got, dtype=np.float64)))
    except (TypeError, ValueError):
        return False


def _finite(t: Tester, got, case: dict, what: str):
    t.expect(not _nonfinite(got),
             f"Your {what} is not finite (inf or NaN) for large logits.",
             hint="log(sigmoid(z)) underflows to log(0) for large logits |z|: write log sigma(z) = -log(1 + e^-z) "
                  "= -np.logaddexp(0, -z), and log(1 - sigma(z)) = -np.logaddexp(0, z).", case=case)


# -- VAE ------------------------------------------------------------------------------------------------------
def _latents(t: Tester):
    for shape in [(3,), (4, 2), (2, 3, int(t.rng.integers(1, 6)))]:
        yield t.rng.standard_normal(shape), t.rng.uniform(-2, 2, shape)


@question("12.gaussian_kl", title="The KL of a diagonal Gaussian from N(0, I)")
def _check_kl(t: Tester):
    for mu, logvar in _latents(t):
        ref = G.gaussian_kl(mu, logvar)
        t.expect_close(t.call(mu, logvar), ref, case={"mu": mu, "logvar": logvar}, mistakes=_known({
            "The KL is 1/2 sum(v + mu^2 - 1 - log v): you left out the 1/2.": 2 * ref,
            "Check the sign: KL >= 0, and it is 1/2 sum(v + mu^2 - 1 - log v), with -log v, not +log v.": -ref,
            "logvar is log v, the log of the variance, so v = exp(logvar); you read it as the log of the standard "
            "deviation (v = exp(2 logvar)).": G.gaussian_kl(mu, 2 * logvar),
            "Sum over the last axis (the latent dimensions), do not average.":
                ref / mu.shape[-1] if mu.shape[-1] > 1 else None,
            "The terms are v + mu^2 - 1 - log v: the 1 is subtracted once per dimension.":
                ref + 0.5 * mu.shape[-1],
        }))


@question("12.reparameterize", title="The reparameterization trick")
def _check_reparam(t: Tester):
    for mu, logvar in _latents(t):
        eps = t.rng.standard_normal(mu.shape)
        t.expect_close(t.call(mu, logvar, eps), G.reparameterize(mu, logvar, eps),
                       case={"mu": mu, "logvar": logvar, "eps": eps}, mistakes={
            "Scale eps by the standard deviation sqrt(v) = exp(logvar / 2); exp(logvar) is the variance "
            "(it is the standard deviation only if logvar were the log of the standard deviation).": mu + np.exp(logvar) * eps,
            "logvar is a log: the standard deviation is exp(logvar / 2), not logvar itself.": mu + logvar * eps,
            "zeta = mu + sqrt(v) * eps: the mean is added, not multiplied.": mu * np.exp(0.5 * logvar) * eps,
        })


@question("12.bernoulli_nll", title="The Bernoulli negative log-likelihood from logits, stably")
def _check_nll(t: Tester):
    for n, d, scale in [(2, 5, 1.0), (3, 8, 4.0), (2, int(t.rng.integers(3, 9)), 60.0)]:
        x, logits = t.rng.uniform(0, 1, (n, d)), t.rng.standard_normal((n, d)) * scale
        case = {"x": x, "logits": logits}
        ref = -G.bernoulli_log_likelihood(x, logits)
        got = t.call(x, logits)
        if scale > 10:
            _finite(t, got, case, "negative log-likelihood")
        t.expect_close(got, ref, case=case, mistakes={
            "Return the negative log-likelihood (a loss, >= 0): -sum(x log sigma(z) + (1 - x) log(1 - sigma(z))).": -ref,
            "Sum over the pixels (the last axis), one number per image; do not average.": ref / d,
            "x goes with log sigma(z) (the probability of a 1) and 1 - x with log(1 - sigma(z)).":
                -G.bernoulli_log_likelihood(1 - x, logits),
        })


@question("12.pixel_entropy", title="The floor a Bernoulli decoder cannot remove from grey pixels")
def _check_entropy(t: Tester):
    for n, d in [(1, 4), (3, 6), (2, int(t.rng.integers(4, 12)))]:
        x = t.rng.uniform(0, 1, (n, d))
        x[0, :2] = 0.0, 1.0  # black and white pixels: 0 log 0 = 0
        ref = G.bernoulli_entropy(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            one_term = np.nansum(np.where(x > 0, -x * np.log(x), 0.0), axis=-1)
        got = t.call(x)
        t.expect(not _nonfinite(got),
                 "Your entropy is NaN or infinite where a pixel is exactly 0 or 1.",
                 hint="0 log 0 is 0 (the limit of x log x): a black or white pixel adds nothing; use np.where "
                      "or scipy.special.xlogy.", case={"x": x})
        t.expect_close(got, ref, case={"x": x}, mistakes={
            "Use natural logs (nats), as the ELBO does: your answer is in bits (log2).": ref / np.log(2),
            "Sum over the pixels (the last axis), one number per image.": ref / d,
            "The entropy of a Bernoulli(x) has two terms: -x log x - (1 - x) log(1 - x).": one_term,
        })


@question("12.elbo", title="The ELBO of a VAE with a Bernoulli decoder")
def _check_elbo(t: Tester):
    for n, d, k in [(2, 6, 2), (3, 5, 3), (int(t.rng.integers(1, 4)), 8, 2)]:
        x, logits = t.rng.uniform(0, 1, (n, d)), t.rng.standard_normal((n, d)) * 2
        mu, logvar = t.rng.standard_normal((n, k)), t.rng.uniform(-2, 1, (n, k))
        rec, kl = G.bernoulli_log_likelihood(x, logits), G.gaussian_kl(mu, logvar)
        t.expect_close(t.call(x, logits, mu, logvar), rec - kl,
                       case={"x": x, "logits": logits, "mu": mu, "logvar": logvar}, mistakes={
            "ELBO = E[log p(x|zeta)] - KL(q || p): subtract the KL (check its sign).": rec + kl,
            "The KL is 1/2 sum(v + mu^2 - 1 - log v): you left out the 1/2.": rec - 2 * kl,
            "Return the ELBO (a lower bound on log p(x), usually negative), not the loss -ELBO.": kl - rec,
            "logvar is log v, the log of the variance; you read it as the log of the standard deviation.": rec - G.gaussian_kl(mu, 2 * logvar),
        })


@question("12.score_function", title="The score-function (REINFORCE) gradient estimator")
def _check_score(t: Tester):
    for n in (4, 7, int(t.rng.integers(2, 10))):
        mu, logvar = float(t.rng.standard_normal()), float(t.rng.uniform(-1.5, 1.5))
        v = np.exp(logvar)
        z = mu + np.sqrt(v) * t.rng.standard_normal(n)
        fz = t.rng.standard_normal(n) + z ** 2
        ref = np.stack([fz * (z - mu) / v, fz * ((z - mu) ** 2 / v - 1) / 2], axis=1)
        t.expect_close(t.call(fz, z, mu, logvar), ref, case={"fz": fz, "z": z, "mu": mu, "logvar": logvar},
                       mistakes={
            "d log q / d mu = (zeta - mu) / v, with v = exp(logvar) the variance; you divided by the standard "
            "deviation sqrt(v) (or read logvar as the log of the standard deviation).":
                np.stack([fz * (z - mu) / np.sqrt(v), ref[:, 1]], axis=1),
            "d log q / d logvar = ((zeta - mu)^2 / v - 1) / 2: you left out the 1/2.":
                np.stack([ref[:, 0], 2 * ref[:, 1]], axis=1),
            "Multiply the score by f(zeta): the estimator is f(zeta) grad log q(zeta).":
                np.stack([(z - mu) / v, ((z - mu) ** 2 / v - 1) / 2], axis=1),
        })


# -- GANs -----------------------------------------------------------------------------------------------------
@question("12.optimal_discriminator", title="The optimal discriminator D*_phi")
def _check_dstar(t: Tester):
    for n in (5, 9, int(t.rng.integers(2, 12))):
        p_data, p_g = t.rng.uniform(0.01, 2, n), t.rng.uniform(0.01, 2, n)
        t.expect_close(t.call(p_data, p_g), G.optimal_discriminator(p_data, p_g), case={"p_data": p_data, "p_g": p_g},
                       mistakes={
            "D_phi outputs the probability that x is REAL (label 1): D*_phi = p_data / (p_data + p_g); you have the "
            "fakes' share, the labels swapped.": p_g / (p_data + p_g),
            "D*_phi is a probability in (0, 1): p_data / (p_data + p_g), not the ratio p_data / p_g.": p_data / p_g,
        })


@question("12.discriminator_loss", title="The discriminator's loss, from logits")
def _check_dloss(t: Tester):
    for n, m, scale in [(4, 4, 1.0), (3, 6, 3.0), (int(t.rng.integers(2, 8)), 5, 60.0)]:
        real, fake = t.rng.standard_normal(n) * scale, t.rng.standard_normal(m) * scale
        case = {"logits_real": real, "logits_fake": fake}
        ref = float(_softplus(-real).mean() + _softplus(fake).mean())
        got = t.call(real, fake)
        if scale > 10:
            _finite(t, got, case, "loss")
        t.expect_close(t.numbers([got], ["loss"], case=case)[0], ref, case=case, mistakes={
            "Real samples have label 1 and fakes label 0: L = -mean log D_phi(x_real) - mean log(1 - D_phi(x_fake)); "
            "you swapped the labels.": float(_softplus(real).mean() + _softplus(-fake).mean()),
            "The loss is the binary cross-entropy, a positive number: minus the log-likelihood of the labels.": -ref,
            "Average each batch separately (they may differ in size), then add the two means.":
                float(np.concatenate([_softplus(-real), _softplus(fake)]).mean()) if n != m else None,
        })


@question("12.generator_grads", title="Why the non-saturating generator loss learns at the start")
def _check_ggrads(t: Tester):
    for n in (5, 8, int(t.rng.integers(2, 10))):
        a = np.concatenate([[-8.0], t.rng.uniform(-6, 3, n - 1)])
        g = G.generator_logit_grads(a)
        ref = np.stack([g["saturating"], g["non_saturating"]], axis=1)
        t.expect_close(t.call(a), ref, case={"logits": a}, mistakes={
            "Column 0 is the minimax loss log(1 - sigma(z)), column 1 the non-saturating -log sigma(z): "
            "you swapped them.": ref[:, ::-1],
            "Check the signs: d/dz log(1 - sigma(z)) = -sigma(z) and d/dz [-log sigma(z)] = -(1 - sigma(z)); both "
            "push the logit z up.": -ref,
        })


@question("12.simultaneous_gd", title="Simultaneous gradient descent-ascent on min_x max_y xy")
def _check_gda(t: Tester):
    for steps in (3, 10, int(t.rng.integers(5, 30))):
        x0, y0, lr = float(t.rng.standard_normal()), float(t.rng.standard_normal()), float(t.rng.uniform(0.05, 0.5))
        ref = G.simultaneous_gd_bilinear(x0, y0, lr, steps)
        case = {"x0": x0, "y0": y0, "lr": lr, "steps": steps}
        t.expect_close(t.call(x0, y0, lr, steps), ref, case=case, mistakes={
            "Simultaneous: both players step from the same (x, y); you updated y with the new x (alternating).":
                G.simultaneous_gd_bilinear(x0, y0, lr, steps, alternating=True),
            "x descends on xy (x <- x - lr y) and y ascends (y <- y + lr x).":
                _gd_both_descend(x0, y0, lr, steps),
            "Return steps + 1 rows: the start (x0, y0) first, then each step.": ref[1:],
        })


def _gd_both_descend(x0, y0, lr, steps):
    out = [(x0, y0)]
    for _ in range(steps):
        x0, y0 = x0 - lr * y0, y0 - lr * x0
        out.append((x0, y0))
    return np.array(out)


# -- diffusion ------------------------------------------------------------------------------------------------
@question("12.ddpm_abar", title="The cumulative signal fraction bar a_t")
def _check_abar(t: Tester):
    for T in (5, 20, int(t.rng.integers(3, 40))):
        v = np.sort(t.rng.uniform(1e-3, 0.3, T))
        ref = np.cumprod(1 - v)
        t.expect_close(t.call(v), ref, case={"v": v}, mistakes={
            "bar a_t is the product of a_s = 1 - v_s (the signal kept), not of the noise variances v_s.": np.cumprod(v),
            "bar a_t = prod_{s <= t} a_s includes step t itself: your product stops one step early.":
                np.concatenate([[1.0], ref[:-1]]),
            "A running product (np.cumprod), not a running sum.": np.cumsum(1 - v),
        })


@question("12.q_sample", title="Jump to step t: a sample of q(x_t | x_0)")
def _check_qsample(t: Tester):
    for n, d in [(3, 2), (5, 2), (int(t.rng.integers(1, 6)), 3)]:
        x0, eps = t.rng.standard_normal((n, d)), t.rng.standard_normal((n, d))
        abar = float(t.rng.uniform(0.05, 0.95))
        t.expect_close(t.call(x0, abar, eps), G.q_sample(x0, abar, eps), case={"x0": x0, "abar_t": abar, "eps": eps},
                       mistakes={
            "Scale by standard deviations: sqrt(bar a_t) x_0 + sqrt(1 - bar a_t) eps; you used the variances.":
                abar * x0 + (1 - abar) * eps,
            "The noise is scaled by sqrt(1 - bar a_t), a standard deviation, not by 1 - bar a_t.":
                np.sqrt(abar) * x0 + (1 - abar) * eps,
            "The signal is scaled by sqrt(bar a_t) and the noise by sqrt(1 - bar a_t), not the other way round.":
                np.sqrt(1 - abar) * x0 + np.sqrt(abar) * eps,
        })


# -- two-sample distance ------------------------------------------------------------------------------------
@question("12.energy_distance", title="The energy distance between two samples")
def _check_energy(t: Tester):
    for n, m, d in [(5, 4, 1), (6, 6, 2), (int(t.rng.integers(3, 9)), int(t.rng.integers(3, 9)), 3)]:
        X, Y = t.rng.standard_normal((n, d)), t.rng.standard_normal((m, d)) + 0.5
        ref = G.energy_distance(X, Y)
        dxy = np.linalg.norm(X[:, None] - Y[None], axis=2)
        dxx = np.linalg.norm(X[:, None] - X[None], axis=2)
        dyy = np.linalg.norm(Y[:, None] - Y[None], axis=2)
        t.expect_close(t.call(X, Y), ref, case={"X": X, "Y": Y}, mistakes={
            "Use distances ||x - y||, not squared distances (with squares the statistic only compares means).":
                2 * (dxy ** 2).mean() - (dxx ** 2).mean() - (dyy ** 2).mean(),
            "The cross term counts twice: 2 E||x - y|| - E||x - x'|| - E||y - y'||.":
                dxy.mean() - dxx.mean() - dyy.mean(),
            "Average over all n^2 (and m^2) pairs, zeros on the diagonal included (the V-statistic).":
                2 * dxy.mean() - dxx.sum() / (n * (n - 1)) - dyy.sum() / (m * (m - 1)),
        })
