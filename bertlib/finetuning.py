"""Fine-tuning utilities: encode labelled tasks, freeze layers, set learning rates, read out predictions.

The task heads themselves live in :mod:`bertlib.task_heads`, what each kind of
task needs in :mod:`bertlib.task_kinds`, the tasks in :mod:`bertlib.tasks`.
This module connects them (Devlin et al. 2018, section 4):

* :func:`encode` turns a task split into an :class:`EncodedDataset` the
  :class:`bertlib.Trainer` can train on, for every kind of task: a label per
  sequence or pair, a tag on the first piece of every word, or the token
  positions of an answer span.
* :func:`freeze`, :func:`unfreeze` and :func:`discriminative_param_groups` give
  the three fine-tuning strategies: train everything, train only the head, or
  train both with a small learning rate for the body and a large one for the head.
* :func:`predict`, :func:`confusion_matrix` and
  :func:`classification_report` turn logits into answers and scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .batches import EncodedDataset
from .constants import IGNORE_INDEX
from .task_kinds import kind_of_output, task_kind
from .tokenization import BertTokenizer

__all__ = [
    "TaskDataset",
    "encode",
    "freeze",
    "unfreeze",
    "discriminative_param_groups",
    "confusion_matrix",
    "classification_report",
    "predict",
]


class TaskDataset(EncodedDataset):
    """An :class:`EncodedDataset` that remembers where its encoded examples came from.

    Attributes:
        source: The :class:`bertlib.task_examples.Example` behind each encoded example.
        offsets: Per encoded example, the ``(start, end)`` character span of each token in its own text.
        word_ids: Per encoded example, the word index of each token (None for [CLS], [SEP]).
    """

    def __init__(
        self,
        encoded: Sequence[dict[str, Any]],
        pad_token_id: int,
        source: Sequence[Any],
        offsets: list[list[tuple[int, int]]],
        word_ids: list[list[int | None]],
    ):
        super().__init__(encoded, pad_token_id)
        self.source, self.offsets, self.word_ids = list(source), offsets, word_ids


def encode(task_split: Sequence[Any], task: Any, tokenizer: BertTokenizer, max_length: int = 64) -> TaskDataset:
    """Tokenizes examples of a :class:`bertlib.tasks.Task` and attaches the labels its head needs.

    * ``sequence`` / ``pair``: ``labels`` is the class index of the example.
    * ``token``: ``labels`` has one entry per token: the word's tag on its first
      piece, -100 on later pieces and on [CLS]/[SEP], so each word counts once.
    * ``span``: ``start_positions`` / ``end_positions`` are the indices of the first
      and last token of the answer inside the passage (``text_pair``).

    Args:
        task_split: e.g. ``task.train``.
        task: the :class:`bertlib.tasks.Task` (gives the kind).
        tokenizer: the encoder's tokenizer.
        max_length: longest encoding in tokens, [CLS] and [SEP]s included; longer
            inputs are truncated.

    Returns:
        A :class:`TaskDataset`; a batch from it is ``model(**batch)``-ready.

    Raises:
        ValueError: for an unknown kind, words that do not match the text, or an
            answer that truncation removed.
    """
    kind = task_kind(task.kind)
    examples = list(task_split)
    texts = [e.text for e in examples]
    pairs = [e.text_pair for e in examples] if kind.has_text_pair else None
    enc = tokenizer(texts, pairs, max_length=max_length, padding=False, return_tensors=None, return_offsets=True)
    encoded = []
    for i, ex in enumerate(examples):
        item = {"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i]}
        offsets, word_ids = enc["offset_mapping"][i], enc["word_ids"][i]
        item.update(kind.labels(ex, offsets, item["token_type_ids"], word_ids, i, max_length))
        encoded.append(item)
    return TaskDataset(encoded, tokenizer.pad_token_id, examples, enc["offset_mapping"], enc["word_ids"])


def freeze(module: nn.Module) -> nn.Module:
    """Stops gradients to every parameter of ``module`` (e.g. ``model.bert``); returns it."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def unfreeze(module: nn.Module) -> nn.Module:
    """Makes every parameter of ``module`` trainable again; returns it."""
    for p in module.parameters():
        p.requires_grad_(True)
    return module


def discriminative_param_groups(
    model: nn.Module, body_lr: float, head_lr: float, weight_decay: float = 0.01
) -> list[dict[str, Any]]:
    """AdamW groups with one learning rate for the encoder and another for the head (Howard & Ruder 2018).

    The body is ``model.bert``; the head is every other parameter. As in BERT,
    weight matrices decay and biases and LayerNorm parameters do not. A tied
    weight (the MLM decoder is the word-embedding matrix) belongs to the body
    only; frozen parameters are left out.

    Returns:
        Up to four groups for :class:`bertlib.Trainer`'s ``param_groups``, each
        with ``lr``, ``weight_decay`` and a ``name`` such as ``"body/decay"``.
    """
    body_ids = {id(p) for p in model.bert.parameters()}
    groups: dict[str, dict[str, Any]] = {}
    seen: set[int] = set()
    for name, p in model.named_parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        part = "body" if id(p) in body_ids else "head"
        decays = p.ndim >= 2 and "LayerNorm" not in name
        key = f"{part}/{'decay' if decays else 'no_decay'}"
        g = groups.setdefault(
            key,
            {
                "name": key,
                "params": [],
                "lr": body_lr if part == "body" else head_lr,
                "weight_decay": weight_decay if decays else 0.0,
            },
        )
        g["params"].append(p)
    return list(groups.values())


def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, n: int) -> torch.Tensor:
    """(n, n) counts: row = true class, column = predicted class; labels of -100 are skipped."""
    preds, labels = torch.as_tensor(preds).flatten(), torch.as_tensor(labels).flatten()
    keep = labels != IGNORE_INDEX
    index = labels[keep] * n + preds[keep]  # one bin per (true, predicted) pair
    return torch.bincount(index, minlength=n * n).reshape(n, n)


def classification_report(preds: torch.Tensor, labels: torch.Tensor, names: Sequence[str]) -> dict[str, dict]:
    """Per-class precision, recall, F1 and support, plus accuracy and the macro average.

    Returns:
        ``{class_name: {"precision", "recall", "f1", "support"}, ..., "macro avg": {...},
        "accuracy": {"accuracy": ..., "support": ...}}``. A class never predicted has precision 0.
    """
    cm = confusion_matrix(preds, labels, len(names)).double()
    tp, predicted, actual = cm.diag(), cm.sum(0), cm.sum(1)
    precision = torch.where(predicted > 0, tp / predicted.clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(actual > 0, tp / actual.clamp(min=1), torch.zeros_like(tp))
    f1 = torch.where(
        precision + recall > 0, 2 * precision * recall / (precision + recall).clamp(min=1e-12), torch.zeros_like(tp)
    )
    report: dict[str, dict] = {
        name: {
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "support": int(actual[k]),
        }
        for k, name in enumerate(names)
    }
    report["macro avg"] = {
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "support": int(actual.sum()),
    }
    report["accuracy"] = {"accuracy": float(tp.sum() / cm.sum().clamp(min=1)), "support": int(actual.sum())}
    return report


@torch.no_grad()
def predict(
    model: nn.Module, dataset: EncodedDataset, batch_size: int = 128, max_answer_length: int = 30
) -> dict[str, Any]:
    """Runs a task model over a dataset in eval mode and collects its predictions.

    The model's output class says which kind of task it is (:mod:`bertlib.task_kinds`).

    Returns:
        Sequence/pair classification: ``logits`` (N, C), ``predictions`` (N,), ``labels`` (N,).
        Token classification: ``predictions`` and ``labels`` (M,) at the M labelled
        tokens (one per word), and ``word_predictions``: a list of per-word tags per example.
        Question answering: ``starts``, ``ends`` (N,) token indices of the decoded
        spans (inside the passage), the true ``start_positions`` / ``end_positions``,
        and, for a :class:`TaskDataset`, the answer strings ``answers``.
    """
    was_training, device = model.training, next(model.parameters()).device
    model.eval()
    parts: dict[str, list] = {}
    kind = None
    for start in range(0, len(dataset), batch_size):
        batch = dataset.collate(range(start, min(start + batch_size, len(dataset))))
        batch = {k: v.to(device) for k, v in batch.items()}
        out = model(**batch)
        kind = kind or kind_of_output(out)
        kind.collect(out, batch, parts, max_answer_length)
    model.train(was_training)
    result = {k: torch.cat(v) if isinstance(v[0], torch.Tensor) else v for k, v in parts.items()}
    return kind.finish(result, dataset) if kind is not None else result
