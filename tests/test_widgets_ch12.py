"""Chapter 12 widgets: the latent explorer decodes with the decoder it is handed (a trained VAE's equals torch's
forward pass), the GAN view shows the run's own snapshots, the diffusion view is q(x_t | x_0); the default
(analytic) stand-ins are what they claim, and a bad value is shown in the readout."""
from __future__ import annotations

import numpy as np
import torch

from course_lib import generative as G
from course_lib.models.autoencoder import VAE
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch12_generative_models import (
    DiffusionSteps,
    GANDynamics,
    LatentExplorer,
    analytic_gan_snapshots,
    decoder_arrays,
    diffusion_view,
    gan_snapshot,
    latent_view,
    ppca_decoder,
)


def test_registered():
    widgets = all_widgets()
    assert widgets["12.latent_explorer"] is LatentExplorer and widgets["12.gan_dynamics"] is GANDynamics
    assert widgets["12.diffusion_steps"] is DiffusionSteps


def test_latent_view_decodes_like_the_torch_decoder():
    torch.manual_seed(0)
    vae = VAE(64, 16, 2)
    X = np.random.default_rng(0).uniform(0, 1, (30, 64))
    dec = decoder_arrays(vae, X, np.arange(30) % 10)
    with torch.no_grad():
        expected = torch.sigmoid(vae.decoder(torch.tensor([[0.5, -1.25]]))).numpy().reshape(8, 8)
        mu, _ = vae.encode(torch.as_tensor(X, dtype=torch.float32))
    d = latent_view(dec, 0.5, -1.25, grid_n=3)
    np.testing.assert_allclose(d["image"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dec["latents"], mu.numpy(), rtol=1e-6)
    nearest = int(np.argmin(((mu.numpy() - [0.5, -1.25]) ** 2).sum(1)))
    assert d["nearest_label"] == nearest % 10
    assert d["mosaic"].shape == (26, 26) and np.isnan(d["mosaic"][8, 0])
    np.testing.assert_allclose(d["prior"], np.exp(-0.5 * (0.25 + 1.5625)) / (2 * np.pi))


def test_ppca_stand_in_has_the_data_variance_along_its_plane():
    dec = ppca_decoder()
    (W, b), = dec["layers"]
    # scores divided by sqrt(lambda): unit variance in z
    np.testing.assert_allclose(dec["latents"].var(axis=0, ddof=1), 1, rtol=1e-10)
    np.testing.assert_allclose(latent_view(dec, 0, 0)["image"].ravel(), np.clip(b, 0, 1))
    w = LatentExplorer()
    before = w.png()
    w.update(z1=1.5, z2=-0.5)
    assert w.png() != before and "PCA stand-in" in w.readout and "(1.50, -0.50)" in w.readout
    # a press on the latent plane moves z there
    ax = w.ax_z
    px, py = ax.transData.transform((1.0, 2.0))
    changes = w.pointer(px, w.fig.canvas.get_width_height()[1] - py)
    assert abs(changes["z1"] - 1.0) < 0.05 and abs(changes["z2"] - 2.0) < 0.05


def test_gan_snapshots_and_the_analytic_stand_in():
    run = analytic_gan_snapshots()
    # its field is the optimal discriminator of its own mixture: 1/2 where the generator matches the data
    last = gan_snapshot(run, 10 ** 6)  # clipped to the last
    assert last["covered"] == 8 and last["step"] == run["steps"][-1]
    centre = run["field"][-1][20, 20]  # the grid's centre (0, 0): both densities vanish there
    assert abs(centre - 0.5) < 1e-6
    first = gan_snapshot(run, 0)
    assert first["covered"] == 0 and first["field"].max() > 0.99  # the data's modes are all 'real'
    assert list(run["covered"]) == sorted(run["covered"])
    w = GANDynamics()
    w.update(snapshot=5)
    assert "step 500" in w.readout
    fake = {**run, "steps": np.array([0, 7]), "samples": run["samples"][[0, -1]], "field": run["field"][[0, -1]],
            "covered": np.array([0, 8]), "high_quality": np.array([0.0, 1.0]), "kind": "test run"}
    w = GANDynamics(fake)
    w.update(snapshot=1)
    assert "step 7" in w.readout and "8 of 8" in w.readout and "test run" in w.readout


def test_diffusion_view_is_the_closed_form():
    rng = np.random.default_rng(1)
    x0, eps = rng.standard_normal((20, 2)), rng.standard_normal((20, 2))
    sched = G.ddpm_schedule(10, 1e-3, 0.2)
    d = diffusion_view(x0, eps, sched, 4, {10: x0 + 1, 5: x0 + 2, 0: x0})
    np.testing.assert_allclose(d["forward"], G.q_sample(x0, sched["abar"][3], eps))
    assert d["path_t"] == 5 and np.allclose(d["reverse"], x0 + 2)
    assert np.allclose(diffusion_view(x0, eps, sched, 0)["forward"], x0) and diffusion_view(x0, eps, sched, 0)["reverse"] is None
    w = DiffusionSteps()
    w.update(t=100)
    assert "t = 100 of 100" in w.readout
    w._apply({"t": "x"})  # a bad value: shown, not raised
    assert w.error is not None and "could not update" in w.readout
