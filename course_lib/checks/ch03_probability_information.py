r"""Chapter 03: the graded questions on probability and information (moments, softmax, entropy,
cross-entropy and KL, the cross-entropy loss, maximum likelihood, Bayes' rule, a Markov chain);
the evaluation questions are in :mod:`course_lib.checks.ch03_probability_information_evaluation`.

The reference answers are the functions of :mod:`course_lib.probability`. Every check draws
fresh random cases from ``t.rng``, so any correct implementation (loops, masks, ``np.where``,
``scipy``) passes and a hard-coded one fails. ``mistakes`` lists the likely slips of each
question with a hint aimed at each.

The numerically delicate questions (softmax, log-softmax, the cross-entropy loss, Bayes' rule
with many observations) end with cases that break naive code: logits of size 1000, for which
``np.exp`` overflows to ``inf`` (and ``inf / inf`` is ``nan``) or a probability underflows to 0
(and ``log 0`` is ``-inf``), and products of a thousand likelihoods that underflow to 0. Such an
answer gets a hint that names the fix, not just "your answer contains nan". The information
question includes exact zeros, where ``0 * log 0`` is ``nan`` in NumPy but 0 by the convention
:math:`0\log 0 = 0`.
"""
from __future__ import annotations

import numpy as np

from course_lib import probability as pr
from course_lib.grading import Tester, question
from course_lib.grading.compare import diagnose
from course_lib.grading.tester import CheckFailed

LN2 = np.log(2.0)

# -- helpers ------------------------------------------------------------------------------


def _call(t: Tester, *args, on_error: str | None = None):
    """``t.call``; an error about axes, broadcasting or indexing in the learner's code gets ``on_error``."""
    try:
        return t.call(*args)
    except CheckFailed as exc:
        if on_error and any(w in exc.message for w in ("axis", "broadcast", "index")):
            exc.hint = on_error
        raise


def _finite_or_fail(t: Tester, got, case: dict, hint: str) -> None:
    """Fail with ``hint`` when a numeric answer holds nan or inf but the right answer does not."""
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return  # not numbers: diagnose() explains
    if arr.size and not np.all(np.isfinite(arr)):
        kind = "nan" if np.isnan(arr).any() else "inf"
        t.fail(f"Your answer contains {kind} ({int(np.sum(~np.isfinite(arr)))} entries), but the right answer "
               "is finite.", hint=hint, case=case)


def _expect_distribution(t: Tester, got, expected, case: dict, mistakes: dict, what: str = "probabilities"):
    """``t.expect_close`` for rows of probabilities; an answer whose rows do not sum to 1 is told so."""
    mismatch = diagnose(got, expected, mistakes=mistakes)
    if mismatch is None:
        return
    hint = mismatch.hint
    arr = np.asarray(got, dtype=np.float64) if isinstance(got, np.ndarray) else None
    if hint is None and arr is not None and arr.shape == np.shape(expected) and np.all(np.isfinite(arr)):
        sums = arr.sum(axis=-1)
        if not np.allclose(sums, 1.0):
            hint = (f"Your {what} do not sum to 1 along the last axis (sums: {np.round(sums, 4)}): divide by "
                    "the sum over the classes of each row, `e / e.sum(axis=-1, keepdims=True)`.")
    t.fail(mismatch.message, hint=hint, case=case, error=mismatch.error)


def _distribution(t: Tester, k: int, zeros: int = 0, batch: int | None = None) -> np.ndarray:
    """Random probabilities over ``k`` outcomes (rows of a batch), with ``zeros`` exact zeros per row."""
    shape = (k,) if batch is None else (batch, k)
    p = t.rng.uniform(0.05, 1.0, shape) ** 2
    for row in p.reshape(-1, k):
        row[t.rng.choice(k, size=min(zeros, k - 1), replace=False)] = 0.0
    return p / p.sum(axis=-1, keepdims=True)


def _logits(t: Tester, shape, scale: float = 3.0) -> np.ndarray:
    return t.rng.normal(t.rng.uniform(-2, 2), scale, shape)


# -- 1. expectation and variance ----------------------------------------------------------
@question("03.expectation_variance", title="Mean and variance of a discrete random variable")
def _check_expectation_variance(t: Tester):
    die = (np.arange(1.0, 7.0), np.full(6, 1 / 6))
    cases = [(t.rng.integers(-5, 10, k).astype(float), _distribution(t, k)) for k in (4, 2, 6)]
    cases += [die, (np.array([t.rng.uniform(-3, 3)]), np.array([1.0])),
              (t.rng.normal(100.0, 2.0, 5), _distribution(t, 5, zeros=1))]
    for x, p in cases:
        case = {"values": x, "probs": p}
        got = t.numbers(t.call(x, p), ("mean", "var"), case=case)
        mean, var = pr.expectation(x, p), pr.variance(x, p)
        t.expect_close(got[0], mean, case=case, what="Mean", mistakes={
            "Weight each value by its probability: E[X] = sum_k p_k x_k. A plain average of the values "
            "treats them as equally likely.": np.mean(x),
            "The probabilities already sum to 1: E[X] = sum_k p_k x_k, with no division by the number of values.":
                mean / len(x),
        })
        t.expect_close(got[1], var, case=case, what="Variance", mistakes={
            "Subtract the squared mean: Var[X] = E[X^2] - (E[X])^2 = sum_k p_k (x_k - E[X])^2. You returned "
            "E[X^2].": pr.expectation(x**2, p),
            "That is the standard deviation; the variance is its square, sum_k p_k (x_k - E[X])^2.": np.sqrt(var),
            "Weight each squared deviation by its probability: a plain np.var(values) treats the values as "
            "equally likely.": np.var(x),
        })


# -- 2. softmax ---------------------------------------------------------------------------
_AXIS_HINT = ("Normalize over the LAST axis (the classes) of each row: `z.max(axis=-1, keepdims=True)` and "
              "`e.sum(axis=-1, keepdims=True)`, so the same code works for one vector (K,) and a batch (N, K).")
_OVERFLOW_HINT = ("np.exp overflows for logits around 1000 (exp(710) is already inf, and inf / inf is nan). "
                  "Subtract the MAXIMUM logit before exponentiating: softmax(z) = softmax(z - max z), because "
                  "the factor exp(-max z) cancels between numerator and denominator. (Subtracting the minimum "
                  "or the mean does not keep every exponent <= 0.)")
_ROW_MAX_HINT = ("Each row needs its OWN maximum: rows of a batch can sit at very different scales, and one "
                 "global max leaves exp(-2000) = 0 in a whole row (0 / 0 = nan). Use "
                 "`z - z.max(axis=-1, keepdims=True)`.")


def _softmax_mistakes(z: np.ndarray) -> dict:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    mistakes = {"You returned exp(z - max z) without dividing by its sum: the probabilities must sum to 1.": e}
    if np.abs(z).max() < 500:  # exp(z) itself is finite
        mistakes["You returned exp(z) without normalizing: divide by the sum over the classes, so each row "
                 "sums to 1."] = np.exp(z)
    if z.ndim == 2:
        e0 = np.exp(z - z.max(axis=0, keepdims=True))
        mistakes["You normalized down the COLUMNS (axis 0). Each ROW holds one example's logits and must sum "
                 "to 1: use axis=-1 (or 1) with keepdims=True."] = e0 / e0.sum(axis=0, keepdims=True)
        mistakes["You divided by the sum over the whole batch; each row is normalized by its own sum: "
                 "e.sum(axis=-1, keepdims=True)."] = e / e.sum()
        if z.shape[0] == z.shape[1]:
            mistakes["e.sum(axis=1) without keepdims has shape (N,), which broadcasts along the wrong axis "
                     "(it divides COLUMN j by the sum of ROW j): use keepdims=True."] = e / e.sum(axis=1)
    return mistakes


@question("03.softmax", title="A numerically stable softmax over the last axis")
def _check_softmax(t: Tester):
    k = int(t.rng.integers(2, 8))
    big_1d = np.concatenate([[1000.0, -1000.0], t.rng.uniform(-1000, 1000, k)])
    mixed = np.stack([t.rng.normal(1000, 3, 4), t.rng.normal(-1000, 3, 4), t.rng.normal(0, 3, 4)])
    cases = [_logits(t, k), _logits(t, (3, 3)), _logits(t, (4, 3)), np.array([t.rng.normal()]),
             _logits(t, (int(t.rng.integers(2, 7)), k)), big_1d, mixed]
    for z in cases:
        case = {"z": z}
        got = _call(t, z, on_error=_AXIS_HINT)
        large = np.abs(z).max() > 500
        if large:
            _finite_or_fail(t, got, case, _ROW_MAX_HINT if z.ndim == 2 else _OVERFLOW_HINT)
        _expect_distribution(t, got, pr.softmax(z), case, _softmax_mistakes(z))


# -- 3. log-softmax -----------------------------------------------------------------------
_LOG_SOFTMAX_HINT = ("np.log(softmax(z)) is -inf once a probability underflows to 0 (a logit 1000 below the "
                     "maximum has probability exp(-1000) = 0 in float64), and log(sum(exp(z))) overflows to "
                     "inf. Compute it in the log domain: log_softmax(z) = z - logsumexp(z), with "
                     "logsumexp(z) = m + log(sum(exp(z - m))) and m = max z (per row, keepdims=True).")


@question("03.log_softmax", title="Log-softmax via log-sum-exp")
def _check_log_softmax(t: Tester):
    k = int(t.rng.integers(2, 8))
    cases = [_logits(t, k), _logits(t, (3, 3)), _logits(t, (5, k)), np.array([t.rng.normal(0, 5)]),
             np.concatenate([[1000.0, 0.0, -1000.0], t.rng.uniform(-900, 900, k)]),
             np.stack([t.rng.normal(800, 300, 4), t.rng.normal(-800, 300, 4)])]
    for z in cases:
        case = {"z": z}
        got = _call(t, z, on_error=_AXIS_HINT)
        if np.abs(z).max() > 500:
            _finite_or_fail(t, got, case, _LOG_SOFTMAX_HINT)
        m = z.max(axis=-1, keepdims=True)
        mistakes = {
            "You subtracted the max inside the exponent but did not add it back: logsumexp(z) = m + "
            "log(sum(exp(z - m))), so log_softmax(z) = z - m - log(sum(exp(z - m))).": pr.log_softmax(z) + m,
            "You returned the softmax probabilities; the question asks for their logarithm, z - logsumexp(z).":
                pr.softmax(z),
            "log_softmax(z) = z - logsumexp(z): you returned logsumexp(z) - z (the sign is flipped).":
                -pr.log_softmax(z),
        }
        if z.ndim == 2:
            mistakes["You took the log-sum-exp down the COLUMNS (axis 0); each ROW is one example: use axis=-1 "
                     "with keepdims=True."] = z - pr.logsumexp(z, axis=0, keepdims=True)
        t.expect_close(got, pr.log_softmax(z), case=case, mistakes=mistakes)


# -- 4. entropy, cross-entropy and KL divergence, together ------------------------------------------
_ZERO_LOG_ZERO = ("0 log 0 counts as 0 (p log p -> 0 as p -> 0), but in NumPy 0 * np.log(0) = 0 * -inf = nan. "
                  "Leave the zero entries out: e.g. `p * np.log(np.where(p > 0, p, 1.0))` (log 1 = 0).")
_INF_HINT = ("H[p, q] and KL(p || q) are +inf here: q gives probability 0 to an outcome that p says can happen, and "
             "-log 0 = inf. That is the right answer: the model calls impossible an outcome that can happen. Do not "
             "add an epsilon to q or clip it; that hides the problem instead of reporting it.")
_NAMES = ("entropy", "cross_entropy", "kl")
_WHAT = {"entropy": "Entropy H[p]", "cross_entropy": "Cross-entropy H[p, q]", "kl": "KL(p || q)"}


def _information_mistakes(value) -> dict:
    """Slips common to entropy, cross-entropy and KL: the base of the log."""
    return {
        "You used log base 2 (bits): this course measures information in nats, with the natural log np.log. "
        "Your answer is 1/ln 2 = 1.4427 times too large.": value / LN2,
        "You used log base 10; use the natural logarithm np.log (nats).": value / np.log(10.0),
    }


def _entropy_mistakes(p: np.ndarray, h) -> dict:
    mistakes = {**_information_mistakes(h),
                "Entropy is H[p] = -sum_k p_k log p_k: the minus sign makes it >= 0.": -h,
                "Sum over the outcomes, do not average: H[p] = -sum_k p_k log p_k.": h / p.shape[-1]}
    if p.ndim == 2:
        terms = -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        mistakes["You also summed over the BATCH axis: each row is its own distribution and gets its own "
                 "entropy, so sum over the last axis only, `axis=-1`, and return one value per row."] = h.sum()
        mistakes["You summed over axis 0, the batch: each row is a distribution, so sum over the outcomes "
                 "of each row, `axis=-1`, one entropy per row."] = terms.sum(axis=0)
        mistakes["You averaged over the batch: return one entropy per row (sum over `axis=-1` only)."] = h.mean()
    return mistakes


def _cross_entropy_mistakes(p: np.ndarray, q: np.ndarray, ce) -> dict:
    return {**_information_mistakes(ce),
            "You swapped p and q: H[p, q] = -sum_k p_k log q_k, with the true distribution p as the weights and "
            "the model q inside the log. Cross-entropy is not symmetric.": pr.cross_entropy(q, p),
            "Cross-entropy is -sum_k p_k log q_k: the minus sign makes it positive.": -ce,
            "That is the KL divergence H[p, q] - H[p]; the cross-entropy does not subtract the entropy of p.":
                pr.kl_divergence(p, q),
            "That is the entropy of p alone: the model's q must appear inside the log.": pr.entropy(p)}


def _kl_mistakes(p: np.ndarray, q: np.ndarray, kl) -> dict:
    return {**_information_mistakes(kl),
            "You computed KL(q || p): KL is not symmetric. KL(p || q) = sum_k p_k log(p_k / q_k), with p (the "
            "first argument) as the weights.": pr.kl_divergence(q, p),
            "KL(p || q) = sum_k p_k log(p_k / q_k) >= 0: your sign is flipped (log(q / p) instead of log(p / q)).":
                -kl,
            "That is the cross-entropy H[p, q] = H[p] + KL(p || q): subtract the entropy, or use log(p / q) "
            "instead of -log q.": pr.cross_entropy(p, q),
            "KL(p || q) = H[p, q] - H[p]: you added the entropy instead of subtracting it.":
                pr.cross_entropy(p, q) + pr.entropy(p)}


def _information_case(t: Tester, p: np.ndarray, q: np.ndarray) -> None:
    case = {"p": p, "q": q}
    got = t.parts(_call(t, p, q, on_error=_AXIS_HINT), _NAMES, case=case)
    h, ce, kl = pr.entropy(p), pr.cross_entropy(p, q), pr.kl_divergence(p, q)
    zeros = not np.all(p > 0)
    for name, value, expected, mistakes in [("entropy", got[0], h, _entropy_mistakes(p, h)),
                                            ("cross_entropy", got[1], ce, _cross_entropy_mistakes(p, q, ce)),
                                            ("kl", got[2], kl, _kl_mistakes(p, q, kl))]:
        if np.all(np.isfinite(expected)):
            if zeros:
                _finite_or_fail(t, value, case, _ZERO_LOG_ZERO)
            t.expect_close(value, expected, case=case, what=_WHAT[name], mistakes=mistakes,
                           atol=1e-10 if name == "kl" else 1e-8)
            continue
        # q = 0 where p > 0: +inf is the answer there (one number per row; other rows may be finite).
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.shape != np.shape(expected) or not np.array_equal(arr == np.inf, np.isinf(expected)):
            t.fail(f"{_WHAT[name]}: expected +inf where q is 0 and p is not, but got {value!r:.80}.",
                   hint=_INF_HINT, case=case)
        finite = ~np.isinf(expected)
        t.expect_close(arr[finite], np.asarray(expected)[finite], case=case, what=_WHAT[name])


@question("03.information", title="Entropy, cross-entropy and KL divergence: H[p, q] = H[p] + KL(p || q)")
def _check_information(t: Tester):
    k = int(t.rng.integers(3, 8))
    p_zero = _distribution(t, k, zeros=2)
    q_zero = _distribution(t, k)
    q_zero[p_zero == 0] = 0.0  # p = 0 and q = 0 together: the term is 0
    q_zero /= q_zero.sum()
    same = _distribution(t, k)
    p_inf, q_inf = _distribution(t, k), _distribution(t, k, zeros=1)  # q = 0 where p > 0
    cases = [(_distribution(t, k), _distribution(t, k)),
             (_distribution(t, 4, batch=3), _distribution(t, 4, batch=3)),
             (np.eye(k)[int(t.rng.integers(k))], _distribution(t, k)),
             (np.full(k, 1.0 / k), _distribution(t, k)),
             (same, same.copy()),  # KL = 0 exactly when q = p
             (p_zero, q_zero),
             (_distribution(t, 5, zeros=2, batch=4), _distribution(t, 5, batch=4)),
             (p_inf, q_inf)]
    for p, q in cases:
        _information_case(t, p, q)


# -- 5. the cross-entropy loss ------------------------------------------------------------
_NLL_HINT = ("Your loss is not finite for large logits: np.log(softmax(z)) is -inf when the true class's "
             "probability underflows to 0, and np.exp(z) overflows for z near 1000. Use the log-softmax, "
             "log p_{n,y_n} = z_{n,y_n} - logsumexp(z_n), with the max subtracted inside logsumexp.")


_COLUMNS_HINT = ("z[:, y] (or log_probs[:, y]) picks whole columns, an N x N array: pick one entry per row with "
                 "log_probs[np.arange(N), y].")
_ALL_CLASSES_HINT = "Only the log-probability of the TRUE class y_n counts; you averaged over all classes."


@question("03.categorical_nll", title="Cross-entropy loss: mean negative log-likelihood of labels from logits")
def _check_categorical_nll(t: Tester):
    k = int(t.rng.integers(3, 7))
    n = int(t.rng.integers(5, 12))
    big = _logits(t, (4, k)) + t.rng.choice([-1000.0, 1000.0], (4, 1))
    y_big = t.rng.integers(0, k, 4)
    big[np.arange(4), y_big] = big.max(axis=1) - t.rng.uniform(1000, 1200, 4)  # true class: p ~ e^-1000
    cases = [(_logits(t, (n, k)), t.rng.integers(0, k, n)), (_logits(t, (4, 4)), t.rng.permutation(4)),
             (_logits(t, (1, k)), t.rng.integers(0, k, 1)), (big, y_big)]
    for z, y in cases:
        case = {"logits": z, "y": y}
        got = _call(t, z, y, on_error="Pick one entry per row, the true class's: "
                                      "log_probs[np.arange(N), y] (shape (N,)), then average.")
        if isinstance(got, np.ndarray) and got.shape == (len(y),) and len(y) > 1:
            t.fail(f"You returned one loss per example (shape {got.shape}); the loss is their mean.",
                   hint="Average over the examples: -np.mean(log_probs[np.arange(N), y]).", case=case)
        _finite_or_fail(t, got, case, _NLL_HINT)
        ls = pr.log_softmax(z)
        nll = pr.categorical_nll(z, y)
        rows = np.arange(len(y))
        mistakes = {
            "Average over the examples: the loss is the MEAN negative log-likelihood (PyTorch's default "
            "reduction='mean'), not the sum.": nll * len(y),
            "The loss is the NEGATIVE log-likelihood: -mean(log p_{n, y_n}) >= 0.": -nll,
            _COLUMNS_HINT: -np.mean(ls[:, y]),
            _ALL_CLASSES_HINT: -np.mean(ls),
            "Take the log of the probability: the loss is -mean(log p_{n, y_n}), not -mean(p_{n, y_n}).":
                -np.mean(np.exp(ls[rows, y])),
            "You left out the normalization: the log-probability is z_{n,y} - logsumexp(z_n), not the raw "
            "logit z_{n,y}.": -np.mean(z[rows, y]),
        }
        if np.isclose(mistakes[_COLUMNS_HINT], mistakes[_ALL_CLASSES_HINT]):  # y holds every class equally often
            mistakes.pop(_ALL_CLASSES_HINT)
            mistakes[_ALL_CLASSES_HINT + " " + _COLUMNS_HINT] = mistakes.pop(_COLUMNS_HINT)
        t.expect_close(got, nll, case=case, mistakes=mistakes)


# -- 6. Gaussian maximum likelihood --------------------------------------------------------
@question("03.gaussian_mle", title="Maximum-likelihood mean and standard deviation of a Gaussian")
def _check_gaussian_mle(t: Tester):
    for n in [2, 3, 6, int(t.rng.integers(10, 40)), 500]:
        x = t.rng.normal(t.rng.uniform(-5, 5), t.rng.uniform(0.5, 3.0), n)
        x[0] += 3.0 * np.std(x)  # an outlier, so that the median and the mean differ clearly
        case = {"x": x}
        got = t.numbers(t.call(x), ("mu_hat", "sd_hat"), case=case)
        mu, sd = pr.gaussian_mle(x)
        t.expect_close(got[0], mu, case=case, what="mu_hat", mistakes={
            "The maximum-likelihood estimate of the mean is the sample MEAN, (1/N) sum_n x_n, not the median.":
                np.median(x),
        })
        t.expect_close(got[1], sd, case=case, what="sd_hat", mistakes={
            "You divided by N - 1 (the unbiased estimate, np.std(x, ddof=1)). Setting the derivative of the "
            "log-likelihood to zero gives the MLE v_hat = (1/N) sum_n (x_n - mu_hat)^2: divide by N "
            "(np.std(x), ddof=0).": np.std(x, ddof=1),
            "You returned the variance v_hat; the question asks for the standard deviation sqrt(v_hat).": sd**2,
            "You returned the unbiased variance; the MLE's standard deviation is sqrt((1/N) sum_n (x_n - mu_hat)^2).":
                np.var(x, ddof=1),
            "Centre before squaring: v_hat = (1/N) sum_n (x_n - mu_hat)^2, not (1/N) sum_n x_n^2.":
                np.sqrt(np.mean(x**2)),
        })


# -- 7. Bayes' rule over a finite set of hypotheses ------------------------------------------------
_UNDERFLOW_HINT = ("With hundreds of observations the product of likelihoods underflows to 0 for every hypothesis "
                   "(0.5^1100 is 0 in float64), and 0 / 0 is nan. Work in logs: log prior + sum_m log likelihood, "
                   "subtract the largest before exponentiating (the log-sum-exp trick of section 4), then "
                   "normalize.")


def _bayes_cases(t: Tester) -> list[tuple[np.ndarray, np.ndarray]]:
    prevalence = float(t.rng.uniform(0.001, 0.05))
    sensitivity, specificity = float(t.rng.uniform(0.8, 0.99)), float(t.rng.uniform(0.85, 0.99))
    cases = [(np.array([prevalence, 1 - prevalence]), np.array([[sensitivity, 1 - specificity]]))]  # [ill, healthy]
    for k, m in [(3, 1), (int(t.rng.integers(4, 7)), int(t.rng.integers(2, 6))), (5, 8)]:
        cases.append((_distribution(t, k), t.rng.uniform(0.02, 1.0, (m, k))))
    prior = _distribution(t, 4, zeros=1)  # a hypothesis ruled out beforehand stays ruled out
    cases.append((prior, t.rng.uniform(0.1, 1.0, (3, 4))))
    # Many weakly informative observations: every product underflows, the log-domain answer is fine.
    k = 3
    like = t.rng.uniform(0.3, 0.6, (1200, k))
    cases.append((_distribution(t, k), like))
    return cases


@question("03.discrete_bayes", title="Bayes' rule over a finite set of hypotheses, with many observations")
def _check_discrete_bayes(t: Tester):
    for prior, likelihood in _bayes_cases(t):
        case = {"prior": prior, "likelihood": likelihood}
        got = _call(t, prior, likelihood, on_error="likelihood has one ROW per observation and one COLUMN per "
                                                   "hypothesis: combine the observations down axis 0.")
        posterior = pr.bayes_posterior(prior, likelihood)
        if isinstance(got, np.ndarray) and got.shape != posterior.shape:
            t.fail(f"Shape {got.shape}, expected {posterior.shape}: one probability per hypothesis.", case=case,
                   hint="likelihood has one ROW per observation and one COLUMN per hypothesis: combine the "
                        "observations down axis 0 (a product, or a sum of logs), leaving one value per hypothesis.")
        if likelihood.shape[0] > 500:
            _finite_or_fail(t, got, case, _UNDERFLOW_HINT)
            arr = np.asarray(got, dtype=np.float64) if isinstance(got, np.ndarray) else None
            if arr is not None and arr.shape == posterior.shape and np.all(arr == 0):
                t.fail("Your posterior is all zeros.", hint=_UNDERFLOW_HINT, case=case)
        with np.errstate(all="ignore"):  # the slips below may underflow or divide by zero: that is their point
            joint = prior * np.prod(likelihood, axis=0)
            like_only = np.prod(likelihood, axis=0)
            summed = prior * likelihood.sum(axis=0)
            mistakes = {
                "Normalize: divide prior x likelihood by its sum over the hypotheses (the evidence p(data)), so "
                "that the posterior sums to 1.": joint,
                "You left out the prior: p(h | data) is proportional to p(data | h) p(h), not to p(data | h) alone. "
                "Ignoring the prior is the base-rate fallacy: a rare hypothesis stays fairly unlikely even after "
                "evidence that favours it.": like_only / like_only.sum(),
                "That is the likelihood p(data | h) itself, not the posterior p(h | data): p(A | B) and p(B | A) "
                "are different numbers. Multiply by the prior and normalize.": like_only,
                "Observations that are conditionally independent given the hypothesis MULTIPLY: p(d_1, ..., d_M "
                "| h) = prod_m p(d_m | h), not the sum.": summed / summed.sum(),
                "Use every observation (all rows of likelihood), not only the last one.":
                    prior * likelihood[-1] / np.sum(prior * likelihood[-1]),
                "Multiply the prior by the likelihood (Bayes' rule), do not divide by it.":
                    (prior / np.prod(likelihood, axis=0)) / np.sum(prior / np.prod(likelihood, axis=0)),
            }
        t.expect_close(got, posterior, case=case, rtol=1e-6, atol=1e-12,
                       mistakes={k: v for k, v in mistakes.items() if np.all(np.isfinite(v))})


# -- 8. Bayesian update of a coin's bias ------------------------------------------------------
@question("03.beta_posterior", title="Beta posterior of a coin's bias after observed flips")
def _check_beta_posterior(t: Tester):
    cases = []
    for n, bias in [(int(t.rng.integers(8, 30)), t.rng.uniform(0.55, 0.9)), (1, 1.0),
                    (int(t.rng.integers(5, 20)), t.rng.uniform(0.1, 0.4)), (0, 0.5), (12, 0.0)]:
        a, b = (round(float(v), 2) for v in t.rng.uniform(0.5, 5.0, 2))
        cases.append((a, b, (t.rng.uniform(size=n) < bias).astype(int)))
    for a, b, flips in cases:
        case = {"alpha": a, "beta": b, "flips": flips}
        got = t.numbers(t.call(a, b, flips), ("alpha_post", "beta_post"), case=case)
        n1 = float(flips.sum())
        n0 = len(flips) - n1
        mistakes = {
            "Heads and tails are swapped: the N_1 heads add to alpha (the first parameter, the exponent of "
            "theta), the N_0 tails to beta: Beta(alpha + N_1, beta + N_0).": [a + n0, b + n1],
            "beta counts the TAILS, N_0 = N - N_1, not all N flips: Beta(alpha + N_1, beta + N_0).":
                [a + n1, b + len(flips)],
            "Add the counts to the prior's alpha and beta: the prior's pseudo-counts stay in the posterior, "
            "Beta(alpha + N_1, beta + N_0).": [n1, n0],
            "Add 1 for each head, not the fraction of heads: Beta(alpha + N_1, beta + N_0).":
                [a + n1 / max(len(flips), 1), b + n0 / max(len(flips), 1)],
        }
        t.expect_close(got, np.array(pr.beta_posterior(a, b, flips)), case=case, mistakes=mistakes)


# -- 9. stationary distribution of a Markov chain ---------------------------------------------
_LEFT_HINT = ("That is the uniform vector, the RIGHT eigenvector of P: P 1 = 1 because every row sums to 1. "
              "The stationary distribution is an eigenvector of P^T for eigenvalue 1, P^T pi = pi (a LEFT "
              "eigenvector of P): np.linalg.eig(P.T).")


def _transition_matrix(t: Tester, n: int, sparse: bool = False) -> np.ndarray:
    """A random irreducible, aperiodic chain that mixes fast (|lambda_2| <= 0.9), so that a learner's
    power iteration with a few hundred steps converges as well as an eigen-solver."""
    for _ in range(200):
        P = t.rng.uniform(0.0, 1.0, (n, n)) ** 3
        if sparse:  # zeros, but still irreducible: a cycle i -> i+1 always has weight
            P[t.rng.uniform(size=(n, n)) < 0.5] = 0.0
            P[np.arange(n), (np.arange(n) + 1) % n] += 0.3
        P[np.arange(n), np.arange(n)] += 0.1  # self-loops: aperiodic
        P /= P.sum(axis=1, keepdims=True)
        if n == 1 or np.sort(np.abs(np.linalg.eigvals(P)))[-2] <= 0.9:
            break
    return P


_WEATHER = np.array([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.4, 0.4]])  # chapter 03's worked example


@question("03.stationary_distribution", title="Stationary distribution of a Markov chain (left eigenvector)",
          examples={"stationary_distribution(P) of the chapter's weather chain":
                    lambda: pr.stationary_distribution(_WEATHER)})
def _check_stationary_distribution(t: Tester):
    for n, sparse in [(3, False), (2, False), (5, True), (int(t.rng.integers(4, 9)), False), (6, True)]:
        P = _transition_matrix(t, n, sparse)
        case = {"P": P}
        got = t.call(P)
        if np.iscomplexobj(got):
            t.fail("Your answer is complex.", case=case,
                   hint="np.linalg.eig returns complex arrays for non-symmetric matrices. The eigenvector of "
                        "eigenvalue 1 is real: pick it (k = np.argmin(np.abs(w - 1))) and take `.real` before "
                        "normalizing.")
        pi = pr.stationary_distribution(P)
        w, V = np.linalg.eig(P.T)
        k = int(np.argmin(np.abs(w - 1)))
        unit = pi / np.linalg.norm(pi)
        row = np.real(V[k, :])
        mistakes = {
            _LEFT_HINT: np.full(n, 1.0 / n),
            _LEFT_HINT + " Then divide by its sum.": np.full(n, 1.0 / np.sqrt(n)),
            _LEFT_HINT + " Then divide by its sum (which also fixes the sign).": np.full(n, -1.0 / np.sqrt(n)),
            "Normalize so the entries sum to 1 (a probability distribution), not to length 1: divide the "
            "eigenvector by its SUM, which also fixes the sign that eig() chose.": unit,
            "Normalize so the entries sum to 1 (a probability distribution), not to length 1: divide the "
            "eigenvector by its SUM. (Yours is negative: eig() may return -v, and dividing by the sum fixes "
            "that too.)": -unit,
            "np.linalg.eig returns the eigenvectors as the COLUMNS of V: take V[:, k], not V[k, :].":
                row / row.sum() if abs(row.sum()) > 1e-9 else row,
        }
        k0 = np.real(V[:, 0])
        if k != 0 and abs(k0.sum()) > 1e-9:
            mistakes["np.linalg.eig does not sort the eigenvalues: find the one closest to 1, "
                     "k = np.argmin(np.abs(w - 1)), and take V[:, k]."] = k0 / k0.sum()
        t.expect_close(got, pi, case=case, mistakes=mistakes)
