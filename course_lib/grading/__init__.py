"""Checking answers in a notebook, and grading whole notebooks.

- :mod:`feedback`  the result of one check and how it is shown
- :mod:`compare`   comparing an answer with the reference, with hints
- :mod:`tester`    what a question's checks receive; safe calls into learner code
- :mod:`registry`  questions by id, one checks module per chapter
- :mod:`check`     ``check(qid, submission)``
- :mod:`seal`      the per-run key and HMAC that make a displayed result one the grader trusts
- :mod:`runner`    executing a notebook in a fresh kernel and collecting its results
- :mod:`report`    score tables, JSON, and the progress record
"""
from course_lib.grading.check import check, run_check
from course_lib.grading.registry import question
from course_lib.grading.tester import Tester

__all__ = ["check", "run_check", "question", "Tester"]
