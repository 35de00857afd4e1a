"""Peak memory of a training step, measured in a fresh process per variant.

PyTorch's CPU tensors come from the C allocator, which Python's
``tracemalloc`` does not see, and PyTorch keeps no allocator statistics on the
CPU. What the operating system sees is exact, though: the resident set size
(RSS) and its high-water mark, ``VmHWM`` in ``/proc/self/status``. Linux lets
a process reset that mark (write ``5`` to ``/proc/self/clear_refs``), so the
worker builds the model, the optimizer and the batches, resets the mark, runs
a few training steps and reads it again. The difference is what the step
itself needs: the activations kept for backward, the gradients, AdamW's two
moment buffers (allocated at the first step) and temporaries. A fresh process
per variant keeps one variant's freed-but-cached memory out of another's
numbers. Where ``clear_refs`` is not available, ``ru_maxrss`` is used instead
(an upper bound: it includes the peak of building the model).

Run one measurement with ``python -m benchmarks.memory SETUP VARIANT [STEPS THREADS INPUTS]``;
it prints one JSON line.
"""

from __future__ import annotations

import gc
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["measure_in_subprocess", "measure_here"]

ROOT = Path(__file__).resolve().parent.parent
MB = 2**20


def _status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure_here(
    setup_name: str, variant_name: str, steps: int = 3, threads: int = 2, inputs: str | None = None
) -> dict[str, Any]:
    """Measure in this process (meaningful only in a fresh one: see the module docstring).

    Args:
        inputs: a file written by :func:`measure_in_subprocess` holding the config and
            the batches (saves the worker from re-training the town tokenizer); None
            builds them here.
    """
    import torch

    import bertlib

    from .setups import SETUPS, make_batches
    from .training import VARIANTS, build_model, make_optimizer, train_step

    torch.set_num_threads(threads)
    setup, variant = SETUPS[setup_name], VARIANTS[variant_name]
    if inputs is not None:
        saved = torch.load(inputs)
        config, batches = bertlib.BertConfig.from_dict(saved["config"]), saved["batches"]
    else:
        config, batches = setup.config(), make_batches(setup, steps)
    torch.manual_seed(0)
    model = build_model(config, variant, bertlib.BertForPreTraining(config).state_dict())
    optimizer = make_optimizer(model, variant)
    gc.collect()
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    exact = Path("/proc/self/status").exists() and _reset_peak()
    before = _status_kb("VmRSS") * 1024 if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    for batch in batches:
        train_step(model, optimizer, batch, variant)
    peak = _status_kb("VmHWM") * 1024 if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "setup": setup_name,
        "variant": variant_name,
        "method": "VmHWM reset" if exact else "ru_maxrss",
        "rss_before_mb": before / MB,
        "peak_rss_mb": peak / MB,
        "step_mb": (peak - before) / MB,
        "parameters_mb": params / MB,
        # Gradients (1x) and AdamW's exp_avg and exp_avg_sq (2x) have the parameters' size.
        "grads_and_adam_mb": 3 * params / MB,
        "batch_shape": list(batches[0]["input_ids"].shape),
    }


def measure_in_subprocess(
    setup_name: str, variant_name: str, steps: int = 3, threads: int = 2, timeout: float = 600
) -> dict[str, Any]:
    """Run :func:`measure_here` in a fresh Python process and return its result."""
    import torch

    from .setups import SETUPS, make_batches

    setup = SETUPS[setup_name]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs.pt"
        torch.save({"config": setup.config().to_dict(), "batches": make_batches(setup, steps)}, inputs)
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.memory",
                setup_name,
                variant_name,
                str(steps),
                str(threads),
                str(inputs),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if out.returncode != 0:
        raise RuntimeError(f"memory worker failed for {setup_name}/{variant_name}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    setup_arg, variant_arg = sys.argv[1], sys.argv[2]
    steps_arg = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    threads_arg = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    inputs_arg = sys.argv[5] if len(sys.argv) > 5 else None
    sys.stdout.write(json.dumps(measure_here(setup_arg, variant_arg, steps_arg, threads_arg, inputs_arg)) + "\n")
