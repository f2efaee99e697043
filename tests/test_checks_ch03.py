"""Chapter 03 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
from __future__ import annotations

import numpy as np
import pytest

from check_contract import contract_tests
from course_lib import calibration as cal
from course_lib import metrics
from course_lib import probability as pr
from course_lib import uncertainty as U
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


def _information_with(entropy=None, cross_entropy=None, kl=None):
    """The three information quantities, one of them computed by a wrong function."""
    def answer(p, q):
        return (entropy(p) if entropy else pr.entropy(p),
                cross_entropy(p, q) if cross_entropy else pr.cross_entropy(p, q),
                kl(p, q) if kl else pr.kl_divergence(p, q))
    return answer


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


# -- Bayes, the accuracy interval, the permutation test, the ECE: right and wrong ways ---------------
def bayes_logs(prior, like):
    with np.errstate(divide="ignore"):
        log_post = np.log(prior) + np.log(like).sum(axis=0)
    w = np.exp(log_post - log_post.max())
    return w / w.sum()


def bayes_one_at_a_time(prior, like):
    post = np.asarray(prior, dtype=float)
    for row in like:  # each posterior is the next prior; renormalizing each step keeps it from underflowing
        post = post * row
        post = post / post.sum()
    return post


def bayes_scipy(prior, like):
    from scipy.special import logsumexp, softmax

    with np.errstate(divide="ignore"):
        log_joint = np.log(prior) + np.log(like).sum(axis=0)
    return np.exp(log_joint - logsumexp(log_joint)) if np.isfinite(log_joint).any() else softmax(log_joint)


def bayes_naive(prior, like):
    joint = prior * like.prod(axis=0)
    return joint / joint.sum()


def accuracy_interval_loop(c, level, n_boot, rng):
    n, a = len(c), np.mean(c)
    accs = [np.mean(rng.choice(c, size=n, replace=True)) for _ in range(n_boot)]
    low, high = np.percentile(accs, [50 * (1 - level), 50 * (1 + level)])
    return a, np.sqrt(a * (1 - a) / n), low, high


def accuracy_interval_vectorized(c, level, n_boot, rng):
    n = len(c)
    accs = c[rng.integers(0, n, (n_boot, n))].mean(axis=1)
    return [np.mean(c), np.std(c) / np.sqrt(n), *np.quantile(accs, [(1 - level) / 2, (1 + level) / 2])]


def accuracy_interval_exact_binomial(c, level, n_boot, rng):
    """The limit of infinitely many resamples: quantiles of Binomial(N, a)/N (scipy)."""
    from scipy.stats import binom

    n, a = len(c), np.mean(c)
    low, high = binom.ppf([(1 - level) / 2, (1 + level) / 2], n, a) / n
    return a, np.sqrt(a * (1 - a) / n), low, high


def _interval_with(se):
    def answer(c, level, n_boot, rng):
        ci = U.accuracy_interval(c, level, n_boot, rng)
        return ci.accuracy, se(c), ci.low, ci.high
    return answer


def accuracy_interval_normal(c, level, n_boot, rng):
    a, se = np.mean(c), U.accuracy_standard_error(c)
    return (a, se, *U.normal_interval(a, se, level))


def accuracy_interval_no_replacement(c, level, n_boot, rng):
    accs = [np.mean(rng.permutation(c)) for _ in range(n_boot)]
    return np.mean(c), U.accuracy_standard_error(c), *np.quantile(accs, [(1 - level) / 2, (1 + level) / 2])


def accuracy_interval_always_95(c, level, n_boot, rng):
    return tuple(U.accuracy_interval(c, 0.95, n_boot, rng))


def accuracy_interval_global_random(c, level, n_boot, rng):
    return tuple(U.accuracy_interval(c, level, n_boot, np.random.default_rng()))


def permutation_loop(a, b, n, rng, plus_one=True, one_sided=False, strict=False):
    observed = np.mean(a) - np.mean(b)
    r = 0
    for _ in range(n):
        swap = rng.random(len(a)) < 0.5
        d = np.mean(np.where(swap, b, a)) - np.mean(np.where(swap, a, b))
        if one_sided:
            r += d >= observed
        elif strict:
            r += abs(d) > abs(observed)
        else:
            r += abs(d) >= abs(observed)
    return (r + 1) / (n + 1) if plus_one else r / n


def permutation_unpaired(a, b, n, rng):
    pooled, observed, r = np.concatenate([a, b]), abs(np.mean(a) - np.mean(b)), 0
    for _ in range(n):
        shuffled = rng.permutation(pooled)
        r += abs(shuffled[: len(a)].mean() - shuffled[len(a):].mean()) >= observed
    return (r + 1) / (n + 1)


def ece_loop(probs, y, m):
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    total = 0.0
    for k in range(m):
        members = (conf > k / m) & (conf <= (k + 1) / m)
        if members.any():
            total += members.mean() * abs(np.mean(pred[members] == y[members]) - conf[members].mean())
    return total


def ece_digitize(probs, y, m):
    conf, correct = probs.max(axis=1), probs.argmax(axis=1) == y
    bins = np.digitize(conf, np.linspace(0, 1, m + 1)[1:-1])  # left-closed inner edges; 1.0 in the last bin
    return sum(np.mean(bins == k) * abs(correct[bins == k].mean() - conf[bins == k].mean())
               for k in range(m) if np.any(bins == k))


def ece_histogram(probs, y, m):
    conf, correct = probs.max(axis=1), (probs.argmax(axis=1) == y).astype(float)
    counts, edges = np.histogram(conf, bins=m, range=(0, 1))
    right, _ = np.histogram(conf, bins=m, range=(0, 1), weights=correct)
    confs, _ = np.histogram(conf, bins=m, range=(0, 1), weights=conf)
    full = counts > 0
    return np.sum(np.abs(right[full] - confs[full])) / len(y)  # sum_b |n_b acc_b - n_b conf_b| / N


def ece_variant(probs, y, m, weights="count", gap=np.abs, outer=lambda v: v):
    conf, correct = cal.confidence_and_correct(probs, y)
    bins = cal.reliability_bins(conf, correct, m)
    full = bins.counts > 0
    g = gap(bins.accuracy[full] - bins.confidence[full])
    if weights == "equal":
        return float(np.mean(np.abs(g)))
    if weights == "per bin":
        return float(np.sum(np.abs(g)) / m)
    return float(outer(np.sum(bins.counts[full] / len(y) * g)))


def ece_by_class(probs, y, m):
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    return sum(np.mean(pred == k) * abs(np.mean(y[pred == k] == k) - conf[pred == k].mean()) for k in np.unique(pred))


def ece_floor(probs, y, m):
    conf, correct = probs.max(axis=1), probs.argmax(axis=1) == y
    idx = np.floor(conf * m).astype(int)  # a confidence of 1.0 gets index m: dropped below
    return sum(np.mean(idx == k) * abs(correct[idx == k].mean() - conf[idx == k].mean())
               for k in range(m) if np.any(idx == k))


def ece_nan_bins(probs, y, m):
    conf, correct = probs.max(axis=1), probs.argmax(axis=1) == y
    idx = np.clip(np.ceil(conf * m).astype(int) - 1, 0, m - 1)
    with np.errstate(invalid="ignore"):
        gaps = [np.mean(idx == k) * abs(correct[idx == k].mean() - conf[idx == k].mean()) for k in range(m)]
    return float(np.sum(gaps))


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
    "03.information": dict(
        reference=lambda p, q: (pr.entropy(p), pr.cross_entropy(p, q), pr.kl_divergence(p, q)),
        correct=[lambda p, q: (entropy_masked(p), cross_entropy_masked(p, q), kl_masked(p, q)),
                 lambda p, q: (entropy_scipy(p), cross_entropy_scipy(p, q), kl_scipy(p, q)),
                 # KL from the identity H[p, q] = H[p] + KL(p || q), and a list instead of a tuple
                 lambda p, q: [entropy_masked(p), cross_entropy_masked(p, q),
                               cross_entropy_masked(p, q) - entropy_masked(p)]],
        hard_coded=lambda p, q: (1.0, 1.2, 0.2),
        wrong={
            "0 * -inf": _information_with(entropy=entropy_naive),
            "nats": _information_with(entropy=entropy_bits),
            "minus sign": _information_with(entropy=entropy_no_minus),
            "do not average": _information_with(entropy=entropy_mean),
            "BATCH axis": _information_with(entropy=lambda p: entropy_masked(p).sum()),
            "swapped": _information_with(cross_entropy=_swap(pr.cross_entropy)),
            "KL divergence": _information_with(cross_entropy=pr.kl_divergence),
            "epsilon": _information_with(cross_entropy=cross_entropy_epsilon),
            "not symmetric": _information_with(kl=_swap(pr.kl_divergence)),
            "sign is flipped": _information_with(kl=lambda p, q: -pr.kl_divergence(p, q)),
            "subtract the entropy": _information_with(kl=pr.cross_entropy),
            "added the entropy": _information_with(kl=lambda p, q: pr.cross_entropy(p, q) + pr.entropy(p)),
            "Return all of them": lambda p, q: (pr.entropy(p), pr.cross_entropy(p, q)),
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
    "03.discrete_bayes": dict(
        reference=pr.bayes_posterior,
        correct=[bayes_logs, bayes_one_at_a_time, bayes_scipy],
        hard_coded=lambda prior, like: np.array([0.16, 0.84]),
        wrong={
            "Normalize": lambda prior, like: prior * like.prod(axis=0),
            "base-rate fallacy": lambda prior, like: bayes_logs(np.ones_like(prior), like),
            "p(A | B) and p(B | A)": lambda prior, like: like.prod(axis=0),
            "MULTIPLY": lambda prior, like: prior * like.sum(axis=0) / np.sum(prior * like.sum(axis=0)),
            "last one": lambda prior, like: prior * like[-1] / np.sum(prior * like[-1]),
            "Work in logs": bayes_naive,
            "axis 0": lambda prior, like: like.prod(axis=1) / like.prod(axis=1).sum(),
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
    "03.accuracy_interval": dict(
        reference=lambda c, level, n_boot, rng: tuple(U.accuracy_interval(c, level, n_boot, rng)),
        correct=[accuracy_interval_loop, accuracy_interval_vectorized],
        hard_coded=lambda c, level, n_boot, rng: (0.85, 0.025, 0.8, 0.9),
        wrong={
            "ONE example": _interval_with(se=lambda c: np.std(c)),
            "square root": _interval_with(se=lambda c: np.var(c) / len(c)),
            "normal interval": accuracy_interval_normal,
            "WITH replacement": accuracy_interval_no_replacement,
            "(1 - level)/2": accuracy_interval_always_95,
            "`rng` argument": accuracy_interval_global_random,
            "did not draw": accuracy_interval_exact_binomial,  # the limit B -> infinity, but not the bootstrap asked for
            "Return all of them": lambda c, level, n_boot, rng: U.accuracy_interval(c, level, n_boot, rng)[:3],
        },
    ),
    "03.permutation_test": dict(
        reference=lambda a, b, n, rng: U.paired_permutation_test(a, b, n, rng).p_value,
        correct=[permutation_loop, lambda a, b, n, rng: [permutation_loop(a, b, n, rng)]],
        hard_coded=lambda a, b, n, rng: 0.05,
        wrong={
            "never 0": lambda a, b, n, rng: permutation_loop(a, b, n, rng, plus_one=False),
            "ONE-sided": lambda a, b, n, rng: permutation_loop(a, b, n, rng, one_sided=True),
            "not >": lambda a, b, n, rng: permutation_loop(a, b, n, rng, strict=True),
            "unpaired": permutation_unpaired,
            "Monte-Carlo p-value": lambda a, b, n, rng: U.exact_paired_p_value(a, b),
            "`rng` argument": lambda a, b, n, rng: U.paired_permutation_test(a, b, n, None).p_value,
        },
    ),
    "03.ece": dict(
        reference=cal.expected_calibration_error,
        correct=[ece_loop, ece_digitize, ece_histogram],
        hard_coded=lambda probs, y, m: 0.05,
        wrong={
            "equal weights": lambda probs, y, m: ece_variant(probs, y, m, weights="equal"),
            "number of bins": lambda probs, y, m: ece_variant(probs, y, m, weights="per bin"),
            "absolute value": lambda probs, y, m: ece_variant(probs, y, m, gap=lambda g: g, outer=abs),
            "not its square": lambda probs, y, m: ece_variant(probs, y, m, gap=np.square),
            "CONFIDENCE": ece_by_class,
            "PREDICTED class": lambda probs, y, m: cal.calibration_error(
                probs[np.arange(len(y)), y], probs.argmax(1) == y, m),
            "exactly 1.0": ece_floor,
            "weight": ece_nan_bins,
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
