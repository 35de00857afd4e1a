"""The autograder: ``python -m bertlib grade submissions/ --release lessons/``.

It trusts nothing in a submission, as nbgrader does not:

- the check cells and their points come from the release (the lessons, or their
  student edition), matched by nbgrader ``grade_id``; a check cell the student
  changed is replaced, one the student deleted is put back, and a cell the student
  marked as graded is run but not graded;
- each notebook runs in a fresh kernel, in its own temporary copy of its folder
  (other notebooks left out) and with its own copy of the bertlib model cache, so
  one submission cannot delete or change another, or the model the next one loads
  (the small BERT is trained into the cache first, once, when a lesson needs it);
- every submission is read before any is run, and one that cannot be read or run
  gets result lines that say why, while the others are still graded.

A check cell scores as in nbgrader: 0 when it raises or writes to stderr, the
number it shows when it shows one (partial credit), full points otherwise. On top
of that, every ``bertlib.checks`` call the release's check cell makes must report a
passing result. The kernel runs with ``NBGRADER_EXECUTION=autograde``, like
nbgrader's. Like nbgrader, this runs the student's code as you: it is not a sandbox.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from .cells import grade_id, is_check, is_solution, nbgrader_meta
from .release import Check, match_release, read_release, rebuild, release_checks
from .submissions import run_submission

__all__ = ["GradeRow", "grade_notebook", "grade_path", "format_table", "rows_to_json"]


@dataclass
class GradeRow:
    """One exercise's result, as the autograder reports it."""

    notebook: str
    exercise: str  # the check cell's grade_id
    check: str  # the bertlib check that ran ("" when none did)
    passed: bool
    points: float
    max_points: float
    message: str


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _score(
    notebook: str, check: Check, cell, records: list[dict] | None, why_not: str | None, unanswered: bool
) -> GradeRow:
    def row(passed: bool, got: float, message: str, ran: list[dict] = ()) -> GradeRow:
        return GradeRow(
            notebook, check.grade_id, ",".join(r["exercise"] for r in ran), passed, got, check.max_points, message
        )

    if records is None:
        return row(False, 0.0, f"Not run: {why_not}.")
    if why_not:  # this very cell stopped the run
        return row(False, 0.0, f"Stopped: {why_not}.", records)
    outputs = cell.get("outputs", [])
    ran = [r for r in records if not check.expected or r["exercise"] in check.expected]
    failed = [r for r in ran if not r.get("passed")]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    stderr = [_text(o.get("text")) for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    todo = "Not implemented yet: the solution cell above is still the stub."
    if failed:
        message = " | ".join(str(r.get("message", "")) for r in failed)
        return row(False, 0.0, message if not unanswered or "Not implemented" in message else f"{todo} {message}", ran)
    if errors:
        if unanswered or any(e.get("ename") == "NotImplementedError" for e in errors):
            return row(
                False,
                0.0,
                todo if unanswered else "Not implemented yet: the code still raises NotImplementedError.",
                ran,
            )
        why = f"{errors[0].get('ename')}: {errors[0].get('evalue')}"
        return row(
            False, 0.0, f"The check could not run ({why}); fix the error in this exercise or an earlier cell.", ran
        )
    missing = [e for e in check.expected if e not in {r["exercise"] for r in ran}]
    if missing:
        return row(
            False,
            0.0,
            f"No result from the check {', '.join(missing)}: was bertlib.checks changed in this notebook?",
            ran,
        )
    if stderr:
        first = next((line for line in "".join(stderr).splitlines() if line.strip()), "")
        return row(False, 0.0, f"The check cell wrote to stderr, which nbgrader scores 0: {first[:120]}", ran)
    for o in outputs:  # nbgrader's partial credit: a check cell whose result is a number
        if o.get("output_type") == "execute_result":
            try:
                got = float(_text(o.get("data", {}).get("text/plain")))
            except ValueError:
                break
            if 0 <= got <= check.max_points:
                return row(got == check.max_points, got, f"Partial credit: {got:g} of {check.max_points:g}.", ran)
            break
    note = " | ".join(str(r.get("message", "")) for r in ran) or "Passed (the cell's assertions hold)."
    return row(True, check.max_points, note, ran)


def _grade(name: str, raw: bytes | Exception, release, folder: Path | None, timeout: float) -> list[GradeRow]:
    if release is None:
        return [
            GradeRow(name, "-", "", False, 0.0, 0.0, "No release notebook matches this submission: nothing graded.")
        ]
    checks = release_checks(release)

    def every(message: str) -> list[GradeRow]:
        return [GradeRow(name, c.grade_id, "", False, 0.0, c.max_points, message) for c in checks]

    try:
        if isinstance(raw, Exception):
            raise raw
        submission = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nb, checks, unanswered = rebuild(submission, release)
    except Exception as e:
        return every(f"Not graded: the file is not a readable notebook ({type(e).__name__}: {str(e)[:150]}).")
    try:
        records, why_not, stop = run_submission(name, nb, folder, timeout)
    except Exception as e:
        return every(f"Not graded: the notebook could not be run ({type(e).__name__}: {str(e)[:150]}).")
    rows, last_solution = [], None
    by_id = {c.grade_id: c for c in checks}
    for index, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if is_solution(cell) and not is_check(cell):
            last_solution = gid
        if gid in by_id and nbgrader_meta(cell).get("grade"):
            if stop is None or index < stop:
                ran, why = records.get(index, []), None
            else:
                ran, why = (records.get(index, []) if index == stop else None), why_not
            rows.append(_score(name, by_id[gid], cell, ran, why, last_solution in unanswered))
    return rows


def _warm(releases: dict[str, object]) -> None:
    """Train the small BERT once, here, when a lesson loads it and it is not cached: each notebook gets a copy."""
    from .pretrained import load_small_bert, small_bert_path

    needed = any("load_small_bert" in c.source for nb in releases.values() for c in nb.cells)
    if needed and not small_bert_path().is_dir():
        load_small_bert()


def grade_notebook(
    path: str | os.PathLike, release: str | os.PathLike, timeout: float = 600.0, cwd: str | os.PathLike | None = None
) -> list[GradeRow]:
    """Grade one notebook against its release (a notebook, or a folder holding one of the same name).

    ``cwd`` is the folder whose copy the notebook runs in (default: the notebook's own folder).
    A cell that raises does not stop the run. A cell that runs past the notebook's remaining
    time, or a kernel that dies, stops it: the exercises not run say why.
    """
    path = Path(path)
    try:
        raw: bytes | Exception = path.read_bytes()
    except OSError as e:
        raw = e
    releases = read_release(release)
    _warm(releases)
    return _grade(path.name, raw, match_release(path.name, raw, releases), Path(cwd) if cwd else path.parent, timeout)


def grade_path(path: str | os.PathLike, release: str | os.PathLike, timeout: float = 600.0) -> list[GradeRow]:
    """Grade one notebook or every notebook in a folder, each with its own time limit.

    Every submission is read before the first one runs.
    """
    path = Path(path)
    files = sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"No notebooks to grade in {path}.")
    releases = read_release(release)
    submissions = {}
    for f in files:
        try:
            submissions[f] = f.read_bytes()
        except OSError as e:
            submissions[f] = e
    _warm(releases)
    rows = []
    for f, raw in submissions.items():
        try:
            rows += _grade(f.name, raw, match_release(f.name, raw, releases), f.parent, timeout)
        except Exception as e:  # a bug here must not cost the other students their grades
            rows.append(GradeRow(f.name, "-", "", False, 0.0, 0.0, f"Not graded: {type(e).__name__}: {e}"))
    return rows


def format_table(rows: list[GradeRow]) -> str:
    """The results as a plain-text table with a total per notebook."""
    lines = [f"{'notebook':<28} {'exercise':<26} {'result':<6} {'points':>7}  message"]
    for r in rows:
        mark = "pass" if r.passed else "FAIL"
        lines.append(f"{r.notebook:<28} {r.exercise:<26} {mark:<6} {r.points:>3g}/{r.max_points:<3g}  {r.message[:90]}")
    for nb in dict.fromkeys(r.notebook for r in rows):
        got = sum(r.points for r in rows if r.notebook == nb)
        total = sum(r.max_points for r in rows if r.notebook == nb)
        lines.append(f"{nb:<28} {'TOTAL':<26} {'':<6} {got:>3g}/{total:<3g}")
    return "\n".join(lines)


def rows_to_json(rows: list[GradeRow]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=2)
