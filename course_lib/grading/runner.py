"""Execute a notebook in a fresh kernel and read back the results of its checks.

The learner's file is read, never written: execution happens on an in-memory copy
(nbclient), in the notebook's own folder. Every ``check(...)`` call displays its result
with the mime type :data:`~course_lib.grading.feedback.RESULT_MIME`; the grader reads
those outputs back, so it needs no side channel and keeps every result reached even if
the kernel later dies (``os._exit``, a segfault, memory).

Only results the grader itself produced count. Each run draws a fresh key that only the
kernel's copy of :mod:`course_lib.grading.seal` holds; ``check()`` seals its result with an
HMAC under that key, and :func:`collect` ignores every displayed result without a valid
one (a bundle typed into a cell, or copied from another run). Of the valid results it keeps
the last per question and caps its points at the question's points. See :mod:`seal` for
the limit of this (code in the kernel can read the key from memory).

The kernel is shut down (gracefully, then killed) before :func:`execute` returns: a kernel
left running would outlive the grader and print "Parent appears to have exited" on its
terminal when the grader ends.

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

from course_lib.grading import seal
from course_lib.grading.feedback import FAILED, PASSED, RESULT_MIME, STATUSES, CheckResult
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
    ignored: list[int] = field(default_factory=list)  # cells that displayed a result check() did not make

    @property
    def points(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.results)


def execute(nb: nbformat.NotebookNode, cwd: Path, cell_timeout: float, env: dict | None = None,
            key: bytes | None = None):
    """Run ``nb`` (in place) in a fresh ``python3`` kernel, and shut the kernel down.

    Returns ``(index of the cell where the kernel died or None, startup error or None)``.
    Cell errors do not stop execution; a cell over ``cell_timeout`` seconds is
    interrupted and recorded as a ``CellTimeoutError`` output. With ``key``, the kernel's
    ``check()`` seals its results with it (see :mod:`course_lib.grading.seal`).
    """
    import tempfile

    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    # IPC sockets in a private folder: nothing listens on TCP, and nothing lands in the
    # learner's folder.
    ipc_dir = tempfile.mkdtemp(prefix="course-kernel-")
    kernel_env = dict(os.environ if env is None else env)
    kernel_env.pop(seal.KEY_FILE_ENV, None)
    extra_arguments = []
    if key is not None:
        # mkdtemp's folder is private (0700); the kernel deletes the file as soon as it has read it.
        key_path = os.path.join(ipc_dir, "grader.key")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        kernel_env[seal.KEY_FILE_ENV] = key_path
        # Take the key at kernel start-up, before any of the notebook's cells can look for it.
        extra_arguments.append(f"--IPKernelApp.exec_lines={seal.TAKE_KEY_LINE}")
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
        extra_arguments=extra_arguments,
        shutdown_kernel="graceful",
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
    try:
        # We made the kernel manager, so nbclient would leave the kernel running: ask it to shut
        # the kernel down (cleanup_kc) before returning, while the IPC folder still exists.
        client.execute(env=kernel_env, cleanup_kc=True)
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


def trusted_result(payload: dict, questions: dict[str, Question]) -> CheckResult | None:
    """The result in a verified payload, if it answers one of ``questions``.

    Title and maximum points come from the registry, and the points are capped at the
    question's: a passed question scores its points, anything else 0.
    """
    try:
        result = CheckResult.from_json(payload)
    except (TypeError, ValueError):
        return None
    q = questions.get(result.qid)
    if q is None or result.status not in STATUSES:
        return None
    result.title, result.max_points = q.title, q.points
    result.points = q.points if result.status == PASSED else 0
    return result


def collect(nb: nbformat.NotebookNode, questions: list[Question], kernel_died_at: int | None,
            startup_error: str | None, key: bytes | None = None,
            ignored: list[int] | None = None) -> tuple[list[CheckResult], list[CellProblem]]:
    """One result per question, in the chapter's order, from an executed notebook.

    Only results sealed with ``key`` count (without a key, none does); the last one of each
    question wins. The indices of cells that displayed a result without a valid seal are
    appended to ``ignored``.
    """
    by_qid = {q.qid: q for q in questions}
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
                payload = seal.verify(data[RESULT_MIME], key)
                if payload is None:
                    if ignored is not None:
                        ignored.append(index)
                    continue
                result = trusted_result(payload, by_qid)
                if result is not None:
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
    key = seal.new_key()
    died_at, startup_error = execute(nb, path.resolve().parent, cell_timeout, env, key=key)
    ignored: list[int] = []
    results, problems = collect(nb, questions, died_at, startup_error, key=key, ignored=ignored)
    if startup_error:
        problems.append(CellProblem(-1, "KernelError", startup_error))
    return NotebookRun(str(path), chapter, results, problems, died_at, time.monotonic() - start,
                       sorted(set(ignored)))


def chapter_of(nb: nbformat.NotebookNode, path: Path) -> str | None:
    """The chapter a notebook belongs to: its file name's ``NN_`` prefix, else its check calls."""
    match = re.match(r"^(\d\d)_", Path(path).name)
    if match:
        return match.group(1)
    qids = [q for cell in nb.cells if cell.cell_type == "code" for q in CHECK_CALL.findall(cell.source)]
    chapters = {q[:2] for q in qids}
    return chapters.pop() if len(chapters) == 1 else None
