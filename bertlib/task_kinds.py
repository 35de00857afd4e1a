"""The kinds of fine-tuning task, declared once: sequence, pair, token and span.

Each :class:`TaskKind` says which model class serves it, which output class that
model returns, how an example's labels are encoded for it, and how its predictions
are read back (Devlin et al. 2018, section 4 and figure 4). :func:`bertlib.finetuning.encode`,
:func:`bertlib.finetuning.predict` and :mod:`bertlib.metrics` look a kind up here
instead of guessing it from which fields are set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .constants import IGNORE_INDEX
from .task_heads import (
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)

__all__ = ["TaskKind", "TASK_KINDS", "task_kind", "kind_of_output", "align_word_tags", "decode_spans"]

Parts = dict[str, list]  # what predict() gathers, batch by batch


@dataclass(frozen=True)
class TaskKind:
    """One kind of task and everything that depends on it.

    Attributes:
        name: "sequence", "pair", "token" or "span".
        model_class: the bertlib model with the right head.
        output_class: what that model returns.
        has_text_pair: whether an example is a pair of texts (``text`` and ``text_pair``).
        labels: (example, offsets, token_type_ids, word_ids, index, max_length) -> the
            label fields of its encoded row.
        collect: (output, batch, parts, max_answer_length) -> None; adds a batch's
            predictions to ``parts``.
        finish: (result, dataset) -> result; last touches after all batches (the answer strings).
    """

    name: str
    model_class: type
    output_class: type
    has_text_pair: bool
    labels: Callable[..., dict[str, Any]]
    collect: Callable[..., None]
    finish: Callable[[dict[str, Any], Any], dict[str, Any]] = lambda result, dataset: result


def class_labels(ex: Any, offsets: list, types: list[int], word_ids: list, i: int, max_length: int) -> dict[str, Any]:
    """``labels``: the class index of the example."""
    return {"labels": int(ex.label)}


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


def tag_labels(ex: Any, offsets: list, types: list[int], word_ids: list, i: int, max_length: int) -> dict[str, Any]:
    """``labels``: :func:`align_word_tags` for one example, after checking its words are the tokenizer's."""
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
    return {"labels": align_word_tags(word_ids, ex.tags)}


def span_labels(ex: Any, offsets: list, types: list[int], word_ids: list, i: int, max_length: int) -> dict[str, Any]:
    """``start_positions`` / ``end_positions``: the answer's first and last token, in the passage (segment 1)."""
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
    return {"start_positions": start, "end_positions": end}


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


def collect_classes(out: SequenceClassifierOutput, batch: dict, parts: Parts, max_answer_length: int) -> None:
    """``logits`` (N, C), ``predictions`` (N,) and, when labelled, ``labels`` (N,)."""
    parts.setdefault("logits", []).append(out.logits.cpu())
    parts.setdefault("predictions", []).append(out.logits.argmax(-1).cpu())
    if "labels" in batch:
        parts.setdefault("labels", []).append(batch["labels"].cpu())


def collect_tags(out: TokenClassifierOutput, batch: dict, parts: Parts, max_answer_length: int) -> None:
    """``predictions`` and ``labels`` at the labelled tokens (one per word), and per-example ``word_predictions``."""
    sel = batch["labels"] != IGNORE_INDEX
    preds = out.logits.argmax(-1)
    parts.setdefault("predictions", []).append(preds[sel].cpu())
    parts.setdefault("labels", []).append(batch["labels"][sel].cpu())
    parts.setdefault("word_predictions", []).extend(p[m].tolist() for p, m in zip(preds, sel, strict=True))


def collect_spans(out: QuestionAnsweringModelOutput, batch: dict, parts: Parts, max_answer_length: int) -> None:
    """``starts`` / ``ends`` of the best span inside the passage, and the true positions when given."""
    allowed = (batch["token_type_ids"] == 1) & (batch["attention_mask"] == 1)  # the passage's real tokens
    allowed[torch.arange(allowed.size(0)), batch["attention_mask"].sum(1) - 1] = False  # not the last [SEP]
    s, e, _ = decode_spans(out.start_logits, out.end_logits, allowed, max_answer_length)
    parts.setdefault("starts", []).append(s.cpu())
    parts.setdefault("ends", []).append(e.cpu())
    for k in ("start_positions", "end_positions"):
        if k in batch:
            parts.setdefault(k, []).append(batch[k].cpu())


def answer_strings(result: dict[str, Any], dataset: Any) -> dict[str, Any]:
    """Adds ``answers``, the predicted spans as text, when the dataset remembers its examples."""
    if hasattr(dataset, "source"):  # a bertlib.finetuning.TaskDataset
        result["answers"] = [
            ex.text_pair[offs[s][0] : offs[e][1]]
            for ex, offs, s, e in zip(
                dataset.source, dataset.offsets, result["starts"].tolist(), result["ends"].tolist(), strict=True
            )
        ]
    return result


_SEQUENCE = dict(model_class=BertForSequenceClassification, output_class=SequenceClassifierOutput)
TASK_KINDS: dict[str, TaskKind] = {
    "sequence": TaskKind("sequence", **_SEQUENCE, has_text_pair=False, labels=class_labels, collect=collect_classes),
    "pair": TaskKind("pair", **_SEQUENCE, has_text_pair=True, labels=class_labels, collect=collect_classes),
    "token": TaskKind(
        "token", BertForTokenClassification, TokenClassifierOutput, False, labels=tag_labels, collect=collect_tags
    ),
    "span": TaskKind(
        "span",
        BertForQuestionAnswering,
        QuestionAnsweringModelOutput,
        True,
        labels=span_labels,
        collect=collect_spans,
        finish=answer_strings,
    ),
}


def task_kind(name: str) -> TaskKind:
    """The :class:`TaskKind` called ``name``, or a clear error."""
    if name not in TASK_KINDS:
        raise ValueError(f"unknown task kind {name!r}; expected {', '.join(TASK_KINDS)}")
    return TASK_KINDS[name]


def kind_of_output(output: Any) -> TaskKind:
    """The kind whose model returns ``output`` (sequence and pair share one)."""
    for kind in TASK_KINDS.values():
        if isinstance(output, kind.output_class):
            return kind
    raise TypeError(
        f"{type(output).__name__} is not the output of a task model; predict() needs one of "
        + ", ".join(sorted({k.model_class.__name__ for k in TASK_KINDS.values()}))
    )
