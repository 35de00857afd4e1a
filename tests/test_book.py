"""The book build: every lesson in the table of contents is built and executed
without an error, and the build command really fails on warnings.

Reads what `make book` leaves behind: the jupyter-cache of executed notebooks
(_build/.jupyter_cache, written by scripts/execute_lessons.py; the executed
notebook the site renders is the cached run merged into the lesson, as myst-nb
does) and myst-nb's execution reports (_build/html/reports/, written only when
a notebook fails). Not _build/jupyter_execute/: myst-nb writes the unexecuted
notebook there when it renders from the cache.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from helpers import load_script

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
execute_lessons = load_script("execute_lessons")


def _toc_files(entries) -> list[str]:
    files = []
    for entry in entries or []:
        if "file" in entry:
            files.append(entry["file"])
        for key in ("parts", "chapters", "sections"):
            files += _toc_files(entry.get(key))
    return files


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"], *_toc_files(toc.get("parts") or toc.get("chapters"))]


def toc_lessons() -> list[str]:
    return [f.removesuffix(".ipynb") for f in toc_files() if f.startswith("lessons/")]


def _source(docname: str) -> Path | None:
    for suffix in (".ipynb", ".md"):
        if (ROOT / (docname + suffix)).is_file():
            return ROOT / (docname + suffix)
    return None


def test_toc_lists_only_existing_files():
    missing = [f for f in toc_files() if _source(f.removesuffix(".ipynb").removesuffix(".md")) is None]
    assert missing == [], f"_toc.yml lists files that do not exist: {missing}"


def test_every_lesson_is_in_the_toc():
    # only_build_toc_files is on: a lesson left out of _toc.yml is silently not built.
    listed = set(toc_lessons())
    lessons = sorted(p.relative_to(ROOT).with_suffix("").as_posix() for p in (ROOT / "lessons").glob("*.ipynb"))
    assert [lesson for lesson in lessons if lesson not in listed] == [], "add these lessons to _toc.yml"


def test_book_is_built(site_dir):
    pages = [f.removesuffix(".ipynb").removesuffix(".md") + ".html" for f in toc_files()]
    assert [p for p in pages if not (site_dir / p).is_file()] == []


def test_no_execution_reports(site_dir):
    # myst-nb writes reports/<doc>.err.log for each notebook that failed (the
    # Makefile clears the folder before each build).
    reports = sorted(p.relative_to(site_dir).as_posix() for p in (site_dir / "reports").rglob("*.log"))
    logs = "\n".join((site_dir / r).read_text(encoding="utf-8")[-2000:] for r in reports)
    assert reports == [], f"notebooks failed during the build:\n{logs}"


def executed_notebook(lesson: str) -> nbformat.NotebookNode:
    """The lesson with the outputs the site shows: its cached run, merged as myst-nb merges it."""
    from jupyter_cache import get_cache

    notebook = nbformat.read(ROOT / f"{lesson}.ipynb", as_version=4)
    return get_cache(BUILD / ".jupyter_cache").merge_match_into_notebook(notebook)[1]


@pytest.mark.parametrize("lesson", toc_lessons())
def test_lesson_executed_without_error(lesson, site_dir):
    from jupyter_cache import get_cache

    notebook = ROOT / f"{lesson}.ipynb"
    assert notebook.is_file(), f"{lesson}.ipynb is in the toc but missing"
    assert (site_dir / f"{lesson}.html").is_file(), f"{lesson} was not built"

    # The cache holds a successful run of the notebook's current code
    # (failed runs are not cached), and its project record has no traceback.
    cache_dir = BUILD / ".jupyter_cache"
    assert cache_dir.is_dir(), "no jupyter-cache: was the book built with execute_notebooks: cache?"
    cache = get_cache(cache_dir)
    records = {Path(r.uri).resolve(): r for r in cache.list_project_records()}
    record = records.get(notebook.resolve())
    assert record is not None, f"{lesson} was never executed by the build"
    assert not record.traceback, f"{lesson} failed:\n{record.traceback}"
    assert cache.get_cached_project_nb(str(notebook)) is not None, (
        f"{lesson}: no cached run of its current code (edited after the build, or failed)"
    )
    # ... and that run used this bertlib and this lock (scripts/execute_lessons.py re-executes
    # a lesson when either changed), so the page shows what today's code prints.
    cached = cache.match_cache_notebook(nbformat.read(notebook, as_version=4))
    assert cached.data.get("bertlib_source") == execute_lessons.source_fingerprint(), (
        f"{lesson}: the site shows a run made with other bertlib code or packages: run `make book`"
    )

    # Every code cell of the executed notebook ran, and none raised unless it
    # is tagged `raises-exception` (a lesson showing an error on purpose).
    executed = cache.merge_match_into_notebook(nbformat.read(notebook, as_version=4))[1]
    code = [c for c in executed.cells if c.cell_type == "code" and c.source.strip()]
    assert code, f"{lesson} has no code cells"
    not_run = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    assert not_run == [], f"{lesson}: code cells {not_run} did not run"
    errors = [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in code
        if "raises-exception" not in c.metadata.get("tags", [])
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert errors == [], f"{lesson}: errors in the executed notebook: {errors}"


@pytest.mark.parametrize("lesson", toc_lessons())
def test_answer_key_passes_every_check(lesson, site_dir):
    """The lessons as written are the answer key: in the build, every exercise check passed."""
    from bertlib.classroom import is_check

    executed = executed_notebook(lesson)
    headings = [
        c for c in executed.cells if c.cell_type == "markdown" and re.search(r"^#+\s*Exercise \d+\.\d+", c.source, re.M)
    ]
    assert len(headings) >= 3, f"{lesson} needs at least three exercises (implement, predict, explore)"
    checks = [c for c in executed.cells if c.cell_type == "code" and is_check(c)]
    assert checks, f"{lesson}: its implement-exercises need checks from bertlib.checks"
    for cell in checks:
        text = "".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.outputs)
        assert cell.outputs, f"{lesson}: a check cell shows no result: {cell.source}"
        assert not any(o.get("output_type") == "error" for o in cell.outputs), cell.source
        assert "[FAIL]" not in text, f"{lesson}: a check fails on the answer key: {text}"


def _makefile_jb_flags() -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    flags = re.search(r"^JB_FLAGS\s*:?=\s*(.+)$", makefile, re.M)
    assert flags, "the Makefile defines no JB_FLAGS"
    assert re.search(r"^\t\$\(JB\) build \. \$\(JB_FLAGS\)\s*$", makefile, re.M), (
        "the Makefile's book target does not build with $(JB_FLAGS)"
    )
    return flags.group(1).split()


def test_build_command_treats_warnings_as_errors():
    flags = _makefile_jb_flags()
    assert "-W" in flags, "the book must be built with warnings as errors (-W)"


@pytest.mark.slow
def test_failing_notebook_fails_the_build(tmp_path):
    """With our _config.yml and the Makefile's flags, a cell that raises fails the build."""
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(ROOT / "book" / "_static", tmp_path / "book" / "_static", dirs_exist_ok=True)
    shutil.copytree(ROOT / "book" / "_templates", tmp_path / "book" / "_templates")
    (tmp_path / "scripts").mkdir()  # the local Sphinx extension _config.yml names
    shutil.copy(ROOT / "scripts" / "bertbook_sphinx.py", tmp_path / "scripts" / "bertbook_sphinx.py")
    shutil.copy(ROOT / "book" / "references.bib", tmp_path / "book" / "references.bib")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n\nA page.\n", encoding="utf-8")
    (tmp_path / "lessons").mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, tmp_path / "lessons" / "broken.ipynb")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: lessons/broken\n", encoding="utf-8"
    )
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", ".", *_makefile_jb_flags()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"a notebook that raises did not fail the build:\n{output[-3000:]}"
    assert "ZeroDivisionError" in (tmp_path / "_build" / "html" / "reports" / "lessons" / "broken.err.log").read_text()
