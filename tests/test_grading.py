"""check() and its parts: comparison and hints, results, time limits, strict mode."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib.grading.check import CheckFailedError, check, run_check
from course_lib.grading.compare import diagnose, format_case
from course_lib.grading.feedback import FAILED, NOT_ATTEMPTED, PASSED, RESULT_MIME, CheckResult
from course_lib.grading.registry import UnknownQuestion, get_question, question
from course_lib.grading.tester import CheckTimeout, Tester, time_limit


# A question of a chapter that does not exist, so these tests do not depend on course content.
@question("99.column_means", title="Column means of a data matrix")
def _column_means(t: Tester):
    for n, d in [(5, 3), (1, 1), (int(t.rng.integers(2, 9)), int(t.rng.integers(2, 9)))]:
        X = t.rng.standard_normal((n, d))
        t.expect_close(t.call(X), X.mean(axis=0), case={"X": X},
                       mistakes={"You averaged each row (axis=1) instead of each column (axis=0).": X.mean(axis=1)})


@question("99.slow", title="A question with a short time limit", time_limit_s=0.5)
def _slow(t: Tester):
    t.call()


# -- compare.diagnose ------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5)),
              elements=st.floats(-1e3, 1e3, allow_nan=False)))
def test_equal_arrays_have_no_mismatch(a):
    assert diagnose(a.copy(), a) is None


def test_hints_for_the_usual_slips():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4)) + 2.0
    assert "opposite sign" in diagnose(-a, a).hint
    assert "transpose" in diagnose(a.T, a).hint
    assert "twice" in diagnose(2 * a, a).hint
    assert "half" in diagnose(a / 2, a).hint
    assert "1/N" in diagnose(a * 7, a).hint
    rect = rng.standard_normal((2, 3))
    assert "transposed" in diagnose(rect.T, rect).hint
    assert "keepdims" in diagnose(rect.reshape(1, 2, 3), rect).hint
    assert "fewer axes" in diagnose(rect.sum(), rect).message.lower() + diagnose(rect[0], rect).hint


def test_type_problems_have_messages():
    a = np.ones((2, 2))
    assert "returned None" in diagnose(None, a).message
    assert "list" in diagnose(a.tolist(), a).message
    assert "NaN" in diagnose(a * np.nan, a).message
    assert "dtype" in diagnose(a.astype(str), a).message
    assert "complex" in diagnose(a + 1j, a).message
    assert "single number" in diagnose(a, 3.0).message
    assert diagnose(np.float64(3.0), 3.0) is None
    assert diagnose(3, 3.0) is None


def test_question_specific_mistakes_come_first():
    a = np.arange(6.0).reshape(2, 3)
    candidate = a + 1
    assert diagnose(a + 1, a, mistakes={"off by one": candidate}).hint == "off by one"


def test_format_case_is_small():
    text = format_case({"X": np.zeros((100, 100)), "k": 3})
    assert len(text) < 1500 and "shape (100, 100)" in text and "k = 3" in text


# -- run_check ---------------------------------------------------------------------------
def test_correct_implementations_pass():
    assert run_check("99.column_means", lambda X: X.mean(axis=0)).status == PASSED
    assert run_check("99.column_means", lambda X: X.sum(axis=0) / X.shape[0]).status == PASSED
    assert run_check("99.column_means", lambda X: np.array([sum(c) / len(c) for c in X.T])).status == PASSED


def test_wrong_answers_fail_with_the_aimed_hint():
    r = run_check("99.column_means", lambda X: X.mean(axis=1))
    assert r.status == FAILED and r.points == 0
    assert "axis=1" in (r.hint or "") or "shape" in r.message.lower()
    r = run_check("99.column_means", lambda X: X.sum(axis=0))
    assert r.status == FAILED and "1/N" in r.hint, r
    assert r.case and "X =" in r.case and r.error > 0 and r.seed is not None


def test_hard_coded_and_shape_only_answers_fail():
    fixed = np.zeros(3)
    assert run_check("99.column_means", lambda X: fixed).status == FAILED
    assert run_check("99.column_means", lambda X: np.zeros(X.shape[1])).status == FAILED


def test_stub_is_not_attempted():
    def stub(X):
        raise NotImplementedError("Replace this line with your solution")

    r = run_check("99.column_means", stub)
    assert r.status == NOT_ATTEMPTED and r.points == 0 and r.seed is None


def test_unknown_question_is_a_result_not_an_exception():
    r = run_check("99.colum_means", lambda X: X)
    assert r.status == FAILED and "99.column_means" in r.message  # suggests the near miss
    r = run_check("matmul", lambda X: X)
    assert r.status == FAILED and "question id" in r.message
    with pytest.raises(UnknownQuestion):
        get_question("99.nope")


def test_time_limit_of_a_question():
    start = time.monotonic()
    r = run_check("99.slow", lambda: time.sleep(5))
    assert r.status == FAILED and "did not finish within 0.5 s" in r.message
    assert time.monotonic() - start < 3


def test_time_limits_nest():
    with time_limit(5):
        with pytest.raises(CheckTimeout):
            with time_limit(0.2):
                time.sleep(1)
        with time_limit(0.5):
            time.sleep(0.1)  # the inner limit is cleared on exit


def test_seed_from_environment_repeats_a_case(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "1234")
    a = run_check("99.column_means", lambda X: X.sum(axis=0))
    b = run_check("99.column_means", lambda X: X.sum(axis=0))
    assert a.seed == b.seed == 1234 and a.case == b.case


# -- results and display ------------------------------------------------------------------
def test_result_round_trips_through_json():
    r = run_check("99.column_means", lambda X: X * np.inf)
    data = json.loads(json.dumps(r.to_json()))
    back = CheckResult.from_json(data)
    assert back.status == r.status and back.message == r.message and back.error == r.error


def test_result_renders_as_html_text_and_machine_readable():
    r = run_check("99.column_means", lambda X: X.sum(axis=0))
    bundle = r._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", RESULT_MIME}
    assert "Hint" in bundle["text/html"] and "hint:" in bundle["text/plain"]
    assert "<script" not in CheckResult("99.x", "<script>", FAILED, 0, 1, message="<b>")._repr_html_()


def test_check_prints_outside_ipython_and_raises_only_in_strict_mode(capsys, monkeypatch):
    monkeypatch.delenv("COURSE_STRICT", raising=False)
    assert check("99.column_means", lambda X: X.sum(axis=0)) is None
    assert "Not yet" in capsys.readouterr().out
    monkeypatch.setenv("COURSE_STRICT", "1")
    with pytest.raises(CheckFailedError):
        check("99.column_means", lambda X: X.sum(axis=0))
    check("99.column_means", lambda X: X.mean(axis=0))  # a pass never raises

    def stub(X):
        raise NotImplementedError

    check("99.column_means", stub)  # neither does "not attempted"


def test_ambiguous_mistakes_name_every_matching_slip():
    a = np.arange(1.0, 5.0)
    hint = diagnose(a * 2, a, mistakes={"slip one": a * 2, "slip two": a + a, "never": a * 3}).hint
    assert "slip one" in hint and "slip two" in hint and "never" not in hint
