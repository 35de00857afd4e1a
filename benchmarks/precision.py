"""Mixed precision: what bf16 (and fp16) buy a training step, against fp32 and against ``transformers``.

Every variant starts from the same weights and runs the same batches, interleaved in
one process in rotating order (see :mod:`benchmarks.training`); the matmul ceiling is
measured in fp32 and in the half precision in the same rounds, on the encoder's own
product shapes. Ratios are paired: the median over rounds of time(B) / time(A).

Peak memory: on a CPU, the kernel's high-water mark in a fresh process per variant
(:mod:`benchmarks.memory`); on a GPU, ``torch.cuda.max_memory_allocated`` around the
variant's steps.

Usage::

    python -m benchmarks.precision                     # mini and small on the CPU, writes precision_results.md/json
    python -m benchmarks.precision --setups mini --no-write
    python -m benchmarks.precision --device cuda --half bf16 fp16 --setups small large --out benchmarks/gpu_training

On a CPU without native bf16 (no AVX512-BF16 or AMX: see :func:`bertlib.precision.cpu_bf16_native`)
PyTorch emulates bf16 and the half-precision rows show the price of that.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

import bertlib
from bertlib.precision import cpu_bf16_native

from .ceiling import MatmulCeiling
from .flops import gemm_shapes
from .setups import SETUPS, make_batches
from .training import VARIANTS, build_model, make_optimizer, train_step

__all__ = ["bench_precision", "markdown_table", "main"]

ROOT = Path(__file__).resolve().parent.parent
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def variant_names(halves: list[str]) -> list[str]:
    """bertlib and transformers (sdpa) in fp32, then in each half precision of ``halves``."""
    names = ["bertlib", "transformers sdpa"]
    for h in halves:
        names += [f"bertlib {h}", f"transformers sdpa {h}"]
    return names


def _to(batch: dict[str, torch.Tensor], device: str) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


def bench_precision(
    setup_name: str,
    halves: list[str],
    repeats: int = 5,
    batches_per_repeat: int = 3,
    device: str = "cpu",
    ceiling_seconds: float = 0.01,
    memory: bool = True,
    clock=time.perf_counter,
    log=None,
) -> dict[str, Any]:
    """Time fp32 and half-precision training steps of both libraries, interleaved; medians over rounds."""
    setup = SETUPS[setup_name]
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    torch.manual_seed(0)
    config = setup.config()
    state = bertlib.BertForPreTraining(config).state_dict()
    batches = [_to(b, device) for b in make_batches(setup, batches_per_repeat, seed=0)]
    tokens = sum(int(b["input_ids"].numel()) for b in batches)
    names = variant_names(halves)
    runners = {}
    for name in names:
        v = VARIANTS[name]
        model = build_model(config, v, state).to(device)
        opt = make_optimizer(model, v)
        train_step(model, opt, batches[0], v)  # warm-up: AdamW state, kernel choice
        runners[name] = (v, model, opt)
    rows = round(tokens / len(batches))
    ceilings = {
        p: MatmulCeiling(gemm_shapes(config, rows), ceiling_seconds, clock=clock, dtype=DTYPES[p], device=device)
        for p in ["fp32", *halves]
    }
    samples: dict[str, list[float]] = {n: [] for n in names}
    ceiling_samples: dict[str, list[float]] = {p: [] for p in ceilings}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            if log:
                log(f"{setup_name}: round {r + 1}/{repeats}, {name}")
            v, model, opt = runners[name]
            sync()
            t0 = clock()
            for b in batches:
                train_step(model, opt, b, v)
            sync()
            samples[name].append(clock() - t0)
        for p, c in ceilings.items():
            ceiling_samples[p].append(c.measure())
    result: dict[str, Any] = {
        "setup": setup_name,
        "description": setup.description,
        "device": device,
        "batch": f"{setup.batch_size}x{round(tokens / setup.batch_size / len(batches))}",
        "repeats": repeats,
        "ceiling_gflops": {p: statistics.median(s) for p, s in ceiling_samples.items()},
        "ceiling_samples": ceiling_samples,
        "variants": {},
    }
    for name, secs in samples.items():
        result["variants"][name] = {"tokens_per_s": tokens / statistics.median(secs), "seconds": secs}
    result["ratios"] = {
        f"{a} / {b}": _paired(samples, a, b)
        for a, b in [("bertlib", "transformers sdpa")]
        + [(f"bertlib {h}", "bertlib") for h in halves]
        + [(f"bertlib {h}", f"transformers sdpa {h}") for h in halves]
    }
    if memory:
        for name in names:
            result["variants"][name]["step_mb"] = _memory(setup_name, name, runners[name], batches, device)
    return result


def _paired(samples: dict[str, list[float]], faster: str, slower: str) -> float:
    """Median over rounds of time(slower) / time(faster): how many times faster ``faster`` is."""
    return statistics.median(y / x for x, y in zip(samples[faster], samples[slower], strict=True))


def _memory(setup_name: str, name: str, runner, batches, device: str) -> float:
    """MB a training step adds at its peak (see the module docstring)."""
    if device.startswith("cuda"):
        v, model, opt = runner
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        for b in batches:
            train_step(model, opt, b, v)
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    from .memory import measure_in_subprocess

    return measure_in_subprocess(setup_name, name, steps=len(batches), threads=torch.get_num_threads())["step_mb"]


def _k(x: float) -> str:
    return f"{x / 1e3:.1f}k" if x >= 1e3 else f"{x:.0f}"


def markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per setup and precision: tokens/s of both libraries, the ratios, the ceiling and peak memory."""
    head = (
        "| setup | batch | precision | bertlib tok/s | HF sdpa tok/s | bertlib / HF | vs bertlib fp32 "
        "| matmul ceiling GFLOP/s | bertlib step MB | HF step MB |\n"
        "|-------|-------|-----------|--------------:|--------------:|-------------:|----------------:"
        "|-----------------------:|----------------:|-----------:|\n"
    )
    lines = []
    for r in results:
        for p in r["ceiling_gflops"]:
            b, h = ("bertlib", "transformers sdpa") if p == "fp32" else (f"bertlib {p}", f"transformers sdpa {p}")
            vb, vh = r["variants"][b], r["variants"][h]
            vs = "1.00x" if p == "fp32" else f"{r['ratios'][f'{b} / bertlib']:.2f}x"
            mem = [f"{v['step_mb']:.0f}" if "step_mb" in v else "-" for v in (vb, vh)]
            lines.append(
                f"| {r['setup']} | {r['batch']} | {p} | {_k(vb['tokens_per_s'])} | {_k(vh['tokens_per_s'])} "
                f"| {r['ratios'][f'{b} / {h}']:.2f}x | {vs} | {r['ceiling_gflops'][p]:.3g} | {mem[0]} | {mem[1]} |"
            )
    return head + "\n".join(lines) + "\n"


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.precision", description=__doc__.split("\n\n")[0])
    p.add_argument("--setups", nargs="+", default=["mini", "small"], choices=sorted(SETUPS))
    p.add_argument("--half", nargs="+", default=["bf16"], choices=["bf16", "fp16"], help="half precisions to time")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds (medians over them)")
    p.add_argument("--batches", type=int, default=3, help="steps per variant per round")
    p.add_argument("--threads", type=int, default=2, help="torch threads on the CPU")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "precision_results"), help="path stem for .md/.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    start, t0 = _load(), time.perf_counter()
    results = [
        bench_precision(
            s,
            args.half,
            args.repeats,
            args.batches,
            args.device,
            memory=not args.no_memory,
            log=lambda m: print(m, flush=True),
        )
        for s in args.setups
    ]
    where = (
        torch.cuda.get_device_name(torch.device(args.device))
        if args.device.startswith("cuda")
        else f"CPU, {torch.get_num_threads()} threads, native bf16: {cpu_bf16_native()}"
    )
    meta = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python -m benchmarks.precision " + " ".join(argv if argv is not None else sys.argv[1:]),
        "device": where,
        "torch": str(torch.__version__),
        "load_average_start": start,
        "load_average_end": _load(),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    table = markdown_table(results)
    text = (
        f"# Mixed-precision training benchmark\n\nGenerated by `{meta['command']}` on {meta['date']} in "
        f"{meta['seconds']} s on {where} (torch {meta['torch']}). Load average at start {start}, at end "
        f"{meta['load_average_end']}. Variants interleaved in rounds, medians; ratios paired per round. "
        f"Step MB: the peak memory a training step adds.\n\n<!-- begin: precision -->\n{table}<!-- end: precision -->\n"
    )
    print(text)
    if not args.no_write:
        out = Path(args.out)
        for suffix, content in ((".md", text), (".json", json.dumps({**meta, "results": results}, indent=1) + "\n")):
            tmp = out.with_name(out.name + suffix + ".tmp")
            tmp.write_text(content)
            os.replace(tmp, out.with_name(out.name + suffix))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
