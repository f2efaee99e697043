"""The object a question's check function receives, and the ways a check can end.

A check function looks like this (see ``course_lib/checks/ch01_linear_algebra.py``)::

    @question("01.matmul", title="Matrix product C = AB")
    def _(t: Tester):
        for m, k, n in [(2, 3, 4), (1, 1, 1), tuple(t.rng.integers(1, 6, size=3))]:
            A, B = t.rng.standard_normal((m, k)), t.rng.standard_normal((k, n))
            got = t.call(A, B)                      # runs the learner's function safely
            t.expect_close(got, A @ B, case={"A": A, "B": B},
                           mistakes={"You computed B A ...": ...})

``t.call`` turns everything a learner's code can do wrong (raise, loop forever, call
``sys.exit``, modify its input, print megabytes) into a :class:`CheckFailed` or
:class:`NotAttempted` with a clear message; ``t.expect_close`` compares with the
reference and picks a hint (see :mod:`course_lib.grading.compare`).

One thing passes through untouched: ``KeyboardInterrupt``. A learner who presses Ctrl-C (or
the stop button) during "Run All" wants the notebook to stop; ``check()`` reports the
interrupt and raises it again. The time limit is a different signal (``SIGALRM``) and a
different exception (:class:`CheckTimeout`), so the two are never confused.
"""
from __future__ import annotations

import contextlib
import io
import signal
import threading
import time
import traceback
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from course_lib.grading.compare import diagnose, format_case, format_value


class CheckFailed(Exception):
    """The submission is wrong; carries what the learner should read."""

    def __init__(self, message: str, *, hint: str | None = None, case: str | None = None,
                 error: float | None = None):
        super().__init__(message)
        self.message, self.hint, self.case, self.error = message, hint, case, error


class NotAttempted(Exception):
    """The submission is still the stub (it raised NotImplementedError)."""


class CheckTimeout(BaseException):
    """Raised by the alarm inside a learner's code that runs too long.

    A ``BaseException`` so that a learner's ``except Exception:`` cannot swallow it.
    """


class BoundedText(io.TextIOBase):
    """A stdout stand-in that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int = 4000):
        self.limit, self.kept, self.total = limit, [], 0

    def write(self, s: str) -> int:
        s = str(s)
        room = self.limit - sum(len(k) for k in self.kept)
        if room > 0:
            self.kept.append(s[:room])
        self.total += len(s)
        return len(s)

    def writable(self) -> bool:
        return True

    @property
    def text(self) -> str:
        return "".join(self.kept)


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise :class:`CheckTimeout` in the block after ``seconds`` (main thread only).

    Nests: an inner limit never outlives an outer one, and the outer one keeps running.
    """
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise CheckTimeout()

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer_left) if outer_left > 0 else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if outer_left > 0:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - start), 1e-3))


def _ordinal(i: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(i, f"{i}th")


def _snapshot(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, dict, set)):
        import copy

        try:
            return copy.deepcopy(value)
        except Exception:
            return None
    return None


def _changed(before, after) -> bool:
    if before is None:
        return False
    if isinstance(before, np.ndarray):
        return not (isinstance(after, np.ndarray) and before.shape == after.shape
                    and np.array_equal(before, after, equal_nan=True))
    try:
        return bool(before != after)
    except Exception:
        return False


def _learner_frame(tb) -> str | None:
    """The last traceback line that is not inside course_lib: usually the learner's line."""
    frames = [f for f in traceback.extract_tb(tb) if "course_lib" not in f.filename.replace("\\", "/").split("/")]
    if not frames:
        return None
    f = frames[-1]
    return f"line {f.lineno}: {f.line}" if f.line else f"line {f.lineno}"


class Tester:
    """Runs one question's checks against one submission.

    Attributes
    ----------
    submission : object
        What the learner passed to ``check``.
    rng : numpy.random.Generator
        Fresh randomness for every run (seeded by :attr:`seed`), so hard-coded
        answers fail.
    seed : int
    printed : BoundedText
        What the submission printed while being checked.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, submission: Any, seed: int, time_limit_s: float = 10.0,
                 examples: Sequence[tuple[str, object]] = ()):
        self.submission = submission
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.time_limit_s = time_limit_s
        self.printed = BoundedText()
        self._examples = tuple(examples)
        self._example_mistakes: dict[str, object] | None = None

    def example_mistakes(self) -> dict[str, object]:
        """The question's worked examples (from the notebook text) as candidate mistakes.

        An answer that equals an example's output on other inputs was copied, not computed.
        """
        if self._example_mistakes is None:
            self._example_mistakes = {}
            for shown, value in self._examples:
                value = value() if callable(value) else value
                # On one line, so that it reads inside a sentence.
                printed = str(np.round(np.asarray(value, dtype=np.float64), 6).tolist()) if np.ndim(value) \
                    else format_value(value)
                self._example_mistakes[
                    f"Your answer equals the output of the worked example {shown} = {printed}, but "
                    "this case has other inputs: compute the result from the arguments instead of returning "
                    "the example's answer."] = value
        return self._example_mistakes

    # -- running learner code ----------------------------------------------------------
    def function(self) -> Callable:
        """The submission, which must be callable."""
        fn = self.submission
        if not callable(fn):
            raise CheckFailed(
                f"Expected a function, but got {type(fn).__name__} {format_value(fn)}.",
                hint="Pass the function itself, without calling it: `check(qid, my_function)`, "
                     "not `check(qid, my_function(...))`.",
            )
        return fn

    def call(self, *args, **kwargs):
        """Call the submission on ``args``; every misbehaviour becomes a clear failure."""
        fn = self.function()
        before = [_snapshot(a) for a in args] + [_snapshot(v) for v in kwargs.values()]
        case = {f"argument {i + 1}": a for i, a in enumerate(args)}
        case.update(kwargs)
        try:
            with contextlib.redirect_stdout(self.printed), contextlib.redirect_stderr(self.printed), \
                    time_limit(self.time_limit_s):
                result = fn(*args, **kwargs)
        except NotImplementedError as exc:
            raise NotAttempted(str(exc) or "the function still raises NotImplementedError") from None
        except CheckTimeout:
            raise CheckFailed(
                f"Your function did not finish within {self.time_limit_s:g} s.",
                hint="Look for a loop whose condition never becomes false, or a loop over far more "
                     "elements than needed.",
                case=format_case(case),
            ) from None
        except SystemExit as exc:
            raise CheckFailed(
                f"Your function called sys.exit({exc.code!r}) (or raised SystemExit).",
                hint="Return a value instead of exiting; `exit()` and `sys.exit()` end the whole program.",
                case=format_case(case),
            ) from None
        except RecursionError:
            raise CheckFailed(
                "Your function recursed too deeply (RecursionError).",
                hint="A recursive call needs a base case that is always reached; a loop may be simpler here.",
                case=format_case(case),
            ) from None
        except Exception as exc:
            where = _learner_frame(exc.__traceback__)
            hint = "Read the error message and the line it names; run your function on the failing case yourself."
            if isinstance(exc, (ModuleNotFoundError, ImportError)):
                hint = "Use only the packages the exercise imports (NumPy is always there)."
            raise CheckFailed(
                f"Your function raised {type(exc).__name__}: {exc}" + (f" ({where})" if where else ""),
                hint=hint,
                case=format_case(case),
            ) from None
        after = list(args) + list(kwargs.values())
        names = [f"its {_ordinal(i + 1)} argument" for i in range(len(args))] + [f"argument `{k}`" for k in kwargs]
        for name, b, a in zip(names, before, after):
            if _changed(b, a):
                raise CheckFailed(
                    f"Your function changed {name} in place.",
                    hint="Do not modify the inputs: work on a copy (`x = x.copy()`) or build a new array.",
                    case=format_case({k: v for k, v in zip(case, before)}),
                )
        return result

    # -- judging results -----------------------------------------------------------
    def parts(self, got, names: Sequence[str], *, case: Mapping[str, object] | None = None) -> tuple:
        """The learner's ``len(names)`` results as a tuple, or a clear failure.

        Any sequence of the right length is accepted, a tuple, a list or an array (its first
        axis): the exercise says "return a, b", and ``[a, b]`` or ``np.array([a, b])`` mean
        the same.
        """
        n = len(names)
        listed = ", ".join(names)
        if isinstance(got, np.ndarray) and got.ndim >= 1:
            items = list(got)
        elif isinstance(got, Sequence) and not isinstance(got, (str, bytes)):
            items = list(got)
        else:
            self.fail(f"Expected {n} results ({listed}), but got {type(got).__name__} {format_value(got)}.",
                      hint=f"Return all of them, in this order: `return {listed}`.", case=case)
        if len(items) != n:
            what = f"one array of shape {got.shape}" if isinstance(got, np.ndarray) else f"{len(items)} values"
            self.fail(f"Expected {n} results ({listed}), but got {what}.",
                      hint=f"Return all of them, in this order: `return {listed}`.", case=case)
        return tuple(items)

    def numbers(self, got, names: Sequence[str], *, case: Mapping[str, object] | None = None) -> np.ndarray:
        """The learner's ``len(names)`` results, each a single number, as a float64 array.

        A pair written in the text as (a, b) may come back as a tuple, a list or an array.
        """
        parts = self.parts(got, names, case=case)
        try:
            return np.array([np.asarray(v, dtype=np.float64).reshape(()) for v in parts])
        except (TypeError, ValueError):
            self.fail(f"Expected {len(names)} numbers ({', '.join(names)}), but got {format_value(got)}.",
                      hint="Each result is a single number (a float), not an array or a string.", case=case)

    def expect_close(self, got, expected, *, case: Mapping[str, object] | None = None,
                     rtol: float = 1e-6, atol: float = 1e-8,
                     mistakes: Mapping[str, object] | None = None, what: str | None = None) -> None:
        """Fail unless ``got`` matches ``expected`` (type, shape, values)."""
        mismatch = diagnose(got, expected, rtol=rtol, atol=atol,
                            mistakes={**dict(mistakes or {}), **self.example_mistakes()})
        if mismatch is not None:
            message = f"{what}: {mismatch.message}" if what else mismatch.message
            raise CheckFailed(message, hint=mismatch.hint, case=format_case(case), error=mismatch.error)

    def expect(self, condition: bool, message: str, *, hint: str | None = None,
               case: Mapping[str, object] | None = None) -> None:
        """Fail with ``message`` unless ``condition`` holds (for property checks)."""
        if not condition:
            raise CheckFailed(message, hint=hint, case=format_case(case))

    def fail(self, message: str, *, hint: str | None = None, case: Mapping[str, object] | None = None,
             error: float | None = None):
        raise CheckFailed(message, hint=hint, case=format_case(case), error=error)


def random_seed() -> int:
    """A fresh seed, or ``COURSE_SEED`` when set (to repeat a failing case)."""
    import os

    fixed = os.environ.get("COURSE_SEED")
    if fixed:
        try:
            return int(fixed)
        except ValueError:
            pass
    return int.from_bytes(os.urandom(4), "little")

