"""The benchmark command: run the suite, print the tables, write the results.

Usage (from the repository root, after ``make setup``)::

    .venv/bin/python -m benchmarks            # the suite (several minutes on 2 cores)
    .venv/bin/python -m benchmarks --book     # also time a cold build of the whole book
    .venv/bin/python -m benchmarks --quick --no-write   # a fast look, writes nothing

It writes ``benchmarks/results.json`` (every sample), ``benchmarks/results.md``
(the tables, with the date and the machine) and ``book/images/performance.png``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from .book import cold_build, lesson_times
from .breakdown import time_breakdown
from .ceiling import peak_gflops
from .flops import forward_flops
from .inference import bench_inference
from .memory import measure_in_subprocess
from .page import update_page
from .report import markdown_tables, save_figure
from .setups import SETUPS, make_batches
from .training import MAIN_VARIANTS, VARIANTS, bench_training, paired_ratio

__all__ = ["main", "run_suite", "machine"]

ROOT = Path(__file__).resolve().parent.parent
THREADS = 2  # fixed by default, so that runs on different machines compare like with like
TITLES = {
    "training": "Training step throughput (forward + backward + fused AdamW)",
    "ablations": "What each choice is worth (bertlib variants, speed relative to bertlib)",
    "flops": "Where the FLOPs go",
    "time": "Where the time goes (torch.profiler)",
    "inference": "Inference",
    "memory": "Peak memory of a training step",
    "book": "Book execution time",
}


def machine() -> dict[str, Any]:
    """A description of the machine and the software the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    import transformers

    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "memory_gb": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "transformers": str(transformers.__version__),
        "threads": torch.get_num_threads(),
        "blas": "MKL" if torch.backends.mkl.is_available() else "other",
        "avx512": bool(torch.cpu._is_avx512_supported()) if hasattr(torch.cpu, "_is_avx512_supported") else None,
    }


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_suite(
    setups: list[str],
    repeats: int,
    batches: int,
    ablations: bool,
    memory: bool,
    inference: bool,
    book: bool,
    min_seconds: float = 0.1,
    threads: int = THREADS,
    clock: str = "wall",
    log=print,
) -> dict[str, Any]:
    """Run the benchmarks and return every number (the content of results.json)."""
    if clock == "cpu" and threads != 1:
        raise ValueError(
            "--clock cpu needs --threads 1: with more threads, CPU time also counts the "
            "time OpenMP threads spend waiting for each other."
        )
    timer = time.process_time if clock == "cpu" else time.perf_counter
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    results: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_start": _load(),
        "settings": {"repeats": repeats, "batches_per_repeat": batches, "threads": threads, "clock": clock},
    }
    results["peak_gflops_1024"] = peak_gflops(clock=timer)
    variants = [k for k, v in VARIANTS.items() if v.precision == "fp32"] if ablations else list(MAIN_VARIANTS)
    results["training"], results["flops"] = [], {}
    for name in setups:
        setup = SETUPS[name]
        # The large setup is ~10x the work per step: fewer batches per round keep it affordable.
        r = bench_training(
            setup,
            variants,
            repeats=repeats,
            batches_per_repeat=batches if name != "large" else 1,
            ceiling_seconds=min_seconds / 10,
            clock=timer,
            progress=lambda msg: log(f"  {msg}", end="\r"),
        )
        r["ratios"] = {f"bertlib / {hf}": paired_ratio(r, "bertlib", hf) for hf in MAIN_VARIANTS[1:]}
        results["training"].append(r)
        b = make_batches(setup, 1)[0]
        B, T = b["input_ids"].shape
        selected = b["labels"] != -100
        n = int(selected.sum())
        selected[:, 0] = True  # the last layer's rows in bertlib: the labelled positions and [CLS]
        config = setup.config()
        results["flops"][name] = {
            "batch": [B, T],
            "predicted": n,
            "kept": int(selected.sum()),
            "bertlib": forward_flops(config, B, T, n, int(selected.sum())),
            "bertlib, last layer at every position": forward_flops(config, B, T, n),
            "transformers": forward_flops(config, B, T, B * T),
        }
        log(
            f"training {name}: bertlib {r['variants']['bertlib']['tokens_per_s']:,.0f} tokens/s, "
            f"{r['ratios']['bertlib / transformers eager']:.2f}x HF eager, "
            f"{r['variants']['bertlib']['fraction_of_ceiling']:.0%} of {r['ceiling_gflops']:.0f} GFLOP/s" + " " * 20
        )
    results["time_breakdown"] = []
    for name in setups:
        log(f"  profiling {name}", end="\r")
        results["time_breakdown"].append(time_breakdown(SETUPS[name], steps=2 if name == "large" else 4))
    results["inference"] = []
    if inference:
        for name in [s for s in setups if s != "large"] + (["minilm"] if "large" in setups else []):
            log(f"  inference {name}", end="\r")
            results["inference"].append(
                bench_inference(SETUPS[name], repeats=max(3, repeats // 2), min_seconds=min_seconds, clock=timer)
            )
    results["memory"] = []
    if memory:
        for name in setups:
            for variant in ("bertlib", "bertlib, head at every position", "transformers sdpa"):
                log(f"  memory {name} {variant}" + " " * 10, end="\r")
                results["memory"].append(measure_in_subprocess(name, variant, threads=threads))
    results["book"] = {"lessons": lesson_times(ROOT), "cold_build": None}
    if book:
        log("  cold build of the book (executes every lesson)...", end="\r")
        results["book"]["cold_build"] = cold_build(ROOT)
        results["book"]["date"], results["book"]["load_average"] = results["date"], _load()
    results["targets"] = targets(results)
    results["load_average_end"] = _load()
    results["wall_seconds"] = time.perf_counter() - t0
    return results


def targets(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, checked: >= 2x transformers on the lesson configs, >= 75% of the ceiling on the largest."""
    out = {}
    for r in results["training"]:
        if r["setup"] in ("mini", "small"):
            worst = min(r["ratios"].values())  # against the faster of the two HF paths
            out[f"{r['setup']}: bertlib >= 2x transformers"] = {"value": round(worst, 3), "met": worst >= 2}
    largest = max(results["training"], key=lambda r: r["variants"]["bertlib"]["flops_per_step"])
    frac = largest["variants"]["bertlib"]["fraction_of_ceiling"]
    out[f"{largest['setup']}: bertlib >= 75% of the matmul ceiling"] = {"value": round(frac, 3), "met": frac >= 0.75}
    return out


def write_markdown(results: dict[str, Any], path: Path, command: str) -> None:
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `{command}` on {results['date']} in {results['wall_seconds']:.0f} s.",
        "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['memory_gb']} GB; {m['os']}; "
        f"Python {m['python']}, torch {m['torch']} ({m['blas']}), transformers {m['transformers']}; "
        f"{results['settings']['threads']} threads, {results['settings']['clock']} clock. Load average at start {results['load_average_start']}, "
        f"at end {results['load_average_end']} (other jobs share the cores; ratios come from interleaved "
        f"rounds, see benchmarks/README.md). One 1024 x 1024 fp32 matmul: "
        f"{results['peak_gflops_1024']:.0f} GFLOP/s.",
        "",
    ]
    for key, text in markdown_tables(results).items():
        # The markers let book/performance.md include each table ({include} :start-after:).
        lines += [f"## {TITLES[key]}", "", f"<!-- begin: {key} -->", text, f"<!-- end: {key} -->", ""]
    lines += ["## Targets", ""]
    lines += [f"- {k}: {v['value']} ({'met' if v['met'] else 'NOT met'})" for k, v in results["targets"].items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--setups", default="mini,small,large", help="comma-separated, from: " + ", ".join(SETUPS))
    p.add_argument("--repeats", type=int, default=7, help="interleaved rounds (medians are kept)")
    p.add_argument("--batches", type=int, default=4, help="training steps per variant per round")
    p.add_argument("--quick", action="store_true", help="2 rounds of 2 steps, mini only, no memory")
    p.add_argument("--no-ablations", action="store_true", help="only bertlib and the two transformers paths")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--no-inference", action="store_true", help="skip latency and inference throughput")
    p.add_argument("--threads", type=int, default=THREADS, help="torch threads (default 2)")
    p.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall time (default), or CPU time with --threads 1 on a machine busy with other jobs",
    )
    p.add_argument("--min-seconds", type=float, default=0.1, help="timing window of each inference sample")
    p.add_argument("--book", action="store_true", help="also time a cold build of the whole book (slow)")
    p.add_argument(
        "--book-only",
        action="store_true",
        help="only refresh the book section (lesson times, a timed cold build) of the existing results",
    )
    p.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: redraw results.md, the figure and the page from results.json "
        "(lesson times are re-read from the build cache)",
    )
    p.add_argument("--no-write", action="store_true", help="print only; leave the results files alone")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks", help="folder of results.json / results.md")
    p.add_argument("--figure", type=Path, default=ROOT / "book" / "images" / "performance.png")
    p.add_argument(
        "--page",
        type=Path,
        default=ROOT / "book" / "performance.md",
        help="the book page whose quoted numbers are updated (front matter only)",
    )
    a = p.parse_args(argv)
    if a.quick:
        a.setups, a.repeats, a.batches, a.no_memory = "mini", 2, 2, True
    setups = a.setups.split(",")
    unknown = [s for s in setups if s not in SETUPS]
    if unknown:
        p.error(f"unknown setups {unknown}; choose from {list(SETUPS)}")

    def log(msg: str, end: str = "\n") -> None:
        # Progress lines ("\r") only on a terminal; a captured log keeps the summaries.
        if end == "\n" or sys.stderr.isatty():
            print(msg, end=end, file=sys.stderr, flush=True)

    command = ("python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    if a.render_only:
        results = json.loads((a.out / "results.json").read_text(encoding="utf-8"))
        if lesson_times(ROOT):  # reading the build cache measures nothing: take the latest build's times
            results["book"]["lessons"] = lesson_times(ROOT)
    elif a.book_only:
        results = json.loads((a.out / "results.json").read_text(encoding="utf-8"))
        log("cold build of the book (executes every lesson in the table of contents)...")
        results["book"] = {
            "lessons": lesson_times(ROOT),
            "cold_build": cold_build(ROOT),
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "load_average": _load(),
        }
        results["book_command"] = command
    else:
        results = run_suite(
            setups,
            a.repeats,
            a.batches,
            ablations=not a.no_ablations,
            memory=not a.no_memory,
            inference=not a.no_inference,
            book=a.book,
            min_seconds=a.min_seconds,
            threads=a.threads,
            clock=a.clock,
            log=log,
        )
        results["command"] = command
    for key, text in markdown_tables(results).items():
        print(f"\n{TITLES[key]}\n{text}")
    print("\nTargets:")
    for k, v in results["targets"].items():
        print(f"  {k}: {v['value']} -> {'met' if v['met'] else 'NOT met'}")
    print(
        f"\nWall time {results['wall_seconds']:.0f} s; load average {results['load_average_start']} -> "
        f"{results['load_average_end']}"
    )
    if not a.no_write:
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        write_markdown(results, a.out / "results.md", results["command"])
        save_figure(results, a.figure)
        if a.page.is_file():
            update_page(a.page, results)
        print(f"Wrote {a.out / 'results.json'}, {a.out / 'results.md'}, {a.figure} and the numbers of {a.page}")
    return 0
