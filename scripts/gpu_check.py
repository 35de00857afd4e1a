"""The GPU path, proven: run every lesson on CUDA and the training benchmark in fp32, bf16 and fp16.

Run it on a machine with an NVIDIA GPU (about 10 minutes), from the repository root::

    PYTHONPATH=. .venv/bin/python scripts/gpu_check.py                 # everything, writes benchmarks/gpu_results.md
    PYTHONPATH=. .venv/bin/python scripts/gpu_check.py --dry-run       # on any machine: print the plan, run nothing
    PYTHONPATH=. .venv/bin/python scripts/gpu_check.py --skip-lessons  # only the benchmark

1. Every lesson of ``_toc.yml`` is executed in a fresh kernel (the lessons pick CUDA themselves
   through ``bertlib.setup_notebook``); a last cell appended here records the device the lesson
   used and the GPU memory it allocated, so a lesson that silently stayed on the CPU shows.
   Each lesson's time and any error are recorded; one failing lesson does not stop the others.
2. ``benchmarks.precision`` times training steps of bertlib and ``transformers`` (sdpa) in fp32,
   bf16 (where the GPU has it) and fp16, interleaved, with the GPU matmul ceilings and peak memory.
3. ``benchmarks/gpu_results.md`` (and ``.json``) name the GPU, PyTorch, CUDA, and hold both tables.
   Commit them. The exit status is 1 if a lesson failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The lessons' kernels run in lessons/: they find this checkout's bertlib through an absolute path.
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])

PROBE = (
    "# Appended by scripts/gpu_check.py: which device did this lesson use?\n"
    "import torch as _t, json as _j\n"
    "print('GPU_CHECK ' + _j.dumps({'cuda': _t.cuda.is_available(), "
    "'max_allocated_mb': _t.cuda.max_memory_allocated() / 2**20 if _t.cuda.is_available() else 0.0}))\n"
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dry-run", action="store_true", help="print the plan and check the inputs; run nothing")
    p.add_argument("--lessons", nargs="*", type=Path, help="notebooks to run (default: every one of _toc.yml)")
    p.add_argument("--skip-lessons", action="store_true", help="only the benchmark")
    p.add_argument("--skip-bench", action="store_true", help="only the lessons")
    p.add_argument("--setups", nargs="+", default=["small", "large"], help="benchmark setups (benchmarks.setups)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved benchmark rounds")
    p.add_argument("--cell-timeout", type=int, default=300, help="seconds per cell before a lesson fails")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "gpu_results", help="path stem for .md/.json")
    args = p.parse_args(argv)
    if args.skip_lessons and args.skip_bench:
        p.error("--skip-lessons and --skip-bench together leave nothing to run")
    if args.repeats < 1 or args.cell_timeout < 1:
        p.error("--repeats and --cell-timeout must be at least 1")
    from benchmarks.setups import SETUPS

    unknown = sorted(set(args.setups) - set(SETUPS))
    if unknown:
        p.error(f"unknown setup(s) {unknown}; choose from {sorted(SETUPS)}")
    return args


def lesson_paths(args: argparse.Namespace) -> list[Path]:
    """The notebooks to execute, checked to exist."""
    if args.skip_lessons:
        return []
    if args.lessons:
        paths = [p if p.is_absolute() else ROOT / p for p in args.lessons]
    else:
        from scripts.execute_lessons import toc_notebooks

        paths = [p for p in toc_notebooks(ROOT) if p.parent.name == "lessons"]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"gpu_check: no such notebook(s): {', '.join(missing)}")
    return paths


def half_precisions() -> list[str]:
    """fp16 always (every CUDA GPU has it); bf16 first where the GPU computes it natively."""

    from bertlib.precision import resolve_precision

    return ["bf16", "fp16"] if resolve_precision("auto", "cuda") == "bf16" else ["fp16"]


def plan(args: argparse.Namespace, lessons: list[Path]) -> list[str]:
    """What a full run does, one line per step (printed by --dry-run and at the top of a real run)."""
    steps = [f"execute {p.relative_to(ROOT)} on CUDA (cell timeout {args.cell_timeout} s)" for p in lessons]
    if not args.skip_bench:
        steps.append(
            f"python -m benchmarks.precision --device cuda --setups {' '.join(args.setups)} "
            f"--repeats {args.repeats} --half <bf16 if supported> fp16"
        )
    steps.append(f"write {args.out.with_suffix('.md')} and {args.out.with_suffix('.json')}")
    return steps


def run_lesson(path: Path, cell_timeout: int) -> dict:
    import nbformat

    from bertlib.execution import execute_notebook

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    row = {"lesson": path.relative_to(ROOT).as_posix(), "ok": False, "seconds": None, "error": None}
    t0 = time.perf_counter()
    try:
        execute_notebook(nb, cwd=str(path.parent), timeout=cell_timeout, stall_seconds=120)
        row["ok"] = True
    except Exception as e:  # noqa: BLE001 - record any failure and go on to the next lesson
        row["error"] = f"{type(e).__name__}: {str(e)[-600:]}"
    row["seconds"] = round(time.perf_counter() - t0, 1)
    for out in nb.cells[-1].get("outputs", []):
        text = out.get("text", "")
        if text.startswith("GPU_CHECK "):
            row.update(json.loads(text.split(" ", 1)[1]))
    row["errors_in_outputs"] = sum(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    return row


def lesson_table(rows: list[dict]) -> str:
    lines = [
        "| lesson | status | seconds | CUDA | peak GPU MB |",
        "|--------|--------|--------:|------|------------:|",
    ]
    for r in rows:
        status = "ok" if r["ok"] else f"FAILED: {r['error'].splitlines()[0][:120]}"
        lines.append(
            f"| {r['lesson']} | {status} | {r['seconds']} | {r.get('cuda', '?')} | {r.get('max_allocated_mb', 0):.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lessons = lesson_paths(args)
    steps = plan(args, lessons)
    print("gpu_check plan:\n  " + "\n  ".join(steps), flush=True)
    if args.dry_run:
        return 0
    import torch

    if not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU is visible; run it on a GPU machine (or use --dry-run here).", file=sys.stderr)
        return 2
    device = torch.cuda.get_device_name(0)
    meta = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "device": device,
        "torch": str(torch.__version__),
        "cuda": torch.version.cuda,
        "command": "python scripts/gpu_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    rows = []
    for path in lessons:
        print(f"{path.name}: executing on {device} ...", flush=True)
        rows.append(run_lesson(path, args.cell_timeout))
        print(f"  {json.dumps(rows[-1])}", flush=True)
    bench, bench_md = None, ""
    if not args.skip_bench:
        from benchmarks.precision import bench_precision, markdown_table

        halves = half_precisions()
        try:
            bench = [
                bench_precision(s, halves, repeats=args.repeats, device="cuda", log=lambda m: print(m, flush=True))
                for s in args.setups
            ]
            bench_md = markdown_table(bench)
        except Exception:  # noqa: BLE001 - keep the lessons' results even if the benchmark fails
            bench_md = "The benchmark failed:\n\n```\n" + traceback.format_exc()[-3000:] + "```\n"
    text = (
        f"# The GPU check\n\nGenerated by `{meta['command']}` on {meta['date']}.\n\n"
        f"Device: **{device}**; torch {meta['torch']}, CUDA {meta['cuda']}.\n\n"
    )
    if rows:
        text += f"## Lessons on CUDA\n\n{lesson_table(rows)}\n"
    if not args.skip_bench:
        text += (
            "## Training step throughput on the GPU (interleaved rounds, medians)\n\n"
            "Columns as in `benchmarks/precision_results.md`; step MB is `torch.cuda.max_memory_allocated` "
            "above the model and optimizer.\n\n" + bench_md
        )
    print(text)
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    for suffix, content in (
        (".md", text),
        (".json", json.dumps({**meta, "lessons": rows, "training": bench}, indent=1) + "\n"),
    ):
        tmp = out.with_name(out.name + suffix + ".tmp")
        tmp.write_text(content)
        os.replace(tmp, out.with_name(out.name + suffix))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
