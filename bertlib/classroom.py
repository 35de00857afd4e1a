"""Classroom tooling: the student edition of the lessons, an autograder, the list of exercises.

Solutions are marked the nbgrader way (``### BEGIN SOLUTION`` / ``### END
SOLUTION`` inside cells whose metadata says ``nbgrader.solution: true``;
checks in cells with ``nbgrader.grade: true`` and their points), so an
instructor who uses nbgrader can import the lessons directly, and nbgrader's
``autograde`` scores them the way bertlib's does (a check that does not pass
raises under a grader: see :mod:`bertlib.checks.core`). bertlib's own tools
need neither nbgrader, nor a database, nor a Jupyter server: they edit
notebooks with ``nbformat`` and run them with ``nbclient``.

- :mod:`bertlib.student`: ``make_student_edition`` (``python -m bertlib student``);
- :mod:`bertlib.grading`: ``grade_path`` and ``grade_notebook`` (``python -m bertlib grade``);
- here: ``list_exercises``, the exercises of a lesson as the instructor guide lists them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .cells import exercise_name, is_check, points

__all__ = ["list_exercises", "LessonExercise"]


@dataclass
class LessonExercise:
    """An exercise as a lesson poses it: its heading, difficulty and check."""

    notebook: str
    title: str  # the markdown heading above the solution, e.g. "Exercise 4.1 ★ Scaled dot-product weights"
    stars: int  # difficulty, 1 to 3
    grade_id: str  # of the check cell
    points: float
    check: str  # the code of the check cell (first line)


_HEADING_RE = re.compile(r"^#+\s*(Exercise[^\n]*)", re.MULTILINE)


def list_exercises(path: str | os.PathLike) -> list[LessonExercise]:
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
                LessonExercise(
                    path.name,
                    title,
                    max(1, min(3, title.count("★"))),
                    exercise_name(cell, i),
                    points(cell),
                    first.strip(),
                )
            )
    return out
