"""Checkpoint files on disk: safetensors in and out, and the atomic writers every save goes through.

Nothing is ever unpickled: weights are safetensors, everything else JSON.
Writes are atomic: a file through :func:`atomic_write`, a whole folder (a model, a
training checkpoint, the cached small BERT) through :func:`atomic_folder`, so an
interrupted save never leaves a half-written checkpoint behind. How a model is
saved and loaded in the Hugging Face layout is :mod:`bertlib.model_io`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

__all__ = [
    "CheckpointError",
    "CheckpointWarning",
    "save_tensors",
    "load_tensors",
    "atomic_write",
    "atomic_folder",
]


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupted, or does not fit the model it is loaded into."""


class CheckpointWarning(UserWarning):
    """A checkpoint loaded, but some weights were left fresh or unused in a way the model class does not expect."""


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp)`` on a temporary path next to ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())  # the bytes are on disk before the rename makes them visible
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_folder(directory: str | os.PathLike, write: Callable[[Path], Any], keep_others: bool = True) -> Path:
    """Write a whole folder atomically: ``write(tmp)`` fills a hidden sibling folder, which then replaces it.

    Config, weights and tokenizer appear together or not at all; if ``write`` fails the previous
    folder is left untouched and loadable. Every folder bertlib writes goes through here.

    Args:
        directory: the folder to create or replace.
        write: fills the temporary folder it is given.
        keep_others: carry over the files already in ``directory`` that ``write`` did not write
            (hard links, so nothing is copied and nothing is lost): a user's notes next to a saved
            model. False for folders bertlib owns whole (a training checkpoint), where a stale
            file from an earlier run would not belong to the new one.
    """
    directory = Path(os.path.abspath(directory))
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
    for leftover in (tmp, old):
        shutil.rmtree(leftover, ignore_errors=True)
    tmp.mkdir()
    try:
        write(tmp)
        if keep_others and directory.is_dir():
            for entry in directory.iterdir():
                if not (tmp / entry.name).exists():
                    _link(entry, tmp / entry.name)
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())  # every byte is on disk before the rename makes it visible
        if directory.exists():
            os.replace(directory, old)
            try:
                os.replace(tmp, directory)
            except BaseException:
                os.replace(old, directory)  # put the previous folder back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, directory)
        _fsync_dir(directory.parent)  # the rename itself survives a power cut
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder: its renames are already durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _link(src: Path, dst: Path) -> None:
    try:
        if src.is_dir():
            shutil.copytree(src, dst, copy_function=os.link)
        else:
            os.link(src, dst)
    except OSError:  # a file system without hard links: copy instead
        if dst.is_dir():
            shutil.rmtree(dst)  # a half-linked folder
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)


def save_tensors(
    tensors: dict[str, torch.Tensor], path: str | os.PathLike, metadata: dict[str, str] | None = None
) -> None:
    """Save a dict of tensors as safetensors, atomically."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata={"format": "pt", **(metadata or {})}))


def load_tensors(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Load a safetensors file, turning a missing or damaged file into a clear :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"No weights file at {path}. A checkpoint folder holds config.json and model.safetensors; "
            f"save one with model.save_pretrained(folder) (bertlib never reads pickled .bin files)."
        )
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            return {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for damaged headers and data
        raise CheckpointError(
            f"{path} could not be read as safetensors ({e}). The file is corrupted or truncated: "
            f"save the checkpoint again (or reinstall the package that ships it)."
        ) from e
