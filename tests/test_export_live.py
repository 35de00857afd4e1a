"""The build's ONNX export for the live book (bertlib.onnx_export, scripts/export_live.py).

The export is checked against PyTorch with onnxruntime; a wrong export must fail the
build, and a failed export must leave nothing on the site.
"""

from __future__ import annotations

import json

import pytest
import torch
from helpers import load_script, tiny_tokenizer

from bertlib import BertConfig
from bertlib.heads import BertForPreTraining
from bertlib.onnx_export import ExportMismatch, check_onnx, export_onnx

pytest.importorskip("onnxruntime")


def _tiny_model(vocab_size: int) -> BertForPreTraining:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    return BertForPreTraining(config).eval()


def test_export_matches_pytorch_and_a_changed_model_does_not(tmp_path):
    tokenizer = tiny_tokenizer()
    model = _tiny_model(tokenizer.vocab_size)
    path = tmp_path / "model.onnx"
    assert export_onnx(model, path, tokenizer) == ["logits", "attentions"]
    assert not list(tmp_path.glob("*.data")), "the weights must stay inside the one .onnx file"
    diffs = check_onnx(model, path, tokenizer)
    assert max(diffs.values()) < 1e-4, diffs
    with torch.no_grad():  # the file no longer computes what the model does
        model.cls.predictions.decoder.bias.add_(0.01)
    with pytest.raises(ExportMismatch, match="logits"):
        check_onnx(model, path, tokenizer)


def test_a_failed_export_fails_the_script_and_leaves_nothing(tmp_path, monkeypatch):
    export_live = load_script("export_live")
    (tmp_path / "index.html").write_text("<html></html>")
    (tmp_path / "_static").mkdir()

    def mismatch(out, minilm=True):
        (out / "small-bert").mkdir(parents=True)
        (out / "small-bert" / "model.onnx").write_bytes(b"half a model")
        raise ExportMismatch("output 'logits' differs from PyTorch by 0.5")

    monkeypatch.setattr(export_live, "export_live_models", mismatch)
    with pytest.raises(SystemExit, match="differs from PyTorch"):
        export_live.export(tmp_path)
    assert sorted(p.name for p in (tmp_path / "_static").iterdir()) == []


def test_the_script_refuses_a_folder_that_is_not_a_built_book(tmp_path):
    with pytest.raises(SystemExit, match="not a built book"):
        load_script("export_live").export(tmp_path)


def test_the_script_writes_the_manifest_in_place(tmp_path, monkeypatch):
    export_live = load_script("export_live")
    (tmp_path / "index.html").write_text("<html></html>")

    def fake(out, minilm=True):
        out.mkdir(parents=True, exist_ok=True)
        manifest = {"format": 1, "models": []}
        (out / "manifest.json").write_text(json.dumps(manifest))
        return manifest

    monkeypatch.setattr(export_live, "export_live_models", fake)
    export_live.export(tmp_path)
    assert json.loads((tmp_path / "_static" / "live" / "manifest.json").read_text())["format"] == 1
    assert not (tmp_path / "_static" / "live.tmp").exists()
