"""The contract every chapter's graded questions meet, as tests a chapter's module reuses.

A chapter's ``tests/test_checks_chNN.py`` defines

    CORRECT = {qid: (reference, [other correct implementations], hard_coded_answer)}
    WRONG = {qid: [(plausible_wrong_answer, word_its_hint_must_contain), ...]}

and ends with ``globals().update(contract_tests("NN", CORRECT, WRONG, seeds=[...]))``,
which adds the five tests below (pytest collects them from the module's globals):
every question is covered; the reference and every alternative pass on each seed; the
stub is "not attempted"; a hard-coded answer fails; each wrong answer fails with its hint.
"""
from __future__ import annotations

import pytest

from course_lib.grading import run_check
from course_lib.grading.registry import chapter_questions


def stub(*args, **kwargs):
    raise NotImplementedError("Replace this line with your solution, then run the check cell below.")


def contract_tests(chapter: str, correct: dict, wrong: dict, seeds: list[int],
                   wrong_seeds: list[int] | None = None, hard_coded_seeds: list[int] | None = None,
                   min_questions: int = 8) -> dict:
    wrong_seeds = wrong_seeds or seeds[:3]
    hard_coded_seeds = hard_coded_seeds or seeds[:1]
    wrong_cases = [(qid, i) for qid in sorted(wrong) for i in range(len(wrong[qid]))]

    def test_every_question_is_covered():
        ids = [q.qid for q in chapter_questions(chapter)]
        assert len(ids) >= min_questions
        assert set(ids) == set(correct) == set(wrong)

    @pytest.mark.parametrize("seed", seeds)
    @pytest.mark.parametrize("qid", sorted(correct))
    def test_reference_and_alternatives_pass(qid, seed, monkeypatch):
        monkeypatch.setenv("COURSE_SEED", str(seed))
        reference, alternatives, _ = correct[qid]
        for answer in [reference, *alternatives]:
            result = run_check(qid, answer)
            assert result.status == "passed", (qid, seed, str(result))

    @pytest.mark.parametrize("qid", sorted(correct))
    def test_stub_is_not_attempted(qid):
        assert run_check(qid, stub).status == "not attempted"

    @pytest.mark.parametrize("seed", hard_coded_seeds)
    @pytest.mark.parametrize("qid", sorted(correct))
    def test_hard_coded_answer_fails(qid, seed, monkeypatch):
        monkeypatch.setenv("COURSE_SEED", str(seed))
        result = run_check(qid, correct[qid][2])
        assert result.status == "failed" and result.points == 0, (qid, str(result))

    @pytest.mark.parametrize("seed", wrong_seeds)
    @pytest.mark.parametrize("qid,index", wrong_cases)
    def test_wrong_answer_gets_its_hint(qid, index, seed, monkeypatch):
        monkeypatch.setenv("COURSE_SEED", str(seed))
        answer, word = wrong[qid][index]
        result = run_check(qid, answer)
        assert result.status == "failed", (qid, index)
        assert word in (result.hint or "") + result.message, (qid, index, str(result))

    return {name: value for name, value in locals().items() if name.startswith("test_")}
