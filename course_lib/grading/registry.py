"""Questions, registered by id, one module of checks per chapter.

A chapter's questions live in ``course_lib/checks/chNN_<slug>.py``; each is a function
decorated with :func:`question`. Question ids are ``"NN.name"``: the chapter number,
a dot, and a lower-case name. The module of chapter ``NN`` is imported the first time
one of its questions is asked for, so adding a chapter adds a file and touches nothing
shared.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Callable

QID_PATTERN = re.compile(r"^(\d\d)\.([a-z][a-z0-9_]*)$")


class UnknownQuestion(KeyError):
    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


@dataclass(frozen=True)
class Question:
    qid: str
    title: str
    run: Callable  # run(tester) -> None; raises CheckFailed / NotAttempted
    points: float = 1.0
    time_limit_s: float = 10.0
    examples: tuple = ()  # (how the notebook shows it, its output or a function computing it)

    @property
    def chapter(self) -> str:
        return self.qid[:2]


_QUESTIONS: dict[str, Question] = {}
_LOADED: set[str] = set()


def question(qid: str, *, title: str, points: float = 1.0, time_limit_s: float = 10.0,
             examples: dict | None = None):
    """Register the decorated function as the checks of question ``qid``.

    ``examples`` maps a worked example the notebooks show (``"f(np.sin, 0.0, 1e-5)"``) to its
    output (or a function of no arguments returning it): an answer that returns that output
    on other inputs is told it copied the example.
    """
    if not QID_PATTERN.match(qid):
        raise ValueError(f"question ids look like '01.matmul', not {qid!r}")

    def register(run: Callable) -> Callable:
        if qid in _QUESTIONS and _QUESTIONS[qid].run.__qualname__ != run.__qualname__:
            raise ValueError(f"question {qid} is registered twice")
        _QUESTIONS[qid] = Question(qid, title, run, points, time_limit_s, tuple((examples or {}).items()))
        return run

    return register


def load_chapter(number: str) -> None:
    """Import ``course_lib.checks.ch<number>_*`` (once)."""
    if number in _LOADED:
        return
    import course_lib.checks as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith(f"ch{number}_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _LOADED.add(number)


def get_question(qid: str) -> Question:
    """The registered question ``qid``; :class:`UnknownQuestion` with a suggestion otherwise."""
    if not isinstance(qid, str) or not QID_PATTERN.match(qid):
        raise UnknownQuestion(f"{qid!r} is not a question id; ids look like '01.matmul'.")
    load_chapter(qid[:2])
    if qid not in _QUESTIONS:
        near = difflib.get_close_matches(qid, list(_QUESTIONS), n=1)
        tip = f" Did you mean {near[0]!r}?" if near else ""
        raise UnknownQuestion(f"There is no question {qid!r}.{tip}")
    return _QUESTIONS[qid]


def chapter_questions(number: str) -> list[Question]:
    """The questions of chapter ``number``, in the order their module defines them."""
    load_chapter(number)
    return [q for q in _QUESTIONS.values() if q.chapter == number]
