"""Masked language modelling (Devlin et al. 2018, section 3.1): predict the original token where the input was corrupted.

The data side chooses and corrupts the positions (:func:`bertlib.pretraining.mask_tokens`);
the labels hold the original id there and -100 everywhere else. This module scores the
labelled positions and averages the cross-entropy over them.
"""

from __future__ import annotations

import torch
from torch import nn

from ..constants import IGNORE_INDEX
from ..losses import mean_loss

__all__ = ["masked_logits", "mlm_loss"]


def masked_logits(head: nn.Module, hidden: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Vocabulary scores (N, V) and true ids (N,) at the N labelled rows of ``hidden`` (..., H).

    The head runs at the labelled rows only: projecting every position onto the
    vocabulary is most of a small BERT's work, and only ~15% of positions carry a loss.

    Args:
        head: maps (N, H) vectors to (N, V) scores (e.g. ``BertLMPredictionHead``).
        hidden: (..., H) final vectors; ``labels`` has the same leading shape.
        labels: original ids at the positions to predict, -100 elsewhere.
    """
    selected = labels != IGNORE_INDEX  # same leading shape as hidden
    return head(hidden[selected]), labels[selected]  # row-major order


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the labelled positions; 0 (not NaN) when there are none.

    Args:
        logits: (..., V) scores, at every position (B, T, V) or at the masked ones (N, V).
        labels: (...) true ids, -100 where a position does not count.
    """
    return mean_loss(logits.reshape(-1, logits.size(-1)), labels.reshape(-1))
