"""Accuracy and loss of one batch, as (sum, count) pairs that add up over a dataset.

Each head's output class has its own metrics (:data:`METRICS`); nothing is guessed
from which fields happen to be set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .albert_heads import AlbertForPreTrainingOutput
from .constants import IGNORE_INDEX
from .heads import BertForPreTrainingOutput
from .history import reported
from .task_heads import QuestionAnsweringModelOutput, SequenceClassifierOutput, TokenClassifierOutput

__all__ = ["batch_metrics", "METRICS"]

Sums = dict[str, tuple[float, float]]  # name -> (sum, count)


def batch_metrics(output: Any, batch: dict[str, torch.Tensor]) -> Sums:
    """Metrics of one batch for whichever head produced ``output``.

    Returns:
        name -> (sum, count); divide the totals over all batches for the mean.
        Every output: its losses (``loss``, and ``mlm_loss`` / ``nsp_loss`` for
        pretraining). Then, by output class (:data:`METRICS`): pretraining adds
        mlm_accuracy (at the selected positions) and nsp_accuracy; classification
        adds accuracy (per example, or per labelled token); question answering adds
        exact_match of the span. Another output class gets its losses only. An output with
        ``losses`` / ``metrics`` dicts (an objective's parts) adds each, named as in the
        training history (:func:`bertlib.history.reported`).
    """
    n = batch["input_ids"].size(0)
    sums: Sums = {}
    for name in ("loss", "mlm_loss", "nsp_loss", "sop_loss"):
        value = getattr(output, name, None)
        if value is not None:
            sums[name] = (float(value) * n, n)
    for name, value in reported(output).items():  # an objective's own losses and metrics (e.g. ELECTRA's)
        sums[name] = (float(value) * n, n)
    extra = METRICS.get(type(output))
    if extra is not None:
        sums.update(extra(output, batch))
    return sums


def pretraining_metrics(output: BertForPreTrainingOutput, batch: dict[str, torch.Tensor]) -> Sums:
    """mlm_accuracy at the labelled positions, nsp_accuracy per pair (for the labels the batch has)."""
    sums = mlm_metrics(output, batch)
    if output.seq_relationship_logits is not None and "next_sentence_label" in batch:
        hits = (output.seq_relationship_logits.argmax(-1) == batch["next_sentence_label"]).sum()
        sums["nsp_accuracy"] = (float(hits), batch["input_ids"].size(0))
    return sums


def mlm_metrics(output: Any, batch: dict[str, torch.Tensor]) -> Sums:
    """mlm_accuracy at the labelled positions, from the masked head's logits or the full ones."""
    sums: Sums = {}
    if output.masked_logits is not None:  # the head ran at the labelled positions only
        hits = (output.masked_logits.argmax(-1) == output.masked_labels).sum()
        sums["mlm_accuracy"] = (float(hits), output.masked_labels.numel())
    elif output.prediction_logits is not None and "labels" in batch:  # it scored every position
        sel = batch["labels"] != IGNORE_INDEX
        hits = (output.prediction_logits.argmax(-1)[sel] == batch["labels"][sel]).sum()
        sums["mlm_accuracy"] = (float(hits), int(sel.sum()))
    return sums


def albert_pretraining_metrics(output: AlbertForPreTrainingOutput, batch: dict[str, torch.Tensor]) -> Sums:
    """mlm_accuracy as for BERT; sop_accuracy per pair (the order label under either batch key)."""
    sums = mlm_metrics(output, batch)
    order = batch.get("sentence_order_label", batch.get("next_sentence_label"))
    if output.sop_logits is not None and order is not None:
        sums["sop_accuracy"] = (float((output.sop_logits.argmax(-1) == order).sum()), batch["input_ids"].size(0))
    return sums


def sequence_metrics(output: SequenceClassifierOutput, batch: dict[str, torch.Tensor]) -> Sums:
    """accuracy per example (none for a regression head, num_labels == 1)."""
    if "labels" not in batch or output.logits.size(-1) == 1:
        return {}
    hits = (output.logits.argmax(-1) == batch["labels"]).sum()
    return {"accuracy": (float(hits), batch["input_ids"].size(0))}


def token_metrics(output: TokenClassifierOutput, batch: dict[str, torch.Tensor]) -> Sums:
    """accuracy over the labelled tokens (one per word)."""
    if "labels" not in batch:
        return {}
    sel = batch["labels"] != IGNORE_INDEX
    return {"accuracy": (float((output.logits.argmax(-1)[sel] == batch["labels"][sel]).sum()), int(sel.sum()))}


def span_metrics(output: QuestionAnsweringModelOutput, batch: dict[str, torch.Tensor]) -> Sums:
    """exact_match: both ends of the answer span right (each end's argmax, as in training)."""
    if "start_positions" not in batch:
        return {}
    exact = (output.start_logits.argmax(-1) == batch["start_positions"]) & (
        output.end_logits.argmax(-1) == batch["end_positions"]
    )
    return {"exact_match": (float(exact.sum()), batch["input_ids"].size(0))}


METRICS: dict[type, Callable[[Any, dict[str, torch.Tensor]], Sums]] = {
    BertForPreTrainingOutput: pretraining_metrics,
    AlbertForPreTrainingOutput: albert_pretraining_metrics,
    SequenceClassifierOutput: sequence_metrics,
    TokenClassifierOutput: token_metrics,
    QuestionAnsweringModelOutput: span_metrics,
}
