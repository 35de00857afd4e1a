"""Pretraining data: MLM masking (15%, 80/10/10), NSP pairs (50/50), batches.

Every random choice takes an explicit ``torch.Generator`` or ``random.Random``,
so the same seed always gives the same pairs and the same masks.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .batches import EncodedDataset
from .constants import IGNORE_INDEX, IS_NEXT, NOT_NEXT
from .tokenization import BertTokenizer

__all__ = [
    "mask_tokens",
    "SentencePair",
    "make_nsp_pairs",
    "make_sop_pairs",
    "IN_ORDER",
    "SWAPPED",
    "PretrainingDataset",
]

# Sentence-order labels (ALBERT): 0 keeps the original order, 1 swaps the two sentences,
# as Hugging Face's ``sentence_order_label``. They share the NSP head's two outputs.
IN_ORDER, SWAPPED = IS_NEXT, NOT_NEXT


def mask_tokens(
    input_ids: torch.Tensor,
    tokenizer: BertTokenizer,
    mlm_probability: float = 0.15,
    mask_fraction: float = 0.8,
    random_fraction: float = 0.1,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose tokens to predict and corrupt them the way BERT does (paper, section 3.1).

    Each real, non-special token is selected with probability ``mlm_probability``.
    A selected token becomes [MASK] with probability ``mask_fraction``, a random
    word with probability ``random_fraction``, and stays as it is otherwise, so
    the model cannot tell which inputs it will be asked about.

    Args:
        input_ids: (B, T) token ids.
        tokenizer: gives the [MASK] id, the special ids and the vocabulary size.
        attention_mask: (B, T), 0 marks padding, which is never selected.
        generator: the source of randomness (required for reproducible masks).

    Returns:
        (inputs, labels): the corrupted (B, T) ids, and (B, T) labels holding the
        original id at selected positions and -100 everywhere else.
    """
    if not 0.0 < mlm_probability <= 1.0:
        raise ValueError(f"mlm_probability must be in (0, 1], got {mlm_probability}.")
    if mask_fraction < 0 or random_fraction < 0 or mask_fraction + random_fraction > 1:
        raise ValueError("mask_fraction and random_fraction must be >= 0 and sum to at most 1.")
    special = torch.tensor(sorted(tokenizer.special_token_ids), device=input_ids.device)
    eligible = ~torch.isin(input_ids, special)  # never [CLS], [SEP], [PAD], [MASK]
    if attention_mask is not None:
        eligible &= attention_mask.bool()

    def coin(p: float) -> torch.Tensor:  # one Bernoulli(p) draw per position
        return torch.rand(input_ids.shape, generator=generator, device=input_ids.device) < p

    selected = coin(mlm_probability) & eligible
    labels = torch.where(selected, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    to_mask = selected & coin(mask_fraction)
    # Of the rest, random_fraction / (1 - mask_fraction) get a random word: random_fraction overall.
    rest = 1.0 - mask_fraction
    to_random = selected & ~to_mask & coin(random_fraction / rest if rest > 0 else 0.0)
    inputs = input_ids.clone()
    inputs[to_mask] = tokenizer.mask_token_id
    # Random replacements are drawn from ordinary words only, never special tokens.
    words = torch.tensor(
        [i for i in range(tokenizer.vocab_size) if i not in tokenizer.special_token_ids], device=input_ids.device
    )
    picks = torch.randint(len(words), input_ids.shape, generator=generator, device=input_ids.device)
    inputs[to_random] = words[picks][to_random]
    return inputs, labels


@dataclass(frozen=True)
class SentencePair:
    """Two sentences and whether the second really follows the first (label 0) or not (1)."""

    a: str
    b: str
    label: int


def make_nsp_pairs(documents: Sequence[Sequence[str]], seed: int = 0, p_next: float = 0.5) -> list[SentencePair]:
    """Build next-sentence-prediction pairs (paper, section 3.1, task #2).

    For every sentence that has a successor in its document: with probability
    ``p_next`` the pair is (sentence, next sentence), labelled IsNext (0);
    otherwise the second sentence is drawn from a *different* document,
    labelled NotNext (1).

    Args:
        documents: each a list of sentences in order.
        seed: seeds the ``random.Random`` that makes every choice.
    """
    if isinstance(documents, str) or any(isinstance(d, str) for d in documents):
        raise TypeError(
            "make_nsp_pairs needs documents as lists of sentences, e.g. [[s1, s2], [s3, s4]], "
            "not a list of strings (each string would be read as a document of single characters)."
        )
    docs = [list(d) for d in documents if len(d) > 0]
    if not docs:
        raise ValueError("Cannot build NSP pairs from an empty corpus: pass at least two documents.")
    if len(docs) < 2:
        raise ValueError("NSP needs at least two documents: NotNext sentences come from another document.")
    if all(len(d) < 2 for d in docs):
        raise ValueError("NSP needs documents with at least two sentences (a sentence and its successor).")
    rng = random.Random(seed)
    pairs = []
    for i, doc in enumerate(docs):
        for j in range(len(doc) - 1):
            if rng.random() < p_next:
                pairs.append(SentencePair(doc[j], doc[j + 1], IS_NEXT))
            else:
                k = rng.randrange(len(docs) - 1)
                other = docs[k if k < i else k + 1]  # any document but this one
                pairs.append(SentencePair(doc[j], rng.choice(other), NOT_NEXT))
    return pairs


def make_sop_pairs(documents: Sequence[Sequence[str]], seed: int = 0, p_swap: float = 0.5) -> list[SentencePair]:
    """Build sentence-order-prediction pairs (ALBERT, Lan et al. 2020, section 3.1).

    For every sentence that has a successor in its document, the pair is the two
    consecutive sentences: in their order with label ``IN_ORDER`` (0), or, with
    probability ``p_swap``, swapped with label ``SWAPPED`` (1). Both sentences always
    come from the same document, so a change of topic or person says nothing: only
    their order does.

    Args:
        documents: each a list of sentences in order.
        seed: seeds the ``random.Random`` that makes every choice (one draw per pair).
        p_swap: probability that a pair is swapped.
    """
    if isinstance(documents, str) or any(isinstance(d, str) for d in documents):
        raise TypeError(
            "make_sop_pairs needs documents as lists of sentences, e.g. [[s1, s2], [s3, s4]], "
            "not a list of strings (each string would be read as a document of single characters)."
        )
    if not 0.0 <= p_swap <= 1.0:
        raise ValueError(f"p_swap is a probability: it must be in [0, 1], got {p_swap}.")
    docs = [list(d) for d in documents]
    if not any(len(d) >= 2 for d in docs):
        raise ValueError("SOP needs at least one document with at least two sentences (a sentence and its successor).")
    rng = random.Random(seed)
    pairs = []
    for doc in docs:
        for j in range(len(doc) - 1):
            if rng.random() < p_swap:
                pairs.append(SentencePair(doc[j + 1], doc[j], SWAPPED))
            else:
                pairs.append(SentencePair(doc[j], doc[j + 1], IN_ORDER))
    return pairs


class PretrainingDataset(EncodedDataset):
    """Sentence pairs, tokenized once; each batch is padded and freshly masked.

    Masks are drawn when a batch is made (dynamic masking), from the generator
    the training loop passes, so a step's batch depends only on (seed, step).

    Args:
        pairs: from :func:`make_nsp_pairs`; or plain sentences for MLM only.
        tokenizer: the tokenizer (its vocabulary must match the model's).
        max_length: longest example in tokens, [CLS] and [SEP]s included.
        nsp: include ``next_sentence_label`` in batches.
    """

    def __init__(
        self,
        pairs: Sequence[SentencePair] | Sequence[str],
        tokenizer: BertTokenizer,
        max_length: int = 64,
        nsp: bool = True,
        mlm_probability: float = 0.15,
        mask_fraction: float = 0.8,
        random_fraction: float = 0.1,
    ):
        if len(pairs) == 0:
            raise ValueError("The pretraining dataset is empty: pass at least one sentence or pair.")
        if isinstance(pairs[0], str):
            if nsp:
                raise ValueError("Plain sentences have no NSP labels: pass make_nsp_pairs(...) or nsp=False.")
            enc = tokenizer(list(pairs), max_length=max_length, padding=False, return_tensors=None)
            extra = {}
        else:
            enc = tokenizer(
                [p.a for p in pairs], [p.b for p in pairs], max_length=max_length, padding=False, return_tensors=None
            )
            extra = {"next_sentence_label": [p.label for p in pairs]} if nsp else {}
        examples = [
            {"input_ids": ids, "token_type_ids": tt, **{k: v[i] for k, v in extra.items()}}
            for i, (ids, tt) in enumerate(zip(enc["input_ids"], enc["token_type_ids"], strict=False))
        ]
        super().__init__(examples, pad_token_id=tokenizer.pad_token_id)
        self.tokenizer = tokenizer
        self.mlm_probability, self.mask_fraction, self.random_fraction = mlm_probability, mask_fraction, random_fraction

    def fingerprint(self) -> str:
        """The examples' fingerprint and the masking settings: both decide what a step trains on."""
        tok = self.tokenizer
        masking = (self.mlm_probability, self.mask_fraction, self.random_fraction, tok.vocab_size, tok.mask_token_id)
        return hashlib.sha256(f"{super().fingerprint()} {masking}".encode()).hexdigest()

    def collate(self, indices: Sequence[int], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        return self.mask(super().collate(indices, generator), generator)

    def mask(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None) -> dict[str, torch.Tensor]:
        """Corrupt a padded batch for MLM (a subclass with another masking scheme overrides this)."""
        mask = batch["attention_mask"]
        batch["input_ids"], batch["labels"] = mask_tokens(
            batch["input_ids"], self.tokenizer, **self.masking_rates, attention_mask=mask, generator=generator
        )
        return batch

    @property
    def masking_rates(self) -> dict[str, float]:
        """How a batch is corrupted: the rate keyword arguments of :func:`mask_tokens`."""
        return dict(
            mlm_probability=self.mlm_probability, mask_fraction=self.mask_fraction, random_fraction=self.random_fraction
        )
