"""Sentence-pair objectives: next sentence prediction (BERT) and sentence-order prediction (ALBERT).

Both read the [CLS] vector through the same 2-way head, with label 0 for the pair as
the text has it and 1 otherwise. They differ only in the data: NSP's negatives take
sentence B from another document (:func:`bertlib.pretraining.make_nsp_pairs`), so topic
alone gives them away; SOP's negatives are the same two sentences swapped
(:func:`bertlib.pretraining.make_sop_pairs`, Lan et al. 2020, section 4.1), so only
their order does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["sentence_pair_loss"]


def sentence_pair_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the (B, 2) pair scores against the (B,) labels (0 = in order, 1 = not)."""
    return F.cross_entropy(logits, labels.view(-1))
