"""Where a training step's time goes, measured: ``torch.profiler`` self times by kind of operation.

The FLOP count (:mod:`benchmarks.flops`) says where the arithmetic is; this
says where the time is. They differ because operations that do little
arithmetic (drawing dropout's random numbers, GELU, LayerNorm, the optimizer's
elementwise updates) still read and write every element of large tensors.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

import bertlib

from .setups import Setup, make_batches
from .training import VARIANTS, build_model, make_optimizer, train_step

__all__ = ["CATEGORIES", "categorize", "time_breakdown"]

# Checked in order; the first category whose any pattern occurs in the op's name wins.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "matrix products": ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"),
    "attention kernel (SDPA)": ("scaled_dot_product", "flash_attention"),
    "dropout random numbers": ("bernoulli", "native_dropout"),
    "GELU": ("gelu",),
    "LayerNorm": ("layer_norm",),
    "softmax and cross-entropy": ("softmax", "nll_loss"),
    "embedding lookups": ("embedding", "index_select"),
}
OPTIMIZER = "AdamW update"
OTHER = "other (adds, copies, bias sums, masks, ...)"


def categorize(name: str) -> str:
    """The category of an ATen op name (see :data:`CATEGORIES`)."""
    for category, patterns in CATEGORIES.items():
        if any(p in name for p in patterns):
            return category
    return OTHER


def time_breakdown(setup: Setup, steps: int = 2, seed: int = 0) -> dict[str, Any]:
    """Profile bertlib's training step; share of the profiled time per category.

    Ops called by ``optimizer.step()`` / ``zero_grad()`` count as the AdamW update,
    whatever they are. Only ATen ops' self times are summed, so nothing counts twice.

    Returns:
        ``shares``: {category: fraction of the total}, ``ms_per_step``: profiled
        milliseconds per step (the profiler adds a little overhead).
    """
    torch.manual_seed(seed)
    config = setup.config()
    variant = VARIANTS["bertlib"]
    model = build_model(config, variant, bertlib.BertForPreTraining(config).state_dict())
    optimizer = make_optimizer(model, variant)
    batches = make_batches(setup, steps, seed=seed)
    train_step(model, optimizer, batches[0], variant)  # warm-up, outside the profile
    prof = profile(activities=[ProfilerActivity.CPU])
    with _quiet_stderr():
        prof.start()
    try:
        for batch in batches:
            train_step(model, optimizer, batch, variant)
    finally:
        with _quiet_stderr():
            prof.stop()
    totals: dict[str, float] = {c: 0.0 for c in [*CATEGORIES, OPTIMIZER, OTHER]}
    for event in prof.events():
        if not event.name.startswith("aten::"):
            continue
        parent, in_optimizer = event.cpu_parent, False
        while parent is not None:
            if parent.name.startswith("Optimizer."):
                in_optimizer = True
                break
            parent = parent.cpu_parent
        totals[OPTIMIZER if in_optimizer else categorize(event.name)] += event.self_cpu_time_total
    total = sum(totals.values())
    return {
        "setup": setup.name,
        "ms_per_step": total / 1e3 / len(batches),
        "shares": {k: v / total for k, v in totals.items()},
    }


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2: the profiler's C++ backend logs a line at every start and stop."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
