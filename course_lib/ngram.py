r"""Count-based character language models: the baselines every chapter-10/11 model must beat.

An order-:math:`n` model predicts a character from the :math:`n - 1` before it. Its loss is
the mean negative log-likelihood of the validation characters, in nats per character:

.. math::

    L = -\frac{1}{N} \sum_{t} \log p(x_t \mid x_{t-n+1}, \dots, x_{t-1}).

Smoothing (why the estimates are interpolated, and where their weights come from)
--------------------------------------------------------------------------------
Raw counts give probability 0 to any context/character pair unseen in training, and one
such pair in validation makes the loss infinite. Each model therefore mixes its count
ratio :math:`\hat p_j` with the model one order below (Jelinek-Mercer interpolation),
down to the uniform distribution:

.. math::

    p_0(c) = 1/K, \qquad
    p_j(c \mid \text{ctx}) = \lambda_j \hat p_j(c \mid \text{ctx}) + (1 - \lambda_j)\, p_{j-1}(c \mid \text{ctx}'),

where ctx' drops the oldest character, and :math:`p_j = p_{j-1}` for a context never seen
in training. So the bigram is the trigram's lower order, and the unigram the bigram's.
Each :math:`\lambda_j` maximizes the likelihood of a held-out slice of the *training*
split (its last 10%), with counts from the rest of training; then the counts are
recomputed from the whole training split, with the weights kept (a little more data
makes the higher orders slightly more reliable than the weights assume: the baselines
err on the weak side, by a hair). The validation split never chooses anything, so the
baselines are honest held-out figures.
"""
from __future__ import annotations

import functools

import numpy as np

#: Orders of the baselines, by name.
ORDERS = {"unigram": 1, "bigram": 2, "trigram": 3}
#: Fraction at the end of the training split held out to fit the interpolation weights.
HELDOUT_FRACTION = 0.1


def _check_ids(ids, vocab_size: int, name: str) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-D integer array of ids, got shape {arr.shape}, dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        raise ValueError(f"{name} has ids outside [0, {vocab_size})")
    return arr.astype(np.int64, copy=False)


def ngram_counts(ids, order: int, vocab_size: int) -> np.ndarray:
    r"""Counts of every ``order``-gram: an array of shape ``(K,) * order``.

    ``counts[a, b, c]`` is how often ids ``a, b, c`` occur consecutively in ``ids``.
    """
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    ids = _check_ids(ids, vocab_size, "ids")
    n = ids.size - order + 1
    if n <= 0:
        return np.zeros((vocab_size,) * order)
    flat = np.zeros(n, dtype=np.int64)
    for k in range(order):  # the n-gram's digits in base K
        flat = flat * vocab_size + ids[k:k + n]
    return np.bincount(flat, minlength=vocab_size ** order).astype(float).reshape((vocab_size,) * order)


def _estimates(counts: list[np.ndarray], ids: np.ndarray, order: int) -> np.ndarray:
    r"""Per target position, each order's count ratio: (n_targets, order).

    Column j - 1 is :math:`\hat p_j(x_t \mid` the previous j - 1 ids), NaN where that
    context never occurred in the counts. Targets are ``ids[order - 1:]``, so every order
    has its full context.
    """
    t = np.arange(order - 1, ids.size)
    out = np.empty((t.size, order))
    for j in range(1, order + 1):
        c = counts[j - 1]
        idx = tuple(ids[t - (j - 1) + k] for k in range(j))
        num = c[idx]
        den = c.sum(axis=-1)[idx[:-1]] if j > 1 else np.full(t.size, c.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j - 1] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out


def interpolate(P: np.ndarray, lambdas, vocab_size: int) -> np.ndarray:
    r"""Recursive interpolation of the rows of ``P`` (from :func:`_estimates`): (n,).

    .. math::

        p_0 = 1/K, \qquad p_j = \lambda_j \hat p_j + (1 - \lambda_j)\, p_{j-1},

    and :math:`p_j = p_{j-1}` where order j's context was never seen (NaN).
    """
    p = np.full(P.shape[0], 1.0 / vocab_size)
    for j, lam in enumerate(lambdas):
        seen = ~np.isnan(P[:, j])
        p = np.where(seen, lam * np.nan_to_num(P[:, j]) + (1.0 - lam) * p, p)
    return p


def fit_lambda(a: np.ndarray, b: np.ndarray, tol: float = 1e-12) -> float:
    r"""The :math:`\lambda \in [0, 1]` maximizing :math:`\sum_t \log(\lambda a_t + (1-\lambda) b_t)`.

    The objective is concave in :math:`\lambda` (a log of an affine function), so its
    derivative :math:`\sum_t (a_t - b_t)/(\lambda a_t + (1 - \lambda) b_t)` decreases and
    bisection on its sign finds the maximizer. ``b`` must be positive (it includes the
    uniform term).
    """
    d = a - b
    grad = lambda lam: np.sum(d / (b + lam * d))  # noqa: E731
    if grad(0.0) <= 0:
        return 0.0
    if np.all(a > 0) and grad(1.0) >= 0:
        return 1.0
    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if np.any(b + mid * d <= 0) or grad(mid) < 0:
            hi = mid
        else:
            lo = mid
    return lo


def fit_lambdas(P: np.ndarray, vocab_size: int) -> np.ndarray:
    r"""Interpolation weights fitted order by order on held-out rows ``P``: (order,).

    :math:`\lambda_j` maximizes the held-out likelihood of :math:`p_j` given the already
    fitted :math:`p_{j-1}`, over the rows whose order-j context was seen.
    """
    lambdas = []
    for j in range(P.shape[1]):
        lower = interpolate(P[:, :j], lambdas, vocab_size)
        seen = ~np.isnan(P[:, j])
        lambdas.append(fit_lambda(P[seen, j], lower[seen]) if seen.any() else 0.0)
    return np.array(lambdas)


class NGramModel:
    r"""An interpolated order-``order`` character model (see the module docstring).

    Parameters
    ----------
    order : int
        1 (unigram), 2 (bigram), 3 (trigram), ...
    vocab_size : int
        :math:`K`.
    """

    def __init__(self, order: int, vocab_size: int):
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        self.order, self.vocab_size = int(order), int(vocab_size)
        self.lambdas: np.ndarray | None = None
        self.counts: list[np.ndarray] | None = None

    def fit(self, train, heldout_fraction: float = HELDOUT_FRACTION) -> "NGramModel":
        """Weights by EM on the last ``heldout_fraction`` of ``train``, then counts from all of it."""
        train = _check_ids(train, self.vocab_size, "train")
        cut = train.size - int(round(heldout_fraction * train.size))
        if cut < self.order or train.size - cut < self.order:
            raise ValueError(f"train ({train.size} ids) is too short for an order-{self.order} model")
        fit_part, held = train[:cut], train[cut:]
        counts = [ngram_counts(fit_part, j, self.vocab_size) for j in range(1, self.order + 1)]
        self.lambdas = fit_lambdas(_estimates(counts, held, self.order), self.vocab_size)
        self.counts = [ngram_counts(train, j, self.vocab_size) for j in range(1, self.order + 1)]
        return self

    def probs_of(self, ids) -> np.ndarray:
        """p(x_t | context) for every t >= order - 1 of ``ids``: (len(ids) - order + 1,)."""
        if self.counts is None:
            raise RuntimeError("call fit(train) first")
        ids = _check_ids(ids, self.vocab_size, "ids")
        return interpolate(_estimates(self.counts, ids, self.order), self.lambdas, self.vocab_size)

    def distribution(self, context) -> np.ndarray:
        r"""The next-character distribution after ``context`` (its last order - 1 ids): (K,).

        ``context`` shorter than order - 1 ids uses the orders it has room for.
        """
        if self.counts is None:
            raise RuntimeError("call fit(train) first")
        ctx = _check_ids(context, self.vocab_size, "context")[max(0, len(context) - self.order + 1):]
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for j in range(1, ctx.size + 2):  # the orders with a full context
            row = self.counts[j - 1][tuple(ctx[ctx.size - (j - 1):])]
            total = row.sum()
            if total > 0:  # an unseen context leaves p_j = p_{j-1}
                p = self.lambdas[j - 1] * row / total + (1.0 - self.lambdas[j - 1]) * p
        return p

    def nll(self, ids) -> float:
        """Mean negative log-likelihood of ``ids`` in nats per character.

        The first order - 1 ids serve only as context (a negligible shortening of the
        100,000-character validation split).
        """
        return float(-np.log(self.probs_of(ids)).mean())


def uniform_nll(vocab_size: int) -> float:
    r""":math:`\log K`: the loss of predicting every character with probability 1/K."""
    return float(np.log(vocab_size))


@functools.lru_cache(maxsize=4)
def _baselines_cached(sha256: str, train_bytes: bytes, val_bytes: bytes, vocab_size: int) -> tuple:
    train = np.frombuffer(train_bytes, dtype=np.int64)
    val = np.frombuffer(val_bytes, dtype=np.int64)
    out = {"uniform": uniform_nll(vocab_size)}
    for name, order in ORDERS.items():
        out[name] = NGramModel(order, vocab_size).fit(train).nll(val)
    return tuple(out.items())


def baselines(corpus) -> dict[str, float]:
    r"""Validation losses (nats per character) of the uniform, unigram, bigram and trigram models.

    Parameters
    ----------
    corpus : course_lib.corpus.Corpus
        Uses ``corpus.train`` (counts, and the held-out weights) and ``corpus.val`` (the loss).

    Returns
    -------
    dict
        ``{"uniform": log K, "unigram": ..., "bigram": ..., "trigram": ...}``. Cached per corpus.
    """
    return dict(_baselines_cached(corpus.sha256, np.ascontiguousarray(corpus.train, np.int64).tobytes(),
                                  np.ascontiguousarray(corpus.val, np.int64).tobytes(), corpus.vocab_size))
