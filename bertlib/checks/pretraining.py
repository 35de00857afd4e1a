"""Checks for pretraining end to end: the summed MLM + NSP loss, the learning-rate schedule, the first loss."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..constants import IGNORE_INDEX
from ..optimization import warmup_linear_decay
from ..utils import seeded_generator
from .core import CheckFailure, exercise

# (batch, tokens, vocabulary): odd sizes, one example with nothing masked, one with a single target.
_LOSS_CASES = [(2, 5, 11), (4, 7, 13), (1, 4, 6)]


def _loss_inputs(B: int, T: int, V: int, seed: int) -> tuple[torch.Tensor, ...]:
    g = seeded_generator(seed)
    logits = torch.randn(B, T, V, generator=g) * 2
    labels = torch.randint(V, (B, T), generator=g)
    keep = torch.rand(B, T, generator=g) < 0.4
    keep[0, :3] = True  # the first example has several targets ...
    if B > 2:
        keep[1] = False  # ... the second exactly one, so a per-sentence average differs
        keep[1, 2] = True
    if B > 1:
        keep[-1] = False  # an example with no masked token (short, or unlucky)
    labels[~keep] = IGNORE_INDEX
    labels[:, -1] = IGNORE_INDEX  # the last position is padding
    nsp_logits = torch.randn(B, 2, generator=g) * 2
    nsp_labels = torch.randint(2, (B,), generator=g)
    return logits, labels, nsp_logits, nsp_labels


def _as_float(value, what: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise CheckFailure(f"{what} should be one number (a 0-d tensor), got shape {tuple(value.shape)}.")
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    raise CheckFailure(f"{what} should be a number or a 0-d tensor, got {type(value).__name__}.")


@exercise("pretraining.loss", "The pretraining loss: MLM + NSP", points=2)
def check_pretraining_loss(fn) -> str:
    """fn(prediction_logits (B,T,V), labels (B,T), seq_relationship_logits (B,2), next_sentence_label (B,)) -> loss."""
    for i, (B, T, V) in enumerate(_LOSS_CASES):
        logits, labels, nsp_logits, nsp_labels = _loss_inputs(B, T, V, seed=i)
        mlm = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)
        nsp = F.cross_entropy(nsp_logits, nsp_labels)
        got = fn(
            logits.clone().requires_grad_(), labels.clone(), nsp_logits.clone().requires_grad_(), nsp_labels.clone()
        )
        if not isinstance(got, torch.Tensor) or not got.requires_grad:
            raise CheckFailure(
                f"Return the loss as a tensor that still has its gradient (got "
                f"{type(got).__name__}): the training loop calls loss.backward(), so do not "
                f"call .item() or .detach()."
            )
        value = _as_float(got.detach(), "The loss")
        want = float(mlm + nsp)
        if abs(value - want) <= 1e-4 * max(1.0, abs(want)):
            continue
        case = f"batch {B}, {T} tokens, vocabulary {V}"
        sel = labels != IGNORE_INDEX
        per_example = torch.stack(
            [F.cross_entropy(logits[b][sel[b]], labels[b][sel[b]]) for b in range(B) if sel[b].any()]
        ).mean()
        mistakes = [
            (float(mlm), "only the MLM loss: add the NSP loss of the [CLS] classifier."),
            (float(nsp), "only the NSP loss: add the MLM loss at the masked positions."),
            (float(mlm + nsp) / 2, "the mean of the two losses: BERT adds them (L = L_MLM + L_NSP)."),
            (
                float(per_example + nsp),
                "an MLM loss averaged per sentence first: average over all masked "
                "tokens of the batch together (each target counts once).",
            ),
            (
                float(F.cross_entropy(logits.softmax(-1).flatten(0, 1), labels.flatten()) + nsp),
                "a softmax applied before cross_entropy, which takes raw logits (it applies log-softmax itself).",
            ),
        ]
        for value_if_wrong, message in mistakes:
            if abs(value - value_if_wrong) <= 1e-4 * max(1.0, abs(value_if_wrong)):
                raise CheckFailure(f"({case}) You returned {message}")
        raise CheckFailure(
            f"({case}) loss {value:.5f}, expected {want:.5f} (MLM {float(mlm):.5f} + NSP "
            f"{float(nsp):.5f}). Flatten (B, T, V) to (B*T, V), skip labels of -100, "
            f"and add the NSP cross-entropy."
        )
    return "L = L_MLM (mean over masked tokens) + L_NSP (mean over pairs): exactly BertForPreTraining's loss."


# (warmup_steps, total_steps): ordinary, no warmup, warmup of one step, warmup as long as half the run.
_SCHEDULES = [(10, 100), (0, 7), (1, 5), (4, 9)]


@exercise("pretraining.lr_schedule", "Warmup, then linear decay", points=1)
def check_lr_schedule(fn) -> str:
    """fn(step, warmup_steps, total_steps) -> the factor the peak learning rate is multiplied by at ``step``."""
    for warmup, total in _SCHEDULES:
        for step in range(total + 2):  # two steps past the end: the factor stays at 0
            want = warmup_linear_decay(step, warmup, total)
            got = _as_float(fn(step, warmup, total), f"fn({step}, {warmup}, {total})")
            if abs(got - want) <= 1e-9:
                continue
            where = f"fn(step={step}, warmup_steps={warmup}, total_steps={total}) = {got:.4g}, expected {want:.4g}."
            if step < warmup and abs(got - step / warmup) <= 1e-9:
                raise CheckFailure(
                    f"{where} Off by one: step 0 is the first update and should already use "
                    f"lr * 1/warmup_steps, so use (step + 1) / warmup_steps."
                )
            if step >= warmup and abs(got - (total - step) / total) <= 1e-9:
                raise CheckFailure(
                    f"{where} The decay starts after the warmup: divide by "
                    f"(total_steps - warmup_steps), not total_steps."
                )
            if got < 0:
                raise CheckFailure(f"{where} Past total_steps the factor must stay at 0, not go negative.")
            raise CheckFailure(
                f"{where} Rise linearly to 1 over the first warmup_steps steps, then fall "
                f"linearly to 0 at total_steps (BERT, appendix A.2)."
            )
    return "The learning rate rises for warmup_steps updates, then falls linearly to 0."


@exercise("pretraining.initial_loss", "Predict the loss before training", points=1)
def check_initial_loss(prediction, vocab_size: int, measured: float | None = None) -> str:
    """prediction: your formula's value for the loss of an untrained BERT with ``vocab_size`` tokens."""
    value = _as_float(prediction, "Your prediction")
    want = math.log(vocab_size) + math.log(2)
    seen = "" if measured is None else f" The untrained model measured {measured:.3f}."
    if abs(value - want) <= 0.02 * want:
        return (
            f"ln({vocab_size}) + ln(2) = {want:.3f}: near-uniform guesses over the vocabulary and over "
            f"IsNext / NotNext.{seen}"
        )
    if abs(value - math.log(vocab_size)) <= 0.02 * want:
        raise CheckFailure(f"{value:.3f} is ln(V), the MLM part only; the NSP head also starts at chance.{seen}")
    if abs(value - (math.log2(vocab_size) + 1)) <= 0.02 * want or abs(value - math.log10(vocab_size)) < 0.05:
        raise CheckFailure(
            f"{value:.3f}: cross-entropy uses the natural logarithm (math.log), not log2 or log10.{seen}"
        )
    if abs(value - vocab_size) < 1 or abs(value - 1 / vocab_size) < 1e-6:
        raise CheckFailure(
            f"{value:.3g}: that is a count or a probability; the loss is -ln p of the right token.{seen}"
        )
    raise CheckFailure(
        f"{value:.3f} is not it. An untrained model gives every word about the same probability "
        f"1/V and each NSP class 1/2: what is -ln p for each head, summed?{seen}"
    )
