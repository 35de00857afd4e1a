"""Checks for next sentence prediction: segment ids, the [CLS] classifier, and what the loss starts at."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..tokenization import SPECIAL_TOKENS
from ..utils import seeded_generator
from .core import CheckFailure, compare, exercise

_PAD, _CLS, _SEP = map(SPECIAL_TOKENS.index, ("[PAD]", "[CLS]", "[SEP]"))  # bertlib's vocabularies start with them


def _pair_batch(lengths: list[tuple[int, int]], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) for sequences [CLS] A [SEP] B [SEP] [PAD]...; b = 0 makes a single sentence."""
    g = seeded_generator(seed)
    sequences = []
    for a, b in lengths:
        ids = [_CLS] + torch.randint(5, 60, (a,), generator=g).tolist() + [_SEP]
        if b:
            ids += torch.randint(5, 60, (b,), generator=g).tolist() + [_SEP]
        sequences.append(ids)
    T = max(len(s) for s in sequences)
    ids = torch.tensor([s + [_PAD] * (T - len(s)) for s in sequences])
    return ids, (ids != _PAD).long()


def reference_segment_ids(input_ids: torch.Tensor, sep_token_id: int, attention_mask: torch.Tensor) -> torch.Tensor:
    """0 for [CLS], sentence A and its [SEP]; 1 for sentence B and the final [SEP]; 0 for padding."""
    is_sep = (input_ids == sep_token_id).long()
    seps_before = is_sep.cumsum(-1) - is_sep  # [SEP]s strictly before each position
    return ((seps_before >= 1) & attention_mask.bool()).long()


@exercise("nsp.segment_ids", "Segment ids from the [SEP] positions", points=1)
def check_segment_ids(fn) -> str:
    """fn(input_ids (B, T), sep_token_id, attention_mask (B, T)) -> token_type_ids (B, T), integers."""
    cases = [[(3, 4), (2, 2)], [(1, 1), (4, 0), (2, 5)], [(6, 3)]]  # (words in A, words in B); 0: no B
    for i, lengths in enumerate(cases):
        ids, mask = _pair_batch(lengths, 400 + i)
        case = f"batch of shape {tuple(ids.shape)} with (len A, len B) = {lengths}"
        got = fn(ids.clone(), _SEP, mask.clone())
        want = reference_segment_ids(ids, _SEP, mask)
        if isinstance(got, torch.Tensor) and got.shape == want.shape:
            if got.dtype.is_floating_point or got.dtype == torch.bool:
                raise CheckFailure(
                    f"Return integer ids (dtype torch.long), got {got.dtype}: segment ids index "
                    "the segment-embedding table. Use .long()."
                )
            first_sep = (ids == _SEP).long().cumsum(-1).eq(1) & (ids == _SEP)
            if torch.equal(got[~first_sep], want[~first_sep]) and (got[first_sep] == 1).any():
                raise CheckFailure(
                    f"The first [SEP] got segment 1 ({case}); it closes sentence A, so it belongs "
                    "to segment 0. Count only the [SEP]s strictly before each position."
                )
            pad = mask == 0
            if torch.equal(got[~pad], want[~pad]) and (got[pad] != 0).any():
                raise CheckFailure(
                    f"Padding got segment 1 ({case}); the tokenizer gives [PAD] segment 0. "
                    "Multiply by the attention mask."
                )
        compare(
            "token_type_ids",
            got,
            want,
            atol=0,
            case=case,
            hint="0 up to and including the first [SEP], 1 after it up to the second [SEP], 0 for "
            "[PAD]; a single sentence is all 0. torch.cumsum over (input_ids == sep) helps.",
        )
    return "Segment 0 runs to the first [SEP], segment 1 to the second; padding stays 0."


def reference_nsp_logits(hidden: torch.Tensor, pooler_dense: nn.Linear, classifier: nn.Linear) -> torch.Tensor:
    """BERT's NSP head: logits = classifier(tanh(pooler_dense(hidden[:, 0]))), shape (B, 2)."""
    return classifier(torch.tanh(pooler_dense(hidden[:, 0])))


@exercise("nsp.head", "The NSP classifier on the [CLS] vector", points=1)
def check_nsp_head(fn) -> str:
    """fn(last_hidden_state (B, T, H), pooler_dense, classifier) -> NSP logits (B, 2)."""
    for i, (B, T, H) in enumerate([(2, 5, 8), (3, 1, 6), (1, 7, 10)]):
        torch.manual_seed(500 + i)  # the layers' init; the hidden states use an explicit generator
        dense, clf = nn.Linear(H, H), nn.Linear(H, 2)
        hidden = torch.randn(B, T, H, generator=seeded_generator(600 + i))
        case = f"hidden states of shape {(B, T, H)}"
        with torch.no_grad():
            got = fn(hidden.clone(), dense, clf)
            want = reference_nsp_logits(hidden, dense, clf)
            if isinstance(got, torch.Tensor) and got.shape == want.shape:
                mistakes = {
                    "You left out the tanh after the pooler's dense layer": clf(dense(hidden[:, 0])),
                    "You fed the [CLS] vector straight to the classifier: pass it through the pooler "
                    "(dense + tanh) first": clf(hidden[:, 0]),
                    "You averaged over all tokens; BERT reads only the [CLS] vector, position 0": clf(
                        torch.tanh(dense(hidden.mean(1)))
                    ),
                    "You returned probabilities; return the logits (no softmax): the loss applies it": want.softmax(-1),
                }
                for message, wrong in mistakes.items():
                    if T > 1 or "averaged" not in message:
                        if torch.allclose(got.double(), wrong.double(), atol=1e-5):
                            raise CheckFailure(f"{message} ({case}).")
            compare(
                "NSP logits",
                got,
                want,
                atol=1e-5,
                case=case,
                hint="Take hidden[:, 0] (the [CLS] vector), apply pooler_dense and tanh, then classifier.",
            )
    return "Two logits per pair, read from the pooled [CLS] vector: index 0 IsNext, index 1 NotNext."


@exercise("nsp.loss_predictions", "Predict the NSP loss of two simple guessers", points=1)
def check_nsp_loss_predictions(untrained: float, confident: float) -> str:
    """untrained: loss of a model that says 50/50 on every pair; confident: always 90% IsNext, balanced data."""
    if untrained is None or confident is None:
        raise CheckFailure("Replace each None with your prediction (a number).")
    untrained, confident = float(untrained), float(confident)
    want_u, want_c = math.log(2), -(math.log(0.9) + math.log(0.1)) / 2
    if abs(untrained - want_u) > 0.01:
        hints = {
            0.5: "0.5 is the accuracy of a coin flip, not its loss",
            1.0: "1.0 is log base 2 of 2; PyTorch's cross-entropy uses the natural log",
        }
        near = next((h for v, h in hints.items() if abs(untrained - v) < 0.01), "")
        raise CheckFailure(
            f"untrained: you predicted {untrained:.3f}. {near + '. ' if near else ''}"
            "The loss of one pair is -ln p(true label); with p = 0.5 for every pair, what is it?"
        )
    if abs(confident - want_c) > 0.01:
        if abs(confident - (-math.log(0.9))) < 0.01:
            raise CheckFailure(
                "confident: you counted only the IsNext half. The NotNext half costs -ln 0.1 each; "
                "average the two halves."
            )
        if abs(confident - (-math.log(0.1))) < 0.01:
            raise CheckFailure("confident: you counted only the NotNext half; average it with the IsNext half.")
        raise CheckFailure(
            f"confident: you predicted {confident:.3f}. Half the pairs cost -ln 0.9 and half "
            "-ln 0.1; the loss is their average."
        )
    return (
        f"ln 2 = {want_u:.3f} is the best a model can do without looking at the pair; a confident constant "
        f"guess costs more ({want_c:.3f}), so a model on the plateau sits exactly at 50/50."
    )
