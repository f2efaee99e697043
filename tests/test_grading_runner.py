"""The notebook grader's trust and hygiene: only results check() produced in this run count (a
forged bundle changes nothing), points are capped, Ctrl-C inside a kernel stops the cell after
the result is shown, and no kernel outlives the grader (no "Parent appears to have exited")."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from course_lib.authoring import KERNELSPEC
from course_lib.grading import seal
from course_lib.grading.feedback import FAILED, PASSED, RESULT_MIME, CheckResult
from course_lib.grading.registry import chapter_questions
from course_lib.grading.report import notebook_table
from course_lib.grading.runner import collect, execute, grade_notebook

QID = "01.matmul"
WRONG = "def matmul(A, B):\n    return B @ A"
RIGHT = "def matmul(A, B):\n    return A @ B"


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell("from course_lib import check")] + [new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    return nb


def _forged_display(points: float, *, hmac: str | None = None, how: str = "raw") -> str:
    """A cell that displays the grader's mime type by hand, claiming a pass."""
    payload = CheckResult(QID, "Matrix product C = AB", PASSED, points, points, message="All checks passed.").to_json()
    if hmac is not None:
        payload["hmac"] = hmac
    if how == "object":  # a CheckResult displayed by hand
        return ("from course_lib.grading.feedback import CheckResult\n"
                f"display(CheckResult.from_json({payload!r}))")
    return ("from IPython.display import display\n"
            f"display({{{RESULT_MIME!r}: {payload!r}, 'text/plain': 'passed'}}, raw=True)")


def _grade(tmp_path: Path, name: str, *sources: str):
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "01_linear_algebra.ipynb"
    path.write_text(nbformat.writes(_notebook(*sources)))
    # One seed for both gradings, so that the genuine results are identical word for word.
    run = grade_notebook(path, "01", cell_timeout=60, env={**os.environ, "COURSE_SEED": "2024"})
    return run, [r.to_json() for r in run.results]


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["overrides_a_failure", "points_1000", "fake_hmac", "result_object"])
def test_a_forged_bundle_grades_exactly_as_without_it(tmp_path, variant):
    answer, forged = {
        "overrides_a_failure": (WRONG, _forged_display(100)),
        "points_1000": (RIGHT, _forged_display(1000)),
        "fake_hmac": (WRONG, _forged_display(1, hmac="0" * 64)),
        "result_object": (WRONG, _forged_display(1, how="object")),
    }[variant]
    honest_run, honest = _grade(tmp_path, "honest", answer, f'check("{QID}", matmul)')
    forged_run, with_forgery = _grade(tmp_path, "forged", answer, f'check("{QID}", matmul)', forged)
    assert with_forgery == honest
    assert (forged_run.points, forged_run.max_points) == (honest_run.points, honest_run.max_points)
    matmul = next(r for r in forged_run.results if r.qid == QID)
    assert matmul.status == (PASSED if answer == RIGHT else FAILED) and matmul.points <= 1
    # The forged display is reported (a bundle typed by hand; objects shown by hand carry no mime type).
    assert forged_run.ignored == ([] if variant == "result_object" else [3])
    assert honest_run.ignored == [] and not forged_run.problems
    if forged_run.ignored:
        assert "! ignored: cell(s) 3" in notebook_table(forged_run)


def _sealed_output(key: bytes, **fields) -> nbformat.NotebookNode:
    payload = json.loads(json.dumps(CheckResult(**{"title": "t", "max_points": 1, "points": 0, **fields}).to_json()))
    payload[seal.SIGNATURE_FIELD] = seal.signature(payload, key)
    return new_output("display_data", data={RESULT_MIME: payload, "text/plain": ""})


def test_collect_keeps_the_last_sealed_result_and_caps_its_points():
    """Even a validly sealed result cannot score more than its question's points."""
    key = seal.new_key()
    nb = _notebook(f'check("{QID}", matmul)', 'check("01.det2x2", det2x2)', 'check("02.chain_rule", f)')
    nb.cells[1].outputs = [_sealed_output(key, qid=QID, status=PASSED, points=1000, max_points=1000)]
    nb.cells[2].outputs = [_sealed_output(key, qid="01.det2x2", status=PASSED, points=1),
                           _sealed_output(key, qid="01.det2x2", status=FAILED, points=1)]  # the last one wins
    nb.cells[3].outputs = [_sealed_output(key, qid="02.chain_rule", status=PASSED, points=1)]  # not chapter 01
    ignored: list[int] = []
    results, _ = collect(nb, chapter_questions("01"), None, None, key=key, ignored=ignored)
    by_qid = {r.qid: r for r in results}
    assert (by_qid[QID].status, by_qid[QID].points, by_qid[QID].max_points) == (PASSED, 1, 1)
    assert (by_qid["01.det2x2"].status, by_qid["01.det2x2"].points) == (FAILED, 0)
    assert "02.chain_rule" not in by_qid and sum(r.points for r in results) == 1 and ignored == []
    # Without the run's key, nothing counts.
    results, _ = collect(nb, chapter_questions("01"), None, None, key=seal.new_key(), ignored=ignored)
    assert sum(r.points for r in results) == 0 and ignored == [1, 2, 2, 3]


@pytest.mark.slow
def test_an_interrupt_in_the_kernel_stops_the_cell_after_reporting(tmp_path):
    """nbclient's cell time limit interrupts the kernel (SIGINT), as Ctrl-C does: check() shows
    "interrupted" and re-raises, so the cell ends with the interrupt; grading goes on."""
    slow = "import time\ndef matmul(A, B):\n    time.sleep(60)\n    return A @ B"
    path = tmp_path / "01_linear_algebra.ipynb"
    path.write_text(nbformat.writes(_notebook(
        slow, f'check("{QID}", matmul)\nprint("after check")',
        "def det2x2(A):\n    return A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]", 'check("01.det2x2", det2x2)')))
    run = grade_notebook(path, "01", cell_timeout=4)
    by_qid = {r.qid: r for r in run.results}
    assert by_qid[QID].status == FAILED and "interrupted" in by_qid[QID].message
    assert [p.ename for p in run.problems] == ["CellTimeoutError"]
    assert by_qid["01.det2x2"].status == PASSED  # the grader ran on


def test_a_learner_interrupt_raises_in_the_check_cell(tmp_path):
    """In JupyterLab an error stops "Run All": the check cell shows its result AND ends with KeyboardInterrupt."""
    nb = _notebook("def matmul(A, B):\n    raise KeyboardInterrupt", f'check("{QID}", matmul)\nprint("not reached")')
    died, startup = execute(nb, tmp_path, cell_timeout=60, key=seal.new_key())
    assert died is None and startup is None
    outputs = nb.cells[2].outputs
    assert any(RESULT_MIME in o.get("data", {}) for o in outputs)
    assert [o.ename for o in outputs if o.output_type == "error"] == ["KeyboardInterrupt"]
    assert not any("not reached" in o.get("text", "") for o in outputs)


@pytest.mark.slow
def test_the_key_is_gone_before_the_first_cell_runs(tmp_path):
    """The kernel takes the key at start-up: the first cell finds neither the variable nor the
    file, and the start-up line bound no name in the notebook's namespace."""
    probe = new_code_cell(
        "import os, glob\n"
        f"print('env', os.environ.get({seal.KEY_FILE_ENV!r}))\n"
        "print('files', glob.glob('/tmp/course-kernel-*/grader.key'))\n"
        "print('names', sorted(n for n in dir() if not n.startswith('_') and n not in ('In', 'Out', 'exit', "
        "'quit', 'get_ipython', 'os', 'glob')))")
    nb = new_notebook(cells=[probe])
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    probe.id = "probe"
    assert execute(nb, tmp_path, cell_timeout=60, key=seal.new_key()) == (None, None)
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    names = next(line for line in text.splitlines() if line.startswith("names"))
    assert "env None" in text and "course_lib" not in names and "seal" not in names, text
    mine = [line for line in text.splitlines() if line.startswith("files")]
    assert mine == ["files []"] or "grader.key" not in mine[0], text


def _live_children() -> list[str]:
    """Command lines of this process's children that are still running (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                found.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_kernel_is_shut_down_before_execute_returns(tmp_path):
    nb = _notebook("x = 1")
    assert execute(nb, tmp_path, cell_timeout=60) == (None, None)
    assert not [c for c in _live_children() if "ipykernel" in c]


@pytest.mark.slow
def test_course_grade_prints_no_stray_kernel_warning(tmp_path):
    """A kernel left running would print "[IPKernelApp] WARNING | Parent appears to have exited"
    when the grader ends; the pipes below stay open until every such kernel has exited too."""
    for name in ("00_welcome.ipynb", "01_linear_algebra.ipynb"):
        (tmp_path / name).write_text(nbformat.writes(_notebook(RIGHT, f'check("{QID}", matmul)')))
    proc = subprocess.run([sys.executable, "-m", "course_lib", "grade", str(tmp_path), "--no-record"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Parent appears to have exited" not in proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
