"""The ``course`` command (also ``python -m course_lib``).

    course build [--check]              generate exercises/ from solutions/ (never over a learner's edits)
    course grade PATH|NN... [--json F] [--expect full|zero] [--timeout S] [--no-record]
    course progress                     the whole course at a glance, from the last gradings
    course record PATH...               run a chapter or solution notebook and store the outputs
                                        of its ``# NBVAL_CHECK_OUTPUT`` cells (maintainers)

Every command first says on stderr which course folder it works on (the current directory
when it holds ``chapters/``, else the nearest parent that does, else the checkout the package
was installed from; ``COURSE_ROOT`` overrides all). Wrong use prints one line on stderr and
exits with status 2; never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_lib.course import UnknownChapter, chapter, course_root, locate_course_root


class UsageError(Exception):
    """A mistake in how the command was called; printed as one line."""


def _notebooks_from(args: list[str], default_folder: str = "exercises") -> list[Path]:
    """Expand files, folders (their ``NN_slug.ipynb`` notebooks) and chapter numbers."""
    from course_lib.authoring import course_notebooks

    root = course_root()
    paths: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = course_notebooks(path)
            if not found:
                raise UsageError(f"{arg} holds no course notebooks (NN_slug.ipynb)")
            paths.extend(found)
        elif path.exists() or arg.endswith(".ipynb") or "/" in arg or "\\" in arg:
            paths.append(path)
        else:
            try:
                ch = chapter(arg)
            except UnknownChapter as exc:
                raise UsageError(f"{exc}; or give a notebook path") from None
            paths.append(root / default_folder / ch.filename)
    return paths


def cmd_build(ns) -> int:
    from course_lib.authoring import build

    report = build(course_root(), check=ns.check)
    for line in report.lines:
        print(line)
    if ns.check and not report.ok:
        print(f"course build --check: {len(report.stale) + len(report.kept)} file(s) differ from the sources",
              file=sys.stderr)
        return 1
    return 0 if not report.kept or ns.check else 1


def cmd_grade(ns) -> int:
    from course_lib.authoring import read_notebook
    from course_lib.grading import report
    from course_lib.grading.runner import chapter_of, grade_notebook

    paths = _notebooks_from(ns.paths)
    plan = []
    for path in paths:  # validate everything before running anything
        nb = read_notebook(path)
        number = chapter_of(nb, path)
        if number is None:
            raise UsageError(f"cannot tell which chapter {path} belongs to: name it NN_slug.ipynb")
        plan.append((path, chapter(number).number))
    runs = []
    for path, number in plan:
        print(f"grading {path} ...", file=sys.stderr, flush=True)
        run = grade_notebook(path, number, cell_timeout=ns.timeout)
        runs.append(run)
        print(report.notebook_table(run))
        print()
    if len(runs) > 1:
        print(report.chapter_summary(runs))
    if ns.json:
        report.write_json(report.to_json(runs), Path(ns.json))
        print(f"wrote {ns.json}")
    if not ns.no_record:
        report.record_progress(runs)
    return _expectation(ns.expect, runs)


def _expectation(expect: str | None, runs) -> int:
    if not expect:
        return 0
    problems = [f"{r.path}: {p.ename} in cell {p.index}" for r in runs for p in r.problems]
    if r_died := [r.path for r in runs if r.kernel_died_at is not None]:
        problems += [f"{p}: the kernel died" for p in r_died]
    results = [q for r in runs for q in r.results]
    if expect == "full":
        bad = [f"{q.qid} {q.status}" for q in results if not q.passed]
        if not results:
            bad = ["no graded questions were found"]
    else:
        bad = [f"{q.qid} passed" for q in results if q.passed]
    if bad or problems:
        print(f"course grade --expect {expect}: not met: " + "; ".join(bad + problems), file=sys.stderr)
        return 1
    print(f"course grade --expect {expect}: met ({len(results)} questions in {len(runs)} notebooks)")
    return 0


def cmd_progress(ns) -> int:
    from course_lib.grading.report import progress_table

    print(progress_table())
    return 0


def cmd_record(ns) -> int:
    from course_lib.authoring import CHECK_OUTPUT_MARK, normalize, read_notebook, write_text
    from course_lib.grading.runner import execute

    root = course_root()
    for arg in ns.paths:
        path = Path(arg).resolve()
        if path.parent.name not in ("chapters", "solutions"):
            raise UsageError(f"{arg}: record only chapter and solution notebooks (never a learner's exercises)")
        nb = read_notebook(path)
        died, startup = execute(nb, path.parent, cell_timeout=ns.timeout)
        errors = [(i, o.ename) for i, c in enumerate(nb.cells) if c.cell_type == "code"
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
        if died is not None or startup or errors:
            raise UsageError(f"{arg}: the notebook did not run cleanly ({startup or errors or 'kernel died'}); "
                             "nothing was written")
        marked = sum(c.cell_type == "code" and c.source.lstrip().startswith(CHECK_OUTPUT_MARK) for c in nb.cells)
        path.write_text(write_text(normalize(nb)), encoding="utf-8")
        print(f"recorded {path.relative_to(root) if root in path.parents else path}: "
              f"{marked} {CHECK_OUTPUT_MARK} cell(s)")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="Deep Learning Math: build, grade and track the course.")
    sub = p.add_subparsers(dest="command", metavar="{build,grade,progress,record}")
    b = sub.add_parser("build", help="generate exercises from solutions")
    b.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is stale")
    b.set_defaults(run=cmd_build)
    g = sub.add_parser("grade", help="run notebooks in a fresh kernel and score their checks")
    g.add_argument("paths", nargs="+", metavar="PATH", help="notebook, folder, or chapter number (01)")
    g.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    g.add_argument("--expect", choices=["full", "zero"], help="exit 1 unless every question passed / none did")
    g.add_argument("--timeout", type=float, default=120.0, metavar="S", help="time limit per cell (default 120)")
    g.add_argument("--no-record", action="store_true", help="do not update the progress record")
    g.set_defaults(run=cmd_grade)
    pr = sub.add_parser("progress", help="questions passed per chapter, from the last gradings")
    pr.set_defaults(run=cmd_progress)
    r = sub.add_parser("record", help="store the outputs of # NBVAL_CHECK_OUTPUT cells (maintainers)")
    r.add_argument("paths", nargs="+", metavar="PATH")
    r.add_argument("--timeout", type=float, default=300.0, metavar="S")
    r.set_defaults(run=cmd_record)
    return p


def main(argv: list[str] | None = None) -> int:
    from course_lib.authoring import AuthoringError, NotebookError

    p = parser()
    ns = p.parse_args(argv)
    if not getattr(ns, "run", None):
        p.print_help()
        return 2
    root, why = locate_course_root()
    print(f"course folder: {root} ({why})", file=sys.stderr, flush=True)
    try:
        return ns.run(ns)
    except (UsageError, NotebookError, AuthoringError, UnknownChapter) as exc:
        print(f"course {ns.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"course {ns.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
