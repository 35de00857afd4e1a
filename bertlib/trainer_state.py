"""A training run on disk: its checkpoint folders, and resuming from them only in the run that wrote them.

``<checkpoint_dir>/checkpoint-<step>/`` holds the model in the Hugging Face layout
(config.json, model.safetensors, tokenizer.json), the optimizer (optimizer.safetensors)
and trainer_state.json: the step, the run's settings, its history and a fingerprint of
its training data. Each folder is written by :func:`bertlib.checkpoint.atomic_folder`,
so it appears whole or not at all, and only with finite weights. A checkpoint is
resumed only by the run that wrote it: same settings, same model config, same data.
One Trainer at a time trains in a directory (:class:`bertlib.checkpoint_lock.CheckpointLock`).
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointError, atomic_folder, load_tensors, save_tensors

__all__ = ["write_checkpoint", "read_checkpoint", "latest_checkpoint", "data_fingerprint"]

STATE_NAME = "trainer_state.json"
OPTIMIZER_NAME = "optimizer.safetensors"

# Settings that change what a run computes: resuming with another value would mix two runs.
_RUN_FIELDS = ("batch_size", "lr", "warmup_steps", "weight_decay", "max_grad_norm", "seed")


def data_fingerprint(data: Any) -> dict[str, Any] | None:
    """``{"examples": len(data), "sha256": data.fingerprint()}``, or None for a dataset without ``fingerprint``."""
    fingerprint = getattr(data, "fingerprint", None)
    return {"examples": len(data), "sha256": fingerprint()} if callable(fingerprint) else None


def write_checkpoint(
    root: Path, model: Any, optimizer: torch.optim.Optimizer, state: dict[str, Any], tokenizer: Any, keep: int
) -> Path:
    """Write ``root/checkpoint-<state["step"]>`` atomically, then delete all but the ``keep`` latest.

    Raises:
        FloatingPointError: a weight holds NaN or inf; nothing is written and nothing deleted.
    """
    step = state["step"]
    bad = [n for n, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    if bad:
        raise FloatingPointError(
            f"Weights {bad[:3]} hold NaN or inf at step {step}: not saving them over the last finite "
            f"checkpoint in {root}. Train again with a lower learning rate."
        )
    if not hasattr(model, "_write_files"):
        raise TypeError(
            f"checkpoint_dir needs a bertlib model (with save_pretrained); {type(model).__name__} is not one. "
            f"Train it with checkpoint_dir=None and save it yourself."
        )
    opt = optimizer.state_dict()

    def write(folder: Path) -> None:
        model._write_files(folder, tokenizer)
        tensors = {f"{i}.{k}": v for i, s in opt["state"].items() for k, v in s.items()}
        save_tensors(tensors, folder / OPTIMIZER_NAME)
        groups = [{k: v for k, v in g.items() if k != "params"} | {"params": g["params"]} for g in opt["param_groups"]]
        (folder / STATE_NAME).write_text(json.dumps({**state, "param_groups": groups}, indent=1))

    final = atomic_folder(root / f"checkpoint-{step}", write, keep_others=False)
    # Only this run's earlier checkpoints are rotated: never the one just written (the last finite
    # one), never a later one left by an earlier run that train(resume=False) chose not to load.
    earlier = sorted((s, p) for s, p in _checkpoints(root) if s < step)
    for _, old in earlier[: max(0, len(earlier) - (keep - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(root: Path) -> Path | None:
    """The checkpoint-<N> folder with the largest N in ``root``, or None."""
    found = sorted(_checkpoints(root))
    return found[-1][1] if found else None


def read_checkpoint(
    path: Path,
    model: Any,
    optimizer: torch.optim.Optimizer,
    config: dict[str, Any],
    data: dict[str, Any] | None,
    device: torch.device,
) -> dict[str, Any]:
    """Check that ``path`` belongs to this run, load model and optimizer from it, return its trainer state.

    Args:
        config: the Trainer's settings (``asdict(TrainingConfig)``).
        data: :func:`data_fingerprint` of the Trainer's training data.
    """
    state_file = path / STATE_NAME
    if not state_file.is_file():
        raise CheckpointError(f"{path} has no {STATE_NAME}: it is not a training checkpoint.")
    try:
        state = json.loads(state_file.read_text())
        state["step"] = int(state["step"])
        saved, groups = state.get("config", {}), state["param_groups"]
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(
            f"{state_file} is corrupted ({e}): delete the folder {path} to resume from an earlier "
            f"checkpoint, or start again with a new checkpoint_dir."
        ) from e
    # Every check comes before the first weight is loaded: a refused checkpoint leaves the model as it was.
    _check_same_run(saved, config, state["step"], path)
    _check_same_model(path, model, state.get("model_class"), groups, optimizer)
    _check_same_data(state.get("data"), data, path)
    if not (path / OPTIMIZER_NAME).is_file():
        raise CheckpointError(
            f"{path} has no {OPTIMIZER_NAME}: it cannot resume training. Delete the folder to resume from "
            f"an earlier checkpoint, or load only the weights with from_pretrained({str(path)!r})."
        )
    opt_state: dict[int, dict[str, torch.Tensor]] = {}
    for key, v in load_tensors(path / OPTIMIZER_NAME, device).items():
        i, name = key.split(".", 1)
        opt_state.setdefault(int(i), {})[name] = v.cpu() if name == "step" else v
    model.load_state(load_tensors(path / "model.safetensors", device), str(path))
    try:
        optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
    except ValueError as e:
        raise CheckpointError(
            f"{path} holds the optimizer of another model ({e}); it was probably written by a different model "
            f"class. To fine-tune from it, load it with YourModel.from_pretrained({str(path)!r}) and train with "
            f"a new checkpoint_dir."
        ) from e
    return state


def _checkpoints(root: Path) -> list[tuple[int, Path]]:
    if not root.is_dir():
        return []
    # Only folders named exactly checkpoint-<N> that hold a trainer state: never a user's "checkpoint-4-keep".
    return [
        (int(p.name.split("-")[1]), p)
        for p in root.glob("checkpoint-*")
        if re.fullmatch(r"checkpoint-\d+", p.name) and (p / STATE_NAME).is_file()
    ]


def _check_same_run(saved: dict[str, Any], ours: dict[str, Any], step: int, path: Path) -> None:
    """Refuse to resume a checkpoint written by a run with other settings (a re-run cell with a new lr)."""
    diff = [f"{k}={saved[k]!r} there, {ours[k]!r} here" for k in _RUN_FIELDS if k in saved and saved[k] != ours[k]]
    if diff:
        raise CheckpointError(
            f"{path} was written by a run with other settings ({'; '.join(diff)}). Use a new checkpoint_dir "
            f"for the new settings, or train(resume=False) to start over in this one."
        )
    if step > ours["steps"]:
        raise CheckpointError(
            f"{path} has already trained {step} steps, more than steps={ours['steps']}: raise steps, use a new "
            f"checkpoint_dir, or train(resume=False) to start over."
        )


def _check_same_model(
    path: Path, model: Any, saved_class: str | None, groups: list[dict[str, Any]], optimizer: torch.optim.Optimizer
) -> None:
    """Refuse a checkpoint of another model: another class, another config, other parameter groups."""
    sizes, here_sizes = [len(g["params"]) for g in groups], [len(g["params"]) for g in optimizer.param_groups]
    if (saved_class is not None and saved_class != type(model).__name__) or sizes != here_sizes:
        what = f"a {saved_class}" if saved_class else f"parameter groups of {sizes} tensors"
        here = type(model).__name__ if saved_class else f"{here_sizes}"
        raise CheckpointError(
            f"{path} holds the optimizer of another model ({what} there, {here} here). To fine-tune from it, "
            f"load it with YourModel.from_pretrained({str(path)!r}) and train with a new checkpoint_dir; to "
            f"resume it, use the same model class and parameter groups."
        )
    model_config = getattr(model, "config", None)
    if model_config is None or not (path / "config.json").is_file():
        return
    theirs, ours = json.loads((path / "config.json").read_text()), model_config.to_dict()
    diff = [f"{k}={theirs[k]!r} there, {ours[k]!r} here" for k in ours if k in theirs and theirs[k] != ours[k]]
    if diff:
        raise CheckpointError(
            f"{path} holds a model with another config ({'; '.join(diff[:4])}). Use a new checkpoint_dir "
            f"for this model, or train(resume=False) to start over."
        )


def _check_same_data(saved: dict[str, Any] | None, ours: dict[str, Any] | None, path: Path) -> None:
    """Refuse a checkpoint trained on other data: the resumed run would silently mix two datasets."""
    if saved is None:
        warnings.warn(
            f"{path} records no fingerprint of its training data (it was written by an older bertlib): resuming "
            f"without checking that train_data is the same. If it is not, use a new checkpoint_dir or "
            f"train(resume=False).",
            stacklevel=4,
        )
    elif ours is None:
        warnings.warn(
            f"This Trainer's train_data has no fingerprint() method: resuming from {path} without checking that "
            f"it is the data the checkpoint was trained on.",
            stacklevel=4,
        )
    elif saved != ours:
        raise CheckpointError(
            f"{path} was trained on other data ({saved['examples']} examples, sha256 {saved['sha256'][:12]} there; "
            f"{ours['examples']} examples, sha256 {ours['sha256'][:12]} here): resuming would mix two datasets. "
            f"Use a new checkpoint_dir for the new data, or train(resume=False) to start over in this one."
        )
