"""Inference: the latency of one sentence with its attention weights, and batch throughput.

The attention pictures of the book run the encoder on one short sentence and
ask for every layer's weights (``output_attentions=True``), which needs the
explicit softmax path; we time that for bertlib and for ``transformers``
(eager, the path it uses for weights), and bertlib without weights for
comparison. Throughput is the encoder alone on a batch of 32 sequences, as
an evaluation loop runs it. Both under ``torch.inference_mode()``,
interleaved, medians.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from typing import Any

import torch
from torch import nn

import bertlib

from .setups import Setup, example_sentence, make_batches

__all__ = ["bench_inference", "build_encoder"]


def build_encoder(config: bertlib.BertConfig, library: str, attn: str, state: dict[str, torch.Tensor]) -> nn.Module:
    """A ``BertModel`` of either library, in eval mode, holding the weights ``state``."""
    if library == "bertlib":
        model = bertlib.BertModel(replace(config, attn_implementation=attn))
    else:
        import transformers

        model = transformers.BertModel(transformers.BertConfig(**config.to_dict(), attn_implementation=attn))
    model.load_state_dict(state, strict=True)
    return model.eval()


def _time(fn, min_seconds: float, clock=time.perf_counter) -> float:
    """Seconds per call of ``fn``: repeat it for at least ``min_seconds``, return the mean."""
    fn()  # warm-up
    reps, t0 = 0, clock()
    while True:
        fn()
        reps += 1
        elapsed = clock() - t0
        if elapsed >= min_seconds:
            return elapsed / reps


def bench_inference(
    setup: Setup,
    repeats: int = 5,
    batch_size: int = 32,
    min_seconds: float = 0.2,
    seed: int = 0,
    clock=time.perf_counter,
) -> dict[str, Any]:
    """Latency (ms) of one sentence with attentions and throughput (tokens/s) of a batch.

    Returns:
        ``latency_ms``: {variant: median ms}; ``throughput``: {variant: median tokens/s};
        the sentence length and the batch shape.
    """
    torch.manual_seed(seed)
    config = setup.config()
    state = bertlib.BertModel(config).state_dict()
    models = {
        (lib, attn): build_encoder(config, lib, attn, state)
        for lib, attn in [("bertlib", "sdpa"), ("transformers", "eager"), ("transformers", "sdpa")]
    }
    sentence = example_sentence(setup)
    batch = make_batches(replace(setup, batch_size=batch_size), 1, seed=seed)[0]
    batch = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}

    def run(key: tuple[str, str], inputs: dict[str, torch.Tensor], attentions: bool):
        def call():
            out = models[key](**inputs, output_attentions=attentions)
            if attentions:  # the pictures need every layer's (1, heads, T, T) weights
                assert len(out.attentions) == config.num_hidden_layers

        return call

    latency = {
        "bertlib, with attentions": run(("bertlib", "sdpa"), sentence, True),
        "transformers eager, with attentions": run(("transformers", "eager"), sentence, True),
        "bertlib, no attentions": run(("bertlib", "sdpa"), sentence, False),
    }
    throughput = {
        "bertlib": run(("bertlib", "sdpa"), batch, False),
        "transformers eager": run(("transformers", "eager"), batch, False),
        "transformers sdpa": run(("transformers", "sdpa"), batch, False),
    }
    lat: dict[str, list[float]] = {k: [] for k in latency}
    thr: dict[str, list[float]] = {k: [] for k in throughput}
    with torch.inference_mode():
        for _ in range(repeats):  # interleaved rounds
            for k, fn in latency.items():
                lat[k].append(1e3 * _time(fn, min_seconds, clock))
            for k, fn in throughput.items():
                thr[k].append(batch["input_ids"].numel() / _time(fn, min_seconds, clock))
    return {
        "setup": setup.name,
        "sentence_tokens": int(sentence["input_ids"].size(1)),
        "batch_shape": list(batch["input_ids"].shape),
        "latency_ms": {k: statistics.median(v) for k, v in lat.items()},
        "throughput_tokens_per_s": {k: statistics.median(v) for k, v in thr.items()},
        # Paired per round (the same round's two rates), as the training ratios: robust to the load.
        "throughput_ratios": {
            f"bertlib / {k}": statistics.median(a / b for a, b in zip(thr["bertlib"], thr[k], strict=True))
            for k in thr
            if k != "bertlib"
        },
    }
