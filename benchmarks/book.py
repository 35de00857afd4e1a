"""How long the book takes to execute: per lesson, and a whole cold build.

The book is built by Jupyter Book 1 with ``execute_notebooks: cache``
(see ``_config.yml``): myst-nb executes each notebook through jupyter-cache
and stores the run, with its execution time, in ``_build/.jupyter_cache``.
:func:`lesson_times` reads those records (they exist after any ``make book``).
:func:`cold_build` copies the repository (without .venv, .git and build outputs)
into a temporary folder and times
``jupyter-book build`` there from an empty cache, with the Makefile's flags;
it executes every lesson, so it takes minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["lesson_times", "cold_build"]

ROOT = Path(__file__).resolve().parent.parent
# Not copied for a cold build: environments, caches, build outputs (a page may include any
# other file, e.g. book/performance.md includes benchmarks/results.md, so the rest is copied).
SKIP = (
    ".git",
    ".venv",
    "_build",
    "node_modules",
    "test-artifacts",
    "student",
    "checkpoints",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    "*.egg-info",
)
JB_FLAGS = ("-W", "-n", "--keep-going")  # as the Makefile's JB_FLAGS


def lesson_times(root: Path = ROOT) -> list[dict[str, Any]]:
    """Execution time of every notebook in the build cache of ``root`` (empty list if none).

    Returns:
        One dict per notebook: ``lesson`` (path relative to ``root``), ``seconds``,
        ``executed`` (ISO time of the run), sorted by lesson.
    """
    cache_dir = root / "_build" / ".jupyter_cache"
    if not cache_dir.is_dir():
        return []
    from jupyter_cache import get_cache

    cache = get_cache(cache_dir)
    rows = []
    for record in cache.list_cache_records():
        uri = Path(record.uri)
        try:
            name = uri.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            name = uri.name
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is not None:
            rows.append({"lesson": name, "seconds": float(seconds), "executed": record.created.isoformat()})
    # A notebook edited and rebuilt has several records: keep its latest run.
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["executed"]):
        latest[row["lesson"]] = row
    return sorted(latest.values(), key=lambda r: r["lesson"])


def cold_build(root: Path = ROOT, timeout: float = 3600) -> dict[str, Any]:
    """Build a copy of the book with an empty cache and time it.

    Returns:
        ``seconds`` (wall time of ``jupyter-book build``), ``returncode``,
        ``lessons`` (per-notebook times from the fresh cache) and the tail of the log.
    """
    with tempfile.TemporaryDirectory(prefix="bert-book-build-") as tmp:
        work = Path(tmp) / "book"
        shutil.copytree(root, work, ignore=shutil.ignore_patterns(*SKIP), symlinks=True)
        bindir = Path(sys.executable).parent
        env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
        t0 = time.perf_counter()
        out = subprocess.run(
            [str(bindir / "jupyter-book"), "build", ".", *JB_FLAGS],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        seconds = time.perf_counter() - t0
        return {
            "seconds": seconds,
            "returncode": out.returncode,
            "lessons": lesson_times(work),
            "log_tail": (out.stdout + out.stderr)[-3000:],
        }
