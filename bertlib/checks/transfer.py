"""Checks for transfer learning: freezing the body, learning-rate groups, pooling features.

The reader's function runs on small task models of the three kinds bertlib
has (sequence classification, token classification, question answering),
built from the odd-sized "test" preset, so an answer that only works for one
head, or that leans on MiniLM's exact sizes, is caught.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import BertConfig
from ..task_heads import (
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from ..utils import seeded_generator
from .core import CheckFailure, compare, exercise

_TASK_MODELS = (BertForSequenceClassification, BertForTokenClassification, BertForQuestionAnswering)


def _models() -> list[nn.Module]:
    """One fresh, seeded model per task head (the body is ``model.bert`` in each)."""
    config = BertConfig.preset("test", num_labels=3)
    out = []
    for i, cls in enumerate(_TASK_MODELS):
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the reader's global RNG
            torch.manual_seed(i)
            out.append(cls(config))
    return out


def _split(model: nn.Module) -> tuple[set[int], set[int]]:
    """Ids of the body's parameters (φ, everything under ``model.bert``) and of the head's (ψ)."""
    body = {id(p) for p in model.bert.parameters()}
    head = {id(p) for p in model.parameters() if id(p) not in body}
    return body, head


def _count(model: nn.Module, ids: set[int]) -> int:
    return sum(p.numel() for p in model.parameters() if id(p) in ids)


@exercise("transfer.freeze_body", "Freeze the pretrained body", points=1)
def check_freeze_body(fn) -> str:
    """fn(model) freezes every parameter of ``model.bert`` and returns how many parameters still train."""
    for model in _models():
        name = type(model).__name__
        body, head = _split(model)
        got = fn(model)
        params = dict((id(p), (n, p)) for n, p in model.named_parameters())
        still_training = [params[i][0] for i in body if params[i][1].requires_grad]
        if still_training:
            where = "embeddings" if any("embeddings" in n for n in still_training) else "the encoder layers"
            raise CheckFailure(
                f"{name}: {len(still_training)} body parameters still have requires_grad=True, e.g. "
                f"{sorted(still_training)[:2]}. The body is all of model.bert, {where} included: "
                "loop over model.bert.parameters(), not over one sub-module."
            )
        frozen_head = [params[i][0] for i in head if not params[i][1].requires_grad]
        if frozen_head:
            raise CheckFailure(
                f"{name}: the new head is frozen too ({frozen_head}). Freeze model.bert only; "
                "the head (ψ) is the part that must learn."
            )
        want = _count(model, head)
        if isinstance(got, torch.Tensor):
            got = int(got)
        if got != want:
            hint = (
                " That is the number of frozen parameters; return the trainable ones."
                if got == _count(model, body)
                else ""
            )
            raise CheckFailure(
                f"{name}: returned {got!r}, but {want} parameters are still trainable.{hint} "
                "Count them with sum(p.numel() for p in model.parameters() if p.requires_grad)."
            )
    return "Only the head trains now: the optimizer can be given just those parameters."


@exercise("transfer.discriminative_groups", "Discriminative learning rates", points=1)
def check_discriminative_groups(fn) -> str:
    """fn(model, body_lr, head_lr) -> AdamW parameter groups: body at body_lr, head at head_lr."""
    for model, (body_lr, head_lr) in zip(_models(), [(2e-5, 1e-3), (3e-4, 7e-3), (1e-6, 5e-2)], strict=True):
        name = type(model).__name__
        body, head = _split(model)
        groups = fn(model, body_lr, head_lr)
        if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) and "params" in g for g in groups):
            raise CheckFailure(
                "Return a list of dicts, each with 'params' (a list of tensors) and 'lr', e.g. "
                "[{'params': [...], 'lr': body_lr}, {'params': [...], 'lr': head_lr}]."
            )
        seen: dict[int, float] = {}
        for g in groups:
            if "lr" not in g:
                raise CheckFailure("Every group needs its own 'lr' key; without it the optimizer's default is used.")
            for p in list(g["params"]):
                if id(p) in seen:
                    raise CheckFailure(
                        f"{name}: a parameter appears in two groups (PyTorch refuses this). Did you put "
                        "model.parameters() in the head group? The head is what is NOT in model.bert."
                    )
                seen[id(p)] = float(g["lr"])
        missing = (body | head) - set(seen)
        if missing:
            part = "body" if missing & body else "head"
            raise CheckFailure(
                f"{name}: {len(missing)} {part} parameter tensors are in no group, so they would never "
                f"train. Every parameter of the model must be in exactly one group."
            )
        wrong = [i for i in body if seen[i] != body_lr] + [i for i in head if seen[i] != head_lr]
        if wrong:
            swapped = all(seen[i] == head_lr for i in body) and all(seen[i] == body_lr for i in head)
            hint = (
                " The learning rates are swapped: the pretrained body gets the SMALL one."
                if swapped
                else " The body is everything under model.bert (embeddings, encoder, pooler)."
            )
            raise CheckFailure(
                f"{name} with body_lr={body_lr}, head_lr={head_lr}: {len(wrong)} parameter tensors "
                f"have the wrong learning rate.{hint}"
            )
    return "Small steps for what was pretrained, large steps for what is new (Howard & Ruder 2018)."


@exercise("transfer.mean_pooling", "Mean pooling over real tokens", points=1)
def check_mean_pooling(fn) -> str:
    """fn(last_hidden_state (B, T, H), attention_mask (B, T)) -> (B, H): the mean over real tokens only."""
    for case, (B, T, H) in enumerate([(1, 4, 6), (3, 7, 5), (4, 1, 9), (2, 9, 384)]):
        g = seeded_generator(100 + case)
        hidden = torch.randn(B, T, H, generator=g)
        lengths = [max(1, T - 2 * b) for b in range(B)]  # the first example is full, the others padded
        mask = torch.tensor([[1] * n + [0] * (T - n) for n in lengths])
        want = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        got = fn(hidden, mask)
        if isinstance(got, torch.Tensor) and got.shape == want.shape:
            if torch.allclose(got, hidden.mean(1), atol=1e-5) and bool((mask == 0).any()):
                raise CheckFailure(
                    f"(B, T, H) = {(B, T, H)} with padding: you averaged over every position, "
                    "[PAD] included. Multiply by the mask and divide by the number of real tokens."
                )
            if torch.allclose(got, (hidden * mask[..., None]).sum(1) / T, atol=1e-5) and bool((mask == 0).any()):
                raise CheckFailure(
                    f"(B, T, H) = {(B, T, H)}: the padding is zeroed but you divided by T; divide each "
                    "example by its own number of real tokens, mask.sum(1, keepdim=True)."
                )
        compare(
            "pooled",
            got,
            want,
            case=f"(B, T, H) = {(B, T, H)}, real lengths {lengths}",
            hint="Zero the padded positions (hidden * mask[..., None]), sum over T, divide by mask.sum(1).",
        )
    return "Each sentence is the average of its own tokens; padding does not change it."


@exercise("transfer.layerwise_lr", "Layer-wise learning-rate decay", points=2)
def check_layerwise_lr(fn) -> str:
    """fn(model, head_lr, decay) -> groups: head at head_lr, layer l at head_lr * decay**(L - l), embeddings decay**(L+1)."""
    for model, (head_lr, decay) in zip(_models(), [(1e-3, 0.5), (4e-4, 0.8), (2e-3, 0.9)], strict=True):
        name = type(model).__name__
        L = len(model.bert.encoder.layer)
        want: dict[int, float] = {}
        for p in model.parameters():
            want[id(p)] = head_lr  # head and pooler: the new or task-near layers
        for layer_index, layer in enumerate(model.bert.encoder.layer):
            for p in layer.parameters():
                want[id(p)] = head_lr * decay ** (L - layer_index)
        for p in model.bert.embeddings.parameters():
            want[id(p)] = head_lr * decay ** (L + 1)
        groups = fn(model, head_lr, decay)
        if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) and "params" in g for g in groups):
            raise CheckFailure("Return a list of dicts, each with 'params' and 'lr'.")
        got: dict[int, float] = {}
        for g in groups:
            for p in list(g["params"]):
                if id(p) in got:
                    raise CheckFailure(f"{name}: a parameter appears in two groups; each belongs to exactly one.")
                got[id(p)] = float(g.get("lr", float("nan")))
        if set(got) != set(want):
            raise CheckFailure(f"{name}: {len(set(want) - set(got))} parameter tensors are in no group.")
        top = [id(p) for p in model.bert.encoder.layer[L - 1].parameters()]
        if all(abs(got[i] - head_lr) <= 1e-12 * head_lr for i in top):
            raise CheckFailure(
                f"{name} (L={L}): the top layer has the head's learning rate {head_lr:g}. The top layer "
                "is one step below the head: layer l (0 = closest to the input) gets "
                "head_lr * decay ** (L - l), so layer L-1 gets head_lr * decay."
            )
        names = {id(p): n for n, p in model.named_parameters()}
        for i, lr in want.items():
            if abs(got[i] - lr) > 1e-9 * lr:
                raise CheckFailure(
                    f"{name} (L={L}, head_lr={head_lr}, decay={decay}): {names[i]} has lr {got[i]:.4g}, expected "
                    f"{lr:.4g}. Layer l (0 = closest to the input) gets head_lr * decay ** (L - l); the embeddings, "
                    "below layer 0, get head_lr * decay ** (L + 1); the pooler and the head get head_lr."
                )
    return "The deeper (closer to the input) a layer, the less it moves: general features are kept."
