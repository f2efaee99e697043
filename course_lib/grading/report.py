"""Score tables, the JSON report, and the progress record behind ``course progress``.

The progress record is ``.course/progress.json`` in the course folder (git ignores
it). Each grading of a learner's notebook replaces that notebook's entry; notebooks in
``solutions/`` are never recorded, so the worked answers cannot inflate anyone's progress.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from course_lib.course import CHAPTERS, course_root
from course_lib.grading.feedback import FAILED, PASSED
from course_lib.grading.registry import chapter_questions
from course_lib.grading.runner import NotebookRun

SYMBOL = {"passed": "✔", "failed": "✘", "not attempted": "…"}


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def notebook_table(run: NotebookRun) -> str:
    """A score table for one graded notebook."""
    title = next((c.title for c in CHAPTERS if c.number == run.chapter), "")
    lines = [f"{run.path}  (chapter {run.chapter}: {title}; ran in {run.seconds:.1f} s)"]
    if not run.results:
        lines.append("  this chapter has no graded questions yet")
    width = max([len(r.qid) for r in run.results] + [8])
    lines.append(f"  {'question'.ljust(width)}  {'status'.ljust(15)} {'points':>7}  detail")
    for r in run.results:
        status = f"{SYMBOL.get(r.status, '?')} {r.status}"
        detail = _short(r.hint or r.message, 70) if r.status == FAILED else ""
        lines.append(f"  {r.qid.ljust(width)}  {status.ljust(15)} {f'{r.points:g}/{r.max_points:g}':>7}  {detail}")
    pct = 100 * run.points / run.max_points if run.max_points else 0.0
    lines.append(f"  {'total'.ljust(width)}  {''.ljust(15)} {f'{run.points:g}/{run.max_points:g}':>7}  ({pct:.0f}%)")
    for p in run.problems:
        where = f"cell {p.index}" if p.index >= 0 else "kernel"
        lines.append(f"  ! {where} raised {p.ename}: {_short(p.evalue, 90)}")
    if run.kernel_died_at is not None:
        lines.append(f"  ! the kernel died in cell {run.kernel_died_at}; later cells did not run")
    if run.ignored:
        cells = ", ".join(str(i) for i in run.ignored)
        lines.append(f"  ! ignored: cell(s) {cells} displayed a check result that check() did not produce in "
                     "this run")
    return "\n".join(lines)


def chapter_summary(runs: list[NotebookRun]) -> str:
    """Points per chapter over several notebooks."""
    by_chapter: dict[str, list[float]] = {}
    for run in runs:
        acc = by_chapter.setdefault(run.chapter, [0.0, 0.0])
        acc[0] += run.points
        acc[1] += run.max_points
    lines = ["chapter  points"]
    for chapter, (pts, total) in sorted(by_chapter.items()):
        lines.append(f"{chapter:<8} {pts:g}/{total:g}")
    pts = sum(p for p, _ in by_chapter.values())
    total = sum(t for _, t in by_chapter.values())
    lines.append(f"{'all':<8} {pts:g}/{total:g}")
    return "\n".join(lines)


def to_json(runs: list[NotebookRun]) -> dict:
    return {
        "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "notebooks": [
            {
                "path": run.path,
                "chapter": run.chapter,
                "points": run.points,
                "max_points": run.max_points,
                "seconds": round(run.seconds, 2),
                "kernel_died_at": run.kernel_died_at,
                "ignored_result_cells": run.ignored,
                "problems": [p.__dict__ for p in run.problems],
                "questions": [r.to_json() for r in run.results],
            }
            for run in runs
        ],
    }


def write_json(data: dict, path: Path) -> None:
    """Write atomically: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, ensure_ascii=False)
    os.replace(tmp, path)


def progress_path(root: Path | None = None) -> Path:
    return Path(root or course_root()) / ".course" / "progress.json"


def record_progress(runs: list[NotebookRun], root: Path | None = None) -> Path:
    """Store the latest grading of each learner notebook (solutions are left out)."""
    root = Path(root or course_root())
    path = progress_path(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    entries = data.get("notebooks", {})
    solutions = (root / "solutions").resolve()
    for run, item in zip(runs, to_json(runs)["notebooks"]):
        resolved = Path(run.path).resolve()
        if solutions in resolved.parents:
            continue
        item["graded_at"] = time.strftime("%Y-%m-%d %H:%M")
        entries[str(resolved)] = item
    write_json({"notebooks": entries}, path)
    return path


def progress_table(root: Path | None = None) -> str:
    """The whole course at a glance, from the last grading of each chapter's notebook."""
    path = progress_path(root)
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("notebooks", {})
    except (OSError, ValueError):
        entries = {}
    latest: dict[str, dict] = {}
    for item in entries.values():
        chapter = item.get("chapter")
        if chapter and item.get("graded_at", "") >= latest.get(chapter, {}).get("graded_at", ""):
            latest[chapter] = item
    lines = [f"{'chapter':<42} {'passed':>9}  {'progress':<12} last graded"]
    done = total_all = 0
    for chapter in CHAPTERS:
        current = {q.qid for q in chapter_questions(chapter.number)}
        total = len(current)
        item = latest.get(chapter.number)
        name = f"{chapter.number} {chapter.title}"
        if total == 0:
            lines.append(f"{name:<42} {'-':>9}  {'(no exercises yet)':<12}")
            continue
        # A question removed from the course since that grading no longer counts.
        passed = sum(q.get("status") == PASSED and q.get("qid") in current
                     for q in item["questions"]) if item else 0
        done, total_all = done + passed, total_all + total
        bar = "█" * round(10 * passed / total) + "░" * (10 - round(10 * passed / total))
        when = item.get("graded_at", "") if item else "never (run `course grade`)"
        lines.append(f"{name:<42} {f'{passed}/{total}':>9}  {bar:<12} {when}")
    lines.append(f"{'whole course':<42} {f'{done}/{total_all}':>9}")
    return "\n".join(lines)
