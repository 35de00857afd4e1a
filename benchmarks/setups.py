"""The configurations and batches every benchmark runs on.

Two of them are what the lessons train: bertlib's "mini" preset, with dropout
off as chapters 6-8 pretrain it, and the "small" preset that chapter 8 suggests
for a GPU (with its default dropout), both on batches of the town corpus (WordPiece vocabulary of 1,000, pairs truncated
to 64 tokens, 32 pairs a batch, 15% of the tokens selected for MLM), made by
the same :class:`bertlib.PretrainingDataset` the lessons use. A batch is
padded to its longest pair, so its length varies from batch to batch.

"large" is one size up: 4 layers of width 384 with an 8,000-word vocabulary,
on full 128-token sequences of random token ids (timing does not depend on
which ids they are, only on the shapes). "minilm" has the shape of the real
pretrained all-MiniLM-L6-v2 (6 layers, width 384, 30,522 words) and is used
for inference only. "test" is a toy size for the smoke test.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import torch

import bertlib
from bertlib import BertConfig

__all__ = ["Setup", "SETUPS", "make_batches", "town_data", "example_sentence"]


@dataclass(frozen=True)
class Setup:
    """A model size plus the shape of the data it is timed on.

    Attributes:
        name: the key in :data:`SETUPS`.
        preset: the bertlib preset the model starts from.
        overrides: fields changed from the preset (``vocab_size`` for random data).
        batch_size: sequences per training step.
        max_length: the longest sequence, [CLS] and [SEP]s included.
        data: "town" (the lessons' corpus and tokenizer) or "random" (full-length random ids).
        description: one line for tables.
    """

    name: str
    preset: str
    overrides: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 32
    max_length: int = 64
    data: str = "town"
    description: str = ""

    def config(self) -> BertConfig:
        """The model configuration (for "town", the vocabulary is the town tokenizer's)."""
        extra = {"vocab_size": town_data(self.max_length)[0].vocab_size} if self.data == "town" else {}
        return BertConfig.preset(self.preset, **{**self.overrides, **extra})


SETUPS: dict[str, Setup] = {
    # Chapters 7 and 8 pretrain preset mini with dropout off (bertlib.pretrained's recipe); chapter 6 keeps the
    # preset's hidden dropout of 0.1.
    "mini": Setup(
        "mini",
        "mini",
        dict(hidden_dropout_prob=0.0),
        description="lessons: preset mini (L2/H128), no dropout, town corpus",
    ),
    "small": Setup("small", "small", description="lessons: preset small (L4/H256), town corpus"),
    "large": Setup(
        "large",
        "small",
        dict(hidden_size=384, num_attention_heads=6, intermediate_size=1536, vocab_size=8000),
        max_length=128,
        data="random",
        description="L4/H384, vocab 8,000, 32 x 128 tokens",
    ),
    "minilm": Setup(
        "minilm",
        "base",
        dict(
            hidden_size=384,
            num_hidden_layers=6,
            num_attention_heads=12,
            intermediate_size=1536,
            attention_probs_dropout_prob=0.0,
        ),
        max_length=128,
        data="random",
        description="shape of all-MiniLM-L6-v2 (L6/H384)",
    ),
    "test": Setup("test", "test", batch_size=4, max_length=16, data="random", description="smoke test"),
}


@functools.lru_cache(maxsize=2)
def town_data(max_length: int = 64) -> tuple[bertlib.BertTokenizer, bertlib.PretrainingDataset]:
    """The lessons' pretraining data: town corpus, 1,000-piece WordPiece, NSP pairs (a few seconds)."""
    from bertlib.data import load_corpus

    corpus = load_corpus("town", n_documents=2000, seed=0)
    tokenizer = bertlib.train_tokenizer(corpus.texts(), vocab_size=1000)
    pairs = bertlib.make_nsp_pairs(corpus.documents, seed=0)
    return tokenizer, bertlib.PretrainingDataset(pairs, tokenizer, max_length=max_length)


def _random_batch(setup: Setup, config: BertConfig, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Full-length random ids: segment A then B, no padding, 15% selected (80% of them [MASK])."""
    B, T = setup.batch_size, setup.max_length
    ids = torch.randint(5, config.vocab_size, (B, T), generator=g)  # ids 0-4 are the special tokens
    ids[:, 0], ids[:, T // 2], ids[:, -1] = 2, 3, 3  # [CLS] A [SEP] B [SEP]
    types = (torch.arange(T) > T // 2).long().expand(B, T).clone()
    selected = (torch.rand(B, T, generator=g) < 0.15) & (ids > 4)
    labels = torch.where(selected, ids, torch.full_like(ids, bertlib.IGNORE_INDEX))
    inputs = ids.masked_fill(selected & (torch.rand(B, T, generator=g) < 0.8), 4)  # 4 = [MASK]
    return {
        "input_ids": inputs,
        "token_type_ids": types,
        "attention_mask": torch.ones_like(ids),
        "labels": labels,
        "next_sentence_label": torch.randint(0, 2, (B,), generator=g),
    }


def make_batches(setup: Setup, n: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """``n`` training batches, the same for every library and every run with this seed.

    Each is a dict with ``input_ids``, ``token_type_ids``, ``attention_mask`` (B, T),
    ``labels`` (B, T; -100 where nothing is predicted) and ``next_sentence_label`` (B,).
    """
    g = bertlib.seeded_generator(seed)
    if setup.data == "random":
        config = setup.config()
        return [_random_batch(setup, config, g) for _ in range(n)]
    _, dataset = town_data(setup.max_length)
    return [
        dataset.collate(torch.randint(len(dataset), (setup.batch_size,), generator=g).tolist(), generator=g)
        for _ in range(n)
    ]


def example_sentence(setup: Setup, length: int = 16) -> dict[str, torch.Tensor]:
    """One sequence as the attention pictures use it: a town sentence, or ``length`` random ids."""
    if setup.data == "town":
        tokenizer, _ = town_data(setup.max_length)
        enc = tokenizer("the baker of the town walks her dog to the market every morning .")
        return {k: enc[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    g = bertlib.seeded_generator(1)
    ids = torch.randint(5, setup.config().vocab_size, (1, length), generator=g)
    ids[0, 0], ids[0, -1] = 2, 3
    return {"input_ids": ids, "token_type_ids": torch.zeros_like(ids), "attention_mask": torch.ones_like(ids)}
