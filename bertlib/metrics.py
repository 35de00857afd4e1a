"""Accuracy and loss of one batch, as (sum, count) pairs that add up over a dataset."""

from __future__ import annotations

from typing import Any

import torch

from .constants import IGNORE_INDEX

__all__ = ["batch_metrics"]


def batch_metrics(output: Any, batch: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
    """Metrics of one batch for whichever head produced ``output``.

    Returns:
        name -> (sum, count); divide the totals over all batches for the mean.
        Pretraining: loss, mlm_loss, nsp_loss, mlm_accuracy (at the selected
        positions), nsp_accuracy. Classification: loss, accuracy (per example or
        per labelled token). Question answering: loss, exact_match of the span.
    """
    m: dict[str, tuple[float, float]] = {}
    n = batch["input_ids"].size(0)
    for name in ("loss", "mlm_loss", "nsp_loss"):
        value = getattr(output, name, None)
        if value is not None:
            m[name] = (float(value) * n, n)
    if getattr(output, "masked_logits", None) is not None:
        hits = (output.masked_logits.argmax(-1) == output.masked_labels).sum()
        m["mlm_accuracy"] = (float(hits), output.masked_labels.numel())
    elif getattr(output, "prediction_logits", None) is not None and "labels" in batch:
        sel = batch["labels"] != IGNORE_INDEX
        hits = (output.prediction_logits.argmax(-1)[sel] == batch["labels"][sel]).sum()
        m["mlm_accuracy"] = (float(hits), int(sel.sum()))
    if getattr(output, "seq_relationship_logits", None) is not None and "next_sentence_label" in batch:
        hits = (output.seq_relationship_logits.argmax(-1) == batch["next_sentence_label"]).sum()
        m["nsp_accuracy"] = (float(hits), n)
    logits = getattr(output, "logits", None)
    if logits is not None and "labels" in batch:
        labels = batch["labels"]
        if logits.dim() == 3:  # token classification: count labelled tokens only
            sel = labels != IGNORE_INDEX
            m["accuracy"] = (float((logits.argmax(-1)[sel] == labels[sel]).sum()), int(sel.sum()))
        elif logits.size(-1) > 1:
            m["accuracy"] = (float((logits.argmax(-1) == labels).sum()), n)
    if getattr(output, "start_logits", None) is not None and "start_positions" in batch:
        exact = (output.start_logits.argmax(-1) == batch["start_positions"]) & (
            output.end_logits.argmax(-1) == batch["end_positions"]
        )
        m["exact_match"] = (float(exact.sum()), n)
    return m
