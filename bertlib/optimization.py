"""The update of one training step: the learning-rate schedule, AdamW and its parameter groups,
gradient clipping, and what becomes of a step whose loss or gradients are not finite."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["warmup_linear_decay", "default_param_groups", "trained_groups", "adamw", "grad_norm", "NonFiniteSteps"]


def warmup_linear_decay(step: int, warmup_steps: int, total_steps: int) -> float:
    """The learning-rate factor at ``step``: linear warmup to 1, then linear decay to 0 at ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def default_param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups as in BERT: decay weight matrices, not biases or LayerNorm parameters."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "LayerNorm" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def trained_groups(groups: list[dict[str, Any]], lr: float) -> list[dict[str, Any]]:
    """The parameter groups with their frozen and repeated parameters left out, each with its peak lr."""
    seen: set[int] = set()
    for g in groups:
        # A tied weight (the MLM decoder is the word-embedding matrix) can be listed under
        # the body and the head; it is trained once, in the first group that names it.
        g["params"] = [p for p in g["params"] if p.requires_grad and not (id(p) in seen or seen.add(id(p)))]
        g.setdefault("lr", lr)
        g["initial_lr"] = g["lr"]  # the schedule scales this peak value
    groups = [g for g in groups if g["params"]]
    if not groups:
        raise ValueError("No trainable parameters: every parameter is frozen (requires_grad=False).")
    return groups


def adamw(groups: list[dict[str, Any]], lr: float) -> torch.optim.AdamW:
    """AdamW, fused into one kernel where this PyTorch has one for the parameters' device.

    The fused update computes the same formula as the default one (up to rounding) and
    reads and writes each parameter once per step instead of once per operation. What
    that saves is measured, not promised: ``benchmarks/training.py`` times a training step
    with and without it (the "default (unfused) AdamW" variant); on two CPU cores we
    measured up to 10%, for small models only. Older PyTorch versions (before 2.4 on a
    CPU) fall back to the default.
    """
    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr)


def grad_norm(params: list[nn.Parameter], max_norm: float | None) -> float:
    """The global L2 norm of ``params``' gradients (NaN or inf if one is), clipped to ``max_norm`` if given.

    Only the weights the optimizer updates belong in ``params``: a frozen or left-out weight's
    gradient must not shrink the step of the weights that are trained.
    """
    if max_norm:
        return float(nn.utils.clip_grad_norm_(params, max_norm))
    grads = [p.grad for p in params if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))) if grads else 0.0


class NonFiniteSteps:
    """Skip a step whose loss or gradients are NaN or inf, up to ``limit`` steps in a row; then stop.

    A skipped step changes no weight and no AdamW moment; the schedule goes on as if it had
    run, so the steps after it (and a resumed run) see the same learning rates and batches.
    ``limit=0`` stops at the first such step.
    """

    def __init__(self, limit: int, streak: int = 0):
        self.limit, self.streak = limit, streak  # streak: bad steps in a row, up to now

    def skip(self, bad: str | None, step: int, lr: float) -> bool:
        """True if step ``step`` (1-based) is to be skipped; ``bad`` says what is not finite (None: nothing).

        Raises:
            FloatingPointError: more than ``limit`` bad steps in a row; it names the steps, the lr and the fix.
        """
        if bad is None:
            self.streak = 0
            return False
        self.streak += 1
        if self.streak <= self.limit:
            return True
        where = (
            f"at step {step}"
            if self.limit == 0
            else f"at steps {step + 1 - self.streak} to {step}, more than skip_nonfinite_steps={self.limit} in a row"
        )
        raise FloatingPointError(
            f"Training diverged: {bad} {where} (lr={lr:.3g}). Try a lower learning rate "
            f"(TrainingConfig.lr), a longer warmup or max_grad_norm=1.0"
            + ("" if self.limit else ", or skip_nonfinite_steps=N to skip rare bad steps")
            + "; no checkpoint of diverged weights was written."
        )
