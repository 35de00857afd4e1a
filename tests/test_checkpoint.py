"""Checkpoint files: safetensors in and out, atomic writes (bertlib.checkpoint)."""

import pytest
import torch

import bertlib
from bertlib import BertConfig, BertForPreTraining, checkpoint
from bertlib.checkpoint import CheckpointError, atomic_write, load_tensors, save_tensors


def test_a_failed_save_leaves_the_previous_checkpoint_loadable(tmp_path, monkeypatch):
    folder = tmp_path / "model"
    bertlib.set_seed(0)
    first = BertForPreTraining(BertConfig.preset("test"))
    first.save_pretrained(folder)
    (folder / "notes.txt").write_text("mine")
    second = BertForPreTraining(BertConfig.preset("test", vocab_size=60))

    def fail(self, path):
        raise OSError("disk full")

    monkeypatch.setattr(BertConfig, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        second.save_pretrained(folder)
    monkeypatch.undo()
    loaded = BertForPreTraining.from_pretrained(folder)  # the old config and the old weights, together
    for k, v in first.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    second.save_pretrained(folder)
    assert BertForPreTraining.from_pretrained(folder).config.vocab_size == 60
    assert (folder / "notes.txt").read_text() == "mine"  # the user's file survives the swap
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary folder left behind


def test_tensors_round_trip_and_a_damaged_file_is_named(tmp_path):
    tensors = {"a": torch.arange(6.0).view(2, 3), "b": torch.tensor([1, 2], dtype=torch.int64)}
    save_tensors(tensors, tmp_path / "t.safetensors")
    loaded = load_tensors(tmp_path / "t.safetensors")
    assert loaded.keys() == tensors.keys() and all(torch.equal(loaded[k], tensors[k]) for k in tensors)
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_tensors(tmp_path / "bad.safetensors")
    with pytest.raises(CheckpointError, match="never reads pickled"):
        load_tensors(tmp_path / "missing.safetensors")


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("old")

    def fails(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, fails)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["config.json"]
    atomic_write(path, lambda tmp: tmp.write_text("new"))
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_config_and_tokenizer_files_are_written_atomically(tmp_path, monkeypatch):
    """Both go through atomic_write: a failed save leaves the previous file whole."""
    from tests.helpers import tiny_tokenizer

    BertConfig.preset("test").save(tmp_path / "config.json")
    tokenizer = tiny_tokenizer()
    tokenizer.save(tmp_path / "tokenizer.json")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(checkpoint.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("rename failed")))
    for save in (
        lambda: BertConfig.preset("tiny").save(tmp_path / "config.json"),
        lambda: tokenizer.save(tmp_path / "tokenizer.json"),
    ):
        with pytest.raises(OSError, match="rename failed"):
            save()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
