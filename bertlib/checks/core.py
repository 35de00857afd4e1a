"""The exercise-check framework: run the reader's code against the reference, say what is wrong.

For a reader, a check never raises for a wrong or unfinished answer: it
returns a :class:`CheckResult` that shows as a green or red box in Jupyter,
so "Run All" on a notebook with unfinished exercises still runs to the end.

Under a grader, that is, when the environment variable ``NBGRADER_EXECUTION``
is set (nbgrader sets it to ``autograde`` or ``validate`` for the kernel, and
``python -m bertlib grade`` sets it too), a check that does not pass raises
:class:`ExerciseFailed`, so nbgrader scores the cell 0. A check that passes
is shown as display data rather than as the cell's result, which nbgrader
would try to read as partial credit; with no result, nbgrader gives the cell
full points. While the checker runs under a grader, what it writes to stderr
(warnings) goes to stdout instead, because nbgrader scores a cell that writes
to stderr 0 too.

Every result is also appended, as one JSON line, to the file named by the
environment variable ``BERTLIB_GRADE_FILE`` when it is set: that is how
bertlib's autograder collects the checks' messages.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

__all__ = [
    "CheckResult",
    "Exercise",
    "EXERCISES",
    "exercise",
    "compare",
    "CheckFailure",
    "ExerciseFailed",
    "grading",
    "run_check",
]


@dataclass
class CheckResult:
    """The outcome of one exercise check."""

    exercise: str
    passed: bool
    message: str
    points: float
    max_points: float

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        return f"[{mark}] {self.exercise} ({self.points:g}/{self.max_points:g}): {self.message}"

    def _repr_html_(self) -> str:
        color, mark = ("#1a7f37", "✔") if self.passed else ("#cf222e", "✘")
        return (
            f'<div class="bertlib-check" style="border-left:4px solid {color};padding:4px 10px;margin:4px 0">'
            f'<b style="color:{color}">{mark} {html.escape(self.exercise)}</b> '
            f"({self.points:g}/{self.max_points:g} points)<br>{html.escape(self.message)}</div>"
        )


class _GradedResult(CheckResult):
    """A passing result under a grader: shown as display data, so nbgrader does not read it as points.

    nbgrader reads a graded cell's ``execute_result`` as partial credit, and warns (and
    may one day fail) when that text is not a number; display data it leaves alone.
    """

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display({"text/plain": repr(self), "text/html": self._repr_html_()}, raw=True)


@dataclass(frozen=True)
class Exercise:
    """An exercise the book poses: its id (``chapter.topic``), title, points and checker."""

    id: str
    title: str
    points: float
    checker: Callable[..., str]


EXERCISES: dict[str, Exercise] = {}


class CheckFailure(Exception):
    """Raised inside a checker to report a wrong answer; its message is shown to the reader."""


class ExerciseFailed(AssertionError):
    """Raised by a check that does not pass under a grader (``NBGRADER_EXECUTION`` set): the cell scores 0."""

    def __init__(self, result: CheckResult):
        super().__init__(repr(result))
        self.result = result


def grading() -> bool:
    """Whether a grader runs this kernel: nbgrader (autograde, validate) or ``python -m bertlib grade``."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def exercise(id: str, title: str, points: float = 1.0):
    """Register a checker. It takes the reader's answer, raises CheckFailure if wrong, returns a success note."""

    def register(checker: Callable[..., str]) -> Callable[..., CheckResult]:
        EXERCISES[id] = Exercise(id, title, points, checker)

        def check(*args, **kwargs) -> CheckResult:
            __tracebackhide__ = True  # IPython shows the check cell, not bertlib's frames
            return run_check(id, *args, **kwargs)

        check.__doc__ = checker.__doc__
        check.__name__ = checker.__name__
        check.exercise_id = id
        return check

    return register


def run_check(id: str, *args, **kwargs) -> CheckResult:
    """Run a registered checker and turn every way of failing into a helpful message.

    Returns the :class:`CheckResult`; under a grader, raises :class:`ExerciseFailed` instead
    of returning a result that did not pass.
    """
    __tracebackhide__ = True
    ex = EXERCISES[id]
    graded = grading()
    try:
        if any(a is NotImplemented for a in (*args, *kwargs.values())):
            raise NotImplementedError
        with contextlib.redirect_stderr(sys.stdout) if graded else contextlib.nullcontext():
            note = ex.checker(*args, **kwargs)
        result = CheckResult(id, True, note or "Correct.", ex.points, ex.points)
    except NotImplementedError:
        result = CheckResult(
            id,
            False,
            "Not implemented yet: replace `raise NotImplementedError` (or `NotImplemented`) with your code.",
            0.0,
            ex.points,
        )
    except CheckFailure as e:
        result = CheckResult(id, False, str(e), 0.0, ex.points)
    except Exception as e:  # the reader's code crashed: show where, briefly
        where = traceback.extract_tb(e.__traceback__)[-1]
        result = CheckResult(
            id,
            False,
            f"Your code raised {type(e).__name__}: {e} (line {where.lineno}: `{(where.line or '').strip()}`).",
            0.0,
            ex.points,
        )
    _record(result)
    if graded and not result.passed:
        raise ExerciseFailed(result) from None
    return _GradedResult(**asdict(result)) if graded else result


def _record(result: CheckResult) -> None:
    path = os.environ.get("BERTLIB_GRADE_FILE")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(asdict(result)) + "\n")


def compare(what: str, got, want: torch.Tensor, atol: float = 1e-5, hint: str = "", case: str = "") -> None:
    """Raise CheckFailure unless ``got`` is a tensor of ``want``'s shape with values within ``atol``."""
    where = f" ({case})" if case else ""
    if not isinstance(got, torch.Tensor):
        raise CheckFailure(f"{what}{where}: expected a torch.Tensor, got {type(got).__name__}.")
    if got.shape != want.shape:
        raise CheckFailure(f"{what}{where}: shape {tuple(got.shape)}, expected {tuple(want.shape)}. {hint}".strip())
    got, want = got.detach(), want.detach()  # reading values must not warn about autograd
    diff = (got.double() - want.double()).abs()
    if torch.isnan(diff).any():
        raise CheckFailure(f"{what}{where}: contains NaN. {hint}".strip())
    worst = float(diff.max()) if diff.numel() else 0.0
    if worst > atol:
        idx = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0])
        raise CheckFailure(
            f"{what}{where}: largest difference {worst:.3g} at index {idx} "
            f"(got {float(got[idx]):.4g}, expected {float(want[idx]):.4g}). {hint}".strip()
        )
