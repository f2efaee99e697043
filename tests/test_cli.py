"""The `course` command: wrong use is one clear line and a non-zero exit, never a traceback;
grading never writes to the learner's file; progress reflects the last grading; the course
folder is the one the command is run in, and the command says which it uses."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.authoring import KERNELSPEC
from course_lib.cli import main
from course_lib.course import locate_course_root
from course_lib.grading.report import progress_table

ROOT = Path(__file__).resolve().parents[1]


def run_course(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "course_lib", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=env)


@pytest.mark.parametrize("args, message", [
    (["grade", "no/such/file.ipynb"], "no such file"),
    (["grade", "99"], "unknown chapter"),
    (["grade", "README.md"], "not a notebook"),
    (["grade", "tests"], "holds no course notebooks"),
    (["record", "exercises/01_linear_algebra.ipynb"], "never a learner's exercises"),
])
def test_wrong_use_is_one_clear_line(args, message, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("course folder: ")  # every command first says where it works
    err = "\n".join(lines[1:])
    assert message in err and len(lines) == 2 and "Traceback" not in err


@pytest.mark.parametrize("content, message", [
    ('{"cells": [', "not valid notebook JSON"),
    ('[1, 2, 3]', "not a notebook"),
    ('{"cells": "nope", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "not a valid notebook"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
])
def test_corrupt_notebooks(tmp_path, content, message, capsys):
    path = tmp_path / "01_linear_algebra.ipynb"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["grade", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "build" in capsys.readouterr().out


def test_entry_points_exist():
    proc = run_course("--help")
    assert proc.returncode == 0 and "grade" in proc.stdout
    course = Path(sys.executable).with_name("course")
    assert course.exists(), "the console script `course` is installed with the package"


# -- which course folder ------------------------------------------------------------------------
def test_the_current_directory_wins_over_the_install_location(tmp_path, monkeypatch):
    """A .venv made in another checkout must not grade that checkout's files."""
    monkeypatch.delenv("COURSE_ROOT", raising=False)
    (tmp_path / "chapters").mkdir()
    (tmp_path / "exercises").mkdir()
    assert locate_course_root(tmp_path) == (tmp_path.resolve(), "the current directory")
    # From a folder inside the course, the nearest parent with chapters/.
    assert locate_course_root(tmp_path / "exercises") == (tmp_path.resolve(), "a parent of the current directory")
    # Outside any course: the checkout this package was installed from.
    outside = tmp_path / "elsewhere"
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "chapters").rmdir()
    root, why = locate_course_root(outside)
    assert root == ROOT and "installed" in why
    monkeypatch.setenv("COURSE_ROOT", str(outside))
    assert locate_course_root(tmp_path) == (outside.resolve(), "COURSE_ROOT")


def test_the_command_uses_and_names_the_folder_it_is_run_in(tmp_path):
    (tmp_path / "chapters").mkdir()
    env = {k: v for k, v in __import__("os").environ.items() if k != "COURSE_ROOT"}
    proc = run_course("grade", "01", "--no-record", cwd=tmp_path, env=env)
    assert f"course folder: {tmp_path.resolve()} (the current directory)" in proc.stderr
    # Chapter 01 resolves to THIS folder's exercises (absent here), not the installed checkout's.
    assert proc.returncode == 2 and str(tmp_path.resolve() / "exercises") in proc.stderr, proc.stderr
    assert str(ROOT / "exercises") not in proc.stderr


def _learner_notebook(path: Path, body: str) -> None:
    nb = new_notebook(cells=[new_code_cell("from course_lib import check"), new_code_cell(body),
                             new_code_cell('check("01.matmul", matmul)')])
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    path.write_text(nbformat.writes(nb))


@pytest.mark.slow
def test_grade_records_progress_and_leaves_the_file_alone(tmp_path):
    course = tmp_path / "course"
    (course / "exercises").mkdir(parents=True)
    (course / "chapters").mkdir()
    path = course / "exercises" / "01_linear_algebra.ipynb"
    _learner_notebook(path, "def matmul(A, B):\n    return A @ B")
    before = path.read_bytes()
    env = {**__import__("os").environ, "COURSE_ROOT": str(course)}
    proc = run_course("grade", "exercises", "--json", "out/report.json", cwd=course, env=env)
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == before
    assert "01.matmul" in proc.stdout and "passed" in proc.stdout
    report = json.loads((course / "out" / "report.json").read_text())
    statuses = {q["qid"]: q["status"] for q in report["notebooks"][0]["questions"]}
    assert statuses["01.matmul"] == "passed" and list(statuses.values()).count("passed") == 1
    table = progress_table(course)
    line = next(l for l in table.splitlines() if l.startswith("01 "))
    assert "1/" in line and "never" not in line
    # --expect full fails because the chapter's other questions were not answered.
    proc = run_course("grade", "exercises", "--expect", "full", "--no-record", cwd=course, env=env)
    assert proc.returncode == 1 and "not met" in proc.stderr


@pytest.mark.slow
def test_solutions_are_not_recorded_as_progress(tmp_path):
    from course_lib.grading.report import record_progress
    from course_lib.grading.runner import NotebookRun

    (tmp_path / "solutions").mkdir()
    run = NotebookRun(str(tmp_path / "solutions" / "01_linear_algebra.ipynb"), "01", [])
    path = record_progress([run], tmp_path)
    assert json.loads(path.read_text())["notebooks"] == {}


def test_progress_ignores_questions_removed_since_the_last_grading(tmp_path):
    """A learner graded before a question was retired: it must not count, nor push passed past total."""
    from course_lib.grading.registry import chapter_questions
    from course_lib.grading.report import progress_path

    qids = [q.qid for q in chapter_questions("03")]
    questions = [{"qid": q, "status": "passed"} for q in qids[:2]]
    questions += [{"qid": "03.retired_question", "status": "passed"}]
    path = progress_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"notebooks": {"x": {"chapter": "03", "graded_at": "2026-01-01 00:00",
                                                    "questions": questions}}}))
    line = next(l for l in progress_table(tmp_path).splitlines() if l.startswith("03 "))
    assert f"2/{len(qids)}" in line
