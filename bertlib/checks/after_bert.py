"""Checks for what came after BERT: ELECTRA's replaced-token labels, ALBERT's sentence-order
pairs and ALBERT's factorized embedding."""

from __future__ import annotations

import torch

from ..constants import IGNORE_INDEX
from ..pretraining import IN_ORDER, SWAPPED, SentencePair, make_sop_pairs
from ..utils import seeded_generator
from .core import CheckFailure, compare, exercise


def reference_rtd_labels(
    input_ids: torch.Tensor, corrupted: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """ELECTRA's discriminator targets (Clark et al. 2020, section 2): 1 where the generator's
    sample differs from the original token, 0 where it is the original (also when the generator
    sampled the original word back), -100 at padding, which carries no loss."""
    labels = (corrupted != input_ids).long()
    return labels.masked_fill(attention_mask == 0, IGNORE_INDEX)


def _rtd_case(rows: list[int], seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Original ids, a corruption of about 15% of the real tokens (some replaced by themselves), the mask."""
    g = seeded_generator(seed)
    T = max(rows)
    ids = torch.randint(5, 40, (len(rows), T), generator=g)
    mask = (torch.arange(T)[None, :] < torch.tensor(rows)[:, None]).long()
    ids = ids * mask  # [PAD] is id 0
    chosen = (torch.rand(ids.shape, generator=g) < 0.3) & mask.bool()
    samples = torch.randint(5, 40, ids.shape, generator=g)
    samples[:, 0] = ids[:, 0]  # the generator often samples the original word back
    corrupted = torch.where(chosen, samples, ids)
    return ids, corrupted, mask


@exercise("after_bert.rtd_labels", "ELECTRA's replaced-token labels", points=1)
def check_rtd_labels(fn) -> str:
    """fn(input_ids (B, T), corrupted_ids (B, T), attention_mask (B, T)) -> labels (B, T), integers."""
    for i, rows in enumerate([[7, 5], [4, 9, 1], [12]]):
        ids, corrupted, mask = _rtd_case(rows, 500 + i)
        case = f"batch of shape {tuple(ids.shape)}, real lengths {rows}"
        got = fn(ids.clone(), corrupted.clone(), mask.clone())
        want = reference_rtd_labels(ids, corrupted, mask)
        if isinstance(got, torch.Tensor) and got.shape == want.shape:
            if got.dtype.is_floating_point or got.dtype == torch.bool:
                raise CheckFailure(
                    f"Return integer labels (dtype torch.long), got {got.dtype}: they go into a loss "
                    "that ignores -100 at padding. Use .long()."
                )
            real = mask.bool()
            if torch.equal(got[real], 1 - want[real]):
                raise CheckFailure(
                    f"Your labels are flipped ({case}): ELECTRA's discriminator says 1 for *replaced* "
                    "and 0 for original."
                )
            if torch.equal(got[real], want[real]) and (got[~real] != IGNORE_INDEX).any():
                raise CheckFailure(
                    f"Padding got a label other than -100 ({case}): padding is no token at all, so it must "
                    "carry no loss. Use masked_fill with attention_mask == 0."
                )
        compare(
            "labels",
            got,
            want,
            atol=0,
            case=case,
            hint="A token is 'replaced' (1) only if the corrupted id differs from the original: when the "
            "generator samples the original word back, it counts as original (0), as in the paper.",
        )
    return (
        "Every real position gets a label, 1 replaced or 0 original, so the discriminator learns from "
        "all of them, not just the ~15% that MLM asks about."
    )


_DOCS = [
    [f"{name} s{i} ." for i in range(n)]
    for name, n in (("anna", 4), ("ben", 1), ("cara", 6), ("dan", 2), ("eve", 3), ("finn", 0), ("gus", 5))
]


@exercise("after_bert.sop_pairs", "ALBERT's sentence-order pairs", points=1)
def check_sop_pairs(fn) -> str:
    """fn(documents, seed) -> list of SentencePair, the same list as bertlib.make_sop_pairs."""
    for seed in (0, 3):
        got = fn([list(d) for d in _DOCS], seed)
        want = make_sop_pairs(_DOCS, seed)
        if not isinstance(got, list) or not all(isinstance(p, SentencePair) for p in got):
            raise CheckFailure("Return a list of bertlib.SentencePair(a, b, label).")
        if len(got) != len(want):
            raise CheckFailure(
                f"{len(got)} pairs, expected {len(want)}: one pair for every sentence that has a successor in "
                "its document (a document of n sentences gives n - 1 pairs; 0 or 1 sentences give none)."
            )
        doc_of = {s: k for k, d in enumerate(_DOCS) for s in d}
        for p in got:
            if doc_of.get(p.a) != doc_of.get(p.b):
                raise CheckFailure(
                    f"The pair ({p.a!r}, {p.b!r}) mixes two documents: that is NSP's negative. SOP's "
                    "negative is the same two consecutive sentences, swapped."
                )
        labels = [p.label for p in got]
        if set(labels) - {IN_ORDER, SWAPPED}:
            raise CheckFailure(f"Labels must be IN_ORDER (0) or SWAPPED (1), got {sorted(set(labels))}.")
        for p in got:
            position = {s: i for d in _DOCS for i, s in enumerate(d)}
            in_order = position[p.b] == position[p.a] + 1
            swapped = position[p.a] == position[p.b] + 1
            if not (in_order or swapped):
                raise CheckFailure(f"({p.a!r}, {p.b!r}) are not consecutive sentences of their document.")
            if (p.label == SWAPPED) != swapped:
                raise CheckFailure(
                    f"({p.a!r}, {p.b!r}) has label {p.label}: the label must say whether the pair is "
                    "swapped (1) or in order (0)."
                )
        if got != want:
            raise CheckFailure(
                f"Right kind of pairs, but not the same draws as bertlib.make_sop_pairs (seed {seed}): use "
                "random.Random(seed), walk the documents and their sentences in order, and draw one "
                "rng.random() per pair; swap when it is below p_swap = 0.5."
            )
    return "Both sentences always come from one document, so only their order tells the classes apart."


@exercise("after_bert.factorized_embedding", "Predict the size of a factorized embedding", points=1)
def check_factorized_embedding(bert_embedding: int, albert_embedding: int) -> str:
    """Word-embedding parameters for V = 30,000, H = 768: BERT's V x H table, ALBERT's V x E + E x H, E = 128."""
    if bert_embedding is None or albert_embedding is None:
        raise CheckFailure("Replace each None with your prediction (a whole number of parameters).")
    V, H, E = 30_000, 768, 128
    want_bert, want_albert = V * H, V * E + E * H
    if int(bert_embedding) != want_bert:
        raise CheckFailure(
            f"bert_embedding: you predicted {int(bert_embedding):,}. BERT's table has one row of H numbers for "
            "each of the V words: V x H."
        )
    if int(albert_embedding) == V * E:
        raise CheckFailure(
            "albert_embedding: you counted the V x E table but not the E x H projection that brings "
            "each vector up to the hidden size."
        )
    if int(albert_embedding) != want_albert:
        raise CheckFailure(
            f"albert_embedding: you predicted {int(albert_embedding):,}. ALBERT looks words up in a V x E "
            "table, then projects with an E x H matrix: count both (no bias)."
        )
    return (
        f"{want_bert:,} against {want_albert:,}: {want_bert / want_albert:.1f} times fewer parameters, and "
        "the saving grows with the vocabulary."
    )
