"""Chapter 03 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
from __future__ import annotations

import numpy as np
import pytest

from check_contract import contract_tests
from course_lib import metrics
from course_lib import probability as pr
from course_lib.grading import run_check

SEEDS = list(range(8))  # every hint must be robust to the random cases, not lucky on one draw

# The wrong answers below overflow and divide by zero on purpose; their warnings are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


# -- correct answers a learner might write ----------------------------------------------------
def expectation_variance_loops(x, p):
    mean = sum(pk * xk for pk, xk in zip(p, x))
    return mean, sum(pk * (xk - mean) ** 2 for pk, xk in zip(p, x))


def softmax_stable(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_via_log(z):
    return np.exp(pr.log_softmax(z))


def softmax_rows_loop(z):
    z2 = np.atleast_2d(z)
    out = np.empty_like(z2)
    for i, row in enumerate(z2):
        e = np.exp(row - row.max())
        out[i] = e / e.sum()
    return out.reshape(np.shape(z))


def log_softmax_stable(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def entropy_masked(p):
    return -np.sum(p * np.log(np.where(p > 0, p, 1.0)), axis=-1)


def entropy_scipy(p):
    from scipy.special import entr

    return entr(p).sum(axis=-1)


def cross_entropy_masked(p, q):
    with np.errstate(divide="ignore"):
        logq = np.log(q)
    return -np.sum(np.where(p > 0, p * np.where(p > 0, logq, 0.0), 0.0), axis=-1)


def cross_entropy_scipy(p, q):
    from scipy.special import xlogy

    return -np.sum(xlogy(p, q), axis=-1)


def kl_masked(p, q):
    with np.errstate(divide="ignore"):
        ratio = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)) - np.log(q), 0.0)
    return np.sum(p * ratio, axis=-1)


def kl_scipy(p, q):
    from scipy.special import rel_entr

    return rel_entr(p, q).sum(axis=-1)


def nll_loop(z, y):
    total = 0.0
    for row, label in zip(z, y):
        m = row.max()
        total += -(row[label] - m - np.log(np.sum(np.exp(row - m))))
    return total / len(y)


def nll_torch(z, y):
    import torch
    import torch.nn.functional as F

    return F.cross_entropy(torch.tensor(z), torch.tensor(y)).item()


def gaussian_mle_loop(x):
    n = len(x)
    mu = sum(x) / n
    return mu, (sum((xi - mu) ** 2 for xi in x) / n) ** 0.5


def beta_posterior_loop(a, b, flips):
    for f in flips:
        if f == 1:
            a += 1
        else:
            b += 1
    return a, b


def stationary_eig(P):
    w, V = np.linalg.eig(P.T)
    v = V[:, np.argmin(np.abs(w - 1))].real
    return v / v.sum()


def stationary_solve(P):
    n = len(P)
    A = np.vstack([P.T - np.eye(n), np.ones(n)])  # (P^T - I) pi = 0 and sum(pi) = 1
    return np.linalg.lstsq(A, np.r_[np.zeros(n), 1.0], rcond=None)[0]


def stationary_power(P):
    pi = np.ones(len(P)) / len(P)
    for _ in range(500):
        pi = pi @ P
    return pi


def confusion_loop(y_true, y_pred, k):
    C = np.zeros((k, k), dtype=int)
    for i, j in zip(y_true, y_pred):
        C[i, j] += 1
    return C


def prf_counts(y_true, y_pred):
    tp = np.sum((y_true == 1) & (y_pred == 1))
    fp = np.sum((y_true == 0) & (y_pred == 1))
    fn = np.sum((y_true == 1) & (y_pred == 0))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def prf_sklearn(y_true, y_pred):
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="binary", zero_division=0)
    return p, r, f


# -- plausible wrong answers ------------------------------------------------------------------
def softmax_naive(z):
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_min_shift(z):
    e = np.exp(z - z.min(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_global_max(z):
    e = np.exp(z - z.max())
    return e / e.sum(axis=-1, keepdims=True)


def softmax_axis0(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_no_keepdims(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1)


def softmax_whole_sum(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum()


def softmax_unnormalized(z):
    return np.exp(z - z.max(axis=-1, keepdims=True))


def softmax_axis1(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax_naive(z):
    return np.log(softmax_stable(z))


def log_softmax_forgot_m(z):
    m = z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def log_softmax_unshifted(z):
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def entropy_naive(p):
    return -np.sum(p * np.log(p), axis=-1)


def entropy_bits(p):
    return -np.sum(p * np.log2(np.where(p > 0, p, 1.0)), axis=-1)


def entropy_no_minus(p):
    return np.sum(p * np.log(np.where(p > 0, p, 1.0)), axis=-1)


def entropy_mean(p):
    return -np.mean(p * np.log(np.where(p > 0, p, 1.0)), axis=-1)


def cross_entropy_naive(p, q):
    return -np.sum(p * np.log(q), axis=-1)


def cross_entropy_epsilon(p, q):
    return -np.sum(p * np.log(q + 1e-12), axis=-1)


def kl_naive(p, q):
    return np.sum(p * np.log(p / q), axis=-1)


def nll_naive(z, y):
    return -np.mean(np.log(softmax_naive(z)[np.arange(len(y)), y]))


def nll_log_of_stable_softmax(z, y):
    return -np.mean(np.log(softmax_stable(z)[np.arange(len(y)), y]))


def prf_naive(y_true, y_pred):
    tp = np.sum((y_true == 1) & (y_pred == 1))
    fp = np.sum((y_true == 0) & (y_pred == 1))
    fn = np.sum((y_true == 1) & (y_pred == 0))
    p, r = tp / (tp + fp), tp / (tp + fn)
    return p, r, 2 * p * r / (p + r)


def _swap(fn):
    return lambda p, q: fn(q, p)


def _eig_right(P):
    w, V = np.linalg.eig(P)
    return V[:, np.argmin(np.abs(w - 1))].real


def _eig_unit(P):
    w, V = np.linalg.eig(P.T)
    return V[:, np.argmin(np.abs(w - 1))].real


def _eig_row(P):
    w, V = np.linalg.eig(P.T)
    v = V[np.argmin(np.abs(w - 1)), :].real
    return v / v.sum()


def _eig_complex(P):
    w, V = np.linalg.eig(P.T)
    v = V[:, np.argmin(np.abs(w - 1))]
    return v / v.sum()


def confusion_fancy_index(y_true, y_pred, k):
    """The slip: a fancy-indexed += adds 1 once per distinct pair, however often it repeats."""
    C = np.zeros((k, k), dtype=int)
    C[y_true, y_pred] += 1
    return C


QUESTIONS = {
    "03.expectation_variance": dict(
        reference=lambda x, p: (pr.expectation(x, p), pr.variance(x, p)),
        correct=[expectation_variance_loops,
                 lambda x, p: (x @ p, p @ x**2 - (p @ x) ** 2),
                 lambda x, p: (np.average(x, weights=p), np.average((x - np.average(x, weights=p)) ** 2, weights=p))],
        hard_coded=lambda x, p: (3.5, 35 / 12),
        wrong={
            "Weight each value": lambda x, p: (np.mean(x), np.var(x)),
            "no division by the number": lambda x, p: (x @ p / len(x), pr.variance(x, p)),
            "squared mean": lambda x, p: (x @ p, p @ x**2),
            "standard deviation": lambda x, p: (x @ p, np.sqrt(pr.variance(x, p))),
            "Return all of them": lambda x, p: x @ p,
        },
    ),
    "03.softmax": dict(
        reference=pr.softmax,
        correct=[softmax_stable, softmax_via_log, softmax_rows_loop],
        hard_coded=lambda z: np.full(np.shape(z), 1.0 / np.shape(z)[-1]),
        wrong={
            "MAXIMUM": softmax_naive,
            "minimum": softmax_min_shift,
            "OWN maximum": softmax_global_max,
            "COLUMNS": softmax_axis0,
            "keepdims": softmax_no_keepdims,
            "whole batch": softmax_whole_sum,
            "without dividing": softmax_unnormalized,
            "LAST axis": softmax_axis1,
            "sum to 1": lambda z: softmax_stable(z) * 1.1 + 0.01,
        },
    ),
    "03.log_softmax": dict(
        reference=pr.log_softmax,
        correct=[log_softmax_stable, lambda z: z - pr.logsumexp(z, keepdims=True),
                 lambda z: z - np.logaddexp.reduce(z, axis=-1, keepdims=True)],
        hard_coded=lambda z: np.zeros(np.shape(z)),
        wrong={
            "underflows": log_softmax_naive,
            "overflows": log_softmax_unshifted,
            "add it back": log_softmax_forgot_m,
            "logarithm": softmax_stable,
            "COLUMNS": lambda z: z - pr.logsumexp(z, axis=0, keepdims=True),
        },
    ),
    "03.entropy": dict(
        reference=pr.entropy,
        correct=[entropy_masked, entropy_scipy, lambda p: pr.cross_entropy(p, p)],
        hard_coded=lambda p: 1.0,
        wrong={
            "0 * -inf": entropy_naive,
            "nats": entropy_bits,
            "minus sign": entropy_no_minus,
            "do not average": entropy_mean,
            "BATCH axis": lambda p: entropy_masked(p).sum(),
            "axis 0": lambda p: -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=0),
        },
    ),
    "03.cross_entropy": dict(
        reference=pr.cross_entropy,
        correct=[cross_entropy_masked, cross_entropy_scipy, lambda p, q: pr.entropy(p) + pr.kl_divergence(p, q)],
        hard_coded=lambda p, q: 1.0,
        wrong={
            "0 * -inf": cross_entropy_naive,
            "swapped": _swap(pr.cross_entropy),
            "KL divergence": pr.kl_divergence,
            "nats": lambda p, q: pr.cross_entropy(p, q) / np.log(2),
            "minus sign": lambda p, q: -pr.cross_entropy(p, q),
            "epsilon": cross_entropy_epsilon,
        },
    ),
    "03.kl_divergence": dict(
        reference=pr.kl_divergence,
        correct=[kl_masked, kl_scipy, lambda p, q: pr.cross_entropy(p, q) - pr.entropy(p)],
        hard_coded=lambda p, q: 0.1,
        wrong={
            "not symmetric": _swap(pr.kl_divergence),
            "0 * -inf": kl_naive,
            "cross-entropy": pr.cross_entropy,
            "sign is flipped": lambda p, q: -pr.kl_divergence(p, q),
            "nats": lambda p, q: pr.kl_divergence(p, q) / np.log(2),
        },
    ),
    "03.categorical_nll": dict(
        reference=pr.categorical_nll,
        correct=[nll_loop, nll_torch, lambda z, y: pr.cross_entropy_with_logits(pr.one_hot(y, z.shape[1]), z).mean()],
        hard_coded=lambda z, y: 1.0,
        wrong={
            "logsumexp": nll_naive,
            "underflows to 0": nll_log_of_stable_softmax,
            "not the sum": lambda z, y: len(y) * pr.categorical_nll(z, y),
            "NEGATIVE": lambda z, y: -pr.categorical_nll(z, y),
            "np.arange(N)": lambda z, y: -np.mean(pr.log_softmax(z)[:, y]),
            "TRUE class": lambda z, y: -np.mean(pr.log_softmax(z)),
            "one loss per example": lambda z, y: -pr.log_softmax(z)[np.arange(len(y)), y],
            "raw logit": lambda z, y: -np.mean(z[np.arange(len(y)), y]),
        },
    ),
    "03.gaussian_mle": dict(
        reference=pr.gaussian_mle,
        correct=[gaussian_mle_loop, lambda x: (np.mean(x), np.std(x)),
                 lambda x: (x.mean(), np.sqrt(np.mean(x**2) - x.mean() ** 2))],
        hard_coded=lambda x: (0.0, 1.0),
        wrong={
            "N - 1": lambda x: (np.mean(x), np.std(x, ddof=1)),
            "variance": lambda x: (np.mean(x), np.var(x)),
            "unbiased variance": lambda x: (np.mean(x), np.var(x, ddof=1)),
            "median": lambda x: (np.median(x), np.std(x)),
            "Centre": lambda x: (np.mean(x), np.sqrt(np.mean(x**2))),
        },
    ),
    "03.beta_posterior": dict(
        reference=pr.beta_posterior,
        correct=[beta_posterior_loop,
                 lambda a, b, f: (a + np.count_nonzero(f), b + len(f) - np.count_nonzero(f))],
        hard_coded=lambda a, b, f: (10.0, 5.0),
        wrong={
            "swapped": lambda a, b, f: (a + len(f) - sum(f), b + sum(f)),
            "TAILS": lambda a, b, f: (a + sum(f), b + len(f)),
            "pseudo-counts": lambda a, b, f: (sum(f), len(f) - sum(f)),
            "Return all of them": lambda a, b, f: a + sum(f),
        },
    ),
    "03.stationary_distribution": dict(
        reference=pr.stationary_distribution,
        correct=[stationary_eig, stationary_solve, stationary_power,
                 lambda P: pr.stationary_power_iteration(P)[0]],
        hard_coded=lambda P: np.full(len(P), 1.0 / len(P)),
        wrong={
            "LEFT eigenvector": _eig_right,
            "not to length 1": _eig_unit,
            "COLUMNS": _eig_row,
            "complex": _eig_complex,
        },
    ),
    "03.confusion_matrix": dict(
        reference=metrics.confusion_matrix,
        correct=[confusion_loop,
                 lambda t, p, k: np.histogram2d(t, p, bins=k, range=[[0, k], [0, k]])[0],
                 lambda t, p, k: __import__("sklearn.metrics").metrics.confusion_matrix(t, p, labels=range(k))],
        hard_coded=lambda t, p, k: np.eye(3, dtype=int),
        wrong={
            "transposed": lambda t, p, k: confusion_loop(t, p, k).T,
            "do not divide by N": lambda t, p, k: confusion_loop(t, p, k) / len(t),
            "absent": lambda t, p, k: confusion_loop(t, p, int(max(t.max(), p.max())) + 1),
            "np.add.at": confusion_fancy_index,
        },
    ),
    "03.precision_recall_f1": dict(
        reference=lambda t, p: tuple(metrics.precision_recall_f1(t, p, average="binary")),
        correct=[prf_counts, prf_sklearn, lambda t, p: list(prf_counts(t, p)),
                 lambda t, p: np.array(prf_counts(t, p))],  # any sequence of three numbers
        hard_coded=lambda t, p: (0.8, 0.7, 0.75),
        wrong={
            "swapped": lambda t, p: (prf_counts(t, p)[1], prf_counts(t, p)[0], prf_counts(t, p)[2]),
            "HARMONIC": lambda t, p: (*prf_counts(t, p)[:2], sum(prf_counts(t, p)[:2]) / 2),
            "accuracy": lambda t, p: (np.mean(t == p),) * 3,
            "zero_division": prf_naive,
        },
    ),
}


def test_a_copied_worked_example_is_named():
    weather = pr.stationary_distribution(np.array([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.4, 0.4]]))
    result = run_check("03.stationary_distribution", lambda P: weather.copy())
    assert result.status == "failed" and "worked example" in result.hint, str(result)


def test_overflowing_softmax_is_told_why_not_just_nan():
    result = run_check("03.softmax", softmax_naive)
    assert "inf / inf is nan" in result.hint and "nan" in result.message
    assert "1000" in result.case  # the failing case is the one with large logits


def test_a_check_emits_no_warnings_of_its_own(recwarn):
    for qid, spec in QUESTIONS.items():
        run_check(qid, spec["reference"])
    assert not [w for w in recwarn if "course_lib" in str(w.filename)]


def test_mutating_the_input_is_reported():
    def softmax_in_place(z):
        z -= z.max(axis=-1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=-1, keepdims=True)
        return z

    result = run_check("03.softmax", softmax_in_place)
    assert result.status == "failed" and "in place" in result.message


CORRECT = {qid: (spec["reference"], spec["correct"], spec["hard_coded"]) for qid, spec in QUESTIONS.items()}
WRONG = {qid: [(answer, word) for word, answer in spec["wrong"].items()] for qid, spec in QUESTIONS.items()}
globals().update(contract_tests("03", CORRECT, WRONG, seeds=SEEDS, wrong_seeds=SEEDS, hard_coded_seeds=SEEDS[:3]))
