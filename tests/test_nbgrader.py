"""The real nbgrader, end to end: `generate_assignment` releases our lessons, `autograde` scores them.

A blank student edition scores 0, one solved exercise scores exactly its points, the answer key
scores full marks, and bertlib's own grader (python -m bertlib grade) gives the same scores.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook  # in the test extra: pip install -e .[test]
from test_classroom import two_exercises

from bertlib import classroom, grading
from bertlib import student as student_edition
from bertlib.cells import grade_id, is_begin, is_end, is_solution

ROOT = Path(__file__).resolve().parent.parent
# The two cheapest lessons to run (about 11 s each), and the 2-point exercise solved in each.
LESSONS = {"02_tokenization": "ex2-3", "03_embeddings": "ex3-5"}
STUDENTS = ("blank", "one", "key")


def answer(source: str) -> str:
    """What a student who solved the exercise hands in: the answer key's code, without the markers."""
    return "\n".join(line for line in source.splitlines() if not (is_begin(line) or is_end(line)))


def submission(release: Path, key: Path, solved: set[str] | None):
    """The released notebook with the answer key's solution cells for `solved` (None: all of them)."""
    nb = nbformat.read(release, as_version=4)
    answers = {grade_id(c): c.source for c in nbformat.read(key, as_version=4).cells if is_solution(c)}
    for cell in nb.cells:
        gid = grade_id(cell)
        if is_solution(cell) and gid in answers and (solved is None or gid in solved):
            cell.source = answer(answers[gid])
    return nb


def nbgrader_start(course: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")  # alembic
    env.pop("NBGRADER_EXECUTION", None)
    return subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def nbgrader_wait(process: subprocess.Popen) -> str:
    """nbgrader's standard output; its log (standard error) only when it failed."""
    stdout, stderr = process.communicate(timeout=900)
    log = stdout + stderr
    assert process.returncode == 0 and "[ERROR]" not in log, log[-4000:]
    return stdout


def nbgrader(course: Path, *args: str) -> str:
    return nbgrader_wait(nbgrader_start(course, *args))


def course_with(tmp: Path, sources: list[Path], timeout: int = 300) -> Path:
    """A course folder with one assignment, `ps`, made of `sources`, released by nbgrader."""
    course = tmp / "course"
    (course / "source" / "ps").mkdir(parents=True)
    for src in sources:
        shutil.copy(src, course / "source" / "ps" / src.name)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.Execute.timeout = {timeout}  # seconds per cell; nbgrader's default is 30\n"
    )
    nbgrader(course, "generate_assignment", "ps")
    return course


def submit(course: Path, student: str, name: str, nb) -> Path:
    folder = course / "submitted" / student / "ps"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder


def nbgrader_scores(course: Path) -> dict[tuple[str, str], dict[str, float]]:
    """{(student, notebook): {grade_id: score}} from nbgrader's gradebook."""
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            for nb in gb.find_submission("ps", student.id).notebooks:
                out[student.id, nb.name] = {g.name: g.score for g in nb.grades}
    return out


def bertlib_scores(folder: Path, release: Path) -> dict[str, dict[str, float]]:
    rows = grading.grade_path(folder, release, timeout=900)
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        out.setdefault(Path(r.notebook).stem, {})[r.exercise] = r.points
    return out


@pytest.fixture(scope="module")
def graded_lessons(tmp_path_factory):
    """Two lessons released and autograded by nbgrader for three students, and graded by bertlib."""
    tmp = tmp_path_factory.mktemp("nbgrader")
    lessons = [ROOT / "lessons" / f"{name}.ipynb" for name in LESSONS]
    course = course_with(tmp, lessons)
    folders = {}
    for lesson in lessons:
        release = course / "release" / "ps" / lesson.name
        solved = {"blank": set(), "one": {f"{LESSONS[lesson.stem]}-solution"}, "key": None}
        for student in STUDENTS:
            folders[student] = submit(course, student, lesson.name, submission(release, lesson, solved[student]))
    autograde = nbgrader_start(course, "autograde", "ps")  # both graders at once: each runs one kernel at a time
    try:
        ours = {student: bertlib_scores(folders[student], ROOT / "lessons") for student in STUDENTS}
    finally:
        nbgrader_wait(autograde)
    return nbgrader_scores(course), ours


@pytest.mark.slow
@pytest.mark.parametrize("lesson", list(LESSONS))
def test_nbgrader_and_bertlib_score_a_lesson_alike(lesson, graded_lessons):
    theirs, ours = graded_lessons
    points = {e.grade_id: e.points for e in classroom.list_exercises(ROOT / "lessons" / f"{lesson}.ipynb")}
    solved = f"{LESSONS[lesson]}-check"
    expected = {
        "blank": dict.fromkeys(points, 0.0),
        "one": {g: (p if g == solved else 0.0) for g, p in points.items()},
        "key": points,
    }
    for student in STUDENTS:
        got = theirs[student, lesson]
        print(f"nbgrader {lesson} {student}: {sum(got.values()):g}/{sum(points.values()):g} {got}")
        assert got == expected[student], f"nbgrader, {student}"
        assert ours[student][lesson] == got, f"bertlib's grader disagrees with nbgrader, {student}"
    assert sum(expected["one"].values()) == 2  # the exercise solved is worth 2 of the lesson's points


def test_nbgrader_validate_fails_a_blank_student_edition_and_passes_the_answer_key(tmp_path):
    """`nbgrader validate`, the students' "Validate" button, on bertlib's student edition (quick: no lesson runs)."""
    key = two_exercises(tmp_path, "attention.ipynb")
    (blank,) = student_edition.make_student_edition(key, tmp_path / "student")
    one = tmp_path / "one.ipynb"
    nbformat.write(submission(blank, key, {"ex-heads"}), one)
    out = nbgrader(tmp_path, "validate", str(blank), str(one), str(key))
    reports = re.split(r"(?m)^(?=VALIDATION FAILED|Success!)", out)[1:]  # one report per notebook, in order
    assert len(reports) == 3, out
    assert "VALIDATION FAILED ON 2 CELL(S)" in reports[0] and "Not implemented yet" in reports[0]
    assert "VALIDATION FAILED ON 1 CELL(S)" in reports[1] and "check_attention_weights" in reports[1]
    assert "Success! Your notebook passes all the tests." in reports[2]
