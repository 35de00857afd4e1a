"""Export the book's models to ONNX for the live site, and check the export against PyTorch.

The built site runs two models in the reader's browser with onnxruntime-web:
the small BERT of chapter 8 (MLM logits and every layer's attention weights)
and all-MiniLM-L6-v2 (attention weights). :func:`export_live_models` writes,
for each model, one ``.onnx`` file with its weights inside (no external data),
its ``tokenizer.json`` and ``config.json``, and a ``manifest.json`` naming each
model, its size and the recipe hash of the checkpoint it came from.

Every export is run with Python's onnxruntime on probe sentences and compared
with PyTorch: a difference above ``atol`` raises :class:`ExportMismatch`, so
a wrong export fails the build instead of reaching readers.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .heads import BertForPreTraining
from .model import BertModel
from .tokenization import BertTokenizer

__all__ = [
    "PROBE_SENTENCES",
    "ExportMismatch",
    "LiveModel",
    "export_onnx",
    "check_onnx",
    "export_live_models",
]

SMALL_NAME = "small-bert"  # the browser API's name for chapter 8's model (it must contain "small")
MINILM_NAME = "all-MiniLM-L6-v2"
MAX_LENGTH = 128  # tokens per input in the browser, [CLS] and [SEP]s included (the small BERT's positions)
OPSET = 18

# Probe inputs of the export check: town-corpus sentences, a [MASK], a pair, odd lengths, unknown characters.
PROBE_SENTENCES: list[tuple[str, str | None]] = [
    ("the baker opens the shop in the morning .", None),
    ("the [MASK] sells bread to the teacher .", None),
    ("where is the river ?", "the river runs past the old mill ."),
    ("a", None),
    ("Über 東京 ☃ and a very long wordwithoutanyspaceatallinside goes here", None),
]


class ExportMismatch(RuntimeError):
    """The ONNX export computes something other than the PyTorch model."""


@dataclass
class LiveModel:
    """One exported model as the manifest describes it."""

    name: str  # what the browser API calls it
    file: str  # the .onnx file, relative to the manifest
    bytes: int
    sha256: str
    recipe_hash: str  # the checkpoint's identity: the small BERT's recipe hash, MiniLM's weights hash
    outputs: list[str]
    num_layers: int
    num_heads: int
    vocab_size: int
    max_length: int
    tokenizer: str  # tokenizer.json, relative to the manifest
    config: str  # config.json, relative to the manifest
    max_abs_diff: dict[str, float]  # the export check's largest difference per output


class _MlmWithAttentions(nn.Module):
    """BertForPreTraining -> (MLM logits (B, T, V), attentions (B, L, H, T, T)), explicit attention path."""

    def __init__(self, model: BertForPreTraining):
        super().__init__()
        self.model = model

    def forward(self, input_ids, token_type_ids, attention_mask):
        out = self.model(input_ids, token_type_ids, attention_mask, output_attentions=True, logits_at="all")
        return out.prediction_logits, torch.stack(out.attentions, dim=1)  # (B, T, V), (B, L, H, T, T)


class _Attentions(nn.Module):
    """BertModel -> attentions (B, L, H, T, T), explicit attention path."""

    def __init__(self, model: BertModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids, token_type_ids, attention_mask):
        out = self.model(input_ids, token_type_ids, attention_mask, output_attentions=True)
        return torch.stack(out.attentions, dim=1)  # (B, L, H, T, T)


def _wrap(model: nn.Module) -> tuple[nn.Module, list[str]]:
    if isinstance(model, BertForPreTraining):
        return _MlmWithAttentions(model).eval(), ["logits", "attentions"]
    if isinstance(model, BertModel):
        return _Attentions(model).eval(), ["attentions"]
    raise TypeError(f"export_onnx takes a BertForPreTraining or a BertModel, got {type(model).__name__}.")


def _encode(tokenizer: BertTokenizer, text: str, pair: str | None) -> dict[str, np.ndarray]:
    enc = tokenizer([text] if pair is None else [(text, pair)], max_length=MAX_LENGTH, return_tensors="pt")
    return {k: enc[k].numpy().astype(np.int64) for k in ("input_ids", "token_type_ids", "attention_mask")}


def export_onnx(model: nn.Module, path: str | os.PathLike, tokenizer: BertTokenizer) -> list[str]:
    """Write ``model`` to one ONNX file (weights inside), batch and sequence length dynamic.

    Args:
        model: a BertForPreTraining (exports MLM logits and attentions) or a BertModel (attentions).
        path: the .onnx file to write.
        tokenizer: encodes the example input that torch.export traces.

    Returns:
        The names of the outputs, in order.
    """
    wrapped, outputs = _wrap(model)
    example = {k: torch.from_numpy(v) for k, v in _encode(tokenizer, *PROBE_SENTENCES[2]).items()}
    axes = {name: {0: "batch", 1: "seq"} for name in example}
    axes.update({name: {0: "batch", 1: "seq"} for name in outputs if name == "logits"})
    axes.update({name: {0: "batch", 3: "seq", 4: "seq_k"} for name in outputs if name == "attentions"})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # The TorchScript-based exporter traces one forward pass. torch.export (dynamo=True) refuses
    # bertlib's input checks (``int(input_ids.min()) < 0`` depends on the data); tracing evaluates
    # them once on the example and records only the computation, which check_onnx then verifies.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about those checks; they are not part of the graph
        torch.onnx.export(
            wrapped,
            tuple(example.values()),
            str(path),
            dynamo=False,
            input_names=list(example),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            external_data=False,
        )
    return outputs


def check_onnx(
    model: nn.Module, path: str | os.PathLike, tokenizer: BertTokenizer, atol: float = 1e-4
) -> dict[str, float]:
    """Run the ONNX file with onnxruntime on :data:`PROBE_SENTENCES` and compare with PyTorch.

    Returns:
        The largest absolute difference per output, over all probes.

    Raises:
        ExportMismatch: an output differs by more than ``atol`` or has another shape.
    """
    import onnxruntime as ort

    wrapped, outputs = _wrap(model)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = dict.fromkeys(outputs, 0.0)
    for text, pair in PROBE_SENTENCES:
        feeds = _encode(tokenizer, text, pair)
        with torch.no_grad():
            expected = wrapped(*(torch.from_numpy(v) for v in feeds.values()))
        expected = expected if isinstance(expected, tuple) else (expected,)
        got = session.run(outputs, feeds)
        for name, e, g in zip(outputs, expected, got, strict=True):
            if tuple(e.shape) != g.shape:
                raise ExportMismatch(f"{path}: output {name!r} has shape {g.shape}, PyTorch {tuple(e.shape)}.")
            diff = float(np.abs(e.numpy() - g).max())
            worst[name] = max(worst[name], diff)
            if diff > atol:
                raise ExportMismatch(
                    f"{path}: output {name!r} differs from PyTorch by {diff:.3g} (> {atol}) on {text!r}; "
                    "the export is wrong, do not ship it."
                )
    return worst


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _export_one(name, model, tokenizer, out, recipe_hash, config_path) -> LiveModel:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / "model.onnx"
    outputs = export_onnx(model, onnx_path, tokenizer)
    diffs = check_onnx(model, onnx_path, tokenizer)
    tokenizer.save(folder / "tokenizer.json")
    (folder / "config.json").write_text(Path(config_path).read_text())
    config = model.config
    return LiveModel(
        name=name,
        file=f"{name}/model.onnx",
        bytes=onnx_path.stat().st_size,
        sha256=_sha256(onnx_path),
        recipe_hash=recipe_hash,
        outputs=outputs,
        num_layers=config.num_hidden_layers,
        num_heads=config.num_attention_heads,
        vocab_size=config.vocab_size,
        max_length=MAX_LENGTH,
        tokenizer=f"{name}/tokenizer.json",
        config=f"{name}/config.json",
        max_abs_diff=diffs,
    )


def export_live_models(out: str | os.PathLike, minilm: bool = True) -> dict[str, Any]:
    """Export the small BERT (and MiniLM) into ``out`` with a ``manifest.json``; returns the manifest.

    The small BERT comes from :func:`bertlib.pretrained.load_small_bert` (trained once if not cached).
    """
    from .minilm import load_minilm, minilm_path
    from .pretrained import SMALL_BERT_RECIPE, load_small_bert, small_bert_path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    models = []
    small, small_tok = load_small_bert(progress=False)
    folder = small_bert_path(SMALL_BERT_RECIPE)
    recipe_hash = folder.name.removeprefix("small-bert-")
    models.append(_export_one(SMALL_NAME, small, small_tok, out, recipe_hash, folder / "config.json"))
    if minilm:
        encoder, tok = load_minilm()
        path = minilm_path()
        models.append(
            _export_one(MINILM_NAME, encoder, tok, out, _sha256(path / "model.safetensors")[:10], path / "config.json")
        )
    manifest = {"format": 1, "models": [m.__dict__ for m in models]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
