"""Execute a notebook in a fresh kernel and read back the results of its checks.

The learner's file is read, never written: execution happens on an in-memory copy
(nbclient), in the notebook's own folder. Every ``check(...)`` call displays its result
with the mime type :data:`~course_lib.grading.feedback.RESULT_MIME`; the grader reads
those outputs back, so it needs no side channel and keeps every result reached even if
the kernel later dies (``os._exit``, a segfault, memory).

A question with no result is still reported, with the reason: its check cell raised
(the error is named), its cell timed out, the kernel died before reaching it, or no
``check("NN.name", ...)`` call for it ran (for example because ``check`` was deleted or
rebound).
"""
from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_lib.grading.feedback import FAILED, RESULT_MIME, CheckResult
from course_lib.grading.registry import Question, chapter_questions

CHECK_CALL = re.compile(r"""check\(\s*["'](\d\d\.[a-z][a-z0-9_]*)["']""")
TIMEOUT_ENAME = "CellTimeoutError"
OUTPUT_LIMIT = 200_000  # characters of stream output kept per cell; the rest is dropped


@dataclass
class CellProblem:
    index: int
    ename: str
    evalue: str


@dataclass
class NotebookRun:
    """What executing one notebook produced."""

    path: str
    chapter: str
    results: list[CheckResult]
    problems: list[CellProblem] = field(default_factory=list)
    kernel_died_at: int | None = None
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.results)


def execute(nb: nbformat.NotebookNode, cwd: Path, cell_timeout: float, env: dict | None = None):
    """Run ``nb`` (in place) in a fresh ``python3`` kernel.

    Returns ``(index of the cell where the kernel died or None, startup error or None)``.
    Cell errors do not stop execution; a cell over ``cell_timeout`` seconds is
    interrupted and recorded as a ``CellTimeoutError`` output.
    """
    import tempfile

    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    # IPC sockets in a private folder: nothing listens on TCP, and nothing lands in the
    # learner's folder.
    ipc_dir = tempfile.mkdtemp(prefix="course-kernel-")
    km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(ipc_dir, "kernel"))
    client = NotebookClient(
        nb,
        km=km,
        timeout=cell_timeout,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "stopped", "traceback": []},
        record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    current = {"index": None}
    timed_out: list[int] = []

    def on_cell_start(cell, cell_index, **_):
        current["index"] = cell_index

    def on_cell_executed(cell, cell_index, execute_reply, **_):
        if execute_reply.get("content", {}).get("ename") == TIMEOUT_ENAME:
            timed_out.append(cell_index)

    client.on_cell_start = on_cell_start
    client.on_cell_executed = on_cell_executed
    kernel_env = dict(os.environ if env is None else env)
    try:
        client.execute(env=kernel_env)
    except DeadKernelError:
        return current["index"] if current["index"] is not None else 0, None
    except Exception as exc:  # a kernel that cannot start, a broken environment
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(ipc_dir, ignore_errors=True)
        _mark_timeouts(nb, timed_out, cell_timeout)
    return None, None


def _mark_timeouts(nb: nbformat.NotebookNode, indices: list[int], cell_timeout: float) -> None:
    """Replace the KeyboardInterrupt that stopping a cell leaves with an error that says why."""
    for index in indices:
        cell = nb.cells[index]
        cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "error"
                                                        and o.get("ename") == "KeyboardInterrupt")]
        cell.outputs.append(nbformat.v4.new_output(
            "error", ename=TIMEOUT_ENAME, traceback=[],
            evalue=f"the cell ran longer than {cell_timeout:g} s and was stopped"))


def _cap_outputs(cell) -> None:
    """Keep a learner's megabytes of printing from filling the grader's memory and JSON."""
    total = 0
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            text = output.get("text", "")
            if total + len(text) > OUTPUT_LIMIT:
                output["text"] = text[: max(0, OUTPUT_LIMIT - total)] + "\n[... output cut by the grader ...]\n"
            total += len(text)


def collect(nb: nbformat.NotebookNode, questions: list[Question], kernel_died_at: int | None,
            startup_error: str | None) -> tuple[list[CheckResult], list[CellProblem]]:
    """One result per question, in the chapter's order, from an executed notebook."""
    found: dict[str, CheckResult] = {}
    reasons: dict[str, str] = {}
    problems: list[CellProblem] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        _cap_outputs(cell)
        qids = CHECK_CALL.findall(cell.source)
        error = None
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if output.get("output_type") in ("display_data", "execute_result") and RESULT_MIME in data:
                try:
                    result = CheckResult.from_json(dict(data[RESULT_MIME]))
                except Exception:
                    continue
                found[result.qid] = result
            if output.get("output_type") == "error":
                error = CellProblem(index, output.get("ename", "Error"), str(output.get("evalue", ""))[:300])
        earlier = problems[-1] if problems else None
        if error and error.ename != "CheckFailedError":
            problems.append(error)
        for qid in qids:
            if qid in found:
                continue
            if error and earlier and error.ename == "NameError":
                # The usual chain: an earlier cell failed, so the function was never defined.
                what = "was stopped" if earlier.ename == TIMEOUT_ENAME else f"raised {earlier.ename}"
                reasons[qid] = (f"Not checked: the check cell (cell {index}) raised NameError: {error.evalue}, "
                                f"probably because cell {earlier.index} {what}.")
            elif kernel_died_at is not None and index >= kernel_died_at:
                reasons[qid] = (f"Not reached: the kernel died while running cell {kernel_died_at} "
                                "(os._exit(), a crash, or running out of memory).")
            elif error and error.ename == TIMEOUT_ENAME:
                reasons[qid] = f"Not checked: cell {index} was stopped ({error.evalue})."
            elif error:
                reasons[qid] = f"Not checked: the check cell (cell {index}) raised {error.ename}: {error.evalue}"
            elif kernel_died_at is None and startup_error is None:
                reasons[qid] = (f"Not checked: the check cell (cell {index}) ran but reported no result "
                                "(was `check` deleted or rebound?).")
    results = []
    for q in questions:
        if q.qid in found:
            results.append(found[q.qid])
            continue
        if startup_error:
            reason = f"Not checked: the notebook could not be run ({startup_error})."
        else:
            reason = reasons.get(q.qid, f'Not checked: the notebook has no cell calling check("{q.qid}", ...).')
        results.append(CheckResult(q.qid, q.title, FAILED, 0, q.points, message=reason))
    return results, problems


def grade_notebook(path: Path, chapter: str, cell_timeout: float = 60.0, env: dict | None = None) -> NotebookRun:
    """Execute the notebook at ``path`` (read-only) and grade chapter ``chapter``'s questions."""
    from course_lib.authoring import read_notebook

    path = Path(path)
    nb = read_notebook(path)
    questions = chapter_questions(chapter)
    start = time.monotonic()
    died_at, startup_error = execute(nb, path.resolve().parent, cell_timeout, env)
    results, problems = collect(nb, questions, died_at, startup_error)
    if startup_error:
        problems.append(CellProblem(-1, "KernelError", startup_error))
    return NotebookRun(str(path), chapter, results, problems, died_at, time.monotonic() - start)


def chapter_of(nb: nbformat.NotebookNode, path: Path) -> str | None:
    """The chapter a notebook belongs to: its file name's ``NN_`` prefix, else its check calls."""
    match = re.match(r"^(\d\d)_", Path(path).name)
    if match:
        return match.group(1)
    qids = [q for cell in nb.cells if cell.cell_type == "code" for q in CHECK_CALL.findall(cell.source)]
    chapters = {q[:2] for q in qids}
    return chapters.pop() if len(chapters) == 1 else None
