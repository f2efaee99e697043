"""Count-based character baselines: counts, the interpolation, its held-out weights, the figures."""
import collections

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.corpus import load_corpus
from course_lib.ngram import (NGramModel, baselines, fit_lambda, interpolate, ngram_counts,
                              uniform_nll)


def test_counts_match_a_counter():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, size=300)
    for order in (1, 2, 3):
        got = ngram_counts(ids, order, 5)
        want = collections.Counter(tuple(ids[i:i + order]) for i in range(len(ids) - order + 1))
        assert got.sum() == len(ids) - order + 1
        for key, n in want.items():
            assert got[key] == n


@settings(max_examples=40)
@given(st.lists(st.floats(1e-6, 1.0), min_size=2, max_size=30), st.data())
def test_fit_lambda_maximizes_the_held_out_likelihood(a, data):
    a = np.array(a)
    b = np.array(data.draw(st.lists(st.floats(1e-6, 1.0), min_size=len(a), max_size=len(a))))
    lam = fit_lambda(a, b)
    obj = lambda l: np.log(l * a + (1 - l) * b).sum()  # noqa: E731
    grid = np.linspace(0, 1, 2001)
    best = max(obj(g) for g in grid)
    # The objective is concave; the bisection's optimum is at least as good as any grid point.
    assert obj(lam) >= best - 1e-9 * abs(best) - 1e-12


def test_interpolation_backs_off_for_unseen_contexts():
    P = np.array([[0.5, 0.2], [0.5, np.nan]])
    p = interpolate(P, [0.8, 0.6], vocab_size=4)
    p1 = 0.8 * 0.5 + 0.2 * 0.25
    np.testing.assert_allclose(p, [0.6 * 0.2 + 0.4 * p1, p1])


@pytest.mark.parametrize("order", [1, 2, 3])
def test_distributions_sum_to_one_and_agree_with_probs_of(order):
    c = load_corpus()
    m = NGramModel(order, c.vocab_size).fit(c.train)
    assert np.all((m.lambdas > 0) & (m.lambdas <= 1))
    for ctx in ["", "q", "def", "\n    ", "zQ"]:  # "zQ" and "q": rare or unseen contexts
        d = m.distribution(c.encode(ctx))
        assert d.shape == (c.vocab_size,) and np.all(d > 0)
        np.testing.assert_allclose(d.sum(), 1.0, rtol=1e-12)
    s = c.val[:300]
    want = [m.distribution(s[t - order + 1:t])[s[t]] for t in range(order - 1, s.size)]
    np.testing.assert_allclose(m.probs_of(s), want, rtol=1e-12)


def test_bigram_uses_order():
    # Shuffling val keeps its unigram loss and destroys what the bigram knows.
    c = load_corpus()
    shuffled = np.random.default_rng(0).permutation(c.val)
    m1, m2 = NGramModel(1, c.vocab_size).fit(c.train), NGramModel(2, c.vocab_size).fit(c.train)
    assert m1.nll(shuffled) == pytest.approx(m1.nll(c.val), rel=1e-3)
    assert m2.nll(shuffled) > m1.nll(c.val) > m2.nll(c.val)


def test_baselines_order_and_values():
    c = load_corpus()
    b = baselines(c)
    assert list(b) == ["uniform", "unigram", "bigram", "trigram"]
    assert b["uniform"] == pytest.approx(np.log(c.vocab_size)) == uniform_nll(c.vocab_size)
    assert b["uniform"] > b["unigram"] > b["bigram"] > b["trigram"] > 0
    # The figures quoted in chapters 10-11 (numpy==2.4.6 corpus; see tests/test_corpus.py).
    np.testing.assert_allclose([b["unigram"], b["bigram"], b["trigram"]], [3.3074, 2.5577, 2.0332],
                               atol=5e-5)
    assert baselines(c) == b


def test_unigram_is_the_smoothed_cross_entropy():
    c = load_corpus()
    m = NGramModel(1, c.vocab_size).fit(c.train)
    q = m.lambdas[0] * np.bincount(c.train, minlength=c.vocab_size) / c.train.size \
        + (1 - m.lambdas[0]) / c.vocab_size
    np.testing.assert_allclose(m.nll(c.val), -np.log(q[c.val]).mean(), rtol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="order"):
        NGramModel(0, 5)
    with pytest.raises(RuntimeError, match="fit"):
        NGramModel(2, 5).nll(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="outside"):
        NGramModel(2, 5).fit(np.array([1, 2, 7] * 10))
    with pytest.raises(ValueError, match="too short"):
        NGramModel(3, 5).fit(np.array([1, 2, 3]))
