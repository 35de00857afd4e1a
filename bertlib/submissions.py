"""Running one submission for the autograder (:mod:`bertlib.grading`), isolated from the others.

The notebook runs in a fresh kernel, in a temporary copy of its folder (other
notebooks left out) and with its own copy of the bertlib model cache. Each
``bertlib.checks`` call in the kernel appends a record to a log file
(``BERTLIB_GRADE_FILE``); this module collects the records cell by cell and says
where and why a run stopped (time limit, silent kernel, dead kernel).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["run_submission"]


def run_submission(
    name: str, nb, folder: Path | None, timeout: float
) -> tuple[dict[int, list[dict]], str | None, int | None]:
    """Run notebook ``nb`` (saved as ``name``) in a temporary copy of ``folder``, with its own copy of the model cache.

    Returns each code cell's check records (by cell index), why the run stopped early
    (None if it did not) and the index of the cell where it stopped.
    """
    from .pretrained import cache_root

    with tempfile.TemporaryDirectory(prefix="bertlib-grade-") as tmp:
        tmp = Path(tmp)
        workdir, cache, log = tmp / "notebook", tmp / "cache", tmp / "grades.jsonl"
        _copy_folder(folder, workdir)
        if cache_root().is_dir():
            shutil.copytree(cache_root(), cache, ignore=shutil.ignore_patterns("*.lock", ".*tmp-*"))
        (workdir / name).write_text(json.dumps(nb, indent=1), encoding="utf-8")
        log.touch()
        env = dict(os.environ, BERTLIB_GRADE_FILE=str(log), BERTLIB_CACHE=str(cache), NBGRADER_EXECUTION="autograde")
        return _run(nb, workdir, timeout, env, log)


def _copy_folder(folder: Path | None, dest: Path) -> None:
    ignore = shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__")
    if folder is not None and folder.is_dir():
        shutil.copytree(folder, dest, ignore=ignore, dirs_exist_ok=True)
    dest.mkdir(parents=True, exist_ok=True)


def _records(log: Path, start: int) -> tuple[list[dict], int]:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return [], start
    out = []
    for line in lines[start:]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("exercise"), str):
            out.append(record)
    return out, len(lines)


def _run(
    nb, workdir: Path, timeout: float, env: dict, log: Path
) -> tuple[dict[int, list[dict]], str | None, int | None]:
    """Run every code cell; return each cell's check records, why the run stopped, and where."""
    from nbclient.exceptions import DeadKernelError
    from nbclient.util import run_sync

    from .execution import CellTimeout, GuardedClient, StallError

    client = GuardedClient(  # a missed reply wakeup never costs the whole time limit (bertlib.execution)
        nb, timeout=timeout, allow_errors=True, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    records, deadline, seen = {}, time.monotonic() + timeout, 0
    index = None
    try:
        with client.setup_kernel(env=env):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                client.timeout = max(1, int(deadline - time.monotonic()))
                stopped = None
                try:
                    client.execute_cell(cell, index)
                except CellTimeout:
                    stopped = f"stopped by the time limit ({timeout:g} s) at cell {index}"
                except StallError:
                    stopped = (
                        f"stopped at cell {index}: the kernel went silent "
                        f"(no output and no CPU time for {client.stall_seconds:g} s)"
                    )
                except DeadKernelError:
                    stopped = _dead(index)
                records[index], seen = _records(log, seen)
                if stopped is None and client.km is not None and not run_sync(client.km.is_alive)():
                    stopped = _dead(index)
                if stopped:
                    return records, stopped, index
    except DeadKernelError:
        return records, _dead(index), index
    except Exception as e:  # the kernel did not start, or stopped talking: say so, grade what ran
        if index is None:
            return records, f"the kernel could not start ({type(e).__name__}: {e})", -1
        return records, f"the run failed at cell {index} ({type(e).__name__}: {e})", index
    return records, None, None


def _dead(index) -> str:
    return f"the kernel died at cell {index} (the code exited the kernel, ran out of memory or crashed it)"
