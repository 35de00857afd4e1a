"""Training-step throughput: bertlib against Hugging Face ``transformers``.

Every variant starts from the same weights and runs the same batches with the
same optimizer (AdamW's fused implementation, what both libraries' trainers
use): forward, backward, ``optimizer.step()``, ``zero_grad``. The variants are
timed *interleaved* in one process, in a rotating order, and we keep medians:
when other jobs share the cores, they slow every variant alike, so the ratios
stay fair even when the absolute numbers move. The matmul ceiling is measured
inside the same loop for the same reason.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

import bertlib
from bertlib import BertConfig
from bertlib.optimization import adamw

from .ceiling import MatmulCeiling
from .flops import gemm_shapes, train_flops
from .setups import Setup, make_batches

__all__ = ["Variant", "VARIANTS", "build_model", "train_step", "bench_training"]


@dataclass(frozen=True)
class Variant:
    """One way of running the step: which library, attention path, MLM head and AdamW."""

    library: str  # "bertlib" or "transformers"
    attn: str = "sdpa"  # "sdpa" (fused) or "eager" (explicit softmax)
    logits_at: str | None = None  # bertlib only: None (masked positions, the default) or "all"
    attention_dropout: float | None = None  # None keeps the config's (0 in the presets)
    fused_adamw: bool = True  # torch.optim.AdamW(fused=True), as both libraries' trainers default to
    sparse_last_layer: bool = True  # bertlib only: last layer only at [CLS] + labelled positions
    precision: str = "fp32"  # "bf16" / "fp16": the forward under torch.autocast (fp16 with a GradScaler)


VARIANTS: dict[str, Variant] = {
    "bertlib": Variant("bertlib"),
    "transformers eager": Variant("transformers", attn="eager"),
    "transformers sdpa": Variant("transformers", attn="sdpa"),
    # Ablations: bertlib with one of its choices (or its Trainer's) undone, or one more taken.
    "bertlib, head at every position": Variant("bertlib", logits_at="all"),
    "bertlib, last layer at every position": Variant("bertlib", sparse_last_layer=False),
    "bertlib, eager attention": Variant("bertlib", attn="eager"),
    "bertlib, attention dropout 0.1": Variant("bertlib", attention_dropout=0.1),
    "bertlib, default (unfused) AdamW": Variant("bertlib", fused_adamw=False),
    # Mixed precision (benchmarks.precision): the same steps under torch.autocast.
    "bertlib bf16": Variant("bertlib", precision="bf16"),
    "transformers sdpa bf16": Variant("transformers", attn="sdpa", precision="bf16"),
    "bertlib fp16": Variant("bertlib", precision="fp16"),
    "transformers sdpa fp16": Variant("transformers", attn="sdpa", precision="fp16"),
}
MAIN_VARIANTS = ("bertlib", "transformers eager", "transformers sdpa")


def build_model(config: BertConfig, variant: Variant, state: dict[str, torch.Tensor]) -> nn.Module:
    """A ``BertForPreTraining`` of either library, in training mode, holding the weights ``state``."""
    if variant.attention_dropout is not None:
        config = replace(config, attention_probs_dropout_prob=variant.attention_dropout)
    if variant.library == "bertlib":
        model = bertlib.BertForPreTraining(
            replace(config, attn_implementation=variant.attn, sparse_last_layer=variant.sparse_last_layer)
        )
    else:
        import transformers  # a test dependency; bertlib itself never imports it

        hf_config = transformers.BertConfig(**config.to_dict(), attn_implementation=variant.attn)
        model = transformers.BertForPreTraining(hf_config)
    model.load_state_dict(state, strict=True)  # same parameter names in both libraries
    return model.train()


def make_optimizer(model: nn.Module, variant: Variant) -> torch.optim.Optimizer:
    """AdamW, fused into one kernel per step unless ``variant.fused_adamw`` is False.

    The fused implementation is what bertlib's ``Trainer`` and Hugging Face's
    ``Trainer`` (``optim="adamw_torch_fused"``) use by default; like bertlib's
    Trainer, we fall back to PyTorch's default implementation where
    this PyTorch has no fused kernel for the parameters' device.
    """
    groups = [{"params": list(model.parameters()), "weight_decay": 0.01}]
    if variant.fused_adamw:
        return adamw(groups, lr=1e-4)  # bertlib's own choice, with its fallback
    return torch.optim.AdamW(groups, lr=1e-4)


def train_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, batch: dict[str, torch.Tensor], variant: Variant
) -> float:
    """One training step (forward, backward, AdamW update); returns the loss.

    A mixed-precision variant runs the forward under ``torch.autocast`` as bertlib's Trainer
    does (weights and AdamW stay fp32); fp16 scales the loss with a GradScaler kept on the optimizer.
    """
    kwargs = {"logits_at": variant.logits_at} if variant.logits_at else {}
    device = next(model.parameters()).device.type
    if variant.precision == "fp32":
        loss = model(**batch, **kwargs).loss
        loss.backward()
        optimizer.step()
    else:
        dtype = torch.bfloat16 if variant.precision == "bf16" else torch.float16
        with torch.autocast(device, dtype=dtype):
            loss = model(**batch, **kwargs).loss
        scaler = optimizer.__dict__.setdefault(
            "_bench_scaler", torch.amp.GradScaler(device, enabled=variant.precision == "fp16")
        )
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def _step_flops(config: BertConfig, batch: dict[str, torch.Tensor], variant: Variant) -> float:
    B, T = batch["input_ids"].shape
    everywhere = variant.library == "transformers" or variant.logits_at == "all"
    selected = batch["labels"] != bertlib.IGNORE_INDEX
    n = B * T if everywhere else int(selected.sum())
    kept = None
    if not everywhere and variant.sparse_last_layer:  # the rows BertForPreTraining keeps: labelled + [CLS]
        selected[:, 0] = True
        kept = int(selected.sum())
    return train_flops(config, B, T, n, kept)


def bench_training(
    setup: Setup,
    variants: list[str],
    repeats: int = 7,
    batches_per_repeat: int = 4,
    seed: int = 0,
    ceiling_seconds: float = 0.02,
    clock=time.perf_counter,
    progress: Any = None,
) -> dict[str, Any]:
    """Time every variant interleaved on the same batches; medians over ``repeats`` rounds.

    Args:
        setup: the model size and data.
        variants: keys of :data:`VARIANTS`.
        repeats: rounds; each round runs every variant (rotating order) and the ceiling.
        batches_per_repeat: steps per variant per round (the same batches each round).
        ceiling_seconds: how long each of the ceiling's products is timed per round.
        clock: ``time.perf_counter`` (wall time) or ``time.process_time`` (CPU time of
            this process: on a busy machine with one thread, what the step costs).
        progress: optional callable taking a string, told what runs.

    Returns:
        A dict with the setup's shapes, the ceiling and, per variant: tokens/s,
        ms per step, model GFLOP/s, fraction of the ceiling (medians) and every sample.
    """
    torch.manual_seed(seed)
    config = setup.config()
    state = bertlib.BertForPreTraining(config).state_dict()
    batches = make_batches(setup, batches_per_repeat, seed=seed)
    tokens = sum(b["input_ids"].numel() for b in batches)
    rows = round(tokens / len(batches))  # typical B x T, for the ceiling's shapes
    runners = {}
    for name in variants:
        v = VARIANTS[name]
        model = build_model(config, v, state)
        opt = make_optimizer(model, v)
        train_step(model, opt, batches[0], v)  # warm-up: allocates AdamW's state, picks kernels
        runners[name] = (v, model, opt, sum(_step_flops(config, b, v) for b in batches))
    ceiling = MatmulCeiling(gemm_shapes(config, rows), min_seconds=ceiling_seconds, clock=clock)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    ceilings = []
    for r in range(repeats):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]  # rotate who goes first
        for name in order:
            if progress:
                progress(f"{setup.name}: round {r + 1}/{repeats}, {name}")
            v, model, opt, _ = runners[name]
            t0 = clock()
            for b in batches:
                train_step(model, opt, b, v)
            samples[name].append(clock() - t0)
        ceilings.append(ceiling.measure())
    ceiling_gflops = statistics.median(ceilings)
    results = {}
    for name, secs in samples.items():
        v, _, _, flops = runners[name]
        med = statistics.median(secs)
        results[name] = {
            "tokens_per_s": tokens / med,
            "ms_per_step": 1e3 * med / len(batches),
            "gflops": flops / med / 1e9,
            "fraction_of_ceiling": flops / med / 1e9 / ceiling_gflops,
            "flops_per_step": flops / len(batches),
            "seconds": secs,
        }
    return {
        "setup": setup.name,
        "description": setup.description,
        "config": _sizes(config),
        "batch_size": setup.batch_size,
        "mean_seq_len": tokens / setup.batch_size / len(batches),
        "mean_predicted": sum(int((b["labels"] != -100).sum()) for b in batches) / len(batches),
        "steps_per_sample": len(batches),
        "repeats": repeats,
        "ceiling_gflops": ceiling_gflops,
        "ceiling_samples": ceilings,
        "variants": results,
    }


def _sizes(config: BertConfig) -> dict[str, int]:
    return {
        "layers": config.num_hidden_layers,
        "hidden": config.hidden_size,
        "heads": config.num_attention_heads,
        "intermediate": config.intermediate_size,
        "vocab": config.vocab_size,
    }


def paired_ratio(result: dict[str, Any], faster: str, slower: str) -> float:
    """Median over rounds of time(slower) / time(faster): how many times faster ``faster`` is.

    Pairing the two variants' times of the same round cancels most of the noise
    that other jobs on the machine add (both ran within seconds of each other).
    """
    a, b = result["variants"][faster]["seconds"], result["variants"][slower]["seconds"]
    return statistics.median(y / x for x, y in zip(a, b, strict=True))
