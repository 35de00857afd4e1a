"""Models in and out of the Hugging Face layout: config.json + model.safetensors (+ tokenizer.json).

Every bertlib model class has :meth:`~PreTrainedMixin.save_pretrained` and
:meth:`~PreTrainedMixin.from_pretrained`. Loading matches a checkpoint's keys to the
model by name (with or without the ``bert.`` prefix, old TensorFlow LayerNorm names
included), refuses what cannot be right (missing encoder weights, wrong shapes, a
silently changed architecture) and warns about what might not be (a fresh or an
unused weight the class does not expect).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointError, CheckpointWarning, atomic_folder, load_tensors, save_tensors
from .config import BertConfig

__all__ = ["PreTrainedMixin"]

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
TOKENIZER_NAME = "tokenizer.json"


class PreTrainedMixin:
    """``save_pretrained`` and ``from_pretrained`` for every bertlib model class."""

    base_model_prefix = "bert"
    config_class: type[BertConfig] = BertConfig  # what config.json is read as (AlbertConfig for ALBERT)
    _tied_weights: dict[str, str] = {}  # alias key -> the key it shares storage with
    # Regular expressions (as in Hugging Face) of keys whose absence, or presence, in a checkpoint is
    # ordinary for this class: a new task head, a pretraining head it drops. Others are warned about.
    _keys_to_ignore_on_load_missing: tuple[str, ...] = ()
    _keys_to_ignore_on_load_unexpected: tuple[str, ...] = ()

    def save_pretrained(self, directory: str | os.PathLike, tokenizer: Any | None = None) -> Path:
        """Write config.json and model.safetensors (and tokenizer.json when a tokenizer is given).

        The files load back with :meth:`from_pretrained` here and with
        ``transformers.<SameClass>.from_pretrained`` in Hugging Face.

        Returns:
            The folder, as a Path.
        """
        # The files appear together, or the old folder stays as it was.
        atomic_folder(directory, lambda folder: self._write_files(folder, tokenizer))
        return Path(directory)

    def _write_files(self, folder: Path, tokenizer: Any | None = None) -> None:
        """config.json, model.safetensors (and tokenizer.json) into an existing folder (not atomic by itself)."""
        # Tied tensors are stored once (safetensors refuses shared storage); they are re-tied on load.
        save_tensors({k: v for k, v in self.state_dict().items() if k not in self._tied_weights}, folder / WEIGHTS_NAME)
        self.config.save(folder / CONFIG_NAME)
        if tokenizer is not None:
            tokenizer.save(folder / TOKENIZER_NAME)

    @classmethod
    def from_pretrained(
        cls, directory: str | os.PathLike, allow_architecture_change: bool = False, **config_overrides: Any
    ):
        """Load a checkpoint folder written by bertlib or by Hugging Face ``transformers``.

        Keys are matched with or without the ``bert.`` prefix, so a bare encoder
        checkpoint (like all-MiniLM-L6-v2) loads into any task model, whose new
        head keeps its fresh initialisation; heads in the checkpoint that this
        class lacks are ignored. What was new and what was unused is recorded in
        ``model.loading_info``, and a :class:`CheckpointWarning` names the keys
        unless the class expects them (``_keys_to_ignore_on_load_missing`` and
        ``_keys_to_ignore_on_load_unexpected``: a task head, the pretraining heads).
        The model is returned in eval mode.

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
        saved = cls.config_class.load(directory / CONFIG_NAME)
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
        config = cls.config_class.load(directory / CONFIG_NAME, **config_overrides)
        _check_tokenizer_file(directory / TOKENIZER_NAME, config)
        model = cls(config)
        state = load_tensors(directory / WEIGHTS_NAME)
        model.loading_info = model.load_state(state, str(directory))
        _warn_unmatched(model, directory)
        return model.eval()

    def load_state(self, state: dict[str, torch.Tensor], source: str = "the state dict") -> dict[str, list[str]]:
        """Copy the weights of ``state`` that this model has into it, matching names as ``from_pretrained`` does.

        Keys are matched with or without the ``bert.`` prefix and old Hugging Face names are
        modernised; tied aliases are re-tied, not loaded. Missing encoder weights or a shape
        that differs raise :class:`CheckpointError` (naming ``source``) before any weight is copied.

        Returns:
            ``{"missing_keys": [...], "unexpected_keys": [...]}``: weights left as they were, and
            weights of ``state`` this model has no place for.
        """
        expected = {k for k in self.state_dict() if k not in self._tied_weights}
        state = {_modern_key(k): v for k, v in state.items()}
        prefix = self.base_model_prefix + "."
        ours_prefixed = any(k.startswith(prefix) for k in expected)
        theirs_prefixed = any(k.startswith(prefix) for k in state)
        if ours_prefixed and not theirs_prefixed:  # bare encoder checkpoint -> task model
            state = {prefix + k: v for k, v in state.items()}
        elif theirs_prefixed and not ours_prefixed:  # pretraining checkpoint -> bare BertModel
            # Its heads (cls.*) stay under their own names: unused, and recorded as such.
            state = {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in state.items()}
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


def _warn_unmatched(model: PreTrainedMixin, source: Path) -> None:
    """One warning line for the missing keys and one for the unused ones, less those the class expects."""
    info, name = model.loading_info, type(model).__name__
    missing = [k for k in info["missing_keys"] if not _matches(k, model._keys_to_ignore_on_load_missing)]
    unused = [k for k in info["unexpected_keys"] if not _matches(k, model._keys_to_ignore_on_load_unexpected)]
    if missing:
        warnings.warn(
            f"{name}.from_pretrained({str(source)!r}): {len(missing)} weights are not in the checkpoint and keep "
            f"their random initialisation: {_some(missing)}. Train them before use, or load the checkpoint into "
            f"the class it was saved from.",
            CheckpointWarning,
            stacklevel=3,
        )
    if unused:
        warnings.warn(
            f"{name}.from_pretrained({str(source)!r}): {len(unused)} weights of the checkpoint are not used by "
            f"this class: {_some(unused)}. Load it into the class it was saved from to keep them.",
            CheckpointWarning,
            stacklevel=3,
        )


def _matches(key: str, patterns: tuple[str, ...]) -> bool:
    return any(re.search(p, key) for p in patterns)


def _some(keys: list[str], at_most: int = 10) -> str:
    shown = ", ".join(keys[:at_most])
    return shown + (f" and {len(keys) - at_most} more" if len(keys) > at_most else "")


# Config fields that change what the stored weights compute while every shape still fits (a changed
# shape field fails the shape check instead): a checkpoint's values must not be overridden silently.
_ARCHITECTURE = (
    "num_hidden_layers",
    "num_attention_heads",
    "hidden_act",
    "layer_norm_eps",
    "position_embedding_type",
    "rotary_base",
)


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
