"""How a lesson marks its exercises: nbgrader metadata, cell tags and solution markers.

Shared by the student edition (:mod:`bertlib.student`), the autograder
(:mod:`bertlib.grading`) and the exercise list (:mod:`bertlib.classroom`).
"""

from __future__ import annotations

import re

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"

# nbgrader looks for "BEGIN SOLUTION" anywhere in a line, in every cell. We do the same, and ignore
# case too: a marker that nbgrader or we miss would publish the answer.
_BEGIN_RE = re.compile(r"\bBEGIN\s+SOLUTION\b", re.IGNORECASE)
_END_RE = re.compile(r"\bEND\s+SOLUTION\b", re.IGNORECASE)


def nbgrader_meta(cell) -> dict:
    """The cell's ``nbgrader`` metadata ({} when there is none or it is not a dict)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _tags(cell) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t.lower() for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def is_solution(cell) -> bool:
    """A solution cell: nbgrader ``solution: true``, or tagged ``solution`` (any case)."""
    return bool(nbgrader_meta(cell).get("solution")) or "solution" in _tags(cell)


def is_check(cell) -> bool:
    """A check (graded) cell: nbgrader ``grade: true``, or tagged ``check`` (any case)."""
    return bool(nbgrader_meta(cell).get("grade")) or "check" in _tags(cell)


def grade_id(cell) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def exercise_name(cell, index: int) -> str:
    return grade_id(cell) or f"cell-{index}"


def points(cell) -> float:
    try:
        return float(nbgrader_meta(cell).get("points", 1))
    except (TypeError, ValueError):
        return 0.0


def is_begin(line: str) -> bool:
    return bool(_BEGIN_RE.search(line))


def is_end(line: str) -> bool:
    return bool(_END_RE.search(line)) and not is_begin(line)


def has_markers(source: str) -> bool:
    return any(is_begin(line) or is_end(line) for line in source.splitlines())
