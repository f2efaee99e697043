"""Chapter 03 widgets: each compute function against course_lib.probability, the readouts, the
fast render, dragging the guess on the likelihood surface."""
from __future__ import annotations

import io

import numpy as np
import pytest

from course_lib import probability as pr
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch03_probability_information import (
    FLIPS_MAX, LEVELS, LOGIT_SETS, PRIORS, CoinPosterior, GaussianMLE, SoftmaxTemperature, likelihood_contour)
from course_lib.widgets.ch03_probability_information_evaluation import AccuracySignificance, ReliabilityDiagram

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_registered():
    widgets = all_widgets()
    assert widgets["03.softmax_temperature"] is SoftmaxTemperature
    assert widgets["03.gaussian_mle"] is GaussianMLE and widgets["03.bayes_coin"] is CoinPosterior


# -- softmax temperature ------------------------------------------------------------------------
@pytest.mark.parametrize("logits", list(LOGIT_SETS))
def test_softmax_temperature_compute(logits):
    z = LOGIT_SETS[logits]
    for log10_tau in [-2.0, -0.5, 0.0, 1.3, 2.0]:
        data = SoftmaxTemperature.compute(log10_tau, logits)
        tau = 10.0**log10_tau
        assert np.allclose(data["probs"], pr.softmax(z / tau)) and np.all(np.isfinite(data["probs"]))
        assert np.isclose(data["entropy"], pr.entropy(data["probs"])) and data["max_prob"] == data["probs"].max()
    # Entropy grows with the temperature, from (near) the argmax's to (near) ln K.
    curve = SoftmaxTemperature.compute(0.0, logits)["curve_H"]
    assert np.all(np.diff(curve) >= -1e-12)
    if np.ptp(z) < 10:  # at T = 100 these are all but uniform (the huge logits spread over 102)
        assert curve[-1] > 0.98 * np.log(len(z))


def test_softmax_temperature_limits_and_readout():
    cold = SoftmaxTemperature.compute(-2.0, "confident")
    assert cold["max_prob"] > 0.999 and cold["argmax"] == 0
    tie = SoftmaxTemperature.compute(-2.0, "tie at the top")
    assert np.allclose(tie["probs"][:2], 0.5)  # tau -> 0 splits a tie evenly, not one-hot
    w = SoftmaxTemperature(log10_tau=-2.0, logits="tie at the top")
    assert "over the 2 classes tied" in w.readout and "one-hot argmax" not in w.readout
    w.update(logits="confident")
    assert "one-hot argmax (the largest logit is unique)" in w.readout
    w = SoftmaxTemperature(log10_tau=0.0, logits="huge logits (1000s)")
    assert f"{w.data['max_prob']:.3f}" in w.readout and f"{w.data['entropy']:.3f} nats" in w.readout
    assert "1002" in w.readout


# -- Gaussian maximum likelihood -------------------------------------------------------------------
def test_gaussian_compute_matches_the_mle():
    small = GaussianMLE.compute(n=5, sd=2.0)
    data = GaussianMLE.compute(n=50, sd=2.0)
    assert np.array_equal(data["x"][:5], small["x"])  # the sample grows; it is not redrawn
    mu_hat, sd_hat = pr.gaussian_mle(data["x"])
    assert np.isclose(data["mu_hat"], mu_hat) and np.isclose(data["sd_hat"], sd_hat)
    assert np.isclose(data["sd_unbiased"], np.std(data["x"], ddof=1))
    assert data["surface"].max() <= 1e-12 and data["surface"].max() > -0.5  # the grid's best point is near 0
    assert data["ll_hat"] >= max(data["ll_true"], data["ll_probe"])
    assert np.isclose(data["density"].sum() * 0.5, 1.0)  # every sample falls in the bins here


@pytest.mark.parametrize("n", [2, 7, 500])
def test_likelihood_contours_are_exact_level_sets(n):
    data = GaussianMLE.compute(n=n, sd=1.0)
    for drop, curve in zip(LEVELS, data["contours"]):
        ll = pr.gaussian_log_likelihood(data["x"], curve[:, 0], curve[:, 1])
        assert np.allclose(ll, data["ll_hat"] - drop, atol=1e-8)
    narrow, wide = likelihood_contour(0.0, 1.0, 100, 1.0), likelihood_contour(0.0, 1.0, 10, 1.0)
    assert np.ptp(narrow[:, 0]) < np.ptp(wide[:, 0])  # more data, a sharper likelihood


def test_dragging_the_guess():
    w = GaussianMLE()
    w.widget()
    px, py = w.ax_ll.transData.transform((2.0, 1.0))
    height = w.fig.canvas.get_width_height()[1]
    changes = w.pointer(px, height - py)
    assert changes and abs(changes["probe_mu"] - 2.0) < 0.05 and abs(changes["probe_sd"] - 1.0) < 0.05
    assert np.isclose(w.data["ll_probe"], pr.gaussian_log_likelihood(w.data["x"], *w.data["probe"]))
    assert f"{w.data['ll_probe']:.2f}" in w._readout_view.value
    px, py = w.ax.transData.transform((0.0, 0.1))
    assert w.pointer(px, height - py) is None  # the histogram is not draggable


# -- coin posterior --------------------------------------------------------------------------------
@pytest.mark.parametrize("prior", list(PRIORS))
def test_coin_posterior_compute(prior):
    a, b = PRIORS[prior]
    for n in [0, 1, 17, FLIPS_MAX]:
        data = CoinPosterior.compute(n=n, prior=prior, bias=0.3)
        heads = int(data["flips"][:n].sum())
        assert data["heads"] == heads and data["post_ab"] == (a + heads, b + n - heads)
        assert np.isclose(data["mean"], (a + heads) / (a + b + n)) and np.isclose(data["running_mean"][n], data["mean"])
        lo, hi = data["interval"]
        assert lo < data["mean"] < hi
        assert np.isclose(pr.beta_cdf(hi, *data["post_ab"]) - pr.beta_cdf(lo, *data["post_ab"]), 0.95)
    assert np.isnan(CoinPosterior.compute(n=0, prior=prior, bias=0.3)["running_mle"][0])


def test_coin_flips_are_coupled_across_biases():
    low, high = (CoinPosterior.compute(n=FLIPS_MAX, prior="uniform Beta(1, 1)", bias=b) for b in (0.3, 0.8))
    assert np.all(high["flips"] >= low["flips"])  # same random numbers: a larger bias only adds heads
    assert abs(high["running_mle"][-1] - 0.8) < 0.1 and abs(low["running_mle"][-1] - 0.3) < 0.1


def test_coin_readout():
    w = CoinPosterior(n=0)
    assert "MLE undefined" in w.readout
    w.update(n=40)
    lo, hi = w.data["interval"]
    assert f"[{lo:.3f}, {hi:.3f}]" in w.readout and f"mean {w.data['mean']:.3f}" in w.readout


# -- views: fast render equals a full render; controls ------------------------------------------------
@pytest.mark.parametrize("cls,changes", [
    (SoftmaxTemperature, {"log10_tau": -1.0, "logits": "confident"}),
    (GaussianMLE, {"n": 300, "sd": 0.8}),
    (CoinPosterior, {"n": 150, "prior": "Jeffreys Beta(½, ½)", "bias": 0.25}),
    (AccuracySignificance, {"pair": "64 pixels vs 16 pooled", "n_test": 60}),
    (ReliabilityDiagram, {"model": "64 pixels, C = 1", "log10_tau": -0.3, "n_bins": 17}),
])
def test_update_renders_like_a_fresh_widget(cls, changes):
    w = cls()
    before = w.png()
    w.update(**changes)
    after = w.png()
    assert after != before
    assert np.array_equal(pixels(after), pixels(cls(**changes).png()))  # nothing of the old frame is left


@pytest.mark.parametrize("cls", [SoftmaxTemperature, GaussianMLE, CoinPosterior, AccuracySignificance,
                                 ReliabilityDiagram])
def test_controls_drive_the_view(cls):
    w = cls()
    box = w.widget()
    controls = w._get_controls()
    assert set(controls) <= set(w.params)
    before = w._readout_view.value
    key, control = next((k, c) for k, c in controls.items() if hasattr(c, "max"))  # the first slider
    target = control.max if control.value != control.max else control.min
    control.value = target  # what a slider move in the browser does
    assert w.params[key] == target and w._readout_view.value != before
    bundle = w._repr_mimebundle_()
    assert "image/png" in bundle and WIDGET_MIME in bundle and w.widget() is box
