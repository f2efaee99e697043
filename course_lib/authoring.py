"""Exercises generated from solutions: one source of truth per exercise notebook.

``solutions/NN_slug.ipynb`` is what a maintainer edits. Inside a function body, the
lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are the worked answer;
:func:`strip_solutions` replaces them with ``raise NotImplementedError(...)`` at the same
indentation, so the generated ``exercises/NN_slug.ipynb`` keeps every signature and
docstring (the convention of nbgrader, without its database).

Generation is deterministic: cell ids are the solution's, the kernelspec is fixed,
metadata is reduced to what the course needs, and outputs are kept only in cells
marked ``# NBVAL_CHECK_OUTPUT`` (nbval compares those in CI). The same normalization is
applied to chapters and solutions, so ``course build --check`` can tell when anything
committed differs from what the build would write.

A learner's work is never destroyed. Each generated exercise records a hash of its
cells' sources in ``metadata.course.sources_sha256``; if the file on disk no longer
matches its own hash, a learner (or a maintainer) has edited it, and the build leaves
it alone and writes the new version beside it as ``NN_slug.updated.ipynb``.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_lib.course import CHAPTERS

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CHECK_OUTPUT_MARK = "# NBVAL_CHECK_OUTPUT"
STUB_MESSAGE = "Replace this line with your solution, then run the check cell below."
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_SLUGS = {c.slug for c in CHAPTERS}


class AuthoringError(ValueError):
    """A source notebook breaks an authoring rule (the message says which and where)."""


class NotebookError(ValueError):
    """A path that is not a readable notebook."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook, with one clear line for every way it can be wrong."""
    path = Path(path)
    if not path.exists():
        raise NotebookError(f"no such file: {path}")
    if path.is_dir():
        raise NotebookError(f"{path} is a folder, not a notebook")
    if path.suffix != ".ipynb":
        raise NotebookError(f"{path} is not a notebook (expected a .ipynb file)")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise NotebookError(f"{path} is not a notebook: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{path} is not valid notebook JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise NotebookError(f"{path} is JSON but not a notebook (it has no cells)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotebookError(f"{path} is not a valid notebook ({first})") from None
    return nb


def write_text(nb: nbformat.NotebookNode) -> str:
    """The exact bytes the course writes for a notebook (sorted keys, one-space indent)."""
    return nbformat.writes(nb, version=4) + "\n"


# -- solution regions ------------------------------------------------------------------
def strip_solutions(source: str, where: str = "") -> str:
    """Replace each ``### BEGIN SOLUTION`` .. ``### END SOLUTION`` region with a stub.

    The stub is ``raise NotImplementedError(...)`` indented like the BEGIN marker.
    Regions must sit inside a function body (indented), so that the exercise still runs
    top to bottom; unbalanced or nested markers are errors.
    """
    out, inside, indent = [], False, ""
    for lineno, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise AuthoringError(f"{where} line {lineno}: nested {BEGIN}")
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                raise AuthoringError(f"{where} line {lineno}: {BEGIN} must be inside a function body "
                                     "(indented), so the exercise still runs before it is solved")
            inside = True
            out.append(f'{indent}raise NotImplementedError("{STUB_MESSAGE}")')
        elif stripped.startswith(END):
            if not inside:
                raise AuthoringError(f"{where} line {lineno}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise AuthoringError(f"{where}: {BEGIN} is never closed")
    return "\n".join(out)


def has_solution(source: str) -> bool:
    return BEGIN in source


# -- normalization ---------------------------------------------------------------------
def _keeps_output(cell) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK_OUTPUT_MARK)


def normalize(nb: nbformat.NotebookNode, extra_metadata: dict | None = None) -> nbformat.NotebookNode:
    """A copy of ``nb`` in the course's canonical form (see the module docstring)."""
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.from_dict({"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"},
                                      **(extra_metadata or {})})
    seen: set[str] = set()
    code_index = 0
    for index, cell in enumerate(nb.cells):
        if not cell.get("id") or cell.id in seen:
            cell.id = f"cell-{index:03d}"
        seen.add(cell.id)
        cell.metadata = nbformat.from_dict({k: v for k, v in cell.metadata.items() if k == "tags"})
        if cell.cell_type == "code":
            code_index += 1
            cell.execution_count = None
            if _keeps_output(cell) and cell.outputs:
                # nbval skips a cell with no execution count ("unrun") and then fails on its stored
                # outputs, so a kept output gets a count: its position among the code cells.
                cell.execution_count = code_index
                for output in cell.outputs:
                    if "metadata" in output:
                        output.metadata = {}
                    if output.get("output_type") == "execute_result":
                        output.execution_count = code_index
            else:
                cell.outputs = []
        if "attachments" in cell and not cell.attachments:
            del cell["attachments"]
    return nb


def sources_sha256(nb: nbformat.NotebookNode) -> str:
    """Hash of what a learner writes: each cell's type and source."""
    payload = json.dumps([[c.cell_type, c.source] for c in nb.cells], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def generate_exercise(solution: nbformat.NotebookNode, solution_name: str) -> nbformat.NotebookNode:
    """The exercise notebook for a (normalized) solution notebook."""
    nb = normalize(solution)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and has_solution(cell.source):
            cell.source = strip_solutions(cell.source, where=f"{solution_name} cell {index} ({cell.id})")
            cell.outputs = []
    nb.metadata["course"] = {"generated_from": f"solutions/{solution_name}", "sources_sha256": sources_sha256(nb)}
    return nb


def is_edited(nb: nbformat.NotebookNode) -> bool:
    """True when a generated notebook's cell sources differ from the ones it was written with."""
    recorded = nb.metadata.get("course", {}).get("sources_sha256")
    return recorded != sources_sha256(nb)


# -- the build -------------------------------------------------------------------------
@dataclass
class BuildReport:
    written: list[str] = field(default_factory=list)  # files (re)written
    stale: list[str] = field(default_factory=list)  # files that differ (check mode)
    kept: list[str] = field(default_factory=list)  # learner-edited files left alone
    lines: list[str] = field(default_factory=list)  # what to print

    @property
    def ok(self) -> bool:
        return not self.stale and not self.kept


def course_notebooks(folder: Path) -> list[Path]:
    """The notebooks in ``folder`` named for a chapter (``NN_slug.ipynb``), sorted."""
    return sorted(p for p in folder.glob("*.ipynb") if p.stem in _SLUGS)


def build(root: Path, check: bool = False) -> BuildReport:
    """Normalize chapters/ and solutions/, and generate exercises/ from solutions/.

    With ``check=True`` nothing is written; the report lists what differs.
    """
    root = Path(root)
    report = BuildReport()
    rel = lambda p: str(p.relative_to(root))  # noqa: E731

    def settle(path: Path, text: str, what: str) -> None:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            return
        if check:
            report.stale.append(rel(path))
            report.lines.append(f"stale: {rel(path)} ({what}; run `course build`)")
        else:
            path.write_text(text, encoding="utf-8")
            report.written.append(rel(path))
            report.lines.append(f"wrote {rel(path)} ({what})")

    for folder in ("chapters", "solutions"):
        for path in course_notebooks(root / folder):
            settle(path, write_text(normalize(read_notebook(path))), "normalized")

    (root / "exercises").mkdir(exist_ok=True)
    for path in course_notebooks(root / "solutions"):
        exercise = generate_exercise(read_notebook(path), path.name)
        target = root / "exercises" / path.name
        text = write_text(exercise)
        if target.exists() and target.read_text(encoding="utf-8") != text:
            try:
                current = read_notebook(target)
                edited = is_edited(current)
                recorded = current.metadata.get("course", {}).get("sources_sha256")
            except NotebookError:
                edited, recorded = True, None
            if edited and recorded == exercise.metadata["course"]["sources_sha256"]:
                # The learner's answers on top of the exercise as it is now: nothing newer to offer.
                report.lines.append(f"{rel(target)} has your answers and is up to date")
                continue
            if edited:
                beside = target.with_name(f"{target.stem}.updated.ipynb")
                report.kept.append(rel(target))
                if check:
                    report.lines.append(f"edited: {rel(target)} differs from what solutions/{path.name} "
                                        "generates, and has edits of its own (a learner's answers?)")
                else:
                    beside.write_text(text, encoding="utf-8")
                    report.lines.append(
                        f"kept your work: {rel(target)} has edits, so it was left unchanged; the new "
                        f"version is in {rel(beside)} (copy your answers across, or move your file "
                        "away and run `course build` again)")
                continue
        settle(target, text, f"generated from solutions/{path.name}")
    if not report.lines:
        report.lines.append("everything is up to date")
    return report

