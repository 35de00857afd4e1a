"""Checkpoints in the Hugging Face layout: config.json + model.safetensors (+ tokenizer.json).

Nothing is ever unpickled: weights are safetensors, everything else JSON.
Writes are atomic (a temporary file in the same folder, then ``os.replace``),
so an interrupted save never leaves a half-written checkpoint behind.
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

from .config import BertConfig

__all__ = ["PreTrainedMixin", "CheckpointError", "save_tensors", "load_tensors", "atomic_write", "atomic_folder"]

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
TOKENIZER_NAME = "tokenizer.json"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupted, or does not fit the model it is loaded into."""


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


def atomic_folder(directory: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Write a whole folder atomically: ``write(tmp)`` fills a hidden sibling folder, which then replaces it.

    Config, weights and tokenizer appear together or not at all; if ``write`` fails the previous
    folder is left untouched and loadable. Other files already in the folder are carried over
    (hard links, so nothing is copied and nothing is lost).
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
        if directory.is_dir():
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
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


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


class PreTrainedMixin:
    """``save_pretrained`` and ``from_pretrained`` for every bertlib model class."""

    base_model_prefix = "bert"
    _tied_weights: dict[str, str] = {}  # alias key -> the key it shares storage with

    def save_pretrained(self, directory: str | os.PathLike, tokenizer: Any | None = None) -> Path:
        """Write config.json and model.safetensors (and tokenizer.json when a tokenizer is given).

        The files load back with :meth:`from_pretrained` here and with
        ``transformers.<SameClass>.from_pretrained`` in Hugging Face.

        Returns:
            The folder, as a Path.
        """
        # Tied tensors are stored once (safetensors refuses shared storage); they are re-tied on load.
        state = {k: v for k, v in self.state_dict().items() if k not in self._tied_weights}

        def write(folder: Path) -> None:
            save_tensors(state, folder / WEIGHTS_NAME)
            self.config.save(folder / CONFIG_NAME)
            if tokenizer is not None:
                tokenizer.save(folder / TOKENIZER_NAME)

        atomic_folder(directory, write)  # the files appear together, or the old folder stays as it was
        return Path(directory)

    @classmethod
    def from_pretrained(
        cls, directory: str | os.PathLike, allow_architecture_change: bool = False, **config_overrides: Any
    ):
        """Load a checkpoint folder written by bertlib or by Hugging Face ``transformers``.

        Keys are matched with or without the ``bert.`` prefix, so a bare encoder
        checkpoint (like all-MiniLM-L6-v2) loads into any task model, whose new
        head keeps its fresh initialisation; heads in the checkpoint that this
        class lacks are ignored. What was new and what was unused is recorded in
        ``model.loading_info``. The model is returned in eval mode.

        Args:
            directory: folder with config.json and model.safetensors.
            **config_overrides: fields to change, e.g. ``num_labels=3`` for a new
                head or ``attn_implementation="eager"``. Shape fields must agree
                with the weights.
            allow_architecture_change: permit overrides of fields that change what the weights
                compute without changing their shapes (``num_attention_heads``, ``hidden_act``,
                ``layer_norm_eps``, ``num_hidden_layers``, ...); without it they are refused, since
                the result would be a different model than the checkpoint's.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise CheckpointError(
                f"Checkpoint folder {directory} does not exist. Train and save a model first "
                f"(model.save_pretrained(folder)) or check the path."
            )
        saved = BertConfig.load(directory / CONFIG_NAME)
        changed = {
            k: (getattr(saved, k), v)
            for k, v in config_overrides.items()
            if k in _ARCHITECTURE and getattr(saved, k) != v
        }
        if changed and not allow_architecture_change:
            raise CheckpointError(
                f"{directory / CONFIG_NAME} says "
                + ", ".join(f"{k}={old!r}" for k, (old, _) in changed.items())
                + f"; overriding it ({', '.join(f'{k}={new!r}' for k, (_, new) in changed.items())}) would run the "
                f"checkpoint's weights as a different model. Leave it out, or pass allow_architecture_change=True "
                f"if that is what you mean."
            )
        config = BertConfig.load(directory / CONFIG_NAME, **config_overrides)
        _check_tokenizer_file(directory / TOKENIZER_NAME, config)
        model = cls(config)
        state = load_tensors(directory / WEIGHTS_NAME)
        model.loading_info = model._load_matching(state, str(directory))
        return model.eval()

    def _load_matching(self, state: dict[str, torch.Tensor], source: str) -> dict[str, list[str]]:
        expected = {k for k in self.state_dict() if k not in self._tied_weights}
        state = {_modern_key(k): v for k, v in state.items()}
        prefix = self.base_model_prefix + "."
        ours_prefixed = any(k.startswith(prefix) for k in expected)
        theirs_prefixed = any(k.startswith(prefix) for k in state)
        if ours_prefixed and not theirs_prefixed:  # bare encoder checkpoint -> task model
            state = {prefix + k: v for k, v in state.items()}
        elif theirs_prefixed and not ours_prefixed:  # pretraining checkpoint -> bare BertModel
            state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        # Tied aliases are re-tied, not loaded; old checkpoints also carry the position_ids buffer.
        state = {k: v for k, v in state.items() if k not in self._tied_weights and not k.endswith("position_ids")}
        missing = sorted(expected - set(state))
        unexpected = sorted(set(state) - expected)
        is_encoder = (lambda k: k.startswith(prefix)) if ours_prefixed else (lambda k: True)
        pooler = "pooler."
        broken = [k for k in missing if is_encoder(k) and pooler not in k]
        if broken:
            raise CheckpointError(
                f"The checkpoint {source} lacks {len(broken)} encoder weights this model needs, e.g. {broken[:3]}. "
                f"It is incomplete or was saved from a different architecture; save it again."
            )
        own = self.state_dict()
        for k in sorted(set(state) & expected):
            if state[k].shape != own[k].shape:
                raise CheckpointError(
                    f"Weight {k} has shape {tuple(state[k].shape)} in {source} but {tuple(own[k].shape)} in this "
                    f"model. The config does not match the weights: load without overriding shape fields."
                )
        with torch.no_grad():
            for k in sorted(set(state) & expected):
                own[k].copy_(state[k])
        return {"missing_keys": missing, "unexpected_keys": unexpected}


# Config fields that change what the stored weights compute while every shape still fits (a changed
# shape field fails the shape check instead): a checkpoint's values must not be overridden silently.
_ARCHITECTURE = ("num_hidden_layers", "num_attention_heads", "hidden_act", "layer_norm_eps")


def _modern_key(key: str) -> str:
    """Checkpoints from the original TensorFlow BERT (e.g. bert-base-uncased on the Hub) name the
    LayerNorm parameters gamma and beta; PyTorch names them weight and bias."""
    if key.endswith("LayerNorm.gamma"):
        return key[: -len("gamma")] + "weight"
    if key.endswith("LayerNorm.beta"):
        return key[: -len("beta")] + "bias"
    return key


def _check_tokenizer_file(path: Path, config: BertConfig) -> None:
    """A tokenizer saved with the checkpoint must not produce ids the model cannot embed."""
    if not path.is_file():
        return
    from tokenizers import Tokenizer

    try:
        size = Tokenizer.from_file(str(path)).get_vocab_size()
    except Exception as e:
        raise CheckpointError(f"{path} is not a valid tokenizer.json ({e}); save the tokenizer again.") from e
    if size > config.vocab_size:
        raise CheckpointError(
            f"The tokenizer in {path.parent} has {size} tokens but the model's vocab_size is {config.vocab_size}: "
            f"they do not belong together. Save the model and its own tokenizer with save_pretrained(folder, tokenizer)."
        )
