"""Chapter 03's evaluation widgets: the significance widget against course_lib.uncertainty, the
reliability widget against course_lib.calibration (its vectorized ECE curve against the loop),
bad settings shown in the readout (their fast render is tested with the others in test_widgets_ch03)."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib import calibration as cal
from course_lib import probability as pr
from course_lib import uncertainty as unc
from course_lib.evaluation_experiment import MODELS, digits_evaluation
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch03_probability_information_evaluation import (
    N_BOOT, N_PERM, PAIRS, AccuracySignificance, ReliabilityDiagram, _ece_curve, _TAUS)


def test_registered():
    widgets = all_widgets()
    assert widgets["03.significance"] is AccuracySignificance and widgets["03.reliability"] is ReliabilityDiagram


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("n", [20, 150, 897])
def test_significance_compute(pair, n):
    data = AccuracySignificance.compute(pair, n)
    ev = digits_evaluation()
    a, b = (ev.correct(name)[:n] for name in PAIRS[pair])
    assert np.isclose(data["a"]["accuracy"], a.mean()) and np.isclose(data["b"]["se"], unc.accuracy_standard_error(b))
    assert np.isclose(data["difference"], a.mean() - b.mean()) and data["p_exact"] == unc.exact_paired_p_value(a, b)
    assert data["only_a"] - data["only_b"] == round(n * data["difference"])
    for key in ("a", "b"):
        values, shares = data[key]["boot"]
        assert np.isclose(shares.sum(), 1.0) and np.allclose(values * n, np.round(values * n))  # every value is k/N
        lo, hi = data[key]["interval"]
        assert 0 <= lo <= data[key]["accuracy"] <= hi <= 1 or data[key]["accuracy"] in (0.0, 1.0)
    # The Monte-Carlo p-value, (r + 1)/(n + 1), lies within Bernstein's allowance of the exact one.
    exact = data["p_exact"]
    assert abs(data["p_value"] - exact) <= (unc.binomial_deviation(N_PERM, exact) + 1) / (N_PERM + 1)
    assert np.isclose(data["null"][1].sum(), 1.0)


def test_significance_shows_the_paired_test_beats_overlapping_intervals():
    data = AccuracySignificance.compute("C = 1 vs C = 10⁴ (64 pixels)", 897)
    (lo_a, _), (_, hi_b) = data["a"]["interval"], data["b"]["interval"]
    assert hi_b > lo_a and data["p_exact"] < 0.05  # the intervals overlap, yet the paired test is clear
    # A few examples later, the same models are indistinguishable.
    assert AccuracySignificance.compute("C = 1 vs C = 10⁴ (64 pixels)", 100)["p_exact"] > 0.05
    # The binomial draws have the bootstrap's spread: sd of the resampled accuracies ~ SE (relative error
    # of a sample sd of N_BOOT draws ~ 1/sqrt(2 N_BOOT) = 0.022).
    values, shares = data["a"]["boot"]
    sd = np.sqrt(np.sum(shares * (values - np.sum(shares * values)) ** 2))
    assert abs(sd / data["a"]["se"] - 1) < 5 / np.sqrt(2 * N_BOOT)


@pytest.mark.parametrize("model", list(MODELS))
def test_reliability_compute(model):
    ev = digits_evaluation()
    for log10_tau, n_bins in [(-1.0, 1), (0.0, 10), (0.4, 30)]:
        data = ReliabilityDiagram.compute(model, log10_tau, n_bins)
        probs = pr.softmax(ev.test_logits[model] / 10.0**log10_tau)
        assert np.isclose(data["ece"], cal.expected_calibration_error(probs, ev.y_test, n_bins))
        assert np.isclose(data["accuracy"], np.mean(ev.test_logits[model].argmax(1) == ev.y_test))
        assert np.isclose(data["nll"], pr.categorical_nll(ev.test_logits[model] / 10.0**log10_tau, ev.y_test))
        assert data["bins"].counts.sum() == ev.y_test.size
    assert np.isclose(data["tau_star"], cal.fit_temperature(ev.val_logits[model], ev.y_val))


@pytest.mark.parametrize("n_bins", [1, 7, 15])
def test_vectorized_ece_curve_matches_the_loop(n_bins):
    ev = digits_evaluation()
    model = "64 pixels, C = 1"
    loop = [cal.expected_calibration_error(pr.softmax(ev.test_logits[model] / tau), ev.y_test, n_bins) for tau in _TAUS]
    assert np.allclose(_ece_curve(model, n_bins), loop, rtol=1e-12, atol=1e-15)


def test_temperature_scaling_calibrates_both_ways():
    under = ReliabilityDiagram.compute("64 pixels, C = 1", 0.0, 15)
    over = ReliabilityDiagram.compute("64 pixels, C = 10⁴", 0.0, 15)
    assert under["mean_confidence"] < under["accuracy"] and under["tau_star"] < 1  # sharpen
    assert over["mean_confidence"] > over["accuracy"] and over["tau_star"] > 1  # soften
    for data in (under, over):
        assert data["ece_star"] < data["ece"] and data["nll_star"] < data["nll_one"]


def test_readouts_and_bad_settings():
    w = ReliabilityDiagram()
    assert f"{w.data['ece']:.4f}" in w.readout and "overconfident" in w.readout
    w.update(model="64 pixels, C = 1")
    assert "underconfident" in w.readout
    s = AccuracySignificance()
    assert f"{s.data['p_value']:.4f}" in s.readout and "rare" in s.readout
    s.widget()
    s._apply({"n_test": 5})  # below the slider's range: the error is shown, not swallowed
    assert "n_test must be between" in s._readout_view.value and s.error is not None
    with pytest.raises(ValueError, match="n_bins"):
        ReliabilityDiagram.compute("64 pixels, C = 1", 0.0, 0)
