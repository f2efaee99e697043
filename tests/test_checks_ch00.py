"""The warm-up questions of chapter 00: right answers pass, wrong ones fail with the intended hint."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib.checks import ch00_welcome as ch00
from course_lib.grading import run_check
from course_lib.grading.registry import chapter_questions

SEEDS = range(12)  # every hint must be robust to the random cases, not lucky on one draw


def stub(*args):
    raise NotImplementedError("Replace this line with your solution")


def _mean_loop(x):
    total = 0.0
    for value in x:
        total += value
    return total / len(x)


def _dot_loop(x, y):
    return sum(float(a) * float(b) for a, b in zip(x, y))


def _derivative_vectorized(f, x, h):
    plus, minus = f(np.array([x + h, x - h]))
    return (plus - minus) / (2 * h)


def _normalize_loop(x):
    length = sum(float(v) ** 2 for v in x) ** 0.5
    return np.array([v / length for v in x])


def _mean_loop_from_one(x):
    total = 0.0
    for i in range(1, len(x)):  # the slip: starts at 1
        total += x[i]
    return total / len(x)


def _normalize_in_place(x):
    x /= np.linalg.norm(x)
    return x


QUESTIONS = {
    "00.mean": dict(
        reference=ch00.mean,
        correct=[_mean_loop, np.mean, lambda x: np.average(x), lambda x: sum(x) / len(x)],
        hard_coded=lambda x: 2.5,
        wrong={
            "1/N": lambda x: np.sum(x),
            "N - 1": lambda x: np.sum(x) / (len(x) - 1) if len(x) > 1 else np.sum(x) / 0.5,
            "Floor division": lambda x: np.sum(x) // len(x),
            "left out the FIRST entry": _mean_loop_from_one,
            "left out the LAST entry": lambda x: sum(x[i] for i in range(len(x) - 1)) / len(x),
        },
    ),
    "00.dot": dict(
        reference=ch00.dot,
        correct=[_dot_loop, lambda x, y: x @ y, lambda x, y: np.einsum("i,i->", x, y), np.dot],
        hard_coded=lambda x, y: 10.0,
        wrong={
            "element-wise product": lambda x, y: x * y,
            "outer product": np.outer,
            "multiplied the sums": lambda x, y: np.sum(x) * np.sum(y),
            "averaged": lambda x, y: np.mean(x * y),
            "left out the LAST entry": lambda x, y: sum(x[i] * y[i] for i in range(len(x) - 1)),
        },
    ),
    "00.numerical_derivative": dict(
        reference=ch00.central_difference,
        correct=[lambda f, x, h: 0.5 * (f(x + h) - f(x - h)) / h, _derivative_vectorized],
        hard_coded=lambda f, x, h: 1.0,
        wrong={
            "forward difference": lambda f, x, h: (f(x + h) - f(x)) / h,
            "backward difference": lambda f, x, h: (f(x) - f(x - h)) / h,
            "factor 2": lambda f, x, h: (f(x + h) - f(x - h)) / h,
            "precedence": lambda f, x, h: (f(x + h) - f(x - h)) / 2 * h,
            "step h": lambda f, x, h: (f(x + 1e-6) - f(x - 1e-6)) / 2e-6,
            "worked example": lambda f, x, h: 1.0,  # cos 0, the text's example, whatever the input
        },
    ),
    "00.normalize": dict(
        reference=ch00.normalize,
        correct=[_normalize_loop, lambda x: x / np.linalg.norm(x), lambda x: x / np.sqrt(x @ x)],
        # The right shape and the right length, but not the direction of x.
        hard_coded=lambda x: np.ones(len(x)) / np.sqrt(len(x)),
        wrong={
            "squared norm": lambda x: x / (x @ x),
            "L1": lambda x: x / np.abs(x).sum(),
            "max norm": lambda x: x / np.abs(x).max(),
            "length": lambda x: np.linalg.norm(x),
            "Floor division": lambda x: x // np.linalg.norm(x),
        },
    ),
}

CORRECT = [(qid, fn) for qid, spec in QUESTIONS.items() for fn in [spec["reference"], *spec["correct"]]]
WRONG = [(qid, word, fn) for qid, spec in QUESTIONS.items() for word, fn in spec["wrong"].items()]


@pytest.fixture(params=SEEDS)
def seed(request, monkeypatch):
    monkeypatch.setenv("COURSE_SEED", str(request.param))
    return request.param


def test_the_chapter_registers_its_questions_in_order():
    assert [q.qid for q in chapter_questions("00")] == list(QUESTIONS)


@pytest.mark.parametrize("qid, fn", CORRECT, ids=[f"{q}-{i}" for i, (q, _) in enumerate(CORRECT)])
def test_correct_answers_pass(qid, fn, seed):
    result = run_check(qid, fn)
    assert result.passed, str(result)
    assert result.points == result.max_points == 1


@pytest.mark.parametrize("qid", QUESTIONS)
def test_stub_is_not_attempted(qid):
    result = run_check(qid, stub)
    assert result.status == "not attempted", str(result)
    assert result.points == 0


@pytest.mark.parametrize("qid", QUESTIONS)
def test_hard_coded_answer_fails(qid, seed):
    result = run_check(qid, QUESTIONS[qid]["hard_coded"])
    assert result.status == "failed", str(result)


@pytest.mark.parametrize("qid, word, fn", WRONG, ids=[f"{q}-{w}" for q, w, _ in WRONG])
def test_likely_mistakes_fail_with_their_hint(qid, word, fn, seed):
    result = run_check(qid, fn)
    assert result.status == "failed"
    assert result.hint and word.lower() in result.hint.lower(), str(result)
    assert result.case, "the feedback shows the failing input"


def test_modifying_the_input_in_place_is_named(seed):
    result = run_check("00.normalize", _normalize_in_place)
    assert result.status == "failed"
    assert "in place" in result.message


def test_a_failing_case_repeats_with_its_seed(monkeypatch):
    first = run_check("00.dot", lambda x, y: x.sum() * y.sum())
    monkeypatch.setenv("COURSE_SEED", str(first.seed))
    again = run_check("00.dot", lambda x, y: x.sum() * y.sum())
    assert (again.case, again.message) == (first.case, first.message)


def test_cases_are_fresh_on_every_run(monkeypatch):
    cases = set()
    for s in range(5):
        monkeypatch.setenv("COURSE_SEED", str(s))
        cases.add(run_check("00.mean", lambda x: 0.0).case)
    assert len(cases) == 5


def test_a_function_is_printed_as_code_in_the_failing_case(seed):
    result = run_check("00.numerical_derivative", lambda f, x, h: (f(x + h) - f(x)) / h)
    assert "f = lambda x:" in result.case


# -- the reference answers themselves ----------------------------------------------------------
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)
vectors = arrays(np.float64, st.integers(1, 20), elements=finite)


@settings(max_examples=60, deadline=None)
@given(vectors)
def test_mean_matches_numpy(x):
    assert ch00.mean(x) == pytest.approx(np.mean(x), rel=1e-12, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20).flatmap(lambda n: st.tuples(arrays(np.float64, n, elements=finite),
                                                       arrays(np.float64, n, elements=finite))))
def test_dot_matches_numpy_and_is_symmetric(xy):
    x, y = xy
    assert ch00.dot(x, y) == pytest.approx(float(x @ y), rel=1e-9, abs=1e-6)
    assert ch00.dot(x, y) == ch00.dot(y, x)


@settings(max_examples=60, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-3, 3), st.floats(-2, 2), st.floats(0.01, 1.0))
def test_central_difference_is_exact_for_quadratics(a, b, c, x, h):
    got = ch00.central_difference(lambda t: a + b * t + c * t * t, x, h)
    assert got == pytest.approx(b + 2 * c * x, abs=1e-10 / h + 1e-12)


@pytest.mark.parametrize("h", [1e-1, 1e-2, 1e-3])
def test_central_difference_error_shrinks_like_h_squared(h):
    # For sin at x = 1 the error is cos(1) h^2 / 6 to leading order.
    err = ch00.central_difference(np.sin, 1.0, h) - np.cos(1.0)
    assert err == pytest.approx(-np.cos(1.0) * h ** 2 / 6, rel=1e-2)


@settings(max_examples=60, deadline=None)
@given(vectors.filter(lambda v: np.linalg.norm(v) > 1e-3))
def test_normalize_gives_a_unit_vector_in_the_same_direction(x):
    u = ch00.normalize(x)
    assert np.linalg.norm(u) == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(u * np.linalg.norm(x), x, rtol=1e-9, atol=1e-9)
