"""Fine-tuning utilities: encode labelled tasks, freeze layers, set learning rates, read out predictions.

The task heads themselves live in :mod:`bertlib.heads`; the tasks in
:mod:`bertlib.tasks`. This module connects them (Devlin et al. 2018, section 4):

* :func:`encode` turns a task split into an :class:`EncodedDataset` the
  :class:`bertlib.Trainer` can train on, for every kind of task: a label per
  sequence or pair, a tag on the first piece of every word, or the token
  positions of an answer span.
* :func:`freeze`, :func:`unfreeze` and :func:`discriminative_param_groups` give
  the three fine-tuning strategies: train everything, train only the head, or
  train both with a small learning rate for the body and a large one for the head.
* :func:`predict`, :func:`decode_spans`, :func:`confusion_matrix` and
  :func:`classification_report` turn logits into answers and scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .batches import EncodedDataset
from .constants import IGNORE_INDEX
from .tokenization import BertTokenizer

__all__ = [
    "TaskDataset",
    "encode",
    "align_word_tags",
    "freeze",
    "unfreeze",
    "discriminative_param_groups",
    "decode_spans",
    "confusion_matrix",
    "classification_report",
    "predict",
]


class TaskDataset(EncodedDataset):
    """An :class:`EncodedDataset` that remembers where its rows came from.

    Attributes:
        source: The :class:`bertlib.tasks.Example` of each row.
        offsets: Per row, the ``(start, end)`` character span of each token in its own text.
        word_ids: Per row, the word index of each token (None for [CLS], [SEP]).
    """

    def __init__(
        self,
        rows: Sequence[dict[str, Any]],
        pad_token_id: int,
        source: Sequence[Any],
        offsets: list[list[tuple[int, int]]],
        word_ids: list[list[int | None]],
    ):
        super().__init__(rows, pad_token_id)
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
    if task.kind not in ("sequence", "pair", "token", "span"):
        raise ValueError(f"unknown task kind {task.kind!r}; expected sequence, pair, token or span")
    examples = list(task_split)
    texts = [e.text for e in examples]
    pairs = [e.text_pair for e in examples] if task.kind in ("pair", "span") else None
    enc = tokenizer(texts, pairs, max_length=max_length, padding=False, return_tensors=None, return_offsets=True)
    rows = []
    for i, ex in enumerate(examples):
        row = {"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i]}
        offsets, word_ids = enc["offset_mapping"][i], enc["word_ids"][i]
        if task.kind in ("sequence", "pair"):
            row["labels"] = int(ex.label)
        elif task.kind == "token":
            row["labels"] = _align_tags(ex, offsets, word_ids, i)
        else:
            row["start_positions"], row["end_positions"] = _answer_tokens(
                ex, offsets, row["token_type_ids"], word_ids, i, max_length
            )
        rows.append(row)
    return TaskDataset(rows, tokenizer.pad_token_id, examples, enc["offset_mapping"], enc["word_ids"])


def align_word_tags(word_ids: Sequence[int | None], tags: Sequence[int]) -> list[int]:
    """Word tags -> token labels: the tag on a word's first piece, -100 elsewhere.

    Args:
        word_ids: the word of each token (None for [CLS], [SEP] and padding), as the
            tokenizer's ``word_ids`` gives them.
        tags: one tag id per word.
    """
    labels, previous = [], None
    for w in word_ids:
        # [CLS]/[SEP], or a later piece of the same word, do not count
        labels.append(IGNORE_INDEX if w is None or w == previous else int(tags[w]))
        previous = w
    return labels


def _align_tags(ex: Any, offsets: list, word_ids: list, i: int) -> list[int]:
    """:func:`align_word_tags` for one example, after checking its words are the tokenizer's."""
    previous = None
    for (start, _), w in zip(offsets, word_ids, strict=True):
        # The tokenizer's words must be the example's words, or the tags would shift.
        if w is not None and w != previous:
            if w >= len(ex.words) or not ex.text[start:].lower().startswith(ex.words[w].lower()):
                raise ValueError(
                    f"example {i}: token at character {start} does not start word {w} "
                    f"of {ex.words!r}; words must be split like BERT's pre-tokenizer "
                    "(bertlib.words.split_words)"
                )
        previous = w
    return align_word_tags(word_ids, ex.tags)


def _answer_tokens(
    ex: Any, offsets: list, types: list[int], word_ids: list, i: int, max_length: int
) -> tuple[int, int]:
    """The first and last token of the answer, searched among the passage's tokens (segment 1)."""
    first, last = ex.answer_start, ex.answer_start + len(ex.answer_text)  # [first, last) in characters
    if ex.text_pair[first:last] != ex.answer_text:
        raise ValueError(
            f"example {i}: answer_start={first} points at {ex.text_pair[first:last]!r} in the passage, not at "
            f"answer_text {ex.answer_text!r}; set answer_start = text_pair.index(answer_text)"
        )
    start = end = None
    for t, ((a, b), seg, w) in enumerate(zip(offsets, types, word_ids, strict=True)):
        if seg != 1 or w is None:  # the question, [CLS] or a [SEP]
            continue
        if start is None and b > first:
            start = t
        if a < last:
            end = t
    if start is None or end is None or offsets[end][1] < last:
        raise ValueError(
            f"example {i}: the answer {ex.answer_text!r} (characters {first}-{last} of the passage) "
            f"was truncated away at max_length={max_length}; increase max_length"
        )
    return start, end


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


def decode_spans(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    allowed: torch.Tensor | None = None,
    max_answer_length: int = 30,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The best answer span per example: argmax of start score + end score over valid spans.

    A span (i, j) is valid when i <= j < i + max_answer_length and both ends are
    allowed (usually: passage tokens, not the question, [CLS], [SEP] or padding).

    Args:
        start_logits, end_logits: (B, T) scores from the QA head.
        allowed: (B, T) bool, True where an answer may start or end; None allows all.
        max_answer_length: longest answer in tokens.

    Returns:
        (starts, ends, scores), each (B,): token indices (inclusive) and the span score.
    """
    B, T = start_logits.shape
    scores = start_logits[:, :, None] + end_logits[:, None, :]  # (B, T start, T end)
    idx = torch.arange(T, device=start_logits.device)
    valid = (idx[None, :] >= idx[:, None]) & (idx[None, :] < idx[:, None] + max_answer_length)  # (T, T)
    valid = valid.expand(B, T, T)
    if allowed is not None:
        allowed = allowed.bool()
        valid = valid & allowed[:, :, None] & allowed[:, None, :]
    scores = scores.masked_fill(~valid, float("-inf"))
    best = scores.flatten(1).argmax(-1)  # (B,) index into T * T
    return best // T, best % T, scores.flatten(1).gather(1, best[:, None]).squeeze(1)


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
    for start in range(0, len(dataset), batch_size):
        batch = dataset.collate(range(start, min(start + batch_size, len(dataset))))
        batch = {k: v.to(device) for k, v in batch.items()}
        out = model(**batch)
        if out.start_logits is not None:  # QA: decode within the passage (segment 1, real tokens)
            allowed = (batch["token_type_ids"] == 1) & (batch["attention_mask"] == 1)
            allowed[torch.arange(allowed.size(0)), batch["attention_mask"].sum(1) - 1] = False  # the last [SEP]
            s, e, _ = decode_spans(out.start_logits, out.end_logits, allowed, max_answer_length)
            parts.setdefault("starts", []).append(s.cpu())
            parts.setdefault("ends", []).append(e.cpu())
            for k in ("start_positions", "end_positions"):
                if k in batch:
                    parts.setdefault(k, []).append(batch[k].cpu())
        elif out.logits.dim() == 3:  # tokens: keep the labelled positions, one per word
            sel = batch["labels"] != IGNORE_INDEX
            preds = out.logits.argmax(-1)
            parts.setdefault("predictions", []).append(preds[sel].cpu())
            parts.setdefault("labels", []).append(batch["labels"][sel].cpu())
            parts.setdefault("word_predictions", []).extend(p[m].tolist() for p, m in zip(preds, sel, strict=True))
        else:
            parts.setdefault("logits", []).append(out.logits.cpu())
            parts.setdefault("predictions", []).append(out.logits.argmax(-1).cpu())
            if "labels" in batch:
                parts.setdefault("labels", []).append(batch["labels"].cpu())
    model.train(was_training)
    result = {k: v if k == "word_predictions" else torch.cat(v) for k, v in parts.items()}
    if "starts" in result and isinstance(dataset, TaskDataset):
        result["answers"] = [
            ex.text_pair[offs[s][0] : offs[e][1]]
            for ex, offs, s, e in zip(
                dataset.source, dataset.offsets, result["starts"].tolist(), result["ends"].tolist(), strict=True
            )
        ]
    return result
