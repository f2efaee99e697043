"""Bad submissions never crash the grader; each gets a clear result.

Three levels: ``run_check`` in this process, every corpus entry in one notebook run by
the grader (results read cell by cell), and the entries that break the notebook itself
(``os._exit``, deleting ``check`` ...) each in a notebook of its own through ``course grade``.
"""
from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from bad_submissions import CORPUS
from course_lib.authoring import KERNELSPEC
from course_lib.grading.check import run_check
from course_lib.grading.feedback import FAILED, PASSED, RESULT_MIME
from course_lib.grading.runner import chapter_of, collect, execute, grade_notebook
from course_lib.grading.registry import chapter_questions

QID = "01.matmul"
FUNCTION_LEVEL = [b for b in CORPUS if b.level == "function"]
CELL_LEVEL = [b for b in CORPUS if b.level == "cell"]


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 15
    assert len({b.name for b in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("bad", FUNCTION_LEVEL, ids=lambda b: b.name)
def test_run_check_gives_a_clear_failure(bad):
    namespace: dict = {}
    exec(bad.code, namespace)
    result = run_check(QID, namespace["matmul"])
    assert result.status == bad.status, str(result)
    assert bad.message.lower() in f"{result.message} {result.hint}".lower(), str(result)
    assert result.points == (0 if bad.status == FAILED else 1)


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell("from course_lib import check")] + [new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    return nb


@pytest.mark.slow
def test_whole_corpus_in_one_kernel(tmp_path):
    """Every function-level entry, each followed by its check, in one notebook."""
    cells = []
    for bad in FUNCTION_LEVEL:
        cells += [bad.code, f'check("{QID}", matmul)']
    cells.append("def matmul(A, B):\n    return A @ B")
    cells.append(f'check("{QID}", matmul)')  # the kernel survived everything above
    nb = _notebook(*cells)
    died, startup = execute(nb, tmp_path, cell_timeout=60)
    assert died is None and startup is None
    check_cells = [c for c in nb.cells if c.source.startswith("check(")]
    results = []
    for cell in check_cells:
        shown = [o["data"][RESULT_MIME] for o in cell.outputs if RESULT_MIME in o.get("data", {})]
        assert len(shown) == 1, cell.outputs
        results.append(shown[0])
    for bad, result in zip(FUNCTION_LEVEL, results):
        assert result["status"] == bad.status, (bad.name, result)
        assert bad.message.lower() in f"{result['message']} {result['hint']}".lower(), (bad.name, result)
    assert results[-1]["status"] == PASSED
    # The megabytes a learner printed do not reach the notebook: check() captured them.
    sizes = [sum(len(o.get("text", "")) for o in c.outputs) for c in nb.cells]
    assert max(sizes) < 100_000


@pytest.mark.slow
@pytest.mark.parametrize("bad", CELL_LEVEL, ids=lambda b: b.name)
def test_notebook_breaking_submissions_are_graded(bad, tmp_path):
    path = tmp_path / "01_linear_algebra.ipynb"
    nb = _notebook(bad.code, f'check("{QID}", matmul)')
    path.write_text(nbformat.writes(nb))
    before = path.read_bytes()
    run = grade_notebook(path, "01", cell_timeout=5)
    assert path.read_bytes() == before, "the grader must never write to the learner's file"
    result = next(r for r in run.results if r.qid == QID)
    assert result.status == FAILED
    assert bad.message.lower() in result.message.lower(), result.message
    others = [r for r in run.results if r.qid != QID]
    assert all(r.status == FAILED and "check(" in r.message for r in others)
    if bad.name == "top_level_infinite_loop":
        assert any(p.ename == "CellTimeoutError" for p in run.problems)


@pytest.mark.slow
def test_course_grade_cli_on_a_broken_notebook(tmp_path):
    """The command itself: table printed, JSON written, exit 1 for --expect full, no traceback."""
    path = tmp_path / "01_linear_algebra.ipynb"
    nb = _notebook("def matmul(A, B):\n    return B @ A", f'check("{QID}", matmul)', "import os\nos._exit(1)")
    path.write_text(nbformat.writes(nb))
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "course_lib", "grade", str(path), "--json", str(out), "--expect", "full",
         "--no-record", "--timeout", "30"],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert QID in proc.stdout and "failed" in proc.stdout
    data = json.loads(out.read_text())
    questions = {q["qid"]: q for q in data["notebooks"][0]["questions"]}
    assert questions[QID]["status"] == FAILED
    assert data["notebooks"][0]["kernel_died_at"] == 3


def test_collect_explains_missing_results():
    nb = _notebook("x = 1")
    results, problems = collect(nb, chapter_questions("01"), None, None)
    assert results and all(r.status == FAILED for r in results)
    assert all("no cell calling check" in r.message for r in results)
    assert chapter_of(nb, "mine.ipynb") is None
