"""Checks for tokenization and BERT's input format: the four input fields, memory growth, new tokens."""

from __future__ import annotations

import torch

from ..config import BertConfig
from ..model import BertModel
from ..tokenization import BertTokenizer, train_tokenizer
from .core import CheckFailure, compare, exercise

__all__ = [
    "check_bert_inputs",
    "check_memory_growth",
    "check_grow_vocabulary",
    "reference_bert_inputs",
    "pair_truncation_lengths",
]


def pair_truncation_lengths(n_a: int, n_b: int, budget: int) -> tuple[int, int]:
    """How many word tokens of sentences A and B survive when only ``budget`` fit.

    The rule of Hugging Face ``tokenizers`` ("longest_first"), which bertlib's
    tokenizer uses: the shorter sentence (A on a tie) keeps at most half the
    room, rounded down, and the longer one takes the rest.
    """
    if n_a + n_b <= budget:
        return n_a, n_b
    if n_a > n_b:  # B is the shorter one
        keep_b = min(n_b, budget // 2)
        return min(n_a, budget - keep_b), keep_b
    keep_a = min(n_a, budget // 2)
    return keep_a, min(n_b, budget - keep_a)


def reference_bert_inputs(tokens_a: list[str], tokens_b: list[str] | None, max_length: int) -> dict[str, list]:
    """[CLS] A [SEP] (B [SEP]), truncated and padded to ``max_length``, with segment ids and mask."""
    if tokens_b is None:
        a, b = list(tokens_a[: max_length - 2]), []
    else:
        n_a, n_b = pair_truncation_lengths(len(tokens_a), len(tokens_b), max_length - 3)
        a, b = list(tokens_a[:n_a]), list(tokens_b[:n_b])
    tokens = ["[CLS]", *a, "[SEP]"]
    segments = [0] * len(tokens)
    if tokens_b is not None:
        tokens += [*b, "[SEP]"]
        segments += [1] * (len(b) + 1)  # B and its closing [SEP] are segment 1
    pad = max_length - len(tokens)
    return {
        "tokens": tokens + ["[PAD]"] * pad,
        "token_type_ids": segments + [0] * pad,
        "attention_mask": [1] * len(tokens) + [0] * pad,
    }


_WORDS = "anna plays the violin in the evening while her cat sleeps on the warm window sill".split()
# (tokens_a, tokens_b, max_length): padding, truncation of one or both sentences, ties, exact fits.
_INPUT_CASES = [
    (_WORDS[:4], None, 8),
    (_WORDS[:9], None, 6),
    (_WORDS[:3], _WORDS[3:5], 10),
    (_WORDS[:8], _WORDS[8:10], 9),
    (_WORDS[:2], _WORDS[2:12], 10),
    (_WORDS[:6], _WORDS[6:12], 12),
    (_WORDS[:5], _WORDS[5:8], 11),
    (["hello"], ["world"], 5),
]


def _describe(a, b, m) -> str:
    return f"tokens_a={a}, tokens_b={b}, max_length={m}"


@exercise("tokenization.bert_inputs", "BERT's input fields, built by hand", points=1)
def check_bert_inputs(fn) -> str:
    """fn(tokens_a, tokens_b_or_None, max_length) -> dict with tokens, token_type_ids, attention_mask."""
    for a, b, m in _INPUT_CASES:
        want = reference_bert_inputs(a, b, m)
        got = fn(list(a), None if b is None else list(b), m)
        case = _describe(a, b, m)
        if not isinstance(got, dict) or set(want) - set(got):
            raise CheckFailure(f"Return a dict with the keys {sorted(want)} (case {case}).")
        for key in ("tokens", "token_type_ids", "attention_mask"):
            g = [int(x) for x in got[key]] if key != "tokens" else list(got[key])
            if len(g) != m:
                raise CheckFailure(
                    f"{key} has {len(g)} entries for {case}, expected {m}: every field is padded "
                    f"(or truncated) to exactly max_length, [CLS] and [SEP]s included."
                )
            if g != want[key]:
                i = next(i for i, (x, y) in enumerate(zip(g, want[key], strict=True)) if x != y)
                raise CheckFailure(
                    f"{key} differs at position {i} for {case}: got {g[i]!r}, expected "
                    f"{want[key][i]!r}.\n  yours:    {g}\n  expected: {want[key]}\n" + _hint(key, a, b, m, want)
                )
    return "[CLS], [SEP]s, truncation, segments, mask and padding are all right."


def _hint(key, a, b, m, want) -> str:
    if key == "token_type_ids":
        return (
            "Hint: [CLS], sentence A and the first [SEP] are segment 0; sentence B and its closing [SEP] "
            "are segment 1; padding is 0."
        )
    if key == "attention_mask":
        return "Hint: 1 for every real token ([CLS] and [SEP] included), 0 for [PAD]."
    if b is None:
        return "Hint: one sentence keeps at most max_length - 2 word tokens (room for [CLS] and [SEP])."
    return (
        "Hint: a pair keeps at most max_length - 3 word tokens. When it is too long, the shorter "
        "sentence (A on a tie) keeps at most half of them, rounded down; the longer keeps the rest."
    )


_GROWTH_KEYS = {
    "hidden states, length x2": 2,
    "attention weights, length x2": 4,
    "hidden states, batch x2": 2,
    "attention weights, batch x2": 2,
    "attention weights, batch 16 -> 2": 1 / 8,
}
_WHY = {
    "hidden states, length x2": "a (B, T, H) tensor grows linearly with T",
    "attention weights, length x2": "a (B, A, T, T) tensor holds one weight per pair of tokens: T appears twice",
    "hidden states, batch x2": "every example adds its own (T, H) slab",
    "attention weights, batch x2": "every example adds its own (A, T, T) block",
    "attention weights, batch 16 -> 2": "8 times fewer examples, 8 times fewer weights",
}


@exercise("tokenization.memory_growth", "Predict how activation memory grows", points=1)
def check_memory_growth(growth) -> str:
    """growth: a function returning (or a dict of) the factor by which each tensor's memory changes.

    E.g. ``{"hidden states, length x2": 2, ...}``. A function lets the student edition's stub
    (``raise NotImplementedError``) fail inside the check instead of in the reader's cell.
    """
    if callable(growth):
        growth = growth()
    if not isinstance(growth, dict):
        raise CheckFailure(f"Give a dict with the keys {list(_GROWTH_KEYS)}.")
    missing = [k for k in _GROWTH_KEYS if k not in growth]
    if missing:
        raise CheckFailure(f"Missing predictions for {missing}.")
    wrong = [
        k
        for k, v in _GROWTH_KEYS.items()
        if not isinstance(growth[k], int | float) or abs(float(growth[k]) - v) > 1e-6 * v
    ]
    if wrong:
        lines = [f"{k}: you said {growth[k]!r}, it is {_GROWTH_KEYS[k]:g} ({_WHY[k]})" for k in wrong]
        raise CheckFailure("Not quite:\n  " + "\n  ".join(lines))
    return "Right: length hurts twice over in attention, batch size only linearly."


_SENTENCES = [
    "jisu bakes bread in the bakery .",
    "minho plays football with doyun .",
    "seoyeon reads books to the children .",
    "nabi sleeps by the window .",
]


@exercise("tokenization.grow_vocabulary", "Add new tokens and grow the model's embeddings", points=2)
def check_grow_vocabulary(fn) -> str:
    """fn(model, tokenizer, new_tokens) -> list of the new ids; grows model and tokenizer in place."""
    tok: BertTokenizer = train_tokenizer(_SENTENCES, vocab_size=60)
    old_size = tok.vocab_size
    model = BertModel(BertConfig.preset("test", vocab_size=old_size))
    old = model.embeddings.word_embeddings.weight.detach().clone()
    new_tokens = ["[ENT]", "[/ENT]"]
    ids = fn(model, tok, new_tokens)
    want_ids = [old_size, old_size + 1]
    if tok.vocab_size != old_size + 2 or [tok.backend.token_to_id(t) for t in new_tokens] != want_ids:
        raise CheckFailure(
            f"The tokenizer should know the new tokens with ids {want_ids} "
            f"(use tokenizer.add_special_tokens(new_tokens))."
        )
    if ids is None or [int(i) for i in ids] != want_ids:
        raise CheckFailure(f"Return the new tokens' ids, {want_ids}; got {ids!r}.")
    emb = model.embeddings.word_embeddings
    if tuple(emb.weight.shape) != (old_size + 2, old.size(1)):
        raise CheckFailure(
            f"model.embeddings.word_embeddings.weight has shape {tuple(emb.weight.shape)}, expected "
            f"{(old_size + 2, old.size(1))}: one new row per new token."
        )
    compare(
        "the old rows of the embedding matrix",
        emb.weight[:old_size].detach(),
        old,
        atol=0.0,
        hint="Copy the trained rows into the bigger matrix; only the new rows are new.",
    )
    if not torch.isfinite(emb.weight[old_size:]).all():
        raise CheckFailure("The new rows contain NaN or inf: initialise them (e.g. the mean of the old rows).")
    if not any(p is emb.weight for p in model.parameters()):
        raise CheckFailure(
            "The new matrix is not a parameter of the model: assign an nn.Embedding to "
            "model.embeddings.word_embeddings."
        )
    if emb.padding_idx != model.config.pad_token_id:
        raise CheckFailure(
            f"The new nn.Embedding has padding_idx={emb.padding_idx}, the old one had "
            f"{model.config.pad_token_id}: pass padding_idx so [PAD] stays a zero vector that "
            f"never trains."
        )
    if model.config.vocab_size != old_size + 2:
        raise CheckFailure(
            f"model.config.vocab_size is still {model.config.vocab_size}: set it to "
            f"{old_size + 2}, or the model rejects the new ids as outside its vocabulary."
        )
    batch = tok(["[ENT] jisu [/ENT] bakes bread ."])
    out = model(**batch).last_hidden_state
    if not torch.isfinite(out).all():
        raise CheckFailure("The model's output on a marked sentence is not finite.")
    return "The tokenizer and the model agree on the new tokens, and the old rows are untouched."
