"""A training run on disk: resuming only on the same data, one Trainer per directory, folders whole or absent."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import bertlib
from bertlib import CheckpointError, PretrainingDataset, Trainer
from bertlib.checkpoint_lock import CheckpointLock
from tests.helpers import DOCUMENTS
from tests.test_training import setup

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------- data fingerprint
def test_resume_refuses_other_training_data(tmp_path):
    first, tok = setup(tmp_path, steps=4)
    first.train()
    fresh, _ = setup(tmp_path, steps=4)
    pairs = bertlib.make_nsp_pairs(DOCUMENTS * 4, seed=0)
    others = {  # name: (dataset, its number of examples)
        "other pairs": (PretrainingDataset(bertlib.make_nsp_pairs(DOCUMENTS * 4, seed=1), tok, max_length=32), 20),
        "fewer pairs": (PretrainingDataset(pairs[:15], tok, max_length=32), 15),
        "other masking": (PretrainingDataset(pairs, tok, max_length=32, mlm_probability=0.3), 20),
    }
    for name, (data, n) in others.items():
        other = Trainer(fresh.model, data, first.config, tokenizer=tok)
        with pytest.raises(CheckpointError, match=rf"other data \(20 examples, .* there; {n} examples, .*resume=False"):
            other.train()
        assert other.step == 0, name
    same, _ = setup(tmp_path, steps=8)  # the same data (built again) resumes
    assert same.load_checkpoint() and same.step == 4
    restart = Trainer(fresh.model, others["other pairs"][0], first.config, tokenizer=tok)
    restart.train(resume=False)  # the explicit way to start over on new data
    assert restart.step == 4


def test_an_old_checkpoint_without_a_fingerprint_resumes_with_a_warning(tmp_path):
    first, _ = setup(tmp_path, steps=4)
    first.train()
    state_file = tmp_path / "ckpt" / "checkpoint-4" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    assert state["data"]["examples"] == 20 and len(state["data"]["sha256"]) == 64
    del state["data"]
    state_file.write_text(json.dumps(state))
    again, _ = setup(tmp_path, steps=4)
    with pytest.warns(UserWarning, match="no fingerprint of its training data"):
        assert again.load_checkpoint()
    assert again.step == 4


def test_the_fingerprint_follows_the_examples():
    rows = [{"input_ids": [2, 5, 6, 3], "labels": 1}, {"input_ids": [2, 7, 3], "labels": 0}]
    a = bertlib.EncodedDataset(rows).fingerprint()
    assert a == bertlib.EncodedDataset([dict(r) for r in rows]).fingerprint()
    assert a != bertlib.EncodedDataset([rows[0], {**rows[1], "labels": 1}]).fingerprint()
    assert a != bertlib.EncodedDataset(rows[::-1]).fingerprint()  # the order decides the batches too
    assert a == bertlib.EncodedDataset([{k: torch.tensor(v) for k, v in r.items()} for r in rows]).fingerprint()


# ------------------------------------------------------------------------ lock
HOLD = """
import sys
from bertlib.checkpoint_lock import CheckpointLock
CheckpointLock(sys.argv[1]).acquire()
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes stdin
"""


def test_a_second_process_cannot_train_in_a_locked_directory(tmp_path):
    trainer, _ = setup(tmp_path, steps=2)
    folder = tmp_path / "ckpt"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(
            CheckpointError, match=rf"{folder} is in use .*process {holder.pid}.*another checkpoint_dir"
        ):
            trainer.train()
        assert trainer.step == 0 and not (folder / "checkpoint-2").exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    trainer.train()  # the holder has exited: its lock went with it
    assert trainer.step == 2
    assert not (folder / ".lock").exists()  # released, and removed


def test_a_second_trainer_in_the_same_process_is_refused(tmp_path):
    trainer, _ = setup(tmp_path, steps=2)
    with CheckpointLock(tmp_path / "ckpt"):  # as a Trainer in another notebook cell holds it while training
        with pytest.raises(CheckpointError, match="another Trainer in this process"):
            trainer.train()
    trainer.train()
    assert trainer.step == 2


def test_the_lock_is_released_when_training_fails(tmp_path):
    trainer, _ = setup(tmp_path, steps=30, lr=1e6, max_grad_norm=None)
    with pytest.raises(FloatingPointError):
        trainer.train()
    lock = CheckpointLock(tmp_path / "ckpt")
    lock.acquire()  # free again
    lock.release()
    assert not (tmp_path / "ckpt" / ".lock").exists()


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
