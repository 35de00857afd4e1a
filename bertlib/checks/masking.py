"""Checks for masked language modelling: BERT's corruption rule, its rates, and the MLM loss."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..constants import IGNORE_INDEX
from ..tokenization import SPECIAL_TOKENS
from ..utils import seeded_generator
from .core import CheckFailure, compare, exercise

_MASK_ID = SPECIAL_TOKENS.index("[MASK]")  # bertlib's vocabularies start with the special tokens
# Odd sizes on purpose: (batch, tokens, vocabulary); the last case has a single labelled position.
_LOSS_CASES = [(2, 5, 11), (3, 7, 13), (1, 4, 6)]


def _labels(B: int, T: int, V: int, seed: int) -> torch.Tensor:
    """(B, T) labels: about a third of the positions labelled, the rest -100, every row padded at the end."""
    g = seeded_generator(seed)
    labels = torch.randint(0, V, (B, T), generator=g)
    keep = torch.rand(B, T, generator=g) < 0.35
    keep[0, 1] = True  # at least one labelled position in the batch
    keep[:, -1] = False  # the last position plays the part of padding
    return labels.masked_fill(~keep, IGNORE_INDEX)


def _close(got: torch.Tensor, want: torch.Tensor, tol: float = 1e-4) -> bool:
    return isinstance(got, torch.Tensor) and got.numel() == 1 and abs(float(got) - float(want)) < tol


@exercise("masking.mlm_loss", "The MLM loss at the selected positions", points=1)
def check_mlm_loss(fn) -> str:
    """fn(logits (B, T, V), labels (B, T) with -100 at unselected positions) -> the mean loss (a scalar)."""
    for i, (B, T, V) in enumerate(_LOSS_CASES):
        logits = torch.randn(B, T, V, generator=seeded_generator(100 + i))
        labels = _labels(B, T, V, 200 + i)
        case = f"logits of shape {(B, T, V)}, {int((labels != IGNORE_INDEX).sum())} selected positions"
        got = fn(logits.clone(), labels.clone())
        want = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)
        if not isinstance(got, torch.Tensor):
            raise CheckFailure(f"Return a torch.Tensor (a scalar), got {type(got).__name__} ({case}).")
        if got.numel() != 1:
            raise CheckFailure(
                f"Return one number, the mean over the selected positions; got shape "
                f"{tuple(got.shape)} ({case}). Average the per-position losses."
            )
        # Compare with the usual mistakes first, so the message can say which one it is.
        sel = labels != IGNORE_INDEX
        per_pos = -logits.log_softmax(-1).gather(-1, labels.clamp(min=0)[..., None])[..., 0]  # (B, T)
        if _close(got, (per_pos * sel).sum() / (B * T)):
            raise CheckFailure(
                f"Your loss is the sum over selected positions divided by all B*T = {B * T} "
                f"positions ({case}): divide by the number of selected positions instead."
            )
        if _close(got, per_pos.mean()):
            raise CheckFailure(
                f"Positions labelled -100 count in your loss ({case}): they were not selected, so "
                "keep only the positions where labels != -100 before averaging."
            )
        if _close(got, (per_pos * sel).sum()):
            raise CheckFailure(f"This is the sum of the per-position losses ({case}); BERT takes their mean.")
        if _close(got, -(logits.softmax(-1).gather(-1, labels.clamp(min=0)[..., None])[..., 0][sel]).mean()):
            raise CheckFailure(
                f"You averaged minus the probabilities ({case}); take the log of the probability "
                "(log_softmax) before averaging."
            )
        compare(
            "loss",
            got.reshape(()),
            want,
            atol=1e-4,
            case=case,
            hint="Loss = mean over the selected positions of -log softmax(logits)[true token], "
            "the softmax running over the vocabulary (the last axis).",
        )
    return "Only the selected positions count, each with a softmax over the whole vocabulary."


def _corruption_case(B: int, T: int, seed: int):
    g = seeded_generator(seed)
    ids = torch.randint(5, 50, (B, T), generator=g)  # ordinary words only (ids 5..49)
    selected = torch.rand(B, T, generator=g) < 0.5
    u = torch.rand(B, T, generator=g)
    u[0, :3] = torch.tensor([0.8, 0.9, 0.0])  # the boundaries belong to the upper interval
    selected[0, :3] = True
    random_ids = torch.randint(5, 50, (B, T), generator=g)
    return ids, selected, u, random_ids


def reference_corruption(input_ids, selected, u, random_ids, mask_token_id):
    """BERT's rule, given the uniform numbers: u < 0.8 -> [MASK], 0.8 <= u < 0.9 -> random, else unchanged."""
    inputs = input_ids.clone()
    inputs[selected & (u < 0.8)] = mask_token_id
    swap = selected & (u >= 0.8) & (u < 0.9)
    inputs[swap] = random_ids[swap]
    labels = input_ids.masked_fill(~selected, IGNORE_INDEX)
    return inputs, labels


@exercise("masking.corruption", "BERT's 80/10/10 corruption", points=1)
def check_bert_corruption(fn) -> str:
    """fn(input_ids, selected, u, random_ids, mask_token_id) -> (inputs, labels), all (B, T)."""
    for i, (B, T) in enumerate([(2, 9), (3, 5), (1, 12)]):
        ids, selected, u, random_ids = _corruption_case(B, T, 300 + i)
        case = f"batch of shape {(B, T)}"
        got = fn(ids.clone(), selected.clone(), u.clone(), random_ids.clone(), _MASK_ID)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise CheckFailure("Return a tuple (inputs, labels).")
        inputs, labels = got
        want_in, want_lab = reference_corruption(ids, selected, u, random_ids, _MASK_ID)
        if isinstance(inputs, torch.Tensor) and inputs.shape == ids.shape:
            if not torch.equal(inputs[~selected], ids[~selected]):
                raise CheckFailure(
                    f"inputs ({case}): a position that was not selected changed. Only the "
                    "selected 15% are corrupted; every other token stays as it is."
                )
            if torch.equal(inputs, ids):
                raise CheckFailure(
                    f"inputs ({case}): nothing changed; selected positions with u < 0.8 become [MASK] (id {_MASK_ID})."
                )
        if isinstance(labels, torch.Tensor) and labels.shape == ids.shape:
            if (labels[~selected] != IGNORE_INDEX).any():
                raise CheckFailure(f"labels ({case}): unselected positions must hold -100, so the loss skips them.")
            if (
                isinstance(inputs, torch.Tensor)
                and torch.equal(labels[selected], inputs[selected])
                and not torch.equal(inputs[selected], ids[selected])
            ):
                raise CheckFailure(
                    f"labels ({case}): they hold the corrupted inputs; they must hold the "
                    "original tokens (clone input_ids before you change it)."
                )
        compare(
            "inputs",
            inputs,
            want_in,
            atol=0,
            case=case,
            hint="u < 0.8: [MASK]; 0.8 <= u < 0.9: random_ids; u >= 0.9: the token itself.",
        )
        compare(
            "labels",
            labels,
            want_lab,
            atol=0,
            case=case,
            hint="labels = the original token at selected positions, -100 elsewhere.",
        )
    return "80% [MASK], 10% random word, 10% unchanged, and only the selected tokens are touched."


# The share of all eligible tokens that ends up in each state, with the paper's settings.
_RATES = {"mask": 0.15 * 0.8, "random": 0.15 * 0.1, "unchanged": 0.15 * 0.1, "not_selected": 0.85}


@exercise("masking.rates", "Predict what share of tokens ends up in each state", points=1)
def check_corruption_rates(rates: dict) -> str:
    """rates: {"mask", "random", "unchanged", "not_selected"} -> share of all real, non-special tokens."""
    if not isinstance(rates, dict):
        raise CheckFailure(
            f"Pass a dict like {{'mask': ..., 'random': ..., 'unchanged': ..., "
            f"'not_selected': ...}}, got {type(rates).__name__}."
        )
    missing = sorted(set(_RATES) - set(rates))
    if missing:
        raise CheckFailure(f"Missing keys {missing}: give a share for each of {sorted(_RATES)}.")
    got = {k: float(rates[k]) for k in _RATES}
    if any(v is None or math.isnan(v) for v in got.values()):
        raise CheckFailure("Replace every None with your prediction (a number between 0 and 1).")
    if abs(got["mask"] - 0.8) < 0.02 or abs(got["random"] - 0.1) < 0.01:
        raise CheckFailure(
            "0.8 / 0.1 / 0.1 are shares of the *selected* tokens. Of all tokens only 15% are "
            "selected: multiply each share by 0.15."
        )
    if abs(sum(got.values()) - 1.0) > 0.01:
        raise CheckFailure(
            f"Your shares add up to {sum(got.values()):.3f}; every token is in exactly one state, "
            "so they must add up to 1."
        )
    for k, want in _RATES.items():
        if abs(got[k] - want) > 0.003:
            raise CheckFailure(
                f"'{k}': you predicted {got[k]:.4f}, the measured share is about {want:.4f}. "
                "A token is selected with probability 0.15, then split 80/10/10."
            )
    return (
        f"[MASK] replaces {_RATES['mask']:.1%} of all tokens, random words {_RATES['random']:.1%}, and "
        f"{_RATES['unchanged']:.1%} are asked about without any change."
    )
