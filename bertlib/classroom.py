"""Classroom tooling: the student edition of the lessons, and an autograder.

Solutions are marked the nbgrader way (``### BEGIN SOLUTION`` / ``### END
SOLUTION`` inside cells whose metadata says ``nbgrader.solution: true``;
checks in cells with ``nbgrader.grade: true`` and their points), so an
instructor who uses nbgrader can import the lessons directly. This module
needs neither nbgrader, nor a database, nor a Jupyter server: it edits
notebooks with ``nbformat`` and runs them with ``nbclient``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

__all__ = [
    "make_student_edition",
    "grade_notebook",
    "grade_path",
    "GradeRow",
    "format_table",
    "list_exercises",
    "Exercise",
]

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_BEGIN_RE = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell) -> bool:
    return bool(_nbgrader(cell).get("solution")) or "solution" in cell.get("metadata", {}).get("tags", [])


def is_check(cell) -> bool:
    return bool(_nbgrader(cell).get("grade")) or "check" in cell.get("metadata", {}).get("tags", [])


def _exercise_name(cell, index: int) -> str:
    return _nbgrader(cell).get("grade_id") or f"cell-{index}"


def strip_solution(source: str, name: str, markdown: bool = False) -> str:
    """Replace every BEGIN/END SOLUTION block with a stub, keeping the code around it."""
    out, lines, i = [], source.splitlines(), 0
    found = False
    while i < len(lines):
        m = _BEGIN_RE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        found = True
        try:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == END)
        except StopIteration:
            raise ValueError(f"{name}: '{BEGIN}' without a matching '{END}'.") from None
        indent = m.group(1)
        out.append(
            f"{indent}YOUR ANSWER HERE"
            if markdown
            else f'{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError("{name}: your code here")'
        )
        i = end + 1
    if not found:
        raise ValueError(f"{name} is marked as a solution but has no '{BEGIN}' ... '{END}' block.")
    return "\n".join(out)


def make_student_edition(src: str | os.PathLike, dst: str | os.PathLike) -> list[Path]:
    """Write the student edition of one notebook or of every notebook in a folder.

    Solutions become stubs that raise ``NotImplementedError``, outputs are
    cleared, checks are kept, and solution cells lose the ``hide-cell`` tag
    (the stub is meant to be seen). Returns the files written.
    """
    src, dst = Path(src), Path(dst)
    files = sorted(src.glob("*.ipynb")) if src.is_dir() else [src]
    if not files:
        raise FileNotFoundError(f"No notebooks in {src}.")
    written = []
    for f in files:
        nb = nbformat.read(f, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            if is_solution(cell):
                name = _exercise_name(cell, i)
                cell.source = strip_solution(cell.source, name, cell.cell_type == "markdown")
                if cell.cell_type == "code":
                    _check_compiles(cell.source, f"{f.name}: {name}")
                tags = cell.metadata.get("tags", [])
                cell.metadata["tags"] = [t for t in tags if t != "hide-cell"]
        out = dst / f.name if src.is_dir() or dst.suffix != ".ipynb" else dst
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
        written.append(out)
    return written


def _check_compiles(source: str, name: str) -> None:
    """A stub must still be valid Python (BEGIN/END inside a dict literal would not be)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        compile(code, name, "exec")
    except SyntaxError as e:
        raise ValueError(
            f"{name}: the student stub is not valid Python ({e.msg}, line {e.lineno}); put "
            f"'{BEGIN}' and '{END}' around whole statements."
        ) from None


@dataclass
class Exercise:
    """An exercise as a lesson poses it: its heading, difficulty and check."""

    notebook: str
    title: str  # the markdown heading above the solution, e.g. "Exercise 4.1 ★ Scaled dot-product weights"
    stars: int  # difficulty, 1 to 3
    grade_id: str  # of the check cell
    points: float
    check: str  # the code of the check cell (first line)


_HEADING_RE = re.compile(r"^#+\s*(Exercise[^\n]*)", re.MULTILINE)


def list_exercises(path: str | os.PathLike) -> list[Exercise]:
    """The exercises of a lesson, in order: one per check cell, titled by the heading above it."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    out, title = [], ""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            headings = _HEADING_RE.findall(cell.source)
            if headings:
                title = headings[-1].strip()
        elif is_check(cell):
            first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
            out.append(
                Exercise(
                    path.name,
                    title,
                    max(1, min(3, title.count("★"))),
                    _exercise_name(cell, i),
                    float(_nbgrader(cell).get("points", 1)),
                    first.strip(),
                )
            )
    return out


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


def grade_notebook(path: str | os.PathLike, timeout: float = 600.0, cwd: str | None = None) -> list[GradeRow]:
    """Run a notebook cell by cell and grade each check cell.

    A crash in one cell does not stop the run: later exercises still get a
    result. A cell that runs past the notebook's remaining time is interrupted;
    it and every exercise after it are reported as stopped by the time limit.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "grades.jsonl"
        log.touch()
        os.environ["BERTLIB_GRADE_FILE"] = str(log)  # inherited by the kernel
        client = NotebookClient(
            nb,
            timeout=timeout,
            allow_errors=True,
            kernel_name="python3",
            resources={"metadata": {"path": cwd or str(path.parent)}},
        )
        rows, deadline, stopped, solution_error = [], time.monotonic() + timeout, None, None
        try:
            with client.setup_kernel():
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    if stopped is None:
                        client.timeout = max(1, int(deadline - time.monotonic()))
                        seen = len(log.read_text().splitlines())
                        try:
                            client.execute_cell(cell, index)
                        except (CellTimeoutError, DeadKernelError) as e:
                            stopped = f"stopped by the time limit ({timeout:g} s) at cell {index}: {type(e).__name__}"
                    if is_solution(cell):  # remembered: a stub's error explains the check's failure
                        solution_error = _error_name(cell)
                    if is_check(cell):
                        rows.append(
                            _grade_cell(
                                path.name, cell, index, log, seen if stopped is None else None, stopped, solution_error
                            )
                        )
        finally:
            os.environ.pop("BERTLIB_GRADE_FILE", None)
    return rows


def _error_name(cell) -> str | None:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return errors[0]["ename"] if errors else None


def _grade_cell(
    notebook: str, cell, index: int, log: Path, seen: int | None, stopped: str | None, solution_error: str | None = None
) -> GradeRow:
    name = _exercise_name(cell, index)
    max_points = float(_nbgrader(cell).get("points", 1))
    new = [json.loads(x) for x in log.read_text().splitlines()[seen:]] if seen is not None else []
    if new:
        passed = all(r["passed"] for r in new)
        message = " | ".join(r["message"] for r in new)
        return GradeRow(
            notebook,
            name,
            ",".join(r["exercise"] for r in new),
            passed,
            max_points if passed else 0.0,
            max_points,
            message,
        )
    if stopped:
        return GradeRow(notebook, name, "", False, 0.0, max_points, f"Not run: {stopped}.")
    if solution_error == "NotImplementedError":
        return GradeRow(
            notebook,
            name,
            "",
            False,
            0.0,
            max_points,
            "Not implemented yet: the solution cell above still raises NotImplementedError.",
        )
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:  # nbgrader's rule for a test cell: it passes when it raises nothing
        return GradeRow(notebook, name, "", True, max_points, max_points, "Passed (the cell's assertions hold).")
    why = f"{errors[0]['ename']}: {errors[0]['evalue']}"
    return GradeRow(
        notebook,
        name,
        "",
        False,
        0.0,
        max_points,
        f"The check could not run ({why}); fix the error in this exercise or an earlier cell.",
    )


def grade_path(path: str | os.PathLike, timeout: float = 600.0) -> list[GradeRow]:
    """Grade one notebook or every notebook in a folder (each with its own time limit)."""
    path = Path(path)
    files = sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"No notebooks to grade in {path}.")
    return [row for f in files for row in grade_notebook(f, timeout)]


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
