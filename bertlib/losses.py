"""The losses the heads share: cross-entropy over labelled positions, and label checks with clear errors."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .constants import IGNORE_INDEX

__all__ = ["mean_loss", "check_labels"]


def mean_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over the labelled positions; 0 (not NaN) when no position is labelled."""
    if not bool((labels != IGNORE_INDEX).any()):
        return logits.sum() * 0.0  # keeps the graph: zero gradients, a finite loss
    return F.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX)


def check_labels(labels: torch.Tensor, num_labels: int, what: str = "Label", valid_are: str = "") -> None:
    valid = labels[labels != IGNORE_INDEX]
    bad = valid[(valid < 0) | (valid >= num_labels)]
    if bad.numel():
        raise ValueError(
            f"{what} {int(bad[0])} is out of range for a head with num_labels={num_labels}: it must be "
            f"{valid_are or f'in 0..{num_labels - 1}'} "
            f"(or -100 for a position that does not count). "
            + (
                "Build the model with BertConfig(num_labels=...) matching your label set."
                if what == "Label"
                else "Check that the labels come from this model's tokenizer and vocab_size."
            )
        )
