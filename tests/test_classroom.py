"""The student edition and the autograder (python -m bertlib student|grade)."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from bertlib import classroom

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
    out = classroom.strip_solution(HEADS_OK, "ex-heads")
    assert out.splitlines() == [
        "def split_heads(x, num_heads):",
        "    # YOUR CODE HERE",
        '    raise NotImplementedError("ex-heads: your code here")',
    ]
    with pytest.raises(ValueError, match="without a matching"):
        classroom.strip_solution("### BEGIN SOLUTION\nx = 1", "bad")
    with pytest.raises(ValueError, match="no '### BEGIN SOLUTION'"):
        classroom.strip_solution("x = 1", "bad")


def test_student_edition(tmp_path):
    src = two_exercises(tmp_path, "lesson.ipynb")
    nb = nbformat.read(src, as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="hi")]
    nb.cells[1].metadata["tags"].append("hide-cell")
    nbformat.write(nb, src)
    (out,) = classroom.make_student_edition(src, tmp_path / "student")
    student = nbformat.read(out, as_version=4)
    assert "raise NotImplementedError" in student.cells[1].source and "softmax" not in student.cells[1].source
    assert student.cells[1].outputs == [] and student.cells[1].metadata["tags"] == ["solution"]
    assert student.cells[1].metadata["nbgrader"]["solution"] is True  # still importable by nbgrader
    assert student.cells[2].source == nb.cells[2].source  # checks are kept


def test_one_right_one_wrong_gets_exactly_that(tmp_path):
    path = two_exercises(tmp_path, "mixed.ipynb", weights=WEIGHTS_WRONG)
    rows = classroom.grade_notebook(path, timeout=120)
    assert [(r.exercise, r.passed, r.points, r.max_points) for r in rows] == [
        ("ex-weights-check", False, 0, 1),
        ("ex-heads-check", True, 2, 2),
    ]
    assert "largest difference" in rows[0].message and rows[0].check == "attention.weights"


def test_a_crash_in_one_exercise_still_grades_the_others(tmp_path):
    path = two_exercises(tmp_path, "crash.ipynb", weights="attention_weights = undefined_name + 1")
    rows = classroom.grade_notebook(path, timeout=120)
    assert not rows[0].passed and "NameError" in rows[0].message
    assert rows[1].passed


def test_endless_loop_is_stopped_by_the_time_limit(tmp_path):
    path = notebook(
        tmp_path,
        "loop.ipynb",
        solution("ex-loop", "### BEGIN SOLUTION\nwhile True:\n    pass\n### END SOLUTION"),
        check("ex-loop-check", "bertlib.checks.check_split_heads(lambda x, n: x)"),
    )
    rows = classroom.grade_notebook(path, timeout=15)
    assert len(rows) == 1 and not rows[0].passed and "time limit" in rows[0].message


def test_command_line_writes_table_and_json(tmp_path):
    path = two_exercises(tmp_path, "cli.ipynb")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bertlib",
            "grade",
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


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_student_edition_scores_zero_with_a_message_for_every_exercise(lesson, tmp_path):
    # (The answer key's full marks are checked on the book build's executed notebooks,
    # tests/test_book.py::test_answer_key_passes_every_check, so the lessons run once there.)
    expected = classroom.list_exercises(lesson)
    assert expected, f"{lesson.name} has no checked exercises"
    (student,) = classroom.make_student_edition(lesson, tmp_path / lesson.name)
    rows = classroom.grade_notebook(student, timeout=900, cwd=str(lesson.parent))
    assert [r.exercise for r in rows] == [e.grade_id for e in expected]
    assert not any(r.passed for r in rows), classroom.format_table(rows)
    for r in rows:  # every exercise says what to do; nothing crashed the run or timed out
        assert "Not implemented yet" in r.message or "NotImplementedError" in r.message, r


def test_stubbed_top_level_answer_reads_as_not_implemented(tmp_path):
    src = notebook(
        tmp_path,
        "predict.ipynb",
        solution("ex-rowsum", "### BEGIN SOLUTION\nrow_sum = 1.0\n### END SOLUTION"),
        check("ex-rowsum-check", "assert row_sum == 1.0"),
    )
    (student,) = classroom.make_student_edition(src, tmp_path / "student")
    (row,) = classroom.grade_notebook(student, timeout=60)
    assert not row.passed and "Not implemented yet" in row.message


def test_plain_assert_check_cells_follow_nbgrader_rules(tmp_path):
    path = notebook(
        tmp_path,
        "asserts.ipynb",
        solution("ex-a", "### BEGIN SOLUTION\nrow_sum = 1.0\n### END SOLUTION"),
        check("ex-a-check", "assert row_sum == 1.0"),
        check("ex-b-check", "assert row_sum == 2.0, 'rows sum to 1'"),
    )
    rows = classroom.grade_notebook(path, timeout=60)
    assert [(r.passed, r.points) for r in rows] == [(True, 1), (False, 0)]
    assert "AssertionError: rows sum to 1" in rows[1].message


def test_solution_markers_inside_an_expression_are_rejected(tmp_path):
    src = notebook(
        tmp_path,
        "bad.ipynb",
        solution("ex-dict", 'rates = {\n    ### BEGIN SOLUTION\n    "a": 1,\n    ### END SOLUTION\n}'),
    )
    with pytest.raises(ValueError, match="not valid Python"):
        classroom.make_student_edition(src, tmp_path / "out")
