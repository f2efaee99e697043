"""course_lib.calibration: reliability bins and the ECE against a direct loop, the ECE of a
perfectly calibrated predictor (zero in expectation, up to a binning noise bounded by Jensen's
inequality), the dependence on the bins, and temperature scaling (the NLL's minimum, the
asymptotic standard error of the fitted temperature, the accuracy left unchanged)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_probability import strict_floats  # noqa: F401  (autouse: every float event raises)

from course_lib import calibration as C
from course_lib import probability as pr

EXAMPLES = settings(max_examples=40)  # 10x under `make fuzz`


def ece_loop(probs, y, n_bins):
    """The definition, one example and one bin at a time, with right-closed bins ((m-1)/M, m/M]."""
    n = len(y)
    total = 0.0
    for m in range(n_bins):
        lo, hi = m / n_bins, (m + 1) / n_bins
        members = [i for i in range(n) if (lo < probs[i].max() <= hi) or (m == 0 and probs[i].max() == 0)]
        if members:
            acc = sum(int(np.argmax(probs[i]) == y[i]) for i in members) / len(members)
            conf = sum(probs[i].max() for i in members) / len(members)
            total += len(members) / n * abs(acc - conf)
    return total


@st.composite
def predictions(draw):
    n, k = draw(st.integers(1, 60)), draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    logits = rng.normal(0, draw(st.floats(0.1, 5.0)), (n, k))
    probs = pr.softmax(logits)
    if draw(st.booleans()):
        probs[: n // 3] = np.eye(k)[rng.integers(0, k, n // 3)]  # confidence exactly 1
    return probs, rng.integers(0, k, n)


@EXAMPLES
@given(predictions(), st.integers(1, 30))
def test_ece_matches_the_definition(pred, n_bins):
    probs, y = pred
    # Away from the edges, where float rounding of m / M could move an example between bins.
    conf = probs.max(axis=1)
    near_edge = np.abs(conf * n_bins - np.round(conf * n_bins)) < 1e-9
    keep = ~near_edge | (conf == 1.0)
    if not keep.any():
        return
    assert np.isclose(C.expected_calibration_error(probs[keep], y[keep], n_bins),
                      ece_loop(probs[keep], y[keep], n_bins), rtol=1e-12, atol=1e-15)


@EXAMPLES
@given(predictions(), st.integers(1, 15))
def test_reliability_bins_add_up(pred, n_bins):
    probs, y = pred
    conf, correct = C.confidence_and_correct(probs, y)
    bins = C.reliability_bins(conf, correct, n_bins)
    full = bins.counts > 0
    assert bins.counts.sum() == len(y) and bins.edges.shape == (n_bins + 1,)
    assert np.all(np.isnan(bins.accuracy[~full])) and np.all(np.isnan(bins.confidence[~full]))
    # Weighted by the counts, the bins give back the overall accuracy and mean confidence.
    assert np.isclose(np.sum(bins.counts[full] * bins.accuracy[full]) / len(y), correct.mean())
    assert np.isclose(np.sum(bins.counts[full] * bins.confidence[full]) / len(y), conf.mean())
    inside = (bins.edges[:-1][full] - 1e-12 <= bins.confidence[full]) & (bins.confidence[full] <= bins.edges[1:][full] + 1e-12)
    assert np.all(inside)


@EXAMPLES
@given(predictions(), st.integers(1, 12))
def test_finer_nested_bins_never_lower_the_ece(pred, n_bins):
    # Each coarse bin is the union of two fine ones, and |a + b| <= |a| + |b|: halving the bins can
    # only reveal gaps that cancelled. One bin gives |overall accuracy - mean confidence|.
    probs, y = pred
    coarse, fine = (C.expected_calibration_error(probs, y, m) for m in (n_bins, 2 * n_bins))
    assert coarse <= fine + 1e-12
    conf, correct = C.confidence_and_correct(probs, y)
    assert np.isclose(C.expected_calibration_error(probs, y, 1), abs(correct.mean() - conf.mean()))


def test_bin_edges_are_right_closed():
    assert list(C.bin_index([0.0, 0.05, 0.1, 0.3, 0.30000001, 0.95, 1.0], 10)) == [0, 0, 0, 2, 3, 9, 9]
    with pytest.raises(ValueError, match="n_bins"):
        C.bin_index([0.5], 0)
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        C.reliability_bins([1.5], [1])


@pytest.mark.parametrize("n,n_bins", [(2000, 5), (5000, 15), (20000, 50)])
def test_a_calibrated_predictor_has_zero_ece_in_expectation(n, n_bins):
    # Confidence c, right with probability c: calibrated by construction. In a bin, acc - conf has
    # mean 0 and variance mean(c(1-c)) / n_b <= 1 / (4 n_b); Jensen gives E|acc - conf| <= 1 / (2 sqrt(n_b)),
    # and Cauchy-Schwarz sum_b sqrt(n_b) / N <= sqrt(M / N). So E[ECE] <= sqrt(M / N) / 2: all that is
    # left is binning noise, which shrinks like 1 / sqrt(N).
    rng = np.random.default_rng(n)
    eces = []
    for _ in range(30):
        c = rng.uniform(0.1, 1.0, n)
        eces.append(C.calibration_error(c, rng.uniform(size=n) < c, n_bins))
    bound = 0.5 * np.sqrt(n_bins / n)
    assert np.mean(eces) <= bound  # the mean of 30 runs sits near 0.65 of the bound: room for noise
    # Miscalibrated by 0.1 everywhere (right with probability c - 0.1): the ECE finds the 0.1.
    c = rng.uniform(0.2, 1.0, n)
    assert abs(C.calibration_error(c, rng.uniform(size=n) < c - 0.1, n_bins) - 0.1) < 3 * bound


def test_temperature_fit_minimizes_the_nll_and_keeps_the_accuracy():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (500, 5))
    y = np.array([rng.choice(5, p=p) for p in pr.softmax(z)])
    overconfident = 3.0 * z  # the true probabilities are softmax(z) = softmax(overconfident / 3)
    tau = C.fit_temperature(overconfident, y)
    grid = np.linspace(0.5 * tau, 1.5 * tau, 201)
    nll = [C.temperature_nll(overconfident, y, t) for t in grid]
    assert C.temperature_nll(overconfident, y, tau) <= min(nll) + 1e-12
    assert np.array_equal(pr.softmax(overconfident / tau).argmax(1), overconfident.argmax(1))
    # Asymptotic standard error of beta = 1/tau: 1 / sqrt(N I), with the Fisher information
    # I = mean_n Var_{softmax(beta z_n)}[z_n] (the second derivative of the mean NLL in beta).
    beta = 1 / 3.0
    p = pr.softmax(beta * overconfident)
    info = np.mean(np.sum(p * overconfident**2, 1) - np.sum(p * overconfident, 1) ** 2)
    assert abs(1 / tau - beta) < 5 / np.sqrt(len(y) * info)


def test_temperature_bounds_and_errors():
    z = np.array([[5.0, 0.0], [0.0, 5.0]])
    assert C.fit_temperature(z, [0, 1], bounds=(0.1, 10.0)) == 0.1  # always right: as sharp as allowed
    assert C.fit_temperature(z, [1, 0], bounds=(0.1, 10.0)) == 10.0  # always wrong: as flat as allowed
    with pytest.raises(ValueError, match="bounds"):
        C.fit_temperature(z, [0, 1], bounds=(2.0, 1.0))
    with pytest.raises(ValueError, match="shape"):
        C.confidence_and_correct(np.ones(3) / 3, [0])
