"""check() and its parts: comparison and hints, results, time limits, interrupts, strict mode,
and the seal that lets the grader trust a result."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib.grading import seal
from course_lib.grading.check import CheckFailedError, check, result_bundle, run_check
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


def test_an_all_zero_answer_is_told_so():
    a = np.arange(1.0, 7.0).reshape(2, 3)
    hint = diagnose(np.zeros((2, 3)), a).hint
    assert "all zeros" in hint and "1/N" not in hint
    assert "all zeros" in diagnose(0.0, 2.5).hint


def test_the_message_names_the_entry_that_broke_the_tolerance():
    """Not the largest absolute difference: 1000 off by 1e-4 is within rtol, 1 off by 1e-3 is not."""
    expected = np.array([1000.0, 1.0, 5.0])
    got = expected + np.array([1e-4, 1e-3, 0.0])
    mismatch = diagnose(got, expected, rtol=1e-6, atol=1e-8)
    assert "index 1" in mismatch.message and "1 of 3 entries" in mismatch.message, mismatch.message
    assert mismatch.error == pytest.approx(1e-3)
    assert "max abs error" not in mismatch.message


def test_a_low_precision_dtype_is_named():
    expected = np.array([1 / 3, 2 / 3, 1.0 + 1e-3])
    for dtype in (np.float16, np.float32):
        mismatch = diagnose(expected.astype(dtype), expected, rtol=1e-9, atol=1e-12)
        assert str(np.dtype(dtype)) in mismatch.hint and "float64" in mismatch.hint, mismatch
    # Wrong beyond float16's rounding too: the message still names the dtype.
    mismatch = diagnose((2 * expected).astype(np.float16), expected)
    assert "float16" in mismatch.message
    with np.errstate(over="ignore"):
        overflowed = np.array([7e4, 1.0]).astype(np.float16)  # float16 tops out at 65504
    assert "float16" in diagnose(overflowed, np.array([7e4, 1.0])).hint
    assert "integer dtype" in diagnose(np.array([0, 1, 1]), np.array([0.4, 1.2, 1.5])).hint


def test_off_by_one_loops_get_a_hint():
    expected = np.array([1.0, 3.0, 6.0, 10.0, 15.0])  # a running sum
    late = np.concatenate([[0.0], expected[:-1]])
    assert "one step late" in diagnose(late, expected).hint
    assert "one step early" in diagnose(np.concatenate([expected[1:], [21.0]]), expected).hint
    assert "range" in diagnose(expected[:-1], expected).hint  # one entry too few


def test_a_slip_that_changes_the_shape_still_gets_its_hint():
    expected = np.array([0.5, 1.0, 1.5])
    hint = diagnose(np.float64(3.0), expected, mistakes={"summed over the batch": expected.sum()}).hint
    assert hint == "summed over the batch"
    hint = diagnose(np.ones(4), expected, mistakes={"wrong axis": np.ones(4)}).hint
    assert hint == "wrong axis"


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
    bundle = result_bundle(r)  # what check() displays
    assert set(bundle) == {"text/plain", "text/html", RESULT_MIME}
    assert "Hint" in bundle["text/html"] and "hint:" in bundle["text/plain"]
    assert "<script" not in CheckResult("99.x", "<script>", FAILED, 0, 1, message="<b>")._repr_html_()
    # Outside the grader there is no key: the result carries no valid seal.
    assert bundle[RESULT_MIME][seal.SIGNATURE_FIELD] is None
    assert seal.verify(bundle[RESULT_MIME], seal.new_key()) is None


def test_displaying_a_result_object_by_hand_has_no_machine_readable_form():
    """Only check() emits the grader's mime type, so display(CheckResult(...)) counts for nothing."""
    forged = CheckResult("01.matmul", "Matrix product", PASSED, 100, 1)
    assert RESULT_MIME not in forged._repr_mimebundle_()


def test_feedback_gives_the_size_of_the_error_once():
    def off_by_1000(X):
        m = X.mean(axis=0)
        m[0] += 1000.0
        return m

    r = run_check("99.column_means", off_by_1000)
    size = f"{r.error:.3g}"
    assert size == "1e+03" and "max abs error" not in r.message and size not in r.message
    text, html = str(r), r._repr_html_()
    assert text.count(size) == 1 and text.lower().count("size of the error") == 1, text
    assert html.count(size) == 1 and html.count("Size of the error") == 1, html


# -- the seal --------------------------------------------------------------------------------
def test_seal_verifies_its_own_payload_and_nothing_else():
    key = seal.new_key()
    payload = json.loads(json.dumps(CheckResult("01.matmul", "Matrix product", FAILED, 0, 1,
                                                message="Wrong values", error=0.5).to_json()))
    sealed = {**payload, seal.SIGNATURE_FIELD: seal.signature(payload, key)}
    assert seal.verify(json.loads(json.dumps(sealed)), key) == payload  # survives the trip through JSON
    assert seal.verify(sealed, seal.new_key()) is None  # another run's key
    assert seal.verify({**sealed, "status": PASSED}, key) is None  # any edit breaks it
    assert seal.verify({**sealed, "points": 100}, key) is None
    assert seal.verify(payload, key) is None and seal.verify({**payload, "hmac": None}, key) is None
    assert seal.verify("not a dict", key) is None and seal.verify(sealed, None) is None


def test_the_kernel_takes_the_key_and_leaves_no_trace(tmp_path, monkeypatch):
    """The key file is read once and deleted; its path leaves the environment (and so child processes)."""
    key = seal.new_key()
    path = tmp_path / "grader.key"
    path.write_bytes(key)
    monkeypatch.setenv(seal.KEY_FILE_ENV, str(path))
    sign = seal._take_key()
    assert seal.KEY_FILE_ENV not in os.environ and not path.exists()
    payload = {"qid": "01.matmul", "status": PASSED}
    assert sign(payload) == seal.signature(payload, key)
    monkeypatch.delenv(seal.KEY_FILE_ENV, raising=False)
    assert seal._take_key()(payload) is None  # no key: nothing is signed


# -- Ctrl-C ----------------------------------------------------------------------------------
@question("99.interruptible", title="A question a learner interrupts", time_limit_s=5.0)
def _interruptible(t: Tester):
    t.call()


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler (KeyboardInterrupt), whatever the test runner installed."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_is_reported_and_then_stops_the_notebook(capsys, sigint_raises, monkeypatch):
    """A real SIGINT during a slow submission: check() shows "interrupted", then re-raises."""
    monkeypatch.delenv("COURSE_STRICT", raising=False)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        check("99.interruptible", lambda: time.sleep(10))
    timer.join()
    assert time.monotonic() - start < 3
    assert "interrupted" in capsys.readouterr().out
    # The check's time limits were cleared on the way out: no alarm is left to fire later.
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    assert getattr(signal.getsignal(signal.SIGALRM), "__name__", "") != "on_alarm"


def test_an_interrupt_inside_the_learners_code_is_a_result_for_run_check():
    def column_means(X):
        raise KeyboardInterrupt

    r = run_check("99.column_means", column_means)
    assert r.status == FAILED and r.points == 0 and "interrupted" in r.message
    with pytest.raises(KeyboardInterrupt):
        check("99.column_means", column_means)


def test_the_time_limit_is_not_mistaken_for_ctrl_c(capsys, monkeypatch):
    """SIGALRM (the limit) fails the check and lets the notebook run on; only SIGINT stops it."""
    monkeypatch.delenv("COURSE_STRICT", raising=False)
    assert check("99.slow", lambda: time.sleep(5)) is None
    out = capsys.readouterr().out
    assert "did not finish within 0.5 s" in out and "interrupted" not in out


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


def test_per_entry_tolerances_work_with_the_shifted_sequence_hint():
    """One atol per entry (a Monte-Carlo check's allowance) must not crash the off-by-one test."""
    expected = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    atol = np.array([1e-3, 1e-3, 1e-2, 1e-2, 1e-1])
    late = np.concatenate([[0.0], expected[:-1]])
    assert diagnose(expected + atol / 2, expected, rtol=0.0, atol=atol) is None
    assert "one step late" in diagnose(late, expected, rtol=0.0, atol=atol).hint
