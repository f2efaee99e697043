"""``check(qid, submission)``: the learner's one-line feedback loop.

:func:`run_check` returns a :class:`CheckResult` and never raises; :func:`check`
also displays it (HTML in JupyterLab, text elsewhere) and, when the environment has
``COURSE_STRICT=1`` (as CI does), raises :class:`CheckFailedError` on a failure so that a
broken solution cannot pass unnoticed.

A ``KeyboardInterrupt`` (Ctrl-C, or the stop button in JupyterLab) is reported like any
other outcome and then raised again by :func:`check`, so that "Run All" stops where the
learner asked it to instead of running on to the next cells.
"""
from __future__ import annotations

import os

from course_lib.grading import seal
from course_lib.grading.feedback import FAILED, NOT_ATTEMPTED, PASSED, RESULT_MIME, CheckResult
from course_lib.grading.registry import UnknownQuestion, get_question
from course_lib.grading.tester import CheckFailed, CheckTimeout, NotAttempted, Tester, random_seed, time_limit

PRINT_NOTE_THRESHOLD = 2000  # characters a submission may print before the result shows them


class CheckFailedError(AssertionError):
    """Raised by :func:`check` in strict mode (``COURSE_STRICT=1``) when a check fails."""


def _run(qid: str, submission) -> tuple[CheckResult, bool]:
    """The result of question ``qid``'s checks, and whether a KeyboardInterrupt stopped them."""
    try:
        q = get_question(qid)
    except UnknownQuestion as exc:
        return CheckResult(str(qid), "unknown question", FAILED, 0, 0, message=str(exc),
                           hint="Copy the id from the exercise text, e.g. check('01.matmul', matmul)."), False
    seed = random_seed()
    tester = Tester(submission, seed, q.time_limit_s, examples=q.examples)
    result = CheckResult(q.qid, q.title, FAILED, 0, q.points, seed=seed)
    interrupted = False
    try:
        # The whole check gets a generous limit too, in case a submission is slow on every call.
        with time_limit(q.time_limit_s * 3):
            q.run(tester)
    except NotAttempted as exc:
        result.status = NOT_ATTEMPTED
        result.message = f"Not attempted yet: {exc}" if str(exc) else "Not attempted yet."
        result.seed = None
    except CheckFailed as exc:
        result.message, result.hint, result.case, result.error = exc.message, exc.hint, exc.case, exc.error
    except CheckTimeout:
        result.message = f"The checks did not finish within {q.time_limit_s * 3:g} s."
        result.hint = "Your function is very slow: avoid Python loops over every element where NumPy can do it."
    except KeyboardInterrupt:
        interrupted = True
        result.message = "The check was interrupted (KeyboardInterrupt: Ctrl-C or the stop button) before it finished."
        result.hint = "Run the cell again to check your answer."
        result.seed = None
    except BaseException as exc:  # noqa: BLE001 - a learner must never see the grader crash
        result.message = (f"Your answer could not be checked: {type(exc).__name__}: {exc}. "
                          "Check that it has the form the exercise asks for.")
    else:
        result.status, result.points = PASSED, q.points
        result.message = "All checks passed."
        result.seed = None
    if tester.printed.total > PRINT_NOTE_THRESHOLD:
        result.output = tester.printed.text[:PRINT_NOTE_THRESHOLD]
        result.message += f" (Your function printed {tester.printed.total:,} characters; they are not shown in full.)"
    return result, interrupted


def run_check(qid: str, submission) -> CheckResult:
    """Run question ``qid``'s checks on ``submission`` and return the result (never raises)."""
    return _run(qid, submission)[0]


def check(qid: str, submission) -> None:
    """Check ``submission`` against question ``qid`` and show the result.

    Parameters
    ----------
    qid : str
        Question id, ``"NN.name"`` as given in the exercise.
    submission : object
        Usually the function you wrote (pass the function, do not call it).

    Never raises for a wrong answer, unless ``COURSE_STRICT=1`` is set. An interrupt
    (Ctrl-C) is shown and then raised again, so that the notebook stops.
    """
    result, interrupted = _run(qid, submission)
    _show(result)
    if interrupted:
        raise KeyboardInterrupt
    if result.status == FAILED and os.environ.get("COURSE_STRICT") == "1":
        raise CheckFailedError(str(result))


def result_bundle(result: CheckResult) -> dict:
    """What :func:`check` displays: text, HTML, and the sealed machine-readable result."""
    return {"text/plain": str(result), "text/html": result._repr_html_(), RESULT_MIME: seal.seal(result.to_json())}


def _show(result: CheckResult) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(result_bundle(result), raw=True)
            return
    except ImportError:
        pass
    print(result)
