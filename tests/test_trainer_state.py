"""A training run on disk: checkpoint folders appear whole or not at all, rotation keeps what it must."""

import json

import pytest

import bertlib
from tests.test_training import setup


# --------------------------------------------------------- one atomic writer
def test_a_failed_checkpoint_save_leaves_nothing_behind(tmp_path, monkeypatch):
    trainer, _ = setup(tmp_path, steps=6, save_every=2)
    trainer.train(until=4)

    real_save = bertlib.checkpoint.save_file

    def full_disk(tensors, path, metadata=None):
        if "optimizer" in str(path):  # the model's files are written, then the disk fills up
            raise OSError("disk full")
        real_save(tensors, path, metadata=metadata)

    monkeypatch.setattr(bertlib.checkpoint, "save_file", full_disk)
    with pytest.raises(OSError, match="disk full"):
        trainer.train()  # the save at step 6 fails half-way
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["checkpoint-2", "checkpoint-4"]
    again, _ = setup(tmp_path, steps=6, save_every=2)
    assert again.load_checkpoint() and again.step == 4

    written = []
    real = bertlib.trainer_state.atomic_folder
    monkeypatch.setattr(bertlib.trainer_state, "atomic_folder", lambda *a, **k: written.append(a[0]) or real(*a, **k))
    again.train()
    assert written == [tmp_path / "ckpt" / "checkpoint-6"]  # the same writer as save_pretrained


def test_rotation_never_removes_the_checkpoint_just_written(tmp_path):
    earlier, _ = setup(tmp_path, steps=4, save_every=2, keep_checkpoints=1)
    earlier.train()
    restart, _ = setup(tmp_path, steps=2, keep_checkpoints=1)
    restart.train(resume=False)
    assert (tmp_path / "ckpt" / "checkpoint-2" / "trainer_state.json").is_file()
    assert json.loads((tmp_path / "ckpt" / "checkpoint-2" / "trainer_state.json").read_text())["step"] == 2
