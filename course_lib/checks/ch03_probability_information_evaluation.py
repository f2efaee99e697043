r"""Chapter 03: the graded questions on evaluating a classifier: the confusion matrix, precision,
recall and F1, and how sure a measured result is (an accuracy's standard error and bootstrap
interval, a permutation test between two classifiers, the expected calibration error).

The reference answers are :mod:`course_lib.metrics`, :mod:`course_lib.uncertainty` and
:mod:`course_lib.calibration`. Two questions are random by nature (a bootstrap, a permutation
test): the learner's function receives a ``numpy.random.Generator``, and its answer is compared
with the *exact* value of what it estimates (the quantiles of Binomial(N, a)/N; the sign-test
p-value of all 2^N relabellings), with a tolerance from Bernstein's inequality for the binomial
count behind that estimate, so a correct answer fails with probability below 1e-9 per comparison.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from course_lib import calibration, metrics
from course_lib import probability as pr
from course_lib import uncertainty as unc
from course_lib.checks.ch03_probability_information import _finite_or_fail
from course_lib.grading import Tester, question

DELTA = 1e-9  # the chance that a correct Monte-Carlo answer falls outside its allowance, per comparison


def _binomial_deviation(m: int, p: float) -> float:
    """Bernstein's allowance for a binomial count (:func:`course_lib.uncertainty.binomial_deviation`) at DELTA."""
    return unc.binomial_deviation(m, p, DELTA)


# -- 10. confusion matrix -----------------------------------------------------------------------
def _predictions(t: Tester, n: int, k: int, accuracy: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Labels and noisy predictions (correct with probability ``accuracy``), asymmetric errors."""
    y = t.rng.integers(0, k, n)
    noise = t.rng.integers(0, k, n)
    return y, np.where(t.rng.uniform(size=n) < accuracy, y, noise)


@question("03.confusion_matrix", title="Confusion matrix (rows: true class, columns: predicted)")
def _check_confusion_matrix(t: Tester):
    cases = [(*_predictions(t, 30, 3), 3), (*_predictions(t, 20, 2), 2), (*_predictions(t, 50, 5), 5),
             (np.array([1]), np.array([0]), 2)]
    y, p = _predictions(t, 25, 3)
    cases.append((y, p, 4))  # class 3 never occurs and is never predicted: it still gets a row and a column
    for y_true, y_pred, k in cases:
        case = {"y_true": y_true, "y_pred": y_pred, "num_classes": k}
        got = t.call(y_true, y_pred, k)
        C = metrics.confusion_matrix(y_true, y_pred, k)
        if isinstance(got, np.ndarray) and got.ndim == 2 and got.shape != C.shape:
            t.fail(f"Shape {got.shape}, expected {C.shape}.", case=case,
                   hint="Make the matrix num_classes x num_classes: a class may be absent from both arrays and "
                        "still gets its (all-zero) row and column.")
        once = np.zeros((k, k))
        once[y_true, y_pred] += 1  # the slip itself: repeated (true, predicted) pairs are written, not added
        t.expect_close(got, C, case=case, mistakes={
            "`C[y_true, y_pred] += 1` counts each (true, predicted) pair only ONCE: with fancy indexing, "
            "repeated index pairs are assigned, not accumulated. Use `np.add.at(C, (y_true, y_pred), 1)`, "
            "a loop over the examples, or np.bincount(y_true * K + y_pred, minlength=K * K).reshape(K, K).": once,
            "Rows are the TRUE classes and columns the PREDICTED ones: C[i, j] counts examples of class i "
            "predicted as j. Yours is transposed.": C.T,
            "Count the examples (integers); do not divide by N.": C / len(y_true),
            "Count the examples; do not normalize each row.": C / np.maximum(C.sum(axis=1, keepdims=True), 1),
        })


# -- 11. precision, recall, F1 -------------------------------------------------------------------
_ZERO_DIVISION_HINT = ("When the classifier predicts no positive at all, TP + FP = 0 and precision is 0/0. This "
                       "course (like scikit-learn's zero_division=0) defines it as 0; F1 is then 0 too.")


@question("03.precision_recall_f1", title="Precision, recall and F1 of a binary classifier")
def _check_precision_recall_f1(t: Tester):
    cases = []
    for n, pos_rate, fp_rate, fn_rate in [(40, 0.3, 0.3, 0.15), (25, 0.6, 0.1, 0.4),
                                          (int(t.rng.integers(10, 60)), 0.2, 0.2, 0.3)]:
        y = (t.rng.uniform(size=n) < pos_rate).astype(int)
        y[:2] = [0, 1]  # both classes occur
        u = t.rng.uniform(size=n)
        pred = np.where(y == 1, u >= fn_rate, u < fp_rate).astype(int)  # precision and recall differ
        pred[1] = 1  # at least one true positive
        cases.append((y, pred))
    y = (t.rng.uniform(size=15) < 0.4).astype(int)
    y[0] = 1
    cases.append((y, np.zeros(15, dtype=int)))  # never predicts the positive class
    for y_true, y_pred in cases:
        case = {"y_true": y_true, "y_pred": y_pred}
        got = t.call(y_true, y_pred)
        values = t.numbers(got, ("precision", "recall", "f1"), case=case)
        if not y_pred.any():
            _finite_or_fail(t, values, case, _ZERO_DIVISION_HINT)
        ref = np.array(metrics.precision_recall_f1(y_true, y_pred, average="binary"))
        p, r, f1 = ref
        acc = metrics.accuracy(y_true, y_pred)
        t.expect_close(values, ref, case=case, mistakes={
            "Precision and recall are swapped. Precision = TP / (TP + FP): of the examples PREDICTED positive, "
            "the fraction that are. Recall = TP / (TP + FN): of the examples that ARE positive, the fraction "
            "found.": [r, p, f1],
            "F1 is the HARMONIC mean of precision and recall, 2 P R / (P + R), not their average (P + R) / 2.":
                [p, r, (p + r) / 2],
            "Those are all the accuracy; precision and recall only look at the positive class.": [acc, acc, acc],
        })


# -- 12. an accuracy, its standard error and a bootstrap interval -----------------------------------
N_BOOT = 5000


def _rng_case(seed: int) -> str:
    return f"np.random.default_rng({seed})"


def _rng_state(rng: np.random.Generator) -> str:
    return repr(rng.bit_generator.state)


def _used_rng(t: Tester, rng: np.random.Generator, before: str, case: dict, what: str) -> None:
    """A random answer must draw from the ``rng`` it was given (then a seed repeats it)."""
    t.expect(_rng_state(rng) != before, "Your function did not draw any random numbers from the `rng` it was given.",
             case=case, hint=f"Draw every random number of the {what} from the `rng` argument (rng.integers, "
                             "rng.choice, rng.random), not from np.random: then a seed repeats the whole computation.")


def _bootstrap_range(correct: np.ndarray, q: float) -> tuple[float, float]:
    """Where an estimate of the q-quantile of Binomial(N, a_hat)/N from N_BOOT resamples lies (but for a DELTA
    chance): the exact quantiles at q -+ slack. The empirical CDF at a point is Binomial(B, F)/B, so it is
    off by more than the Bernstein deviation / B with probability below DELTA; one more step for the
    interpolation between order statistics."""
    slack = (_binomial_deviation(N_BOOT, q) + 1.0) / N_BOOT
    return (unc.bootstrap_accuracy_quantile(correct, max(q - slack, 0.0)),
            unc.bootstrap_accuracy_quantile(correct, min(q + slack, 1.0)))


def _accuracy_cases(t: Tester) -> list[tuple[np.ndarray, float]]:
    cases = []
    for n, acc, level in [(200, 0.85, 0.95), (int(t.rng.integers(100, 200)), 0.7, 0.8), (400, 0.97, 0.95)]:
        cases.append(((t.rng.uniform(size=n) < acc).astype(int), level))
    few_errors = np.ones(25, dtype=int)
    few_errors[int(t.rng.integers(25))] = 0  # 24 of 25 right: a + 1.96 SE is above 1
    cases.append((few_errors, 0.95))
    return cases


@question("03.accuracy_interval", title="An accuracy, its standard error and a percentile bootstrap interval",
          time_limit_s=30.0)
def _check_accuracy_interval(t: Tester):
    for correct, level in _accuracy_cases(t):
        seed = int(t.rng.integers(2**31))
        case = {"correct": correct, "level": level, "n_boot": N_BOOT, "rng": _rng_case(seed)}
        rng = np.random.default_rng(seed)
        before = _rng_state(rng)
        got = t.call(correct, level, N_BOOT, rng)
        acc, se, low, high = t.numbers(got, ("accuracy", "se", "low", "high"), case=case)
        n, a = correct.size, float(correct.mean())
        t.expect_close(acc, a, case=case, what="accuracy", mistakes={
            "That is the error rate 1 - accuracy: the accuracy is the fraction of 1s in `correct`.": 1 - a})
        ref_se = math.sqrt(a * (1 - a) / n)
        t.expect_close(se, ref_se, case=case, what="se", mistakes={
            "That is the standard deviation of ONE example's correctness, sqrt(a(1 - a)). The standard error "
            "of the accuracy, a mean of N of them, is sqrt(a(1 - a) / N).": math.sqrt(a * (1 - a)),
            "That is the variance a(1 - a)/N of the accuracy; the standard error is its square root.":
                a * (1 - a) / n,
            "Divide inside the square root: SE = sqrt(a(1 - a) / N), not sqrt(a(1 - a)) / N.":
                math.sqrt(a * (1 - a)) / n,
            "Use the plug-in formula sqrt(a(1 - a) / N) (np.std with ddof=0, over sqrt(N)); you divided by N - 1.":
                math.sqrt(a * (1 - a) / (n - 1)),
        })
        z = NormalDist().inv_cdf(0.5 + level / 2)
        if _rng_state(rng) == before and np.allclose([low, high], [a - z * se, a + z * se], rtol=1e-9, atol=1e-12):
            t.fail(f"Your interval [{low:.6g}, {high:.6g}] is the normal interval a +- z SE.", case=case,
                   hint=_NORMAL_HINT)
        _check_interval(t, correct, level, low, high, se, case)
        _used_rng(t, rng, before, case, "bootstrap")


_NORMAL_HINT = ("That is the normal interval a +- z SE; the question asks for the percentile bootstrap: resample the "
                "examples with replacement n_boot times (with the rng given) and take quantiles of the resampled "
                "accuracies.")


def _check_interval(t: Tester, correct, level: float, low: float, high: float, se: float, case: dict) -> None:
    a = float(correct.mean())
    t.expect(low <= high, f"Your interval [{low:.6g}, {high:.6g}] ends below its start.", case=case,
             hint="Return low (the (1 - level)/2 quantile of the bootstrap accuracies) before high.")
    if low == high == a:
        t.fail(f"Your interval is the single point {a:.6g}: every resample had the same accuracy.", case=case,
               hint="Resample WITH replacement (rng.integers(0, N, N), or rng.choice(N, N, replace=True)): "
                    "without it each resample is a reordering of the data and its mean never changes.")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    if high > 1 + 1e-12 or low < -1e-12:
        t.fail(f"Your interval [{low:.6g}, {high:.6g}] leaves [0, 1], where every accuracy lies.", case=case,
               hint="That looks like the normal interval a +- z SE, which can leave [0, 1] when there are few "
                    "errors. The percentile bootstrap takes quantiles of accuracies of resamples, each in [0, 1].")
    alpha = 1 - level
    ranges = [_bootstrap_range(correct, alpha / 2), _bootstrap_range(correct, 1 - alpha / 2)]
    inside = [lo - 1e-12 <= v <= hi + 1e-12 for v, (lo, hi) in zip((low, high), ranges)]
    if all(inside):
        return
    hint = None
    if level != 0.95:
        r95 = [_bootstrap_range(correct, 0.025), _bootstrap_range(correct, 0.975)]
        if all(lo - 1e-12 <= v <= hi + 1e-12 for v, (lo, hi) in zip((low, high), r95)):
            hint = (f"That is a 95% interval, but the level here is {level}: take the (1 - level)/2 and "
                    "(1 + level)/2 quantiles of the bootstrap accuracies.")
    if hint is None and np.allclose([low, high], [a - z * se, a + z * se], rtol=1e-9, atol=1e-12):
        hint = _NORMAL_HINT
    expected = ", ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in ranges)
    t.fail(f"Your interval is [{low:.6g}, {high:.6g}]. From {N_BOOT} resamples, its ends should lie in {expected} "
           "respectively (the exact quantiles of the bootstrap distribution, Binomial(N, a)/N, give or take "
           "the Monte-Carlo error of the resampling).", case=case,
           hint=hint or "Resample the N examples with replacement n_boot times, compute each resample's accuracy, "
                        "and take the (1 - level)/2 and (1 + level)/2 quantiles (np.quantile takes fractions, "
                        "np.percentile percents).")


# -- 13. a permutation test between two classifiers ---------------------------------------------------
N_PERM = 4000


def _paired_results(t: Tester, n11: int, n10: int, n01: int, n00: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-example correctness of models A and B with these counts (both right, A only, B only, neither), shuffled."""
    a = np.repeat([1, 1, 0, 0], [n11, n10, n01, n00])
    b = np.repeat([1, 0, 1, 0], [n11, n10, n01, n00])
    order = t.rng.permutation(a.size)
    return a[order], b[order]


def _unpaired_p(a: np.ndarray, b: np.ndarray) -> float:
    """Exact two-sided p-value of the UNPAIRED test: the 2N results pooled and split at random."""
    n, total = a.size, int(a.sum() + b.sum())
    s = abs(int(a.sum() - b.sum()))
    hits = sum(math.comb(total, x) * math.comb(2 * n - total, n - x) for x in range(max(0, total - n), min(total, n) + 1)
               if abs(2 * x - total) >= s)
    return hits / math.comb(2 * n, n)


def _strict_p(a: np.ndarray, b: np.ndarray) -> float:
    """The exact two-sided p-value with > instead of >= (the observed value itself not counted)."""
    n10, n01 = int(np.sum(a > b)), int(np.sum(b > a))
    n_d, s = n10 + n01, abs(n10 - n01)
    return sum(math.comb(n_d, k) for k in range(n_d + 1) if abs(2 * k - n_d) > s) / 2**n_d


def _permutation_cases(t: Tester) -> list[tuple[np.ndarray, np.ndarray, int]]:
    n_d = int(t.rng.integers(26, 40))
    # The most lopsided split of the n_d discordant examples whose exact p-value is still >= 0.1: the test
    # then cannot tell the models apart, and one-sided, strict and unpaired p-values all differ from it.
    n10 = max(k for k in range(n_d // 2, n_d + 1)
              if unc.exact_paired_p_value(np.r_[np.ones(k), np.zeros(n_d - k)], np.r_[np.zeros(k), np.ones(n_d - k)]) >= 0.1)
    n11, n00 = int(t.rng.integers(70, 90)), int(t.rng.integers(40, 60))  # many shared mistakes: pairing matters
    a, b = _paired_results(t, n11, n10, n_d - n10, n00)
    # In this order, each slip meets first a case where it stands out: ">" the identical models
    # (p = 1/(n + 1) instead of 1), one side the case where B is better (p near 1), pooling both.
    return [
        (*_paired_results(t, 230, 45, 5, 20), N_PERM),   # A far better: p is about 1e-9
        (a, a.copy(), 199),                              # identical models: every relabelling ties, p = 1
        (b, a, N_PERM),                                  # B a little better
        (a, b, N_PERM),                                  # A a little better: the same two-sided p
        (*_paired_results(t, n11, 7, 5, n00), 99),       # few permutations: p is (r + 1)/100
    ]


@question("03.permutation_test", title="A paired permutation test: is classifier A better than B?",
          time_limit_s=30.0)
def _check_permutation_test(t: Tester):
    for a, b, n in _permutation_cases(t):
        seed = int(t.rng.integers(2**31))
        case = {"correct_a": a, "correct_b": b, "n_permutations": n, "rng": _rng_case(seed)}
        rng = np.random.default_rng(seed)
        before = _rng_state(rng)
        got = t.call(a, b, n, rng)
        (p,) = t.numbers([got] if np.ndim(got) == 0 else got, ("p_value",), case=case)
        if p == 0:
            t.fail("Your p-value is 0.", case=case,
                   hint="Count the observed labelling among the permutations: p = (r + 1)/(n + 1), with r the "
                        "number of relabellings at least as extreme. A permutation p-value is never 0, and the +1 "
                        "is what makes P(p <= alpha) <= alpha hold under the null.")
        t.expect(0 < p <= 1, f"A p-value is a probability, in (0, 1]; yours is {p!r}.", case=case)
        t.expect(p >= (1 - 1e-12) / (n + 1), f"Your p-value {p:.6g} is below 1/(n + 1) = {1 / (n + 1):.6g}, the "
                 "smallest p-value n permutations can give.", case=case,
                 hint="Return the Monte-Carlo p-value (r + 1)/(n + 1), r the number of relabellings at least as "
                      "extreme as the observed one: the +1 counts the observed labelling, so p >= 1/(n + 1).")
        r = p * (n + 1) - 1
        if abs(r - round(r)) > 1e-9 * (n + 1):  # (r + 1)/(n + 1) * (n + 1) is an integer up to rounding
            hint = ("Count the observed labelling among the permutations: p = (r + 1)/(n + 1), not r/n."
                    if abs(p * n - round(p * n)) <= 1e-9 * n else
                    "Return the Monte-Carlo p-value (r + 1)/(n + 1), r the number of the n relabellings whose "
                    "|difference| is at least the observed one.")
            t.fail(f"With n = {n} permutations a p-value (r + 1)/(n + 1) is a multiple of 1/{n + 1}; yours, "
                   f"{p:.6g}, is not.", case=case, hint=hint)
        if not np.array_equal(a, b):  # identical models need no random numbers: every relabelling is the same
            _used_rng(t, rng, before, case, "permutations")
        exact = unc.exact_paired_p_value(a, b)
        # (r + 1)/(n + 1) - exact = ((r - n exact) + (1 - exact))/(n + 1), with r ~ Binomial(n, exact)
        tolerance = (_binomial_deviation(n, exact) + 1) / (n + 1)
        if abs(p - exact) <= tolerance:
            continue
        slips = {
            "That is a ONE-sided p-value (only 'A better than B' counts as extreme). The question asks "
            "whether they differ: count a relabelling when |difference| >= |observed difference|.":
                [unc.exact_paired_p_value(a, b, "greater"), unc.exact_paired_p_value(a, b, "less")],
            "Count relabellings at least as extreme as the observed one (>=, not >): the observed "
            "labelling is one of the equally likely ones, and ties are common with 0/1 results.": [_strict_p(a, b)],
            "Your test is unpaired: it shuffles all 2N results between the models. Both models saw the same "
            "examples, so swap within each example: for every example, exchange A's and B's results with "
            "probability 1/2.": [_unpaired_p(a, b)],
        }
        # The slip whose exact p-value is nearest to the answer, in units of its own Monte-Carlo tolerance.
        distance = {h: min(abs(p - v) / ((_binomial_deviation(n, v) + 1) / (n + 1)) for v in values)
                    for h, values in slips.items()}
        hint = min(distance, key=distance.get) if min(distance.values()) <= 1 else None
        t.fail(f"Your p-value is {p:.6g}; the exact p-value of this test is {exact:.6g}, and {n} random "
               f"relabellings estimate it to within {tolerance:.3g}.", case=case, error=abs(p - exact),
               hint=hint or "For each of the n permutations, swap A's and B's results on each example with "
                            "probability 1/2, recompute acc_A - acc_B, and count r, the relabellings with "
                            "|difference| >= |observed|; return (r + 1)/(n + 1).")


# -- 14. the expected calibration error ---------------------------------------------------------------
def _calibration_case(t: Tester, n: int, k: int, scale: float, true_tau: float, n_bins: int,
                      one_hot: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Predictions softmax(z) for labels drawn from softmax(z / true_tau): over- (true_tau > 1) or
    underconfident; no confidence within 1e-6 of an inner bin edge (where edge conventions differ)."""
    z = t.rng.normal(0, scale, (n, k))
    for _ in range(100):
        conf = pr.softmax(z).max(axis=1)
        near = (np.abs(conf * n_bins - np.round(conf * n_bins)) < 1e-6) & (conf < 1)
        if not near.any():
            break
        z[near] = t.rng.normal(0, scale, (int(near.sum()), k))
    probs = pr.softmax(z)
    y = (pr.softmax(z / true_tau).cumsum(axis=1) < t.rng.uniform(size=(n, 1))).sum(axis=1).clip(0, k - 1)
    if one_hot:
        rows = t.rng.choice(n, one_hot, replace=False)
        probs[rows] = np.eye(k)[t.rng.integers(0, k, one_hot)]  # confidence exactly 1: the last bin
    return probs, y, n_bins


def _ece_mistakes(probs: np.ndarray, y: np.ndarray, n_bins: int) -> dict:
    conf, correct = calibration.confidence_and_correct(probs, y)
    bins = calibration.reliability_bins(conf, correct, n_bins)
    full = bins.counts > 0
    gaps = bins.accuracy[full] - bins.confidence[full]
    w = bins.counts[full] / len(y)
    pred = probs.argmax(axis=1)
    by_class = sum(np.mean(pred == c) * abs(correct[pred == c].mean() - conf[pred == c].mean())
                   for c in np.unique(pred))
    true_prob = probs[np.arange(len(y)), y]
    mistakes = {
        "Weight each bin by its share of the examples, |B_m| / N: you averaged the bins' gaps with equal "
        "weights, so a bin with 2 examples counts as much as one with 200.": float(np.mean(np.abs(gaps))),
        "Weight each bin by |B_m| / N; you summed the gaps of the non-empty bins and divided by the number of "
        "bins M.": float(np.sum(np.abs(gaps)) / n_bins),
        "Take the absolute value of each bin's gap, |acc - conf|, before averaging: over- and underconfident "
        "bins must not cancel.": float(abs(np.sum(w * gaps))),
        "The ECE averages |acc - conf|, not its square.": float(np.sum(w * gaps**2)),
        "The ECE averages |acc - conf|, not the root of the mean square.": float(np.sqrt(np.sum(w * gaps**2))),
        "Bin the examples by their CONFIDENCE, max_k p_nk, into equal-width bins on [0, 1], not by their "
        "predicted class.": float(by_class),
        "The confidence is the largest probability, max_k p_nk (the probability of the PREDICTED class), not "
        "the probability given to the true class.":
            calibration.calibration_error(true_prob, correct, n_bins),
    }
    if np.any(conf == 1.0):
        kept = conf < 1.0
        dropped = calibration.reliability_bins(conf[kept], correct[kept], n_bins)
        f = dropped.counts > 0
        part = np.sum(dropped.counts[f] * np.abs(dropped.accuracy[f] - dropped.confidence[f]))
        hint = ("A confidence of exactly 1.0 belongs to the last bin ((M-1)/M, 1]: with floor(conf * M) or "
                "np.digitize it gets index M, past the end, and those examples were dropped.")
        mistakes[hint] = float(part / len(y))
        mistakes[hint + " "] = float(part / kept.sum())
    return mistakes


@question("03.ece", title="Expected calibration error (equal-width confidence bins)")
def _check_ece(t: Tester):
    cases = [_calibration_case(t, 300, 10, 4.0, 2.0, 10),   # overconfident
             _calibration_case(t, 200, 3, 1.0, 0.4, 5),     # underconfident
             _calibration_case(t, int(t.rng.integers(100, 400)), 5, 3.0, 1.5, 15, one_hot=40),
             _calibration_case(t, 40, 4, 2.0, 1.0, 20)]     # many empty bins
    for probs, y, n_bins in cases:
        case = {"probs": probs, "y": y, "n_bins": n_bins}
        got = t.call(probs, y, n_bins)
        _finite_or_fail(t, got, case, "An empty bin has no accuracy or confidence (0/0 = nan), but its weight "
                                      "|B_m| / N is 0: leave it out of the sum.")
        t.expect_close(got, calibration.expected_calibration_error(probs, y, n_bins), case=case,
                       mistakes=_ece_mistakes(probs, y, n_bins))
