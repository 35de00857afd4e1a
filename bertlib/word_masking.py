"""Whole-word masking: select whole words for MLM, never single pieces of a word.

With a subword tokenizer, ``mask_tokens`` may hide ``##ing`` and leave ``play``
visible; the hidden piece is then easy to guess from the rest of its own word.
Google's later BERT release masked all the pieces of a selected word together
("whole word masking", the README of google-research/bert, 2019); Hugging Face
calls it ``DataCollatorForWholeWordMask``. Words are read from the tokenizer's
``word_ids``; the 80/10/10 corruption is then applied token by token, as in
Google's code, by :func:`~bertlib.pretraining.mask_tokens` itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .pretraining import PretrainingDataset, SentencePair, mask_tokens
from .tokenization import BertTokenizer

__all__ = ["mask_whole_words", "word_ids_tensor", "WholeWordPretrainingDataset"]

NO_WORD = -1  # word id of [CLS], [SEP] and padding in a word-id tensor


def word_ids_tensor(word_ids: Sequence[Sequence[int | None]], length: int | None = None) -> torch.Tensor:
    """The tokenizer's ``word_ids`` lists (None for specials) as a (B, T) LongTensor with -1 for None.

    Rows shorter than ``length`` (default: the longest row) are padded with -1.
    """
    if isinstance(word_ids, torch.Tensor):
        return word_ids.long()
    rows = [list(row) for row in word_ids]
    width = max((len(r) for r in rows), default=0) if length is None else length
    if any(len(r) > width for r in rows):
        raise ValueError(f"A row of word_ids is longer than length={width}.")
    for r in rows:
        if any(w is not None and (not isinstance(w, int) or w < 0) for w in r):
            raise ValueError("word_ids must hold non-negative ints (a word's index) or None (no word).")
    return torch.tensor([[NO_WORD if w is None else w for w in r] + [NO_WORD] * (width - len(r)) for r in rows])


def mask_whole_words(
    input_ids: torch.Tensor,
    word_ids: torch.Tensor | Sequence[Sequence[int | None]],
    tokenizer: BertTokenizer,
    mlm_probability: float = 0.15,
    mask_fraction: float = 0.8,
    random_fraction: float = 0.1,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Like :func:`~bertlib.pretraining.mask_tokens`, but a word is selected with all its pieces.

    Each word (a run of consecutive tokens with the same word id) is selected
    with probability ``mlm_probability``, so the expected share of selected
    tokens is still ``mlm_probability``. Every piece of a selected word gets a
    label; each piece then becomes [MASK], a random word or stays, with the
    usual 80/10/10, drawn per piece as in Google's ``create_pretraining_data.py``.

    Args:
        input_ids: (B, T) token ids.
        word_ids: (B, T) word index of each token, -1 (or None in lists) for
            [CLS], [SEP] and padding: the tokenizer's ``word_ids``
            (``tokenizer(..., return_offsets=True)``). Ids may restart in the
            second sentence of a pair; a word is a run of equal ids.
        tokenizer: gives the [MASK] id, the special ids and the vocabulary size.
        attention_mask: (B, T), 0 marks padding, which is never selected.
        generator: the source of randomness.

    Returns:
        (inputs, labels), as :func:`~bertlib.pretraining.mask_tokens` returns them.
    """
    if not 0.0 < mlm_probability <= 1.0:
        raise ValueError(f"mlm_probability must be in (0, 1], got {mlm_probability}.")
    words = word_ids_tensor(word_ids, input_ids.shape[-1] if input_ids.dim() == 2 else None).to(input_ids.device)
    if input_ids.dim() != 2 or words.shape != input_ids.shape:
        raise ValueError(
            f"word_ids must have the shape of input_ids, (B, T) = {tuple(input_ids.shape)}, "
            f"got {tuple(words.shape)}: pass the tokenizer's word_ids for the same batch and padding."
        )
    in_word = words >= 0
    # A word starts where the id changes or a run of no-word positions ends.
    previous = torch.cat([torch.full_like(words[:, :1], NO_WORD), words[:, :-1]], dim=1)
    starts = in_word & (words != previous)
    positions = torch.arange(words.shape[1], device=words.device).expand_as(words)
    start_of_word = torch.where(starts, positions, 0).cummax(dim=1).values  # (B, T): where each token's word starts
    u = torch.rand(words.shape, generator=generator, device=words.device)  # one draw per word, read at its start
    selected = in_word & (u.gather(1, start_of_word) < mlm_probability)
    if attention_mask is not None:
        selected &= attention_mask.bool()
    # mask_tokens with probability 1 selects exactly the eligible positions we pass as its mask,
    # and corrupts them 80/10/10, so both functions share one corruption.
    return mask_tokens(
        input_ids,
        tokenizer,
        mlm_probability=1.0,
        mask_fraction=mask_fraction,
        random_fraction=random_fraction,
        attention_mask=selected,
        generator=generator,
    )


class WholeWordPretrainingDataset(PretrainingDataset):
    """A :class:`~bertlib.pretraining.PretrainingDataset` whose batches use whole-word masking.

    Same arguments; every example also stores its word ids, and each batch is
    masked afresh with :func:`mask_whole_words`.
    """

    def __init__(self, pairs: Sequence[SentencePair] | Sequence[str], tokenizer: BertTokenizer, **kwargs):
        super().__init__(pairs, tokenizer, **kwargs)
        max_length = kwargs.get("max_length", 64)
        if isinstance(pairs[0], str):
            enc = tokenizer(list(pairs), max_length=max_length, padding=False, return_tensors=None, return_offsets=True)
        else:
            enc = tokenizer(
                [p.a for p in pairs],
                [p.b for p in pairs],
                max_length=max_length,
                padding=False,
                return_tensors=None,
                return_offsets=True,
            )
        for example, ids in zip(self.examples, enc["word_ids"], strict=True):
            example["word_ids"] = [NO_WORD if w is None else w for w in ids]

    def mask(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None) -> dict[str, torch.Tensor]:
        words = batch.pop("word_ids")
        words[batch["attention_mask"] == 0] = NO_WORD  # padding is no word
        mask = batch["attention_mask"]
        batch["input_ids"], batch["labels"] = mask_whole_words(
            batch["input_ids"], words, self.tokenizer, **self.masking_rates, attention_mask=mask, generator=generator
        )
        return batch
