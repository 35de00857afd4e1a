"""What a submission is graded against: the release's check cells, points and stubs.

nbgrader keeps the instructor's version of every graded cell in its database and
writes it back over the student's before grading; bertlib reads it from the
release notebooks (the lessons, or their student edition), matched by nbgrader
``grade_id``, and does the same.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .cells import grade_id, has_markers, is_begin, is_check, is_end, is_solution, points
from .student import strip_solution

__all__ = ["Check", "release_checks", "rebuild", "read_release", "match_release", "default_release"]


@dataclass
class Check:
    """A check cell of the release: what must run, and what it is worth."""

    grade_id: str
    cell: dict
    max_points: float
    expected: list[str] = field(default_factory=list)  # bertlib exercise ids its calls report


_CALL_RE = re.compile(r"\bchecks\.(check_\w+)\s*\(")


def release_checks(release) -> list[Check]:
    from . import checks

    out = []
    for i, cell in enumerate(release.cells):
        if cell.cell_type == "code" and is_check(cell):
            gid = grade_id(cell)
            if gid is None:
                raise ValueError(f"The release's check cell {i} has no nbgrader grade_id, so it cannot be matched.")
            calls = [getattr(checks, name, None) for name in _CALL_RE.findall(cell.source)]
            expected = list(dict.fromkeys(c.exercise_id for c in calls if hasattr(c, "exercise_id")))
            out.append(Check(gid, cell, points(cell), expected))
    return out


def _stubs(source: str, gid: str) -> set[str]:
    """What an untouched solution cell looks like: the release's text, our stub and nbgrader's."""
    if not has_markers(source):  # a student edition's stub, or an answer without markers (no stub then)
        return {source.strip()} if re.search(r"YOUR (CODE|ANSWER) HERE|NotImplemented", source) else set()
    stubs = set()
    try:
        ours = strip_solution(source, gid)
    except ValueError:
        return stubs
    stubs |= {
        ours.strip(),
        re.sub(r'raise NotImplementedError\("[^"\n]*"\)', "raise NotImplementedError()", ours).strip(),
    }
    out, inside = [], False
    for line in source.splitlines():  # nbgrader's ClearSolutions, for a release made by nbgrader
        if is_begin(line):
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
            inside = True
        elif is_end(line):
            inside = False
        elif not inside:
            out.append(line)
    return stubs | {"\n".join(out).strip()}


def _new_id() -> str:
    return uuid.uuid4().hex[:8]


def rebuild(submission, release):
    """The notebook to run: the submission with the release's check cells. Returns (nb, checks, unanswered)."""
    checks = release_checks(release)
    by_id = {c.grade_id: c for c in checks}
    stubs = {grade_id(c): _stubs(c.source, grade_id(c)) for c in release.cells if is_solution(c) and grade_id(c)}
    cells, placed, unanswered = [], set(), set()
    for cell in submission.cells:
        cell = nbformat.from_dict(dict(cell))
        gid = grade_id(cell)
        if gid in by_id and gid not in placed:
            cell = nbformat.from_dict(json.loads(json.dumps(by_id[gid].cell)))
            placed.add(gid)
        elif is_check(cell):  # the student's own "graded" cell, or a copy of a check: run, never graded
            cell.metadata.pop("nbgrader", None)
            cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if str(t).lower() != "check"]
        elif gid in stubs and cell.source.strip() in stubs[gid]:
            unanswered.add(gid)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    ids = [grade_id(c) for c in release.cells]
    for check in checks:  # put back the check cells the student deleted, after the cell they followed
        if check.grade_id in placed:
            continue
        where = len(cells)
        before = ids[: ids.index(check.grade_id)]
        for anchor in reversed([g for g in before if g]):
            found = [k for k, c in enumerate(cells) if grade_id(c) == anchor]
            if found:
                where = found[0] + 1
                break
        cells.insert(where, nbformat.from_dict(json.loads(json.dumps(check.cell))))
        placed.add(check.grade_id)
    seen = set()
    for cell in cells:  # the inserted cells can repeat an id
        if cell.get("id") in seen or "id" not in cell:
            cell["id"] = _new_id()
        seen.add(cell["id"])
    nb = nbformat.v4.new_notebook(metadata=submission.get("metadata", {}))
    nb.cells = cells
    return nb, checks, unanswered


def read_release(release: str | os.PathLike) -> dict[str, object]:
    path = Path(release)
    files = sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise FileNotFoundError(f"No release notebooks in {path}.")
    return {f.name: nbformat.read(f, as_version=4) for f in files}


def match_release(name: str, raw, releases: dict[str, object]):
    """The release of a submission: the notebook of the same name, else the one sharing most grade_ids."""
    if name in releases:
        return releases[name]
    try:
        ids = set(re.findall(r'"grade_id"\s*:\s*"([^"]+)"', raw.decode("utf-8", "replace")))
    except AttributeError:
        return next(iter(releases.values())) if len(releases) == 1 else None
    best = max(releases.values(), key=lambda r: len(ids & {grade_id(c) for c in r.cells}), default=None)
    if best is not None and ids & {grade_id(c) for c in best.cells}:
        return best
    return next(iter(releases.values())) if len(releases) == 1 else None


def default_release() -> Path | None:
    """The lessons folder of this checkout, when bertlib runs from one."""
    lessons = Path(__file__).resolve().parent.parent / "lessons"
    return lessons if any(lessons.glob("*.ipynb")) else None
