"""The student edition and the autograder (python -m bertlib student|grade)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import bertlib
from bertlib import classroom, grading
from bertlib import student as student_edition

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))


def solution(grade_id, body):
    cell = nbformat.v4.new_code_cell(body)
    cell.metadata = {
        "tags": ["solution"],
        "nbgrader": {
            "grade": False,
            "grade_id": grade_id,
            "locked": False,
            "schema_version": 3,
            "solution": True,
            "task": False,
        },
    }
    return cell


def check(grade_id, body, points=1):
    cell = nbformat.v4.new_code_cell(body)
    cell.metadata = {
        "tags": ["check"],
        "nbgrader": {
            "grade": True,
            "grade_id": grade_id,
            "locked": True,
            "points": points,
            "schema_version": 3,
            "solution": False,
            "task": False,
        },
    }
    return cell


WEIGHTS_OK = """import math
def attention_weights(q, k):
    ### BEGIN SOLUTION
    return (q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))).softmax(-1)
    ### END SOLUTION"""
WEIGHTS_WRONG = WEIGHTS_OK.replace(" / math.sqrt(q.size(-1))", "")
HEADS_OK = """def split_heads(x, num_heads):
    ### BEGIN SOLUTION
    B, T, H = x.shape
    return x.view(B, T, num_heads, H // num_heads).transpose(1, 2)
    ### END SOLUTION"""


def notebook(tmp_path, name, *cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import bertlib"), *cells]
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def two_exercises(tmp_path, name, weights=WEIGHTS_OK, heads=HEADS_OK):
    return notebook(
        tmp_path,
        name,
        solution("ex-weights", weights),
        check("ex-weights-check", "bertlib.checks.check_attention_weights(attention_weights)"),
        solution("ex-heads", heads),
        check("ex-heads-check", "bertlib.checks.check_split_heads(split_heads)", points=2),
    )


def test_strip_solution_keeps_the_surrounding_code():
    out = student_edition.strip_solution(HEADS_OK, "ex-heads")
    assert out.splitlines() == [
        "def split_heads(x, num_heads):",
        "    # YOUR CODE HERE",
        '    raise NotImplementedError("ex-heads: your code here")',
    ]
    with pytest.raises(ValueError, match="without a matching"):
        student_edition.strip_solution("### BEGIN SOLUTION\nx = 1", "bad")
    with pytest.raises(ValueError, match="no '### BEGIN SOLUTION'"):
        student_edition.strip_solution("x = 1", "bad")
    with pytest.raises(ValueError, match="without a '### BEGIN SOLUTION' before it"):
        student_edition.strip_solution("x = 1\n### END SOLUTION", "bad")


def test_nested_solution_blocks_are_rejected():
    nested = "### BEGIN SOLUTION\na = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\nsecret = 3\n### END SOLUTION"
    with pytest.raises(ValueError, match="cannot nest"):
        student_edition.strip_solution(nested, "nested")


def test_top_level_stub_keeps_run_all_going():
    """A stub at the top level of a cell assigns NotImplemented instead of raising, so "Run All" goes on."""
    src = "x = 1\n### BEGIN SOLUTION\nuntrained = 0.69\na, b = 1, 2\n### END SOLUTION"
    out = student_edition.strip_solution(src, "ex7-3-solution")
    assert out.splitlines()[1:] == [
        "# YOUR CODE HERE: replace NotImplemented with your answer (ex7-3-solution)",
        "untrained = NotImplemented",
        "a = NotImplemented",
        "b = NotImplemented",
    ]
    other = student_edition.strip_solution("### BEGIN SOLUTION\nprint(42)\n### END SOLUTION", "ex")
    assert "raise NotImplementedError" in other  # not an assignment: nothing to stand in for
    r = bertlib.checks.check_split_heads(NotImplemented)
    assert not r and "Not implemented yet" in r.message


def test_student_edition(tmp_path):
    src = two_exercises(tmp_path, "lesson.ipynb")
    nb = nbformat.read(src, as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="hi")]
    nb.cells[1].metadata["tags"].append("hide-cell")
    nbformat.write(nb, src)
    (out,) = student_edition.make_student_edition(src, tmp_path / "student")
    student = nbformat.read(out, as_version=4)
    assert "raise NotImplementedError" in student.cells[1].source and "softmax" not in student.cells[1].source
    assert student.cells[1].outputs == [] and student.cells[1].metadata["tags"] == ["solution"]
    assert student.cells[1].metadata["nbgrader"]["solution"] is True  # still importable by nbgrader
    assert student.cells[2].source == nb.cells[2].source  # checks are kept


def test_student_edition_strips_every_solution_whatever_its_tags(tmp_path):
    untagged = nbformat.v4.new_code_cell(
        "def f():\n    ### BEGIN SOLUTION\n    return 'untagged answer'\n    ### END SOLUTION"
    )
    capital = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 'capital answer'\n### END SOLUTION")
    capital.metadata = {"tags": ["Solution"]}
    prose = nbformat.v4.new_markdown_cell("Why?\n\n### BEGIN SOLUTION\nBecause of the prose answer.\n### END SOLUTION")
    src = notebook(tmp_path, "leaky.ipynb", untagged, capital, prose)
    with pytest.warns(UserWarning, match="nbgrader would refuse"):
        (out,) = student_edition.make_student_edition(src, tmp_path / "student")
    text = out.read_text()
    assert "answer'" not in text and "prose answer" not in text and "SOLUTION" not in text
    cells = nbformat.read(out, as_version=4).cells
    assert "raise NotImplementedError" in cells[1].source and "answer = NotImplemented" in cells[2].source
    assert "YOUR ANSWER HERE" in cells[3].source and cells[3].source.startswith("Why?")


def test_student_edition_never_overwrites_the_answer_key(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    src = two_exercises(lessons, "lesson.ipynb")
    key = src.read_bytes()
    for dst in (lessons, tmp_path / "lessons" / ".." / "lessons", lessons / "."):
        with pytest.raises(ValueError, match="over itself"):
            student_edition.make_student_edition(lessons, dst)
    with pytest.raises(ValueError, match="is a file"):
        student_edition.make_student_edition(lessons, src)
    with pytest.raises(ValueError, match="over itself"):
        student_edition.make_student_edition(src, src)
    with pytest.raises(ValueError, match="over itself"):
        student_edition.make_student_edition(src, lessons)  # a folder destination: lessons/lesson.ipynb again
    (tmp_path / "link").symlink_to(lessons)
    with pytest.raises(ValueError, match="over itself"):
        student_edition.make_student_edition(lessons, tmp_path / "link")
    assert src.read_bytes() == key


def test_one_right_one_wrong_gets_exactly_that(tmp_path):
    path = two_exercises(tmp_path, "mixed.ipynb", weights=WEIGHTS_WRONG)
    rows = grading.grade_notebook(path, release=path, timeout=120)
    assert [(r.exercise, r.passed, r.points, r.max_points) for r in rows] == [
        ("ex-weights-check", False, 0, 1),
        ("ex-heads-check", True, 2, 2),
    ]
    assert "largest difference" in rows[0].message and rows[0].check == "attention.weights"


def test_a_crash_in_one_exercise_still_grades_the_others(tmp_path):
    path = two_exercises(tmp_path, "crash.ipynb", weights="attention_weights = undefined_name + 1")
    rows = grading.grade_notebook(path, release=path, timeout=120)
    assert not rows[0].passed and "NameError" in rows[0].message
    assert rows[1].passed


def test_a_loop_is_stopped_by_the_time_limit_and_a_dead_kernel_is_reported_as_such(tmp_path):
    release = notebook(
        tmp_path,
        "loop.ipynb",
        solution("ex-loop", "### BEGIN SOLUTION\nwhile True:\n    pass\n### END SOLUTION"),
        check("ex-loop-check", "bertlib.checks.check_split_heads(lambda x, n: x)"),
    )
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    shutil.copy(release, submissions / "loop.ipynb")
    dead = nbformat.read(release, as_version=4)
    dead.cells[1].source = "import os\nos._exit(1)"
    nbformat.write(dead, submissions / "dead.ipynb")
    rows = {r.notebook: r for r in grading.grade_path(submissions, release, timeout=15)}
    assert not rows["loop.ipynb"].passed and "time limit" in rows["loop.ipynb"].message
    assert not rows["dead.ipynb"].passed and "kernel died" in rows["dead.ipynb"].message
    assert "time limit" not in rows["dead.ipynb"].message


def test_the_grader_trusts_nothing_in_a_submission(tmp_path):
    release = two_exercises(tmp_path, "lesson.ipynb")
    submissions = tmp_path / "submissions"
    submissions.mkdir()

    def submit(name, change=lambda cells: None):
        nb = nbformat.read(release, as_version=4)
        change(nb.cells)
        nbformat.write(nb, submissions / name)

    def tamper(cells):  # a wrong answer, its check emptied, the other worth 100 points, a cell of its own
        cells[1].source = WEIGHTS_WRONG
        cells[2].source = "pass"
        cells[4].metadata["nbgrader"]["points"] = 100
        cells.append(check("my-bonus", "pass", points=50))

    def fake(cells):  # a check function replaced in the kernel: it reports nothing, so nothing is earned
        cells[3].source = "bertlib.checks.check_split_heads = lambda f: 'ok'\n" + HEADS_OK

    submit(
        "a_deletes_b.ipynb", lambda cells: cells.insert(1, nbformat.v4.new_code_cell("import os\nos.remove('b.ipynb')"))
    )
    submit("b.ipynb")
    submit("c_tampers.ipynb", tamper)
    submit("d_deletes_its_checks.ipynb", lambda cells: [cells.pop(4), cells.pop(2)])
    submit("e_fakes_a_check.ipynb", fake)
    (submissions / "f_not_json.ipynb").write_text("this is not a notebook")
    rows = grading.grade_path(submissions, release, timeout=120)
    got = {(r.notebook, r.exercise): (r.points, r.max_points) for r in rows}
    assert got == {
        ("a_deletes_b.ipynb", "ex-weights-check"): (1, 1),
        ("a_deletes_b.ipynb", "ex-heads-check"): (2, 2),
        ("b.ipynb", "ex-weights-check"): (1, 1),
        ("b.ipynb", "ex-heads-check"): (2, 2),
        ("c_tampers.ipynb", "ex-weights-check"): (0, 1),
        ("c_tampers.ipynb", "ex-heads-check"): (2, 2),
        ("d_deletes_its_checks.ipynb", "ex-weights-check"): (1, 1),
        ("d_deletes_its_checks.ipynb", "ex-heads-check"): (2, 2),
        ("e_fakes_a_check.ipynb", "ex-weights-check"): (1, 1),
        ("e_fakes_a_check.ipynb", "ex-heads-check"): (0, 2),
        ("f_not_json.ipynb", "ex-weights-check"): (0, 1),
        ("f_not_json.ipynb", "ex-heads-check"): (0, 2),
    }, grading.format_table(rows)
    assert (submissions / "b.ipynb").is_file()
    messages = {(r.notebook, r.exercise): r.message for r in rows}
    assert "No result from the check attention.split_heads" in messages["e_fakes_a_check.ipynb", "ex-heads-check"]
    assert "not a readable notebook" in messages["f_not_json.ipynb", "ex-weights-check"]


def test_command_line_writes_table_and_json(tmp_path):
    path = two_exercises(tmp_path, "cli.ipynb")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bertlib",
            "grade",
            str(path),
            "--release",
            str(path),
            "--timeout",
            "120",
            "--json",
            str(tmp_path / "grades.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "TOTAL" in out.stdout and "3/3" in out.stdout
    rows = json.loads((tmp_path / "grades.json").read_text())
    assert {r["exercise"]: r["passed"] for r in rows} == {"ex-weights-check": True, "ex-heads-check": True}
    assert set(rows[0]) == {"notebook", "exercise", "check", "passed", "points", "max_points", "message"}


# Grading a student edition runs the whole lesson: most of this file's time. The editions are
# graded two at a time, each kernel on one thread (OMP_NUM_THREADS=1), longest first. On this
# 2-core machine one thread trains about 1.3x slower than two, so two kernels side by side get
# through the lessons about 1.5x faster than one after the other. Only the messages are checked
# here, never a number, so the thread count cannot change what the test sees.
_GRADE_ONE = """
import dataclasses, json, sys
from bertlib import grading
rows = grading.grade_notebook(sys.argv[1], release=sys.argv[2], timeout=900, cwd=sys.argv[3])
print(json.dumps([dataclasses.asdict(r) for r in rows]))
"""
_COST = {"10_transfer_real_bert": 300, "06_mlm": 130, "11_after_bert": 120, "09_finetuning": 105}


@pytest.fixture(scope="session")
def student_grades(request, tmp_path_factory):
    """The grade rows of each selected lesson's student edition, graded as separate processes."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    wanted = {
        item.callspec.params["lesson"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_student_edition_scores_zero_with_a_message_for_every_exercise"
    }
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def grade(lesson: Path) -> list[grading.GradeRow] | str:
        (student,) = student_edition.make_student_edition(lesson, tmp_path_factory.mktemp(lesson.stem) / lesson.name)
        done = subprocess.run(
            [sys.executable, "-c", _GRADE_ONE, str(student), str(lesson), str(lesson.parent)],
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
        )
        if done.returncode != 0:
            return f"grading {lesson.name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        return [grading.GradeRow(**r) for r in json.loads(done.stdout.strip().splitlines()[-1])]

    order = sorted(wanted, key=lambda p: -_COST.get(p.stem, 30))
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(order, pool.map(grade, order), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_student_edition_scores_zero_with_a_message_for_every_exercise(lesson, student_grades):
    # (The answer key's full marks are checked on the book build's executed notebooks,
    # tests/test_book.py::test_answer_key_passes_every_check, so the lessons run once there;
    # tests/test_nbgrader.py grades the answer key of two lessons with nbgrader and bertlib.)
    expected = classroom.list_exercises(lesson)
    assert expected, f"{lesson.name} has no checked exercises"
    rows = student_grades[lesson]
    assert not isinstance(rows, str), rows
    assert [r.exercise for r in rows] == [e.grade_id for e in expected]
    assert not any(r.passed for r in rows), grading.format_table(rows)
    for r in rows:  # every exercise says what to do; nothing crashed the run or timed out
        assert "Not implemented yet" in r.message or "NotImplementedError" in r.message, r


def test_stubbed_top_level_answer_reads_as_not_implemented(tmp_path):
    src = notebook(
        tmp_path,
        "predict.ipynb",
        solution("ex-rowsum", "### BEGIN SOLUTION\nrow_sum = 1.0\n### END SOLUTION"),
        check("ex-rowsum-check", "assert row_sum == 1.0"),
    )
    (student,) = student_edition.make_student_edition(src, tmp_path / "student")
    (row,) = grading.grade_notebook(student, release=src, timeout=60)
    assert not row.passed and "Not implemented yet" in row.message


def test_plain_assert_check_cells_follow_nbgrader_rules(tmp_path):
    path = notebook(
        tmp_path,
        "asserts.ipynb",
        solution("ex-a", "### BEGIN SOLUTION\nrow_sum = 1.0\n### END SOLUTION"),
        check("ex-a-check", "assert row_sum == 1.0"),
        check("ex-b-check", "assert row_sum == 2.0, 'rows sum to 1'"),
        check("ex-c-check", "import sys\nprint('no', file=sys.stderr)"),
        check("ex-d-check", "0.5", points=2),
    )
    rows = grading.grade_notebook(path, release=path, timeout=60)
    assert [(r.passed, r.points) for r in rows] == [(True, 1), (False, 0), (False, 0), (False, 0.5)]
    assert "AssertionError: rows sum to 1" in rows[1].message
    assert "stderr" in rows[2].message and "Partial credit" in rows[3].message


def test_solution_markers_inside_an_expression_are_rejected(tmp_path):
    src = notebook(
        tmp_path,
        "bad.ipynb",
        solution("ex-dict", 'rates = {\n    ### BEGIN SOLUTION\n    "a": 1,\n    ### END SOLUTION\n}'),
    )
    with pytest.raises(ValueError, match="not valid Python"):
        student_edition.make_student_edition(src, tmp_path / "out")
