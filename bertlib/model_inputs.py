"""What a BERT model accepts, checked before it is used: a bad input gets an error that names the fix.

``input_ids`` is a (B, T) tensor of ids from the model's vocabulary, at least one token per
row and no more than the learned positions allow; ``token_type_ids`` (0 = sentence A,
1 = sentence B) and ``attention_mask`` (1 = real token, 0 = padding) have its shape.
Without these checks a wrong input fails deep inside an embedding lookup or, worse,
runs and gives a silently wrong result (a mask of 2s, a -100 used as padding).
"""

from __future__ import annotations

import torch

from .attention import extended_attention_mask
from .config import BertConfig

__all__ = ["check_batch_shape", "check_token_ids", "segment_ids", "additive_mask"]


def check_batch_shape(input_ids: torch.Tensor) -> torch.Tensor:
    """``input_ids`` itself, once it is known to be a (batch, seq_len) tensor."""
    if input_ids.dim() != 2:
        raise ValueError(
            f"input_ids must be a (batch, seq_len) tensor, got shape {tuple(input_ids.shape)}; "
            f"for one sentence use input_ids[None] or the tokenizer's return_tensors='pt'."
        )
    return input_ids


def check_token_ids(input_ids: torch.Tensor, config: BertConfig) -> None:
    """Every id is in the vocabulary, and every row has 1 to ``max_position_embeddings`` tokens."""
    T, c = input_ids.size(1), config
    if c.position_embedding_type == "absolute" and T > c.max_position_embeddings:
        raise ValueError(
            f"The input has {T} tokens but this model has only {c.max_position_embeddings} position "
            f"embeddings (learned positions cap the length). Truncate the input, e.g. "
            f"tokenizer.encode(..., max_length={c.max_position_embeddings}), or use a model built with a "
            f"larger max_position_embeddings."
        )
    if T == 0:
        raise ValueError(
            "The input has 0 tokens per sequence: BERT needs at least [CLS]; encode the text with the tokenizer."
        )
    if input_ids.numel() and int(input_ids.min()) < 0:
        raise ValueError(
            f"Token id {int(input_ids.min())} is negative: token ids are indices 0..{c.vocab_size - 1}; "
            f"encode the text with the tokenizer (padding uses pad_token_id, not -1 or -100)."
        )
    if input_ids.numel() and int(input_ids.max()) >= c.vocab_size:
        raise ValueError(
            f"Token id {int(input_ids.max())} is outside this model's vocabulary of {c.vocab_size} ids. "
            f"The tokenizer does not match the model: build the model with "
            f"BertConfig(vocab_size=tokenizer.vocab_size) or use the tokenizer saved with the checkpoint."
        )


def segment_ids(token_type_ids: torch.Tensor | None, input_ids: torch.Tensor, config: BertConfig) -> torch.Tensor:
    """The checked segment ids, or all 0 (one sentence) when none are given."""
    if token_type_ids is None:
        return torch.zeros_like(input_ids)
    if token_type_ids.shape != input_ids.shape:
        raise ValueError(
            f"token_type_ids has shape {tuple(token_type_ids.shape)}, input_ids {tuple(input_ids.shape)}; they must match."
        )
    if token_type_ids.numel() and int(token_type_ids.min()) < 0:
        raise ValueError(
            f"Segment id {int(token_type_ids.min())} is negative: use 0 for sentence A and 1 for sentence B."
        )
    if token_type_ids.numel() and int(token_type_ids.max()) >= config.type_vocab_size:
        raise ValueError(
            f"Segment id {int(token_type_ids.max())} is out of range: this model has {config.type_vocab_size} segment types (0 = sentence A, 1 = sentence B)."
        )
    return token_type_ids


def additive_mask(attention_mask: torch.Tensor | None, input_ids: torch.Tensor, dtype: torch.dtype):
    """The (B, 1, 1, T) additive mask of a checked (B, T) 1/0 ``attention_mask``, or None."""
    if attention_mask is None:
        return None
    if attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"attention_mask has shape {tuple(attention_mask.shape)}, input_ids {tuple(input_ids.shape)}; they must match."
        )
    if attention_mask.numel() and bool(((attention_mask != 0) & (attention_mask != 1)).any()):
        bad = attention_mask[(attention_mask != 0) & (attention_mask != 1)][0].item()
        raise ValueError(
            f"attention_mask holds {bad!r}: it must be 1 for real tokens and 0 for padding, "
            f"nothing else; build it with the tokenizer or (input_ids != pad_id).long()."
        )
    return extended_attention_mask(attention_mask, dtype)
