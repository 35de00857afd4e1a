"""bertlib.execution: notebooks never wait silently (issue 12), and scripts/execute_lessons.py keeps the cache honest."""

from __future__ import annotations

import time

import nbformat
import pytest
from helpers import load_script
from nbclient.exceptions import CellExecutionError

from bertlib.execution import CellTimeout, GuardedClient, StallError, execute_notebook, first_line

# An ipywidgets `interact` cell: nbclient's Output widget answers each of its outputs with a
# comm_msg on the shell socket, the send that can swallow the wakeup of the cell's reply.
INTERACT = (
    "@widgets.interact(x=(0, 10))\n"
    "def show(x=3):\n"
    "    print('x is', x)\n"
    "    display({'text/plain': str(x * x)}, raw=True)"
)


def notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_first_line_skips_comments_and_blanks():
    assert first_line("\n# setup\n  x = 1\ny = 2") == "x = 1"
    assert first_line("# only a comment") == "# only a comment"


@pytest.mark.slow
def test_interact_cells_never_wait_for_a_missed_wakeup():
    """The stall's reproduction: interact cells, run again and again; each run takes seconds, never a timeout.

    With plain nbclient (timeout 20 s) about one run in seven of this notebook took 20 or 40 s:
    the reply sat in the socket until the poll's timer (see bertlib/execution.py).
    """
    nb = notebook("import ipywidgets as widgets\nfrom IPython.display import display", *[INTERACT] * 6)
    times, late = [], []
    for _ in range(12):
        work = nbformat.from_dict(nb)
        client = GuardedClient(work, timeout=20)
        start = time.monotonic()
        client.execute()
        times.append(time.monotonic() - start)
        late += client.late_replies
        assert all(c.outputs or c.source.startswith("import") for c in work.cells)
    assert max(times) < 10, f"a run waited for a reply: {[round(t, 1) for t in times]} s"
    assert all(lag < 5 for lag in late), late


STOP_ONCE = (
    "import os, pathlib, signal\n"
    "marker = pathlib.Path('stopped-once')\n"
    "if not marker.exists():\n"
    "    marker.touch()\n"
    "    os.kill(os.getpid(), signal.SIGSTOP)  # the kernel goes silent: no CPU, no messages"
)


@pytest.mark.slow
def test_a_silent_kernel_is_a_stall_detected_in_seconds_and_the_notebook_runs_again(tmp_path, caplog):
    nb = notebook("x = 1", STOP_ONCE, "y = x + 1\ny")
    start = time.monotonic()
    report = execute_notebook(nb, cwd=str(tmp_path), timeout=120, stall_seconds=3)
    assert time.monotonic() - start < 60
    assert report.attempts == 2 and len(report.stalls) == 1
    assert "cell 1 (`import os, pathlib, signal`) stalled" in report.stalls[0]
    assert "never seen: " in report.stalls[0] and "execute_reply" in report.stalls[0]
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "2"  # the second attempt ran to the end
    assert any("STALL" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_a_stall_on_the_retry_too_is_an_error_naming_the_cell(tmp_path):
    nb = notebook("import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)")
    with pytest.raises(StallError, match=r"cell 0 \(`import os, signal`\) stalled"):
        execute_notebook(nb, cwd=str(tmp_path), timeout=120, stall_seconds=3)


@pytest.mark.slow
def test_a_cell_over_budget_fails_with_its_index_and_line(tmp_path):
    nb = notebook("x = 1", "import time\ntime.sleep(30)")
    with pytest.raises(CellTimeout, match=r"cell 1 \(`import time`\) ran past its 3 s budget"):
        execute_notebook(nb, cwd=str(tmp_path), timeout=3, stall_seconds=60)


@pytest.mark.slow
def test_a_failing_cell_is_not_retried(tmp_path):
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        execute_notebook(notebook("1 / 0"), cwd=str(tmp_path), timeout=60)


def test_the_fingerprint_covers_bertlib_and_the_lock(tmp_path):
    ex = load_script("execute_lessons")
    (tmp_path / "bertlib").mkdir()
    (tmp_path / "bertlib" / "model.py").write_text("x = 1\n")
    (tmp_path / "requirements.lock").write_text("torch==2.13.0\n")
    before = ex.source_fingerprint(tmp_path)
    (tmp_path / "bertlib" / "model.py").write_text("x = 2\n")
    assert ex.source_fingerprint(tmp_path) != before
    (tmp_path / "bertlib" / "model.py").write_text("x = 1\n")
    assert ex.source_fingerprint(tmp_path) == before
    (tmp_path / "requirements.lock").write_text("torch==2.14.0\n")
    assert ex.source_fingerprint(tmp_path) != before


def test_every_lesson_has_a_time_budget():
    """Each lesson's cells are bounded by its own measured budget, not a blanket 600 s."""
    ex = load_script("execute_lessons")
    for path in ex.toc_notebooks():
        nb = nbformat.read(path, as_version=4)
        timeout = nb.metadata.get("execution", {}).get("timeout")
        assert isinstance(timeout, int) and 60 <= timeout <= 600, f"{path.name}: execution.timeout is {timeout!r}"


@pytest.mark.slow
def test_a_notebook_is_executed_again_when_bertlib_changes(tmp_path, monkeypatch, capsys):
    ex = load_script("execute_lessons")
    from jupyter_cache import get_cache

    path = tmp_path / "lesson.ipynb"
    nbformat.write(notebook("1 + 1"), path)
    cache = get_cache(tmp_path / "cache")
    first = ex.execute_into_cache(path, cache, "bertlib-A", stall_seconds=60, force=False)
    assert "executed in" in first
    assert "current" in ex.execute_into_cache(path, cache, "bertlib-A", stall_seconds=60, force=False)
    again = ex.execute_into_cache(path, cache, "bertlib-B", stall_seconds=60, force=False)
    assert "executed in" in again and "bertlib or the lock changed" in capsys.readouterr().out
    record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
    assert record.data["bertlib_source"] == "bertlib-B"
    assert cache.get_cached_project_nb(str(path)) is not None  # where myst-nb looks
