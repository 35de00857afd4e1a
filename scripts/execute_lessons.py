"""Execute the book's notebooks into Jupyter Book's cache, guarded, before `jupyter-book build`.

    python scripts/execute_lessons.py [--cache _build/.jupyter_cache] [notebook ...]

For each notebook of _toc.yml, in order, this script decides whether the
cached run is current, and executes the notebook when it is not. It writes
results exactly where myst-nb's `execute_notebooks: cache` looks for them,
so the build that follows only renders ("Using cached notebook").

- **Current** means: jupyter-cache holds a run of the notebook's code cells
  (its own rule) *and* that run was made with this bertlib source and this
  lock file (our rule: jupyter-cache alone would keep showing outputs of
  bertlib code that no longer exists, jupyter-book#1633).
- **Guarded**: bertlib.execution detects a stalled cell within
  --stall-seconds, logs it and runs the notebook once more in a fresh
  kernel; a cell over the notebook's budget fails with its index and line.
- **Budgets**: each lesson's metadata holds `execution.timeout` (seconds,
  about three times its measured time plus room; myst-nb reads the same key).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import time
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.cache.db import NbProjectRecord
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bertlib.execution import CellTimeout, StallError, execute_notebook  # noqa: E402

DEFAULT_TIMEOUT = 600  # seconds per cell for a notebook without a budget (myst-nb's setting in _config.yml)


def source_fingerprint(root: Path = ROOT) -> str:
    """sha256 of what decides a lesson's outputs besides its own cells: bertlib's files and the lock."""
    digest = hashlib.sha256()
    files = sorted(p for p in (root / "bertlib").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in [*files, root / "requirements.lock"]:
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The .ipynb files of _toc.yml, in reading order."""
    found: list[Path] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("file"), str) and (root / f"{node['file']}.ipynb").is_file():
                found.append(root / f"{node['file']}.ipynb")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")))
    return found


def budget(nb) -> int:
    return int(nb.metadata.get("execution", {}).get("timeout", DEFAULT_TIMEOUT))


def execute_into_cache(path: Path, cache, fingerprint: str, stall_seconds: float, force: bool) -> str:
    """Execute one notebook into the cache unless its cached run is current; return a one-line report."""
    nb = nbformat.read(path, as_version=4)
    name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    try:
        record = cache.match_cache_notebook(nb)
    except KeyError:
        record = None
    if record is not None and not force and record.data.get("bertlib_source") == fingerprint:
        return f"{name}: cached run is current (code cells, bertlib and the lock unchanged)"
    why = "forced" if force else ("bertlib or the lock changed" if record is not None else "no cached run")
    print(f"{name}: executing ({why}; budget {budget(nb)} s per cell)", flush=True)

    stage = cache.add_nb_to_project(str(path))
    NbProjectRecord.remove_tracebacks([stage.pk], cache.db)
    try:
        report = execute_notebook(nb, cwd=str(path.parent), timeout=budget(nb), stall_seconds=stall_seconds)
    except (CellExecutionError, CellTimeout, StallError) as e:
        NbProjectRecord.set_traceback(stage.uri, f"{type(e).__name__}: {e}", cache.db)
        raise SystemExit(f"{name}: FAILED: {type(e).__name__}: {e}") from None
    data = {"execution_seconds": report.seconds, "bertlib_source": fingerprint, "stalls": report.stalls}
    cache.cache_notebook_bundle(CacheBundleIn(nb, stage.uri, data=data), check_validity=False, overwrite=True)
    retried = f" after {len(report.stalls)} stall(s), re-executed" if report.stalls else ""
    return f"{name}: executed in {report.seconds:.1f} s{retried}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook of _toc.yml")
    parser.add_argument("--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    parser.add_argument("--stall-seconds", type=float, default=60.0, help="silence that counts as a stall")
    parser.add_argument("--force", action="store_true", help="execute even when the cached run is current")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")

    cache = get_cache(args.cache)
    fingerprint = source_fingerprint()
    start = time.monotonic()
    for path in args.notebooks or toc_notebooks():
        print(execute_into_cache(path.resolve(), cache, fingerprint, args.stall_seconds, args.force), flush=True)
    print(f"notebooks ready in {time.monotonic() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
