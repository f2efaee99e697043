"""Chapter 12's PyTorch models: their losses are course_lib.generative's formulas, the linear autoencoder finds
the PCA subspace, the DDPM sampler inverts the chain for an exact noise predictor, and every GPU preset's code
path runs on the CPU (a few steps)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from course_lib import generative as G
from course_lib.linalg.svd import pca
from course_lib.models import autoencoder as A
from course_lib.models import ddpm as M
from course_lib.models import gan as N

CPU = torch.device("cpu")


def test_torch_kl_and_elbo_match_numpy():
    rng = np.random.default_rng(0)
    mu, logvar = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(A.gaussian_kl(torch.tensor(mu), torch.tensor(logvar)).numpy(), G.gaussian_kl(mu, logvar),
                               rtol=1e-12)
    model = A.VAE(6, 8, 2).double()
    x, eps = torch.tensor(rng.uniform(0, 1, (4, 6))), torch.tensor(rng.standard_normal((4, 2)))
    with torch.no_grad():
        got = A.vae_elbo(model, x, eps).numpy()
        mu, logvar = (v.numpy() for v in model.encode(x))
        z = G.reparameterize(mu, logvar, eps.numpy())
        logits = model.decoder(torch.tensor(z)).numpy()
    np.testing.assert_allclose(got, G.elbo(x.numpy(), logits, mu, logvar), rtol=1e-12)


def test_linear_autoencoder_recovers_the_pca_subspace():
    rng = np.random.default_rng(1)
    # a clear spectral gap: 3 strong directions in 10-D, plus noise
    X = rng.standard_normal((400, 3)) @ rng.standard_normal((3, 10)) * 3 + 0.1 * rng.standard_normal((400, 10))
    X -= X.mean(0)
    model = A.train_linear_autoencoder(X, 3, max_iter=300)
    W = model.decoder[0].weight.detach().numpy()
    p = pca(X, 3)
    assert G.principal_angles(W, p.components.T).max() < 1e-5
    with torch.no_grad():
        err = float(((model(torch.tensor(X)) - torch.tensor(X)) ** 2).mean())
    pca_err = float(((p.inverse_transform(p.transform(X)) - X) ** 2).mean())
    # Eckart-Young: no rank-3 reconstruction beats PCA; the fit stops when W2 W1 is close to (not exactly)
    # the projector onto its subspace, which costs a small excess
    assert pca_err <= err < pca_err * (1 + 1e-3)


def test_ddpm_sampler_inverts_the_chain_for_an_exact_noise_predictor():
    point = torch.tensor([0.7, -1.2])
    sched = G.ddpm_schedule(30, 1e-3, 0.2)
    abar = torch.as_tensor(sched["abar"], dtype=torch.float32)

    def oracle(x, t):  # the exact eps of q(x_t | x_0) when the data is one point
        ab = abar[t - 1][:, None]
        return (x - ab.sqrt() * point) / (1 - ab).sqrt()

    x0, path = M.sample_ddpm(oracle, sched, 50, keep_every=10)
    np.testing.assert_allclose(x0, np.tile(point.numpy(), (50, 1)), atol=1e-5)
    assert [t for t, _ in path] == [30, 20, 10, 0]


def test_gpu_presets_run_on_cpu():
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, (64, 64))
    run = A.train_autoencoder(X, 2, replace(A.AE_PRESETS.gpu, epochs=1), CPU)
    assert run["model"](torch.zeros(1, 64, dtype=torch.float32)).shape == (1, 64)
    run = A.train_vae(X, replace(A.VAE_PRESETS.gpu, epochs=2), CPU, X_test=X[:8])
    assert len(run["train_elbo"]) == 2 and np.all(np.isfinite(run["test_elbo"]))
    cfg = replace(N.GAN_PRESETS.gpu, steps=4, snapshot_every=2, batch_size=16)
    run = N.train_gan(cfg, CPU, n_eval=50, grid_n=9)
    assert run["samples"].shape == (3, 50, 2) and run["field"].shape == (3, 9, 9)
    assert np.all((run["field"] > 0) & (run["field"] < 1)) and len(run["d_loss"]) == 4
    cfg = replace(M.DDPM_PRESETS.gpu, steps=3, batch_size=16, T=20)
    run = M.train_ddpm(rng.standard_normal((32, 2)), cfg, CPU)
    assert M.sample_ddpm(run["model"], run["schedule"], 10).shape == (10, 2)


def test_gan_losses_and_best_response():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    expected = -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())
    torch.testing.assert_close(N.discriminator_loss(real, fake), expected)
    torch.testing.assert_close(N.generator_loss(fake), -torch.log(torch.sigmoid(fake)).mean())
    torch.testing.assert_close(N.generator_loss(fake, non_saturating=False), torch.log(1 - torch.sigmoid(fake)).mean())
    # against a fixed discriminator that prefers one mode, the generator collapses onto it
    torch.manual_seed(0)
    Gen, _ = N.make_gan(N.GANConfig(hidden=16))
    target = torch.tensor(G.ring_centers()[2], dtype=torch.float32)

    class Peak(torch.nn.Module):
        def forward(self, x):
            return -((x - target) ** 2).sum(1, keepdim=True)

    out = N.best_response(Gen, Peak(), steps=300)
    cov = G.mode_coverage(out["samples"], G.ring_centers(), 0.05)
    assert cov["covered"] == 1 and cov["per_mode"][2] > 0.5
