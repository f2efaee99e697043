"""Exercises generated from solutions: deterministic, up to date, and never over a learner's work."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib.authoring import (
    BEGIN,
    END,
    AuthoringError,
    build,
    generate_exercise,
    is_edited,
    normalize,
    read_notebook,
    strip_solutions,
    write_text,
)

ROOT = Path(__file__).resolve().parents[1]

SOLUTION_CELL = f'''def mean(x):
    """Mean of x.

    Parameters
    ----------
    x : ndarray, shape (n,)
    """
    {BEGIN}
    total = x.sum()
    return total / len(x)
    {END}'''


def test_strip_keeps_signature_and_docstring():
    out = strip_solutions(SOLUTION_CELL)
    assert out.startswith("def mean(x):") and "x : ndarray, shape (n,)" in out
    assert "total" not in out and BEGIN not in out and END not in out
    assert out.splitlines()[-1] == '    raise NotImplementedError("Replace this line with your solution, then run the check cell below.")'
    namespace: dict = {}
    exec(out, namespace)
    with pytest.raises(NotImplementedError):
        namespace["mean"](None)


def test_strip_handles_several_regions_and_nested_indentation():
    src = f"class A:\n    def f(self):\n        {BEGIN}\n        return 1\n        {END}\n\ndef g():\n    {BEGIN}\n    pass\n    {END}\n"
    out = strip_solutions(src)
    assert out.count("raise NotImplementedError") == 2
    compile(out, "<cell>", "exec")


@pytest.mark.parametrize("src, problem", [
    (f"{BEGIN}\nx = 1\n{END}", "inside a function body"),
    (f"def f():\n    {BEGIN}\n    return 1", "never closed"),
    (f"def f():\n    {END}", "without"),
    (f"def f():\n    {BEGIN}\n    {BEGIN}\n    {END}", "nested"),
])
def test_strip_rejects_broken_markers(src, problem):
    with pytest.raises(AuthoringError, match=problem):
        strip_solutions(src, where="solutions/x.ipynb cell 3")


def _solution_notebook() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell("# Warm-up"),
        new_code_cell("from course_lib import check"),
        new_code_cell(SOLUTION_CELL),
        new_code_cell('check("00.mean", mean)'),
        new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(6 * 7)"),
    ]
    nb = new_notebook(cells=cells)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    cells[1].outputs = [new_output("stream", name="stdout", text="stray\n")]
    cells[1].execution_count = 7
    cells[4].outputs = [new_output("stream", name="stdout", text="42\n")]
    nb.metadata["widgets"] = {"junk": True}
    nb.metadata["kernelspec"] = {"name": "somebody-elses-env", "display_name": "x", "language": "python"}
    return nb


def test_generation_is_deterministic_and_clean():
    nb = _solution_notebook()
    a, b = write_text(generate_exercise(nb, "00_welcome.ipynb")), write_text(generate_exercise(nb, "00_welcome.ipynb"))
    assert a == b
    ex = nbformat.reads(a, as_version=4)
    nbformat.validate(ex)
    assert ex.metadata.kernelspec["name"] == "python3" and "widgets" not in ex.metadata
    assert [c.id for c in ex.cells] == [c.id for c in nb.cells]
    assert ex.cells[1].outputs == [] and ex.cells[1].execution_count is None
    assert ex.cells[4].outputs[0]["text"] == "42\n"  # marked cells keep their output
    assert ex.cells[4].execution_count == 4  # and a count, or nbval would skip them as unrun
    assert "raise NotImplementedError" in ex.cells[2].source
    assert not is_edited(ex)
    ex.cells[2].source = ex.cells[2].source.replace("raise NotImplementedError(", "return 0  # (")
    assert is_edited(ex)


def test_normalize_is_idempotent():
    once = normalize(_solution_notebook())
    assert write_text(normalize(once)) == write_text(once)


@pytest.fixture
def course(tmp_path):
    """A small course tree: one solution notebook."""
    for folder in ("chapters", "solutions", "exercises"):
        (tmp_path / folder).mkdir()
    (tmp_path / "solutions" / "00_welcome.ipynb").write_text(nbformat.writes(_solution_notebook()))
    return tmp_path


def test_build_then_check(course):
    first = build(course, check=True)
    assert not first.ok and "stale: solutions/00_welcome.ipynb" in "\n".join(first.lines)
    done = build(course)
    assert "exercises/00_welcome.ipynb" in done.written
    assert build(course, check=True).ok
    assert build(course).written == []  # a second build changes nothing


def test_build_updates_an_untouched_exercise(course):
    build(course)
    src = course / "solutions" / "00_welcome.ipynb"
    nb = read_notebook(src)
    nb.cells[0].source = "# Warm-up, revised"
    src.write_text(write_text(nb))
    assert not build(course, check=True).ok
    report = build(course)
    assert "exercises/00_welcome.ipynb" in report.written and not report.kept
    assert read_notebook(course / "exercises" / "00_welcome.ipynb").cells[0].source == "# Warm-up, revised"


def test_build_never_destroys_a_learners_work(course):
    build(course)
    exercise = course / "exercises" / "00_welcome.ipynb"
    nb = read_notebook(exercise)
    nb.cells[2].source = nb.cells[2].source.replace(
        'raise NotImplementedError("Replace this line with your solution, then run the check cell below.")',
        "return x.sum() / len(x)  # my answer")
    exercise.write_text(nbformat.writes(nb))
    learner_bytes = exercise.read_bytes()

    # The maintainer changes the solution; the learner runs `course build`.
    src = course / "solutions" / "00_welcome.ipynb"
    sol = read_notebook(src)
    sol.cells[0].source = "# Warm-up, revised"
    src.write_text(write_text(sol))
    report = build(course)

    assert exercise.read_bytes() == learner_bytes, "the learner's notebook must be left exactly as it was"
    beside = course / "exercises" / "00_welcome.updated.ipynb"
    assert beside.exists() and read_notebook(beside).cells[0].source == "# Warm-up, revised"
    assert report.kept == ["exercises/00_welcome.ipynb"]
    assert any("kept your work" in line for line in report.lines)
    assert not build(course, check=True).ok


def test_answers_on_a_current_exercise_are_left_alone_quietly(course):
    build(course)
    exercise = course / "exercises" / "00_welcome.ipynb"
    nb = read_notebook(exercise)
    nb.cells[2].source = nb.cells[2].source.replace(
        'raise NotImplementedError("Replace this line with your solution, then run the check cell below.")',
        "return x.mean()")
    exercise.write_text(nbformat.writes(nb))
    learner_bytes = exercise.read_bytes()
    for check in (False, True):
        report = build(course, check=check)
        assert report.ok and not report.written
        assert any("has your answers and is up to date" in line for line in report.lines)
    assert exercise.read_bytes() == learner_bytes
    assert not (course / "exercises" / "00_welcome.updated.ipynb").exists()


def test_build_reports_broken_markers_with_location(course):
    nb = _solution_notebook()
    nb.cells[2].source = SOLUTION_CELL.replace(f"    {END}", "")
    (course / "solutions" / "00_welcome.ipynb").write_text(nbformat.writes(nb))
    with pytest.raises(AuthoringError, match="00_welcome.ipynb cell 2"):
        build(course)


def test_repository_is_built():
    """The committed course is exactly what `course build` writes (CI runs `course build --check` too)."""
    report = build(ROOT, check=True)
    assert report.ok, "\n".join(report.lines)


def test_copy_of_repository_builds_to_itself(tmp_path):
    for folder in ("chapters", "solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    assert build(tmp_path).written == []
